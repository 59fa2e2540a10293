/*
 * test_engine_property.c - a seeded property test of the engine. It drives 100,000 random but
 * plausible commands through a real event log, in batches of random size 1..64: new
 * single-account orders and blocks (weight or quantity instructions) over five accounts (one
 * four-eyes, one short-allowed) and three instruments (equity lot 1 tick 0.01, future
 * multiplier 50, equity lot 100), four-eyes releases, cancels, replaces (quantity up, down, to
 * cum, below cum; price), venue acks and rejects, partial, full, over- and late fills,
 * duplicate executions, cancel/replace confirmations and rejections, expiries, done for day,
 * busts and corrections of real executions, allocations (all or part, own or override
 * instructions) and reversals, limits at firm and account scope (sometimes tight, so the
 * pre-trade checks fire), restricted-list toggles, reference prices, end of day, retries of
 * earlier commands and conflicting reuse of their ids. It proves that
 *
 *  - after every batch the state is consistent (the whole state every FULL_CHECK_EVERY batches,
 *    which is every batch except under sanitizers, and at the end; the orders the batch named
 *    always): cum, leaves, fill count and the exact price x quantity sum agree with the order's
 *    live executions, cum <= qty unless flagged overfilled, the status agrees with cum (FIX
 *    OrdStatus); positions are exactly the signed live fills of single-account orders plus
 *    booked allocation parts, the unallocated position is block fills minus booked allocations,
 *    open buy/sell leaves are the exposure of the working orders; allocation parts sum to their
 *    allocation, booked ones to the block's allocated quantity, which never exceeds cum unless
 *    a bust or correction came after an allocation (flagged by an exception: such blocks are
 *    skipped for that one rule, and counted);
 *  - every command gets exactly one reply, in order; accepted and rejected commands' events tile
 *    the batch's seqs exactly; a retry (same id, same content) is a DUPLICATE repeating the
 *    first reply and appends nothing; the same id with other content is refused (CMD-004);
 *  - a rebuild from the log (decode + apply of every event) gives byte-identical fx_rows; the
 *    rows written with the batches are exactly the live rows; a restart from them gives the
 *    same rows (as a set sorted by column family and key: a restart loads records in key
 *    order, so fx_rows lists them in another order). Restarts also happen twice mid-run and
 *    the run goes on with the restarted engine (the first one after a byte-identical rebuild
 *    check); at the end the rebuild is compared as a set, and the hash chain verifies.
 *
 * The seed is printed; OMS_TEST_SEED=<n> replays a run, OMS_PROP_COMMANDS=<n> changes its
 * length, OMS_PROP_TRACE=<order id> prints every command naming that order with its reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "enginefix.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define PROP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROP_SANITIZED 1
#endif
#endif
#ifndef PROP_SANITIZED
#define PROP_SANITIZED 0
#endif

#define DEFAULT_COMMANDS 100000
#define BATCH_MAX        64
#define POOL_CAP         384 /* order ids the generator targets (older ones stay in the state) */
#define RING_CAP         512 /* earlier commands kept for retries */
#define MAX_INSTRS       4   /* block instructions per generated order */
#define FULL_CHECK_EVERY (PROP_SANITIZED ? 4 : 1) /* batches between full-state checks */
#define N_INS            3
#define N_ACC            5
#define ACC_BLOCK        N_ACC /* position index of the unallocated ("") account */

static const char *const k_acc[N_ACC] = {"ACC1", "ACC2", "ACC3", "SHORTY", "FE"};
enum { A_SHORTY = 3, A_FE = 4 };

/* Instruments: AAPL and ESZ6 come from fx_setup; LOTC (lot 100) is defined here. */
static const struct {
    const char *id;
    const char *lot, *tick, *base;
    uint32_t max_lots; /* largest generated order, in lots */
} k_ins[N_INS] = {
    {"AAPL", "1", "0.01", "100", 300},
    {"ESZ6", "1", "0.25", "5000", 20},
    {"LOTC", "100", "0.05", "20", 30},
};

typedef enum {
    K_NEW,
    K_NEW_BLOCK,
    K_RELEASE,
    K_CANCEL,
    K_REPLACE,
    K_ACK,
    K_VREJECT,
    K_FILL,
    K_LATE_FILL,
    K_DUP_EXEC,
    K_CANCEL_ACK,
    K_CANCEL_REJECT,
    K_REPLACE_ACK,
    K_REPLACE_REJECT,
    K_EXPIRE,
    K_DFD,
    K_BUST,
    K_CORRECT,
    K_ALLOC,
    K_REVERSE,
    K_LIMITS,
    K_RESTRICT,
    K_REFPX,
    K_RETRY,
    K_CONFLICT,
    K_EOD,
    K_COUNT
} kind_t;

static const char *const k_kind_name[K_COUNT] = {
    "new",          "new_block",      "release",    "cancel",         "replace",    "ack",
    "venue_reject", "fill",           "late_fill",  "dup_exec",       "cancel_ack", "cancel_reject",
    "replace_ack",  "replace_reject", "expire",     "done_for_day",   "bust",       "correct",
    "allocate",     "reverse",        "set_limits", "set_restricted", "ref_price",  "retry",
    "conflict",     "end_of_day",
};

/* Relative weights of the kinds (per 10,000 commands). */
static const uint32_t k_weight[K_COUNT] = {
    [K_NEW] = 1150,        [K_NEW_BLOCK] = 450,
    [K_RELEASE] = 250,     [K_CANCEL] = 550,
    [K_REPLACE] = 550,     [K_ACK] = 900,
    [K_VREJECT] = 80,      [K_FILL] = 2450,
    [K_LATE_FILL] = 150,   [K_DUP_EXEC] = 80,
    [K_CANCEL_ACK] = 380,  [K_CANCEL_REJECT] = 150,
    [K_REPLACE_ACK] = 380, [K_REPLACE_REJECT] = 150,
    [K_EXPIRE] = 80,       [K_DFD] = 80,
    [K_BUST] = 150,        [K_CORRECT] = 150,
    [K_ALLOC] = 420,       [K_REVERSE] = 120,
    [K_LIMITS] = 60,       [K_RESTRICT] = 50,
    [K_REFPX] = 80,        [K_RETRY] = 250,
    [K_CONFLICT] = 80,     [K_EOD] = 1,
};

typedef enum { EXPECT_NONE = 0, EXPECT_DUP, EXPECT_CONFLICT } expect_t;

/* Expected position sums, by (account, instrument). */
typedef struct {
    oms_dec_t qty[N_ACC + 1][N_INS];
    oms_dec_t buys[N_ACC + 1][N_INS];
    oms_dec_t sells[N_ACC + 1][N_INS];
    uint32_t execs, allocs;
} sums_t;

typedef struct {
    uint8_t *p;
    size_t len;
} rows_t;

/* One row of an fx_rows buffer: cf byte, 8-byte key length, key, 8-byte value length, value. */
typedef struct {
    uint8_t cf;
    const uint8_t *key, *val;
    size_t klen, vlen;
} row_view_t;

/* Rows as a set, sorted by (cf, key): how a restart (which loads the store in key order, so
 * records get other indices and fx_rows another order) or the store itself is compared. */
typedef struct {
    row_view_t *r;
    size_t n, cap;
    uint8_t **owned; /* copies made for rows read from the store */
    size_t n_owned;
} rowset_t;

/* An earlier command with its reply, for retries. */
typedef struct {
    oms_cmd_t cmd;
    oms_alloc_instr_t instrs[MAX_INSTRS];
    oms_reply_t reply;
} ring_t;

/* What the generator wants to know about one command of the batch. */
typedef struct {
    kind_t kind;
    expect_t expect;
    oms_reply_t orig; /* EXPECT_DUP: the first reply */
} meta_t;

typedef struct {
    fx_t f;
    const char *dir;
    uint64_t seed, rng;
    oms_dec_t lot[N_INS], tick[N_INS], base[N_INS];
    char pool[POOL_CAP][16];
    uint32_t n_pool;
    ring_t *ring;
    uint32_t n_ring, ring_next;
    uint64_t n_ord, n_exec, n_cl, n_alloc;
    uint32_t eod_day;
    bool tight[N_ACC + 1]; /* limits scope (accounts, then firm) currently set tight */
    /* the batch */
    oms_cmd_t cmds[BATCH_MAX];
    oms_alloc_instr_t instrs[BATCH_MAX][MAX_INSTRS];
    meta_t meta[BATCH_MAX];
    oms_reply_t replies[BATCH_MAX];
    /* statistics */
    uint64_t outcome[K_COUNT][5]; /* by oms_reply_status_t */
    struct {
        kind_t kind;
        char rule[OMS_RULE_CAP];
        uint64_t n;
    } rules[256]; /* refusals by (kind, rule) */
    uint32_t n_rules;
    uint64_t batches, full_checks;
    /* Scratch of the checks, here so that teardown frees it when a check fails. */
    sums_t sums;
    oms_engine_t *rebuilt;
    uint32_t n_rebuilds; /* every other rebuild applies without the journal (the replay's way) */
    oms_arena_t arena;
    evlog_iter_t *iter;
    rows_t rows[2];
    rowset_t sets[3];
    uint32_t bust_after_alloc_skipped;
    /* The on-demand twin (test_engine_evict_*): same commands, restarted every few hundred. */
    bool evict;           /* the generator also reuses order ids and exec ids */
    fx_t twin;            /* the engine with on-demand loading */
    const char *twin_dir; /* its store */
    oms_reply_t twin_replies[BATCH_MAX];
    uint64_t twin_restarts, twin_cmp_seq; /* restarts; log compared up to this seq */
    uint64_t dup_ids, cross_execs; /* generated: reused order ids, exec ids of other orders */
} prop_t;

/* ---- randomness ----------------------------------------------------------------------------- */

static uint32_t U(prop_t *p, uint32_t n)
{
    return n ? (uint32_t)(tu_rand(&p->rng) % n) : 0;
}

/* True with probability pm / 1000. */
static bool P(prop_t *p, uint32_t pm)
{
    return U(p, 1000) < pm;
}

/* ---- generator helpers ---------------------------------------------------------------------- */

static int s_ins_idx(const char *id)
{
    for (int i = 0; i < N_INS; i++)
        if (strcmp(id, k_ins[i].id) == 0)
            return i;
    return -1;
}

static int s_acc_idx(const char *id)
{
    if (!id[0])
        return ACC_BLOCK;
    for (int i = 0; i < N_ACC; i++)
        if (strcmp(id, k_acc[i]) == 0)
            return i;
    return -1;
}

static const proj_state_t *S(prop_t *p)
{
    return oms_engine_state(p->f.eng);
}

/* A price within +-pct% of the instrument's base, on the tick. */
static oms_dec_t s_px(prop_t *p, int ins, int pct)
{
    int64_t nt = p->base[ins] / p->tick[ins];
    int64_t span = nt * pct / 100;
    if (span < 1)
        span = 1;
    int64_t off = (int64_t)U(p, (uint32_t)(2 * span + 1)) - span;
    return (nt + off) * p->tick[ins];
}

static bool s_working(oms_ord_status_t s)
{
    switch (s) {
    case OMS_ST_PENDING_RELEASE:
    case OMS_ST_PENDING_NEW:
    case OMS_ST_NEW:
    case OMS_ST_PARTIALLY_FILLED:
    case OMS_ST_PENDING_CANCEL:
    case OMS_ST_PENDING_REPLACE:
        return true;
    default:
        return false;
    }
}

