/* SPDX-License-Identifier: MIT */
/*
 * Secrets known by their look (secret_int.h): card numbers, AWS access key ids, PEM private
 * keys, JWTs, high-entropy strings and the names of the fields that hold them.
 */
#include <stdio.h>
#include <string.h>

#include "secret_int.h"
#include "text_int.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_b64url(char c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

/* ----- card numbers ------------------------------------------------------------------------ */

bool rp__secret_luhn(const char *d, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned v = (unsigned)(d[len - 1 - i] - '0');
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9) {
                v -= 9;
            }
        }
        sum += v;
    }
    return len > 0 && sum % 10 == 0;
}

/* True when len digits starting with d (at least 6 of them) may be a card of a known network. */
static bool card_prefix(const char *d, size_t len)
{
    unsigned p2 = (unsigned)(d[0] - '0') * 10 + (unsigned)(d[1] - '0');
    unsigned p4 = p2 * 100 + (unsigned)(d[2] - '0') * 10 + (unsigned)(d[3] - '0');
    switch (d[0]) {
    case '4': /* Visa */
        return len == 13 || len == 16 || len == 19;
    case '2': /* Mastercard 2221-2720 */
        return len == 16 && p4 >= 2221 && p4 <= 2720;
    case '3':
        if (p2 == 34 || p2 == 37) { /* American Express */
            return len == 15;
        }
        if (p4 >= 3528 && p4 <= 3589) { /* JCB */
            return len >= 16;
        }
        return (p2 == 36 || p2 == 38 || p2 == 39 || (p4 >= 3000 && p4 <= 3059)) && len >= 14;
    case '5':
        if (p2 >= 51 && p2 <= 55) { /* Mastercard */
            return len == 16;
        }
        return (p2 == 50 || (p2 >= 56 && p2 <= 58)) && len >= 13; /* Maestro */
    case '6':                                                     /* Discover, UnionPay, Maestro */
        return len >= 16;
    default:
        return false;
    }
}

/*
 * A card number starting at s[i] (a digit after a non-alphanumeric byte): digits in groups
 * separated by one space or '-'. Sets *end past its last digit.
 */
static bool card_at(const char *s, size_t n, size_t i, size_t *end)
{
    char d[20];
    size_t nd = 0;
    size_t j = i;
    size_t last = i;
    while (j < n) {
        if (is_digit(s[j])) {
            if (nd == sizeof(d)) {
                return false; /* too long for a card */
            }
            d[nd++] = s[j++];
            last = j;
        } else if ((s[j] == ' ' || s[j] == '-') && j + 1 < n && is_digit(s[j + 1]) &&
                   is_digit(s[j - 1])) {
            j++;
        } else {
            break;
        }
    }
    if (last < n && is_alnum(s[last])) {
        return false;
    }
    if (nd < 13 || nd > 19 || !card_prefix(d, nd) || !rp__secret_luhn(d, nd)) {
        return false;
    }
    *end = last;
    return true;
}

/* ----- keys -------------------------------------------------------------------------------- */

static bool aws_key_id_at(const char *s, size_t n, size_t i, size_t *end)
{
    if (n - i < 20 || (memcmp(s + i, "AKIA", 4) != 0 && memcmp(s + i, "ASIA", 4) != 0)) {
        return false;
    }
    for (size_t k = i + 4; k < i + 20; k++) {
        if (!((s[k] >= 'A' && s[k] <= 'Z') || is_digit(s[k]))) {
            return false;
        }
    }
    if (i + 20 < n && is_alnum(s[i + 20])) {
        return false;
    }
    *end = i + 20;
    return true;
}

/* Finds the n2 bytes of needle in s[from, to); returns its index or to. */
static size_t find(const char *s, size_t from, size_t to, const char *needle)
{
    size_t n2 = strlen(needle);
    for (size_t i = from; i + n2 <= to; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, n2) == 0) {
            return i;
        }
    }
    return to;
}

/* "-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----" through its END line, or to the
 * end of the text when that is cut. */
