/*
 * test_codec.c - proves the codec's contracts (codec/codec.h):
 *
 *   commands  every command type, built with non-trivial values in every field (ids and texts at
 *             their maximum lengths, decimals at the range's edges, enums at their last value),
 *             and again with every body field at its default, survives encode -> decode field by
 *             field, with raw pointing at the received bytes and invalid = NONE; 256 allocation
 *             instructions (the limit) survive too.
 *   events    every event type, built the same two ways, survives encode -> decode field by
 *             field, and the decoded event re-encodes to the identical bytes; encoding is
 *             deterministic (bytes after a string's NUL and the output buffer's old contents
 *             change nothing).
 *   rejected  a CommandRejected embeds the refused command's received bytes verbatim (found
 *             inside the event, even when they are not canonical or hold a NUL), decodes back to
 *             the same command with raw pointing into the event; without received bytes the
 *             model command is encoded; no command at all also round-trips.
 *   replies   CommandReply round-trips; garbage and over-long strings are refused.
 *   refusals  garbage -> OMS_ERR_DECODE; more than OMS_LIMIT_MSG_BYTES -> OMS_ERR_LIMIT (exactly
 *             the limit decodes); empty, 65-byte or NUL-holding command_id / principal ->
 *             OMS_ERR_DECODE; what the model cannot carry -> decoded with `invalid` set: 65-byte
 *             id, 513-byte text, 257 instructions, 17 roles -> INPUT_LIMIT; INT64_MIN decimal,
 *             enum 99 or -1, role 7 or listed twice, instruction without a share, NUL in a
 *             string, currency "us"/"usd"/"USDX", malformed trade date -> INVALID_FIELD; no body
 *             or an unknown body -> UNKNOWN_COMMAND; a full arena -> OMS_ERR_LIMIT; too small an
 *             output buffer -> OMS_ERR_LIMIT with the size needed; unknown types ->
 *             OMS_ERR_INVALID; undecodable events -> OMS_ERR_DECODE.
 *   fuzz      20,000 seeded random mutations of valid commands (and 10,000 of valid events) never
 *             crash (run under ASan/UBSan in `make test-asan`) and either decode or return an
 *             error; whatever decodes cleanly re-encodes and decodes to the same value.
 *   timing    prints the cost of encoding an ORDER_FILLED (and of a few other operations) in
 *             ns; informational, not asserted.
 *
 * Bytes the codec would never write are built by hand with a small protobuf writer (w_*),
 * independent of protobuf-c, so the tests also check the codec against the wire format itself.
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

#define ARRAY_LEN(a)  (sizeof(a) / sizeof((a)[0]))
#define BUF_CAP       (256 * 1024)
#define ARENA_CAP     (1 << 20)
#define FUZZ_COMMANDS 20000
#define FUZZ_EVENTS   10000

static const oms_cmd_type_t all_cmd_types[] = {
    OMS_CMD_DEFINE_INSTRUMENT,   OMS_CMD_UPDATE_INSTRUMENT,  OMS_CMD_DEFINE_ACCOUNT,
    OMS_CMD_DEFINE_PRINCIPAL,    OMS_CMD_SET_LIMITS,         OMS_CMD_SET_RESTRICTED,
    OMS_CMD_SET_REFERENCE_PRICE, OMS_CMD_NEW_ORDER,          OMS_CMD_RELEASE_ORDER,
    OMS_CMD_CANCEL_ORDER,        OMS_CMD_REPLACE_ORDER,      OMS_CMD_VENUE_ACK,
    OMS_CMD_VENUE_REJECT,        OMS_CMD_VENUE_FILL,         OMS_CMD_VENUE_CANCEL_ACK,
    OMS_CMD_VENUE_CANCEL_REJECT, OMS_CMD_VENUE_REPLACE_ACK,  OMS_CMD_VENUE_REPLACE_REJECT,
    OMS_CMD_VENUE_EXPIRE,        OMS_CMD_VENUE_DONE_FOR_DAY, OMS_CMD_TRADE_BUST,
    OMS_CMD_TRADE_CORRECT,       OMS_CMD_ALLOCATE,           OMS_CMD_REVERSE_ALLOCATION,
    OMS_CMD_END_OF_DAY,
};

static const oms_event_type_t all_event_types[] = {
    OMS_EV_INSTRUMENT_DEFINED,      OMS_EV_INSTRUMENT_UPDATED, OMS_EV_ACCOUNT_DEFINED,
    OMS_EV_PRINCIPAL_DEFINED,       OMS_EV_LIMITS_SET,         OMS_EV_RESTRICTION_SET,
    OMS_EV_REFERENCE_PRICE_SET,     OMS_EV_ORDER_ACCEPTED,     OMS_EV_ORDER_RELEASED,
    OMS_EV_CANCEL_REQUESTED,        OMS_EV_REPLACE_REQUESTED,  OMS_EV_ORDER_ACKNOWLEDGED,
    OMS_EV_ORDER_REJECTED_BY_VENUE, OMS_EV_ORDER_CANCELED,     OMS_EV_CANCEL_REJECTED,
    OMS_EV_ORDER_REPLACED,          OMS_EV_REPLACE_REJECTED,   OMS_EV_ORDER_EXPIRED,
    OMS_EV_ORDER_DONE_FOR_DAY,      OMS_EV_ORDER_FILLED,       OMS_EV_TRADE_BUSTED,
    OMS_EV_TRADE_CORRECTED,         OMS_EV_ALLOCATION_BOOKED,  OMS_EV_ALLOCATION_REJECTED,
    OMS_EV_ALLOCATION_REVERSED,     OMS_EV_COMMAND_REJECTED,   OMS_EV_EXCEPTION_RAISED,
    OMS_EV_END_OF_DAY_PROCESSED,
};

/* ------------------------------------------------------------------------------------------ */
/* Helpers: values                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Deterministic PRNG (splitmix64) so every run sees the same "random" cases. */
static uint64_t rng_state;

static uint64_t s_rand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fills dst[cap] with a string of exactly cap - 1 bytes that starts with tag, so every field
 * holds a distinct value of the maximum length (tags may hold UTF-8). */
static void s_fill(char *dst, size_t cap, const char *tag)
{
    size_t t = strlen(tag), n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = i < t ? tag[i] : (char)('a' + (i * 7 + t) % 26);
    dst[n] = '\0';
}
#define FILL(dst, tag) s_fill((dst), sizeof(dst), (tag))

/* Distinct, non-trivial decimals, the range's edges included. */
static unsigned dec_k;
static oms_dec_t s_dv(void)
{
    static const oms_dec_t v[] = {
        OMS_DEC_MAX, OMS_DEC_MIN, 10125000000LL,        -1,
        1,           5000000LL,   123456789012345678LL, -987654321098765LL,
        100000000LL, 250LL,       -2500000000LL,        77777777777LL,
        3,           -42,         OMS_DEC_MAX - 1,      999999999999LL,
    };
    return v[dec_k++ % ARRAY_LEN(v)];
}

static oms_opt_dec_t s_ov(void)
{
    oms_opt_dec_t o = {true, s_dv()};
    return o;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers: builders                                                                           */
/* ------------------------------------------------------------------------------------------ */

static oms_alloc_instr_t instr_store[2][OMS_LIMIT_ALLOC_ACCOUNTS];
static oms_alloc_part_t part_store[3];

static void s_make_instrs(oms_alloc_instr_t *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "acct-%u-", i);
        FILL(a[i].account_id, tag);
        a[i].by_weight = i % 2 == 1;
        a[i].share = s_dv();
    }
}

static void s_make_instrument(oms_instrument_def_t *d)
{
    FILL(d->instrument_id, "instrument_id");
    FILL(d->symbol, "symbol");
    d->asset_class = OMS_ASSET_ETF;
    strcpy(d->currency, "JPY");
    d->multiplier = s_dv();
    d->lot_size = s_dv();
    d->tick_size = s_dv();
    d->active = true;
}

static void s_make_limits(oms_limits_def_t *d)
{
    d->scope = OMS_SCOPE_ACCOUNT_INSTRUMENT;
    FILL(d->account_id, "account_id");
    FILL(d->instrument_id, "instrument_id");
    d->max_order_qty = s_ov();
    d->max_order_notional = s_ov();
    d->max_position_long = s_ov();
    d->max_position_short = s_ov();
    d->collar_pct = s_ov();
}

static void s_make_new_order(oms_new_order_t *o, oms_alloc_instr_t *store)
{
    FILL(o->order_id, "order_id");
    FILL(o->account_id, "account_id");
    s_make_instrs(store, 3);
    o->allocs = store;
    o->n_allocs = 3;
    FILL(o->instrument_id, "instrument_id");
    o->side = OMS_SIDE_SELL_SHORT;
    o->ord_type = OMS_ORD_LIMIT;
    o->price = s_ov();
    o->qty = s_dv();
    o->tif = OMS_TIF_GTD;
    o->expire_ts_ns = 1763769600000000000LL;
    FILL(o->text, "text \xc3\xbc \xe2\x82\xac ");
}

static void s_make_hdr(oms_venue_hdr_t *h)
{
    FILL(h->order_id, "order_id");
    FILL(h->venue, "venue");
    FILL(h->exec_id, "exec_id");
    FILL(h->venue_order_id, "venue_order_id");
    h->transact_ts_ns = -1234567890123LL; /* negative: a varint of 10 bytes */
    FILL(h->cl_ord_id, "cl_ord_id");
}

/* A command of type t: `full` puts a non-trivial value in every body field, otherwise the body
 * keeps its defaults (empty, zero, absent). */
