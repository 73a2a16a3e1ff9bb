/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for secrets known by their look (secret_int.h), the scrubber's new rules (card
 * numbers, card codes, AWS keys, PEM keys, random credentials, in requests and responses),
 * lint's findings, and the masking of mismatch text. Expected values are worked by hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <reprise/redact.h>
#include <reprise/scrub.h>
#include <reprise/shape.h>

#include "secret_int.h"

/* ----- helpers ---------------------------------------------------------------------------- */

static void add_h(struct rp_headers *h, const char *name, const char *value)
{
    cr_assert_eq(rp_headers_add(h, name, strlen(name), value, strlen(value), NULL), RP_OK);
}

static const char *hdr(const struct rp_headers *h, size_t i)
{
    cr_assert_lt(i, h->n);
    return h->v[i].value;
}

static void expect_body(const struct rp_body *b, const char *want)
{
    cr_assert_eq(b->len, strlen(want), "body: %.*s", (int)b->len, (const char *)b->data);
    cr_assert_eq(memcmp(b->data, want, b->len), 0, "body: %.*s", (int)b->len,
                 (const char *)b->data);
}

static void make(struct rp_exchange *ex, const char *url, const char *ct, const char *body)
{
    rp_exchange_init(ex);
    ex->req.method = rp_xstrdup("POST");
    ex->req.url = rp_xstrdup(url);
    if (ct) {
        add_h(&ex->req.headers, "Content-Type", ct);
    }
    if (body) {
        rp_body_set(&ex->req.body, body, strlen(body));
    }
}

static void respond(struct rp_exchange *ex, const char *ct, const char *body)
{
    ex->has_response = true;
    ex->resp.status = 200;
    add_h(&ex->resp.headers, "Content-Type", ct);
    rp_body_set(&ex->resp.body, body, strlen(body));
}

static void scrub(struct rp_exchange *ex)
{
    struct rp_scrub *s = rp_scrub_new();
    struct rp_error err = {0};
    cr_assert_eq(rp_scrub_exchange(s, ex, &err), RP_OK, "%s", err.msg);
    rp_scrub_free(s);
}

/* The first secret of the kinds in mask in text: its kind, start and length. */
static enum rp__secret_kind first(const char *text, unsigned mask, size_t *at, size_t *len)
{
    size_t pos = 0;
    *at = *len = 0;
    return rp__secret_next(text, strlen(text), &pos, mask, at, len);
}

/* ----- looks ------------------------------------------------------------------------------ */

Test(secrets, luhn)
{
    cr_assert(rp__secret_luhn("79927398713", 11)); /* the textbook example */
    cr_assert(rp__secret_luhn("4111111111111111", 16));
    cr_assert_not(rp__secret_luhn("4111111111111112", 16));
    cr_assert(rp__secret_luhn("378282246310005", 15)); /* Amex test number */
}

Test(secrets, card_numbers_by_look)
{
    size_t at, len;
    cr_assert_eq(first("pay 4111 1111 1111 1111 now", RP__SECRET_SCRUBBED, &at, &len),
                 RP__SECRET_CARD);
    cr_assert_eq(at, 4);
    cr_assert_eq(len, 19);
    cr_assert_eq(first("5555-5555-5555-4444", RP__SECRET_SCRUBBED, &at, &len), RP__SECRET_CARD);
    cr_assert_eq(len, 19);
    cr_assert_eq(first("378282246310005", RP__SECRET_SCRUBBED, &at, &len), RP__SECRET_CARD);
    /* Not cards: a bad check digit, a millisecond timestamp (Luhn-valid, but no network starts
     * with 1), digits inside a word, too many digits, an Amex prefix at Visa's length. */
    const char *no[] = {"4111111111111112",     "1700000000012",    "id4111111111111111",
                        "41111111111111111111", "3782822463100050", "4111 1111 1111 1111x"};
    cr_assert(rp__secret_luhn("1700000000012", 13));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        cr_assert_eq(first(no[i], RP__SECRET_ALL, &at, &len), RP__SECRET_NONE, "%s", no[i]);
    }
}

