/*
 * omsctl_load.c - `omsctl load FILE.json`: reference data from a JSON file, submitted as the
 * ordinary commands (one per item) in dependency order: principals, instruments, reference
 * prices, accounts, limits, restrictions. The file (every section optional):
 *
 *   {
 *     "principals":  [{"id": "alice", "roles": ["pm", "trader"], "active": true}],
 *     "instruments": [{"id": "GOOG", "symbol": "GOOG", "asset_class": "equity",
 *                      "currency": "USD", "multiplier": "1", "lot_size": "1",
 *                      "tick_size": "0.01", "active": true, "update": false}],
 *     "reference_prices": [{"instrument": "GOOG", "price": "150"}],
 *     "accounts":    [{"id": "ACC9", "name": "Fund 9", "release_policy": "four-eyes",
 *                      "allow_short": false, "active": true}],
 *     "limits":      [{"scope": "account", "account": "ACC9", "instrument": "",
 *                      "max_order_qty": "1000", "max_order_notional": "1000000",
 *                      "max_position_long": "5000", "max_position_short": "0",
 *                      "collar_pct": "0.1"}],
 *     "restrictions": [{"instrument": "GOOG", "account": "", "restricted": true,
 *                       "reason": "research"}]
 *   }
 *
 * Decimals are JSON strings ("0.01") or integers; JSON reals (0.01) are refused, because a
 * binary double cannot carry an exact price. Principals' roles use omsctl's names (pm, trader,
 * ops, compliance, venue, admin). Reference data is sent as principal admin, limits and
 * restrictions as compliance (or --principal for all). Command ids are derived from the item's
 * content ("load-<kind>-<id>-<hash>"), so loading the same file again is answered DUPLICATE and
 * appends nothing; a changed item is a new command.
 *
 * Bounded: at most LOAD_ITEMS_MAX items per section and LOAD_FILE_MAX bytes of file.
 */
#include "omsctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>

enum {
    LOAD_ITEMS_MAX = 100000,  /* items per section */
    LOAD_FILE_MAX = 64 << 20, /* bytes of the file */
    LOAD_CMD_BYTES = 8192,    /* one encoded command (no lists here) */
};

/* A bad item: prints where and why, returns CTL_EXIT_USAGE. */
__attribute__((format(printf, 3, 4))) static int s_bad(const char *section, size_t i,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "omsctl: load: %s[%zu]: ", section, i);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CTL_EXIT_USAGE;
}

/* String field into dst[cap]; absent = dflt (NULL: required). 0 or CTL_EXIT_USAGE. */
static int s_str(json_t *o, const char *key, const char *dflt, char *dst, size_t cap,
                 const char *section, size_t i)
{
    json_t *v = json_object_get(o, key);
    const char *s = dflt;
    if (v) {
        if (!json_is_string(v))
            return s_bad(section, i, "\"%s\" must be a string", key);
        s = json_string_value(v);
    }
    if (!s)
        return s_bad(section, i, "\"%s\" is required", key);
    if (strlen(s) >= cap)
        return s_bad(section, i, "\"%s\" is longer than %zu characters", key, cap - 1);
    oms_strlcpy(dst, s, cap);
    return 0;
}

