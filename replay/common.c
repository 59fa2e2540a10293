/*
 * common.c - the replay library's shared helpers: opening a store for reading, progress lines,
 * the recorded head, what an event is about (account, instrument, order), readable summaries,
 * and JSON/CSV escaping. No state; nothing here allocates except replay_open's handle.
 */
#include "replay_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

int replay_open(const char *dir, const char *secondary_dir, evlog_t **out, char *err, size_t cap)
{
    if (dir == NULL || out == NULL) {
        if (err && cap)
            snprintf(err, cap, "no store directory given");
        return OMS_ERR_INVALID;
    }
    evlog_options_t o;
    evlog_options_default(&o);
    o.create_if_missing = false;
    if (secondary_dir) {
        o.mode = EVLOG_MODE_SECONDARY;
        o.secondary_path = secondary_dir;
    } else {
        o.mode = EVLOG_MODE_READ_ONLY;
        o.allow_damaged = true; /* verify reports the damage itself */
    }
    /* A damaged tail must not stop the open: verify checks every event's hash anyway. */
    o.verify_tail_on_open = false;
    return evlog_open(dir, &o, out, err, cap);
}

void replay__progress_start(replay_progress_t *p, const char *what)
{
    if (p == NULL)
        return;
    if (p->interval_ns <= 0)
        p->interval_ns = 1000000000LL;
    p->what = what;
    p->started_ns = p->last_ns = oms_clock_mono_ns();
}

void replay__progress_tick(replay_progress_t *p, uint64_t done, uint64_t total)
{
    if (p == NULL || p->out == NULL)
        return;
    int64_t now = oms_clock_mono_ns();
    if (now - p->last_ns < p->interval_ns)
        return;
    p->last_ns = now;
    double s = (double)(now - p->started_ns) / 1e9;
    fprintf(p->out, "oms-replay %s: %" PRIu64 "/%" PRIu64 " events, %.1f s, %.0f events/s\n",
            p->what ? p->what : "", done, total, s, s > 0 ? (double)done / s : 0.0);
    fflush(p->out);
}

void replay__progress_end(replay_progress_t *p, uint64_t done)
{
    if (p == NULL || p->out == NULL)
        return;
    int64_t ns = oms_clock_mono_ns() - p->started_ns;
    if (ns < p->interval_ns)
        return; /* a short run needs no report */
    double s = (double)ns / 1e9;
    fprintf(p->out, "oms-replay %s: %" PRIu64 " events in %.2f s (%.0f events/s)\n",
            p->what ? p->what : "", done, s, s > 0 ? (double)done / s : 0.0);
    fflush(p->out);
}

int replay__read_head(evlog_t *log, uint64_t *seq, oms_hash_t *hash)
{
    uint8_t *v = NULL;
    size_t len = 0;
    int rc = evlog_row_get(log, EVLOG_CF_META, (const uint8_t *)"evlog.head", 10, &v, &len);
    if (rc)
        return rc;
    if (len != 8 + OMS_HASH_LEN) {
        evlog_free(v);
        return OMS_ERR_CORRUPT;
    }
    *seq = oms_get_be64(v);
    memcpy(hash->bytes, v + 8, OMS_HASH_LEN);
    evlog_free(v);
    return 0;
}

/* The refused command of a rejection, or NULL. */
static const oms_cmd_t *s_rejected_cmd(const oms_event_t *ev)
{
    return ev->type == OMS_EV_COMMAND_REJECTED ? ev->u.rejected.command : NULL;
}

/* The account / instrument / order a command names ("" when none); pointers into c. */
static const char *s_cmd_account(const oms_cmd_t *c)
{
    switch (c->type) {
    case OMS_CMD_DEFINE_ACCOUNT:
        return c->u.account.account_id;
    case OMS_CMD_SET_LIMITS:
        return c->u.limits.account_id;
    case OMS_CMD_SET_RESTRICTED:
        return c->u.restriction.account_id;
    case OMS_CMD_NEW_ORDER:
        return c->u.new_order.account_id;
    default:
        return "";
    }
}