#define M(s)  (1u << (s))
#define M_ANY 0xffffffffu
#define M_DONE                                                                                     \
    (M(OMS_ST_FILLED) | M(OMS_ST_CANCELED) | M(OMS_ST_REJECTED) | M(OMS_ST_EXPIRED) |              \
     M(OMS_ST_DONE_FOR_DAY))

/* A pooled order whose status is in mask (block: -1 any, 0 single, 1 block; want_execs: has
 * executions), or NULL. */
static const proj_order_t *s_pick(prop_t *p, uint32_t mask, int block, bool want_execs)
{
    if (p->n_pool == 0)
        return NULL;
    uint32_t start = U(p, p->n_pool);
    for (uint32_t k = 0; k < p->n_pool; k++) {
        /* Random probes first, then a scan, so rare statuses are still found. */
        uint32_t i = k < 24 ? U(p, p->n_pool) : (start + k) % p->n_pool;
        const proj_order_t *o = proj_order(S(p), p->pool[i]);
        if (!o || !(mask & M(o->status)))
            continue;
        if (block >= 0 && o->is_block != (block == 1))
            continue;
        if (want_execs && o->n_execs == 0)
            continue;
        return o;
    }
    return NULL;
}

static void s_pool_add(prop_t *p, const char *id)
{
    if (p->n_pool < POOL_CAP) {
        oms_strlcpy(p->pool[p->n_pool++], id, 16);
        return;
    }
    uint32_t victim = U(p, POOL_CAP);
    for (int k = 0; k < 32; k++) {
        uint32_t i = U(p, POOL_CAP);
        const proj_order_t *o = proj_order(S(p), p->pool[i]);
        if (!o || (M_DONE & M(o->status))) {
            victim = i;
            break;
        }
    }
    oms_strlcpy(p->pool[victim], id, 16);
}

static oms_cmd_t *s_cmd(prop_t *p, uint32_t i, oms_cmd_type_t type, const char *who)
{
    oms_cmd_t *c = &p->cmds[i];
    memset(c, 0, sizeof *c);
    c->type = type;
    oms_strlcpy(c->principal, who, OMS_ID_CAP);
    c->client_ts_ns = (int64_t)p->f.ts;
    return c;
}

static oms_cmd_t *s_report(prop_t *p, uint32_t i, oms_cmd_type_t type, const proj_order_t *o)
{
    oms_cmd_t *c = s_cmd(p, i, type, "venue");
    oms_strlcpy(c->u.report.h.order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(c->u.report.h.venue, o->venue[0] ? o->venue : "XNAS", OMS_ID_CAP);
    c->u.report.h.venue_order_id[0] = 'V';
    oms_strlcpy(c->u.report.h.venue_order_id + 1, o->order_id, OMS_ID_CAP - 1);
    c->u.report.h.transact_ts_ns = p->f.ts;
    return c;
}

/* ---- generators: each fills cmds[i] and returns true, or false when no target fits ---------- */

static void s_instrs(prop_t *p, oms_alloc_instr_t *in, uint32_t *n_out, oms_dec_t qty,
                     oms_dec_t lot, bool allow_fe)
{
    uint32_t n = 2 + U(p, 3);
    if (n > MAX_INSTRS)
        n = MAX_INSTRS;
    int order[N_ACC] = {0, 1, 2, 3, 4};
    for (int i = N_ACC - 1; i > 0; i--) {
        int j = (int)U(p, (uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    uint32_t k = 0;
    for (int i = 0; i < N_ACC && k < n; i++) {
        if (order[i] == A_FE && !allow_fe)
            continue;
        memset(&in[k], 0, sizeof in[k]);
        oms_strlcpy(in[k].account_id, k_acc[order[i]], OMS_ID_CAP);
        k++;
    }
    n = k;
    int64_t lots = qty / lot;
    bool by_weight = qty <= 0 || P(p, 500) || lots < (int64_t)n || qty % lot != 0;
    if (by_weight) {
        for (uint32_t i = 0; i < n; i++) {
            in[i].by_weight = true;
            oms_dec_t w = (oms_dec_t)(1 + U(p, 5)) * OMS_DEC_SCALE;
            in[i].share = P(p, 100) ? w / 4 : w; /* one draw per statement: a fixed order */
        }
    } else {
        int64_t left = lots;
        for (uint32_t i = 0; i < n; i++) {
            int64_t take = i + 1 == n ? left : 1 + (int64_t)U(p, (uint32_t)(left - (n - 1 - i)));
            in[i].share = take * lot;
            left -= take;
        }
    }
    *n_out = n;
}

static bool g_new(prop_t *p, uint32_t i, bool block)
{
    const char *who = P(p, 800) ? "pm" : "pm2";
    if (P(p, 5))
        who = "ops"; /* not entitled */
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_NEW_ORDER, who);
    oms_new_order_t *no = &c->u.new_order;
    if (p->evict && p->n_ord > 0 && P(p, 25)) { /* an id in use, most likely by an old order */
        snprintf(no->order_id, OMS_ID_CAP, "O%" PRIu64, 1 + (uint64_t)U(p, (uint32_t)p->n_ord));
        p->dup_ids++;
    } else {
        snprintf(no->order_id, OMS_ID_CAP, "O%" PRIu64, ++p->n_ord);
    }
    int ins = (int)U(p, N_INS);
    oms_strlcpy(no->instrument_id, k_ins[ins].id, OMS_ID_CAP);
    no->qty = (oms_dec_t)(1 + U(p, k_ins[ins].max_lots)) * p->lot[ins];
    if (P(p, 15))
        no->qty += p->lot[ins] / 2; /* not a whole lot */
    if (block) {
        no->side = P(p, 750) ? OMS_SIDE_BUY : OMS_SIDE_SELL;
        s_instrs(p, p->instrs[i], &no->n_allocs, no->qty, p->lot[ins], true);
        no->allocs = p->instrs[i];
    } else {
        int a = (int)U(p, N_ACC);
        oms_strlcpy(no->account_id, k_acc[a], OMS_ID_CAP);
        uint32_t r = U(p, 1000);
        no->side = r < 600 ? OMS_SIDE_BUY : r < 900 ? OMS_SIDE_SELL : OMS_SIDE_SELL_SHORT;
        if (a == A_SHORTY && P(p, 300))
            no->side = OMS_SIDE_SELL_SHORT;
    }
    if (P(p, 800)) {
        no->ord_type = OMS_ORD_LIMIT;
        no->price = (oms_opt_dec_t){true, s_px(p, ins, 3)};
        if (P(p, 15))
            no->price.v += p->tick[ins] / 2; /* off the tick */
    } else {
        no->ord_type = OMS_ORD_MARKET;
    }
    no->tif = P(p, 500) ? OMS_TIF_DAY : OMS_TIF_GTC;
    if (P(p, 100))
        snprintf(no->text, OMS_TEXT_CAP, "prop order %" PRIu64, p->n_ord);
    return true;
}

static bool g_release(prop_t *p, uint32_t i)
{
    const proj_order_t *o = s_pick(p, P(p, 950) ? M(OMS_ST_PENDING_RELEASE) : M_ANY, -1, false);
    if (!o)
        return false;
    uint32_t r = U(p, 1000);
    const char *who = r < 600 ? "trader" : r < 900 ? "pm2" : o->entered_by; /* ENT-003/004 */
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_RELEASE_ORDER, who);
    oms_strlcpy(c->u.release.order_id, o->order_id, OMS_ID_CAP);
    return true;
}

static bool g_cancel(prop_t *p, uint32_t i)
{
    uint32_t mask = M(OMS_ST_PENDING_RELEASE) | M(OMS_ST_PENDING_NEW) | M(OMS_ST_NEW) |
                    M(OMS_ST_PARTIALLY_FILLED);
    const proj_order_t *o = s_pick(p, P(p, 950) ? mask : M_ANY, -1, false);
    if (!o)
        return false;
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_CANCEL_ORDER, P(p, 800) ? "trader" : "pm2");
    oms_strlcpy(c->u.cancel.order_id, o->order_id, OMS_ID_CAP);
    if (P(p, 30))
        oms_strlcpy(c->u.cancel.cl_ord_id, o->cl_ord_id, OMS_ID_CAP); /* reused: ORD-005 */
    else
        snprintf(c->u.cancel.cl_ord_id, OMS_ID_CAP, "K%" PRIu64, ++p->n_cl);
    return true;
}

static bool g_replace(prop_t *p, uint32_t i)
{
    uint32_t mask = M(OMS_ST_PENDING_NEW) | M(OMS_ST_NEW) | M(OMS_ST_PARTIALLY_FILLED);
    const proj_order_t *o = s_pick(p, P(p, 960) ? mask : M_ANY, -1, false);
    if (!o)
        return false;
    int ins = s_ins_idx(o->instrument_id);
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_REPLACE_ORDER, P(p, 800) ? "trader" : "pm2");
    oms_replace_order_t *rp = &c->u.replace;
    oms_strlcpy(rp->order_id, o->order_id, OMS_ID_CAP);
    snprintf(rp->new_cl_ord_id, OMS_ID_CAP, "R%" PRIu64, ++p->n_cl);
    oms_dec_t lot = p->lot[ins];
    uint32_t r = U(p, 1000);
    bool qty = o->ord_type != OMS_ORD_LIMIT || r < 650,
         px = o->ord_type == OMS_ORD_LIMIT && r >= 400;
    if (qty) {
        uint32_t q = U(p, 1000);
        oms_dec_t v;
        if (q < 400)
            v = o->qty + (oms_dec_t)(1 + U(p, 20)) * lot; /* up */
        else if (q < 900)
            v = o->cum + (oms_dec_t)(1 + U(p, 20)) * lot; /* down (or up), above cum */
        else if (q < 950)
            v = o->cum > 0 ? o->cum : lot; /* exactly cum: fills the order */
        else
            v = o->cum - lot; /* below cum (or <= 0): refused */
        rp->qty = (oms_opt_dec_t){true, v};
    }
    if (px)
        rp->price = (oms_opt_dec_t){true, s_px(p, ins, 3)};
    return true;
}

static bool g_ack(prop_t *p, uint32_t i)
{
    uint32_t mask =
        P(p, 900) ? M(OMS_ST_PENDING_NEW) : M(OMS_ST_PENDING_CANCEL) | M(OMS_ST_PENDING_REPLACE);
    const proj_order_t *o = s_pick(p, mask, -1, false);
    if (!o)
        return false;
    s_report(p, i, OMS_CMD_VENUE_ACK, o);
    return true;
}

static bool g_vreject(prop_t *p, uint32_t i)
{
    const proj_order_t *o = s_pick(p, M(OMS_ST_PENDING_NEW), -1, false);
    if (!o)
        return false;
    oms_cmd_t *c = s_report(p, i, OMS_CMD_VENUE_REJECT, o);
    oms_strlcpy(c->u.report.text, "venue says no", OMS_TEXT_CAP);
    return true;
}

/* A fill price for the order: at or better than its limit, sometimes through it. */
static oms_dec_t s_fill_px(prop_t *p, const proj_order_t *o)
{
    int ins = s_ins_idx(o->instrument_id);
    if (o->ord_type != OMS_ORD_LIMIT || !o->price.set)
        return s_px(p, ins, 1);
    oms_dec_t t = p->tick[ins];
    oms_dec_t off = (oms_dec_t)U(p, 6) * t;
    bool through = P(p, 30);
    bool buy = o->side == OMS_SIDE_BUY;
    oms_dec_t px = (buy != through) ? o->price.v - off : o->price.v + off;
    if (through)
        px += buy ? t : -t;
    return px > 0 ? px : t;
}

