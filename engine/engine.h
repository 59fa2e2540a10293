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

typedef struct {
    oms_idem_lookup_fn lookup; /* NULL: keep idempotency rows in memory */
    void *lookup_ctx;          /* passed to lookup */
    void (*free_fn)(void *);   /* frees what lookup returned */
    uint32_t max_batch_events; /* events per batch (default OMS_LIMIT_BATCH_EVENTS) */
    bool encode_rows;          /* produce projection rows (default true) */
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

/* Creates an engine with an empty state whose log head is head_seq (0 for a new log). NULL on
 * out of memory. */
oms_engine_t *oms_engine_new(const oms_engine_opts_t *opts, uint64_t head_seq);
void oms_engine_destroy(oms_engine_t **self_p);

/* Processes up to n commands (every command gets exactly one reply; commands whose codec
 * decoding failed are not passed here: the caller replies ERROR itself). ts_ns is the
 * sequencer's time for the whole batch. Returns 0; OMS_ERR_STATE if a batch is already open;
 * OMS_ERR_NOMEM / OMS_ERR_LIMIT / OMS_ERR_IO (idempotency lookup failed) with the batch rolled
 * back. */
int oms_engine_process(oms_engine_t *self, const oms_cmd_t *cmds, uint32_t n, int64_t ts_ns,
                       oms_batch_t *out);

/* The batch is durable: keep it. */
void oms_engine_commit(oms_engine_t *self);
/* The batch could not be made durable: the state returns to before process(). */
void oms_engine_rollback(oms_engine_t *self);

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

/* Encodes every projection row of the current state (for rebuild comparisons): calls fn for
 * each (cf, key, value) in a fixed order. 0 or the first non-zero fn result / error. */
int oms_engine_rows(const oms_engine_t *self,
                    int (*fn)(void *ctx, evlog_cf_t cf, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen),
                    void *ctx);

/* Loads the state from stored rows (restart): every projection row of the store, then sets the
 * head. 0, or OMS_ERR_CORRUPT for a row that does not decode, or the loaders' errors. */
int oms_engine_load(oms_engine_t *self, evlog_t *log);

#endif /* OMS_ENGINE_H */
