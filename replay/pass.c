/*
 * pass.c - the one pass over the event log that `verify` and `state` share: every envelope in
 * seq order is read, checked (verify: contiguity, seq, prev hash, own hash, the recorded head,
 * sequencer time, an anchor; state: that it parses), its event decoded and applied to a fresh
 * engine, over as many threads as asked, with exactly the result one thread gives.
 *
 * How the work is split. An envelope's hash is BLAKE2b over its own stored bytes, and the link
 * to the previous envelope is "prev_hash == the previous envelope's stored hash field" (the
 * last 32 bytes of its value, which equal its computed hash whenever it passes its own check),
 * so every envelope can be checked without waiting for the one before it. The log is cut into
 * chunks of consecutive envelopes, and each chunk goes through three tasks:
 *
 *   read     (one thread at a time, in seq order) the RocksDB iterator: key-level checks
 *            (malformed key, missing seq, past the recorded head) and a copy of each value
 *   process  (any number of threads, any chunk) parse, seq, prev hash and own hash of each
 *            envelope, then decode its event and hash the keys of the records it will touch
 *            (for the consume task's memory hints)
 *   consume  (one thread at a time, in seq order) the checks that need the previous event
 *            (sequencer time), the anchor, then oms_engine_replay_event (no batch journal:
 *            the pass stops at the first refusal and its state is thrown away), and the report
 *
 * Every thread (the caller included) loops taking the most urgent task available: consume
 * (the sequential part), then read, then process; a thread that finds nothing to do sleeps.
 * The ring holds `depth` chunks (2 x threads + 2, about 0.7 MB each), so memory is bounded
 * whatever the log's length (a value larger than a chunk's buffer, which only a newer writer's
 * or a forged store holds, gets a buffer of its own size until its chunk is reused). The
 * consumer meets every check in the order a single thread would (per event: record check,
 * time, anchor, decode, apply; then the reader's finding after the chunk's last event), so the
 * first failure reported, its seq, its reason and the events counted are the same with 1
 * thread or 16.
 *
 * Load per event: one RocksDB step and one copy (read), one envelope parse, one BLAKE2b and one
 * event decode (process), one apply (consume). Failures are rare, so the processing takes a
 * fast path (evlog_record_parse, comparisons, the hashes of many envelopes at once:
 * oms_hash_many in core/) and calls evlog_record_check_parse only on an envelope that fails,
 * for its exact reason.
 */
#include "replay_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PASS_CHUNK_EVENTS 256          /* events per chunk (default) */
#define PASS_RAW_BYTES    (128u << 10) /* a chunk's value buffer (grows for one huge value) */
#define PASS_ARENA_BYTES  (256u << 10) /* a chunk's decode arena (see s_process) */
#define PASS_HINT_AHEAD   4            /* events between a record's prefetch and its use */
#define PASS_EV_AHEAD     8            /* events between a decoded event's prefetch and its apply */
#define PASS_HASH_GROUP   64           /* envelopes hashed in one oms_hash_many call */
#define PASS_SHORT_EVENTS 1024         /* an automatic thread count uses one thread below it */
#define PASS_SIZE_SHARE   16             /* the size hint is taken after 1/16 of the events */

/* What the processor found first in a chunk (at entry n_good). */
enum { FAIL_NONE = 0, FAIL_CHECK, FAIL_DECODE };
/* What the reader found after a chunk's last entry. */
enum { TAIL_MORE = 0, TAIL_END, TAIL_FAIL, TAIL_ERR };

/* One stored envelope in a chunk. */
typedef struct {
    uint64_t seq;          /* the key's seq (contiguous within a chunk) */
    uint32_t off;          /* its value at chunk raw + off */
    uint32_t len;          /* value bytes */
    int64_t ts_ns;         /* processor: the envelope's sequencer time */
    uint32_t body_off;     /* processor: the event body at raw + body_off */
    uint32_t body_len;     /* its length */
    uint32_t hashed_len;   /* processor: bytes covered by the hash */
    const oms_event_t *ev; /* processor: the decoded event, or NULL: the consumer decodes */
    /* processor: the memory hints for the records the apply will look up (s_hint_keys) */
    uint32_t h_order;   /* proj_key_hash of the order's key */
    uint32_t h_other;   /* of the execution's or ClOrdID's key */
    uint8_t hint_order; /* the order's hint stages: 0 none, 1 stage 1 only, 2 both */
    uint8_t hint_other; /* 0 none, else the table of h_other (stage 1 only) */
} entry_t;

