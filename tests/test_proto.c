/*
 * test_proto.c - proves the generated oms.v1 wire schema behaves as the rest of the OMS assumes.
 *
 *   - every case of Command.body, Event.body, QueryRequest.query and QueryReply.result survives
 *     pack + unpack (walked generically from the protobuf-c descriptors, so a new case is covered
 *     without touching this file);
 *   - EventEnvelopeRaw (event as pre-serialized bytes) is wire-identical to EventEnvelope, and
 *     QueryReplyCatchUpRaw / CatchUpReplyRaw (envelopes as stored bytes) decode as QueryReply;
 *   - the envelope's hash (field 15) is serialized last, so the hashed bytes are the stored
 *     bytes minus their last 34, and packing with an empty hash yields exactly those bytes;
 *   - garbage, truncated and mutated bytes are refused (NULL) or decoded without a crash or a
 *     leak (run under ASan/UBSan in `make test-asan`);
 *   - Decimal keeps its full range (sint64 zigzag) across the wire;
 *   - schema hygiene: field numbers unique and ascending in every reachable message, the oneof
 *     families sit in their documented ranges, case names match their message names (the
 *     CommandRejected.command_type contract), enums start at *_UNSPECIFIED and carry their
 *     prefix, and each Raw twin has exactly its twin's fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oms_proto.h"

#define DEC_SCALE 100000000LL /* 10^8, as OMS_DEC_SCALE */
#define HASH_LEN  32
#define WALK_MAX  256 /* most distinct message types the schema walk visits */

/* Expected number of cases per oneof. Adding a case is a schema change: update these too. */
#define COMMAND_BODY_CASES  25
#define EVENT_BODY_CASES    28
#define QUERY_REQUEST_CASES 9
#define QUERY_REPLY_CASES   8

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Packs any message into a fresh heap buffer; *len_out gets its size. Never fails (asserts). */
static uint8_t *s_pack(const ProtobufCMessage *msg, size_t *len_out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    size_t written = protobuf_c_message_pack(msg, buf);
    assert_int_equal(written, len);
    *len_out = len;
    return buf;
}

/* A new, initialised, zero-filled message of the given type (heap). */
static ProtobufCMessage *s_new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = calloc(1, desc->sizeof_message);
    assert_non_null(msg);
    protobuf_c_message_init(desc, msg);
    return msg;
}

/* The uint32 oneof case word of a oneof field in msg. */
static uint32_t s_get_case(const void *msg, const ProtobufCFieldDescriptor *f)
{
    uint32_t c;
    memcpy(&c, (const char *)msg + f->quantifier_offset, sizeof c);
    return c;
}

static void s_set_case(void *msg, const ProtobufCFieldDescriptor *f, uint32_t c)
{
    memcpy((char *)msg + f->quantifier_offset, &c, sizeof c);
}

static bool s_is_oneof(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* "OrderFilled" -> "order_filled" (lower) or "ORDER_FILLED" (upper) into out (cap bytes). */
static void s_snake(const char *camel, char *out, size_t cap, bool upper)
{
    size_t n = 0;
    for (size_t i = 0; camel[i] != '\0'; i++) {
        char ch = camel[i];
        bool is_upper = ch >= 'A' && ch <= 'Z';
        if (is_upper && i > 0) {
            assert_true(n + 1 < cap);
            out[n++] = '_';
        }
        char lo = is_upper ? (char)(ch - 'A' + 'a') : ch;
        char up = (lo >= 'a' && lo <= 'z') ? (char)(lo - 'a' + 'A') : lo;
        assert_true(n + 1 < cap);
        out[n++] = upper ? up : lo;
    }
    out[n] = '\0';
}

/* Round-trips every case of the oneof(s) of desc: sets the case to an empty sub-message, packs,
 * unpacks, and checks the case and the sub-message type survive. Returns the number of cases. */
static unsigned s_roundtrip_oneof_cases(const ProtobufCMessageDescriptor *desc)
{
    unsigned cases = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!s_is_oneof(f))
            continue;
        /* Every oneof in the schema's top-level messages holds messages only. */
        assert_int_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
        const ProtobufCMessageDescriptor *sub_desc = f->descriptor;
        cases++;

        ProtobufCMessage *msg = s_new_message(desc);
        ProtobufCMessage *sub = s_new_message(sub_desc);
        s_set_case(msg, f, f->id);
        memcpy((char *)msg + f->offset, &sub, sizeof sub);

        size_t len = 0;
        uint8_t *buf = s_pack(msg, &len);
        assert_true(len >= 2); /* at least the tag and a zero length: an empty body is present */

        ProtobufCMessage *out = protobuf_c_message_unpack(desc, NULL, len, buf);
        assert_non_null(out);
        assert_int_equal(s_get_case(out, f), f->id);
        ProtobufCMessage *out_sub = NULL;
        memcpy(&out_sub, (char *)out + f->offset, sizeof out_sub);
        assert_non_null(out_sub);
        assert_ptr_equal(out_sub->descriptor, sub_desc);

        /* Re-packing the decoded message gives the same bytes. */
        size_t len2 = 0;
        uint8_t *buf2 = s_pack(out, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(buf2, buf, len);

        free(buf2);
        protobuf_c_message_free_unpacked(out, NULL);
        free(buf);
        free(sub);
        free(msg);
    }
    return cases;
}

