/* SPDX-License-Identifier: MIT */
/*
 * Private time helpers shared inside the library: ISO-8601 dates and times as the recording
 * format, HAR files and JSON Schema spell them, and the cookie Expires date, all as
 * microseconds since the Unix epoch.
 */
#ifndef REPRISE_TIME_INT_H
#define REPRISE_TIME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * What rp__iso8601_parse takes besides the core "YYYY-MM-DDThh:mm:ss[.fraction](Z|+00:00)":
 * each flag admits one more spelling.
 */
enum rp__iso_flags {
    RP__ISO_SPACE = 1u << 0,        /* a space may stand for the 'T' */
    RP__ISO_LOWER = 1u << 1,        /* 't' and 'z' as well as 'T' and 'Z' */
    RP__ISO_OPT_SECONDS = 1u << 2,  /* "hh:mm" with no seconds */
    RP__ISO_COMMA = 1u << 3,        /* ',' before the fraction as well as '.' */
    RP__ISO_OFFSET = 1u << 4,       /* any "+hh:mm" or "-hh:mm" offset, not only +00:00 */
    RP__ISO_LOOSE_OFFSET = 1u << 5, /* with RP__ISO_OFFSET: "+hhmm" and "+hh" too */
    RP__ISO_NO_ZONE = 1u << 6,      /* no zone at all, read as UTC */
    RP__ISO_MONTH_DAYS = 1u << 7,   /* the day checked against its month: no 31 April */
};

/* The recording format: what rp_time_format writes, and a space for the 'T'. */
#define RP__ISO_RECORDING (RP__ISO_SPACE)
/* JSON Schema's "date-time" format (RFC 3339). */
#define RP__ISO_RFC3339   (RP__ISO_LOWER | RP__ISO_OFFSET | RP__ISO_MONTH_DAYS)
/* What HAR writers put in startedDateTime. */
#define RP__ISO_HAR                                                                                \
    (RP__ISO_SPACE | RP__ISO_LOWER | RP__ISO_OPT_SECONDS | RP__ISO_COMMA | RP__ISO_OFFSET |        \
     RP__ISO_LOOSE_OFFSET | RP__ISO_NO_ZONE)

/*
 * Parses the n bytes at s, the whole of them, as an ISO-8601 date and time in the spellings
 * flags admits, into microseconds since the epoch, UTC (an offset is taken off). Any number of
 * fraction digits; the first six are kept. A leap second (":60") is read as the next second.
 * False for anything else: a month past 12, an hour past 23, trailing bytes.
 */
bool rp__iso8601_parse(const char *s, size_t n, unsigned flags, int64_t *out_us);

/*
 * Writes us as ISO-8601 UTC into out, NUL-terminated. With ms false: "2026-11-23T20:01:02Z",
 * and ".ffffffZ" microseconds when there are any (the recording format). With ms true, always
 * milliseconds: "2026-11-23T20:01:02.345Z" (HAR). A year outside 0..9999 is written as the
 * epoch.
 */
void rp__iso8601_format(int64_t us, bool ms, char out[32]);

/*
 * Parses a cookie's Expires date, n bytes at s: "Wed, 21 Oct 2015 07:28:00 GMT", the older
 * "Wednesday, 21-Oct-15 07:28:00 GMT" (a two-digit year below 70 is 20xx), with or without
 * the weekday. What follows the time is not read. False when it is none of those.
 */
bool rp__http_date_parse(const char *s, size_t n, int64_t *out_us);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t rp__days_from_civil(int64_t y, unsigned m, unsigned d);

/*
 * Microseconds on the monotonic clock: the library's one clock for durations, deadlines and
 * rates (never a date). Inline, as the replay's rate limiter reads it for every request.
 */
static inline int64_t rp__mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The same clock in milliseconds, for the proxy's idle and connect deadlines. */
static inline int64_t rp__mono_ms(void)
{
    return rp__mono_us() / 1000;
}

#endif /* REPRISE_TIME_INT_H */
