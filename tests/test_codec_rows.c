/*
 * test_codec_rows.c - proves the codec's projection rows (codec/codec.h, "projection rows"):
 *
 *   encode     a state built through proj_apply from model events (reference data of every
 *              kind, a lifted restriction, a reference price, a single-account order taken
 *              through fills, a replace, a bust, a correction, a refused cancel and a pending
 *              replace, so its ClOrdID chain has four entries; an overfilled order with a late
 *              fill; a futures order; an expired order; a block order released, filled and
 *              allocated - one allocation booked, one booked then reversed, one rejected; an
 *              order rejected at entry; an end of day) encodes every row of every table; the
 *              keys have the documented layouts; the tables without rows of their own give
 *              OMS_ERR_NOT_FOUND; the bytes do not depend on the buffer's old contents.
 *   load       every row loaded into a fresh state in the engine's order (refdata, orders,
 *              positions, allocations, meta, each in key order) gives the same table sizes and,
 *              re-encoded, exactly the same rows, byte for byte; the loaded records equal the
 *              originals field by field (only list heads, links and indices may differ), with
 *              the same ClOrdID chains, block instructions, allocation parts and instructions
 *              used, the same list counts, and the same trade date.
 *   long chain an order with a 3,001-entry ClOrdID chain round-trips the same way in a 256 KiB
 *              buffer, and gives OMS_ERR_LIMIT in a 16 KiB one.
 *   refusals   garbage, a truncated value, an over-long string
 *              -> OMS_ERR_CORRUPT; a key that disagrees with its value (another order id,
 *              exec id, position, allocation, limits scope, an unknown prefix, an empty key, an
 *              unknown "proj." meta key, a trade date of the wrong size) -> OMS_ERR_CORRUPT;
 *              meta rows of others ("evlog.head") and the events / idempotency families are
 *              skipped with 0 and change nothing; the loaders' errors come through (a row loaded
 *              twice -> OMS_ERR_EXISTS, an execution or allocation before its order ->
 *              OMS_ERR_STATE); every capacity below a row's size -> OMS_ERR_LIMIT, and a row
 *              without lists fits exactly its size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BUF_CAP      (256 * 1024) /* the engine's row scratch */
#define ARENA_CAP    (8u << 20)   /* the engine's batch arena */
#define LONG_CHAIN   3000

/* Decimal from a whole number of 1e-8 units. */
#define D(x) ((oms_dec_t)(x))
/* Decimal from whole units and a fraction in 1e-8 units. */
#define U(u, f) ((oms_dec_t)(u)*100000000 + (oms_dec_t)(f))

static const proj_table_t row_tables[] = {PROJ_T_INSTRUMENT, PROJ_T_ACCOUNT,     PROJ_T_PRINCIPAL,
                                          PROJ_T_LIMITS,     PROJ_T_RESTRICTION, PROJ_T_ORDER,
                                          PROJ_T_EXEC,       PROJ_T_POSITION,    PROJ_T_ALLOC};

/* The engine's load order. */
static const evlog_cf_t load_order[] = {EVLOG_CF_REFDATA, EVLOG_CF_ORDERS, EVLOG_CF_POSITIONS,
                                        EVLOG_CF_ALLOCATIONS, EVLOG_CF_META};

/* ---- building states -------------------------------------------------------------------- */

typedef struct {
    proj_state_t *st;
    uint64_t seq;
} build_t;

static void apply(build_t *b, const oms_event_t *ev)
{
    b->seq++;
    int rc = proj_apply(b->st, b->seq, (int64_t)b->seq * 1000003 + 1700000000000000000LL, ev);
    if (rc)
        fprintf(stderr, "proj_apply(seq %llu, type %d) = %d\n", (unsigned long long)b->seq,
                (int)ev->type, rc);
    assert_int_equal(rc, 0);
}

static oms_event_t ev_of(oms_event_type_t type)
{
    oms_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    return ev;
}

static void instrument(build_t *b, oms_event_type_t type, const char *id, oms_asset_class_t ac,
                       const char *ccy, oms_dec_t mult, oms_dec_t lot, oms_dec_t tick, bool active)
{
    oms_event_t ev = ev_of(type);
    oms_instrument_def_t *d = &ev.u.instrument;
    oms_strlcpy(d->instrument_id, id, OMS_ID_CAP);
    snprintf(d->symbol, OMS_ID_CAP, "%s.SYM", id);
    d->asset_class = ac;
    oms_strlcpy(d->currency, ccy, sizeof d->currency);
    d->multiplier = mult;
    d->lot_size = lot;
    d->tick_size = tick;
    d->active = active;
    apply(b, &ev);
}

static void account(build_t *b, const char *id, bool active, oms_release_policy_t pol,
                    bool allow_short)
{
    oms_event_t ev = ev_of(OMS_EV_ACCOUNT_DEFINED);
    oms_account_def_t *d = &ev.u.account;
    oms_strlcpy(d->account_id, id, OMS_ID_CAP);
    snprintf(d->name, OMS_ID_CAP, "Account %s", id);
    d->active = active;
    d->release_policy = pol;
    d->allow_short = allow_short;
    apply(b, &ev);
}

static void principal(build_t *b, const char *id, uint32_t roles, bool active)
{
    oms_event_t ev = ev_of(OMS_EV_PRINCIPAL_DEFINED);
    oms_strlcpy(ev.u.principal.principal_id, id, OMS_ID_CAP);
    ev.u.principal.roles = roles;
    ev.u.principal.active = active;
    apply(b, &ev);
}

static oms_opt_dec_t opt(oms_dec_t v)
{
    return (oms_opt_dec_t){true, v};
}

static const oms_opt_dec_t none = {false, 0};

static void limits(build_t *b, oms_limit_scope_t scope, const char *acc, const char *ins,
                   oms_opt_dec_t qty, oms_opt_dec_t notional, oms_opt_dec_t lng, oms_opt_dec_t shrt,
                   oms_opt_dec_t collar)
{
    oms_event_t ev = ev_of(OMS_EV_LIMITS_SET);
    oms_limits_def_t *d = &ev.u.limits;
    d->scope = scope;
    oms_strlcpy(d->account_id, acc, OMS_ID_CAP);
    oms_strlcpy(d->instrument_id, ins, OMS_ID_CAP);
    d->max_order_qty = qty;
    d->max_order_notional = notional;
    d->max_position_long = lng;
    d->max_position_short = shrt;
    d->collar_pct = collar;
    apply(b, &ev);
}

static void restriction(build_t *b, const char *ins, const char *acc, bool restricted,
                        const char *reason)
{
    oms_event_t ev = ev_of(OMS_EV_RESTRICTION_SET);
    oms_strlcpy(ev.u.restriction.instrument_id, ins, OMS_ID_CAP);
    oms_strlcpy(ev.u.restriction.account_id, acc, OMS_ID_CAP);
    ev.u.restriction.restricted = restricted;
    oms_strlcpy(ev.u.restriction.reason, reason, OMS_TEXT_CAP);
    apply(b, &ev);
}

static void ref_price(build_t *b, const char *ins, oms_dec_t px)
{
    oms_event_t ev = ev_of(OMS_EV_REFERENCE_PRICE_SET);
    oms_strlcpy(ev.u.ref_price.instrument_id, ins, OMS_ID_CAP);
    ev.u.ref_price.price = px;
    apply(b, &ev);
}

static oms_new_order_t new_order(const char *id, const char *acc, const char *ins, oms_side_t side,
                                 oms_ord_type_t type, oms_opt_dec_t px, oms_dec_t qty,
                                 oms_tif_t tif)
{
    oms_new_order_t o;
    memset(&o, 0, sizeof o);
    oms_strlcpy(o.order_id, id, OMS_ID_CAP);
    oms_strlcpy(o.account_id, acc, OMS_ID_CAP);
    oms_strlcpy(o.instrument_id, ins, OMS_ID_CAP);
    o.side = side;
    o.ord_type = type;
    o.price = px;
    o.qty = qty;
    o.tif = tif;
    snprintf(o.text, OMS_TEXT_CAP, "client text for %s", id);
    return o;
}

static void accepted(build_t *b, const oms_new_order_t *o, oms_ord_status_t st,
                     const char *entered_by, oms_release_policy_t pol)
{
    oms_event_t ev = ev_of(OMS_EV_ORDER_ACCEPTED);
    ev.u.accepted.order = *o;
    ev.u.accepted.status = st;
    oms_strlcpy(ev.u.accepted.entered_by, entered_by, OMS_ID_CAP);
    ev.u.accepted.release_policy = pol;
    apply(b, &ev);
}

static void released(build_t *b, const char *id, const char *by)
{
    oms_event_t ev = ev_of(OMS_EV_ORDER_RELEASED);
    oms_strlcpy(ev.u.released.order_id, id, OMS_ID_CAP);
    oms_strlcpy(ev.u.released.released_by, by, OMS_ID_CAP);
    ev.u.released.status = OMS_ST_PENDING_NEW;
    apply(b, &ev);
}

