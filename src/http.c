/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x message parsing on top of nodejs http-parser: one parser per direction, fed bytes
 * as they come, yielding whole messages with decoded bodies. http-parser owns the grammar
 * (start lines, header framing, chunked, Content-Length, close-delimited bodies, 1xx, upgrade);
 * this file adds the caps, Content-Encoding decoding with zlib, the method queue that tells a
 * response parser when there is no body (HEAD, CONNECT), and recovery after lost bytes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <zlib.h>

#include <reprise/buf.h>
#include <reprise/http.h>
#include <reprise/limits.h>

/* The inflate output buffer of one decoding stage. */
#define STAGE_OUT_BYTES  16384u
/* The bytes a hunt keeps across feeds while a message start may be straddling them. */
#define HUNT_CARRY_BYTES 16u

enum coding {
    COD_GZIP,
    COD_DEFLATE,
};

/* One content coding being undone; stages run from the last coding applied to the first. */
struct stage {
    enum coding kind;
    z_stream zs;
    bool started;
    bool ended;
    unsigned char pre[2]; /* deflate: the first two bytes, to tell zlib from raw deflate */
    size_t npre;
    unsigned char *out;
};

struct rp_http_parser {
    enum rp_http_dir dir;
    http_parser hp;
    struct rp_http_parser *peer;

    /* Responses: the methods of the requests they answer, oldest first (a ring). */
    char *methods[RP_HTTP_MAX_PIPELINE];
    size_t mhead, mcount;

    /* The message being read. */
    struct rp_http_message cur;
    bool busy, have_start, in_value, in_body, chunked, body_hole, filling;
    struct rp_buf url, reason, field, value, body;
    size_t header_bytes;
    struct stage stages[RP_HTTP_MAX_CODINGS];
    size_t nstages;
    bool decode_failed;
    /* The body reached body_max with decoding under way: the rest of the body is skipped, not
     * inflated, and its decoded size is unknown (a gzip bomb costs the cap, not its size). */
    bool capped;
    size_t body_max; /* decoded body bytes kept per message (RP_MAX_BODY_RECORDED at most) */
    /* Compressed bodies are kept as sent (up to raw_max) for rp_http_message_decode(). */
    bool defer;
    uint64_t inflated; /* bytes every decoding stage produced, over the parser's life */

    /* Whole messages not yet taken, oldest first. */
    struct rp_http_message *done;
    size_t ndone, capdone, headdone;

    bool failed, upgraded, hunting, line_start;
    unsigned char carry[HUNT_CARRY_BYTES];
    size_t ncarry;
    uint64_t skipped;
    int64_t now;
    rp_code cb_code; /* set by a callback that stops the parser */
    struct rp_error cb_err;
};

/* ----- messages --------------------------------------------------------------------------- */

void rp_http_message_init(struct rp_http_message *m)
{
    memset(m, 0, sizeof(*m));
    rp_headers_init(&m->headers);
}

void rp_http_message_cleanup(struct rp_http_message *m)
{
    free(m->method);
    free(m->target);
    free(m->version);
    free(m->reason);
    free(m->coding);
    rp_headers_cleanup(&m->headers);
    rp_body_cleanup(&m->body);
    rp_http_message_init(m);
}

/* ----- messages into exchanges ------------------------------------------------------------ */

/* A coding name from the wire, safe to put in JSON as is. */
static void add_token(struct rp_buf *b, const char *s)
{
    for (size_t i = 0; s[i] && i < 32; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        rp_ignore(rp_buf_addc(b, ok ? c : '?', NULL));
    }
}

/* A message of reprise's own (ASCII), as the inside of a JSON string. */
static void add_escaped(struct rp_buf *b, const char *s)
{
    for (size_t i = 0; s[i] && i < RP_ERROR_MSG_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            rp_ignore(rp_buf_addf(b, NULL, "\\%c", c));
        } else if (c < 0x20 || c >= 0x7f) {
            rp_ignore(rp_buf_addf(b, NULL, "\\u%04x", c));
        } else {
            rp_ignore(rp_buf_addc(b, (char)c, NULL));
        }
    }
}

/*
 * The exchange's extra keys: "undecoded" and "decode_error", each naming per message the
 * content coding left on the body or the one that failed, and "error" when why is given. NULL
 * when there is nothing to say.
 */
