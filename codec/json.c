/*
 * json.c - any oms.v1 message as one line of JSON, generically from the protobuf descriptors,
 * for the CLI (`omsctl --json`), the replay tool (`oms-replay dump`) and anyone else who shows
 * the wire form to people or scripts. A new field or event type prints without new code.
 *
 * Mapping (proto3 JSON, with the choices an auditor needs; docs/PROTOCOL.md):
 *   names      the .proto field names (snake_case), in field-number order
 *   presence   proto3: scalars only when non-default, messages when present, a oneof's member
 *              only when it is the case, repeated fields when non-empty
 *   Decimal    an exact decimal string: {"e8": 10125000000} prints as "101.25"
 *   Decimal128 an exact decimal string with up to 16 places
 *   64-bit     integers as JSON strings (exact for every consumer; proto3 mapping); 32-bit and
 *              bools as JSON numbers and literals
 *   enums      the value's name ("ORD_STATUS_FILLED"); a number this version does not know
 *              prints as a number
 *   bytes      lowercase hex (hashes read as everyone writes them; proto3 would say base64)
 *   strings    escaped per RFC 8259; bytes that are not valid UTF-8 are not altered (the codec
 *              never stores them: ids and text are checked at the edge)
 *
 * Load: the replay tool calls it once per event on a dump, so it never calls printf-family
 * functions per field and unpacks once per message (protobuf-c's allocator: the unpacked
 * message is freed before returning). The output buffer is the caller's.
 */
#include "codec.h"

#include "oms_proto.h"

#include <string.h>

/* Messages reachable from these roots can be named; every message of the schema is. */
static const ProtobufCMessageDescriptor *const s_roots[] = {
    &oms__v1__event_envelope__descriptor, &oms__v1__command__descriptor,
    &oms__v1__command_reply__descriptor,  &oms__v1__query_request__descriptor,
    &oms__v1__query_reply__descriptor,    &oms__v1__order__descriptor,
    &oms__v1__execution__descriptor,      &oms__v1__position__descriptor,
    &oms__v1__allocation__descriptor,     &oms__v1__instrument__descriptor,
    &oms__v1__account__descriptor,        &oms__v1__principal__descriptor,
    &oms__v1__limits__descriptor,         &oms__v1__restriction__descriptor,
};

enum {
    JSON_DEPTH_MAX = 32,   /* nesting the printer follows (the schema needs 6) */
    JSON_SEARCH_MAX = 512, /* descriptors visited when looking a name up */
};

/* ---- output --------------------------------------------------------------------------------- */

typedef struct {
    char *p;    /* the caller's buffer */
    size_t n;   /* bytes written (without NUL) */
    size_t cap; /* its size */
    bool full;  /* something did not fit */
} jw_t;

static void s_put(jw_t *w, const char *s, size_t len)
{
    if (w->full || len >= w->cap - w->n) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->n, s, len);
    w->n += len;
}

static void s_puts(jw_t *w, const char *s)
{
    s_put(w, s, strlen(s));
}

static void s_putc(jw_t *w, char c)
{
    s_put(w, &c, 1);
}

static void s_u64(jw_t *w, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    s_put(w, tmp + i, sizeof tmp - i);
}

static void s_i64(jw_t *w, int64_t v)
{
    if (v < 0) {
        s_putc(w, '-');
        s_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        s_u64(w, (uint64_t)v);
    }
}

static void s_string(jw_t *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    s_putc(w, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            s_put(w, e, 2);
        } else if (c == '\n') {
            s_put(w, "\\n", 2);
        } else if (c == '\r') {
            s_put(w, "\\r", 2);
        } else if (c == '\t') {
            s_put(w, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            s_put(w, e, 6);
        } else {
            s_putc(w, (char)c);
        }
    }
    s_putc(w, '"');
}

