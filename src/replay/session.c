/* SPDX-License-Identifier: MIT */
/*
 * One replay session: its state, its cookie handling, and the building of each live request
 * from the recorded one (tenants rewritten, correlated values and secrets applied, the run
 * header added, the recorded origin replaced by the target or a mapped host) into libcurl's
 * easy handle. The engine (engine.c) decides when a built request goes out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"
#include "text_int.h"
#include "url_int.h"

/* ----- URLs -------------------------------------------------------------------------------- */

/*
 * Splits an absolute URL into its origin (scheme://authority, lower-cased into origin) and
 * the rest (path and query, fragment dropped) returned as a pointer into url with its length.
 * Returns false when url is not absolute.
 */
bool rp__replay_split_url(const char *url, char *origin, size_t origin_sz, const char **rest,
                          size_t *rest_len)
{
    struct rp__url u;
    rp__url_split(url, strlen(url), &u);
    /* The origin ends where the path starts; an absolute URL has a scheme and an authority. */
    size_t olen = u.path_off;
    if (u.scheme_len == 0 || olen == u.scheme_len + 3 || olen >= origin_sz) {
        return false;
    }
    for (size_t i = 0; i < olen; i++) {
        origin[i] = rp__ascii_lower(url[i]);
    }
    origin[olen] = '\0';
    *rest = url + olen;
    *rest_len = u.path_len + (u.has_query ? 1 + u.query_len : 0);
    return true;
}

/* The authority of an origin from rp__replay_split_url ("host:port" of "https://host:port"). */
static const char *authority_of(const char *origin)
{
    struct rp__url u;
    rp__url_split(origin, strlen(origin), &u);
    return u.has_authority ? origin + u.scheme_len + 3 : origin;
}

/* ----- cookies ------------------------------------------------------------------------------ */

static bool has_name(const struct rp__replay_cookie_names *cn, const char *name, size_t len)
{
    for (size_t i = 0; i < cn->n; i++) {
        if (strlen(cn->v[i]) == len && memcmp(cn->v[i], name, len) == 0) {
            return true;
        }
    }
    return false;
}

void rp__replay_cookie_names_cleanup(struct rp__replay_cookie_names *cn)
{
    for (size_t i = 0; i < cn->n; i++) {
        free(cn->v[i]);
    }
    free(cn->v);
    cn->v = NULL;
    cn->n = 0;
}

