/*
 * omsd.h - the daemon's internal interface, shared by apps/omsd*.c and nothing else: its
 * configuration, its log lines, the counters the sequencer shares with the query thread, the
 * sequencer itself, the query thread, event topics and the demo reference data.
 *
 * Threads (see omsd.c):
 *   main / sequencer  owns the writer handle on the store, the engine, the command ROUTER and
 *                     the event PUB; the only thread that changes anything.
 *   query             owns a secondary handle on the store and the query ROUTER; reads what is
 *                     durable, never the sequencer's memory, except the counters below.
 * The two share only omsd_stats_t (mutex) and the published head (an atomic inside it).
 */
#ifndef OMSD_H
#define OMSD_H

#include "engine.h"
#include "eventlog.h"
#include "oms_model.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- limits of the daemon itself ---------------------------------------------------------- */

enum {
    OMSD_ENDPOINT_CAP = 256,   /* bytes of an endpoint string, with NUL */
    OMSD_PATH_CAP = 1024,      /* bytes of a path, with NUL */
    OMSD_CONFIG_LINES = 1000,  /* lines read from a config file */
    OMSD_CONFIG_LINE_CAP = 1100, /* bytes of one config line */
    OMSD_POLL_MS = 50,         /* poll timeout: how soon a stop request is noticed */
    OMSD_MAXMSG_BYTES = 1 << 20, /* ZMQ_MAXMSGSIZE on both ROUTERs: bigger drops the peer */
    OMSD_CMD_HWM = 10000,      /* command ROUTER send/receive high-water marks (messages) */
    OMSD_PUB_HWM = 100000,     /* default event PUB send high-water mark (per subscriber) */
    OMSD_PUB_HWM_MAX = 10000000, /* most --pub-hwm may be */
    OMSD_QUERY_HWM = 1000,     /* query ROUTER high-water marks */
    OMSD_LINGER_MS = 2000,     /* how long close waits to flush replies already sent */
    OMSD_RATE_WINDOW_S = 10,   /* window of the per-second rates and latency percentiles */
    OMSD_LAT_RING = 4096,      /* append latencies remembered for the percentiles */
    OMSD_REASONS = 128,        /* reject reasons counted (oms_reject_reason_t < this) */
    OMSD_SUBSCRIBERS = 64,     /* catch-up clients remembered for the lag table */
    OMSD_CATCHUP_DEFAULT = 1000, /* events per catch-up when the request says 0 */
};

/* --reload-orders: the default (about 450 MB of finished orders at most) and the largest. */
#define OMSD_RELOAD_ORDERS_DEFAULT 1000000ull
#define OMSD_RELOAD_ORDERS_MAX     1000000000ull

/* ---- configuration (omsd_config.c) ---------------------------------------------------------- */

typedef enum {
    OMSD_LOG_ERROR = 0, /* failures */
    OMSD_LOG_WARN,      /* bad input, refused requests, degraded operation */
    OMSD_LOG_INFO,      /* start, stop, demo data */
    OMSD_LOG_DEBUG,     /* every batch */
} omsd_level_t;

typedef struct {
    char cmd_endpoint[OMSD_ENDPOINT_CAP];   /* command ROUTER bind address */
    char pub_endpoint[OMSD_ENDPOINT_CAP];   /* event PUB bind address */
    char query_endpoint[OMSD_ENDPOINT_CAP]; /* query/catch-up ROUTER bind address */
    char data_dir[OMSD_PATH_CAP];           /* the store's directory */
    evlog_durability_t durability;          /* sync (default) or async */
    uint32_t batch_max;                     /* commands per batch, 1..OMS_LIMIT_BATCH_COMMANDS */
    uint32_t pub_hwm;                       /* PUB send high-water mark, 1..OMSD_PUB_HWM_MAX */
    omsd_level_t log_level;                 /* lines below this level are dropped */
    bool demo_data;                         /* load the demo reference data at start */
    uint64_t reload_orders;                 /* reload the state after this many more orders
                                               in memory, 0..OMSD_RELOAD_ORDERS_MAX; 0 never */
} omsd_config_t;

/* Fills *cfg with the defaults (endpoints tcp://127.0.0.1:7701/7702/7703, var/oms, sync, 256,
 * PUB high-water mark OMSD_PUB_HWM, info, no demo data, reload after
 * OMSD_RELOAD_ORDERS_DEFAULT orders). */
void omsd_config_default(omsd_config_t *cfg);

/* Reads `--config FILE` (if given), then applies every other flag over it. Returns 0, 1 when
 * --help was asked (nothing else done), or OMS_ERR_INVALID with the reason in err (cap bytes)
 * for an unknown flag, a missing or bad value, an unreadable or malformed config file. */
int omsd_config_parse(int argc, char **argv, omsd_config_t *cfg, char *err, size_t cap);

/* Prints the usage text. */
void omsd_usage(FILE *f);

/* ---- log lines (omsd_log.c) ----------------------------------------------------------------- */