static void s_make_cmd(oms_cmd_type_t t, bool full, oms_cmd_t *c)
{
    memset(c, 0, sizeof *c);
    c->type = t;
    FILL(c->command_id, "command_id");
    FILL(c->principal, "principal");
    c->client_ts_ns = 1763733053123456789LL;
    if (!full) {
        /* The two formats the codec checks have no valid default. */
        if (t == OMS_CMD_DEFINE_INSTRUMENT || t == OMS_CMD_UPDATE_INSTRUMENT)
            strcpy(c->u.instrument.currency, "USD");
        if (t == OMS_CMD_END_OF_DAY)
            strcpy(c->u.eod.trade_date, "2026-11-21");
        return;
    }
    oms_venue_report_t *r = &c->u.report;
    switch (t) {
    case OMS_CMD_DEFINE_INSTRUMENT:
    case OMS_CMD_UPDATE_INSTRUMENT:
        s_make_instrument(&c->u.instrument);
        break;
    case OMS_CMD_DEFINE_ACCOUNT:
        FILL(c->u.account.account_id, "account_id");
        FILL(c->u.account.name, "name");
        c->u.account.active = true;
        c->u.account.release_policy = OMS_RELEASE_FOUR_EYES;
        c->u.account.allow_short = true;
        break;
    case OMS_CMD_DEFINE_PRINCIPAL:
        FILL(c->u.principal_def.principal_id, "principal_id");
        c->u.principal_def.roles = (1u << OMS_ROLE_PORTFOLIO_MANAGER) | (1u << OMS_ROLE_VENUE) |
                                   (1u << OMS_ROLE_ADMIN) | (1u << OMS_ROLE_COMPLIANCE);
        c->u.principal_def.active = true;
        break;
    case OMS_CMD_SET_LIMITS:
        s_make_limits(&c->u.limits);
        break;
    case OMS_CMD_SET_RESTRICTED:
        FILL(c->u.restriction.instrument_id, "instrument_id");
        FILL(c->u.restriction.account_id, "account_id");
        c->u.restriction.restricted = true;
        FILL(c->u.restriction.reason, "reason");
        break;
    case OMS_CMD_SET_REFERENCE_PRICE:
        FILL(c->u.ref_price.instrument_id, "instrument_id");
        c->u.ref_price.price = s_dv();
        break;
    case OMS_CMD_NEW_ORDER:
        s_make_new_order(&c->u.new_order, instr_store[0]);
        break;
    case OMS_CMD_RELEASE_ORDER:
        FILL(c->u.release.order_id, "order_id");
        FILL(c->u.release.text, "text");
        break;
    case OMS_CMD_CANCEL_ORDER:
        FILL(c->u.cancel.order_id, "order_id");
        FILL(c->u.cancel.cl_ord_id, "cl_ord_id");
        FILL(c->u.cancel.text, "text");
        break;
    case OMS_CMD_REPLACE_ORDER:
        FILL(c->u.replace.order_id, "order_id");
        FILL(c->u.replace.new_cl_ord_id, "new_cl_ord_id");
        c->u.replace.qty = s_ov();
        c->u.replace.price = s_ov();
        FILL(c->u.replace.text, "text");
        break;
    case OMS_CMD_VENUE_ACK:
        s_make_hdr(&r->h);
        break;
    case OMS_CMD_VENUE_FILL:
        s_make_hdr(&r->h);
        r->last_qty = s_dv();
        r->last_px = s_dv();
        break;
    case OMS_CMD_VENUE_REJECT:
    case OMS_CMD_VENUE_CANCEL_ACK:
    case OMS_CMD_VENUE_CANCEL_REJECT:
    case OMS_CMD_VENUE_REPLACE_ACK:
    case OMS_CMD_VENUE_REPLACE_REJECT:
    case OMS_CMD_VENUE_EXPIRE:
    case OMS_CMD_VENUE_DONE_FOR_DAY:
        s_make_hdr(&r->h);
        FILL(r->text, "text");
        break;
    case OMS_CMD_TRADE_BUST:
        s_make_hdr(&r->h);
        FILL(r->ref_exec_id, "ref_exec_id");
        FILL(r->text, "text");
        break;
    case OMS_CMD_TRADE_CORRECT:
        s_make_hdr(&r->h);
        FILL(r->ref_exec_id, "ref_exec_id");
        r->last_qty = s_dv();
        r->last_px = s_dv();
        FILL(r->text, "text");
        break;
    case OMS_CMD_ALLOCATE:
        FILL(c->u.allocate.order_id, "order_id");
        FILL(c->u.allocate.alloc_id, "alloc_id");
        s_make_instrs(instr_store[0], 3);
        c->u.allocate.allocs = instr_store[0];
        c->u.allocate.n_allocs = 3;
        c->u.allocate.qty = s_ov();
        FILL(c->u.allocate.text, "text");
        break;
    case OMS_CMD_REVERSE_ALLOCATION:
        FILL(c->u.reverse.order_id, "order_id");
        FILL(c->u.reverse.alloc_id, "alloc_id");
        FILL(c->u.reverse.reason, "reason");
        break;
    case OMS_CMD_END_OF_DAY:
        strcpy(c->u.eod.trade_date, "2026-11-21");
        break;
    case OMS_CMD_NONE:
        break;
    }
}

/* The command a CommandRejected built by s_make_event refers to (raw = its encoding). */
static oms_cmd_t rejected_cmd;
static uint8_t rejected_raw[8192];

/* An event of type t, `full` or with the body at its defaults (as s_make_cmd). */
static void s_make_event(oms_event_type_t t, bool full, oms_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = t;
    if (!full)
        return;
    oms_ev_order_t *o = &ev->u.order;
    oms_ev_alloc_t *a = &ev->u.alloc;
    switch (t) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED:
        s_make_instrument(&ev->u.instrument);
        break;
    case OMS_EV_ACCOUNT_DEFINED:
        FILL(ev->u.account.account_id, "account_id");
        FILL(ev->u.account.name, "name");
        ev->u.account.active = true;
        ev->u.account.release_policy = OMS_RELEASE_AUTO;
        ev->u.account.allow_short = true;
        break;
    case OMS_EV_PRINCIPAL_DEFINED:
        FILL(ev->u.principal.principal_id, "principal_id");
        ev->u.principal.roles = 0x7eu; /* every role */
        ev->u.principal.active = true;
        break;
    case OMS_EV_LIMITS_SET:
        s_make_limits(&ev->u.limits);
        break;
    case OMS_EV_RESTRICTION_SET:
        FILL(ev->u.restriction.instrument_id, "instrument_id");
        FILL(ev->u.restriction.account_id, "account_id");
        ev->u.restriction.restricted = true;
        FILL(ev->u.restriction.reason, "reason");
        break;
    case OMS_EV_REFERENCE_PRICE_SET:
        FILL(ev->u.ref_price.instrument_id, "instrument_id");
        ev->u.ref_price.price = s_dv();
        break;
    case OMS_EV_ORDER_ACCEPTED:
        s_make_new_order(&ev->u.accepted.order, instr_store[1]);
        ev->u.accepted.status = OMS_ST_PENDING_RELEASE;
        FILL(ev->u.accepted.entered_by, "entered_by");
        ev->u.accepted.release_policy = OMS_RELEASE_FOUR_EYES;
        break;
    case OMS_EV_ORDER_RELEASED:
        FILL(ev->u.released.order_id, "order_id");
        FILL(ev->u.released.released_by, "released_by");
        ev->u.released.status = OMS_ST_PENDING_NEW;
        FILL(ev->u.released.text, "text");
        break;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        FILL(ev->u.request.order_id, "order_id");
        FILL(ev->u.request.cl_ord_id, "cl_ord_id");
        FILL(ev->u.request.orig_cl_ord_id, "orig_cl_ord_id");
        if (t == OMS_EV_REPLACE_REQUESTED) { /* CancelRequested carries no qty/price */
            ev->u.request.qty = s_ov();
            ev->u.request.price = s_ov();
        }
        ev->u.request.status = OMS_ST_PENDING_REPLACE;
        ev->u.request.prior_status = OMS_ST_PARTIALLY_FILLED;
        FILL(ev->u.request.text, "text");
        break;
    case OMS_EV_ORDER_ACKNOWLEDGED:
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_ORDER_REPLACED:
    case OMS_EV_REPLACE_REJECTED:
    case OMS_EV_ORDER_EXPIRED:
    case OMS_EV_ORDER_DONE_FOR_DAY:
    case OMS_EV_ORDER_FILLED:
    case OMS_EV_TRADE_BUSTED:
    case OMS_EV_TRADE_CORRECTED:
        /* Only the fields the event's message has (events.proto); the rest stay zero. */
        s_make_hdr(&o->h);
        o->status = OMS_ST_PENDING_REPLACE;
        if (t != OMS_EV_ORDER_ACKNOWLEDGED && t != OMS_EV_ORDER_FILLED)
            FILL(o->text, "text");
        if (t == OMS_EV_ORDER_REPLACED) {
            FILL(o->orig_cl_ord_id, "orig_cl_ord_id");
            o->qty = s_dv();
            o->price = s_ov();
        }
        if (t == OMS_EV_ORDER_FILLED || t == OMS_EV_TRADE_BUSTED || t == OMS_EV_TRADE_CORRECTED) {
            o->last_qty = s_dv();
            o->last_px = s_dv();
            o->avg_px = s_ov();
            FILL(o->account_id, "account_id");
            FILL(o->instrument_id, "instrument_id");
            o->side = OMS_SIDE_SELL;
        }
        if (t == OMS_EV_ORDER_FILLED) {
            o->overfill = true;
            o->late = true;
        }
        if (t == OMS_EV_TRADE_BUSTED || t == OMS_EV_TRADE_CORRECTED)
            FILL(o->ref_exec_id, "ref_exec_id");
        if (t == OMS_EV_TRADE_CORRECTED) {
            o->new_qty = s_dv();
            o->new_px = s_dv();
        }
        if (t != OMS_EV_ORDER_ACKNOWLEDGED && t != OMS_EV_ORDER_REJECTED_BY_VENUE &&
            t != OMS_EV_CANCEL_REJECTED && t != OMS_EV_REPLACE_REJECTED)
            o->cum_qty = s_dv();
        if (t == OMS_EV_ORDER_REPLACED || t == OMS_EV_ORDER_DONE_FOR_DAY ||
            t == OMS_EV_ORDER_FILLED || t == OMS_EV_TRADE_BUSTED || t == OMS_EV_TRADE_CORRECTED)
            o->leaves_qty = s_dv();
        if (t == OMS_EV_ORDER_CANCELED || t == OMS_EV_ORDER_EXPIRED)
            o->gone_qty = s_dv();
        if (t == OMS_EV_ORDER_EXPIRED)
            strcpy(o->trade_date, "2026-11-20");
        break;
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REVERSED:
        FILL(a->order_id, "order_id");
        FILL(a->alloc_id, "alloc_id");
        FILL(a->instrument_id, "instrument_id");
        a->side = OMS_SIDE_BUY;
        a->qty = s_dv();
        for (uint32_t i = 0; i < ARRAY_LEN(part_store); i++) {
            char tag[32];
            snprintf(tag, sizeof tag, "part-%u-", i);
            FILL(part_store[i].account_id, tag);
            part_store[i].qty = s_dv();
            part_store[i].px = s_dv();
        }
        a->parts = part_store;
        a->n_parts = ARRAY_LEN(part_store);
        if (t == OMS_EV_ALLOCATION_BOOKED) {
            a->avg_px = s_dv();
            s_make_instrs(instr_store[1], 5);
            a->instrs = instr_store[1];
            a->n_instrs = 5;
        }
        a->status = t == OMS_EV_ALLOCATION_BOOKED ? OMS_ALLOC_ST_BOOKED : OMS_ALLOC_ST_REVERSED;
        FILL(a->text, "text");
        break;
    case OMS_EV_ALLOCATION_REJECTED:
        FILL(a->order_id, "order_id");
        FILL(a->alloc_id, "alloc_id");
        a->reason = OMS_RR_ALLOC_NOT_LOTS;
        FILL(a->rule_id, "ALC-003");
        FILL(a->text, "text");
        a->asked_qty = s_ov();
        a->status = OMS_ALLOC_ST_REJECTED;
        break;
    case OMS_EV_COMMAND_REJECTED: {
        s_make_cmd(OMS_CMD_NEW_ORDER, true, &rejected_cmd);
        size_t n;
        assert_int_equal(codec_encode_command(&rejected_cmd, rejected_raw, sizeof rejected_raw, &n),
                         0);
        rejected_cmd.raw = rejected_raw;
        rejected_cmd.raw_len = n;
        FILL(ev->u.rejected.rule_id, "PTC-004");
        ev->u.rejected.reason = OMS_RR_MAX_QTY;
        FILL(ev->u.rejected.text, "text");
        ev->u.rejected.limit_value = s_ov();
        ev->u.rejected.actual_value = s_ov();
        ev->u.rejected.command_type = OMS_CMD_NEW_ORDER;
        ev->u.rejected.command = &rejected_cmd;
        ev->u.rejected.order_rejected = true;
        break;
    }
    case OMS_EV_EXCEPTION_RAISED:
        ev->u.exception.kind = OMS_EXC_LATE_REPORT;
        FILL(ev->u.exception.order_id, "order_id");
        FILL(ev->u.exception.venue, "venue");
        FILL(ev->u.exception.exec_id, "exec_id");
        FILL(ev->u.exception.text, "text");
        break;
    case OMS_EV_END_OF_DAY_PROCESSED:
        strcpy(ev->u.eod.trade_date, "2026-11-21");
        ev->u.eod.orders_expired = UINT32_MAX;
        break;
    case OMS_EV_NONE:
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers: field-by-field comparison                                                          */
/* ------------------------------------------------------------------------------------------ */

#define EQ_S(a, b, f) assert_string_equal((a)->f, (b)->f)
#define EQ_I(a, b, f) assert_true((int64_t)(a)->f == (int64_t)(b)->f)
#define EQ_O(a, b, f)                                                                              \
    do {                                                                                           \
        assert_int_equal((a)->f.set, (b)->f.set);                                                  \
        if ((a)->f.set)                                                                            \
            assert_true((a)->f.v == (b)->f.v);                                                     \
    } while (0)

static void s_eq_instrs(const oms_alloc_instr_t *a, uint32_t na, const oms_alloc_instr_t *b,
                        uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        EQ_S(&a[i], &b[i], account_id);
        EQ_I(&a[i], &b[i], by_weight);
        EQ_I(&a[i], &b[i], share);
    }
}

