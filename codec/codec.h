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
 *  - Hot paths are hand-written (codec/pbw.h): the order-flow events, the command reply and
 *    the order, execution and position rows are encoded field by field straight into the
 *    caller's buffer, and the order-flow events are decoded by a table-driven reader that
 *    accepts only the exact form this codec writes. Everything else, and anything the fast
 *    paths do not accept (an unknown or repeated field, a NUL byte, a buffer too small), takes
 *    the protobuf-c path, which also decides every error. tests/test_codec_fast.c proves both
 *    paths give identical bytes and identical decoded values on random inputs. Encoders never
 *    allocate; protobuf-c decoding uses its default allocator and frees what it allocated
 *    before returning.
 *  - Model strings handed to an encoder must be NUL-terminated within their arrays (the model's
 *    own invariant); whatever follows the NUL is ignored.
 *  - An encoder may use all of buf[cap] as scratch: the bytes after the ones it reports written
 *    (*out_len, or a row's key and value) are unspecified afterwards, on success or failure.
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

/* ---- index rows ------------------------------------------------------------------------------
 * Written beside the projection rows by an engine with on-demand loading (engine.h), so that a
 * restart can load only the working orders and an order can be loaded with its executions
 * without scanning the family. Orders family, empty values:
 *
 *   "w" order_id                        the order is working (proj_status_working); deleted
 *                                       when it stops working
 *   "e" order_id 0x1f venue 0x1f exec_id  one execution of the order (its row is "x" venue
 *                                       0x1f exec_id)
 *
 * and the meta row "oms.index" = "1", written with a new log's first batch: the store has had
 * index rows from its start (a store without it is loaded whole). codec_row_load skips these
 * rows (0). The key builders return the key's length, 0 when it does not fit cap (the
 * largest key needs 3 * OMS_ID_CAP bytes). */
#define CODEC_INDEX_MARKER_KEY "oms.index"
#define CODEC_KEY_CAP          (3 * OMS_ID_CAP + 4) /* every row key the codec builds fits */
size_t codec_key_order(uint8_t *out, size_t cap, const char *order_id);
size_t codec_key_exec(uint8_t *out, size_t cap, const char *venue, const char *exec_id);
size_t codec_key_working(uint8_t *out, size_t cap, const char *order_id);
size_t codec_key_exec_index(uint8_t *out, size_t cap, const char *order_id, const char *venue,
                            const char *exec_id);
/* The "e" key's venue and exec id (key[klen] must start with "e" order_id 0x1f). 0, or
 * OMS_ERR_CORRUPT when the key does not have that shape or an id does not fit OMS_ID_CAP. */
int codec_key_exec_index_parse(const uint8_t *key, size_t klen, size_t order_len,
                               char venue[OMS_ID_CAP], char exec_id[OMS_ID_CAP]);
/* The order id of a stored Execution row / the instrument id of a stored Order row, without
 * loading it. 0, or OMS_ERR_CORRUPT when the value does not decode or the id does not fit. */
int codec_row_exec_order_id(const uint8_t *val, size_t vlen, char out[OMS_ID_CAP]);
int codec_row_order_instrument(const uint8_t *val, size_t vlen, char out[OMS_ID_CAP]);

/* ---- the read endpoint: queries and their replies (query.c) ---------------------------------
 * oms.v1.QueryRequest <-> codec_query_t (clients encode, the daemon decodes), the daemon's
 * QueryReply writer, which stitches bytes it already has (envelopes as stored in the log,
 * projection rows as stored in their column families) into a reply without decoding them, and
 * the client's reply decoder, which hands those bytes back as slices of the reply buffer (no
 * copies). Row slices become model records with codec_row_decode_*.
 *
 * Sizes: a query is one frame of at most OMS_LIMIT_MSG_BYTES. A reply is bounded by the buffer
 * the daemon gives the writer; CODEC_QREPLY_CAP is the size the daemon should use and clients
 * should accept (ZMQ_MAXMSGSIZE): it holds the largest event (OMS_LIMIT_EVENT_BYTES) many times
 * over, so a catch-up page always makes progress. Entry counts are bounded by
 * OMS_LIMIT_CATCHUP_EVENTS (catch-up) and OMS_LIMIT_QUERY_ROWS (lists). */

#define CODEC_QREPLY_CAP ((size_t)OMS_LIMIT_MSG_BYTES * 16) /* 1 MiB */

/* Which query a QueryRequest holds (= its oneof field number). */
typedef enum {
    CODEC_Q_NONE = 0,                     /* no query case: the daemon answers an ErrorReply */
    CODEC_Q_CATCH_UP = 10,                /* events from_seq.. (at most max_events) */
    CODEC_Q_ORDER = 20,                   /* one order: id */
    CODEC_Q_ORDERS_OF_ACCOUNT = 21,       /* orders of account id; open_only, max_rows, after */
    CODEC_Q_EXECUTIONS_OF_ORDER = 22,     /* executions of order id */
    CODEC_Q_POSITIONS_OF_ACCOUNT = 30,    /* positions of account id; max_rows, after (instr.) */
    CODEC_Q_POSITIONS_OF_INSTRUMENT = 31, /* positions in instrument id; max_rows, after (acct.) */
    CODEC_Q_ALLOCATIONS_OF_ORDER = 40,    /* allocations of block order id */
    CODEC_Q_REF_DATA = 50,                /* reference data: ref_kind, id, max_rows, after */
    CODEC_Q_STATS = 60,                   /* the daemon's counters */
} codec_query_kind_t;

/* Which reference data a REF_DATA query asks for (= oms.v1.RefDataKind). */
typedef enum {
    CODEC_REF_NONE = 0,        /* not valid in a query */
    CODEC_REF_INSTRUMENT = 1,  /* instruments */
    CODEC_REF_ACCOUNT = 2,     /* accounts */
    CODEC_REF_PRINCIPAL = 3,   /* principals */
    CODEC_REF_LIMITS = 4,      /* limits of every scope */
    CODEC_REF_RESTRICTION = 5, /* restrictions */
    CODEC_REF_ALL = 6,         /* all of the above */
} codec_ref_kind_t;

/* A QueryRequest as the model sees it. Strings are NUL-terminated; the fields a kind does not
 * use are 0 / "" (and ignored by the encoder). */
typedef struct {
    char request_id[OMS_ID_CAP]; /* client-chosen, 1..OMS_LIMIT_ID_LEN bytes, echoed */
    codec_query_kind_t kind;     /* which query */
    uint64_t from_seq;           /* CATCH_UP: first seq wanted */
    uint32_t max_events;         /* CATCH_UP: at most this many (0 = the server's default) */
    char id[OMS_ID_CAP];         /* the query's subject: order id (ORDER, EXECUTIONS_OF_ORDER,
                                    ALLOCATIONS_OF_ORDER), account id (ORDERS_OF_ACCOUNT,
                                    POSITIONS_OF_ACCOUNT), instrument id
                                    (POSITIONS_OF_INSTRUMENT), one item's id (REF_DATA) */
    bool open_only;              /* ORDERS_OF_ACCOUNT: only orders not in a terminal status */
    uint32_t max_rows;           /* the list queries' page size (0 = the server's default) */
    char after[OMS_ID_CAP];      /* paging cursor: after_order_id / after_instrument_id /
                                    after_account_id / after_id; "" = from the start */
    codec_ref_kind_t ref_kind;   /* REF_DATA: what to return */
} codec_query_t;

/* Decodes an oms.v1.QueryRequest from buf[len] into *out (zeroed first). Fails, with a reason in
 * err (cut to cap; may be NULL), with OMS_ERR_LIMIT when len > OMS_LIMIT_MSG_BYTES, and with
 * OMS_ERR_DECODE when the bytes are not a QueryRequest, request_id is empty, an id is longer
 * than OMS_LIMIT_ID_LEN or holds a NUL byte, or a REF_DATA query's kind is not 1..6. A request
 * without a query case decodes with kind CODEC_Q_NONE (out->request_id set: answer it with an
 * error). On failure *out is zero except request_id, kept when it could be read, so that the
 * ErrorReply can echo it. */
int codec_decode_query(const uint8_t *buf, size_t len, codec_query_t *out, char *err, size_t cap);

/* Encodes *q as an oms.v1.QueryRequest into buf[cap]; *out_len = bytes written. Deterministic.
 * OMS_ERR_INVALID for an unknown kind; OMS_ERR_LIMIT when cap is too small (then *out_len = the
 * size needed). CODEC_Q_NONE encodes a request without a query (for tests of the error path). */
int codec_encode_query(const codec_query_t *q, uint8_t *buf, size_t cap, size_t *out_len);

/* The lists a reply carries rows in: one value per (list message, repeated field). */
typedef enum {
    CODEC_QL_NONE = 0,     /* no list */
    CODEC_QL_ORDERS,       /* OrderList (QueryReply field 20) .orders: Order rows */
    CODEC_QL_EXECUTIONS,   /* ExecutionList (22) .executions: Execution rows */
    CODEC_QL_POSITIONS,    /* PositionList (30) .positions: Position rows */
    CODEC_QL_ALLOCATIONS,  /* AllocationList (40) .allocations: Allocation rows */
    CODEC_QL_INSTRUMENTS,  /* RefDataList (50) .instruments (1): Instrument rows */
    CODEC_QL_ACCOUNTS,     /* RefDataList .accounts (2): Account rows */
    CODEC_QL_PRINCIPALS,   /* RefDataList .principals (3): Principal rows */
    CODEC_QL_LIMITS,       /* RefDataList .limits (4): Limits rows */
    CODEC_QL_RESTRICTIONS, /* RefDataList .restrictions (5): Restriction rows */
    CODEC_QL_COUNT_
} codec_qlist_t;

/* Which result a QueryReply holds (= its oneof field number). */
typedef enum {
    CODEC_QR_NONE = 0,         /* no result (not a valid reply) */
    CODEC_QR_CATCH_UP = 10,    /* CatchUpReply: events, head_seq, more */
    CODEC_QR_ORDERS = 20,      /* OrderList */
    CODEC_QR_EXECUTIONS = 22,  /* ExecutionList */
    CODEC_QR_POSITIONS = 30,   /* PositionList */
    CODEC_QR_ALLOCATIONS = 40, /* AllocationList */
    CODEC_QR_REF_DATA = 50,    /* RefDataList */
    CODEC_QR_STATS = 60,       /* Stats */
    CODEC_QR_ERROR = 99,       /* ErrorReply */
} codec_qresult_t;

/* Bounds of codec_stats_t's lists. */
enum {
    CODEC_STATS_REASONS_MAX = 128,    /* rejects_by_reason entries (more than reasons exist) */
    CODEC_STATS_SUBSCRIBERS_MAX = 64, /* subscriber lag entries */
};

/* Commands rejected for one reason (= oms.v1.RejectCount). */
typedef struct {
    oms_reject_reason_t reason; /* the reason */
    uint64_t count;             /* rejections since start */
} codec_reject_count_t;

/* One catch-up client's lag (= oms.v1.SubscriberLag). */
typedef struct {
    char client[OMS_ID_CAP]; /* its identity (routing id in hex, or a name), <= 64 bytes */
    uint64_t last_from_seq;  /* from_seq of its last catch-up request */
    uint64_t lag_events;     /* head_seq - (last_from_seq - 1) then */
    int64_t last_seen_ts_ns; /* when it last asked, UTC ns */
} codec_sub_lag_t;

/* The daemon's statistics (= oms.v1.Stats; see bus.proto for each field). About 8 KiB. */
typedef struct {
    uint64_t head_seq;                   /* last seq in the log */
    oms_hash_t head_hash;                /* its envelope's hash (zeros when the log is empty) */
    int64_t started_ts_ns;               /* daemon start, UTC ns */
    int64_t window_ns;                   /* the rates' window, ns */
    uint64_t commands_per_s;             /* over the window */
    uint64_t events_per_s;               /* over the window */
    uint64_t commands_total;             /* since start */
    uint64_t events_total;               /* since start */
    uint64_t batches_total;              /* since start */
    uint32_t batch_commands_last;        /* commands in the last batch */
    uint32_t batch_commands_max;         /* most commands in one batch */
    uint32_t batch_events_max;           /* most events in one batch */
    uint64_t commands_per_batch_mean_e3; /* mean commands per batch x 1000 */
    uint64_t append_latency_us_p50;      /* over the window, us */
    uint64_t append_latency_us_p99;      /* over the window, us */
    uint64_t rejects_total;              /* since start */
    uint32_t n_rejects_by_reason;        /* entries used in rejects_by_reason */
    codec_reject_count_t rejects_by_reason[CODEC_STATS_REASONS_MAX]; /* ascending reason */
    uint64_t errors_total;                                           /* ERROR replies */
    uint64_t duplicates_total;                                       /* DUPLICATE replies */
    uint32_t n_subscribers;                                   /* entries used in subscribers */
    codec_sub_lag_t subscribers[CODEC_STATS_SUBSCRIBERS_MAX]; /* catch-up clients */
    uint64_t orders_in_memory;                                /* orders in the state now */
    uint64_t state_reloads_total;                             /* state reloads since start */
} codec_stats_t;

/* The daemon's reply writer: builds one oms.v1.QueryReply in a caller buffer, in order:
 *
 *   codec_qreply_begin                       request_id and head_seq, then exactly one of
 *     codec_qreply_catch_up_event * n, codec_qreply_catch_up_end
 *     [codec_qreply_list_begin], codec_qreply_row * n, codec_qreply_list_end
 *     codec_qreply_stats
 *     codec_qreply_error                     (also allowed after the others, even after a
 *                                             failure: it discards whatever result was written)
 *   codec_qreply_finish                      the reply's length
 *
 * Envelopes and rows are copied in verbatim, each framed as one entry of its repeated field
 * (a `bytes` entry and a message entry have the same wire form: QueryReplyCatchUpRaw /
 * CatchUpReplyRaw in bus.proto). The result message's length is not known until it ends, so
 * its content is written after a gap big enough for the longest tag and length (7 bytes), and
 * closing it writes the exact, minimal tag and length and moves the content back over the rest
 * of the gap (one memmove per reply): the bytes are canonical, as protobuf-c would pack them.
 * No allocation; the writer lives in the caller's memory and points into buf.
 *
 * Failures: an entry that does not fit (or one past OMS_LIMIT_CATCHUP_EVENTS /
 * OMS_LIMIT_QUERY_ROWS) returns OMS_ERR_LIMIT and leaves the reply exactly as it was, with
 * room kept for the list's end: the caller ends it with more = true. Calls out of order give
 * OMS_ERR_STATE, bad arguments OMS_ERR_INVALID; neither changes the reply. */
typedef struct {
    uint8_t *buf;       /* the caller's buffer */
    size_t cap;         /* its size */
    size_t pos;         /* bytes written */
    size_t hdr_end;     /* end of the header fields (request_id, head_seq) */
    size_t gap_at;      /* the open result's tag + length gap */
    uint64_t head_seq;  /* the reply's head_seq (repeated in CatchUpReply) */
    int result;         /* codec_qresult_t of the result begun; 0 = none yet */
    codec_qlist_t list; /* the open list (rows), CODEC_QL_NONE when none */
    bool open;          /* the result's content is still being written */
    bool closed;        /* the result is complete */
    uint32_t n;         /* entries written into the result */
} codec_reply_writer_t;

/* Starts a reply in buf[cap] with request_id (NULL = "", at most OMS_LIMIT_ID_LEN bytes) and
 * head_seq (the state answered is as of it; for catch-up the log's head). 0, OMS_ERR_INVALID
 * (NULL writer or buffer, over-long id), OMS_ERR_LIMIT (cap cannot hold the header and an
 * ErrorReply of OMS_LIMIT_TEXT_LEN: keep cap >= 1 KiB). */
int codec_qreply_begin(codec_reply_writer_t *w, uint8_t *buf, size_t cap, const char *request_id,
                       uint64_t head_seq);

/* Adds one serialized EventEnvelope (as stored; len > 0) to the catch-up result (begins it on
 * the first call). Envelopes must come in seq order without gaps: the writer does not check. */
int codec_qreply_catch_up_event(codec_reply_writer_t *w, const uint8_t *envelope, size_t len);

/* Ends the catch-up result (an empty one when no event was added): CatchUpReply.head_seq = the
 * reply's head_seq, more = whether events after the last one exist. */
int codec_qreply_catch_up_end(codec_reply_writer_t *w, bool more);

/* Begins the list that list_kind belongs to, empty (row does it too on its first call). The
 * RefDataList kinds share one list, whatever the first kind. */
int codec_qreply_list_begin(codec_reply_writer_t *w, codec_qlist_t list_kind);

/* Adds one stored projection row (the value bytes, a state.proto message) to list_kind. Rows
 * of the RefDataList kinds may be mixed in one list; any other kind must match the open list
 * (else OMS_ERR_STATE). Canonical order within a RefDataList is by field (instruments,
 * accounts, principals, limits, restrictions); other orders are valid protobuf too. */
int codec_qreply_row(codec_reply_writer_t *w, codec_qlist_t list_kind, const uint8_t *row,
                     size_t len);

/* Ends the open list with its `more` flag (the page was cut). */
int codec_qreply_list_end(codec_reply_writer_t *w, bool more);

/* Writes the Stats result. OMS_ERR_INVALID for counts over the struct's bounds or a client id
 * longer than OMS_LIMIT_ID_LEN; OMS_ERR_LIMIT when it does not fit. */
int codec_qreply_stats(codec_reply_writer_t *w, const codec_stats_t *s);

/* Replaces whatever result was written with ErrorReply {err, text} (text NULL = "", cut to
 * OMS_LIMIT_TEXT_LEN bytes). Always fits once begin succeeded. */
int codec_qreply_error(codec_reply_writer_t *w, int err, const char *text);

/* Completes the reply: *out_len = its length (bytes at buf). OMS_ERR_STATE when no result was
 * completed (none begun, or a catch-up/list not ended). */
int codec_qreply_finish(codec_reply_writer_t *w, size_t *out_len);

/* One entry of a decoded reply: bytes inside the reply buffer. */
typedef struct {
    const uint8_t *data; /* a serialized EventEnvelope or projection row (into the buffer) */
    size_t len;          /* its length */
    codec_qlist_t list;  /* which list it came from (CODEC_QL_NONE for catch-up events) */
} codec_slice_t;

/* A decoded QueryReply. Slices point into the decoded buffer: keep it alive. About 9 KiB
 * (the Stats result): keep it off small stacks. */
typedef struct {
    char request_id[OMS_ID_CAP];   /* echoed ("" if the request could not be decoded) */
    uint64_t head_seq;             /* the state's seq (catch-up: the log's head) */
    codec_qresult_t kind;          /* which result */
    uint32_t n_items;              /* entries stored in the caller's slice array */
    bool more;                     /* CATCH_UP and lists: more remain */
    uint64_t catch_up_head_seq;    /* CATCH_UP: CatchUpReply.head_seq */
    int32_t error_code;            /* ERROR: an oms_err_t */
    char error_text[OMS_TEXT_CAP]; /* ERROR: detail */
    codec_stats_t stats;           /* STATS */
} codec_qreply_t;

/* Decodes an oms.v1.QueryReply from buf[len] into *out (zeroed first), the catch-up envelopes
 * or list rows into items[0 .. n_items) as slices of buf (nothing is copied, nothing
 * allocated except the Stats result's protobuf-c unpack, freed before returning). Envelopes and
 * rows are not checked beyond being length-delimited (evlog_record_parse, codec_row_decode_*).
 * Fails with OMS_ERR_DECODE when the bytes are not a QueryReply, hold no result or more than
 * one, a string is over its array or holds a NUL byte, or Stats.head_hash is neither 0 nor 32
 * bytes; OMS_ERR_LIMIT when there are more entries than items_cap or than
 * OMS_LIMIT_CATCHUP_EVENTS / OMS_LIMIT_QUERY_ROWS, or Stats lists longer than codec_stats_t's.
 * On failure *out is zeroed. */
int codec_decode_qreply(const uint8_t *buf, size_t len, codec_slice_t *items, uint32_t items_cap,
                        codec_qreply_t *out);

/* Projection rows (as returned in list replies, or read from the log's column families) into
 * model records, for display. Fields a row does not carry (list heads, links, indices, is_block
 * from the instructions' presence) are left as codec_row_load would derive or PROJ_NIL/0.
 * Lists go into arena: an order's ClOrdID chain and block instructions (NULL, 0 when absent),
 * an allocation's parts and instructions used; rows with a list need an arena
 * (OMS_ERR_INVALID without one), OMS_ERR_LIMIT when it is full. OMS_ERR_DECODE when the bytes
 * are not the row's message or hold what the model cannot (an over-long string, a NUL byte, more
 * than OMS_LIMIT_ALLOC_ACCOUNTS parts or instructions). */
int codec_row_decode_order(const uint8_t *row, size_t len, oms_arena_t *arena, proj_order_t *out,
                           const char (**cl_ord_ids)[OMS_ID_CAP], uint32_t *n_cl_ord_ids,
                           const oms_alloc_instr_t **instrs, uint32_t *n_instrs);
/* An Execution row; the order's id (the record holds only its index) into order_id, and the
 * venue and exec id into the caller's strs[0] and strs[1], which out->venue and out->exec_id
 * then point at (they live as long as strs). */
int codec_row_decode_exec(const uint8_t *row, size_t len, proj_exec_t *out,
                          char order_id[OMS_ID_CAP], char strs[2][OMS_ID_CAP]);
int codec_row_decode_position(const uint8_t *row, size_t len, proj_position_t *out);
/* An Allocation row; parts and instructions used into arena. */
int codec_row_decode_alloc(const uint8_t *row, size_t len, oms_arena_t *arena, proj_alloc_t *out,
                           const oms_alloc_part_t **parts, uint32_t *n_parts,
                           const oms_alloc_instr_t **used, uint32_t *n_used);
int codec_row_decode_instrument(const uint8_t *row, size_t len, proj_instrument_t *out);
int codec_row_decode_account(const uint8_t *row, size_t len, proj_account_t *out);
int codec_row_decode_principal(const uint8_t *row, size_t len, proj_principal_t *out);
int codec_row_decode_limits(const uint8_t *row, size_t len, proj_limits_t *out);
int codec_row_decode_restriction(const uint8_t *row, size_t len, proj_restriction_t *out);

/* The account_id of a stored Order row, read in place (no decode, no arena): for clients that
 * need only that (the subscriber's order -> account lookups). OMS_ERR_DECODE when the bytes
 * are malformed or the account is longer than OMS_LIMIT_ID_LEN or holds a NUL byte. */
int codec_row_order_account(const uint8_t *row, size_t len, char account_id[OMS_ID_CAP]);

/* What an event's PUB topic is made of, read from a serialized oms.v1.Event without decoding
 * it (the bus's topic functions use it; see PROTOCOL.md, "Topic grammar"). */
typedef struct {
    oms_event_type_t type;       /* the body case (= its field number) */
    bool has_account;            /* the body has a string field account_id (for
                                    command_rejected: the refused command's body has one) */
    char account_id[OMS_ID_CAP]; /* its value ("" may be a block's) */
    char order_id[OMS_ID_CAP];   /* the body's order_id field (for command_rejected: the
                                    refused command's); "" when it has none */
    oms_cmd_type_t cmd_type;     /* command_rejected: the refused command's body case
                                    (OMS_CMD_NONE when it carries no command) */
} codec_event_peek_t;

/* Fills *out from an Event's bytes. OMS_ERR_DECODE when they are malformed, hold no body or
 * one this version does not know, or an account or order id is longer than OMS_LIMIT_ID_LEN
 * or holds a NUL byte. The body itself is not validated. */
int codec_event_peek(const uint8_t *event, size_t len, codec_event_peek_t *out);

/* ---- JSON (json.c) ---------------------------------------------------------------------------
 * Writes the oms.v1 message named type_name (the full protobuf name: "oms.v1.EventEnvelope",
 * "oms.v1.Event", "oms.v1.Command", "oms.v1.CommandReply", "oms.v1.QueryReply", "oms.v1.Order",
 * "oms.v1.Position", "oms.v1.Allocation", ... any message of the schema) decoded from bytes[len]
 * as one JSON object, without a newline, into out[cap], NUL-terminated; *out_len (may be NULL)
 * = its length. Generic over the descriptors, so new fields and event types print without new
 * code. Field names as in the .proto, in field-number order; only fields present on the wire /
 * non-default (proto3); enums by value name (an unknown value as a number); Decimal and
 * Decimal128 as exact decimal strings ("101.25"); 64-bit integers as JSON strings and 32-bit
 * ones as numbers (proto3 JSON mapping); bytes as lowercase hex; a oneof's member by its field
 * name. Returns 0; OMS_ERR_INVALID for an unknown type_name or bad arguments; OMS_ERR_DECODE
 * when the bytes do not parse as that message; OMS_ERR_LIMIT when cap is too small
 * (CODEC_JSON_CAP(len) always suffices); on failure out is "". Thread-safe; allocates only
 * protobuf-c's unpacked copy, freed before it returns. */
#define CODEC_JSON_CAP(len) ((size_t)(len) * 48u + 4096u)
int codec_json(const char *type_name, const uint8_t *bytes, size_t len, char *out, size_t cap,
               size_t *out_len);

#endif /* OMS_CODEC_H */
