/*
 * verify.c - replay_rebuild and replay_verify: one pass over the log (pass.c) that checks
 * contiguity and the hash chain and feeds every event to a fresh engine (the daemon's own
 * projection code), then a comparison of every stored projection row with the row the rebuilt
 * state encodes.
 *
 * Load: the pass (one BLAKE2b, one decode and one proj_apply per event, over several threads),
 * then one row encode per stored row. Memory: the pass's bounded ring plus the rebuilt state;
 * the row comparison looks each stored row's record up by key, so it keeps no copy of either
 * side.
 */
#include "replay_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A fresh engine with an empty state (the rebuild needs no idempotency lookups). NULL on out
 * of memory. */
static oms_engine_t *s_new_engine(void)
{
    oms_engine_opts_t o;
    oms_engine_opts_default(&o);
    return oms_engine_new(&o, 0);
}

/* Marks the result failed at seq (the caller writes the reason). */
static void s_fail(replay_verify_result_t *r, replay_bad_t bad, uint64_t seq)
{
    r->ok = false;
    r->bad = bad;
    r->first_bad_seq = seq;
}

/* ---- comparing rows -------------------------------------------------------------------------- */

#define CMP_GUESS_MISS  8   /* failed guesses in a row before s_guess pauses */
#define CMP_GUESS_PAUSE 256 /* rows compared without guessing after that */

/* Splits key[klen] (after a prefix of skip bytes) at 0x1f into up to 3 NUL-terminated ids.
 * Returns the number of parts, or -1 when a part is too long or there are too many. */
static int s_split(const uint8_t *key, size_t klen, size_t skip, char parts[3][OMS_ID_CAP])
{
    int n = 0;
    size_t start = skip;
    for (size_t i = skip; i <= klen; i++) {
        if (i == klen || key[i] == 0x1f) {
            size_t l = i - start;
            if (n >= 3 || l > OMS_LIMIT_ID_LEN)
                return -1;
            memcpy(parts[n], key + start, l);
            parts[n][l] = '\0';
            if (memchr(parts[n], '\0', l))
                return -1;
            n++;
            start = i + 1;
        }
    }
    return n;
}

/* The rebuilt record a stored row's key names: its table and index. false when there is none. */
static bool s_locate(const proj_state_t *st, evlog_cf_t cf, const uint8_t *key, size_t klen,
                     proj_table_t *t, uint32_t *idx)
{
    char p[3][OMS_ID_CAP];
    const void *rec = NULL;
    if (klen == 0)
        return false;
    switch (cf) {
    case EVLOG_CF_REFDATA:
        switch (key[0]) {
        case 'i':
            *t = PROJ_T_INSTRUMENT;
            if (s_split(key, klen, 1, p) == 1)
                rec = proj_instrument(st, p[0]);
            break;
        case 'a':
            *t = PROJ_T_ACCOUNT;
            if (s_split(key, klen, 1, p) == 1)
                rec = proj_account(st, p[0]);
            break;
        case 'p':
            *t = PROJ_T_PRINCIPAL;
            if (s_split(key, klen, 1, p) == 1)
                rec = proj_principal(st, p[0]);
            break;
        case 'l':
            *t = PROJ_T_LIMITS;
            if (klen >= 3 && key[2] == 0x1f && s_split(key, klen, 3, p) == 2)
                rec = proj_limits(st, (oms_limit_scope_t)(key[1] - '0'), p[0], p[1]);
            break;
        case 'r':
            *t = PROJ_T_RESTRICTION;
            if (s_split(key, klen, 1, p) == 2)
                rec = proj_restriction(st, p[0], p[1]);
            break;
        default:
            break;
        }
        break;
    case EVLOG_CF_ORDERS:
        if (key[0] == 'o') {
            *t = PROJ_T_ORDER;
            if (s_split(key, klen, 1, p) == 1)
                rec = proj_order(st, p[0]);
        } else if (key[0] == 'x') {
            *t = PROJ_T_EXEC;
            if (s_split(key, klen, 1, p) == 2)
                rec = proj_exec(st, p[0], p[1]);
        }
        break;
    case EVLOG_CF_POSITIONS:
        *t = PROJ_T_POSITION;
        if (s_split(key, klen, 0, p) == 2)
            rec = proj_position(st, p[0], p[1]);
        break;
    case EVLOG_CF_ALLOCATIONS:
        *t = PROJ_T_ALLOC;
        if (s_split(key, klen, 0, p) == 2)
            rec = proj_alloc(st, p[0], p[1]);
        break;
    default:
        break;
    }
    if (rec == NULL)
        return false;
    *idx = proj_index_of(st, *t, rec);
    return true;
}