/* An order event with a venue header. */
static oms_event_t oev(oms_event_type_t type, const char *order_id, const char *venue,
                       const char *exec_id, oms_ord_status_t st)
{
    oms_event_t ev = ev_of(type);
    oms_ev_order_t *o = &ev.u.order;
    oms_strlcpy(o->h.order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(o->h.venue, venue, OMS_ID_CAP);
    oms_strlcpy(o->h.exec_id, exec_id, OMS_ID_CAP);
    o->status = st;
    return ev;
}

static void acked(build_t *b, const char *id, const char *venue, const char *venue_order_id)
{
    oms_event_t ev = oev(OMS_EV_ORDER_ACKNOWLEDGED, id, venue, "ACK", OMS_ST_NEW);
    oms_strlcpy(ev.u.order.h.venue_order_id, venue_order_id, OMS_ID_CAP);
    apply(b, &ev);
}

static void filled(build_t *b, const char *id, const char *venue, const char *exec_id,
                   oms_dec_t qty, oms_dec_t px, oms_dec_t cum, oms_dec_t leaves,
                   oms_ord_status_t st, bool overfill, bool late)
{
    oms_event_t ev = oev(OMS_EV_ORDER_FILLED, id, venue, exec_id, st);
    oms_ev_order_t *o = &ev.u.order;
    o->h.transact_ts_ns = 1700000000123456789LL + (int64_t)b->seq;
    o->last_qty = qty;
    o->last_px = px;
    o->cum_qty = cum;
    o->leaves_qty = leaves;
    o->overfill = overfill;
    o->late = late;
    apply(b, &ev);
}

static void busted_or_corrected(build_t *b, oms_event_type_t type, const char *id,
                                const char *venue, const char *ref, oms_dec_t old_qty,
                                oms_dec_t old_px, oms_dec_t new_qty, oms_dec_t new_px,
                                oms_dec_t cum, oms_dec_t leaves, oms_ord_status_t st)
{
    oms_event_t ev = oev(type, id, venue, "", st);
    oms_ev_order_t *o = &ev.u.order;
    snprintf(o->h.exec_id, OMS_ID_CAP, "%s-ADJ", ref);
    oms_strlcpy(o->ref_exec_id, ref, OMS_ID_CAP);
    o->last_qty = old_qty;
    o->last_px = old_px;
    o->new_qty = new_qty;
    o->new_px = new_px;
    o->cum_qty = cum;
    o->leaves_qty = leaves;
    apply(b, &ev);
}

static void request(build_t *b, oms_event_type_t type, const char *id, const char *cl,
                    const char *orig, oms_opt_dec_t qty, oms_opt_dec_t px, oms_ord_status_t st,
                    oms_ord_status_t prior)
{
    oms_event_t ev = ev_of(type);
    oms_ev_request_t *r = &ev.u.request;
    oms_strlcpy(r->order_id, id, OMS_ID_CAP);
    oms_strlcpy(r->cl_ord_id, cl, OMS_ID_CAP);
    oms_strlcpy(r->orig_cl_ord_id, orig, OMS_ID_CAP);
    r->qty = qty;
    r->price = px;
    r->status = st;
    r->prior_status = prior;
    apply(b, &ev);
}

static void alloc_event(build_t *b, oms_event_type_t type, const char *order_id,
                        const char *alloc_id, oms_dec_t qty, oms_dec_t avg_px,
                        const oms_alloc_part_t *parts, uint32_t n_parts,
                        const oms_alloc_instr_t *instrs, uint32_t n_instrs, oms_alloc_status_t st,
                        const char *text)
{
    oms_event_t ev = ev_of(type);
    oms_ev_alloc_t *a = &ev.u.alloc;
    oms_strlcpy(a->order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(a->alloc_id, alloc_id, OMS_ID_CAP);
    oms_strlcpy(a->instrument_id, "AAPL", OMS_ID_CAP);
    a->side = OMS_SIDE_BUY;
    a->qty = qty;
    a->avg_px = avg_px;
    a->parts = parts;
    a->n_parts = n_parts;
    a->instrs = instrs;
    a->n_instrs = n_instrs;
    a->status = st;
    oms_strlcpy(a->text, text, OMS_TEXT_CAP);
    apply(b, &ev);
}

/* The main scenario. */
static proj_state_t *build_scenario(void)
{
    build_t b = {proj_new(), 0};
    assert_non_null(b.st);

    /* Reference data. */
    proj_begin(b.st);
    instrument(&b, OMS_EV_INSTRUMENT_DEFINED, "AAPL", OMS_ASSET_EQUITY, "USD", U(1, 0), U(1, 0),
               D(1000000), true);
    instrument(&b, OMS_EV_INSTRUMENT_DEFINED, "ESZ5", OMS_ASSET_FUTURE, "USD", U(50, 0), U(1, 0),
               D(25000000), true);
    instrument(&b, OMS_EV_INSTRUMENT_DEFINED, "VOD", OMS_ASSET_EQUITY, "GBP", U(1, 0), U(1, 0),
               D(100000), true);
    instrument(&b, OMS_EV_INSTRUMENT_DEFINED, "TSLA", OMS_ASSET_EQUITY, "USD", U(1, 0), U(1, 0),
               D(1000000), true);
    account(&b, "ACC1", true, OMS_RELEASE_AUTO, true);
    account(&b, "ACC2", true, OMS_RELEASE_FOUR_EYES, false);
    account(&b, "ACC3", false, OMS_RELEASE_AUTO, false);
    principal(&b, "pm1", (1u << OMS_ROLE_PORTFOLIO_MANAGER) | (1u << OMS_ROLE_TRADER), true);
    principal(&b, "ops1",
              (1u << OMS_ROLE_OPERATIONS) | (1u << OMS_ROLE_COMPLIANCE) | (1u << OMS_ROLE_ADMIN),
              true);
    principal(&b, "venue1", 1u << OMS_ROLE_VENUE, true);
    principal(&b, "gone", 0, false);
    limits(&b, OMS_SCOPE_FIRM, "", "", opt(U(1000000, 0)), none, none, none, opt(D(10000000)));
    limits(&b, OMS_SCOPE_ACCOUNT, "ACC1", "", none, none, opt(U(50000, 0)), opt(U(20000, 0)), none);
    limits(&b, OMS_SCOPE_ACCOUNT_INSTRUMENT, "ACC1", "AAPL", opt(U(5000, 0)),
           opt(U(2000000, 12345678)), opt(U(10000, 0)), opt(U(3000, 0)), opt(D(5000000)));
    limits(&b, OMS_SCOPE_FIRM, "", "", opt(U(900000, 0)), opt(U(90000000, 0)), none, none,
           opt(D(8000000))); /* an update */
    restriction(&b, "TSLA", "", true, "news pending");
    restriction(&b, "AAPL", "ACC3", true, "insider");
    restriction(&b, "AAPL", "ACC3", false, "cleared by compliance"); /* lifted */
    ref_price(&b, "AAPL", U(190, 0));
    ref_price(&b, "ESZ5", U(5000, 25000000));
    proj_commit(b.st);

    /* O1: fills, a replace, a bust, a correction, a refused cancel, a pending replace. */
    proj_begin(b.st);
    oms_new_order_t o1 = new_order("O1", "ACC1", "AAPL", OMS_SIDE_BUY, OMS_ORD_LIMIT,
                                   opt(U(190, 50000000)), U(1000, 0), OMS_TIF_DAY);
    accepted(&b, &o1, OMS_ST_PENDING_NEW, "pm1", OMS_RELEASE_AUTO);
    acked(&b, "O1", "XNAS", "V-O1");
    filled(&b, "O1", "XNAS", "E1", U(300, 0), U(190, 25000000), U(300, 0), U(700, 0),
           OMS_ST_PARTIALLY_FILLED, false, false);
    request(&b, OMS_EV_REPLACE_REQUESTED, "O1", "O1-C2", "O1", opt(U(1200, 0)),
            opt(U(190, 75000000)), OMS_ST_PENDING_REPLACE, OMS_ST_PARTIALLY_FILLED);
    {
        oms_event_t ev = oev(OMS_EV_ORDER_REPLACED, "O1", "XNAS", "RPL", OMS_ST_PARTIALLY_FILLED);
        oms_strlcpy(ev.u.order.h.cl_ord_id, "O1-C2", OMS_ID_CAP);
        oms_strlcpy(ev.u.order.orig_cl_ord_id, "O1", OMS_ID_CAP);
        ev.u.order.qty = U(1200, 0);
        ev.u.order.price = opt(U(190, 75000000));
        ev.u.order.cum_qty = U(300, 0);
        ev.u.order.leaves_qty = U(900, 0);
        apply(&b, &ev);
    }
    filled(&b, "O1", "XNAS", "E2", U(400, 0), U(190, 70000000), U(700, 0), U(500, 0),
           OMS_ST_PARTIALLY_FILLED, false, false);
    filled(&b, "O1", "XNAS", "E3", U(100, 0), U(190, 60000000), U(800, 0), U(400, 0),
           OMS_ST_PARTIALLY_FILLED, false, false);
    busted_or_corrected(&b, OMS_EV_TRADE_BUSTED, "O1", "XNAS", "E2", U(400, 0), U(190, 70000000), 0,
                        0, U(400, 0), U(800, 0), OMS_ST_PARTIALLY_FILLED);
    busted_or_corrected(&b, OMS_EV_TRADE_CORRECTED, "O1", "XNAS", "E3", U(100, 0), U(190, 60000000),
                        U(150, 0), U(190, 55000000), U(450, 0), U(750, 0), OMS_ST_PARTIALLY_FILLED);
    request(&b, OMS_EV_CANCEL_REQUESTED, "O1", "O1-C3", "O1-C2", none, none, OMS_ST_PENDING_CANCEL,
            OMS_ST_PARTIALLY_FILLED);
    {
        oms_event_t ev =
            oev(OMS_EV_CANCEL_REJECTED, "O1", "XNAS", "CXLREJ", OMS_ST_PARTIALLY_FILLED);
        oms_strlcpy(ev.u.order.h.cl_ord_id, "O1-C3", OMS_ID_CAP);
        apply(&b, &ev);
    }
    request(&b, OMS_EV_REPLACE_REQUESTED, "O1", "O1-C4", "O1-C2", opt(U(1500, 0)), none,
            OMS_ST_PENDING_REPLACE, OMS_ST_PARTIALLY_FILLED);
    proj_commit(b.st);

    /* O2: GTD sell, overfilled, then a late fill. */
    proj_begin(b.st);
    oms_new_order_t o2 = new_order("O2", "ACC2", "AAPL", OMS_SIDE_SELL, OMS_ORD_LIMIT,
                                   opt(U(191, 0)), U(100, 0), OMS_TIF_GTD);
    o2.expire_ts_ns = 1800000000000000000LL;
    accepted(&b, &o2, OMS_ST_PENDING_NEW, "pm1", OMS_RELEASE_FOUR_EYES);
    acked(&b, "O2", "XNYS", "V-O2");
    filled(&b, "O2", "XNYS", "F-O2-1", U(150, 0), U(191, 10000000), U(150, 0), 0, OMS_ST_FILLED,
           true, false);
    filled(&b, "O2", "XNYS", "F-O2-2", U(10, 0), U(191, 20000000), U(160, 0), 0, OMS_ST_FILLED,
           true, true);

    /* O3: a futures short. O4: a DAY order that expires. */
    oms_new_order_t o3 = new_order("O3", "ACC1", "ESZ5", OMS_SIDE_SELL_SHORT, OMS_ORD_LIMIT,
                                   opt(U(5000, 0)), U(2, 0), OMS_TIF_GTC);
    accepted(&b, &o3, OMS_ST_PENDING_NEW, "pm1", OMS_RELEASE_AUTO);
    acked(&b, "O3", "XCME", "V-O3");
    filled(&b, "O3", "XCME", "X1", U(2, 0), U(5001, 25000000), U(2, 0), 0, OMS_ST_FILLED, false,
           false);
    oms_new_order_t o4 = new_order("O4", "ACC1", "AAPL", OMS_SIDE_BUY, OMS_ORD_LIMIT,
                                   opt(U(150, 0)), U(50, 0), OMS_TIF_DAY);
    accepted(&b, &o4, OMS_ST_PENDING_NEW, "pm1", OMS_RELEASE_AUTO);
    acked(&b, "O4", "XNAS", "V-O4");
    {
        oms_event_t ev = oev(OMS_EV_ORDER_EXPIRED, "O4", "", "", OMS_ST_EXPIRED);
        ev.u.order.gone_qty = U(50, 0);
        oms_strlcpy(ev.u.order.trade_date, "2025-06-30", OMS_DATE_CAP);
        apply(&b, &ev);
    }
    proj_commit(b.st);

    /* B1: a block, released, filled, allocated three times. */
    proj_begin(b.st);
    static const oms_alloc_instr_t b1_instrs[] = {{"ACC1", true, U(3, 0)}, {"ACC2", true, U(2, 0)}};
    oms_new_order_t bo =
        new_order("B1", "", "AAPL", OMS_SIDE_BUY, OMS_ORD_MARKET, none, U(1000, 0), OMS_TIF_GTC);
    bo.allocs = b1_instrs;
    bo.n_allocs = 2;
    accepted(&b, &bo, OMS_ST_PENDING_RELEASE, "pm1", OMS_RELEASE_FOUR_EYES);
    released(&b, "B1", "ops1");
    acked(&b, "B1", "XNYS", "V-B1");
    filled(&b, "B1", "XNYS", "F1", U(600, 0), U(190, 10000000), U(600, 0), U(400, 0),
           OMS_ST_PARTIALLY_FILLED, false, false);
    filled(&b, "B1", "XNYS", "F2", U(400, 0), U(190, 20000000), U(1000, 0), 0, OMS_ST_FILLED, false,
           false);
    proj_commit(b.st);

    proj_begin(b.st);
    static const oms_alloc_part_t parts[] = {{"ACC1", U(300, 0), U(190, 14000000)},
                                             {"ACC2", U(200, 0), U(190, 14000000)}};
    static const oms_alloc_instr_t by_qty[] = {{"ACC1", false, U(300, 0)},
                                               {"ACC2", false, U(200, 0)}};
    alloc_event(&b, OMS_EV_ALLOCATION_BOOKED, "B1", "A1", U(500, 0), U(190, 14000000), parts, 2,
                b1_instrs, 2, OMS_ALLOC_ST_BOOKED, "first half");
    alloc_event(&b, OMS_EV_ALLOCATION_BOOKED, "B1", "A2", U(500, 0), U(190, 14000000), parts, 2,
                by_qty, 2, OMS_ALLOC_ST_BOOKED, "second half");
    alloc_event(&b, OMS_EV_ALLOCATION_REVERSED, "B1", "A2", U(500, 0), 0, parts, 2, NULL, 0,
                OMS_ALLOC_ST_REVERSED, "wrong accounts");
    {
        oms_event_t ev = ev_of(OMS_EV_ALLOCATION_REJECTED);
        oms_ev_alloc_t *a = &ev.u.alloc;
        oms_strlcpy(a->order_id, "B1", OMS_ID_CAP);
        oms_strlcpy(a->alloc_id, "A3", OMS_ID_CAP);
        a->status = OMS_ALLOC_ST_REJECTED;
        a->reason = OMS_RR_BAD_ALLOC_INSTRUCTIONS;
        oms_strlcpy(a->rule_id, "ALC-002", OMS_RULE_CAP);
        a->asked_qty = opt(U(700, 0));
        oms_strlcpy(a->text, "more than unallocated", OMS_TEXT_CAP);
        apply(&b, &ev);
    }
    proj_commit(b.st);

    /* R1: a block order rejected at entry. Then the end of day. */
    proj_begin(b.st);
    {
        static const oms_alloc_instr_t r1_instrs[] = {{"ACC1", false, U(50, 0)}};
        oms_cmd_t cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = OMS_CMD_NEW_ORDER;
        oms_strlcpy(cmd.command_id, "cmd-r1", OMS_ID_CAP);
        oms_strlcpy(cmd.principal, "pm1", OMS_ID_CAP);
        cmd.u.new_order = new_order("R1", "", "TSLA", OMS_SIDE_BUY, OMS_ORD_LIMIT, opt(U(250, 0)),
                                    U(50, 0), OMS_TIF_DAY);
        cmd.u.new_order.allocs = r1_instrs;
        cmd.u.new_order.n_allocs = 1;
        oms_event_t ev = ev_of(OMS_EV_COMMAND_REJECTED);
        oms_ev_rejected_t *r = &ev.u.rejected;
        oms_strlcpy(r->rule_id, "PTC-005", OMS_RULE_CAP);
        r->reason = OMS_RR_RESTRICTED;
        oms_strlcpy(r->text, "instrument 'TSLA' is restricted firm-wide: news pending",
                    OMS_TEXT_CAP);
        r->command_type = OMS_CMD_NEW_ORDER;
        r->command = &cmd;
        r->order_rejected = true;
        apply(&b, &ev);
    }
    {
        oms_event_t ev = ev_of(OMS_EV_END_OF_DAY_PROCESSED);
        oms_strlcpy(ev.u.eod.trade_date, "2025-06-30", OMS_DATE_CAP);
        ev.u.eod.orders_expired = 1;
        apply(&b, &ev);
    }
    proj_commit(b.st);
    return b.st;
}

/* An order whose ClOrdID chain has LONG_CHAIN + 1 entries. */
static proj_state_t *build_long_chain(void)
{
    build_t b = {proj_new(), 0};
    assert_non_null(b.st);
    proj_begin(b.st);
    instrument(&b, OMS_EV_INSTRUMENT_DEFINED, "AAPL", OMS_ASSET_EQUITY, "USD", U(1, 0), U(1, 0),
               D(1000000), true);
    account(&b, "ACC1", true, OMS_RELEASE_AUTO, true);
    oms_new_order_t o = new_order("L1", "ACC1", "AAPL", OMS_SIDE_BUY, OMS_ORD_LIMIT, opt(U(100, 0)),
                                  U(10, 0), OMS_TIF_GTC);
    accepted(&b, &o, OMS_ST_PENDING_NEW, "pm1", OMS_RELEASE_AUTO);
    acked(&b, "L1", "XNAS", "V-L1");
    proj_commit(b.st);
    for (int i = 0; i < LONG_CHAIN; i++) {
        char cl[OMS_ID_CAP];
        snprintf(cl, sizeof cl, "L1-replace-request-%06d", i);
        proj_begin(b.st);
        request(&b, OMS_EV_REPLACE_REQUESTED, "L1", cl, "L1", opt(U(11, 0)), none,
                OMS_ST_PENDING_REPLACE, OMS_ST_NEW);
        oms_event_t ev = oev(OMS_EV_REPLACE_REJECTED, "L1", "XNAS", "", OMS_ST_NEW);
        oms_strlcpy(ev.u.order.h.cl_ord_id, cl, OMS_ID_CAP);
        apply(&b, &ev);
        proj_commit(b.st);
    }
    return b.st;
}

/* ---- rows as data ------------------------------------------------------------------------- */

typedef struct {
    evlog_cf_t cf;
    uint8_t *key;
    size_t klen;
    uint8_t *val;
    size_t vlen;
} row_copy_t;

typedef struct {
    row_copy_t *r;
    size_t n, cap;
} rows_t;

static void rows_add(rows_t *rs, const codec_row_t *row)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 64;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
        assert_non_null(rs->r);
    }
    row_copy_t *c = &rs->r[rs->n++];
    c->cf = row->cf;
    c->klen = row->klen;
    c->vlen = row->vlen;
    c->key = malloc(row->klen ? row->klen : 1);
    c->val = malloc(row->vlen ? row->vlen : 1);
    assert_true(c->key && c->val);
    memcpy(c->key, row->key, row->klen);
    memcpy(c->val, row->val, row->vlen);
}

