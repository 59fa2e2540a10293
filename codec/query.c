/*
 * query.c - the read endpoint's messages (codec.h, "the read endpoint"): QueryRequest <->
 * codec_query_t, the daemon's QueryReply writer that stitches envelopes and projection rows
 * into a reply as the bytes it already holds, the client's QueryReply decoder that hands them
 * back as slices of the reply (no copies), the projection row decoders for display, and the
 * peek at an event's body case and account that the PUB topics are made of.
 *
 * Load: the writer runs once per query on the daemon's query thread and touches each byte of
 * the reply about twice (copy in, one memmove when the result closes); the decoder walks the
 * reply once. Neither allocates, except protobuf-c's unpack of a QueryRequest, a Stats result
 * and a displayed row (freed before returning).
 */
#include "codec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Wire types. */
#define S_WT_VARINT 0
#define S_WT_LEN    2

/* The open result's gap: the longest tag (field 99: 2 bytes) and length (5 bytes: < 2^35). */
#define S_GAP 7
/* Smallest writer buffer: the header and the largest ErrorReply with room to spare. */
#define S_MIN_CAP 1024
/* Largest buffer a writer uses (lengths must fit the gap's 5-byte varint). */
#define S_MAX_CAP ((size_t)UINT32_MAX)

/* QueryReply / CatchUpReply / list field numbers used by the writer and the decoder. */
enum {
    S_QR_REQUEST_ID = 1,
    S_QR_HEAD_SEQ = 2,
    S_CU_EVENTS = 1,
    S_CU_HEAD_SEQ = 2,
    S_CU_MORE = 3,
    S_LIST_ROWS = 1,
    S_LIST_MORE = 2,
    S_REF_MORE = 6,
    S_ERR_CODE = 1,
    S_ERR_TEXT = 2,
};

/* Writes a failure's reason into the caller's err buffer, if there is one. */
static void s_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* ---- wire walking ---------------------------------------------------------------------------- */

/* One field read from a message's bytes. */
typedef struct {
    uint32_t num;        /* field number */
    int wt;              /* wire type */
    uint64_t v;          /* varint value (S_WT_VARINT) */
    const uint8_t *data; /* bytes (S_WT_LEN) */
    size_t len;          /* their length */
} s_field_t;

