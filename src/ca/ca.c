/* SPDX-License-Identifier: MIT */
/*
 * The interception CA: one EC P-256 CA per user, made on first use and written so that a crash
 * never leaves half of it, and per-host leaf certificates minted on the fly, each in its own
 * server SSL_CTX, kept in a least-recently-used cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <reprise/ca.h>
#include <reprise/limits.h>

/* The longest DNS name (RFC 1035) and the longest common name (X.520 ub-common-name): limits
 * of the protocols, not caps of ours. */
#define DNS_NAME_MAX 253u
#define CN_MAX       64u

/* Buckets of the leaf cache's hash table: a power of two, at least twice the leaves kept. */
#define LEAF_BUCKETS 2048u
_Static_assert((LEAF_BUCKETS & (LEAF_BUCKETS - 1)) == 0, "LEAF_BUCKETS is a power of two");
_Static_assert(LEAF_BUCKETS >= 2 * RP_CA_MAX_LEAVES, "LEAF_BUCKETS fits the cache");

#define CA_LOCK_FILE    "ca.lock"
#define SECONDS_PER_DAY 86400

/* One cached leaf: a host's server context, on the LRU list and in one hash chain. */
struct leaf {
    char *host; /* normalised: lower case, or an IP address in its canonical text form */
    SSL_CTX *ctx;
    struct leaf *newer;
    struct leaf *older;
    struct leaf *chain;
};

struct rp_ca {
    char *dir;
    char *cert_path;
    char *key_path;
    char fingerprint[2 * 32 + 1];
    X509 *cert;
    EVP_PKEY *key;
    EVP_PKEY *leaf_key;
    struct leaf *buckets[LEAF_BUCKETS];
    struct leaf *newest;
    struct leaf *oldest;
    size_t n_leaves;
};

/* A host as a certificate names it. */
struct host {
    char name[DNS_NAME_MAX + 1];
    size_t len;
    unsigned char addr[16];
    size_t addr_len; /* 0 for a DNS name, 4 or 16 for an IP address */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                              */
/* ------------------------------------------------------------------------------------------ */

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a > SIZE_MAX - b - 2) {
        abort(); /* two C strings in memory cannot add up to this */
    }
    char *p = rp_xmalloc(a + b + 2);
    snprintf(p, a + b + 2, "%s/%s", dir, name);
    return p;
}

/* Sets err to RP_ETLS with what failed and OpenSSL's first reason, and empties its queue. */
static rp_code tls_fail(struct rp_error *err, const char *what)
{
    char reason[160] = "unknown reason";
    unsigned long e = ERR_get_error();
    if (e) {
        ERR_error_string_n(e, reason, sizeof(reason));
    }
    ERR_clear_error();
    return rp_error_set(err, RP_ETLS, "%s: %s", what, reason);
}

/* Copies up to 64 bytes of s into out for a message, with '?' for anything not printable:
 * host names reach us from the network. */
