/*
 * test_engine.c - proves the order lifecycle through the engine: the whole transition matrix
 * (every status by every trigger: valid pairs reach the table's status, all others are refused
 * with a reason and change nothing), exact arithmetic (average price, P&L through zero, futures
 * multiplier, busts), allocations (largest remainder, sums, reversal), every pre-trade rule at
 * its exact boundary, entitlements and four-eyes, idempotency (also after a restart), and
 * batch rollback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "enginefix.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- transition matrix ---------------------------------------------------------------------- */

typedef enum {
    T_RELEASE,
    T_CANCEL,
    T_REPLACE,
    T_ACK,
    T_VENUE_REJECT,
    T_FILL,
    T_CANCEL_ACK,
    T_CANCEL_REJECT,
    T_REPLACE_ACK,
    T_REPLACE_REJECT,
    T_EXPIRE,
    T_DFD,
    T_BUST,
    T_CORRECT,
    T_COUNT
} trigger_t;

static const char *s_trigger_name[T_COUNT] = {
    "release", "cancel",       "replace",       "ack",         "venue_reject",
    "fill",    "cancel_ack",   "cancel_reject", "replace_ack", "replace_reject",
    "expire",  "done_for_day", "bust",          "correct",
};

static const oms_ord_status_t s_states[] = {
    OMS_ST_PENDING_RELEASE,  OMS_ST_PENDING_NEW,     OMS_ST_NEW,
    OMS_ST_PARTIALLY_FILLED, OMS_ST_FILLED,          OMS_ST_DONE_FOR_DAY,
    OMS_ST_CANCELED,         OMS_ST_PENDING_CANCEL,  OMS_ST_REJECTED,
    OMS_ST_EXPIRED,          OMS_ST_PENDING_REPLACE,
};

/* Builds order "O" in the given status. Paths that have fills use exec "f1" (40 of 100, or
 * 100 of 100 for FILLED). */
static void s_reach(fx_t *f, oms_ord_status_t st)
{
    bool staged = st == OMS_ST_PENDING_RELEASE;
    fx_ok(f, "pm", fx_new_order("O", staged ? "FE" : "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    if (staged || st == OMS_ST_PENDING_NEW)
        return;
    if (st == OMS_ST_REJECTED) {
        fx_ok(f, "venue", fx_simple(OMS_CMD_VENUE_REJECT, "O"));
        return;
    }
    fx_ok(f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "O"));
    if (st == OMS_ST_NEW)
        return;
    fx_ok(f, "venue", fx_fill("O", "f1", st == OMS_ST_FILLED ? "100" : "40", "10"));
    oms_cmd_t c;
    switch (st) {
    case OMS_ST_DONE_FOR_DAY:
        fx_ok(f, "venue", fx_simple(OMS_CMD_VENUE_DONE_FOR_DAY, "O"));
        break;
    case OMS_ST_EXPIRED:
        fx_ok(f, "venue", fx_simple(OMS_CMD_VENUE_EXPIRE, "O"));
        break;
    case OMS_ST_PENDING_CANCEL:
    case OMS_ST_CANCELED:
        c = fx_simple(OMS_CMD_CANCEL_ORDER, "O");
        oms_strlcpy(c.u.cancel.cl_ord_id, "O-cxl", OMS_ID_CAP);
        fx_ok(f, "trader", c);
        if (st == OMS_ST_CANCELED)
            fx_ok(f, "venue", fx_simple(OMS_CMD_VENUE_CANCEL_ACK, "O"));
        break;
    case OMS_ST_PENDING_REPLACE:
        c = fx_simple(OMS_CMD_REPLACE_ORDER, "O");
        oms_strlcpy(c.u.replace.new_cl_ord_id, "O-r1", OMS_ID_CAP);
        c.u.replace.qty = (oms_opt_dec_t){true, D("200")};
        fx_ok(f, "trader", c);
        break;
    default:
        break;
    }
    assert_int_equal(fx_order(f, "O")->status, st);
}

static oms_cmd_t s_trigger(trigger_t t, const char **who)
{
    oms_cmd_t c;
    *who = "venue";
    switch (t) {
    case T_RELEASE:
        *who = "trader";
        return fx_simple(OMS_CMD_RELEASE_ORDER, "O");
    case T_CANCEL:
        *who = "trader";
        c = fx_simple(OMS_CMD_CANCEL_ORDER, "O");
        oms_strlcpy(c.u.cancel.cl_ord_id, "O-cxl2", OMS_ID_CAP);
        return c;
    case T_REPLACE:
        *who = "trader";
        c = fx_simple(OMS_CMD_REPLACE_ORDER, "O");
        oms_strlcpy(c.u.replace.new_cl_ord_id, "O-r2", OMS_ID_CAP);
        c.u.replace.price = (oms_opt_dec_t){true, D("10.5")};
        return c;
    case T_ACK:
        return fx_simple(OMS_CMD_VENUE_ACK, "O");
    case T_VENUE_REJECT:
        return fx_simple(OMS_CMD_VENUE_REJECT, "O");
    case T_FILL:
        return fx_fill("O", "f2", "10", "10");
    case T_CANCEL_ACK:
        return fx_simple(OMS_CMD_VENUE_CANCEL_ACK, "O");
    case T_CANCEL_REJECT:
        return fx_simple(OMS_CMD_VENUE_CANCEL_REJECT, "O");
    case T_REPLACE_ACK:
        return fx_simple(OMS_CMD_VENUE_REPLACE_ACK, "O");
    case T_REPLACE_REJECT:
        return fx_simple(OMS_CMD_VENUE_REPLACE_REJECT, "O");
    case T_EXPIRE:
        return fx_simple(OMS_CMD_VENUE_EXPIRE, "O");
    case T_DFD:
        return fx_simple(OMS_CMD_VENUE_DONE_FOR_DAY, "O");
    case T_BUST:
        c = fx_simple(OMS_CMD_TRADE_BUST, "O");
        oms_strlcpy(c.u.report.h.exec_id, "b1", OMS_ID_CAP);
        oms_strlcpy(c.u.report.ref_exec_id, "f1", OMS_ID_CAP);
        return c;
    case T_CORRECT:
        c = fx_simple(OMS_CMD_TRADE_CORRECT, "O");
        oms_strlcpy(c.u.report.h.exec_id, "k1", OMS_ID_CAP);
        oms_strlcpy(c.u.report.ref_exec_id, "f1", OMS_ID_CAP);
        c.u.report.last_qty = D("30");
        c.u.report.last_px = D("11");
        return c;
    default:
        break;
    }
    fail();
    return c;
}

static bool s_has_fill(oms_ord_status_t s)
{
    return s != OMS_ST_PENDING_RELEASE && s != OMS_ST_PENDING_NEW && s != OMS_ST_NEW &&
           s != OMS_ST_REJECTED;
}

/* The table (docs/RULES.md): the status a trigger leads to, or OMS_ST_NONE when refused. */
static oms_ord_status_t s_expected(oms_ord_status_t s, trigger_t t)
{
    bool live = s == OMS_ST_PENDING_NEW || s == OMS_ST_NEW || s == OMS_ST_PARTIALLY_FILLED;
    bool late = s == OMS_ST_CANCELED || s == OMS_ST_EXPIRED || s == OMS_ST_DONE_FOR_DAY ||
                s == OMS_ST_REJECTED;
    switch (t) {
    case T_RELEASE:
        return s == OMS_ST_PENDING_RELEASE ? OMS_ST_PENDING_NEW : OMS_ST_NONE;
    case T_CANCEL:
        return s == OMS_ST_PENDING_RELEASE ? OMS_ST_CANCELED
               : live                      ? OMS_ST_PENDING_CANCEL
                                           : OMS_ST_NONE;
    case T_REPLACE:
        return live ? OMS_ST_PENDING_REPLACE : OMS_ST_NONE;
    case T_ACK:
        return s == OMS_ST_PENDING_NEW ? OMS_ST_NEW : OMS_ST_NONE;
    case T_VENUE_REJECT:
        return s == OMS_ST_PENDING_NEW ? OMS_ST_REJECTED : OMS_ST_NONE;
    case T_FILL: /* 10 more on top of what the path filled */
        if (s == OMS_ST_PENDING_RELEASE)
            return OMS_ST_NONE;
        if (late || s == OMS_ST_FILLED || s == OMS_ST_PENDING_CANCEL || s == OMS_ST_PENDING_REPLACE)
            return s;
        return OMS_ST_PARTIALLY_FILLED;
    case T_CANCEL_ACK:
        return s == OMS_ST_PENDING_CANCEL ? OMS_ST_CANCELED : OMS_ST_NONE;
    case T_CANCEL_REJECT:
        return s == OMS_ST_PENDING_CANCEL ? OMS_ST_PARTIALLY_FILLED : OMS_ST_NONE;
    case T_REPLACE_ACK:
    case T_REPLACE_REJECT:
        return s == OMS_ST_PENDING_REPLACE ? OMS_ST_PARTIALLY_FILLED : OMS_ST_NONE;
    case T_EXPIRE:
        return s == OMS_ST_NEW || s == OMS_ST_PARTIALLY_FILLED ? OMS_ST_EXPIRED : OMS_ST_NONE;
    case T_DFD:
        return s == OMS_ST_NEW || s == OMS_ST_PARTIALLY_FILLED ? OMS_ST_DONE_FOR_DAY : OMS_ST_NONE;
    case T_BUST: /* the only fill goes: live orders go back to NEW, others keep their status */
        if (!s_has_fill(s))
            return OMS_ST_NONE;
        return s == OMS_ST_PARTIALLY_FILLED || s == OMS_ST_FILLED ? OMS_ST_NEW : s;
    case T_CORRECT: /* f1 becomes 30 @ 11 */
        if (!s_has_fill(s))
            return OMS_ST_NONE;
        return s == OMS_ST_FILLED ? OMS_ST_PARTIALLY_FILLED : s;
    default:
        break;
    }
    return OMS_ST_NONE;
}

static void test_engine_transition_matrix(void **state)
{
    (void)state;
    int valid = 0, refused = 0;
    for (size_t si = 0; si < sizeof s_states / sizeof s_states[0]; si++) {
        for (int t = 0; t < T_COUNT; t++) {
            fx_t f;
            fx_init(&f, NULL);
            fx_setup(&f);
            oms_ord_status_t from = s_states[si];
            s_reach(&f, from);
            size_t before_len, after_len;
            uint8_t *before = fx_rows(f.eng, &before_len);
            uint64_t head_before = oms_engine_head(f.eng);
            const char *who;
            oms_cmd_t c = s_trigger((trigger_t)t, &who);
            oms_reply_status_t st = fx_run(&f, who, &c);
            oms_ord_status_t want = s_expected(from, (trigger_t)t);
            const proj_order_t *o = fx_order(&f, "O");
            if (want == OMS_ST_NONE) {
                if (st != OMS_REPLY_REJECTED)
                    fprintf(stderr, "%s + %s: expected a refusal, got %d (status %s)\n",
                            oms_status_name(from), s_trigger_name[t], st,
                            oms_status_name(o->status));
                assert_int_equal(st, OMS_REPLY_REJECTED);
                assert_true(f.last.reject_reason != OMS_RR_NONE);
                assert_true(strlen(f.last.text) > 0);
                /* One rejection event, and nothing else changed. */
                assert_int_equal(oms_engine_head(f.eng), head_before + 1);
                assert_int_equal(f.last_ev[0].type, OMS_EV_COMMAND_REJECTED);
                uint8_t *after = fx_rows(f.eng, &after_len);
                assert_int_equal(before_len, after_len);
                assert_memory_equal(before, after, before_len);
                free(after);
                refused++;
            } else {
                if (st != OMS_REPLY_ACCEPTED || o->status != want)
                    fprintf(stderr, "%s + %s: expected %s, got reply %d status %s (%s %s)\n",
                            oms_status_name(from), s_trigger_name[t], oms_status_name(want), st,
                            oms_status_name(o->status), f.last.rule_id, f.last.text);
                assert_int_equal(st, OMS_REPLY_ACCEPTED);
                assert_int_equal(o->status, want);
                valid++;
            }
            free(before);
            fx_free(&f);
        }
    }
    printf("transition matrix: %d valid, %d refused\n", valid, refused);
    assert_int_equal(valid + refused, (int)(sizeof s_states / sizeof s_states[0]) * T_COUNT);
}

/* ---- arithmetic -------------------------------------------------------------------------------
 */

static void test_engine_average_price_is_exact(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("A1", "ACC1", "AAPL", OMS_SIDE_BUY, "200", "20"));
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "A1"));
    fx_ok(&f, "venue", fx_fill("A1", "e1", "100", "10"));
    fx_ok(&f, "venue", fx_fill("A1", "e2", "100", "20"));
    const proj_order_t *o = fx_order(&f, "A1");
    assert_int_equal(o->status, OMS_ST_FILLED);
    assert_int_equal(o->cum, D("200"));
    assert_int_equal(o->leaves, 0);
    oms_opt_dec_t avg = proj_order_avg_px(o);
    assert_true(avg.set);
    assert_int_equal(avg.v, D("15"));
    /* The OrderFilled event carries the same display price. */
    assert_int_equal(f.last_ev[0].type, OMS_EV_ORDER_FILLED);
    assert_int_equal(f.last_ev[0].u.order.avg_px.v, D("15"));
    const proj_position_t *p = fx_pos(&f, "ACC1", "AAPL");
    assert_int_equal(p->qty, D("200"));
    assert_int_equal(proj_position_avg_cost(p), D("15"));

    /* A bust restores cum, leaves and the average price. */
    oms_cmd_t b = fx_simple(OMS_CMD_TRADE_BUST, "A1");
    oms_strlcpy(b.u.report.h.exec_id, "bx", OMS_ID_CAP);
    oms_strlcpy(b.u.report.ref_exec_id, "e2", OMS_ID_CAP);
    fx_ok(&f, "venue", b);
    o = fx_order(&f, "A1");
    assert_int_equal(o->status, OMS_ST_PARTIALLY_FILLED);
    assert_int_equal(o->cum, D("100"));
    assert_int_equal(o->leaves, D("100"));
    assert_int_equal(proj_order_avg_px(o).v, D("10"));
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->qty, D("100"));
    assert_int_equal(proj_position_avg_cost(fx_pos(&f, "ACC1", "AAPL")), D("10"));
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->realized_pnl, 0); /* as if it never happened */
    /* A correction re-prices history the same way: e1 becomes 100 @ 12. */
    oms_cmd_t k = fx_simple(OMS_CMD_TRADE_CORRECT, "A1");
    oms_strlcpy(k.u.report.h.exec_id, "kx", OMS_ID_CAP);
    oms_strlcpy(k.u.report.ref_exec_id, "e1", OMS_ID_CAP);
    k.u.report.last_qty = D("100");
    k.u.report.last_px = D("12");
    fx_ok(&f, "venue", k);
    assert_int_equal(proj_order_avg_px(fx_order(&f, "A1")).v, D("12"));
    assert_int_equal(proj_position_avg_cost(fx_pos(&f, "ACC1", "AAPL")), D("12"));
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->realized_pnl, 0);
    /* Busting it again is refused. */
    oms_strlcpy(b.u.report.h.exec_id, "bx2", OMS_ID_CAP);
    fx_rejected(&f, "venue", b, "EXE-004");
    fx_free(&f);
}

