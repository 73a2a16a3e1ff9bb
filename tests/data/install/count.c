/* SPDX-License-Identifier: MIT */
/* Built by test_install.sh against an installed libreprise, with only pkg-config's flags:
 * prints the library's version and the number of exchanges in the recording argv[1]. */
#include <stdio.h>

#include <reprise/reprise.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: count RECORDING\n");
        return 2;
    }
    struct rp_error err;
    struct rp_reader *r;
    if (rp_reader_open(argv[1], NULL, &r, &err) != RP_OK) {
        fprintf(stderr, "count: %s\n", err.msg);
        return 2;
    }
    struct rp_exchange ex;
    rp_exchange_init(&ex);
    unsigned long n = 0;
    bool got;
    rp_code rc;
    while ((rc = rp_reader_next(r, &ex, &got, &err)) == RP_OK && got) {
        n++;
    }
    rp_exchange_cleanup(&ex);
    rp_reader_free(r);
    if (rc != RP_OK) {
        fprintf(stderr, "count: %s\n", err.msg);
        return 2;
    }
    printf("libreprise %s: %lu exchanges\n", rp_version(), n);
    return 0;
}
