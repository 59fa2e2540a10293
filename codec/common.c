/*
 * common.c - the codec's shared field conversions: the checker that copies protobuf fields into
 * model fields and records the first rule one breaks, allocation lists in both directions, and
 * the size-checked pack every encoder ends with.
 */
#include "codec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cdc_fail(cdc_chk_t *c, oms_reject_reason_t rr, const char *fmt, ...)
{
    if (c->rr != OMS_RR_NONE)
        return;
    c->rr = rr;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->text, sizeof c->text, fmt, ap);
    va_end(ap);
}

void cdc_str(cdc_chk_t *c, char *dst, size_t cap, const char *src, const char *pfx, const char *fld)
{
    if (!src)
        src = "";
    size_t n = strnlen(src, cap);
    if (n >= cap)
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "%s.%s: longer than %zu bytes", pfx, fld, cap - 1);
    oms_strlcpy(dst, src, cap);
}

oms_dec_t cdc_dec(cdc_chk_t *c, const Oms__V1__Decimal *d, const char *pfx, const char *fld)
{
    if (!d)
        return 0;
    if (c->cmd && d->e8 == INT64_MIN) {
        cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s: INT64_MIN is not a valid decimal", pfx, fld);
        return 0;
    }
    return d->e8;
}

oms_opt_dec_t cdc_opt(cdc_chk_t *c, const Oms__V1__Decimal *d, const char *pfx, const char *fld)
{
    oms_opt_dec_t o = {false, 0};
    if (!d)
        return o;
    if (c->cmd && d->e8 == INT64_MIN) {
        cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s: INT64_MIN is not a valid decimal", pfx, fld);
        return o;
    }
    o.set = true;
    o.v = d->e8;
    return o;
}

int cdc_enum(cdc_chk_t *c, int v, int max, const char *pfx, const char *fld)
{
    if (c->cmd && (v < 0 || v > max)) {
        cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s: unknown enum value %d", pfx, fld, v);
        return 0;
    }
    return v;
}

int cdc_instrs_from_pb(cdc_chk_t *c, Oms__V1__AllocInstruction *const *src, size_t n,
                       oms_arena_t *arena, const oms_alloc_instr_t **out, uint32_t *n_out,
                       const char *pfx, const char *fld)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    if (n > OMS_LIMIT_ALLOC_ACCOUNTS) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "%s.%s: %zu entries, limit %d", pfx, fld, n,
                 (int)OMS_LIMIT_ALLOC_ACCOUNTS);
        n = OMS_LIMIT_ALLOC_ACCOUNTS;
    }
    if (!arena)
        return OMS_ERR_INVALID;
    oms_alloc_instr_t *a = oms_arena_alloc(arena, n * sizeof *a);
    if (!a)
        return OMS_ERR_LIMIT;
    for (size_t i = 0; i < n; i++) {
        const Oms__V1__AllocInstruction *s = src[i];
        if (strnlen(s->account_id, OMS_ID_CAP) >= OMS_ID_CAP)
            cdc_fail(c, OMS_RR_INPUT_LIMIT, "%s.%s[%zu].account_id: longer than %d bytes", pfx, fld,
                     i, (int)OMS_LIMIT_ID_LEN);
        oms_strlcpy(a[i].account_id, s->account_id, sizeof a[i].account_id);
        const Oms__V1__Decimal *d = NULL;
        if (s->share_case == OMS__V1__ALLOC_INSTRUCTION__SHARE_QTY) {
            d = s->qty;
        } else if (s->share_case == OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT) {
            d = s->weight;
            a[i].by_weight = true;
        } else {
            /* A problem under every rule set: the model cannot represent it faithfully. */
            cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s[%zu]: neither qty nor weight", pfx, fld, i);
        }
        if (d && c->cmd && d->e8 == INT64_MIN)
            cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s[%zu]: INT64_MIN is not a valid decimal", pfx,
                     fld, i);
        else if (d)
            a[i].share = d->e8;
    }
    *out = a;
    *n_out = (uint32_t)n;
    return 0;
}

