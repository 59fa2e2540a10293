/*
 * omsctl_print.c - omsctl's output: command replies, query rows, statistics and events, as
 * human tables (the default) or as JSON lines (--json, through codec_json: one object per
 * reply, row or event, exactly as the protobuf message says, decimals as exact strings).
 *
 * Rows arrive as serialized projection rows (oms.v1.Order, ...) and are decoded with
 * codec_row_decode_* for the tables. Everything printed goes to stdout; problems to stderr.
 * Memory: one static arena for decoded lists and one JSON buffer grown to the largest message
 * seen (bounded by CODEC_JSON_CAP of the 1 MiB reply cap).
 */
#include "omsctl.h"

#include <stdlib.h>
#include <string.h>

enum {
    P_ARENA_BYTES = 1 << 20, /* decoded lists of one row or event */
    P_ORDER_CACHE = 4096,    /* order -> account remembered by tail for topics */
};

static oms_arena_t s_arena;
static char *s_json;      /* JSON buffer */
static size_t s_json_cap; /* its size */

/* The printer's arena, reset; NULL when it cannot be allocated. */
static oms_arena_t *s_scratch(void)
{
    if (!s_arena.base && oms_arena_init(&s_arena, P_ARENA_BYTES) != 0)
        return NULL;
    oms_arena_reset(&s_arena);
    return &s_arena;
}

void ctl_print_fini(void)
{
    oms_arena_free(&s_arena);
    memset(&s_arena, 0, sizeof s_arena);
    free(s_json);
    s_json = NULL;
    s_json_cap = 0;
}

const char *ctl_dec(oms_dec_t v, char *buf)
{
    if (oms_dec_format(v, buf, OMS_DEC_STR_MAX) < 0)
        strcpy(buf, "?");
    return buf;
}

const char *ctl_opt(oms_opt_dec_t v, char *buf)
{
    if (!v.set) {
        strcpy(buf, "-");
        return buf;
    }
    return ctl_dec(v.v, buf);
}

void ctl_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* Prints bytes as one JSON line of message type_name. 0 or CTL_EXIT_DAEMON (message printed). */
static int s_json_line(const char *type_name, const uint8_t *bytes, size_t len)
{
    size_t need = CODEC_JSON_CAP(len);
    if (need > s_json_cap) {
        char *p = realloc(s_json, need);
        if (!p) {
            fprintf(stderr, "omsctl: out of memory\n");
            return CTL_EXIT_DAEMON;
        }
        s_json = p;
        s_json_cap = need;
    }
    size_t n = 0;
    int rc = codec_json(type_name, bytes, len, s_json, s_json_cap, &n);
    if (rc) {
        fprintf(stderr, "omsctl: a %s does not decode: %s\n", type_name, oms_strerror(rc));
        return CTL_EXIT_DAEMON;
    }
    fwrite(s_json, 1, n, stdout);
    fputc('\n', stdout);
    return 0;
}

/* ---- replies -------------------------------------------------------------------------------- */

/* ACCEPTED, REJECTED, ERROR, DUPLICATE or "?". */
static const char *s_reply_name(oms_reply_status_t s)
{
    switch (s) {
    case OMS_REPLY_ACCEPTED:
        return "ACCEPTED";
    case OMS_REPLY_REJECTED:
        return "REJECTED";
    case OMS_REPLY_ERROR:
        return "ERROR";
    case OMS_REPLY_DUPLICATE:
        return "DUPLICATE";
    default:
        return "?";
    }
}