/* The seq that last changed a record. */
static uint64_t s_last_seq(const proj_state_t *st, proj_table_t t, uint32_t idx)
{
    const void *r = proj_at(st, t, idx);
    if (r == NULL)
        return 0;
    switch (t) {
    case PROJ_T_INSTRUMENT:
        return ((const proj_instrument_t *)r)->last_seq;
    case PROJ_T_ACCOUNT:
        return ((const proj_account_t *)r)->last_seq;
    case PROJ_T_PRINCIPAL:
        return ((const proj_principal_t *)r)->last_seq;
    case PROJ_T_LIMITS:
        return ((const proj_limits_t *)r)->last_seq;
    case PROJ_T_RESTRICTION:
        return ((const proj_restriction_t *)r)->last_seq;
    case PROJ_T_ORDER:
        return ((const proj_order_t *)r)->last_seq;
    case PROJ_T_EXEC: {
        const proj_exec_t *x = r;
        return x->last_seq > x->seq ? x->last_seq : x->seq;
    }
    case PROJ_T_POSITION:
        return ((const proj_position_t *)r)->last_seq;
    case PROJ_T_ALLOC:
        return ((const proj_alloc_t *)r)->last_seq;
    default:
        return 0;
    }
}

typedef struct {
    const proj_state_t *st;
    uint8_t *buf;                /* REPLAY_ROW_BUF_BYTES of row scratch */
    evlog_cf_t cf;               /* the family being scanned */
    uint64_t n[EVLOG_CF_COUNT_]; /* stored rows compared, per family */
    replay_verify_result_t *res;
    int err; /* an encode error (a bug) */
    /* The guess (s_cmp_row): the record the previous row was, and how guessing goes. */
    bool have_last;      /* last_t / last_idx are set */
    proj_table_t last_t; /* its table */
    uint32_t last_idx;   /* its index */
    uint32_t misses;     /* failed guesses in a row */
    uint32_t pause;      /* rows still to compare without guessing */
} cmp_t;

static const char k_trade_date_key[] = "proj.trade_date";

/* Records a projection failure for the row key[klen] of c->cf; fmt takes detail as its one %s. */
static void s_row_bad(cmp_t *c, const uint8_t *key, size_t klen, uint64_t seq, const char *fmt,
                      const char *detail)
{
    replay_verify_result_t *r = c->res;
    r->ok = false;
    r->bad = REPLAY_BAD_PROJECTION;
    r->first_bad_seq = seq;
    snprintf(r->row_cf, sizeof r->row_cf, "%s", evlog_cf_name(c->cf));
    replay__key_text(key, klen, r->row_key, sizeof r->row_key);
    char what[200];
    int w = snprintf(what, sizeof what, fmt, detail);
    if (seq)
        w = snprintf(
            r->reason, sizeof r->reason,
            "projection row %s/%s: %s; the rebuilt record was last changed by seq %" PRIu64,
            r->row_cf, r->row_key, what, seq);
    else
        w = snprintf(r->reason, sizeof r->reason, "projection row %s/%s: %s", r->row_cf, r->row_key,
                     what);
    (void)w; /* a long key is cut: the reason is for humans */
}

/* True when the stored row key[klen] = v[vl] is exactly the rebuilt one. Cannot fail. */
static bool s_equal(const uint8_t *key, size_t klen, const uint8_t *v, size_t vl,
                    const codec_row_t *row)
{
    return row->klen == klen && row->vlen == vl && memcmp(row->key, key, klen) == 0 &&
           memcmp(row->val, v, vl) == 0;
}

/* Records in c->res that the stored row differs from the rebuilt one (seq: the rebuilt
 * record's last change). Cannot fail (a long key or reason is cut). */
static void s_differs(cmp_t *c, const uint8_t *key, size_t klen, const uint8_t *v, size_t vl,
                      const codec_row_t *row, uint64_t seq)
{
    size_t at = 0;
    while (at < vl && at < row->vlen && v[at] == row->val[at])
        at++;
    char d[128];
    snprintf(d, sizeof d, "byte %zu of %zu (rebuilt: %zu bytes)", at, vl, row->vlen);
    s_row_bad(c, key, klen, seq, "the stored value differs from the rebuilt one at %s", d);
}

/* The rebuilt record that follows the one the previous row was, when its row has exactly this
 * key: stored rows come in key order and records in creation order, and ids that grow with time
 * (order ids, exec ids) make the two the same order, so this finds most records without a
 * lookup. Keys are unique in a family, so a key match is the record s_locate would find. The
 * row is left encoded in *row. false when the guess is wrong (then it guesses less often). */
