/* SPDX-License-Identifier: MIT */
/*
 * Shape files (docs/shape-file.md): the shapes of one recording's exchanges, by seq, held in an
 * array with an open-addressing index so that a lookup costs O(1) at any size, read from and
 * written to NAME.shape.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../jscan_int.h"
#include "internal.h"

struct entry {
    uint64_t seq;
    char *label;
    struct rp_shape *shape;
};

struct rp_shapeset {
    char *name;
    struct entry *v;
    size_t n;
    size_t cap;
    size_t *slots;  /* index into v plus one; 0 is an empty slot */
    size_t n_slots; /* a power of two, at least twice n */
};

struct rp_shapeset *rp_shapeset_new(const char *recording_name)
{
    struct rp_shapeset *set = rp_xcalloc(1, sizeof(*set));
    set->name = rp_xstrdup(recording_name);
    return set;
}

void rp_shapeset_free(struct rp_shapeset *set)
{
    if (!set) {
        return;
    }
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].label);
        rp_shape_free(set->v[i].shape);
    }
    free(set->v);
    free(set->slots);
    free(set->name);
    free(set);
}

/* splitmix64's finaliser: seqs are consecutive, and must not land in consecutive slots. */
static size_t hash(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

/* The slot holding seq, or the empty slot where it would go. The table is never full. */
static size_t *slot_for(const struct rp_shapeset *set, uint64_t seq)
{
    size_t mask = set->n_slots - 1;
    size_t i = hash(seq) & mask;
    for (;;) {
        size_t e = set->slots[i];
        if (e == 0 || set->v[e - 1].seq == seq) {
            return &set->slots[i];
        }
        i = (i + 1) & mask;
    }
}

static void grow_slots(struct rp_shapeset *set)
{
    size_t n = set->n_slots ? set->n_slots * 2 : 16;
    free(set->slots);
    set->slots = rp_xcalloc(n, sizeof(*set->slots));
    set->n_slots = n;
    for (size_t i = 0; i < set->n; i++) {
        *slot_for(set, set->v[i].seq) = i + 1;
    }
}

void rp_shapeset_put(struct rp_shapeset *set, uint64_t seq, const char *label, struct rp_shape *s)
{
    if (!s) {
        return;
    }
    if ((set->n + 1) * 2 > set->n_slots) {
        grow_slots(set);
    }
    size_t *slot = slot_for(set, seq);
    if (*slot) {
        struct entry *e = &set->v[*slot - 1];
        rp_shape_free(e->shape);
        e->shape = s;
        free(e->label);
        e->label = rp_xstrdup(label);
        return;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        set->v = rp_xreallocarray(set->v, cap, sizeof(*set->v));
        set->cap = cap;
    }
    set->v[set->n] = (struct entry){.seq = seq, .label = rp_xstrdup(label), .shape = s};
    set->n++;
    *slot = set->n;
}

const struct rp_shape *rp_shapeset_get(const struct rp_shapeset *set, uint64_t seq)
{
    if (set->n_slots == 0) {
        return NULL;
    }
    size_t e = *slot_for(set, seq);
    return e ? set->v[e - 1].shape : NULL;
}

struct rp_shape *rp__shapeset_get_mut(struct rp_shapeset *set, uint64_t seq)
{
    if (set->n_slots == 0) {
        return NULL;
    }
    size_t e = *slot_for(set, seq);
    return e ? set->v[e - 1].shape : NULL;
}

const char *rp__shapeset_label(const struct rp_shapeset *set, uint64_t seq)
{
    if (set->n_slots == 0) {
        return NULL;
    }
    size_t e = *slot_for(set, seq);
    return e ? set->v[e - 1].label : NULL;
}

size_t rp_shapeset_count(const struct rp_shapeset *set)
{
    return set->n;
}

/* ----- loading ----------------------------------------------------------------------------- */

static rp_code read_all(const char *path, struct rp_buf *b, struct rp_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return rp_error_set(err, e == ENOENT ? RP_ENOTFOUND : RP_EIO, "%s: %s", path, strerror(e));
    }
    rp_code rc = RP_OK;
    char chunk[65536];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0) {
            break;
        }
        if (rp_buf_add(b, chunk, n, NULL)) {
            rc = rp_error_set(err, RP_ETOOBIG, "%s: larger than %u bytes", path,
                              RP_MAX_SHAPE_FILE_BYTES);
            break;
        }
    }
    if (!rc && ferror(f)) {
        rc = rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
    }
    fclose(f);
    return rc;
}

