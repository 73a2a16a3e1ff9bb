/* SPDX-License-Identifier: MIT */
/* The static-asset filter: by the response's media type, else by the URL path's extension. */
#include <string.h>

#include <reprise/filter.h>
#include <reprise/limits.h>

/* Media types that are static whole ("text/css"), and prefixes that make a family static. */
static const char *const static_types[] = {
    "text/css",
    "application/javascript",
    "text/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "text/ecmascript",
    "application/vnd.ms-fontobject",
    NULL,
};

static const char *const static_prefixes[] = {
    "image/", "font/", "video/", "audio/", "application/font-", "application/x-font-", NULL,
};

static const char *const static_exts[] = {
    "png", "jpg",  "jpeg",  "gif", "webp", "avif", "bmp", "svg",  "ico", "css", "js",  "mjs",
    "map", "woff", "woff2", "ttf", "otf",  "eot",  "mp4", "webm", "mp3", "ogg", "wav", NULL,
};

enum verdict { VERDICT_STATIC, VERDICT_NEVER, VERDICT_UNKNOWN };

static enum verdict by_media_type(const struct rp_exchange *ex)
{
    char mt[RP_MAX_MEDIA_TYPE_BYTES];
    if (!ex->has_response || !rp_media_type(&ex->resp.headers, mt, sizeof(mt))) {
        return VERDICT_UNKNOWN;
    }
    if (rp_media_is_json(mt) || strcmp(mt, "text/html") == 0 ||
        strcmp(mt, "application/xhtml+xml") == 0) {
        return VERDICT_NEVER;
    }
    for (size_t i = 0; static_types[i]; i++) {
        if (strcmp(mt, static_types[i]) == 0) {
            return VERDICT_STATIC;
        }
    }
    for (size_t i = 0; static_prefixes[i]; i++) {
        if (strncmp(mt, static_prefixes[i], strlen(static_prefixes[i])) == 0) {
            return VERDICT_STATIC;
        }
    }
    return VERDICT_UNKNOWN;
}

static bool by_extension(const char *url)
{
    if (!url) {
        return false;
    }
    /* The path starts after "scheme://authority"; a URL without "://" is taken whole. */
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    if (p[n] != '/') {
        return false; /* no path at all: "https://host" or "https://host?q" */
    }
    p += n;
    size_t path_len = strcspn(p, "?#");
    const char *seg = p;
    for (size_t i = 0; i < path_len; i++) {
        if (p[i] == '/') {
            seg = p + i + 1;
        }
    }
    size_t seg_len = (size_t)(p + path_len - seg);
    const char *dot = NULL;
    for (size_t i = 0; i < seg_len; i++) {
        if (seg[i] == '.') {
            dot = seg + i;
        }
    }
    if (!dot) {
        return false;
    }
    size_t ext_len = seg_len - (size_t)(dot + 1 - seg);
    for (size_t i = 0; static_exts[i]; i++) {
        if (rp_strieq(dot + 1, ext_len, static_exts[i])) {
            return true;
        }
    }
    return false;
}

bool rp_filter_is_static(const struct rp_exchange *ex)
{
    /* Only a fetch is an asset: a POST to "/upload.png" is part of the session. */
    const char *m = ex->req.method;
    if (!m || (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)) {
        return false;
    }
    enum verdict v = by_media_type(ex);
    if (v != VERDICT_UNKNOWN) {
        return v == VERDICT_STATIC;
    }
    return by_extension(ex->req.url);
}
