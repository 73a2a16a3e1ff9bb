/* SPDX-License-Identifier: MIT */
/*
 * The replay engine, on libcurl's multi interface. One thread drives every session: each
 * session has its own easy handle (so its own cookie jar, and its connection kept alive in the
 * multi's pool), sends one request at a time, and advances when the response is complete.
 *
 * A session's life: start (open its own streaming reader, expand its tenant rules), then for
 * each recorded exchange: build the live request (tenants, correlations, secrets, run header,
 * target), wait for a rate token, send, observe the response for later correlations, report.
 * A transport failure stops the session; its remaining exchanges are reported as skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <reprise/limits.h>
#include <reprise/replay.h>
#include <reprise/rewrite.h>

#define DEFAULT_TIMEOUT_MS         30000u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define MAX_SET_COOKIE_NAMES       256u
#define MAX_ORIGIN_BYTES           2048u

/* ----- configuration ---------------------------------------------------------------------- */

struct pair {
    char *from;
    char *to;
};

struct pairs {
    struct pair *v;
    size_t n;
};

static void pairs_add(struct pairs *p, const char *from, const char *to)
{
    p->v = rp_xreallocarray(p->v, p->n + 1, sizeof(*p->v));
    p->v[p->n].from = rp_xstrdup(from);
    p->v[p->n].to = rp_xstrdup(to);
    p->n++;
}

static void pairs_cleanup(struct pairs *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].from);
        free(p->v[i].to);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* Names of the cookies the recorded responses have set so far: the live jar supplies those. */
struct cookie_names {
    char **v;
    size_t n;
};

/* What the prepass learns of one recording. */
struct recording {
    char *path;
    char *name;
    struct rp_rec_meta meta;
    struct rp_correlator *corr;
    char *origin; /* scheme://authority of its first request, lower-cased */
    /*
     * The decoded exchanges, requests already normalised (see normalise()), each packed in one
     * block (see pack()), when they fit RP_REPLAY_CACHE_BYTES: its sessions share them
     * instead of reading the file again. Longer recordings are streamed by each session and
     * cache is NULL.
     */
    struct rp_exchange **cache;
    size_t n_cache;
    size_t cache_bytes;
    bool cache_full;
};

struct session;

struct rp_replay {
    struct rp_replay_opts o;
    char run_id[16];
    char *target; /* without a trailing '/' */
    struct pairs tenants;
    struct pairs hosts;
    struct pairs binds;
    struct recording *recs;
    size_t n_recs;

    CURLM *multi;
    struct curl_slist *no_headers; /* reused empty list */
    struct session **sessions;
    size_t n_sessions;
    size_t next_session; /* the next one to start */
    size_t active;

    /* Rate limiting: the earliest time (monotonic us) the next request may go. */
    int64_t next_slot_us;
    int64_t slot_us;
    struct session **waiting; /* FIFO of sessions holding a request until a slot is free */
    size_t n_waiting, waiting_head, waiting_cap;

    rp_code first_failure;
    char first_failure_msg[RP_ERROR_MSG_MAX];
};

/* ----- small helpers ---------------------------------------------------------------------- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void logf_(struct rp_replay *r, enum rp_log_level lvl, const char *fmt, ...) RP_PRINTF(3, 4);

static void logf_(struct rp_replay *r, enum rp_log_level lvl, const char *fmt, ...)
{
    if (!r->o.log) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->o.log(r->o.log_ud, lvl, msg);
}

void rp_run_id_make(char *out, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[64];
    size_t got = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        got = fread(raw, 1, n < sizeof(raw) ? n : sizeof(raw), f);
        fclose(f);
    }
    /* Without /dev/urandom, time and pid still make a run id that does not repeat soon. */
    uint64_t x = (uint64_t)mono_us() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned v = i < got ? raw[i] : (unsigned)(x & 0xff);
        out[i] = alphabet[v % (sizeof(alphabet) - 1)];
    }
    out[n] = '\0';
}

/*
 * Splits an absolute URL into its origin (scheme://authority, lower-cased into origin) and
 * the rest (path and query, fragment dropped) returned as a pointer into url with its length.
 * Returns false when url is not absolute.
 */