static void rows_free(rows_t *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].key);
        free(rs->r[i].val);
    }
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

static int cf_rank(evlog_cf_t cf)
{
    for (size_t i = 0; i < ARRAY_LEN(load_order); i++)
        if (load_order[i] == cf)
            return (int)i;
    return 99;
}

/* RocksDB's order within the engine's load order: family, then bytewise key. */
static int row_cmp(const void *pa, const void *pb)
{
    const row_copy_t *a = pa, *b = pb;
    int ra = cf_rank(a->cf), rb = cf_rank(b->cf);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    return a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* Every row of the state (as oms_engine_rows gives them), sorted in load order. */
static rows_t all_rows(const proj_state_t *st, uint8_t *buf)
{
    rows_t rs = {0};
    codec_row_t row;
    for (size_t t = 0; t < ARRAY_LEN(row_tables); t++) {
        for (uint32_t i = 0; i < proj_count(st, row_tables[t]); i++) {
            int rc = codec_row_encode(st, row_tables[t], i, &row, buf, BUF_CAP);
            assert_int_equal(rc, 0);
            rows_add(&rs, &row);
        }
    }
    if (proj_trade_date(st, NULL)[0]) {
        assert_int_equal(codec_row_encode_trade_date(st, &row, buf, BUF_CAP), 0);
        rows_add(&rs, &row);
    }
    qsort(rs.r, rs.n, sizeof *rs.r, row_cmp);
    return rs;
}

/* Loads rows (already in load order) into a fresh state. */
static proj_state_t *load_rows(const rows_t *rs, oms_arena_t *arena)
{
    proj_state_t *st = proj_new();
    assert_non_null(st);
    for (size_t i = 0; i < rs->n; i++) {
        const row_copy_t *r = &rs->r[i];
        int rc = codec_row_load(st, (int)r->cf, r->key, r->klen, r->val, r->vlen, arena);
        oms_arena_reset(arena);
        if (rc)
            fprintf(stderr, "row %zu (cf %d, key %.*s) -> %d\n", i, (int)r->cf, (int)r->klen,
                    (const char *)r->key, rc);
        assert_int_equal(rc, 0);
    }
    return st;
}

static bool has_bytes(const uint8_t *p, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(p + i, needle, m) == 0)
            return true;
    return false;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

typedef struct {
    proj_state_t *st;    /* the scenario */
    proj_state_t *chain; /* the long chain */
    uint8_t *buf;        /* BUF_CAP bytes */
    oms_arena_t arena;
} fix_t;

static fix_t fx;

static int s_setup(void **state)
{
    (void)state;
    fx.st = build_scenario();
    fx.chain = build_long_chain();
    fx.buf = malloc(BUF_CAP);
    if (!fx.buf || oms_arena_init(&fx.arena, ARENA_CAP) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    proj_destroy(&fx.st);
    proj_destroy(&fx.chain);
    free(fx.buf);
    oms_arena_free(&fx.arena);
    return 0;
}

/* A row of the scenario, copied (the caller frees it with rows_free). */
static rows_t one_row(const proj_state_t *st, proj_table_t t, uint32_t idx)
{
    rows_t rs = {0};
    codec_row_t row;
    assert_int_equal(codec_row_encode(st, t, idx, &row, fx.buf, BUF_CAP), 0);
    rows_add(&rs, &row);
    return rs;
}

static uint32_t index_of(proj_table_t t, const void *rec)
{
    assert_non_null(rec);
    uint32_t idx = proj_index_of(fx.st, t, rec);
    assert_int_not_equal(idx, PROJ_NIL);
    return idx;
}

/* ---- field-by-field equality ---------------------------------------------------------------- */

#define EQ(f)     assert_true(a->f == b->f)
#define EQ_STR(f) assert_string_equal(a->f, b->f)
#define EQ_OPT(f)                                                                                  \
    do {                                                                                           \
        assert_int_equal(a->f.set, b->f.set);                                                      \
        if (a->f.set)                                                                              \
            assert_true(a->f.v == b->f.v);                                                         \
    } while (0)

static void eq_instrument(const proj_instrument_t *a, const proj_instrument_t *b)
{
    EQ_STR(def.instrument_id);
    EQ_STR(def.symbol);
    EQ(def.asset_class);
    EQ_STR(def.currency);
    EQ(def.multiplier);
    EQ(def.lot_size);
    EQ(def.tick_size);
    EQ(def.active);
    EQ_OPT(ref_px);
    EQ(ref_px_seq);
    EQ(last_seq);
}

static void eq_account(const proj_account_t *a, const proj_account_t *b)
{
    EQ_STR(def.account_id);
    EQ_STR(def.name);
    EQ(def.active);
    EQ(def.release_policy);
    EQ(def.allow_short);
    EQ(last_seq);
}

static void eq_principal(const proj_principal_t *a, const proj_principal_t *b)
{
    EQ_STR(def.principal_id);
    EQ(def.roles);
    EQ(def.active);
    EQ(last_seq);
}

static void eq_limits(const proj_limits_t *a, const proj_limits_t *b)
{
    EQ(def.scope);
    EQ_STR(def.account_id);
    EQ_STR(def.instrument_id);
    EQ_OPT(def.max_order_qty);
    EQ_OPT(def.max_order_notional);
    EQ_OPT(def.max_position_long);
    EQ_OPT(def.max_position_short);
    EQ_OPT(def.collar_pct);
    EQ(last_seq);
}

static void eq_restriction(const proj_restriction_t *a, const proj_restriction_t *b)
{
    EQ_STR(instrument_id);
    EQ_STR(account_id);
    EQ(restricted);
    EQ_STR(reason);
    EQ(last_seq);
}

static void eq_alloc_instr(const oms_alloc_instr_t *a, const oms_alloc_instr_t *b)
{
    EQ_STR(account_id);
    EQ(by_weight);
    EQ(share);
}

/* Orders, with their ClOrdID chains and block instructions (sa, sb: their states). */
static void eq_order(const proj_state_t *sa, const proj_order_t *a, const proj_state_t *sb,
                     const proj_order_t *b)
{
    EQ_STR(order_id);
    EQ_STR(account_id);
    EQ_STR(instrument_id);
    EQ(side);
    EQ(ord_type);
    EQ_OPT(price);
    EQ(qty);
    EQ(tif);
    EQ(expire_ts_ns);
    assert_string_equal(proj_str(a->text), proj_str(b->text));
    EQ(status);
    EQ(cum);
    EQ(leaves);
    EQ(px_qty_sum);
    EQ(prior_status);
    EQ_OPT(pending_qty);
    EQ_OPT(pending_price);
    EQ(fill_count);
    EQ(overfilled);
    EQ(is_block);
    EQ_STR(cl_ord_id);
    EQ_STR(pending_cl_ord_id);
    EQ_STR(venue);
    EQ_STR(venue_order_id);
    EQ_STR(entered_by);
    EQ_STR(released_by);
    EQ(release_policy);
    EQ(reject_reason);
    EQ_STR(reject_rule_id);
    assert_string_equal(proj_str(a->reject_text), proj_str(b->reject_text));
    EQ(allocated_qty);
    EQ(created_seq);
    EQ(last_seq);
    EQ(created_ts_ns);
    EQ(updated_ts_ns);
    EQ(n_clordids);
    EQ(n_instrs);
    EQ(n_execs);
    EQ(n_allocs);
    uint32_t i = a->first_clordid, j = b->first_clordid;
    for (uint32_t k = 1; k < a->n_clordids; k++) { /* the first is the order id itself */
        const proj_clordid_t *ca = proj_at(sa, PROJ_T_CLORDID, i);
        const proj_clordid_t *cb = proj_at(sb, PROJ_T_CLORDID, j);
        assert_true(ca && cb);
        assert_string_equal(ca->cl_ord_id, cb->cl_ord_id);
        assert_string_equal(((const proj_order_t *)proj_at(sb, PROJ_T_ORDER, cb->order))->order_id,
                            b->order_id);
        i = ca->next;
        j = cb->next;
    }
    assert_true(i == PROJ_NIL && j == PROJ_NIL);
    i = a->first_instr;
    j = b->first_instr;
    for (uint32_t k = 0; k < a->n_instrs; k++) {
        const proj_instr_t *ia = proj_at(sa, PROJ_T_INSTR, i);
        const proj_instr_t *ib = proj_at(sb, PROJ_T_INSTR, j);
        assert_true(ia && ib);
        eq_alloc_instr(&ia->instr, &ib->instr);
        i = ia->next;
        j = ib->next;
    }
    assert_true(i == PROJ_NIL && j == PROJ_NIL);
}

static void eq_exec(const proj_state_t *sa, const proj_exec_t *a, const proj_state_t *sb,
                    const proj_exec_t *b)
{
    EQ_STR(venue);
    EQ_STR(exec_id);
    assert_string_equal(((const proj_order_t *)proj_at(sa, PROJ_T_ORDER, a->order))->order_id,
                        ((const proj_order_t *)proj_at(sb, PROJ_T_ORDER, b->order))->order_id);
    EQ(qty);
    EQ(px);
    EQ(transact_ts_ns);
    EQ(busted);
    EQ(late);
    EQ(seq);
    EQ(last_seq);
}

static void eq_position(const proj_position_t *a, const proj_position_t *b)
{
    EQ_STR(account_id);
    EQ_STR(instrument_id);
    EQ(qty);
    EQ(cost_basis);
    EQ(realized_pnl);
    EQ(open_buy_leaves);
    EQ(open_sell_leaves);
    EQ(last_seq);
}

static void eq_parts(const proj_state_t *sa, uint32_t i, const proj_state_t *sb, uint32_t j,
                     uint32_t n, bool is_instr)
{
    for (uint32_t k = 0; k < n; k++) {
        const proj_part_t *pa = proj_at(sa, PROJ_T_PART, i);
        const proj_part_t *pb = proj_at(sb, PROJ_T_PART, j);
        assert_true(pa && pb);
        assert_int_equal(pa->is_instr, is_instr);
        assert_int_equal(pb->is_instr, is_instr);
        if (is_instr) {
            eq_alloc_instr(&pa->instr, &pb->instr);
        } else {
            const oms_alloc_part_t *a = &pa->part, *b = &pb->part;
            EQ_STR(account_id);
            EQ(qty);
            EQ(px);
        }
        i = pa->next;
        j = pb->next;
    }
    assert_true(i == PROJ_NIL && j == PROJ_NIL);
}

static void eq_alloc(const proj_state_t *sa, const proj_alloc_t *a, const proj_state_t *sb,
                     const proj_alloc_t *b)
{
    EQ_STR(order_id);
    EQ_STR(alloc_id);
    assert_string_equal(((const proj_order_t *)proj_at(sa, PROJ_T_ORDER, a->order))->order_id,
                        ((const proj_order_t *)proj_at(sb, PROJ_T_ORDER, b->order))->order_id);
    EQ(status);
    EQ(qty);
    EQ(avg_px);
    EQ(reject_reason);
    EQ_STR(text);
    EQ(n_parts);
    EQ(n_used);
    EQ(created_seq);
    EQ(last_seq);
    eq_parts(sa, a->first_part, sb, b->first_part, a->n_parts, false);
    eq_parts(sa, a->first_used, sb, b->first_used, a->n_used, true);
}

/* Every record of sa has its equal in sb, and the tables are the same size. */
static void eq_states(const proj_state_t *sa, const proj_state_t *sb)
{
    for (int t = 0; t < PROJ_T_COUNT_; t++)
        assert_int_equal(proj_count(sa, (proj_table_t)t), proj_count(sb, (proj_table_t)t));
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_INSTRUMENT); i++) {
        const proj_instrument_t *a = proj_at(sa, PROJ_T_INSTRUMENT, i);
        eq_instrument(a, proj_instrument(sb, a->def.instrument_id));
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_ACCOUNT); i++) {
        const proj_account_t *a = proj_at(sa, PROJ_T_ACCOUNT, i);
        eq_account(a, proj_account(sb, a->def.account_id));
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_PRINCIPAL); i++) {
        const proj_principal_t *a = proj_at(sa, PROJ_T_PRINCIPAL, i);
        eq_principal(a, proj_principal(sb, a->def.principal_id));
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_LIMITS); i++) {
        const proj_limits_t *a = proj_at(sa, PROJ_T_LIMITS, i);
        eq_limits(a, proj_limits(sb, a->def.scope, a->def.account_id, a->def.instrument_id));
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_RESTRICTION); i++) {
        const proj_restriction_t *a = proj_at(sa, PROJ_T_RESTRICTION, i);
        eq_restriction(a, proj_restriction(sb, a->instrument_id, a->account_id));
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_ORDER); i++) {
        const proj_order_t *a = proj_at(sa, PROJ_T_ORDER, i);
        const proj_order_t *b = proj_order(sb, a->order_id);
        assert_non_null(b);
        eq_order(sa, a, sb, b);
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_EXEC); i++) {
        const proj_exec_t *a = proj_at(sa, PROJ_T_EXEC, i);
        const proj_exec_t *b = proj_exec(sb, a->venue, a->exec_id);
        assert_non_null(b);
        eq_exec(sa, a, sb, b);
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_POSITION); i++) {
        const proj_position_t *a = proj_at(sa, PROJ_T_POSITION, i);
        const proj_position_t *b = proj_position(sb, a->account_id, a->instrument_id);
        assert_non_null(b);
        eq_position(a, b);
    }
    for (uint32_t i = 0; i < proj_count(sa, PROJ_T_ALLOC); i++) {
        const proj_alloc_t *a = proj_at(sa, PROJ_T_ALLOC, i);
        const proj_alloc_t *b = proj_alloc(sb, a->order_id, a->alloc_id);
        assert_non_null(b);
        eq_alloc(sa, a, sb, b);
    }
    uint64_t qa, qb;
    assert_string_equal(proj_trade_date(sa, &qa), proj_trade_date(sb, &qb));
    assert_true(qa == qb);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_codec_rows_scenario_covers_every_table(void **state)
{
    (void)state;
    for (size_t t = 0; t < ARRAY_LEN(row_tables); t++)
        assert_true(proj_count(fx.st, row_tables[t]) > 0);
    assert_true(proj_count(fx.st, PROJ_T_CLORDID) > 0); /* ClOrdIDs after the first */
    assert_true(proj_count(fx.st, PROJ_T_INSTR) > 0);
    assert_true(proj_count(fx.st, PROJ_T_PART) > 0);
    const proj_order_t *o1 = proj_order(fx.st, "O1");
    assert_int_equal(o1->n_clordids, 4);
    assert_int_equal(o1->fill_count, 2);
    assert_true(o1->pending_qty.set && !o1->pending_price.set);
    const proj_exec_t *e2 = proj_exec(fx.st, "XNAS", "E2");
    assert_true(e2->busted);
    assert_int_equal(proj_exec(fx.st, "XNAS", "E3")->qty, U(150, 0));
    assert_true(proj_order(fx.st, "O2")->overfilled);
    assert_true(proj_exec(fx.st, "XNYS", "F-O2-2")->late);
    assert_int_equal(proj_alloc(fx.st, "B1", "A2")->status, OMS_ALLOC_ST_REVERSED);
    assert_int_equal(proj_alloc(fx.st, "B1", "A3")->status, OMS_ALLOC_ST_REJECTED);
    assert_true(proj_order(fx.st, "R1")->is_block);
    assert_int_equal(proj_order(fx.st, "R1")->status, OMS_ST_REJECTED);
    assert_false(proj_restriction(fx.st, "AAPL", "ACC3")->restricted);
    assert_true(proj_position(fx.st, "ACC2", "AAPL")->qty < 0 ||
                proj_position(fx.st, "ACC2", "AAPL")->realized_pnl != 0);
    assert_non_null(proj_position(fx.st, "", "AAPL"));
}

