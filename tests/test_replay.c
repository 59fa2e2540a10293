/*
 * test_replay.c - proves the audit replay library (replay/replay.h) on real stores built by
 * driving the engine with a seeded mix of orders, blocks, acks, fills, cancels, replaces,
 * allocations and rejected commands:
 *
 *  - verify passes on an unedited store and reports the head (the anchor to record);
 *  - on copies edited behind the log's back through RocksDB (a flipped byte, a deleted event,
 *    two swapped events, a truncated tail, a changed / deleted / extra projection row, an
 *    altered or vanished anchor) verify fails with the right kind and first bad seq, in one
 *    thread and in up to 16 with chunks of 1 to 256 events with the same result; a forged copy
 *    whose chain was recomputed is still caught by the rebuild; on a log many times longer than
 *    the pipeline's ring with several faults at once, the first is reported exactly; the
 *    hashes it computes several at a time are exactly oms_hash;
 *  - state as of seq N (and as of a time) is byte for byte the live engine's rows at N, for 40
 *    N across a seeded run (OMS_REPLAY_STATE_BATCHES=<n> makes the run longer), and
 *    state_write prints the same text for both;
 *  - dump and verify on a secondary / read-only handle while a writer thread appends give
 *    output consistent with the head they started at;
 *  - dump's filters each select exactly the expected events; JSON lines parse as JSON and
 *    decimals are exact strings; CSV and text have one line per event; an event type this
 *    version does not know (a newer writer's) still prints, generically;
 *  - order prints an order's whole story (replace chain, fills, rejection, allocations);
 *  - checkpoint gives a copy that verifies;
 *  - the oms-replay executable's exit codes (0, 1, 2, 3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "enginefix.h"
#include "replay.h"
#include "replay_internal.h" /* replay__pass, replay__size */
#include "testutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a seeded, realistic command generator ----------------------------------------------------
 */

#define GEN_MAX_ORDERS 4096

typedef struct {
    uint64_t rng;
    uint32_t n_orders, n_exec, n_cl, n_alloc;
    char ids[GEN_MAX_ORDERS][16];
    oms_alloc_instr_t block_instrs[2];
} gen_t;

static uint32_t R(gen_t *g, uint32_t n)
{
    return n ? (uint32_t)(tu_rand(&g->rng) % n) : 0;
}

static void s_gen_init(gen_t *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->rng = seed;
    oms_strlcpy(g->block_instrs[0].account_id, "ACC1", OMS_ID_CAP);
    oms_strlcpy(g->block_instrs[1].account_id, "ACC2", OMS_ID_CAP);
    g->block_instrs[0].by_weight = g->block_instrs[1].by_weight = true;
    g->block_instrs[0].share = 1 * OMS_DEC_SCALE;
    g->block_instrs[1].share = 2 * OMS_DEC_SCALE;
}

/* A pooled order whose status is in mask, or NULL. */
static const proj_order_t *s_pick(gen_t *g, const proj_state_t *st, uint32_t mask, int block)
{
    if (g->n_orders == 0)
        return NULL;
    for (int k = 0; k < 32; k++) {
        const proj_order_t *o = proj_order(st, g->ids[R(g, g->n_orders)]);
        if (o && (mask & (1u << o->status)) && (block < 0 || o->is_block == (block == 1)))
            return o;
    }
    return NULL;
}

#define MS(s) (1u << (s))

/* Fills cmd with the next command (principal set). Uses only the state: no cmocka calls. */
static void s_gen_one(gen_t *g, const proj_state_t *st, oms_cmd_t *c)
{
    memset(c, 0, sizeof *c);
    uint32_t r = R(g, 100);
    const proj_order_t *o = NULL;
    if (r < 30 || g->n_orders < 4) {
        bool fut = R(g, 4) == 0;
        c->type = OMS_CMD_NEW_ORDER;
        oms_strlcpy(c->principal, "pm", OMS_ID_CAP);
        oms_new_order_t *no = &c->u.new_order;
        if (g->n_orders < GEN_MAX_ORDERS) {
            snprintf(g->ids[g->n_orders], 16, "O%u", g->n_orders + 1);
            oms_strlcpy(no->order_id, g->ids[g->n_orders++], OMS_ID_CAP);
        } else {
            snprintf(no->order_id, OMS_ID_CAP, "X%u", R(g, 1000000));
        }
        snprintf(no->account_id, OMS_ID_CAP, "ACC%u", 1 + R(g, 3));
        oms_strlcpy(no->instrument_id, fut ? "ESZ6" : "AAPL", OMS_ID_CAP);
        no->side = R(g, 3) ? OMS_SIDE_BUY : OMS_SIDE_SELL;
        if (no->side == OMS_SIDE_SELL)
            oms_strlcpy(no->account_id, "SHORTY", OMS_ID_CAP);
        no->qty = (oms_dec_t)(1 + R(g, fut ? 20 : 500)) * OMS_DEC_SCALE;
        no->ord_type = OMS_ORD_LIMIT;
        no->price.set = true;
        no->price.v = fut ? (5000 * 4 + (int64_t)R(g, 40)) * (OMS_DEC_SCALE / 4)
                          : (10000 + (int64_t)R(g, 200)) * (OMS_DEC_SCALE / 100);
        no->tif = OMS_TIF_GTC;
        if (R(g, 12) == 0) { /* a block for two accounts */
            no->account_id[0] = '\0';
            no->side = OMS_SIDE_BUY;
            no->allocs = g->block_instrs;
            no->n_allocs = 2;
        }
        if (R(g, 30) == 0)
            oms_strlcpy(no->instrument_id, "NOPE", OMS_ID_CAP); /* rejected: unknown */
        return;
    }
    const uint32_t working = MS(OMS_ST_NEW) | MS(OMS_ST_PARTIALLY_FILLED);
    if (r < 45 && (o = s_pick(g, st, MS(OMS_ST_PENDING_NEW), -1))) {
        *c = fx_simple(OMS_CMD_VENUE_ACK, o->order_id);
        c->u.report.h.venue_order_id[0] = 'V';
        oms_strlcpy(c->u.report.h.venue_order_id + 1, o->order_id, OMS_ID_CAP - 1);
    } else if (r < 78 && (o = s_pick(g, st, working, -1))) {
        oms_dec_t q = o->leaves;
        if (q > OMS_DEC_SCALE && R(g, 3))
            q = (oms_dec_t)(1 + R(g, (uint32_t)(q / OMS_DEC_SCALE))) * OMS_DEC_SCALE;
        *c = fx_simple(OMS_CMD_VENUE_FILL, o->order_id);
        snprintf(c->u.report.h.exec_id, OMS_ID_CAP, "E%u", ++g->n_exec);
        c->u.report.last_qty = q;
        c->u.report.last_px = o->price.set ? o->price.v : 100 * OMS_DEC_SCALE;
    } else if (r < 83 && (o = s_pick(g, st, working, -1))) {
        *c = fx_simple(OMS_CMD_CANCEL_ORDER, o->order_id);
        snprintf(c->u.cancel.cl_ord_id, OMS_ID_CAP, "K%u", ++g->n_cl);
    } else if (r < 88 && (o = s_pick(g, st, MS(OMS_ST_PENDING_CANCEL), -1))) {
        *c = fx_simple(OMS_CMD_VENUE_CANCEL_ACK, o->order_id);
        oms_strlcpy(c->u.report.h.cl_ord_id, o->pending_cl_ord_id, OMS_ID_CAP);
    } else if (r < 92 && (o = s_pick(g, st, working, -1))) {
        *c = fx_simple(OMS_CMD_REPLACE_ORDER, o->order_id);
        snprintf(c->u.replace.new_cl_ord_id, OMS_ID_CAP, "R%u", ++g->n_cl);
        c->u.replace.qty = (oms_opt_dec_t){true, o->qty + OMS_DEC_SCALE};
    } else if (r < 96 && (o = s_pick(g, st, MS(OMS_ST_PENDING_REPLACE), -1))) {
        *c = fx_simple(OMS_CMD_VENUE_REPLACE_ACK, o->order_id);
        oms_strlcpy(c->u.report.h.cl_ord_id, o->pending_cl_ord_id, OMS_ID_CAP);
    } else if ((o = s_pick(g, st, MS(OMS_ST_FILLED) | MS(OMS_ST_PARTIALLY_FILLED), 1)) &&
               o->cum > o->allocated_qty) {
        *c = fx_simple(OMS_CMD_ALLOCATE, o->order_id);
        snprintf(c->u.allocate.alloc_id, OMS_ID_CAP, "A%u", ++g->n_alloc);
    } else {
        /* A cancel of something not working: refused with a rejection event. */
        *c = fx_simple(OMS_CMD_CANCEL_ORDER, g->ids[R(g, g->n_orders)]);
        snprintf(c->u.cancel.cl_ord_id, OMS_ID_CAP, "K%u", ++g->n_cl);
    }
    const char *who = "venue";
    if (c->type == OMS_CMD_CANCEL_ORDER || c->type == OMS_CMD_REPLACE_ORDER)
        who = "pm2";
    else if (c->type == OMS_CMD_ALLOCATE)
        who = "ops";
    oms_strlcpy(c->principal, who, OMS_ID_CAP);
}

#define BATCH_MAX 8

