/* SPDX-License-Identifier: MIT */
/*
 * The demo shop's in-memory model: tenants (each with one user and the seeded catalogue),
 * sessions and orders. One mutex guards all of it. Order ids come from one counter shared by
 * every tenant, so they are small server-assigned integers that a replay has to carry over.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "demo.h"

#define SALT_BYTES  16
#define HASH_ROUNDS 1000

static const struct demo_product catalogue[] = {
    {1, "Espresso", 250},
    {2, "Grinder", 12000},
    {3, "Beans 1kg", 1890},
};

struct tenant {
    uint64_t id; /* index + 1 */
    char name[DEMO_MAX_TENANT_NAME + 1];
    time_t created_at;
    uint64_t user_id;
    char *email;
    uint8_t salt[SALT_BYTES];
    uint8_t hash[32];
    uint64_t *order_ids; /* ascending */
    size_t n_orders;
    size_t cap_orders;
};

struct order_rec {
    uint64_t tenant_id;
    bool paid;
    time_t created_at;
    time_t paid_at;
    size_t n_items;
    struct demo_item *items;
};

struct session {
    char token[DEMO_TOKEN_HEX + 1];
    char csrf[DEMO_TOKEN_HEX + 1];
    uint64_t tenant_id;
    uint64_t user_id;
};

struct demo_store {
    pthread_mutex_t lock;
    struct tenant *tenants;
    size_t n_tenants;
    size_t cap_tenants;
    struct order_rec *orders; /* order id = index + 1 */
    size_t n_orders;
    size_t cap_orders;
    struct session *sessions; /* oldest first */
    size_t n_sessions;
    uint64_t next_user_id;
};

const struct demo_product *demo_products(size_t *out_n)
{
    *out_n = sizeof(catalogue) / sizeof(catalogue[0]);
    return catalogue;
}

static const struct demo_product *find_product(uint64_t id)
{
    for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++) {
        if (catalogue[i].id == id) {
            return &catalogue[i];
        }
    }
    return NULL;
}

struct demo_store *demo_store_new(void)
{
    struct demo_store *s = demo_xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->sessions = demo_xcalloc(DEMO_MAX_SESSIONS, sizeof(*s->sessions));
    s->next_user_id = 1;
    return s;
}

void demo_store_free(struct demo_store *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_tenants; i++) {
        free(s->tenants[i].email);
        free(s->tenants[i].order_ids);
    }
    free(s->tenants);
    for (size_t i = 0; i < s->n_orders; i++) {
        free(s->orders[i].items);
    }
    free(s->orders);
    free(s->sessions);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* PBKDF2-HMAC-SHA256 from OpenSSL over salt and password: a demo need not be slow to log in
 * to, but it keeps plain passwords out of memory all the same. */
static void hash_password(const uint8_t salt[SALT_BYTES], const char *password, uint8_t out[32])
{
    size_t plen = strnlen(password, DEMO_MAX_PASSWORD);
    PKCS5_PBKDF2_HMAC(password, (int)plen, salt, SALT_BYTES, HASH_ROUNDS, EVP_sha256(), 32, out);
}

static struct tenant *find_tenant(struct demo_store *s, const char *name)
{
    for (size_t i = 0; i < s->n_tenants; i++) {
        if (strcmp(s->tenants[i].name, name) == 0) {
            return &s->tenants[i];
        }
    }
    return NULL;
}

static struct session *find_session(struct demo_store *s, const char *token)
{
    if (!token || strlen(token) != DEMO_TOKEN_HEX) {
        return NULL;
    }
    for (size_t i = 0; i < s->n_sessions; i++) {
        if (demo_equal_ct(s->sessions[i].token, token, DEMO_TOKEN_HEX)) {
            return &s->sessions[i];
        }
    }
    return NULL;
}

static bool random_token(char out[DEMO_TOKEN_HEX + 1])
{
    uint8_t raw[DEMO_TOKEN_HEX / 2];
    if (!demo_random_bytes(raw, sizeof(raw))) {
        return false;
    }
    demo_hex(raw, sizeof(raw), out);
    return true;
}

/* ------------------------------------------------------------------------------------------ */

