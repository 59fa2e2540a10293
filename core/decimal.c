/*
 * decimal.c - fixed-point decimals: int64 raw value with 8 implied places (oms_dec_t).
 *
 * Exact everywhere: no floating point, no strtod, no locale. Parsing and formatting are done
 * digit by digit; mul, div and muldiv compute the exact result in 128 bits and round once at
 * the end, half to even.
 *
 * Decisions shared by every function here:
 *   - INT64_MIN is never a valid decimal: as an operand it gives OMS_ERR_OVERFLOW (or false /
 *     OMS_ERR_INVALID where the function has no overflow result), and no function ever produces
 *     it. The range is [-OMS_DEC_MAX, OMS_DEC_MAX], symmetric, so negation never overflows.
 *   - Rounding is half to even on the magnitude, then the sign is applied, so it is symmetric:
 *     round(-x) == -round(x). E.g. the exact results 0.5, 1.5, 2.5 units of 10^-8 round to
 *     0, 2, 2 and -0.5, -1.5, -2.5 units round to 0, -2, -2. (Half-to-even on the magnitude is
 *     the same as half-to-even on the signed value, because evenness does not depend on sign.)
 *     A result that rounds to zero is plain 0: there is no negative zero in an int64.
 *   - On any failure the output is left untouched.
 *   - A NULL output pointer is a programmer error (assert), never an input error.
 *
 * Load: on the hot path of every order and fill (prices, quantities, notionals); nothing here
 * allocates, and the loops are bounded by the input length (parse) or by 20 digits (format).
 */
#include "oms_core.h"

#include <assert.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* Whole units that fit: 92233720368 (OMS_DEC_MAX / 10^8). */
#define DEC_MAX_UNITS (OMS_DEC_MAX / OMS_DEC_SCALE)

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ---------------------------------------------------------------------------------------- */
/* Parse                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* The whole text is checked for syntax first, then for range: text that is malformed anywhere
 * is OMS_ERR_PARSE even if its leading digits would already overflow, and only a well-formed
 * number that is too big is OMS_ERR_OVERFLOW. Extra fractional digits beyond 8 that are not all
 * zero are a syntax error (OMS_ERR_PARSE): the text names a value the type cannot hold exactly,
 * and silently rounding an input price or quantity is never what the caller wants. Leading
 * zeros and trailing fractional zeros may be as many as the length allows. A NULL `s` is
 * treated as no text (OMS_ERR_PARSE). */
int oms_dec_parse(const char *s, size_t len, oms_dec_t *out)
{
    assert(out != NULL);
    if (s == NULL || len == 0)
        return OMS_ERR_PARSE;

    size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }

    /* Integer part: at least one digit. `units` saturates just above DEC_MAX_UNITS so that
     * arbitrarily many digits never overflow the accumulator. */
    uint64_t units = 0;
    bool too_big = false;
    size_t int_start = i;
    for (; i < len && is_digit(s[i]); i++) {
        if (too_big)
            continue;
        units = units * 10u + (uint64_t)(s[i] - '0');
        if (units > (uint64_t)DEC_MAX_UNITS)
            too_big = true;
    }
    if (i == int_start)
        return OMS_ERR_PARSE;

    /* Optional fraction: '.', then at least one digit; digits past the 8th must be '0'. */
    uint64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t frac_start = i;
        for (; i < len && is_digit(s[i]); i++) {
            size_t place = i - frac_start;
            if (place < OMS_DEC_PLACES)
                frac = frac * 10u + (uint64_t)(s[i] - '0');
            else if (s[i] != '0')
                return OMS_ERR_PARSE;
        }
        size_t nfrac = i - frac_start;
        if (nfrac == 0)
            return OMS_ERR_PARSE;
        for (size_t k = nfrac; k < OMS_DEC_PLACES; k++)
            frac *= 10u;
    }
    if (i != len)
        return OMS_ERR_PARSE; /* trailing garbage, a second '.', an embedded NUL, ... */

    if (too_big)
        return OMS_ERR_OVERFLOW;
    /* units <= 92233720368, so units * 10^8 <= 9223372036800000000 < 2^63 and frac < 10^8:
     * the sum fits in uint64 and is compared against the range once. */
    uint64_t mag = units * (uint64_t)OMS_DEC_SCALE + frac;
    if (mag > (uint64_t)OMS_DEC_MAX)
        return OMS_ERR_OVERFLOW;

    int64_t v = (int64_t)mag;
    *out = neg ? -v : v;
    return 0;
}

/* Parses a NUL-terminated string (NULL is OMS_ERR_PARSE); same rules as oms_dec_parse. */
int oms_dec_parse_cstr(const char *s, oms_dec_t *out)
{
    assert(out != NULL);
    if (s == NULL)
        return OMS_ERR_PARSE;
    size_t len = 0;
    while (s[len] != '\0')
        len++;
    return oms_dec_parse(s, len, out);
}

/* ---------------------------------------------------------------------------------------- */
/* Format                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* cap must be at least OMS_DEC_STR_MAX whatever the value (so a too-small buffer is caught the
 * first time, not only when a large value turns up); otherwise, and for INT64_MIN or a NULL buf,
 * OMS_ERR_INVALID, and buf[0] is set to NUL when buf is usable. */
