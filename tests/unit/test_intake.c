/* SPDX-License-Identifier: MIT */
/* Unit tests for the recording pipeline: exchanges built here by hand go through rp_intake into
 * a recording, which is read back and compared with hand-written expectations. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <reprise/intake.h>
#include <reprise/recording.h>

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

TestSuite(intake, .init = setup, .fini = teardown);

/* A GET or POST to url with optional request headers (name, value pairs), a body and a
 * response of media type ctype. */
static void make(struct rp_exchange *ex, const char *method, const char *url,
                 const char *const *hdrs, size_t n_hdrs, const char *body, const char *ctype)
{
    rp_exchange_init(ex);
    ex->start_us = 1700000000LL * 1000000;
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    for (size_t i = 0; i + 1 < n_hdrs * 2; i += 2) {
        cr_assert_eq(rp_headers_add(&ex->req.headers, hdrs[i], strlen(hdrs[i]), hdrs[i + 1],
                                    strlen(hdrs[i + 1]), NULL),
                     RP_OK);
    }
    if (body) {
        ex->req.body.data = (unsigned char *)rp_xstrdup(body);
        ex->req.body.len = strlen(body);
    }
    ex->has_response = true;
    ex->resp.status = 200;
    cr_assert_eq(rp_headers_add(&ex->resp.headers, "Content-Type", 12, ctype, strlen(ctype), NULL),
                 RP_OK);
}

static enum rp_intake_fate add(struct rp_intake *in, struct rp_exchange *ex)
{
    enum rp_intake_fate fate = RP_INTAKE_FAILED;
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_add(in, ex, &fate, &err), RP_OK, "%s", err.msg);
    rp_exchange_cleanup(ex);
    return fate;
}

/* Reads the recording at path into v (at most n exchanges); returns how many it holds. */
static size_t read_back(const char *path, struct rp_rec_meta *meta, struct rp_exchange *v, size_t n)
{
    struct rp_reader *r = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_reader_open(path, NULL, &r, &err), RP_OK, "%s", err.msg);
    if (meta) {
        cr_assert_eq(rp_rec_meta_copy(meta, rp_reader_meta(r), &err), RP_OK);
    }
    size_t k = 0;
    for (;;) {
        struct rp_exchange ex;
        rp_exchange_init(&ex);
        bool got = false;
        cr_assert_eq(rp_reader_next(r, &ex, &got, &err), RP_OK, "%s", err.msg);
        if (!got) {
            rp_exchange_cleanup(&ex);
            break;
        }
        cr_assert_lt(k, n);
        v[k++] = ex;
    }
    rp_reader_free(r);
    return k;
}

static const char *hvalue(const struct rp_headers *h, const char *name)
{
    const struct rp_header *x = rp_headers_get(h, name, NULL);
    return x ? x->value : NULL;
}

Test(intake, static_assets_are_left_out_and_counted)
{
    char *out = path_in(dir, "s.jsonl.gz");
    struct rp_intake_opts o = {.output = out, .source_kind = "proxy"};
    struct rp_intake *in = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_new(&o, &in, &err), RP_OK, "%s", err.msg);
    struct rp_exchange ex;
    make(&ex, "GET", "http://a.test/logo.png", NULL, 0, NULL, "image/png");
    cr_assert_eq(add(in, &ex), RP_INTAKE_STATIC);
    make(&ex, "GET", "http://a.test/app.js", NULL, 0, NULL, "application/javascript");
    cr_assert_eq(add(in, &ex), RP_INTAKE_STATIC);
    make(&ex, "GET", "http://a.test/api/orders", NULL, 0, NULL, "application/json");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    struct rp_intake_counts c;
    rp_intake_counts(in, &c);
    cr_assert_eq(c.recorded, 1);
    cr_assert_eq(c.filtered_static, 2);
    cr_assert_eq(c.errors, 0);
    cr_assert_eq(rp_intake_close(in, &err), RP_OK, "%s", err.msg);
    rp_intake_free(in);

    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_exchange v[4];
    cr_assert_eq(read_back(out, &meta, v, 4), 1);
    cr_assert_str_eq(v[0].req.url, "http://a.test/api/orders");
    cr_assert_str_eq(meta.name, "s");
    cr_assert_str_eq(meta.source_kind, "proxy");
    rp_exchange_cleanup(&v[0]);
    rp_rec_meta_cleanup(&meta);
    free(out);
}

