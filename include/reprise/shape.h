/* SPDX-License-Identifier: MIT */
/*
 * Expected shapes of responses, and matching a live response against one.
 *
 * A shape holds what a response must keep for the session to be healthy — its status, its
 * media type and, for a JSON body, a subset of JSON Schema (type, properties, required, items,
 * enum, format, pattern, additionalProperties, nullable through type arrays) — and not exact
 * values. Shapes are inferred from a recorded response, or read from NAME.shape.json beside the
 * recording, which people edit and review (docs/shape-file.md).
 *
 * Default rules: a missing key or a changed type fails, an extra key passes, every array
 * element is checked against the union of the recorded elements, an empty recorded array
 * accepts any element, a changed status fails, a changed media type fails.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_SHAPE_H
#define REPRISE_SHAPE_H

#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_SHAPE_FILE_VERSION 1

/* One way a response differs from its shape. */
struct rp_mismatch {
    char *path;    /* "status", "media type", "$", "$.items[0].price" */
    char *message; /* "expected number, got string \"12.00\"" */
};

/* An ordered list of mismatches; empty means the response matches. */
struct rp_mismatches {
    struct rp_mismatch *v;
    size_t n;
    size_t cap;
};

RP_EXTERN void rp_mismatches_init(struct rp_mismatches *m);
RP_EXTERN void rp_mismatches_cleanup(struct rp_mismatches *m);
/* Appends a copy of path and the formatted message. At most RP_MAX_MISMATCHES are kept; the
 * rest are counted in a last entry "...: N more". */
RP_EXTERN void rp_mismatches_add(struct rp_mismatches *m, const char *path, const char *fmt, ...)
    RP_PRINTF(3, 4);

/* The expected shape of one exchange's response. */
struct rp_shape;

/*
 * Infers the shape of a recorded response (borrowed): its status, its media type, and for a
 * JSON body a schema in which every key seen is required, every value has its type (numbers
 * are "number", never "integer"), strings that all look like a uuid, date-time, email or uri
 * carry that format, and array items are the union of the recorded elements. Returns a new
 * shape; rp_shape_free() frees it. A response whose body claims JSON but does not parse gets
 * a shape that checks status and media type only.
 */
RP_EXTERN struct rp_shape *rp_shape_infer(const struct rp_response *resp);

RP_EXTERN void rp_shape_free(struct rp_shape *s);

/*
 * Checks a live response (borrowed) against s, appending every difference to out (which the
 * caller has initialised). Returns true when there was none.
 */
RP_EXTERN bool rp_shape_match(const struct rp_shape *s, const struct rp_response *resp,
                              struct rp_mismatches *out);

/* The shape's expected status and media type (media type may be NULL: no body expected). */
RP_EXTERN unsigned rp_shape_status(const struct rp_shape *s);
RP_EXTERN const char *rp_shape_media_type(const struct rp_shape *s);

/*
 * The shape as the text of one JSON object, as it stands for one exchange in a shape file:
 * {"status":201,"media_type":"application/json","body":{JSON Schema}}. Returns new memory the
 * caller frees with free().
 */
RP_EXTERN char *rp_shape_to_json(const struct rp_shape *s);

/*
 * Parses what rp_shape_to_json writes (len bytes at text, borrowed). On success *out is a new
 * shape. Errors (RP_EFORMAT) say which key is wrong, without a location.
 */
RP_EXTERN RP_NODISCARD rp_code rp_shape_from_json(const char *text, size_t len,
                                                  struct rp_shape **out, struct rp_error *err);

/* ----- shape files ------------------------------------------------------------------------- */

/* The shapes of a recording's exchanges, by seq. */
struct rp_shapeset;

RP_EXTERN struct rp_shapeset *rp_shapeset_new(const char *recording_name);
RP_EXTERN void rp_shapeset_free(struct rp_shapeset *set);

/*
 * Adds shape s (taken) for exchange seq; label (borrowed, may be NULL) is "METHOD PATH" for
 * people reading the file. A second shape for one seq replaces the first.
 */
RP_EXTERN void rp_shapeset_put(struct rp_shapeset *set, uint64_t seq, const char *label,
                               struct rp_shape *s);

/* The shape of exchange seq, borrowed from set, or NULL. */
RP_EXTERN const struct rp_shape *rp_shapeset_get(const struct rp_shapeset *set, uint64_t seq);

