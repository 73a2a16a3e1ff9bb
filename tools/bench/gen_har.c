/* SPDX-License-Identifier: MIT */
/*
 * reprise-bench-har: writes a synthetic HAR file of about MIB mebibytes for the HAR import
 * memory benchmark (tools/bench/har_memory.sh), laid out as Chrome saves one: indented, creator
 * and pages before the entries, and entries of a browser session against a JSON API (GETs of
 * lists and items, POSTs with JSON bodies, the odd binary body in base64), each with a dozen
 * headers, cookies, timings and a response body of 1 to 12 KB. Deterministic: the same MIB
 * gives the same file.
 *
 *   reprise-bench-har MIB OUT.har
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Past 4 GiB is past anything import accepts (RP_MAX_HAR_BYTES) by far. */
#define BENCH_MAX_MIB 4096ULL

static const char USAGE[] = "usage: reprise-bench-har MIB OUT.har\n";

/* Parses a positive decimal count no larger than max. */
static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v == 0 || v > max) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* A small deterministic generator (xorshift64*), so runs are comparable. */
static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545F4914F6CDD1DULL;
}

/* A response body: a JSON list of items, escaped as HAR text holds it, about want bytes. */
static void json_body(FILE *f, uint64_t id, size_t want)
{
    fputs("{\\\"items\\\":[", f);
    size_t written = 12;
    for (uint64_t k = 0; written < want; k++) {
        int n =
            fprintf(f,
                    "%s{\\\"id\\\":%" PRIu64 ",\\\"sku\\\":\\\"SKU-%08" PRIx64
                    "\\\",\\\"name\\\":\\\"Item %" PRIu64 " of order %" PRIu64
                    "\\\",\\\"price\\\":%" PRIu64 ".%02u,\\\"tags\\\":[\\\"a\\\",\\\"b\\\"]}",
                    k ? "," : "", id * 100 + k, rnd(), k, id, rnd() % 500, (unsigned)(rnd() % 100));
        written += n > 0 ? (size_t)n : 0;
    }
    fputs("]}", f);
}

/* Base64 of n pseudo-random bytes (a binary body, as exports of images and uploads hold). */
static void base64_body(FILE *f, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint64_t r = rnd();
        fputc(abc[r & 63], f);
        fputc(abc[(r >> 6) & 63], f);
        fputc(abc[(r >> 12) & 63], f);
        fputc(abc[(r >> 18) & 63], f);
    }
}

static void header(FILE *f, const char *name, const char *value, bool last)
{
    fprintf(f,
            "          {\n            \"name\": \"%s\",\n            \"value\": \"%s\"\n"
            "          }%s\n",
            name, value, last ? "" : ",");
}

