/* SPDX-License-Identifier: MIT */
/* Unit tests for the interception CA: its files and their modes, loading and refusing, and real
 * in-process TLS handshakes against a client that trusts ca.pem alone. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <reprise/ca.h>
#include <reprise/limits.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
    dir = tmp_dir();
}

static void teardown(void)
{
    rm_tree(dir);
}

TestSuite(ca, .init = setup, .fini = teardown);

/* ----- helpers ----- */

static struct rp_ca *open_ca(const char *d, bool *created)
{
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    rp_code rc = rp_ca_open(d, true, &ca, created, &err);
    cr_assert_eq(rc, RP_OK, "rp_ca_open: %s", err.msg);
    cr_assert_not_null(ca);
    return ca;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_mode & 07777;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(x, "%s is not a PEM certificate", path);
    return x;
}

/* Seconds from a to b. */
static long long seconds_between(const ASN1_TIME *a, const ASN1_TIME *b)
{
    int days = 0, secs = 0;
    cr_assert_eq(ASN1_TIME_diff(&days, &secs, a, b), 1);
    return (long long)days * 86400 + secs;
}

/* What one handshake gave, seen from the client. */
struct hs {
    bool ok;
    long verify;
    char alpn[32];
    X509 *peer; /* the leaf, a new reference (NULL when the handshake failed) */
    int chain_len;
};

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    cr_assert_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* One step of a handshake: *done once it finished; false when it failed. */
static bool step(SSL *ssl, bool *done)
{
    if (*done) {
        return true;
    }
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = true;
        return true;
    }
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/*
 * A handshake over a socketpair between a server SSL made from server (or given as ssl, made
 * earlier) and a client that trusts ca_pem only, sends sni (may be NULL), checks the name or
 * address check, and offers alpn (may be NULL).
 */
static struct hs handshake_ssl(SSL *s, const char *ca_pem, const char *sni, const char *check,
                               const unsigned char *alpn, unsigned alpn_len)
{
    struct hs res = {.verify = -1};
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);

    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(cctx);
    cr_assert_eq(SSL_CTX_load_verify_locations(cctx, ca_pem, NULL), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    SSL *c = SSL_new(cctx);
    cr_assert_not_null(c);
    SSL_set_fd(c, sv[0]);
    SSL_set_connect_state(c);
    if (sni) {
        cr_assert_eq(SSL_set_tlsext_host_name(c, sni), 1);
    }
    X509_VERIFY_PARAM *vp = SSL_get0_param(c);
    unsigned char addr[16];
    if (inet_pton(AF_INET, check, addr) == 1 || inet_pton(AF_INET6, check, addr) == 1) {
        cr_assert_eq(X509_VERIFY_PARAM_set1_ip_asc(vp, check), 1);
    } else {
        cr_assert_eq(X509_VERIFY_PARAM_set1_host(vp, check, 0), 1);
    }
    if (alpn) {
        cr_assert_eq(SSL_set_alpn_protos(c, alpn, alpn_len), 0);
    }
    SSL_set_fd(s, sv[1]);
    SSL_set_accept_state(s);

    bool cdone = false, sdone = false, alive = true;
    for (int i = 0; i < 1000 && alive && !(cdone && sdone); i++) {
        alive = step(c, &cdone) && step(s, &sdone);
    }
    res.ok = alive && cdone && sdone;
    res.verify = SSL_get_verify_result(c);
    if (res.ok) {
        const unsigned char *sel = NULL;
        unsigned int n = 0;
        SSL_get0_alpn_selected(c, &sel, &n);
        cr_assert_lt(n, sizeof(res.alpn));
        if (n) {
            memcpy(res.alpn, sel, n);
        }
        res.alpn[n] = '\0';
        res.peer = SSL_get1_peer_certificate(c);
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c);
        res.chain_len = chain ? sk_X509_num(chain) : 0;
    }
    ERR_clear_error();
    SSL_free(c);
    SSL_CTX_free(cctx);
    close(sv[0]);
    close(sv[1]);
    return res;
}

