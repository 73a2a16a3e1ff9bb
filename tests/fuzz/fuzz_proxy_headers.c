/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes as a header block through the proxy's own header handling
 * (end-of-block search, request and response rewriting in both modes, header lookup) and
 * forward mode's reading of a request line and of the origin it names. Seeds: any HTTP request
 * or response head, CONNECT and absolute-form requests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>

#include "proxy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rp__origin o;
    static char url[] = "https://shop.example.com:8443";
    static char hostport[] = "shop.example.com:8443";
    o.url = url;
    o.hostport = hostport;
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
    if (rp__proxy_rewrite_request(&o, false, NULL, s, len, &out, &host) && out.len) {
        /* The rewritten block, read again as a response with the client's Host. */
        (void)rp__proxy_rewrite_response(&o, host, out.data, out.len, &back);
    }
    free(host);
    host = NULL;
    rp_buf_reset(&out);
    (void)rp__proxy_rewrite_response(&o, "127.0.0.1:8080", s, len, &out);
    (void)rp__proxy_head_has(s, len, "Upgrade", "websocket");
    (void)rp__proxy_head_has(s, len, "Content-Encoding", "");

    /* Forward mode: the request line, the origin its target names, the origin-form rewrite. */
    char *method = NULL;
    char *target = NULL;
    if (rp__proxy_request_line(s, len, &method, &target)) {
        struct rp__origin fwd;
        memset(&fwd, 0, sizeof(fwd));
        const char *t = strstr(target, "://");
        t = t ? t + 3 : target;
        if (rp__origin_set(&fwd, t != target, t, strcspn(t, "/?#"))) {
            if (!fwd.host || !fwd.hostport || !fwd.url || fwd.port == 0) {
                abort();
            }
            rp_buf_reset(&out);
            (void)rp__proxy_rewrite_request(&fwd, true, "/x", s, len, &out, &host);
            free(host);
        }
        rp__origin_cleanup(&fwd);
    }
    free(method);
    free(target);
    rp_buf_cleanup(&out);
    rp_buf_cleanup(&back);
    return 0;
}
