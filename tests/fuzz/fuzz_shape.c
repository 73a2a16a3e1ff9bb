/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for shapes. The input up to its first NUL is a shape's JSON form, fed to
 * rp_shape_from_json; the rest is a response body matched against it. Besides not crashing or
 * leaking, it checks two properties and aborts when one fails: a shape written back with
 * rp_shape_to_json reads again and matches exactly as before, and a body always matches the
 * shape inferred from it, before and after that trip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/shape.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_shape: %s\n", what);
    abort();
}

/* Matches body (n bytes) as a 200 application/json response; m is initialised here. */
static bool match(const struct rp_shape *s, const char *body, size_t n, struct rp_mismatches *m)
{
    struct rp_response r;
    memset(&r, 0, sizeof(r));
    rp_headers_init(&r.headers);
    r.status = 200;
    if (rp_headers_add(&r.headers, "Content-Type", 12, "application/json", 16, NULL)) {
        fail("rp_headers_add");
    }
    rp_body_set(&r.body, body, n);
    rp_mismatches_init(m);
    bool ok = rp_shape_match(s, &r, m);
    rp_headers_cleanup(&r.headers);
    rp_body_cleanup(&r.body);
    return ok;
}

static bool same(const struct rp_mismatches *a, const struct rp_mismatches *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].path, b->v[i].path) || strcmp(a->v[i].message, b->v[i].message)) {
            return false;
        }
    }
    return true;
}

/* Writes s to JSON and back; the copy must match body exactly as s does. */
static void round_trip(const struct rp_shape *s, const char *body, size_t n)
{
    char *text = rp_shape_to_json(s);
    struct rp_shape *back = NULL;
    struct rp_error err = {0};
    if (rp_shape_from_json(text, strlen(text), &back, &err)) {
        fprintf(stderr, "fuzz_shape: %s\n%s\n", err.msg, text);
        fail("rp_shape_to_json wrote what rp_shape_from_json refuses");
    }
    struct rp_mismatches a, b;
    bool ra = match(s, body, n, &a);
    bool rb = match(back, body, n, &b);
    if (ra != rb || !same(&a, &b)) {
        fail("a shape matches differently after a trip through JSON");
    }
    rp_mismatches_cleanup(&a);
    rp_mismatches_cleanup(&b);
    rp_shape_free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t shape_len = nul ? (size_t)(nul - data) : size;
    size_t body_len = nul ? size - shape_len - 1 : 0;
    /* Exact-size copies, so that a read past either part is caught. */
    char *shape_text = malloc(shape_len ? shape_len : 1);
    char *body = malloc(body_len ? body_len : 1);
    if (!shape_text || !body) {
        fail("out of memory");
    }
    memcpy(shape_text, data, shape_len);
    if (body_len) {
        memcpy(body, nul + 1, body_len);
    }

    struct rp_shape *s = NULL;
    if (rp_shape_from_json(shape_text, shape_len, &s, NULL) == RP_OK) {
        round_trip(s, body, body_len);
        rp_shape_free(s);
    }

    struct rp_response rec;
    memset(&rec, 0, sizeof(rec));
    rp_headers_init(&rec.headers);
    rec.status = 200;
    if (rp_headers_add(&rec.headers, "Content-Type", 12, "application/json", 16, NULL)) {
        fail("rp_headers_add");
    }
    rp_body_set(&rec.body, body, body_len);
    struct rp_shape *inferred = rp_shape_infer(&rec);
    struct rp_mismatches m;
    if (!match(inferred, body, body_len, &m)) {
        for (size_t i = 0; i < m.n; i++) {
            fprintf(stderr, "  %s: %s\n", m.v[i].path, m.v[i].message);
        }
        fail("a body does not match the shape inferred from it");
    }
    rp_mismatches_cleanup(&m);
    round_trip(inferred, body, body_len);
    rp_shape_free(inferred);
    rp_headers_cleanup(&rec.headers);
    rp_body_cleanup(&rec.body);
    free(shape_text);
    free(body);
    return 0;
}
