/*
 * hash_many.c - BLAKE2b-256 (unkeyed, exactly oms_hash) of many independent messages at once,
 * one message per SIMD lane: 8 lanes with AVX-512, 4 with AVX2, else one at a time through
 * oms_hash (libsodium). Two uses:
 *   oms_hash_many         whole messages: the audit replay's pass over the log (replay/pass.c),
 *                         where every envelope's hash covers only its own bytes;
 *   oms_hash_absorb_many  the first whole blocks of messages, as states (oms_hash_mid_t) that
 *   + oms_hash_finish     oms_hash_finish completes one at a time: the event log's writer,
 *                         whose envelopes carry the previous envelope's hash in their last
 *                         hashed bytes (field 14), so only each envelope's last block or two
 *                         wait for the chain; the blocks before it are hashed 8 at a time.
 *
 * Why: libsodium hashes one message at a time; its compression is a chain of dependent
 * operations, so a core sits mostly idle waiting on latencies. Eight messages side by side fill
 * the vector units with independent work: about a third of the time per envelope on the
 * reference machine (AMD EPYC, AVX-512).
 *
 * How: each lane takes the next message when its current one is done (messages of different
 * lengths keep every lane busy); per 128-byte block the lanes' message words are transposed
 * into one vector per word, the compression runs on vectors, and the state of lanes with no
 * block this step is left as it was. The BLAKE2b definition (RFC 7693): parameter block for a
 * 32-byte digest without key, 12 rounds, the counter in bytes, the final block zero-padded and
 * flagged. test_replay compares every implementation with oms_hash on thousands of lengths.
 *
 * Nothing here allocates or fails; memory is the caller's.
 */
#include "oms_core.h"

#include <assert.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HASH_MANY_X86 1
#endif