Test(secrets, keys_by_look)
{
    size_t at, len;
    cr_assert_eq(first("key=AKIAIOSFODNN7EXAMPLE;", RP__SECRET_SCRUBBED, &at, &len),
                 RP__SECRET_AWS_KEY_ID);
    cr_assert_eq(at, 4);
    cr_assert_eq(len, 20);
    cr_assert_eq(first("ASIAY34FZKBOKMUTVV7A", RP__SECRET_SCRUBBED, &at, &len),
                 RP__SECRET_AWS_KEY_ID);
    cr_assert_eq(first("AKIAIOSFODNN7EXAMPLEX", RP__SECRET_ALL, &at, &len), RP__SECRET_NONE);
    cr_assert_eq(first("AKIAiosfodnn7example", RP__SECRET_ALL, &at, &len), RP__SECRET_NONE);

    const char *pem = "x\\n-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIB\\n-----END RSA PRIVATE "
                      "KEY-----\\n";
    cr_assert_eq(first(pem, RP__SECRET_SCRUBBED, &at, &len), RP__SECRET_PEM);
    cr_assert_eq(at, 3);
    cr_assert_eq(len, strlen(pem) - 3 - 2);
    /* A public key or a certificate is not a secret. */
    cr_assert_eq(first("-----BEGIN PUBLIC KEY-----\nMII\n-----END PUBLIC KEY-----", RP__SECRET_ALL,
                       &at, &len),
                 RP__SECRET_NONE);

    const char *jwt = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcDEF123";
    cr_assert_eq(first(jwt, RP__SECRET_SCRUBBED, &at, &len), RP__SECRET_NONE);
    cr_assert_eq(first(jwt, RP__SECRET_ALL, &at, &len), RP__SECRET_JWT);
    cr_assert_eq(at, 7);
    cr_assert_eq(len, strlen(jwt) - 7);
}

Test(secrets, names_and_entropy)
{
    const char *codes[] = {"cvv", "CVC", "cvv2", "card_cvc", "security-code", "cardCode", "csc"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        cr_assert(rp__secret_name_card_code(codes[i], strlen(codes[i])), "%s", codes[i]);
    }
    cr_assert_not(rp__secret_name_card_code("discount", 8));
    cr_assert_not(rp__secret_name_card_code("cidr", 4));
    cr_assert(rp__secret_name_aws("aws_secret_access_key", 21));
    cr_assert(rp__secret_name_aws("AWS-Secret", 10));
    cr_assert(rp__secret_name_aws("SecretAccessKey", 15));
    cr_assert_not(rp__secret_name_aws("secret", 6));
    cr_assert(rp__secret_name_credential("client_key", 10));
    cr_assert(rp__secret_name_credential("X-Session", 9));
    cr_assert_not(rp__secret_name_credential("public_key", 10));
    cr_assert_not(rp__secret_name_credential("Idempotency-Key", 15));
    cr_assert_not(rp__secret_name_credential("author", 6));

    cr_assert(rp__secret_high_entropy("Zk3q9XvB2mT8rLpW4nYc", 20));
    cr_assert(rp__secret_high_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 40));
    cr_assert_not(rp__secret_high_entropy("passwordpassword", 16)); /* no digit */
    cr_assert_not(rp__secret_high_entropy("aaaaaaaaaaaaaaa1", 16)); /* 0.34 bits a byte */
    cr_assert_not(rp__secret_high_entropy("Zk3q9XvB2mT8", 12));     /* too short */
    cr_assert_not(rp__secret_high_entropy("123e4567-e89b-12d3-a456-426614174000", 36));
    cr_assert_not(rp__secret_high_entropy("Zk3q9XvB 2mT8rLpW4nYc", 21)); /* a space */
    cr_assert(rp__secret_aws_secret_form("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 40));
    cr_assert_not(rp__secret_aws_secret_form("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE", 39));

    char m[48];
    rp__secret_mask(19, m, sizeof(m));
    cr_assert_str_eq(m, "[hidden: 19 bytes]");
}

/* ----- scrubbing -------------------------------------------------------------------------- */

Test(secrets, request_json_card_code_and_keys_become_placeholders)
{
    struct rp_exchange ex;
    make(&ex, "https://a.test/pay?key_id=AKIAIOSFODNN7EXAMPLE&n=1", "application/json",
         "{\"card\":{\"number\":\"4111 1111 1111 1111\",\"cvv\":\"737\",\"exp\":\"12/30\"},"
         "\"aws\":{\"secretKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"},"
         "\"at\":1700000000012,\"ref\":\"1700000000012\",\"note\":\"call 4111111111111111\"}");
    scrub(&ex);
    cr_assert_str_eq(ex.req.url, "https://a.test/pay?key_id={{secret:aws_access_key_id}}&n=1");
    /* The second card number is a different value: a name of its own. secretKey is a secret
     * field already ("secret"); the timestamps stay. */
    expect_body(&ex.req.body,
                "{\"card\":{\"number\":\"{{secret:card_number}}\",\"cvv\":\"{{secret:cvv}}\","
                "\"exp\":\"12/30\"},\"aws\":{\"secretKey\":\"{{secret:secretkey}}\"},"
                "\"at\":1700000000012,\"ref\":\"1700000000012\",\"note\":\"call "
                "{{secret:card_number_2}}\"}");
    rp_exchange_cleanup(&ex);
}

