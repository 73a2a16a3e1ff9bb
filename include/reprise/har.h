/* SPDX-License-Identifier: MIT */
/*
 * HAR 1.2 import and export (docs/har.md). Import reads a HAR file from Chrome, Firefox, Safari,
 * proxies and HTTP clients, turns its entries into exchanges in file order, and hands them to
 * the recording pipeline (reprise/intake.h), which leaves out static assets and scrubs secrets.
 * Export reads a recording with the streaming reader and writes a HAR 1.2 file entry by entry,
 * so that a recording opens in any HAR viewer; importing it again gives the same exchanges.
 *
 * Import reads the file a chunk at a time and parses one entry at a time (at most
 * RP_MAX_HAR_BYTES in all): it holds one entry, not the file. Export holds one exchange at a
 * time.
 */
#ifndef REPRISE_HAR_H
#define REPRISE_HAR_H

#include <reprise/intake.h>
#include <reprise/recording.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rp_har_import_opts {
    rp_log_fn log; /* one DEBUG line per entry left out as not replayable; may be NULL */
    void *log_ud;
    size_t read_size; /* bytes read at a time; 0: 64 KiB. Tests set it small, so that every
                         token and entry falls across reads somewhere */
};

/* What an import did with the entries of a HAR file. */
struct rp_har_stats {
    uint64_t entries;   /* entries in log.entries */
    uint64_t exchanges; /* exchanges produced (recorded, for rp_har_import) */
    uint64_t dropped;   /* left out as not replayable: CONNECT tunnels, non-HTTP URLs */
};

/*
 * Called once per exchange, in file order. ex is borrowed for the call (the callee may change
 * it; it is cleaned afterwards). A non-OK return stops the read with that code and err.
 */
typedef rp_code (*rp_har_exchange_fn)(void *ud, struct rp_exchange *ex, struct rp_error *err);

/*
 * Parses the len bytes at data (borrowed; a UTF-8 byte order mark is skipped) as a HAR file
 * and calls fn for each exchange it yields, unfiltered and unscrubbed (that is the intake's
 * work), numbered from 1, as each entry is read: an error later in the file comes after the
 * calls for the entries before it. opts may be NULL. name (borrowed) is
 * the file name errors start with. *out_stats (may be NULL) is written on success. Errors,
 * each one line naming name: RP_EFORMAT ("invalid JSON at line L, column C", "not HAR: no
 * log.entries", "entry N: ..."), RP_ETOOBIG (an entry past a limits.h cap), or fn's own.
 */
RP_EXTERN RP_NODISCARD rp_code rp_har_read_mem(const char *data, size_t len, const char *name,
                                               const struct rp_har_import_opts *opts,
                                               rp_har_exchange_fn fn, void *ud,
                                               struct rp_har_stats *out_stats,
                                               struct rp_error *err);

/*
 * As rp_har_read_mem, for the file at path ("-" reads standard input). RP_EIO when it cannot
 * be read, RP_ETOOBIG when it is larger than RP_MAX_HAR_BYTES.
 */
RP_EXTERN RP_NODISCARD rp_code rp_har_read(const char *path, const struct rp_har_import_opts *opts,
                                           rp_har_exchange_fn fn, void *ud,
                                           struct rp_har_stats *out_stats, struct rp_error *err);

/*
 * Imports the HAR file at har_path into in (borrowed; the caller creates it with source kind
 * "har", typically with created_from_first and replace, and closes it: then a failed import
 * leaves no file). opts may be NULL. *out_stats (may be NULL) is written on success, exchanges
 * counting those recorded. Errors as rp_har_read, plus the intake's: the writer's (RP_EIO
 * naming the file), or scrub's for an exchange that cannot be scrubbed (naming it).
 */
RP_EXTERN RP_NODISCARD rp_code rp_har_import(const char *har_path, struct rp_intake *in,
                                             const struct rp_har_import_opts *opts,
                                             struct rp_har_stats *out_stats, struct rp_error *err);

/*
 * Appends the HAR 1.2 entry (a JSON object, no newline) for ex (borrowed) to out. pageref
 * (borrowed) may be NULL. Bodies that are not UTF-8 text go out in base64 with
 * "encoding": "base64", in postData as well as in content.
 */
RP_EXTERN RP_NODISCARD rp_code rp_har_encode_entry(const struct rp_exchange *ex,
                                                   const char *pageref, struct rp_buf *out,
                                                   struct rp_error *err);

struct rp_har_export_opts {
    rp_log_fn log; /* the reader's truncation warning; may be NULL */
    void *log_ud;
};

/*
 * Exports the recording at rec_path ("-": standard input) as a HAR 1.2 file at har_path
 * ("-": standard output), one page holding every entry. A file is written to har_path.part
 * and renamed on success. opts may be NULL. *out_count (may be NULL) gets the number of
 * entries written, on success. Errors: the reader's (naming FILE:LINE), RP_EIO for the output.
 */
RP_EXTERN RP_NODISCARD rp_code rp_har_export(const char *rec_path, const char *har_path,
                                             const struct rp_har_export_opts *opts,
                                             uint64_t *out_count, struct rp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_HAR_H */
