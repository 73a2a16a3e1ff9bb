/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of the shape module: the compiled body schema (a JSON
 * Schema subset held in our own structs, with "pattern" compiled once), and the helpers that
 * build, infer, print and match it.
 */
#ifndef REPRISE_SHAPE_INTERNAL_H
#define REPRISE_SHAPE_INTERNAL_H

#include <regex.h>

#include <cjson/cJSON.h>

#include <reprise/buf.h>
#include <reprise/limits.h>
#include <reprise/shape.h>

#include "../common_int.h"

/* JSON types as bits of rp__schema.types, in the order messages and files list them. */
enum {
    RP__T_OBJECT = 1u << 0,
    RP__T_ARRAY = 1u << 1,
    RP__T_STRING = 1u << 2,
    RP__T_NUMBER = 1u << 3,
    RP__T_INTEGER = 1u << 4,
    RP__T_BOOLEAN = 1u << 5,
    RP__T_NULL = 1u << 6,
};
#define RP__T_COUNT 7

enum rp__format {
    RP__FMT_NONE,
    RP__FMT_UUID,
    RP__FMT_DATE_TIME,
    RP__FMT_EMAIL,
    RP__FMT_URI,
};

struct rp__schema;

/* One entry of "properties". */
struct rp__prop {
    char *key;
    struct rp__schema *s;
    size_t order; /* position in the file or the recorded object: the order it is written in */
    bool required;
};

/*
 * One schema. Every part applies only to values of its kind (properties to objects, items to
 * arrays, format and pattern to strings), as in JSON Schema; types == 0 accepts any type, and
 * a schema with nothing set accepts anything.
 */
struct rp__schema {
    unsigned types; /* RP__T_* bits; 0: any type */
    enum rp__format format;
    bool closed;        /* "additionalProperties": false */
    bool open_written;  /* "additionalProperties": true was written; kept to write back */
    bool keys_given_up; /* inference met over RP_MAX_INFER_KEYS keys: none are checked */
    bool map_inferred;  /* inference saw an object keyed by ids: written with a description */
    struct rp__schema *values; /* "additionalProperties" as a schema: what every key not in
                                  props holds (a map keyed by ids); NULL: none */
    struct rp__prop *props;    /* sorted by key (strcmp), for binary search */
    size_t n_props;
    size_t next_order; /* one past the largest props[].order */
    char **req_extra;  /* "required" names with no entry in "properties", sorted */
    size_t n_req_extra;
    struct rp__schema *items; /* NULL: any element (or, while inferring, none seen yet) */
    cJSON *enum_values;       /* a non-empty array, or NULL */
    char *pattern;            /* the source of re, or NULL */
    regex_t *re;
    cJSON *extra; /* keywords reprise does not check, kept to be written back */
};

struct rp_shape {
    unsigned status;
    char *media_type;        /* lower-case, no parameters; NULL: not checked */
    struct rp__schema *body; /* NULL: the body is not checked */
};

/* ----- schema.c ---------------------------------------------------------------------------- */

struct rp__schema *rp__schema_new(void);
void rp__schema_free(struct rp__schema *s);

/*
 * Compiles the schema object j (borrowed). where names j for messages ("body",
 * "body.properties.id"); depth is j's nesting below the body. On success *out is a new schema.
 * RP_EFORMAT names the keyword at fault.
 */
rp_code rp__schema_compile(const cJSON *j, struct rp_buf *where, size_t depth,
                           struct rp__schema **out, struct rp_error *err);

/* Returns s as a new cJSON object. */
cJSON *rp__schema_to_json(const struct rp__schema *s);

/* Orders properties by key, then by order: the order props[] is kept in. For qsort. */
int rp__prop_cmp(const void *a, const void *b);

/* The index of the property named key in s, or SIZE_MAX. */
size_t rp__schema_find(const struct rp__schema *s, const char *key);

/* "object", "number", ...: the name of the single type bit t. */
const char *rp__type_name(unsigned t);
/* Appends "string or null" for the type bits types to b (a cut message is fine). */
void rp__types_text(unsigned types, struct rp_buf *b);

const char *rp__format_name(enum rp__format f);
/* True when s has format f. Inference passes for_infer, which asks more of a uri (http/https). */
bool rp__format_ok(enum rp__format f, const char *s, bool for_infer);

/* Appends a path step for key: .key when it looks like an identifier, else ["key"] escaped. */
void rp__path_key(struct rp_buf *b, const char *key);
/*
 * Appends s as a JSON string, quoted and escaped, cut after max_chars characters (UTF-8
 * sequences count as one) with "..." inside the quotes.
 */
void rp__quote(struct rp_buf *b, const char *s, size_t max_chars);

/* ----- infer.c ----------------------------------------------------------------------------- */

/*
 * Returns a new schema for the recorded value v at nesting depth (0 for the body). An object
 * whose keys are all ids (digits, a uuid, a hex or random-looking token, or a value of an id
 * field elsewhere in the body) is inferred as a map: "additionalProperties" with the union of
 * its values' schemas, no properties, nothing required.
 */
struct rp__schema *rp__schema_infer(const cJSON *v, size_t depth);

/* Makes a accept what a or b accepts, for inference; takes b. A map stays a map: a record
 * merged into it adds its values' schemas to the map's. */
void rp__schema_union(struct rp__schema *a, struct rp__schema *b);

/* ----- match.c ----------------------------------------------------------------------------- */

/* The RP__T_* bit of a JSON value's type (a number is RP__T_NUMBER); 0 for none. */
unsigned rp__type_of(const cJSON *v);
/* True when v has one of the types (a whole number passes "integer"), as matching decides. */
bool rp__type_ok(unsigned types, const cJSON *v);
/* True when v must not be shown or kept: under a credential's name, or looking like a secret. */
bool rp__value_hidden(const cJSON *v);
/* True when v equals one of the enum's values, as matching decides. */
bool rp__in_enum(const cJSON *values, const cJSON *v);

/* ----- set.c ------------------------------------------------------------------------------- */

/* The shape of exchange seq, borrowed from set and open to change (learn.c), or NULL. */
struct rp_shape *rp__shapeset_get_mut(struct rp_shapeset *set, uint64_t seq);
/* The label ("METHOD /path") of exchange seq, borrowed from set, or NULL. */
const char *rp__shapeset_label(const struct rp_shapeset *set, uint64_t seq);

/* ----- shape.c ----------------------------------------------------------------------------- */

/*
 * Parses the n bytes at p as one JSON document (a leading UTF-8 byte order mark skipped,
 * whitespace only after it). Returns a new cJSON tree or NULL; on NULL, *err_off (when not
 * NULL) gets the offset of the error.
 */
cJSON *rp__json_parse(const char *p, size_t n, size_t *err_off);

/* Builds a shape from the exchange object o of a shape file (borrowed). */
rp_code rp__shape_from_cjson(const cJSON *o, struct rp_shape **out, struct rp_error *err);

/* Returns s as a new cJSON object {"status":…,"media_type":…,"body":…}. */
cJSON *rp__shape_to_cjson(const struct rp_shape *s);

#endif /* REPRISE_SHAPE_INTERNAL_H */