static void test_engine_sell_through_zero_realizes_pnl(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("B1", "SHORTY", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_fill("B1", "e1", "100", "10"));
    fx_ok(&f, "pm", fx_new_order("S1", "SHORTY", "AAPL", OMS_SIDE_SELL_SHORT, "150", "30"));
    fx_ok(&f, "venue", fx_fill("S1", "e2", "150", "30"));
    const proj_position_t *p = fx_pos(&f, "SHORTY", "AAPL");
    assert_int_equal(p->qty, D("-50"));
    assert_int_equal(p->realized_pnl, D("2000"));
    assert_int_equal(proj_position_avg_cost(p), D("30"));
    fx_free(&f);
}

static void test_engine_futures_use_the_multiplier(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("F1", "ACC1", "ESZ6", OMS_SIDE_BUY, "2", "4000"));
    fx_ok(&f, "venue", fx_fill("F1", "e1", "2", "4000"));
    fx_ok(&f, "pm", fx_new_order("F2", "ACC1", "ESZ6", OMS_SIDE_SELL, "2", "4010.25"));
    fx_ok(&f, "venue", fx_fill("F2", "e2", "2", "4010.25"));
    const proj_position_t *p = fx_pos(&f, "ACC1", "ESZ6");
    assert_int_equal(p->qty, 0);
    assert_int_equal(p->realized_pnl, D("1025")); /* 10.25 x 2 x 50 */
    fx_free(&f);
}

/* ---- allocations -------------------------------------------------------------------------------
 */

static oms_cmd_t s_block(const char *id, const char *qty, oms_alloc_instr_t *ins, uint32_t n)
{
    oms_cmd_t c = fx_new_order(id, "", "AAPL", OMS_SIDE_BUY, qty, "50");
    c.u.new_order.allocs = ins;
    c.u.new_order.n_allocs = n;
    return c;
}

static void test_engine_allocation_largest_remainder(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    oms_alloc_instr_t ins[3] = {
        {"ACC3", true, D("1")}, {"ACC1", true, D("1")}, {"ACC2", true, D("1")}};
    fx_ok(&f, "pm", s_block("BLK", "1000", ins, 3));
    fx_ok(&f, "venue", fx_fill("BLK", "e1", "600", "50"));
    fx_ok(&f, "venue", fx_fill("BLK", "e2", "400", "51"));
    assert_int_equal(fx_pos(&f, "", "AAPL")->qty, D("1000"));
    oms_cmd_t a = fx_simple(OMS_CMD_ALLOCATE, "BLK");
    oms_strlcpy(a.u.allocate.alloc_id, "A1", OMS_ID_CAP);
    fx_ok(&f, "ops", a);
    const proj_alloc_t *al = proj_alloc(oms_engine_state(f.eng), "BLK", "A1");
    assert_non_null(al);
    assert_int_equal(al->status, OMS_ALLOC_ST_BOOKED);
    assert_int_equal(al->qty, D("1000"));
    assert_int_equal(al->avg_px, D("50.4"));
    /* 334 / 333 / 333, the extra lot to the smallest account id. */
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->qty, D("334"));
    assert_int_equal(fx_pos(&f, "ACC2", "AAPL")->qty, D("333"));
    assert_int_equal(fx_pos(&f, "ACC3", "AAPL")->qty, D("333"));
    assert_int_equal(fx_pos(&f, "", "AAPL")->qty, 0);
    oms_dec_t sum = 0;
    for (uint32_t pi = al->first_part; pi != PROJ_NIL;) {
        const proj_part_t *p = proj_at(oms_engine_state(f.eng), PROJ_T_PART, pi);
        sum += p->part.qty;
        assert_int_equal(p->part.px, D("50.4"));
        pi = p->next;
    }
    assert_int_equal(sum, D("1000"));
    /* Nothing left: a second allocation is recorded as rejected. */
    oms_strlcpy(a.u.allocate.alloc_id, "A2", OMS_ID_CAP);
    a.command_id[0] = '\0';
    fx_rejected(&f, "ops", a, "ALC-004");
    /* The same alloc id again is a duplicate. */
    a.command_id[0] = '\0';
    fx_rejected(&f, "ops", a, "ALC-002");

    /* Reversal puts everything back into the unallocated position. */
    oms_cmd_t r = fx_simple(OMS_CMD_REVERSE_ALLOCATION, "BLK");
    oms_strlcpy(r.u.reverse.alloc_id, "A1", OMS_ID_CAP);
    fx_ok(&f, "ops", r);
    assert_int_equal(fx_pos(&f, "", "AAPL")->qty, D("1000"));
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->qty, 0);
    assert_int_equal(fx_order(&f, "BLK")->allocated_qty, 0);
    r.command_id[0] = '\0';
    fx_rejected(&f, "ops", r, "ALC-007");
    /* And it can be allocated again, now with explicit quantities. */
    oms_alloc_instr_t q[2] = {{"ACC1", false, D("700")}, {"ACC2", false, D("300")}};
    oms_cmd_t a3 = fx_simple(OMS_CMD_ALLOCATE, "BLK");
    oms_strlcpy(a3.u.allocate.alloc_id, "A3", OMS_ID_CAP);
    a3.u.allocate.allocs = q;
    a3.u.allocate.n_allocs = 2;
    fx_ok(&f, "ops", a3);
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->qty, D("700"));
    assert_int_equal(fx_pos(&f, "ACC2", "AAPL")->qty, D("300"));
    /* Single-account orders cannot be allocated. */
    fx_ok(&f, "pm", fx_new_order("SGL", "ACC1", "AAPL", OMS_SIDE_BUY, "10", "50"));
    oms_cmd_t a4 = fx_simple(OMS_CMD_ALLOCATE, "SGL");
    oms_strlcpy(a4.u.allocate.alloc_id, "X", OMS_ID_CAP);
    fx_rejected(&f, "ops", a4, "ALC-001");
    fx_free(&f);
}

/* ---- pre-trade checks at their boundaries
 * -------------------------------------------------------- */

static void s_limits(fx_t *f, oms_limit_scope_t scope, const char *acct, const char *field,
                     const char *value)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_SET_LIMITS;
    oms_limits_def_t *l = &c.u.limits;
    l->scope = scope;
    oms_strlcpy(l->account_id, acct, OMS_ID_CAP);
    oms_opt_dec_t v = {true, D(value)};
    if (strcmp(field, "qty") == 0)
        l->max_order_qty = v;
    else if (strcmp(field, "notional") == 0)
        l->max_order_notional = v;
    else if (strcmp(field, "long") == 0)
        l->max_position_long = v;
    else if (strcmp(field, "short") == 0)
        l->max_position_short = v;
    else
        l->collar_pct = v;
    fx_ok(f, "comp", c);
}

static int s_oid;

