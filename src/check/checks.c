/* SPDX-License-Identifier: MIT */
/*
 * The table of checks every verdict goes through, in the order listed. Adding a check is one
 * file that defines `const struct rp__check_ops rp__check_NAME` and one X(NAME) line below.
 */
#include "internal.h"

/* clang-format off */
#define RP_CHECK_LIST(X) \
    X(shape)             \
    X(identity)          \
    X(latency)           \
    /* the list ends here: a new check is one "X(name) \" line above */
/* clang-format on */

#define DECLARE(name) extern const struct rp__check_ops rp__check_##name;
#define ENTRY(name)   &rp__check_##name,

RP_CHECK_LIST(DECLARE)

const struct rp__check_ops *const rp__checks[] = {RP_CHECK_LIST(ENTRY) NULL};
