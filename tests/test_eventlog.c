/*
 * test_eventlog.c - proves the event log's contracts: gap-free seqs from 1 and a hash chain
 * that survive reopening; envelopes that are exactly protobuf-c's encoding; batches with extra
 * rows that are all-or-nothing; limits that refuse bad input and change nothing; verify that
 * finds a flipped byte, a deleted event, two swapped events and a truncated tail with the right
 * first bad seq; refusal of a store with another schema or a wrong head; readers (read-only,
 * secondary, checkpoint) beside a writer; a full disk that fails an append cleanly; and
 * pipelined batches that keep their order and share one WAL sync when queued together, or,
 * with async durability, finish one by one.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eventlog.h"
#include "oms_proto.h"
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID_BUF 32

/* Builds event i of a deterministic stream: body "event-<i>" padded to body_len bytes. */
typedef struct {
    evlog_event_t ev;
    char principal[ID_BUF];
    char command_id[ID_BUF];
    char order_id[ID_BUF];
    uint8_t body[256];
} test_event_t;

static void s_make_event(test_event_t *t, uint64_t i, size_t body_len)
{
    assert_true(body_len <= sizeof t->body);
    memset(t, 0, sizeof *t);
    snprintf(t->principal, sizeof t->principal, "pm-%llu", (unsigned long long)(i % 7));
    snprintf(t->command_id, sizeof t->command_id, "cmd-%llu", (unsigned long long)i);
    if (i % 3)
        snprintf(t->order_id, sizeof t->order_id, "ord-%llu", (unsigned long long)(i / 3));
    for (size_t k = 0; k < body_len; k++)
        t->body[k] = (uint8_t)(i * 31 + k);
    t->ev.ts_ns = 1763733053000000000LL + (int64_t)i;
    t->ev.principal = t->principal;
    t->ev.command_id = t->command_id;
    t->ev.order_id = t->order_id;
    t->ev.body = t->body;
    t->ev.body_len = body_len;
}

/* Appends events first..first+n-1 (stream numbering) in one batch; returns the rc. */
static int s_append_n(evlog_t *log, uint64_t first, size_t n)
{
    test_event_t *t = calloc(n, sizeof *t);
    evlog_event_t *evs = calloc(n, sizeof *evs);
    for (size_t i = 0; i < n; i++) {
        s_make_event(&t[i], first + i, 32 + (first + i) % 150);
        evs[i] = t[i].ev;
    }
    int rc = evlog_append(log, evs, n, NULL, 0, NULL);
    free(t);
    free(evs);
    return rc;
}

static evlog_t *s_open(const char *dir)
{
    evlog_t *log = NULL;
    char err[512];
    int rc = evlog_open(dir, NULL, &log, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "open %s: %s\n", dir, err);
    assert_int_equal(rc, 0);
    return log;
}

static evlog_t *s_open_ro_damaged(const char *dir)
{
    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_READ_ONLY;
    o.allow_damaged = true;
    evlog_t *log = NULL;
    char err[512];
    int rc = evlog_open(dir, &o, &log, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "open ro %s: %s\n", dir, err);
    assert_int_equal(rc, 0);
    return log;
}

/* Builds a store of 100 events in batches of 1..10 under slot 0; returns its path. */
static const char *s_build_store(void)
{
    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    uint64_t next = 1;
    while (next <= 100) {
        size_t n = 1 + next % 10;
        if (next + n - 1 > 100)
            n = 101 - next;
        assert_int_equal(s_append_n(log, next, n), 0);
        next += n;
    }
    evlog_destroy(&log);
    return dir;
}

static void s_key(uint8_t key[8], uint64_t seq)
{
    oms_put_be64(key, seq);
}

/* ------------------------------------------------------------------------------------------ */