static void s_fill_cmd(prop_t *p, uint32_t i, const proj_order_t *o, oms_dec_t qty)
{
    oms_cmd_t *c = s_report(p, i, OMS_CMD_VENUE_FILL, o);
    if (P(p, 100))
        oms_strlcpy(c->u.report.h.venue, "ARCA", OMS_ID_CAP);
    snprintf(c->u.report.h.exec_id, OMS_ID_CAP, "E%" PRIu64, ++p->n_exec);
    c->u.report.last_qty = qty;
    c->u.report.last_px = s_fill_px(p, o);
}

static bool g_fill(prop_t *p, uint32_t i)
{
    uint32_t mask = M(OMS_ST_PENDING_NEW) | M(OMS_ST_NEW) | M(OMS_ST_PARTIALLY_FILLED) |
                    M(OMS_ST_PENDING_CANCEL) | M(OMS_ST_PENDING_REPLACE);
    const proj_order_t *o = s_pick(p, P(p, 990) ? mask : M_ANY, -1, false);
    if (!o)
        return false;
    int ins = s_ins_idx(o->instrument_id);
    oms_dec_t lot = p->lot[ins];
    int64_t leaves = o->leaves > 0 ? o->leaves / lot : 0;
    uint32_t r = U(p, 1000);
    int64_t lots;
    if (leaves <= 1 || r < 60)
        lots = leaves > 1 && r >= 30 ? leaves : 1;
    else if (r < 600)
        lots = 1 + (int64_t)U(p, (uint32_t)(leaves - 1)); /* partial */
    else if (r < 950)
        lots = leaves; /* the rest */
    else
        lots = leaves + 1 + (int64_t)U(p, 3); /* overfill */
    s_fill_cmd(p, i, o, lots * lot);
    return true;
}

static bool g_late_fill(prop_t *p, uint32_t i)
{
    const proj_order_t *o = s_pick(p, M_DONE, -1, false);
    if (!o)
        return false;
    int ins = s_ins_idx(o->instrument_id);
    s_fill_cmd(p, i, o, (oms_dec_t)(1 + U(p, 5)) * p->lot[ins]);
    return true;
}

/* A random execution of the order (live or busted), or NULL. */
static const proj_exec_t *s_pick_exec(prop_t *p, const proj_order_t *o, bool live_only)
{
    uint32_t n = 0, want = U(p, o->n_execs);
    const proj_exec_t *pick = NULL;
    for (uint32_t x = o->first_exec; x != PROJ_NIL && n < o->n_execs; n++) {
        const proj_exec_t *e = proj_at(S(p), PROJ_T_EXEC, x);
        if (!live_only || !e->busted) {
            pick = e;
            if (n >= want)
                break;
        }
        x = e->next;
    }
    return pick;
}

static bool g_dup_exec(prop_t *p, uint32_t i)
{
    if (p->evict && P(p, 400)) {
        /* A fill for a working order with the exec id of a finished one (dedup is global). */
        const proj_order_t *done = s_pick(p, M_DONE, -1, true);
        const proj_exec_t *x = done ? s_pick_exec(p, done, false) : NULL;
        const proj_order_t *o =
            x ? s_pick(p, M(OMS_ST_NEW) | M(OMS_ST_PARTIALLY_FILLED) | M(OMS_ST_PENDING_NEW), -1,
                       false)
              : NULL;
        if (o) {
            oms_cmd_t *c = s_report(p, i, OMS_CMD_VENUE_FILL, o);
            oms_strlcpy(c->u.report.h.venue, x->venue, OMS_ID_CAP);
            oms_strlcpy(c->u.report.h.exec_id, x->exec_id, OMS_ID_CAP);
            c->u.report.last_qty = x->qty;
            c->u.report.last_px = x->px;
            p->cross_execs++;
            return true;
        }
    }
    const proj_order_t *o = s_pick(p, M_ANY, -1, true);
    if (!o)
        return false;
    const proj_exec_t *x = s_pick_exec(p, o, false);
    if (!x)
        return false;
    oms_cmd_t *c = s_report(p, i, OMS_CMD_VENUE_FILL, o);
    oms_strlcpy(c->u.report.h.venue, x->venue, OMS_ID_CAP);
    oms_strlcpy(c->u.report.h.exec_id, x->exec_id, OMS_ID_CAP);
    c->u.report.last_qty = x->qty;
    c->u.report.last_px = x->px;
    if (P(p, 250))
        c->u.report.last_qty += p->lot[s_ins_idx(o->instrument_id)]; /* other content */
    return true;
}

static bool g_pending_answer(prop_t *p, uint32_t i, oms_cmd_type_t type, oms_ord_status_t st)
{
    const proj_order_t *o = s_pick(p, P(p, 970) ? M(st) : M_ANY, -1, false);
    if (!o)
        return false;
    oms_cmd_t *c = s_report(p, i, type, o);
    uint32_t r = U(p, 1000);
    if (r < 400)
        oms_strlcpy(c->u.report.h.cl_ord_id, o->pending_cl_ord_id, OMS_ID_CAP);
    else if (r < 430)
        oms_strlcpy(c->u.report.h.cl_ord_id, "BOGUS", OMS_ID_CAP); /* EXE-006 */
    return true;
}

static bool g_expire_dfd(prop_t *p, uint32_t i, oms_cmd_type_t type)
{
    uint32_t mask = M(OMS_ST_NEW) | M(OMS_ST_PARTIALLY_FILLED);
    const proj_order_t *o = s_pick(p, P(p, 950) ? mask : M_ANY, -1, false);
    if (!o)
        return false;
    s_report(p, i, type, o);
    return true;
}

static bool g_bust_correct(prop_t *p, uint32_t i, bool correct)
{
    const proj_order_t *o = s_pick(p, M_ANY, P(p, 400) ? 1 : -1, true);
    if (!o)
        return false;
    const proj_exec_t *x = s_pick_exec(p, o, P(p, 950));
    if (!x)
        return false;
    oms_cmd_t *c = s_report(p, i, correct ? OMS_CMD_TRADE_CORRECT : OMS_CMD_TRADE_BUST, o);
    oms_strlcpy(c->u.report.h.venue, x->venue, OMS_ID_CAP);
    snprintf(c->u.report.h.exec_id, OMS_ID_CAP, "B%" PRIu64, ++p->n_exec);
    oms_strlcpy(c->u.report.ref_exec_id, x->exec_id, OMS_ID_CAP);
    if (correct) {
        int ins = s_ins_idx(o->instrument_id);
        int64_t lots = x->qty / p->lot[ins];
        c->u.report.last_qty = (oms_dec_t)(1 + U(p, (uint32_t)lots + 2)) * p->lot[ins];
        c->u.report.last_px = x->px + ((oms_dec_t)U(p, 5) - 2) * p->tick[ins];
        if (c->u.report.last_px <= 0)
            c->u.report.last_px = p->tick[ins];
    }
    return true;
}

static bool g_alloc(prop_t *p, uint32_t i)
{
    bool non_block = P(p, 20);
    const proj_order_t *o = NULL;
    for (int t = 0; t < 8 && !o; t++) {
        o = s_pick(p, M_ANY, non_block ? 0 : 1, false);
        if (o && !non_block && o->cum <= o->allocated_qty && P(p, 900))
            o = NULL;
    }
    if (!o)
        return false;
    int ins = s_ins_idx(o->instrument_id);
    oms_dec_t lot = p->lot[ins];
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_ALLOCATE, "ops");
    oms_allocate_t *al = &c->u.allocate;
    oms_strlcpy(al->order_id, o->order_id, OMS_ID_CAP);
    if (o->n_allocs && P(p, 30)) {
        const proj_alloc_t *a = proj_at(S(p), PROJ_T_ALLOC, o->first_alloc);
        oms_strlcpy(al->alloc_id, a->alloc_id, OMS_ID_CAP); /* ALC-002 */
    } else {
        snprintf(al->alloc_id, OMS_ID_CAP, "A%" PRIu64, ++p->n_alloc);
    }
    int64_t un = (o->cum - o->allocated_qty) / lot;
    if (P(p, 500)) {
        int64_t lots = un > 0 ? 1 + (int64_t)U(p, (uint32_t)un) : 1;
        if (P(p, 50))
            lots = un + 1; /* more than is unallocated: ALC-004 */
        al->qty = (oms_opt_dec_t){true, lots * lot};
        if (P(p, 15))
            al->qty.v += lot / 2; /* not whole lots: ALC-005 (or ALC-004) */
    }
    if (P(p, 200)) {
        /* Override instructions: quantities must sum to the asked quantity. */
        s_instrs(p, p->instrs[i], &al->n_allocs, al->qty.set ? al->qty.v : 0, lot, true);
        al->allocs = p->instrs[i];
    }
    if (P(p, 100))
        oms_strlcpy(al->text, "prop allocation", OMS_TEXT_CAP);
    return true;
}

static bool g_reverse(prop_t *p, uint32_t i)
{
    for (int t = 0; t < 8; t++) {
        const proj_order_t *o = s_pick(p, M_ANY, 1, false);
        if (!o || o->n_allocs == 0)
            continue;
        uint32_t n = 0, want = U(p, o->n_allocs);
        const proj_alloc_t *pick = NULL;
        bool booked_only = P(p, 950);
        for (uint32_t x = o->first_alloc; x != PROJ_NIL && n < o->n_allocs; n++) {
            const proj_alloc_t *a = proj_at(S(p), PROJ_T_ALLOC, x);
            if (!booked_only || a->status == OMS_ALLOC_ST_BOOKED) {
                pick = a;
                if (n >= want)
                    break;
            }
            x = a->next;
        }
        if (!pick)
            continue;
        oms_cmd_t *c = s_cmd(p, i, OMS_CMD_REVERSE_ALLOCATION, "ops");
        oms_strlcpy(c->u.reverse.order_id, o->order_id, OMS_ID_CAP);
        oms_strlcpy(c->u.reverse.alloc_id, pick->alloc_id, OMS_ID_CAP);
        oms_strlcpy(c->u.reverse.reason, "rebook", OMS_TEXT_CAP);
        return true;
    }
    return false;
}

