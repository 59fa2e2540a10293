/*
 * test_codec_json.c - proves codec_json (codec/json.c), the generic oms.v1 -> JSON printer:
 *
 *   envelope_exact     an EventEnvelope with an OrderFilled prints exactly the expected line:
 *                      64-bit integers as strings, hashes as hex, the oneof member by name,
 *                      enums by name, decimals as exact strings (0.00000001, -12.5, the
 *                      extremes), defaults omitted, booleans as literals
 *   decimal128         exact 16-place values, negative across the two halves
 *   escaping           quotes, backslashes, control characters in strings
 *   repeated_and_nested a CommandRejected carrying its refused NewOrder with allocation
 *                      instructions: repeated messages and nesting
 *   every_message      every message of the schema can be named and prints "{}" when empty
 *   errors             unknown name -> INVALID; garbage -> DECODE; a small buffer -> LIMIT with
 *                      "" left; CODEC_JSON_CAP(len) suffices for a worst case of many enum and
 *                      empty-message fields
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "oms_proto.h"

#include <stdlib.h>
#include <string.h>

static char s_out[1 << 16];

static size_t s_pack(const ProtobufCMessage *m, uint8_t *buf, size_t cap)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    assert_true(n <= cap);
    return protobuf_c_message_pack(m, buf);
}

static void test_codec_json_envelope_exact(void **state)
{
    (void)state;
    Oms__V1__Decimal q = OMS__V1__DECIMAL__INIT, px = OMS__V1__DECIMAL__INIT,
                     cum = OMS__V1__DECIMAL__INIT, lv = OMS__V1__DECIMAL__INIT,
                     avg = OMS__V1__DECIMAL__INIT;
    q.e8 = 1;            /* 0.00000001 */
    px.e8 = -1250000000; /* -12.5 */
    cum.e8 = INT64_MAX;  /* 92233720368.54775807 */
    lv.e8 = 0;           /* present zero: "0" */
    avg.e8 = -INT64_MAX; /* -92233720368.54775807 */
    Oms__V1__OrderFilled f = OMS__V1__ORDER_FILLED__INIT;
    f.order_id = "O1";
    f.venue = "XNYS";
    f.exec_id = "E1";
    f.status = OMS__V1__ORD_STATUS__ORD_STATUS_PARTIALLY_FILLED;
    f.last_qty = &q;
    f.last_px = &px;
    f.cum_qty = &cum;
    f.leaves_qty = &lv;
    f.avg_px = &avg;
    f.late = 1;
    f.side = OMS__V1__SIDE__SIDE_BUY;
    Oms__V1__Event ev = OMS__V1__EVENT__INIT;
    ev.body_case = OMS__V1__EVENT__BODY_ORDER_FILLED;
    ev.order_filled = &f;
    uint8_t prev[32], hash[32];
    memset(prev, 0, sizeof prev);
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(i * 8 + 1);
    Oms__V1__EventEnvelope env = OMS__V1__EVENT_ENVELOPE__INIT;
    env.seq = UINT64_MAX;
    env.ts_ns = INT64_MIN;
    env.principal = "venue";
    env.command_id = "c-1";
    env.prev_hash = (ProtobufCBinaryData){sizeof prev, prev};
    env.event = &ev;
    env.hash = (ProtobufCBinaryData){sizeof hash, hash};
    uint8_t buf[1024];
    size_t len = s_pack(&env.base, buf, sizeof buf);
    size_t outlen = 0;
    assert_int_equal(codec_json("oms.v1.EventEnvelope", buf, len, s_out, sizeof s_out, &outlen), 0);
    const char *want =
        "{\"seq\":\"18446744073709551615\",\"ts_ns\":\"-9223372036854775808\","
        "\"principal\":\"venue\",\"command_id\":\"c-1\","
        "\"event\":{\"order_filled\":{\"order_id\":\"O1\",\"venue\":\"XNYS\",\"exec_id\":\"E1\","
        "\"status\":\"ORD_STATUS_PARTIALLY_FILLED\",\"last_qty\":\"0.00000001\","
        "\"last_px\":\"-12.5\",\"cum_qty\":\"92233720368.54775807\",\"leaves_qty\":\"0\","
        "\"avg_px\":\"-92233720368.54775807\",\"late\":true,\"side\":\"SIDE_BUY\"}},"
        "\"prev_hash\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"hash\":\"0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1f9\"}";
    assert_string_equal(s_out, want);
    assert_int_equal(outlen, strlen(want));
}

