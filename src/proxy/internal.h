/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of the recording proxy: the proxy and connection structs,
 * origins and their addresses, the name resolver of forward mode, the transports (plain TCP or
 * TLS, to the upstream and, once a CONNECT is intercepted, to the client), header-block
 * rewriting and the recording side.
 */
#ifndef REPRISE_PROXY_INTERNAL_H
#define REPRISE_PROXY_INTERNAL_H

#include <http_parser.h>
#include <netdb.h>
#include <poll.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <reprise/buf.h>
#include <reprise/ca.h>
#include <reprise/http.h>
#include <reprise/proxy.h>

#include "../time_int.h"
#include <reprise/intake.h>
#include <reprise/recording.h>

/* Addresses an origin resolved to, tried in order; RP_PROXY_MAX_ADDRS at most. */
#define RP_PROXY_MAX_ADDRS 8

struct rp__addrs {
    size_t n;
    struct sockaddr_storage a[RP_PROXY_MAX_ADDRS];
    socklen_t len[RP_PROXY_MAX_ADDRS];
};

/*
 * Where requests go: the upstream of reverse mode, or in forward mode the host of the request
 * in flight (from its absolute URL or the CONNECT it came through).
 */
struct rp__origin {
    bool tls;
    char *host; /* without brackets */
    unsigned port;
    char *hostport; /* the Host header value: "host[:port]", "[v6][:port]", default port left out */
    char *url;      /* "http(s)://hostport" */
    bool resolved;  /* addrs holds the host's addresses */
    struct rp__addrs addrs;
    bool record; /* forward mode: the host matches --only (or there is no --only) */
};

/* A queue of bytes waiting to be written to one socket: data[off, len) is pending. */
struct rp__qbuf {
    char *data;
    size_t off;
    size_t len;
    size_t cap;
};

enum dir_state {
    DIR_HEAD, /* gathering a header block */
    DIR_BODY, /* relaying a body, framed by hp */
    DIR_WAIT, /* a request asked to upgrade: wait for the answer before reading on */
};

/* One direction of a connection: framing (for the relay) and parsing (for the recording). */
struct rp__dir {
    enum dir_state st;
    struct rp_buf head;        /* the header block being gathered */
    http_parser hp;            /* framing only: where the message ends */
    bool msg_done;             /* hp finished a message (it is paused) */
    struct rp_http_parser *rp; /* the recording's parser */
    bool identity_len;         /* the body has a Content-Length and no coding: may be skipped */
    uint64_t body_fed;         /* body bytes of this message given to rp */
    uint64_t body_gapped;      /* body bytes of this message skipped past the recording cap */
    uint64_t clen;             /* its Content-Length */
    int64_t head_us;           /* when the first byte of the header block came */
    bool upgrade;              /* the request asked to upgrade (WebSocket) */
    bool rec_failed;           /* rp gave up on this message: fed again from the next head */
};

enum up_state {
    UP_NONE,       /* not connected (yet, or again after a failure) */
    UP_RESOLVING,  /* forward mode: the host name is being looked up */
    UP_CONNECTING, /* non-blocking connect in progress */
    UP_HANDSHAKE,  /* TLS handshake in progress */
    UP_OPEN,
    UP_CLOSED, /* the upstream ended or failed: no more bytes either way */
};

/* The client's side: plain, or TLS once a CONNECT was answered and is intercepted. */
enum cl_state {
    CL_PLAIN,
    CL_TLS_START, /* "200 Connection Established" is queued: the handshake starts once it is sent */
    CL_HANDSHAKE,
    CL_TLS,
};

struct rp__conn {
    struct rp__conn *next;
    struct rp__conn *prev;
    uint64_t id;
    int cfd;
    int ufd;
    SSL *ssl;  /* to the upstream */
    SSL *cssl; /* to the client, when intercepting */
    enum cl_state cl;
    bool cssl_want_write;
    struct rp__origin *org; /* the origin requests go to: the proxy's or fwd */
    struct rp__origin fwd;  /* forward mode: this connection's origin (owned strings) */
    char *leaf_host;        /* intercepting: the host the client was promised */
    bool connect_tunnel;    /* a CONNECT not intercepted: 200 and raw bytes once connected */
    enum up_state up;
    size_t addr_idx;     /* which resolved upstream address is being tried */
    int64_t deadline_ms; /* connect/handshake deadline */
    int64_t active_ms;   /* last traffic, for the idle timeout */
    bool ssl_want_write; /* the last TLS operation wants the socket writable */
    struct rp__qbuf to_up;
    struct rp__qbuf to_cl;
    struct rp__dir req;
    struct rp__dir resp;
    char *client_host; /* the Host the client sent: the proxy's origin as it sees it */
    char **methods;    /* request methods awaiting a response (framing: HEAD has no body) */
    size_t n_methods;
    /* Requests read whole, awaiting their response; one with no method stands for a request
     * the recorder could not read (already counted): its answer is dropped. */
    struct rp_http_message *pending;
    size_t n_pending;
    /* Requests to drop when read: their answer failed first (counted then). */
    size_t drop_reqs;
    bool tunnel;     /* after 101: raw bytes both ways */
    bool client_eof; /* the client closed its side */
    bool up_eof;     /* the upstream closed its side */
    bool closing;    /* close once to_cl is written */
    bool answered;   /* response bytes went to the client for the request in flight */
    bool up_shut;    /* shutdown(SHUT_WR) sent upstream */
};

