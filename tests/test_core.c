/*
 * test_core.c - proves the core library's contracts (oms_core.h):
 *
 *   decimals  parse and format are exact inverses over the whole range (+-92233720368.54775807);
 *             every malformed text is OMS_ERR_PARSE and every out-of-range number
 *             OMS_ERR_OVERFLOW, with the output untouched; INT64_MIN is rejected as an operand
 *             and never produced; add/sub detect overflow at the exact edges; mul, div and
 *             muldiv round once, half to even, symmetrically for negatives, agree with Python's
 *             decimal module on a table of random cases, and muldiv never overflows in between;
 *             is_multiple follows its step rule.
 *   clock     known timestamps (epoch, a leap day, pre-1970, the int64 extremes) format as the
 *             expected ISO text, agreeing with a Python-generated table and with gmtime_r;
 *             parse(format(t)) == t for many seeded random t; the accepted short forms parse;
 *             invalid dates, times and garbage are rejected; now is plausible; mono never goes
 *             back.
 *   hash      BLAKE2b-256 known answers for "" and "abc" (from Python's hashlib), streaming
 *             equals one-shot at every split, hex and constant-time equality.
 *   errors    every OMS_ERRORS entry has a distinct non-empty text and name; unknown values
 *             give "unknown error" / "OMS_ERR_UNKNOWN".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oms_core.h"

#define SENTINEL     ((oms_dec_t)0x5a5a5a5a5a5a5a5aLL)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Deterministic PRNG (splitmix64) so every run sees the same "random" cases. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A parse that must succeed. */
static oms_dec_t D(const char *s)
{
    oms_dec_t v = SENTINEL;
    int rc = oms_dec_parse_cstr(s, &v);
    if (rc != 0)
        fail_msg("parse of \"%s\" failed: %s", s, oms_errname(rc));
    return v;
}

static void assert_format(oms_dec_t v, const char *expect)
{
    char buf[OMS_DEC_STR_MAX];
    int n = oms_dec_format(v, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(expect));
    assert_string_equal(buf, expect);
}

/* A parse that must fail with rc and leave the output untouched. */
static void assert_parse_fails(const char *s, size_t len, int rc)
{
    oms_dec_t v = SENTINEL;
    int got = oms_dec_parse(s, len, &v);
    if (got != rc)
        fail_msg("parse of %zu bytes \"%.*s\": got %s, want %s", len, (int)(len > 64 ? 64 : len), s,
                 oms_errname(got), oms_errname(rc));
    assert_true(v == SENTINEL);
}

/* ------------------------------------------------------------------------------------------ */
/* Decimals: parse and format                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void test_core_dec_parse_format_roundtrip(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t raw;
        const char *canon;
    } cases[] = {
        {"0.00000001", 1, "0.00000001"},
        {"-0.00000001", -1, "-0.00000001"},
        {"-12.5", -1250000000LL, "-12.5"},
        {"12.5", 1250000000LL, "12.5"},
        {"92233720368.54775807", INT64_MAX, "92233720368.54775807"},
        {"-92233720368.54775807", -INT64_MAX, "-92233720368.54775807"},
        {"0", 0, "0"},
        {"-0", 0, "0"},
        {"+0", 0, "0"},
        {"-0.00000000", 0, "0"},
        {"007.50", 750000000LL, "7.5"},
        {"+7.5", 750000000LL, "7.5"},
        {"100", 10000000000LL, "100"},
        {"1.000000000000", 100000000LL, "1"},
        {"1.12345678000000", 112345678LL, "1.12345678"},
        {"0.1", 10000000LL, "0.1"},
        {"0.10000000", 10000000LL, "0.1"},
        {"123456.00000100", 12345600000100LL, "123456.000001"},
        {"92233720368", 9223372036800000000LL, "92233720368"},
        {"-92233720368", -9223372036800000000LL, "-92233720368"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        oms_dec_t v = SENTINEL;
        assert_int_equal(oms_dec_parse(cases[i].in, strlen(cases[i].in), &v), 0);
        assert_true(v == cases[i].raw);
        assert_format(v, cases[i].canon);
        /* The canonical text parses back to the same raw value. */
        assert_true(D(cases[i].canon) == cases[i].raw);
    }
}

static void test_core_dec_parse_extra_fraction_digits(void **state)
{
    (void)state;
    assert_true(D("1.000000000000") == OMS_DEC_SCALE);
    assert_true(D("0.000000010") == 1);
    assert_parse_fails("1.000000001", 11, OMS_ERR_PARSE);
    assert_parse_fails("0.000000005", 11, OMS_ERR_PARSE);
    assert_parse_fails("1.000000000001", 14, OMS_ERR_PARSE);
}

static void test_core_dec_parse_bounds(void **state)
{
    (void)state;
    assert_true(D("92233720368.54775807") == OMS_DEC_MAX);
    assert_true(D("+92233720368.54775807") == OMS_DEC_MAX);
    assert_true(D("-92233720368.54775807") == OMS_DEC_MIN);
    const char *over[] = {
        "92233720368.54775808",  /* max + 1 unit */
        "-92233720368.54775808", /* min - 1 unit: INT64_MIN, never valid */
        "-92233720368.54775809", "92233720368.99999999",
        "92233720369",           "-92233720369",
        "99999999999",           "100000000000",
        "18446744073709551616",  "1000000000000000000000.5",
    };
    for (size_t i = 0; i < ARRAY_LEN(over); i++)
        assert_parse_fails(over[i], strlen(over[i]), OMS_ERR_OVERFLOW);
}

static void test_core_dec_parse_rejects_garbage(void **state)
{
    (void)state;
    const char *bad[] = {"",      ".",    "-",    "+",     "1.",   ".5",   "-.5",   "1e5",
                         "1E5",   " 1",   "1 ",   "1,000", "0x10", "--1",  "+-1",   "-+1",
                         "1.2.3", "abc",  "1a",   "a1",    "1..2", "1.-2", "- 1",   "1.5 ",
                         "\t1",   "1\n",  "12_3", "inf",   "nan",  "1/2",  "0.5e",  "١",
                         "1.5x",  "00x1", "1-",   "-1.",   "+.",   "-0.",  "1.2e-3"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_parse_fails(bad[i], strlen(bad[i]), OMS_ERR_PARSE);
    /* Malformed text is a parse error even when its digits alone would overflow: syntax first. */
    assert_parse_fails("99999999999999999999x", 21, OMS_ERR_PARSE);
    assert_parse_fails("99999999999999999999.", 21, OMS_ERR_PARSE);
    assert_parse_fails("99999999999.000000001", 21, OMS_ERR_PARSE);
    /* NULL text is no number. */
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_parse(NULL, 0, &v), OMS_ERR_PARSE);
    assert_int_equal(oms_dec_parse_cstr(NULL, &v), OMS_ERR_PARSE);
    assert_int_equal(oms_dec_parse_cstr("", &v), OMS_ERR_PARSE);
    assert_int_equal(oms_dec_parse_cstr("1 ", &v), OMS_ERR_PARSE);
    assert_true(v == SENTINEL);
}

static void test_core_dec_parse_respects_len(void **state)
{
    (void)state;
    /* An embedded NUL inside len is a character like any other, and so garbage. */
    assert_parse_fails("1\0", 2, OMS_ERR_PARSE);
    assert_parse_fails("1\0002", 3, OMS_ERR_PARSE);
    assert_parse_fails("\0", 1, OMS_ERR_PARSE);
    assert_parse_fails("1.5\0", 4, OMS_ERR_PARSE);
    /* Only len bytes are read: no NUL needed, bytes after len ignored. */
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_parse("12345", 2, &v), 0);
    assert_true(v == 12 * OMS_DEC_SCALE);
    assert_int_equal(oms_dec_parse("1.5garbage", 3, &v), 0);
    assert_true(v == 150000000LL);
    char exact[3] = {'4', '.', '2'}; /* not NUL-terminated */
    assert_int_equal(oms_dec_parse(exact, sizeof exact, &v), 0);
    assert_true(v == 420000000LL);
    /* The C-string form stops at the first NUL. */
    assert_int_equal(oms_dec_parse_cstr("7\0garbage", &v), 0);
    assert_true(v == 7 * OMS_DEC_SCALE);
}

