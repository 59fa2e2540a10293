/*
 * model.c - names of the model's enums and command/event types, and small helpers.
 */
#include "oms_model.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *oms_cmd_type_name(oms_cmd_type_t t)
{
    switch (t) {
    case OMS_CMD_DEFINE_INSTRUMENT:
        return "define_instrument";
    case OMS_CMD_UPDATE_INSTRUMENT:
        return "update_instrument";
    case OMS_CMD_DEFINE_ACCOUNT:
        return "define_account";
    case OMS_CMD_DEFINE_PRINCIPAL:
        return "define_principal";
    case OMS_CMD_SET_LIMITS:
        return "set_limits";
    case OMS_CMD_SET_RESTRICTED:
        return "set_restricted";
    case OMS_CMD_SET_REFERENCE_PRICE:
        return "set_reference_price";
    case OMS_CMD_NEW_ORDER:
        return "new_order";
    case OMS_CMD_RELEASE_ORDER:
        return "release_order";
    case OMS_CMD_CANCEL_ORDER:
        return "cancel_order";
    case OMS_CMD_REPLACE_ORDER:
        return "replace_order";
    case OMS_CMD_VENUE_ACK:
        return "venue_ack";
    case OMS_CMD_VENUE_REJECT:
        return "venue_reject";
    case OMS_CMD_VENUE_FILL:
        return "venue_fill";
    case OMS_CMD_VENUE_CANCEL_ACK:
        return "venue_cancel_ack";
    case OMS_CMD_VENUE_CANCEL_REJECT:
        return "venue_cancel_reject";
    case OMS_CMD_VENUE_REPLACE_ACK:
        return "venue_replace_ack";
    case OMS_CMD_VENUE_REPLACE_REJECT:
        return "venue_replace_reject";
    case OMS_CMD_VENUE_EXPIRE:
        return "venue_expire";
    case OMS_CMD_VENUE_DONE_FOR_DAY:
        return "venue_done_for_day";
    case OMS_CMD_TRADE_BUST:
        return "trade_bust";
    case OMS_CMD_TRADE_CORRECT:
        return "trade_correct";
    case OMS_CMD_ALLOCATE:
        return "allocate";
    case OMS_CMD_REVERSE_ALLOCATION:
        return "reverse_allocation";
    case OMS_CMD_END_OF_DAY:
        return "end_of_day";
    case OMS_CMD_NONE:
        break;
    }
    return "";
}

const char *oms_event_type_name(oms_event_type_t t)
{
    switch (t) {
    case OMS_EV_INSTRUMENT_DEFINED:
        return "instrument_defined";
    case OMS_EV_INSTRUMENT_UPDATED:
        return "instrument_updated";
    case OMS_EV_ACCOUNT_DEFINED:
        return "account_defined";
    case OMS_EV_PRINCIPAL_DEFINED:
        return "principal_defined";
    case OMS_EV_LIMITS_SET:
        return "limits_set";
    case OMS_EV_RESTRICTION_SET:
        return "restriction_set";
    case OMS_EV_REFERENCE_PRICE_SET:
        return "reference_price_set";
    case OMS_EV_ORDER_ACCEPTED:
        return "order_accepted";
    case OMS_EV_ORDER_RELEASED:
        return "order_released";
    case OMS_EV_CANCEL_REQUESTED:
        return "cancel_requested";
    case OMS_EV_REPLACE_REQUESTED:
        return "replace_requested";
    case OMS_EV_ORDER_ACKNOWLEDGED:
        return "order_acknowledged";
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
        return "order_rejected_by_venue";
    case OMS_EV_ORDER_CANCELED:
        return "order_canceled";
    case OMS_EV_CANCEL_REJECTED:
        return "cancel_rejected";
    case OMS_EV_ORDER_REPLACED:
        return "order_replaced";
    case OMS_EV_REPLACE_REJECTED:
        return "replace_rejected";
    case OMS_EV_ORDER_EXPIRED:
        return "order_expired";
    case OMS_EV_ORDER_DONE_FOR_DAY:
        return "order_done_for_day";
    case OMS_EV_ORDER_FILLED:
        return "order_filled";
    case OMS_EV_TRADE_BUSTED:
        return "trade_busted";
    case OMS_EV_TRADE_CORRECTED:
        return "trade_corrected";
    case OMS_EV_ALLOCATION_BOOKED:
        return "allocation_booked";
    case OMS_EV_ALLOCATION_REJECTED:
        return "allocation_rejected";
    case OMS_EV_ALLOCATION_REVERSED:
        return "allocation_reversed";
    case OMS_EV_COMMAND_REJECTED:
        return "command_rejected";
    case OMS_EV_EXCEPTION_RAISED:
        return "exception_raised";
    case OMS_EV_END_OF_DAY_PROCESSED:
        return "end_of_day_processed";
    case OMS_EV_NONE:
        break;
    }
    return "";
}