static const uint64_t k_iv[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

static const uint8_t k_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

/* The first state word after the parameter block: digest length 32, no key, fanout 1, depth 1. */
#define H0_PARAM (k_iv[0] ^ 0x01010000ull ^ OMS_HASH_LEN)

/* The little-endian 64-bit word at p (any alignment). */
static uint64_t s_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian, as BLAKE2b's words are */
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

/* ---- one block at a time, portable C (oms_hash_finish, OMS_HASH_IMPL_ONE's absorb) ---- */

static uint64_t s_ror64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

/* Compresses one 128-byte block, as its 16 message words m, into h: t is the byte count
 * including this block, last marks the message's final block (RFC 7693, F). */
static void s_compress1m(uint64_t h[8], const uint64_t m[16], uint64_t t, bool last)
{
    uint64_t v[16];
    for (unsigned i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = k_iv[i];
    }
    v[12] ^= t;
    if (last)
        v[14] = ~v[14];
#define G1(a, b, c, d, x, y)                                                                       \
    do {                                                                                           \
        a = a + b + (x);                                                                           \
        d = s_ror64(d ^ a, 32);                                                                    \
        c = c + d;                                                                                 \
        b = s_ror64(b ^ c, 24);                                                                    \
        a = a + b + (y);                                                                           \
        d = s_ror64(d ^ a, 16);                                                                    \
        c = c + d;                                                                                 \
        b = s_ror64(b ^ c, 63);                                                                    \
    } while (0)
    /* Unrolled, so the message schedule's indices are constants and m stays in registers. */
#pragma GCC unroll 12
    for (unsigned r = 0; r < 12; r++) {
        const uint8_t *sg = k_sigma[r];
        G1(v[0], v[4], v[8], v[12], m[sg[0]], m[sg[1]]);
        G1(v[1], v[5], v[9], v[13], m[sg[2]], m[sg[3]]);
        G1(v[2], v[6], v[10], v[14], m[sg[4]], m[sg[5]]);
        G1(v[3], v[7], v[11], v[15], m[sg[6]], m[sg[7]]);
        G1(v[0], v[5], v[10], v[15], m[sg[8]], m[sg[9]]);
        G1(v[1], v[6], v[11], v[12], m[sg[10]], m[sg[11]]);
        G1(v[2], v[7], v[8], v[13], m[sg[12]], m[sg[13]]);
        G1(v[3], v[4], v[9], v[14], m[sg[14]], m[sg[15]]);
    }
#undef G1
    for (unsigned i = 0; i < 8; i++)
        h[i] ^= v[i] ^ v[i + 8];
}

/* The words of a message's last block p[rest] (rest <= 128), zero-padded, into m[0], m[stride],
 * ... m[15 * stride]. Read in place, never past p + rest: copying the tail into a zeroed
 * block on the stack and reading it back in words stalled on store forwarding (a 16-31 byte
 * tail is copied by two overlapping 16-byte stores that the 8-byte loads straddle): messages
 * with such tails hashed in twice the time. Always inlined, also into the AVX2 lanes' code (see
 * the step helpers below). */
static inline __attribute__((always_inline)) void s_last_block(const uint8_t *p, size_t rest,
                                                                uint64_t *m, unsigned stride)
{
    unsigned full = (unsigned)(rest / 8), w = 0;
    for (; w < full; w++)
        m[w * stride] = s_le64(p + 8 * w);
    size_t k = rest - 8 * (size_t)full; /* bytes of the partial word, 0..7 */
    if (k) {
        uint64_t v = 0;
        if (rest >= 8) { /* the message's last 8 bytes end with the partial word's k */
            v = s_le64(p + rest - 8) >> (8 * (8 - k));
        } else {
            for (size_t b = 0; b < k; b++)
                v |= (uint64_t)p[b] << (8 * b);
        }
        m[w++ * stride] = v;
    }
    for (; w < 16; w++)
        m[w * stride] = 0;
}

/* s_compress1m on the block's 16 little-endian words. */
static void s_compress1(uint64_t h[8], const uint8_t block[128], uint64_t t, bool last)
{
    uint64_t m[16];
    for (unsigned i = 0; i < 16; i++)
        m[i] = s_le64(block + 8 * i);
    s_compress1m(h, m, t, last);
}

static void s_mid_init(oms_hash_mid_t *mid)
{
    for (unsigned i = 0; i < 8; i++)
        mid->h[i] = i ? k_iv[i] : H0_PARAM;
    mid->t = 0;
}

void oms_hash_finish(const oms_hash_mid_t *mid, const uint8_t *rest, size_t len, oms_hash_t *out)
{
    assert(mid != NULL && out != NULL && (rest != NULL || len == 0));
    assert(len > 0 || mid->t == 0); /* blocks were absorbed: the last one is still to come */
    uint64_t h[8], t = mid->t;
    memcpy(h, mid->h, sizeof h);
    while (len > 128) {
        t += 128;
        s_compress1(h, rest, t, false);
        rest += 128;
        len -= 128;
    }
    uint64_t m[16];
    s_last_block(rest, len, m, 1);
    t += len;
    s_compress1m(h, m, t, true);
    for (unsigned w = 0; w < OMS_HASH_LEN / 8; w++)
        for (unsigned b = 0; b < 8; b++)
            out->bytes[8 * w + b] = (uint8_t)(h[w] >> (8 * b));
}

#ifdef HASH_MANY_X86

#define MAX_LANES 8

/* Which message each lane works on, and the block it is at. In absorb mode (mid != NULL) every
 * block is a whole, non-final one and the lanes give states instead of digests. */
typedef struct {
    size_t n, next;            /* messages, and the next one no lane has taken */
    const uint8_t *const *msg; /* the messages */
    const size_t *len;         /* their lengths (digest mode) */
    const uint32_t *nblk;      /* their blocks to absorb (absorb mode) */
    oms_hash_t *out;           /* their digests (digest mode) */
    oms_hash_mid_t *mid;       /* their states (absorb mode) */
    size_t cur[MAX_LANES];     /* the lane's message, or SIZE_MAX when idle */
    size_t off[MAX_LANES];     /* the offset of its next block */
} lanes_t;

/* The byte length a lane works through for message i. */
static size_t s_span(const lanes_t *s, size_t i)
{
    return s->mid ? (size_t)s->nblk[i] * 128 : s->len[i];
}

/* The step helpers below are always inlined into the AVX functions: called as functions
 * compiled for plain x86-64 (SSE), with the vector registers' upper halves in use, every step
 * paid the SSE/AVX state transition: a third of the hashing time (8 lanes: 138 -> 87 ns per
 * 2-block message, 4 lanes: 241 -> 153 ns). */

/* Prepares one step: for each of `lanes` lanes, the next block of its message (a lane whose
 * message is done takes the next message: its bit in *fresh). Gives each lane's block as p[l]
 * and its byte count nb[l] (128 for a whole block, 0 to 128 for a message's last, to be
 * zero-padded; 0 for an idle lane), their byte counters t and final flags f. Returns the mask
 * of lanes with a block this step (0: every message is done). */
#define STEP_INLINE static inline __attribute__((always_inline))

STEP_INLINE unsigned s_step_in(lanes_t *s, unsigned lanes, const uint8_t **p, unsigned *nb,
                               uint64_t *t, uint64_t *f, unsigned *fresh)
{
    unsigned active = 0;
    *fresh = 0;
    for (unsigned l = 0; l < lanes; l++) {
        while (s->cur[l] == SIZE_MAX && s->mid && s->next < s->n && s->nblk[s->next] == 0)
            s_mid_init(&s->mid[s->next++]); /* nothing to absorb: the initial state */
        if (s->cur[l] == SIZE_MAX && s->next < s->n) {
            s->cur[l] = s->next++;
            s->off[l] = 0;
            *fresh |= 1u << l;
        }
        if (s->cur[l] == SIZE_MAX) {
            p[l] = NULL;
            nb[l] = 0;
            t[l] = f[l] = 0;
            continue;
        }
        active |= 1u << l;
        p[l] = s->msg[s->cur[l]] + s->off[l];
        size_t rest = s_span(s, s->cur[l]) - s->off[l];
        if (rest > 128 || s->mid) { /* a full block with more after it */
            nb[l] = 128;
            t[l] = s->off[l] + 128;
            f[l] = 0;
        } else { /* the last block (empty for an empty message), zero-padded */
            nb[l] = (unsigned)rest;
            t[l] = s->len[s->cur[l]];
            f[l] = ~0ull;
        }
    }
    return active;
}

/* The lanes' message words of one step, transposed (m[word * lanes + lane]), read with scalar
 * loads (the AVX2 path). */
STEP_INLINE void s_gather_words(unsigned lanes, const uint8_t *const *p, const unsigned *nb,
                                uint64_t *m)
{
    for (unsigned l = 0; l < lanes; l++) {
        if (nb[l] == 128) {
            for (unsigned w = 0; w < 16; w++)
                m[w * lanes + l] = s_le64(p[l] + 8 * w);
        } else if (nb[l] == 0) {
            for (unsigned w = 0; w < 16; w++)
                m[w * lanes + l] = 0;
        } else {
            s_last_block(p[l], nb[l], m + l, lanes);
        }
    }
}

/* After a step: lanes whose block was their message's last give their digest, or in absorb
 * mode their state (h holds the state transposed: h[word * lanes + lane]). */
STEP_INLINE void s_step_out(lanes_t *s, unsigned lanes, unsigned active, const uint64_t *h)
{
    for (unsigned l = 0; l < lanes; l++) {
        if (!(active & (1u << l)))
            continue;
        size_t len = s_span(s, s->cur[l]);
        if (s->off[l] + 128 < len) {
            s->off[l] += 128;
            continue;
        }
        if (s->mid) {
            oms_hash_mid_t *m = &s->mid[s->cur[l]];
            for (unsigned w = 0; w < 8; w++)
                m->h[w] = h[w * lanes + l];
            m->t = len;
            s->cur[l] = SIZE_MAX;
            continue;
        }
        for (unsigned w = 0; w < OMS_HASH_LEN / 8; w++)
            memcpy(s->out[s->cur[l]].bytes + 8 * w, &h[w * lanes + l], 8);
        s->cur[l] = SIZE_MAX;
    }
}

/* One BLAKE2b G function and round on vectors, given ADD, XOR and ROR(x, n) for the width. */
#define G(a, b, c, d, x, y)                                                                        \
    do {                                                                                           \
        a = ADD(ADD(a, b), x);                                                                     \
        d = ROR(XOR(d, a), 32);                                                                    \
        c = ADD(c, d);                                                                             \
        b = ROR(XOR(b, c), 24);                                                                    \
        a = ADD(ADD(a, b), y);                                                                     \
        d = ROR(XOR(d, a), 16);                                                                    \
        c = ADD(c, d);                                                                             \
        b = ROR(XOR(b, c), 63);                                                                    \
    } while (0)

#define ROUND(r)                                                                                   \
    do {                                                                                           \
        const uint8_t *sg = k_sigma[r];                                                            \
        G(v[0], v[4], v[8], v[12], mv[sg[0]], mv[sg[1]]);                                          \
        G(v[1], v[5], v[9], v[13], mv[sg[2]], mv[sg[3]]);                                          \
        G(v[2], v[6], v[10], v[14], mv[sg[4]], mv[sg[5]]);                                         \
        G(v[3], v[7], v[11], v[15], mv[sg[6]], mv[sg[7]]);                                         \
        G(v[0], v[5], v[10], v[15], mv[sg[8]], mv[sg[9]]);                                         \
        G(v[1], v[6], v[11], v[12], mv[sg[10]], mv[sg[11]]);                                       \
        G(v[2], v[7], v[8], v[13], mv[sg[12]], mv[sg[13]]);                                        \
        G(v[3], v[4], v[9], v[14], mv[sg[14]], mv[sg[15]]);                                        \
    } while (0)

/* ---- AVX-512: 8 lanes ---- */

#define ADD(a, b) _mm512_add_epi64(a, b)
#define XOR(a, b) _mm512_xor_si512(a, b)
#define ROR(x, n) _mm512_ror_epi64(x, n)

/* The 8 x 8 transpose of 64-bit words: r[l] holds 8 words of lane l; afterwards c[w] holds
 * word w of every lane. Three rounds of eight shuffles, in registers. */
#define T8X8(r, c)                                                                                 \
    do {                                                                                           \
        __m512i a_[8], b_[8];                                                                      \
        for (unsigned i_ = 0; i_ < 8; i_ += 2) {                                                   \
            a_[i_] = _mm512_unpacklo_epi64(r[i_], r[i_ + 1]);                                      \
            a_[i_ + 1] = _mm512_unpackhi_epi64(r[i_], r[i_ + 1]);                                  \
        }                                                                                          \
        /* b_[0]: words 0, 4 of lanes 0-3; b_[1]: 2, 6; b_[2]: 1, 5; b_[3]: 3, 7; b_[4..7]: the   \
         * same of lanes 4-7 (each 128-bit block holds one word of two lanes) */                  \
        for (unsigned h_ = 0; h_ < 8; h_ += 4) {                                                   \
            b_[h_] = _mm512_shuffle_i64x2(a_[h_], a_[h_ + 2], 0x88);                               \
            b_[h_ + 1] = _mm512_shuffle_i64x2(a_[h_], a_[h_ + 2], 0xDD);                           \
            b_[h_ + 2] = _mm512_shuffle_i64x2(a_[h_ + 1], a_[h_ + 3], 0x88);                       \
            b_[h_ + 3] = _mm512_shuffle_i64x2(a_[h_ + 1], a_[h_ + 3], 0xDD);                       \
        }                                                                                          \
        c[0] = _mm512_shuffle_i64x2(b_[0], b_[4], 0x88);                                           \
        c[4] = _mm512_shuffle_i64x2(b_[0], b_[4], 0xDD);                                           \
        c[2] = _mm512_shuffle_i64x2(b_[1], b_[5], 0x88);                                           \
        c[6] = _mm512_shuffle_i64x2(b_[1], b_[5], 0xDD);                                           \
        c[1] = _mm512_shuffle_i64x2(b_[2], b_[6], 0x88);                                           \
        c[5] = _mm512_shuffle_i64x2(b_[2], b_[6], 0xDD);                                           \
        c[3] = _mm512_shuffle_i64x2(b_[3], b_[7], 0x88);                                           \
        c[7] = _mm512_shuffle_i64x2(b_[3], b_[7], 0xDD);                                           \
    } while (0)

/* The byte mask of the first n of 64 bytes (n <= 64). */
static inline uint64_t s_mask64(unsigned n)
{
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

/* Hashes every message of s, 8 lanes at a time (the caller checked the CPU has AVX-512F and
 * AVX-512BW). Each lane's block is read with two 64-byte loads (masked for a last block: bytes
 * past the message are neither read nor faulted, and come in as zeros) and the words are
 * transposed in registers: gathering them with scalar stores and reloading them as vectors
 * cost as much as the compression itself (each vector load waited for its eight stores).
 * Cannot fail; the state is on the stack. */
__attribute__((target("avx512f,avx512bw"))) static void s_hash8(lanes_t *s)
{
    _Alignas(64) uint64_t t[8], f[8], hs[8 * 8];
    const uint8_t *p[8];
    unsigned nb[8];
    __m512i h[8], mv[16], v[16];
    for (unsigned i = 0; i < 8; i++)
        h[i] = _mm512_set1_epi64((long long)(i ? k_iv[i] : H0_PARAM));
    for (;;) {
        unsigned fresh, active = s_step_in(s, 8, p, nb, t, f, &fresh);
        if (!active)
            break;
        for (unsigned i = 0; fresh && i < 8; i++) /* lanes starting a message: the IV */
            h[i] = _mm512_mask_mov_epi64(h[i], (__mmask8)fresh,
                                         _mm512_set1_epi64((long long)(i ? k_iv[i] : H0_PARAM)));
        __m512i lo[8], hi[8];
        for (unsigned l = 0; l < 8; l++) {
            if (nb[l] == 128) {
                lo[l] = _mm512_loadu_si512(p[l]);
                hi[l] = _mm512_loadu_si512(p[l] + 64);
            } else {
                lo[l] = nb[l] ? _mm512_maskz_loadu_epi8((__mmask64)s_mask64(nb[l]), p[l])
                              : _mm512_setzero_si512(); /* an idle lane, or an empty message */
                /* a block of 64 bytes or less has no upper half (and no pointer past the
                 * message is formed for it) */
                hi[l] = nb[l] > 64 ? _mm512_maskz_loadu_epi8((__mmask64)s_mask64(nb[l] - 64),
                                                             p[l] + 64)
                                   : _mm512_setzero_si512();
            }
        }
        T8X8(lo, mv);
        T8X8(hi, (mv + 8));
        for (unsigned i = 0; i < 8; i++) {
            v[i] = h[i];
            v[i + 8] = _mm512_set1_epi64((long long)k_iv[i]);
        }
        v[12] = XOR(v[12], _mm512_load_si512(t));
        v[14] = XOR(v[14], _mm512_load_si512(f));
        for (unsigned r = 0; r < 12; r++)
            ROUND(r);
        for (unsigned i = 0; i < 8; i++) {
            h[i] = _mm512_mask_mov_epi64(h[i], (__mmask8)active, XOR(h[i], XOR(v[i], v[i + 8])));
            _mm512_store_si512(&hs[i * 8], h[i]);
        }
        s_step_out(s, 8, active, hs);
    }
}

#undef ADD
#undef XOR
#undef ROR

/* ---- AVX2: 4 lanes ---- */

#define ADD(a, b) _mm256_add_epi64(a, b)
#define XOR(a, b) _mm256_xor_si256(a, b)
#define ROR(x, n)                                                                                  \
    ((n) == 32   ? _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1))                                \
     : (n) == 24 ? _mm256_shuffle_epi8(x, r24)                                                     \
     : (n) == 16 ? _mm256_shuffle_epi8(x, r16)                                                     \
                 : _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x)))

