/* SPDX-License-Identifier: MIT */
/* Shared by the HAR unit tests: an import through a new intake, as `reprise import` does it. */
#ifndef REPRISE_TEST_HAR_IMPORT_H
#define REPRISE_TEST_HAR_IMPORT_H

#include <reprise/har.h>
#include <reprise/intake.h>

/* Imports the HAR at har through a new intake configured by io (output and source kind
 * filled in here) into out; returns the intake's counts. */
static inline rp_code import_via(const char *har, const char *out, struct rp_intake_opts io,
                                 struct rp_intake_counts *counts, struct rp_har_stats *st,
                                 struct rp_error *err)
{
    io.output = out;
    io.source_kind = "har";
    io.created_from_first = true;
    io.replace = true;
    struct rp_intake *in = NULL;
    rp_code rc = rp_intake_new(&io, &in, err);
    if (!rc) {
        rc = rp_har_import(har, in, NULL, st, err);
    }
    if (!rc) {
        rc = rp_intake_close(in, err);
    }
    if (in && counts) {
        rp_intake_counts(in, counts);
    }
    rp_intake_free(in);
    return rc;
}

#endif
