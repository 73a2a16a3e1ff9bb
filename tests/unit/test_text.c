/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the library's private toolkit: hex digits, ASCII case, JSON's \uXXXX escapes,
 * Latin-1 to UTF-8 (text_int.h), the JSON scanner (jscan_int.h), ISO-8601 and cookie dates
 * (time_int.h), URLs, cookies and percent-coding (url_int.h), and cJSON's allocator
 * (common.c). Every expected value is written out by hand; the epoch seconds were taken from
 * date(1).
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <reprise/reprise.h>

#include "common_int.h"
#include "jscan_int.h"
#include "text_int.h"
#include "time_int.h"
#include "url_int.h"

/* The cJSON allocator test wants malloc to return NULL for an impossible size under
 * AddressSanitizer too, as it does without it, rather than report and stop. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* ----- hex and ASCII ------------------------------------------------------------------------ */

Test(text, hex_value_reads_both_cases_and_rejects_the_rest)
{
    cr_assert_eq(rp__hex_value('0'), 0);
    cr_assert_eq(rp__hex_value('9'), 9);
    cr_assert_eq(rp__hex_value('a'), 10);
    cr_assert_eq(rp__hex_value('F'), 15);
    cr_assert_eq(rp__hex_value('g'), -1);
    cr_assert_eq(rp__hex_value('G'), -1);
    cr_assert_eq(rp__hex_value('@'), -1);
    cr_assert_eq(rp__hex_value('`'), -1);
    cr_assert_eq(rp__hex_value(0xC1), -1);
    cr_assert_eq(rp__hex_value(0xE1), -1);
    cr_assert_eq(rp__hex_value(' '), -1);
}

Test(text, hex_byte_and_hex4_read_whole_groups_or_nothing)
{
    cr_assert_eq(rp__hex_byte("2f"), 0x2F);
    cr_assert_eq(rp__hex_byte("C3"), 0xC3);
    cr_assert_eq(rp__hex_byte("2x"), -1);
    cr_assert_eq(rp__hex4("00e9"), 0xE9);
    cr_assert_eq(rp__hex4("D83D"), 0xD83D);
    cr_assert_eq(rp__hex4("ffff"), 0xFFFF);
    cr_assert_eq(rp__hex4("12 4"), -1);
    cr_assert_eq(rp__hex4("-123"), -1);
    cr_assert_str_eq(rp__hex_upper, "0123456789ABCDEF");
    cr_assert_str_eq(rp__hex_lower, "0123456789abcdef");
}

Test(text, ascii_lower_and_ieq_fold_only_ascii_letters)
{
    cr_assert_eq(rp__ascii_lower('A'), 'a');
    cr_assert_eq(rp__ascii_lower('Z'), 'z');
    cr_assert_eq(rp__ascii_lower('['), '[');
    cr_assert_eq(rp__ascii_lower('@'), '@');
    cr_assert_eq(rp__ascii_lower((char)0xC9), (char)0xC9);
    cr_assert(rp__ascii_ieq("Content-Type", "content-TYPE", 12));
    cr_assert_not(rp__ascii_ieq("Content-Type", "content_type", 12));
    cr_assert_not(rp__ascii_ieq("\xC9", "\xE9", 1));
    cr_assert(rp__ascii_ieq("ab", "AB-and-more", 2));
    cr_assert(rp__ascii_ieq("", "", 0));
}

/* ----- \uXXXX ------------------------------------------------------------------------------- */

Test(text, json_u_read_reads_escapes_and_surrogate_pairs)
{
    uint32_t cp = 0;
    cr_assert_eq(rp__json_u_read("\\u00e9", 6, &cp), 6);
    cr_assert_eq(cp, 0xE9);
    cr_assert_eq(rp__json_u_read("\\u20AC rest", 11, &cp), 6);
    cr_assert_eq(cp, 0x20AC);
    cr_assert_eq(rp__json_u_read("\\ud83d\\ude00", 12, &cp), 12);
    cr_assert_eq(cp, 0x1F600);
    cr_assert_eq(rp__json_u_read("\\u0000", 6, &cp), 6);
    cr_assert_eq(cp, 0);
}

