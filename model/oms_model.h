/*
 * oms_model.h - the OMS's own types for commands and events: what handlers read, what
 * projections apply, what the engine passes around. The codec (codec/) converts them to and
 * from the oms.v1 protobuf wire form; nothing else in the project sees generated protobuf code.
 *
 * Conventions
 *  - Enum values equal the protobuf enum values, and command/event type values equal the field
 *    numbers of Command.body / Event.body, so the codec converts by cast and a number read in a
 *    log means the same thing everywhere.
 *  - Ids are NUL-terminated in fixed arrays of OMS_ID_CAP bytes (at most OMS_LIMIT_ID_LEN
 *    characters); free text in OMS_TEXT_CAP bytes. The codec refuses longer input.
 *  - Decimals are oms_dec_t; an optional decimal is oms_opt_dec_t (absent in protobuf = !set).
 *  - Variable-length lists (allocation instructions and parts) point into memory owned by
 *    whoever built the struct (the codec's arena, the engine's batch arena): structs are
 *    plain values that never own heap memory, so copying one copies a view.
 */
#ifndef OMS_MODEL_H
#define OMS_MODEL_H

#include "oms_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OMS_ID_CAP   (OMS_LIMIT_ID_LEN + 1)
#define OMS_TEXT_CAP (OMS_LIMIT_TEXT_LEN + 1)
#define OMS_DATE_CAP 11 /* "YYYY-MM-DD" + NUL */
#define OMS_RULE_CAP 16 /* "PTC-001" style rule ids */

/* ---- enums (values = oms.v1 protobuf values) ------------------------------------------------ */

typedef enum {
    OMS_SIDE_NONE = 0,
    OMS_SIDE_BUY = 1,
    OMS_SIDE_SELL = 2,
    OMS_SIDE_SELL_SHORT = 3
} oms_side_t;

typedef enum { OMS_ORD_TYPE_NONE = 0, OMS_ORD_MARKET = 1, OMS_ORD_LIMIT = 2 } oms_ord_type_t;

typedef enum {
    OMS_TIF_NONE = 0,
    OMS_TIF_DAY = 1,
    OMS_TIF_GTC = 2,
    OMS_TIF_IOC = 3,
    OMS_TIF_FOK = 4,
    OMS_TIF_GTD = 5,
} oms_tif_t;

typedef enum {
    OMS_ASSET_NONE = 0,
    OMS_ASSET_EQUITY = 1,
    OMS_ASSET_FUTURE = 2,
    OMS_ASSET_OPTION = 3,
    OMS_ASSET_FX = 4,
    OMS_ASSET_FIXED_INCOME = 5,
    OMS_ASSET_ETF = 6,
} oms_asset_class_t;

/* FIX-aligned order status (see DESIGN.md "Orders"). */
typedef enum {
    OMS_ST_NONE = 0,
    OMS_ST_PENDING_RELEASE = 1,
    OMS_ST_PENDING_NEW = 2,
    OMS_ST_NEW = 3,
    OMS_ST_PARTIALLY_FILLED = 4,
    OMS_ST_FILLED = 5,
    OMS_ST_DONE_FOR_DAY = 6,
    OMS_ST_CANCELED = 7,
    OMS_ST_PENDING_CANCEL = 8,
    OMS_ST_REJECTED = 9,
    OMS_ST_EXPIRED = 10,
    OMS_ST_PENDING_REPLACE = 11,
    OMS_ST_COUNT_
} oms_ord_status_t;

typedef enum {
    OMS_ROLE_NONE = 0,
    OMS_ROLE_PORTFOLIO_MANAGER = 1,
    OMS_ROLE_TRADER = 2,
    OMS_ROLE_OPERATIONS = 3,
    OMS_ROLE_COMPLIANCE = 4,
    OMS_ROLE_VENUE = 5,
    OMS_ROLE_ADMIN = 6,
    OMS_ROLE_COUNT_
} oms_role_t;

