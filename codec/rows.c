/*
 * rows.c - projection rows: the projections' records (projections.h) <-> the rows the engine
 * writes to the event log's column families with every batch and loads back at restart. Values
 * are the state.proto snapshots; keys and the derived fields are documented in codec.h
 * ("projection rows").
 *
 * Encoding runs for every record a batch touches, so it follows the events' rules: protobuf-c
 * structs on a small stack frame, lists (a ClOrdID chain, block instructions, allocation parts)
 * in scratch taken from the tail of the caller's buffer, the key then the packed value written
 * at its head. Loading runs once per row at restart: unpack with protobuf-c's default
 * allocator, convert with the field checker (anything the model cannot hold is corruption:
 * these are our own rows), check the key against the value, hand the record to its loader.
 */
#include "codec_internal.h"
#include "pbw.h"

#include <string.h>

#define S_US             0x1f                     /* joins the ids of a composite key */
#define S_KEY_CAP        (3 + 2 * OMS_ID_CAP + 1) /* a prefix, two ids and their separator */
#define S_META_PREFIX    "proj."
#define S_TRADE_DATE_KEY "proj.trade_date"
#define S_SEQ_BYTES      8 /* the trade date row's seq, big-endian */
#define S_DATE_MAX       (OMS_DATE_CAP - 1)


__extension__ typedef unsigned __int128 s_u128_t;

/* ---- keys ----------------------------------------------------------------------------------- */

/* Writes pre[plen], then a, then (when not NULL) 0x1f b, then 0x1f c into out[cap]. Returns the
 * length, 0 when it does not fit (no key is empty: a position's has at least its separator). */
static size_t s_key(uint8_t *out, size_t cap, const char *pre, size_t plen, const char *a,
                    const char *b, const char *c)
{
    const char *part[3] = {a, b, c};
    size_t n = 0;
    if (plen > cap)
        return 0;
    memcpy(out, pre, plen);
    n = plen;
    for (int i = 0; i < 3 && part[i]; i++) {
        size_t l = strlen(part[i]);
        if ((i > 0 && n >= cap) || l > cap - n - (i > 0))
            return 0;
        if (i > 0)
            out[n++] = S_US;
        memcpy(out + n, part[i], l);
        n += l;
    }
    return n;
}

/* True when key[klen] is exactly the key s_key builds from the other arguments. */
static bool s_key_is(const uint8_t *key, size_t klen, const char *pre, size_t plen, const char *a,
                     const char *b, const char *c)
{
    uint8_t k[S_KEY_CAP];
    size_t n = s_key(k, sizeof k, pre, plen, a, b, c);
    return n && n == klen && memcmp(k, key, n) == 0;
}

/* The limits key's prefix: "l", the scope as one character, the separator before the account. */
static void s_limits_pre(char pre[3], oms_limit_scope_t scope)
{
    pre[0] = 'l';
    pre[1] = (char)('0' + (int)scope);
    pre[2] = S_US;
}

/* ---- encode: the output buffer --------------------------------------------------------------- */

/* The caller's buffer while a row is built: the key at buf[0, klen), the value packed right
 * after it, scratch for the lists taken downwards from the end (hi). */
typedef struct {
    uint8_t *buf; /* the caller's buffer */
    size_t klen;  /* key bytes written at buf */
    uint8_t *hi;  /* the lowest scratch byte handed out (buf + cap at first) */
} s_out_t;

/* n bytes of scratch aligned to 16 from the tail, above the key; NULL when they do not fit. */
static void *s_take(s_out_t *o, size_t n)
{
    uintptr_t lo = (uintptr_t)(o->buf + o->klen), hi = (uintptr_t)o->hi;
    if (n > hi - lo)
        return NULL;
    uintptr_t p = (hi - n) & ~(uintptr_t)15;
    if (p < lo)
        return NULL;
    o->hi = (uint8_t *)p;
    return o->hi;
}

/* Writes the row's key at the head of the buffer. */
static int s_put_key(s_out_t *o, const char *pre, size_t plen, const char *a, const char *b,
                     const char *c)
{
    o->klen = s_key(o->buf, (size_t)(o->hi - o->buf), pre, plen, a, b, c);
    return o->klen ? 0 : OMS_ERR_LIMIT;
}

/* Packs the value after the key, below the scratch, and fills the row. */
static int s_finish(s_out_t *o, evlog_cf_t cf, const ProtobufCMessage *m, codec_row_t *row)
{
    size_t vlen;
    int rc = cdc_pack(m, o->buf + o->klen, (size_t)(o->hi - (o->buf + o->klen)), &vlen);
    if (rc)
        return rc;
    row->cf = cf;
    row->key = o->buf;
    row->klen = o->klen;
    row->val = o->buf + o->klen;
    row->vlen = vlen;
    return 0;
}

/* ---- encode: field helpers ------------------------------------------------------------------- */

static Oms__V1__Decimal128 *s_pb_e16(Oms__V1__Decimal128 *slot, oms_e16_t v)
{
    *slot = (Oms__V1__Decimal128)OMS__V1__DECIMAL128__INIT;
    s_u128_t u = (s_u128_t)v;
    slot->e16_hi = (int64_t)(uint64_t)(u >> 64);
    slot->e16_lo = (uint64_t)u;
    return slot;
}

static oms_e16_t s_e16(const Oms__V1__Decimal128 *d)
{
    if (!d)
        return 0;
    s_u128_t u = ((s_u128_t)(uint64_t)d->e16_hi << 64) | d->e16_lo;
    return (oms_e16_t)u;
}

/* The protobuf-c structs of n allocation instructions, in scratch. */
typedef struct {
    Oms__V1__AllocInstruction *ai;
    Oms__V1__Decimal *dec;
    Oms__V1__AllocInstruction **ptr;
} s_instrs_pb_t;

static int s_take_instrs(s_out_t *o, uint32_t n, s_instrs_pb_t *s)
{
    memset(s, 0, sizeof *s);
    if (n == 0)
        return 0;
    if (n > OMS_LIMIT_ALLOC_ACCOUNTS)
        return OMS_ERR_LIMIT; /* more than a loader accepts back */
    s->ai = s_take(o, n * sizeof *s->ai);
    s->dec = s->ai ? s_take(o, n * sizeof *s->dec) : NULL;
    s->ptr = s->dec ? s_take(o, n * sizeof *s->ptr) : NULL;
    return s->ptr ? 0 : OMS_ERR_LIMIT;
}

/* ---- encode: one function per table ---------------------------------------------------------- */

static int s_enc_instrument(const proj_instrument_t *r, s_out_t *o, codec_row_t *row)
{
    int rc = s_put_key(o, "i", 1, r->def.instrument_id, NULL, NULL);
    if (rc)
        return rc;
    Oms__V1__Decimal dec[4];
    Oms__V1__Instrument m = OMS__V1__INSTRUMENT__INIT;
    CDC_INSTR_TO_PB(&m, &r->def, dec);
    m.reference_price = cdc_pb_opt(&dec[3], r->ref_px);
    m.reference_price_seq = r->ref_px_seq;
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_REFDATA, &m.base, row);
}

