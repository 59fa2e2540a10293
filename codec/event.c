/*
 * event.c - events: oms_event_t <-> oms.v1.Event bytes. Encoding runs for every event the OMS
 * appends, so it builds the protobuf-c structs on the stack and packs straight into the
 * caller's buffer (the Event wrapper around the body is written by hand: one size pass less);
 * the large allocation lists live in separate functions so the common events keep a small
 * stack frame. A CommandRejected's body is framed by hand too, so that the refused command's
 * received bytes go into the log verbatim. Decoding (rebuild, replay) is strict about what the
 * model cannot hold, so encode(decode(bytes)) reproduces the bytes.
 */
#include "codec_internal.h"
#include "pbw.h"

#include <stddef.h>
#include <string.h>

/* The order-event header: the venue header (fields 1-6) and the status after (field 7). */
#define S_OHDR_TO_PB(m, o)                                                                         \
    do {                                                                                           \
        CDC_HDR_TO_PB(m, &(o)->h);                                                                 \
        (m)->status = (Oms__V1__OrdStatus)(o)->status;                                             \
    } while (0)

#define S_OHDR_FROM_PB(c, o, m, pfx)                                                               \
    do {                                                                                           \
        CDC_HDR_FROM_PB(c, &(o)->h, m, pfx);                                                       \
        (o)->status = (oms_ord_status_t)(m)->status;                                               \
    } while (0)

#define S_TAG_COMMAND        0x3a /* CommandRejected.command: (7 << 3) | 2 */
#define S_TAG_ORDER_REJECTED 0x40 /* CommandRejected.order_rejected: (8 << 3) | 0 */

/* ---- encode: framing ------------------------------------------------------------------------ */

/* Bytes of the key and length that frame an n-byte length-delimited field. */
static size_t s_frame_size(uint32_t field, size_t n)
{
    return cdc_varint_size(((uint64_t)field << 3) | 2) + cdc_varint_size(n);
}

/* Writes that frame at p; returns its size. */
static size_t s_put_frame(uint8_t *p, uint32_t field, size_t n)
{
    size_t k = cdc_put_varint(p, ((uint64_t)field << 3) | 2);
    return k + cdc_put_varint(p + k, n);
}

/* An Event holds nothing but its body oneof, so its bytes are the body's frame and bytes:
 * exactly what protobuf-c would write for the Event, without a second pass over the body to
 * size it (the cost that dominates packing a small event). */
static int s_pack_body(uint32_t field, const ProtobufCMessage *body, uint8_t *buf, size_t cap,
                       size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(body);
    size_t total = s_frame_size(field, n) + n;
    *out_len = total;
    if (total > cap || !buf)
        return OMS_ERR_LIMIT;
    uint8_t *p = buf + s_put_frame(buf, field, n);
    return protobuf_c_message_pack(body, p) == n ? 0 : OMS_ERR_INVALID;
}

/* ---- encode: the common events ------------------------------------------------------------- */