/* Builds an Event holding an OrderFilled with most fields set. Storage comes from the caller. */
typedef struct {
    Oms__V1__Event event;
    Oms__V1__OrderFilled fill;
    Oms__V1__Decimal last_qty, last_px, cum_qty, leaves_qty, avg_px;
} fill_event_t;

static void s_fill_event(fill_event_t *fe)
{
    oms__v1__event__init(&fe->event);
    oms__v1__order_filled__init(&fe->fill);
    oms__v1__decimal__init(&fe->last_qty);
    oms__v1__decimal__init(&fe->last_px);
    oms__v1__decimal__init(&fe->cum_qty);
    oms__v1__decimal__init(&fe->leaves_qty);
    oms__v1__decimal__init(&fe->avg_px);
    fe->last_qty.e8 = 300 * DEC_SCALE;
    fe->last_px.e8 = 10125000000LL; /* 101.25 */
    fe->cum_qty.e8 = 500 * DEC_SCALE;
    fe->leaves_qty.e8 = 0; /* present and zero */
    fe->avg_px.e8 = 10112500000LL;
    fe->fill.order_id = "ord-1";
    fe->fill.venue = "XNAS";
    fe->fill.exec_id = "ex-9";
    fe->fill.venue_order_id = "v-77";
    fe->fill.transact_ts_ns = 1763733053123456789LL;
    fe->fill.cl_ord_id = "ord-1";
    fe->fill.status = OMS__V1__ORD_STATUS__ORD_STATUS_FILLED;
    fe->fill.last_qty = &fe->last_qty;
    fe->fill.last_px = &fe->last_px;
    fe->fill.cum_qty = &fe->cum_qty;
    fe->fill.leaves_qty = &fe->leaves_qty;
    fe->fill.avg_px = &fe->avg_px;
    fe->fill.overfill = false;
    fe->fill.late = true;
    fe->fill.account_id = "acct-1";
    fe->fill.instrument_id = "AAPL";
    fe->fill.side = OMS__V1__SIDE__SIDE_BUY;
    fe->event.body_case = OMS__V1__EVENT__BODY_ORDER_FILLED;
    fe->event.order_filled = &fe->fill;
}

/* ------------------------------------------------------------------------------------------ */
/* (a) every oneof case round-trips                                                            */
/* ------------------------------------------------------------------------------------------ */

static void test_proto_command_body_cases_roundtrip(void **state)
{
    (void)state;
    assert_int_equal(s_roundtrip_oneof_cases(&oms__v1__command__descriptor), COMMAND_BODY_CASES);
}

static void test_proto_event_body_cases_roundtrip(void **state)
{
    (void)state;
    assert_int_equal(s_roundtrip_oneof_cases(&oms__v1__event__descriptor), EVENT_BODY_CASES);
}

static void test_proto_query_cases_roundtrip(void **state)
{
    (void)state;
    assert_int_equal(s_roundtrip_oneof_cases(&oms__v1__query_request__descriptor),
                     QUERY_REQUEST_CASES);
    assert_int_equal(s_roundtrip_oneof_cases(&oms__v1__query_reply__descriptor), QUERY_REPLY_CASES);
}

