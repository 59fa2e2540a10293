/*
 * test_codec_query.c - proves the codec's read-endpoint messages (codec/codec.h, "the read
 * endpoint"):
 *
 *   queries     every query kind round-trips through encode -> decode field by field, and
 *               encode(decode(b)) == b; protobuf-c reads the same values; a request without a
 *               query case decodes as CODEC_Q_NONE; refusals: garbage, an empty or over-long
 *               request id, an over-long id, a NUL byte, a bad ref-data kind -> OMS_ERR_DECODE
 *               (the request id kept when readable); over 64 KiB -> OMS_ERR_LIMIT; a small cap
 *               -> OMS_ERR_LIMIT with the size needed.
 *   catch-up    replies of 0, 1, 3 and 600 stitched envelopes are byte-identical to protobuf-c's
 *               packing of the same QueryReplyCatchUpRaw (exact, minimal lengths), unpack as
 *               QueryReply with every envelope's bytes exact, and decode through the codec into
 *               slices that point into the reply and equal the envelopes.
 *   lists       orders, executions, positions, allocations and mixed reference data: identical
 *               to protobuf-c's packing of the same QueryReply; decoded slices carry their list
 *               kind and decode into records (codec_row_decode_*) with the rows' values.
 *   stats       a full codec_stats_t round-trips; protobuf-c reads the same values.
 *   error       an error replaces a half-written list; code and text decode.
 *   limits      a writer cap below 1 KiB, an entry that does not fit (the reply stays valid and
 *               ends with more = true), OMS_LIMIT_CATCHUP_EVENTS + 1 envelopes and
 *               OMS_LIMIT_QUERY_ROWS + 1 rows -> OMS_ERR_LIMIT; a decoder with too small a slice
 *               array or a hand-made reply with too many entries -> OMS_ERR_LIMIT; calls out of
 *               order -> OMS_ERR_STATE.
 *   garbage     random and truncated bytes, no result, two results -> OMS_ERR_DECODE.
 *   peek        the body case, account and order id of events of every family (and of the
 *               refused command inside a rejection), from real event bytes.
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
#include "oms_proto.h"

#define BIG_CAP (4u << 20)

static uint8_t *s_big(void)
{
    uint8_t *b = malloc(BIG_CAP);
    assert_non_null(b);
    return b;
}

/* ---- queries -------------------------------------------------------------------------------- */

static void s_query_eq(const codec_query_t *a, const codec_query_t *b)
{
    assert_string_equal(a->request_id, b->request_id);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->from_seq, b->from_seq);
    assert_int_equal(a->max_events, b->max_events);
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->open_only, b->open_only);
    assert_int_equal(a->max_rows, b->max_rows);
    assert_string_equal(a->after, b->after);
    assert_int_equal(a->ref_kind, b->ref_kind);
}

/* A query of kind k with every field it uses set (ids of the maximum length). */
static void s_make_query(codec_query_kind_t k, codec_query_t *q)
{
    memset(q, 0, sizeof *q);
    snprintf(q->request_id, sizeof q->request_id, "req-%d", (int)k);
    q->kind = k;
    memset(q->id, 'i', OMS_LIMIT_ID_LEN);
    switch (k) {
    case CODEC_Q_CATCH_UP:
        q->id[0] = '\0';
        q->from_seq = 0x123456789abcULL;
        q->max_events = 777;
        break;
    case CODEC_Q_ORDERS_OF_ACCOUNT:
        q->open_only = true;
        /* fall through */
    case CODEC_Q_POSITIONS_OF_ACCOUNT:
    case CODEC_Q_POSITIONS_OF_INSTRUMENT:
        q->max_rows = 250;
        memset(q->after, 'a', OMS_LIMIT_ID_LEN);
        break;
    case CODEC_Q_REF_DATA:
        q->ref_kind = CODEC_REF_LIMITS;
        q->max_rows = 3;
        strcpy(q->after, "ZZZ");
        break;
    case CODEC_Q_STATS:
    case CODEC_Q_NONE:
        q->id[0] = '\0';
        break;
    default:
        break;
    }
}

static void test_codec_query_roundtrip_every_kind(void **state)
{
    (void)state;
    static const codec_query_kind_t kinds[] = {
        CODEC_Q_CATCH_UP,
        CODEC_Q_ORDER,
        CODEC_Q_ORDERS_OF_ACCOUNT,
        CODEC_Q_EXECUTIONS_OF_ORDER,
        CODEC_Q_POSITIONS_OF_ACCOUNT,
        CODEC_Q_POSITIONS_OF_INSTRUMENT,
        CODEC_Q_ALLOCATIONS_OF_ORDER,
        CODEC_Q_REF_DATA,
        CODEC_Q_STATS,
        CODEC_Q_NONE,
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        codec_query_t q, d;
        uint8_t buf[1024], buf2[1024];
        size_t n, n2;
        s_make_query(kinds[i], &q);
        assert_int_equal(codec_encode_query(&q, buf, sizeof buf, &n), 0);
        char err[128];
        assert_int_equal(codec_decode_query(buf, n, &d, err, sizeof err), 0);
        s_query_eq(&q, &d);
        assert_int_equal(codec_encode_query(&d, buf2, sizeof buf2, &n2), 0);
        assert_int_equal(n, n2);
        assert_memory_equal(buf, buf2, n);

        Oms__V1__QueryRequest *m = oms__v1__query_request__unpack(NULL, n, buf);
        assert_non_null(m);
        assert_string_equal(m->request_id, q.request_id);
        assert_int_equal((int)m->query_case, (int)kinds[i]);
        if (kinds[i] == CODEC_Q_CATCH_UP) {
            assert_int_equal(m->catch_up->from_seq, q.from_seq);
            assert_int_equal(m->catch_up->max_events, q.max_events);
        } else if (kinds[i] == CODEC_Q_ORDERS_OF_ACCOUNT) {
            assert_string_equal(m->orders_of_account->account_id, q.id);
            assert_true(m->orders_of_account->open_only);
            assert_string_equal(m->orders_of_account->after_order_id, q.after);
        } else if (kinds[i] == CODEC_Q_REF_DATA) {
            assert_int_equal(m->ref_data->kind, OMS__V1__REF_DATA_KIND__REF_DATA_KIND_LIMITS);
        }
        oms__v1__query_request__free_unpacked(m, NULL);

        /* Too small a buffer: the size needed. */
        assert_int_equal(codec_encode_query(&q, buf, n - 1, &n2), OMS_ERR_LIMIT);
        assert_int_equal(n2, n);
    }
    codec_query_t q;
    s_make_query(CODEC_Q_ORDER, &q);
    q.kind = (codec_query_kind_t)77;
    size_t n;
    uint8_t buf[256];
    assert_int_equal(codec_encode_query(&q, buf, sizeof buf, &n), OMS_ERR_INVALID);
}