/* Runs one generated batch of 1..BATCH_MAX commands through the fixture. */
static void s_gen_batch(gen_t *g, fx_t *f)
{
    oms_cmd_t cmds[BATCH_MAX];
    oms_reply_t replies[BATCH_MAX];
    uint32_t n = 1 + R(g, BATCH_MAX);
    for (uint32_t i = 0; i < n; i++)
        s_gen_one(g, oms_engine_state(f->eng), &cmds[i]);
    fx_run_batch(f, cmds, n, replies);
}

static void s_ref_prices(fx_t *f)
{
    const char *ins[2] = {"AAPL", "ESZ6"};
    const char *px[2] = {"101", "5005"};
    for (int i = 0; i < 2; i++) {
        oms_cmd_t c;
        memset(&c, 0, sizeof c);
        c.type = OMS_CMD_SET_REFERENCE_PRICE;
        oms_strlcpy(c.u.ref_price.instrument_id, ins[i], OMS_ID_CAP);
        c.u.ref_price.price = D(px[i]);
        fx_ok(f, "admin", c);
    }
}

/* A store of about `batches` generated batches in slot's scratch dir; returns the head. */
static uint64_t s_build(const char *dir, uint32_t batches, uint64_t seed)
{
    fx_t f;
    gen_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    s_gen_init(g, seed);
    fx_init(&f, dir);
    fx_setup(&f);
    s_ref_prices(&f);
    for (uint32_t b = 0; b < batches; b++)
        s_gen_batch(g, &f);
    uint64_t head = oms_engine_head(f.eng);
    fx_free(&f);
    free(g);
    return head;
}

/* The shared store most tests copy (built once). */
static char s_store[512];
static uint64_t s_head;

static int s_group_setup(void **state)
{
    (void)state;
    snprintf(s_store, sizeof s_store, "%s", tu_mkdtemp(7, "replay-base"));
    s_head = s_build(s_store, 300, 20261121);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    tu_rmrf(s_store);
    return 0;
}

/* A fresh copy of the shared store (slot 0). */
static const char *s_copy(void)
{
    const char *d = tu_mkdtemp(0, "replay-copy");
    tu_rmrf(d);
    assert_int_equal(tu_copy_dir(s_store, d), 0);
    return d;
}

static evlog_t *s_open(const char *dir)
{
    evlog_t *log = NULL;
    char err[512];
    int rc = replay_open(dir, NULL, &log, err, sizeof err);
    if (rc)
        fprintf(stderr, "replay_open: %s\n", err);
    assert_int_equal(rc, 0);
    return log;
}

/* Verifies dir with o (NULL: defaults) in two threads and in the other ways below, and asserts
 * they all give the same result. */
static replay_verify_result_t s_verify(const char *dir, const replay_verify_opts_t *o)
{
    evlog_t *log = s_open(dir);
    replay_verify_opts_t oo;
    if (o)
        oo = *o;
    else
        replay_verify_opts_default(&oo);
    replay_verify_result_t r, r1;
    oo.threads = 2;
    assert_int_equal(replay_verify(log, &oo, &r), 0);
    /* One thread, then the pipeline with more threads and chunks from one event (every
     * envelope's link crosses a chunk boundary) to 64: every way gives the same result. */
    static const struct {
        unsigned threads;
        uint32_t chunk;
    } k_ways[] = {{1, 0}, {2, 1}, {2, 5}, {3, 7}, {8, 64}};
    for (size_t w = 0; w < sizeof k_ways / sizeof k_ways[0]; w++) {
        oo.threads = k_ways[w].threads;
        oo.pipe_chunk_events = k_ways[w].chunk;
        assert_int_equal(replay_verify(log, &oo, &r1), 0);
        assert_int_equal(r.ok, r1.ok);
        assert_int_equal(r.bad, r1.bad);
        assert_int_equal(r.first_bad_seq, r1.first_bad_seq);
        assert_int_equal(r.events, r1.events);
        assert_int_equal(r.rows, r1.rows);
        assert_true(r.log_ns > 0 && r1.log_ns > 0);
        assert_string_equal(r.reason, r1.reason);
        assert_string_equal(r.row_key, r1.row_key);
    }
    evlog_destroy(&log);
    if (!r.ok)
        printf("  verify: %s at seq %" PRIu64 ": %s\n",
               r.bad == REPLAY_BAD_CHAIN        ? "chain"
               : r.bad == REPLAY_BAD_HEAD       ? "head"
               : r.bad == REPLAY_BAD_ANCHOR     ? "anchor"
               : r.bad == REPLAY_BAD_PROJECTION ? "projection"
                                                : "event",
               r.first_bad_seq, r.reason);
    return r;
}

static void s_expect_bad(const char *dir, replay_bad_t bad, uint64_t seq)
{
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, bad);
    assert_int_equal(r.first_bad_seq, seq);
}

static void s_key(uint8_t key[8], uint64_t seq)
{
    oms_put_be64(key, seq);
}

/* ---- verify ---------------------------------------------------------------------------------- */

static void s_rehash_event(const char *dir, uint64_t seq);
static void s_pad_events(const char *dir, uint64_t from, size_t pad);
static void s_flip_event(const char *dir, uint64_t seq);

static void test_replay_verify_intact_store(void **state)
{
    (void)state;
    assert_true(s_head > 1000);
    replay_verify_result_t r = s_verify(s_store, NULL);
    assert_true(r.ok);
    assert_int_equal(r.events, s_head);
    assert_int_equal(r.head_seq, s_head);
    assert_true(r.rows > 100);
    /* The head's hash is the last envelope's. */
    evlog_t *log = s_open(s_store);
    uint8_t *v;
    size_t len;
    assert_int_equal(evlog_get(log, s_head, &v, &len), 0);
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    assert_memory_equal(rec.hash, r.head_hash.bytes, OMS_HASH_LEN);
    evlog_free(v);
    /* Anchors: the head itself and an earlier event both hold. */
    replay_verify_opts_t o;
    replay_verify_opts_default(&o);
    o.has_anchor = true;
    o.anchor_seq = s_head;
    o.anchor_hash = r.head_hash;
    replay_verify_result_t r2;
    assert_int_equal(replay_verify(log, &o, &r2), 0);
    assert_true(r2.ok);
    char hex[65], text[100];
    oms_hash_hex(&r.head_hash, hex, sizeof hex);
    snprintf(text, sizeof text, "%" PRIu64 ":%s", s_head, hex);
    assert_int_equal(replay_parse_anchor(text, &o.anchor_seq, &o.anchor_hash), 0);
    assert_int_equal(o.anchor_seq, s_head);
    assert_int_equal(replay_parse_anchor("12:zz", &o.anchor_seq, &o.anchor_hash), OMS_ERR_PARSE);
    assert_int_equal(replay_parse_anchor("0:", &o.anchor_seq, &o.anchor_hash), OMS_ERR_PARSE);
    /* Without the rebuild: the chain alone. */
    replay_verify_opts_default(&o);
    o.rebuild = false;
    assert_int_equal(replay_verify(log, &o, &r2), 0);
    assert_true(r2.ok);
    assert_int_equal(r2.rows, 0);
    evlog_destroy(&log);
}

static void test_replay_verify_catches_flipped_byte(void **state)
{
    (void)state;
    const char *dir = s_copy();
    uint8_t key[8];
    s_key(key, 37);
    size_t len = 0;
    uint8_t *v = tu_raw_get(dir, "events", key, 8, &len);
    assert_non_null(v);
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    size_t at[3] = {(size_t)(rec.body - v) + rec.body_len / 2, (size_t)(rec.prev_hash - v) + 5,
                    (size_t)(rec.hash - v) + 31};
    for (int i = 0; i < 3; i++) {
        v[at[i]] ^= 0x10;
        assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
        s_expect_bad(dir, REPLAY_BAD_CHAIN, 37);
        v[at[i]] ^= 0x10;
    }
    assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
    assert_true(s_verify(dir, NULL).ok);
    /* Rewritten whole, its own hash recomputed: the next event's link no longer holds. */
    s_rehash_event(dir, 37);
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_CHAIN);
    assert_int_equal(r.first_bad_seq, 38);
    assert_non_null(strstr(r.reason, "prev_hash"));
    assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
    free(v);
    tu_rmrf(dir);
}

/* A newer writer's envelopes may carry fields this version does not know, covered by the hash:
 * two events with a 300 KB one (more than a pipeline chunk holds) in a rewritten chain still
 * verify, in every way; a flipped bit in one of them is still found. */
static void test_replay_verify_accepts_unknown_envelope_fields(void **state)
{
    (void)state;
    const char *dir = s_copy();
    s_pad_events(dir, 100, 300 << 10);
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_true(r.ok);
    assert_int_equal(r.events, s_head);
    s_flip_event(dir, 101);
    s_expect_bad(dir, REPLAY_BAD_CHAIN, 101);
    tu_rmrf(dir);
}

static void test_replay_verify_catches_deleted_event(void **state)
{
    (void)state;
    const char *dir = s_copy();
    uint8_t key[8];
    s_key(key, 500);
    assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    s_expect_bad(dir, REPLAY_BAD_CHAIN, 500);
    s_key(key, 1);
    assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    s_expect_bad(dir, REPLAY_BAD_CHAIN, 1);
    tu_rmrf(dir);
}