static struct hs handshake(SSL_CTX *server, const char *ca_pem, const char *sni, const char *check,
                           const unsigned char *alpn, unsigned alpn_len)
{
    SSL *s = SSL_new(server);
    cr_assert_not_null(s);
    struct hs res = handshake_ssl(s, ca_pem, sni, check, alpn, alpn_len);
    SSL_free(s);
    return res;
}

static SSL_CTX *server_ctx(struct rp_ca *ca, const char *host)
{
    SSL_CTX *ctx = NULL;
    struct rp_error err = {0};
    rp_code rc = rp_ca_server_ctx(ca, host, &ctx, &err);
    cr_assert_eq(rc, RP_OK, "rp_ca_server_ctx(%s): %s", host, err.msg);
    cr_assert_not_null(ctx);
    return ctx;
}

/* The one subjectAltName entry of x: its type, and its bytes in out (n of them). */
static int only_san(X509 *x, unsigned char *out, size_t outsz, size_t *n)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    cr_assert_not_null(names, "no subjectAltName");
    cr_assert_eq(sk_GENERAL_NAME_num(names), 1);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(names, 0);
    int type = 0;
    ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
    *n = (size_t)ASN1_STRING_length(s);
    cr_assert_leq(*n, outsz);
    memcpy(out, ASN1_STRING_get0_data(s), *n);
    GENERAL_NAMES_free(names);
    return type;
}

static void subject_entry(X509_NAME *name, int nid, char *out, size_t outsz)
{
    cr_assert_gt(X509_NAME_get_text_by_NID(name, nid, out, (int)outsz), 0);
}

static const unsigned char h2_and_http11[] = "\x02h2\x08http/1.1";

/* ----- the CA's files ----- */

Test(ca, creating_makes_the_key_0600_and_the_cert_in_a_new_0700_directory)
{
    umask(022);
    char *d = path_in(dir, "data/reprise");
    bool created = false;
    struct rp_ca *ca = open_ca(d, &created);
    cr_assert(created);
    char *cert = path_in(d, "ca.pem");
    char *key = path_in(d, "ca-key.pem");
    char *parent = path_in(dir, "data");
    cr_assert_str_eq(rp_ca_cert_path(ca), cert);
    cr_assert_eq(mode_of(key), 0600, "key mode %o", (unsigned)mode_of(key));
    cr_assert_eq(mode_of(cert), 0644, "cert mode %o", (unsigned)mode_of(cert));
    cr_assert_eq(mode_of(d), 0700);
    cr_assert_eq(mode_of(parent), 0700);
    free(parent);
    free(key);
    free(cert);
    free(d);
    rp_ca_free(ca);
}

Test(ca, opening_again_loads_the_same_certificate_and_says_it_was_not_created)
{
    bool created = false;
    struct rp_ca *a = open_ca(dir, &created);
    cr_assert(created);
    char fp[65];
    snprintf(fp, sizeof(fp), "%s", rp_ca_fingerprint(a));
    rp_ca_free(a);

    struct rp_ca *b = NULL;
    struct rp_error err = {0};
    created = true;
    cr_assert_eq(rp_ca_open(dir, false, &b, &created, &err), RP_OK, "%s", err.msg);
    cr_assert_not(created);
    cr_assert_str_eq(rp_ca_fingerprint(b), fp);
    rp_ca_free(b);
}

Test(ca, the_fingerprint_is_the_sha256_of_the_certificate_in_lower_case_hex)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    X509 *x = read_cert(rp_ca_cert_path(ca));
    unsigned char md[32];
    unsigned int n = 0;
    cr_assert_eq(X509_digest(x, EVP_sha256(), md, &n), 1);
    cr_assert_eq(n, 32);
    char want[65];
    for (unsigned i = 0; i < 32; i++) {
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    }
    cr_assert_str_eq(rp_ca_fingerprint(ca), want);
    X509_free(x);
    rp_ca_free(ca);
}

