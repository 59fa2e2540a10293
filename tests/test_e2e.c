/*
 * test_e2e.c - proves the system end to end: the real omsd (--demo-data, a scratch store) and
 * the real oms-venue-sim run as child processes on ipc:// endpoints in a scratch directory; the
 * test talks to them through the bus library (bus.h) and by running the real omsctl:
 *
 *   single_order_lifecycle  new -> PENDING_NEW -> acked -> filled in 3 slices by the venue;
 *                           the event stream (bus_sub) shows exactly that sequence; the order,
 *                           its executions and the account's position queried back match the
 *                           fills exactly; the simulator stops with status 0 on SIGTERM, and a
 *                           restarted simulator (from seq 0) appends nothing: no fill twice.
 *   four_eyes_release       an order on a four-eyes account stays PENDING_RELEASE; release by
 *                           the principal who entered it -> REJECTED ENT-004; by another trader
 *                           -> released and filled.
 *   cancel_working          with a 60 s fill delay the order is acked and working; cancel ->
 *                           CANCELED with no fill.
 *   replace                 a working order is replaced (qty 10 -> 20, price 190 -> 191): the
 *                           venue acks the replace and fills up to 20 at the new price.
 *   block_allocation        a block order for three accounts is filled, allocated by ops:
 *                           booked parts 4/3/3 at the block's average price; allocations and
 *                           positions queried back equal the fills exactly (block position 0).
 *   reply_types             ACCEPTED, REJECTED with rule id and reason, DUPLICATE (same command
 *                           id again, first outcome's seqs), ERROR for malformed bytes.
 *   omsctl_exit_codes       omsctl: 0 with ACCEPTED printed; 1 with the rule id on a reject; 2
 *                           on usage errors; 3 with no daemon; --json prints the reply as JSON;
 *                           tail prints one line per event.
 *   omsctl_load             omsctl load FILE.json defines an instrument, account, principal,
 *                           limits, restriction and reference price (queried back); loading it
 *                           again appends nothing; the loaded limit rejects an order (exit 1).
 *   omsctl_every_command    without a venue, omsctl sends every command: reference data,
 *                           limits and restrictions (which then apply), an order worked by hand
 *                           (venue ack, fills, correct, bust, replace reject/ack, cancel reject,
 *                           done for day), venue reject, expire, end of day, a block allocated,
 *                           reversed and allocated again; every query; JSON rows and events.
 *   slow_subscriber_gets_every_event_once
 *                           a subscriber with a receive high-water mark of 1 consuming slowly
 *                           while hundreds of events are produced: every event exactly once,
 *                           in seq order, byte for byte as the log stores it.
 *   venue_reject_rate       --reject-rate 1: the venue rejects the order.
 *   venue_many_orders       200 orders through a venue with a 64-order table: every order
 *                           filled exactly (2 fills each), the slots reused many times.
 *
 * Children are stopped by pid in teardown (SIGTERM, then SIGKILL after a timeout) even when an
 * assertion failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bus.h"
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(OMSD_PATH) || !defined(VENUE_SIM_PATH) || !defined(OMSCTL_PATH)
#error "OMSD_PATH, VENUE_SIM_PATH and OMSCTL_PATH must be defined by the build"
#endif

enum {
    WAIT_MS = 20000, /* longest wait for a start, a status, a child (generous for ASan) */
    STOP_MS = 10000, /* SIGTERM -> SIGKILL */
    OUT_CAP = 65536, /* captured omsctl output */
    ARGS_MAX = 48,   /* argv of a child */
};

typedef struct {
    char dir[512];    /* scratch directory */
    char store[600];  /* omsd's store */
    char cmd_ep[600]; /* endpoints */
    char pub_ep[600];
    char query_ep[600];
    pid_t omsd; /* children, 0 when not running */
    pid_t sim;
    int n_logs; /* log file counter */
    bus_client_t *client;
    char out[OUT_CAP]; /* last omsctl stdout */
    char err[OUT_CAP]; /* last omsctl stderr */
} fx_t;

static codec_slice_t s_items[OMS_LIMIT_QUERY_ROWS];
static codec_qreply_t s_qr;
static oms_arena_t s_arena;

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t s_ms(void)
{
    return oms_clock_mono_ns() / 1000000;
}

static oms_dec_t D(const char *s)
{
    oms_dec_t v = 0;
    assert_int_equal(oms_dec_parse_cstr(s, &v), 0);
    return v;
}

/* ---- children ------------------------------------------------------------------------------- */

/* Starts path with argv (NULL-terminated), stdout/stderr to files in the scratch dir (or to
 * out_path/err_path when given). */