/* Packs a QueryRequest whose order query has the given id and request id. */
static size_t s_pack_order_query(const char *req, const char *id, uint8_t *buf, size_t cap)
{
    Oms__V1__QueryRequest m = OMS__V1__QUERY_REQUEST__INIT;
    Oms__V1__OrderQuery o = OMS__V1__ORDER_QUERY__INIT;
    m.request_id = (char *)req;
    o.order_id = (char *)id;
    m.query_case = OMS__V1__QUERY_REQUEST__QUERY_ORDER;
    m.order = &o;
    size_t n = oms__v1__query_request__get_packed_size(&m);
    assert_true(n <= cap);
    return oms__v1__query_request__pack(&m, buf);
}

static void test_codec_query_decode_refusals(void **state)
{
    (void)state;
    codec_query_t d;
    char err[160];
    uint8_t buf[1024];
    char longid[OMS_ID_CAP + 1];
    memset(longid, 'x', OMS_ID_CAP);
    longid[OMS_ID_CAP] = '\0';

    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99};
    assert_int_equal(codec_decode_query(garbage, sizeof garbage, &d, err, sizeof err),
                     OMS_ERR_DECODE);
    assert_int_equal(codec_decode_query(NULL, 0, &d, err, sizeof err), OMS_ERR_DECODE);

    size_t n = s_pack_order_query("", "O1", buf, sizeof buf);
    assert_int_equal(codec_decode_query(buf, n, &d, err, sizeof err), OMS_ERR_DECODE);
    n = s_pack_order_query(longid, "O1", buf, sizeof buf);
    assert_int_equal(codec_decode_query(buf, n, &d, err, sizeof err), OMS_ERR_DECODE);
    assert_string_equal(d.request_id, "");
    n = s_pack_order_query("r1", longid, buf, sizeof buf);
    assert_int_equal(codec_decode_query(buf, n, &d, err, sizeof err), OMS_ERR_DECODE);
    assert_string_equal(d.request_id, "r1"); /* kept for the error reply */
    assert_int_equal(d.kind, CODEC_Q_NONE);
    assert_non_null(strstr(err, "order"));

    /* A NUL inside the order id ("O\0X"): protobuf-c would cut it. */
    n = s_pack_order_query("r2", "OQX", buf, sizeof buf);
    uint8_t *q = memchr(buf, 'Q', n);
    assert_non_null(q);
    *q = 0;
    assert_int_equal(codec_decode_query(buf, n, &d, err, sizeof err), OMS_ERR_DECODE);

    /* Ref data kinds outside 1..6. */
    codec_query_t r;
    s_make_query(CODEC_Q_REF_DATA, &r);
    for (int k = 0; k <= 7; k += 7) {
        r.ref_kind = (codec_ref_kind_t)k;
        assert_int_equal(codec_encode_query(&r, buf, sizeof buf, &n), 0);
        assert_int_equal(codec_decode_query(buf, n, &d, err, sizeof err), OMS_ERR_DECODE);
        assert_string_equal(d.request_id, r.request_id);
    }

    /* Over 64 KiB. */
    uint8_t *big = calloc(1, OMS_LIMIT_MSG_BYTES + 1);
    assert_non_null(big);
    assert_int_equal(codec_decode_query(big, OMS_LIMIT_MSG_BYTES + 1, &d, err, sizeof err),
                     OMS_ERR_LIMIT);
    free(big);
}

/* ---- envelopes ------------------------------------------------------------------------------- */

/* A serialized envelope for seq holding a real event of type t (hash bytes made up). */
static size_t s_envelope(uint64_t seq, const oms_event_t *ev, uint8_t *out, size_t cap)
{
    uint8_t body[4096];
    size_t bl;
    assert_int_equal(codec_encode_event(ev, body, sizeof body, &bl), 0);
    uint8_t prev[OMS_HASH_LEN], hash[OMS_HASH_LEN];
    for (int i = 0; i < OMS_HASH_LEN; i++) {
        prev[i] = (uint8_t)(seq * 31 + (uint64_t)i);
        hash[i] = (uint8_t)(seq * 17 + (uint64_t)i * 3);
    }
    Oms__V1__EventEnvelopeRaw e = OMS__V1__EVENT_ENVELOPE_RAW__INIT;
    e.seq = seq;
    e.ts_ns = 1700000000000000000LL + (int64_t)seq;
    e.principal = "trader-1";
    e.command_id = "cmd-xyz";
    e.order_id = seq % 2 ? "ORD-1" : "";
    e.prev_hash.data = prev;
    e.prev_hash.len = OMS_HASH_LEN;
    e.event.data = body;
    e.event.len = bl;
    e.hash.data = hash;
    e.hash.len = OMS_HASH_LEN;
    size_t n = oms__v1__event_envelope_raw__get_packed_size(&e);
    assert_true(n <= cap);
    return oms__v1__event_envelope_raw__pack(&e, out);
}

static void s_fill_event(uint64_t seq, oms_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = OMS_EV_ORDER_FILLED;
    oms_ev_order_t *o = &ev->u.order;
    snprintf(o->h.order_id, sizeof o->h.order_id, "ORD-%llu", (unsigned long long)seq);
    strcpy(o->h.venue, "XNAS");
    snprintf(o->h.exec_id, sizeof o->h.exec_id, "E%llu", (unsigned long long)seq);
    o->status = OMS_ST_PARTIALLY_FILLED;
    o->last_qty = 100 * OMS_DEC_SCALE;
    o->last_px = (int64_t)seq * 1000;
    strcpy(o->account_id, "ACC1");
    strcpy(o->instrument_id, "AAPL");
    o->side = OMS_SIDE_BUY;
}

/* Builds a catch-up reply of n envelopes; checks it against protobuf-c, the codec decoder and
 * the envelopes' own bytes. */