static int s_enc_account(const proj_account_t *r, s_out_t *o, codec_row_t *row)
{
    int rc = s_put_key(o, "a", 1, r->def.account_id, NULL, NULL);
    if (rc)
        return rc;
    Oms__V1__Account m = OMS__V1__ACCOUNT__INIT;
    CDC_ACCOUNT_TO_PB(&m, &r->def);
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_REFDATA, &m.base, row);
}

static int s_enc_principal(const proj_principal_t *r, s_out_t *o, codec_row_t *row)
{
    int rc = s_put_key(o, "p", 1, r->def.principal_id, NULL, NULL);
    if (rc)
        return rc;
    Oms__V1__Role roles[32];
    Oms__V1__Principal m = OMS__V1__PRINCIPAL__INIT;
    CDC_PRINCIPAL_TO_PB(&m, &r->def, roles);
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_REFDATA, &m.base, row);
}

static int s_enc_limits(const proj_limits_t *r, s_out_t *o, codec_row_t *row)
{
    char pre[3];
    s_limits_pre(pre, r->def.scope);
    int rc = s_put_key(o, pre, sizeof pre, r->def.account_id, r->def.instrument_id, NULL);
    if (rc)
        return rc;
    Oms__V1__Decimal dec[5];
    Oms__V1__Limits m = OMS__V1__LIMITS__INIT;
    CDC_LIMITS_TO_PB(&m, &r->def, dec);
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_REFDATA, &m.base, row);
}

static int s_enc_restriction(const proj_restriction_t *r, s_out_t *o, codec_row_t *row)
{
    int rc = s_put_key(o, "r", 1, r->instrument_id, r->account_id, NULL);
    if (rc)
        return rc;
    Oms__V1__Restriction m = OMS__V1__RESTRICTION__INIT;
    m.instrument_id = CDC_S(r->instrument_id);
    m.account_id = CDC_S(r->account_id);
    m.reason = CDC_S(r->reason);
    m.last_seq = r->last_seq;
    m.restricted = r->restricted;
    return s_finish(o, EVLOG_CF_REFDATA, &m.base, row);
}

static int s_enc_order(const proj_state_t *st, const proj_order_t *r, s_out_t *o, codec_row_t *row)
{
    int rc = s_put_key(o, "o", 1, proj_str(r->order_id), NULL, NULL);
    if (rc)
        return rc;

    /* The ClOrdID chain, in use order. */
    char **cl = NULL;
    if (r->n_clordids && !(cl = s_take(o, (size_t)r->n_clordids * sizeof *cl)))
        return OMS_ERR_LIMIT;
    if (r->n_clordids == 0)
        return OMS_ERR_STATE; /* the order id is always the first */
    cl[0] = CDC_S(proj_str(r->order_id));
    uint32_t k = 1;
    for (uint32_t i = r->first_clordid; i != PROJ_NIL; k++) {
        const proj_clordid_t *c = proj_at(st, PROJ_T_CLORDID, i);
        if (!c || k >= r->n_clordids)
            return OMS_ERR_STATE;
        cl[k] = CDC_S(c->cl_ord_id);
        i = c->next;
    }
    if (k != r->n_clordids)
        return OMS_ERR_STATE;

    /* The block's instructions, in entry order. */
    s_instrs_pb_t in;
    if ((rc = s_take_instrs(o, r->n_instrs, &in)) != 0)
        return rc;
    k = 0;
    for (uint32_t i = r->first_instr; i != PROJ_NIL; k++) {
        const proj_instr_t *p = proj_at(st, PROJ_T_INSTR, i);
        if (!p || k >= r->n_instrs)
            return OMS_ERR_STATE;
        cdc_instrs_to_pb(&p->instr, 1, &in.ai[k], &in.dec[k], &in.ptr[k]);
        i = p->next;
    }
    if (k != r->n_instrs)
        return OMS_ERR_STATE;

    Oms__V1__Decimal dec[9];
    Oms__V1__Decimal128 sum;
    Oms__V1__Order m = OMS__V1__ORDER__INIT;
    m.order_id = CDC_S(proj_str(r->order_id));
    m.account_id = CDC_S(proj_str(r->account_id));
    m.n_allocations = r->n_instrs;
    m.allocations = r->n_instrs ? in.ptr : NULL;
    m.instrument_id = CDC_S(proj_str(r->instrument_id));
    m.side = (Oms__V1__Side)r->side;
    m.ord_type = (Oms__V1__OrdType)r->ord_type;
    m.price = cdc_pb_opt(&dec[0], r->price);
    m.quantity = cdc_pb_dec(&dec[1], r->qty);
    m.time_in_force = (Oms__V1__TimeInForce)r->tif;
    m.expire_ts_ns = r->expire_ts_ns;
    m.text = CDC_S(proj_str(r->text));
    m.status = (Oms__V1__OrdStatus)r->status;
    m.cum_qty = cdc_pb_dec(&dec[2], r->cum);
    m.leaves_qty = cdc_pb_dec(&dec[3], r->leaves);
    m.avg_px = cdc_pb_opt(&dec[4], proj_order_avg_px(r));
    m.px_qty_sum = s_pb_e16(&sum, r->px_qty_sum);
    m.prior_status = (Oms__V1__OrdStatus)r->prior_status;
    m.pending_quantity = cdc_pb_opt(&dec[5], r->pending_qty);
    m.pending_price = cdc_pb_opt(&dec[6], r->pending_price);
    m.fill_count = r->fill_count;
    m.overfilled = r->overfilled ? 1 : 0;
    m.cl_ord_id = CDC_S(proj_str(r->cl_ord_id));
    m.n_cl_ord_ids = r->n_clordids;
    m.cl_ord_ids = cl;
    m.pending_cl_ord_id = CDC_S(proj_str(r->pending_cl_ord_id));
    m.venue = CDC_S(proj_str(r->venue));
    m.venue_order_id = CDC_S(proj_str(r->venue_order_id));
    m.entered_by = CDC_S(proj_str(r->entered_by));
    m.released_by = CDC_S(proj_str(r->released_by));
    m.release_policy = (Oms__V1__ReleasePolicy)r->release_policy;
    m.reject_reason = (Oms__V1__RejectReason)r->reject_reason;
    m.reject_rule_id = CDC_S(r->reject_rule_id);
    m.reject_text = CDC_S(proj_str(r->reject_text));
    m.allocated_qty = cdc_pb_dec(&dec[7], r->allocated_qty);
    m.created_seq = r->created_seq;
    m.last_seq = r->last_seq;
    m.created_ts_ns = r->created_ts_ns;
    m.updated_ts_ns = r->updated_ts_ns;
    return s_finish(o, EVLOG_CF_ORDERS, &m.base, row);
}

