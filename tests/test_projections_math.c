/*
 * test_projections_math.c - proves the projections' exact arithmetic (projections/math.c):
 *
 *   average price   an order's px_qty_sum / cum is exact (100 @ 10 + 100 @ 20 is 15) and rounds
 *                   once, half to even; no fills gives no price.
 *   positions       adding moves the average cost exactly; reducing realizes
 *                   (px - avg) x closed x multiplier with the right sign for longs and shorts,
 *                   crossing zero opens the rest at the trade price, closing to flat leaves a
 *                   cost of exactly 0, the closed cost rounds half to even at 16 places and the
 *                   realized P&L once at 8 places; 128-bit extremes (cost ~2^126) stay exact;
 *                   overflow is OMS_ERR_OVERFLOW and bad arguments OMS_ERR_INVALID, both with
 *                   the position untouched; seeded random trade sequences over small, tiny and
 *                   huge magnitudes agree bit for bit with an independent reference (magnitude
 *                   rounding over a 192-bit product) and conserve cash exactly.
 *   allocation      pro-rata in whole lots by largest remainder, ties to the smaller account id
 *                   whatever the instructions' order (1,000 over 1:1:1 is 334/333/333 with A
 *                   first); weights and target quantities both work; invalid input is refused
 *                   with out untouched; 100,000 seeded random splits (n 1..256, any weights and
 *                   lots) always sum to the total, give whole lots within one lot of the ideal
 *                   share, honour the largest-remainder order, and do not depend on the order
 *                   of the instructions.
 *   dirty set       the batch journal names each touched record exactly once as a first touch,
 *                   also when a savepoint rolled back a record's first touch and a later
 *                   command touched it again (the engine writes one row per such entry).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proj_internal.h"
#include "projections.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define SENTINEL     ((oms_dec_t)0x5a5a5a5a5a5a5a5aLL)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define E16_PER_E8   ((i128)OMS_DEC_SCALE * (i128)OMS_DEC_SCALE)

/* Deterministic PRNG (splitmix64) so every run sees the same "random" cases. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi - lo < 2^64 - 1). */
static int64_t rng_range(int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1u;
    return (int64_t)((uint64_t)lo + (span == 0 ? rng_next() : rng_next() % span));
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

/* Decimal text of a 128-bit value (for failure messages). */
static const char *i128_str(i128 v, char *buf)
{
    char tmp[48];
    size_t n = 0;
    u128 m = v < 0 ? (u128)0 - (u128)v : (u128)v;
    do {
        tmp[n++] = (char)('0' + (int)(m % 10u));
        m /= 10u;
    } while (m != 0);
    size_t pos = 0;
    if (v < 0)
        buf[pos++] = '-';
    while (n > 0)
        buf[pos++] = tmp[--n];
    buf[pos] = '\0';
    return buf;
}

static void assert_i128_equal(i128 got, i128 want)
{
    if (got != want) {
        char a[48], b[48];
        fail_msg("got %s, want %s", i128_str(got, a), i128_str(want, b));
    }
}

static void assert_dec_equal(oms_dec_t got, oms_dec_t want)
{
    if (got != want) {
        char a[OMS_DEC_STR_MAX], b[OMS_DEC_STR_MAX];
        oms_dec_format(got, a, sizeof a);
        oms_dec_format(want, b, sizeof b);
        fail_msg("got %s, want %s", a, b);
    }
}

static proj_position_t pos_new(void)
{
    proj_position_t p;
    memset(&p, 0, sizeof p);
    strcpy(p.account_id, "ACC");
    strcpy(p.instrument_id, "XYZ");
    return p;
}

/* A trade that must succeed. */
static void trade(proj_position_t *p, const char *qty, const char *px, const char *mult)
{
    int rc = proj_position_trade(p, D(qty), D(px), D(mult));
    if (rc != 0)
        fail_msg("trade %s @ %s x %s: %s", qty, px, mult, oms_errname(rc));
}

/* A trade that must fail with rc and leave the position byte for byte as it was. */
static void assert_trade_fails(proj_position_t *p, oms_dec_t qty, oms_dec_t px, oms_dec_t mult,
                               int rc)
{
    proj_position_t before;
    memcpy(&before, p, sizeof before);
    int got = proj_position_trade(p, qty, px, mult);
    if (got != rc)
        fail_msg("trade %lld @ %lld x %lld: got %s, want %s", (long long)qty, (long long)px,
                 (long long)mult, oms_errname(got), oms_errname(rc));
    assert_memory_equal(&before, p, sizeof before);
}

/* ------------------------------------------------------------------------------------------ */
/* Order average price                                                                         */
/* ------------------------------------------------------------------------------------------ */

static proj_order_t order_with(i128 px_qty_sum, oms_dec_t cum)
{
    proj_order_t o;
    memset(&o, 0, sizeof o);
    o.px_qty_sum = px_qty_sum;
    o.cum = cum;
    return o;
}

static void test_projections_order_avg_px_exact(void **state)
{
    (void)state;
    /* 100 @ 10 then 100 @ 20. */
    i128 sum = (i128)D("100") * D("10") + (i128)D("100") * D("20");
    proj_order_t o = order_with(sum, D("200"));
    oms_opt_dec_t a = proj_order_avg_px(&o);
    assert_true(a.set);
    assert_dec_equal(a.v, D("15"));

    /* 1 @ 10 + 2 @ 11 = 32 / 3 = 10.666666666... -> 10.66666667. */
    o = order_with((i128)D("1") * D("10") + (i128)D("2") * D("11"), D("3"));
    a = proj_order_avg_px(&o);
    assert_true(a.set);
    assert_dec_equal(a.v, D("10.66666667"));

    /* 2 @ 10 + 1 @ 11 = 31 / 3 = 10.333333333... -> 10.33333333. */
    o = order_with((i128)D("2") * D("10") + (i128)D("1") * D("11"), D("3"));
    assert_dec_equal(proj_order_avg_px(&o).v, D("10.33333333"));

    /* Exact halves of the last place round to even: 2.5 -> 2, 3.5 -> 4 (units of 10^-8). */
    o = order_with((i128)1 * 1 + (i128)1 * 4, 2); /* 1 raw @ 1 raw + 1 raw @ 4 raw */
    assert_dec_equal(proj_order_avg_px(&o).v, 2);
    o = order_with((i128)1 * 3 + (i128)1 * 4, 2);
    assert_dec_equal(proj_order_avg_px(&o).v, 4);

    /* The largest price stays representable. */
    o = order_with((i128)OMS_DEC_MAX * OMS_DEC_MAX, OMS_DEC_MAX);
    assert_dec_equal(proj_order_avg_px(&o).v, OMS_DEC_MAX);
}

static void test_projections_order_avg_px_no_fills(void **state)
{
    (void)state;
    proj_order_t o = order_with(0, 0);
    oms_opt_dec_t a = proj_order_avg_px(&o);
    assert_false(a.set);
    /* An inconsistent order whose quotient leaves the range has no price either. */
    o = order_with((i128)OMS_DEC_MAX * OMS_DEC_MAX, 1);
    assert_false(proj_order_avg_px(&o).set);
}

static void test_projections_avg_rounding_symmetric(void **state)
{
    (void)state;
    /* Only an inconsistent record has a negative quotient, but rounding stays symmetric:
     * -1.5 -> -2, -2.5 -> -2, -2.4 -> -2, -2.6 -> -3 (units of 10^-8). */
    static const struct {
        i128 num;
        oms_dec_t den, want;
    } cases[] = {{-3, 2, -2}, {-5, 2, -2}, {-12, 5, -2}, {-13, 5, -3}, {3, -2, -2}, {-3, -2, 2}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        proj_order_t o = order_with(cases[i].num, cases[i].den);
        oms_opt_dec_t a = proj_order_avg_px(&o);
        assert_true(a.set);
        assert_dec_equal(a.v, cases[i].want);
        proj_position_t p = pos_new();
        p.qty = cases[i].den;
        p.cost_basis = cases[i].num;
        assert_dec_equal(proj_position_avg_cost(&p), cases[i].want);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Positions                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void test_projections_position_adds_at_average(void **state)
{
    (void)state;
    proj_position_t p = pos_new();
    assert_dec_equal(proj_position_avg_cost(&p), 0);
    trade(&p, "100", "10", "1");
    trade(&p, "100", "20", "1");
    assert_dec_equal(p.qty, D("200"));
    assert_i128_equal(p.cost_basis, (i128)D("3000") * OMS_DEC_SCALE);
    assert_dec_equal(proj_position_avg_cost(&p), D("15"));
    assert_dec_equal(p.realized_pnl, 0);

    /* A short's average cost is positive too (cost_basis is signed like qty). */
    proj_position_t s = pos_new();
    trade(&s, "-100", "10", "1");
    trade(&s, "-50", "13", "1");
    assert_dec_equal(s.qty, D("-150"));
    assert_true(s.cost_basis < 0);
    assert_dec_equal(proj_position_avg_cost(&s), D("11"));

    /* Average cost rounds half to even: 3 raw over 2 raw = 1.5 -> 2; 5 / 2 = 2.5 -> 2. */
    proj_position_t r = pos_new();
    assert_int_equal(proj_position_trade(&r, 1, 1, OMS_DEC_SCALE), 0);
    assert_int_equal(proj_position_trade(&r, 1, 2, OMS_DEC_SCALE), 0);
    assert_dec_equal(proj_position_avg_cost(&r), 2);
    assert_int_equal(proj_position_trade(&r, 1, 1, OMS_DEC_SCALE), 0);
    assert_int_equal(proj_position_trade(&r, 1, 1, OMS_DEC_SCALE), 0); /* 5 over 4: 1.25 */
    assert_dec_equal(proj_position_avg_cost(&r), 1);
    r = pos_new();
    assert_int_equal(proj_position_trade(&r, -2, 2, OMS_DEC_SCALE), 0);
    assert_int_equal(proj_position_trade(&r, -2, 3, OMS_DEC_SCALE), 0); /* -10 over -4: 2.5 */
    assert_dec_equal(proj_position_avg_cost(&r), 2);
}

static void test_projections_position_long_crosses_to_short(void **state)
{
    (void)state;
    proj_position_t p = pos_new();
    trade(&p, "100", "10", "1");
    trade(&p, "-150", "30", "1");
    assert_dec_equal(p.realized_pnl, D("2000"));
    assert_dec_equal(p.qty, D("-50"));
    assert_i128_equal(p.cost_basis, (i128)D("-50") * D("30"));
    assert_dec_equal(proj_position_avg_cost(&p), D("30"));

    /* And back: buy 80 @ 25 closes the short at a profit of 5 x 50, opens 30 long @ 25. */
    trade(&p, "80", "25", "1");
    assert_dec_equal(p.realized_pnl, D("2250"));
    assert_dec_equal(p.qty, D("30"));
    assert_dec_equal(proj_position_avg_cost(&p), D("25"));
}

static void test_projections_position_short_signs(void **state)
{
    (void)state;
    /* Short 100 @ 50; buy back 40 @ 45 (profit 200), then 60 @ 55 (loss 300). */
    proj_position_t p = pos_new();
    trade(&p, "-100", "50", "1");
    trade(&p, "40", "45", "1");
    assert_dec_equal(p.realized_pnl, D("200"));
    assert_dec_equal(p.qty, D("-60"));
    assert_dec_equal(proj_position_avg_cost(&p), D("50"));
    trade(&p, "60", "55", "1");
    assert_dec_equal(p.realized_pnl, D("-100"));
    assert_dec_equal(p.qty, 0);
    assert_i128_equal(p.cost_basis, 0);
    assert_dec_equal(proj_position_avg_cost(&p), 0);

    /* A long sold lower is a loss. */
    proj_position_t l = pos_new();
    trade(&l, "10", "100", "1");
    trade(&l, "-4", "90", "1");
    assert_dec_equal(l.realized_pnl, D("-40"));
    assert_dec_equal(l.qty, D("6"));
    assert_dec_equal(proj_position_avg_cost(&l), D("100"));
}

static void test_projections_position_futures_multiplier(void **state)
{
    (void)state;
    proj_position_t p = pos_new();
    trade(&p, "2", "4000", "50");
    trade(&p, "-2", "4010", "50");
    assert_dec_equal(p.realized_pnl, D("1000"));
    assert_dec_equal(p.qty, 0);
    assert_i128_equal(p.cost_basis, 0);

    /* Short 3 @ 4010.25, buy 1 back @ 4000.5 with multiplier 50: 9.75 x 50 = 487.5. */
    trade(&p, "-3", "4010.25", "50");
    trade(&p, "1", "4000.5", "50");
    assert_dec_equal(p.realized_pnl, D("1487.5"));
    /* Fractional multiplier (0.01): buy the other 2 back @ 4020.25: -10 x 2 x 0.01. */
    trade(&p, "2", "4020.25", "0.01");
    assert_dec_equal(p.realized_pnl, D("1487.3"));
    assert_dec_equal(p.qty, 0);
}

static void test_projections_position_realized_half_even(void **state)
{
    (void)state;
    const oms_dec_t one = OMS_DEC_SCALE;
    /* Long 1 raw unit @ 0.5: cost 0.000000005 (e16 5e7). Sold @ 1: +0.5 raw -> 0 (even). */
    proj_position_t p = pos_new();
    assert_int_equal(proj_position_trade(&p, 1, D("0.5"), one), 0);
    assert_int_equal(proj_position_trade(&p, -1, D("1"), one), 0);
    assert_dec_equal(p.realized_pnl, 0);
    /* Same, sold @ 2: +1.5 raw -> 2. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, 1, D("0.5"), one), 0);
    assert_int_equal(proj_position_trade(&p, -1, D("2"), one), 0);
    assert_dec_equal(p.realized_pnl, 2);
    /* Same, sold @ 3: +2.5 raw -> 2. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, 1, D("0.5"), one), 0);
    assert_int_equal(proj_position_trade(&p, -1, D("3"), one), 0);
    assert_dec_equal(p.realized_pnl, 2);
    /* Symmetric for shorts bought back higher: -0.5 -> 0, -1.5 -> -2, -2.5 -> -2. */
    static const struct {
        const char *px;
        oms_dec_t want;
    } shorts[] = {{"1", 0}, {"2", -2}, {"3", -2}, {"0.25", 0}, {"0.1", 0}};
    for (size_t i = 0; i < ARRAY_LEN(shorts); i++) {
        p = pos_new();
        assert_int_equal(proj_position_trade(&p, -1, D("0.5"), one), 0);
        assert_int_equal(proj_position_trade(&p, 1, D(shorts[i].px), one), 0);
        assert_dec_equal(p.realized_pnl, shorts[i].want);
    }
    /* Rounded once at the end, not per factor: 1 raw x (0.75 - 0.5) x multiplier 2 is
     * 0.5 raw -> 0; rounding (px - avg) x qty first would give 0 x 2 = 0 too, but with
     * multiplier 6 the exact 1.5 raw -> 2, where per-step rounding would give 0. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, 1, D("0.5"), D("6")), 0);
    assert_int_equal(proj_position_trade(&p, -1, D("0.75"), D("6")), 0);
    assert_dec_equal(p.realized_pnl, 2);
    /* Realistic fractions: 0.3 @ 10.01, 0.7 @ 10.02 (avg 10.017), sell 0.33333333 @ 10.5. */
    p = pos_new();
    trade(&p, "0.3", "10.01", "1");
    trade(&p, "0.7", "10.02", "1");
    assert_dec_equal(proj_position_avg_cost(&p), D("10.017"));
    trade(&p, "-0.33333333", "10.5", "1");
    /* removed = 10.017 x 0.33333333 = 3.33899996661 (exact at 16 places), proceeds
     * 3.499999965, realized 0.16099999839 -> 0.16100000 at 8 places. */
    assert_dec_equal(p.realized_pnl, D("0.161"));
    assert_dec_equal(p.qty, D("0.66666667"));
}

static void test_projections_position_closed_cost_half_even(void **state)
{
    (void)state;
    const oms_dec_t one = OMS_DEC_SCALE;
    /* Buy 1 raw @ 1 raw and 2 raw @ 2 raw: qty 3, cost 5 (e16). */
    proj_position_t p = pos_new();
    assert_int_equal(proj_position_trade(&p, 1, 1, one), 0);
    assert_int_equal(proj_position_trade(&p, 2, 2, one), 0);
    assert_i128_equal(p.cost_basis, 5);
    /* Sell 1: cost removed = 5/3 = 1.67 -> 2, 3 left. */
    assert_int_equal(proj_position_trade(&p, -1, 2, one), 0);
    assert_i128_equal(p.cost_basis, 3);
    /* Sell 1: 3/2 = 1.5 -> 2 (even), 1 left. */
    assert_int_equal(proj_position_trade(&p, -1, 2, one), 0);
    assert_i128_equal(p.cost_basis, 1);
    /* Qty 2 cost 5 -> sell 1: 2.5 -> 2 (even), 3 left. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, 1, 2, one), 0);
    assert_int_equal(proj_position_trade(&p, 1, 3, one), 0);
    assert_int_equal(proj_position_trade(&p, -1, 9, one), 0);
    assert_i128_equal(p.cost_basis, 3);
    /* The same on the short side: -5 over -2, close 1: -2.5 -> -2, -3 left. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, -1, 2, one), 0);
    assert_int_equal(proj_position_trade(&p, -1, 3, one), 0);
    assert_int_equal(proj_position_trade(&p, 1, 1, one), 0);
    assert_i128_equal(p.cost_basis, -3);
}

static void test_projections_position_flat_cost_zero(void **state)
{
    (void)state;
    /* Three thirds at awkward prices, closed in three pieces: flat means cost exactly 0. */
    proj_position_t p = pos_new();
    trade(&p, "1", "10", "1");
    trade(&p, "1", "10.00000001", "1");
    trade(&p, "1", "10.00000003", "1");
    trade(&p, "-0.99999999", "11", "1");
    trade(&p, "-1.00000002", "9", "1");
    assert_true(p.cost_basis != 0);
    trade(&p, "-0.99999999", "10", "1");
    assert_dec_equal(p.qty, 0);
    assert_i128_equal(p.cost_basis, 0);
    assert_dec_equal(proj_position_avg_cost(&p), 0);
    /* Total realized = cash in - cash out, up to the per-close rounding (3 closes x 0.5 raw). */
    i128 cash = -(i128)D("10") - D("10.00000001") - D("10.00000003");
    cash = cash * OMS_DEC_SCALE + (i128)D("0.99999999") * D("11") + (i128)D("1.00000002") * D("9") +
           (i128)D("0.99999999") * D("10");
    i128 diff = (i128)p.realized_pnl * OMS_DEC_SCALE - cash;
    assert_true(diff <= 3 * OMS_DEC_SCALE / 2 && diff >= -3 * OMS_DEC_SCALE / 2);

    /* Crossing straight through flat and back also resets the cost to the new price only. */
    trade(&p, "-7", "3.33333333", "1");
    trade(&p, "7", "3", "1");
    assert_i128_equal(p.cost_basis, 0);
    trade(&p, "3", "1", "1");
    trade(&p, "-5", "2", "1");
    assert_i128_equal(p.cost_basis, (i128)D("-2") * D("2"));
}

static void test_projections_position_extremes_exact(void **state)
{
    (void)state;
    const oms_dec_t one = OMS_DEC_SCALE;
    const oms_dec_t max = OMS_DEC_MAX;
    /* The largest position at the largest price: cost ~2^126, every step exact. */
    proj_position_t p = pos_new();
    assert_int_equal(proj_position_trade(&p, max, max, one), 0);
    assert_i128_equal(p.cost_basis, (i128)max * max);
    assert_dec_equal(proj_position_avg_cost(&p), max);
    assert_int_equal(proj_position_trade(&p, -(max - 1), max, one), 0);
    assert_dec_equal(p.realized_pnl, 0);
    assert_dec_equal(p.qty, 1);
    assert_i128_equal(p.cost_basis, max);
    /* Cross from the largest long to the largest short. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, max, max, one), 0);
    assert_int_equal(proj_position_trade(&p, -max, max, one), 0);
    assert_i128_equal(p.cost_basis, 0);
    assert_int_equal(proj_position_trade(&p, -max, max, one), 0);
    assert_dec_equal(p.qty, -max);
    assert_i128_equal(p.cost_basis, -(i128)max * max);

    /* Cost = Q x P + 1 with Q = 2^63 - 1 (odd): closing c costs c x P + round(c / Q), which
     * needs the division-first path (cost x c is ~2^188). */
    const oms_dec_t P = max - 12345;
    const int64_t cs[] = {(int64_t)1 << 62, ((int64_t)1 << 62) - 1, 1, max - 1};
    const int64_t bump[] = {1, 0, 0, 1};
    for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
        p = pos_new();
        assert_int_equal(proj_position_trade(&p, max - 1, P, one), 0);
        assert_int_equal(proj_position_trade(&p, 1, P + 1, one), 0);
        assert_i128_equal(p.cost_basis, (i128)max * P + 1);
        /* Sold at P: realized = -round(c / Q) e16 -> 0 at 8 places with multiplier 1. */
        assert_int_equal(proj_position_trade(&p, -cs[i], P, one), 0);
        assert_dec_equal(p.qty, max - cs[i]);
        assert_i128_equal(p.cost_basis, (i128)(max - cs[i]) * P + 1 - bump[i]);
        assert_dec_equal(p.realized_pnl, 0);
    }

    /* A large realized P&L just inside the range: long max @ 1, sold @ 2 with multiplier 1. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, max, one, one), 0);
    assert_int_equal(proj_position_trade(&p, -max, 2 * one, one), 0);
    assert_dec_equal(p.realized_pnl, max);
    assert_i128_equal(p.cost_basis, 0);
}

static void test_projections_position_overflow_unchanged(void **state)
{
    (void)state;
    const oms_dec_t one = OMS_DEC_SCALE;
    const oms_dec_t max = OMS_DEC_MAX;
    proj_position_t p = pos_new();
    /* Quantity leaves the range, long and short. */
    assert_int_equal(proj_position_trade(&p, max - 1, one, one), 0);
    assert_trade_fails(&p, 2, one, one, OMS_ERR_OVERFLOW);
    assert_trade_fails(&p, max, max, one, OMS_ERR_OVERFLOW);
    assert_int_equal(proj_position_trade(&p, 1, one, one), 0); /* exactly max is fine */
    assert_dec_equal(p.qty, max);
    proj_position_t s = pos_new();
    assert_int_equal(proj_position_trade(&s, -max, one, one), 0);
    assert_trade_fails(&s, -1, one, one, OMS_ERR_OVERFLOW); /* would be INT64_MIN */

    /* One trade's realized P&L leaves the range: long max @ 1, sold @ 3 (2 x max). */
    assert_trade_fails(&p, -max, 3 * one, one, OMS_ERR_OVERFLOW);
    /* ... or its multiplier does: 1 unit of profit x multiplier max x 2 units. */
    assert_trade_fails(&p, -2 * one, 2 * one, max, OMS_ERR_OVERFLOW);
    /* ... or the total does: realized already near max, then a small profit. */
    p = pos_new();
    p.realized_pnl = max - 5;
    assert_int_equal(proj_position_trade(&p, 10, one, one), 0);
    assert_trade_fails(&p, -10, 2 * one, one, OMS_ERR_OVERFLOW);    /* +10 raw */
    assert_int_equal(proj_position_trade(&p, -5, 2 * one, one), 0); /* +5 raw: exactly max */
    assert_dec_equal(p.realized_pnl, max);
    /* Losses too. */
    p = pos_new();
    p.realized_pnl = -max + 3;
    assert_int_equal(proj_position_trade(&p, 10, 2 * one, one), 0);
    assert_trade_fails(&p, -4, one, one, OMS_ERR_OVERFLOW); /* -4 raw */
    /* A huge diff (~2^127) times the largest multiplier: the 128-bit step itself overflows. */
    p = pos_new();
    assert_int_equal(proj_position_trade(&p, -max, max, one), 0);
    assert_trade_fails(&p, max, 1, max, OMS_ERR_OVERFLOW);
    /* INT64_MIN is never a decimal: as the quantity, or inside the position. */
    p = pos_new();
    assert_trade_fails(&p, INT64_MIN, one, one, OMS_ERR_OVERFLOW);
    p.qty = INT64_MIN;
    assert_trade_fails(&p, 1, one, one, OMS_ERR_OVERFLOW);
    p = pos_new();
    p.realized_pnl = INT64_MIN;
    assert_trade_fails(&p, 1, one, one, OMS_ERR_OVERFLOW);
}

static void test_projections_position_invalid_args(void **state)
{
    (void)state;
    const oms_dec_t one = OMS_DEC_SCALE;
    proj_position_t p = pos_new();
    trade(&p, "5", "10", "1");
    assert_trade_fails(&p, one, 0, one, OMS_ERR_INVALID);
    assert_trade_fails(&p, one, -one, one, OMS_ERR_INVALID);
    assert_trade_fails(&p, one, INT64_MIN, one, OMS_ERR_INVALID);
    assert_trade_fails(&p, -one, one, 0, OMS_ERR_INVALID);
    assert_trade_fails(&p, -one, one, -one, OMS_ERR_INVALID);
    assert_trade_fails(&p, -one, one, INT64_MIN, OMS_ERR_INVALID);
    assert_trade_fails(&p, 0, one, one, OMS_ERR_INVALID);
    /* Invalid wins over overflow. */
    assert_trade_fails(&p, INT64_MIN, 0, one, OMS_ERR_INVALID);
}

/* ---- reference model: magnitudes, a 192-bit product and schoolbook long division ---- */

/* round_half_even(|a| x b / d) with its sign, a x b formed exactly in 192 bits; b >= 0,
 * d > 0. Returns false when the result does not fit in 127 bits of magnitude. */
static bool ref_muldiv(i128 a, uint64_t b, uint64_t d, i128 *out)
{
    bool neg = a < 0;
    u128 m = neg ? (u128)0 - (u128)a : (u128)a;
    uint64_t al = (uint64_t)m, ah = (uint64_t)(m >> 64);
    u128 p0 = (u128)al * b, p1 = (u128)ah * b;
    u128 mid = (p0 >> 64) + (uint64_t)p1;
    uint64_t limb[3] = {(uint64_t)p0, (uint64_t)mid, (uint64_t)((p1 >> 64) + (mid >> 64))};
    uint64_t q[3];
    u128 rem = 0;
    for (int i = 2; i >= 0; i--) {
        u128 cur = (rem << 64) | limb[i];
        q[i] = (uint64_t)(cur / d);
        rem = cur % d;
    }
    if (q[2] != 0 || (q[1] >> 63) != 0)
        return false;
    u128 qq = ((u128)q[1] << 64) | q[0];
    if (rem > d - rem || (rem == d - rem && (qq & 1u) != 0))
        qq++;
    if ((qq >> 127) != 0)
        return false;
    *out = neg ? -(i128)qq : (i128)qq;
    return true;
}

static bool ref_in_range(i128 v)
{
    return v >= -(i128)OMS_DEC_MAX && v <= (i128)OMS_DEC_MAX;
}

/* The reference position trade: 0, OMS_ERR_INVALID or OMS_ERR_OVERFLOW like the real one, and
 * the e16 realized amount before the multiplier in *diff_out (for the cash identity). */
static int ref_trade(proj_position_t *p, oms_dec_t q, oms_dec_t px, oms_dec_t m, i128 *diff_out)
{
    *diff_out = 0;
    if (px <= 0 || m <= 0 || q == 0)
        return OMS_ERR_INVALID;
    if (q == INT64_MIN || p->qty == INT64_MIN || p->realized_pnl == INT64_MIN)
        return OMS_ERR_OVERFLOW;
    i128 Q = p->qty, C = p->cost_basis;
    i128 nq = Q + q;
    if (Q == 0 || (Q > 0) == (q > 0)) {
        if (!ref_in_range(nq))
            return OMS_ERR_OVERFLOW;
        i128 nc;
        if (__builtin_add_overflow(Q == 0 ? 0 : C, (i128)q * px, &nc))
            return OMS_ERR_OVERFLOW;
        p->qty = (oms_dec_t)nq;
        p->cost_basis = nc;
        return 0;
    }
    i128 aq = Q < 0 ? -Q : Q, at = q < 0 ? -(i128)q : (i128)q;
    i128 closed_mag = at < aq ? at : aq;
    i128 removed;
    if (!ref_muldiv(C, (uint64_t)closed_mag, (uint64_t)aq, &removed))
        return OMS_ERR_OVERFLOW;
    i128 closed = Q < 0 ? -closed_mag : closed_mag;
    i128 diff = closed * px - removed;
    i128 delta;
    if (!ref_muldiv(diff, (uint64_t)m, (uint64_t)E16_PER_E8, &delta) || !ref_in_range(delta))
        return OMS_ERR_OVERFLOW;
    i128 nr = (i128)p->realized_pnl + delta;
    if (!ref_in_range(nr))
        return OMS_ERR_OVERFLOW;
    p->realized_pnl = (oms_dec_t)nr;
    p->qty = (oms_dec_t)nq;
    if (at > aq)
        p->cost_basis = nq * px;
    else if (nq == 0)
        p->cost_basis = 0;
    else
        p->cost_basis = C - removed;
    *diff_out = diff;
    return 0;
}

/* A random trade of the regime: 0 small (units, 8 places), 1 tiny (a few raw units), 2 huge. */
static void random_trade(int regime, const proj_position_t *p, oms_dec_t *q, oms_dec_t *px)
{
    int64_t mag;
    switch (regime) {
    case 0:
        mag = rng_range(1, 1000 * OMS_DEC_SCALE);
        *px = rng_range(1, 5000 * OMS_DEC_SCALE);
        break;
    case 1:
        mag = rng_range(1, 9);
        *px = rng_range(1, 9);
        break;
    default:
        mag = rng_range(1, OMS_DEC_MAX >> rng_range(0, 8));
        *px = rng_range(1, OMS_DEC_MAX >> rng_range(0, 40));
        break;
    }
    int64_t pick = rng_range(0, 9);
    if (p->qty != 0 && pick == 0) {
        *q = -p->qty; /* close exactly */
        return;
    }
    if (p->qty != 0 && pick == 1 && p->qty != OMS_DEC_MIN && p->qty != OMS_DEC_MAX) {
        *q = p->qty > 0 ? -p->qty - 1 : -p->qty + 1; /* cross by one raw unit */
        return;
    }
    *q = (rng_next() & 1u) ? mag : -mag;
}

static void test_projections_position_random_vs_reference(void **state)
{
    (void)state;
    rng_state = 0x5eed0001u;
    const oms_dec_t mults[] = {OMS_DEC_SCALE,       50 * OMS_DEC_SCALE,   1,
                               OMS_DEC_SCALE / 100, 1000 * OMS_DEC_SCALE, 3};
    long applied = 0, failed = 0;
    for (int seqn = 0; seqn < 20000; seqn++) {
        int regime = (int)rng_range(0, 2);
        oms_dec_t m = mults[rng_range(0, (int64_t)ARRAY_LEN(mults) - 1)];
        proj_position_t got = pos_new(), want = pos_new();
        i128 cash = 0, diffs = 0; /* e16; only kept for regimes 0 and 1 (no 128-bit risk) */
        int closes = 0;
        for (int k = 0; k < 40; k++) {
            oms_dec_t q, px;
            random_trade(regime, &got, &q, &px);
            i128 diff;
            proj_position_t before = got;
            int rc_want = ref_trade(&want, q, px, m, &diff);
            int rc_got = proj_position_trade(&got, q, px, m);
            if (rc_got != rc_want)
                fail_msg("seq %d trade %d: got %s, want %s", seqn, k, oms_errname(rc_got),
                         oms_errname(rc_want));
            if (rc_got != 0) {
                assert_memory_equal(&before, &got, sizeof got);
                failed++;
                continue;
            }
            applied++;
            assert_dec_equal(got.qty, want.qty);
            assert_i128_equal(got.cost_basis, want.cost_basis);
            assert_dec_equal(got.realized_pnl, want.realized_pnl);
            /* Invariants: the cost is 0 exactly when flat, else signed like the quantity (every
             * price is >= 1 raw unit and the closed cost rounds to nearest, so the cost never
             * drops below the quantity in magnitude). */
            if (got.qty == 0)
                assert_i128_equal(got.cost_basis, 0);
            else if (got.qty > 0)
                assert_true(got.cost_basis >= got.qty);
            else
                assert_true(got.cost_basis <= got.qty);
            if (regime != 2) {
                cash -= (i128)q * px;
                diffs += diff;
                closes += before.qty != 0 && (before.qty > 0) != (q > 0);
                /* Cash identity: every e16 unit paid is either realized or still in the cost. */
                assert_i128_equal(diffs, cash + got.cost_basis);
            }
        }
        if (regime != 2 && m == OMS_DEC_SCALE) {
            /* With multiplier 1 the realized total is the exact sum rounded per close. */
            i128 err = (i128)got.realized_pnl * OMS_DEC_SCALE - diffs;
            assert_true(err <= (i128)closes * (OMS_DEC_SCALE / 2) &&
                        err >= -(i128)closes * (OMS_DEC_SCALE / 2));
        }
    }
    /* The mix must exercise both outcomes. */
    assert_true(applied > 500000);
    assert_true(failed > 1000);
}

/* ------------------------------------------------------------------------------------------ */
/* Allocation: proj_split_lots                                                                 */
/* ------------------------------------------------------------------------------------------ */

static oms_alloc_instr_t instr(const char *account, bool by_weight, oms_dec_t share)
{
    oms_alloc_instr_t in;
    memset(&in, 0, sizeof in);
    strcpy(in.account_id, account);
    in.by_weight = by_weight;
    in.share = share;
    return in;
}

static void test_projections_split_ties_by_account_id(void **state)
{
    (void)state;
    /* 1,000 over 1:1:1 in lots of 1: 334/333/333, the extra to "A" in any listing order. */
    const char *orders[][3] = {{"C", "A", "B"}, {"A", "B", "C"}, {"B", "C", "A"},
                               {"C", "B", "A"}, {"A", "C", "B"}, {"B", "A", "C"}};
    for (size_t k = 0; k < ARRAY_LEN(orders); k++) {
        oms_alloc_instr_t in[3];
        for (int i = 0; i < 3; i++)
            in[i] = instr(orders[k][i], true, D("1"));
        oms_dec_t out[3] = {SENTINEL, SENTINEL, SENTINEL};
        assert_int_equal(proj_split_lots(in, 3, D("1000"), D("1"), out), 0);
        for (int i = 0; i < 3; i++)
            assert_dec_equal(out[i], strcmp(orders[k][i], "A") == 0 ? D("334") : D("333"));
    }
    /* 7 lots over 3 equal weights: 3/2/2, the extra lot to the smallest id. */
    oms_alloc_instr_t in[3] = {instr("acct-2", true, 5), instr("acct-10", true, 5),
                               instr("acct-1", true, 5)};
    oms_dec_t out[3];
    assert_int_equal(proj_split_lots(in, 3, D("700"), D("100"), out), 0);
    /* strcmp order: "acct-1" < "acct-10" < "acct-2". */
    assert_dec_equal(out[0], D("200"));
    assert_dec_equal(out[1], D("200"));
    assert_dec_equal(out[2], D("300"));
    /* 8 lots over 3 equal weights: 3/3/2, the smallest id loses last. */
    assert_int_equal(proj_split_lots(in, 3, D("800"), D("100"), out), 0);
    assert_dec_equal(out[0], D("200"));
    assert_dec_equal(out[1], D("300"));
    assert_dec_equal(out[2], D("300"));
}

static void test_projections_split_largest_remainder_first(void **state)
{
    (void)state;
    /* 10 lots by 0.55/0.25/0.2 = 5.5/2.5/2: remainders .5/.5/0, Z and A tie, A wins by id. */
    oms_alloc_instr_t in[3] = {instr("Z", true, D("0.55")), instr("A", true, D("0.25")),
                               instr("B", true, D("0.2"))};
    oms_dec_t out[3];
    assert_int_equal(proj_split_lots(in, 3, D("10"), D("1"), out), 0);
    assert_dec_equal(out[0], D("5"));
    assert_dec_equal(out[1], D("3"));
    assert_dec_equal(out[2], D("2"));
    /* 10 lots by 0.56/0.24/0.2: 5.6/2.4/2 -> Z gets the extra: the largest remainder comes
     * before the account id. */
    in[0].share = D("0.56");
    in[1].share = D("0.24");
    assert_int_equal(proj_split_lots(in, 3, D("10"), D("1"), out), 0);
    assert_dec_equal(out[0], D("6"));
    assert_dec_equal(out[1], D("2"));
    assert_dec_equal(out[2], D("2"));
}

static void test_projections_split_weights(void **state)
{
    (void)state;
    oms_alloc_instr_t in[2] = {instr("A", true, D("0.6")), instr("B", true, D("0.4"))};
    oms_dec_t out[2];
    assert_int_equal(proj_split_lots(in, 2, D("1000"), D("100"), out), 0);
    assert_dec_equal(out[0], D("600"));
    assert_dec_equal(out[1], D("400"));
    /* Weights need not sum to 1: 3 and 2 are the same split. */
    in[0].share = D("3");
    in[1].share = D("2");
    assert_int_equal(proj_split_lots(in, 2, D("1000"), D("100"), out), 0);
    assert_dec_equal(out[0], D("600"));
    assert_dec_equal(out[1], D("400"));
    /* Too few lots for everyone: 1 lot over three equal weights, 0 for the others. */
    oms_alloc_instr_t three[3] = {instr("B", true, 1), instr("C", true, 1), instr("A", true, 1)};
    oms_dec_t out3[3];
    assert_int_equal(proj_split_lots(three, 3, D("100"), D("100"), out3), 0);
    assert_dec_equal(out3[0], 0);
    assert_dec_equal(out3[1], 0);
    assert_dec_equal(out3[2], D("100"));
    /* One instruction takes everything. */
    assert_int_equal(proj_split_lots(three, 1, D("12345.678"), D("0.001"), out3), 0);
    assert_dec_equal(out3[0], D("12345.678"));
}

static void test_projections_split_targets_exact(void **state)
{
    (void)state;
    /* Target quantities that sum to the total come out exactly. */
    oms_alloc_instr_t in[4] = {instr("D", false, D("300")), instr("A", false, D("500")),
                               instr("C", false, D("150")), instr("B", false, D("50"))};
    oms_dec_t out[4];
    assert_int_equal(proj_split_lots(in, 4, D("1000"), D("50"), out), 0);
    for (int i = 0; i < 4; i++)
        assert_dec_equal(out[i], in[i].share);
    /* A partial fill is split pro-rata to the targets: 500 of 1000 -> 150/250/75/25 in lots of
     * 25 (75 and 25 are whole lots). */
    assert_int_equal(proj_split_lots(in, 4, D("500"), D("25"), out), 0);
    assert_dec_equal(out[0], D("150"));
    assert_dec_equal(out[1], D("250"));
    assert_dec_equal(out[2], D("75"));
    assert_dec_equal(out[3], D("25"));
    /* Fractional targets in fractional lots. */
    oms_alloc_instr_t fr[2] = {instr("X", false, D("0.03")), instr("Y", false, D("0.07"))};
    assert_int_equal(proj_split_lots(fr, 2, D("0.1"), D("0.01"), out), 0);
    assert_dec_equal(out[0], D("0.03"));
    assert_dec_equal(out[1], D("0.07"));
}

static void test_projections_split_extremes(void **state)
{
    (void)state;
    /* 256 shares of max (the sum needs 71 bits) over the largest total in raw lots. */
    static oms_alloc_instr_t in[OMS_LIMIT_ALLOC_ACCOUNTS];
    static oms_dec_t out[OMS_LIMIT_ALLOC_ACCOUNTS];
    for (int i = 0; i < OMS_LIMIT_ALLOC_ACCOUNTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "X%03d", OMS_LIMIT_ALLOC_ACCOUNTS - 1 - i);
        in[i] = instr(id, true, OMS_DEC_MAX);
    }
    assert_int_equal(proj_split_lots(in, OMS_LIMIT_ALLOC_ACCOUNTS, OMS_DEC_MAX, 1, out), 0);
    /* max = 256 x 36028797018963967 + 255: the 255 smallest ids ("X000".."X254") get +1. */
    i128 sum = 0;
    for (int i = 0; i < OMS_LIMIT_ALLOC_ACCOUNTS; i++) {
        int id = OMS_LIMIT_ALLOC_ACCOUNTS - 1 - i;
        assert_dec_equal(out[i], 36028797018963967LL + (id < 255 ? 1 : 0));
        sum += out[i];
    }
    assert_i128_equal(sum, OMS_DEC_MAX);
    /* One huge share and one tiny one. */
    oms_alloc_instr_t two[2] = {instr("A", true, 1), instr("B", true, OMS_DEC_MAX)};
    oms_dec_t o2[2];
    assert_int_equal(proj_split_lots(two, 2, OMS_DEC_MAX, 1, o2), 0);
    assert_dec_equal(o2[0], 1); /* max / (max + 1) = 0.99999.. -> 0 + the larger remainder */
    assert_dec_equal(o2[1], OMS_DEC_MAX - 1);
}

static void assert_split_fails(const oms_alloc_instr_t *in, uint32_t n, oms_dec_t total,
                               oms_dec_t lot)
{
    oms_dec_t out[OMS_LIMIT_ALLOC_ACCOUNTS + 1];
    for (size_t i = 0; i < ARRAY_LEN(out); i++)
        out[i] = SENTINEL;
    assert_int_equal(proj_split_lots(in, n, total, lot, out), OMS_ERR_INVALID);
    for (size_t i = 0; i < ARRAY_LEN(out); i++)
        assert_true(out[i] == SENTINEL);
}

static void test_projections_split_invalid(void **state)
{
    (void)state;
    static oms_alloc_instr_t in[OMS_LIMIT_ALLOC_ACCOUNTS + 1];
    for (int i = 0; i <= OMS_LIMIT_ALLOC_ACCOUNTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "A%d", i);
        in[i] = instr(id, true, D("1"));
    }
    const oms_dec_t t = D("1000"), lot = D("100");
    assert_split_fails(in, 0, t, lot);
    assert_split_fails(in, OMS_LIMIT_ALLOC_ACCOUNTS + 1, D("25700"), lot);
    assert_split_fails(in, 3, t, 0);
    assert_split_fails(in, 3, t, -lot);
    assert_split_fails(in, 3, t, INT64_MIN);
    assert_split_fails(in, 3, 0, lot);
    assert_split_fails(in, 3, -t, lot);
    assert_split_fails(in, 3, INT64_MIN, lot);
    assert_split_fails(in, 3, D("1050"), lot); /* not whole lots */
    assert_split_fails(in, 3, D("50"), lot);   /* less than one lot */
    in[2].share = 0;
    assert_split_fails(in, 3, t, lot);
    in[2].share = -1;
    assert_split_fails(in, 3, t, lot);
    in[2].share = INT64_MIN;
    assert_split_fails(in, 3, t, lot);
    in[2].share = D("1");
    /* The limit itself is fine. */
    static oms_dec_t out[OMS_LIMIT_ALLOC_ACCOUNTS];
    assert_int_equal(proj_split_lots(in, OMS_LIMIT_ALLOC_ACCOUNTS, D("25600"), lot, out), 0);
    for (int i = 0; i < OMS_LIMIT_ALLOC_ACCOUNTS; i++)
        assert_dec_equal(out[i], lot);
}