Test(ca, opening_an_empty_directory_without_create_is_not_found_and_makes_nothing)
{
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, false, &ca, NULL, &err), RP_ENOTFOUND);
    cr_assert_null(ca);
    char *cert = path_in(dir, "ca.pem");
    cr_assert_not_null(strstr(err.msg, cert), "message: %s", err.msg);
    cr_assert_eq(file_size(cert), -1);
    free(cert);
}

Test(ca, a_key_others_can_read_is_refused_naming_the_file_and_the_mode)
{
    rp_ca_free(open_ca(dir, NULL));
    char *key = path_in(dir, "ca-key.pem");
    cr_assert_eq(chmod(key, 0644), 0);
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, true, &ca, NULL, &err), RP_EUSAGE);
    cr_assert_null(ca);
    cr_assert_not_null(strstr(err.msg, key), "message: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, "0644"), "message: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, "chmod 600"), "message: %s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'));
    cr_assert_eq(mode_of(key), 0644, "the key's mode is the user's to change");
    free(key);
}

Test(ca, a_certificate_file_that_is_not_pem_is_a_format_error_naming_it)
{
    rp_ca_free(open_ca(dir, NULL));
    char *cert = path_in(dir, "ca.pem");
    write_file(cert, "not a certificate\n", 18);
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, true, &ca, NULL, &err), RP_EFORMAT);
    cr_assert_null(ca);
    char want[512];
    snprintf(want, sizeof(want), "%s: not a PEM certificate", cert);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(ERR_peek_error(), 0, "OpenSSL's error queue is left empty");
    free(cert);
}

Test(ca, a_key_file_that_is_not_pem_is_a_format_error_naming_it)
{
    rp_ca_free(open_ca(dir, NULL));
    char *key = path_in(dir, "ca-key.pem");
    write_file(key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 58);
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, false, &ca, NULL, &err), RP_EFORMAT);
    cr_assert_not_null(strstr(err.msg, key), "message: %s", err.msg);
    free(key);
}

Test(ca, a_key_from_another_ca_is_a_format_error_naming_the_key)
{
    char *other = path_in(dir, "other");
    rp_ca_free(open_ca(dir, NULL));
    rp_ca_free(open_ca(other, NULL));
    char *key = path_in(dir, "ca-key.pem");
    char *other_key = path_in(other, "ca-key.pem");
    cr_assert_eq(rename(other_key, key), 0);
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, true, &ca, NULL, &err), RP_EFORMAT);
    cr_assert_null(ca);
    char want[512];
    snprintf(want, sizeof(want), "%s: not the key of the certificate %s/ca.pem", key, dir);
    cr_assert_str_eq(err.msg, want);
    free(other_key);
    free(key);
    free(other);
}

Test(ca, a_certificate_that_is_not_a_ca_is_a_format_error)
{
    /* A leaf minted by the CA, with its key, in place of the CA: it matches but cannot sign. */
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h = handshake(server_ctx(ca, "leaf.test"), rp_ca_cert_path(ca), "leaf.test",
                            "leaf.test", NULL, 0);
    cr_assert(h.ok);
    char *cert = path_in(dir, "ca.pem");
    FILE *f = fopen(cert, "w");
    cr_assert_not_null(f);
    cr_assert_eq(PEM_write_X509(f, h.peer), 1);
    fclose(f);
    X509_free(h.peer);
    rp_ca_free(ca);

    struct rp_error err = {0};
    ca = NULL;
    rp_code rc = rp_ca_open(dir, false, &ca, NULL, &err);
    cr_assert_eq(rc, RP_EFORMAT, "%s", err.msg);
    char want[512];
    snprintf(want, sizeof(want), "%s: not a CA certificate", cert);
    cr_assert_str_eq(err.msg, want);
    free(cert);
}

