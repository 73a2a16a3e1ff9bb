/* SPDX-License-Identifier: MIT */
/*
 * ISO-8601 dates and times, read and written in one place for the recording format, HAR import
 * and export, and JSON Schema's date-time format, plus the cookie Expires date HAR export
 * turns into ISO form.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "text_int.h"
#include "time_int.h"

/* Howard Hinnant's days_from_civil. */
int64_t rp__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in(unsigned y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* A cursor over the bytes being parsed. */
struct cur {
    const char *p;
    const char *end;
};

/* Reads exactly k digits. */
static bool digits(struct cur *c, size_t k, unsigned *out)
{
    if ((size_t)(c->end - c->p) < k) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < k; i++) {
        if (c->p[i] < '0' || c->p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(c->p[i] - '0');
    }
    c->p += k;
    *out = v;
    return true;
}

/* Takes the byte ch when it is next. */
static bool eat(struct cur *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* The zone at the end: Z, or an offset as flags admit; *out_s is the offset in seconds. */
static bool zone(struct cur *c, unsigned flags, int64_t *out_s)
{
    *out_s = 0;
    if (c->p == c->end) {
        return (flags & RP__ISO_NO_ZONE) != 0;
    }
    if (eat(c, 'Z') || ((flags & RP__ISO_LOWER) && eat(c, 'z'))) {
        return c->p == c->end;
    }
    if (*c->p != '+' && *c->p != '-') {
        return false;
    }
    int64_t sign = *c->p++ == '-' ? -1 : 1;
    unsigned oh, om = 0;
    if (!digits(c, 2, &oh)) {
        return false;
    }
    if (flags & RP__ISO_LOOSE_OFFSET) {
        eat(c, ':');
        if (c->p < c->end && !digits(c, 2, &om)) {
            return false;
        }
    } else if (!eat(c, ':') || !digits(c, 2, &om)) {
        return false;
    }
    if (c->p != c->end || oh > 23 || om > 59) {
        return false;
    }
    if (!(flags & RP__ISO_OFFSET) && (oh != 0 || om != 0 || sign < 0)) {
        return false;
    }
    *out_s = sign * (int64_t)(oh * 3600 + om * 60);
    return true;
}

bool rp__iso8601_parse(const char *s, size_t n, unsigned flags, int64_t *out_us)
{
    struct cur c = {s, s + n};
    unsigned y, mo, d, h, mi, se = 0;
    if (!digits(&c, 4, &y) || !eat(&c, '-') || !digits(&c, 2, &mo) || !eat(&c, '-') ||
        !digits(&c, 2, &d)) {
        return false;
    }
    if (!eat(&c, 'T') && !((flags & RP__ISO_LOWER) && eat(&c, 't')) &&
        !((flags & RP__ISO_SPACE) && eat(&c, ' '))) {
        return false;
    }
    if (!digits(&c, 2, &h) || !eat(&c, ':') || !digits(&c, 2, &mi)) {
        return false;
    }
    if (eat(&c, ':')) {
        if (!digits(&c, 2, &se)) {
            return false;
        }
    } else if (!(flags & RP__ISO_OPT_SECONDS)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    if ((flags & RP__ISO_MONTH_DAYS) && d > days_in(y, mo)) {
        return false;
    }
    int64_t frac = 0;
    if (eat(&c, '.') || ((flags & RP__ISO_COMMA) && eat(&c, ','))) {
        int64_t scale = 100000;
        size_t nd = 0;
        for (; c.p < c.end && *c.p >= '0' && *c.p <= '9'; c.p++, nd++) {
            frac += (*c.p - '0') * scale;
            scale /= 10;
        }
        if (nd == 0) {
            return false;
        }
    }
    int64_t offset_s;
    if (!zone(&c, flags, &offset_s)) {
        return false;
    }
    int64_t days = rp__days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
    *out_us = secs * 1000000 + frac;
    return true;
}

void rp__iso8601_format(int64_t us, bool ms, char out[32])
{
    static const char epoch[2][32] = {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"};
    int64_t secs = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    /* ISO 8601 wants four year digits; a year past 9999 has no four-digit form and is written
     * as the epoch, which no real recording has. */
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        memcpy(out, epoch[ms], sizeof(epoch[ms]));
        return;
    }
    int k;
    if (ms) {
        k = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(frac / 1000));
    } else if (frac) {
        k = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    } else {
        k = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    if (k <= 0 || k >= 32) {
        memcpy(out, epoch[ms], sizeof(epoch[ms]));
    }
}

bool rp__http_date_parse(const char *s, size_t n, int64_t *out_us)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    const char *comma = memchr(s, ',', n);
    struct cur c = {comma ? comma + 1 : s, s + n};
    while (eat(&c, ' ')) {
    }
    unsigned d, y, h, mi, se;
    if (c.end - c.p < 18 || !digits(&c, 2, &d) || (!eat(&c, ' ') && !eat(&c, '-'))) {
        return false;
    }
    unsigned mo = 0;
    for (unsigned m = 0; m < 12; m++) {
        if (rp__ascii_ieq(c.p, months + 3 * m, 3)) {
            mo = m + 1;
        }
    }
    c.p += 3;
    if (mo == 0 || (!eat(&c, ' ') && !eat(&c, '-'))) {
        return false;
    }
    size_t yl = c.end - c.p > 4 && c.p[4] == ' ' ? 4 : 2;
    if (!digits(&c, yl, &y) || !eat(&c, ' ')) {
        return false;
    }
    if (yl == 2) {
        y += y < 70 ? 2000 : 1900;
    }
    if (!digits(&c, 2, &h) || !eat(&c, ':') || !digits(&c, 2, &mi) || !eat(&c, ':') ||
        !digits(&c, 2, &se)) {
        return false;
    }
    if (d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    int64_t days = rp__days_from_civil(y, mo, d);
    *out_us = (days * 86400 + h * 3600 + mi * 60 + se) * (int64_t)1000000;
    return true;
}
