/*
 * refdata.c - the reference data the engine and replay benchmarks trade against: principals
 * (admin, comp, pm, trader, venue), accounts ACC00.. (auto release, short allowed), equities
 * SYM000.. (USD, lot 1, tick 0.01) with reference price 100, and wide firm limits, as commands.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

uint32_t bench_refdata_cmds(oms_cmd_t *cmds, uint32_t n_accounts, uint32_t n_instruments)
{
    uint32_t n = 0;
    static const struct {
        const char *id;
        oms_role_t role;
    } who[] = {{"admin", OMS_ROLE_ADMIN},
               {"comp", OMS_ROLE_COMPLIANCE},
               {"pm", OMS_ROLE_PORTFOLIO_MANAGER},
               {"trader", OMS_ROLE_TRADER},
               {"venue", OMS_ROLE_VENUE}};
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++, n++) {
        oms_cmd_t *c = &cmds[n];
        c->type = OMS_CMD_DEFINE_PRINCIPAL;
        oms_strlcpy(c->principal, "admin", OMS_ID_CAP);
        snprintf(c->command_id, OMS_ID_CAP, "setup%u", n);
        oms_strlcpy(c->u.principal_def.principal_id, who[i].id, OMS_ID_CAP);
        c->u.principal_def.roles = 1u << who[i].role;
        c->u.principal_def.active = true;
    }
    for (uint32_t i = 0; i < n_accounts; i++, n++) {
        oms_cmd_t *c = &cmds[n];
        c->type = OMS_CMD_DEFINE_ACCOUNT;
        oms_strlcpy(c->principal, "admin", OMS_ID_CAP);
        snprintf(c->command_id, OMS_ID_CAP, "setup%u", n);
        snprintf(c->u.account.account_id, OMS_ID_CAP, "ACC%02u", i);
        oms_strlcpy(c->u.account.name, c->u.account.account_id, OMS_ID_CAP);
        c->u.account.active = true;
        c->u.account.release_policy = OMS_RELEASE_AUTO;
        c->u.account.allow_short = true;
    }
    for (uint32_t i = 0; i < n_instruments; i++, n += 2) {
        oms_cmd_t *c = &cmds[n];
        c->type = OMS_CMD_DEFINE_INSTRUMENT;
        oms_strlcpy(c->principal, "admin", OMS_ID_CAP);
        snprintf(c->command_id, OMS_ID_CAP, "setup%u", n);
        oms_instrument_def_t *d = &c->u.instrument;
        snprintf(d->instrument_id, OMS_ID_CAP, "SYM%03u", i);
        oms_strlcpy(d->symbol, d->instrument_id, OMS_ID_CAP);
        d->asset_class = OMS_ASSET_EQUITY;
        memcpy(d->currency, "USD", 4);
        d->multiplier = OMS_DEC_SCALE;
        d->lot_size = OMS_DEC_SCALE;
        d->tick_size = OMS_DEC_SCALE / 100;
        d->active = true;
        c = &cmds[n + 1];
        c->type = OMS_CMD_SET_REFERENCE_PRICE;
        oms_strlcpy(c->principal, "admin", OMS_ID_CAP);
        snprintf(c->command_id, OMS_ID_CAP, "setup%u", n + 1);
        oms_strlcpy(c->u.ref_price.instrument_id, d->instrument_id, OMS_ID_CAP);
        c->u.ref_price.price = 100 * OMS_DEC_SCALE;
    }
    oms_cmd_t *c = &cmds[n];
    c->type = OMS_CMD_SET_LIMITS;
    oms_strlcpy(c->principal, "comp", OMS_ID_CAP);
    snprintf(c->command_id, OMS_ID_CAP, "setup%u", n++);
    oms_limits_def_t *l = &c->u.limits;
    l->scope = OMS_SCOPE_FIRM;
    l->max_order_qty = (oms_opt_dec_t){true, 1000000 * OMS_DEC_SCALE};
    l->max_order_notional = (oms_opt_dec_t){true, 100000000 * OMS_DEC_SCALE};
    l->max_position_long = (oms_opt_dec_t){true, 1000000000 * OMS_DEC_SCALE};
    l->max_position_short = (oms_opt_dec_t){true, 1000000000 * OMS_DEC_SCALE};
    l->collar_pct = (oms_opt_dec_t){true, OMS_DEC_SCALE / 5};
    return n;
}