static bool split_url(const char *url, char *origin, size_t origin_sz, const char **rest,
                      size_t *rest_len)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url) {
        return false;
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0) {
        return false;
    }
    size_t olen = (size_t)(auth + alen - url);
    if (olen >= origin_sz) {
        return false;
    }
    for (size_t i = 0; i < olen; i++) {
        char c = url[i];
        origin[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    origin[olen] = '\0';
    const char *p = auth + alen;
    *rest = p;
    *rest_len = strcspn(p, "#");
    return true;
}

static const char *authority_of(const char *origin)
{
    const char *sep = strstr(origin, "://");
    return sep ? sep + 3 : origin;
}

/* Copies src into dst, cut to fit: for messages, where the end matters less than the start. */
static void copy_cut(char *dst, size_t dstsz, const char *src)
{
    size_t n = strnlen(src, dstsz - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ----- cookies ------------------------------------------------------------------------------ */

static bool has_name(const struct cookie_names *cn, const char *name, size_t len)
{
    for (size_t i = 0; i < cn->n; i++) {
        if (strlen(cn->v[i]) == len && memcmp(cn->v[i], name, len) == 0) {
            return true;
        }
    }
    return false;
}

static void cookie_names_cleanup(struct cookie_names *cn)
{
    for (size_t i = 0; i < cn->n; i++) {
        free(cn->v[i]);
    }
    free(cn->v);
    cn->v = NULL;
    cn->n = 0;
}

/* Remembers the names of the cookies a recorded response sets. */
static void note_set_cookies(struct cookie_names *cn, const struct rp_exchange *ex)
{
    if (!ex->has_response) {
        return;
    }
    size_t at = 0;
    const struct rp_header *h;
    while ((h = rp_headers_get(&ex->resp.headers, "Set-Cookie", &at)) != NULL) {
        const char *v = h->value;
        size_t len = h->value_len;
        while (len && (*v == ' ' || *v == '\t')) {
            v++, len--;
        }
        const char *eq = memchr(v, '=', len);
        if (!eq || eq == v || cn->n >= MAX_SET_COOKIE_NAMES) {
            continue;
        }
        size_t nlen = (size_t)(eq - v);
        if (!has_name(cn, v, nlen)) {
            cn->v = rp_xreallocarray(cn->v, cn->n + 1, sizeof(*cn->v));
            cn->v[cn->n++] = rp_xstrndup(v, nlen);
        }
    }
}

/*
 * Removes from the request's Cookie headers the cookies an earlier recorded response set: the
 * session's jar sends the live ones. The rest stay (a login cookie from before the recording,
 * filled from a secret). Returns the remaining pairs as one string (new memory), or NULL.
 */
static char *take_cookies(const struct cookie_names *cn, struct rp_headers *h)
{
    struct rp_buf out;
    rp_buf_init(&out, RP_MAX_HEADER_BYTES);
    size_t at = 0;
    const struct rp_header *c;
    while ((c = rp_headers_get(h, "Cookie", &at)) != NULL) {
        const char *p = c->value;
        const char *end = p + c->value_len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *stop = semi ? semi : end;
            while (p < stop && (*p == ' ' || *p == '\t')) {
                p++;
            }
            size_t seg = (size_t)(stop - p); /* p <= stop after the trim */
            const char *eq = seg ? memchr(p, '=', seg) : NULL;
            size_t nlen = eq ? (size_t)(eq - p) : seg;
            if (seg && !has_name(cn, p, nlen)) {
                if (out.len) {
                    rp_buf_add(&out, "; ", 2, NULL);
                }
                rp_buf_add(&out, p, (size_t)(stop - p), NULL);
            }
            p = semi ? semi + 1 : end;
        }
    }
    rp_headers_remove(h, "Cookie");
    if (out.len == 0) {
        rp_buf_cleanup(&out);
        return NULL;
    }
    return rp_buf_take(&out, NULL);
}

/*
 * Puts a recorded request in the form every session starts from: cookies the jar will supply
 * (set by an earlier recorded response) taken out of its Cookie header. The prepass and a
 * streaming session both do it with the names seen so far, so they agree exchange by exchange.
 */
static rp_code normalise(const struct cookie_names *cn, struct rp_request *req,
                         struct rp_error *err)
{
    if (!rp_headers_get(&req->headers, "Cookie", NULL)) {
        return RP_OK;
    }
    char *kept = take_cookies(cn, &req->headers);
    rp_code rc = RP_OK;
    if (kept) {
        rc = rp_headers_add(&req->headers, "Cookie", 6, kept, strlen(kept), err);
        free(kept);
    }
    return rc;
}

/*
 * A cached exchange is packed in one block: the struct, then its header arrays (sized exactly),
 * then every string and both bodies, copied in. That is one allocation instead of some twenty
 * and about half the heap of a decoded exchange, so recordings twice as long fit the budget,
 * and one free() drops it. Nothing changes a cached exchange, which is why it can be packed:
 * sessions copy what they send (build_request), and only free the block.
 */
struct pack {
    char *base;
    size_t off;
};

/* Adds n to *total; false when the sum would overflow. */
static bool size_add(size_t *total, size_t n)
{
    if (n > SIZE_MAX - *total) {
        return false;
    }
    *total += n;
    return true;
}

/* The bytes pack() needs for a string of n bytes and its NUL (none for NULL). */
static bool size_str(size_t *total, const char *s, size_t n)
{
    return !s || (size_add(total, n) && size_add(total, 1));
}

/* The size of ex packed; false when it does not fit a size_t. */
static bool pack_size(const struct rp_exchange *ex, size_t *out)
{
    size_t n = sizeof(*ex);
    const struct rp_headers *hs[2] = {&ex->req.headers, &ex->resp.headers};
    const struct rp_body *bs[2] = {&ex->req.body, &ex->resp.body};
    bool ok = true;
    for (size_t k = 0; k < 2 && ok; k++) {
        ok = hs[k]->n <= RP_MAX_HEADER_COUNT && size_add(&n, hs[k]->n * sizeof(struct rp_header));
        for (size_t i = 0; i < hs[k]->n && ok; i++) {
            ok = size_str(&n, hs[k]->v[i].name, hs[k]->v[i].name_len) &&
                 size_str(&n, hs[k]->v[i].value, hs[k]->v[i].value_len);
        }
        ok = ok && (bs[k]->len == 0 || size_str(&n, (const char *)bs[k]->data, bs[k]->len));
    }
    const char *strs[] = {ex->req.method,  ex->req.url,      ex->req.version,
                          ex->resp.reason, ex->resp.version, ex->extra};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]) && ok; i++) {
        ok = size_str(&n, strs[i], strs[i] ? strlen(strs[i]) : 0);
    }
    if (ok) {
        *out = n;
    }
    return ok;
}

/* Copies n bytes of s and a NUL into the block; NULL stays NULL. */
static char *pack_str(struct pack *pk, const char *s, size_t n)
{
    if (!s) {
        return NULL;
    }
    char *d = pk->base + pk->off;
    memcpy(d, s, n);
    d[n] = '\0';
    pk->off += n + 1;
    return d;
}

/* Fills dst with copies of src's headers; v is its array in the block (when src has any). */
static void pack_headers(struct pack *pk, struct rp_headers *dst, struct rp_header *v,
                         const struct rp_headers *src)
{
    rp_headers_init(dst);
    if (src->n == 0) {
        return;
    }
    dst->v = v;
    dst->n = src->n;
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++) {
        const struct rp_header *e = &src->v[i];
        dst->v[i].name = pack_str(pk, e->name, e->name_len);
        dst->v[i].name_len = e->name_len;
        dst->v[i].value = pack_str(pk, e->value, e->value_len);
        dst->v[i].value_len = e->value_len;
    }
}

static void pack_body(struct pack *pk, struct rp_body *dst, const struct rp_body *src)
{
    *dst = *src;
    dst->data = src->len ? (unsigned char *)pack_str(pk, (const char *)src->data, src->len) : NULL;
}

static char *pack_cstr(struct pack *pk, const char *s)
{
    return pack_str(pk, s, s ? strlen(s) : 0);
}

