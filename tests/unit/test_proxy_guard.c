/* SPDX-License-Identifier: MIT */
/* The proxy's guards, at the level of its private functions: --allow ranges, the addresses
 * forward mode does not reach without --allow-local, reverse mode's origin form for an
 * absolute-form target, the file limit raised at start, and the options refused at setup. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <criterion/criterion.h>

#include <reprise/buf.h>
#include <reprise/limits.h>

#include "helpers.h"
#include "proxy/internal.h"

static struct sockaddr_storage sa4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1, "%s", ip);
    return ss;
}

static struct sockaddr_storage sa6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    cr_assert_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1, "%s", ip);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static bool local_ip(const char *ip)
{
    struct sockaddr_storage ss = strchr(ip, ':') ? sa6(ip) : sa4(ip);
    return rp__addr_local(SA(ss));
}

static bool loopback_ip(const char *ip)
{
    struct sockaddr_storage ss = strchr(ip, ':') ? sa6(ip) : sa4(ip);
    return rp__addr_loopback(SA(ss));
}

static bool in_range(const char *cidr, struct sockaddr_storage ss)
{
    struct rp__cidr c;
    cr_assert(rp__cidr_parse(cidr, &c), "%s", cidr);
    return rp__cidr_match(&c, SA(ss));
}

Test(proxy_guard, cidr_ranges_match_by_prefix)
{
    cr_assert(in_range("10.0.0.0/8", sa4("10.255.1.2")));
    cr_assert_not(in_range("10.0.0.0/8", sa4("11.0.0.1")));
    /* /20: 172.16.0.0 to 172.16.15.255 */
    cr_assert(in_range("172.16.0.0/20", sa4("172.16.15.255")));
    cr_assert_not(in_range("172.16.0.0/20", sa4("172.16.16.0")));
    cr_assert(in_range("192.168.1.7", sa4("192.168.1.7")));
    cr_assert_not(in_range("192.168.1.7", sa4("192.168.1.8")));
    cr_assert(in_range("0.0.0.0/0", sa4("203.0.113.9")));
    cr_assert(in_range("fd00::/8", sa6("fd12:3456::1")));
    cr_assert_not(in_range("fd00::/8", sa6("fe80::1")));
    /* An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d: matched as IPv4. */
    cr_assert(in_range("10.0.0.0/8", sa6("::ffff:10.1.2.3")));
    cr_assert_not(in_range("::/0", sa4("10.1.2.3")));
}

Test(proxy_guard, bad_cidrs_are_refused)
{
    const char *bad[] = {"",       "10.0.0.0/33", "10.0.0.0/",           "10.0.0/8",   "::1/129",
                         "host/8", "10.0.0.0/8x", "::ffff:10.0.0.0/104", "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rp__cidr c;
        cr_assert_not(rp__cidr_parse(bad[i], &c), "%s", bad[i]);
    }
}

Test(proxy_guard, no_allow_list_allows_everyone_and_a_list_only_its_ranges)
{
    struct sockaddr_storage a = sa4("192.0.2.1");
    struct sockaddr_storage b = sa4("127.0.0.1");
    cr_assert(rp__allowed_client(NULL, 0, SA(a)));
    struct rp__cidr list[2];
    cr_assert(rp__cidr_parse("127.0.0.0/8", &list[0]));
    cr_assert(rp__cidr_parse("::1", &list[1]));
    cr_assert_not(rp__allowed_client(list, 2, SA(a)));
    cr_assert(rp__allowed_client(list, 2, SA(b)));
}

