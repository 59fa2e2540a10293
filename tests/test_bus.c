/*
 * test_bus.c - proves the bus client library (bus/bus.h) against fake servers running in a
 * thread of the test, on 127.0.0.1 with ephemeral ports (or ipc:// in a scratch directory):
 *
 *   topics      the topic of an event of every family (PROTOCOL.md's grammar, as omsd computes
 *               it): reference data, order events with and without their account, fills of
 *               single-account and block orders, allocations, rejections of a new order, of a
 *               cancel (the order's account), of an allocation and of a command without an
 *               order, exceptions, day processing; a too small buffer -> OMS_ERR_LIMIT; bytes
 *               that are not an envelope -> OMS_ERR_CORRUPT.
 *   commands    a command is answered and its reply matched; an empty command id is replaced
 *               by 32 random hex characters; the server drops the first two requests and the
 *               client's Lazy Pirate retries send the very same bytes on fresh sockets until
 *               answered; with the daemon down the client gives up with OMS_ERR_IO after
 *               1 + retries timeouts; a stale reply to another command is discarded; an
 *               undecodable reply is OMS_ERR_DECODE; two raw frames get ERROR/OMS_ERR_LIMIT.
 *   queries     stats and order queries through the read endpoint, the first request dropped
 *               and retried.
 *   subscriber  a fake daemon appends a log of real envelopes (evlog_append, events built with
 *               codec_encode_event) and publishes them live while skipping some, reordering
 *               others, with tiny high-water marks and a slow consumer, and serves catch-up in
 *               small pages: every event is delivered exactly once, in seq order, byte for byte
 *               as stored; topic filters deliver exactly the matching events (including
 *               account filters that need order lookups); a subscriber resuming from a seq
 *               gets the rest, including an unpublished tail (found by the probe); a tampered
 *               envelope in catch-up is OMS_ERR_CORRUPT with the position unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bus.h"
#include "oms_proto.h"
#include "testutil.h"

#define EP_CAP 256

static int64_t s_ms_since(int64_t t0_ns)
{
    return (oms_clock_mono_ns() - t0_ns) / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Binds sock to an ephemeral 127.0.0.1 port and reads the endpoint back. */
static void s_bind(void *sock, char ep[EP_CAP])
{
    assert_int_equal(zmq_bind(sock, "tcp://127.0.0.1:*"), 0);
    size_t n = EP_CAP;
    assert_int_equal(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &n), 0);
}

/* ---- the synthetic log -------------------------------------------------------------------- */

/* The account of order O<k>: ACC1, ACC2 or a block (""), in turn. */
static const char *s_acct_of_k(unsigned k)
{
    static const char *const a[3] = {"ACC1", "ACC2", ""};
    return a[k % 3];
}

static const char *s_acct_of_order(const char *order_id)
{
    if (!order_id || order_id[0] != 'O')
        return "";
    return s_acct_of_k((unsigned)strtoul(order_id + 1, NULL, 10));
}

/* The event at seq s (k = s / 10 names the order): a repeating mix of every family. Fills
 * ev and the envelope's order id. Lists (none here) would need storage. */
static void s_script_event(uint64_t s, oms_event_t *ev, oms_cmd_t *cmd, char order_id[OMS_ID_CAP])
{
    unsigned k = (unsigned)(s / 10);
    char oid[OMS_ID_CAP];
    snprintf(oid, sizeof oid, "O%u", k);
    memset(ev, 0, sizeof *ev);
    order_id[0] = '\0';
    switch (s % 10) {
    case 0:
        ev->type = OMS_EV_ORDER_ACCEPTED;
        strcpy(ev->u.accepted.order.order_id, oid);
        strcpy(ev->u.accepted.order.account_id, s_acct_of_k(k));
        strcpy(ev->u.accepted.order.instrument_id, "AAPL");
        ev->u.accepted.order.side = OMS_SIDE_BUY;
        ev->u.accepted.order.qty = 100 * OMS_DEC_SCALE;
        ev->u.accepted.status = OMS_ST_PENDING_NEW;
        strcpy(order_id, oid);
        break;
    case 1:
    case 8:
        ev->type = s % 10 == 1 ? OMS_EV_ORDER_ACKNOWLEDGED : OMS_EV_ORDER_CANCELED;
        strcpy(ev->u.order.h.order_id, oid);
        strcpy(ev->u.order.h.venue, "XNAS");
        strcpy(order_id, oid);
        break;
    case 2:
    case 3:
        ev->type = OMS_EV_ORDER_FILLED;
        strcpy(ev->u.order.h.order_id, oid);
        strcpy(ev->u.order.h.venue, "XNAS");
        snprintf(ev->u.order.h.exec_id, sizeof ev->u.order.h.exec_id, "E%llu",
                 (unsigned long long)s);
        strcpy(ev->u.order.account_id, s_acct_of_k(k));
        strcpy(ev->u.order.instrument_id, "AAPL");
        ev->u.order.last_qty = OMS_DEC_SCALE;
        ev->u.order.last_px = 150 * OMS_DEC_SCALE;
        strcpy(order_id, oid);
        break;
    case 4:
        memset(cmd, 0, sizeof *cmd);
        snprintf(cmd->command_id, sizeof cmd->command_id, "c%llu", (unsigned long long)s);
        strcpy(cmd->principal, "trader");
        if (k % 2) {
            cmd->type = OMS_CMD_NEW_ORDER;
            snprintf(cmd->u.new_order.order_id, OMS_ID_CAP, "N%u", k);
            strcpy(cmd->u.new_order.account_id, "ACC2");
        } else {
            cmd->type = OMS_CMD_CANCEL_ORDER;
            strcpy(cmd->u.cancel.order_id, oid);
        }
        ev->type = OMS_EV_COMMAND_REJECTED;
        ev->u.rejected.command_type = cmd->type;
        ev->u.rejected.command = cmd;
        ev->u.rejected.reason = OMS_RR_MAX_QTY;
        break;
    case 5:
        ev->type = OMS_EV_EXCEPTION_RAISED;
        ev->u.exception.kind = OMS_EXC_OVERFILL;
        strcpy(ev->u.exception.order_id, oid);
        strcpy(order_id, oid);
        break;
    case 6:
        ev->type = OMS_EV_ALLOCATION_REJECTED;
        strcpy(ev->u.alloc.order_id, oid);
        strcpy(ev->u.alloc.alloc_id, "A1");
        strcpy(order_id, oid);
        break;
    case 7:
        ev->type = OMS_EV_REFERENCE_PRICE_SET;
        strcpy(ev->u.ref_price.instrument_id, "AAPL");
        ev->u.ref_price.price = 150 * OMS_DEC_SCALE;
        break;
    default:
        if (s % 100 == 99) {
            ev->type = OMS_EV_END_OF_DAY_PROCESSED;
            strcpy(ev->u.eod.trade_date, "2026-01-02");
        } else {
            ev->type = OMS_EV_INSTRUMENT_DEFINED;
            strcpy(ev->u.instrument.instrument_id, "MSFT");
            strcpy(ev->u.instrument.currency, "USD");
        }
        break;
    }
}

