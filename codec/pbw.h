/*
 * pbw.h - a minimal protobuf wire-format writer for the codec's hand-written encoders of the hot
 * messages (events, projection rows, command replies). It writes exactly what protobuf-c writes
 * for proto3 fields: fields in the order the encoder emits them (the encoders emit them in
 * ascending field number, as protobuf-c does), scalar defaults (0, false, "") omitted, a present
 * sub-message always framed (even when empty), repeated strings always written, int32 and enum
 * values sign-extended to ten bytes when negative, sint64 zig-zagged.
 *
 * Bounds: every write checks the space left; the first one that does not fit sets `err` (and
 * empties the space left, so every later write is skipped by the same single check), so an
 * encoder only checks once at its end. The writer never allocates and never writes past `end`;
 * a varint value may be stored as a whole 8-byte word, so bytes after `p` (within `end`) hold
 * scratch until they are written: only [buffer start, p) is the output. tests/test_codec_fast.c
 * proves the encoders built on it produce the same bytes as protobuf-c for many randomised
 * values.
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

/* Every helper is inlined into its encoder: field numbers are then constants, so a key is one
 * or two immediate stores, and the room checks of neighbouring fields share registers. */
#define PBW_INLINE static inline __attribute__((always_inline))

/* A writer over buf[cap] (the caller's; nothing is allocated). Cannot fail. */
PBW_INLINE void pbw_init(pbw_t *w, uint8_t *buf, size_t cap)
{
    w->p = buf;
    w->end = buf + cap;
    w->err = false;
}

/* True when n (>= 1) more bytes fit; otherwise marks the writer failed, leaving no room so that
 * every later call fails too. */
PBW_INLINE bool pbw_room(pbw_t *w, size_t n)
{
    if ((size_t)(w->end - w->p) < n) {
        w->err = true;
        w->end = w->p;
        return false;
    }
    return true;
}

/* Raw varint, the caller having checked room for 10 bytes. */
PBW_INLINE void pbw_raw_varint(pbw_t *w, uint64_t v)
{
    uint8_t *p = w->p;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    w->p = p;
}

/* Raw varint, the caller having checked room for 10 bytes after p: the same bytes as
 * pbw_raw_varint, but values below 2^63 are spread into 7-bit groups and stored as one 8-byte
 * word (plus a ninth byte), so up to 8 bytes after the varint's end are overwritten with
 * scratch. Only where nothing after p is kept (not for a sub-message's length, see pbw_end). */