static bool s_get_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= len)
            return false;
        uint8_t b = buf[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Reads the field at *pos and advances past it. false when the bytes are not a well-formed
 * field (groups and wire types 6/7 included). */
static bool s_next(const uint8_t *buf, size_t len, size_t *pos, s_field_t *f)
{
    uint64_t key;
    if (!s_get_varint(buf, len, pos, &key) || key >> 3 == 0 || key >> 3 > 536870911u)
        return false;
    memset(f, 0, sizeof *f);
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    switch (f->wt) {
    case 0:
        return s_get_varint(buf, len, pos, &f->v);
    case 1:
        if (len - *pos < 8)
            return false;
        *pos += 8;
        return true;
    case 5:
        if (len - *pos < 4)
            return false;
        *pos += 4;
        return true;
    case 2:
        if (!s_get_varint(buf, len, pos, &f->v) || f->v > len - *pos)
            return false;
        f->data = buf + *pos;
        f->len = (size_t)f->v;
        *pos += f->len;
        return true;
    default:
        return false;
    }
}

/* Copies a string field into dst[cap]: false when it is longer than cap - 1 or holds a NUL. */
static bool s_copy_str(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    if (len >= cap || (len && memchr(src, 0, len)))
        return false;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

/* The tag of a field with wire type wt at p; returns its length. */
static size_t s_put_tag(uint8_t *p, uint32_t field, int wt)
{
    return cdc_put_varint(p, ((uint64_t)field << 3) | (uint64_t)wt);
}

static size_t s_tag_size(uint32_t field)
{
    return cdc_varint_size((uint64_t)field << 3);
}

/* ---- QueryRequest ------------------------------------------------------------------------------
 */

/* Copies a request string into a model id: false when it is longer than OMS_LIMIT_ID_LEN. */
static bool s_id(char dst[OMS_ID_CAP], const char *src)
{
    size_t n = src ? strnlen(src, OMS_ID_CAP) : 0;
    if (n >= OMS_ID_CAP)
        return false;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

int codec_decode_query(const uint8_t *buf, size_t len, codec_query_t *out, char *err, size_t cap)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (err && cap)
        err[0] = '\0';
    if (len > OMS_LIMIT_MSG_BYTES) {
        s_err(err, cap, "query of %zu bytes, limit %d", len, (int)OMS_LIMIT_MSG_BYTES);
        return OMS_ERR_LIMIT;
    }
    static const uint8_t empty[1];
    if (!buf && len)
        return OMS_ERR_INVALID;
    if (!buf)
        buf = empty;
    Oms__V1__QueryRequest *m = oms__v1__query_request__unpack(NULL, len, buf);
    if (!m) {
        s_err(err, cap, "not a QueryRequest");
        return OMS_ERR_DECODE;
    }
    int rc = 0;
    cdc_nul_t nul;
    int hasnul = cdc_find_nul(&oms__v1__query_request__descriptor, buf, len, NULL, &nul);
    if (hasnul != 0) {
        s_err(err, cap, "NUL byte in %s.%s", nul.msg ? nul.msg->short_name : "?",
              nul.field ? nul.field->name : "?");
        rc = OMS_ERR_DECODE;
        goto done;
    }
    if (!s_id(out->request_id, m->request_id) || out->request_id[0] == '\0') {
        out->request_id[0] = '\0';
        s_err(err, cap, "request_id: empty or longer than %d bytes", (int)OMS_LIMIT_ID_LEN);
        rc = OMS_ERR_DECODE;
        goto done;
    }
    const char *id = NULL, *after = NULL, *what = "";
    switch (m->query_case) {
    case OMS__V1__QUERY_REQUEST__QUERY__NOT_SET:
        out->kind = CODEC_Q_NONE;
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_CATCH_UP:
        out->kind = CODEC_Q_CATCH_UP;
        out->from_seq = m->catch_up->from_seq;
        out->max_events = m->catch_up->max_events;
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_ORDER:
        out->kind = CODEC_Q_ORDER;
        id = m->order->order_id;
        what = "order";
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_ORDERS_OF_ACCOUNT:
        out->kind = CODEC_Q_ORDERS_OF_ACCOUNT;
        id = m->orders_of_account->account_id;
        out->open_only = m->orders_of_account->open_only != 0;
        out->max_rows = m->orders_of_account->max_rows;
        after = m->orders_of_account->after_order_id;
        what = "orders_of_account";
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_EXECUTIONS_OF_ORDER:
        out->kind = CODEC_Q_EXECUTIONS_OF_ORDER;
        id = m->executions_of_order->order_id;
        what = "executions_of_order";
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_POSITIONS_OF_ACCOUNT:
        out->kind = CODEC_Q_POSITIONS_OF_ACCOUNT;
        id = m->positions_of_account->account_id;
        out->max_rows = m->positions_of_account->max_rows;
        after = m->positions_of_account->after_instrument_id;
        what = "positions_of_account";
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_POSITIONS_OF_INSTRUMENT:
        out->kind = CODEC_Q_POSITIONS_OF_INSTRUMENT;
        id = m->positions_of_instrument->instrument_id;
        out->max_rows = m->positions_of_instrument->max_rows;
        after = m->positions_of_instrument->after_account_id;
        what = "positions_of_instrument";
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_ALLOCATIONS_OF_ORDER:
        out->kind = CODEC_Q_ALLOCATIONS_OF_ORDER;
        id = m->allocations_of_order->order_id;
        what = "allocations_of_order";
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_REF_DATA:
        out->kind = CODEC_Q_REF_DATA;
        out->ref_kind = (codec_ref_kind_t)m->ref_data->kind;
        id = m->ref_data->id;
        out->max_rows = m->ref_data->max_rows;
        after = m->ref_data->after_id;
        what = "ref_data";
        if ((int)m->ref_data->kind < CODEC_REF_INSTRUMENT ||
            (int)m->ref_data->kind > CODEC_REF_ALL) {
            s_err(err, cap, "ref_data.kind: %d is not 1..6", (int)m->ref_data->kind);
            rc = OMS_ERR_DECODE;
        }
        break;
    case OMS__V1__QUERY_REQUEST__QUERY_STATS:
        out->kind = CODEC_Q_STATS;
        break;
    default: /* protobuf-c keeps only the cases it knows: unreachable */
        out->kind = CODEC_Q_NONE;
        break;
    }
    if (rc == 0 && (!s_id(out->id, id) || !s_id(out->after, after))) {
        s_err(err, cap, "%s: an id is longer than %d bytes", what, (int)OMS_LIMIT_ID_LEN);
        rc = OMS_ERR_DECODE;
    }
done:
    oms__v1__query_request__free_unpacked(m, NULL);
    if (rc) {
        char keep[OMS_ID_CAP];
        memcpy(keep, out->request_id, sizeof keep);
        memset(out, 0, sizeof *out);
        memcpy(out->request_id, keep, sizeof keep);
    }
    return rc;
}

int codec_encode_query(const codec_query_t *q, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (!q || !out_len)
        return OMS_ERR_INVALID;
    Oms__V1__QueryRequest m = OMS__V1__QUERY_REQUEST__INIT;
    union {
        Oms__V1__CatchUpRequest cu;
        Oms__V1__OrderQuery o;
        Oms__V1__OrdersOfAccountQuery oa;
        Oms__V1__ExecutionsOfOrderQuery eo;
        Oms__V1__PositionsOfAccountQuery pa;
        Oms__V1__PositionsOfInstrumentQuery pi;
        Oms__V1__AllocationsOfOrderQuery ao;
        Oms__V1__RefDataQuery rd;
        Oms__V1__StatsQuery st;
    } b;
    m.request_id = CDC_S(q->request_id);
    switch (q->kind) {
    case CODEC_Q_NONE:
        break;
    case CODEC_Q_CATCH_UP:
        b.cu = (Oms__V1__CatchUpRequest)OMS__V1__CATCH_UP_REQUEST__INIT;
        b.cu.from_seq = q->from_seq;
        b.cu.max_events = q->max_events;
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_CATCH_UP;
        m.catch_up = &b.cu;
        break;
    case CODEC_Q_ORDER:
        b.o = (Oms__V1__OrderQuery)OMS__V1__ORDER_QUERY__INIT;
        b.o.order_id = CDC_S(q->id);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_ORDER;
        m.order = &b.o;
        break;
    case CODEC_Q_ORDERS_OF_ACCOUNT:
        b.oa = (Oms__V1__OrdersOfAccountQuery)OMS__V1__ORDERS_OF_ACCOUNT_QUERY__INIT;
        b.oa.account_id = CDC_S(q->id);
        b.oa.open_only = q->open_only ? 1 : 0;
        b.oa.max_rows = q->max_rows;
        b.oa.after_order_id = CDC_S(q->after);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_ORDERS_OF_ACCOUNT;
        m.orders_of_account = &b.oa;
        break;
    case CODEC_Q_EXECUTIONS_OF_ORDER:
        b.eo = (Oms__V1__ExecutionsOfOrderQuery)OMS__V1__EXECUTIONS_OF_ORDER_QUERY__INIT;
        b.eo.order_id = CDC_S(q->id);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_EXECUTIONS_OF_ORDER;
        m.executions_of_order = &b.eo;
        break;
    case CODEC_Q_POSITIONS_OF_ACCOUNT:
        b.pa = (Oms__V1__PositionsOfAccountQuery)OMS__V1__POSITIONS_OF_ACCOUNT_QUERY__INIT;
        b.pa.account_id = CDC_S(q->id);
        b.pa.max_rows = q->max_rows;
        b.pa.after_instrument_id = CDC_S(q->after);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_POSITIONS_OF_ACCOUNT;
        m.positions_of_account = &b.pa;
        break;
    case CODEC_Q_POSITIONS_OF_INSTRUMENT:
        b.pi = (Oms__V1__PositionsOfInstrumentQuery)OMS__V1__POSITIONS_OF_INSTRUMENT_QUERY__INIT;
        b.pi.instrument_id = CDC_S(q->id);
        b.pi.max_rows = q->max_rows;
        b.pi.after_account_id = CDC_S(q->after);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_POSITIONS_OF_INSTRUMENT;
        m.positions_of_instrument = &b.pi;
        break;
    case CODEC_Q_ALLOCATIONS_OF_ORDER:
        b.ao = (Oms__V1__AllocationsOfOrderQuery)OMS__V1__ALLOCATIONS_OF_ORDER_QUERY__INIT;
        b.ao.order_id = CDC_S(q->id);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_ALLOCATIONS_OF_ORDER;
        m.allocations_of_order = &b.ao;
        break;
    case CODEC_Q_REF_DATA:
        b.rd = (Oms__V1__RefDataQuery)OMS__V1__REF_DATA_QUERY__INIT;
        b.rd.kind = (Oms__V1__RefDataKind)q->ref_kind;
        b.rd.id = CDC_S(q->id);
        b.rd.max_rows = q->max_rows;
        b.rd.after_id = CDC_S(q->after);
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_REF_DATA;
        m.ref_data = &b.rd;
        break;
    case CODEC_Q_STATS:
        b.st = (Oms__V1__StatsQuery)OMS__V1__STATS_QUERY__INIT;
        m.query_case = OMS__V1__QUERY_REQUEST__QUERY_STATS;
        m.stats = &b.st;
        break;
    default:
        return OMS_ERR_INVALID;
    }
    return cdc_pack(&m.base, buf, cap, out_len);
}

/* ---- the reply writer ---------------------------------------------------------------------------
 */

/* Bytes the open result still needs after its entries: catch-up head_seq (tag + 10) and more
 * (2); a list's more (2). */
static size_t s_trailer(const codec_reply_writer_t *w)
{
    return w->result == CODEC_QR_CATCH_UP ? 13 : 2;
}

static bool s_writer_ok(const codec_reply_writer_t *w)
{
    return w && w->buf && w->cap >= S_MIN_CAP && w->hdr_end <= w->pos && w->pos <= w->cap;
}

/* Opens result `field` (writes the gap). The caller checked that nothing is open or closed. */
static int s_open(codec_reply_writer_t *w, int field)
{
    if (w->cap - w->pos < S_GAP + 13)
        return OMS_ERR_LIMIT;
    w->gap_at = w->pos;
    w->pos += S_GAP;
    w->result = field;
    w->open = true;
    w->n = 0;
    return 0;
}

/* Closes the open result: writes its exact tag and length and moves its content over the rest
 * of the gap. */
static void s_close(codec_reply_writer_t *w)
{
    size_t body = w->gap_at + S_GAP, clen = w->pos - body;
    uint8_t hdr[S_GAP + 3];
    size_t hl = s_put_tag(hdr, (uint32_t)w->result, S_WT_LEN);
    hl += cdc_put_varint(hdr + hl, clen);
    memmove(w->buf + w->gap_at + hl, w->buf + body, clen);
    memcpy(w->buf + w->gap_at, hdr, hl);
    w->pos = w->gap_at + hl + clen;
    w->open = false;
    w->closed = true;
    w->list = CODEC_QL_NONE;
}

/* Appends one length-delimited entry (field, data[len]) to the open result, keeping room for
 * its trailer. */
static int s_entry(codec_reply_writer_t *w, uint32_t field, const uint8_t *data, size_t len)
{
    size_t need = s_tag_size(field) + cdc_varint_size(len);
    if (len > w->cap || need + len + s_trailer(w) > w->cap - w->pos)
        return OMS_ERR_LIMIT;
    w->pos += s_put_tag(w->buf + w->pos, field, S_WT_LEN);
    w->pos += cdc_put_varint(w->buf + w->pos, len);
    if (len)
        memcpy(w->buf + w->pos, data, len);
    w->pos += len;
    w->n++;
    return 0;
}

/* Appends a varint field (the trailer's room was kept by s_entry / s_open). */
static void s_varint_field(codec_reply_writer_t *w, uint32_t field, uint64_t v)
{
    w->pos += s_put_tag(w->buf + w->pos, field, S_WT_VARINT);
    w->pos += cdc_put_varint(w->buf + w->pos, v);
}

int codec_qreply_begin(codec_reply_writer_t *w, uint8_t *buf, size_t cap, const char *request_id,
                       uint64_t head_seq)
{
    if (!w || !buf)
        return OMS_ERR_INVALID;
    size_t idl = request_id ? strnlen(request_id, OMS_ID_CAP) : 0;
    if (idl > OMS_LIMIT_ID_LEN)
        return OMS_ERR_INVALID;
    if (cap < S_MIN_CAP)
        return OMS_ERR_LIMIT;
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap > S_MAX_CAP ? S_MAX_CAP : cap;
    w->head_seq = head_seq;
    if (idl) {
        w->pos += s_put_tag(buf + w->pos, S_QR_REQUEST_ID, S_WT_LEN);
        w->pos += cdc_put_varint(buf + w->pos, idl);
        memcpy(buf + w->pos, request_id, idl);
        w->pos += idl;
    }
    if (head_seq)
        s_varint_field(w, S_QR_HEAD_SEQ, head_seq);
    w->hdr_end = w->pos;
    return 0;
}

int codec_qreply_catch_up_event(codec_reply_writer_t *w, const uint8_t *envelope, size_t len)
{
    if (!s_writer_ok(w) || !envelope || len == 0)
        return OMS_ERR_INVALID;
    if (w->closed || (w->open && w->result != CODEC_QR_CATCH_UP))
        return OMS_ERR_STATE;
    if (w->open && w->n >= OMS_LIMIT_CATCHUP_EVENTS)
        return OMS_ERR_LIMIT;
    bool opened = false;
    if (!w->open) {
        int rc = s_open(w, CODEC_QR_CATCH_UP);
        if (rc)
            return rc;
        opened = true;
    }
    int rc = s_entry(w, S_CU_EVENTS, envelope, len);
    if (rc && opened) { /* leave the reply as it was: nothing begun */
        w->pos = w->gap_at;
        w->open = false;
        w->result = 0;
    }
    return rc;
}

int codec_qreply_catch_up_end(codec_reply_writer_t *w, bool more)
{
    if (!s_writer_ok(w))
        return OMS_ERR_INVALID;
    if (w->closed || (w->open && w->result != CODEC_QR_CATCH_UP))
        return OMS_ERR_STATE;
    if (!w->open) {
        int rc = s_open(w, CODEC_QR_CATCH_UP);
        if (rc)
            return rc;
    }
    if (w->head_seq)
        s_varint_field(w, S_CU_HEAD_SEQ, w->head_seq);
    if (more)
        s_varint_field(w, S_CU_MORE, 1);
    s_close(w);
    return 0;
}

/* The QueryReply field of the list a row kind belongs to, and the row's field inside it. */
static int s_list_field(codec_qlist_t k, uint32_t *row_field)
{
    switch (k) {
    case CODEC_QL_ORDERS:
        *row_field = S_LIST_ROWS;
        return CODEC_QR_ORDERS;
    case CODEC_QL_EXECUTIONS:
        *row_field = S_LIST_ROWS;
        return CODEC_QR_EXECUTIONS;
    case CODEC_QL_POSITIONS:
        *row_field = S_LIST_ROWS;
        return CODEC_QR_POSITIONS;
    case CODEC_QL_ALLOCATIONS:
        *row_field = S_LIST_ROWS;
        return CODEC_QR_ALLOCATIONS;
    case CODEC_QL_INSTRUMENTS:
    case CODEC_QL_ACCOUNTS:
    case CODEC_QL_PRINCIPALS:
    case CODEC_QL_LIMITS:
    case CODEC_QL_RESTRICTIONS:
        *row_field = (uint32_t)(k - CODEC_QL_INSTRUMENTS + 1);
        return CODEC_QR_REF_DATA;
    default:
        return 0;
    }
}

int codec_qreply_list_begin(codec_reply_writer_t *w, codec_qlist_t list_kind)
{
    uint32_t rf = 0;
    int field = s_list_field(list_kind, &rf);
    if (!s_writer_ok(w) || !field)
        return OMS_ERR_INVALID;
    if (w->closed || w->open)
        return OMS_ERR_STATE;
    int rc = s_open(w, field);
    if (rc == 0)
        w->list = list_kind;
    return rc;
}

int codec_qreply_row(codec_reply_writer_t *w, codec_qlist_t list_kind, const uint8_t *row,
                     size_t len)
{
    uint32_t rf = 0;
    int field = s_list_field(list_kind, &rf);
    if (!s_writer_ok(w) || !field || (!row && len))
        return OMS_ERR_INVALID;
    if (w->closed || (w->open && w->result != field))
        return OMS_ERR_STATE;
    if (w->open && w->n >= OMS_LIMIT_QUERY_ROWS)
        return OMS_ERR_LIMIT;
    bool opened = false;
    if (!w->open) {
        int rc = codec_qreply_list_begin(w, list_kind);
        if (rc)
            return rc;
        opened = true;
    }
    int rc = s_entry(w, rf, row, len);
    if (rc && opened) {
        w->pos = w->gap_at;
        w->open = false;
        w->result = 0;
        w->list = CODEC_QL_NONE;
    }
    return rc;
}

int codec_qreply_list_end(codec_reply_writer_t *w, bool more)
{
    if (!s_writer_ok(w))
        return OMS_ERR_INVALID;
    if (!w->open || w->result == CODEC_QR_CATCH_UP)
        return OMS_ERR_STATE;
    if (more)
        s_varint_field(w, w->result == CODEC_QR_REF_DATA ? S_REF_MORE : S_LIST_MORE, 1);
    s_close(w);
    return 0;
}

/* The protobuf-c structs of a Stats result (about 11 KiB). */
typedef struct {
    Oms__V1__Stats m;
    Oms__V1__RejectCount rc[CODEC_STATS_REASONS_MAX];
    Oms__V1__RejectCount *rc_ptr[CODEC_STATS_REASONS_MAX];
    Oms__V1__SubscriberLag sl[CODEC_STATS_SUBSCRIBERS_MAX];
    Oms__V1__SubscriberLag *sl_ptr[CODEC_STATS_SUBSCRIBERS_MAX];
} s_stats_pb_t;

static int s_stats_to_pb(const codec_stats_t *s, s_stats_pb_t *p)
{
    if (s->n_rejects_by_reason > CODEC_STATS_REASONS_MAX ||
        s->n_subscribers > CODEC_STATS_SUBSCRIBERS_MAX)
        return OMS_ERR_INVALID;
    p->m = (Oms__V1__Stats)OMS__V1__STATS__INIT;
    p->m.head_seq = s->head_seq;
    p->m.head_hash.data = (uint8_t *)s->head_hash.bytes;
    p->m.head_hash.len = OMS_HASH_LEN;
    p->m.started_ts_ns = s->started_ts_ns;
    p->m.window_ns = s->window_ns;
    p->m.commands_per_s = s->commands_per_s;
    p->m.events_per_s = s->events_per_s;
    p->m.commands_total = s->commands_total;
    p->m.events_total = s->events_total;
    p->m.batches_total = s->batches_total;
    p->m.batch_commands_last = s->batch_commands_last;
    p->m.batch_commands_max = s->batch_commands_max;
    p->m.batch_events_max = s->batch_events_max;
    p->m.commands_per_batch_mean_e3 = s->commands_per_batch_mean_e3;
    p->m.append_latency_us_p50 = s->append_latency_us_p50;
    p->m.append_latency_us_p99 = s->append_latency_us_p99;
    p->m.rejects_total = s->rejects_total;
    for (uint32_t i = 0; i < s->n_rejects_by_reason; i++) {
        p->rc[i] = (Oms__V1__RejectCount)OMS__V1__REJECT_COUNT__INIT;
        p->rc[i].reason = (Oms__V1__RejectReason)s->rejects_by_reason[i].reason;
        p->rc[i].count = s->rejects_by_reason[i].count;
        p->rc_ptr[i] = &p->rc[i];
    }
    p->m.n_rejects_by_reason = s->n_rejects_by_reason;
    p->m.rejects_by_reason = s->n_rejects_by_reason ? p->rc_ptr : NULL;
    p->m.errors_total = s->errors_total;
    p->m.duplicates_total = s->duplicates_total;
    for (uint32_t i = 0; i < s->n_subscribers; i++) {
        const codec_sub_lag_t *l = &s->subscribers[i];
        if (strnlen(l->client, OMS_ID_CAP) > OMS_LIMIT_ID_LEN)
            return OMS_ERR_INVALID;
        p->sl[i] = (Oms__V1__SubscriberLag)OMS__V1__SUBSCRIBER_LAG__INIT;
        p->sl[i].client = CDC_S(l->client);
        p->sl[i].last_from_seq = l->last_from_seq;
        p->sl[i].lag_events = l->lag_events;
        p->sl[i].last_seen_ts_ns = l->last_seen_ts_ns;
        p->sl_ptr[i] = &p->sl[i];
    }
    p->m.n_subscribers = s->n_subscribers;
    p->m.subscribers = s->n_subscribers ? p->sl_ptr : NULL;
    p->m.orders_in_memory = s->orders_in_memory;
    p->m.state_reloads_total = s->state_reloads_total;
    return 0;
}

int codec_qreply_stats(codec_reply_writer_t *w, const codec_stats_t *s)
{
    if (!s_writer_ok(w) || !s)
        return OMS_ERR_INVALID;
    if (w->closed || w->open)
        return OMS_ERR_STATE;
    s_stats_pb_t p;
    int rc = s_stats_to_pb(s, &p);
    if (rc)
        return rc;
    size_t n = protobuf_c_message_get_packed_size(&p.m.base);
    size_t need = s_tag_size(CODEC_QR_STATS) + cdc_varint_size(n) + n;
    if (need > w->cap - w->pos)
        return OMS_ERR_LIMIT;
    w->pos += s_put_tag(w->buf + w->pos, CODEC_QR_STATS, S_WT_LEN);
    w->pos += cdc_put_varint(w->buf + w->pos, n);
    if (protobuf_c_message_pack(&p.m.base, w->buf + w->pos) != n)
        return OMS_ERR_INVALID; /* not reached: protobuf-c packs what it sized */
    w->pos += n;
    w->result = CODEC_QR_STATS;
    w->closed = true;
    return 0;
}

int codec_qreply_error(codec_reply_writer_t *w, int err, const char *text)
{
    if (!s_writer_ok(w))
        return OMS_ERR_INVALID;
    size_t tl = text ? strnlen(text, OMS_LIMIT_TEXT_LEN) : 0;
    /* ErrorReply: error_code as a (sign-extended) varint, then the text. */
    size_t clen = 0;
    if (err)
        clen += 1 + cdc_varint_size((uint64_t)(int64_t)err);
    if (tl)
        clen += 1 + cdc_varint_size(tl) + tl;
    w->pos = w->hdr_end; /* drop any result written so far */
    w->pos += s_put_tag(w->buf + w->pos, CODEC_QR_ERROR, S_WT_LEN);
    w->pos += cdc_put_varint(w->buf + w->pos, clen);
    if (err)
        s_varint_field(w, S_ERR_CODE, (uint64_t)(int64_t)err);
    if (tl) {
        w->pos += s_put_tag(w->buf + w->pos, S_ERR_TEXT, S_WT_LEN);
        w->pos += cdc_put_varint(w->buf + w->pos, tl);
        memcpy(w->buf + w->pos, text, tl);
        w->pos += tl;
    }
    w->result = CODEC_QR_ERROR;
    w->open = false;
    w->closed = true;
    w->list = CODEC_QL_NONE;
    w->n = 0;
    return 0;
}

int codec_qreply_finish(codec_reply_writer_t *w, size_t *out_len)
{
    if (!s_writer_ok(w) || !out_len)
        return OMS_ERR_INVALID;
    if (!w->closed)
        return OMS_ERR_STATE;
    *out_len = w->pos;
    return 0;
}

/* ---- the reply decoder ------------------------------------------------------------------------
 */

static bool s_is_result(uint32_t num)
{
    switch (num) {
    case CODEC_QR_CATCH_UP:
    case CODEC_QR_ORDERS:
    case CODEC_QR_EXECUTIONS:
    case CODEC_QR_POSITIONS:
    case CODEC_QR_ALLOCATIONS:
    case CODEC_QR_REF_DATA:
    case CODEC_QR_STATS:
    case CODEC_QR_ERROR:
        return true;
    default:
        return false;
    }
}

static int s_stats_from_pb(const uint8_t *data, size_t len, codec_stats_t *s)
{
    static const uint8_t empty[1];
    Oms__V1__Stats *m = oms__v1__stats__unpack(NULL, len, len ? data : empty);
    if (!m)
        return OMS_ERR_DECODE;
    int rc = 0;
    cdc_nul_t nul;
    if (cdc_find_nul(&oms__v1__stats__descriptor, len ? data : empty, len, NULL, &nul) != 0)
        rc = OMS_ERR_DECODE;
    else if (m->head_hash.len != 0 && m->head_hash.len != OMS_HASH_LEN)
        rc = OMS_ERR_DECODE;
    else if (m->n_rejects_by_reason > CODEC_STATS_REASONS_MAX ||
             m->n_subscribers > CODEC_STATS_SUBSCRIBERS_MAX)
        rc = OMS_ERR_LIMIT;
    if (rc == 0) {
        s->head_seq = m->head_seq;
        if (m->head_hash.len)
            memcpy(s->head_hash.bytes, m->head_hash.data, OMS_HASH_LEN);
        s->started_ts_ns = m->started_ts_ns;
        s->window_ns = m->window_ns;
        s->commands_per_s = m->commands_per_s;
        s->events_per_s = m->events_per_s;
        s->commands_total = m->commands_total;
        s->events_total = m->events_total;
        s->batches_total = m->batches_total;
        s->batch_commands_last = m->batch_commands_last;
        s->batch_commands_max = m->batch_commands_max;
        s->batch_events_max = m->batch_events_max;
        s->commands_per_batch_mean_e3 = m->commands_per_batch_mean_e3;
        s->append_latency_us_p50 = m->append_latency_us_p50;
        s->append_latency_us_p99 = m->append_latency_us_p99;
        s->rejects_total = m->rejects_total;
        s->n_rejects_by_reason = (uint32_t)m->n_rejects_by_reason;
        for (size_t i = 0; i < m->n_rejects_by_reason; i++) {
            s->rejects_by_reason[i].reason = (oms_reject_reason_t)m->rejects_by_reason[i]->reason;
            s->rejects_by_reason[i].count = m->rejects_by_reason[i]->count;
        }
        s->errors_total = m->errors_total;
        s->duplicates_total = m->duplicates_total;
        s->orders_in_memory = m->orders_in_memory;
        s->state_reloads_total = m->state_reloads_total;
        s->n_subscribers = (uint32_t)m->n_subscribers;
        for (size_t i = 0; i < m->n_subscribers && rc == 0; i++) {
            const Oms__V1__SubscriberLag *l = m->subscribers[i];
            codec_sub_lag_t *d = &s->subscribers[i];
            if (!s_id(d->client, l->client))
                rc = OMS_ERR_DECODE;
            d->last_from_seq = l->last_from_seq;
            d->lag_events = l->lag_events;
            d->last_seen_ts_ns = l->last_seen_ts_ns;
        }
    }
    oms__v1__stats__free_unpacked(m, NULL);
    return rc;
}

/* Walks the result message of a catch-up or list reply into items. */
static int s_items(const uint8_t *data, size_t len, codec_qresult_t kind, codec_slice_t *items,
                   uint32_t items_cap, codec_qreply_t *out)
{
    uint32_t limit = kind == CODEC_QR_CATCH_UP ? OMS_LIMIT_CATCHUP_EVENTS : OMS_LIMIT_QUERY_ROWS;
    size_t pos = 0;
    while (pos < len) {
        s_field_t f;
        if (!s_next(data, len, &pos, &f))
            return OMS_ERR_DECODE;
        codec_qlist_t list = CODEC_QL_NONE;
        bool row = false, more = false;
        switch (kind) {
        case CODEC_QR_CATCH_UP:
            row = f.num == S_CU_EVENTS;
            more = f.num == S_CU_MORE;
            if (f.num == S_CU_HEAD_SEQ) {
                if (f.wt != S_WT_VARINT)
                    return OMS_ERR_DECODE;
                out->catch_up_head_seq = f.v;
            }
            break;
        case CODEC_QR_REF_DATA:
            row = f.num >= 1 && f.num <= 5;
            more = f.num == S_REF_MORE;
            list = (codec_qlist_t)(CODEC_QL_INSTRUMENTS + (int)f.num - 1);
            break;
        default:
            row = f.num == S_LIST_ROWS;
            more = f.num == S_LIST_MORE;
            list = kind == CODEC_QR_ORDERS       ? CODEC_QL_ORDERS
                   : kind == CODEC_QR_EXECUTIONS ? CODEC_QL_EXECUTIONS
                   : kind == CODEC_QR_POSITIONS  ? CODEC_QL_POSITIONS
                                                 : CODEC_QL_ALLOCATIONS;
            break;
        }
        if (more) {
            if (f.wt != S_WT_VARINT)
                return OMS_ERR_DECODE;
            out->more = f.v != 0;
        } else if (row) {
            if (f.wt != S_WT_LEN)
                return OMS_ERR_DECODE;
            if (out->n_items >= limit || out->n_items >= items_cap)
                return OMS_ERR_LIMIT;
            items[out->n_items].data = f.data;
            items[out->n_items].len = f.len;
            items[out->n_items].list = row && kind != CODEC_QR_CATCH_UP ? list : CODEC_QL_NONE;
            out->n_items++;
        }
    }
    return 0;
}

static int s_error(const uint8_t *data, size_t len, codec_qreply_t *out)
{
    size_t pos = 0;
    while (pos < len) {
        s_field_t f;
        if (!s_next(data, len, &pos, &f))
            return OMS_ERR_DECODE;
        if (f.num == S_ERR_CODE) {
            if (f.wt != S_WT_VARINT)
                return OMS_ERR_DECODE;
            out->error_code = (int32_t)(uint32_t)f.v;
        } else if (f.num == S_ERR_TEXT) {
            if (f.wt != S_WT_LEN || !s_copy_str(out->error_text, OMS_TEXT_CAP, f.data, f.len))
                return OMS_ERR_DECODE;
        }
    }
    return 0;
}

static int s_decode_qreply(const uint8_t *buf, size_t len, codec_slice_t *items, uint32_t items_cap,
                           codec_qreply_t *out)
{
    const uint8_t *res = NULL;
    size_t rlen = 0, pos = 0;
    while (pos < len) {
        s_field_t f;
        if (!s_next(buf, len, &pos, &f))
            return OMS_ERR_DECODE;
        if (f.num == S_QR_REQUEST_ID) {
            if (f.wt != S_WT_LEN || !s_copy_str(out->request_id, OMS_ID_CAP, f.data, f.len))
                return OMS_ERR_DECODE;
        } else if (f.num == S_QR_HEAD_SEQ) {
            if (f.wt != S_WT_VARINT)
                return OMS_ERR_DECODE;
            out->head_seq = f.v;
        } else if (s_is_result(f.num)) {
            if (f.wt != S_WT_LEN || out->kind != CODEC_QR_NONE)
                return OMS_ERR_DECODE;
            out->kind = (codec_qresult_t)f.num;
            res = f.data;
            rlen = f.len;
        }
    }
    switch (out->kind) {
    case CODEC_QR_NONE:
        return OMS_ERR_DECODE;
    case CODEC_QR_STATS:
        return s_stats_from_pb(res, rlen, &out->stats);
    case CODEC_QR_ERROR:
        return s_error(res, rlen, out);
    default:
        return s_items(res, rlen, out->kind, items, items_cap, out);
    }
}

int codec_decode_qreply(const uint8_t *buf, size_t len, codec_slice_t *items, uint32_t items_cap,
                        codec_qreply_t *out)
{
    if (!out || (!buf && len) || (!items && items_cap))
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    int rc = s_decode_qreply(buf, len, items, items_cap, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- projection rows for display ---------------------------------------------------------------
 */

/* Unpacks a row as desc: NULL when it is not one. */
#define S_UNPACK(T, desc, row, len) ((T *)cdc_row_unpack(desc, row, len))

int codec_row_decode_order(const uint8_t *row, size_t len, oms_arena_t *arena, proj_order_t *out,
                           const char (**cl_ord_ids)[OMS_ID_CAP], uint32_t *n_cl_ord_ids,
                           const oms_alloc_instr_t **instrs, uint32_t *n_instrs)
{
    if (!out || !cl_ord_ids || !n_cl_ord_ids || !instrs || !n_instrs)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    *cl_ord_ids = NULL;
    *instrs = NULL;
    *n_cl_ord_ids = *n_instrs = 0;
    Oms__V1__Order *m = S_UNPACK(Oms__V1__Order, &oms__v1__order__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    cdc_chk_t c = {.cmd = false};
    char(*cl)[OMS_ID_CAP] = NULL;
    uint32_t n_cl = (uint32_t)m->n_cl_ord_ids;
    int rc = cdc_order_from_pb(&c, m, arena, out, &cl, instrs, n_instrs);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (rc == 0 && c.rr != OMS_RR_NONE)
        rc = OMS_ERR_DECODE;
    if (rc) {
        memset(out, 0, sizeof *out);
        *instrs = NULL;
        *n_instrs = 0;
        return rc;
    }
    out->first_clordid = out->last_clordid = PROJ_NIL;
    out->first_instr = out->last_instr = PROJ_NIL;
    out->first_exec = out->last_exec = PROJ_NIL;
    out->first_alloc = out->last_alloc = PROJ_NIL;
    out->n_clordids = n_cl;
    out->n_instrs = *n_instrs;
    *cl_ord_ids = (const char(*)[OMS_ID_CAP])cl;
    *n_cl_ord_ids = n_cl;
    return 0;
}

int codec_row_decode_exec(const uint8_t *row, size_t len, proj_exec_t *out,
                          char order_id[OMS_ID_CAP], char strs[2][OMS_ID_CAP])
{
    if (!out || !order_id || !strs)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    order_id[0] = strs[0][0] = strs[1][0] = '\0';
    out->venue = strs[0];
    out->exec_id = strs[1];
    Oms__V1__Execution *m = S_UNPACK(Oms__V1__Execution, &oms__v1__execution__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    static const char pfx[] = "Execution";
    cdc_chk_t c = {.cmd = false};
    cdc_str(&c, strs[0], OMS_ID_CAP, m->venue, pfx, "venue");
    cdc_str(&c, strs[1], OMS_ID_CAP, m->exec_id, pfx, "exec_id");
    cdc_str(&c, order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
    out->order = out->next = PROJ_NIL;
    out->qty = cdc_dec(&c, m->last_qty, pfx, "last_qty");
    out->px = cdc_dec(&c, m->last_px, pfx, "last_px");
    out->transact_ts_ns = m->transact_ts_ns;
    out->busted = m->busted != 0;
    out->late = m->late != 0;
    out->seq = m->seq;
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        order_id[0] = '\0';
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_row_decode_position(const uint8_t *row, size_t len, proj_position_t *out)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    Oms__V1__Position *m = S_UNPACK(Oms__V1__Position, &oms__v1__position__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    static const char pfx[] = "Position";
    cdc_chk_t c = {.cmd = false};
    cdc_str(&c, out->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
    cdc_str(&c, out->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
    out->qty = cdc_dec(&c, m->qty, pfx, "qty");
    out->cost_basis = cdc_e16(m->cost_basis);
    out->realized_pnl = cdc_dec(&c, m->realized_pnl, pfx, "realized_pnl");
    out->open_buy_leaves = cdc_dec(&c, m->open_buy_leaves, pfx, "open_buy_leaves");
    out->open_sell_leaves = cdc_dec(&c, m->open_sell_leaves, pfx, "open_sell_leaves");
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_row_decode_alloc(const uint8_t *row, size_t len, oms_arena_t *arena, proj_alloc_t *out,
                           const oms_alloc_part_t **parts, uint32_t *n_parts,
                           const oms_alloc_instr_t **used, uint32_t *n_used)
{
    if (!out || !parts || !n_parts || !used || !n_used)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    *parts = NULL;
    *used = NULL;
    *n_parts = *n_used = 0;
    Oms__V1__Allocation *m =
        S_UNPACK(Oms__V1__Allocation, &oms__v1__allocation__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    static const char pfx[] = "Allocation";
    cdc_chk_t c = {.cmd = false};
    cdc_str(&c, out->order_id, OMS_ID_CAP, m->order_id, pfx, "order_id");
    cdc_str(&c, out->alloc_id, OMS_ID_CAP, m->alloc_id, pfx, "alloc_id");
    out->order = out->next = PROJ_NIL;
    out->status = (oms_alloc_status_t)m->status;
    out->qty = cdc_dec(&c, m->quantity, pfx, "quantity");
    out->avg_px = cdc_dec(&c, m->avg_px, pfx, "avg_px");
    out->reject_reason = (oms_reject_reason_t)m->reject_reason;
    cdc_str(&c, out->text, OMS_TEXT_CAP, m->text, pfx, "text");
    out->created_seq = m->created_seq;
    out->last_seq = m->last_seq;
    out->first_part = out->last_part = out->first_used = out->last_used = PROJ_NIL;
    uint32_t np = (uint32_t)m->n_parts;
    int rc = cdc_parts_from_pb(&c, m->parts, m->n_parts, arena, parts);
    if (rc == 0)
        rc = cdc_instrs_from_pb(&c, m->instructions, m->n_instructions, arena, used, n_used, pfx,
                                "instructions");
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (rc == 0 && c.rr != OMS_RR_NONE)
        rc = OMS_ERR_DECODE;
    if (rc) {
        memset(out, 0, sizeof *out);
        *parts = NULL;
        *used = NULL;
        *n_used = 0;
        return rc;
    }
    *n_parts = np;
    out->n_parts = np;
    out->n_used = *n_used;
    return 0;
}

int codec_row_decode_instrument(const uint8_t *row, size_t len, proj_instrument_t *out)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    Oms__V1__Instrument *m =
        S_UNPACK(Oms__V1__Instrument, &oms__v1__instrument__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    cdc_chk_t c = {.cmd = false};
    CDC_INSTR_FROM_PB(&c, &out->def, m, "Instrument");
    out->ref_px = cdc_opt(&c, m->reference_price, "Instrument", "reference_price");
    out->ref_px_seq = m->reference_price_seq;
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_row_decode_account(const uint8_t *row, size_t len, proj_account_t *out)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    Oms__V1__Account *m = S_UNPACK(Oms__V1__Account, &oms__v1__account__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    cdc_chk_t c = {.cmd = false};
    CDC_ACCOUNT_FROM_PB(&c, &out->def, m, "Account");
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_row_decode_principal(const uint8_t *row, size_t len, proj_principal_t *out)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    Oms__V1__Principal *m = S_UNPACK(Oms__V1__Principal, &oms__v1__principal__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    cdc_chk_t c = {.cmd = false};
    CDC_PRINCIPAL_FROM_PB(&c, &out->def, m, "Principal");
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_row_decode_limits(const uint8_t *row, size_t len, proj_limits_t *out)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    Oms__V1__Limits *m = S_UNPACK(Oms__V1__Limits, &oms__v1__limits__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    cdc_chk_t c = {.cmd = false};
    CDC_LIMITS_FROM_PB(&c, &out->def, m, "Limits");
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_row_decode_restriction(const uint8_t *row, size_t len, proj_restriction_t *out)
{
    if (!out)
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    Oms__V1__Restriction *m =
        S_UNPACK(Oms__V1__Restriction, &oms__v1__restriction__descriptor, row, len);
    if (!m)
        return OMS_ERR_DECODE;
    static const char pfx[] = "Restriction";
    cdc_chk_t c = {.cmd = false};
    cdc_str(&c, out->instrument_id, OMS_ID_CAP, m->instrument_id, pfx, "instrument_id");
    cdc_str(&c, out->account_id, OMS_ID_CAP, m->account_id, pfx, "account_id");
    out->restricted = m->restricted != 0;
    cdc_str(&c, out->reason, OMS_TEXT_CAP, m->reason, pfx, "reason");
    out->last_seq = m->last_seq;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (c.rr != OMS_RR_NONE) {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    return 0;
}

/* ---- the topic's parts --------------------------------------------------------------------------
 */

/* The last occurrence of length-delimited field num in msg (data NULL when absent); false when
 * the bytes are malformed or the field has another wire type. */
static bool s_find_len(const uint8_t *msg, size_t len, uint32_t num, const uint8_t **data,
                       size_t *dlen)
{
    *data = NULL;
    *dlen = 0;
    size_t pos = 0;
    while (pos < len) {
        s_field_t f;
        if (!s_next(msg, len, &pos, &f))
            return false;
        if (f.num != num)
            continue;
        if (f.wt != S_WT_LEN)
            return false;
        *data = f.data ? f.data : msg + pos;
        *dlen = f.len;
    }
    return true;
}

/* The oneof member of desc present in msg (the last one): its descriptor and bytes; false when
 * malformed or none is present. */
static bool s_oneof_body(const ProtobufCMessageDescriptor *desc, const uint8_t *msg, size_t len,
                         const ProtobufCFieldDescriptor **fd, const uint8_t **data, size_t *dlen)
{
    *fd = NULL;
    size_t pos = 0;
    while (pos < len) {
        s_field_t f;
        if (!s_next(msg, len, &pos, &f))
            return false;
        const ProtobufCFieldDescriptor *d = protobuf_c_message_descriptor_get_field(desc, f.num);
        if (!d || !(d->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || d->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f.wt != S_WT_LEN)
            return false;
        *fd = d;
        *data = f.data ? f.data : msg + pos;
        *dlen = f.len;
    }
    return *fd != NULL;
}

/* Reads string field `name` of a message of type desc into dst (true), or leaves dst "" when
 * the type has no such field (true); false when malformed, over-long or holding a NUL. */
static bool s_string_of(const ProtobufCMessageDescriptor *desc, const uint8_t *msg, size_t len,
                        const char *name, char dst[OMS_ID_CAP], bool *has)
{
    const ProtobufCFieldDescriptor *a = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    dst[0] = '\0';
    if (has)
        *has = false;
    if (!a || a->type != PROTOBUF_C_TYPE_STRING || a->label == PROTOBUF_C_LABEL_REPEATED)
        return true;
    const uint8_t *d;
    size_t dl;
    if (!s_find_len(msg, len, a->id, &d, &dl) || !s_copy_str(dst, OMS_ID_CAP, d, dl))
        return false;
    if (has)
        *has = true;
    return true;
}

/* The account and order id of a body (an event's or a refused command's). */
static int s_ids_of(const ProtobufCMessageDescriptor *desc, const uint8_t *msg, size_t len,
                    codec_event_peek_t *out)
{
    if (!s_string_of(desc, msg, len, "account_id", out->account_id, &out->has_account) ||
        !s_string_of(desc, msg, len, "order_id", out->order_id, NULL))
        return OMS_ERR_DECODE;
    return 0;
}

int codec_row_order_account(const uint8_t *row, size_t len, char account_id[OMS_ID_CAP])
{
    if (!account_id || (!row && len))
        return OMS_ERR_INVALID;
    account_id[0] = '\0';
    const ProtobufCFieldDescriptor *a =
        protobuf_c_message_descriptor_get_field_by_name(&oms__v1__order__descriptor, "account_id");
    const uint8_t *d;
    size_t dl;
    if (!a || !s_find_len(row, len, a->id, &d, &dl) || !s_copy_str(account_id, OMS_ID_CAP, d, dl)) {
        account_id[0] = '\0';
        return OMS_ERR_DECODE;
    }
    return 0;
}

int codec_event_peek(const uint8_t *event, size_t len, codec_event_peek_t *out)
{
    if (!out || (!event && len))
        return OMS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    const ProtobufCFieldDescriptor *fd;
    const uint8_t *body;
    size_t blen;
    if (!s_oneof_body(&oms__v1__event__descriptor, event, len, &fd, &body, &blen) ||
        oms_event_type_name((oms_event_type_t)fd->id)[0] == '\0') {
        memset(out, 0, sizeof *out);
        return OMS_ERR_DECODE;
    }
    out->type = (oms_event_type_t)fd->id;
    int rc;
    if (out->type == OMS_EV_COMMAND_REJECTED) {
        const ProtobufCFieldDescriptor *cf = protobuf_c_message_descriptor_get_field_by_name(
            &oms__v1__command_rejected__descriptor, "command");
        const uint8_t *cmd, *cbody;
        size_t clen, cblen;
        const ProtobufCFieldDescriptor *cbd;
        rc = 0;
        if (!cf || !s_find_len(body, blen, cf->id, &cmd, &clen))
            rc = OMS_ERR_DECODE;
        else if (cmd &&
                 s_oneof_body(&oms__v1__command__descriptor, cmd, clen, &cbd, &cbody, &cblen)) {
            out->cmd_type = (oms_cmd_type_t)cbd->id;
            rc = s_ids_of(cbd->descriptor, cbody, cblen, out);
        }
    } else {
        rc = s_ids_of(fd->descriptor, body, blen, out);
    }
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return 0;
}