/* ---- the fake daemon: catch-up / query ROUTER + event PUB over a real log ------------------- */

typedef struct {
    void *ctx;          /* its own context */
    void *router, *pub; /* the read endpoint and the event stream */
    char q_ep[EP_CAP];  /* their endpoints */
    char pub_ep[EP_CAP];
    const char *dir;           /* the store */
    evlog_t *log;              /* owned by the thread while it runs */
    uint32_t n_events;         /* events to append in all */
    uint32_t burst;            /* events appended (and published) per tick */
    int tick_ms;               /* between bursts */
    uint32_t page_max;         /* events per catch-up reply at most */
    uint32_t skip_mod;         /* seq % skip_mod == 0: not published (0 = none) */
    uint32_t reorder_mod;      /* seq % reorder_mod == 0: published after seq + 1 */
    uint32_t tail_unpublished; /* the last ones are never published */
    int drop_queries;          /* the first queries get no answer */
    uint64_t corrupt_seq;      /* this envelope is served tampered (0 = none) */
    atomic_int go;             /* start appending */
    atomic_int stop;           /* leave */
    atomic_uint appended;      /* events in the log */
    atomic_int queries;        /* queries received */
    atomic_int order_queries;  /* of which order queries */
    uint8_t *reply;            /* CODEC_QREPLY_CAP */
    pthread_t th;              /* the thread */
} fake_log_t;

static void s_publish(fake_log_t *f, uint64_t seq)
{
    uint8_t *v;
    size_t n;
    assert_int_equal(evlog_get(f->log, seq, &v, &n), 0);
    bus_topic_info_t info;
    assert_int_equal(bus_topic_info(v, n, &info), 0);
    char topic[BUS_TOPIC_CAP];
    int tl = bus_topic_format(&info, s_acct_of_order(info.order_id), topic, sizeof topic);
    assert_true(tl > 0);
    zmq_send(f->pub, topic, (size_t)tl, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(f->pub, v, n, ZMQ_DONTWAIT);
    evlog_free(v);
}

static void s_append_one(fake_log_t *f, uint64_t seq)
{
    oms_event_t ev;
    oms_cmd_t cmd;
    char oid[OMS_ID_CAP];
    uint8_t body[4096];
    size_t bl;
    s_script_event(seq, &ev, &cmd, oid);
    assert_int_equal(codec_encode_event(&ev, body, sizeof body, &bl), 0);
    evlog_event_t e = {1700000000000000000LL + (int64_t)seq, "trader", "cmd", oid, body, bl};
    uint64_t first;
    assert_int_equal(evlog_append(f->log, &e, 1, NULL, 0, &first), 0);
    assert_int_equal(first, seq);
}

static void s_answer(fake_log_t *f, zmq_msg_t *id, const uint8_t *req, size_t len)
{
    int qn = atomic_fetch_add(&f->queries, 1);
    if (qn < f->drop_queries)
        return;
    codec_query_t q;
    char err[128];
    codec_reply_writer_t w;
    uint64_t head = atomic_load(&f->appended);
    int rc = codec_decode_query(req, len, &q, err, sizeof err);
    assert_int_equal(codec_qreply_begin(&w, f->reply, CODEC_QREPLY_CAP, q.request_id, head), 0);
    if (rc) {
        assert_int_equal(codec_qreply_error(&w, rc, err), 0);
    } else if (q.kind == CODEC_Q_CATCH_UP) {
        uint64_t from = q.from_seq ? q.from_seq : 1;
        uint32_t max = q.max_events ? q.max_events : 1000;
        if (max > f->page_max)
            max = f->page_max;
        uint64_t seq = from;
        for (; seq <= head && seq < from + max; seq++) {
            uint8_t *v;
            size_t n;
            assert_int_equal(evlog_get(f->log, seq, &v, &n), 0);
            if (seq == f->corrupt_seq)
                v[n - 1] ^= 0x01; /* the hash's last byte: still parses */
            assert_int_equal(codec_qreply_catch_up_event(&w, v, n), 0);
            evlog_free(v);
        }
        assert_int_equal(codec_qreply_catch_up_end(&w, seq <= head), 0);
    } else if (q.kind == CODEC_Q_ORDER && q.id[0] == 'O') {
        atomic_fetch_add(&f->order_queries, 1);
        Oms__V1__Order o = OMS__V1__ORDER__INIT;
        o.order_id = q.id;
        o.account_id = (char *)s_acct_of_order(q.id);
        o.instrument_id = "AAPL";
        uint8_t row[512];
        size_t rl = oms__v1__order__pack(&o, row);
        assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, row, rl), 0);
        assert_int_equal(codec_qreply_list_end(&w, false), 0);
    } else if (q.kind == CODEC_Q_STATS) {
        static codec_stats_t st;
        memset(&st, 0, sizeof st);
        st.head_seq = head;
        st.events_total = head;
        assert_int_equal(codec_qreply_stats(&w, &st), 0);
    } else {
        if (q.kind == CODEC_Q_ORDER)
            atomic_fetch_add(&f->order_queries, 1);
        assert_int_equal(codec_qreply_error(&w, OMS_ERR_NOT_FOUND, "no such thing"), 0);
    }
    size_t rlen;
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    zmq_msg_send(id, f->router, ZMQ_SNDMORE);
    zmq_send(f->router, f->reply, rlen, 0);
}