static void test_codec_rows_every_row_encodes(void **state)
{
    (void)state;
    codec_row_t row;
    for (size_t t = 0; t < ARRAY_LEN(row_tables); t++) {
        for (uint32_t i = 0; i < proj_count(fx.st, row_tables[t]); i++) {
            memset(&row, 0, sizeof row);
            assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &row, fx.buf, BUF_CAP), 0);
            assert_ptr_equal(row.key, fx.buf);
            assert_ptr_equal(row.val, fx.buf + row.klen);
            assert_true(row.klen > 0 && row.klen <= OMS_LIMIT_ROW_KEY_BYTES);
            assert_true(row.vlen > 0);
        }
    }
    assert_int_equal(codec_row_encode_trade_date(fx.st, &row, fx.buf, BUF_CAP), 0);
    /* Tables without rows of their own; records out of range. */
    static const proj_table_t inner[] = {PROJ_T_CLORDID, PROJ_T_INSTR, PROJ_T_PART};
    for (size_t t = 0; t < ARRAY_LEN(inner); t++)
        assert_int_equal(codec_row_encode(fx.st, inner[t], 0, &row, fx.buf, BUF_CAP),
                         OMS_ERR_NOT_FOUND);
    assert_int_equal(codec_row_encode(fx.st, PROJ_T_ORDER, proj_count(fx.st, PROJ_T_ORDER), &row,
                                      fx.buf, BUF_CAP),
                     OMS_ERR_INVALID);
    assert_int_equal(codec_row_encode(fx.st, PROJ_T_COUNT_, 0, &row, fx.buf, BUF_CAP),
                     OMS_ERR_INVALID);
}

