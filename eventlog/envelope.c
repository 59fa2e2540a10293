/*
 * envelope.c - the event envelope's wire form: encode (writer), parse and check (readers).
 *
 * The envelope is oms.v1.EventEnvelope in protobuf wire format. It is encoded and parsed here by
 * hand rather than through protobuf-c because it sits on the two hottest paths of the log
 * (append and verify) and both must run without allocating: parse returns slices into the
 * stored bytes. tests/test_eventlog.c proves the bytes are exactly what protobuf-c produces for
 * the same envelope and that protobuf-c decodes them, so the two can never drift apart silently.
 *
 * Fields (numbers fixed by proto/oms/v1/envelope.proto), in this order on the wire:
 *   1 seq (varint)  2 ts_ns (varint, int64)  3 principal  4 command_id  5 order_id
 *   7 event (bytes)  14 prev_hash (32 bytes)  15 hash (32 bytes, always last)
 * (6 was prev_hash until schema version 2: reserved, refused; 8..13 reserved.)
 *
 * The writer encodes in two steps: the head (fields 1..7), which does not depend on the chain,
 * then the close (prev_hash, the hash over everything before field 15, the hash field), so the
 * head's whole blocks can be hashed for many envelopes at once (oms_hash_absorb_many) before the
 * chain reaches them.
 */
#include "evlog_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static size_t s_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint at *pos; 0, or -1 if truncated or longer than 10 bytes. Tags and lengths are
 * mostly one byte: that case first (verify parses every envelope of the log). */