/* A command with header fields and a filled body keeps every value. */
static void test_proto_command_fields_roundtrip(void **state)
{
    (void)state;
    Oms__V1__Decimal qty = OMS__V1__DECIMAL__INIT, w1 = OMS__V1__DECIMAL__INIT,
                     w2 = OMS__V1__DECIMAL__INIT;
    qty.e8 = 1000 * DEC_SCALE;
    w1.e8 = 60000000; /* 0.6 */
    w2.e8 = 40000000; /* 0.4 */
    Oms__V1__AllocInstruction a1 = OMS__V1__ALLOC_INSTRUCTION__INIT;
    Oms__V1__AllocInstruction a2 = OMS__V1__ALLOC_INSTRUCTION__INIT;
    a1.account_id = "acct-a";
    a1.share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT;
    a1.weight = &w1;
    a2.account_id = "acct-b";
    a2.share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT;
    a2.weight = &w2;
    Oms__V1__AllocInstruction *allocs[2] = {&a1, &a2};

    Oms__V1__NewOrder no = OMS__V1__NEW_ORDER__INIT;
    no.order_id = "blk-1";
    no.n_allocations = 2;
    no.allocations = allocs;
    no.instrument_id = "ESZ6";
    no.side = OMS__V1__SIDE__SIDE_SELL_SHORT;
    no.ord_type = OMS__V1__ORD_TYPE__ORD_TYPE_MARKET;
    no.quantity = &qty;
    no.time_in_force = OMS__V1__TIME_IN_FORCE__TIME_IN_FORCE_DAY;

    Oms__V1__Command cmd = OMS__V1__COMMAND__INIT;
    cmd.command_id = "c-1";
    cmd.principal = "pm1";
    cmd.client_ts_ns = -5; /* any int64 survives */
    cmd.body_case = OMS__V1__COMMAND__BODY_NEW_ORDER;
    cmd.new_order = &no;

    size_t len = 0;
    uint8_t *buf = s_pack(&cmd.base, &len);
    Oms__V1__Command *out = oms__v1__command__unpack(NULL, len, buf);
    assert_non_null(out);
    assert_string_equal(out->command_id, "c-1");
    assert_string_equal(out->principal, "pm1");
    assert_int_equal(out->client_ts_ns, -5);
    assert_int_equal(out->body_case, OMS__V1__COMMAND__BODY_NEW_ORDER);
    const Oms__V1__NewOrder *o = out->new_order;
    assert_string_equal(o->order_id, "blk-1");
    assert_string_equal(o->account_id, "");
    assert_int_equal(o->n_allocations, 2);
    assert_string_equal(o->allocations[1]->account_id, "acct-b");
    assert_int_equal(o->allocations[1]->share_case, OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT);
    assert_int_equal(o->allocations[1]->weight->e8, 40000000);
    assert_null(o->price); /* absent Decimal stays absent: "not set" */
    assert_non_null(o->quantity);
    assert_int_equal(o->quantity->e8, 1000 * DEC_SCALE);
    assert_int_equal(o->side, OMS__V1__SIDE__SIDE_SELL_SHORT);
    oms__v1__command__free_unpacked(out, NULL);
    free(buf);
}

/* ------------------------------------------------------------------------------------------ */
/* (b) raw twins are wire-identical                                                            */
/* ------------------------------------------------------------------------------------------ */

static void test_proto_envelope_raw_decodes_as_envelope(void **state)
{
    (void)state;
    fill_event_t fe;
    s_fill_event(&fe);
    size_t ev_len = 0;
    uint8_t *ev_bytes = s_pack(&fe.event.base, &ev_len);

    uint8_t prev[HASH_LEN], hash[HASH_LEN];
    memset(prev, 0xab, sizeof prev);
    for (int i = 0; i < HASH_LEN; i++)
        hash[i] = (uint8_t)(i * 7 + 1);

    Oms__V1__EventEnvelopeRaw raw = OMS__V1__EVENT_ENVELOPE_RAW__INIT;
    raw.seq = 42;
    raw.ts_ns = 1763733053000000001LL;
    raw.principal = "venue-xnas";
    raw.command_id = "cmd-7";
    raw.order_id = "ord-1";
    raw.prev_hash.len = HASH_LEN;
    raw.prev_hash.data = prev;
    raw.event.len = ev_len;
    raw.event.data = ev_bytes;
    raw.hash.len = HASH_LEN;
    raw.hash.data = hash;
    size_t raw_len = 0;
    uint8_t *raw_bytes = s_pack(&raw.base, &raw_len);

    Oms__V1__EventEnvelope *env = oms__v1__event_envelope__unpack(NULL, raw_len, raw_bytes);
    assert_non_null(env);
    assert_int_equal(env->seq, 42);
    assert_int_equal(env->ts_ns, 1763733053000000001LL);
    assert_string_equal(env->principal, "venue-xnas");
    assert_string_equal(env->command_id, "cmd-7");
    assert_string_equal(env->order_id, "ord-1");
    assert_int_equal(env->prev_hash.len, HASH_LEN);
    assert_memory_equal(env->prev_hash.data, prev, HASH_LEN);
    assert_int_equal(env->hash.len, HASH_LEN);
    assert_memory_equal(env->hash.data, hash, HASH_LEN);

    /* The event is equal: same case, same values, and it re-packs to the same bytes. */
    assert_non_null(env->event);
    assert_int_equal(env->event->body_case, OMS__V1__EVENT__BODY_ORDER_FILLED);
    const Oms__V1__OrderFilled *f = env->event->order_filled;
    assert_string_equal(f->exec_id, "ex-9");
    assert_int_equal(f->last_px->e8, 10125000000LL);
    assert_non_null(f->leaves_qty);
    assert_int_equal(f->leaves_qty->e8, 0);
    assert_true(f->late);
    size_t ev2_len = 0;
    uint8_t *ev2 = s_pack(&env->event->base, &ev2_len);
    assert_int_equal(ev2_len, ev_len);
    assert_memory_equal(ev2, ev_bytes, ev_len);

    /* And the whole envelope re-packs to the raw twin's bytes. */
    size_t env_len = 0;
    uint8_t *env_bytes = s_pack(&env->base, &env_len);
    assert_int_equal(env_len, raw_len);
    assert_memory_equal(env_bytes, raw_bytes, raw_len);

    /* The other way: an envelope decodes as the raw twin with the event's bytes intact. */
    Oms__V1__EventEnvelopeRaw *back = oms__v1__event_envelope_raw__unpack(NULL, env_len, env_bytes);
    assert_non_null(back);
    assert_int_equal(back->event.len, ev_len);
    assert_memory_equal(back->event.data, ev_bytes, ev_len);
    oms__v1__event_envelope_raw__free_unpacked(back, NULL);

    free(env_bytes);
    free(ev2);
    oms__v1__event_envelope__free_unpacked(env, NULL);
    free(raw_bytes);
    free(ev_bytes);
}

