/*
 * test_codec_fast.c - proves that the codec's hand-written encoders (codec/pbw.h: the order-flow
 * events, the command reply, the order / execution / position rows) write exactly the bytes the
 * protobuf-c path writes, for many randomised values: every string length from empty to the
 * array's limit, decimals and int64s across their range (0, negative, INT64_MIN/MAX), enum
 * values outside the model's range (negative ones take ten bytes), sub-messages long enough to
 * need a multi-byte length, allocation lists and ClOrdID chains. Also that small buffers give
 * the protobuf-c path's errors and sizes, and that every event type still encodes. And that the
 * hand-written event decoder gives protobuf-c's result on the encoder's output and on damaged
 * copies of it.
 */
#include "codec_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define N_ROUNDS 20000
#define BUF_CAP  (64 * 1024)

static uint64_t s_rng_state = 0x243f6a8885a308d3ull;

static uint64_t s_rand(void)
{
    uint64_t z = (s_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t s_below(uint32_t n)
{
    return (uint32_t)(s_rand() % n);
}

/* A string of random length (often empty or short, sometimes the full cap - 1), any non-NUL byte.
 */
static void s_str(char *dst, size_t cap)
{
    size_t n;
    switch (s_below(4)) {
    case 0:
        n = 0;
        break;
    case 1:
        n = cap - 1;
        break;
    default:
        n = s_below((uint32_t)cap);
        break;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)(1 + s_below(255));
    dst[n] = '\0';
}

static int64_t s_i64(void)
{
    switch (s_below(8)) {
    case 0:
        return 0;
    case 1:
        return INT64_MIN;
    case 2:
        return INT64_MAX;
    case 3:
        return -(int64_t)s_below(1000);
    case 4:
        return (int64_t)s_below(200);
    default:
        return (int64_t)s_rand() >> s_below(64);
    }
}

static oms_opt_dec_t s_opt(void)
{
    oms_opt_dec_t o = {s_below(2) == 0, 0};
    if (o.set)
        o.v = s_i64();
    return o;
}

/* An enum value: usually in the model's range, sometimes beyond it or negative. */
static int s_enum(void)
{
    switch (s_below(6)) {
    case 0:
        return 0;
    case 1:
        return -1 - (int)s_below(3);
    case 2:
        return (int)s_below(1000);
    default:
        return (int)s_below(12);
    }
}

static bool s_bool(void)
{
    return s_below(2) == 0;
}

static oms_alloc_instr_t s_instrs[OMS_LIMIT_ALLOC_ACCOUNTS];

static void s_fill_instrs(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        s_str(s_instrs[i].account_id, OMS_ID_CAP);
        s_instrs[i].by_weight = s_bool();
        s_instrs[i].share = s_i64();
    }
}

static void s_fill_event(oms_event_t *ev, oms_event_type_t type)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    switch (type) {
    case OMS_EV_ORDER_ACCEPTED: {
        oms_ev_accepted_t *a = &ev->u.accepted;
        oms_new_order_t *n = &a->order;
        s_str(n->order_id, OMS_ID_CAP);
        s_str(n->account_id, OMS_ID_CAP);
        n->n_allocs = s_below(4) == 0 ? s_below(6) : 0;
        s_fill_instrs(n->n_allocs);
        n->allocs = n->n_allocs ? s_instrs : NULL;
        s_str(n->instrument_id, OMS_ID_CAP);
        n->side = (oms_side_t)s_enum();
        n->ord_type = (oms_ord_type_t)s_enum();
        n->price = s_opt();
        n->qty = s_i64();
        n->tif = (oms_tif_t)s_enum();
        n->expire_ts_ns = s_i64();
        s_str(n->text, OMS_TEXT_CAP);
        a->status = (oms_ord_status_t)s_enum();
        s_str(a->entered_by, OMS_ID_CAP);
        a->release_policy = (oms_release_policy_t)s_enum();
        break;
    }
    case OMS_EV_ORDER_RELEASED:
        s_str(ev->u.released.order_id, OMS_ID_CAP);
        s_str(ev->u.released.released_by, OMS_ID_CAP);
        ev->u.released.status = (oms_ord_status_t)s_enum();
        s_str(ev->u.released.text, OMS_TEXT_CAP);
        break;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED: {
        oms_ev_request_t *r = &ev->u.request;
        s_str(r->order_id, OMS_ID_CAP);
        s_str(r->cl_ord_id, OMS_ID_CAP);
        s_str(r->orig_cl_ord_id, OMS_ID_CAP);
        r->qty = s_opt();
        r->price = s_opt();
        r->status = (oms_ord_status_t)s_enum();
        r->prior_status = (oms_ord_status_t)s_enum();
        s_str(r->text, OMS_TEXT_CAP);
        break;
    }
    default: {
        /* Every order event reads from oms_ev_order_t: fill all of it. */
        oms_ev_order_t *o = &ev->u.order;
        s_str(o->h.order_id, OMS_ID_CAP);
        s_str(o->h.venue, OMS_ID_CAP);
        s_str(o->h.exec_id, OMS_ID_CAP);
        s_str(o->h.venue_order_id, OMS_ID_CAP);
        o->h.transact_ts_ns = s_i64();
        s_str(o->h.cl_ord_id, OMS_ID_CAP);
        o->status = (oms_ord_status_t)s_enum();
        s_str(o->text, OMS_TEXT_CAP);
        s_str(o->orig_cl_ord_id, OMS_ID_CAP);
        o->qty = s_i64();
        o->price = s_opt();
        o->last_qty = s_i64();
        o->last_px = s_i64();
        o->new_qty = s_i64();
        o->new_px = s_i64();
        s_str(o->ref_exec_id, OMS_ID_CAP);
        o->cum_qty = s_i64();
        o->leaves_qty = s_i64();
        o->avg_px = s_opt();
        o->gone_qty = s_i64();
        o->overfill = s_bool();
        o->late = s_bool();
        s_str(o->trade_date, OMS_DATE_CAP);
        s_str(o->account_id, OMS_ID_CAP);
        s_str(o->instrument_id, OMS_ID_CAP);
        o->side = (oms_side_t)s_enum();
        break;
    }
    }
}

