/*
 * projections.h - the OMS's in-memory state and the pure function that applies an event to it.
 *
 * State is a set of tables of fixed-size records (instruments, accounts, principals, limits,
 * restrictions, orders, their ClOrdID chains and block instructions, executions, positions,
 * allocations and their parts). Records never move once created (chunked storage), so a
 * pointer returned by a lookup stays valid until the state is destroyed or a batch is rolled
 * back. Records are never deleted: a lifted restriction or a reversed allocation is a status.
 *
 * proj_apply(state, seq, ts, event) is the only way state changes. It never reads a clock, the
 * network or the disk; the handlers (handlers/) read the state to decide, the projections apply
 * what they decided, and a replay of the log through proj_apply rebuilds the same state.
 *
 * Batches: proj_begin() opens a batch; every record changed or created after it is journaled
 * once (its previous bytes). proj_rollback() restores the state as it was at proj_begin (used
 * when the batch could not be made durable); proj_commit() forgets the journal. The journal is
 * also the batch's dirty set: proj_dirty_* lists what the batch touched, for the rows the
 * engine writes with the events.
 *
 * Strings: an order's texts and the ids that change over its life (ClOrdIDs, venue, venue
 * order id, who entered and released it) are pointers, not fixed arrays: they were three
 * quarters of every order record, copied whole into the batch journal on every touch. In the
 * state they point into the state's text store (append-only, never moved, cut back on rollback
 * and at savepoints), or to a static "" - never NULL; a field is re-stored only when its value
 * changes. In a row decoded by the codec they point into the decoder's arena or to "". A record
 * built by hand may leave them NULL: the encoders read them through proj_str(), which gives ""
 * for NULL.
 *
 * Memory is bounded by the per-table limits below: an insert into a full table fails with
 * OMS_ERR_LIMIT and the handlers reject the command that needed it.
 */
#ifndef OMS_PROJECTIONS_H
#define OMS_PROJECTIONS_H

#include "oms_model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Capacities (records per table). Chosen for a large desk; raise with care (memory). */
enum {
    PROJ_MAX_INSTRUMENTS = 1 << 20,
    PROJ_MAX_ACCOUNTS = 1 << 18,
    PROJ_MAX_PRINCIPALS = 1 << 16,
    PROJ_MAX_LIMITS = 1 << 20,
    PROJ_MAX_RESTRICTIONS = 1 << 20,
    PROJ_MAX_ORDERS = 1 << 24,
    PROJ_MAX_CLORDIDS = 1 << 25,
    PROJ_MAX_INSTRS = 1 << 24,
    PROJ_MAX_EXECS = 1 << 26,
    PROJ_MAX_POSITIONS = 1 << 22,
    PROJ_MAX_ALLOCS = 1 << 22,
    PROJ_MAX_PARTS = 1 << 24,
    PROJ_MAX_FILLS_PER_ORDER = 1 << 20,
};

#define PROJ_NIL UINT32_MAX /* "no record" in index links */

/* 128-bit signed value with 16 implied decimals: exact sums of price x quantity. */
__extension__ typedef __int128 oms_e16_t;

typedef struct {
    oms_instrument_def_t def; /* the definition */
    oms_opt_dec_t ref_px;     /* reference price for the collar */
    uint64_t ref_px_seq;      /* seq that set it */
    uint64_t last_seq;        /* last change */
} proj_instrument_t;

typedef struct {
    oms_account_def_t def; /* the definition */
    uint64_t last_seq;     /* last change */
} proj_account_t;

typedef struct {
    oms_principal_def_t def; /* the definition */
    uint64_t last_seq;       /* last change */
} proj_principal_t;

typedef struct {
    oms_limits_def_t def; /* the limits of one scope */
    uint64_t last_seq;    /* the LimitsSet */
} proj_limits_t;

typedef struct {
    char instrument_id[OMS_ID_CAP]; /* the instrument */
    char account_id[OMS_ID_CAP];    /* "" = firm-wide */
    bool restricted;                /* in force */
    char reason[OMS_TEXT_CAP];      /* why */
    uint64_t last_seq;              /* the RestrictionSet */
} proj_restriction_t;