/* Lines below level are dropped from now on. Call before starting threads. */
void omsd_log_set_level(omsd_level_t level);
/* True when a line at this level would be written (to skip building expensive ones). */
bool omsd_log_on(omsd_level_t level);
/* Writes one line "<UTC time> omsd[<pid>] <LEVEL> <message>" to stderr with one write, so
 * lines from both threads never interleave. Never fails (a line that does not fit is cut). */
void omsd_log(omsd_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define OMSD_ERROR(...) omsd_log(OMSD_LOG_ERROR, __VA_ARGS__)
#define OMSD_WARN(...)  omsd_log(OMSD_LOG_WARN, __VA_ARGS__)
#define OMSD_INFO(...)  omsd_log(OMSD_LOG_INFO, __VA_ARGS__)
#define OMSD_DEBUG(...) omsd_log(OMSD_LOG_DEBUG, __VA_ARGS__)

/* ---- counters (omsd_stats.c) ---------------------------------------------------------------- */

/* One second's totals, for the rates. */
typedef struct {
    int64_t sec;       /* monotonic second these counts belong to */
    uint64_t commands; /* commands processed in it */
    uint64_t events;   /* events appended in it */
} omsd_rate_slot_t;

/* One batch's append latency, for the percentiles. */
typedef struct {
    int64_t mono_ns; /* when the append finished (monotonic) */
    uint32_t us;     /* how long append (+ sync) took, microseconds */
} omsd_lat_slot_t;

/* The counters, written by the sequencer after each batch and read by the query thread. All
 * fields but head_seq_pub are under mu. */
typedef struct {
    pthread_mutex_t mu;                          /* guards everything below but head_seq_pub */
    _Atomic uint64_t head_seq_pub;               /* durable head, for the query thread's
                                                    "refresh when behind" check (no lock) */
    int64_t started_ts_ns;                       /* when the daemon started, UTC ns */
    uint64_t head_seq;                           /* durable head seq */
    oms_hash_t head_hash;                        /* its hash */
    uint64_t commands_total;                     /* commands the engine processed */
    uint64_t events_total;                       /* events appended */
    uint64_t batches_total;                      /* batches appended */
    uint64_t batch_commands_sum;                 /* for the mean batch size */
    uint32_t batch_commands_last;                /* commands in the last batch */
    uint32_t batch_commands_max;                 /* most commands in one batch */
    uint32_t batch_events_max;                   /* most events in one batch */
    uint64_t rejects_total;                      /* REJECTED replies */
    uint64_t rejects_by_reason[OMSD_REASONS];    /* per reason code */
    uint64_t errors_total;                       /* ERROR replies */
    uint64_t duplicates_total;                   /* DUPLICATE replies */
    uint64_t orders_in_memory;                   /* orders in the engine's state */
    uint64_t state_reloads_total;                /* state reloads (--reload-orders) */
    omsd_rate_slot_t rate[OMSD_RATE_WINDOW_S];   /* per-second totals, ring by second */
    omsd_lat_slot_t lat[OMSD_LAT_RING];          /* append latencies, ring */
    uint32_t lat_next;                           /* next slot to write */
} omsd_stats_t;

/* A consistent copy of the counters with the window's figures computed. */
typedef struct {
    int64_t started_ts_ns;                    /* as in omsd_stats_t */
    uint64_t head_seq;                        /* durable head seq */
    oms_hash_t head_hash;                     /* its hash */
    int64_t window_ns;                        /* the window the next four are measured over */
    uint64_t commands_per_s;                  /* commands per second over the window */
    uint64_t events_per_s;                    /* events per second over the window */
    uint64_t append_latency_us_p50;           /* median append latency over the window */
    uint64_t append_latency_us_p99;           /* 99th percentile of the same */
    uint64_t commands_total;                  /* see omsd_stats_t */
    uint64_t events_total;                    /* see omsd_stats_t */
    uint64_t batches_total;                   /* see omsd_stats_t */
    uint32_t batch_commands_last;             /* see omsd_stats_t */
    uint32_t batch_commands_max;              /* see omsd_stats_t */
    uint32_t batch_events_max;                /* see omsd_stats_t */
    uint64_t commands_per_batch_mean_e3;      /* mean commands per batch x 1000 */
    uint64_t rejects_total;                   /* see omsd_stats_t */
    uint64_t rejects_by_reason[OMSD_REASONS]; /* see omsd_stats_t */
    uint64_t errors_total;                    /* see omsd_stats_t */
    uint64_t duplicates_total;                /* see omsd_stats_t */
    uint64_t orders_in_memory;                /* see omsd_stats_t */
    uint64_t state_reloads_total;             /* see omsd_stats_t */
} omsd_stats_view_t;

/* Initialises the counters with the head loaded at start. 0 or OMS_ERR_NOMEM (mutex). */
int omsd_stats_init(omsd_stats_t *s, uint64_t head_seq, const oms_hash_t *head_hash);
void omsd_stats_fini(omsd_stats_t *s);

/* One appended (or event-less) batch: its commands, events, append latency (0 = no append),
 * the durable head after it, and its replies (counted by status and reason). */
void omsd_stats_batch(omsd_stats_t *s, uint32_t n_cmds, uint32_t n_events, uint32_t append_us,
                      uint64_t head_seq, const oms_hash_t *head_hash, const oms_reply_t *replies);
/* n commands answered ERROR without reaching the engine. */
void omsd_stats_errors(omsd_stats_t *s, uint32_t n);
/* The orders in the engine's state now and the state reloads since start. */
void omsd_stats_state(omsd_stats_t *s, uint64_t orders_in_memory, uint64_t reloads);
/* A consistent copy with the rates and percentiles over the last window. */
void omsd_stats_view(omsd_stats_t *s, omsd_stats_view_t *v);

/* ---- the sequencer (omsd_seq.c) ------------------------------------------------------------- */

typedef struct omsd_seq omsd_seq_t;

/* Creates an engine over the writer log (idempotency lookups and on-demand loading from the
 * store) and loads its state from the store, as a restart does: reference data, positions,
 * working orders. Returns 0 with *out (the caller's, oms_engine_destroy), or an oms_err_t
 * with the reason in err (cap bytes) and *out NULL: OMS_ERR_NOMEM, the store's read errors,
 * OMS_ERR_CORRUPT (a stored row does not decode), OMS_ERR_STATE (the loaded state's head is
 * not the log's: the projections need a rebuild with oms-replay). */
int omsd_engine_open(evlog_t *log, oms_engine_t **out, char *err, size_t cap);

/* Creates the sequencer over an open writer log (the caller's; must outlive it), the engine
 * *engp was loaded with (omsd_engine_open), the bound command ROUTER and event PUB (may be
 * NULL: no publishing), and the shared counters. *engp stays the caller's to destroy, but the
 * sequencer may replace it: with cfg->reload_orders set, once that many orders have entered
 * the state since it was loaded, or after a batch that ended a day (EndOfDayProcessed) when
 * any has, the sequencer drains its pipeline, loads a fresh engine
 * (omsd_engine_open), destroys the old one and stores the new one in *engp. NULL on out of
 * memory. */
omsd_seq_t *omsd_seq_new(const omsd_config_t *cfg, evlog_t *log, oms_engine_t **engp,
                         void *cmd_sock, void *pub_sock, omsd_stats_t *stats);
void omsd_seq_destroy(omsd_seq_t **self_p);

/* Runs the sequencer loop until *stop becomes non-zero (checked at least every OMSD_POLL_MS and
 * after every batch; the batch in hand is always finished: appended, committed, answered,
 * published). Returns 0 after a stop request, or a negative oms_err_t when the daemon must stop
 * because the store could not be written (OMS_ERR_IO: every command of the failed batch was
 * answered ERROR) or the sockets failed. */
int omsd_seq_run(omsd_seq_t *self, volatile sig_atomic_t *stop);

/* Runs n already encoded commands (bufs[i], lens[i]) through the same path as commands from the
 * socket (decode, engine, append, commit, publish), without sockets for the replies: they are
 * stored in replies[i] (a command that does not decode gets an ERROR reply). For the demo data.
 * n <= the configured batch-max. 0 or the fatal errors of omsd_seq_run. */
int omsd_seq_run_local(omsd_seq_t *self, const uint8_t *const *bufs, const size_t *lens, uint32_t n,
                       oms_reply_t *replies);

/* ---- the query thread (omsd_query.c) -------------------------------------------------------- */

typedef struct omsd_query omsd_query_t;

/* Starts the query thread on ctx: it binds endpoint, answers QueryRequests from log (a
 * secondary handle, owned by the query thread from now on and destroyed by omsd_query_stop)
 * and from stats. Signals are blocked in the thread. 0, or OMS_ERR_IO (the endpoint could not
 * be bound: err says why) or OMS_ERR_NOMEM; on failure log is destroyed. */
int omsd_query_start(void *ctx, const char *endpoint, evlog_t *log, omsd_stats_t *stats,
                     omsd_query_t **out, char *err, size_t cap);
/* Asks the thread to stop, joins it (within OMSD_POLL_MS plus the request in hand), closes its
 * socket and its log, and sets *self_p to NULL. */
void omsd_query_stop(omsd_query_t **self_p);

/* ---- demo reference data (omsd_demo.c) ------------------------------------------------------ */

/* Loads the demo principals, instruments and accounts through normal commands with fixed ids,
 * batch_max at a time (a restart appends nothing new: every command is a DUPLICATE). 0 when
 * every command was ACCEPTED or DUPLICATE; OMS_ERR_STATE when one was REJECTED or ERROR
 * (logged); the fatal errors of omsd_seq_run_local. */
int omsd_demo_load(omsd_seq_t *seq, uint32_t batch_max);

#endif /* OMSD_H */