typedef struct {
    /* the reader's part */
    entry_t *e;                      /* chunk_events entries */
    uint32_t n;                      /* entries read */
    uint8_t *raw;                    /* the values, back to back */
    size_t raw_cap, raw_used;        /* its size and fill */
    uint8_t prev_tail[OMS_HASH_LEN]; /* stored hash field of the envelope before e[0] */
    int tail;                        /* TAIL_*: what came after e[n - 1] */
    replay_bad_t tail_bad;           /* TAIL_FAIL: the failure (verify) */
    uint64_t tail_seq;               /* its seq */
    int tail_rc;                     /* TAIL_ERR: the run's error; TAIL_FAIL: rebuild's error */
    char tail_why[256];              /* TAIL_FAIL: the reason */
    /* the processor's part */
    oms_event_t *evs;  /* chunk_events decoded events (rebuild only) */
    oms_arena_t arena; /* their lists */
    uint32_t n_good;   /* entries [0, n_good) passed what the processor checks */
    int fail;          /* FAIL_*: what happened at entry n_good */
    char why[256];     /* its reason */
    bool ready;        /* processed: the consumer may take it */
} chunk_t;

/* The reader's state, owned by whichever thread holds the read task. */
typedef struct {
    evlog_iter_t *it;                /* over one snapshot, from seq 1 */
    uint64_t expect;                 /* the next seq */
    bool pending;                    /* seq/v/len is read but not yet placed in a chunk */
    uint64_t seq;                    /* the pending envelope */
    const uint8_t *v;                /* its value (valid until the iterator moves) */
    size_t len;                      /* its length */
    uint8_t last_tail[OMS_HASH_LEN]; /* stored hash field of the last envelope read */
} reader_t;

/* The consumer's state, owned by whichever thread holds the consume task. */
typedef struct {
    int64_t prev_ts;    /* the previous event's sequencer time */
    oms_arena_t arena;  /* for the events it decodes itself */
    replay_pass_t *out; /* the result it writes */
    uint64_t size_at;   /* events after which the state is given its size hint (0: never) */
} consumer_t;

typedef struct {
    const replay_pass_cfg_t *cfg; /* what to do */
    uint32_t chunk_events;        /* events per chunk */
    uint32_t depth;               /* chunks in the ring */
    chunk_t *chunk;               /* the ring */
    reader_t rd;                  /* the read task's state */
    consumer_t co;                /* the consume task's state */
    pthread_mutex_t mu;           /* guards the fields below and hands chunks over */
    pthread_cond_t cv;            /* broadcast on every change of them */
    /* under mu: chunks [next_apply, next_proc) are being or have been processed,
     * [next_proc, next_read) are read and wait for a processor */
    uint64_t next_read, next_proc, next_apply;
    bool reading, applying; /* the read / consume task is taken */
    bool read_done;         /* the reader has read its last chunk */
    bool stop;              /* the consumer is finished (failure or end): nothing more to do */
    int rc;                 /* OMS_ERR_IO / OMS_ERR_NOMEM: the run could not complete */
} pass_t;

/* The ring slot of chunk number k. */
static chunk_t *s_slot(pass_t *p, uint64_t k)
{
    return &p->chunk[k % p->depth];
}

/* The stored hash field of entry i (the last 32 bytes of its value; meaningful when it parsed). */
static const uint8_t *s_tail(const chunk_t *c, uint32_t i)
{
    static const uint8_t zero[OMS_HASH_LEN];
    const entry_t *e = &c->e[i];
    return e->len >= OMS_HASH_LEN ? c->raw + e->off + e->len - OMS_HASH_LEN : zero;
}

/* ---- decoding and applying one event ----------------------------------------------------------
 */

/* Decodes body[len] (the event of seq) into *ev, lists into arena. 0; OMS_ERR_LIMIT when the
 * arena is full; OMS_ERR_CORRUPT with the reason in why. */