static bool s_guess(cmp_t *c, const uint8_t *key, size_t klen, codec_row_t *row, proj_table_t *t,
                    uint32_t *idx)
{
    if (!c->have_last)
        return false;
    if (c->pause) {
        c->pause--;
        return false;
    }
    uint32_t next = c->last_idx + 1;
    if (next < proj_count(c->st, c->last_t) &&
        codec_row_encode(c->st, c->last_t, next, row, c->buf, REPLAY_ROW_BUF_BYTES) == 0 &&
        row->cf == c->cf && row->klen == klen && memcmp(row->key, key, klen) == 0) {
        c->misses = 0;
        *t = c->last_t;
        *idx = next;
        return true;
    }
    if (++c->misses >= CMP_GUESS_MISS) {
        c->misses = 0;
        c->pause = CMP_GUESS_PAUSE;
    }
    return false;
}

/* An index row of the orders family (codec.h): "w" order_id is present exactly when the
 * rebuilt order is working, "e" order_id venue exec_id names a rebuilt execution of that order;
 * both have empty values. 0 when it holds, 1 with the failure recorded. */
static int s_cmp_index(cmp_t *c, const uint8_t *key, size_t klen, size_t vl)
{
    char p[3][OMS_ID_CAP];
    int n = s_split(key, klen, 1, p);
    const char *why = NULL;
    uint64_t seq = 0;
    if (vl != 0) {
        why = "an index row has a value";
    } else if (key[0] == 'w') {
        const proj_order_t *o = n == 1 ? proj_order(c->st, p[0]) : NULL;
        if (!o)
            why = "the working-order index row names no rebuilt order";
        else if (!proj_status_working(o->status))
            why = "the working-order index row names an order that is not working";
        if (o)
            seq = o->last_seq;
    } else {
        const proj_exec_t *x = n == 3 ? proj_exec(c->st, p[1], p[2]) : NULL;
        const proj_order_t *o = x ? proj_at(c->st, PROJ_T_ORDER, x->order) : NULL;
        if (!o || strcmp(o->order_id, p[0]) != 0)
            why = "the execution index row names no rebuilt execution of that order";
        if (x)
            seq = x->seq;
    }
    if (why) {
        s_row_bad(c, key, klen, seq, "%s", why);
        return 1;
    }
    c->n[c->cf]++;
    return 0;
}

#define CMP_AHEAD 8 /* rows between an execution's order being prefetched and its encoding */

/* Memory hints for the rows after execution idx, which s_guess will most likely encode next:
 * the record of the order of the execution CMP_AHEAD on, and the id (the order table's key) of
 * the order of the execution CMP_AHEAD / 2 on, whose record the previous hint brought in. An
 * execution's row holds its order's id, and the orders sit elsewhere in memory in another
 * order: two cache misses per row otherwise (the executions themselves are read in sequence,
 * which the hardware prefetches). A hint only: reads nothing the state does not hold, cannot
 * fail, changes nothing. */
static void s_ahead(const proj_state_t *st, proj_table_t t, uint32_t idx)
{
    if (t != PROJ_T_EXEC)
        return;
    const proj_exec_t *x = proj_at(st, t, idx + CMP_AHEAD);
    const proj_order_t *o = x ? proj_at(st, PROJ_T_ORDER, x->order) : NULL;
    if (o)
        __builtin_prefetch(o);
    x = proj_at(st, t, idx + CMP_AHEAD / 2);
    o = x ? proj_at(st, PROJ_T_ORDER, x->order) : NULL;
    if (o && o->order_id)
        __builtin_prefetch(o->order_id);
}

/* evlog_scan callback: compares one stored row with the rebuilt record its key names. 0 to go
 * on; 1 at the first difference (recorded in c->res) or an encode error (c->err). */