static int s_enc_exec(const proj_state_t *st, const proj_exec_t *r, s_out_t *o, codec_row_t *row)
{
    const proj_order_t *ord = proj_at(st, PROJ_T_ORDER, r->order);
    if (!ord)
        return OMS_ERR_STATE;
    int rc = s_put_key(o, "x", 1, proj_str(r->venue), proj_str(r->exec_id), NULL);
    if (rc)
        return rc;
    Oms__V1__Decimal dec[2];
    Oms__V1__Execution m = OMS__V1__EXECUTION__INIT;
    m.venue = CDC_S(proj_str(r->venue));
    m.exec_id = CDC_S(proj_str(r->exec_id));
    m.order_id = CDC_S(ord->order_id);
    m.last_qty = cdc_pb_dec(&dec[0], r->qty);
    m.last_px = cdc_pb_dec(&dec[1], r->px);
    m.transact_ts_ns = r->transact_ts_ns;
    m.busted = r->busted ? 1 : 0;
    m.late = r->late ? 1 : 0;
    m.seq = r->seq;
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_ORDERS, &m.base, row);
}

static int s_enc_position(const proj_state_t *st, const proj_position_t *r, s_out_t *o,
                          codec_row_t *row)
{
    int rc = s_put_key(o, "", 0, r->account_id, r->instrument_id, NULL);
    if (rc)
        return rc;
    const proj_instrument_t *ins = proj_instrument(st, r->instrument_id);
    Oms__V1__Decimal dec[5];
    Oms__V1__Decimal128 cost;
    Oms__V1__Position m = OMS__V1__POSITION__INIT;
    m.account_id = CDC_S(r->account_id);
    m.instrument_id = CDC_S(r->instrument_id);
    m.qty = cdc_pb_dec(&dec[0], r->qty);
    m.avg_cost = r->qty ? cdc_pb_dec(&dec[1], proj_position_avg_cost(r)) : NULL;
    m.cost_basis = s_pb_e16(&cost, r->cost_basis);
    m.realized_pnl = cdc_pb_dec(&dec[2], r->realized_pnl);
    m.open_buy_leaves = cdc_pb_dec(&dec[3], r->open_buy_leaves);
    m.open_sell_leaves = cdc_pb_dec(&dec[4], r->open_sell_leaves);
    m.currency = CDC_S(ins ? ins->def.currency : "");
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_POSITIONS, &m.base, row);
}

static int s_enc_alloc(const proj_state_t *st, const proj_alloc_t *r, s_out_t *o, codec_row_t *row)
{
    const proj_order_t *ord = proj_at(st, PROJ_T_ORDER, r->order);
    if (!ord)
        return OMS_ERR_STATE;
    int rc = s_put_key(o, "", 0, r->order_id, r->alloc_id, NULL);
    if (rc)
        return rc;
    if (r->n_parts > OMS_LIMIT_ALLOC_ACCOUNTS)
        return OMS_ERR_LIMIT;

    /* The parts, by account id (the order they were booked in). */
    Oms__V1__AllocationPart *part = NULL, **part_ptr = NULL;
    Oms__V1__Decimal *part_dec = NULL;
    if (r->n_parts && (!(part = s_take(o, r->n_parts * sizeof *part)) ||
                       !(part_dec = s_take(o, 2 * r->n_parts * sizeof *part_dec)) ||
                       !(part_ptr = s_take(o, r->n_parts * sizeof *part_ptr))))
        return OMS_ERR_LIMIT;
    uint32_t k = 0;
    for (uint32_t i = r->first_part; i != PROJ_NIL; k++) {
        const proj_part_t *p = proj_at(st, PROJ_T_PART, i);
        if (!p || k >= r->n_parts)
            return OMS_ERR_STATE;
        part[k] = (Oms__V1__AllocationPart)OMS__V1__ALLOCATION_PART__INIT;
        part[k].account_id = CDC_S(p->part.account_id);
        part[k].quantity = cdc_pb_dec(&part_dec[2 * k], p->part.qty);
        part[k].price = cdc_pb_dec(&part_dec[2 * k + 1], p->part.px);
        part_ptr[k] = &part[k];
        i = p->next;
    }
    if (k != r->n_parts)
        return OMS_ERR_STATE;

    /* The instructions used, in their order. */
    s_instrs_pb_t in;
    if ((rc = s_take_instrs(o, r->n_used, &in)) != 0)
        return rc;
    k = 0;
    for (uint32_t i = r->first_used; i != PROJ_NIL; k++) {
        const proj_part_t *p = proj_at(st, PROJ_T_PART, i);
        if (!p || k >= r->n_used)
            return OMS_ERR_STATE;
        cdc_instrs_to_pb(&p->instr, 1, &in.ai[k], &in.dec[k], &in.ptr[k]);
        i = p->next;
    }
    if (k != r->n_used)
        return OMS_ERR_STATE;

    Oms__V1__Decimal dec[2];
    Oms__V1__Allocation m = OMS__V1__ALLOCATION__INIT;
    m.order_id = CDC_S(r->order_id);
    m.alloc_id = CDC_S(r->alloc_id);
    m.status = (Oms__V1__AllocStatus)r->status;
    m.instrument_id = CDC_S(ord->instrument_id);
    m.side = (Oms__V1__Side)ord->side;
    m.quantity = cdc_pb_dec(&dec[0], r->qty);
    m.avg_px = cdc_pb_dec(&dec[1], r->avg_px);
    m.n_parts = r->n_parts;
    m.parts = r->n_parts ? part_ptr : NULL;
    m.n_instructions = r->n_used;
    m.instructions = r->n_used ? in.ptr : NULL;
    m.reject_reason = (Oms__V1__RejectReason)r->reject_reason;
    m.text = CDC_S(r->text);
    m.created_seq = r->created_seq;
    m.last_seq = r->last_seq;
    return s_finish(o, EVLOG_CF_ALLOCATIONS, &m.base, row);
}

/* ---- encode: hand-written, for the rows every order touches -----------------------------------
 * Orders, executions and positions are written straight from the record with pbw.h, in
 * ascending field number, exactly as the protobuf-c path (cdc_row_encode_pb) writes them
 * (tests/test_codec_fast.c compares the two). They return false whenever the protobuf-c path
 * must decide instead: a buffer too small, a list over the limit, inconsistent links (it then
 * reports the error). */

/* A Decimal128 as s_pb_e16 splits it: the high half signed, the low half unsigned. */
PBW_INLINE void s_w_e16(pbw_t *w, uint32_t field, oms_e16_t v)
{
    s_u128_t u = (s_u128_t)v;
    pbw_dec128(w, field, (int64_t)(uint64_t)(u >> 64), (uint64_t)u);
}

/* An optional Decimal: present only when set. */
PBW_INLINE void s_w_opt(pbw_t *w, uint32_t field, oms_opt_dec_t v)
{
    if (v.set)
        pbw_dec(w, field, v.v);
}