/* One random share of a distribution: 0 tiny (many ties), 1 any, 2 units with 8 places. */
static oms_dec_t random_share(int dist)
{
    switch (dist) {
    case 0:
        return rng_range(1, 4);
    case 1:
        return rng_range(1, OMS_DEC_MAX >> rng_range(0, 62));
    default:
        return rng_range(1, 1000) * (OMS_DEC_SCALE / 100);
    }
}

static void test_projections_split_random_property(void **state)
{
    (void)state;
    rng_state = 0x5eed0002u;
    static oms_alloc_instr_t in[OMS_LIMIT_ALLOC_ACCOUNTS], perm_in[OMS_LIMIT_ALLOC_ACCOUNTS];
    static oms_dec_t out[OMS_LIMIT_ALLOC_ACCOUNTS], perm_out[OMS_LIMIT_ALLOC_ACCOUNTS];
    static uint32_t ids[OMS_LIMIT_ALLOC_ACCOUNTS * 4], perm[OMS_LIMIT_ALLOC_ACCOUNTS];
    for (uint32_t i = 0; i < ARRAY_LEN(ids); i++)
        ids[i] = i;
    const oms_dec_t lots_fixed[] = {1, OMS_DEC_SCALE, 100 * OMS_DEC_SCALE, OMS_DEC_SCALE / 100};
    for (int iter = 0; iter < 100000; iter++) {
        uint32_t n = (uint32_t)(rng_range(0, 3) == 0 ? rng_range(1, 256) : rng_range(1, 12));
        int dist = (int)rng_range(0, 2);
        /* Unique account ids: a random sample of distinct numbers, of varying text length. */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t j = i + (uint32_t)rng_range(0, (int64_t)ARRAY_LEN(ids) - 1 - i);
            uint32_t tmp = ids[i];
            ids[i] = ids[j];
            ids[j] = tmp;
            char id[16];
            snprintf(id, sizeof id, "AC%u", ids[i]);
            in[i] = instr(id, rng_next() & 1u, random_share(dist));
        }
        oms_dec_t lot =
            rng_range(0, 4) == 0 ? rng_range(1, 1000000000000LL) : lots_fixed[rng_range(0, 3)];
        int64_t max_lots = OMS_DEC_MAX / lot;
        int64_t cap = rng_range(0, 3) == 0 ? max_lots : 3 * (int64_t)n;
        int64_t L = rng_range(1, cap < max_lots ? cap : max_lots);
        oms_dec_t total = L * lot;

        int rc = proj_split_lots(in, n, total, lot, out);
        if (rc != 0)
            fail_msg("iter %d: %s", iter, oms_errname(rc));

        i128 S = 0;
        for (uint32_t i = 0; i < n; i++)
            S += in[i].share;
        i128 sum = 0;
        /* Largest-remainder order: the weakest bumped instruction must come before the
         * strongest one left at its floor (remainder descending, then account id ascending). */
        int weakest = -1, strongest = -1;
        i128 rem[OMS_LIMIT_ALLOC_ACCOUNTS];
        for (uint32_t i = 0; i < n; i++) {
            assert_true(out[i] >= 0 && out[i] % lot == 0);
            sum += out[i];
            i128 ideal = (i128)L * in[i].share;
            i128 fl = ideal / S;
            rem[i] = ideal % S;
            i128 got = out[i] / lot;
            /* Within one lot of the ideal share; exactly it when the share is whole. */
            assert_true(got == fl || (got == fl + 1 && rem[i] != 0));
            if (got == fl + 1) {
                if (weakest < 0 || rem[i] < rem[weakest] ||
                    (rem[i] == rem[weakest] &&
                     strcmp(in[i].account_id, in[weakest].account_id) > 0))
                    weakest = (int)i;
            } else if (strongest < 0 || rem[i] > rem[strongest] ||
                       (rem[i] == rem[strongest] &&
                        strcmp(in[i].account_id, in[strongest].account_id) < 0)) {
                strongest = (int)i;
            }
        }
        assert_i128_equal(sum, total);
        if (weakest >= 0 && strongest >= 0) {
            assert_true(rem[weakest] >= rem[strongest]);
            if (rem[weakest] == rem[strongest])
                assert_true(strcmp(in[weakest].account_id, in[strongest].account_id) < 0);
        }

        /* The same instructions in another order give each account the same quantity. */
        for (uint32_t i = 0; i < n; i++)
            perm[i] = i;
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = (uint32_t)rng_range(0, i - 1);
            uint32_t tmp = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = tmp;
        }
        for (uint32_t i = 0; i < n; i++)
            perm_in[i] = in[perm[i]];
        assert_int_equal(proj_split_lots(perm_in, n, total, lot, perm_out), 0);
        for (uint32_t i = 0; i < n; i++)
            assert_dec_equal(perm_out[i], out[perm[i]]);
    }
}

