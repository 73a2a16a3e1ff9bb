/* SPDX-License-Identifier: MIT */
/*
 * The scrub module's insides: the rule set, and the edits its scanners (scan.c) find in an
 * exchange's texts, which scrub.c applies (placeholders) and lint.c reports (findings).
 */
#ifndef REPRISE_SCRUB_INTERNAL_H
#define REPRISE_SCRUB_INTERNAL_H

#include <reprise/exchange.h>
#include <reprise/redact.h>
#include <reprise/scrub.h>

/* Field names are matched on their first KEY_MAX bytes (lower-cased, '-' as '_'). */
#define RP__SCRUB_KEY_MAX   256u
/* The longest place a finding names ("request body $.card.number"), cut beyond. */
#define RP__SCRUB_PLACE_MAX 192u

/* A placeholder name given out, and the hash of the value it stands for. */
struct rp__scrub_named {
    char name[RP_MAX_SECRET_NAME + 1];
    uint64_t hash;
};

struct rp_scrub {
    struct rp__scrub_named *named; /* the names given so far, with their values' hashes */
    size_t n_named;
    char **headers; /* lower-case names whose whole value is secret (beyond the built-ins) */
    size_t n_headers;
    char **fields; /* lower-case substrings, '-' written as '_' */
    size_t n_fields;
};

/* One value to swap for a placeholder: bytes [start, start + len) of the text. */
struct rp__scrub_edit {
    size_t start;
    size_t len;
    char name[RP_MAX_SECRET_NAME + 1]; /* the placeholder's stem */
    const char *what;                  /* "card number", "secret field"… (static) */
    const char *literal; /* NULL: a placeholder; else this text instead (static): "0" */
    char place[RP__SCRUB_PLACE_MAX + 1]; /* "request header Authorization", "response body $.a" */
};

struct rp__scrub_edits {
    struct rp__scrub_edit *v;
    size_t n;
    size_t cap;
};

struct rp__scrub_level;

/* What one scan looks at, and where the edits go. */
struct rp__scrub_scan {
    const struct rp_scrub *s;
    struct rp__scrub_edits *ed;
    bool request;      /* the request's rules, else the response's */
    bool lint;         /* lint's wider net: JWTs too */
    const char *where; /* "request body", "query", "response header Set-Cookie"… */
    /* While a JSON text is scanned: its open containers, for a finding's path (scan.c). */
    const char *json;
    size_t json_len;
    const struct rp__scrub_level *levels;
    size_t depth;
};

/* True when the n bytes at v are one placeholder, {{secret:NAME}} or {{var:NAME}}. */
bool rp__scrub_is_placeholder(const char *v, size_t n);

/* The scanners (scan.c): each adds, in increasing order, the edits for one text. */
void rp__scrub_scan_header(struct rp__scrub_scan *c, const struct rp_header *h);
void rp__scrub_scan_query(struct rp__scrub_scan *c, const char *url, size_t n);
/* A body of media type mt whose Content-Type header is ct. */
void rp__scrub_scan_body(struct rp__scrub_scan *c, const struct rp_header *ct, const char *mt,
                         const char *p, size_t n);

#endif /* REPRISE_SCRUB_INTERNAL_H */
