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

/* Adds one element of "exchanges" to set; errors name the exchange and the file. */
static rp_code load_exchange(struct rp_shapeset *set, const char *path, size_t index,
                             const cJSON *x, struct rp_error *err)
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
    struct rp_shape *shape = NULL;
    rp_code rc = rp__shape_from_cjson(x, &shape, err);
    if (rc) {
        /* Not return rp_error_prefix(): with err NULL it returns RP_OK. */
        rp_error_prefix(err, "%s: exchange %llu", path, s);
        return rc;
    }
    rp_shapeset_put(set, seq, cJSON_IsString(label) ? label->valuestring : NULL, shape);
    return RP_OK;
}

rp_code rp_shapeset_load(const char *path, struct rp_shapeset **out, struct rp_error *err)
{
    rp_code rc = RP_EFORMAT;
    struct rp_shapeset *set = NULL;
    cJSON *doc = NULL;
    struct rp_buf text;
    rp_buf_init(&text, RP_MAX_SHAPE_FILE_BYTES);
    rc = read_all(path, &text, err);
    if (rc) {
        goto out;
    }
    size_t off = 0;
    doc = rp__json_parse(text.data, text.len, &off);
    if (!doc) {
        size_t line = 1;
        for (size_t i = 0; i < off && i < text.len; i++) {
            line += text.data[i] == '\n';
        }
        rc = rp_error_set(err, RP_EFORMAT, "%s: invalid JSON at line %zu", path, line);
        goto out;
    }
    const cJSON *v =
        cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "reprise_shape") : NULL;
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
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "recording");
    if (name && !cJSON_IsString(name) && !cJSON_IsNull(name)) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"recording\" is not a string", path);
        goto out;
    }
    const cJSON *exchanges = cJSON_GetObjectItemCaseSensitive(doc, "exchanges");
    if (!exchanges) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"exchanges\" is missing", path);
        goto out;
    }
    if (!cJSON_IsArray(exchanges)) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: \"exchanges\" is not an array", path);
        goto out;
    }
    set = rp_shapeset_new(cJSON_IsString(name) ? name->valuestring : NULL);
    size_t index = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, exchanges)
    {
        if (index == RP_MAX_SHAPES) {
            rc = rp_error_set(err, RP_ETOOBIG, "%s: more than %u exchanges", path, RP_MAX_SHAPES);
            goto out;
        }
        rc = load_exchange(set, path, index, x, err);
        if (rc) {
            goto out;
        }
        index++;
    }
    *out = set;
    set = NULL;
    rc = RP_OK;
out:
    rp_shapeset_free(set);
    cJSON_Delete(doc);
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