/* A whole number from 0 to 2^53 (past it a double no longer holds every integer). */
static bool get_seq(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) {
        return false;
    }
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) {
        return false;
    }
    *out = (uint64_t)d;
    return true;
}

/*
 * The distinct shapes met while a file loads, by their text. Most exchanges of a recording
 * share their shape with others (every GET of one endpoint), so the set holds each distinct
 * shape compiled once and its exchanges point to it: 1.2 KB a shape becomes a hundred bytes
 * an exchange. The table, texts and all, is freed once the file is loaded.
 */
struct distinct {
    uint64_t *hashes;
    char **keys;
    struct rp_shape **shapes;
    size_t n;
    size_t n_slots; /* a power of two, at least twice n */
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    }
    return h;
}

static void distinct_cleanup(struct distinct *d)
{
    for (size_t i = 0; i < d->n_slots; i++) {
        free(d->keys[i]);
    }
    free(d->hashes);
    free(d->keys);
    free(d->shapes);
    *d = (struct distinct){0};
}

/* The slot of key (hash h), or the empty slot where it would go. */
static size_t distinct_slot(const struct distinct *d, uint64_t h, const char *key)
{
    size_t mask = d->n_slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (!d->keys[i] || (d->hashes[i] == h && strcmp(d->keys[i], key) == 0)) {
            return i;
        }
    }
}

/* Remembers shape s (owned by the set) under key (taken). */
static void distinct_add(struct distinct *d, uint64_t h, char *key, struct rp_shape *s)
{
    if ((d->n + 1) * 2 > d->n_slots) {
        struct distinct old = *d;
        d->n_slots = old.n_slots ? old.n_slots * 2 : 64;
        d->hashes = rp_xcalloc(d->n_slots, sizeof(*d->hashes));
        d->keys = rp_xcalloc(d->n_slots, sizeof(*d->keys));
        d->shapes = rp_xcalloc(d->n_slots, sizeof(*d->shapes));
        for (size_t i = 0; i < old.n_slots; i++) {
            if (old.keys[i]) {
                size_t j = distinct_slot(d, old.hashes[i], old.keys[i]);
                d->hashes[j] = old.hashes[i];
                d->keys[j] = old.keys[i];
                d->shapes[j] = old.shapes[i];
            }
        }
        free(old.hashes);
        free(old.keys);
        free(old.shapes);
    }
    size_t i = distinct_slot(d, h, key);
    d->hashes[i] = h;
    d->keys[i] = key;
    d->shapes[i] = s;
    d->n++;
}

/* Appends the member key of x as cJSON prints it (or "-" when absent), then a separator. */
static void key_part(struct rp_buf *b, const cJSON *x, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(x, key);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    /* The buffer's cap is far above any shape's text: the adds cannot fail. */
    rp_ignore(rp_buf_adds(b, text ? text : "-", NULL));
    rp_ignore(rp_buf_addc(b, '\x01', NULL));
    cJSON_free(text);
}

/*
 * The text of what a shape is compiled from (rp__shape_from_cjson reads "status",
 * "media_type" and "body" and nothing else): two exchanges with the same text compile to the
 * same shape. Returns it new.
 */
static char *shape_key(const cJSON *x)
{
    struct rp_buf b;
    rp_buf_init(&b, SIZE_MAX / 2);
    key_part(&b, x, "status");
    key_part(&b, x, "media_type");
    key_part(&b, x, "body");
    return rp_buf_take(&b, NULL);
}