static void test_core_dec_parse_long_inputs(void **state)
{
    (void)state;
    enum { N = 100000 };
    char *s = malloc(N + 32);
    assert_non_null(s);
    oms_dec_t v = SENTINEL;

    /* Very many significant digits: well-formed, out of range. */
    memset(s, '9', N);
    assert_parse_fails(s, N, OMS_ERR_OVERFLOW);
    s[0] = '-';
    assert_parse_fails(s, N, OMS_ERR_OVERFLOW);
    s[0] = '9';
    s[N - 1] = 'x';
    assert_parse_fails(s, N, OMS_ERR_PARSE);

    /* Very many leading zeros in front of a number that fits. */
    memset(s, '0', N);
    memcpy(s + N, "92233720368.54775807", 20);
    assert_int_equal(oms_dec_parse(s, N + 20, &v), 0);
    assert_true(v == OMS_DEC_MAX);
    memcpy(s + N, "92233720368.54775808", 20);
    assert_parse_fails(s, N + 20, OMS_ERR_OVERFLOW);
    s[0] = '-';
    memcpy(s + N, "1.5", 3);
    assert_int_equal(oms_dec_parse(s, N + 3, &v), 0);
    assert_true(v == -150000000LL);
    s[0] = '0';
    assert_int_equal(oms_dec_parse(s, N, &v), 0); /* all zeros */
    assert_true(v == 0);

    /* Very many trailing fractional zeros. */
    memset(s, '0', N);
    memcpy(s, "3.14", 4);
    assert_int_equal(oms_dec_parse(s, N, &v), 0);
    assert_true(v == 314000000LL);
    s[N - 1] = '1'; /* a non-zero digit far past the 8th place */
    assert_parse_fails(s, N, OMS_ERR_PARSE);
    free(s);
}

static void test_core_dec_format_rejects(void **state)
{
    (void)state;
    char buf[64];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(oms_dec_format(INT64_MIN, buf, sizeof buf), OMS_ERR_INVALID);
    assert_int_equal(buf[0], '\0');
    /* The buffer must be OMS_DEC_STR_MAX whatever the value, so a short one fails at once. */
    assert_int_equal(oms_dec_format(1, buf, OMS_DEC_STR_MAX - 1), OMS_ERR_INVALID);
    assert_int_equal(oms_dec_format(1, buf, 0), OMS_ERR_INVALID);
    assert_int_equal(oms_dec_format(1, NULL, 64), OMS_ERR_INVALID);
    /* The longest values fit exactly, with no write past OMS_DEC_STR_MAX. */
    char tight[OMS_DEC_STR_MAX];
    assert_int_equal(oms_dec_format(OMS_DEC_MIN, tight, sizeof tight), 21);
    assert_string_equal(tight, "-92233720368.54775807");
    assert_int_equal(oms_dec_format(OMS_DEC_MAX, tight, sizeof tight), 20);
    assert_string_equal(tight, "92233720368.54775807");
}