static void entry(FILE *f, uint64_t i, bool first)
{
    unsigned kind = (unsigned)(rnd() % 10); /* 0-5 GET list, 6-7 GET item, 8 POST, 9 binary */
    const char *method = kind == 8 ? "POST" : "GET";
    char url[256];
    if (kind <= 5) {
        snprintf(url, sizeof(url), "https://shop.example.com/api/orders?page=%" PRIu64, i);
    } else if (kind == 9) {
        snprintf(url, sizeof(url), "https://shop.example.com/api/orders/%" PRIu64 "/receipt", i);
    } else {
        snprintf(url, sizeof(url), "https://shop.example.com/api/orders/%" PRIu64, i);
    }
    fprintf(f, "%s    {\n      \"pageref\": \"page_1\",\n", first ? "" : ",\n");
    fprintf(f,
            "      \"startedDateTime\": \"2026-03-01T08:%02u:%02u.%03uZ\",\n"
            "      \"time\": %u.%03u,\n",
            (unsigned)(i / 60000 % 60), (unsigned)(i / 1000 % 60), (unsigned)(i % 1000),
            (unsigned)(rnd() % 900 + 10), (unsigned)(rnd() % 1000));
    fprintf(f,
            "      \"request\": {\n        \"method\": \"%s\",\n        \"url\": \"%s\",\n"
            "        \"httpVersion\": \"http/2.0\",\n        \"headers\": [\n",
            method, url);
    header(f, ":authority", "shop.example.com", false);
    header(f, ":method", method, false);
    header(f, "accept", "application/json, text/plain, */*", false);
    header(f, "accept-encoding", "gzip, deflate, br", false);
    header(f, "accept-language", "en-GB,en;q=0.9", false);
    header(f, "cookie", "session=8f2c1e5a9b7d4c3e; theme=dark", false);
    header(f, "referer", "https://shop.example.com/orders", false);
    header(f, "user-agent",
           "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36",
           kind != 8);
    if (kind == 8) {
        header(f, "content-type", "application/json", true);
    }
    fputs("        ],\n        \"queryString\": [],\n        \"cookies\": [\n"
          "          {\"name\": \"session\", \"value\": \"8f2c1e5a9b7d4c3e\"},\n"
          "          {\"name\": \"theme\", \"value\": \"dark\"}\n        ],\n"
          "        \"headersSize\": -1,\n",
          f);
    if (kind == 8) {
        fprintf(f,
                "        \"bodySize\": 64,\n        \"postData\": {\n"
                "          \"mimeType\": \"application/json\",\n"
                "          \"text\": \"{\\\"sku\\\":\\\"SKU-%08" PRIx64
                "\\\",\\\"quantity\\\":%u}\"\n        }\n",
                rnd(), (unsigned)(rnd() % 9 + 1));
    } else {
        fputs("        \"bodySize\": 0\n", f);
    }
    fputs("      },\n      \"response\": {\n        \"status\": 200,\n"
          "        \"statusText\": \"\",\n        \"httpVersion\": \"http/2.0\",\n"
          "        \"headers\": [\n",
          f);
    const char *mime = kind == 9 ? "application/pdf" : "application/json; charset=utf-8";
    header(f, "cache-control", "no-store", false);
    header(f, "content-encoding", "br", false);
    header(f, "content-type", mime, false);
    header(f, "date", "Sun, 01 Mar 2026 08:00:00 GMT", false);
    header(f, "server", "nginx", false);
    header(f, "strict-transport-security", "max-age=63072000", false);
    header(f, "vary", "Accept-Encoding", false);
    header(f, "x-request-id", "3f1d2c4b-5a69-4e7f-8a9b-0c1d2e3f4a5b", true);
    size_t body = kind <= 5 ? 4000 + rnd() % 8000 : kind == 9 ? 3000 : 1000;
    fprintf(f,
            "        ],\n        \"cookies\": [],\n        \"content\": {\n"
            "          \"size\": %zu,\n          \"mimeType\": \"%s\",\n          \"text\": \"",
            body, mime);
    if (kind == 9) {
        base64_body(f, body);
        fputs("\",\n          \"encoding\": \"base64\"\n", f);
    } else {
        json_body(f, i, body);
        fputs("\"\n", f);
    }
    fputs("        },\n        \"redirectURL\": \"\",\n        \"headersSize\": -1,\n"
          "        \"bodySize\": -1,\n        \"_transferSize\": 1200,\n"
          "        \"_error\": null\n      },\n",
          f);
    fprintf(f,
            "      \"serverIPAddress\": \"203.0.113.7\",\n"
            "      \"connection\": \"%" PRIu64 "\",\n"
            "      \"_initiator\": {\"type\": \"script\", \"stack\": {\"callFrames\": "
            "[{\"functionName\": \"load\", \"url\": \"https://shop.example.com/app.js\", "
            "\"lineNumber\": 1, \"columnNumber\": 20480}]}},\n"
            "      \"_priority\": \"High\",\n      \"_resourceType\": \"fetch\",\n"
            "      \"cache\": {},\n      \"timings\": {\n        \"blocked\": 1.2,\n"
            "        \"dns\": -1,\n        \"ssl\": -1,\n        \"connect\": -1,\n"
            "        \"send\": 0.1,\n        \"wait\": 80.5,\n        \"receive\": 2.3,\n"
            "        \"_blocked_queueing\": 0.8\n      }\n    }",
            1000 + i % 6);
}

int main(int argc, char **argv)
{
    uint64_t mib = 0;
    if (argc != 3 || !parse_count(argv[1], BENCH_MAX_MIB, &mib)) {
        fputs(USAGE, stderr);
        return 2;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        fprintf(stderr, "reprise-bench-har: %s: %s\n", argv[2], strerror(errno));
        return 3;
    }
    fputs("{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {\n"
          "      \"name\": \"WebInspector\",\n      \"version\": \"537.36\"\n    },\n"
          "    \"pages\": [\n      {\n        \"startedDateTime\": \"2026-03-01T08:00:00.000Z\",\n"
          "        \"id\": \"page_1\",\n        \"title\": \"https://shop.example.com/orders\",\n"
          "        \"pageTimings\": {\n          \"onContentLoad\": 412.5,\n"
          "          \"onLoad\": 803.1\n        }\n      }\n    ],\n    \"entries\": [\n",
          f);
    uint64_t target = mib * 1024 * 1024;
    uint64_t n = 0;
    for (; (uint64_t)ftell(f) < target; n++) {
        entry(f, n + 1, n == 0);
    }
    fputs("\n    ]\n  }\n}\n", f);
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "reprise-bench-har: %s: write failed\n", argv[2]);
        return 3;
    }
    printf("%" PRIu64 "\n", n);
    return 0;
}