/* The value after the key written at buf[0, klen); fills the row when it all fit. */
static bool s_w_finish(pbw_t *w, uint8_t *buf, size_t klen, evlog_cf_t cf, codec_row_t *row)
{
    if (w->err)
        return false;
    row->cf = cf;
    row->key = buf;
    row->klen = klen;
    row->val = buf + klen;
    row->vlen = (size_t)(w->p - (buf + klen));
    return true;
}

/* pbw_str without a strlen call for an empty string (most of an order's optional texts):
 * the same bytes. Cannot fail (the writer's err is sticky). */
PBW_INLINE void s_w_str(pbw_t *w, uint32_t field, const char *s)
{
    if (s[0] != '\0')
        pbw_bytes(w, field, s, strlen(s));
}

/* A string field whose length the caller already has (it measured it for the key): the same
 * bytes as pbw_str. */
PBW_INLINE void s_w_strn(pbw_t *w, uint32_t field, const char *s, size_t n)
{
    if (n)
        pbw_bytes(w, field, s, n);
}

/* s_key for one or two parts whose lengths are known (b NULL: one part): the same key, or 0
 * when it does not fit in out[cap]. */
static size_t s_key_n(uint8_t *out, size_t cap, const char *pre, size_t plen, const char *a,
                      size_t la, const char *b, size_t lb)
{
    size_t n = plen + la + (b ? 1 + lb : 0);
    if (n > cap)
        return 0;
    memcpy(out, pre, plen);
    pbw_copy(out + plen, (const uint8_t *)a, la);
    if (b) {
        out[plen + la] = S_US;
        pbw_copy(out + plen + la + 1, (const uint8_t *)b, lb);
    }
    return n;
}

/* The Order row as s_enc_order writes it (instructions and ClOrdID chain walked in place). */
static bool s_fast_order(const proj_state_t *st, const proj_order_t *r, uint8_t *buf, size_t cap,
                         codec_row_t *row)
{
    if (r->n_instrs > OMS_LIMIT_ALLOC_ACCOUNTS)
        return false;
    const char *oid = proj_str(r->order_id);
    size_t oid_len = strlen(oid); /* the key, field 1 and the first ClOrdID */
    size_t klen = s_key_n(buf, cap, "o", 1, oid, oid_len, NULL, 0);
    if (!klen)
        return false;
    pbw_t w;
    pbw_init(&w, buf + klen, cap - klen);
    s_w_strn(&w, 1, oid, oid_len);
    s_w_str(&w, 2, proj_str(r->account_id));
    uint32_t k = 0;
    for (uint32_t i = r->first_instr; i != PROJ_NIL; k++) {
        const proj_instr_t *p = proj_at(st, PROJ_T_INSTR, i);
        if (!p || k >= r->n_instrs)
            return false;
        uint8_t *s = pbw_begin(&w, 3);
        s_w_str(&w, 1, p->instr.account_id);
        pbw_dec(&w, p->instr.by_weight ? 3 : 2, p->instr.share);
        pbw_end(&w, s);
        i = p->next;
    }
    if (k != r->n_instrs)
        return false;
    s_w_str(&w, 4, proj_str(r->instrument_id));
    pbw_i32(&w, 5, (int32_t)r->side);
    pbw_i32(&w, 6, (int32_t)r->ord_type);
    s_w_opt(&w, 7, r->price);
    pbw_dec(&w, 8, r->qty);
    pbw_i32(&w, 9, (int32_t)r->tif);
    pbw_i64(&w, 10, r->expire_ts_ns);
    s_w_str(&w, 11, proj_str(r->text));
    pbw_i32(&w, 20, (int32_t)r->status);
    pbw_dec(&w, 21, r->cum);
    pbw_dec(&w, 22, r->leaves);
    s_w_opt(&w, 23, proj_order_avg_px(r));
    s_w_e16(&w, 24, r->px_qty_sum);
    pbw_i32(&w, 25, (int32_t)r->prior_status);
    s_w_opt(&w, 26, r->pending_qty);
    s_w_opt(&w, 27, r->pending_price);
    pbw_u64(&w, 28, r->fill_count);
    pbw_bool(&w, 29, r->overfilled);
    s_w_str(&w, 40, proj_str(r->cl_ord_id));
    if (r->n_clordids == 0)
        return false;
    pbw_bytes(&w, 41, oid, oid_len); /* the implicit first ClOrdID */
    k = 1;
    for (uint32_t i = r->first_clordid; i != PROJ_NIL; k++) {
        const proj_clordid_t *c = proj_at(st, PROJ_T_CLORDID, i);
        if (!c || k >= r->n_clordids)
            return false;
        pbw_bytes(&w, 41, c->cl_ord_id, strlen(c->cl_ord_id));
        i = c->next;
    }
    if (k != r->n_clordids)
        return false;
    s_w_str(&w, 42, proj_str(r->pending_cl_ord_id));
    s_w_str(&w, 43, proj_str(r->venue));
    s_w_str(&w, 44, proj_str(r->venue_order_id));
    s_w_str(&w, 60, proj_str(r->entered_by));
    s_w_str(&w, 61, proj_str(r->released_by));
    pbw_i32(&w, 62, (int32_t)r->release_policy);
    pbw_i32(&w, 63, (int32_t)r->reject_reason);
    s_w_str(&w, 64, r->reject_rule_id);
    s_w_str(&w, 65, proj_str(r->reject_text));
    pbw_dec(&w, 66, r->allocated_qty);
    pbw_u64(&w, 80, r->created_seq);
    pbw_u64(&w, 81, r->last_seq);
    pbw_i64(&w, 82, r->created_ts_ns);
    pbw_i64(&w, 83, r->updated_ts_ns);
    return s_w_finish(&w, buf, klen, EVLOG_CF_ORDERS, row);
}

/* The Execution row as s_enc_exec writes it. */
static bool s_fast_exec(const proj_state_t *st, const proj_exec_t *r, uint8_t *buf, size_t cap,
                        codec_row_t *row)
{
    const proj_order_t *ord = proj_at(st, PROJ_T_ORDER, r->order);
    if (!ord)
        return false;
    const char *venue = proj_str(r->venue), *exec_id = proj_str(r->exec_id);
    size_t venue_len = strlen(venue), exec_id_len = strlen(exec_id); /* key and fields */
    size_t klen = s_key_n(buf, cap, "x", 1, venue, venue_len, exec_id, exec_id_len);
    if (!klen)
        return false;
    pbw_t w;
    pbw_init(&w, buf + klen, cap - klen);
    s_w_strn(&w, 1, venue, venue_len);
    s_w_strn(&w, 2, exec_id, exec_id_len);
    s_w_str(&w, 3, proj_str(ord->order_id));
    pbw_dec(&w, 4, r->qty);
    pbw_dec(&w, 5, r->px);
    pbw_i64(&w, 6, r->transact_ts_ns);
    pbw_bool(&w, 7, r->busted);
    pbw_bool(&w, 8, r->late);
    pbw_u64(&w, 9, r->seq);
    pbw_u64(&w, 10, r->last_seq);
    return s_w_finish(&w, buf, klen, EVLOG_CF_ORDERS, row);
}