/* Boolean field (dflt when absent); CTL_EXIT_USAGE when not true/false. */
static int s_bool(json_t *o, const char *key, bool dflt, bool *out, const char *section, size_t i)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return s_bad(section, i, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* Decimal field: a string or an integer. *out->set says whether it was there; required
 * fields fail when absent. */
static int s_dec(json_t *o, const char *key, bool required, oms_opt_dec_t *out, const char *section,
                 size_t i)
{
    json_t *v = json_object_get(o, key);
    out->set = false;
    out->v = 0;
    if (!v || json_is_null(v))
        return required ? s_bad(section, i, "\"%s\" is required", key) : 0;
    char buf[64];
    if (json_is_string(v)) {
        if (oms_dec_parse_cstr(json_string_value(v), &out->v) != 0)
            return s_bad(section, i, "\"%s\": \"%s\" is not a decimal", key, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (oms_dec_parse_cstr(buf, &out->v) != 0)
            return s_bad(section, i, "\"%s\": %s is out of range", key, buf);
    } else {
        return s_bad(section, i,
                     "\"%s\" must be a string (\"0.01\") or an integer: JSON reals are not exact",
                     key);
    }
    out->set = true;
    return 0;
}

/* Looks a lower-case name up; -1 when unknown. */
static int s_name(const char *v, const char *const *names, const int *vals, int n)
{
    for (int k = 0; k < n; k++)
        if (strcasecmp(v, names[k]) == 0)
            return vals[k];
    return -1;
}

/* Enum field by name (dflt when absent or ""); CTL_EXIT_USAGE for an unknown name. */
static int s_enum(json_t *o, const char *key, const char *const *names, const int *vals, int n,
                  int dflt, int *out, const char *section, size_t i)
{
    char buf[64];
    int rc = s_str(o, key, "", buf, sizeof buf, section, i);
    if (rc)
        return rc;
    if (!buf[0]) {
        *out = dflt;
        return 0;
    }
    *out = s_name(buf, names, vals, n);
    if (*out < 0)
        return s_bad(section, i, "\"%s\": unknown value \"%s\"", key, buf);
    return 0;
}

/* Submits one item's command with a content-derived command id. */
static int s_send(ctl_t *c, oms_cmd_t *cmd, const char *kind, const char *id,
                  const char *default_principal)
{
    oms_strlcpy(cmd->principal, c->principal ? c->principal : default_principal, OMS_ID_CAP);
    uint8_t buf[LOAD_CMD_BYTES];
    size_t len = 0;
    cmd->command_id[0] = '\0';
    cmd->client_ts_ns = 0; /* the same item gives the same bytes: a reload is DUPLICATE */
    if (codec_encode_command(cmd, buf, sizeof buf, &len) != 0) {
        fprintf(stderr, "omsctl: load: %s %s does not encode\n", kind, id);
        return CTL_EXIT_USAGE;
    }
    oms_hash_t h;
    oms_hash(buf, len, &h);
    char hex[65];
    oms_hash_hex(&h, hex, sizeof hex);
    int n = snprintf(cmd->command_id, OMS_ID_CAP, "load-%s-%s-%.12s", kind, id, hex);
    if (n < 0 || n >= OMS_ID_CAP)
        snprintf(cmd->command_id, OMS_ID_CAP, "load-%s-%.40s", kind, hex);
    char what[OMS_ID_CAP + 32];
    snprintf(what, sizeof what, "%s %s", kind, id);
    return ctl_submit(c, cmd, default_principal, what);
}

/* A zeroed command of type t. */
static oms_cmd_t s_cmd(oms_cmd_type_t t)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = t;
    return c;
}

#define S_TRY(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

/* One item of each section -> its command, submitted. CTL_EXIT_USAGE for a bad item
 * (nothing sent), else ctl_submit's exit code. */
static int s_principal(ctl_t *c, json_t *o, const char *sec, size_t i)
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
    oms_cmd_t cmd = s_cmd(OMS_CMD_DEFINE_PRINCIPAL);
    oms_principal_def_t *p = &cmd.u.principal_def;
    S_TRY(s_str(o, "id", NULL, p->principal_id, OMS_ID_CAP, sec, i));
    json_t *roles = json_object_get(o, "roles");
    if (!json_is_array(roles) || json_array_size(roles) == 0 ||
        json_array_size(roles) > OMS_LIMIT_ROLES)
        return s_bad(sec, i, "\"roles\" must be a list of 1..%d role names", OMS_LIMIT_ROLES);
    for (size_t k = 0; k < json_array_size(roles); k++) {
        json_t *r = json_array_get(roles, k);
        int v = json_is_string(r) ? s_name(json_string_value(r), names, vals, 8) : -1;
        if (v < 0)
            return s_bad(sec, i, "\"roles\"[%zu]: pm, trader, ops, compliance, venue or admin", k);
        p->roles |= 1u << v;
    }
    S_TRY(s_bool(o, "active", true, &p->active, sec, i));
    return s_send(c, &cmd, "principal", p->principal_id, "admin");
}