static int s_cmp_row(void *ctx, const uint8_t *key, size_t klen, const uint8_t *v, size_t vl)
{
    cmp_t *c = ctx;
    codec_row_t row;
    if (c->cf == EVLOG_CF_META) {
        if (klen < 5 || memcmp(key, "proj.", 5) != 0)
            return 0; /* the log's own rows and other owners' */
        uint64_t seq = 0;
        const char *td = proj_trade_date(c->st, &seq);
        if (klen != sizeof k_trade_date_key - 1 || memcmp(key, k_trade_date_key, klen) != 0 ||
            !td[0]) {
            s_row_bad(c, key, klen, 0, "%s", "no event produced this row");
            return 1;
        }
        int rc = codec_row_encode_trade_date(c->st, &row, c->buf, REPLAY_ROW_BUF_BYTES);
        if (rc) {
            c->err = rc;
            return 1;
        }
        c->n[c->cf]++;
        if (s_equal(key, klen, v, vl, &row))
            return 0;
        s_differs(c, key, klen, v, vl, &row, seq);
        return 1;
    }
    if (c->cf == EVLOG_CF_ORDERS && klen > 0 && (key[0] == 'e' || key[0] == 'w'))
        return s_cmp_index(c, key, klen, vl);
    proj_table_t t;
    uint32_t idx;
    if (!s_guess(c, key, klen, &row, &t, &idx)) {
        if (!s_locate(c->st, c->cf, key, klen, &t, &idx)) {
            s_row_bad(c, key, klen, 0, "%s",
                      "no event produced this row (it is not in the rebuilt "
                      "state)");
            return 1;
        }
        int rc = codec_row_encode(c->st, t, idx, &row, c->buf, REPLAY_ROW_BUF_BYTES);
        if (rc) {
            c->err = rc;
            return 1;
        }
    }
    c->have_last = true;
    c->last_t = t;
    c->last_idx = idx;
    c->n[c->cf]++;
    s_ahead(c->st, t, idx);
    if (s_equal(key, klen, v, vl, &row))
        return 0;
    /* The record's last change only names the seq to look at in the report. */
    s_differs(c, key, klen, v, vl, &row, s_last_seq(c->st, t, idx));
    return 1;
}

/* Rows the rebuilt state has per family; indexed: the store has index rows (codec.h), which
 * then count too (one per execution and per working order). */
static void s_expected(const proj_state_t *st, bool indexed, uint64_t want[EVLOG_CF_COUNT_])
{
    memset(want, 0, sizeof(uint64_t) * EVLOG_CF_COUNT_);
    want[EVLOG_CF_REFDATA] = (uint64_t)proj_count(st, PROJ_T_INSTRUMENT) +
                             proj_count(st, PROJ_T_ACCOUNT) + proj_count(st, PROJ_T_PRINCIPAL) +
                             proj_count(st, PROJ_T_LIMITS) + proj_count(st, PROJ_T_RESTRICTION);
    want[EVLOG_CF_ORDERS] = (uint64_t)proj_count(st, PROJ_T_ORDER) + proj_count(st, PROJ_T_EXEC);
    if (indexed) {
        want[EVLOG_CF_ORDERS] += proj_count(st, PROJ_T_EXEC);
        for (uint32_t i = 0, n = proj_count(st, PROJ_T_ORDER); i < n; i++)
            want[EVLOG_CF_ORDERS] +=
                proj_status_working(((const proj_order_t *)proj_at(st, PROJ_T_ORDER, i))->status);
    }
    want[EVLOG_CF_POSITIONS] = proj_count(st, PROJ_T_POSITION);
    want[EVLOG_CF_ALLOCATIONS] = proj_count(st, PROJ_T_ALLOC);
    uint64_t seq;
    want[EVLOG_CF_META] = proj_trade_date(st, &seq)[0] ? 1 : 0;
}

typedef struct {
    cmp_t *c;
    evlog_t *log;
    int err;
} missing_t;

/* oms_engine_rows callback: stops at the first rebuilt row absent from the store. */
static int s_find_missing(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen,
                          const uint8_t *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    missing_t *m = ctx;
    uint8_t *v = NULL;
    size_t len = 0;
    int rc = evlog_row_get(m->log, cf, key, klen, &v, &len);
    evlog_free(v);
    if (rc == 0)
        return 0;
    if (rc != OMS_ERR_NOT_FOUND) {
        m->err = rc;
        return 1;
    }
    proj_table_t t;
    uint32_t idx;
    uint64_t seq = 0;
    if (cf == EVLOG_CF_META)
        proj_trade_date(m->c->st, &seq);
    else if (s_locate(m->c->st, cf, key, klen, &t, &idx))
        seq = s_last_seq(m->c->st, t, idx);
    m->c->cf = cf;
    s_row_bad(m->c, key, klen, seq, "%s", "missing from the store");
    return 1;
}

/* ---- the comparison's jobs: ranges of stored rows, compared in parallel ------------------------
 * Each family (the orders family split at "p": order rows "o..." and executions "x...") is one
 * range, in the order a sequential scan meets them, so that the first failure reported is the
 * same whatever thread found it. With two threads or more the big ranges are cut into one part
 * per thread at keys sampled from the rebuilt state (every record has its row), so that every
 * thread gets a share; the cuts only need to be roughly even. (Two threads used to take the
 * order rows and the execution rows whole, one each, but an execution's row now costs less
 * than an order's (s_ahead), and the thread with the executions would wait for the other.) */