static void *s_fake_log_main(void *arg)
{
    fake_log_t *f = arg;
    uint64_t next = 1, held = 0;
    int64_t last_tick = 0;
    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 1) > 0) {
            zmq_msg_t id, body;
            zmq_msg_init(&id);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&id, f->router, 0) >= 0 && zmq_msg_more(&id) &&
                zmq_msg_recv(&body, f->router, 0) >= 0)
                s_answer(f, &id, zmq_msg_data(&body), zmq_msg_size(&body));
            zmq_msg_close(&id);
            zmq_msg_close(&body);
        }
        if (!atomic_load(&f->go) || next > f->n_events)
            continue;
        int64_t now = oms_clock_mono_ns();
        if (now - last_tick < (int64_t)f->tick_ms * 1000000)
            continue;
        last_tick = now;
        for (uint32_t b = 0; b < f->burst && next <= f->n_events; b++, next++) {
            s_append_one(f, next); /* durable first, then published */
            atomic_store(&f->appended, (unsigned)next);
            if (next + f->tail_unpublished > f->n_events)
                continue;
            if (f->skip_mod && next % f->skip_mod == 0)
                continue;
            if (f->reorder_mod && next % f->reorder_mod == 0 && !held) {
                held = next;
                continue;
            }
            s_publish(f, next);
            if (held) {
                s_publish(f, held);
                held = 0;
            }
        }
    }
    return NULL;
}

static fake_log_t *s_fake_log_start(uint32_t n_events)
{
    fake_log_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->n_events = n_events;
    f->burst = 25;
    f->tick_ms = 2;
    f->page_max = 37;
    f->dir = tu_mkdtemp(0, "bus");
    evlog_options_t o;
    evlog_options_default(&o);
    o.durability = EVLOG_ASYNC;
    o.write_buffer_bytes = 4 << 20;
    char err[256];
    assert_int_equal(evlog_open(f->dir, &o, &f->log, err, sizeof err), 0);
    f->reply = malloc(CODEC_QREPLY_CAP);
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    f->pub = zmq_socket(f->ctx, ZMQ_PUB);
    int hwm = 20, linger = 0;
    zmq_setsockopt(f->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(f->pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
    s_bind(f->router, f->q_ep);
    s_bind(f->pub, f->pub_ep);
    return f;
}

static void s_fake_log_run(fake_log_t *f)
{
    assert_int_equal(pthread_create(&f->th, NULL, s_fake_log_main, f), 0);
}

static void s_fake_log_stop(fake_log_t *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    zmq_close(f->router);
    zmq_close(f->pub);
    zmq_ctx_term(f->ctx);
}

static void s_fake_log_free(fake_log_t *f)
{
    evlog_destroy(&f->log);
    tu_rmrf(f->dir);
    free(f->reply);
    free(f);
}

/* ---- the consumer ---------------------------------------------------------------------------- */

typedef struct {
    uint64_t *seqs;  /* delivered, in order */
    uint8_t **bytes; /* their envelopes (copies) */
    size_t *lens;    /* their lengths */
    size_t n, cap;   /* count, capacity */
} got_t;

static void s_got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->bytes[i]);
    free(g->seqs);
    free(g->bytes);
    free(g->lens);
    memset(g, 0, sizeof *g);
}

/* Reads from s until its position reaches `last` or limit_ms pass; every `slow_every`
 * deliveries it sleeps slow_ms (a slow consumer). */
static void s_consume(bus_sub_t *s, got_t *g, uint64_t last, int limit_ms, int slow_every,
                      int slow_ms)
{
    int64_t t0 = oms_clock_mono_ns();
    while (s_ms_since(t0) < limit_ms && bus_sub_last_seq(s) < last) {
        const uint8_t *env;
        size_t len;
        uint64_t seq;
        int rc = bus_sub_next(s, &env, &len, &seq, 100);
        assert_true(rc >= 0);
        if (rc == 0)
            continue;
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 256;
            g->seqs = realloc(g->seqs, g->cap * sizeof *g->seqs);
            g->bytes = realloc(g->bytes, g->cap * sizeof *g->bytes);
            g->lens = realloc(g->lens, g->cap * sizeof *g->lens);
            assert_true(g->seqs && g->bytes && g->lens);
        }
        g->seqs[g->n] = seq;
        g->bytes[g->n] = malloc(len);
        memcpy(g->bytes[g->n], env, len);
        g->lens[g->n] = len;
        g->n++;
        if (slow_every && g->n % (size_t)slow_every == 0)
            s_sleep_ms(slow_ms);
    }
}

/* With BUS_TEST_VERBOSE set, prints a subscriber's counters (which paths a run took). */
static void s_print_stats(const bus_sub_stats_t *st)
{
    if (!getenv("BUS_TEST_VERBOSE"))
        return;
    fprintf(stderr,
            "delivered %llu (live %llu) filtered %llu | live: received %llu dup %llu dropped %llu "
            "bad %llu | gaps %llu probes %llu | catch-up: requests %llu events %llu | lookups "
            "%llu\n",
            (unsigned long long)st->delivered, (unsigned long long)st->delivered_live,
            (unsigned long long)st->skipped_filter, (unsigned long long)st->live_received,
            (unsigned long long)st->live_duplicates, (unsigned long long)st->live_dropped,
            (unsigned long long)st->live_bad, (unsigned long long)st->gaps,
            (unsigned long long)st->probes, (unsigned long long)st->catchup_requests,
            (unsigned long long)st->catchup_events, (unsigned long long)st->order_lookups);
}