Test(text, json_u_read_returns_lone_surrogates_and_rejects_bad_escapes)
{
    uint32_t cp = 0;
    /* A high surrogate followed by something other than a low one is read alone. */
    cr_assert_eq(rp__json_u_read("\\ud83dx", 7, &cp), 6);
    cr_assert_eq(cp, 0xD83D);
    cr_assert_eq(rp__json_u_read("\\ud83d\\u0041", 12, &cp), 6);
    cr_assert_eq(cp, 0xD83D);
    cr_assert_eq(rp__json_u_read("\\ude00", 6, &cp), 6);
    cr_assert_eq(cp, 0xDE00);
    /* A pair cut short is a lone high surrogate. */
    cr_assert_eq(rp__json_u_read("\\ud83d\\ude0", 11, &cp), 6);
    cr_assert_eq(cp, 0xD83D);
    cp = 7;
    cr_assert_eq(rp__json_u_read("\\u00g9", 6, &cp), 0);
    cr_assert_eq(rp__json_u_read("\\u00e", 5, &cp), 0);
    cr_assert_eq(rp__json_u_read("\\x00e9", 6, &cp), 0);
    cr_assert_eq(cp, 7, "a failed read leaves the code point alone");
}

Test(text, json_u_write_writes_lower_hex_and_pairs_past_the_bmp)
{
    char out[13] = {0};
    cr_assert_eq(rp__json_u_write(0x1F, out), 6);
    cr_assert_eq(memcmp(out, "\\u001f", 6), 0);
    cr_assert_eq(rp__json_u_write(0xE9, out), 6);
    cr_assert_eq(memcmp(out, "\\u00e9", 6), 0);
    cr_assert_eq(rp__json_u_write(0xFFFF, out), 6);
    cr_assert_eq(memcmp(out, "\\uffff", 6), 0);
    cr_assert_eq(rp__json_u_write(0x1F600, out), 12);
    cr_assert_eq(memcmp(out, "\\ud83d\\ude00", 12), 0);
    cr_assert_eq(rp__json_u_write(0x10FFFF, out), 12);
    cr_assert_eq(memcmp(out, "\\udbff\\udfff", 12), 0);
}

Test(text, utf8_next_decodes_one_code_point_or_gives_fffd_for_one_byte)
{
    uint32_t cp = 0;
    cr_assert_eq(rp__utf8_next((const unsigned char *)"A", 1, &cp), 1);
    cr_assert_eq(cp, 0x41);
    cr_assert_eq(rp__utf8_next((const unsigned char *)"\xC3\xA9x", 3, &cp), 2);
    cr_assert_eq(cp, 0xE9);
    cr_assert_eq(rp__utf8_next((const unsigned char *)"\xE2\x82\xAC", 3, &cp), 3);
    cr_assert_eq(cp, 0x20AC);
    cr_assert_eq(rp__utf8_next((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp), 4);
    cr_assert_eq(cp, 0x1F600);
    cr_assert_eq(rp__utf8_next((const unsigned char *)"\xEF\xBF\xBD", 3, &cp), 3);
    cr_assert_eq(cp, 0xFFFD);
    /* Overlong, surrogate, cut short, a lone continuation byte, past U+10FFFF. */
    const char *bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\x80", "\xF4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cp = 0;
        cr_assert_eq(rp__utf8_next((const unsigned char *)bad[i], strlen(bad[i]), &cp), 1);
        cr_assert_eq(cp, 0xFFFD);
    }
    cr_assert(rp__utf8_text((const unsigned char *)"caf\xC3\xA9 \xEF\xBF\xBD", 9));
    cr_assert_not(rp__utf8_text((const unsigned char *)"caf\xC3", 4));
    cr_assert_not(rp__utf8_text((const unsigned char *)"a\0b", 3));
}