/* Hashes every message of s, 4 lanes at a time (the caller checked the CPU has AVX2). AVX2 has
 * no 64-bit rotate: byte shuffles for 16, 24 and 32 bits, shifts for 63. */
__attribute__((target("avx2"))) static void s_hash4(lanes_t *s)
{
    _Alignas(32) uint64_t m[16 * 4], t[4], f[4], hs[8 * 4];
    const __m256i r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4,
                                         5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    const __m256i r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3,
                                         4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    __m256i h[8], mv[16], v[16];
    for (unsigned i = 0; i < 8; i++)
        h[i] = _mm256_set1_epi64x((long long)(i ? k_iv[i] : H0_PARAM));
    const uint8_t *p[4];
    unsigned nb[4];
    for (;;) {
        unsigned fresh, active = s_step_in(s, 4, p, nb, t, f, &fresh);
        if (!active)
            break;
        s_gather_words(4, p, nb, m);
        __m256i fresh_v = _mm256_set_epi64x(fresh & 8 ? -1 : 0, fresh & 4 ? -1 : 0,
                                            fresh & 2 ? -1 : 0, fresh & 1 ? -1 : 0);
        __m256i active_v = _mm256_set_epi64x(active & 8 ? -1 : 0, active & 4 ? -1 : 0,
                                             active & 2 ? -1 : 0, active & 1 ? -1 : 0);
        for (unsigned i = 0; fresh && i < 8; i++)
            h[i] = _mm256_blendv_epi8(h[i], _mm256_set1_epi64x((long long)(i ? k_iv[i] : H0_PARAM)),
                                      fresh_v);
        for (unsigned w = 0; w < 16; w++)
            mv[w] = _mm256_load_si256((const __m256i *)&m[w * 4]);
        for (unsigned i = 0; i < 8; i++) {
            v[i] = h[i];
            v[i + 8] = _mm256_set1_epi64x((long long)k_iv[i]);
        }
        v[12] = XOR(v[12], _mm256_load_si256((const __m256i *)t));
        v[14] = XOR(v[14], _mm256_load_si256((const __m256i *)f));
        for (unsigned r = 0; r < 12; r++)
            ROUND(r);
        for (unsigned i = 0; i < 8; i++) {
            h[i] = _mm256_blendv_epi8(h[i], XOR(h[i], XOR(v[i], v[i + 8])), active_v);
            _mm256_store_si256((__m256i *)&hs[i * 4], h[i]);
        }
        s_step_out(s, 4, active, hs);
    }
}