static oms_cmd_t s_order(const char *acct, oms_side_t side, const char *qty, const char *px)
{
    char id[32];
    snprintf(id, sizeof id, "P%d", ++s_oid);
    return fx_new_order(id, acct, "AAPL", side, qty, px);
}

static void test_engine_pretrade_rules_at_their_boundaries(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    /* PTC-001 instrument known and active */
    oms_cmd_t c = s_order("ACC1", OMS_SIDE_BUY, "1", "10");
    oms_strlcpy(c.u.new_order.instrument_id, "NOPE", OMS_ID_CAP);
    fx_rejected(&f, "pm", c, "PTC-001");
    /* PTC-002 account known */
    fx_rejected(&f, "pm", s_order("NOPE", OMS_SIDE_BUY, "1", "10"), "PTC-002");
    /* PTC-003 lot: ESZ6 lot 1 -> 1.5 refused, 1 accepted (AAPL lot 1 as well) */
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1.5", "10"), "PTC-003");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1", "10"));
    /* PTC-004 tick 0.01 */
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1", "10.005"), "PTC-004");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1", "10.01"));
    /* PTC-005 restricted, firm-wide and per account */
    oms_cmd_t r;
    memset(&r, 0, sizeof r);
    r.type = OMS_CMD_SET_RESTRICTED;
    oms_strlcpy(r.u.restriction.instrument_id, "AAPL", OMS_ID_CAP);
    oms_strlcpy(r.u.restriction.account_id, "ACC2", OMS_ID_CAP);
    r.u.restriction.restricted = true;
    fx_ok(&f, "comp", r);
    fx_rejected(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "1", "10"), "PTC-005");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1", "10"));
    r.u.restriction.restricted = false;
    r.command_id[0] = '\0';
    fx_ok(&f, "comp", r);
    fx_ok(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "1", "10"));
    /* PTC-006 max qty 1000: 1000 passes, 1001 fails; the rejection names limit and value */
    s_limits(&f, OMS_SCOPE_ACCOUNT, "ACC3", "qty", "1000");
    fx_ok(&f, "pm", s_order("ACC3", OMS_SIDE_BUY, "1000", "0.01"));
    fx_rejected(&f, "pm", s_order("ACC3", OMS_SIDE_BUY, "1001", "0.01"), "PTC-006");
    assert_int_equal(f.last_ev[0].u.rejected.limit_value.v, D("1000"));
    assert_int_equal(f.last_ev[0].u.rejected.actual_value.v, D("1001"));
    /* PTC-007 max notional 10,000 (firm): 1000 x 10 passes, 1000 x 10.01 fails */
    s_limits(&f, OMS_SCOPE_FIRM, "", "notional", "10000");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1000", "10"));
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "1000", "10.01"), "PTC-007");
    assert_int_equal(f.last_ev[0].u.rejected.actual_value.v, D("10010"));
    /* PTC-008 collar 5% around reference 100: 105 passes, 105.01 fails, 94.99 fails */
    oms_cmd_t rp;
    memset(&rp, 0, sizeof rp);
    rp.type = OMS_CMD_SET_REFERENCE_PRICE;
    oms_strlcpy(rp.u.ref_price.instrument_id, "AAPL", OMS_ID_CAP);
    rp.u.ref_price.price = D("100");
    fx_ok(&f, "admin", rp);
    s_limits(&f, OMS_SCOPE_ACCOUNT, "ACC2", "collar", "0.05");
    fx_ok(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "1", "105"));
    fx_ok(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "1", "95"));
    fx_rejected(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "1", "105.01"), "PTC-008");
    fx_rejected(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "1", "94.99"), "PTC-008");
    /* PTC-009 projected position counts open leaves: long limit 300 on SHORTY */
    s_limits(&f, OMS_SCOPE_ACCOUNT, "SHORTY", "long", "300");
    fx_ok(&f, "pm", s_order("SHORTY", OMS_SIDE_BUY, "200", "1"));
    fx_ok(&f, "pm", s_order("SHORTY", OMS_SIDE_BUY, "100", "1")); /* 300: at the limit */
    fx_rejected(&f, "pm", s_order("SHORTY", OMS_SIDE_BUY, "1", "1"), "PTC-009");
    assert_int_equal(f.last_ev[0].u.rejected.actual_value.v, D("301"));
    /* PTC-009 short side: max short 5 on SHORTY; open sells count (SHORTY is flat) */
    s_limits(&f, OMS_SCOPE_ACCOUNT, "SHORTY", "short", "5");
    fx_ok(&f, "pm", s_order("SHORTY", OMS_SIDE_SELL_SHORT, "3", "1"));
    fx_ok(&f, "pm", s_order("SHORTY", OMS_SIDE_SELL_SHORT, "2", "1")); /* 5: at the limit */
    fx_rejected(&f, "pm", s_order("SHORTY", OMS_SIDE_SELL_SHORT, "1", "1"), "PTC-009");
    assert_int_equal(f.last_ev[0].u.rejected.limit_value.v, D("5"));
    assert_int_equal(f.last_ev[0].u.rejected.actual_value.v, D("6"));
    s_limits(&f, OMS_SCOPE_ACCOUNT, "SHORTY", "short", "1000");
    /* PTC-001 / PTC-002 inactive instrument and account */
    oms_cmd_t ia;
    memset(&ia, 0, sizeof ia);
    ia.type = OMS_CMD_DEFINE_ACCOUNT;
    oms_strlcpy(ia.u.account.account_id, "SLEEP", OMS_ID_CAP);
    ia.u.account.release_policy = OMS_RELEASE_AUTO;
    ia.u.account.active = false;
    fx_ok(&f, "admin", ia);
    fx_rejected(&f, "pm", s_order("SLEEP", OMS_SIDE_BUY, "1", "10"), "PTC-002");
    assert_int_equal(f.last.reject_reason, OMS_RR_INACTIVE_ACCOUNT);
    oms_cmd_t ii;
    memset(&ii, 0, sizeof ii);
    ii.type = OMS_CMD_DEFINE_INSTRUMENT;
    oms_instrument_def_t *d = &ii.u.instrument;
    oms_strlcpy(d->instrument_id, "OLD", OMS_ID_CAP);
    oms_strlcpy(d->symbol, "OLD", OMS_ID_CAP);
    d->asset_class = OMS_ASSET_EQUITY;
    memcpy(d->currency, "USD", 4);
    d->multiplier = d->lot_size = D("1");
    d->tick_size = D("0.01");
    d->active = false;
    fx_ok(&f, "admin", ii);
    oms_cmd_t old = s_order("ACC1", OMS_SIDE_BUY, "1", "10");
    oms_strlcpy(old.u.new_order.instrument_id, "OLD", OMS_ID_CAP);
    fx_rejected(&f, "pm", old, "PTC-001");
    assert_int_equal(f.last.reject_reason, OMS_RR_INACTIVE_INSTRUMENT);
    /* PTC-010 short sale: ACC1 holds nothing filled -> SELL refused; SELL_SHORT refused for a
     * no-short account; SHORTY may sell short */
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_SELL, "1", "10"), "PTC-010");
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_SELL_SHORT, "1", "10"), "PTC-010");
    fx_ok(&f, "pm", s_order("SHORTY", OMS_SIDE_SELL_SHORT, "1", "10"));
    /* A SELL up to the filled long position passes, one more share fails. */
    fx_ok(&f, "pm", fx_new_order("LONG", "ACC1", "AAPL", OMS_SIDE_BUY, "50", "10"));
    fx_ok(&f, "venue", fx_fill("LONG", "lf", "50", "10"));
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_SELL, "51", "10"), "PTC-010");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_SELL, "50", "10"));
    /* ... and that open sell now counts: another SELL of 1 fails. */
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_SELL, "1", "10"), "PTC-010");
    fx_free(&f);
}

static void test_engine_entitlements_and_four_eyes(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_rejected(&f, "trader", fx_new_order("E1", "ACC1", "AAPL", OMS_SIDE_BUY, "1", "1"),
                "ENT-003");
    fx_rejected(&f, "ghost", fx_new_order("E1", "ACC1", "AAPL", OMS_SIDE_BUY, "1", "1"), "ENT-001");
    /* pm2 is PM and trader: enters on the four-eyes account, may not release it itself. */
    fx_ok(&f, "pm2", fx_new_order("E2", "FE", "AAPL", OMS_SIDE_BUY, "1", "1"));
    assert_int_equal(fx_order(&f, "E2")->status, OMS_ST_PENDING_RELEASE);
    fx_rejected(&f, "pm2", fx_simple(OMS_CMD_RELEASE_ORDER, "E2"), "ENT-004");
    fx_rejected(&f, "pm", fx_simple(OMS_CMD_RELEASE_ORDER, "E2"), "ENT-003");
    fx_ok(&f, "trader", fx_simple(OMS_CMD_RELEASE_ORDER, "E2"));
    assert_int_equal(fx_order(&f, "E2")->status, OMS_ST_PENDING_NEW);
    assert_string_equal(fx_order(&f, "E2")->released_by, "trader");
    /* A venue cannot enter orders; a rejected new order exists as REJECTED. */
    fx_rejected(&f, "pm", fx_new_order("E3", "ACC1", "AAPL", OMS_SIDE_BUY, "0", "1"), "ORD-001");
    assert_int_equal(fx_order(&f, "E3")->status, OMS_ST_REJECTED);
    fx_rejected(&f, "pm", fx_new_order("E3", "ACC1", "AAPL", OMS_SIDE_BUY, "1", "1"), "ORD-002");
    fx_free(&f);
}

/* ---- idempotency ----------------------------------------------------------------------------- */

