/*
 * engine.c - oms_engine: one batch of commands through idempotency, the handlers and the
 * projections, into encoded events, rows and replies (see engine.h for the contract).
 *
 * Load: this is the sequencer's whole CPU budget per command. Buffers are allocated once at
 * creation (events, replies, rows) or grow geometrically up to the batch limits; the hot path
 * allocates only when the in-memory idempotency store (tests, benchmarks) needs a new 1 MiB
 * block or a larger index. A batch first asks for the memory its commands will look up (index
 * slots, then order records a few commands ahead), so those cache misses overlap.
 */
#include "engine.h"

#include "codec.h"

#include <assert.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDEM_KEY_CAP  (2 * OMS_ID_CAP + 2)
/* An idempotency row's value: the command's content digest (oms_digest128 of its wire bytes),
 * then the encoded reply. */
#define IDEM_DIGEST_LEN OMS_DIGEST128_LEN
#define REPLY_MAX     2048 /* an encoded CommandReply is far below this */
#define ROW_VALUE_MAX (256 * 1024)
#define ROW_DIRECT    4096 /* rows up to this size are encoded in place (see s_projection_rows) */

#define S_INS_DONE 64 /* instruments remembered as wholly loaded (see s_need_instrument) */
#define S_DELETE   ((const uint8_t *)UINTPTR_MAX) /* a staged row's value: delete the key */

/* A growable byte buffer with a hard cap. */
typedef struct {
    uint8_t *p;
    size_t used, cap, limit;
} buf_t;

static uint8_t *s_buf_reserve(buf_t *b, size_t n)
{
    if (b->used + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->used + n)
            cap *= 2;
        if (cap > b->limit)
            return NULL;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return NULL;
        b->p = q;
        b->cap = cap;
    }
    return b->p + b->used;
}

/* In-memory idempotency store (no lookup callback): key -> value. Entries are packed into
 * blocks of S_MEM_BLOCK bytes that are only freed with the engine (no allocation per entry);
 * the index is open addressing on a 64-bit hash kept in the slot, so a key that is not there
 * (every new command) is settled without touching any entry. */
typedef struct {
    uint32_t klen, vlen;
    uint8_t data[]; /* key then value */
} mem_entry_t;

typedef struct {
    uint64_t hash;        /* oms_hash64 of the key; the slot is empty when e is NULL */
    const mem_entry_t *e; /* the entry */
} mem_slot_t;

typedef struct mem_block {
    struct mem_block *next;
    size_t used;
    _Alignas(8) uint8_t bytes[];
} mem_block_t;

#define S_MEM_BLOCK (1u << 20)

typedef struct {
    mem_slot_t *slots;
    uint32_t n_slots, n; /* power of two; entries */
    mem_block_t *blocks; /* newest first */
} mem_store_t;

/* An idempotency record staged in the current batch. */
typedef struct {
    char key[IDEM_KEY_CAP];
    size_t klen;
    uint64_t hash;        /* oms_hash64 of the key */
    uint32_t slot;        /* its place in staged_slots (cleared at the next batch) */
    size_t val_off, vlen; /* in rowbuf */
} staged_idem_t;

struct oms_engine {
    oms_engine_opts_t opts;
    proj_state_t *st;
    uint64_t head;       /* last committed seq */
    uint64_t next_seq;   /* seq the next event gets */
    bool open;           /* a batch is between process and commit/rollback */
    bool spent;          /* oms_engine_replay_event failed half-way: the state is undefined,
                            every later call that reads or changes it is refused */
    oms_arena_t arena;   /* event parts, per batch */
    oms_event_t *events; /* decoded events of the batch */
    evlog_event_t *env;  /* their envelopes for the log */
    uint32_t max_events;
    oms_reply_t *replies;
    evlog_row_t *rows;
    uint32_t n_rows, max_rows;
    buf_t bodies;          /* encoded event bodies */
    buf_t rowbuf;          /* row keys and values */
    staged_idem_t *staged; /* idempotency records of this batch */
    uint32_t n_staged;
    uint32_t *staged_slots; /* hash of staged keys -> index + 1 */
    mem_store_t mem;        /* used when opts.lookup is NULL */
    uint32_t *dirty;        /* (table << 27 | idx) keys, sorted for uniqueness; then as many
                               again as the sort's scratch */
    uint32_t dirty_cap;
    uint8_t *scratch; /* row value / reply encoding scratch */
    size_t scratch_cap;
    /* On-demand loading (engine.h). */
    bool indexed;     /* the store has index rows from its start (a new log, or the
                         marker found at load) */
    bool write_index; /* write index rows with each batch (row_get set and indexed) */
    bool on_demand;   /* some stored orders may be absent: resolve before each batch */
    buf_t ids;        /* order ids collected by a scan, NUL-separated */
    buf_t keys;       /* "e" index keys of the order being loaded, length-prefixed */
    char ins_done[S_INS_DONE][OMS_ID_CAP]; /* instruments all of whose orders are in memory */
    uint32_t n_ins_done;                   /* their count (beyond S_INS_DONE a bust scans again) */
    uint64_t n_loaded;                     /* orders loaded on demand */
    char err[320];                         /* the last on-demand failure, "" */
};

#define STAGED_SLOTS 4096 /* > 2 x OMS_LIMIT_BATCH_COMMANDS */

void oms_engine_opts_default(oms_engine_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->max_batch_events = OMS_LIMIT_BATCH_EVENTS;
    o->encode_rows = true;
}

static int s_store_idem(void *ctx, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    return evlog_row_get((evlog_t *)ctx, EVLOG_CF_IDEMPOTENCY, key, klen, val, vlen);
}

static int s_store_get(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen, uint8_t **val,
                       size_t *vlen)
{
    return evlog_row_get((evlog_t *)ctx, cf, key, klen, val, vlen);
}

static int s_store_scan(void *ctx, evlog_cf_t cf, const uint8_t *prefix, size_t plen,
                        int (*fn)(void *, const uint8_t *, size_t, const uint8_t *, size_t),
                        void *fctx)
{
    return evlog_scan((evlog_t *)ctx, cf, prefix, plen, fn, fctx);
}

void oms_engine_opts_use_store(oms_engine_opts_t *o, evlog_t *log)
{
    o->lookup = s_store_idem;
    o->lookup_ctx = log;
    o->free_fn = evlog_free;
    o->row_get = s_store_get;
    o->row_scan = s_store_scan;
    o->row_ctx = log;
}

oms_engine_t *oms_engine_new(const oms_engine_opts_t *opts, uint64_t head_seq)
{
    oms_engine_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (opts)
        e->opts = *opts;
    else
        oms_engine_opts_default(&e->opts);
    if (e->opts.max_batch_events == 0 || e->opts.max_batch_events > OMS_LIMIT_BATCH_EVENTS)
        e->opts.max_batch_events = OMS_LIMIT_BATCH_EVENTS;
    e->head = head_seq;
    e->next_seq = head_seq + 1;
    e->indexed = head_seq == 0; /* a new log: its first batch writes the marker */
    e->write_index = e->indexed && e->opts.row_get && e->opts.row_scan && e->opts.free_fn;
    e->ids.limit = 1u << 30;
    e->keys.limit = 1u << 30;
    e->max_events = e->opts.max_batch_events;
    e->max_rows = OMS_LIMIT_BATCH_ROWS;
    e->st = proj_new();
    e->events = calloc(e->max_events, sizeof *e->events);
    e->env = calloc(e->max_events, sizeof *e->env);
    e->replies = calloc(OMS_LIMIT_BATCH_COMMANDS, sizeof *e->replies);
    e->rows = calloc(e->max_rows, sizeof *e->rows);
    e->staged = calloc(OMS_LIMIT_BATCH_COMMANDS, sizeof *e->staged);
    e->staged_slots = calloc(STAGED_SLOTS, sizeof *e->staged_slots);
    e->bodies.limit = OMS_LIMIT_BATCH_BYTES;
    e->rowbuf.limit = OMS_LIMIT_BATCH_BYTES;
    e->scratch_cap = ROW_VALUE_MAX;
    e->scratch = malloc(e->scratch_cap);
    e->mem.n_slots = 1 << 16; /* grows */
    e->mem.slots = calloc(e->mem.n_slots, sizeof *e->mem.slots);
    if (!e->st || !e->events || !e->env || !e->replies || !e->rows || !e->staged ||
        !e->staged_slots || !e->scratch || !e->mem.slots ||
        oms_arena_init(&e->arena, 8u << 20) != 0) {
        oms_engine_destroy(&e);
        return NULL;
    }
    return e;
}