/* ---- the batch's dirty set ------------------------------------------------------------------ */

/* The records proj_dirty_at flags as first touches, as a bit set of instrument indexes. */
static unsigned s_first_touches(const proj_state_t *st)
{
    unsigned set = 0;
    for (uint32_t i = 0; i < proj_dirty_count(st); i++) {
        proj_table_t t;
        uint32_t idx;
        if (proj_dirty_at(st, i, &t, &idx)) {
            assert_int_equal(t, PROJ_T_INSTRUMENT);
            assert_false(set & (1u << idx)); /* never twice */
            set |= 1u << idx;
        }
    }
    return set;
}

static void test_projections_dirty_names_each_record_once(void **state)
{
    (void)state;
    proj_state_t *st = proj_new();
    assert_non_null(st);
    /* records 0..3 exist before the batch */
    proj_begin(st);
    for (int i = 0; i < 4; i++) {
        char k[2] = {(char)('a' + i), 0};
        assert_int_equal(proj_create(st, PROJ_T_INSTRUMENT, k, 1), (uint32_t)i);
    }
    proj_commit(st);
    assert_false(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 0));

    proj_begin(st);
    proj_mark_t m1, m2, m3;
    proj_mark(st, &m1); /* command 1 touches 0 */
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 0));
    proj_mark(st, &m2); /* command 2 touches 0 again, 1 and 2, creates 4, then fails */
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 0));
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 1));
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 2));
    assert_int_equal(proj_create(st, PROJ_T_INSTRUMENT, "e", 1), 4u);
    assert_int_equal(s_first_touches(st), 0x17u);
    proj_rollback_to(st, &m2);
    assert_int_equal(s_first_touches(st), 0x1u);
    assert_true(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 0));
    assert_false(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 1));
    assert_false(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 2));
    proj_mark(st, &m3); /* command 3 touches 1 and 0: 1 is a first touch again, 0 is not */
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 1));
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 0));
    assert_int_equal(s_first_touches(st), 0x3u);
    assert_true(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 1));
    assert_false(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 3));
    proj_commit(st);
    assert_false(proj_touched_in_batch(st, PROJ_T_INSTRUMENT, 1));

    /* the next batch starts from nothing */
    proj_begin(st);
    assert_int_equal(s_first_touches(st), 0u);
    assert_non_null(proj_touch(st, PROJ_T_INSTRUMENT, 3));
    assert_int_equal(s_first_touches(st), 0x8u);
    proj_rollback(st);
    proj_destroy(&st);
}