typedef struct {
    const char *order_id;                 /* permanent id (in the state: the table key) */
    const char *account_id;               /* "" for a block */
    const char *instrument_id;            /* instrument */
    oms_side_t side;                      /* side */
    oms_ord_type_t ord_type;              /* type */
    oms_opt_dec_t price;                  /* limit price in force */
    oms_dec_t qty;                        /* quantity in force */
    oms_tif_t tif;                        /* time in force */
    int64_t expire_ts_ns;                 /* GTD expiry */
    const char *text;                     /* client's text at entry */
    oms_ord_status_t status;              /* current status */
    oms_dec_t cum;                        /* filled (live fills) */
    oms_dec_t leaves;                     /* qty - cum floored at 0; 0 when terminal */
    oms_e16_t px_qty_sum;                 /* exact sum of px x qty over live fills */
    oms_ord_status_t prior_status;        /* restored if the pending cancel/replace is refused */
    oms_opt_dec_t pending_qty;            /* pending replace */
    oms_opt_dec_t pending_price;          /* pending replace */
    uint32_t fill_count;                  /* live fills */
    bool overfilled;                      /* cum exceeded qty at some point */
    bool is_block;                        /* has allocation instructions */
    const char *cl_ord_id;                /* ClOrdID in force (strings: see "Strings" above) */
    const char *pending_cl_ord_id;        /* pending cancel/replace's ClOrdID */
    const char *venue;                    /* venue working it */
    const char *venue_order_id;           /* venue's id */
    const char *entered_by;               /* who entered it */
    const char *released_by;              /* who released it */
    oms_release_policy_t release_policy;  /* policy at entry */
    oms_reject_reason_t reject_reason;    /* why REJECTED */
    char reject_rule_id[OMS_RULE_CAP];    /* rule that rejected it */
    const char *reject_text;              /* rejection text */
    oms_dec_t allocated_qty;              /* block: in BOOKED allocations */
    uint64_t created_seq;                 /* creating event */
    uint64_t last_seq;                    /* last change */
    int64_t created_ts_ns;                /* sequencer time of created_seq */
    int64_t updated_ts_ns;                /* sequencer time of last_seq */
    uint32_t first_clordid, last_clordid; /* ClOrdIDs after the first (clordid table), in use
                                             order; the first is always order_id itself and
                                             has no record */
    uint32_t n_clordids;                  /* chain length, the implicit first one included */
    uint32_t first_instr, last_instr;     /* block instructions (instr table), in entry order */
    uint32_t n_instrs;                    /* their count */
    uint32_t first_exec, last_exec;       /* executions (exec table), in arrival order */
    uint32_t n_execs;                     /* their count (busted included) */
    uint32_t first_alloc, last_alloc;     /* allocations (alloc table), in booking order */
    uint32_t n_allocs;                    /* their count */
    /* In memory only (never in a row; 0 in a decoded or loaded one): index + 1 of the order's
     * position and instrument once the projections have looked them up, so later events of
     * the order need no keyed lookup. 0 = not looked up yet. */
    uint32_t pos_ref, ins_ref;
} proj_order_t;

typedef struct {
    char cl_ord_id[OMS_ID_CAP]; /* one ClOrdID the order used */
    uint32_t order;             /* the order (index) */
    uint32_t next;              /* next in the chain, PROJ_NIL at the end */
} proj_clordid_t;

typedef struct {
    oms_alloc_instr_t instr; /* one instruction of a block */
    uint32_t order;          /* the order (index) */
    uint32_t next;           /* next, PROJ_NIL at the end */
} proj_instr_t;

typedef struct {
    const char *venue;        /* the venue (a string as in proj_order_t) */
    const char *exec_id;      /* the fill's id (never NULL; the tail of the record's key) */
    uint32_t order;           /* the order (index) */
    uint32_t next;            /* next execution of the order */
    oms_dec_t qty;            /* quantity now (after corrections) */
    oms_dec_t px;             /* price now */
    int64_t transact_ts_ns;   /* venue's trade time */
    bool busted;              /* no longer counts */
    bool late;                /* applied as a late fill */
    uint64_t seq;             /* the OrderFilled */
    uint64_t last_seq;        /* last bust/correct touching it */
} proj_exec_t;

typedef struct {
    char account_id[OMS_ID_CAP];    /* "" = a block's unallocated fills */
    char instrument_id[OMS_ID_CAP]; /* instrument */
    oms_dec_t qty;                  /* signed net quantity */
    oms_e16_t cost_basis;           /* exact signed cost of the open quantity (qty x avg cost) */
    oms_dec_t realized_pnl;         /* instrument currency, multiplier applied */
    oms_dec_t open_buy_leaves;      /* leaves of open buy orders */
    oms_dec_t open_sell_leaves;     /* leaves of open sell/short orders */
    uint64_t last_seq;              /* last change */
} proj_position_t;

