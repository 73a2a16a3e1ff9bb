/* SPDX-License-Identifier: MIT */
/*
 * Every cap reprise puts on what grows from network or file input, in one place. A value past a
 * cap is refused with RP_ETOOBIG (or, for bodies, recorded truncated and flagged).
 */
#ifndef REPRISE_LIMITS_H
#define REPRISE_LIMITS_H

/* Headers of one HTTP message: how many, and their total bytes. */
#define RP_MAX_HEADER_COUNT 256
#define RP_MAX_HEADER_BYTES (256u * 1024u)

/* A body larger than this is recorded cut to this size, with "body_truncated" set. */
#define RP_MAX_BODY_RECORDED (32u * 1024u * 1024u)

/* One line of a recording, decompressed. Fits a maximal body in base64 plus headers. */
#define RP_MAX_LINE_BYTES (64u * 1024u * 1024u)

/* A URL, a method, a reason phrase, an HTTP version string. */
#define RP_MAX_URL_BYTES     (64u * 1024u)
#define RP_MAX_METHOD_BYTES  32u
#define RP_MAX_REASON_BYTES  1024u
#define RP_MAX_VERSION_BYTES 16u

/* Tenant identifiers named in a recording's header. */
#define RP_MAX_TENANTS 64u

/* Mismatches kept for one response; JSON nesting followed by shape inference and matching. */
#define RP_MAX_MISMATCHES 100u
#define RP_MAX_JSON_DEPTH 64u

/* Correlation: values tracked per session, and the shortest value matched on sight alone. */
#define RP_MAX_CORRELATIONS     4096u
#define RP_CORRELATE_MIN_UNIQUE 8u

/* Record-time variables: declarations on one exchange's line, bytes of a NAME (the same as a
 * secret's, RP_MAX_SECRET_NAME) and of a place, variables one recording remembers (a credential
 * born past it is still replaced where it is born, but no longer searched for in later
 * requests), and the shortest response value taken as a credential. */
#define RP_MAX_VARS_PER_EXCHANGE 256u
#define RP_MAX_VAR_NAME          128u
#define RP_MAX_VAR_PLACE         1100u
#define RP_MAX_VARS              4096u
#define RP_VAR_MIN_VALUE         8u

/* The writer finishes a gzip member at least this often while exchanges are pending (ms) and
 * whenever this many uncompressed bytes are pending. */
#define RP_WRITER_FLUSH_MS     250u
#define RP_WRITER_MEMBER_BYTES (1024u * 1024u)

/* Reports: the terminal's table is this many columns wide when it does not go to a terminal
 * (its URL column then holds 40 characters, a longer URL is elided in the middle), its recap of
 * failures keeps this many distinct (step, mismatch) rows and counts the rest, and the JUnit
 * sink keeps at most this many bytes of text (name, failure lines) for one testcase. */
#define RP_REPORT_TABLE_COLUMNS 101u
#define RP_REPORT_RECAP_ROWS    64u
#define RP_REPORT_TEXT_MAX      (16u * 1024u)

/* The HTML report (rp_sink_html): bytes of each body shown (a step's request and response, and
 * a failure's recorded response), passing sessions shown in full (every failing one is; the
 * rest are counted), bytes of one session's step details kept until it is written (past it,
 * later steps show their summary line only), failing sessions and slow steps listed in the
 * summary, and recordings read for a failure's recorded response when the verdict has none. */
#define RP_HTML_BODY_MAX    (16u * 1024u)
#define RP_HTML_PASSING_MAX 50u
#define RP_HTML_SESSION_MAX (4u * 1024u * 1024u)
#define RP_HTML_INDEX_MAX   200u
#define RP_HTML_LOOKUPS_MAX 500u

/* A step's name ("POST /t/{tenant}/api/orders/{order}/pay") is cut to this many bytes. */
#define RP_MAX_STEP_NAME 512u