static char *build_extra(const struct rp_http_message *req, const struct rp_http_message *resp,
                         const char *why)
{
    static const struct {
        unsigned flag;
        const char *key;
    } kinds[] = {{RP_HTTP_MSG_UNDECODED, "undecoded"}, {RP_HTTP_MSG_DECODE_ERROR, "decode_error"}};
    const struct rp_http_message *msgs[2] = {req, resp};
    const char *names[2] = {"request", "response"};
    struct rp_buf b;
    rp_buf_init(&b, 4096);
    bool any = false;
    if (why) {
        rp_ignore(rp_buf_adds(&b, "{\"error\":\"", NULL));
        add_escaped(&b, why);
        rp_ignore(rp_buf_addc(&b, '"', NULL));
        any = true;
    }
    for (size_t k = 0; k < 2; k++) {
        bool open = false;
        for (size_t i = 0; i < 2; i++) {
            const struct rp_http_message *m = msgs[i];
            if (!m || !(m->flags & kinds[k].flag) || !m->coding) {
                continue;
            }
            if (!open) {
                rp_ignore(rp_buf_addf(&b, NULL, "%s\"%s\":{", any ? "," : "{", kinds[k].key));
                any = open = true;
            } else {
                rp_ignore(rp_buf_addc(&b, ',', NULL));
            }
            rp_ignore(rp_buf_addf(&b, NULL, "\"%s\":\"", names[i]));
            add_token(&b, m->coding);
            rp_ignore(rp_buf_addc(&b, '"', NULL));
        }
        if (open) {
            rp_ignore(rp_buf_addc(&b, '}', NULL));
        }
    }
    if (!any) {
        rp_buf_cleanup(&b);
        return NULL;
    }
    rp_ignore(rp_buf_addc(&b, '}', NULL));
    return rp_buf_take(&b, NULL);
}

/* Moves m's version, headers and body into one side of an exchange, freeing what it held. */
static void take_parts(char **version, struct rp_headers *headers, struct rp_body *body,
                       struct rp_http_message *m)
{
    free(*version);
    *version = m->version;
    m->version = NULL;
    rp_headers_cleanup(headers);
    *headers = m->headers;
    rp_headers_init(&m->headers);
    rp_body_cleanup(body);
    *body = m->body;
    memset(&m->body, 0, sizeof(m->body));
}

void rp_http_to_exchange(struct rp_exchange *ex, struct rp_http_message *req,
                         struct rp_http_message *resp, char *url, int64_t end_us, const char *why)
{
    ex->start_us = req->first_us;
    int64_t end = resp ? resp->last_us : end_us;
    ex->duration_us = end > ex->start_us ? (uint64_t)(end - ex->start_us) : 0;
    free(ex->req.url);
    ex->req.url = url;
    free(ex->req.method);
    ex->req.method = req->method;
    req->method = NULL;
    take_parts(&ex->req.version, &ex->req.headers, &ex->req.body, req);
    unsigned flags = req->flags;
    free(ex->extra);
    ex->extra = build_extra(req, resp, resp ? NULL : why);
    ex->has_response = resp != NULL;
    if (resp) {
        ex->resp.status = resp->status;
        free(ex->resp.reason);
        ex->resp.reason = resp->reason;
        resp->reason = NULL;
        take_parts(&ex->resp.version, &ex->resp.headers, &ex->resp.body, resp);
        flags |= resp->flags;
    }
    ex->incomplete = (flags & (RP_HTTP_MSG_INCOMPLETE | RP_HTTP_MSG_DECODE_ERROR)) != 0;
}

/* ----- body decoding ---------------------------------------------------------------------- */

static void stages_cleanup(struct rp_http_parser *p)
{
    for (size_t i = 0; i < p->nstages; i++) {
        if (p->stages[i].started) {
            inflateEnd(&p->stages[i].zs);
        }
        free(p->stages[i].out);
    }
    memset(p->stages, 0, sizeof(p->stages));
    p->nstages = 0;
    p->decode_failed = false;
    p->capped = false;
}

static void set_coding(struct rp_http_parser *p, unsigned flag, const char *name, size_t n)
{
    p->cur.flags |= flag;
    if (!p->cur.coding) {
        p->cur.coding = rp_xstrndup(name, n);
    }
}

/*
 * Appends decoded bytes to the body, keeping at most body_max. A body sent as is counts every
 * byte; a decoded one stops decoding at the cap (capped): its full size stays unknown (0).
 */
static void body_append(struct rp_http_parser *p, const void *data, size_t len)
{
    if (p->capped) {
        return;
    }
    p->cur.body.orig_len += len;
    size_t room = p->body.max - p->body.len;
    size_t n = len < room ? len : room;
    if (n < len) {
        p->cur.body.truncated = true;
        if (p->nstages && !(p->cur.flags & RP_HTTP_MSG_UNDECODED)) {
            p->capped = true;
            p->cur.body.orig_len = 0;
        }
    }
    if (n) {
        rp_ignore(rp_buf_add(&p->body, data, n, NULL)); /* fits: n is at most the room left */
    }
}

/* The compressed bytes kept of a body whose decoding is deferred: enough to decode to the cap
 * (gzip and deflate grow incompressible data by well under 1/64, plus a block header). */
static size_t raw_max(const struct rp_http_parser *p)
{
    return p->body_max + p->body_max / 64 + 64 * 1024;
}