static pid_t s_spawn(fx_t *f, const char *const *argv, const char *out_path, const char *err_path)
{
    char log[700];
    snprintf(log, sizeof log, "%s/child-%d.log", f->dir, ++f->n_logs);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out_path ? out_path : log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : fo;
        if (fo >= 0)
            dup2(fo, STDOUT_FILENO);
        if (fe >= 0)
            dup2(fe, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits up to ms for pid; its raw status, or -1 if still running. */
static int s_wait(pid_t pid, int ms)
{
    int64_t end = s_ms() + ms;
    for (;;) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        if (s_ms() > end)
            return -1;
        s_sleep_ms(5);
    }
}

/* SIGTERM, then SIGKILL after STOP_MS. Returns the exit status (-1 when it had to be killed or
 * died of a signal). Sets *pid to 0. */
static int s_stop(pid_t *pid)
{
    if (*pid <= 0)
        return -1;
    kill(*pid, SIGTERM);
    int st = s_wait(*pid, STOP_MS);
    if (st == -1) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void s_start_omsd_with(fx_t *f, const char *pub_hwm)
{
    const char *argv[] = {OMSD_PATH, "--cmd-endpoint",   f->cmd_ep,   "--pub-endpoint",
                          f->pub_ep, "--query-endpoint", f->query_ep, "--data-dir",
                          f->store,  "--demo-data",      "--pub-hwm", pub_hwm,
                          NULL};
    f->omsd = s_spawn(f, argv, NULL, NULL);
    /* Ready when it answers a stats query. */
    int64_t end = s_ms() + WAIT_MS;
    codec_query_t q = {.kind = CODEC_Q_STATS};
    while (s_ms() < end) {
        if (bus_query(f->client, &q, NULL, 0, &s_qr, 200, 0) == 0 && s_qr.kind == CODEC_QR_STATS)
            return;
        int st = 0;
        if (waitpid(f->omsd, &st, WNOHANG) == f->omsd) {
            f->omsd = 0;
            fail_msg("omsd exited during start-up (status %d)", st);
        }
    }
    fail_msg("omsd did not answer within %d ms", WAIT_MS);
}

static void s_start_omsd(fx_t *f)
{
    s_start_omsd_with(f, "100000");
}

/* Starts the venue simulator with extra flags (NULL-terminated, may be NULL). */
static void s_start_sim(fx_t *f, const char *const *extra)
{
    const char *argv[ARGS_MAX];
    int n = 0;
    const char *base[] = {VENUE_SIM_PATH, "--cmd-endpoint",   f->cmd_ep,   "--pub-endpoint",
                          f->pub_ep,      "--query-endpoint", f->query_ep, "--ack-delay-ms",
                          "10",           "--fill-delay-ms",  "30",        "--log-level",
                          "debug"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    for (int i = 0; extra && extra[i] && n < ARGS_MAX - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    f->sim = s_spawn(f, argv, NULL, NULL);
}

static void s_start(fx_t *f, const char *const *sim_flags)
{
    s_start_omsd(f);
    s_start_sim(f, sim_flags);
}

static void s_read_file(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    size_t n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* Runs omsctl with the fixture's endpoints (unless no_endpoints) and args; returns its exit
 * status, stdout in f->out and stderr in f->err. */
static int s_ctl(fx_t *f, bool endpoints, const char *const *args)
{
    const char *argv[ARGS_MAX];
    int n = 0;
    argv[n++] = OMSCTL_PATH;
    if (endpoints) {
        argv[n++] = "--cmd-endpoint";
        argv[n++] = f->cmd_ep;
        argv[n++] = "--pub-endpoint";
        argv[n++] = f->pub_ep;
        argv[n++] = "--query-endpoint";
        argv[n++] = f->query_ep;
    }
    for (int i = 0; args[i] && n < ARGS_MAX - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out[700], err[700];
    snprintf(out, sizeof out, "%s/ctl.out", f->dir);
    snprintf(err, sizeof err, "%s/ctl.err", f->dir);
    pid_t pid = s_spawn(f, argv, out, err);
    int st = s_wait(pid, WAIT_MS);
    if (st == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    s_read_file(out, f->out, sizeof f->out);
    s_read_file(err, f->err, sizeof f->err);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s", tu_mkdtemp(0, "e2e"));
    snprintf(f->store, sizeof f->store, "%s/store", f->dir);
    snprintf(f->cmd_ep, sizeof f->cmd_ep, "ipc://%s/cmd", f->dir);
    snprintf(f->pub_ep, sizeof f->pub_ep, "ipc://%s/pub", f->dir);
    snprintf(f->query_ep, sizeof f->query_ep, "ipc://%s/query", f->dir);
    assert_int_equal(bus_client_new(NULL, f->cmd_ep, f->query_ep, &f->client), 0);
    *state = f;
    return 0;
}

static void s_dump_logs(const fx_t *f)
{
    for (int i = 1; i <= f->n_logs; i++) {
        char path[700], text[8192];
        snprintf(path, sizeof path, "%s/child-%d.log", f->dir, i);
        s_read_file(path, text, sizeof text);
        if (text[0])
            fprintf(stderr, "---- %s ----\n%s\n", path, text);
    }
}

/* Teardown: stops the children (by pid), then fails when one did not stop cleanly or any
 * child's log shows a sanitizer report (children run with the same sanitizers as the tests). */
static int s_teardown(void **state)
{
    fx_t *f = *state;
    bool killed = f->sim > 0 || f->omsd > 0;
    int sim_st = f->sim > 0 ? s_stop(&f->sim) : 0;
    int omsd_st = f->omsd > 0 ? s_stop(&f->omsd) : 0;
    int rc = 0;
    if (sim_st != 0 || omsd_st != 0) {
        fprintf(stderr, "teardown: oms-venue-sim exit %d, omsd exit %d (want 0)\n", sim_st,
                omsd_st);
        rc = -1;
    }
    static char text[OUT_CAP];
    for (int i = 1; i <= f->n_logs; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/child-%d.log", f->dir, i);
        s_read_file(path, text, sizeof text);
        if (strstr(text, "Sanitizer") || strstr(text, "runtime error:")) {
            fprintf(stderr, "teardown: sanitizer report in %s:\n%s\n", path, text);
            rc = -1;
        }
    }
    if ((killed && getenv("E2E_LOGS")) || rc)
        s_dump_logs(f);
    bus_client_destroy(&f->client);
    tu_rmrf(f->dir);
    free(f);
    return rc;
}

/* ---- commands and queries through the bus --------------------------------------------------- */

static oms_cmd_t s_cmd(oms_cmd_type_t type, const char *id, const char *who)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = type;
    oms_strlcpy(c.command_id, id, OMS_ID_CAP);
    oms_strlcpy(c.principal, who, OMS_ID_CAP);
    return c;
}

static oms_cmd_t s_new(const char *order_id, const char *account, const char *instr,
                       const char *qty, const char *px)
{
    char id[OMS_ID_CAP];
    snprintf(id, sizeof id, "new-%s", order_id);
    oms_cmd_t c = s_cmd(OMS_CMD_NEW_ORDER, id, "pm");
    oms_new_order_t *o = &c.u.new_order;
    oms_strlcpy(o->order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(o->account_id, account, OMS_ID_CAP);
    oms_strlcpy(o->instrument_id, instr, OMS_ID_CAP);
    o->side = OMS_SIDE_BUY;
    o->ord_type = px ? OMS_ORD_LIMIT : OMS_ORD_MARKET;
    if (px)
        o->price = (oms_opt_dec_t){true, D(px)};
    o->qty = D(qty);
    o->tif = OMS_TIF_DAY;
    return c;
}

static oms_reply_t s_submit(fx_t *f, const oms_cmd_t *c)
{
    oms_reply_t r;
    assert_int_equal(bus_submit(f->client, c, &r, 5000, 2), 0);
    return r;
}

/* The order as the query endpoint has it; asserts it is there. */
static proj_order_t s_order(fx_t *f, const char *order_id)
{
    codec_query_t q = {.kind = CODEC_Q_ORDER};
    oms_strlcpy(q.id, order_id, OMS_ID_CAP);
    assert_int_equal(bus_query(f->client, &q, s_items, OMS_LIMIT_QUERY_ROWS, &s_qr, 5000, 2), 0);
    assert_int_equal(s_qr.kind, CODEC_QR_ORDERS);
    assert_int_equal(s_qr.n_items, 1);
    proj_order_t o;
    const char(*cl)[OMS_ID_CAP] = NULL;
    const oms_alloc_instr_t *in = NULL;
    uint32_t ncl = 0, nin = 0;
    oms_arena_reset(&s_arena);
    assert_int_equal(
        codec_row_decode_order(s_items[0].data, s_items[0].len, &s_arena, &o, &cl, &ncl, &in, &nin),
        0);
    return o;
}

/* Polls the order until its status is want (asserts within WAIT_MS). */
static proj_order_t s_wait_status(fx_t *f, const char *order_id, oms_ord_status_t want)
{
    int64_t end = s_ms() + WAIT_MS;
    proj_order_t o;
    for (;;) {
        o = s_order(f, order_id);
        if (o.status == want)
            return o;
        if (s_ms() > end) {
            s_dump_logs(f);
            fail_msg("order %s is %s, not %s, after %d ms", order_id, oms_status_name(o.status),
                     oms_status_name(want), WAIT_MS);
        }
        s_sleep_ms(20);
    }
}

/* Executions of an order: sum of qty and of qty x px (exact in 128 bits), count. */
static uint32_t s_execs(fx_t *f, const char *order_id, oms_dec_t *qty, __int128 *px_qty,
                        oms_dec_t *last_px)
{
    codec_query_t q = {.kind = CODEC_Q_EXECUTIONS_OF_ORDER};
    oms_strlcpy(q.id, order_id, OMS_ID_CAP);
    assert_int_equal(bus_query(f->client, &q, s_items, OMS_LIMIT_QUERY_ROWS, &s_qr, 5000, 2), 0);
    assert_int_equal(s_qr.kind, CODEC_QR_EXECUTIONS);
    *qty = 0;
    *px_qty = 0;
    uint64_t last_seq = 0;
    for (uint32_t i = 0; i < s_qr.n_items; i++) {
        proj_exec_t x;
        char oid[OMS_ID_CAP], xs[2][OMS_ID_CAP];
        assert_int_equal(codec_row_decode_exec(s_items[i].data, s_items[i].len, &x, oid, xs), 0);
        assert_string_equal(oid, order_id);
        assert_false(x.busted);
        *qty += x.qty;
        *px_qty += (__int128)x.qty * x.px;
        if (x.seq > last_seq && last_px) {
            last_seq = x.seq;
            *last_px = x.px;
        }
    }
    return s_qr.n_items;
}

/* Positions in an instrument, into out[] (at most cap); returns their count. */
static uint32_t s_positions(fx_t *f, const char *instr, proj_position_t *out, uint32_t cap)
{
    codec_query_t q = {.kind = CODEC_Q_POSITIONS_OF_INSTRUMENT};
    oms_strlcpy(q.id, instr, OMS_ID_CAP);
    assert_int_equal(bus_query(f->client, &q, s_items, OMS_LIMIT_QUERY_ROWS, &s_qr, 5000, 2), 0);
    assert_int_equal(s_qr.kind, CODEC_QR_POSITIONS);
    assert_true(s_qr.n_items <= cap);
    for (uint32_t i = 0; i < s_qr.n_items; i++)
        assert_int_equal(codec_row_decode_position(s_items[i].data, s_items[i].len, &out[i]), 0);
    return s_qr.n_items;
}

static uint64_t s_head(fx_t *f)
{
    codec_query_t q = {.kind = CODEC_Q_STATS};
    assert_int_equal(bus_query(f->client, &q, NULL, 0, &s_qr, 5000, 2), 0);
    assert_int_equal(s_qr.kind, CODEC_QR_STATS);
    return s_qr.stats.head_seq;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_e2e_single_order_lifecycle(void **state)
{
    fx_t *f = *state;
    const char *const sim[] = {"--slices", "3", NULL};
    s_start(f, sim);
    uint64_t head0 = s_head(f);
    bus_sub_t *sub = NULL;
    const char *const topics[] = {"ord/ACC1/", "exe/ACC1/"};
    assert_int_equal(bus_sub_new(NULL, f->pub_ep, f->query_ep, topics, 2, head0, 0, &sub), 0);

    oms_cmd_t c = s_new("L1", "ACC1", "AAPL", "100", "190.25");
    oms_reply_t r = s_submit(f, &c);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.ord_status, OMS_ST_PENDING_NEW);
    proj_order_t o = s_wait_status(f, "L1", OMS_ST_FILLED);
    assert_int_equal(o.cum, D("100"));
    assert_int_equal(o.leaves, 0);
    assert_int_equal(o.fill_count, 3);
    assert_string_equal(o.venue, "XSIM");

    /* The stream: accepted, acknowledged, then three fills summing to 100, in seq order. */
    static const oms_event_type_t want[] = {OMS_EV_ORDER_ACCEPTED, OMS_EV_ORDER_ACKNOWLEDGED,
                                            OMS_EV_ORDER_FILLED, OMS_EV_ORDER_FILLED,
                                            OMS_EV_ORDER_FILLED};
    oms_dec_t cum = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const uint8_t *env = NULL;
        size_t len = 0;
        uint64_t seq = 0;
        assert_int_equal(bus_sub_next(sub, &env, &len, &seq, WAIT_MS), 1);
        assert_true(seq > prev);
        prev = seq;
        evlog_record_t rec;
        oms_event_t ev;
        assert_int_equal(evlog_record_parse(env, len, &rec), 0);
        oms_arena_reset(&s_arena);
        assert_int_equal(codec_decode_event(rec.body, rec.body_len, &s_arena, &ev), 0);
        assert_int_equal(ev.type, want[i]);
        if (ev.type == OMS_EV_ORDER_FILLED) {
            assert_int_equal(ev.u.order.last_px, D("190.25"));
            assert_true(ev.u.order.last_qty > 0);
            cum += ev.u.order.last_qty;
            assert_int_equal(ev.u.order.cum_qty, cum);
        }
    }
    assert_int_equal(cum, D("100"));
    bus_sub_destroy(&sub);

    /* Executions and the position equal the fills exactly. */
    oms_dec_t q = 0;
    __int128 pq = 0;
    assert_int_equal(s_execs(f, "L1", &q, &pq, NULL), 3);
    assert_int_equal(q, D("100"));
    assert_true(pq == (__int128)D("100") * D("190.25"));
    proj_position_t pos[8];
    assert_int_equal(s_positions(f, "AAPL", pos, 8), 1);
    assert_string_equal(pos[0].account_id, "ACC1");
    assert_int_equal(pos[0].qty, D("100"));
    assert_true(pos[0].cost_basis == pq);
    assert_int_equal(proj_position_avg_cost(&pos[0]), D("190.25"));
    assert_int_equal(pos[0].open_buy_leaves, 0);

    /* A clean stop, and a restart from seq 0 that does nothing again. */
    assert_int_equal(s_stop(&f->sim), 0);
    uint64_t head = s_head(f);
    s_start_sim(f, sim);
    s_sleep_ms(1500);
    assert_int_equal(s_head(f), head);
    assert_int_equal(s_stop(&f->sim), 0);
    assert_int_equal(s_order(f, "L1").fill_count, 3);
}

static void test_e2e_four_eyes_release(void **state)
{
    fx_t *f = *state;
    s_start(f, NULL);
    /* A principal who may both enter and release. */
    oms_cmd_t p = s_cmd(OMS_CMD_DEFINE_PRINCIPAL, "def-pt", "admin");
    oms_strlcpy(p.u.principal_def.principal_id, "pt", OMS_ID_CAP);
    p.u.principal_def.roles = 1u << OMS_ROLE_PORTFOLIO_MANAGER | 1u << OMS_ROLE_TRADER;
    p.u.principal_def.active = true;
    assert_int_equal(s_submit(f, &p).status, OMS_REPLY_ACCEPTED);

    oms_cmd_t c = s_new("F1", "FE", "MSFT", "30", "420");
    oms_strlcpy(c.principal, "pt", OMS_ID_CAP);
    oms_reply_t r = s_submit(f, &c);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.ord_status, OMS_ST_PENDING_RELEASE);
    s_sleep_ms(300); /* the venue must not touch a staged order */
    assert_int_equal(s_order(f, "F1").status, OMS_ST_PENDING_RELEASE);

    oms_cmd_t rel = s_cmd(OMS_CMD_RELEASE_ORDER, "rel-1", "pt");
    oms_strlcpy(rel.u.release.order_id, "F1", OMS_ID_CAP);
    r = s_submit(f, &rel);
    assert_int_equal(r.status, OMS_REPLY_REJECTED);
    assert_string_equal(r.rule_id, "ENT-004");
    assert_int_equal(r.reject_reason, OMS_RR_FOUR_EYES_VIOLATION);

    oms_strlcpy(rel.command_id, "rel-2", OMS_ID_CAP);
    oms_strlcpy(rel.principal, "trader", OMS_ID_CAP);
    r = s_submit(f, &rel);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.ord_status, OMS_ST_PENDING_NEW);
    proj_order_t o = s_wait_status(f, "F1", OMS_ST_FILLED);
    assert_string_equal(o.released_by, "trader");
    assert_string_equal(o.entered_by, "pt");
    assert_int_equal(o.cum, D("30"));
}

static void test_e2e_cancel_working(void **state)
{
    fx_t *f = *state;
    const char *const sim[] = {"--fill-delay-ms", "60000", NULL};
    s_start(f, sim);
    oms_cmd_t c = s_new("C1", "ACC2", "MSFT", "50", "420");
    assert_int_equal(s_submit(f, &c).status, OMS_REPLY_ACCEPTED);
    s_wait_status(f, "C1", OMS_ST_NEW);
    oms_cmd_t x = s_cmd(OMS_CMD_CANCEL_ORDER, "cxl-C1", "trader");
    oms_strlcpy(x.u.cancel.order_id, "C1", OMS_ID_CAP);
    oms_strlcpy(x.u.cancel.cl_ord_id, "C1-cxl", OMS_ID_CAP);
    oms_reply_t r = s_submit(f, &x);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.ord_status, OMS_ST_PENDING_CANCEL);
    proj_order_t o = s_wait_status(f, "C1", OMS_ST_CANCELED);
    assert_int_equal(o.cum, 0);
    assert_int_equal(o.fill_count, 0);
    oms_dec_t q;
    __int128 pq;
    assert_int_equal(s_execs(f, "C1", &q, &pq, NULL), 0);
}

static void test_e2e_replace(void **state)
{
    fx_t *f = *state;
    /* Slow first fills: the replace reaches a working order. */
    const char *const sim[] = {"--fill-delay-ms", "700", "--slices", "2", NULL};
    s_start(f, sim);
    oms_cmd_t c = s_new("R1", "ACC3", "MSFT", "10", "420");
    assert_int_equal(s_submit(f, &c).status, OMS_REPLY_ACCEPTED);
    s_wait_status(f, "R1", OMS_ST_NEW);
    oms_cmd_t x = s_cmd(OMS_CMD_REPLACE_ORDER, "rpl-R1", "trader");
    oms_strlcpy(x.u.replace.order_id, "R1", OMS_ID_CAP);
    oms_strlcpy(x.u.replace.new_cl_ord_id, "R1-r1", OMS_ID_CAP);
    x.u.replace.qty = (oms_opt_dec_t){true, D("20")};
    x.u.replace.price = (oms_opt_dec_t){true, D("421")};
    oms_reply_t r = s_submit(f, &x);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.ord_status, OMS_ST_PENDING_REPLACE);
    proj_order_t o = s_wait_status(f, "R1", OMS_ST_FILLED);
    assert_int_equal(o.qty, D("20"));
    assert_int_equal(o.cum, D("20"));
    assert_true(o.price.set && o.price.v == D("421"));
    assert_string_equal(o.cl_ord_id, "R1-r1");
    oms_dec_t q, last_px = 0;
    __int128 pq;
    assert_true(s_execs(f, "R1", &q, &pq, &last_px) >= 2);
    assert_int_equal(q, D("20"));
    assert_int_equal(last_px, D("421"));
}

static void test_e2e_block_allocation(void **state)
{
    fx_t *f = *state;
    s_start(f, NULL);
    oms_alloc_instr_t in[3];
    memset(in, 0, sizeof in);
    const char *accts[] = {"ACC1", "ACC2", "ACC3"};
    for (int i = 0; i < 3; i++) {
        oms_strlcpy(in[i].account_id, accts[i], OMS_ID_CAP);
        in[i].by_weight = true;
        in[i].share = D("1");
    }
    oms_cmd_t c = s_new("B1", "", "ESZ6", "10", NULL); /* market: filled at the reference 5000 */
    c.u.new_order.allocs = in;
    c.u.new_order.n_allocs = 3;
    assert_int_equal(s_submit(f, &c).status, OMS_REPLY_ACCEPTED);
    s_wait_status(f, "B1", OMS_ST_FILLED);
    oms_dec_t q;
    __int128 pq;
    s_execs(f, "B1", &q, &pq, NULL);
    assert_int_equal(q, D("10"));

    oms_cmd_t a = s_cmd(OMS_CMD_ALLOCATE, "alloc-B1", "ops");
    oms_strlcpy(a.u.allocate.order_id, "B1", OMS_ID_CAP);
    oms_strlcpy(a.u.allocate.alloc_id, "A1", OMS_ID_CAP);
    oms_reply_t r = s_submit(f, &a);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);

    codec_query_t aq = {.kind = CODEC_Q_ALLOCATIONS_OF_ORDER};
    strcpy(aq.id, "B1");
    assert_int_equal(bus_query(f->client, &aq, s_items, OMS_LIMIT_QUERY_ROWS, &s_qr, 5000, 2), 0);
    assert_int_equal(s_qr.kind, CODEC_QR_ALLOCATIONS);
    assert_int_equal(s_qr.n_items, 1);
    proj_alloc_t al;
    const oms_alloc_part_t *parts = NULL;
    const oms_alloc_instr_t *used = NULL;
    uint32_t np = 0, nu = 0;
    oms_arena_reset(&s_arena);
    assert_int_equal(codec_row_decode_alloc(s_items[0].data, s_items[0].len, &s_arena, &al, &parts,
                                            &np, &used, &nu),
                     0);
    assert_int_equal(al.status, OMS_ALLOC_ST_BOOKED);
    assert_int_equal(al.qty, D("10"));
    assert_true((__int128)al.avg_px * q == pq); /* one price, so the average is exact */
    assert_int_equal(np, 3);
    static const char *const want_qty[] = {"4", "3", "3"}; /* largest remainder, ties by id */
    oms_dec_t sum = 0;
    for (uint32_t i = 0; i < np; i++) {
        assert_string_equal(parts[i].account_id, accts[i]);
        assert_int_equal(parts[i].qty, D(want_qty[i]));
        assert_int_equal(parts[i].px, al.avg_px);
        sum += parts[i].qty;
    }
    assert_int_equal(sum, q);

    proj_position_t pos[8];
    uint32_t n = s_positions(f, "ESZ6", pos, 8);
    oms_dec_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (pos[i].account_id[0] == '\0') {
            assert_int_equal(pos[i].qty, 0); /* the block's unallocated position is empty */
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (strcmp(pos[i].account_id, accts[k]) == 0)
                assert_int_equal(pos[i].qty, D(want_qty[k]));
        assert_true(pos[i].cost_basis == (__int128)pos[i].qty * al.avg_px);
        total += pos[i].qty;
    }
    assert_int_equal(total, q);
}

static void test_e2e_reply_types(void **state)
{
    fx_t *f = *state;
    s_start(f, NULL);
    oms_cmd_t c = s_new("T1", "ACC1", "AAPL", "5", "190");
    oms_reply_t r1 = s_submit(f, &c);
    assert_int_equal(r1.status, OMS_REPLY_ACCEPTED);
    assert_true(r1.first_seq > 0 && r1.last_seq >= r1.first_seq);
    /* The same command id again (a client retry): the first outcome, nothing appended. */
    oms_reply_t r2 = s_submit(f, &c);
    assert_int_equal(r2.status, OMS_REPLY_DUPLICATE);
    assert_int_equal(r2.original_status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r2.first_seq, r1.first_seq);
    assert_int_equal(r2.last_seq, r1.last_seq);
    /* A rule refuses half a lot. */
    oms_cmd_t bad = s_new("T2", "ACC1", "AAPL", "0.5", "190");
    oms_reply_t r3 = s_submit(f, &bad);
    assert_int_equal(r3.status, OMS_REPLY_REJECTED);
    assert_string_equal(r3.rule_id, "PTC-003");
    assert_int_equal(r3.reject_reason, OMS_RR_BAD_LOT);
    assert_true(r3.first_seq > 0);
    /* Malformed bytes: ERROR, nothing appended. */
    uint64_t head = s_head(f);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    const uint8_t *frames[] = {junk};
    size_t lens[] = {sizeof junk}, len = 0;
    uint8_t buf[4096];
    assert_int_equal(bus_submit_raw(f->client, frames, lens, 1, buf, sizeof buf, &len, 5000), 0);
    oms_reply_t r4;
    assert_int_equal(codec_decode_reply(buf, len, &r4), 0);
    assert_int_equal(r4.status, OMS_REPLY_ERROR);
    assert_int_equal(r4.error_code, OMS_ERR_DECODE);
    s_wait_status(f, "T1", OMS_ST_FILLED); /* the venue's commands go on */
    assert_true(s_head(f) > head);
}

static void test_e2e_omsctl_exit_codes(void **state)
{
    fx_t *f = *state;
    s_start(f, NULL);
    const char *const ok[] = {"new",          "--id",    "X1",     "--account", "ACC1",
                              "--instrument", "AAPL",    "--side", "buy",       "--qty",
                              "10",           "--price", "190",    NULL};
    assert_int_equal(s_ctl(f, true, ok), 0);
    assert_non_null(strstr(f->out, "ACCEPTED"));
    assert_non_null(strstr(f->out, "PENDING_NEW"));
    /* A retry with the same command id: DUPLICATE, still 0. */
    const char *const dup[] = {"--command-id", "fixed-1", "cancel", "X1", NULL};
    int rc = s_ctl(f, true, dup);
    (void)rc; /* the order may be filled already: accepted or rejected, then: */
    int rc2 = s_ctl(f, true, dup);
    assert_non_null(strstr(f->out, "DUPLICATE"));
    assert_int_equal(rc2, rc);
    /* Rejected: exit 1 with the rule, reason and text. */
    const char *const rej[] = {"new",          "--id",    "X2",     "--account", "ACC1",
                               "--instrument", "NOPE",    "--side", "buy",       "--qty",
                               "10",           "--price", "1",      NULL};
    assert_int_equal(s_ctl(f, true, rej), 1);
    assert_non_null(strstr(f->out, "REJECTED"));
    assert_non_null(strstr(f->out, "PTC-001"));
    assert_non_null(strstr(f->out, "UNKNOWN_INSTRUMENT"));
    /* JSON reply. */
    const char *const js[] = {"--json",       "new",  "--id",   "X3",  "--account", "ACC2",
                              "--instrument", "MSFT", "--side", "buy", "--qty",     "1",
                              "--price",      "420",  NULL};
    assert_int_equal(s_ctl(f, true, js), 0);
    assert_non_null(strstr(f->out, "{\"command_id\":"));
    assert_non_null(strstr(f->out, "\"order_id\":\"X3\""));
    /* Usage errors: exit 2. */
    const char *const u1[] = {"no-such-command", NULL};
    assert_int_equal(s_ctl(f, true, u1), 2);
    const char *const u2[] = {"new",          "--qty", "ten",    "--account", "ACC1",
                              "--instrument", "AAPL",  "--side", "buy",       NULL};
    assert_int_equal(s_ctl(f, true, u2), 2);
    assert_non_null(strstr(f->err, "--qty"));
    const char *const u3[] = {"order", "--bogus", "1", NULL};
    assert_int_equal(s_ctl(f, true, u3), 2);
    const char *const help[] = {"new", "--help", NULL};
    assert_int_equal(s_ctl(f, true, help), 0);
    assert_non_null(strstr(f->out, "--alloc"));
    /* Queries and tail. */
    const char *const q[] = {"order", "X3", NULL};
    s_wait_status(f, "X3", OMS_ST_FILLED);
    assert_int_equal(s_ctl(f, true, q), 0);
    assert_non_null(strstr(f->out, "FILLED"));
    const char *const nf[] = {"order", "NOPE", NULL};
    assert_int_equal(s_ctl(f, true, nf), 1);
    const char *const tail[] = {"tail",      "--from-seq", "1", "--topic",
                                "exe/ACC2/", "--count",    "1", NULL};
    assert_int_equal(s_ctl(f, true, tail), 0);
    assert_non_null(strstr(f->out, "exe/ACC2/order_filled"));
    assert_non_null(strstr(f->out, "X3"));
    /* No daemon: exit 3. */
    s_stop(&f->sim);
    assert_int_equal(s_stop(&f->omsd), 0);
    const char *const down[] = {"--timeout-ms", "200", "--retries", "1", "stats", NULL};
    assert_int_equal(s_ctl(f, true, down), 3);
    const char *const down2[] = {"--timeout-ms", "200", "--retries", "0", "release", "X1", NULL};
    assert_int_equal(s_ctl(f, true, down2), 3);
    assert_non_null(strstr(f->err, "no reply"));
}

static void test_e2e_omsctl_load(void **state)
{
    fx_t *f = *state;
    s_start(f, NULL);
    char path[700];
    snprintf(path, sizeof path, "%s/ref.json", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\n"
          " \"principals\": [{\"id\": \"alice\", \"roles\": [\"pm\", \"trader\"]}],\n"
          " \"instruments\": [{\"id\": \"GOOG\", \"asset_class\": \"equity\", \"currency\": "
          "\"USD\", \"lot_size\": \"1\", \"tick_size\": \"0.01\"}],\n"
          " \"reference_prices\": [{\"instrument\": \"GOOG\", \"price\": \"150\"}],\n"
          " \"accounts\": [{\"id\": \"ACC9\", \"name\": \"Fund 9\", \"release_policy\": "
          "\"auto\"}],\n"
          " \"limits\": [{\"scope\": \"account\", \"account\": \"ACC9\", \"max_order_qty\": "
          "1000}],\n"
          " \"restrictions\": [{\"instrument\": \"MSFT\", \"account\": \"ACC9\", \"reason\": "
          "\"research\"}]\n"
          "}\n",
          fp);
    fclose(fp);
    const char *const load[] = {"load", path, NULL};
    assert_int_equal(s_ctl(f, true, load), 0);
    assert_non_null(strstr(f->out, "loaded 6 item(s)"));
    uint64_t head = s_head(f);
    assert_int_equal(s_ctl(f, true, load), 0); /* again: DUPLICATE, nothing appended */
    int dups = 0;
    for (const char *p = f->out; (p = strstr(p, "DUPLICATE")) != NULL; p++)
        dups++;
    assert_int_equal(dups, 6);
    assert_null(strstr(f->out, "\nACCEPTED"));
    assert_int_equal(s_head(f), head);
    const char *const ref[] = {"refdata", "--kind", "instruments", NULL};
    assert_int_equal(s_ctl(f, true, ref), 0);
    assert_non_null(strstr(f->out, "GOOG"));
    assert_non_null(strstr(f->out, "150"));
    /* The loaded limit and restriction apply. */
    const char *const big[] = {"--principal",  "alice",   "new",    "--account", "ACC9",
                               "--instrument", "GOOG",    "--side", "buy",       "--qty",
                               "1001",         "--price", "150",    NULL};
    assert_int_equal(s_ctl(f, true, big), 1);
    assert_non_null(strstr(f->out, "PTC-006"));
    const char *const rs[] = {"new", "--account", "ACC9", "--instrument", "MSFT", "--side",
                              "buy", "--qty",     "1",    "--price",      "420",  NULL};
    assert_int_equal(s_ctl(f, true, rs), 1);
    assert_non_null(strstr(f->out, "PTC-005"));
    const char *const okn[] = {"--principal", "alice",        "new",  "--id",   "G1",  "--account",
                               "ACC9",        "--instrument", "GOOG", "--side", "buy", "--qty",
                               "1000",        "--price",      "150",  NULL};
    assert_int_equal(s_ctl(f, true, okn), 0);
    s_wait_status(f, "G1", OMS_ST_FILLED);
    /* A file that is not JSON: usage error. */
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"instruments\": [{\"id\": \"X\", \"tick_size\": 0.01}]}", fp);
    fclose(fp);
    assert_int_equal(s_ctl(f, true, load), 2);
    assert_non_null(strstr(f->err, "not exact"));
}