#undef ADD
#undef XOR
#undef ROR

#endif /* HASH_MANY_X86 */

/* The implementation to use for impl on this CPU, or -1 when it does not have it. */
static int s_resolve(int impl)
{
#ifdef HASH_MANY_X86
    bool has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"),
         has2 = __builtin_cpu_supports("avx2");
    if (impl == OMS_HASH_IMPL_AUTO)
        impl = has512 ? OMS_HASH_IMPL_AVX512 : has2 ? OMS_HASH_IMPL_AVX2 : OMS_HASH_IMPL_ONE;
    if ((impl == OMS_HASH_IMPL_AVX512 && !has512) || (impl == OMS_HASH_IMPL_AVX2 && !has2))
        return -1;
#else
    if (impl == OMS_HASH_IMPL_AUTO)
        impl = OMS_HASH_IMPL_ONE;
    if (impl == OMS_HASH_IMPL_AVX512 || impl == OMS_HASH_IMPL_AVX2)
        return -1;
#endif
    return impl == OMS_HASH_IMPL_ONE || impl == OMS_HASH_IMPL_AVX2 || impl == OMS_HASH_IMPL_AVX512
               ? impl
               : -1;
}

/* The best implementation, asked of the CPU on the first call only. */
static int s_best(void)
{
    static int impl = -1; /* chosen once; racing first calls choose the same */
    int i = __atomic_load_n(&impl, __ATOMIC_RELAXED);
    if (i < 0) {
        i = s_resolve(OMS_HASH_IMPL_AUTO);
        __atomic_store_n(&impl, i, __ATOMIC_RELAXED);
    }
    return i;
}