/* Adds one element of "exchanges" to set; errors name the exchange and the file. */
static rp_code load_exchange(struct rp_shapeset *set, struct distinct *seen, const char *path,
                             size_t index, const cJSON *x, struct rp_error *err)
{
    if (!cJSON_IsObject(x)) {
        return rp_error_set(err, RP_EFORMAT, "%s: exchanges[%zu]: not an object", path, index);
    }
    const cJSON *sq = cJSON_GetObjectItemCaseSensitive(x, "seq");
    uint64_t seq = 0;
    if (!sq) {
        return rp_error_set(err, RP_EFORMAT, "%s: exchanges[%zu]: \"seq\" is missing", path, index);
    }
    if (!get_seq(sq, &seq)) {
        return rp_error_set(err, RP_EFORMAT,
                            "%s: exchanges[%zu]: \"seq\" is not a non-negative integer", path,
                            index);
    }
    unsigned long long s = (unsigned long long)seq;
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(x, "request");
    if (label && !cJSON_IsString(label) && !cJSON_IsNull(label)) {
        return rp_error_set(err, RP_EFORMAT, "%s: exchange %llu: \"request\" is not a string", path,
                            s);
    }
    if (rp_shapeset_get(set, seq)) {
        return rp_error_set(err, RP_EFORMAT, "%s: exchange %llu: seq %llu appears twice", path, s,
                            s);
    }
    char *key = shape_key(x);
    uint64_t h = fnv1a(key, strlen(key));
    size_t slot = seen->n_slots ? distinct_slot(seen, h, key) : 0;
    struct rp_shape *shape = seen->n_slots ? seen->shapes[slot] : NULL;
    if (shape) {
        free(key);
        shape->extra_owners++; /* one more exchange holds it: see rp_shape_free */
    } else {
        rp_code rc = rp__shape_from_cjson(x, &shape, err);
        if (rc) {
            free(key);
            /* Not return rp_error_prefix(): with err NULL it returns RP_OK. */
            rp_error_prefix(err, "%s: exchange %llu", path, s);
            return rc;
        }
        distinct_add(seen, h, key, shape);
    }
    rp_shapeset_put(set, seq, cJSON_IsString(label) ? label->valuestring : NULL, shape);
    return RP_OK;
}

/*
 * What a load reads of a shape file: the first "reprise_shape", "recording" and "exchanges"
 * members of the top-level object (as cJSON's lookup finds them), from a parse of the whole
 * file, or from a scan that parses one value at a time.
 */
struct top {
    cJSON *doc;           /* the parse: the whole tree */
    cJSON *version_tree;  /* the scan: the first "reprise_shape" value alone */
    cJSON *name_tree;     /* the scan: the first "recording" value alone */
    const cJSON *version; /* NULL: absent */
    const cJSON *name;    /* NULL: absent */
    bool has_exchanges;
    bool exchanges_array;
    cJSON *exchanges; /* the parse: the array */
    const char *text; /* the scan: the file, and the offset of the array's next element or */
    size_t n;         /* of its "]" */
    size_t next;
};

static void top_cleanup(struct top *t)
{
    cJSON_Delete(t->doc);
    cJSON_Delete(t->version_tree);
    cJSON_Delete(t->name_tree);
}

/* True when the n bytes at s are one whole JSON value for cJSON; *out (may be NULL) its tree. */
static bool parse_span(const char *s, size_t n, cJSON **out)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, false);
    bool whole = j && end == s + n;
    if (whole && out) {
        *out = j;
        j = NULL;
    }
    cJSON_Delete(j);
    return whole;
}

/* The next element of the scanned exchanges array at t->next into *out (new), or NULL at its
 * end. The scan checked every element already: false only if that changed. */
static bool scan_next(struct top *t, cJSON **out)
{
    size_t i = rp__jscan_ws(t->text, t->n, t->next);
    if (i < t->n && t->text[i] == ']') {
        *out = NULL;
        return true;
    }
    size_t v0 = i;
    if (!rp__jscan_value(t->text, t->n, &i, 2) || !parse_span(t->text + v0, i - v0, out)) {
        return false;
    }
    i = rp__jscan_ws(t->text, t->n, i);
    t->next = i < t->n && t->text[i] == ',' ? i + 1 : i;
    return true;
}

