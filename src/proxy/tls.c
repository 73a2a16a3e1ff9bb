/* SPDX-License-Identifier: MIT */
/*
 * The transports: plain TCP or TLS through OpenSSL on non-blocking sockets. Upstream TLS is
 * verified (system CAs or --cacert, the host name or IP checked) unless --insecure and offers
 * only http/1.1 by ALPN since the relay speaks HTTP/1.x; the client side of an intercepted
 * CONNECT uses the CA's contexts (reprise/ca.h) through the same read and write functions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "internal.h"

rp_code rp__proxy_tls_init(struct rp_proxy *p, struct rp_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        return rp_error_set(err, RP_ETLS, "cannot create a TLS context");
    }
    rp_code rc = RP_ETLS;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* The relay queue compacts and grows, so a retried write may come from another address. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char alpn[] = "\x08http/1.1";
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        rp_error_set(err, RP_ETLS, "cannot set ALPN");
        goto out;
    }
    if (p->o.insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = p->o.cacert ? SSL_CTX_load_verify_locations(ctx, p->o.cacert, NULL)
                             : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            rp_error_set(err, RP_ETLS, "%s: cannot load CA certificates",
                         p->o.cacert ? p->o.cacert : "system store");
            goto out;
        }
    }
    p->ssl_ctx = ctx;
    ctx = NULL;
    rc = RP_OK;
out:
    SSL_CTX_free(ctx);
    return rc;
}

void rp__proxy_tls_start(struct rp_proxy *p, struct rp__conn *c)
{
    const char *host = c->org->host;
    c->ssl = SSL_new(p->ssl_ctx);
    if (!c->ssl) {
        return; /* the handshake then fails and says so */
    }
    SSL_set_fd(c->ssl, c->ufd);
    SSL_set_connect_state(c->ssl);
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if (!is_ip) {
        SSL_set_tlsext_host_name(c->ssl, host);
    }
    if (!p->o.insecure) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip) {
            X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        } else {
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
        }
    }
}

int rp__proxy_tls_handshake(SSL *ssl, bool *want_write, char *msg, size_t msgsz)
{
    if (!ssl) {
        snprintf(msg, msgsz, "TLS: cannot start a session");
        return -1;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *want_write = false;
        return 1;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    long vr = SSL_is_server(ssl) ? X509_V_OK : SSL_get_verify_result(ssl);
    unsigned long ec = ERR_get_error();
    if (vr != X509_V_OK) {
        snprintf(msg, msgsz, "TLS: certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    } else if (ec) {
        char buf[200];
        ERR_error_string_n(ec, buf, sizeof(buf));
        snprintf(msg, msgsz, "TLS handshake failed: %s", buf);
    } else {
        snprintf(msg, msgsz, "TLS handshake failed: the peer closed the connection");
    }
    return -1;
}

long rp__proxy_sock_read(int fd, SSL *ssl, bool *want_write, void *buf, size_t n)
{
    if (!ssl) {
        ssize_t k = read(fd, buf, n);
        if (k > 0) {
            return (long)k;
        }
        if (k == 0) {
            return 0;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
    }
    int want = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
    ERR_clear_error();
    int k = SSL_read(ssl, buf, want);
    if (k > 0) {
        *want_write = false;
        return k;
    }
    int e = SSL_get_error(ssl, k);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return -1;
    }
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
}

long rp__proxy_sock_write(int fd, SSL *ssl, bool *want_write, const void *buf, size_t n)
{
    if (!ssl) {
        ssize_t k = send(fd, buf, n, MSG_NOSIGNAL);
        if (k >= 0) {
            return (long)k;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
    }
    int want = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
    ERR_clear_error();
    int k = SSL_write(ssl, buf, want);
    if (k > 0) {
        *want_write = false;
        return k;
    }
    int e = SSL_get_error(ssl, k);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return -1;
    }
    return -2;
}