/* Packs a copy of ex (borrowed) into a new block of size bytes (from pack_size); free() it. */
static struct rp_exchange *pack(const struct rp_exchange *ex, size_t size)
{
    /* Both header arrays come straight after the struct, so they share its alignment; the
     * strings, which need none, follow them. */
    struct pack pk = {rp_xmalloc(size), sizeof(*ex)};
    struct rp_exchange *p = (struct rp_exchange *)(void *)pk.base;
    *p = *ex;
    struct rp_header *req_v = (struct rp_header *)(void *)(pk.base + pk.off);
    struct rp_header *resp_v = req_v + ex->req.headers.n;
    pk.off += (ex->req.headers.n + ex->resp.headers.n) * sizeof(struct rp_header);
    pack_headers(&pk, &p->req.headers, req_v, &ex->req.headers);
    pack_headers(&pk, &p->resp.headers, resp_v, &ex->resp.headers);
    pack_body(&pk, &p->req.body, &ex->req.body);
    pack_body(&pk, &p->resp.body, &ex->resp.body);
    p->req.method = pack_cstr(&pk, ex->req.method);
    p->req.url = pack_cstr(&pk, ex->req.url);
    p->req.version = pack_cstr(&pk, ex->req.version);
    p->resp.reason = pack_cstr(&pk, ex->resp.reason);
    p->resp.version = pack_cstr(&pk, ex->resp.version);
    p->extra = pack_cstr(&pk, ex->extra);
    return p;
}

static void cache_free(struct recording *rec)
{
    for (size_t i = 0; i < rec->n_cache; i++) {
        free(rec->cache[i]);
    }
    free(rec->cache);
    rec->cache = NULL;
    rec->n_cache = 0;
    rec->cache_bytes = 0;
}

/* Keeps a packed copy of ex (borrowed) in the recording's cache, or drops the whole cache once
 * the budget is passed. */
static void cache_keep(struct recording *rec, const struct rp_exchange *ex)
{
    if (rec->cache_full) {
        return;
    }
    size_t size = 0;
    bool fits = pack_size(ex, &size) && size <= RP_REPLAY_CACHE_BYTES;
    /* What the block costs the heap: malloc's header and rounding, and its slot in the array. */
    size_t fp = fits ? ((size + 8 + 15) & ~(size_t)15) + sizeof(*rec->cache) : 0;
    if (!fits || rec->cache_bytes + fp > RP_REPLAY_CACHE_BYTES) {
        cache_free(rec);
        rec->cache_full = true;
        return;
    }
    if ((rec->n_cache & (rec->n_cache - 1)) == 0) {
        size_t cap = rec->n_cache ? rec->n_cache * 2 : 16;
        rec->cache = rp_xreallocarray(rec->cache, cap, sizeof(*rec->cache));
    }
    rec->cache[rec->n_cache++] = pack(ex, size);
    rec->cache_bytes += fp;
}

/* ----- the prepass: correlations, secrets, origin ----------------------------------------- */

struct secret_check {
    rp_secret_fn lookup;
    void *ud;
    const char *missing;
};

static int check_secret(void *ud, const char *name)
{
    struct secret_check *sc = ud;
    if (!sc->lookup(sc->ud, name)) {
        sc->missing = name;
        return 1;
    }
    return 0;
}

/* Reads a recording once: learns correlations into rec->corr and, when secrets is not NULL,
 * checks that every placeholder the replay will fill is set. */
static rp_code prepass(struct recording *rec, rp_log_fn log, void *log_ud,
                       struct secret_check *secrets, bool keep, struct rp_error *err)
{
    rp_code rc = RP_EFORMAT;
    struct rp_reader_opts ropts = {.log = log, .log_ud = log_ud};
    struct rp_reader *rd = NULL;
    struct cookie_names cn = {0};
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    rec->cache_full = !keep;

    rc = rp_reader_open(rec->path, &ropts, &rd, err);
    if (rc) {
        goto out;
    }
    rc = rp_rec_meta_copy(&rec->meta, rp_reader_meta(rd), err);
    if (rc) {
        goto out;
    }
    for (;;) {
        bool got = false;
        rc = rp_reader_next(rd, &ex, &got, err);
        if (rc) {
            goto out;
        }
        if (!got) {
            break;
        }
        if (!rec->origin) {
            char origin[MAX_ORIGIN_BYTES];
            const char *rest;
            size_t rest_len;
            if (!split_url(ex.req.url, origin, sizeof(origin), &rest, &rest_len)) {
                rc = rp_error_set(err, RP_EFORMAT, "%s:%llu: request URL is not absolute: %s",
                                  rec->path, (unsigned long long)rp_reader_line(rd), ex.req.url);
                goto out;
            }
            rec->origin = rp_xstrdup(origin);
        }
        rc = rp_correlator_learn(rec->corr, &ex, err);
        if (rc) {
            rp_error_prefix(err, "%s:%llu", rec->path, (unsigned long long)rp_reader_line(rd));
            goto out;
        }
        /* Cookies the jar will supply need no secret: drop them as the replay will. */
        rc = normalise(&cn, &ex.req, err);
        if (rc) {
            goto out;
        }
        if (secrets) {
            if (rp_secrets_each(&ex.req, check_secret, secrets)) {
                char env[RP_MAX_SECRET_NAME + 32];
                rp_secret_env_name(secrets->missing, env, sizeof(env));
                rc = rp_error_set(err, RP_ENOSECRET, "%s:%llu: secret \"%s\" is not set: export %s",
                                  rec->path, (unsigned long long)rp_reader_line(rd),
                                  secrets->missing, env);
                goto out;
            }
        }
        /* After the request: a cookie a response sets serves later requests only. */
        note_set_cookies(&cn, &ex);
        cache_keep(rec, &ex);
    }
    if (!rec->origin) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: the recording has no exchanges", rec->path);
        goto out;
    }
    rc = RP_OK;
out:
    cookie_names_cleanup(&cn);
    rp_exchange_cleanup(&ex);
    rp_reader_free(rd);
    return rc;
}

rp_code rp_replay_learn(const char *path, struct rp_correlator *c, rp_log_fn log, void *log_ud,
                        struct rp_error *err)
{
    struct recording rec;
    memset(&rec, 0, sizeof(rec));
    rec.path = (char *)path;
    rec.corr = c;
    rp_rec_meta_init(&rec.meta);
    rp_code rc = prepass(&rec, log, log_ud, NULL, false, err);
    rp_rec_meta_cleanup(&rec.meta);
    free(rec.origin);
    return rc;
}

/* ----- sessions ------------------------------------------------------------------------------ */

enum session_state {
    S_IDLE,    /* not started */
    S_READY,   /* between requests */
    S_WAITING, /* holding a built request until a rate slot is free */
    S_SENDING, /* a request in flight */
    S_DONE,
};