Test(ca, a_certificate_without_its_key_is_not_found_naming_the_key_and_kept)
{
    rp_ca_free(open_ca(dir, NULL));
    char *key = path_in(dir, "ca-key.pem");
    char *cert = path_in(dir, "ca.pem");
    off_t size = file_size(cert);
    cr_assert_eq(unlink(key), 0);
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, true, &ca, NULL, &err), RP_ENOTFOUND);
    cr_assert_not_null(strstr(err.msg, key), "message: %s", err.msg);
    cr_assert_eq(file_size(cert), size);
    cr_assert_eq(file_size(key), -1);
    free(cert);
    free(key);
}

Test(ca, a_key_left_without_certificate_by_a_crash_is_replaced_on_create)
{
    rp_ca_free(open_ca(dir, NULL));
    char *cert = path_in(dir, "ca.pem");
    cr_assert_eq(unlink(cert), 0);
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(dir, false, &ca, NULL, &err), RP_ENOTFOUND);
    bool created = false;
    ca = open_ca(dir, &created);
    cr_assert(created);
    rp_ca_free(ca);
    ca = open_ca(dir, &created);
    cr_assert_not(created);
    rp_ca_free(ca);
    free(cert);
}

Test(ca, a_directory_under_a_file_cannot_be_made)
{
    char *file = path_in(dir, "file");
    write_file(file, "x", 1);
    char *d = path_in(file, "reprise");
    struct rp_ca *ca = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_open(d, true, &ca, NULL, &err), RP_EIO);
    cr_assert_not_null(strstr(err.msg, file), "message: %s", err.msg);
    free(d);
    free(file);
}

Test(ca, the_certificate_is_a_self_signed_p256_ca_with_pathlen_0_for_ten_years)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    X509 *x = read_cert(rp_ca_cert_path(ca));
    cr_assert_eq(X509_check_ca(x), 1);
    cr_assert_eq(X509_check_issued(x, x), X509_V_OK);
    cr_assert_eq(X509_verify(x, X509_get0_pubkey(x)), 1);
    cr_assert_eq(X509_get_pathlen(x), 0);
    cr_assert_eq(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    int bc = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
    int ku = X509_get_ext_by_NID(x, NID_key_usage, -1);
    cr_assert(bc >= 0 && ku >= 0);
    cr_assert_eq(X509_EXTENSION_get_critical(X509_get_ext(x, bc)), 1);
    cr_assert_eq(X509_EXTENSION_get_critical(X509_get_ext(x, ku)), 1);
    cr_assert_not_null(X509_get0_subject_key_id(x));
    cr_assert_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
    cr_assert_eq(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 256);
    cr_assert_eq(seconds_between(X509_get0_notBefore(x), X509_get0_notAfter(x)), 3650LL * 86400);

    char o[64], cn[128];
    subject_entry(X509_get_subject_name(x), NID_organizationName, o, sizeof(o));
    subject_entry(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    cr_assert_str_eq(o, "reprise");
    cr_assert_eq(strncmp(cn, "reprise interception CA (", 25), 0, "CN %s", cn);
    cr_assert_eq(cn[strlen(cn) - 1], ')', "CN %s", cn);
    cr_assert_leq(strlen(cn), 64);

    /* A positive serial of at most 128 bits. */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    cr_assert_not(BN_is_negative(bn));
    cr_assert_not(BN_is_zero(bn));
    cr_assert_leq(BN_num_bits(bn), 128);
    BN_free(bn);
    X509_free(x);
    rp_ca_free(ca);
}

/* ----- handshakes ----- */

Test(ca, a_handshake_for_a_host_name_verifies_against_ca_pem_alone)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h = handshake(server_ctx(ca, "shop.example.test"), rp_ca_cert_path(ca),
                            "shop.example.test", "shop.example.test", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    cr_assert_eq(h.verify, X509_V_OK);
    cr_assert_eq(h.chain_len, 2, "the leaf and the CA");

    unsigned char san[64];
    size_t n = 0;
    cr_assert_eq(only_san(h.peer, san, sizeof(san), &n), GEN_DNS);
    cr_assert_eq(n, 17);
    cr_assert_eq(memcmp(san, "shop.example.test", 17), 0);
    char cn[80];
    subject_entry(X509_get_subject_name(h.peer), NID_commonName, cn, sizeof(cn));
    cr_assert_str_eq(cn, "shop.example.test");
    cr_assert_eq(X509_check_ca(h.peer), 0);
    cr_assert_eq(X509_get_key_usage(h.peer), KU_DIGITAL_SIGNATURE);
    int ku = X509_get_ext_by_NID(h.peer, NID_key_usage, -1);
    cr_assert_eq(X509_EXTENSION_get_critical(X509_get_ext(h.peer, ku)), 1);
    cr_assert_eq(X509_get_extended_key_usage(h.peer), XKU_SSL_SERVER);
    cr_assert_not_null(X509_get0_authority_key_id(h.peer));
    cr_assert_eq(seconds_between(X509_get0_notBefore(h.peer), X509_get0_notAfter(h.peer)),
                 397LL * 86400);
    /* From a day ago: a minute either way for the time the test took. */
    long long since = seconds_between(X509_get0_notBefore(h.peer), NULL);
    cr_assert(since >= 86400 - 60 && since <= 86400 + 60, "notBefore %lld s ago", since);
    X509_free(h.peer);
    rp_ca_free(ca);
}

Test(ca, a_handshake_for_an_ipv4_address_verifies_its_ip_subject_alt_name)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h =
        handshake(server_ctx(ca, "127.0.0.1"), rp_ca_cert_path(ca), NULL, "127.0.0.1", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    unsigned char san[16];
    size_t n = 0;
    cr_assert_eq(only_san(h.peer, san, sizeof(san), &n), GEN_IPADD);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(san, "\x7f\x00\x00\x01", 4), 0);
    X509_free(h.peer);
    rp_ca_free(ca);
}

