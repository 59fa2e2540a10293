/*
 * load.c - rebuilding the in-memory state from stored projection rows at restart, so that
 * start-up cost grows with the state, not with the length of the history. Each loader inserts
 * one record and rebuilds the links the row does not carry (list heads, next indices).
 */
#include "proj_internal.h"

#include <string.h>

static int s_put(proj_state_t *st, proj_table_t t, const char *key, size_t klen, const void *rec,
                 uint32_t *idx_out)
{
    if (tbl_find(&st->t[t], key, klen) != PROJ_NIL)
        return OMS_ERR_EXISTS;
    proj_note_insert(st, t); /* an on-demand load may come inside a batch */
    uint32_t idx = tbl_add(&st->t[t], key, klen);
    if (idx == PROJ_NIL)
        return OMS_ERR_LIMIT;
    memcpy(tbl_rec(&st->t[t], idx), rec, st->t[t].rec_size);
    if (idx_out)
        *idx_out = idx;
    return 0;
}

int proj_load_instrument(proj_state_t *st, const proj_instrument_t *r)
{
    return s_put(st, PROJ_T_INSTRUMENT, r->def.instrument_id, strlen(r->def.instrument_id), r,
                 NULL);
}

int proj_load_account(proj_state_t *st, const proj_account_t *r)
{
    return s_put(st, PROJ_T_ACCOUNT, r->def.account_id, strlen(r->def.account_id), r, NULL);
}

int proj_load_principal(proj_state_t *st, const proj_principal_t *r)
{
    return s_put(st, PROJ_T_PRINCIPAL, r->def.principal_id, strlen(r->def.principal_id), r, NULL);
}

int proj_load_limits(proj_state_t *st, const proj_limits_t *r)
{
    char key[TBL_KEY_CAP];
    char sc[2] = {(char)('0' + r->def.scope), '\0'};
    size_t n = proj_key3(key, sc, r->def.account_id, r->def.instrument_id);
    if (r->def.scope < OMS_SCOPE_FIRM || r->def.scope > OMS_SCOPE_ACCOUNT_INSTRUMENT)
        return OMS_ERR_STATE;
    uint32_t idx;
    int rc = s_put(st, PROJ_T_LIMITS, key, n, r, &idx);
    if (rc == 0)
        proj_count_limits(st, idx, +1);
    return rc;
}

int proj_load_restriction(proj_state_t *st, const proj_restriction_t *r)
{
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, r->instrument_id, r->account_id);
    return s_put(st, PROJ_T_RESTRICTION, key, n, r, NULL);
}

int proj_load_position(proj_state_t *st, const proj_position_t *r)
{
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, r->account_id, r->instrument_id);
    return s_put(st, PROJ_T_POSITION, key, n, r, NULL);
}

int proj_load_order(proj_state_t *st, const proj_order_t *r, const char (*clordids)[OMS_ID_CAP],
                    uint32_t n_clordids, const oms_alloc_instr_t *instrs, uint32_t n_instrs)
{
    /* The chain starts with the order id itself, which has no record of its own (see
     * proj_order_t), and never holds it again. */
    if (!r->order_id || !r->order_id[0])
        return OMS_ERR_STATE;
    if (n_clordids == 0 || strcmp(clordids[0], r->order_id) != 0)
        return OMS_ERR_STATE;
    for (uint32_t i = 1; i < n_clordids; i++)
        if (strcmp(clordids[i], r->order_id) == 0)
            return OMS_ERR_STATE;
    proj_order_t o = *r;
    /* r's strings belong to the caller: the state keeps its own copies. */
    const char **strs[] = {&o.text,       &o.reject_text,   &o.cl_ord_id,
                           &o.pending_cl_ord_id, &o.venue,   &o.venue_order_id,
                           &o.entered_by, &o.released_by,    &o.account_id,
                           &o.instrument_id};
    int rc = 0;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        *strs[i] = proj_text_dup(st, *strs[i], &rc);
    if (rc)
        return rc;
    o.first_clordid = o.last_clordid = o.first_instr = o.last_instr = PROJ_NIL;
    o.pos_ref = o.ins_ref = 0; /* looked up again when first needed */
    o.first_exec = o.last_exec = o.first_alloc = o.last_alloc = PROJ_NIL;
    o.n_instrs = o.n_execs = o.n_allocs = 0;
    o.n_clordids = 1;
    uint32_t oi;
    rc = s_put(st, PROJ_T_ORDER, r->order_id, strlen(r->order_id), &o, &oi);
    if (rc)
        return rc;
    proj_order_t *po = tbl_rec(&st->t[PROJ_T_ORDER], oi);
    po->order_id = tbl_key(&st->t[PROJ_T_ORDER], oi); /* the key never changes */
    for (uint32_t i = 1; i < n_clordids; i++) {
        char key[TBL_KEY_CAP];
        size_t n = proj_key2(key, r->order_id, clordids[i]);
        proj_clordid_t c;
        memset(&c, 0, sizeof c);
        oms_strlcpy(c.cl_ord_id, clordids[i], OMS_ID_CAP);
        c.order = oi;
        c.next = PROJ_NIL;
        uint32_t ci;
        if ((rc = s_put(st, PROJ_T_CLORDID, key, n, &c, &ci)) != 0)
            return rc;
        if (po->first_clordid == PROJ_NIL)
            po->first_clordid = ci;
        else
            ((proj_clordid_t *)tbl_rec(&st->t[PROJ_T_CLORDID], po->last_clordid))->next = ci;
        po->last_clordid = ci;
        po->n_clordids++;
    }
    for (uint32_t i = 0; i < n_instrs; i++) {
        char key[TBL_KEY_CAP];
        size_t n = proj_key2(key, r->order_id, instrs[i].account_id);
        proj_instr_t in;
        memset(&in, 0, sizeof in);
        in.instr = instrs[i];
        in.order = oi;
        in.next = PROJ_NIL;
        uint32_t ii;
        if ((rc = s_put(st, PROJ_T_INSTR, key, n, &in, &ii)) != 0)
            return rc;
        if (po->n_instrs == 0)
            po->first_instr = ii;
        else
            ((proj_instr_t *)tbl_rec(&st->t[PROJ_T_INSTR], po->last_instr))->next = ii;
        po->last_instr = ii;
        po->n_instrs++;
    }
    return 0;
}