Test(text, utf8_from_latin1_copies_utf8_and_transcodes_the_rest)
{
    size_t n = 0;
    char *s = rp__utf8_from_latin1("caf\xC3\xA9", 5, &n);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(s, "caf\xC3\xA9");
    free(s);
    s = rp__utf8_from_latin1("caf\xE9", 4, &n);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(s, "caf\xC3\xA9");
    free(s);
    s = rp__utf8_from_latin1("a\0b\xFF", 4, &n);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(s, "a?b\xC3\xBF");
    free(s);
}

/* ----- the JSON scanner --------------------------------------------------------------------- */

/* Reads the string literal at the start of lit into out; returns the index after it, or 0. */
static size_t read_string(const char *lit, char *out, size_t outsz, size_t *len, bool *fits)
{
    size_t i = 0;
    if (!rp__jscan_string(lit, strlen(lit), &i, out, outsz, len, fits)) {
        return 0;
    }
    return i;
}

Test(jscan, string_decodes_escapes_and_surrogate_pairs)
{
    char out[64];
    size_t len = 0;
    bool fits = false;
    cr_assert_eq(read_string("\"a\\\"b\\\\c\\/d\\n\\t\" tail", out, sizeof(out), &len, &fits), 16);
    cr_assert(fits);
    cr_assert_eq(len, 9);
    cr_assert_str_eq(out, "a\"b\\c/d\n\t");
    cr_assert_eq(read_string("\"\\u00e9\\ud83d\\ude00!\"", out, sizeof(out), &len, &fits), 21);
    cr_assert_str_eq(out, "\xC3\xA9\xF0\x9F\x98\x80!");
    cr_assert_eq(len, 7);
}

Test(jscan, string_replaces_lone_surrogates_and_marks_nul_as_not_fitting)
{
    char out[64];
    size_t len = 0;
    bool fits = false;
    cr_assert_neq(read_string("\"x\\ud800y\"", out, sizeof(out), &len, &fits), 0);
    cr_assert(fits);
    cr_assert_str_eq(out, "x\xEF\xBF\xBDy");
    cr_assert_neq(read_string("\"\\udc00\"", out, sizeof(out), &len, &fits), 0);
    cr_assert_str_eq(out, "\xEF\xBF\xBD");
    cr_assert_eq(read_string("\"a\\u0000b\"", out, sizeof(out), &len, &fits), 10);
    cr_assert_not(fits);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(read_string("\"abcdef\"", out, 4, &len, &fits), 8);
    cr_assert_not(fits, "six bytes do not fit four");
}

Test(jscan, string_rejects_bad_escapes_controls_and_truncation)
{
    char out[16];
    cr_assert_eq(read_string("\"\\x\"", out, sizeof(out), NULL, NULL), 0);
    cr_assert_eq(read_string("\"\\u12g4\"", out, sizeof(out), NULL, NULL), 0);
    cr_assert_eq(read_string("\"\\u12\"", out, sizeof(out), NULL, NULL), 0);
    cr_assert_eq(read_string("\"a\nb\"", out, sizeof(out), NULL, NULL), 0);
    cr_assert_eq(read_string("\"abc", out, sizeof(out), NULL, NULL), 0);
    cr_assert_eq(read_string("\"abc\\", out, sizeof(out), NULL, NULL), 0);
    cr_assert_eq(read_string("\"a long string well past eight bytes", NULL, 0, NULL, NULL), 0);
}

Test(jscan, unescape_is_strict_about_nul_and_surrogates)
{
    char out[32];
    size_t len = 0;
    const char *ok = "a\\u00e9\\ud83d\\ude00\\n";
    cr_assert(rp__jscan_unescape(ok, strlen(ok), out, &len));
    cr_assert_eq(len, 8);
    cr_assert_str_eq(out, "a\xC3\xA9\xF0\x9F\x98\x80\n");
    cr_assert_not(rp__jscan_unescape("\\u0000", 6, out, &len));
    cr_assert_not(rp__jscan_unescape("\\ud800", 6, out, &len));
    cr_assert_not(rp__jscan_unescape("\\udc00x", 7, out, &len));
    cr_assert_not(rp__jscan_unescape("\\ud800\\u0041", 12, out, &len));
    cr_assert_not(rp__jscan_unescape("\\q", 2, out, &len));
    cr_assert_not(rp__jscan_unescape("ab\\", 3, out, &len));
    cr_assert_not(rp__jscan_unescape("\\u00e", 5, out, &len));
}

