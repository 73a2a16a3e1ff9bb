/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x message parsing shared by the proxy and packet capture. One incremental parser per
 * direction of a connection takes bytes as they come and yields whole messages: start line,
 * headers in order (duplicates kept) and the body decoded (chunked de-framed, Content-Encoding
 * gzip, x-gzip and deflate, zlib-wrapped or raw, stacked, undone). The grammar is the
 * maintained http-parser library's (nodejs http-parser 2.9); this module adds what a recorder
 * needs on top: caps, body decoding, responses told the method of their request, recovery after
 * lost bytes.
 */
#ifndef REPRISE_HTTP_H
#define REPRISE_HTTP_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rp_http_dir {
    RP_HTTP_REQUEST,
    RP_HTTP_RESPONSE,
};

/* Bits of struct rp_http_message's flags. */
/* Bytes of the message were lost (a capture gap) or it ended early: what is there is real. */
#define RP_HTTP_MSG_INCOMPLETE   (1u << 0)
/* A content coding reprise cannot decode (br, zstd, ...): the body is kept as sent. */
#define RP_HTTP_MSG_UNDECODED    (1u << 1)
/* A content coding failed to decode: the body holds what decoded before the error. */
#define RP_HTTP_MSG_DECODE_ERROR (1u << 2)
/* The connection leaves HTTP after this message (101 Switching Protocols, 2xx to CONNECT). */
#define RP_HTTP_MSG_UPGRADE      (1u << 3)
/* The body is still content-coded as sent (a parser told to defer decoding): at most the cap
 * plus a little of it, truncated set when it was cut. rp_http_message_decode() decodes it. */
#define RP_HTTP_MSG_ENCODED      (1u << 4)

/* One whole message. Every pointer is owned by the message. */
struct rp_http_message {
    enum rp_http_dir dir;
    char *method;  /* requests: "GET" */
    char *target;  /* requests: the request target as sent, "/a?b" or "http://h/a" */
    char *version; /* "HTTP/1.1" */
    unsigned status;
    char *reason; /* responses; may be empty */
    struct rp_headers headers;
    /* Decoded; past the parser's body cap (rp_http_parser_set_max_body()) truncated, with
     * orig_len the full size of a body sent as is, or 0 (unknown) when decoding stopped at the
     * cap: the rest of a compressed body is never inflated. */
    struct rp_body body;
    unsigned flags;   /* RP_HTTP_MSG_* */
    char *coding;     /* with UNDECODED or DECODE_ERROR: the coding at fault, else NULL */
    int64_t first_us; /* the now_us of the feed that brought its first byte */
    int64_t last_us;  /* ... and its last byte */
};

RP_EXTERN void rp_http_message_init(struct rp_http_message *m);
/* Frees everything m owns; m may be initialised again. */
RP_EXTERN void rp_http_message_cleanup(struct rp_http_message *m);

/*
 * Moves req and resp (resp NULL: no answer came) into ex (initialised by the caller, whose
 * conn_id and seq are left alone): start, duration (to resp's last byte, or to end_us without
 * a response), method, version, headers, bodies and status. url (taken) becomes the request's
 * absolute URL; working it out from the target is the caller's, who knows the origin. ex is
 * marked incomplete when either message was flagged incomplete or failed to decode; ex->extra
 * names per message a coding left undecoded ("undecoded") or that failed ("decode_error"),
 * and, without a response, why (borrowed; may be NULL) as "error". Both messages are left
 * emptied, to be cleaned up by the caller.
 */
RP_EXTERN void rp_http_to_exchange(struct rp_exchange *ex, struct rp_http_message *req,
                                   struct rp_http_message *resp, char *url, int64_t end_us,
                                   const char *why);

struct rp_http_parser;

/* Returns a new parser for one direction; free it with rp_http_parser_free(). */
RP_EXTERN struct rp_http_parser *rp_http_parser_new(enum rp_http_dir dir);
/* Frees p and any messages it still holds. p may be NULL. A linked peer is unlinked. */
RP_EXTERN void rp_http_parser_free(struct rp_http_parser *p);

/*
 * Links the two directions of one connection (borrowed; each must stay alive while linked or
 * be freed, which unlinks): when req has read the headers of a request, its method goes on a
 * queue in resp, so that the response to HEAD is read without a body and a 2xx answer to
 * CONNECT ends HTTP on the connection. Without a link (or with the queue empty) a response is
 * read as an answer to GET.
 */
RP_EXTERN void rp_http_parser_link(struct rp_http_parser *req, struct rp_http_parser *resp);

/* Tells a response parser the method of the next request, as a link would. */
RP_EXTERN void rp_http_parser_expect(struct rp_http_parser *resp, const char *method);