/* The events a filter set selects from the log (after `from`), as the daemon would publish
 * them: checks the delivered list equals it, in order, byte for byte. */
static void s_expect(fake_log_t *f, const char *const *topics, size_t n_topics, uint64_t from,
                     const got_t *g)
{
    size_t k = 0;
    uint64_t head = atomic_load(&f->appended);
    for (uint64_t seq = from + 1; seq <= head; seq++) {
        uint8_t *v;
        size_t n;
        assert_int_equal(evlog_get(f->log, seq, &v, &n), 0);
        bus_topic_info_t info;
        assert_int_equal(bus_topic_info(v, n, &info), 0);
        char topic[BUS_TOPIC_CAP];
        assert_true(bus_topic_format(&info, s_acct_of_order(info.order_id), topic, sizeof topic) >
                    0);
        bool match = n_topics == 0;
        for (size_t i = 0; i < n_topics && !match; i++)
            match = strncmp(topic, topics[i], strlen(topics[i])) == 0;
        if (match) {
            if (k >= g->n)
                fail_msg("seq %llu (%s) was not delivered", (unsigned long long)seq, topic);
            if (g->seqs[k] != seq)
                fail_msg("delivered seq %llu where %llu (%s) was expected",
                         (unsigned long long)g->seqs[k], (unsigned long long)seq, topic);
            assert_int_equal(g->lens[k], n);
            assert_memory_equal(g->bytes[k], v, n);
            k++;
        }
        evlog_free(v);
    }
    assert_int_equal(k, g->n); /* nothing else, nothing twice */
}

/* ---- topics -------------------------------------------------------------------------------- */

/* An envelope for an event (hash bytes made up: topics do not check them). */
static size_t s_env(const oms_event_t *ev, const char *order_id, uint8_t *out)
{
    uint8_t body[4096], zeros[OMS_HASH_LEN] = {0};
    size_t bl;
    assert_int_equal(codec_encode_event(ev, body, sizeof body, &bl), 0);
    Oms__V1__EventEnvelopeRaw e = OMS__V1__EVENT_ENVELOPE_RAW__INIT;
    e.seq = 7;
    e.principal = "p";
    e.command_id = "c";
    e.order_id = (char *)order_id;
    e.prev_hash.data = zeros;
    e.prev_hash.len = OMS_HASH_LEN;
    e.event.data = body;
    e.event.len = bl;
    e.hash.data = zeros;
    e.hash.len = OMS_HASH_LEN;
    return oms__v1__event_envelope_raw__pack(&e, out);
}

static void s_topic_is(const oms_event_t *ev, const char *env_order, const char *order_account,
                       const char *want, bool of_order)
{
    uint8_t env[8192];
    size_t n = s_env(ev, env_order, env);
    char topic[BUS_TOPIC_CAP];
    int tl = bus_topic_of(env, n, order_account, topic, sizeof topic);
    assert_int_equal(tl, (int)strlen(want));
    assert_string_equal(topic, want);
    bus_topic_info_t info;
    assert_int_equal(bus_topic_info(env, n, &info), 0);
    assert_int_equal(info.account_of_order, of_order);
    assert_int_equal(info.seq, 7);
}

static void test_bus_topic_grammar(void **state)
{
    (void)state;
    oms_event_t ev;
    oms_cmd_t cmd;
    char oid[OMS_ID_CAP];
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_INSTRUMENT_DEFINED;
    strcpy(ev.u.instrument.instrument_id, "AAPL");
    s_topic_is(&ev, "", NULL, "ref//instrument_defined", false);
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_ACCOUNT_DEFINED;
    strcpy(ev.u.account.account_id, "ACC1");
    s_topic_is(&ev, "", NULL, "ref//account_defined", false);
    s_script_event(30, &ev, &cmd, oid); /* order_accepted, O3 of ACC1 */
    s_topic_is(&ev, oid, "IGNORED", "ord/ACC1/order_accepted", false);
    s_script_event(41, &ev, &cmd, oid); /* order_acknowledged of O4 */
    s_topic_is(&ev, oid, "ACC2", "ord/ACC2/order_acknowledged", true);
    s_topic_is(&ev, "", NULL, "ord//order_acknowledged", true);
    s_script_event(48, &ev, &cmd, oid);
    s_topic_is(&ev, oid, "ACC2", "ord/ACC2/order_canceled", true);
    s_script_event(32, &ev, &cmd, oid); /* a fill of ACC1 */
    s_topic_is(&ev, oid, "IGNORED", "exe/ACC1/order_filled", false);
    s_script_event(53, &ev, &cmd, oid); /* a block's fill */
    s_topic_is(&ev, oid, "IGNORED", "exe//order_filled", false);
    s_script_event(56, &ev, &cmd, oid);
    s_topic_is(&ev, oid, "IGNORED", "alc//allocation_rejected", false);
    s_script_event(14, &ev, &cmd, oid); /* NewOrder of ACC2 refused */
    s_topic_is(&ev, "", "IGNORED", "rej/ACC2/command_rejected", false);
    s_script_event(24, &ev, &cmd, oid); /* a cancel of O2 refused: the order's account */
    s_topic_is(&ev, "", "ACC9", "rej/ACC9/command_rejected", true);
    bus_topic_info_t info;
    {
        uint8_t env[8192];
        size_t n = s_env(&ev, "", env);
        assert_int_equal(bus_topic_info(env, n, &info), 0);
        assert_string_equal(info.order_id, "O2"); /* the refused command's order */
    }
    cmd.type = OMS_CMD_ALLOCATE;
    strcpy(cmd.u.allocate.order_id, "O2");
    ev.u.rejected.command_type = OMS_CMD_ALLOCATE;
    s_topic_is(&ev, "", "ACC9", "rej//command_rejected", false);
    cmd.type = OMS_CMD_SET_LIMITS;
    memset(&cmd.u, 0, sizeof cmd.u);
    strcpy(cmd.u.limits.account_id, "ACC3");
    ev.u.rejected.command_type = OMS_CMD_SET_LIMITS;
    s_topic_is(&ev, "", "ACC9", "rej//command_rejected", false);
    ev.u.rejected.command = NULL;
    s_topic_is(&ev, "", "ACC9", "rej//command_rejected", false);
    s_script_event(65, &ev, &cmd, oid);
    s_topic_is(&ev, oid, "ACC1", "exc/ACC1/exception_raised", true);
    s_script_event(99, &ev, &cmd, oid);
    s_topic_is(&ev, "", NULL, "day//end_of_day_processed", false);

    uint8_t env[8192];
    s_script_event(30, &ev, &cmd, oid);
    size_t n = s_env(&ev, oid, env);
    char small[10];
    assert_int_equal(bus_topic_of(env, n, NULL, small, sizeof small), OMS_ERR_LIMIT);
    assert_int_equal(bus_topic_info(env, n - 1, &info), OMS_ERR_CORRUPT);
    static const uint8_t junk[] = {1, 2, 3};
    assert_int_equal(bus_topic_info(junk, sizeof junk, &info), OMS_ERR_CORRUPT);
}