/* The Position row as s_enc_position writes it. */
static bool s_fast_position(const proj_state_t *st, const proj_position_t *r, uint8_t *buf,
                            size_t cap, codec_row_t *row)
{
    size_t acc_len = strlen(r->account_id), ins_len = strlen(r->instrument_id);
    size_t klen = s_key_n(buf, cap, "", 0, r->account_id, acc_len, r->instrument_id, ins_len);
    if (!klen)
        return false;
    const proj_instrument_t *ins = proj_instrument(st, r->instrument_id);
    pbw_t w;
    pbw_init(&w, buf + klen, cap - klen);
    s_w_strn(&w, 1, r->account_id, acc_len);
    s_w_strn(&w, 2, r->instrument_id, ins_len);
    pbw_dec(&w, 3, r->qty);
    if (r->qty)
        pbw_dec(&w, 4, proj_position_avg_cost(r));
    s_w_e16(&w, 5, r->cost_basis);
    pbw_dec(&w, 6, r->realized_pnl);
    pbw_dec(&w, 7, r->open_buy_leaves);
    pbw_dec(&w, 8, r->open_sell_leaves);
    s_w_str(&w, 9, ins ? ins->def.currency : "");
    pbw_u64(&w, 10, r->last_seq);
    return s_w_finish(&w, buf, klen, EVLOG_CF_POSITIONS, row);
}

int codec_row_encode(const proj_state_t *st, proj_table_t t, uint32_t idx, codec_row_t *row,
                     uint8_t *buf, size_t cap)
{
    if (st && row && buf && (t == PROJ_T_ORDER || t == PROJ_T_EXEC || t == PROJ_T_POSITION)) {
        const void *rec = proj_at(st, t, idx);
        if (rec && (t == PROJ_T_ORDER  ? s_fast_order(st, rec, buf, cap, row)
                    : t == PROJ_T_EXEC ? s_fast_exec(st, rec, buf, cap, row)
                                       : s_fast_position(st, rec, buf, cap, row)))
            return 0;
    }
    return cdc_row_encode_pb(st, t, idx, row, buf, cap);
}

int cdc_row_encode_pb(const proj_state_t *st, proj_table_t t, uint32_t idx, codec_row_t *row,
                      uint8_t *buf, size_t cap)
{
    if (!st || !row || (unsigned)t >= PROJ_T_COUNT_)
        return OMS_ERR_INVALID;
    if (t == PROJ_T_CLORDID || t == PROJ_T_INSTR || t == PROJ_T_PART)
        return OMS_ERR_NOT_FOUND;
    const void *rec = proj_at(st, t, idx);
    if (!rec)
        return OMS_ERR_INVALID;
    if (!buf)
        return OMS_ERR_LIMIT;
    s_out_t o = {buf, 0, buf + cap};
    switch (t) {
    case PROJ_T_INSTRUMENT:
        return s_enc_instrument(rec, &o, row);
    case PROJ_T_ACCOUNT:
        return s_enc_account(rec, &o, row);
    case PROJ_T_PRINCIPAL:
        return s_enc_principal(rec, &o, row);
    case PROJ_T_LIMITS:
        return s_enc_limits(rec, &o, row);
    case PROJ_T_RESTRICTION:
        return s_enc_restriction(rec, &o, row);
    case PROJ_T_ORDER:
        return s_enc_order(st, rec, &o, row);
    case PROJ_T_EXEC:
        return s_enc_exec(st, rec, &o, row);
    case PROJ_T_POSITION:
        return s_enc_position(st, rec, &o, row);
    case PROJ_T_ALLOC:
        return s_enc_alloc(st, rec, &o, row);
    default:
        return OMS_ERR_INVALID;
    }
}

int codec_row_encode_trade_date(const proj_state_t *st, codec_row_t *row, uint8_t *buf, size_t cap)
{
    if (!st || !row)
        return OMS_ERR_INVALID;
    uint64_t seq;
    const char *date = proj_trade_date(st, &seq);
    size_t klen = sizeof S_TRADE_DATE_KEY - 1, dlen = strnlen(date, S_DATE_MAX);
    if (!buf || cap < klen + dlen + S_SEQ_BYTES)
        return OMS_ERR_LIMIT;
    memcpy(buf, S_TRADE_DATE_KEY, klen);
    memcpy(buf + klen, date, dlen);
    for (int i = 0; i < S_SEQ_BYTES; i++)
        buf[klen + dlen + (size_t)i] = (uint8_t)(seq >> (8 * (S_SEQ_BYTES - 1 - i)));
    row->cf = EVLOG_CF_META;
    row->key = buf;
    row->klen = klen;
    row->val = buf + klen;
    row->vlen = dlen + S_SEQ_BYTES;
    return 0;
}

/* ---- load ------------------------------------------------------------------------------------ */

/* Unpacks val as a desc message: NULL when the bytes are not one or hold a NUL inside a string
 * (protobuf-c would cut the string there; we never write one). Free with
 * protobuf_c_message_free_unpacked. */