static const char *s_cmd_instrument(const oms_cmd_t *c)
{
    switch (c->type) {
    case OMS_CMD_DEFINE_INSTRUMENT:
    case OMS_CMD_UPDATE_INSTRUMENT:
        return c->u.instrument.instrument_id;
    case OMS_CMD_SET_LIMITS:
        return c->u.limits.instrument_id;
    case OMS_CMD_SET_RESTRICTED:
        return c->u.restriction.instrument_id;
    case OMS_CMD_SET_REFERENCE_PRICE:
        return c->u.ref_price.instrument_id;
    case OMS_CMD_NEW_ORDER:
        return c->u.new_order.instrument_id;
    default:
        return "";
    }
}

const char *replay__event_account(const oms_event_t *ev)
{
    switch (ev->type) {
    case OMS_EV_ACCOUNT_DEFINED:
        return ev->u.account.account_id;
    case OMS_EV_LIMITS_SET:
        return ev->u.limits.account_id;
    case OMS_EV_RESTRICTION_SET:
        return ev->u.restriction.account_id;
    case OMS_EV_ORDER_ACCEPTED:
        return ev->u.accepted.order.account_id;
    case OMS_EV_COMMAND_REJECTED:
        return s_rejected_cmd(ev) ? s_cmd_account(s_rejected_cmd(ev)) : "";
    default:
        if (ev->type >= OMS_EV_ORDER_FILLED && ev->type <= OMS_EV_TRADE_CORRECTED)
            return ev->u.order.account_id;
        return "";
    }
}

const char *replay__event_instrument(const oms_event_t *ev)
{
    switch (ev->type) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED:
        return ev->u.instrument.instrument_id;
    case OMS_EV_LIMITS_SET:
        return ev->u.limits.instrument_id;
    case OMS_EV_RESTRICTION_SET:
        return ev->u.restriction.instrument_id;
    case OMS_EV_REFERENCE_PRICE_SET:
        return ev->u.ref_price.instrument_id;
    case OMS_EV_ORDER_ACCEPTED:
        return ev->u.accepted.order.instrument_id;
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REVERSED:
        return ev->u.alloc.instrument_id;
    case OMS_EV_COMMAND_REJECTED:
        return s_rejected_cmd(ev) ? s_cmd_instrument(s_rejected_cmd(ev)) : "";
    default:
        if (ev->type >= OMS_EV_ORDER_FILLED && ev->type <= OMS_EV_TRADE_CORRECTED)
            return ev->u.order.instrument_id;
        return "";
    }
}

const char *replay__event_order(const oms_event_t *ev)
{
    switch (ev->type) {
    case OMS_EV_ORDER_ACCEPTED:
        return ev->u.accepted.order.order_id;
    case OMS_EV_ORDER_RELEASED:
        return ev->u.released.order_id;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED:
        return ev->u.request.order_id;
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED:
        return ev->u.alloc.order_id;
    case OMS_EV_COMMAND_REJECTED:
        return s_rejected_cmd(ev) ? oms_cmd_order_id(s_rejected_cmd(ev)) : "";
    case OMS_EV_EXCEPTION_RAISED:
        return ev->u.exception.order_id;
    default:
        return oms_event_is_order_report(ev->type) ? ev->u.order.h.order_id : "";
    }
}

const char *replay__dec(oms_dec_t v, char *buf)
{
    if (oms_dec_format(v, buf, OMS_DEC_STR_MAX) < 0)
        snprintf(buf, OMS_DEC_STR_MAX, "?");
    return buf;
}