/* Number of shapes held. */
RP_EXTERN size_t rp_shapeset_count(const struct rp_shapeset *set);

/*
 * Reads a shape file. On success *out is a new set. Errors name the file and, where it can,
 * the exchange: "orders.shape.json: exchange 7: \"body.type\" is not a JSON type" (RP_EFORMAT,
 * RP_EIO, RP_ENOTFOUND, RP_EVERSION).
 */
RP_EXTERN RP_NODISCARD rp_code rp_shapeset_load(const char *path, struct rp_shapeset **out,
                                                struct rp_error *err);

/* Writes set to path ("-": standard output) as indented JSON, one exchange after another in
 * seq order. */
RP_EXTERN RP_NODISCARD rp_code rp_shapeset_save(const struct rp_shapeset *set, const char *path,
                                                struct rp_error *err);

/*
 * Reads the recording at recording_path as a stream and returns in *out a new shape set with
 * the inferred shape of every exchange that had a response, labelled "METHOD /path?query".
 * The reader's warnings go to log (may be NULL); its errors name FILE:LINE.
 */
RP_EXTERN RP_NODISCARD rp_code rp_shapeset_infer(const char *recording_path, rp_log_fn log,
                                                 void *log_ud, struct rp_shapeset **out,
                                                 struct rp_error *err);

/* ----- learning what moves between runs (learn.c) ------------------------------------------- */

/* At most this many runs are learned from (`reprise shape --learn --runs N`). */
#define RP_SHAPE_LEARN_MAX_RUNS 100

/*
 * A learner relaxes a shape set from live responses of several runs of one recording, each in
 * its own tenant: what moves between them (a value sometimes null or of another type, a key
 * sometimes missing, an enum that takes a new value, a string that loses its format, a new key
 * where additionalProperties is false) is relaxed just enough for every observed response to
 * pass, and each relaxed node gets a "learned" annotation saying why (docs/shape-file.md).
 * What did not move stays as strict as it was. Differences that cannot be expressed as a
 * relaxation (status, media type, a body that is not JSON, a hand-written pattern) are kept as
 * problems.
 */
struct rp_shape_learner;

/* A learner over set (borrowed: changed in place, must outlive the learner) for runs runs
 * (1 to RP_SHAPE_LEARN_MAX_RUNS). */
RP_EXTERN struct rp_shape_learner *rp_shape_learner_new(struct rp_shapeset *set, unsigned runs);
RP_EXTERN void rp_shape_learner_free(struct rp_shape_learner *l);

/*
 * Learns from the live response (borrowed) that exchange seq got in run (1-based, at most the
 * learner's runs). An exchange with no shape in the set is not checked, and not learned from.
 */
RP_EXTERN void rp_shape_learn(struct rp_shape_learner *l, uint64_t seq, unsigned run,
                              const struct rp_response *live);

/* Writes the "learned" annotations into the set's shapes; once, after the last run. An
 * annotation already there (from an earlier learning) keeps its other reasons. */
RP_EXTERN void rp_shape_learner_finish(struct rp_shape_learner *l);

/* One relaxation, everything borrowed from the learner. */
struct rp_learned {
    uint64_t seq;
    const char *request; /* the exchange's "METHOD /path" from the shape file, or NULL */
    const char *path;    /* the relaxed node: "$.discount", "$.items[*].price", "$.byId.*" */
    const char *why;     /* "null in 2 of 3 runs" (after rp_shape_learner_finish) */
};

/* Number of relaxations, and the i-th (by seq, then in the order they were learned). */
RP_EXTERN size_t rp_shape_learner_count(const struct rp_shape_learner *l);
RP_EXTERN void rp_shape_learner_get(const struct rp_shape_learner *l, size_t i,
                                    struct rp_learned *out);

/* Number of differences that could not be learned, and the i-th as one line:
 * "exchange 4, run 2: status: expected 201, got 500". */
RP_EXTERN size_t rp_shape_learner_problems(const struct rp_shape_learner *l);
RP_EXTERN const char *rp_shape_learner_problem(const struct rp_shape_learner *l, size_t i);

/* "recordings/x.jsonl.gz" gives "recordings/x.shape.json". Returns new memory. */
RP_EXTERN char *rp_shape_path_for(const char *recording_path);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_SHAPE_H */