struct rp_proxy {
    struct rp_proxy_opts o;   /* strings below are owned copies */
    struct rp__cidr *allow;   /* clients allowed (--allow); none: every client */
    size_t max_conns;         /* connections the file limit leaves room for */
    size_t fd_limit;          /* the soft file limit, once raised */
    bool warned_full;         /* the "too many connections" warning is out (once a run) */
    int64_t accept_resume_ms; /* accept() ran out of descriptors: not before then */
    struct rp__origin rev;    /* reverse mode: the upstream, resolved at start */
    SSL_CTX *ssl_ctx;         /* client side of upstream TLS */
    struct rp_ca *ca;         /* forward mode: mints the certificates shown to the browser */
    struct rp__dns *dns;      /* forward mode: host names resolved off the loop's thread */
    char **only_hosts;
    int lfd;
    unsigned port;
    int wake[2];          /* self-pipe: rp_proxy_stop() writes 'g' or 'n' */
    struct rp_intake *in; /* the recording pipeline (borrowed from the caller) */
    char *cacert;
    struct rp__conn *conns;
    size_t n_conns;
    uint64_t next_conn_id;
    struct rp_proxy_stats stats;
    struct rp__recq *rec; /* the recording thread's queue (record.c); NULL: record at once */
    /* A test's stand-in for looking the upstream up and connecting to it (fuzz_relay): it opens
     * c's upstream (rp__proxy_upstream_open) or fails it. NULL in the proxy. */
    void (*connect_seam)(struct rp_proxy *p, struct rp__conn *c);
    /* The loop's state between turns (loop.c). */
    struct pollfd *pfd;
    struct rp__conn **who; /* the connection of each pfd entry */
    size_t pfd_cap;
    bool stopping;     /* a graceful stop: no accepting, the connections in flight drain */
    int64_t drain_end; /* ... until then at most */
    rp_code write_rc;  /* the intake's first writer error: the proxy stops gracefully */
    struct rp_error write_err;
    char scratch[64 * 1024];
};

/* ----- clients allowed, addresses refused, the descriptor budget (guard.c) ----- */

/* Descriptors a connection may hold (the client's, the upstream's), and those kept spare
 * beyond what is open at start (a refused client's, the resolver's, TLS's files). */
#define RP_PROXY_FDS_PER_CONN 2u
#define RP_PROXY_FD_SPARE     32u

/* An address range: family AF_INET (b[0..3]) or AF_INET6, and its prefix length. */
struct rp__cidr {
    int family;
    unsigned char b[16];
    unsigned bits;
};

/* Parses "ADDR" or "ADDR/BITS" (IPv4 or IPv6); false when it is neither. */
bool rp__cidr_parse(const char *s, struct rp__cidr *out);
/* True when sa (IPv4-mapped IPv6 read as IPv4) is in c. */
bool rp__cidr_match(const struct rp__cidr *c, const struct sockaddr *sa);
/* True when sa is in one of the n ranges, or n is 0. */
bool rp__allowed_client(const struct rp__cidr *allow, size_t n, const struct sockaddr *sa);
/* 127.0.0.0/8 or ::1. */
bool rp__addr_loopback(const struct sockaddr *sa);
/* What forward mode does not reach without --allow-local: loopback, 0.0.0.0/8, ::,
 * 169.254.0.0/16, fe80::/10 (and anything not IP). */
bool rp__addr_local(const struct sockaddr *sa);
/*
 * Raises the soft RLIMIT_NOFILE to the hard limit and returns how many connections fit in
 * what is left once the descriptors open now and RP_PROXY_FD_SPARE are kept aside (at least
 * 1, at most RP_PROXY_MAX_CONNS); *limit gets the soft limit.
 */
size_t rp__proxy_fd_budget(size_t *limit);

/* ----- origins (proxy.c) ----- */

/* Splits "host:port", "[v6]:port" or "host" into a new host (no brackets) and a new port
 * string (NULL when none). */
bool rp__proxy_split_hostport(const char *s, size_t len, char **host, char **port);
/*
 * Fills o (its old strings freed) from an authority "host[:port]" and a scheme; false for a
 * bad host or port. Does not resolve.
 */
