/*
 * apply.c - proj_apply: folds one event into the state. Events carry their results (status
 * after, cum, leaves), so this file records them rather than deciding anything; it computes
 * only what an event cannot carry exactly: the exact price x quantity sums, position cost and
 * realized P&L, and the open-leaves exposure each order adds to its position.
 *
 * Exposure: an order that may still trade (staged, pending, live, pending cancel/replace)
 * counts its leaves - or, with a pending replace that raises the quantity, the larger
 * requested leaves - in its position's open buy or sell leaves. Every change to an order goes
 * through s_order_begin/s_order_end, which move that exposure by the difference.
 */
#include "proj_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The index of the position (account, instrument), created empty if absent; PROJ_NIL when the
 * table is full. */
static uint32_t s_position_idx(proj_state_t *st, const char *account_id, const char *instrument_id)
{
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, account_id, instrument_id);
    uint32_t idx = tbl_find(&st->t[PROJ_T_POSITION], key, n);
    if (idx == PROJ_NIL) {
        idx = proj_create(st, PROJ_T_POSITION, key, n);
        if (idx == PROJ_NIL)
            return PROJ_NIL;
        proj_position_t *p = tbl_rec(&st->t[PROJ_T_POSITION], idx);
        oms_strlcpy(p->account_id, account_id, OMS_ID_CAP);
        oms_strlcpy(p->instrument_id, instrument_id, OMS_ID_CAP);
    }
    return idx;
}

/* The position (account, instrument) for writing (journaled), created empty if absent. NULL
 * when the table is full or the journal cannot grow. */
static proj_position_t *s_position(proj_state_t *st, const char *account_id,
                                   const char *instrument_id)
{
    uint32_t idx = s_position_idx(st, account_id, instrument_id);
    return idx == PROJ_NIL ? NULL : proj_touch(st, PROJ_T_POSITION, idx);
}

/* The order's own position (its account and instrument) for writing, found through the
 * order's in-memory reference once it is known. o must be journaled already (it is written). */
static proj_position_t *s_order_position(proj_state_t *st, proj_order_t *o)
{
    if (o->pos_ref == 0) {
        uint32_t idx = s_position_idx(st, o->account_id, o->instrument_id);
        if (idx == PROJ_NIL)
            return NULL;
        o->pos_ref = idx + 1;
    }
    assert(o->pos_ref - 1 < st->t[PROJ_T_POSITION].n);
    return proj_touch(st, PROJ_T_POSITION, o->pos_ref - 1);
}

/* The order's instrument through the order's in-memory reference; NULL when unknown. */
static const proj_instrument_t *s_order_instrument(proj_state_t *st, proj_order_t *o)
{
    if (o->ins_ref == 0) {
        uint32_t idx = tbl_find(&st->t[PROJ_T_INSTRUMENT], o->instrument_id,
                                strnlen(o->instrument_id, OMS_ID_CAP));
        if (idx == PROJ_NIL)
            return NULL;
        o->ins_ref = idx + 1;
    }
    assert(o->ins_ref - 1 < st->t[PROJ_T_INSTRUMENT].n);
    return tbl_rec(&st->t[PROJ_T_INSTRUMENT], o->ins_ref - 1);
}

/* The quantity the order may still add to its position in the worst case. */
static oms_dec_t s_exposure(const proj_order_t *o)
{
    if (!proj_status_working(o->status))
        return 0;
    oms_dec_t e = o->leaves;
    if (o->status == OMS_ST_PENDING_REPLACE && o->pending_qty.set && o->pending_qty.v > o->cum &&
        o->pending_qty.v - o->cum > e)
        e = o->pending_qty.v - o->cum;
    return e < 0 ? 0 : e;
}

typedef struct {
    proj_order_t *o;  /* the order, writable (journaled) */
    uint32_t idx;     /* its index */
    oms_dec_t before; /* its exposure before the change */
} order_edit_t;

static int s_order_begin(proj_state_t *st, const char *order_id, order_edit_t *ed)
{
    uint32_t idx = tbl_find(&st->t[PROJ_T_ORDER], order_id, strlen(order_id));
    if (idx == PROJ_NIL)
        return OMS_ERR_STATE;
    ed->idx = idx;
    ed->o = proj_touch(st, PROJ_T_ORDER, idx);
    if (!ed->o)
        return OMS_ERR_NOMEM;
    ed->before = s_exposure(ed->o);
    return 0;
}