void ctl_print_reply(const ctl_t *c, const oms_reply_t *r, const char *what)
{
    if (c->json) {
        uint8_t buf[4096];
        size_t len = 0;
        if (codec_encode_reply(r, buf, sizeof buf, &len) == 0)
            s_json_line("oms.v1.CommandReply", buf, len);
        return;
    }
    printf("%-9s", s_reply_name(r->status));
    if (what)
        printf(" %s", what);
    if (r->status == OMS_REPLY_DUPLICATE)
        printf(" (first outcome %s)", s_reply_name(r->original_status));
    if (r->order_id[0])
        printf(" order %s", r->order_id);
    if (r->ord_status != OMS_ST_NONE)
        printf(" status %s", oms_status_name(r->ord_status));
    if (r->first_seq)
        printf(" seq %llu..%llu", (unsigned long long)r->first_seq,
               (unsigned long long)r->last_seq);
    printf(" command-id %s\n", r->command_id);
    if (r->status == OMS_REPLY_REJECTED ||
        (r->status == OMS_REPLY_DUPLICATE && r->original_status == OMS_REPLY_REJECTED))
        printf("  rule %s  reason %s  %s\n", r->rule_id, oms_reject_reason_name(r->reject_reason),
               r->text);
    else if (r->status == OMS_REPLY_ERROR)
        printf("  %s: %s\n", oms_errname(r->error_code), r->text);
}

/* ---- rows ----------------------------------------------------------------------------------- */

/* The oms.v1 message name of a list's rows (for codec_json), NULL for none. */
static const char *s_row_type(codec_qlist_t l)
{
    switch (l) {
    case CODEC_QL_ORDERS:
        return "oms.v1.Order";
    case CODEC_QL_EXECUTIONS:
        return "oms.v1.Execution";
    case CODEC_QL_POSITIONS:
        return "oms.v1.Position";
    case CODEC_QL_ALLOCATIONS:
        return "oms.v1.Allocation";
    case CODEC_QL_INSTRUMENTS:
        return "oms.v1.Instrument";
    case CODEC_QL_ACCOUNTS:
        return "oms.v1.Account";
    case CODEC_QL_PRINCIPALS:
        return "oms.v1.Principal";
    case CODEC_QL_LIMITS:
        return "oms.v1.Limits";
    case CODEC_QL_RESTRICTIONS:
        return "oms.v1.Restriction";
    default:
        return NULL;
    }
}

/* Reports a row that does not decode; returns CTL_EXIT_DAEMON. */
static int s_bad_row(const char *what)
{
    fprintf(stderr, "omsctl: a %s row does not decode\n", what);
    return CTL_EXIT_DAEMON;
}

/* Role names joined by commas into buf (cut to cap). */
static const char *s_roles(uint32_t roles, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t n = 0;
    for (int r = 1; r < OMS_ROLE_COUNT_; r++)
        if (roles & (1u << r))
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
                                  oms_role_name((oms_role_t)r));
    return buf;
}

/* Display names of enums the model has no name function for ("?" when unknown). */
static const char *s_ordtype(oms_ord_type_t t)
{
    return t == OMS_ORD_MARKET ? "MARKET" : t == OMS_ORD_LIMIT ? "LIMIT" : "?";
}

static const char *s_tif(oms_tif_t t)
{
    static const char *const n[] = {"?", "DAY", "GTC", "IOC", "FOK", "GTD"};
    return t >= 0 && t <= OMS_TIF_GTD ? n[t] : "?";
}

static const char *s_alloc_status(oms_alloc_status_t s)
{
    static const char *const n[] = {"?", "PENDING", "BOOKED", "REJECTED", "REVERSED"};
    return s >= 0 && s <= OMS_ALLOC_ST_REVERSED ? n[s] : "?";
}

static const char *s_scope(oms_limit_scope_t s)
{
    static const char *const n[] = {"?", "FIRM", "ACCOUNT", "ACCOUNT_INSTRUMENT"};
    return s >= 0 && s <= OMS_SCOPE_ACCOUNT_INSTRUMENT ? n[s] : "?";
}

