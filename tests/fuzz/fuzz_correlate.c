/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for correlation. The input is cut at "\n--\n" into pseudo-exchange parts:
 * a response body (JSON or HTML by the first byte's flags), a Location/Set-Cookie/Link value, a
 * later request's URL, its body (JSON — GraphQL when it holds a "query" —, form or multipart), a
 * header value, and a live response body. It learns the two exchanges, then replays the second
 * with a session fed the live response. Flag 4 declares binds to every kind of place.
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/correlate.h>

#include "fuzz_parts.h"

#define PARTS 6

static char *text(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) {
        abort();
    }
    /* URLs are C strings in the data model: a NUL would only cut them short. */
    for (size_t i = 0; i < n; i++) {
        s[i] = p[i] ? (char)p[i] : ' ';
    }
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    const uint8_t *p = data + 1;
    const uint8_t *end = data + size;
    const uint8_t *part[PARTS];
    size_t len[PARTS];
    fuzz_split(p, end, part, len, PARTS);

    struct rp_exchange ex[2];
    rp_exchange_init(&ex[0]);
    rp_exchange_init(&ex[1]);

    ex[0].seq = 1;
    ex[0].req.method = strdup("POST");
    ex[0].req.url = strdup("https://f.test/t/acme/api/orders");
    ex[0].has_response = true;
    ex[0].resp.status = 201;
    const char *ctype = (flags & 1) ? "text/html" : "application/json";
    rp_ignore(rp_headers_add(&ex[0].resp.headers, "Content-Type", 12, ctype, strlen(ctype), NULL));
    const char *src_hdr = (flags & 8) ? "Set-Cookie" : (flags & 128) ? "Link" : "Location";
    rp_ignore(rp_headers_add(&ex[0].resp.headers, src_hdr, strlen(src_hdr), (const char *)part[1],
                             len[1], NULL));
    rp_body_set(&ex[0].resp.body, part[0], len[0]);

    char *path = text(part[2], len[2]);
    size_t ul = strlen(path) + 32;
    ex[1].seq = 2;
    ex[1].req.method = strdup("POST");
    ex[1].req.url = malloc(ul);
    if (!ex[1].req.url) {
        abort();
    }
    snprintf(ex[1].req.url, ul, "%s%s", (flags & 16) ? "" : "https://f.test/", path);
    free(path);
    const char *rtype = (flags & 64)  ? "multipart/form-data; boundary=b"
                        : (flags & 2) ? "application/x-www-form-urlencoded"
                                      : "application/json";
    rp_ignore(rp_headers_add(&ex[1].req.headers, "Content-Type", 12, rtype, strlen(rtype), NULL));
    rp_ignore(rp_headers_add(&ex[1].req.headers, (flags & 32) ? "Cookie" : "X-Token",
                             (flags & 32) ? 6 : 7, (const char *)part[4], len[4], NULL));
    rp_body_set(&ex[1].req.body, part[3], len[3]);
    ex[1].has_response = true;
    ex[1].resp.status = 200;

    struct rp_correlator *c = rp_correlator_new();
    if (flags & 4) {
        rp_ignore(rp_correlator_bind(c, "a", "$.a[0].b", NULL));
        rp_ignore(rp_correlator_bind(c, "t", "$.t", NULL));
        rp_ignore(rp_correlator_bind(c, "u", "$.u#1", NULL));
        rp_ignore(rp_correlator_bind(c, "l", "header:Location#1", NULL));
        rp_ignore(rp_correlator_bind(c, "k", "header:Link#0", NULL));
        rp_ignore(rp_correlator_bind(c, "s", "cookie:s", NULL));
        rp_ignore(rp_correlator_bind(c, "p", "html:select[name=p]", NULL));
        rp_ignore(rp_correlator_bind(c, "r", "regex:id=([0-9a-z]+)", NULL));
    }
    rp_ignore(rp_correlator_learn(c, &ex[0], NULL));
    rp_ignore(rp_correlator_learn(c, &ex[1], NULL));
    for (size_t i = 0; i < rp_correlator_count(c); i++) {
        char buf[64];
        rp_location_format(&rp_correlator_get(c, i)->from, buf, sizeof(buf));
        rp_location_format(&rp_correlator_get(c, i)->to, buf, sizeof(buf));
    }

    struct rp_response live;
    memset(&live, 0, sizeof(live));
    live.status = 200;
    rp_headers_init(&live.headers);
    rp_ignore(rp_headers_add(&live.headers, "Content-Type", 12, ctype, strlen(ctype), NULL));
    rp_ignore(rp_headers_add(&live.headers, src_hdr, strlen(src_hdr), (const char *)part[5], len[5],
                             NULL));
    rp_body_set(&live.body, part[5], len[5]);

    struct rp_corr_session *s = rp_corr_session_new(c);
    rp_corr_session_observe(s, 1, &live);
    size_t missing = 0;
    rp_ignore(rp_corr_session_apply(s, 2, &ex[1].req, &missing, NULL));
    rp_corr_session_free(s);

    rp_headers_cleanup(&live.headers);
    rp_body_cleanup(&live.body);
    rp_correlator_free(c);
    rp_exchange_cleanup(&ex[0]);
    rp_exchange_cleanup(&ex[1]);
    return 0;
}