Test(jscan, plain_run_stops_at_quote_backslash_or_control)
{
    const char *s = "abcdefghijklmnop\"rest";
    cr_assert_eq(rp__jscan_plain_run(s, s + strlen(s)), s + 16);
    s = "abcdefghij\\klm";
    cr_assert_eq(rp__jscan_plain_run(s, s + strlen(s)), s + 10);
    s = "abc\x01";
    cr_assert_eq(rp__jscan_plain_run(s, s + 4), s + 3);
    s = "abcdefghi\x1f";
    cr_assert_eq(rp__jscan_plain_run(s, s + 10), s + 9);
    s = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    cr_assert_eq(rp__jscan_plain_run(s, s + 10), s + 10, "bytes past 0x7F are plain");
}

Test(jscan, string_end_steps_over_escapes_leniently)
{
    const char *s = "\"a\\\"b\\q\" x";
    cr_assert_eq(rp__jscan_string_end(s, strlen(s), 1), 7);
    s = "\"abc";
    cr_assert_eq(rp__jscan_string_end(s, 4, 1), 4);
    s = "\"abc\\";
    cr_assert_eq(rp__jscan_string_end(s, 5, 1), 5);
}

Test(jscan, numbers_and_literals_follow_the_grammar)
{
    size_t i = 0;
    cr_assert(rp__jscan_number("-12.50e+3,", 10, &i));
    cr_assert_eq(i, 9);
    i = 0;
    cr_assert(rp__jscan_number("0123", 4, &i));
    cr_assert_eq(i, 1, "a leading zero ends the number");
    i = 0;
    cr_assert_not(rp__jscan_number("-", 1, &i));
    cr_assert_not(rp__jscan_number("1.", 2, &i));
    cr_assert_not(rp__jscan_number("1e", 2, &i));
    cr_assert_not(rp__jscan_number(".5", 2, &i));
    cr_assert_eq(i, 0);
    enum rp__json_type t = RP__JSON_STRING;
    cr_assert(rp__jscan_literal("false]", 6, &i, &t));
    cr_assert_eq(i, 5);
    cr_assert_eq(t, RP__JSON_FALSE);
    i = 0;
    cr_assert(rp__jscan_literal("null", 4, &i, &t));
    cr_assert_eq(t, RP__JSON_NULL);
    i = 0;
    cr_assert_not(rp__jscan_literal("tru", 3, &i, &t));
    cr_assert_not(rp__jscan_literal("nil", 3, &i, &t));
}

Test(jscan, value_skips_whole_documents_and_rejects_broken_ones)
{
    const char *doc = " {\"a\": [1, \"x\", {\"b\": null}], \"c\": true} ,";
    size_t i = 0;
    cr_assert(rp__jscan_value(doc, strlen(doc), &i, 0));
    cr_assert_eq(i, 40);
    const char *bad[] = {"{\"a\" 1}", "[1, 2",  "[1,]",
                         "{\"a\":}",  "{1: 2}", "[1 2]",
                         "\"abc",     "",       "{\"a\": [1, \"x\\q\"]}"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        i = 0;
        cr_assert_not(rp__jscan_value(bad[k], strlen(bad[k]), &i, 0), "%s", bad[k]);
    }
}

Test(jscan, value_stops_past_the_depth_limit)
{
    char deep[2 * RP_MAX_JSON_DEPTH + 3];
    size_t n = 0;
    for (size_t k = 0; k < RP_MAX_JSON_DEPTH; k++) {
        deep[n++] = '[';
    }
    for (size_t k = 0; k < RP_MAX_JSON_DEPTH; k++) {
        deep[n++] = ']';
    }
    size_t i = 0;
    cr_assert(rp__jscan_value(deep, n, &i, 0), "64 levels are allowed");
    i = 0;
    cr_assert_not(rp__jscan_value(deep, n, &i, 1), "65 are not");
}