Test(intake, include_static_keeps_assets)
{
    char *out = path_in(dir, "k.jsonl.gz");
    struct rp_intake_opts o = {.output = out, .source_kind = "capture", .include_static = true};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    struct rp_exchange ex;
    make(&ex, "GET", "http://a.test/logo.png", NULL, 0, NULL, "image/png");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    rp_intake_free(in);
    free(out);
}

Test(intake, only_paths_filter_on_the_url_path)
{
    char *out = path_in(dir, "p.jsonl.gz");
    const char *only[] = {"/api/*"};
    struct rp_intake_opts o = {
        .output = out, .source_kind = "proxy", .only_paths = only, .n_only_paths = 1};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    struct rp_exchange ex;
    make(&ex, "POST", "http://a.test/login?next=/api/x", NULL, 0, "{}", "text/html");
    cr_assert_eq(add(in, &ex), RP_INTAKE_OUTSIDE_PATHS);
    make(&ex, "POST", "http://a.test/api/orders?x=1", NULL, 0, "{}", "application/json");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    struct rp_intake_counts c;
    rp_intake_counts(in, &c);
    cr_assert_eq(c.recorded, 1);
    cr_assert_eq(c.filtered_path, 1);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    rp_intake_free(in);
    free(out);
}

Test(intake, secrets_and_extra_redact_names_become_placeholders)
{
    char *out = path_in(dir, "r.jsonl.gz");
    const char *hdrs[] = {"X-Tenant-Key"};
    const char *fields[] = {"card"};
    const char *tenants[] = {"acme"};
    struct rp_intake_opts o = {.output = out,
                               .name = "checkout",
                               .source_kind = "har",
                               .source_detail = "s.har",
                               .tenants = tenants,
                               .n_tenants = 1,
                               .redact_headers = hdrs,
                               .n_redact_headers = 1,
                               .redact_fields = fields,
                               .n_redact_fields = 1};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    const char *h[] = {"Authorization", "Bearer abc123", "X-Tenant-Key",
                       "k-999",         "Content-Type",  "application/json"};
    struct rp_exchange ex;
    make(&ex, "POST", "http://a.test/api/pay", h, 3,
         "{\"card_number\":\"4111\",\"password\":\"hunter2\",\"qty\":\"2\"}", "application/json");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    rp_intake_free(in);

    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_exchange v[2];
    cr_assert_eq(read_back(out, &meta, v, 2), 1);
    cr_assert_str_eq(meta.name, "checkout");
    cr_assert_str_eq(meta.source_kind, "har");
    cr_assert_str_eq(meta.source_detail, "s.har");
    cr_assert_eq(meta.n_tenants, 1);
    cr_assert_str_eq(meta.tenants[0], "acme");
    cr_assert_str_eq(hvalue(&v[0].req.headers, "Authorization"), "Bearer {{secret:authorization}}");
    cr_assert_str_eq(hvalue(&v[0].req.headers, "X-Tenant-Key"), "{{secret:x_tenant_key}}");
    cr_assert_str_eq(hvalue(&v[0].req.headers, "Content-Type"), "application/json");
    cr_assert_str_eq((const char *)v[0].req.body.data,
                     "{\"card_number\":\"{{secret:card_number}}\","
                     "\"password\":\"{{secret:password}}\",\"qty\":\"2\"}");
    rp_exchange_cleanup(&v[0]);
    rp_rec_meta_cleanup(&meta);
    free(out);
}

Test(intake, no_redact_keeps_values_as_sent)
{
    char *out = path_in(dir, "n.jsonl.gz");
    struct rp_intake_opts o = {.output = out, .source_kind = "proxy", .no_redact = true};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    const char *h[] = {"Authorization", "Bearer abc123", "Content-Type", "application/json"};
    struct rp_exchange ex;
    make(&ex, "POST", "http://a.test/api/login", h, 2, "{\"password\":\"hunter2\"}",
         "application/json");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    rp_intake_free(in);
    struct rp_exchange v[2];
    cr_assert_eq(read_back(out, NULL, v, 2), 1);
    cr_assert_str_eq(hvalue(&v[0].req.headers, "Authorization"), "Bearer abc123");
    cr_assert_str_eq((const char *)v[0].req.body.data, "{\"password\":\"hunter2\"}");
    rp_exchange_cleanup(&v[0]);
    free(out);
}