struct session {
    struct rp_replay *r;
    struct recording *rec;
    unsigned no;
    char name[160];
    enum session_state state;

    struct rp_reader *reader;
    struct rp_rewriter *rw;
    struct rp_corr_session *cs;
    char *origin; /* the recording's origin, rewritten for this session's tenant */
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];

    const struct rp_exchange *cur; /* the recorded exchange being replayed */
    size_t next_cached;            /* with a cache: the index of the next exchange */
    struct rp_exchange read;       /* without: the exchange last read from the file */
    struct cookie_names cn;        /* without: cookies set by the recorded responses so far */
    struct rp_exchange live;       /* as reported: placeholders kept */
    struct rp_exchange wire;       /* as sent: secrets filled */
    struct rp_request *wire_req;   /* what goes out: wire's, or live's when it has no secret */
    struct curl_slist *hdrs;
    struct rp_buf body;
    uint64_t body_total;
    bool body_cut;

    /* After a transport failure, the rest is skipped with this reason. */
    bool stopped;
    char stop_reason[RP_ERROR_MSG_MAX];
};

static void emit(struct session *s, enum rp_replay_status st, rp_code code, const char *msg,
                 uint64_t latency_us)
{
    struct rp_replay_event ev = {
        .session = s->name,
        .session_no = s->no,
        .recording = s->rec->path,
        .recorded = s->cur,
        .live = &s->live,
        .status = st,
        .code = code,
        .message = msg,
        .latency_us = latency_us,
    };
    s->r->o.on_result(s->r->o.ud, &ev);
}

static void session_free(struct session *s)
{
    if (!s) {
        return;
    }
    if (s->easy) {
        if (s->state == S_SENDING) {
            curl_multi_remove_handle(s->r->multi, s->easy);
        }
        curl_easy_cleanup(s->easy);
    }
    curl_slist_free_all(s->hdrs);
    rp_buf_cleanup(&s->body);
    rp_exchange_cleanup(&s->read);
    cookie_names_cleanup(&s->cn);
    rp_exchange_cleanup(&s->live);
    rp_exchange_cleanup(&s->wire);
    rp_reader_free(s->reader);
    rp_rewriter_free(s->rw);
    rp_corr_session_free(s->cs);
    free(s->origin);
    free(s);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct session *s = ud;
    size_t len = size * n;
    s->body_total += len;
    if (!s->body_cut) {
        size_t room = s->body.max - s->body.len;
        size_t take = len < room ? len : room;
        rp_buf_add(&s->body, p, take, NULL);
        if (take < len) {
            s->body_cut = true;
        }
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct session *s = ud;
    size_t len = size * n;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        len--;
    }
    struct rp_response *resp = &s->live.resp;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new status line (after a 1xx, or a retry): start the headers afresh. */
        rp_headers_cleanup(&resp->headers);
        free(resp->version);
        free(resp->reason);
        resp->reason = NULL;
        const char *sp = memchr(p, ' ', len);
        size_t vlen = sp ? (size_t)(sp - p) : len;
        resp->version = rp_xstrndup(p, vlen < RP_MAX_VERSION_BYTES ? vlen : RP_MAX_VERSION_BYTES);
        const char *sp2 = sp ? memchr(sp + 1, ' ', len - vlen - 1) : NULL;
        if (sp2) {
            size_t rlen = len - (size_t)(sp2 + 1 - p);
            resp->reason =
                rp_xstrndup(sp2 + 1, rlen < RP_MAX_REASON_BYTES ? rlen : RP_MAX_REASON_BYTES);
        }
        return size * n;
    }
    const char *colon = memchr(p, ':', len);
    if (colon && colon > p) {
        const char *v = colon + 1;
        while (v < p + len && (*v == ' ' || *v == '\t')) {
            v++;
        }
        /* Past the header cap the rest are dropped, not fatal: the check sees what fits. */
        rp_headers_add(&resp->headers, p, (size_t)(colon - p), v, (size_t)(p + len - v), NULL);
    }
    return size * n;
}

/* Headers that describe the connection or that libcurl sets itself. */
static bool managed_header(const struct rp_header *h)
{
    static const char *const names[] = {
        "Host",       "Content-Length", "Transfer-Encoding",
        "Connection", "Keep-Alive",     "Proxy-Connection",
        "TE",         "Upgrade",        "Accept-Encoding",
        "Expect",     "Cookie",         NULL,
    };
    if (h->name_len == 0) {
        return false;
    }
    if (h->name[0] == ':') {
        return true; /* HTTP/2 pseudo-headers from a HAR */
    }
    /* The first letter first: this runs for every header of every request. */
    char first = (char)(h->name[0] | 0x20);
    for (size_t i = 0; names[i]; i++) {
        if ((names[i][0] | 0x20) == first && rp_strieq(h->name, h->name_len, names[i])) {
            return true;
        }
    }
    return false;
}

/* Methods libcurl sends with a body (CURLOPT_POSTFIELDS) even when it is empty. */
static bool has_body_method(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

static struct curl_slist *header_list(struct session *s, struct rp_error *err)
{
    struct curl_slist *list = NULL;
    struct rp_buf line;
    rp_buf_init(&line, RP_MAX_HEADER_BYTES);
    const struct rp_headers *h = &s->wire_req->headers;
    bool have_ct = false, have_accept = false;
    for (size_t i = 0; i < h->n; i++) {
        const struct rp_header *e = &h->v[i];
        if (managed_header(e)) {
            continue;
        }
        if (memchr(e->value, '\r', e->value_len) || memchr(e->value, '\n', e->value_len)) {
            continue; /* never let a value split the request */
        }
        have_ct = have_ct || rp_strieq(e->name, e->name_len, "Content-Type");
        have_accept = have_accept || rp_strieq(e->name, e->name_len, "Accept");
        rp_buf_reset(&line);
        /* libcurl sends "Name;" as a header with an empty value. A NUL, which no parser lets
         * in, would end the line there, as printf's "%.*s" stopped at it. */
        rp_code rc = rp_buf_add(&line, e->name, strnlen(e->name, e->name_len), err);
        if (!rc) {
            rc = e->value_len ? rp_buf_add(&line, ": ", 2, err) : rp_buf_addc(&line, ';', err);
        }
        if (!rc) {
            rc = rp_buf_add(&line, e->value, strnlen(e->value, e->value_len), err);
        }
        if (rc) {
            curl_slist_free_all(list);
            rp_buf_cleanup(&line);
            return NULL;
        }
        list = curl_slist_append(list, line.data);
    }
    /* Send what was recorded, not what libcurl would add of its own: it adds Expect and a
     * form Content-Type only to requests with a body, and Accept to every request. */
    if (s->wire_req->body.len || has_body_method(s->wire_req->method)) {
        list = curl_slist_append(list, "Expect:");
        if (!have_ct) {
            list = curl_slist_append(list, "Content-Type:");
        }
    }
    if (!have_accept) {
        list = curl_slist_append(list, "Accept:");
    }
    rp_buf_cleanup(&line);
    return list;
}

static rp_code stop_code_for(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return RP_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return RP_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return RP_EDNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return RP_ETLS;
    default:
        return RP_ETARGET;
    }
}

