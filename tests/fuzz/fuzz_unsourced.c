/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the unsourced-id finder. The input is cut at "\n--\n" into a response
 * header value, a response body, a later request's URL (path and query) and its body (JSON or
 * form by the first byte's flags). Both exchanges are learnt by a correlator and the finder, and
 * every unsourced value found is formatted as a listing would. The request's GraphQL operation,
 * when it has one, must be a GraphQL name (abort otherwise).
 */
/* Results are dropped with rp_ignore(): on hostile input every failure is an expected outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/correlate.h>

#include "fuzz_parts.h"

#define PARTS 4

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
    ex[0].req.method = strdup("GET");
    ex[0].req.url = strdup("https://f.test/t/acme/api/orders");
    ex[0].has_response = true;
    ex[0].resp.status = 200;
    rp_ignore(
        rp_headers_add(&ex[0].resp.headers, "Location", 8, (const char *)part[0], len[0], NULL));
    rp_body_set(&ex[0].resp.body, part[1], len[1]);

    /* URLs are C strings in the data model: a NUL would only cut them short. */
    size_t ul = len[2] + 32;
    char *url = malloc(ul);
    if (!url) {
        abort();
    }
    int k = snprintf(url, ul, "https://f.test/");
    for (size_t i = 0; i < len[2]; i++) {
        url[(size_t)k + i] = part[2][i] ? (char)part[2][i] : ' ';
    }
    url[(size_t)k + len[2]] = '\0';
    ex[1].seq = 2;
    ex[1].req.method = strdup((flags & 1) ? "GET" : "POST");
    ex[1].req.url = url;
    const char *rtype = (flags & 2) ? "application/x-www-form-urlencoded" : "application/json";
    rp_ignore(rp_headers_add(&ex[1].req.headers, "Content-Type", 12, rtype, strlen(rtype), NULL));
    rp_body_set(&ex[1].req.body, part[3], len[3]);

    struct rp_correlator *c = rp_correlator_new();
    struct rp_unsourced_finder *u = rp_unsourced_finder_new();
    rp_unsourced_finder_tenant(u, "acme");
    if (flags & 4) {
        rp_unsourced_finder_const(u, "17");
    }
    for (size_t i = 0; i < 2; i++) {
        rp_ignore(rp_correlator_learn(c, &ex[i], NULL));
        rp_unsourced_finder_learn(u, c, &ex[i]);
    }
    /* The request body's GraphQL operation, as a step name shows it: a GraphQL name or none. */
    char *op = rp_graphql_operation(&ex[1].req);
    if (op && (!op[0] || strlen(op) > RP_GRAPHQL_NAME_MAX ||
               strspn(op, "_0123456789"
                          "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(op))) {
        abort();
    }
    free(op);
    for (size_t i = 0; i < rp_unsourced_count(u); i++) {
        char buf[64];
        rp_location_format(&rp_unsourced_get(u, i)->where, buf, sizeof(buf));
    }
    rp_ignore(rp_unsourced_first(u, 2) <= rp_unsourced_count(u) ? RP_OK : RP_EINTERNAL);

    rp_unsourced_finder_free(u);
    rp_correlator_free(c);
    rp_exchange_cleanup(&ex[0]);
    rp_exchange_cleanup(&ex[1]);
    return 0;
}