/* Runs omsctl with args and asserts its exit status and (when want_out) a piece of its output. */
#define CTL(f, status, want_out, ...)                                                              \
    do {                                                                                           \
        const char *const a_[] = {__VA_ARGS__, NULL};                                              \
        int rc_ = s_ctl(f, true, a_);                                                              \
        if (rc_ != (status))                                                                       \
            fprintf(stderr, "omsctl %s: exit %d\n%s%s", a_[0], rc_, (f)->out, (f)->err);           \
        assert_int_equal(rc_, status);                                                             \
        if (want_out)                                                                              \
            assert_non_null(strstr((f)->out, (const char *)(want_out)));                           \
    } while (0)

static void test_e2e_omsctl_every_command(void **state)
{
    fx_t *f = *state;
    s_start_omsd(f); /* no venue: omsctl plays it */
    /* Reference data. */
    CTL(f, 0, "ACCEPTED", "define-instrument", "NVDA", "--tick", "0.01", "--lot", "1");
    CTL(f, 0, "ACCEPTED", "update-instrument", "NVDA", "--tick", "0.01", "--lot", "1", "--symbol",
        "NVDA.O");
    CTL(f, 0, "ACCEPTED", "set-ref-price", "NVDA", "--price", "120");
    CTL(f, 0, "ACCEPTED", "define-account", "ACC7", "--release", "auto", "--allow-short");
    CTL(f, 0, "ACCEPTED", "define-principal", "bob", "--roles", "pm,trader");
    CTL(f, 0, "ACCEPTED", "set-limits", "--account", "ACC7", "--max-qty", "500", "--collar", "0.2");
    CTL(f, 0, "ACCEPTED", "set-restricted", "NVDA", "--reason", "test");
    CTL(f, 1, "PTC-005", "new", "--account", "ACC7", "--instrument", "NVDA", "--side", "buy",
        "--qty", "1", "--price", "120");
    CTL(f, 0, "ACCEPTED", "set-restricted", "NVDA", "--lift");
    CTL(f, 0, "NVDA.O", "refdata", "--kind", "instruments", "--id", "NVDA");
    CTL(f, 0, "ACC7", "refdata", "--kind", "limits");
    /* An order worked by hand: ack, fill, correct, bust, replace, cancel rejected, done. */
    CTL(f, 0, "PENDING_NEW", "new", "--id", "M1", "--account", "ACC7", "--instrument", "NVDA",
        "--side", "buy", "--qty", "100", "--price", "120");
    CTL(f, 0, "status NEW", "venue-ack", "M1", "--venue", "XMAN", "--exec-id", "A1");
    CTL(f, 0, "DUPLICATE", "venue-ack", "M1", "--venue", "XMAN", "--exec-id", "A1");
    CTL(f, 0, "PARTIALLY_FILLED", "fill", "M1", "--venue", "XMAN", "--exec-id", "F1", "--qty", "40",
        "--px", "120");
    CTL(f, 0, "PARTIALLY_FILLED", "fill", "M1", "--venue", "XMAN", "--exec-id", "F2", "--qty", "10",
        "--px", "119.5");
    CTL(f, 0, "ACCEPTED", "correct", "M1", "--venue", "XMAN", "--exec-id", "C1", "--ref-exec-id",
        "F1", "--qty", "30", "--px", "120");
    CTL(f, 0, "ACCEPTED", "bust", "M1", "--venue", "XMAN", "--exec-id", "B1", "--ref-exec-id",
        "F2");
    CTL(f, 1, "EXE-004", "bust", "M1", "--venue", "XMAN", "--exec-id", "B2", "--ref-exec-id",
        "NOPE");
    proj_order_t o = s_order(f, "M1");
    assert_int_equal(o.cum, D("30"));
    CTL(f, 0, "PENDING_REPLACE", "replace", "M1", "--cl-ord-id", "M1-r", "--qty", "60");
    CTL(f, 0, "ACCEPTED", "replace-reject", "M1", "--venue", "XMAN", "--exec-id", "RR1",
        "--cl-ord-id", "M1-r");
    CTL(f, 0, "PENDING_REPLACE", "replace", "M1", "--cl-ord-id", "M1-r2", "--qty", "60");
    CTL(f, 0, "ACCEPTED", "replace-ack", "M1", "--venue", "XMAN", "--exec-id", "RA1", "--cl-ord-id",
        "M1-r2");
    assert_int_equal(s_order(f, "M1").qty, D("60"));
    CTL(f, 0, "PENDING_CANCEL", "cancel", "M1", "--cl-ord-id", "M1-c");
    CTL(f, 0, "ACCEPTED", "cancel-reject", "M1", "--venue", "XMAN", "--exec-id", "CR1",
        "--cl-ord-id", "M1-c");
    CTL(f, 0, "DONE_FOR_DAY", "done-for-day", "M1", "--venue", "XMAN", "--exec-id", "D1");
    CTL(f, 0, "30", "executions", "M1");
    CTL(f, 0, "M1", "orders", "ACC7");
    CTL(f, 0, "ACC7", "positions", "--account", "ACC7");
    /* Rejected by the venue; expired by the venue; expired by end of day. */
    CTL(f, 0, "PENDING_NEW", "new", "--id", "M2", "--account", "ACC7", "--instrument", "NVDA",
        "--side", "buy", "--qty", "1", "--price", "120");
    CTL(f, 0, "REJECTED", "venue-reject", "M2", "--venue", "XMAN", "--exec-id", "VR1", "--text",
        "no");
    CTL(f, 0, "PENDING_NEW", "new", "--id", "M3", "--account", "ACC7", "--instrument", "NVDA",
        "--side", "buy", "--qty", "1", "--price", "120");
    CTL(f, 0, "NEW", "venue-ack", "M3", "--venue", "XMAN", "--exec-id", "A3");
    CTL(f, 0, "EXPIRED", "expire", "M3", "--venue", "XMAN", "--exec-id", "E3");
    CTL(f, 0, "PENDING_NEW", "new", "--id", "M4", "--account", "ACC7", "--instrument", "NVDA",
        "--side", "buy", "--qty", "1", "--price", "120");
    CTL(f, 0, "ACCEPTED", "end-of-day", "2026-11-30");
    assert_int_equal(s_order(f, "M4").status, OMS_ST_EXPIRED);
    CTL(f, 1, "EOD-001", "end-of-day", "2026-11-30");
    /* A block filled and allocated by hand, reversed and allocated again. */
    CTL(f, 0, "PENDING_NEW", "new", "--id", "BB", "--alloc", "ACC1=60,ACC7=40", "--alloc-qty",
        "--instrument", "NVDA", "--side", "buy", "--qty", "100", "--price", "120");
    CTL(f, 0, "FILLED", "fill", "BB", "--venue", "XMAN", "--exec-id", "BF1", "--qty", "100", "--px",
        "120");
    CTL(f, 0, "ACCEPTED", "allocate", "BB", "--alloc-id", "AL1");
    CTL(f, 0, "ACC7=40@120", "allocations", "BB");
    CTL(f, 0, "ACCEPTED", "reverse-allocation", "BB", "--alloc-id", "AL1", "--reason", "oops");
    CTL(f, 0, "ACCEPTED", "allocate", "BB", "--alloc-id", "AL2", "--alloc", "ACC1=1,ACC7=1");
    CTL(f, 0, "REVERSED", "allocations", "BB");
    CTL(f, 0, "ACC7=50@120", "allocations", "BB");
    /* JSON rows and events; stats. */
    CTL(f, 0, "\"exec_id\":\"F1\"", "--json", "executions", "M1");
    CTL(f, 0, "\"seq\":\"1\"", "--json", "tail", "--from-seq", "1", "--count", "2");
    CTL(f, 0, "head seq", "stats");
    CTL(f, 0, "\"commands_total\"", "--json", "stats");
}

