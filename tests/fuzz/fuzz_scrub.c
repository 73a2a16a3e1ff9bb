/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes through the scrubber and lint (scrub.h) and the secret
 * looks (secret_int.h). The input is cut at "\n--\n" into a URL, a request header value, a
 * request body and a response body; its first byte picks the bodies' media types. Scrubbing
 * twice must change nothing more. Seeds: tests/data/scrub/.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/scrub.h>

#include "fuzz_parts.h"
#include "secret_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const media[] = {
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=B",
    "text/html",
};

static void count(void *ud, const struct rp_scrub_finding *f)
{
    size_t *n = ud;
    *n += strlen(f->place) + strlen(f->what) + f->len;
}

static void add(struct rp_headers *h, const char *name, const uint8_t *v, size_t n)
{
    rp_ignore(rp_headers_add(h, name, strlen(name), (const char *)v, n, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    unsigned pick = data[0];
    const uint8_t *part[4];
    size_t len[4];
    fuzz_split(data + 1, data + size, part, len, 4);

    size_t pos = 0, at = 0, n = 0;
    while (rp__secret_next((const char *)part[2], len[2], &pos, RP__SECRET_ALL, &at, &n) !=
           RP__SECRET_NONE) {
    }
    (void)rp__secret_high_entropy((const char *)part[1], len[1]);

    struct rp_exchange ex;
    rp_exchange_init(&ex);
    ex.req.method = rp_xstrdup("POST");
    ex.req.url = rp_xstrndup((const char *)part[0], strnlen((const char *)part[0], len[0]));
    add(&ex.req.headers, "Content-Type", (const uint8_t *)media[pick % 4], strlen(media[pick % 4]));
    add(&ex.req.headers, (pick & 4) ? "Authorization" : "X-Client-Key", part[1], len[1]);
    add(&ex.req.headers, "Cookie", part[1], len[1]);
    rp_body_set(&ex.req.body, part[2], len[2]);
    ex.has_response = true;
    ex.resp.status = 200;
    add(&ex.resp.headers, "Content-Type", (const uint8_t *)media[(pick >> 3) % 4],
        strlen(media[(pick >> 3) % 4]));
    add(&ex.resp.headers, "Set-Cookie", part[1], len[1]);
    rp_body_set(&ex.resp.body, part[3], len[3]);

    struct rp_scrub *s = rp_scrub_new();
    size_t sum = 0;
    (void)rp_scrub_lint_exchange(s, &ex, count, &sum);
    if (rp_scrub_exchange(s, &ex, NULL) == RP_OK) {
        struct rp_exchange once;
        rp_exchange_init(&once);
        if (rp_exchange_copy(&once, &ex, NULL) == RP_OK &&
            rp_scrub_exchange(s, &ex, NULL) == RP_OK) {
            if (ex.req.body.len != once.req.body.len || ex.resp.body.len != once.resp.body.len ||
                strcmp(ex.req.url, once.req.url) != 0) {
                abort(); /* scrubbing is idempotent */
            }
        }
        rp_exchange_cleanup(&once);
        (void)rp_scrub_lint_exchange(s, &ex, count, &sum);
    }
    rp_scrub_free(s);
    rp_exchange_cleanup(&ex);
    return 0;
}
