/* SPDX-License-Identifier: MIT */
/*
 * The recording format, v1 (docs/recording-format.md): gzip-compressed JSON Lines. Line 1 is
 * the header, each further line one exchange. One writer and one reader serve every source and
 * every consumer.
 *
 * The writer is durable as it goes: it writes complete gzip members, at least every
 * RP_WRITER_FLUSH_MS while exchanges are pending, so a recorder killed at any moment leaves a
 * file that reads back every exchange appended more than a second before. Compression runs on
 * the writer's own thread: appending only encodes the line and queues it (a bounded queue).
 *
 * The reader streams: its memory is bounded by the longest line, not the file. It reads a
 * truncated last gzip member up to its last whole line and warns through its log callback;
 * any other corruption is an error naming FILE:LINE.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_RECORDING_H
#define REPRISE_RECORDING_H

#include <reprise/buf.h>
#include <reprise/exchange.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_RECORDING_VERSION 1

/* The header line. Every string is owned by the struct. */
struct rp_rec_meta {
    char *name;          /* "demo-checkout" */
    char *created;       /* ISO-8601 UTC, "2026-11-23T20:01:02Z" */
    char *source_kind;   /* "proxy", "capture", "har", "replay" ... */
    char *source_detail; /* upstream URL, pcap or HAR file name; may be NULL */
    char **tenants;      /* tenant identifiers the replayer rewrites */
    size_t n_tenants;
    char *extra; /* further top-level keys, as a JSON object's text, or NULL */
};

RP_EXTERN void rp_rec_meta_init(struct rp_rec_meta *m);
RP_EXTERN void rp_rec_meta_cleanup(struct rp_rec_meta *m);
/* Adds a copy of tenant (borrowed). RP_ETOOBIG past RP_MAX_TENANTS. */
RP_EXTERN RP_NODISCARD rp_code rp_rec_meta_add_tenant(struct rp_rec_meta *m, const char *tenant,
                                                      struct rp_error *err);
RP_EXTERN RP_NODISCARD rp_code rp_rec_meta_copy(struct rp_rec_meta *dst,
                                                const struct rp_rec_meta *src,
                                                struct rp_error *err);

/* ----- encoding one line ------------------------------------------------------------------- */

/* Appends the JSON line (no newline) for ex to out. */
RP_EXTERN RP_NODISCARD rp_code rp_recording_encode_exchange(const struct rp_exchange *ex,
                                                            struct rp_buf *out,
                                                            struct rp_error *err);
/* Appends the JSON header line (no newline) for m to out. */
RP_EXTERN RP_NODISCARD rp_code rp_recording_encode_meta(const struct rp_rec_meta *m,
                                                        struct rp_buf *out, struct rp_error *err);

/*
 * Parses one exchange line (len bytes at line, borrowed, need not be NUL-terminated) into ex,
 * which the caller has initialised; ex is cleaned first. On error ex is left clean and the
 * message says what is wrong, without a location (the caller adds FILE:LINE).
 */
RP_EXTERN RP_NODISCARD rp_code rp_recording_decode_exchange(const char *line, size_t len,
                                                            struct rp_exchange *ex,
                                                            struct rp_error *err);
/*
 * Adds to ex the variables a "vars" array declares (the JSON text of the array, len bytes, as
 * an exchange line holds it: [{"name": NAME, "from": PLACE}, ...]), for a format that carries
 * it elsewhere (HAR's "_reprise_vars"). Errors as rp_recording_decode_exchange.
 */
RP_EXTERN RP_NODISCARD rp_code rp_recording_decode_vars(const char *json, size_t len,
                                                        struct rp_exchange *ex,
                                                        struct rp_error *err);
/* Parses a header line into m (initialised). Errors as rp_recording_decode_exchange. */
RP_EXTERN RP_NODISCARD rp_code rp_recording_decode_meta(const char *line, size_t len,
                                                        struct rp_rec_meta *m,
                                                        struct rp_error *err);

/* ----- writer ------------------------------------------------------------------------------ */

struct rp_writer;

struct rp_writer_opts {
    unsigned flush_ms; /* 0: RP_WRITER_FLUSH_MS */
    int level;         /* gzip level, 1 (fastest) to 9 (smallest); 0: zlib's default (6) */
    bool sync;         /* fdatasync after each gzip member (survives a machine crash) */
    rp_log_fn log;     /* may be NULL */
    void *log_ud;
};

/*
 * Creates (or truncates) path ("-": standard output) and writes the header line for meta
 * (borrowed) as a first, complete gzip member. opts may be NULL for defaults. On success *out is a
 * new writer the caller closes with rp_writer_close(). RP_EIO names path when it cannot be created.
 */
RP_EXTERN RP_NODISCARD rp_code rp_writer_open(const char *path, const struct rp_rec_meta *meta,
                                              const struct rp_writer_opts *opts,
                                              struct rp_writer **out, struct rp_error *err);