static void test_eventlog_append_read_reopen(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    uint64_t head = 99;
    oms_hash_t h;
    evlog_head(log, &head, &h);
    assert_int_equal(head, 0);

    uint64_t first = 0;
    test_event_t t[3];
    evlog_event_t evs[3];
    for (int i = 0; i < 3; i++) {
        s_make_event(&t[i], (uint64_t)i + 1, 40);
        evs[i] = t[i].ev;
    }
    assert_int_equal(evlog_append(log, evs, 3, NULL, 0, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(evlog_append(log, evs, 1, NULL, 0, &first), 0);
    assert_int_equal(first, 4);
    evlog_head(log, &head, &h);
    assert_int_equal(head, 4);

    /* Read back by seq: fields and chain. */
    oms_hash_t prev = {{0}};
    for (uint64_t s = 1; s <= 4; s++) {
        uint8_t *v = NULL;
        size_t len = 0;
        assert_int_equal(evlog_get(log, s, &v, &len), 0);
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        assert_int_equal(rec.seq, s);
        const test_event_t *src = &t[s == 4 ? 0 : s - 1];
        assert_int_equal(rec.ts_ns, src->ev.ts_ns);
        assert_int_equal(rec.principal_len, strlen(src->principal));
        assert_memory_equal(rec.principal, src->principal, rec.principal_len);
        assert_memory_equal(rec.command_id, src->command_id, rec.command_id_len);
        assert_int_equal(rec.order_id_len, strlen(src->order_id));
        assert_int_equal(rec.body_len, 40);
        assert_memory_equal(rec.body, src->body, 40);
        assert_memory_equal(rec.prev_hash, prev.bytes, OMS_HASH_LEN);
        oms_hash_t got, got2;
        assert_int_equal(evlog_record_check(v, len, s, &prev, &got, NULL, 0), 0);
        /* The parsing form checks the same and hands back the same record. */
        evlog_record_t rec2;
        assert_int_equal(evlog_record_check_parse(v, len, s, &prev, &got2, &rec2, NULL, 0), 0);
        assert_true(oms_hash_equal(&got, &got2));
        assert_memory_equal(&rec2, &rec, sizeof rec);
        assert_int_equal(evlog_record_check_parse(v, len, s + 1, &prev, NULL, &rec2, NULL, 0),
                         OMS_ERR_CORRUPT);
        prev = got;
        evlog_free(v);
    }
    assert_true(oms_hash_equal(&prev, &h));
    uint8_t *v = NULL;
    size_t len = 0;
    assert_int_equal(evlog_get(log, 5, &v, &len), OMS_ERR_NOT_FOUND);
    evlog_destroy(&log);
    assert_null(log);

    /* Reopen: same head, appends continue the chain. */
    log = s_open(dir);
    oms_hash_t h2;
    evlog_head(log, &head, &h2);
    assert_int_equal(head, 4);
    assert_true(oms_hash_equal(&h, &h2));
    assert_int_equal(s_append_n(log, 5, 20), 0);
    evlog_head(log, &head, NULL);
    assert_int_equal(head, 24);

    /* Iterate from the middle. */
    evlog_iter_t *it = NULL;
    assert_int_equal(evlog_iter_new(log, 10, &it), 0);
    uint64_t seq, expect = 10;
    const uint8_t *val;
    int r;
    while ((r = evlog_iter_next(it, &seq, &val, &len)) == 1) {
        assert_int_equal(seq, expect);
        expect++;
    }
    assert_int_equal(r, 0);
    assert_int_equal(expect, 25);
    evlog_iter_destroy(&it);
    assert_null(it);

    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, 24);
    assert_int_equal(rep.head_seq, 24);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* The hand-written envelope encoder produces protobuf-c's exact bytes, and protobuf-c reads
 * them back as an EventEnvelope with the event as a message. */
static void test_eventlog_envelope_is_protobuf(void **state)
{
    (void)state;
    /* A real event body, packed by protobuf-c. */
    Oms__V1__InstrumentDefined def = OMS__V1__INSTRUMENT_DEFINED__INIT;
    def.instrument_id = "XYZ";
    def.symbol = "XYZ";
    def.currency = "USD";
    def.active = true;
    Oms__V1__Event event = OMS__V1__EVENT__INIT;
    event.body_case = OMS__V1__EVENT__BODY_INSTRUMENT_DEFINED;
    event.instrument_defined = &def;
    uint8_t body[128];
    assert_true(oms__v1__event__get_packed_size(&event) <= sizeof body);
    size_t body_len = oms__v1__event__pack(&event, body);

    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    evlog_event_t ev = {.ts_ns = -5,
                        .principal = "pm-1",
                        .command_id = "c-1",
                        .order_id = "",
                        .body = body,
                        .body_len = body_len};
    /* Append twice so the second has a non-zero prev hash; and a third with a big seq-like ts. */
    assert_int_equal(evlog_append(log, &ev, 1, NULL, 0, NULL), 0);
    ev.ts_ns = 1763733053123456789LL;
    ev.order_id = "ORD-77";
    assert_int_equal(evlog_append(log, &ev, 1, NULL, 0, NULL), 0);

    for (uint64_t s = 1; s <= 2; s++) {
        uint8_t *v = NULL;
        size_t len = 0;
        assert_int_equal(evlog_get(log, s, &v, &len), 0);
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);

        /* protobuf-c packs the same envelope to the same bytes. */
        Oms__V1__EventEnvelopeRaw raw = OMS__V1__EVENT_ENVELOPE_RAW__INIT;
        char principal[16], cmd[16], oid[16];
        snprintf(principal, sizeof principal, "%.*s", (int)rec.principal_len, rec.principal);
        snprintf(cmd, sizeof cmd, "%.*s", (int)rec.command_id_len, rec.command_id);
        snprintf(oid, sizeof oid, "%.*s", (int)rec.order_id_len, rec.order_id);
        raw.seq = rec.seq;
        raw.ts_ns = rec.ts_ns;
        raw.principal = principal;
        raw.command_id = cmd;
        raw.order_id = oid;
        raw.prev_hash.data = (uint8_t *)rec.prev_hash;
        raw.prev_hash.len = OMS_HASH_LEN;
        raw.event.data = (uint8_t *)rec.body;
        raw.event.len = rec.body_len;
        raw.hash.data = (uint8_t *)rec.hash;
        raw.hash.len = OMS_HASH_LEN;
        size_t plen = oms__v1__event_envelope_raw__get_packed_size(&raw);
        uint8_t *packed = malloc(plen);
        assert_int_equal(oms__v1__event_envelope_raw__pack(&raw, packed), plen);
        assert_int_equal(plen, len);
        assert_memory_equal(packed, v, len);
        free(packed);

        /* And unpacks it as the public EventEnvelope. */
        Oms__V1__EventEnvelope *env = oms__v1__event_envelope__unpack(NULL, len, v);
        assert_non_null(env);
        assert_int_equal(env->seq, s);
        assert_string_equal(env->principal, "pm-1");
        assert_non_null(env->event);
        assert_int_equal(env->event->body_case, OMS__V1__EVENT__BODY_INSTRUMENT_DEFINED);
        assert_string_equal(env->event->instrument_defined->instrument_id, "XYZ");
        assert_int_equal(env->hash.len, OMS_HASH_LEN);
        oms__v1__event_envelope__free_unpacked(env, NULL);
        evlog_free(v);
    }
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* The writer hashes the heads of several envelopes at once and closes each with the chain
 * (s_stage): whatever the batch size (across chunks of EVLOG_HASH_CHUNK) and the body length
 * (across 128-byte block edges), every stored envelope ends with prev_hash (field 14) then its
 * hash, the hash is BLAKE2b-256 of the bytes before the hash field, prev_hash is the previous
 * envelope's hash, and pipelined submits give the same bytes as appends. */
static void test_eventlog_batched_hashing_matches_definition(void **state)
{
    (void)state;
    static uint8_t body[800];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 13 + 5);
    char dir_a[512], dir_b[512]; /* tu_mkdtemp's result is overwritten by the next call */
    snprintf(dir_a, sizeof dir_a, "%s", tu_mkdtemp(0, "evlog"));
    snprintf(dir_b, sizeof dir_b, "%s", tu_mkdtemp(0, "evlog"));
    evlog_t *a = s_open(dir_a), *b = s_open(dir_b);
    evlog_event_t evs[21];
    uint64_t total = 0, rs = 3;
    for (size_t n = 1; n <= 21; n++) {
        for (size_t i = 0; i < n; i++) {
            size_t bl = (size_t)(tu_rand(&rs) % 700);
            if (i == 0)
                bl = n * 29 % 400; /* covers lengths near each block edge over the batches */
            evs[i] = (evlog_event_t){.ts_ns = (int64_t)(1000 + total + i),
                                     .principal = "pm-1",
                                     .command_id = n % 2 ? "c-odd" : "",
                                     .order_id = i % 3 ? "ORD-1" : "",
                                     .body = body,
                                     .body_len = bl};
        }
        assert_int_equal(evlog_append(a, evs, n, NULL, 0, NULL), 0);
        uint64_t ticket;
        assert_int_equal(evlog_submit(b, evs, n, NULL, 0, &ticket, NULL), 0);
        assert_int_equal(evlog_wait(b, ticket), 0);
        total += n;
    }
    oms_hash_t prev;
    memset(&prev, 0, sizeof prev);
    for (uint64_t s = 1; s <= total; s++) {
        uint8_t *v, *w;
        size_t len, wlen;
        assert_int_equal(evlog_get(a, s, &v, &len), 0);
        assert_int_equal(evlog_get(b, s, &w, &wlen), 0);
        assert_int_equal(len, wlen);
        assert_memory_equal(v, w, len);
        assert_true(len > 2 * EVLOG_HASH_FIELD_LEN);
        const uint8_t *pf = v + len - 2 * EVLOG_HASH_FIELD_LEN;
        assert_int_equal(pf[0], 0x72); /* field 14, length-delimited */
        assert_int_equal(pf[1], OMS_HASH_LEN);
        assert_memory_equal(pf + 2, prev.bytes, OMS_HASH_LEN);
        oms_hash_t h;
        oms_hash(v, len - EVLOG_HASH_FIELD_LEN, &h);
        assert_memory_equal(v + len - OMS_HASH_LEN, h.bytes, OMS_HASH_LEN);
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        assert_int_equal(rec.seq, s);
        assert_ptr_equal(rec.prev_hash, pf + 2);
        prev = h;
        evlog_free(v);
        evlog_free(w);
    }
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(a, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    evlog_destroy(&a);
    evlog_destroy(&b);
    tu_rmrf(dir_a);
    tu_rmrf(dir_b);
}

static void test_eventlog_record_parse_rejects_garbage(void **state)
{
    (void)state;
    evlog_record_t rec;
    uint8_t junk[64];
    uint64_t rs = 42;
    for (int round = 0; round < 2000; round++) {
        size_t n = tu_rand(&rs) % sizeof junk;
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)tu_rand(&rs);
        /* Must not crash; random bytes essentially never form a valid envelope. */
        (void)evlog_record_parse(junk, n, &rec);
        assert_int_equal(evlog_record_check(junk, n, 1, NULL, NULL, NULL, 0), OMS_ERR_CORRUPT);
    }
    assert_int_equal(evlog_record_parse(NULL, 0, &rec), OMS_ERR_CORRUPT);

    /* A valid envelope with a byte appended after the hash is refused. */
    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    assert_int_equal(s_append_n(log, 1, 1), 0);
    uint8_t *v;
    size_t len;
    assert_int_equal(evlog_get(log, 1, &v, &len), 0);
    uint8_t *longer = malloc(len + 2);
    memcpy(longer, v, len);
    longer[len] = 0x08; /* field 1 again */
    longer[len + 1] = 0x01;
    assert_int_equal(evlog_record_parse(longer, len + 2, &rec), OMS_ERR_CORRUPT);
    /* Every truncation of a valid envelope is refused. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(evlog_record_check(v, cut, 1, NULL, NULL, NULL, 0), OMS_ERR_CORRUPT);
    assert_int_equal(evlog_record_check(v, len, 1, NULL, NULL, NULL, 0), 0);
    assert_int_equal(evlog_record_check(v, len, 2, NULL, NULL, NULL, 0), OMS_ERR_CORRUPT);
    /* Field 6 (prev_hash until schema version 2, reserved since) is refused, even with 32
     * bytes: an envelope of the old layout is never read as a new one. */
    uint8_t *old = malloc(len + 34);
    memcpy(old, v, 2);
    old[2] = 0x32;
    old[3] = 0x20;
    memset(old + 4, 0, 32);
    memcpy(old + 36, v + 2, len - 2);
    assert_int_equal(v[0], 0x08); /* seq 1 takes two bytes: the field was put after it */
    assert_int_equal(evlog_record_parse(old, len + 34, &rec), OMS_ERR_CORRUPT);
    free(old);
    free(longer);
    evlog_free(v);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

static int s_count_rows(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k;
    (void)kl;
    (void)v;
    (void)vl;
    (*(int *)ctx)++;
    return 0;
}

static void test_eventlog_batch_with_rows_is_atomic(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    test_event_t t[2];
    evlog_event_t evs[2];
    for (int i = 0; i < 2; i++) {
        s_make_event(&t[i], (uint64_t)i + 1, 50);
        evs[i] = t[i].ev;
    }
    evlog_row_t rows[3] = {
        {EVLOG_CF_ORDERS, (const uint8_t *)"ord-1", 5, (const uint8_t *)"row-v1", 6},
        {EVLOG_CF_IDEMPOTENCY, (const uint8_t *)"pm-1/cmd-1", 10, (const uint8_t *)"digest", 6},
        {EVLOG_CF_META, (const uint8_t *)"proj.digest", 11, (const uint8_t *)"d1", 2},
    };
    assert_int_equal(evlog_append(log, evs, 2, rows, 3, NULL), 0);
    uint8_t *v;
    size_t len;
    assert_int_equal(evlog_row_get(log, EVLOG_CF_ORDERS, (const uint8_t *)"ord-1", 5, &v, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(v, "row-v1", 6);
    evlog_free(v);

    /* A batch whose last row is invalid writes neither its events nor its good rows. */
    evlog_row_t bad[2] = {
        {EVLOG_CF_ORDERS, (const uint8_t *)"ord-2", 5, (const uint8_t *)"row-v2", 6},
        {EVLOG_CF_EVENTS, (const uint8_t *)"xxxxxxxx", 8, (const uint8_t *)"forged", 6},
    };
    assert_int_equal(evlog_append(log, evs, 2, bad, 2, NULL), OMS_ERR_INVALID);
    bad[1].cf = EVLOG_CF_META;
    bad[1].key = (const uint8_t *)"evlog.head";
    bad[1].key_len = 10;
    assert_int_equal(evlog_append(log, evs, 2, bad, 2, NULL), OMS_ERR_INVALID);
    uint8_t bigkey[OMS_LIMIT_ROW_KEY_BYTES + 1];
    memset(bigkey, 'k', sizeof bigkey);
    bad[1].cf = EVLOG_CF_ORDERS;
    bad[1].key = bigkey;
    bad[1].key_len = sizeof bigkey;
    assert_int_equal(evlog_append(log, evs, 2, bad, 2, NULL), OMS_ERR_LIMIT);
    bad[1].key_len = 0;
    assert_int_equal(evlog_append(log, evs, 2, bad, 2, NULL), OMS_ERR_INVALID);
    assert_int_equal(evlog_row_get(log, EVLOG_CF_ORDERS, (const uint8_t *)"ord-2", 5, &v, &len),
                     OMS_ERR_NOT_FOUND);
    uint64_t head;
    evlog_head(log, &head, NULL);
    assert_int_equal(head, 2);

    /* Deleting a row in a batch; rows-only batch keeps the head. */
    evlog_row_t del = {EVLOG_CF_ORDERS, (const uint8_t *)"ord-1", 5, NULL, 0};
    assert_int_equal(evlog_append(log, evs, 1, &del, 1, NULL), 0);
    assert_int_equal(evlog_row_get(log, EVLOG_CF_ORDERS, (const uint8_t *)"ord-1", 5, &v, &len),
                     OMS_ERR_NOT_FOUND);
    evlog_row_t put = {EVLOG_CF_POSITIONS, (const uint8_t *)"a/b", 3, (const uint8_t *)"p", 1};
    assert_int_equal(evlog_append(log, NULL, 0, &put, 1, NULL), 0);
    evlog_head(log, &head, NULL);
    assert_int_equal(head, 3);
    int n = 0;
    assert_int_equal(evlog_scan(log, EVLOG_CF_POSITIONS, NULL, 0, s_count_rows, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(
        evlog_scan(log, EVLOG_CF_IDEMPOTENCY, (const uint8_t *)"pm-1/", 5, s_count_rows, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(
        evlog_scan(log, EVLOG_CF_IDEMPOTENCY, (const uint8_t *)"pm-2/", 5, s_count_rows, &n), 0);
    assert_int_equal(n, 0);
    /* Ranges [lo, hi): the halves of a family add up to the whole, hi excluded. */
    evlog_row_t more[3] = {
        {EVLOG_CF_POSITIONS, (const uint8_t *)"a", 1, (const uint8_t *)"p", 1},
        {EVLOG_CF_POSITIONS, (const uint8_t *)"b", 1, (const uint8_t *)"p", 1},
        {EVLOG_CF_POSITIONS, (const uint8_t *)"c/d", 3, (const uint8_t *)"p", 1}};
    assert_int_equal(evlog_append(log, NULL, 0, more, 3, NULL), 0);
    int lo_n = 0, hi_n = 0, all_n = 0;
    assert_int_equal(evlog_scan_range(log, EVLOG_CF_POSITIONS, NULL, 0, (const uint8_t *)"b", 1,
                                      s_count_rows, &lo_n),
                     0);
    assert_int_equal(evlog_scan_range(log, EVLOG_CF_POSITIONS, (const uint8_t *)"b", 1, NULL, 0,
                                      s_count_rows, &hi_n),
                     0);
    assert_int_equal(
        evlog_scan_range(log, EVLOG_CF_POSITIONS, NULL, 0, NULL, 0, s_count_rows, &all_n), 0);
    assert_int_equal(lo_n, 2); /* "a", "a/b" */
    assert_int_equal(hi_n, 2); /* "b", "c/d" */
    assert_int_equal(all_n, 4);
    del = (evlog_row_t){EVLOG_CF_POSITIONS, (const uint8_t *)"a", 1, NULL, 0};
    evlog_row_t dels[3] = {del, del, del};
    dels[1].key = (const uint8_t *)"b";
    dels[2].key = (const uint8_t *)"c/d";
    dels[2].key_len = 3;
    assert_int_equal(evlog_append(log, NULL, 0, dels, 3, NULL), 0);
    evlog_destroy(&log);

    /* After reopen: the same. */
    log = s_open(dir);
    evlog_head(log, &head, NULL);
    assert_int_equal(head, 3);
    assert_int_equal(
        evlog_row_get(log, EVLOG_CF_META, (const uint8_t *)"proj.digest", 11, &v, &len), 0);
    evlog_free(v);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* A batch's rows go to RocksDB sorted by (family, key) (eventlog.c, s_row_order): writes of
 * one key must keep the order the caller gave them, whatever lies between them, through both
 * the inline and the pipelined write and after a reopen (WAL replay). Keys that are prefixes
 * of one another and keys equal in their first 8 bytes (the sort's fast comparison) included. */
#define ORD_KEYS 40
#define ORD_ROWS 700

static void s_ord_key(int k, uint8_t *key, size_t *len, uint64_t *rnd)
{
    static const char *const fixed[] = {"k", "k\0", "k\0\0", "abcdefgh", "abcdefgh\0",
                                        "abcdefg", "abcdefghi", "w"};
    static const size_t fixed_len[] = {1, 2, 3, 8, 9, 7, 9, 1};
    if (k < 8) {
        memcpy(key, fixed[k], fixed_len[k]);
        *len = fixed_len[k];
        return;
    }
    *len = 2 + tu_rand(rnd) % 19; /* "o", k (unique), then random bytes */
    key[0] = 'o';
    key[1] = (uint8_t)k;
    for (size_t i = 2; i < *len; i++)
        key[i] = (uint8_t)(tu_rand(rnd) % 256);
}

static void test_eventlog_rows_of_one_key_keep_their_order(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    static uint8_t keys[ORD_KEYS][24];
    size_t key_len[ORD_KEYS];
    uint64_t rnd = 0x5eed;
    for (int k = 0; k < ORD_KEYS; k++)
        s_ord_key(k, keys[k], &key_len[k], &rnd);
    static evlog_row_t rows[ORD_ROWS];
    static char vals[ORD_ROWS][16];
    /* expect[f][k]: index of the last row written to key k of family f, -1 none, -2 deleted */
    int expect[2][ORD_KEYS];
    const evlog_cf_t fam[2] = {EVLOG_CF_ORDERS, EVLOG_CF_POSITIONS};
    for (int round = 0; round < 3; round++) {
        for (int f = 0; f < 2; f++)
            for (int k = 0; k < ORD_KEYS; k++)
                expect[f][k] = -1;
        for (int i = 0; i < ORD_ROWS; i++) {
            int f = (int)(tu_rand(&rnd) % 2), k = (int)(tu_rand(&rnd) % ORD_KEYS);
            bool del = tu_rand(&rnd) % 4 == 0;
            snprintf(vals[i], sizeof vals[i], "r%d-%d", round, i);
            rows[i] = (evlog_row_t){fam[f], keys[k], key_len[k],
                                    del ? NULL : (const uint8_t *)vals[i],
                                    del ? 0 : strlen(vals[i])};
            expect[f][k] = del ? -2 : i;
        }
        if (round == 1) { /* the pipelined path */
            uint64_t ticket;
            assert_int_equal(evlog_submit(log, NULL, 0, rows, ORD_ROWS, &ticket, NULL), 0);
            assert_int_equal(evlog_wait(log, ticket), 0);
        } else {
            assert_int_equal(evlog_append(log, NULL, 0, rows, ORD_ROWS, NULL), 0);
        }
        if (round == 2) { /* the WAL replayed into a fresh memtable */
            evlog_destroy(&log);
            log = s_open(dir);
        }
        for (int f = 0; f < 2; f++) {
            for (int k = 0; k < ORD_KEYS; k++) {
                if (expect[f][k] == -1)
                    continue; /* untouched this round: whatever an earlier round left */
                uint8_t *v = NULL;
                size_t len = 0;
                int rc = evlog_row_get(log, fam[f], keys[k], key_len[k], &v, &len);
                if (expect[f][k] == -2) {
                    assert_int_equal(rc, OMS_ERR_NOT_FOUND);
                    continue;
                }
                assert_int_equal(rc, 0);
                const char *want = vals[expect[f][k]];
                assert_int_equal(len, strlen(want));
                assert_memory_equal(v, want, len);
                evlog_free(v);
            }
        }
    }
    evlog_destroy(&log);
    tu_rmrf(dir);
}

static void test_eventlog_limits_refuse_and_change_nothing(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog");
    evlog_t *log = s_open(dir);
    assert_int_equal(evlog_append(log, NULL, 0, NULL, 0, NULL), OMS_ERR_INVALID);

    test_event_t t;
    s_make_event(&t, 1, 10);
    char longid[OMS_LIMIT_ID_LEN + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    evlog_event_t e = t.ev;
    e.principal = longid;
    assert_int_equal(evlog_append(log, &e, 1, NULL, 0, NULL), OMS_ERR_LIMIT);
    longid[OMS_LIMIT_ID_LEN] = '\0'; /* exactly at the limit: accepted */
    assert_int_equal(evlog_append(log, &e, 1, NULL, 0, NULL), 0);

    uint8_t *big = calloc(1, OMS_LIMIT_EVENT_BYTES + 1);
    e = t.ev;
    e.body = big;
    e.body_len = OMS_LIMIT_EVENT_BYTES + 1;
    assert_int_equal(evlog_append(log, &e, 1, NULL, 0, NULL), OMS_ERR_LIMIT);
    e.body_len = OMS_LIMIT_EVENT_BYTES - 512;
    assert_int_equal(evlog_append(log, &e, 1, NULL, 0, NULL), 0);
    free(big);

    evlog_event_t *many = calloc(OMS_LIMIT_BATCH_EVENTS + 1, sizeof *many);
    for (size_t i = 0; i <= OMS_LIMIT_BATCH_EVENTS; i++)
        many[i] = t.ev;
    assert_int_equal(evlog_append(log, many, OMS_LIMIT_BATCH_EVENTS + 1, NULL, 0, NULL),
                     OMS_ERR_LIMIT);
    assert_int_equal(evlog_append(log, many, OMS_LIMIT_BATCH_EVENTS, NULL, 0, NULL), 0);
    free(many);
    uint64_t head;
    evlog_head(log, &head, NULL);
    assert_int_equal(head, 2 + OMS_LIMIT_BATCH_EVENTS);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, head);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* ---- corruption, edited through RocksDB on a copy of a real store -------------------------- */

static void s_expect_bad(const char *dir, uint64_t first_bad)
{
    evlog_t *log = s_open_ro_damaged(dir);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    if (rep.ok || rep.first_bad_seq != first_bad)
        fprintf(stderr, "verify: ok=%d first_bad=%llu reason=%s\n", rep.ok,
                (unsigned long long)rep.first_bad_seq, rep.reason);
    assert_false(rep.ok);
    assert_int_equal(rep.first_bad_seq, first_bad);
    assert_true(strlen(rep.reason) > 0);
    evlog_destroy(&log);
}

static void test_eventlog_verify_intact_store(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    evlog_t *log = s_open_ro_damaged(dir);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, 100);
    assert_int_equal(rep.head_seq, 100);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

static void test_eventlog_verify_catches_flipped_byte(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    uint8_t key[8];
    s_key(key, 37);
    size_t len = 0;
    uint8_t *v = tu_raw_get(dir, "events", key, 8, &len);
    assert_non_null(v);
    /* Flip one bit in each region in turn: body, prev hash, own hash. */
    evlog_record_t rec;
    assert_int_equal(evlog_record_parse(v, len, &rec), 0);
    size_t offsets[3] = {(size_t)(rec.body - v) + 3, (size_t)(rec.prev_hash - v) + 5,
                         (size_t)(rec.hash - v) + 31};
    for (int i = 0; i < 3; i++) {
        v[offsets[i]] ^= 0x04;
        assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
        s_expect_bad(dir, 37);
        v[offsets[i]] ^= 0x04;
    }
    /* Restored: intact again. */
    assert_int_equal(tu_raw_put(dir, "events", key, 8, v, len), 0);
    evlog_t *log = s_open(dir);
    evlog_destroy(&log);
    free(v);
    tu_rmrf(dir);
}

static void test_eventlog_verify_catches_deleted_event(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    uint8_t key[8];
    s_key(key, 37);
    assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    s_expect_bad(dir, 37);
    s_key(key, 1);
    assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    s_expect_bad(dir, 1);
    tu_rmrf(dir);
}

static void test_eventlog_verify_catches_swapped_events(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    uint8_t k1[8], k2[8];
    s_key(k1, 50);
    s_key(k2, 51);
    size_t l1, l2;
    uint8_t *v1 = tu_raw_get(dir, "events", k1, 8, &l1);
    uint8_t *v2 = tu_raw_get(dir, "events", k2, 8, &l2);
    assert_non_null(v1);
    assert_non_null(v2);
    assert_int_equal(tu_raw_put(dir, "events", k1, 8, v2, l2), 0);
    assert_int_equal(tu_raw_put(dir, "events", k2, 8, v1, l1), 0);
    s_expect_bad(dir, 50);
    free(v1);
    free(v2);
    tu_rmrf(dir);
}

static void test_eventlog_verify_catches_truncated_tail(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    for (uint64_t s = 91; s <= 100; s++) {
        uint8_t key[8];
        s_key(key, s);
        assert_int_equal(tu_raw_delete(dir, "events", key, 8), 0);
    }
    s_expect_bad(dir, 91);
    /* The writer refuses a store whose head is past its last event. */
    evlog_t *log = NULL;
    char err[512];
    assert_int_equal(evlog_open(dir, NULL, &log, err, sizeof err), OMS_ERR_HEAD_MISMATCH);
    assert_null(log);
    assert_non_null(strstr(err, "seq 100"));
    tu_rmrf(dir);
}

static void test_eventlog_open_refuses_mismatched_schema(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    const char *copy = tu_mkdtemp(1, "evlog-copy");
    tu_rmrf(copy);
    assert_int_equal(tu_copy_dir(dir, copy), 0);

    uint8_t v2[4] = {0, 0, 0, 99};
    assert_int_equal(tu_raw_put(dir, "meta", "evlog.schema", 12, v2, 4), 0);
    evlog_t *log = NULL;
    char err[512];
    assert_int_equal(evlog_open(dir, NULL, &log, err, sizeof err), OMS_ERR_SCHEMA);
    assert_null(log);
    assert_non_null(strstr(err, "version is 99"));
    /* Nothing changed: the events are all there and the schema row is still 99. */
    size_t len;
    uint8_t *v = tu_raw_get(dir, "meta", "evlog.schema", 12, &len);
    assert_non_null(v);
    assert_memory_equal(v, v2, 4);
    free(v);
    uint8_t key[8];
    s_key(key, 100);
    v = tu_raw_get(dir, "events", key, 8, &len);
    assert_non_null(v);
    free(v);
    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_READ_ONLY;
    assert_int_equal(evlog_open(dir, &o, &log, err, sizeof err), OMS_ERR_SCHEMA);

    /* An unknown column family is another schema too. */
    assert_int_equal(tu_raw_add_cf(copy, "mystery"), 0);
    assert_int_equal(evlog_open(copy, NULL, &log, err, sizeof err), OMS_ERR_SCHEMA);
    assert_non_null(strstr(err, "mystery"));

    /* A directory without a store is not created when create_if_missing is off. */
    const char *empty = tu_mkdtemp(2, "evlog-empty");
    o.mode = EVLOG_MODE_WRITE;
    o.create_if_missing = false;
    assert_int_equal(evlog_open(empty, &o, &log, err, sizeof err), OMS_ERR_NOT_FOUND);
    tu_rmrf(empty);
    tu_rmrf(copy);
    tu_rmrf(dir);
}

static void test_eventlog_readers_beside_writer(void **state)
{
    (void)state;
    const char *dir = s_build_store();
    evlog_t *w = s_open(dir);

    /* A second writer is refused with a clear message. */
    evlog_t *w2 = NULL;
    char err[512];
    assert_int_equal(evlog_open(dir, NULL, &w2, err, sizeof err), OMS_ERR_BUSY);
    assert_non_null(strstr(err, "in use"));

    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_READ_ONLY;
    evlog_t *ro = NULL;
    assert_int_equal(evlog_open(dir, &o, &ro, err, sizeof err), 0);
    const char *sec_dir = tu_mkdtemp(1, "evlog-sec");
    o.mode = EVLOG_MODE_SECONDARY;
    o.secondary_path = sec_dir;
    evlog_t *sec = NULL;
    assert_int_equal(evlog_open(dir, &o, &sec, err, sizeof err), 0);

    assert_int_equal(s_append_n(w, 101, 25), 0);
    uint64_t h_ro, h_sec;
    evlog_head(ro, &h_ro, NULL);
    evlog_head(sec, &h_sec, NULL);
    assert_int_equal(h_ro, 100);
    assert_int_equal(h_sec, 100);
    assert_int_equal(evlog_refresh(sec), 0);
    evlog_head(sec, &h_sec, NULL);
    assert_int_equal(h_sec, 125);
    uint8_t *v;
    size_t len;
    assert_int_equal(evlog_get(sec, 125, &v, &len), 0);
    evlog_free(v);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(sec, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, 125);
    assert_int_equal(evlog_append(ro, NULL, 0, NULL, 0, NULL), OMS_ERR_READ_ONLY);
    assert_int_equal(evlog_append(sec, NULL, 0, NULL, 0, NULL), OMS_ERR_READ_ONLY);

    /* A checkpoint is a consistent, openable, verifiable store. */
    const char *cp_parent = tu_mkdtemp(2, "evlog-cp");
    char cp[600];
    snprintf(cp, sizeof cp, "%s/cp", cp_parent);
    assert_int_equal(evlog_checkpoint(w, cp), 0);
    assert_int_equal(evlog_checkpoint(w, cp), OMS_ERR_EXISTS);
    evlog_t *c = s_open(cp);
    uint64_t h_c;
    evlog_head(c, &h_c, NULL);
    assert_int_equal(h_c, 125);
    assert_int_equal(evlog_verify(c, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    evlog_destroy(&c);

    evlog_destroy(&sec);
    evlog_destroy(&ro);
    evlog_destroy(&w);
    tu_rmrf(cp_parent);
    tu_rmrf(sec_dir);
    tu_rmrf(dir);
}

/* A child process limited in file size (RLIMIT_FSIZE makes writes past it fail with EFBIG, as a
 * full disk would) appends until the log refuses; the parent then proves the store holds
 * exactly the acknowledged batches and verifies. */
static void s_full_disk(bool pipelined)
{
    const char *dir = tu_mkdtemp(0, "evlog-full");
    evlog_t *log = s_open(dir);
    assert_int_equal(s_append_n(log, 1, 10), 0);
    evlog_destroy(&log);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        evlog_t *l = NULL;
        if (evlog_open(dir, NULL, &l, NULL, 0) != 0)
            _exit(2);
        struct rlimit rl = {.rlim_cur = 2u << 20, .rlim_max = 2u << 20};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(3);
        static uint8_t body[60000];
        memset(body, 'z', sizeof body);
        evlog_event_t evs[4];
        for (int i = 0; i < 4; i++)
            evs[i] = (evlog_event_t){.ts_ns = 1,
                                     .principal = "p",
                                     .command_id = "c",
                                     .body = body,
                                     .body_len = sizeof body};
        int rc = 0;
        uint64_t tickets[200], reported = 0;
        for (int round = 0; round < 200; round++) {
            if (pipelined) {
                /* Keep the pipeline full; acknowledge only what evlog_poll reports durable. */
                rc = evlog_submit(l, evs, 4, NULL, 0, &tickets[round], NULL);
                uint64_t durable = 0;
                if (rc == 0)
                    rc = evlog_poll(l, &durable);
                uint64_t head;
                evlog_head(l, &head, NULL);
                if (rc == 0 && head > reported) {
                    reported = head;
                    if (write(fds[1], &head, sizeof head) != sizeof head)
                        _exit(4);
                }
            } else {
                rc = evlog_append(l, evs, 4, NULL, 0, NULL);
                uint64_t head;
                evlog_head(l, &head, NULL);
                if (rc == 0 && write(fds[1], &head, sizeof head) != sizeof head)
                    _exit(4);
            }
            if (rc != 0)
                break;
        }
        if (rc != OMS_ERR_IO)
            _exit(5);
        /* The handle refuses further appends, even small ones. */
        if (evlog_append(l, evs, 1, NULL, 0, NULL) != OMS_ERR_IO)
            _exit(6);
        uint64_t head_after;
        evlog_head(l, &head_after, NULL);
        if (write(fds[1], &head_after, sizeof head_after) != sizeof head_after)
            _exit(4);
        evlog_destroy(&l);
        _exit(0);
    }
    close(fds[1]);
    uint64_t acked = 10, h, last_reported = 0;
    int reports = 0;
    while (read(fds[0], &h, sizeof h) == sizeof h) {
        last_reported = h;
        reports++;
    }
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(reports >= 2);
    acked = last_reported; /* the head after the failure equals the last acknowledged head */

    log = s_open(dir);
    uint64_t head;
    evlog_head(log, &head, NULL);
    if (pipelined)
        assert_true(head >= acked); /* batches written but not yet polled may be there too */
    else
        assert_int_equal(head, acked);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    /* And the log takes appends again once space is back. */
    assert_int_equal(s_append_n(log, head + 1, 3), 0);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

static void test_eventlog_full_disk_fails_append_cleanly(void **state)
{
    (void)state;
    s_full_disk(false);
}

static void test_eventlog_full_disk_fails_pipeline_cleanly(void **state)
{
    (void)state;
    s_full_disk(true);
}

/* Pipelined submits keep their order, chain across batches, become durable in ticket order,
 * signal the notify fd, and mix with plain appends. */
static void test_eventlog_pipelined_submit_in_order(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog-pipe");
    evlog_t *log = s_open(dir);
    assert_true(evlog_notify_fd(log) >= 0);
    test_event_t t[8];
    evlog_event_t evs[8];
    for (int i = 0; i < 8; i++) {
        s_make_event(&t[i], (uint64_t)i + 1, 64);
        evs[i] = t[i].ev;
    }
    uint64_t last_ticket = 0, first = 0, expect_first = 1;
    for (int b = 0; b < 50; b++) {
        size_t n = 1 + (size_t)b % 8;
        uint64_t ticket;
        assert_int_equal(evlog_submit(log, evs, n, NULL, 0, &ticket, &first), 0);
        assert_int_equal(ticket, (uint64_t)b);
        assert_int_equal(first, expect_first);
        expect_first += n;
        last_ticket = ticket;
        if (b % 10 == 9) /* a plain append queued behind in-flight batches */
        {
            assert_int_equal(evlog_append(log, evs, 1, NULL, 0, &first), 0);
            assert_int_equal(first, expect_first);
            expect_first += 1;
            b++; /* the append took ticket b+1 */
            last_ticket = (uint64_t)b;
        }
    }
    assert_int_equal(evlog_wait(log, last_ticket), 0);
    uint64_t durable = 0, head = 0;
    assert_int_equal(evlog_poll(log, &durable), 0);
    assert_int_equal(durable, last_ticket + 1);
    evlog_head(log, &head, NULL);
    assert_int_equal(head, expect_first - 1);
    uint64_t count = 0;
    assert_int_equal(read(evlog_notify_fd(log), &count, sizeof count), (ssize_t)sizeof count);
    assert_true(count >= 1);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, head);
    /* Invalid input is refused at submit and changes nothing. */
    assert_int_equal(evlog_submit(log, NULL, 0, NULL, 0, NULL, NULL), OMS_ERR_INVALID);
    evlog_destroy(&log);
    /* destroy drained everything: reopen sees the same head. */
    log = s_open(dir);
    uint64_t head2;
    evlog_head(log, &head2, NULL);
    assert_int_equal(head2, head);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* Batches queued behind a write in progress are written as one group with one WAL sync (the
 * committer's group commit), each still atomic, in ticket order, and durable together: with
 * sync durability, rounds of EVLOG_PIPELINE_DEPTH back-to-back submits need fewer groups than
 * batches (each sync takes far longer than a submit), and a reopened store holds every batch's
 * events and rows. Async durability goes through the same path. */
/* With async durability there is no sync to share, so the committer finishes every batch on
 * its own as soon as it is written (one group per batch): a submitter waiting for a free slot
 * or a ticket never waits for the batches queued behind it. Batches are still written in
 * order, and the store holds them all. */
static void test_eventlog_async_batches_finish_one_by_one(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog-async1");
    evlog_options_t o;
    evlog_options_default(&o);
    o.durability = EVLOG_ASYNC;
    evlog_t *log = NULL;
    assert_int_equal(evlog_open(dir, &o, &log, NULL, 0), 0);
    enum { BATCHES = 64, EVS = 64 };
    static test_event_t t[EVS];
    evlog_event_t evs[EVS];
    for (int i = 0; i < EVS; i++) {
        s_make_event(&t[i], (uint64_t)i + 1, 200);
        evs[i] = t[i].ev;
    }
    uint64_t ticket = 0, first = 0, durable = 0;
    for (int b = 0; b < BATCHES; b++) {
        /* Submitted back to back: the pipeline fills, so the committer finds several queued. */
        assert_int_equal(evlog_submit(log, evs, EVS, NULL, 0, &ticket, &first), 0);
        assert_int_equal(first, (uint64_t)b * EVS + 1);
        assert_int_equal(evlog_poll(log, &durable), 0);
        /* Never more durable than submitted (the committer may already have this one). */
        assert_true(durable <= ticket + 1);
    }
    assert_int_equal(evlog_wait(log, ticket), 0);
    uint64_t batches = 0, groups = 0, head = 0;
    evlog_commit_counts(log, &batches, &groups);
    assert_int_equal(batches, BATCHES);
    assert_int_equal(groups, BATCHES);
    evlog_head(log, &head, NULL);
    assert_int_equal(head, (uint64_t)BATCHES * EVS);
    evlog_destroy(&log);

    log = s_open(dir);
    evlog_verify_t rep;
    assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.events, (uint64_t)BATCHES * EVS);
    evlog_destroy(&log);
    tu_rmrf(dir);
}

static void test_eventlog_queued_batches_share_one_sync(void **state)
{
    (void)state;
    for (int sync = 1; sync >= 0; sync--) {
        const char *dir = tu_mkdtemp(0, "evlog-group");
        evlog_options_t o;
        evlog_options_default(&o);
        o.durability = sync ? EVLOG_SYNC : EVLOG_ASYNC;
        evlog_t *log = NULL;
        assert_int_equal(evlog_open(dir, &o, &log, NULL, 0), 0);
        enum { ROUNDS = 40, PER = EVLOG_PIPELINE_DEPTH, EVS = 3 };
        test_event_t t[EVS];
        evlog_event_t evs[EVS];
        for (int i = 0; i < EVS; i++) {
            s_make_event(&t[i], (uint64_t)i + 1, 100);
            evs[i] = t[i].ev;
        }
        uint64_t expect_first = 1, ticket = 0;
        for (int r = 0; r < ROUNDS; r++) {
            for (int b = 0; b < PER; b++) {
                char key[32];
                uint8_t val[8];
                int kl = snprintf(key, sizeof key, "k%04d", r * PER + b);
                oms_put_be64(val, (uint64_t)(r * PER + b));
                evlog_row_t row = {.cf = EVLOG_CF_ORDERS,
                                   .key = (const uint8_t *)key,
                                   .key_len = (size_t)kl,
                                   .value = val,
                                   .value_len = sizeof val};
                uint64_t first = 0;
                assert_int_equal(evlog_submit(log, evs, EVS, &row, 1, &ticket, &first), 0);
                assert_int_equal(first, expect_first);
                expect_first += EVS;
            }
            assert_int_equal(evlog_wait(log, ticket), 0);
            uint64_t durable = 0, head = 0;
            assert_int_equal(evlog_poll(log, &durable), 0);
            assert_int_equal(durable, ticket + 1);
            evlog_head(log, &head, NULL);
            assert_int_equal(head, expect_first - 1);
        }
        uint64_t batches = 0, groups = 0;
        evlog_commit_counts(log, &batches, &groups);
        assert_int_equal(batches, ROUNDS * PER);
        assert_true(groups >= ROUNDS && groups <= batches);
        if (sync)
            assert_true(groups < batches);
        evlog_destroy(&log);

        log = s_open(dir);
        evlog_verify_t rep;
        assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
        assert_true(rep.ok);
        assert_int_equal(rep.events, (uint64_t)ROUNDS * PER * EVS);
        for (int i = 0; i < ROUNDS * PER; i++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "k%04d", i);
            uint8_t *v = NULL;
            size_t vl = 0;
            assert_int_equal(
                evlog_row_get(log, EVLOG_CF_ORDERS, (const uint8_t *)key, (size_t)kl, &v, &vl), 0);
            assert_int_equal(vl, 8);
            assert_int_equal(oms_get_be64(v), (uint64_t)i);
            evlog_free(v);
        }
        evlog_destroy(&log);
        tu_rmrf(dir);
    }
}

/* The writer's pipeline holds at most pipeline_bytes of submitted batches (and at most
 * EVLOG_PIPELINE_DEPTH of them): a submit waits rather than go over, except that a batch
 * larger than the cap still goes alone when nothing is in flight. Batches large enough that
 * their slot's WriteBatch is replaced afterwards (EVLOG_SLOT_KEEP_BYTES) leave the slot usable.
 * Every batch ends up in the store, in order. */
static void test_eventlog_pipeline_bytes_are_bounded(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp(0, "evlog-pbytes");
    evlog_options_t o;
    evlog_options_default(&o);
    o.durability = EVLOG_SYNC; /* a sync per group: the submitter outruns the committer */
    o.pipeline_bytes = 1u << 20;
    evlog_t *log = NULL;
    assert_int_equal(evlog_open(dir, &o, &log, NULL, 0), 0);
    enum { BATCHES = 48, ROW = 300 * 1024, BIG_ROWS = 5 };
    static uint8_t val[OMS_LIMIT_ROW_VALUE_BYTES];
    test_event_t t;
    uint64_t ticket = 0, most = 0;
    for (int b = 0; b < BATCHES; b++) {
        s_make_event(&t, (uint64_t)b + 1, 100);
        /* Every 16th batch is over the cap and over EVLOG_SLOT_KEEP_BYTES: 5 rows of 1 MiB. */
        bool big = b % 16 == 7;
        evlog_row_t rows[BIG_ROWS];
        char key[BIG_ROWS][32];
        int n_rows = big ? BIG_ROWS : 1;
        for (int r = 0; r < n_rows; r++) {
            int kl = snprintf(key[r], sizeof key[r], "b%03d-%d", b, r);
            rows[r] = (evlog_row_t){.cf = EVLOG_CF_ORDERS,
                                    .key = (const uint8_t *)key[r],
                                    .key_len = (size_t)kl,
                                    .value = val,
                                    .value_len = big ? sizeof val : ROW};
        }
        memset(val, b, sizeof val);
        assert_int_equal(evlog_submit(log, &t.ev, 1, rows, (size_t)n_rows, &ticket, NULL), 0);
        uint64_t batches = 0;
        size_t bytes = 0;
        evlog_inflight(log, &batches, &bytes);
        assert_true(batches <= EVLOG_PIPELINE_DEPTH);
        if (big)
            assert_true(bytes <= o.pipeline_bytes || batches == 1);
        else
            assert_true(bytes <= o.pipeline_bytes);
        if (batches > most)
            most = batches;
    }
    assert_int_equal(evlog_wait(log, ticket), 0);
    uint64_t batches = 9;
    size_t bytes = 9;
    evlog_inflight(log, &batches, &bytes);
    assert_int_equal(batches, 0);
    assert_int_equal(bytes, 0);
    /* The bound was what held the submitter back, not the depth: at 300 KiB a batch, at most
     * three fit under 1 MiB, and with a sync per group the pipeline did fill that far. */
    assert_true(most >= 2 && most <= 3);
    evlog_destroy(&log);

    log = s_open(dir);
    uint64_t head = 0;
    evlog_head(log, &head, NULL);
    assert_int_equal(head, BATCHES);
    for (int b = 0; b < BATCHES; b++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "b%03d-0", b);
        uint8_t *v = NULL;
        size_t vl = 0;
        assert_int_equal(
            evlog_row_get(log, EVLOG_CF_ORDERS, (const uint8_t *)key, (size_t)kl, &v, &vl), 0);
        assert_int_equal(vl, b % 16 == 7 ? sizeof val : (size_t)ROW);
        assert_int_equal(v[0], (uint8_t)b);
        assert_int_equal(v[vl - 1], (uint8_t)b);
        evlog_free(v);
    }
    evlog_destroy(&log);
    tu_rmrf(dir);
}

/* Packs an envelope with protobuf-c (the oracle's own encoder). Returns its length in buf. */
static size_t s_pack_envelope(uint8_t *buf, size_t cap, uint64_t seq, int64_t ts,
                              const char *principal, const char *cmd, const char *oid,
                              const uint8_t *body, size_t body_len, uint8_t fill)
{
    uint8_t prev[OMS_HASH_LEN], hash[OMS_HASH_LEN];
    memset(prev, fill, sizeof prev);
    memset(hash, (uint8_t)(fill + 1), sizeof hash);
    Oms__V1__EventEnvelopeRaw raw = OMS__V1__EVENT_ENVELOPE_RAW__INIT;
    raw.seq = seq;
    raw.ts_ns = ts;
    raw.principal = (char *)principal;
    raw.command_id = (char *)cmd;
    raw.order_id = (char *)oid;
    raw.event.data = (uint8_t *)body;
    raw.event.len = body_len;
    raw.prev_hash.data = prev;
    raw.prev_hash.len = OMS_HASH_LEN;
    raw.hash.data = hash;
    raw.hash.len = OMS_HASH_LEN;
    size_t n = oms__v1__event_envelope_raw__get_packed_size(&raw);
    assert_true(n <= cap);
    assert_int_equal(oms__v1__event_envelope_raw__pack(&raw, buf), n);
    return n;
}

/* When evlog_record_parse accepts v, protobuf-c reads the same values from it, and the hash is
 * the last field: the parser never accepts what it reads wrongly, whichever of its paths (the
 * writer's own layout, or the general loop for anything else) took the bytes. Returns whether
 * it accepted. */
static bool s_parse_agrees(const uint8_t *v, size_t len)
{
    evlog_record_t rec;
    if (evlog_record_parse(v, len, &rec) != 0)
        return false;
    Oms__V1__EventEnvelopeRaw *m = oms__v1__event_envelope_raw__unpack(NULL, len, v);
    assert_non_null(m);
    assert_int_equal(rec.seq, m->seq);
    assert_true(rec.seq != 0);
    assert_int_equal(rec.ts_ns, m->ts_ns);
    assert_memory_equal(rec.principal ? rec.principal : "", m->principal, rec.principal_len);
    assert_memory_equal(rec.command_id ? rec.command_id : "", m->command_id, rec.command_id_len);
    assert_memory_equal(rec.order_id ? rec.order_id : "", m->order_id, rec.order_id_len);
    assert_int_equal(rec.body_len, m->event.len);
    if (rec.body_len)
        assert_memory_equal(rec.body, m->event.data, rec.body_len);
    assert_int_equal(m->prev_hash.len, OMS_HASH_LEN);
    assert_memory_equal(rec.prev_hash, m->prev_hash.data, OMS_HASH_LEN);
    assert_int_equal(m->hash.len, OMS_HASH_LEN);
    assert_memory_equal(rec.hash, m->hash.data, OMS_HASH_LEN);
    assert_int_equal(rec.hashed_len, len - EVLOG_HASH_FIELD_LEN);
    assert_ptr_equal(rec.hash, v + len - OMS_HASH_LEN);
    oms__v1__event_envelope_raw__free_unpacked(m, NULL);
    return true;
}

/* The envelope parser against protobuf-c as an oracle: envelopes of the writer's layout with
 * every optional field present or not and lengths whose varints take one to three bytes; the
 * same fields in other orders and with an unknown field (the general loop's cases, accepted
 * with the same values); and every single-byte change of each (accepted only when protobuf-c
 * reads the same values). */
static void test_eventlog_record_parse_matches_protobuf(void **state)
{
    (void)state;
    static uint8_t body[20000], buf[20300], mut[20300];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 13 + 5);
    static const size_t body_lens[] = {0, 1, 127, 128, 300, 16383, 16384, 20000};
    uint64_t rs = 7;
    unsigned accepted_mutants = 0;
    for (unsigned shape = 0; shape < 64; shape++) {
        uint64_t seq = shape & 1 ? 1u + shape : (1ull << 40) + shape;
        int64_t ts = shape & 2 ? 0 : 1763733053123456789LL + shape;
        const char *pr = shape & 4 ? "" : "pm-0001";
        const char *cmd = shape & 8 ? "" : "cmd-000000000001";
        const char *oid = shape & 16 ? "" : "ORD-77";
        size_t bl = body_lens[(shape >> 2) % 8];
        size_t n = s_pack_envelope(buf, sizeof buf, seq, ts, pr, cmd, oid, body, bl,
                                   (uint8_t)shape);
        assert_true(s_parse_agrees(buf, n));
        /* Single-byte changes, at every position of the head and tail and some of the body. */
        for (size_t pos = 0; pos < n; pos++) {
            if (pos > 80 && pos + 80 < n && tu_rand(&rs) % 64)
                continue;
            memcpy(mut, buf, n);
            uint8_t vals[4] = {(uint8_t)(buf[pos] ^ 0x01), (uint8_t)(buf[pos] ^ 0x80), 0x00,
                               (uint8_t)tu_rand(&rs)};
            for (unsigned k = 0; k < 4; k++) {
                if (vals[k] == buf[pos])
                    continue;
                mut[pos] = vals[k];
                accepted_mutants += s_parse_agrees(mut, n);
            }
        }
    }
    /* Mutants inside strings, the body and the hashes stay well-formed: some are accepted. */
    assert_true(accepted_mutants > 0);
    /* Without field 1 (seq 0, which protobuf leaves out) the layout is the writer's, but an
     * envelope always has a seq: refused. */
    size_t n0 = s_pack_envelope(buf, sizeof buf, 0, 5, "pm", "c", "O", body, 40, 3);
    assert_int_equal(buf[0], 0x10);
    assert_false(s_parse_agrees(buf, n0));

    /* Fields in another order and an unknown field 8 (a newer writer's) before field 14: not
     * the writer's layout, still well-formed, read the same. */
    size_t n = s_pack_envelope(buf, sizeof buf, 99, 5, "pm", "c", "O", body, 40, 3);
    evlog_record_t want;
    assert_int_equal(evlog_record_parse(buf, n, &want), 0);
    /* buf: 08 63 | 10 05 | 1a 02 pm | 22 01 c | 2a 01 O | 3a 28 body | 72 20 .. | 7a 20 .. */
    size_t head = 2 + 2 + 4 + 3 + 3 + 2 + 40;
    memcpy(mut, buf + 2, 2);         /* ts first */
    memcpy(mut + 2, buf, 2);         /* then seq */
    memcpy(mut + 4, buf + 4, head - 4);
    mut[head] = 0x42;                /* field 8, length-delimited, 3 bytes */
    mut[head + 1] = 3;
    memcpy(mut + head + 2, "new", 3);
    memcpy(mut + head + 5, buf + head, n - head);
    evlog_record_t got;
    assert_int_equal(evlog_record_parse(mut, n + 5, &got), 0);
    assert_true(s_parse_agrees(mut, n + 5));
    assert_int_equal(got.seq, want.seq);
    assert_int_equal(got.ts_ns, want.ts_ns);
    assert_int_equal(got.body_len, want.body_len);
    assert_memory_equal(got.body, buf + head - 40, 40);
    assert_int_equal(got.hashed_len, n + 5 - EVLOG_HASH_FIELD_LEN);
    /* A repeated field, in either layout, is refused. */
    memcpy(mut, buf, 2);
    memcpy(mut + 2, buf, n);
    assert_int_equal(evlog_record_parse(mut, n + 2, &got), OMS_ERR_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eventlog_append_read_reopen),
        cmocka_unit_test(test_eventlog_envelope_is_protobuf),
        cmocka_unit_test(test_eventlog_batched_hashing_matches_definition),
        cmocka_unit_test(test_eventlog_record_parse_rejects_garbage),
        cmocka_unit_test(test_eventlog_record_parse_matches_protobuf),
        cmocka_unit_test(test_eventlog_batch_with_rows_is_atomic),
        cmocka_unit_test(test_eventlog_rows_of_one_key_keep_their_order),
        cmocka_unit_test(test_eventlog_limits_refuse_and_change_nothing),
        cmocka_unit_test(test_eventlog_verify_intact_store),
        cmocka_unit_test(test_eventlog_verify_catches_flipped_byte),
        cmocka_unit_test(test_eventlog_verify_catches_deleted_event),
        cmocka_unit_test(test_eventlog_verify_catches_swapped_events),
        cmocka_unit_test(test_eventlog_verify_catches_truncated_tail),
        cmocka_unit_test(test_eventlog_open_refuses_mismatched_schema),
        cmocka_unit_test(test_eventlog_readers_beside_writer),
        cmocka_unit_test(test_eventlog_full_disk_fails_append_cleanly),
        cmocka_unit_test(test_eventlog_full_disk_fails_pipeline_cleanly),
        cmocka_unit_test(test_eventlog_pipelined_submit_in_order),
        cmocka_unit_test(test_eventlog_queued_batches_share_one_sync),
        cmocka_unit_test(test_eventlog_async_batches_finish_one_by_one),
        cmocka_unit_test(test_eventlog_pipeline_bytes_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