static int s_instrument(ctl_t *c, json_t *o, const char *sec, size_t i)
{
    static const char *const names[] = {"equity",       "future",       "option", "fx",
                                        "fixed-income", "fixed_income", "etf"};
    static const int vals[] = {OMS_ASSET_EQUITY, OMS_ASSET_FUTURE,       OMS_ASSET_OPTION,
                               OMS_ASSET_FX,     OMS_ASSET_FIXED_INCOME, OMS_ASSET_FIXED_INCOME,
                               OMS_ASSET_ETF};
    bool update = false;
    S_TRY(s_bool(o, "update", false, &update, sec, i));
    oms_cmd_t cmd = s_cmd(update ? OMS_CMD_UPDATE_INSTRUMENT : OMS_CMD_DEFINE_INSTRUMENT);
    oms_instrument_def_t *x = &cmd.u.instrument;
    S_TRY(s_str(o, "id", NULL, x->instrument_id, OMS_ID_CAP, sec, i));
    S_TRY(s_str(o, "symbol", x->instrument_id, x->symbol, OMS_ID_CAP, sec, i));
    int ac = 0;
    S_TRY(s_enum(o, "asset_class", names, vals, 7, OMS_ASSET_EQUITY, &ac, sec, i));
    x->asset_class = (oms_asset_class_t)ac;
    S_TRY(s_str(o, "currency", "USD", x->currency, sizeof x->currency, sec, i));
    oms_opt_dec_t m, l, t;
    S_TRY(s_dec(o, "multiplier", false, &m, sec, i));
    S_TRY(s_dec(o, "lot_size", false, &l, sec, i));
    S_TRY(s_dec(o, "tick_size", true, &t, sec, i));
    x->multiplier = m.set ? m.v : OMS_DEC_SCALE;
    x->lot_size = l.set ? l.v : OMS_DEC_SCALE;
    x->tick_size = t.v;
    S_TRY(s_bool(o, "active", true, &x->active, sec, i));
    return s_send(c, &cmd, update ? "instrument-update" : "instrument", x->instrument_id, "admin");
}

static int s_refpx(ctl_t *c, json_t *o, const char *sec, size_t i)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_SET_REFERENCE_PRICE);
    S_TRY(s_str(o, "instrument", NULL, cmd.u.ref_price.instrument_id, OMS_ID_CAP, sec, i));
    oms_opt_dec_t p;
    S_TRY(s_dec(o, "price", true, &p, sec, i));
    cmd.u.ref_price.price = p.v;
    return s_send(c, &cmd, "refpx", cmd.u.ref_price.instrument_id, "admin");
}

static int s_account(ctl_t *c, json_t *o, const char *sec, size_t i)
{
    static const char *const names[] = {"auto", "four-eyes", "four_eyes"};
    static const int vals[] = {OMS_RELEASE_AUTO, OMS_RELEASE_FOUR_EYES, OMS_RELEASE_FOUR_EYES};
    oms_cmd_t cmd = s_cmd(OMS_CMD_DEFINE_ACCOUNT);
    oms_account_def_t *a = &cmd.u.account;
    S_TRY(s_str(o, "id", NULL, a->account_id, OMS_ID_CAP, sec, i));
    S_TRY(s_str(o, "name", a->account_id, a->name, OMS_ID_CAP, sec, i));
    int rp = 0;
    S_TRY(s_enum(o, "release_policy", names, vals, 3, OMS_RELEASE_AUTO, &rp, sec, i));
    a->release_policy = (oms_release_policy_t)rp;
    S_TRY(s_bool(o, "allow_short", false, &a->allow_short, sec, i));
    S_TRY(s_bool(o, "active", true, &a->active, sec, i));
    return s_send(c, &cmd, "account", a->account_id, "admin");
}

static int s_limits(ctl_t *c, json_t *o, const char *sec, size_t i)
{
    static const char *const names[] = {"firm", "account", "account-instrument",
                                        "account_instrument"};
    static const int vals[] = {OMS_SCOPE_FIRM, OMS_SCOPE_ACCOUNT, OMS_SCOPE_ACCOUNT_INSTRUMENT,
                               OMS_SCOPE_ACCOUNT_INSTRUMENT};
    oms_cmd_t cmd = s_cmd(OMS_CMD_SET_LIMITS);
    oms_limits_def_t *l = &cmd.u.limits;
    S_TRY(s_str(o, "account", "", l->account_id, OMS_ID_CAP, sec, i));
    S_TRY(s_str(o, "instrument", "", l->instrument_id, OMS_ID_CAP, sec, i));
    int dflt = l->instrument_id[0] ? OMS_SCOPE_ACCOUNT_INSTRUMENT
               : l->account_id[0]  ? OMS_SCOPE_ACCOUNT
                                   : OMS_SCOPE_FIRM;
    int sc = 0;
    S_TRY(s_enum(o, "scope", names, vals, 4, dflt, &sc, sec, i));
    l->scope = (oms_limit_scope_t)sc;
    S_TRY(s_dec(o, "max_order_qty", false, &l->max_order_qty, sec, i));
    S_TRY(s_dec(o, "max_order_notional", false, &l->max_order_notional, sec, i));
    S_TRY(s_dec(o, "max_position_long", false, &l->max_position_long, sec, i));
    S_TRY(s_dec(o, "max_position_short", false, &l->max_position_short, sec, i));
    S_TRY(s_dec(o, "collar_pct", false, &l->collar_pct, sec, i));
    char id[2 * OMS_ID_CAP + 8];
    snprintf(id, sizeof id, "%s%s%s", l->account_id[0] ? l->account_id : "firm",
             l->instrument_id[0] ? "/" : "", l->instrument_id);
    char shortid[OMS_ID_CAP];
    oms_strlcpy(shortid, id, 40);
    return s_send(c, &cmd, "limits", shortid, "compliance");
}