static bool g_limits(prop_t *p, uint32_t i)
{
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_SET_LIMITS, "comp");
    oms_limits_def_t *l = &c->u.limits;
    /* Tight limits are short-lived: most limit commands lift a tight scope. */
    int scope = -1;
    for (int k = 0; k <= N_ACC && scope < 0; k++)
        if (p->tight[k] && P(p, 700))
            scope = k;
    bool lift = scope >= 0;
    if (!lift)
        scope = P(p, 400) ? N_ACC : (int)U(p, N_ACC);
    if (scope == N_ACC) {
        l->scope = OMS_SCOPE_FIRM;
    } else {
        l->scope = OMS_SCOPE_ACCOUNT;
        oms_strlcpy(l->account_id, k_acc[scope], OMS_ID_CAP);
    }
    p->tight[scope] = false;
    uint32_t r = lift ? 0 : U(p, 1000);
    if (r < 400)
        return true; /* nothing set: lifts the scope's limits */
    if (r < 650) {   /* loose */
        l->max_order_qty = (oms_opt_dec_t){true, 1000000 * OMS_DEC_SCALE};
        l->max_order_notional = (oms_opt_dec_t){true, 10000000000LL * OMS_DEC_SCALE};
        l->max_position_long = (oms_opt_dec_t){true, 10000000 * OMS_DEC_SCALE};
        l->max_position_short = (oms_opt_dec_t){true, 10000000 * OMS_DEC_SCALE};
        l->collar_pct = (oms_opt_dec_t){true, OMS_DEC_SCALE / 10};
        return true;
    }
    p->tight[scope] = true;
    switch (U(p, 5)) { /* tight: the pre-trade checks fire */
    case 0:
        l->max_order_qty = (oms_opt_dec_t){true, 50 * OMS_DEC_SCALE};
        break;
    case 1:
        l->max_order_notional = (oms_opt_dec_t){true, 20000 * OMS_DEC_SCALE};
        break;
    case 2:
        l->max_position_long = (oms_opt_dec_t){true, 500 * OMS_DEC_SCALE};
        break;
    case 3:
        l->max_position_short = (oms_opt_dec_t){true, 200 * OMS_DEC_SCALE};
        break;
    default:
        l->collar_pct = (oms_opt_dec_t){true, OMS_DEC_SCALE / 50};
        break;
    }
    return true;
}

static bool g_restrict(prop_t *p, uint32_t i)
{
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_SET_RESTRICTED, "comp");
    oms_restriction_def_t *r = &c->u.restriction;
    /* Restrictions are short-lived too: most commands lift one that is in force. */
    const proj_restriction_t *on = NULL;
    uint32_t n = proj_count(S(p), PROJ_T_RESTRICTION), start = U(p, n ? n : 1);
    for (uint32_t k = 0; k < n && !on; k++) {
        const proj_restriction_t *x = proj_at(S(p), PROJ_T_RESTRICTION, (start + k) % n);
        if (x->restricted)
            on = x;
    }
    if (on && P(p, 750)) {
        oms_strlcpy(r->instrument_id, on->instrument_id, OMS_ID_CAP);
        oms_strlcpy(r->account_id, on->account_id, OMS_ID_CAP);
        r->restricted = false;
    } else {
        oms_strlcpy(r->instrument_id, k_ins[U(p, N_INS)].id, OMS_ID_CAP);
        if (P(p, 600))
            oms_strlcpy(r->account_id, k_acc[U(p, N_ACC)], OMS_ID_CAP);
        r->restricted = true;
    }
    oms_strlcpy(r->reason, r->restricted ? "prop: on the list" : "prop: lifted", OMS_TEXT_CAP);
    return true;
}

static bool g_refpx(prop_t *p, uint32_t i)
{
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_SET_REFERENCE_PRICE, "admin");
    int ins = (int)U(p, N_INS);
    oms_strlcpy(c->u.ref_price.instrument_id, k_ins[ins].id, OMS_ID_CAP);
    c->u.ref_price.price = s_px(p, ins, 2);
    return true;
}

static bool g_retry(prop_t *p, uint32_t i, bool conflict)
{
    if (p->n_ring == 0)
        return false;
    const ring_t *r = &p->ring[U(p, p->n_ring)];
    p->cmds[i] = r->cmd;
    memcpy(p->instrs[i], r->instrs, sizeof r->instrs);
    oms_cmd_t *c = &p->cmds[i];
    if (c->type == OMS_CMD_NEW_ORDER && c->u.new_order.n_allocs)
        c->u.new_order.allocs = p->instrs[i];
    if (c->type == OMS_CMD_ALLOCATE && c->u.allocate.n_allocs)
        c->u.allocate.allocs = p->instrs[i];
    if (conflict) {
        c->client_ts_ns += 1 + (int64_t)U(p, 1000); /* other bytes, same id */
        p->meta[i].expect = EXPECT_CONFLICT;
    } else {
        p->meta[i].expect = EXPECT_DUP;
        p->meta[i].orig = r->reply;
    }
    return true;
}

static bool g_eod(prop_t *p, uint32_t i)
{
    oms_cmd_t *c = s_cmd(p, i, OMS_CMD_END_OF_DAY, "ops");
    uint32_t d = p->eod_day++ % (100 * 12 * 28);
    char date[32];
    snprintf(date, sizeof date, "%04u-%02u-%02u", 2026 + d / (12 * 28), 1 + (d / 28) % 12,
             1 + d % 28);
    oms_strlcpy(c->u.eod.trade_date, date, OMS_DATE_CAP);
    return true;
}

static kind_t s_draw_kind(prop_t *p)
{
    static uint32_t total;
    if (!total)
        for (int k = 0; k < K_COUNT; k++)
            total += k_weight[k];
    if (p->evict && P(p, 2))
        return K_EOD; /* end of day after restarts: expiry order must not depend on them */
    uint32_t r = U(p, total);
    for (int k = 0; k < K_COUNT; k++) {
        if (r < k_weight[k])
            return (kind_t)k;
        r -= k_weight[k];
    }
    return K_NEW;
}

static void s_generate(prop_t *p, uint32_t i)
{
    memset(&p->meta[i], 0, sizeof p->meta[i]);
    kind_t k = s_draw_kind(p);
    bool ok;
    switch (k) {
    case K_NEW:
        ok = g_new(p, i, false);
        break;
    case K_NEW_BLOCK:
        ok = g_new(p, i, true);
        break;
    case K_RELEASE:
        ok = g_release(p, i);
        break;
    case K_CANCEL:
        ok = g_cancel(p, i);
        break;
    case K_REPLACE:
        ok = g_replace(p, i);
        break;
    case K_ACK:
        ok = g_ack(p, i);
        break;
    case K_VREJECT:
        ok = g_vreject(p, i);
        break;
    case K_FILL:
        ok = g_fill(p, i);
        break;
    case K_LATE_FILL:
        ok = g_late_fill(p, i);
        break;
    case K_DUP_EXEC:
        ok = g_dup_exec(p, i);
        break;
    case K_CANCEL_ACK:
        ok = g_pending_answer(p, i, OMS_CMD_VENUE_CANCEL_ACK, OMS_ST_PENDING_CANCEL);
        break;
    case K_CANCEL_REJECT:
        ok = g_pending_answer(p, i, OMS_CMD_VENUE_CANCEL_REJECT, OMS_ST_PENDING_CANCEL);
        break;
    case K_REPLACE_ACK:
        ok = g_pending_answer(p, i, OMS_CMD_VENUE_REPLACE_ACK, OMS_ST_PENDING_REPLACE);
        break;
    case K_REPLACE_REJECT:
        ok = g_pending_answer(p, i, OMS_CMD_VENUE_REPLACE_REJECT, OMS_ST_PENDING_REPLACE);
        break;
    case K_EXPIRE:
        ok = g_expire_dfd(p, i, OMS_CMD_VENUE_EXPIRE);
        break;
    case K_DFD:
        ok = g_expire_dfd(p, i, OMS_CMD_VENUE_DONE_FOR_DAY);
        break;
    case K_BUST:
        ok = g_bust_correct(p, i, false);
        break;
    case K_CORRECT:
        ok = g_bust_correct(p, i, true);
        break;
    case K_ALLOC:
        ok = g_alloc(p, i);
        break;
    case K_REVERSE:
        ok = g_reverse(p, i);
        break;
    case K_LIMITS:
        ok = g_limits(p, i);
        break;
    case K_RESTRICT:
        ok = g_restrict(p, i);
        break;
    case K_REFPX:
        ok = g_refpx(p, i);
        break;
    case K_RETRY:
        ok = g_retry(p, i, false);
        break;
    case K_CONFLICT:
        ok = g_retry(p, i, true);
        break;
    case K_EOD:
        ok = g_eod(p, i);
        break;
    default:
        ok = false;
        break;
    }
    if (!ok) { /* no target fits: a new order instead */
        memset(&p->meta[i], 0, sizeof p->meta[i]);
        k = K_NEW;
        g_new(p, i, false);
    }
    p->meta[i].kind = k;
}

/* ---- invariants -------------------------------------------------------------------------------
 */

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "seed %" PRIu64 " batch %" PRIu64 ": ", p->seed, p->batches);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            fail_msg("invariant broken: %s", #cond);                                               \
        }                                                                                          \
    } while (0)

static char *s_fmt(oms_dec_t v, char *buf)
{
    oms_dec_format(v, buf, OMS_DEC_STR_MAX);
    return buf;
}

/* The worst-case quantity a working order may still add to its position: its leaves, or with
 * a pending replace that raises the quantity, the larger requested leaves (projections/apply.c
 * s_exposure). */
static oms_dec_t s_exposure(const proj_order_t *o)
{
    if (!s_working(o->status))
        return 0;
    oms_dec_t e = o->leaves;
    if (o->status == OMS_ST_PENDING_REPLACE && o->pending_qty.set && o->pending_qty.v > o->cum &&
        o->pending_qty.v - o->cum > e)
        e = o->pending_qty.v - o->cum;
    return e < 0 ? 0 : e;
}

static oms_dec_t s_signed(oms_side_t side, oms_dec_t q)
{
    return side == OMS_SIDE_BUY ? q : -q;
}

