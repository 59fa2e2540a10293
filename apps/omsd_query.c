/*
 * omsd_query.c - the query thread: the catch-up and query ROUTER (docs/PROTOCOL.md, section 3).
 * It answers from its own secondary handle on the store, never from the sequencer's memory, so
 * an answer shows only what is durable; the one thing it shares with the sequencer is the
 * counters (omsd_stats_t), for the Stats query and for knowing when the store has moved on (the
 * handle is refreshed only when the sequencer's durable head is past the handle's, and an
 * answer waits while the handle is past the durable head: it sees WAL bytes before their sync
 * ends, see s_refresh).
 *
 * Replies are stitched from stored bytes with the codec's reply writer: catch-up envelopes as
 * stored (hashes included), projection rows as stored. The executions of an order come from
 * its "e" index rows (codec.h) when the store has them: a prefix scan and a point read each.
 * Other lists that have no key order of their own (orders of an account, positions in an
 * instrument; executions in a store without index rows) are a scan of the column family with a
 * filter on two or three fields read straight from each row's bytes (s_pb_*, field numbers from
 * state.proto), without decoding the whole row: their cost grows with the table, not with the
 * answer (an index is the next step).
 *
 * One request at a time; at most QUERY_DRAIN requests per wake-up so a stop request is seen.
 * Memory: one reply buffer (CODEC_QREPLY_CAP), one sort buffer of the same size, a table of
 * OMSD_SUBSCRIBERS catch-up clients, all allocated at start.
 */
#include "omsd.h"

#include "codec.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

enum {
    QUERY_DRAIN = 64,             /* requests handled per wake-up */
    QUERY_ROWS_DEFAULT = 1000,    /* max_rows when the request says 0 */
    QUERY_ID_HEX = 32,            /* routing id bytes shown in the lag table (hex: 64 chars) */
    SORT_ENTRIES = OMS_LIMIT_QUERY_ROWS, /* rows collected for sorting */
    DURABLE_STEP_US = 50,         /* s_refresh: poll step while the store is ahead of durable */
    DURABLE_WAIT_MS = 2000,       /* s_refresh: longest wait for it to become durable */
};

/* One catch-up client in the lag table. */
typedef struct {
    bool used;                 /* slot in use */
    codec_sub_lag_t lag;       /* its figures */
} sub_t;

/* A row collected for sorting (executions by seq, allocations by created_seq). */
typedef struct {
    uint64_t key; /* the sort key */
    size_t off;   /* the row's bytes in sortbuf */
    size_t len;   /* their length */
} sort_ent_t;

struct omsd_query {
    void *ctx;                   /* the ZeroMQ context (the caller's) */
    void *sock;                  /* the ROUTER (this thread's) */
    evlog_t *log;                /* secondary handle (owned) */
    omsd_stats_t *stats;         /* shared counters */
    pthread_t thread;            /* the thread */
    _Atomic bool stop;           /* set by omsd_query_stop */
    uint8_t *reply;              /* CODEC_QREPLY_CAP bytes */
    uint8_t *sortbuf;            /* CODEC_QREPLY_CAP bytes of rows waiting to be sorted */
    sort_ent_t *sorted;          /* [SORT_ENTRIES] */
    sub_t subs[OMSD_SUBSCRIBERS]; /* catch-up clients seen */
    codec_stats_t cstats;        /* scratch for the Stats reply (large) */
    omsd_stats_view_t view;      /* scratch for the counters */
};

/* ---- reading fields from stored rows -------------------------------------------------------- */

typedef struct {
    bool found;         /* the field was present */
    uint64_t v;         /* varint fields */
    const uint8_t *p;   /* length-delimited fields: the bytes */
    size_t len;         /* their length */
} pb_field_t;