/* Each placeholder's value, for the fill below. */
static const char *lookup(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "card_number") == 0) {
        return "4111 1111 1111 1111";
    }
    if (strcmp(name, "cvc") == 0) {
        return "737";
    }
    if (strcmp(name, "x_client_key") == 0) {
        return "Zk3q9XvB2mT8rLpW4nYc";
    }
    return NULL;
}

Test(secrets, form_header_and_fill_give_the_originals_back)
{
    const char *body = "card=4111+1111+1111+1111&cvc=737&name=Ada";
    struct rp_exchange ex;
    make(&ex, "https://a.test/pay", "application/x-www-form-urlencoded", body);
    add_h(&ex.req.headers, "X-Client-Key", "Zk3q9XvB2mT8rLpW4nYc");
    add_h(&ex.req.headers, "X-Trace", "plain-value-1");
    scrub(&ex);
    /* '+' is a form's space, not a card separator: the card goes whole with its name. */
    expect_body(&ex.req.body, "card=4111+1111+1111+1111&cvc={{secret:cvc}}&name=Ada");
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "{{secret:x_client_key}}");
    cr_assert_str_eq(hdr(&ex.req.headers, 2), "plain-value-1");
    struct rp_error err = {0};
    cr_assert_eq(rp_secrets_fill(&ex.req, lookup, NULL, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "Zk3q9XvB2mT8rLpW4nYc");
    expect_body(&ex.req.body, "card=4111+1111+1111+1111&cvc=737&name=Ada");
    rp_exchange_cleanup(&ex);
}

Test(secrets, form_card_with_percent_spaces_and_multipart)
{
    struct rp_exchange ex;
    make(&ex, "https://a.test/pay", "multipart/form-data; boundary=B",
         "--B\r\nContent-Disposition: form-data; name=\"pan\"\r\n\r\n5555555555554444\r\n"
         "--B\r\nContent-Disposition: form-data; name=\"security_code\"\r\n\r\n123\r\n--B--\r\n");
    scrub(&ex);
    expect_body(&ex.req.body,
                "--B\r\nContent-Disposition: form-data; name=\"pan\"\r\n\r\n{{secret:card_number}}"
                "\r\n--B\r\nContent-Disposition: form-data; name=\"security_code\"\r\n\r\n"
                "{{secret:security_code}}\r\n--B--\r\n");
    rp_exchange_cleanup(&ex);
}