static int s_decode(uint64_t seq, const uint8_t *body, size_t len, oms_arena_t *arena,
                    oms_event_t *ev, char *why, size_t cap)
{
    int rc = codec_decode_event(body, len, arena, ev);
    if (rc == OMS_ERR_LIMIT)
        return rc;
    if (rc) {
        snprintf(why, cap, "seq %" PRIu64 ": the event does not decode (%s)", seq,
                 oms_strerror(rc));
        return OMS_ERR_CORRUPT;
    }
    return 0;
}

/* Applies a decoded event. 0, or proj_apply's errors with the reason in why; after an error
 * the engine is spent (oms_engine_replay_event) and the pass ends. */
static int s_apply_ev(oms_engine_t *eng, uint64_t seq, int64_t ts_ns, const oms_event_t *ev,
                      char *why, size_t cap)
{
    int rc = oms_engine_replay_event(eng, seq, ts_ns, ev);
    if (rc)
        snprintf(why, cap, "seq %" PRIu64 " (%s): the projections refuse it: %s", seq,
                 oms_event_type_name(ev->type), oms_strerror(rc));
    return rc;
}

/* Decodes (into arena, reset first) and applies an event. 0; OMS_ERR_CORRUPT (it does not
 * decode or its lists do not fit the arena, reason in why); proj_apply's errors (reason). */
static int s_decode_apply(oms_engine_t *eng, oms_arena_t *arena, uint64_t seq, int64_t ts_ns,
                          const uint8_t *body, size_t len, char *why, size_t cap)
{
    oms_event_t ev;
    oms_arena_reset(arena);
    int rc = s_decode(seq, body, len, arena, &ev, why, cap);
    if (rc == OMS_ERR_LIMIT) {
        snprintf(why, cap, "seq %" PRIu64 ": the event's lists do not fit the decode arena", seq);
        rc = OMS_ERR_CORRUPT;
    }
    return rc ? rc : s_apply_ev(eng, seq, ts_ns, &ev, why, cap);
}

/* The memory hints for the records ev will touch, as key hashes in e (proj_key_hash): computed
 * by the process task, on the event it has just decoded, so that the consume task, which runs
 * one chunk after the other, only issues the requests (s_hint) and reads nothing of the event
 * for them (it sits in the other core's cache). Changes nothing but e's hint fields. */
static void s_hint_keys(entry_t *e, const oms_event_t *ev)
{
    e->hint_order = 0;
    e->hint_other = 0;
    const char *oid = NULL, *other = NULL, *other_b = NULL;
    proj_table_t other_t = PROJ_T_EXEC;
    if (oms_event_is_order_report(ev->type)) {
        oid = ev->u.order.h.order_id;
        e->hint_order = 2;
        if (ev->type == OMS_EV_ORDER_FILLED) {
            other = ev->u.order.h.venue;
            other_b = ev->u.order.h.exec_id;
        }
    } else if (ev->type == OMS_EV_ORDER_ACCEPTED) {
        /* Stage 1 only: the order is new, so its index slot is where the insert probes, and
         * stage 2 (the slot read, the record behind it) would find no record to fetch. Its id
         * starts the order's ClOrdID chain. */
        oid = other = other_b = ev->u.accepted.order.order_id;
        other_t = PROJ_T_CLORDID;
        e->hint_order = 1;
    } else if (ev->type == OMS_EV_CANCEL_REQUESTED || ev->type == OMS_EV_REPLACE_REQUESTED) {
        oid = other = ev->u.request.order_id;
        other_b = ev->u.request.cl_ord_id;
        other_t = PROJ_T_CLORDID;
        e->hint_order = 2;
    }
    if (oid)
        e->h_order = proj_key_hash(PROJ_T_ORDER, oid, NULL);
    if (other) {
        e->h_other = proj_key_hash(other_t, other, other_b);
        e->hint_other = (uint8_t)(other_t + 1);
    }
}

/* Memory hints for the records entry e's event will touch (proj_prefetch_h's two stages, from
 * the hashes s_hint_keys left in e): a hint only, cannot fail, changes nothing. */
static void s_hint(const proj_state_t *st, const entry_t *e, int stage)
{
    if (e->hint_order >= stage)
        proj_prefetch_h(st, PROJ_T_ORDER, e->h_order, stage);
    if (stage == 1 && e->hint_other)
        proj_prefetch_h(st, (proj_table_t)(e->hint_other - 1), e->h_other, 1);
}