PBW_INLINE void pbw_raw_varint_w(pbw_t *w, uint64_t v)
{
    uint8_t *p = w->p;
    if (v < 0x80) {
        *p = (uint8_t)v;
        w->p = p + 1;
        return;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (v < (1ull << 63)) {
        /* the low 56 bits in 7-bit groups, one per byte (28-, 14-, 7-bit lanes) */
        uint64_t x = (v & 0x000000000fffffffull) | (v << 4 & 0x0fffffff00000000ull);
        x = (x & 0x00003fff00003fffull) | (x << 2 & 0x3fff00003fff0000ull);
        x = (x & 0x007f007f007f007full) | (x << 1 & 0x7f007f007f007f00ull);
        unsigned bits = 64u - (unsigned)__builtin_clzll(v); /* 8..63 */
        unsigned n = (bits * 9 + 64) >> 6;                  /* bytes: 2..9 */
        if (n <= 8) {
            x |= 0x8080808080808080ull & ((1ull << (8 * (n - 1))) - 1); /* all but the last */
            memcpy(p, &x, sizeof x);
        } else {
            x |= 0x8080808080808080ull;
            memcpy(p, &x, sizeof x);
            p[8] = (uint8_t)(v >> 56);
        }
        w->p = p + n;
        return;
    }
#endif
    pbw_raw_varint(w, v);
}

/* Bytes the varint of v takes (1..10). */
PBW_INLINE size_t pbw_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A field key; room for it (at most 5 bytes) is the caller's. Keys of fields below 2048 (all of
 * oms.v1's) are one or two bytes, written without a loop (field is a constant in every caller). */
PBW_INLINE void pbw_raw_tag(pbw_t *w, uint32_t field, unsigned wt)
{
    uint64_t k = ((uint64_t)field << 3) | wt;
    if (k < 0x80) {
        *w->p++ = (uint8_t)k;
    } else if (k < 0x4000) {
        w->p[0] = (uint8_t)(k | 0x80);
        w->p[1] = (uint8_t)(k >> 7);
        w->p += 2;
    } else {
        pbw_raw_varint(w, k);
    }
}

/* uint64 / uint32 field: omitted when 0. */
PBW_INLINE void pbw_u64(pbw_t *w, uint32_t field, uint64_t v)
{
    if (v == 0 || !pbw_room(w, 15))
        return;
    pbw_raw_tag(w, field, PBW_VARINT);
    pbw_raw_varint_w(w, v);
}

/* int64 field: two's complement as a varint (10 bytes when negative); omitted when 0. */
PBW_INLINE void pbw_i64(pbw_t *w, uint32_t field, int64_t v)
{
    pbw_u64(w, field, (uint64_t)v);
}

/* int32 and enum fields: sign-extended to 64 bits, as protobuf-c packs them; omitted when 0. */
PBW_INLINE void pbw_i32(pbw_t *w, uint32_t field, int32_t v)
{
    pbw_u64(w, field, (uint64_t)(int64_t)v);
}

/* bool field: 1 when set; omitted when false. */
PBW_INLINE void pbw_bool(pbw_t *w, uint32_t field, bool v)
{
    if (!v || !pbw_room(w, 6))
        return;
    pbw_raw_tag(w, field, PBW_VARINT);
    *w->p++ = 1;
}

/* Copies n bytes; up to 16 (ids) in two overlapping loads and stores, without a library call. */
PBW_INLINE void pbw_copy(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 16) {
        memcpy(d, s, n);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* Length-delimited bytes, always written (repeated strings, bytes of a framed field). */
PBW_INLINE void pbw_bytes(pbw_t *w, uint32_t field, const void *s, size_t n)
{
    if (!pbw_room(w, 15 + n))
        return;
    pbw_raw_tag(w, field, PBW_LEN);
    pbw_raw_varint_w(w, n);
    pbw_copy(w->p, s, n);
    w->p += n;
}

/* proto3 string field: omitted when empty. */
PBW_INLINE void pbw_str(pbw_t *w, uint32_t field, const char *s)
{
    size_t n = strlen(s);
    if (n)
        pbw_bytes(w, field, s, n);
}

/* Opens a sub-message: its key and a one-byte length placeholder. Returns where its content
 * starts (NULL after a failure); pass that to pbw_end. */
PBW_INLINE uint8_t *pbw_begin(pbw_t *w, uint32_t field)
{
    if (!pbw_room(w, 6))
        return NULL;
    pbw_raw_tag(w, field, PBW_LEN);
    w->p++;
    return w->p;
}

/* Closes a sub-message opened at start: writes its length, moving the content up when the
 * length takes more than one byte. */
PBW_INLINE void pbw_end(pbw_t *w, uint8_t *start)
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
PBW_INLINE uint64_t pbw_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* A present oms.v1.Decimal {sint64 e8 = 1} as field `field`. */
PBW_INLINE void pbw_dec(pbw_t *w, uint32_t field, int64_t e8)
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
    pbw_raw_varint_w(w, pbw_zigzag(e8));
    *len = (uint8_t)(1 + (w->p - s));
}

/* An oms.v1.Decimal128 {sint64 e16_hi = 1; uint64 e16_lo = 2}, always present. */
PBW_INLINE void pbw_dec128(pbw_t *w, uint32_t field, int64_t hi, uint64_t lo)
{
    if (!pbw_room(w, 5 + 1 + 22))
        return;
    pbw_raw_tag(w, field, PBW_LEN);
    uint8_t *len = w->p++;
    uint8_t *s = w->p;
    if (hi) {
        *w->p++ = 0x08;
        pbw_raw_varint_w(w, pbw_zigzag(hi));
    }
    if (lo) {
        *w->p++ = 0x10;
        pbw_raw_varint_w(w, lo);
    }
    *len = (uint8_t)(w->p - s);
}

#endif /* OMS_CODEC_PBW_H */
