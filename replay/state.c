/*
 * state.c - replay_state_write: the orders, positions and allocations of a (rebuilt) state as
 * aligned tables, CSV sections, or JSON lines holding the generic JSON of exactly the row the
 * daemon stores for each record (codec_row_encode, then codec_json).
 *
 * Memory: one row buffer (REPLAY_ROW_BUF_BYTES) and one JSON buffer grown to the largest row.
 */
#include "replay_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const proj_state_t *st;
    replay_fmt_t fmt;
    FILE *out;
    uint8_t *row;    /* REPLAY_ROW_BUF_BYTES */
    char *json;      /* grown to CODEC_JSON_CAP(row length) */
    size_t json_cap; /* its size */
} sw_t;

/* {"<kind>":<json of the record's row>} */
static int s_json_line(sw_t *w, const char *kind, const char *type_name, proj_table_t t,
                       uint32_t idx)
{
    codec_row_t r;
    int rc = codec_row_encode(w->st, t, idx, &r, w->row, REPLAY_ROW_BUF_BYTES);
    if (rc)
        return rc;
    size_t need = CODEC_JSON_CAP(r.vlen);
    if (need > w->json_cap) {
        char *p = realloc(w->json, need);
        if (p == NULL)
            return OMS_ERR_NOMEM;
        w->json = p;
        w->json_cap = need;
    }
    size_t jl = 0;
    rc = codec_json(type_name, r.val, r.vlen, w->json, w->json_cap, &jl);
    if (rc)
        return rc;
    fprintf(w->out, "{\"%s\":%s}\n", kind, w->json);
    return 0;
}

/* A NUL-terminated id as a CSV field. */
static void s_csv_id(FILE *out, const char *s)
{
    replay__csv_str(out, s, strlen(s));
}

/* The tables, in record creation order. 0, or the row encoder's / JSON printer's error. */
static int s_orders(sw_t *w, uint64_t as_of)
{
    uint32_t n = proj_count(w->st, PROJ_T_ORDER);
    if (w->fmt == REPLAY_FMT_TEXT)
        fprintf(w->out,
                "orders as of seq %" PRIu64 " (%u)\n%-16s %-10s %-10s %-10s %-16s %14s %14s "
                "%14s %14s %16s %10s\n",
                as_of, n, "order_id", "account", "instrument", "side", "status", "qty", "price",
                "cum", "leaves", "avg_px", "last_seq");
    else if (w->fmt == REPLAY_FMT_CSV)
        fprintf(w->out,
                "# orders as of seq %" PRIu64 "\norder_id,account_id,instrument_id,side,"
                "status,qty,price,cum,leaves,avg_px,created_seq,last_seq\n",
                as_of);
    for (uint32_t i = 0; i < n; i++) {
        const proj_order_t *o = proj_at(w->st, PROJ_T_ORDER, i);
        if (w->fmt == REPLAY_FMT_JSON) {
            int rc = s_json_line(w, "order", "oms.v1.Order", PROJ_T_ORDER, i);
            if (rc)
                return rc;
            continue;
        }
        char q[OMS_DEC_STR_MAX], p[OMS_DEC_STR_MAX], c[OMS_DEC_STR_MAX], l[OMS_DEC_STR_MAX],
            a[OMS_DEC_STR_MAX];
        oms_opt_dec_t avg = proj_order_avg_px(o);
        const char *px = o->price.set ? replay__dec(o->price.v, p) : "";
        const char *ap = avg.set ? replay__dec(avg.v, a) : "";
        if (w->fmt == REPLAY_FMT_TEXT) {
            fprintf(w->out,
                    "%-16s %-10s %-10s %-10s %-16s %14s %14s %14s %14s %16s %10" PRIu64 "\n",
                    o->order_id, o->account_id[0] ? o->account_id : "(block)", o->instrument_id,
                    oms_side_name(o->side), oms_status_name(o->status), replay__dec(o->qty, q),
                    px[0] ? px : "MKT", replay__dec(o->cum, c), replay__dec(o->leaves, l),
                    ap[0] ? ap : "-", o->last_seq);
        } else {
            s_csv_id(w->out, o->order_id);
            putc(',', w->out);
            s_csv_id(w->out, o->account_id);
            putc(',', w->out);
            s_csv_id(w->out, o->instrument_id);
            fprintf(w->out, ",%s,%s,%s,%s,%s,%s,%s,%" PRIu64 ",%" PRIu64 "\n",
                    oms_side_name(o->side), oms_status_name(o->status), replay__dec(o->qty, q), px,
                    replay__dec(o->cum, c), replay__dec(o->leaves, l), ap, o->created_seq,
                    o->last_seq);
        }
    }
    return 0;
}