/*
 * True when the environment names a proxy that libcurl would use for http or https. libcurl
 * looks these up again for every transfer (five getenv() calls, each a walk of the whole
 * environment); without any, a session tells it once that there is no proxy, which is what it
 * would have found.
 */
static bool proxy_in_env(void)
{
    static const char *const names[] = {
        "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL,
    };
    for (size_t i = 0; names[i]; i++) {
        if (getenv(names[i])) {
            return true;
        }
    }
    return false;
}

/* Opens a session: its reader, its tenant rules, its correlation state, its easy handle. */
static rp_code session_start(struct session *s, struct rp_error *err)
{
    struct rp_replay *r = s->r;
    rp_code rc = RP_OK;
    if (!s->rec->cache) {
        struct rp_reader_opts ropts = {.log = r->o.log, .log_ud = r->o.log_ud};
        rc = rp_reader_open(s->rec->path, &ropts, &s->reader, err);
        if (rc) {
            return rc;
        }
    }
    s->rw = rp_rewriter_new();
    char session_no[16];
    snprintf(session_no, sizeof(session_no), "%u", s->no);
    struct rp_template_ctx ctx = {
        .run_id = r->run_id,
        .session_id = session_no,
        .now_us = rp_now_us(),
    };
    const struct rp_rec_meta *m = &s->rec->meta;
    size_t n = r->tenants.n ? r->tenants.n : m->n_tenants;
    const char **from = rp_xcalloc(n + 1, sizeof(*from));
    char **to = rp_xcalloc(n + 1, sizeof(*to));
    for (size_t i = 0; i < n && !rc; i++) {
        from[i] = r->tenants.n ? r->tenants.v[i].from : m->tenants[i];
        const char *tmpl = r->tenants.n ? r->tenants.v[i].to : "{tenant}-{run}-{session}";
        ctx.tenant = from[i];
        rc = rp_template_expand(tmpl, &ctx, &to[i], err);
        if (!rc) {
            rc = rp_rewriter_add(s->rw, from[i], to[i], err);
        }
    }
    if (!rc && r->o.on_session) {
        r->o.on_session(r->o.ud, s->name, from, (const char *const *)to, n);
    }
    for (size_t i = 0; i < n; i++) {
        free(to[i]);
    }
    free(to);
    free(from);
    if (rc) {
        return rp_error_prefix(err, "--tenant");
    }
    size_t olen = 0;
    s->origin = rp_rewrite_text(s->rw, s->rec->origin, strlen(s->rec->origin), &olen);
    if (!s->origin) {
        s->origin = rp_xstrdup(s->rec->origin);
    }
    s->cs = rp_corr_session_new(s->rec->corr);
    rp_buf_init(&s->body, RP_MAX_BODY_RECORDED);

    s->easy = curl_easy_init();
    if (!s->easy) {
        return rp_error_set(err, RP_EINTERNAL, "cannot create a libcurl handle");
    }
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* the session's own in-memory jar */
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* bodies arrive decoded */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* every hop is its own exchange */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r->o.insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r->o.insecure ? 0L : 2L);
    if (r->o.cacert) {
        curl_easy_setopt(e, CURLOPT_CAINFO, r->o.cacert);
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!proxy_in_env()) {
        /* No proxy, and no no_proxy list to consult: both said, nothing is looked up. */
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }
    s->state = S_READY;
    logf_(r, RP_LOG_DEBUG, "%s: started (%s)", s->name, s->rec->path);
    return RP_OK;
}

/* Stops rp_secrets_each at the first placeholder. */
static int any_secret(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return 1;
}

/*
 * Builds the live request for s->cur. Returns RP_OK with *out_send set when it should be
 * sent; RP_OK with *out_send false when it was reported as skipped; an error for input
 * problems (a secret gone missing since the prepass, a limit).
 */