static ProtobufCMessage *s_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *val,
                                  size_t vlen)
{
    if (!val && vlen)
        return NULL;
    static const uint8_t empty[1];
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, vlen, val ? val : empty);
    cdc_nul_t nul;
    if (m && cdc_find_nul(desc, val ? val : empty, vlen, NULL, &nul) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

/* A load's outcome: a conversion problem or a key that does not match is corruption. */
static int s_outcome(int rc, const cdc_chk_t *c, bool key_ok)
{
    if (rc)
        return rc;
    return c->rr != OMS_RR_NONE || !key_ok ? OMS_ERR_CORRUPT : 0;
}

static int s_load_instrument(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                             size_t vlen)
{
    Oms__V1__Instrument *m =
        (Oms__V1__Instrument *)s_unpack(&oms__v1__instrument__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    cdc_chk_t c = {.cmd = false};
    proj_instrument_t r;
    memset(&r, 0, sizeof r);
    CDC_INSTR_FROM_PB(&c, &r.def, m, "Instrument");
    r.ref_px = cdc_opt(&c, m->reference_price, "Instrument", "reference_price");
    r.ref_px_seq = m->reference_price_seq;
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    int rc = s_outcome(0, &c, s_key_is(key, klen, "i", 1, r.def.instrument_id, NULL, NULL));
    return rc ? rc : proj_load_instrument(st, &r);
}

static int s_load_account(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                          size_t vlen)
{
    Oms__V1__Account *m = (Oms__V1__Account *)s_unpack(&oms__v1__account__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    cdc_chk_t c = {.cmd = false};
    proj_account_t r;
    memset(&r, 0, sizeof r);
    CDC_ACCOUNT_FROM_PB(&c, &r.def, m, "Account");
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    int rc = s_outcome(0, &c, s_key_is(key, klen, "a", 1, r.def.account_id, NULL, NULL));
    return rc ? rc : proj_load_account(st, &r);
}

static int s_load_principal(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen)
{
    Oms__V1__Principal *m =
        (Oms__V1__Principal *)s_unpack(&oms__v1__principal__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    cdc_chk_t c = {.cmd = false};
    proj_principal_t r;
    memset(&r, 0, sizeof r);
    CDC_PRINCIPAL_FROM_PB(&c, &r.def, m, "Principal");
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    int rc = s_outcome(0, &c, s_key_is(key, klen, "p", 1, r.def.principal_id, NULL, NULL));
    return rc ? rc : proj_load_principal(st, &r);
}

static int s_load_limits(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    Oms__V1__Limits *m = (Oms__V1__Limits *)s_unpack(&oms__v1__limits__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    cdc_chk_t c = {.cmd = false};
    proj_limits_t r;
    memset(&r, 0, sizeof r);
    CDC_LIMITS_FROM_PB(&c, &r.def, m, "Limits");
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    char pre[3];
    s_limits_pre(pre, r.def.scope);
    int rc = s_outcome(
        0, &c, s_key_is(key, klen, pre, sizeof pre, r.def.account_id, r.def.instrument_id, NULL));
    return rc ? rc : proj_load_limits(st, &r);
}

static int s_load_restriction(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                              size_t vlen)
{
    Oms__V1__Restriction *m =
        (Oms__V1__Restriction *)s_unpack(&oms__v1__restriction__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    cdc_chk_t c = {.cmd = false};
    proj_restriction_t r;
    memset(&r, 0, sizeof r);
    cdc_str(&c, r.instrument_id, OMS_ID_CAP, m->instrument_id, "Restriction", "instrument_id");
    cdc_str(&c, r.account_id, OMS_ID_CAP, m->account_id, "Restriction", "account_id");
    r.restricted = m->restricted;
    cdc_str(&c, r.reason, OMS_TEXT_CAP, m->reason, "Restriction", "reason");
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    int rc = s_outcome(0, &c, s_key_is(key, klen, "r", 1, r.instrument_id, r.account_id, NULL));
    return rc ? rc : proj_load_restriction(st, &r);
}

/* A string field of an order into arena memory: "" for an empty one (see projections.h), else
 * a copy cut to cap - 1 bytes (a longer one is an INPUT_LIMIT problem, as cdc_str). 0,
 * OMS_ERR_INVALID (a non-empty string and no arena) or OMS_ERR_LIMIT (the arena is full). */
static int s_str_from_pb(cdc_chk_t *c, const char *src, size_t cap, oms_arena_t *arena,
                         const char **dst, const char *fld)
{
    *dst = "";
    size_t n = src ? strnlen(src, cap) : 0;
    if (n == 0)
        return 0;
    if (n >= cap) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "Order.%s: longer than %zu bytes", fld, cap - 1);
        n = cap - 1;
    }
    if (!arena)
        return OMS_ERR_INVALID;
    char *p = oms_arena_alloc(arena, n + 1);
    if (!p)
        return OMS_ERR_LIMIT;
    memcpy(p, src, n);
    p[n] = '\0';
    *dst = p;
    return 0;
}

/* The order's ClOrdID chain into arena memory. */
static int s_clordids_from_pb(cdc_chk_t *c, char *const *src, size_t n, oms_arena_t *arena,
                              char (**out)[OMS_ID_CAP])
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (n > UINT32_MAX / OMS_ID_CAP) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "Order.cl_ord_ids: %zu entries", n);
        return 0;
    }
    if (!arena)
        return OMS_ERR_INVALID;
    char(*a)[OMS_ID_CAP] = oms_arena_alloc(arena, n * OMS_ID_CAP);
    if (!a)
        return OMS_ERR_LIMIT;
    for (size_t i = 0; i < n; i++)
        cdc_str(c, a[i], OMS_ID_CAP, src[i], "Order", "cl_ord_ids");
    *out = a;
    return 0;
}

static int s_order_from_pb(cdc_chk_t *c, const Oms__V1__Order *m, oms_arena_t *arena,
                           proj_order_t *r, char (**cl)[OMS_ID_CAP],
                           const oms_alloc_instr_t **instrs, uint32_t *n_instrs)
{
    static const char pfx[] = "Order";
    memset(r, 0, sizeof *r);
    r->side = (oms_side_t)m->side;
    r->ord_type = (oms_ord_type_t)m->ord_type;
    r->price = cdc_opt(c, m->price, pfx, "price");
    r->qty = cdc_dec(c, m->quantity, pfx, "quantity");
    r->tif = (oms_tif_t)m->time_in_force;
    r->expire_ts_ns = m->expire_ts_ns;
    int trc = s_str_from_pb(c, m->text, OMS_TEXT_CAP, arena, &r->text, "text");
    r->status = (oms_ord_status_t)m->status;
    r->cum = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
    r->leaves = cdc_dec(c, m->leaves_qty, pfx, "leaves_qty");
    r->px_qty_sum = s_e16(m->px_qty_sum);
    r->prior_status = (oms_ord_status_t)m->prior_status;
    r->pending_qty = cdc_opt(c, m->pending_quantity, pfx, "pending_quantity");
    r->pending_price = cdc_opt(c, m->pending_price, pfx, "pending_price");
    r->fill_count = m->fill_count;
    r->overfilled = m->overfilled != 0;
    r->is_block = m->n_allocations > 0;
    const struct {
        const char **dst;
        const char *src, *name;
    } ids[] = {{&r->order_id, m->order_id, "order_id"},
               {&r->account_id, m->account_id, "account_id"},
               {&r->instrument_id, m->instrument_id, "instrument_id"},
               {&r->cl_ord_id, m->cl_ord_id, "cl_ord_id"},
               {&r->pending_cl_ord_id, m->pending_cl_ord_id, "pending_cl_ord_id"},
               {&r->venue, m->venue, "venue"},
               {&r->venue_order_id, m->venue_order_id, "venue_order_id"},
               {&r->entered_by, m->entered_by, "entered_by"},
               {&r->released_by, m->released_by, "released_by"}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (trc == 0)
            trc = s_str_from_pb(c, ids[i].src, OMS_ID_CAP, arena, ids[i].dst, ids[i].name);
    r->release_policy = (oms_release_policy_t)m->release_policy;
    r->reject_reason = (oms_reject_reason_t)m->reject_reason;
    cdc_str(c, r->reject_rule_id, OMS_RULE_CAP, m->reject_rule_id, pfx, "reject_rule_id");
    if (trc == 0)
        trc = s_str_from_pb(c, m->reject_text, OMS_TEXT_CAP, arena, &r->reject_text, "reject_text");
    r->allocated_qty = cdc_dec(c, m->allocated_qty, pfx, "allocated_qty");
    r->created_seq = m->created_seq;
    r->last_seq = m->last_seq;
    r->created_ts_ns = m->created_ts_ns;
    r->updated_ts_ns = m->updated_ts_ns;
    int rc = trc ? trc : s_clordids_from_pb(c, m->cl_ord_ids, m->n_cl_ord_ids, arena, cl);
    if (rc == 0)
        rc = cdc_instrs_from_pb(c, m->allocations, m->n_allocations, arena, instrs, n_instrs, pfx,
                                "allocations");
    return rc;
}

static int s_load_order(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                        size_t vlen, oms_arena_t *arena)
{
    Oms__V1__Order *m = (Oms__V1__Order *)s_unpack(&oms__v1__order__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    cdc_chk_t c = {.cmd = false};
    proj_order_t r;
    char(*cl)[OMS_ID_CAP] = NULL;
    const oms_alloc_instr_t *instrs = NULL;
    uint32_t n_instrs = 0, n_cl = (uint32_t)m->n_cl_ord_ids;
    int rc = s_order_from_pb(&c, m, arena, &r, &cl, &instrs, &n_instrs);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    rc = s_outcome(rc, &c, s_key_is(key, klen, "o", 1, r.order_id, NULL, NULL));
    return rc ? rc : proj_load_order(st, &r, (const char(*)[OMS_ID_CAP])cl, n_cl, instrs, n_instrs);
}

static int s_load_exec(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen)
{
    Oms__V1__Execution *m =
        (Oms__V1__Execution *)s_unpack(&oms__v1__execution__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    static const char pfx[] = "Execution";
    cdc_chk_t c = {.cmd = false};
    proj_exec_t r;
    char order_id[OMS_ID_CAP], venue[OMS_ID_CAP], exec_id[OMS_ID_CAP];
    memset(&r, 0, sizeof r);
    cdc_str(&c, venue, OMS_ID_CAP, m->venue, pfx, "venue");
    cdc_str(&c, exec_id, OMS_ID_CAP, m->exec_id, pfx, "exec_id");
    r.venue = venue; /* proj_load_exec keeps its own copies */
    r.exec_id = exec_id;
    cdc_str(&c, order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
    r.order = PROJ_NIL;
    r.next = PROJ_NIL;
    r.qty = cdc_dec(&c, m->last_qty, pfx, "last_qty");
    r.px = cdc_dec(&c, m->last_px, pfx, "last_px");
    r.transact_ts_ns = m->transact_ts_ns;
    r.busted = m->busted != 0;
    r.late = m->late != 0;
    r.seq = m->seq;
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    int rc = s_outcome(0, &c, s_key_is(key, klen, "x", 1, r.venue, r.exec_id, NULL));
    return rc ? rc : proj_load_exec(st, order_id, &r);
}

static int s_load_position(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen)
{
    Oms__V1__Position *m = (Oms__V1__Position *)s_unpack(&oms__v1__position__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    static const char pfx[] = "Position";
    cdc_chk_t c = {.cmd = false};
    proj_position_t r;
    memset(&r, 0, sizeof r);
    cdc_str(&c, r.account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
    cdc_str(&c, r.instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
    r.qty = cdc_dec(&c, m->qty, pfx, "qty");
    r.cost_basis = s_e16(m->cost_basis);
    r.realized_pnl = cdc_dec(&c, m->realized_pnl, pfx, "realized_pnl");
    r.open_buy_leaves = cdc_dec(&c, m->open_buy_leaves, pfx, "open_buy_leaves");
    r.open_sell_leaves = cdc_dec(&c, m->open_sell_leaves, pfx, "open_sell_leaves");
    r.last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    int rc = s_outcome(0, &c, s_key_is(key, klen, "", 0, r.account_id, r.instrument_id, NULL));
    return rc ? rc : proj_load_position(st, &r);
}

static int s_parts_from_pb(cdc_chk_t *c, Oms__V1__AllocationPart *const *src, size_t n,
                           oms_arena_t *arena, const oms_alloc_part_t **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (n > OMS_LIMIT_ALLOC_ACCOUNTS) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "Allocation.parts: %zu entries, limit %d", n,
                 (int)OMS_LIMIT_ALLOC_ACCOUNTS);
        return 0;
    }
    if (!arena)
        return OMS_ERR_INVALID;
    oms_alloc_part_t *p = oms_arena_alloc(arena, n * sizeof *p);
    if (!p)
        return OMS_ERR_LIMIT;
    for (size_t i = 0; i < n; i++) {
        cdc_str(c, p[i].account_id, OMS_ID_CAP, src[i]->account_id, "Allocation.parts",
                "account_id");
        p[i].qty = cdc_dec(c, src[i]->quantity, "Allocation.parts", "quantity");
        p[i].px = cdc_dec(c, src[i]->price, "Allocation.parts", "price");
    }
    *out = p;
    return 0;
}

static int s_load_alloc(proj_state_t *st, const uint8_t *key, size_t klen, const uint8_t *val,
                        size_t vlen, oms_arena_t *arena)
{
    Oms__V1__Allocation *m =
        (Oms__V1__Allocation *)s_unpack(&oms__v1__allocation__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    static const char pfx[] = "Allocation";
    cdc_chk_t c = {.cmd = false};
    proj_alloc_t r;
    memset(&r, 0, sizeof r);
    cdc_str(&c, r.order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
    cdc_str(&c, r.alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
    r.order = r.next = PROJ_NIL;
    r.status = (oms_alloc_status_t)m->status;
    r.qty = cdc_dec(&c, m->quantity, pfx, "quantity");
    r.avg_px = cdc_dec(&c, m->avg_px, pfx, "avg_px");
    r.reject_reason = (oms_reject_reason_t)m->reject_reason;
    cdc_str(&c, r.text, OMS_TEXT_CAP, m->text, pfx, "text");
    r.created_seq = m->created_seq;
    r.last_seq = m->last_seq;
    const oms_alloc_part_t *parts = NULL;
    const oms_alloc_instr_t *used = NULL;
    uint32_t n_used = 0, n_parts = (uint32_t)m->n_parts; /* loaded only when <= the limit */
    int rc = s_parts_from_pb(&c, m->parts, m->n_parts, arena, &parts);
    if (rc == 0)
        rc = cdc_instrs_from_pb(&c, m->instructions, m->n_instructions, arena, &used, &n_used, pfx,
                                "instructions");
    protobuf_c_message_free_unpacked(&m->base, NULL);
    rc = s_outcome(rc, &c, s_key_is(key, klen, "", 0, r.order_id, r.alloc_id, NULL));
    return rc ? rc : proj_load_alloc(st, &r, parts, n_parts, used, n_used);
}

static int s_load_trade_date(proj_state_t *st, const uint8_t *val, size_t vlen)
{
    if (!val || vlen < S_SEQ_BYTES || vlen - S_SEQ_BYTES > S_DATE_MAX)
        return OMS_ERR_CORRUPT;
    size_t dlen = vlen - S_SEQ_BYTES;
    if (memchr(val, 0, dlen))
        return OMS_ERR_CORRUPT;
    char date[OMS_DATE_CAP];
    memcpy(date, val, dlen);
    date[dlen] = '\0';
    uint64_t seq = 0;
    for (size_t i = 0; i < S_SEQ_BYTES; i++)
        seq = (seq << 8) | val[dlen + i];
    proj_load_trade_date(st, date, seq);
    return 0;
}

int codec_row_load(proj_state_t *st, int cf, const uint8_t *key, size_t klen, const uint8_t *val,
                   size_t vlen, oms_arena_t *arena)
{
    if (!st || (!key && klen))
        return OMS_ERR_INVALID;
    switch (cf) {
    case EVLOG_CF_EVENTS:
    case EVLOG_CF_IDEMPOTENCY:
        return 0; /* not projection rows */
    case EVLOG_CF_META: {
        size_t pl = sizeof S_META_PREFIX - 1;
        if (klen < pl || memcmp(key, S_META_PREFIX, pl) != 0)
            return 0; /* the log's own ("evlog.") or another owner's */
        if (klen != sizeof S_TRADE_DATE_KEY - 1 || memcmp(key, S_TRADE_DATE_KEY, klen) != 0)
            return OMS_ERR_CORRUPT;
        return s_load_trade_date(st, val, vlen);
    }
    case EVLOG_CF_REFDATA:
        if (klen == 0)
            return OMS_ERR_CORRUPT;
        switch (key[0]) {
        case 'i':
            return s_load_instrument(st, key, klen, val, vlen);
        case 'a':
            return s_load_account(st, key, klen, val, vlen);
        case 'p':
            return s_load_principal(st, key, klen, val, vlen);
        case 'l':
            return s_load_limits(st, key, klen, val, vlen);
        case 'r':
            return s_load_restriction(st, key, klen, val, vlen);
        default:
            return OMS_ERR_CORRUPT;
        }
    case EVLOG_CF_ORDERS:
        if (klen == 0)
            return OMS_ERR_CORRUPT;
        if (key[0] == 'e' || key[0] == 'w')
            return vlen == 0 ? 0 : OMS_ERR_CORRUPT; /* index rows (codec.h): not records */
        if (key[0] == 'o')
            return s_load_order(st, key, klen, val, vlen, arena);
        if (key[0] == 'x')
            return s_load_exec(st, key, klen, val, vlen);
        return OMS_ERR_CORRUPT;
    case EVLOG_CF_POSITIONS:
        return s_load_position(st, key, klen, val, vlen);
    case EVLOG_CF_ALLOCATIONS:
        return s_load_alloc(st, key, klen, val, vlen, arena);
    default:
        return OMS_ERR_INVALID;
    }
}

/* ---- index rows and keys (codec.h) --------------------------------------------------------- */

size_t codec_key_order(uint8_t *out, size_t cap, const char *order_id)
{
    return s_key(out, cap, "o", 1, order_id, NULL, NULL);
}

size_t codec_key_exec(uint8_t *out, size_t cap, const char *venue, const char *exec_id)
{
    return s_key(out, cap, "x", 1, venue, exec_id, NULL);
}

size_t codec_key_working(uint8_t *out, size_t cap, const char *order_id)
{
    return s_key(out, cap, "w", 1, order_id, NULL, NULL);
}

size_t codec_key_exec_index(uint8_t *out, size_t cap, const char *order_id, const char *venue,
                            const char *exec_id)
{
    return s_key(out, cap, "e", 1, order_id, venue, exec_id);
}

int codec_key_exec_index_parse(const uint8_t *key, size_t klen, size_t order_len,
                               char venue[OMS_ID_CAP], char exec_id[OMS_ID_CAP])
{
    size_t at = 1 + order_len + 1; /* "e", the order id, its separator */
    if (klen < at || key[0] != 'e' || key[at - 1] != S_US)
        return OMS_ERR_CORRUPT;
    const uint8_t *sep = memchr(key + at, S_US, klen - at);
    if (!sep)
        return OMS_ERR_CORRUPT;
    size_t lv = (size_t)(sep - (key + at)), le = klen - at - lv - 1;
    if (lv == 0 || le == 0 || lv >= OMS_ID_CAP || le >= OMS_ID_CAP ||
        memchr(key + at, 0, klen - at) || memchr(sep + 1, S_US, le))
        return OMS_ERR_CORRUPT;
    memcpy(venue, key + at, lv);
    venue[lv] = '\0';
    memcpy(exec_id, sep + 1, le);
    exec_id[le] = '\0';
    return 0;
}

/* Copies a decoded string field into out[OMS_ID_CAP]: 0 or OMS_ERR_CORRUPT (too long). */
static int s_id_out(const char *s, char out[OMS_ID_CAP])
{
    size_t n = s ? strlen(s) : 0;
    if (n >= OMS_ID_CAP)
        return OMS_ERR_CORRUPT;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
    return 0;
}

int codec_row_exec_order_id(const uint8_t *val, size_t vlen, char out[OMS_ID_CAP])
{
    Oms__V1__Execution *m =
        (Oms__V1__Execution *)s_unpack(&oms__v1__execution__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    int rc = s_id_out(m->order_id, out);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

int codec_row_order_instrument(const uint8_t *val, size_t vlen, char out[OMS_ID_CAP])
{
    Oms__V1__Order *m = (Oms__V1__Order *)s_unpack(&oms__v1__order__descriptor, val, vlen);
    if (!m)
        return OMS_ERR_CORRUPT;
    int rc = s_id_out(m->instrument_id, out);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

/* ---- for query.c: row values -> records, without loading them --------------------------------
 * Thin non-static doors onto the helpers above (declared in codec_internal.h), so that the
 * query replies' rows decode exactly as a load would. */

ProtobufCMessage *cdc_row_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *val,
                                 size_t vlen)
{
    return s_unpack(desc, val, vlen);
}

oms_e16_t cdc_e16(const Oms__V1__Decimal128 *d)
{
    return s_e16(d);
}

int cdc_order_from_pb(cdc_chk_t *c, const Oms__V1__Order *m, oms_arena_t *arena, proj_order_t *r,
                      char (**cl)[OMS_ID_CAP], const oms_alloc_instr_t **instrs, uint32_t *n_instrs)
{
    return s_order_from_pb(c, m, arena, r, cl, instrs, n_instrs);
}

int cdc_parts_from_pb(cdc_chk_t *c, Oms__V1__AllocationPart *const *src, size_t n,
                      oms_arena_t *arena, const oms_alloc_part_t **out)
{
    return s_parts_from_pb(c, src, n, arena, out);
}