/* One table row of a list reply; header prints the header first for a new kind. */
static int s_row(const codec_slice_t *it, bool header)
{
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], d[OMS_DEC_STR_MAX], e[OMS_DEC_STR_MAX],
        f[OMS_DEC_STR_MAX], g[OMS_DEC_STR_MAX];
    oms_arena_t *ar = s_scratch();
    if (!ar)
        return s_bad_row("(out of memory)");
    switch (it->list) {
    case CODEC_QL_ORDERS: {
        proj_order_t o;
        const char(*cl)[OMS_ID_CAP] = NULL;
        const oms_alloc_instr_t *in = NULL;
        uint32_t n_cl = 0, n_in = 0;
        if (codec_row_decode_order(it->data, it->len, ar, &o, &cl, &n_cl, &in, &n_in))
            return s_bad_row("order");
        if (header)
            printf("%-16s %-8s %-8s %-10s %-6s %12s %12s %12s %12s %12s  %s\n", "ORDER", "ACCOUNT",
                   "INSTR", "SIDE", "TYPE", "QTY", "PRICE", "CUM", "LEAVES", "AVG_PX", "STATUS");
        printf("%-16s %-8s %-8s %-10s %-6s %12s %12s %12s %12s %12s  %s\n", o.order_id,
               o.is_block ? "(block)" : o.account_id, o.instrument_id, oms_side_name(o.side),
               s_ordtype(o.ord_type), ctl_dec(o.qty, a), ctl_opt(o.price, b), ctl_dec(o.cum, d),
               ctl_dec(o.leaves, e), ctl_opt(proj_order_avg_px(&o), f), oms_status_name(o.status));
        return 0;
    }
    case CODEC_QL_EXECUTIONS: {
        proj_exec_t x;
        char oid[OMS_ID_CAP], xs[2][OMS_ID_CAP];
        if (codec_row_decode_exec(it->data, it->len, &x, oid, xs))
            return s_bad_row("execution");
        if (header)
            printf("%-16s %-8s %-28s %12s %12s %8s  %s\n", "ORDER", "VENUE", "EXEC_ID", "QTY", "PX",
                   "SEQ", "FLAGS");
        printf("%-16s %-8s %-28s %12s %12s %8llu  %s%s\n", oid, x.venue, x.exec_id,
               ctl_dec(x.qty, a), ctl_dec(x.px, b), (unsigned long long)x.seq,
               x.busted ? "busted " : "", x.late ? "late" : "");
        return 0;
    }
    case CODEC_QL_POSITIONS: {
        proj_position_t p;
        if (codec_row_decode_position(it->data, it->len, &p))
            return s_bad_row("position");
        if (header)
            printf("%-10s %-8s %12s %12s %14s %12s %12s\n", "ACCOUNT", "INSTR", "QTY", "AVG_COST",
                   "REALIZED_PNL", "OPEN_BUY", "OPEN_SELL");
        printf("%-10s %-8s %12s %12s %14s %12s %12s\n", p.account_id[0] ? p.account_id : "(block)",
               p.instrument_id, ctl_dec(p.qty, a),
               p.qty ? ctl_dec(proj_position_avg_cost(&p), b) : "-", ctl_dec(p.realized_pnl, d),
               ctl_dec(p.open_buy_leaves, e), ctl_dec(p.open_sell_leaves, f));
        return 0;
    }
    case CODEC_QL_ALLOCATIONS: {
        proj_alloc_t al;
        const oms_alloc_part_t *parts = NULL;
        const oms_alloc_instr_t *used = NULL;
        uint32_t n = 0, n_used = 0;
        if (codec_row_decode_alloc(it->data, it->len, ar, &al, &parts, &n, &used, &n_used))
            return s_bad_row("allocation");
        if (header)
            printf("%-16s %-12s %-9s %12s %12s  %s\n", "ORDER", "ALLOC_ID", "STATUS", "QTY",
                   "AVG_PX", "PARTS");
        printf("%-16s %-12s %-9s %12s %12s ", al.order_id, al.alloc_id, s_alloc_status(al.status),
               ctl_dec(al.qty, a), ctl_dec(al.avg_px, b));
        for (uint32_t i = 0; i < n && i < OMS_LIMIT_ALLOC_ACCOUNTS; i++)
            printf(" %s=%s@%s", parts[i].account_id, ctl_dec(parts[i].qty, d),
                   ctl_dec(parts[i].px, e));
        if (al.status == OMS_ALLOC_ST_REJECTED)
            printf(" %s: %s", oms_reject_reason_name(al.reject_reason), al.text);
        printf("\n");
        return 0;
    }
    case CODEC_QL_INSTRUMENTS: {
        proj_instrument_t in;
        if (codec_row_decode_instrument(it->data, it->len, &in))
            return s_bad_row("instrument");
        const oms_instrument_def_t *x = &in.def;
        if (header)
            printf("%-12s %-10s %-12s %-4s %10s %8s %8s %12s  %s\n", "INSTRUMENT", "SYMBOL",
                   "CLASS", "CCY", "MULT", "LOT", "TICK", "REF_PX", "ACTIVE");
        static const char *const cls[] = {"?",  "EQUITY",       "FUTURE", "OPTION",
                                          "FX", "FIXED_INCOME", "ETF"};
        printf("%-12s %-10s %-12s %-4s %10s %8s %8s %12s  %s\n", x->instrument_id, x->symbol,
               x->asset_class >= 0 && x->asset_class <= OMS_ASSET_ETF ? cls[x->asset_class] : "?",
               x->currency, ctl_dec(x->multiplier, a), ctl_dec(x->lot_size, b),
               ctl_dec(x->tick_size, d), ctl_opt(in.ref_px, e), x->active ? "yes" : "no");
        return 0;
    }
    case CODEC_QL_ACCOUNTS: {
        proj_account_t ac;
        if (codec_row_decode_account(it->data, it->len, &ac))
            return s_bad_row("account");
        if (header)
            printf("%-12s %-16s %-10s %-6s %s\n", "ACCOUNT", "NAME", "RELEASE", "SHORT", "ACTIVE");
        printf("%-12s %-16s %-10s %-6s %s\n", ac.def.account_id, ac.def.name,
               ac.def.release_policy == OMS_RELEASE_FOUR_EYES ? "FOUR_EYES" : "AUTO",
               ac.def.allow_short ? "yes" : "no", ac.def.active ? "yes" : "no");
        return 0;
    }
    case CODEC_QL_PRINCIPALS: {
        proj_principal_t p;
        char roles[256];
        if (codec_row_decode_principal(it->data, it->len, &p))
            return s_bad_row("principal");
        if (header)
            printf("%-12s %-40s %s\n", "PRINCIPAL", "ROLES", "ACTIVE");
        printf("%-12s %-40s %s\n", p.def.principal_id, s_roles(p.def.roles, roles, sizeof roles),
               p.def.active ? "yes" : "no");
        return 0;
    }
    case CODEC_QL_LIMITS: {
        proj_limits_t l;
        if (codec_row_decode_limits(it->data, it->len, &l))
            return s_bad_row("limits");
        if (header)
            printf("%-18s %-8s %-8s %10s %14s %10s %10s %8s\n", "SCOPE", "ACCOUNT", "INSTR",
                   "MAX_QTY", "MAX_NOTIONAL", "MAX_LONG", "MAX_SHORT", "COLLAR");
        printf("%-18s %-8s %-8s %10s %14s %10s %10s %8s\n", s_scope(l.def.scope),
               l.def.account_id[0] ? l.def.account_id : "-",
               l.def.instrument_id[0] ? l.def.instrument_id : "-", ctl_opt(l.def.max_order_qty, a),
               ctl_opt(l.def.max_order_notional, b), ctl_opt(l.def.max_position_long, d),
               ctl_opt(l.def.max_position_short, e), ctl_opt(l.def.collar_pct, f));
        (void)g;
        return 0;
    }
    case CODEC_QL_RESTRICTIONS: {
        proj_restriction_t r;
        if (codec_row_decode_restriction(it->data, it->len, &r))
            return s_bad_row("restriction");
        if (header)
            printf("%-12s %-10s %-10s %s\n", "INSTRUMENT", "ACCOUNT", "RESTRICTED", "REASON");
        printf("%-12s %-10s %-10s %s\n", r.instrument_id, r.account_id[0] ? r.account_id : "(firm)",
               r.restricted ? "yes" : "lifted", r.reason);
        return 0;
    }
    default:
        return s_bad_row("unknown");
    }
}

