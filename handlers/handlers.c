/*
 * handlers.c - every command's decision: entitlements, validation, pre-trade checks, the order
 * state machine, executions, allocations and end of day. Pure: reads the state, writes events.
 *
 * Each refusal is one COMMAND_REJECTED naming a stable rule id (docs/RULES.md), a reason code,
 * a text, and where the rule has numbers, the limit and the value that broke it. The order
 * state machine is the table in docs/RULES.md ("Order states"): a (status, trigger) pair not in
 * it is refused with ORD-004 / EXE-002 and changes nothing.
 */
#include "handlers.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output helpers ----------------------------------------------------------------------- */

/* The next event of out, of type t, with its body cleared as oms_event_body_clear says (the
 * bytes after that are left from earlier use and are never read). */
static oms_event_t *s_emit(hnd_out_t *out, oms_event_type_t type)
{
    assert(out->n < out->cap);
    oms_event_t *ev = &out->events[out->n++];
    ev->type = type;
    memset(&ev->u, 0, oms_event_body_clear(type));
    return ev;
}

void hnd_reject_event(oms_event_t *ev, const oms_cmd_t *cmd, const char *rule_id,
                      oms_reject_reason_t reason, const char *text)
{
    ev->type = OMS_EV_COMMAND_REJECTED;
    memset(&ev->u, 0, oms_event_body_clear(OMS_EV_COMMAND_REJECTED));
    oms_ev_rejected_t *r = &ev->u.rejected;
    oms_strlcpy(r->rule_id, rule_id, OMS_RULE_CAP);
    r->reason = reason;
    oms_strlcpy(r->text, text, OMS_TEXT_CAP);
    r->command_type = cmd->type;
    r->command = cmd;
}

/* A rejection under construction: rule, reason, text and the numbers. */
typedef struct {
    const char *rule;
    oms_reject_reason_t reason;
    char text[OMS_TEXT_CAP];
    oms_opt_dec_t limit, actual;
} rej_t;

static int s_rej(rej_t *r, const char *rule, oms_reject_reason_t reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_rej(rej_t *r, const char *rule, oms_reject_reason_t reason, const char *fmt, ...)
{
    r->rule = rule;
    r->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
    return 1;
}

static int s_rej_num(rej_t *r, const char *rule, oms_reject_reason_t reason, oms_dec_t limit,
                     oms_dec_t actual, const char *what)
{
    char l[OMS_DEC_STR_MAX], a[OMS_DEC_STR_MAX];
    oms_dec_format(limit, l, sizeof l);
    oms_dec_format(actual, a, sizeof a);
    s_rej(r, rule, reason, "%s %s breaks the limit %s", what, a, l);
    r->limit = (oms_opt_dec_t){true, limit};
    r->actual = (oms_opt_dec_t){true, actual};
    return 1;
}

static void s_emit_reject(hnd_out_t *out, const oms_cmd_t *cmd, const rej_t *r, bool order_rej)
{
    oms_event_t *ev = s_emit(out, OMS_EV_COMMAND_REJECTED);
    hnd_reject_event(ev, cmd, r->rule, r->reason, r->text);
    ev->u.rejected.limit_value = r->limit;
    ev->u.rejected.actual_value = r->actual;
    ev->u.rejected.order_rejected = order_rej;
}

static const char *s_fmt(oms_dec_t v, char buf[OMS_DEC_STR_MAX])
{
    oms_dec_format(v, buf, OMS_DEC_STR_MAX);
    return buf;
}

/* ---- entitlements ------------------------------------------------------------------------- */

static uint32_t s_roles_for(oms_cmd_type_t t)
{
    switch (t) {
    case OMS_CMD_DEFINE_INSTRUMENT:
    case OMS_CMD_UPDATE_INSTRUMENT:
    case OMS_CMD_DEFINE_ACCOUNT:
    case OMS_CMD_DEFINE_PRINCIPAL:
    case OMS_CMD_SET_REFERENCE_PRICE:
        return 1u << OMS_ROLE_ADMIN;
    case OMS_CMD_SET_LIMITS:
    case OMS_CMD_SET_RESTRICTED:
        return 1u << OMS_ROLE_COMPLIANCE;
    case OMS_CMD_NEW_ORDER:
        return 1u << OMS_ROLE_PORTFOLIO_MANAGER;
    case OMS_CMD_RELEASE_ORDER:
    case OMS_CMD_CANCEL_ORDER:
    case OMS_CMD_REPLACE_ORDER:
        return 1u << OMS_ROLE_TRADER;
    case OMS_CMD_VENUE_ACK:
    case OMS_CMD_VENUE_REJECT:
    case OMS_CMD_VENUE_FILL:
    case OMS_CMD_VENUE_CANCEL_ACK:
    case OMS_CMD_VENUE_CANCEL_REJECT:
    case OMS_CMD_VENUE_REPLACE_ACK:
    case OMS_CMD_VENUE_REPLACE_REJECT:
    case OMS_CMD_VENUE_EXPIRE:
    case OMS_CMD_VENUE_DONE_FOR_DAY:
    case OMS_CMD_TRADE_BUST:
    case OMS_CMD_TRADE_CORRECT:
        return 1u << OMS_ROLE_VENUE;
    case OMS_CMD_ALLOCATE:
    case OMS_CMD_REVERSE_ALLOCATION:
    case OMS_CMD_END_OF_DAY:
        return 1u << OMS_ROLE_OPERATIONS;
    case OMS_CMD_NONE:
        break;
    }
    return 0;
}

static int s_authorize(const proj_state_t *st, const oms_cmd_t *cmd, rej_t *r)
{
    /* Bootstrap: while no principal exists, the first DefinePrincipal that grants ADMIN is
     * accepted from whoever sends it, so a new store can be set up. */
    if (cmd->type == OMS_CMD_DEFINE_PRINCIPAL && proj_count(st, PROJ_T_PRINCIPAL) == 0 &&
        (cmd->u.principal_def.roles & (1u << OMS_ROLE_ADMIN)) && cmd->u.principal_def.active)
        return 0;
    const proj_principal_t *p = proj_principal(st, cmd->principal);
    if (!p)
        return s_rej(r, "ENT-001", OMS_RR_UNKNOWN_PRINCIPAL, "principal '%s' is not defined",
                     cmd->principal);
    if (!p->def.active)
        return s_rej(r, "ENT-002", OMS_RR_INACTIVE_PRINCIPAL, "principal '%s' is not active",
                     cmd->principal);
    uint32_t need = s_roles_for(cmd->type);
    if ((p->def.roles & need) == 0) {
        oms_role_t role = OMS_ROLE_NONE;
        for (int i = 1; i < OMS_ROLE_COUNT_; i++)
            if (need & (1u << i))
                role = (oms_role_t)i;
        return s_rej(r, "ENT-003", OMS_RR_NOT_PERMITTED, "%s needs role %s, which '%s' lacks",
                     oms_cmd_type_name(cmd->type), oms_role_name(role), cmd->principal);
    }
    return 0;
}

int hnd_authorize(const proj_state_t *st, const oms_cmd_t *cmd, oms_ev_rejected_t *rej)
{
    rej_t r = {0};
    if (s_authorize(st, cmd, &r) == 0)
        return 0;
    memset(rej, 0, sizeof *rej);
    oms_strlcpy(rej->rule_id, r.rule, OMS_RULE_CAP);
    rej->reason = r.reason;
    oms_strlcpy(rej->text, r.text, OMS_TEXT_CAP);
    rej->command_type = cmd->type;
    rej->command = cmd;
    return OMS_ERR_STATE;
}

/* ---- reference data ----------------------------------------------------------------------- */

static int s_check_instrument(const oms_instrument_def_t *d, rej_t *r)
{
    if (!d->instrument_id[0] || !d->symbol[0])
        return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "instrument_id and symbol are required");
    if (d->asset_class == OMS_ASSET_NONE)
        return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "asset_class is required");
    if (strlen(d->currency) != 3)
        return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "currency must be an ISO 4217 code");
    if (d->multiplier <= 0 || d->lot_size <= 0 || d->tick_size <= 0)
        return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD,
                     "multiplier, lot_size and tick_size must be > 0");
    return 0;
}