static void s_eq_instrument(const oms_instrument_def_t *a, const oms_instrument_def_t *b)
{
    EQ_S(a, b, instrument_id);
    EQ_S(a, b, symbol);
    EQ_I(a, b, asset_class);
    EQ_S(a, b, currency);
    EQ_I(a, b, multiplier);
    EQ_I(a, b, lot_size);
    EQ_I(a, b, tick_size);
    EQ_I(a, b, active);
}

static void s_eq_account(const oms_account_def_t *a, const oms_account_def_t *b)
{
    EQ_S(a, b, account_id);
    EQ_S(a, b, name);
    EQ_I(a, b, active);
    EQ_I(a, b, release_policy);
    EQ_I(a, b, allow_short);
}

static void s_eq_principal(const oms_principal_def_t *a, const oms_principal_def_t *b)
{
    EQ_S(a, b, principal_id);
    EQ_I(a, b, roles);
    EQ_I(a, b, active);
}

static void s_eq_limits(const oms_limits_def_t *a, const oms_limits_def_t *b)
{
    EQ_I(a, b, scope);
    EQ_S(a, b, account_id);
    EQ_S(a, b, instrument_id);
    EQ_O(a, b, max_order_qty);
    EQ_O(a, b, max_order_notional);
    EQ_O(a, b, max_position_long);
    EQ_O(a, b, max_position_short);
    EQ_O(a, b, collar_pct);
}

static void s_eq_restriction(const oms_restriction_def_t *a, const oms_restriction_def_t *b)
{
    EQ_S(a, b, instrument_id);
    EQ_S(a, b, account_id);
    EQ_I(a, b, restricted);
    EQ_S(a, b, reason);
}

static void s_eq_new_order(const oms_new_order_t *a, const oms_new_order_t *b)
{
    EQ_S(a, b, order_id);
    EQ_S(a, b, account_id);
    s_eq_instrs(a->allocs, a->n_allocs, b->allocs, b->n_allocs);
    EQ_S(a, b, instrument_id);
    EQ_I(a, b, side);
    EQ_I(a, b, ord_type);
    EQ_O(a, b, price);
    EQ_I(a, b, qty);
    EQ_I(a, b, tif);
    EQ_I(a, b, expire_ts_ns);
    EQ_S(a, b, text);
}

static void s_eq_hdr(const oms_venue_hdr_t *a, const oms_venue_hdr_t *b)
{
    EQ_S(a, b, order_id);
    EQ_S(a, b, venue);
    EQ_S(a, b, exec_id);
    EQ_S(a, b, venue_order_id);
    EQ_I(a, b, transact_ts_ns);
    EQ_S(a, b, cl_ord_id);
}

/* Every field of two commands, raw excepted (its bytes are compared by the callers). */
static void s_eq_cmd(const oms_cmd_t *a, const oms_cmd_t *b)
{
    EQ_I(a, b, type);
    EQ_S(a, b, command_id);
    EQ_S(a, b, principal);
    EQ_I(a, b, client_ts_ns);
    EQ_I(a, b, invalid);
    EQ_S(a, b, invalid_text);
    const oms_venue_report_t *ra = &a->u.report, *rb = &b->u.report;
    switch (a->type) {
    case OMS_CMD_DEFINE_INSTRUMENT:
    case OMS_CMD_UPDATE_INSTRUMENT:
        s_eq_instrument(&a->u.instrument, &b->u.instrument);
        break;
    case OMS_CMD_DEFINE_ACCOUNT:
        s_eq_account(&a->u.account, &b->u.account);
        break;
    case OMS_CMD_DEFINE_PRINCIPAL:
        s_eq_principal(&a->u.principal_def, &b->u.principal_def);
        break;
    case OMS_CMD_SET_LIMITS:
        s_eq_limits(&a->u.limits, &b->u.limits);
        break;
    case OMS_CMD_SET_RESTRICTED:
        s_eq_restriction(&a->u.restriction, &b->u.restriction);
        break;
    case OMS_CMD_SET_REFERENCE_PRICE:
        EQ_S(&a->u.ref_price, &b->u.ref_price, instrument_id);
        EQ_I(&a->u.ref_price, &b->u.ref_price, price);
        break;
    case OMS_CMD_NEW_ORDER:
        s_eq_new_order(&a->u.new_order, &b->u.new_order);
        break;
    case OMS_CMD_RELEASE_ORDER:
        EQ_S(&a->u.release, &b->u.release, order_id);
        EQ_S(&a->u.release, &b->u.release, text);
        break;
    case OMS_CMD_CANCEL_ORDER:
        EQ_S(&a->u.cancel, &b->u.cancel, order_id);
        EQ_S(&a->u.cancel, &b->u.cancel, cl_ord_id);
        EQ_S(&a->u.cancel, &b->u.cancel, text);
        break;
    case OMS_CMD_REPLACE_ORDER:
        EQ_S(&a->u.replace, &b->u.replace, order_id);
        EQ_S(&a->u.replace, &b->u.replace, new_cl_ord_id);
        EQ_O(&a->u.replace, &b->u.replace, qty);
        EQ_O(&a->u.replace, &b->u.replace, price);
        EQ_S(&a->u.replace, &b->u.replace, text);
        break;
    case OMS_CMD_VENUE_ACK:
    case OMS_CMD_VENUE_REJECT:
    case OMS_CMD_VENUE_FILL:
    case OMS_CMD_VENUE_CANCEL_ACK:
    case OMS_CMD_VENUE_CANCEL_REJECT:
    case OMS_CMD_VENUE_REPLACE_ACK:
    case OMS_CMD_VENUE_REPLACE_REJECT:
    case OMS_CMD_VENUE_EXPIRE:
    case OMS_CMD_VENUE_DONE_FOR_DAY:
    case OMS_CMD_TRADE_BUST:
    case OMS_CMD_TRADE_CORRECT:
        s_eq_hdr(&ra->h, &rb->h);
        EQ_I(ra, rb, last_qty);
        EQ_I(ra, rb, last_px);
        EQ_S(ra, rb, ref_exec_id);
        EQ_S(ra, rb, text);
        break;
    case OMS_CMD_ALLOCATE:
        EQ_S(&a->u.allocate, &b->u.allocate, order_id);
        EQ_S(&a->u.allocate, &b->u.allocate, alloc_id);
        s_eq_instrs(a->u.allocate.allocs, a->u.allocate.n_allocs, b->u.allocate.allocs,
                    b->u.allocate.n_allocs);
        EQ_O(&a->u.allocate, &b->u.allocate, qty);
        EQ_S(&a->u.allocate, &b->u.allocate, text);
        break;
    case OMS_CMD_REVERSE_ALLOCATION:
        EQ_S(&a->u.reverse, &b->u.reverse, order_id);
        EQ_S(&a->u.reverse, &b->u.reverse, alloc_id);
        EQ_S(&a->u.reverse, &b->u.reverse, reason);
        break;
    case OMS_CMD_END_OF_DAY:
        EQ_S(&a->u.eod, &b->u.eod, trade_date);
        break;
    case OMS_CMD_NONE:
        break;
    }
}

