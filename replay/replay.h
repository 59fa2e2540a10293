/*
 * replay.h - the audit replay library behind `oms-replay`: what auditors and compliance officers
 * use, years later, to answer "what happened, who did it, when, and can you prove the record is
 * complete?". It reads a store (a live data dir through a read-only or secondary handle, a
 * checkpoint copy, or a backup) and never writes to it.
 *
 *   replay_open       open a store for reading (read-only by default, even when damaged)
 *   replay_verify     seq contiguity, the full hash chain, the recorded head, an external anchor,
 *                     and a from-scratch rebuild of every projection compared with the stored rows
 *   replay_dump       events as JSON lines, CSV or text, filtered; streams with bounded memory
 *   replay_order      the whole story of one order: every event naming it, then its final rows
 *   replay_rebuild    the projection state as of a seq or a time, by the daemon's own code
 *                     (oms_engine_apply_event over the log)
 *   replay_state_write orders, positions and allocations of a state as a table, JSON or CSV
 *   replay_checkpoint a consistent copy of the store for archiving
 *
 * Consistency: every command reads the log over one snapshot and stops at the head seq it saw
 * when it started, so a writer appending meanwhile never changes the output.
 *
 * Memory: everything streams (one event at a time, fixed buffers) except the projection state
 * that replay_rebuild / replay_verify need, which is the daemon's state and grows with it.
 *
 * Errors: functions return 0 or a negative oms_err_t; OMS_ERR_IO for a store that cannot be
 * read, OMS_ERR_INVALID for bad arguments (NULL pointers included: nothing here asserts),
 * OMS_ERR_NOT_FOUND for an unknown order. A damaged log is not an error of replay_verify: it
 * returns 0 with result.ok == false.
 *
 * Threads: replay_verify and replay_rebuild spread the pass over the log over helper threads
 * of their own (one per CPU by default, joined before they return on every path) and
 * replay_verify compares rows in up to two; an evlog_t handle serves one call at a time.
 */
#ifndef OMS_REPLAY_H
#define OMS_REPLAY_H

#include "engine.h"
#include "eventlog.h"
#include "oms_core.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Most threads replay_verify and replay_rebuild use (the caller's included). */
#define REPLAY_THREADS_MAX 16

/* Exit codes of oms-replay (also what the library's results map to). */
enum {
    REPLAY_EXIT_OK = 0,     /* done; verification passed */
    REPLAY_EXIT_FAILED = 1, /* verification failed, or the order/seq asked for does not exist */
    REPLAY_EXIT_USAGE = 2,  /* bad command line */
    REPLAY_EXIT_STORE = 3,  /* the store could not be opened or read, or output failed */
};

/* Output formats. */
typedef enum {
    REPLAY_FMT_JSON = 0, /* one JSON object per line */
    REPLAY_FMT_CSV,      /* a header line, then one row per line (RFC 4180 quoting) */
    REPLAY_FMT_TEXT,     /* aligned, readable text */
} replay_fmt_t;

/* Progress on a stream (usually stderr) while a long run goes on: one line at most every
 * interval. out == NULL: silent. */
typedef struct {
    FILE *out;           /* where to write, or NULL */
    int64_t interval_ns; /* at most one line per interval (default 1 s when 0) */
    const char *what;    /* label, e.g. "verify" */
    int64_t started_ns;  /* set by the library (monotonic) */
    int64_t last_ns;     /* set by the library */
} replay_progress_t;

/* ---- opening ------------------------------------------------------------------------------ */

/* Opens the store in dir for reading: EVLOG_MODE_READ_ONLY (a frozen view as of open; a store
 * whose recorded head does not match its log is still opened, so that verify can report it)
 * or, when secondary_dir is not NULL, EVLOG_MODE_SECONDARY with that private directory (the
 * recommended way beside a long-running daemon). On success *out owns the handle (free with
 * evlog_destroy). Fails with evlog_open's errors (OMS_ERR_NOT_FOUND: no store there;
 * OMS_ERR_SCHEMA; OMS_ERR_IO) and a reason in err[cap]. */
int replay_open(const char *dir, const char *secondary_dir, evlog_t **out, char *err, size_t cap);

/* ---- verify --------------------------------------------------------------------------------- */