/* A memory hint for a decoded event the consume task will apply soon: its bytes. The event
 * (1.2 KB) was decoded, and cleared up to its text, by another thread, so its cache lines sit
 * in the other core's cache; the apply reads them one after the other, each a cross-core
 * transfer that the hardware does not start ahead. A hint only: cannot fail, changes nothing. */
static inline __attribute__((always_inline)) void s_hint_event(const oms_event_t *ev)
{
    /* Unrolled: a prefetch per line and nothing else (the loop cost four instructions a line,
     * on the pass's critical path). Always inline: GCC 12 may drop a call to a function made
     * only of prefetches (see s_prefetch_h in projections/table.c). */
    const char *q = (const char *)ev;
#pragma GCC unroll 32
    for (size_t off = 0; off < sizeof *ev; off += 64)
        __builtin_prefetch(q + off);
}

/* ---- the three tasks ------------------------------------------------------------------------- */

/* Records the reader's finding after the chunk's last entry. */
static void s_tail_fail(chunk_t *c, replay_bad_t bad, uint64_t seq, int rc)
{
    c->tail = TAIL_FAIL;
    c->tail_bad = bad;
    c->tail_seq = seq;
    c->tail_rc = rc;
}

/* The read task: copies the next envelopes into c, with the checks a single reader makes on
 * keys (verify: malformed key, missing seq, past the recorded head; rebuild: the log ends or
 * has a gap before to_seq). Returns false when nothing is to be read after this chunk (c->tail
 * says why). Owns p->rd while it runs. */
static bool s_read(pass_t *p, chunk_t *c)
{
    const replay_pass_cfg_t *cfg = p->cfg;
    reader_t *r = &p->rd;
    c->n = 0;
    c->raw_used = 0;
    if (c->raw_cap > PASS_RAW_BYTES) { /* it held one huge value: give the memory back */
        uint8_t *smaller = realloc(c->raw, PASS_RAW_BYTES);
        if (smaller) {
            c->raw = smaller;
            c->raw_cap = PASS_RAW_BYTES;
        }
    }
    c->tail = TAIL_MORE;
    c->tail_why[0] = '\0';
    memcpy(c->prev_tail, r->last_tail, OMS_HASH_LEN);
    while (c->n < p->chunk_events) {
        if (!r->pending) {
            int rc = evlog_iter_next(r->it, &r->seq, &r->v, &r->len);
            if (cfg->verify) {
                if (rc == 0) {
                    c->tail = TAIL_END;
                    return false;
                }
                if (rc == OMS_ERR_CORRUPT) {
                    s_tail_fail(c, REPLAY_BAD_CHAIN, r->expect, rc);
                    snprintf(c->tail_why, sizeof c->tail_why,
                             "seq %" PRIu64 ": the events family holds a malformed key", r->expect);
                    return false;
                }
                if (rc < 0) {
                    c->tail = TAIL_ERR;
                    c->tail_rc = rc;
                    return false;
                }
                if (r->seq != r->expect) {
                    s_tail_fail(c, REPLAY_BAD_CHAIN, r->expect, OMS_ERR_CORRUPT);
                    snprintf(c->tail_why, sizeof c->tail_why,
                             "seq %" PRIu64 " is missing (the next stored event is seq %" PRIu64
                             ")",
                             r->expect, r->seq);
                    return false;
                }
                if (cfg->head_known && r->seq > cfg->head_seq) {
                    s_tail_fail(c, REPLAY_BAD_HEAD, r->seq, OMS_ERR_CORRUPT);
                    snprintf(c->tail_why, sizeof c->tail_why,
                             "the log continues past the recorded head seq %" PRIu64
                             " (seq %" PRIu64 " exists)",
                             cfg->head_seq, r->seq);
                    return false;
                }
            } else {
                if (rc < 0) {
                    c->tail = TAIL_ERR;
                    c->tail_rc = rc;
                    return false;
                }
                if (rc == 0 || r->seq != r->expect) {
                    s_tail_fail(c, REPLAY_BAD_CHAIN, r->expect, OMS_ERR_CORRUPT);
                    snprintf(c->tail_why, sizeof c->tail_why, "seq %" PRIu64 " is missing",
                             r->expect);
                    return false; /* a gap or the end before to_seq: run verify */
                }
            }
            r->pending = true;
        }
        if (r->len > UINT32_MAX - c->raw_used || c->raw_used + r->len > c->raw_cap) {
            if (c->n > 0)
                return true; /* full: the pending envelope opens the next chunk */
            uint8_t *bigger = r->len <= UINT32_MAX ? realloc(c->raw, r->len) : NULL;
            if (bigger == NULL) {
                c->tail = TAIL_ERR;
                c->tail_rc = OMS_ERR_NOMEM;
                return false;
            }
            c->raw = bigger;
            c->raw_cap = r->len;
        }
        memcpy(c->raw + c->raw_used, r->v, r->len);
        entry_t *e = &c->e[c->n++];
        e->seq = r->seq;
        e->off = (uint32_t)c->raw_used;
        e->len = (uint32_t)r->len;
        c->raw_used += r->len;
        memcpy(r->last_tail, s_tail(c, c->n - 1), OMS_HASH_LEN);
        r->pending = false;
        r->expect++;
        if (!cfg->verify && r->seq == cfg->to_seq) {
            c->tail = TAIL_END;
            return false;
        }
    }
    return true;
}