#define CMP_KEY_CAP    OMS_LIMIT_ROW_KEY_BYTES
#define CMP_MAX_JOBS   (6 + 4 * (REPLAY_THREADS_MAX - 1))
#define CMP_SAMPLES    32   /* sampled keys per part */
#define CMP_SPLIT_ROWS 1024 /* a range with fewer rebuilt records is not cut */

/* One range [lo, hi) of a family's keys. */
typedef struct {
    evlog_cf_t cf;                            /* the family */
    bool has_lo, has_hi;                      /* false: no bound on that side */
    uint8_t lo[CMP_KEY_CAP], hi[CMP_KEY_CAP]; /* the bounds */
    size_t lo_len, hi_len;                    /* their lengths */
} job_t;

/* The base ranges: family, bounds, whether to cut it, and the table whose records its rows are
 * (to sample keys from). */
static const struct {
    evlog_cf_t cf;
    const char *lo, *hi;
    proj_table_t t;
    bool cut;
} k_ranges[] = {
    {EVLOG_CF_REFDATA, NULL, NULL, PROJ_T_INSTRUMENT, false},
    {EVLOG_CF_ORDERS, NULL, "p", PROJ_T_ORDER, true},
    {EVLOG_CF_ORDERS, "p", NULL, PROJ_T_EXEC, true},
    {EVLOG_CF_POSITIONS, NULL, NULL, PROJ_T_POSITION, true},
    {EVLOG_CF_ALLOCATIONS, NULL, NULL, PROJ_T_ALLOC, true},
    {EVLOG_CF_META, NULL, NULL, PROJ_T_INSTRUMENT, false},
};
#define N_RANGES (sizeof k_ranges / sizeof k_ranges[0])

/* Byte order of RocksDB's default comparator: memcmp, then the shorter first. */
static int s_key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* A key sampled from the rebuilt state, to cut a range at. */
typedef struct {
    uint8_t k[CMP_KEY_CAP]; /* the key */
    size_t len;             /* its length */
} sample_t;

/* qsort's comparison of two sampled keys (s_key_cmp). */
static int s_sample_cmp(const void *a, const void *b)
{
    const sample_t *x = a, *y = b;
    return s_key_cmp(x->k, x->len, y->k, y->len);
}

/* Appends range r to jobs, cut into up to `parts` pieces at keys sampled from the rebuilt
 * records of its table. Sampling needs memory and encodes; when either fails the range is
 * simply not cut (the result is the same, only less parallel). Returns the new job count. */
static size_t s_add_range(const proj_state_t *st, size_t r, unsigned parts, uint8_t *buf,
                          job_t *jobs, size_t n)
{
    job_t base = {.cf = k_ranges[r].cf};
    if (k_ranges[r].lo) {
        base.has_lo = true;
        base.lo_len = strlen(k_ranges[r].lo);
        memcpy(base.lo, k_ranges[r].lo, base.lo_len);
    }
    if (k_ranges[r].hi) {
        base.has_hi = true;
        base.hi_len = strlen(k_ranges[r].hi);
        memcpy(base.hi, k_ranges[r].hi, base.hi_len);
    }
    uint32_t count = k_ranges[r].cut ? proj_count(st, k_ranges[r].t) : 0;
    uint32_t n_samples = parts * CMP_SAMPLES;
    sample_t *smp =
        parts > 1 && count >= CMP_SPLIT_ROWS && buf ? malloc(n_samples * sizeof *smp) : NULL;
    uint32_t got = 0;
    for (uint32_t i = 0; smp && i < n_samples; i++) {
        codec_row_t row;
        uint32_t idx = (uint32_t)((uint64_t)i * count / n_samples);
        if (codec_row_encode(st, k_ranges[r].t, idx, &row, buf, REPLAY_ROW_BUF_BYTES) != 0 ||
            row.klen > CMP_KEY_CAP || row.cf != base.cf ||
            (base.has_lo && s_key_cmp(row.key, row.klen, base.lo, base.lo_len) < 0) ||
            (base.has_hi && s_key_cmp(row.key, row.klen, base.hi, base.hi_len) >= 0))
            continue;
        memcpy(smp[got].k, row.key, row.klen);
        smp[got++].len = row.klen;
    }
    if (got >= parts)
        qsort(smp, got, sizeof *smp, s_sample_cmp);
    job_t *j = &jobs[n++];
    *j = base;
    for (unsigned k = 1; got >= parts && k < parts; k++) {
        const sample_t *cut = &smp[(size_t)k * got / parts];
        if (j->has_lo && s_key_cmp(cut->k, cut->len, j->lo, j->lo_len) <= 0)
            continue; /* the same cut twice (many equal samples) */
        j->has_hi = true;
        j->hi_len = cut->len;
        memcpy(j->hi, cut->k, cut->len);
        job_t *next = &jobs[n++];
        *next = base;
        next->has_lo = true;
        next->lo_len = cut->len;
        memcpy(next->lo, cut->k, cut->len);
        j = next;
    }
    free(smp);
    return n;
}