/* A request rewritten for replay (tenant rules, filled secrets) may grow to twice the caps it
 * was recorded under; a rewrite past these is refused. Header bytes count every value. */
#define RP_MAX_URL_REWRITTEN    (2u * RP_MAX_URL_BYTES)
#define RP_MAX_HEADER_REWRITTEN (2u * RP_MAX_HEADER_BYTES)
#define RP_MAX_BODY_REWRITTEN   (2u * RP_MAX_BODY_RECORDED)

/* Tenant rewriting: rules in one rewriter, bytes of a rule's FROM or TO, and bytes of an
 * expanded template ({run}, {env:NAME}, ...). */
#define RP_MAX_REWRITE_RULES  1024u
#define RP_MAX_TENANT_BYTES   4096u
#define RP_MAX_TEMPLATE_BYTES 4096u

/* Shapes: shapes in one shape file, its size, a compiled "pattern", a media type, the text of
 * one mismatch message, and how much of a live string or an odd key a mismatch shows. */
#define RP_MAX_SHAPES           1000000u
#define RP_MAX_SHAPE_FILE_BYTES (1024u * 1024u * 1024u)
#define RP_MAX_PATTERN_BYTES    4096u
#define RP_MAX_MEDIA_TYPE_BYTES 256u
#define RP_MAX_MISMATCH_TEXT    1024u
#define RP_SHAPE_SHOW_CHARS     40u
#define RP_SHAPE_PATH_KEY_CHARS 128u
/* Inference: distinct keys the objects of one recorded array may have between them before
 * their keys are no longer checked (an object used as a dictionary, keyed by ids). */
#define RP_MAX_INFER_KEYS       1000u

/* Correlation learning. The candidate index keeps the values of recent responses, at most
 * RP_CORRELATE_MAX_CANDIDATES of them (a power of two) in RP_CORRELATE_INDEX_BYTES of text,
 * dropping the oldest; RP_CORRELATE_MAX_PER_RESPONSE from one response, each at most
 * RP_CORRELATE_MAX_VALUE bytes; at most RP_CORRELATE_SAME_VALUE sources of one value. Bodies
 * past RP_CORRELATE_MAX_SCAN bytes are not searched (HTML: only their start). A request offers
 * at most RP_CORRELATE_MAX_TARGETS values; JSON paths and keys are cut at the lengths below. */
#define RP_CORRELATE_MAX_CANDIDATES   32768u
#define RP_CORRELATE_INDEX_BYTES      (16u * 1024u * 1024u)
#define RP_CORRELATE_MAX_PER_RESPONSE 2048u
#define RP_CORRELATE_MAX_VALUE        4096u
#define RP_CORRELATE_SAME_VALUE       32u
#define RP_CORRELATE_MAX_SCAN         (2u * 1024u * 1024u)
#define RP_CORRELATE_MAX_TARGETS      4096u
#define RP_CORRELATE_MAX_PATH         1024u
#define RP_CORRELATE_MAX_KEY          256u
#define RP_CORRELATE_MAX_BINDS        64u

/* The identity check: pairs of places about one object learned from one recording, places one
 * response is checked at, sessions whose live values are held at once (the least recently seen
 * is dropped past it), and the exchanges whose request is remembered to name an object. */
#define RP_IDENTITY_MAX_RULES    4096u
#define RP_IDENTITY_MAX_PER_EX   16u
#define RP_IDENTITY_MAX_SESSIONS 1024u
#define RP_IDENTITY_NOUNS        1024u

/* Correlation: where, at most, a request value is searched for a long source inside it. */
#define RP_CORRELATE_TOKEN_STARTS 64u

/* Unsourced ids (a safety net of replay): an id-like value is at most RP_UNSOURCED_MAX_ID bytes;
 * the values earlier responses gave are remembered as hashes, at most RP_UNSOURCED_MAX_SEEN
 * distinct ones (past that the check stops, with a warning, rather than guess); at most
 * RP_UNSOURCED_MAX values are listed per recording. */
