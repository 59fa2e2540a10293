/*
 * bench.h - shared pieces of oms-bench: argument parsing, scratch directories, and the entry
 * point of each subcommand. Benchmarks print figures and ratios; they never pass or fail.
 */
#ifndef OMS_BENCH_H
#define OMS_BENCH_H

#include "oms_core.h"
#include "oms_model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    bool json;       /* --json: one JSON object instead of the table */
    double seconds;  /* --seconds: length of one measured round (default 1.0) */
    int rounds;      /* --rounds: rounds per configuration, best kept (default 3) */
    const char *dir; /* --dir: where scratch stores go (default $TMPDIR or /tmp) */
} bench_args_t;

/* Parses the common flags; 0, or -1 on an unknown flag or bad value. */
int bench_parse_args(int argc, char **argv, bench_args_t *a);

/* Creates a fresh scratch directory under parent (NULL: $TMPDIR or /tmp) into out. 0 or -1. */
int bench_make_dir(const char *parent, char *out, size_t cap);

/* rm -rf of a scratch path created by bench_make_dir (refuses anything else). */
void bench_rmrf(const char *path);

/* Monotonic clock, ns. */
int64_t bench_mono_ns(void);

/* The path of an executable next to oms-bench (build/bin/<name>) into out; 0, or -1 when it is
 * not there or not executable. */
int bench_sibling_path(const char *name, char *out, size_t cap);

/* Events/s of a raw RocksDB WriteBatch loop (batch puts of the envelopes the event log writes
 * for 200-byte bodies, one rocksdb_write each, same options as the log's events family) for
 * secs seconds in dir (a path under a bench_make_dir directory; created and removed): the
 * baseline of `e2e`, the same bytes as `log`'s raw loop. 0 if dir cannot be created; exits the
 * process if RocksDB cannot open or write (a benchmark has no meaningful way on). */
double bench_raw_append_rate(const char *dir, bool sync, size_t batch, double secs);

/* ---- a real omsd as a child process (daemon.c) ---------------------------------------------- */

typedef struct {
    char omsd[1024];     /* the daemon binary */
    char dir[1024];      /* scratch directory: logs, ipc sockets, the store */
    char data[1100];     /* the store (dir/store) */
    char durability[16]; /* "sync" or "async" */
    char cmd_ep[1200];   /* command endpoint */
    char pub_ep[1200];   /* event endpoint */
    char query_ep[1200]; /* query endpoint */
    char logpath[1200];  /* stderr of the current run */
    pid_t pid;           /* running child, 0 when none */
    int starts;          /* starts so far (log file names) */
} bench_daemon_t;

/* Fills d for a daemon binary (NULL: omsd next to oms-bench) with its store and ipc sockets
 * under scratch, or free tcp ports on 127.0.0.1 when tcp. 0, or -1 (no binary, no port). */
int bench_daemon_init(bench_daemon_t *d, const char *omsd_path, const char *scratch, bool tcp,
                      const char *durability);
/* Starts the daemon with extra flags (NULL-terminated list, may be NULL) without waiting; its
 * pid, or -1. stderr and stdout go to d->logpath. */
pid_t bench_daemon_spawn(bench_daemon_t *d, const char *const *extra);
/* Waits until the daemon answers a stats query (its head seq into *head, may be NULL); 0, or -1
 * after timeout_ms or when the child exited. */
int bench_daemon_wait_ready(bench_daemon_t *d, int timeout_ms, uint64_t *head);
/* spawn + wait_ready; on failure the child is killed. 0 or -1. */
int bench_daemon_start(bench_daemon_t *d, const char *const *extra, int timeout_ms);
/* Sends sig and reaps the child (SIGKILL after timeout_ms); its wait status, -1 if none ran. */
int bench_daemon_stop(bench_daemon_t *d, int sig, int timeout_ms);
/* Resident set size of a process in KiB, or -1. */
long bench_rss_kib(pid_t pid);
/* Peak resident set size of a process in KiB, or -1. */
long bench_hwm_kib(pid_t pid);

/* ---- the bus load generator (driver.c) ------------------------------------------------------ */

enum {
    DRV_SLOTS_MAX = 1 << 16, /* orders in flight at once */
    DRV_SOCKS_MAX = 16,      /* DEALER sockets */
};