/* The comparison's shared state: jobs taken in order by any thread, one result per job. */
typedef struct {
    evlog_t *log;                /* read from several threads (evlog_scan_range allows it) */
    const proj_state_t *st;      /* the rebuilt state, read only */
    const job_t *jobs;           /* the ranges, in key order */
    size_t n_jobs;               /* how many */
    replay_verify_result_t *res; /* per job (ok = true when it passed) */
    uint64_t *n;                 /* stored rows compared per job */
    int *rc;                     /* per job: an I/O or encode error */
    pthread_mutex_t mu;
    size_t next;  /* the next job to take (under mu) */
    size_t first; /* the first job that failed so far (under mu); later ones need not run */
} cmp_run_t;

/* What every comparison thread runs (the caller too): takes the next job until none is left
 * or none can come before a failure already found. Its own row buffer, freed before it
 * returns; no buffer: the job records OMS_ERR_NOMEM. */
static void *s_cmp_worker(void *arg)
{
    cmp_run_t *x = arg;
    uint8_t *buf = malloc(REPLAY_ROW_BUF_BYTES);
    for (;;) {
        pthread_mutex_lock(&x->mu);
        size_t j = x->next < x->n_jobs && x->next < x->first ? x->next++ : x->n_jobs;
        pthread_mutex_unlock(&x->mu);
        if (j == x->n_jobs)
            break;
        const job_t *jb = &x->jobs[j];
        x->res[j].ok = true;
        if (buf == NULL) {
            x->rc[j] = OMS_ERR_NOMEM;
        } else {
            cmp_t c = {.st = x->st, .buf = buf, .cf = jb->cf, .res = &x->res[j]};
            int rc = evlog_scan_range(x->log, jb->cf, jb->has_lo ? jb->lo : NULL, jb->lo_len,
                                      jb->has_hi ? jb->hi : NULL, jb->hi_len, s_cmp_row, &c);
            x->n[j] = c.n[jb->cf];
            if (c.err) {
                snprintf(x->res[j].reason, sizeof x->res[j].reason,
                         "cannot encode a rebuilt row: %s", oms_strerror(c.err));
                x->rc[j] = c.err;
            } else if (rc < 0) {
                x->rc[j] = rc;
            }
        }
        if (!x->res[j].ok || x->rc[j]) {
            pthread_mutex_lock(&x->mu);
            if (j < x->first)
                x->first = j;
            pthread_mutex_unlock(&x->mu);
        }
    }
    free(buf);
    return NULL;
}

/* Compares every stored projection row with the rebuilt state, over up to `threads` threads
 * (the caller included; every helper joined before it returns). 0 (res says), or an error
 * (OMS_ERR_IO, OMS_ERR_NOMEM, an encode error), as one thread scanning the ranges in order
 * would meet them. */