/* Checks the row of record rec of table t: its family and key. */
static void expect_key(proj_table_t t, const void *rec, evlog_cf_t cf, const char *key, size_t klen)
{
    codec_row_t row;
    assert_int_equal(codec_row_encode(fx.st, t, index_of(t, rec), &row, fx.buf, BUF_CAP), 0);
    if (row.cf != cf || row.klen != klen || memcmp(row.key, key, klen) != 0)
        fprintf(stderr, "table %d: cf %d key '%.*s', want cf %d key '%.*s'\n", (int)t, (int)row.cf,
                (int)row.klen, (const char *)row.key, (int)cf, (int)klen, key);
    assert_int_equal(row.cf, cf);
    assert_int_equal(row.klen, klen);
    assert_memory_equal(row.key, key, klen);
}

#define KEY(s) s, sizeof(s) - 1

static void test_codec_rows_keys_have_documented_layouts(void **state)
{
    (void)state;
    const proj_state_t *st = fx.st;
    expect_key(PROJ_T_INSTRUMENT, proj_instrument(st, "AAPL"), EVLOG_CF_REFDATA, KEY("iAAPL"));
    expect_key(PROJ_T_ACCOUNT, proj_account(st, "ACC2"), EVLOG_CF_REFDATA, KEY("aACC2"));
    expect_key(PROJ_T_PRINCIPAL, proj_principal(st, "pm1"), EVLOG_CF_REFDATA, KEY("ppm1"));
    expect_key(PROJ_T_LIMITS, proj_limits(st, OMS_SCOPE_FIRM, "", ""), EVLOG_CF_REFDATA,
               KEY("l1\x1f\x1f"));
    expect_key(PROJ_T_LIMITS, proj_limits(st, OMS_SCOPE_ACCOUNT, "ACC1", ""), EVLOG_CF_REFDATA,
               KEY("l2\x1f"
                   "ACC1\x1f"));
    expect_key(PROJ_T_LIMITS, proj_limits(st, OMS_SCOPE_ACCOUNT_INSTRUMENT, "ACC1", "AAPL"),
               EVLOG_CF_REFDATA,
               KEY("l3\x1f"
                   "ACC1\x1f"
                   "AAPL"));
    expect_key(PROJ_T_RESTRICTION, proj_restriction(st, "TSLA", ""), EVLOG_CF_REFDATA,
               KEY("rTSLA\x1f"));
    expect_key(PROJ_T_RESTRICTION, proj_restriction(st, "AAPL", "ACC3"), EVLOG_CF_REFDATA,
               KEY("rAAPL\x1f"
                   "ACC3"));
    expect_key(PROJ_T_ORDER, proj_order(st, "O1"), EVLOG_CF_ORDERS, KEY("oO1"));
    expect_key(PROJ_T_EXEC, proj_exec(st, "XNAS", "E1"), EVLOG_CF_ORDERS,
               KEY("xXNAS\x1f"
                   "E1"));
    expect_key(PROJ_T_POSITION, proj_position(st, "ACC1", "AAPL"), EVLOG_CF_POSITIONS,
               KEY("ACC1\x1f"
                   "AAPL"));
    expect_key(PROJ_T_POSITION, proj_position(st, "", "AAPL"), EVLOG_CF_POSITIONS,
               KEY("\x1f"
                   "AAPL"));
    expect_key(PROJ_T_ALLOC, proj_alloc(st, "B1", "A2"), EVLOG_CF_ALLOCATIONS,
               KEY("B1\x1f"
                   "A2"));

    /* The trade date: the date's bytes, then the seq big-endian. */
    codec_row_t row;
    uint64_t seq;
    assert_int_equal(codec_row_encode_trade_date(st, &row, fx.buf, BUF_CAP), 0);
    assert_int_equal(row.cf, EVLOG_CF_META);
    assert_int_equal(row.klen, 15);
    assert_memory_equal(row.key, "proj.trade_date", 15);
    assert_int_equal(row.vlen, 18);
    assert_memory_equal(row.val, "2025-06-30", 10);
    assert_string_equal(proj_trade_date(st, &seq), "2025-06-30");
    for (int i = 0; i < 8; i++)
        assert_int_equal(row.val[10 + i], (uint8_t)(seq >> (56 - 8 * i)));
}

