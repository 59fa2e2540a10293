/*
 * omsd_demo.c - `omsd --demo-data`: reference data to try the system with, loaded through the
 * normal command path (encoded, decoded, sequenced, appended, published) as principal "admin",
 * which the first command defines (the bootstrap rule: while no principal exists, the first
 * DefinePrincipal granting ADMIN is accepted from anyone).
 *
 *   principals   admin (ADMIN), pm (PORTFOLIO_MANAGER), trader (TRADER), ops (OPERATIONS),
 *                venue (VENUE), compliance (COMPLIANCE)
 *   instruments  AAPL, MSFT (equities, USD, lot 1, tick 0.01), ESZ6 (future, USD, x50, lot 1,
 *                tick 0.25), with reference prices 190, 420 and 5000
 *   accounts     ACC1, ACC2, ACC3 (auto release), FE (four-eyes release)
 *   firm limits  at most 100,000 units and 50,000,000 (instrument currency) notional per order,
 *                limit prices within 10% of the reference price; no position limits (the
 *                benchmarks build large positions)
 *
 * Every command has a fixed id and a fixed client time (0), so its bytes are the same on every
 * start: a restart with --demo-data gets DUPLICATE for each and appends nothing.
 */
#include "omsd.h"

#include "codec.h"

#include <assert.h>
#include <string.h>

enum {
    DEMO_MAX = 32,         /* commands in the demo set */
    DEMO_CMD_BYTES = 1024, /* one encoded demo command */
};

typedef struct {
    oms_cmd_t cmds[DEMO_MAX]; /* the commands, in order */
    uint32_t n;               /* how many */
} demo_t;

static oms_cmd_t *s_add(demo_t *d, oms_cmd_type_t type, const char *id_kind, const char *id)
{
    assert(d->n < DEMO_MAX);
    oms_cmd_t *c = &d->cmds[d->n++];
    memset(c, 0, sizeof *c);
    c->type = type;
    snprintf(c->command_id, OMS_ID_CAP, "demo-%s-%s", id_kind, id);
    oms_strlcpy(c->principal, "admin", OMS_ID_CAP);
    return c;
}

static oms_dec_t s_dec(const char *text)
{
    oms_dec_t v = 0;
    int rc = oms_dec_parse_cstr(text, &v);
    assert(rc == 0); /* the literals below are valid */
    (void)rc;
    return v;
}

static void s_principal(demo_t *d, const char *id, oms_role_t role)
{
    oms_cmd_t *c = s_add(d, OMS_CMD_DEFINE_PRINCIPAL, "principal", id);
    oms_strlcpy(c->u.principal_def.principal_id, id, OMS_ID_CAP);
    c->u.principal_def.roles = 1u << role;
    c->u.principal_def.active = true;
}

static void s_instrument(demo_t *d, const char *id, oms_asset_class_t ac, const char *mult,
                         const char *tick, const char *ref_px)
{
    oms_cmd_t *c = s_add(d, OMS_CMD_DEFINE_INSTRUMENT, "instrument", id);
    oms_instrument_def_t *i = &c->u.instrument;
    oms_strlcpy(i->instrument_id, id, OMS_ID_CAP);
    oms_strlcpy(i->symbol, id, OMS_ID_CAP);
    i->asset_class = ac;
    memcpy(i->currency, "USD", 4);
    i->multiplier = s_dec(mult);
    i->lot_size = s_dec("1");
    i->tick_size = s_dec(tick);
    i->active = true;
    c = s_add(d, OMS_CMD_SET_REFERENCE_PRICE, "refpx", id);
    oms_strlcpy(c->u.ref_price.instrument_id, id, OMS_ID_CAP);
    c->u.ref_price.price = s_dec(ref_px);
}

static void s_account(demo_t *d, const char *id, oms_release_policy_t policy)
{
    oms_cmd_t *c = s_add(d, OMS_CMD_DEFINE_ACCOUNT, "account", id);
    oms_strlcpy(c->u.account.account_id, id, OMS_ID_CAP);
    oms_strlcpy(c->u.account.name, id, OMS_ID_CAP);
    c->u.account.active = true;
    c->u.account.release_policy = policy;
    c->u.account.allow_short = false;
}