static void test_engine_idempotency_survives_restart(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "engine-idem");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    oms_cmd_t c = fx_new_order("I1", "ACC1", "AAPL", OMS_SIDE_BUY, "10", "10");
    oms_strlcpy(c.command_id, "order-1", OMS_ID_CAP);
    fx_ok(&f, "pm", c);
    oms_reply_t first = f.last;
    uint64_t head = oms_engine_head(f.eng);

    /* Same id, same content: the first reply again, nothing appended. */
    assert_int_equal(fx_run(&f, "pm", &c), OMS_REPLY_DUPLICATE);
    assert_int_equal(f.last.original_status, OMS_REPLY_ACCEPTED);
    assert_int_equal(f.last.first_seq, first.first_seq);
    assert_int_equal(f.last.last_seq, first.last_seq);
    assert_string_equal(f.last.order_id, "I1");
    assert_int_equal(oms_engine_head(f.eng), head);

    /* Same id, other content: refused, and the order is untouched. */
    oms_cmd_t other = c;
    other.u.new_order.qty = D("11");
    assert_int_equal(fx_run(&f, "pm", &other), OMS_REPLY_REJECTED);
    assert_string_equal(f.last.rule_id, "CMD-004");
    assert_int_equal(fx_order(&f, "I1")->qty, D("10"));

    /* Same command id from another principal is another command. */
    oms_cmd_t mine = fx_new_order("I2", "ACC1", "AAPL", OMS_SIDE_BUY, "10", "10");
    oms_strlcpy(mine.command_id, "order-1", OMS_ID_CAP);
    fx_ok(&f, "pm2", mine);

    /* After a restart (state from rows, idempotency from the store): the same. */
    fx_restart(&f, dir);
    head = oms_engine_head(f.eng);
    assert_int_equal(fx_run(&f, "pm", &c), OMS_REPLY_DUPLICATE);
    assert_int_equal(f.last.first_seq, first.first_seq);
    assert_int_equal(oms_engine_head(f.eng), head);
    assert_int_equal(fx_run(&f, "pm", &other), OMS_REPLY_REJECTED);
    assert_string_equal(f.last.rule_id, "CMD-004");

    /* Duplicate within one batch: the second gets the first's reply. */
    oms_cmd_t two[2];
    two[0] = fx_new_order("I3", "ACC1", "AAPL", OMS_SIDE_BUY, "10", "10");
    oms_strlcpy(two[0].command_id, "same", OMS_ID_CAP);
    oms_strlcpy(two[0].principal, "pm", OMS_ID_CAP);
    two[1] = two[0];
    oms_reply_t rep[2];
    fx_run_batch(&f, two, 2, rep);
    assert_int_equal(rep[0].status, OMS_REPLY_ACCEPTED);
    assert_int_equal(rep[1].status, OMS_REPLY_DUPLICATE);
    assert_int_equal(rep[1].first_seq, rep[0].first_seq);

    /* A venue resending a fill under a new command id is recognised by (venue, exec id). */
    fx_ok(&f, "venue", fx_fill("I1", "x1", "5", "10"));
    oms_cmd_t again = fx_fill("I1", "x1", "5", "10");
    assert_int_equal(fx_run(&f, "venue", &again), OMS_REPLY_DUPLICATE);
    assert_int_equal(fx_order(&f, "I1")->cum, D("5"));
    oms_cmd_t clash = fx_fill("I1", "x1", "6", "10");
    fx_rejected(&f, "venue", clash, "EXE-003");
    assert_int_equal(fx_order(&f, "I1")->cum, D("5"));

    /* The rebuilt state equals the live one, and the stored rows equal both. */
    size_t a_len, b_len;
    uint8_t *a = fx_rows(f.eng, &a_len);
    fx_restart(&f, dir);
    uint8_t *b = fx_rows(f.eng, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    fx_free(&f);
    tu_rmrf(dir);
}

static void test_engine_rollback_forgets_the_batch(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("R1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    size_t before_len, after_len;
    uint8_t *before = fx_rows(f.eng, &before_len);
    uint64_t head = oms_engine_head(f.eng);
    oms_cmd_t cmds[3] = {fx_fill("R1", "e1", "50", "10"),
                         fx_new_order("R2", "ACC2", "AAPL", OMS_SIDE_BUY, "5", "10"),
                         fx_fill("R2", "e2", "5", "10")};
    oms_strlcpy(cmds[0].principal, "venue", OMS_ID_CAP);
    oms_strlcpy(cmds[1].principal, "pm", OMS_ID_CAP);
    oms_strlcpy(cmds[2].principal, "venue", OMS_ID_CAP);
    for (int i = 0; i < 3; i++)
        snprintf(cmds[i].command_id, OMS_ID_CAP, "rb%d", i);
    oms_batch_t b;
    assert_int_equal(oms_engine_process(f.eng, cmds, 3, f.ts + 1, &b), 0);
    assert_int_equal(b.n_consumed, 3);
    /* Later commands saw earlier ones: R2's fill found R2. */
    assert_int_equal(b.replies[2].status, OMS_REPLY_ACCEPTED);
    assert_int_equal(fx_order(&f, "R2")->cum, D("5"));
    oms_engine_rollback(f.eng);
    assert_null(fx_order(&f, "R2"));
    assert_int_equal(fx_order(&f, "R1")->cum, 0);
    assert_int_equal(oms_engine_head(f.eng), head);
    uint8_t *after = fx_rows(f.eng, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    /* The same commands go through again after the rollback (nothing was recorded). */
    assert_int_equal(oms_engine_process(f.eng, cmds, 3, f.ts + 2, &b), 0);
    assert_int_equal(b.replies[0].status, OMS_REPLY_ACCEPTED);
    assert_int_equal(b.first_seq, head + 1);
    oms_engine_commit(f.eng);
    free(before);
    free(after);
    fx_free(&f);
}

/* Runs orders [from, to) ("H<n>", a new order then a fill) in batches of 250 commands. */
static void s_many_orders(fx_t *f, uint32_t from, uint32_t to)
{
    oms_cmd_t cmds[250];
    oms_reply_t out[250];
    uint32_t n = 0;
    for (uint32_t i = from; i < to; i++) {
        char id[OMS_ID_CAP], ex[OMS_ID_CAP];
        snprintf(id, sizeof id, "H%u", i);
        snprintf(ex, sizeof ex, "hx%u", i);
        cmds[n] = fx_new_order(id, i % 2 ? "ACC1" : "ACC2", "AAPL", OMS_SIDE_BUY, "10", "10");
        oms_strlcpy(cmds[n++].principal, "pm", OMS_ID_CAP);
        cmds[n] = fx_fill(id, ex, i % 3 ? "10" : "4", "10");
        oms_strlcpy(cmds[n++].principal, "venue", OMS_ID_CAP);
        if (n == 250 || i + 1 == to) {
            fx_run_batch(f, cmds, n, out);
            for (uint32_t k = 0; k < n; k++)
                assert_int_equal(out[k].status, OMS_REPLY_ACCEPTED);
            n = 0;
        }
    }
}

/* proj_reserve is a capacity hint only: a state told too little, too much, or more than a
 * table may hold, ends with exactly the rows of a state told nothing, across table chunk
 * boundaries (4,096 records) and after a rolled-back batch that crossed one. */
static void test_projections_reserve_wrong_hint_same_rows(void **state)
{
    (void)state;
    static const uint32_t hints[] = {0, 1, 4500, 100000};
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
        fx_t f;
        fx_init(&f, NULL);
        /* The engine hands its state out read-only; the hint changes no record. */
        proj_state_t *st = (proj_state_t *)oms_engine_state(f.eng);
        if (hints[h]) {
            for (int t = 0; t < PROJ_T_COUNT_; t++)
                assert_int_equal(proj_reserve(st, (proj_table_t)t, hints[h]), 0);
            /* Past a table's limit: clamped to it. */
            assert_int_equal(proj_reserve(st, PROJ_T_PRINCIPAL, UINT32_MAX), 0);
        }
        assert_int_equal(proj_reserve(st, PROJ_T_COUNT_, 10), OMS_ERR_INVALID);
        fx_setup(&f);
        s_many_orders(&f, 0, 4000);
        /* A batch that takes the order and execution tables past 4,096 records, undone. */
        oms_cmd_t cmds[400];
        for (uint32_t i = 0; i < 200; i++) {
            char id[OMS_ID_CAP], ex[OMS_ID_CAP];
            snprintf(id, sizeof id, "RB%u", i);
            snprintf(ex, sizeof ex, "rbx%u", i);
            cmds[2 * i] = fx_new_order(id, "ACC1", "AAPL", OMS_SIDE_BUY, "10", "10");
            oms_strlcpy(cmds[2 * i].principal, "pm", OMS_ID_CAP);
            snprintf(cmds[2 * i].command_id, OMS_ID_CAP, "rb%u", 2 * i);
            cmds[2 * i + 1] = fx_fill(id, ex, "10", "10");
            oms_strlcpy(cmds[2 * i + 1].principal, "venue", OMS_ID_CAP);
            snprintf(cmds[2 * i + 1].command_id, OMS_ID_CAP, "rb%u", 2 * i + 1);
        }
        oms_batch_t b;
        assert_int_equal(oms_engine_process(f.eng, cmds, 400, f.ts + 1, &b), 0);
        assert_int_equal(b.n_consumed, 400);
        assert_true(proj_count(st, PROJ_T_ORDER) > 4096);
        oms_engine_rollback(f.eng);
        assert_int_equal(proj_count(st, PROJ_T_ORDER), 4000);
        assert_null(fx_order(&f, "RB0"));
        s_many_orders(&f, 4000, 4600);
        if (hints[h] == 0) /* proj_reserve refused above changed nothing either */
            assert_int_equal(proj_count(st, PROJ_T_EXEC), 4600);
        size_t len;
        uint8_t *rows = fx_rows(f.eng, &len);
        if (ref == NULL) {
            ref = rows;
            ref_len = len;
        } else {
            assert_int_equal(len, ref_len);
            assert_memory_equal(rows, ref, len);
            free(rows);
        }
        assert_non_null(fx_order(&f, "H4599"));
        assert_non_null(fx_order(&f, "H0"));
        fx_free(&f);
    }
    free(ref);
}

static void test_engine_end_of_day_expires_day_orders(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("D1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_fill("D1", "e1", "40", "10"));
    oms_cmd_t g = fx_new_order("G1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10");
    g.u.new_order.tif = OMS_TIF_GTC;
    fx_ok(&f, "pm", g);
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->open_buy_leaves, D("160"));
    oms_cmd_t e;
    memset(&e, 0, sizeof e);
    e.type = OMS_CMD_END_OF_DAY;
    oms_strlcpy(e.u.eod.trade_date, "2026-11-20", OMS_DATE_CAP);
    fx_ok(&f, "ops", e);
    assert_int_equal(fx_order(&f, "D1")->status, OMS_ST_EXPIRED);
    assert_int_equal(fx_order(&f, "D1")->leaves, 0);
    assert_int_equal(fx_order(&f, "G1")->status, OMS_ST_PENDING_NEW);
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->open_buy_leaves, D("100"));
    e.command_id[0] = '\0';
    fx_rejected(&f, "ops", e, "EOD-001");
    /* A late fill on the expired order is applied and flagged. */
    fx_ok(&f, "venue", fx_fill("D1", "e2", "10", "10"));
    assert_int_equal(f.last_ev[0].u.order.late, true);
    assert_int_equal(f.last_ev[1].type, OMS_EV_EXCEPTION_RAISED);
    assert_int_equal(f.last_ev[1].u.exception.kind, OMS_EXC_LATE_FILL);
    assert_int_equal(fx_order(&f, "D1")->cum, D("50"));
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->qty, D("50"));
    fx_free(&f);
}

