/* SPDX-License-Identifier: MIT */
/*
 * The recording proxy. Reverse mode: a browser opens the proxy's listen address and every
 * request is relayed to one upstream (HTTP or HTTPS, verified). Forward mode: the browser uses
 * the proxy as its HTTP proxy; absolute-form requests go to the host they name and CONNECT
 * tunnels are intercepted with certificates from a local CA (reprise/ca.h), so HTTPS is seen
 * too; hosts outside --only are relayed untouched. Every exchange is handed to the recording
 * pipeline (reprise/intake.h), which filters, scrubs and writes it. Bytes are
 * relayed as they arrive with bounded buffers per connection; one thread runs one poll() loop
 * for every connection (forward mode looks host names up on a second thread). docs/proxy.md
 * describes what is rewritten and recorded.
 */
#ifndef REPRISE_PROXY_H
#define REPRISE_PROXY_H

#include <reprise/exchange.h>
#include <reprise/intake.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Called on the proxy's recording thread (not the loop's) once per finished exchange, in the
 * order they finished (borrowed for the call), after the recording pipeline: fate says whether
 * it was recorded, filtered out or not written. An exchange the upstream never answered has
 * has_response false and extra {"error":"..."}. Every call has returned when rp_proxy_run()
 * returns.
 */
typedef void (*rp_proxy_exchange_fn)(void *ud, const struct rp_exchange *ex,
                                     enum rp_intake_fate fate);

struct rp_proxy_opts {
    const char *upstream;          /* reverse: "http://host[:port]" or "https://..." (no path) */
    bool forward;                  /* forward mode instead (upstream must then be NULL) */
    const char *const *only_hosts; /* forward: fnmatch globs on host names recorded; none: all */
    size_t n_only_hosts;
    const char *ca_dir;       /* forward: the CA's directory; NULL: rp_ca_default_dir() */
    const char *listen;       /* "HOST:PORT" (IPv4 or [IPv6] literal); NULL: RP_PROXY_LISTEN */
    bool insecure;            /* do not verify the upstream's certificate */
    const char *cacert;       /* PEM file of CAs to trust instead of the system's; may be NULL */
    const char *const *allow; /* client address ranges ("10.0.0.0/8", "::1"); none: any client,
                                 which forward mode accepts only on a loopback listen address */
    size_t n_allow;
    bool allow_local; /* forward: relay and tunnel to loopback and link-local addresses too */
    rp_log_fn log;    /* warnings, errors, and a line per exchange (RP_LOG_INFO); may be NULL */
    void *log_ud;
    rp_proxy_exchange_fn on_exchange; /* may be NULL */
    void *exchange_ud;
};

/* The listen address when none is given: loopback only. */
#define RP_PROXY_LISTEN "127.0.0.1:8080"

/* What the proxy itself counts; what was recorded and filtered is the intake's. */
struct rp_proxy_stats {
    uint64_t skipped_host; /* forward: requests and CONNECT tunnels to hosts outside --only */
    uint64_t unanswered;   /* exchanges past the filters with no response (upstream down, reset) */
    /* Exchanges relayed but not recorded: the recorder could not read them (more than
     * RP_MAX_HEADER_COUNT headers, a URL past RP_MAX_URL_BYTES, ...), each logged with why. */
    uint64_t unreadable;
    uint64_t refused; /* clients outside --allow, and forward relays to local addresses */
    uint64_t busy;    /* connections answered 503: the file limit was reached */
    /* Exchanges relayed but not recorded because the recording thread's queue was full
     * (RP_PROXY_RECORD_QUEUE_MAX, RP_PROXY_RECORD_QUEUE_BYTES), each logged. */
    uint64_t dropped;
};

struct rp_proxy;

/*
 * Checks opts (borrowed; copied), resolves the upstream host (reverse mode: once, blocking,
 * getaddrinfo) or opens the CA (forward mode: created on first use) and binds the listen
 * socket. Every exchange goes to in (borrowed: it must outlive the proxy; the caller creates
 * it with source kind "proxy" and closes it after rp_proxy_free()). On success *out is a new
 * proxy the caller runs with rp_proxy_run() and frees with rp_proxy_free(). The process's soft
 * file limit is raised to its hard limit, and connections beyond what it leaves room for (two
 * descriptors each) are answered 503. Errors: RP_EUSAGE for a bad URL, listen address or
 * option (a bad --allow range; forward mode on a non-loopback address without one); RP_EDNS
 * when the upstream host does not resolve; RP_ESYS when the listen socket cannot be bound;
 * RP_ETLS when the TLS set-up (--cacert) fails; rp_ca_open()'s errors.
 */
RP_EXTERN RP_NODISCARD rp_code rp_proxy_new(const struct rp_proxy_opts *opts, struct rp_intake *in,
                                            struct rp_proxy **out, struct rp_error *err);

/* The port the proxy listens on (the real one when the listen port was 0). */
RP_EXTERN unsigned rp_proxy_port(const struct rp_proxy *p);

/*
 * Runs the loop until rp_proxy_stop(), with a second thread that records (decodes, scrubs and
 * writes each finished exchange, so a large body never holds the relay). A graceful stop stops
 * accepting, lets the exchanges in flight finish (at most RP_PROXY_DRAIN_MS) and closes the
 * connections; an immediate stop closes them at once. Requests that never got an answer are
 * recorded with an error, and every exchange queued is written before it returns, whichever
 * the stop. The caller ignores SIGPIPE first (OpenSSL writes to the upstream with write(), not
 * send()). Returns RP_ESYS when poll() fails or the recording thread cannot start, or the
 * intake's writer error when the recording could not be written.
 */
RP_EXTERN RP_NODISCARD rp_code rp_proxy_run(struct rp_proxy *p, struct rp_error *err);

/*
 * Asks the loop to stop: gracefully, or at once when now is set. Async-signal-safe (it writes
 * one byte to a pipe), so a signal handler may call it, as may another thread.
 */
RP_EXTERN void rp_proxy_stop(struct rp_proxy *p, bool now);

/* Forward mode: the path of the CA certificate browsers must trust; NULL in reverse mode. */
RP_EXTERN const char *rp_proxy_ca_path(const struct rp_proxy *p);

/* The counts so far. */
RP_EXTERN void rp_proxy_stats(const struct rp_proxy *p, struct rp_proxy_stats *out);

/* Closes every connection and frees p (the intake stays the caller's). p may be NULL. */
RP_EXTERN void rp_proxy_free(struct rp_proxy *p);

#ifdef __cplusplus
}
#endif
#endif /* REPRISE_PROXY_H */
