/*
 * oms_core.h - the core library's interface: errors, fixed-point decimals, time, hashing, limits.
 *
 * Everything else in the OMS builds on these few types. Nothing here allocates, blocks or keeps
 * global mutable state, so every function is safe to call from any thread.
 *
 *   oms_err_t    one error enum for the whole project, strings from one X-macro
 *   oms_dec_t    int64 fixed-point number with 8 implied decimals (prices, quantities, money)
 *   clock        UTC nanoseconds since the Unix epoch, and a monotonic clock for durations
 *   hash         BLAKE2b-256 (libsodium), one-shot and streaming
 *   limits       the bounds every loop, queue, buffer and input obeys
 */
#ifndef OMS_CORE_H
#define OMS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* X(name, value, text). 0 is success; every error is negative so functions can return
 * "0 or a negative oms_err_t" like CZMQ. Values are stable: they appear in logs and replies,
 * so never renumber one; add new ones at the end. */
#define OMS_ERRORS(X)                                                                              \
    X(OMS_OK, 0, "ok")                                                                             \
    X(OMS_ERR_INVALID, -1, "invalid argument")                                                     \
    X(OMS_ERR_PARSE, -2, "not a valid number or text")                                             \
    X(OMS_ERR_OVERFLOW, -3, "value out of range")                                                  \
    X(OMS_ERR_DIV_ZERO, -4, "division by zero")                                                    \
    X(OMS_ERR_NOMEM, -5, "out of memory")                                                          \
    X(OMS_ERR_IO, -6, "I/O error")                                                                 \
    X(OMS_ERR_NOT_FOUND, -7, "not found")                                                          \
    X(OMS_ERR_CORRUPT, -8, "data is corrupt")                                                      \
    X(OMS_ERR_SCHEMA, -9, "store schema version does not match")                                   \
    X(OMS_ERR_HEAD_MISMATCH, -10, "store head does not match the log's last event")                \
    X(OMS_ERR_READ_ONLY, -11, "store is open read-only")                                           \
    X(OMS_ERR_LIMIT, -12, "limit exceeded")                                                        \
    X(OMS_ERR_DECODE, -13, "message could not be decoded")                                         \
    X(OMS_ERR_EXISTS, -14, "already exists")                                                       \
    X(OMS_ERR_BUSY, -15, "resource is in use")                                                     \
    X(OMS_ERR_STATE, -16, "object is in the wrong state for this call")                          \
    X(OMS_ERR_INTERRUPTED, -17, "interrupted by a stop request")

typedef enum {
#define OMS_ERR_ENUM_(name, value, text) name = value,
    OMS_ERRORS(OMS_ERR_ENUM_)
#undef OMS_ERR_ENUM_
} oms_err_t;

/* The error's text ("unknown error" for values outside the enum). Never NULL, static. */
const char *oms_strerror(int err);
/* The error's symbolic name, e.g. "OMS_ERR_IO" ("OMS_ERR_UNKNOWN" outside the enum). */
const char *oms_errname(int err);

/* ------------------------------------------------------------------------------------------ */
/* Fixed-point decimals                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* A decimal number with 8 implied decimal places: value = raw / 10^8.
 * The valid range is symmetric, [-OMS_DEC_MAX, OMS_DEC_MAX] = +-92233720368.54775807, so that
 * negation never overflows; INT64_MIN is never a valid decimal and every function rejects it.
 *
 * Rounding rule (the one rule, used by every function that has to round): round half to even
 * ("banker's rounding") on the exact result, which is unbiased over many operations. */
typedef int64_t oms_dec_t;

#define OMS_DEC_SCALE  100000000LL /* 10^8 */
#define OMS_DEC_PLACES 8
#define OMS_DEC_MAX    INT64_MAX
#define OMS_DEC_MIN    (-INT64_MAX)
/* Longest text oms_dec_format writes, with its NUL: "-92233720368.54775807" is 21 chars. */
#define OMS_DEC_STR_MAX 24