static void test_engine_overfill_is_recorded_not_clipped(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("OV", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_fill("OV", "e1", "80", "10"));
    fx_ok(&f, "venue", fx_fill("OV", "e2", "50", "10"));
    const proj_order_t *o = fx_order(&f, "OV");
    assert_int_equal(o->status, OMS_ST_FILLED);
    assert_int_equal(o->cum, D("130"));
    assert_int_equal(o->leaves, 0);
    assert_true(o->overfilled);
    assert_true(f.last_ev[0].u.order.overfill);
    assert_int_equal(f.last_ev[1].u.exception.kind, OMS_EXC_OVERFILL);
    assert_int_equal(fx_pos(&f, "ACC1", "AAPL")->qty, D("130"));
    /* A replace below cum is refused. */
    fx_ok(&f, "pm", fx_new_order("RP", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_fill("RP", "r1", "60", "10"));
    oms_cmd_t rp = fx_simple(OMS_CMD_REPLACE_ORDER, "RP");
    oms_strlcpy(rp.u.replace.new_cl_ord_id, "RP-1", OMS_ID_CAP);
    rp.u.replace.qty = (oms_opt_dec_t){true, D("59")};
    fx_rejected(&f, "trader", rp, "ORD-006");
    rp.u.replace.qty = (oms_opt_dec_t){true, D("60")};
    rp.command_id[0] = '\0';
    fx_ok(&f, "trader", rp);
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_REPLACE_ACK, "RP"));
    assert_int_equal(fx_order(&f, "RP")->status, OMS_ST_FILLED);
    assert_string_equal(fx_order(&f, "RP")->cl_ord_id, "RP-1");
    /* The ClOrdID chain refuses reuse. */
    fx_ok(&f, "pm", fx_new_order("CH", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    oms_cmd_t cx = fx_simple(OMS_CMD_CANCEL_ORDER, "CH");
    oms_strlcpy(cx.u.cancel.cl_ord_id, "CH", OMS_ID_CAP);
    fx_rejected(&f, "trader", cx, "ORD-005");
    fx_free(&f);
}

/* A cancel or replace reject returns the order to the status its fills now give it: a bust of
 * the only fill during the request makes it NEW, a fill during it makes it PARTIALLY_FILLED, an
 * ack that overtook the request makes it NEW rather than PENDING_NEW. */
static void test_engine_request_reject_restores_status_for_current_cum(void **state)
{
    (void)state;
    fx_t f;
    fx_init(&f, NULL);
    fx_setup(&f);
    /* PARTIALLY_FILLED -> cancel requested -> only fill busted -> cancel rejected: NEW. */
    fx_ok(&f, "pm", fx_new_order("RB", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "RB"));
    fx_ok(&f, "venue", fx_fill("RB", "b1", "40", "10"));
    oms_cmd_t cx = fx_simple(OMS_CMD_CANCEL_ORDER, "RB");
    oms_strlcpy(cx.u.cancel.cl_ord_id, "RB-c1", OMS_ID_CAP);
    fx_ok(&f, "trader", cx);
    assert_int_equal(fx_order(&f, "RB")->status, OMS_ST_PENDING_CANCEL);
    oms_cmd_t bust = fx_simple(OMS_CMD_TRADE_BUST, "RB");
    oms_strlcpy(bust.u.report.ref_exec_id, "b1", OMS_ID_CAP);
    oms_strlcpy(bust.u.report.h.exec_id, "b1-bust", OMS_ID_CAP);
    fx_ok(&f, "venue", bust);
    assert_int_equal(fx_order(&f, "RB")->status, OMS_ST_PENDING_CANCEL);
    assert_int_equal(fx_order(&f, "RB")->cum, 0);
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_CANCEL_REJECT, "RB"));
    assert_int_equal(fx_order(&f, "RB")->status, OMS_ST_NEW);
    assert_int_equal(fx_order(&f, "RB")->leaves, D("100"));
    /* NEW -> replace requested -> fill -> replace rejected: PARTIALLY_FILLED. */
    fx_ok(&f, "pm", fx_new_order("RF", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "RF"));
    oms_cmd_t rp = fx_simple(OMS_CMD_REPLACE_ORDER, "RF");
    oms_strlcpy(rp.u.replace.new_cl_ord_id, "RF-1", OMS_ID_CAP);
    rp.u.replace.qty = (oms_opt_dec_t){true, D("90")};
    fx_ok(&f, "trader", rp);
    fx_ok(&f, "venue", fx_fill("RF", "f1", "30", "10"));
    assert_int_equal(fx_order(&f, "RF")->status, OMS_ST_PENDING_REPLACE);
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_REPLACE_REJECT, "RF"));
    assert_int_equal(fx_order(&f, "RF")->status, OMS_ST_PARTIALLY_FILLED);
    assert_int_equal(fx_order(&f, "RF")->qty, D("100"));
    assert_int_equal(fx_order(&f, "RF")->leaves, D("70"));
    /* PENDING_NEW -> cancel requested -> venue ack overtakes it -> cancel rejected: NEW. */
    fx_ok(&f, "pm", fx_new_order("RA", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    oms_cmd_t ca = fx_simple(OMS_CMD_CANCEL_ORDER, "RA");
    oms_strlcpy(ca.u.cancel.cl_ord_id, "RA-c1", OMS_ID_CAP);
    fx_ok(&f, "trader", ca);
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "RA"));
    assert_int_equal(fx_order(&f, "RA")->status, OMS_ST_PENDING_CANCEL);
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_CANCEL_REJECT, "RA"));
    assert_int_equal(fx_order(&f, "RA")->status, OMS_ST_NEW);
    fx_free(&f);
}

/* ---- stored rows -------------------------------------------------------------------------- */

typedef struct {
    uint8_t cf;
    uint8_t *k, *v;
    size_t kl, vl;
} row_copy_t;

typedef struct {
    row_copy_t *r;
    size_t n, cap;
    evlog_cf_t cf;
} row_set_t;

static void s_row_push(row_set_t *s, evlog_cf_t cf, const uint8_t *k, size_t kl, const uint8_t *v,
                       size_t vl)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->r = realloc(s->r, s->cap * sizeof *s->r);
        assert_non_null(s->r);
    }
    row_copy_t *c = &s->r[s->n++];
    c->cf = (uint8_t)cf;
    c->k = malloc(kl + 1);
    c->v = malloc(vl + 1);
    memcpy(c->k, k, kl);
    memcpy(c->v, v, vl);
    c->kl = kl;
    c->vl = vl;
}

static int s_from_engine(void *ctx, evlog_cf_t cf, const uint8_t *k, size_t kl, const uint8_t *v,
                         size_t vl)
{
    s_row_push(ctx, cf, k, kl, v, vl);
    return 0;
}

static int s_from_store(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    row_set_t *s = ctx;
    if (s->cf == EVLOG_CF_META && (kl < 5 || memcmp(k, "proj.", 5) != 0))
        return 0; /* the log's own meta rows */
    s_row_push(s, s->cf, k, kl, v, vl);
    return 0;
}

static int s_row_cmp(const void *a, const void *b)
{
    const row_copy_t *x = a, *y = b;
    if (x->cf != y->cf)
        return x->cf - y->cf;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(x->k, y->k, n);
    return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

static void s_rows_free(row_set_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->r[i].k);
        free(s->r[i].v);
    }
    free(s->r);
}

/* Every projection row in the store is exactly what the engine's state encodes to now: the rows
 * written batch by batch never go stale. */
/* The engine's live rows equal the rows stored in its log, as sets (order aside). */
static void s_assert_live_equals_stored(fx_t *f)
{
    row_set_t live = {0}, stored = {0};
    assert_int_equal(oms_engine_rows(f->eng, s_from_engine, &live), 0);
    static const evlog_cf_t cfs[] = {EVLOG_CF_ORDERS, EVLOG_CF_POSITIONS, EVLOG_CF_ALLOCATIONS,
                                     EVLOG_CF_REFDATA, EVLOG_CF_META};
    for (size_t i = 0; i < sizeof cfs / sizeof cfs[0]; i++) {
        stored.cf = cfs[i];
        assert_int_equal(evlog_scan(f->log, cfs[i], NULL, 0, s_from_store, &stored), 0);
    }
    qsort(live.r, live.n, sizeof *live.r, s_row_cmp);
    qsort(stored.r, stored.n, sizeof *stored.r, s_row_cmp);
    assert_int_equal(live.n, stored.n);
    for (size_t i = 0; i < live.n; i++) {
        assert_int_equal(live.r[i].cf, stored.r[i].cf);
        assert_int_equal(live.r[i].kl, stored.r[i].kl);
        assert_memory_equal(live.r[i].k, stored.r[i].k, live.r[i].kl);
        if (live.r[i].vl != stored.r[i].vl || memcmp(live.r[i].v, stored.r[i].v, live.r[i].vl))
            fprintf(stderr, "row %.*s differs\n", (int)live.r[i].kl, (const char *)live.r[i].k);
        assert_int_equal(live.r[i].vl, stored.r[i].vl);
        assert_memory_equal(live.r[i].v, stored.r[i].v, live.r[i].vl);
    }
    s_rows_free(&live);
    s_rows_free(&stored);
}

/* A busy day on f's engine: an order filled in two, one fill busted, a block filled and
 * allocated, its instrument's currency changed (every AAPL position row must follow), an end of
 * day. */