static int s_positions(sw_t *w, uint64_t as_of)
{
    uint32_t n = proj_count(w->st, PROJ_T_POSITION);
    if (w->fmt == REPLAY_FMT_TEXT)
        fprintf(w->out,
                "positions as of seq %" PRIu64 " (%u)\n%-10s %-10s %14s %16s %16s %14s %14s "
                "%10s\n",
                as_of, n, "account", "instrument", "qty", "avg_cost", "realized_pnl", "open_buy",
                "open_sell", "last_seq");
    else if (w->fmt == REPLAY_FMT_CSV)
        fprintf(w->out,
                "# positions as of seq %" PRIu64 "\naccount_id,instrument_id,qty,"
                "avg_cost,realized_pnl,open_buy_leaves,open_sell_leaves,last_seq\n",
                as_of);
    for (uint32_t i = 0; i < n; i++) {
        const proj_position_t *p = proj_at(w->st, PROJ_T_POSITION, i);
        if (w->fmt == REPLAY_FMT_JSON) {
            int rc = s_json_line(w, "position", "oms.v1.Position", PROJ_T_POSITION, i);
            if (rc)
                return rc;
            continue;
        }
        char q[OMS_DEC_STR_MAX], c[OMS_DEC_STR_MAX], r[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX],
            s[OMS_DEC_STR_MAX];
        if (w->fmt == REPLAY_FMT_TEXT) {
            fprintf(w->out, "%-10s %-10s %14s %16s %16s %14s %14s %10" PRIu64 "\n",
                    p->account_id[0] ? p->account_id : "(unalloc)", p->instrument_id,
                    replay__dec(p->qty, q), replay__dec(proj_position_avg_cost(p), c),
                    replay__dec(p->realized_pnl, r), replay__dec(p->open_buy_leaves, b),
                    replay__dec(p->open_sell_leaves, s), p->last_seq);
        } else {
            s_csv_id(w->out, p->account_id);
            putc(',', w->out);
            s_csv_id(w->out, p->instrument_id);
            fprintf(w->out, ",%s,%s,%s,%s,%s,%" PRIu64 "\n", replay__dec(p->qty, q),
                    replay__dec(proj_position_avg_cost(p), c), replay__dec(p->realized_pnl, r),
                    replay__dec(p->open_buy_leaves, b), replay__dec(p->open_sell_leaves, s),
                    p->last_seq);
        }
    }
    return 0;
}

/* The allocation status's name. Static strings. */
static const char *s_alloc_status(oms_alloc_status_t s)
{
    switch (s) {
    case OMS_ALLOC_ST_PENDING:
        return "PENDING";
    case OMS_ALLOC_ST_BOOKED:
        return "BOOKED";
    case OMS_ALLOC_ST_REJECTED:
        return "REJECTED";
    case OMS_ALLOC_ST_REVERSED:
        return "REVERSED";
    default:
        return "?";
    }
}

