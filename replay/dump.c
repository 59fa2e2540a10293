/*
 * dump.c - replay_dump and replay_order: stream the log once, filter each event as cheaply as
 * its filters allow (envelope fields first, then a decode), and print it as JSON lines (the
 * generic protobuf JSON of codec_json), CSV or text. replay_order then prints the order's
 * stored rows (order, executions, allocations) as they are now.
 *
 * Memory: one event at a time; a JSON buffer sized to the largest event seen
 * (CODEC_JSON_CAP(len), bounded because events are at most OMS_LIMIT_EVENT_BYTES); a decode
 * arena of REPLAY_ARENA_BYTES.
 */
#include "replay_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void replay_filter_default(replay_filter_t *f)
{
    memset(f, 0, sizeof *f);
}

int replay_filter_add_type(replay_filter_t *f, const char *name)
{
    if (f == NULL || name == NULL || !*name)
        return OMS_ERR_PARSE;
    if (f->n_types >= sizeof f->types / sizeof f->types[0])
        return OMS_ERR_LIMIT;
    char *end = NULL;
    long n = strtol(name, &end, 10);
    if (end && *end == '\0' && n > 0 && n < 1000 && oms_event_type_name((oms_event_type_t)n)[0]) {
        f->types[f->n_types++] = (oms_event_type_t)n;
        return 0;
    }
    for (int t = 1; t < 1000; t++) {
        const char *nm = oms_event_type_name((oms_event_type_t)t);
        if (nm[0] && strcmp(nm, name) == 0) {
            f->types[f->n_types++] = (oms_event_type_t)t;
            return 0;
        }
    }
    return OMS_ERR_PARSE;
}

/* The reusable buffers of one run. */
typedef struct {
    oms_arena_t arena;
    char *json;      /* codec_json output */
    size_t json_cap; /* its size */
} scratch_t;

/* 0, or OMS_ERR_NOMEM (nothing to free then). */
static int s_scratch_init(scratch_t *s)
{
    memset(s, 0, sizeof *s);
    return oms_arena_init(&s->arena, REPLAY_ARENA_BYTES) == 0 ? 0 : OMS_ERR_NOMEM;
}

/* Frees what s_scratch_init and s_json allocated. */
static void s_scratch_free(scratch_t *s)
{
    oms_arena_free(&s->arena);
    free(s->json);
    memset(s, 0, sizeof *s);
}

/* JSON of message type_name in bytes[len] into s->json (grown as needed). 0 or an error. */
static int s_json(scratch_t *s, const char *type_name, const uint8_t *bytes, size_t len,
                  size_t *out_len)
{
    size_t need = CODEC_JSON_CAP(len);
    if (need > s->json_cap) {
        char *p = realloc(s->json, need);
        if (p == NULL)
            return OMS_ERR_NOMEM;
        s->json = p;
        s->json_cap = need;
    }
    return codec_json(type_name, bytes, len, s->json, s->json_cap, out_len);
}

/* a[alen] (not NUL-terminated) equals the string b. */
static bool s_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* Prints one event (already selected). ev may be NULL (JSON needs no decode). */
static int s_print(scratch_t *s, FILE *out, replay_fmt_t fmt, const evlog_record_t *rec,
                   const oms_event_t *ev)
{
    oms_event_t local;
    if (ev == NULL && fmt != REPLAY_FMT_JSON) {
        oms_arena_reset(&s->arena);
        if (codec_decode_event(rec->body, rec->body_len, &s->arena, &local) == 0)
            ev = &local;
        /* else: a type this version does not know, or bytes that do not parse: the generic
         * JSON below tells which */
    }
    if (fmt == REPLAY_FMT_JSON || ev == NULL) {
        size_t jl = 0;
        int rc = s_json(s, "oms.v1.Event", rec->body, rec->body_len, &jl);
        if (rc)
            return rc == OMS_ERR_DECODE ? OMS_ERR_CORRUPT : rc;
        if (fmt == REPLAY_FMT_JSON) {
            /* The type is the body's oneof member, the JSON's first key: no second parse. */
            char type[64];
            if (ev)
                snprintf(type, sizeof type, "%s", oms_event_type_name(ev->type));
            else
                replay__json_type(s->json, jl, type, sizeof type);
            return replay__write_event_json(out, rec, type, s->json, jl);
        }
        return replay__write_event(out, fmt, rec, NULL, s->json, jl);
    }
    return replay__write_event(out, fmt, rec, ev, NULL, 0);
}