static void test_core_dec_random_roundtrip(void **state)
{
    (void)state;
    rng_state = 42;
    char buf[OMS_DEC_STR_MAX];
    for (int i = 0; i < 200000; i++) {
        uint64_t r = rng_next();
        /* Mix magnitudes: full range, and values with few significant digits. */
        int64_t v = (int64_t)(r >> 1);
        switch (i % 4) {
        case 1:
            v %= 1000000000LL;
            break;
        case 2:
            v = (v % 100000LL) * 1000LL;
            break;
        case 3:
            v = (v % 1000LL) * OMS_DEC_SCALE;
            break;
        default:
            break;
        }
        if (r & 1)
            v = -v;
        int n = oms_dec_format(v, buf, sizeof buf);
        assert_true(n > 0 && n < OMS_DEC_STR_MAX);
        oms_dec_t back = SENTINEL;
        assert_int_equal(oms_dec_parse(buf, (size_t)n, &back), 0);
        assert_true(back == v);
        /* Shortest: never a trailing zero after a '.', never a bare '.'. */
        if (strchr(buf, '.') != NULL)
            assert_true(buf[n - 1] != '0' && buf[n - 1] != '.');
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Decimals: arithmetic                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void test_core_dec_from_int(void **state)
{
    (void)state;
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_from_int(0, &v), 0);
    assert_true(v == 0);
    assert_int_equal(oms_dec_from_int(-7, &v), 0);
    assert_true(v == -7 * OMS_DEC_SCALE);
    assert_int_equal(oms_dec_from_int(92233720368LL, &v), 0);
    assert_true(v == D("92233720368"));
    assert_int_equal(oms_dec_from_int(-92233720368LL, &v), 0);
    assert_true(v == D("-92233720368"));
    v = SENTINEL;
    assert_int_equal(oms_dec_from_int(92233720369LL, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_from_int(-92233720369LL, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_from_int(INT64_MAX, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_from_int(INT64_MIN, &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
}

static void test_core_dec_add_sub_edges(void **state)
{
    (void)state;
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_add(D("0.1"), D("0.2"), &v), 0);
    assert_true(v == D("0.3"));
    assert_int_equal(oms_dec_sub(D("0.1"), D("0.3"), &v), 0);
    assert_true(v == D("-0.2"));

    /* Exactly reaching the bounds is fine. */
    assert_int_equal(oms_dec_add(OMS_DEC_MAX - 1, 1, &v), 0);
    assert_true(v == OMS_DEC_MAX);
    assert_int_equal(oms_dec_add(OMS_DEC_MIN + 1, -1, &v), 0);
    assert_true(v == OMS_DEC_MIN);
    assert_int_equal(oms_dec_sub(OMS_DEC_MIN + 1, 1, &v), 0);
    assert_true(v == OMS_DEC_MIN);
    assert_int_equal(oms_dec_add(OMS_DEC_MAX, OMS_DEC_MIN, &v), 0);
    assert_true(v == 0);
    assert_int_equal(oms_dec_sub(OMS_DEC_MAX, OMS_DEC_MAX, &v), 0);
    assert_true(v == 0);
    assert_int_equal(oms_dec_sub(0, OMS_DEC_MAX, &v), 0);
    assert_true(v == OMS_DEC_MIN);

    /* One unit past either bound overflows, including landing exactly on INT64_MIN. */
    v = SENTINEL;
    assert_int_equal(oms_dec_add(OMS_DEC_MAX, 1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_add(OMS_DEC_MIN, -1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_sub(OMS_DEC_MIN, 1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_sub(OMS_DEC_MAX, -1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_add(OMS_DEC_MAX, OMS_DEC_MAX, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_add(OMS_DEC_MIN, OMS_DEC_MIN, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_sub(OMS_DEC_MIN, OMS_DEC_MAX, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_sub(OMS_DEC_MAX, OMS_DEC_MIN, &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
}

static void test_core_dec_int64_min_rejected(void **state)
{
    (void)state;
    const oms_dec_t m = INT64_MIN;
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_add(m, 0, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_add(0, m, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_add(m, OMS_DEC_MAX, &v), OMS_ERR_OVERFLOW); /* would be -1 */
    assert_int_equal(oms_dec_sub(m, 0, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_sub(0, m, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_sub(m, -1, &v), OMS_ERR_OVERFLOW); /* would be OMS_DEC_MIN */
    assert_int_equal(oms_dec_mul(m, 0, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(OMS_DEC_SCALE, m, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_div(m, OMS_DEC_SCALE, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_div(0, m, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_div(m, 0, &v), OMS_ERR_OVERFLOW); /* operand checked first */
    assert_int_equal(oms_dec_muldiv(m, 1, 1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_muldiv(1, m, 1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_muldiv(1, 1, m, &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
    char buf[OMS_DEC_STR_MAX];
    assert_int_equal(oms_dec_format(m, buf, sizeof buf), OMS_ERR_INVALID);
    assert_false(oms_dec_is_multiple(m, 1));
    assert_false(oms_dec_is_multiple(m, OMS_DEC_SCALE));
    assert_false(oms_dec_is_multiple(0, m));

    /* And no function ever produces it: the closest results stop at OMS_DEC_MIN. */
    assert_int_equal(oms_dec_mul(OMS_DEC_MIN, OMS_DEC_SCALE, &v), 0);
    assert_true(v == OMS_DEC_MIN);
    assert_int_equal(oms_dec_mul(OMS_DEC_MIN, OMS_DEC_SCALE + 1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_div(OMS_DEC_MIN, -OMS_DEC_SCALE, &v), 0);
    assert_true(v == OMS_DEC_MAX);
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MIN, OMS_DEC_MAX, OMS_DEC_MAX, &v), 0);
    assert_true(v == OMS_DEC_MIN);
}

static void test_core_dec_mul_half_to_even(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        /* exact products 0.5, 1.5, 2.5, 3.5 units: ties go to the even neighbour */
        {"0.00000001", "0.5", "0"},
        {"0.00000003", "0.5", "0.00000002"},
        {"0.00000005", "0.5", "0.00000002"},
        {"0.00000007", "0.5", "0.00000004"},
        {"-0.00000001", "0.5", "0"},
        {"0.00000001", "-0.5", "0"},
        {"-0.00000003", "0.5", "-0.00000002"},
        {"0.00000003", "-0.5", "-0.00000002"},
        {"-0.00000005", "-0.5", "0.00000002"},
        {"-0.00000007", "0.5", "-0.00000004"},
        /* just off a tie: nearest wins, whatever the parity */
        {"0.00000001", "0.50000001", "0.00000001"},
        {"0.00000001", "0.49999999", "0"},
        {"-0.00000001", "0.50000001", "-0.00000001"},
        {"-0.00000003", "0.49999999", "-0.00000001"},
        /* ordinary products */
        {"1.5", "2", "3"},
        {"-1.5", "2", "-3"},
        {"0.1", "0.1", "0.01"},
        {"123.45", "-1000", "-123450"},
        {"0.00000001", "0.00000001", "0"},
        {"10000", "0.00012345", "1.2345"},
        {"1.23456789", "1.1", "1.35802468"}, /* 1.358024679 -> up */
        {"1.23456789", "-1.1", "-1.35802468"},
        {"92233720368.54775807", "1", "92233720368.54775807"},
        {"-92233720368.54775807", "1", "-92233720368.54775807"},
        {"92233720368.54775807", "-1", "-92233720368.54775807"},
        {"92233720368.54775807", "0", "0"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        oms_dec_t v = SENTINEL;
        assert_int_equal(oms_dec_mul(D(cases[i].a), D(cases[i].b), &v), 0);
        assert_format(v, cases[i].want);
        /* Commutative. */
        oms_dec_t w = SENTINEL;
        assert_int_equal(oms_dec_mul(D(cases[i].b), D(cases[i].a), &w), 0);
        assert_true(v == w);
    }
}

static void test_core_dec_mul_overflow(void **state)
{
    (void)state;
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_mul(OMS_DEC_MAX, OMS_DEC_MAX, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(OMS_DEC_MAX, OMS_DEC_MIN, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(OMS_DEC_MIN, OMS_DEC_MIN, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(D("1000000"), D("1000000"), &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(D("-1000000"), D("1000000"), &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(OMS_DEC_MAX, D("1.00000001"), &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(OMS_DEC_MAX, 2, &v), 0); /* * 0.00000002: fits */
    assert_true(v == 184467440737LL);                     /* 184467440737.0955 units */
    v = SENTINEL;
    assert_int_equal(oms_dec_mul(D("46116860184.27387904"), D("2"), &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(D("46116860184.27387903"), D("2"), &v), 0);
    assert_true(v == INT64_MAX - 1);
    /* Ties at the bound: exactly MAX + 0.5 unit rounds to the even MAX + 1 and overflows;
     * exactly MAX - 0.5 unit rounds to the even MAX - 1. Same magnitudes negative. */
    const oms_dec_t a_hi = 6148914691236517205LL, b_hi = 150000000LL; /* a*b = 1e8*MAX + 5e7 */
    const oms_dec_t a_lo = 1418980313362273201LL, b_lo = 650000000LL; /* a*b = 1e8*MAX - 5e7 */
    v = SENTINEL;
    assert_int_equal(oms_dec_mul(a_hi, b_hi, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(-a_hi, b_hi, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_mul(a_hi, -b_hi, &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
    assert_int_equal(oms_dec_mul(a_lo, b_lo, &v), 0);
    assert_true(v == OMS_DEC_MAX - 1);
    assert_int_equal(oms_dec_mul(-a_lo, b_lo, &v), 0);
    assert_true(v == OMS_DEC_MIN + 1);
    assert_int_equal(oms_dec_mul(a_lo + 1, b_lo, &v), OMS_ERR_OVERFLOW);
    /* The same ties through muldiv: (2*MAX + 1) / 2 and (2*MAX - 1) / 2 in units. */
    assert_int_equal(oms_dec_muldiv(a_hi, 3, 2, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_muldiv(a_lo, 13, 2, &v), 0);
    assert_true(v == OMS_DEC_MAX - 1);
    assert_int_equal(oms_dec_muldiv(a_lo, 13, -2, &v), 0);
    assert_true(v == OMS_DEC_MIN + 1);
    v = SENTINEL;
    assert_int_equal(oms_dec_mul(OMS_DEC_MAX, D("1.00000001"), &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
}

static void test_core_dec_div_by_zero(void **state)
{
    (void)state;
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_div(D("1"), 0, &v), OMS_ERR_DIV_ZERO);
    assert_int_equal(oms_dec_div(0, 0, &v), OMS_ERR_DIV_ZERO);
    assert_int_equal(oms_dec_div(OMS_DEC_MIN, 0, &v), OMS_ERR_DIV_ZERO);
    assert_int_equal(oms_dec_muldiv(D("1"), D("1"), 0, &v), OMS_ERR_DIV_ZERO);
    assert_int_equal(oms_dec_muldiv(0, 0, 0, &v), OMS_ERR_DIV_ZERO);
    assert_true(v == SENTINEL);
}

static void test_core_dec_div_rounding(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"1", "3", "0.33333333"},
        {"2", "3", "0.66666667"},
        {"-1", "3", "-0.33333333"},
        {"-2", "3", "-0.66666667"},
        {"2", "-3", "-0.66666667"},
        {"-2", "-3", "0.66666667"},
        {"1", "8", "0.125"},
        {"10", "4", "2.5"},
        {"0.00000001", "2", "0"},          /* 0.5 unit -> 0 (even) */
        {"0.00000003", "2", "0.00000002"}, /* 1.5 -> 2 */
        {"0.00000005", "2", "0.00000002"}, /* 2.5 -> 2 */
        {"-0.00000001", "2", "0"},
        {"-0.00000003", "2", "-0.00000002"},
        {"0.00000005", "-2", "-0.00000002"},
        {"1", "0.00000001", "100000000"},
        {"92233720368.54775807", "1", "92233720368.54775807"},
        {"92233720368.54775807", "-1", "-92233720368.54775807"},
        {"1", "92233720368.54775807", "0"}, /* 1.08e-11 */
        {"100", "7", "14.28571429"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        oms_dec_t v = SENTINEL;
        assert_int_equal(oms_dec_div(D(cases[i].a), D(cases[i].b), &v), 0);
        assert_format(v, cases[i].want);
    }
    oms_dec_t v = SENTINEL;
    assert_int_equal(oms_dec_div(OMS_DEC_MAX, D("0.5"), &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_div(D("1000"), D("0.00000001"), &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_div(OMS_DEC_MIN, 1, &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
}

static void test_core_dec_muldiv_single_rounding(void **state)
{
    (void)state;
    oms_dec_t v = SENTINEL;
    /* Average price of 100 @ 10 and 100 @ 20: (10*100 + 20*100) / 200 = 15 exactly. */
    oms_dec_t n1, n2, notional;
    assert_int_equal(oms_dec_mul(D("10"), D("100"), &n1), 0);
    assert_int_equal(oms_dec_mul(D("20"), D("100"), &n2), 0);
    assert_int_equal(oms_dec_add(n1, n2, &notional), 0);
    assert_int_equal(oms_dec_muldiv(notional, D("1"), D("200"), &v), 0);
    assert_format(v, "15");
    /* Running average: avg(100 @ 10) re-weighted by its qty, plus the new fill. */
    oms_dec_t a1, a2;
    assert_int_equal(oms_dec_muldiv(D("10"), D("100"), D("200"), &a1), 0);
    assert_int_equal(oms_dec_muldiv(D("20"), D("100"), D("200"), &a2), 0);
    assert_int_equal(oms_dec_add(a1, a2, &v), 0);
    assert_format(v, "15");

    /* One rounding vs two: 0.00000001 * 0.5 / 0.5. mul then div loses the unit; muldiv keeps
     * the exact product and gives the exact answer. */
    oms_dec_t p;
    assert_int_equal(oms_dec_mul(D("0.00000001"), D("0.5"), &p), 0);
    assert_int_equal(oms_dec_div(p, D("0.5"), &v), 0);
    assert_format(v, "0");
    assert_int_equal(oms_dec_muldiv(D("0.00000001"), D("0.5"), D("0.5"), &v), 0);
    assert_format(v, "0.00000001");

    /* Pro-rata: 1 share split 1/3 : 2/3; each rounds once. */
    assert_int_equal(oms_dec_muldiv(D("1"), D("1"), D("3"), &v), 0);
    assert_format(v, "0.33333333");
    assert_int_equal(oms_dec_muldiv(D("1"), D("2"), D("3"), &v), 0);
    assert_format(v, "0.66666667");
    assert_int_equal(oms_dec_muldiv(D("-1"), D("2"), D("3"), &v), 0);
    assert_format(v, "-0.66666667");

    /* Ties in muldiv, both signs: 0.00000001 * 1 / 2 = 0.5 unit -> 0; 3 units / 2 -> 2. */
    assert_int_equal(oms_dec_muldiv(D("0.00000001"), D("1"), D("2"), &v), 0);
    assert_format(v, "0");
    assert_int_equal(oms_dec_muldiv(D("0.00000003"), D("1"), D("2"), &v), 0);
    assert_format(v, "0.00000002");
    assert_int_equal(oms_dec_muldiv(D("-0.00000003"), D("1"), D("2"), &v), 0);
    assert_format(v, "-0.00000002");
    assert_int_equal(oms_dec_muldiv(D("0.00000003"), D("-1"), D("2"), &v), 0);
    assert_format(v, "-0.00000002");
    assert_int_equal(oms_dec_muldiv(D("0.00000003"), D("1"), D("-2"), &v), 0);
    assert_format(v, "-0.00000002");
    assert_int_equal(oms_dec_muldiv(D("-0.00000005"), D("-1"), D("-2"), &v), 0);
    assert_format(v, "-0.00000002");

    /* No intermediate overflow: the product of two maxima is kept in 128 bits. */
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MAX, OMS_DEC_MAX, OMS_DEC_MAX, &v), 0);
    assert_true(v == OMS_DEC_MAX);
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MIN, OMS_DEC_MIN, OMS_DEC_MAX, &v), 0);
    assert_true(v == OMS_DEC_MAX);
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MAX, D("1000000"), D("1000000"), &v), 0);
    assert_true(v == OMS_DEC_MAX);
    assert_int_equal(oms_dec_muldiv(D("1000000"), D("1000000"), D("1000000"), &v), 0);
    assert_format(v, "1000000");
    /* ... but a result outside the range still overflows. */
    v = SENTINEL;
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MAX, OMS_DEC_MAX, OMS_DEC_MAX - 1, &v),
                     OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MAX, 2, 1, &v), OMS_ERR_OVERFLOW);
    assert_int_equal(oms_dec_muldiv(OMS_DEC_MAX, -2, 1, &v), OMS_ERR_OVERFLOW);
    assert_true(v == SENTINEL);
}

enum { REF_MUL, REF_DIV, REF_MULDIV };

static void test_core_dec_arith_matches_reference(void **state)
{
    (void)state;
    static const struct {
        int op;
        int64_t a, b, c;
        int rc;
        int64_t want;
    } ref[] = {
        {REF_DIV, -1LL, -533LL, 451298548LL, 0, 187617LL},
        {REF_MULDIV, -769561055LL, 246743923220501954LL, INT64_MAX, 0, -20587320LL},
        {REF_MUL, 455LL, -499359520148LL, -153621475679093LL, 0, -2272086LL},
        {REF_MUL, 811115080842591LL, -759734787653LL, 704576534840707LL, 0, -6162323437060918017LL},
        {REF_DIV, 110047159LL, 840551571284005LL, -6LL, 0, 13LL},
        {REF_MULDIV, -7LL, -897701404404805LL, 267LL, 0, 23535242812111LL},
        {REF_MULDIV, 8707153565823118505LL, -221078658518LL, -978396LL, OMS_ERR_OVERFLOW, 0LL},
        {REF_MULDIV, 837101LL, -491LL, -8LL, 0, 51377074LL},
        {REF_MULDIV, -5LL, 163373723945854LL, -119097669860474LL, 0, 7LL},
        {REF_MULDIV, -823007414021LL, -68417407887LL, 650924515241230LL, 0, 86504706LL},
        {REF_DIV, 721567025LL, 1579899411991899119LL, -1498588036140105512LL, 0, 0LL},
        {REF_MUL, 764LL, 284LL, 3LL, 0, 0LL},
        {REF_DIV, 955LL, 412819834335797LL, -9075909513565061017LL, 0, 0LL},
        {REF_MULDIV, 740231276221666LL, 609502LL, 267158655649457155LL, 0, 1689LL},
        {REF_DIV, 973985125958163LL, -788037LL, -5741811458234710322LL, 0, -123596369962090993LL},
        {REF_MUL, -214LL, -299612804LL, -439177710620379021LL, 0, 641LL},
        {REF_DIV, 81840342LL, 6LL, 5677304209650212461LL, 0, 1364005700000000LL},
        {REF_MUL, -314440LL, 616325466433854LL, -470403284631918237LL, 0, -1937973796655LL},
        {REF_MULDIV, 206LL, -7813098417276939819LL, -998500786525LL, 0, 1611914878LL},
        {REF_MUL, 534188LL, 599LL, -782718239284LL, 0, 3LL},
        {REF_MULDIV, 9LL, -438319507467527LL, -801351443727305LL, 0, 5LL},
        {REF_MUL, -INT64_MAX, 379884LL, 546585927452801LL, 0, -35038114628485397LL},
        {REF_DIV, -927030218478LL, 638161444917LL, 446074807LL, 0, -145265783LL},
        {REF_DIV, -878747LL, -499366152479LL, -210731454551866LL, 0, 176LL},
        {REF_MUL, 642LL, -861229LL, -33652663631LL, 0, -6LL},
        {REF_MULDIV, INT64_MAX, 4222321888903527878LL, -8847211172978497467LL, 0,
         -4401844251175679169LL},
        {REF_MULDIV, 2749519867526848865LL, -271620608LL, 295535435797122LL, 0, -2527027786402LL},
        {REF_MUL, -3298864002734595637LL, 643LL, 461LL, 0, -21211695537583LL},
        {REF_DIV, 2703611708186168440LL, -186147657224332LL, 4361488129556221618LL, 0,
         -1452401683964LL},
        {REF_MULDIV, 56LL, 586070240082871LL, -813810LL, 0, -40328741899LL},
        {REF_DIV, -695LL, -35230352LL, -30473330281LL, 0, 1973LL},
        {REF_MUL, -3LL, -229789257283LL, -5698975200558329598LL, 0, 6894LL},
        {REF_DIV, 694210LL, 558476927537923836LL, 219509892955326LL, 0, 0LL},
        {REF_MULDIV, -263156182433LL, INT64_MAX, -2LL, OMS_ERR_OVERFLOW, 0LL},
        {REF_DIV, 303730850822629LL, 709LL, 269599686254436622LL, OMS_ERR_OVERFLOW, 0LL},
        {REF_DIV, 993975356LL, -700000743753029263LL, -14409993305433807LL, 0, 0LL},
        {REF_DIV, -189591755670505310LL, 158488128300LL, -55664303LL, 0, -119625209600324LL},
        {REF_DIV, -340463835851871LL, 291209908LL, -667LL, 0, -116913548096678LL},
        {REF_MUL, 6LL, 843LL, 257907626200358LL, 0, 0LL},
        {REF_MULDIV, 132LL, 746965975020117LL, 463430LL, 0, 212760306201LL},
        {REF_DIV, -471087521371849LL, 146370221LL, 403739844028LL, 0, -321846560149587LL},
        {REF_MUL, -840LL, 195LL, -338LL, 0, 0LL},
        {REF_MUL, -9LL, -962491116154451692LL, -538746162LL, 0, 86624200454LL},
        {REF_MULDIV, 942189590079349855LL, 511240060848LL, 595655235136599298LL, 0, 808664198598LL},
        {REF_MULDIV, -343936779LL, 66208523540930194LL, -387191050348LL, 0, 58812171171174LL},
        {REF_MULDIV, 712LL, -389LL, 800296LL, 0, 0LL},
        {REF_MULDIV, 6215575966816828923LL, -299LL, 4688035619017995274LL, 0, -396LL},
        {REF_MULDIV, -788541LL, -538266779346904LL, 825486LL, 0, 514176405720978LL},
        {REF_DIV, -7LL, 752LL, -430077833280893797LL, 0, -930851LL},
        {REF_DIV, -475411361373560989LL, -256019897LL, 641LL, 0, 185693130473199506LL},
        {REF_DIV, 434851LL, 989330726712LL, -662248LL, 0, 44LL},
        {REF_MULDIV, -55942LL, 615LL, -674470LL, 0, 51LL},
        {REF_MULDIV, 87294962LL, -8LL, INT64_MAX, 0, 0LL},
        {REF_MUL, 2660020175436071540LL, -3LL, -142329704331295LL, 0, -79800605263LL},
        {REF_DIV, 639LL, -2LL, 229127290788LL, 0, -31950000000LL},
        {REF_MUL, -1LL, 831175705321LL, 4297967035317062159LL, 0, -8312LL},
        {REF_DIV, -545619883LL, -938637174LL, -248912445618644764LL, 0, 58128945LL},
        {REF_MULDIV, 86501626998453LL, -78519712866LL, -526576657992636738LL, 0, 12898564LL},
        {REF_MULDIV, 8592150116587767047LL, 830110703408268437LL, 2476918274573527578LL, 0,
         2879560399827144100LL},
        {REF_DIV, 1471124371416105448LL, 985961874440502179LL, 916676164LL, 0, 149207024LL},
    };
    for (size_t i = 0; i < ARRAY_LEN(ref); i++) {
        oms_dec_t v = SENTINEL;
        int rc = ref[i].op == REF_MUL   ? oms_dec_mul(ref[i].a, ref[i].b, &v)
                 : ref[i].op == REF_DIV ? oms_dec_div(ref[i].a, ref[i].b, &v)
                                        : oms_dec_muldiv(ref[i].a, ref[i].b, ref[i].c, &v);
        if (rc != ref[i].rc)
            fail_msg("reference row %zu: rc %s, want %s", i, oms_errname(rc),
                     oms_errname(ref[i].rc));
        if (rc == 0 && v != ref[i].want)
            fail_msg("reference row %zu: got %lld, want %lld", i, (long long)v,
                     (long long)ref[i].want);
        if (rc != 0)
            assert_true(v == SENTINEL);
    }
}

static void test_core_dec_is_multiple(void **state)
{
    (void)state;
    assert_true(oms_dec_is_multiple(D("1.5"), D("0.5")));
    assert_true(oms_dec_is_multiple(D("-1.5"), D("0.5")));
    assert_true(oms_dec_is_multiple(0, D("0.01")));
    assert_true(oms_dec_is_multiple(D("100"), D("100")));
    assert_true(oms_dec_is_multiple(D("10.05"), D("0.01")));
    assert_true(oms_dec_is_multiple(OMS_DEC_MAX, 1));
    assert_true(oms_dec_is_multiple(OMS_DEC_MIN, 1));
    assert_true(oms_dec_is_multiple(OMS_DEC_MAX, OMS_DEC_MAX));
    assert_true(oms_dec_is_multiple(OMS_DEC_MIN, OMS_DEC_MAX));
    assert_false(oms_dec_is_multiple(D("1.25"), D("0.5")));
    assert_false(oms_dec_is_multiple(D("-1.25"), D("0.5")));
    assert_false(oms_dec_is_multiple(D("10.005"), D("0.01")));
    assert_false(oms_dec_is_multiple(D("50"), D("100")));
    assert_false(oms_dec_is_multiple(OMS_DEC_MAX - 1, OMS_DEC_MAX));
    /* step <= 0 is never a valid step */
    assert_false(oms_dec_is_multiple(0, 0));
    assert_false(oms_dec_is_multiple(D("1"), 0));
    assert_false(oms_dec_is_multiple(D("1"), D("-0.5")));
    assert_false(oms_dec_is_multiple(D("-1"), D("-1")));
    assert_false(oms_dec_is_multiple(D("1"), OMS_DEC_MIN));
}

/* ------------------------------------------------------------------------------------------ */
/* Clock                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void assert_iso(int64_t ns, const char *want)
{
    char buf[32];
    int n = oms_clock_format_iso(ns, buf, sizeof buf);
    assert_int_equal(n, 30);
    assert_string_equal(buf, want);
    int64_t back = 0x1234;
    assert_int_equal(oms_clock_parse_iso(want, &back), 0);
    assert_true(back == ns);
}

static void test_core_clock_format_known(void **state)
{
    (void)state;
    assert_iso(0, "1970-01-01T00:00:00.000000000Z");
    assert_iso(1, "1970-01-01T00:00:00.000000001Z");
    assert_iso(1709164800LL * 1000000000LL, "2024-02-29T00:00:00.000000000Z");
    assert_iso(1709251199LL * 1000000000LL + 999999999LL, "2024-02-29T23:59:59.999999999Z");
    assert_iso(1795269053LL * 1000000000LL + 123456789LL, "2026-11-21T13:50:53.123456789Z");
    assert_iso(951782400LL * 1000000000LL, "2000-02-29T00:00:00.000000000Z");
    assert_iso(946684799LL * 1000000000LL + 5, "1999-12-31T23:59:59.000000005Z");
    /* Before 1970: negative timestamps are supported, floor semantics for the fraction. */
    assert_iso(-1, "1969-12-31T23:59:59.999999999Z");
    assert_iso(-1000000000LL, "1969-12-31T23:59:59.000000000Z");
    assert_iso(-1000000001LL, "1969-12-31T23:59:58.999999999Z");
    assert_iso(-86400LL * 1000000000LL, "1969-12-31T00:00:00.000000000Z");
    assert_iso(-2208988800LL * 1000000000LL, "1900-01-01T00:00:00.000000000Z");
    /* The int64 extremes. */
    assert_iso(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
    assert_iso(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
}

static void test_core_clock_matches_reference(void **state)
{
    (void)state;
    /* Generated by Python's datetime (1970-01-01 + timedelta, floor division for the ns). */
    static const struct {
        int64_t ns;
        const char *iso;
    } ref[] = {
        {6353642101577044334LL, "2171-05-04T12:35:01.577044334Z"},
        {-2181208638608201022LL, "1900-11-18T12:42:41.391798978Z"},
        {2183263237301919498LL, "2039-03-09T06:00:37.301919498Z"},
        {4771262980772252045LL, "2121-03-12T22:49:40.772252045Z"},
        {3944997645314961684LL, "2095-01-04T16:40:45.314961684Z"},
        {3740989393567432736LL, "2088-07-18T11:43:13.567432736Z"},
        {-2460313320495559595LL, "1892-01-14T03:37:59.504440405Z"},
        {850968935886284146LL, "1996-12-19T04:15:35.886284146Z"},
        {8389147088844218113LL, "2235-11-04T14:38:08.844218113Z"},
        {5750623505117279762LL, "2152-03-25T03:25:05.117279762Z"},
        {7721629070825263662LL, "2214-09-09T16:57:50.825263662Z"},
        {7271768343898378620LL, "2200-06-07T23:39:03.898378620Z"},
        {640075476732284951LL, "1990-04-14T06:44:36.732284951Z"},
        {1335199757510208282LL, "2012-04-23T16:49:17.510208282Z"},
        {-8809624852917817237LL, "1690-10-31T17:59:07.082182763Z"},
        {-4968833154453941382LL, "1812-07-18T08:34:05.546058618Z"},
        {454370747246995945LL, "1984-05-25T22:05:47.246995945Z"},
        {4185945371297180891LL, "2102-08-25T10:36:11.297180891Z"},
        {8152978002189586185LL, "2228-05-11T04:06:42.189586185Z"},
        {-7034941715473900899LL, "1747-01-27T01:31:24.526099101Z"},
        {8966372318637798036LL, "2254-02-18T10:58:38.637798036Z"},
        {-7964259135028643673LL, "1717-08-16T01:47:44.971356327Z"},
        {-4722046523656396491LL, "1820-05-13T16:24:36.343603509Z"},
        {-2430884930285043857LL, "1892-12-19T18:11:09.714956143Z"},
    };
    for (size_t i = 0; i < ARRAY_LEN(ref); i++)
        assert_iso(ref[i].ns, ref[i].iso);
}

static void test_core_clock_format_rejects_small_buffer(void **state)
{
    (void)state;
    char buf[64];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(oms_clock_format_iso(0, buf, 31), OMS_ERR_INVALID);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(oms_clock_format_iso(0, buf, 0), OMS_ERR_INVALID);
    assert_int_equal(oms_clock_format_iso(0, NULL, 64), OMS_ERR_INVALID);
    assert_int_equal(oms_clock_format_iso(0, buf, 32), 30);
}

static void test_core_clock_roundtrip_random(void **state)
{
    (void)state;
    rng_state = 20261121;
    char buf[32], want[64];
    for (int i = 0; i < 200000; i++) {
        int64_t ns = (int64_t)rng_next(); /* anywhere in the int64 range */
        if (i % 2)
            ns %= 4102444800LL * 1000000000LL; /* 1840..2100, where the data lives */
        assert_int_equal(oms_clock_format_iso(ns, buf, sizeof buf), 30);
        int64_t back = 0;
        assert_int_equal(oms_clock_parse_iso(buf, &back), 0);
        assert_true(back == ns);

        /* Independent oracle for the calendar: glibc's gmtime_r. */
        int64_t secs = ns / 1000000000LL, frac = ns % 1000000000LL;
        if (frac < 0) {
            frac += 1000000000LL;
            secs -= 1;
        }
        time_t t = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
        assert_string_equal(buf, want);
    }
}

static void test_core_clock_parse_forms(void **state)
{
    (void)state;
    const int64_t base = 1795269053LL * 1000000000LL; /* 2026-11-21T13:50:53Z */
    const int64_t midnight = 1795219200LL * 1000000000LL;
    static const struct {
        const char *s;
        int64_t off;
        bool date_only;
    } cases[] = {
        {"2026-11-21T13:50:53.123456789Z", 123456789, false},
        {"2026-11-21T13:50:53Z", 0, false},
        {"2026-11-21T13:50:53", 0, false},
        {"2026-11-21 13:50:53", 0, false},
        {"2026-11-21 13:50:53.5Z", 500000000, false},
        {"2026-11-21T13:50:53.1", 100000000, false},
        {"2026-11-21T13:50:53.12", 120000000, false},
        {"2026-11-21T13:50:53.000000001Z", 1, false},
        {"2026-11-21T13:50:53.00000001Z", 10, false},
        {"2026-11-21T13:50:53.000000000", 0, false},
        {"2026-11-21", 0, true},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t ns = 0;
        int rc = oms_clock_parse_iso(cases[i].s, &ns);
        if (rc != 0)
            fail_msg("\"%s\" rejected: %s", cases[i].s, oms_errname(rc));
        assert_true(ns == (cases[i].date_only ? midnight : base) + cases[i].off);
    }
    int64_t ns = 0;
    assert_int_equal(oms_clock_parse_iso("2024-02-29", &ns), 0);
    assert_true(ns == 1709164800LL * 1000000000LL);
    assert_int_equal(oms_clock_parse_iso("2000-02-29T12:00:00Z", &ns), 0);
    assert_int_equal(oms_clock_parse_iso("2023-12-31T23:59:59.999999999Z", &ns), 0);
    assert_int_equal(oms_clock_parse_iso("1900-01-01T00:00:00Z", &ns), 0);
    assert_true(ns == -2208988800LL * 1000000000LL);
}

static void test_core_clock_parse_rejects_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        /* impossible dates and times */
        "2023-02-29",
        "2023-02-29T00:00:00Z",
        "1900-02-29",
        "2100-02-29",
        "2024-02-30",
        "2024-04-31",
        "2024-06-31",
        "2024-09-31",
        "2024-11-31",
        "2024-01-32",
        "2024-00-10",
        "2024-13-01",
        "2024-01-00",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:60Z",
        "2024-01-01T99:99:99Z",
        /* missing or malformed parts */
        "",
        "garbage",
        "2024",
        "2024-01",
        "2024-1-01",
        "2024-01-1",
        "24-01-01",
        "20240101",
        "2024-01-01T",
        "2024-01-01T12",
        "2024-01-01T12:00",
        "2024-01-01T12:00Z",
        "2024-01-01T1:00:00Z",
        "2024-01-01T12:00:00.",
        "2024-01-01T12:00:00.Z",
        "2024-01-01T12:00:00.1234567890Z",
        "2024/01/01",
        "2024-01-01X12:00:00",
        "2024-01-01t12:00:00Z",
        "2024-01-01T12:00:00z",
        "2024-01-01T12:00:00ZZ",
        "2024-01-01T12:00:00Z ",
        " 2024-01-01",
        "2024-01-01 ",
        "2024-01-01Z",
        "2024-01-01T12:00:00+00:00",
        "2024-01-01T12:00:00-05:00",
        "+2024-01-01",
        "-2024-01-01",
        "12024-01-01",
        "2024-01-01T12:00:00,5Z",
        "2024-01-01T12:00:00.-5Z",
        "2024-01-01T-1:00:00",
        "2024-0a-01",
        "2024-01-01T12:0a:00Z",
        /* well-formed but outside the int64 nanosecond range */
        "0000-01-01",
        "1677-09-21T00:12:43.145224191Z",
        "1600-01-01",
        "2262-04-11T23:47:16.854775808Z",
        "2263-01-01",
        "9999-12-31T23:59:59.999999999Z",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t ns = 0x77;
        int rc = oms_clock_parse_iso(bad[i], &ns);
        if (rc != OMS_ERR_PARSE)
            fail_msg("\"%s\": got %s, want OMS_ERR_PARSE", bad[i], oms_errname(rc));
        assert_true(ns == 0x77);
    }
    int64_t ns = 0x77;
    assert_int_equal(oms_clock_parse_iso(NULL, &ns), OMS_ERR_PARSE);
    /* Embedded NUL ends the string: what precedes it must stand alone. */
    assert_int_equal(oms_clock_parse_iso("2024-01-01T12\0:00:00Z", &ns), OMS_ERR_PARSE);
    assert_true(ns == 0x77);
    /* The extremes themselves are accepted. */
    assert_int_equal(oms_clock_parse_iso("1677-09-21T00:12:43.145224192Z", &ns), 0);
    assert_true(ns == INT64_MIN);
    assert_int_equal(oms_clock_parse_iso("2262-04-11T23:47:16.854775807Z", &ns), 0);
    assert_true(ns == INT64_MAX);
}

static void test_core_clock_now_plausible(void **state)
{
    (void)state;
    const int64_t y2020 = 1577836800LL * 1000000000LL;
    const int64_t y2200 = 7258118400LL * 1000000000LL;
    int64_t now = oms_clock_now_ns();
    assert_true(now > y2020);
    assert_true(now < y2200);
    char buf[32];
    assert_int_equal(oms_clock_format_iso(now, buf, sizeof buf), 30);
    int64_t back = 0;
    assert_int_equal(oms_clock_parse_iso(buf, &back), 0);
    assert_true(back == now);
}

static void test_core_clock_mono_non_decreasing(void **state)
{
    (void)state;
    int64_t prev = oms_clock_mono_ns();
    assert_true(prev >= 0);
    for (int i = 0; i < 100000; i++) {
        int64_t t = oms_clock_mono_ns();
        assert_true(t >= prev);
        prev = t;
    }
    /* And it advances across a short sleep. */
    struct timespec ts = {0, 2000000};
    int64_t before = oms_clock_mono_ns();
    nanosleep(&ts, NULL);
    assert_true(oms_clock_mono_ns() - before >= 2000000);
}

/* ------------------------------------------------------------------------------------------ */
/* Hash                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void hash_hex(const void *data, size_t len, char out[65])
{
    oms_hash_t h;
    oms_hash(data, len, &h);
    assert_int_equal(oms_hash_hex(&h, out, 65), 64);
}

static void test_core_hash_known_answers(void **state)
{
    (void)state;
    /* python3 -c "import hashlib;print(hashlib.blake2b(b'abc',digest_size=32).hexdigest())" */
    char hex[65];
    hash_hex("", 0, hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    hash_hex("abc", 3, hex);
    assert_string_equal(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    hash_hex(NULL, 0, hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

static void test_core_hash_streaming_equals_oneshot(void **state)
{
    (void)state;
    uint8_t data[1000];
    rng_state = 7;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)rng_next();
    static const size_t lens[] = {0, 1, 3, 127, 128, 129, 256, 1000};
    for (size_t li = 0; li < ARRAY_LEN(lens); li++) {
        size_t len = lens[li];
        oms_hash_t one;
        oms_hash(data, len, &one);
        /* Every split point into two updates, plus byte-at-a-time. */
        for (size_t cut = 0; cut <= len; cut++) {
            oms_hash_state_t st;
            oms_hash_t two;
            oms_hash_begin(&st);
            oms_hash_update(&st, data, cut);
            oms_hash_update(&st, data + cut, len - cut);
            oms_hash_end(&st, &two);
            assert_true(oms_hash_equal(&one, &two));
            assert_memory_equal(one.bytes, two.bytes, OMS_HASH_LEN);
        }
        oms_hash_state_t st;
        oms_hash_t bytes;
        oms_hash_begin(&st);
        for (size_t i = 0; i < len; i++)
            oms_hash_update(&st, data + i, 1);
        oms_hash_end(&st, &bytes);
        assert_true(oms_hash_equal(&one, &bytes));
    }
    /* abc in pieces gives the known answer. */
    oms_hash_state_t st;
    oms_hash_t h;
    char hex[65];
    oms_hash_begin(&st);
    oms_hash_update(&st, "a", 1);
    oms_hash_update(&st, NULL, 0);
    oms_hash_update(&st, "bc", 2);
    oms_hash_end(&st, &h);
    oms_hash_hex(&h, hex, sizeof hex);
    assert_string_equal(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

/* A small deterministic generator for the hash tests' bytes. */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_core_hash_many_is_blake2b(void **state)
{
    (void)state;
    static uint8_t buf[2048];
    uint64_t rng = 99;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)s_rand(&rng);
    int tested = 0;
    for (int impl = OMS_HASH_IMPL_AUTO; impl <= OMS_HASH_IMPL_AVX512; impl++) {
        const uint8_t *msg[40];
        size_t len[40];
        oms_hash_t out[40], ref;
        if (oms_hash_many_with(impl, msg, len, 0, out) != 0)
            continue; /* not on this CPU */
        tested++;
        for (size_t n = 1; n <= 37; n += 4) {
            for (size_t base = 0; base <= 700; base++) {
                for (size_t i = 0; i < n; i++) {
                    len[i] = i == 0 ? base : (base * 7 + i * 131) % 701;
                    msg[i] = buf + (base + i * 17) % 1024;
                }
                assert_int_equal(oms_hash_many_with(impl, msg, len, n, out), 0);
                for (size_t i = 0; i < n; i++) {
                    oms_hash(msg[i], len[i], &ref);
                    assert_memory_equal(ref.bytes, out[i].bytes, OMS_HASH_LEN);
                }
            }
        }
    }
    assert_true(tested >= 2); /* AUTO and ONE at least */
    assert_int_equal(oms_hash_many_with(99, NULL, NULL, 0, NULL), -1); /* no such implementation */
}

/* Absorbing a message's first whole blocks (several messages side by side) and finishing each
 * with the rest gives exactly oms_hash of the whole message, for every implementation, every
 * split point that leaves a last block, and messages with nothing to absorb. */
static void test_core_hash_absorb_then_finish_is_blake2b(void **state)
{
    (void)state;
    static uint8_t buf[2048];
    uint64_t rng = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)s_rand(&rng);
    int tested = 0;
    for (int impl = OMS_HASH_IMPL_AUTO; impl <= OMS_HASH_IMPL_AVX512; impl++) {
        const uint8_t *msg[24];
        uint32_t nblk[24];
        size_t len[24];
        oms_hash_mid_t mid[24];
        oms_hash_t out, ref;
        if (oms_hash_absorb_many_with(impl, msg, nblk, 0, mid) != 0)
            continue; /* not on this CPU */
        tested++;
        for (size_t n = 1; n <= 23; n += 2) {
            for (size_t base = 0; base <= 900; base += 3) {
                for (size_t i = 0; i < n; i++) {
                    len[i] = i == 0 ? base : (base * 5 + i * 97) % 901;
                    msg[i] = buf + (base + i * 29) % 1024;
                    /* as many whole blocks as leave at least one byte, or fewer */
                    uint32_t most = len[i] ? (uint32_t)((len[i] - 1) / 128) : 0;
                    nblk[i] = (uint32_t)(s_rand(&rng) % (most + 1));
                }
                assert_int_equal(oms_hash_absorb_many_with(impl, msg, nblk, n, mid), 0);
                for (size_t i = 0; i < n; i++) {
                    size_t done = (size_t)nblk[i] * 128;
                    assert_int_equal(mid[i].t, done);
                    oms_hash_finish(&mid[i], msg[i] + done, len[i] - done, &out);
                    oms_hash(msg[i], len[i], &ref);
                    assert_memory_equal(ref.bytes, out.bytes, OMS_HASH_LEN);
                }
            }
        }
    }
    assert_true(tested >= 2);
    /* A state can be finished twice with different ends: it is plain data, not consumed. */
    const uint8_t *m0 = buf;
    uint32_t two = 2;
    oms_hash_mid_t mid;
    oms_hash_absorb_many(&m0, &two, 1, &mid);
    oms_hash_t a, b, ra, rb;
    oms_hash_finish(&mid, buf + 256, 10, &a);
    oms_hash_finish(&mid, buf + 256, 200, &b);
    oms_hash(buf, 266, &ra);
    oms_hash(buf, 456, &rb);
    assert_memory_equal(a.bytes, ra.bytes, OMS_HASH_LEN);
    assert_memory_equal(b.bytes, rb.bytes, OMS_HASH_LEN);
}

static void test_core_hash_hex_and_equal(void **state)
{
    (void)state;
    oms_hash_t a, b;
    oms_hash("abc", 3, &a);
    oms_hash("abd", 3, &b);
    assert_true(oms_hash_equal(&a, &a));
    assert_false(oms_hash_equal(&a, &b));
    oms_hash_t c = a;
    c.bytes[OMS_HASH_LEN - 1] ^= 1; /* last byte differs */
    assert_false(oms_hash_equal(&a, &c));
    c = a;
    c.bytes[0] ^= 0x80; /* first byte differs */
    assert_false(oms_hash_equal(&a, &c));

    /* hex is 64 lower-case hex digits and NUL-terminated, two per byte, most significant first. */
    oms_hash_t z;
    for (int i = 0; i < OMS_HASH_LEN; i++)
        z.bytes[i] = (uint8_t)(i * 8 + 0x0f);
    char hex[80];
    memset(hex, 'x', sizeof hex);
    assert_int_equal(oms_hash_hex(&z, hex, 65), 64);
    assert_int_equal(strlen(hex), 64);
    assert_memory_equal(hex, "0f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff07",
                        64);
}

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void test_core_error_strings_distinct(void **state)
{
    (void)state;
    static const struct {
        int value;
        const char *name;
        const char *text;
    } all[] = {
#define ROW_(name, value, text) {value, #name, text},
        OMS_ERRORS(ROW_)
#undef ROW_
    };
    assert_true(ARRAY_LEN(all) >= 17);
    assert_int_equal(all[0].value, OMS_OK);
    for (size_t i = 0; i < ARRAY_LEN(all); i++) {
        const char *s = oms_strerror(all[i].value);
        const char *n = oms_errname(all[i].value);
        assert_non_null(s);
        assert_non_null(n);
        assert_true(s[0] != '\0');
        assert_true(n[0] != '\0');
        assert_string_equal(s, all[i].text);
        assert_string_equal(n, all[i].name);
        assert_string_not_equal(s, "unknown error");
        assert_string_not_equal(n, "OMS_ERR_UNKNOWN");
        if (i > 0)
            assert_true(all[i].value < 0); /* every error is negative */
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all[i].value, all[j].value);
            assert_string_not_equal(s, oms_strerror(all[j].value));
            assert_string_not_equal(n, oms_errname(all[j].value));
        }
    }
    /* Values are stable: spot-check a few that appear in logs. */
    assert_int_equal(OMS_ERR_INVALID, -1);
    assert_int_equal(OMS_ERR_PARSE, -2);
    assert_int_equal(OMS_ERR_OVERFLOW, -3);
    assert_int_equal(OMS_ERR_STATE, -16);
    assert_int_equal(OMS_ERR_INTERRUPTED, -17);
    assert_string_equal(oms_errname(OMS_ERR_IO), "OMS_ERR_IO");
}

static void test_core_error_unknown(void **state)
{
    (void)state;
    static const int unknown[] = {1, 42, -18, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
        assert_string_equal(oms_strerror(unknown[i]), "unknown error");
        assert_string_equal(oms_errname(unknown[i]), "OMS_ERR_UNKNOWN");
    }
}

int main(void)
{
    if (oms_hash_init() != 0) {
        fprintf(stderr, "libsodium failed to initialise\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_dec_parse_format_roundtrip),
        cmocka_unit_test(test_core_dec_parse_extra_fraction_digits),
        cmocka_unit_test(test_core_dec_parse_bounds),
        cmocka_unit_test(test_core_dec_parse_rejects_garbage),
        cmocka_unit_test(test_core_dec_parse_respects_len),
        cmocka_unit_test(test_core_dec_parse_long_inputs),
        cmocka_unit_test(test_core_dec_format_rejects),
        cmocka_unit_test(test_core_dec_random_roundtrip),
        cmocka_unit_test(test_core_dec_from_int),
        cmocka_unit_test(test_core_dec_add_sub_edges),
        cmocka_unit_test(test_core_dec_int64_min_rejected),
        cmocka_unit_test(test_core_dec_mul_half_to_even),
        cmocka_unit_test(test_core_dec_mul_overflow),
        cmocka_unit_test(test_core_dec_div_by_zero),
        cmocka_unit_test(test_core_dec_div_rounding),
        cmocka_unit_test(test_core_dec_muldiv_single_rounding),
        cmocka_unit_test(test_core_dec_arith_matches_reference),
        cmocka_unit_test(test_core_dec_is_multiple),
        cmocka_unit_test(test_core_clock_format_known),
        cmocka_unit_test(test_core_clock_matches_reference),
        cmocka_unit_test(test_core_clock_format_rejects_small_buffer),
        cmocka_unit_test(test_core_clock_roundtrip_random),
        cmocka_unit_test(test_core_clock_parse_forms),
        cmocka_unit_test(test_core_clock_parse_rejects_invalid),
        cmocka_unit_test(test_core_clock_now_plausible),
        cmocka_unit_test(test_core_clock_mono_non_decreasing),
        cmocka_unit_test(test_core_hash_known_answers),
        cmocka_unit_test(test_core_hash_streaming_equals_oneshot),
        cmocka_unit_test(test_core_hash_many_is_blake2b),
        cmocka_unit_test(test_core_hash_absorb_then_finish_is_blake2b),
        cmocka_unit_test(test_core_hash_hex_and_equal),
        cmocka_unit_test(test_core_error_strings_distinct),
        cmocka_unit_test(test_core_error_unknown),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