const char *oms_status_name(oms_ord_status_t s)
{
    static const char *const names[OMS_ST_COUNT_] = {
        [OMS_ST_NONE] = "NONE",
        [OMS_ST_PENDING_RELEASE] = "PENDING_RELEASE",
        [OMS_ST_PENDING_NEW] = "PENDING_NEW",
        [OMS_ST_NEW] = "NEW",
        [OMS_ST_PARTIALLY_FILLED] = "PARTIALLY_FILLED",
        [OMS_ST_FILLED] = "FILLED",
        [OMS_ST_DONE_FOR_DAY] = "DONE_FOR_DAY",
        [OMS_ST_CANCELED] = "CANCELED",
        [OMS_ST_PENDING_CANCEL] = "PENDING_CANCEL",
        [OMS_ST_REJECTED] = "REJECTED",
        [OMS_ST_EXPIRED] = "EXPIRED",
        [OMS_ST_PENDING_REPLACE] = "PENDING_REPLACE",
    };
    return (unsigned)s < OMS_ST_COUNT_ ? names[s] : "?";
}

const char *oms_side_name(oms_side_t s)
{
    switch (s) {
    case OMS_SIDE_BUY:
        return "BUY";
    case OMS_SIDE_SELL:
        return "SELL";
    case OMS_SIDE_SELL_SHORT:
        return "SELL_SHORT";
    case OMS_SIDE_NONE:
        break;
    }
    return "?";
}

const char *oms_role_name(oms_role_t r)
{
    switch (r) {
    case OMS_ROLE_PORTFOLIO_MANAGER:
        return "PORTFOLIO_MANAGER";
    case OMS_ROLE_TRADER:
        return "TRADER";
    case OMS_ROLE_OPERATIONS:
        return "OPERATIONS";
    case OMS_ROLE_COMPLIANCE:
        return "COMPLIANCE";
    case OMS_ROLE_VENUE:
        return "VENUE";
    case OMS_ROLE_ADMIN:
        return "ADMIN";
    case OMS_ROLE_NONE:
    case OMS_ROLE_COUNT_:
        break;
    }
    return "?";
}

const char *oms_reject_reason_name(oms_reject_reason_t r)
{
    switch (r) {
    case OMS_RR_INVALID_FIELD:
        return "INVALID_FIELD";
    case OMS_RR_INPUT_LIMIT:
        return "INPUT_LIMIT";
    case OMS_RR_IDEMPOTENCY_CONFLICT:
        return "IDEMPOTENCY_CONFLICT";
    case OMS_RR_UNKNOWN_COMMAND:
        return "UNKNOWN_COMMAND";
    case OMS_RR_NUMERIC_OVERFLOW:
        return "NUMERIC_OVERFLOW";
    case OMS_RR_UNKNOWN_INSTRUMENT:
        return "UNKNOWN_INSTRUMENT";
    case OMS_RR_INACTIVE_INSTRUMENT:
        return "INACTIVE_INSTRUMENT";
    case OMS_RR_UNKNOWN_ACCOUNT:
        return "UNKNOWN_ACCOUNT";
    case OMS_RR_INACTIVE_ACCOUNT:
        return "INACTIVE_ACCOUNT";
    case OMS_RR_UNKNOWN_PRINCIPAL:
        return "UNKNOWN_PRINCIPAL";
    case OMS_RR_INACTIVE_PRINCIPAL:
        return "INACTIVE_PRINCIPAL";
    case OMS_RR_ALREADY_DEFINED:
        return "ALREADY_DEFINED";
    case OMS_RR_NO_REFERENCE_PRICE:
        return "NO_REFERENCE_PRICE";
    case OMS_RR_BAD_LOT:
        return "BAD_LOT";
    case OMS_RR_BAD_TICK:
        return "BAD_TICK";
    case OMS_RR_RESTRICTED:
        return "RESTRICTED";
    case OMS_RR_MAX_QTY:
        return "MAX_QTY";
    case OMS_RR_MAX_NOTIONAL:
        return "MAX_NOTIONAL";
    case OMS_RR_PRICE_COLLAR:
        return "PRICE_COLLAR";
    case OMS_RR_POSITION_LIMIT:
        return "POSITION_LIMIT";
    case OMS_RR_SHORT_SALE:
        return "SHORT_SALE";
    case OMS_RR_NOT_PERMITTED:
        return "NOT_PERMITTED";
    case OMS_RR_FOUR_EYES_VIOLATION:
        return "FOUR_EYES_VIOLATION";
    case OMS_RR_INVALID_TRANSITION:
        return "INVALID_TRANSITION";
    case OMS_RR_UNKNOWN_ORDER:
        return "UNKNOWN_ORDER";
    case OMS_RR_DUPLICATE_ORDER_ID:
        return "DUPLICATE_ORDER_ID";
    case OMS_RR_DUPLICATE_CL_ORD_ID:
        return "DUPLICATE_CL_ORD_ID";
    case OMS_RR_DUPLICATE_EXEC:
        return "DUPLICATE_EXEC";
    case OMS_RR_UNKNOWN_EXEC:
        return "UNKNOWN_EXEC";
    case OMS_RR_REPLACE_BELOW_CUM:
        return "REPLACE_BELOW_CUM";
    case OMS_RR_CL_ORD_ID_MISMATCH:
        return "CL_ORD_ID_MISMATCH";
    case OMS_RR_UNKNOWN_ALLOCATION:
        return "UNKNOWN_ALLOCATION";
    case OMS_RR_DUPLICATE_ALLOC_ID:
        return "DUPLICATE_ALLOC_ID";
    case OMS_RR_BAD_ALLOC_INSTRUCTIONS:
        return "BAD_ALLOC_INSTRUCTIONS";
    case OMS_RR_NOTHING_TO_ALLOCATE:
        return "NOTHING_TO_ALLOCATE";
    case OMS_RR_NOT_A_BLOCK:
        return "NOT_A_BLOCK";
    case OMS_RR_ALLOC_NOT_LOTS:
        return "ALLOC_NOT_LOTS";
    case OMS_RR_DAY_ALREADY_PROCESSED:
        return "DAY_ALREADY_PROCESSED";
    case OMS_RR_NONE:
        break;
    }
    return "?";
}