static void test_codec_json_decimal128(void **state)
{
    (void)state;
    /* Position.cost_basis style value: -1.5 exactly at 16 places = -15000000000000000. */
    Oms__V1__Decimal128 d = OMS__V1__DECIMAL128__INIT;
    __int128 v = -(__int128)15000000000000000;
    d.e16_hi = (int64_t)(v >> 64);
    d.e16_lo = (uint64_t)v;
    uint8_t buf[64];
    size_t len = s_pack(&d.base, buf, sizeof buf);
    /* A bare Decimal128 prints as its fields; inside a message it prints as a string. */
    assert_int_equal(codec_json("oms.v1.Decimal128", buf, len, s_out, sizeof s_out, NULL), 0);
    assert_non_null(strstr(s_out, "\"e16_lo\""));
    Oms__V1__Order o = OMS__V1__ORDER__INIT;
    o.order_id = "O";
    o.px_qty_sum = &d;
    uint8_t ob[256];
    len = s_pack(&o.base, ob, sizeof ob);
    assert_int_equal(codec_json("oms.v1.Order", ob, len, s_out, sizeof s_out, NULL), 0);
    assert_non_null(strstr(s_out, "\"px_qty_sum\":\"-1.5\""));
    /* A value above 2^64 at 16 places: 12345678901234567890.0000000000000001 would overflow
     * int64 e8 but fits e16: (12345678901234567890 * 10^16 + 1). */
    unsigned __int128 big = (unsigned __int128)12345678901234567890ull * 10000000000000000ull + 1;
    d.e16_hi = (int64_t)(uint64_t)(big >> 64);
    d.e16_lo = (uint64_t)big;
    len = s_pack(&o.base, ob, sizeof ob);
    assert_int_equal(codec_json("oms.v1.Order", ob, len, s_out, sizeof s_out, NULL), 0);
    assert_non_null(strstr(s_out, "\"px_qty_sum\":\"12345678901234567890.0000000000000001\""));
}

static void test_codec_json_escaping(void **state)
{
    (void)state;
    Oms__V1__CommandReply r = OMS__V1__COMMAND_REPLY__INIT;
    r.command_id = "id";
    r.text = "a \"quoted\" back\\slash\nnew\tline\x01 end";
    uint8_t buf[256];
    size_t len = s_pack(&r.base, buf, sizeof buf);
    assert_int_equal(codec_json("oms.v1.CommandReply", buf, len, s_out, sizeof s_out, NULL), 0);
    assert_non_null(strstr(s_out, "\"a \\\"quoted\\\" back\\\\slash\\nnew\\tline\\u0001 end\""));
}

static void test_codec_json_repeated_and_nested(void **state)
{
    (void)state;
    Oms__V1__Decimal w1 = OMS__V1__DECIMAL__INIT, w2 = OMS__V1__DECIMAL__INIT,
                     qty = OMS__V1__DECIMAL__INIT;
    w1.e8 = 100000000;
    w2.e8 = 200000000;
    qty.e8 = 100000000000;
    Oms__V1__AllocInstruction a1 = OMS__V1__ALLOC_INSTRUCTION__INIT,
                              a2 = OMS__V1__ALLOC_INSTRUCTION__INIT;
    a1.account_id = "ACC1";
    a1.share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT;
    a1.weight = &w1;
    a2.account_id = "ACC2";
    a2.share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT;
    a2.weight = &w2;
    Oms__V1__AllocInstruction *ins[2] = {&a1, &a2};
    Oms__V1__NewOrder no = OMS__V1__NEW_ORDER__INIT;
    no.order_id = "B1";
    no.quantity = &qty;
    no.n_allocations = 2;
    no.allocations = ins;
    Oms__V1__Command cmd = OMS__V1__COMMAND__INIT;
    cmd.command_id = "c9";
    cmd.principal = "pm";
    cmd.body_case = OMS__V1__COMMAND__BODY_NEW_ORDER;
    cmd.new_order = &no;
    Oms__V1__CommandRejected rj = OMS__V1__COMMAND_REJECTED__INIT;
    rj.rule_id = "PTC-006";
    rj.reason = OMS__V1__REJECT_REASON__REJECT_REASON_MAX_QTY;
    rj.command = &cmd;
    Oms__V1__Event ev = OMS__V1__EVENT__INIT;
    ev.body_case = OMS__V1__EVENT__BODY_COMMAND_REJECTED;
    ev.command_rejected = &rj;
    uint8_t buf[1024];
    size_t len = s_pack(&ev.base, buf, sizeof buf);
    assert_int_equal(codec_json("oms.v1.Event", buf, len, s_out, sizeof s_out, NULL), 0);
    assert_non_null(strstr(s_out, "{\"command_rejected\":{\"rule_id\":\"PTC-006\","
                                  "\"reason\":\"REJECT_REASON_MAX_QTY\""));
    assert_non_null(strstr(s_out, "\"allocations\":[{\"account_id\":\"ACC1\",\"weight\":\"1\"},"
                                  "{\"account_id\":\"ACC2\",\"weight\":\"2\"}]"));
    assert_non_null(strstr(s_out, "\"quantity\":\"1000\""));
    assert_non_null(strstr(s_out, "\"new_order\":{\"order_id\":\"B1\""));
}