static rp_code build_request(struct session *s, bool *out_send, struct rp_error *err)
{
    struct rp_replay *r = s->r;
    *out_send = false;
    struct rp_exchange *lv = &s->live;
    rp_exchange_cleanup(lv);
    lv->seq = s->cur->seq;
    lv->conn_id = s->no;
    rp_code rc = rp_request_copy(&lv->req, &s->cur->req, err);
    if (rc) {
        return rc;
    }

    rc = rp_rewrite_request(s->rw, &lv->req, NULL, err);
    if (!rc) {
        rc = rp_corr_session_apply(s->cs, s->cur->seq, &lv->req, NULL, err);
    }
    if (rc) {
        return rc;
    }
    /* Where does it go? The recording's origin goes to the target; mapped hosts to theirs. */
    char origin[MAX_ORIGIN_BYTES];
    const char *rest;
    size_t rest_len;
    if (!split_url(lv->req.url, origin, sizeof(origin), &rest, &rest_len)) {
        emit(s, RP_REPLAY_SKIPPED, RP_EFORMAT, "the request URL is not absolute", 0);
        return RP_OK;
    }
    const char *base = NULL;
    if (strcmp(origin, s->origin) == 0) {
        base = r->target;
    } else {
        for (size_t i = 0; i < r->hosts.n && !base; i++) {
            if (strcmp(r->hosts.v[i].from, authority_of(origin)) == 0) {
                base = r->hosts.v[i].to;
            }
        }
    }
    if (!base) {
        char why[RP_ERROR_MSG_MAX];
        int k = snprintf(why, sizeof(why),
                         "another host: %s (not the recording's %s; --map-host %s=URL "
                         "sends it somewhere)",
                         authority_of(origin), authority_of(s->origin), authority_of(origin));
        if (k < 0) {
            why[0] = '\0'; /* a cut message is fine; a failed one says nothing */
        }
        emit(s, RP_REPLAY_SKIPPED, RP_OK, why, 0);
        return RP_OK;
    }
    struct rp_buf url;
    rp_buf_init(&url, RP_MAX_URL_BYTES);
    rc = rp_buf_adds(&url, base, err);
    if (!rc && (rest_len == 0 || rest[0] != '/')) {
        rc = rp_buf_addc(&url, '/', err);
    }
    if (!rc) {
        rc = rp_buf_add(&url, rest, rest_len, err);
    }
    if (rc) {
        rp_buf_cleanup(&url);
        return rp_error_prefix(err, "%s: exchange %llu: URL", s->rec->path,
                               (unsigned long long)s->cur->seq);
    }
    free(lv->req.url);
    lv->req.url = rp_buf_take(&url, NULL);
    if (r->o.run_header) {
        rp_headers_set(&lv->req.headers, r->o.run_header, r->run_id, strlen(r->run_id), NULL);
    }
    if (r->o.dry_run) {
        *out_send = true;
        return RP_OK;
    }
    /* What is reported keeps its {{secret:NAME}} placeholders; only the copy on the wire is
     * filled, so no secret reaches a report or a results file. A request with no placeholder
     * (most of them) goes out as it is reported, without a copy. */
    s->wire_req = &lv->req;
    if (rp_secrets_each(&lv->req, any_secret, NULL)) {
        s->wire_req = &s->wire.req;
        rc = rp_request_copy(&s->wire.req, &lv->req, err);
        if (!rc) {
            rc = rp_secrets_fill(&s->wire.req, r->o.secret, r->o.secret_ud, err);
        }
    }
    if (rc) {
        return rp_error_prefix(err, "%s: exchange %llu", s->rec->path,
                               (unsigned long long)s->cur->seq);
    }
    *out_send = true;
    return RP_OK;
}