static void s_busy_day(fx_t *f)
{
    fx_ok(f, "pm", fx_new_order("S1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(f, "venue", fx_fill("S1", "e1", "60", "10"));
    fx_ok(f, "venue", fx_fill("S1", "e2", "40", "11"));
    oms_cmd_t b = fx_simple(OMS_CMD_TRADE_BUST, "S1");
    oms_strlcpy(b.u.report.h.exec_id, "b1", OMS_ID_CAP);
    oms_strlcpy(b.u.report.ref_exec_id, "e1", OMS_ID_CAP);
    fx_ok(f, "venue", b);
    oms_alloc_instr_t ins[2] = {{"ACC2", true, D("2")}, {"ACC3", true, D("1")}};
    oms_cmd_t blk = s_block("BK", "300", ins, 2);
    fx_ok(f, "pm", blk);
    fx_ok(f, "venue", fx_fill("BK", "k1", "300", "50"));
    oms_cmd_t a = fx_simple(OMS_CMD_ALLOCATE, "BK");
    oms_strlcpy(a.u.allocate.alloc_id, "A", OMS_ID_CAP);
    fx_ok(f, "ops", a);
    /* The instrument changes currency: every AAPL position row must follow. */
    oms_cmd_t u;
    memset(&u, 0, sizeof u);
    u.type = OMS_CMD_UPDATE_INSTRUMENT;
    oms_instrument_def_t *d = &u.u.instrument;
    oms_strlcpy(d->instrument_id, "AAPL", OMS_ID_CAP);
    oms_strlcpy(d->symbol, "AAPL", OMS_ID_CAP);
    d->asset_class = OMS_ASSET_EQUITY;
    memcpy(d->currency, "EUR", 4);
    d->multiplier = D("1");
    d->lot_size = D("1");
    d->tick_size = D("0.01");
    d->active = true;
    fx_ok(f, "admin", u);
    oms_cmd_t e;
    memset(&e, 0, sizeof e);
    e.type = OMS_CMD_END_OF_DAY;
    oms_strlcpy(e.u.eod.trade_date, "2026-11-21", OMS_DATE_CAP);
    fx_ok(f, "ops", e);
}

static void test_engine_stored_rows_equal_live_state(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "engine-rows");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    s_busy_day(&f);
    s_assert_live_equals_stored(&f);
    fx_free(&f);
    tu_rmrf(dir);
}

/* oms_engine_rows callback: counts rows. */
static int s_count_row(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen)
{
    (void)cf, (void)key, (void)klen, (void)val, (void)vlen;
    ++*(int *)ctx;
    return 0;
}

/* The replay tool's entry point (no batch journal) gives the same state as the journaled one,
 * event by event over s_busy_day's log (fills, a bust, a block, an allocation, an instrument
 * update, an end of day); a seq out of order is refused and changes nothing; a refused event spends the
 * engine (its state may be half changed): every later call that reads or changes the state is
 * refused, while the journaled engine, given the same event, stays as it was. */
static void test_engine_replay_event_matches_apply_and_spends_on_refusal(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "engine-replay-ev");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    s_busy_day(&f);

    oms_engine_opts_t o;
    oms_engine_opts_default(&o);
    oms_engine_t *journaled = oms_engine_new(&o, 0), *replayed = oms_engine_new(&o, 0);
    assert_non_null(journaled);
    assert_non_null(replayed);
    oms_arena_t arena;
    assert_int_equal(oms_arena_init(&arena, 1u << 20), 0);
    evlog_iter_t *it = NULL;
    assert_int_equal(evlog_iter_new(f.log, 1, &it), 0);
    uint64_t seq = 0;
    const uint8_t *v;
    size_t len;
    int rc, n = 0;
    oms_event_t fill; /* the first fill, applied again at the end (a duplicate exec id) */
    int64_t fill_ts = 0;
    bool have_fill = false;
    oms_arena_t fill_arena;
    assert_int_equal(oms_arena_init(&fill_arena, 1u << 16), 0);
    while ((rc = evlog_iter_next(it, &seq, &v, &len)) == 1) {
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        oms_event_t ev;
        oms_arena_reset(&arena);
        assert_int_equal(codec_decode_event(rec.body, rec.body_len, &arena, &ev), 0);
        if (n == 0) /* out of order: refused, and the engine is not spent by it */
            assert_int_equal(oms_engine_replay_event(replayed, seq + 1, rec.ts_ns, &ev),
                             OMS_ERR_STATE);
        assert_int_equal(oms_engine_apply_event(journaled, seq, rec.ts_ns, &ev), 0);
        assert_int_equal(oms_engine_replay_event(replayed, seq, rec.ts_ns, &ev), 0);
        if (!have_fill && ev.type == OMS_EV_ORDER_FILLED) {
            assert_int_equal(codec_decode_event(rec.body, rec.body_len, &fill_arena, &fill), 0);
            fill_ts = rec.ts_ns;
            have_fill = true;
        }
        n++;
    }
    assert_int_equal(rc, 0);
    evlog_iter_destroy(&it);
    assert_true(n > 10);
    assert_true(have_fill);
    assert_int_equal(oms_engine_head(replayed), oms_engine_head(f.eng));
    size_t la = 0, lb = 0, lc = 0;
    uint8_t *ra = fx_rows(journaled, &la), *rb = fx_rows(replayed, &lb);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(ra, rb, la);

    /* The same fill again: both refuse it; the journaled engine is unchanged and goes on. */
    uint64_t next = oms_engine_head(replayed) + 1;
    assert_int_equal(oms_engine_apply_event(journaled, next, fill_ts, &fill), OMS_ERR_STATE);
    uint8_t *rc2 = fx_rows(journaled, &lc);
    assert_int_equal(lc, la);
    assert_memory_equal(rc2, ra, la);
    assert_int_equal(oms_engine_replay_event(replayed, next, fill_ts, &fill), OMS_ERR_STATE);
    assert_int_equal(oms_engine_head(replayed), next - 1);
    /* Spent: nothing more, not even a read of its rows. */
    oms_event_t eod;
    memset(&eod, 0, sizeof eod);
    eod.type = OMS_EV_END_OF_DAY_PROCESSED;
    oms_strlcpy(eod.u.eod.trade_date, "2026-11-22", OMS_DATE_CAP);
    assert_int_equal(oms_engine_apply_event(journaled, next, fill_ts, &eod), 0);
    assert_int_equal(oms_engine_replay_event(replayed, next, fill_ts, &eod), OMS_ERR_STATE);
    assert_int_equal(oms_engine_apply_event(replayed, next, fill_ts, &eod), OMS_ERR_STATE);
    assert_int_equal(oms_engine_reserve(replayed, PROJ_T_ORDER, 10), OMS_ERR_STATE);
    assert_int_equal(oms_engine_rows(replayed, s_count_row, &n), OMS_ERR_STATE);
    oms_batch_t out;
    oms_cmd_t c = fx_simple(OMS_CMD_CANCEL_ORDER, "S1");
    assert_int_equal(oms_engine_process(replayed, &c, 1, fill_ts, &out), OMS_ERR_STATE);

    free(ra);
    free(rb);
    free(rc2);
    oms_arena_free(&arena);
    oms_arena_free(&fill_arena);
    oms_engine_destroy(&journaled);
    oms_engine_destroy(&replayed);
    fx_free(&f);
    tu_rmrf(dir);
}

/* Order strings (texts, ClOrdIDs, venue ids, principals) live in the state's text store, which
 * a rollback cuts back: strings written by a rolled-back batch disappear, strings of earlier
 * batches survive the reuse of that space, and a restart (state from rows) gives the same. */
static void test_engine_rollback_restores_texts(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "engine-texts");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    oms_cmd_t t1 = fx_new_order("T1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10");
    oms_strlcpy(t1.u.new_order.text, "first order's text", OMS_TEXT_CAP);
    fx_ok(&f, "pm", t1);
    assert_string_equal(proj_str(fx_order(&f, "T1")->text), "first order's text");
    assert_string_equal(fx_order(&f, "T1")->reject_text, ""); /* never NULL in the state */

    fx_ok(&f, "pm", fx_new_order("T4", "ACC1", "AAPL", OMS_SIDE_BUY, "7", "10"));
    oms_cmd_t cmds[3] = {fx_new_order("T2", "ACC1", "AAPL", OMS_SIDE_BUY, "5", "10"),
                         fx_simple(OMS_CMD_VENUE_REJECT, "T1"),
                         fx_simple(OMS_CMD_CANCEL_ORDER, "T4")};
    oms_strlcpy(cmds[2].u.cancel.cl_ord_id, "T4-cancel-1", OMS_ID_CAP);
    oms_strlcpy(cmds[2].principal, "trader", OMS_ID_CAP);
    oms_strlcpy(cmds[2].command_id, "tx2", OMS_ID_CAP);
    oms_strlcpy(cmds[0].u.new_order.text, "rolled back text, rather long to use more space",
                OMS_TEXT_CAP);
    oms_strlcpy(cmds[1].u.report.text, "venue says no", OMS_TEXT_CAP);
    oms_strlcpy(cmds[0].principal, "pm", OMS_ID_CAP);
    oms_strlcpy(cmds[1].principal, "venue", OMS_ID_CAP);
    oms_strlcpy(cmds[0].command_id, "tx0", OMS_ID_CAP);
    oms_strlcpy(cmds[1].command_id, "tx1", OMS_ID_CAP);
    oms_batch_t b;
    assert_int_equal(oms_engine_process(f.eng, cmds, 3, f.ts + 1, &b), 0);
    assert_int_equal(b.replies[1].status, OMS_REPLY_ACCEPTED);
    assert_int_equal(b.replies[2].status, OMS_REPLY_ACCEPTED);
    assert_string_equal(proj_str(fx_order(&f, "T1")->reject_text), "venue says no");
    assert_string_equal(fx_order(&f, "T4")->pending_cl_ord_id, "T4-cancel-1");
    oms_engine_rollback(f.eng);
    assert_string_equal(fx_order(&f, "T4")->pending_cl_ord_id, "");
    assert_string_equal(fx_order(&f, "T4")->cl_ord_id, "T4");
    assert_string_equal(fx_order(&f, "T4")->entered_by, "pm");
    assert_null(fx_order(&f, "T2"));
    assert_string_equal(fx_order(&f, "T1")->reject_text, "");
    assert_int_equal(fx_order(&f, "T1")->status, OMS_ST_PENDING_NEW);

    /* The space is reused; T1's text is untouched, T3's is its own. */
    oms_cmd_t t3 = fx_new_order("T3", "ACC1", "AAPL", OMS_SIDE_BUY, "5", "10");
    memset(t3.u.new_order.text, 'x', OMS_LIMIT_TEXT_LEN); /* the longest text there can be */
    t3.u.new_order.text[OMS_LIMIT_TEXT_LEN] = '\0';
    fx_ok(&f, "pm", t3);
    oms_cmd_t rej = fx_simple(OMS_CMD_VENUE_REJECT, "T1");
    oms_strlcpy(rej.u.report.text, "venue says no, for real", OMS_TEXT_CAP);
    fx_ok(&f, "venue", rej);
    assert_string_equal(proj_str(fx_order(&f, "T1")->text), "first order's text");
    assert_string_equal(proj_str(fx_order(&f, "T1")->reject_text), "venue says no, for real");
    assert_int_equal(strlen(proj_str(fx_order(&f, "T3")->text)), OMS_LIMIT_TEXT_LEN);

    oms_cmd_t c4 = fx_simple(OMS_CMD_CANCEL_ORDER, "T4");
    oms_strlcpy(c4.u.cancel.cl_ord_id, "T4-cancel-2", OMS_ID_CAP);
    fx_ok(&f, "trader", c4);
    s_assert_live_equals_stored(&f);
    fx_restart(&f, dir);
    s_assert_live_equals_stored(&f);
    assert_string_equal(proj_str(fx_order(&f, "T1")->text), "first order's text");
    assert_string_equal(proj_str(fx_order(&f, "T1")->reject_text), "venue says no, for real");
    assert_string_equal(fx_order(&f, "T4")->pending_cl_ord_id, "T4-cancel-2");
    assert_string_equal(fx_order(&f, "T1")->entered_by, "pm");
    fx_free(&f);
    tu_rmrf(dir);
}

/* An order row larger than the engine encodes in place (a long replace chain of long ClOrdIDs:
 * over 4 KiB) still goes out whole, and the stored rows equal the live state's. */
static void test_engine_large_order_row_is_written_whole(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "engine-bigrow");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    fx_ok(&f, "pm", fx_new_order("BIG", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "10"));
    fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_ACK, "BIG"));
    for (int i = 1; i <= 80; i++) {
        oms_cmd_t rp = fx_simple(OMS_CMD_REPLACE_ORDER, "BIG");
        snprintf(rp.u.replace.new_cl_ord_id, OMS_ID_CAP, "BIG-replace-%03d-%s", i,
                 "padding-padding-padding-padding-padding-pad");
        rp.u.replace.qty = (oms_opt_dec_t){true, D("100") + i * D("1")};
        fx_ok(&f, "trader", rp);
        fx_ok(&f, "venue", fx_simple(OMS_CMD_VENUE_REPLACE_ACK, "BIG"));
    }
    assert_int_equal(fx_order(&f, "BIG")->n_clordids, 81);
    assert_int_equal(fx_order(&f, "BIG")->qty, D("180"));
    s_assert_live_equals_stored(&f);
    fx_restart(&f, dir);
    assert_int_equal(fx_order(&f, "BIG")->n_clordids, 81);
    s_assert_live_equals_stored(&f);
    fx_free(&f);
    tu_rmrf(dir);
}