enum demo_status demo_store_signup(struct demo_store *s, const char *tenant, const char *email,
                                   const char *password, struct demo_signup *out)
{
    uint8_t salt[SALT_BYTES];
    if (!demo_random_bytes(salt, sizeof(salt))) {
        return DEMO_INTERNAL;
    }
    /* Hashing takes a moment; do it before taking the lock. */
    uint8_t hash[32];
    hash_password(salt, password, hash);

    enum demo_status st = DEMO_FULL;
    pthread_mutex_lock(&s->lock);
    if (find_tenant(s, tenant)) {
        st = DEMO_EXISTS;
        goto out;
    }
    if (s->n_tenants >= DEMO_MAX_TENANTS) {
        goto out;
    }
    if (s->n_tenants == s->cap_tenants) {
        s->cap_tenants = s->cap_tenants ? s->cap_tenants * 2 : 16;
        s->tenants = demo_xrealloc(s->tenants, s->cap_tenants * sizeof(*s->tenants));
    }
    struct tenant *t = &s->tenants[s->n_tenants];
    memset(t, 0, sizeof(*t));
    t->id = s->n_tenants + 1;
    snprintf(t->name, sizeof(t->name), "%s", tenant);
    t->created_at = time(NULL);
    t->user_id = s->next_user_id++;
    t->email = demo_xstrndup(email, DEMO_MAX_EMAIL);
    memcpy(t->salt, salt, sizeof(salt));
    memcpy(t->hash, hash, sizeof(hash));
    s->n_tenants++;
    out->tenant_id = t->id;
    out->user_id = t->user_id;
    out->created_at = t->created_at;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum demo_status demo_store_login(struct demo_store *s, const char *tenant, const char *email,
                                  const char *password, char out_token[DEMO_TOKEN_HEX + 1],
                                  char out_csrf[DEMO_TOKEN_HEX + 1], uint64_t *out_user_id)
{
    struct session sess;
    memset(&sess, 0, sizeof(sess));
    if (!random_token(sess.token) || !random_token(sess.csrf)) {
        return DEMO_INTERNAL;
    }

    enum demo_status st = DEMO_BAD_CREDENTIALS;
    pthread_mutex_lock(&s->lock);
    struct tenant *t = find_tenant(s, tenant);
    if (!t || strcmp(t->email, email) != 0) {
        goto out;
    }
    uint8_t hash[32];
    hash_password(t->salt, password, hash);
    if (!demo_equal_ct(hash, t->hash, sizeof(hash))) {
        goto out;
    }
    /* At the cap the oldest session goes, so logging in always works. */
    if (s->n_sessions == DEMO_MAX_SESSIONS) {
        memmove(&s->sessions[0], &s->sessions[1], (s->n_sessions - 1) * sizeof(sess));
        s->n_sessions--;
    }
    sess.tenant_id = t->id;
    sess.user_id = t->user_id;
    s->sessions[s->n_sessions++] = sess;
    memcpy(out_token, sess.token, sizeof(sess.token));
    memcpy(out_csrf, sess.csrf, sizeof(sess.csrf));
    *out_user_id = t->user_id;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum demo_status demo_store_verify(struct demo_store *s, const char *tenant, const char *email,
                                   const char *password, uint64_t *out_tenant_id,
                                   uint64_t *out_user_id)
{
    enum demo_status st = DEMO_BAD_CREDENTIALS;
    pthread_mutex_lock(&s->lock);
    struct tenant *t = find_tenant(s, tenant);
    if (t && strcmp(t->email, email) == 0) {
        uint8_t hash[32];
        hash_password(t->salt, password, hash);
        if (demo_equal_ct(hash, t->hash, sizeof(hash))) {
            *out_tenant_id = t->id;
            *out_user_id = t->user_id;
            st = DEMO_OK;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

void demo_store_logout(struct demo_store *s, const char *token)
{
    pthread_mutex_lock(&s->lock);
    struct session *sess = find_session(s, token);
    if (sess) {
        size_t i = (size_t)(sess - s->sessions);
        memmove(&s->sessions[i], &s->sessions[i + 1],
                (s->n_sessions - i - 1) * sizeof(*s->sessions));
        s->n_sessions--;
    }
    pthread_mutex_unlock(&s->lock);
}

enum demo_status demo_store_auth(struct demo_store *s, const char *token, const char *tenant,
                                 struct demo_session *out)
{
    enum demo_status st = DEMO_NOT_LOGGED_IN;
    pthread_mutex_lock(&s->lock);
    struct session *sess = find_session(s, token);
    if (!sess) {
        goto out;
    }
    /* Another tenant's session and an unknown tenant look the same from outside. */
    struct tenant *t = find_tenant(s, tenant);
    if (!t || t->id != sess->tenant_id) {
        st = DEMO_NOT_FOUND;
        goto out;
    }
    memcpy(out->csrf, sess->csrf, sizeof(out->csrf));
    out->tenant_id = sess->tenant_id;
    out->user_id = sess->user_id;
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Orders. */

static void copy_order(const struct order_rec *r, uint64_t id, struct demo_order *out)
{
    out->id = id;
    out->tenant_id = r->tenant_id;
    out->paid = r->paid;
    out->created_at = r->created_at;
    out->paid_at = r->paid_at;
    out->n_items = r->n_items;
    out->items = demo_xcalloc(r->n_items, sizeof(*out->items));
    memcpy(out->items, r->items, r->n_items * sizeof(*out->items));
}

/* The order with this id if it belongs to the tenant; the lock is held. */
static struct order_rec *tenant_order(struct demo_store *s, uint64_t tenant_id, uint64_t id)
{
    if (id == 0 || id > s->n_orders || s->orders[id - 1].tenant_id != tenant_id) {
        return NULL;
    }
    return &s->orders[id - 1];
}

enum demo_status demo_store_order_create(struct demo_store *s, uint64_t tenant_id,
                                         const struct demo_line *lines, size_t n,
                                         struct demo_order *out)
{
    if (n == 0 || n > DEMO_MAX_ITEMS) {
        return DEMO_BAD_INPUT;
    }
    struct demo_item *items = demo_xcalloc(n, sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        const struct demo_product *p = find_product(lines[i].product_id);
        if (!p) {
            free(items);
            return DEMO_BAD_INPUT;
        }
        items[i].product_id = p->id;
        items[i].name = p->name;
        items[i].price_cents = p->price_cents;
        items[i].quantity = lines[i].quantity;
    }

    enum demo_status st = DEMO_FULL;
    pthread_mutex_lock(&s->lock);
    if (tenant_id == 0 || tenant_id > s->n_tenants) {
        st = DEMO_NOT_FOUND;
        goto out;
    }
    if (s->n_orders >= DEMO_MAX_ORDERS) {
        goto out;
    }
    struct tenant *t = &s->tenants[tenant_id - 1];
    if (s->n_orders == s->cap_orders) {
        s->cap_orders = s->cap_orders ? s->cap_orders * 2 : 64;
        s->orders = demo_xrealloc(s->orders, s->cap_orders * sizeof(*s->orders));
    }
    if (t->n_orders == t->cap_orders) {
        t->cap_orders = t->cap_orders ? t->cap_orders * 2 : 8;
        t->order_ids = demo_xrealloc(t->order_ids, t->cap_orders * sizeof(*t->order_ids));
    }
    struct order_rec *r = &s->orders[s->n_orders];
    memset(r, 0, sizeof(*r));
    r->tenant_id = tenant_id;
    r->created_at = time(NULL);
    r->n_items = n;
    r->items = items;
    items = NULL;
    uint64_t id = ++s->n_orders;
    t->order_ids[t->n_orders++] = id;
    copy_order(r, id, out);
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&s->lock);
    free(items);
    return st;
}

enum demo_status demo_store_order_get(struct demo_store *s, uint64_t tenant_id, uint64_t id,
                                      struct demo_order *out)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&s->lock);
    struct order_rec *r = tenant_order(s, tenant_id, id);
    if (r) {
        copy_order(r, id, out);
        st = DEMO_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* --leak: the order with this id, whatever its tenant (the isolation bug probe must catch). */
enum demo_status demo_store_order_get_any(struct demo_store *s, uint64_t id, struct demo_order *out)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&s->lock);
    if (id != 0 && id <= s->n_orders) {
        copy_order(&s->orders[id - 1], id, out);
        st = DEMO_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum demo_status demo_store_order_pay(struct demo_store *s, uint64_t tenant_id, uint64_t id,
                                      struct demo_order *out)
{
    enum demo_status st = DEMO_NOT_FOUND;
    pthread_mutex_lock(&s->lock);
    struct order_rec *r = tenant_order(s, tenant_id, id);
    if (!r) {
        goto out;
    }
    if (r->paid) {
        st = DEMO_CONFLICT;
        goto out;
    }
    r->paid = true;
    r->paid_at = time(NULL);
    copy_order(r, id, out);
    st = DEMO_OK;
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

void demo_store_order_list(struct demo_store *s, uint64_t tenant_id, struct demo_order **out,
                           size_t *out_n)
{
    pthread_mutex_lock(&s->lock);
    struct demo_order *v = NULL;
    size_t n = 0;
    if (tenant_id >= 1 && tenant_id <= s->n_tenants) {
        struct tenant *t = &s->tenants[tenant_id - 1];
        n = t->n_orders;
        v = demo_xcalloc(n, sizeof(*v));
        for (size_t i = 0; i < n; i++) {
            copy_order(&s->orders[t->order_ids[i] - 1], t->order_ids[i], &v[i]);
        }
    }
    pthread_mutex_unlock(&s->lock);
    *out = v;
    *out_n = n;
}

void demo_order_cleanup(struct demo_order *o)
{
    free(o->items);
    memset(o, 0, sizeof(*o));
}

void demo_orders_free(struct demo_order *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        demo_order_cleanup(&v[i]);
    }
    free(v);
}