static void s_eq_event(const oms_event_t *a, const oms_event_t *b)
{
    EQ_I(a, b, type);
    const oms_ev_order_t *oa = &a->u.order, *ob = &b->u.order;
    const oms_ev_alloc_t *aa = &a->u.alloc, *ab = &b->u.alloc;
    switch (a->type) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED:
        s_eq_instrument(&a->u.instrument, &b->u.instrument);
        break;
    case OMS_EV_ACCOUNT_DEFINED:
        s_eq_account(&a->u.account, &b->u.account);
        break;
    case OMS_EV_PRINCIPAL_DEFINED:
        s_eq_principal(&a->u.principal, &b->u.principal);
        break;
    case OMS_EV_LIMITS_SET:
        s_eq_limits(&a->u.limits, &b->u.limits);
        break;
    case OMS_EV_RESTRICTION_SET:
        s_eq_restriction(&a->u.restriction, &b->u.restriction);
        break;
    case OMS_EV_REFERENCE_PRICE_SET:
        EQ_S(&a->u.ref_price, &b->u.ref_price, instrument_id);
        EQ_I(&a->u.ref_price, &b->u.ref_price, price);
        break;
    case OMS_EV_ORDER_ACCEPTED:
        s_eq_new_order(&a->u.accepted.order, &b->u.accepted.order);
        EQ_I(&a->u.accepted, &b->u.accepted, status);
        EQ_S(&a->u.accepted, &b->u.accepted, entered_by);
        EQ_I(&a->u.accepted, &b->u.accepted, release_policy);
        break;
    case OMS_EV_ORDER_RELEASED:
        EQ_S(&a->u.released, &b->u.released, order_id);
        EQ_S(&a->u.released, &b->u.released, released_by);
        EQ_I(&a->u.released, &b->u.released, status);
        EQ_S(&a->u.released, &b->u.released, text);
        break;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        EQ_S(&a->u.request, &b->u.request, order_id);
        EQ_S(&a->u.request, &b->u.request, cl_ord_id);
        EQ_S(&a->u.request, &b->u.request, orig_cl_ord_id);
        EQ_O(&a->u.request, &b->u.request, qty);
        EQ_O(&a->u.request, &b->u.request, price);
        EQ_I(&a->u.request, &b->u.request, status);
        EQ_I(&a->u.request, &b->u.request, prior_status);
        EQ_S(&a->u.request, &b->u.request, text);
        break;
    case OMS_EV_ORDER_ACKNOWLEDGED:
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_ORDER_REPLACED:
    case OMS_EV_REPLACE_REJECTED:
    case OMS_EV_ORDER_EXPIRED:
    case OMS_EV_ORDER_DONE_FOR_DAY:
    case OMS_EV_ORDER_FILLED:
    case OMS_EV_TRADE_BUSTED:
    case OMS_EV_TRADE_CORRECTED:
        s_eq_hdr(&oa->h, &ob->h);
        EQ_I(oa, ob, status);
        EQ_S(oa, ob, text);
        EQ_S(oa, ob, orig_cl_ord_id);
        EQ_I(oa, ob, qty);
        EQ_O(oa, ob, price);
        EQ_I(oa, ob, last_qty);
        EQ_I(oa, ob, last_px);
        EQ_I(oa, ob, new_qty);
        EQ_I(oa, ob, new_px);
        EQ_S(oa, ob, ref_exec_id);
        EQ_I(oa, ob, cum_qty);
        EQ_I(oa, ob, leaves_qty);
        EQ_O(oa, ob, avg_px);
        EQ_I(oa, ob, gone_qty);
        EQ_I(oa, ob, overfill);
        EQ_I(oa, ob, late);
        EQ_S(oa, ob, trade_date);
        EQ_S(oa, ob, account_id);
        EQ_S(oa, ob, instrument_id);
        EQ_I(oa, ob, side);
        break;
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED:
        EQ_S(aa, ab, order_id);
        EQ_S(aa, ab, alloc_id);
        EQ_S(aa, ab, instrument_id);
        EQ_I(aa, ab, side);
        EQ_I(aa, ab, qty);
        EQ_I(aa, ab, avg_px);
        assert_int_equal(aa->n_parts, ab->n_parts);
        for (uint32_t i = 0; i < aa->n_parts; i++) {
            EQ_S(&aa->parts[i], &ab->parts[i], account_id);
            EQ_I(&aa->parts[i], &ab->parts[i], qty);
            EQ_I(&aa->parts[i], &ab->parts[i], px);
        }
        s_eq_instrs(aa->instrs, aa->n_instrs, ab->instrs, ab->n_instrs);
        EQ_I(aa, ab, status);
        EQ_I(aa, ab, reason);
        EQ_S(aa, ab, rule_id);
        EQ_O(aa, ab, asked_qty);
        EQ_S(aa, ab, text);
        break;
    case OMS_EV_COMMAND_REJECTED:
        EQ_S(&a->u.rejected, &b->u.rejected, rule_id);
        EQ_I(&a->u.rejected, &b->u.rejected, reason);
        EQ_S(&a->u.rejected, &b->u.rejected, text);
        EQ_O(&a->u.rejected, &b->u.rejected, limit_value);
        EQ_O(&a->u.rejected, &b->u.rejected, actual_value);
        EQ_I(&a->u.rejected, &b->u.rejected, command_type);
        EQ_I(&a->u.rejected, &b->u.rejected, order_rejected);
        assert_int_equal(a->u.rejected.command == NULL, b->u.rejected.command == NULL);
        if (a->u.rejected.command) {
            const oms_cmd_t *ca = a->u.rejected.command, *cb = b->u.rejected.command;
            s_eq_cmd(ca, cb);
            if (ca->raw && cb->raw) {
                assert_int_equal(ca->raw_len, cb->raw_len);
                assert_memory_equal(ca->raw, cb->raw, ca->raw_len);
            }
        }
        break;
    case OMS_EV_EXCEPTION_RAISED:
        EQ_I(&a->u.exception, &b->u.exception, kind);
        EQ_S(&a->u.exception, &b->u.exception, order_id);
        EQ_S(&a->u.exception, &b->u.exception, venue);
        EQ_S(&a->u.exception, &b->u.exception, exec_id);
        EQ_S(&a->u.exception, &b->u.exception, text);
        break;
    case OMS_EV_END_OF_DAY_PROCESSED:
        EQ_S(&a->u.eod, &b->u.eod, trade_date);
        EQ_I(&a->u.eod, &b->u.eod, orders_expired);
        break;
    case OMS_EV_NONE:
        break;
    }
}

static void s_eq_reply(const oms_reply_t *a, const oms_reply_t *b)
{
    EQ_S(a, b, command_id);
    EQ_I(a, b, status);
    EQ_I(a, b, error_code);
    EQ_I(a, b, reject_reason);
    EQ_S(a, b, rule_id);
    EQ_S(a, b, text);
    EQ_S(a, b, order_id);
    EQ_I(a, b, ord_status);
    EQ_I(a, b, first_seq);
    EQ_I(a, b, last_seq);
    EQ_I(a, b, original_status);
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers: a protobuf writer for bytes the codec would never produce                          */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} w_t;

static void w_init(w_t *w, size_t cap)
{
    w->b = malloc(cap);
    assert_non_null(w->b);
    w->n = 0;
    w->cap = cap;
}

static void w_free(w_t *w)
{
    free(w->b);
    w->b = NULL;
}

static void w_byte(w_t *w, uint8_t v)
{
    assert_true(w->n < w->cap);
    w->b[w->n++] = v;
}

static void w_varint(w_t *w, uint64_t v)
{
    while (v >= 0x80) {
        w_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    w_byte(w, (uint8_t)v);
}

static void w_key(w_t *w, uint32_t field, unsigned wire_type)
{
    w_varint(w, ((uint64_t)field << 3) | wire_type);
}

static void w_bytes(w_t *w, uint32_t field, const void *p, size_t n)
{
    w_key(w, field, 2);
    w_varint(w, n);
    assert_true(w->cap - w->n >= n);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void w_str(w_t *w, uint32_t field, const char *s)
{
    w_bytes(w, field, s, strlen(s));
}

/* int32/int64/enum/bool field (a negative value takes 10 bytes, as protobuf writes it). */
static void w_int(w_t *w, uint32_t field, int64_t v)
{
    w_key(w, field, 0);
    w_varint(w, (uint64_t)v);
}

/* A Decimal sub-message holding e8 (sint64, zigzag). */
static void w_dec(w_t *w, uint32_t field, int64_t e8)
{
    uint8_t tmp[16];
    w_t d = {tmp, 0, sizeof tmp};
    w_key(&d, 1, 0);
    w_varint(&d, ((uint64_t)e8 << 1) ^ (uint64_t)(e8 >> 63));
    w_bytes(w, field, tmp, d.n);
}

static void w_msg(w_t *w, uint32_t field, const w_t *sub)
{
    w_bytes(w, field, sub->b, sub->n);
}

/* A Command with header fields (NULL = absent) and a body (none if body is NULL). */
static void w_command(w_t *w, const char *cid, const char *principal, uint32_t body_field,
                      const w_t *body)
{
    w->n = 0;
    if (cid)
        w_str(w, 1, cid);
    if (principal)
        w_str(w, 2, principal);
    w_int(w, 3, 1763733053000000000LL);
    if (body)
        w_msg(w, body_field, body);
}

/* A minimal valid NewOrder body; `extra` lets a test append or override fields (protobuf: the
 * last occurrence of a scalar wins). */
static void w_new_order(w_t *b, const char *order_id)
{
    b->n = 0;
    w_str(b, 1, order_id);
    w_str(b, 2, "ACC-1");
    w_str(b, 4, "AAPL");
    w_int(b, 5, OMS_SIDE_BUY);
    w_int(b, 6, OMS_ORD_LIMIT);
    w_dec(b, 7, 10125000000LL);
    w_dec(b, 8, 100 * OMS_DEC_SCALE);
    w_int(b, 9, OMS_TIF_DAY);
}

/* Decodes w as a command; returns the codec's result (the command in *out, its error in err). */
static oms_arena_t arena;
static char err[256];

static int s_decode_w(const w_t *w, oms_cmd_t *out)
{
    oms_arena_reset(&arena);
    return codec_decode_command(w->b, w->n, &arena, out, err, sizeof err);
}

/* Expects w to decode with `invalid` == rr and an invalid_text that mentions `field`. */
static void s_expect_invalid(const w_t *w, oms_reject_reason_t rr, const char *field)
{
    oms_cmd_t c;
    assert_int_equal(s_decode_w(w, &c), 0);
    if (c.invalid != rr)
        fail_msg("invalid = %d (%s), expected %d; text '%s'", c.invalid,
                 oms_reject_reason_name(c.invalid), rr, c.invalid_text);
    if (!strstr(c.invalid_text, field))
        fail_msg("invalid_text '%s' does not name '%s'", c.invalid_text, field);
}

static int s_setup(void **state)
{
    (void)state;
    return oms_arena_init(&arena, ARENA_CAP);
}

static int s_teardown(void **state)
{
    (void)state;
    oms_arena_free(&arena);
    return 0;
}

static uint8_t buf1[BUF_CAP], buf2[BUF_CAP];

/* ------------------------------------------------------------------------------------------ */
/* Commands                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void s_cmd_round_trip(oms_cmd_type_t t, bool full)
{
    oms_cmd_t in, out;
    s_make_cmd(t, full, &in);
    size_t n, n2;
    assert_int_equal(codec_encode_command(&in, buf1, sizeof buf1, &n), 0);
    assert_true(n > 0);
    oms_arena_reset(&arena);
    int rc = codec_decode_command(buf1, n, &arena, &out, err, sizeof err);
    if (rc)
        fail_msg("%s: decode %s (%s)", oms_cmd_type_name(t), oms_errname(rc), err);
    if (out.invalid)
        fail_msg("%s: invalid %s: %s", oms_cmd_type_name(t), oms_reject_reason_name(out.invalid),
                 out.invalid_text);
    assert_ptr_equal(out.raw, buf1);
    assert_int_equal(out.raw_len, n);
    s_eq_cmd(&in, &out);
    /* Deterministic: the decoded value re-encodes to the same bytes. */
    memset(buf2, 0xa5, n + 16);
    assert_int_equal(codec_encode_command(&out, buf2, sizeof buf2, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(buf1, buf2, n);
}

/* True if t is in list[n] (the lists above must name every type the model names). */
static bool s_listed(const int *list, size_t n, int t)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == t)
            return true;
    return false;
}

static void test_codec_every_command_round_trips(void **state)
{
    (void)state;
    for (int t = 1; t < 1000; t++)
        assert_int_equal(oms_cmd_type_name((oms_cmd_type_t)t)[0] != '\0',
                         s_listed((const int *)all_cmd_types, ARRAY_LEN(all_cmd_types), t));
    for (size_t i = 0; i < ARRAY_LEN(all_cmd_types); i++) {
        s_cmd_round_trip(all_cmd_types[i], true);
        s_cmd_round_trip(all_cmd_types[i], false);
    }
}

static void test_codec_command_with_max_allocations_round_trips(void **state)
{
    (void)state;
    oms_cmd_t in, out;
    s_make_cmd(OMS_CMD_NEW_ORDER, true, &in);
    s_make_instrs(instr_store[0], OMS_LIMIT_ALLOC_ACCOUNTS);
    in.u.new_order.n_allocs = OMS_LIMIT_ALLOC_ACCOUNTS;
    size_t n;
    assert_int_equal(codec_encode_command(&in, buf1, sizeof buf1, &n), 0);
    assert_true(n <= OMS_LIMIT_MSG_BYTES);
    oms_arena_reset(&arena);
    assert_int_equal(codec_decode_command(buf1, n, &arena, &out, err, sizeof err), 0);
    assert_int_equal(out.invalid, OMS_RR_NONE);
    s_eq_cmd(&in, &out);
    /* The decoded list lives in the arena, not in protobuf-c memory. */
    assert_true((const uint8_t *)out.u.new_order.allocs >= arena.base &&
                (const uint8_t *)out.u.new_order.allocs < arena.base + arena.cap);
    /* One more is refused by the encoder. */
    in.u.new_order.n_allocs = OMS_LIMIT_ALLOC_ACCOUNTS + 1;
    assert_int_equal(codec_encode_command(&in, buf1, sizeof buf1, &n), OMS_ERR_LIMIT);
}

static void test_codec_command_none_encodes_without_body(void **state)
{
    (void)state;
    oms_cmd_t in, out;
    s_make_cmd(OMS_CMD_NONE, true, &in);
    size_t n;
    assert_int_equal(codec_encode_command(&in, buf1, sizeof buf1, &n), 0);
    oms_arena_reset(&arena);
    assert_int_equal(codec_decode_command(buf1, n, &arena, &out, err, sizeof err), 0);
    assert_int_equal(out.type, OMS_CMD_NONE);
    assert_int_equal(out.invalid, OMS_RR_UNKNOWN_COMMAND);
    EQ_S(&in, &out, command_id);
}

/* ------------------------------------------------------------------------------------------ */
/* Events                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Reads a varint at buf[*pos..len) (test-side, independent of the codec). */
static uint64_t s_varint(const uint8_t *buf, size_t len, size_t *pos)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *pos < len && shift < 64; shift += 7) {
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    fail_msg("bad varint");
    return 0;
}