static bool pem_at(const char *s, size_t n, size_t i, size_t *end)
{
    static const char begin[] = "-----BEGIN ";
    static const char tail[] = "PRIVATE KEY-----";
    if (n - i < sizeof(begin) - 1 || memcmp(s + i, begin, sizeof(begin) - 1) != 0) {
        return false;
    }
    size_t lim = i + 64 < n ? i + 64 : n;
    size_t t = find(s, i, lim, tail);
    if (t == lim) {
        return false;
    }
    size_t e = find(s, t + sizeof(tail) - 1, n, "-----END ");
    if (e == n) {
        *end = n;
        return true;
    }
    size_t lim2 = e + 64 < n ? e + 64 : n;
    size_t t2 = find(s, e, lim2, tail);
    *end = t2 == lim2 ? n : t2 + sizeof(tail) - 1;
    return true;
}

/* Three base64url segments, the first two JSON objects ("eyJ"). */
static bool jwt_at(const char *s, size_t n, size_t i, size_t *end)
{
    if (n - i < 3 || memcmp(s + i, "eyJ", 3) != 0) {
        return false;
    }
    size_t j = i;
    for (int seg = 0; seg < 3; seg++) {
        size_t st = j;
        while (j < n && is_b64url(s[j])) {
            j++;
        }
        if (seg < 2 && (j - st < 10 || j >= n || s[j] != '.')) {
            return false;
        }
        if (seg == 1 && (j - st < 3 || memcmp(s + st, "eyJ", 3) != 0)) {
            return false;
        }
        if (seg < 2) {
            j++;
        }
    }
    if (j < n && (is_b64url(s[j]) || s[j] == '.')) {
        return false;
    }
    *end = j;
    return true;
}

enum rp__secret_kind rp__secret_next(const char *s, size_t n, size_t *pos, unsigned mask,
                                     size_t *start, size_t *len)
{
    for (size_t i = *pos; i < n; i++) {
        bool boundary = i == 0 || !is_alnum(s[i - 1]);
        /* In raw JSON text, "\n" before a value leaves an 'n' in front of it. */
        bool escaped = i >= 2 && s[i - 2] == '\\' && s[i - 1] == 'n';
        if (!boundary && !escaped) {
            continue;
        }
        size_t end = 0;
        enum rp__secret_kind k = RP__SECRET_NONE;
        if ((mask & (1u << RP__SECRET_CARD)) && is_digit(s[i]) && boundary &&
            card_at(s, n, i, &end)) {
            k = RP__SECRET_CARD;
        } else if ((mask & (1u << RP__SECRET_AWS_KEY_ID)) && s[i] == 'A' &&
                   aws_key_id_at(s, n, i, &end)) {
            k = RP__SECRET_AWS_KEY_ID;
        } else if ((mask & (1u << RP__SECRET_PEM)) && s[i] == '-' && pem_at(s, n, i, &end)) {
            k = RP__SECRET_PEM;
        } else if ((mask & (1u << RP__SECRET_JWT)) && s[i] == 'e' && boundary &&
                   jwt_at(s, n, i, &end)) {
            k = RP__SECRET_JWT;
        }
        if (k != RP__SECRET_NONE) {
            *start = i;
            *len = end - i;
            *pos = end;
            return k;
        }
    }
    *pos = n;
    return RP__SECRET_NONE;
}

const char *rp__secret_stem(enum rp__secret_kind kind)
{
    switch (kind) {
    case RP__SECRET_CARD:
        return "card_number";
    case RP__SECRET_AWS_KEY_ID:
        return "aws_access_key_id";
    case RP__SECRET_PEM:
        return "private_key";
    case RP__SECRET_JWT:
        return "jwt";
    default:
        return "secret";
    }
}

const char *rp__secret_kind_text(enum rp__secret_kind kind)
{
    switch (kind) {
    case RP__SECRET_CARD:
        return "card number";
    case RP__SECRET_AWS_KEY_ID:
        return "AWS access key id";
    case RP__SECRET_PEM:
        return "PEM private key";
    case RP__SECRET_JWT:
        return "JWT";
    default:
        return "secret";
    }
}

/* ----- names ------------------------------------------------------------------------------- */

/* Field names are compared on their first NAME_MAX bytes, lower-cased, '-' and ' ' as '_'. */
#define NAME_MAX_BYTES 128u

static size_t norm(const char *name, size_t len, char out[NAME_MAX_BYTES + 1])
{
    size_t n = len < NAME_MAX_BYTES ? len : NAME_MAX_BYTES;
    for (size_t i = 0; i < n; i++) {
        char c = rp__ascii_lower(name[i]);
        out[i] = c == '-' || c == ' ' ? '_' : c;
    }
    out[n] = '\0';
    return n;
}