static void test_codec_json_every_message(void **state)
{
    (void)state;
    static const char *const names[] = {
        "oms.v1.EventEnvelope",  "oms.v1.Event",
        "oms.v1.Command",        "oms.v1.CommandReply",
        "oms.v1.QueryRequest",   "oms.v1.QueryReply",
        "oms.v1.Order",          "oms.v1.Execution",
        "oms.v1.Position",       "oms.v1.Allocation",
        "oms.v1.Instrument",     "oms.v1.Account",
        "oms.v1.Principal",      "oms.v1.Limits",
        "oms.v1.Restriction",    "oms.v1.Decimal",
        "oms.v1.AllocationPart", "oms.v1.Stats",
        "oms.v1.OrderFilled",    "oms.v1.EndOfDayProcessed",
        "oms.v1.TradeCorrect",   "oms.v1.CatchUpReply",
        "oms.v1.RefDataList",    "oms.v1.SubscriberLag",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = 99;
        assert_int_equal(codec_json(names[i], (const uint8_t *)"", 0, s_out, sizeof s_out, &n), 0);
        assert_string_equal(s_out, "{}");
        assert_int_equal(n, 2);
    }
}

static void test_codec_json_errors(void **state)
{
    (void)state;
    size_t n = 7;
    assert_int_equal(codec_json("oms.v1.Nope", (const uint8_t *)"", 0, s_out, sizeof s_out, &n),
                     OMS_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(codec_json(NULL, (const uint8_t *)"", 0, s_out, sizeof s_out, NULL),
                     OMS_ERR_INVALID);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
    assert_int_equal(codec_json("oms.v1.Event", junk, sizeof junk, s_out, sizeof s_out, NULL),
                     OMS_ERR_DECODE);
    /* Too small a buffer: LIMIT and an empty string, at every size below the need. */
    Oms__V1__CommandReply r = OMS__V1__COMMAND_REPLY__INIT;
    r.command_id = "abcdef";
    uint8_t buf[64];
    size_t len = s_pack(&r.base, buf, sizeof buf);
    assert_int_equal(codec_json("oms.v1.CommandReply", buf, len, s_out, sizeof s_out, &n), 0);
    size_t need = n + 1;
    for (size_t cap = 1; cap < need; cap++) {
        char small[64];
        memset(small, 'x', sizeof small);
        assert_int_equal(codec_json("oms.v1.CommandReply", buf, len, small, cap, NULL),
                         OMS_ERR_LIMIT);
        assert_string_equal(small, "");
    }
    assert_int_equal(codec_json("oms.v1.CommandReply", buf, len, s_out, need, NULL), 0);

    /* Worst case for the bound: many two-byte enum fields with long value names, and many
     * empty repeated messages. A Stats with 300 RejectCount entries of the longest reason. */
    enum { N = 300 };
    Oms__V1__RejectCount rc[N];
    Oms__V1__RejectCount *rcp[N];
    for (int i = 0; i < N; i++) {
        oms__v1__reject_count__init(&rc[i]);
        rc[i].reason = OMS__V1__REJECT_REASON__REJECT_REASON_IDEMPOTENCY_CONFLICT;
        rcp[i] = &rc[i];
    }
    Oms__V1__Stats st = OMS__V1__STATS__INIT;
    st.n_rejects_by_reason = N;
    st.rejects_by_reason = rcp;
    uint8_t sb[8192];
    len = s_pack(&st.base, sb, sizeof sb);
    size_t cap = CODEC_JSON_CAP(len);
    char *big = malloc(cap);
    assert_non_null(big);
    assert_int_equal(codec_json("oms.v1.Stats", sb, len, big, cap, &n), 0);
    assert_true(n < cap);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_json_envelope_exact),
        cmocka_unit_test(test_codec_json_decimal128),
        cmocka_unit_test(test_codec_json_escaping),
        cmocka_unit_test(test_codec_json_repeated_and_nested),
        cmocka_unit_test(test_codec_json_every_message),
        cmocka_unit_test(test_codec_json_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
