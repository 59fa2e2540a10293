/*
 * bench_replay.c - `oms-bench replay`: how fast the audit tool reads a store, next to a raw
 * RocksDB iteration over the same events measured in the same run.
 *
 * It first builds a store of --events N events (default 1,000,000) by driving the engine with a
 * realistic order flow (the mix of `oms-bench engine`: 40% new limit orders over 16 accounts and
 * 64 instruments under firm limits and a collar, 45% fills (three in four complete the order),
 * 7.5% cancel requests, 7.5% cancel confirmations) appended with their projection and
 * idempotency rows in batches of 512 commands (async durability: the build is not measured), or
 * takes an existing one (--store DIR, e.g. one left by --keep). Then, on a read-only handle as
 * the tool uses it, each round measures back to back:
 *
 *   raw       a RocksDB iterator over the events family touching every key and value (the
 *             baseline: what reading the log costs at all), before and after the others
 *   chain     replay_verify without the rebuild: contiguity + BLAKE2b chain + head
 *   verify    replay_verify with the rebuild: the chain, decode + apply of every event, and the
 *             comparison of every stored projection row with the rebuilt one (the figure that
 *             counts: target >= 1,000,000 events/s and >= 40% of raw)
 *   dump      replay_dump as JSON lines to /dev/null (codec_json of every event)
 *
 * Each figure is the median of --rounds rounds (default 3) with its range; each ratio is the
 * median of the rounds' paired ratios (a figure over the mean of the two raw iterations around
 * it in the same round), so that both sides of a ratio saw the same machine. --threads sets
 * verify's threads (default: one per CPU). The store is deleted at the end unless --keep (then
 * its path is printed) or --store.
 */
#include "bench.h"

#include "codec.h"
#include "engine.h"
#include "replay.h"

#include <inttypes.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_EVENTS      1000000ull
#define MAX_EVENTS          50000000ull
#define BATCH_COMMANDS      512
#define N_ACCOUNTS          16
#define N_INSTRUMENTS       64
#define OPEN_MAX            4096 /* working orders the flow keeps at most */
#define TARGET_EVENTS_PER_S 1000000.0
#define TARGET_RATIO        0.40

typedef struct {
    uint32_t order;
    int32_t leaves, px;
} open_t;

/* The flow generator: state kept small (OPEN_MAX working orders, a ring of pending cancels). */
typedef struct {
    uint64_t rng;
    open_t open[OPEN_MAX];
    uint32_t n_open;
    uint32_t acks[OPEN_MAX];
    uint32_t ack_head, ack_tail; /* ring indices (mod OPEN_MAX) */
    uint32_t orders, execs, cancels;
    uint64_t n_cmd;
} flow_t;

static uint64_t s_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void s_id(char *dst, char prefix, uint32_t v)
{
    snprintf(dst, OMS_ID_CAP, "%c%08" PRIu32, prefix, v);
}