/* Deferred decoding: keeps the body as sent, up to raw_max(); the rest is skipped (capped). */
static void raw_append(struct rp_http_parser *p, const void *data, size_t len)
{
    size_t room = raw_max(p) - p->body.len;
    size_t n = len < room ? len : room;
    if (n < len) {
        p->cur.body.truncated = true;
        p->capped = true;
    }
    if (n) {
        rp_ignore(rp_buf_add(&p->body, data, n, NULL)); /* fits: n is at most the room left */
    }
}

static const char *coding_name(enum coding k)
{
    return k == COD_GZIP ? "gzip" : "deflate";
}

static void decode_fail(struct rp_http_parser *p, size_t i)
{
    const char *name = coding_name(p->stages[i].kind);
    set_coding(p, RP_HTTP_MSG_DECODE_ERROR, name, strlen(name));
    p->decode_failed = true;
}

static void push(struct rp_http_parser *p, size_t i, const unsigned char *data, size_t len);

/* Starts stage i's inflater. A deflate stage looks at its first two bytes: RFC 1950 says
 * "deflate" is zlib-wrapped, but servers have long sent raw deflate, and browsers take both. */
static bool stage_start(struct rp_http_parser *p, size_t i)
{
    struct stage *st = &p->stages[i];
    int wbits = 15 + 16;
    if (st->kind == COD_DEFLATE) {
        unsigned cmf = st->pre[0], flg = st->pre[1];
        bool zlib = (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
        wbits = zlib ? 15 : -15;
    }
    if (inflateInit2(&st->zs, wbits) != Z_OK) {
        decode_fail(p, i);
        return false;
    }
    st->started = true;
    st->out = rp_xmalloc(STAGE_OUT_BYTES);
    return true;
}

static void inflate_some(struct rp_http_parser *p, size_t i, const unsigned char *data, size_t len)
{
    struct stage *st = &p->stages[i];
    st->zs.next_in = (unsigned char *)data;
    st->zs.avail_in = (uInt)len;
    while (!p->decode_failed && !p->capped) {
        if (st->ended) {
            /* A gzip body may hold several members; anything after a deflate stream is junk
             * the server appended, which browsers ignore too. */
            if (st->kind != COD_GZIP || st->zs.avail_in == 0 || inflateReset(&st->zs) != Z_OK) {
                return;
            }
            st->ended = false;
        }
        st->zs.next_out = st->out;
        st->zs.avail_out = STAGE_OUT_BYTES;
        int ret = inflate(&st->zs, Z_NO_FLUSH);
        size_t produced = STAGE_OUT_BYTES - st->zs.avail_out;
        p->inflated += produced;
        if (produced) {
            push(p, i + 1, st->out, produced);
        }
        if (ret == Z_STREAM_END) {
            st->ended = true;
            continue;
        }
        if (ret == Z_BUF_ERROR || (ret == Z_OK && st->zs.avail_in == 0 && st->zs.avail_out)) {
            return; /* everything given was consumed */
        }
        if (ret != Z_OK) {
            decode_fail(p, i);
            return;
        }
    }
}

/* Feeds len bytes to stage i (or to the body past the last stage). Chunks bigger than zlib's
 * uInt are split. */
static void push(struct rp_http_parser *p, size_t i, const unsigned char *data, size_t len)
{
    if (i == p->nstages) {
        body_append(p, data, len);
        return;
    }
    struct stage *st = &p->stages[i];
    while (len && !p->decode_failed && !p->capped) {
        if (!st->started) {
            if (st->kind == COD_DEFLATE && st->npre < 2) {
                st->pre[st->npre++] = *data++;
                len--;
                continue;
            }
            if (!stage_start(p, i)) {
                return;
            }
            if (st->npre) {
                inflate_some(p, i, st->pre, st->npre);
            }
            continue;
        }
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        inflate_some(p, i, data, n);
        data += n;
        len -= n;
    }
}

/* At the end of a body: a stage whose stream did not end means the body was cut short. */
static void decode_end(struct rp_http_parser *p)
{
    if (p->decode_failed || p->body_hole || p->capped) {
        return;
    }
    for (size_t i = 0; i < p->nstages; i++) {
        struct stage *st = &p->stages[i];
        if (!st->started && st->npre) {
            if (!stage_start(p, i)) {
                return;
            }
            inflate_some(p, i, st->pre, st->npre);
        }
        if (st->started && !st->ended) {
            decode_fail(p, i);
            return;
        }
    }
}

/* Reads every Content-Encoding header into decoding stages, last coding first. An unknown
 * coding anywhere leaves the whole body as sent: undoing the codings after it would still not
 * give the plain body. */
static void plan_decoding(struct rp_http_parser *p)
{
    enum coding order[RP_HTTP_MAX_CODINGS];
    size_t n = 0;
    size_t at = 0;
    const struct rp_header *h;
    while ((h = rp_headers_get(&p->cur.headers, "Content-Encoding", &at))) {
        const char *s = h->value, *end = h->value + h->value_len;
        while (s < end) {
            while (s < end && (*s == ' ' || *s == '\t' || *s == ',')) {
                s++;
            }
            const char *t = s;
            while (t < end && *t != ',' && *t != ' ' && *t != '\t' && *t != ';') {
                t++;
            }
            size_t tl = (size_t)(t - s);
            while (t < end && *t != ',') {
                t++; /* parameters, which no coding in use has */
            }
            if (tl == 0) {
                s = t;
                continue;
            }
            if (rp_strieq(s, tl, "identity")) {
                s = t;
                continue;
            }
            bool gz = rp_strieq(s, tl, "gzip") || rp_strieq(s, tl, "x-gzip");
            bool df = rp_strieq(s, tl, "deflate");
            if (!gz && !df) {
                set_coding(p, RP_HTTP_MSG_UNDECODED, s, tl);
                return;
            }
            if (n == RP_HTTP_MAX_CODINGS) {
                set_coding(p, RP_HTTP_MSG_UNDECODED, s, tl);
                return;
            }
            order[n++] = gz ? COD_GZIP : COD_DEFLATE;
            s = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        p->stages[i].kind = order[n - 1 - i];
    }
    p->nstages = n;
}

/* ----- http-parser callbacks -------------------------------------------------------------- */

static struct rp_http_parser *self(http_parser *hp)
{
    return hp->data;
}

/* Stops the parser from a callback with code and a message. */
static int stop(struct rp_http_parser *p, rp_code code, const char *what)
{
    p->cb_code = rp_error_set(&p->cb_err, code, "HTTP %s: %s",
                              p->dir == RP_HTTP_REQUEST ? "request" : "response", what);
    return -1;
}

static void reset_current(struct rp_http_parser *p)
{
    rp_http_message_cleanup(&p->cur);
    p->cur.dir = p->dir;
    rp_buf_reset(&p->url);
    rp_buf_reset(&p->reason);
    rp_buf_reset(&p->field);
    rp_buf_reset(&p->value);
    rp_buf_cleanup(&p->body);
    rp_buf_init(&p->body, p->defer ? raw_max(p) : p->body_max);
    stages_cleanup(p);
    p->busy = p->have_start = p->in_value = p->in_body = p->chunked = false;
    p->body_hole = p->filling = false;
    p->header_bytes = 0;
}

static int on_message_begin(http_parser *hp)
{
    struct rp_http_parser *p = self(hp);
    reset_current(p);
    p->busy = true;
    p->cur.first_us = p->now;
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
    struct rp_http_parser *p = self(hp);
    if (p->url.len + len > RP_MAX_URL_BYTES) {
        return stop(p, RP_ETOOBIG, "request target longer than RP_MAX_URL_BYTES");
    }
    rp_ignore(rp_buf_add(&p->url, at, len, NULL));
    return 0;
}

static int on_status(http_parser *hp, const char *at, size_t len)
{
    struct rp_http_parser *p = self(hp);
    if (p->reason.len + len > RP_MAX_REASON_BYTES) {
        return stop(p, RP_ETOOBIG, "reason phrase longer than RP_MAX_REASON_BYTES");
    }
    rp_ignore(rp_buf_add(&p->reason, at, len, NULL));
    return 0;
}

static int commit_header(struct rp_http_parser *p)
{
    if (!p->field.len && !p->value.len) {
        return 0;
    }
    struct rp_error e;
    if (rp_headers_add(&p->cur.headers, p->field.data ? p->field.data : "", p->field.len,
                       p->value.data ? p->value.data : "", p->value.len, &e)) {
        return stop(p, RP_ETOOBIG, "more than RP_MAX_HEADER_COUNT headers");
    }
    rp_buf_reset(&p->field);
    rp_buf_reset(&p->value);
    p->in_value = false;
    return 0;
}

static int count_header_bytes(struct rp_http_parser *p, size_t len)
{
    if (len > RP_MAX_HEADER_BYTES - p->header_bytes) {
        return stop(p, RP_ETOOBIG, "headers larger than RP_MAX_HEADER_BYTES");
    }
    p->header_bytes += len;
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct rp_http_parser *p = self(hp);
    if (p->in_value && commit_header(p)) {
        return -1;
    }
    if (count_header_bytes(p, len)) {
        return -1;
    }
    rp_ignore(rp_buf_add(&p->field, at, len, NULL));
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct rp_http_parser *p = self(hp);
    p->in_value = true;
    if (count_header_bytes(p, len)) {
        return -1;
    }
    rp_ignore(rp_buf_add(&p->value, at, len, NULL));
    return 0;
}

static char *version_string(const http_parser *hp)
{
    char v[RP_MAX_VERSION_BYTES];
    int n = snprintf(v, sizeof(v), "HTTP/%u.%u", hp->http_major, hp->http_minor);
    if (n < 0 || (size_t)n >= sizeof(v)) {
        return rp_xstrdup("HTTP/1.1");
    }
    return rp_xstrdup(v);
}

static void push_method(struct rp_http_parser *resp, const char *method)
{
    if (resp->mcount == RP_HTTP_MAX_PIPELINE) {
        return; /* a queue this deep is not HTTP anyone sends; later answers are read as GET's */
    }
    size_t at = (resp->mhead + resp->mcount) % RP_HTTP_MAX_PIPELINE;
    resp->methods[at] = rp_xstrdup(method);
    resp->mcount++;
}

/* Takes the method of the request the response now read answers; NULL when unknown. */
static char *pop_method(struct rp_http_parser *p)
{
    if (!p->mcount) {
        return NULL;
    }
    char *m = p->methods[p->mhead];
    p->methods[p->mhead] = NULL;
    p->mhead = (p->mhead + 1) % RP_HTTP_MAX_PIPELINE;
    p->mcount--;
    return m;
}

static int on_headers_complete(http_parser *hp)
{
    struct rp_http_parser *p = self(hp);
    if (p->in_value && commit_header(p)) {
        return -1;
    }
    p->cur.version = version_string(hp);
    p->have_start = true;
    p->in_body = true;
    p->chunked = (hp->flags & F_CHUNKED) != 0;
    plan_decoding(p);
    if (p->dir == RP_HTTP_REQUEST) {
        const char *m = http_method_str((enum http_method)hp->method);
        p->cur.method = rp_xstrdup(m);
        p->cur.target = rp_xstrndup(p->url.data ? p->url.data : "", p->url.len);
        if (p->peer) {
            push_method(p->peer, m);
        }
        return 0;
    }
    p->cur.status = hp->status_code;
    p->cur.reason = rp_xstrndup(p->reason.data ? p->reason.data : "", p->reason.len);
    /* RFC 9110 says 1xx, 204 and 304 have no body whatever their headers say; http-parser
     * 2.9 would read a Content-Length body after a 304, so it is told. */
    if (hp->status_code >= 100 && hp->status_code < 200 && hp->status_code != 101) {
        return 1; /* interim: the final response still answers the same request */
    }
    bool bodiless = hp->status_code == 204 || hp->status_code == 304;
    char *method = pop_method(p);
    int skip = bodiless ? 1 : 0;
    if (method && strcmp(method, "HEAD") == 0) {
        skip = 1;
    } else if (method && strcmp(method, "CONNECT") == 0 && hp->status_code / 100 == 2) {
        skip = 2; /* no body, and a tunnel from here on */
    }
    free(method);
    return skip;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    struct rp_http_parser *p = self(hp);
    if (p->filling || p->body_hole || p->capped) {
        return 0; /* capped: the rest is framed by http-parser but never inflated */
    }
    if (p->cur.flags & RP_HTTP_MSG_UNDECODED || !p->nstages) {
        body_append(p, at, len);
    } else if (p->defer) {
        raw_append(p, at, len);
    } else {
        push(p, 0, (const unsigned char *)at, len);
    }
    return 0;
}

/* Moves the current message to the done queue. */
static void queue_current(struct rp_http_parser *p)
{
    if (p->defer && p->nstages && !(p->cur.flags & RP_HTTP_MSG_UNDECODED)) {
        p->cur.flags |= RP_HTTP_MSG_ENCODED; /* decoded later: rp_http_message_decode() */
    } else {
        decode_end(p);
    }
    size_t len = 0;
    char *data = rp_buf_take(&p->body, &len);
    uint64_t orig = p->cur.body.orig_len;
    bool trunc = p->cur.body.truncated;
    rp_body_take(&p->cur.body, (unsigned char *)data, len);
    p->cur.body.truncated = trunc;
    p->cur.body.orig_len = trunc ? orig : len;
    p->cur.last_us = p->now;
    if (p->ndone == p->capdone) {
        size_t ncap = p->capdone ? p->capdone * 2 : 4;
        struct rp_http_message *v = rp_xreallocarray(NULL, ncap, sizeof(*v));
        for (size_t i = 0; i < p->ndone; i++) {
            v[i] = p->done[(p->headdone + i) % p->capdone];
        }
        free(p->done);
        p->done = v;
        p->capdone = ncap;
        p->headdone = 0;
    }
    p->done[(p->headdone + p->ndone) % p->capdone] = p->cur;
    p->ndone++;
    rp_http_message_init(&p->cur); /* ownership moved to the queue */
    reset_current(p);
}

static int on_message_complete(http_parser *hp)
{
    struct rp_http_parser *p = self(hp);
    if (p->dir == RP_HTTP_RESPONSE && hp->status_code >= 100 && hp->status_code < 200 &&
        hp->status_code != 101) {
        reset_current(p); /* 100 Continue and friends are not exchanges of their own */
        return 0;
    }
    if (hp->upgrade && p->dir == RP_HTTP_RESPONSE) {
        p->cur.flags |= RP_HTTP_MSG_UPGRADE;
    }
    queue_current(p);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ----- the parser ------------------------------------------------------------------------- */

static void hp_reset(struct rp_http_parser *p)
{
    http_parser_init(&p->hp, p->dir == RP_HTTP_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
    p->hp.data = p;
}

struct rp_http_parser *rp_http_parser_new(enum rp_http_dir dir)
{
    struct rp_http_parser *p = rp_xcalloc(1, sizeof(*p));
    p->dir = dir;
    rp_http_message_init(&p->cur);
    rp_buf_init(&p->url, RP_MAX_URL_BYTES);
    rp_buf_init(&p->reason, RP_MAX_REASON_BYTES);
    rp_buf_init(&p->field, RP_MAX_HEADER_BYTES);
    rp_buf_init(&p->value, RP_MAX_HEADER_BYTES);
    p->body_max = RP_MAX_BODY_RECORDED;
    rp_buf_init(&p->body, RP_MAX_BODY_RECORDED);
    reset_current(p);
    hp_reset(p);
    return p;
}

void rp_http_parser_set_max_body(struct rp_http_parser *p, uint64_t max)
{
    p->body_max = max && max < RP_MAX_BODY_RECORDED ? (size_t)max : RP_MAX_BODY_RECORDED;
    if (!p->busy) {
        rp_buf_cleanup(&p->body);
        rp_buf_init(&p->body, p->body_max);
    }
}

uint64_t rp_http_parser_inflated(const struct rp_http_parser *p)
{
    return p->inflated;
}

void rp_http_parser_defer_decoding(struct rp_http_parser *p, bool on)
{
    p->defer = on;
    if (!p->busy) {
        rp_buf_cleanup(&p->body);
        rp_buf_init(&p->body, on ? raw_max(p) : p->body_max);
    }
}

uint64_t rp_http_message_decode(struct rp_http_message *m, uint64_t max)
{
    if (!(m->flags & RP_HTTP_MSG_ENCODED)) {
        return 0;
    }
    /* A parser of its own undoes the codings the message's headers name, as one would have
     * while reading it: the same stages, cap and flags. */
    struct rp_http_parser *p = rp_http_parser_new(m->dir);
    rp_http_parser_set_max_body(p, max);
    rp_http_message_cleanup(&p->cur);
    p->cur = *m;
    rp_http_message_init(m);
    p->cur.flags &= ~RP_HTTP_MSG_ENCODED;
    unsigned char *raw = p->cur.body.data;
    size_t nraw = p->cur.body.len;
    bool cut = p->cur.body.truncated; /* only a prefix was kept */
    memset(&p->cur.body, 0, sizeof(p->cur.body));
    plan_decoding(p);
    push(p, 0, raw, nraw);
    free(raw);
    if (cut && !p->capped && !p->decode_failed) {
        /* The prefix kept ran out before the cap: what came of it is real, the rest unknown. */
        p->cur.body.truncated = true;
        p->capped = true;
    }
    if (p->capped) {
        p->cur.body.orig_len = 0;
    }
    decode_end(p);
    size_t len = 0;
    char *data = rp_buf_take(&p->body, &len);
    uint64_t orig = p->cur.body.orig_len;
    bool trunc = p->cur.body.truncated;
    rp_body_take(&p->cur.body, (unsigned char *)data, len);
    p->cur.body.truncated = trunc;
    p->cur.body.orig_len = trunc ? orig : len;
    *m = p->cur;
    rp_http_message_init(&p->cur);
    uint64_t work = p->inflated;
    rp_http_parser_free(p);
    return work;
}

void rp_http_parser_free(struct rp_http_parser *p)
{
    if (!p) {
        return;
    }
    if (p->peer) {
        p->peer->peer = NULL;
    }
    reset_current(p);
    rp_http_message_cleanup(&p->cur);
    rp_buf_cleanup(&p->url);
    rp_buf_cleanup(&p->reason);
    rp_buf_cleanup(&p->field);
    rp_buf_cleanup(&p->value);
    rp_buf_cleanup(&p->body);
    for (size_t i = 0; i < p->ndone; i++) {
        rp_http_message_cleanup(&p->done[(p->headdone + i) % p->capdone]);
    }
    free(p->done);
    char *m;
    while ((m = pop_method(p))) {
        free(m);
    }
    free(p);
}

void rp_http_parser_link(struct rp_http_parser *req, struct rp_http_parser *resp)
{
    req->peer = resp;
    resp->peer = req;
}

void rp_http_parser_expect(struct rp_http_parser *resp, const char *method)
{
    push_method(resp, method);
}

/* Whether the n bytes at s begin a message: 1 yes, 0 no, -1 not yet known (s is a prefix). */
static int starts_message(enum rp_http_dir dir, const unsigned char *s, size_t n)
{
    static const char *const requests[] = {
        "GET ",   "POST ",    "PUT ",   "DELETE ",   "HEAD ",      "OPTIONS ",
        "PATCH ", "CONNECT ", "TRACE ", "PROPFIND ", "PROPPATCH ", "MKCOL ",
        "COPY ",  "MOVE ",    "LOCK ",  "UNLOCK ",   NULL};
    static const char *const responses[] = {"HTTP/1.", NULL};
    const char *const *toks = dir == RP_HTTP_REQUEST ? requests : responses;
    int best = 0;
    for (size_t i = 0; toks[i]; i++) {
        size_t tl = strlen(toks[i]);
        size_t m = n < tl ? n : tl;
        if (memcmp(s, toks[i], m) == 0) {
            if (m == tl) {
                return 1;
            }
            best = -1;
        }
    }
    return best;
}

/*
 * A message stopped before its headers ended (an error, or the caller gave it up): the method
 * queue takes the step its headers would have. A request tells a linked response parser its
 * method now, so that its answer (which may come before any later byte of the request side)
 * is read right; a final response takes its request's method off the queue.
 */
static void settle_methods(struct rp_http_parser *p)
{
    if (!p->busy || p->have_start) {
        return;
    }
    if (p->dir == RP_HTTP_REQUEST) {
        if (p->peer) {
            push_method(p->peer, http_method_str((enum http_method)p->hp.method));
        }
        return;
    }
    unsigned st = p->hp.status_code;
    if (!(st >= 100 && st < 200 && st != 101)) {
        free(pop_method(p));
    }
}

/* Runs http-parser over len bytes; on an error fails p and returns the code. */
static rp_code execute(struct rp_http_parser *p, const char *data, size_t len, size_t *out_n,
                       struct rp_error *err)
{
    p->cb_code = RP_OK;
    size_t n = http_parser_execute(&p->hp, &settings, data, len);
    *out_n = n;
    if (p->cb_code) {
        p->failed = true;
        settle_methods(p);
        reset_current(p);
        if (err) {
            *err = p->cb_err;
        }
        return p->cb_code;
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (e != HPE_OK) {
        p->failed = true;
        settle_methods(p);
        reset_current(p);
        return rp_error_set(err, RP_EFORMAT, "malformed HTTP %s: %s (%s)",
                            p->dir == RP_HTTP_REQUEST ? "request" : "response",
                            http_errno_description(e), http_errno_name(e));
    }
    return RP_OK;
}

/*
 * Hunting: finds where a message starts in len bytes at data, counting line starts across
 * feeds and keeping a possible start that straddles the end in p->carry. Returns the offset of
 * the start in data (then p->carry holds nothing to replay, or the bytes to replay first), or
 * len when there is none yet.
 */
static size_t hunt(struct rp_http_parser *p, const unsigned char *data, size_t len,
                   bool *out_replay_carry)
{
    *out_replay_carry = false;
    if (p->ncarry) {
        unsigned char tmp[2 * HUNT_CARRY_BYTES];
        size_t take = len < HUNT_CARRY_BYTES ? len : HUNT_CARRY_BYTES;
        memcpy(tmp, p->carry, p->ncarry);
        memcpy(tmp + p->ncarry, data, take);
        int r = starts_message(p->dir, tmp, p->ncarry + take);
        if (r == 1) {
            *out_replay_carry = true;
            return 0;
        }
        if (r == -1 && p->ncarry + take <= HUNT_CARRY_BYTES) {
            memcpy(p->carry + p->ncarry, data, take);
            p->ncarry += take;
            return len;
        }
        p->skipped += p->ncarry;
        p->ncarry = 0;
        p->line_start = false;
    }
    for (size_t i = 0; i < len; i++) {
        bool at_line = i == 0 ? p->line_start : data[i - 1] == '\n';
        if (!at_line) {
            continue;
        }
        int r = starts_message(p->dir, data + i, len - i);
        if (r == 1) {
            p->skipped += i;
            return i;
        }
        if (r == -1) {
            /* Only a prefix fits in what is left: keep it for the next feed. */
            p->skipped += i;
            p->ncarry = len - i;
            memcpy(p->carry, data + i, p->ncarry);
            return len;
        }
    }
    p->skipped += len;
    p->line_start = len ? data[len - 1] == '\n' : p->line_start;
    return len;
}

rp_code rp_http_parser_feed(struct rp_http_parser *p, const void *data, size_t len, int64_t now_us,
                            size_t *out_used, struct rp_error *err)
{
    if (p->failed) {
        return rp_error_set(err, RP_EFORMAT, "HTTP parser stopped after an error");
    }
    p->now = now_us;
    const char *s = data;
    size_t off = 0;
    while (off < len && !p->upgraded) {
        if (p->hunting) {
            bool replay = false;
            size_t at = hunt(p, (const unsigned char *)s + off, len - off, &replay);
            off += at;
            if (off == len && !replay) {
                break;
            }
            p->hunting = false;
            if (replay) {
                unsigned char c[HUNT_CARRY_BYTES];
                size_t nc = p->ncarry, used = 0;
                memcpy(c, p->carry, nc);
                p->ncarry = 0;
                rp_code rc = execute(p, (const char *)c, nc, &used, err);
                if (rc) {
                    return rc;
                }
            }
            continue;
        }
        size_t n = 0;
        rp_code rc = execute(p, s + off, len - off, &n, err);
        if (rc) {
            return rc;
        }
        off += n;
        if (p->hp.upgrade) {
            /* A request that asks for an upgrade only leaves HTTP if the answer agrees, so
             * its parser carries on (CONNECT aside: what follows it is the tunnel). */
            if (p->dir == RP_HTTP_REQUEST && p->hp.method != HTTP_CONNECT) {
                hp_reset(p);
                continue;
            }
            p->upgraded = true;
            break;
        }
        if (n == 0) {
            break; /* http-parser made no progress and reported nothing: do not spin */
        }
    }
    if (out_used) {
        *out_used = p->upgraded ? off : len;
    }
    return RP_OK;
}

/* Queues the message being read as incomplete when its start line was read; drops it if not. */
static void abandon_current(struct rp_http_parser *p)
{
    /* A message cut inside its headers still has its start line, which pairing needs. */
    if (p->busy && !p->have_start) {
        if (p->dir == RP_HTTP_REQUEST && p->url.len) {
            p->cur.method = rp_xstrdup(http_method_str((enum http_method)p->hp.method));
            p->cur.target = rp_xstrndup(p->url.data, p->url.len);
            p->have_start = true;
        } else if (p->dir == RP_HTTP_RESPONSE && p->hp.status_code >= 200) {
            free(pop_method(p)); /* its answer ends here, as on_headers_complete would have */
            p->cur.status = p->hp.status_code;
            p->cur.reason = rp_xstrndup(p->reason.data ? p->reason.data : "", p->reason.len);
            p->have_start = true;
        }
    }
    if (p->busy && p->have_start) {
        p->cur.flags |= RP_HTTP_MSG_INCOMPLETE;
        p->body_hole = true;
        queue_current(p);
    } else {
        reset_current(p);
    }
}

void rp_http_parser_finish(struct rp_http_parser *p, int64_t now_us)
{
    p->now = now_us;
    if (p->failed || p->upgraded || p->hunting) {
        p->ncarry = 0;
        return;
    }
    if (!p->busy) {
        return;
    }
    /* Zero bytes tell http-parser the stream ended: a close-delimited body is then whole. */
    p->cb_code = RP_OK;
    http_parser_execute(&p->hp, &settings, NULL, 0);
    abandon_current(p);
    hp_reset(p);
}

/* Feeds n bytes that stand for lost ones through http-parser, which only counts them. */
static bool fill(struct rp_http_parser *p, uint64_t n)
{
    static const char zeros[4096];
    bool ok = true;
    p->filling = true;
    while (n && p->busy) {
        size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
        size_t used = 0;
        if (execute(p, zeros, k, &used, NULL) || used != k) {
            ok = false;
            break;
        }
        n -= k;
    }
    p->filling = false;
    return ok;
}

bool rp_http_parser_gap(struct rp_http_parser *p, uint64_t n, int64_t now_us)
{
    p->now = now_us;
    if (p->failed || p->upgraded) {
        return false;
    }
    if (p->hunting) {
        p->ncarry = 0;
        p->line_start = true;
        return false;
    }
    bool skip_body = (p->hp.flags & F_SKIPBODY) != 0;
    if (p->busy && p->in_body && !p->chunked && !skip_body) {
        uint64_t remaining = p->hp.content_length;
        p->cur.flags |= RP_HTTP_MSG_INCOMPLETE;
        p->body_hole = true;
        if (remaining == ULLONG_MAX || n < remaining) {
            if (fill(p, n)) {
                return true;
            }
        } else {
            fill(p, remaining);
            if (n == remaining && !p->failed) {
                return true; /* the hole ended exactly where the message did */
            }
        }
    }
    if (!p->failed) {
        abandon_current(p);
    }
    p->failed = false;
    reset_current(p);
    hp_reset(p);
    p->hunting = true;
    p->line_start = true;
    p->ncarry = 0;
    return false;
}

void rp_http_parser_reset(struct rp_http_parser *p)
{
    if (!p->failed) {
        settle_methods(p); /* given up by the caller, not by an error (which settled them) */
    }
    reset_current(p);
    hp_reset(p);
    p->failed = false;
    p->hunting = false;
    p->ncarry = 0;
}

void rp_http_parser_hunt(struct rp_http_parser *p)
{
    reset_current(p);
    hp_reset(p);
    p->failed = false;
    p->hunting = true;
    p->line_start = true;
    p->ncarry = 0;
}

bool rp_http_parser_next(struct rp_http_parser *p, struct rp_http_message *m)
{
    if (!p->ndone) {
        return false;
    }
    rp_http_message_cleanup(m);
    *m = p->done[p->headdone];
    p->headdone = (p->headdone + 1) % p->capdone;
    p->ndone--;
    return true;
}

bool rp_http_parser_upgraded(const struct rp_http_parser *p)
{
    return p->upgraded;
}

bool rp_http_parser_busy(const struct rp_http_parser *p)
{
    return p->busy;
}

uint64_t rp_http_parser_skipped(const struct rp_http_parser *p)
{
    return p->skipped;
}