/* ---- key storage ---------------------------------------------------------------------------- */

/* Key i (below 26^3) of a family where shorter keys are prefixes of longer ones, of length
 * len: i is written in base 26 into its last three bytes, so keys of one length differ. */
static size_t s_key_of(char *out, size_t len, uint32_t i)
{
    for (size_t b = 0; b < len; b++) {
        size_t d = len - 1 - b; /* digit d of i, from the last byte */
        uint32_t add = d < 3 ? (d == 0 ? i : d == 1 ? i / 26 : i / 676) % 26 : 0;
        out[b] = (char)('a' + (b * 7 + add) % 26);
    }
    out[len] = '\0';
    return len;
}

/* Keys of every length a table takes, in its slot or in the overflow store: each is found as
 * itself and never as a prefix or an extension of another; a key too long is refused; a
 * rolled-back batch's keys vanish and the overflow store is reused from where the batch began;
 * thousands of long keys span several overflow blocks and stay where they were. */
static void test_projections_table_keys_at_every_length(void **state)
{
    (void)state;
    static const proj_table_t tabs[] = {PROJ_T_ORDER, PROJ_T_EXEC, PROJ_T_PART};
    for (size_t ti = 0; ti < sizeof tabs / sizeof tabs[0]; ti++) {
        proj_state_t *st = proj_new();
        assert_non_null(st);
        tbl_t *tb = &st->t[tabs[ti]];
        size_t cap = tb->key_cap;
        char k[TBL_KEY_CAP + 8];
        /* one key of every length, committed */
        proj_begin(st);
        for (size_t len = 1; len < cap; len++)
            assert_int_equal(proj_create(st, tabs[ti], k, s_key_of(k, len, 0)), len - 1);
        assert_int_equal(proj_create(st, tabs[ti], k, s_key_of(k, cap, 0)), PROJ_NIL);
        proj_commit(st);
        for (size_t len = 1; len < cap; len++) {
            s_key_of(k, len, 0);
            assert_int_equal(tbl_find(tb, k, len), len - 1);
            assert_string_equal(tbl_key(tb, (uint32_t)(len - 1)), k);
            s_key_of(k, len, 1); /* the same length, another last byte: absent */
            assert_int_equal(tbl_find(tb, k, len), PROJ_NIL);
        }
        uint64_t ovf_before = tb->ovf.used;
        assert_true(ovf_before > 0); /* the longest keys did not fit their slots */
        uint32_t n_before = tb->n;
        /* a batch of long keys, rolled back: gone, and the store is back where it was */
        proj_begin(st);
        for (uint32_t i = 0; i < 3000; i++)
            assert_int_not_equal(proj_create(st, tabs[ti], k, s_key_of(k, cap - 1, i + 2)),
                                 PROJ_NIL);
        assert_true(tb->ovf.n_blocks > 1);
        proj_rollback(st);
        assert_int_equal(tb->n, n_before);
        assert_int_equal(tb->ovf.used, ovf_before);
        for (uint32_t i = 0; i < 3000; i++)
            assert_int_equal(tbl_find(tb, k, s_key_of(k, cap - 1, i + 2)), PROJ_NIL);
        /* the same space reused by other keys, committed, all found, the old ones intact */
        proj_begin(st);
        for (uint32_t i = 0; i < 3000; i++)
            assert_int_equal(proj_create(st, tabs[ti], k, s_key_of(k, cap - 2, i + 2)),
                             n_before + i);
        proj_commit(st);
        for (uint32_t i = 0; i < 3000; i++) {
            size_t len = s_key_of(k, cap - 2, i + 2);
            assert_int_equal(tbl_find(tb, k, len), n_before + i);
            assert_string_equal(tbl_key(tb, n_before + i), k);
        }
        for (size_t len = 1; len < cap; len++)
            assert_int_equal(tbl_find(tb, k, s_key_of(k, len, 0)), len - 1);
        proj_destroy(&st);
    }
}

