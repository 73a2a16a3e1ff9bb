/* SPDX-License-Identifier: MIT */
/*
 * The progress line of a long run on a terminal: steps done of the total, failed ones, the
 * rate and the time left, redrawn in place with a carriage return and erased (ESC [ K) before
 * any other line is printed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/report.h>

#include "../time_int.h"

/* Width assumed when the caller does not know the terminal's. */
#define DEFAULT_WIDTH 80u

struct rp_progress {
    FILE *out; /* borrowed */
    unsigned width;
    int64_t start_us; /* monotonic */
    int64_t drawn_us; /* when the text was last made */
    uint64_t total, done, failed;
    bool shown;     /* the line is on the terminal now */
    char text[256]; /* the text last made; empty before the first draw */
};

struct rp_progress *rp_progress_new(FILE *out, unsigned width)
{
    struct rp_progress *p = rp_xcalloc(1, sizeof(*p));
    p->out = out;
    p->width = width ? width : DEFAULT_WIDTH;
    p->start_us = rp__mono_us();
    return p;
}

void rp_progress_free(struct rp_progress *p)
{
    if (p) {
        rp_progress_clear(p);
        free(p);
    }
}

void rp_progress_add_total(struct rp_progress *p, uint64_t steps)
{
    if (p) {
        p->total += steps;
    }
}

void rp_progress_clear(struct rp_progress *p)
{
    if (p && p->shown) {
        /* Nothing to do when the write fails: the line is only ever cosmetic. */
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->shown = false;
    }
}

/* Appends "M:SS" (or "H:MM:SS") for secs to buf at *n, within size. */
static void add_clock(char *buf, size_t size, size_t *n, uint64_t secs)
{
    int k;
    if (secs >= 3600) {
        k = snprintf(buf + *n, size - *n, "%" PRIu64 ":%02u:%02u", secs / 3600,
                     (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    } else {
        k = snprintf(buf + *n, size - *n, "%u:%02u", (unsigned)(secs / 60), (unsigned)(secs % 60));
    }
    if (k > 0) {
        *n += (size_t)k < size - *n ? (size_t)k : size - *n - 1;
    }
}

size_t rp_progress_format(char *buf, size_t size, unsigned width, uint64_t done, uint64_t total,
                          uint64_t failed, uint64_t elapsed_us)
{
    if (size == 0) {
        return 0;
    }
    /* A retried session can report more steps than the run planned. */
    if (total < done) {
        total = done;
    }
    size_t n = 0;
    int k = snprintf(buf, size, "  %" PRIu64 "/%" PRIu64 " steps, %" PRIu64 " failed", done, total,
                     failed);
    n = k > 0 ? ((size_t)k < size ? (size_t)k : size - 1) : 0;
    if (elapsed_us > 0 && done > 0) {
        /* Tenths of a step per second, in integers: exact enough and no rounding surprises. */
        uint64_t tenths = done * UINT64_C(10000000) / elapsed_us;
        if (tenths >= 1000) {
            k = snprintf(buf + n, size - n, ", %" PRIu64 "/s", tenths / 10);
        } else {
            k = snprintf(buf + n, size - n, ", %" PRIu64 ".%u/s", tenths / 10,
                         (unsigned)(tenths % 10));
        }
        n += k > 0 ? ((size_t)k < size - n ? (size_t)k : size - n - 1) : 0;
        if (total > done && n + 2 < size) {
            /* The steps left at the rate so far. */
            uint64_t left = total - done;
            uint64_t secs = left > UINT64_MAX / elapsed_us ? UINT64_MAX / 1000000
                                                           : left * elapsed_us / done / 1000000;
            memcpy(buf + n, ", ", 3);
            n += 2;
            add_clock(buf, size, &n, secs);
            k = snprintf(buf + n, size - n, " left");
            n += k > 0 ? ((size_t)k < size - n ? (size_t)k : size - n - 1) : 0;
        }
    }
    /* The last column stays empty: writing it makes some terminals wrap. */
    size_t fit = width > 1 ? width - 1 : 0;
    if (n > fit) {
        n = fit;
        buf[n] = '\0';
    }
    return n;
}

void rp_progress_step(struct rp_progress *p, bool failed)
{
    if (!p) {
        return;
    }
    p->done++;
    p->failed += failed;
    int64_t now = rp__mono_us();
    int64_t elapsed = now - p->start_us;
    if (elapsed < (int64_t)RP_PROGRESS_DELAY_MS * 1000) {
        return;
    }
    bool due = !p->text[0] || now - p->drawn_us >= (int64_t)RP_PROGRESS_REDRAW_MS * 1000;
    if (due) {
        rp_progress_format(p->text, sizeof(p->text), p->width, p->done, p->total, p->failed,
                           (uint64_t)elapsed);
        p->drawn_us = now;
    }
    /* Shown again after another line cleared it, even when its text is not due to change. */
    if (due || !p->shown) {
        fprintf(p->out, "\r%s\033[K", p->text);
        fflush(p->out);
        p->shown = true;
    }
}