static void test_replay_verify_catches_swapped_events(void **state)
{
    (void)state;
    const char *dir = s_copy();
    uint8_t k1[8], k2[8];
    s_key(k1, 250);
    s_key(k2, 251);
    size_t l1, l2;
    uint8_t *v1 = tu_raw_get(dir, "events", k1, 8, &l1);
    uint8_t *v2 = tu_raw_get(dir, "events", k2, 8, &l2);
    assert_non_null(v1);
    assert_non_null(v2);
    assert_int_equal(tu_raw_put(dir, "events", k1, 8, v2, l2), 0);
    assert_int_equal(tu_raw_put(dir, "events", k2, 8, v1, l1), 0);
    s_expect_bad(dir, REPLAY_BAD_CHAIN, 250);
    free(v1);
    free(v2);
    tu_rmrf(dir);
}

static void test_replay_verify_catches_truncated_tail(void **state)
{
    (void)state;
    const char *dir = s_copy();
    for (uint64_t s = s_head - 9; s <= s_head; s++) {
        uint8_t key[8];
        s_key(key, s);
        assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    }
    s_expect_bad(dir, REPLAY_BAD_HEAD, s_head - 9);
    tu_rmrf(dir);
}

/* The live state's record for a stored order row, to know which seq last touched it. */
static uint64_t s_order_last_seq(const char *dir, const char *order_id)
{
    evlog_t *log = s_open(dir);
    oms_engine_t *eng = NULL;
    uint64_t reached = 0;
    assert_int_equal(replay_rebuild(log, 0, 0, NULL, &eng, &reached), 0);
    const proj_order_t *o = proj_order(oms_engine_state(eng), order_id);
    assert_non_null(o);
    uint64_t s = o->last_seq;
    oms_engine_destroy(&eng);
    evlog_destroy(&log);
    return s;
}

static void test_replay_verify_catches_changed_projection_row(void **state)
{
    (void)state;
    const char *dir = s_copy();
    const uint8_t key[] = "oO7";
    uint64_t last = s_order_last_seq(dir, "O7");
    size_t len = 0;
    uint8_t *v = tu_raw_get(dir, "orders", key, 3, &len);
    assert_non_null(v);
    assert_true(len > 10);
    v[len - 1] ^= 0x01; /* a changed value */
    assert_int_equal(tu_raw_put(dir, "orders", key, 3, v, len), 0);
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_int_equal(r.first_bad_seq, last);
    assert_string_equal(r.row_cf, "orders");
    assert_string_equal(r.row_key, "oO7");
    /* The chain alone does not see it. */
    replay_verify_opts_t o;
    replay_verify_opts_default(&o);
    o.rebuild = false;
    assert_true(s_verify(dir, &o).ok);

    /* A deleted row is missing from the store. */
    v[len - 1] ^= 0x01;
    assert_int_equal(tu_raw_put(dir, "orders", key, 3, v, len), 0);
    assert_true(s_verify(dir, NULL).ok);
    assert_int_equal(tu_raw_delete(dir, "orders", key, 3), 0);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_int_equal(r.first_bad_seq, last);
    assert_non_null(strstr(r.reason, "missing"));

    /* A row no event produced. */
    assert_int_equal(tu_raw_put(dir, "orders", key, 3, v, len), 0);
    assert_int_equal(tu_raw_put(dir, "positions",
                                "ACC9\x1f"
                                "AAPL",
                                9, v, len),
                     0);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_string_equal(r.row_key, "ACC9|AAPL");
    free(v);
    tu_rmrf(dir);
}

/* A store written with on-demand loading carries index rows (codec.h): verify accepts them when
 * they match the rebuilt state and names the first that does not (a working order without its
 * "w" row, a "w" row for a filled order, an "e" row for an execution that does not exist). */
static void test_replay_verify_checks_index_rows(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "replay-index");
    fx_t f;
    fx_init_on_demand(&f, dir);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("W1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "20"));
    fx_ok(&f, "pm", fx_new_order("F1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "20"));
    fx_ok(&f, "venue", fx_fill("F1", "e1", "100", "10"));
    fx_free(&f);
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_true(r.ok);
    uint8_t *mk = NULL;
    size_t ml = 0;
    mk = tu_raw_get(dir, "meta", (const uint8_t *)"oms.index", 9, &ml);
    assert_non_null(mk); /* the marker */
    free(mk);
    /* W1's "w" row gone: the store has fewer rows than the rebuilt state. */
    assert_int_equal(tu_raw_delete(dir, "orders", (const uint8_t *)"wW1", 3), 0);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_int_equal(tu_raw_put(dir, "orders", (const uint8_t *)"wW1", 3, (const uint8_t *)"", 0),
                     0);
    assert_true(s_verify(dir, NULL).ok);
    /* A "w" row for the filled order. */
    assert_int_equal(tu_raw_put(dir, "orders", (const uint8_t *)"wF1", 3, (const uint8_t *)"", 0),
                     0);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_string_equal(r.row_key, "wF1");
    assert_non_null(strstr(r.reason, "not working"));
    assert_int_equal(tu_raw_delete(dir, "orders", (const uint8_t *)"wF1", 3), 0);
    /* An "e" row naming an execution of another order. */
    static const uint8_t ek[] = "eW1\x1fXNAS\x1f"
                                "e1";
    assert_int_equal(tu_raw_put(dir, "orders", ek, sizeof ek - 1, (const uint8_t *)"", 0), 0);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_non_null(strstr(r.reason, "execution index"));
    tu_rmrf(dir);
}

static void test_replay_verify_catches_altered_anchor(void **state)
{
    (void)state;
    evlog_t *log = s_open(s_store);
    uint8_t *v;
    size_t len;
    assert_int_equal(evlog_get(log, 120, &v, &len), 0);
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    replay_verify_opts_t o;
    replay_verify_opts_default(&o);
    o.rebuild = false;
    o.has_anchor = true;
    o.anchor_seq = 120;
    memcpy(o.anchor_hash.bytes, rec.hash, OMS_HASH_LEN);
    evlog_free(v);
    replay_verify_result_t r;
    assert_int_equal(replay_verify(log, &o, &r), 0);
    assert_true(r.ok);
    /* The recorded hash was altered (or the log was rewritten since). */
    o.anchor_hash.bytes[7] ^= 0x80;
    assert_int_equal(replay_verify(log, &o, &r), 0);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_ANCHOR);
    assert_int_equal(r.first_bad_seq, 120);
    /* An anchor past the end: the log lost events since the anchor was taken. */
    o.anchor_seq = s_head + 5;
    assert_int_equal(replay_verify(log, &o, &r), 0);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_ANCHOR);
    assert_int_equal(r.first_bad_seq, s_head + 5);
    evlog_destroy(&log);
}

/* Copies the shared store into a new one through the event log's own append (so the hash
 * chain and head are valid), with event `bad_seq`'s body edited by edit(); the projection rows
 * are copied as they are. What a forger who recomputes the chain would produce. */
typedef struct {
    evlog_t *dst;
    evlog_cf_t cf;
} copy_rows_t;

static int s_copy_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    copy_rows_t *c = ctx;
    if (c->cf == EVLOG_CF_META && kl >= 6 && memcmp(k, "evlog.", 6) == 0)
        return 0;
    evlog_row_t row = {c->cf, k, kl, v, vl};
    return evlog_append(c->dst, NULL, 0, &row, 1, NULL);
}

static const char *s_forge_from(const char *src_dir, uint64_t bad_seq,
                                void (*edit)(uint8_t *body, size_t len), int64_t ts_delta)
{
    const char *dir = tu_mkdtemp(4, "replay-forged");
    evlog_options_t lo;
    evlog_options_default(&lo);
    lo.durability = EVLOG_ASYNC;
    evlog_t *dst = NULL;
    char err[512];
    assert_int_equal(evlog_open(dir, &lo, &dst, err, sizeof err), 0);
    evlog_t *src = s_open(src_dir);
    evlog_iter_t *it = NULL;
    assert_int_equal(evlog_iter_new(src, 1, &it), 0);
    uint64_t seq;
    const uint8_t *v;
    size_t len;
    static uint8_t body[OMS_LIMIT_EVENT_BYTES];
    while (evlog_iter_next(it, &seq, &v, &len) == 1) {
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        char who[OMS_ID_CAP], cmd[OMS_ID_CAP], oid[OMS_ID_CAP];
        snprintf(who, sizeof who, "%.*s", (int)rec.principal_len, rec.principal);
        snprintf(cmd, sizeof cmd, "%.*s", (int)rec.command_id_len, rec.command_id);
        snprintf(oid, sizeof oid, "%.*s", (int)rec.order_id_len, rec.order_id);
        memcpy(body, rec.body, rec.body_len);
        int64_t ts = rec.ts_ns;
        if (seq == bad_seq && edit)
            edit(body, rec.body_len);
        if (seq == bad_seq)
            ts += ts_delta;
        evlog_event_t ev = {ts, who, cmd, oid, body, rec.body_len};
        assert_int_equal(evlog_append(dst, &ev, 1, NULL, 0, NULL), 0);
    }
    evlog_iter_destroy(&it);
    static const evlog_cf_t cfs[] = {EVLOG_CF_ORDERS, EVLOG_CF_POSITIONS, EVLOG_CF_ALLOCATIONS,
                                     EVLOG_CF_REFDATA, EVLOG_CF_META};
    for (size_t i = 0; i < sizeof cfs / sizeof cfs[0]; i++) {
        copy_rows_t c = {dst, cfs[i]};
        assert_int_equal(evlog_scan(src, cfs[i], NULL, 0, s_copy_row, &c), 0);
    }
    evlog_destroy(&src);
    evlog_destroy(&dst);
    return dir;
}