typedef struct {
    char order_id[OMS_ID_CAP];         /* the block */
    char alloc_id[OMS_ID_CAP];         /* unique within the order */
    uint32_t order;                    /* the order (index) */
    uint32_t next;                     /* next allocation of the order */
    oms_alloc_status_t status;         /* status */
    oms_dec_t qty;                     /* allocated (= sum of parts) */
    oms_dec_t avg_px;                  /* booked at */
    oms_reject_reason_t reject_reason; /* why REJECTED */
    char text[OMS_TEXT_CAP];           /* note / reason */
    uint32_t first_part, last_part;    /* parts (part table), by account id */
    uint32_t n_parts;                  /* their count */
    uint32_t first_used, last_used;    /* instructions used (part table, as instructions) */
    uint32_t n_used;                   /* their count */
    uint64_t created_seq;              /* booking or rejection */
    uint64_t last_seq;                 /* last change */
} proj_alloc_t;

typedef struct {
    oms_alloc_part_t part;   /* a booked part (when !is_instr) */
    oms_alloc_instr_t instr; /* an instruction used (when is_instr) */
    bool is_instr;           /* which of the two */
    uint32_t next;           /* next in its list */
} proj_part_t;

/* Which table a record lives in (for dirty lists and rows). */
typedef enum {
    PROJ_T_INSTRUMENT = 0,
    PROJ_T_ACCOUNT,
    PROJ_T_PRINCIPAL,
    PROJ_T_LIMITS,
    PROJ_T_RESTRICTION,
    PROJ_T_ORDER,
    PROJ_T_CLORDID,
    PROJ_T_INSTR,
    PROJ_T_EXEC,
    PROJ_T_POSITION,
    PROJ_T_ALLOC,
    PROJ_T_PART,
    PROJ_T_COUNT_
} proj_table_t;

typedef struct proj_state proj_state_t;

/* A text field of a record: "" for NULL. */
static inline const char *proj_str(const char *s)
{
    return s ? s : "";
}

/* Creates an empty state. NULL on out of memory. Free with proj_destroy. */
proj_state_t *proj_new(void);
void proj_destroy(proj_state_t **self_p);

/* ---- lookups (NULL when absent); pointers stay valid (see file comment) ---- */
const proj_instrument_t *proj_instrument(const proj_state_t *st, const char *instrument_id);
const proj_account_t *proj_account(const proj_state_t *st, const char *account_id);
const proj_principal_t *proj_principal(const proj_state_t *st, const char *principal_id);
const proj_limits_t *proj_limits(const proj_state_t *st, oms_limit_scope_t scope,
                                 const char *account_id, const char *instrument_id);
const proj_restriction_t *proj_restriction(const proj_state_t *st, const char *instrument_id,
                                           const char *account_id);
const proj_order_t *proj_order(const proj_state_t *st, const char *order_id);
const proj_exec_t *proj_exec(const proj_state_t *st, const char *venue, const char *exec_id);
const proj_position_t *proj_position(const proj_state_t *st, const char *account_id,
                                     const char *instrument_id);
const proj_alloc_t *proj_alloc(const proj_state_t *st, const char *order_id, const char *alloc_id);
/* True when cl_ord_id is already in the order's chain (or is a pending request's). */
bool proj_order_has_clordid(const proj_state_t *st, const proj_order_t *o, const char *cl_ord_id);

/* Memory hints for a batch (no effect on the state, cannot fail). A lookup will come soon:
 * stage 1 asks for the index slot of the key; stage 2, issued later, reads that slot and asks
 * for the record's key and bytes (only the order's record is worth it: the others are either
 * absent, as a new fill's execution, or small tables that stay cached). A batch issues stage 1
 * for every command, then stage 2 a few commands ahead of the one it processes, so the cache
 * misses of many commands overlap instead of stalling one after another. */
void proj_prefetch_order(const proj_state_t *st, const char *order_id, int stage);
void proj_prefetch_exec(const proj_state_t *st, const char *venue, const char *exec_id);
void proj_prefetch_clordid(const proj_state_t *st, const char *order_id, const char *cl_ord_id);
/* The same hints in two halves, for a caller that can compute the keys' hashes ahead on another
 * thread (a rebuild's decoding threads) and keep the applying thread to the memory requests:
 * proj_key_hash is the hash the index keeps for the key the lookups of table t build from a and
 * b (b = NULL for the tables keyed by one id: orders), a pure function of its arguments that
 * reads no state; proj_prefetch_h is proj_prefetch_* given that hash. A hash for another key or
 * table only makes the hint useless. a and b must each be a whole OMS_ID_CAP-byte array (the
 * id fields of a decoded event or a command): proj_key_hash reads all of it. */