Test(secrets, responses_lose_cards_codes_and_keys_but_keep_tokens)
{
    struct rp_exchange ex;
    make(&ex, "https://a.test/card", NULL, NULL);
    respond(&ex, "application/json",
            "{\"pan\":\"5555555555554444\",\"last4\":\"4444\",\"cvc\":\"123\",\"token\":\"srv\","
            "\"session_key\":\"Zk3q9XvB2mT8rLpW4nYc\"}");
    add_h(&ex.resp.headers, "X-Key", "AKIAIOSFODNN7EXAMPLE");
    scrub(&ex);
    /* Server tokens stay for correlation and variables; random values in responses too. */
    expect_body(&ex.resp.body,
                "{\"pan\":\"{{secret:card_number}}\",\"last4\":\"4444\",\"cvc\":\"{{secret:cvc}}\","
                "\"token\":\"srv\",\"session_key\":\"Zk3q9XvB2mT8rLpW4nYc\"}");
    cr_assert_str_eq(hdr(&ex.resp.headers, 1), "{{secret:aws_access_key_id}}");
    rp_exchange_cleanup(&ex);

    make(&ex, "https://a.test/receipt", NULL, NULL);
    respond(&ex, "text/html", "<p>Card 4111-1111-1111-1111 charged</p>");
    scrub(&ex);
    expect_body(&ex.resp.body, "<p>Card {{secret:card_number}} charged</p>");
    rp_exchange_cleanup(&ex);
}

Test(secrets, variables_and_placeholders_are_left_alone)
{
    struct rp_exchange ex;
    make(&ex, "https://a.test/x", "application/json",
         "{\"session_key\":\"{{var:session_key}}\",\"cvv\":\"{{secret:cvv}}\"}");
    add_h(&ex.req.headers, "X-Client-Key", "{{var:client_key}}");
    scrub(&ex);
    expect_body(&ex.req.body,
                "{\"session_key\":\"{{var:session_key}}\",\"cvv\":\"{{secret:cvv}}\"}");
    cr_assert_str_eq(hdr(&ex.req.headers, 1), "{{var:client_key}}");
    rp_exchange_cleanup(&ex);
}

/* ----- lint ------------------------------------------------------------------------------- */

struct found {
    char lines[16][256];
    size_t n;
};

static void collect(void *ud, const struct rp_scrub_finding *f)
{
    struct found *fd = ud;
    if (fd->n < 16) {
        snprintf(fd->lines[fd->n++], sizeof(fd->lines[0]), "%s|%s|%zu", f->what, f->place, f->len);
    }
}

Test(secrets, lint_names_what_and_where_and_nothing_after_scrubbing)
{
    struct rp_exchange ex;
    make(&ex, "https://a.test/pay?api_key=k1", "application/json",
         "{\"card\":{\"number\":\"4111111111111111\"},\"items\":[{\"cvv\":\"737\"}]}");
    add_h(&ex.req.headers, "Authorization", "Bearer abc");
    add_h(&ex.req.headers, "Cookie", "sid=s1; theme=dark");
    respond(&ex, "application/json",
            "{\"id_token\":\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcDEF123\"}");
    add_h(&ex.resp.headers, "Set-Cookie", "sid=s2; Path=/");
    struct rp_scrub *s = rp_scrub_new();
    struct found fd = {0};
    size_t n = rp_scrub_lint_exchange(s, &ex, collect, &fd);
    cr_assert_eq(n, 8);
    const char *want[] = {
        "credentials|request header Authorization|3",
        "cookie value|request header Cookie cookie sid|2",
        "cookie value|request header Cookie cookie theme|4",
        "secret field|query param api_key|2",
        "card number|request body $.card.number|16",
        "card security code|request body $.items[0].cvv|3",
        "cookie value|response header Set-Cookie cookie sid|2",
        "JWT|response body $.id_token|58",
    };
    for (size_t i = 0; i < 8; i++) {
        cr_assert_str_eq(fd.lines[i], want[i]);
    }
    struct rp_error err = {0};
    cr_assert_eq(rp_scrub_exchange(s, &ex, &err), RP_OK);
    /* Scrubbed, only the JWT a response gave is left (a variable's job, not scrub's). */
    memset(&fd, 0, sizeof(fd));
    cr_assert_eq(rp_scrub_lint_exchange(s, &ex, collect, &fd), 1);
    cr_assert_str_eq(fd.lines[0], "JWT|response body $.id_token|58");
    rp_scrub_free(s);
    rp_exchange_cleanup(&ex);
}