/*
 * Reads the file's top level without building its whole tree: strict JSON walked with the
 * in-place scanner, every value parsed alone with cJSON (each exchange parsed and freed here
 * to check it; the load parses it again when it comes to it). False when the text is anything
 * this does not read exactly as a parse of the whole would — escaped keys, a lone surrogate
 * escape, cJSON's leniencies or limits —: the caller then parses it whole, as before.
 */
static bool scan_top(const char *s, size_t n, struct top *t)
{
    size_t i = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    for (size_t k = i; k + 2 < n; k++) {
        if (s[k] == '\\' && (s[k + 1] == 'u' || s[k + 1] == 'U') && k + 3 < n &&
            (s[k + 2] == 'd' || s[k + 2] == 'D') && s[k + 3] &&
            strchr("89abcdefABCDEF", s[k + 3])) {
            return false; /* surrogates: cJSON refuses a lone one, the scanner does not */
        }
    }
    i = rp__jscan_ws(s, n, i);
    if (i >= n || s[i] != '{') {
        return false;
    }
    i = rp__jscan_ws(s, n, i + 1);
    bool empty = i < n && s[i] == '}';
    while (!empty) {
        size_t k0 = i + 1;
        if (i >= n || s[i] != '"' || !rp__jscan_string(s, n, &i, NULL, 0, NULL, NULL) ||
            memchr(s + k0, '\\', i - 1 - k0)) {
            return false;
        }
        size_t klen = i - 1 - k0;
        i = rp__jscan_ws(s, n, i);
        if (i >= n || s[i] != ':') {
            return false;
        }
        size_t v0 = rp__jscan_ws(s, n, i + 1);
        i = v0;
        if (!rp__jscan_value(s, n, &i, 1)) {
            return false;
        }
        bool is_x = klen == 9 && memcmp(s + k0, "exchanges", 9) == 0 && !t->has_exchanges;
        if (is_x) {
            t->has_exchanges = true;
            t->exchanges_array = s[v0] == '[';
        }
        if (is_x && t->exchanges_array) {
            t->text = s;
            t->n = n;
            t->next = v0 + 1;
            for (;;) {
                cJSON *x = NULL;
                if (!scan_next(t, &x)) {
                    return false;
                }
                if (!x) {
                    break;
                }
                cJSON_Delete(x);
            }
            t->next = v0 + 1;
        } else {
            cJSON **keep = NULL;
            if (klen == 13 && memcmp(s + k0, "reprise_shape", 13) == 0 && !t->version_tree) {
                keep = &t->version_tree;
            } else if (klen == 9 && memcmp(s + k0, "recording", 9) == 0 && !t->name_tree) {
                keep = &t->name_tree;
            }
            if (!parse_span(s + v0, i - v0, keep)) {
                return false;
            }
        }
        i = rp__jscan_ws(s, n, i);
        if (i < n && s[i] == '}') {
            break;
        }
        if (i >= n || s[i] != ',') {
            return false;
        }
        i = rp__jscan_ws(s, n, i + 1);
    }
    i = rp__jscan_ws(s, n, i + 1);
    t->version = t->version_tree;
    t->name = t->name_tree;
    return i == n;
}

/* Reads the whole file as one tree (what scan_top does not read). */
static rp_code parse_top(const char *path, const char *s, size_t n, struct top *t,
                         struct rp_error *err)
{
    size_t off = 0;
    t->doc = rp__json_parse(s, n, &off);
    if (!t->doc) {
        size_t line = 1;
        for (size_t i = 0; i < off && i < n; i++) {
            line += s[i] == '\n';
        }
        return rp_error_set(err, RP_EFORMAT, "%s: invalid JSON at line %zu", path, line);
    }
    if (cJSON_IsObject(t->doc)) {
        t->version = cJSON_GetObjectItemCaseSensitive(t->doc, "reprise_shape");
        t->name = cJSON_GetObjectItemCaseSensitive(t->doc, "recording");
        t->exchanges = cJSON_GetObjectItemCaseSensitive(t->doc, "exchanges");
    }
    t->has_exchanges = t->exchanges;
    t->exchanges_array = cJSON_IsArray(t->exchanges);
    return RP_OK;
}

