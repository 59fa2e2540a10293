/*
 * test_omsd.c - proves the daemon (apps/omsd*.c) keeps docs/PROTOCOL.md, by running the real
 * omsd binary as a child process on ipc:// endpoints and a scratch store, and talking to it
 * with raw ZeroMQ DEALER/SUB sockets (commands encoded with the codec, replies decoded with it):
 *
 *   demo_order_fill_stream  --demo-data, a new order and a venue fill: ACCEPTED replies with
 *                           their seqs; the PUB stream delivers exactly those events, in seq
 *                           order, with the right topics, as stored in the log; catch-up from
 *                           seq 1 returns the whole log as stored; the order query finds the
 *                           order; a restart with --demo-data appends nothing.
 *   bad_input               malformed bytes, an empty frame, two payload frames, a 70 KiB frame
 *                           -> ERROR with the PROTOCOL.md codes, nothing appended (head seq by a
 *                           stats query and by the store after stop); a Command without a body
 *                           -> REJECTED CMD-003 (one event); the daemon still serves; bad
 *                           queries -> ErrorReply.
 *   retry_duplicate         the same bytes again from a new socket (Lazy Pirate) -> DUPLICATE
 *                           with the first outcome's seqs; nothing appended.
 *   retry_while_in_flight   every command twice back to back on two sockets, small batches:
 *                           the copy that arrives while the first is still being written is
 *                           held and answered DUPLICATE; each command is in the log once.
 *   second_daemon_refused   a second daemon on the same store exits non-zero saying the store is
 *                           in use; the first is unaffected.
 *   query_never_ahead_of_durable
 *                           catch-up during a burst of one-command batches never answers past
 *                           the durable head (the secondary handle sees unsynced WAL bytes).
 *   sigterm_under_burst     SIGTERM while thousands of commands are in flight: exit status 0,
 *                           and every command that got a reply is in the log at its seqs.
 *   kill9_restart           SIGKILL mid-stream, restart, resend everything: the state reloads,
 *                           commands answered before the kill are DUPLICATE at their seqs, and
 *                           every command is in the log exactly once.
 *   bad_flags               an unknown flag -> usage on stderr, exit 2.
 *   restart_finds_finished_orders
 *                           after a restart (which loads only working orders) a filled order
 *                           is still answered by queries, and its exec id and order id are
 *                           still taken (EXE-003, DUPLICATE, duplicate order id).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "eventlog.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#ifndef OMSD_PATH
#error "OMSD_PATH (the omsd binary) must be defined by the build"
#endif

enum {
    WAIT_MS = 15000,    /* longest wait for a reply or a start (generous for sanitizers) */
    BURST = 3000,       /* commands in the burst tests */
    BUF_CAP = 1 << 21,  /* receive buffer (catch-up replies are up to 1 MiB) */
};

static void *s_ctx;

/* One daemon instance under test and its scratch directory. */
typedef struct {
    char dir[512];        /* scratch directory (endpoints, store, logs) */
    char data[600];       /* the store */
    char cmd_ep[600];     /* command endpoint */
    char pub_ep[600];     /* event endpoint */
    char query_ep[600];   /* query endpoint */
    char logpath[700];    /* the daemon's stderr */
    pid_t pid;            /* running child, 0 if none */
    int starts;           /* starts so far (log file names) */
} omsd_t;

static uint8_t *s_buf; /* BUF_CAP bytes for receiving */

/* ---- the child process ---------------------------------------------------------------------- */

static void s_dump_log(const omsd_t *d)
{
    FILE *f = fopen(d->logpath, "r");
    if (!f)
        return;
    char line[2048];
    fprintf(stderr, "---- %s ----\n", d->logpath);
    for (int i = 0; i < 200 && fgets(line, sizeof line, f); i++)
        fputs(line, stderr);
    fclose(f);
}

/* Starts omsd with the endpoints and store of d plus extra flags (NULL-terminated); stderr goes
 * to d->logpath. Does not wait. */