/* ---- the fake command endpoint --------------------------------------------------------------- */

typedef struct {
    void *ctx, *router;  /* its context and ROUTER */
    char ep[EP_CAP];     /* where it listens */
    int drop_first;      /* requests left unanswered */
    bool stale_first;    /* send a reply to another command before each answer */
    bool garbage;        /* answer with bytes that are not a CommandReply */
    atomic_int received; /* requests seen */
    atomic_int differ;   /* requests whose bytes differ from the first one's */
    uint8_t first[4096]; /* the first request's bytes */
    size_t first_len;    /* their length */
    atomic_int stop;     /* leave */
    pthread_t th;        /* the thread */
} fake_cmd_t;

static void s_send_reply(fake_cmd_t *f, zmq_msg_t *id, const oms_reply_t *r)
{
    uint8_t buf[2048];
    size_t n;
    assert_int_equal(codec_encode_reply(r, buf, sizeof buf, &n), 0);
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, id);
    zmq_msg_send(&copy, f->router, ZMQ_SNDMORE);
    zmq_send(f->router, buf, n, 0);
}

static void *s_fake_cmd_main(void *arg)
{
    fake_cmd_t *f = arg;
    oms_arena_t arena;
    oms_arena_init(&arena, 1 << 16);
    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10) <= 0)
            continue;
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        zmq_msg_recv(&id, f->router, 0);
        int frames = 0;
        bool more = zmq_msg_more(&id);
        for (int i = 0; more && i < 16; i++) { /* keep the first frame, count the rest */
            zmq_msg_t x;
            zmq_msg_init(&x);
            zmq_msg_recv(&x, f->router, 0);
            more = zmq_msg_more(&x);
            if (frames++ == 0)
                zmq_msg_move(&body, &x);
            zmq_msg_close(&x);
        }
        oms_reply_t r;
        memset(&r, 0, sizeof r);
        if (frames != 1) {
            r.status = OMS_REPLY_ERROR;
            r.error_code = OMS_ERR_LIMIT;
            strcpy(r.text, "more than one frame");
            s_send_reply(f, &id, &r);
        } else {
            const uint8_t *b = zmq_msg_data(&body);
            size_t n = zmq_msg_size(&body);
            int k = atomic_fetch_add(&f->received, 1);
            if (k == 0 && n <= sizeof f->first) {
                memcpy(f->first, b, n);
                f->first_len = n;
            } else if (n != f->first_len || memcmp(b, f->first, n) != 0) {
                atomic_fetch_add(&f->differ, 1);
            }
            oms_cmd_t cmd;
            oms_arena_reset(&arena);
            if (k >= f->drop_first && codec_decode_command(b, n, &arena, &cmd, NULL, 0) == 0) {
                if (f->garbage) {
                    zmq_msg_send(&id, f->router, ZMQ_SNDMORE);
                    zmq_send(f->router, "\xff\xff\xff", 3, 0);
                    zmq_msg_init(&id);
                } else {
                    if (f->stale_first) {
                        strcpy(r.command_id, "someone-else");
                        r.status = OMS_REPLY_REJECTED;
                        s_send_reply(f, &id, &r);
                    }
                    memset(&r, 0, sizeof r);
                    memcpy(r.command_id, cmd.command_id, OMS_ID_CAP);
                    r.status = k == 0 ? OMS_REPLY_ACCEPTED : OMS_REPLY_DUPLICATE;
                    r.original_status = k == 0 ? OMS_REPLY_NONE : OMS_REPLY_ACCEPTED;
                    r.first_seq = 41;
                    r.last_seq = 42;
                    s_send_reply(f, &id, &r);
                }
            }
        }
        zmq_msg_close(&id);
        zmq_msg_close(&body);
    }
    oms_arena_free(&arena);
    return NULL;
}

static fake_cmd_t *s_fake_cmd_start(int drop_first, bool stale_first, bool garbage)
{
    fake_cmd_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->drop_first = drop_first;
    f->stale_first = stale_first;
    f->garbage = garbage;
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
    s_bind(f->router, f->ep);
    assert_int_equal(pthread_create(&f->th, NULL, s_fake_cmd_main, f), 0);
    return f;
}

static void s_fake_cmd_stop(fake_cmd_t *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    free(f);
}

static void s_new_order(oms_cmd_t *c, const char *command_id)
{
    memset(c, 0, sizeof *c);
    c->type = OMS_CMD_NEW_ORDER;
    strcpy(c->command_id, command_id);
    strcpy(c->principal, "trader");
    strcpy(c->u.new_order.order_id, "ORD-1");
    strcpy(c->u.new_order.account_id, "ACC1");
    strcpy(c->u.new_order.instrument_id, "AAPL");
    c->u.new_order.side = OMS_SIDE_BUY;
    c->u.new_order.ord_type = OMS_ORD_MARKET;
    c->u.new_order.qty = 100 * OMS_DEC_SCALE;
    c->u.new_order.tif = OMS_TIF_DAY;
}