/* Whether an event body that codec_event_peek / codec_decode_event refused is still a valid
 * oms.v1.Event (of a type this version does not know): then filters simply do not match it;
 * otherwise it is corrupt. */
static bool s_body_parses(scratch_t *s, const evlog_record_t *rec)
{
    size_t jl = 0;
    return s_json(s, "oms.v1.Event", rec->body, rec->body_len, &jl) == 0;
}

/* Whether the event passes the filter, reading as little of it as the filters need: envelope
 * fields first, then a peek at the body (type, order id, account: codec_event_peek, no
 * allocation), and a full decode only for the instrument filter. *decoded says whether ev was
 * filled (the caller reuses it). 0, or OMS_ERR_CORRUPT for a body that does not parse. */
static int s_match(scratch_t *s, const replay_filter_t *f, const evlog_record_t *rec,
                   oms_event_t *ev, bool *decoded, bool *match)
{
    *match = false;
    *decoded = false;
    if (f->from_ts_ns && rec->ts_ns < f->from_ts_ns)
        return 0;
    if (f->to_ts_ns && rec->ts_ns > f->to_ts_ns)
        return 0;
    if (f->principal && !s_eq(rec->principal, rec->principal_len, f->principal))
        return 0;
    bool order_in_envelope = f->order_id && s_eq(rec->order_id, rec->order_id_len, f->order_id);
    if (f->n_types || f->account_id || (f->order_id && !order_in_envelope)) {
        codec_event_peek_t pk;
        if (codec_event_peek(rec->body, rec->body_len, &pk) != 0)
            return s_body_parses(s, rec) ? 0 : OMS_ERR_CORRUPT;
        if (f->n_types) {
            bool any = false;
            for (uint32_t i = 0; i < f->n_types && !any; i++)
                any = f->types[i] == pk.type;
            if (!any)
                return 0;
        }
        if (f->order_id && !order_in_envelope && strcmp(pk.order_id, f->order_id) != 0)
            return 0;
        if (f->account_id && (!pk.has_account || strcmp(pk.account_id, f->account_id) != 0))
            return 0;
    }
    if (f->instrument_id) {
        oms_arena_reset(&s->arena);
        if (codec_decode_event(rec->body, rec->body_len, &s->arena, ev) != 0)
            return s_body_parses(s, rec) ? 0 : OMS_ERR_CORRUPT;
        *decoded = true;
        if (strcmp(replay__event_instrument(ev), f->instrument_id) != 0)
            return 0;
    }
    *match = true;
    return 0;
}

/* The first seq in [lo, hi] whose sequencer time is >= ts (hi + 1 when none), by binary search:
 * sequencer time never goes back (verify checks it), so a time window need not be found by
 * reading everything before it. At most 64 reads. 0 or the store's error. */
static int s_seek_time(evlog_t *log, uint64_t lo, uint64_t hi, int64_t ts, uint64_t *out)
{
    uint64_t a = lo, b = hi + 1; /* the answer is in [a, b] */
    for (int guard = 0; a < b && guard < 64; guard++) {
        uint64_t mid = a + (b - a) / 2;
        uint8_t *v = NULL;
        size_t len = 0;
        int rc = evlog_get(log, mid, &v, &len);
        if (rc == OMS_ERR_NOT_FOUND) {
            *out = lo; /* a gap: fall back to a plain scan (verify reports the gap) */
            return 0;
        }
        if (rc)
            return rc;
        evlog_record_t rec;
        rc = evlog_record_parse(v, len, &rec);
        int64_t t = rec.ts_ns;
        evlog_free(v);
        if (rc) {
            *out = lo;
            return 0;
        }
        if (t < ts)
            a = mid + 1;
        else
            b = mid;
    }
    *out = a;
    return 0;
}