typedef enum {
    OMS_RELEASE_NONE = 0,
    OMS_RELEASE_AUTO = 1,
    OMS_RELEASE_FOUR_EYES = 2
} oms_release_policy_t;

typedef enum {
    OMS_ALLOC_ST_NONE = 0,
    OMS_ALLOC_ST_PENDING = 1,
    OMS_ALLOC_ST_BOOKED = 2,
    OMS_ALLOC_ST_REJECTED = 3,
    OMS_ALLOC_ST_REVERSED = 4,
} oms_alloc_status_t;

typedef enum {
    OMS_SCOPE_NONE = 0,
    OMS_SCOPE_FIRM = 1,
    OMS_SCOPE_ACCOUNT = 2,
    OMS_SCOPE_ACCOUNT_INSTRUMENT = 3,
} oms_limit_scope_t;

/* Stable reject reason codes (= oms.v1.RejectReason). */
typedef enum {
    OMS_RR_NONE = 0,
    OMS_RR_INVALID_FIELD = 1,
    OMS_RR_INPUT_LIMIT = 2,
    OMS_RR_IDEMPOTENCY_CONFLICT = 3,
    OMS_RR_UNKNOWN_COMMAND = 4,
    OMS_RR_NUMERIC_OVERFLOW = 5,
    OMS_RR_UNKNOWN_INSTRUMENT = 20,
    OMS_RR_INACTIVE_INSTRUMENT = 21,
    OMS_RR_UNKNOWN_ACCOUNT = 22,
    OMS_RR_INACTIVE_ACCOUNT = 23,
    OMS_RR_UNKNOWN_PRINCIPAL = 24,
    OMS_RR_INACTIVE_PRINCIPAL = 25,
    OMS_RR_ALREADY_DEFINED = 26,
    OMS_RR_NO_REFERENCE_PRICE = 27,
    OMS_RR_BAD_LOT = 40,
    OMS_RR_BAD_TICK = 41,
    OMS_RR_RESTRICTED = 42,
    OMS_RR_MAX_QTY = 43,
    OMS_RR_MAX_NOTIONAL = 44,
    OMS_RR_PRICE_COLLAR = 45,
    OMS_RR_POSITION_LIMIT = 46,
    OMS_RR_SHORT_SALE = 47,
    OMS_RR_NOT_PERMITTED = 60,
    OMS_RR_FOUR_EYES_VIOLATION = 61,
    OMS_RR_INVALID_TRANSITION = 70,
    OMS_RR_UNKNOWN_ORDER = 71,
    OMS_RR_DUPLICATE_ORDER_ID = 72,
    OMS_RR_DUPLICATE_CL_ORD_ID = 73,
    OMS_RR_DUPLICATE_EXEC = 74,
    OMS_RR_UNKNOWN_EXEC = 75,
    OMS_RR_REPLACE_BELOW_CUM = 76,
    OMS_RR_CL_ORD_ID_MISMATCH = 77,
    OMS_RR_UNKNOWN_ALLOCATION = 100,
    OMS_RR_DUPLICATE_ALLOC_ID = 101,
    OMS_RR_BAD_ALLOC_INSTRUCTIONS = 102,
    OMS_RR_NOTHING_TO_ALLOCATE = 103,
    OMS_RR_NOT_A_BLOCK = 104,
    OMS_RR_ALLOC_NOT_LOTS = 105,
    OMS_RR_DAY_ALREADY_PROCESSED = 120,
} oms_reject_reason_t;

typedef enum {
    OMS_EXC_NONE = 0,
    OMS_EXC_LATE_FILL = 1,
    OMS_EXC_OVERFILL = 2,
    OMS_EXC_FILL_THROUGH_LIMIT = 3,
    OMS_EXC_BUST_AFTER_ALLOCATION = 4,
    OMS_EXC_UNSOLICITED_CANCEL = 5,
    OMS_EXC_LATE_REPORT = 6,
} oms_exception_kind_t;

/* ---- small value types ---------------------------------------------------------------------- */

typedef struct {
    bool set;    /* false = absent */
    oms_dec_t v; /* the value when set */
} oms_opt_dec_t;

