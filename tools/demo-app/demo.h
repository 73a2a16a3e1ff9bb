/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of reprise-demo, the multi-tenant demo shop: the caps, the
 * in-memory store (store.c), the request and reply that the HTTP glue (demo.c) hands to the
 * handlers (api.c, pages.c), and the small helpers in util.c.
 */
#ifndef REPRISE_DEMO_H
#define REPRISE_DEMO_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------ */
/* Caps. Everything that grows from a request is bounded by one of these. */

#define DEMO_MAX_BODY        (64 * 1024) /* request body; 413 beyond */
#define DEMO_MAX_TENANTS     10000       /* 503 beyond */
#define DEMO_MAX_ORDERS      100000      /* orders across all tenants; 503 beyond */
#define DEMO_MAX_ITEMS       100         /* items per order; 400 beyond */
#define DEMO_MAX_QUANTITY    1000        /* per item */
#define DEMO_MAX_SESSIONS    10000       /* the oldest session is dropped beyond */
#define DEMO_MAX_TENANT_NAME 63
#define DEMO_MAX_EMAIL       254
#define DEMO_MAX_PASSWORD    1024
#define DEMO_MAX_PAY_METHOD  32
#define DEMO_MAX_PAGE        (256 * 1024) /* a generated HTML page */
#define DEMO_TOKEN_HEX       32           /* session and CSRF tokens: 16 random bytes as hex */

/* ------------------------------------------------------------------------------------------ */
/* Helpers (util.c). */

/* Allocation that prints one line and aborts on out of memory (STYLE rule 14). */
void *demo_xmalloc(size_t n);
void *demo_xcalloc(size_t n, size_t size);
void *demo_xrealloc(void *p, size_t n);
char *demo_xstrndup(const char *s, size_t n);

/* Fills buf with n bytes from the kernel's random source. Returns false when it cannot. */
bool demo_random_bytes(void *buf, size_t n);

/* Writes n bytes as 2n lower-case hex digits and a NUL into out (borrows both). */
void demo_hex(const uint8_t *bytes, size_t n, char *out);

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into out, which has room for 21 bytes. */
void demo_time_iso(time_t t, char out[21]);

/* Compares two equal-length byte strings in time that does not depend on where they differ. */
bool demo_equal_ct(const void *a, const void *b, size_t n);

/* Tenant names are [a-z0-9-]{1,63}, neither starting nor ending with '-'. */
bool demo_tenant_name_ok(const char *s, size_t len);

/*
 * A growable string with a cap. demo_buf_add* return false once an append would pass max;
 * the buffer then keeps what it had and every later append fails too, so a caller can append
 * a whole page and check once.
 */