static const char *s_forge_ts(uint64_t bad_seq, void (*edit)(uint8_t *body, size_t len),
                              int64_t ts_delta)
{
    return s_forge_from(s_store, bad_seq, edit, ts_delta);
}

static const char *s_forge(uint64_t bad_seq, void (*edit)(uint8_t *body, size_t len))
{
    return s_forge_ts(bad_seq, edit, 0);
}

/* The first event of a type (seq), from the shared store. */
static uint64_t s_first_of(oms_event_type_t type)
{
    evlog_t *log = s_open(s_store);
    evlog_iter_t *it = NULL;
    assert_int_equal(evlog_iter_new(log, 1, &it), 0);
    uint64_t seq, found = 0;
    const uint8_t *v;
    size_t len;
    while (!found && evlog_iter_next(it, &seq, &v, &len) == 1) {
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        codec_event_peek_t pk;
        if (codec_event_peek(rec.body, rec.body_len, &pk) == 0 && pk.type == type && seq > 100)
            found = seq;
    }
    evlog_iter_destroy(&it);
    evlog_destroy(&log);
    assert_true(found > 0);
    return found;
}

/* Points the event at an order that does not exist ("O..." -> "Z..."). */
static void s_edit_order_id(uint8_t *body, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (body[i] == 'O' && body[i + 1] >= '1' && body[i + 1] <= '9') {
            body[i] = 'Z';
            return;
        }
    fail_msg("no order id in the body");
}

/* Changes the last digit of the first price/quantity-like varint: a flipped low bit of the
 * body's last byte (a Decimal's e8 or a bool), still valid protobuf. */
static void s_edit_last_byte(uint8_t *body, size_t len)
{
    body[len - 1] ^= 0x02;
}

/* Bytes that are not an Event (wire type 7 does not exist). */
static void s_edit_garbage(uint8_t *body, size_t len)
{
    (void)len;
    body[0] = 0xff;
}

static void test_replay_verify_catches_forged_chain_by_rebuild(void **state)
{
    (void)state;
    /* A fill for an order that never existed: the chain is valid, the rebuild refuses it. */
    uint64_t k = s_first_of(OMS_EV_ORDER_FILLED);
    const char *dir = s_forge(k, s_edit_order_id);
    replay_verify_opts_t o;
    replay_verify_opts_default(&o);
    o.rebuild = false;
    assert_true(s_verify(dir, &o).ok); /* the chain alone is fooled */
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_EVENT);
    assert_int_equal(r.first_bad_seq, k);
    assert_int_equal(r.events, k - 1);
    /* state: the rebuild stops there too, pipelined (the whole log) or not (up to k). */
    evlog_t *log = s_open(dir);
    oms_engine_t *eng = NULL;
    uint64_t reached = 0;
    assert_int_equal(replay_rebuild(log, 0, 0, NULL, &eng, &reached), OMS_ERR_STATE);
    assert_null(eng);
    assert_int_equal(reached, k - 1);
    assert_int_equal(replay_rebuild(log, k, 0, NULL, &eng, &reached), OMS_ERR_STATE);
    assert_int_equal(reached, k - 1);
    assert_int_equal(replay_rebuild(log, k - 1, 0, NULL, &eng, &reached), 0);
    assert_int_equal(reached, k - 1);
    oms_engine_destroy(&eng);
    evlog_destroy(&log);
    tu_rmrf(dir);

    /* An event that does not decode at all (found by the reader or the applier alike). */
    k = s_first_of(OMS_EV_ORDER_ACKNOWLEDGED);
    dir = s_forge(k, s_edit_garbage);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_EVENT);
    assert_int_equal(r.first_bad_seq, k);
    assert_non_null(strstr(r.reason, "does not decode"));
    tu_rmrf(dir);

    /* Sequencer time that goes back (the daemon never writes it; time filters rely on it). */
    k = s_first_of(OMS_EV_ORDER_FILLED);
    dir = s_forge_ts(k, NULL, -1000000000LL);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_EVENT);
    assert_int_equal(r.first_bad_seq, k);
    assert_non_null(strstr(r.reason, "sequencer time"));
    tu_rmrf(dir);

    /* An accepted order's terms changed: the events apply, the rows no longer match. */
    k = s_first_of(OMS_EV_ORDER_ACCEPTED);
    dir = s_forge(k, s_edit_last_byte);
    r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_true(r.bad == REPLAY_BAD_PROJECTION || r.bad == REPLAY_BAD_EVENT);
    assert_true(r.first_bad_seq >= k);
    tu_rmrf(dir);
}

/* Flips one bit in the middle of event seq's body, behind the log's back. */
static void s_flip_event(const char *dir, uint64_t seq)
{
    uint8_t key[8];
    s_key(key, seq);
    size_t len = 0;
    uint8_t *v = tu_raw_get(dir, "events", key, 8, &len);
    assert_non_null(v);
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    v[(size_t)(rec.body - v) + rec.body_len / 2] ^= 0x10;
    assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
    free(v);
}

/* Rewrites event seq with a bit of its body flipped and its own hash recomputed (what a forger
 * who does not rewrite the rest of the chain leaves): only the next event's link shows it. */
static void s_rehash_event(const char *dir, uint64_t seq)
{
    uint8_t key[8];
    s_key(key, seq);
    size_t len = 0;
    uint8_t *v = tu_raw_get(dir, "events", key, 8, &len);
    assert_non_null(v);
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    v[(size_t)(rec.body - v) + rec.body_len / 2] ^= 0x10;
    oms_hash_t h;
    oms_hash(v, rec.hashed_len, &h);
    memcpy(v + len - OMS_HASH_LEN, h.bytes, OMS_HASH_LEN);
    oms_hash_t prev;
    memcpy(prev.bytes, rec.prev_hash, OMS_HASH_LEN);
    assert_int_equal(evlog_record_check(v, len, seq, &prev, NULL, NULL, 0),
                     0); /* self-consistent */
    assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
    free(v);
}

/* Rewrites the log from seq `from` to the head behind the log's back, as a newer writer could
 * have written it: events from..from+1 get an unknown field (number 16) of `pad` bytes before
 * their hash, and every envelope from `from` on gets the prev hash and own hash that follow,
 * and the recorded head the new last hash. The store stays intact. */
static void s_pad_events(const char *dir, uint64_t from, size_t pad)
{
    uint64_t head = 0;
    oms_hash_t prev = {{0}};
    uint8_t key[8];
    if (from > 1) {
        s_key(key, from - 1);
        size_t len = 0;
        uint8_t *v = tu_raw_get(dir, "events", key, 8, &len);
        assert_non_null(v);
        memcpy(prev.bytes, v + len - OMS_HASH_LEN, OMS_HASH_LEN);
        free(v);
    }
    for (uint64_t seq = from;; seq++) {
        s_key(key, seq);
        size_t len = 0;
        uint8_t *v = tu_raw_get(dir, "events", key, 8, &len);
        if (v == NULL)
            break;
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        size_t body = rec.hashed_len, extra = seq < from + 2 ? pad : 0;
        uint8_t *w = calloc(1, body + extra + 8 + EVLOG_HASH_FIELD_LEN);
        assert_non_null(w);
        memcpy(w, v, body);
        memcpy(w + (rec.prev_hash - v), prev.bytes, OMS_HASH_LEN);
        size_t n = body;
        if (extra) {
            w[n++] = 0x82; /* field 16, length-delimited */
            w[n++] = 0x01;
            for (size_t x = extra; x; x >>= 7) /* varint length */
                w[n++] = (uint8_t)((x & 0x7f) | (x >> 7 ? 0x80 : 0));
            memset(w + n, 'p', extra);
            n += extra;
        }
        oms_hash(w, n, &prev);
        w[n++] = 0x7a;
        w[n++] = OMS_HASH_LEN;
        memcpy(w + n, prev.bytes, OMS_HASH_LEN);
        n += OMS_HASH_LEN;
        assert_int_equal(tu_raw_put(dir, "events", key, 8, w, n), 0);
        free(w);
        free(v);
        head = seq;
    }
    uint8_t h[8 + OMS_HASH_LEN];
    oms_put_be64(h, head);
    memcpy(h + 8, prev.bytes, OMS_HASH_LEN);
    assert_int_equal(tu_raw_put(dir, "meta", "evlog.head", 10, h, sizeof h), 0);
}

/* Flips the last bit of a stored order row. */
static void s_flip_order_row(const char *dir, const char *order_id)
{
    char key[OMS_ID_CAP + 1];
    snprintf(key, sizeof key, "o%s", order_id);
    size_t len = 0;
    uint8_t *v = tu_raw_get(dir, "orders", key, strlen(key), &len);
    assert_non_null(v);
    v[len - 1] ^= 0x01;
    assert_int_equal(tu_raw_put(dir, "orders", key, strlen(key), v, len), 0);
    free(v);
}

/* A log many times longer than the pipeline's ring, so its chunks are reused over and over, with
 * several faults at once: the first in seq order is reported, exactly, whichever thread meets
 * which fault first (a later chunk's fault is often found before an earlier chunk is
 * consumed), and so is the first differing row in key order when the rows are compared in
 * ranges cut for many threads. */