static void s_event_round_trip(oms_event_type_t t, bool full)
{
    oms_event_t in, out;
    s_make_event(t, full, &in);
    size_t n, n2;
    int rc = codec_encode_event(&in, buf1, sizeof buf1, &n);
    if (rc)
        fail_msg("%s: encode %s", oms_event_type_name(t), oms_errname(rc));
    oms_arena_reset(&arena);
    /* An Event is exactly one field: the body, keyed by the type, length-delimited. */
    size_t pos = 0;
    assert_true(s_varint(buf1, n, &pos) == (((uint64_t)t << 3) | 2));
    assert_true(s_varint(buf1, n, &pos) == n - pos);
    rc = codec_decode_event(buf1, n, &arena, &out);
    if (rc)
        fail_msg("%s: decode %s", oms_event_type_name(t), oms_errname(rc));
    s_eq_event(&in, &out);
    /* encode(decode(bytes)) == bytes */
    memset(buf2, 0x5a, n + 16);
    assert_int_equal(codec_encode_event(&out, buf2, sizeof buf2, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(buf1, buf2, n);
}

static void test_codec_every_event_round_trips(void **state)
{
    (void)state;
    for (int t = 1; t < 1000; t++)
        assert_int_equal(oms_event_type_name((oms_event_type_t)t)[0] != '\0',
                         s_listed((const int *)all_event_types, ARRAY_LEN(all_event_types), t));
    for (size_t i = 0; i < ARRAY_LEN(all_event_types); i++) {
        s_event_round_trip(all_event_types[i], true);
        s_event_round_trip(all_event_types[i], false);
    }
}

/* Shortens string `keep` bytes long in both a and b, and fills b's bytes after the NUL. */
static void s_junk_tail(char *a, char *b, size_t cap, size_t keep)
{
    a[keep] = b[keep] = '\0';
    memset(b + keep + 1, 'X', cap - keep - 2);
    b[cap - 1] = '\0';
}

static void test_codec_event_encoding_is_deterministic(void **state)
{
    (void)state;
    /* The output buffer's old contents change nothing. */
    for (size_t i = 0; i < ARRAY_LEN(all_event_types); i++) {
        oms_event_t a;
        s_make_event(all_event_types[i], true, &a);
        size_t na, nb;
        memset(buf1, 0x00, 4096);
        memset(buf2, 0xff, 4096);
        assert_int_equal(codec_encode_event(&a, buf1, sizeof buf1, &na), 0);
        assert_int_equal(codec_encode_event(&a, buf2, sizeof buf2, &nb), 0);
        assert_int_equal(na, nb);
        assert_memory_equal(buf1, buf2, na);
    }
    /* Nor do bytes after a string's NUL, or model fields the event's message does not have. */
    oms_event_t a, b;
    s_make_event(OMS_EV_ORDER_FILLED, true, &a);
    b = a;
    s_junk_tail(a.u.order.h.exec_id, b.u.order.h.exec_id, OMS_ID_CAP, 10);
    s_junk_tail(a.u.order.account_id, b.u.order.account_id, OMS_ID_CAP, 3);
    FILL(b.u.order.text, "not in OrderFilled");
    FILL(b.u.order.trade_date, "2026-01-01");
    b.u.order.gone_qty = 42;
    b.u.order.new_qty = 43;
    b.u.order.price = (oms_opt_dec_t){true, 44};
    size_t na, nb;
    assert_int_equal(codec_encode_event(&a, buf1, sizeof buf1, &na), 0);
    assert_int_equal(codec_encode_event(&b, buf2, sizeof buf2, &nb), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(buf1, buf2, na);
    s_make_event(OMS_EV_LIMITS_SET, true, &a);
    b = a;
    s_junk_tail(a.u.limits.account_id, b.u.limits.account_id, OMS_ID_CAP, 0);
    b.u.limits.collar_pct.set = false;
    a.u.limits.collar_pct = (oms_opt_dec_t){false, 0};
    b.u.limits.collar_pct.v = 99; /* ignored when not set */
    assert_int_equal(codec_encode_event(&a, buf1, sizeof buf1, &na), 0);
    assert_int_equal(codec_encode_event(&b, buf2, sizeof buf2, &nb), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(buf1, buf2, na);
}

static void test_codec_allocation_booked_with_max_parts_round_trips(void **state)
{
    (void)state;
    static oms_alloc_part_t parts[OMS_LIMIT_ALLOC_ACCOUNTS];
    oms_event_t in, out;
    s_make_event(OMS_EV_ALLOCATION_BOOKED, true, &in);
    for (uint32_t i = 0; i < OMS_LIMIT_ALLOC_ACCOUNTS; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "p%u-", i);
        FILL(parts[i].account_id, tag);
        parts[i].qty = s_dv();
        parts[i].px = s_dv();
    }
    s_make_instrs(instr_store[1], OMS_LIMIT_ALLOC_ACCOUNTS);
    in.u.alloc.parts = parts;
    in.u.alloc.n_parts = OMS_LIMIT_ALLOC_ACCOUNTS;
    in.u.alloc.n_instrs = OMS_LIMIT_ALLOC_ACCOUNTS;
    size_t n, n2;
    assert_int_equal(codec_encode_event(&in, buf1, sizeof buf1, &n), 0);
    oms_arena_reset(&arena);
    assert_int_equal(codec_decode_event(buf1, n, &arena, &out), 0);
    s_eq_event(&in, &out);
    assert_int_equal(codec_encode_event(&out, buf2, sizeof buf2, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(buf1, buf2, n);
    in.u.alloc.n_parts = OMS_LIMIT_ALLOC_ACCOUNTS + 1;
    assert_int_equal(codec_encode_event(&in, buf1, sizeof buf1, &n), OMS_ERR_LIMIT);
}

/* ------------------------------------------------------------------------------------------ */
/* CommandRejected                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Encodes a rejection of the command received as raw[n], checks the bytes are inside the event
 * verbatim, decodes it and checks the command equals a direct decode of raw. */
static void s_rejected_embeds(const uint8_t *raw, size_t raw_len)
{
    oms_cmd_t cmd, direct;
    oms_arena_reset(&arena);
    assert_int_equal(codec_decode_command(raw, raw_len, &arena, &cmd, err, sizeof err), 0);
    oms_event_t ev, out;
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_COMMAND_REJECTED;
    strcpy(ev.u.rejected.rule_id, "CMD-001");
    ev.u.rejected.reason = cmd.invalid ? cmd.invalid : OMS_RR_UNKNOWN_INSTRUMENT;
    strcpy(ev.u.rejected.text, cmd.invalid ? cmd.invalid_text : "unknown instrument");
    ev.u.rejected.command_type = cmd.type;
    ev.u.rejected.command = &cmd;
    size_t n, n2;
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    const uint8_t *at = memmem(buf1, n, raw, raw_len);
    assert_non_null(at);
    /* Framed as field 7 of the body: tag 0x3a, then the length. */
    assert_true(at - buf1 >= 2);

    assert_int_equal(codec_decode_event(buf1, n, &arena, &out), 0);
    const oms_cmd_t *got = out.u.rejected.command;
    assert_non_null(got);
    assert_ptr_equal(got->raw, at);
    assert_int_equal(got->raw_len, raw_len);
    assert_int_equal(codec_decode_command(raw, raw_len, &arena, &direct, err, sizeof err), 0);
    s_eq_cmd(&direct, got);
    s_eq_event(&ev, &out);
    assert_int_equal(codec_encode_event(&out, buf2, sizeof buf2, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(buf1, buf2, n);
}

static void test_codec_rejected_embeds_raw_command_verbatim(void **state)
{
    (void)state;
    /* Canonical bytes from the encoder. */
    oms_cmd_t c;
    s_make_cmd(OMS_CMD_ALLOCATE, true, &c);
    static uint8_t raw[8192];
    size_t n;
    assert_int_equal(codec_encode_command(&c, raw, sizeof raw, &n), 0);
    s_rejected_embeds(raw, n);

    /* Non-canonical bytes (body first, an unknown field, a header field repeated): kept as they
     * came, although a re-encoding would differ. */
    w_t w, b;
    w_init(&w, 4096);
    w_init(&b, 4096);
    w_new_order(&b, "ORD-1");
    w_msg(&w, OMS_CMD_NEW_ORDER, &b);
    w_str(&w, 2, "pm-alice");
    w_str(&w, 1, "cmd-1");
    w_int(&w, 7, 12345); /* reserved header number: unknown to this version */
    w_str(&w, 1, "cmd-1");
    s_rejected_embeds(w.b, w.n);

    /* A command refused for a NUL byte in its text: the NUL survives in the log. */
    w_new_order(&b, "ORD-2");
    w_bytes(&b, 11, "bad\0text", 8);
    w_command(&w, "cmd-2", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_rejected_embeds(w.b, w.n);
    w_free(&w);
    w_free(&b);
}

static void test_codec_rejected_without_raw_encodes_model_command(void **state)
{
    (void)state;
    oms_event_t ev, out;
    s_make_event(OMS_EV_COMMAND_REJECTED, true, &ev);
    rejected_cmd.raw = NULL;
    rejected_cmd.raw_len = 0;
    size_t n, n2, nc;
    static uint8_t cmd_bytes[8192];
    assert_int_equal(codec_encode_command(&rejected_cmd, cmd_bytes, sizeof cmd_bytes, &nc), 0);
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    assert_non_null(memmem(buf1, n, cmd_bytes, nc));
    oms_arena_reset(&arena);
    assert_int_equal(codec_decode_event(buf1, n, &arena, &out), 0);
    s_eq_event(&ev, &out);
    assert_int_equal(out.u.rejected.command->raw_len, nc);
    assert_memory_equal(out.u.rejected.command->raw, cmd_bytes, nc);
    assert_int_equal(codec_encode_event(&out, buf2, sizeof buf2, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(buf1, buf2, n);

    /* Too small a buffer is refused with the size needed, also on this hand-framed path. */
    size_t need;
    assert_int_equal(codec_encode_event(&ev, buf1, n - 1, &need), OMS_ERR_LIMIT);
    assert_int_equal(need, n);
    assert_int_equal(codec_encode_event(&ev, buf1, n, &need), 0);

    /* No command at all, and no body type. */
    ev.u.rejected.command = NULL;
    ev.u.rejected.command_type = OMS_CMD_NONE;
    ev.u.rejected.order_rejected = false;
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    assert_int_equal(codec_decode_event(buf1, n, &arena, &out), 0);
    s_eq_event(&ev, &out);
    assert_null(out.u.rejected.command);
}

static void test_codec_rejected_decode_refuses_ambiguous_command(void **state)
{
    (void)state;
    oms_event_t ev, out;
    s_make_event(OMS_EV_COMMAND_REJECTED, true, &ev);
    size_t n;
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    /* The body with field 7 twice: protobuf-c would merge the two, so no single raw exists. */
    w_t e, body;
    w_init(&e, BUF_CAP);
    w_init(&body, BUF_CAP);
    w_str(&body, 1, "CMD-001");
    w_bytes(&body, 7, rejected_cmd.raw, rejected_cmd.raw_len);
    w_bytes(&body, 7, rejected_cmd.raw, rejected_cmd.raw_len);
    w_msg(&e, OMS_EV_COMMAND_REJECTED, &body);
    oms_arena_reset(&arena);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), OMS_ERR_DECODE);
    /* An unknown command_type name. */
    body.n = 0;
    e.n = 0;
    w_str(&body, 1, "CMD-001");
    w_str(&body, 6, "teleport_order");
    w_msg(&e, OMS_EV_COMMAND_REJECTED, &body);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), OMS_ERR_DECODE);
    w_free(&e);
    w_free(&body);
}

/* ------------------------------------------------------------------------------------------ */
/* Replies                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void test_codec_reply_round_trips(void **state)
{
    (void)state;
    oms_reply_t in, out;
    memset(&in, 0, sizeof in);
    FILL(in.command_id, "command_id");
    in.status = OMS_REPLY_DUPLICATE;
    in.error_code = OMS_ERR_DECODE;
    in.reject_reason = OMS_RR_DAY_ALREADY_PROCESSED;
    FILL(in.rule_id, "EOD-001");
    FILL(in.text, "text");
    FILL(in.order_id, "order_id");
    in.ord_status = OMS_ST_PENDING_REPLACE;
    in.first_seq = UINT64_MAX - 1;
    in.last_seq = UINT64_MAX;
    in.original_status = OMS_REPLY_REJECTED;
    size_t n, n2, need;
    assert_int_equal(codec_encode_reply(&in, buf1, sizeof buf1, &n), 0);
    assert_int_equal(codec_decode_reply(buf1, n, &out), 0);
    s_eq_reply(&in, &out);
    assert_int_equal(codec_encode_reply(&out, buf2, sizeof buf2, &n2), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(buf1, buf2, n);
    assert_int_equal(codec_encode_reply(&in, buf1, n - 1, &need), OMS_ERR_LIMIT);
    assert_int_equal(need, n);

    /* Defaults, garbage, an over-long rule id. */
    memset(&in, 0, sizeof in);
    assert_int_equal(codec_encode_reply(&in, buf1, sizeof buf1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(codec_decode_reply(buf1, n, &out), 0);
    s_eq_reply(&in, &out);
    static const uint8_t junk[] = {0x0a, 0x7f, 0x01};
    assert_int_equal(codec_decode_reply(junk, sizeof junk, &out), OMS_ERR_DECODE);
    w_t w;
    w_init(&w, 256);
    w_str(&w, 5, "RULE-0123456789AB");
    assert_int_equal(codec_decode_reply(w.b, w.n, &out), OMS_ERR_DECODE);
    w_free(&w);
}

/* ------------------------------------------------------------------------------------------ */
/* Refusals                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void test_codec_garbage_is_decode_error(void **state)
{
    (void)state;
    static const uint8_t junk1[] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t junk2[] = {0x0a, 0x05, 'a', 'b'};       /* string runs past the end */
    static const uint8_t junk3[] = {0x0f};                       /* wire type 7 */
    static const uint8_t junk4[] = {0x0a, 0x02, 'a', 'b', 0x80}; /* truncated varint key */
    const uint8_t *junk[] = {junk1, junk2, junk3, junk4};
    size_t lens[] = {sizeof junk1, sizeof junk2, sizeof junk3, sizeof junk4};
    for (size_t i = 0; i < ARRAY_LEN(junk); i++) {
        oms_cmd_t c;
        oms_event_t ev;
        oms_arena_reset(&arena);
        assert_int_equal(codec_decode_command(junk[i], lens[i], &arena, &c, err, sizeof err),
                         OMS_ERR_DECODE);
        assert_true(err[0] != '\0');
        assert_int_equal(codec_decode_event(junk[i], lens[i], &arena, &ev), OMS_ERR_DECODE);
    }
    /* A valid command cut short. */
    oms_cmd_t c;
    s_make_cmd(OMS_CMD_NEW_ORDER, true, &c);
    size_t n;
    assert_int_equal(codec_encode_command(&c, buf1, sizeof buf1, &n), 0);
    assert_int_equal(codec_decode_command(buf1, n - 3, &arena, &c, err, sizeof err),
                     OMS_ERR_DECODE);
    /* Empty input: no command id. */
    assert_int_equal(codec_decode_command(buf1, 0, &arena, &c, err, sizeof err), OMS_ERR_DECODE);
    /* err may be absent. */
    assert_int_equal(codec_decode_command(junk1, sizeof junk1, &arena, &c, NULL, 0),
                     OMS_ERR_DECODE);
}

static void test_codec_oversized_command_is_limit(void **state)
{
    (void)state;
    /* A command of exactly OMS_LIMIT_MSG_BYTES decodes (its text is over its own limit, so it
     * is marked invalid); one byte more is refused before parsing. */
    w_t w, b;
    w_init(&w, OMS_LIMIT_MSG_BYTES + 64);
    w_init(&b, OMS_LIMIT_MSG_BYTES + 64);
    char *text = malloc(OMS_LIMIT_MSG_BYTES);
    assert_non_null(text);
    for (size_t len = OMS_LIMIT_MSG_BYTES - 40; len > 0; len--) {
        memset(text, 't', len);
        w_new_order(&b, "ORD-1");
        w_bytes(&b, 11, text, len);
        w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
        if (w.n <= OMS_LIMIT_MSG_BYTES)
            break;
    }
    assert_int_equal(w.n, OMS_LIMIT_MSG_BYTES); /* the varint widths stay put near the limit */
    oms_cmd_t c;
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.invalid, OMS_RR_INPUT_LIMIT);
    w_byte(&w, 0);
    assert_int_equal(s_decode_w(&w, &c), OMS_ERR_LIMIT);
    assert_non_null(strstr(err, "limit"));
    free(text);
    w_free(&w);
    w_free(&b);
}

static void test_codec_unattributable_command_is_decode_error(void **state)
{
    (void)state;
    char id64[OMS_ID_CAP], id65[OMS_ID_CAP + 1];
    FILL(id64, "principal");
    FILL(id65, "principal");
    w_t w, b;
    w_init(&w, 4096);
    w_init(&b, 4096);
    w_new_order(&b, "ORD-1");
    oms_cmd_t c;
    const struct {
        const char *cid, *principal;
        int rc;
    } cases[] = {
        {"cmd-1", "pm-alice", 0},           {"", "pm-alice", OMS_ERR_DECODE},
        {NULL, "pm-alice", OMS_ERR_DECODE}, {"cmd-1", "", OMS_ERR_DECODE},
        {"cmd-1", NULL, OMS_ERR_DECODE},    {"cmd-1", id64, 0},
        {"cmd-1", id65, OMS_ERR_DECODE},    {id64, "pm-alice", 0},
        {id65, "pm-alice", OMS_ERR_DECODE},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        w_command(&w, cases[i].cid, cases[i].principal, OMS_CMD_NEW_ORDER, &b);
        if (s_decode_w(&w, &c) != cases[i].rc)
            fail_msg("case %zu: expected %d (%s)", i, cases[i].rc, err);
        if (cases[i].rc == 0) {
            assert_int_equal(c.invalid, OMS_RR_NONE);
            assert_string_equal(c.principal, cases[i].principal);
        } else {
            assert_true(err[0] != '\0');
        }
    }
    /* A NUL inside the command id or the principal. */
    w.n = 0;
    w_bytes(&w, 1, "cmd\0-1", 6);
    w_str(&w, 2, "pm-alice");
    w_msg(&w, OMS_CMD_NEW_ORDER, &b);
    assert_int_equal(s_decode_w(&w, &c), OMS_ERR_DECODE);
    assert_non_null(strstr(err, "command_id"));
    w.n = 0;
    w_str(&w, 1, "cmd-1");
    w_bytes(&w, 2, "pm\0alice", 8);
    assert_int_equal(s_decode_w(&w, &c), OMS_ERR_DECODE);
    assert_non_null(strstr(err, "principal"));
    w_free(&w);
    w_free(&b);
}

static void test_codec_over_limit_strings_are_input_limit(void **state)
{
    (void)state;
    char id65[OMS_ID_CAP + 1], text513[OMS_TEXT_CAP + 1], text512[OMS_TEXT_CAP];
    FILL(id65, "order_id");
    FILL(text513, "text");
    FILL(text512, "text");
    w_t w, b;
    w_init(&w, 8192);
    w_init(&b, 8192);
    w_new_order(&b, id65);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "new_order.order_id");
    /* Still filled: the truncated id, the other fields. */
    oms_cmd_t c;
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(strlen(c.u.new_order.order_id), OMS_LIMIT_ID_LEN);
    assert_string_equal(c.u.new_order.instrument_id, "AAPL");
    assert_int_equal(c.u.new_order.qty, 100 * OMS_DEC_SCALE);

    w_new_order(&b, "ORD-1");
    w_str(&b, 11, text513);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "new_order.text");
    w_new_order(&b, "ORD-1");
    w_str(&b, 11, text512);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.invalid, OMS_RR_NONE);

    /* A venue report's exec id. */
    b.n = 0;
    w_str(&b, 1, "ORD-1");
    w_str(&b, 3, id65);
    w_command(&w, "cmd-1", "venue-1", OMS_CMD_VENUE_FILL, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "venue_fill.exec_id");

    /* The first problem wins: the order id comes before the text. */
    w_new_order(&b, id65);
    w_str(&b, 11, text513);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "order_id");
    w_free(&w);
    w_free(&b);
}

static void test_codec_too_many_list_entries_are_input_limit(void **state)
{
    (void)state;
    w_t w, b, ai;
    w_init(&w, 65536);
    w_init(&b, 65536);
    w_init(&ai, 256);
    w_new_order(&b, "ORD-1");
    for (int i = 0; i < OMS_LIMIT_ALLOC_ACCOUNTS + 1; i++) {
        char acct[16];
        snprintf(acct, sizeof acct, "A%03d", i);
        ai.n = 0;
        w_str(&ai, 1, acct);
        w_dec(&ai, 2, 100 * OMS_DEC_SCALE);
        w_msg(&b, 3, &ai);
    }
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "new_order.allocations");
    oms_cmd_t c;
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.u.new_order.n_allocs, OMS_LIMIT_ALLOC_ACCOUNTS);
    assert_string_equal(c.u.new_order.allocs[255].account_id, "A255");

    /* Allocate.instructions likewise. */
    b.n = 0;
    w_str(&b, 1, "ORD-1");
    w_str(&b, 2, "AL-1");
    for (int i = 0; i < OMS_LIMIT_ALLOC_ACCOUNTS + 1; i++) {
        ai.n = 0;
        w_str(&ai, 1, "A");
        w_dec(&ai, 3, 1);
        w_msg(&b, 3, &ai);
    }
    w_command(&w, "cmd-1", "ops-1", OMS_CMD_ALLOCATE, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "allocate.instructions");

    /* 17 roles (over OMS_LIMIT_ROLES), packed as proto3 writes repeated enums. */
    b.n = 0;
    w_str(&b, 1, "pm-bob");
    uint8_t roles[OMS_LIMIT_ROLES + 1];
    for (size_t i = 0; i < sizeof roles; i++)
        roles[i] = (uint8_t)(1 + i % 6);
    w_bytes(&b, 2, roles, sizeof roles);
    w_command(&w, "cmd-1", "admin-1", OMS_CMD_DEFINE_PRINCIPAL, &b);
    s_expect_invalid(&w, OMS_RR_INPUT_LIMIT, "define_principal.roles");
    w_free(&w);
    w_free(&b);
    w_free(&ai);
}