typedef enum {
    DRV_MIX = 0,  /* new, ack, fill 40, then fill 60 (7 in 10) or cancel + cancel ack */
    DRV_NEW_ONLY, /* new orders that stay open */
    DRV_FILLED,   /* new, ack, fill 100: history without open orders */
} drv_flow_t;

/* One order slot: at most one command in flight. */
typedef struct {
    uint32_t order_no; /* the slot's current order (ids are <run>-<slot>-<order_no>) */
    uint8_t step;      /* the step in flight or next */
    bool busy;         /* a command is in flight */
    int64_t sent_ns;   /* when it was (scheduled to be) sent, monotonic */
} drv_slot_t;

typedef struct {
    void *ctx;                  /* own ZeroMQ context */
    void *socks[DRV_SOCKS_MAX]; /* DEALERs to the command endpoint */
    uint32_t n_socks;           /* how many */
    char run[24];               /* id prefix, unique per run */
    drv_flow_t flow;            /* what orders do */
    drv_slot_t *slots;          /* [n_slots] */
    uint32_t n_slots;           /* the window */
    uint32_t *idle;             /* stack of idle slots (paced mode) */
    uint32_t n_idle;            /* its depth */
    uint32_t in_flight;         /* commands sent and not answered */
    int64_t *lat_ns;            /* [lat_cap] measured latencies */
    size_t lat_cap, lat_n;      /* capacity, used */
    uint64_t sent, replies, accepted, rejected, duplicates, errors, bad_replies, orders_done;
    char first_problem[256]; /* the first reply that was not ACCEPTED */
} drv_t;

typedef struct {
    double seconds;   /* measured window */
    uint64_t replies; /* replies (closed) or commands scheduled (paced) in it */
    uint64_t orders;  /* orders completed in it (closed) */
    double per_s;     /* replies/s (closed) or commands/s offered (paced) */
    uint64_t starved; /* paced: sends skipped because every slot was waiting */
    size_t samples;   /* paced: latencies measured */
    double p50_us, p99_us, p999_us, max_us; /* paced: reply latency from scheduled send */
} drv_result_t;

/* A driver with n_slots order slots over n_socks DEALERs to cmd_ep, command and order ids
 * prefixed by run (unique per run, at most 23 bytes), room for lat_cap latencies. NULL on a
 * bad argument, out of memory, or a socket that cannot connect. */
drv_t *drv_new(const char *cmd_ep, const char *run, drv_flow_t flow, uint32_t n_slots,
               uint32_t n_socks, size_t lat_cap);
void drv_destroy(drv_t **self_p);
/* Closed loop: every slot keeps one command in flight; warm_s seconds unmeasured, then secs
 * measured; then waits for every reply. 0, or -1 when a socket fails or nothing is answered for
 * 10 s. */
int drv_closed(drv_t *d, double warm_s, double secs, drv_result_t *res);
/* Paced: rate commands/s from idle slots for warm_s + secs; latencies of the commands
 * scheduled in the measured part, from their scheduled send time. 0 or -1. */
int drv_paced(drv_t *d, double rate, double warm_s, double secs, drv_result_t *res);
/* Runs exactly n_orders orders to their end (closed loop over the idle slots). 0 or -1. */
int drv_orders(drv_t *d, uint64_t n_orders, drv_result_t *res);
/* Waits up to timeout_ms for every command in flight to be answered. 0 or -1. */
int drv_drain(drv_t *d, int timeout_ms);

/* ---- reference data of the engine and replay benchmarks (refdata.c) ----------------------- */

/* Commands bench_refdata_cmds writes for a accounts and i instruments. */
#define BENCH_REFDATA_CMDS(a, i) (5u + (a) + 2u * (i) + 1u)
/* Writes the benchmarks' reference data commands into cmds (zeroed, at least
 * BENCH_REFDATA_CMDS entries): principals admin/comp/pm/trader/venue, accounts ACC00.. (auto
 * release, short allowed), equities SYM000.. with a reference price of 100, wide firm limits.
 * Returns how many. */
uint32_t bench_refdata_cmds(oms_cmd_t *cmds, uint32_t n_accounts, uint32_t n_instruments);

int bench_log_main(int argc, char **argv);
int bench_e2e_main(int argc, char **argv);
int bench_restart_main(int argc, char **argv);
int bench_soak_main(int argc, char **argv);
int bench_engine_main(int argc, char **argv);
int bench_replay_main(int argc, char **argv);

#endif
