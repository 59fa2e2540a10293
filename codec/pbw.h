/*
 * pbw.h - a minimal protobuf wire-format writer for the codec's hand-written encoders of the hot
 * messages (events, projection rows, command replies). It writes exactly what protobuf-c writes
 * for proto3 fields: fields in the order the encoder emits them (the encoders emit them in
 * ascending field number, as protobuf-c does), scalar defaults (0, false, "") omitted, a present
 * sub-message always framed (even when empty), repeated strings always written, int32 and enum
 * values sign-extended to ten bytes when negative, sint64 zig-zagged.
 *
 * Bounds: every write checks the space left; the first one that does not fit sets `err` and
 * every later write is skipped, so an encoder only checks once at its end. The writer never
 * allocates and never writes past `end`. tests/test_codec_fast.c proves the encoders built on
 * it produce the same bytes as protobuf-c for many randomised values.
 */
#ifndef OMS_CODEC_PBW_H
#define OMS_CODEC_PBW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint8_t *p;   /* next byte to write */
    uint8_t *end; /* one past the last writable byte */
    bool err;     /* a write did not fit (sticky) */
} pbw_t;

enum { PBW_VARINT = 0, PBW_LEN = 2 };

/* A writer over buf[cap] (the caller's; nothing is allocated). Cannot fail. */
static inline void pbw_init(pbw_t *w, uint8_t *buf, size_t cap)
{
    w->p = buf;
    w->end = buf + cap;
    w->err = false;
}

/* True when n more bytes fit; otherwise marks the writer failed. */
static inline bool pbw_room(pbw_t *w, size_t n)
{
    if (w->err || (size_t)(w->end - w->p) < n) {
        w->err = true;
        return false;
    }
    return true;
}

/* Raw varint, the caller having checked room for 10 bytes. */
static inline void pbw_raw_varint(pbw_t *w, uint64_t v)
{
    uint8_t *p = w->p;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    w->p = p;
}

/* Bytes the varint of v takes (1..10). */
static inline size_t pbw_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A field key; room for it (at most 5 bytes) is the caller's. */
static inline void pbw_raw_tag(pbw_t *w, uint32_t field, unsigned wt)
{
    pbw_raw_varint(w, ((uint64_t)field << 3) | wt);
}

/* uint64 / uint32 field: omitted when 0. */
static inline void pbw_u64(pbw_t *w, uint32_t field, uint64_t v)
{
    if (v == 0 || !pbw_room(w, 15))
        return;
    pbw_raw_tag(w, field, PBW_VARINT);
    pbw_raw_varint(w, v);
}

/* int64 field: two's complement as a varint (10 bytes when negative); omitted when 0. */
static inline void pbw_i64(pbw_t *w, uint32_t field, int64_t v)
{
    pbw_u64(w, field, (uint64_t)v);
}

/* int32 and enum fields: sign-extended to 64 bits, as protobuf-c packs them; omitted when 0. */
static inline void pbw_i32(pbw_t *w, uint32_t field, int32_t v)
{
    pbw_u64(w, field, (uint64_t)(int64_t)v);
}

/* bool field: 1 when set; omitted when false. */
static inline void pbw_bool(pbw_t *w, uint32_t field, bool v)
{
    if (!v || !pbw_room(w, 6))
        return;
    pbw_raw_tag(w, field, PBW_VARINT);
    *w->p++ = 1;
}

/* Length-delimited bytes, always written (repeated strings, bytes of a framed field). */
static inline void pbw_bytes(pbw_t *w, uint32_t field, const void *s, size_t n)
{
    if (!pbw_room(w, 15 + n))
        return;
    pbw_raw_tag(w, field, PBW_LEN);
    pbw_raw_varint(w, n);
    memcpy(w->p, s, n);
    w->p += n;
}

/* proto3 string field: omitted when empty. */
static inline void pbw_str(pbw_t *w, uint32_t field, const char *s)
{
    size_t n = strlen(s);
    if (n)
        pbw_bytes(w, field, s, n);
}

/* Opens a sub-message: its key and a one-byte length placeholder. Returns where its content
 * starts (NULL after a failure); pass that to pbw_end. */
static inline uint8_t *pbw_begin(pbw_t *w, uint32_t field)
{
    if (!pbw_room(w, 6))
        return NULL;
    pbw_raw_tag(w, field, PBW_LEN);
    w->p++;
    return w->p;
}

/* Closes a sub-message opened at start: writes its length, moving the content up when the
 * length takes more than one byte. */
static inline void pbw_end(pbw_t *w, uint8_t *start)
{
    if (w->err || !start)
        return;
    size_t n = (size_t)(w->p - start);
    if (n < 0x80) {
        start[-1] = (uint8_t)n;
        return;
    }
    size_t extra = pbw_varint_size(n) - 1;
    if (!pbw_room(w, extra))
        return;
    memmove(start + extra, start, n);
    pbw_t t = {start - 1, start + extra, false};
    pbw_raw_varint(&t, n);
    w->p += extra;
}

/* sint64's zig-zag form: small magnitudes, either sign, give small varints. */
static inline uint64_t pbw_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* A present oms.v1.Decimal {sint64 e8 = 1} as field `field`. */
static inline void pbw_dec(pbw_t *w, uint32_t field, int64_t e8)
{
    if (!pbw_room(w, 5 + 1 + 11))
        return;
    pbw_raw_tag(w, field, PBW_LEN);
    if (e8 == 0) {
        *w->p++ = 0;
        return;
    }
    uint8_t *len = w->p++;
    *w->p++ = 0x08;
    uint8_t *s = w->p;
    pbw_raw_varint(w, pbw_zigzag(e8));
    *len = (uint8_t)(1 + (w->p - s));
}

/* An oms.v1.Decimal128 {sint64 e16_hi = 1; uint64 e16_lo = 2}, always present. */
static inline void pbw_dec128(pbw_t *w, uint32_t field, int64_t hi, uint64_t lo)
{
    if (!pbw_room(w, 5 + 1 + 22))
        return;
    pbw_raw_tag(w, field, PBW_LEN);
    uint8_t *len = w->p++;
    uint8_t *s = w->p;
    if (hi) {
        *w->p++ = 0x08;
        pbw_raw_varint(w, pbw_zigzag(hi));
    }
    if (lo) {
        *w->p++ = 0x10;
        pbw_raw_varint(w, lo);
    }
    *len = (uint8_t)(w->p - s);
}

#endif /* OMS_CODEC_PBW_H */