static int s_refdata(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    switch (cmd->type) {
    case OMS_CMD_DEFINE_INSTRUMENT:
    case OMS_CMD_UPDATE_INSTRUMENT: {
        const oms_instrument_def_t *d = &cmd->u.instrument;
        if (s_check_instrument(d, r))
            return 1;
        bool exists = proj_instrument(st, d->instrument_id) != NULL;
        if (cmd->type == OMS_CMD_DEFINE_INSTRUMENT && exists)
            return s_rej(r, "REF-002", OMS_RR_ALREADY_DEFINED,
                         "instrument '%s' exists: use update_instrument", d->instrument_id);
        if (cmd->type == OMS_CMD_UPDATE_INSTRUMENT && !exists)
            return s_rej(r, "REF-003", OMS_RR_UNKNOWN_INSTRUMENT, "instrument '%s' is not defined",
                         d->instrument_id);
        oms_event_t *ev =
            s_emit(out, cmd->type == OMS_CMD_DEFINE_INSTRUMENT ? OMS_EV_INSTRUMENT_DEFINED
                                                               : OMS_EV_INSTRUMENT_UPDATED);
        ev->u.instrument = *d;
        return 0;
    }
    case OMS_CMD_DEFINE_ACCOUNT: {
        const oms_account_def_t *d = &cmd->u.account;
        if (!d->account_id[0])
            return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "account_id is required");
        if (d->release_policy == OMS_RELEASE_NONE)
            return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "release_policy is required");
        s_emit(out, OMS_EV_ACCOUNT_DEFINED)->u.account = *d;
        return 0;
    }
    case OMS_CMD_DEFINE_PRINCIPAL: {
        const oms_principal_def_t *d = &cmd->u.principal_def;
        if (!d->principal_id[0])
            return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "principal_id is required");
        if (d->roles & ~(uint32_t)((1u << OMS_ROLE_COUNT_) - 2u))
            return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "unknown role");
        s_emit(out, OMS_EV_PRINCIPAL_DEFINED)->u.principal = *d;
        return 0;
    }
    case OMS_CMD_SET_LIMITS: {
        const oms_limits_def_t *d = &cmd->u.limits;
        bool acct = d->account_id[0] != '\0', ins = d->instrument_id[0] != '\0';
        bool shape_ok = (d->scope == OMS_SCOPE_FIRM && !acct && !ins) ||
                        (d->scope == OMS_SCOPE_ACCOUNT && acct && !ins) ||
                        (d->scope == OMS_SCOPE_ACCOUNT_INSTRUMENT && acct && ins);
        if (!shape_ok)
            return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD,
                         "scope and account/instrument ids do not agree");
        if (acct && !proj_account(st, d->account_id))
            return s_rej(r, "REF-004", OMS_RR_UNKNOWN_ACCOUNT, "account '%s' is not defined",
                         d->account_id);
        if (ins && !proj_instrument(st, d->instrument_id))
            return s_rej(r, "REF-003", OMS_RR_UNKNOWN_INSTRUMENT, "instrument '%s' is not defined",
                         d->instrument_id);
        const oms_opt_dec_t *v[] = {&d->max_order_qty, &d->max_order_notional,
                                    &d->max_position_long, &d->max_position_short, &d->collar_pct};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            if (v[i]->set && v[i]->v < 0)
                return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "limits must be >= 0");
        s_emit(out, OMS_EV_LIMITS_SET)->u.limits = *d;
        return 0;
    }
    case OMS_CMD_SET_RESTRICTED: {
        const oms_restriction_def_t *d = &cmd->u.restriction;
        if (!proj_instrument(st, d->instrument_id))
            return s_rej(r, "REF-003", OMS_RR_UNKNOWN_INSTRUMENT, "instrument '%s' is not defined",
                         d->instrument_id);
        if (d->account_id[0] && !proj_account(st, d->account_id))
            return s_rej(r, "REF-004", OMS_RR_UNKNOWN_ACCOUNT, "account '%s' is not defined",
                         d->account_id);
        s_emit(out, OMS_EV_RESTRICTION_SET)->u.restriction = *d;
        return 0;
    }
    case OMS_CMD_SET_REFERENCE_PRICE: {
        const oms_ref_price_def_t *d = &cmd->u.ref_price;
        if (!proj_instrument(st, d->instrument_id))
            return s_rej(r, "REF-003", OMS_RR_UNKNOWN_INSTRUMENT, "instrument '%s' is not defined",
                         d->instrument_id);
        if (d->price <= 0)
            return s_rej(r, "REF-001", OMS_RR_INVALID_FIELD, "reference price must be > 0");
        s_emit(out, OMS_EV_REFERENCE_PRICE_SET)->u.ref_price = *d;
        return 0;
    }
    default:
        break;
    }
    return s_rej(r, "CMD-003", OMS_RR_UNKNOWN_COMMAND, "not a reference data command");
}

/* ---- limits resolution ---------------------------------------------------------------------- */

typedef struct {
    oms_opt_dec_t max_qty, max_notional, max_long, max_short, collar;
} eff_limits_t;

static void s_merge(oms_opt_dec_t *dst, const oms_opt_dec_t *src)
{
    if (!dst->set && src->set)
        *dst = *src;
}

/* Most specific scope that sets each limit wins: account+instrument, account, firm. */
static eff_limits_t s_limits(const proj_state_t *st, const char *account, const char *instrument)
{
    eff_limits_t e = {0};
    const proj_limits_t *ls[3] = {
        account[0] ? proj_limits(st, OMS_SCOPE_ACCOUNT_INSTRUMENT, account, instrument) : NULL,
        account[0] ? proj_limits(st, OMS_SCOPE_ACCOUNT, account, "") : NULL,
        proj_limits(st, OMS_SCOPE_FIRM, "", ""),
    };
    for (int i = 0; i < 3; i++) {
        if (!ls[i])
            continue;
        s_merge(&e.max_qty, &ls[i]->def.max_order_qty);
        s_merge(&e.max_notional, &ls[i]->def.max_order_notional);
        s_merge(&e.max_long, &ls[i]->def.max_position_long);
        s_merge(&e.max_short, &ls[i]->def.max_position_short);
        s_merge(&e.collar, &ls[i]->def.collar_pct);
    }
    return e;
}

/* ---- new order ------------------------------------------------------------------------------ */

static int s_validate_allocs(const oms_alloc_instr_t *a, uint32_t n, const oms_opt_dec_t *total,
                             const proj_state_t *st, rej_t *r, const char *rule)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!a[i].account_id[0])
            return s_rej(r, rule, OMS_RR_BAD_ALLOC_INSTRUCTIONS, "instruction %u has no account",
                         i);
        if (a[i].share <= 0)
            return s_rej(r, rule, OMS_RR_BAD_ALLOC_INSTRUCTIONS,
                         "instruction for '%s' must have a share > 0", a[i].account_id);
        if (a[i].by_weight != a[0].by_weight)
            return s_rej(r, rule, OMS_RR_BAD_ALLOC_INSTRUCTIONS,
                         "instructions mix quantities and weights");
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(a[i].account_id, a[j].account_id) == 0)
                return s_rej(r, rule, OMS_RR_BAD_ALLOC_INSTRUCTIONS, "account '%s' appears twice",
                             a[i].account_id);
        const proj_account_t *acc = proj_account(st, a[i].account_id);
        if (!acc)
            return s_rej(r, "PTC-002", OMS_RR_UNKNOWN_ACCOUNT, "account '%s' is not defined",
                         a[i].account_id);
    }
    if (n && !a[0].by_weight && total && total->set) {
        oms_dec_t sum = 0;
        for (uint32_t i = 0; i < n; i++)
            if (oms_dec_add(sum, a[i].share, &sum) != 0)
                return s_rej(r, rule, OMS_RR_NUMERIC_OVERFLOW, "instruction quantities overflow");
        if (sum != total->v) {
            char a1[OMS_DEC_STR_MAX], a2[OMS_DEC_STR_MAX];
            return s_rej(r, rule, OMS_RR_BAD_ALLOC_INSTRUCTIONS,
                         "instruction quantities sum to %s, not %s", s_fmt(sum, a1),
                         s_fmt(total->v, a2));
        }
    }
    return 0;
}

/* The pre-trade checks for one account (or the block's unallocated position when account is
 * ""), in their fixed order after instrument/account/lot/tick. */
