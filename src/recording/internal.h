/* SPDX-License-Identifier: MIT */
/*
 * Private declarations of the recording module: the two halves of the exchange line decoder
 * (fastdecode.c and decode.c), apart, so that tests and the fuzz target can hold the fast one
 * against the reference, and the keys of an exchange line they share with the encoder.
 */
#ifndef REPRISE_RECORDING_INTERNAL_H
#define REPRISE_RECORDING_INTERNAL_H

#include <reprise/recording.h>

/* The keys of an exchange line the format owns, NULL-terminated, in the order "seq", "start",
 * "duration_us", "conn", "incomplete", "request", "response". */
extern const char *const rp__recording_exchange_keys[];

/*
 * The fast path: decodes a line as the writer writes it straight into ex (initialised and
 * empty). Returns false, with ex left empty, for any line it does not take: one that
 * rp__recording_decode_cjson would reject, or read in a way this path does not reproduce
 * (unknown keys, duplicates, null, numbers other than plain integers, strings holding a
 * control byte or a NUL). Never an error: such lines go to the reference decoder.
 */
bool rp__recording_decode_fast(const char *line, size_t len, struct rp_exchange *ex);

/* The reference decoder, on a cJSON tree: every line, every error message. As
 * rp_recording_decode_exchange. */
rp_code rp__recording_decode_cjson(const char *line, size_t len, struct rp_exchange *ex,
                                   struct rp_error *err);

#endif /* REPRISE_RECORDING_INTERNAL_H */
