/* SPDX-License-Identifier: MIT */
/*
 * reprise-fault-server: a target that misbehaves on purpose, for the replay tests. It listens
 * on 127.0.0.1 (port 0: a free one, printed as http://127.0.0.1:PORT on stdout), reads each
 * request's head and then, by mode:
 *   hang     never answers (the client's timeout must fire)
 *   garbage  answers bytes that are not HTTP, then closes
 *   reset    closes with a TCP reset (SO_LINGER 0)
 *   truncate sends a status line and headers promising 100 bytes, sends 10, closes
 *   count    answers 200 with the number of connections accepted so far, this one included:
 *            a test asks it once the client under test has exited, and "1" proves that client
 *            never connected (connections are accepted in the order they were made)
 * It serves one connection at a time and exits after --max-seconds (default 60), so a test
 * that forgets it cannot leave it behind. After the URL, stdout gets "request N" once the N-th
 * connection's request head is read (or the peer gave up on it): a test waits for that line.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: reprise-fault-server hang|garbage|reset|truncate|count "
                    "[--max-seconds N]\n");
    return 2;
}

/* Reads until the end of a request head (blank line), the peer closes, or 5 s pass. */
static void read_head(int fd)
{
    char buf[8192];
    size_t have = 0;
    for (int rounds = 0; rounds < 50; rounds++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        ssize_t k = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (k <= 0) {
            return;
        }
        have += (size_t)k;
        buf[have] = '\0';
        if (strstr(buf, "\r\n\r\n") || have == sizeof(buf) - 1) {
            return;
        }
    }
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k <= 0) {
            return;
        }
        s += k;
        n -= (size_t)k;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage();
    }
    const char *mode = argv[1];
    long max_seconds = 60;
    if (argc == 4 && strcmp(argv[2], "--max-seconds") == 0) {
        char *end = NULL;
        max_seconds = strtol(argv[3], &end, 10);
        if (!end || *end || max_seconds <= 0) {
            return usage();
        }
    } else if (argc != 2) {
        return usage();
    }
    if (strcmp(mode, "hang") && strcmp(mode, "garbage") && strcmp(mode, "reset") &&
        strcmp(mode, "truncate") && strcmp(mode, "count")) {
        return usage();
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        perror("reprise-fault-server");
        return 1;
    }
    printf("http://127.0.0.1:%u\n", ntohs(a.sin_port));
    fflush(stdout);

    time_t until = time(NULL) + max_seconds;
    int held[64];
    size_t n_held = 0;
    unsigned long accepted = 0;
    while (time(NULL) < until) {
        struct pollfd p = {.fd = ls, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) {
            continue;
        }
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        accepted++;
        read_head(fd);
        printf("request %lu\n", accepted);
        fflush(stdout);
        if (strcmp(mode, "hang") == 0) {
            /* Keep it open and silent; past 64 the oldest goes. */
            if (n_held == 64) {
                close(held[0]);
                memmove(held, held + 1, sizeof(held) - sizeof(held[0]));
                n_held--;
            }
            held[n_held++] = fd;
            continue;
        }
        if (strcmp(mode, "garbage") == 0) {
            send_all(fd, "this is not HTTP at all\r\n\r\n");
        } else if (strcmp(mode, "count") == 0) {
            char body[32];
            char msg[160];
            int blen = snprintf(body, sizeof(body), "%lu\n", accepted);
            snprintf(msg, sizeof(msg),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     blen, body);
            send_all(fd, msg);
        } else if (strcmp(mode, "reset") == 0) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        } else {
            send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: 100\r\n\r\n{\"id\": 1, ");
        }
        close(fd);
    }
    for (size_t i = 0; i < n_held; i++) {
        close(held[i]);
    }
    close(ls);
    return 0;
}