static pid_t s_spawn(omsd_t *d, const char *const *extra)
{
    snprintf(d->logpath, sizeof d->logpath, "%s/omsd-%d.log", d->dir, ++d->starts);
    const char *argv[32];
    int n = 0;
    argv[n++] = OMSD_PATH;
    argv[n++] = "--cmd-endpoint";
    argv[n++] = d->cmd_ep;
    argv[n++] = "--pub-endpoint";
    argv[n++] = d->pub_ep;
    argv[n++] = "--query-endpoint";
    argv[n++] = d->query_ep;
    argv[n++] = "--data-dir";
    argv[n++] = d->data;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(d->logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        execv(OMSD_PATH, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for pid to exit; its raw status, or -1 if it is still running. */
static int s_wait_exit(pid_t pid, int ms)
{
    int64_t end = s_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (s_now_ms() > end)
            return -1;
        usleep(5000);
    }
}

static void *s_dealer(const char *ep)
{
    void *s = zmq_socket(s_ctx, ZMQ_DEALER);
    assert_non_null(s);
    int linger = 0, hwm = 100000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

/* Receives one single-frame message within ms into s_buf; its length, or -1 on timeout. */
static int s_recv(void *sock, int ms)
{
    zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
    int64_t end = s_now_ms() + ms;
    for (;;) {
        int left = (int)(end - s_now_ms());
        if (left < 0)
            return -1;
        int rc = zmq_poll(&it, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        int n = zmq_recv(sock, s_buf, BUF_CAP, 0);
        assert_true(n >= 0 && n <= BUF_CAP);
        int more = 0;
        size_t ml = sizeof more;
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
        assert_false(more);
        return n;
    }
}

/* Sends one query and decodes the reply into *out (items: up to cap slices). 0, or -1 on
 * timeout. */
static int s_query(void *q, const codec_query_t *rq, codec_slice_t *items, uint32_t cap,
                   codec_qreply_t *out, int ms)
{
    uint8_t buf[1024];
    size_t len = 0;
    assert_int_equal(codec_encode_query(rq, buf, sizeof buf, &len), 0);
    assert_int_equal(zmq_send(q, buf, len, 0), (int)len);
    int n = s_recv(q, ms);
    if (n < 0)
        return -1;
    assert_int_equal(codec_decode_qreply(s_buf, (size_t)n, items, cap, out), 0);
    assert_string_equal(out->request_id, rq->request_id);
    return 0;
}

static codec_qreply_t *s_qr; /* a decoded reply (large: holds a Stats) */

/* The daemon's stats; asserts it answers. */
static const codec_stats_t *s_stats(const omsd_t *d)
{
    void *q = s_dealer(d->query_ep);
    codec_query_t rq = {.kind = CODEC_Q_STATS};
    strcpy(rq.request_id, "stats");
    int rc = s_query(q, &rq, NULL, 0, s_qr, WAIT_MS);
    zmq_close(q);
    assert_int_equal(rc, 0);
    assert_int_equal(s_qr->kind, CODEC_QR_STATS);
    return &s_qr->stats;
}

/* Starts the daemon and waits until it answers a stats query. */
static void s_start(omsd_t *d, const char *const *extra)
{
    d->pid = s_spawn(d, extra);
    void *q = s_dealer(d->query_ep);
    codec_query_t rq = {.kind = CODEC_Q_STATS};
    strcpy(rq.request_id, "ready?");
    uint8_t buf[256];
    size_t len = 0;
    assert_int_equal(codec_encode_query(&rq, buf, sizeof buf, &len), 0);
    assert_int_equal(zmq_send(q, buf, len, 0), (int)len);
    int64_t end = s_now_ms() + WAIT_MS;
    int n = -1;
    while (n < 0 && s_now_ms() < end) {
        n = s_recv(q, 50);
        int st = 0;
        if (n < 0 && waitpid(d->pid, &st, WNOHANG) == d->pid) {
            s_dump_log(d);
            d->pid = 0;
            fail_msg("omsd exited during start-up (status %d)", st);
        }
    }
    zmq_close(q);
    if (n < 0)
        s_dump_log(d);
    assert_true(n >= 0);
}

/* SIGTERM, then asserts a clean exit (status 0) within WAIT_MS. */
static void s_stop(omsd_t *d)
{
    assert_true(d->pid > 0);
    kill(d->pid, SIGTERM);
    int st = s_wait_exit(d->pid, WAIT_MS);
    if (st == -1)
        kill(d->pid, SIGKILL);
    d->pid = 0;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        s_dump_log(d);
    assert_true(st != -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int s_setup(void **state)
{
    omsd_t *d = calloc(1, sizeof *d);
    assert_non_null(d);
    snprintf(d->dir, sizeof d->dir, "%s", tu_mkdtemp(0, "omsd"));
    snprintf(d->data, sizeof d->data, "%s/store", d->dir);
    snprintf(d->cmd_ep, sizeof d->cmd_ep, "ipc://%s/cmd", d->dir);
    snprintf(d->pub_ep, sizeof d->pub_ep, "ipc://%s/pub", d->dir);
    snprintf(d->query_ep, sizeof d->query_ep, "ipc://%s/query", d->dir);
    *state = d;
    return 0;
}

static int s_teardown(void **state)
{
    omsd_t *d = *state;
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
    }
    tu_rmrf(d->dir);
    free(d);
    return 0;
}

/* ---- commands ------------------------------------------------------------------------------- */

static oms_dec_t D(const char *s)
{
    oms_dec_t v = 0;
    assert_int_equal(oms_dec_parse_cstr(s, &v), 0);
    return v;
}

static oms_cmd_t s_cmd(oms_cmd_type_t type, const char *id, const char *who)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = type;
    oms_strlcpy(c.command_id, id, OMS_ID_CAP);
    oms_strlcpy(c.principal, who, OMS_ID_CAP);
    return c;
}

static oms_cmd_t s_new_order(const char *cmd_id, const char *order_id, const char *account,
                             const char *qty)
{
    oms_cmd_t c = s_cmd(OMS_CMD_NEW_ORDER, cmd_id, "pm");
    oms_new_order_t *o = &c.u.new_order;
    oms_strlcpy(o->order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(o->account_id, account, OMS_ID_CAP);
    oms_strlcpy(o->instrument_id, "AAPL", OMS_ID_CAP);
    o->side = OMS_SIDE_BUY;
    o->ord_type = OMS_ORD_LIMIT;
    o->price = (oms_opt_dec_t){true, D("190")};
    o->qty = D(qty);
    o->tif = OMS_TIF_DAY;
    return c;
}

static oms_cmd_t s_fill(const char *cmd_id, const char *order_id, const char *exec_id,
                        const char *qty)
{
    oms_cmd_t c = s_cmd(OMS_CMD_VENUE_FILL, cmd_id, "venue");
    oms_strlcpy(c.u.report.h.order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(c.u.report.h.venue, "XNAS", OMS_ID_CAP);
    oms_strlcpy(c.u.report.h.exec_id, exec_id, OMS_ID_CAP);
    c.u.report.last_qty = D(qty);
    c.u.report.last_px = D("190");
    return c;
}

static size_t s_encode(const oms_cmd_t *c, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    assert_int_equal(codec_encode_command(c, buf, cap, &len), 0);
    return len;
}

static void s_send(void *sock, const void *buf, size_t len)
{
    assert_int_equal(zmq_send(sock, buf, len, 0), (int)len);
}

/* Receives and decodes one reply within WAIT_MS. */
static oms_reply_t s_reply(void *sock)
{
    int n = s_recv(sock, WAIT_MS);
    assert_true(n >= 0);
    oms_reply_t r;
    assert_int_equal(codec_decode_reply(s_buf, (size_t)n, &r), 0);
    return r;
}

/* Sends a command and returns its reply. */
static oms_reply_t s_run(void *sock, const oms_cmd_t *c)
{
    uint8_t buf[4096];
    size_t len = s_encode(c, buf, sizeof buf);
    s_send(sock, buf, len);
    oms_reply_t r = s_reply(sock);
    assert_string_equal(r.command_id, c->command_id);
    return r;
}

/* ---- the store after the daemon stopped ----------------------------------------------------- */

static evlog_t *s_open_ro(const omsd_t *d)
{
    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_READ_ONLY;
    evlog_t *log = NULL;
    char err[512];
    int rc = evlog_open(d->data, &o, &log, err, sizeof err);
    if (rc)
        fprintf(stderr, "evlog_open: %s\n", err);
    assert_int_equal(rc, 0);
    return log;
}

static uint64_t s_head_of(const omsd_t *d)
{
    evlog_t *log = s_open_ro(d);
    uint64_t head = 0;
    evlog_head(log, &head, NULL);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    evlog_destroy(&log);
    return head;
}

/* Asserts that the event at seq was caused by command cmd_id. */
static void s_assert_event_of(evlog_t *log, uint64_t seq, const char *cmd_id)
{
    uint8_t *v = NULL;
    size_t len = 0;
    assert_int_equal(evlog_get(log, seq, &v, &len), 0);
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    assert_int_equal(rec.seq, seq);
    assert_int_equal(rec.command_id_len, strlen(cmd_id));
    assert_memory_equal(rec.command_id, cmd_id, rec.command_id_len);
    evlog_free(v);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const char *const s_demo[] = {"--demo-data", NULL};

static void test_omsd_demo_order_fill_stream(void **state)
{
    omsd_t *d = *state;
    s_start(d, s_demo);
    const codec_stats_t *st = s_stats(d);
    uint64_t demo_head = st->head_seq;
    assert_true(demo_head >= 13); /* 6 principals, 3 instruments + prices, 4 accounts */

    void *sub = zmq_socket(s_ctx, ZMQ_SUB);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(sub, d->pub_ep), 0);
    usleep(300000); /* the subscription reaches the PUB (slow joiner) */

    void *dealer = s_dealer(d->cmd_ep);
    oms_cmd_t no = s_new_order("t-new-1", "O1", "ACC1", "100");
    oms_reply_t r1 = s_run(dealer, &no);
    assert_int_equal(r1.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r1.first_seq, demo_head + 1);
    assert_int_equal(r1.ord_status, OMS_ST_PENDING_NEW);
    assert_string_equal(r1.order_id, "O1");
    oms_cmd_t fill = s_fill("t-fill-1", "O1", "E1", "40");
    oms_reply_t r2 = s_run(dealer, &fill);
    assert_int_equal(r2.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r2.first_seq, r1.last_seq + 1);
    assert_int_equal(r2.ord_status, OMS_ST_PARTIALLY_FILLED);
    /* Events that do not carry their account: the topic takes the order's. A cancel request
     * (an order event naming only the order), a refused fill of that order (a rejection naming
     * it), and a refused fill of an order that does not exist (no account). */
    oms_cmd_t cxl = s_cmd(OMS_CMD_CANCEL_ORDER, "t-cxl-1", "trader");
    oms_strlcpy(cxl.u.cancel.order_id, "O1", OMS_ID_CAP);
    oms_strlcpy(cxl.u.cancel.cl_ord_id, "O1-C1", OMS_ID_CAP);
    oms_reply_t r3 = s_run(dealer, &cxl);
    assert_int_equal(r3.status, OMS_REPLY_ACCEPTED);
    oms_cmd_t again = cxl; /* a second cancel while the first is pending: refused */
    oms_strlcpy(again.command_id, "t-cxl-2", OMS_ID_CAP);
    oms_strlcpy(again.u.cancel.cl_ord_id, "O1-C2", OMS_ID_CAP);
    oms_reply_t r4 = s_run(dealer, &again);
    assert_int_equal(r4.status, OMS_REPLY_REJECTED);
    oms_cmd_t ghost = s_fill("t-fill-3", "NOPE", "E3", "1");
    oms_reply_t r5 = s_run(dealer, &ghost);
    assert_int_equal(r5.status, OMS_REPLY_REJECTED);
    static const struct {
        const char *cmd;
        const char *topic;
    } k_more[] = {{"t-cxl-1", "ord/ACC1/cancel_requested"},
                  {"t-cxl-2", "rej/ACC1/command_rejected"},
                  {"t-fill-3", "rej//command_rejected"}};
    uint64_t more_first = r3.first_seq, more_last = r5.last_seq;
    assert_int_equal(r4.first_seq, more_first + 1);
    assert_int_equal(more_last - more_first + 1, 3); /* one event each */

    /* The stream: exactly the events of these commands, in order, as stored. */
    uint64_t want = r1.first_seq;
    char topic[256];
    evlog_record_t rec;
    while (want <= more_last) {
        int tl = -1;
        zmq_pollitem_t it = {.socket = sub, .events = ZMQ_POLLIN};
        assert_int_equal(zmq_poll(&it, 1, WAIT_MS), 1);
        tl = zmq_recv(sub, topic, sizeof topic - 1, 0);
        assert_true(tl > 0);
        topic[tl] = '\0';
        int n = s_recv(sub, 1000);
        assert_true(n > 0);
        assert_int_equal(evlog_record_parse(s_buf, (size_t)n, &rec), 0);
        assert_int_equal(rec.seq, want);
        if (want >= more_first) {
            const char *cmd = k_more[want - more_first].cmd;
            assert_int_equal(rec.command_id_len, strlen(cmd));
            assert_memory_equal(rec.command_id, cmd, rec.command_id_len);
            assert_string_equal(topic, k_more[want - more_first].topic);
            want++;
            continue;
        }
        const char *cmd = want <= r1.last_seq ? "t-new-1" : "t-fill-1";
        assert_int_equal(rec.command_id_len, strlen(cmd));
        assert_memory_equal(rec.command_id, cmd, rec.command_id_len);
        codec_event_peek_t pk;
        assert_int_equal(codec_event_peek(rec.body, rec.body_len, &pk), 0);
        if (pk.type == OMS_EV_ORDER_ACCEPTED)
            assert_string_equal(topic, "ord/ACC1/order_accepted");
        else if (pk.type == OMS_EV_ORDER_FILLED)
            assert_string_equal(topic, "exe/ACC1/order_filled");
        else
            fail_msg("unexpected event type %d on topic %s", (int)pk.type, topic);
        want++;
    }

    /* Catch-up from seq 1: the whole log as stored, in order. */
    void *q = s_dealer(d->query_ep);
    codec_slice_t *items = calloc(2000, sizeof *items);
    assert_non_null(items);
    codec_query_t rq = {.kind = CODEC_Q_CATCH_UP, .from_seq = 1};
    strcpy(rq.request_id, "cu");
    assert_int_equal(s_query(q, &rq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_CATCH_UP);
    assert_int_equal(s_qr->n_items, more_last);
    assert_false(s_qr->more);
    assert_int_equal(s_qr->catch_up_head_seq, more_last);
    oms_hash_t prev, h;
    for (uint32_t i = 0; i < s_qr->n_items; i++) {
        assert_int_equal(evlog_record_check(items[i].data, items[i].len, i + 1, i ? &prev : NULL,
                                            &h, NULL, 0),
                         0);
        prev = h;
    }
    /* A page of 5 from seq 3. */
    rq.from_seq = 3;
    rq.max_events = 5;
    assert_int_equal(s_query(q, &rq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->n_items, 5);
    assert_true(s_qr->more);
    assert_int_equal(evlog_record_parse(items[0].data, items[0].len, &rec), 0);
    assert_int_equal(rec.seq, 3);

    /* The order, from the stored rows. */
    codec_query_t oq = {.kind = CODEC_Q_ORDER};
    strcpy(oq.request_id, "o");
    strcpy(oq.id, "O1");
    assert_int_equal(s_query(q, &oq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_ORDERS);
    assert_int_equal(s_qr->n_items, 1);
    oms_arena_t arena;
    assert_int_equal(oms_arena_init(&arena, 1 << 20), 0);
    proj_order_t o;
    const char(*clids)[OMS_ID_CAP] = NULL;
    const oms_alloc_instr_t *instrs = NULL;
    uint32_t nc = 0, ni = 0;
    assert_int_equal(codec_row_decode_order(items[0].data, items[0].len, &arena, &o, &clids, &nc,
                                            &instrs, &ni),
                     0);
    assert_string_equal(o.order_id, "O1");
    assert_int_equal(o.status, OMS_ST_PENDING_CANCEL);
    assert_int_equal(o.cum, D("40"));
    oms_arena_free(&arena);
    /* Orders of ACC1, executions of O1, positions of ACC1, reference data. */
    oq.kind = CODEC_Q_ORDERS_OF_ACCOUNT;
    strcpy(oq.id, "ACC1");
    assert_int_equal(s_query(q, &oq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->n_items, 1);
    oq.kind = CODEC_Q_EXECUTIONS_OF_ORDER;
    strcpy(oq.id, "O1");
    assert_int_equal(s_query(q, &oq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_EXECUTIONS);
    assert_int_equal(s_qr->n_items, 1);
    oq.kind = CODEC_Q_POSITIONS_OF_ACCOUNT;
    strcpy(oq.id, "ACC1");
    assert_int_equal(s_query(q, &oq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_POSITIONS);
    assert_int_equal(s_qr->n_items, 1);
    oq.kind = CODEC_Q_REF_DATA;
    oq.ref_kind = CODEC_REF_ALL;
    oq.id[0] = '\0';
    assert_int_equal(s_query(q, &oq, items, 2000, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_REF_DATA);
    assert_int_equal(s_qr->n_items, 3 + 4 + 6 + 1); /* instruments, accounts, principals, firm
                                                     limits */
    free(items);
    zmq_close(q);
    zmq_close(dealer);
    zmq_close(sub);
    s_stop(d);

    /* A restart with the demo data appends nothing. */
    uint64_t head = s_head_of(d);
    assert_int_equal(head, more_last);
    s_start(d, s_demo);
    assert_int_equal(s_stats(d)->head_seq, head);
    s_stop(d);
    assert_int_equal(s_head_of(d), head);
}

/* Asserts that the executions query oq (its id set) answers exec ids first and then second
 * (NULL: only first), in that order. */
static void s_check_execs(void *q, codec_query_t *oq, codec_slice_t *items, const char *first,
                          const char *second)
{
    oq->kind = CODEC_Q_EXECUTIONS_OF_ORDER;
    assert_int_equal(s_query(q, oq, items, 64, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_EXECUTIONS);
    assert_int_equal(s_qr->n_items, second ? 2 : 1);
    const char *want[2] = {first, second};
    uint64_t last = 0;
    for (uint32_t i = 0; i < s_qr->n_items; i++) {
        proj_exec_t x;
        char oid[OMS_ID_CAP], strs[2][OMS_ID_CAP];
        assert_int_equal(codec_row_decode_exec(items[i].data, items[i].len, &x, oid, strs), 0);
        assert_string_equal(oid, oq->id);
        assert_string_equal(x.exec_id, want[i]);
        assert_true(x.seq > last);
        last = x.seq;
    }
}

/* A restart keeps only working orders; a finished order is still found: by a query (from the
 * stored rows), by a command naming it, by a fill reusing its exec id, by a new order reusing
 * its id. */
/* Sends p-new-1 (order filled_id, then filled by p-fill-1 with exec id "E" filled_id) and
 * p-new-2 (order working_id, left working), qty each, and checks their replies. */
static void s_filled_and_working(void *dealer, const char *p, const char *filled_id,
                                 const char *working_id, const char *qty)
{
    char id[3][32], exec[40];
    snprintf(id[0], sizeof id[0], "%s-new-1", p);
    snprintf(id[1], sizeof id[1], "%s-fill-1", p);
    snprintf(id[2], sizeof id[2], "%s-new-2", p);
    snprintf(exec, sizeof exec, "E%s", filled_id);
    oms_cmd_t c = s_new_order(id[0], filled_id, "ACC1", qty);
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_ACCEPTED);
    c = s_fill(id[1], filled_id, exec, qty);
    assert_int_equal(s_run(dealer, &c).ord_status, OMS_ST_FILLED);
    c = s_new_order(id[2], working_id, "ACC1", qty);
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_ACCEPTED);
}

/* Whether the daemon's log (its last start's) contains text. */
static bool s_log_has(const omsd_t *d, const char *text)
{
    FILE *f = fopen(d->logpath, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, text) != NULL;
}

static void test_omsd_restart_finds_finished_orders(void **state)
{
    omsd_t *d = *state;
    s_start(d, s_demo);
    void *dealer = s_dealer(d->cmd_ep);
    s_filled_and_working(dealer, "f", "F1", "W1", "100");
    zmq_close(dealer);
    s_stop(d);

    s_start(d, s_demo);
    dealer = s_dealer(d->cmd_ep);
    void *q = s_dealer(d->query_ep);
    codec_slice_t *items = calloc(64, sizeof *items);
    assert_non_null(items);
    codec_query_t oq = {.kind = CODEC_Q_ORDER};
    strcpy(oq.request_id, "o");
    strcpy(oq.id, "F1");
    assert_int_equal(s_query(q, &oq, items, 64, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_ORDERS);
    assert_int_equal(s_qr->n_items, 1);
    oq.kind = CODEC_Q_EXECUTIONS_OF_ORDER;
    assert_int_equal(s_query(q, &oq, items, 64, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->n_items, 1);
    /* W1's fill with F1's exec id: the stored execution answers (EXE-003). */
    oms_cmd_t c = s_fill("f-fill-2", "W1", "EF1", "100");
    oms_reply_t r = s_run(dealer, &c);
    assert_int_equal(r.status, OMS_REPLY_REJECTED);
    assert_string_equal(r.rule_id, "EXE-003");
    /* F1's own fill again (a venue's resend under a new command id): a duplicate. */
    c = s_fill("f-fill-3", "F1", "EF1", "100");
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_DUPLICATE);
    /* A new order reusing F1's id. */
    c = s_new_order("f-new-3", "F1", "ACC2", "1");
    r = s_run(dealer, &c);
    assert_int_equal(r.status, OMS_REPLY_REJECTED);
    assert_int_equal(r.reject_reason, OMS_RR_DUPLICATE_ORDER_ID);
    assert_int_equal(r.ord_status, OMS_ST_FILLED);
    /* Two fills of W1: its executions come from its index rows, in seq order. */
    c = s_fill("f-fill-4", "W1", "EW1-b", "30");
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_ACCEPTED);
    c = s_fill("f-fill-5", "W1", "EW1-a", "20");
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_ACCEPTED);
    strcpy(oq.id, "W1");
    s_check_execs(q, &oq, items, "EW1-b", "EW1-a");
    free(items);
    zmq_close(q);
    zmq_close(dealer);
    s_stop(d);

    /* The same store without its index marker (as a store from before index rows): restart
     * loads it whole and the executions query scans every execution; the same answers. */
    evlog_options_t o;
    evlog_options_default(&o);
    evlog_t *log = NULL;
    assert_int_equal(evlog_open(d->data, &o, &log, NULL, 0), 0);
    evlog_row_t del = {.cf = EVLOG_CF_META,
                       .key = (const uint8_t *)CODEC_INDEX_MARKER_KEY,
                       .key_len = strlen(CODEC_INDEX_MARKER_KEY),
                       .value = NULL,
                       .value_len = 0};
    assert_int_equal(evlog_append(log, NULL, 0, &del, 1, NULL), 0);
    evlog_destroy(&log);
    /* Reloading such a store would load it whole again: --reload-orders is switched off. */
    static const char *const reload1[] = {"--demo-data", "--reload-orders", "1", NULL};
    s_start(d, reload1);
    q = s_dealer(d->query_ep);
    items = calloc(64, sizeof *items);
    assert_non_null(items);
    s_check_execs(q, &oq, items, "EW1-b", "EW1-a");
    strcpy(oq.id, "F1");
    s_check_execs(q, &oq, items, "EF1", NULL);
    dealer = s_dealer(d->cmd_ep);
    c = s_new_order("f-new-4", "U1", "ACC1", "1");
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_ACCEPTED);
    c = s_new_order("f-new-5", "U2", "ACC1", "1");
    assert_int_equal(s_run(dealer, &c).status, OMS_REPLY_ACCEPTED);
    zmq_close(dealer);
    const codec_stats_t *st = s_stats(d);
    assert_int_equal(st->state_reloads_total, 0);
    assert_int_equal(st->orders_in_memory, 4); /* F1, W1, U1, U2: loaded whole */
    free(items);
    zmq_close(q);
    s_stop(d);
    assert_true(s_log_has(d, "--reload-orders is off"));
}

/* ---- --reload-orders ------------------------------------------------------------------------ */

enum { RL_ORDERS = 40, RL_MORE = 20, RL_CMDS = 2 * RL_ORDERS + 7 + RL_MORE };

/* The script of test_omsd_reload_keeps_answers: RL_ORDERS orders, three in four filled (the
 * rest partly filled and working), then commands that need finished orders (a resent exec id,
 * a reused order id, a cancel of a filled order, a retried command) and working ones, then
 * RL_MORE more orders. Returns the number of commands written to c. */
static int s_reload_script(oms_cmd_t *c)
{
    int n = 0;
    char a[32], b[32], x[32];
    for (int i = 0; i < RL_ORDERS; i++) {
        snprintf(a, sizeof a, "n-%d", i);
        snprintf(b, sizeof b, "R%d", i);
        c[n++] = s_new_order(a, b, "ACC1", "100");
        snprintf(a, sizeof a, "f-%d", i);
        snprintf(x, sizeof x, "X%d", i);
        c[n++] = s_fill(a, b, x, i % 4 ? "100" : "30");
    }
    c[n++] = s_fill("p-resend", "R1", "X1", "100");  /* finished order's exec: DUPLICATE */
    c[n++] = s_fill("p-steal", "R0", "X1", "10");    /* another order's exec id: EXE-003 */
    c[n++] = s_fill("p-fill", "R0", "X0b", "70");    /* working order: FILLED */
    c[n] = s_cmd(OMS_CMD_CANCEL_ORDER, "p-cxl-filled", "trader"); /* too late */
    oms_strlcpy(c[n].u.cancel.order_id, "R2", OMS_ID_CAP);
    oms_strlcpy(c[n++].u.cancel.cl_ord_id, "R2-C1", OMS_ID_CAP);
    c[n++] = s_new_order("p-reuse", "R3", "ACC2", "1"); /* duplicate order id */
    c[n++] = c[2 * 5];                                  /* n-5 again: DUPLICATE */
    c[n] = s_cmd(OMS_CMD_CANCEL_ORDER, "p-cxl-working", "trader");
    oms_strlcpy(c[n].u.cancel.order_id, "R4", OMS_ID_CAP);
    oms_strlcpy(c[n++].u.cancel.cl_ord_id, "R4-C1", OMS_ID_CAP);
    for (int i = 0; i < RL_MORE; i++) {
        snprintf(a, sizeof a, "m-%d", i);
        snprintf(b, sizeof b, "M%d", i);
        c[n++] = s_new_order(a, b, "ACC1", "5");
    }
    assert_int_equal(n, RL_CMDS);
    return n;
}

/* A daemon that reloads its state every 16 new orders answers a script that leans on finished
 * orders exactly as one that never reloads: same statuses, reasons, rules, texts, order
 * statuses and seqs, command by command. The counters show the reloads and the smaller
 * state. */
static void test_omsd_reload_keeps_answers(void **state)
{
    omsd_t *d = *state;
    static oms_cmd_t cmds[RL_CMDS];
    static oms_reply_t want[RL_CMDS];
    int n = s_reload_script(cmds);
    static const char *const never[] = {"--demo-data", "--reload-orders", "0", NULL};
    static const char *const often[] = {"--demo-data", "--reload-orders", "16", NULL};
    for (int run = 0; run < 2; run++) {
        snprintf(d->data, sizeof d->data, "%s/store-%d", d->dir, run);
        s_start(d, run == 0 ? never : often);
        void *dealer = s_dealer(d->cmd_ep);
        for (int i = 0; i < n; i++) {
            oms_reply_t r = s_run(dealer, &cmds[i]);
            if (i == 2 * RL_ORDERS - 1 && run == 1) {
                const codec_stats_t *st = s_stats(d); /* before the commands on old orders */
                assert_true(st->state_reloads_total >= 2);
                assert_true(st->orders_in_memory < RL_ORDERS);
            }
            if (run == 0) {
                want[i] = r;
                continue;
            }
            const oms_reply_t *w = &want[i];
            if (r.status != w->status || r.reject_reason != w->reject_reason ||
                r.ord_status != w->ord_status || r.first_seq != w->first_seq ||
                r.last_seq != w->last_seq || r.original_status != w->original_status ||
                strcmp(r.rule_id, w->rule_id) || strcmp(r.text, w->text) ||
                strcmp(r.order_id, w->order_id))
                fail_msg("command %s: status %d/%d reason %d/%d ord_status %d/%d seq %llu/%llu "
                         "rule '%s'/'%s' text '%s'/'%s'",
                         cmds[i].command_id, r.status, w->status, r.reject_reason,
                         w->reject_reason, r.ord_status, w->ord_status,
                         (unsigned long long)r.first_seq, (unsigned long long)w->first_seq,
                         r.rule_id, w->rule_id, r.text, w->text);
        }
        zmq_close(dealer);
        const codec_stats_t *st = s_stats(d);
        if (run == 0) {
            assert_int_equal(st->state_reloads_total, 0);
            assert_int_equal(st->orders_in_memory, RL_ORDERS + RL_MORE);
        } else {
            assert_true(st->state_reloads_total >= 3);
            assert_true(st->orders_in_memory < RL_ORDERS + RL_MORE);
        }
        s_stop(d);
    }
    /* The script meant what it says (checked once, on the answers both runs gave). */
    const oms_reply_t *p = &want[2 * RL_ORDERS];
    assert_int_equal(p[0].status, OMS_REPLY_DUPLICATE);
    assert_int_equal(p[1].status, OMS_REPLY_REJECTED);
    assert_string_equal(p[1].rule_id, "EXE-003");
    assert_int_equal(p[2].ord_status, OMS_ST_FILLED);
    assert_int_equal(p[3].status, OMS_REPLY_REJECTED);
    assert_int_equal(p[4].reject_reason, OMS_RR_DUPLICATE_ORDER_ID);
    assert_int_equal(p[4].ord_status, OMS_ST_FILLED);
    assert_int_equal(p[5].status, OMS_REPLY_DUPLICATE);
    assert_int_equal(p[6].status, OMS_REPLY_ACCEPTED);
}

/* An end of day reloads the state (finished orders leave memory) even below --reload-orders,
 * and the reloaded state still knows the processed day. */
static void test_omsd_reload_after_end_of_day(void **state)
{
    omsd_t *d = *state;
    static const char *const flags[] = {"--demo-data", "--reload-orders", "1000", NULL};
    s_start(d, flags);
    void *dealer = s_dealer(d->cmd_ep);
    s_filled_and_working(dealer, "e", "D1", "D2", "10"); /* D2: a working DAY order */
    const codec_stats_t *st = s_stats(d);
    assert_int_equal(st->orders_in_memory, 2);
    assert_int_equal(st->state_reloads_total, 0);
    oms_cmd_t eod = s_cmd(OMS_CMD_END_OF_DAY, "e-eod-1", "ops");
    oms_strlcpy(eod.u.eod.trade_date, "2026-12-01", OMS_DATE_CAP);
    assert_int_equal(s_run(dealer, &eod).status, OMS_REPLY_ACCEPTED);
    /* The reload follows the batch's replies: wait for the counters to show it. */
    int64_t end = s_now_ms() + WAIT_MS;
    while ((st = s_stats(d))->state_reloads_total == 0 && s_now_ms() < end)
        usleep(10000);
    assert_int_equal(st->state_reloads_total, 1);
    assert_int_equal(st->orders_in_memory, 0); /* both finished: none loaded */
    /* The day is known after the reload: the same date again is refused. */
    oms_strlcpy(eod.command_id, "e-eod-2", OMS_ID_CAP);
    oms_reply_t r = s_run(dealer, &eod);
    assert_int_equal(r.status, OMS_REPLY_REJECTED);
    assert_string_equal(r.rule_id, "EOD-001");
    /* D2 was expired and is loaded on demand as such: a fill for it is a late fill, booked
     * with its status unchanged (RULES.md). */
    oms_cmd_t c = s_fill("e-fill-2", "D2", "ED2", "1");
    r = s_run(dealer, &c);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.ord_status, OMS_ST_EXPIRED);
    st = s_stats(d);
    assert_int_equal(st->state_reloads_total, 1); /* no new day: no second reload */
    zmq_close(dealer);
    s_stop(d);
}

/* Sends raw frames (n of them) and returns the reply. */
static oms_reply_t s_raw(void *sock, const void *const *frames, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(zmq_send(sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0),
                         (int)lens[i]);
    return s_reply(sock);
}

static void test_omsd_bad_input(void **state)
{
    omsd_t *d = *state;
    s_start(d, s_demo);
    uint64_t head0 = s_stats(d)->head_seq;
    void *dealer = s_dealer(d->cmd_ep);

    /* Malformed bytes. */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
    const void *f1[] = {junk};
    size_t l1[] = {sizeof junk};
    oms_reply_t r = s_raw(dealer, f1, l1, 1);
    assert_int_equal(r.status, OMS_REPLY_ERROR);
    assert_int_equal(r.error_code, OMS_ERR_DECODE);
    assert_string_equal(r.command_id, "");

    /* An empty frame. */
    const void *f2[] = {""};
    size_t l2[] = {0};
    r = s_raw(dealer, f2, l2, 1);
    assert_int_equal(r.status, OMS_REPLY_ERROR);
    assert_int_equal(r.error_code, OMS_ERR_DECODE);

    /* Two payload frames: a valid command and something else. */
    uint8_t cmd[4096];
    oms_cmd_t c = s_new_order("t-two", "O-two", "ACC1", "1");
    size_t cl = s_encode(&c, cmd, sizeof cmd);
    const void *f3[] = {cmd, "x"};
    size_t l3[] = {cl, 1};
    r = s_raw(dealer, f3, l3, 2);
    assert_int_equal(r.status, OMS_REPLY_ERROR);
    assert_int_equal(r.error_code, OMS_ERR_LIMIT);
    assert_string_equal(r.command_id, "t-two");
    assert_non_null(strstr(r.text, "exactly one frame"));

    /* A 70 KiB frame: a command whose text field is padded far beyond the limit. */
    size_t big_len = 70 * 1024;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    memcpy(big, cmd, cl);
    memset(big + cl, 0, big_len - cl); /* zero bytes: a field-0 tag, garbage after a command */
    const void *f4[] = {big};
    size_t l4[] = {big_len};
    r = s_raw(dealer, f4, l4, 1);
    assert_int_equal(r.status, OMS_REPLY_ERROR);
    assert_int_equal(r.error_code, OMS_ERR_LIMIT);
    assert_string_equal(r.command_id, "t-two");
    free(big);

    /* Nothing was appended by those; all four were counted. */
    const codec_stats_t *st = s_stats(d);
    assert_int_equal(st->head_seq, head0);
    assert_int_equal(st->errors_total, 4);

    /* A Command without a body: a rule refuses it, and the refusal is an event. */
    oms_cmd_t nb = s_cmd(OMS_CMD_NONE, "t-nobody", "pm");
    r = s_run(dealer, &nb);
    assert_int_equal(r.status, OMS_REPLY_REJECTED);
    assert_string_equal(r.rule_id, "CMD-003");
    assert_int_equal(r.reject_reason, OMS_RR_UNKNOWN_COMMAND);
    assert_int_equal(r.first_seq, head0 + 1);
    assert_int_equal(r.last_seq, head0 + 1);

    /* Still serving. */
    r = s_run(dealer, &c);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r.first_seq, head0 + 2);
    st = s_stats(d);
    assert_int_equal(st->head_seq, r.last_seq);
    assert_int_equal(st->rejects_total, 1);
    assert_int_equal(st->n_rejects_by_reason, 1);
    assert_int_equal(st->rejects_by_reason[0].reason, OMS_RR_UNKNOWN_COMMAND);
    uint64_t head = r.last_seq;

    /* Bad queries get an ErrorReply. */
    void *q = s_dealer(d->query_ep);
    s_send(q, junk, sizeof junk);
    int n = s_recv(q, WAIT_MS);
    assert_true(n >= 0);
    assert_int_equal(codec_decode_qreply(s_buf, (size_t)n, NULL, 0, s_qr), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_ERROR);
    assert_int_equal(s_qr->error_code, OMS_ERR_DECODE);
    codec_query_t oq = {.kind = CODEC_Q_ORDER};
    strcpy(oq.request_id, "missing");
    strcpy(oq.id, "NOPE");
    assert_int_equal(s_query(q, &oq, NULL, 0, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_ERROR);
    assert_int_equal(s_qr->error_code, OMS_ERR_NOT_FOUND);
    codec_query_t cu = {.kind = CODEC_Q_CATCH_UP, .from_seq = 0};
    strcpy(cu.request_id, "cu0");
    assert_int_equal(s_query(q, &cu, NULL, 0, s_qr, WAIT_MS), 0);
    assert_int_equal(s_qr->kind, CODEC_QR_ERROR);
    zmq_close(q);
    zmq_close(dealer);
    s_stop(d);
    assert_int_equal(s_head_of(d), head);
}

static void test_omsd_retry_duplicate(void **state)
{
    omsd_t *d = *state;
    s_start(d, s_demo);
    uint8_t buf[4096];
    oms_cmd_t c = s_new_order("t-retry", "O-retry", "ACC2", "10");
    size_t len = s_encode(&c, buf, sizeof buf);
    void *a = s_dealer(d->cmd_ep);
    s_send(a, buf, len);
    oms_reply_t r1 = s_reply(a);
    assert_int_equal(r1.status, OMS_REPLY_ACCEPTED);
    zmq_close(a);
    /* Lazy Pirate: a new socket, the same bytes. */
    void *b = s_dealer(d->cmd_ep);
    s_send(b, buf, len);
    oms_reply_t r2 = s_reply(b);
    assert_int_equal(r2.status, OMS_REPLY_DUPLICATE);
    assert_int_equal(r2.original_status, OMS_REPLY_ACCEPTED);
    assert_int_equal(r2.first_seq, r1.first_seq);
    assert_int_equal(r2.last_seq, r1.last_seq);
    assert_string_equal(r2.order_id, "O-retry");
    const codec_stats_t *st = s_stats(d);
    assert_int_equal(st->head_seq, r1.last_seq);
    assert_int_equal(st->duplicates_total, 1);
    zmq_close(b);
    s_stop(d);
    assert_int_equal(s_head_of(d), r1.last_seq);
}

static int s_index_of(const char *prefix, const char *cmd_id)
{
    size_t pl = strlen(prefix);
    assert_true(strncmp(cmd_id, prefix, pl) == 0 && cmd_id[pl] == '-');
    int i = atoi(cmd_id + pl + 1);
    assert_true(i >= 0 && i < BURST);
    return i;
}

/* Retries that arrive while the first copy is still being written (the pipelined sequencer
 * runs ahead of the disk): every command is sent twice back to back, on two sockets, with
 * --batch-max 7 so that the copies land in different batches in flight. Each command is in the
 * log once; one copy is ACCEPTED and the other DUPLICATE with the same seqs. */
static void test_omsd_retry_while_in_flight(void **state)
{
    omsd_t *d = *state;
    const char *extra[] = {"--demo-data", "--batch-max", "7", NULL};
    s_start(d, extra);
    uint64_t head0 = s_stats(d)->head_seq;
    void *a = s_dealer(d->cmd_ep), *b = s_dealer(d->cmd_ep);
    enum { N = 300 };
    static uint8_t bufs[N][512];
    static size_t lens[N];
    for (int i = 0; i < N; i++) {
        char cid[64], oid[64];
        snprintf(cid, sizeof cid, "inflight-%d", i);
        snprintf(oid, sizeof oid, "O-inflight-%d", i);
        oms_cmd_t c = s_new_order(cid, oid, "ACC1", "1");
        lens[i] = s_encode(&c, bufs[i], sizeof bufs[i]);
        s_send(a, bufs[i], lens[i]);
        s_send(b, bufs[i], lens[i]);
    }
    static oms_reply_t ra[N], rb[N];
    for (int k = 0; k < 2; k++) {
        oms_reply_t *dst = k ? rb : ra;
        for (int i = 0; i < N; i++) {
            oms_reply_t r = s_reply(k ? b : a);
            dst[s_index_of("inflight", r.command_id)] = r;
        }
    }
    int dups = 0;
    for (int i = 0; i < N; i++) {
        const oms_reply_t *acc = ra[i].status == OMS_REPLY_ACCEPTED ? &ra[i] : &rb[i];
        const oms_reply_t *dup = acc == &ra[i] ? &rb[i] : &ra[i];
        assert_int_equal(acc->status, OMS_REPLY_ACCEPTED);
        assert_int_equal(dup->status, OMS_REPLY_DUPLICATE);
        assert_int_equal(dup->original_status, OMS_REPLY_ACCEPTED);
        assert_int_equal(dup->first_seq, acc->first_seq);
        assert_int_equal(dup->last_seq, acc->last_seq);
        dups++;
    }
    assert_int_equal(dups, N);
    zmq_close(a);
    zmq_close(b);
    s_stop(d);
    /* One event per command, each at the seq its ACCEPTED reply gave. */
    assert_int_equal(s_head_of(d), head0 + N);
    evlog_t *log = s_open_ro(d);
    for (int i = 0; i < N; i++) {
        const oms_reply_t *acc = ra[i].status == OMS_REPLY_ACCEPTED ? &ra[i] : &rb[i];
        char cid[64];
        snprintf(cid, sizeof cid, "inflight-%d", i);
        s_assert_event_of(log, acc->first_seq, cid);
    }
    evlog_destroy(&log);
}

static void test_omsd_second_daemon_refused(void **state)
{
    omsd_t *d = *state;
    s_start(d, NULL);
    /* The same store, other endpoints. */
    omsd_t other = *d;
    snprintf(other.cmd_ep, sizeof other.cmd_ep, "ipc://%s/cmd2", d->dir);
    snprintf(other.pub_ep, sizeof other.pub_ep, "ipc://%s/pub2", d->dir);
    snprintf(other.query_ep, sizeof other.query_ep, "ipc://%s/query2", d->dir);
    other.starts = 100;
    pid_t pid = s_spawn(&other, NULL);
    int st = s_wait_exit(pid, WAIT_MS);
    if (st == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    assert_true(st != -1);
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    FILE *f = fopen(other.logpath, "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "in use by another writer"));
    /* The first one still serves. */
    assert_int_equal(s_stats(d)->head_seq, 0);
    s_stop(d);
}

/* Sends BURST new orders (ids <prefix>-<i>) on one socket without waiting; returns the
 * encoded commands (for resending) in bufs/lens. */
static void s_burst(void *sock, const char *prefix, uint8_t (*bufs)[512], size_t *lens)
{
    for (int i = 0; i < BURST; i++) {
        char cid[64], oid[64];
        snprintf(cid, sizeof cid, "%s-%d", prefix, i);
        snprintf(oid, sizeof oid, "O-%s-%d", prefix, i);
        oms_cmd_t c = s_new_order(cid, oid, i % 2 ? "ACC1" : "ACC3", "1");
        lens[i] = s_encode(&c, bufs[i], 512);
        s_send(sock, bufs[i], lens[i]);
    }
}


/* Under a burst of one-command batches (one sync each), catch-up queries never answer beyond
 * what the sequencer has reported durable: the head a catch-up reply gives, and its last
 * event, are at most the durable head a stats query returns right after it. (The query thread
 * reads through a secondary handle, which sees a batch as soon as it is in the WAL file, before
 * its sync ends; without the wait in s_refresh about one catch-up in ten was ahead.) */
static void test_omsd_query_never_ahead_of_durable(void **state)
{
    omsd_t *d = *state;
    const char *const flags[] = {"--demo-data", "--batch-max", "1", NULL};
    s_start(d, flags);
    void *sock = s_dealer(d->cmd_ep);
    void *q = s_dealer(d->query_ep);
    uint8_t(*bufs)[512] = calloc(BURST, 512);
    size_t *lens = calloc(BURST, sizeof *lens);
    codec_slice_t *items = calloc(OMS_LIMIT_CATCHUP_EVENTS, sizeof *items);
    assert_true(bufs && lens && items);
    s_burst(sock, "q", bufs, lens);
    int replies = 0, checks = 0, moved = 0;
    uint64_t last_head = 0;
    while (replies < BURST) {
        while (replies < BURST && s_recv(sock, 0) >= 0)
            replies++;
        codec_query_t rq = {
            .kind = CODEC_Q_CATCH_UP, .from_seq = last_head ? last_head : 1, .max_events = 10};
        snprintf(rq.request_id, sizeof rq.request_id, "cu-%d", checks);
        assert_int_equal(s_query(q, &rq, items, OMS_LIMIT_CATCHUP_EVENTS, s_qr, WAIT_MS), 0);
        assert_int_equal(s_qr->kind, CODEC_QR_CATCH_UP);
        uint64_t head = s_qr->catch_up_head_seq, last = 0;
        for (uint32_t i = 0; i < s_qr->n_items; i++) {
            evlog_record_t rec;
            assert_int_equal(evlog_record_parse(items[i].data, items[i].len, &rec), 0);
            last = rec.seq;
        }
        codec_query_t sq = {.kind = CODEC_Q_STATS};
        strcpy(sq.request_id, "st");
        assert_int_equal(s_query(q, &sq, NULL, 0, s_qr, WAIT_MS), 0);
        assert_int_equal(s_qr->kind, CODEC_QR_STATS);
        uint64_t durable = s_qr->stats.head_seq;
        if (head > durable || last > durable)
            fail_msg("catch-up answered head %llu (last event %llu) while the durable head was "
                     "at most %llu",
                     (unsigned long long)head, (unsigned long long)last,
                     (unsigned long long)durable);
        moved += head > last_head;
        last_head = head;
        checks++;
        if (replies < BURST && s_recv(sock, WAIT_MS) >= 0)
            replies++;
    }
    fprintf(stderr, "      (%d catch-ups during the burst, %d saw the head move)\n", checks, moved);
    assert_true(moved >= 3); /* the head did move under the queries */
    free(items);
    free(bufs);
    free(lens);
    zmq_close(q);
    zmq_close(sock);
    s_stop(d);
}

static void test_omsd_sigterm_under_burst(void **state)
{
    omsd_t *d = *state;
    const char *const flags[] = {"--demo-data", "--batch-max", "64", NULL};
    s_start(d, flags);
    void *sock = s_dealer(d->cmd_ep);
    uint8_t(*bufs)[512] = calloc(BURST, 512);
    size_t *lens = calloc(BURST, sizeof *lens);
    oms_reply_t *got = calloc(BURST, sizeof *got);
    assert_true(bufs && lens && got);
    s_burst(sock, "t", bufs, lens);
    int replies = 0;
    bool termed = false;
    for (;;) {
        int n = s_recv(sock, termed ? 1500 : WAIT_MS);
        if (n < 0)
            break;
        oms_reply_t r;
        assert_int_equal(codec_decode_reply(s_buf, (size_t)n, &r), 0);
        int i = s_index_of("t", r.command_id);
        assert_int_equal(got[i].status, OMS_REPLY_NONE); /* one reply per command */
        got[i] = r;
        replies++;
        if (!termed && replies == 200) {
            kill(d->pid, SIGTERM);
            termed = true;
        }
    }
    assert_true(termed);
    int st = s_wait_exit(d->pid, WAIT_MS);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        s_dump_log(d);
    assert_true(st != -1);
    d->pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Every command that got a reply is in the log, at the seqs its reply gave. */
    evlog_t *log = s_open_ro(d);
    for (int i = 0; i < BURST; i++) {
        if (got[i].status == OMS_REPLY_NONE)
            continue;
        assert_int_equal(got[i].status, OMS_REPLY_ACCEPTED);
        s_assert_event_of(log, got[i].first_seq, got[i].command_id);
        s_assert_event_of(log, got[i].last_seq, got[i].command_id);
    }
    evlog_destroy(&log);
    fprintf(stderr, "      (%d of %d commands answered before the stop)\n", replies, BURST);
    assert_true(replies >= 200);
    free(bufs);
    free(lens);
    free(got);
    zmq_close(sock);
}

static void test_omsd_kill9_restart(void **state)
{
    omsd_t *d = *state;
    const char *const flags[] = {"--demo-data", "--batch-max", "32", NULL};
    s_start(d, flags);
    void *sock = s_dealer(d->cmd_ep);
    uint8_t(*bufs)[512] = calloc(BURST, 512);
    size_t *lens = calloc(BURST, sizeof *lens);
    oms_reply_t *got = calloc(BURST, sizeof *got);
    uint32_t *count = calloc(BURST, sizeof *count);
    assert_true(bufs && lens && got && count);
    s_burst(sock, "k", bufs, lens);
    int replies = 0;
    while (replies < 300) {
        oms_reply_t r = s_reply(sock);
        int i = s_index_of("k", r.command_id);
        assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
        got[i] = r;
        replies++;
    }
    kill(d->pid, SIGKILL);
    int st = s_wait_exit(d->pid, WAIT_MS);
    d->pid = 0;
    assert_true(st != -1 && WIFSIGNALED(st));
    zmq_close(sock); /* its late replies are gone with it */

    /* Restart; the state reloads; resend everything (Lazy Pirate, new socket). */
    s_start(d, flags);
    uint64_t head_after_restart = s_stats(d)->head_seq;
    assert_true(head_after_restart >= (uint64_t)replies);
    sock = s_dealer(d->cmd_ep);
    for (int i = 0; i < BURST; i++)
        s_send(sock, bufs[i], lens[i]);
    uint32_t dups = 0;
    for (int k = 0; k < BURST; k++) {
        oms_reply_t r = s_reply(sock);
        int i = s_index_of("k", r.command_id);
        if (got[i].status != OMS_REPLY_NONE) {
            /* Answered before the kill: the same outcome again. */
            assert_int_equal(r.status, OMS_REPLY_DUPLICATE);
            assert_int_equal(r.original_status, OMS_REPLY_ACCEPTED);
            assert_int_equal(r.first_seq, got[i].first_seq);
            assert_int_equal(r.last_seq, got[i].last_seq);
        } else {
            assert_true(r.status == OMS_REPLY_ACCEPTED || r.status == OMS_REPLY_DUPLICATE);
        }
        dups += r.status == OMS_REPLY_DUPLICATE;
    }
    assert_true(dups >= (uint32_t)replies);
    zmq_close(sock);
    s_stop(d);

    /* Every command is in the log exactly once (one OrderAccepted each). */
    evlog_t *log = s_open_ro(d);
    evlog_iter_t *it = NULL;
    assert_int_equal(evlog_iter_new(log, 1, &it), 0);
    uint64_t seq = 0;
    const uint8_t *v = NULL;
    size_t len = 0;
    int rc;
    while ((rc = evlog_iter_next(it, &seq, &v, &len)) == 1) {
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        if (rec.command_id_len < 2 || memcmp(rec.command_id, "k-", 2) != 0)
            continue;
        char cid[OMS_ID_CAP];
        memcpy(cid, rec.command_id, rec.command_id_len);
        cid[rec.command_id_len] = '\0';
        count[s_index_of("k", cid)]++;
    }
    assert_int_equal(rc, 0);
    evlog_iter_destroy(&it);
    evlog_destroy(&log);
    for (int i = 0; i < BURST; i++)
        assert_int_equal(count[i], 1);
    fprintf(stderr, "      (%d commands answered before the kill, head %llu at restart)\n",
            replies, (unsigned long long)head_after_restart);
    free(bufs);
    free(lens);
    free(got);
    free(count);
}

static void test_omsd_bad_flags(void **state)
{
    omsd_t *d = *state;
    const char *const flags[] = {"--no-such-flag", NULL};
    pid_t pid = s_spawn(d, flags);
    int st = s_wait_exit(pid, WAIT_MS);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    FILE *f = fopen(d->logpath, "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "unknown flag"));
    assert_non_null(strstr(text, "usage: omsd"));
    /* --reload-orders: a number in 0..OMSD_RELOAD_ORDERS_MAX, nothing else; as a flag and
     * in a config file (the last case). */
    static const char *const bad[] = {"-1", "1e6", "", "1000000001", "12x", "12y"};
    const size_t n_bad = sizeof bad / sizeof bad[0];
    char conf[700];
    snprintf(conf, sizeof conf, "%s/bad.conf", d->dir);
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "# a config file\nreload-orders = %s\n", bad[n_bad - 1]);
    fclose(f);
    for (size_t i = 0; i < n_bad; i++) {
        const char *const rl[] = {"--reload-orders", bad[i], NULL};
        const char *const cf[] = {"--config", conf, NULL};
        pid = s_spawn(d, i + 1 < n_bad ? rl : cf);
        st = s_wait_exit(pid, WAIT_MS);
        assert_true(st != -1 && WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2);
        f = fopen(d->logpath, "r");
        assert_non_null(f);
        n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
        char want[64];
        snprintf(want, sizeof want, "reload-orders: '%s' is not a number in 0..", bad[i]);
        if (!strstr(text, want))
            fail_msg("no '%s' in:\n%s", want, text);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    s_ctx = zmq_ctx_new();
    s_buf = malloc(BUF_CAP);
    s_qr = malloc(sizeof *s_qr);
    if (!s_ctx || !s_buf || !s_qr)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_omsd_demo_order_fill_stream, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_retry_duplicate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_retry_while_in_flight, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_second_daemon_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_query_never_ahead_of_durable, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_sigterm_under_burst, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_kill9_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_bad_flags, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_reload_keeps_answers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_reload_after_end_of_day, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_omsd_restart_finds_finished_orders, s_setup,
                                        s_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(s_qr);
    free(s_buf);
    /* A failed test may have left sockets open (cmocka jumps out of it), and zmq_ctx_term
     * would wait for them forever: only a clean run terminates the context. */
    if (rc == 0)
        zmq_ctx_term(s_ctx);
    return rc;
}
