/* SPDX-License-Identifier: MIT */
/* The whole public API of libreprise: one include for programs that use all of it. */
#ifndef REPRISE_REPRISE_H
#define REPRISE_REPRISE_H

#include <reprise/buf.h>
#include <reprise/capture.h>
#include <reprise/check.h>
#include <reprise/common.h>
#include <reprise/correlate.h>
#include <reprise/error.h>
#include <reprise/exchange.h>
#include <reprise/filter.h>
#include <reprise/har.h>
#include <reprise/http.h>
#include <reprise/intake.h>
#include <reprise/limits.h>
#include <reprise/lint.h>
#include <reprise/proxy.h>
#include <reprise/recording.h>
#include <reprise/redact.h>
#include <reprise/replay.h>
#include <reprise/report.h>
#include <reprise/rewrite.h>
#include <reprise/scrub.h>
#include <reprise/shape.h>
#include <reprise/vars.h>

#endif /* REPRISE_REPRISE_H */