static void test_replay_verify_long_log_reports_the_first_of_several_faults(void **state)
{
    (void)state;
    const char *base = tu_mkdtemp(5, "replay-long");
    uint64_t head = s_build(base, 2500, 20261130);
    assert_true(head > 10000);
    replay_verify_result_t r = s_verify(base, NULL);
    assert_true(r.ok);
    assert_int_equal(r.events, head);
    uint64_t a = head * 3 / 4, b = head - 20;

    /* A flipped bit far into the log, then a deleted event after it too. */
    const char *dir = tu_mkdtemp(6, "replay-long-copy");
    tu_rmrf(dir);
    assert_int_equal(tu_copy_dir(base, dir), 0);
    s_flip_event(dir, a);
    r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_CHAIN);
    assert_int_equal(r.first_bad_seq, a);
    assert_int_equal(r.events, a - 1);
    uint8_t key[8];
    s_key(key, b);
    assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    s_expect_bad(dir, REPLAY_BAD_CHAIN, a);
    s_flip_event(dir, a); /* flipped back: now the gap is the first fault */
    r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_CHAIN);
    assert_int_equal(r.first_bad_seq, b);
    assert_non_null(strstr(r.reason, "missing"));
    /* An event rewritten with its own hash recomputed, before the gap: the next link. */
    s_rehash_event(dir, a);
    r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_CHAIN);
    assert_int_equal(r.first_bad_seq, a + 1);
    assert_non_null(strstr(r.reason, "prev_hash"));
    tu_rmrf(dir);

    /* An event that does not decode in a chain recomputed by a forger, and a flipped bit after
     * it: the event comes first. Then sequencer time going back, likewise. */
    dir = s_forge_from(base, a, s_edit_garbage, 0);
    s_flip_event(dir, b);
    r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_EVENT);
    assert_int_equal(r.first_bad_seq, a);
    assert_int_equal(r.events, a - 1);
    assert_non_null(strstr(r.reason, "does not decode"));
    tu_rmrf(dir);
    dir = s_forge_from(base, a, NULL, -1000000000LL);
    s_flip_event(dir, b);
    r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_EVENT);
    assert_int_equal(r.first_bad_seq, a);
    assert_non_null(strstr(r.reason, "sequencer time"));
    tu_rmrf(dir);

    /* Two changed order rows far apart in key order: the first ("oO2000" < "oO999"). */
    dir = tu_mkdtemp(6, "replay-long-copy");
    tu_rmrf(dir);
    assert_int_equal(tu_copy_dir(base, dir), 0);
    uint64_t last = s_order_last_seq(dir, "O2000");
    s_flip_order_row(dir, "O999");
    s_flip_order_row(dir, "O2000");
    r = s_verify(dir, NULL);
    assert_int_equal(r.bad, REPLAY_BAD_PROJECTION);
    assert_string_equal(r.row_key, "oO2000");
    assert_int_equal(r.first_bad_seq, last);
    evlog_t *log = s_open(dir);
    replay_verify_opts_t o;
    replay_verify_opts_default(&o);
    o.threads = REPLAY_THREADS_MAX;
    o.pipe_chunk_events = 3;
    replay_verify_result_t r16;
    assert_int_equal(replay_verify(log, &o, &r16), 0);
    assert_int_equal(r16.bad, REPLAY_BAD_PROJECTION);
    assert_string_equal(r16.row_key, "oO2000");
    assert_int_equal(r16.rows, r.rows);
    evlog_destroy(&log);
    tu_rmrf(dir);
    tu_rmrf(base);
}

/* The pass hashes many envelopes at once (8 or 4 per SIMD lane set): every implementation this
 * CPU has gives exactly oms_hash, for every length from 0 to 700 (empty, block boundaries at
 * 128, 256, ...), for groups of 1 to 37 messages of mixed lengths (lanes change messages at
 * different times). */
/* The pass's size hint (replay__size through cfg.size_hint) is only a hint: told nothing, too
 * few events, the right number or far too many, with one thread or several, the rebuilt state
 * is the same, row for row. */
static void test_replay_size_hint_wrong_gives_same_rows(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(1, "replay-size");
    fx_t f;
    gen_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    s_gen_init(g, 4242);
    fx_init(&f, dir);
    fx_setup(&f);
    s_ref_prices(&f);
    for (uint32_t b = 0; b < 40; b++)
        s_gen_batch(g, &f);
    uint64_t head = oms_engine_head(f.eng);
    size_t ref_len;
    uint8_t *ref = fx_rows(f.eng, &ref_len);
    evlog_t *log = s_open(dir);
    const uint64_t hints[] = {0, 1, head / 10, head, head * 100};
    for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
        for (unsigned threads = 1; threads <= 3; threads += 2) {
            oms_engine_opts_t o;
            oms_engine_opts_default(&o);
            oms_engine_t *eng = oms_engine_new(&o, 0);
            assert_non_null(eng);
            replay_pass_cfg_t cfg = {
                .eng = eng,
                .to_seq = head,
                .threads = threads,
                .chunk_events = 16,
                .size_hint = hints[h],
            };
            replay_pass_t pass;
            assert_int_equal(replay__pass(log, &cfg, &pass), 0);
            assert_false(pass.failed);
            assert_int_equal(pass.last_seq, head);
            size_t len;
            uint8_t *rows = fx_rows(eng, &len);
            assert_int_equal(len, ref_len);
            assert_memory_equal(rows, ref, len);
            free(rows);
            oms_engine_destroy(&eng);
        }
    }
    /* Called directly with nonsense (nothing done, the end already passed): no effect. */
    oms_engine_opts_t o;
    oms_engine_opts_default(&o);
    oms_engine_t *eng = oms_engine_new(&o, 0);
    replay__size(eng, 0, 100);
    replay__size(eng, 100, 10);
    replay__size(NULL, 1, 2);
    assert_int_equal(proj_count(oms_engine_state(eng), PROJ_T_ORDER), 0);
    oms_engine_destroy(&eng);
    evlog_destroy(&log);
    free(ref);
    free(g);
    fx_free(&f);
    tu_rmrf(dir);
}

/* ---- state ----------------------------------------------------------------------------------- */

#define N_SAMPLES 40

typedef struct {
    uint64_t seq;
    int64_t ts;
    uint8_t *rows;
    size_t len;
} sample_t;

/* The state_write text of an engine (all tables, fmt). malloc'd, NUL-terminated. */
static char *s_state_text(const oms_engine_t *eng, replay_fmt_t fmt, uint64_t as_of)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    assert_int_equal(replay_state_write(eng, REPLAY_STATE_ALL, fmt, as_of, m), 0);
    fclose(m);
    return buf;
}

static void test_replay_state_matches_live_state_at_every_seq(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(1, "replay-state");
    fx_t f;
    gen_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    s_gen_init(g, 777);
    fx_init(&f, dir);
    fx_setup(&f);
    s_ref_prices(&f);
    sample_t smp[N_SAMPLES];
    memset(smp, 0, sizeof smp);
    uint32_t n = 0;
    /* OMS_REPLAY_STATE_BATCHES=<n> runs longer (the samples spread over the run). */
    const char *env = getenv("OMS_REPLAY_STATE_BATCHES");
    uint32_t batches = env && atoi(env) >= 40 && atoi(env) <= 1000000 ? (uint32_t)atoi(env) : 400;
    uint32_t every = batches / N_SAMPLES;
    for (uint32_t b = 0; b < batches; b++) {
        s_gen_batch(g, &f);
        if (b % every == 3 % every && n < N_SAMPLES) {
            smp[n].seq = oms_engine_head(f.eng);
            smp[n].ts = f.ts;
            smp[n].rows = fx_rows(f.eng, &smp[n].len);
            n++;
        }
    }
    char *live_text = s_state_text(f.eng, REPLAY_FMT_TEXT, oms_engine_head(f.eng));
    char *live_json = s_state_text(f.eng, REPLAY_FMT_JSON, oms_engine_head(f.eng));
    uint64_t head = oms_engine_head(f.eng);

    /* The writer is still open: the replay reads beside it. */
    evlog_t *log = s_open(dir);
    for (uint32_t i = 0; i < n; i++) {
        oms_engine_t *eng = NULL;
        uint64_t reached = 0;
        assert_int_equal(replay_rebuild(log, smp[i].seq, 0, NULL, &eng, &reached), 0);
        assert_int_equal(reached, smp[i].seq);
        size_t len;
        uint8_t *rows = fx_rows(eng, &len);
        assert_int_equal(len, smp[i].len);
        assert_memory_equal(rows, smp[i].rows, len);
        free(rows);
        oms_engine_destroy(&eng);
        /* As of the batch's time: the same state (a batch's events share its time). */
        assert_int_equal(replay_rebuild(log, 0, smp[i].ts, NULL, &eng, &reached), 0);
        assert_int_equal(reached, smp[i].seq);
        rows = fx_rows(eng, &len);
        assert_int_equal(len, smp[i].len);
        assert_memory_equal(rows, smp[i].rows, len);
        free(rows);
        oms_engine_destroy(&eng);
    }
    /* The whole log: the printed state is the live one. */
    oms_engine_t *eng = NULL;
    uint64_t reached = 0;
    assert_int_equal(replay_rebuild(log, 0, 0, NULL, &eng, &reached), 0);
    assert_int_equal(reached, head);
    char *text = s_state_text(eng, REPLAY_FMT_TEXT, reached);
    char *json = s_state_text(eng, REPLAY_FMT_JSON, reached);
    char *csv = s_state_text(eng, REPLAY_FMT_CSV, reached);
    assert_string_equal(text, live_text);
    assert_string_equal(json, live_json);
    assert_non_null(strstr(text, "orders as of seq"));
    assert_non_null(strstr(json, "{\"order\":{\"order_id\":\"O1\""));
    assert_non_null(strstr(csv, "# positions as of seq"));
    free(text);
    free(json);
    free(csv);
    oms_engine_destroy(&eng);
    /* A seq past the head is not found. */
    assert_int_equal(replay_rebuild(log, head + 1, 0, NULL, &eng, &reached), OMS_ERR_NOT_FOUND);
    assert_null(eng);
    evlog_destroy(&log);
    for (uint32_t i = 0; i < n; i++)
        free(smp[i].rows);
    free(live_text);
    free(live_json);
    fx_free(&f);
    free(g);
    tu_rmrf(dir);
}