/* The next command of the flow into c. */
static void s_next(flow_t *f, oms_cmd_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->command_id, OMS_ID_CAP, "c%" PRIu64, ++f->n_cmd);
    uint32_t r = (uint32_t)(s_rng(&f->rng) % 1000);
    int k = r < 400 ? 0 : r < 850 ? 1 : r < 925 ? 2 : 3;
    if (k == 3 && f->ack_head == f->ack_tail)
        k = 1;
    if ((k == 1 || k == 2) && f->n_open == 0)
        k = 0;
    if (k == 0 && f->n_open >= OPEN_MAX)
        k = 1;
    if (k == 2 && f->ack_tail - f->ack_head >= OPEN_MAX)
        k = 1;
    if (k == 0) {
        c->type = OMS_CMD_NEW_ORDER;
        oms_strlcpy(c->principal, "pm", OMS_ID_CAP);
        oms_new_order_t *no = &c->u.new_order;
        uint32_t order = ++f->orders;
        s_id(no->order_id, 'O', order);
        snprintf(no->account_id, OMS_ID_CAP, "ACC%02u", (unsigned)(s_rng(&f->rng) % N_ACCOUNTS));
        snprintf(no->instrument_id, OMS_ID_CAP, "SYM%03u",
                 (unsigned)(s_rng(&f->rng) % N_INSTRUMENTS));
        no->side = s_rng(&f->rng) & 1 ? OMS_SIDE_BUY : OMS_SIDE_SELL_SHORT;
        int32_t qty = 100 * (int32_t)(1 + s_rng(&f->rng) % 10);
        int32_t px = 10000 + (int32_t)(s_rng(&f->rng) % 101) - 50;
        no->ord_type = OMS_ORD_LIMIT;
        no->price = (oms_opt_dec_t){true, (oms_dec_t)px * (OMS_DEC_SCALE / 100)};
        no->qty = (oms_dec_t)qty * OMS_DEC_SCALE;
        no->tif = OMS_TIF_DAY;
        f->open[f->n_open++] = (open_t){order, qty, px};
    } else if (k == 1) {
        uint32_t j = (uint32_t)(s_rng(&f->rng) % f->n_open);
        open_t *o = &f->open[j];
        c->type = OMS_CMD_VENUE_FILL;
        oms_strlcpy(c->principal, "venue", OMS_ID_CAP);
        oms_venue_report_t *rep = &c->u.report;
        s_id(rep->h.order_id, 'O', o->order);
        oms_strlcpy(rep->h.venue, "XNAS", OMS_ID_CAP);
        s_id(rep->h.exec_id, 'E', ++f->execs);
        int32_t q = o->leaves <= 100 || s_rng(&f->rng) % 4 != 0 ? o->leaves : o->leaves / 2;
        rep->last_qty = (oms_dec_t)q * OMS_DEC_SCALE;
        rep->last_px = (oms_dec_t)o->px * (OMS_DEC_SCALE / 100);
        o->leaves -= q;
        if (o->leaves == 0)
            f->open[j] = f->open[--f->n_open];
    } else if (k == 2) {
        uint32_t j = (uint32_t)(s_rng(&f->rng) % f->n_open);
        c->type = OMS_CMD_CANCEL_ORDER;
        oms_strlcpy(c->principal, "trader", OMS_ID_CAP);
        s_id(c->u.cancel.order_id, 'O', f->open[j].order);
        s_id(c->u.cancel.cl_ord_id, 'C', ++f->cancels);
        f->acks[f->ack_tail++ % OPEN_MAX] = f->open[j].order;
        f->open[j] = f->open[--f->n_open];
    } else {
        c->type = OMS_CMD_VENUE_CANCEL_ACK;
        oms_strlcpy(c->principal, "venue", OMS_ID_CAP);
        s_id(c->u.report.h.order_id, 'O', f->acks[f->ack_head++ % OPEN_MAX]);
        oms_strlcpy(c->u.report.h.venue, "XNAS", OMS_ID_CAP);
    }
}

/* Every command id is new: nothing to look up (the rows are still written). */
static int s_no_lookup(void *ctx, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    (void)ctx;
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    return OMS_ERR_NOT_FOUND;
}

/* Processes n commands and appends their events and rows. 0 or -1. */
static int s_run(oms_engine_t *e, evlog_t *log, oms_cmd_t *cmds, uint32_t n, int64_t ts,
                 uint64_t *events)
{
    uint32_t done = 0;
    while (done < n) {
        oms_batch_t b;
        int rc = oms_engine_process(e, cmds + done, n - done, ts, &b);
        if (rc == 0 && (b.n_events || b.n_rows))
            rc = evlog_append(log, b.events, b.n_events, b.rows, b.n_rows, NULL);
        if (rc != 0) {
            fprintf(stderr, "oms-bench replay: building the store failed: %s (%s)\n",
                    oms_strerror(rc), evlog_errmsg(log));
            oms_engine_rollback(e);
            return -1;
        }
        oms_engine_commit(e);
        *events += b.n_events;
        done += b.n_consumed;
    }
    return 0;
}

/* Reference data: principals, accounts, instruments with reference prices, firm limits. */
static int s_setup(oms_engine_t *e, evlog_t *log, int64_t ts, uint64_t *events)
{
    oms_cmd_t *cmds = calloc(BENCH_REFDATA_CMDS(N_ACCOUNTS, N_INSTRUMENTS), sizeof *cmds);
    if (!cmds)
        return -1;
    uint32_t n = bench_refdata_cmds(cmds, N_ACCOUNTS, N_INSTRUMENTS);
    int rc = s_run(e, log, cmds, n, ts, events);
    free(cmds);
    return rc;
}