static void test_proto_catch_up_raw_decodes_as_query_reply(void **state)
{
    (void)state;
    enum { N = 3 };
    fill_event_t fe;
    s_fill_event(&fe);
    uint8_t *stored[N];
    size_t stored_len[N];
    uint8_t hash[HASH_LEN] = {0};
    for (int i = 0; i < N; i++) {
        Oms__V1__EventEnvelope env = OMS__V1__EVENT_ENVELOPE__INIT;
        env.seq = (uint64_t)(100 + i);
        env.ts_ns = 1000 + i;
        env.principal = "venue-xnas";
        env.command_id = "cmd";
        env.order_id = "ord-1";
        env.prev_hash.len = HASH_LEN;
        env.prev_hash.data = hash;
        env.event = &fe.event;
        env.hash.len = HASH_LEN;
        env.hash.data = hash;
        stored[i] = s_pack(&env.base, &stored_len[i]);
    }

    ProtobufCBinaryData bins[N];
    for (int i = 0; i < N; i++) {
        bins[i].len = stored_len[i];
        bins[i].data = stored[i];
    }
    Oms__V1__CatchUpReplyRaw cu = OMS__V1__CATCH_UP_REPLY_RAW__INIT;
    cu.n_events = N;
    cu.events = bins;
    cu.head_seq = 500;
    cu.more = true;
    Oms__V1__QueryReplyCatchUpRaw qr = OMS__V1__QUERY_REPLY_CATCH_UP_RAW__INIT;
    qr.request_id = "r-1";
    qr.head_seq = 500;
    qr.catch_up = &cu;
    size_t len = 0;
    uint8_t *buf = s_pack(&qr.base, &len);

    Oms__V1__QueryReply *rep = oms__v1__query_reply__unpack(NULL, len, buf);
    assert_non_null(rep);
    assert_string_equal(rep->request_id, "r-1");
    assert_int_equal(rep->head_seq, 500);
    assert_int_equal(rep->result_case, OMS__V1__QUERY_REPLY__RESULT_CATCH_UP);
    assert_int_equal(rep->catch_up->n_events, N);
    assert_int_equal(rep->catch_up->head_seq, 500);
    assert_true(rep->catch_up->more);
    for (int i = 0; i < N; i++) {
        const Oms__V1__EventEnvelope *e = rep->catch_up->events[i];
        assert_int_equal(e->seq, (uint64_t)(100 + i));
        assert_int_equal(e->event->body_case, OMS__V1__EVENT__BODY_ORDER_FILLED);
        size_t l = 0;
        uint8_t *b = s_pack(&e->base, &l);
        assert_int_equal(l, stored_len[i]);
        assert_memory_equal(b, stored[i], l);
        free(b);
    }
    oms__v1__query_reply__free_unpacked(rep, NULL);
    free(buf);
    for (int i = 0; i < N; i++)
        free(stored[i]);
}

/* Fields of a and b match one for one (number, name, label), types equal except where one is
 * bytes and the other a message. A field of a missing from b fails unless b_may_lack is set. */