uint32_t proj_key_hash(proj_table_t t, const char *a, const char *b);
void proj_prefetch_h(const proj_state_t *st, proj_table_t t, uint32_t h, int stage);

/* Capacity hint for a state about to grow to about n records of table t (a rebuild from a log
 * whose length it knows): the table's index is sized once instead of doubling, and the memory
 * of the chunks that will hold those records is faulted in as each chunk is allocated (one
 * madvise instead of a page fault per page). Only a hint: a state given a hint too small or
 * too big holds exactly what it would without it (too small: it grows as usual; too big: the
 * index and per-record arrays are larger than needed, chunks are still allocated only as
 * records are added). The daemon does not call it (its state grows a little at a time and
 * should not hold memory ahead). 0, or OMS_ERR_NOMEM (the state is unchanged and valid). */
int proj_reserve(proj_state_t *st, proj_table_t t, uint32_t n);

/* Record by table and index, and counts, for iteration (rows, tests, rebuild comparison). */
const void *proj_at(const proj_state_t *st, proj_table_t t, uint32_t idx);
uint32_t proj_count(const proj_state_t *st, proj_table_t t);
/* Index of a record returned by a lookup. */
uint32_t proj_index_of(const proj_state_t *st, proj_table_t t, const void *rec);

/* The last EndOfDay's trade date ("" before the first), and the seq that set it. */
const char *proj_trade_date(const proj_state_t *st, uint64_t *seq);
/* True when the trade date changed in the open batch. */
bool proj_trade_date_dirty(const proj_state_t *st);

/* ---- applying events ---- */

/* Applies one event (with its envelope's seq and sequencer time) to the state. Pure: the same
 * state and event always give the same result. Returns 0, OMS_ERR_LIMIT when a table is full,
 * OMS_ERR_OVERFLOW when an amount leaves the decimal range, or OMS_ERR_STATE when the event
 * does not fit the state (e.g. a fill for an unknown order: a log that was not produced by the
 * handlers). On failure the state may be partly changed: roll the batch back. */
int proj_apply(proj_state_t *st, uint64_t seq, int64_t ts_ns, const oms_event_t *ev);

/* ---- loading rows (restart without replay) ---- */

/* Each inserts one record as read back from its stored row, outside any batch; the list heads
 * and links (first_*, last_*, n_*, next, order) of the given record are ignored and rebuilt.
 * Load orders before their executions and allocations. 0, OMS_ERR_EXISTS (key present),
 * OMS_ERR_STATE (a parent order is missing) or OMS_ERR_LIMIT. */
int proj_load_instrument(proj_state_t *st, const proj_instrument_t *r);
int proj_load_account(proj_state_t *st, const proj_account_t *r);
int proj_load_principal(proj_state_t *st, const proj_principal_t *r);
int proj_load_limits(proj_state_t *st, const proj_limits_t *r);
int proj_load_restriction(proj_state_t *st, const proj_restriction_t *r);
int proj_load_position(proj_state_t *st, const proj_position_t *r);
/* An order with its ClOrdID chain (in use order, starting with the order id: OMS_ERR_STATE
 * otherwise, or when the order id comes again) and its block instructions (entry order). */
int proj_load_order(proj_state_t *st, const proj_order_t *r, const char (*clordids)[OMS_ID_CAP],
                    uint32_t n_clordids, const oms_alloc_instr_t *instrs, uint32_t n_instrs);
/* An execution of an already loaded order (r->order is ignored; order_id names it). */
int proj_load_exec(proj_state_t *st, const char *order_id, const proj_exec_t *r);
/* An allocation of an already loaded order, with its parts and the instructions it used. */
int proj_load_alloc(proj_state_t *st, const proj_alloc_t *r, const oms_alloc_part_t *parts,
                    uint32_t n_parts, const oms_alloc_instr_t *used, uint32_t n_used);
/* The last EndOfDay's trade date and seq. */
void proj_load_trade_date(proj_state_t *st, const char *trade_date, uint64_t seq);

/* ---- batches ---- */

