/*
 * enginefix.c - the engine test fixture (see enginefix.h). Assertions here are cmocka's, so a
 * fixture failure fails the calling test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "enginefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

oms_dec_t D(const char *s)
{
    oms_dec_t v = 0;
    int rc = oms_dec_parse_cstr(s, &v);
    if (rc != 0)
        fprintf(stderr, "bad decimal '%s'\n", s);
    assert_int_equal(rc, 0);
    return v;
}

static int s_lookup(void *ctx, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    return evlog_row_get((evlog_t *)ctx, EVLOG_CF_IDEMPOTENCY, key, klen, val, vlen);
}

static void s_open(fx_t *f, const char *dir)
{
    oms_engine_opts_t o;
    oms_engine_opts_default(&o);
    uint64_t head = 0;
    if (dir) {
        char err[512];
        int rc = evlog_open(dir, NULL, &f->log, err, sizeof err);
        if (rc)
            fprintf(stderr, "evlog_open: %s\n", err);
        assert_int_equal(rc, 0);
        o.lookup = s_lookup;
        o.lookup_ctx = f->log;
        o.free_fn = evlog_free;
        if (f->on_demand)
            oms_engine_opts_use_store(&o, f->log);
        evlog_head(f->log, &head, NULL);
    }
    f->eng = oms_engine_new(&o, head);
    assert_non_null(f->eng);
    if (dir) {
        int rc = oms_engine_load(f->eng, f->log);
        if (rc)
            fprintf(stderr, "oms_engine_load: %s %s\n", oms_strerror(rc), oms_engine_error(f->eng));
        assert_int_equal(rc, 0);
    }
}

void fx_init(fx_t *f, const char *dir)
{
    memset(f, 0, sizeof *f);
    f->ts = 1763733053000000000LL;
    s_open(f, dir);
}

void fx_init_on_demand(fx_t *f, const char *dir)
{
    memset(f, 0, sizeof *f);
    f->ts = 1763733053000000000LL;
    f->on_demand = true;
    s_open(f, dir);
}

void fx_free(fx_t *f)
{
    oms_engine_destroy(&f->eng);
    evlog_destroy(&f->log);
}

void fx_restart(fx_t *f, const char *dir)
{
    oms_engine_destroy(&f->eng);
    evlog_destroy(&f->log);
    s_open(f, dir);
}

uint32_t fx_run_batch(fx_t *f, oms_cmd_t *cmds, uint32_t n, oms_reply_t *out)
{
    for (uint32_t i = 0; i < n; i++)
        if (!cmds[i].command_id[0])
            snprintf(cmds[i].command_id, OMS_ID_CAP, "c%llu", (unsigned long long)++f->n_cmd);
    f->ts += 1000000;
    uint32_t done = 0, events = 0;
    while (done < n) {
        oms_batch_t b;
        int rc = oms_engine_process(f->eng, cmds + done, n - done, f->ts, &b);
        assert_int_equal(rc, 0);
        assert_true(b.n_consumed > 0);
        if (f->log && (b.n_events || b.n_rows)) {
            uint64_t first = 0;
            rc = evlog_append(f->log, b.events, b.n_events, b.rows, b.n_rows, &first);
            if (rc)
                fprintf(stderr, "append: %s\n", evlog_errmsg(f->log));
            assert_int_equal(rc, 0);
            if (b.n_events)
                assert_int_equal(first, b.first_seq);
        }
        memcpy(out + done, b.replies, b.n_consumed * sizeof *out);
        if (n == 1) {
            f->last_events = b.n_events;
            memcpy(f->last_ev, b.decoded, (b.n_events < 8 ? b.n_events : 8) * sizeof(oms_event_t));
        }
        events += b.n_events;
        oms_engine_commit(f->eng);
        done += b.n_consumed;
    }
    return events;
}

oms_reply_status_t fx_run(fx_t *f, const char *who, oms_cmd_t *cmd)
{
    if (who)
        oms_strlcpy(cmd->principal, who, OMS_ID_CAP);
    fx_run_batch(f, cmd, 1, &f->last);
    return f->last.status;
}

void fx_ok(fx_t *f, const char *who, oms_cmd_t cmd)
{
    oms_reply_status_t st = fx_run(f, who, &cmd);
    if (st != OMS_REPLY_ACCEPTED)
        fprintf(stderr, "expected ACCEPTED for %s, got %d: %s %s\n", oms_cmd_type_name(cmd.type),
                st, f->last.rule_id, f->last.text);
    assert_int_equal(st, OMS_REPLY_ACCEPTED);
}

void fx_rejected(fx_t *f, const char *who, oms_cmd_t cmd, const char *rule)
{
    oms_reply_status_t st = fx_run(f, who, &cmd);
    if (st != OMS_REPLY_REJECTED || (rule && strcmp(f->last.rule_id, rule) != 0))
        fprintf(stderr, "expected REJECTED %s for %s, got %d: %s %s\n", rule ? rule : "",
                oms_cmd_type_name(cmd.type), st, f->last.rule_id, f->last.text);
    assert_int_equal(st, OMS_REPLY_REJECTED);
    if (rule)
        assert_string_equal(f->last.rule_id, rule);
}

oms_cmd_t fx_simple(oms_cmd_type_t type, const char *order_id)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = type;
    switch (type) {
    case OMS_CMD_RELEASE_ORDER:
        oms_strlcpy(c.u.release.order_id, order_id, OMS_ID_CAP);
        break;
    case OMS_CMD_CANCEL_ORDER:
        oms_strlcpy(c.u.cancel.order_id, order_id, OMS_ID_CAP);
        break;
    case OMS_CMD_REPLACE_ORDER:
        oms_strlcpy(c.u.replace.order_id, order_id, OMS_ID_CAP);
        break;
    case OMS_CMD_ALLOCATE:
        oms_strlcpy(c.u.allocate.order_id, order_id, OMS_ID_CAP);
        break;
    case OMS_CMD_REVERSE_ALLOCATION:
        oms_strlcpy(c.u.reverse.order_id, order_id, OMS_ID_CAP);
        break;
    default:
        oms_strlcpy(c.u.report.h.order_id, order_id, OMS_ID_CAP);
        oms_strlcpy(c.u.report.h.venue, "XNAS", OMS_ID_CAP);
        break;
    }
    return c;
}

oms_cmd_t fx_fill(const char *order_id, const char *exec_id, const char *qty, const char *px)
{
    oms_cmd_t c = fx_simple(OMS_CMD_VENUE_FILL, order_id);
    oms_strlcpy(c.u.report.h.exec_id, exec_id, OMS_ID_CAP);
    c.u.report.last_qty = D(qty);
    c.u.report.last_px = D(px);
    return c;
}

oms_cmd_t fx_new_order(const char *order_id, const char *account, const char *instrument,
                       oms_side_t side, const char *qty, const char *limit_px)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_NEW_ORDER;
    oms_new_order_t *o = &c.u.new_order;
    oms_strlcpy(o->order_id, order_id, OMS_ID_CAP);
    oms_strlcpy(o->account_id, account, OMS_ID_CAP);
    oms_strlcpy(o->instrument_id, instrument, OMS_ID_CAP);
    o->side = side;
    o->qty = D(qty);
    if (limit_px) {
        o->ord_type = OMS_ORD_LIMIT;
        o->price = (oms_opt_dec_t){true, D(limit_px)};
    } else {
        o->ord_type = OMS_ORD_MARKET;
    }
    o->tif = OMS_TIF_DAY;
    return c;
}

static void s_principal(fx_t *f, const char *id, uint32_t roles)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_DEFINE_PRINCIPAL;
    oms_strlcpy(c.u.principal_def.principal_id, id, OMS_ID_CAP);
    c.u.principal_def.roles = roles;
    c.u.principal_def.active = true;
    fx_ok(f, "admin", c);
}

static void s_instrument(fx_t *f, const char *id, oms_asset_class_t ac, const char *mult,
                         const char *lot, const char *tick)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_DEFINE_INSTRUMENT;
    oms_instrument_def_t *d = &c.u.instrument;
    oms_strlcpy(d->instrument_id, id, OMS_ID_CAP);
    oms_strlcpy(d->symbol, id, OMS_ID_CAP);
    d->asset_class = ac;
    memcpy(d->currency, "USD", 4);
    d->multiplier = D(mult);
    d->lot_size = D(lot);
    d->tick_size = D(tick);
    d->active = true;
    fx_ok(f, "admin", c);
}

static void s_account(fx_t *f, const char *id, oms_release_policy_t pol, bool allow_short)
{
    oms_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = OMS_CMD_DEFINE_ACCOUNT;
    oms_account_def_t *d = &c.u.account;
    oms_strlcpy(d->account_id, id, OMS_ID_CAP);
    oms_strlcpy(d->name, id, OMS_ID_CAP);
    d->active = true;
    d->release_policy = pol;
    d->allow_short = allow_short;
    fx_ok(f, "admin", c);
}

void fx_setup(fx_t *f)
{
    s_principal(f, "admin", 1u << OMS_ROLE_ADMIN);
    s_principal(f, "comp", 1u << OMS_ROLE_COMPLIANCE);
    s_principal(f, "pm", 1u << OMS_ROLE_PORTFOLIO_MANAGER);
    s_principal(f, "pm2", (1u << OMS_ROLE_PORTFOLIO_MANAGER) | (1u << OMS_ROLE_TRADER));
    s_principal(f, "trader", 1u << OMS_ROLE_TRADER);
    s_principal(f, "venue", 1u << OMS_ROLE_VENUE);
    s_principal(f, "ops", 1u << OMS_ROLE_OPERATIONS);
    s_instrument(f, "AAPL", OMS_ASSET_EQUITY, "1", "1", "0.01");
    s_instrument(f, "ESZ6", OMS_ASSET_FUTURE, "50", "1", "0.25");
    s_account(f, "ACC1", OMS_RELEASE_AUTO, false);
    s_account(f, "ACC2", OMS_RELEASE_AUTO, false);
    s_account(f, "ACC3", OMS_RELEASE_AUTO, false);
    s_account(f, "SHORTY", OMS_RELEASE_AUTO, true);
    s_account(f, "FE", OMS_RELEASE_FOUR_EYES, false);
}

const proj_order_t *fx_order(fx_t *f, const char *order_id)
{
    return proj_order(oms_engine_state(f->eng), order_id);
}

const proj_position_t *fx_pos(fx_t *f, const char *account, const char *instrument)
{
    return proj_position(oms_engine_state(f->eng), account, instrument);
}

typedef struct {
    uint8_t *p;
    size_t len, cap;
} rows_buf_t;

static int s_collect(void *ctx, evlog_cf_t cf, const uint8_t *k, size_t kl, const uint8_t *v,
                     size_t vl)
{
    rows_buf_t *b = ctx;
    size_t need = b->len + 1 + 8 + kl + 8 + vl;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < need)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    b->p[b->len++] = (uint8_t)cf;
    memcpy(b->p + b->len, &kl, 8);
    memcpy(b->p + b->len + 8, k, kl);
    b->len += 8 + kl;
    memcpy(b->p + b->len, &vl, 8);
    memcpy(b->p + b->len + 8, v, vl);
    b->len += 8 + vl;
    return 0;
}

uint8_t *fx_rows(const oms_engine_t *eng, size_t *len)
{
    rows_buf_t b = {0};
    assert_int_equal(oms_engine_rows(eng, s_collect, &b), 0);
    *len = b.len;
    if (!b.p)
        b.p = malloc(1);
    return b.p;
}