/* ----- mismatch text ---------------------------------------------------------------------- */

static const char *mismatch(const char *schema, const char *body, struct rp_mismatches *m)
{
    char json[1024];
    snprintf(json, sizeof(json), "{\"status\":200,\"media_type\":\"application/json\",\"body\":%s}",
             schema);
    struct rp_shape *s = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_shape_from_json(json, strlen(json), &s, &err), RP_OK, "%s", err.msg);
    struct rp_response r = {0};
    r.status = 200;
    add_h(&r.headers, "Content-Type", "application/json");
    rp_body_set(&r.body, body, strlen(body));
    rp_mismatches_init(m);
    cr_assert_not(rp_shape_match(s, &r, m));
    rp_response_cleanup(&r);
    rp_shape_free(s);
    cr_assert_eq(m->n, 1);
    return m->v[0].message;
}

Test(secrets, mismatch_text_masks_credentials_and_secret_looks)
{
    struct rp_mismatches m;
    cr_assert_str_eq(mismatch("{\"type\":\"object\",\"properties\":{\"password\":{\"type\":"
                              "\"integer\"}}}",
                              "{\"password\":\"hunter2\"}", &m),
                     "expected integer, got string [hidden: 7 bytes]");
    rp_mismatches_cleanup(&m);
    cr_assert_str_eq(mismatch("{\"type\":\"object\",\"properties\":{\"pin\":{\"type\":"
                              "\"integer\"}}}",
                              "{\"pin\":\"card 4111111111111111\"}", &m),
                     "expected integer, got string [hidden: 21 bytes]");
    rp_mismatches_cleanup(&m);
    cr_assert_str_eq(mismatch("{\"type\":\"object\",\"properties\":{\"session_key\":{\"type\":"
                              "\"string\"}}}",
                              "{\"session_key\":12345}", &m),
                     "expected string, got number [hidden: 5 bytes]");
    rp_mismatches_cleanup(&m);
    /* Anything else is shown as before. */
    cr_assert_str_eq(mismatch("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
                              "\"integer\"}}}",
                              "{\"name\":\"Ada\"}", &m),
                     "expected integer, got string \"Ada\"");
    rp_mismatches_cleanup(&m);
}

Test(secrets, card_numbers_as_json_numbers_become_0_in_responses_and_lint_in_requests)
{
    struct rp_exchange ex;
    make(&ex, "https://a.test/pay", "application/json", "{\"pan\":4111111111111111,\"n\":3}");
    respond(&ex, "application/json",
            "{\"pan\":5555555555554444,\"cvv\":737,\"id\":1700000000012,\"cvc\":0}");
    struct rp_scrub *s = rp_scrub_new();
    struct found fd = {0};
    cr_assert_eq(rp_scrub_lint_exchange(s, &ex, collect, &fd), 3);
    cr_assert_str_eq(fd.lines[0], "card number|request body $.pan|16");
    cr_assert_str_eq(fd.lines[2], "card security code|response body $.cvv|3");
    struct rp_error err = {0};
    cr_assert_eq(rp_scrub_exchange(s, &ex, &err), RP_OK);
    /* The type stays a number for the shape check; a request is never made invalid JSON. */
    expect_body(&ex.resp.body, "{\"pan\":0,\"cvv\":0,\"id\":1700000000012,\"cvc\":0}");
    expect_body(&ex.req.body, "{\"pan\":4111111111111111,\"n\":3}");
    rp_scrub_free(s);
    rp_exchange_cleanup(&ex);
}