struct demo_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool failed;
};
void demo_buf_init(struct demo_buf *b, size_t max);
bool demo_buf_add(struct demo_buf *b, const char *s, size_t len);
bool demo_buf_adds(struct demo_buf *b, const char *s);
bool demo_buf_addf(struct demo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, " and ' replaced by character references. */
bool demo_buf_add_html(struct demo_buf *b, const char *s);
/* Returns the NUL-terminated contents (the caller frees them) and empties the buffer. */
char *demo_buf_take(struct demo_buf *b, size_t *out_len);
void demo_buf_cleanup(struct demo_buf *b);

/* SHA-256 of data into out (borrows both). */

/* ------------------------------------------------------------------------------------------ */
/* The store (store.c): tenants, users, sessions and orders, behind one mutex. Nothing it
 * returns points into the store; results are copies the caller owns. */

enum demo_status {
    DEMO_OK = 0,
    DEMO_EXISTS,          /* the tenant name is taken */
    DEMO_FULL,            /* a cap was reached */
    DEMO_NOT_FOUND,       /* no such tenant or order, or not this session's tenant */
    DEMO_BAD_CREDENTIALS, /* log-in failed */
    DEMO_NOT_LOGGED_IN,   /* no session with this token */
    DEMO_CONFLICT,        /* the order is already paid */
    DEMO_BAD_INPUT,       /* unknown product */
    DEMO_INTERNAL         /* no randomness */
};

struct demo_store;

/* A product of the catalogue every tenant is seeded with; prices are in cents. */
struct demo_product {
    uint64_t id;
    const char *name;
    uint64_t price_cents;
};

/* Returns the seeded catalogue (static storage) and its length in *out_n. */
const struct demo_product *demo_products(size_t *out_n);

struct demo_signup {
    uint64_t tenant_id;
    uint64_t user_id;
    time_t created_at;
};

/* What a valid session is: its CSRF token, its tenant and its user. */
struct demo_session {
    char csrf[DEMO_TOKEN_HEX + 1];
    uint64_t tenant_id;
    uint64_t user_id;
};

struct demo_line {
    uint64_t product_id;
    uint64_t quantity;
};

struct demo_item {
    uint64_t product_id;
    const char *name; /* static storage, from the catalogue */
    uint64_t price_cents;
    uint64_t quantity;
};

struct demo_order {
    uint64_t id;
    uint64_t tenant_id; /* whose order it is (--noise varies by it) */
    bool paid;
    time_t created_at;
    time_t paid_at;
    size_t n_items;
    struct demo_item *items;
};

/* Returns a new, empty store; free it with demo_store_free(). */
struct demo_store *demo_store_new(void);
void demo_store_free(struct demo_store *s);

/* Creates a tenant and its first user. DEMO_EXISTS, DEMO_FULL or DEMO_INTERNAL on failure.
 * The strings are borrowed and must already be valid. */
enum demo_status demo_store_signup(struct demo_store *s, const char *tenant, const char *email,
                                   const char *password, struct demo_signup *out);

/* Checks the credentials and opens a session, writing its token, CSRF token and user id.
 * DEMO_BAD_CREDENTIALS for an unknown tenant, email or a wrong password alike. */
enum demo_status demo_store_login(struct demo_store *s, const char *tenant, const char *email,
                                  const char *password, char out_token[DEMO_TOKEN_HEX + 1],
                                  char out_csrf[DEMO_TOKEN_HEX + 1], uint64_t *out_user_id);

/* Ends the session with this token, if there is one. */
void demo_store_logout(struct demo_store *s, const char *token);

/* Finds the session for token (NULL allowed) and checks it belongs to the tenant named.
 * DEMO_NOT_LOGGED_IN without a valid session, DEMO_NOT_FOUND for another or unknown tenant. */
enum demo_status demo_store_auth(struct demo_store *s, const char *token, const char *tenant,
                                 struct demo_session *out);

/* Creates an order with the next global id. DEMO_BAD_INPUT for an unknown product, DEMO_FULL
 * at DEMO_MAX_ORDERS. *out is a copy to release with demo_order_cleanup(). */
enum demo_status demo_store_order_create(struct demo_store *s, uint64_t tenant_id,
                                         const struct demo_line *lines, size_t n,
                                         struct demo_order *out);
enum demo_status demo_store_order_get(struct demo_store *s, uint64_t tenant_id, uint64_t id,
                                      struct demo_order *out);
/* The order with this id whatever its tenant: --leak's deliberate isolation bug. */
enum demo_status demo_store_order_get_any(struct demo_store *s, uint64_t id,
                                          struct demo_order *out);
/* Marks the order paid; DEMO_CONFLICT if it already was (*out is then left alone). */
enum demo_status demo_store_order_pay(struct demo_store *s, uint64_t tenant_id, uint64_t id,
                                      struct demo_order *out);
/* Copies the tenant's orders in ascending id; release with demo_orders_free(). */
void demo_store_order_list(struct demo_store *s, uint64_t tenant_id, struct demo_order **out,
                           size_t *out_n);

void demo_order_cleanup(struct demo_order *o);
void demo_orders_free(struct demo_order *v, size_t n);

/* ------------------------------------------------------------------------------------------ */
/* Requests and replies, between the HTTP glue and the handlers. */

struct demo_objects;

/* --delay PATTERN=MS: replies to paths matching PATTERN (fnmatch, '*' crosses '/') wait MS. */
struct demo_delay {
    const char *pattern; /* borrowed from argv, cut at its '=' in place */
    unsigned ms;
};

struct demo_app {
    struct demo_store *store;
    struct demo_objects *objs; /* the admin's things, GraphQL orders, API notes (objects.c) */
    bool drift;                /* --drift: order item prices become strings */
    bool leak;                 /* --leak: GET /t/NAME/api/orders/ID checks the session, not the
                                  tenant (a cross-tenant read for `reprise probe` to catch) */
    bool quiet;                /* --quiet: no line per request on stderr */
    const struct demo_delay *delays; /* --delay, n_delays of them (demo.c's options) */
    size_t n_delays;
    bool noise; /* --noise: order objects vary by tenant as real APIs do (api.c) */
    /* Faults for `reprise replay --retries` (demo.c): a path suffix each, or NULL. */
    const char *fail_once;     /* --fail-once PATH: the first request to it gets a 500 */
    atomic_bool failed_once;   /* it came */
    const char *gateway_error; /* --gateway-error PATH: every request to it gets a 502 */
};

/* What a handler sees of a request. Every pointer is borrowed for the call. */
struct demo_request {
    const char *method;
    const char *path;    /* percent-decoded, without the query */
    const char *session; /* the demo_session cookie, or NULL */
    const char *csrf;    /* the X-CSRF-Token header, or NULL */
    const char *body;    /* NUL-terminated; body_len bytes before the NUL */
    size_t body_len;
    const char *authorization; /* the Authorization header, or NULL */
    const char *auth_token;    /* the X-Auth-Token header, or NULL */
    const char *content_type;  /* the Content-Type header, or NULL */
};

/* What a handler answers. The HTTP glue turns it into a response and frees what it owns. */
struct demo_reply {
    unsigned status;
    const char *content_type; /* static; NULL for no body */
    char *body;               /* owned, NUL-terminated */
    size_t body_len;
    bool chunked;      /* send with unknown size (Transfer-Encoding: chunked), uncompressed */
    char *location;    /* owned, or NULL */
    char *set_cookie;  /* owned, or NULL */
    const char *allow; /* static, for 405 */
};

#define DEMO_CT_JSON "application/json; charset=utf-8"
#define DEMO_CT_HTML "text/html; charset=utf-8"
#define DEMO_CT_TEXT "text/plain; charset=utf-8"

void demo_reply_cleanup(struct demo_reply *rep);
/* Sets a {"error": msg} reply. */
void demo_reply_error(struct demo_reply *rep, unsigned status, const char *msg);
/* Sets a reply with a copy of text as its body. */
void demo_reply_text(struct demo_reply *rep, unsigned status, const char *ctype, const char *text);

/* Routes a request to its handler and fills rep (api.c). */
void demo_route(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep);

/* The HTML pages (pages.c). The tenant name has been validated. */
void demo_page_home(struct demo_reply *rep);
void demo_page_dashboard(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                         struct demo_reply *rep);

/* Verifies a tenant's credentials without opening a session (store.c); writes the tenant's
 * and user's ids. DEMO_BAD_CREDENTIALS as demo_store_login. */
enum demo_status demo_store_verify(struct demo_store *s, const char *tenant, const char *email,
                                   const char *password, uint64_t *out_tenant_id,
                                   uint64_t *out_user_id);

/* Sets a JSON reply from j, which it takes (api.c). */
struct cJSON;
void demo_reply_json(struct demo_reply *rep, unsigned status, struct cJSON *j);

/* ------------------------------------------------------------------------------------------ */
/* The modes that copy what real applications do (objects.c, admin.c, bearer.c, graphql.c). */

#define DEMO_MAX_OBJECTS     100000 /* things, GraphQL orders and notes together; 503 beyond */
#define DEMO_MAX_AUDIT       100000 /* audit entries kept; the oldest are dropped beyond */
#define DEMO_MAX_NAME        200    /* an object's name */
#define DEMO_MAX_TOKENS      10000  /* bearer token pairs; the oldest is dropped beyond */
#define DEMO_BEARER_HEX      40     /* access and refresh tokens: 20 random bytes as hex */
#define DEMO_MAX_FORM_FIELDS 32     /* fields of a urlencoded or multipart body */

enum demo_kind { DEMO_THING, DEMO_ORDER, DEMO_NOTE };

/* A copy of an object, for the caller. */
struct demo_object {
    uint64_t id;
    enum demo_kind kind;
    char tenant[DEMO_MAX_TENANT_NAME + 1];
    uint64_t project; /* things only; 0 otherwise */
    char name[DEMO_MAX_NAME + 1];
    uint64_t quantity; /* orders only */
    bool paid;         /* orders only */
    bool refunded;     /* orders only */
    bool deleted;
};

/* A tenant's project: ids come from their own global sequence, starting at 1. */
struct demo_project {
    uint64_t id;
    char name[32];
    bool current;
};

/* A new store whose objects are numbered from first_id on. */
struct demo_objects *demo_objects_new(uint64_t first_id);
void demo_objects_free(struct demo_objects *o);

/* Creates an object of tenant (who is also the actor in the audit log). DEMO_FULL at the cap. */
enum demo_status demo_obj_create(struct demo_objects *o, const char *tenant, enum demo_kind kind,
                                 const char *name, uint64_t project, uint64_t quantity,
                                 struct demo_object *out);
/* Copies the object with this id and kind, deleted or not, whatever its tenant: the demo
 * deliberately does not check that it is the caller's. DEMO_NOT_FOUND when there is none. */
enum demo_status demo_obj_get(struct demo_objects *o, uint64_t id, enum demo_kind kind,
                              struct demo_object *out);
/* Renames (name not NULL) and moves (project not 0) an object; actor is logged. Works on any
 * tenant's object, as a buggy application would. DEMO_NOT_FOUND for none or a deleted one. */
enum demo_status demo_obj_update(struct demo_objects *o, const char *actor, uint64_t id,
                                 enum demo_kind kind, const char *name, uint64_t project,
                                 struct demo_object *out);
enum demo_status demo_obj_delete(struct demo_objects *o, const char *actor, uint64_t id,
                                 enum demo_kind kind);
/* Marks an order paid; DEMO_CONFLICT when it already was. Any tenant's order. */
enum demo_status demo_obj_pay(struct demo_objects *o, const char *actor, uint64_t id,
                              struct demo_object *out);
/* Refunds an order, paid or not (a teardown's clean-up); DEMO_CONFLICT when it already was.
 * Any tenant's order. */
enum demo_status demo_obj_refund(struct demo_objects *o, const char *actor, uint64_t id,
                                 struct demo_object *out);
/* The tenant's live (not deleted) objects of a kind in ascending id; free() the array. */
void demo_obj_list(struct demo_objects *o, const char *tenant, enum demo_kind kind,
                   struct demo_object **out, size_t *out_n);
/* The tenant's two projects, made on first use, the first one current. Whether project id
 * exists at all (any tenant's). */
void demo_obj_projects(struct demo_objects *o, const char *tenant, struct demo_project out[2]);
bool demo_obj_project_exists(struct demo_objects *o, uint64_t id);
/* The tenant's board columns (made on first use): three random 15-character ids and titles. */
void demo_obj_columns(struct demo_objects *o, const char *tenant, char ids[3][16]);
/* The title of board column i (0..2). */
const char *demo_column_title(size_t i);
/* Bearer tokens: a new pair for the tenant, a rotation (the old pair stops working), and the
 * tenant an access token belongs to. */
enum demo_status demo_tok_issue(struct demo_objects *o, const char *tenant,
                                char access[DEMO_BEARER_HEX + 1],
                                char refresh[DEMO_BEARER_HEX + 1]);
enum demo_status demo_tok_refresh(struct demo_objects *o, const char *tenant,
                                  const char *old_refresh, char access[DEMO_BEARER_HEX + 1],
                                  char refresh[DEMO_BEARER_HEX + 1]);
/* DEMO_NOT_LOGGED_IN for an unknown token, DEMO_NOT_FOUND for another tenant's. */
enum demo_status demo_tok_check(struct demo_objects *o, const char *tenant, const char *access);
/* GET /__state: every project, object and audit entry as JSON (takes nothing, returns new). */
struct cJSON *demo_obj_state(struct demo_objects *o);

const char *demo_kind_name(enum demo_kind k);

/* Form bodies (forms.c): urlencoded and multipart/form-data fields, decoded into copies. */
struct demo_form {
    size_t n;
    char *names[DEMO_MAX_FORM_FIELDS];
    char *values[DEMO_MAX_FORM_FIELDS];
};
/* Parses rq's body by its Content-Type. False for another type or a malformed body. */
bool demo_form_parse(const struct demo_request *rq, struct demo_form *out);
const char *demo_form_get(const struct demo_form *f, const char *name);
void demo_form_cleanup(struct demo_form *f);

/* Handlers. path_rest is what follows /t/{tenant} (starting with '/'). */
void demo_admin_route(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                      const char *rest, struct demo_reply *rep);
/* Runs one GraphQL request object as tenant (no session check) and returns the new result
 * object {"data", "errors"}; the fuzz target calls it directly. */
struct cJSON *demo_graphql_run(struct demo_app *app, const char *tenant, const struct cJSON *req);
void demo_graphql_route(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                        struct demo_reply *rep);
/* The tenant's board: {"columns":[…],"columnsById":{…}} (bearer.c). */
void demo_board_reply(struct demo_app *app, const char *tenant, struct demo_reply *rep);
/* Everything under /api/v2/t/{tenant}/. */
void demo_bearer_route(struct demo_app *app, const struct demo_request *rq, struct demo_reply *rep);

#endif