static int s_checks_account(const proj_state_t *st, const oms_new_order_t *no,
                            const proj_instrument_t *ins, const char *account, oms_dec_t qty,
                            rej_t *r)
{
    const proj_restriction_t *rs = proj_restriction(st, no->instrument_id, "");
    if (rs && rs->restricted)
        return s_rej(r, "PTC-005", OMS_RR_RESTRICTED, "instrument '%s' is restricted firm-wide: %s",
                     no->instrument_id, rs->reason);
    if (account[0]) {
        rs = proj_restriction(st, no->instrument_id, account);
        if (rs && rs->restricted)
            return s_rej(r, "PTC-005", OMS_RR_RESTRICTED,
                         "instrument '%s' is restricted for account '%s': %s", no->instrument_id,
                         account, rs->reason);
    }
    eff_limits_t lim = s_limits(st, account, no->instrument_id);
    if (lim.max_qty.set && qty > lim.max_qty.v)
        return s_rej_num(r, "PTC-006", OMS_RR_MAX_QTY, lim.max_qty.v, qty, "order quantity");
    if (lim.max_notional.set) {
        oms_opt_dec_t px = no->ord_type == OMS_ORD_LIMIT ? no->price : ins->ref_px;
        if (!px.set)
            return s_rej(r, "PTC-007", OMS_RR_NO_REFERENCE_PRICE,
                         "market order notional needs a reference price for '%s'",
                         no->instrument_id);
        oms_dec_t notional;
        if (oms_dec_mul(qty, px.v, &notional) != 0 ||
            oms_dec_mul(notional, ins->def.multiplier, &notional) != 0)
            return s_rej(r, "PTC-007", OMS_RR_NUMERIC_OVERFLOW, "order notional overflows");
        if (notional > lim.max_notional.v)
            return s_rej_num(r, "PTC-007", OMS_RR_MAX_NOTIONAL, lim.max_notional.v, notional,
                             "order notional");
    }
    if (lim.collar.set && no->ord_type == OMS_ORD_LIMIT) {
        if (!ins->ref_px.set)
            return s_rej(r, "PTC-008", OMS_RR_NO_REFERENCE_PRICE,
                         "price collar needs a reference price for '%s'", no->instrument_id);
        oms_dec_t band, lo, hi;
        if (oms_dec_mul(ins->ref_px.v, lim.collar.v, &band) != 0 ||
            oms_dec_sub(ins->ref_px.v, band, &lo) != 0 ||
            oms_dec_add(ins->ref_px.v, band, &hi) != 0)
            return s_rej(r, "PTC-008", OMS_RR_NUMERIC_OVERFLOW, "collar bounds overflow");
        if (no->price.v > hi)
            return s_rej_num(r, "PTC-008", OMS_RR_PRICE_COLLAR, hi, no->price.v,
                             "limit price above the collar:");
        if (no->price.v < lo)
            return s_rej_num(r, "PTC-008", OMS_RR_PRICE_COLLAR, lo, no->price.v,
                             "limit price below the collar:");
    }
    const proj_position_t *pos = proj_position(st, account, no->instrument_id);
    oms_dec_t pq = pos ? pos->qty : 0, buys = pos ? pos->open_buy_leaves : 0,
              sells = pos ? pos->open_sell_leaves : 0;
    if (lim.max_long.set && no->side == OMS_SIDE_BUY) {
        oms_dec_t proj;
        if (oms_dec_add(pq, buys, &proj) != 0 || oms_dec_add(proj, qty, &proj) != 0)
            return s_rej(r, "PTC-009", OMS_RR_NUMERIC_OVERFLOW, "projected position overflows");
        if (proj > lim.max_long.v)
            return s_rej_num(r, "PTC-009", OMS_RR_POSITION_LIMIT, lim.max_long.v, proj,
                             "projected long position");
    }
    if (lim.max_short.set && no->side != OMS_SIDE_BUY) {
        oms_dec_t proj; /* worst-case short as a magnitude: sells - qty_now + this order */
        if (oms_dec_sub(sells, pq, &proj) != 0 || oms_dec_add(proj, qty, &proj) != 0)
            return s_rej(r, "PTC-009", OMS_RR_NUMERIC_OVERFLOW, "projected position overflows");
        if (proj > lim.max_short.v)
            return s_rej_num(r, "PTC-009", OMS_RR_POSITION_LIMIT, lim.max_short.v, proj,
                             "projected short position");
    }
    return 0;
}

/* Short-sale check: a SELL may not take the account below zero counting open sells; a
 * SELL_SHORT needs an account that allows short selling. For a block, the accounts' available
 * long positions are added up. */
static int s_short_sale(const proj_state_t *st, const oms_new_order_t *no, rej_t *r)
{
    if (no->side == OMS_SIDE_BUY)
        return 0;
    const char *accounts[OMS_LIMIT_ALLOC_ACCOUNTS + 1];
    uint32_t n = 0;
    if (no->n_allocs == 0)
        accounts[n++] = no->account_id;
    for (uint32_t i = 0; i < no->n_allocs; i++)
        accounts[n++] = no->allocs[i].account_id;
    if (no->side == OMS_SIDE_SELL_SHORT) {
        for (uint32_t i = 0; i < n; i++) {
            const proj_account_t *a = proj_account(st, accounts[i]);
            if (!a->def.allow_short)
                return s_rej(r, "PTC-010", OMS_RR_SHORT_SALE, "account '%s' may not sell short",
                             accounts[i]);
        }
        return 0;
    }
    oms_dec_t avail = 0;
    for (uint32_t i = 0; i < n; i++) {
        const proj_position_t *p = proj_position(st, accounts[i], no->instrument_id);
        if (!p)
            continue;
        oms_dec_t a;
        if (oms_dec_sub(p->qty, p->open_sell_leaves, &a) != 0)
            return s_rej(r, "PTC-010", OMS_RR_NUMERIC_OVERFLOW, "available position overflows");
        if (a > 0 && oms_dec_add(avail, a, &avail) != 0)
            return s_rej(r, "PTC-010", OMS_RR_NUMERIC_OVERFLOW, "available position overflows");
    }
    if (no->qty > avail)
        return s_rej_num(r, "PTC-010", OMS_RR_SHORT_SALE, avail, no->qty,
                         "SELL larger than the available long position (use SELL_SHORT):");
    return 0;
}

