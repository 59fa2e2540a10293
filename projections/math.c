/*
 * math.c - exact position, average-price and allocation arithmetic for the projections.
 *
 * Everything here is integer arithmetic: prices and quantities are oms_dec_t (8 implied
 * places), a price x quantity is an oms_e16_t (__int128, 16 implied places) and is never
 * rounded; only the values shown or booked are rounded, once, half to even:
 *
 *   position trade   qty += trade; cost_basis (e16, signed like qty) += trade x px when adding.
 *                    When reducing, the closed part's cost = cost_basis x closed / qty rounded
 *                    half to even at e16 (the only rounding of the cost, so the cost left over
 *                    always stays with the open quantity, and a position closed to flat has a
 *                    cost of exactly 0). The realized P&L of a close is
 *                    (closed x px - cost removed) x multiplier, e16 x e8 -> e8 rounded once,
 *                    half to even. "closed" carries the sign of the position it closes, so the
 *                    one formula gives a profit for a long sold higher and for a short bought
 *                    back lower. A trade that crosses zero closes everything and opens the rest
 *                    at px.
 *   average price    px_qty_sum / cum and cost_basis / qty, e16 / e8 -> e8, half to even.
 *   split in lots    pro-rata in whole lots by largest remainder, ties by account id: exact
 *                    integer remainders over a common denominator, so no rounding at all.
 *
 * Rounding helpers work on floored quotients (0 <= remainder < divisor), which makes half to
 * even on the signed value and on the magnitude the same thing: round(-x) == -round(x), as in
 * core/decimal.c.
 *
 * Load: proj_position_trade runs once per fill per position (and for each part of a booked
 * allocation), proj_split_lots once per allocation (n <= OMS_LIMIT_ALLOC_ACCOUNTS, one qsort).
 * Nothing here allocates or keeps state.
 */
#include "projections.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

#define S_E16_PER_E8 ((i128)OMS_DEC_SCALE * (i128)OMS_DEC_SCALE) /* e24 -> e8 divisor: 10^16 */

/* v + r/d rounded half to even, for 0 <= r < d. 0, or OMS_ERR_OVERFLOW if v + 1 does not fit
 * (never for the callers' ranges, checked anyway). */
static int s_round_frac(i128 v, i128 r, i128 d, i128 *out)
{
    assert(d > 0 && r >= 0 && r < d);
    i128 rest = d - r; /* r > d - r  <=>  r/d > 1/2, without computing 2r */
    if (r > rest || (r == rest && (v & 1) != 0)) {
        if (__builtin_add_overflow(v, (i128)1, &v))
            return OMS_ERR_OVERFLOW;
    }
    *out = v;
    return 0;
}

/* n / d rounded half to even, d > 0. Never fails (|n / d| <= |n|). */
static i128 s_div_round(i128 n, i128 d)
{
    assert(d > 0);
    i128 q = n / d;
    i128 r = n % d;
    if (r < 0) { /* floor: 0 <= r < d */
        r += d;
        q -= 1;
    }
    i128 v = q;
    int rc = s_round_frac(q, r, d, &v);
    assert(rc == 0); /* only q == 2^127 - 1 could overflow: then d == 1 and r == 0 */
    (void)rc;
    return v;
}

/* a x b / d rounded half to even, once, for 0 < d < 2^64 and b not INT64_MIN, without forming
 * a x b (which may need more than 128 bits): a = q1 x d + r with |r| < d, so
 * a x b / d = q1 x b + r x b / d, and |r x b| < 2^64 x 2^63 fits. 0, or OMS_ERR_OVERFLOW when
 * q1 x b (or the sum) does not fit in 128 bits, which means the result is far outside any
 * decimal. */
static int s_muldiv_round(i128 a, int64_t b, i128 d, i128 *out)
{
    assert(d > 0 && (d >> 64) == 0 && b != INT64_MIN);
    i128 q1 = a / d;
    i128 r = a % d;
    i128 base;
    if (__builtin_mul_overflow(q1, (i128)b, &base))
        return OMS_ERR_OVERFLOW;
    i128 t = r * (i128)b;
    i128 tq = t / d;
    i128 tr = t % d;
    if (tr < 0) { /* floor: 0 <= tr < d */
        tr += d;
        tq -= 1;
    }
    i128 v;
    if (__builtin_add_overflow(base, tq, &v))
        return OMS_ERR_OVERFLOW;
    return s_round_frac(v, tr, d, out);
}