static int s_order_end(proj_state_t *st, order_edit_t *ed, uint64_t seq, int64_t ts)
{
    proj_order_t *o = ed->o;
    o->last_seq = seq;
    o->updated_ts_ns = ts;
    if (o->cum > o->qty)
        o->overfilled = true; /* by a fill, a correction, or a replace acked below cum */
    oms_dec_t after = s_exposure(o);
    if (after == ed->before)
        return 0;
    proj_position_t *p = s_order_position(st, o);
    if (!p)
        return OMS_ERR_LIMIT;
    oms_dec_t *leg = o->side == OMS_SIDE_BUY ? &p->open_buy_leaves : &p->open_sell_leaves;
    oms_dec_t v;
    int rc = oms_dec_add(*leg, after - ed->before, &v);
    if (rc)
        return rc;
    *leg = v;
    p->last_seq = seq;
    return 0;
}

static int s_chain_add(proj_state_t *st, proj_order_t *o, uint32_t order_idx, const char *cl)
{
    /* What proj_order_has_clordid checks, with the key built once for the lookup and the
     * insert. */
    if (!cl[0] || strcmp(o->pending_cl_ord_id, cl) == 0 || strcmp(o->order_id, cl) == 0)
        return 0;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, o->order_id, cl);
    if (tbl_find(&st->t[PROJ_T_CLORDID], key, n) != PROJ_NIL)
        return 0;
    uint32_t idx = proj_create(st, PROJ_T_CLORDID, key, n);
    if (idx == PROJ_NIL)
        return OMS_ERR_LIMIT;
    proj_clordid_t *c = tbl_rec(&st->t[PROJ_T_CLORDID], idx);
    oms_strlcpy(c->cl_ord_id, cl, OMS_ID_CAP);
    c->order = order_idx;
    c->next = PROJ_NIL;
    if (o->first_clordid == PROJ_NIL) {
        o->first_clordid = idx;
    } else {
        proj_clordid_t *last = proj_touch(st, PROJ_T_CLORDID, o->last_clordid);
        if (!last)
            return OMS_ERR_NOMEM;
        last->next = idx;
    }
    o->last_clordid = idx;
    o->n_clordids++;
    return 0;
}

static uint32_t s_order_index(proj_state_t *st, const char *order_id)
{
    return tbl_find(&st->t[PROJ_T_ORDER], order_id, strlen(order_id));
}

/* Creates an order record from its terms (accepted or rejected at entry). */
static int s_order_create(proj_state_t *st, uint64_t seq, int64_t ts, const oms_new_order_t *no,
                          proj_order_t **out, uint32_t *out_idx)
{
    size_t klen = strlen(no->order_id);
    if (tbl_find(&st->t[PROJ_T_ORDER], no->order_id, klen) != PROJ_NIL)
        return OMS_ERR_STATE;
    uint32_t idx = proj_create(st, PROJ_T_ORDER, no->order_id, klen);
    if (idx == PROJ_NIL)
        return OMS_ERR_LIMIT;
    proj_order_t *o = tbl_rec(&st->t[PROJ_T_ORDER], idx);
    o->order_id = tbl_key(&st->t[PROJ_T_ORDER], idx); /* the key never changes */

    o->side = no->side;
    o->ord_type = no->ord_type;
    o->price = no->price;
    o->qty = no->qty;
    o->tif = no->tif;
    o->expire_ts_ns = no->expire_ts_ns;
    o->text = o->reject_text = o->cl_ord_id = o->pending_cl_ord_id = "";
    o->venue = o->venue_order_id = o->entered_by = o->released_by = "";
    o->account_id = o->instrument_id = "";
    int trc = proj_set_str(st, &o->text, no->text);
    if (trc == 0)
        trc = proj_set_str(st, &o->account_id, no->account_id);
    if (trc == 0)
        trc = proj_set_str(st, &o->instrument_id, no->instrument_id);
    if (trc)
        return trc;
    o->cl_ord_id = o->order_id; /* the first ClOrdID is the id: share the key */
    o->is_block = no->n_allocs > 0;
    o->created_seq = o->last_seq = seq;
    o->created_ts_ns = o->updated_ts_ns = ts;
    o->first_clordid = o->last_clordid = PROJ_NIL;
    o->first_instr = o->last_instr = PROJ_NIL;
    o->first_exec = o->last_exec = PROJ_NIL;
    o->first_alloc = o->last_alloc = PROJ_NIL;
    o->n_clordids = 1; /* the order id, the chain's implicit first ClOrdID */
    for (uint32_t i = 0; i < no->n_allocs; i++) {
        char key[TBL_KEY_CAP];
        size_t n = proj_key2(key, no->order_id, no->allocs[i].account_id);
        uint32_t ii = proj_create(st, PROJ_T_INSTR, key, n);
        if (ii == PROJ_NIL)
            return OMS_ERR_LIMIT; /* also a duplicate account: handlers never let one through */
        proj_instr_t *in = tbl_rec(&st->t[PROJ_T_INSTR], ii);
        in->instr = no->allocs[i];
        in->order = idx;
        in->next = PROJ_NIL;
        if (o->n_instrs == 0)
            o->first_instr = ii;
        else
            ((proj_instr_t *)tbl_rec(&st->t[PROJ_T_INSTR], o->last_instr))->next = ii;
        o->last_instr = ii;
        o->n_instrs++;
    }
    *out = o;
    *out_idx = idx;
    return 0;
}