/* One order's own invariants; adds its contributions to the position sums when sums != NULL. */
static void s_check_order(prop_t *p, const proj_order_t *o, sums_t *sums)
{
    const proj_state_t *st = S(p);
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], c[OMS_DEC_STR_MAX];
    const char *id = o->order_id;
    int ins = s_ins_idx(o->instrument_id), acc = s_acc_idx(o->account_id);
    if (o->status == OMS_ST_REJECTED && o->n_execs == 0 && (ins < 0 || acc < 0))
        return; /* refused at entry for its instrument/account: nothing else to check */
    CHECK(ins >= 0 && acc >= 0, "order %s: instrument '%s' account '%s'", id, o->instrument_id,
          o->account_id);
    CHECK(o->status > OMS_ST_NONE && o->status < OMS_ST_COUNT_, "order %s: status %d", id,
          o->status);
    CHECK(o->is_block == (acc == ACC_BLOCK), "order %s: is_block %d account '%s'", id, o->is_block,
          o->account_id);
    CHECK(o->cum >= 0, "order %s: cum %s < 0", id, s_fmt(o->cum, a));
    CHECK(o->cum <= o->qty || o->overfilled, "order %s (%s): cum %s > qty %s, not flagged", id,
          oms_status_name(o->status), s_fmt(o->cum, a), s_fmt(o->qty, b));
    if (s_working(o->status))
        CHECK(o->leaves == o->qty - o->cum, "order %s (%s): leaves %s != qty %s - cum %s", id,
              oms_status_name(o->status), s_fmt(o->leaves, a), s_fmt(o->qty, b), s_fmt(o->cum, c));
    if (oms_status_is_terminal(o->status))
        CHECK(o->leaves == 0, "order %s (%s): leaves %s", id, oms_status_name(o->status),
              s_fmt(o->leaves, a));
    /* The status agrees with cum (FIX OrdStatus). */
    switch (o->status) {
    case OMS_ST_PENDING_RELEASE:
    case OMS_ST_PENDING_NEW:
    case OMS_ST_NEW:
        CHECK(o->cum == 0, "order %s is %s with cum %s", id, oms_status_name(o->status),
              s_fmt(o->cum, a));
        break;
    case OMS_ST_PARTIALLY_FILLED:
        CHECK(o->cum > 0 && o->cum < o->qty, "order %s is PARTIALLY_FILLED with cum %s qty %s", id,
              s_fmt(o->cum, a), s_fmt(o->qty, b));
        break;
    case OMS_ST_FILLED:
        CHECK(o->cum >= o->qty, "order %s is FILLED with cum %s qty %s", id, s_fmt(o->cum, a),
              s_fmt(o->qty, b));
        break;
    default:
        break;
    }
    /* Executions. */
    oms_dec_t cum = 0;
    oms_e16_t pxq = 0;
    uint32_t n = 0, live = 0;
    for (uint32_t x = o->first_exec; x != PROJ_NIL; n++) {
        CHECK(n < o->n_execs, "order %s: exec chain longer than n_execs %u", id, o->n_execs);
        const proj_exec_t *e = proj_at(st, PROJ_T_EXEC, x);
        CHECK(proj_at(st, PROJ_T_ORDER, e->order) == o, "order %s: exec %s points elsewhere", id,
              e->exec_id);
        if (!e->busted) {
            CHECK(e->qty > 0 && e->px > 0, "order %s: exec %s qty %s px %s", id, e->exec_id,
                  s_fmt(e->qty, a), s_fmt(e->px, b));
            cum += e->qty;
            pxq += (oms_e16_t)e->qty * (oms_e16_t)e->px;
            live++;
            if (sums)
                sums->qty[acc][ins] += s_signed(o->side, e->qty);
        }
        x = e->next;
    }
    CHECK(n == o->n_execs, "order %s: exec chain %u != n_execs %u", id, n, o->n_execs);
    CHECK(live == o->fill_count, "order %s: live execs %u != fill_count %u", id, live,
          o->fill_count);
    CHECK(cum == o->cum, "order %s (%s): cum %s != sum of live execs %s", id,
          oms_status_name(o->status), s_fmt(o->cum, a), s_fmt(cum, b));
    CHECK(pxq == o->px_qty_sum, "order %s: px_qty_sum differs from the live execs", id);
    /* Allocations. */
    oms_dec_t booked = 0;
    uint64_t first_alloc_seq = UINT64_MAX;
    n = 0;
    for (uint32_t x = o->first_alloc; x != PROJ_NIL; n++) {
        CHECK(n < o->n_allocs, "order %s: alloc chain longer than n_allocs %u", id, o->n_allocs);
        const proj_alloc_t *al = proj_at(st, PROJ_T_ALLOC, x);
        CHECK(o->is_block, "order %s: allocation %s on a non-block", id, al->alloc_id);
        if (al->status == OMS_ALLOC_ST_BOOKED || al->status == OMS_ALLOC_ST_REVERSED) {
            if (al->created_seq < first_alloc_seq)
                first_alloc_seq = al->created_seq;
            oms_dec_t parts = 0;
            uint32_t k = 0;
            for (uint32_t q = al->first_part; q != PROJ_NIL; k++) {
                CHECK(k < al->n_parts, "alloc %s/%s: part chain too long", id, al->alloc_id);
                const proj_part_t *pt = proj_at(st, PROJ_T_PART, q);
                int pa = s_acc_idx(pt->part.account_id);
                CHECK(pa >= 0 && pa != ACC_BLOCK, "alloc %s/%s: part account '%s'", id,
                      al->alloc_id, pt->part.account_id);
                CHECK(pt->part.qty > 0 && oms_dec_is_multiple(pt->part.qty, p->lot[ins]),
                      "alloc %s/%s: part qty %s", id, al->alloc_id, s_fmt(pt->part.qty, a));
                CHECK(pt->part.px == al->avg_px, "alloc %s/%s: part px %s != %s", id, al->alloc_id,
                      s_fmt(pt->part.px, a), s_fmt(al->avg_px, b));
                parts += pt->part.qty;
                if (sums && al->status == OMS_ALLOC_ST_BOOKED) {
                    sums->qty[pa][ins] += s_signed(o->side, pt->part.qty);
                    sums->qty[ACC_BLOCK][ins] -= s_signed(o->side, pt->part.qty);
                }
                q = pt->next;
            }
            CHECK(k == al->n_parts, "alloc %s/%s: %u parts != n_parts %u", id, al->alloc_id, k,
                  al->n_parts);
            CHECK(parts == al->qty, "alloc %s/%s: parts %s != qty %s", id, al->alloc_id,
                  s_fmt(parts, a), s_fmt(al->qty, b));
            if (al->status == OMS_ALLOC_ST_BOOKED)
                booked += al->qty;
        }
        x = al->next;
    }
    CHECK(n == o->n_allocs, "order %s: alloc chain %u != n_allocs %u", id, n, o->n_allocs);
    CHECK(booked == o->allocated_qty, "order %s: allocated_qty %s != booked %s", id,
          s_fmt(o->allocated_qty, a), s_fmt(booked, b));
    if (o->allocated_qty > o->cum) {
        /* Legitimate only when a bust or correction came after an allocation. */
        bool bust_after = false;
        for (uint32_t x = o->first_exec; x != PROJ_NIL;) {
            const proj_exec_t *e = proj_at(st, PROJ_T_EXEC, x);
            if (e->last_seq != e->seq && e->last_seq > first_alloc_seq)
                bust_after = true;
            x = e->next;
        }
        CHECK(bust_after, "block %s: allocated %s > cum %s without a bust after allocation", id,
              s_fmt(o->allocated_qty, a), s_fmt(o->cum, b));
        if (sums)
            p->bust_after_alloc_skipped++;
    }
    if (sums) {
        oms_dec_t e = s_exposure(o);
        if (o->side == OMS_SIDE_BUY)
            sums->buys[acc][ins] += e;
        else
            sums->sells[acc][ins] += e;
        sums->execs += o->n_execs;
        sums->allocs += o->n_allocs;
    }
}

static void s_check_full(prop_t *p)
{
    const proj_state_t *st = S(p);
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
    sums_t *s = &p->sums;
    memset(s, 0, sizeof *s);
    p->bust_after_alloc_skipped = 0;
    uint32_t n = proj_count(st, PROJ_T_ORDER);
    for (uint32_t i = 0; i < n; i++)
        s_check_order(p, proj_at(st, PROJ_T_ORDER, i), s);
    CHECK(s->execs == proj_count(st, PROJ_T_EXEC), "exec chains hold %u of %u execs", s->execs,
          proj_count(st, PROJ_T_EXEC));
    CHECK(s->allocs == proj_count(st, PROJ_T_ALLOC), "alloc chains hold %u of %u allocations",
          s->allocs, proj_count(st, PROJ_T_ALLOC));
    bool seen[N_ACC + 1][N_INS] = {{false}};
    n = proj_count(st, PROJ_T_POSITION);
    for (uint32_t i = 0; i < n; i++) {
        const proj_position_t *ps = proj_at(st, PROJ_T_POSITION, i);
        int acc = s_acc_idx(ps->account_id), ins = s_ins_idx(ps->instrument_id);
        CHECK(acc >= 0 && ins >= 0, "position '%s'/'%s'", ps->account_id, ps->instrument_id);
        seen[acc][ins] = true;
        CHECK(ps->qty == s->qty[acc][ins], "position '%s'/%s: qty %s != fills+allocations %s",
              ps->account_id, ps->instrument_id, s_fmt(ps->qty, a), s_fmt(s->qty[acc][ins], b));
        CHECK(ps->open_buy_leaves == s->buys[acc][ins],
              "position '%s'/%s: open buy leaves %s != working orders' exposure %s", ps->account_id,
              ps->instrument_id, s_fmt(ps->open_buy_leaves, a), s_fmt(s->buys[acc][ins], b));
        CHECK(ps->open_sell_leaves == s->sells[acc][ins],
              "position '%s'/%s: open sell leaves %s != working orders' exposure %s",
              ps->account_id, ps->instrument_id, s_fmt(ps->open_sell_leaves, a),
              s_fmt(s->sells[acc][ins], b));
        CHECK(ps->qty != 0 || ps->cost_basis == 0, "position '%s'/%s: flat with a cost basis",
              ps->account_id, ps->instrument_id);
    }
    for (int acc = 0; acc <= N_ACC; acc++)
        for (int ins = 0; ins < N_INS; ins++)
            CHECK(seen[acc][ins] ||
                      (s->qty[acc][ins] == 0 && s->buys[acc][ins] == 0 && s->sells[acc][ins] == 0),
                  "position '%s'/%s missing", acc == ACC_BLOCK ? "" : k_acc[acc], k_ins[ins].id);
    p->full_checks++;
}

/* The orders this batch's commands named. */
static void s_check_touched(prop_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const char *id = oms_cmd_order_id(&p->cmds[i]);
        const proj_order_t *o = id[0] ? proj_order(S(p), id) : NULL;
        if (o)
            s_check_order(p, o, NULL);
    }
}

/* OMS_PROP_TRACE=<order id>: prints every command naming that order, with its reply and the
 * order after the batch (to read a failure of a replayed seed). */
static void s_trace(prop_t *p, uint32_t n)
{
    const char *want = getenv("OMS_PROP_TRACE");
    if (!want || !*want)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const oms_cmd_t *c = &p->cmds[i];
        const char *id = oms_cmd_order_id(c);
        if (strcmp(id, want) != 0)
            continue;
        const oms_reply_t *r = &p->replies[i];
        char q[OMS_DEC_STR_MAX], x[OMS_DEC_STR_MAX], y[OMS_DEC_STR_MAX];
        const oms_venue_report_t *rep = &c->u.report;
        printf("trace batch %" PRIu64 " #%u %s %s by %s: ", p->batches, i,
               oms_cmd_type_name(c->type), c->command_id, c->principal);
        if (c->type == OMS_CMD_NEW_ORDER)
            printf("%s qty %s px %s", oms_side_name(c->u.new_order.side),
                   s_fmt(c->u.new_order.qty, q), s_fmt(c->u.new_order.price.v, x));
        else if (c->type == OMS_CMD_REPLACE_ORDER)
            printf("%s qty %s px %s", c->u.replace.new_cl_ord_id,
                   c->u.replace.qty.set ? s_fmt(c->u.replace.qty.v, q) : "-",
                   c->u.replace.price.set ? s_fmt(c->u.replace.price.v, x) : "-");
        else if (c->type >= OMS_CMD_VENUE_ACK && c->type <= OMS_CMD_TRADE_CORRECT)
            printf("exec %s ref %s cl %s qty %s px %s", rep->h.exec_id, rep->ref_exec_id,
                   rep->h.cl_ord_id, s_fmt(rep->last_qty, q), s_fmt(rep->last_px, x));
        printf(" -> %d %s %s", r->status, r->rule_id, oms_status_name(r->ord_status));
        const proj_order_t *o = proj_order(S(p), id);
        if (o)
            printf(" | now %s qty %s cum %s leaves %s", oms_status_name(o->status),
                   s_fmt(o->qty, q), s_fmt(o->cum, x), s_fmt(o->leaves, y));
        printf("\n");
    }
}

static bool s_rule_is(const oms_reply_t *r, const char *rule)
{
    return strcmp(r->rule_id, rule) == 0;
}

/* Replies: one per command, in order; accepted/rejected events tile [head0+1, head1]; retries
 * repeat the first reply and append nothing; conflicts are refused. */