/* True when v is a valid decimal (INT64_MIN never is). */
static bool s_in_dec_range(i128 v)
{
    return v >= (i128)OMS_DEC_MIN && v <= (i128)OMS_DEC_MAX;
}

/* Fails with OMS_ERR_INVALID for px <= 0, multiplier <= 0 or qty == 0 (checked first), and
 * with OMS_ERR_OVERFLOW when qty is INT64_MIN, the position holds INT64_MIN in qty or
 * realized_pnl, the new quantity leaves the decimal range, the cost basis leaves 128 bits, or
 * the realized P&L (the trade's or the new total) leaves the decimal range. The result is
 * built in a copy and stored only on success, so *p is unchanged on any failure. A flat
 * position's cost_basis is taken as 0 whatever it holds (the invariant this file keeps). */
int proj_position_trade(proj_position_t *p, oms_dec_t qty, oms_dec_t px, oms_dec_t multiplier)
{
    assert(p != NULL);
    if (px <= 0 || multiplier <= 0 || qty == 0)
        return OMS_ERR_INVALID;
    if (qty == INT64_MIN || p->qty == INT64_MIN || p->realized_pnl == INT64_MIN)
        return OMS_ERR_OVERFLOW;

    proj_position_t n = *p;
    i128 trade_cost = (i128)qty * (i128)px; /* e16, signed like qty; |.| < 2^126 */

    if (p->qty == 0) { /* flat: open at px */
        n.qty = qty;
        n.cost_basis = trade_cost;
        *p = n;
        return 0;
    }

    if ((p->qty > 0) == (qty > 0)) { /* adding in the same direction */
        int64_t q;
        if (__builtin_add_overflow(p->qty, qty, &q) || q == INT64_MIN)
            return OMS_ERR_OVERFLOW;
        i128 c;
        if (__builtin_add_overflow(p->cost_basis, trade_cost, &c))
            return OMS_ERR_OVERFLOW;
        n.qty = q;
        n.cost_basis = c;
        *p = n;
        return 0;
    }

    /* Reducing: `closed` is the part of the position that goes away, signed like the position
     * (|closed| = min(|trade|, |position|)). */
    int64_t abs_pos = p->qty < 0 ? -p->qty : p->qty;
    int64_t abs_trade = qty < 0 ? -qty : qty;
    bool crosses = abs_trade > abs_pos;
    int64_t closed = crosses ? p->qty : -qty;

    i128 removed; /* e16, signed like the position */
    if (closed == p->qty) {
        removed = p->cost_basis; /* all of it: exact, no rounding */
    } else {
        /* cost_basis x closed / qty = cost_basis x |closed| / |qty| (same signs). */
        int64_t abs_closed = closed < 0 ? -closed : closed;
        int rc = s_muldiv_round(p->cost_basis, abs_closed, abs_pos, &removed);
        if (rc != 0)
            return rc;
    }

    i128 proceeds = (i128)closed * (i128)px; /* e16, |.| < 2^126 */
    i128 diff;                               /* realized before the multiplier, e16 */
    if (__builtin_sub_overflow(proceeds, removed, &diff))
        return OMS_ERR_OVERFLOW;
    i128 delta; /* e16 x e8 -> e8, rounded once */
    int rc = s_muldiv_round(diff, multiplier, S_E16_PER_E8, &delta);
    if (rc != 0)
        return rc;
    if (!s_in_dec_range(delta))
        return OMS_ERR_OVERFLOW;
    rc = oms_dec_add(p->realized_pnl, (oms_dec_t)delta, &n.realized_pnl);
    if (rc != 0)
        return rc;

    if (crosses) {
        n.qty = p->qty + qty; /* |.| < |qty|: fits; signed like the trade */
        n.cost_basis = (i128)n.qty * (i128)px;
    } else {
        n.qty = p->qty + qty; /* between 0 and the position: fits */
        n.cost_basis = n.qty == 0 ? 0 : p->cost_basis - removed;
    }
    *p = n;
    return 0;
}

/* Never fails: 0 when flat; the quotient is saturated to +-OMS_DEC_MAX if it leaves the range,
 * which only an inconsistent position (a cost far above any price) could cause. */