/* One account's share of a block: by quantity or by weight (one kind per list). */
typedef struct {
    char account_id[OMS_ID_CAP]; /* the receiving account */
    bool by_weight;              /* true: `share` is a weight; false: a target quantity */
    oms_dec_t share;             /* quantity (instrument units) or weight; > 0 */
} oms_alloc_instr_t;

/* One account's booked part of an allocation. */
typedef struct {
    char account_id[OMS_ID_CAP]; /* the account */
    oms_dec_t qty;               /* booked quantity, whole lots, > 0 */
    oms_dec_t px;                /* booked price: the block's average price (rounded) */
} oms_alloc_part_t;

/* The header shared by venue reports and the order events they cause (fields 1-6). */
typedef struct {
    char order_id[OMS_ID_CAP];       /* the OMS order id */
    char venue[OMS_ID_CAP];          /* venue id; dedup key with exec_id */
    char exec_id[OMS_ID_CAP];        /* the report's id */
    char venue_order_id[OMS_ID_CAP]; /* venue's order id */
    int64_t transact_ts_ns;          /* venue's time, UTC ns (informational) */
    char cl_ord_id[OMS_ID_CAP];      /* ClOrdID the report answers; "" = current/unsolicited */
} oms_venue_hdr_t;

/* ---- commands (type = Command.body field number) ------------------------------------------- */

typedef enum {
    OMS_CMD_NONE = 0,
    OMS_CMD_DEFINE_INSTRUMENT = 10,
    OMS_CMD_UPDATE_INSTRUMENT = 11,
    OMS_CMD_DEFINE_ACCOUNT = 12,
    OMS_CMD_DEFINE_PRINCIPAL = 13,
    OMS_CMD_SET_LIMITS = 14,
    OMS_CMD_SET_RESTRICTED = 15,
    OMS_CMD_SET_REFERENCE_PRICE = 16,
    OMS_CMD_NEW_ORDER = 100,
    OMS_CMD_RELEASE_ORDER = 101,
    OMS_CMD_CANCEL_ORDER = 102,
    OMS_CMD_REPLACE_ORDER = 103,
    OMS_CMD_VENUE_ACK = 200,
    OMS_CMD_VENUE_REJECT = 201,
    OMS_CMD_VENUE_FILL = 202,
    OMS_CMD_VENUE_CANCEL_ACK = 203,
    OMS_CMD_VENUE_CANCEL_REJECT = 204,
    OMS_CMD_VENUE_REPLACE_ACK = 205,
    OMS_CMD_VENUE_REPLACE_REJECT = 206,
    OMS_CMD_VENUE_EXPIRE = 207,
    OMS_CMD_VENUE_DONE_FOR_DAY = 208,
    OMS_CMD_TRADE_BUST = 209,
    OMS_CMD_TRADE_CORRECT = 210,
    OMS_CMD_ALLOCATE = 300,
    OMS_CMD_REVERSE_ALLOCATION = 301,
    OMS_CMD_END_OF_DAY = 500,
} oms_cmd_type_t;

/* DefineInstrument and UpdateInstrument (whole record). */
typedef struct {
    char instrument_id[OMS_ID_CAP]; /* stable id */
    char symbol[OMS_ID_CAP];        /* display / venue symbol */
    oms_asset_class_t asset_class;  /* asset class */
    char currency[4];               /* ISO 4217, 3 upper-case letters */
    oms_dec_t multiplier;           /* contract multiplier, > 0 */
    oms_dec_t lot_size;             /* quantity step, > 0 */
    oms_dec_t tick_size;            /* price step, > 0 */
    bool active;                    /* tradeable */
} oms_instrument_def_t;

typedef struct {
    char account_id[OMS_ID_CAP];         /* stable id */
    char name[OMS_ID_CAP];               /* display name */
    bool active;                         /* accepts new orders */
    oms_release_policy_t release_policy; /* auto or four-eyes */
    bool allow_short;                    /* may sell short */
} oms_account_def_t;