static const proj_instrument_t *s_instrument(proj_state_t *st, const char *id)
{
    return proj_instrument(st, id);
}

/* Moves a position by a signed trade at px, with the instrument's multiplier. */
static int s_trade(proj_state_t *st, uint64_t seq, const char *account_id,
                   const char *instrument_id, oms_dec_t signed_qty, oms_dec_t px)
{
    if (signed_qty == 0)
        return 0;
    const proj_instrument_t *ins = s_instrument(st, instrument_id);
    if (!ins)
        return OMS_ERR_STATE;
    proj_position_t *p = s_position(st, account_id, instrument_id);
    if (!p)
        return OMS_ERR_LIMIT;
    int rc = proj_position_trade(p, signed_qty, px, ins->def.multiplier);
    if (rc)
        return rc;
    p->last_seq = seq;
    return 0;
}

static oms_dec_t s_signed(oms_side_t side, oms_dec_t qty)
{
    return side == OMS_SIDE_BUY ? qty : -qty;
}

/* The venue and the venue's order id a report names (an empty one changes nothing). 0 or
 * OMS_ERR_NOMEM. */
static int s_venue_fields(proj_state_t *st, proj_order_t *o, const oms_venue_hdr_t *h)
{
    int rc = 0;
    if (h->venue[0])
        rc = proj_set_str(st, &o->venue, h->venue);
    if (rc == 0 && h->venue_order_id[0])
        rc = proj_set_str(st, &o->venue_order_id, h->venue_order_id);
    return rc;
}

static oms_e16_t s_e16(oms_dec_t qty, oms_dec_t px)
{
    return (oms_e16_t)qty * (oms_e16_t)px;
}

static int s_apply_fill(proj_state_t *st, uint64_t seq, int64_t ts, const oms_ev_order_t *e)
{
    order_edit_t ed;
    int rc = s_order_begin(st, e->h.order_id, &ed);
    if (rc)
        return rc;
    proj_order_t *o = ed.o;
    uint32_t oidx = ed.idx;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, e->h.venue, e->h.exec_id);
    if (tbl_find(&st->t[PROJ_T_EXEC], key, n) != PROJ_NIL)
        return OMS_ERR_STATE;
    if (o->n_execs >= PROJ_MAX_FILLS_PER_ORDER)
        return OMS_ERR_LIMIT;
    uint32_t xi = proj_create(st, PROJ_T_EXEC, key, n);
    if (xi == PROJ_NIL)
        return OMS_ERR_LIMIT;
    proj_exec_t *x = tbl_rec(&st->t[PROJ_T_EXEC], xi);
    x->venue = o->venue; /* shared when the order's venue is the fill's (the usual case) */
    x->exec_id = proj_exec_id_in_key(st, xi, n, e->h.exec_id);
    if ((rc = proj_set_str(st, &x->venue, e->h.venue)) != 0)
        return rc;
    x->order = oidx;
    x->next = PROJ_NIL;
    x->qty = e->last_qty;
    x->px = e->last_px;
    x->transact_ts_ns = e->h.transact_ts_ns;
    x->late = e->late;
    x->seq = x->last_seq = seq;
    if (o->n_execs == 0) {
        o->first_exec = xi;
    } else {
        proj_exec_t *last = proj_touch(st, PROJ_T_EXEC, o->last_exec);
        if (!last)
            return OMS_ERR_NOMEM;
        last->next = xi;
    }
    o->last_exec = xi;
    o->n_execs++;
    o->fill_count++;
    o->px_qty_sum += s_e16(e->last_qty, e->last_px);
    o->cum = e->cum_qty;
    o->leaves = e->leaves_qty;
    o->status = e->status;
    o->overfilled |= e->overfill;
    if ((rc = s_venue_fields(st, o, &e->h)) != 0)
        return rc;
    rc = s_order_end(st, &ed, seq, ts);
    if (rc)
        return rc;
    oms_dec_t signed_qty = s_signed(o->side, e->last_qty);
    if (signed_qty == 0)
        return 0;
    const proj_instrument_t *ins = s_order_instrument(st, o);
    if (!ins)
        return OMS_ERR_STATE;
    proj_position_t *p = s_order_position(st, o);
    if (!p)
        return OMS_ERR_LIMIT;
    if ((rc = proj_position_trade(p, signed_qty, e->last_px, ins->def.multiplier)) != 0)
        return rc;
    p->last_seq = seq;
    return 0;
}