bool oms_status_is_terminal(oms_ord_status_t s)
{
    return s == OMS_ST_CANCELED || s == OMS_ST_REJECTED || s == OMS_ST_EXPIRED ||
           s == OMS_ST_FILLED;
}

int oms_arena_init(oms_arena_t *a, size_t cap)
{
    a->base = malloc(cap);
    a->cap = a->base ? cap : 0;
    a->used = 0;
    return a->base ? 0 : OMS_ERR_NOMEM;
}

void oms_arena_free(oms_arena_t *a)
{
    free(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

void oms_arena_reset(oms_arena_t *a)
{
    a->used = 0;
}

void *oms_arena_alloc(oms_arena_t *a, size_t n)
{
    size_t start = (a->used + 15) & ~(size_t)15;
    if (n == 0)
        n = 1;
    if (start > a->cap || n > a->cap - start)
        return NULL;
    a->used = start + n;
    memset(a->base + start, 0, n);
    return a->base + start;
}

const char *oms_cmd_order_id(const oms_cmd_t *c)
{
    switch (c->type) {
    case OMS_CMD_NEW_ORDER:
        return c->u.new_order.order_id;
    case OMS_CMD_RELEASE_ORDER:
        return c->u.release.order_id;
    case OMS_CMD_CANCEL_ORDER:
        return c->u.cancel.order_id;
    case OMS_CMD_REPLACE_ORDER:
        return c->u.replace.order_id;
    case OMS_CMD_ALLOCATE:
        return c->u.allocate.order_id;
    case OMS_CMD_REVERSE_ALLOCATION:
        return c->u.reverse.order_id;
    default:
        if (c->type >= OMS_CMD_VENUE_ACK && c->type <= OMS_CMD_TRADE_CORRECT)
            return c->u.report.h.order_id;
        return "";
    }
}

#define S_TEXT_LAST(T)                                                                            \
    _Static_assert(offsetof(T, text) + OMS_TEXT_CAP <= sizeof(T) &&                             \
                       sizeof(T) - offsetof(T, text) - OMS_TEXT_CAP < _Alignof(T),              \
                   #T ": text must be the last field (OMS_EV_TEXT_LAST)")
S_TEXT_LAST(oms_ev_released_t);
S_TEXT_LAST(oms_ev_request_t);
S_TEXT_LAST(oms_ev_order_t);
S_TEXT_LAST(oms_ev_alloc_t);
S_TEXT_LAST(oms_ev_rejected_t);
S_TEXT_LAST(oms_ev_exception_t);

bool oms_event_is_order_report(oms_event_type_t t)
{
    switch (t) {
    case OMS_EV_ORDER_ACKNOWLEDGED:
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_ORDER_REPLACED:
    case OMS_EV_REPLACE_REJECTED:
    case OMS_EV_ORDER_EXPIRED:
    case OMS_EV_ORDER_DONE_FOR_DAY:
    case OMS_EV_ORDER_FILLED:
    case OMS_EV_TRADE_BUSTED:
    case OMS_EV_TRADE_CORRECTED:
        return true;
    default:
        return false;
    }
}

size_t oms_event_body_clear(oms_event_type_t t)
{
    if (oms_event_is_order_report(t))
        return offsetof(oms_ev_order_t, text) + 1;
    switch (t) {
    case OMS_EV_ORDER_ACCEPTED:
        return 0;
    case OMS_EV_ORDER_RELEASED:
        return offsetof(oms_ev_released_t, text) + 1;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        return offsetof(oms_ev_request_t, text) + 1;
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED:
        return offsetof(oms_ev_alloc_t, text) + 1;
    case OMS_EV_COMMAND_REJECTED:
        return offsetof(oms_ev_rejected_t, text) + 1;
    case OMS_EV_EXCEPTION_RAISED:
        return offsetof(oms_ev_exception_t, text) + 1;
    default:
        return sizeof(((oms_event_t *)0)->u);
    }
}