/* The shared loop of dump and order: every event in [from, to] passing f is printed. */
static int s_stream(evlog_t *log, const replay_filter_t *f, replay_fmt_t fmt, FILE *out,
                    replay_progress_t *progress, const char *what, uint64_t *n_out)
{
    uint64_t head = 0;
    evlog_head(log, &head, NULL);
    uint64_t from = f->from_seq ? f->from_seq : 1;
    uint64_t to = f->to_seq && f->to_seq < head ? f->to_seq : head;
    if (f->to_seq && f->from_seq > f->to_seq)
        return OMS_ERR_INVALID;
    if (f->from_ts_ns && f->to_ts_ns && f->from_ts_ns > f->to_ts_ns)
        return OMS_ERR_INVALID;
    if (f->from_ts_ns && from <= to) {
        int rc = s_seek_time(log, from, to, f->from_ts_ns, &from);
        if (rc)
            return rc;
    }
    scratch_t s;
    if (s_scratch_init(&s) != 0)
        return OMS_ERR_NOMEM;
    if (fmt == REPLAY_FMT_CSV)
        replay__csv_header(out);
    evlog_iter_t *it = NULL;
    int rc = from <= to ? evlog_iter_new(log, from, &it) : 0;
    replay__progress_start(progress, what);
    uint64_t n = 0, seen = 0;
    while (rc == 0 && it) {
        uint64_t seq;
        const uint8_t *v;
        size_t len;
        int r = evlog_iter_next(it, &seq, &v, &len);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (seq > to)
            break; /* the head seen at the start: a writer's later events are not ours */
        evlog_record_t rec;
        if (evlog_record_parse(v, len, &rec) != 0) {
            rc = OMS_ERR_CORRUPT;
            break;
        }
        if (f->to_ts_ns && rec.ts_ns > f->to_ts_ns)
            break; /* sequencer time never goes back */
        oms_event_t ev;
        bool decoded, match;
        rc = s_match(&s, f, &rec, &ev, &decoded, &match);
        if (rc == 0 && match) {
            rc = s_print(&s, out, fmt, &rec, decoded ? &ev : NULL);
            n++;
        }
        if ((++seen & (REPLAY_PROGRESS_EVERY - 1)) == 0)
            replay__progress_tick(progress, seen, to - from + 1);
    }
    evlog_iter_destroy(&it);
    s_scratch_free(&s);
    if (rc == 0 && fflush(out) != 0)
        rc = OMS_ERR_IO;
    if (rc == 0)
        replay__progress_end(progress, seen);
    if (n_out)
        *n_out = n;
    return rc;
}

int replay_dump(evlog_t *log, const replay_filter_t *f, replay_fmt_t fmt, FILE *out,
                replay_progress_t *progress, uint64_t *n_out)
{
    if (log == NULL || out == NULL)
        return OMS_ERR_INVALID;
    replay_filter_t dflt;
    if (f == NULL) {
        replay_filter_default(&dflt);
        f = &dflt;
    }
    return s_stream(log, f, fmt, out, progress, "dump", n_out);
}

/* ---- one order ------------------------------------------------------------------------------- */

typedef struct {
    scratch_t *s;
    FILE *out;
    replay_fmt_t fmt;
    const char *order_id;
    uint64_t n;
    int err;
} rows_ctx_t;

/* Prints one stored row (execution or allocation) of the order. */
static int s_print_row(rows_ctx_t *c, const char *kind, const char *type_name, const uint8_t *v,
                       size_t vl)
{
    size_t jl = 0;
    int rc = s_json(c->s, type_name, v, vl, &jl);
    if (rc) {
        c->err = rc == OMS_ERR_DECODE ? OMS_ERR_CORRUPT : rc;
        return 1;
    }
    if (c->fmt == REPLAY_FMT_JSON)
        fprintf(c->out, "{\"%s\":%s}\n", kind, c->s->json);
    else
        fprintf(c->out, "  %-10s %s\n", kind, c->s->json);
    c->n++;
    return 0;
}

/* evlog_scan callback: prints the execution row when it belongs to the order; stops (1)
 * with c->err on a row that does not decode. */