int ctl_print_rows(const ctl_t *c, const codec_slice_t *items, uint32_t n, bool header)
{
    codec_qlist_t last = CODEC_QL_NONE;
    for (uint32_t i = 0; i < n; i++) {
        int rc;
        if (c->json) {
            const char *t = s_row_type(items[i].list);
            rc = t ? s_json_line(t, items[i].data, items[i].len) : s_bad_row("unknown");
        } else {
            bool h = header ? items[i].list != last : false;
            if (h && last != CODEC_QL_NONE)
                printf("\n");
            rc = s_row(&items[i], h);
        }
        if (rc)
            return rc;
        last = items[i].list;
    }
    if (n == 0 && !c->json && header)
        printf("(none)\n");
    return 0;
}

int ctl_print_order(const ctl_t *c, const codec_slice_t *row)
{
    if (c->json)
        return s_json_line("oms.v1.Order", row->data, row->len);
    oms_arena_t *ar = s_scratch();
    proj_order_t o;
    const char(*cl)[OMS_ID_CAP] = NULL;
    uint32_t n_cl = 0, n_in = 0;
    const oms_alloc_instr_t *in = NULL;
    if (!ar || codec_row_decode_order(row->data, row->len, ar, &o, &cl, &n_cl, &in, &n_in))
        return s_bad_row("order");
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], t1[40], t2[40];
    printf("order          %s\n", o.order_id);
    printf("status         %s\n", oms_status_name(o.status));
    if (o.is_block) {
        printf("account        (block)\n");
        for (uint32_t i = 0; i < n_in && i < OMS_LIMIT_ALLOC_ACCOUNTS; i++)
            printf("  allocate to  %-10s %s %s\n", in[i].account_id,
                   in[i].by_weight ? "weight" : "qty", ctl_dec(in[i].share, a));
        printf("allocated      %s\n", ctl_dec(o.allocated_qty, a));
    } else {
        printf("account        %s\n", o.account_id);
    }
    printf("instrument     %s\n", o.instrument_id);
    printf("side           %s\n", oms_side_name(o.side));
    printf("type           %s %s\n", s_ordtype(o.ord_type), s_tif(o.tif));
    printf("qty            %s\n", ctl_dec(o.qty, a));
    printf("price          %s\n", ctl_opt(o.price, a));
    printf("cum            %s\n", ctl_dec(o.cum, a));
    printf("leaves         %s\n", ctl_dec(o.leaves, a));
    printf("avg px         %s\n", ctl_opt(proj_order_avg_px(&o), a));
    printf("fills          %u%s\n", o.fill_count, o.overfilled ? " (overfilled)" : "");
    if (o.pending_cl_ord_id[0])
        printf("pending        %s qty %s price %s (before: %s)\n", o.pending_cl_ord_id,
               ctl_opt(o.pending_qty, a), ctl_opt(o.pending_price, b),
               oms_status_name(o.prior_status));
    printf("cl ord id      %s", o.cl_ord_id);
    for (uint32_t i = 0; i < n_cl && i < 1000; i++)
        printf("%s%s", i ? ", " : " (chain: ", cl[i]);
    printf("%s\n", n_cl ? ")" : "");
    if (o.venue[0])
        printf("venue          %s %s\n", o.venue, o.venue_order_id);
    printf("entered by     %s (%s)\n", o.entered_by,
           o.release_policy == OMS_RELEASE_FOUR_EYES ? "four-eyes" : "auto release");
    if (o.released_by[0])
        printf("released by    %s\n", o.released_by);
    if (o.status == OMS_ST_REJECTED)
        printf("rejected       %s %s: %s\n", o.reject_rule_id,
               oms_reject_reason_name(o.reject_reason), proj_str(o.reject_text));
    if (proj_str(o.text)[0])
        printf("text           %s\n", o.text);
    oms_clock_format_iso(o.created_ts_ns, t1, sizeof t1);
    oms_clock_format_iso(o.updated_ts_ns, t2, sizeof t2);
    printf("created        %s (seq %llu)\n", t1, (unsigned long long)o.created_seq);
    printf("updated        %s (seq %llu)\n", t2, (unsigned long long)o.last_seq);
    return 0;
}

