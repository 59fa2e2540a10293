/*
 * codec.h - the codec's interface: converts between the oms.v1 protobuf wire form and the OMS's
 * own model types (model/oms_model.h) for commands, events and command replies. Besides the
 * event log, this is the only place that sees generated protobuf code.
 *
 *   commands  decode (the engine, from the bus), encode (clients, CLI, tests)
 *   events    encode (the engine, for every event it appends: the hot path), decode (rebuild,
 *             replay, subscribers)
 *   replies   encode (the engine), decode (clients)
 *   rows      projection records <-> event-log rows: encode (the engine, with each batch),
 *             load (the engine, at restart); see "projection rows" below
 *
 * Contracts
 *  - Functions return 0 or a negative oms_err_t.
 *  - Decoded structs never point into protobuf-c memory: strings are copied into the model's
 *    fixed arrays, lists (allocation instructions and parts, a rejected command) go into the
 *    caller's arena. The only borrowed pointers are into the caller's input buffer
 *    (oms_cmd_t.raw), so that buffer must outlive the decoded struct.
 *  - Encoding is deterministic: the same model value always gives the same bytes (fields in
 *    ascending number, proto3 defaults omitted, required decimals always present, roles in
 *    ascending order, a rejected command's received bytes embedded verbatim). decode(encode(x))
 *    equals x field by field, and encode(decode(b)) == b for every b this codec produced.
 *  - Encoders build protobuf-c structs on the stack and pack straight into the caller's buffer:
 *    no heap allocation. Decoders use protobuf-c's default allocator and free what it allocated
 *    before returning.
 *  - Model strings handed to an encoder must be NUL-terminated within their arrays (the model's
 *    own invariant); whatever follows the NUL is ignored.
 *  - Thread-safe: no global mutable state. Stack: under 1 KiB for the common events; the
 *    protobuf-c structs of a full allocation list take about 23 KiB (commands, OrderAccepted,
 *    a CommandRejected built from a model command) or 53 KiB (AllocationBooked), in frames of
 *    their own that the common path never enters.
 */
#ifndef OMS_CODEC_H
#define OMS_CODEC_H

#include "eventlog.h"
#include "oms_model.h"
#include "projections.h"

#include <stddef.h>
#include <stdint.h>

/* Decodes an oms.v1.Command received as buf[len] into *out (zeroed first).
 *
 * Fails, with a reason in err (NUL-terminated, cut to errcap; err may be NULL), when no
 * rejection event is possible:
 *   OMS_ERR_LIMIT   len > OMS_LIMIT_MSG_BYTES, or the arena cannot hold the command's
 *                   allocation instructions;
 *   OMS_ERR_DECODE  the bytes are not a Command, or command_id / principal is empty, longer
 *                   than OMS_LIMIT_ID_LEN or contains a NUL byte (the command cannot be
 *                   attributed).
 * Otherwise returns 0 with out->raw/raw_len = buf/len (borrowed) and out->type = the body case
 * (OMS_CMD_NONE when there is none). When a field breaks a rule the model cannot carry,
 * out->invalid and out->invalid_text say so (the first problem, naming the field) and the rest is
 * still filled; such a value is left 0 / empty (an over-long string is kept truncated):
 *   UNKNOWN_COMMAND  no body, or a body this version does not know;
 *   INPUT_LIMIT      a string longer than its limit (ids OMS_LIMIT_ID_LEN, texts
 *                    OMS_LIMIT_TEXT_LEN), more than OMS_LIMIT_ALLOC_ACCOUNTS allocation
 *                    instructions (the first ones are kept) or OMS_LIMIT_ROLES roles;
 *   INVALID_FIELD    a NUL byte in a string, a Decimal equal to INT64_MIN, an enum value the
 *                    model does not know, a role listed twice, an allocation instruction with
 *                    neither qty nor weight, a currency that is not 3 letters A-Z, a trade date
 *                    not of the form YYYY-MM-DD.
 * Semantic rules (quantities > 0, price vs order type, lots, ticks, calendar dates, a role of 0,
 * ...) are the handlers'. The allocation list is allocated in arena (a command with one and no
 * arena is OMS_ERR_INVALID); out->invalid is OMS_RR_NONE for a well-formed command. On failure
 * *out is all zero. */