void cdc_instrs_to_pb(const oms_alloc_instr_t *a, uint32_t n, Oms__V1__AllocInstruction *ai,
                      Oms__V1__Decimal *d, Oms__V1__AllocInstruction **ptrs)
{
    for (uint32_t i = 0; i < n; i++) {
        ai[i] = (Oms__V1__AllocInstruction)OMS__V1__ALLOC_INSTRUCTION__INIT;
        ai[i].account_id = CDC_S(a[i].account_id);
        if (a[i].by_weight) {
            ai[i].share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_WEIGHT;
            ai[i].weight = cdc_pb_dec(&d[i], a[i].share);
        } else {
            ai[i].share_case = OMS__V1__ALLOC_INSTRUCTION__SHARE_QTY;
            ai[i].qty = cdc_pb_dec(&d[i], a[i].share);
        }
        ptrs[i] = &ai[i];
    }
}

int cdc_pack(const ProtobufCMessage *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
    size_t need = protobuf_c_message_get_packed_size(msg);
    *out_len = need;
    if (need > cap || (need && !buf))
        return OMS_ERR_LIMIT;
    size_t got = protobuf_c_message_pack(msg, buf);
    *out_len = got;
    return got == need ? 0 : OMS_ERR_INVALID;
}

void cdc_currency(cdc_chk_t *c, char *dst, const char *src, const char *pfx, const char *fld)
{
    size_t n = strnlen(src, 4);
    if (c->cmd) {
        bool ok = n == 3;
        for (size_t i = 0; ok && i < 3; i++)
            ok = src[i] >= 'A' && src[i] <= 'Z';
        if (!ok)
            cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s: not 3 upper-case letters A-Z", pfx, fld);
    } else if (n > 3) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "%s.%s: longer than 3 bytes", pfx, fld);
    }
    if (n <= 3)
        oms_strlcpy(dst, src, 4);
}

void cdc_date(cdc_chk_t *c, char *dst, const char *src, const char *pfx, const char *fld)
{
    size_t n = strnlen(src, OMS_DATE_CAP);
    if (c->cmd) {
        bool ok = n == OMS_DATE_CAP - 1;
        for (size_t i = 0; ok && i < n; i++)
            ok = (i == 4 || i == 7) ? src[i] == '-' : (src[i] >= '0' && src[i] <= '9');
        if (!ok)
            cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.%s: not a date YYYY-MM-DD", pfx, fld);
    } else if (n >= OMS_DATE_CAP) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "%s.%s: longer than %d bytes", pfx, fld, OMS_DATE_CAP - 1);
    }
    if (n < OMS_DATE_CAP)
        oms_strlcpy(dst, src, OMS_DATE_CAP);
}

uint32_t cdc_roles_from_pb(cdc_chk_t *c, size_t n, const Oms__V1__Role *r, const char *pfx)
{
    uint32_t mask = 0;
    if (c->cmd && n > OMS_LIMIT_ROLES) {
        cdc_fail(c, OMS_RR_INPUT_LIMIT, "%s.roles: %zu entries, limit %d", pfx, n,
                 (int)OMS_LIMIT_ROLES);
        n = OMS_LIMIT_ROLES;
    }
    for (size_t i = 0; i < n; i++) {
        int v = (int)r[i];
        if (c->cmd) {
            if (v < 0 || v >= OMS_ROLE_COUNT_) {
                cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.roles[%zu]: unknown role %d", pfx, i, v);
                continue;
            }
            if (mask & (1u << v))
                cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.roles[%zu]: role %s listed twice", pfx, i,
                         oms_role_name((oms_role_t)v));
        } else if (v < 0 || v >= 32 || (mask >> v) != 0) {
            /* Not the ascending, duplicate-free form the encoder writes. */
            cdc_fail(c, OMS_RR_INVALID_FIELD, "%s.roles[%zu]: %d out of order or range", pfx, i, v);
            continue;
        }
        mask |= 1u << v;
    }
    return mask;
}

size_t cdc_roles_to_pb(uint32_t mask, Oms__V1__Role *out)
{
    size_t n = 0;
    for (int v = 0; v < 32; v++)
        if (mask & (1u << v))
            out[n++] = (Oms__V1__Role)v;
    return n;
}