/* ---- a writer appending while the replay reads ------------------------------------------------
 */

/* stop, batches and failed cross threads (atomics: the test runs clean under TSan). */
typedef struct {
    fx_t *f;
    gen_t *g;
    atomic_int stop;
    atomic_uint batches;
    atomic_int failed;
} writer_t;

/* Appends generated batches through the engine and the log until told to stop (no cmocka
 * calls: plain checks, reported through failed). */
static void *s_writer(void *arg)
{
    writer_t *w = arg;
    while (!w->stop && w->batches < 20000) {
        oms_cmd_t cmds[BATCH_MAX];
        uint32_t n = 1 + R(w->g, BATCH_MAX);
        for (uint32_t i = 0; i < n; i++) {
            s_gen_one(w->g, oms_engine_state(w->f->eng), &cmds[i]);
            snprintf(cmds[i].command_id, OMS_ID_CAP, "w%" PRIu64, ++w->f->n_cmd);
        }
        w->f->ts += 1000000;
        uint32_t done = 0;
        while (done < n) {
            oms_batch_t b;
            if (oms_engine_process(w->f->eng, cmds + done, n - done, w->f->ts, &b) != 0 ||
                b.n_consumed == 0) {
                w->failed = 1;
                return NULL;
            }
            if (b.n_events &&
                evlog_append(w->f->log, b.events, b.n_events, b.rows, b.n_rows, NULL) != 0) {
                w->failed = 2;
                oms_engine_rollback(w->f->eng);
                return NULL;
            }
            oms_engine_commit(w->f->eng);
            done += b.n_consumed;
        }
        w->batches++;
    }
    return NULL;
}

static uint64_t s_count_lines(const char *buf)
{
    uint64_t n = 0;
    for (const char *p = buf; *p; p++)
        n += *p == '\n';
    return n;
}

static void test_replay_consistent_while_writer_appends(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(1, "replay-live");
    const char *sec = tu_mkdtemp(2, "replay-sec");
    fx_t f;
    gen_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    s_gen_init(g, 4242);
    fx_init(&f, dir);
    fx_setup(&f);
    s_ref_prices(&f);
    for (int b = 0; b < 200; b++)
        s_gen_batch(g, &f);

    /* Readers open now: a secondary (follows the writer on refresh) and a read-only view. */
    evlog_t *rsec = NULL, *rro = NULL;
    char err[512];
    assert_int_equal(replay_open(dir, sec, &rsec, err, sizeof err), 0);
    assert_int_equal(replay_open(dir, NULL, &rro, err, sizeof err), 0);
    uint64_t start = 0;
    evlog_head(rsec, &start, NULL);
    assert_int_equal(start, oms_engine_head(f.eng));

    writer_t w = {.f = &f, .g = g};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_writer, &w), 0);
    /* Let the writer get going, then read while it appends. */
    while (w.batches < 20 && !w.failed)
        usleep(1000);

    evlog_t *handles[2] = {rsec, rro};
    char *first_dump = NULL;
    for (int h = 0; h < 2; h++) {
        for (int round = 0; round < 2; round++) {
            char *buf = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&buf, &len);
            uint64_t n = 0;
            assert_int_equal(replay_dump(handles[h], NULL, REPLAY_FMT_JSON, m, NULL, &n), 0);
            fclose(m);
            assert_int_equal(n, start);
            assert_int_equal(s_count_lines(buf), start);
            if (first_dump == NULL)
                first_dump = buf;
            else {
                assert_string_equal(buf, first_dump);
                free(buf);
            }
            replay_verify_result_t r;
            assert_int_equal(replay_verify(handles[h], NULL, &r), 0);
            if (!r.ok)
                fprintf(stderr, "verify beside the writer: %s\n", r.reason);
            assert_true(r.ok);
            assert_int_equal(r.head_seq, start);
            assert_int_equal(r.events, start);
        }
    }
    w.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(w.failed, 0);
    uint64_t end = oms_engine_head(f.eng);
    assert_true(end > start);
    /* The secondary catches up on refresh and then sees (and verifies) everything. */
    assert_int_equal(evlog_refresh(rsec), 0);
    replay_verify_result_t r;
    assert_int_equal(replay_verify(rsec, NULL, &r), 0);
    assert_true(r.ok);
    assert_int_equal(r.head_seq, end);
    /* And the first start events dump exactly as before. */
    replay_filter_t flt;
    replay_filter_default(&flt);
    flt.to_seq = start;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(replay_dump(rsec, &flt, REPLAY_FMT_JSON, m, NULL, NULL), 0);
    fclose(m);
    assert_string_equal(buf, first_dump);
    free(buf);
    free(first_dump);
    evlog_destroy(&rsec);
    evlog_destroy(&rro);
    fx_free(&f);
    free(g);
    tu_rmrf(sec);
    tu_rmrf(dir);
}

/* ---- dump ------------------------------------------------------------------------------------ */

/* A minimal JSON syntax check: one value, then the end. Returns the end or NULL. */
static const char *s_json_value(const char *p, int depth);

static const char *s_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *s_json_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *s_json_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    p = s_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = s_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = s_json_string(s_ws(p));
                if (!p)
                    return NULL;
                p = s_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = s_json_value(p, depth + 1);
            if (!p)
                return NULL;
            p = s_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    if (*p == '"')
        return s_json_string(p);
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    const char *s = p;
    if (*p == '-')
        p++;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}

/* Dumps with f into a malloc'd buffer; *n = events written. */
static char *s_dump(evlog_t *log, const replay_filter_t *f, replay_fmt_t fmt, uint64_t *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    assert_int_equal(replay_dump(log, f, fmt, m, NULL, n), 0);
    fclose(m);
    return buf;
}

/* Checks every line of a JSON dump parses and contains each of the needles. */
static uint64_t s_check_json_lines(char *buf, const char *needle1, const char *needle2)
{
    uint64_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *end = s_json_value(line, 0);
        if (!end || *end)
            fprintf(stderr, "not JSON: %s\n", line);
        assert_non_null(end);
        assert_int_equal(*end, '\0');
        assert_true(strncmp(line, "{\"seq\":\"", 8) == 0);
        assert_non_null(strstr(line, ",\"hash\":\""));
        assert_non_null(strstr(line, ",\"event\":{"));
        if (needle1 && !strstr(line, needle1))
            fail_msg("line lacks %s: %s", needle1, line);
        if (needle2 && !strstr(line, needle2))
            fail_msg("line lacks %s: %s", needle2, line);
        n++;
    }
    return n;
}

/* Counts, by a walk of the model events, those a filter predicate selects. */
typedef bool (*pick_fn)(const evlog_record_t *rec, const oms_event_t *ev, const void *arg);

static uint64_t s_count(evlog_t *log, pick_fn fn, const void *arg)
{
    evlog_iter_t *it = NULL;
    assert_int_equal(evlog_iter_new(log, 1, &it), 0);
    oms_arena_t arena;
    assert_int_equal(oms_arena_init(&arena, 1 << 20), 0);
    uint64_t seq, n = 0;
    const uint8_t *v;
    size_t len;
    while (evlog_iter_next(it, &seq, &v, &len) == 1) {
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        oms_event_t ev;
        oms_arena_reset(&arena);
        assert_int_equal(codec_decode_event(rec.body, rec.body_len, &arena, &ev), 0);
        n += fn(&rec, &ev, arg);
    }
    oms_arena_free(&arena);
    evlog_iter_destroy(&it);
    return n;
}

static bool p_filled(const evlog_record_t *rec, const oms_event_t *ev, const void *arg)
{
    (void)rec;
    (void)arg;
    return ev->type == OMS_EV_ORDER_FILLED;
}

static bool p_principal(const evlog_record_t *rec, const oms_event_t *ev, const void *arg)
{
    (void)ev;
    return rec->principal_len == strlen(arg) &&
           memcmp(rec->principal, arg, rec->principal_len) == 0;
}

static bool p_ts(const evlog_record_t *rec, const oms_event_t *ev, const void *arg)
{
    (void)ev;
    const int64_t *b = arg;
    return rec->ts_ns >= b[0] && rec->ts_ns <= b[1];
}

static bool p_account(const evlog_record_t *rec, const oms_event_t *ev, const void *arg)
{
    (void)rec;
    const char *a = "";
    switch (ev->type) {
    case OMS_EV_ACCOUNT_DEFINED:
        a = ev->u.account.account_id;
        break;
    case OMS_EV_ORDER_ACCEPTED:
        a = ev->u.accepted.order.account_id;
        break;
    case OMS_EV_ORDER_FILLED:
        a = ev->u.order.account_id;
        break;
    case OMS_EV_COMMAND_REJECTED:
        if (ev->u.rejected.command && ev->u.rejected.command->type == OMS_CMD_NEW_ORDER)
            a = ev->u.rejected.command->u.new_order.account_id;
        break;
    default:
        break;
    }
    return strcmp(a, arg) == 0;
}

