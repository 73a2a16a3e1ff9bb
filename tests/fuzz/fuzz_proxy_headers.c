/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes as a header block through the proxy's own header handling
 * (end-of-block search, request and response rewriting, header lookup). Seeds: any HTTP
 * request or response head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>

#include "proxy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rp_proxy p;
    static char upstream[] = "https://shop.example.com:8443";
    static char hostport[] = "shop.example.com:8443";
    p.upstream = upstream;
    p.up_hostport = hostport;
    const char *s = (const char *)data;
    size_t end = rp__proxy_head_end(s, size);
    if (end > size) {
        abort();
    }
    size_t len = end ? end : size;

    struct rp_buf out, back;
    rp_buf_init(&out, 2 * (size_t)RP_MAX_HEADER_BYTES);
    rp_buf_init(&back, 2 * (size_t)RP_MAX_HEADER_BYTES);
    char *host = NULL;
    if (rp__proxy_rewrite_request(&p, s, len, &out, &host) && out.len) {
        /* The rewritten block, read again as a response with the client's Host. */
        (void)rp__proxy_rewrite_response(&p, host, out.data, out.len, &back);
    }
    free(host);
    rp_buf_reset(&out);
    (void)rp__proxy_rewrite_response(&p, "127.0.0.1:8080", s, len, &out);
    (void)rp__proxy_head_has(s, len, "Upgrade", "websocket");
    (void)rp__proxy_head_has(s, len, "Content-Encoding", "");
    rp_buf_cleanup(&out);
    rp_buf_cleanup(&back);
    return 0;
}