/* Parses a decimal string exactly: optional '-' or '+', digits, optional '.' and up to 8
 * fractional digits (further digits are accepted only if they are all zero). No spaces, no
 * exponent, no thousands separators; digits on both sides of a '.', so "", ".", "-", "1." and
 * ".5" are all rejected (write "1" and "0.5"). Leading zeros are allowed ("007.50"). Returns 0 and
 * stores the value in *out, or OMS_ERR_PARSE for text that is not such a number, or
 * OMS_ERR_OVERFLOW for a number outside the range; *out is untouched on failure. `len` is the
 * length of `s` (no NUL needed). */
int oms_dec_parse(const char *s, size_t len, oms_dec_t *out);

/* Parses a NUL-terminated string; same rules as oms_dec_parse. */
int oms_dec_parse_cstr(const char *s, oms_dec_t *out);

/* Formats exactly, with the shortest fraction that is exact ("12.5", "-0.00000001", "100").
 * Writes at most OMS_DEC_STR_MAX bytes including the NUL into buf (cap >= OMS_DEC_STR_MAX).
 * Returns the length written (without NUL), or OMS_ERR_INVALID if cap is too small or the value
 * is INT64_MIN. */
int oms_dec_format(oms_dec_t v, char *buf, size_t cap);

/* Builds a decimal from a whole number; OMS_ERR_OVERFLOW if |units| * 10^8 does not fit. */
int oms_dec_from_int(int64_t units, oms_dec_t *out);

/* a + b, a - b: 0 or OMS_ERR_OVERFLOW (result outside the range, or an INT64_MIN operand). */
int oms_dec_add(oms_dec_t a, oms_dec_t b, oms_dec_t *out);
int oms_dec_sub(oms_dec_t a, oms_dec_t b, oms_dec_t *out);

/* a * b (both decimals; e.g. price * quantity = notional), computed exactly in 128 bits and
 * rounded half-to-even to 8 places. 0, or OMS_ERR_OVERFLOW if the result is outside the range. */
int oms_dec_mul(oms_dec_t a, oms_dec_t b, oms_dec_t *out);

/* a / b (both decimals), exact in 128 bits, rounded half-to-even to 8 places. 0, or
 * OMS_ERR_DIV_ZERO, or OMS_ERR_OVERFLOW. */
int oms_dec_div(oms_dec_t a, oms_dec_t b, oms_dec_t *out);

/* (a * b) / c with one rounding at the end (half-to-even), the product kept in 128 bits: used
 * for pro-rata and average price where rounding twice would lose a unit. 0, OMS_ERR_DIV_ZERO or
 * OMS_ERR_OVERFLOW. */
int oms_dec_muldiv(oms_dec_t a, oms_dec_t b, oms_dec_t c, oms_dec_t *out);

/* True if v is a whole multiple of step (step > 0); false for step <= 0. Used for lot and tick
 * checks. */
bool oms_dec_is_multiple(oms_dec_t v, oms_dec_t step);

/* ------------------------------------------------------------------------------------------ */
/* Time                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* UTC nanoseconds since the Unix epoch (CLOCK_REALTIME). Only the sequencer and the edges call
 * it: handlers and projections receive time as an argument. Never fails on Linux; aborts if the
 * kernel refuses the call (a programmer/platform error). */
int64_t oms_clock_now_ns(void);

/* Monotonic nanoseconds (CLOCK_MONOTONIC) for measuring durations and timeouts only. */
int64_t oms_clock_mono_ns(void);

/* Formats UTC ns as ISO-8601 "2026-11-21T13:50:53.123456789Z" into buf (cap >= 32).
 * Returns the length, or OMS_ERR_INVALID. */
int oms_clock_format_iso(int64_t ts_ns, char *buf, size_t cap);

/* Parses ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z" (also accepts a space for 'T' and
 * a missing 'Z', and a date alone meaning midnight). 0 or OMS_ERR_PARSE. */