static void s_catch_up_case(uint32_t n, bool more)
{
    uint8_t *env = s_big(), *reply = s_big(), *ref = s_big();
    size_t *off = calloc(n + 1, sizeof *off), *len = calloc(n + 1, sizeof *len);
    assert_true(off && len);
    size_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
        oms_event_t ev;
        s_fill_event(100 + i, &ev);
        off[i] = used;
        len[i] = s_envelope(100 + i, &ev, env + used, BIG_CAP - used);
        used += len[i];
    }
    codec_reply_writer_t w;
    const uint64_t head = 5000;
    assert_int_equal(codec_qreply_begin(&w, reply, BIG_CAP, "rq-7", head), 0);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(codec_qreply_catch_up_event(&w, env + off[i], len[i]), 0);
    assert_int_equal(codec_qreply_catch_up_end(&w, more), 0);
    size_t rlen;
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);

    /* Byte-identical to protobuf-c's packing of the raw twin. */
    ProtobufCBinaryData *ev = calloc(n + 1, sizeof *ev);
    assert_non_null(ev);
    for (uint32_t i = 0; i < n; i++) {
        ev[i].data = env + off[i];
        ev[i].len = len[i];
    }
    Oms__V1__QueryReplyCatchUpRaw raw = OMS__V1__QUERY_REPLY_CATCH_UP_RAW__INIT;
    Oms__V1__CatchUpReplyRaw cu = OMS__V1__CATCH_UP_REPLY_RAW__INIT;
    raw.request_id = "rq-7";
    raw.head_seq = head;
    raw.catch_up = &cu;
    cu.n_events = n;
    cu.events = ev;
    cu.head_seq = head;
    cu.more = more;
    size_t rn = oms__v1__query_reply_catch_up_raw__pack(&raw, ref);
    assert_int_equal(rn, rlen);
    assert_memory_equal(ref, reply, rlen);

    /* protobuf-c reads it as a QueryReply; every envelope re-packs to its exact bytes. */
    Oms__V1__QueryReply *m = oms__v1__query_reply__unpack(NULL, rlen, reply);
    assert_non_null(m);
    assert_string_equal(m->request_id, "rq-7");
    assert_int_equal(m->head_seq, head);
    assert_int_equal(m->result_case, OMS__V1__QUERY_REPLY__RESULT_CATCH_UP);
    assert_int_equal(m->catch_up->n_events, n);
    assert_int_equal(m->catch_up->head_seq, head);
    assert_int_equal(m->catch_up->more, more);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(m->catch_up->events[i]->seq, 100 + i);
        assert_int_equal(oms__v1__event_envelope__get_packed_size(m->catch_up->events[i]), len[i]);
        assert_int_equal(oms__v1__event_envelope__pack(m->catch_up->events[i], ref), len[i]);
        assert_memory_equal(ref, env + off[i], len[i]);
    }
    oms__v1__query_reply__free_unpacked(m, NULL);

    /* The codec's decoder: slices into the reply, equal to the envelopes. */
    codec_slice_t *items = calloc(n + 1, sizeof *items);
    codec_qreply_t *d = malloc(sizeof *d);
    assert_true(items && d);
    assert_int_equal(codec_decode_qreply(reply, rlen, items, n + 1, d), 0);
    assert_string_equal(d->request_id, "rq-7");
    assert_int_equal(d->head_seq, head);
    assert_int_equal(d->kind, CODEC_QR_CATCH_UP);
    assert_int_equal(d->catch_up_head_seq, head);
    assert_int_equal(d->more, more);
    assert_int_equal(d->n_items, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(items[i].data > reply && items[i].data + items[i].len <= reply + rlen);
        assert_int_equal(items[i].len, len[i]);
        assert_memory_equal(items[i].data, env + off[i], len[i]);
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(items[i].data, items[i].len, &rec), 0);
        assert_int_equal(rec.seq, 100 + i);
    }
    if (n > 0) /* one slot short */
        assert_int_equal(codec_decode_qreply(reply, rlen, items, n - 1, d), OMS_ERR_LIMIT);
    free(items);
    free(d);
    free(ev);
    free(off);
    free(len);
    free(env);
    free(reply);
    free(ref);
}

static void test_codec_query_catch_up_stitched(void **state)
{
    (void)state;
    s_catch_up_case(0, false);
    s_catch_up_case(1, false);
    s_catch_up_case(3, true);
    s_catch_up_case(600, true); /* > 128 KiB: a 3-byte length */
}

/* ---- lists -------------------------------------------------------------------------------------
 */

static size_t s_pack(const ProtobufCMessage *m, uint8_t *buf)
{
    return protobuf_c_message_pack(m, buf);
}

/* A stored-style Order row. */
static size_t s_order_row(int i, uint8_t *buf)
{
    Oms__V1__Order m = OMS__V1__ORDER__INIT;
    Oms__V1__Decimal q = OMS__V1__DECIMAL__INIT, cum = OMS__V1__DECIMAL__INIT,
                     lv = OMS__V1__DECIMAL__INIT, al = OMS__V1__DECIMAL__INIT,
                     px = OMS__V1__DECIMAL__INIT;
    Oms__V1__Decimal128 sum = OMS__V1__DECIMAL128__INIT;
    char id[32], *cl[2] = {"CL-A", "CL-B"};
    snprintf(id, sizeof id, "ORD-%03d", i);
    m.order_id = id;
    m.account_id = "ACC1";
    m.instrument_id = "AAPL";
    m.side = OMS__V1__SIDE__SIDE_BUY;
    m.ord_type = OMS__V1__ORD_TYPE__ORD_TYPE_LIMIT;
    px.e8 = 15000000000LL + i;
    m.price = &px;
    q.e8 = 1000 * OMS_DEC_SCALE;
    m.quantity = &q;
    m.status = OMS__V1__ORD_STATUS__ORD_STATUS_PARTIALLY_FILLED;
    cum.e8 = 100 * OMS_DEC_SCALE;
    lv.e8 = 900 * OMS_DEC_SCALE;
    al.e8 = 0;
    m.cum_qty = &cum;
    m.leaves_qty = &lv;
    m.allocated_qty = &al;
    sum.e16_lo = 42;
    m.px_qty_sum = &sum;
    m.cl_ord_id = "CL-B";
    m.n_cl_ord_ids = 2;
    m.cl_ord_ids = cl;
    m.created_seq = (uint64_t)i + 1;
    m.last_seq = (uint64_t)i + 9;
    return s_pack(&m.base, buf);
}

static size_t s_exec_row(int i, uint8_t *buf)
{
    Oms__V1__Execution m = OMS__V1__EXECUTION__INIT;
    Oms__V1__Decimal q = OMS__V1__DECIMAL__INIT, px = OMS__V1__DECIMAL__INIT;
    char id[32];
    snprintf(id, sizeof id, "EX-%d", i);
    m.venue = "XNAS";
    m.exec_id = id;
    m.order_id = "ORD-001";
    q.e8 = (i + 1) * OMS_DEC_SCALE;
    px.e8 = 1234;
    m.last_qty = &q;
    m.last_px = &px;
    m.busted = i == 1;
    m.seq = (uint64_t)i + 50;
    m.last_seq = (uint64_t)i + 60;
    return s_pack(&m.base, buf);
}

static size_t s_position_row(int i, uint8_t *buf)
{
    Oms__V1__Position m = OMS__V1__POSITION__INIT;
    Oms__V1__Decimal q = OMS__V1__DECIMAL__INIT, z = OMS__V1__DECIMAL__INIT;
    Oms__V1__Decimal128 cost = OMS__V1__DECIMAL128__INIT;
    char id[32];
    snprintf(id, sizeof id, "INS-%d", i);
    m.account_id = "ACC1";
    m.instrument_id = id;
    q.e8 = -(i + 1) * OMS_DEC_SCALE;
    m.qty = &q;
    cost.e16_hi = -1;
    cost.e16_lo = 12345;
    m.cost_basis = &cost;
    m.realized_pnl = &z;
    m.open_buy_leaves = &z;
    m.open_sell_leaves = &z;
    m.last_seq = 77;
    return s_pack(&m.base, buf);
}