static int s_exec_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k;
    (void)kl;
    rows_ctx_t *c = ctx;
    proj_exec_t x;
    char oid[OMS_ID_CAP], xs[2][OMS_ID_CAP];
    if (codec_row_decode_exec(v, vl, &x, oid, xs) != 0) {
        c->err = OMS_ERR_CORRUPT;
        return 1;
    }
    if (strcmp(oid, c->order_id) != 0)
        return 0;
    if (c->fmt == REPLAY_FMT_JSON)
        return s_print_row(c, "execution", "oms.v1.Execution", v, vl);
    char q[OMS_DEC_STR_MAX], p[OMS_DEC_STR_MAX];
    fprintf(c->out, "  %s/%s %s@%s booked by seq %" PRIu64 "%s%s", x.venue, x.exec_id,
            replay__dec(x.qty, q), replay__dec(x.px, p), x.seq, x.busted ? " BUSTED" : "",
            x.late ? " LATE" : "");
    if (x.last_seq && x.last_seq != x.seq)
        fprintf(c->out, " (last changed by seq %" PRIu64 ")", x.last_seq);
    fputc('\n', c->out);
    c->n++;
    return 0;
}

static const char *s_alloc_status(oms_alloc_status_t st)
{
    static const char *const k[] = {"?", "PENDING", "BOOKED", "REJECTED", "REVERSED"};
    return (unsigned)st < sizeof k / sizeof k[0] ? k[st] : "?";
}

/* evlog_scan callback over the order's allocation rows (by key prefix). */
static int s_alloc_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k;
    (void)kl;
    rows_ctx_t *c = ctx;
    if (c->fmt == REPLAY_FMT_JSON)
        return s_print_row(c, "allocation", "oms.v1.Allocation", v, vl);
    proj_alloc_t a;
    const oms_alloc_part_t *parts = NULL;
    const oms_alloc_instr_t *used = NULL;
    uint32_t n_parts = 0, n_used = 0;
    oms_arena_reset(&c->s->arena);
    if (codec_row_decode_alloc(v, vl, &c->s->arena, &a, &parts, &n_parts, &used, &n_used) != 0) {
        c->err = OMS_ERR_CORRUPT;
        return 1;
    }
    char q[OMS_DEC_STR_MAX], p[OMS_DEC_STR_MAX];
    fprintf(c->out,
            "  %s %s qty=%s avg_px=%s created by seq %" PRIu64 ", last changed by seq %" PRIu64 ":",
            a.alloc_id, s_alloc_status(a.status), replay__dec(a.qty, q), replay__dec(a.avg_px, p),
            a.created_seq, a.last_seq);
    for (uint32_t i = 0; i < n_parts && parts; i++)
        fprintf(c->out, " %s:%s@%s", parts[i].account_id, replay__dec(parts[i].qty, q),
                replay__dec(parts[i].px, p));
    if (a.text[0])
        fprintf(c->out, " \"%s\"", a.text);
    fputc('\n', c->out);
    c->n++;
    return 0;
}

/* The stored order row as readable lines. */
static int s_print_order_text(scratch_t *s, FILE *out, const uint8_t *v, size_t vl)
{
    proj_order_t o;
    const char(*cl)[OMS_ID_CAP] = NULL;
    uint32_t ncl = 0, nin = 0;
    const oms_alloc_instr_t *in = NULL;
    oms_arena_reset(&s->arena);
    if (codec_row_decode_order(v, vl, &s->arena, &o, &cl, &ncl, &in, &nin) != 0)
        return OMS_ERR_CORRUPT;
    char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX], c[OMS_DEC_STR_MAX], d[OMS_DEC_STR_MAX];
    char t0[40], t1[40];
    oms_clock_format_iso(o.created_ts_ns, t0, sizeof t0);
    oms_clock_format_iso(o.updated_ts_ns, t1, sizeof t1);
    oms_opt_dec_t avg = proj_order_avg_px(&o);
    fprintf(out, "\norder %s now: %s %s %s %s account=%s\n", o.order_id, oms_status_name(o.status),
            oms_side_name(o.side), replay__dec(o.qty, a), o.instrument_id,
            o.account_id[0] ? o.account_id : "(block)");
    fprintf(out, "  price=%s cum=%s leaves=%s avg_px=%s%s\n",
            o.price.set ? replay__dec(o.price.v, b) : "MARKET", replay__dec(o.cum, c),
            replay__dec(o.leaves, d), avg.set ? replay__dec(avg.v, a) : "-",
            o.overfilled ? " OVERFILLED" : "");
    fprintf(out, "  entered_by=%s released_by=%s venue=%s venue_order_id=%s\n", o.entered_by,
            o.released_by[0] ? o.released_by : "-", o.venue[0] ? o.venue : "-",
            o.venue_order_id[0] ? o.venue_order_id : "-");
    fprintf(out, "  created seq %" PRIu64 " at %s, last changed seq %" PRIu64 " at %s\n",
            o.created_seq, t0, o.last_seq, t1);
    if (o.status == OMS_ST_REJECTED)
        fprintf(out, "  rejected: %s %s \"%s\"\n", o.reject_rule_id,
                oms_reject_reason_name(o.reject_reason), proj_str(o.reject_text));
    fprintf(out, "  ClOrdID chain:");
    for (uint32_t i = 0; i < ncl && cl; i++)
        fprintf(out, "%s %s", i ? " ->" : "", cl[i]);
    fprintf(out, "\n");
    if (nin) {
        fprintf(out, "  block instructions:");
        for (uint32_t i = 0; i < nin && in; i++)
            fprintf(out, " %s:%s%s", in[i].account_id, replay__dec(in[i].share, a),
                    in[i].by_weight ? "w" : "");
        fprintf(out, "  allocated=%s\n", replay__dec(o.allocated_qty, b));
    }
    return 0;
}

