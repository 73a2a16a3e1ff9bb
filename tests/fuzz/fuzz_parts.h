/* SPDX-License-Identifier: MIT */
/* Cutting a fuzz input into parts at "\n--\n", for the targets that build exchanges from it. */
#ifndef REPRISE_FUZZ_PARTS_H
#define REPRISE_FUZZ_PARTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Cuts [p, end) into n parts (part[i], len[i]); parts past the last separator are empty. */
static inline void fuzz_split(const uint8_t *p, const uint8_t *end, const uint8_t **part,
                              size_t *len, size_t n)
{
    static const char sep[] = "\n--\n";
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = p;
        while ((size_t)(end - q) >= 4 && memcmp(q, sep, 4) != 0) {
            q++;
        }
        part[i] = p;
        if ((size_t)(end - q) >= 4) {
            len[i] = (size_t)(q - p);
            p = q + 4;
        } else {
            len[i] = (size_t)(end - p);
            p = end;
        }
    }
}

#endif /* REPRISE_FUZZ_PARTS_H */