static void test_bus_submit_accepted_with_generated_id(void **state)
{
    (void)state;
    fake_cmd_t *f = s_fake_cmd_start(0, false, false);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, f->ep, NULL, &c), 0);
    oms_cmd_t cmd;
    s_new_order(&cmd, "");
    oms_reply_t r;
    assert_int_equal(bus_submit(c, &cmd, &r, 2000, 0), 0);
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED);
    assert_int_equal(strlen(r.command_id), 32);
    assert_int_equal(strspn(r.command_id, "0123456789abcdef"), 32);
    assert_int_equal(r.first_seq, 41);
    /* Another submit: another id (the fake says DUPLICATE to any later request). */
    char first_id[OMS_ID_CAP];
    strcpy(first_id, r.command_id);
    assert_int_equal(bus_submit(c, &cmd, &r, 2000, 0), 0);
    assert_string_not_equal(r.command_id, first_id);
    /* No query endpoint; bad arguments. */
    codec_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = CODEC_Q_STATS;
    codec_qreply_t *qr = malloc(sizeof *qr);
    assert_int_equal(bus_query(c, &q, NULL, 0, qr, 100, 0), OMS_ERR_STATE);
    assert_int_equal(bus_submit(c, &cmd, &r, 0, 0), OMS_ERR_INVALID);
    assert_int_equal(bus_submit(c, &cmd, &r, 100, BUS_RETRIES_MAX + 1), OMS_ERR_INVALID);
    free(qr);
    bus_client_destroy(&c);
    assert_null(c);
    s_fake_cmd_stop(f);
}

static void test_bus_submit_lazy_pirate_resends_same_bytes(void **state)
{
    (void)state;
    fake_cmd_t *f = s_fake_cmd_start(2, false, false);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, f->ep, NULL, &c), 0);
    oms_cmd_t cmd;
    s_new_order(&cmd, "cmd-lp-1");
    oms_reply_t r;
    int64_t t0 = oms_clock_mono_ns();
    assert_int_equal(bus_submit(c, &cmd, &r, 150, 3), 0);
    int64_t ms = s_ms_since(t0);
    assert_true(ms >= 250); /* two attempts timed out */
    assert_int_equal(atomic_load(&f->received), 3);
    assert_int_equal(atomic_load(&f->differ), 0); /* the very same bytes each time */
    assert_string_equal(r.command_id, "cmd-lp-1");
    assert_int_equal(r.status, OMS_REPLY_DUPLICATE); /* the fake answers the third as a retry */
    assert_int_equal(r.original_status, OMS_REPLY_ACCEPTED);
    bus_client_destroy(&c);
    s_fake_cmd_stop(f);
}

static void test_bus_submit_gives_up_when_daemon_down(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(1, "busdown");
    char ep[EP_CAP];
    snprintf(ep, sizeof ep, "ipc://%s/nobody", dir);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, ep, ep, &c), 0);
    oms_cmd_t cmd;
    s_new_order(&cmd, "cmd-down");
    oms_reply_t r;
    int64_t t0 = oms_clock_mono_ns();
    assert_int_equal(bus_submit(c, &cmd, &r, 100, 2), OMS_ERR_IO);
    int64_t ms = s_ms_since(t0);
    assert_true(ms >= 290 && ms < 3000);
    codec_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = CODEC_Q_STATS;
    codec_qreply_t *qr = malloc(sizeof *qr);
    assert_int_equal(bus_query(c, &q, NULL, 0, qr, 50, 1), OMS_ERR_IO);
    free(qr);
    bus_client_destroy(&c);
    tu_rmrf(dir);
}

/* Sets *flag to 1 after ms milliseconds (a thread standing in for a SIGTERM handler). */
typedef struct {
    volatile sig_atomic_t *flag;
    int ms;
} s_later_t;

static void *s_set_later(void *arg)
{
    s_later_t *l = arg;
    usleep((useconds_t)l->ms * 1000);
    *l->flag = 1;
    return NULL;
}

/* A stop flag ends requests and subscriber waits within BUS_STOP_POLL_MS instead of their
 * timeouts x attempts (here 10 s x 6 = 60 s), with OMS_ERR_INTERRUPTED; set before a call, the
 * call does not start; the subscriber's position is unchanged. */
static void test_bus_stop_flag_interrupts_requests(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(1, "busstop");
    char ep[EP_CAP];
    snprintf(ep, sizeof ep, "ipc://%s/nobody", dir);
    static volatile sig_atomic_t stop;
    stop = 0;
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, ep, ep, &c), 0);
    bus_client_set_stop(c, &stop);
    oms_cmd_t cmd;
    s_new_order(&cmd, "cmd-stop");
    oms_reply_t r;
    s_later_t later = {&stop, 150};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_set_later, &later), 0);
    int64_t t0 = oms_clock_mono_ns();
    assert_int_equal(bus_submit(c, &cmd, &r, 10000, 5), OMS_ERR_INTERRUPTED);
    int64_t ms = s_ms_since(t0);
    pthread_join(th, NULL);
    assert_true(ms >= 100 && ms < 5000);
    /* Already set: nothing starts. */
    codec_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = CODEC_Q_STATS;
    codec_qreply_t *qr = malloc(sizeof *qr);
    t0 = oms_clock_mono_ns();
    assert_int_equal(bus_query(c, &q, NULL, 0, qr, 10000, 5), OMS_ERR_INTERRUPTED);
    const uint8_t *frames[1] = {(const uint8_t *)"x"};
    size_t lens[1] = {1}, rlen = 0;
    uint8_t rbuf[16];
    assert_int_equal(bus_submit_raw(c, frames, lens, 1, rbuf, sizeof rbuf, &rlen, 10000),
                     OMS_ERR_INTERRUPTED);
    assert_true(s_ms_since(t0) < 5000);
    /* Cleared: requests wait and retry as before. */
    stop = 0;
    assert_int_equal(bus_submit(c, &cmd, &r, 50, 0), OMS_ERR_IO);
    free(qr);
    bus_client_destroy(&c);

    /* The subscriber: its wait for live events and its catch-up queries. */
    char pub[EP_CAP];
    snprintf(pub, sizeof pub, "ipc://%s/nopub", dir);
    bus_sub_t *sub;
    assert_int_equal(bus_sub_new(NULL, pub, ep, NULL, 0, 0, 0, &sub), 0);
    assert_int_equal(bus_sub_set_query(sub, 10000, 5), 0);
    bus_sub_set_stop(sub, &stop);
    assert_int_equal(pthread_create(&th, NULL, s_set_later, &later), 0);
    const uint8_t *env;
    size_t len;
    uint64_t seq;
    t0 = oms_clock_mono_ns();
    assert_int_equal(bus_sub_next(sub, &env, &len, &seq, 10000), OMS_ERR_INTERRUPTED);
    ms = s_ms_since(t0);
    pthread_join(th, NULL);
    assert_true(ms >= 100 && ms < 5000);
    assert_int_equal(bus_sub_last_seq(sub), 0);
    bus_sub_destroy(&sub);
    tu_rmrf(dir);
}