static void s_mem_free(mem_store_t *m)
{
    for (mem_block_t *b = m->blocks, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    free(m->slots);
}

void oms_engine_destroy(oms_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    oms_engine_t *e = *self_p;
    proj_destroy(&e->st);
    oms_arena_free(&e->arena);
    free(e->events);
    free(e->env);
    free(e->replies);
    free(e->rows);
    free(e->staged);
    free(e->staged_slots);
    free(e->bodies.p);
    free(e->rowbuf.p);
    free(e->dirty);
    free(e->scratch);
    free(e->ids.p);
    free(e->keys.p);
    s_mem_free(&e->mem);
    free(e);
    *self_p = NULL;
}

const proj_state_t *oms_engine_state(const oms_engine_t *self)
{
    return self->st;
}

int oms_engine_reserve(oms_engine_t *self, proj_table_t t, uint32_t n)
{
    assert(self && t < PROJ_T_COUNT_);
    if (self->open || self->spent)
        return OMS_ERR_STATE;
    return proj_reserve(self->st, t, n);
}

uint64_t oms_engine_head(const oms_engine_t *self)
{
    return self->head;
}

const char *oms_engine_error(const oms_engine_t *self)
{
    return self->err;
}

bool oms_engine_indexed(const oms_engine_t *self)
{
    return self->write_index;
}

uint64_t oms_engine_loaded_on_demand(const oms_engine_t *self)
{
    return self->n_loaded;
}

/* ---- idempotency ------------------------------------------------------------------------ */

static size_t s_idem_key(char *out, const oms_cmd_t *cmd)
{
    size_t lp = strlen(cmd->principal), lc = strlen(cmd->command_id);
    out[0] = 'c';
    memcpy(out + 1, cmd->principal, lp);
    out[1 + lp] = 0x1f;
    memcpy(out + 2 + lp, cmd->command_id, lc);
    return 2 + lp + lc;
}

/* The entry of key k[kl] whose oms_hash64 is h, or NULL. */
static const mem_entry_t *s_mem_get(const mem_store_t *m, const char *k, size_t kl, uint64_t h)
{
    uint32_t mask = m->n_slots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        const mem_slot_t *s = &m->slots[i];
        if (!s->e)
            return NULL;
        if (s->hash == h && s->e->klen == kl && memcmp(s->e->data, k, kl) == 0)
            return s->e;
    }
}

/* Records key -> value. OMS_ERR_LIMIT past 2^26 entries or for an entry larger than a block,
 * OMS_ERR_NOMEM when the index or a block cannot be allocated (the store is unchanged). The
 * store owns its copy. */