/* Remembers the names of the cookies a recorded response sets. */
void rp__replay_note_set_cookies(struct rp__replay_cookie_names *cn, const struct rp_exchange *ex)
{
    if (!ex->has_response) {
        return;
    }
    size_t at = 0;
    const struct rp_header *h;
    while ((h = rp_headers_get(&ex->resp.headers, "Set-Cookie", &at)) != NULL) {
        /* The cookie's name is its first pair's; a first pair with no '=' sets nothing. */
        size_t pos = 0;
        struct rp__pair pr;
        if (!rp__cookie_next(h->value, h->value_len, &pos, &pr) || pr.name_len == 0 ||
            pr.value_off == pr.name_off + pr.name_len || cn->n >= RP__REPLAY_MAX_SET_COOKIE_NAMES) {
            continue;
        }
        const char *v = h->value + pr.name_off;
        size_t nlen = pr.name_len;
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
static char *take_cookies(const struct rp__replay_cookie_names *cn, struct rp_headers *h)
{
    struct rp_buf out;
    rp_buf_init(&out, RP_MAX_HEADER_BYTES);
    size_t at = 0;
    const struct rp_header *c;
    while ((c = rp_headers_get(h, "Cookie", &at)) != NULL) {
        size_t pos = 0;
        struct rp__pair pr;
        while (rp__cookie_next(c->value, c->value_len, &pos, &pr)) {
            if (!has_name(cn, c->value + pr.name_off, pr.name_len)) {
                if (out.len) {
                    rp_ignore(rp_buf_add(&out, "; ", 2, NULL));
                }
                /* The pair as it came, from its name to the end of its value. */
                rp_ignore(rp_buf_add(&out, c->value + pr.name_off,
                                     pr.value_off + pr.value_len - pr.name_off, NULL));
            }
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
rp_code rp__replay_normalise(const struct rp__replay_cookie_names *cn, struct rp_request *req,
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

/* ----- sessions ---------------------------------------------------------------------------- */

void rp__replay_emit(struct rp__replay_session *s, enum rp_replay_status st, rp_code code,
                     const char *msg, uint64_t latency_us)
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
        .teardown = s->in_teardown,
        .attempt = s->attempt,
        .tenants = s->tenants,
    };
    if (s->in_teardown) {
        ev.recording = s->rec->td->path;
    }
    ev.step = rp__replay_step_of(s);
    s->r->o.on_result(s->r->o.ud, &ev);
}

struct rp__replay_session *rp__replay_session_new(struct rp_replay *r, struct rp__replay_rec *rec,
                                                  unsigned no)
{
    struct rp__replay_session *s = rp_xcalloc(1, sizeof(*s));
    s->r = r;
    s->rec = rec;
    s->no = no;
    snprintf(s->name, sizeof(s->name), "%s#%u", s->rec->name, s->no);
    rp_exchange_init(&s->read);
    rp_exchange_init(&s->live);
    rp_exchange_init(&s->wire);
    rp_buf_init(&s->body, RP_MAX_BODY_RECORDED);
    return s;
}

void rp__replay_session_free(struct rp__replay_session *s)
{
    if (!s) {
        return;
    }
    if (s->easy) {
        if (s->state == RP__REPLAY_SENDING) {
            curl_multi_remove_handle(s->r->multi, s->easy);
        }
        curl_easy_cleanup(s->easy);
    }
    curl_slist_free_all(s->hdrs);
    rp_buf_cleanup(&s->body);
    rp_exchange_cleanup(&s->read);
    rp__replay_cookie_names_cleanup(&s->cn);
    rp_exchange_cleanup(&s->live);
    rp_exchange_cleanup(&s->wire);
    rp_reader_free(s->reader);
    rp_rewriter_free(s->rw);
    rp_corr_session_free(s->cs);
    rp_var_table_free(s->vt);
    free(s->origin);
    free(s->tenants);
    free(s);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct rp__replay_session *s = ud;
    size_t len = size * n;
    s->body_total += len;
    if (!s->body_cut) {
        size_t room = s->body.max - s->body.len;
        size_t take = len < room ? len : room;
        rp_ignore(rp_buf_add(&s->body, p, take, NULL));
        if (take < len) {
            s->body_cut = true;
        }
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct rp__replay_session *s = ud;
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
        rp_ignore(
            rp_headers_add(&resp->headers, p, (size_t)(colon - p), v, (size_t)(p + len - v), NULL));
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

struct curl_slist *rp__replay_header_list(struct rp__replay_session *s, struct rp_error *err)
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

/* The tenant rules as reports keep them: "FROM=TO" lines (new memory). */
static char *tenant_lines(const char *const *from, const char *const *to, size_t n)
{
    struct rp_buf b;
    rp_buf_init(&b, n * (RP_MAX_TENANT_BYTES + RP_MAX_TEMPLATE_BYTES + 2));
    for (size_t i = 0; i < n; i++) {
        rp_ignore(rp_buf_addf(&b, NULL, "%s%s=%s", i ? "\n" : "", from[i], to[i]));
    }
    return rp_buf_take(&b, NULL);
}

/* Opens a session: its reader, its tenant rules, its correlation state, its easy handle. */
/* The session's tenant rewrite, for the correlation session (rp_corr_rewrite_fn). */
static char *rewrite_text(void *ud, const char *text, size_t n, size_t *out_len)
{
    return rp_rewrite_text(ud, text, n, out_len);
}

rp_code rp__replay_session_start(struct rp__replay_session *s, struct rp_error *err)
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
    /* A retry's tenant is new: "3-r1" for session 3's first retry, where {session} stands. */
    char session_no[32];
    if (s->attempt) {
        snprintf(session_no, sizeof(session_no), "%u-r%u", s->no, s->attempt);
    } else {
        snprintf(session_no, sizeof(session_no), "%u", s->no);
    }
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
        const char *tmpl = r->tenants.n           ? r->tenants.v[i].to
                           : r->o.tenant_template ? r->o.tenant_template
                                                  : RP_REPLAY_TENANT_TEMPLATE;
        ctx.tenant = from[i];
        rc = rp_template_expand(tmpl, &ctx, &to[i], err);
        if (!rc) {
            rc = rp_rewriter_add(s->rw, from[i], to[i], err);
        }
    }
    for (size_t i = 0; i < n && !rc; i++) {
        rp__replay_log(r, RP_LOG_INFO, "%s: tenant %s -> %s", s->name, from[i], to[i]);
    }
    if (!rc && n) {
        s->tenants = tenant_lines(from, (const char *const *)to, n);
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
    rp_corr_session_rewrite(s->cs, rewrite_text, s->rw);
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
    s->state = RP__REPLAY_READY;
    rp__replay_log(r, RP_LOG_DEBUG, "%s: started (%s)", s->name, s->rec->path);
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
rp_code rp__replay_build_request(struct rp__replay_session *s, bool *out_send, struct rp_error *err)
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

    size_t missing = 0;
    rp__replay_only_cookie(r, &lv->req);
    rc = rp_rewrite_request(s->rw, &lv->req, NULL, err);
    if (!rc) {
        rc = rp_corr_session_apply(s->cs, rp__replay_seq(s), &lv->req, &missing, err);
    }
    if (rc) {
        return rc;
    }
    /* Where does it go? The recording's origin goes to the target; mapped hosts to theirs. */
    char origin[RP__REPLAY_MAX_ORIGIN_BYTES];
    const char *rest;
    size_t rest_len;
    if (!rp__replay_split_url(lv->req.url, origin, sizeof(origin), &rest, &rest_len)) {
        rp__replay_emit(s, RP_REPLAY_SKIPPED, RP_EFORMAT, "the request URL is not absolute", 0);
        return RP_OK;
    }
    const char *base = NULL;
    if (strcmp(origin, s->origin) == 0) {
        base = r->target;
    } else {
        const char *auth = authority_of(origin);
        for (size_t i = 0; i < r->hosts.n && !base; i++) {
            if (strcmp(r->hosts.v[i].from, auth) == 0) {
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
        rp__replay_emit(s, RP_REPLAY_SKIPPED, RP_OK, why, 0);
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
    /* libcurl sends the Host of the URL; what is reported (dry run, results) says the same. */
    char live_origin[RP__REPLAY_MAX_ORIGIN_BYTES];
    if (rp_headers_get(&lv->req.headers, "Host", NULL) &&
        rp__replay_split_url(lv->req.url, live_origin, sizeof(live_origin), &rest, &rest_len)) {
        const char *host = authority_of(live_origin);
        rp_ignore(rp_headers_set(&lv->req.headers, "Host", host, strlen(host), NULL));
    }
    if (r->o.run_header) {
        rp_ignore(
            rp_headers_set(&lv->req.headers, r->o.run_header, r->run_id, strlen(r->run_id), NULL));
    }
    /* Never a recorded server value by accident (safety.c): reported UNSAFE, not sent. */
    if (rp__replay_refuse(s, missing)) {
        return RP_OK;
    }
    if (r->o.dry_run) {
        *out_send = true;
        return RP_OK;
    }
    /* What is reported keeps its {{secret:NAME}} placeholders; only the copy on the wire is
     * filled, so no secret reaches a report or a results file. A request with no placeholder
     * (most of them) goes out as it is reported, without a copy. */
    s->wire_req = &lv->req;
    bool vars = rp_vars_each(&lv->req, any_secret, NULL) != 0;
    if (vars || rp_secrets_each(&lv->req, any_secret, NULL)) {
        s->wire_req = &s->wire.req;
        rc = rp_request_copy(&s->wire.req, &lv->req, err);
        if (!rc) {
            rc = rp_secrets_fill(&s->wire.req, r->o.secret, r->o.secret_ud, err);
        }
        if (!rc && vars) {
            rc = rp__replay_vars_fill(s, &s->wire.req, err);
        }
        /* --step N --from: a variable's value from a results file is its scrubbed placeholder,
         * filled from the environment as any secret. */
        if (!rc && vars && r->only) {
            rc = rp_secrets_fill(&s->wire.req, r->o.secret, r->o.secret_ud, err);
        }
    }
    if (rc == RP_EMISSING) {
        return RP_OK; /* reported, and the session stopped: nothing is sent */
    }
    if (rc) {
        return rp_error_prefix(err, "%s: exchange %llu", s->rec->path,
                               (unsigned long long)s->cur->seq);
    }
    *out_send = true;
    return RP_OK;
}

void rp__replay_configure_easy(struct rp__replay_session *s)
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