static void test_bus_submit_discards_stale_reply(void **state)
{
    (void)state;
    fake_cmd_t *f = s_fake_cmd_start(0, true, false);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, f->ep, NULL, &c), 0);
    oms_cmd_t cmd;
    s_new_order(&cmd, "cmd-mine");
    oms_reply_t r;
    assert_int_equal(bus_submit(c, &cmd, &r, 2000, 0), 0);
    assert_string_equal(r.command_id, "cmd-mine");
    assert_int_equal(r.status, OMS_REPLY_ACCEPTED); /* not the stale REJECTED */
    bus_client_destroy(&c);
    s_fake_cmd_stop(f);
}

static void test_bus_submit_undecodable_reply(void **state)
{
    (void)state;
    fake_cmd_t *f = s_fake_cmd_start(0, false, true);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, f->ep, NULL, &c), 0);
    oms_cmd_t cmd;
    s_new_order(&cmd, "cmd-g");
    oms_reply_t r;
    assert_int_equal(bus_submit(c, &cmd, &r, 2000, 0), OMS_ERR_DECODE);
    bus_client_destroy(&c);
    s_fake_cmd_stop(f);
}

static void test_bus_submit_raw_two_frames(void **state)
{
    (void)state;
    fake_cmd_t *f = s_fake_cmd_start(0, false, false);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, f->ep, NULL, &c), 0);
    const uint8_t a[] = {0x0a, 0x01, 'x'}, b[] = {0x12, 0x01, 'y'};
    const uint8_t *frames[2] = {a, b};
    size_t lens[2] = {sizeof a, sizeof b};
    uint8_t reply[1024];
    size_t rl;
    assert_int_equal(bus_submit_raw(c, frames, lens, 2, reply, sizeof reply, &rl, 2000), 0);
    oms_reply_t r;
    assert_int_equal(codec_decode_reply(reply, rl, &r), 0);
    assert_int_equal(r.status, OMS_REPLY_ERROR);
    assert_int_equal(r.error_code, OMS_ERR_LIMIT);
    assert_string_equal(r.command_id, "");
    assert_int_equal(bus_submit_raw(c, frames, lens, 0, reply, sizeof reply, &rl, 100),
                     OMS_ERR_INVALID);
    bus_client_destroy(&c);
    s_fake_cmd_stop(f);
}

/* ---- queries
 * ------------------------------------------------------------------------------------- */

static void test_bus_query_lazy_pirate(void **state)
{
    (void)state;
    fake_log_t *f = s_fake_log_start(60);
    f->drop_queries = 1;
    s_fake_log_run(f);
    atomic_store(&f->go, 1);
    bus_client_t *c;
    assert_int_equal(bus_client_new(NULL, NULL, f->q_ep, &c), 0);
    codec_query_t q;
    memset(&q, 0, sizeof q);
    q.kind = CODEC_Q_STATS;
    codec_qreply_t *qr = malloc(sizeof *qr);
    codec_slice_t items[4];
    assert_int_equal(bus_query(c, &q, items, 4, qr, 150, 2), 0);
    assert_int_equal(qr->kind, CODEC_QR_STATS);
    assert_int_equal(atomic_load(&f->queries), 2);
    size_t n;
    assert_non_null(bus_query_reply(c, &n));
    assert_true(n > 0);
    q.kind = CODEC_Q_ORDER;
    strcpy(q.id, "O4");
    assert_int_equal(bus_query(c, &q, items, 4, qr, 1000, 0), 0);
    assert_int_equal(qr->kind, CODEC_QR_ORDERS);
    assert_int_equal(qr->n_items, 1);
    char acct[OMS_ID_CAP];
    assert_int_equal(codec_row_order_account(items[0].data, items[0].len, acct), 0);
    assert_string_equal(acct, "ACC2");
    strcpy(q.id, "X1");
    assert_int_equal(bus_query(c, &q, items, 4, qr, 1000, 0), 0);
    assert_int_equal(qr->kind, CODEC_QR_ERROR);
    assert_int_equal(qr->error_code, OMS_ERR_NOT_FOUND);
    free(qr);
    bus_client_destroy(&c);
    s_fake_log_stop(f);
    s_fake_log_free(f);
}

/* ---- the subscriber
 * -------------------------------------------------------------------------------- */