Test(jscan, json_escape_escapes_quotes_backslashes_and_controls_only)
{
    struct rp_buf b;
    rp_buf_init(&b, 1024);
    const char in[] = "a\"b\\c\n\t\b\f\r\x01\x1f/\xC3\xA9";
    cr_assert_eq(rp__json_escape(&b, in, sizeof(in) - 1, NULL), RP_OK);
    const char want[] = "a\\\"b\\\\c\\n\\t\\b\\f\\r\\u0001\\u001f/\xC3\xA9";
    cr_assert_eq(b.len, sizeof(want) - 1);
    cr_assert_eq(memcmp(b.data, want, b.len), 0);
    rp_buf_cleanup(&b);
    rp_buf_init(&b, 4);
    cr_assert_eq(rp__json_escape(&b, "\n\n\n", 3, NULL), RP_ETOOBIG);
    rp_buf_cleanup(&b);
}

/* ----- times -------------------------------------------------------------------------------- */

static int64_t parse(const char *s, unsigned flags, bool *ok)
{
    int64_t us = -42;
    *ok = rp__iso8601_parse(s, strlen(s), flags, &us);
    return us;
}

Test(time, iso8601_reads_the_recording_form)
{
    bool ok = false;
    cr_assert_eq(parse("2026-11-23T20:01:02Z", RP__ISO_RECORDING, &ok), 1795464062000000);
    cr_assert(ok);
    cr_assert_eq(parse("2026-11-23 20:01:02.123456789Z", RP__ISO_RECORDING, &ok), 1795464062123456);
    cr_assert(ok);
    cr_assert_eq(parse("2026-11-23T20:01:02.5+00:00", RP__ISO_RECORDING, &ok), 1795464062500000);
    cr_assert(ok);
    cr_assert_eq(parse("1969-12-31T23:59:59Z", RP__ISO_RECORDING, &ok), -1000000);
    cr_assert(ok);
    const char *bad[] = {"2026-11-23T20:01:02",       "2026-11-23T20:01:02+01:00",
                         "2026-11-23t20:01:02Z",      "2026-11-23T20:01Z",
                         "2026-13-01T00:00:00Z",      "2026-11-32T00:00:00Z",
                         "2026-11-23T24:00:00Z",      "2026-11-23T20:60:00Z",
                         "2026-11-23T20:01:61Z",      "2026-11-23T20:01:02.Z",
                         "2026-11-23T20:01:02Z junk", "2026-11-23T20:01:02-00:00",
                         "26-11-23T20:01:02Z",        ""};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        parse(bad[k], RP__ISO_RECORDING, &ok);
        cr_assert_not(ok, "%s", bad[k]);
    }
}

Test(time, iso8601_reads_a_leap_second_as_the_next_second)
{
    bool ok = false;
    cr_assert_eq(parse("2016-12-31T23:59:60Z", RP__ISO_RECORDING, &ok), 1483228800000000);
    cr_assert(ok);
}

Test(time, iso8601_takes_offsets_off_where_flags_admit_them)
{
    bool ok = false;
    /* 2023-03-29T16:58:59.303-07:00 is 23:58:59.303 UTC. */
    cr_assert_eq(parse("2023-03-29T16:58:59.303-07:00", RP__ISO_HAR, &ok), 1680134339303000);
    cr_assert(ok);
    cr_assert_eq(parse("2023-03-29T16:58:59.303-0700", RP__ISO_HAR, &ok), 1680134339303000);
    cr_assert(ok);
    cr_assert_eq(parse("2023-03-29T16:58:59,303-07", RP__ISO_HAR, &ok), 1680134339303000);
    cr_assert(ok);
    /* 2011-07-08T06:40:46.9724178+01:00 is 05:40:46.972417 UTC. */
    cr_assert_eq(parse("2011-07-08T06:40:46.9724178+01:00", RP__ISO_HAR, &ok), 1310103646972417);
    cr_assert(ok);
    cr_assert_eq(parse("2011-07-08t05:40z", RP__ISO_HAR, &ok), 1310103600000000);
    cr_assert(ok);
    cr_assert_eq(parse("2011-07-08 05:40:46", RP__ISO_HAR, &ok), 1310103646000000);
    cr_assert(ok, "no zone is UTC in HAR");
    parse("2023-03-29T16:58:59+24:00", RP__ISO_HAR, &ok);
    cr_assert_not(ok);
    parse("2023-03-29T16:58:59+07:60", RP__ISO_HAR, &ok);
    cr_assert_not(ok);
    parse("2023-03-29T16:58:59+7", RP__ISO_HAR, &ok);
    cr_assert_not(ok);
}