static size_t s_alloc_row(int i, uint8_t *buf)
{
    Oms__V1__Allocation m = OMS__V1__ALLOCATION__INIT;
    Oms__V1__AllocationPart p[2] = {OMS__V1__ALLOCATION_PART__INIT, OMS__V1__ALLOCATION_PART__INIT};
    Oms__V1__AllocationPart *pp[2] = {&p[0], &p[1]};
    Oms__V1__Decimal d[4] = {OMS__V1__DECIMAL__INIT, OMS__V1__DECIMAL__INIT, OMS__V1__DECIMAL__INIT,
                             OMS__V1__DECIMAL__INIT};
    Oms__V1__AllocInstruction ai = OMS__V1__ALLOC_INSTRUCTION__INIT;
    Oms__V1__AllocInstruction *aip = &ai;
    Oms__V1__Decimal share = OMS__V1__DECIMAL__INIT;
    char id[32];
    snprintf(id, sizeof id, "AL-%d", i);
    m.order_id = "BLK-1";
    m.alloc_id = id;
    m.status = OMS__V1__ALLOC_STATUS__ALLOC_STATUS_BOOKED;
    d[0].e8 = 300 * OMS_DEC_SCALE;
    d[1].e8 = 150 * OMS_DEC_SCALE;
    m.quantity = &d[0];
    m.avg_px = &d[1];
    p[0].account_id = "ACC1";
    p[0].quantity = &d[2];
    p[0].price = &d[1];
    p[1].account_id = "ACC2";
    p[1].quantity = &d[3];
    p[1].price = &d[1];
    d[2].e8 = 100 * OMS_DEC_SCALE;
    d[3].e8 = 200 * OMS_DEC_SCALE;
    m.n_parts = 2;
    m.parts = pp;
    ai.account_id = "ACC1";
    share.e8 = 100 * OMS_DEC_SCALE;
    ai.share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_QTY;
    ai.qty = &share;
    m.n_instructions = 1;
    m.instructions = &aip;
    m.created_seq = 5;
    m.last_seq = 6;
    return s_pack(&m.base, buf);
}

/* Writes n rows of kind k (built by mk) as a list, compares the reply with protobuf-c's packing
 * of the equivalent QueryReply, decodes it, and returns the decoded reply's slices in items. */
