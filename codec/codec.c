/*
 * codec.c - the bus side of the codec: commands (oms.v1.Command bytes <-> oms_cmd_t) and command
 * replies (oms_reply_t <-> oms.v1.CommandReply bytes). Decoding a command is where input from the
 * outside world first meets the OMS, so it checks what the fixed-size model cannot carry (see
 * codec_decode_command in codec.h) and leaves the business rules to the handlers.
 */
#include "codec_internal.h"
#include "pbw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes a failure's reason into the caller's err buffer, if there is one. */
static void s_err(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t errcap, const char *fmt, ...)
{
    if (!err || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* ---- protobuf -> model ------------------------------------------------------------------------
 */

/* The venue report bodies other than the header: text, fill/correct quantities, bust/correct
 * reference. Each report type has its own C type, hence the macro. */
#define S_REPORT_TEXT(c, r, m, pfx) cdc_str(c, (r)->text, OMS_TEXT_CAP, (m)->text, pfx, "text")

static int s_body_from_pb(cdc_chk_t *c, const Oms__V1__Command *pb, oms_arena_t *arena,
                          oms_cmd_t *out)
{
    const char *pfx = oms_cmd_type_name(out->type);
    oms_venue_report_t *r = &out->u.report;
    switch (pb->body_case) {
    case OMS__V1__COMMAND__BODY_DEFINE_INSTRUMENT:
        CDC_INSTR_FROM_PB(c, &out->u.instrument, pb->define_instrument, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_UPDATE_INSTRUMENT:
        CDC_INSTR_FROM_PB(c, &out->u.instrument, pb->update_instrument, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_DEFINE_ACCOUNT:
        CDC_ACCOUNT_FROM_PB(c, &out->u.account, pb->define_account, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_DEFINE_PRINCIPAL:
        CDC_PRINCIPAL_FROM_PB(c, &out->u.principal_def, pb->define_principal, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_SET_LIMITS:
        CDC_LIMITS_FROM_PB(c, &out->u.limits, pb->set_limits, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_SET_RESTRICTED:
        CDC_RESTRICTION_FROM_PB(c, &out->u.restriction, pb->set_restricted, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_SET_REFERENCE_PRICE:
        CDC_REF_PRICE_FROM_PB(c, &out->u.ref_price, pb->set_reference_price, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_NEW_ORDER: {
        const Oms__V1__NewOrder *m = pb->new_order;
        oms_new_order_t *o = &out->u.new_order;
        cdc_str(c, o->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, o->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
        int rc = cdc_instrs_from_pb(c, m->allocations, m->n_allocations, arena, &o->allocs,
                                    &o->n_allocs, pfx, "allocations");
        if (rc)
            return rc;
        cdc_str(c, o->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
        o->side = (oms_side_t)cdc_enum(c, (int)m->side, OMS_SIDE_SELL_SHORT, pfx, "side");
        o->ord_type = (oms_ord_type_t)cdc_enum(c, (int)m->ord_type, OMS_ORD_LIMIT, pfx, "ord_type");
        o->price = cdc_opt(c, m->price, pfx, "price");
        o->qty = cdc_dec(c, m->quantity, pfx, "quantity");
        o->tif = (oms_tif_t)cdc_enum(c, (int)m->time_in_force, OMS_TIF_GTD, pfx, "time_in_force");
        o->expire_ts_ns = m->expire_ts_ns;
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__COMMAND__BODY_RELEASE_ORDER: {
        const Oms__V1__ReleaseOrder *m = pb->release_order;
        cdc_str(c, out->u.release.order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, out->u.release.text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__COMMAND__BODY_CANCEL_ORDER: {
        const Oms__V1__CancelOrder *m = pb->cancel_order;
        cdc_str(c, out->u.cancel.order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, out->u.cancel.cl_ord_id, OMS_ID_CAP, m->cl_ord_id, pfx, "cl_ord_id");
        cdc_str(c, out->u.cancel.text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__COMMAND__BODY_REPLACE_ORDER: {
        const Oms__V1__ReplaceOrder *m = pb->replace_order;
        oms_replace_order_t *o = &out->u.replace;
        cdc_str(c, o->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, o->new_cl_ord_id, OMS_ID_CAP, m->new_cl_ord_id, pfx, "new_cl_ord_id");
        o->qty = cdc_opt(c, m->quantity, pfx, "quantity");
        o->price = cdc_opt(c, m->price, pfx, "price");
        cdc_str(c, o->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__COMMAND__BODY_VENUE_ACK:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_ack, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_REJECT:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_reject, pfx);
        S_REPORT_TEXT(c, r, pb->venue_reject, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_FILL:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_fill, pfx);
        r->last_qty = cdc_dec(c, pb->venue_fill->last_qty, pfx, "last_qty");
        r->last_px = cdc_dec(c, pb->venue_fill->last_px, pfx, "last_px");
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_CANCEL_ACK:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_cancel_ack, pfx);
        S_REPORT_TEXT(c, r, pb->venue_cancel_ack, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_CANCEL_REJECT:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_cancel_reject, pfx);
        S_REPORT_TEXT(c, r, pb->venue_cancel_reject, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_REPLACE_ACK:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_replace_ack, pfx);
        S_REPORT_TEXT(c, r, pb->venue_replace_ack, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_REPLACE_REJECT:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_replace_reject, pfx);
        S_REPORT_TEXT(c, r, pb->venue_replace_reject, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_EXPIRE:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_expire, pfx);
        S_REPORT_TEXT(c, r, pb->venue_expire, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_VENUE_DONE_FOR_DAY:
        CDC_HDR_FROM_PB(c, &r->h, pb->venue_done_for_day, pfx);
        S_REPORT_TEXT(c, r, pb->venue_done_for_day, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_TRADE_BUST:
        CDC_HDR_FROM_PB(c, &r->h, pb->trade_bust, pfx);
        cdc_str(c, r->ref_exec_id, OMS_ID_CAP, pb->trade_bust->ref_exec_id, pfx, "ref_exec_id");
        S_REPORT_TEXT(c, r, pb->trade_bust, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_TRADE_CORRECT:
        CDC_HDR_FROM_PB(c, &r->h, pb->trade_correct, pfx);
        cdc_str(c, r->ref_exec_id, OMS_ID_CAP, pb->trade_correct->ref_exec_id, pfx, "ref_exec_id");
        r->last_qty = cdc_dec(c, pb->trade_correct->last_qty, pfx, "last_qty");
        r->last_px = cdc_dec(c, pb->trade_correct->last_px, pfx, "last_px");
        S_REPORT_TEXT(c, r, pb->trade_correct, pfx);
        return 0;
    case OMS__V1__COMMAND__BODY_ALLOCATE: {
        const Oms__V1__Allocate *m = pb->allocate;
        oms_allocate_t *a = &out->u.allocate;
        cdc_str(c, a->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, a->alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
        int rc = cdc_instrs_from_pb(c, m->instructions, m->n_instructions, arena, &a->allocs,
                                    &a->n_allocs, pfx, "instructions");
        if (rc)
            return rc;
        a->qty = cdc_opt(c, m->quantity, pfx, "quantity");
        cdc_str(c, a->text, OMS_TEXT_CAP, m->text, pfx, "text");
        return 0;
    }
    case OMS__V1__COMMAND__BODY_REVERSE_ALLOCATION: {
        const Oms__V1__ReverseAllocation *m = pb->reverse_allocation;
        cdc_str(c, out->u.reverse.order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        cdc_str(c, out->u.reverse.alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
        cdc_str(c, out->u.reverse.reason, OMS_TEXT_CAP, m->reason, pfx, "reason");
        return 0;
    }
    case OMS__V1__COMMAND__BODY_END_OF_DAY:
        cdc_date(c, out->u.eod.trade_date, pb->end_of_day->trade_date, pfx, "trade_date");
        return 0;
    case OMS__V1__COMMAND__BODY__NOT_SET:
    default:
        break;
    }
    out->type = OMS_CMD_NONE;
    cdc_fail(c, OMS_RR_UNKNOWN_COMMAND,
             pb->base.n_unknown_fields ? "command body unknown to this version"
                                       : "command has no body");
    return 0;
}

/* Checks and copies the header ids that attribute the command: command_id (field 1) and
 * principal (field 2). */
static int s_header(const Oms__V1__Command *pb, const cdc_nul_t *nul, bool embedded, oms_cmd_t *out,
                    char *err, size_t errcap)
{
    static const char *const names[2] = {"command_id", "principal"};
    const char *src[2] = {pb->command_id, pb->principal};
    char *dst[2] = {out->command_id, out->principal};
    for (unsigned i = 0; i < 2; i++) {
        size_t n = strnlen(src[i], OMS_ID_CAP);
        if (n >= OMS_ID_CAP) {
            s_err(err, errcap, "%s longer than %d bytes", names[i], (int)OMS_LIMIT_ID_LEN);
            return OMS_ERR_DECODE;
        }
        if (n == 0 && !embedded) {
            s_err(err, errcap, "%s is empty", names[i]);
            return OMS_ERR_DECODE;
        }
        if (nul->root_mask & (1u << (i + 1))) {
            s_err(err, errcap, "%s contains a NUL byte", names[i]);
            return OMS_ERR_DECODE;
        }
        oms_strlcpy(dst[i], src[i], OMS_ID_CAP);
    }
    return 0;
}

int cdc_cmd_from_pb(const Oms__V1__Command *pb, const uint8_t *raw, size_t raw_len, bool embedded,
                    oms_arena_t *arena, oms_cmd_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    cdc_nul_t nul;
    int has_nul = cdc_find_nul(&oms__v1__command__descriptor, raw, raw_len, NULL, &nul);
    if (has_nul < 0) {
        s_err(err, errcap, "malformed command bytes");
        return OMS_ERR_DECODE;
    }
    int rc = s_header(pb, &nul, embedded, out, err, errcap);
    if (rc)
        return rc;
    out->client_ts_ns = pb->client_ts_ns;
    out->type = (oms_cmd_type_t)pb->body_case;
    out->raw = raw;
    out->raw_len = raw_len;

    cdc_chk_t c = {.cmd = true};
    if (has_nul) {
        const ProtobufCFieldDescriptor *body =
            protobuf_c_message_descriptor_get_field(&oms__v1__command__descriptor, pb->body_case);
        const char *where = body && body->descriptor == (const void *)nul.msg
                                ? oms_cmd_type_name(out->type)
                                : nul.msg->short_name;
        cdc_fail(&c, OMS_RR_INVALID_FIELD, "%s.%s: contains a NUL byte", where, nul.field->name);
    }
    rc = s_body_from_pb(&c, pb, arena, out);
    if (rc) {
        s_err(err, errcap, "%s",
              rc == OMS_ERR_LIMIT ? "arena full: no room for the allocation list"
                                  : "no arena for the allocation list");
        return rc;
    }
    if (c.rr != OMS_RR_NONE) {
        out->invalid = c.rr;
        oms_strlcpy(out->invalid_text, c.text, sizeof out->invalid_text);
    }
    return 0;
}

int codec_decode_command(const uint8_t *buf, size_t len, oms_arena_t *arena, oms_cmd_t *out,
                         char *err, size_t errcap)
{
    s_err(err, errcap, "%s", "");
    memset(out, 0, sizeof *out);
    if (len > OMS_LIMIT_MSG_BYTES) {
        s_err(err, errcap, "command of %zu bytes, limit %d", len, (int)OMS_LIMIT_MSG_BYTES);
        return OMS_ERR_LIMIT;
    }
    if (!buf && len) {
        s_err(err, errcap, "no buffer");
        return OMS_ERR_DECODE;
    }
    Oms__V1__Command *pb = oms__v1__command__unpack(NULL, len, buf);
    if (!pb) {
        s_err(err, errcap, "not an oms.v1.Command");
        return OMS_ERR_DECODE;
    }
    int rc = cdc_cmd_from_pb(pb, buf, len, false, arena, out, err, errcap);
    oms__v1__command__free_unpacked(pb, NULL);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- model -> protobuf ------------------------------------------------------------------------
 */

int cdc_cmd_to_pb(const oms_cmd_t *cmd, cdc_cmd_pb_t *s)
{
    s->cmd = (Oms__V1__Command)OMS__V1__COMMAND__INIT;
    s->cmd.command_id = CDC_S(cmd->command_id);
    s->cmd.principal = CDC_S(cmd->principal);
    s->cmd.client_ts_ns = cmd->client_ts_ns;
    const oms_venue_report_t *r = &cmd->u.report;
    Oms__V1__Decimal *dec = s->dec;

    switch (cmd->type) {
    case OMS_CMD_NONE:
        return 0;
    case OMS_CMD_DEFINE_INSTRUMENT: {
        Oms__V1__DefineInstrument *m = &s->b.define_instrument;
        *m = (Oms__V1__DefineInstrument)OMS__V1__DEFINE_INSTRUMENT__INIT;
        CDC_INSTR_TO_PB(m, &cmd->u.instrument, dec);
        s->cmd.define_instrument = m;
        break;
    }
    case OMS_CMD_UPDATE_INSTRUMENT: {
        Oms__V1__UpdateInstrument *m = &s->b.update_instrument;
        *m = (Oms__V1__UpdateInstrument)OMS__V1__UPDATE_INSTRUMENT__INIT;
        CDC_INSTR_TO_PB(m, &cmd->u.instrument, dec);
        s->cmd.update_instrument = m;
        break;
    }
    case OMS_CMD_DEFINE_ACCOUNT: {
        Oms__V1__DefineAccount *m = &s->b.define_account;
        *m = (Oms__V1__DefineAccount)OMS__V1__DEFINE_ACCOUNT__INIT;
        CDC_ACCOUNT_TO_PB(m, &cmd->u.account);
        s->cmd.define_account = m;
        break;
    }
    case OMS_CMD_DEFINE_PRINCIPAL: {
        Oms__V1__DefinePrincipal *m = &s->b.define_principal;
        *m = (Oms__V1__DefinePrincipal)OMS__V1__DEFINE_PRINCIPAL__INIT;
        CDC_PRINCIPAL_TO_PB(m, &cmd->u.principal_def, s->roles);
        s->cmd.define_principal = m;
        break;
    }
    case OMS_CMD_SET_LIMITS: {
        Oms__V1__SetLimits *m = &s->b.set_limits;
        *m = (Oms__V1__SetLimits)OMS__V1__SET_LIMITS__INIT;
        CDC_LIMITS_TO_PB(m, &cmd->u.limits, dec);
        s->cmd.set_limits = m;
        break;
    }
    case OMS_CMD_SET_RESTRICTED: {
        Oms__V1__SetRestricted *m = &s->b.set_restricted;
        *m = (Oms__V1__SetRestricted)OMS__V1__SET_RESTRICTED__INIT;
        CDC_RESTRICTION_TO_PB(m, &cmd->u.restriction);
        s->cmd.set_restricted = m;
        break;
    }
    case OMS_CMD_SET_REFERENCE_PRICE: {
        Oms__V1__SetReferencePrice *m = &s->b.set_reference_price;
        *m = (Oms__V1__SetReferencePrice)OMS__V1__SET_REFERENCE_PRICE__INIT;
        CDC_REF_PRICE_TO_PB(m, &cmd->u.ref_price, dec);
        s->cmd.set_reference_price = m;
        break;
    }
    case OMS_CMD_NEW_ORDER: {
        const oms_new_order_t *o = &cmd->u.new_order;
        if (o->n_allocs > OMS_LIMIT_ALLOC_ACCOUNTS)
            return OMS_ERR_LIMIT;
        if (o->n_allocs && !o->allocs)
            return OMS_ERR_INVALID;
        Oms__V1__NewOrder *m = &s->b.new_order;
        *m = (Oms__V1__NewOrder)OMS__V1__NEW_ORDER__INIT;
        m->order_id = CDC_S(o->order_id);
        m->account_id = CDC_S(o->account_id);
        cdc_instrs_to_pb(o->allocs, o->n_allocs, s->ai, s->ai_dec, s->ai_ptr);
        m->n_allocations = o->n_allocs;
        m->allocations = o->n_allocs ? s->ai_ptr : NULL;
        m->instrument_id = CDC_S(o->instrument_id);
        m->side = (Oms__V1__Side)o->side;
        m->ord_type = (Oms__V1__OrdType)o->ord_type;
        m->price = cdc_pb_opt(&dec[0], o->price);
        m->quantity = cdc_pb_dec(&dec[1], o->qty);
        m->time_in_force = (Oms__V1__TimeInForce)o->tif;
        m->expire_ts_ns = o->expire_ts_ns;
        m->text = CDC_S(o->text);
        s->cmd.new_order = m;
        break;
    }
    case OMS_CMD_RELEASE_ORDER: {
        Oms__V1__ReleaseOrder *m = &s->b.release_order;
        *m = (Oms__V1__ReleaseOrder)OMS__V1__RELEASE_ORDER__INIT;
        m->order_id = CDC_S(cmd->u.release.order_id);
        m->text = CDC_S(cmd->u.release.text);
        s->cmd.release_order = m;
        break;
    }
    case OMS_CMD_CANCEL_ORDER: {
        Oms__V1__CancelOrder *m = &s->b.cancel_order;
        *m = (Oms__V1__CancelOrder)OMS__V1__CANCEL_ORDER__INIT;
        m->order_id = CDC_S(cmd->u.cancel.order_id);
        m->cl_ord_id = CDC_S(cmd->u.cancel.cl_ord_id);
        m->text = CDC_S(cmd->u.cancel.text);
        s->cmd.cancel_order = m;
        break;
    }
    case OMS_CMD_REPLACE_ORDER: {
        const oms_replace_order_t *o = &cmd->u.replace;
        Oms__V1__ReplaceOrder *m = &s->b.replace_order;
        *m = (Oms__V1__ReplaceOrder)OMS__V1__REPLACE_ORDER__INIT;
        m->order_id = CDC_S(o->order_id);
        m->new_cl_ord_id = CDC_S(o->new_cl_ord_id);
        m->quantity = cdc_pb_opt(&dec[0], o->qty);
        m->price = cdc_pb_opt(&dec[1], o->price);
        m->text = CDC_S(o->text);
        s->cmd.replace_order = m;
        break;
    }
    case OMS_CMD_VENUE_ACK: {
        Oms__V1__VenueAck *m = &s->b.venue_ack;
        *m = (Oms__V1__VenueAck)OMS__V1__VENUE_ACK__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        s->cmd.venue_ack = m;
        break;
    }
    case OMS_CMD_VENUE_REJECT: {
        Oms__V1__VenueReject *m = &s->b.venue_reject;
        *m = (Oms__V1__VenueReject)OMS__V1__VENUE_REJECT__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_reject = m;
        break;
    }
    case OMS_CMD_VENUE_FILL: {
        Oms__V1__VenueFill *m = &s->b.venue_fill;
        *m = (Oms__V1__VenueFill)OMS__V1__VENUE_FILL__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->last_qty = cdc_pb_dec(&dec[0], r->last_qty);
        m->last_px = cdc_pb_dec(&dec[1], r->last_px);
        s->cmd.venue_fill = m;
        break;
    }
    case OMS_CMD_VENUE_CANCEL_ACK: {
        Oms__V1__VenueCancelAck *m = &s->b.venue_cancel_ack;
        *m = (Oms__V1__VenueCancelAck)OMS__V1__VENUE_CANCEL_ACK__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_cancel_ack = m;
        break;
    }
    case OMS_CMD_VENUE_CANCEL_REJECT: {
        Oms__V1__VenueCancelReject *m = &s->b.venue_cancel_reject;
        *m = (Oms__V1__VenueCancelReject)OMS__V1__VENUE_CANCEL_REJECT__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_cancel_reject = m;
        break;
    }
    case OMS_CMD_VENUE_REPLACE_ACK: {
        Oms__V1__VenueReplaceAck *m = &s->b.venue_replace_ack;
        *m = (Oms__V1__VenueReplaceAck)OMS__V1__VENUE_REPLACE_ACK__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_replace_ack = m;
        break;
    }
    case OMS_CMD_VENUE_REPLACE_REJECT: {
        Oms__V1__VenueReplaceReject *m = &s->b.venue_replace_reject;
        *m = (Oms__V1__VenueReplaceReject)OMS__V1__VENUE_REPLACE_REJECT__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_replace_reject = m;
        break;
    }
    case OMS_CMD_VENUE_EXPIRE: {
        Oms__V1__VenueExpire *m = &s->b.venue_expire;
        *m = (Oms__V1__VenueExpire)OMS__V1__VENUE_EXPIRE__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_expire = m;
        break;
    }
    case OMS_CMD_VENUE_DONE_FOR_DAY: {
        Oms__V1__VenueDoneForDay *m = &s->b.venue_done_for_day;
        *m = (Oms__V1__VenueDoneForDay)OMS__V1__VENUE_DONE_FOR_DAY__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->text = CDC_S(r->text);
        s->cmd.venue_done_for_day = m;
        break;
    }
    case OMS_CMD_TRADE_BUST: {
        Oms__V1__TradeBust *m = &s->b.trade_bust;
        *m = (Oms__V1__TradeBust)OMS__V1__TRADE_BUST__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->ref_exec_id = CDC_S(r->ref_exec_id);
        m->text = CDC_S(r->text);
        s->cmd.trade_bust = m;
        break;
    }
    case OMS_CMD_TRADE_CORRECT: {
        Oms__V1__TradeCorrect *m = &s->b.trade_correct;
        *m = (Oms__V1__TradeCorrect)OMS__V1__TRADE_CORRECT__INIT;
        CDC_HDR_TO_PB(m, &r->h);
        m->ref_exec_id = CDC_S(r->ref_exec_id);
        m->last_qty = cdc_pb_dec(&dec[0], r->last_qty);
        m->last_px = cdc_pb_dec(&dec[1], r->last_px);
        m->text = CDC_S(r->text);
        s->cmd.trade_correct = m;
        break;
    }
    case OMS_CMD_ALLOCATE: {
        const oms_allocate_t *a = &cmd->u.allocate;
        if (a->n_allocs > OMS_LIMIT_ALLOC_ACCOUNTS)
            return OMS_ERR_LIMIT;
        if (a->n_allocs && !a->allocs)
            return OMS_ERR_INVALID;
        Oms__V1__Allocate *m = &s->b.allocate;
        *m = (Oms__V1__Allocate)OMS__V1__ALLOCATE__INIT;
        m->order_id = CDC_S(a->order_id);
        m->alloc_id = CDC_S(a->alloc_id);
        cdc_instrs_to_pb(a->allocs, a->n_allocs, s->ai, s->ai_dec, s->ai_ptr);
        m->n_instructions = a->n_allocs;
        m->instructions = a->n_allocs ? s->ai_ptr : NULL;
        m->quantity = cdc_pb_opt(&dec[0], a->qty);
        m->text = CDC_S(a->text);
        s->cmd.allocate = m;
        break;
    }
    case OMS_CMD_REVERSE_ALLOCATION: {
        Oms__V1__ReverseAllocation *m = &s->b.reverse_allocation;
        *m = (Oms__V1__ReverseAllocation)OMS__V1__REVERSE_ALLOCATION__INIT;
        m->order_id = CDC_S(cmd->u.reverse.order_id);
        m->alloc_id = CDC_S(cmd->u.reverse.alloc_id);
        m->reason = CDC_S(cmd->u.reverse.reason);
        s->cmd.reverse_allocation = m;
        break;
    }
    case OMS_CMD_END_OF_DAY: {
        Oms__V1__EndOfDay *m = &s->b.end_of_day;
        *m = (Oms__V1__EndOfDay)OMS__V1__END_OF_DAY__INIT;
        m->trade_date = CDC_S(cmd->u.eod.trade_date);
        s->cmd.end_of_day = m;
        break;
    }
    default:
        return OMS_ERR_INVALID;
    }
    /* Model type values are the oneof's field numbers. */
    s->cmd.body_case = (Oms__V1__Command__BodyCase)cmd->type;
    return 0;
}

int codec_encode_command(const oms_cmd_t *cmd, uint8_t *buf, size_t cap, size_t *out_len)
{
    cdc_cmd_pb_t s;
    *out_len = 0;
    int rc = cdc_cmd_to_pb(cmd, &s);
    if (rc)
        return rc;
    return cdc_pack(&s.cmd.base, buf, cap, out_len);
}

/* ---- replies ------------------------------------------------------------------------------------
 */

/* The reply written by hand (pbw.h), field by field as protobuf-c would: false when it does not
 * fit in cap (the protobuf-c path then reports the size needed). */
static bool s_encode_reply_fast(const oms_reply_t *r, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (!buf)
        return false;
    pbw_t w;
    pbw_init(&w, buf, cap);
    pbw_str(&w, 1, r->command_id);
    pbw_i32(&w, 2, (int32_t)r->status);
    pbw_i32(&w, 3, r->error_code);
    pbw_i32(&w, 4, (int32_t)r->reject_reason);
    pbw_str(&w, 5, r->rule_id);
    pbw_str(&w, 6, r->text);
    pbw_str(&w, 7, r->order_id);
    pbw_i32(&w, 8, (int32_t)r->ord_status);
    pbw_u64(&w, 9, r->first_seq);
    pbw_u64(&w, 10, r->last_seq);
    pbw_i32(&w, 11, (int32_t)r->original_status);
    if (w.err)
        return false;
    *out_len = (size_t)(w.p - buf);
    return true;
}

int codec_encode_reply(const oms_reply_t *r, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (s_encode_reply_fast(r, buf, cap, out_len))
        return 0;
    return cdc_encode_reply_pb(r, buf, cap, out_len);
}

int cdc_encode_reply_pb(const oms_reply_t *r, uint8_t *buf, size_t cap, size_t *out_len)
{
    Oms__V1__CommandReply m = OMS__V1__COMMAND_REPLY__INIT;
    m.command_id = CDC_S(r->command_id);
    m.status = (Oms__V1__ReplyStatus)r->status;
    m.error_code = r->error_code;
    m.reject_reason = (Oms__V1__RejectReason)r->reject_reason;
    m.rule_id = CDC_S(r->rule_id);
    m.text = CDC_S(r->text);
    m.order_id = CDC_S(r->order_id);
    m.ord_status = (Oms__V1__OrdStatus)r->ord_status;
    m.first_seq = r->first_seq;
    m.last_seq = r->last_seq;
    m.original_status = (Oms__V1__ReplyStatus)r->original_status;
    return cdc_pack(&m.base, buf, cap, out_len);
}

int codec_decode_reply(const uint8_t *buf, size_t len, oms_reply_t *out)
{
    memset(out, 0, sizeof *out);
    if (!buf && len)
        return OMS_ERR_DECODE;
    Oms__V1__CommandReply *m = oms__v1__command_reply__unpack(NULL, len, buf);
    if (!m)
        return OMS_ERR_DECODE;
    cdc_nul_t nul;
    int rc = cdc_find_nul(&oms__v1__command_reply__descriptor, buf, len, NULL, &nul) != 0
                 ? OMS_ERR_DECODE
                 : 0;
    if (!rc) {
        cdc_chk_t c = {.cmd = false};
        const char *pfx = "command_reply";
        cdc_str(&c, out->command_id, OMS_ID_CAP, m->command_id, pfx, "command_id");
        out->status = (oms_reply_status_t)m->status;
        out->error_code = m->error_code;
        out->reject_reason = (oms_reject_reason_t)m->reject_reason;
        cdc_str(&c, out->rule_id, OMS_RULE_CAP, m->rule_id, pfx, "rule_id");
        cdc_str(&c, out->text, OMS_TEXT_CAP, m->text, pfx, "text");
        cdc_str(&c, out->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
        out->ord_status = (oms_ord_status_t)m->ord_status;
        out->first_seq = m->first_seq;
        out->last_seq = m->last_seq;
        out->original_status = (oms_reply_status_t)m->original_status;
        if (c.rr != OMS_RR_NONE)
            rc = OMS_ERR_DECODE;
    }
    oms__v1__command_reply__free_unpacked(m, NULL);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