static bool has_any(const char *key, const char *const *words)
{
    for (size_t i = 0; words[i]; i++) {
        if (strstr(key, words[i])) {
            return true;
        }
    }
    return false;
}

bool rp__secret_name_card_code(const char *name, size_t len)
{
    static const char *const exact[] = {"cvv", "cvc", "cvv2", "cvc2", "csc", "cvn", "cid", NULL};
    static const char *const parts[] = {"cvv",
                                        "cvc",
                                        "security_code",
                                        "card_code",
                                        "securitycode",
                                        "cardcode",
                                        "card_verification",
                                        "verification_value",
                                        NULL};
    char key[NAME_MAX_BYTES + 1];
    norm(name, len, key);
    for (size_t i = 0; exact[i]; i++) {
        if (strcmp(key, exact[i]) == 0) {
            return true;
        }
    }
    return has_any(key, parts);
}

bool rp__secret_name_aws(const char *name, size_t len)
{
    char key[NAME_MAX_BYTES + 1];
    norm(name, len, key);
    if (strstr(key, "secret_access_key") || strstr(key, "secretaccesskey")) {
        return true;
    }
    return strstr(key, "aws") && (strstr(key, "secret") || strstr(key, "key"));
}

bool rp__secret_name_credential(const char *name, size_t len)
{
    static const char *const words[] = {"key",      "auth",   "credential", "private", "signature",
                                        "password", "passwd", "secret",     "token",   "session",
                                        "cookie",   "bearer", NULL};
    static const char *const not_words[] = {"public", "publishable", "idempotency", "csrf",
                                            "xsrf",   "cache",       "monkey",      "keyword",
                                            "key_id", "keyid",       "author",      NULL};
    char key[NAME_MAX_BYTES + 1];
    norm(name, len, key);
    return has_any(key, words) && !has_any(key, not_words);
}

/* ----- values ------------------------------------------------------------------------------ */

static bool is_uuid(const char *v, size_t n)
{
    if (n != 36) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? v[i] != '-' : rp__hex_value((unsigned char)v[i]) < 0) {
            return false;
        }
    }
    return true;
}

/* log2(x) for 1 <= x < 2^31, to about 1e-6, without libm (the library does not link it): the
 * integer part by shifting, the fraction bit by bit by squaring. */
static double log2_of(unsigned x)
{
    double r = 0;
    while (x >= 2) {
        x >>= 1;
        r += 1;
    }
    return r;
}

static double log2_real(double x)
{
    unsigned ip = (unsigned)x;
    double r = log2_of(ip);
    double y = x / (double)(1u << (unsigned)r);
    double bit = 0.5;
    for (int i = 0; i < 24; i++) {
        y *= y;
        if (y >= 2) {
            y /= 2;
            r += bit;
        }
        bit /= 2;
    }
    return r;
}

bool rp__secret_high_entropy(const char *v, size_t n)
{
    if (n < 16 || n > 4096 || is_uuid(v, n)) {
        return false;
    }
    unsigned counts[256] = {0};
    bool upper = false, lower = false, digit = false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!(is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '.' || c == '~' ||
              c == '-')) {
            return false;
        }
        upper = upper || (c >= 'A' && c <= 'Z');
        lower = lower || (c >= 'a' && c <= 'z');
        digit = digit || is_digit(c);
        counts[(unsigned char)c]++;
    }
    if ((int)upper + (int)lower + (int)digit < 2 || !digit) {
        return false;
    }
    double h = 0;
    for (size_t i = 0; i < 256; i++) {
        if (counts[i]) {
            double p = (double)counts[i] / (double)n;
            h -= p * -log2_real(1.0 / p);
        }
    }
    return h >= 3.0;
}

bool rp__secret_aws_secret_form(const char *v, size_t n)
{
    if (n != 40) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(is_alnum(v[i]) || v[i] == '+' || v[i] == '/')) {
            return false;
        }
    }
    return true;
}

void rp__secret_mask(size_t n, char *out, size_t outsz)
{
    if (outsz > 0) {
        snprintf(out, outsz, "[hidden: %zu bytes]", n);
    }
}