#ifdef HASH_MANY_X86
/* Runs the lanes of s with a resolved SIMD implementation. */
static void s_run_lanes(int impl, lanes_t *s)
{
    for (unsigned l = 0; l < MAX_LANES; l++)
        s->cur[l] = SIZE_MAX;
    if (impl == OMS_HASH_IMPL_AVX512)
        s_hash8(s);
    else
        s_hash4(s);
}
#endif

/* The digests with a resolved implementation (s_resolve's result). */
static void s_many(int impl, const uint8_t *const *msg, const size_t *len, size_t n,
                   oms_hash_t *out)
{
#ifdef HASH_MANY_X86
    if (impl != OMS_HASH_IMPL_ONE) {
        lanes_t s = {.n = n, .msg = msg, .len = len, .out = out};
        s_run_lanes(impl, &s);
        return;
    }
#else
    (void)impl;
#endif
    for (size_t i = 0; i < n; i++)
        oms_hash(msg[i], len[i], &out[i]);
}

/* The states with a resolved implementation (s_resolve's result). */
static void s_absorb(int impl, const uint8_t *const *msg, const uint32_t *nblk, size_t n,
                     oms_hash_mid_t *mid)
{
#ifdef HASH_MANY_X86
    if (impl != OMS_HASH_IMPL_ONE) {
        lanes_t s = {.n = n, .msg = msg, .nblk = nblk, .mid = mid};
        s_run_lanes(impl, &s);
        return;
    }
#else
    (void)impl;
#endif
    for (size_t i = 0; i < n; i++) {
        s_mid_init(&mid[i]);
        for (uint32_t b = 0; b < nblk[i]; b++) {
            mid[i].t += 128;
            s_compress1(mid[i].h, msg[i] + (size_t)b * 128, mid[i].t, false);
        }
    }
}

int oms_hash_many_with(int impl, const uint8_t *const *msg, const size_t *len, size_t n,
                       oms_hash_t *out)
{
    if ((impl = s_resolve(impl)) < 0)
        return -1;
    s_many(impl, msg, len, n, out);
    return 0;
}

void oms_hash_many(const uint8_t *const *msg, const size_t *len, size_t n, oms_hash_t *out)
{
    s_many(s_best(), msg, len, n, out); /* resolved once per process */
}

int oms_hash_absorb_many_with(int impl, const uint8_t *const *msg, const uint32_t *nblk, size_t n,
                              oms_hash_mid_t *mid)
{
    if ((impl = s_resolve(impl)) < 0)
        return -1;
    s_absorb(impl, msg, nblk, n, mid);
    return 0;
}

void oms_hash_absorb_many(const uint8_t *const *msg, const uint32_t *nblk, size_t n,
                          oms_hash_mid_t *mid)
{
    s_absorb(s_best(), msg, nblk, n, mid); /* resolved once per process */
}
