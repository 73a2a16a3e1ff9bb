/* SPDX-License-Identifier: MIT */
/* Unit tests for shards: --shard I/N, --shards N with JOB_COMPLETION_INDEX, the CI variables,
 * the shared run id, and the share of sessions a shard runs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <reprise/check.h>

#include "cli.h"

/* A fake environment: NAME=VALUE strings, NULL-terminated. */
static const char *const *fake_env;

static const char *env_of(const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = fake_env; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
            return *e + n + 1;
        }
    }
    return NULL;
}

static rp_code resolve(const char *arg, unsigned shards, const char *const *env,
                       struct cli_shard *out, struct rp_error *err)
{
    fake_env = env;
    return cli_shard_resolve(arg, shards, env_of, out, err);
}

Test(shard, flag_i_of_n_is_one_based_and_stored_zero_based)
{
    struct cli_shard s;
    struct rp_error err = {0};
    cr_assert_eq(resolve("2/4", 0, NULL, &s, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(s.index, 1);
    cr_assert_eq(s.count, 4);
    cr_assert_str_eq(s.source, "--shard");
    cr_assert_eq(resolve("10000/10000", 0, NULL, &s, &err), RP_OK);
    cr_assert_eq(s.index, 9999);
}

Test(shard, bad_flags_are_usage_errors_that_name_the_flag)
{
    const char *bad[] = {"0/4",  "5/4",     "2",    "2/",  "/4",    "a/4", "2/4x",
                         "-1/4", "1/10001", " 1/2", "1/0", "2/4/8", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cli_shard s = {.index = 7, .count = 9};
        struct rp_error err = {0};
        cr_assert_eq(resolve(bad[i], 0, NULL, &s, &err), RP_EUSAGE, "%s", bad[i]);
        cr_assert(strstr(err.msg, "--shard wants I/N"), "%s", err.msg);
        cr_assert_eq(s.index, 7, "out written on failure");
    }
    struct cli_shard s;
    struct rp_error err = {0};
    cr_assert_eq(resolve("1/2", 2, NULL, &s, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "--shard I/N and --shards N: give one");
}

Test(shard, the_flag_wins_over_the_environment)
{
    const char *env[] = {"CI_NODE_INDEX=1", "CI_NODE_TOTAL=2", "JOB_COMPLETION_INDEX=0", NULL};
    struct cli_shard s;
    struct rp_error err = {0};
    cr_assert_eq(resolve("3/3", 0, env, &s, &err), RP_OK);
    cr_assert_eq(s.index, 2);
    cr_assert_eq(s.count, 3);
}

Test(shard, kubernetes_index_is_zero_based_with_shards)
{
    const char *env[] = {"JOB_COMPLETION_INDEX=3", NULL};
    struct cli_shard s;
    struct rp_error err = {0};
    cr_assert_eq(resolve(NULL, 4, env, &s, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(s.index, 3);
    cr_assert_eq(s.count, 4);
    cr_assert_eq(resolve(NULL, 3, env, &s, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "JOB_COMPLETION_INDEX=3: want 0 to 2 for --shards 3");
    cr_assert_eq(resolve(NULL, 3, NULL, &s, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "JOB_COMPLETION_INDEX, which is not set"), "%s", err.msg);
    const char *junk[] = {"JOB_COMPLETION_INDEX=1x", NULL};
    cr_assert_eq(resolve(NULL, 3, junk, &s, &err), RP_EUSAGE);
}

Test(shard, gitlab_is_one_based_circleci_and_buildkite_zero_based)
{
    struct cli_shard s;
    struct rp_error err = {0};
    const char *gl[] = {"CI_NODE_INDEX=1", "CI_NODE_TOTAL=4", NULL};
    cr_assert_eq(resolve(NULL, 0, gl, &s, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(s.index, 0);
    cr_assert_eq(s.count, 4);
    cr_assert_str_eq(s.source, "CI_NODE_INDEX");
    const char *cc[] = {"CIRCLE_NODE_INDEX=3", "CIRCLE_NODE_TOTAL=4", NULL};
    cr_assert_eq(resolve(NULL, 0, cc, &s, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(s.index, 3);
    const char *bk[] = {"BUILDKITE_PARALLEL_JOB=0", "BUILDKITE_PARALLEL_JOB_COUNT=2", NULL};
    cr_assert_eq(resolve(NULL, 0, bk, &s, &err), RP_OK, "%s", err.msg);
    cr_assert_eq(s.index, 0);
    cr_assert_eq(s.count, 2);
}

Test(shard, ci_values_out_of_range_name_the_variable)
{
    struct cli_shard s;
    struct rp_error err = {0};
    const char *gl0[] = {"CI_NODE_INDEX=0", "CI_NODE_TOTAL=4", NULL};
    cr_assert_eq(resolve(NULL, 0, gl0, &s, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "CI_NODE_INDEX=0 (GitLab, 1-based): want 1 to 4");
    const char *cc4[] = {"CIRCLE_NODE_INDEX=4", "CIRCLE_NODE_TOTAL=4", NULL};
    cr_assert_eq(resolve(NULL, 0, cc4, &s, &err), RP_EUSAGE);
    cr_assert_str_eq(err.msg, "CIRCLE_NODE_INDEX=4 (CircleCI, 0-based): want 0 to 3");
    const char *bkn[] = {"BUILDKITE_PARALLEL_JOB=0", NULL};
    cr_assert_eq(resolve(NULL, 0, bkn, &s, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "BUILDKITE_PARALLEL_JOB_COUNT"), "%s", err.msg);
    const char *gln[] = {"CI_NODE_INDEX=2", "CI_NODE_TOTAL=two", NULL};
    cr_assert_eq(resolve(NULL, 0, gln, &s, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "CI_NODE_TOTAL=two"), "%s", err.msg);
}

Test(shard, no_flag_and_no_ci_is_no_shard)
{
    const char *env[] = {"CI_NODE_TOTAL=1", "JOB_COMPLETION_INDEX=2", NULL};
    struct cli_shard s;
    struct rp_error err = {0};
    cr_assert_eq(resolve(NULL, 0, env, &s, &err), RP_OK);
    cr_assert_eq(s.index, 0);
    cr_assert_eq(s.count, 1);
}

static rp_code run_id(const char *explicit_id, const char *const *env, char *out,
                      const char **source, struct rp_error *err)
{
    fake_env = env;
    return cli_run_id_resolve(explicit_id, env_of, out, RP_REPLAY_MAX_RUN_ID + 1, source, err);
}

Test(shard, run_id_from_flag_then_reprise_run_id_then_the_ci)
{
    char id[RP_REPLAY_MAX_RUN_ID + 1];
    const char *src = NULL;
    struct rp_error err = {0};
    const char *env[] = {"REPRISE_RUN_ID=nightly-7", "GITHUB_RUN_ID=99", NULL};
    cr_assert_eq(run_id("mine", env, id, &src, &err), RP_OK);
    cr_assert_str_eq(id, "mine");
    cr_assert_str_eq(src, "--run-id");
    cr_assert_eq(run_id(NULL, env, id, &src, &err), RP_OK);
    cr_assert_str_eq(id, "nightly-7");
    cr_assert_str_eq(src, "REPRISE_RUN_ID");
    const char *gh[] = {"GITHUB_RUN_ID=1234567890", "GITHUB_RUN_ATTEMPT=2", NULL};
    cr_assert_eq(run_id(NULL, gh, id, &src, &err), RP_OK);
    cr_assert_str_eq(id, "gh-1234567890-2");
    cr_assert_str_eq(src, "GITHUB_RUN_ID");
    const char *gl[] = {"CI_PIPELINE_ID=4711", NULL};
    cr_assert_eq(run_id(NULL, gl, id, &src, &err), RP_OK);
    cr_assert_str_eq(id, "gl-4711");
    const char *none[] = {NULL};
    cr_assert_eq(run_id(NULL, none, id, &src, &err), RP_OK);
    cr_assert_str_eq(id, "");
    cr_assert_null(src);
}

Test(shard, a_uuid_run_is_hashed_short_and_stable)
{
    char a[RP_REPLAY_MAX_RUN_ID + 1], b[RP_REPLAY_MAX_RUN_ID + 1], c[RP_REPLAY_MAX_RUN_ID + 1];
    const char *src = NULL;
    struct rp_error err = {0};
    const char *e1[] = {"CIRCLE_WORKFLOW_ID=8e8a4a4c-5e0b-4d3a-9f8e-3b1f0c2d7a11", NULL};
    const char *e2[] = {"CIRCLE_WORKFLOW_ID=8e8a4a4c-5e0b-4d3a-9f8e-3b1f0c2d7a12", NULL};
    cr_assert_eq(run_id(NULL, e1, a, &src, &err), RP_OK);
    cr_assert_eq(run_id(NULL, e1, b, &src, &err), RP_OK);
    cr_assert_eq(run_id(NULL, e2, c, &src, &err), RP_OK);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
    cr_assert_eq(strlen(a), strlen("cci-") + 12, "%s", a);
    cr_assert_eq(strncmp(a, "cci-", 4), 0);
    const char *bad[] = {"BUILDKITE_BUILD_ID=abc;rm", NULL};
    cr_assert_eq(run_id(NULL, bad, a, &src, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "BUILDKITE_BUILD_ID"), "%s", err.msg);
}

Test(shard, shares_of_sessions_add_up_and_differ_by_one_at_most)
{
    /* 10 sessions over 4 shards: 1,5,9 / 2,6,10 / 3,7 / 4,8 */
    cr_assert_eq(rp_replay_shard_sessions(10, 0, 4), 3);
    cr_assert_eq(rp_replay_shard_sessions(10, 1, 4), 3);
    cr_assert_eq(rp_replay_shard_sessions(10, 2, 4), 2);
    cr_assert_eq(rp_replay_shard_sessions(10, 3, 4), 2);
    cr_assert_eq(rp_replay_shard_sessions(3, 3, 4), 0);
    cr_assert_eq(rp_replay_shard_sessions(10, 0, 1), 10);
    cr_assert_eq(rp_replay_shard_sessions(10, 0, 0), 10);
}

Test(shard, replay_sharded_without_a_run_id_is_refused)
{
    char *argv[] = {"replay",     "--target", "http://127.0.0.1:9", "--shard", "1/2",
                    "r.jsonl.gz", NULL};
    struct replay_opts o;
    struct rp_error err = {0};
    unsetenv("REPRISE_RUN_ID");
    unsetenv("GITHUB_RUN_ID");
    unsetenv("CI_PIPELINE_ID");
    unsetenv("CIRCLE_WORKFLOW_ID");
    unsetenv("BUILDKITE_BUILD_ID");
    cr_assert_eq(parse_replay_args(6, argv, &o, &err), RP_EUSAGE);
    cr_assert(strstr(err.msg, "a sharded run needs a run id every shard shares: --run-id ID"), "%s",
              err.msg);
    replay_opts_cleanup(&o);
    char *with[] = {"replay",   "--target", "http://127.0.0.1:9", "--shard", "1/2",
                    "--run-id", "r1",       "r.jsonl.gz",         NULL};
    cr_assert_eq(parse_replay_args(8, with, &o, &err), RP_OK, "%s", err.msg);
    cr_assert_str_eq(o.run_id, "r1");
    cr_assert_eq(o.shard.count, 2);
    replay_opts_cleanup(&o);
}

/* ----- exact latency percentiles (reprise merge) ------------------------------------------- */

Test(shard, exact_percentiles_are_nearest_rank_over_every_value)
{
    struct rp_latency_exact l;
    rp_latency_exact_init(&l);
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.5), 0, "empty");
    /* 100 down to 1, added out of order: rank ceil(q * 100). */
    for (uint64_t v = 100; v >= 1; v--) {
        rp_latency_exact_add(&l, v * 1000);
    }
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.50), 50000);
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.95), 95000);
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.99), 99000);
    cr_assert_eq(rp_latency_exact_quantile(&l, 1.0), 100000);
    rp_latency_exact_cleanup(&l);
}

Test(shard, exact_percentiles_of_ten_values_and_of_one)
{
    struct rp_latency_exact l;
    rp_latency_exact_init(&l);
    const uint64_t v[] = {5, 1, 9, 3, 7, 2, 8, 4, 6, 1000003};
    for (size_t i = 0; i < 10; i++) {
        rp_latency_exact_add(&l, v[i]);
    }
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.50), 5);       /* rank 5 */
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.95), 1000003); /* rank 10 */
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.10), 1);       /* rank 1 */
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.11), 2);       /* rank 2 */
    rp_latency_exact_add(&l, 0); /* added after a sort: sorted again */
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.01), 0);
    rp_latency_exact_cleanup(&l);
    rp_latency_exact_init(&l);
    rp_latency_exact_add(&l, 42);
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.5), 42);
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.99), 42);
    rp_latency_exact_cleanup(&l);
}

/* Two shards' values merged: the exact p95 of the union, which no average of the shards' p95
 * gives (shard A all 10 ms, shard B all 1000 ms, 19 of A and 1 of B). */
Test(shard, percentiles_of_merged_shards_are_those_of_the_union)
{
    struct rp_latency_exact l;
    rp_latency_exact_init(&l);
    for (int i = 0; i < 19; i++) {
        rp_latency_exact_add(&l, 10000);
    }
    rp_latency_exact_add(&l, 1000000);
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.95), 10000); /* rank 19 */
    cr_assert_eq(rp_latency_exact_quantile(&l, 0.99), 1000000);
    rp_latency_exact_cleanup(&l);
}