typedef struct {
    char principal_id[OMS_ID_CAP]; /* id presented as Command.principal */
    uint32_t roles;                /* bit (1 << oms_role_t) per role held */
    bool active;                   /* may issue commands */
} oms_principal_def_t;

typedef struct {
    oms_limit_scope_t scope;          /* firm, account, account+instrument */
    char account_id[OMS_ID_CAP];      /* "" for firm */
    char instrument_id[OMS_ID_CAP];   /* only for account+instrument */
    oms_opt_dec_t max_order_qty;      /* instrument units */
    oms_opt_dec_t max_order_notional; /* qty x price x multiplier, instrument currency */
    oms_opt_dec_t max_position_long;  /* instrument units, incl. open buy leaves */
    oms_opt_dec_t max_position_short; /* magnitude, incl. open sell leaves */
    oms_opt_dec_t collar_pct;         /* fraction of the reference price */
} oms_limits_def_t;

typedef struct {
    char instrument_id[OMS_ID_CAP]; /* the instrument */
    char account_id[OMS_ID_CAP];    /* "" = firm-wide */
    bool restricted;                /* add (true) or lift (false) */
    char reason[OMS_TEXT_CAP];      /* why */
} oms_restriction_def_t;

typedef struct {
    char instrument_id[OMS_ID_CAP]; /* the instrument */
    oms_dec_t price;                /* > 0 */
} oms_ref_price_def_t;

typedef struct {
    char order_id[OMS_ID_CAP];       /* permanent id = original ClOrdID */
    char account_id[OMS_ID_CAP];     /* single-account order; "" for a block */
    const oms_alloc_instr_t *allocs; /* block instructions (borrowed) */
    uint32_t n_allocs;               /* their count, <= OMS_LIMIT_ALLOC_ACCOUNTS */
    char instrument_id[OMS_ID_CAP];  /* what to trade */
    oms_side_t side;                 /* buy, sell, sell short */
    oms_ord_type_t ord_type;         /* market or limit */
    oms_opt_dec_t price;             /* limit price; absent for market */
    oms_dec_t qty;                   /* order quantity, > 0 */
    oms_tif_t tif;                   /* time in force */
    int64_t expire_ts_ns;            /* GTD only */
    char text[OMS_TEXT_CAP];         /* client's text */
} oms_new_order_t;

typedef struct {
    char order_id[OMS_ID_CAP]; /* the staged order */
    char text[OMS_TEXT_CAP];   /* note */
} oms_release_order_t;

typedef struct {
    char order_id[OMS_ID_CAP];  /* the order */
    char cl_ord_id[OMS_ID_CAP]; /* the cancel request's ClOrdID; "" = OMS assigns none */
    char text[OMS_TEXT_CAP];    /* reason */
} oms_cancel_order_t;

typedef struct {
    char order_id[OMS_ID_CAP];      /* the order */
    char new_cl_ord_id[OMS_ID_CAP]; /* the replace's ClOrdID */
    oms_opt_dec_t qty;              /* new total quantity; absent = unchanged */
    oms_opt_dec_t price;            /* new limit price; absent = unchanged */
    char text[OMS_TEXT_CAP];        /* reason */
} oms_replace_order_t;

/* Every venue report: the header plus what some kinds carry. */
typedef struct {
    oms_venue_hdr_t h;            /* fields 1-6 */
    oms_dec_t last_qty;           /* fill / correct: quantity */
    oms_dec_t last_px;            /* fill / correct: price */
    char ref_exec_id[OMS_ID_CAP]; /* bust / correct: the fill referred to */
    char text[OMS_TEXT_CAP];      /* venue's text */
} oms_venue_report_t;

typedef struct {
    char order_id[OMS_ID_CAP];       /* the block */
    char alloc_id[OMS_ID_CAP];       /* unique within the order */
    const oms_alloc_instr_t *allocs; /* override instructions (borrowed); n = 0: the order's */
    uint32_t n_allocs;               /* their count */
    oms_opt_dec_t qty;               /* quantity to allocate; absent = all unallocated */
    char text[OMS_TEXT_CAP];         /* note */
} oms_allocate_t;