/* What failed first (the checks run in this order; the first failure stops the run). */
typedef enum {
    REPLAY_BAD_NONE = 0,   /* nothing */
    REPLAY_BAD_CHAIN,      /* an event is missing, out of place or altered (contiguity, seq,
                              prev hash, own hash) */
    REPLAY_BAD_HEAD,       /* the recorded head is not the log's last event (truncation) */
    REPLAY_BAD_EVENT,      /* an event that does not decode or does not apply, or whose
                              sequencer time is before the previous event's (a log the daemon
                              could not have produced) */
    REPLAY_BAD_ANCHOR,     /* the anchor (seq, hash) is not in the log */
    REPLAY_BAD_PROJECTION, /* a stored projection row differs from the rebuilt one */
} replay_bad_t;

typedef struct {
    bool rebuild;        /* also rebuild every projection and compare (default true) */
    bool has_anchor;     /* check anchor_seq / anchor_hash */
    uint64_t anchor_seq; /* an externally recorded (seq, hash) */
    oms_hash_t anchor_hash;
    replay_progress_t *progress; /* may be NULL */
    unsigned threads; /* 0 (default): one per CPU it may run on, at most REPLAY_THREADS_MAX (one for
                         a log under about a thousand events); 1: all in the calling thread; n: n
                         threads, the caller included, for the pass over the log (read, check,
                         decode, apply pipelined) and the row comparison. Same results either
                         way. */
    uint32_t pipe_chunk_events; /* events per chunk of the pipeline, for tests (0 = 256) */
} replay_verify_opts_t;

typedef struct {
    bool ok;                /* every check passed */
    replay_bad_t bad;       /* the first failure */
    uint64_t first_bad_seq; /* its seq: the event, the anchor, or the seq that last touched the
                               differing row (0 when no event explains it: see reason) */
    uint64_t events;        /* events checked (and applied, with rebuild) */
    uint64_t rows;          /* stored projection rows compared */
    int64_t log_ns;         /* wall time of the pass over the log (chain + rebuild) */
    int64_t rows_ns;        /* wall time of the row comparison */
    uint64_t head_seq;      /* the recorded head seq */
    oms_hash_t head_hash;   /* the recorded head hash: the value to record as an anchor */
    char row_cf[16];        /* REPLAY_BAD_PROJECTION: the column family of the row */
    char row_key[160];      /* its key, printable (0x1f shown as '|', other bytes as \xNN) */
    char reason[512];       /* what was wrong, for humans */
} replay_verify_result_t;

void replay_verify_opts_default(replay_verify_opts_t *o);

/* Verifies the store behind log (see the file comment for what is checked). Returns 0 when the
 * run completed (res->ok says whether the store is intact), OMS_ERR_IO if it could not read,
 * OMS_ERR_NOMEM. */
int replay_verify(evlog_t *log, const replay_verify_opts_t *o, replay_verify_result_t *res);

/* Parses "SEQ:HASHHEX" (64 lower- or upper-case hex digits). 0 or OMS_ERR_PARSE. */
int replay_parse_anchor(const char *s, uint64_t *seq, oms_hash_t *hash);

/* ---- dump ------------------------------------------------------------------------------------ */

/* Which events to print. Every set filter must match (AND). Strings NULL = no filter. */
typedef struct {
    uint64_t from_seq;          /* first seq (0 or 1 = from the start) */
    uint64_t to_seq;            /* last seq (0 = the head) */
    int64_t from_ts_ns;         /* sequencer time >= this (0 = no bound) */
    int64_t to_ts_ns;           /* sequencer time <= this (0 = no bound) */
    const char *order_id;       /* the envelope's order id, or the body's order_id (for a
                                   rejection: the refused command's) */
    const char *account_id;     /* the body's account_id (for a rejection: the refused command's);
                                   events without one never match */
    const char *instrument_id;  /* the body's instrument (the refused command's for a rejection) */
    const char *principal;      /* the envelope's principal */
    uint32_t n_types;           /* event types wanted (0 = all) */
    oms_event_type_t types[32]; /* by body field number (oms_event_type_name for the name) */
} replay_filter_t;

void replay_filter_default(replay_filter_t *f);

/* Adds an event type by its snake-case name ("order_filled") or number. 0, OMS_ERR_PARSE for an
 * unknown one, OMS_ERR_LIMIT past 32. */
int replay_filter_add_type(replay_filter_t *f, const char *name);