static inline int s_get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    if (*pos < len && p[*pos] < 0x80) {
        *out = p[(*pos)++];
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t b = p[(*pos)++];
        if (i == 9 && b > 1)
            return -1; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static size_t s_put_bytes(uint8_t *p, uint8_t tag, const void *data, size_t len)
{
    size_t n = 0;
    p[n++] = tag;
    n += s_put_varint(p + n, len);
    memcpy(p + n, data, len);
    return n + len;
}

size_t evlog_envelope_max_len(size_t principal_len, size_t command_id_len, size_t order_id_len,
                              size_t body_len)
{
    /* each field: 1 tag byte + at most 10 varint bytes + payload */
    return 11 + 11 + (11 + principal_len) + (11 + command_id_len) + (11 + order_id_len) +
           (2 + OMS_HASH_LEN) + (11 + body_len) + EVLOG_HASH_FIELD_LEN;
}

size_t evlog_envelope_encode_head(uint8_t *out, uint64_t seq, const evlog_event_t *ev,
                                  size_t principal_len, size_t command_id_len,
                                  size_t order_id_len)
{
    size_t n = 0;
    if (seq != 0) {
        out[n++] = 0x08;
        n += s_put_varint(out + n, seq);
    }
    if (ev->ts_ns != 0) {
        out[n++] = 0x10;
        n += s_put_varint(out + n, (uint64_t)ev->ts_ns);
    }
    if (principal_len)
        n += s_put_bytes(out + n, 0x1a, ev->principal, principal_len);
    if (command_id_len)
        n += s_put_bytes(out + n, 0x22, ev->command_id, command_id_len);
    if (order_id_len)
        n += s_put_bytes(out + n, 0x2a, ev->order_id, order_id_len);
    if (ev->body_len)
        n += s_put_bytes(out + n, 0x3a, ev->body, ev->body_len);
    return n;
}

size_t evlog_envelope_close(uint8_t *out, size_t head_len, const oms_hash_mid_t *mid,
                            const oms_hash_t *prev, oms_hash_t *hash_out)
{
    assert(mid->t <= head_len && mid->t % 128 == 0);
    size_t n = head_len + s_put_bytes(out + head_len, 0x72, prev->bytes, OMS_HASH_LEN);
    oms_hash_finish(mid, out + mid->t, n - (size_t)mid->t, hash_out);
    n += s_put_bytes(out + n, 0x7a, hash_out->bytes, OMS_HASH_LEN);
    return n;
}

/* The layout this writer produces (evlog_envelope_encode_head, then evlog_envelope_close):
 * fields 1, 2, 3, 4, 5, 7, each optional, in that order, then field 14 and field 15 with their
 * 32 bytes. Parses it into rec (zeroed by the caller) with one test per field and returns 1, or
 * returns 0 for anything else, which the general loop then parses or refuses: an envelope this
 * accepts is one the general loop accepts with the same result (the same bytes read at the
 * same positions in the same order), so it only saves the loop's generality. */
static int s_parse_canonical(const uint8_t *v, size_t len, evlog_record_t *rec)
{
    if (len < 2 * EVLOG_HASH_FIELD_LEN)
        return 0;
    size_t end = len - 2 * EVLOG_HASH_FIELD_LEN; /* where field 14 starts */
    if (v[end] != 0x72 || v[end + 1] != OMS_HASH_LEN || v[len - EVLOG_HASH_FIELD_LEN] != 0x7a ||
        v[len - EVLOG_HASH_FIELD_LEN + 1] != OMS_HASH_LEN)
        return 0;
    size_t pos = 0;
    uint64_t x;
    if (pos < end && v[pos] == 0x08) {
        pos++;
        if (s_get_varint(v, end, &pos, &x) != 0)
            return 0;
        rec->seq = x;
    }
    if (pos < end && v[pos] == 0x10) {
        pos++;
        if (s_get_varint(v, end, &pos, &x) != 0)
            return 0;
        rec->ts_ns = (int64_t)x;
    }
    static const uint8_t k_tags[4] = {0x1a, 0x22, 0x2a, 0x3a}; /* fields 3, 4, 5, 7 */
    const uint8_t *data[4] = {NULL, NULL, NULL, NULL};
    size_t dlen[4] = {0, 0, 0, 0};
    for (unsigned k = 0; k < 4; k++) {
        if (pos < end && v[pos] == k_tags[k]) {
            pos++;
            if (s_get_varint(v, end, &pos, &x) != 0 || x > end - pos)
                return 0;
            data[k] = v + pos;
            dlen[k] = (size_t)x;
            pos += (size_t)x;
        }
    }
    if (pos != end || rec->seq == 0)
        return 0;
    rec->principal = (const char *)data[0];
    rec->principal_len = dlen[0];
    rec->command_id = (const char *)data[1];
    rec->command_id_len = dlen[1];
    rec->order_id = (const char *)data[2];
    rec->order_id_len = dlen[2];
    rec->body = data[3];
    rec->body_len = dlen[3];
    rec->prev_hash = v + end + 2;
    rec->hash = v + len - OMS_HASH_LEN;
    rec->hashed_len = len - EVLOG_HASH_FIELD_LEN;
    return 1;
}

int evlog_record_parse(const uint8_t *v, size_t len, evlog_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    if (v == NULL || len < EVLOG_HASH_FIELD_LEN)
        return OMS_ERR_CORRUPT;
    if (s_parse_canonical(v, len, rec))
        return 0;
    memset(rec, 0, sizeof *rec);
    uint32_t seen = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t field_start = pos;
        uint64_t key;
        if (s_get_varint(v, len, &pos, &key) != 0)
            return OMS_ERR_CORRUPT;
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 0 || field > 536870911u)
            return OMS_ERR_CORRUPT;
        if (field <= 15) {
            if (seen & (1u << field))
                return OMS_ERR_CORRUPT; /* a repeated header field is never written */
            seen |= 1u << field;
        }
        uint64_t num = 0;
        const uint8_t *data = NULL;
        switch (wt) {
        case WT_VARINT:
            if (s_get_varint(v, len, &pos, &num) != 0)
                return OMS_ERR_CORRUPT;
            break;
        case WT_I64:
            if (len - pos < 8)
                return OMS_ERR_CORRUPT;
            pos += 8;
            break;
        case WT_I32:
            if (len - pos < 4)
                return OMS_ERR_CORRUPT;
            pos += 4;
            break;
        case WT_LEN:
            if (s_get_varint(v, len, &pos, &num) != 0 || num > len - pos)
                return OMS_ERR_CORRUPT;
            data = v + pos;
            pos += (size_t)num;
            break;
        default:
            return OMS_ERR_CORRUPT; /* groups and invalid wire types */
        }
        bool want_varint = field == 1 || field == 2;
        bool want_len = (field >= 3 && field <= 7) || field == 14 || field == 15;
        if ((want_varint && wt != WT_VARINT) || (want_len && wt != WT_LEN))
            return OMS_ERR_CORRUPT;
        switch (field) {
        case 1:
            rec->seq = num;
            break;
        case 2:
            rec->ts_ns = (int64_t)num;
            break;
        case 3:
            rec->principal = (const char *)data;
            rec->principal_len = (size_t)num;
            break;
        case 4:
            rec->command_id = (const char *)data;
            rec->command_id_len = (size_t)num;
            break;
        case 5:
            rec->order_id = (const char *)data;
            rec->order_id_len = (size_t)num;
            break;
        case 6:
            return OMS_ERR_CORRUPT; /* prev_hash's number until schema version 2: never reused */
        case 14:
            if (num != OMS_HASH_LEN)
                return OMS_ERR_CORRUPT;
            rec->prev_hash = data;
            break;
        case 7:
            rec->body = data;
            rec->body_len = (size_t)num;
            break;
        case 15:
            /* The hash closes the envelope: exactly 32 bytes, nothing after it. */
            if (num != OMS_HASH_LEN || pos != len || field_start != len - EVLOG_HASH_FIELD_LEN)
                return OMS_ERR_CORRUPT;
            rec->hash = data;
            rec->hashed_len = field_start;
            break;
        default:
            break; /* unknown (newer) field: skipped, but still covered by the hash */
        }
    }
    if (rec->hash == NULL || rec->prev_hash == NULL || rec->seq == 0)
        return OMS_ERR_CORRUPT;
    return 0;
}