/* proj_key_hash (the replay's hint hashes, found with word reads) is the index's hash of the
 * key the lookups build (the high half of oms_hash64 of the id, or of two ids joined by 0x1f)
 * for ids of every length, whatever follows their NUL in the array. */
static void test_projections_key_hash_at_every_length(void **state)
{
    (void)state;
    char a[OMS_ID_CAP], b[OMS_ID_CAP], joined[2 * OMS_ID_CAP];
    for (size_t la = 0; la < OMS_ID_CAP; la++) {
        for (size_t lb = 0; lb < OMS_ID_CAP; lb += (la % 7) + 1) {
            memset(a, 0x5a, sizeof a); /* garbage after each NUL */
            memset(b, 0xa5, sizeof b);
            for (size_t i = 0; i < la; i++)
                a[i] = (char)('A' + (i * 5 + la) % 26);
            for (size_t i = 0; i < lb; i++)
                b[i] = (char)('a' + (i * 3 + lb) % 26);
            a[la] = '\0';
            b[lb] = '\0';
            assert_int_equal(proj_key_hash(PROJ_T_ORDER, a, NULL),
                             (uint32_t)(oms_hash64(a, la) >> 32));
            memcpy(joined, a, la);
            joined[la] = 0x1f;
            memcpy(joined + la + 1, b, lb);
            assert_int_equal(proj_key_hash(PROJ_T_EXEC, a, b),
                             (uint32_t)(oms_hash64(joined, la + 1 + lb) >> 32));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projections_order_avg_px_exact),
        cmocka_unit_test(test_projections_order_avg_px_no_fills),
        cmocka_unit_test(test_projections_avg_rounding_symmetric),
        cmocka_unit_test(test_projections_position_adds_at_average),
        cmocka_unit_test(test_projections_position_long_crosses_to_short),
        cmocka_unit_test(test_projections_position_short_signs),
        cmocka_unit_test(test_projections_position_futures_multiplier),
        cmocka_unit_test(test_projections_position_realized_half_even),
        cmocka_unit_test(test_projections_position_closed_cost_half_even),
        cmocka_unit_test(test_projections_position_flat_cost_zero),
        cmocka_unit_test(test_projections_position_extremes_exact),
        cmocka_unit_test(test_projections_position_overflow_unchanged),
        cmocka_unit_test(test_projections_position_invalid_args),
        cmocka_unit_test(test_projections_position_random_vs_reference),
        cmocka_unit_test(test_projections_split_ties_by_account_id),
        cmocka_unit_test(test_projections_split_largest_remainder_first),
        cmocka_unit_test(test_projections_split_weights),
        cmocka_unit_test(test_projections_split_targets_exact),
        cmocka_unit_test(test_projections_split_extremes),
        cmocka_unit_test(test_projections_split_invalid),
        cmocka_unit_test(test_projections_split_random_property),
        cmocka_unit_test(test_projections_dirty_names_each_record_once),
        cmocka_unit_test(test_projections_table_keys_at_every_length),
        cmocka_unit_test(test_projections_key_hash_at_every_length),
    };
    return cmocka_run_group_tests_name("projections_math", tests, NULL, NULL);
}