static void printable(const char *s, char *out, size_t outsz)
{
    size_t i = 0;
    for (; s[i] && i < 64 && i + 1 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[i] = '\0';
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

/* The passphrase callback for reading keys: there is none, and OpenSSL must not prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Frees a leaf. A connection still using its context keeps its own reference, so the context
 * forgets the CA first: it may outlive it. */
static void free_leaf(struct leaf *l)
{
    SSL_CTX_set_tlsext_servername_arg(l->ctx, NULL);
    SSL_CTX_free(l->ctx);
    free(l->host);
    free(l);
}

/* ------------------------------------------------------------------------------------------ */
/* The default directory                                                                      */
/* ------------------------------------------------------------------------------------------ */

rp_code rp_ca_default_dir(char *buf, size_t size, struct rp_error *err)
{
    const char *base = getenv("XDG_DATA_HOME");
    const char *suffix = "/reprise";
    /* The XDG base directory spec says a relative path in the variable is to be ignored. */
    if (!base || base[0] != '/') {
        base = getenv("HOME");
        suffix = "/.local/share/reprise";
        if (!base || !base[0]) {
            return rp_error_set(err, RP_EUSAGE,
                                "no directory for the CA: neither XDG_DATA_HOME nor HOME is set");
        }
    }
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    size_t need = n + strlen(suffix);
    if (need >= size) {
        return rp_error_set(err, RP_ETOOBIG, "the CA directory's path is longer than %zu bytes",
                            size ? size - 1 : 0);
    }
    memcpy(buf, base, n);
    memcpy(buf + n, suffix, strlen(suffix) + 1);
    return RP_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Certificates                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* A random positive 128-bit serial (the top bit clear so that it stays positive). */
static bool set_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        return false;
    }
    b[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    bool ok = ai && X509_set_serialNumber(x, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok;
}

/* Valid from a day ago (clocks disagree) for days days. */
static bool set_validity(X509 *x, long days)
{
    time_t start = time(NULL) - SECONDS_PER_DAY;
    return X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &start) &&
           X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &start);
}

/* Adds an extension written in OpenSSL's configuration syntax (constant values only). */
static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    bool ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* subjectAltName for the host alone, built as a structure: the name comes from the network,
 * and the configuration syntax would read a comma in it as a second name. */
static bool add_san(X509 *x, const struct host *h)
{
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_STRING *s = NULL;
    bool ok = false;
    if (!names || !g) {
        goto out;
    }
    if (h->addr_len) {
        s = ASN1_OCTET_STRING_new();
        if (!s || ASN1_OCTET_STRING_set(s, h->addr, (int)h->addr_len) != 1) {
            goto out;
        }
        GENERAL_NAME_set0_value(g, GEN_IPADD, s);
    } else {
        s = ASN1_IA5STRING_new();
        if (!s || ASN1_STRING_set(s, h->name, (int)h->len) != 1) {
            goto out;
        }
        GENERAL_NAME_set0_value(g, GEN_DNS, s);
    }
    s = NULL;
    if (!sk_GENERAL_NAME_push(names, g)) {
        goto out;
    }
    g = NULL;
    ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
out:
    ASN1_STRING_free(s);
    GENERAL_NAME_free(g);
    GENERAL_NAMES_free(names);
    return ok;
}

/* A new self-signed CA certificate for key. */
static X509 *new_ca_cert(EVP_PKEY *key)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0]) {
        snprintf(host, sizeof(host), "unknown host");
    }
    host[sizeof(host) - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    char date[16] = "";
    if (gmtime_r(&now, &tm)) {
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    }
    /* The host name is cut so that the common name fits X.520's 64 characters. */
    static const char head[] = "reprise interception CA (";
    size_t room = CN_MAX - (sizeof(head) - 1) - strlen(", ") - strlen(date) - strlen(")");
    size_t hlen = strlen(host) < room ? strlen(host) : room;
    char cn[CN_MAX + 1];
    snprintf(cn, sizeof(cn), "%s%.*s, %s)", head, (int)hlen, host, date);

    X509 *x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    bool ok = name && X509_set_version(x, X509_VERSION_3) == 1 && set_serial(x) &&
              set_validity(x, RP_CA_VALID_DAYS) &&
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"reprise",
                                         -1, -1, 0) == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                         -1, 0) == 1 &&
              X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1 &&
              add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
              add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
              add_ext(x, x, NID_subject_key_identifier, "hash") &&
              X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* A new leaf certificate for h with the shared leaf key, signed by the CA. */
static X509 *new_leaf_cert(const struct rp_ca *ca, const struct host *h)
{
    X509 *x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    int cn_len = h->len < CN_MAX ? (int)h->len : (int)CN_MAX;
    bool ok = name && X509_set_version(x, X509_VERSION_3) == 1 && set_serial(x) &&
              set_validity(x, RP_CA_LEAF_DAYS) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)h->name,
                                         cn_len, -1, 0) == 1 &&
              X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
              X509_set_pubkey(x, ca->leaf_key) == 1 && add_san(x, h) &&
              add_ext(x, ca->cert, NID_basic_constraints, "CA:FALSE") &&
              add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") &&
              add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth") &&
              add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") &&
              X509_sign(x, ca->key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Makes dir and its missing parents, each 0700. */
static rp_code make_dirs(const char *dir, struct rp_error *err)
{
    char *p = rp_xstrdup(dir);
    rp_code rc = RP_EIO;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') {
            continue;
        }
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            rp_error_set(err, RP_EIO, "%s: cannot create the directory: %s", p, strerror(errno));
            goto out;
        }
        *s = c;
        if (c == '\0') {
            break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rp_error_set(err, RP_EIO, "%s: not a directory", dir);
        goto out;
    }
    rc = RP_OK;