/* One trade that moved a position, for recomputing it. */
typedef struct {
    uint64_t seq;  /* the event that made it */
    uint32_t sub;  /* order within that event */
    oms_dec_t qty; /* signed */
    oms_dec_t px;  /* price */
} trade_t;

static int s_trade_cmp(const void *a, const void *b)
{
    const trade_t *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static int s_push(trade_t **v, uint32_t *n, uint32_t *cap, trade_t t)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 64;
        trade_t *p = realloc(*v, c * sizeof *p);
        if (!p)
            return OMS_ERR_NOMEM;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = t;
    return 0;
}

/* Rebuilds the quantity, cost and realized P&L of one position from every live trade that
 * touches it, in seq order: live (not busted) fills of its orders, and for blocks the booked
 * allocation parts (and their reversals). Open leaves are not trades and are kept. Runs only on
 * a bust or a correction, so its cost (a scan of the executions and allocations) is paid
 * rarely. */
static int s_recompute_position(proj_state_t *st, uint64_t seq, const char *account,
                                const char *instrument)
{
    const proj_instrument_t *ins = proj_instrument(st, instrument);
    if (!ins)
        return OMS_ERR_STATE;
    trade_t *v = NULL;
    uint32_t n = 0, cap = 0;
    int rc = 0;
    uint32_t nx = st->t[PROJ_T_EXEC].n;
    for (uint32_t i = 0; i < nx && rc == 0; i++) {
        const proj_exec_t *x = tbl_rec(&st->t[PROJ_T_EXEC], i);
        if (x->busted)
            continue;
        const proj_order_t *o = tbl_rec(&st->t[PROJ_T_ORDER], x->order);
        if (strcmp(o->instrument_id, instrument) != 0 || strcmp(o->account_id, account) != 0)
            continue;
        rc = s_push(&v, &n, &cap, (trade_t){x->seq, 0, s_signed(o->side, x->qty), x->px});
    }
    uint32_t na = st->t[PROJ_T_ALLOC].n;
    for (uint32_t i = 0; i < na && rc == 0; i++) {
        const proj_alloc_t *a = tbl_rec(&st->t[PROJ_T_ALLOC], i);
        if (a->status != OMS_ALLOC_ST_BOOKED && a->status != OMS_ALLOC_ST_REVERSED)
            continue;
        const proj_order_t *o = tbl_rec(&st->t[PROJ_T_ORDER], a->order);
        if (strcmp(o->instrument_id, instrument) != 0)
            continue;
        uint32_t k = 0;
        for (uint32_t pi = a->first_part; pi != PROJ_NIL && rc == 0; k++) {
            const proj_part_t *p = tbl_rec(&st->t[PROJ_T_PART], pi);
            pi = p->next;
            oms_dec_t q = s_signed(o->side, p->part.qty);
            oms_dec_t into;
            if (account[0] == '\0')
                into = -q; /* leaves the unallocated position */
            else if (strcmp(p->part.account_id, account) == 0)
                into = q;
            else
                continue;
            rc = s_push(&v, &n, &cap, (trade_t){a->created_seq, 2 * k + 1, into, p->part.px});
            if (rc == 0 && a->status == OMS_ALLOC_ST_REVERSED)
                rc = s_push(&v, &n, &cap, (trade_t){a->last_seq, 2 * k + 1, -into, p->part.px});
        }
    }
    if (rc == 0) {
        if (n > 1)
            qsort(v, n, sizeof *v, s_trade_cmp);
        proj_position_t fresh;
        memset(&fresh, 0, sizeof fresh);
        for (uint32_t i = 0; i < n && rc == 0; i++)
            rc = proj_position_trade(&fresh, v[i].qty, v[i].px, ins->def.multiplier);
        if (rc == 0) {
            proj_position_t *p = s_position(st, account, instrument);
            if (!p) {
                rc = OMS_ERR_LIMIT;
            } else {
                p->qty = fresh.qty;
                p->cost_basis = fresh.cost_basis;
                p->realized_pnl = fresh.realized_pnl;
                p->last_seq = seq;
            }
        }
    }
    free(v);
    return rc;
}