static bool p_instrument_fill(const evlog_record_t *rec, const oms_event_t *ev, const void *arg)
{
    (void)rec;
    return ev->type == OMS_EV_ORDER_FILLED && strcmp(ev->u.order.instrument_id, arg) == 0;
}

static void test_replay_dump_filters_and_formats(void **state)
{
    (void)state;
    evlog_t *log = s_open(s_store);
    uint64_t n = 0;

    /* Everything, as JSON: every line parses; as CSV and text: one line per event. */
    char *buf = s_dump(log, NULL, REPLAY_FMT_JSON, &n);
    assert_int_equal(n, s_head);
    assert_int_equal(s_check_json_lines(buf, NULL, NULL), s_head);
    free(buf);
    buf = s_dump(log, NULL, REPLAY_FMT_CSV, &n);
    assert_int_equal(s_count_lines(buf), s_head + 1);
    assert_true(strncmp(buf, "seq,ts,principal,", 17) == 0);
    free(buf);
    buf = s_dump(log, NULL, REPLAY_FMT_TEXT, &n);
    assert_int_equal(s_count_lines(buf), s_head);
    assert_non_null(strstr(buf, "order_filled"));
    free(buf);

    /* Seq range. */
    replay_filter_t f;
    replay_filter_default(&f);
    f.from_seq = 100;
    f.to_seq = 149;
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    assert_int_equal(n, 50);
    assert_true(strncmp(buf, "{\"seq\":\"100\"", 12) == 0);
    assert_int_equal(s_check_json_lines(buf, NULL, NULL), 50);
    free(buf);

    /* Event type; decimals are exact strings. */
    replay_filter_default(&f);
    assert_int_equal(replay_filter_add_type(&f, "order_filled"), 0);
    assert_int_equal(replay_filter_add_type(&f, "no_such_event"), OMS_ERR_PARSE);
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    uint64_t want = s_count(log, p_filled, NULL);
    assert_true(want > 50);
    assert_int_equal(n, want);
    /* Before the check (strtok_r cuts the buffer): an AAPL fill priced with cents. */
    assert_true(strstr(buf, "\"last_px\":\"10") != NULL || strstr(buf, "\"last_px\":\"50") != NULL);
    assert_null(strstr(buf, "\"last_px\":1")); /* never a JSON number */
    assert_int_equal(s_check_json_lines(buf, "\"type\":\"order_filled\"", "\"last_qty\":\""), want);
    free(buf);
    /* A fill at 100.25 prints exactly "100.25" (the generator uses cent prices on AAPL). */
    replay_filter_default(&f);
    f.instrument_id = "AAPL";
    assert_int_equal(replay_filter_add_type(&f, "200"), 0); /* by number */
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    assert_int_equal(n, s_count(log, p_instrument_fill, "AAPL"));
    {
        /* Every last_px is a decimal string with at most 2 decimals (cent prices). */
        const char *p = buf;
        uint64_t k = 0;
        while ((p = strstr(p, "\"last_px\":\"")) != NULL) {
            p += 11;
            const char *e = strchr(p, '"');
            assert_non_null(e);
            oms_dec_t d;
            assert_int_equal(oms_dec_parse(p, (size_t)(e - p), &d), 0);
            assert_int_equal(d % (OMS_DEC_SCALE / 100), 0);
            const char *dot = memchr(p, '.', (size_t)(e - p));
            assert_true(dot == NULL || e - dot - 1 <= 2);
            k++;
        }
        assert_int_equal(k, n);
    }
    free(buf);

    /* Principal. */
    replay_filter_default(&f);
    f.principal = "pm2";
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    assert_int_equal(n, s_count(log, p_principal, "pm2"));
    assert_true(n > 10);
    assert_int_equal(s_check_json_lines(buf, "\"principal\":\"pm2\"", NULL), n);
    free(buf);

    /* Time range: a window in the middle of the run. */
    uint8_t *v;
    size_t len;
    evlog_record_t r1, r2;
    uint8_t *v2;
    assert_int_equal(evlog_get(log, 300, &v, &len), 0);
    assert_int_equal(evlog_record_parse(v, len, &r1), 0);
    assert_int_equal(evlog_get(log, 600, &v2, &len), 0);
    assert_int_equal(evlog_record_parse(v2, len, &r2), 0);
    int64_t bounds[2] = {r1.ts_ns, r2.ts_ns};
    evlog_free(v);
    evlog_free(v2);
    replay_filter_default(&f);
    f.from_ts_ns = bounds[0];
    f.to_ts_ns = bounds[1];
    buf = s_dump(log, &f, REPLAY_FMT_CSV, &n);
    assert_int_equal(n, s_count(log, p_ts, bounds));
    assert_true(n >= 301);
    free(buf);

    /* Account. */
    replay_filter_default(&f);
    f.account_id = "ACC2";
    buf = s_dump(log, &f, REPLAY_FMT_TEXT, &n);
    uint64_t acc = s_count(log, p_account, "ACC2");
    assert_true(acc > 10);
    assert_true(n >= acc); /* acks etc. carry no account; the others are counted above */
    free(buf);
    buf = s_dump(log, &f, REPLAY_FMT_CSV, &n);
    {
        /* CSV's account column says ACC2 on every row. */
        char *save = NULL;
        uint64_t k = 0;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (k++ == 0)
                continue;
            assert_non_null(strstr(line, ",ACC2,"));
        }
        assert_int_equal(k, n + 1);
    }
    free(buf);

    /* Order: the envelope's order id or the body's. */
    replay_filter_default(&f);
    f.order_id = "O5";
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    assert_true(n >= 1);
    assert_int_equal(s_check_json_lines(buf, "\"O5\"", NULL), n);
    free(buf);

    /* Bad ranges are refused. */
    replay_filter_default(&f);
    f.from_seq = 10;
    f.to_seq = 5;
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(replay_dump(log, &f, REPLAY_FMT_JSON, null, NULL, NULL), OMS_ERR_INVALID);
    fclose(null);
    evlog_destroy(&log);
}

/* Turns an order_filled body (oneof field 200, length-delimited: tag bytes c2 0c) into one of
 * field 450, a type this version does not know: what a newer writer's event looks like. */
static void s_edit_future_type(uint8_t *body, size_t len)
{
    assert_true(len > 2);
    assert_int_equal(body[0], 0xc2);
    assert_int_equal(body[1], 0x0c);
    body[0] = 0x92; /* (450 << 3) | 2 = 3602 = 0x92 0x1c */
    body[1] = 0x1c;
}

static void test_replay_dump_prints_unknown_event_types(void **state)
{
    (void)state;
    uint64_t k = s_first_of(OMS_EV_ORDER_FILLED);
    const char *dir = s_forge(k, s_edit_future_type);
    evlog_t *log = s_open(dir);
    uint64_t n = 0;
    char *buf = s_dump(log, NULL, REPLAY_FMT_JSON, &n);
    assert_int_equal(n, s_head);
    assert_int_equal(s_check_json_lines(buf, NULL, NULL), s_head);
    free(buf);
    replay_filter_t f;
    replay_filter_default(&f);
    f.from_seq = f.to_seq = k;
    buf = s_dump(log, &f, REPLAY_FMT_TEXT, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(buf, "{")); /* the generic JSON stands in for the summary */
    free(buf);
    buf = s_dump(log, &f, REPLAY_FMT_CSV, &n);
    assert_int_equal(n, 1);
    free(buf);
    /* Filters skip it without failing. */
    replay_filter_default(&f);
    assert_int_equal(replay_filter_add_type(&f, "order_filled"), 0);
    f.account_id = "ACC1";
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    free(buf);
    replay_filter_default(&f);
    f.instrument_id = "AAPL";
    buf = s_dump(log, &f, REPLAY_FMT_JSON, &n);
    assert_true(n > 0);
    free(buf);
    evlog_destroy(&log);
    /* This version cannot rebuild past it: verify says so at that seq. */
    replay_verify_result_t r = s_verify(dir, NULL);
    assert_false(r.ok);
    assert_int_equal(r.bad, REPLAY_BAD_EVENT);
    assert_int_equal(r.first_bad_seq, k);
    tu_rmrf(dir);
}

/* ---- order ----------------------------------------------------------------------------------- */