Test(ca, a_handshake_for_an_ipv6_address_verifies_its_ip_subject_alt_name)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h = handshake(server_ctx(ca, "::1"), rp_ca_cert_path(ca), NULL, "::1", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    unsigned char san[16];
    size_t n = 0;
    cr_assert_eq(only_san(h.peer, san, sizeof(san), &n), GEN_IPADD);
    cr_assert_eq(n, 16);
    cr_assert_eq(memcmp(san, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16), 0);
    X509_free(h.peer);
    rp_ca_free(ca);
}

Test(ca, alpn_selects_http_1_1_when_the_client_offers_h2_too)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h =
        handshake(server_ctx(ca, "shop.example.test"), rp_ca_cert_path(ca), "shop.example.test",
                  "shop.example.test", h2_and_http11, sizeof(h2_and_http11) - 1);
    cr_assert(h.ok);
    cr_assert_str_eq(h.alpn, "http/1.1");
    X509_free(h.peer);
    rp_ca_free(ca);
}

Test(ca, a_client_offering_only_h2_gets_no_alpn_and_still_connects)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    static const unsigned char h2[] = "\x02h2";
    struct hs h = handshake(server_ctx(ca, "shop.example.test"), rp_ca_cert_path(ca),
                            "shop.example.test", "shop.example.test", h2, sizeof(h2) - 1);
    cr_assert(h.ok);
    cr_assert_str_eq(h.alpn, "");
    X509_free(h.peer);
    rp_ca_free(ca);
}

Test(ca, a_client_checking_another_host_name_fails_verification)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    SSL_CTX *ctx = server_ctx(ca, "shop.example.test");
    struct hs h = handshake(ctx, rp_ca_cert_path(ca), NULL, "other.example.test", NULL, 0);
    cr_assert_not(h.ok);
    cr_assert_eq(h.verify, X509_V_ERR_HOSTNAME_MISMATCH);
    h = handshake(ctx, rp_ca_cert_path(ca), NULL, "127.0.0.1", NULL, 0);
    cr_assert_not(h.ok);
    cr_assert_eq(h.verify, X509_V_ERR_IP_ADDRESS_MISMATCH);
    rp_ca_free(ca);
}