/* Writes every event of the log that passes f to out, in seq order, in fmt. An event of a type
 * this version cannot decode (a newer writer's) never matches a body filter and prints with its
 * generic JSON (TEXT/CSV: as the summary). A --from-time window is found by binary search.
 *  JSON: {"seq":"12","ts":"2026-...Z","ts_ns":"...","principal":..,"command_id":..,
 *         "order_id":..,"prev_hash":hex,"hash":hex,"type":"order_filled","event":{...}}
 *        where event is the generic protobuf JSON of the oms.v1.Event (decimals as exact
 *        strings, 64-bit integers as strings);
 *  CSV:  seq,ts,principal,command_id,order_id,type,account_id,instrument_id,summary;
 *  TEXT: one aligned line per event with a readable summary.
 * Stops at the head seen at the start. *n_out (may be NULL) = events written. Bounded memory.
 * 0; OMS_ERR_IO (store or output); OMS_ERR_CORRUPT for an event that does not parse (run
 * verify); OMS_ERR_INVALID for a bad filter (from > to). */
int replay_dump(evlog_t *log, const replay_filter_t *f, replay_fmt_t fmt, FILE *out,
                replay_progress_t *progress, uint64_t *n_out);

/* ---- one order ------------------------------------------------------------------------------- */

/* The complete story of order_id: every event naming it in seq order (acceptance, release,
 * cancel and replace requests with their ClOrdIDs, acks, every fill, bust and correction,
 * every rejection of a command about it, exceptions, allocations and reversals), each with its
 * time, seq, principal and command id; then the order as stored now (status, quantities,
 * average price, its ClOrdID chain), its executions and its allocations with their parts.
 * TEXT is for people; JSON writes the events as replay_dump does, then one {"order":...} line
 * and {"execution":...} / {"allocation":...} lines of the stored rows; CSV as replay_dump.
 * 0; OMS_ERR_NOT_FOUND when no event names the order; OMS_ERR_IO; OMS_ERR_CORRUPT. */
int replay_order(evlog_t *log, const char *order_id, replay_fmt_t fmt, FILE *out,
                 replay_progress_t *progress);

/* ---- state ----------------------------------------------------------------------------------- */

/* Builds a fresh engine and applies every event with seq <= to_seq (0 = the head) and sequencer
 * time <= to_ts_ns (0 = no bound), in order, with oms_engine_apply_event: the daemon's own
 * projection code (read, parse and decode spread over one thread per CPU beyond about a
 * thousand events, applied in seq order). *reached = the last seq applied. On success *out owns the
 * engine (oms_engine_destroy). OMS_ERR_NOT_FOUND when to_seq is past the head; OMS_ERR_CORRUPT for
 * an event that does not parse or decode; proj_apply's errors (OMS_ERR_STATE: the log could not
 * have been produced by the handlers) with the seq in *reached + 1; OMS_ERR_IO; OMS_ERR_NOMEM. */
int replay_rebuild(evlog_t *log, uint64_t to_seq, int64_t to_ts_ns, replay_progress_t *progress,
                   oms_engine_t **out, uint64_t *reached);

/* Which tables replay_state_write prints (bits). */
enum {
    REPLAY_STATE_ORDERS = 1,
    REPLAY_STATE_POSITIONS = 2,
    REPLAY_STATE_ALLOCATIONS = 4,
    REPLAY_STATE_ALL = 7,
};

/* Writes the state's orders, positions and allocations (the `what` bits) to out: TEXT as
 * aligned tables, CSV as one section per table (a "# orders" line, a header, rows), JSON as one
 * line per row {"order":{...}} / {"position":{...}} / {"allocation":{...}} with the row's
 * generic protobuf JSON (exactly what the daemon stores). as_of_seq is printed in the headers.
 * Records in creation order. 0, OMS_ERR_IO (output), OMS_ERR_LIMIT / OMS_ERR_STATE (a row that
 * cannot be encoded: a bug). */
int replay_state_write(const oms_engine_t *eng, unsigned what, replay_fmt_t fmt, uint64_t as_of_seq,
                       FILE *out);

/* ---- checkpoint ------------------------------------------------------------------------------ */

/* A consistent copy of the whole store in dir (which must not exist), openable like any store.
 * 0, OMS_ERR_EXISTS, OMS_ERR_IO (with evlog_errmsg(log) saying why). */
int replay_checkpoint(evlog_t *log, const char *dir);

#endif /* OMS_REPLAY_H */
