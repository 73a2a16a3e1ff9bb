/* SPDX-License-Identifier: MIT */
/* Microsecond Unix times and their ISO-8601 UTC form, as the recording format stores them. */
#include <string.h>
#include <time.h>

#include <reprise/recording.h>

#include "../time_int.h"

int64_t rp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void rp_time_format(int64_t us, char out[32])
{
    rp__iso8601_format(us, false, out);
}

bool rp_time_parse(const char *s, int64_t *out_us)
{
    return rp__iso8601_parse(s, strlen(s), RP__ISO_RECORDING, out_us);
}