int oms_clock_parse_iso(const char *s, int64_t *out_ns);

/* ------------------------------------------------------------------------------------------ */
/* Hashing: BLAKE2b-256                                                                        */
/* ------------------------------------------------------------------------------------------ */

#define OMS_HASH_LEN 32

typedef struct {
    uint8_t bytes[OMS_HASH_LEN]; /* the digest */
} oms_hash_t;

/* Streaming state, opaque in size only (libsodium's crypto_generichash_state, aligned). */
typedef struct {
    _Alignas(64) uint8_t opaque[384]; /* crypto_generichash_state lives here */
} oms_hash_state_t;

/* Initialises libsodium once; safe to call many times and from many threads. Returns 0, or
 * OMS_ERR_INVALID if libsodium cannot initialise (then no hash function may be used). */
int oms_hash_init(void);

/* One-shot BLAKE2b-256 of len bytes. */
void oms_hash(const void *data, size_t len, oms_hash_t *out);

/* Streaming BLAKE2b-256: begin, any number of updates, end. */
void oms_hash_begin(oms_hash_state_t *st);
void oms_hash_update(oms_hash_state_t *st, const void *data, size_t len);
void oms_hash_end(oms_hash_state_t *st, oms_hash_t *out);

/* Many BLAKE2b-256 hashes at once (hash_many.c): one message per SIMD lane, 8 lanes with
 * AVX-512, 4 with AVX2, else one at a time. Exactly oms_hash's digests. */
enum {
    OMS_HASH_IMPL_AUTO = 0, /* the best this CPU has */
    OMS_HASH_IMPL_ONE,      /* one message after the other (portable) */
    OMS_HASH_IMPL_AVX2,     /* 4 messages side by side */
    OMS_HASH_IMPL_AVX512,   /* 8 messages side by side */
};

/* out[i] = oms_hash(msg[i], len[i]) for i < n. Cannot fail; allocates nothing. */
void oms_hash_many(const uint8_t *const *msg, const size_t *len, size_t n, oms_hash_t *out);
/* The same with a given implementation (tests); -1 when this CPU does not have it, else 0. */
int oms_hash_many_with(int impl, const uint8_t *const *msg, const size_t *len, size_t n,
                       oms_hash_t *out);

/* The BLAKE2b-256 state after the first whole 128-byte blocks of a message, none of them the
 * last: the hash of a message whose start is known before its end (the event log's envelopes,
 * whose start does not depend on the previous envelope's hash) is then finished with
 * oms_hash_finish. Plain data: copy it freely. */
typedef struct {
    uint64_t h[8]; /* the chaining value */
    uint64_t t;    /* bytes absorbed (a multiple of 128) */
} oms_hash_mid_t;

/* For i < n: mid[i] = the state after the first nblk[i] 128-byte blocks of msg[i] (nblk[i] may
 * be 0: the initial state), several messages at once when the CPU allows. The caller promises
 * each message continues after those blocks (they are not final). Cannot fail. */
void oms_hash_absorb_many(const uint8_t *const *msg, const uint32_t *nblk, size_t n,
                          oms_hash_mid_t *mid);
/* The same with a given implementation (tests); -1 when this CPU does not have it, else 0. */
int oms_hash_absorb_many_with(int impl, const uint8_t *const *msg, const uint32_t *nblk, size_t n,
                              oms_hash_mid_t *mid);
/* *out = BLAKE2b-256 of the message whose first mid->t bytes mid absorbed and whose remaining
 * len bytes are rest. len must be >= 1 unless mid->t == 0 (a message's last block holds at
 * least one byte); a programmer error otherwise. Portable C, one block at a time. */
void oms_hash_finish(const oms_hash_mid_t *mid, const uint8_t *rest, size_t len, oms_hash_t *out);

/* Lower-case hex of the digest into buf (cap >= 65). Returns 64. */
int oms_hash_hex(const oms_hash_t *h, char *buf, size_t cap);

