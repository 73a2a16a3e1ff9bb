/* SPDX-License-Identifier: MIT */
/*
 * Private declarations of the vars module shared by its recording half (record.c) and its
 * replaying half (live.c): the JSON walk that names each string by its path, and the JWT
 * scan, so that a place written when recording is found the same way at replay.
 */
#ifndef REPRISE_VARS_INTERNAL_H
#define REPRISE_VARS_INTERNAL_H

#include <reprise/vars.h>

/* One string of a JSON document: its path ("$.data.token", "$.items[0]", "$[\"a b\"]"), its
 * member key (NULL for an array element or the top), and its literal's bytes [start, end),
 * quotes included. Every pointer is borrowed for the call. */
struct rp__var_leaf {
    const char *path;
    const char *key;
    size_t key_len;
    size_t start;
    size_t end;
};

/* Called for each string value; returning false stops the walk. */
typedef bool (*rp__var_leaf_fn)(void *ud, const struct rp__var_leaf *leaf);

/* Walks the JSON document in n bytes at s, depth first, reporting every string value whose path
 * fits RP_MAX_VAR_PLACE. False when the text is not well-formed JSON (strings before the fault
 * have been reported). */
bool rp__var_json_walk(const char *s, size_t n, rp__var_leaf_fn fn, void *ud);

/* Finds the next JWT-shaped run at or after s[*pos]: true with [*out_start, *out_end) and *pos
 * past it. */
bool rp__var_next_jwt(const char *s, size_t n, size_t *pos, size_t *out_start, size_t *out_end);

/* True for a byte that may continue a token (letters, digits, - _ . ~ + / =). */
bool rp__var_token_byte(unsigned char c);

#endif /* REPRISE_VARS_INTERNAL_H */