/* Appends a formatted piece to buf at *n, never past cap. */
__attribute__((format(printf, 4, 5))) static void s_add(char *buf, size_t cap, size_t *n,
                                                        const char *fmt, ...)
{
    if (*n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n += (size_t)w < cap - *n ? (size_t)w : cap - *n - 1;
}

/* Appends " name=value" when the optional decimal is set. */
static void s_add_opt(char *buf, size_t cap, size_t *n, const char *name, oms_opt_dec_t v)
{
    char d[OMS_DEC_STR_MAX];
    if (v.set)
        s_add(buf, cap, n, " %s=%s", name, replay__dec(v.v, d));
}

/* The exception kind's name as in the schema ("?" when unknown). Static strings. */
static const char *s_exception_name(oms_exception_kind_t k)
{
    switch (k) {
    case OMS_EXC_LATE_FILL:
        return "LATE_FILL";
    case OMS_EXC_OVERFILL:
        return "OVERFILL";
    case OMS_EXC_FILL_THROUGH_LIMIT:
        return "FILL_THROUGH_LIMIT";
    case OMS_EXC_BUST_AFTER_ALLOCATION:
        return "BUST_AFTER_ALLOCATION";
    case OMS_EXC_UNSOLICITED_CANCEL:
        return "UNSOLICITED_CANCEL";
    case OMS_EXC_LATE_REPORT:
        return "LATE_REPORT";
    default:
        return "?";
    }
}

void replay__summary(const oms_event_t *ev, char *buf, size_t cap)
{
    size_t n = 0;
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], c[OMS_DEC_STR_MAX], d[OMS_DEC_STR_MAX];
    buf[0] = '\0';
    switch (ev->type) {
    case OMS_EV_INSTRUMENT_DEFINED:
    case OMS_EV_INSTRUMENT_UPDATED: {
        const oms_instrument_def_t *x = &ev->u.instrument;
        s_add(buf, cap, &n, "instrument %s symbol=%s ccy=%s multiplier=%s lot=%s tick=%s%s",
              x->instrument_id, x->symbol, x->currency, replay__dec(x->multiplier, a),
              replay__dec(x->lot_size, b), replay__dec(x->tick_size, c),
              x->active ? "" : " INACTIVE");
        break;
    }
    case OMS_EV_ACCOUNT_DEFINED: {
        const oms_account_def_t *x = &ev->u.account;
        s_add(buf, cap, &n, "account %s name=%s release=%s%s%s", x->account_id, x->name,
              x->release_policy == OMS_RELEASE_FOUR_EYES ? "FOUR_EYES" : "AUTO",
              x->allow_short ? " short-allowed" : "", x->active ? "" : " INACTIVE");
        break;
    }
    case OMS_EV_PRINCIPAL_DEFINED: {
        const oms_principal_def_t *x = &ev->u.principal;
        s_add(buf, cap, &n, "principal %s roles=", x->principal_id);
        bool first = true;
        for (int r = 1; r < OMS_ROLE_COUNT_; r++)
            if (x->roles & (1u << r)) {
                s_add(buf, cap, &n, "%s%s", first ? "" : ",", oms_role_name((oms_role_t)r));
                first = false;
            }
        s_add(buf, cap, &n, "%s", x->active ? "" : " INACTIVE");
        break;
    }
    case OMS_EV_LIMITS_SET: {
        const oms_limits_def_t *x = &ev->u.limits;
        s_add(buf, cap, &n, "limits scope=%d account=%s instrument=%s", (int)x->scope,
              x->account_id, x->instrument_id);
        s_add_opt(buf, cap, &n, "max_qty", x->max_order_qty);
        s_add_opt(buf, cap, &n, "max_notional", x->max_order_notional);
        s_add_opt(buf, cap, &n, "max_long", x->max_position_long);
        s_add_opt(buf, cap, &n, "max_short", x->max_position_short);
        s_add_opt(buf, cap, &n, "collar", x->collar_pct);
        break;
    }
    case OMS_EV_RESTRICTION_SET: {
        const oms_restriction_def_t *x = &ev->u.restriction;
        s_add(buf, cap, &n, "%s %s for %s: %s", x->restricted ? "restrict" : "lift",
              x->instrument_id, x->account_id[0] ? x->account_id : "firm", x->reason);
        break;
    }
    case OMS_EV_REFERENCE_PRICE_SET:
        s_add(buf, cap, &n, "%s reference price %s", ev->u.ref_price.instrument_id,
              replay__dec(ev->u.ref_price.price, a));
        break;
    case OMS_EV_ORDER_ACCEPTED: {
        const oms_ev_accepted_t *x = &ev->u.accepted;
        s_add(buf, cap, &n, "%s %s %s %s %s", oms_status_name(x->status),
              oms_side_name(x->order.side), replay__dec(x->order.qty, a), x->order.instrument_id,
              x->order.ord_type == OMS_ORD_LIMIT ? "LIMIT" : "MARKET");
        s_add_opt(buf, cap, &n, "px", x->order.price);
        s_add(buf, cap, &n, " account=%s entered_by=%s",
              x->order.account_id[0] ? x->order.account_id : "(block)", x->entered_by);
        for (uint32_t i = 0; i < x->order.n_allocs && x->order.allocs; i++)
            s_add(buf, cap, &n, " %s:%s%s", x->order.allocs[i].account_id,
                  replay__dec(x->order.allocs[i].share, a),
                  x->order.allocs[i].by_weight ? "w" : "");
        break;
    }
    case OMS_EV_ORDER_RELEASED:
        s_add(buf, cap, &n, "%s released_by=%s %s", oms_status_name(ev->u.released.status),
              ev->u.released.released_by, ev->u.released.text);
        break;
    case OMS_EV_CANCEL_REQUESTED:
    case OMS_EV_REPLACE_REQUESTED: {
        const oms_ev_request_t *x = &ev->u.request;
        s_add(buf, cap, &n, "%s clordid=%s orig=%s", oms_status_name(x->status), x->cl_ord_id,
              x->orig_cl_ord_id);
        s_add_opt(buf, cap, &n, "qty", x->qty);
        s_add_opt(buf, cap, &n, "px", x->price);
        if (x->text[0])
            s_add(buf, cap, &n, " \"%s\"", x->text);
        break;
    }
    case OMS_EV_ALLOCATION_BOOKED:
    case OMS_EV_ALLOCATION_REJECTED:
    case OMS_EV_ALLOCATION_REVERSED: {
        const oms_ev_alloc_t *x = &ev->u.alloc;
        s_add(buf, cap, &n, "alloc %s qty=%s avg_px=%s", x->alloc_id, replay__dec(x->qty, a),
              replay__dec(x->avg_px, b));
        for (uint32_t i = 0; i < x->n_parts && x->parts; i++)
            s_add(buf, cap, &n, " %s:%s@%s", x->parts[i].account_id,
                  replay__dec(x->parts[i].qty, a), replay__dec(x->parts[i].px, c));
        if (ev->type == OMS_EV_ALLOCATION_REJECTED)
            s_add(buf, cap, &n, " rejected %s %s", x->rule_id, oms_reject_reason_name(x->reason));
        if (x->text[0])
            s_add(buf, cap, &n, " \"%s\"", x->text);
        break;
    }
    case OMS_EV_COMMAND_REJECTED: {
        const oms_ev_rejected_t *x = &ev->u.rejected;
        s_add(buf, cap, &n, "%s refused: %s %s \"%s\"", oms_cmd_type_name(x->command_type),
              x->rule_id, oms_reject_reason_name(x->reason), x->text);
        s_add_opt(buf, cap, &n, "limit", x->limit_value);
        s_add_opt(buf, cap, &n, "actual", x->actual_value);
        break;
    }
    case OMS_EV_EXCEPTION_RAISED:
        s_add(buf, cap, &n, "exception %s venue=%s exec=%s \"%s\"",
              s_exception_name(ev->u.exception.kind), ev->u.exception.venue,
              ev->u.exception.exec_id, ev->u.exception.text);
        break;
    case OMS_EV_END_OF_DAY_PROCESSED:
        s_add(buf, cap, &n, "trade date %s closed, %u orders expired", ev->u.eod.trade_date,
              ev->u.eod.orders_expired);
        break;
    default:
        if (oms_event_is_order_report(ev->type)) {
            const oms_ev_order_t *x = &ev->u.order;
            s_add(buf, cap, &n, "%s", oms_status_name(x->status));
            if (x->h.venue[0])
                s_add(buf, cap, &n, " venue=%s", x->h.venue);
            if (x->h.exec_id[0])
                s_add(buf, cap, &n, " exec=%s", x->h.exec_id);
            if (ev->type == OMS_EV_ORDER_FILLED)
                s_add(buf, cap, &n, " fill %s@%s%s%s", replay__dec(x->last_qty, a),
                      replay__dec(x->last_px, b), x->overfill ? " OVERFILL" : "",
                      x->late ? " LATE" : "");
            if (ev->type == OMS_EV_TRADE_BUSTED)
                s_add(buf, cap, &n, " bust of %s (%s@%s)", x->ref_exec_id,
                      replay__dec(x->last_qty, a), replay__dec(x->last_px, b));
            if (ev->type == OMS_EV_TRADE_CORRECTED)
                s_add(buf, cap, &n, " correct %s %s@%s -> %s@%s", x->ref_exec_id,
                      replay__dec(x->last_qty, a), replay__dec(x->last_px, b),
                      replay__dec(x->new_qty, c), replay__dec(x->new_px, d));
            if (ev->type == OMS_EV_ORDER_REPLACED) {
                s_add(buf, cap, &n, " clordid %s -> %s qty=%s", x->orig_cl_ord_id, x->h.cl_ord_id,
                      replay__dec(x->qty, a));
                s_add_opt(buf, cap, &n, "px", x->price);
            }
            bool carries_cum = ev->type != OMS_EV_ORDER_ACKNOWLEDGED &&
                               ev->type != OMS_EV_ORDER_REJECTED_BY_VENUE &&
                               ev->type != OMS_EV_CANCEL_REJECTED &&
                               ev->type != OMS_EV_REPLACE_REJECTED;
            if (carries_cum)
                s_add(buf, cap, &n, " cum=%s leaves=%s", replay__dec(x->cum_qty, a),
                      replay__dec(x->leaves_qty, b));
            if (ev->type == OMS_EV_ORDER_CANCELED || ev->type == OMS_EV_ORDER_EXPIRED)
                s_add(buf, cap, &n, " gone=%s", replay__dec(x->gone_qty, c));
            s_add_opt(buf, cap, &n, "avg_px", x->avg_px);
            if (x->text[0])
                s_add(buf, cap, &n, " \"%s\"", x->text);
        } else {
            s_add(buf, cap, &n, "event type %d", (int)ev->type);
        }
        break;
    }
}

