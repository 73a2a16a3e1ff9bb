/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes through tenant rewriting (as text and as a whole request),
 * template expansion and secret filling. Seeds: tests/data/rewrite/.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/redact.h>
#include <reprise/rewrite.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rp_rewriter *rw;

/* Rules chosen to cover each encoding: plain, longest-first, chaining, non-ASCII, astral,
 * '/' and '"' (JSON escapes), and a space (percent and form encodings). */
static const char *const rules[] = {
    "acme",
    "acme-r1x",
    "acme-eu",
    "eu-r1x",
    "\xC3\x9Cn\xC3\xAF"
    "code Co",
    "x y",
    "a",
    "ab",
    "ab",
    "x",
    "co\xF0\x9F\x98\x80",
    "n\xF0\x9F\x98\x8E",
    "acme/eu",
    "q\"r\\s",
    NULL,
};

/* Names starting with 'm' are missing; the others get a value every encoder must escape. */
static const char *lookup(void *ud, const char *name)
{
    (void)ud;
    return name[0] == 'm' ? NULL : "v\"al/ue \\ \xC3\xBC %+&\t";
}

static int visit(void *ud, const char *name)
{
    size_t *n = ud;
    *n += strlen(name);
    return 0;
}

static const char *const media[] = {
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "image/png",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rw) {
        rw = rp_rewriter_new();
        for (size_t i = 0; rules[i]; i += 2) {
            if (rp_rewriter_add(rw, rules[i], rules[i + 1], NULL)) {
                abort();
            }
        }
    }

    size_t len = 0;
    char *out = rp_rewrite_text(rw, (const char *)data, size, &len);
    if (out) {
        if (out[len] != '\0') {
            abort();
        }
        free(out);
    }

    /* The template is the input up to its first NUL. */
    char *text = rp_xstrndup((const char *)data, size);
    struct rp_template_ctx ctx = {"r7k2m9q4", "1", "acme", 0};
    if (size >= 8) {
        uint64_t t;
        memcpy(&t, data, sizeof(t));
        ctx.now_us = (int64_t)t;
    }
    char *expanded = NULL;
    if (rp_template_expand(text, &ctx, &expanded, NULL) == RP_OK) {
        free(expanded);
    }

    /* A request built of the input: URL, a header value, a body of the media type the first
     * byte picks. */
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.url = text;
    const char *mt = media[size ? data[0] % 4 : 0];
    if (rp_headers_add(&ex.req.headers, "Content-Type", 12, mt, strlen(mt), NULL) ||
        rp_headers_add(&ex.req.headers, "Content-Length", 14, "0", 1, NULL) ||
        rp_headers_add(&ex.req.headers, "Cookie", 6, text, strlen(text), NULL)) {
        abort();
    }
    rp_body_set(&ex.req.body, data, size);
    size_t count = 0;
    rp_ignore(rp_rewrite_request(rw, &ex.req, &count, NULL));
    size_t names = 0;
    rp_secrets_each(&ex.req, visit, &names);
    rp_ignore(rp_secrets_fill(&ex.req, lookup, NULL, NULL));
    rp_exchange_cleanup(&ex);
    return 0;
}