/*
 * Parses len bytes at data (borrowed) that arrived at now_us (microseconds, any clock). Whole
 * messages are queued in p for rp_http_parser_next(). *out_used gets the bytes consumed: all
 * of them, unless the connection left HTTP (rp_http_parser_upgraded()), when the rest is not
 * HTTP. Errors: RP_EFORMAT for malformed HTTP, RP_ETOOBIG past RP_MAX_HEADER_COUNT,
 * RP_MAX_HEADER_BYTES, RP_MAX_URL_BYTES, RP_MAX_REASON_BYTES; the message being read is
 * dropped (the method queue kept in step, as rp_http_parser_reset() says) and p refuses
 * further bytes until rp_http_parser_hunt() or rp_http_parser_reset(). out_used may be NULL.
 */
RP_EXTERN RP_NODISCARD rp_code rp_http_parser_feed(struct rp_http_parser *p, const void *data,
                                                   size_t len, int64_t now_us, size_t *out_used,
                                                   struct rp_error *err);

/*
 * The byte stream ended (the peer closed, or the capture ended). A body delimited by the close
 * is complete; a message cut short is queued flagged RP_HTTP_MSG_INCOMPLETE when its start line
 * was read, and dropped otherwise.
 */
RP_EXTERN void rp_http_parser_finish(struct rp_http_parser *p, int64_t now_us);

/*
 * n bytes of the stream were lost. Inside a body of known length (or delimited by the close)
 * the parser skips them and stays in step: the message is flagged incomplete and its body
 * keeps only what came before the hole. Anywhere else the message being read is queued
 * incomplete (if its start line was read) and the parser hunts for the next message start.
 * Returns true when it stayed in step.
 */
RP_EXTERN bool rp_http_parser_gap(struct rp_http_parser *p, uint64_t n, int64_t now_us);

/*
 * Resets p to skip bytes until something that looks like the start of a message (a request
 * line with a known method, or "HTTP/1.") at the start of a line, and parse from there. Used
 * when a capture joins a connection in the middle and after a malformed message.
 */
RP_EXTERN void rp_http_parser_hunt(struct rp_http_parser *p);

/* Moves the oldest whole message into m (initialised; cleaned first). False when none. */
RP_EXTERN bool rp_http_parser_next(struct rp_http_parser *p, struct rp_http_message *m);

/*
 * Keeps at most max decoded body bytes of each message (0 or past RP_MAX_BODY_RECORDED:
 * RP_MAX_BODY_RECORDED, the default). A compressed body is inflated only up to it.
 */
RP_EXTERN void rp_http_parser_set_max_body(struct rp_http_parser *p, uint64_t max);

/*
 * With on, compressed bodies are not decoded while they are read: each message keeps its body
 * as sent (up to the body cap plus 1/64 of it plus 64 KiB, enough to decode to the cap), flagged
 * RP_HTTP_MSG_ENCODED, for rp_http_message_decode() to decode later, elsewhere (the proxy
 * decodes on its recording thread, not on the thread that relays). Off by default.
 */
RP_EXTERN void rp_http_parser_defer_decoding(struct rp_http_parser *p, bool on);

/*
 * Decodes the body of a message flagged RP_HTTP_MSG_ENCODED in place, as a parser with body
 * cap max would have while reading it: at most max decoded bytes kept, decoding stopping there
 * (the size then unknown), RP_HTTP_MSG_DECODE_ERROR and coding set when it fails. A body cut
 * before its end decodes to what its prefix gives, truncated, its size unknown. Returns the
 * bytes decoding produced (its work); 0 and nothing done for a message not so flagged.
 */
RP_EXTERN uint64_t rp_http_message_decode(struct rp_http_message *m, uint64_t max);

/* Bytes all decoding stages have produced over p's life: the work decoding cost. */
RP_EXTERN uint64_t rp_http_parser_inflated(const struct rp_http_parser *p);

/*
 * Forgets the message being read and any error, for a caller that frames messages itself (the
 * proxy): the next byte fed starts a new message. The method queue stays in step: a request
 * stopped (by an error, or by this call) before its headers ended still tells a linked response
 * parser its method, and a response stopped so takes its request's method off the queue.
 */
RP_EXTERN void rp_http_parser_reset(struct rp_http_parser *p);

/* True once the connection has left HTTP (upgrade or CONNECT tunnel). */
RP_EXTERN bool rp_http_parser_upgraded(const struct rp_http_parser *p);
/* True while a message has begun and not ended. */
RP_EXTERN bool rp_http_parser_busy(const struct rp_http_parser *p);
/* Bytes skipped so far while hunting for a message start. */
RP_EXTERN uint64_t rp_http_parser_skipped(const struct rp_http_parser *p);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_HTTP_H */