void replay__json_str(FILE *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    putc_unlocked('"', out);
    if (len == 0) {
        putc_unlocked('"', out); /* s may be NULL (an absent envelope field) */
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            putc_unlocked('\\', out);
            putc_unlocked((int)ch, out);
        } else if (ch < 0x20) {
            fputs("\\u00", out);
            putc_unlocked(hex[ch >> 4], out);
            putc_unlocked(hex[ch & 15], out);
        } else {
            putc_unlocked((int)ch, out);
        }
    }
    putc_unlocked('"', out);
}

void replay__csv_str(FILE *out, const char *s, size_t len)
{
    if (len == 0)
        return; /* s may be NULL (an absent envelope field) */
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, len, out);
        return;
    }
    putc_unlocked('"', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            putc_unlocked('"', out);
        putc_unlocked(s[i], out);
    }
    putc_unlocked('"', out);
}

void replay__key_text(const uint8_t *key, size_t klen, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < klen && n + 5 < cap; i++) {
        if (key[i] == 0x1f)
            buf[n++] = '|';
        else if (key[i] >= 0x20 && key[i] < 0x7f)
            buf[n++] = (char)key[i];
        else
            n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", key[i]);
    }
    buf[n < cap ? n : cap - 1] = '\0';
}

/* Lower-case hex of a digest (OMS_HASH_LEN bytes), in one write. */
static void s_hex(FILE *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char buf[2 * OMS_HASH_LEN];
    if (n > OMS_HASH_LEN)
        n = OMS_HASH_LEN;
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = hex[p[i] >> 4];
        buf[2 * i + 1] = hex[p[i] & 15];
    }
    fwrite(buf, 1, 2 * n, out);
}