/* Opens a batch (journal empty). Asserts no batch is open. */
void proj_begin(proj_state_t *st);
/* Forgets the journal: the batch's changes stay. */
void proj_commit(proj_state_t *st);
/* Restores the state as it was at proj_begin. */
void proj_rollback(proj_state_t *st);
/* A savepoint inside the open batch, to undo one command's changes alone (e.g. when a table
 * filled up half-way through applying its events). */
typedef struct {
    uint32_t n_jrnl;               /* journal length at the mark */
    uint32_t n[PROJ_T_COUNT_];     /* table sizes at the mark */
    char trade_date[OMS_DATE_CAP]; /* trade date at the mark */
    uint64_t trade_date_seq;       /* and its seq */
    bool trade_date_dirty;         /* and its dirty flag */
    uint64_t text_used;            /* text store length at the mark */
} proj_mark_t;
void proj_mark(proj_state_t *st, proj_mark_t *m);
void proj_rollback_to(proj_state_t *st, const proj_mark_t *m);

/* The batch's touched records in first-touch order (a record may appear more than once when a
 * savepoint was taken after it was first touched). proj_dirty_at returns true for exactly one
 * entry of each record the batch touched (its first touch; after a rollback to a savepoint, the
 * first touch that remains), so the entries it returns true for name each record once. */
uint32_t proj_dirty_count(const proj_state_t *st);
bool proj_dirty_at(const proj_state_t *st, uint32_t i, proj_table_t *t, uint32_t *idx);
/* The bytes the record of journal entry i had when the batch began, for an entry
 * proj_dirty_at returns true for; NULL when the batch created the record. Not aligned for the
 * record's type: read fields with memcpy. Valid until the journal changes (the next touch,
 * savepoint rollback, commit or rollback). Cannot fail. */
const void *proj_dirty_before(const proj_state_t *st, uint32_t i);
/* Whether record idx of table t was touched or created in the open batch (false outside one). */
bool proj_touched_in_batch(const proj_state_t *st, proj_table_t t, uint32_t idx);

/* Whether an order in status s is working: it can still change without a command naming it
 * (end of day expires working DAY orders) and its leaves count in its position's exposure.
 * PendingRelease, PendingNew, New, PartiallyFilled, PendingCancel, PendingReplace. A restart
 * of an engine with on-demand loading keeps exactly these orders in memory (engine.h). */
bool proj_status_working(oms_ord_status_t s);

/* ---- position arithmetic (exposed for tests and for the handlers' projected checks) ---- */

/* Applies a signed trade (qty > 0 buys, < 0 sells) at px to a position with the instrument's
 * multiplier: adds to the open quantity at px, or reduces it at its average cost, realizing
 * (px - avg) x closed x multiplier, and when it crosses zero opens the rest at px. Exact in
 * 128 bits; the realized P&L is rounded once, half to even, to 8 places. 0,
 * OMS_ERR_INVALID (px <= 0, multiplier <= 0, qty == 0) or OMS_ERR_OVERFLOW (a quantity or the
 * realized P&L leaves the decimal range); on failure the position is unchanged. */
int proj_position_trade(proj_position_t *p, oms_dec_t qty, oms_dec_t px, oms_dec_t multiplier);

/* Display average cost = cost_basis / qty rounded half to even (0 when flat). */
oms_dec_t proj_position_avg_cost(const proj_position_t *p);

/* Display average price of an order = px_qty_sum / cum rounded half to even; !set when cum 0. */
oms_opt_dec_t proj_order_avg_px(const proj_order_t *o);
/* The same from the two amounts alone (the handlers' figures for an order being filled). */
oms_opt_dec_t proj_avg_px(oms_e16_t px_qty_sum, oms_dec_t cum);

/* Splits total (> 0, a whole number of lots) among n instructions pro-rata in whole lots:
 * quantities or weights as shares, largest remainder, ties by account id (ascending). Writes
 * n quantities in the instructions' order into out (0 allowed for an account whose share rounds
 * to nothing). 0, or OMS_ERR_INVALID (n == 0 or > OMS_LIMIT_ALLOC_ACCOUNTS, total <= 0, a
 * share <= 0, lot <= 0, total not whole lots) with out untouched. The handlers refuse
 * duplicate accounts before calling it. */
int proj_split_lots(const oms_alloc_instr_t *instrs, uint32_t n, oms_dec_t total, oms_dec_t lot,
                    oms_dec_t *out);

#endif /* OMS_PROJECTIONS_H */
