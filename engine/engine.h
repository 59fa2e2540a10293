/*
 * engine.h - the one entry point that drives the OMS's logic: a batch of decoded commands in,
 * the events, the rows and the replies out. The daemon, the replay tool and the tests all drive
 * this; nothing else calls handlers and projections in production.
 *
 *   oms_engine_process(batch)   idempotency, handlers, projections (into a journaled batch),
 *                               event encoding, projection and idempotency rows, replies
 *   -> the caller appends events + rows in one WriteBatch (evlog_append / evlog_submit)
 *   oms_engine_commit()         once the batch is durable: the state keeps the batch
 *   oms_engine_rollback()       if it could not be made durable: the state forgets it
 *
 * Between process and commit the engine's state includes the batch (later commands of the same
 * batch must see earlier ones), but nothing leaves the engine except through the batch result:
 * replies are only to be sent after the append succeeded.
 *
 * Idempotency: (principal, command id) seen before with the same bytes returns the original
 * reply and appends nothing; with other bytes the command is refused (CMD-004). The record of
 * each outcome is an idempotency row written with the batch, found again through the lookup
 * callback (the event log's idempotency column family), so it survives restarts and is never a
 * rolling window. Without a lookup callback the engine keeps the rows in memory (tests,
 * benchmarks).
 *
 * On-demand loading (row_get and row_scan set, usually with oms_engine_opts_use_store): the
 * engine also writes index rows (codec.h: a "w" row per working order, an "e" row per
 * execution, the "oms.index" marker with a new log's first batch), and a restart from a store
 * that has them loads only what can change without being named: reference data, limits,
 * positions, the trade date and the working orders with their ClOrdID chains, instructions,
 * executions and allocations. Every other order stays in the store until a command needs it:
 * before the handlers run a batch, the engine loads (outside the batch's journal, so a
 * rollback keeps them) every stored order the batch's commands could look up -
 *   - the order a command names (new order: the duplicate id check; all the others);
 *   - a fill's (venue, exec id) and a bust's or correction's referenced execution, whose
 *     stored "x" row names the order it belongs to (dedup is global across orders);
 *   - for a bust or correction, every order of the named order's instrument (the position is
 *     recomputed from all its live trades): one scan of the orders family's "o" rows the
 *     first time an instrument is busted after a restart (cost: every order row decoded once;
 *     then the instrument is known complete until the next restart).
 * Nothing is evicted while the engine runs (loaded orders stay until the next restart; omsd
 * bounds its memory by loading a fresh engine instead, omsd --reload-orders), so a
 * record absent from memory has not changed since the restart and its stored rows are current
 * even while later batches are still being written. The handlers and projections see the same
 * state they would with everything in memory; EndOfDay expires in creation order for that
 * reason (handlers.c). Without row_get the whole store is loaded, as before.
 */
#ifndef OMS_ENGINE_H
#define OMS_ENGINE_H

#include "eventlog.h"
#include "handlers.h"
#include "oms_model.h"
#include "projections.h"

typedef struct oms_engine oms_engine_t;

/* Reads a stored idempotency row: 0 with *val (caller frees with free_fn) or OMS_ERR_NOT_FOUND
 * or another error. */
typedef int (*oms_idem_lookup_fn)(void *ctx, const uint8_t *key, size_t klen, uint8_t **val,
                                  size_t *vlen);

/* Reads a stored row of family cf: 0 with *val (caller frees with free_fn), OMS_ERR_NOT_FOUND,
 * or another error. */
typedef int (*oms_row_get_fn)(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen,
                              uint8_t **val, size_t *vlen);
/* Calls fn for every row of family cf whose key starts with prefix, in key order (as
 * evlog_scan): 0, fn's non-zero value, or an error. */
typedef int (*oms_row_scan_fn)(void *ctx, evlog_cf_t cf, const uint8_t *prefix, size_t plen,
                               int (*fn)(void *fctx, const uint8_t *key, size_t klen,
                                         const uint8_t *val, size_t vlen),
                               void *fctx);

typedef struct {
    oms_idem_lookup_fn lookup; /* NULL: keep idempotency rows in memory */
    void *lookup_ctx;          /* passed to lookup */
    void (*free_fn)(void *);   /* frees what lookup returned */
    uint32_t max_batch_events; /* events per batch (default OMS_LIMIT_BATCH_EVENTS) */
    bool encode_rows;          /* produce projection rows (default true) */
    oms_row_get_fn row_get;    /* NULL: everything in memory (no on-demand loading) */
    oms_row_scan_fn row_scan;  /* with row_get */
    void *row_ctx;             /* passed to both; values are freed with free_fn */
} oms_engine_opts_t;

/* What one process() call produced. Everything points into the engine and stays valid until
 * the next process, commit or rollback. */