/* Builds a store of about `want` events in dir. Returns the head seq, or 0 on failure. */
static uint64_t s_build(const char *dir, uint64_t want)
{
    evlog_options_t lo;
    evlog_options_default(&lo);
    lo.durability = EVLOG_ASYNC;
    evlog_t *log = NULL;
    char err[512];
    if (evlog_open(dir, &lo, &log, err, sizeof err) != 0) {
        fprintf(stderr, "oms-bench replay: %s\n", err);
        return 0;
    }
    oms_engine_opts_t eo;
    oms_engine_opts_default(&eo);
    eo.lookup = s_no_lookup;
    oms_engine_t *e = oms_engine_new(&eo, 0);
    flow_t *f = calloc(1, sizeof *f);
    oms_cmd_t *cmds = calloc(BATCH_COMMANDS, sizeof *cmds);
    uint64_t events = 0;
    int64_t ts = 1763733053000000000LL;
    int rc = e && f && cmds ? s_setup(e, log, ts, &events) : -1;
    if (f)
        f->rng = 42;
    while (rc == 0 && events < want) {
        uint64_t left = want - events;
        uint32_t n = left < BATCH_COMMANDS ? (uint32_t)left : BATCH_COMMANDS;
        for (uint32_t i = 0; i < n; i++)
            s_next(f, &cmds[i]);
        ts += 1000000; /* 1 ms per batch */
        rc = s_run(e, log, cmds, n, ts, &events);
    }
    uint64_t head = 0;
    if (rc == 0)
        evlog_head(log, &head, NULL);
    free(cmds);
    free(f);
    oms_engine_destroy(&e);
    evlog_destroy(&log);
    return head;
}

/* ---- measurements ------------------------------------------------------------------------------
 */

/* CPU seconds (user + system, all threads) used by the process so far: on a shared machine
 * this moves less than the wall clock. */
static double s_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU microseconds per event of the last measurement (set by each measuring function). */
static double s_last_cpu_us;

/* The baseline: a raw RocksDB iterator over the events family, every key and value touched. */
static double s_raw(const char *dir, uint64_t *n_out)
{
    char *err = NULL;
    rocksdb_options_t *opts = rocksdb_options_create();
    size_t n_cf = 0;
    char **names = rocksdb_list_column_families(opts, dir, &n_cf, &err);
    if (err) {
        fprintf(stderr, "oms-bench replay: raw list: %s\n", err);
        free(err);
        rocksdb_options_destroy(opts);
        return 0;
    }
    const rocksdb_options_t **cfo = calloc(n_cf, sizeof *cfo);
    rocksdb_column_family_handle_t **h = calloc(n_cf, sizeof *h);
    for (size_t i = 0; i < n_cf; i++)
        cfo[i] = opts;
    rocksdb_t *db = rocksdb_open_for_read_only_column_families(
        opts, dir, (int)n_cf, (const char *const *)names, cfo, h, 0, &err);
    double rate = 0;
    if (err) {
        fprintf(stderr, "oms-bench replay: raw open: %s\n", err);
        free(err);
    } else {
        rocksdb_column_family_handle_t *ev = NULL;
        for (size_t i = 0; i < n_cf; i++)
            if (strcmp(names[i], "events") == 0)
                ev = h[i];
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        rocksdb_readoptions_set_fill_cache(ro, 0);
        rocksdb_readoptions_set_readahead_size(ro, 2u << 20);
        /* As the log's readers do (eventlog.c, s_no_perf_counts): no per-step perf counters.
         * Set here, not inherited, so the first round's baseline is like the later ones. */
        rocksdb_set_perf_level(rocksdb_disable);
        int64_t t0 = oms_clock_mono_ns();
        double c0 = s_cpu_s();
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db, ro, ev);
        uint64_t n = 0, sum = 0;
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl);
            const char *v = rocksdb_iter_value(it, &vl);
            sum += (uint8_t)k[kl - 1] + (uint8_t)v[vl - 1] + vl;
            n++;
        }
        rocksdb_iter_destroy(it);
        double s = (double)(oms_clock_mono_ns() - t0) / 1e9;
        s_last_cpu_us = n ? (s_cpu_s() - c0) * 1e6 / (double)n : 0;
        rate = s > 0 ? (double)n / s : 0;
        *n_out = n + (sum == 1); /* keep sum alive */
        rocksdb_readoptions_destroy(ro);
        for (size_t i = 0; i < n_cf; i++)
            rocksdb_column_family_handle_destroy(h[i]);
        rocksdb_close(db);
    }
    free(cfo);
    free(h);
    rocksdb_list_column_families_destroy(names, n_cf);
    rocksdb_options_destroy(opts);
    return rate;
}