static void s_assert_twins(const ProtobufCMessageDescriptor *a, const ProtobufCMessageDescriptor *b,
                           bool b_may_lack)
{
    if (!b_may_lack)
        assert_int_equal(a->n_fields, b->n_fields);
    for (unsigned i = 0; i < b->n_fields; i++) {
        const ProtobufCFieldDescriptor *fb = &b->fields[i];
        const ProtobufCFieldDescriptor *fa = protobuf_c_message_descriptor_get_field(a, fb->id);
        assert_non_null(fa);
        assert_string_equal(fa->name, fb->name);
        assert_int_equal(fa->label, fb->label);
        if (fa->type != fb->type) {
            bool a_msg = fa->type == PROTOBUF_C_TYPE_MESSAGE;
            bool b_msg = fb->type == PROTOBUF_C_TYPE_MESSAGE;
            bool a_bytes = fa->type == PROTOBUF_C_TYPE_BYTES;
            bool b_bytes = fb->type == PROTOBUF_C_TYPE_BYTES;
            assert_true((a_msg && b_bytes) || (a_bytes && b_msg));
        }
    }
}

static void test_proto_raw_twins_have_same_fields(void **state)
{
    (void)state;
    s_assert_twins(&oms__v1__event_envelope__descriptor, &oms__v1__event_envelope_raw__descriptor,
                   false);
    s_assert_twins(&oms__v1__catch_up_reply__descriptor, &oms__v1__catch_up_reply_raw__descriptor,
                   false);
    /* The raw query reply is the catch-up case of QueryReply only. */
    s_assert_twins(&oms__v1__query_reply__descriptor,
                   &oms__v1__query_reply_catch_up_raw__descriptor, true);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&oms__v1__query_reply_catch_up_raw__descriptor, 10);
    assert_non_null(f);
    assert_ptr_equal(f->descriptor, &oms__v1__catch_up_reply_raw__descriptor);
}

/* ------------------------------------------------------------------------------------------ */
/* (c) the hash is serialized last                                                             */
/* ------------------------------------------------------------------------------------------ */

static void test_proto_envelope_hash_serializes_last(void **state)
{
    (void)state;
    fill_event_t fe;
    s_fill_event(&fe);
    uint8_t prev[HASH_LEN], hash[HASH_LEN];
    for (int i = 0; i < HASH_LEN; i++) {
        prev[i] = (uint8_t)(0xf0 ^ i);
        hash[i] = (uint8_t)(0x5a + i);
    }
    Oms__V1__EventEnvelope env = OMS__V1__EVENT_ENVELOPE__INIT;
    env.seq = UINT64_MAX; /* every field set, with the largest values */
    env.ts_ns = INT64_MAX;
    env.principal = "trader-1";
    env.command_id = "cmd-123";
    env.order_id = "ord-1";
    env.prev_hash.len = HASH_LEN;
    env.prev_hash.data = prev;
    env.event = &fe.event;
    env.hash.len = HASH_LEN;
    env.hash.data = hash;

    size_t len = 0;
    uint8_t *buf = s_pack(&env.base, &len);
    assert_true(len > HASH_LEN + 2);
    const uint8_t *tail = buf + len - (HASH_LEN + 2);
    assert_int_equal(tail[0], 0x7a); /* field 15, wire type 2 */
    assert_int_equal(tail[1], 0x20); /* length 32 */
    assert_memory_equal(tail + 2, hash, HASH_LEN);

    /* Packing without the hash gives exactly the bytes that are hashed: the prefix. */
    env.hash.len = 0;
    env.hash.data = NULL;
    size_t pre_len = 0;
    uint8_t *pre = s_pack(&env.base, &pre_len);
    assert_int_equal(pre_len, len - (HASH_LEN + 2));
    assert_memory_equal(pre, buf, pre_len);

    /* seq 1's all-zero prev_hash is still present on the wire (32 zero bytes, not omitted). */
    memset(prev, 0, sizeof prev);
    env.prev_hash.data = prev;
    Oms__V1__EventEnvelope *out = oms__v1__event_envelope__unpack(NULL, pre_len, pre);
    assert_non_null(out);
    oms__v1__event_envelope__free_unpacked(out, NULL);
    size_t z_len = 0;
    uint8_t *z = s_pack(&env.base, &z_len);
    out = oms__v1__event_envelope__unpack(NULL, z_len, z);
    assert_non_null(out);
    assert_int_equal(out->prev_hash.len, HASH_LEN);
    assert_int_equal(out->hash.len, 0);
    oms__v1__event_envelope__free_unpacked(out, NULL);

    free(z);
    free(pre);
    free(buf);
}