/* The next exchange into *out (new; NULL after the last). */
static bool next_exchange(struct top *t, cJSON **out)
{
    if (t->doc) {
        /* Each leaves the tree as it is compiled, so the tree shrinks as the set grows. */
        *out = t->exchanges->child ? cJSON_DetachItemViaPointer(t->exchanges, t->exchanges->child)
                                   : NULL;
        return true;
    }
    return scan_next(t, out);
}

rp_code rp_shapeset_load(const char *path, struct rp_shapeset **out, struct rp_error *err)
{
    rp_code rc = RP_EFORMAT;
    struct rp_shapeset *set = NULL;
    struct distinct seen = {0};
    struct top t = {0};
    struct rp_buf text;
    rp_buf_init(&text, RP_MAX_SHAPE_FILE_BYTES);
    rc = read_all(path, &text, err);
    if (rc) {
        goto out;
    }
    /* One exchange's tree at a time when the file is plain JSON (reprise writes nothing else);
     * the whole tree otherwise, with the same result and the same messages. */
    if (!scan_top(text.data, text.len, &t)) {
        top_cleanup(&t);
        t = (struct top){0};
        rc = parse_top(path, text.data, text.len, &t, err);
        rp_buf_cleanup(&text); /* parsed: only the tree is needed now */
        if (rc) {
            goto out;
        }
    }
    const cJSON *v = t.version;
    if (!v) {
        rc = rp_error_set(err, RP_EFORMAT,
                          "%s: not a reprise shape file (no \"reprise_shape\" version)", path);
        goto out;
    }
    if (!cJSON_IsNumber(v)) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"reprise_shape\" is not a version number", path);
        goto out;
    }
    if (v->valuedouble != RP_SHAPE_FILE_VERSION) {
        rc = rp_error_set(err, RP_EVERSION,
                          "%s: shape file version %g is not supported (this reprise reads "
                          "version %d)",
                          path, v->valuedouble, RP_SHAPE_FILE_VERSION);
        goto out;
    }
    const cJSON *name = t.name;
    if (name && !cJSON_IsString(name) && !cJSON_IsNull(name)) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"recording\" is not a string", path);
        goto out;
    }
    if (!t.has_exchanges) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"exchanges\" is missing", path);
        goto out;
    }
    if (!t.exchanges_array) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"exchanges\" is not an array", path);
        goto out;
    }
    set = rp_shapeset_new(cJSON_IsString(name) ? name->valuestring : NULL);
    for (size_t index = 0;; index++) {
        cJSON *x = NULL;
        if (!next_exchange(&t, &x)) {
            /* Cannot happen: scan_top parsed every exchange already. */
            rc = rp_error_set(err, RP_EFORMAT, "%s: invalid JSON in \"exchanges\"", path);
            goto out;
        }
        if (!x) {
            break;
        }
        if (index == RP_MAX_SHAPES) {
            cJSON_Delete(x);
            rc = rp_error_set(err, RP_ETOOBIG, "%s: more than %u exchanges", path, RP_MAX_SHAPES);
            goto out;
        }
        rc = load_exchange(set, &seen, path, index, x, err);
        cJSON_Delete(x);
        if (rc) {
            goto out;
        }
    }
    *out = set;
    set = NULL;
    rc = RP_OK;
out:
    distinct_cleanup(&seen);
    rp_shapeset_free(set);
    top_cleanup(&t);
    rp_buf_cleanup(&text);
    return rc;
}

/* ----- saving ------------------------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Writes s, indenting every line after the first by two tabs. */
static bool put_indented(FILE *f, const char *s)
{
    for (;;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
        if (fwrite(s, 1, n, f) != n) {
            return false;
        }
        if (!nl) {
            return true;
        }
        if (fputs("\t\t", f) == EOF) {
            return false;
        }
        s = nl + 1;
    }
}