static int s_allocations(sw_t *w, uint64_t as_of)
{
    uint32_t n = proj_count(w->st, PROJ_T_ALLOC);
    if (w->fmt == REPLAY_FMT_TEXT)
        fprintf(w->out, "allocations as of seq %" PRIu64 " (%u)\n%-16s %-12s %-10s %14s %16s  %s\n",
                as_of, n, "order_id", "alloc_id", "status", "qty", "avg_px", "parts");
    else if (w->fmt == REPLAY_FMT_CSV)
        fprintf(w->out,
                "# allocations as of seq %" PRIu64 "\norder_id,alloc_id,status,qty,avg_px,"
                "account_id,part_qty,part_px,last_seq\n",
                as_of);
    for (uint32_t i = 0; i < n; i++) {
        const proj_alloc_t *a = proj_at(w->st, PROJ_T_ALLOC, i);
        if (w->fmt == REPLAY_FMT_JSON) {
            int rc = s_json_line(w, "allocation", "oms.v1.Allocation", PROJ_T_ALLOC, i);
            if (rc)
                return rc;
            continue;
        }
        char q[OMS_DEC_STR_MAX], p[OMS_DEC_STR_MAX], pq[OMS_DEC_STR_MAX], pp[OMS_DEC_STR_MAX];
        if (w->fmt == REPLAY_FMT_TEXT)
            fprintf(w->out, "%-16s %-12s %-10s %14s %16s ", a->order_id, a->alloc_id,
                    s_alloc_status(a->status), replay__dec(a->qty, q), replay__dec(a->avg_px, p));
        /* The parts list: bounded by the part table's links (OMS_LIMIT_ALLOC_ACCOUNTS each). */
        uint32_t k = a->first_part, guard = 0;
        bool any = false;
        while (k != PROJ_NIL && guard++ <= OMS_LIMIT_ALLOC_ACCOUNTS) {
            const proj_part_t *pt = proj_at(w->st, PROJ_T_PART, k);
            if (pt == NULL)
                break;
            if (w->fmt == REPLAY_FMT_TEXT) {
                fprintf(w->out, " %s:%s@%s", pt->part.account_id, replay__dec(pt->part.qty, pq),
                        replay__dec(pt->part.px, pp));
            } else {
                s_csv_id(w->out, a->order_id);
                putc(',', w->out);
                s_csv_id(w->out, a->alloc_id);
                fprintf(w->out, ",%s,%s,%s,", s_alloc_status(a->status), replay__dec(a->qty, q),
                        replay__dec(a->avg_px, p));
                s_csv_id(w->out, pt->part.account_id);
                fprintf(w->out, ",%s,%s,%" PRIu64 "\n", replay__dec(pt->part.qty, pq),
                        replay__dec(pt->part.px, pp), a->last_seq);
            }
            any = true;
            k = pt->next;
        }
        if (w->fmt == REPLAY_FMT_TEXT) {
            putc('\n', w->out);
        } else if (!any) {
            s_csv_id(w->out, a->order_id);
            putc(',', w->out);
            s_csv_id(w->out, a->alloc_id);
            fprintf(w->out, ",%s,%s,%s,,,,%" PRIu64 "\n", s_alloc_status(a->status),
                    replay__dec(a->qty, q), replay__dec(a->avg_px, p), a->last_seq);
        }
    }
    return 0;
}

int replay_state_write(const oms_engine_t *eng, unsigned what, replay_fmt_t fmt, uint64_t as_of_seq,
                       FILE *out)
{
    if (eng == NULL || out == NULL || fmt > REPLAY_FMT_TEXT)
        return OMS_ERR_INVALID;
    sw_t w = {.st = oms_engine_state(eng), .fmt = fmt, .out = out};
    w.row = malloc(REPLAY_ROW_BUF_BYTES);
    if (w.row == NULL)
        return OMS_ERR_NOMEM;
    int rc = 0;
    if (rc == 0 && (what & REPLAY_STATE_ORDERS))
        rc = s_orders(&w, as_of_seq);
    if (rc == 0 && (what & REPLAY_STATE_POSITIONS)) {
        if (fmt != REPLAY_FMT_JSON && (what & REPLAY_STATE_ORDERS))
            putc('\n', out);
        rc = s_positions(&w, as_of_seq);
    }
    if (rc == 0 && (what & REPLAY_STATE_ALLOCATIONS)) {
        if (fmt != REPLAY_FMT_JSON && (what & (REPLAY_STATE_ORDERS | REPLAY_STATE_POSITIONS)))
            putc('\n', out);
        rc = s_allocations(&w, as_of_seq);
    }
    free(w.row);
    free(w.json);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = OMS_ERR_IO;
    return rc;
}