static int s_compare(evlog_t *log, const oms_engine_t *eng, unsigned threads,
                     replay_verify_result_t *res)
{
    const proj_state_t *st = oms_engine_state(eng);
    cmp_run_t x = {.log = log, .st = st};
    job_t *jobs = malloc(CMP_MAX_JOBS * sizeof *jobs);
    uint8_t *buf = threads > 1 ? malloc(REPLAY_ROW_BUF_BYTES) : NULL;
    x.res = calloc(CMP_MAX_JOBS, sizeof *x.res);
    x.n = calloc(CMP_MAX_JOBS, sizeof *x.n);
    x.rc = calloc(CMP_MAX_JOBS, sizeof *x.rc);
    int rc = jobs && x.res && x.n && x.rc ? 0 : OMS_ERR_NOMEM;
    for (size_t r = 0; rc == 0 && r < N_RANGES; r++)
        x.n_jobs = s_add_range(st, r, threads > 1 ? threads : 1, buf, jobs, x.n_jobs);
    free(buf);
    x.jobs = jobs;
    x.first = x.n_jobs;
    pthread_t th[REPLAY_THREADS_MAX];
    unsigned started = 0;
    if (rc == 0) {
        pthread_mutex_init(&x.mu, NULL);
        while (started + 1 < threads && started + 1 < x.n_jobs &&
               pthread_create(&th[started], NULL, s_cmp_worker, &x) == 0)
            started++;
        s_cmp_worker(&x);
        for (unsigned i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        pthread_mutex_destroy(&x.mu);
    }
    /* The first failure or error in key order across the ranges; rows are counted up to it,
     * as a single thread would have (other threads may have gone further). */
    size_t first = x.n_jobs;
    uint64_t got[EVLOG_CF_COUNT_] = {0};
    for (size_t j = 0; rc == 0 && j < x.n_jobs && first == x.n_jobs; j++) {
        got[jobs[j].cf] += x.n[j];
        res->rows += x.n[j];
        if (x.rc[j])
            rc = x.rc[j];
        else if (x.res[j].bad != REPLAY_BAD_NONE)
            first = j;
    }
    if (rc == 0 && first < x.n_jobs) {
        uint64_t events = res->events, rows = res->rows, hs = res->head_seq;
        int64_t log_ns = res->log_ns;
        oms_hash_t hh = res->head_hash;
        *res = x.res[first];
        res->log_ns = log_ns;
        res->events = events;
        res->rows = rows;
        res->head_seq = hs;
        res->head_hash = hh;
    }
    free(jobs);
    free(x.res);
    free(x.n);
    free(x.rc);
    if (rc == 0 && res->ok) {
        uint64_t want[EVLOG_CF_COUNT_];
        static const char mk[] = CODEC_INDEX_MARKER_KEY;
        uint8_t *mv = NULL;
        size_t ml = 0;
        bool indexed =
            evlog_row_get(log, EVLOG_CF_META, (const uint8_t *)mk, sizeof mk - 1, &mv, &ml) == 0;
        evlog_free(mv);
        s_expected(st, indexed, want);
        bool short_count = false;
        for (int c = 0; c < EVLOG_CF_COUNT_; c++)
            short_count |= got[c] != want[c];
        if (short_count) {
            /* Every stored row matched a rebuilt one, so some rebuilt row is not stored. */
            uint8_t *mbuf = malloc(REPLAY_ROW_BUF_BYTES);
            cmp_t c = {.st = st, .buf = mbuf, .res = res};
            missing_t m = {&c, log, 0};
            rc = mbuf ? oms_engine_rows(eng, s_find_missing, &m) : OMS_ERR_NOMEM;
            rc = m.err ? m.err : rc > 0 ? 0 : rc;
            free(mbuf);
            if (rc == 0 && res->ok) {
                res->ok = false;
                res->bad = REPLAY_BAD_PROJECTION;
                snprintf(res->reason, sizeof res->reason,
                         "the store's projection rows do not match the rebuilt state's count");
            }
        }
    }
    return rc;
}

/* ---- verify ---------------------------------------------------------------------------------- */

void replay_verify_opts_default(replay_verify_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->rebuild = true;
}

int replay_parse_anchor(const char *s, uint64_t *seq, oms_hash_t *hash)
{
    if (s == NULL)
        return OMS_ERR_PARSE;
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon == s || colon - s > 20)
        return OMS_ERR_PARSE;
    uint64_t v = 0;
    for (const char *p = s; p < colon; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return OMS_ERR_PARSE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    const char *h = colon + 1;
    if (v == 0 || strlen(h) != 2 * OMS_HASH_LEN)
        return OMS_ERR_PARSE;
    for (int i = 0; i < OMS_HASH_LEN; i++) {
        int b = 0;
        for (int k = 0; k < 2; k++) {
            char ch = h[2 * i + k];
            int d = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (d < 0)
                return OMS_ERR_PARSE;
            b = b * 16 + d;
        }
        hash->bytes[i] = (uint8_t)b;
    }
    *seq = v;
    return 0;
}

int replay_verify(evlog_t *log, const replay_verify_opts_t *o, replay_verify_result_t *res)
{
    if (log == NULL || res == NULL)
        return OMS_ERR_INVALID;
    replay_verify_opts_t dflt;
    if (o == NULL) {
        replay_verify_opts_default(&dflt);
        o = &dflt;
    }
    memset(res, 0, sizeof *res);
    res->ok = true;
    int rc = replay__read_head(log, &res->head_seq, &res->head_hash);
    if (rc == OMS_ERR_IO)
        return rc;
    bool head_known = rc == 0;
    unsigned threads = replay__threads(o->threads, res->head_seq);
    oms_engine_t *eng = NULL;
    if (o->rebuild && (eng = s_new_engine()) == NULL)
        return OMS_ERR_NOMEM;

    /* The pass over the log: every check in seq order, and the rebuild. */
    int64_t t0 = oms_clock_mono_ns();
    replay__progress_start(o->progress, "verify");
    replay_pass_cfg_t cfg = {
        .verify = true,
        .eng = eng,
        .head_known = head_known,
        .head_seq = res->head_seq,
        .has_anchor = o->has_anchor,
        .anchor_seq = o->anchor_seq,
        .anchor_hash = o->anchor_hash,
        .threads = threads,
        .chunk_events = o->pipe_chunk_events,
        .progress = o->progress,
        .progress_total = res->head_seq,
        .size_hint = res->head_seq >= REPLAY_SIZE_MIN ? res->head_seq : 0,
    };
    replay_pass_t pass;
    rc = replay__pass(log, &cfg, &pass);
    res->events = pass.events;
    if (rc == 0 && pass.failed) {
        s_fail(res, pass.bad, pass.bad_seq);
        snprintf(res->reason, sizeof res->reason, "%s", pass.reason);
    }
    res->log_ns = oms_clock_mono_ns() - t0;

    /* What only the end of the log tells: the recorded head, the anchor's presence. */
    uint64_t last = pass.last_seq;
    if (rc == 0 && res->ok) {
        if (!head_known && last > 0) {
            s_fail(res, REPLAY_BAD_HEAD, last);
            snprintf(res->reason, sizeof res->reason, "the store has no recorded head");
        } else if (last < res->head_seq) {
            s_fail(res, REPLAY_BAD_HEAD, last + 1);
            snprintf(res->reason, sizeof res->reason,
                     "the log ends at seq %" PRIu64 " but the recorded head is seq %" PRIu64
                     " (truncated)",
                     last, res->head_seq);
        } else if (last > 0 && !oms_hash_equal(&pass.last_hash, &res->head_hash)) {
            s_fail(res, REPLAY_BAD_HEAD, last);
            snprintf(res->reason, sizeof res->reason,
                     "the recorded head hash is not seq %" PRIu64 "'s hash", last);
        }
    }
    if (rc == 0 && res->ok && o->has_anchor && !pass.anchor_seen) {
        s_fail(res, REPLAY_BAD_ANCHOR, o->anchor_seq);
        snprintf(res->reason, sizeof res->reason,
                 "anchor: the log no longer contains seq %" PRIu64 " (it ends at seq %" PRIu64 ")",
                 o->anchor_seq, last);
    }
    if (rc == 0 && res->ok && eng) {
        int64_t t1 = oms_clock_mono_ns();
        rc = s_compare(log, eng, threads, res);
        res->rows_ns = oms_clock_mono_ns() - t1;
    }
    if (rc == 0)
        replay__progress_end(o->progress, res->events);
    oms_engine_destroy(&eng);
    return rc;
}

/* ---- state as of a seq or a time ------------------------------------------------------------- */

int replay_rebuild(evlog_t *log, uint64_t to_seq, int64_t to_ts_ns, replay_progress_t *progress,
                   oms_engine_t **out, uint64_t *reached)
{
    if (log == NULL || out == NULL || reached == NULL)
        return OMS_ERR_INVALID;
    *out = NULL;
    *reached = 0;
    uint64_t head = 0;
    evlog_head(log, &head, NULL);
    if (to_seq == 0)
        to_seq = head;
    if (to_seq > head)
        return OMS_ERR_NOT_FOUND;
    oms_engine_t *eng = s_new_engine();
    if (eng == NULL)
        return OMS_ERR_NOMEM;
    replay__progress_start(progress, "state");
    replay_pass_cfg_t cfg = {
        .eng = eng,
        .to_seq = to_seq,
        .to_ts_ns = to_ts_ns,
        .threads = replay__threads(0, to_seq),
        .progress = progress,
        .progress_total = to_seq,
        .size_hint = to_seq >= REPLAY_SIZE_MIN ? to_seq : 0,
    };
    replay_pass_t pass;
    int rc = replay__pass(log, &cfg, &pass);
    if (rc == 0 && pass.failed)
        rc = pass.bad_rc;
    *reached = pass.last_seq;
    if (rc) {
        oms_engine_destroy(&eng);
        return rc;
    }
    replay__progress_end(progress, pass.last_seq);
    *out = eng;
    return 0;
}

int replay_checkpoint(evlog_t *log, const char *dir)
{
    if (log == NULL || dir == NULL || !*dir)
        return OMS_ERR_INVALID;
    return evlog_checkpoint(log, dir);
}
