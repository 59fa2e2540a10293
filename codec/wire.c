/*
 * wire.c - the little of the protobuf wire format the codec handles itself, beside protobuf-c:
 * varints (to frame the verbatim command inside a CommandRejected), finding a field's bytes
 * (to point a decoded rejected command at its bytes in the event), and finding NUL bytes in
 * string fields (protobuf allows them; protobuf-c's char * strings silently end at the first).
 */
#include "codec_internal.h"

#include <string.h>

/* Deepest nesting the NUL walk follows; the schema's deepest path is
 * Event > CommandRejected > Command > NewOrder > AllocInstruction > Decimal. */
#define S_MAX_DEPTH 16

size_t cdc_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t cdc_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint at buf[*pos..len); advances *pos. false when truncated or longer than 10. */
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

/* One field of a message: its number, wire type and, for length-delimited ones, its bytes.
 * Returns false when the bytes at *pos are not a well-formed field (groups included: the schema
 * has none and protobuf-c does not accept them). */
static bool s_next_field(const uint8_t *buf, size_t len, size_t *pos, uint32_t *num,
                         const uint8_t **data, size_t *dlen)
{
    uint64_t key, v;
    if (!s_get_varint(buf, len, pos, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
        return false;
    *num = (uint32_t)(key >> 3);
    *data = NULL;
    *dlen = 0;
    switch (key & 7) {
    case 0:
        return s_get_varint(buf, len, pos, &v);
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
        if (!s_get_varint(buf, len, pos, &v) || v > len - *pos)
            return false;
        *data = buf + *pos;
        *dlen = (size_t)v;
        *pos += (size_t)v;
        return true;
    default:
        return false;
    }
}

int cdc_find_field(const uint8_t *buf, size_t len, uint32_t field, const uint8_t **data,
                   size_t *dlen)
{
    int count = 0;
    size_t pos = 0;
    while (pos < len) {
        uint32_t num;
        const uint8_t *d;
        size_t n;
        if (!s_next_field(buf, len, &pos, &num, &d, &n))
            return -1;
        if (num == field && d) {
            *data = d;
            *dlen = n;
            count++;
        }
    }
    return count;
}

static int s_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                      const ProtobufCMessageDescriptor *skip, int depth, cdc_nul_t *hit)
{
    if (depth > S_MAX_DEPTH)
        return -1;
    int found = 0;
    size_t pos = 0;
    while (pos < len) {
        uint32_t num;
        const uint8_t *d;
        size_t n;
        if (!s_next_field(buf, len, &pos, &num, &d, &n))
            return -1;
        if (!d)
            continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, num);
        if (!f)
            continue;
        if (f->type == PROTOBUF_C_TYPE_STRING && n && memchr(d, 0, n)) {
            if (!hit->msg) {
                hit->msg = desc;
                hit->field = f;
            }
            if (depth == 0 && num < 32)
                hit->root_mask |= 1u << num;
            found = 1;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor != skip) {
            int rc = s_find_nul(f->descriptor, d, n, skip, depth + 1, hit);
            if (rc < 0)
                return rc;
            found |= rc;
        }
    }
    return found;
}

int cdc_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                 const ProtobufCMessageDescriptor *skip, cdc_nul_t *hit)
{
    memset(hit, 0, sizeof *hit);
    return s_find_nul(desc, buf, len, skip, 0, hit);
}