bool rp__origin_set(struct rp__origin *o, bool tls, const char *auth, size_t len);
void rp__origin_cleanup(struct rp__origin *o);
/* True when a and b name the same scheme, host (case-insensitive) and port. */
bool rp__origin_same(const struct rp__origin *a, const struct rp__origin *b);

/* ----- the resolver of forward mode (dns.c) ----- */

struct rp__dns;

rp_code rp__dns_new(struct rp__dns **out, struct rp_error *err);
/* The descriptor that becomes readable when a lookup has finished. */
int rp__dns_fd(const struct rp__dns *d);
/*
 * Looks host up for connection id: 1 and *out filled when the answer is at hand (an address
 * literal, or cached), 0 when a lookup was queued (its answer comes from rp__dns_next()).
 */
int rp__dns_lookup(struct rp__dns *d, const char *host, uint64_t id, struct rp__addrs *out);
/* Takes one finished lookup: false when none is left. *ok false: why says what failed. */
bool rp__dns_next(struct rp__dns *d, uint64_t *id, bool *ok, struct rp__addrs *out, char *why,
                  size_t whysz);
/* Frees d; a lookup still running finishes on its own thread and is then dropped. */
void rp__dns_free(struct rp__dns *d);

/* The answer to a CONNECT the proxy takes: intercepted at once, tunnelled once connected. */
#define RP__ESTABLISHED "HTTP/1.1 200 Connection Established\r\n\r\n"

/* ----- connections (conn.c) ----- */

void rp__qbuf_add(struct rp__qbuf *q, const void *p, size_t n);
size_t rp__qbuf_pending(const struct rp__qbuf *q);
/* Drops the first n pending bytes. */
void rp__qbuf_consume(struct rp__qbuf *q, size_t n);

/* The framing parsers' callbacks: each pauses at the end of a message. */
extern const http_parser_settings rp__proxy_req_settings;
extern const http_parser_settings rp__proxy_resp_settings;
/* True when hp stopped only because a message ended (paused), not on an error. */
bool rp__proxy_framing_ok(const http_parser *hp);

/* A new connection for the accepted socket cfd, linked into p's list. */
struct rp__conn *rp__proxy_conn_new(struct rp_proxy *p, int cfd);
/* Records what is unanswered (why says why), closes both sides and frees c. */
void rp__proxy_conn_free(struct rp_proxy *p, struct rp__conn *c, const char *why);
/* Hands every request with its whole response to the recording side (record.c). */
void rp__proxy_collect(struct rp_proxy *p, struct rp__conn *c);
/* Gives n bytes at s of direction d to the recording's parser (bodies up to the body cap). */
void rp__proxy_feed(struct rp_proxy *p, struct rp__conn *c, struct rp__dir *d, const char *s,
                    size_t n, bool body, int64_t now);
/* Queues an error answer (status, reason; why in its plain-text body) for the client. */
void rp__proxy_queue_error(struct rp__conn *c, unsigned status, const char *reason,
                           const char *why);
/*
 * The upstream refused, reset or timed out: every request waiting is recorded unanswered, the
 * client gets a 502 unless part of a response already went to it, and the connection closes.
 */
void rp__proxy_fail_upstream(struct rp_proxy *p, struct rp__conn *c, const char *why);
void rp__proxy_close_upstream(struct rp__conn *c);
void rp__proxy_no_delay(int fd);
/*
 * Connects to c->org, trying its addresses in turn; in forward mode its host is looked up
 * first (the connection then waits for the resolver). Fails the upstream when none is left.
 */
void rp__proxy_start_upstream(struct rp_proxy *p, struct rp__conn *c);
/* The upstream is open (TLS done, if any): what waited for it goes now. */
void rp__proxy_upstream_open(struct rp__conn *c);
/* The non-blocking connect finished: checks it and starts TLS, or tries the next address. */
void rp__proxy_upstream_connected(struct rp_proxy *p, struct rp__conn *c);

/* ----- the loop (loop.c) ----- */

/*
 * One turn of the loop: deadlines, one poll() (at most timeout_ms), then every connection with
 * something to do, and new clients. Returns 1 to go on, 0 when the loop is done (stopped, or
 * drained after a graceful stop), -1 when poll() failed (err says why). rp_proxy_run() turns
 * it until done; a test drives it directly (tests/fuzz/fuzz_relay.c).
 */
int rp__proxy_turn(struct rp_proxy *p, int timeout_ms, struct rp_error *err);

/* ----- header blocks and bodies (relay.c) ----- */

/*
 * A message of direction is_req ended on the wire: the next header block may start. After the
 * final answer to a request that asked to upgrade, the connection becomes a tunnel (101) or
 * the bytes held meanwhile are processed. False when the connection must close.
 */