static void test_bus_sub_every_event_once_in_order(void **state)
{
    (void)state;
    const uint32_t n = 1500;
    fake_log_t *f = s_fake_log_start(n);
    f->skip_mod = 97;    /* never published: only catch-up has them */
    f->reorder_mod = 41; /* published after the next one */
    s_fake_log_run(f);
    bus_sub_t *s;
    assert_int_equal(bus_sub_new(NULL, f->pub_ep, f->q_ep, NULL, 0, 0, 10, &s), 0);
    assert_int_equal(bus_sub_set_buffer(s, 64), 0);
    const uint8_t *env;
    size_t len;
    uint64_t seq;
    assert_int_equal(bus_sub_next(s, &env, &len, &seq, 50), 0); /* empty log: caught up */
    assert_int_equal(bus_sub_set_buffer(s, 64), OMS_ERR_STATE);
    s_sleep_ms(50); /* let the subscription reach the publisher */
    atomic_store(&f->go, 1);
    got_t g = {0};
    s_consume(s, &g, n, 15000, 100, 15);
    bus_sub_stats_t st;
    bus_sub_stats(s, &st);
    s_print_stats(&st);
    assert_int_equal(bus_sub_last_seq(s), n);
    assert_int_equal(st.delivered, n);
    assert_true(st.delivered_live > 0); /* both paths were used */
    assert_true(st.gaps > 0);
    assert_true(st.catchup_events > 0);
    bus_sub_destroy(&s);
    assert_null(s);
    s_fake_log_stop(f);
    s_expect(f, NULL, 0, 0, &g);
    s_got_free(&g);
    s_fake_log_free(f);
}

static void test_bus_sub_topic_filters(void **state)
{
    (void)state;
    const uint32_t n = 1200;
    static const char *const topics[] = {"exe/", "ord/ACC1/", "rej/ACC2/", "exc/ACC1/", "d"};
    fake_log_t *f = s_fake_log_start(n);
    f->skip_mod = 13;
    s_fake_log_run(f);
    atomic_store(&f->go, 1);
    while (atomic_load(&f->appended) < 400) /* orders accepted before the start are unknown */
        s_sleep_ms(2);
    bus_sub_t *s;
    assert_int_equal(bus_sub_new(NULL, f->pub_ep, f->q_ep, topics, 5, 300, 0, &s), 0);
    assert_int_equal(bus_sub_set_page(s, 50), 0);
    assert_int_equal(bus_sub_set_probe_ms(s, 100), 0);
    got_t g = {0};
    s_consume(s, &g, n, 15000, 0, 0);
    bus_sub_stats_t st;
    bus_sub_stats(s, &st);
    s_print_stats(&st);
    assert_true(st.skipped_filter > 0);
    assert_true(st.order_lookups > 0);
    assert_true(atomic_load(&f->order_queries) > 0);
    bus_sub_destroy(&s);
    s_fake_log_stop(f);
    s_expect(f, topics, 5, 300, &g);
    s_got_free(&g);
    s_fake_log_free(f);
}

static void test_bus_sub_resume_and_unpublished_tail(void **state)
{
    (void)state;
    const uint32_t n = 1000;
    fake_log_t *f = s_fake_log_start(n);
    f->tail_unpublished = 7;
    s_fake_log_run(f);
    atomic_store(&f->go, 1);
    bus_sub_t *s;
    assert_int_equal(bus_sub_new(NULL, f->pub_ep, f->q_ep, NULL, 0, 600, 0, &s), 0);
    assert_int_equal(bus_sub_set_probe_ms(s, 100), 0);
    got_t g = {0};
    s_consume(s, &g, n, 15000, 0, 0);
    assert_int_equal(bus_sub_last_seq(s), n);
    bus_sub_stats_t st;
    bus_sub_stats(s, &st);
    s_print_stats(&st);
    assert_true(st.probes > 0 || st.catchup_events >= 7);
    /* Nothing more comes. */
    const uint8_t *env;
    size_t len;
    uint64_t seq;
    assert_int_equal(bus_sub_next(s, &env, &len, &seq, 150), 0);
    bus_sub_destroy(&s);
    s_fake_log_stop(f);
    s_expect(f, NULL, 0, 600, &g);
    s_got_free(&g);
    s_fake_log_free(f);
}

static void test_bus_sub_corrupt_catch_up(void **state)
{
    (void)state;
    fake_log_t *f = s_fake_log_start(20);
    f->corrupt_seq = 5;
    s_fake_log_run(f);
    atomic_store(&f->go, 1);
    while (atomic_load(&f->appended) < 20)
        s_sleep_ms(2);
    bus_sub_t *s;
    assert_int_equal(bus_sub_new(NULL, f->pub_ep, f->q_ep, NULL, 0, 0, 0, &s), 0);
    const uint8_t *env;
    size_t len;
    uint64_t seq;
    for (uint64_t want = 1; want <= 4; want++) {
        assert_int_equal(bus_sub_next(s, &env, &len, &seq, 1000), 1);
        assert_int_equal(seq, want);
    }
    assert_int_equal(bus_sub_next(s, &env, &len, &seq, 1000), OMS_ERR_CORRUPT);
    assert_int_equal(bus_sub_last_seq(s), 4);
    assert_int_equal(bus_sub_next(s, &env, &len, &seq, 1000), OMS_ERR_CORRUPT); /* again */
    /* Without verification the tampered bytes still parse and are delivered. */
    bus_sub_set_verify(s, false);
    assert_int_equal(bus_sub_next(s, &env, &len, &seq, 1000), 1);
    assert_int_equal(seq, 5);
    bus_sub_destroy(&s);
    s_fake_log_stop(f);
    s_fake_log_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_topic_grammar),
        cmocka_unit_test(test_bus_submit_accepted_with_generated_id),
        cmocka_unit_test(test_bus_submit_lazy_pirate_resends_same_bytes),
        cmocka_unit_test(test_bus_submit_gives_up_when_daemon_down),
        cmocka_unit_test(test_bus_stop_flag_interrupts_requests),
        cmocka_unit_test(test_bus_submit_discards_stale_reply),
        cmocka_unit_test(test_bus_submit_undecodable_reply),
        cmocka_unit_test(test_bus_submit_raw_two_frames),
        cmocka_unit_test(test_bus_query_lazy_pirate),
        cmocka_unit_test(test_bus_sub_every_event_once_in_order),
        cmocka_unit_test(test_bus_sub_topic_filters),
        cmocka_unit_test(test_bus_sub_resume_and_unpublished_tail),
        cmocka_unit_test(test_bus_sub_corrupt_catch_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