void ctl_print_stats(const ctl_t *c, const codec_stats_t *s)
{
    if (c->json) {
        size_t len = 0;
        const uint8_t *raw = bus_query_reply(c->client, &len);
        if (raw)
            s_json_line("oms.v1.QueryReply", raw, len);
        return;
    }
    char hex[65], t[40];
    oms_hash_hex(&s->head_hash, hex, sizeof hex);
    oms_clock_format_iso(s->started_ts_ns, t, sizeof t);
    printf("head seq              %llu\n", (unsigned long long)s->head_seq);
    printf("head hash             %s\n", hex);
    printf("started               %s\n", t);
    printf("commands total        %llu (%llu/s over %llds)\n",
           (unsigned long long)s->commands_total, (unsigned long long)s->commands_per_s,
           (long long)(s->window_ns / 1000000000));
    printf("events total          %llu (%llu/s)\n", (unsigned long long)s->events_total,
           (unsigned long long)s->events_per_s);
    printf("batches total         %llu (mean %.3f commands, max %u, last %u)\n",
           (unsigned long long)s->batches_total, (double)s->commands_per_batch_mean_e3 / 1000.0,
           s->batch_commands_max, s->batch_commands_last);
    printf("append latency        p50 %llu us, p99 %llu us\n",
           (unsigned long long)s->append_latency_us_p50,
           (unsigned long long)s->append_latency_us_p99);
    printf("rejects               %llu\n", (unsigned long long)s->rejects_total);
    for (uint32_t i = 0; i < s->n_rejects_by_reason && i < CODEC_STATS_REASONS_MAX; i++)
        printf("  %-20s %llu\n", oms_reject_reason_name(s->rejects_by_reason[i].reason),
               (unsigned long long)s->rejects_by_reason[i].count);
    printf("errors                %llu\n", (unsigned long long)s->errors_total);
    printf("duplicates            %llu\n", (unsigned long long)s->duplicates_total);
    printf("orders in memory      %llu (state reloads %llu)\n",
           (unsigned long long)s->orders_in_memory, (unsigned long long)s->state_reloads_total);
    for (uint32_t i = 0; i < s->n_subscribers && i < CODEC_STATS_SUBSCRIBERS_MAX; i++)
        printf("subscriber %-16s from seq %llu, lag %llu\n", s->subscribers[i].client,
               (unsigned long long)s->subscribers[i].last_from_seq,
               (unsigned long long)s->subscribers[i].lag_events);
}