static uint8_t s_a[BUF_CAP], s_b[BUF_CAP];

/* The two paths agree on rc, length and bytes for buf[cap]. */
static void s_same_event(const oms_event_t *ev, size_t cap)
{
    size_t la = 0, lb = 0;
    memset(s_a, 0xaa, sizeof s_a);
    memset(s_b, 0x55, sizeof s_b);
    int ra = codec_encode_event(ev, s_a, cap, &la);
    int rb = cdc_encode_event_pb(ev, s_b, cap, &lb);
    assert_int_equal(ra, rb);
    assert_int_equal(la, lb);
    if (ra == 0)
        assert_memory_equal(s_a, s_b, la);
}

static const oms_event_type_t k_fast_types[] = {
    OMS_EV_ORDER_ACCEPTED,
    OMS_EV_ORDER_RELEASED,
    OMS_EV_CANCEL_REQUESTED,
    OMS_EV_REPLACE_REQUESTED,
    OMS_EV_ORDER_ACKNOWLEDGED,
    OMS_EV_ORDER_REJECTED_BY_VENUE,
    OMS_EV_ORDER_CANCELED,
    OMS_EV_CANCEL_REJECTED,
    OMS_EV_ORDER_REPLACED,
    OMS_EV_REPLACE_REJECTED,
    OMS_EV_ORDER_EXPIRED,
    OMS_EV_ORDER_DONE_FOR_DAY,
    OMS_EV_ORDER_FILLED,
    /* not written by hand: the protobuf-c path, through the public function */
    OMS_EV_TRADE_BUSTED,
    OMS_EV_TRADE_CORRECTED,
};

static void test_events_match_protobuf_c(void **state)
{
    (void)state;
    static oms_event_t ev;
    size_t n_types = sizeof k_fast_types / sizeof k_fast_types[0];
    for (int i = 0; i < N_ROUNDS; i++) {
        s_fill_event(&ev, k_fast_types[(size_t)i % n_types]);
        s_same_event(&ev, BUF_CAP);
        /* Small buffers: the same error and size as protobuf-c. */
        s_same_event(&ev, s_below(64));
        size_t full = 0;
        assert_int_equal(cdc_encode_event_pb(&ev, s_b, BUF_CAP, &full), 0);
        s_same_event(&ev, full);
        if (full)
            s_same_event(&ev, full - 1);
    }
}