bool rp__proxy_end_message(struct rp_proxy *p, struct rp__conn *c, bool is_req);
/*
 * Takes n bytes that came from one side: header blocks are gathered, rewritten and queued for
 * the other side, bodies queued as they are. False when the connection must close.
 */
bool rp__proxy_process(struct rp_proxy *p, struct rp__conn *c, bool is_req, const char *s,
                       size_t n);

/* ----- upstream transport (tls.c) ----- */

/* Builds p->ssl_ctx: verification per p->o (--insecure, --cacert), ALPN http/1.1. */
rp_code rp__proxy_tls_init(struct rp_proxy *p, struct rp_error *err);
/* Starts TLS on c->ufd (connected): SNI and host name checking for c->org->host. */
void rp__proxy_tls_start(struct rp_proxy *p, struct rp__conn *c);
/* Drives a handshake (either side): 1 done, 0 in progress, -1 failed (why in msg). */
int rp__proxy_tls_handshake(SSL *ssl, bool *want_write, char *msg, size_t msgsz);
/*
 * Reads/writes a socket, plain (ssl NULL) or TLS: >0 bytes, 0 end of stream, -1 would block,
 * -2 error. *want_write says whether TLS waits for the socket to be writable.
 */
long rp__proxy_sock_read(int fd, SSL *ssl, bool *want_write, void *buf, size_t n);
long rp__proxy_sock_write(int fd, SSL *ssl, bool *want_write, const void *buf, size_t n);

/* ----- header blocks (heads.c) ----- */

/*
 * Appends to out the request header block (len bytes at blk, borrowed) with Host set to the
 * origin's (added when the client sent none). Reverse mode moves Origin and Referer from the
 * proxy's origin to the upstream's; forward mode drops the headers meant for the proxy
 * (Proxy-Connection, Proxy-Authorization, Keep-Alive). A target (not NULL) replaces the
 * request line's: absolute-form becomes origin-form. In reverse mode with target NULL, an
 * absolute-form target the client sent becomes origin-form too. Sets *out_client_host to a
 * new copy of the Host the client sent (NULL when none).
 */
bool rp__proxy_rewrite_request(const struct rp__origin *o, bool forward, const char *target,
                               const char *blk, size_t len, struct rp_buf *out,
                               char **out_client_host);
/*
 * The origin form ("/path?query", fragment dropped, "/" when there is no path) of an
 * absolute-form target (len bytes at t: "http://host/path?q"), new; NULL when t is not
 * absolute-form.
 */
char *rp__proxy_origin_form(const char *t, size_t len);
/*
 * Appends to out the response header block with Location moved from the upstream's origin to
 * the proxy's (client_host, may be NULL: no change) and Domain dropped from Set-Cookie. False
 * when the block would grow past out's cap.
 */
bool rp__proxy_rewrite_response(const struct rp__origin *o, const char *client_host,
                                const char *blk, size_t len, struct rp_buf *out);
/*
 * Splits a request line "METHOD TARGET VERSION" (the block's first line): new copies of the
 * method and target; false when it is not three tokens.
 */
bool rp__proxy_request_line(const char *blk, size_t len, char **method, char **target);
/* Where the header block ends in the len bytes at s: one past the blank line, or 0. */
size_t rp__proxy_head_end(const char *s, size_t len);
/* True when the block (a request's) has a header name with a value containing token. */
bool rp__proxy_head_has(const char *blk, size_t len, const char *name, const char *token);

/* ----- recording (record.c) ----- */

struct rp__recq;

/* Starts the recording thread: exchanges are recorded on it from now on, in order. RP_ESYS
 * when it cannot be started. Without it (a test's seam), they are recorded at once. */
rp_code rp__proxy_rec_start(struct rp_proxy *p, struct rp_error *err);
/* The loop has ended: queuing an exchange now waits for room instead of dropping it. */
void rp__proxy_rec_blocking(struct rp_proxy *p);
/* Lets the recording thread write what is queued, joins it and takes its counts. */
void rp__proxy_rec_finish(struct rp_proxy *p);
/* The proxy's counts with the recording thread's so far. */
void rp__proxy_rec_stats(const struct rp_proxy *p, struct rp_proxy_stats *out);

/*
 * Hands one request and its response (NULL: none came; why, borrowed, says why) to the
 * recording thread (or, without one, records it at once): decoded, made an exchange and given
 * to the intake there. Takes the contents of both messages, which are left to be cleaned up by
 * the caller. When the thread's queue is full the exchange is counted in stats.dropped and
 * logged instead.
 */
void rp__proxy_record(struct rp_proxy *p, const struct rp__conn *c, struct rp_http_message *req,
                      struct rp_http_message *resp, const char *why);

#endif /* REPRISE_PROXY_INTERNAL_H */
