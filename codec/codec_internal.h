/*
 * codec_internal.h - what the codec's source files share and nothing outside codec/ may use:
 * the field checker that turns a protobuf field into a model field (and notes the first rule it
 * breaks), the model <-> protobuf helpers for allocation lists, the scratch that holds a
 * command's protobuf-c structs while it is packed, and the few raw wire-format routines the
 * codec needs beyond protobuf-c (varints, finding a field's bytes, finding NUL bytes in
 * strings).
 */
#ifndef OMS_CODEC_INTERNAL_H
#define OMS_CODEC_INTERNAL_H

#include "codec.h"
#include "oms_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the field checker ---------------------------------------------------------------------- */

/* Collects the first problem found while converting one message. With `cmd` set the command
 * rules apply (enum values must be known, no INT64_MIN decimal, currency and trade date
 * formats); without it (events, replies: our own output read back) only what the model cannot
 * hold is a problem (a string longer than its array, a list longer than its limit). */
typedef struct {
    bool cmd;                /* apply the command rules */
    oms_reject_reason_t rr;  /* first problem's reason; OMS_RR_NONE while there is none */
    char text[OMS_TEXT_CAP]; /* that problem, naming the field */
} cdc_chk_t;

/* Records a problem unless one is already recorded (the first one wins). */
void cdc_fail(cdc_chk_t *c, oms_reject_reason_t rr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies a protobuf string into a fixed array of cap bytes. A longer string is an INPUT_LIMIT
 * problem ("pfx.fld ...") and is copied truncated. */
void cdc_str(cdc_chk_t *c, char *dst, size_t cap, const char *src, const char *pfx,
             const char *fld);

/* A Decimal the model requires: absent = 0. Under the command rules INT64_MIN is an
 * INVALID_FIELD problem and becomes 0. */
oms_dec_t cdc_dec(cdc_chk_t *c, const Oms__V1__Decimal *d, const char *pfx, const char *fld);

/* An optional Decimal: absent = !set. INT64_MIN as for cdc_dec (then !set). */
oms_opt_dec_t cdc_opt(cdc_chk_t *c, const Oms__V1__Decimal *d, const char *pfx, const char *fld);

/* An enum value. Under the command rules a value outside 0..max is an INVALID_FIELD problem
 * and becomes 0; otherwise the number is kept as it is. */
int cdc_enum(cdc_chk_t *c, int v, int max, const char *pfx, const char *fld);

/* ISO currency: under the command rules exactly 3 letters A-Z (else INVALID_FIELD, and left
 * empty unless it fits); otherwise at most 3 bytes. */
void cdc_currency(cdc_chk_t *c, char *dst /* [4] */, const char *src, const char *pfx,
                  const char *fld);

/* Trade date: under the command rules exactly "YYYY-MM-DD" digits (else INVALID_FIELD, and left
 * empty unless it fits); otherwise at most 10 bytes. */
void cdc_date(cdc_chk_t *c, char *dst /* [OMS_DATE_CAP] */, const char *src, const char *pfx,
              const char *fld);

/* Roles as a bitmask. Command rules: at most OMS_LIMIT_ROLES entries (INPUT_LIMIT), each a
 * known role (INVALID_FIELD) listed once (INVALID_FIELD). Event rules: strictly ascending values
 * 0..31 (the form cdc_roles_to_pb writes), else a problem. */
uint32_t cdc_roles_from_pb(cdc_chk_t *c, size_t n, const Oms__V1__Role *r, const char *pfx);

/* The bitmask's roles in ascending order into out[32]; returns their count. */
size_t cdc_roles_to_pb(uint32_t mask, Oms__V1__Role *out);

/* Allocation instructions into arena memory. More than OMS_LIMIT_ALLOC_ACCOUNTS is an
 * INPUT_LIMIT problem (the first OMS_LIMIT_ALLOC_ACCOUNTS are kept); an instruction with
 * neither qty nor weight is an INVALID_FIELD problem. Returns 0, or OMS_ERR_LIMIT when the arena
 * is full (OMS_ERR_INVALID without an arena). */
int cdc_instrs_from_pb(cdc_chk_t *c, Oms__V1__AllocInstruction *const *src, size_t n,
                       oms_arena_t *arena, const oms_alloc_instr_t **out, uint32_t *n_out,
                       const char *pfx, const char *fld);

/* Allocation instructions into caller storage for packing: ai[n], d[n] and ptrs[n]. */
void cdc_instrs_to_pb(const oms_alloc_instr_t *a, uint32_t n, Oms__V1__AllocInstruction *ai,
                      Oms__V1__Decimal *d, Oms__V1__AllocInstruction **ptrs);

/* An initialised protobuf Decimal in slot, holding v. */
static inline Oms__V1__Decimal *cdc_pb_dec(Oms__V1__Decimal *slot, oms_dec_t v)
{
    *slot = (Oms__V1__Decimal)OMS__V1__DECIMAL__INIT;
    slot->e8 = v;
    return slot;
}

/* Same for an optional decimal: NULL (absent) when !set. */
static inline Oms__V1__Decimal *cdc_pb_opt(Oms__V1__Decimal *slot, oms_opt_dec_t v)
{
    return v.set ? cdc_pb_dec(slot, v.v) : NULL;
}

/* A model string as a protobuf-c string member (protobuf-c never writes through it). */
#define CDC_S(s) ((char *)(s))

/* Packs msg into buf after checking its size: 0, or OMS_ERR_LIMIT when cap is too small (then
 * *out_len is the size needed). */
int cdc_pack(const ProtobufCMessage *msg, uint8_t *buf, size_t cap, size_t *out_len);

/* ---- the protobuf-c encoders behind the hand-written ones ------------------------------------
 * codec_encode_event, codec_encode_reply and codec_row_encode write the hot messages by hand
 * (pbw.h) and fall back to these for everything else (other types, a buffer too small: they
 * decide the error and *out_len). Same contracts as the public functions; exposed so that
 * tests/test_codec_fast.c can prove both give the same bytes. */
int cdc_encode_event_pb(const oms_event_t *ev, uint8_t *buf, size_t cap, size_t *out_len);
int cdc_encode_reply_pb(const oms_reply_t *r, uint8_t *buf, size_t cap, size_t *out_len);
/* And the protobuf-c decoder behind codec_decode_event's hand-written one (same contract). */
int cdc_decode_event_pb(const uint8_t *buf, size_t len, oms_arena_t *arena, oms_event_t *out);
int cdc_row_encode_pb(const proj_state_t *st, proj_table_t t, uint32_t idx, codec_row_t *row,
                      uint8_t *buf, size_t cap);

/* ---- messages that commands and events share field for field -------------------------------
 * DefineInstrument/UpdateInstrument/InstrumentDefined/InstrumentUpdated, DefineAccount/
 * AccountDefined, DefinePrincipal/PrincipalDefined, SetLimits/LimitsSet, SetRestricted/
 * RestrictionSet, SetReferencePrice/ReferencePriceSet, and the venue header (fields 1-6) of
 * every execution report and venue-side order event: distinct C types with the same members,
 * so these macros serve each pair. `m` is the protobuf struct, `d` the model struct, `dec` an
 * array of Oms__V1__Decimal slots, `c` a cdc_chk_t *, `pfx` the message's name for problems. */

#define CDC_INSTR_FROM_PB(c, d, m, pfx)                                                            \
    do {                                                                                           \
        cdc_str(c, (d)->instrument_id, OMS_ID_CAP, (m)->instrument_id, pfx, "instrument_id");      \
        cdc_str(c, (d)->symbol, OMS_ID_CAP, (m)->symbol, pfx, "symbol");                           \
        (d)->asset_class = (oms_asset_class_t)cdc_enum(c, (int)(m)->asset_class, OMS_ASSET_ETF,    \
                                                       pfx, "asset_class");                        \
        cdc_currency(c, (d)->currency, (m)->currency, pfx, "currency");                            \
        (d)->multiplier = cdc_dec(c, (m)->multiplier, pfx, "multiplier");                          \
        (d)->lot_size = cdc_dec(c, (m)->lot_size, pfx, "lot_size");                                \
        (d)->tick_size = cdc_dec(c, (m)->tick_size, pfx, "tick_size");                             \
        (d)->active = (m)->active != 0;                                                            \
    } while (0)

#define CDC_INSTR_TO_PB(m, d, dec)                                                                 \
    do {                                                                                           \
        (m)->instrument_id = CDC_S((d)->instrument_id);                                            \
        (m)->symbol = CDC_S((d)->symbol);                                                          \
        (m)->asset_class = (Oms__V1__AssetClass)(d)->asset_class;                                  \
        (m)->currency = CDC_S((d)->currency);                                                      \
        (m)->multiplier = cdc_pb_dec(&(dec)[0], (d)->multiplier);                                  \
        (m)->lot_size = cdc_pb_dec(&(dec)[1], (d)->lot_size);                                      \
        (m)->tick_size = cdc_pb_dec(&(dec)[2], (d)->tick_size);                                    \
        (m)->active = (d)->active ? 1 : 0;                                                         \
    } while (0)

#define CDC_ACCOUNT_FROM_PB(c, d, m, pfx)                                                          \
    do {                                                                                           \
        cdc_str(c, (d)->account_id, OMS_ID_CAP, (m)->account_id, pfx, "account_id");               \
        cdc_str(c, (d)->name, OMS_ID_CAP, (m)->name, pfx, "name");                                 \
        (d)->active = (m)->active != 0;                                                            \
        (d)->release_policy = (oms_release_policy_t)cdc_enum(                                      \
            c, (int)(m)->release_policy, OMS_RELEASE_FOUR_EYES, pfx, "release_policy");            \
        (d)->allow_short = (m)->allow_short != 0;                                                  \
    } while (0)

#define CDC_ACCOUNT_TO_PB(m, d)                                                                    \
    do {                                                                                           \
        (m)->account_id = CDC_S((d)->account_id);                                                  \
        (m)->name = CDC_S((d)->name);                                                              \
        (m)->active = (d)->active ? 1 : 0;                                                         \
        (m)->release_policy = (Oms__V1__ReleasePolicy)(d)->release_policy;                         \
        (m)->allow_short = (d)->allow_short ? 1 : 0;                                               \
    } while (0)

#define CDC_PRINCIPAL_FROM_PB(c, d, m, pfx)                                                        \
    do {                                                                                           \
        cdc_str(c, (d)->principal_id, OMS_ID_CAP, (m)->principal_id, pfx, "principal_id");         \
        (d)->roles = cdc_roles_from_pb(c, (m)->n_roles, (m)->roles, pfx);                          \
        (d)->active = (m)->active != 0;                                                            \
    } while (0)

#define CDC_PRINCIPAL_TO_PB(m, d, roles_buf)                                                       \
    do {                                                                                           \
        (m)->principal_id = CDC_S((d)->principal_id);                                              \
        (m)->n_roles = cdc_roles_to_pb((d)->roles, roles_buf);                                     \
        (m)->roles = (m)->n_roles ? (roles_buf) : NULL;                                            \
        (m)->active = (d)->active ? 1 : 0;                                                         \
    } while (0)

#define CDC_LIMITS_FROM_PB(c, d, m, pfx)                                                           \
    do {                                                                                           \
        (d)->scope = (oms_limit_scope_t)cdc_enum(c, (int)(m)->scope, OMS_SCOPE_ACCOUNT_INSTRUMENT, \
                                                 pfx, "scope");                                    \
        cdc_str(c, (d)->account_id, OMS_ID_CAP, (m)->account_id, pfx, "account_id");               \
        cdc_str(c, (d)->instrument_id, OMS_ID_CAP, (m)->instrument_id, pfx, "instrument_id");      \
        (d)->max_order_qty = cdc_opt(c, (m)->max_order_qty, pfx, "max_order_qty");                 \
        (d)->max_order_notional = cdc_opt(c, (m)->max_order_notional, pfx, "max_order_notional");  \
        (d)->max_position_long = cdc_opt(c, (m)->max_position_long, pfx, "max_position_long");     \
        (d)->max_position_short = cdc_opt(c, (m)->max_position_short, pfx, "max_position_short");  \
        (d)->collar_pct = cdc_opt(c, (m)->collar_pct, pfx, "collar_pct");                          \
    } while (0)

#define CDC_LIMITS_TO_PB(m, d, dec)                                                                \
    do {                                                                                           \
        (m)->scope = (Oms__V1__LimitScope)(d)->scope;                                              \
        (m)->account_id = CDC_S((d)->account_id);                                                  \
        (m)->instrument_id = CDC_S((d)->instrument_id);                                            \
        (m)->max_order_qty = cdc_pb_opt(&(dec)[0], (d)->max_order_qty);                            \
        (m)->max_order_notional = cdc_pb_opt(&(dec)[1], (d)->max_order_notional);                  \
        (m)->max_position_long = cdc_pb_opt(&(dec)[2], (d)->max_position_long);                    \
        (m)->max_position_short = cdc_pb_opt(&(dec)[3], (d)->max_position_short);                  \
        (m)->collar_pct = cdc_pb_opt(&(dec)[4], (d)->collar_pct);                                  \
    } while (0)

#define CDC_RESTRICTION_FROM_PB(c, d, m, pfx)                                                      \
    do {                                                                                           \
        cdc_str(c, (d)->instrument_id, OMS_ID_CAP, (m)->instrument_id, pfx, "instrument_id");      \
        cdc_str(c, (d)->account_id, OMS_ID_CAP, (m)->account_id, pfx, "account_id");               \
        (d)->restricted = (m)->restricted != 0;                                                    \
        cdc_str(c, (d)->reason, OMS_TEXT_CAP, (m)->reason, pfx, "reason");                         \
    } while (0)

#define CDC_RESTRICTION_TO_PB(m, d)                                                                \
    do {                                                                                           \
        (m)->instrument_id = CDC_S((d)->instrument_id);                                            \
        (m)->account_id = CDC_S((d)->account_id);                                                  \
        (m)->restricted = (d)->restricted ? 1 : 0;                                                 \
        (m)->reason = CDC_S((d)->reason);                                                          \
    } while (0)

#define CDC_REF_PRICE_FROM_PB(c, d, m, pfx)                                                        \
    do {                                                                                           \
        cdc_str(c, (d)->instrument_id, OMS_ID_CAP, (m)->instrument_id, pfx, "instrument_id");      \
        (d)->price = cdc_dec(c, (m)->price, pfx, "price");                                         \
    } while (0)

#define CDC_REF_PRICE_TO_PB(m, d, dec)                                                             \
    do {                                                                                           \
        (m)->instrument_id = CDC_S((d)->instrument_id);                                            \
        (m)->price = cdc_pb_dec(&(dec)[0], (d)->price);                                            \
    } while (0)

#define CDC_HDR_FROM_PB(c, h, m, pfx)                                                              \
    do {                                                                                           \
        cdc_str(c, (h)->order_id, OMS_ID_CAP, (m)->order_id, pfx, "order_id");                     \
        cdc_str(c, (h)->venue, OMS_ID_CAP, (m)->venue, pfx, "venue");                              \
        cdc_str(c, (h)->exec_id, OMS_ID_CAP, (m)->exec_id, pfx, "exec_id");                        \
        cdc_str(c, (h)->venue_order_id, OMS_ID_CAP, (m)->venue_order_id, pfx, "venue_order_id");   \
        (h)->transact_ts_ns = (m)->transact_ts_ns;                                                 \
        cdc_str(c, (h)->cl_ord_id, OMS_ID_CAP, (m)->cl_ord_id, pfx, "cl_ord_id");                  \
    } while (0)

#define CDC_HDR_TO_PB(m, h)                                                                        \
    do {                                                                                           \
        (m)->order_id = CDC_S((h)->order_id);                                                      \
        (m)->venue = CDC_S((h)->venue);                                                            \
        (m)->exec_id = CDC_S((h)->exec_id);                                                        \
        (m)->venue_order_id = CDC_S((h)->venue_order_id);                                          \
        (m)->transact_ts_ns = (h)->transact_ts_ns;                                                 \
        (m)->cl_ord_id = CDC_S((h)->cl_ord_id);                                                    \
    } while (0)

/* ---- commands ----------------------------------------------------------------------------- */

/* A command's protobuf-c structs while it is packed. Lives on the caller's stack (about 23 KiB,
 * most of it the allocation list, which is touched only when the command has one). */
typedef struct {
    Oms__V1__Command cmd; /* the root; points into b, dec and ai */
    union {
        Oms__V1__DefineInstrument define_instrument;
        Oms__V1__UpdateInstrument update_instrument;
        Oms__V1__DefineAccount define_account;
        Oms__V1__DefinePrincipal define_principal;
        Oms__V1__SetLimits set_limits;
        Oms__V1__SetRestricted set_restricted;
        Oms__V1__SetReferencePrice set_reference_price;
        Oms__V1__NewOrder new_order;
        Oms__V1__ReleaseOrder release_order;
        Oms__V1__CancelOrder cancel_order;
        Oms__V1__ReplaceOrder replace_order;
        Oms__V1__VenueAck venue_ack;
        Oms__V1__VenueReject venue_reject;
        Oms__V1__VenueFill venue_fill;
        Oms__V1__VenueCancelAck venue_cancel_ack;
        Oms__V1__VenueCancelReject venue_cancel_reject;
        Oms__V1__VenueReplaceAck venue_replace_ack;
        Oms__V1__VenueReplaceReject venue_replace_reject;
        Oms__V1__VenueExpire venue_expire;
        Oms__V1__VenueDoneForDay venue_done_for_day;
        Oms__V1__TradeBust trade_bust;
        Oms__V1__TradeCorrect trade_correct;
        Oms__V1__Allocate allocate;
        Oms__V1__ReverseAllocation reverse_allocation;
        Oms__V1__EndOfDay end_of_day;
    } b;
    Oms__V1__Decimal dec[8];                                     /* the body's decimals */
    Oms__V1__Role roles[32];                                     /* DefinePrincipal: one per bit */
    Oms__V1__AllocInstruction ai[OMS_LIMIT_ALLOC_ACCOUNTS];      /* allocation list */
    Oms__V1__Decimal ai_dec[OMS_LIMIT_ALLOC_ACCOUNTS];           /* its shares */
    Oms__V1__AllocInstruction *ai_ptr[OMS_LIMIT_ALLOC_ACCOUNTS]; /* its pointer array */
} cdc_cmd_pb_t;

/* Builds the protobuf form of a model command in s. 0, OMS_ERR_INVALID (unknown type, a list
 * without its pointer) or OMS_ERR_LIMIT (a list longer than OMS_LIMIT_ALLOC_ACCOUNTS). */
int cdc_cmd_to_pb(const oms_cmd_t *cmd, cdc_cmd_pb_t *s);

/* Fills *out (zeroed first) from an unpacked Command whose wire bytes are raw[raw_len] (out->raw
 * points at them). `embedded`: the command is the copy inside a CommandRejected, so an empty
 * command id or principal is accepted. Returns 0 (out->invalid says whether a field broke a
 * rule), OMS_ERR_DECODE (header unusable: err says why) or OMS_ERR_LIMIT (arena full). */
int cdc_cmd_from_pb(const Oms__V1__Command *pb, const uint8_t *raw, size_t raw_len, bool embedded,
                    oms_arena_t *arena, oms_cmd_t *out, char *err, size_t errcap);

/* ---- wire format -------------------------------------------------------------------------- */

/* Bytes a varint of v takes (1..10). */
size_t cdc_varint_size(uint64_t v);
/* Writes v as a varint at p; returns the bytes written. */
size_t cdc_put_varint(uint8_t *p, uint64_t v);

/* Finds the length-delimited occurrences of top-level field `field` in a message's bytes.
 * Returns how many there are (the last one in *data and *dlen), or -1 if the bytes are not a
 * well-formed message. */
int cdc_find_field(const uint8_t *buf, size_t len, uint32_t field, const uint8_t **data,
                   size_t *dlen);

/* Where the first NUL byte inside a string field was found. */
typedef struct {
    const ProtobufCMessageDescriptor *msg; /* the message holding the string; NULL = none */
    const ProtobufCFieldDescriptor *field; /* the string field */
    uint32_t root_mask;                    /* bit f set: top-level string field f (< 32) has one */
} cdc_nul_t;

/* Walks a message's bytes along its descriptor (into sub-messages, except those of type
 * `skip`) looking for NUL bytes inside string fields, which protobuf allows and protobuf-c
 * silently cuts at. Returns 1 if one was found (*hit says where), 0 if none, -1 if the bytes
 * are malformed. */
int cdc_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                 const ProtobufCMessageDescriptor *skip, cdc_nul_t *hit);