static int s_pb_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *off < len; shift += 7) {
        uint8_t b = p[(*off)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Finds the top-level fields a and b (their first occurrences) of a protobuf message. Returns 0,
 * or -1 for malformed bytes. Bounded by len: each step consumes at least one byte. */
static int s_pb_fields(const uint8_t *p, size_t len, uint32_t a, pb_field_t *fa, uint32_t b,
                       pb_field_t *fb)
{
    memset(fa, 0, sizeof *fa);
    memset(fb, 0, sizeof *fb);
    size_t off = 0;
    while (off < len) {
        uint64_t key = 0, v = 0;
        if (s_pb_varint(p, len, &off, &key) != 0)
            return -1;
        uint64_t num = key >> 3;
        pb_field_t *f = num == a ? fa : num == b ? fb : NULL;
        switch (key & 7) {
        case 0:
            if (s_pb_varint(p, len, &off, &v) != 0)
                return -1;
            if (f && !f->found)
                *f = (pb_field_t){.found = true, .v = v};
            break;
        case 1:
            if (len - off < 8)
                return -1;
            off += 8;
            break;
        case 5:
            if (len - off < 4)
                return -1;
            off += 4;
            break;
        case 2:
            if (s_pb_varint(p, len, &off, &v) != 0 || v > len - off)
                return -1;
            if (f && !f->found)
                *f = (pb_field_t){.found = true, .p = p + off, .len = v};
            off += v;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* True when a length-delimited field equals the NUL-terminated s (absent = ""). */
static bool s_pb_eq(const pb_field_t *f, const char *s)
{
    size_t n = strlen(s);
    return f->found ? (f->len == n && memcmp(f->p, s, n) == 0) : n == 0;
}

/* ---- the request context -------------------------------------------------------------------- */

/* One request being answered. */
typedef struct {
    omsd_query_t *q;         /* the thread */
    codec_reply_writer_t w;  /* the reply being written */
    const codec_query_t *rq; /* the request */
    codec_qlist_t list;      /* the list rows go to */
    uint32_t max_rows;       /* page size */
    uint32_t rows;           /* rows written */
    bool more;               /* the page was cut */
    size_t skip_prefix;      /* key bytes before the cursor-compared part */
    const char *after;       /* paging cursor ("" = none), compared with the key's rest */
    int err;                 /* a failure inside a scan callback */
    uint32_t n_sorted;       /* entries collected for sorting */
    size_t sort_used;        /* bytes of sortbuf used */
} req_t;

static uint32_t s_page(uint32_t asked)
{
    uint32_t n = asked ? asked : QUERY_ROWS_DEFAULT;
    return n < OMS_LIMIT_QUERY_ROWS ? n : OMS_LIMIT_QUERY_ROWS;
}

/* Adds one row to the open list; sets more and returns 1 (stop) when the page is full or the
 * reply buffer is. */
static int s_emit(req_t *r, const uint8_t *val, size_t vlen)
{
    if (r->rows >= r->max_rows) {
        r->more = true;
        return 1;
    }
    int rc = codec_qreply_row(&r->w, r->list, val, vlen);
    if (rc == OMS_ERR_LIMIT) {
        r->more = true;
        return 1;
    }
    if (rc != 0) {
        r->err = rc;
        return 1;
    }
    r->rows++;
    return 0;
}

/* True when the key's part after skip_prefix bytes is at or before the cursor. */
static bool s_before_cursor(const req_t *r, const uint8_t *key, size_t klen)
{
    if (!r->after[0])
        return false;
    size_t n = klen > r->skip_prefix ? klen - r->skip_prefix : 0;
    size_t an = strlen(r->after);
    int c = memcmp(key + r->skip_prefix, r->after, n < an ? n : an);
    return c < 0 || (c == 0 && n <= an);
}

/* ---- scans ---------------------------------------------------------------------------------- */

/* Every row of the prefix, after the cursor. */
static int s_scan_all(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    req_t *r = ctx;
    if (s_before_cursor(r, key, klen))
        return 0;
    return s_emit(r, val, vlen);
}

/* Orders (Order: account_id = 2, status = 20) of account rq->id, after the cursor. */
static int s_scan_orders(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    req_t *r = ctx;
    if (s_before_cursor(r, key, klen))
        return 0;
    pb_field_t acct, status;
    if (s_pb_fields(val, vlen, 2, &acct, 20, &status) != 0) {
        r->err = OMS_ERR_CORRUPT;
        return 1;
    }
    if (!s_pb_eq(&acct, r->rq->id))
        return 0;
    if (r->rq->open_only && oms_status_is_terminal((oms_ord_status_t)status.v))
        return 0;
    return s_emit(r, val, vlen);
}

/* Positions (key account 0x1f instrument) in instrument rq->id, after the account cursor. */
static int s_scan_positions_of_instrument(void *ctx, const uint8_t *key, size_t klen,
                                          const uint8_t *val, size_t vlen)
{
    req_t *r = ctx;
    const uint8_t *sep = memchr(key, 0x1f, klen);
    if (!sep)
        return 0;
    size_t alen = (size_t)(sep - key), ilen = klen - alen - 1;
    size_t idlen = strlen(r->rq->id);
    if (ilen != idlen || memcmp(sep + 1, r->rq->id, idlen) != 0)
        return 0;
    if (r->after[0] && s_before_cursor(r, key, alen))
        return 0;
    return s_emit(r, val, vlen);
}

/* Restrictions (Restriction: restricted = 5) in force. */
static int s_scan_restrictions(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                               size_t vlen)
{
    req_t *r = ctx;
    (void)key;
    (void)klen;
    pb_field_t restricted, unused;
    if (s_pb_fields(val, vlen, 5, &restricted, 0, &unused) != 0) {
        r->err = OMS_ERR_CORRUPT;
        return 1;
    }
    if (!restricted.found || restricted.v == 0)
        return 0;
    return s_emit(r, val, vlen);
}

/* Collects a row for sorting by key; stops with more = true when the sort buffer is full. */
static int s_collect(req_t *r, uint64_t key, const uint8_t *val, size_t vlen)
{
    omsd_query_t *q = r->q;
    if (r->n_sorted >= SORT_ENTRIES || vlen > CODEC_QREPLY_CAP - r->sort_used) {
        r->more = true;
        return 1;
    }
    memcpy(q->sortbuf + r->sort_used, val, vlen);
    q->sorted[r->n_sorted++] = (sort_ent_t){key, r->sort_used, vlen};
    r->sort_used += vlen;
    return 0;
}

/* Executions (Execution: order_id = 3, seq = 9) of order rq->id. */
static int s_scan_execs(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                        size_t vlen)
{
    req_t *r = ctx;
    (void)key;
    (void)klen;
    pb_field_t oid, seq;
    if (s_pb_fields(val, vlen, 3, &oid, 9, &seq) != 0) {
        r->err = OMS_ERR_CORRUPT;
        return 1;
    }
    if (!s_pb_eq(&oid, r->rq->id))
        return 0;
    return s_collect(r, seq.v, val, vlen);
}

/* Executions of order rq->id through its "e" index rows (a store with index rows, codec.h):
 * each index key names an execution row, read with one point read and collected like
 * s_scan_execs does. A key that does not parse, or names a row that is missing or belongs to
 * another order, is OMS_ERR_CORRUPT (the store contradicts itself). */
static int s_scan_exec_index(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                             size_t vlen)
{
    req_t *r = ctx;
    (void)val;
    (void)vlen;
    char venue[OMS_ID_CAP], exec_id[OMS_ID_CAP];
    uint8_t xk[CODEC_KEY_CAP];
    size_t xl = 0;
    if (codec_key_exec_index_parse(key, klen, strlen(r->rq->id), venue, exec_id) != 0 ||
        (xl = codec_key_exec(xk, sizeof xk, venue, exec_id)) == 0) {
        r->err = OMS_ERR_CORRUPT;
        return 1;
    }
    uint8_t *xv = NULL;
    size_t xvl = 0;
    int rc = evlog_row_get(r->q->log, EVLOG_CF_ORDERS, xk, xl, &xv, &xvl);
    if (rc != 0) {
        r->err = rc == OMS_ERR_NOT_FOUND ? OMS_ERR_CORRUPT : rc;
        return 1;
    }
    pb_field_t oid, seq;
    int res;
    if (s_pb_fields(xv, xvl, 3, &oid, 9, &seq) != 0 || !s_pb_eq(&oid, r->rq->id)) {
        r->err = OMS_ERR_CORRUPT;
        res = 1;
    } else {
        res = s_collect(r, seq.v, xv, xvl);
    }
    evlog_free(xv);
    return res;
}

/* Allocations (Allocation: created_seq = 12) of the order (prefix scan). */
static int s_scan_allocs(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    req_t *r = ctx;
    (void)key;
    (void)klen;
    pb_field_t created, unused;
    if (s_pb_fields(val, vlen, 12, &created, 0, &unused) != 0) {
        r->err = OMS_ERR_CORRUPT;
        return 1;
    }
    return s_collect(r, created.v, val, vlen);
}

static int s_cmp_sort(const void *a, const void *b)
{
    const sort_ent_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Writes the collected rows in key order. */
static void s_emit_sorted(req_t *r)
{
    qsort(r->q->sorted, r->n_sorted, sizeof *r->q->sorted, s_cmp_sort);
    for (uint32_t i = 0; i < r->n_sorted; i++) {
        const sort_ent_t *e = &r->q->sorted[i];
        if (s_emit(r, r->q->sortbuf + e->off, e->len) != 0)
            break;
    }
}

/* ---- the queries ---------------------------------------------------------------------------- */

/* A key made of a one-byte prefix and an id (refdata "i"/"a"/"p", orders "o"). */
static size_t s_key1(uint8_t *key, char prefix, const char *id)
{
    size_t n = strlen(id);
    key[0] = (uint8_t)prefix;
    memcpy(key + 1, id, n);
    return n + 1;
}

/* Whether order id exists: 0, OMS_ERR_NOT_FOUND, or OMS_ERR_IO. With row != NULL, the order's
 * row goes into the list. */
static int s_order_row(req_t *r, bool emit)
{
    uint8_t key[1 + OMS_ID_CAP];
    size_t kl = s_key1(key, 'o', r->rq->id);
    uint8_t *val = NULL;
    size_t vlen = 0;
    int rc = evlog_row_get(r->q->log, EVLOG_CF_ORDERS, key, kl, &val, &vlen);
    if (rc == 0 && emit)
        s_emit(r, val, vlen);
    evlog_free(val);
    return rc;
}

static int s_scan(req_t *r, evlog_cf_t cf, const uint8_t *prefix, size_t plen,
                  int (*fn)(void *, const uint8_t *, size_t, const uint8_t *, size_t))
{
    int rc = evlog_scan(r->q->log, cf, prefix, plen, fn, r);
    if (rc < 0)
        return rc;
    return r->err;
}

/* The list queries: fills the reply's list or returns an error for an ErrorReply. */
static int s_list_query(req_t *r, char *why, size_t cap)
{
    const codec_query_t *rq = r->rq;
    omsd_query_t *q = r->q;
    uint8_t key[2 + OMS_ID_CAP];
    int rc = 0;
    r->max_rows = s_page(rq->max_rows);
    r->after = rq->after;
    switch (rq->kind) {
    case CODEC_Q_ORDER:
        r->list = CODEC_QL_ORDERS;
        r->max_rows = 1;
        rc = codec_qreply_list_begin(&r->w, r->list);
        if (rc == 0)
            rc = s_order_row(r, true);
        if (rc == OMS_ERR_NOT_FOUND)
            snprintf(why, cap, "order '%s' not found", rq->id);
        return rc;
    case CODEC_Q_ORDERS_OF_ACCOUNT:
        r->list = CODEC_QL_ORDERS;
        r->skip_prefix = 1;
        rc = codec_qreply_list_begin(&r->w, r->list);
        return rc ? rc : s_scan(r, EVLOG_CF_ORDERS, (const uint8_t *)"o", 1, s_scan_orders);
    case CODEC_Q_EXECUTIONS_OF_ORDER:
        r->list = CODEC_QL_EXECUTIONS;
        r->max_rows = OMS_LIMIT_QUERY_ROWS;
        r->after = "";
        if ((rc = s_order_row(r, false)) != 0) {
            if (rc == OMS_ERR_NOT_FOUND)
                snprintf(why, cap, "order '%s' not found", rq->id);
            return rc;
        }
        if ((rc = codec_qreply_list_begin(&r->w, r->list)) != 0)
            return rc;
        /* A store with index rows lists the order's executions under "e" order_id 0x1f: the
         * cost follows the answer. Older stores: a scan of every execution. */
        uint8_t *mark = NULL;
        size_t ml = 0;
        rc = evlog_row_get(q->log, EVLOG_CF_META, (const uint8_t *)CODEC_INDEX_MARKER_KEY,
                           strlen(CODEC_INDEX_MARKER_KEY), &mark, &ml);
        evlog_free(mark);
        if (rc == 0) {
            size_t n = strlen(rq->id);
            key[0] = 'e';
            memcpy(key + 1, rq->id, n);
            key[n + 1] = 0x1f;
            rc = s_scan(r, EVLOG_CF_ORDERS, key, n + 2, s_scan_exec_index);
        } else if (rc == OMS_ERR_NOT_FOUND) {
            rc = s_scan(r, EVLOG_CF_ORDERS, (const uint8_t *)"x", 1, s_scan_execs);
        }
        if (rc != 0)
            return rc;
        s_emit_sorted(r);
        return r->err;
    case CODEC_Q_ALLOCATIONS_OF_ORDER: {
        r->list = CODEC_QL_ALLOCATIONS;
        r->max_rows = OMS_LIMIT_QUERY_ROWS;
        r->after = "";
        if ((rc = s_order_row(r, false)) != 0) {
            if (rc == OMS_ERR_NOT_FOUND)
                snprintf(why, cap, "order '%s' not found", rq->id);
            return rc;
        }
        size_t n = strlen(rq->id);
        memcpy(key, rq->id, n);
        key[n] = 0x1f;
        if ((rc = codec_qreply_list_begin(&r->w, r->list)) != 0 ||
            (rc = s_scan(r, EVLOG_CF_ALLOCATIONS, key, n + 1, s_scan_allocs)) != 0)
            return rc;
        s_emit_sorted(r);
        return r->err;
    }
    case CODEC_Q_POSITIONS_OF_ACCOUNT: {
        r->list = CODEC_QL_POSITIONS;
        size_t n = strlen(rq->id);
        memcpy(key, rq->id, n);
        key[n] = 0x1f;
        r->skip_prefix = n + 1;
        rc = codec_qreply_list_begin(&r->w, r->list);
        return rc ? rc : s_scan(r, EVLOG_CF_POSITIONS, key, n + 1, s_scan_all);
    }
    case CODEC_Q_POSITIONS_OF_INSTRUMENT:
        r->list = CODEC_QL_POSITIONS;
        r->skip_prefix = 0;
        rc = codec_qreply_list_begin(&r->w, r->list);
        return rc ? rc : s_scan(r, EVLOG_CF_POSITIONS, NULL, 0, s_scan_positions_of_instrument);
    default:
        break;
    }
    (void)q;
    snprintf(why, cap, "unknown query");
    return OMS_ERR_INVALID;
}

/* Reference data: one item by id, or every item of a kind (after the cursor for instruments,
 * accounts and principals; limits and restrictions, whose keys are composite, are returned from
 * the start), or all kinds up to max_rows in total. */
static int s_ref_query(req_t *r, char *why, size_t cap)
{
    static const struct {
        codec_ref_kind_t kind;
        codec_qlist_t list;
        char prefix;
    } kinds[] = {
        {CODEC_REF_INSTRUMENT, CODEC_QL_INSTRUMENTS, 'i'},
        {CODEC_REF_ACCOUNT, CODEC_QL_ACCOUNTS, 'a'},
        {CODEC_REF_PRINCIPAL, CODEC_QL_PRINCIPALS, 'p'},
        {CODEC_REF_LIMITS, CODEC_QL_LIMITS, 'l'},
        {CODEC_REF_RESTRICTION, CODEC_QL_RESTRICTIONS, 'r'},
    };
    const codec_query_t *rq = r->rq;
    r->max_rows = s_page(rq->max_rows);
    r->skip_prefix = 1;
    int rc = codec_qreply_list_begin(&r->w, CODEC_QL_INSTRUMENTS);
    if (rc)
        return rc;
    if (rq->id[0]) {
        for (size_t k = 0; k < 3; k++) {
            if (kinds[k].kind != rq->ref_kind)
                continue;
            uint8_t key[1 + OMS_ID_CAP];
            size_t kl = s_key1(key, kinds[k].prefix, rq->id);
            uint8_t *val = NULL;
            size_t vlen = 0;
            rc = evlog_row_get(r->q->log, EVLOG_CF_REFDATA, key, kl, &val, &vlen);
            if (rc == 0) {
                r->list = kinds[k].list;
                s_emit(r, val, vlen);
            } else if (rc == OMS_ERR_NOT_FOUND) {
                snprintf(why, cap, "'%s' not found", rq->id);
            }
            evlog_free(val);
            return rc ? rc : r->err;
        }
        snprintf(why, cap, "an id selects one instrument, account or principal");
        return OMS_ERR_INVALID;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !r->more; k++) {
        if (rq->ref_kind != CODEC_REF_ALL && rq->ref_kind != kinds[k].kind)
            continue;
        r->list = kinds[k].list;
        /* The cursor applies within one kind of simple ids only. */
        r->after = rq->ref_kind != CODEC_REF_ALL && k < 3 ? rq->after : "";
        uint8_t prefix = (uint8_t)kinds[k].prefix;
        rc = s_scan(r, EVLOG_CF_REFDATA, &prefix, 1,
                    kinds[k].kind == CODEC_REF_RESTRICTION ? s_scan_restrictions : s_scan_all);
        if (rc)
            return rc;
    }
    return 0;
}

/* Catch-up: envelopes from_seq.. as stored, at most min(max_events or the default, limit), cut
 * earlier if the reply buffer is full. */
static int s_catch_up(req_t *r, uint64_t head, char *why, size_t cap)
{
    const codec_query_t *rq = r->rq;
    if (rq->from_seq == 0) {
        snprintf(why, cap, "from_seq must be at least 1");
        return OMS_ERR_INVALID;
    }
    uint32_t max = rq->max_events ? rq->max_events : OMSD_CATCHUP_DEFAULT;
    if (max > OMS_LIMIT_CATCHUP_EVENTS)
        max = OMS_LIMIT_CATCHUP_EVENTS;
    bool more = false;
    uint64_t next = rq->from_seq;
    if (rq->from_seq <= head) {
        evlog_iter_t *it = NULL;
        int rc = evlog_iter_new(r->q->log, rq->from_seq, &it);
        if (rc)
            return rc;
        for (uint32_t n = 0; n < max && next <= head; n++) {
            uint64_t seq = 0;
            const uint8_t *val = NULL;
            size_t len = 0;
            rc = evlog_iter_next(it, &seq, &val, &len);
            if (rc == 0)
                break; /* the snapshot ends before head: cannot happen after refresh */
            if (rc < 0 || seq != next) {
                evlog_iter_destroy(&it);
                snprintf(why, cap, "the log is not contiguous at seq %llu",
                         (unsigned long long)next);
                return rc < 0 ? rc : OMS_ERR_CORRUPT;
            }
            rc = codec_qreply_catch_up_event(&r->w, val, len);
            if (rc == OMS_ERR_LIMIT)
                break; /* the reply is full: the client asks again from here */
            if (rc) {
                evlog_iter_destroy(&it);
                return rc;
            }
            next++;
        }
        evlog_iter_destroy(&it);
        more = next <= head;
    }
    return codec_qreply_catch_up_end(&r->w, more);
}

/* ---- catch-up clients ----------------------------------------------------------------------- */

static void s_note_client(omsd_query_t *q, const uint8_t *id, size_t idlen, uint64_t from_seq,
                          uint64_t head)
{
    char hex[2 * QUERY_ID_HEX + 1];
    size_t n = idlen < QUERY_ID_HEX ? idlen : QUERY_ID_HEX;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    hex[2 * n] = '\0';
    sub_t *slot = NULL, *oldest = &q->subs[0];
    for (int i = 0; i < OMSD_SUBSCRIBERS; i++) {
        sub_t *s = &q->subs[i];
        if (s->used && strcmp(s->lag.client, hex) == 0) {
            slot = s;
            break;
        }
        if (!s->used && (!slot || slot->used))
            slot = s;
        if (s->used && oldest->used && s->lag.last_seen_ts_ns < oldest->lag.last_seen_ts_ns)
            oldest = s;
    }
    if (!slot)
        slot = oldest; /* table full: forget the client seen longest ago */
    slot->used = true;
    oms_strlcpy(slot->lag.client, hex, sizeof slot->lag.client);
    slot->lag.last_from_seq = from_seq;
    slot->lag.lag_events = head >= from_seq ? head - (from_seq - 1) : 0;
    slot->lag.last_seen_ts_ns = oms_clock_now_ns();
}

/* ---- stats ---------------------------------------------------------------------------------- */

static int s_stats(omsd_query_t *q, codec_reply_writer_t *w)
{
    omsd_stats_view_t *v = &q->view;
    codec_stats_t *c = &q->cstats;
    omsd_stats_view(q->stats, v);
    memset(c, 0, sizeof *c);
    c->head_seq = v->head_seq;
    c->head_hash = v->head_hash;
    c->started_ts_ns = v->started_ts_ns;
    c->window_ns = v->window_ns;
    c->commands_per_s = v->commands_per_s;
    c->events_per_s = v->events_per_s;
    c->commands_total = v->commands_total;
    c->events_total = v->events_total;
    c->batches_total = v->batches_total;
    c->batch_commands_last = v->batch_commands_last;
    c->batch_commands_max = v->batch_commands_max;
    c->batch_events_max = v->batch_events_max;
    c->commands_per_batch_mean_e3 = v->commands_per_batch_mean_e3;
    c->append_latency_us_p50 = v->append_latency_us_p50;
    c->append_latency_us_p99 = v->append_latency_us_p99;
    c->rejects_total = v->rejects_total;
    for (uint32_t i = 0; i < OMSD_REASONS && c->n_rejects_by_reason < CODEC_STATS_REASONS_MAX;
         i++)
        if (v->rejects_by_reason[i])
            c->rejects_by_reason[c->n_rejects_by_reason++] =
                (codec_reject_count_t){(oms_reject_reason_t)i, v->rejects_by_reason[i]};
    c->errors_total = v->errors_total;
    c->duplicates_total = v->duplicates_total;
    c->orders_in_memory = v->orders_in_memory;
    c->state_reloads_total = v->state_reloads_total;
    for (int i = 0; i < OMSD_SUBSCRIBERS && c->n_subscribers < CODEC_STATS_SUBSCRIBERS_MAX; i++)
        if (q->subs[i].used)
            c->subscribers[c->n_subscribers++] = q->subs[i].lag;
    return codec_qreply_stats(w, c);
}

/* ---- one request ---------------------------------------------------------------------------- */

/* Brings the handle up to the sequencer's durable head when it is behind, and answers nothing
 * the sequencer has not reported durable. A secondary catches up with whatever is in the WAL
 * file, and the WAL file holds a batch's bytes before its sync ends (during the sync, and for a
 * group's earlier batches, from their unsynced write): read then, the handle can be a batch or
 * a group ahead of what is durable, and a row or event read from it could be lost by a power
 * failure although a client was shown it. So, when the handle is ahead of the durable head the
 * sequencer publishes, this waits (in steps of DURABLE_STEP_US, at most DURABLE_WAIT_MS) for
 * the sequencer to catch up; a sync takes well under a millisecond. 0, OMS_ERR_IO (refresh
 * failed), or OMS_ERR_BUSY when the log did not become durable in time (the caller answers
 * ERROR and the client asks again). *head is the handle's head. */
static int s_refresh(omsd_query_t *q, uint64_t *head)
{
    evlog_head(q->log, head, NULL);
    if (atomic_load(&q->stats->head_seq_pub) > *head) {
        int rc = evlog_refresh(q->log);
        if (rc)
            return rc;
        evlog_head(q->log, head, NULL);
    }
    for (int i = 0; atomic_load(&q->stats->head_seq_pub) < *head; i++) {
        if (i >= DURABLE_WAIT_MS * 1000 / DURABLE_STEP_US)
            return OMS_ERR_BUSY;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = DURABLE_STEP_US * 1000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Builds the reply to payload[len] from the peer id[idlen] into q->reply; *out_len its size. */
static void s_answer(omsd_query_t *q, const uint8_t *id, size_t idlen, const uint8_t *payload,
                     size_t len, bool multi, size_t *out_len)
{
    codec_query_t rq;
    req_t r;
    memset(&r, 0, sizeof r);
    r.q = q;
    r.rq = &rq;
    r.after = "";
    char why[OMS_TEXT_CAP];
    why[0] = '\0';
    int rc;
    uint64_t head = 0;
    memset(&rq, 0, sizeof rq);
    if (multi) {
        rc = OMS_ERR_LIMIT;
        snprintf(why, sizeof why, "expected exactly one frame");
    } else {
        rc = codec_decode_query(payload, len, &rq, why, sizeof why);
        if (rc == 0 && rq.kind == CODEC_Q_NONE) {
            rc = OMS_ERR_DECODE;
            snprintf(why, sizeof why, "the request holds no query");
        }
    }
    if (rc == 0 && rq.kind != CODEC_Q_STATS && (rc = s_refresh(q, &head)) != 0) {
        if (rc == OMS_ERR_BUSY)
            snprintf(why, sizeof why, "the store is not yet durable; ask again");
        else
            snprintf(why, sizeof why, "the store could not be read: %s", evlog_errmsg(q->log));
    }
    if (rq.kind == CODEC_Q_STATS && rc == 0)
        head = atomic_load(&q->stats->head_seq_pub);
    int brc = codec_qreply_begin(&r.w, q->reply, CODEC_QREPLY_CAP, rq.request_id, head);
    assert(brc == 0); /* a decoded request id always fits the 1 MiB buffer */
    (void)brc;
    if (rc == 0) {
        switch (rq.kind) {
        case CODEC_Q_CATCH_UP:
            s_note_client(q, id, idlen, rq.from_seq, head);
            rc = s_catch_up(&r, head, why, sizeof why);
            break;
        case CODEC_Q_STATS:
            rc = s_stats(q, &r.w);
            break;
        case CODEC_Q_REF_DATA:
            rc = s_ref_query(&r, why, sizeof why);
            if (rc == 0)
                rc = codec_qreply_list_end(&r.w, r.more);
            break;
        default:
            rc = s_list_query(&r, why, sizeof why);
            if (rc == 0)
                rc = codec_qreply_list_end(&r.w, r.more);
            break;
        }
    }
    if (rc != 0) {
        if (!why[0])
            snprintf(why, sizeof why, "%s", oms_strerror(rc));
        OMSD_DEBUG("query '%s' refused: %s (%s)", rq.request_id, why, oms_errname(rc));
        codec_qreply_error(&r.w, rc, why);
    }
    if (codec_qreply_finish(&r.w, out_len) != 0) {
        /* Only when a result was left open: a bug here, but answer rather than leave the
         * client waiting. */
        OMSD_ERROR("query '%s': reply left incomplete", rq.request_id);
        codec_qreply_error(&r.w, OMS_ERR_STATE, "internal error");
        if (codec_qreply_finish(&r.w, out_len) != 0)
            *out_len = 0;
    }
}

/* Receives and answers one request. 1 when one was handled, 0 when none was waiting, or
 * OMS_ERR_IO when the socket failed. */
static int s_one(omsd_query_t *q, zmq_msg_t *ident, zmq_msg_t *body)
{
    if (zmq_msg_recv(ident, q->sock, ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : OMS_ERR_IO;
    if (!zmq_msg_more(ident))
        return 1;
    if (zmq_msg_recv(body, q->sock, ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : OMS_ERR_IO;
    bool multi = zmq_msg_more(body);
    if (multi) {
        /* Drop the rest of the message (it arrived whole: this ends with it). */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        while (zmq_msg_recv(&extra, q->sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&extra))
            ;
        zmq_msg_close(&extra);
    }
    size_t len = zmq_msg_size(body);
    size_t out = 0;
    s_answer(q, zmq_msg_data(ident), zmq_msg_size(ident), zmq_msg_data(body),
             len > OMS_LIMIT_MSG_BYTES ? OMS_LIMIT_MSG_BYTES + 1 : len, multi, &out);
    if (out == 0)
        return 1;
    if (zmq_send(q->sock, zmq_msg_data(ident), zmq_msg_size(ident), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_send(q->sock, q->reply, out, ZMQ_DONTWAIT) < 0)
        OMSD_WARN("query reply not sent: %s", zmq_strerror(errno));
    return 1;
}

static void *s_thread(void *arg)
{
    omsd_query_t *q = arg;
    zmq_msg_t ident, body;
    zmq_msg_init(&ident);
    zmq_msg_init(&body);
    zmq_pollitem_t item = {.socket = q->sock, .events = ZMQ_POLLIN};
    while (!atomic_load(&q->stop)) {
        int rc = zmq_poll(&item, 1, OMSD_POLL_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            OMSD_ERROR("query socket: %s", zmq_strerror(errno));
            break;
        }
        for (int k = 0; rc > 0 && k < QUERY_DRAIN && !atomic_load(&q->stop); k++) {
            int n = s_one(q, &ident, &body);
            if (n < 0)
                OMSD_ERROR("query socket: %s", zmq_strerror(errno));
            if (n <= 0)
                break;
        }
    }
    zmq_msg_close(&ident);
    zmq_msg_close(&body);
    return NULL;
}

/* ---- start / stop --------------------------------------------------------------------------- */

static void s_free(omsd_query_t *q)
{
    if (q->sock)
        zmq_close(q->sock);
    evlog_destroy(&q->log);
    free(q->reply);
    free(q->sortbuf);
    free(q->sorted);
    free(q);
}

int omsd_query_start(void *ctx, const char *endpoint, evlog_t *log, omsd_stats_t *stats,
                     omsd_query_t **out, char *err, size_t cap)
{
    *out = NULL;
    omsd_query_t *q = calloc(1, sizeof *q);
    if (!q) {
        evlog_destroy(&log);
        snprintf(err, cap, "out of memory");
        return OMS_ERR_NOMEM;
    }
    q->ctx = ctx;
    q->log = log;
    q->stats = stats;
    q->reply = malloc(CODEC_QREPLY_CAP);
    q->sortbuf = malloc(CODEC_QREPLY_CAP);
    q->sorted = calloc(SORT_ENTRIES, sizeof *q->sorted);
    if (!q->reply || !q->sortbuf || !q->sorted) {
        s_free(q);
        snprintf(err, cap, "out of memory");
        return OMS_ERR_NOMEM;
    }
    /* The socket is created here and then used only by the thread (the thread's start is a
     * full memory barrier). */
    q->sock = zmq_socket(ctx, ZMQ_ROUTER);
    int64_t maxmsg = OMSD_MAXMSG_BYTES;
    int hwm = OMSD_QUERY_HWM, linger = OMSD_LINGER_MS, zero = 0;
    if (!q->sock || zmq_setsockopt(q->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(q->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(q->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(q->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(q->sock, ZMQ_ROUTER_MANDATORY, &zero, sizeof zero) != 0 ||
        zmq_bind(q->sock, endpoint) != 0) {
        snprintf(err, cap, "cannot bind the query endpoint %s: %s", endpoint,
                 zmq_strerror(errno));
        s_free(q);
        return OMS_ERR_IO;
    }
    /* Signals go to the main thread only. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&q->thread, NULL, s_thread, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, cap, "cannot start the query thread: %s", strerror(rc));
        s_free(q);
        return OMS_ERR_NOMEM;
    }
    *out = q;
    return 0;
}

void omsd_query_stop(omsd_query_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    omsd_query_t *q = *self_p;
    atomic_store(&q->stop, true);
    pthread_join(q->thread, NULL);
    s_free(q);
    *self_p = NULL;
}