static int s_new_order(const proj_state_t *st, const oms_cmd_t *cmd, int64_t ts, hnd_out_t *out,
                       rej_t *r)
{
    const oms_new_order_t *no = &cmd->u.new_order;
    /* Order fields (ORD-001) */
    if (!no->order_id[0])
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "order_id is required");
    if (no->side == OMS_SIDE_NONE)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "side is required");
    if (no->ord_type == OMS_ORD_TYPE_NONE)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "ord_type is required");
    if (no->tif == OMS_TIF_NONE)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "time_in_force is required");
    if (no->qty <= 0)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "quantity must be > 0");
    if (no->ord_type == OMS_ORD_LIMIT && (!no->price.set || no->price.v <= 0))
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "a LIMIT order needs a price > 0");
    if (no->ord_type == OMS_ORD_MARKET && no->price.set)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "a MARKET order carries no price");
    if (no->tif == OMS_TIF_GTD && no->expire_ts_ns <= ts)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "GTD needs an expiry in the future");
    if (no->tif != OMS_TIF_GTD && no->expire_ts_ns != 0)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "expire_ts_ns is for GTD orders only");
    if ((no->account_id[0] != '\0') == (no->n_allocs > 0))
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD,
                     "give either account_id (single account) or allocations (block)");
    if (proj_order(st, no->order_id))
        return s_rej(r, "ORD-002", OMS_RR_DUPLICATE_ORDER_ID, "order id '%s' is already used",
                     no->order_id);
    /* PTC-001 instrument */
    const proj_instrument_t *ins = proj_instrument(st, no->instrument_id);
    if (!ins)
        return s_rej(r, "PTC-001", OMS_RR_UNKNOWN_INSTRUMENT, "instrument '%s' is not defined",
                     no->instrument_id);
    if (!ins->def.active)
        return s_rej(r, "PTC-001", OMS_RR_INACTIVE_INSTRUMENT, "instrument '%s' is not active",
                     no->instrument_id);
    /* PTC-002 account(s) */
    oms_release_policy_t policy = OMS_RELEASE_AUTO;
    if (no->n_allocs == 0) {
        const proj_account_t *acc = proj_account(st, no->account_id);
        if (!acc)
            return s_rej(r, "PTC-002", OMS_RR_UNKNOWN_ACCOUNT, "account '%s' is not defined",
                         no->account_id);
        if (!acc->def.active)
            return s_rej(r, "PTC-002", OMS_RR_INACTIVE_ACCOUNT, "account '%s' is not active",
                         no->account_id);
        policy = acc->def.release_policy;
    } else {
        oms_opt_dec_t total = {true, no->qty};
        if (s_validate_allocs(no->allocs, no->n_allocs, &total, st, r, "ORD-001"))
            return 1;
        for (uint32_t i = 0; i < no->n_allocs; i++) {
            const proj_account_t *acc = proj_account(st, no->allocs[i].account_id);
            if (!acc->def.active)
                return s_rej(r, "PTC-002", OMS_RR_INACTIVE_ACCOUNT, "account '%s' is not active",
                             acc->def.account_id);
            if (acc->def.release_policy == OMS_RELEASE_FOUR_EYES)
                policy = OMS_RELEASE_FOUR_EYES; /* the strictest account decides */
        }
    }
    /* PTC-003 lot, PTC-004 tick */
    if (!oms_dec_is_multiple(no->qty, ins->def.lot_size)) {
        char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
        s_rej(r, "PTC-003", OMS_RR_BAD_LOT, "quantity %s is not a multiple of the lot size %s",
              s_fmt(no->qty, a), s_fmt(ins->def.lot_size, b));
        r->limit = (oms_opt_dec_t){true, ins->def.lot_size};
        r->actual = (oms_opt_dec_t){true, no->qty};
        return 1;
    }
    if (no->ord_type == OMS_ORD_LIMIT && !oms_dec_is_multiple(no->price.v, ins->def.tick_size)) {
        char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
        s_rej(r, "PTC-004", OMS_RR_BAD_TICK, "price %s is not a multiple of the tick size %s",
              s_fmt(no->price.v, a), s_fmt(ins->def.tick_size, b));
        r->limit = (oms_opt_dec_t){true, ins->def.tick_size};
        r->actual = (oms_opt_dec_t){true, no->price.v};
        return 1;
    }
    /* PTC-005..PTC-009 per account (a block: the firm-wide checks on its unallocated position,
     * then the restricted list and account limits of each receiving account for its share). */
    if (s_checks_account(st, no, ins, no->n_allocs ? "" : no->account_id, no->qty, r))
        return 1;
    for (uint32_t i = 0; i < no->n_allocs; i++) {
        const proj_restriction_t *rs =
            proj_restriction(st, no->instrument_id, no->allocs[i].account_id);
        if (rs && rs->restricted)
            return s_rej(r, "PTC-005", OMS_RR_RESTRICTED,
                         "instrument '%s' is restricted for account '%s': %s", no->instrument_id,
                         no->allocs[i].account_id, rs->reason);
    }
    /* PTC-010 short sale */
    if (s_short_sale(st, no, r))
        return 1;

    oms_event_t *ev = s_emit(out, OMS_EV_ORDER_ACCEPTED);
    ev->u.accepted.order = *no;
    ev->u.accepted.status =
        policy == OMS_RELEASE_FOUR_EYES ? OMS_ST_PENDING_RELEASE : OMS_ST_PENDING_NEW;
    oms_strlcpy(ev->u.accepted.entered_by, cmd->principal, OMS_ID_CAP);
    ev->u.accepted.release_policy = policy;
    return 0;
}

/* ---- order amendments ------------------------------------------------------------------------ */

static int s_invalid_transition(rej_t *r, const char *rule, const proj_order_t *o, const char *what)
{
    return s_rej(r, rule, OMS_RR_INVALID_TRANSITION, "%s is not allowed in status %s (order '%s')",
                 what, oms_status_name(o->status), o->order_id);
}

static int s_release(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    const proj_order_t *o = proj_order(st, cmd->u.release.order_id);
    if (!o)
        return s_rej(r, "ORD-003", OMS_RR_UNKNOWN_ORDER, "order '%s' is not known",
                     cmd->u.release.order_id);
    if (o->status != OMS_ST_PENDING_RELEASE)
        return s_invalid_transition(r, "ORD-004", o, "release");
    if (o->release_policy == OMS_RELEASE_FOUR_EYES && strcmp(o->entered_by, cmd->principal) == 0)
        return s_rej(r, "ENT-004", OMS_RR_FOUR_EYES_VIOLATION,
                     "order '%s' must be released by someone other than '%s', who entered it",
                     o->order_id, o->entered_by);
    oms_event_t *ev = s_emit(out, OMS_EV_ORDER_RELEASED);
    oms_strlcpy(ev->u.released.order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(ev->u.released.released_by, cmd->principal, OMS_ID_CAP);
    ev->u.released.status = OMS_ST_PENDING_NEW;
    oms_strlcpy(ev->u.released.text, cmd->u.release.text, OMS_TEXT_CAP);
    return 0;
}

static int s_cancel(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    const oms_cancel_order_t *c = &cmd->u.cancel;
    const proj_order_t *o = proj_order(st, c->order_id);
    if (!o)
        return s_rej(r, "ORD-003", OMS_RR_UNKNOWN_ORDER, "order '%s' is not known", c->order_id);
    if (o->status == OMS_ST_PENDING_RELEASE) {
        /* Staged: never sent, so the OMS cancels it itself. */
        oms_event_t *ev = s_emit(out, OMS_EV_ORDER_CANCELED);
        oms_ev_order_t *e = &ev->u.order;
        oms_strlcpy(e->h.order_id, o->order_id, OMS_ID_CAP);
        oms_strlcpy(e->h.cl_ord_id, o->cl_ord_id, OMS_ID_CAP);
        e->status = OMS_ST_CANCELED;
        oms_strlcpy(e->text, c->text, OMS_TEXT_CAP);
        e->cum_qty = o->cum;
        e->gone_qty = o->leaves;
        return 0;
    }
    if (o->status != OMS_ST_PENDING_NEW && o->status != OMS_ST_NEW &&
        o->status != OMS_ST_PARTIALLY_FILLED)
        return s_invalid_transition(r, "ORD-004", o, "cancel");
    if (!c->cl_ord_id[0])
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "a cancel request needs a cl_ord_id");
    if (proj_order_has_clordid(st, o, c->cl_ord_id))
        return s_rej(r, "ORD-005", OMS_RR_DUPLICATE_CL_ORD_ID,
                     "cl_ord_id '%s' was already used by order '%s'", c->cl_ord_id, o->order_id);
    oms_event_t *ev = s_emit(out, OMS_EV_CANCEL_REQUESTED);
    oms_ev_request_t *q = &ev->u.request;
    oms_strlcpy(q->order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(q->cl_ord_id, c->cl_ord_id, OMS_ID_CAP);
    oms_strlcpy(q->orig_cl_ord_id, o->cl_ord_id, OMS_ID_CAP);
    q->status = OMS_ST_PENDING_CANCEL;
    q->prior_status = o->status;
    oms_strlcpy(q->text, c->text, OMS_TEXT_CAP);
    return 0;
}

static int s_replace(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    const oms_replace_order_t *c = &cmd->u.replace;
    const proj_order_t *o = proj_order(st, c->order_id);
    if (!o)
        return s_rej(r, "ORD-003", OMS_RR_UNKNOWN_ORDER, "order '%s' is not known", c->order_id);
    if (o->status != OMS_ST_PENDING_NEW && o->status != OMS_ST_NEW &&
        o->status != OMS_ST_PARTIALLY_FILLED)
        return s_invalid_transition(r, "ORD-004", o, "replace");
    if (!c->new_cl_ord_id[0])
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "a replace needs a new_cl_ord_id");
    if (!c->qty.set && !c->price.set)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "a replace changes quantity or price");
    if (c->qty.set && c->qty.v <= 0)
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD, "quantity must be > 0");
    if (c->price.set && (o->ord_type != OMS_ORD_LIMIT || c->price.v <= 0))
        return s_rej(r, "ORD-001", OMS_RR_INVALID_FIELD,
                     "only a LIMIT order's price can be replaced, with a price > 0");
    if (proj_order_has_clordid(st, o, c->new_cl_ord_id))
        return s_rej(r, "ORD-005", OMS_RR_DUPLICATE_CL_ORD_ID,
                     "cl_ord_id '%s' was already used by order '%s'", c->new_cl_ord_id,
                     o->order_id);
    if (c->qty.set && c->qty.v < o->cum) {
        char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
        s_rej(r, "ORD-006", OMS_RR_REPLACE_BELOW_CUM, "new quantity %s is below cum %s",
              s_fmt(c->qty.v, a), s_fmt(o->cum, b));
        r->limit = (oms_opt_dec_t){true, o->cum};
        r->actual = c->qty;
        return 1;
    }
    const proj_instrument_t *ins = proj_instrument(st, o->instrument_id);
    if (ins && c->qty.set && !oms_dec_is_multiple(c->qty.v, ins->def.lot_size))
        return s_rej(r, "PTC-003", OMS_RR_BAD_LOT, "new quantity is not a multiple of the lot");
    if (ins && c->price.set && !oms_dec_is_multiple(c->price.v, ins->def.tick_size))
        return s_rej(r, "PTC-004", OMS_RR_BAD_TICK, "new price is not a multiple of the tick");
    oms_event_t *ev = s_emit(out, OMS_EV_REPLACE_REQUESTED);
    oms_ev_request_t *q = &ev->u.request;
    oms_strlcpy(q->order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(q->cl_ord_id, c->new_cl_ord_id, OMS_ID_CAP);
    oms_strlcpy(q->orig_cl_ord_id, o->cl_ord_id, OMS_ID_CAP);
    q->qty = c->qty;
    q->price = c->price;
    q->status = OMS_ST_PENDING_REPLACE;
    q->prior_status = o->status;
    oms_strlcpy(q->text, c->text, OMS_TEXT_CAP);
    return 0;
}

