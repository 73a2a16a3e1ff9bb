/* SPDX-License-Identifier: MIT */
/*
 * The replay's in-memory cache: the exchanges of a recording that fits RP_REPLAY_CACHE_BYTES,
 * each packed in one block and shared by all its sessions; and the reading of the next recorded
 * exchange, from that cache or, for longer recordings and --stream, from the session's own
 * streaming reader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay/internal.h"

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
    ok = ok && ex->n_vars <= RP_MAX_VARS_PER_EXCHANGE &&
         size_add(&n, ex->n_vars * sizeof(struct rp_var_decl));
    for (size_t i = 0; i < ex->n_vars && ok; i++) {
        ok = size_str(&n, ex->vars[i].name, strlen(ex->vars[i].name)) &&
             size_str(&n, ex->vars[i].from, strlen(ex->vars[i].from));
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
    /* The variable declarations follow, pointer-aligned as the header arrays are. */
    struct rp_var_decl *vars = (struct rp_var_decl *)(void *)(pk.base + pk.off);
    pk.off += ex->n_vars * sizeof(struct rp_var_decl);
    p->vars = ex->n_vars ? vars : NULL;
    for (size_t i = 0; i < ex->n_vars; i++) {
        vars[i].name = NULL;
        vars[i].from = NULL;
    }
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
    for (size_t i = 0; i < ex->n_vars; i++) {
        vars[i].name = pack_cstr(&pk, ex->vars[i].name);
        vars[i].from = pack_cstr(&pk, ex->vars[i].from);
    }
    return p;
}

void rp__replay_cache_free(struct rp__replay_rec *rec)
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
void rp__replay_cache_keep(struct rp__replay_rec *rec, const struct rp_exchange *ex)
{
    if (rec->cache_full) {
        return;
    }
    size_t size = 0;
    bool fits = pack_size(ex, &size) && size <= RP_REPLAY_CACHE_BYTES;
    /* What the block costs the heap: malloc's header and rounding, and its slot in the array. */
    size_t fp = fits ? ((size + 8 + 15) & ~(size_t)15) + sizeof(*rec->cache) : 0;
    if (!fits || rec->cache_bytes + fp > RP_REPLAY_CACHE_BYTES) {
        rp__replay_cache_free(rec);
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

/* Sets s->cur to the session's next recorded exchange, normalised; *out_got false at the end. */
rp_code rp__replay_next_recorded(struct rp__replay_session *s, bool *out_got, struct rp_error *err)
{
    if (s->in_teardown) {
        rp__replay_teardown_next(s, out_got);
        return RP_OK;
    }
    if (s->rec->cache) {
        *out_got = s->next_cached < s->rec->n_cache;
        if (*out_got) {
            s->cur = s->rec->cache[s->next_cached++];
            s->n_read++;
        }
        return RP_OK;
    }
    /* The set-cookie names of the previous exchange count from this one on, as in prepass. */
    if (s->cur) {
        rp__replay_note_set_cookies(&s->cn, s->cur);
    }
    rp_code rc = rp_reader_next(s->reader, &s->read, out_got, err);
    if (!rc && *out_got) {
        s->cur = &s->read;
        s->n_read++;
        rc = rp__replay_normalise(&s->cn, &s->read.req, err);
    }
    return rc;
}
