/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of HAR import: the window a HAR file is read through
 * (window.c), small cJSON helpers, entry conversion (import_entry.c) and body decoding
 * (import_body.c).
 */
#ifndef REPRISE_HAR_INTERNAL_H
#define REPRISE_HAR_INTERNAL_H

#include <cjson/cJSON.h>

#include <reprise/har.h>

#include "../common_int.h"
#include "../text_int.h"

/* ----- the window (window.c) ------------------------------------------------------------- */

/*
 * A HAR file's text read a chunk at a time. The reader says which bytes it may still need (a
 * keep offset); those before it are dropped at the next read, so what is held is one entry and
 * a read, not the file. Offsets count from the start of the text, after a UTF-8 byte order mark.
 */
struct rp__har_window {
    int fd;          /* the file, or -1 when reading from memory */
    bool close_fd;   /* false for standard input */
    const char *mem; /* rp_har_read_mem's text, mem_len bytes, mem_off of them read */
    size_t mem_len;
    size_t mem_off;
    const char *name; /* the file name messages start with */
    size_t chunk;     /* bytes per read */
    char *buf;        /* buf[0] is the byte at offset beg; len bytes held, cap allocated */
    size_t beg;
    size_t len;
    size_t cap;
    size_t total;     /* bytes read from the source, a byte order mark included */
    bool eof;         /* the source has no more: beg + len is the text's length */
    bool bom_checked; /* the first bytes were looked at for a byte order mark */
    size_t lines;     /* line breaks before beg */
    size_t last_nl;   /* the offset of the last of them, when lines > 0 */
};

/* Bytes read at a time unless rp_har_import_opts.read_size says otherwise. */
#define RP__HAR_READ_SIZE (64u * 1024u)

/* Sets w up to read the len bytes at data (borrowed, for w's life), chunk bytes at a time. */
void rp__har_window_mem(struct rp__har_window *w, const char *data, size_t len, const char *name,
                        size_t chunk);

/*
 * Sets w up to read the file at path ("-": standard input), chunk bytes at a time. RP_EIO when
 * it cannot be opened or is a directory, RP_ETOOBIG when it is larger than RP_MAX_HAR_BYTES;
 * w needs no cleanup then.
 */
rp_code rp__har_window_open(struct rp__har_window *w, const char *path, size_t chunk,
                            struct rp_error *err);

void rp__har_window_cleanup(struct rp__har_window *w);

/*
 * Reads the next chunk, first dropping the bytes before offset keep (at least beg). Sets eof
 * when the source has no more. A UTF-8 byte order mark at the very start is skipped. RP_EIO on a
 * read error, RP_ETOOBIG past RP_MAX_HAR_BYTES (a file that grew, standard input).
 */
rp_code rp__har_window_more(struct rp__har_window *w, size_t keep, struct rp_error *err);

/* Line and column (from 1) of the byte at offset off (at least beg, at most beg + len). */
void rp__har_window_position(const struct rp__har_window *w, size_t off, size_t *line, size_t *col);

/* ----- small helpers ---------------------------------------------------------------------- */

static inline const cJSON *member(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The string member key of o, or NULL when it is absent or not a string. */
static inline const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *j = member(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static inline bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        if (rp__ascii_lower(*s) != *prefix) {
            return false;
        }
    }
    return true;
}

/* Text for a JSON scalar: strings as they are, numbers and booleans printed, else "". */
static inline char *scalar_text(const cJSON *j)
{
    if (cJSON_IsString(j)) {
        return rp_xstrdup(j->valuestring);
    }
    if (cJSON_IsNumber(j) || cJSON_IsBool(j) || cJSON_IsObject(j) || cJSON_IsArray(j)) {
        char *s = rp__json_print(j, false);
        char *copy = rp_xstrdup(s);
        cJSON_free(s);
        return copy;
    }
    return rp_xstrdup("");
}

/* ----- bodies (import_body.c) ------------------------------------------------------------- */

/* Returns a new copy of the n bytes at text with NUL escapes masked, or NULL when it has none. */
char *rp__har_mask_nuls(const char *text, size_t n, size_t *out_n);

/*
 * The text of a postData or content object o into b: base64 when its encoding says so; a
 * reprise export's "_truncated" mark is kept. where names o in errors.
 */
rp_code rp__har_text_body(const cJSON *o, const char *size_key, const char *where,
                          struct rp_body *b, struct rp_error *err);

/* The request's postData (text or params) into rq's body. */
rp_code rp__har_post_data(const cJSON *req, struct rp_request *rq, struct rp_error *err);

/* ----- entries (import_entry.c) ----------------------------------------------------------- */

/* What became of one entry. */
enum rp__har_fate { RP__HAR_EXCHANGE, RP__HAR_DROPPED };

/* Converts entry e into ex (clean), or says it is dropped (and why, in *why). */
rp_code rp__har_entry_to_exchange(const cJSON *e, struct rp_exchange *ex, enum rp__har_fate *fate,
                                  const char **why, struct rp_error *err);

#endif /* REPRISE_HAR_INTERNAL_H */