/*
 * Appends ex (borrowed). If ex->seq is 0 the writer numbers it (1, 2, ...) in the file. A
 * write error is sticky: every later call returns it. Safe to call from one thread while the
 * writer's own flush thread runs.
 */
RP_EXTERN RP_NODISCARD rp_code rp_writer_append(struct rp_writer *w, const struct rp_exchange *ex,
                                                struct rp_error *err);

/*
 * Appends the end record, the line {"end":OBJECT}, where object is the text of a JSON object
 * (borrowed, not checked): a writer that finished says so last, before rp_writer_close(), and
 * readers stop there (rp_reader_end_text). Not an exchange: not counted.
 */
RP_EXTERN RP_NODISCARD rp_code rp_writer_end(struct rp_writer *w, const char *object,
                                             struct rp_error *err);

/* Finishes the current gzip member and writes it out now. */
RP_EXTERN RP_NODISCARD rp_code rp_writer_flush(struct rp_writer *w, struct rp_error *err);

/* Exchanges appended so far. */
RP_EXTERN uint64_t rp_writer_count(const struct rp_writer *w);

/*
 * Exchanges in the file: in gzip members written whole. After a failed write (reported at once
 * through opts->log, naming the file and why) nothing more is written and the file is cut back
 * to its last whole member, so rp_writer_count() - rp_writer_written() were lost.
 */
RP_EXTERN uint64_t rp_writer_written(struct rp_writer *w);

/*
 * Flushes, closes the file and frees w, whatever the outcome; returns the first error met.
 * w may be NULL.
 */
RP_EXTERN RP_NODISCARD rp_code rp_writer_close(struct rp_writer *w, struct rp_error *err);

/* ----- reader ------------------------------------------------------------------------------ */

struct rp_reader;

struct rp_reader_opts {
    size_t max_line; /* 0: RP_MAX_LINE_BYTES */
    rp_log_fn log;   /* receives the truncation warning; may be NULL */
    void *log_ud;
};

/*
 * Opens path, checks that it is a gzip-compressed reprise recording and reads its header.
 * "-" reads standard input. On success *out is a new reader the caller frees with
 * rp_reader_free(). Errors name path (and line 1): RP_EIO, RP_EFORMAT, RP_EVERSION.
 */
RP_EXTERN RP_NODISCARD rp_code rp_reader_open(const char *path, const struct rp_reader_opts *opts,
                                              struct rp_reader **out, struct rp_error *err);

/* The header, borrowed from r for its lifetime. */
RP_EXTERN const struct rp_rec_meta *rp_reader_meta(const struct rp_reader *r);

/*
 * Reads the next exchange into ex (initialised by the caller; cleaned and refilled here).
 * Sets *out_got to true when an exchange was read, false at the end of the file. Errors name
 * FILE:LINE. A truncated last member ends the file with a warning, not an error.
 */
RP_EXTERN RP_NODISCARD rp_code rp_reader_next(struct rp_reader *r, struct rp_exchange *ex,
                                              bool *out_got, struct rp_error *err);

/*
 * The end record's object ({"end":OBJECT}, the line rp_writer_end writes) once rp_reader_next()
 * has met it and said the file ended, borrowed for r's lifetime; NULL for a file without one
 * (any recording, or a results file whose run did not finish). A line after it is an error.
 */
RP_EXTERN const char *rp_reader_end_text(const struct rp_reader *r, size_t *out_len);

/* The raw text of the line rp_reader_next() last read, borrowed until the next call. */
RP_EXTERN const char *rp_reader_line_text(const struct rp_reader *r, size_t *out_len);
/* The header line's raw text, borrowed for r's lifetime. */
RP_EXTERN const char *rp_reader_meta_text(const struct rp_reader *r, size_t *out_len);
/* The 1-based number of the line last read (1 after open). */
RP_EXTERN uint64_t rp_reader_line(const struct rp_reader *r);
/* True when the file ended inside a gzip member (after the last exchange was returned). */
RP_EXTERN bool rp_reader_truncated(const struct rp_reader *r);
/* The path the reader was opened with, borrowed. */
RP_EXTERN const char *rp_reader_path(const struct rp_reader *r);

RP_EXTERN void rp_reader_free(struct rp_reader *r);

/* ----- helpers ----------------------------------------------------------------------------- */

/* Writes the ISO-8601 UTC form of a microsecond Unix time ("2026-11-23T20:01:02.123456Z"). */
RP_EXTERN void rp_time_format(int64_t us, char out[32]);
/* Parses what rp_time_format writes (fraction optional, 'Z' or +00:00). */
RP_EXTERN bool rp_time_parse(const char *s, int64_t *out_us);
/* Microseconds since the Unix epoch, from the real-time clock. */
RP_EXTERN int64_t rp_now_us(void);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_RECORDING_H */