typedef struct {
    char order_id[OMS_ID_CAP]; /* the block */
    char alloc_id[OMS_ID_CAP]; /* the allocation */
    char reason[OMS_TEXT_CAP]; /* why */
} oms_reverse_alloc_t;

typedef struct {
    char trade_date[OMS_DATE_CAP]; /* "YYYY-MM-DD" */
} oms_end_of_day_t;

typedef struct {
    oms_cmd_type_t type;         /* which body */
    char command_id[OMS_ID_CAP]; /* client's id; idempotency key with principal */
    char principal[OMS_ID_CAP];  /* who asks */
    int64_t client_ts_ns;        /* client's clock, informational */
    union {
        oms_instrument_def_t instrument;   /* DEFINE_/UPDATE_INSTRUMENT */
        oms_account_def_t account;         /* DEFINE_ACCOUNT */
        oms_principal_def_t principal_def; /* DEFINE_PRINCIPAL */
        oms_limits_def_t limits;           /* SET_LIMITS */
        oms_restriction_def_t restriction; /* SET_RESTRICTED */
        oms_ref_price_def_t ref_price;     /* SET_REFERENCE_PRICE */
        oms_new_order_t new_order;         /* NEW_ORDER */
        oms_release_order_t release;       /* RELEASE_ORDER */
        oms_cancel_order_t cancel;         /* CANCEL_ORDER */
        oms_replace_order_t replace;       /* REPLACE_ORDER */
        oms_venue_report_t report;         /* VENUE_* and TRADE_* */
        oms_allocate_t allocate;           /* ALLOCATE */
        oms_reverse_alloc_t reverse;       /* REVERSE_ALLOCATION */
        oms_end_of_day_t eod;              /* END_OF_DAY */
    } u;
    const uint8_t *raw; /* the command's wire bytes as received (borrowed), for rejections */
    size_t raw_len;     /* their length */
    /* Set by the codec when the command decoded but a field broke a rule the handlers cannot
     * see any more (a string over its limit, too many list entries, an INT64_MIN decimal, an
     * enum value this version does not know): the engine turns it into a CommandRejected. */
    oms_reject_reason_t invalid;     /* OMS_RR_NONE when the command is well-formed */
    char invalid_text[OMS_TEXT_CAP]; /* what was wrong */
} oms_cmd_t;

/* ---- events (type = Event.body field number) ------------------------------------------------ */

typedef enum {
    OMS_EV_NONE = 0,
    OMS_EV_INSTRUMENT_DEFINED = 1,
    OMS_EV_INSTRUMENT_UPDATED = 2,
    OMS_EV_ACCOUNT_DEFINED = 3,
    OMS_EV_PRINCIPAL_DEFINED = 4,
    OMS_EV_LIMITS_SET = 5,
    OMS_EV_RESTRICTION_SET = 6,
    OMS_EV_REFERENCE_PRICE_SET = 7,
    OMS_EV_ORDER_ACCEPTED = 100,
    OMS_EV_ORDER_RELEASED = 101,
    OMS_EV_CANCEL_REQUESTED = 102,
    OMS_EV_REPLACE_REQUESTED = 103,
    OMS_EV_ORDER_ACKNOWLEDGED = 104,
    OMS_EV_ORDER_REJECTED_BY_VENUE = 105,
    OMS_EV_ORDER_CANCELED = 106,
    OMS_EV_CANCEL_REJECTED = 107,
    OMS_EV_ORDER_REPLACED = 108,
    OMS_EV_REPLACE_REJECTED = 109,
    OMS_EV_ORDER_EXPIRED = 110,
    OMS_EV_ORDER_DONE_FOR_DAY = 111,
    OMS_EV_ORDER_FILLED = 200,
    OMS_EV_TRADE_BUSTED = 201,
    OMS_EV_TRADE_CORRECTED = 202,
    OMS_EV_ALLOCATION_BOOKED = 300,
    OMS_EV_ALLOCATION_REJECTED = 301,
    OMS_EV_ALLOCATION_REVERSED = 302,
    OMS_EV_COMMAND_REJECTED = 400,
    OMS_EV_EXCEPTION_RAISED = 401,
    OMS_EV_END_OF_DAY_PROCESSED = 500,
} oms_event_type_t;