Test(proxy_guard, local_addresses_are_loopback_unspecified_and_link_local)
{
    const char *local4[] = {"127.0.0.1", "127.8.9.10", "0.0.0.0", "169.254.169.254"};
    for (size_t i = 0; i < 4; i++) {
        cr_assert(local_ip(local4[i]), "%s", local4[i]);
    }
    const char *local6[] = {"::1", "::", "fe80::1", "febf::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < 5; i++) {
        cr_assert(local_ip(local6[i]), "%s", local6[i]);
    }
    const char *remote4[] = {"10.0.0.1", "169.253.0.1", "128.0.0.1", "192.168.0.1"};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_not(local_ip(remote4[i]), "%s", remote4[i]);
    }
    const char *remote6[] = {"fec0::1", "2001:db8::1", "::2", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_not(local_ip(remote6[i]), "%s", remote6[i]);
    }
    cr_assert(loopback_ip("127.0.0.1"));
    cr_assert(loopback_ip("::1"));
    cr_assert_not(loopback_ip("0.0.0.0"));
    cr_assert_not(loopback_ip("::"));
}

static void origin_form_is(const char *t, const char *want)
{
    char *got = rp__proxy_origin_form(t, strlen(t));
    if (!want) {
        cr_assert_null(got, "%s gave %s", t, got);
        return;
    }
    cr_assert_not_null(got, "%s", t);
    cr_assert_str_eq(got, want, "%s", t);
    free(got);
}

Test(proxy_guard, origin_form_of_absolute_targets)
{
    origin_form_is("http://shop.test/a/b?x=1", "/a/b?x=1");
    origin_form_is("HTTPS://shop.test:8443/", "/");
    origin_form_is("http://shop.test", "/");
    origin_form_is("http://shop.test?q=1", "/?q=1");
    origin_form_is("http://[::1]:8080/x#frag", "/x");
    origin_form_is("/already/origin", NULL);
    origin_form_is("*", NULL);
    origin_form_is("shop.test:443", NULL);
}

/* The rewritten block for blk in reverse mode towards upstream.test:8080. */
static char *reverse_rewrite(const char *blk)
{
    struct rp__origin o;
    memset(&o, 0, sizeof(o));
    cr_assert(rp__origin_set(&o, false, "upstream.test:8080", 18));
    struct rp_buf out;
    rp_buf_init(&out, 1 << 16);
    char *host = NULL;
    cr_assert(rp__proxy_rewrite_request(&o, false, NULL, blk, strlen(blk), &out, &host));
    free(host);
    rp__origin_cleanup(&o);
    return rp_buf_take(&out, NULL);
}

Test(proxy_guard, reverse_mode_sends_origin_form_for_an_absolute_target)
{
    char *got = reverse_rewrite("GET http://127.0.0.1:9000/api/items?page=2 HTTP/1.1\r\n"
                                "Host: 127.0.0.1:9000\r\nAccept: */*\r\n\r\n");
    cr_assert_str_eq(got, "GET /api/items?page=2 HTTP/1.1\r\nHost: upstream.test:8080\r\n"
                          "Accept: */*\r\n\r\n");
    free(got);
    /* Origin form stays as it is. */
    got = reverse_rewrite("POST /x?y HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n");
    cr_assert_str_eq(got, "POST /x?y HTTP/1.1\r\nHost: upstream.test:8080\r\n\r\n");
    free(got);
}

Test(proxy_guard, the_soft_file_limit_is_raised_and_connections_fit_in_it)
{
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max < 300) {
        cr_skip_test("the hard file limit is unlimited or below 300");
    }
    struct rlimit low = {.rlim_cur = 256, .rlim_max = rl.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    size_t limit = 0;
    size_t conns = rp__proxy_fd_budget(&limit);
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(rl.rlim_cur, rl.rlim_max, "the soft limit is raised to the hard one");
    cr_assert_eq(limit, (size_t)rl.rlim_cur);
    cr_assert_leq(conns, RP_PROXY_MAX_CONNS);

    /* Both limits at 256: two descriptors per connection within what is left beyond the
     * spare and what is open now (at least stdio). */
    struct rlimit both = {.rlim_cur = 256, .rlim_max = 256};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &both), 0);
    conns = rp__proxy_fd_budget(&limit);
    cr_assert_eq(limit, 256);
    cr_assert_geq(conns, 1);
    cr_assert_leq(conns, (256 - 3 - RP_PROXY_FD_SPARE) / 2);
    cr_assert_leq(3 + 2 * conns, 256 - RP_PROXY_FD_SPARE, "poll()'s array fits the limit");
}