/* ---- venue reports -----------------------------------------------------------------------------
 */

static oms_event_t *s_order_event(hnd_out_t *out, oms_event_type_t t, const proj_order_t *o,
                                  const oms_venue_report_t *rep)
{
    oms_event_t *ev = s_emit(out, t);
    oms_ev_order_t *e = &ev->u.order;
    e->h = rep->h;
    oms_strlcpy(e->h.order_id, o->order_id, OMS_ID_CAP);
    if (!e->h.cl_ord_id[0])
        oms_strlcpy(e->h.cl_ord_id, o->cl_ord_id, OMS_ID_CAP);
    oms_strlcpy(e->text, rep->text, OMS_TEXT_CAP);
    return ev;
}

static void s_exec_fields(oms_ev_order_t *e, const proj_order_t *o)
{
    oms_strlcpy(e->account_id, o->account_id, OMS_ID_CAP);
    oms_strlcpy(e->instrument_id, o->instrument_id, OMS_ID_CAP);
    e->side = o->side;
}

static void s_exception(hnd_out_t *out, oms_exception_kind_t kind, const proj_order_t *o,
                        const oms_venue_hdr_t *h, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void s_exception(hnd_out_t *out, oms_exception_kind_t kind, const proj_order_t *o,
                        const oms_venue_hdr_t *h, const char *fmt, ...)
{
    oms_event_t *ev = s_emit(out, OMS_EV_EXCEPTION_RAISED);
    oms_ev_exception_t *x = &ev->u.exception;
    x->kind = kind;
    oms_strlcpy(x->order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(x->venue, h->venue, OMS_ID_CAP);
    oms_strlcpy(x->exec_id, h->exec_id, OMS_ID_CAP);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->text, sizeof x->text, fmt, ap);
    va_end(ap);
}

static bool s_is_late_state(oms_ord_status_t s)
{
    return s == OMS_ST_CANCELED || s == OMS_ST_EXPIRED || s == OMS_ST_DONE_FOR_DAY ||
           s == OMS_ST_REJECTED;
}

/* Status after cum changed (fill, bust, correct), from the status before. */
static oms_ord_status_t s_status_after_qty(oms_ord_status_t before, oms_dec_t cum, oms_dec_t qty)
{
    if (s_is_late_state(before))
        return before;
    if (cum >= qty)
        return OMS_ST_FILLED;
    if (before == OMS_ST_PENDING_CANCEL || before == OMS_ST_PENDING_REPLACE)
        return before;
    if (before == OMS_ST_PENDING_NEW && cum == 0)
        return OMS_ST_PENDING_NEW;
    return cum > 0 ? OMS_ST_PARTIALLY_FILLED : OMS_ST_NEW;
}

static oms_dec_t s_leaves(oms_ord_status_t st_after, oms_dec_t qty, oms_dec_t cum)
{
    if (oms_status_is_terminal(st_after) || st_after == OMS_ST_DONE_FOR_DAY || cum >= qty)
        return 0;
    return qty - cum;
}

static oms_opt_dec_t s_avg(oms_e16_t sum, oms_dec_t cum)
{
    return proj_avg_px(sum, cum);
}

static int s_fill(const proj_state_t *st, const proj_order_t *o, const oms_venue_report_t *rep,
                  hnd_out_t *out, rej_t *r)
{
    if (o->status == OMS_ST_PENDING_RELEASE)
        return s_invalid_transition(r, "EXE-002", o, "a fill");
    if (rep->last_qty <= 0 || rep->last_px <= 0)
        return s_rej(r, "EXE-005", OMS_RR_INVALID_FIELD, "fill quantity and price must be > 0");
    if (!rep->h.venue[0] || !rep->h.exec_id[0])
        return s_rej(r, "EXE-005", OMS_RR_INVALID_FIELD, "a fill needs venue and exec_id");
    (void)st;
    oms_dec_t cum;
    if (oms_dec_add(o->cum, rep->last_qty, &cum) != 0)
        return s_rej(r, "EXE-005", OMS_RR_NUMERIC_OVERFLOW, "cum quantity overflows");
    bool late = s_is_late_state(o->status);
    bool overfill = cum > o->qty;
    oms_ord_status_t after = s_status_after_qty(o->status, cum, o->qty);
    oms_event_t *ev = s_order_event(out, OMS_EV_ORDER_FILLED, o, rep);
    oms_ev_order_t *e = &ev->u.order;
    e->status = after;
    e->last_qty = rep->last_qty;
    e->last_px = rep->last_px;
    e->cum_qty = cum;
    e->leaves_qty = s_leaves(after, o->qty, cum);
    e->avg_px = s_avg(o->px_qty_sum + (oms_e16_t)rep->last_qty * rep->last_px, cum);
    e->overfill = overfill;
    e->late = late;
    s_exec_fields(e, o);
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], c[OMS_DEC_STR_MAX];
    if (late)
        s_exception(out, OMS_EXC_LATE_FILL, o, &rep->h, "fill of %s on a %s order; cum now %s",
                    s_fmt(rep->last_qty, a), oms_status_name(o->status), s_fmt(cum, b));
    else if (overfill)
        s_exception(out, OMS_EXC_OVERFILL, o, &rep->h, "overfill: cum %s > order quantity %s",
                    s_fmt(cum, a), s_fmt(o->qty, b));
    if (o->ord_type == OMS_ORD_LIMIT && o->price.set && out->n < out->cap &&
        ((o->side == OMS_SIDE_BUY && rep->last_px > o->price.v) ||
         (o->side != OMS_SIDE_BUY && rep->last_px < o->price.v)))
        s_exception(out, OMS_EXC_FILL_THROUGH_LIMIT, o, &rep->h,
                    "fill price %s is through the limit %s (%s)", s_fmt(rep->last_px, a),
                    s_fmt(o->price.v, b), s_fmt(o->qty, c));
    return 0;
}