/* Decodes buf both ways: the same rc and the same struct. */
static void s_same_decode(const uint8_t *buf, size_t len, oms_arena_t *arena)
{
    static oms_event_t a, b;
    oms_arena_reset(arena);
    int ra = codec_decode_event(buf, len, arena, &a);
    oms_arena_reset(arena);
    int rb = cdc_decode_event_pb(buf, len, arena, &b);
    assert_int_equal(ra, rb);
    if (ra == 0 && (a.type != OMS_EV_ORDER_ACCEPTED || a.u.accepted.order.n_allocs == 0)) {
        /* Compare what the model holds, through the encoder (padding is not a value). */
        size_t la = 0, lb = 0;
        static uint8_t ea[BUF_CAP], eb[BUF_CAP];
        assert_int_equal(a.type, b.type);
        assert_int_equal(cdc_encode_event_pb(&a, ea, sizeof ea, &la), 0);
        assert_int_equal(cdc_encode_event_pb(&b, eb, sizeof eb, &lb), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(ea, eb, la);
        /* Not a memcmp of the structs: the protobuf-c path copies optional decimals whole,
         * padding included, and that padding is indeterminate. */
    }
}

/* The hand-written decoder gives protobuf-c's result on the encoder's output and on damaged
 * copies of it (bytes flipped, cut short, fields appended). */
static void test_decode_matches_protobuf_c(void **state)
{
    (void)state;
    static oms_event_t ev;
    oms_arena_t arena;
    assert_int_equal(oms_arena_init(&arena, 1u << 20), 0);
    size_t n_types = sizeof k_fast_types / sizeof k_fast_types[0];
    for (int i = 0; i < N_ROUNDS; i++) {
        s_fill_event(&ev, k_fast_types[(size_t)i % n_types]);
        size_t len = 0;
        assert_int_equal(cdc_encode_event_pb(&ev, s_b, BUF_CAP - 64, &len), 0);
        s_same_decode(s_b, len, &arena);
        memcpy(s_a, s_b, len);
        switch (s_below(4)) {
        case 0: /* flip a few bytes */
            for (int k = 0; k < 3 && len; k++)
                s_a[s_below((uint32_t)len)] ^= (uint8_t)(1u << s_below(8));
            s_same_decode(s_a, len, &arena);
            break;
        case 1: /* cut short */
            s_same_decode(s_a, len ? s_below((uint32_t)len) : 0, &arena);
            break;
        case 2: { /* a field appended inside the body: a repeat, unknown or out of order */
            size_t extra = 0;
            s_a[len + extra++] = (uint8_t)(s_below(30) << 3 | (s_below(2) ? 0 : 2));
            s_a[len + extra++] = (uint8_t)s_below(3);
            s_a[len + extra++] = 0x08;
            s_a[len + extra++] = 0x02;
            /* Only the body's length changes when it is a one-byte length below 0x7c. */
            size_t hdr = (ev.type < 16 ? 1 : 2);
            if (len > hdr && s_a[hdr] < 0x7c && s_a[hdr] + hdr + 1 == len) {
                s_a[hdr] = (uint8_t)(s_a[hdr] + extra);
                s_same_decode(s_a, len + extra, &arena);
            }
            s_same_decode(s_a, len + extra, &arena);
            break;
        }
        default: /* a second body */
            memcpy(s_a + len, s_b, len < 64 ? len : 64);
            s_same_decode(s_a, len + (len < 64 ? len : 64), &arena);
            break;
        }
    }
    oms_arena_free(&arena);
}

/* Strings of every length an id can have, with a NUL at every position or none, and varints
 * at the one-, two- and three-byte boundaries: the decoder's word-wise string check and its
 * short varint reads agree with protobuf-c's on each. */
static void test_decode_strings_and_varints(void **state)
{
    (void)state;
    static oms_event_t ev;
    oms_arena_t arena;
    assert_int_equal(oms_arena_init(&arena, 1u << 20), 0);
    for (size_t n = 1; n < OMS_ID_CAP; n++) {
        memset(&ev, 0, sizeof ev);
        ev.type = OMS_EV_ORDER_ACKNOWLEDGED;
        for (size_t i = 0; i < n; i++)
            ev.u.order.h.order_id[i] = (char)('A' + (char)(i % 26));
        oms_strlcpy(ev.u.order.h.venue, "XNAS", OMS_ID_CAP);
        ev.u.order.status = OMS_ST_NEW;
        size_t len = 0;
        assert_int_equal(cdc_encode_event_pb(&ev, s_b, BUF_CAP, &len), 0);
        s_same_decode(s_b, len, &arena);
        static oms_event_t out;
        oms_arena_reset(&arena);
        assert_int_equal(codec_decode_event(s_b, len, &arena, &out), 0);
        assert_string_equal(out.u.order.h.order_id, ev.u.order.h.order_id);
        /* the id's bytes follow its key (0x0a) and one-byte length inside the body */
        uint8_t *at = NULL;
        for (size_t k = 0; k + 2 + n <= len; k++)
            if (s_b[k] == 0x0a && s_b[k + 1] == n &&
                memcmp(s_b + k + 2, ev.u.order.h.order_id, n) == 0) {
                at = s_b + k + 2;
                break;
            }
        assert_non_null(at);
        for (size_t pos = 0; pos < n; pos++) {
            memcpy(s_a, s_b, len);
            s_a[at - s_b + (ptrdiff_t)pos] = 0;
            s_same_decode(s_a, len, &arena);
            oms_arena_reset(&arena);
            assert_int_not_equal(codec_decode_event(s_a, len, &arena, &out), 0);
        }
    }
    /* every varint length: 0, +-2^k and 2^k - 1 for k up to 62, the extremes */
    enum { N_VALS = 3 + 3 * 63 };
    static int64_t k_vals[N_VALS];
    k_vals[0] = 0;
    k_vals[1] = INT64_MAX;
    k_vals[2] = INT64_MIN;
    for (int k = 0; k < 63; k++) {
        k_vals[3 + 3 * k] = (int64_t)1 << k;
        k_vals[4 + 3 * k] = ((int64_t)1 << k) - 1;
        k_vals[5 + 3 * k] = -((int64_t)1 << k);
    }
    for (size_t i = 0; i < sizeof k_vals / sizeof k_vals[0]; i++) {
        memset(&ev, 0, sizeof ev);
        ev.type = OMS_EV_ORDER_FILLED;
        oms_strlcpy(ev.u.order.h.order_id, "O1", OMS_ID_CAP);
        ev.u.order.h.transact_ts_ns = k_vals[i];
        ev.u.order.last_qty = k_vals[i];
        ev.u.order.last_px = k_vals[(i + 1) % (sizeof k_vals / sizeof k_vals[0])];
        ev.u.order.status = (oms_ord_status_t)(k_vals[i] & 7);
        size_t len = 0;
        assert_int_equal(cdc_encode_event_pb(&ev, s_b, BUF_CAP, &len), 0);
        s_same_decode(s_b, len, &arena);
        for (size_t cut = 0; cut < len; cut++)
            s_same_decode(s_b, cut, &arena);
    }
    oms_arena_free(&arena);
}

static void test_reply_matches_protobuf_c(void **state)
{
    (void)state;
    for (int i = 0; i < N_ROUNDS; i++) {
        oms_reply_t r;
        memset(&r, 0, sizeof r);
        s_str(r.command_id, OMS_ID_CAP);
        r.status = (oms_reply_status_t)s_enum();
        r.error_code = s_below(3) == 0 ? (int32_t)s_rand() : -(int32_t)s_below(20);
        r.reject_reason = (oms_reject_reason_t)s_enum();
        s_str(r.rule_id, OMS_RULE_CAP);
        s_str(r.text, OMS_TEXT_CAP);
        s_str(r.order_id, OMS_ID_CAP);
        r.ord_status = (oms_ord_status_t)s_enum();
        r.first_seq = (uint64_t)s_i64();
        r.last_seq = (uint64_t)s_i64();
        r.original_status = (oms_reply_status_t)s_enum();
        size_t caps[3] = {BUF_CAP, s_below(40), 0};
        size_t full = 0;
        assert_int_equal(cdc_encode_reply_pb(&r, s_b, BUF_CAP, &full), 0);
        caps[2] = full ? full - 1 : 0;
        for (int k = 0; k < 3; k++) {
            size_t la = 0, lb = 0;
            int ra = codec_encode_reply(&r, s_a, caps[k], &la);
            int rb = cdc_encode_reply_pb(&r, s_b, caps[k], &lb);
            assert_int_equal(ra, rb);
            assert_int_equal(la, lb);
            if (ra == 0)
                assert_memory_equal(s_a, s_b, la);
        }
    }
}

/* A unique id: a number then random bytes (not the key separator, which ids never hold). */
static void s_uid(char *dst, uint32_t n)
{
    int k = snprintf(dst, OMS_ID_CAP, "%u.", n);
    size_t extra = s_below((uint32_t)(OMS_ID_CAP - (size_t)k));
    for (size_t i = 0; i < extra; i++) {
        char c = (char)(1 + s_below(255));
        dst[(size_t)k + i] = c == 0x1f ? 'x' : c;
    }
    dst[(size_t)k + extra] = '\0';
}

static oms_e16_t s_e16(void)
{
    __extension__ unsigned __int128 u = ((unsigned __int128)s_rand() << 64) | s_rand();
    switch (s_below(4)) {
    case 0:
        return 0;
    case 1:
        return (oms_e16_t)(int64_t)s_i64();
    default:
        return (oms_e16_t)(u >> s_below(128));
    }
}

/* Rows of random orders (chains, instructions), executions and positions: both paths agree. */
static void test_rows_match_protobuf_c(void **state)
{
    (void)state;
    proj_state_t *st = proj_new();
    assert_non_null(st);
    enum { N_ORDERS = 3000, N_INSTR = 8 };
    for (uint32_t i = 0; i < N_INSTR; i++) {
        proj_instrument_t ins;
        memset(&ins, 0, sizeof ins);
        snprintf(ins.def.instrument_id, OMS_ID_CAP, "I%u", i);
        snprintf(ins.def.currency, sizeof ins.def.currency, "%c%cD", 'A' + i, 'B' + i);
        assert_int_equal(proj_load_instrument(st, &ins), 0);
    }
    static char cl[64][OMS_ID_CAP];
    for (uint32_t i = 0; i < N_ORDERS; i++) {
        proj_order_t o;
        memset(&o, 0, sizeof o);
        char text[OMS_TEXT_CAP], reject_text[OMS_TEXT_CAP]; /* the state keeps its own copies */
        char order_id[OMS_ID_CAP];
        s_uid(order_id, i);
        o.order_id = order_id;
        char account[OMS_ID_CAP], instrument[OMS_ID_CAP];
        s_str(account, OMS_ID_CAP);
        s_str(instrument, OMS_ID_CAP);
        o.account_id = account;
        o.instrument_id = instrument;
        o.side = (oms_side_t)s_enum();
        o.ord_type = (oms_ord_type_t)s_enum();
        o.price = s_opt();
        o.qty = s_i64();
        o.tif = (oms_tif_t)s_enum();
        o.expire_ts_ns = s_i64();
        s_str(text, OMS_TEXT_CAP);
        o.text = text;
        o.status = (oms_ord_status_t)s_enum();
        o.cum = s_below(3) ? (int64_t)s_below(1000000) : s_i64();
        o.leaves = s_i64();
        o.px_qty_sum = s_e16();
        o.prior_status = (oms_ord_status_t)s_enum();
        o.pending_qty = s_opt();
        o.pending_price = s_opt();
        o.fill_count = s_below(2) ? s_below(300) : (uint32_t)s_rand();
        o.overfilled = s_bool();
        static char ids[6][OMS_ID_CAP]; /* the state keeps its own copies */
        const char **fields[6] = {&o.cl_ord_id,      &o.pending_cl_ord_id, &o.venue,
                                  &o.venue_order_id, &o.entered_by,        &o.released_by};
        for (int k = 0; k < 6; k++) {
            s_str(ids[k], OMS_ID_CAP);
            *fields[k] = ids[k];
        }
        o.release_policy = (oms_release_policy_t)s_enum();
        o.reject_reason = (oms_reject_reason_t)s_enum();
        s_str(o.reject_rule_id, OMS_RULE_CAP);
        s_str(reject_text, OMS_TEXT_CAP);
        o.reject_text = reject_text;
        o.allocated_qty = s_i64();
        o.created_seq = (uint64_t)s_i64();
        o.last_seq = (uint64_t)s_i64();
        o.created_ts_ns = s_i64();
        o.updated_ts_ns = s_i64();
        /* The chain starts with the order id; the rest are unique within the order. */
        uint32_t n_cl = 1 + (s_below(4) == 0 ? s_below(40) : s_below(3));
        oms_strlcpy(cl[0], o.order_id, OMS_ID_CAP);
        for (uint32_t k = 1; k < n_cl; k++) {
            s_uid(cl[k], k);
            if (strcmp(cl[k], o.order_id) == 0)
                snprintf(cl[k], OMS_ID_CAP, "%u.cl", k);
        }
        uint32_t n_in = s_below(4) == 0 ? 1 + s_below(8) : 0;
        for (uint32_t k = 0; k < n_in; k++) {
            s_uid(s_instrs[k].account_id, k);
            s_instrs[k].by_weight = s_bool();
            s_instrs[k].share = s_i64();
        }
        o.is_block = n_in > 0;
        assert_int_equal(
            proj_load_order(st, &o, (const char(*)[OMS_ID_CAP])cl, n_cl, s_instrs, n_in), 0);
        proj_exec_t x;
        memset(&x, 0, sizeof x);
        char venue[OMS_ID_CAP], exec_id[OMS_ID_CAP]; /* the state keeps its own copies */
        s_str(venue, OMS_ID_CAP);
        s_uid(exec_id, i);
        x.venue = venue;
        x.exec_id = exec_id;
        x.qty = s_i64();
        x.px = s_i64();
        x.transact_ts_ns = s_i64();
        x.busted = s_bool();
        x.late = s_bool();
        x.seq = (uint64_t)s_i64();
        x.last_seq = (uint64_t)s_i64();
        assert_int_equal(proj_load_exec(st, o.order_id, &x), 0);
        proj_position_t p;
        memset(&p, 0, sizeof p);
        s_uid(p.account_id, i);
        if (s_below(8) == 0)
            p.account_id[0] = '\0';
        snprintf(p.instrument_id, OMS_ID_CAP, "I%u", s_below(N_INSTR + 2)); /* some unknown */
        p.qty = s_i64();
        p.cost_basis = s_e16();
        p.realized_pnl = s_i64();
        p.open_buy_leaves = s_i64();
        p.open_sell_leaves = s_i64();
        p.last_seq = (uint64_t)s_i64();
        int rc = proj_load_position(st, &p);
        assert_true(rc == 0 || rc == OMS_ERR_EXISTS);
    }
    static const proj_table_t tables[] = {PROJ_T_ORDER, PROJ_T_EXEC, PROJ_T_POSITION,
                                          PROJ_T_INSTRUMENT};
    uint64_t compared = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (uint32_t i = 0; i < proj_count(st, tables[t]); i++) {
            size_t caps[3] = {BUF_CAP, s_below(300), 0};
            codec_row_t full;
            assert_int_equal(cdc_row_encode_pb(st, tables[t], i, &full, s_b, BUF_CAP), 0);
            caps[2] = full.klen + full.vlen - 1;
            for (int k = 0; k < 3; k++) {
                codec_row_t ra_row, rb_row;
                memset(&ra_row, 0, sizeof ra_row);
                memset(&rb_row, 0, sizeof rb_row);
                int ra = codec_row_encode(st, tables[t], i, &ra_row, s_a, caps[k]);
                int rb = cdc_row_encode_pb(st, tables[t], i, &rb_row, s_b, caps[k]);
                assert_int_equal(ra, rb);
                if (ra != 0)
                    continue;
                assert_int_equal(ra_row.cf, rb_row.cf);
                assert_int_equal(ra_row.klen, rb_row.klen);
                assert_int_equal(ra_row.vlen, rb_row.vlen);
                assert_memory_equal(ra_row.key, rb_row.key, ra_row.klen);
                assert_memory_equal(ra_row.val, rb_row.val, ra_row.vlen);
                compared++;
            }
        }
    }
    assert_true(compared > 3 * N_ORDERS);
    proj_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_match_protobuf_c),
        cmocka_unit_test(test_decode_matches_protobuf_c),
        cmocka_unit_test(test_decode_strings_and_varints),
        cmocka_unit_test(test_reply_matches_protobuf_c),
        cmocka_unit_test(test_rows_match_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