out:
    free(p);
    return rc;
}

/* *out: whether path exists. */
static rp_code file_exists(const char *path, bool *out, struct rp_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        *out = true;
        return RP_OK;
    }
    if (errno == ENOENT) {
        *out = false;
        return RP_OK;
    }
    return rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
}

/*
 * Takes an exclusive lock on DIR/ca.lock (waiting for it), so that two processes making the CA
 * at once do not end with one's key beside the other's certificate. Closing *out releases it.
 */
static rp_code lock_dir(const char *dir, int *out, struct rp_error *err)
{
    char *path = join(dir, CA_LOCK_FILE);
    rp_code rc = RP_EIO;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            rp_error_set(err, RP_EIO, "%s: cannot lock: %s", path, strerror(errno));
            goto out;
        }
    }
    *out = fd;
    fd = -1;
    rc = RP_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(path);
    return rc;
}

/*
 * Writes key (or else cert) as PEM to path, a new file of the given mode: created with it, so
 * the key is never readable by others even for a moment. The data reach the disk before the
 * function returns. On failure the file is removed.
 */
static rp_code write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
                         struct rp_error *err)
{
    rp_code rc = RP_EIO;
    FILE *f = NULL;
    bool made = false;
    /* A temporary file left by a crash: we hold the lock, so nobody else is writing it. */
    if (unlink(path) != 0 && errno != ENOENT) {
        rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    made = true;
    errno = 0;
    f = fdopen(fd, "w");
    if (!f) {
        rp_error_set(err, RP_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    int ok =
        key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    if (!ok) {
        rp_error_set(err, RP_EIO, "%s: cannot write: %s", path,
                     errno ? strerror(errno) : "OpenSSL could not encode it");
        ERR_clear_error();
        goto out;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rp_error_set(err, RP_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    int c = fclose(f);
    f = NULL;
    if (c != 0) {
        rp_error_set(err, RP_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    rc = RP_OK;
out:
    if (f) {
        fclose(f);
    }
    if (rc && made) {
        unlink(path);
    }
    return rc;
}

/*
 * Makes a new CA in ca->dir (which exists; the caller holds the lock). Both files are written
 * whole under temporary names and renamed into place, the key first: ca.pem appearing is the
 * commit, and a crash before it leaves at most a key without a certificate, which the next
 * run replaces.
 */
static rp_code make_ca(struct rp_ca *ca, struct rp_error *err)
{
    rp_code rc = RP_ETLS;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    char *key_tmp = rp_xmalloc(strlen(ca->key_path) + sizeof(".tmp"));
    char *cert_tmp = rp_xmalloc(strlen(ca->cert_path) + sizeof(".tmp"));
    snprintf(key_tmp, strlen(ca->key_path) + sizeof(".tmp"), "%s.tmp", ca->key_path);
    snprintf(cert_tmp, strlen(ca->cert_path) + sizeof(".tmp"), "%s.tmp", ca->cert_path);

    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!key) {
        rc = tls_fail(err, "cannot generate the CA key");
        goto out;
    }
    cert = new_ca_cert(key);
    if (!cert) {
        rc = tls_fail(err, "cannot make the CA certificate");
        goto out;
    }
    rc = write_pem(key_tmp, 0600, key, NULL, err);
    if (rc) {
        goto out;
    }
    rc = write_pem(cert_tmp, 0644, NULL, cert, err);
    if (rc) {
        unlink(key_tmp);
        goto out;
    }
    rc = RP_EIO;
    if (rename(key_tmp, ca->key_path) != 0) {
        rp_error_set(err, RP_EIO, "%s: %s", ca->key_path, strerror(errno));
        unlink(key_tmp);
        unlink(cert_tmp);
        goto out;
    }
    if (rename(cert_tmp, ca->cert_path) != 0) {
        rp_error_set(err, RP_EIO, "%s: %s", ca->cert_path, strerror(errno));
        unlink(cert_tmp);
        goto out;
    }
    /* The renames themselves reach the disk once the directory is synced. Some file systems
     * cannot sync a directory; the files are complete either way. */
    int dfd = open(ca->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    ca->key = key;
    key = NULL;
    ca->cert = cert;
    cert = NULL;
    rc = RP_OK;
out:
    X509_free(cert);
    EVP_PKEY_free(key);
    free(cert_tmp);
    free(key_tmp);
    return rc;
}

/* Opens path for reading as a FILE, close-on-exec; *out_st gets its status. */
static rp_code open_read(const char *path, FILE **out, struct stat *out_st, struct rp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return rp_error_set(err, e == ENOENT ? RP_ENOTFOUND : RP_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rp_error_set(err, RP_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rp_error_set(err, RP_EFORMAT, "%s: not a regular file", path);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        return rp_error_set(err, RP_EIO, "%s: %s", path, strerror(e));
    }
    *out = f;
    *out_st = st;
    return RP_OK;
}

/* Loads an existing CA: the key (refused when others can read it), then the certificate. */
static rp_code load_ca(struct rp_ca *ca, struct rp_error *err)
{
    FILE *f = NULL;
    struct stat st;
    rp_code rc = open_read(ca->key_path, &f, &st, err);
    if (rc) {
        goto out;
    }
    if (st.st_mode & 077) {
        rc = rp_error_set(err, RP_EUSAGE,
                          "%s: mode %04o lets other users read the CA key; run chmod 600 on it",
                          ca->key_path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    ca->key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    if (!ca->key) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: not a PEM private key (without passphrase)",
                          ca->key_path);
        goto out;
    }
    fclose(f);
    f = NULL;

    rc = open_read(ca->cert_path, &f, &st, err);
    if (rc) {
        goto out;
    }
    ca->cert = PEM_read_X509(f, NULL, no_passphrase, NULL);
    if (!ca->cert) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: not a PEM certificate", ca->cert_path);
        goto out;
    }
    if (X509_check_ca(ca->cert) == 0) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: not a CA certificate", ca->cert_path);
        goto out;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        rc = rp_error_set(err, RP_EFORMAT, "%s: not the key of the certificate %s", ca->key_path,
                          ca->cert_path);
        goto out;
    }
    rc = RP_OK;
out:
    if (f) {
        fclose(f);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Opening and freeing                                                                        */
/* ------------------------------------------------------------------------------------------ */

rp_code rp_ca_open(const char *dir, bool create, struct rp_ca **out, bool *created,
                   struct rp_error *err)
{
    if (!dir || !dir[0]) {
        return rp_error_set(err, RP_EUSAGE, "no directory given for the CA");
    }
    struct rp_ca *ca = rp_xcalloc(1, sizeof(*ca));
    int lock = -1;
    bool made = false;
    bool have_cert = false;
    ca->dir = rp_xstrdup(dir);
    ca->cert_path = join(dir, RP_CA_CERT_FILE);
    ca->key_path = join(dir, RP_CA_KEY_FILE);

    rp_code rc = file_exists(ca->cert_path, &have_cert, err);
    if (rc) {
        goto out;
    }
    if (!have_cert && create) {
        rc = make_dirs(dir, err);
        if (rc) {
            goto out;
        }
        rc = lock_dir(dir, &lock, err);
        if (rc) {
            goto out;
        }
        /* Another process may have made it while we waited for the lock. */
        rc = file_exists(ca->cert_path, &have_cert, err);
        if (rc) {
            goto out;
        }
        if (!have_cert) {
            rc = make_ca(ca, err);
            if (rc) {
                goto out;
            }
            made = true;
        }
    }
    if (!ca->cert) {
        if (!have_cert) {
            rc = rp_error_set(err, RP_ENOTFOUND, "%s: %s", ca->cert_path, strerror(ENOENT));
            goto out;
        }
        rc = load_ca(ca, err);
        if (rc) {
            goto out;
        }
    }

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(ca->cert, EVP_sha256(), md, &md_len) != 1 || md_len != 32) {
        rc = tls_fail(err, "cannot compute the CA certificate's fingerprint");
        goto out;
    }
    for (unsigned int i = 0; i < md_len; i++) {
        snprintf(ca->fingerprint + 2 * i, 3, "%02x", md[i]);
    }
    /* One key for every leaf: minting then costs one signature, not a key generation. */
    ca->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!ca->leaf_key) {
        rc = tls_fail(err, "cannot generate the leaf key");
        goto out;
    }
    *out = ca;
    ca = NULL;
    if (created) {
        *created = made;
    }
    rc = RP_OK;
out:
    if (lock >= 0) {
        close(lock);
    }
    if (rc) {
        ERR_clear_error();
    }
    rp_ca_free(ca);
    return rc;
}

const char *rp_ca_cert_path(const struct rp_ca *ca)
{
    return ca->cert_path;
}

const char *rp_ca_fingerprint(const struct rp_ca *ca)
{
    return ca->fingerprint;
}

void rp_ca_free(struct rp_ca *ca)
{
    if (!ca) {
        return;
    }
    for (struct leaf *l = ca->newest, *next; l; l = next) {
        next = l->older;
        free_leaf(l);
    }
    EVP_PKEY_free(ca->leaf_key);
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca->key_path);
    free(ca->cert_path);
    free(ca->dir);
    free(ca);
}

/* ------------------------------------------------------------------------------------------ */
/* Server contexts                                                                            */
/* ------------------------------------------------------------------------------------------ */

/*
 * Normalises host into h: an IPv4 or IPv6 literal in its canonical text (so that "::1" and
 * "0:0::1" share a leaf), or a DNS name in lower case without a trailing dot, made of letters,
 * digits, '-', '_' and non-empty labels. Anything else (a wildcard, a space, a bracket) cannot be
 * named by a certificate of ours.
 */
static rp_code parse_host(const char *host, struct host *h, struct rp_error *err)
{
    memset(h, 0, sizeof(*h));
    if (!host || !host[0]) {
        return rp_error_set(err, RP_EUSAGE, "no host name for a certificate");
    }
    if (inet_pton(AF_INET, host, h->addr) == 1) {
        h->addr_len = 4;
    } else if (inet_pton(AF_INET6, host, h->addr) == 1) {
        h->addr_len = 16;
    }
    if (h->addr_len) {
        int af = h->addr_len == 4 ? AF_INET : AF_INET6;
        if (!inet_ntop(af, h->addr, h->name, sizeof(h->name))) {
            return rp_error_set(err, RP_EUSAGE, "cannot print the address %s", host);
        }
        h->len = strlen(h->name);
        return RP_OK;
    }
    char shown[72];
    size_t len = strnlen(host, DNS_NAME_MAX + 2);
    if (host[len - 1] == '.') {
        len--;
    }
    if (len == 0 || len > DNS_NAME_MAX) {
        printable(host, shown, sizeof(shown));
        return rp_error_set(err, RP_EUSAGE, "host name \"%s\" is empty or longer than %u bytes",
                            shown, DNS_NAME_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  (c == '.' && i > 0 && i + 1 < len && host[i - 1] != '.');
        if (!ok) {
            printable(host, shown, sizeof(shown));
            return rp_error_set(err, RP_EUSAGE, "\"%s\" is not a host name a certificate can name",
                                shown);
        }
        h->name[i] = c;
    }
    h->name[len] = '\0';
    h->len = len;
    return RP_OK;
}

/* ALPN: http/1.1 when the client offers it, else no ALPN at all (the client then assumes
 * HTTP/1.1; h2 alone gets no answer rather than a failed handshake). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const char want[] = "http/1.1";
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int n = in[i];
        if (n > inlen - i - 1) {
            break; /* a malformed list: OpenSSL checks it first, but be safe */
        }
        if (n == sizeof(want) - 1 && memcmp(in + i + 1, want, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* SNI: when the client names another host than the one the connection was set up for, the
 * handshake goes on with that host's leaf. A name we cannot mint for keeps the first leaf, and
 * the client's own verification then says what is wrong. A context that has left the cache (or
 * outlived the CA, in a connection's reference) has no CA to mint with and keeps its leaf. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    struct rp_ca *ca = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!ca || !name) {
        return SSL_TLSEXT_ERR_OK;
    }
    SSL_CTX *ctx = NULL;
    if (rp_ca_server_ctx(ca, name, &ctx, NULL)) {
        ERR_clear_error();
        return SSL_TLSEXT_ERR_OK;
    }
    if (ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, ctx)) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* A server context presenting the leaf cert (and the CA after it). */
static SSL_CTX *new_server_ctx(struct rp_ca *ca, X509 *cert)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* The proxy writes from a queue that compacts and grows, on non-blocking sockets. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, ca);
    bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              SSL_CTX_use_certificate(ctx, cert) == 1 &&
              SSL_CTX_use_PrivateKey(ctx, ca->leaf_key) == 1 &&
              SSL_CTX_add1_chain_cert(ctx, ca->cert) == 1;
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void lru_unlink(struct rp_ca *ca, struct leaf *l)
{
    if (l->newer) {
        l->newer->older = l->older;
    } else {
        ca->newest = l->older;
    }
    if (l->older) {
        l->older->newer = l->newer;
    } else {
        ca->oldest = l->newer;
    }
    l->newer = NULL;
    l->older = NULL;
}

static void lru_push(struct rp_ca *ca, struct leaf *l)
{
    l->older = ca->newest;
    l->newer = NULL;
    if (ca->newest) {
        ca->newest->newer = l;
    } else {
        ca->oldest = l;
    }
    ca->newest = l;
}

/* Drops the least recently used leaf. */
static void evict_oldest(struct rp_ca *ca)
{
    struct leaf *l = ca->oldest;
    struct leaf **p = &ca->buckets[hash_name(l->host) & (LEAF_BUCKETS - 1)];
    while (*p != l) {
        p = &(*p)->chain;
    }
    *p = l->chain;
    lru_unlink(ca, l);
    ca->n_leaves--;
    free_leaf(l);
}

rp_code rp_ca_server_ctx(struct rp_ca *ca, const char *host, SSL_CTX **out, struct rp_error *err)
{
    struct host h;
    rp_code rc = parse_host(host, &h, err);
    if (rc) {
        return rc;
    }
    struct leaf **bucket = &ca->buckets[hash_name(h.name) & (LEAF_BUCKETS - 1)];
    for (struct leaf *l = *bucket; l; l = l->chain) {
        if (strcmp(l->host, h.name) == 0) {
            lru_unlink(ca, l);
            lru_push(ca, l);
            *out = l->ctx;
            return RP_OK;
        }
    }
    X509 *cert = new_leaf_cert(ca, &h);
    if (!cert) {
        return tls_fail(err, "cannot make a leaf certificate");
    }
    SSL_CTX *ctx = new_server_ctx(ca, cert);
    X509_free(cert); /* the context holds its own reference */
    if (!ctx) {
        return tls_fail(err, "cannot make a server TLS context");
    }
    if (ca->n_leaves >= RP_CA_MAX_LEAVES) {
        evict_oldest(ca);
    }
    struct leaf *l = rp_xcalloc(1, sizeof(*l));
    l->host = rp_xstrndup(h.name, h.len);
    l->ctx = ctx;
    l->chain = *bucket;
    *bucket = l;
    lru_push(ca, l);
    ca->n_leaves++;
    *out = ctx;
    return RP_OK;
}