static void s_firm_limits(demo_t *d)
{
    oms_cmd_t *c = s_add(d, OMS_CMD_SET_LIMITS, "limits", "firm");
    oms_strlcpy(c->principal, "compliance", OMS_ID_CAP);
    oms_limits_def_t *l = &c->u.limits;
    l->scope = OMS_SCOPE_FIRM;
    l->max_order_qty = (oms_opt_dec_t){true, s_dec("100000")};
    l->max_order_notional = (oms_opt_dec_t){true, s_dec("50000000")};
    l->collar_pct = (oms_opt_dec_t){true, s_dec("0.1")};
}

int omsd_demo_load(omsd_seq_t *seq, uint32_t batch_max)
{
    static demo_t d; /* ~60 KiB of commands; the daemon loads the demo once, at start */
    static uint8_t bytes[DEMO_MAX][DEMO_CMD_BYTES];
    static oms_reply_t replies[DEMO_MAX];
    memset(&d, 0, sizeof d);
    s_principal(&d, "admin", OMS_ROLE_ADMIN);
    s_principal(&d, "pm", OMS_ROLE_PORTFOLIO_MANAGER);
    s_principal(&d, "trader", OMS_ROLE_TRADER);
    s_principal(&d, "ops", OMS_ROLE_OPERATIONS);
    s_principal(&d, "venue", OMS_ROLE_VENUE);
    s_principal(&d, "compliance", OMS_ROLE_COMPLIANCE);
    s_instrument(&d, "AAPL", OMS_ASSET_EQUITY, "1", "0.01", "190");
    s_instrument(&d, "MSFT", OMS_ASSET_EQUITY, "1", "0.01", "420");
    s_instrument(&d, "ESZ6", OMS_ASSET_FUTURE, "50", "0.25", "5000");
    s_account(&d, "ACC1", OMS_RELEASE_AUTO);
    s_account(&d, "ACC2", OMS_RELEASE_AUTO);
    s_account(&d, "ACC3", OMS_RELEASE_AUTO);
    s_account(&d, "FE", OMS_RELEASE_FOUR_EYES);
    s_firm_limits(&d);

    const uint8_t *bufs[DEMO_MAX];
    size_t lens[DEMO_MAX];
    for (uint32_t i = 0; i < d.n; i++) {
        int rc = codec_encode_command(&d.cmds[i], bytes[i], DEMO_CMD_BYTES, &lens[i]);
        if (rc != 0) {
            OMSD_ERROR("demo data: cannot encode %s: %s", d.cmds[i].command_id,
                       oms_strerror(rc));
            return OMS_ERR_STATE;
        }
        bufs[i] = bytes[i];
    }
    /* In order, batch-max commands at a time (later commands need the earlier ones). */
    for (uint32_t i = 0; i < d.n; i += batch_max) {
        uint32_t k = d.n - i < batch_max ? d.n - i : batch_max;
        int rc = omsd_seq_run_local(seq, bufs + i, lens + i, k, replies + i);
        if (rc != 0)
            return rc;
    }
    uint32_t accepted = 0, dup = 0, bad = 0;
    for (uint32_t i = 0; i < d.n; i++) {
        const oms_reply_t *r = &replies[i];
        if (r->status == OMS_REPLY_ACCEPTED) {
            accepted++;
        } else if (r->status == OMS_REPLY_DUPLICATE) {
            dup++;
        } else {
            bad++;
            OMSD_ERROR("demo data: %s was refused: %s %s %s", d.cmds[i].command_id,
                       r->status == OMS_REPLY_ERROR ? oms_errname(r->error_code) : "REJECTED",
                       r->rule_id, r->text);
        }
    }
    OMSD_INFO("demo data: %u commands, %u accepted, %u already loaded, %u refused", d.n, accepted,
              dup, bad);
    return bad ? OMS_ERR_STATE : 0;
}