int oms_dec_format(oms_dec_t v, char *buf, size_t cap)
{
    if (buf == NULL)
        return OMS_ERR_INVALID;
    if (cap < OMS_DEC_STR_MAX || v == INT64_MIN) {
        if (cap > 0)
            buf[0] = '\0';
        return OMS_ERR_INVALID;
    }

    uint64_t mag = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    uint64_t units = mag / (uint64_t)OMS_DEC_SCALE;
    uint64_t frac = mag % (uint64_t)OMS_DEC_SCALE;

    /* Integer digits, written backwards into a scratch buffer (at most 11 digits). */
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + units % 10u);
        units /= 10u;
    } while (units != 0);

    size_t pos = 0;
    if (v < 0)
        buf[pos++] = '-';
    while (n > 0)
        buf[pos++] = tmp[--n];

    if (frac != 0) {
        /* All 8 places, then drop trailing zeros: the shortest exact fraction. */
        char fd[OMS_DEC_PLACES];
        for (int k = OMS_DEC_PLACES - 1; k >= 0; k--) {
            fd[k] = (char)('0' + frac % 10u);
            frac /= 10u;
        }
        int last = OMS_DEC_PLACES - 1;
        while (fd[last] == '0')
            last--; /* frac != 0, so some digit is non-zero and last stays >= 0 */
        buf[pos++] = '.';
        for (int k = 0; k <= last; k++)
            buf[pos++] = fd[k];
    }
    buf[pos] = '\0';
    assert(pos < OMS_DEC_STR_MAX);
    return (int)pos;
}

/* ---------------------------------------------------------------------------------------- */
/* Arithmetic                                                                                */
/* ---------------------------------------------------------------------------------------- */

int oms_dec_from_int(int64_t units, oms_dec_t *out)
{
    assert(out != NULL);
    if (units > DEC_MAX_UNITS || units < -DEC_MAX_UNITS)
        return OMS_ERR_OVERFLOW; /* also covers INT64_MIN */
    *out = units * OMS_DEC_SCALE;
    return 0;
}

int oms_dec_add(oms_dec_t a, oms_dec_t b, oms_dec_t *out)
{
    assert(out != NULL);
    int64_t r;
    if (a == INT64_MIN || b == INT64_MIN || __builtin_add_overflow(a, b, &r) || r == INT64_MIN)
        return OMS_ERR_OVERFLOW;
    *out = r;
    return 0;
}

int oms_dec_sub(oms_dec_t a, oms_dec_t b, oms_dec_t *out)
{
    assert(out != NULL);
    int64_t r;
    if (a == INT64_MIN || b == INT64_MIN || __builtin_sub_overflow(a, b, &r) || r == INT64_MIN)
        return OMS_ERR_OVERFLOW;
    *out = r;
    return 0;
}

/* num / den rounded half to even on the magnitude, sign applied afterwards (symmetric).
 * den != 0. |num| < 2^126 and |den| < 2^63 for every caller, so the magnitudes below never
 * overflow. Returns 0 and stores the result, or OMS_ERR_OVERFLOW if it is outside the range. */
static int div_round(i128 num, i128 den, oms_dec_t *out)
{
    bool neg = (num < 0) != (den < 0);
    u128 un = num < 0 ? (u128)(-num) : (u128)num;
    u128 ud = den < 0 ? (u128)(-den) : (u128)den;
    u128 q = un / ud;
    u128 r = un % ud;
    u128 rest = ud - r; /* r < ud, so r > ud - r  <=>  2r > ud, without computing 2r */
    if (r > rest || (r == rest && (q & 1u) != 0))
        q++;
    if (q > (u128)OMS_DEC_MAX)
        return OMS_ERR_OVERFLOW;
    int64_t m = (int64_t)q;
    *out = neg ? -m : m;
    return 0;
}

/* raw(a*b) = A*B / 10^8. |A|,|B| <= 2^63 - 1 so |A*B| < 2^126: exact in 128 bits. */
int oms_dec_mul(oms_dec_t a, oms_dec_t b, oms_dec_t *out)
{
    assert(out != NULL);
    if (a == INT64_MIN || b == INT64_MIN)
        return OMS_ERR_OVERFLOW;
    return div_round((i128)a * (i128)b, (i128)OMS_DEC_SCALE, out);
}

/* raw(a/b) = A*10^8 / B. |A*10^8| < 2^63 * 2^27 = 2^90: exact in 128 bits. An INT64_MIN
 * operand is checked before the zero divisor. */
int oms_dec_div(oms_dec_t a, oms_dec_t b, oms_dec_t *out)
{
    assert(out != NULL);
    if (a == INT64_MIN || b == INT64_MIN)
        return OMS_ERR_OVERFLOW;
    if (b == 0)
        return OMS_ERR_DIV_ZERO;
    return div_round((i128)a * (i128)OMS_DEC_SCALE, (i128)b, out);
}

/* raw((a*b)/c) = A*B / C: the scales cancel, so the exact product (< 2^126, never an
 * intermediate overflow) is divided by C once and rounded once. An INT64_MIN operand is
 * checked before the zero divisor. */
int oms_dec_muldiv(oms_dec_t a, oms_dec_t b, oms_dec_t c, oms_dec_t *out)
{
    assert(out != NULL);
    if (a == INT64_MIN || b == INT64_MIN || c == INT64_MIN)
        return OMS_ERR_OVERFLOW;
    if (c == 0)
        return OMS_ERR_DIV_ZERO;
    return div_round((i128)a * (i128)b, (i128)c, out);
}

/* False for step <= 0 and for v == INT64_MIN (not a decimal); 0 is a multiple of every step,
 * and negative v is a multiple when |v| is. */
bool oms_dec_is_multiple(oms_dec_t v, oms_dec_t step)
{
    if (step <= 0 || v == INT64_MIN)
        return false;
    return v % step == 0;
}