static int s_apply_bust_or_correct(proj_state_t *st, uint64_t seq, int64_t ts,
                                   const oms_ev_order_t *e, bool correct)
{
    order_edit_t ed;
    int rc = s_order_begin(st, e->h.order_id, &ed);
    if (rc)
        return rc;
    proj_order_t *o = ed.o;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, e->h.venue, e->ref_exec_id);
    uint32_t xi = tbl_find(&st->t[PROJ_T_EXEC], key, n);
    if (xi == PROJ_NIL)
        return OMS_ERR_STATE;
    proj_exec_t *x = proj_touch(st, PROJ_T_EXEC, xi);
    if (!x || x->busted)
        return x ? OMS_ERR_STATE : OMS_ERR_NOMEM;
    o->px_qty_sum -= s_e16(x->qty, x->px);
    if (correct) {
        x->qty = e->new_qty;
        x->px = e->new_px;
        o->px_qty_sum += s_e16(e->new_qty, e->new_px);
    } else {
        x->busted = true;
        o->fill_count--;
    }
    x->last_seq = seq;
    o->cum = e->cum_qty;
    o->leaves = e->leaves_qty;
    o->status = e->status;
    rc = s_order_end(st, &ed, seq, ts);
    if (rc)
        return rc;
    /* A bust or correction changes history: the position is recomputed as if the fill had
     * never happened (or had always been the corrected one). */
    return s_recompute_position(st, seq, o->account_id, o->instrument_id);
}

static int s_add_part(proj_state_t *st, proj_alloc_t *a, uint32_t *first, uint32_t *last,
                      uint32_t *count, const oms_alloc_part_t *part, const oms_alloc_instr_t *instr,
                      uint32_t k)
{
    char key[TBL_KEY_CAP], kk[16];
    kk[0] = instr ? 'i' : 'p';
    size_t l = 1;
    for (uint32_t v = k, d = 1000000000; d; d /= 10)
        kk[l++] = (char)('0' + (v / d) % 10);
    kk[l] = '\0';
    size_t n = proj_key3(key, a->order_id, a->alloc_id, kk);
    uint32_t pi = proj_create(st, PROJ_T_PART, key, n);
    if (pi == PROJ_NIL)
        return OMS_ERR_LIMIT;
    proj_part_t *p = tbl_rec(&st->t[PROJ_T_PART], pi);
    if (instr) {
        p->instr = *instr;
        p->is_instr = true;
    } else {
        p->part = *part;
    }
    p->next = PROJ_NIL;
    if (*count == 0)
        *first = pi;
    else
        ((proj_part_t *)tbl_rec(&st->t[PROJ_T_PART], *last))->next = pi;
    *last = pi;
    (*count)++;
    return 0;
}

static int s_apply_alloc(proj_state_t *st, uint64_t seq, int64_t ts, oms_event_type_t type,
                         const oms_ev_alloc_t *e)
{
    order_edit_t ed;
    int rc = s_order_begin(st, e->order_id, &ed);
    if (rc)
        return rc;
    proj_order_t *o = ed.o;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, e->order_id, e->alloc_id);
    uint32_t ai = tbl_find(&st->t[PROJ_T_ALLOC], key, n);

    if (type == OMS_EV_ALLOCATION_REVERSED) {
        if (ai == PROJ_NIL)
            return OMS_ERR_STATE;
        proj_alloc_t *a = proj_touch(st, PROJ_T_ALLOC, ai);
        if (!a)
            return OMS_ERR_NOMEM;
        if (a->status != OMS_ALLOC_ST_BOOKED)
            return OMS_ERR_STATE;
        a->status = OMS_ALLOC_ST_REVERSED;
        oms_strlcpy(a->text, e->text, OMS_TEXT_CAP);
        a->last_seq = seq;
        o->allocated_qty -= a->qty;
        for (uint32_t pi = a->first_part; pi != PROJ_NIL;) {
            const proj_part_t *p = tbl_rec(&st->t[PROJ_T_PART], pi);
            rc = s_trade(st, seq, p->part.account_id, o->instrument_id,
                         -s_signed(o->side, p->part.qty), p->part.px);
            if (rc == 0)
                rc = s_trade(st, seq, "", o->instrument_id, s_signed(o->side, p->part.qty),
                             p->part.px);
            if (rc)
                return rc;
            pi = p->next;
        }
        return s_order_end(st, &ed, seq, ts);
    }

    if (ai != PROJ_NIL)
        return OMS_ERR_STATE;
    ai = proj_create(st, PROJ_T_ALLOC, key, n);
    if (ai == PROJ_NIL)
        return OMS_ERR_LIMIT;
    proj_alloc_t *a = tbl_rec(&st->t[PROJ_T_ALLOC], ai);
    oms_strlcpy(a->order_id, e->order_id, OMS_ID_CAP);
    oms_strlcpy(a->alloc_id, e->alloc_id, OMS_ID_CAP);
    a->order = s_order_index(st, e->order_id);
    a->next = PROJ_NIL;
    a->first_part = a->last_part = a->first_used = a->last_used = PROJ_NIL;
    a->created_seq = a->last_seq = seq;
    oms_strlcpy(a->text, e->text, OMS_TEXT_CAP);
    if (o->n_allocs == 0) {
        o->first_alloc = ai;
    } else {
        proj_alloc_t *last = proj_touch(st, PROJ_T_ALLOC, o->last_alloc);
        if (!last)
            return OMS_ERR_NOMEM;
        last->next = ai;
    }
    o->last_alloc = ai;
    o->n_allocs++;

    if (type == OMS_EV_ALLOCATION_REJECTED) {
        a->status = OMS_ALLOC_ST_REJECTED;
        a->reject_reason = e->reason;
        a->qty = e->asked_qty.set ? e->asked_qty.v : 0;
        return s_order_end(st, &ed, seq, ts);
    }
    a->status = OMS_ALLOC_ST_BOOKED;
    a->qty = e->qty;
    a->avg_px = e->avg_px;
    for (uint32_t i = 0; i < e->n_parts; i++) {
        rc = s_add_part(st, a, &a->first_part, &a->last_part, &a->n_parts, &e->parts[i], NULL, i);
        if (rc == 0)
            rc = s_trade(st, seq, "", o->instrument_id, -s_signed(o->side, e->parts[i].qty),
                         e->parts[i].px);
        if (rc == 0)
            rc = s_trade(st, seq, e->parts[i].account_id, o->instrument_id,
                         s_signed(o->side, e->parts[i].qty), e->parts[i].px);
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < e->n_instrs; i++) {
        rc = s_add_part(st, a, &a->first_used, &a->last_used, &a->n_used, NULL, &e->instrs[i], i);
        if (rc)
            return rc;
    }
    o->allocated_qty += e->qty;
    return s_order_end(st, &ed, seq, ts);
}

