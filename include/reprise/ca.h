/* SPDX-License-Identifier: MIT */
/*
 * The local certificate authority that lets the forward proxy see inside HTTPS: one CA per
 * user (ca.pem, and ca-key.pem readable by its owner only), created on first use, and leaf
 * certificates minted per host on the fly, signed by it and kept in memory. A browser that
 * trusts ca.pem accepts the proxy as any host; docs/ca.md says how to trust it and how to
 * remove it.
 *
 * Ownership, for the whole header: pointers passed in are borrowed for the call unless its
 * comment says the function takes them; what a function "returns new" the caller frees with
 * the matching _free(); an out-parameter is written only when the call returns RP_OK, and a
 * function that fails leaves its arguments as they were unless its comment says otherwise.
 */
#ifndef REPRISE_CA_H
#define REPRISE_CA_H

#include <openssl/ssl.h>

#include <reprise/common.h>
#include <reprise/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* File names inside the CA directory. */
#define RP_CA_CERT_FILE "ca.pem"
#define RP_CA_KEY_FILE  "ca-key.pem"

struct rp_ca;

/*
 * Writes the default CA directory to buf: $XDG_DATA_HOME/reprise when XDG_DATA_HOME is set and
 * absolute, else $HOME/.local/share/reprise. RP_EUSAGE when neither variable gives a
 * directory; RP_ETOOBIG when the path does not fit in size bytes.
 */
RP_EXTERN RP_NODISCARD rp_code rp_ca_default_dir(char *buf, size_t size, struct rp_error *err);

/*
 * Loads the CA from dir. When it has no CA and create is set, makes dir (0700, parents too)
 * and a new CA there: an EC P-256 key written 0600 (created with that mode, never widened
 * later) and a self-signed certificate valid RP_CA_VALID_DAYS days (CA:TRUE, pathlen 0,
 * keyCertSign, a subject naming reprise, this machine and the date). *created says whether it
 * was made now. Errors name the file: RP_ENOTFOUND when there is no CA and create is not set;
 * RP_EUSAGE when the key file can be read by group or others (mode shown; the fix is
 * chmod 600); RP_EFORMAT when a file is not PEM, the key does not match the certificate or the
 * certificate is not a CA; RP_EIO when a file cannot be read or written. One CA may be used by
 * one thread at a time.
 */
RP_EXTERN RP_NODISCARD rp_code rp_ca_open(const char *dir, bool create, struct rp_ca **out,
                                          bool *created, struct rp_error *err);

/* The path of the CA certificate (PEM), for the user to trust. Valid until rp_ca_free(). */
RP_EXTERN const char *rp_ca_cert_path(const struct rp_ca *ca);

/* The certificate's SHA-256 fingerprint as 64 hex digits, colon-free, lower case. */
RP_EXTERN const char *rp_ca_fingerprint(const struct rp_ca *ca);

/*
 * A server TLS context that presents host (a DNS name or an IPv4/IPv6 literal without
 * brackets) to a browser: a leaf certificate for host alone (subjectAltName DNS or IP,
 * serverAuth, valid RP_CA_LEAF_DAYS days from a day ago) signed by the CA, with the chain,
 * TLS 1.2 or later, and ALPN selecting http/1.1 (a client offering only h2 gets no ALPN
 * answer, and the handshake still succeeds). When the client's SNI names another host, the
 * handshake switches to that host's leaf. Leaves share one key made when the CA is opened, so
 * minting costs a signature, not a key generation. Contexts are cached per host (lower-cased),
 * RP_CA_MAX_LEAVES of them, least recently used dropped; the returned one is borrowed: the
 * caller's SSL_new() takes its own reference, so dropping it from the cache is safe. RP_EUSAGE
 * for an empty or over-long host; RP_ETLS when OpenSSL fails.
 */
RP_EXTERN RP_NODISCARD rp_code rp_ca_server_ctx(struct rp_ca *ca, const char *host, SSL_CTX **out,
                                                struct rp_error *err);

/* Frees the CA and every cached context. ca may be NULL. */
RP_EXTERN void rp_ca_free(struct rp_ca *ca);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_CA_H */