static int s_bust_correct(const proj_state_t *st, const proj_order_t *o,
                          const oms_venue_report_t *rep, bool correct, hnd_out_t *out, rej_t *r)
{
    const proj_exec_t *x = proj_exec(st, rep->h.venue, rep->ref_exec_id);
    const proj_order_t *xo = x ? proj_at(st, PROJ_T_ORDER, x->order) : NULL;
    if (!x || xo != o)
        return s_rej(r, "EXE-004", OMS_RR_UNKNOWN_EXEC,
                     "no fill '%s' from venue '%s' on order '%s'", rep->ref_exec_id, rep->h.venue,
                     o->order_id);
    if (x->busted)
        return s_rej(r, "EXE-004", OMS_RR_UNKNOWN_EXEC, "fill '%s' is already busted",
                     rep->ref_exec_id);
    if (correct && (rep->last_qty <= 0 || rep->last_px <= 0))
        return s_rej(r, "EXE-005", OMS_RR_INVALID_FIELD,
                     "corrected quantity and price must be > 0");
    oms_dec_t cum = o->cum - x->qty;
    oms_e16_t sum = o->px_qty_sum - (oms_e16_t)x->qty * x->px;
    if (correct) {
        if (oms_dec_add(cum, rep->last_qty, &cum) != 0)
            return s_rej(r, "EXE-005", OMS_RR_NUMERIC_OVERFLOW, "cum quantity overflows");
        sum += (oms_e16_t)rep->last_qty * rep->last_px;
    }
    oms_ord_status_t after = s_status_after_qty(o->status, cum, o->qty);
    /* A bust on a FILLED order reopens it only while it may still trade. */
    if (o->status == OMS_ST_FILLED && cum < o->qty)
        after = cum > 0 ? OMS_ST_PARTIALLY_FILLED : OMS_ST_NEW;
    oms_event_t *ev =
        s_order_event(out, correct ? OMS_EV_TRADE_CORRECTED : OMS_EV_TRADE_BUSTED, o, rep);
    oms_ev_order_t *e = &ev->u.order;
    e->status = after;
    oms_strlcpy(e->ref_exec_id, rep->ref_exec_id, OMS_ID_CAP);
    e->last_qty = x->qty;
    e->last_px = x->px;
    if (correct) {
        e->new_qty = rep->last_qty;
        e->new_px = rep->last_px;
    }
    e->cum_qty = cum;
    e->leaves_qty = s_leaves(after, o->qty, cum);
    e->avg_px = s_avg(sum, cum);
    s_exec_fields(e, o);
    if (o->is_block && o->allocated_qty > 0)
        s_exception(out, OMS_EXC_BUST_AFTER_ALLOCATION, o, &rep->h,
                    "%s of fill '%s' on a block with booked allocations",
                    correct ? "correction" : "bust", rep->ref_exec_id);
    else if (correct && cum > o->qty)
        s_exception(out, OMS_EXC_OVERFILL, o, &rep->h, "correction leaves the order overfilled");
    return 0;
}

static int s_venue(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r,
                   hnd_outcome_t *outcome)
{
    const oms_venue_report_t *rep = &cmd->u.report;
    const proj_order_t *o = proj_order(st, rep->h.order_id);
    if (!o)
        return s_rej(r, "EXE-001", OMS_RR_UNKNOWN_ORDER, "order '%s' is not known",
                     rep->h.order_id);
    if (cmd->type == OMS_CMD_VENUE_FILL && rep->h.venue[0] && rep->h.exec_id[0]) {
        const proj_exec_t *x = proj_exec(st, rep->h.venue, rep->h.exec_id);
        if (x) {
            const proj_order_t *xo = proj_at(st, PROJ_T_ORDER, x->order);
            if (xo == o && x->qty == rep->last_qty && x->px == rep->last_px && !x->busted) {
                *outcome = HND_DUPLICATE; /* the same fill again: already applied */
                return 0;
            }
            return s_rej(r, "EXE-003", OMS_RR_DUPLICATE_EXEC,
                         "exec '%s' from venue '%s' was already applied with other content",
                         rep->h.exec_id, rep->h.venue);
        }
    }
    switch (cmd->type) {
    case OMS_CMD_VENUE_FILL:
        return s_fill(st, o, rep, out, r);
    case OMS_CMD_TRADE_BUST:
        return s_bust_correct(st, o, rep, false, out, r);
    case OMS_CMD_TRADE_CORRECT:
        return s_bust_correct(st, o, rep, true, out, r);
    case OMS_CMD_VENUE_ACK: {
        oms_ord_status_t after;
        if (o->status == OMS_ST_PENDING_NEW)
            after = OMS_ST_NEW;
        else if ((o->status == OMS_ST_PENDING_CANCEL || o->status == OMS_ST_PENDING_REPLACE) &&
                 o->prior_status == OMS_ST_PENDING_NEW)
            after = o->status; /* the ack overtook our request: stays pending */
        else
            return s_invalid_transition(r, "EXE-002", o, "a venue ack");
        oms_event_t *ev = s_order_event(out, OMS_EV_ORDER_ACKNOWLEDGED, o, rep);
        ev->u.order.status = after;
        return 0;
    }
    case OMS_CMD_VENUE_REJECT: {
        if (o->status != OMS_ST_PENDING_NEW)
            return s_invalid_transition(r, "EXE-002", o, "a venue reject");
        oms_event_t *ev = s_order_event(out, OMS_EV_ORDER_REJECTED_BY_VENUE, o, rep);
        ev->u.order.status = OMS_ST_REJECTED;
        return 0;
    }
    case OMS_CMD_VENUE_CANCEL_ACK: {
        if (o->status != OMS_ST_PENDING_CANCEL)
            return s_invalid_transition(r, "EXE-002", o, "a cancel confirmation");
        if (rep->h.cl_ord_id[0] && strcmp(rep->h.cl_ord_id, o->pending_cl_ord_id) != 0)
            return s_rej(r, "EXE-006", OMS_RR_CL_ORD_ID_MISMATCH,
                         "cancel confirmation for '%s' but the pending request is '%s'",
                         rep->h.cl_ord_id, o->pending_cl_ord_id);
        oms_event_t *ev = s_order_event(out, OMS_EV_ORDER_CANCELED, o, rep);
        oms_strlcpy(ev->u.order.h.cl_ord_id, o->pending_cl_ord_id, OMS_ID_CAP);
        ev->u.order.status = OMS_ST_CANCELED;
        ev->u.order.cum_qty = o->cum;
        ev->u.order.gone_qty = o->leaves;
        return 0;
    }
    case OMS_CMD_VENUE_CANCEL_REJECT:
    case OMS_CMD_VENUE_REPLACE_REJECT: {
        bool cancel = cmd->type == OMS_CMD_VENUE_CANCEL_REJECT;
        if (o->status != (cancel ? OMS_ST_PENDING_CANCEL : OMS_ST_PENDING_REPLACE))
            return s_invalid_transition(r, "EXE-002", o,
                                        cancel ? "a cancel reject" : "a replace reject");
        if (rep->h.cl_ord_id[0] && strcmp(rep->h.cl_ord_id, o->pending_cl_ord_id) != 0)
            return s_rej(r, "EXE-006", OMS_RR_CL_ORD_ID_MISMATCH,
                         "reject for '%s' but the pending request is '%s'", rep->h.cl_ord_id,
                         o->pending_cl_ord_id);
        oms_event_t *ev =
            s_order_event(out, cancel ? OMS_EV_CANCEL_REJECTED : OMS_EV_REPLACE_REJECTED, o, rep);
        oms_strlcpy(ev->u.order.h.cl_ord_id, o->pending_cl_ord_id, OMS_ID_CAP);
        /* Back to the status before the request, as fills and busts during the request left
         * it: a bust of the only fill makes a PARTIALLY_FILLED order NEW again, a fill makes a
         * NEW order PARTIALLY_FILLED. */
        ev->u.order.status = s_status_after_qty(o->prior_status, o->cum, o->qty);
        return 0;
    }
    case OMS_CMD_VENUE_REPLACE_ACK: {
        if (o->status != OMS_ST_PENDING_REPLACE)
            return s_invalid_transition(r, "EXE-002", o, "a replace confirmation");
        if (rep->h.cl_ord_id[0] && strcmp(rep->h.cl_ord_id, o->pending_cl_ord_id) != 0)
            return s_rej(r, "EXE-006", OMS_RR_CL_ORD_ID_MISMATCH,
                         "replace confirmation for '%s' but the pending request is '%s'",
                         rep->h.cl_ord_id, o->pending_cl_ord_id);
        oms_dec_t qty = o->pending_qty.set ? o->pending_qty.v : o->qty;
        oms_event_t *ev = s_order_event(out, OMS_EV_ORDER_REPLACED, o, rep);
        oms_ev_order_t *e = &ev->u.order;
        oms_strlcpy(e->h.cl_ord_id, o->pending_cl_ord_id, OMS_ID_CAP);
        oms_strlcpy(e->orig_cl_ord_id, o->cl_ord_id, OMS_ID_CAP);
        e->qty = qty;
        e->price = o->pending_price.set ? o->pending_price : o->price;
        e->cum_qty = o->cum;
        /* The prior status decides: an unacknowledged order stays PENDING_NEW. */
        if (o->cum >= qty)
            e->status = OMS_ST_FILLED;
        else if (o->cum > 0)
            e->status = OMS_ST_PARTIALLY_FILLED;
        else
            e->status = o->prior_status == OMS_ST_PENDING_NEW ? OMS_ST_PENDING_NEW : OMS_ST_NEW;
        e->leaves_qty = s_leaves(e->status, qty, o->cum);
        if (o->cum > qty) {
            char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
            s_exception(out, OMS_EXC_OVERFILL, o, &rep->h,
                        "replace confirmed at %s below cum %s (fills during the request)",
                        s_fmt(qty, a), s_fmt(o->cum, b));
        }
        return 0;
    }
    case OMS_CMD_VENUE_EXPIRE:
    case OMS_CMD_VENUE_DONE_FOR_DAY: {
        bool exp = cmd->type == OMS_CMD_VENUE_EXPIRE;
        if (o->status != OMS_ST_NEW && o->status != OMS_ST_PARTIALLY_FILLED)
            return s_invalid_transition(r, "EXE-002", o, exp ? "an expiry" : "done for day");
        oms_event_t *ev =
            s_order_event(out, exp ? OMS_EV_ORDER_EXPIRED : OMS_EV_ORDER_DONE_FOR_DAY, o, rep);
        ev->u.order.status = exp ? OMS_ST_EXPIRED : OMS_ST_DONE_FOR_DAY;
        ev->u.order.cum_qty = o->cum;
        if (exp)
            ev->u.order.gone_qty = o->leaves;
        else
            ev->u.order.leaves_qty = o->qty - o->cum;
        return 0;
    }
    default:
        break;
    }
    return s_rej(r, "CMD-003", OMS_RR_UNKNOWN_COMMAND, "not a venue report");
}