/* ------------------------------------------------------------------------------------------ */
/* (d) garbage is refused without a crash                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *what;    /* what the bytes are */
    const uint8_t *data; /* the bytes */
    size_t len;          /* their length */
} garbage_t;

static void test_proto_garbage_fails_to_unpack(void **state)
{
    (void)state;
    static const uint8_t long_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t bad_wire_type[] = {0x3f, 0x00};          /* field 7, wire type 7 */
    static const uint8_t len_past_end[] = {0x1a, 0x05, 'a', 'b'}; /* string, 5 > 2 left */
    static const uint8_t huge_len[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* 4 GiB message */
    static const uint8_t bad_inner[] = {0x3a, 0x02, 0xff, 0xff};            /* event = garbage */
    static const uint8_t wrong_type[] = {0x0a, 0x01, 0x00}; /* seq as length-delimited */
    static const uint8_t field_zero[] = {0x00, 0x01};       /* field number 0 */
    static const uint8_t cut_varint[] = {0x08, 0x80};       /* seq varint cut short */
    const garbage_t cases[] = {
        {"overlong varint tag", long_varint, sizeof long_varint},
        {"wire type 7", bad_wire_type, sizeof bad_wire_type},
        {"length past the end", len_past_end, sizeof len_past_end},
        {"4 GiB length", huge_len, sizeof huge_len},
        {"garbage sub-message", bad_inner, sizeof bad_inner},
        {"wrong wire type for a known field", wrong_type, sizeof wrong_type},
        {"field number 0", field_zero, sizeof field_zero},
        {"truncated varint", cut_varint, sizeof cut_varint},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Oms__V1__EventEnvelope *env =
            oms__v1__event_envelope__unpack(NULL, cases[i].len, cases[i].data);
        if (env != NULL)
            fail_msg("garbage decoded as EventEnvelope: %s", cases[i].what);
    }
    /* The same kind of garbage is refused by the other entry points too. */
    assert_null(oms__v1__command__unpack(NULL, sizeof long_varint, long_varint));
    assert_null(oms__v1__command__unpack(NULL, sizeof huge_len, huge_len));
    assert_null(oms__v1__query_request__unpack(NULL, sizeof bad_wire_type, bad_wire_type));
    assert_null(oms__v1__event__unpack(NULL, sizeof len_past_end, len_past_end));

    /* A stored envelope cut anywhere inside its last field (the hash) is refused. */
    fill_event_t fe;
    s_fill_event(&fe);
    uint8_t hash[HASH_LEN] = {1};
    Oms__V1__EventEnvelope env = OMS__V1__EVENT_ENVELOPE__INIT;
    env.seq = 7;
    env.event = &fe.event;
    env.hash.len = HASH_LEN;
    env.hash.data = hash;
    size_t len = 0;
    uint8_t *buf = s_pack(&env.base, &len);
    for (size_t cut = len - (HASH_LEN + 1); cut < len; cut++)
        assert_null(oms__v1__event_envelope__unpack(NULL, cut, buf));
    /* Every other prefix decodes or is refused, never crashes (ASan watches). */
    for (size_t cut = 0; cut < len; cut++) {
        Oms__V1__EventEnvelope *e = oms__v1__event_envelope__unpack(NULL, cut, buf);
        if (e != NULL)
            oms__v1__event_envelope__free_unpacked(e, NULL);
    }
    free(buf);
}

/* xorshift64: a fixed, seeded stream so failures reproduce. */
static uint64_t s_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_proto_mutated_bytes_never_crash(void **state)
{
    (void)state;
    fill_event_t fe;
    s_fill_event(&fe);
    uint8_t hash[HASH_LEN] = {9};
    Oms__V1__EventEnvelope env = OMS__V1__EVENT_ENVELOPE__INIT;
    env.seq = 12345;
    env.principal = "p";
    env.event = &fe.event;
    env.prev_hash.len = HASH_LEN;
    env.prev_hash.data = hash;
    env.hash.len = HASH_LEN;
    env.hash.data = hash;
    size_t len = 0;
    uint8_t *good = s_pack(&env.base, &len);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);

    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    unsigned refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, good, len);
        int flips = 1 + (int)(s_rand(&rng) % 4);
        for (int k = 0; k < flips; k++)
            buf[s_rand(&rng) % len] ^= (uint8_t)(1u << (s_rand(&rng) % 8));
        size_t n = len - (size_t)(s_rand(&rng) % 3);
        Oms__V1__EventEnvelope *e = oms__v1__event_envelope__unpack(NULL, n, buf);
        if (e == NULL)
            refused++;
        else
            oms__v1__event_envelope__free_unpacked(e, NULL);
        Oms__V1__Command *c = oms__v1__command__unpack(NULL, n, buf);
        if (c != NULL)
            oms__v1__command__free_unpacked(c, NULL);
        Oms__V1__QueryReply *q = oms__v1__query_reply__unpack(NULL, n, buf);
        if (q != NULL)
            oms__v1__query_reply__free_unpacked(q, NULL);
    }
    assert_true(refused > 0); /* the mutations did hit the parser's error paths */

    /* Pure noise of every length up to 256 bytes. */
    uint8_t noise[256];
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = (size_t)(s_rand(&rng) % (sizeof noise + 1));
        for (size_t k = 0; k < n; k++)
            noise[k] = (uint8_t)s_rand(&rng);
        Oms__V1__Event *ev = oms__v1__event__unpack(NULL, n, noise);
        if (ev != NULL)
            oms__v1__event__free_unpacked(ev, NULL);
        Oms__V1__QueryRequest *qr = oms__v1__query_request__unpack(NULL, n, noise);
        if (qr != NULL)
            oms__v1__query_request__free_unpacked(qr, NULL);
    }
    free(buf);
    free(good);
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void test_proto_decimal_full_range_roundtrip(void **state)
{
    (void)state;
    const int64_t values[] = {0,         1,         -1, DEC_SCALE, -DEC_SCALE, 10125000000LL,
                              INT64_MAX, -INT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Oms__V1__Decimal d = OMS__V1__DECIMAL__INIT;
        d.e8 = values[i];
        size_t len = 0;
        uint8_t *buf = s_pack(&d.base, &len);
        assert_true(len <= 11); /* tag + at most 10 varint bytes */
        Oms__V1__Decimal *out = oms__v1__decimal__unpack(NULL, len, buf);
        assert_non_null(out);
        assert_int_equal(out->e8, values[i]);
        oms__v1__decimal__free_unpacked(out, NULL);
        free(buf);
    }
    /* zigzag keeps small negatives short: -1 is one byte after the tag. */
    Oms__V1__Decimal m1 = OMS__V1__DECIMAL__INIT;
    m1.e8 = -1;
    assert_int_equal(protobuf_c_message_get_packed_size(&m1.base), 2);
}