static void configure_easy(struct session *s)
{
    CURL *e = s->easy;
    struct rp_request *rq = s->wire_req;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* resets method, body and NOBODY */
    bool is_get = strcmp(rq->method, "GET") == 0;
    bool is_head = strcmp(rq->method, "HEAD") == 0;
    if (is_head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    bool wants_body = rq->body.len > 0 || has_body_method(rq->method);
    if (wants_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body.len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body.len ? (char *)rq->body.data : "");
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (is_get || is_head) ? NULL : rq->method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
    const struct rp_header *cookie = rp_headers_get(&rq->headers, "Cookie", NULL);
    curl_easy_setopt(e, CURLOPT_COOKIE, cookie ? cookie->value : NULL);
}

/* Sends the built request now. */
static rp_code send_now(struct session *s, struct rp_error *err)
{
    rp_buf_reset(&s->body);
    s->body_total = 0;
    s->body_cut = false;
    s->errbuf[0] = '\0';
    configure_easy(s);
    s->live.start_us = rp_now_us();
    s->wire.start_us = s->live.start_us;
    CURLMcode mc = curl_multi_add_handle(s->r->multi, s->easy);
    if (mc != CURLM_OK) {
        return rp_error_set(err, RP_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    }
    s->state = S_SENDING;
    return RP_OK;
}

static void waiting_push(struct rp_replay *r, struct session *s)
{
    if (r->n_waiting == r->waiting_cap) {
        size_t cap = r->waiting_cap ? r->waiting_cap * 2 : 16;
        struct session **v = rp_xcalloc(cap, sizeof(*v));
        for (size_t i = 0; i < r->n_waiting; i++) {
            v[i] = r->waiting[(r->waiting_head + i) % r->waiting_cap];
        }
        free(r->waiting);
        r->waiting = v;
        r->waiting_cap = cap;
        r->waiting_head = 0;
    }
    r->waiting[(r->waiting_head + r->n_waiting) % r->waiting_cap] = s;
    r->n_waiting++;
}

static struct session *waiting_pop(struct rp_replay *r)
{
    if (!r->n_waiting) {
        return NULL;
    }
    struct session *s = r->waiting[r->waiting_head];
    r->waiting_head = (r->waiting_head + 1) % r->waiting_cap;
    r->n_waiting--;
    return s;
}

/* Takes a rate slot if one is free now. */
static bool take_slot(struct rp_replay *r)
{
    if (r->slot_us == 0) {
        return true;
    }
    int64_t now = mono_us();
    if (now < r->next_slot_us) {
        return false;
    }
    /* No saving up: after an idle spell the rate resumes, it does not burst. */
    r->next_slot_us =
        (r->next_slot_us + r->slot_us > now) ? r->next_slot_us + r->slot_us : now + r->slot_us;
    return true;
}

/* Sets s->cur to the session's next recorded exchange, normalised; *out_got false at the end. */
static rp_code next_recorded(struct session *s, bool *out_got, struct rp_error *err)
{
    if (s->rec->cache) {
        *out_got = s->next_cached < s->rec->n_cache;
        if (*out_got) {
            s->cur = s->rec->cache[s->next_cached++];
        }
        return RP_OK;
    }
    /* The set-cookie names of the previous exchange count from this one on, as in prepass. */
    if (s->cur) {
        note_set_cookies(&s->cn, s->cur);
    }
    rp_code rc = rp_reader_next(s->reader, &s->read, out_got, err);
    if (!rc && *out_got) {
        s->cur = &s->read;
        rc = normalise(&s->cn, &s->read.req, err);
    }
    return rc;
}

/*
 * Moves a session forward until it has a request in flight or waiting for a slot, or is done.
 * Errors are input errors that end the whole run.
 */
static rp_code advance(struct session *s, struct rp_error *err)
{
    struct rp_replay *r = s->r;
    while (s->state == S_READY) {
        bool got = false;
        rp_code rc = next_recorded(s, &got, err);
        if (rc) {
            return rc;
        }
        if (!got) {
            s->state = S_DONE;
            r->active--;
            logf_(r, RP_LOG_DEBUG, "%s: done", s->name);
            return RP_OK;
        }
        if (s->stopped) {
            rp_exchange_cleanup(&s->live);
            s->live.seq = s->cur->seq;
            rp_request_copy(&s->live.req, &s->cur->req, NULL);
            emit(s, RP_REPLAY_SKIPPED, RP_OK, s->stop_reason, 0);
            continue;
        }
        bool send = false;
        rc = build_request(s, &send, err);
        if (rc) {
            return rc;
        }
        if (!send) {
            continue;
        }
        if (r->o.dry_run) {
            emit(s, RP_REPLAY_DRY_RUN, RP_OK, NULL, 0);
            continue;
        }
        curl_slist_free_all(s->hdrs);
        s->hdrs = header_list(s, err);
        if (!s->hdrs) {
            return rp_error_prefix(err, "%s: exchange %llu", s->rec->path,
                                   (unsigned long long)s->cur->seq);
        }
        if (r->n_waiting == 0 && take_slot(r)) {
            return send_now(s, err);
        }
        s->state = S_WAITING;
        waiting_push(r, s);
    }
    return RP_OK;
}

/* A transfer finished: record the response (or the failure), report it, move on. */
static rp_code complete(struct session *s, CURLcode cc, struct rp_error *err)
{
    struct rp_replay *r = s->r;
    curl_multi_remove_handle(r->multi, s->easy);
    s->state = S_READY;
    curl_off_t total_us = 0;
    curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    s->live.duration_us = total_us > 0 ? (uint64_t)total_us : 0;
    if (cc != CURLE_OK) {
        rp_code code = stop_code_for(cc);
        char msg[RP_ERROR_MSG_MAX * 2];
        int k = snprintf(msg, sizeof(msg), "%s %s: %s", s->live.req.method, s->live.req.url,
                         s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
        if (k < 0) {
            msg[0] = '\0';
        }
        if (!r->first_failure) {
            r->first_failure = code;
            copy_cut(r->first_failure_msg, sizeof(r->first_failure_msg), msg);
        }
        s->stopped = true;
        snprintf(s->stop_reason, sizeof(s->stop_reason),
                 "not sent: the session stopped at exchange %llu (%s)",
                 (unsigned long long)s->cur->seq, rp_code_str(code));
        emit(s, RP_REPLAY_ERROR, code, msg, 0);
        return advance(s, err);
    }
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    struct rp_response *resp = &s->live.resp;
    s->live.has_response = true;
    resp->status = (unsigned)status;
    size_t blen = 0;
    char *data = rp_buf_take(&s->body, &blen);
    rp_body_take(&resp->body, (unsigned char *)data, blen);
    resp->body.truncated = s->body_cut;
    resp->body.orig_len = s->body_cut ? s->body_total : 0;
    rp_corr_session_observe(s->cs, s->cur->seq, resp);
    emit(s, RP_REPLAY_DONE, RP_OK, NULL, s->live.duration_us);
    return advance(s, err);
}

/* Starts sessions until `concurrency` are active. */
static rp_code fill_sessions(struct rp_replay *r, struct rp_error *err)
{
    while (r->active < r->o.concurrency && r->next_session < r->n_sessions) {
        struct session *s = r->sessions[r->next_session++];
        r->active++;
        rp_code rc = session_start(s, err);
        if (!rc) {
            rc = advance(s, err);
        }
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}

static rp_code drain_waiting(struct rp_replay *r, struct rp_error *err)
{
    while (r->n_waiting && take_slot(r)) {
        struct session *s = waiting_pop(r);
        rp_code rc = send_now(s, err);
        if (rc) {
            return rc;
        }
    }
    return RP_OK;
}

static rp_code loop(struct rp_replay *r, struct rp_error *err)
{
    rp_code rc = fill_sessions(r, err);
    while (!rc && (r->active > 0 || r->next_session < r->n_sessions)) {
        rc = drain_waiting(r, err);
        if (rc) {
            break;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(r->multi, &running);
        if (mc != CURLM_OK) {
            return rp_error_set(err, RP_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
        }
        CURLMsg *msg;
        int left;
        while (!rc && (msg = curl_multi_info_read(r->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            struct session *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            rc = complete(s, msg->data.result, err);
        }
        if (!rc) {
            rc = fill_sessions(r, err);
        }
        if (rc || (r->active == 0 && r->next_session >= r->n_sessions)) {
            break;
        }
        /* Sleep until a socket is ready, libcurl's timer, or the next rate slot. */
        long wait_ms = 1000;
        if (r->n_waiting) {
            int64_t d = r->next_slot_us - mono_us();
            wait_ms = d <= 0 ? 0 : (long)((d + 999) / 1000);
        }
        if (running == 0 && r->n_waiting == 0) {
            continue; /* everything just finished or was built: go round again */
        }
        mc = curl_multi_poll(r->multi, NULL, 0, (int)wait_ms, NULL);
        if (mc != CURLM_OK) {
            return rp_error_set(err, RP_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
        }
    }
    return rc;
}

/* ----- public API --------------------------------------------------------------------------- */

rp_code rp_replay_new(const struct rp_replay_opts *opts, struct rp_replay **out,
                      struct rp_error *err)
{
    if (!opts->target || !opts->on_result) {
        return rp_error_set(err, RP_EUSAGE, "a target URL and a result callback are required");
    }
    char origin[MAX_ORIGIN_BYTES];
    const char *rest;
    size_t rest_len;
    if (!split_url(opts->target, origin, sizeof(origin), &rest, &rest_len) ||
        (strncmp(origin, "http://", 7) != 0 && strncmp(origin, "https://", 8) != 0)) {
        return rp_error_set(err, RP_EUSAGE, "--target %s is not an http:// or https:// URL",
                            opts->target);
    }
    if (opts->rate < 0) {
        return rp_error_set(err, RP_EUSAGE, "--rate must not be negative");
    }
    struct rp_replay *r = rp_xcalloc(1, sizeof(*r));
    r->o = *opts;
    if (!r->o.concurrency) {
        r->o.concurrency = 1;
    }
    if (!r->o.sessions) {
        r->o.sessions = 1;
    }
    if (!r->o.timeout_ms) {
        r->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    }
    if (!r->o.connect_timeout_ms) {
        r->o.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    }
    if (!r->o.secret) {
        r->o.secret = rp_secret_from_env;
    }
    if (opts->run_id) {
        snprintf(r->run_id, sizeof(r->run_id), "%s", opts->run_id);
    } else {
        rp_run_id_make(r->run_id, 8);
    }
    /* The target keeps its path prefix; the request's own path follows it. */
    size_t tlen = strlen(opts->target);
    size_t keep = (size_t)(strcspn(opts->target, "?#"));
    keep = keep < tlen ? keep : tlen;
    while (keep > 0 && opts->target[keep - 1] == '/') {
        keep--;
    }
    r->target = rp_xstrndup(opts->target, keep);
    if (r->o.rate > 0) {
        r->slot_us = (int64_t)(1e6 / r->o.rate);
        if (r->slot_us < 1) {
            r->slot_us = 1;
        }
    }
    *out = r;
    return RP_OK;
}

void rp_replay_free(struct rp_replay *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->n_sessions; i++) {
        session_free(r->sessions[i]);
    }
    free(r->sessions);
    for (size_t i = 0; i < r->n_recs; i++) {
        struct recording *rec = &r->recs[i];
        free(rec->path);
        free(rec->name);
        rp_rec_meta_cleanup(&rec->meta);
        rp_correlator_free(rec->corr);
        free(rec->origin);
        cache_free(rec);
    }
    free(r->recs);
    if (r->multi) {
        curl_multi_cleanup(r->multi);
    }
    pairs_cleanup(&r->tenants);
    pairs_cleanup(&r->hosts);
    pairs_cleanup(&r->binds);
    free(r->waiting);
    free(r->target);
    free(r);
}

void rp_replay_add_recording(struct rp_replay *r, const char *path)
{
    r->recs = rp_xreallocarray(r->recs, r->n_recs + 1, sizeof(*r->recs));
    struct recording *rec = &r->recs[r->n_recs++];
    memset(rec, 0, sizeof(*rec));
    rec->path = rp_xstrdup(path);
    rp_rec_meta_init(&rec->meta);
}

rp_code rp_replay_tenant(struct rp_replay *r, const char *from, const char *to,
                         struct rp_error *err)
{
    if (!from[0]) {
        return rp_error_set(err, RP_EUSAGE, "--tenant needs FROM=TO with a non-empty FROM");
    }
    pairs_add(&r->tenants, from, to);
    return RP_OK;
}

rp_code rp_replay_map_host(struct rp_replay *r, const char *from, const char *to,
                           struct rp_error *err)
{
    char origin[MAX_ORIGIN_BYTES];
    const char *rest;
    size_t rest_len;
    if (!from[0] || !split_url(to, origin, sizeof(origin), &rest, &rest_len)) {
        return rp_error_set(err, RP_EUSAGE, "--map-host %s=%s: want HOST[:PORT]=URL", from, to);
    }
    /* Like the target, a mapped base keeps its path prefix without a trailing slash. */
    size_t keep = strcspn(to, "?#");
    while (keep > 0 && to[keep - 1] == '/') {
        keep--;
    }
    char *base = rp_xstrndup(to, keep);
    char *lower = rp_xstrdup(from);
    for (char *p = lower; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p + 32);
        }
    }
    pairs_add(&r->hosts, lower, base);
    free(base);
    free(lower);
    return RP_OK;
}

rp_code rp_replay_bind(struct rp_replay *r, const char *name, const char *jsonpath,
                       struct rp_error *err)
{
    /* Checked now, so a bad path is a usage error before anything is read. */
    struct rp_correlator *probe = rp_correlator_new();
    rp_code rc = rp_correlator_bind(probe, name, jsonpath, err);
    rp_correlator_free(probe);
    if (rc) {
        return rc;
    }
    pairs_add(&r->binds, name, jsonpath);
    return RP_OK;
}

const char *rp_replay_run_id(const struct rp_replay *r)
{
    return r->run_id;
}

rp_code rp_replay_run(struct rp_replay *r, struct rp_error *err)
{
    if (r->n_recs == 0) {
        return rp_error_set(err, RP_EUSAGE, "no recording to replay");
    }
    /* Everything that can be wrong with the input is found before the first request. */
    struct secret_check sc = {.lookup = r->o.secret, .ud = r->o.secret_ud};
    for (size_t i = 0; i < r->n_recs; i++) {
        struct recording *rec = &r->recs[i];
        rec->corr = rp_correlator_new();
        for (size_t b = 0; b < r->binds.n; b++) {
            rp_code rc = rp_correlator_bind(rec->corr, r->binds.v[b].from, r->binds.v[b].to, err);
            if (rc) {
                return rc;
            }
        }
        rp_code rc =
            prepass(rec, r->o.log, r->o.log_ud, r->o.dry_run ? NULL : &sc, !r->o.stream, err);
        if (rc) {
            return rc;
        }
        const char *nm = rec->meta.name && rec->meta.name[0] ? rec->meta.name : rec->path;
        rec->name = rp_xstrdup(nm);
        if (rec->cache) {
            logf_(r, RP_LOG_DEBUG, "%s: %zu correlations, origin %s, held in memory (%zu KiB)",
                  rec->path, rp_correlator_count(rec->corr), rec->origin, rec->cache_bytes / 1024);
        } else {
            logf_(r, RP_LOG_DEBUG, "%s: %zu correlations, origin %s, streamed by each session",
                  rec->path, rp_correlator_count(rec->corr), rec->origin);
        }
    }

    r->multi = curl_multi_init();
    if (!r->multi) {
        return rp_error_set(err, RP_EINTERNAL, "cannot create a libcurl multi handle");
    }
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->o.concurrency);
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)r->o.concurrency + 4);

    r->n_sessions = r->n_recs * r->o.sessions;
    r->sessions = rp_xcalloc(r->n_sessions, sizeof(*r->sessions));
    unsigned no = 0;
    for (size_t k = 0; k < r->o.sessions; k++) {
        for (size_t i = 0; i < r->n_recs; i++) {
            struct session *s = rp_xcalloc(1, sizeof(*s));
            s->r = r;
            s->rec = &r->recs[i];
            s->no = ++no;
            snprintf(s->name, sizeof(s->name), "%s#%u", s->rec->name, s->no);
            rp_exchange_init(&s->read);
            rp_exchange_init(&s->live);
            rp_exchange_init(&s->wire);
            rp_buf_init(&s->body, RP_MAX_BODY_RECORDED);
            r->sessions[k * r->n_recs + i] = s;
        }
    }
    rp_code rc = loop(r, err);
    if (rc) {
        return rc;
    }
    if (r->first_failure) {
        return rp_error_set(err, r->first_failure, "%s", r->first_failure_msg);
    }
    return RP_OK;
}
