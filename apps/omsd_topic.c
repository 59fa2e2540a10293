/*
 * omsd_topic.c - the PUB topic of each event, "family/account/type" (docs/PROTOCOL.md, section
 * 2), computed by the sequencer from the model event it just appended and the state it was
 * applied to. The state is needed because several order events (released, cancel/replace
 * requested, venue acks, rejects, cancels, replaces, expiries, exceptions) name only the order:
 * the account is the order's. Executions carry their account in the event ("" for a block);
 * allocations, reference data and day processing have none; a rejection has the account of the
 * refused command (a new order's account, or the account of the order it names) or none.
 */
#include "omsd.h"

#include <string.h>

static const char *s_family(oms_event_type_t t)
{
    int v = (int)t;
    if (v >= 1 && v <= 99)
        return "ref";
    if (v >= 100 && v <= 199)
        return "ord";
    if (v >= 200 && v <= 299)
        return "exe";
    if (v >= 300 && v <= 399)
        return "alc";
    if (v == 400)
        return "rej";
    if (v == 401)
        return "exc";
    if (v >= 500 && v <= 599)
        return "day";
    return NULL;
}

static const char *s_order_account(const proj_state_t *st, const char *order_id)
{
    if (!order_id || !order_id[0])
        return "";
    const proj_order_t *o = proj_order(st, order_id);
    return o ? o->account_id : "";
}

static const char *s_rejected_account(const proj_state_t *st, const oms_ev_rejected_t *r)
{
    const oms_cmd_t *c = r->command;
    if (!c)
        return "";
    if (c->type == OMS_CMD_NEW_ORDER)
        return c->u.new_order.account_id; /* "" for a block */
    if (c->type == OMS_CMD_ALLOCATE || c->type == OMS_CMD_REVERSE_ALLOCATION)
        return ""; /* blocks */
    return s_order_account(st, oms_cmd_order_id(c));
}

static const char *s_account(const proj_state_t *st, const oms_event_t *ev)
{
    switch (ev->type) {
    case OMS_EV_ORDER_ACCEPTED:
        return ev->u.accepted.order.account_id;
    case OMS_EV_ORDER_RELEASED:
        return s_order_account(st, ev->u.released.order_id);
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        return s_order_account(st, ev->u.request.order_id);
    case OMS_EV_ORDER_FILLED:
    case OMS_EV_TRADE_BUSTED:
    case OMS_EV_TRADE_CORRECTED:
        return ev->u.order.account_id;
    case OMS_EV_COMMAND_REJECTED:
        return s_rejected_account(st, &ev->u.rejected);
    case OMS_EV_EXCEPTION_RAISED:
        return s_order_account(st, ev->u.exception.order_id);
    default:
        if (ev->type >= OMS_EV_ORDER_ACKNOWLEDGED && ev->type <= OMS_EV_ORDER_DONE_FOR_DAY)
            return s_order_account(st, ev->u.order.h.order_id);
        return ""; /* reference data, allocations, day processing */
    }
}

int omsd_topic(const proj_state_t *st, const oms_event_t *ev, char *buf, size_t cap)
{
    const char *family = s_family(ev->type);
    const char *type = oms_event_type_name(ev->type);
    if (!family || !type || !type[0])
        return OMS_ERR_INVALID;
    const char *account = s_account(st, ev);
    /* Ids are at most OMS_LIMIT_ID_LEN bytes (model invariant); the bound makes it certain. */
    int n = snprintf(buf, cap, "%s/%.*s/%s", family, (int)OMS_LIMIT_ID_LEN, account, type);
    if (n < 0 || (size_t)n >= cap)
        return OMS_ERR_LIMIT;
    return n;
}