/* Constant-time equality of two digests. */
bool oms_hash_equal(const oms_hash_t *a, const oms_hash_t *b);

/* Content digest for idempotency ("is this retry the same command?"): SipHash-2-4 with a
 * 128-bit output (libsodium's crypto_shorthash_siphashx24) under a fixed, public key. Stored
 * in the idempotency rows, so it is the same on every host and in every version of this
 * schema. Not a commitment: it is not in the hash chain, and a collision could only make a
 * principal's own reused command id look like a retry of its own earlier command (see
 * DESIGN-NOTES "Idempotency digest"). About a sixth of BLAKE2b's cost on a ~150-byte command.
 * Cannot fail. */
#define OMS_DIGEST128_LEN 16
void oms_digest128(const void *data, size_t len, uint8_t out[OMS_DIGEST128_LEN]);

/* A fast non-cryptographic 64-bit hash of len bytes for in-memory hash tables (never stored,
 * never compared across processes: the value depends on the host's byte order). Reads the bytes
 * eight at a time, the tail as one overlapping read (the length is mixed in, so keys that share
 * those bytes still differ); cannot fail. */
static inline uint64_t oms_hash64(const void *data, size_t len)
{
    const uint8_t *b = (const uint8_t *)data;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)len * 0xff51afd7ed558ccdull);
    uint64_t w = 0;
    if (len >= 8) {
        size_t full = len;
        while (full > 8) {
            memcpy(&w, b, 8);
            h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
            b += 8;
            full -= 8;
        }
        memcpy(&w, b + full - 8, 8); /* the last 8 bytes, overlapping what came before */
    } else if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, b + len - 4, 4);
        w = (uint64_t)hi << 32 | lo;
    } else if (len) {
        w = (uint64_t)b[0] << 16 | (uint64_t)b[len >> 1] << 8 | b[len - 1];
    }
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

/* ------------------------------------------------------------------------------------------ */
/* Byte order helpers for keys                                                                 */
/* ------------------------------------------------------------------------------------------ */

static inline void oms_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t oms_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------------------------------------ */
/* Limits                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Every input and every loop is bounded by one of these. Values are chosen for an institutional
 * desk: far above normal use, far below what would exhaust memory. Changing one is a design
 * decision: say why in the commit. */
enum {
    OMS_LIMIT_MSG_BYTES = 64 * 1024,     /* largest command or reply frame on the bus */
    OMS_LIMIT_EVENT_BYTES = 96 * 1024,   /* largest event in the log: room for a rejection
                                            that embeds a maximal command */
    OMS_LIMIT_FRAMES = 1,                /* frames in a command message (after the identity) */
    OMS_LIMIT_BATCH_COMMANDS = 1024,     /* commands the sequencer drains into one batch */
    OMS_LIMIT_BATCH_EVENTS = 8192,       /* events in one appended batch */
    OMS_LIMIT_BATCH_ROWS = 65536,        /* extra rows in one appended batch */
    OMS_LIMIT_BATCH_BYTES = 64 << 20,    /* bytes of events + rows in one appended batch */
    OMS_LIMIT_ROW_KEY_BYTES = 512,       /* key of a projection or idempotency row */
    OMS_LIMIT_ROW_VALUE_BYTES = 1 << 20, /* value of a projection or idempotency row */
    OMS_LIMIT_ID_LEN = 64,               /* ids: order, account, instrument, principal, cmd */
    OMS_LIMIT_TEXT_LEN = 512,            /* free text: reasons, notes */
    OMS_LIMIT_ALLOC_ACCOUNTS = 256,      /* allocation instructions per order */
    OMS_LIMIT_ROLES = 16,                /* roles per principal */
    OMS_LIMIT_CATCHUP_EVENTS = 10000,    /* events in one catch-up reply */
    OMS_LIMIT_QUERY_ROWS = 10000,        /* rows in one query reply */
};

#endif /* OMS_CORE_H */