Test(time, iso8601_rfc3339_checks_the_day_of_the_month)
{
    bool ok = false;
    cr_assert_eq(parse("2000-02-29T00:00:00z", RP__ISO_RFC3339, &ok), 951782400000000);
    cr_assert(ok);
    cr_assert_eq(parse("2026-11-23T21:01:02+01:00", RP__ISO_RFC3339, &ok), 1795464062000000);
    cr_assert(ok);
    const char *bad[] = {"2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                         "2026-11-23 20:01:02Z", "2026-11-23T20:01:02",  "2026-11-23T20:01:02+0100",
                         "2026-11-23T20:01Z"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        parse(bad[k], RP__ISO_RFC3339, &ok);
        cr_assert_not(ok, "%s", bad[k]);
    }
}

Test(time, iso8601_format_writes_micro_or_milliseconds)
{
    char out[32];
    rp__iso8601_format(1795464062000000, false, out);
    cr_assert_str_eq(out, "2026-11-23T20:01:02Z");
    rp__iso8601_format(1795464062000042, false, out);
    cr_assert_str_eq(out, "2026-11-23T20:01:02.000042Z");
    rp__iso8601_format(1795464062123456, true, out);
    cr_assert_str_eq(out, "2026-11-23T20:01:02.123Z");
    rp__iso8601_format(-1, false, out);
    cr_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
    rp__iso8601_format(INT64_MAX, true, out);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000Z", "a year past 9999 is the epoch");
}

Test(time, http_date_reads_cookie_expires_forms)
{
    int64_t us = 0;
    const char *a = "Wed, 21 Oct 2015 07:28:00 GMT";
    cr_assert(rp__http_date_parse(a, strlen(a), &us));
    cr_assert_eq(us, 1445412480000000);
    const char *b = "Wednesday, 21-Oct-15 07:28:00 GMT";
    cr_assert(rp__http_date_parse(b, strlen(b), &us));
    cr_assert_eq(us, 1445412480000000);
    const char *c = "21 oct 2015 07:28:00";
    cr_assert(rp__http_date_parse(c, strlen(c), &us));
    cr_assert_eq(us, 1445412480000000);
    const char *bad[] = {"Wed, 21 Okt 2015 07:28:00 GMT", "Wed, 31 Apr 2015 07:28:00 GMT",
                         "Wed, 21 Oct 2015 24:28:00 GMT", "Wed, 21 Oct 2015 07:28", "tomorrow"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        cr_assert_not(rp__http_date_parse(bad[k], strlen(bad[k]), &us), "%s", bad[k]);
    }
}

/* ----- URLs and cookies ----------------------------------------------------------------------- */

/* The part [off, off + len) of s as a new string, for comparing. */
static char *part(const char *s, size_t off, size_t len)
{
    return rp_xstrndup(s + off, len);
}

static void assert_part(const char *s, size_t off, size_t len, const char *want)
{
    char *p = part(s, off, len);
    cr_assert_str_eq(p, want);
    free(p);
}