static void test_codec_unrepresentable_values_are_invalid_field(void **state)
{
    (void)state;
    w_t w, b, ai;
    w_init(&w, 8192);
    w_init(&b, 8192);
    w_init(&ai, 256);

    /* INT64_MIN decimal; INT64_MAX (the range's edge) is fine. */
    w_new_order(&b, "ORD-1");
    w_dec(&b, 8, INT64_MIN);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "new_order.quantity");
    w_new_order(&b, "ORD-1");
    w_dec(&b, 7, INT64_MIN); /* optional price */
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "new_order.price");
    w_new_order(&b, "ORD-1");
    w_dec(&b, 8, INT64_MAX);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    oms_cmd_t c;
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.invalid, OMS_RR_NONE);
    assert_true(c.u.new_order.qty == INT64_MAX);

    /* Unknown enum values (the last occurrence of field 5 wins). */
    w_new_order(&b, "ORD-1");
    w_int(&b, 5, 99);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "new_order.side");
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.u.new_order.side, OMS_SIDE_NONE); /* not the unknown value */
    w_new_order(&b, "ORD-1");
    w_int(&b, 9, -1);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "new_order.time_in_force");
    b.n = 0;
    w_int(&b, 1, 4);
    w_command(&w, "cmd-1", "risk-1", OMS_CMD_SET_LIMITS, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "set_limits.scope");
    b.n = 0;
    w_str(&b, 1, "ACC-1");
    w_int(&b, 4, 3);
    w_command(&w, "cmd-1", "admin-1", OMS_CMD_DEFINE_ACCOUNT, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "define_account.release_policy");

    /* Roles: unknown, listed twice. */
    b.n = 0;
    w_str(&b, 1, "pm-bob");
    w_bytes(&b, 2, "\x01\x07", 2);
    w_command(&w, "cmd-1", "admin-1", OMS_CMD_DEFINE_PRINCIPAL, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "define_principal.roles[1]");
    b.n = 0;
    w_str(&b, 1, "pm-bob");
    w_int(&b, 2, 2); /* unpacked form is accepted too */
    w_int(&b, 2, 2);
    w_command(&w, "cmd-1", "admin-1", OMS_CMD_DEFINE_PRINCIPAL, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "define_principal.roles[1]");

    /* An allocation instruction with neither qty nor weight. */
    w_new_order(&b, "ORD-1");
    ai.n = 0;
    w_str(&ai, 1, "ACC-2");
    w_msg(&b, 3, &ai);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "new_order.allocations[0]");

    /* A NUL byte inside a string (protobuf allows it, the model cannot carry it). */
    w_new_order(&b, "ORD-1");
    w_bytes(&b, 11, "abc\0def", 7);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "new_order.text");
    w_new_order(&b, "ORD-1");
    ai.n = 0;
    w_bytes(&ai, 1, "AC\0C", 4);
    w_dec(&ai, 2, 1);
    w_msg(&b, 3, &ai);
    w_command(&w, "cmd-1", "pm-alice", OMS_CMD_NEW_ORDER, &b);
    s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "AllocInstruction.account_id");

    /* Currency and trade date formats. */
    static const char *const bad_ccy[] = {"us", "usd", "USDX", "", "U5D"};
    for (size_t i = 0; i < ARRAY_LEN(bad_ccy); i++) {
        b.n = 0;
        w_str(&b, 1, "AAPL");
        w_str(&b, 4, bad_ccy[i]);
        w_command(&w, "cmd-1", "admin-1", OMS_CMD_DEFINE_INSTRUMENT, &b);
        s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "define_instrument.currency");
    }
    b.n = 0;
    w_str(&b, 4, "EUR");
    w_command(&w, "cmd-1", "admin-1", OMS_CMD_UPDATE_INSTRUMENT, &b);
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.invalid, OMS_RR_NONE);
    assert_string_equal(c.u.instrument.currency, "EUR");
    static const char *const bad_date[] = {"2026-1-01", "2026/11/21",  "20261121",
                                           "",          "2026-11-211", "2O26-11-21"};
    for (size_t i = 0; i < ARRAY_LEN(bad_date); i++) {
        b.n = 0;
        w_str(&b, 1, bad_date[i]);
        w_command(&w, "cmd-1", "ops-1", OMS_CMD_END_OF_DAY, &b);
        s_expect_invalid(&w, OMS_RR_INVALID_FIELD, "end_of_day.trade_date");
    }
    w_free(&w);
    w_free(&b);
    w_free(&ai);
}