/* The reference check of entry i (evlog_record_check_parse, prev = the stored hash field before
 * it): 0, or OMS_ERR_CORRUPT with its reason in why. */
static int s_check_one(const chunk_t *c, uint32_t i, char *why, size_t cap)
{
    const entry_t *e = &c->e[i];
    oms_hash_t prev;
    memcpy(prev.bytes, i ? s_tail(c, i - 1) : c->prev_tail, OMS_HASH_LEN);
    return evlog_record_check_parse(c->raw + e->off, e->len, e->seq, &prev, NULL, NULL, why, cap);
}

/* The process task: checks c's envelopes (verify: parse, seq, prev hash, then the own hashes,
 * several at once; rebuild: parse and seq) up to the first that fails, then decodes their
 * events into c. Sets c->n_good, c->fail and c->why. Touches nothing but c. */
static void s_process(pass_t *p, chunk_t *c)
{
    const replay_pass_cfg_t *cfg = p->cfg;
    uint32_t f = c->n;
    for (uint32_t i = 0; i < c->n; i++) {
        entry_t *e = &c->e[i];
        const uint8_t *prev = i ? s_tail(c, i - 1) : c->prev_tail;
        evlog_record_t rec;
        if (evlog_record_parse(c->raw + e->off, e->len, &rec) != 0 || rec.seq != e->seq ||
            (cfg->verify && memcmp(rec.prev_hash, prev, OMS_HASH_LEN) != 0)) {
            f = i;
            break;
        }
        e->ts_ns = rec.ts_ns;
        e->body_off = (uint32_t)(rec.body ? rec.body - c->raw : 0);
        e->body_len = (uint32_t)rec.body_len;
        e->hashed_len = (uint32_t)rec.hashed_len;
    }
    /* The own hashes of the envelopes that parsed (their hash field is their last 32 bytes). */
    for (uint32_t i0 = 0; cfg->verify && i0 < f; i0 += PASS_HASH_GROUP) {
        const uint8_t *msg[PASS_HASH_GROUP];
        size_t len[PASS_HASH_GROUP];
        oms_hash_t h[PASS_HASH_GROUP];
        uint32_t k = f - i0 < PASS_HASH_GROUP ? f - i0 : PASS_HASH_GROUP;
        for (uint32_t j = 0; j < k; j++) {
            msg[j] = c->raw + c->e[i0 + j].off;
            len[j] = c->e[i0 + j].hashed_len;
        }
        oms_hash_many(msg, len, k, h);
        for (uint32_t j = 0; j < k; j++)
            if (memcmp(h[j].bytes, s_tail(c, i0 + j), OMS_HASH_LEN) != 0) {
                f = i0 + j;
                break;
            }
    }
    c->why[0] = '\0';
    if (f < c->n && cfg->verify) {
        /* The reference check says why, word for word as a single reader would; should it
         * find nothing wrong (a fault in the fast path), it decides for the rest. */
        while (f < c->n && s_check_one(c, f, c->why, sizeof c->why) == 0) {
            evlog_record_t rec;
            (void)evlog_record_parse(c->raw + c->e[f].off, c->e[f].len, &rec);
            c->e[f].ts_ns = rec.ts_ns;
            c->e[f].body_off = (uint32_t)(rec.body ? rec.body - c->raw : 0);
            c->e[f].body_len = (uint32_t)rec.body_len;
            c->e[f].hashed_len = (uint32_t)rec.hashed_len;
            f++;
        }
    } else if (f < c->n) {
        snprintf(c->why, sizeof c->why, "seq %" PRIu64 ": envelope is not well-formed",
                 c->e[f].seq);
    }
    c->n_good = f;
    c->fail = f < c->n ? FAIL_CHECK : FAIL_NONE;
    if (cfg->eng == NULL)
        return;
    oms_arena_reset(&c->arena);
    for (uint32_t i = 0; i < f; i++) {
        entry_t *e = &c->e[i];
        int rc = s_decode(e->seq, c->raw + e->body_off, e->body_len, &c->arena, &c->evs[i], c->why,
                          sizeof c->why);
        if (rc == OMS_ERR_LIMIT) {
            e->ev = NULL; /* the consumer decodes it in its own, larger arena */
        } else if (rc) {
            c->n_good = i;
            c->fail = FAIL_DECODE;
            return;
        } else {
            e->ev = &c->evs[i];
            s_hint_keys(e, e->ev);
        }
    }
}