typedef struct {
    const evlog_event_t *events; /* ready for evlog_append, in seq order */
    uint32_t n_events;           /* their count */
    const oms_event_t *decoded;  /* the same events as model structs */
    const evlog_row_t *rows;     /* projection, idempotency and meta rows */
    uint32_t n_rows;             /* their count */
    const oms_reply_t *replies;  /* one per consumed command, in order (string fields end at
                                    their NUL; the bytes after it are unspecified) */
    uint32_t n_consumed;         /* commands consumed from the input (a full batch stops
                                    early: pass the rest to the next call) */
    uint64_t first_seq;          /* seq of events[0] (when n_events > 0) */
} oms_batch_t;

void oms_engine_opts_default(oms_engine_opts_t *o);
/* Sets o's idempotency lookup and on-demand loading to read the store log (borrowed: it must
 * outlive the engine). Cannot fail. */
void oms_engine_opts_use_store(oms_engine_opts_t *o, evlog_t *log);

/* Creates an engine with an empty state whose log head is head_seq (0 for a new log). NULL on
 * out of memory. */
oms_engine_t *oms_engine_new(const oms_engine_opts_t *opts, uint64_t head_seq);
void oms_engine_destroy(oms_engine_t **self_p);

/* Processes up to n commands (every command gets exactly one reply; commands whose codec
 * decoding failed are not passed here: the caller replies ERROR itself). ts_ns is the
 * sequencer's time for the whole batch. Returns 0; OMS_ERR_STATE if a batch is already open;
 * OMS_ERR_NOMEM / OMS_ERR_LIMIT / OMS_ERR_IO (idempotency lookup or on-demand read failed) /
 * OMS_ERR_CORRUPT (a stored row needed on demand does not decode or does not fit: see
 * oms_engine_error) with the batch rolled back and nothing of it loaded or changed. */
int oms_engine_process(oms_engine_t *self, const oms_cmd_t *cmds, uint32_t n, int64_t ts_ns,
                       oms_batch_t *out);

/* The batch is durable: keep it. */
void oms_engine_commit(oms_engine_t *self);
/* The batch could not be made durable: the state returns to before process(). */
void oms_engine_rollback(oms_engine_t *self);

/* What the last failed on-demand load was about (the row and why), "" when none. Owned by the
 * engine, valid until the next process. */
const char *oms_engine_error(const oms_engine_t *self);

/* Orders loaded on demand since the engine was created (tests, the daemon's log). */
uint64_t oms_engine_loaded_on_demand(const oms_engine_t *self);

/* Whether the engine's store has had index rows from its start (a new log, or one with the
 * index marker), so that oms_engine_load keeps only what can change without being named;
 * false for an engine without row_get or over an older store, which loads whole. */
bool oms_engine_indexed(const oms_engine_t *self);

/* The state, read-only (queries, tests). */
const proj_state_t *oms_engine_state(const oms_engine_t *self);

/* Capacity hint for a state about to grow to about n records of table t (a rebuild that knows
 * the log's length): see proj_reserve. Changes no record and no result. 0, or OMS_ERR_NOMEM
 * (the state is unchanged and valid), OMS_ERR_STATE while a batch is open. */
int oms_engine_reserve(oms_engine_t *self, proj_table_t t, uint32_t n);
/* The last seq committed (the log head the state reflects). */
uint64_t oms_engine_head(const oms_engine_t *self);

/* Rebuilds the state by applying stored events (replay); seq must follow the head. For
 * rebuild and the replay tool. 0, or proj_apply's error (OMS_ERR_STATE for a log the handlers
 * could not have produced). The batch is committed at once. */
int oms_engine_apply_event(oms_engine_t *self, uint64_t seq, int64_t ts_ns, const oms_event_t *ev);
/* The same as oms_engine_apply_event without the batch journal, for a rebuild that stops at the
 * first refusal (the replay tool): cheaper, but a refused event may be half applied, so on any
 * error other than a seq out of order (OMS_ERR_STATE with nothing changed) the engine is spent:
 * the state it shows is undefined and every later apply, process, load, reserve and
 * oms_engine_rows returns OMS_ERR_STATE. Only destroy it then. */
int oms_engine_replay_event(oms_engine_t *self, uint64_t seq, int64_t ts_ns,
                            const oms_event_t *ev);

/* Encodes every projection row of the current state (for rebuild comparisons): calls fn for
 * each (cf, key, value) in a fixed order. 0 or the first non-zero fn result / error. */
int oms_engine_rows(const oms_engine_t *self,
                    int (*fn)(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen),
                    void *ctx);

/* Loads the state from stored rows (restart), then sets the head: with on-demand loading and a
 * store that has index rows, what can change without being named (see above); otherwise
 * every projection row of the store. 0, or OMS_ERR_CORRUPT for a row that does not decode (or
 * an index row naming a missing row), OMS_ERR_IO for a read error, or the loaders' errors. */
int oms_engine_load(oms_engine_t *self, evlog_t *log);

#endif /* OMS_ENGINE_H */
