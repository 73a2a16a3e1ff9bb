/* SPDX-License-Identifier: MIT */
/* Unit tests for the static-asset filter: media types first, then URL path extensions. */
#include <criterion/criterion.h>
#include <string.h>

#include <reprise/filter.h>

/* An exchange for method and url, with a response of content_type (NULL: no Content-Type;
 * "-": no response at all). */
static void make(struct rp_exchange *ex, const char *method, const char *url,
                 const char *content_type)
{
    rp_exchange_init(ex);
    ex->req.method = rp_xstrdup(method);
    ex->req.url = rp_xstrdup(url);
    if (content_type && strcmp(content_type, "-") == 0) {
        return;
    }
    ex->has_response = true;
    ex->resp.status = 200;
    if (content_type) {
        cr_assert_eq(rp_headers_add(&ex->resp.headers, "Content-Type", 12, content_type,
                                    strlen(content_type), NULL),
                     RP_OK);
    }
}

static bool is_static(const char *method, const char *url, const char *content_type)
{
    struct rp_exchange ex;
    make(&ex, method, url, content_type);
    bool r = rp_filter_is_static(&ex);
    rp_exchange_cleanup(&ex);
    return r;
}

Test(filter, static_media_types_are_static_whatever_the_url)
{
    const char *types[] = {
        "image/png",
        "image/svg+xml",
        "font/woff2",
        "text/css",
        "text/css; charset=utf-8",
        "application/javascript",
        "text/javascript;charset=UTF-8",
        "application/x-javascript",
        "application/font-woff",
        "application/x-font-ttf",
        "application/vnd.ms-fontobject",
        "video/mp4",
        "audio/mpeg",
        "IMAGE/GIF",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        cr_assert(is_static("GET", "https://cdn.example.test/asset", types[i]), "%s", types[i]);
    }
}

Test(filter, json_and_html_are_never_static)
{
    cr_assert_not(is_static("GET", "https://a.test/app.js", "application/json"));
    cr_assert_not(is_static("GET", "https://a.test/logo.png", "application/problem+json"));
    cr_assert_not(is_static("GET", "https://a.test/site.css", "text/html; charset=utf-8"));
    cr_assert_not(is_static("GET", "https://a.test/page.svg", "application/xhtml+xml"));
}

Test(filter, other_media_types_fall_back_to_the_extension)
{
    cr_assert(is_static("GET", "https://a.test/app.js", "application/octet-stream"));
    cr_assert(is_static("GET", "https://a.test/fonts/a.woff2", "binary/octet-stream"));
    cr_assert(is_static("GET", "https://a.test/app.js.map", "text/plain"));
    cr_assert_not(is_static("GET", "https://a.test/api/items", "text/plain"));
    cr_assert(is_static("GET", "https://a.test/img/LOGO.PNG", NULL));
    cr_assert(is_static("HEAD", "https://a.test/v.mp4", "-"));
}

Test(filter, the_query_and_fragment_are_ignored)
{
    cr_assert(is_static("GET", "https://a.test/app.js?v=12", NULL));
    cr_assert(is_static("GET", "https://a.test/site.css#top", NULL));
    cr_assert_not(is_static("GET", "https://a.test/api/files?name=logo.png", NULL));
    cr_assert_not(is_static("GET", "https://a.test/download#x.css", NULL));
}

Test(filter, only_the_last_path_segment_has_an_extension)
{
    cr_assert_not(is_static("GET", "https://a.test/v1.css/items", NULL));
    cr_assert_not(is_static("GET", "https://cdn.example.js/", NULL));
    cr_assert_not(is_static("GET", "https://cdn.example.png", NULL));
    cr_assert_not(is_static("GET", "https://a.test/file.", NULL));
    cr_assert_not(is_static("GET", "https://a.test/archive.jsx", NULL));
    cr_assert_not(is_static("GET", "https://a.test/script.json", NULL));
}

Test(filter, only_get_and_head_fetch_assets)
{
    cr_assert_not(is_static("POST", "https://a.test/upload.png", "image/png"));
    cr_assert_not(is_static("PUT", "https://a.test/theme.css", NULL));
    cr_assert_not(is_static("DELETE", "https://a.test/a.jpg", "-"));
}
