/*
 * omsctl.c - `omsctl`, the command-line client of omsd: one subcommand per command (orders,
 * allocations, end of day, reference data, venue reports an operator may inject by hand) and
 * per query (orders, executions, positions, allocations, reference data, stats), `tail` to
 * follow the event stream, and `load` for reference data in a JSON file.
 *
 * Commands go through bus_submit (Lazy Pirate retries with the same command id, so a retry
 * never acts twice); queries through bus_query; tail through the Clone-pattern subscriber.
 * Output is a human table by default and JSON lines with --json (omsctl_print.c). Exit codes:
 * 0 ok, 1 rejected, 2 usage, 3 daemon unreachable or ERROR (omsctl.h).
 *
 * The command table below is the single source of the subcommands, their flags and their
 * help text: usage and validation are both generated from it.
 */
#include "omsctl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    CTL_OPTS_MAX = 24,        /* flags of one subcommand */
    CTL_PAGES_MAX = 1000,     /* pages fetched by one list query */
    CTL_ARENA_BYTES = 1 << 20 /* decoded lists of one command line (allocation instructions) */
};

/* One flag of a subcommand. */
typedef struct {
    const char *name; /* without the dashes */
    const char *arg;  /* the value's name in the help, NULL for a boolean flag */
    const char *help; /* one line */
} ctl_opt_t;

typedef struct ctl_cmd ctl_cmd_t;

/* One subcommand. */
struct ctl_cmd {
    const char *name;                       /* as typed */
    const char *summary;                    /* one line */
    const char *positional;                 /* the flag a bare first argument fills, or NULL */
    const char *principal;                  /* default principal (commands), NULL for queries */
    oms_cmd_type_t type;                    /* the command built (venue reports share a runner) */
    int (*run)(ctl_t *, const ctl_cmd_t *); /* does it; returns the exit code */
    ctl_opt_t opts[CTL_OPTS_MAX];           /* its flags (name NULL ends the list) */
};

static oms_arena_t s_arena; /* allocation lists of the command being built */

/* ---- values --------------------------------------------------------------------------------- */

const char *ctl_get(const ctl_t *c, const char *name)
{
    for (int i = c->n_vals - 1; i >= 0; i--)
        if (strcmp(c->vals[i].name, name) == 0)
            return c->vals[i].value;
    return NULL;
}

/* True when --name was given. */
static bool s_has(const ctl_t *c, const char *name)
{
    return ctl_get(c, name) != NULL;
}

/* A usage error about one flag: prints it and returns CTL_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) static int s_usage_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("omsctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (omsctl <command> --help)\n", stderr);
    va_end(ap);
    return CTL_EXIT_USAGE;
}

/* Copies --name into dst[cap]. required: absent is a usage error. 0 or CTL_EXIT_USAGE. */
static int s_str(const ctl_t *c, const char *name, bool required, char *dst, size_t cap)
{
    const char *v = ctl_get(c, name);
    if (!v) {
        if (required)
            return s_usage_err("--%s is required", name);
        dst[0] = '\0';
        return 0;
    }
    if (strlen(v) >= cap)
        return s_usage_err("--%s is longer than %zu characters", name, cap - 1);
    oms_strlcpy(dst, v, cap);
    return 0;
}

/* Decimal --name into *out (0 when absent); CTL_EXIT_USAGE when required and absent or
 * not a decimal. */
static int s_dec(const ctl_t *c, const char *name, bool required, oms_dec_t *out)
{
    const char *v = ctl_get(c, name);
    *out = 0;
    if (!v)
        return required ? s_usage_err("--%s is required", name) : 0;
    if (oms_dec_parse_cstr(v, out) != 0)
        return s_usage_err("--%s: '%s' is not a decimal number (e.g. 100 or 190.25)", name, v);
    return 0;
}

/* Optional decimal --name: out->set says whether it was given. CTL_EXIT_USAGE when bad. */
static int s_optdec(const ctl_t *c, const char *name, oms_opt_dec_t *out)
{
    out->set = s_has(c, name);
    return s_dec(c, name, false, &out->v);
}

/* Looks v up in names[] (case-insensitive); its value in vals[], or -1. */
static int s_enum(const char *v, const char *const *names, const int *vals, int n)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(v, names[i]) == 0)
            return vals[i];
    return -1;
}

#define S_ENUM(c, flag, names, vals, dflt, out)                                                    \
    do {                                                                                           \
        const char *v_ = ctl_get(c, flag);                                                         \
        int e_ = v_ ? s_enum(v_, names, vals, (int)(sizeof vals / sizeof vals[0])) : (dflt);       \
        if (e_ < 0)                                                                                \
            return s_usage_err("--%s: '%s' is not one of the values listed in --help", flag, v_);  \
        (out) = e_;                                                                                \
    } while (0)

static const char *const s_side_names[] = {"buy", "sell", "short", "sell-short", "sell_short"};
static const int s_side_vals[] = {OMS_SIDE_BUY, OMS_SIDE_SELL, OMS_SIDE_SELL_SHORT,
                                  OMS_SIDE_SELL_SHORT, OMS_SIDE_SELL_SHORT};
static const char *const s_tif_names[] = {"day", "gtc", "ioc", "fok", "gtd"};
static const int s_tif_vals[] = {OMS_TIF_DAY, OMS_TIF_GTC, OMS_TIF_IOC, OMS_TIF_FOK, OMS_TIF_GTD};
static const char *const s_asset_names[] = {"equity", "future",       "option",
                                            "fx",     "fixed-income", "etf"};
static const int s_asset_vals[] = {OMS_ASSET_EQUITY, OMS_ASSET_FUTURE,       OMS_ASSET_OPTION,
                                   OMS_ASSET_FX,     OMS_ASSET_FIXED_INCOME, OMS_ASSET_ETF};
static const char *const s_release_names[] = {"auto", "four-eyes", "four_eyes"};
static const int s_release_vals[] = {OMS_RELEASE_AUTO, OMS_RELEASE_FOUR_EYES,
                                     OMS_RELEASE_FOUR_EYES};
static const char *const s_scope_names[] = {"firm", "account", "account-instrument"};
static const int s_scope_vals[] = {OMS_SCOPE_FIRM, OMS_SCOPE_ACCOUNT, OMS_SCOPE_ACCOUNT_INSTRUMENT};