/*
 * Writes the file exchange by exchange, as cJSON_Print would print the whole document (two
 * tabs more on every line of an exchange), so that saving 200,000 shapes never holds them all
 * as one JSON tree.
 */
static bool write_set(FILE *f, const struct rp_shapeset *set, const struct entry **sorted)
{
    bool ok = fprintf(f, "{\n\t\"reprise_shape\":\t%d,\n", RP_SHAPE_FILE_VERSION) > 0;
    if (ok && set->name) {
        cJSON *name = cJSON_CreateString(set->name);
        char *text = rp__json_print(name, false);
        ok = fprintf(f, "\t\"recording\":\t%s,\n", text) > 0;
        cJSON_free(text);
        cJSON_Delete(name);
    }
    ok = ok && fputs("\t\"exchanges\":\t[", f) != EOF;
    for (size_t i = 0; ok && i < set->n; i++) {
        const struct entry *e = sorted[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "seq", cJSON_CreateNumber((double)e->seq));
        if (e->label) {
            cJSON_AddItemToObject(o, "request", cJSON_CreateString(e->label));
        }
        /* Move status, media_type and body across, after seq and request. */
        cJSON *sc = rp__shape_to_cjson(e->shape);
        while (sc->child) {
            cJSON *item = cJSON_DetachItemViaPointer(sc, sc->child);
            char *key = item->string;
            item->string = NULL;
            cJSON_AddItemToObject(o, key, item);
            cJSON_free(key);
        }
        cJSON_Delete(sc);
        char *text = rp__json_print(o, true);
        cJSON_Delete(o);
        ok = (i == 0 || fputs(", ", f) != EOF) && put_indented(f, text);
        cJSON_free(text);
    }
    return ok && fputs("]\n}\n", f) != EOF;
}

rp_code rp_shapeset_save(const struct rp_shapeset *set, const char *path, struct rp_error *err)
{
    rp_code rc = RP_EIO;
    const struct entry **sorted = rp_xcalloc(set->n, sizeof(*sorted));
    for (size_t i = 0; i < set->n; i++) {
        sorted[i] = &set->v[i];
    }
    qsort(sorted, set->n, sizeof(*sorted), entry_cmp);
    if (strcmp(path, "-") == 0) {
        bool put = write_set(stdout, set, sorted) && fflush(stdout) == 0;
        rc = put ? RP_OK : rp_error_set(err, RP_EIO, "standard output: %s", strerror(errno));
        goto out;
    }

    /* Written beside the target and renamed over it, so a failed save keeps the old file. */
    char tmp[4096];
    int k = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    FILE *f = NULL;
    if (k < 0 || (size_t)k >= sizeof(tmp)) {
        rc = rp_error_set(err, RP_EIO, "%s: path too long", path);
        goto out;
    }
    f = fopen(tmp, "w");
    if (!f) {
        rc = rp_error_set(err, RP_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    bool ok = write_set(f, set, sorted);
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    f = NULL;
    if (!ok) {
        rc = rp_error_set(err, RP_EIO, "%s: %s", tmp, strerror(e));
        remove(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
        remove(tmp);
        goto out;
    }
    rc = RP_OK;
out:
    free(sorted);
    return rc;
}

char *rp_shape_path_for(const char *recording_path)
{
    static const char suffix[] = ".shape.json";
    size_t n = strlen(recording_path);
    if (n >= 3 && strcmp(recording_path + n - 3, ".gz") == 0) {
        n -= 3;
    }
    if (n >= 6 && strncmp(recording_path + n - 6, ".jsonl", 6) == 0) {
        n -= 6;
    }
    if (n > SIZE_MAX - sizeof(suffix)) {
        abort(); /* n came from strlen of a string in memory */
    }
    char *p = rp_xmalloc(n + sizeof(suffix));
    memcpy(p, recording_path, n);
    memcpy(p + n, suffix, sizeof(suffix));
    return p;
}