int codec_decode_command(const uint8_t *buf, size_t len, oms_arena_t *arena, oms_cmd_t *out,
                         char *err, size_t errcap);

/* Encodes a model command as an oms.v1.Command into buf[cap]; *out_len = bytes written. cmd->raw
 * and cmd->invalid are ignored. OMS_CMD_NONE encodes a command without a body. Fails with
 * OMS_ERR_INVALID for an unknown type (or a list count without its pointer), OMS_ERR_LIMIT for
 * more than OMS_LIMIT_ALLOC_ACCOUNTS allocation instructions or when cap is too small (then
 * *out_len = the size needed, so buf = NULL, cap = 0 asks for the size). */
int codec_encode_command(const oms_cmd_t *cmd, uint8_t *buf, size_t cap, size_t *out_len);

/* Encodes a model event as an oms.v1.Event into buf[cap]; *out_len = bytes written. Each event
 * type writes the fields its message has (events.proto); the other model fields are ignored.
 * COMMAND_REJECTED: command_type is oms_cmd_type_name(command_type); field 7 carries the refused
 * command: its received bytes (command->raw, raw_len) verbatim when set, else the encoding of
 * the model command; absent when command is NULL. Fails with OMS_ERR_INVALID for an unknown type
 * (or a list count without its pointer), OMS_ERR_LIMIT for a list longer than
 * OMS_LIMIT_ALLOC_ACCOUNTS or when cap is too small (then *out_len = the size needed). */
int codec_encode_event(const oms_event_t *ev, uint8_t *buf, size_t cap, size_t *out_len);

/* Decodes an oms.v1.Event from buf[len] into *out (zeroed first). Lists go into arena (events
 * with none need no arena; one with a list and no arena is OMS_ERR_INVALID); a
 * COMMAND_REJECTED's command is decoded into an arena-allocated oms_cmd_t (as
 * codec_decode_command would, so out-of-rule fields of the refused command show in its
 * `invalid`, except that an empty command_id or principal is accepted) whose raw points at its
 * bytes inside buf: keep buf alive while using it. Fails with OMS_ERR_DECODE when the bytes are not
 * an Event, have no body this version knows, or hold what the model cannot (a string longer than
 * its array or with a NUL byte, a list longer than OMS_LIMIT_ALLOC_ACCOUNTS, an allocation
 * instruction without a share, roles not ascending or
 * >= 32, an unknown command_type name, a repeated command_rejected or command field), and with
 * OMS_ERR_LIMIT when the arena is full. Enum values and decimals are taken as they are. */
int codec_decode_event(const uint8_t *buf, size_t len, oms_arena_t *arena, oms_event_t *out);

/* Encodes a reply as an oms.v1.CommandReply into buf[cap]; *out_len = bytes written.
 * OMS_ERR_LIMIT when cap is too small (then *out_len = the size needed). */
int codec_encode_reply(const oms_reply_t *r, uint8_t *buf, size_t cap, size_t *out_len);

/* Decodes an oms.v1.CommandReply from buf[len] into *out (zeroed first). OMS_ERR_DECODE when the
 * bytes are not a CommandReply or a string is longer than its array or contains a NUL byte. */
int codec_decode_reply(const uint8_t *buf, size_t len, oms_reply_t *out);