/* ------------------------------------------------------------------------------------------ */
/* (e) schema hygiene                                                                          */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const ProtobufCMessageDescriptor *seen[WALK_MAX]; /* message types visited */
    unsigned n_seen;                                  /* how many */
    const ProtobufCEnumDescriptor *enums[WALK_MAX];   /* enum types visited */
    unsigned n_enums;                                 /* how many */
} walk_t;

/* Visits desc and every message type reachable from it, once each, checking field numbers. */
static void s_walk(walk_t *w, const ProtobufCMessageDescriptor *desc)
{
    for (unsigned i = 0; i < w->n_seen; i++)
        if (w->seen[i] == desc)
            return;
    assert_true(w->n_seen < WALK_MAX);
    w->seen[w->n_seen++] = desc;
    assert_int_equal(desc->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    assert_int_equal(strncmp(desc->name, "oms.v1.", 7), 0); /* one package */

    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        assert_true(f->id >= 1);
        assert_true(f->id < 19000 || f->id > 19999); /* protobuf's own reserved range */
        /* Unique numbers: protobuf-c keeps fields sorted by number, so strictly ascending. */
        if (i > 0 && desc->fields[i - 1].id >= f->id)
            fail_msg("%s: field %u not after field %u", desc->name, f->id, desc->fields[i - 1].id);
        for (unsigned j = i + 1; j < desc->n_fields; j++)
            assert_string_not_equal(f->name, desc->fields[j].name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            s_walk(w, f->descriptor);
        if (f->type == PROTOBUF_C_TYPE_ENUM) {
            bool known = false;
            for (unsigned k = 0; k < w->n_enums; k++)
                known = known || w->enums[k] == f->descriptor;
            if (!known) {
                assert_true(w->n_enums < WALK_MAX);
                w->enums[w->n_enums++] = f->descriptor;
            }
        }
    }
}

static void s_walk_all(walk_t *w)
{
    memset(w, 0, sizeof *w);
    s_walk(w, &oms__v1__command__descriptor);
    s_walk(w, &oms__v1__event_envelope__descriptor);
    s_walk(w, &oms__v1__event_envelope_raw__descriptor);
    s_walk(w, &oms__v1__command_reply__descriptor);
    s_walk(w, &oms__v1__query_request__descriptor);
    s_walk(w, &oms__v1__query_reply__descriptor);
    s_walk(w, &oms__v1__query_reply_catch_up_raw__descriptor);
}

static void test_proto_field_numbers_unique(void **state)
{
    (void)state;
    walk_t w;
    s_walk_all(&w);
    assert_true(w.n_seen > 60); /* the walk did reach the whole schema */
}

/* Checks the oneof of desc: count, unique numbers, each in one of the [lo, hi] ranges, and the
 * case name is the snake_case of its message's name. Returns nothing; fails on a mismatch. */
static void s_check_family_oneof(const ProtobufCMessageDescriptor *desc, unsigned expected,
                                 const unsigned (*ranges)[2], size_t n_ranges)
{
    unsigned count = 0;
    uint32_t ids[WALK_MAX];
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!s_is_oneof(f))
            continue;
        assert_true(count < WALK_MAX);
        for (unsigned k = 0; k < count; k++)
            assert_int_not_equal(ids[k], f->id);
        ids[count++] = f->id;
        bool in_range = false;
        for (size_t r = 0; r < n_ranges; r++)
            in_range = in_range || (f->id >= ranges[r][0] && f->id <= ranges[r][1]);
        if (!in_range)
            fail_msg("%s.%s = %u is outside every family range", desc->name, f->name, f->id);
        char snake[128];
        s_snake(((const ProtobufCMessageDescriptor *)f->descriptor)->short_name, snake,
                sizeof snake, false);
        assert_string_equal(f->name, snake);
    }
    assert_int_equal(count, expected);
}