static void s_list_case(codec_qlist_t k, int field, size_t (*mk)(int, uint8_t *), int n, bool more,
                        const ProtobufCMessageDescriptor *row_desc, uint8_t *reply, size_t *rlen,
                        codec_slice_t *items, codec_qreply_t *d)
{
    uint8_t *rows = s_big(), *ref = s_big();
    size_t off[16], len[16], used = 0;
    assert_true(n <= 16);
    codec_reply_writer_t w;
    assert_int_equal(codec_qreply_begin(&w, reply, BIG_CAP, "L1", 99), 0);
    if (n == 0)
        assert_int_equal(codec_qreply_list_begin(&w, k), 0);
    for (int i = 0; i < n; i++) {
        off[i] = used;
        len[i] = mk(i, rows + used);
        used += len[i];
        assert_int_equal(codec_qreply_row(&w, k, rows + off[i], len[i]), 0);
    }
    assert_int_equal(codec_qreply_list_end(&w, more), 0);
    assert_int_equal(codec_qreply_finish(&w, rlen), 0);

    /* protobuf-c: unpack the rows, build the list, pack the QueryReply. */
    ProtobufCMessage *um[16];
    for (int i = 0; i < n; i++) {
        um[i] = protobuf_c_message_unpack(row_desc, NULL, len[i], rows + off[i]);
        assert_non_null(um[i]);
    }
    Oms__V1__QueryReply qr = OMS__V1__QUERY_REPLY__INIT;
    Oms__V1__OrderList ol = OMS__V1__ORDER_LIST__INIT;
    Oms__V1__ExecutionList el = OMS__V1__EXECUTION_LIST__INIT;
    Oms__V1__PositionList pl = OMS__V1__POSITION_LIST__INIT;
    Oms__V1__AllocationList al = OMS__V1__ALLOCATION_LIST__INIT;
    qr.request_id = "L1";
    qr.head_seq = 99;
    qr.result_case = (Oms__V1__QueryReply__ResultCase)field;
    switch (field) {
    case 20:
        ol.n_orders = (size_t)n;
        ol.orders = (Oms__V1__Order **)um;
        ol.more = more;
        qr.orders = &ol;
        break;
    case 22:
        el.n_executions = (size_t)n;
        el.executions = (Oms__V1__Execution **)um;
        el.more = more;
        qr.executions = &el;
        break;
    case 30:
        pl.n_positions = (size_t)n;
        pl.positions = (Oms__V1__Position **)um;
        pl.more = more;
        qr.positions = &pl;
        break;
    default:
        al.n_allocations = (size_t)n;
        al.allocations = (Oms__V1__Allocation **)um;
        al.more = more;
        qr.allocations = &al;
        break;
    }
    size_t rn = oms__v1__query_reply__pack(&qr, ref);
    assert_int_equal(rn, *rlen);
    assert_memory_equal(ref, reply, rn);
    for (int i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(um[i], NULL);

    assert_int_equal(codec_decode_qreply(reply, *rlen, items, 16, d), 0);
    assert_int_equal(d->kind, field);
    assert_int_equal(d->more, more);
    assert_int_equal(d->n_items, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(items[i].list, k);
        assert_int_equal(items[i].len, len[i]);
        assert_memory_equal(items[i].data, rows + off[i], len[i]);
    }
    free(rows);
    free(ref);
}

static void test_codec_query_lists(void **state)
{
    (void)state;
    uint8_t *reply = s_big();
    codec_slice_t items[16];
    codec_qreply_t *d = malloc(sizeof *d);
    size_t rlen;
    oms_arena_t arena;
    assert_int_equal(oms_arena_init(&arena, 1 << 16), 0);

    s_list_case(CODEC_QL_ORDERS, 20, s_order_row, 3, true, &oms__v1__order__descriptor, reply,
                &rlen, items, d);
    for (int i = 0; i < 3; i++) {
        proj_order_t o;
        const char(*cl)[OMS_ID_CAP];
        uint32_t ncl, ni;
        const oms_alloc_instr_t *in;
        assert_int_equal(
            codec_row_decode_order(items[i].data, items[i].len, &arena, &o, &cl, &ncl, &in, &ni),
            0);
        char id[32];
        snprintf(id, sizeof id, "ORD-%03d", i);
        assert_string_equal(o.order_id, id);
        assert_string_equal(o.account_id, "ACC1");
        assert_int_equal(o.status, OMS_ST_PARTIALLY_FILLED);
        assert_true(o.price.set);
        assert_int_equal(o.price.v, 15000000000LL + i);
        assert_int_equal(o.leaves, 900 * OMS_DEC_SCALE);
        assert_int_equal(ncl, 2);
        assert_string_equal(cl[1], "CL-B");
        assert_int_equal(ni, 0);
        assert_int_equal((int64_t)o.px_qty_sum, 42);
        assert_int_equal(o.last_seq, (uint64_t)i + 9);
    }
    s_list_case(CODEC_QL_ORDERS, 20, s_order_row, 0, false, &oms__v1__order__descriptor, reply,
                &rlen, items, d); /* an empty list */
    s_list_case(CODEC_QL_EXECUTIONS, 22, s_exec_row, 2, false, &oms__v1__execution__descriptor,
                reply, &rlen, items, d);
    proj_exec_t x;
    char oid[OMS_ID_CAP], xs[2][OMS_ID_CAP];
    assert_int_equal(codec_row_decode_exec(items[1].data, items[1].len, &x, oid, xs), 0);
    assert_string_equal(oid, "ORD-001");
    assert_string_equal(x.exec_id, "EX-1");
    assert_true(x.busted);
    assert_int_equal(x.qty, 2 * OMS_DEC_SCALE);
    assert_int_equal(x.seq, 51);
    s_list_case(CODEC_QL_POSITIONS, 30, s_position_row, 4, true, &oms__v1__position__descriptor,
                reply, &rlen, items, d);
    proj_position_t p;
    assert_int_equal(codec_row_decode_position(items[3].data, items[3].len, &p), 0);
    assert_string_equal(p.instrument_id, "INS-3");
    assert_int_equal(p.qty, -4 * OMS_DEC_SCALE);
    assert_true(p.cost_basis < 0);
    s_list_case(CODEC_QL_ALLOCATIONS, 40, s_alloc_row, 2, false, &oms__v1__allocation__descriptor,
                reply, &rlen, items, d);
    proj_alloc_t a;
    const oms_alloc_part_t *parts;
    const oms_alloc_instr_t *used;
    uint32_t np, nu;
    oms_arena_reset(&arena);
    assert_int_equal(
        codec_row_decode_alloc(items[0].data, items[0].len, &arena, &a, &parts, &np, &used, &nu),
        0);
    assert_string_equal(a.alloc_id, "AL-0");
    assert_int_equal(np, 2);
    assert_string_equal(parts[1].account_id, "ACC2");
    assert_int_equal(parts[1].qty, 200 * OMS_DEC_SCALE);
    assert_int_equal(nu, 1);
    assert_string_equal(used[0].account_id, "ACC1");
    /* Rows with lists need an arena. */
    assert_int_equal(
        codec_row_decode_alloc(items[0].data, items[0].len, NULL, &a, &parts, &np, &used, &nu),
        OMS_ERR_INVALID);
    /* A row of another type: the bytes of an allocation are not a position (field types). */
    assert_int_equal(codec_row_decode_position((const uint8_t *)"\xff\xff", 2, &p), OMS_ERR_DECODE);
    oms_arena_free(&arena);
    free(d);
    free(reply);
}

static void test_codec_query_ref_data_mixed(void **state)
{
    (void)state;
    uint8_t *reply = s_big(), *ref = s_big();
    uint8_t rows[5][512];
    size_t rl[5];
    Oms__V1__Decimal dec[3] = {OMS__V1__DECIMAL__INIT, OMS__V1__DECIMAL__INIT,
                               OMS__V1__DECIMAL__INIT};
    dec[0].e8 = OMS_DEC_SCALE;
    dec[1].e8 = OMS_DEC_SCALE;
    dec[2].e8 = 1000000;
    Oms__V1__Instrument ins = OMS__V1__INSTRUMENT__INIT;
    ins.instrument_id = "AAPL";
    ins.symbol = "AAPL";
    ins.currency = "USD";
    ins.multiplier = &dec[0];
    ins.lot_size = &dec[1];
    ins.tick_size = &dec[2];
    ins.active = 1;
    rl[0] = s_pack(&ins.base, rows[0]);
    Oms__V1__Account acc = OMS__V1__ACCOUNT__INIT;
    acc.account_id = "ACC1";
    acc.name = "Fund one";
    acc.active = 1;
    rl[1] = s_pack(&acc.base, rows[1]);
    Oms__V1__Role roles[2] = {OMS__V1__ROLE__ROLE_TRADER, OMS__V1__ROLE__ROLE_ADMIN};
    Oms__V1__Principal pr = OMS__V1__PRINCIPAL__INIT;
    pr.principal_id = "alice";
    pr.n_roles = 1;
    pr.roles = roles;
    pr.active = 1;
    rl[2] = s_pack(&pr.base, rows[2]);
    Oms__V1__Limits lim = OMS__V1__LIMITS__INIT;
    lim.scope = OMS__V1__LIMIT_SCOPE__LIMIT_SCOPE_ACCOUNT;
    lim.account_id = "ACC1";
    lim.max_order_qty = &dec[0];
    rl[3] = s_pack(&lim.base, rows[3]);
    Oms__V1__Restriction res = OMS__V1__RESTRICTION__INIT;
    res.instrument_id = "AAPL";
    res.restricted = 1;
    res.reason = "news";
    rl[4] = s_pack(&res.base, rows[4]);

    codec_reply_writer_t w;
    assert_int_equal(codec_qreply_begin(&w, reply, BIG_CAP, "R", 12), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            codec_qreply_row(&w, (codec_qlist_t)(CODEC_QL_INSTRUMENTS + i), rows[i], rl[i]), 0);
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, rows[0], rl[0]), OMS_ERR_STATE);
    assert_int_equal(codec_qreply_list_end(&w, true), 0);
    size_t rlen;
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);

    Oms__V1__QueryReply *m = oms__v1__query_reply__unpack(NULL, rlen, reply);
    assert_non_null(m);
    assert_int_equal(m->result_case, OMS__V1__QUERY_REPLY__RESULT_REF_DATA);
    Oms__V1__RefDataList *r = m->ref_data;
    assert_int_equal(r->n_instruments, 1);
    assert_int_equal(r->n_accounts, 1);
    assert_int_equal(r->n_principals, 1);
    assert_int_equal(r->n_limits, 1);
    assert_int_equal(r->n_restrictions, 1);
    assert_true(r->more);
    assert_string_equal(r->accounts[0]->name, "Fund one");
    /* Canonical: protobuf-c packs the same bytes. */
    size_t rn = oms__v1__query_reply__pack(m, ref);
    assert_int_equal(rn, rlen);
    assert_memory_equal(ref, reply, rn);
    oms__v1__query_reply__free_unpacked(m, NULL);

    codec_slice_t items[8];
    codec_qreply_t *d = malloc(sizeof *d);
    assert_int_equal(codec_decode_qreply(reply, rlen, items, 8, d), 0);
    assert_int_equal(d->kind, CODEC_QR_REF_DATA);
    assert_int_equal(d->n_items, 5);
    assert_true(d->more);
    for (int i = 0; i < 5; i++)
        assert_int_equal(items[i].list, CODEC_QL_INSTRUMENTS + i);
    proj_instrument_t pi;
    proj_account_t pa;
    proj_principal_t pp;
    proj_limits_t pl;
    proj_restriction_t ps;
    assert_int_equal(codec_row_decode_instrument(items[0].data, items[0].len, &pi), 0);
    assert_string_equal(pi.def.currency, "USD");
    assert_int_equal(pi.def.tick_size, 1000000);
    assert_int_equal(codec_row_decode_account(items[1].data, items[1].len, &pa), 0);
    assert_string_equal(pa.def.name, "Fund one");
    assert_int_equal(codec_row_decode_principal(items[2].data, items[2].len, &pp), 0);
    assert_string_equal(pp.def.principal_id, "alice");
    assert_int_equal(pp.def.roles, 1u << OMS__V1__ROLE__ROLE_TRADER);
    assert_int_equal(codec_row_decode_limits(items[3].data, items[3].len, &pl), 0);
    assert_true(pl.def.max_order_qty.set);
    assert_false(pl.def.collar_pct.set);
    assert_int_equal(codec_row_decode_restriction(items[4].data, items[4].len, &ps), 0);
    assert_string_equal(ps.reason, "news");
    assert_true(ps.restricted);
    free(d);
    free(reply);
    free(ref);
}