static void s_check_replies(prop_t *p, uint32_t n, uint64_t head0, uint64_t head1, uint32_t nev)
{
    CHECK(head1 - head0 == nev, "head moved %" PRIu64 " for %u events", head1 - head0, nev);
    uint64_t next = head0 + 1;
    for (uint32_t i = 0; i < n; i++) {
        const oms_reply_t *r = &p->replies[i];
        const meta_t *m = &p->meta[i];
        const char *what = k_kind_name[m->kind];
        CHECK(strcmp(r->command_id, p->cmds[i].command_id) == 0,
              "reply %u is for '%s', command was '%s'", i, r->command_id, p->cmds[i].command_id);
        CHECK(r->status >= OMS_REPLY_ACCEPTED && r->status <= OMS_REPLY_DUPLICATE &&
                  r->status != OMS_REPLY_ERROR,
              "%s %s: reply status %d", what, r->command_id, r->status);
        p->outcome[m->kind][r->status]++;
        if (r->status == OMS_REPLY_REJECTED) {
            uint32_t k = 0;
            while (k < p->n_rules &&
                   (p->rules[k].kind != m->kind || strcmp(p->rules[k].rule, r->rule_id) != 0))
                k++;
            if (k == p->n_rules && k < 256) {
                p->rules[k].kind = m->kind;
                oms_strlcpy(p->rules[k].rule, r->rule_id, OMS_RULE_CAP);
                p->n_rules++;
            }
            if (k < 256)
                p->rules[k].n++;
        }
        if (r->status == OMS_REPLY_DUPLICATE) {
            CHECK((r->first_seq == 0 && r->last_seq == 0) ||
                      (r->first_seq <= r->last_seq && r->last_seq < next),
                  "%s %s: DUPLICATE names seqs %" PRIu64 "..%" PRIu64 " not yet appended", what,
                  r->command_id, r->first_seq, r->last_seq);
        } else {
            CHECK(r->first_seq == next && r->last_seq >= r->first_seq,
                  "%s %s: seqs %" PRIu64 "..%" PRIu64 ", expected to start at %" PRIu64, what,
                  r->command_id, r->first_seq, r->last_seq, next);
            next = r->last_seq + 1;
            CHECK(!s_rule_is(r, "CMD-005"), "%s %s: the state could not take it: %s", what,
                  r->command_id, r->text);
        }
        if (m->expect == EXPECT_DUP) {
            const oms_reply_t *o = &m->orig;
            oms_reply_status_t want =
                o->status == OMS_REPLY_DUPLICATE ? o->original_status : o->status;
            CHECK(r->status == OMS_REPLY_DUPLICATE && r->original_status == want &&
                      r->first_seq == o->first_seq && r->last_seq == o->last_seq &&
                      s_rule_is(r, o->rule_id) && r->reject_reason == o->reject_reason &&
                      strcmp(r->order_id, o->order_id) == 0 && r->ord_status == o->ord_status,
                  "retry %s: got status %d/%d seqs %" PRIu64 "..%" PRIu64
                  " rule %s, first reply %d seqs %" PRIu64 "..%" PRIu64 " rule %s",
                  r->command_id, r->status, r->original_status, r->first_seq, r->last_seq,
                  r->rule_id, o->status, o->first_seq, o->last_seq, o->rule_id);
        } else if (m->expect == EXPECT_CONFLICT) {
            CHECK(r->status == OMS_REPLY_REJECTED && s_rule_is(r, "CMD-004") &&
                      r->reject_reason == OMS_RR_IDEMPOTENCY_CONFLICT,
                  "conflict %s: got status %d rule '%s'", r->command_id, r->status, r->rule_id);
        }
    }
    CHECK(next == head1 + 1, "replies' seqs end at %" PRIu64 ", head is %" PRIu64, next - 1, head1);
    /* A reply's ord_status is its order's status after that command: for the batch's last
     * command naming an order (with no end of day after it), the status the state holds now. */
    for (uint32_t i = 0; i < n; i++) {
        const oms_reply_t *r = &p->replies[i];
        const char *id = oms_cmd_order_id(&p->cmds[i]);
        if (r->status == OMS_REPLY_DUPLICATE || !id[0])
            continue;
        uint32_t j = i + 1; /* (an end of day changes orders it does not name) */
        while (j < n && strcmp(oms_cmd_order_id(&p->cmds[j]), id) != 0 &&
               p->cmds[j].type != OMS_CMD_END_OF_DAY)
            j++;
        if (j < n)
            continue;
        const proj_order_t *o = proj_order(S(p), id);
        oms_ord_status_t want = o ? o->status : OMS_ST_NONE;
        CHECK(r->ord_status == want, "%s %s: reply says order %s is %s, the state says %s",
              k_kind_name[p->meta[i].kind], r->command_id, id, oms_status_name(r->ord_status),
              oms_status_name(want));
    }
}

/* ---- the run ----------------------------------------------------------------------------------
 */

static void s_after_batch(prop_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const oms_cmd_t *c = &p->cmds[i];
        if (c->type == OMS_CMD_NEW_ORDER && p->meta[i].expect == EXPECT_NONE &&
            proj_order(S(p), c->u.new_order.order_id))
            s_pool_add(p, c->u.new_order.order_id);
        if (p->meta[i].expect != EXPECT_NONE)
            continue;
        ring_t *r = &p->ring[p->ring_next];
        p->ring_next = (p->ring_next + 1) % RING_CAP;
        if (p->n_ring < RING_CAP)
            p->n_ring++;
        r->cmd = *c;
        memcpy(r->instrs, p->instrs[i], sizeof r->instrs);
        r->reply = p->replies[i];
    }
}

static void s_twin_batch(prop_t *p, uint32_t n);

static void s_run_batch(prop_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        s_generate(p, i);
    memset(p->replies, 0xa5, sizeof p->replies);
    uint64_t head0 = oms_engine_head(p->f.eng);
    uint32_t nev = fx_run_batch(&p->f, p->cmds, n, p->replies);
    uint64_t head1 = oms_engine_head(p->f.eng);
    if (p->evict)
        s_twin_batch(p, n);
    p->batches++;
    s_trace(p, n);
    s_check_replies(p, n, head0, head1, nev);
    s_check_touched(p, n);
    s_after_batch(p, n);
}

static void s_define_lotc(fx_t *f)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_DEFINE_INSTRUMENT;
    oms_instrument_def_t *d = &c.u.instrument;
    oms_strlcpy(d->instrument_id, "LOTC", OMS_ID_CAP);
    oms_strlcpy(d->symbol, "LOTC", OMS_ID_CAP);
    d->asset_class = OMS_ASSET_EQUITY;
    memcpy(d->currency, "USD", 4);
    d->multiplier = D("1");
    d->lot_size = D("100");
    d->tick_size = D("0.05");
    d->active = true;
    fx_ok(f, "admin", c);
}

static void s_ref_price(fx_t *f, const char *ins, const char *px)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_SET_REFERENCE_PRICE;
    oms_strlcpy(c.u.ref_price.instrument_id, ins, OMS_ID_CAP);
    c.u.ref_price.price = D(px);
    fx_ok(f, "admin", c);
}

static size_t s_row_at(const rows_t *r, size_t off, row_view_t *v)
{
    v->cf = r->p[off];
    memcpy(&v->klen, r->p + off + 1, 8);
    v->key = r->p + off + 9;
    memcpy(&v->vlen, r->p + off + 9 + v->klen, 8);
    v->val = r->p + off + 17 + v->klen;
    return off + 17 + v->klen + v->vlen;
}

static void s_print_row(const char *tag, const row_view_t *v, size_t at)
{
    fprintf(stderr, "  %s: cf %s key '", tag, evlog_cf_name((evlog_cf_t)v->cf));
    for (size_t i = 0; i < v->klen; i++)
        fprintf(stderr, v->key[i] >= 32 && v->key[i] < 127 ? "%c" : "\\x%02x", v->key[i]);
    fprintf(stderr, "' value %zu bytes, from byte %zu:", v->vlen, at);
    for (size_t i = at; i < v->vlen && i < at + 24; i++)
        fprintf(stderr, " %02x", v->val[i]);
    fprintf(stderr, "\n");
}

static void s_set_add(rowset_t *s, const row_view_t *v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->r = realloc(s->r, s->cap * sizeof *s->r);
        s->owned = realloc(s->owned, s->cap * sizeof *s->owned);
        assert_non_null(s->r);
        assert_non_null(s->owned);
    }
    s->r[s->n++] = *v;
}

static int s_row_cmp(const void *a, const void *b)
{
    const row_view_t *x = a, *y = b;
    if (x->cf != y->cf)
        return x->cf < y->cf ? -1 : 1;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static void s_set_from_rows(rowset_t *s, const rows_t *r)
{
    for (size_t off = 0; off < r->len;) {
        row_view_t v;
        off = s_row_at(r, off, &v);
        s_set_add(s, &v);
    }
    qsort(s->r, s->n, sizeof *s->r, s_row_cmp);
}

typedef struct {
    rowset_t *s;
    evlog_cf_t cf;
    bool skip_index; /* leave out index rows and the index marker (codec.h) */
} scan_ctx_t;

static int s_scan_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    scan_ctx_t *sc = ctx;
    if (sc->cf == EVLOG_CF_META && kl >= 6 && memcmp(k, "evlog.", 6) == 0)
        return 0; /* the log's own head and schema rows */
    if (sc->skip_index && ((sc->cf == EVLOG_CF_ORDERS && kl && (k[0] == 'e' || k[0] == 'w')) ||
                           (sc->cf == EVLOG_CF_META && kl >= 4 && memcmp(k, "oms.", 4) == 0)))
        return 0;
    uint8_t *copy = malloc(kl + vl + 1);
    assert_non_null(copy);
    memcpy(copy, k, kl);
    memcpy(copy + kl, v, vl);
    row_view_t rv = {(uint8_t)sc->cf, copy, copy + kl, kl, vl};
    s_set_add(sc->s, &rv);
    sc->s->owned[sc->s->n_owned++] = copy;
    return 0;
}

/* Every projection row in the store (orders, positions, allocations, refdata, meta). */
static void s_set_from_store_x(rowset_t *s, evlog_t *log, bool skip_index)
{
    static const evlog_cf_t cfs[] = {EVLOG_CF_ORDERS, EVLOG_CF_POSITIONS, EVLOG_CF_ALLOCATIONS,
                                     EVLOG_CF_REFDATA, EVLOG_CF_META};
    for (size_t i = 0; i < sizeof cfs / sizeof cfs[0]; i++) {
        scan_ctx_t sc = {s, cfs[i], skip_index};
        assert_int_equal(evlog_scan(log, cfs[i], NULL, 0, s_scan_row, &sc), 0);
    }
    qsort(s->r, s->n, sizeof *s->r, s_row_cmp);
}

static void s_set_from_store(rowset_t *s, evlog_t *log)
{
    s_set_from_store_x(s, log, false);
}

static void s_set_free(rowset_t *s)
{
    for (size_t i = 0; i < s->n_owned; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->r);
    memset(s, 0, sizeof *s);
}