/* ---- rows (rows.c), for the query replies' row decoders (query.c) -------------------------- */

/* Unpacks a row value as a desc message; NULL when the bytes are not one or a string holds a
 * NUL byte. Free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *cdc_row_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *val,
                                 size_t vlen);

/* A Decimal128 as a 128-bit value (absent = 0). */
oms_e16_t cdc_e16(const Oms__V1__Decimal128 *d);

/* An Order row's fields into *r (zeroed first); its ClOrdID chain and block instructions into
 * arena (NULL when absent). Problems go to c; OMS_ERR_LIMIT when the arena is full,
 * OMS_ERR_INVALID when a list needs an arena and there is none. */
int cdc_order_from_pb(cdc_chk_t *c, const Oms__V1__Order *m, oms_arena_t *arena, proj_order_t *r,
                      char (**cl)[OMS_ID_CAP], const oms_alloc_instr_t **instrs,
                      uint32_t *n_instrs);

/* An Allocation row's parts into arena (more than OMS_LIMIT_ALLOC_ACCOUNTS is a problem in c). */
int cdc_parts_from_pb(cdc_chk_t *c, Oms__V1__AllocationPart *const *src, size_t n,
                      oms_arena_t *arena, const oms_alloc_part_t **out);

#endif /* OMS_CODEC_INTERNAL_H */