/* OrderAccepted: the new order's terms and its first status. */
typedef struct {
    oms_new_order_t order;               /* the terms, as accepted (allocs borrowed) */
    oms_ord_status_t status;             /* PENDING_RELEASE or PENDING_NEW */
    char entered_by[OMS_ID_CAP];         /* principal who entered it */
    oms_release_policy_t release_policy; /* the policy that decided the status */
} oms_ev_accepted_t;

typedef struct {
    char order_id[OMS_ID_CAP];    /* the order */
    char released_by[OMS_ID_CAP]; /* the releaser */
    oms_ord_status_t status;      /* PENDING_NEW */
    char text[OMS_TEXT_CAP];      /* note */
} oms_ev_released_t;

/* CancelRequested and ReplaceRequested. */
typedef struct {
    char order_id[OMS_ID_CAP];       /* the order */
    char cl_ord_id[OMS_ID_CAP];      /* the request's ClOrdID */
    char orig_cl_ord_id[OMS_ID_CAP]; /* the ClOrdID in force at the request */
    oms_opt_dec_t qty;               /* replace: requested quantity */
    oms_opt_dec_t price;             /* replace: requested price */
    oms_ord_status_t status;         /* PENDING_CANCEL / PENDING_REPLACE */
    oms_ord_status_t prior_status;   /* restored on reject */
    char text[OMS_TEXT_CAP];         /* reason */
} oms_ev_request_t;

/* Every order event with a venue header: acknowledged, rejected by venue, canceled, cancel
 * rejected, replaced, replace rejected, expired, done for day, filled, busted, corrected.
 * Which fields mean something depends on the type (see events.proto). */
typedef struct {
    oms_venue_hdr_t h;               /* fields 1-6 */
    oms_ord_status_t status;         /* status after */
    char orig_cl_ord_id[OMS_ID_CAP]; /* replaced: the ClOrdID replaced */
    oms_dec_t qty;                   /* replaced: quantity now in force */
    oms_opt_dec_t price;             /* replaced: price now in force */
    oms_dec_t last_qty;              /* filled: this fill; busted/corrected: old qty */
    oms_dec_t last_px;               /* filled: this fill; busted/corrected: old px */
    oms_dec_t new_qty;               /* corrected: new qty */
    oms_dec_t new_px;                /* corrected: new px */
    char ref_exec_id[OMS_ID_CAP];    /* busted/corrected: the fill referred to */
    oms_dec_t cum_qty;               /* filled/busted/corrected/canceled/expired/dfd/replaced */
    oms_dec_t leaves_qty;            /* same; floored at 0 */
    oms_opt_dec_t avg_px;            /* filled/busted/corrected: display average price */
    oms_dec_t gone_qty;              /* canceled: canceled qty; expired: expired qty */
    bool overfill;                   /* filled: cum > qty */
    bool late;                       /* filled: order was terminal */
    char trade_date[OMS_DATE_CAP];   /* expired by EndOfDay */
    char account_id[OMS_ID_CAP];     /* executions: account moved ("" = block) */
    char instrument_id[OMS_ID_CAP];  /* executions: instrument */
    oms_side_t side;                 /* executions: side */
    char text[OMS_TEXT_CAP];         /* reason / venue text (last: see OMS_EV_TEXT_LAST) */
} oms_ev_order_t;