#define RP_UNSOURCED_MAX_ID   64u
#define RP_UNSOURCED_MAX_SEEN (1u << 20)
#define RP_UNSOURCED_MAX      4096u

/* Replay keeps a recording's decoded exchanges in memory, shared by its sessions, when they
 * take at most this much; a longer recording is streamed again by each session. */
#define RP_REPLAY_CACHE_BYTES (16u * 1024u * 1024u)

/* HAR import reads a file up to this size (one entry held at a time): a bigger file is refused.
 * Export and import hold one exchange (import: plus that entry's text and tree) at a time. */
#define RP_MAX_HAR_BYTES (512u * 1024u * 1024u)

/* HTTP parsing: requests a response parser remembers the methods of, unanswered (pipelining),
 * and content codings undone on one body (Content-Encoding: gzip, gzip counts two). */
#define RP_HTTP_MAX_PIPELINE 1024u
#define RP_HTTP_MAX_CODINGS  8u

/* Packet capture. Flows (TCP connections) tracked at once, the least recently used evicted
 * past it; a flow with no packet for RP_CAPTURE_IDLE_US of capture time is ended; out-of-order
 * bytes held per direction of a flow and in all flows together (past either, the oldest hole
 * is given up as lost); how long a direction whose SYN was not seen is held before reading it
 * from its lowest sequence number; the snapshot length of a live capture. */
#define RP_CAPTURE_MAX_FLOWS     4096u
#define RP_CAPTURE_IDLE_US       (120u * 1000000u)
#define RP_CAPTURE_MAX_OOO_BYTES (1024u * 1024u)
#define RP_CAPTURE_MAX_OOO_TOTAL (64u * 1024u * 1024u)
#define RP_CAPTURE_SYNC_WAIT_US  (2u * 1000000u)
#define RP_CAPTURE_SNAPLEN       262144u

/* The recording proxy: client connections at once (past it a client gets 503 and is closed);
 * bytes queued for one direction of a connection before the other side is no longer read
 * (backpressure); a connection with no traffic this long is closed; how long the upstream may
 * take to accept a connection and finish its TLS handshake; how long a graceful stop waits for
 * the exchanges in flight; requests a connection may have sent ahead unanswered (pipelining). */
#define RP_PROXY_MAX_CONNS    1024u
#define RP_PROXY_RELAY_BYTES  (256u * 1024u)
#define RP_PROXY_IDLE_MS      60000u
#define RP_PROXY_CONNECT_MS   10000u
#define RP_PROXY_DRAIN_MS     10000u
#define RP_PROXY_MAX_PIPELINE 64u

/* The interception CA: leaf certificates kept (least recently used dropped past it); how long
 * a leaf is valid (browsers refuse server certificates valid for more than 398 days); how long
 * the CA itself is valid. */
#define RP_CA_MAX_LEAVES 1024u
#define RP_CA_LEAF_DAYS  397u
#define RP_CA_VALID_DAYS 3650u

/* The proxy's recording thread: finished exchanges waiting for it (decoding, scrubbing,
 * encoding, writing), at most this many and this many bytes of bodies and headers; one that
 * finds the queue full is counted as lost and logged, so the relay never waits for the disk.
 * An exchange that finds the queue empty is always taken, whatever its size. */
#define RP_PROXY_RECORD_QUEUE_MAX   4096u
#define RP_PROXY_RECORD_QUEUE_BYTES (128u * 1024u * 1024u)

/* Forward mode: host names remembered with their addresses, and for how long. */
#define RP_PROXY_DNS_CACHE  256u
#define RP_PROXY_DNS_TTL_MS 60000u

/* A latency baseline (--baseline): the distinct steps (recording name and seq) it holds. */
#define RP_MAX_BASELINE_STEPS 1000000u

#endif /* REPRISE_LIMITS_H */
