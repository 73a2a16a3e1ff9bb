/* SPDX-License-Identifier: MIT */
/*
 * Which shard of a run this process is, and the run id every shard shares: --shard I/N,
 * --shards N with Kubernetes' JOB_COMPLETION_INDEX, or a CI's parallel-job variables; --run-id,
 * REPRISE_RUN_ID or the CI's run. Explicit flags win over the environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A CI's parallel-job variables: index and total, and the base the index counts from. */
struct ci_shard_vars {
    const char *ci;
    const char *index;
    const char *total;
    unsigned base;
};

static const struct ci_shard_vars ci_shards[] = {
    {"GitLab", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1},
    {"CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0},
    {"Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0},
};

/* A CI's run, which every parallel job of it shares: a prefix and the variable (and, for a
 * re-run of the same run, a second one, joined with '-'). */
struct ci_run_vars {
    const char *prefix;
    const char *var;
    const char *attempt;
};

static const struct ci_run_vars ci_runs[] = {
    {"gh-", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"},
    {"gl-", "CI_PIPELINE_ID", NULL},
    {"cci-", "CIRCLE_WORKFLOW_ID", NULL},
    {"bk-", "BUILDKITE_BUILD_ID", NULL},
};

/* A whole number from 0 to max in s (digits only: no sign, space or unit). */
static bool parse_uint(const char *s, size_t len, unsigned max, unsigned *out)
{
    if (len == 0 || len > 9 || strspn(s, "0123456789") < len) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

rp_code cli_parse_shard(const char *s, struct cli_shard *out, struct rp_error *err)
{
    const char *slash = strchr(s, '/');
    unsigned i = 0, n = 0;
    if (!slash || !parse_uint(s, (size_t)(slash - s), RP_REPLAY_MAX_SHARDS, &i) ||
        !parse_uint(slash + 1, strlen(slash + 1), RP_REPLAY_MAX_SHARDS, &n) || i < 1 || n < 1 ||
        i > n) {
        return rp_error_set(err, RP_EUSAGE, "--shard wants I/N with 1 <= I <= N <= %u, got '%s'",
                            RP_REPLAY_MAX_SHARDS, s);
    }
    out->index = i - 1;
    out->count = n;
    snprintf(out->source, sizeof(out->source), "--shard");
    return RP_OK;
}

/* The value of name, or NULL when it is unset or empty. */
static const char *env_get(cli_env_fn env, const char *name)
{
    const char *v = env(name);
    return v && *v ? v : NULL;
}

/* --shards N: the index from JOB_COMPLETION_INDEX (0-based), which a Kubernetes Indexed Job
 * sets in each pod. */
static rp_code from_job_index(unsigned count, cli_env_fn env, struct cli_shard *out,
                              struct rp_error *err)
{
    const char *v = env_get(env, "JOB_COMPLETION_INDEX");
    unsigned i = 0;
    if (!v) {
        return rp_error_set(err, RP_EUSAGE,
                            "--shards %u takes the shard from JOB_COMPLETION_INDEX, which is not "
                            "set (a Kubernetes Indexed Job sets it); elsewhere use --shard I/N",
                            count);
    }
    if (!parse_uint(v, strlen(v), RP_REPLAY_MAX_SHARDS, &i) || i >= count) {
        return rp_error_set(err, RP_EUSAGE,
                            "JOB_COMPLETION_INDEX=%.32s: want 0 to %u for --shards %u", v,
                            count - 1, count);
    }
    out->index = i;
    out->count = count;
    snprintf(out->source, sizeof(out->source), "JOB_COMPLETION_INDEX");
    return RP_OK;
}

/* A CI's variables, when its index is set: both checked, the index against its base. */
static rp_code from_ci(const struct ci_shard_vars *ci, cli_env_fn env, struct cli_shard *out,
                       struct rp_error *err)
{
    const char *vi = env_get(env, ci->index);
    const char *vn = env_get(env, ci->total);
    unsigned i = 0, n = 0;
    if (!vn || !parse_uint(vn, strlen(vn), RP_REPLAY_MAX_SHARDS, &n) || n < 1) {
        return rp_error_set(err, RP_EUSAGE, "%s=%.32s (%s): want 1 to %u with %s set", ci->total,
                            vn ? vn : "", ci->ci, RP_REPLAY_MAX_SHARDS, ci->index);
    }
    if (!parse_uint(vi, strlen(vi), RP_REPLAY_MAX_SHARDS, &i) || i < ci->base ||
        i - ci->base >= n) {
        return rp_error_set(err, RP_EUSAGE, "%s=%.32s (%s, %u-based): want %u to %u", ci->index, vi,
                            ci->ci, ci->base, ci->base, n - 1 + ci->base);
    }
    out->index = i - ci->base;
    out->count = n;
    snprintf(out->source, sizeof(out->source), "%s", ci->index);
    return RP_OK;
}

rp_code cli_shard_resolve(const char *shard_arg, unsigned shards, cli_env_fn env,
                          struct cli_shard *out, struct rp_error *err)
{
    struct cli_shard s = {.index = 0, .count = 1};
    rp_code rc = RP_OK;
    if (shard_arg && shards) {
        return rp_error_set(err, RP_EUSAGE, "--shard I/N and --shards N: give one");
    }
    if (shard_arg) {
        rc = cli_parse_shard(shard_arg, &s, err);
    } else if (shards) {
        rc = from_job_index(shards, env, &s, err);
    } else {
        for (size_t k = 0; k < sizeof(ci_shards) / sizeof(ci_shards[0]); k++) {
            if (env_get(env, ci_shards[k].index)) {
                rc = from_ci(&ci_shards[k], env, &s, err);
                break;
            }
        }
    }
    if (rc) {
        return rc;
    }
    *out = s;
    return RP_OK;
}

/* 64-bit FNV-1a: a short, stable stand-in for a CI id too long for tenant names. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The longest CI id kept as it is; a longer one (a UUID) is hashed. */
#define CI_ID_KEEP 20

rp_code cli_run_id_resolve(const char *explicit_id, cli_env_fn env, char *out, size_t outsz,
                           const char **out_source, struct rp_error *err)
{
    const char *v = explicit_id;
    const char *source = "--run-id";
    if (!v) {
        v = env_get(env, "REPRISE_RUN_ID");
        source = "REPRISE_RUN_ID";
    }
    if (v) {
        if (strlen(v) >= outsz) {
            return rp_error_set(err, RP_EUSAGE, "%s: a run id of at most %zu bytes", source,
                                outsz - 1);
        }
        snprintf(out, outsz, "%s", v);
        *out_source = source;
        return RP_OK;
    }
    for (size_t k = 0; k < sizeof(ci_runs) / sizeof(ci_runs[0]); k++) {
        const struct ci_run_vars *ci = &ci_runs[k];
        const char *id = env_get(env, ci->var);
        if (!id) {
            continue;
        }
        /* Only what a run id may hold: a CI id is digits, or a UUID's hex and dashes. */
        size_t n = strlen(id);
        if (n != strspn(id, "abcdefABCDEF0123456789-")) {
            return rp_error_set(err, RP_EUSAGE, "%s=%.40s: not a CI run id; give --run-id ID",
                                ci->var, id);
        }
        const char *attempt = ci->attempt ? env_get(env, ci->attempt) : NULL;
        unsigned a = 0;
        if (attempt && !parse_uint(attempt, strlen(attempt), 1000000, &a)) {
            return rp_error_set(err, RP_EUSAGE, "%s=%.32s: want a number", ci->attempt, attempt);
        }
        int k2;
        if (n > CI_ID_KEEP) {
            k2 = snprintf(out, outsz, "%s%012llx", ci->prefix,
                          (unsigned long long)(fnv1a(id) >> 16));
        } else if (attempt) {
            k2 = snprintf(out, outsz, "%s%s-%u", ci->prefix, id, a);
        } else {
            k2 = snprintf(out, outsz, "%s%s", ci->prefix, id);
        }
        if (k2 < 0 || (size_t)k2 >= outsz) {
            return rp_error_set(err, RP_EUSAGE, "%s: the run id does not fit", ci->var);
        }
        *out_source = ci->var;
        return RP_OK;
    }
    out[0] = '\0';
    *out_source = NULL;
    return RP_OK;
}