/* ---- stats and error ----------------------------------------------------------------------- */

static void test_codec_query_stats(void **state)
{
    (void)state;
    codec_stats_t *s = calloc(1, sizeof *s);
    codec_qreply_t *d = malloc(sizeof *d);
    uint8_t *reply = s_big();
    s->head_seq = 123456789;
    for (int i = 0; i < OMS_HASH_LEN; i++)
        s->head_hash.bytes[i] = (uint8_t)(i + 1);
    s->started_ts_ns = 1700000000123456789LL;
    s->window_ns = 10000000000LL;
    s->commands_per_s = 55000;
    s->events_per_s = 110000;
    s->commands_total = 1u << 30;
    s->events_total = 1ull << 33;
    s->batches_total = 9999;
    s->batch_commands_last = 17;
    s->batch_commands_max = 1024;
    s->batch_events_max = 8000;
    s->commands_per_batch_mean_e3 = 12345;
    s->append_latency_us_p50 = 80;
    s->append_latency_us_p99 = 900;
    s->rejects_total = 30;
    s->n_rejects_by_reason = 3;
    static const oms_reject_reason_t rr[3] = {OMS_RR_INVALID_FIELD, OMS_RR_MAX_QTY,
                                              OMS_RR_DAY_ALREADY_PROCESSED};
    for (int i = 0; i < 3; i++) { /* field by field: the struct is compared with memcmp */
        s->rejects_by_reason[i].reason = rr[i];
        s->rejects_by_reason[i].count = (uint64_t)(10 + 5 * i);
    }
    s->errors_total = 2;
    s->duplicates_total = 3;
    s->orders_in_memory = 123456789012ull;
    s->state_reloads_total = 4;
    s->n_subscribers = 2;
    strcpy(s->subscribers[0].client, "00a1b2c3d4");
    s->subscribers[0].last_from_seq = 100;
    s->subscribers[0].lag_events = 7;
    s->subscribers[0].last_seen_ts_ns = -5;
    strcpy(s->subscribers[1].client, "risk-monitor");
    s->subscribers[1].last_from_seq = 1;

    codec_reply_writer_t w;
    assert_int_equal(codec_qreply_begin(&w, reply, BIG_CAP, "S", s->head_seq), 0);
    assert_int_equal(codec_qreply_stats(&w, s), 0);
    assert_int_equal(codec_qreply_stats(&w, s), OMS_ERR_STATE);
    size_t rlen;
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    assert_int_equal(codec_decode_qreply(reply, rlen, NULL, 0, d), 0);
    assert_int_equal(d->kind, CODEC_QR_STATS);
    assert_memory_equal(&d->stats, s, sizeof *s); /* both zero-initialised around the values */

    Oms__V1__QueryReply *m = oms__v1__query_reply__unpack(NULL, rlen, reply);
    assert_non_null(m);
    assert_int_equal(m->result_case, OMS__V1__QUERY_REPLY__RESULT_STATS);
    assert_int_equal(m->stats->events_total, 1ull << 33);
    assert_int_equal(m->stats->n_rejects_by_reason, 3);
    assert_int_equal(m->stats->rejects_by_reason[1]->count, 15);
    assert_string_equal(m->stats->subscribers[1]->client, "risk-monitor");
    assert_int_equal(m->stats->head_hash.len, OMS_HASH_LEN);
    oms__v1__query_reply__free_unpacked(m, NULL);

    /* Bounds. */
    s->n_subscribers = CODEC_STATS_SUBSCRIBERS_MAX + 1;
    assert_int_equal(codec_qreply_begin(&w, reply, BIG_CAP, "S", 1), 0);
    assert_int_equal(codec_qreply_stats(&w, s), OMS_ERR_INVALID);
    free(s);
    free(d);
    free(reply);
}