static void test_codec_missing_body_is_unknown_command(void **state)
{
    (void)state;
    w_t w, b;
    w_init(&w, 1024);
    w_init(&b, 1024);
    w_command(&w, "cmd-1", "pm-alice", 0, NULL);
    oms_cmd_t c;
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.type, OMS_CMD_NONE);
    assert_int_equal(c.invalid, OMS_RR_UNKNOWN_COMMAND);
    assert_string_equal(c.command_id, "cmd-1");
    assert_ptr_equal(c.raw, w.b);
    /* A body number this version does not know (a future command). */
    w_new_order(&b, "ORD-1");
    w_command(&w, "cmd-1", "pm-alice", 150, &b);
    assert_int_equal(s_decode_w(&w, &c), 0);
    assert_int_equal(c.type, OMS_CMD_NONE);
    assert_int_equal(c.invalid, OMS_RR_UNKNOWN_COMMAND);
    w_free(&w);
    w_free(&b);
}

static void test_codec_full_arena_is_limit(void **state)
{
    (void)state;
    oms_cmd_t c;
    s_make_cmd(OMS_CMD_NEW_ORDER, true, &c);
    size_t n;
    assert_int_equal(codec_encode_command(&c, buf1, sizeof buf1, &n), 0);
    oms_arena_t small;
    assert_int_equal(oms_arena_init(&small, 2 * sizeof(oms_alloc_instr_t)), 0);
    assert_int_equal(codec_decode_command(buf1, n, &small, &c, err, sizeof err), OMS_ERR_LIMIT);
    assert_true(err[0] != '\0');
    /* Events: a rejection needs room for its command too. */
    oms_event_t ev, out;
    s_make_event(OMS_EV_COMMAND_REJECTED, true, &ev);
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    oms_arena_reset(&small);
    assert_int_equal(codec_decode_event(buf1, n, &small, &out), OMS_ERR_LIMIT);
    s_make_event(OMS_EV_ALLOCATION_BOOKED, true, &ev);
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    oms_arena_reset(&small);
    assert_int_equal(codec_decode_event(buf1, n, &small, &out), OMS_ERR_LIMIT);
    oms_arena_free(&small);
}

static void test_codec_small_output_buffer_is_limit(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(all_cmd_types); i++) {
        oms_cmd_t c;
        s_make_cmd(all_cmd_types[i], true, &c);
        size_t n, need;
        assert_int_equal(codec_encode_command(&c, buf1, sizeof buf1, &n), 0);
        assert_int_equal(codec_encode_command(&c, buf2, n - 1, &need), OMS_ERR_LIMIT);
        assert_int_equal(need, n);
        assert_int_equal(codec_encode_command(&c, NULL, 0, &need), OMS_ERR_LIMIT);
        assert_int_equal(need, n);
        assert_int_equal(codec_encode_command(&c, buf2, n, &need), 0);
        assert_memory_equal(buf1, buf2, n);
    }
    for (size_t i = 0; i < ARRAY_LEN(all_event_types); i++) {
        oms_event_t ev;
        s_make_event(all_event_types[i], true, &ev);
        size_t n, need;
        assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
        assert_int_equal(codec_encode_event(&ev, buf2, n - 1, &need), OMS_ERR_LIMIT);
        assert_int_equal(need, n);
        assert_int_equal(codec_encode_event(&ev, NULL, 0, &need), OMS_ERR_LIMIT);
        assert_int_equal(codec_encode_event(&ev, buf2, n, &need), 0);
        assert_memory_equal(buf1, buf2, n);
    }
}

static void test_codec_unknown_types_are_invalid(void **state)
{
    (void)state;
    oms_cmd_t c;
    s_make_cmd(OMS_CMD_NEW_ORDER, true, &c);
    c.type = (oms_cmd_type_t)104;
    size_t n;
    assert_int_equal(codec_encode_command(&c, buf1, sizeof buf1, &n), OMS_ERR_INVALID);
    oms_event_t ev;
    s_make_event(OMS_EV_ORDER_FILLED, true, &ev);
    ev.type = OMS_EV_NONE;
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), OMS_ERR_INVALID);
    ev.type = (oms_event_type_t)203;
    assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), OMS_ERR_INVALID);
    /* A list count without its list. */
    s_make_cmd(OMS_CMD_ALLOCATE, true, &c);
    c.u.allocate.allocs = NULL;
    assert_int_equal(codec_encode_command(&c, buf1, sizeof buf1, &n), OMS_ERR_INVALID);
}