int replay_order(evlog_t *log, const char *order_id, replay_fmt_t fmt, FILE *out,
                 replay_progress_t *progress)
{
    if (log == NULL || order_id == NULL || out == NULL || !*order_id ||
        strlen(order_id) > OMS_LIMIT_ID_LEN)
        return OMS_ERR_INVALID;
    replay_filter_t f;
    replay_filter_default(&f);
    f.order_id = order_id;
    if (fmt == REPLAY_FMT_TEXT)
        fprintf(out, "history of order %s (seq, time, principal, command id, order, event):\n",
                order_id);
    uint64_t n = 0;
    int rc = s_stream(log, &f, fmt, out, progress, "order", &n);
    if (rc)
        return rc;
    if (n == 0)
        return OMS_ERR_NOT_FOUND;
    if (fmt == REPLAY_FMT_CSV)
        return 0; /* CSV is one table: the events */

    scratch_t s;
    if (s_scratch_init(&s) != 0)
        return OMS_ERR_NOMEM;
    uint8_t key[1 + OMS_LIMIT_ID_LEN + 1];
    size_t idl = strlen(order_id);
    key[0] = 'o';
    memcpy(key + 1, order_id, idl);
    uint8_t *v = NULL;
    size_t vl = 0;
    rc = evlog_row_get(log, EVLOG_CF_ORDERS, key, 1 + idl, &v, &vl);
    if (rc == 0) {
        if (fmt == REPLAY_FMT_JSON) {
            size_t jl = 0;
            rc = s_json(&s, "oms.v1.Order", v, vl, &jl);
            if (rc == 0)
                fprintf(out, "{\"order\":%s}\n", s.json);
        } else {
            rc = s_print_order_text(&s, out, v, vl);
        }
        evlog_free(v);
    } else if (rc == OMS_ERR_NOT_FOUND) {
        rc = 0; /* e.g. only rejected commands named it */
        if (fmt == REPLAY_FMT_TEXT)
            fprintf(out, "\nno order %s in the store (never accepted)\n", order_id);
    }
    rows_ctx_t c = {&s, out, fmt, order_id, 0, 0};
    if (rc == 0) {
        if (fmt == REPLAY_FMT_TEXT)
            fprintf(out, "executions:\n");
        rc = evlog_scan(log, EVLOG_CF_ORDERS, (const uint8_t *)"x", 1, s_exec_row, &c);
        rc = c.err ? c.err : rc;
    }
    if (rc == 0) {
        if (fmt == REPLAY_FMT_TEXT)
            fprintf(out, "allocations:\n");
        memcpy(key, order_id, idl);
        key[idl] = 0x1f;
        rc = evlog_scan(log, EVLOG_CF_ALLOCATIONS, key, idl + 1, s_alloc_row, &c);
        rc = c.err ? c.err : rc;
    }
    s_scratch_free(&s);
    if (rc == 0 && fflush(out) != 0)
        rc = OMS_ERR_IO;
    return rc == OMS_ERR_DECODE ? OMS_ERR_CORRUPT : rc;
}