/* Takes one event from sub: asserts it is the seq after *prev and keeps a copy of its bytes
 * in copies[seq] / lens[seq] (cap entries). 1, or 0 when none came within timeout_ms. */
static int s_take(bus_sub_t *sub, int timeout_ms, uint8_t (*copies)[1024], size_t *lens, size_t cap,
                  uint64_t *prev, uint64_t *n)
{
    const uint8_t *env = NULL;
    size_t len = 0;
    uint64_t seq = 0;
    int rc = bus_sub_next(sub, &env, &len, &seq, timeout_ms);
    assert_true(rc >= 0);
    if (rc == 1) {
        assert_int_equal(seq, *prev + 1); /* every seq, once, in order */
        *prev = seq;
        assert_true(seq < cap && len <= sizeof copies[0]);
        memcpy(copies[seq], env, len);
        lens[seq] = len;
        (*n)++;
    }
    return rc;
}

/* A subscriber with a receive high-water mark of 1 that consumes slowly while the daemon and
 * the venue produce hundreds of events: the PUB drops most live events for it, and still the
 * application sees every event of the log exactly once, in seq order, byte for byte as
 * stored (compared with the log after the daemon stops). */
static void test_e2e_slow_subscriber_gets_every_event_once(void **state)
{
    fx_t *f = *state;
    const char *const sim[] = {"--slices", "4", NULL};
    s_start_omsd_with(f, "4"); /* the PUB keeps 4 events per subscriber, then drops */
    s_start_sim(f, sim);
    uint64_t head0 = s_head(f);
    bus_sub_t *sub = NULL;
    assert_int_equal(bus_sub_new(NULL, f->pub_ep, f->query_ep, NULL, 0, 0, 1, &sub), 0);
    enum { ORDERS = 250, CAP = 4096 };
    static uint8_t(*copies)[1024];
    static size_t lens[CAP];
    copies = calloc(CAP, sizeof *copies);
    assert_non_null(copies);
    uint64_t prev = 0, n = 0;
    int64_t end = s_ms() + 6 * WAIT_MS;
    /* The demo data first, so that the subscription is live before the orders come. */
    while (prev < head0) {
        s_take(sub, 200, copies, lens, CAP, &prev, &n);
        assert_true(s_ms() < end);
    }
    s_sleep_ms(100);
    /* Then about 1,500 events (each order: accepted, acked, 4 fills) while the application
     * reads nothing: far more than the PUB queue (4), the SUB queue (1) and the socket
     * buffers hold, so most live events are dropped on the way. */
    for (int i = 0; i < ORDERS; i++) {
        char id[32];
        snprintf(id, sizeof id, "SLOW%d", i);
        oms_cmd_t c = s_new(id, i % 2 ? "ACC1" : "ACC2", "AAPL", "40", "190");
        assert_int_equal(s_submit(f, &c).status, OMS_REPLY_ACCEPTED);
    }
    for (int i = 0; i < ORDERS; i++) {
        char id[32];
        snprintf(id, sizeof id, "SLOW%d", i);
        while (s_order(f, id).status != OMS_ST_FILLED) {
            assert_true(s_ms() < end);
            s_sleep_ms(20);
        }
    }
    uint64_t want = s_head(f);
    assert_true(want >= head0 + 6 * ORDERS);
    /* Now read it all, slowly at first. */
    while (prev < want) {
        if (s_take(sub, 200, copies, lens, CAP, &prev, &n) == 1 && n % 100 == 0)
            s_sleep_ms(5);
        assert_true(s_ms() < end);
    }
    assert_int_equal(n, want);
    bus_sub_stats_t st;
    bus_sub_stats(sub, &st);
    assert_true(st.gaps + st.probes > 0); /* the high-water mark really dropped events */
    assert_true(st.catchup_events > 0);
    bus_sub_destroy(&sub);
    assert_int_equal(s_stop(&f->sim), 0);
    assert_int_equal(s_stop(&f->omsd), 0);
    /* Byte for byte as stored. */
    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_READ_ONLY;
    evlog_t *log = NULL;
    assert_int_equal(evlog_open(f->store, &o, &log, NULL, 0), 0);
    for (uint64_t seq = 1; seq <= want; seq++) {
        uint8_t *v = NULL;
        size_t len = 0;
        assert_int_equal(evlog_get(log, seq, &v, &len), 0);
        assert_int_equal(len, lens[seq]);
        assert_memory_equal(v, copies[seq], len);
        evlog_free(v);
    }
    evlog_destroy(&log);
    free(copies);
}