/* ---- events --------------------------------------------------------------------------------- */

/* order -> account, learned from OrderAccepted, for the topics of events that do not carry
 * the account (a ring: the oldest entries are forgotten). */
static struct {
    char order[OMS_ID_CAP];
    char account[OMS_ID_CAP];
} s_cache[P_ORDER_CACHE];
static uint32_t s_cache_next;

/* The account tail learned for an order, or NULL. */
static const char *s_account_of(const char *order_id)
{
    for (uint32_t i = 0; i < P_ORDER_CACHE; i++)
        if (s_cache[i].order[0] && strcmp(s_cache[i].order, order_id) == 0)
            return s_cache[i].account;
    return NULL;
}

/* The line's details after the topic. */
static void s_event_details(const oms_event_t *ev, char *out, size_t cap)
{
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], d[OMS_DEC_STR_MAX], e[OMS_DEC_STR_MAX];
    out[0] = '\0';
    switch (ev->type) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED:
        snprintf(out, cap, "%s lot %s tick %s mult %s %s", ev->u.instrument.instrument_id,
                 ctl_dec(ev->u.instrument.lot_size, a), ctl_dec(ev->u.instrument.tick_size, b),
                 ctl_dec(ev->u.instrument.multiplier, d), ev->u.instrument.currency);
        break;
    case OMS_EV_ACCOUNT_DEFINED:
        snprintf(out, cap, "%s %s", ev->u.account.account_id,
                 ev->u.account.release_policy == OMS_RELEASE_FOUR_EYES ? "four-eyes" : "auto");
        break;
    case OMS_EV_PRINCIPAL_DEFINED: {
        char roles[256];
        snprintf(out, cap, "%s %s", ev->u.principal.principal_id,
                 s_roles(ev->u.principal.roles, roles, sizeof roles));
        break;
    }
    case OMS_EV_LIMITS_SET:
        snprintf(out, cap, "%s %s %s", s_scope(ev->u.limits.scope), ev->u.limits.account_id,
                 ev->u.limits.instrument_id);
        break;
    case OMS_EV_RESTRICTION_SET:
        snprintf(out, cap, "%s %s %s", ev->u.restriction.instrument_id,
                 ev->u.restriction.account_id[0] ? ev->u.restriction.account_id : "(firm)",
                 ev->u.restriction.restricted ? "restricted" : "lifted");
        break;
    case OMS_EV_REFERENCE_PRICE_SET:
        snprintf(out, cap, "%s %s", ev->u.ref_price.instrument_id,
                 ctl_dec(ev->u.ref_price.price, a));
        break;
    case OMS_EV_ORDER_ACCEPTED: {
        const oms_new_order_t *o = &ev->u.accepted.order;
        snprintf(out, cap, "order %s %s %s %s %s @ %s -> %s", o->order_id,
                 o->n_allocs ? "(block)" : o->account_id, oms_side_name(o->side),
                 ctl_dec(o->qty, a), o->instrument_id,
                 o->price.set ? ctl_dec(o->price.v, b) : "MARKET",
                 oms_status_name(ev->u.accepted.status));
        break;
    }
    case OMS_EV_ORDER_RELEASED:
        snprintf(out, cap, "order %s by %s -> %s", ev->u.released.order_id,
                 ev->u.released.released_by, oms_status_name(ev->u.released.status));
        break;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        snprintf(out, cap, "order %s clordid %s qty %s price %s -> %s", ev->u.request.order_id,
                 ev->u.request.cl_ord_id, ctl_opt(ev->u.request.qty, a),
                 ctl_opt(ev->u.request.price, b), oms_status_name(ev->u.request.status));
        break;
    case OMS_EV_ORDER_FILLED:
    case OMS_EV_TRADE_BUSTED:
    case OMS_EV_TRADE_CORRECTED: {
        const oms_ev_order_t *o = &ev->u.order;
        snprintf(out, cap, "order %s %s %s@%s cum %s leaves %s venue %s exec %s%s%s -> %s",
                 o->h.order_id, oms_side_name(o->side), ctl_dec(o->last_qty, a),
                 ctl_dec(o->last_px, b), ctl_dec(o->cum_qty, d), ctl_dec(o->leaves_qty, e),
                 o->h.venue, o->h.exec_id, o->overfill ? " OVERFILL" : "", o->late ? " LATE" : "",
                 oms_status_name(o->status));
        break;
    }
    case OMS_EV_ORDER_REPLACED: {
        const oms_ev_order_t *o = &ev->u.order;
        snprintf(out, cap, "order %s qty %s price %s cum %s -> %s", o->h.order_id,
                 ctl_dec(o->qty, a), ctl_opt(o->price, b), ctl_dec(o->cum_qty, d),
                 oms_status_name(o->status));
        break;
    }
    case OMS_EV_ORDER_ACKNOWLEDGED:
    case OMS_EV_ORDER_REJECTED_BY_VENUE:
    case OMS_EV_ORDER_CANCELED:
    case OMS_EV_CANCEL_REJECTED:
    case OMS_EV_REPLACE_REJECTED:
    case OMS_EV_ORDER_EXPIRED:
    case OMS_EV_ORDER_DONE_FOR_DAY: {
        const oms_ev_order_t *o = &ev->u.order;
        snprintf(out, cap, "order %s venue %s%s%s -> %s", o->h.order_id, o->h.venue,
                 o->text[0] ? " " : "", o->text, oms_status_name(o->status));
        break;
    }
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED: {
        const oms_ev_alloc_t *al = &ev->u.alloc;
        int n = snprintf(out, cap, "order %s alloc %s %s qty %s", al->order_id, al->alloc_id,
                         s_alloc_status(al->status), ctl_dec(al->qty, a));
        for (uint32_t i = 0; i < al->n_parts && n > 0 && (size_t)n < cap; i++)
            n += snprintf(out + n, cap - (size_t)n, " %s=%s", al->parts[i].account_id,
                          ctl_dec(al->parts[i].qty, b));
        if (ev->type == OMS_EV_ALLOCATION_REJECTED && n > 0 && (size_t)n < cap)
            snprintf(out + n, cap - (size_t)n, " %s %s: %s", al->rule_id,
                     oms_reject_reason_name(al->reason), al->text);
        break;
    }
    case OMS_EV_COMMAND_REJECTED:
        snprintf(out, cap, "%s %s %s: %s", oms_cmd_type_name(ev->u.rejected.command_type),
                 ev->u.rejected.rule_id, oms_reject_reason_name(ev->u.rejected.reason),
                 ev->u.rejected.text);
        break;
    case OMS_EV_EXCEPTION_RAISED:
        snprintf(out, cap, "order %s kind %d %s", ev->u.exception.order_id,
                 (int)ev->u.exception.kind, ev->u.exception.text);
        break;
    case OMS_EV_END_OF_DAY_PROCESSED:
        snprintf(out, cap, "trade date %s, %u orders expired", ev->u.eod.trade_date,
                 ev->u.eod.orders_expired);
        break;
    default:
        break;
    }
}