Test(ca, a_client_trusting_another_ca_fails_verification)
{
    char *other = path_in(dir, "other");
    struct rp_ca *ca = open_ca(dir, NULL);
    struct rp_ca *ca2 = open_ca(other, NULL);
    struct hs h = handshake(server_ctx(ca, "shop.example.test"), rp_ca_cert_path(ca2),
                            "shop.example.test", "shop.example.test", NULL, 0);
    cr_assert_not(h.ok);
    cr_assert_neq(h.verify, X509_V_OK);
    rp_ca_free(ca2);
    rp_ca_free(ca);
    free(other);
}

Test(ca, sni_naming_another_host_switches_to_that_hosts_leaf)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h =
        handshake(server_ctx(ca, "a.test"), rp_ca_cert_path(ca), "b.test", "b.test", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    char cn[80];
    subject_entry(X509_get_subject_name(h.peer), NID_commonName, cn, sizeof(cn));
    cr_assert_str_eq(cn, "b.test");
    X509_free(h.peer);
    /* The switch went through the cache: b.test has its own context now. */
    cr_assert_neq(server_ctx(ca, "b.test"), server_ctx(ca, "a.test"));
    rp_ca_free(ca);
}

Test(ca, sni_in_upper_case_keeps_the_same_hosts_leaf)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    struct hs h =
        handshake(server_ctx(ca, "a.test"), rp_ca_cert_path(ca), "A.Test", "a.test", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    X509_free(h.peer);
    rp_ca_free(ca);
}

Test(ca, a_connection_that_outlives_the_ca_still_handshakes_with_its_leaf)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    char *cert = rp_xstrdup(rp_ca_cert_path(ca));
    SSL *s = SSL_new(server_ctx(ca, "a.test"));
    cr_assert_not_null(s);
    rp_ca_free(ca);
    /* SNI names another host, but there is no CA left to mint for it: a.test's leaf stays. */
    struct hs h = handshake_ssl(s, cert, "b.test", "a.test", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    X509_free(h.peer);
    SSL_free(s);
    free(cert);
}

/* ----- the cache ----- */

Test(ca, the_cache_gives_one_context_per_host_whatever_its_spelling)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    SSL_CTX *a = server_ctx(ca, "shop.example.test");
    cr_assert_eq(server_ctx(ca, "shop.example.test"), a);
    cr_assert_eq(server_ctx(ca, "Shop.Example.Test"), a);
    cr_assert_eq(server_ctx(ca, "shop.example.test."), a);
    cr_assert_neq(server_ctx(ca, "api.example.test"), a);
    SSL_CTX *six = server_ctx(ca, "::1");
    cr_assert_eq(server_ctx(ca, "0:0:0:0:0:0:0:1"), six);
    rp_ca_free(ca);
}