int proj_apply(proj_state_t *st, uint64_t seq, int64_t ts, const oms_event_t *ev)
{
    char key[TBL_KEY_CAP];
    size_t n;
    uint32_t idx;
    order_edit_t ed;
    int rc;
    switch (ev->type) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED: {
        const oms_instrument_def_t *d = &ev->u.instrument;
        n = strlen(d->instrument_id);
        idx = tbl_find(&st->t[PROJ_T_INSTRUMENT], d->instrument_id, n);
        if (idx == PROJ_NIL &&
            (idx = proj_create(st, PROJ_T_INSTRUMENT, d->instrument_id, n)) == PROJ_NIL)
            return OMS_ERR_LIMIT;
        proj_instrument_t *r = proj_touch(st, PROJ_T_INSTRUMENT, idx);
        if (!r)
            return OMS_ERR_NOMEM;
        bool currency_changed = strcmp(r->def.currency, d->currency) != 0;
        r->def = *d;
        r->last_seq = seq;
        if (currency_changed && ev->type == OMS_EV_INSTRUMENT_UPDATED) {
            /* Position rows show the instrument's currency: mark them for rewriting. */
            uint32_t np = st->t[PROJ_T_POSITION].n;
            for (uint32_t i = 0; i < np; i++) {
                const proj_position_t *p = tbl_rec(&st->t[PROJ_T_POSITION], i);
                if (strcmp(p->instrument_id, d->instrument_id) == 0 &&
                    !proj_touch(st, PROJ_T_POSITION, i))
                    return OMS_ERR_NOMEM;
            }
        }
        return 0;
    }
    case OMS_EV_ACCOUNT_DEFINED: {
        const oms_account_def_t *d = &ev->u.account;
        n = strlen(d->account_id);
        idx = tbl_find(&st->t[PROJ_T_ACCOUNT], d->account_id, n);
        if (idx == PROJ_NIL &&
            (idx = proj_create(st, PROJ_T_ACCOUNT, d->account_id, n)) == PROJ_NIL)
            return OMS_ERR_LIMIT;
        proj_account_t *r = proj_touch(st, PROJ_T_ACCOUNT, idx);
        if (!r)
            return OMS_ERR_NOMEM;
        r->def = *d;
        r->last_seq = seq;
        return 0;
    }
    case OMS_EV_PRINCIPAL_DEFINED: {
        const oms_principal_def_t *d = &ev->u.principal;
        n = strlen(d->principal_id);
        idx = tbl_find(&st->t[PROJ_T_PRINCIPAL], d->principal_id, n);
        if (idx == PROJ_NIL &&
            (idx = proj_create(st, PROJ_T_PRINCIPAL, d->principal_id, n)) == PROJ_NIL)
            return OMS_ERR_LIMIT;
        proj_principal_t *r = proj_touch(st, PROJ_T_PRINCIPAL, idx);
        if (!r)
            return OMS_ERR_NOMEM;
        r->def = *d;
        r->last_seq = seq;
        return 0;
    }
    case OMS_EV_LIMITS_SET: {
        const oms_limits_def_t *d = &ev->u.limits;
        if (d->scope < OMS_SCOPE_FIRM || d->scope > OMS_SCOPE_ACCOUNT_INSTRUMENT)
            return OMS_ERR_STATE; /* the handlers never produce one */
        char sc[2] = {(char)('0' + d->scope), '\0'};
        n = proj_key3(key, sc, d->account_id, d->instrument_id);
        idx = tbl_find(&st->t[PROJ_T_LIMITS], key, n);
        if (idx == PROJ_NIL && (idx = proj_create(st, PROJ_T_LIMITS, key, n)) == PROJ_NIL)
            return OMS_ERR_LIMIT;
        proj_limits_t *r = proj_touch(st, PROJ_T_LIMITS, idx);
        if (!r)
            return OMS_ERR_NOMEM;
        r->def = *d;
        r->last_seq = seq;
        return 0;
    }
    case OMS_EV_RESTRICTION_SET: {
        const oms_restriction_def_t *d = &ev->u.restriction;
        n = proj_key2(key, d->instrument_id, d->account_id);
        idx = tbl_find(&st->t[PROJ_T_RESTRICTION], key, n);
        if (idx == PROJ_NIL && (idx = proj_create(st, PROJ_T_RESTRICTION, key, n)) == PROJ_NIL)
            return OMS_ERR_LIMIT;
        proj_restriction_t *r = proj_touch(st, PROJ_T_RESTRICTION, idx);
        if (!r)
            return OMS_ERR_NOMEM;
        oms_strlcpy(r->instrument_id, d->instrument_id, OMS_ID_CAP);
        oms_strlcpy(r->account_id, d->account_id, OMS_ID_CAP);
        r->restricted = d->restricted;
        oms_strlcpy(r->reason, d->reason, OMS_TEXT_CAP);
        r->last_seq = seq;
        return 0;
    }
    case OMS_EV_REFERENCE_PRICE_SET: {
        const oms_ref_price_def_t *d = &ev->u.ref_price;
        idx = tbl_find(&st->t[PROJ_T_INSTRUMENT], d->instrument_id, strlen(d->instrument_id));
        if (idx == PROJ_NIL)
            return OMS_ERR_STATE;
        proj_instrument_t *r = proj_touch(st, PROJ_T_INSTRUMENT, idx);
        if (!r)
            return OMS_ERR_NOMEM;
        r->ref_px = (oms_opt_dec_t){true, d->price};
        r->ref_px_seq = seq;
        r->last_seq = seq;
        return 0;
    }
    case OMS_EV_ORDER_ACCEPTED: {
        const oms_ev_accepted_t *a = &ev->u.accepted;
        proj_order_t *o;
        rc = s_order_create(st, seq, ts, &a->order, &o, &idx);
        if (rc)
            return rc;
        ed.o = o;
        ed.before = 0;
        o->status = a->status;
        o->leaves = a->order.qty;
        if ((rc = proj_set_str(st, &o->entered_by, a->entered_by)) != 0)
            return rc;
        o->release_policy = a->release_policy;
        return s_order_end(st, &ed, seq, ts);
    }
    case OMS_EV_ORDER_RELEASED:
        if ((rc = s_order_begin(st, ev->u.released.order_id, &ed)) != 0)
            return rc;
        ed.o->status = ev->u.released.status;
        if ((rc = proj_set_str(st, &ed.o->released_by, ev->u.released.released_by)) != 0)
            return rc;
        return s_order_end(st, &ed, seq, ts);
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED: {
        const oms_ev_request_t *r = &ev->u.request;
        if ((rc = s_order_begin(st, r->order_id, &ed)) != 0)
            return rc;
        proj_order_t *o = ed.o;
        o->prior_status = r->prior_status;
        o->status = r->status;
        if ((rc = s_chain_add(st, o, ed.idx, r->cl_ord_id)) != 0)
            return rc;
        if ((rc = proj_set_str(st, &o->pending_cl_ord_id, r->cl_ord_id)) != 0)
            return rc;
        o->pending_qty = ev->type == OMS_EV_REPLACE_REQUESTED ? r->qty : (oms_opt_dec_t){0};
        o->pending_price = ev->type == OMS_EV_REPLACE_REQUESTED ? r->price : (oms_opt_dec_t){0};
        return s_order_end(st, &ed, seq, ts);
    }
    case OMS_EV_ORDER_FILLED:
        return s_apply_fill(st, seq, ts, &ev->u.order);
    case OMS_EV_TRADE_BUSTED:
        return s_apply_bust_or_correct(st, seq, ts, &ev->u.order, false);
    case OMS_EV_TRADE_CORRECTED:
        return s_apply_bust_or_correct(st, seq, ts, &ev->u.order, true);
    case OMS_EV_ORDER_ACKNOWLEDGED:
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_ORDER_REPLACED:
    case OMS_EV_REPLACE_REJECTED:
    case OMS_EV_ORDER_EXPIRED:
    case OMS_EV_ORDER_DONE_FOR_DAY: {
        const oms_ev_order_t *e = &ev->u.order;
        if ((rc = s_order_begin(st, e->h.order_id, &ed)) != 0)
            return rc;
        proj_order_t *o = ed.o;
        o->status = e->status;
        if ((rc = s_venue_fields(st, o, &e->h)) != 0)
            return rc;
        switch (ev->type) {
        case OMS_EV_ORDER_ACKNOWLEDGED:
            /* An ack that overtook a cancel or replace request: a reject of that request
             * returns the order to NEW, not to PENDING_NEW. */
            if (o->prior_status == OMS_ST_PENDING_NEW &&
                (o->status == OMS_ST_PENDING_CANCEL || o->status == OMS_ST_PENDING_REPLACE))
                o->prior_status = OMS_ST_NEW;
            break;
        case OMS_EV_ORDER_REJECTED_BY_VENUE:
            o->leaves = 0;
            if ((rc = proj_set_str(st, &o->reject_text, e->text)) != 0)
                return rc;
            break;
        case OMS_EV_ORDER_CANCELED:
        case OMS_EV_ORDER_EXPIRED:
            o->leaves = 0;
            o->pending_cl_ord_id = "";
            o->pending_qty = o->pending_price = (oms_opt_dec_t){0};
            break;
        case OMS_EV_CANCEL_REJECTED:
        case OMS_EV_REPLACE_REJECTED:
            o->pending_cl_ord_id = "";
            o->pending_qty = o->pending_price = (oms_opt_dec_t){0};
            break;
        case OMS_EV_ORDER_REPLACED:
            if ((rc = s_chain_add(st, o, ed.idx, e->h.cl_ord_id)) != 0)
                return rc;
            if ((rc = proj_set_str(st, &o->cl_ord_id, e->h.cl_ord_id)) != 0)
                return rc;
            o->qty = e->qty;
            o->price = e->price;
            o->cum = e->cum_qty;
            o->leaves = e->leaves_qty;
            o->pending_cl_ord_id = "";
            o->pending_qty = o->pending_price = (oms_opt_dec_t){0};
            break;
        case OMS_EV_ORDER_DONE_FOR_DAY:
            o->leaves = e->leaves_qty;
            break;
        default:
            break;
        }
        return s_order_end(st, &ed, seq, ts);
    }
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED:
        return s_apply_alloc(st, seq, ts, ev->type, &ev->u.alloc);
    case OMS_EV_COMMAND_REJECTED: {
        const oms_ev_rejected_t *r = &ev->u.rejected;
        if (!r->order_rejected)
            return 0;
        if (!r->command || r->command->type != OMS_CMD_NEW_ORDER)
            return OMS_ERR_STATE;
        proj_order_t *o;
        rc = s_order_create(st, seq, ts, &r->command->u.new_order, &o, &idx);
        if (rc)
            return rc;
        o->status = OMS_ST_REJECTED;
        o->leaves = 0;
        o->reject_reason = r->reason;
        oms_strlcpy(o->reject_rule_id, r->rule_id, OMS_RULE_CAP);
        if ((rc = proj_set_str(st, &o->entered_by, r->command->principal)) != 0)
            return rc;
        return proj_set_str(st, &o->reject_text, r->text);
    }
    case OMS_EV_EXCEPTION_RAISED:
        return 0;
    case OMS_EV_END_OF_DAY_PROCESSED:
        if (st->in_batch && !st->trade_date_dirty) { /* the batch's first change: keep the old */
            memcpy(st->trade_date_at_begin, st->trade_date, OMS_DATE_CAP);
            st->trade_date_seq_at_begin = st->trade_date_seq;
        }
        oms_strlcpy(st->trade_date, ev->u.eod.trade_date, OMS_DATE_CAP);
        st->trade_date_seq = seq;
        st->trade_date_dirty = true;
        return 0;
    case OMS_EV_NONE:
        break;
    }
    return OMS_ERR_STATE;
}

const char *proj_trade_date(const proj_state_t *st, uint64_t *seq)
{
    if (seq)
        *seq = st->trade_date_seq;
    return st->trade_date;
}

bool proj_trade_date_dirty(const proj_state_t *st)
{
    return st->trade_date_dirty;
}