oms_dec_t proj_position_avg_cost(const proj_position_t *p)
{
    assert(p != NULL);
    if (p->qty == 0 || p->qty == INT64_MIN)
        return 0;
    i128 num = p->qty < 0 ? -p->cost_basis : p->cost_basis;
    i128 den = p->qty < 0 ? -(i128)p->qty : (i128)p->qty;
    i128 v = s_div_round(num, den);
    if (v > (i128)OMS_DEC_MAX)
        return OMS_DEC_MAX;
    if (v < (i128)OMS_DEC_MIN)
        return OMS_DEC_MIN;
    return (oms_dec_t)v;
}

/* Never fails: !set when cum is 0 (no live fill), and also when cum is INT64_MIN or the
 * quotient leaves the decimal range, which only an inconsistent order could cause (an average
 * of prices is never above the highest of them). */
oms_opt_dec_t proj_order_avg_px(const proj_order_t *o)
{
    assert(o != NULL);
    return proj_avg_px(o->px_qty_sum, o->cum);
}

oms_opt_dec_t proj_avg_px(oms_e16_t px_qty_sum, oms_dec_t cum)
{
    oms_opt_dec_t r = {.set = false, .v = 0};
    if (cum == 0 || cum == INT64_MIN)
        return r;
    i128 num = cum < 0 ? -px_qty_sum : px_qty_sum;
    i128 den = cum < 0 ? -(i128)cum : (i128)cum;
    i128 v = s_div_round(num, den);
    if (!s_in_dec_range(v))
        return r;
    r.set = true;
    r.v = (oms_dec_t)v;
    return r;
}

/* One instruction's place in the queue for the lots left over after flooring. */
typedef struct {
    i128 rem;                      /* (lots x share) mod sum of shares: the fraction's numerator */
    const oms_alloc_instr_t *inst; /* the instruction */
    uint32_t idx;                  /* its position in the input */
} s_split_key_t;

/* Largest remainder first; then account id ascending; then (only for duplicate account ids)
 * larger share, then input order, so the order is total. */
static int s_split_cmp(const void *a, const void *b)
{
    const s_split_key_t *x = a;
    const s_split_key_t *y = b;
    if (x->rem != y->rem)
        return x->rem > y->rem ? -1 : 1;
    int c = strcmp(x->inst->account_id, y->inst->account_id);
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (x->inst->share != y->inst->share)
        return x->inst->share > y->inst->share ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/* OMS_ERR_INVALID when n is 0 or above OMS_LIMIT_ALLOC_ACCOUNTS, total <= 0, lot <= 0, total is
 * not a whole number of lots, or a share is <= 0; out is untouched then. by_weight is ignored:
 * target quantities and weights are both shares of the total. Never OMS_ERR_OVERFLOW: the
 * shares' sum (< 2^71) and lots x share (< 2^126) are kept in 128 bits, and every part is at
 * most total. */
int proj_split_lots(const oms_alloc_instr_t *instrs, uint32_t n, oms_dec_t total, oms_dec_t lot,
                    oms_dec_t *out)
{
    if (n == 0 || n > OMS_LIMIT_ALLOC_ACCOUNTS || total <= 0 || lot <= 0 || total % lot != 0)
        return OMS_ERR_INVALID;
    assert(instrs != NULL && out != NULL);

    i128 sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (instrs[i].share <= 0)
            return OMS_ERR_INVALID;
        sum += instrs[i].share;
    }

    int64_t lots = total / lot;
    int64_t parts[OMS_LIMIT_ALLOC_ACCOUNTS];
    s_split_key_t keys[OMS_LIMIT_ALLOC_ACCOUNTS];
    int64_t given = 0;
    for (uint32_t i = 0; i < n; i++) {
        i128 ideal = (i128)lots * (i128)instrs[i].share; /* / sum */
        parts[i] = (int64_t)(ideal / sum);               /* <= lots */
        given += parts[i];
        keys[i] = (s_split_key_t){.rem = ideal % sum, .inst = &instrs[i], .idx = i};
    }
    /* The remainders add up to (lots - given) x sum, each below sum: fewer than n lots left. */
    int64_t left = lots - given;
    assert(left >= 0 && left < (int64_t)n);
    if (left > 0) {
        qsort(keys, n, sizeof keys[0], s_split_cmp);
        for (int64_t k = 0; k < left; k++)
            parts[keys[k].idx] += 1;
    }
    for (uint32_t i = 0; i < n; i++)
        out[i] = parts[i] * lot; /* parts[i] <= lots, so <= total */
    return 0;
}