/* Roles "pm,trader" (short or full names) into a bit set. 0 or CTL_EXIT_USAGE. */
static int s_roles(const char *v, uint32_t *out)
{
    static const char *const names[] = {"pm",         "portfolio_manager", "trader", "ops",
                                        "operations", "compliance",        "venue",  "admin"};
    static const int vals[] = {OMS_ROLE_PORTFOLIO_MANAGER,
                               OMS_ROLE_PORTFOLIO_MANAGER,
                               OMS_ROLE_TRADER,
                               OMS_ROLE_OPERATIONS,
                               OMS_ROLE_OPERATIONS,
                               OMS_ROLE_COMPLIANCE,
                               OMS_ROLE_VENUE,
                               OMS_ROLE_ADMIN};
    *out = 0;
    char buf[256];
    if (strlen(v) >= sizeof buf)
        return s_usage_err("--roles is too long");
    strcpy(buf, v);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int r = s_enum(t, names, vals, 8);
        if (r < 0)
            return s_usage_err("--roles: unknown role '%s' (pm, trader, ops, compliance, venue, "
                               "admin)",
                               t);
        *out |= 1u << r;
    }
    return *out ? 0 : s_usage_err("--roles: at least one role");
}

/* "ACC1=1,ACC2=2" into instructions in the arena (weights, or quantities with by_qty). */
static int s_allocs(const char *v, bool by_qty, const oms_alloc_instr_t **out, uint32_t *n)
{
    oms_alloc_instr_t *list = oms_arena_alloc(&s_arena, sizeof *list * OMS_LIMIT_ALLOC_ACCOUNTS);
    if (!list)
        return s_usage_err("out of memory");
    uint32_t k = 0;
    const char *p = v;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || (size_t)(eq - p) > OMS_LIMIT_ID_LEN)
            return s_usage_err("--alloc: '%.*s' is not ACCOUNT=SHARE", (int)len, p);
        if (k >= OMS_LIMIT_ALLOC_ACCOUNTS)
            return s_usage_err("--alloc: more than %d accounts", OMS_LIMIT_ALLOC_ACCOUNTS);
        memcpy(list[k].account_id, p, (size_t)(eq - p));
        list[k].account_id[eq - p] = '\0';
        if (oms_dec_parse(eq + 1, len - (size_t)(eq - p) - 1, &list[k].share) != 0)
            return s_usage_err("--alloc: bad share in '%.*s'", (int)len, p);
        list[k].by_weight = !by_qty;
        k++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (k == 0)
        return s_usage_err("--alloc: no account");
    *out = list;
    *n = k;
    return 0;
}

/* ---- the client ----------------------------------------------------------------------------- */

int ctl_client(ctl_t *c)
{
    if (c->client)
        return 0;
    int rc = bus_client_new(NULL, c->cmd_ep, c->query_ep, &c->client);
    if (rc) {
        fprintf(stderr, "omsctl: cannot create the bus client: %s\n", oms_strerror(rc));
        return CTL_EXIT_DAEMON;
    }
    return 0;
}

int ctl_submit(ctl_t *c, oms_cmd_t *cmd, const char *default_principal, const char *what)
{
    if (ctl_client(c))
        return CTL_EXIT_DAEMON;
    if (!cmd->principal[0])
        oms_strlcpy(cmd->principal, c->principal ? c->principal : default_principal, OMS_ID_CAP);
    if (!cmd->command_id[0] && c->command_id) {
        /* A chosen id makes the bytes depend on the flags alone, so running the same line
         * again is a safe retry (DUPLICATE), not a conflicting reuse of the id. */
        oms_strlcpy(cmd->command_id, c->command_id, OMS_ID_CAP);
        cmd->client_ts_ns = 0;
        if (cmd->type >= OMS_CMD_VENUE_ACK && cmd->type <= OMS_CMD_TRADE_CORRECT)
            cmd->u.report.h.transact_ts_ns = 0;
    }
    oms_reply_t r;
    int rc = bus_submit(c->client, cmd, &r, c->timeout_ms, c->retries);
    if (rc == OMS_ERR_IO) {
        fprintf(stderr, "omsctl: no reply from omsd at %s after %d attempt(s) of %d ms\n",
                c->cmd_ep, c->retries + 1, c->timeout_ms);
        return CTL_EXIT_DAEMON;
    }
    if (rc == OMS_ERR_INVALID || rc == OMS_ERR_LIMIT) {
        fprintf(stderr, "omsctl: the command does not encode: %s\n", oms_strerror(rc));
        return CTL_EXIT_USAGE;
    }
    if (rc) {
        fprintf(stderr, "omsctl: %s\n", oms_strerror(rc));
        return CTL_EXIT_DAEMON;
    }
    ctl_print_reply(c, &r, what);
    oms_reply_status_t st = r.status == OMS_REPLY_DUPLICATE ? r.original_status : r.status;
    return st == OMS_REPLY_ACCEPTED   ? CTL_EXIT_OK
           : st == OMS_REPLY_REJECTED ? CTL_EXIT_REJECTED
                                      : CTL_EXIT_DAEMON;
}

/* A zeroed command of this type stamped with the client's clock (informational). */
static oms_cmd_t s_cmd(oms_cmd_type_t type)
{
    oms_cmd_t cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = type;
    cmd.client_ts_ns = oms_clock_now_ns();
    return cmd;
}

#define S_TRY(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

/* ---- order commands -------------------------------------------------------------------------- */

/* The command runners: each builds its command from the flags and submits it. They return
 * CTL_EXIT_USAGE for a missing or bad flag (nothing sent), else ctl_submit's exit code.
 *
 * new: a single-account order (--account) or a block (--alloc); LIMIT with --price. */