/* The engine skips limit scopes that hold no limits at all; that bookkeeping follows a
 * rolled-back batch (its limits vanish) and a restart (limits loaded from rows apply). */
static void test_engine_limits_follow_rollback_and_restart(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "engine-limits");
    fx_t f;
    fx_init(&f, dir);
    fx_setup(&f);
    oms_cmd_t set;
    memset(&set, 0, sizeof set);
    set.type = OMS_CMD_SET_LIMITS;
    set.u.limits.scope = OMS_SCOPE_ACCOUNT_INSTRUMENT;
    oms_strlcpy(set.u.limits.account_id, "ACC1", OMS_ID_CAP);
    oms_strlcpy(set.u.limits.instrument_id, "AAPL", OMS_ID_CAP);
    set.u.limits.max_order_qty = (oms_opt_dec_t){true, D("10")};
    oms_strlcpy(set.principal, "comp", OMS_ID_CAP);
    oms_strlcpy(set.command_id, "lim-rb", OMS_ID_CAP);
    oms_batch_t b;
    assert_int_equal(oms_engine_process(f.eng, &set, 1, f.ts + 1, &b), 0);
    assert_int_equal(b.replies[0].status, OMS_REPLY_ACCEPTED);
    oms_engine_rollback(f.eng);
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "50", "10")); /* no limit any more */

    set.command_id[0] = '\0';
    fx_ok(&f, "comp", set);
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "11", "10"), "PTC-006");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "10", "10"));
    fx_ok(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "11", "10")); /* another account */
    s_limits(&f, OMS_SCOPE_ACCOUNT, "ACC2", "qty", "5");
    fx_rejected(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "6", "10"), "PTC-006");

    fx_restart(&f, dir);
    fx_rejected(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "11", "10"), "PTC-006");
    fx_rejected(&f, "pm", s_order("ACC2", OMS_SIDE_BUY, "6", "10"), "PTC-006");
    fx_ok(&f, "pm", s_order("ACC1", OMS_SIDE_BUY, "10", "10"));
    fx_ok(&f, "pm", s_order("ACC3", OMS_SIDE_BUY, "50", "10"));
    fx_free(&f);
    tu_rmrf(dir);
}

/* ---- on-demand loading (engine.h) ------------------------------------------------------------
 * A reference engine that never restarts (in memory) and an engine with on-demand loading over a
 * store get the same commands; the second restarts where the test says. Every reply must
 * encode to the same bytes. */

typedef struct {
    fx_t ref; /* never restarts */
    fx_t od;  /* on demand, restarted by the test */
    const char *dir;
} od_t;

static void s_od_init(od_t *t, const char *tag)
{
    t->dir = tu_mkdtemp(0, tag);
    fx_init(&t->ref, NULL);
    fx_init_on_demand(&t->od, t->dir);
    fx_setup(&t->ref);
    fx_setup(&t->od);
}

static void s_od_free(od_t *t)
{
    fx_free(&t->ref);
    fx_free(&t->od);
    tu_rmrf(t->dir);
}

/* Runs cmd on both; asserts the same reply bytes; returns the status. */
static oms_reply_status_t s_od(od_t *t, const char *who, oms_cmd_t cmd)
{
    oms_cmd_t a = cmd, b = cmd;
    fx_run(&t->ref, who, &a);
    fx_run(&t->od, who, &b);
    uint8_t x[4096], y[4096];
    size_t lx = 0, ly = 0;
    assert_int_equal(codec_encode_reply(&t->ref.last, x, sizeof x, &lx), 0);
    assert_int_equal(codec_encode_reply(&t->od.last, y, sizeof y, &ly), 0);
    if (lx != ly || memcmp(x, y, lx) != 0)
        fprintf(stderr, "%s %s: reference %d %s '%s', on demand %d %s '%s' (%s)\n",
                oms_cmd_type_name(cmd.type), oms_cmd_order_id(&cmd), t->ref.last.status,
                t->ref.last.rule_id, t->ref.last.text, t->od.last.status, t->od.last.rule_id,
                t->od.last.text, oms_engine_error(t->od.eng));
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx);
    return t->ref.last.status;
}

static bool s_resident(od_t *t, const char *id)
{
    return proj_order(oms_engine_state(t->od.eng), id) != NULL;
}