/* Every event without a list: one frame of protobuf-c structs, a few hundred bytes. */
static int s_encode_plain(const oms_event_t *ev, uint8_t *buf, size_t cap, size_t *out_len)
{
    const ProtobufCMessage *body = NULL;
    Oms__V1__Decimal dec[8];
    Oms__V1__Role roles[32];
    union {
        Oms__V1__InstrumentDefined instrument_defined;
        Oms__V1__InstrumentUpdated instrument_updated;
        Oms__V1__AccountDefined account_defined;
        Oms__V1__PrincipalDefined principal_defined;
        Oms__V1__LimitsSet limits_set;
        Oms__V1__RestrictionSet restriction_set;
        Oms__V1__ReferencePriceSet reference_price_set;
        Oms__V1__OrderReleased order_released;
        Oms__V1__CancelRequested cancel_requested;
        Oms__V1__ReplaceRequested replace_requested;
        Oms__V1__OrderAcknowledged order_acknowledged;
        Oms__V1__OrderRejectedByVenue order_rejected_by_venue;
        Oms__V1__OrderCanceled order_canceled;
        Oms__V1__CancelRejected cancel_rejected;
        Oms__V1__OrderReplaced order_replaced;
        Oms__V1__ReplaceRejected replace_rejected;
        Oms__V1__OrderExpired order_expired;
        Oms__V1__OrderDoneForDay order_done_for_day;
        Oms__V1__OrderFilled order_filled;
        Oms__V1__TradeBusted trade_busted;
        Oms__V1__TradeCorrected trade_corrected;
        Oms__V1__AllocationRejected allocation_rejected;
        Oms__V1__ExceptionRaised exception_raised;
        Oms__V1__EndOfDayProcessed end_of_day_processed;
    } b;
    const oms_ev_order_t *o = &ev->u.order;

    switch (ev->type) {
    case OMS_EV_INSTRUMENT_DEFINED: {
        Oms__V1__InstrumentDefined *m = &b.instrument_defined;
        *m = (Oms__V1__InstrumentDefined)OMS__V1__INSTRUMENT_DEFINED__INIT;
        CDC_INSTR_TO_PB(m, &ev->u.instrument, dec);
        body = &m->base;
        break;
    }
    case OMS_EV_INSTRUMENT_UPDATED: {
        Oms__V1__InstrumentUpdated *m = &b.instrument_updated;
        *m = (Oms__V1__InstrumentUpdated)OMS__V1__INSTRUMENT_UPDATED__INIT;
        CDC_INSTR_TO_PB(m, &ev->u.instrument, dec);
        body = &m->base;
        break;
    }
    case OMS_EV_ACCOUNT_DEFINED: {
        Oms__V1__AccountDefined *m = &b.account_defined;
        *m = (Oms__V1__AccountDefined)OMS__V1__ACCOUNT_DEFINED__INIT;
        CDC_ACCOUNT_TO_PB(m, &ev->u.account);
        body = &m->base;
        break;
    }
    case OMS_EV_PRINCIPAL_DEFINED: {
        Oms__V1__PrincipalDefined *m = &b.principal_defined;
        *m = (Oms__V1__PrincipalDefined)OMS__V1__PRINCIPAL_DEFINED__INIT;
        CDC_PRINCIPAL_TO_PB(m, &ev->u.principal, roles);
        body = &m->base;
        break;
    }
    case OMS_EV_LIMITS_SET: {
        Oms__V1__LimitsSet *m = &b.limits_set;
        *m = (Oms__V1__LimitsSet)OMS__V1__LIMITS_SET__INIT;
        CDC_LIMITS_TO_PB(m, &ev->u.limits, dec);
        body = &m->base;
        break;
    }
    case OMS_EV_RESTRICTION_SET: {
        Oms__V1__RestrictionSet *m = &b.restriction_set;
        *m = (Oms__V1__RestrictionSet)OMS__V1__RESTRICTION_SET__INIT;
        CDC_RESTRICTION_TO_PB(m, &ev->u.restriction);
        body = &m->base;
        break;
    }
    case OMS_EV_REFERENCE_PRICE_SET: {
        Oms__V1__ReferencePriceSet *m = &b.reference_price_set;
        *m = (Oms__V1__ReferencePriceSet)OMS__V1__REFERENCE_PRICE_SET__INIT;
        CDC_REF_PRICE_TO_PB(m, &ev->u.ref_price, dec);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_RELEASED: {
        const oms_ev_released_t *r = &ev->u.released;
        Oms__V1__OrderReleased *m = &b.order_released;
        *m = (Oms__V1__OrderReleased)OMS__V1__ORDER_RELEASED__INIT;
        m->order_id = CDC_S(r->order_id);
        m->released_by = CDC_S(r->released_by);
        m->status = (Oms__V1__OrdStatus)r->status;
        m->text = CDC_S(r->text);
        body = &m->base;
        break;
    }
    case OMS_EV_CANCEL_REQUESTED: {
        const oms_ev_request_t *r = &ev->u.request;
        Oms__V1__CancelRequested *m = &b.cancel_requested;
        *m = (Oms__V1__CancelRequested)OMS__V1__CANCEL_REQUESTED__INIT;
        m->order_id = CDC_S(r->order_id);
        m->cl_ord_id = CDC_S(r->cl_ord_id);
        m->orig_cl_ord_id = CDC_S(r->orig_cl_ord_id);
        m->status = (Oms__V1__OrdStatus)r->status;
        m->prior_status = (Oms__V1__OrdStatus)r->prior_status;
        m->text = CDC_S(r->text);
        body = &m->base;
        break;
    }
    case OMS_EV_REPLACE_REQUESTED: {
        const oms_ev_request_t *r = &ev->u.request;
        Oms__V1__ReplaceRequested *m = &b.replace_requested;
        *m = (Oms__V1__ReplaceRequested)OMS__V1__REPLACE_REQUESTED__INIT;
        m->order_id = CDC_S(r->order_id);
        m->new_cl_ord_id = CDC_S(r->cl_ord_id);
        m->orig_cl_ord_id = CDC_S(r->orig_cl_ord_id);
        m->quantity = cdc_pb_opt(&dec[0], r->qty);
        m->price = cdc_pb_opt(&dec[1], r->price);
        m->status = (Oms__V1__OrdStatus)r->status;
        m->prior_status = (Oms__V1__OrdStatus)r->prior_status;
        m->text = CDC_S(r->text);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_ACKNOWLEDGED: {
        Oms__V1__OrderAcknowledged *m = &b.order_acknowledged;
        *m = (Oms__V1__OrderAcknowledged)OMS__V1__ORDER_ACKNOWLEDGED__INIT;
        S_OHDR_TO_PB(m, o);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_REJECTED_BY_VENUE: {
        Oms__V1__OrderRejectedByVenue *m = &b.order_rejected_by_venue;
        *m = (Oms__V1__OrderRejectedByVenue)OMS__V1__ORDER_REJECTED_BY_VENUE__INIT;
        S_OHDR_TO_PB(m, o);
        m->text = CDC_S(o->text);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_CANCELED: {
        Oms__V1__OrderCanceled *m = &b.order_canceled;
        *m = (Oms__V1__OrderCanceled)OMS__V1__ORDER_CANCELED__INIT;
        S_OHDR_TO_PB(m, o);
        m->text = CDC_S(o->text);
        m->cum_qty = cdc_pb_dec(&dec[0], o->cum_qty);
        m->canceled_qty = cdc_pb_dec(&dec[1], o->gone_qty);
        body = &m->base;
        break;
    }
    case OMS_EV_CANCEL_REJECTED: {
        Oms__V1__CancelRejected *m = &b.cancel_rejected;
        *m = (Oms__V1__CancelRejected)OMS__V1__CANCEL_REJECTED__INIT;
        S_OHDR_TO_PB(m, o);
        m->text = CDC_S(o->text);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_REPLACED: {
        Oms__V1__OrderReplaced *m = &b.order_replaced;
        *m = (Oms__V1__OrderReplaced)OMS__V1__ORDER_REPLACED__INIT;
        S_OHDR_TO_PB(m, o);
        m->orig_cl_ord_id = CDC_S(o->orig_cl_ord_id);
        m->quantity = cdc_pb_dec(&dec[0], o->qty);
        m->price = cdc_pb_opt(&dec[1], o->price);
        m->cum_qty = cdc_pb_dec(&dec[2], o->cum_qty);
        m->leaves_qty = cdc_pb_dec(&dec[3], o->leaves_qty);
        m->text = CDC_S(o->text);
        body = &m->base;
        break;
    }
    case OMS_EV_REPLACE_REJECTED: {
        Oms__V1__ReplaceRejected *m = &b.replace_rejected;
        *m = (Oms__V1__ReplaceRejected)OMS__V1__REPLACE_REJECTED__INIT;
        S_OHDR_TO_PB(m, o);
        m->text = CDC_S(o->text);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_EXPIRED: {
        Oms__V1__OrderExpired *m = &b.order_expired;
        *m = (Oms__V1__OrderExpired)OMS__V1__ORDER_EXPIRED__INIT;
        S_OHDR_TO_PB(m, o);
        m->text = CDC_S(o->text);
        m->cum_qty = cdc_pb_dec(&dec[0], o->cum_qty);
        m->expired_qty = cdc_pb_dec(&dec[1], o->gone_qty);
        m->trade_date = CDC_S(o->trade_date);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_DONE_FOR_DAY: {
        Oms__V1__OrderDoneForDay *m = &b.order_done_for_day;
        *m = (Oms__V1__OrderDoneForDay)OMS__V1__ORDER_DONE_FOR_DAY__INIT;
        S_OHDR_TO_PB(m, o);
        m->text = CDC_S(o->text);
        m->cum_qty = cdc_pb_dec(&dec[0], o->cum_qty);
        m->leaves_qty = cdc_pb_dec(&dec[1], o->leaves_qty);
        body = &m->base;
        break;
    }
    case OMS_EV_ORDER_FILLED: {
        Oms__V1__OrderFilled *m = &b.order_filled;
        *m = (Oms__V1__OrderFilled)OMS__V1__ORDER_FILLED__INIT;
        S_OHDR_TO_PB(m, o);
        m->last_qty = cdc_pb_dec(&dec[0], o->last_qty);
        m->last_px = cdc_pb_dec(&dec[1], o->last_px);
        m->cum_qty = cdc_pb_dec(&dec[2], o->cum_qty);
        m->leaves_qty = cdc_pb_dec(&dec[3], o->leaves_qty);
        m->avg_px = cdc_pb_opt(&dec[4], o->avg_px);
        m->overfill = o->overfill ? 1 : 0;
        m->late = o->late ? 1 : 0;
        m->account_id = CDC_S(o->account_id);
        m->instrument_id = CDC_S(o->instrument_id);
        m->side = (Oms__V1__Side)o->side;
        body = &m->base;
        break;
    }
    case OMS_EV_TRADE_BUSTED: {
        Oms__V1__TradeBusted *m = &b.trade_busted;
        *m = (Oms__V1__TradeBusted)OMS__V1__TRADE_BUSTED__INIT;
        S_OHDR_TO_PB(m, o);
        m->ref_exec_id = CDC_S(o->ref_exec_id);
        m->busted_qty = cdc_pb_dec(&dec[0], o->last_qty);
        m->busted_px = cdc_pb_dec(&dec[1], o->last_px);
        m->cum_qty = cdc_pb_dec(&dec[2], o->cum_qty);
        m->leaves_qty = cdc_pb_dec(&dec[3], o->leaves_qty);
        m->avg_px = cdc_pb_opt(&dec[4], o->avg_px);
        m->text = CDC_S(o->text);
        m->account_id = CDC_S(o->account_id);
        m->instrument_id = CDC_S(o->instrument_id);
        m->side = (Oms__V1__Side)o->side;
        body = &m->base;
        break;
    }
    case OMS_EV_TRADE_CORRECTED: {
        Oms__V1__TradeCorrected *m = &b.trade_corrected;
        *m = (Oms__V1__TradeCorrected)OMS__V1__TRADE_CORRECTED__INIT;
        S_OHDR_TO_PB(m, o);
        m->ref_exec_id = CDC_S(o->ref_exec_id);
        m->old_qty = cdc_pb_dec(&dec[0], o->last_qty);
        m->old_px = cdc_pb_dec(&dec[1], o->last_px);
        m->new_qty = cdc_pb_dec(&dec[2], o->new_qty);
        m->new_px = cdc_pb_dec(&dec[3], o->new_px);
        m->cum_qty = cdc_pb_dec(&dec[4], o->cum_qty);
        m->leaves_qty = cdc_pb_dec(&dec[5], o->leaves_qty);
        m->avg_px = cdc_pb_opt(&dec[6], o->avg_px);
        m->text = CDC_S(o->text);
        m->account_id = CDC_S(o->account_id);
        m->instrument_id = CDC_S(o->instrument_id);
        m->side = (Oms__V1__Side)o->side;
        body = &m->base;
        break;
    }
    case OMS_EV_ALLOCATION_REJECTED: {
        const oms_ev_alloc_t *a = &ev->u.alloc;
        Oms__V1__AllocationRejected *m = &b.allocation_rejected;
        *m = (Oms__V1__AllocationRejected)OMS__V1__ALLOCATION_REJECTED__INIT;
        m->order_id = CDC_S(a->order_id);
        m->alloc_id = CDC_S(a->alloc_id);
        m->reason = (Oms__V1__RejectReason)a->reason;
        m->rule_id = CDC_S(a->rule_id);
        m->text = CDC_S(a->text);
        m->quantity = cdc_pb_opt(&dec[0], a->asked_qty);
        m->status = (Oms__V1__AllocStatus)a->status;
        body = &m->base;
        break;
    }
    case OMS_EV_EXCEPTION_RAISED: {
        const oms_ev_exception_t *x = &ev->u.exception;
        Oms__V1__ExceptionRaised *m = &b.exception_raised;
        *m = (Oms__V1__ExceptionRaised)OMS__V1__EXCEPTION_RAISED__INIT;
        m->kind = (Oms__V1__ExceptionKind)x->kind;
        m->order_id = CDC_S(x->order_id);
        m->venue = CDC_S(x->venue);
        m->exec_id = CDC_S(x->exec_id);
        m->text = CDC_S(x->text);
        body = &m->base;
        break;
    }
    case OMS_EV_END_OF_DAY_PROCESSED: {
        Oms__V1__EndOfDayProcessed *m = &b.end_of_day_processed;
        *m = (Oms__V1__EndOfDayProcessed)OMS__V1__END_OF_DAY_PROCESSED__INIT;
        m->trade_date = CDC_S(ev->u.eod.trade_date);
        m->orders_expired = ev->u.eod.orders_expired;
        body = &m->base;
        break;
    }
    default:
        return OMS_ERR_INVALID;
    }
    /* Model type values are the oneof's field numbers. */
    return s_pack_body((uint32_t)ev->type, body, buf, cap, out_len);
}

/* ---- encode: events with lists --------------------------------------------------------------- */

/* OrderAccepted: the order's terms (fields 1-11 as NewOrder) with its allocation list. */
static __attribute__((noinline)) int s_encode_accepted(const oms_ev_accepted_t *a, uint8_t *buf,
                                                       size_t cap, size_t *out_len)
{
    const oms_new_order_t *o = &a->order;
    if (o->n_allocs > OMS_LIMIT_ALLOC_ACCOUNTS)
        return OMS_ERR_LIMIT;
    if (o->n_allocs && !o->allocs)
        return OMS_ERR_INVALID;
    Oms__V1__AllocInstruction ai[OMS_LIMIT_ALLOC_ACCOUNTS];
    Oms__V1__Decimal ai_dec[OMS_LIMIT_ALLOC_ACCOUNTS];
    Oms__V1__AllocInstruction *ai_ptr[OMS_LIMIT_ALLOC_ACCOUNTS];
    Oms__V1__Decimal dec[2];
    Oms__V1__OrderAccepted m = OMS__V1__ORDER_ACCEPTED__INIT;
    m.order_id = CDC_S(o->order_id);
    m.account_id = CDC_S(o->account_id);
    cdc_instrs_to_pb(o->allocs, o->n_allocs, ai, ai_dec, ai_ptr);
    m.n_allocations = o->n_allocs;
    m.allocations = o->n_allocs ? ai_ptr : NULL;
    m.instrument_id = CDC_S(o->instrument_id);
    m.side = (Oms__V1__Side)o->side;
    m.ord_type = (Oms__V1__OrdType)o->ord_type;
    m.price = cdc_pb_opt(&dec[0], o->price);
    m.quantity = cdc_pb_dec(&dec[1], o->qty);
    m.time_in_force = (Oms__V1__TimeInForce)o->tif;
    m.expire_ts_ns = o->expire_ts_ns;
    m.text = CDC_S(o->text);
    m.status = (Oms__V1__OrdStatus)a->status;
    m.entered_by = CDC_S(a->entered_by);
    m.release_policy = (Oms__V1__ReleasePolicy)a->release_policy;
    return s_pack_body(OMS_EV_ORDER_ACCEPTED, &m.base, buf, cap, out_len);
}

/* AllocationBooked and AllocationReversed: parts (and, booked, the instructions used). */
static __attribute__((noinline)) int s_encode_alloc(const oms_event_t *ev, uint8_t *buf, size_t cap,
                                                    size_t *out_len)
{
    const oms_ev_alloc_t *a = &ev->u.alloc;
    bool booked = ev->type == OMS_EV_ALLOCATION_BOOKED;
    uint32_t n_instrs = booked ? a->n_instrs : 0;
    if (a->n_parts > OMS_LIMIT_ALLOC_ACCOUNTS || n_instrs > OMS_LIMIT_ALLOC_ACCOUNTS)
        return OMS_ERR_LIMIT;
    if ((a->n_parts && !a->parts) || (n_instrs && !a->instrs))
        return OMS_ERR_INVALID;
    Oms__V1__AllocationPart part[OMS_LIMIT_ALLOC_ACCOUNTS];
    Oms__V1__Decimal part_dec[2 * OMS_LIMIT_ALLOC_ACCOUNTS];
    Oms__V1__AllocationPart *part_ptr[OMS_LIMIT_ALLOC_ACCOUNTS];
    for (uint32_t i = 0; i < a->n_parts; i++) {
        part[i] = (Oms__V1__AllocationPart)OMS__V1__ALLOCATION_PART__INIT;
        part[i].account_id = CDC_S(a->parts[i].account_id);
        part[i].quantity = cdc_pb_dec(&part_dec[2 * i], a->parts[i].qty);
        part[i].price = cdc_pb_dec(&part_dec[2 * i + 1], a->parts[i].px);
        part_ptr[i] = &part[i];
    }
    Oms__V1__Decimal dec[2];
    if (booked) {
        Oms__V1__AllocInstruction ai[OMS_LIMIT_ALLOC_ACCOUNTS];
        Oms__V1__Decimal ai_dec[OMS_LIMIT_ALLOC_ACCOUNTS];
        Oms__V1__AllocInstruction *ai_ptr[OMS_LIMIT_ALLOC_ACCOUNTS];
        cdc_instrs_to_pb(a->instrs, n_instrs, ai, ai_dec, ai_ptr);
        Oms__V1__AllocationBooked m = OMS__V1__ALLOCATION_BOOKED__INIT;
        m.order_id = CDC_S(a->order_id);
        m.alloc_id = CDC_S(a->alloc_id);
        m.instrument_id = CDC_S(a->instrument_id);
        m.side = (Oms__V1__Side)a->side;
        m.quantity = cdc_pb_dec(&dec[0], a->qty);
        m.avg_px = cdc_pb_dec(&dec[1], a->avg_px);
        m.n_parts = a->n_parts;
        m.parts = a->n_parts ? part_ptr : NULL;
        m.n_instructions = n_instrs;
        m.instructions = n_instrs ? ai_ptr : NULL;
        m.status = (Oms__V1__AllocStatus)a->status;
        m.text = CDC_S(a->text);
        return s_pack_body(OMS_EV_ALLOCATION_BOOKED, &m.base, buf, cap, out_len);
    }
    Oms__V1__AllocationReversed m = OMS__V1__ALLOCATION_REVERSED__INIT;
    m.order_id = CDC_S(a->order_id);
    m.alloc_id = CDC_S(a->alloc_id);
    m.instrument_id = CDC_S(a->instrument_id);
    m.side = (Oms__V1__Side)a->side;
    m.quantity = cdc_pb_dec(&dec[0], a->qty);
    m.n_parts = a->n_parts;
    m.parts = a->n_parts ? part_ptr : NULL;
    m.status = (Oms__V1__AllocStatus)a->status;
    m.reason = CDC_S(a->text);
    return s_pack_body(OMS_EV_ALLOCATION_REVERSED, &m.base, buf, cap, out_len);
}

/* ---- encode: CommandRejected ----------------------------------------------------------------- */

/* The refused command goes into field 7, whose length comes before its bytes: the model
 * command (when it carries no received bytes) is built once to size it and once to pack it,
 * each time in a frame of its own (rejections are rare; the big scratch stays off the common
 * path). */
static __attribute__((noinline)) int s_model_command_size(const oms_cmd_t *cmd, size_t *size)
{
    cdc_cmd_pb_t s;
    int rc = cdc_cmd_to_pb(cmd, &s);
    if (rc)
        return rc;
    *size = protobuf_c_message_get_packed_size(&s.cmd.base);
    return 0;
}

static __attribute__((noinline)) int s_model_command_pack(const oms_cmd_t *cmd, uint8_t *p,
                                                          size_t size)
{
    cdc_cmd_pb_t s;
    int rc = cdc_cmd_to_pb(cmd, &s);
    if (rc)
        return rc;
    return protobuf_c_message_pack(&s.cmd.base, p) == size ? 0 : OMS_ERR_INVALID;
}

/* Layout: [field 400 tag][len] { CommandRejected fields 1-6 packed by protobuf-c,
 * [0x3a][len][command bytes] if there is a command, [0x40][0x01] if order_rejected } - the
 * fields in ascending number, exactly as protobuf-c would order them. */
static int s_encode_rejected(const oms_ev_rejected_t *r, uint8_t *buf, size_t cap, size_t *out_len)
{
    Oms__V1__Decimal dec[2];
    Oms__V1__CommandRejected m = OMS__V1__COMMAND_REJECTED__INIT;
    m.rule_id = CDC_S(r->rule_id);
    m.reason = (Oms__V1__RejectReason)r->reason;
    m.text = CDC_S(r->text);
    m.limit_value = cdc_pb_opt(&dec[0], r->limit_value);
    m.actual_value = cdc_pb_opt(&dec[1], r->actual_value);
    m.command_type = CDC_S(oms_cmd_type_name(r->command_type));
    size_t head = protobuf_c_message_get_packed_size(&m.base);

    /* When the command carries the bytes it arrived in, those are embedded verbatim: the audit
     * trail shows exactly what was received, even a field this version does not know. */
    size_t inner = 0, field7 = 0;
    bool raw = r->command && r->command->raw;
    if (r->command) {
        if (raw) {
            inner = r->command->raw_len;
        } else {
            int rc = s_model_command_size(r->command, &inner);
            if (rc)
                return rc;
        }
        field7 = 1 + cdc_varint_size(inner) + inner;
    }
    size_t body = head + field7 + (r->order_rejected ? 2 : 0);
    size_t total = s_frame_size(OMS_EV_COMMAND_REJECTED, body) + body;
    *out_len = total;
    if (total > cap || !buf)
        return OMS_ERR_LIMIT;

    uint8_t *p = buf + s_put_frame(buf, OMS_EV_COMMAND_REJECTED, body);
    p += protobuf_c_message_pack(&m.base, p);
    if (r->command) {
        *p++ = S_TAG_COMMAND;
        p += cdc_put_varint(p, inner);
        if (raw) {
            memcpy(p, r->command->raw, inner);
        } else {
            int rc = s_model_command_pack(r->command, p, inner);
            if (rc)
                return rc;
        }
        p += inner;
    }
    if (r->order_rejected) {
        *p++ = S_TAG_ORDER_REJECTED;
        *p++ = 1;
    }
    *out_len = (size_t)(p - buf);
    return *out_len == total ? 0 : OMS_ERR_INVALID;
}

/* ---- encode: hand-written, for the order flow ---------------------------------------------------
 * The events every order produces are written straight from the model struct with pbw.h, field
 * by field in ascending number, without protobuf-c's descriptor walk and size pass. Each writes
 * exactly what the protobuf-c path (cdc_encode_event_pb) writes: tests/test_codec_fast.c
 * compares the two on many randomised events. Anything else (other types, a buffer too small)
 * goes the protobuf-c way, which also decides the error. */

/* The venue header (fields 1-6) and the status after (7). */
static void s_w_ohdr(pbw_t *w, const oms_ev_order_t *o)
{
    pbw_str(w, 1, o->h.order_id);
    pbw_str(w, 2, o->h.venue);
    pbw_str(w, 3, o->h.exec_id);
    pbw_str(w, 4, o->h.venue_order_id);
    pbw_i64(w, 5, o->h.transact_ts_ns);
    pbw_str(w, 6, o->h.cl_ord_id);
    pbw_i32(w, 7, (int32_t)o->status);
}

/* An optional Decimal: present only when set. */
static void s_w_opt(pbw_t *w, uint32_t field, oms_opt_dec_t v)
{
    if (v.set)
        pbw_dec(w, field, v.v);
}

/* AllocInstruction list entries as field `field`. */
static void s_w_instrs(pbw_t *w, uint32_t field, const oms_alloc_instr_t *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *s = pbw_begin(w, field);
        pbw_str(w, 1, a[i].account_id);
        pbw_dec(w, a[i].by_weight ? 3 : 2, a[i].share);
        pbw_end(w, s);
    }
}

/* The body of ev (the Event's only field); false when this type is not written here. */
static bool s_w_body(pbw_t *w, const oms_event_t *ev)
{
    const oms_ev_order_t *o = &ev->u.order;
    switch (ev->type) {
    case OMS_EV_ORDER_ACCEPTED: {
        const oms_ev_accepted_t *a = &ev->u.accepted;
        const oms_new_order_t *n = &a->order;
        if (n->n_allocs > OMS_LIMIT_ALLOC_ACCOUNTS || (n->n_allocs && !n->allocs))
            return false; /* the protobuf-c path reports it */
        pbw_str(w, 1, n->order_id);
        pbw_str(w, 2, n->account_id);
        s_w_instrs(w, 3, n->allocs, n->n_allocs);
        pbw_str(w, 4, n->instrument_id);
        pbw_i32(w, 5, (int32_t)n->side);
        pbw_i32(w, 6, (int32_t)n->ord_type);
        s_w_opt(w, 7, n->price);
        pbw_dec(w, 8, n->qty);
        pbw_i32(w, 9, (int32_t)n->tif);
        pbw_i64(w, 10, n->expire_ts_ns);
        pbw_str(w, 11, n->text);
        pbw_i32(w, 20, (int32_t)a->status);
        pbw_str(w, 21, a->entered_by);
        pbw_i32(w, 22, (int32_t)a->release_policy);
        return true;
    }
    case OMS_EV_ORDER_RELEASED: {
        const oms_ev_released_t *r = &ev->u.released;
        pbw_str(w, 1, r->order_id);
        pbw_str(w, 2, r->released_by);
        pbw_i32(w, 3, (int32_t)r->status);
        pbw_str(w, 4, r->text);
        return true;
    }
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED: {
        const oms_ev_request_t *r = &ev->u.request;
        bool replace = ev->type == OMS_EV_REPLACE_REQUESTED;
        pbw_str(w, 1, r->order_id);
        pbw_str(w, 2, r->cl_ord_id);
        pbw_str(w, 3, r->orig_cl_ord_id);
        uint32_t f = 4;
        if (replace) {
            s_w_opt(w, 4, r->qty);
            s_w_opt(w, 5, r->price);
            f = 6;
        }
        pbw_i32(w, f, (int32_t)r->status);
        pbw_i32(w, f + 1, (int32_t)r->prior_status);
        pbw_str(w, f + 2, r->text);
        return true;
    }
    case OMS_EV_ORDER_ACKNOWLEDGED:
        s_w_ohdr(w, o);
        return true;
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_REPLACE_REJECTED:
        s_w_ohdr(w, o);
        pbw_str(w, 10, o->text);
        return true;
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_ORDER_EXPIRED:
        s_w_ohdr(w, o);
        pbw_str(w, 10, o->text);
        pbw_dec(w, 11, o->cum_qty);
        pbw_dec(w, 12, o->gone_qty);
        if (ev->type == OMS_EV_ORDER_EXPIRED)
            pbw_str(w, 13, o->trade_date);
        return true;
    case OMS_EV_ORDER_DONE_FOR_DAY:
        s_w_ohdr(w, o);
        pbw_str(w, 10, o->text);
        pbw_dec(w, 11, o->cum_qty);
        pbw_dec(w, 12, o->leaves_qty);
        return true;
    case OMS_EV_ORDER_REPLACED:
        s_w_ohdr(w, o);
        pbw_str(w, 10, o->orig_cl_ord_id);
        pbw_dec(w, 11, o->qty);
        s_w_opt(w, 12, o->price);
        pbw_dec(w, 13, o->cum_qty);
        pbw_dec(w, 14, o->leaves_qty);
        pbw_str(w, 15, o->text);
        return true;
    case OMS_EV_ORDER_FILLED:
        s_w_ohdr(w, o);
        pbw_dec(w, 10, o->last_qty);
        pbw_dec(w, 11, o->last_px);
        pbw_dec(w, 12, o->cum_qty);
        pbw_dec(w, 13, o->leaves_qty);
        s_w_opt(w, 14, o->avg_px);
        pbw_bool(w, 15, o->overfill);
        pbw_bool(w, 16, o->late);
        pbw_str(w, 20, o->account_id);
        pbw_str(w, 21, o->instrument_id);
        pbw_i32(w, 22, (int32_t)o->side);
        return true;
    default:
        return false;
    }
}

/* The hand-written path: true with the bytes in buf, false to take the protobuf-c path. */
static bool s_encode_fast(const oms_event_t *ev, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (!buf)
        return false;
    pbw_t w;
    pbw_init(&w, buf, cap);
    uint8_t *s = pbw_begin(&w, (uint32_t)ev->type);
    if (!s_w_body(&w, ev))
        return false;
    pbw_end(&w, s);
    if (w.err)
        return false;
    *out_len = (size_t)(w.p - buf);
    return true;
}

int codec_encode_event(const oms_event_t *ev, uint8_t *buf, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (s_encode_fast(ev, buf, cap, out_len))
        return 0;
    return cdc_encode_event_pb(ev, buf, cap, out_len);
}

int cdc_encode_event_pb(const oms_event_t *ev, uint8_t *buf, size_t cap, size_t *out_len)
{
    *out_len = 0;
    switch (ev->type) {
    case OMS_EV_ORDER_ACCEPTED:
        return s_encode_accepted(&ev->u.accepted, buf, cap, out_len);
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REVERSED:
        return s_encode_alloc(ev, buf, cap, out_len);
    case OMS_EV_COMMAND_REJECTED:
        return s_encode_rejected(&ev->u.rejected, buf, cap, out_len);
    default:
        return s_encode_plain(ev, buf, cap, out_len);
    }
}

/* ---- decode ------------------------------------------------------------------------------------
 */

/* The command type whose oneof name is `name`; OMS_CMD_NONE for "". false if unknown. */
static bool s_cmd_type_of(const char *name, oms_cmd_type_t *out)
{
    static const oms_cmd_type_t types[] = {
        OMS_CMD_DEFINE_INSTRUMENT,   OMS_CMD_UPDATE_INSTRUMENT,  OMS_CMD_DEFINE_ACCOUNT,
        OMS_CMD_DEFINE_PRINCIPAL,    OMS_CMD_SET_LIMITS,         OMS_CMD_SET_RESTRICTED,
        OMS_CMD_SET_REFERENCE_PRICE, OMS_CMD_NEW_ORDER,          OMS_CMD_RELEASE_ORDER,
        OMS_CMD_CANCEL_ORDER,        OMS_CMD_REPLACE_ORDER,      OMS_CMD_VENUE_ACK,
        OMS_CMD_VENUE_REJECT,        OMS_CMD_VENUE_FILL,         OMS_CMD_VENUE_CANCEL_ACK,
        OMS_CMD_VENUE_CANCEL_REJECT, OMS_CMD_VENUE_REPLACE_ACK,  OMS_CMD_VENUE_REPLACE_REJECT,
        OMS_CMD_VENUE_EXPIRE,        OMS_CMD_VENUE_DONE_FOR_DAY, OMS_CMD_TRADE_BUST,
        OMS_CMD_TRADE_CORRECT,       OMS_CMD_ALLOCATE,           OMS_CMD_REVERSE_ALLOCATION,
        OMS_CMD_END_OF_DAY,
    };
    *out = OMS_CMD_NONE;
    if (!name[0])
        return true;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(name, oms_cmd_type_name(types[i])) == 0) {
            *out = types[i];
            return true;
        }
    }
    return false;
}

static int s_parts_from_pb(cdc_chk_t *c, Oms__V1__AllocationPart *const *src, size_t n,
                           oms_arena_t *arena, oms_ev_alloc_t *a)
{
    if (n == 0)
        return 0;
    if (n > OMS_LIMIT_ALLOC_ACCOUNTS) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "parts: too many");
        return 0;
    }
    if (!arena)
        return OMS_ERR_INVALID;
    oms_alloc_part_t *p = oms_arena_alloc(arena, n * sizeof *p);
    if (!p)
        return OMS_ERR_LIMIT;
    for (size_t i = 0; i < n; i++) {
        cdc_str(c, p[i].account_id, OMS_ID_CAP, src[i]->account_id, "parts", "account_id");
        p[i].qty = cdc_dec(c, src[i]->quantity, "parts", "quantity");
        p[i].px = cdc_dec(c, src[i]->price, "parts", "price");
    }
    a->parts = p;
    a->n_parts = (uint32_t)n;
    return 0;
}

/* A CommandRejected's refused command, decoded from its bytes inside the event (buf). */
static int s_rejected_command(const Oms__V1__Command *pb, const uint8_t *buf, size_t len,
                              oms_arena_t *arena, const oms_cmd_t **out)
{
    const uint8_t *body, *raw;
    size_t body_len, raw_len;
    /* One occurrence each: a repeated message field would be merged by protobuf-c, and the
     * merged command would not be the bytes we point at. */
    if (cdc_find_field(buf, len, OMS__V1__EVENT__BODY_COMMAND_REJECTED, &body, &body_len) != 1 ||
        cdc_find_field(body, body_len, 7, &raw, &raw_len) != 1)
        return OMS_ERR_DECODE;
    if (!arena)
        return OMS_ERR_INVALID;
    oms_cmd_t *cmd = oms_arena_alloc(arena, sizeof *cmd);
    if (!cmd)
        return OMS_ERR_LIMIT;
    int rc = cdc_cmd_from_pb(pb, raw, raw_len, true, arena, cmd, NULL, 0);
    if (rc)
        return rc;
    *out = cmd;
    return 0;
}

/* The model form of an unpacked Event; problems are left in c. */
static int s_event_from_pb(cdc_chk_t *c, const Oms__V1__Event *pb, const uint8_t *buf, size_t len,
                           oms_arena_t *arena, oms_event_t *out)
{
    const char *pfx = oms_event_type_name(out->type);
    oms_ev_order_t *o = &out->u.order;
    switch (pb->body_case) {
    case OMS__V1__EVENT__BODY_INSTRUMENT_DEFINED:
        CDC_INSTR_FROM_PB(c, &out->u.instrument, pb->instrument_defined, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_INSTRUMENT_UPDATED:
        CDC_INSTR_FROM_PB(c, &out->u.instrument, pb->instrument_updated, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_ACCOUNT_DEFINED:
        CDC_ACCOUNT_FROM_PB(c, &out->u.account, pb->account_defined, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_PRINCIPAL_DEFINED:
        CDC_PRINCIPAL_FROM_PB(c, &out->u.principal, pb->principal_defined, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_LIMITS_SET:
        CDC_LIMITS_FROM_PB(c, &out->u.limits, pb->limits_set, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_RESTRICTION_SET:
        CDC_RESTRICTION_FROM_PB(c, &out->u.restriction, pb->restriction_set, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_REFERENCE_PRICE_SET:
        CDC_REF_PRICE_FROM_PB(c, &out->u.ref_price, pb->reference_price_set, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_ORDER_ACCEPTED: {
        const Oms__V1__OrderAccepted *m = pb->order_accepted;
        oms_ev_accepted_t *a = &out->u.accepted;
        oms_new_order_t *n = &a->order;
        cdc_str(c, n->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, n->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
        int rc = cdc_instrs_from_pb(c, m->allocations, m->n_allocations, arena, &n->allocs,
                                    &n->n_allocs, pfx, "allocations");
        if (rc)
            return rc;
        cdc_str(c, n->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        n->side = (oms_side_t)m->side;
        n->ord_type = (oms_ord_type_t)m->ord_type;
        n->price = cdc_opt(c, m->price, pfx, "price");
        n->qty = cdc_dec(c, m->quantity, pfx, "quantity");
        n->tif = (oms_tif_t)m->time_in_force;
        n->expire_ts_ns = m->expire_ts_ns;
        cdc_str(c, n->text, OMS_TEXT_CAP, m->text, pfx, "text");
        a->status = (oms_ord_status_t)m->status;
        cdc_str(c, a->entered_by, OMS_ID_CAP, m->entered_by, pfx, "entered_by");
        a->release_policy = (oms_release_policy_t)m->release_policy;
        return 0;
    }
    case OMS__V1__EVENT__BODY_ORDER_RELEASED: {
        const Oms__V1__OrderReleased *m = pb->order_released;
        oms_ev_released_t *r = &out->u.released;
        cdc_str(c, r->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, r->released_by, OMS_ID_CAP, m->released_by, pfx, "released_by");
        r->status = (oms_ord_status_t)m->status;
        cdc_str(c, r->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__EVENT__BODY_CANCEL_REQUESTED: {
        const Oms__V1__CancelRequested *m = pb->cancel_requested;
        oms_ev_request_t *r = &out->u.request;
        cdc_str(c, r->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, r->cl_ord_id, OMS_ID_CAP, m->cl_ord_id, pfx, "cl_ord_id");
        cdc_str(c, r->orig_cl_ord_id, OMS_ID_CAP, m->orig_cl_ord_id, pfx, "orig_cl_ord_id");
        r->status = (oms_ord_status_t)m->status;
        r->prior_status = (oms_ord_status_t)m->prior_status;
        cdc_str(c, r->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__EVENT__BODY_REPLACE_REQUESTED: {
        const Oms__V1__ReplaceRequested *m = pb->replace_requested;
        oms_ev_request_t *r = &out->u.request;
        cdc_str(c, r->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, r->cl_ord_id, OMS_ID_CAP, m->new_cl_ord_id, pfx, "new_cl_ord_id");
        cdc_str(c, r->orig_cl_ord_id, OMS_ID_CAP, m->orig_cl_ord_id, pfx, "orig_cl_ord_id");
        r->qty = cdc_opt(c, m->quantity, pfx, "quantity");
        r->price = cdc_opt(c, m->price, pfx, "price");
        r->status = (oms_ord_status_t)m->status;
        r->prior_status = (oms_ord_status_t)m->prior_status;
        cdc_str(c, r->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__EVENT__BODY_ORDER_ACKNOWLEDGED:
        S_OHDR_FROM_PB(c, o, pb->order_acknowledged, pfx);
        return 0;
    case OMS__V1__EVENT__BODY_ORDER_REJECTED_BY_VENUE:
        S_OHDR_FROM_PB(c, o, pb->order_rejected_by_venue, pfx);
        cdc_str(c, o->text, OMS_TEXT_CAP, pb->order_rejected_by_venue->text, pfx, "text");
        return 0;
    case OMS__V1__EVENT__BODY_ORDER_CANCELED: {
        const Oms__V1__OrderCanceled *m = pb->order_canceled;
        S_OHDR_FROM_PB(c, o, m, pfx);
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->gone_qty = cdc_dec(c, m->canceled_qty, pfx, "canceled_qty");
        return 0;
    }
    case OMS__V1__EVENT__BODY_CANCEL_REJECTED:
        S_OHDR_FROM_PB(c, o, pb->cancel_rejected, pfx);
        cdc_str(c, o->text, OMS_TEXT_CAP, pb->cancel_rejected->text, pfx, "text");
        return 0;
    case OMS__V1__EVENT__BODY_ORDER_REPLACED: {
        const Oms__V1__OrderReplaced *m = pb->order_replaced;
        S_OHDR_FROM_PB(c, o, m, pfx);
        cdc_str(c, o->orig_cl_ord_id, OMS_ID_CAP, m->orig_cl_ord_id, pfx, "orig_cl_ord_id");
        o->qty = cdc_dec(c, m->quantity, pfx, "quantity");
        o->price = cdc_opt(c, m->price, pfx, "price");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->leaves_qty = cdc_dec(c, m->leaves_qty, pfx, "leaves_qty");
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__EVENT__BODY_REPLACE_REJECTED:
        S_OHDR_FROM_PB(c, o, pb->replace_rejected, pfx);
        cdc_str(c, o->text, OMS_TEXT_CAP, pb->replace_rejected->text, pfx, "text");
        return 0;
    case OMS__V1__EVENT__BODY_ORDER_EXPIRED: {
        const Oms__V1__OrderExpired *m = pb->order_expired;
        S_OHDR_FROM_PB(c, o, m, pfx);
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->gone_qty = cdc_dec(c, m->expired_qty, pfx, "expired_qty");
        cdc_date(c, o->trade_date, m->trade_date, pfx, "trade_date");
        return 0;
    }
    case OMS__V1__EVENT__BODY_ORDER_DONE_FOR_DAY: {
        const Oms__V1__OrderDoneForDay *m = pb->order_done_for_day;
        S_OHDR_FROM_PB(c, o, m, pfx);
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->leaves_qty = cdc_dec(c, m->leaves_qty, pfx, "leaves_qty");
        return 0;
    }
    case OMS__V1__EVENT__BODY_ORDER_FILLED: {
        const Oms__V1__OrderFilled *m = pb->order_filled;
        S_OHDR_FROM_PB(c, o, m, pfx);
        o->last_qty = cdc_dec(c, m->last_qty, pfx, "last_qty");
        o->last_px = cdc_dec(c, m->last_px, pfx, "last_px");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->leaves_qty = cdc_dec(c, m->leaves_qty, pfx, "leaves_qty");
        o->avg_px = cdc_opt(c, m->avg_px, pfx, "avg_px");
        o->overfill = m->overfill != 0;
        o->late = m->late != 0;
        cdc_str(c, o->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
        cdc_str(c, o->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        o->side = (oms_side_t)m->side;
        return 0;
    }
    case OMS__V1__EVENT__BODY_TRADE_BUSTED: {
        const Oms__V1__TradeBusted *m = pb->trade_busted;
        S_OHDR_FROM_PB(c, o, m, pfx);
        cdc_str(c, o->ref_exec_id, OMS_ID_CAP, m->ref_exec_id, pfx, "ref_exec_id");
        o->last_qty = cdc_dec(c, m->busted_qty, pfx, "busted_qty");
        o->last_px = cdc_dec(c, m->busted_px, pfx, "busted_px");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->leaves_qty = cdc_dec(c, m->leaves_qty, pfx, "leaves_qty");
        o->avg_px = cdc_opt(c, m->avg_px, pfx, "avg_px");
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        cdc_str(c, o->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
        cdc_str(c, o->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        o->side = (oms_side_t)m->side;
        return 0;
    }
    case OMS__V1__EVENT__BODY_TRADE_CORRECTED: {
        const Oms__V1__TradeCorrected *m = pb->trade_corrected;
        S_OHDR_FROM_PB(c, o, m, pfx);
        cdc_str(c, o->ref_exec_id, OMS_ID_CAP, m->ref_exec_id, pfx, "ref_exec_id");
        o->last_qty = cdc_dec(c, m->old_qty, pfx, "old_qty");
        o->last_px = cdc_dec(c, m->old_px, pfx, "old_px");
        o->new_qty = cdc_dec(c, m->new_qty, pfx, "new_qty");
        o->new_px = cdc_dec(c, m->new_px, pfx, "new_px");
        o->cum_qty = cdc_dec(c, m->cum_qty, pfx, "cum_qty");
        o->leaves_qty = cdc_dec(c, m->leaves_qty, pfx, "leaves_qty");
        o->avg_px = cdc_opt(c, m->avg_px, pfx, "avg_px");
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        cdc_str(c, o->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
        cdc_str(c, o->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        o->side = (oms_side_t)m->side;
        return 0;
    }
    case OMS__V1__EVENT__BODY_ALLOCATION_BOOKED: {
        const Oms__V1__AllocationBooked *m = pb->allocation_booked;
        oms_ev_alloc_t *a = &out->u.alloc;
        cdc_str(c, a->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, a->alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
        cdc_str(c, a->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        a->side = (oms_side_t)m->side;
        a->qty = cdc_dec(c, m->quantity, pfx, "quantity");
        a->avg_px = cdc_dec(c, m->avg_px, pfx, "avg_px");
        int rc = s_parts_from_pb(c, m->parts, m->n_parts, arena, a);
        if (!rc)
            rc = cdc_instrs_from_pb(c, m->instructions, m->n_instructions, arena, &a->instrs,
                                    &a->n_instrs, pfx, "instructions");
        a->status = (oms_alloc_status_t)m->status;
        cdc_str(c, a->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return rc;
    }
    case OMS__V1__EVENT__BODY_ALLOCATION_REJECTED: {
        const Oms__V1__AllocationRejected *m = pb->allocation_rejected;
        oms_ev_alloc_t *a = &out->u.alloc;
        cdc_str(c, a->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, a->alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
        a->reason = (oms_reject_reason_t)m->reason;
        cdc_str(c, a->rule_id, OMS_RULE_CAP, m->rule_id, pfx, "rule_id");
        cdc_str(c, a->text, OMS_TEXT_CAP, m->text, pfx, "text");
        a->asked_qty = cdc_opt(c, m->quantity, pfx, "quantity");
        a->status = (oms_alloc_status_t)m->status;
        return 0;
    }
    case OMS__V1__EVENT__BODY_ALLOCATION_REVERSED: {
        const Oms__V1__AllocationReversed *m = pb->allocation_reversed;
        oms_ev_alloc_t *a = &out->u.alloc;
        cdc_str(c, a->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, a->alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
        cdc_str(c, a->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        a->side = (oms_side_t)m->side;
        a->qty = cdc_dec(c, m->quantity, pfx, "quantity");
        int rc = s_parts_from_pb(c, m->parts, m->n_parts, arena, a);
        a->status = (oms_alloc_status_t)m->status;
        cdc_str(c, a->text, OMS_TEXT_CAP, m->reason, pfx, "reason");
        return rc;
    }
    case OMS__V1__EVENT__BODY_COMMAND_REJECTED: {
        const Oms__V1__CommandRejected *m = pb->command_rejected;
        oms_ev_rejected_t *r = &out->u.rejected;
        cdc_str(c, r->rule_id, OMS_RULE_CAP, m->rule_id, pfx, "rule_id");
        r->reason = (oms_reject_reason_t)m->reason;
        cdc_str(c, r->text, OMS_TEXT_CAP, m->text, pfx, "text");
        r->limit_value = cdc_opt(c, m->limit_value, pfx, "limit_value");
        r->actual_value = cdc_opt(c, m->actual_value, pfx, "actual_value");
        if (!s_cmd_type_of(m->command_type, &r->command_type))
            cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.command_type: unknown", pfx);
        r->order_rejected = m->order_rejected != 0;
        if (m->command)
            return s_rejected_command(m->command, buf, len, arena, &r->command);
        return 0;
    }
    case OMS__V1__EVENT__BODY_EXCEPTION_RAISED: {
        const Oms__V1__ExceptionRaised *m = pb->exception_raised;
        oms_ev_exception_t *x = &out->u.exception;
        x->kind = (oms_exception_kind_t)m->kind;
        cdc_str(c, x->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, x->venue, OMS_ID_CAP, m->venue, pfx, "venue");
        cdc_str(c, x->exec_id, OMS_ID_CAP, m->exec_id, pfx, "exec_id");
        cdc_str(c, x->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__EVENT__BODY_END_OF_DAY_PROCESSED:
        cdc_date(c, out->u.eod.trade_date, pb->end_of_day_processed->trade_date, pfx, "trade_date");
        out->u.eod.orders_expired = pb->end_of_day_processed->orders_expired;
        return 0;
    case OMS__V1__EVENT__BODY__NOT_SET:
    default:
        break;
    }
    cdc_fail(c, OMS_RR_UNKNOWN_COMMAND, "event has no body this version knows");
    return 0;
}

/* ---- decode: hand-written, for the order flow ---------------------------------------------------
 * Rebuild and replay decode every event, so the order-flow events (no lists) are read straight
 * into the model struct from a table per message: field number -> kind and offset. Only the
 * canonical form this codec writes is taken this way: fields in strictly ascending number, each
 * of its declared wire type, strings shorter than their array without NUL bytes, decimals
 * holding nothing but e8 (field 1, once). Anything else (an unknown, repeated or out-of-order
 * field, a list, a string the model cannot hold, truncated bytes) returns false and the
 * protobuf-c path decides, so the result (and every error) is exactly that path's:
 * tests/test_codec_fast.c compares the two on many randomised events. */

typedef enum { F_NONE = 0, F_STR, F_DEC, F_OPT, F_ENUM, F_I64, F_BOOL } s_fkind_t;

typedef struct {
    uint8_t kind; /* s_fkind_t */
    uint8_t wt8;  /* 8 | the wire type the field must have; 0 for no field (never matches) */
    uint16_t cap; /* F_STR: the array's size */
    uint32_t off; /* offset of the model field in oms_event_t */
} s_fdesc_t;

#define S_FMAX 23 /* field numbers of the tables below are < S_FMAX */

_Static_assert(sizeof(oms_ord_status_t) == sizeof(int32_t) &&
                   sizeof(oms_side_t) == sizeof(int32_t) &&
                   sizeof(oms_ord_type_t) == sizeof(int32_t) &&
                   sizeof(oms_tif_t) == sizeof(int32_t) &&
                   sizeof(oms_release_policy_t) == sizeof(int32_t),
               "the decoder stores enums as int32");

#define S_EV(f)  offsetof(oms_event_t, u.f)
#define S_CAP(f) sizeof(((oms_event_t *)0)->u.f) /* the model array's size */
#define S_STR(f)                                                                                   \
    {                                                                                              \
        F_STR, 8 | 2, S_CAP(f), S_EV(f)                                                            \
    }
#define S_ID(f)   S_STR(f)
#define S_TEXT(f) S_STR(f)
#define S_K(k, f)                                                                                  \
    {                                                                                              \
        k, 8 | ((k) == F_DEC || (k) == F_OPT ? 2 : 0), 0, S_EV(f)                                  \
    }
#define S_OHDR                                                                                     \
    [1] = S_ID(order.h.order_id), [2] = S_ID(order.h.venue), [3] = S_ID(order.h.exec_id),          \
    [4] = S_ID(order.h.venue_order_id), [5] = S_K(F_I64, order.h.transact_ts_ns),                  \
    [6] = S_ID(order.h.cl_ord_id), [7] = S_K(F_ENUM, order.status)

static const s_fdesc_t k_accepted[S_FMAX] = {
    [1] = S_ID(accepted.order.order_id),
    [2] = S_ID(accepted.order.account_id),
    [4] = S_ID(accepted.order.instrument_id),
    [5] = S_K(F_ENUM, accepted.order.side),
    [6] = S_K(F_ENUM, accepted.order.ord_type),
    [7] = S_K(F_OPT, accepted.order.price),
    [8] = S_K(F_DEC, accepted.order.qty),
    [9] = S_K(F_ENUM, accepted.order.tif),
    [10] = S_K(F_I64, accepted.order.expire_ts_ns),
    [11] = S_TEXT(accepted.order.text),
    [20] = S_K(F_ENUM, accepted.status),
    [21] = S_ID(accepted.entered_by),
    [22] = S_K(F_ENUM, accepted.release_policy),
};
static const s_fdesc_t k_released[S_FMAX] = {
    [1] = S_ID(released.order_id),
    [2] = S_ID(released.released_by),
    [3] = S_K(F_ENUM, released.status),
    [4] = S_TEXT(released.text),
};
static const s_fdesc_t k_cancel_req[S_FMAX] = {
    [1] = S_ID(request.order_id),
    [2] = S_ID(request.cl_ord_id),
    [3] = S_ID(request.orig_cl_ord_id),
    [4] = S_K(F_ENUM, request.status),
    [5] = S_K(F_ENUM, request.prior_status),
    [6] = S_TEXT(request.text),
};
static const s_fdesc_t k_replace_req[S_FMAX] = {
    [1] = S_ID(request.order_id),
    [2] = S_ID(request.cl_ord_id),
    [3] = S_ID(request.orig_cl_ord_id),
    [4] = S_K(F_OPT, request.qty),
    [5] = S_K(F_OPT, request.price),
    [6] = S_K(F_ENUM, request.status),
    [7] = S_K(F_ENUM, request.prior_status),
    [8] = S_TEXT(request.text),
};
static const s_fdesc_t k_ohdr[S_FMAX] = {S_OHDR};
static const s_fdesc_t k_ohdr_text[S_FMAX] = {S_OHDR, [10] = S_TEXT(order.text)};
static const s_fdesc_t k_canceled[S_FMAX] = {
    S_OHDR,
    [10] = S_TEXT(order.text),
    [11] = S_K(F_DEC, order.cum_qty),
    [12] = S_K(F_DEC, order.gone_qty),
};
static const s_fdesc_t k_expired[S_FMAX] = {
    S_OHDR,
    [10] = S_TEXT(order.text),
    [11] = S_K(F_DEC, order.cum_qty),
    [12] = S_K(F_DEC, order.gone_qty),
    [13] = S_STR(order.trade_date),
};
static const s_fdesc_t k_dfd[S_FMAX] = {
    S_OHDR,
    [10] = S_TEXT(order.text),
    [11] = S_K(F_DEC, order.cum_qty),
    [12] = S_K(F_DEC, order.leaves_qty),
};
static const s_fdesc_t k_replaced[S_FMAX] = {
    S_OHDR,
    [10] = S_ID(order.orig_cl_ord_id),
    [11] = S_K(F_DEC, order.qty),
    [12] = S_K(F_OPT, order.price),
    [13] = S_K(F_DEC, order.cum_qty),
    [14] = S_K(F_DEC, order.leaves_qty),
    [15] = S_TEXT(order.text),
};
static const s_fdesc_t k_filled[S_FMAX] = {
    S_OHDR,
    [10] = S_K(F_DEC, order.last_qty),
    [11] = S_K(F_DEC, order.last_px),
    [12] = S_K(F_DEC, order.cum_qty),
    [13] = S_K(F_DEC, order.leaves_qty),
    [14] = S_K(F_OPT, order.avg_px),
    [15] = S_K(F_BOOL, order.overfill),
    [16] = S_K(F_BOOL, order.late),
    [20] = S_ID(order.account_id),
    [21] = S_ID(order.instrument_id),
    [22] = S_K(F_ENUM, order.side),
};

/* The field table of an Event body field number; NULL for the types left to protobuf-c. */
static const s_fdesc_t *s_fast_table(uint64_t type)
{
    switch (type) {
    case OMS_EV_ORDER_ACCEPTED:
        return k_accepted;
    case OMS_EV_ORDER_RELEASED:
        return k_released;
    case OMS_EV_CANCEL_REQUESTED:
        return k_cancel_req;
    case OMS_EV_REPLACE_REQUESTED:
        return k_replace_req;
    case OMS_EV_ORDER_ACKNOWLEDGED:
        return k_ohdr;
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_REPLACE_REJECTED:
        return k_ohdr_text;
    case OMS_EV_ORDER_CANCELED:
        return k_canceled;
    case OMS_EV_ORDER_EXPIRED:
        return k_expired;
    case OMS_EV_ORDER_DONE_FOR_DAY:
        return k_dfd;
    case OMS_EV_ORDER_REPLACED:
        return k_replaced;
    case OMS_EV_ORDER_FILLED:
        return k_filled;
    default:
        return NULL;
    }
}

/* A varint at *p (< end) the slow way, a byte at a time; false when truncated or longer than
 * 64 bits. */
static bool s_rd_varint_loop(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t r = 0;
    for (unsigned i = 0; i < 10 && q < end; i++) {
        uint8_t b = *q++;
        if (i == 9 && b > 1)
            return false;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *p = q;
            *v = r;
            return true;
        }
    }
    return false;
}

/* A varint at *p within [*p, end); false when truncated or longer than 64 bits. Bytes up to lim
 * (>= end, the end of the whole buffer) may be loaded but are never part of the value. Keys,
 * lengths and enums take one byte: read first. Decimals take up to eight (prices and
 * quantities in e8 take four to six): with eight bytes before lim they are read in one word,
 * the last byte found by the first clear top bit, the bytes after it masked off and the 7-bit
 * groups gathered pairwise in three steps (bytes -> 14-bit, 28-bit, 56-bit lanes). Longer ones
 * (timestamps), and the last bytes of a buffer, take the byte loop. */
static inline bool s_rd_varint_in(const uint8_t **p, const uint8_t *end, const uint8_t *lim,
                                  uint64_t *v)
{
    const uint8_t *q = *p;
    if (q < end && q[0] < 0x80) {
        *v = q[0];
        *p = q + 1;
        return true;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (q < end && lim - q >= 8) {
        uint64_t x;
        memcpy(&x, q, sizeof x);
        uint64_t stop = ~x & 0x8080808080808080ull;
        if (stop) {
            unsigned n = ((unsigned)__builtin_ctzll(stop) >> 3) + 1; /* bytes, 2..8 */
            if (n > (size_t)(end - q))
                return false; /* runs past end: truncated */
            /* bytes 0..n-1 (up to the lowest stop bit), 7 bits each */
            x &= (stop ^ (stop - 1)) & 0x7f7f7f7f7f7f7f7full;
            x = (x & 0x007f007f007f007full) | (x >> 1 & 0x3f803f803f803f80ull);
            x = (x & 0x00003fff00003fffull) | (x >> 2 & 0x0fffc0000fffc000ull);
            x = (x & 0x000000000fffffffull) | (x >> 4 & 0x00fffffff0000000ull);
            *v = x;
            *p = q + n;
            return true;
        }
    }
#endif
    return s_rd_varint_loop(p, end, v);
}

/* s_rd_varint_in with nothing readable past end. */
static inline bool s_rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    return s_rd_varint_in(p, end, end, v);
}

/* True when the 8 bytes at s (read unaligned) hold a zero byte. */
static inline bool s_has_nul8(const uint8_t *s)
{
    uint64_t x;
    memcpy(&x, s, sizeof x);
    return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) != 0;
}

/* Copies the n bytes of a string field at s to dst (an array of more than n bytes, and of at
 * least 8) and ends it with a NUL; false, with dst partly written, when the bytes hold a NUL.
 * Bytes up to lim (the buffer's end) may be loaded. Without library calls: ids and short texts
 * (at most 16 bytes) are checked and copied in two overlapping words, shorter strings in one
 * word masked to their length (which also writes zeros after the NUL, within dst's first 8
 * bytes: never read, as after any model string's NUL). */
_Static_assert(OMS_DATE_CAP >= 8 && OMS_ID_CAP >= 8 && OMS_TEXT_CAP >= 8,
               "s_copy_str writes short strings as one 8-byte word");

static inline bool s_copy_str(uint8_t *dst, const uint8_t *s, size_t n, const uint8_t *lim)
{
    if (n >= 8 && n <= 16) {
        if (s_has_nul8(s) || s_has_nul8(s + n - 8))
            return false;
        memcpy(dst, s, 8);
        memcpy(dst + n - 8, s + n - 8, 8);
    } else if (n < 8) {
        if (lim - s >= 8) {
            uint64_t x, keep = ((uint64_t)1 << (8 * n)) - 1; /* bytes 0..n-1 */
            memcpy(&x, s, sizeof x);
            x &= keep;
            /* a zero byte's flag is exact up to the first zero byte: none flagged in keep */
            if ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull & keep)
                return false;
            memcpy(dst, &x, sizeof x); /* byte n is 0: the NUL */
            return true;
        }
        for (size_t i = 0; i < n; i++) {
            if (s[i] == 0)
                return false;
            dst[i] = s[i];
        }
    } else {
        if (memchr(s, 0, n))
            return false;
        memcpy(dst, s, n);
    }
    dst[n] = '\0';
    return true;
}

/* A Decimal's bytes [p, end) holding only e8 (or nothing): its value. Bytes up to lim (the
 * buffer's end) may be loaded. */
static bool s_rd_dec(const uint8_t *p, const uint8_t *end, const uint8_t *lim, int64_t *e8)
{
    uint64_t v;
    *e8 = 0;
    if (p == end)
        return true;
    if (*p++ != 0x08 || !s_rd_varint_in(&p, end, lim, &v) || p != end)
        return false;
    *e8 = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return true;
}

/* The fast path: true with *out filled (zeroed first by the caller), false to take protobuf-c's. */
_Static_assert(sizeof(oms_new_order_t) - offsetof(oms_new_order_t, text) - OMS_TEXT_CAP <
                   _Alignof(oms_new_order_t),
               "oms_new_order_t: text must be the last field (s_decode_fast clears up to it)");

static bool s_decode_fast(const uint8_t *buf, size_t len, oms_event_t *out)
{
    const uint8_t *p = buf, *end = buf + len;
    uint64_t key, blen;
    if (!s_rd_varint(&p, end, &key) || (key & 7) != 2 || !s_rd_varint(&p, end, &blen) ||
        blen != (uint64_t)(end - p))
        return false; /* not exactly one body */
    const s_fdesc_t *tab = s_fast_table(key >> 3);
    if (!tab)
        return false;
    /* Only the fields before the text need clearing (OMS_EV_TEXT_LAST): every string gets its
     * NUL below, the text included. An accepted order's text is the new order's last field,
     * with the acceptance's own fields after it. */
    if ((key >> 3) == OMS_EV_ORDER_ACCEPTED) {
        oms_ev_accepted_t *a = &out->u.accepted;
        memset(a, 0, offsetof(oms_ev_accepted_t, order) + offsetof(oms_new_order_t, text) + 1);
        memset(&a->status, 0, sizeof *a - offsetof(oms_ev_accepted_t, status));
    } else {
        memset(&out->u, 0, oms_event_body_clear((oms_event_type_t)(key >> 3)));
    }
    uint8_t *base = (uint8_t *)out;
    uint64_t last = 0;
    while (p < end) {
        uint64_t k, v;
        if (p[0] < 0x80) { /* fields 1-15 */
            k = p[0];
            p++;
        } else if (end - p >= 2 && p[1] < 0x80) { /* fields 16-2047 (20-22 here) */
            k = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            p += 2;
        } else if (!s_rd_varint(&p, end, &k)) {
            return false;
        }
        uint64_t f = k >> 3;
        /* ascending, known, of its wire type (a table's empty slot has wt8 0: never equal) */
        if (f <= last || f >= S_FMAX || ((unsigned)(k & 7) | 8) != tab[f].wt8)
            return false;
        last = f;
        const s_fdesc_t *d = &tab[f];
        uint8_t *dst = base + d->off;
        if (!s_rd_varint(&p, end, &v))
            return false;
        switch ((s_fkind_t)d->kind) {
        case F_STR:
            if (v >= d->cap || v > (uint64_t)(end - p) || !s_copy_str(dst, p, (size_t)v, end))
                return false;
            p += v;
            break;
        case F_DEC:
        case F_OPT: {
            int64_t e8;
            if (v > (uint64_t)(end - p) || !s_rd_dec(p, p + v, end, &e8))
                return false;
            p += v;
            if (d->kind == F_DEC) {
                memcpy(dst, &e8, sizeof e8);
            } else { /* member by member: the padding stays zero */
                bool set = true;
                memcpy(dst + offsetof(oms_opt_dec_t, set), &set, sizeof set);
                memcpy(dst + offsetof(oms_opt_dec_t, v), &e8, sizeof e8);
            }
            break;
        }
        case F_ENUM: {
            int32_t e = (int32_t)(uint32_t)v;
            memcpy(dst, &e, sizeof e);
            break;
        }
        case F_I64: {
            int64_t x = (int64_t)v;
            memcpy(dst, &x, sizeof x);
            break;
        }
        case F_BOOL: {
            bool b = v != 0;
            memcpy(dst, &b, sizeof b);
            break;
        }
        default:
            return false;
        }
    }
    out->type = (oms_event_type_t)(key >> 3);
    return true;
}

int codec_decode_event(const uint8_t *buf, size_t len, oms_arena_t *arena, oms_event_t *out)
{
    out->type = OMS_EV_NONE;
    if (!buf && len) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    if (buf && s_decode_fast(buf, len, out))
        return 0; /* (it cleared what the body's type needs) */
    memset(out, 0, sizeof *out);
    return cdc_decode_event_pb(buf, len, arena, out);
}

int cdc_decode_event_pb(const uint8_t *buf, size_t len, oms_arena_t *arena, oms_event_t *out)
{
    memset(out, 0, sizeof *out);
    if (!buf && len)
        return OMS_ERR_DECODE;
    Oms__V1__Event *pb = oms__v1__event__unpack(NULL, len, buf);
    if (!pb)
        return OMS_ERR_DECODE;
    cdc_nul_t nul;
    /* A refused command is checked by its own rules (a NUL there is why it was refused). */
    int rc = cdc_find_nul(&oms__v1__event__descriptor, buf, len, &oms__v1__command__descriptor,
                          &nul) != 0
                 ? OMS_ERR_DECODE
                 : 0;
    if (!rc) {
        cdc_chk_t c = {.cmd = false};
        out->type = (oms_event_type_t)pb->body_case;
        rc = s_event_from_pb(&c, pb, buf, len, arena, out);
        if (!rc && c.rr != OMS_RR_NONE)
            rc = OMS_ERR_DECODE;
    }
    oms__v1__event__free_unpacked(pb, NULL);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