Test(url, split_finds_every_part_of_an_absolute_url)
{
    const char *s = "https://user:pw@Api.Example.com:8443/v1/orders?id=4&x#frag";
    struct rp__url u;
    rp__url_split(s, strlen(s), &u);
    cr_assert(u.has_authority);
    assert_part(s, 0, u.scheme_len, "https");
    assert_part(s, u.host_off, u.host_len, "Api.Example.com");
    assert_part(s, u.port_off, u.port_len, "8443");
    assert_part(s, 0, u.path_off, "https://user:pw@Api.Example.com:8443");
    assert_part(s, u.path_off, u.path_len, "/v1/orders");
    cr_assert(u.has_query);
    assert_part(s, u.query_off, u.query_len, "id=4&x");
    cr_assert(u.has_fragment);
    assert_part(s, u.fragment_off, u.fragment_len, "frag");
}

Test(url, split_reads_ipv6_hosts_paths_and_network_paths)
{
    const char *s = "http://[::1]:8080?q";
    struct rp__url u;
    rp__url_split(s, strlen(s), &u);
    assert_part(s, u.host_off, u.host_len, "::1");
    assert_part(s, u.port_off, u.port_len, "8080");
    cr_assert_eq(u.path_len, 0);
    assert_part(s, u.query_off, u.query_len, "q");
    s = "//cdn.example/a.js";
    rp__url_split(s, strlen(s), &u);
    cr_assert(u.has_authority);
    cr_assert_eq(u.scheme_len, 0);
    assert_part(s, u.host_off, u.host_len, "cdn.example");
    cr_assert_eq(u.port_len, 0);
    assert_part(s, u.path_off, u.path_len, "/a.js");
    s = "/p/q?";
    rp__url_split(s, strlen(s), &u);
    cr_assert_not(u.has_authority);
    assert_part(s, u.path_off, u.path_len, "/p/q");
    cr_assert(u.has_query);
    cr_assert_eq(u.query_len, 0);
    cr_assert_not(u.has_fragment);
    s = "mailto:x@y";
    rp__url_split(s, strlen(s), &u);
    cr_assert_not(u.has_authority);
    assert_part(s, u.path_off, u.path_len, "mailto:x@y");
}

Test(url, next_segment_and_next_param_step_through_paths_and_queries)
{
    const char *path = "/t/acme/";
    size_t pos = 0, off = 0, len = 0;
    cr_assert(rp__url_next_segment(path, 8, &pos, &off, &len));
    assert_part(path, off, len, "t");
    cr_assert(rp__url_next_segment(path, 8, &pos, &off, &len));
    assert_part(path, off, len, "acme");
    cr_assert(rp__url_next_segment(path, 8, &pos, &off, &len));
    cr_assert_eq(len, 0, "a trailing slash gives an empty last segment");
    cr_assert_not(rp__url_next_segment(path, 8, &pos, &off, &len));

    const char *q = "a=1&&b&=2&c=x=y";
    struct rp__pair p;
    pos = 0;
    cr_assert(rp__url_next_param(q, strlen(q), &pos, &p));
    assert_part(q, p.name_off, p.name_len, "a");
    assert_part(q, p.value_off, p.value_len, "1");
    cr_assert(rp__url_next_param(q, strlen(q), &pos, &p));
    assert_part(q, p.name_off, p.name_len, "b");
    cr_assert_eq(p.value_len, 0);
    cr_assert_eq(p.value_off, p.name_off + p.name_len,
                 "no '=': the value starts at the name's end");
    cr_assert(rp__url_next_param(q, strlen(q), &pos, &p));
    cr_assert_eq(p.name_len, 0);
    assert_part(q, p.value_off, p.value_len, "2");
    cr_assert(rp__url_next_param(q, strlen(q), &pos, &p));
    assert_part(q, p.name_off, p.name_len, "c");
    assert_part(q, p.value_off, p.value_len, "x=y");
    cr_assert_not(rp__url_next_param(q, strlen(q), &pos, &p));
}