/* F1 filled (e1), C1 canceled, W1 working (partly filled, e3), all ACC1 AAPL; restarted. */
static void s_od_history(od_t *t)
{
    s_od(t, "pm", fx_new_order("F1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "20"));
    s_od(t, "venue", fx_fill("F1", "e1", "100", "10"));
    s_od(t, "pm", fx_new_order("C1", "ACC1", "AAPL", OMS_SIDE_BUY, "100", "20"));
    oms_cmd_t cx = fx_simple(OMS_CMD_CANCEL_ORDER, "C1");
    oms_strlcpy(cx.u.cancel.cl_ord_id, "C1-cxl", OMS_ID_CAP);
    s_od(t, "trader", cx);
    s_od(t, "venue", fx_simple(OMS_CMD_VENUE_CANCEL_ACK, "C1"));
    s_od(t, "pm", fx_new_order("W1", "ACC1", "AAPL", OMS_SIDE_BUY, "300", "20"));
    s_od(t, "venue", fx_fill("W1", "e3", "100", "11"));
    assert_int_equal(fx_order(&t->ref, "F1")->status, OMS_ST_FILLED);
    assert_int_equal(fx_order(&t->ref, "C1")->status, OMS_ST_CANCELED);
    assert_int_equal(fx_order(&t->ref, "W1")->status, OMS_ST_PARTIALLY_FILLED);
    fx_restart(&t->od, t->dir);
}

static void test_engine_on_demand_restart_keeps_only_working_orders(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-restart");
    s_od_history(&t);
    const proj_state_t *st = oms_engine_state(t.od.eng);
    assert_int_equal(proj_count(st, PROJ_T_ORDER), 1);
    assert_true(s_resident(&t, "W1"));
    assert_int_equal(proj_count(st, PROJ_T_EXEC), 1); /* W1's e3 */
    /* Positions (and their open leaves) are loaded whole. */
    const proj_position_t *a = fx_pos(&t.ref, "ACC1", "AAPL"), *b = fx_pos(&t.od, "ACC1", "AAPL");
    assert_non_null(b);
    assert_int_equal(a->qty, b->qty);
    assert_int_equal(a->open_buy_leaves, b->open_buy_leaves);
    assert_true(a->cost_basis == b->cost_basis);
    /* A limit on open exposure answers the same after the restart. */
    s_od(&t, "pm", fx_new_order("N1", "ACC1", "AAPL", OMS_SIDE_BUY, "50", "20"));
    assert_int_equal(oms_engine_loaded_on_demand(t.od.eng), 0); /* N1 is nowhere: no load */
    s_od_free(&t);
}

static void test_engine_on_demand_duplicate_order_id(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-dup");
    s_od_history(&t);
    assert_false(s_resident(&t, "F1"));
    assert_int_equal(s_od(&t, "pm", fx_new_order("F1", "ACC2", "AAPL", OMS_SIDE_BUY, "1", "20")),
                     OMS_REPLY_REJECTED);
    assert_int_equal(t.ref.last.reject_reason, OMS_RR_DUPLICATE_ORDER_ID);
    assert_int_equal(t.od.last.ord_status, OMS_ST_FILLED); /* the stored order's status */
    assert_true(s_resident(&t, "F1"));
    assert_int_equal(oms_engine_loaded_on_demand(t.od.eng), 1);
    s_od_free(&t);
}

static void test_engine_on_demand_commands_naming_an_order(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-named");
    s_od_history(&t);
    /* Cancel, replace, release of a finished order: refused the same way. */
    oms_cmd_t cx = fx_simple(OMS_CMD_CANCEL_ORDER, "F1");
    oms_strlcpy(cx.u.cancel.cl_ord_id, "F1-cxl", OMS_ID_CAP);
    assert_int_equal(s_od(&t, "trader", cx), OMS_REPLY_REJECTED);
    /* A cancel of W1 reusing C1's ClOrdID (ClOrdIDs are per order: accepted). */
    oms_cmd_t cw = fx_simple(OMS_CMD_CANCEL_ORDER, "W1");
    oms_strlcpy(cw.u.cancel.cl_ord_id, "C1-cxl", OMS_ID_CAP);
    s_od(&t, "trader", cw);
    oms_cmd_t rp = fx_simple(OMS_CMD_REPLACE_ORDER, "C1");
    oms_strlcpy(rp.u.replace.new_cl_ord_id, "C1-r1", OMS_ID_CAP);
    rp.u.replace.qty = (oms_opt_dec_t){true, D("50")};
    assert_int_equal(s_od(&t, "trader", rp), OMS_REPLY_REJECTED);
    fx_restart(&t.od, t.dir);
    assert_int_equal(s_od(&t, "trader", fx_simple(OMS_CMD_RELEASE_ORDER, "F1")),
                     OMS_REPLY_REJECTED);
    /* A late fill on the canceled order: applied (and flagged) exactly as without restarts. */
    fx_restart(&t.od, t.dir);
    assert_int_equal(s_od(&t, "venue", fx_fill("C1", "e9", "10", "12")), OMS_REPLY_ACCEPTED);
    assert_int_equal(fx_order(&t.od, "C1")->cum, fx_order(&t.ref, "C1")->cum);
    assert_int_equal(fx_pos(&t.od, "ACC1", "AAPL")->qty, fx_pos(&t.ref, "ACC1", "AAPL")->qty);
    /* A late fill on the filled order (an overfill). */
    assert_int_equal(s_od(&t, "venue", fx_fill("F1", "e10", "5", "12")), OMS_REPLY_ACCEPTED);
    /* An unknown order: nothing to load, the same refusal. */
    assert_int_equal(s_od(&t, "venue", fx_fill("NOPE", "e11", "5", "12")), OMS_REPLY_REJECTED);
    s_od_free(&t);
}

static void test_engine_on_demand_exec_dedup_across_orders(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-exec");
    s_od_history(&t);
    assert_false(s_resident(&t, "F1"));
    /* W1 is resident; its fill reuses F1's exec id e1 (same venue): the stored execution. */
    assert_int_equal(s_od(&t, "venue", fx_fill("W1", "e1", "100", "10")), OMS_REPLY_REJECTED);
    assert_string_equal(t.od.last.rule_id, "EXE-003");
    assert_true(s_resident(&t, "F1"));
    /* The very same fill again for F1 after another restart: a duplicate, not a second fill. */
    fx_restart(&t.od, t.dir);
    assert_int_equal(s_od(&t, "venue", fx_fill("F1", "e1", "100", "10")), OMS_REPLY_DUPLICATE);
    assert_int_equal(fx_order(&t.od, "F1")->cum, D("100"));
    s_od_free(&t);
}

static void test_engine_on_demand_bust_loads_the_instrument(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-bust");
    s_od_history(&t);
    /* F2 (filled, ACC1 AAPL) and a filled block whose allocation booked into ACC1. */
    s_od(&t, "pm", fx_new_order("F2", "ACC1", "AAPL", OMS_SIDE_SELL, "40", "5"));
    s_od(&t, "venue", fx_fill("F2", "e2", "40", "30"));
    oms_alloc_instr_t ins[2] = {{"ACC1", true, D("1")}, {"ACC2", true, D("1")}};
    s_od(&t, "pm", s_block("B1", "100", ins, 2));
    s_od(&t, "venue", fx_fill("B1", "eb", "100", "15"));
    oms_cmd_t a = fx_simple(OMS_CMD_ALLOCATE, "B1");
    oms_strlcpy(a.u.allocate.alloc_id, "AL1", OMS_ID_CAP);
    assert_int_equal(s_od(&t, "ops", a), OMS_REPLY_ACCEPTED);
    fx_restart(&t.od, t.dir);
    assert_false(s_resident(&t, "F2") || s_resident(&t, "B1"));
    /* Busting F1's e1 recomputes ACC1/AAPL from every live trade: F2's fill and B1's part
     * must be in memory for it. */
    oms_cmd_t b = fx_simple(OMS_CMD_TRADE_BUST, "F1");
    oms_strlcpy(b.u.report.h.exec_id, "bx", OMS_ID_CAP);
    oms_strlcpy(b.u.report.ref_exec_id, "e1", OMS_ID_CAP);
    assert_int_equal(s_od(&t, "venue", b), OMS_REPLY_ACCEPTED);
    assert_true(s_resident(&t, "F2") && s_resident(&t, "B1"));
    const proj_position_t *p = fx_pos(&t.ref, "ACC1", "AAPL"), *q = fx_pos(&t.od, "ACC1", "AAPL");
    assert_int_equal(p->qty, q->qty);
    assert_true(p->cost_basis == q->cost_basis);
    assert_int_equal(p->realized_pnl, q->realized_pnl);
    /* A correction of the block's fill after another restart: the unallocated position. */
    fx_restart(&t.od, t.dir);
    oms_cmd_t k = fx_simple(OMS_CMD_TRADE_CORRECT, "B1");
    oms_strlcpy(k.u.report.h.exec_id, "kx", OMS_ID_CAP);
    oms_strlcpy(k.u.report.ref_exec_id, "eb", OMS_ID_CAP);
    k.u.report.last_qty = D("100");
    k.u.report.last_px = D("16");
    assert_int_equal(s_od(&t, "venue", k), OMS_REPLY_ACCEPTED);
    assert_int_equal(fx_pos(&t.ref, "", "AAPL")->qty, fx_pos(&t.od, "", "AAPL")->qty);
    assert_true(fx_pos(&t.ref, "", "AAPL")->cost_basis == fx_pos(&t.od, "", "AAPL")->cost_basis);
    /* Busted F1 is working again: the next restart keeps it. */
    fx_restart(&t.od, t.dir);
    assert_true(s_resident(&t, "F1"));
    s_od_free(&t);
}

static void test_engine_on_demand_allocation_after_fill(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-alloc");
    oms_alloc_instr_t ins[3] = {
        {"ACC3", true, D("1")}, {"ACC1", true, D("1")}, {"ACC2", true, D("1")}};
    s_od(&t, "pm", s_block("BLK", "1000", ins, 3));
    s_od(&t, "venue", fx_fill("BLK", "e1", "1000", "50"));
    fx_restart(&t.od, t.dir);
    oms_cmd_t a = fx_simple(OMS_CMD_ALLOCATE, "BLK");
    oms_strlcpy(a.u.allocate.alloc_id, "A1", OMS_ID_CAP);
    assert_int_equal(s_od(&t, "ops", a), OMS_REPLY_ACCEPTED);
    fx_restart(&t.od, t.dir);
    oms_cmd_t r = fx_simple(OMS_CMD_REVERSE_ALLOCATION, "BLK");
    oms_strlcpy(r.u.reverse.alloc_id, "A1", OMS_ID_CAP);
    assert_int_equal(s_od(&t, "ops", r), OMS_REPLY_ACCEPTED);
    fx_restart(&t.od, t.dir);
    oms_strlcpy(a.u.allocate.alloc_id, "A2", OMS_ID_CAP);
    a.command_id[0] = '\0';
    assert_int_equal(s_od(&t, "ops", a), OMS_REPLY_ACCEPTED);
    oms_strlcpy(a.u.allocate.alloc_id, "A1", OMS_ID_CAP); /* an allocation id in use */
    a.command_id[0] = '\0';
    fx_restart(&t.od, t.dir);
    s_od(&t, "ops", a);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx_pos(&t.ref, ins[i].account_id, "AAPL")->qty,
                         fx_pos(&t.od, ins[i].account_id, "AAPL")->qty);
    s_od_free(&t);
}

static void test_engine_on_demand_end_of_day_in_creation_order(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-eod");
    /* Creation order D9, D10, D8; key order D10, D8, D9. */
    const char *ids[] = {"D9", "D10", "D8"};
    for (int i = 0; i < 3; i++) {
        oms_cmd_t c = fx_new_order(ids[i], "ACC1", "AAPL", OMS_SIDE_BUY, "10", "20");
        c.u.new_order.tif = OMS_TIF_DAY;
        s_od(&t, "pm", c);
        s_od(&t, "venue", fx_simple(OMS_CMD_VENUE_ACK, ids[i]));
    }
    fx_restart(&t.od, t.dir);
    oms_cmd_t e = fx_simple(OMS_CMD_END_OF_DAY, "");
    oms_strlcpy(e.u.eod.trade_date, "2026-12-01", OMS_DATE_CAP);
    assert_int_equal(s_od(&t, "ops", e), OMS_REPLY_ACCEPTED);
    assert_int_equal(t.od.last_events, 4);
    for (int i = 0; i < 3; i++)
        assert_string_equal(t.od.last_ev[i].u.order.h.order_id, ids[i]);
    s_od_free(&t);
}

/* Overwrites one stored row (the test plays a damaged disk). */
static void s_put_row(fx_t *f, evlog_cf_t cf, const char *key, const char *val)
{
    evlog_row_t row = {cf, (const uint8_t *)key, strlen(key), (const uint8_t *)val, strlen(val)};
    uint64_t first = 0;
    assert_int_equal(evlog_append(f->log, NULL, 0, &row, 1, &first), 0);
}

static void test_engine_on_demand_bad_row_changes_nothing(void **state)
{
    (void)state;
    od_t t;
    s_od_init(&t, "od-bad");
    s_od_history(&t);
    s_put_row(&t.od, EVLOG_CF_ORDERS,
              "xXNAS\x1f"
              "e1",
              "\x0a\xff garbage");
    fx_restart(&t.od, t.dir); /* the restart reads neither F1 nor e1 */
    const proj_state_t *st = oms_engine_state(t.od.eng);
    uint32_t orders = proj_count(st, PROJ_T_ORDER), execs = proj_count(st, PROJ_T_EXEC);
    uint64_t head = oms_engine_head(t.od.eng);
    /* A batch whose late fill needs F1 (whose execution row is damaged): refused as a whole. */
    oms_cmd_t cmds[2] = {fx_new_order("N1", "ACC1", "AAPL", OMS_SIDE_BUY, "1", "20"),
                         fx_fill("F1", "e20", "1", "10")};
    oms_strlcpy(cmds[0].principal, "pm", OMS_ID_CAP);
    oms_strlcpy(cmds[0].command_id, "bad-1", OMS_ID_CAP);
    oms_strlcpy(cmds[1].principal, "venue", OMS_ID_CAP);
    oms_strlcpy(cmds[1].command_id, "bad-2", OMS_ID_CAP);
    oms_batch_t b;
    assert_int_equal(oms_engine_process(t.od.eng, cmds, 2, t.od.ts + 1000000, &b), OMS_ERR_CORRUPT);
    const char *why = oms_engine_error(t.od.eng);
    assert_non_null(strstr(why, "does not"));
    assert_non_null(strstr(why, "e1"));
    assert_int_equal(proj_count(st, PROJ_T_ORDER), orders);
    assert_int_equal(proj_count(st, PROJ_T_EXEC), execs);
    assert_int_equal(oms_engine_head(t.od.eng), head);
    assert_false(s_resident(&t, "F1") || s_resident(&t, "N1"));
    /* A damaged order row, named by a new order's duplicate check: the same. */
    s_put_row(&t.od, EVLOG_CF_ORDERS, "oC1",
              "\x12\x05"
              "C1");
    oms_cmd_t dup = fx_new_order("C1", "ACC1", "AAPL", OMS_SIDE_BUY, "1", "20");
    oms_strlcpy(dup.principal, "pm", OMS_ID_CAP);
    oms_strlcpy(dup.command_id, "bad-3", OMS_ID_CAP);
    assert_int_equal(oms_engine_process(t.od.eng, &dup, 1, t.od.ts + 2000000, &b), OMS_ERR_CORRUPT);
    assert_non_null(strstr(oms_engine_error(t.od.eng), "oC1"));
    assert_int_equal(proj_count(st, PROJ_T_ORDER), orders);
    /* Batches that need neither still run. */
    fx_ok(&t.od, "pm", fx_new_order("N2", "ACC1", "AAPL", OMS_SIDE_BUY, "1", "20"));
    assert_int_equal(oms_engine_head(t.od.eng), head + 1);
    s_od_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_transition_matrix),
        cmocka_unit_test(test_engine_average_price_is_exact),
        cmocka_unit_test(test_engine_sell_through_zero_realizes_pnl),
        cmocka_unit_test(test_engine_futures_use_the_multiplier),
        cmocka_unit_test(test_engine_allocation_largest_remainder),
        cmocka_unit_test(test_engine_pretrade_rules_at_their_boundaries),
        cmocka_unit_test(test_engine_entitlements_and_four_eyes),
        cmocka_unit_test(test_engine_idempotency_survives_restart),
        cmocka_unit_test(test_engine_rollback_forgets_the_batch),
        cmocka_unit_test(test_projections_reserve_wrong_hint_same_rows),
        cmocka_unit_test(test_engine_rollback_restores_texts),
        cmocka_unit_test(test_engine_large_order_row_is_written_whole),
        cmocka_unit_test(test_engine_limits_follow_rollback_and_restart),
        cmocka_unit_test(test_engine_end_of_day_expires_day_orders),
        cmocka_unit_test(test_engine_overfill_is_recorded_not_clipped),
        cmocka_unit_test(test_engine_request_reject_restores_status_for_current_cum),
        cmocka_unit_test(test_engine_stored_rows_equal_live_state),
        cmocka_unit_test(test_engine_replay_event_matches_apply_and_spends_on_refusal),
        cmocka_unit_test(test_engine_on_demand_restart_keeps_only_working_orders),
        cmocka_unit_test(test_engine_on_demand_duplicate_order_id),
        cmocka_unit_test(test_engine_on_demand_commands_naming_an_order),
        cmocka_unit_test(test_engine_on_demand_exec_dedup_across_orders),
        cmocka_unit_test(test_engine_on_demand_bust_loads_the_instrument),
        cmocka_unit_test(test_engine_on_demand_allocation_after_fill),
        cmocka_unit_test(test_engine_on_demand_end_of_day_in_creation_order),
        cmocka_unit_test(test_engine_on_demand_bad_row_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