static int s_run_new(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_NEW_ORDER);
    oms_new_order_t *o = &cmd.u.new_order;
    S_TRY(s_str(c, "id", false, o->order_id, OMS_ID_CAP));
    if (!o->order_id[0]) { /* a fresh id, printed with the reply */
        uint8_t r[6];
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (uint8_t)(oms_clock_now_ns() >> (i * 7)) ^ (uint8_t)rand();
        snprintf(o->order_id, OMS_ID_CAP, "O-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
                 r[4], r[5]);
    }
    S_TRY(s_str(c, "account", false, o->account_id, OMS_ID_CAP));
    const char *alloc = ctl_get(c, "alloc");
    if (alloc)
        S_TRY(s_allocs(alloc, s_has(c, "alloc-qty"), &o->allocs, &o->n_allocs));
    if (!o->account_id[0] && !alloc)
        return s_usage_err("--account or --alloc is required");
    S_TRY(s_str(c, "instrument", true, o->instrument_id, OMS_ID_CAP));
    if (!s_has(c, "side"))
        return s_usage_err("--side is required");
    S_ENUM(c, "side", s_side_names, s_side_vals, 0, o->side);
    S_TRY(s_dec(c, "qty", true, &o->qty));
    S_TRY(s_optdec(c, "price", &o->price));
    o->ord_type = o->price.set ? OMS_ORD_LIMIT : OMS_ORD_MARKET;
    if (s_has(c, "market"))
        o->ord_type = OMS_ORD_MARKET;
    S_ENUM(c, "tif", s_tif_names, s_tif_vals, OMS_TIF_DAY, o->tif);
    const char *exp = ctl_get(c, "expire");
    if (exp && oms_clock_parse_iso(exp, &o->expire_ts_ns) != 0)
        return s_usage_err("--expire: '%s' is not an ISO-8601 UTC time", exp);
    S_TRY(s_str(c, "text", false, o->text, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* release: a staged (four-eyes) order. */
static int s_run_release(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_RELEASE_ORDER);
    S_TRY(s_str(c, "order", true, cmd.u.release.order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "text", false, cmd.u.release.text, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* cancel: a cancel request. */
static int s_run_cancel(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_CANCEL_ORDER);
    S_TRY(s_str(c, "order", true, cmd.u.cancel.order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "cl-ord-id", false, cmd.u.cancel.cl_ord_id, OMS_ID_CAP));
    S_TRY(s_str(c, "text", false, cmd.u.cancel.text, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* replace: a replace request (new quantity and/or price). */
static int s_run_replace(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_REPLACE_ORDER);
    oms_replace_order_t *r = &cmd.u.replace;
    S_TRY(s_str(c, "order", true, r->order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "cl-ord-id", false, r->new_cl_ord_id, OMS_ID_CAP));
    S_TRY(s_optdec(c, "qty", &r->qty));
    S_TRY(s_optdec(c, "price", &r->price));
    if (!r->qty.set && !r->price.set)
        return s_usage_err("--qty or --price is required");
    S_TRY(s_str(c, "text", false, r->text, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* allocate: book a block's fills (all unallocated by default). */
static int s_run_allocate(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_ALLOCATE);
    oms_allocate_t *a = &cmd.u.allocate;
    S_TRY(s_str(c, "order", true, a->order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "alloc-id", true, a->alloc_id, OMS_ID_CAP));
    S_TRY(s_optdec(c, "qty", &a->qty));
    const char *alloc = ctl_get(c, "alloc");
    if (alloc)
        S_TRY(s_allocs(alloc, s_has(c, "alloc-qty"), &a->allocs, &a->n_allocs));
    S_TRY(s_str(c, "text", false, a->text, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* reverse-allocation. */
static int s_run_reverse(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_REVERSE_ALLOCATION);
    S_TRY(s_str(c, "order", true, cmd.u.reverse.order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "alloc-id", true, cmd.u.reverse.alloc_id, OMS_ID_CAP));
    S_TRY(s_str(c, "reason", false, cmd.u.reverse.reason, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* end-of-day. */
static int s_run_eod(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_END_OF_DAY);
    S_TRY(s_str(c, "date", true, cmd.u.eod.trade_date, OMS_DATE_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* ---- reference data ------------------------------------------------------------------------- */

/* define-instrument and update-instrument (the whole record; defaults as in the help). */
static int s_run_instrument(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(k->type);
    oms_instrument_def_t *i = &cmd.u.instrument;
    S_TRY(s_str(c, "id", true, i->instrument_id, OMS_ID_CAP));
    S_TRY(s_str(c, "symbol", false, i->symbol, OMS_ID_CAP));
    if (!i->symbol[0])
        oms_strlcpy(i->symbol, i->instrument_id, OMS_ID_CAP);
    S_ENUM(c, "asset-class", s_asset_names, s_asset_vals, OMS_ASSET_EQUITY, i->asset_class);
    S_TRY(s_str(c, "currency", false, i->currency, sizeof i->currency));
    if (!i->currency[0])
        strcpy(i->currency, "USD");
    const char *m = ctl_get(c, "multiplier"), *l = ctl_get(c, "lot"), *t = ctl_get(c, "tick");
    if (oms_dec_parse_cstr(m ? m : "1", &i->multiplier) ||
        oms_dec_parse_cstr(l ? l : "1", &i->lot_size) ||
        oms_dec_parse_cstr(t ? t : "0.01", &i->tick_size))
        return s_usage_err("--multiplier, --lot and --tick are decimal numbers");
    i->active = !s_has(c, "inactive");
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* define-account. */
static int s_run_account(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_DEFINE_ACCOUNT);
    oms_account_def_t *a = &cmd.u.account;
    S_TRY(s_str(c, "id", true, a->account_id, OMS_ID_CAP));
    S_TRY(s_str(c, "name", false, a->name, OMS_ID_CAP));
    if (!a->name[0])
        oms_strlcpy(a->name, a->account_id, OMS_ID_CAP);
    S_ENUM(c, "release", s_release_names, s_release_vals, OMS_RELEASE_AUTO, a->release_policy);
    a->allow_short = s_has(c, "allow-short");
    a->active = !s_has(c, "inactive");
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* define-principal. */
static int s_run_principal(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_DEFINE_PRINCIPAL);
    oms_principal_def_t *p = &cmd.u.principal_def;
    S_TRY(s_str(c, "id", true, p->principal_id, OMS_ID_CAP));
    const char *roles = ctl_get(c, "roles");
    if (!roles)
        return s_usage_err("--roles is required");
    S_TRY(s_roles(roles, &p->roles));
    p->active = !s_has(c, "inactive");
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* set-limits (the scope defaults from the ids given). */
static int s_run_limits(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_SET_LIMITS);
    oms_limits_def_t *l = &cmd.u.limits;
    S_TRY(s_str(c, "account", false, l->account_id, OMS_ID_CAP));
    S_TRY(s_str(c, "instrument", false, l->instrument_id, OMS_ID_CAP));
    int dflt = l->instrument_id[0] ? OMS_SCOPE_ACCOUNT_INSTRUMENT
               : l->account_id[0]  ? OMS_SCOPE_ACCOUNT
                                   : OMS_SCOPE_FIRM;
    S_ENUM(c, "scope", s_scope_names, s_scope_vals, dflt, l->scope);
    S_TRY(s_optdec(c, "max-qty", &l->max_order_qty));
    S_TRY(s_optdec(c, "max-notional", &l->max_order_notional));
    S_TRY(s_optdec(c, "max-long", &l->max_position_long));
    S_TRY(s_optdec(c, "max-short", &l->max_position_short));
    S_TRY(s_optdec(c, "collar", &l->collar_pct));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* set-restricted (--lift lifts). */
static int s_run_restricted(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_SET_RESTRICTED);
    oms_restriction_def_t *r = &cmd.u.restriction;
    S_TRY(s_str(c, "instrument", true, r->instrument_id, OMS_ID_CAP));
    S_TRY(s_str(c, "account", false, r->account_id, OMS_ID_CAP));
    S_TRY(s_str(c, "reason", false, r->reason, OMS_TEXT_CAP));
    r->restricted = !s_has(c, "lift");
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* set-ref-price. */
static int s_run_refpx(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_SET_REFERENCE_PRICE);
    S_TRY(s_str(c, "instrument", true, cmd.u.ref_price.instrument_id, OMS_ID_CAP));
    S_TRY(s_dec(c, "price", true, &cmd.u.ref_price.price));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* ---- venue reports -------------------------------------------------------------------------- */

/* Every venue report (k->type): header flags, plus qty/px for fill and correct, ref-exec-id
 * for bust and correct. Without --exec-id a fresh one is made and also used as command id. */
static int s_run_venue(ctl_t *c, const ctl_cmd_t *k)
{
    oms_cmd_t cmd = s_cmd(k->type);
    oms_venue_report_t *r = &cmd.u.report;
    S_TRY(s_str(c, "order", true, r->h.order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "venue", false, r->h.venue, OMS_ID_CAP));
    if (!r->h.venue[0])
        strcpy(r->h.venue, "MANUAL");
    S_TRY(s_str(c, "exec-id", false, r->h.exec_id, OMS_ID_CAP));
    if (!r->h.exec_id[0]) /* the command id is unique: use it (and fix it for retries) */
        snprintf(r->h.exec_id, OMS_ID_CAP, "x%016llx%08x", (unsigned long long)oms_clock_now_ns(),
                 (unsigned)rand());
    if (!c->command_id)
        oms_strlcpy(cmd.command_id, r->h.exec_id, OMS_ID_CAP);
    if (s_has(c, "exec-id") || c->command_id)
        cmd.client_ts_ns = 0; /* fixed ids, fixed bytes: re-running the line is a retry */
    S_TRY(s_str(c, "venue-order-id", false, r->h.venue_order_id, OMS_ID_CAP));
    S_TRY(s_str(c, "cl-ord-id", false, r->h.cl_ord_id, OMS_ID_CAP));
    r->h.transact_ts_ns = cmd.client_ts_ns;
    bool fill = k->type == OMS_CMD_VENUE_FILL || k->type == OMS_CMD_TRADE_CORRECT;
    if (fill) {
        S_TRY(s_dec(c, "qty", true, &r->last_qty));
        S_TRY(s_dec(c, "px", true, &r->last_px));
    }
    if (k->type == OMS_CMD_TRADE_BUST || k->type == OMS_CMD_TRADE_CORRECT)
        S_TRY(s_str(c, "ref-exec-id", true, r->ref_exec_id, OMS_ID_CAP));
    S_TRY(s_str(c, "text", false, r->text, OMS_TEXT_CAP));
    return ctl_submit(c, &cmd, k->principal, NULL);
}

/* ---- queries -------------------------------------------------------------------------------- */

static codec_slice_t s_items[OMS_LIMIT_QUERY_ROWS];
static codec_qreply_t s_qr;

/* Runs q; 0 with s_qr filled (not an ErrorReply), 1 for NOT_FOUND (printed), 3 otherwise. */
static int s_query(ctl_t *c, codec_query_t *q)
{
    if (ctl_client(c))
        return CTL_EXIT_DAEMON;
    int rc =
        bus_query(c->client, q, s_items, OMS_LIMIT_QUERY_ROWS, &s_qr, c->timeout_ms, c->retries);
    if (rc == OMS_ERR_IO) {
        fprintf(stderr, "omsctl: no reply from omsd at %s after %d attempt(s) of %d ms\n",
                c->query_ep, c->retries + 1, c->timeout_ms);
        return CTL_EXIT_DAEMON;
    }
    if (rc) {
        fprintf(stderr, "omsctl: query failed: %s\n", oms_strerror(rc));
        return CTL_EXIT_DAEMON;
    }
    if (s_qr.kind == CODEC_QR_ERROR) {
        fprintf(stderr, "omsctl: %s: %s\n", oms_errname(s_qr.error_code), s_qr.error_text);
        return s_qr.error_code == OMS_ERR_NOT_FOUND ? CTL_EXIT_REJECTED : CTL_EXIT_DAEMON;
    }
    return 0;
}

/* Runs a list query page after page (the `after` cursor = key of the last row), printing
 * each page. */
static int s_list(ctl_t *c, codec_query_t *q)
{
    bool header = true;
    for (int page = 0; page < CTL_PAGES_MAX; page++) {
        S_TRY(s_query(c, q));
        S_TRY(ctl_print_rows(c, s_items, s_qr.n_items, header));
        header = false;
        if (!s_qr.more || s_qr.n_items == 0)
            return 0;
        /* The cursor: the last row's key for this query. */
        const codec_slice_t *last = &s_items[s_qr.n_items - 1];
        if (q->kind == CODEC_Q_ORDERS_OF_ACCOUNT) {
            oms_arena_reset(&s_arena);
            proj_order_t o;
            const char(*cl)[OMS_ID_CAP] = NULL;
            const oms_alloc_instr_t *in = NULL;
            uint32_t n_cl = 0, n_in = 0;
            if (codec_row_decode_order(last->data, last->len, &s_arena, &o, &cl, &n_cl, &in,
                                       &n_in) != 0)
                return CTL_EXIT_DAEMON;
            oms_strlcpy(q->after, o.order_id, OMS_ID_CAP);
        } else if (q->kind == CODEC_Q_POSITIONS_OF_ACCOUNT ||
                   q->kind == CODEC_Q_POSITIONS_OF_INSTRUMENT) {
            proj_position_t p;
            if (codec_row_decode_position(last->data, last->len, &p) != 0)
                return CTL_EXIT_DAEMON;
            oms_strlcpy(q->after,
                        q->kind == CODEC_Q_POSITIONS_OF_ACCOUNT ? p.instrument_id : p.account_id,
                        OMS_ID_CAP);
        } else {
            fprintf(stderr, "omsctl: more rows than one page; ask with --max-rows\n");
            return 0;
        }
    }
    return 0;
}

/* --max-rows into *out (0 = the server's default); CTL_EXIT_USAGE when out of range. */
static int s_max_rows(const ctl_t *c, uint32_t *out)
{
    const char *v = ctl_get(c, "max-rows");
    *out = 0;
    if (!v)
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n == 0 || n > OMS_LIMIT_QUERY_ROWS)
        return s_usage_err("--max-rows: 1..%d", OMS_LIMIT_QUERY_ROWS);
    *out = (uint32_t)n;
    return 0;
}

/* The query runners: 0 when answered (printed), 1 when not found, 2 for bad flags, 3 when
 * the daemon does not answer or the answer does not decode.
 *
 * order: one order in detail. */
static int s_run_order(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    codec_query_t q = {.kind = CODEC_Q_ORDER};
    S_TRY(s_str(c, "order", true, q.id, OMS_ID_CAP));
    S_TRY(s_query(c, &q));
    if (s_qr.n_items == 0) {
        fprintf(stderr, "omsctl: order %s not found\n", q.id);
        return CTL_EXIT_REJECTED;
    }
    return ctl_print_order(c, &s_items[0]);
}

/* orders: an account's orders, every page. */
static int s_run_orders(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    codec_query_t q = {.kind = CODEC_Q_ORDERS_OF_ACCOUNT};
    S_TRY(s_str(c, "account", true, q.id, OMS_ID_CAP));
    q.open_only = s_has(c, "open");
    S_TRY(s_max_rows(c, &q.max_rows));
    return s_list(c, &q);
}

/* executions: an order's fills. */
static int s_run_executions(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    codec_query_t q = {.kind = CODEC_Q_EXECUTIONS_OF_ORDER};
    S_TRY(s_str(c, "order", true, q.id, OMS_ID_CAP));
    return s_list(c, &q);
}

/* positions: by account or by instrument, every page. */
static int s_run_positions(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    codec_query_t q = {0};
    if (s_has(c, "account")) {
        q.kind = CODEC_Q_POSITIONS_OF_ACCOUNT;
        S_TRY(s_str(c, "account", true, q.id, OMS_ID_CAP));
    } else if (s_has(c, "instrument")) {
        q.kind = CODEC_Q_POSITIONS_OF_INSTRUMENT;
        S_TRY(s_str(c, "instrument", true, q.id, OMS_ID_CAP));
    } else {
        return s_usage_err("--account or --instrument is required");
    }
    S_TRY(s_max_rows(c, &q.max_rows));
    return s_list(c, &q);
}

/* allocations: a block's allocations with their parts. */
static int s_run_allocations(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    codec_query_t q = {.kind = CODEC_Q_ALLOCATIONS_OF_ORDER};
    S_TRY(s_str(c, "order", true, q.id, OMS_ID_CAP));
    return s_list(c, &q);
}

/* refdata: one kind or all (one page; --max-rows up to OMS_LIMIT_QUERY_ROWS). */
static int s_run_refdata(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    static const char *const names[] = {"instruments", "accounts",     "principals",
                                        "limits",      "restrictions", "all"};
    static const int vals[] = {CODEC_REF_INSTRUMENT, CODEC_REF_ACCOUNT,     CODEC_REF_PRINCIPAL,
                               CODEC_REF_LIMITS,     CODEC_REF_RESTRICTION, CODEC_REF_ALL};
    codec_query_t q = {.kind = CODEC_Q_REF_DATA};
    S_ENUM(c, "kind", names, vals, CODEC_REF_ALL, q.ref_kind);
    S_TRY(s_str(c, "id", false, q.id, OMS_ID_CAP));
    S_TRY(s_max_rows(c, &q.max_rows));
    return s_list(c, &q);
}

/* stats: the daemon's counters. */
static int s_run_stats(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    codec_query_t q = {.kind = CODEC_Q_STATS};
    S_TRY(s_query(c, &q));
    ctl_print_stats(c, &s_qr.stats);
    return 0;
}

/* ---- tail ----------------------------------------------------------------------------------- */

static volatile sig_atomic_t s_stop = 0;

/* SIGINT/SIGTERM during tail: stop after the event in hand. */
static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Whole number --name into *out (untouched when absent); CTL_EXIT_USAGE when bad. */
static int s_u64(const ctl_t *c, const char *name, uint64_t *out)
{
    const char *v = ctl_get(c, name);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || !*v || v[0] == '-')
        return s_usage_err("--%s: '%s' is not a whole number", name, v);
    *out = n;
    return 0;
}

/* tail: the event stream through the Clone-pattern subscriber, from --from-seq (default: the
 * next event), filtered by --topic prefixes, until --count events, --idle-exit-ms of silence,
 * or SIGINT/SIGTERM. 0, or 3 when the stream fails (catch-up unanswered, a corrupt log). */
static int s_run_tail(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    const char *topics[BUS_TOPICS_MAX];
    size_t n_topics = 0;
    for (int i = 0; i < c->n_vals; i++) {
        if (strcmp(c->vals[i].name, "topic") != 0)
            continue;
        if (n_topics >= BUS_TOPICS_MAX || strlen(c->vals[i].value) >= BUS_TOPIC_CAP)
            return s_usage_err("--topic: at most %d prefixes of %d characters", BUS_TOPICS_MAX,
                               BUS_TOPIC_CAP - 1);
        topics[n_topics++] = c->vals[i].value;
    }
    uint64_t from = 0, count = 0, idle_ms = 0;
    bool from_set = s_has(c, "from-seq");
    S_TRY(s_u64(c, "from-seq", &from));
    S_TRY(s_u64(c, "count", &count));
    S_TRY(s_u64(c, "idle-exit-ms", &idle_ms));
    if (idle_ms > BUS_TIMEOUT_MS_MAX)
        return s_usage_err("--idle-exit-ms: at most %d", BUS_TIMEOUT_MS_MAX);
    if (!from_set) { /* from the next event: ask for the head */
        codec_query_t q = {.kind = CODEC_Q_STATS};
        S_TRY(s_query(c, &q));
        from = s_qr.stats.head_seq + 1;
    }
    bus_sub_t *sub = NULL;
    int rc =
        bus_sub_new(NULL, c->pub_ep, c->query_ep, topics, n_topics, from ? from - 1 : 0, 0, &sub);
    if (rc) {
        fprintf(stderr, "omsctl: cannot subscribe: %s\n", oms_strerror(rc));
        return CTL_EXIT_DAEMON;
    }
    bus_sub_set_query(sub, c->timeout_ms, c->retries);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int status = 0;
    uint64_t seen = 0;
    int64_t last_ns = oms_clock_mono_ns();
    while (!s_stop && (count == 0 || seen < count)) {
        const uint8_t *env = NULL;
        size_t len = 0;
        uint64_t seq = 0;
        rc = bus_sub_next(sub, &env, &len, &seq, 200);
        if (rc == 1) {
            seen++;
            last_ns = oms_clock_mono_ns();
            if (ctl_print_event(c, env, len) != 0)
                status = CTL_EXIT_DAEMON;
            fflush(stdout);
        } else if (rc == 0) {
            if (idle_ms && oms_clock_mono_ns() - last_ns >= (int64_t)idle_ms * 1000000)
                break;
        } else {
            fprintf(stderr, "omsctl: event stream: %s\n", oms_strerror(rc));
            status = CTL_EXIT_DAEMON;
            break;
        }
    }
    bus_sub_destroy(&sub);
    return status;
}

/* load: see omsctl_load.c. */
static int s_run_load(ctl_t *c, const ctl_cmd_t *k)
{
    (void)k;
    const char *path = ctl_get(c, "file");
    if (!path)
        return s_usage_err("load needs a FILE.json");
    return ctl_load(c, path);
}

/* ---- the table -------------------------------------------------------------------------- */

#define O_TEXT                                                                                     \
    {                                                                                              \
        "text", "TEXT", "free text for the audit trail"                                            \
    }
#define O_ORDER                                                                                    \
    {                                                                                              \
        "order", "ID", "the order id (or as the first argument)"                                   \
    }
#define O_VENUE_HDR                                                                                \
    O_ORDER, {"venue", "ID", "venue id (default MANUAL)"},                                         \
        {"exec-id", "ID",                                                                          \
         "report id, the dedup key with the venue (default: a fresh one, also "                    \
         "the command id)"},                                                                       \
        {"venue-order-id", "ID", "the venue's order id"},                                          \
        {"cl-ord-id", "ID", "the ClOrdID answered (cancel/replace: the request's)"}, O_TEXT

static const ctl_cmd_t s_cmds[] = {
    /* orders */
    {"new",
     "enter an order (one account, or a block with --alloc)",
     NULL,
     "pm",
     OMS_CMD_NEW_ORDER,
     s_run_new,
     {{"id", "ID", "order id (default: a fresh O-xxxxxxxxxxxx, printed)"},
      {"account", "ACC", "the account (single-account order)"},
      {"alloc", "A=S,B=S",
       "block: allocation instructions, weights (or quantities with --alloc-qty)"},
      {"alloc-qty", NULL, "the --alloc shares are quantities summing to --qty"},
      {"instrument", "ID", "what to trade"},
      {"side", "SIDE", "buy, sell or short"},
      {"qty", "Q", "quantity"},
      {"price", "P", "limit price (absent: a market order)"},
      {"market", NULL, "a market order even with --price"},
      {"tif", "TIF", "day (default), gtc, ioc, fok or gtd"},
      {"expire", "TIME", "gtd expiry, ISO-8601 UTC"},
      O_TEXT}},
    {"release",
     "release a four-eyes order to execution",
     "order",
     "trader",
     OMS_CMD_RELEASE_ORDER,
     s_run_release,
     {O_ORDER, O_TEXT}},
    {"cancel",
     "ask to cancel an order",
     "order",
     "trader",
     OMS_CMD_CANCEL_ORDER,
     s_run_cancel,
     {O_ORDER,
      {"cl-ord-id", "ID", "the request's ClOrdID (default: the OMS assigns none)"},
      O_TEXT}},
    {"replace",
     "ask to change an order's quantity and/or price",
     "order",
     "trader",
     OMS_CMD_REPLACE_ORDER,
     s_run_replace,
     {O_ORDER,
      {"cl-ord-id", "ID", "the replace's new ClOrdID"},
      {"qty", "Q", "new total quantity"},
      {"price", "P", "new limit price"},
      O_TEXT}},
    {"allocate",
     "book a block's fills to its accounts",
     "order",
     "ops",
     OMS_CMD_ALLOCATE,
     s_run_allocate,
     {O_ORDER,
      {"alloc-id", "ID", "allocation id, unique within the order"},
      {"qty", "Q", "quantity to allocate (default: all unallocated)"},
      {"alloc", "A=S,B=S", "override instructions (default: the order's)"},
      {"alloc-qty", NULL, "the --alloc shares are quantities"},
      O_TEXT}},
    {"reverse-allocation",
     "reverse a booked allocation",
     "order",
     "ops",
     OMS_CMD_REVERSE_ALLOCATION,
     s_run_reverse,
     {O_ORDER, {"alloc-id", "ID", "the allocation"}, {"reason", "TEXT", "why"}}},
    {"end-of-day",
     "close a trade date (expires working DAY orders)",
     "date",
     "ops",
     OMS_CMD_END_OF_DAY,
     s_run_eod,
     {{"date", "YYYY-MM-DD", "the trade date closed"}}},
    /* reference data */
    {"define-instrument",
     "define an instrument",
     "id",
     "admin",
     OMS_CMD_DEFINE_INSTRUMENT,
     s_run_instrument,
     {{"id", "ID", "instrument id"},
      {"symbol", "SYM", "display symbol (default: the id)"},
      {"asset-class", "CLASS", "equity (default), future, option, fx, fixed-income, etf"},
      {"currency", "CCY", "ISO 4217 (default USD)"},
      {"multiplier", "M", "contract multiplier (default 1)"},
      {"lot", "L", "lot size (default 1)"},
      {"tick", "T", "tick size (default 0.01)"},
      {"inactive", NULL, "not tradeable"}}},
    {"update-instrument",
     "replace an instrument's definition",
     "id",
     "admin",
     OMS_CMD_UPDATE_INSTRUMENT,
     s_run_instrument,
     {{"id", "ID", "instrument id"},
      {"symbol", "SYM", "display symbol (default: the id)"},
      {"asset-class", "CLASS", "equity (default), future, option, fx, fixed-income, etf"},
      {"currency", "CCY", "ISO 4217 (default USD)"},
      {"multiplier", "M", "contract multiplier (default 1)"},
      {"lot", "L", "lot size (default 1)"},
      {"tick", "T", "tick size (default 0.01)"},
      {"inactive", NULL, "not tradeable"}}},
    {"define-account",
     "define an account",
     "id",
     "admin",
     OMS_CMD_DEFINE_ACCOUNT,
     s_run_account,
     {{"id", "ID", "account id"},
      {"name", "NAME", "display name (default: the id)"},
      {"release", "POLICY", "auto (default) or four-eyes"},
      {"allow-short", NULL, "may sell short"},
      {"inactive", NULL, "refuses new orders"}}},
    {"define-principal",
     "define a principal and its roles",
     "id",
     "admin",
     OMS_CMD_DEFINE_PRINCIPAL,
     s_run_principal,
     {{"id", "ID", "principal id"},
      {"roles", "R,R", "pm, trader, ops, compliance, venue, admin"},
      {"inactive", NULL, "may not issue commands"}}},
    {"set-limits",
     "set pre-trade limits of one scope",
     NULL,
     "compliance",
     OMS_CMD_SET_LIMITS,
     s_run_limits,
     {{"scope", "SCOPE", "firm, account or account-instrument (default: from the ids given)"},
      {"account", "ACC", "the account (account scopes)"},
      {"instrument", "ID", "the instrument (account-instrument scope)"},
      {"max-qty", "Q", "max order quantity"},
      {"max-notional", "N", "max order notional"},
      {"max-long", "Q", "max long position (with open buys)"},
      {"max-short", "Q", "max short position (with open sells)"},
      {"collar", "F", "price collar as a fraction of the reference price (0.1 = 10%)"}}},
    {"set-restricted",
     "put an instrument on the restricted list (or lift it)",
     "instrument",
     "compliance",
     OMS_CMD_SET_RESTRICTED,
     s_run_restricted,
     {{"instrument", "ID", "the instrument"},
      {"account", "ACC", "one account (default firm-wide)"},
      {"lift", NULL, "lift the restriction"},
      {"reason", "TEXT", "why"}}},
    {"set-ref-price",
     "set an instrument's reference price",
     "instrument",
     "admin",
     OMS_CMD_SET_REFERENCE_PRICE,
     s_run_refpx,
     {{"instrument", "ID", "the instrument"}, {"price", "P", "the price"}}},
    /* venue reports */
    {"venue-ack",
     "report: the venue accepted the order",
     "order",
     "venue",
     OMS_CMD_VENUE_ACK,
     s_run_venue,
     {O_VENUE_HDR}},
    {"venue-reject",
     "report: the venue refused the order",
     "order",
     "venue",
     OMS_CMD_VENUE_REJECT,
     s_run_venue,
     {O_VENUE_HDR}},
    {"fill",
     "report: a fill",
     "order",
     "venue",
     OMS_CMD_VENUE_FILL,
     s_run_venue,
     {O_VENUE_HDR, {"qty", "Q", "fill quantity"}, {"px", "P", "fill price"}}},
    {"cancel-ack",
     "report: the order is canceled",
     "order",
     "venue",
     OMS_CMD_VENUE_CANCEL_ACK,
     s_run_venue,
     {O_VENUE_HDR}},
    {"cancel-reject",
     "report: the cancel request is refused",
     "order",
     "venue",
     OMS_CMD_VENUE_CANCEL_REJECT,
     s_run_venue,
     {O_VENUE_HDR}},
    {"replace-ack",
     "report: the replace is done",
     "order",
     "venue",
     OMS_CMD_VENUE_REPLACE_ACK,
     s_run_venue,
     {O_VENUE_HDR}},
    {"replace-reject",
     "report: the replace request is refused",
     "order",
     "venue",
     OMS_CMD_VENUE_REPLACE_REJECT,
     s_run_venue,
     {O_VENUE_HDR}},
    {"expire",
     "report: the venue expired the order",
     "order",
     "venue",
     OMS_CMD_VENUE_EXPIRE,
     s_run_venue,
     {O_VENUE_HDR}},
    {"done-for-day",
     "report: done for the day",
     "order",
     "venue",
     OMS_CMD_VENUE_DONE_FOR_DAY,
     s_run_venue,
     {O_VENUE_HDR}},
    {"bust",
     "report: an earlier fill is busted",
     "order",
     "venue",
     OMS_CMD_TRADE_BUST,
     s_run_venue,
     {O_VENUE_HDR, {"ref-exec-id", "ID", "the fill busted"}}},
    {"correct",
     "report: an earlier fill is corrected",
     "order",
     "venue",
     OMS_CMD_TRADE_CORRECT,
     s_run_venue,
     {O_VENUE_HDR,
      {"ref-exec-id", "ID", "the fill corrected"},
      {"qty", "Q", "corrected quantity"},
      {"px", "P", "corrected price"}}},
    /* queries */
    {"order", "show one order", "order", NULL, 0, s_run_order, {O_ORDER}},
    {"orders",
     "list an account's orders",
     "account",
     NULL,
     0,
     s_run_orders,
     {{"account", "ACC", "the account"},
      {"open", NULL, "only orders not in a final status"},
      {"max-rows", "N", "page size"}}},
    {"executions", "list an order's fills", "order", NULL, 0, s_run_executions, {O_ORDER}},
    {"positions",
     "list positions of an account or in an instrument",
     NULL,
     NULL,
     0,
     s_run_positions,
     {{"account", "ACC", "by account (\"\" = blocks' unallocated fills)"},
      {"instrument", "ID", "by instrument"},
      {"max-rows", "N", "page size"}}},
    {"allocations",
     "list a block order's allocations",
     "order",
     NULL,
     0,
     s_run_allocations,
     {O_ORDER}},
    {"refdata",
     "list reference data",
     NULL,
     NULL,
     0,
     s_run_refdata,
     {{"kind", "KIND", "instruments, accounts, principals, limits, restrictions, all (default)"},
      {"id", "ID", "one item"},
      {"max-rows", "N", "page size"}}},
    {"stats", "the daemon's counters", NULL, NULL, 0, s_run_stats, {{NULL, NULL, NULL}}},
    /* streams and files */
    {"tail",
     "follow the event stream, one line per event",
     NULL,
     NULL,
     0,
     s_run_tail,
     {{"from-seq", "N", "first seq (default: the next event; 1 = the whole log)"},
      {"topic", "PREFIX", "only topics starting with PREFIX (repeatable; e.g. ord/ACC1/, exe/)"},
      {"count", "N", "stop after N events"},
      {"idle-exit-ms", "MS", "stop after MS without an event"}}},
    {"load",
     "load reference data from a JSON file",
     "file",
     NULL,
     0,
     s_run_load,
     {{"file", "FILE", "the JSON file (or as the first argument); see README"}}},
};

#define S_N_CMDS (sizeof s_cmds / sizeof s_cmds[0])

static const ctl_opt_t s_globals[] = {
    {"cmd-endpoint", "EP", "omsd commands (default $OMS_CMD_EP or tcp://127.0.0.1:7701)"},
    {"pub-endpoint", "EP", "omsd events (default $OMS_PUB_EP or tcp://127.0.0.1:7702)"},
    {"query-endpoint", "EP", "omsd queries (default $OMS_QUERY_EP or tcp://127.0.0.1:7703)"},
    {"principal", "ID", "who sends the command (default: by command, see the list)"},
    {"command-id", "ID",
     "command id (default: random, printed); with it the same line is a safe retry"},
    {"timeout-ms", "MS", "wait per attempt (default 3000)"},
    {"retries", "N", "Lazy Pirate retries with the same command id (default 2)"},
    {"json", NULL, "JSON lines instead of tables"},
    {"help", NULL, "help (omsctl <command> --help for a command's flags)"},
};

/* One flag's help line. */
static void s_print_opt(FILE *f, const ctl_opt_t *o)
{
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(f, "    %-28s %s\n", left, o->help);
}

/* omsctl --help: every command with its default principal, the global flags, exit codes. */
static void s_usage(FILE *f)
{
    fprintf(f, "usage: omsctl [global flags] <command> [flags]\n\n"
               "The command-line client of omsd (docs/PROTOCOL.md).\n\ncommands (default "
               "principal):\n");
    for (size_t i = 0; i < S_N_CMDS; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s", s_cmds[i].name, s_cmds[i].positional ? " [" : "",
                 s_cmds[i].positional ? s_cmds[i].positional : "", s_cmds[i].positional ? "]" : "");
        fprintf(f, "    %-30s %s%s%s%s\n", left, s_cmds[i].summary, s_cmds[i].principal ? " (" : "",
                s_cmds[i].principal ? s_cmds[i].principal : "", s_cmds[i].principal ? ")" : "");
    }
    fprintf(f, "\nglobal flags (anywhere on the line):\n");
    for (size_t i = 0; i < sizeof s_globals / sizeof s_globals[0]; i++)
        s_print_opt(f, &s_globals[i]);
    fprintf(f, "\nexit status: 0 accepted (or a duplicate of an accepted command) / answered,\n"
               "1 rejected by a rule (rule id, reason and text printed) or not found,\n"
               "2 usage error, 3 daemon unreachable or ERROR reply.\n");
}

/* omsctl <command> --help: its flags and the global ones. */
static void s_cmd_usage(FILE *f, const ctl_cmd_t *k)
{
    fprintf(f, "usage: omsctl [global flags] %s%s%s%s [flags]\n\n%s.\n", k->name,
            k->positional ? " [" : "", k->positional ? k->positional : "", k->positional ? "]" : "",
            k->summary);
    if (k->principal)
        fprintf(f, "Sent as principal '%s' unless --principal says otherwise.\n", k->principal);
    fprintf(f, "\nflags:\n");
    for (int i = 0; i < CTL_OPTS_MAX && k->opts[i].name; i++)
        s_print_opt(f, &k->opts[i]);
    fprintf(f, "\nglobal flags:\n");
    for (size_t i = 0; i < sizeof s_globals / sizeof s_globals[0]; i++)
        s_print_opt(f, &s_globals[i]);
}

/* The flag named name among opts[0..n) (a NULL name ends the list), or NULL. */
static const ctl_opt_t *s_find_opt(const ctl_opt_t *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n && opts[i].name; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

/* An int lo..hi from v; CTL_EXIT_USAGE otherwise. */
static int s_int_flag(const char *name, const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return s_usage_err("--%s: a whole number %d..%d", name, lo, hi);
    *out = (int)n;
    return 0;
}

/* Parses the line (global flags anywhere; a subcommand's flags after it; one positional
 * argument for the commands that take one), then runs the subcommand. Exit codes: omsctl.h. */
int main(int argc, char **argv)
{
    static ctl_t c;
    memset(&c, 0, sizeof c);
    strcpy(c.cmd_ep, "tcp://127.0.0.1:7701");
    strcpy(c.pub_ep, "tcp://127.0.0.1:7702");
    strcpy(c.query_ep, "tcp://127.0.0.1:7703");
    /* The environment may move the defaults (as scripts/run.sh does for the daemon). */
    static const char *const env[] = {"OMS_CMD_EP", "OMS_PUB_EP", "OMS_QUERY_EP"};
    char *const eps[] = {c.cmd_ep, c.pub_ep, c.query_ep};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(env[i]);
        if (v && *v && strlen(v) < BUS_ENDPOINT_CAP)
            strcpy(eps[i], v);
    }
    c.timeout_ms = 3000;
    c.retries = 2;
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)(oms_clock_now_ns() ^ (int64_t)getpid() << 16));

    const ctl_cmd_t *k = NULL;
    bool help = false;
    const char *positional = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0) {
            if (!k) {
                for (size_t j = 0; j < S_N_CMDS; j++)
                    if (strcmp(s_cmds[j].name, a) == 0)
                        k = &s_cmds[j];
                if (!k)
                    return s_usage_err("unknown command '%s'", a);
            } else if (!positional && k->positional) {
                positional = a;
            } else {
                return s_usage_err("unexpected argument '%s'", a);
            }
            continue;
        }
        const char *name = a + 2;
        const ctl_opt_t *g = s_find_opt(s_globals, sizeof s_globals / sizeof s_globals[0], name);
        const ctl_opt_t *o = k ? s_find_opt(k->opts, CTL_OPTS_MAX, name) : NULL;
        if (!g && !o)
            return s_usage_err("unknown flag '%s'%s%s", a, k ? " for " : "", k ? k->name : "");
        const ctl_opt_t *def = o ? o : g;
        const char *v = "";
        if (def->arg) {
            if (i + 1 >= argc)
                return s_usage_err("%s needs a value (%s)", a, def->arg);
            v = argv[++i];
        }
        if (o) { /* a subcommand flag (wins over a global of the same name) */
            if (c.n_vals >= CTL_VALUES_MAX)
                return s_usage_err("more than %d flags", CTL_VALUES_MAX);
            c.vals[c.n_vals++] = (ctl_value_t){o->name, v};
            continue;
        }
        if (strcmp(name, "help") == 0) {
            help = true;
        } else if (strcmp(name, "json") == 0) {
            c.json = true;
        } else if (strcmp(name, "cmd-endpoint") == 0 || strcmp(name, "pub-endpoint") == 0 ||
                   strcmp(name, "query-endpoint") == 0) {
            char *dst = name[0] == 'c' ? c.cmd_ep : name[0] == 'p' ? c.pub_ep : c.query_ep;
            if (!*v || strlen(v) >= BUS_ENDPOINT_CAP)
                return s_usage_err("%s: 1..%d characters", a, BUS_ENDPOINT_CAP - 1);
            strcpy(dst, v);
        } else if (strcmp(name, "principal") == 0 || strcmp(name, "command-id") == 0) {
            if (!*v || strlen(v) > OMS_LIMIT_ID_LEN)
                return s_usage_err("%s: 1..%d characters", a, OMS_LIMIT_ID_LEN);
            if (name[0] == 'p')
                c.principal = v;
            else
                c.command_id = v;
        } else if (strcmp(name, "timeout-ms") == 0) {
            S_TRY(s_int_flag(name, v, 1, BUS_TIMEOUT_MS_MAX, &c.timeout_ms));
        } else if (strcmp(name, "retries") == 0) {
            S_TRY(s_int_flag(name, v, 0, BUS_RETRIES_MAX, &c.retries));
        }
    }
    if (help) {
        if (k)
            s_cmd_usage(stdout, k);
        else
            s_usage(stdout);
        return 0;
    }
    if (!k) {
        s_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (positional) {
        if (c.n_vals >= CTL_VALUES_MAX)
            return s_usage_err("more than %d flags", CTL_VALUES_MAX);
        c.vals[c.n_vals++] = (ctl_value_t){k->positional, positional};
    }
    if (oms_arena_init(&s_arena, CTL_ARENA_BYTES) != 0) {
        fprintf(stderr, "omsctl: out of memory\n");
        return CTL_EXIT_DAEMON;
    }
    int rc = k->run(&c, k);
    fflush(stdout);
    bus_client_destroy(&c.client);
    oms_arena_free(&s_arena);
    ctl_print_fini();
    return rc;
}