static void test_proto_oneof_numbers_unique_and_in_ranges(void **state)
{
    (void)state;
    static const unsigned cmd_ranges[][2] = {
        {10, 99}, {100, 199}, {200, 299}, {300, 399}, {500, 599}};
    static const unsigned ev_ranges[][2] = {{1, 99},    {100, 199}, {200, 299},
                                            {300, 399}, {400, 499}, {500, 599}};
    s_check_family_oneof(&oms__v1__command__descriptor, COMMAND_BODY_CASES, cmd_ranges,
                         sizeof cmd_ranges / sizeof cmd_ranges[0]);
    s_check_family_oneof(&oms__v1__event__descriptor, EVENT_BODY_CASES, ev_ranges,
                         sizeof ev_ranges / sizeof ev_ranges[0]);
    /* The Command header keeps 4..9 free for future header fields. */
    for (unsigned id = 4; id <= 9; id++)
        assert_null(protobuf_c_message_descriptor_get_field(&oms__v1__command__descriptor, id));
    /* Event is nothing but its oneof. */
    assert_int_equal(oms__v1__event__descriptor.n_fields, EVENT_BODY_CASES);
}

static void test_proto_enums_start_unspecified(void **state)
{
    (void)state;
    walk_t w;
    s_walk_all(&w);
    assert_true(w.n_enums >= 12);
    for (unsigned i = 0; i < w.n_enums; i++) {
        const ProtobufCEnumDescriptor *e = w.enums[i];
        char prefix[128];
        s_snake(e->short_name, prefix, sizeof prefix - 1, true);
        strcat(prefix, "_");
        const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(e, 0);
        if (zero == NULL)
            fail_msg("%s has no value 0", e->name);
        char want[160];
        snprintf(want, sizeof want, "%sUNSPECIFIED", prefix);
        assert_string_equal(zero->name, want);
        for (unsigned v = 0; v < e->n_values; v++) {
            if (strncmp(e->values[v].name, prefix, strlen(prefix)) != 0)
                fail_msg("%s: value %s lacks prefix %s", e->name, e->values[v].name, prefix);
            for (unsigned u = v + 1; u < e->n_values; u++)
                assert_int_not_equal(e->values[v].value, e->values[u].value);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_command_body_cases_roundtrip),
        cmocka_unit_test(test_proto_event_body_cases_roundtrip),
        cmocka_unit_test(test_proto_query_cases_roundtrip),
        cmocka_unit_test(test_proto_command_fields_roundtrip),
        cmocka_unit_test(test_proto_envelope_raw_decodes_as_envelope),
        cmocka_unit_test(test_proto_catch_up_raw_decodes_as_query_reply),
        cmocka_unit_test(test_proto_raw_twins_have_same_fields),
        cmocka_unit_test(test_proto_envelope_hash_serializes_last),
        cmocka_unit_test(test_proto_garbage_fails_to_unpack),
        cmocka_unit_test(test_proto_mutated_bytes_never_crash),
        cmocka_unit_test(test_proto_decimal_full_range_roundtrip),
        cmocka_unit_test(test_proto_field_numbers_unique),
        cmocka_unit_test(test_proto_oneof_numbers_unique_and_in_ranges),
        cmocka_unit_test(test_proto_enums_start_unspecified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