static void test_codec_query_error_replaces_result(void **state)
{
    (void)state;
    uint8_t reply[4096], row[512];
    size_t rl = s_order_row(1, row), rlen;
    codec_reply_writer_t w;
    assert_int_equal(codec_qreply_begin(&w, reply, sizeof reply, "E1", 3), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), OMS_ERR_STATE); /* no result yet */
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, row, rl), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), OMS_ERR_STATE); /* list not ended */
    assert_int_equal(codec_qreply_error(&w, OMS_ERR_NOT_FOUND, "no order ORD-9"), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    codec_qreply_t *d = malloc(sizeof *d);
    assert_int_equal(codec_decode_qreply(reply, rlen, NULL, 0, d), 0);
    assert_int_equal(d->kind, CODEC_QR_ERROR);
    assert_string_equal(d->request_id, "E1");
    assert_int_equal(d->head_seq, 3);
    assert_int_equal(d->error_code, OMS_ERR_NOT_FOUND);
    assert_string_equal(d->error_text, "no order ORD-9");
    Oms__V1__QueryReply *m = oms__v1__query_reply__unpack(NULL, rlen, reply);
    assert_non_null(m);
    assert_int_equal(m->result_case, OMS__V1__QUERY_REPLY__RESULT_ERROR);
    assert_int_equal(m->error->error_code, OMS_ERR_NOT_FOUND);
    assert_string_equal(m->error->text, "no order ORD-9");
    uint8_t ref[4096];
    assert_int_equal(oms__v1__query_reply__pack(m, ref), rlen);
    assert_memory_equal(ref, reply, rlen);
    oms__v1__query_reply__free_unpacked(m, NULL);

    /* An error to an undecodable request: no request id, a long text cut to the limit. */
    char text[OMS_TEXT_CAP + 100];
    memset(text, 't', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_int_equal(codec_qreply_begin(&w, reply, sizeof reply, NULL, 0), 0);
    assert_int_equal(codec_qreply_error(&w, OMS_ERR_DECODE, text), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    assert_int_equal(codec_decode_qreply(reply, rlen, NULL, 0, d), 0);
    assert_string_equal(d->request_id, "");
    assert_int_equal(d->error_code, OMS_ERR_DECODE);
    assert_int_equal(strlen(d->error_text), OMS_LIMIT_TEXT_LEN);
    free(d);
}

/* ---- limits ------------------------------------------------------------------------------------
 */

static void test_codec_query_limits(void **state)
{
    (void)state;
    uint8_t small[1024], row[512];
    size_t rl = s_order_row(1, row), rlen;
    codec_reply_writer_t w;
    assert_int_equal(codec_qreply_begin(&w, small, 1023, "X", 1), OMS_ERR_LIMIT);
    char longid[OMS_ID_CAP + 1];
    memset(longid, 'q', OMS_ID_CAP);
    longid[OMS_ID_CAP] = '\0';
    assert_int_equal(codec_qreply_begin(&w, small, sizeof small, longid, 1), OMS_ERR_INVALID);

    /* Fill a 1 KiB reply with rows until one does not fit: the reply stays valid. */
    assert_int_equal(codec_qreply_begin(&w, small, sizeof small, "X", 1), 0);
    int added = 0, rc;
    while ((rc = codec_qreply_row(&w, CODEC_QL_ORDERS, row, rl)) == 0)
        added++;
    assert_int_equal(rc, OMS_ERR_LIMIT);
    assert_true(added >= 1);
    assert_int_equal(codec_qreply_list_end(&w, true), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    assert_true(rlen <= sizeof small);
    codec_slice_t items[16];
    codec_qreply_t *d = malloc(sizeof *d);
    assert_int_equal(codec_decode_qreply(small, rlen, items, 16, d), 0);
    assert_int_equal(d->n_items, (uint32_t)added);
    assert_true(d->more);
    /* A first row that does not fit leaves nothing begun. */
    uint8_t *huge = calloc(1, 2048);
    assert_int_equal(codec_qreply_begin(&w, small, sizeof small, "X", 1), 0);
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, huge, 2048), OMS_ERR_LIMIT);
    assert_int_equal(codec_qreply_catch_up_event(&w, huge, 2048), OMS_ERR_LIMIT);
    assert_int_equal(codec_qreply_error(&w, OMS_ERR_LIMIT, "too big"), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    free(huge);
    /* Out of order. */
    assert_int_equal(codec_qreply_begin(&w, small, sizeof small, "X", 1), 0);
    assert_int_equal(codec_qreply_list_end(&w, false), OMS_ERR_STATE);
    assert_int_equal(codec_qreply_catch_up_event(&w, row, rl), 0);
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, row, rl), OMS_ERR_STATE);
    assert_int_equal(codec_qreply_list_end(&w, false), OMS_ERR_STATE);
    assert_int_equal(codec_qreply_catch_up_end(&w, false), 0);
    assert_int_equal(codec_qreply_catch_up_event(&w, row, rl), OMS_ERR_STATE);
    assert_int_equal(codec_qreply_catch_up_event(&w, row, 0), OMS_ERR_INVALID);

    /* More than OMS_LIMIT_CATCHUP_EVENTS envelopes / OMS_LIMIT_QUERY_ROWS rows. */
    uint8_t *big = s_big();
    static const uint8_t tiny[] = {0x08, 0x01}; /* seq = 1 */
    assert_int_equal(codec_qreply_begin(&w, big, BIG_CAP, "X", 1), 0);
    for (int i = 0; i < OMS_LIMIT_CATCHUP_EVENTS; i++)
        assert_int_equal(codec_qreply_catch_up_event(&w, tiny, sizeof tiny), 0);
    assert_int_equal(codec_qreply_catch_up_event(&w, tiny, sizeof tiny), OMS_ERR_LIMIT);
    assert_int_equal(codec_qreply_catch_up_end(&w, true), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    codec_slice_t *many = calloc(OMS_LIMIT_CATCHUP_EVENTS + 2, sizeof *many);
    assert_int_equal(codec_decode_qreply(big, rlen, many, OMS_LIMIT_CATCHUP_EVENTS + 2, d), 0);
    assert_int_equal(d->n_items, OMS_LIMIT_CATCHUP_EVENTS);
    assert_int_equal(codec_qreply_begin(&w, big, BIG_CAP, "X", 1), 0);
    for (int i = 0; i < OMS_LIMIT_QUERY_ROWS; i++)
        assert_int_equal(codec_qreply_row(&w, CODEC_QL_POSITIONS, tiny, sizeof tiny), 0);
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_POSITIONS, tiny, sizeof tiny), OMS_ERR_LIMIT);

    /* A hand-made reply with OMS_LIMIT_CATCHUP_EVENTS + 1 envelopes is refused by the decoder. */
    size_t n = 0, inner = (OMS_LIMIT_CATCHUP_EVENTS + 1) * 4;
    big[n++] = 0x52; /* field 10, length-delimited */
    {
        uint64_t v = inner;
        while (v >= 0x80) {
            big[n++] = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        big[n++] = (uint8_t)v;
    }
    for (int i = 0; i < OMS_LIMIT_CATCHUP_EVENTS + 1; i++) {
        big[n++] = 0x0a;
        big[n++] = 0x02;
        big[n++] = 0x08;
        big[n++] = 0x01;
    }
    assert_int_equal(codec_decode_qreply(big, n, many, OMS_LIMIT_CATCHUP_EVENTS + 2, d),
                     OMS_ERR_LIMIT);
    free(many);
    free(big);
    free(d);
}

/* ---- garbage -----------------------------------------------------------------------------------
 */