/* ---- allocations -------------------------------------------------------------------------------
 */

static int s_part_cmp(const void *a, const void *b)
{
    return strcmp(((const oms_alloc_part_t *)a)->account_id,
                  ((const oms_alloc_part_t *)b)->account_id);
}

static int s_allocate(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    const oms_allocate_t *c = &cmd->u.allocate;
    const proj_order_t *o = proj_order(st, c->order_id);
    if (!o)
        return s_rej(r, "ORD-003", OMS_RR_UNKNOWN_ORDER, "order '%s' is not known", c->order_id);
    if (!o->is_block)
        return s_rej(r, "ALC-001", OMS_RR_NOT_A_BLOCK, "order '%s' is not a block", c->order_id);
    if (!c->alloc_id[0])
        return s_rej(r, "ALC-003", OMS_RR_INVALID_FIELD, "alloc_id is required");
    if (proj_alloc(st, c->order_id, c->alloc_id))
        return s_rej(r, "ALC-002", OMS_RR_DUPLICATE_ALLOC_ID, "allocation '%s' already exists",
                     c->alloc_id);
    if (c->qty.set && c->qty.v <= 0)
        return s_rej(r, "ALC-003", OMS_RR_INVALID_FIELD, "quantity must be > 0");
    oms_dec_t unalloc = o->cum - o->allocated_qty;
    oms_dec_t qty = c->qty.set ? c->qty.v : unalloc;

    /* The instructions: the override, else the order's own. */
    const oms_alloc_instr_t *ins = c->allocs;
    uint32_t n = c->n_allocs;
    if (n == 0) {
        oms_alloc_instr_t *copy = oms_arena_alloc(out->arena, sizeof *copy * o->n_instrs);
        if (!copy)
            return -1;
        uint32_t k = 0;
        for (uint32_t i = o->first_instr; i != PROJ_NIL && k < o->n_instrs; k++) {
            const proj_instr_t *pi = proj_at(st, PROJ_T_INSTR, i);
            copy[k] = pi->instr;
            i = pi->next;
        }
        ins = copy;
        n = k;
    }
    oms_opt_dec_t total = {true, qty};
    /* Quantity targets must sum to what is allocated; the order's own targets describe the whole
     * block, so for a partial allocation they act as weights. */
    if (s_validate_allocs(ins, n, c->n_allocs ? &total : NULL, st, r, "ALC-003"))
        return 1;

    oms_reject_reason_t why = OMS_RR_NONE;
    const char *rule = NULL;
    char text[OMS_TEXT_CAP] = "";
    const proj_instrument_t *instr = proj_instrument(st, o->instrument_id);
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
    if (unalloc <= 0 || qty > unalloc) {
        why = OMS_RR_NOTHING_TO_ALLOCATE;
        rule = "ALC-004";
        snprintf(text, sizeof text, "asked %s but %s is unallocated", s_fmt(qty, a),
                 s_fmt(unalloc, b));
    } else if (!instr || !oms_dec_is_multiple(qty, instr->def.lot_size)) {
        why = OMS_RR_ALLOC_NOT_LOTS;
        rule = "ALC-005";
        snprintf(text, sizeof text, "%s is not a whole number of lots", s_fmt(qty, a));
    }
    oms_dec_t *split = NULL;
    if (why == OMS_RR_NONE) {
        split = oms_arena_alloc(out->arena, sizeof *split * n);
        if (!split)
            return -1;
        if (proj_split_lots(ins, n, qty, instr->def.lot_size, split) != 0) {
            why = OMS_RR_ALLOC_NOT_LOTS;
            rule = "ALC-005";
            snprintf(text, sizeof text, "%s cannot be split into whole lots", s_fmt(qty, a));
        }
    }
    if (why != OMS_RR_NONE) {
        oms_event_t *ev = s_emit(out, OMS_EV_ALLOCATION_REJECTED);
        oms_ev_alloc_t *e = &ev->u.alloc;
        oms_strlcpy(e->order_id, o->order_id, OMS_ID_CAP);
        oms_strlcpy(e->alloc_id, c->alloc_id, OMS_ID_CAP);
        e->reason = why;
        oms_strlcpy(e->rule_id, rule, OMS_RULE_CAP);
        oms_strlcpy(e->text, text, OMS_TEXT_CAP);
        e->asked_qty = c->qty;
        e->status = OMS_ALLOC_ST_REJECTED;
        return 0;
    }
    oms_alloc_part_t *parts = oms_arena_alloc(out->arena, sizeof *parts * n);
    if (!parts)
        return -1;
    oms_opt_dec_t avg = proj_order_avg_px(o);
    uint32_t np = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (split[i] == 0)
            continue;
        oms_strlcpy(parts[np].account_id, ins[i].account_id, OMS_ID_CAP);
        parts[np].qty = split[i];
        parts[np].px = avg.v;
        np++;
    }
    if (np > 1)
        qsort(parts, np, sizeof *parts, s_part_cmp);
    oms_event_t *ev = s_emit(out, OMS_EV_ALLOCATION_BOOKED);
    oms_ev_alloc_t *e = &ev->u.alloc;
    oms_strlcpy(e->order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(e->alloc_id, c->alloc_id, OMS_ID_CAP);
    oms_strlcpy(e->instrument_id, o->instrument_id, OMS_ID_CAP);
    e->side = o->side;
    e->qty = qty;
    e->avg_px = avg.v;
    e->parts = parts;
    e->n_parts = np;
    e->instrs = ins;
    e->n_instrs = n;
    e->status = OMS_ALLOC_ST_BOOKED;
    oms_strlcpy(e->text, c->text, OMS_TEXT_CAP);
    return 0;
}

static int s_reverse(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    const oms_reverse_alloc_t *c = &cmd->u.reverse;
    const proj_order_t *o = proj_order(st, c->order_id);
    if (!o)
        return s_rej(r, "ORD-003", OMS_RR_UNKNOWN_ORDER, "order '%s' is not known", c->order_id);
    const proj_alloc_t *al = proj_alloc(st, c->order_id, c->alloc_id);
    if (!al)
        return s_rej(r, "ALC-006", OMS_RR_UNKNOWN_ALLOCATION, "allocation '%s' is not known",
                     c->alloc_id);
    if (al->status != OMS_ALLOC_ST_BOOKED)
        return s_rej(r, "ALC-007", OMS_RR_INVALID_TRANSITION,
                     "allocation '%s' is not booked and cannot be reversed", c->alloc_id);
    oms_alloc_part_t *parts = oms_arena_alloc(out->arena, sizeof *parts * (al->n_parts + 1));
    if (!parts)
        return -1;
    uint32_t k = 0;
    for (uint32_t i = al->first_part; i != PROJ_NIL && k < al->n_parts; k++) {
        const proj_part_t *p = proj_at(st, PROJ_T_PART, i);
        parts[k] = p->part;
        i = p->next;
    }
    oms_event_t *ev = s_emit(out, OMS_EV_ALLOCATION_REVERSED);
    oms_ev_alloc_t *e = &ev->u.alloc;
    oms_strlcpy(e->order_id, o->order_id, OMS_ID_CAP);
    oms_strlcpy(e->alloc_id, al->alloc_id, OMS_ID_CAP);
    oms_strlcpy(e->instrument_id, o->instrument_id, OMS_ID_CAP);
    e->side = o->side;
    e->qty = al->qty;
    e->parts = parts;
    e->n_parts = k;
    e->status = OMS_ALLOC_ST_REVERSED;
    oms_strlcpy(e->text, c->reason, OMS_TEXT_CAP);
    return 0;
}