static int s_restriction(ctl_t *c, json_t *o, const char *sec, size_t i)
{
    oms_cmd_t cmd = s_cmd(OMS_CMD_SET_RESTRICTED);
    oms_restriction_def_t *r = &cmd.u.restriction;
    S_TRY(s_str(o, "instrument", NULL, r->instrument_id, OMS_ID_CAP, sec, i));
    S_TRY(s_str(o, "account", "", r->account_id, OMS_ID_CAP, sec, i));
    S_TRY(s_bool(o, "restricted", true, &r->restricted, sec, i));
    S_TRY(s_str(o, "reason", "", r->reason, OMS_TEXT_CAP, sec, i));
    char id[2 * OMS_ID_CAP + 8], shortid[OMS_ID_CAP];
    snprintf(id, sizeof id, "%s%s%s", r->instrument_id, r->account_id[0] ? "/" : "", r->account_id);
    oms_strlcpy(shortid, id, 40);
    return s_send(c, &cmd, "restriction", shortid, "compliance");
}

typedef int (*s_item_fn)(ctl_t *, json_t *, const char *, size_t);

int ctl_load(ctl_t *c, const char *path)
{
    static const struct {
        const char *section;
        s_item_fn fn;
    } order[] = {
        {"principals", s_principal}, {"instruments", s_instrument}, {"reference_prices", s_refpx},
        {"accounts", s_account},     {"limits", s_limits},          {"restrictions", s_restriction},
    };
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "omsctl: load: cannot open %s: %s\n", path, strerror(errno));
        return CTL_EXIT_USAGE;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    if (size < 0 || size > LOAD_FILE_MAX) {
        fprintf(stderr, "omsctl: load: %s is larger than %d bytes\n", path, LOAD_FILE_MAX);
        return CTL_EXIT_USAGE;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fprintf(stderr, "omsctl: load: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        return CTL_EXIT_USAGE;
    }
    int worst = 0;
    if (!json_is_object(root)) {
        fprintf(stderr, "omsctl: load: %s: the top level must be an object\n", path);
        worst = CTL_EXIT_USAGE;
        goto out;
    }
    /* Unknown sections are an error: a typo must not silently load nothing. */
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        bool known = false;
        for (size_t s = 0; s < sizeof order / sizeof order[0]; s++)
            known |= strcmp(key, order[s].section) == 0;
        if (!known || !json_is_array(val)) {
            fprintf(stderr, "omsctl: load: \"%s\": %s\n", key,
                    known ? "must be a list" : "unknown section");
            worst = CTL_EXIT_USAGE;
            goto out;
        }
    }
    size_t sent = 0;
    for (size_t s = 0; s < sizeof order / sizeof order[0]; s++) {
        json_t *list = json_object_get(root, order[s].section);
        size_t n = list ? json_array_size(list) : 0;
        if (n > LOAD_ITEMS_MAX) {
            fprintf(stderr, "omsctl: load: \"%s\": more than %d items\n", order[s].section,
                    LOAD_ITEMS_MAX);
            worst = CTL_EXIT_USAGE;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *item = json_array_get(list, i);
            int rc = json_is_object(item) ? order[s].fn(c, item, order[s].section, i)
                                          : s_bad(order[s].section, i, "must be an object");
            if (rc == CTL_EXIT_USAGE || rc == CTL_EXIT_DAEMON) {
                worst = rc; /* stop: later items may depend on this one */
                goto out;
            }
            if (rc > worst)
                worst = rc;
            sent++;
        }
    }
    if (!c->json)
        printf("loaded %zu item(s) from %s%s\n", sent, path, worst ? " (some were rejected)" : "");
out:
    json_decref(root);
    return worst;
}