static void test_codec_rows_values_carry_derived_fields(void **state)
{
    (void)state;
    codec_row_t row;
    /* Position.currency (field 9) is the instrument's. */
    const proj_position_t *p = proj_position(fx.st, "ACC1", "ESZ5");
    assert_non_null(p);
    assert_int_equal(codec_row_encode(fx.st, PROJ_T_POSITION, index_of(PROJ_T_POSITION, p), &row,
                                      fx.buf, BUF_CAP),
                     0);
    assert_true(has_bytes(row.val, row.vlen, "\x4a\x03USD", 5));
    /* Order.avg_px (field 23, tag 0xba 0x01) only once something is filled. */
    assert_int_equal(codec_row_encode(fx.st, PROJ_T_ORDER,
                                      index_of(PROJ_T_ORDER, proj_order(fx.st, "O1")), &row, fx.buf,
                                      BUF_CAP),
                     0);
    assert_true(has_bytes(row.val, row.vlen, "\xba\x01", 2));
    assert_int_equal(codec_row_encode(fx.st, PROJ_T_ORDER,
                                      index_of(PROJ_T_ORDER, proj_order(fx.st, "O4")), &row, fx.buf,
                                      BUF_CAP),
                     0);
    assert_false(has_bytes(row.val, row.vlen, "\xba\x01", 2));
    /* Restriction field 5 (restricted) ends the row of one in force, and only of one in force. */
    assert_int_equal(
        codec_row_encode(fx.st, PROJ_T_RESTRICTION,
                         index_of(PROJ_T_RESTRICTION, proj_restriction(fx.st, "TSLA", "")), &row,
                         fx.buf, BUF_CAP),
        0);
    assert_memory_equal(row.val + row.vlen - 2, "\x28\x01", 2);
    assert_int_equal(
        codec_row_encode(fx.st, PROJ_T_RESTRICTION,
                         index_of(PROJ_T_RESTRICTION, proj_restriction(fx.st, "AAPL", "ACC3")),
                         &row, fx.buf, BUF_CAP),
        0);
    assert_false(row.vlen >= 2 && memcmp(row.val + row.vlen - 2, "\x28\x01", 2) == 0);
}

static void test_codec_rows_encoding_is_deterministic(void **state)
{
    (void)state;
    uint8_t *other = malloc(BUF_CAP);
    assert_non_null(other);
    codec_row_t a, b;
    for (size_t t = 0; t < ARRAY_LEN(row_tables); t++) {
        for (uint32_t i = 0; i < proj_count(fx.st, row_tables[t]); i++) {
            memset(fx.buf, 0x00, BUF_CAP);
            memset(other, 0xa5, BUF_CAP);
            assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &a, fx.buf, BUF_CAP), 0);
            assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &b, other, BUF_CAP), 0);
            assert_int_equal(a.cf, b.cf);
            assert_int_equal(a.klen, b.klen);
            assert_int_equal(a.vlen, b.vlen);
            assert_memory_equal(a.key, b.key, a.klen);
            assert_memory_equal(a.val, b.val, a.vlen);
        }
    }
    free(other);
}

/* Encode -> load in the engine's order -> encode: the same rows, the same records. */
static void roundtrip(const proj_state_t *orig)
{
    rows_t before = all_rows(orig, fx.buf);
    proj_state_t *loaded = load_rows(&before, &fx.arena);
    rows_t after = all_rows(loaded, fx.buf);
    assert_int_equal(after.n, before.n);
    for (size_t i = 0; i < before.n; i++) {
        const row_copy_t *x = &before.r[i], *y = &after.r[i];
        assert_int_equal(x->cf, y->cf);
        assert_int_equal(x->klen, y->klen);
        assert_memory_equal(x->key, y->key, x->klen);
        assert_int_equal(x->vlen, y->vlen);
        assert_memory_equal(x->val, y->val, x->vlen);
    }
    eq_states(orig, loaded);
    eq_states(loaded, orig);
    rows_free(&before);
    rows_free(&after);
    proj_destroy(&loaded);
}