/* ---- end of day
 * ---------------------------------------------------------------------------------- */

static bool s_valid_date(const char *d)
{
    int64_t ns;
    return strlen(d) == 10 && oms_clock_parse_iso(d, &ns) == 0;
}

/* EndOfDay's choice: an order (index) and its created_seq, kept in a max-heap on the seq. */
typedef struct {
    uint64_t seq;
    uint32_t idx;
} eod_pick_t;

static void s_eod_sift_down(eod_pick_t *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].seq > h[m].seq)
            m = l;
        if (r < n && h[r].seq > h[m].seq)
            m = r;
        if (m == i)
            return;
        eod_pick_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void s_eod_sift_up(eod_pick_t *h, uint32_t i)
{
    while (i > 0 && h[(i - 1) / 2].seq < h[i].seq) {
        eod_pick_t t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* Expires working DAY orders in creation (created_seq) order, at most HND_EOD_MAX_EXPIRIES and
 * what the output can take per command. The order is the orders' creation order, not their
 * place in the state's table: an engine that loaded some orders on demand (engine.h) holds them
 * in another order and must answer the same. The k earliest are chosen with a bounded max-heap
 * (48 KiB on the stack), then emitted in seq order. Cannot fail. */
static int s_end_of_day(const proj_state_t *st, const oms_cmd_t *cmd, hnd_out_t *out, rej_t *r)
{
    const char *date = cmd->u.eod.trade_date;
    if (!s_valid_date(date))
        return s_rej(r, "EOD-002", OMS_RR_INVALID_FIELD, "trade_date '%s' is not YYYY-MM-DD", date);
    const char *last = proj_trade_date(st, NULL);
    if (last[0] && strcmp(date, last) <= 0)
        return s_rej(r, "EOD-001", OMS_RR_DAY_ALREADY_PROCESSED,
                     "trade date %s is not after the last processed day %s", date, last);
    eod_pick_t heap[HND_EOD_MAX_EXPIRIES];
    uint32_t k = out->cap - out->n - 1; /* room for the expiries and EndOfDayProcessed */
    if (k > HND_EOD_MAX_EXPIRIES)
        k = HND_EOD_MAX_EXPIRIES;
    uint32_t n = proj_count(st, PROJ_T_ORDER), held = 0;
    bool complete = true;
    for (uint32_t i = 0; i < n; i++) {
        const proj_order_t *o = proj_at(st, PROJ_T_ORDER, i);
        if (o->tif != OMS_TIF_DAY || !proj_status_working(o->status))
            continue;
        if (held < k) {
            heap[held] = (eod_pick_t){o->created_seq, i};
            s_eod_sift_up(heap, held++);
            continue;
        }
        complete = false;
        if (k > 0 && o->created_seq < heap[0].seq) {
            heap[0] = (eod_pick_t){o->created_seq, i};
            s_eod_sift_down(heap, held, 0);
        }
    }
    /* Heap sort: the largest goes to the end each round, leaving heap[0..held) ascending. */
    for (uint32_t m = held; m > 1; m--) {
        eod_pick_t t = heap[0];
        heap[0] = heap[m - 1];
        heap[m - 1] = t;
        s_eod_sift_down(heap, m - 1, 0);
    }
    for (uint32_t j = 0; j < held; j++) {
        const proj_order_t *o = proj_at(st, PROJ_T_ORDER, heap[j].idx);
        oms_event_t *ev = s_emit(out, OMS_EV_ORDER_EXPIRED);
        oms_ev_order_t *e = &ev->u.order;
        oms_strlcpy(e->h.order_id, o->order_id, OMS_ID_CAP);
        oms_strlcpy(e->h.cl_ord_id, o->cl_ord_id, OMS_ID_CAP);
        e->status = OMS_ST_EXPIRED;
        oms_strlcpy(e->text, "DAY order expired at end of day", OMS_TEXT_CAP);
        e->cum_qty = o->cum;
        e->gone_qty = o->leaves;
        oms_strlcpy(e->trade_date, date, OMS_DATE_CAP);
    }
    if (complete) {
        oms_event_t *ev = s_emit(out, OMS_EV_END_OF_DAY_PROCESSED);
        oms_strlcpy(ev->u.eod.trade_date, date, OMS_DATE_CAP);
        ev->u.eod.orders_expired = held;
    }
    return 0;
}

/* ---- dispatch
 * ------------------------------------------------------------------------------------- */

int hnd_decide(const proj_state_t *st, const oms_cmd_t *cmd, int64_t ts_ns, hnd_out_t *out,
               hnd_outcome_t *outcome)
{
    assert(st && cmd && out && outcome);
    *outcome = HND_APPLIED;
    uint32_t need = cmd->type == OMS_CMD_END_OF_DAY ? 2 : HND_MAX_EVENTS_PER_COMMAND;
    if (out->cap - out->n < need)
        return OMS_ERR_LIMIT;
    uint32_t n0 = out->n;
    size_t arena0 = out->arena ? out->arena->used : 0;
    rej_t r; /* members set one by one: clearing all of text costs more than the rest */
    r.rule = NULL;
    r.reason = OMS_RR_NONE;
    r.text[0] = '\0';
    r.limit = (oms_opt_dec_t){false, 0};
    r.actual = (oms_opt_dec_t){false, 0};
    int rc = 0;
    if (cmd->invalid != OMS_RR_NONE) {
        const char *rule = cmd->invalid == OMS_RR_INPUT_LIMIT       ? "CMD-002"
                           : cmd->invalid == OMS_RR_UNKNOWN_COMMAND ? "CMD-003"
                                                                    : "CMD-001";
        rc = s_rej(&r, rule, cmd->invalid, "%s", cmd->invalid_text);
    } else if (cmd->type == OMS_CMD_NONE || s_roles_for(cmd->type) == 0) {
        rc = s_rej(&r, "CMD-003", OMS_RR_UNKNOWN_COMMAND, "command has no known body");
    } else if ((rc = s_authorize(st, cmd, &r)) == 0) {
        switch (cmd->type) {
        case OMS_CMD_NEW_ORDER:
            rc = s_new_order(st, cmd, ts_ns, out, &r);
            break;
        case OMS_CMD_RELEASE_ORDER:
            rc = s_release(st, cmd, out, &r);
            break;
        case OMS_CMD_CANCEL_ORDER:
            rc = s_cancel(st, cmd, out, &r);
            break;
        case OMS_CMD_REPLACE_ORDER:
            rc = s_replace(st, cmd, out, &r);
            break;
        case OMS_CMD_ALLOCATE:
            rc = s_allocate(st, cmd, out, &r);
            break;
        case OMS_CMD_REVERSE_ALLOCATION:
            rc = s_reverse(st, cmd, out, &r);
            break;
        case OMS_CMD_END_OF_DAY:
            rc = s_end_of_day(st, cmd, out, &r);
            break;
        default:
            if (cmd->type >= OMS_CMD_VENUE_ACK && cmd->type <= OMS_CMD_TRADE_CORRECT)
                rc = s_venue(st, cmd, out, &r, outcome);
            else
                rc = s_refdata(st, cmd, out, &r);
            break;
        }
    }
    if (rc < 0) {
        out->n = n0; /* arena full: nothing emitted */
        if (out->arena)
            out->arena->used = arena0;
        return OMS_ERR_NOMEM;
    }
    if (rc > 0) {
        out->n = n0; /* a rule fired: only the rejection */
        bool order_rej = cmd->type == OMS_CMD_NEW_ORDER && cmd->u.new_order.order_id[0] &&
                         r.reason != OMS_RR_DUPLICATE_ORDER_ID &&
                         !proj_order(st, cmd->u.new_order.order_id) &&
                         cmd->invalid == OMS_RR_NONE && strncmp(r.rule, "ENT", 3) != 0;
        s_emit_reject(out, cmd, &r, order_rej);
    }
    return 0;
}