static void test_e2e_venue_reject_rate(void **state)
{
    fx_t *f = *state;
    const char *const sim[] = {"--reject-rate", "1", "--seed", "7", NULL};
    s_start(f, sim);
    oms_cmd_t c = s_new("VR1", "ACC1", "AAPL", "10", "190");
    assert_int_equal(s_submit(f, &c).status, OMS_REPLY_ACCEPTED);
    proj_order_t o = s_wait_status(f, "VR1", OMS_ST_REJECTED);
    assert_int_equal(o.cum, 0);
    assert_string_equal(o.venue, "XSIM");
}

static void test_e2e_venue_many_orders(void **state)
{
    fx_t *f = *state;
    /* A small order table: slots and index entries are reused many times over. */
    const char *const sim[] = {
        "--max-orders", "64", "--ack-delay-ms", "0", "--fill-delay-ms", "0", "--slices", "2", NULL};
    s_start(f, sim);
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "MANY-%d", i);
        oms_cmd_t c = s_new(id, i % 2 ? "ACC1" : "ACC2", "AAPL", "10", "190");
        assert_int_equal(s_submit(f, &c).status, OMS_REPLY_ACCEPTED);
        if (i % 40 == 39) /* keep the open orders under the table's size */
            s_wait_status(f, id, OMS_ST_FILLED);
    }
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "MANY-%d", i);
        proj_order_t o = s_wait_status(f, id, OMS_ST_FILLED);
        assert_int_equal(o.fill_count, 2);
    }
    proj_position_t pos[8];
    uint32_t n = s_positions(f, "AAPL", pos, 8);
    oms_dec_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += pos[i].qty;
    assert_int_equal(total, D("2000")); /* N x 10 */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (oms_arena_init(&s_arena, 1 << 20) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_e2e_single_order_lifecycle, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_four_eyes_release, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_cancel_working, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_replace, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_block_allocation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_reply_types, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_omsctl_exit_codes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_omsctl_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_omsctl_every_command, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_slow_subscriber_gets_every_event_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_venue_reject_rate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_e2e_venue_many_orders, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oms_arena_free(&s_arena);
    return rc;
}