static void test_codec_rows_load_reencodes_identically(void **state)
{
    (void)state;
    roundtrip(fx.st);
}

static void test_codec_rows_long_chain_roundtrips_or_hits_limit(void **state)
{
    (void)state;
    const proj_order_t *o = proj_order(fx.chain, "L1");
    assert_int_equal(o->n_clordids, LONG_CHAIN + 1);
    uint32_t idx = proj_index_of(fx.chain, PROJ_T_ORDER, o);
    codec_row_t row;
    assert_int_equal(codec_row_encode(fx.chain, PROJ_T_ORDER, idx, &row, fx.buf, 16 * 1024),
                     OMS_ERR_LIMIT);
    assert_int_equal(codec_row_encode(fx.chain, PROJ_T_ORDER, idx, &row, fx.buf, BUF_CAP), 0);
    assert_true(row.vlen > 16 * 1024);
    roundtrip(fx.chain);
}

static void test_codec_rows_small_capacity_is_limit(void **state)
{
    (void)state;
    codec_row_t row;
    for (size_t t = 0; t < ARRAY_LEN(row_tables); t++) {
        for (uint32_t i = 0; i < proj_count(fx.st, row_tables[t]); i++) {
            assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &row, fx.buf, BUF_CAP), 0);
            size_t need = row.klen + row.vlen;
            for (size_t cap = 0; cap < need; cap++)
                assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &row, fx.buf, cap),
                                 OMS_ERR_LIMIT);
            assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &row, NULL, 0),
                             OMS_ERR_LIMIT);
            bool lists = row_tables[t] == PROJ_T_ORDER || row_tables[t] == PROJ_T_ALLOC;
            if (!lists) /* no scratch: the row alone fits */
                assert_int_equal(codec_row_encode(fx.st, row_tables[t], i, &row, fx.buf, need), 0);
        }
    }
    for (size_t cap = 0; cap < 15 + 18; cap++)
        assert_int_equal(codec_row_encode_trade_date(fx.st, &row, fx.buf, cap), OMS_ERR_LIMIT);
    assert_int_equal(codec_row_encode_trade_date(fx.st, &row, fx.buf, 15 + 18), 0);
}

/* Loads one row into st and checks the result. */
static void expect_load(proj_state_t *st, evlog_cf_t cf, const void *key, size_t klen,
                        const void *val, size_t vlen, int want)
{
    int rc = codec_row_load(st, (int)cf, key, klen, val, vlen, &fx.arena);
    oms_arena_reset(&fx.arena);
    if (rc != want)
        fprintf(stderr, "load (cf %d, key %.*s, %zu bytes) = %d, want %d\n", (int)cf, (int)klen,
                (const char *)key, vlen, rc, want);
    assert_int_equal(rc, want);
}

static void test_codec_rows_garbage_is_corrupt(void **state)
{
    (void)state;
    proj_state_t *st = proj_new();
    assert_non_null(st);
    static const struct {
        evlog_cf_t cf;
        const char *key;
    } keys[] = {{EVLOG_CF_REFDATA, "iAAPL"},
                {EVLOG_CF_REFDATA, "aACC1"},
                {EVLOG_CF_REFDATA, "ppm1"},
                {EVLOG_CF_REFDATA, "l1\x1f\x1f"},
                {EVLOG_CF_REFDATA, "rTSLA\x1f"},
                {EVLOG_CF_ORDERS, "oO1"},
                {EVLOG_CF_ORDERS, "xXNAS\x1f"
                                  "E1"},
                {EVLOG_CF_POSITIONS, "ACC1\x1f"
                                     "AAPL"},
                {EVLOG_CF_ALLOCATIONS, "B1\x1f"
                                       "A1"}};
    static const uint8_t bad[][6] = {
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* a tag that never ends */
        {0x0a, 0x05, 'a', 'b', 0, 0},         /* a string longer than the bytes */
        {0x0f, 0x01, 0x02, 0x03, 0x04, 0x05}, /* wire type 7 */
        {0x0a, 0x02, 'z', 'z', 0x08, 0x01},   /* decodes, but names another id (or mistypes) */
    };
    uint64_t rng = 42;
    for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
        size_t klen = strlen(keys[k].key);
        for (size_t b = 0; b < ARRAY_LEN(bad); b++)
            expect_load(st, keys[k].cf, keys[k].key, klen, bad[b], sizeof bad[b], OMS_ERR_CORRUPT);
        for (int r = 0; r < 200; r++) { /* random bytes: never this key's record */
            uint8_t v[64];
            size_t n = 1 + r % sizeof v;
            for (size_t i = 0; i < n; i++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                v[i] = (uint8_t)(rng >> 56);
            }
            expect_load(st, keys[k].cf, keys[k].key, klen, v, n, OMS_ERR_CORRUPT);
        }
    }

    /* A real order row without its last byte (a varint cut in two). */
    rows_t o1 = one_row(fx.st, PROJ_T_ORDER, index_of(PROJ_T_ORDER, proj_order(fx.st, "O1")));
    expect_load(st, EVLOG_CF_ORDERS, o1.r[0].key, o1.r[0].klen, o1.r[0].val, o1.r[0].vlen - 1,
                OMS_ERR_CORRUPT);
    rows_free(&o1);

    /* A restriction whose reason is one byte over the limit, and one whose flag is no varint. */
    uint8_t v[600];
    size_t n = 0;
    v[n++] = 0x0a;
    v[n++] = 4;
    memcpy(v + n, "AAPL", 4);
    n += 4;
    v[n++] = 0x1a;
    v[n++] = 0x81; /* 513 */
    v[n++] = 0x04;
    memset(v + n, 'x', 513);
    n += 513;
    expect_load(st, EVLOG_CF_REFDATA, "rAAPL\x1f", 6, v, n, OMS_ERR_CORRUPT);

    for (int t = 0; t < PROJ_T_COUNT_; t++)
        assert_int_equal(proj_count(st, (proj_table_t)t), 0);
    proj_destroy(&st);
}

static void test_codec_rows_key_value_mismatch_is_corrupt(void **state)
{
    (void)state;
    /* A state holding what the rows below need (orders), so only the key can be wrong. */
    rows_t rs = all_rows(fx.st, fx.buf);
    proj_state_t *st = proj_new();
    assert_non_null(st);
    for (size_t i = 0; i < rs.n; i++)
        if (rs.r[i].cf == EVLOG_CF_REFDATA ||
            (rs.r[i].cf == EVLOG_CF_ORDERS && rs.r[i].key[0] == 'o'))
            expect_load(st, rs.r[i].cf, rs.r[i].key, rs.r[i].klen, rs.r[i].val, rs.r[i].vlen, 0);
    rows_free(&rs);
    proj_state_t *fresh = proj_new();
    assert_non_null(fresh);

    struct {
        proj_table_t t;
        const void *rec;
        const char *key;
        proj_state_t *into;
    } cases[] = {
        {PROJ_T_ORDER, proj_order(fx.st, "O2"), "oO9", fresh},
        {PROJ_T_ORDER, proj_order(fx.st, "O2"), "oO1", fresh},
        {PROJ_T_ORDER, proj_order(fx.st, "O2"), "xO2", fresh},
        {PROJ_T_EXEC, proj_exec(fx.st, "XNAS", "E1"),
         "xXNAS\x1f"
         "E9",
         st},
        {PROJ_T_EXEC, proj_exec(fx.st, "XNAS", "E1"),
         "xXNYS\x1f"
         "E1",
         st},
        {PROJ_T_EXEC, proj_exec(fx.st, "XNAS", "E1"), "oO1", st},
        {PROJ_T_POSITION, proj_position(fx.st, "ACC1", "AAPL"),
         "AAPL\x1f"
         "ACC1",
         st},
        {PROJ_T_POSITION, proj_position(fx.st, "ACC1", "AAPL"), "ACC1AAPL", st},
        {PROJ_T_ALLOC, proj_alloc(fx.st, "B1", "A1"),
         "B1\x1f"
         "A2",
         st},
        {PROJ_T_LIMITS, proj_limits(fx.st, OMS_SCOPE_ACCOUNT, "ACC1", ""),
         "l3\x1f"
         "ACC1\x1f",
         fresh},
        {PROJ_T_RESTRICTION, proj_restriction(fx.st, "AAPL", "ACC3"),
         "rACC3\x1f"
         "AAPL",
         fresh},
        {PROJ_T_INSTRUMENT, proj_instrument(fx.st, "AAPL"), "iAAPL\x1f", fresh},
        {PROJ_T_INSTRUMENT, proj_instrument(fx.st, "AAPL"), "aAAPL", fresh},
        {PROJ_T_ACCOUNT, proj_account(fx.st, "ACC1"), "zACC1", fresh},
        {PROJ_T_ACCOUNT, proj_account(fx.st, "ACC1"), "", fresh},
        {PROJ_T_PRINCIPAL, proj_principal(fx.st, "pm1"), "pPM1", fresh},
    };
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        rows_t r = one_row(fx.st, cases[c].t, index_of(cases[c].t, cases[c].rec));
        expect_load(cases[c].into, r.r[0].cf, cases[c].key, strlen(cases[c].key), r.r[0].val,
                    r.r[0].vlen, OMS_ERR_CORRUPT);
        rows_free(&r);
    }
    assert_int_equal(proj_count(fresh, PROJ_T_ORDER), 0);
    assert_int_equal(proj_count(st, PROJ_T_EXEC), 0);
    assert_int_equal(proj_count(st, PROJ_T_POSITION), 0);
    assert_int_equal(proj_count(st, PROJ_T_ALLOC), 0);

    /* Meta: an unknown "proj." key, a trade date of the wrong size. */
    static const uint8_t td[19] = "2025-06-30\0\0\0\0\0\0\0\x2a";
    expect_load(fresh, EVLOG_CF_META, "proj.other", 10, td, 18, OMS_ERR_CORRUPT);
    expect_load(fresh, EVLOG_CF_META, "proj.trade_dat", 14, td, 18, OMS_ERR_CORRUPT);
    expect_load(fresh, EVLOG_CF_META, "proj.trade_date", 15, td, 7, OMS_ERR_CORRUPT);
    expect_load(fresh, EVLOG_CF_META, "proj.trade_date", 15, td, 19, OMS_ERR_CORRUPT);
    static const uint8_t nul_date[18] = "2025-06\0"
                                        "30\0\0\0\0\0\0\0\x2a";
    expect_load(fresh, EVLOG_CF_META, "proj.trade_date", 15, nul_date, 18, OMS_ERR_CORRUPT);
    assert_string_equal(proj_trade_date(fresh, NULL), "");
    expect_load(fresh, EVLOG_CF_META, "proj.trade_date", 15, td, 18, 0);
    uint64_t seq;
    assert_string_equal(proj_trade_date(fresh, &seq), "2025-06-30");
    assert_true(seq == 42);

    proj_destroy(&fresh);
    proj_destroy(&st);
}