Test(intake, bodies_past_max_body_are_cut_and_flagged)
{
    char *out = path_in(dir, "b.jsonl.gz");
    struct rp_intake_opts o = {.output = out, .source_kind = "proxy", .max_body = 4};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    cr_assert_eq(rp_intake_max_body(in), 4);
    struct rp_exchange ex;
    make(&ex, "POST", "http://a.test/api/x", NULL, 0, "abcdefgh", "application/json");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    rp_intake_free(in);
    struct rp_exchange v[2];
    cr_assert_eq(read_back(out, NULL, v, 2), 1);
    cr_assert_eq(v[0].req.body.len, 4);
    cr_assert_eq(memcmp(v[0].req.body.data, "abcd", 4), 0);
    cr_assert(v[0].req.body.truncated);
    rp_exchange_cleanup(&v[0]);
    free(out);
}

Test(intake, replace_writes_a_part_file_renamed_at_close_and_removed_when_not_closed)
{
    char *out = path_in(dir, "i.jsonl.gz");
    char *part = path_in(dir, "i.jsonl.gz.part");
    struct rp_intake_opts o = {
        .output = out, .source_kind = "har", .replace = true, .created_from_first = true};
    struct rp_intake *in = NULL;
    struct stat sb;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    cr_assert_neq(stat(part, &sb), 0, "created_from_first: no file before the first exchange");
    struct rp_exchange ex;
    make(&ex, "GET", "http://a.test/api/x", NULL, 0, NULL, "application/json");
    ex.start_us = 1700000000LL * 1000000 + 5; /* 2023-11-14T22:13:20Z */
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    cr_assert_eq(stat(part, &sb), 0);
    cr_assert_neq(stat(out, &sb), 0);
    rp_intake_free(in); /* never closed: the .part goes */
    cr_assert_neq(stat(part, &sb), 0);
    cr_assert_neq(stat(out, &sb), 0);

    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    make(&ex, "GET", "http://a.test/api/x", NULL, 0, NULL, "application/json");
    cr_assert_eq(add(in, &ex), RP_INTAKE_RECORDED);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    rp_intake_free(in);
    cr_assert_neq(stat(part, &sb), 0);
    struct rp_rec_meta meta;
    rp_rec_meta_init(&meta);
    struct rp_exchange v[2];
    cr_assert_eq(read_back(out, &meta, v, 2), 1);
    cr_assert_str_eq(meta.created, "2023-11-14T22:13:20Z");
    rp_exchange_cleanup(&v[0]);
    rp_rec_meta_cleanup(&meta);
    free(part);
    free(out);
}

Test(intake, a_file_that_cannot_be_created_is_an_io_error_naming_it)
{
    struct rp_intake_opts o = {.output = "/nonexistent/dir/x.jsonl.gz", .source_kind = "proxy"};
    struct rp_intake *in = NULL;
    struct rp_error err = {0};
    cr_assert_eq(rp_intake_new(&o, &in, &err), RP_EIO);
    cr_assert_null(in);
    cr_assert(strstr(err.msg, "/nonexistent/dir/x.jsonl.gz"), "%s", err.msg);
    struct rp_intake_opts bad = {.source_kind = "proxy"};
    cr_assert_eq(rp_intake_new(&bad, &in, &err), RP_EUSAGE);
}

Test(intake, an_empty_recording_is_a_header_alone)
{
    char *out = path_in(dir, "e.jsonl.gz");
    struct rp_intake_opts o = {.output = out, .source_kind = "har", .created_from_first = true};
    struct rp_intake *in = NULL;
    cr_assert_eq(rp_intake_new(&o, &in, NULL), RP_OK);
    cr_assert_eq(rp_intake_close(in, NULL), RP_OK);
    struct rp_error err = {0};
    struct rp_exchange ex;
    make(&ex, "GET", "http://a.test/api/x", NULL, 0, NULL, "application/json");
    cr_assert_eq(rp_intake_add(in, &ex, NULL, &err), RP_EINTERNAL);
    rp_exchange_cleanup(&ex);
    rp_intake_free(in);
    struct rp_exchange v[1];
    cr_assert_eq(read_back(out, NULL, v, 1), 0);
    free(out);
}