static void test_replay_order_tells_the_whole_story(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(1, "replay-order");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    /* A single order: accepted, acked, part filled, replaced up, filled, a refused cancel. */
    fx_ok(&f, "pm", fx_new_order("ORD-1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "101.25"));
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "ORD-1"));
    fx_ok(&f, "venue", fx_fill("ORD-1", "EX-1", "40", "101.25"));
    oms_cmd_t rep = fx_simple(OMS_CMD_REPLACE_ORDER, "ORD-1");
    oms_strlcpy(rep.u.replace.new_cl_ord_id, "ORD-1-R1", OMS_ID_CAP);
    rep.u.replace.qty = (oms_opt_dec_t){true, D("150")};
    fx_ok(&f, "trader", rep);
    oms_cmd_t rack = fx_simple(OMS_CMD_VENUE_REPLACE_ACK, "ORD-1");
    oms_strlcpy(rack.u.report.h.cl_ord_id, "ORD-1-R1", OMS_ID_CAP);
    fx_ok(&f, "venue", rack);
    fx_ok(&f, "venue", fx_fill("ORD-1", "EX-2", "110", "101.2"));
    oms_cmd_t cxl = fx_simple(OMS_CMD_CANCEL_ORDER, "ORD-1");
    oms_strlcpy(cxl.u.cancel.cl_ord_id, "ORD-1-C1", OMS_ID_CAP);
    fx_rejected(&f, "trader", cxl, NULL);
    /* A block, filled and allocated. */
    oms_cmd_t blk = fx_new_order("BLK-1", "", "AAPL", OMS_SIDE_BUY, "30", "100");
    oms_alloc_instr_t in[2] = {{"ACC1", true, D("1")}, {"ACC2", true, D("2")}};
    blk.u.new_order.allocs = in;
    blk.u.new_order.n_allocs = 2;
    fx_ok(&f, "pm", blk);
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "BLK-1"));
    fx_ok(&f, "venue", fx_fill("BLK-1", "EX-3", "30", "99.5"));
    oms_cmd_t al = fx_simple(OMS_CMD_ALLOCATE, "BLK-1");
    oms_strlcpy(al.u.allocate.alloc_id, "AL-1", OMS_ID_CAP);
    fx_ok(&f, "ops", al);
    fx_free(&f);

    evlog_t *log = s_open(dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(replay_order(log, "ORD-1", REPLAY_FMT_TEXT, m, NULL), 0);
    fclose(m);
    static const char *const want[] = {"order_accepted",
                                       "order_acknowledged",
                                       "EX-1",
                                       "replace_requested",
                                       "order_replaced",
                                       "EX-2",
                                       "command_rejected",
                                       "cancel_order refused",
                                       "trader",
                                       "ClOrdID chain: ORD-1 -> ORD-1-R1",
                                       "FILLED",
                                       "avg_px=101.21333333",
                                       "execution"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i]))
            fail_msg("order story lacks '%s':\n%s", want[i], buf);
    /* Events in seq order, each with its principal. */
    assert_true(strstr(buf, "order_accepted") < strstr(buf, "order_replaced"));
    assert_non_null(strstr(buf, " pm "));
    free(buf);

    m = open_memstream(&buf, &len);
    assert_int_equal(replay_order(log, "BLK-1", REPLAY_FMT_JSON, m, NULL), 0);
    fclose(m);
    assert_non_null(strstr(buf, "\"type\":\"allocation_booked\""));
    assert_non_null(strstr(buf, "{\"order\":{\"order_id\":\"BLK-1\""));
    assert_non_null(strstr(buf, "{\"allocation\":{"));
    assert_non_null(strstr(buf, "{\"execution\":{"));
    assert_non_null(strstr(buf, "\"99.5\""));
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *end = s_json_value(line, 0);
        assert_non_null(end);
        assert_int_equal(*end, '\0');
    }
    free(buf);

    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(replay_order(log, "NO-SUCH", REPLAY_FMT_TEXT, null, NULL), OMS_ERR_NOT_FOUND);
    fclose(null);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* ---- checkpoint ------------------------------------------------------------------------------ */

static void test_replay_checkpoint_copy_verifies(void **state)
{
    (void)state;
    const char *parent = tu_mkdtemp(1, "replay-cp");
    char cp[600];
    snprintf(cp, sizeof cp, "%s/archive", parent);
    evlog_t *log = s_open(s_store);
    int rc = replay_checkpoint(log, cp);
    if (rc)
        fprintf(stderr, "checkpoint: %s\n", evlog_errmsg(log));
    assert_int_equal(rc, 0);
    assert_int_equal(replay_checkpoint(log, cp), OMS_ERR_EXISTS);
    evlog_destroy(&log);
    replay_verify_result_t r = s_verify(cp, NULL);
    assert_true(r.ok);
    assert_int_equal(r.head_seq, s_head);
    tu_rmrf(parent);
}

/* ---- the executable -------------------------------------------------------------------------- */

static int s_run_tool(const char *const *args, const char *out_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[16];
        int n = 0;
        argv[n++] = OMS_REPLAY_PATH;
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        FILE *o = freopen(out_path ? out_path : "/dev/null", "w", stdout);
        FILE *e = freopen("/dev/null", "w", stderr);
        (void)o;
        (void)e;
        execv(OMS_REPLAY_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_replay_tool_exit_codes(void **state)
{
    (void)state;
    const char *help[] = {"--help", NULL};
    assert_int_equal(s_run_tool(help, NULL), 0);
    const char *bad[] = {"--store", s_store, "frobnicate", NULL};
    assert_int_equal(s_run_tool(bad, NULL), 2);
    const char *bad_opt[] = {"--store", s_store, "dump", "--from-seq", "x", NULL};
    assert_int_equal(s_run_tool(bad_opt, NULL), 2);
    const char *wrong_cmd[] = {"--store", s_store, "dump", "--seq", "5", NULL};
    assert_int_equal(s_run_tool(wrong_cmd, NULL), 2);
    const char *wrong_cmd2[] = {"--store", s_store, "state", "--account", "ACC1", NULL};
    assert_int_equal(s_run_tool(wrong_cmd2, NULL), 2);
    const char *ok[] = {"--store", s_store, "--quiet", "verify", NULL};
    const char *out = tu_mkdtemp(3, "replay-out");
    char path[600];
    snprintf(path, sizeof path, "%s/out.txt", out);
    assert_int_equal(s_run_tool(ok, path), 0);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(text, "verify: OK"));
    assert_non_null(strstr(text, "anchor to record: "));
    const char *one_thread[] = {"--store", s_store, "--quiet", "verify", "--threads", "1", NULL};
    assert_int_equal(s_run_tool(one_thread, NULL), 0);
    const char *no_threads[] = {"--store", s_store, "verify", "--threads", "0", NULL};
    assert_int_equal(s_run_tool(no_threads, NULL), 2);
    const char *many_threads[] = {"--store", s_store, "verify", "--threads", "17", NULL};
    assert_int_equal(s_run_tool(many_threads, NULL), 2);
    const char *missing[] = {"--store", "/nonexistent/oms-store", "verify", NULL};
    assert_int_equal(s_run_tool(missing, NULL), 3);
    /* The store as the last argument (how oms-bench soak calls it), not twice. */
    const char *positional[] = {"--quiet", "verify", s_store, NULL};
    assert_int_equal(s_run_tool(positional, NULL), 0);
    const char *order_pos[] = {"order", "O5", s_store, NULL};
    assert_int_equal(s_run_tool(order_pos, NULL), 0);
    const char *twice[] = {"--store", s_store, "verify", s_store, NULL};
    assert_int_equal(s_run_tool(twice, NULL), 2);
    const char *no_order[] = {"--store", s_store, "order", "NOPE-NOPE", NULL};
    assert_int_equal(s_run_tool(no_order, NULL), 1);
    const char *st[] = {"--store", s_store, "state", "--seq", "50", "--format", "csv", NULL};
    assert_int_equal(s_run_tool(st, NULL), 0);
    const char *dump[] = {"--store",      s_store,    "dump", "--type",
                          "order_filled", "--format", "text", NULL};
    assert_int_equal(s_run_tool(dump, NULL), 0);
    /* state as of a time before the first event: nothing yet. */
    const char *early[] = {"--store", s_store, "state", "--time", "2020-01-01", NULL};
    assert_int_equal(s_run_tool(early, path), 0);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(text, "orders as of seq 0 (0)"));
    /* state as of a seq, as JSON: the rows as of then. */
    const char *at50[] = {"--store", s_store,  "state",    "--seq", "50",
                          "--what",  "orders", "--format", "json",  NULL};
    assert_int_equal(s_run_tool(at50, path), 0);

    const char *dir = s_copy();
    uint8_t key[8];
    s_key(key, 77);
    assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    const char *damaged[] = {"--store", dir, "verify", "--format", "json", NULL};
    assert_int_equal(s_run_tool(damaged, path), 1);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(text, "\"first_bad_seq\":\"77\""));
    tu_rmrf(dir);
    tu_rmrf(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_verify_intact_store),
        cmocka_unit_test(test_replay_verify_catches_flipped_byte),
        cmocka_unit_test(test_replay_verify_accepts_unknown_envelope_fields),
        cmocka_unit_test(test_replay_verify_catches_deleted_event),
        cmocka_unit_test(test_replay_verify_catches_swapped_events),
        cmocka_unit_test(test_replay_verify_catches_truncated_tail),
        cmocka_unit_test(test_replay_verify_catches_changed_projection_row),
        cmocka_unit_test(test_replay_verify_checks_index_rows),
        cmocka_unit_test(test_replay_verify_catches_altered_anchor),
        cmocka_unit_test(test_replay_verify_catches_forged_chain_by_rebuild),
        cmocka_unit_test(test_replay_verify_long_log_reports_the_first_of_several_faults),
        cmocka_unit_test(test_replay_size_hint_wrong_gives_same_rows),
        cmocka_unit_test(test_replay_state_matches_live_state_at_every_seq),
        cmocka_unit_test(test_replay_consistent_while_writer_appends),
        cmocka_unit_test(test_replay_dump_filters_and_formats),
        cmocka_unit_test(test_replay_dump_prints_unknown_event_types),
        cmocka_unit_test(test_replay_order_tells_the_whole_story),
        cmocka_unit_test(test_replay_checkpoint_copy_verifies),
        cmocka_unit_test(test_replay_tool_exit_codes),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