int replay__write_event_json(FILE *out, const evlog_record_t *rec, const char *type,
                             const char *body_json, size_t body_json_len)
{
    char ts[40];
    if (oms_clock_format_iso(rec->ts_ns, ts, sizeof ts) < 0)
        snprintf(ts, sizeof ts, "%" PRId64, rec->ts_ns);
    fprintf(out, "{\"seq\":\"%" PRIu64 "\",\"ts\":\"%s\",\"ts_ns\":\"%" PRId64 "\",", rec->seq, ts,
            rec->ts_ns);
    fputs("\"principal\":", out);
    replay__json_str(out, rec->principal, rec->principal_len);
    fputs(",\"command_id\":", out);
    replay__json_str(out, rec->command_id, rec->command_id_len);
    fputs(",\"order_id\":", out);
    replay__json_str(out, rec->order_id, rec->order_id_len);
    fputs(",\"prev_hash\":\"", out);
    s_hex(out, rec->prev_hash, OMS_HASH_LEN);
    fputs("\",\"hash\":\"", out);
    s_hex(out, rec->hash, OMS_HASH_LEN);
    fputs("\",\"type\":", out);
    replay__json_str(out, type, strlen(type));
    fputs(",\"event\":", out);
    if (body_json)
        fwrite(body_json, 1, body_json_len, out);
    else
        fputs("null", out);
    fputs("}\n", out);
    return ferror(out) ? OMS_ERR_IO : 0;
}