/* replay_verify with or without the rebuild: events/s (0 on failure). *phase (may be NULL)
 * gets the result with its phase times. */
static double s_verify(const char *dir, bool rebuild, unsigned threads, uint64_t *rows,
                       replay_verify_result_t *phase)
{
    evlog_t *log = NULL;
    char err[512];
    if (replay_open(dir, NULL, &log, err, sizeof err) != 0) {
        fprintf(stderr, "oms-bench replay: %s\n", err);
        return 0;
    }
    replay_verify_opts_t o;
    replay_verify_opts_default(&o);
    o.rebuild = rebuild;
    o.threads = threads;
    replay_verify_result_t r;
    int64_t t0 = oms_clock_mono_ns();
    double c0 = s_cpu_s();
    int rc = replay_verify(log, &o, &r);
    double s = (double)(oms_clock_mono_ns() - t0) / 1e9;
    s_last_cpu_us = r.events ? (s_cpu_s() - c0) * 1e6 / (double)r.events : 0;
    evlog_destroy(&log);
    if (rc != 0 || !r.ok) {
        fprintf(stderr, "oms-bench replay: verify failed: %s %s\n", oms_strerror(rc), r.reason);
        return 0;
    }
    if (rows)
        *rows = r.rows;
    if (phase)
        *phase = r;
    return s > 0 ? (double)r.events / s : 0;
}

/* replay_dump as JSON lines to /dev/null: events/s. */
static double s_dump(const char *dir)
{
    evlog_t *log = NULL;
    char err[512];
    if (replay_open(dir, NULL, &log, err, sizeof err) != 0) {
        fprintf(stderr, "oms-bench replay: %s\n", err);
        return 0;
    }
    FILE *null = fopen("/dev/null", "w");
    if (null == NULL) {
        evlog_destroy(&log);
        return 0;
    }
    static char buf[1 << 16];
    setvbuf(null, buf, _IOFBF, sizeof buf);
    uint64_t n = 0;
    int64_t t0 = oms_clock_mono_ns();
    double c0 = s_cpu_s();
    int rc = replay_dump(log, NULL, REPLAY_FMT_JSON, null, NULL, &n);
    double s = (double)(oms_clock_mono_ns() - t0) / 1e9;
    s_last_cpu_us = n ? (s_cpu_s() - c0) * 1e6 / (double)n : 0;
    fclose(null);
    evlog_destroy(&log);
    if (rc != 0) {
        fprintf(stderr, "oms-bench replay: dump failed: %s\n", oms_strerror(rc));
        return 0;
    }
    return s > 0 ? (double)n / s : 0;
}

/* The median of v[0..n) (sorts v). */
static double s_median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One measured quantity over the rounds: median, min, max. */
typedef struct {
    double v[100];
    int n;
    double med, lo, hi;
} series_t;

static void s_add(series_t *s, double x)
{
    if (s->n < 100)
        s->v[s->n++] = x;
}

static void s_summarize(series_t *s)
{
    double c[100];
    memcpy(c, s->v, sizeof(double) * (size_t)s->n);
    s->med = s->n ? s_median(c, s->n) : 0;
    s->lo = s->n ? c[0] : 0;
    s->hi = s->n ? c[s->n - 1] : 0;
}

#define USAGE                                                                                      \
    "usage: oms-bench replay [--events N] [--keep] [--store DIR] [--threads N] [--json]\n"         \
    "                        [--rounds N] [--dir D]\n"