Test(url, cookie_next_trims_pairs_and_attributes)
{
    const char *c = " sid = abc ;theme=dark; ;Secure;  Path=/x ";
    struct rp__pair p;
    size_t pos = 0;
    cr_assert(rp__cookie_next(c, strlen(c), &pos, &p));
    assert_part(c, p.name_off, p.name_len, "sid");
    assert_part(c, p.value_off, p.value_len, "abc");
    cr_assert(rp__cookie_next(c, strlen(c), &pos, &p));
    assert_part(c, p.name_off, p.name_len, "theme");
    assert_part(c, p.value_off, p.value_len, "dark");
    cr_assert(rp__cookie_next(c, strlen(c), &pos, &p));
    assert_part(c, p.name_off, p.name_len, "Secure");
    cr_assert_eq(p.value_len, 0);
    cr_assert(rp__cookie_next(c, strlen(c), &pos, &p));
    assert_part(c, p.name_off, p.name_len, "Path");
    assert_part(c, p.value_off, p.value_len, "/x");
    cr_assert_not(rp__cookie_next(c, strlen(c), &pos, &p));
}

Test(url, pct_decode_decodes_and_refuses_nul_and_overflow)
{
    char out[16];
    size_t n = 0;
    cr_assert(rp__pct_decode("a%2Fb+c%e9%zz%4", 15, true, out, sizeof(out), &n));
    cr_assert_eq(n, 11);
    cr_assert_str_eq(out, "a/b c\xE9%zz%4");
    cr_assert(rp__pct_decode("a+b", 3, false, out, sizeof(out), &n));
    cr_assert_str_eq(out, "a+b");
    cr_assert_not(rp__pct_decode("a%00b", 5, false, out, sizeof(out), &n));
    cr_assert_not(rp__pct_decode("0123456789abcdef", 16, false, out, sizeof(out), &n));
    cr_assert(rp__pct_decode("0123456789abcde", 15, false, out, sizeof(out), &n));
}

Test(url, pct_encode_keeps_what_each_mode_allows)
{
    const char in[] = "a b/c?d&e=f~\xC3\xA9";
    const char *want[] = {
        [RP__PCT_PATH] = "a%20b%2Fc%3Fd&e=f~%C3%A9",
        [RP__PCT_QUERY] = "a%20b/c?d%26e%3Df~%C3%A9",
        [RP__PCT_FORM] = "a+b%2Fc%3Fd%26e%3Df~%C3%A9",
        [RP__PCT_UNRESERVED] = "a%20b%2Fc%3Fd%26e%3Df~%C3%A9",
    };
    for (int m = RP__PCT_PATH; m <= RP__PCT_UNRESERVED; m++) {
        struct rp_buf b;
        rp_buf_init(&b, 256);
        cr_assert_eq(rp__pct_encode(in, sizeof(in) - 1, (enum rp__pct_mode)m, &b, NULL), RP_OK);
        cr_assert_eq(b.len, strlen(want[m]), "mode %d", m);
        cr_assert_eq(memcmp(b.data, want[m], b.len), 0, "mode %d", m);
        rp_buf_cleanup(&b);
    }
}

/* ----- cJSON's allocator -------------------------------------------------------------------- */

Test(common, cjson_allocates_through_rp_xmalloc)
{
    /* In a child: an allocation no machine can satisfy. Through rp_xmalloc it ends the process
     * with the out-of-memory line; with cJSON's default allocator it would return NULL. */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        void *p = cJSON_malloc(SIZE_MAX / 2);
        _exit(p ? 1 : 0);
    }
    close(fds[1]);
    char msg[512] = "";
    size_t got = 0;
    while (got < sizeof(msg) - 1) {
        ssize_t k = read(fds[0], msg + got, sizeof(msg) - 1 - got);
        if (k <= 0) {
            break;
        }
        got += (size_t)k;
    }
    msg[got] = '\0';
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d, stderr: %s", status,
              msg);
    cr_assert(strstr(msg, "reprise: out of memory allocating") != NULL, "stderr: %s", msg);
}

Test(common, json_print_prints_formatted_and_unformatted)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "a", cJSON_CreateNumber(1));
    char *flat = rp__json_print(o, false);
    cr_assert_str_eq(flat, "{\"a\":1}");
    char *pretty = rp__json_print(o, true);
    cr_assert_str_eq(pretty, "{\n\t\"a\":\t1\n}");
    cJSON_free(flat);
    cJSON_free(pretty);
    cJSON_Delete(o);
}