static void s_hex(jw_t *w, const uint8_t *b, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    s_putc(w, '"');
    for (size_t i = 0; i < len && !w->full; i++) {
        char e[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        s_put(w, e, 2);
    }
    s_putc(w, '"');
}

/* An exact decimal of a signed 128-bit value with `places` implied decimals. */
static void s_fixed128(jw_t *w, __int128 v, unsigned places)
{
    char tmp[64];
    size_t i = sizeof tmp;
    unsigned __int128 u =
        v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    /* Digits from the right; the fraction without trailing zeros, at least one integer digit. */
    bool frac_started = false;
    for (unsigned k = 0; k < places; k++) {
        unsigned d = (unsigned)(u % 10);
        u /= 10;
        if (d || frac_started) {
            tmp[--i] = (char)('0' + d);
            frac_started = true;
        }
    }
    if (frac_started)
        tmp[--i] = '.';
    do {
        tmp[--i] = (char)('0' + (unsigned)(u % 10));
        u /= 10;
    } while (u && i > 1);
    if (v < 0)
        tmp[--i] = '-';
    s_putc(w, '"');
    s_put(w, tmp + i, sizeof tmp - i);
    s_putc(w, '"');
}

/* ---- the walk ------------------------------------------------------------------------------- */

static void s_message(jw_t *w, const ProtobufCMessage *m, int depth);

static const void *s_at(const ProtobufCMessage *m, unsigned offset)
{
    return (const char *)m + offset;
}

/* One value of a field (an element of a repeated field, or the field itself). */
static void s_value(jw_t *w, const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        s_i64(w, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        s_u64(w, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        s_putc(w, '"');
        s_i64(w, *(const int64_t *)p);
        s_putc(w, '"');
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        s_putc(w, '"');
        s_u64(w, *(const uint64_t *)p);
        s_putc(w, '"');
        break;
    case PROTOBUF_C_TYPE_BOOL:
        s_puts(w, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        /* The schema has no floating point (DESIGN.md "Numbers"); print nothing misleading. */
        s_puts(w, "null");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)f->descriptor, v);
        if (ev) {
            s_putc(w, '"');
            s_puts(w, ev->name);
            s_putc(w, '"');
        } else {
            s_i64(w, v);
        }
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        s_string(w, s ? s : "");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        s_hex(w, b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (!sub) {
            s_puts(w, "null");
        } else if (sub->descriptor == &oms__v1__decimal__descriptor) {
            s_fixed128(w, ((const Oms__V1__Decimal *)sub)->e8, 8);
        } else if (sub->descriptor == &oms__v1__decimal128__descriptor) {
            const Oms__V1__Decimal128 *d = (const Oms__V1__Decimal128 *)sub;
            __int128 v = (__int128)(((unsigned __int128)(uint64_t)d->e16_hi << 64) | d->e16_lo);
            s_fixed128(w, v, 16);
        } else {
            s_message(w, sub, depth + 1);
        }
        break;
    }
    default:
        s_puts(w, "null");
        break;
    }
}

/* True when a proto3 singular field holds its default (and so is not printed). */
static bool s_is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)p == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_ENUM:
        return *(const int *)p == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    default:
        return true;
    }
}

static size_t s_elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static void s_message(jw_t *w, const ProtobufCMessage *m, int depth)
{
    if (depth > JSON_DEPTH_MAX) {
        w->full = true; /* cannot happen with this schema; never loop on a malicious one */
        return;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    bool first = true;
    s_putc(w, '{');
    for (unsigned i = 0; i < d->n_fields && !w->full; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *p = s_at(m, f->offset);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)s_at(m, f->quantifier_offset);
            if (n == 0)
                continue;
            if (!first)
                s_putc(w, ',');
            first = false;
            s_string(w, f->name);
            s_put(w, ":[", 2);
            const char *arr = *(char *const *)p;
            size_t es = s_elem_size(f);
            for (size_t k = 0; k < n && !w->full; k++) {
                if (k)
                    s_putc(w, ',');
                s_value(w, f, arr + k * es, depth);
            }
            s_putc(w, ']');
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)s_at(m, f->quantifier_offset);
            if (which != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)s_at(m, f->quantifier_offset))
                continue;
        } else if (s_is_default(f, p)) {
            continue;
        }
        if (!first)
            s_putc(w, ',');
        first = false;
        s_string(w, f->name);
        s_putc(w, ':');
        s_value(w, f, p, depth);
    }
    s_putc(w, '}');
}

/* ---- lookup by name ------------------------------------------------------------------------- */

typedef struct {
    const ProtobufCMessageDescriptor *seen[JSON_SEARCH_MAX]; /* visited, to stop on cycles */
    unsigned n;                                              /* how many */
} search_t;

static const ProtobufCMessageDescriptor *s_find(search_t *s, const ProtobufCMessageDescriptor *d,
                                                const char *name, int depth)
{
    if (depth > JSON_DEPTH_MAX)
        return NULL;
    for (unsigned i = 0; i < s->n; i++)
        if (s->seen[i] == d)
            return NULL;
    if (s->n == JSON_SEARCH_MAX)
        return NULL;
    s->seen[s->n++] = d;
    if (strcmp(d->name, name) == 0)
        return d;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const ProtobufCMessageDescriptor *r = s_find(s, f->descriptor, name, depth + 1);
        if (r)
            return r;
    }
    return NULL;
}

static const ProtobufCMessageDescriptor *s_lookup(const char *type_name)
{
    search_t s;
    s.n = 0;
    for (size_t i = 0; i < sizeof s_roots / sizeof s_roots[0]; i++) {
        const ProtobufCMessageDescriptor *d = s_find(&s, s_roots[i], type_name, 0);
        if (d)
            return d;
    }
    return NULL;
}

int codec_json(const char *type_name, const uint8_t *bytes, size_t len, char *out, size_t cap,
               size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!type_name || !out || cap == 0 || (!bytes && len))
        return OMS_ERR_INVALID;
    out[0] = '\0';
    const ProtobufCMessageDescriptor *d = s_lookup(type_name);
    if (!d)
        return OMS_ERR_INVALID;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, bytes);
    if (!m)
        return OMS_ERR_DECODE;
    jw_t w = {.p = out, .n = 0, .cap = cap, .full = false};
    s_message(&w, m, 0);
    protobuf_c_message_free_unpacked(m, NULL);
    if (w.full) {
        out[0] = '\0';
        return OMS_ERR_LIMIT;
    }
    out[w.n] = '\0';
    if (out_len)
        *out_len = w.n;
    return 0;
}