/* The same rows (cf, key, value bytes), whatever their order. */
static void s_assert_sets_equal(prop_t *p, const rowset_t *want, const rowset_t *got,
                                const char *what)
{
    size_t i = 0, j = 0;
    while (i < want->n || j < got->n) {
        const row_view_t *x = i < want->n ? &want->r[i] : NULL;
        const row_view_t *y = j < got->n ? &got->r[j] : NULL;
        int c = !x ? 1 : !y ? -1 : s_row_cmp(x, y);
        if (c == 0 && x->vlen == y->vlen && memcmp(x->val, y->val, x->vlen) == 0) {
            i++;
            j++;
            continue;
        }
        fprintf(stderr, "seed %" PRIu64 ": %s: %zu rows vs %zu live rows\n", p->seed, what, got->n,
                want->n);
        if (c == 0) {
            size_t at = 0;
            while (at < x->vlen && at < y->vlen && x->val[at] == y->val[at])
                at++;
            at = at >= 8 ? at - 8 : 0;
            s_print_row("live", x, at);
            s_print_row(what, y, at);
        } else if (c < 0) {
            s_print_row("only live", x, 0);
        } else {
            s_print_row(what, y, 0);
            fprintf(stderr, "  (not in the live rows)\n");
        }
        fail_msg("%s: projection rows differ", what);
    }
}

/* Byte-identical fx_rows: same rows in the same order (a rebuild creates records in the same
 * order as the live engine did). */
static void s_assert_rows_equal(prop_t *p, const rows_t *want, const oms_engine_t *eng,
                                const char *what)
{
    rows_t got;
    got.p = fx_rows(eng, &got.len);
    if (got.len != want->len || memcmp(got.p, want->p, got.len) != 0) {
        fprintf(stderr, "seed %" PRIu64 ": %s: rows differ (%zu vs %zu bytes)\n", p->seed, what,
                got.len, want->len);
        /* Name the first row that differs. */
        size_t a = 0, b = 0;
        while (a < got.len && b < want->len) {
            row_view_t x, y;
            size_t na = s_row_at(&got, a, &x), nb = s_row_at(want, b, &y);
            if (na - a != nb - b || memcmp(got.p + a, want->p + b, na - a) != 0) {
                size_t at = 0;
                while (at < x.vlen && at < y.vlen && x.val[at] == y.val[at])
                    at++;
                at = at >= 8 ? at - 8 : 0;
                s_print_row("live", &y, at);
                s_print_row(what, &x, at);
                break;
            }
            a = na;
            b = nb;
        }
        free(got.p);
        fail_msg("%s: projection rows differ", what);
    }
    free(got.p);
}

/* A fresh engine fed every event of the log (decode + apply). */
static void s_rows_free(rows_t *r)
{
    free(r->p);
    r->p = NULL;
    r->len = 0;
}

/* Frees the checks' scratch (also what a failed check left behind). */
static void s_scratch_free(prop_t *p)
{
    oms_engine_destroy(&p->rebuilt);
    oms_arena_free(&p->arena);
    evlog_iter_destroy(&p->iter);
    for (int i = 0; i < 2; i++)
        s_rows_free(&p->rows[i]);
    for (int i = 0; i < 3; i++)
        s_set_free(&p->sets[i]);
}

/* A fresh engine (p->rebuilt) fed every event of the log: decode + apply, alternately with
 * the batch journal (oms_engine_apply_event) and without (oms_engine_replay_event, as the
 * replay tool does): both must give the live state. */
static void s_rebuild(prop_t *p)
{
    bool journal = (p->n_rebuilds++ & 1) == 0;
    oms_engine_opts_t o;
    oms_engine_opts_default(&o);
    p->rebuilt = oms_engine_new(&o, 0);
    assert_non_null(p->rebuilt);
    assert_int_equal(oms_arena_init(&p->arena, 1u << 20), 0);
    assert_int_equal(evlog_iter_new(p->f.log, 1, &p->iter), 0);
    uint64_t seq = 0, expect = 1;
    const uint8_t *v;
    size_t len;
    int rc;
    while ((rc = evlog_iter_next(p->iter, &seq, &v, &len)) == 1) {
        CHECK(seq == expect, "log seq %" PRIu64 ", expected %" PRIu64, seq, expect);
        evlog_record_t rec;
        assert_int_equal(evlog_record_parse(v, len, &rec), 0);
        oms_event_t ev;
        oms_arena_reset(&p->arena);
        rc = codec_decode_event(rec.body, rec.body_len, &p->arena, &ev);
        CHECK(rc == 0, "seq %" PRIu64 ": decode: %s", seq, oms_strerror(rc));
        rc = journal ? oms_engine_apply_event(p->rebuilt, seq, rec.ts_ns, &ev)
                     : oms_engine_replay_event(p->rebuilt, seq, rec.ts_ns, &ev);
        CHECK(rc == 0, "seq %" PRIu64 " (%s): %s: %s", seq, oms_event_type_name(ev.type),
              journal ? "apply" : "replay", oms_strerror(rc));
        expect++;
    }
    assert_int_equal(rc, 0);
    evlog_iter_destroy(&p->iter);
    oms_arena_free(&p->arena);
    CHECK(oms_engine_head(p->rebuilt) == oms_engine_head(p->f.eng),
          "rebuilt head %" PRIu64 " != %" PRIu64, oms_engine_head(p->rebuilt),
          oms_engine_head(p->f.eng));
}

/* A rebuild from the log gives the live rows: byte for byte in fx_rows order while the live
 * engine was never restarted (records created in the same order), else as a set. */
static void s_rebuild_and_compare(prop_t *p, bool same_order)
{
    rows_t *live = &p->rows[0], *got = &p->rows[1];
    live->p = fx_rows(p->f.eng, &live->len);
    s_rebuild(p);
    if (same_order) {
        s_assert_rows_equal(p, live, p->rebuilt, "rebuild from the log");
    } else {
        got->p = fx_rows(p->rebuilt, &got->len);
        s_set_from_rows(&p->sets[0], live);
        s_set_from_rows(&p->sets[1], got);
        s_assert_sets_equal(p, &p->sets[0], &p->sets[1], "rebuild from the log");
    }
    s_scratch_free(p);
}

/* The rows the engine wrote with its batches are the rows of its state, and a restart from
 * them gives the same state: the same rows, byte for byte (as a set: a restart loads records
 * in key order, so fx_rows lists them in another order). */
static void s_restart_and_compare(prop_t *p)
{
    rows_t *live = &p->rows[0], *after = &p->rows[1];
    rowset_t *want = &p->sets[0], *stored = &p->sets[1], *restarted = &p->sets[2];
    live->p = fx_rows(p->f.eng, &live->len);
    s_set_from_rows(want, live);
    s_set_from_store(stored, p->f.log);
    s_assert_sets_equal(p, want, stored, "rows in the store");
    fx_restart(&p->f, p->dir);
    after->p = fx_rows(p->f.eng, &after->len);
    s_set_from_rows(restarted, after);
    s_assert_sets_equal(p, want, restarted, "restart from stored rows");
    s_scratch_free(p);
}

/* ---- the on-demand twin --------------------------------------------------------------------- */

/* The twin runs the batch the reference just ran (same command ids, same sequencer time): every
 * reply must encode to the same bytes. */
static void s_twin_batch(prop_t *p, uint32_t n)
{
    memset(p->twin_replies, 0x5a, sizeof p->twin_replies);
    fx_run_batch(&p->twin, p->cmds, n, p->twin_replies);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t a[4096], b[4096];
        size_t la = 0, lb = 0;
        assert_int_equal(codec_encode_reply(&p->replies[i], a, sizeof a, &la), 0);
        assert_int_equal(codec_encode_reply(&p->twin_replies[i], b, sizeof b, &lb), 0);
        const oms_reply_t *r = &p->replies[i], *t = &p->twin_replies[i];
        CHECK(la == lb && memcmp(a, b, la) == 0,
              "%s %s (order '%s'): the twin (restarted %" PRIu64 " times) answered %d %s '%s' "
              "status %s seqs %" PRIu64 "..%" PRIu64 ", the reference %d %s '%s' status %s "
              "seqs %" PRIu64 "..%" PRIu64 " (twin error: %s)",
              k_kind_name[p->meta[i].kind], r->command_id, r->order_id, p->twin_restarts, t->status,
              t->rule_id, t->text, oms_status_name(t->ord_status), t->first_seq, t->last_seq,
              r->status, r->rule_id, r->text, oms_status_name(r->ord_status), r->first_seq,
              r->last_seq, oms_engine_error(p->twin.eng));
    }
    CHECK(oms_engine_head(p->twin.eng) == oms_engine_head(p->f.eng),
          "twin head %" PRIu64 ", reference %" PRIu64, oms_engine_head(p->twin.eng),
          oms_engine_head(p->f.eng));
}

/* The two logs hold the same envelopes, byte for byte, from p->twin_cmp_seq + 1 on (so the
 * same events, times, ids and hash chain); the two stores hold the same projection rows. */
static void s_twin_compare_stores(prop_t *p)
{
    evlog_iter_t *a = NULL, *b = NULL;
    assert_int_equal(evlog_iter_new(p->f.log, p->twin_cmp_seq + 1, &a), 0);
    assert_int_equal(evlog_iter_new(p->twin.log, p->twin_cmp_seq + 1, &b), 0);
    for (;;) {
        uint64_t sa = 0, sb = 0;
        const uint8_t *va = NULL, *vb = NULL;
        size_t la = 0, lb = 0;
        int ra = evlog_iter_next(a, &sa, &va, &la), rb = evlog_iter_next(b, &sb, &vb, &lb);
        CHECK(ra == rb && ra >= 0, "log iteration: reference %d, twin %d", ra, rb);
        if (ra != 1)
            break;
        CHECK(sa == sb && la == lb && memcmp(va, vb, la) == 0,
              "event %" PRIu64 " differs between the reference and the twin", sa);
        p->twin_cmp_seq = sa;
    }
    evlog_iter_destroy(&a);
    evlog_iter_destroy(&b);
    rowset_t *ref = &p->sets[0], *twin = &p->sets[1];
    s_set_from_store_x(ref, p->f.log, true);
    s_set_from_store_x(twin, p->twin.log, true);
    s_assert_sets_equal(p, ref, twin, "twin store rows");
    s_scratch_free(p);
}

static uint64_t s_env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    return strtoull(s, NULL, 0);
}

/* The run's memory and scratch store are set up and torn down outside the test body, so a
 * failed check (which leaves the body at once) frees them too. */
static int s_setup(void **state)
{
    prop_t *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->ring = calloc(RING_CAP, sizeof *p->ring);
    if (!p->ring) {
        free(p);
        return -1;
    }
    *state = p;
    return 0;
}

static int s_teardown(void **state)
{
    prop_t *p = *state;
    s_scratch_free(p);
    fx_free(&p->f);
    if (p->dir)
        tu_rmrf(p->dir);
    fx_free(&p->twin);
    if (p->twin_dir)
        tu_rmrf(p->twin_dir);
    free(p->ring);
    free(p);
    return 0;
}