/* Records a failure of the pass. */
static void s_fail(replay_pass_t *o, replay_bad_t bad, uint64_t seq, int rc, const char *why)
{
    o->failed = true;
    o->bad = bad;
    o->bad_seq = seq;
    o->bad_rc = rc;
    snprintf(o->reason, sizeof o->reason, "%s", why);
}

/* The consume task: the checks that need the event before (sequencer time), the anchor, the
 * processor's and reader's findings in seq order, and the apply. Returns false when the pass is
 * over (a failure in p->co.out or p->rc, or the end). Owns p->co and the engine while it runs. */
static bool s_consume(pass_t *p, chunk_t *c)
{
    const replay_pass_cfg_t *cfg = p->cfg;
    consumer_t *co = &p->co;
    replay_pass_t *o = co->out;
    const proj_state_t *st = cfg->eng ? oms_engine_state(cfg->eng) : NULL;
    if (st && co->size_at && o->events >= co->size_at) {
        replay__size(cfg->eng, o->events, cfg->size_hint);
        co->size_at = 0;
    }
    if (st) {
        for (uint32_t i = 0; i < c->n_good; i++)
            if (c->e[i].ev)
                s_hint(st, &c->e[i], 1);
        for (uint32_t i = 0; i < c->n_good && i < PASS_HINT_AHEAD; i++)
            if (c->e[i].ev)
                s_hint(st, &c->e[i], 2);
        for (uint32_t i = 0; i < c->n_good && i < PASS_EV_AHEAD; i++)
            if (c->e[i].ev)
                s_hint_event(c->e[i].ev);
    }
    char why[512];
    for (uint32_t i = 0; i < c->n; i++) {
        const entry_t *e = &c->e[i];
        if (i == c->n_good && c->fail == FAIL_CHECK) {
            s_fail(o, REPLAY_BAD_CHAIN, e->seq, OMS_ERR_CORRUPT, c->why);
            return false;
        }
        if (cfg->verify) {
            if (e->ts_ns < co->prev_ts) {
                /* The sequencer's time never goes back (omsd holds it when the wall clock
                 * steps back); time filters and `state --time` rely on it. */
                snprintf(why, sizeof why,
                         "seq %" PRIu64 ": sequencer time %" PRId64 " ns is before the previous "
                         "event's %" PRId64 " ns",
                         e->seq, e->ts_ns, co->prev_ts);
                s_fail(o, REPLAY_BAD_EVENT, e->seq, OMS_ERR_CORRUPT, why);
                return false;
            }
            co->prev_ts = e->ts_ns;
            if (cfg->has_anchor && e->seq == cfg->anchor_seq) {
                o->anchor_seen = true;
                if (memcmp(s_tail(c, i), cfg->anchor_hash.bytes, OMS_HASH_LEN) != 0) {
                    snprintf(why, sizeof why,
                             "anchor: seq %" PRIu64 " has another hash than the one recorded",
                             e->seq);
                    s_fail(o, REPLAY_BAD_ANCHOR, e->seq, OMS_ERR_CORRUPT, why);
                    return false;
                }
            }
        } else if (cfg->to_ts_ns && e->ts_ns > cfg->to_ts_ns) {
            return false; /* sequencer time never goes back: nothing later is in range */
        }
        if (i == c->n_good && c->fail == FAIL_DECODE) {
            s_fail(o, REPLAY_BAD_EVENT, e->seq, OMS_ERR_CORRUPT, c->why);
            return false;
        }
        if (cfg->eng) {
            if (st && i + PASS_HINT_AHEAD < c->n_good && c->e[i + PASS_HINT_AHEAD].ev)
                s_hint(st, &c->e[i + PASS_HINT_AHEAD], 2);
            if (i + PASS_EV_AHEAD < c->n_good && c->e[i + PASS_EV_AHEAD].ev)
                s_hint_event(c->e[i + PASS_EV_AHEAD].ev);
            int rc = e->ev ? s_apply_ev(cfg->eng, e->seq, e->ts_ns, e->ev, why, sizeof why)
                           : s_decode_apply(cfg->eng, &co->arena, e->seq, e->ts_ns,
                                            c->raw + e->body_off, e->body_len, why, sizeof why);
            if (rc == OMS_ERR_NOMEM) {
                p->rc = rc;
                return false;
            }
            if (rc) {
                s_fail(o, REPLAY_BAD_EVENT, e->seq, rc, why);
                return false;
            }
        }
        o->events++;
        o->last_seq = e->seq;
        memcpy(o->last_hash.bytes, s_tail(c, i), OMS_HASH_LEN);
        if ((e->seq & (REPLAY_PROGRESS_EVERY - 1)) == 0)
            replay__progress_tick(cfg->progress, e->seq, cfg->progress_total);
    }
    switch (c->tail) {
    case TAIL_MORE:
        return true;
    case TAIL_FAIL:
        s_fail(o, c->tail_bad, c->tail_seq, c->tail_rc, c->tail_why);
        return false;
    case TAIL_ERR:
        p->rc = c->tail_rc;
        return false;
    default:
        return false; /* TAIL_END */
    }
}