typedef struct {
    char order_id[OMS_ID_CAP];       /* the block */
    char alloc_id[OMS_ID_CAP];       /* the allocation */
    char instrument_id[OMS_ID_CAP];  /* booked/reversed: instrument */
    oms_side_t side;                 /* booked/reversed: side */
    oms_dec_t qty;                   /* booked/reversed: total */
    oms_dec_t avg_px;                /* booked: the price the parts are booked at */
    const oms_alloc_part_t *parts;   /* booked/reversed: per account (borrowed) */
    uint32_t n_parts;                /* their count */
    const oms_alloc_instr_t *instrs; /* booked: instructions used (borrowed) */
    uint32_t n_instrs;               /* their count */
    oms_alloc_status_t status;       /* status after */
    oms_reject_reason_t reason;      /* rejected: why */
    char rule_id[OMS_RULE_CAP];      /* rejected: rule */
    oms_opt_dec_t asked_qty;         /* rejected: quantity asked */
    char text[OMS_TEXT_CAP];         /* note / reason */
} oms_ev_alloc_t;

typedef struct {
    char rule_id[OMS_RULE_CAP];  /* stable rule id, e.g. "PTC-004" */
    oms_reject_reason_t reason;  /* stable reason code */
    oms_opt_dec_t limit_value;   /* the limit broken, if numeric */
    oms_opt_dec_t actual_value;  /* the value that broke it, if numeric */
    oms_cmd_type_t command_type; /* the refused command's type */
    const oms_cmd_t *command;    /* the refused command (borrowed; its raw bytes are logged) */
    bool order_rejected;         /* a NewOrder whose id now names a REJECTED order */
    char text[OMS_TEXT_CAP];     /* for humans (last: see OMS_EV_TEXT_LAST) */
} oms_ev_rejected_t;

typedef struct {
    oms_exception_kind_t kind; /* what */
    char order_id[OMS_ID_CAP]; /* the order concerned */
    char venue[OMS_ID_CAP];    /* venue of the report that caused it */
    char exec_id[OMS_ID_CAP];  /* exec id of that report */
    char text[OMS_TEXT_CAP];   /* details */
} oms_ev_exception_t;

typedef struct {
    char trade_date[OMS_DATE_CAP]; /* the closed day */
    uint32_t orders_expired;       /* how many DAY orders it expired */
} oms_ev_eod_t;

/* OMS_EV_TEXT_LAST: in every event body with free text (released, request, order, alloc,
 * rejected, exception), `text` is the last field, so a producer may clear a body only up to and
 * including text[0] (handlers do: the bytes after a string's NUL are never read). Keep it so;
 * handlers.c asserts it at compile time. */
typedef struct {
    oms_event_type_t type; /* which body */
    union {
        oms_instrument_def_t instrument;   /* INSTRUMENT_DEFINED / _UPDATED */
        oms_account_def_t account;         /* ACCOUNT_DEFINED */
        oms_principal_def_t principal;     /* PRINCIPAL_DEFINED */
        oms_limits_def_t limits;           /* LIMITS_SET */
        oms_restriction_def_t restriction; /* RESTRICTION_SET */
        oms_ref_price_def_t ref_price;     /* REFERENCE_PRICE_SET */
        oms_ev_accepted_t accepted;        /* ORDER_ACCEPTED */
        oms_ev_released_t released;        /* ORDER_RELEASED */
        oms_ev_request_t request;          /* CANCEL_REQUESTED / REPLACE_REQUESTED */
        oms_ev_order_t order;              /* venue-side order events and executions */
        oms_ev_alloc_t alloc;              /* ALLOCATION_* */
        oms_ev_rejected_t rejected;        /* COMMAND_REJECTED */
        oms_ev_exception_t exception;      /* EXCEPTION_RAISED */
        oms_ev_eod_t eod;                  /* END_OF_DAY_PROCESSED */
    } u;
} oms_event_t;

/* ---- replies (= oms.v1.CommandReply) --------------------------------------------------------- */

typedef enum {
    OMS_REPLY_NONE = 0,
    OMS_REPLY_ACCEPTED = 1,  /* the command's events are durable */
    OMS_REPLY_REJECTED = 2,  /* refused by a rule; the rejection event is durable */
    OMS_REPLY_ERROR = 3,     /* not processed, nothing appended (undecodable, over a limit) */
    OMS_REPLY_DUPLICATE = 4, /* seen before with the same content: the first outcome, again */
} oms_reply_status_t;