static void test_engine_random_commands_keep_every_invariant(void **state)
{
    prop_t *p = *state;
    uint64_t seed = s_env_u64("OMS_TEST_SEED", 0);
    if (!seed)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    p->seed = p->rng = seed;
    uint64_t total = s_env_u64("OMS_PROP_COMMANDS", DEFAULT_COMMANDS);
    printf("test_engine_property: seed %" PRIu64 " (replay with OMS_TEST_SEED=%" PRIu64
           "), %" PRIu64 " commands%s\n",
           seed, seed, total, PROP_SANITIZED ? " (sanitized build)" : "");
    fflush(stdout);

    for (int i = 0; i < N_INS; i++) {
        p->lot[i] = D(k_ins[i].lot);
        p->tick[i] = D(k_ins[i].tick);
        p->base[i] = D(k_ins[i].base);
    }
    p->dir = tu_mkdtemp(0, "prop");
    fx_init(&p->f, p->dir);
    fx_setup(&p->f);
    s_define_lotc(&p->f);
    for (int i = 0; i < N_INS; i++)
        s_ref_price(&p->f, k_ins[i].id, k_ins[i].base);

    int64_t t0 = oms_clock_mono_ns();
    uint64_t done = 0, step = total / 3 ? total / 3 : total, next_restart = step;
    bool restarted = false;
    while (done < total) {
        uint32_t n = 1 + U(p, BATCH_MAX);
        if (n > total - done)
            n = (uint32_t)(total - done);
        s_run_batch(p, n);
        done += n;
        if (p->batches % FULL_CHECK_EVERY == 0)
            s_check_full(p);
        if (done >= next_restart && next_restart < total) {
            s_check_full(p);
            if (!restarted)
                s_rebuild_and_compare(p, true); /* live records still in creation order */
            s_restart_and_compare(p);
            restarted = true;
            next_restart += step;
        }
    }
    s_check_full(p);
    double run_s = (double)(oms_clock_mono_ns() - t0) / 1e9;

    /* (a) rebuild from the log, (b) restart from the rows, (c) the chain verifies. */
    int64_t t1 = oms_clock_mono_ns();
    s_rebuild_and_compare(p, !restarted);
    s_restart_and_compare(p);
    evlog_verify_t vr;
    assert_int_equal(evlog_verify(p->f.log, &vr, NULL, NULL), 0);
    if (!vr.ok)
        fprintf(stderr, "verify: %s at %" PRIu64 "\n", vr.reason, vr.first_bad_seq);
    assert_true(vr.ok);
    assert_int_equal(vr.events, oms_engine_head(p->f.eng));
    double end_s = (double)(oms_clock_mono_ns() - t1) / 1e9;

    /* What the run covered. */
    const proj_state_t *st = S(p);
    uint32_t overfilled = 0, late = 0, busted = 0, corrected = 0, reversed = 0, booked = 0;
    uint32_t by_status[OMS_ST_COUNT_] = {0};
    for (uint32_t i = 0; i < proj_count(st, PROJ_T_ORDER); i++) {
        const proj_order_t *o = proj_at(st, PROJ_T_ORDER, i);
        overfilled += o->overfilled;
        if (o->status < OMS_ST_COUNT_)
            by_status[o->status]++;
    }
    for (uint32_t i = 0; i < proj_count(st, PROJ_T_EXEC); i++) {
        const proj_exec_t *x = proj_at(st, PROJ_T_EXEC, i);
        late += x->late;
        busted += x->busted;
        corrected += !x->busted && x->last_seq != x->seq;
    }
    for (uint32_t i = 0; i < proj_count(st, PROJ_T_ALLOC); i++) {
        const proj_alloc_t *a = proj_at(st, PROJ_T_ALLOC, i);
        reversed += a->status == OMS_ALLOC_ST_REVERSED;
        booked += a->status == OMS_ALLOC_ST_BOOKED;
    }
    printf("%" PRIu64 " commands in %" PRIu64 " batches, %" PRIu64 " events, %.1f s (+%.1f s "
           "rebuild/restart/verify), %" PRIu64 " full checks\n",
           total, p->batches, oms_engine_head(p->f.eng), run_s, end_s, p->full_checks);
    printf("state: %u orders, %u execs (%u late, %u busted, %u corrected), %u overfilled, "
           "%u allocations (%u booked, %u reversed), %u positions; blocks skipped for "
           "allocated<=cum after a bust: %u\n",
           proj_count(st, PROJ_T_ORDER), proj_count(st, PROJ_T_EXEC), late, busted, corrected,
           overfilled, proj_count(st, PROJ_T_ALLOC), booked, reversed,
           proj_count(st, PROJ_T_POSITION), p->bust_after_alloc_skipped);
    printf("orders by status:");
    for (int s = 1; s < OMS_ST_COUNT_; s++)
        printf(" %s=%u", oms_status_name((oms_ord_status_t)s), by_status[s]);
    printf("\n%-15s %9s %9s %9s  refused by rule\n", "command", "accepted", "rejected",
           "duplicate");
    for (int k = 0; k < K_COUNT; k++) {
        printf("%-15s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " ", k_kind_name[k],
               p->outcome[k][OMS_REPLY_ACCEPTED], p->outcome[k][OMS_REPLY_REJECTED],
               p->outcome[k][OMS_REPLY_DUPLICATE]);
        for (uint32_t r = 0; r < p->n_rules; r++)
            if (p->rules[r].kind == (kind_t)k)
                printf(" %s:%" PRIu64, p->rules[r].rule, p->rules[r].n);
        printf("\n");
    }
    fflush(stdout);
    if (total >= 20000) {
        /* A long run must have reached every path it is meant to exercise. */
        static const kind_t must_accept[] = {
            K_NEW,           K_NEW_BLOCK,   K_RELEASE,        K_CANCEL,    K_REPLACE,
            K_ACK,           K_VREJECT,     K_FILL,           K_LATE_FILL, K_CANCEL_ACK,
            K_CANCEL_REJECT, K_REPLACE_ACK, K_REPLACE_REJECT, K_EXPIRE,    K_DFD,
            K_BUST,          K_CORRECT,     K_ALLOC,          K_REVERSE,   K_LIMITS,
            K_RESTRICT,      K_REFPX};
        for (size_t k = 0; k < sizeof must_accept / sizeof must_accept[0]; k++)
            CHECK(p->outcome[must_accept[k]][OMS_REPLY_ACCEPTED] > 0, "no %s was accepted",
                  k_kind_name[must_accept[k]]);
        CHECK(p->outcome[K_NEW][OMS_REPLY_REJECTED] > 0, "no new order was refused");
        CHECK(p->outcome[K_RETRY][OMS_REPLY_DUPLICATE] > 0, "no retry");
        CHECK(p->outcome[K_CONFLICT][OMS_REPLY_REJECTED] > 0, "no conflict");
        CHECK(p->outcome[K_DUP_EXEC][OMS_REPLY_DUPLICATE] > 0, "no duplicate execution");
        CHECK(overfilled > 0 && late > 0 && busted > 0 && corrected > 0 && reversed > 0,
              "coverage: overfilled %u late %u busted %u corrected %u reversed %u", overfilled,
              late, busted, corrected, reversed);
    }
}

/* Equivalence of on-demand loading (engine.h): the same random commands (with order ids
 * reused, exec ids of finished orders sent for working ones, busts, corrections, late fills,
 * allocations after fills, end of day) through an engine that never restarts and one with
 * on-demand loading that restarts every few hundred commands, keeping only working orders.
 * Every reply encodes to the same bytes, the two logs are byte-identical (events, times, hash
 * chain) and the two stores hold the same projection rows (queries read those rows). */
static void test_engine_evict_restarts_answer_like_no_restart(void **state)
{
    prop_t *p = *state;
    uint64_t seed = s_env_u64("OMS_TEST_SEED", 0);
    if (!seed)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    p->seed = p->rng = seed;
    p->evict = true;
    uint64_t total = s_env_u64("OMS_EVICT_COMMANDS", PROP_SANITIZED ? 8000 : 30000);
    printf("test_engine_evict: seed %" PRIu64 " (replay with OMS_TEST_SEED=%" PRIu64 "), %" PRIu64
           " commands\n",
           seed, seed, total);
    fflush(stdout);
    for (int i = 0; i < N_INS; i++) {
        p->lot[i] = D(k_ins[i].lot);
        p->tick[i] = D(k_ins[i].tick);
        p->base[i] = D(k_ins[i].base);
    }
    p->dir = tu_mkdtemp(0, "evict-ref");
    p->twin_dir = tu_mkdtemp(1, "evict-twin");
    fx_init(&p->f, p->dir);
    fx_init_on_demand(&p->twin, p->twin_dir);
    fx_t *both[2] = {&p->f, &p->twin};
    for (int k = 0; k < 2; k++) {
        fx_setup(both[k]);
        s_define_lotc(both[k]);
        for (int i = 0; i < N_INS; i++)
            s_ref_price(both[k], k_ins[i].id, k_ins[i].base);
    }
    uint64_t done = 0, next_restart = 100 + U(p, 400), loaded = 0;
    while (done < total) {
        uint32_t n = 1 + U(p, BATCH_MAX);
        if (n > total - done)
            n = (uint32_t)(total - done);
        s_run_batch(p, n);
        done += n;
        if (done >= next_restart) {
            s_twin_compare_stores(p);
            loaded += oms_engine_loaded_on_demand(p->twin.eng);
            fx_restart(&p->twin, p->twin_dir);
            p->twin_restarts++;
            next_restart = done + 100 + U(p, 400);
            /* After a restart only working orders are resident. */
            const proj_state_t *ts = oms_engine_state(p->twin.eng);
            for (uint32_t i = 0; i < proj_count(ts, PROJ_T_ORDER); i++)
                CHECK(proj_status_working(
                          ((const proj_order_t *)proj_at(ts, PROJ_T_ORDER, i))->status),
                      "a restart loaded an order that is not working");
        }
    }
    s_check_full(p);
    s_twin_compare_stores(p);
    loaded += oms_engine_loaded_on_demand(p->twin.eng);
    printf("%" PRIu64 " commands, %" PRIu64 " twin restarts, %" PRIu64 " orders loaded on "
           "demand; order ids reused %" PRIu64 ", exec ids of other orders %" PRIu64
           "; twin holds %u of %u orders\n",
           total, p->twin_restarts, loaded, p->dup_ids, p->cross_execs,
           proj_count(oms_engine_state(p->twin.eng), PROJ_T_ORDER),
           proj_count(oms_engine_state(p->f.eng), PROJ_T_ORDER));
    printf("%-15s %9s %9s %9s\n", "command", "accepted", "rejected", "duplicate");
    for (int k = 0; k < K_COUNT; k++)
        printf("%-15s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", k_kind_name[k],
               p->outcome[k][OMS_REPLY_ACCEPTED], p->outcome[k][OMS_REPLY_REJECTED],
               p->outcome[k][OMS_REPLY_DUPLICATE]);
    fflush(stdout);
    CHECK(p->twin_restarts > 0 && loaded > 0 && p->dup_ids > 0 && p->cross_execs > 0,
          "coverage: restarts %" PRIu64 " loaded %" PRIu64 " dup ids %" PRIu64
          " cross execs %" PRIu64,
          p->twin_restarts, loaded, p->dup_ids, p->cross_execs);
    if (total >= 20000)
        CHECK(p->outcome[K_BUST][OMS_REPLY_ACCEPTED] > 0 &&
                  p->outcome[K_CORRECT][OMS_REPLY_ACCEPTED] > 0 &&
                  p->outcome[K_LATE_FILL][OMS_REPLY_ACCEPTED] > 0 &&
                  p->outcome[K_ALLOC][OMS_REPLY_ACCEPTED] > 0 &&
                  p->outcome[K_EOD][OMS_REPLY_ACCEPTED] > 0,
              "coverage: a bust, a correction, a late fill, an allocation and an end of day "
              "must have been accepted");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_engine_random_commands_keep_every_invariant, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_engine_evict_restarts_answer_like_no_restart, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