int evlog_record_check(const uint8_t *value, size_t len, uint64_t expect_seq,
                       const oms_hash_t *prev, oms_hash_t *hash_out, char *why, size_t cap)
{
    evlog_record_t rec;
    return evlog_record_check_parse(value, len, expect_seq, prev, hash_out, &rec, why, cap);
}

int evlog_record_check_parse(const uint8_t *value, size_t len, uint64_t expect_seq,
                             const oms_hash_t *prev, oms_hash_t *hash_out, evlog_record_t *out,
                             char *why, size_t cap)
{
    evlog_record_t rec;
    static const oms_hash_t zero;
    if (prev == NULL)
        prev = &zero;
    if (evlog_record_parse(value, len, &rec) != 0) {
        if (why)
            snprintf(why, cap, "seq %llu: envelope is not well-formed",
                     (unsigned long long)expect_seq);
        return OMS_ERR_CORRUPT;
    }
    if (rec.seq != expect_seq) {
        if (why)
            snprintf(why, cap, "seq %llu: envelope says seq %llu", (unsigned long long)expect_seq,
                     (unsigned long long)rec.seq);
        return OMS_ERR_CORRUPT;
    }
    if (memcmp(rec.prev_hash, prev->bytes, OMS_HASH_LEN) != 0) {
        if (why)
            snprintf(why, cap, "seq %llu: prev_hash does not match the previous event's hash",
                     (unsigned long long)expect_seq);
        return OMS_ERR_CORRUPT;
    }
    oms_hash_t h;
    oms_hash(value, rec.hashed_len, &h);
    if (memcmp(h.bytes, rec.hash, OMS_HASH_LEN) != 0) {
        if (why)
            snprintf(why, cap, "seq %llu: hash does not match the envelope's contents",
                     (unsigned long long)expect_seq);
        return OMS_ERR_CORRUPT;
    }
    if (hash_out)
        *hash_out = h;
    if (out)
        *out = rec;
    return 0;
}