int ctl_print_event(const ctl_t *c, const uint8_t *env, size_t len)
{
    evlog_record_t rec;
    bus_topic_info_t ti;
    if (evlog_record_parse(env, len, &rec) != 0 || bus_topic_info(env, len, &ti) != 0) {
        fprintf(stderr, "omsctl: an event does not decode\n");
        return CTL_EXIT_DAEMON;
    }
    oms_arena_t *ar = s_scratch();
    oms_event_t ev;
    if (!ar || codec_decode_event(rec.body, rec.body_len, ar, &ev) != 0) {
        fprintf(stderr, "omsctl: event %llu does not decode\n", (unsigned long long)rec.seq);
        return CTL_EXIT_DAEMON;
    }
    if (ev.type == OMS_EV_ORDER_ACCEPTED) {
        uint32_t i = s_cache_next++ % P_ORDER_CACHE;
        oms_strlcpy(s_cache[i].order, ev.u.accepted.order.order_id, OMS_ID_CAP);
        oms_strlcpy(s_cache[i].account, ev.u.accepted.order.account_id, OMS_ID_CAP);
    }
    if (c->json)
        return s_json_line("oms.v1.EventEnvelope", env, len);
    char topic[BUS_TOPIC_CAP], t[40], details[1024];
    const char *acct = ti.account_of_order ? s_account_of(ti.order_id) : NULL;
    if (bus_topic_format(&ti, acct, topic, sizeof topic) < 0)
        strcpy(topic, "?");
    oms_clock_format_iso(rec.ts_ns, t, sizeof t);
    s_event_details(&ev, details, sizeof details);
    printf("%6llu %s %-34s %-8.*s %s\n", (unsigned long long)rec.seq, t, topic,
           (int)rec.principal_len, rec.principal, details);
    return 0;
}