static void test_codec_rows_foreign_rows_are_skipped(void **state)
{
    (void)state;
    proj_state_t *st = proj_new();
    assert_non_null(st);
    uint8_t head[40];
    memset(head, 0x77, sizeof head);
    expect_load(st, EVLOG_CF_META, "evlog.head", 10, head, sizeof head, 0);
    expect_load(st, EVLOG_CF_META, "evlog.schema", 12, "\0\0\0\1", 4, 0);
    expect_load(st, EVLOG_CF_META, "proj", 4, "x", 1, 0);
    expect_load(st, EVLOG_CF_META, "digest.orders", 13, head, sizeof head, 0);
    expect_load(st, EVLOG_CF_IDEMPOTENCY,
                "pm1\x1f"
                "cmd-1",
                9, head, sizeof head, 0);
    expect_load(st, EVLOG_CF_EVENTS, "\0\0\0\0\0\0\0\1", 8, head, sizeof head, 0);
    expect_load(st, (evlog_cf_t)EVLOG_CF_COUNT_, "x", 1, head, sizeof head, OMS_ERR_INVALID);
    expect_load(st, (evlog_cf_t)-1, "x", 1, head, sizeof head, OMS_ERR_INVALID);
    for (int t = 0; t < PROJ_T_COUNT_; t++)
        assert_int_equal(proj_count(st, (proj_table_t)t), 0);
    assert_string_equal(proj_trade_date(st, NULL), "");
    proj_destroy(&st);
}

static void test_codec_rows_loader_errors_come_through(void **state)
{
    (void)state;
    proj_state_t *st = proj_new();
    assert_non_null(st);
    rows_t x = one_row(fx.st, PROJ_T_EXEC, index_of(PROJ_T_EXEC, proj_exec(fx.st, "XNAS", "E1")));
    rows_t a = one_row(fx.st, PROJ_T_ALLOC, index_of(PROJ_T_ALLOC, proj_alloc(fx.st, "B1", "A1")));
    rows_t o = one_row(fx.st, PROJ_T_ORDER, index_of(PROJ_T_ORDER, proj_order(fx.st, "O1")));
    rows_t i = one_row(fx.st, PROJ_T_INSTRUMENT,
                       index_of(PROJ_T_INSTRUMENT, proj_instrument(fx.st, "AAPL")));
    /* Executions and allocations need their order. */
    expect_load(st, x.r[0].cf, x.r[0].key, x.r[0].klen, x.r[0].val, x.r[0].vlen, OMS_ERR_STATE);
    expect_load(st, a.r[0].cf, a.r[0].key, a.r[0].klen, a.r[0].val, a.r[0].vlen, OMS_ERR_STATE);
    /* A row loaded twice. */
    expect_load(st, o.r[0].cf, o.r[0].key, o.r[0].klen, o.r[0].val, o.r[0].vlen, 0);
    expect_load(st, o.r[0].cf, o.r[0].key, o.r[0].klen, o.r[0].val, o.r[0].vlen, OMS_ERR_EXISTS);
    expect_load(st, i.r[0].cf, i.r[0].key, i.r[0].klen, i.r[0].val, i.r[0].vlen, 0);
    expect_load(st, i.r[0].cf, i.r[0].key, i.r[0].klen, i.r[0].val, i.r[0].vlen, OMS_ERR_EXISTS);
    expect_load(st, x.r[0].cf, x.r[0].key, x.r[0].klen, x.r[0].val, x.r[0].vlen, 0);
    expect_load(st, x.r[0].cf, x.r[0].key, x.r[0].klen, x.r[0].val, x.r[0].vlen, OMS_ERR_EXISTS);
    assert_int_equal(proj_order(st, "O1")->n_execs, 1);
    /* A full arena: the ClOrdID chain does not fit. */
    proj_state_t *st2 = proj_new();
    assert_non_null(st2);
    oms_arena_t tiny;
    assert_int_equal(oms_arena_init(&tiny, 64), 0);
    assert_int_equal(
        codec_row_load(st2, o.r[0].cf, o.r[0].key, o.r[0].klen, o.r[0].val, o.r[0].vlen, &tiny),
        OMS_ERR_LIMIT);
    oms_arena_free(&tiny);
    proj_destroy(&st2);
    /* A ClOrdID chain that does not start with the order id, or names it twice, is a row the
     * projections never write. */
    proj_state_t *st3 = proj_new();
    assert_non_null(st3);
    proj_order_t po;
    memset(&po, 0, sizeof po);
    po.order_id = "Q1";
    char cl[3][OMS_ID_CAP] = {"Q1-a", "Q1", "Q1-b"};
    assert_int_equal(proj_load_order(st3, &po, (const char(*)[OMS_ID_CAP])cl, 2, NULL, 0),
                     OMS_ERR_STATE);
    assert_int_equal(proj_load_order(st3, &po, (const char(*)[OMS_ID_CAP])cl, 0, NULL, 0),
                     OMS_ERR_STATE);
    assert_int_equal(proj_load_order(st3, &po, (const char(*)[OMS_ID_CAP])(cl + 1), 2, NULL, 0),
                     0);
    assert_int_equal(proj_order(st3, "Q1")->n_clordids, 2);
    assert_true(proj_order_has_clordid(st3, proj_order(st3, "Q1"), "Q1"));
    assert_true(proj_order_has_clordid(st3, proj_order(st3, "Q1"), "Q1-b"));
    assert_false(proj_order_has_clordid(st3, proj_order(st3, "Q1"), "Q1-a"));
    po.order_id = "Q2";
    char twice[2][OMS_ID_CAP] = {"Q2", "Q2"};
    assert_int_equal(proj_load_order(st3, &po, (const char(*)[OMS_ID_CAP])twice, 2, NULL, 0),
                     OMS_ERR_STATE);
    assert_null(proj_order(st3, "Q2"));
    proj_destroy(&st3);
    rows_free(&x);
    rows_free(&a);
    rows_free(&o);
    rows_free(&i);
    proj_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_rows_scenario_covers_every_table),
        cmocka_unit_test(test_codec_rows_every_row_encodes),
        cmocka_unit_test(test_codec_rows_keys_have_documented_layouts),
        cmocka_unit_test(test_codec_rows_values_carry_derived_fields),
        cmocka_unit_test(test_codec_rows_encoding_is_deterministic),
        cmocka_unit_test(test_codec_rows_load_reencodes_identically),
        cmocka_unit_test(test_codec_rows_long_chain_roundtrips_or_hits_limit),
        cmocka_unit_test(test_codec_rows_small_capacity_is_limit),
        cmocka_unit_test(test_codec_rows_garbage_is_corrupt),
        cmocka_unit_test(test_codec_rows_key_value_mismatch_is_corrupt),
        cmocka_unit_test(test_codec_rows_foreign_rows_are_skipped),
        cmocka_unit_test(test_codec_rows_loader_errors_come_through),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
