/* SPDX-License-Identifier: MIT */
/* Microsecond Unix times and their ISO-8601 UTC form, as the recording format stores them. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <reprise/recording.h>

int64_t rp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void rp_time_format(int64_t us, char out[32])
{
    int64_t secs = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        memcpy(out, "1970-01-01T00:00:00Z", 21);
        return;
    }
    /* ISO 8601 wants four year digits (what rp_time_parse reads); strftime's %Y does not pad
     * years before 1000, and a year past 9999 has no four-digit form: both are clamped to
     * the epoch, which no real recording has. */
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        memcpy(out, "1970-01-01T00:00:00Z", 21);
        return;
    }
    char tmp[64];
    int k = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d", year, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (k != 19) {
        memcpy(out, "1970-01-01T00:00:00Z", 21);
        return;
    }
    memcpy(out, tmp, 20);
    size_t n = 19;
    if (frac) {
        snprintf(out + n, 32 - n, ".%06dZ", (int)frac);
    } else {
        memcpy(out + n, "Z", 2);
    }
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

bool rp_time_parse(const char *s, int64_t *out_us)
{
    unsigned y, mo, d, h, mi, se;
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int64_t scale = 100000;
        size_t nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 6) {
                frac += (*p - '0') * scale;
                scale /= 10;
            }
            nd++;
            p++;
        }
        if (nd == 0) {
            return false;
        }
    }
    if (!(strcmp(p, "Z") == 0 || strcmp(p, "+00:00") == 0)) {
        return false;
    }
    int64_t days = days_from_civil(y, mo, d);
    *out_us = ((days * 86400) + h * 3600 + mi * 60 + se) * (int64_t)1000000 + frac;
    return true;
}