static int s_mem_put(mem_store_t *m, const char *k, size_t kl, uint64_t h, const uint8_t *v,
                     size_t vl)
{
    size_t need = (sizeof(mem_entry_t) + kl + vl + 7) & ~(size_t)7;
    if (m->n >= (1u << 26) || need > S_MEM_BLOCK)
        return OMS_ERR_LIMIT;
    if ((uint64_t)(m->n + 1) * 2 > m->n_slots) { /* grow: load stays under 1/2 */
        uint32_t ns = m->n_slots * 2;
        mem_slot_t *slots = calloc(ns, sizeof *slots);
        if (!slots)
            return OMS_ERR_NOMEM;
        for (uint32_t i = 0; i < m->n_slots; i++) {
            if (!m->slots[i].e)
                continue;
            uint32_t j = (uint32_t)m->slots[i].hash & (ns - 1);
            while (slots[j].e)
                j = (j + 1) & (ns - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->n_slots = ns;
    }
    if (!m->blocks || S_MEM_BLOCK - m->blocks->used < need) {
        mem_block_t *b = malloc(sizeof *b + S_MEM_BLOCK);
        if (!b)
            return OMS_ERR_NOMEM;
        b->next = m->blocks;
        b->used = 0;
        m->blocks = b;
    }
    mem_entry_t *x = (mem_entry_t *)(m->blocks->bytes + m->blocks->used);
    m->blocks->used += need;
    x->klen = (uint32_t)kl;
    x->vlen = (uint32_t)vl;
    memcpy(x->data, k, kl);
    memcpy(x->data + kl, v, vl);
    uint32_t j = (uint32_t)h & (m->n_slots - 1);
    while (m->slots[j].e)
        j = (j + 1) & (m->n_slots - 1);
    m->slots[j] = (mem_slot_t){h, x};
    m->n++;
    return 0;
}

static const staged_idem_t *s_staged_get(const oms_engine_t *e, const char *k, size_t kl,
                                         uint64_t h)
{
    for (uint32_t i = (uint32_t)(h & (STAGED_SLOTS - 1)), probes = 0; probes < STAGED_SLOTS;
         i = (i + 1) & (STAGED_SLOTS - 1), probes++) {
        uint32_t s = e->staged_slots[i];
        if (s == 0)
            return NULL;
        const staged_idem_t *x = &e->staged[s - 1];
        if (x->klen == kl && memcmp(x->key, k, kl) == 0)
            return x;
    }
    return NULL;
}

/* Finds a recorded outcome: 1 with the value copied into e->scratch (*vlen), 0 when none,
 * negative on a lookup error. */
static int s_idem_find(oms_engine_t *e, const char *k, size_t kl, uint64_t h, size_t *vlen)
{
    const staged_idem_t *s = s_staged_get(e, k, kl, h);
    if (s) {
        memcpy(e->scratch, e->rowbuf.p + s->val_off, s->vlen);
        *vlen = s->vlen;
        return 1;
    }
    if (!e->opts.lookup) {
        const mem_entry_t *x = s_mem_get(&e->mem, k, kl, h);
        if (!x)
            return 0;
        memcpy(e->scratch, x->data + x->klen, x->vlen);
        *vlen = x->vlen;
        return 1;
    }
    uint8_t *v = NULL;
    size_t vl = 0;
    int rc = e->opts.lookup(e->opts.lookup_ctx, (const uint8_t *)k, kl, &v, &vl);
    if (rc == OMS_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return OMS_ERR_IO;
    if (vl > e->scratch_cap) {
        e->opts.free_fn(v);
        return OMS_ERR_CORRUPT;
    }
    memcpy(e->scratch, v, vl);
    *vlen = vl;
    e->opts.free_fn(v);
    return 1;
}

/* ---- rows ----------------------------------------------------------------------------------- */

static int s_add_row(oms_engine_t *e, evlog_cf_t cf, const uint8_t *k, size_t kl, const uint8_t *v,
                     size_t vl, size_t *val_off)
{
    if (e->n_rows >= e->max_rows)
        return OMS_ERR_LIMIT;
    uint8_t *p = s_buf_reserve(&e->rowbuf, kl + vl);
    if (!p)
        return OMS_ERR_LIMIT;
    memcpy(p, k, kl);
    if (vl)
        memcpy(p + kl, v, vl);
    /* Row pointers are fixed up after the batch (the buffer may move while growing); v NULL
     * (a delete) stays NULL. */
    e->rows[e->n_rows++] =
        (evlog_row_t){cf, (const uint8_t *)(uintptr_t)e->rowbuf.used, kl,
                      v ? (const uint8_t *)(uintptr_t)(e->rowbuf.used + kl) : S_DELETE, vl};
    if (val_off)
        *val_off = e->rowbuf.used + kl;
    e->rowbuf.used += kl + vl;
    return 0;
}

/* Sorts a[n] ascending with tmp[n] as scratch: LSD radix sort on bytes, skipping a byte all
 * keys share (the dirty lists of a batch are a few hundred keys whose top bits are the table).
 * Cannot fail. */
static void s_sort_u32(uint32_t *a, uint32_t *tmp, uint32_t n)
{
    uint32_t *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        uint32_t count[256] = {0};
        for (uint32_t i = 0; i < n; i++)
            count[(src[i] >> shift) & 0xff]++;
        if (count[(src[0] >> shift) & 0xff] == n)
            continue; /* every key has this byte */
        uint32_t sum = 0;
        for (unsigned b = 0; b < 256; b++) {
            uint32_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 0xff]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* The parent row of a record: chains and instructions belong to their order's row, parts to
 * their allocation's row. */
static void s_row_owner(const proj_state_t *st, proj_table_t *t, uint32_t *idx)
{
    if (*t == PROJ_T_CLORDID) {
        *idx = ((const proj_clordid_t *)proj_at(st, *t, *idx))->order;
        *t = PROJ_T_ORDER;
    } else if (*t == PROJ_T_INSTR) {
        *idx = ((const proj_instr_t *)proj_at(st, *t, *idx))->order;
        *t = PROJ_T_ORDER;
    }
}

/* The batch's index rows (codec.h): a "w" row put or deleted for each order whose working
 * state the batch changed, an "e" row for each execution it created. 0 or OMS_ERR_LIMIT. */
static int s_index_rows(oms_engine_t *e)
{
    uint32_t n = proj_dirty_count(e->st);
    for (uint32_t i = 0; i < n; i++) {
        proj_table_t t;
        uint32_t idx;
        if (!proj_dirty_at(e->st, i, &t, &idx) || (t != PROJ_T_ORDER && t != PROJ_T_EXEC) ||
            idx >= proj_count(e->st, t))
            continue;
        const void *before = proj_dirty_before(e->st, i);
        uint8_t key[CODEC_KEY_CAP];
        size_t kl;
        int rc;
        if (t == PROJ_T_ORDER) {
            const proj_order_t *o = proj_at(e->st, t, idx);
            oms_ord_status_t st0 = OMS_ST_NONE; /* the saved bytes are not aligned for it */
            if (before)
                memcpy(&st0, (const uint8_t *)before + offsetof(proj_order_t, status), sizeof st0);
            bool was = before && proj_status_working(st0);
            bool now = proj_status_working(o->status);
            if (was == now)
                continue;
            kl = codec_key_working(key, sizeof key, o->order_id);
            rc = kl ? s_add_row(e, EVLOG_CF_ORDERS, key, kl, now ? key : NULL, 0, NULL)
                    : OMS_ERR_LIMIT;
        } else {
            if (before)
                continue; /* only a new execution needs its index row */
            const proj_exec_t *x = proj_at(e->st, t, idx);
            const proj_order_t *o = proj_at(e->st, PROJ_T_ORDER, x->order);
            kl = codec_key_exec_index(key, sizeof key, o->order_id, x->venue, x->exec_id);
            rc = kl ? s_add_row(e, EVLOG_CF_ORDERS, key, kl, key, 0, NULL) : OMS_ERR_LIMIT;
        }
        if (rc)
            return rc;
    }
    if (e->head == 0 && e->next_seq > 1) { /* a new log's first batch */
        static const char mk[] = CODEC_INDEX_MARKER_KEY;
        int rc = s_add_row(e, EVLOG_CF_META, (const uint8_t *)mk, sizeof mk - 1,
                           (const uint8_t *)"1", 1, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_projection_rows(oms_engine_t *e)
{
    /* Each record the batch touched once (proj_dirty_at's first touches), in first-touch
     * order; a chain or instruction record stands for its order, whose own entry writes the row
     * when the batch touched the order too (it always does today). The few owners reached only
     * through such children are sorted and made unique. */
    uint32_t n = proj_dirty_count(e->st);
    if (n > e->dirty_cap) { /* the keys, then as many for the sort's scratch */
        uint32_t *d = realloc(e->dirty, 2 * (size_t)n * sizeof *d);
        if (!d)
            return OMS_ERR_NOMEM;
        e->dirty = d;
        e->dirty_cap = n;
    }
    uint32_t k = 0, n_owned = 0;
    for (uint32_t i = 0; i < n; i++) {
        proj_table_t t;
        uint32_t idx;
        if (!proj_dirty_at(e->st, i, &t, &idx))
            continue; /* touched again after a savepoint: its first entry writes it */
        if (t == PROJ_T_PART)
            continue; /* parts are only ever created together with their allocation */
        if (idx >= proj_count(e->st, t))
            continue; /* rolled back to a savepoint */
        if (t == PROJ_T_CLORDID || t == PROJ_T_INSTR) {
            s_row_owner(e->st, &t, &idx);
            if (proj_touched_in_batch(e->st, t, idx))
                continue; /* the order's own entry writes its row */
            /* at the end, to be sorted and made unique */
            e->dirty[n - 1 - n_owned++] = ((uint32_t)t << 27) | idx;
            continue;
        }
        assert(idx < (1u << 27));
        e->dirty[k++] = ((uint32_t)t << 27) | idx;
    }
    if (n_owned) {
        uint32_t *o = e->dirty + n - n_owned;
        if (n_owned > 1)
            s_sort_u32(o, e->dirty + e->dirty_cap, n_owned);
        uint32_t k0 = k; /* (k0 + i <= n - n_owned + i: the copy never passes o[i]) */
        for (uint32_t i = 0; i < n_owned; i++)
            if (k == k0 || e->dirty[k - 1] != o[i])
                e->dirty[k++] = o[i];
    }
    for (uint32_t i = 0; i < k; i++) {
        proj_table_t t = (proj_table_t)(e->dirty[i] >> 27);
        uint32_t idx = e->dirty[i] & ((1u << 27) - 1);
        codec_row_t row;
        /* Straight into the row buffer when the row fits ROW_DIRECT bytes (nearly all do), else
         * through the scratch buffer and a copy. */
        uint8_t *p = e->n_rows < e->max_rows ? s_buf_reserve(&e->rowbuf, ROW_DIRECT) : NULL;
        int rc = p ? codec_row_encode(e->st, t, idx, &row, p, ROW_DIRECT) : OMS_ERR_LIMIT;
        if (rc == OMS_ERR_NOT_FOUND)
            continue;
        if (rc == 0) {
            assert(row.key == p && row.val == p + row.klen);
            e->rows[e->n_rows++] =
                (evlog_row_t){row.cf, (const uint8_t *)(uintptr_t)e->rowbuf.used, row.klen,
                              (const uint8_t *)(uintptr_t)(e->rowbuf.used + row.klen), row.vlen};
            e->rowbuf.used += row.klen + row.vlen;
            continue;
        }
        if (rc != OMS_ERR_LIMIT)
            return rc;
        rc = codec_row_encode(e->st, t, idx, &row, e->scratch, e->scratch_cap);
        if (rc)
            return rc;
        if ((rc = s_add_row(e, row.cf, row.key, row.klen, row.val, row.vlen, NULL)) != 0)
            return rc;
    }
    if (e->write_index) {
        int rc = s_index_rows(e);
        if (rc)
            return rc;
    }
    if (proj_trade_date_dirty(e->st)) {
        codec_row_t row;
        int rc = codec_row_encode_trade_date(e->st, &row, e->scratch, e->scratch_cap);
        if (rc == 0)
            rc = s_add_row(e, row.cf, row.key, row.klen, row.val, row.vlen, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- replies -------------------------------------------------------------------------------- */

static const char *s_event_order_id(const oms_event_t *ev, const oms_cmd_t *cmd)
{
    switch (ev->type) {
    case OMS_EV_ORDER_ACCEPTED:
        return ev->u.accepted.order.order_id;
    case OMS_EV_ORDER_RELEASED:
        return ev->u.released.order_id;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        return ev->u.request.order_id;
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED:
        return ev->u.alloc.order_id;
    case OMS_EV_EXCEPTION_RAISED:
        return ev->u.exception.order_id;
    case OMS_EV_COMMAND_REJECTED:
        return oms_cmd_order_id(cmd);
    default:
        if (ev->type >= OMS_EV_ORDER_ACKNOWLEDGED && ev->type <= OMS_EV_TRADE_CORRECTED)
            return ev->u.order.h.order_id;
        return "";
    }
}

/* The status order `oid` has after events [first, first + n): the projection copies the
 * status of every order event it applies (projections/apply.c), so the last such event naming
 * the order says it without a second lookup. false when none does (a refused command, an
 * allocation): the caller looks the order up. */
static bool s_status_from_events(const oms_engine_t *e, const char *oid, uint32_t first,
                                 uint32_t n, oms_ord_status_t *out)
{
    for (uint32_t k = first + n; k-- > first;) {
        const oms_event_t *ev = &e->events[k];
        const char *id;
        oms_ord_status_t st;
        switch (ev->type) {
        case OMS_EV_ORDER_ACCEPTED:
            id = ev->u.accepted.order.order_id;
            st = ev->u.accepted.status;
            break;
        case OMS_EV_ORDER_RELEASED:
            id = ev->u.released.order_id;
            st = ev->u.released.status;
            break;
        case OMS_EV_CANCEL_REQUESTED:
        case OMS_EV_REPLACE_REQUESTED:
            id = ev->u.request.order_id;
            st = ev->u.request.status;
            break;
        default:
            if (!oms_event_is_order_report(ev->type))
                continue; /* exceptions and allocations leave the status as it was */
            id = ev->u.order.h.order_id;
            st = ev->u.order.status;
            break;
        }
        if (strcmp(id, oid) != 0)
            return false;
        *out = st;
        return true;
    }
    return false;
}

static void s_reply_from_events(oms_engine_t *e, const oms_cmd_t *cmd, uint32_t first, uint32_t n,
                                uint64_t first_seq, oms_reply_t *r)
{
    /* Every field set, the arrays only up to their NUL: the reply is about 700 bytes, mostly
     * text that stays empty. */
    oms_strlcpy(r->command_id, cmd->command_id, OMS_ID_CAP);
    r->status = OMS_REPLY_ACCEPTED;
    r->error_code = 0;
    r->reject_reason = OMS_RR_NONE;
    r->rule_id[0] = r->text[0] = '\0';
    r->ord_status = OMS_ST_NONE;
    r->first_seq = r->last_seq = 0;
    r->original_status = OMS_REPLY_NONE;
    if (n) {
        r->first_seq = first_seq;
        r->last_seq = first_seq + n - 1;
        const oms_event_t *ev = &e->events[first];
        if (ev->type == OMS_EV_COMMAND_REJECTED) {
            r->status = OMS_REPLY_REJECTED;
            r->reject_reason = ev->u.rejected.reason;
            oms_strlcpy(r->rule_id, ev->u.rejected.rule_id, OMS_RULE_CAP);
            oms_strlcpy(r->text, ev->u.rejected.text, OMS_TEXT_CAP);
        } else if (ev->type == OMS_EV_ALLOCATION_REJECTED) {
            r->status = OMS_REPLY_REJECTED;
            r->reject_reason = ev->u.alloc.reason;
            oms_strlcpy(r->rule_id, ev->u.alloc.rule_id, OMS_RULE_CAP);
            oms_strlcpy(r->text, ev->u.alloc.text, OMS_TEXT_CAP);
        } else if (cmd->type == OMS_CMD_END_OF_DAY &&
                   e->events[first + n - 1].type != OMS_EV_END_OF_DAY_PROCESSED) {
            snprintf(r->text, sizeof r->text,
                     "partial: %u orders expired; send end_of_day for %s again to continue", n,
                     cmd->u.eod.trade_date);
        }
    }
    const char *oid = oms_cmd_order_id(cmd);
    oms_strlcpy(r->order_id, oid, OMS_ID_CAP);
    if (oid[0] && !s_status_from_events(e, oid, first, n, &r->ord_status)) {
        const proj_order_t *o = proj_order(e->st, oid);
        if (o)
            r->ord_status = o->status;
    }
}

/* ---- on-demand loading (engine.h) --------------------------------------------------------- */

/* Records why an on-demand load failed (e->err) and returns rc. */
static int s_fail(oms_engine_t *e, int rc, const char *what, const uint8_t *key, size_t klen)
{
    char k[2 * OMS_ID_CAP];
    size_t n = klen < sizeof k - 1 ? klen : sizeof k - 1;
    for (size_t i = 0; i < n; i++)
        k[i] = key[i] >= 0x20 && key[i] < 0x7f ? (char)key[i] : '|';
    k[n] = '\0';
    snprintf(e->err, sizeof e->err, "%s (row '%s'): %s", what, k, oms_strerror(rc));
    return rc;
}

/* Reads one stored row: 0 with *val (free with free_fn), OMS_ERR_NOT_FOUND, or OMS_ERR_IO. */
static int s_get(oms_engine_t *e, evlog_cf_t cf, const uint8_t *key, size_t klen, uint8_t **val,
                 size_t *vlen)
{
    *val = NULL;
    *vlen = 0;
    int rc = e->opts.row_get(e->opts.row_ctx, cf, key, klen, val, vlen);
    if (rc == 0 || rc == OMS_ERR_NOT_FOUND)
        return rc;
    return s_fail(e, OMS_ERR_IO, "reading a stored row failed", key, klen);
}

/* Loads one stored row into the state (codec_row_load): 0 or OMS_ERR_CORRUPT (e->err says
 * which row; any loader error counts as corruption: these are the store's own rows). */
static int s_load_one(oms_engine_t *e, evlog_cf_t cf, const uint8_t *key, size_t klen,
                      const uint8_t *val, size_t vlen)
{
    int rc = codec_row_load(e->st, (int)cf, key, klen, val, vlen, &e->arena);
    oms_arena_reset(&e->arena);
    if (rc == 0)
        return 0;
    return s_fail(e, OMS_ERR_CORRUPT, "a stored row does not load", key, klen);
}

/* evlog_scan callback collecting "e" index keys (each: 2-byte length, then the key). */
static int s_collect_key(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)v;
    (void)vl;
    oms_engine_t *e = ctx;
    uint8_t *p = kl <= UINT16_MAX ? s_buf_reserve(&e->keys, kl + 2) : NULL;
    if (!p)
        return OMS_ERR_NOMEM;
    p[0] = (uint8_t)(kl >> 8);
    p[1] = (uint8_t)kl;
    memcpy(p + 2, k, kl);
    e->keys.used += kl + 2;
    return 0;
}

typedef struct {
    oms_engine_t *e;
    int rc;
} scan_ctx_t;

/* evlog_scan callback loading each allocation row of one order. */
static int s_load_alloc_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    scan_ctx_t *sc = ctx;
    sc->rc = s_load_one(sc->e, EVLOG_CF_ALLOCATIONS, k, kl, v, vl);
    return sc->rc;
}

/* Loads stored order id with its executions and allocations unless it is in memory: the same
 * rows, in the same order, as a whole restart would load for it (its executions in "x" key
 * order, allocations in key order), so its links are the same. 0 (also when the store has no
 * such order), OMS_ERR_CORRUPT, OMS_ERR_IO or OMS_ERR_NOMEM, with e->err set; on failure the
 * state may hold part of the order: the caller rolls back. */
static int s_load_order_row(oms_engine_t *e, const char *id, const uint8_t *key, size_t kl,
                            const uint8_t *val, size_t vlen);

static int s_load_order(oms_engine_t *e, const char *id)
{
    if (proj_order(e->st, id))
        return 0;
    uint8_t key[CODEC_KEY_CAP];
    size_t kl = codec_key_order(key, sizeof key, id);
    if (kl == 0)
        return 0; /* no stored order has such an id */
    uint8_t *val;
    size_t vlen;
    int rc = s_get(e, EVLOG_CF_ORDERS, key, kl, &val, &vlen);
    if (rc == OMS_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    rc = s_load_order_row(e, id, key, kl, val, vlen);
    e->opts.free_fn(val);
    return rc;
}

/* s_load_order's part after the order's row is read: the order, its executions, allocations.
 * The row (key, val) is the caller's. */
static int s_load_order_row(oms_engine_t *e, const char *id, const uint8_t *key, size_t kl,
                            const uint8_t *val, size_t vlen)
{
    uint8_t *xv;
    size_t xvl;
    int rc = s_load_one(e, EVLOG_CF_ORDERS, key, kl, val, vlen);
    if (rc)
        return rc;
    const proj_order_t *o = proj_order(e->st, id);
    if (!o)
        return s_fail(e, OMS_ERR_CORRUPT, "a stored order row names another order", key, kl);
    uint32_t oi = proj_index_of(e->st, PROJ_T_ORDER, o);
    /* Every fill sets the order's venue (a fill needs one), and only blocks have allocations
     * (the handlers refuse others before an allocation record exists): an order without a
     * venue has no executions to look for, one that is not a block no allocations. */
    bool execs = o->venue[0] != '\0', allocs = o->is_block;
    /* Its executions, through the "e" index rows. */
    uint8_t pre[CODEC_KEY_CAP];
    size_t pl = codec_key_exec_index(pre, sizeof pre, id, "", "");
    if (pl == 0)
        return s_fail(e, OMS_ERR_CORRUPT, "an order id too long for its index", key, kl);
    pl--; /* "e" id 0x1f: without the empty exec id's separator */
    e->keys.used = 0;
    rc = execs ? e->opts.row_scan(e->opts.row_ctx, EVLOG_CF_ORDERS, pre, pl, s_collect_key, e) : 0;
    if (rc)
        return rc == OMS_ERR_NOMEM
                   ? s_fail(e, rc, "collecting an order's executions", pre, pl)
                   : s_fail(e, OMS_ERR_IO, "scanning an order's executions", pre, pl);
    size_t idl = strlen(id);
    for (size_t at = 0; at < e->keys.used;) {
        size_t l = ((size_t)e->keys.p[at] << 8) | e->keys.p[at + 1];
        const uint8_t *ik = e->keys.p + at + 2;
        at += l + 2;
        char venue[OMS_ID_CAP], exec_id[OMS_ID_CAP];
        if (codec_key_exec_index_parse(ik, l, idl, venue, exec_id) != 0)
            return s_fail(e, OMS_ERR_CORRUPT, "an execution index row does not parse", ik, l);
        uint8_t xk[CODEC_KEY_CAP];
        size_t xl = codec_key_exec(xk, sizeof xk, venue, exec_id);
        if ((rc = s_get(e, EVLOG_CF_ORDERS, xk, xl, &xv, &xvl)) != 0)
            return rc == OMS_ERR_NOT_FOUND
                       ? s_fail(e, OMS_ERR_CORRUPT, "an index row names a missing execution", ik, l)
                       : rc;
        /* Checked before it is linked: loaded onto another (resident) order, it would change
         * that order's links, which a rollback does not restore. */
        char xo[OMS_ID_CAP];
        rc = codec_row_exec_order_id(xv, xvl, xo);
        if (rc == 0 && strcmp(xo, id) != 0)
            rc = OMS_ERR_CORRUPT;
        if (rc) {
            e->opts.free_fn(xv);
            return s_fail(e, OMS_ERR_CORRUPT, "an execution row does not name its order", xk, xl);
        }
        rc = s_load_one(e, EVLOG_CF_ORDERS, xk, xl, xv, xvl);
        e->opts.free_fn(xv);
        if (rc)
            return rc;
        const proj_exec_t *x = proj_exec(e->st, venue, exec_id);
        if (!x || x->order != oi)
            return s_fail(e, OMS_ERR_CORRUPT, "an execution row names another order", xk, xl);
    }
    /* Its allocations: their keys start with the order id. */
    memcpy(pre, id, idl);
    pre[idl] = 0x1f;
    scan_ctx_t sc = {e, 0};
    rc = allocs ? e->opts.row_scan(e->opts.row_ctx, EVLOG_CF_ALLOCATIONS, pre, idl + 1,
                                   s_load_alloc_row, &sc)
                : 0;
    if (sc.rc)
        return sc.rc;
    if (rc)
        return s_fail(e, OMS_ERR_IO, "scanning an order's allocations", pre, idl + 1);
    e->n_loaded++;
    return 0;
}

/* The order an execution (venue, exec id) belongs to, loaded if only the store has it. */
static int s_need_exec(oms_engine_t *e, const char *venue, const char *exec_id)
{
    if (!venue[0] || !exec_id[0] || proj_exec(e->st, venue, exec_id))
        return 0;
    uint8_t key[CODEC_KEY_CAP];
    size_t kl = codec_key_exec(key, sizeof key, venue, exec_id);
    if (kl == 0)
        return 0;
    uint8_t *val;
    size_t vlen;
    int rc = s_get(e, EVLOG_CF_ORDERS, key, kl, &val, &vlen);
    if (rc == OMS_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    char oid[OMS_ID_CAP];
    rc = codec_row_exec_order_id(val, vlen, oid);
    e->opts.free_fn(val);
    if (rc)
        return s_fail(e, OMS_ERR_CORRUPT, "a stored execution row does not decode", key, kl);
    if ((rc = s_load_order(e, oid)) != 0)
        return rc;
    if (!proj_exec(e->st, venue, exec_id))
        return s_fail(e, OMS_ERR_CORRUPT, "a stored execution has no index row", key, kl);
    return 0;
}

/* evlog_scan callback over the "o" rows: collects the ids of the instrument's orders that are
 * not in memory (NUL-separated in e->ids). */
typedef struct {
    oms_engine_t *e;
    const char *instrument;
    int rc;
} ins_scan_t;

static int s_collect_ins_order(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    ins_scan_t *is = ctx;
    oms_engine_t *e = is->e;
    char ins[OMS_ID_CAP];
    if (kl < 2 || kl - 1 >= OMS_ID_CAP || codec_row_order_instrument(v, vl, ins) != 0) {
        is->rc = s_fail(e, OMS_ERR_CORRUPT, "a stored order row does not decode", k, kl);
        return is->rc;
    }
    if (strcmp(ins, is->instrument) != 0)
        return 0;
    char id[OMS_ID_CAP];
    memcpy(id, k + 1, kl - 1);
    id[kl - 1] = '\0';
    if (proj_order(e->st, id))
        return 0;
    uint8_t *p = s_buf_reserve(&e->ids, kl);
    if (!p) {
        is->rc = s_fail(e, OMS_ERR_NOMEM, "collecting an instrument's orders", k, kl);
        return is->rc;
    }
    memcpy(p, id, kl); /* the id and its NUL */
    e->ids.used += kl;
    return 0;
}

/* Every stored order of instrument ins, in memory: a scan of all "o" rows (each decoded), the
 * first time after a restart (then ins is remembered, up to S_INS_DONE instruments). */
static int s_need_instrument(oms_engine_t *e, const char *ins)
{
    for (uint32_t i = 0; i < e->n_ins_done; i++)
        if (strcmp(e->ins_done[i], ins) == 0)
            return 0;
    e->ids.used = 0;
    ins_scan_t is = {e, ins, 0};
    int rc = e->opts.row_scan(e->opts.row_ctx, EVLOG_CF_ORDERS, (const uint8_t *)"o", 1,
                              s_collect_ins_order, &is);
    if (is.rc)
        return is.rc;
    if (rc)
        return s_fail(e, OMS_ERR_IO, "scanning the stored orders", (const uint8_t *)"o", 1);
    /* s_load_order uses e->keys, not e->ids: the list stays put. */
    for (size_t at = 0; at < e->ids.used;) {
        const char *id = (const char *)e->ids.p + at;
        at += strlen(id) + 1;
        if ((rc = s_load_order(e, id)) != 0)
            return rc;
    }
    if (e->n_ins_done < S_INS_DONE)
        oms_strlcpy(e->ins_done[e->n_ins_done++], ins, OMS_ID_CAP);
    return 0;
}

/* Before a batch: every stored record the commands could look up, in memory (engine.h). Loaded
 * as committed state in a batch of its own, so a failure loads nothing and the batch that
 * follows (and a rollback of it) keeps what was loaded. 0, or the first failure with e->err
 * set and the state as it was. */
static int s_resolve(oms_engine_t *e, const oms_cmd_t *cmds, uint32_t n)
{
    proj_begin(e->st);
    uint32_t ins_done0 = e->n_ins_done;
    uint64_t loaded0 = e->n_loaded;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const oms_cmd_t *c = &cmds[i];
        const char *oid = oms_cmd_order_id(c);
        if (oid[0])
            rc = s_load_order(e, oid);
        if (rc == 0 && c->type == OMS_CMD_VENUE_FILL)
            rc = s_need_exec(e, c->u.report.h.venue, c->u.report.h.exec_id);
        if (rc == 0 && (c->type == OMS_CMD_TRADE_BUST || c->type == OMS_CMD_TRADE_CORRECT)) {
            rc = s_need_exec(e, c->u.report.h.venue, c->u.report.ref_exec_id);
            const proj_order_t *o = rc == 0 && oid[0] ? proj_order(e->st, oid) : NULL;
            if (o)
                rc = s_need_instrument(e, o->instrument_id);
        }
    }
    if (rc) {
        proj_rollback(e->st);
        e->n_ins_done = ins_done0;
        e->n_loaded = loaded0;
    } else {
        proj_commit(e->st);
    }
    oms_arena_reset(&e->arena);
    return rc;
}

/* ---- process -------------------------------------------------------------------------------- */

static void s_batch_reset(oms_engine_t *e)
{
    oms_arena_reset(&e->arena);
    e->n_rows = 0;
    e->bodies.used = 0;
    e->rowbuf.used = 0;
    for (uint32_t i = 0; i < e->n_staged; i++) /* the slots in use, not all STAGED_SLOTS */
        e->staged_slots[e->staged[i].slot] = 0;
    e->n_staged = 0;
}

static int s_stage_idem(oms_engine_t *e, const char *key, size_t kl, uint64_t h,
                        const uint8_t *digest, const oms_reply_t *r)
{
    uint8_t val[IDEM_DIGEST_LEN + REPLY_MAX];
    memcpy(val, digest, IDEM_DIGEST_LEN);
    size_t rl = 0;
    int rc = codec_encode_reply(r, val + IDEM_DIGEST_LEN, REPLY_MAX, &rl);
    if (rc)
        return rc;
    size_t off;
    if ((rc = s_add_row(e, EVLOG_CF_IDEMPOTENCY, (const uint8_t *)key, kl, val, IDEM_DIGEST_LEN + rl,
                        &off)) != 0)
        return rc;
    staged_idem_t *s = &e->staged[e->n_staged];
    memcpy(s->key, key, kl);
    s->klen = kl;
    s->hash = h;
    s->val_off = off;
    s->vlen = IDEM_DIGEST_LEN + rl;
    uint32_t i = (uint32_t)(h & (STAGED_SLOTS - 1));
    while (e->staged_slots[i])
        i = (i + 1) & (STAGED_SLOTS - 1);
    s->slot = i;
    e->staged_slots[i] = ++e->n_staged;
    return 0;
}

static int s_digest(oms_engine_t *e, const oms_cmd_t *cmd, uint8_t *d)
{
    if (cmd->raw && cmd->raw_len) {
        oms_digest128(cmd->raw, cmd->raw_len, d);
        return 0;
    }
    size_t len = 0;
    int rc = codec_encode_command(cmd, e->scratch, e->scratch_cap, &len);
    if (rc)
        return rc;
    oms_digest128(e->scratch, len, d);
    return 0;
}

/* Memory hints for command c (see proj_prefetch_order): stage 1 the index slots it will look
 * up (its order, a fill's execution, a cancel's or new order's ClOrdID, its idempotency key in
 * the memory store), stage 2 its order's record. */
static void s_prefetch(const oms_engine_t *e, const oms_cmd_t *c, int stage)
{
    const char *oid = oms_cmd_order_id(c);
    if (oid[0])
        proj_prefetch_order(e->st, oid, stage);
    if (stage != 1)
        return;
    if (c->type == OMS_CMD_VENUE_FILL)
        proj_prefetch_exec(e->st, c->u.report.h.venue, c->u.report.h.exec_id);
    else if (c->type == OMS_CMD_CANCEL_ORDER)
        proj_prefetch_clordid(e->st, c->u.cancel.order_id, c->u.cancel.cl_ord_id);
    if (!e->opts.lookup) {
        char key[IDEM_KEY_CAP];
        size_t kl = s_idem_key(key, c);
        __builtin_prefetch(&e->mem.slots[oms_hash64(key, kl) & (e->mem.n_slots - 1)]);
    }
}

#define S_PREFETCH_AHEAD  4  /* commands between a record's prefetch and its use */
#define S_PREFETCH_AHEAD1 16 /* commands between an index slot's prefetch and its use */

int oms_engine_process(oms_engine_t *e, const oms_cmd_t *cmds, uint32_t n, int64_t ts_ns,
                       oms_batch_t *out)
{
    assert(e && out && (cmds || n == 0));
    memset(out, 0, sizeof *out);
    if (e->open || e->spent)
        return OMS_ERR_STATE;
    if (n > OMS_LIMIT_BATCH_COMMANDS)
        n = OMS_LIMIT_BATCH_COMMANDS;
    s_batch_reset(e);
    e->err[0] = '\0';
    if (e->on_demand) {
        int lrc = s_resolve(e, cmds, n);
        if (lrc)
            return lrc;
    }
    proj_begin(e->st);
    e->open = true;
    uint32_t n_ev = 0;
    uint64_t seq0 = e->next_seq;
    int rc = 0;
    uint32_t i;
    /* A small batch has nothing to overlap its misses with: no hints. Stage 1 runs
     * S_PREFETCH_AHEAD1 commands ahead and stage 2 S_PREFETCH_AHEAD commands ahead: a window,
     * not the whole batch up front, so the misses in flight stay within what the core can track
     * and the lines are still in L1 when they are used. */
    bool hint = n > 2 * S_PREFETCH_AHEAD;
    for (i = 0; hint && i < n && i < S_PREFETCH_AHEAD1; i++)
        s_prefetch(e, &cmds[i], 1);
    for (i = 0; hint && i < S_PREFETCH_AHEAD; i++)
        s_prefetch(e, &cmds[i], 2);
    for (i = 0; i < n; i++) {
        const oms_cmd_t *cmd = &cmds[i];
        if (hint && i + S_PREFETCH_AHEAD1 < n)
            s_prefetch(e, &cmds[i + S_PREFETCH_AHEAD1], 1);
        if (hint && i + S_PREFETCH_AHEAD < n)
            s_prefetch(e, &cmds[i + S_PREFETCH_AHEAD], 2);
        oms_reply_t *reply = &e->replies[i];
        char key[IDEM_KEY_CAP];
        size_t kl = s_idem_key(key, cmd);
        uint8_t digest[IDEM_DIGEST_LEN];
        if ((rc = s_digest(e, cmd, digest)) != 0)
            break;
        size_t vlen = 0;
        uint64_t kh = oms_hash64(key, kl);
        int found = s_idem_find(e, key, kl, kh, &vlen);
        if (found < 0) {
            rc = found;
            break;
        }
        if (found && vlen >= IDEM_DIGEST_LEN && memcmp(e->scratch, digest, IDEM_DIGEST_LEN) == 0) {
            /* A retry: the original outcome again, nothing appended. */
            if (codec_decode_reply(e->scratch + IDEM_DIGEST_LEN, vlen - IDEM_DIGEST_LEN, reply) !=
                0) {
                rc = OMS_ERR_CORRUPT;
                break;
            }
            if (reply->status != OMS_REPLY_DUPLICATE)
                reply->original_status = reply->status;
            reply->status = OMS_REPLY_DUPLICATE;
            continue;
        }
        if (e->max_events - n_ev < HND_MAX_EVENTS_PER_COMMAND + 1)
            break; /* batch full: the rest waits for the next call */
        hnd_out_t ho = {e->events, n_ev, e->max_events, &e->arena};
        hnd_outcome_t outcome = HND_APPLIED;
        if (found) {
            hnd_reject_event(&e->events[n_ev], cmd, "CMD-004", OMS_RR_IDEMPOTENCY_CONFLICT,
                             "command id already used by this principal with other content");
            ho.n = n_ev + 1;
        } else {
            rc = hnd_decide(e->st, cmd, ts_ns, &ho, &outcome);
            if (rc == OMS_ERR_LIMIT && i > 0) {
                rc = 0;
                break;
            }
            if (rc)
                break;
        }
        /* Apply this command's events; if the state cannot take them (a table is full, an
         * amount overflows), undo them and record a rejection instead. */
        proj_mark_t mark;
        proj_mark(e->st, &mark);
        uint32_t first = n_ev, cnt = ho.n - n_ev;
        int arc = 0;
        for (uint32_t k = 0; k < cnt && arc == 0; k++)
            arc = proj_apply(e->st, e->next_seq + k, ts_ns, &e->events[first + k]);
        if (arc) {
            proj_rollback_to(e->st, &mark);
            char text[OMS_TEXT_CAP];
            snprintf(text, sizeof text, "the state cannot take this command: %s",
                     oms_strerror(arc));
            hnd_reject_event(&e->events[first], cmd, "CMD-005",
                             arc == OMS_ERR_OVERFLOW ? OMS_RR_NUMERIC_OVERFLOW : OMS_RR_INPUT_LIMIT,
                             text);
            cnt = 1;
            if ((arc = proj_apply(e->st, e->next_seq, ts_ns, &e->events[first])) != 0) {
                rc = arc;
                break;
            }
        }
        for (uint32_t k = 0; k < cnt; k++) {
            const oms_event_t *ev = &e->events[first + k];
            e->env[first + k] = (evlog_event_t){.ts_ns = ts_ns,
                                                .principal = cmd->principal,
                                                .command_id = cmd->command_id,
                                                .order_id = s_event_order_id(ev, cmd)};
        }
        s_reply_from_events(e, cmd, first, cnt, e->next_seq, reply);
        if (outcome == HND_DUPLICATE) {
            reply->status = OMS_REPLY_DUPLICATE;
            reply->original_status = OMS_REPLY_ACCEPTED;
            oms_strlcpy(reply->text, "execution already applied", OMS_TEXT_CAP);
        }
        /* Encode the command's events now, while they are still in the cache. */
        for (uint32_t k = first; rc == 0 && k < first + cnt; k++) {
            uint8_t *p = s_buf_reserve(&e->bodies, OMS_LIMIT_EVENT_BYTES);
            if (!p) {
                rc = OMS_ERR_LIMIT;
                break;
            }
            size_t len = 0;
            rc = codec_encode_event(&e->events[k], p, OMS_LIMIT_EVENT_BYTES, &len);
            e->env[k].body = (const uint8_t *)(uintptr_t)e->bodies.used;
            e->env[k].body_len = len;
            e->bodies.used += len;
        }
        if (rc)
            break;
        n_ev += cnt;
        e->next_seq += cnt;
        if (!found && (rc = s_stage_idem(e, key, kl, kh, digest, reply)) != 0)
            break;
    }
    if (rc == 0 && e->opts.encode_rows)
        rc = s_projection_rows(e);
    if (rc != 0) {
        oms_engine_rollback(e);
        return rc;
    }
    for (uint32_t k = 0; k < n_ev; k++)
        e->env[k].body = e->bodies.p + (uintptr_t)e->env[k].body;
    for (uint32_t k = 0; k < e->n_rows; k++) {
        e->rows[k].key = e->rowbuf.p + (uintptr_t)e->rows[k].key;
        e->rows[k].value =
            e->rows[k].value == S_DELETE ? NULL : e->rowbuf.p + (uintptr_t)e->rows[k].value;
    }
    out->events = e->env;
    out->n_events = n_ev;
    out->decoded = e->events;
    out->rows = e->rows;
    out->n_rows = e->n_rows;
    out->replies = e->replies;
    out->n_consumed = i;
    out->first_seq = seq0;
    return 0;
}

void oms_engine_commit(oms_engine_t *e)
{
    assert(e->open);
    if (!e->opts.lookup) {
        for (uint32_t i = 0; i < e->n_staged; i++) {
            const staged_idem_t *s = &e->staged[i];
            /* Out of memory here leaves a retry unrecognised after the fact; the test and bench
             * configurations that use the memory store size for it. */
            (void)s_mem_put(&e->mem, s->key, s->klen, s->hash, e->rowbuf.p + s->val_off, s->vlen);
        }
    }
    proj_commit(e->st);
    e->head = e->next_seq - 1;
    e->open = false;
}

void oms_engine_rollback(oms_engine_t *e)
{
    assert(e->open);
    proj_rollback(e->st);
    e->next_seq = e->head + 1;
    e->open = false;
}

int oms_engine_apply_event(oms_engine_t *e, uint64_t seq, int64_t ts_ns, const oms_event_t *ev)
{
    assert(!e->open);
    if (seq != e->head + 1 || e->spent)
        return OMS_ERR_STATE;
    proj_begin(e->st);
    int rc = proj_apply(e->st, seq, ts_ns, ev);
    if (rc) {
        proj_rollback(e->st);
        return rc;
    }
    proj_commit(e->st);
    e->head = seq;
    e->next_seq = seq + 1;
    return 0;
}

int oms_engine_replay_event(oms_engine_t *e, uint64_t seq, int64_t ts_ns, const oms_event_t *ev)
{
    assert(!e->open);
    if (seq != e->head + 1 || e->spent)
        return OMS_ERR_STATE;
    /* Outside a batch proj_touch and proj_create keep no journal: no copy of each record
     * before its change, no per-record epoch (about 3% of a verify's CPU). The price is that
     * a refusal cannot be undone: the event may be half applied, so the engine is spent. */
    int rc = proj_apply(e->st, seq, ts_ns, ev);
    if (rc) {
        e->spent = true;
        return rc;
    }
    e->head = seq;
    e->next_seq = seq + 1;
    return 0;
}

int oms_engine_rows(const oms_engine_t *e,
                    int (*fn)(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen),
                    void *ctx)
{
    if (e->spent)
        return OMS_ERR_STATE;
    static const proj_table_t tables[] = {PROJ_T_INSTRUMENT, PROJ_T_ACCOUNT,     PROJ_T_PRINCIPAL,
                                          PROJ_T_LIMITS,     PROJ_T_RESTRICTION, PROJ_T_ORDER,
                                          PROJ_T_EXEC,       PROJ_T_POSITION,    PROJ_T_ALLOC};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        uint32_t n = proj_count(e->st, tables[t]);
        for (uint32_t i = 0; i < n; i++) {
            codec_row_t row;
            int rc = codec_row_encode(e->st, tables[t], i, &row, e->scratch, e->scratch_cap);
            if (rc == OMS_ERR_NOT_FOUND)
                continue;
            if (rc)
                return rc;
            if ((rc = fn(ctx, row.cf, row.key, row.klen, row.val, row.vlen)) != 0)
                return rc;
        }
    }
    uint64_t seq;
    if (proj_trade_date(e->st, &seq)[0]) {
        codec_row_t row;
        int rc = codec_row_encode_trade_date(e->st, &row, e->scratch, e->scratch_cap);
        if (rc == 0)
            rc = fn(ctx, row.cf, row.key, row.klen, row.val, row.vlen);
        return rc;
    }
    return 0;
}

typedef struct {
    oms_engine_t *e;
    int pass;
    int rc;
} load_ctx_t;

static int s_load_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    load_ctx_t *lc = ctx;
    int rc = codec_row_load(lc->e->st, lc->pass, k, kl, v, vl, &lc->e->arena);
    oms_arena_reset(&lc->e->arena);
    if (rc)
        lc->rc = rc;
    return rc;
}

/* evlog_scan callback collecting the ids of the "w" rows (NUL-separated in e->ids). */
static int s_collect_working(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    load_ctx_t *lc = ctx;
    oms_engine_t *e = lc->e;
    if (vl != 0 || kl < 2 || kl - 1 >= OMS_ID_CAP || memchr(k + 1, 0, kl - 1)) {
        (void)v;
        lc->rc = s_fail(e, OMS_ERR_CORRUPT, "a working-order index row is malformed", k, kl);
        return lc->rc;
    }
    uint8_t *p = s_buf_reserve(&e->ids, kl);
    if (!p) {
        lc->rc = OMS_ERR_NOMEM;
        return lc->rc;
    }
    memcpy(p, k + 1, kl - 1);
    p[kl - 1] = '\0';
    e->ids.used += kl;
    return 0;
}

/* The restart's pass over the stored orders (oms_engine_load): "o" rows in key order, merged
 * with the working ids (e->ids, in the same order); a working one is loaded from the row the
 * pass holds, and the pass gives up after `budget` rows that are not working. */
typedef struct {
    oms_engine_t *e;
    size_t at;                /* next working id in e->ids */
    uint64_t skipped, budget; /* rows passed over, and how many may be */
    int rc;                   /* a load's failure */
} merge_t;

static int s_merge_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    merge_t *m = ctx;
    oms_engine_t *e = m->e;
    const uint8_t *kid = k + 1; /* every key of the pass starts with "o" */
    size_t kidl = kl ? kl - 1 : 0;
    while (m->at < e->ids.used) {
        const char *id = (const char *)e->ids.p + m->at;
        size_t il = strlen(id);
        int c = memcmp(id, kid, il < kidl ? il : kidl);
        if (c == 0)
            c = (il > kidl) - (il < kidl);
        if (c > 0)
            break; /* this row is not a working order */
        m->at += il + 1;
        if (c < 0)
            continue; /* no row for that id here: its point read will say so */
        if ((m->rc = s_load_order_row(e, id, k, kl, v, vl)) != 0)
            return m->rc;
        return m->at < e->ids.used ? 0 : 1;
    }
    if (m->at >= e->ids.used || ++m->skipped > m->budget)
        return 1;
    return 0;
}

int oms_engine_load(oms_engine_t *e, evlog_t *log)
{
    assert(!e->open);
    if (e->spent)
        return OMS_ERR_STATE;
    uint64_t head;
    evlog_head(log, &head, NULL);
    e->err[0] = '\0';
    /* On demand: only when the store has had index rows from its start. */
    bool on_demand = false;
    if (e->opts.row_get && e->opts.row_scan && e->opts.free_fn) {
        static const char mk[] = CODEC_INDEX_MARKER_KEY;
        uint8_t *val = NULL;
        size_t vlen = 0;
        int rc = e->opts.row_get(e->opts.row_ctx, EVLOG_CF_META, (const uint8_t *)mk, sizeof mk - 1,
                                 &val, &vlen);
        e->opts.free_fn(val);
        if (rc != 0 && rc != OMS_ERR_NOT_FOUND)
            return OMS_ERR_IO;
        on_demand = rc == 0 || head == 0;
    }
    /* Refdata first, then orders (which executions and allocations hang off), then the rest;
     * on demand, the orders family is read through its "w" index rows instead. */
    static const evlog_cf_t order[] = {EVLOG_CF_REFDATA, EVLOG_CF_ORDERS, EVLOG_CF_POSITIONS,
                                       EVLOG_CF_ALLOCATIONS, EVLOG_CF_META};
    for (size_t p = 0; p < sizeof order / sizeof order[0]; p++) {
        if (on_demand && (order[p] == EVLOG_CF_ORDERS || order[p] == EVLOG_CF_ALLOCATIONS))
            continue;
        load_ctx_t lc = {e, (int)order[p], 0};
        int rc = evlog_scan(log, order[p], NULL, 0, s_load_row, &lc);
        if (rc)
            return lc.rc ? lc.rc : rc;
    }
    if (on_demand) {
        e->ids.used = 0;
        load_ctx_t lc = {e, (int)EVLOG_CF_ORDERS, 0};
        int rc = e->opts.row_scan(e->opts.row_ctx, EVLOG_CF_ORDERS, (const uint8_t *)"w", 1,
                                  s_collect_working, &lc);
        if (lc.rc)
            return lc.rc;
        if (rc)
            return OMS_ERR_IO;
        /* Where the working orders are dense among the stored ones (often: long-lived orders
         * are few and recent ones cluster), one sequential pass from the first working id
         * reads their rows faster than a point read each; it stops after passing over twice as
         * many other rows as there are working orders (plus 1,024), so its cost follows the
         * working orders, not the history, and the orders it did not reach are read one by
         * one below. */
        uint64_t n_ids = 0;
        for (size_t at = 0; at < e->ids.used; at++)
            n_ids += e->ids.p[at] == '\0';
        if (n_ids) {
            merge_t m = {e, 0, 0, 2 * n_ids + 1024, 0};
            uint8_t lo[CODEC_KEY_CAP];
            size_t ll = codec_key_order(lo, sizeof lo, (const char *)e->ids.p);
            rc = evlog_scan_range(log, EVLOG_CF_ORDERS, lo, ll, (const uint8_t *)"p", 1,
                                  s_merge_row, &m);
            if (m.rc)
                return m.rc;
            if (rc < 0)
                return OMS_ERR_IO;
        }
        for (size_t at = 0; at < e->ids.used;) {
            const char *id = (const char *)e->ids.p + at;
            at += strlen(id) + 1;
            if ((rc = s_load_order(e, id)) != 0)
                return rc;
            if (!proj_order(e->st, id))
                return s_fail(e, OMS_ERR_CORRUPT, "a working-order index row names no order",
                              (const uint8_t *)id, strlen(id));
        }
        e->n_loaded = 0; /* loaded at restart, not on demand */
        free(e->ids.p);  /* the lists grow again, at need, for loads on demand */
        free(e->keys.p);
        e->ids = (buf_t){.limit = e->ids.limit};
        e->keys = (buf_t){.limit = e->keys.limit};
#ifdef __GLIBC__
        /* The lists and the rows' decoding left freed heap behind (a few MB at 100,000
         * orders): give it back, or it shows as resident memory per open order. */
        malloc_trim(0);
#endif
    }
    e->indexed = on_demand;
    e->write_index = on_demand;
    e->on_demand = on_demand && head > 0;
    e->n_ins_done = 0;
    e->head = head;
    e->next_seq = head + 1;
    return 0;
}