/* ---- projection rows ------------------------------------------------------------------------
 * The projections' records as rows of the event log's column families (eventlog.h), written
 * with the events that changed them so that a restart loads the state instead of replaying the
 * log. Values are the oms.v1 snapshot messages of state.proto, filled field by field from the
 * proj_*_t records; keys are built from the record's ids, joined by 0x1f (unit separator, never
 * inside an id):
 *
 *   refdata      "i" instrument_id                          -> Instrument
 *                "a" account_id                             -> Account
 *                "p" principal_id                           -> Principal
 *                "l" ('0' + scope) 0x1f account 0x1f instr  -> Limits
 *                "r" instrument_id 0x1f account_id          -> Restriction (+ field 5, below)
 *   orders       "o" order_id                               -> Order (with its ClOrdID chain and
 *                                                              block instructions)
 *                "x" venue 0x1f exec_id                     -> Execution
 *   positions    account_id 0x1f instrument_id              -> Position (account "" = a block's
 *                                                              unallocated fills)
 *   allocations  order_id 0x1f alloc_id                     -> Allocation (with its parts and the
 *                                                              instructions it used)
 *   meta         "proj.trade_date"                          -> the trade date's bytes (0..10,
 *                                                              "YYYY-MM-DD") then its seq as 8
 *                                                              bytes big-endian
 *
 * Loading in key order loads every "o" row before the "x" rows ('o' < 'x'), as executions need
 * their order; the engine loads refdata, orders, positions, allocations, meta in that order.
 *
 * What a row does not carry is derived on load: list heads, links and counts (the loaders
 * rebuild them), an execution's and allocation's order index (from order_id), is_block (the
 * order has allocation instructions). An order's executions and allocations are linked in the
 * order their rows load (key order), not arrival order: the rows carry seq and created_seq,
 * not list positions. Written for readers and ignored on load: Order.avg_px
 * (from px_qty_sum and cum, absent when cum is 0), Position.avg_cost (absent when flat) and
 * Position.currency (the instrument's, "" if unknown), Allocation.instrument_id and side (the
 * block's). Decimal128: e16_hi = the high 64 bits (signed), e16_lo = the low 64 bits; always
 * present. Restriction rows keep lifted restrictions (restricted = false) so that a row
 * rebuilt from the log and one loaded from the store agree.
 *
 * Deterministic like the rest of the codec: the same record always gives the same bytes, and
 * encode -> load -> encode reproduces them. Encoders take the protobuf-c list structs from the
 * tail of the caller's buffer (no heap, a small fixed stack frame); the row is written at its
 * head, key first, then value. */

/* One projection row ready for the event log: column family, key and value (both point into the
 * caller's buffer). */
typedef struct {
    evlog_cf_t cf;      /* the column family */
    const uint8_t *key; /* the key (into the caller's buffer) */
    size_t klen;        /* its length */
    const uint8_t *val; /* the value (into the caller's buffer, after the key) */
    size_t vlen;        /* its length */
} codec_row_t;

/* Encodes the row of record idx of table t (PROJ_T_INSTRUMENT, ACCOUNT, PRINCIPAL, LIMITS,
 * RESTRICTION, ORDER, EXEC, POSITION, ALLOC) into buf[cap] (key and value both stored in buf).
 * OMS_ERR_NOT_FOUND for the tables that have no rows of their own (PROJ_T_CLORDID, PROJ_T_INSTR,
 * PROJ_T_PART: they are inside their order's / allocation's row), OMS_ERR_INVALID for an idx
 * past the table's end or an unknown table, OMS_ERR_LIMIT when cap is too small (the row plus
 * the protobuf-c structs of its lists) or a list is longer than the codec accepts back
 * (OMS_LIMIT_ALLOC_ACCOUNTS instructions or parts), OMS_ERR_STATE when the record's links are
 * inconsistent. Deterministic: the same record always gives the same bytes. */
int codec_row_encode(const proj_state_t *st, proj_table_t t, uint32_t idx, codec_row_t *row,
                     uint8_t *buf, size_t cap);

/* The meta row holding the last EndOfDay's trade date and its seq (key "proj.trade_date").
 * OMS_ERR_LIMIT when cap is too small. */
int codec_row_encode_trade_date(const proj_state_t *st, codec_row_t *row, uint8_t *buf, size_t cap);

/* Decodes one stored row of column family cf (an int holding an evlog_cf_t) and loads it into
 * the state with the proj_load_* functions (outside any batch). Rows it does not own are
 * skipped with 0: the events and idempotency families, and meta keys not starting with "proj."
 * (e.g. the log's "evlog.head"). arena: scratch for the row's lists, reset by the caller after
 * each call (OMS_ERR_LIMIT when full). OMS_ERR_CORRUPT when the value does not decode, holds
 * what the model cannot (an over-long string, a NUL inside a string, more than
 * OMS_LIMIT_ALLOC_ACCOUNTS instructions or parts, an instruction without a share, roles not
 * ascending), the key does not match the value, the key's prefix is unknown in its family, or a
 * "proj." meta key is unknown; OMS_ERR_INVALID for an unknown cf; the loaders' errors otherwise
 * (OMS_ERR_EXISTS, OMS_ERR_STATE for an execution or allocation whose order is not loaded). */
int codec_row_load(proj_state_t *st, int cf, const uint8_t *key, size_t klen, const uint8_t *val,
                   size_t vlen, oms_arena_t *arena);

#endif /* OMS_CODEC_H */