Test(ca, more_hosts_than_the_cache_holds_drop_the_least_recently_used_and_keep_working)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    /* Holding references keeps the dropped contexts' addresses from being reused, so that
     * pointers can be compared. */
    SSL_CTX *c0 = server_ctx(ca, "h0.test");
    SSL_CTX *c1 = server_ctx(ca, "h1.test");
    cr_assert_eq(SSL_CTX_up_ref(c0), 1);
    cr_assert_eq(SSL_CTX_up_ref(c1), 1);
    /* A connection set up before its context is dropped keeps working: SSL_new took a
     * reference. */
    SSL *early = SSL_new(c1);
    cr_assert_not_null(early);
    char host[32];
    for (unsigned i = 2; i < RP_CA_MAX_LEAVES; i++) {
        snprintf(host, sizeof(host), "h%u.test", i);
        server_ctx(ca, host);
    }
    /* The cache is full. Using h0 makes h1 the least recently used: the next host drops it. */
    cr_assert_eq(server_ctx(ca, "h0.test"), c0);
    snprintf(host, sizeof(host), "h%u.test", RP_CA_MAX_LEAVES);
    SSL_CTX *last = server_ctx(ca, host);
    cr_assert_eq(server_ctx(ca, host), last);
    cr_assert_eq(server_ctx(ca, "h0.test"), c0);
    SSL_CTX *again = server_ctx(ca, "h1.test");
    cr_assert_neq(again, c1, "h1 was dropped and minted again");

    struct hs h = handshake_ssl(early, rp_ca_cert_path(ca), "h1.test", "h1.test", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    X509_free(h.peer);
    SSL_free(early);
    h = handshake(again, rp_ca_cert_path(ca), "h1.test", "h1.test", NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    X509_free(h.peer);
    h = handshake(last, rp_ca_cert_path(ca), host, host, NULL, 0);
    cr_assert(h.ok, "verify: %s", X509_verify_cert_error_string(h.verify));
    X509_free(h.peer);
    SSL_CTX_free(c1);
    SSL_CTX_free(c0);
    rp_ca_free(ca);
}

Test(ca, a_host_no_certificate_can_name_is_a_usage_error)
{
    struct rp_ca *ca = open_ca(dir, NULL);
    char longest[260];
    memset(longest, 'a', 254);
    longest[254] = '\0';
    const char *bad[] = {"",        ".",       "*.example.test", "a b.test",     "[::1]",
                         "a..test", ".a.test", "a.test/x",       "a,DNS:b.test", "caf\xc3\xa9.test",
                         longest};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        SSL_CTX *ctx = NULL;
        struct rp_error err = {0};
        cr_assert_eq(rp_ca_server_ctx(ca, bad[i], &ctx, &err), RP_EUSAGE, "host '%s'", bad[i]);
        cr_assert_null(ctx);
        for (const char *p = err.msg; *p; p++) {
            cr_assert(*p >= 0x20 && *p < 0x7f, "printable message: %s", err.msg);
        }
    }
    longest[253] = '\0'; /* 253 bytes is the longest DNS name: it works */
    server_ctx(ca, longest);
    rp_ca_free(ca);
}

/* ----- the default directory ----- */

Test(ca, default_dir_is_under_an_absolute_xdg_data_home)
{
    setenv("XDG_DATA_HOME", "/srv/data/", 1);
    setenv("HOME", "/home/ann", 1);
    char buf[64];
    cr_assert_eq(rp_ca_default_dir(buf, sizeof(buf), NULL), RP_OK);
    cr_assert_str_eq(buf, "/srv/data/reprise");
}

Test(ca, default_dir_without_xdg_data_home_is_under_home)
{
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/ann", 1);
    char buf[64];
    cr_assert_eq(rp_ca_default_dir(buf, sizeof(buf), NULL), RP_OK);
    cr_assert_str_eq(buf, "/home/ann/.local/share/reprise");
}

Test(ca, default_dir_ignores_a_relative_xdg_data_home)
{
    setenv("XDG_DATA_HOME", "data", 1);
    setenv("HOME", "/home/ann", 1);
    char buf[64];
    cr_assert_eq(rp_ca_default_dir(buf, sizeof(buf), NULL), RP_OK);
    cr_assert_str_eq(buf, "/home/ann/.local/share/reprise");
}

Test(ca, default_dir_without_home_or_xdg_is_a_usage_error)
{
    unsetenv("XDG_DATA_HOME");
    unsetenv("HOME");
    char buf[64] = "untouched";
    struct rp_error err = {0};
    cr_assert_eq(rp_ca_default_dir(buf, sizeof(buf), &err), RP_EUSAGE);
    cr_assert_str_eq(buf, "untouched");
    cr_assert_neq(err.msg[0], '\0');
}

Test(ca, default_dir_too_long_for_the_buffer_is_too_big_and_leaves_it)
{
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/ann", 1);
    char buf[30] = "untouched"; /* "/home/ann/.local/share/reprise" needs 31 */
    cr_assert_eq(rp_ca_default_dir(buf, sizeof(buf), NULL), RP_ETOOBIG);
    cr_assert_str_eq(buf, "untouched");
    char fits[31];
    cr_assert_eq(rp_ca_default_dir(fits, sizeof(fits), NULL), RP_OK);
}