int bench_replay_main(int argc, char **argv)
{
    uint64_t want = DEFAULT_EVENTS;
    bool keep = false, rounds_given = false;
    const char *given_store = NULL;
    unsigned threads = 0;
    char *rest[64];
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf(USAGE "  builds a store of N events (default %llu) by driving the engine (or "
                         "takes DIR),\n  then measures oms-replay verify (with and without the "
                         "rebuild, in --threads\n  threads: default one per CPU) and dump "
                         "against a raw RocksDB iteration over the\n  same events, --rounds "
                         "times (default 3): medians, ranges, and the medians of the\n  rounds' "
                         "paired ratios; --keep leaves the store for oms-replay.\n",
                   (unsigned long long)DEFAULT_EVENTS);
            return 0;
        }
        if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
            want = strtoull(argv[++i], NULL, 10);
            if (want < 1000 || want > MAX_EVENTS) {
                fprintf(stderr, "oms-bench replay: --events must be 1000..%llu\n",
                        (unsigned long long)MAX_EVENTS);
                return 2;
            }
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = true;
        } else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            given_store = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            int t = atoi(argv[++i]);
            if (t < 1 || t > REPLAY_THREADS_MAX) {
                fprintf(stderr, "oms-bench replay: --threads must be 1..%d\n", REPLAY_THREADS_MAX);
                return 2;
            }
            threads = (unsigned)t;
        } else if (n_rest < 64) {
            rounds_given |= strcmp(argv[i], "--rounds") == 0;
            rest[n_rest++] = argv[i];
        }
    }
    bench_args_t a;
    if (bench_parse_args(n_rest, rest, &a) != 0) {
        fprintf(stderr, USAGE);
        return 2;
    }
    if (!rounds_given)
        a.rounds = 3;
    char dir[512] = "";
    char store[600];
    double build_s = 0;
    uint64_t head = 0;
    if (given_store) {
        snprintf(store, sizeof store, "%s", given_store);
        evlog_t *log = NULL;
        char err[512];
        if (replay_open(store, NULL, &log, err, sizeof err) != 0) {
            fprintf(stderr, "oms-bench replay: %s\n", err);
            return 1;
        }
        evlog_head(log, &head, NULL);
        evlog_destroy(&log);
    } else {
        if (bench_make_dir(a.dir, dir, sizeof dir) != 0)
            return 1;
        snprintf(store, sizeof store, "%s/store", dir);
        if (!a.json)
            printf("oms-bench replay: building a store of %llu events...\n",
                   (unsigned long long)want);
        fflush(stdout);
        int64_t t0 = oms_clock_mono_ns();
        head = s_build(store, want);
        build_s = (double)(oms_clock_mono_ns() - t0) / 1e9;
    }
    if (head == 0) {
        if (!given_store)
            bench_rmrf(dir);
        return 1;
    }
    series_t raw = {0}, chain = {0}, verify = {0}, dump = {0}, chain_r = {0}, verify_r = {0},
             dump_r = {0}, log_s = {0}, rows_s = {0};
    series_t cpu_raw = {0}, cpu_chain = {0}, cpu_verify = {0}, cpu_dump = {0};
    uint64_t raw_n = 0, rows = 0;
    for (int r = 0; r < a.rounds; r++) {
        double raw_a = s_raw(store, &raw_n);
        s_add(&cpu_raw, s_last_cpu_us);
        double c = s_verify(store, false, threads, NULL, NULL);
        s_add(&cpu_chain, s_last_cpu_us);
        replay_verify_result_t ph;
        double v = s_verify(store, true, threads, &rows, &ph);
        s_add(&cpu_verify, s_last_cpu_us);
        double d = s_dump(store);
        s_add(&cpu_dump, s_last_cpu_us);
        double raw_b = s_raw(store, &raw_n);
        s_add(&cpu_raw, s_last_cpu_us);
        double base = (raw_a + raw_b) / 2;
        s_add(&raw, raw_a);
        s_add(&raw, raw_b);
        s_add(&chain, c);
        s_add(&verify, v);
        s_add(&dump, d);
        s_add(&chain_r, base > 0 ? c / base : 0);
        s_add(&verify_r, base > 0 ? v / base : 0);
        s_add(&dump_r, base > 0 ? d / base : 0);
        s_add(&log_s, (double)ph.log_ns / 1e9);
        s_add(&rows_s, (double)ph.rows_ns / 1e9);
    }
    series_t *all[] = {&raw,   &chain,  &verify,  &dump,      &chain_r,    &verify_r, &dump_r,
                       &log_s, &rows_s, &cpu_raw, &cpu_chain, &cpu_verify, &cpu_dump};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        s_summarize(all[i]);
    bool met = verify.med >= TARGET_EVENTS_PER_S && verify_r.med >= TARGET_RATIO;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (a.json) {
        printf("{\"bench\":\"replay\",\"events\":%" PRIu64 ",\"rows\":%" PRIu64
               ",\"build_s\":%.2f,\"rounds\":%d,\"threads\":%u,\"cpus\":%ld,"
               "\"baseline\":{\"raw_rocksdb_iter_events_per_s\":%.0f},"
               "\"figures\":{\"verify_rebuild_events_per_s\":%.0f,"
               "\"verify_chain_events_per_s\":%.0f,\"dump_json_events_per_s\":%.0f},"
               "\"ranges\":{\"raw\":[%.0f,%.0f],\"verify_rebuild\":[%.0f,%.0f],"
               "\"verify_chain\":[%.0f,%.0f],\"dump_json\":[%.0f,%.0f],"
               "\"verify_rebuild_vs_raw\":[%.4f,%.4f]},"
               "\"ratios\":{\"verify_rebuild_vs_raw\":%.4f,\"verify_chain_vs_raw\":%.4f,"
               "\"dump_json_vs_raw\":%.4f},"
               "\"verify_phases_s\":{\"log_chain_and_rebuild\":%.3f,\"row_compare\":%.3f},"
               "\"cpu_us_per_event\":{\"raw\":%.3f,\"verify_chain\":%.3f,"
               "\"verify_rebuild\":%.3f,\"dump_json\":%.3f},"
               "\"target\":{\"verify_rebuild_events_per_s\":%.0f,\"min_ratio\":%.2f},"
               "\"judged_by\":\"medians: events/s and paired ratio\",\"met\":%s}\n",
               head, rows, build_s, a.rounds, threads, cpus, raw.med, verify.med, chain.med,
               dump.med, raw.lo, raw.hi, verify.lo, verify.hi, chain.lo, chain.hi, dump.lo, dump.hi,
               verify_r.lo, verify_r.hi, verify_r.med, chain_r.med, dump_r.med, log_s.med,
               rows_s.med, cpu_raw.med, cpu_chain.med, cpu_verify.med, cpu_dump.med,
               TARGET_EVENTS_PER_S, TARGET_RATIO, met ? "true" : "false");
    } else {
        printf("store: %" PRIu64 " events, %" PRIu64 " projection rows", head, rows);
        if (given_store)
            printf(" (%s)", store);
        else
            printf(", built in %.1f s", build_s);
        char th[16] = "auto";
        if (threads)
            snprintf(th, sizeof th, "%u", threads);
        printf("; %d round(s), verify threads: %s (%ld CPUs)\n", a.rounds, th, cpus);
        printf("median of the rounds [min..max]; vs raw: median of the rounds' paired ratios\n");
        printf("%-32s %10s %21s %7s %15s %8s\n", "what", "events/s", "[range]", "vs raw", "[range]",
               "CPU us");
        series_t *fig[] = {&raw, &chain, &verify, &dump};
        series_t *rat[] = {NULL, &chain_r, &verify_r, &dump_r};
        series_t *cpu[] = {&cpu_raw, &cpu_chain, &cpu_verify, &cpu_dump};
        const char *name[] = {"raw RocksDB iteration (baseline)", "verify: chain only",
                              "verify: chain + rebuild + rows", "dump: JSON lines to /dev/null"};
        for (int i = 0; i < 4; i++) {
            printf("%-32s %10.0f [%9.0f..%9.0f]", name[i], fig[i]->med, fig[i]->lo, fig[i]->hi);
            if (rat[i])
                printf(" %6.1f%% [%5.1f..%5.1f%%]", 100 * rat[i]->med, 100 * rat[i]->lo,
                       100 * rat[i]->hi);
            else
                printf(" %6.1f%% %15s", 100.0, "");
            printf(" %8.3f\n", cpu[i]->med);
        }
        printf("target (verify >= %.0f/s and >= %.0f%% of raw, medians): %s\n", TARGET_EVENTS_PER_S,
               100 * TARGET_RATIO, met ? "met" : "missed");
        printf("verify phases: log pass (read, chain, decode, apply) %.2f s [%.2f..%.2f], row "
               "comparison %.2f s [%.2f..%.2f]\n",
               log_s.med, log_s.lo, log_s.hi, rows_s.med, rows_s.lo, rows_s.hi);
    }
    if (keep && !given_store)
        fprintf(stderr, "oms-bench replay: store kept in %s\n", store);
    else if (!given_store)
        bench_rmrf(dir);
    return 0;
}