static void test_codec_undecodable_events_are_decode_error(void **state)
{
    (void)state;
    w_t e, b;
    w_init(&e, 4096);
    w_init(&b, 4096);
    oms_event_t out;
    oms_arena_reset(&arena);
    /* No body; an unknown body. */
    assert_int_equal(codec_decode_event(e.b, 0, &arena, &out), OMS_ERR_DECODE);
    b.n = 0;
    w_str(&b, 1, "x");
    w_msg(&e, 499, &b);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), OMS_ERR_DECODE);
    /* A NUL in a string, a string over its array. */
    e.n = 0;
    b.n = 0;
    w_bytes(&b, 1, "OR\0D", 4);
    w_msg(&e, OMS_EV_ORDER_FILLED, &b);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), OMS_ERR_DECODE);
    e.n = 0;
    b.n = 0;
    w_str(&b, 1, "2026-11-21T");
    w_msg(&e, OMS_EV_END_OF_DAY_PROCESSED, &b);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), OMS_ERR_DECODE);
    /* Roles not in ascending order (not what the encoder writes). */
    e.n = 0;
    b.n = 0;
    w_str(&b, 1, "pm-bob");
    w_bytes(&b, 2, "\x03\x01", 2);
    w_msg(&e, OMS_EV_PRINCIPAL_DEFINED, &b);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), OMS_ERR_DECODE);
    /* The same in order decodes. */
    e.n = 0;
    b.n = 0;
    w_str(&b, 1, "pm-bob");
    w_bytes(&b, 2, "\x01\x03", 2);
    w_msg(&e, OMS_EV_PRINCIPAL_DEFINED, &b);
    assert_int_equal(codec_decode_event(e.b, e.n, &arena, &out), 0);
    assert_int_equal(out.u.principal.roles, (1u << 1) | (1u << 3));
    w_free(&e);
    w_free(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* Fuzz                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Applies 1-4 random mutations to buf[*len] (capacity cap). */
static void s_mutate(uint8_t *buf, size_t *len, size_t cap)
{
    int rounds = 1 + (int)(s_rand() % 4);
    for (int r = 0; r < rounds; r++) {
        size_t n = *len;
        size_t pos = n ? (size_t)(s_rand() % n) : 0;
        switch (s_rand() % 7) {
        case 0: /* flip a bit */
            if (n)
                buf[pos] ^= (uint8_t)(1u << (s_rand() % 8));
            break;
        case 1: /* set a byte */
            if (n)
                buf[pos] = (uint8_t)s_rand();
            break;
        case 2: /* truncate */
            *len = pos;
            break;
        case 3: /* insert a byte */
            if (n < cap) {
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = (uint8_t)s_rand();
                *len = n + 1;
            }
            break;
        case 4: /* delete a byte */
            if (n) {
                memmove(buf + pos, buf + pos + 1, n - pos - 1);
                *len = n - 1;
            }
            break;
        case 5: /* duplicate a chunk at the end */ {
            size_t k = n - pos < 32 ? n - pos : 32;
            if (n + k <= cap) {
                memmove(buf + n, buf + pos, k);
                *len = n + k;
            }
            break;
        }
        default: /* interesting values */
            if (n)
                buf[pos] = (uint8_t[]){0x00, 0x7f, 0x80, 0xff}[s_rand() % 4];
            break;
        }
    }
}

static void test_codec_fuzzed_commands_never_crash(void **state)
{
    (void)state;
    rng_state = 0xc0dec0dec0deULL;
    static uint8_t base[ARRAY_LEN(all_cmd_types)][8192];
    size_t base_len[ARRAY_LEN(all_cmd_types)];
    for (size_t i = 0; i < ARRAY_LEN(all_cmd_types); i++) {
        oms_cmd_t c;
        s_make_cmd(all_cmd_types[i], true, &c);
        assert_int_equal(codec_encode_command(&c, base[i], sizeof base[i], &base_len[i]), 0);
    }
    static uint8_t m[8192 + 512];
    unsigned ok = 0, invalid = 0, refused = 0;
    for (int it = 0; it < FUZZ_COMMANDS; it++) {
        size_t k = (size_t)(s_rand() % ARRAY_LEN(all_cmd_types));
        size_t len = base_len[k];
        memcpy(m, base[k], len);
        s_mutate(m, &len, sizeof m);
        oms_cmd_t c, again;
        oms_arena_reset(&arena);
        int rc = codec_decode_command(m, len, &arena, &c, err, sizeof err);
        if (rc != 0) {
            if (rc != OMS_ERR_DECODE && rc != OMS_ERR_LIMIT)
                fail_msg("iteration %d: unexpected %s", it, oms_errname(rc));
            refused++;
            continue;
        }
        assert_true(strlen(c.command_id) > 0 && strlen(c.command_id) <= OMS_LIMIT_ID_LEN);
        assert_true(strlen(c.invalid_text) <= OMS_LIMIT_TEXT_LEN);
        /* Whatever decoded can be encoded again. */
        size_t n;
        assert_int_equal(codec_encode_command(&c, buf1, sizeof buf1, &n), 0);
        if (c.invalid != OMS_RR_NONE) {
            invalid++;
            continue;
        }
        ok++;
        assert_int_equal(codec_decode_command(buf1, n, &arena, &again, err, sizeof err), 0);
        s_eq_cmd(&c, &again);
    }
    assert_int_equal(ok + invalid + refused, FUZZ_COMMANDS);
    printf("fuzz: %d mutated commands: %u decoded, %u decoded invalid, %u refused\n", FUZZ_COMMANDS,
           ok, invalid, refused);
}

static void test_codec_fuzzed_events_never_crash(void **state)
{
    (void)state;
    rng_state = 0xe7e7e7e7ULL;
    static uint8_t base[ARRAY_LEN(all_event_types)][16384];
    size_t base_len[ARRAY_LEN(all_event_types)];
    for (size_t i = 0; i < ARRAY_LEN(all_event_types); i++) {
        oms_event_t ev;
        s_make_event(all_event_types[i], true, &ev);
        assert_int_equal(codec_encode_event(&ev, base[i], sizeof base[i], &base_len[i]), 0);
    }
    static uint8_t m[16384 + 512];
    unsigned ok = 0, refused = 0;
    for (int it = 0; it < FUZZ_EVENTS; it++) {
        size_t k = (size_t)(s_rand() % ARRAY_LEN(all_event_types));
        size_t len = base_len[k];
        memcpy(m, base[k], len);
        s_mutate(m, &len, sizeof m);
        oms_event_t ev, again;
        oms_arena_reset(&arena);
        int rc = codec_decode_event(m, len, &arena, &ev);
        if (rc != 0) {
            if (rc != OMS_ERR_DECODE && rc != OMS_ERR_LIMIT)
                fail_msg("iteration %d: unexpected %s", it, oms_errname(rc));
            refused++;
            continue;
        }
        ok++;
        size_t n;
        assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
        assert_int_equal(codec_decode_event(buf1, n, &arena, &again), 0);
        s_eq_event(&ev, &again);
    }
    printf("fuzz: %d mutated events: %u decoded, %u refused\n", FUZZ_EVENTS, ok, refused);
}

/* ------------------------------------------------------------------------------------------ */
/* Timing (informational)                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void test_codec_encode_fill_timing(void **state)
{
    (void)state;
    /* A typical fill: short ids, as the engine produces them. */
    oms_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_ORDER_FILLED;
    oms_ev_order_t *o = &ev.u.order;
    strcpy(o->h.order_id, "ORD-20261121-000123");
    strcpy(o->h.venue, "XNAS");
    strcpy(o->h.exec_id, "XNAS-EX-9876543210");
    strcpy(o->h.venue_order_id, "V-123456789");
    o->h.transact_ts_ns = 1763733053123456789LL;
    strcpy(o->h.cl_ord_id, "ORD-20261121-000123");
    o->status = OMS_ST_PARTIALLY_FILLED;
    o->last_qty = 300 * OMS_DEC_SCALE;
    o->last_px = 10125000000LL;
    o->cum_qty = 600 * OMS_DEC_SCALE;
    o->leaves_qty = 400 * OMS_DEC_SCALE;
    o->avg_px = (oms_opt_dec_t){true, 10122500000LL};
    strcpy(o->account_id, "ACC-PENSION-1");
    strcpy(o->instrument_id, "AAPL.XNAS");
    o->side = OMS_SIDE_BUY;

    enum { N = 1000000 };
    size_t n = 0, total = 0;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(codec_encode_event(&ev, buf1, sizeof buf1, &n), 0);
    int64_t t0 = oms_clock_mono_ns();
    for (int i = 0; i < N; i++) {
        o->cum_qty += 1;
        codec_encode_event(&ev, buf1, sizeof buf1, &n);
        total += n + buf1[n / 2];
    }
    int64_t t1 = oms_clock_mono_ns();
    printf("timing: encode ORDER_FILLED (%zu bytes): %.0f ns/event\n", n, (double)(t1 - t0) / N);

    /* Decode of the same event and of a venue fill command, for reference. */
    oms_event_t out;
    enum { M = 200000 };
    t0 = oms_clock_mono_ns();
    for (int i = 0; i < M; i++) {
        oms_arena_reset(&arena);
        codec_decode_event(buf1, n, &arena, &out);
        total += (size_t)out.u.order.side;
    }
    t1 = oms_clock_mono_ns();
    printf("timing: decode ORDER_FILLED: %.0f ns/event\n", (double)(t1 - t0) / M);
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_VENUE_FILL;
    strcpy(c.command_id, "XNAS-EX-9876543210");
    strcpy(c.principal, "venue-xnas");
    c.u.report.h = o->h;
    c.u.report.last_qty = o->last_qty;
    c.u.report.last_px = o->last_px;
    size_t cn;
    assert_int_equal(codec_encode_command(&c, buf2, sizeof buf2, &cn), 0);
    t0 = oms_clock_mono_ns();
    for (int i = 0; i < M; i++) {
        oms_arena_reset(&arena);
        codec_decode_command(buf2, cn, &arena, &c, NULL, 0);
        total += (size_t)c.type;
    }
    t1 = oms_clock_mono_ns();
    printf("timing: decode VENUE_FILL command (%zu bytes): %.0f ns/command\n", cn,
           (double)(t1 - t0) / M);
    assert_true(total > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_every_command_round_trips),
        cmocka_unit_test(test_codec_command_with_max_allocations_round_trips),
        cmocka_unit_test(test_codec_command_none_encodes_without_body),
        cmocka_unit_test(test_codec_every_event_round_trips),
        cmocka_unit_test(test_codec_event_encoding_is_deterministic),
        cmocka_unit_test(test_codec_allocation_booked_with_max_parts_round_trips),
        cmocka_unit_test(test_codec_rejected_embeds_raw_command_verbatim),
        cmocka_unit_test(test_codec_rejected_without_raw_encodes_model_command),
        cmocka_unit_test(test_codec_rejected_decode_refuses_ambiguous_command),
        cmocka_unit_test(test_codec_reply_round_trips),
        cmocka_unit_test(test_codec_garbage_is_decode_error),
        cmocka_unit_test(test_codec_oversized_command_is_limit),
        cmocka_unit_test(test_codec_unattributable_command_is_decode_error),
        cmocka_unit_test(test_codec_over_limit_strings_are_input_limit),
        cmocka_unit_test(test_codec_too_many_list_entries_are_input_limit),
        cmocka_unit_test(test_codec_unrepresentable_values_are_invalid_field),
        cmocka_unit_test(test_codec_missing_body_is_unknown_command),
        cmocka_unit_test(test_codec_full_arena_is_limit),
        cmocka_unit_test(test_codec_small_output_buffer_is_limit),
        cmocka_unit_test(test_codec_unknown_types_are_invalid),
        cmocka_unit_test(test_codec_undecodable_events_are_decode_error),
        cmocka_unit_test(test_codec_fuzzed_commands_never_crash),
        cmocka_unit_test(test_codec_fuzzed_events_never_crash),
        cmocka_unit_test(test_codec_encode_fill_timing),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