void replay__csv_header(FILE *out)
{
    fputs("seq,ts,principal,command_id,order_id,type,account_id,instrument_id,summary\n", out);
}

void replay__json_type(const char *json, size_t len, char *type, size_t cap)
{
    type[0] = '\0';
    if (len > 4 && json[0] == '{' && json[1] == '"') {
        const char *q = memchr(json + 2, '"', len - 2);
        size_t n = q ? (size_t)(q - (json + 2)) : 0;
        if (n < cap) {
            memcpy(type, json + 2, n);
            type[n] = '\0';
        }
    }
}

int replay__write_event(FILE *out, replay_fmt_t fmt, const evlog_record_t *rec,
                        const oms_event_t *ev, const char *body_json, size_t body_json_len)
{
    char ts[40];
    if (oms_clock_format_iso(rec->ts_ns, ts, sizeof ts) < 0)
        snprintf(ts, sizeof ts, "%" PRId64, rec->ts_ns);
    char type[64];
    if (ev)
        snprintf(type, sizeof type, "%s", oms_event_type_name(ev->type));
    else if (body_json)
        replay__json_type(body_json, body_json_len, type, sizeof type);
    else
        type[0] = '\0';
    /* Without a decoded event (a type this version does not know), the summary is the body's
     * generic JSON and account / instrument are unknown. */
    char sum[1024];
    const char *summary = sum;
    size_t summary_len = 0;
    if (ev) {
        replay__summary(ev, sum, sizeof sum);
        summary_len = strlen(sum);
    } else if (body_json) {
        summary = body_json;
        summary_len = body_json_len;
    }
    const char *acc = ev ? replay__event_account(ev) : "";
    const char *ins = ev ? replay__event_instrument(ev) : "";
    switch (fmt) {
    case REPLAY_FMT_JSON:
        return replay__write_event_json(out, rec, type, body_json, body_json_len);
    case REPLAY_FMT_CSV:
        fprintf(out, "%" PRIu64 ",%s,", rec->seq, ts);
        replay__csv_str(out, rec->principal, rec->principal_len);
        putc_unlocked(',', out);
        replay__csv_str(out, rec->command_id, rec->command_id_len);
        putc_unlocked(',', out);
        replay__csv_str(out, rec->order_id, rec->order_id_len);
        fprintf(out, ",%s,", type);
        replay__csv_str(out, acc, strlen(acc));
        putc_unlocked(',', out);
        replay__csv_str(out, ins, strlen(ins));
        putc_unlocked(',', out);
        replay__csv_str(out, summary, summary_len);
        putc_unlocked('\n', out);
        break;
    case REPLAY_FMT_TEXT:
        fprintf(out, "%10" PRIu64 "  %s  %-10.*s %-14.*s %-12.*s %-22s ", rec->seq, ts,
                (int)rec->principal_len, rec->principal ? rec->principal : "",
                (int)rec->command_id_len, rec->command_id ? rec->command_id : "",
                (int)rec->order_id_len, rec->order_id ? rec->order_id : "", type);
        fwrite(summary, 1, summary_len, out);
        putc_unlocked('\n', out);
        break;
    default:
        return OMS_ERR_INVALID;
    }
    return ferror(out) ? OMS_ERR_IO : 0;
}