int proj_load_exec(proj_state_t *st, const char *order_id, const proj_exec_t *r)
{
    uint32_t oi = tbl_find(&st->t[PROJ_T_ORDER], order_id, strlen(order_id));
    if (oi == PROJ_NIL)
        return OMS_ERR_STATE;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, proj_str(r->venue), proj_str(r->exec_id));
    proj_exec_t x = *r;
    x.order = oi;
    x.next = PROJ_NIL;
    int rc = 0;
    x.venue = proj_text_dup(st, r->venue, &rc); /* r's strings belong to the caller */
    x.exec_id = "";
    if (rc)
        return rc;
    uint32_t xi;
    rc = s_put(st, PROJ_T_EXEC, key, n, &x, &xi);
    if (rc)
        return rc;
    ((proj_exec_t *)tbl_rec(&st->t[PROJ_T_EXEC], xi))->exec_id =
        proj_exec_id_in_key(st, xi, n, proj_str(r->exec_id));
    proj_order_t *po = tbl_rec(&st->t[PROJ_T_ORDER], oi);
    if (po->n_execs == 0)
        po->first_exec = xi;
    else
        ((proj_exec_t *)tbl_rec(&st->t[PROJ_T_EXEC], po->last_exec))->next = xi;
    po->last_exec = xi;
    po->n_execs++;
    return 0;
}

static int s_put_part(proj_state_t *st, const proj_alloc_t *a, uint32_t *first, uint32_t *last,
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
    proj_part_t p;
    memset(&p, 0, sizeof p);
    if (instr) {
        p.instr = *instr;
        p.is_instr = true;
    } else {
        p.part = *part;
    }
    p.next = PROJ_NIL;
    uint32_t pi;
    int rc = s_put(st, PROJ_T_PART, key, n, &p, &pi);
    if (rc)
        return rc;
    if (*count == 0)
        *first = pi;
    else
        ((proj_part_t *)tbl_rec(&st->t[PROJ_T_PART], *last))->next = pi;
    *last = pi;
    (*count)++;
    return 0;
}

int proj_load_alloc(proj_state_t *st, const proj_alloc_t *r, const oms_alloc_part_t *parts,
                    uint32_t n_parts, const oms_alloc_instr_t *used, uint32_t n_used)
{
    uint32_t oi = tbl_find(&st->t[PROJ_T_ORDER], r->order_id, strlen(r->order_id));
    if (oi == PROJ_NIL)
        return OMS_ERR_STATE;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, r->order_id, r->alloc_id);
    proj_alloc_t a = *r;
    a.order = oi;
    a.next = PROJ_NIL;
    a.first_part = a.last_part = a.first_used = a.last_used = PROJ_NIL;
    a.n_parts = a.n_used = 0;
    uint32_t ai;
    int rc = s_put(st, PROJ_T_ALLOC, key, n, &a, &ai);
    if (rc)
        return rc;
    proj_alloc_t *pa = tbl_rec(&st->t[PROJ_T_ALLOC], ai);
    for (uint32_t i = 0; i < n_parts && rc == 0; i++)
        rc = s_put_part(st, pa, &pa->first_part, &pa->last_part, &pa->n_parts, &parts[i], NULL, i);
    for (uint32_t i = 0; i < n_used && rc == 0; i++)
        rc = s_put_part(st, pa, &pa->first_used, &pa->last_used, &pa->n_used, NULL, &used[i], i);
    if (rc)
        return rc;
    proj_order_t *po = tbl_rec(&st->t[PROJ_T_ORDER], oi);
    if (po->n_allocs == 0)
        po->first_alloc = ai;
    else
        ((proj_alloc_t *)tbl_rec(&st->t[PROJ_T_ALLOC], po->last_alloc))->next = ai;
    po->last_alloc = ai;
    po->n_allocs++;
    return 0;
}

void proj_load_trade_date(proj_state_t *st, const char *trade_date, uint64_t seq)
{
    oms_strlcpy(st->trade_date, trade_date, OMS_DATE_CAP);
    st->trade_date_seq = seq;
}