typedef struct {
    char command_id[OMS_ID_CAP];        /* echoed; "" if undecodable */
    oms_reply_status_t status;          /* outcome */
    int32_t error_code;                 /* oms_err_t for ERROR */
    oms_reject_reason_t reject_reason;  /* REJECTED: reason */
    char rule_id[OMS_RULE_CAP];         /* REJECTED: rule */
    char text[OMS_TEXT_CAP];            /* detail */
    char order_id[OMS_ID_CAP];          /* the order concerned, if any */
    oms_ord_status_t ord_status;        /* its status after the command */
    uint64_t first_seq;                 /* first event appended by the command; 0 if none */
    uint64_t last_seq;                  /* last event appended by the command; 0 if none */
    oms_reply_status_t original_status; /* DUPLICATE: the first reply's status */
} oms_reply_t;

/* ---- arena ------------------------------------------------------------------------------------
 */

/* A bump allocator for the variable-length parts of commands and events (allocation lists),
 * reset once per batch. Fixed capacity chosen at creation: every allocation is bounded, and a
 * full arena fails the allocation instead of growing without limit. */
typedef struct {
    uint8_t *base; /* the block (owned) */
    size_t cap;    /* its size */
    size_t used;   /* bytes handed out since the last reset */
} oms_arena_t;

/* Allocates the block; 0 or OMS_ERR_NOMEM. */
int oms_arena_init(oms_arena_t *a, size_t cap);
/* Frees the block. */
void oms_arena_free(oms_arena_t *a);
/* Forgets everything handed out (the memory is reused). */
void oms_arena_reset(oms_arena_t *a);
/* n bytes aligned to 16, zeroed; NULL when the arena is full (the caller reports OMS_ERR_LIMIT). */
void *oms_arena_alloc(oms_arena_t *a, size_t n);

/* ---- names ------------------------------------------------------------------------------------
 */

/* Snake-case names as in the protobuf oneofs ("new_order", "order_filled"); "" if unknown. */
const char *oms_cmd_type_name(oms_cmd_type_t t);
const char *oms_event_type_name(oms_event_type_t t);
/* Upper-case names ("PARTIALLY_FILLED", "BUY", "PORTFOLIO_MANAGER", "MAX_QTY"); "?" if unknown. */
const char *oms_status_name(oms_ord_status_t s);
const char *oms_side_name(oms_side_t s);
const char *oms_role_name(oms_role_t r);
const char *oms_reject_reason_name(oms_reject_reason_t r);

/* The order a command names (new, release, cancel, replace, venue reports, allocate, reverse
 * allocation), "" for commands that name none. Never NULL; points into c. */
const char *oms_cmd_order_id(const oms_cmd_t *c);

/* True for the event types whose body is oms_ev_order_t (acknowledged, rejected by venue,
 * canceled, cancel rejected, replaced, replace rejected, expired, done for day, filled, busted,
 * corrected). */
bool oms_event_is_order_report(oms_event_type_t t);

/* How many bytes of an event's body (ev->u) a producer of type t must clear before it sets
 * the fields it means (OMS_EV_TEXT_LAST): up to and including text[0] for bodies that end
 * with their text, the whole body otherwise; 0 for ORDER_ACCEPTED, whose producers set every
 * field. An order event is 1.2 KB whole, 0.7 KB up to its text. */
size_t oms_event_body_clear(oms_event_type_t t);

/* True for CANCELED, REJECTED, EXPIRED, FILLED (no further venue work expected). */
bool oms_status_is_terminal(oms_ord_status_t s);

/* Copies src into a fixed id/text array of cap bytes, truncating (callers validate lengths
 * first; truncation here is a last-resort guard, never a silent behaviour for input). NULL src
 * = "". Inline: the handlers and projections copy a dozen ids per command. */
static inline void oms_strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

#endif /* OMS_MODEL_H */