/* ---- the threads ------------------------------------------------------------------------------
 */

/* What every thread runs (the caller too): takes the most urgent task available until the pass
 * is over. Tasks run outside the lock; the lock hands chunks (and the reader's and consumer's
 * state) from one thread to the next. */
static void *s_worker(void *arg)
{
    pass_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        chunk_t *c;
        if (!p->stop && !p->applying && p->next_apply < p->next_proc &&
            (c = s_slot(p, p->next_apply))->ready) {
            p->applying = true;
            pthread_mutex_unlock(&p->mu);
            bool more = s_consume(p, c);
            pthread_mutex_lock(&p->mu);
            c->ready = false;
            p->next_apply++;
            p->applying = false;
            if (!more)
                p->stop = true;
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (!p->stop && !p->reading && !p->read_done && p->next_read - p->next_apply < p->depth) {
            c = s_slot(p, p->next_read);
            p->reading = true;
            pthread_mutex_unlock(&p->mu);
            bool more = s_read(p, c);
            pthread_mutex_lock(&p->mu);
            p->next_read++;
            p->reading = false;
            if (!more)
                p->read_done = true;
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (!p->stop && p->next_proc < p->next_read) {
            c = s_slot(p, p->next_proc++);
            pthread_mutex_unlock(&p->mu);
            s_process(p, c);
            pthread_mutex_lock(&p->mu);
            c->ready = true;
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (p->stop || (p->read_done && p->next_apply == p->next_read))
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Frees what s_alloc allocated (NULL members are fine). */
static void s_free(pass_t *p)
{
    for (uint32_t i = 0; p->chunk && i < p->depth; i++) {
        free(p->chunk[i].e);
        free(p->chunk[i].raw);
        free(p->chunk[i].evs);
        oms_arena_free(&p->chunk[i].arena);
    }
    free(p->chunk);
    oms_arena_free(&p->co.arena);
}

/* The ring and the consumer's arena. 0 or OMS_ERR_NOMEM (then s_free). */
static int s_alloc(pass_t *p)
{
    bool rebuild = p->cfg->eng != NULL;
    p->chunk = calloc(p->depth, sizeof *p->chunk);
    if (p->chunk == NULL)
        return OMS_ERR_NOMEM;
    for (uint32_t i = 0; i < p->depth; i++) {
        chunk_t *c = &p->chunk[i];
        c->e = malloc(p->chunk_events * sizeof *c->e);
        c->raw = malloc(PASS_RAW_BYTES);
        c->raw_cap = PASS_RAW_BYTES;
        if (c->e == NULL || c->raw == NULL)
            return OMS_ERR_NOMEM;
        if (rebuild && ((c->evs = malloc(p->chunk_events * sizeof *c->evs)) == NULL ||
                        oms_arena_init(&c->arena, PASS_ARENA_BYTES) != 0))
            return OMS_ERR_NOMEM;
    }
    if (rebuild && oms_arena_init(&p->co.arena, REPLAY_ARENA_BYTES) != 0)
        return OMS_ERR_NOMEM;
    return 0;
}

void replay__size(oms_engine_t *eng, uint64_t done, uint64_t total)
{
    /* The tables an event stream keeps adding to; the others hold reference data (small) or
     * grow with orders anyway. */
    static const proj_table_t grow[] = {PROJ_T_ORDER, PROJ_T_CLORDID, PROJ_T_INSTR, PROJ_T_EXEC,
                                        PROJ_T_POSITION, PROJ_T_ALLOC, PROJ_T_PART};
    if (eng == NULL || done == 0 || total <= done)
        return;
    for (size_t i = 0; i < sizeof grow / sizeof grow[0]; i++) {
        uint64_t n = proj_count(oms_engine_state(eng), grow[i]);
        if (n == 0)
            continue;
        uint64_t want = n > UINT64_MAX / total ? UINT32_MAX : n * total / done;
        want += want / 8;
        (void)oms_engine_reserve(eng, grow[i], want > UINT32_MAX ? UINT32_MAX : (uint32_t)want);
    }
}

unsigned replay__threads(unsigned asked, uint64_t events)
{
    if (asked == 0) {
        /* The CPUs this process may run on (a container or taskset may allow fewer than the
         * machine has): more threads than that only take turns, and the apply with them. */
        cpu_set_t set;
        long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : sysconf(_SC_NPROCESSORS_ONLN);
        asked = events < PASS_SHORT_EVENTS || n < 1 ? 1u : (unsigned)n;
    }
    return asked > REPLAY_THREADS_MAX ? REPLAY_THREADS_MAX : asked;
}

int replay__pass(evlog_t *log, const replay_pass_cfg_t *cfg, replay_pass_t *out)
{
    memset(out, 0, sizeof *out);
    pass_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return OMS_ERR_NOMEM;
    p->cfg = cfg;
    unsigned threads = cfg->threads ? cfg->threads : 1;
    p->chunk_events = cfg->chunk_events ? cfg->chunk_events : PASS_CHUNK_EVENTS;
    p->depth = 2 * threads + 2;
    p->rd.expect = 1;
    p->co.prev_ts = INT64_MIN;
    p->co.out = out;
    if (cfg->eng && cfg->size_hint > 0)
        p->co.size_at = cfg->size_hint / PASS_SIZE_SHARE ? cfg->size_hint / PASS_SIZE_SHARE : 1;
    int rc = s_alloc(p);
    if (rc == 0 && (cfg->verify || cfg->to_seq > 0))
        rc = evlog_iter_new(log, 1, &p->rd.it);
    else if (rc == 0)
        p->read_done = true; /* a rebuild to seq 0: nothing to read */
    if (rc) {
        s_free(p);
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_t th[REPLAY_THREADS_MAX];
    unsigned started = 0;
    while (started + 1 < threads && pthread_create(&th[started], NULL, s_worker, p) == 0)
        started++; /* fewer threads than asked if the system refuses: same result, slower */
    s_worker(p);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    rc = p->rc;
    evlog_iter_destroy(&p->rd.it);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    s_free(p);
    free(p);
    return rc;
}