static void test_codec_query_garbage(void **state)
{
    (void)state;
    codec_slice_t items[8];
    codec_qreply_t *d = malloc(sizeof *d);
    static const uint8_t bad[] = {0xff, 0xff, 0xff};
    assert_int_equal(codec_decode_qreply(bad, sizeof bad, items, 8, d), OMS_ERR_DECODE);
    static const uint8_t none[] = {0x0a, 0x01, 'r', 0x10, 0x05}; /* header, no result */
    assert_int_equal(codec_decode_qreply(none, sizeof none, items, 8, d), OMS_ERR_DECODE);
    static const uint8_t two[] = {0x52, 0x00, 0xa2, 0x01, 0x00}; /* catch_up and orders */
    assert_int_equal(codec_decode_qreply(two, sizeof two, items, 8, d), OMS_ERR_DECODE);
    static const uint8_t wt[] = {0x50, 0x01}; /* field 10 as a varint */
    assert_int_equal(codec_decode_qreply(wt, sizeof wt, items, 8, d), OMS_ERR_DECODE);
    static const uint8_t nul[] = {0x0a, 0x02, 'r', 0x00, 0x52, 0x00};
    assert_int_equal(codec_decode_qreply(nul, sizeof nul, items, 8, d), OMS_ERR_DECODE);
    static const uint8_t empty_cu[] = {0x52, 0x00};
    assert_int_equal(codec_decode_qreply(empty_cu, sizeof empty_cu, items, 8, d), 0);
    assert_int_equal(d->kind, CODEC_QR_CATCH_UP);
    assert_int_equal(d->n_items, 0);

    /* Every truncation of a valid reply fails cleanly (or decodes a shorter valid prefix). */
    uint8_t reply[4096], row[512];
    size_t rl = s_order_row(3, row), rlen;
    codec_reply_writer_t w;
    assert_int_equal(codec_qreply_begin(&w, reply, sizeof reply, "G", 9), 0);
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, row, rl), 0);
    assert_int_equal(codec_qreply_row(&w, CODEC_QL_ORDERS, row, rl), 0);
    assert_int_equal(codec_qreply_list_end(&w, false), 0);
    assert_int_equal(codec_qreply_finish(&w, &rlen), 0);
    for (size_t cut = 0; cut < rlen; cut++) {
        int rc = codec_decode_qreply(reply, cut, items, 8, d);
        assert_true(rc == OMS_ERR_DECODE || rc == 0);
        if (rc == 0)
            assert_int_not_equal(d->kind, CODEC_QR_ORDERS); /* the list is last: never whole */
    }
    /* Random bytes never crash. */
    uint64_t x = 88172645463325252ULL;
    uint8_t rnd[300];
    for (int k = 0; k < 20000; k++) {
        size_t n = (size_t)(x % sizeof rnd);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rnd[i] = (uint8_t)x;
        }
        int rc = codec_decode_qreply(rnd, n, items, 8, d);
        assert_true(rc == 0 || rc == OMS_ERR_DECODE || rc == OMS_ERR_LIMIT);
        codec_query_t q;
        rc = codec_decode_query(rnd, n, &q, NULL, 0);
        assert_true(rc == 0 || rc == OMS_ERR_DECODE);
    }
    free(d);
}

/* ---- peek --------------------------------------------------------------------------------------
 */

static void s_peek(const oms_event_t *ev, oms_event_type_t type, bool has, const char *acct)
{
    uint8_t body[8192];
    size_t n;
    assert_int_equal(codec_encode_event(ev, body, sizeof body, &n), 0);
    codec_event_peek_t p;
    assert_int_equal(codec_event_peek(body, n, &p), 0);
    assert_int_equal(p.type, type);
    assert_int_equal(p.has_account, has);
    assert_string_equal(p.account_id, acct);
}

static void test_codec_query_event_peek(void **state)
{
    (void)state;
    oms_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_INSTRUMENT_DEFINED;
    strcpy(ev.u.instrument.instrument_id, "AAPL");
    s_peek(&ev, OMS_EV_INSTRUMENT_DEFINED, false, "");
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_ACCOUNT_DEFINED;
    strcpy(ev.u.account.account_id, "ACC7");
    s_peek(&ev, OMS_EV_ACCOUNT_DEFINED, true, "ACC7");
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_ORDER_ACCEPTED;
    strcpy(ev.u.accepted.order.order_id, "O1");
    strcpy(ev.u.accepted.order.account_id, "ACC1");
    s_peek(&ev, OMS_EV_ORDER_ACCEPTED, true, "ACC1");
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_ORDER_ACKNOWLEDGED;
    strcpy(ev.u.order.h.order_id, "O1");
    s_peek(&ev, OMS_EV_ORDER_ACKNOWLEDGED, false, "");
    {
        uint8_t body[8192];
        size_t n;
        codec_event_peek_t p;
        assert_int_equal(codec_encode_event(&ev, body, sizeof body, &n), 0);
        assert_int_equal(codec_event_peek(body, n, &p), 0);
        assert_string_equal(p.order_id, "O1");
        assert_int_equal(p.cmd_type, OMS_CMD_NONE);
    }
    s_fill_event(5, &ev);
    s_peek(&ev, OMS_EV_ORDER_FILLED, true, "ACC1");
    ev.u.order.account_id[0] = '\0'; /* a block's fill */
    s_peek(&ev, OMS_EV_ORDER_FILLED, true, "");
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_ALLOCATION_REVERSED;
    strcpy(ev.u.alloc.order_id, "B1");
    s_peek(&ev, OMS_EV_ALLOCATION_REVERSED, false, "");
    oms_cmd_t cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = OMS_CMD_NEW_ORDER;
    strcpy(cmd.command_id, "c1");
    strcpy(cmd.principal, "p1");
    strcpy(cmd.u.new_order.order_id, "O2");
    strcpy(cmd.u.new_order.account_id, "ACC2");
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_COMMAND_REJECTED;
    ev.u.rejected.command_type = OMS_CMD_NEW_ORDER;
    ev.u.rejected.command = &cmd;
    s_peek(&ev, OMS_EV_COMMAND_REJECTED, true, "ACC2");
    {
        uint8_t body[8192];
        size_t n;
        codec_event_peek_t p;
        assert_int_equal(codec_encode_event(&ev, body, sizeof body, &n), 0);
        assert_int_equal(codec_event_peek(body, n, &p), 0);
        assert_int_equal(p.cmd_type, OMS_CMD_NEW_ORDER);
        assert_string_equal(p.order_id, "O2"); /* the refused command's order */
    }
    cmd.type = OMS_CMD_CANCEL_ORDER;
    ev.u.rejected.command_type = OMS_CMD_CANCEL_ORDER;
    s_peek(&ev, OMS_EV_COMMAND_REJECTED, false, "");
    ev.u.rejected.command = NULL;
    s_peek(&ev, OMS_EV_COMMAND_REJECTED, false, "");
    memset(&ev, 0, sizeof ev);
    ev.type = OMS_EV_END_OF_DAY_PROCESSED;
    strcpy(ev.u.eod.trade_date, "2026-01-02");
    s_peek(&ev, OMS_EV_END_OF_DAY_PROCESSED, false, "");

    codec_event_peek_t p;
    static const uint8_t nobody[] = {0x00};
    assert_int_equal(codec_event_peek(nobody, 0, &p), OMS_ERR_DECODE);
    assert_int_equal(codec_event_peek(nobody, 1, &p), OMS_ERR_DECODE);
    static const uint8_t unknown[] = {0xca, 0x3e, 0x00}; /* field 1000 */
    assert_int_equal(codec_event_peek(unknown, sizeof unknown, &p), OMS_ERR_DECODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_query_roundtrip_every_kind),
        cmocka_unit_test(test_codec_query_decode_refusals),
        cmocka_unit_test(test_codec_query_catch_up_stitched),
        cmocka_unit_test(test_codec_query_lists),
        cmocka_unit_test(test_codec_query_ref_data_mixed),
        cmocka_unit_test(test_codec_query_stats),
        cmocka_unit_test(test_codec_query_error_replaces_result),
        cmocka_unit_test(test_codec_query_limits),
        cmocka_unit_test(test_codec_query_garbage),
        cmocka_unit_test(test_codec_query_event_peek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
