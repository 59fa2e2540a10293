/*
 * eventlog.h - the event log's interface: an append-only, hash-chained sequence of event
 * envelopes in RocksDB, written together with the projection and idempotency rows derived from
 * them in one atomic WriteBatch.
 *
 * Layout (one RocksDB database, these column families):
 *
 *   events       key: 8-byte big-endian seq (1, 2, 3, ... gap-free)
 *                value: oms.v1.EventEnvelope (protobuf), hash field last (see below)
 *   orders, positions, allocations, refdata, idempotency
 *                rows supplied by the caller with each batch (projections, dedup)
 *   meta         "evlog.schema" -> 4-byte big-endian schema version
 *                "evlog.head"   -> 8-byte big-endian head seq + 32-byte head hash
 *                other keys     -> the caller's (e.g. projection digests); "evlog." is reserved
 *   default      unused (RocksDB requires it)
 *
 * Hash chain: an envelope's hash is BLAKE2b-256 over the envelope serialized without its hash
 * field; that serialization contains the seq, the timestamp, the principal, the command id,
 * the order id, the event and, last, the previous envelope's hash (prev_hash, field 14, 32 zero
 * bytes for seq 1; last so that only an envelope's final block or two wait for the chain).
 * The stored value is exactly those bytes followed by field 15 (tag 0x7a, length 0x20, the
 * 32-byte hash), so a verifier hashes the stored bytes themselves and never depends on a
 * re-serialization being canonical. Any edit, deletion, reordering or truncation breaks the
 * chain or the head and is reported with the first bad seq.
 *
 * Threads: an evlog_t is used by one thread at a time (the daemon's sequencer); a writer handle
 * also runs its own committer thread (see evlog_submit). Other processes
 * read the same store concurrently by opening it read-only, as a secondary instance, or through
 * a checkpoint.
 *
 * Errors: functions return 0 or a negative oms_err_t; evlog_errmsg() gives the detail of the
 * last failure on that handle. After a failed append (I/O error, full disk) the handle refuses
 * every further append with OMS_ERR_IO: the store on disk holds either the whole failed batch or
 * none of it, never a part, and only a reopen tells which (the caller's idempotency makes a
 * retry safe either way).
 */
#ifndef OMS_EVENTLOG_H
#define OMS_EVENTLOG_H

#include "oms_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version of the on-disk layout above and of the rows the engine writes with it. A store with
 * another version is refused. 2: idempotency rows hold a 16-byte SipHash digest of the command
 * (oms_digest128) instead of a 32-byte BLAKE2b. 3: the envelope's prev_hash is field 14, after
 * the event (it was field 6, before it), so the chain is the last block hashed. */
#define EVLOG_SCHEMA_VERSION 3u

/* Length of a serialized envelope's trailing hash field: tag, length byte, digest. */
#define EVLOG_HASH_FIELD_LEN (2 + OMS_HASH_LEN)

/* Column families a caller may address. The order is the on-disk creation order. */
typedef enum {
    EVLOG_CF_EVENTS = 0,  /* the log itself; only the log writes here */
    EVLOG_CF_ORDERS,      /* order projection rows */
    EVLOG_CF_POSITIONS,   /* position projection rows */
    EVLOG_CF_ALLOCATIONS, /* allocation projection rows */
    EVLOG_CF_REFDATA,     /* reference data projection rows */
    EVLOG_CF_IDEMPOTENCY, /* (principal, command id) and (venue, exec id) dedup rows */
    EVLOG_CF_META,        /* head, schema version, caller's digests */
    EVLOG_CF_COUNT_
} evlog_cf_t;

/* The column family's name on disk, e.g. "events". */
const char *evlog_cf_name(evlog_cf_t cf);

typedef enum {
    EVLOG_SYNC = 0, /* fdatasync per appended batch: an acknowledged batch survives power loss */
    EVLOG_ASYNC,    /* WAL written, not synced: survives a process crash, not a power loss */
} evlog_durability_t;

typedef enum {
    EVLOG_MODE_WRITE = 0, /* the single writer; takes the store's lock */
    EVLOG_MODE_READ_ONLY, /* a frozen view as of open; works while a writer runs */
    EVLOG_MODE_SECONDARY, /* follows a running writer; evlog_refresh() catches up */
} evlog_mode_t;

typedef struct {
    evlog_mode_t mode;             /* how to open (default EVLOG_MODE_WRITE) */
    evlog_durability_t durability; /* appends' durability (default EVLOG_SYNC) */
    bool create_if_missing;        /* create an empty store when the directory has none
                                      (default true; only in EVLOG_MODE_WRITE) */
    const char *secondary_path;    /* EVLOG_MODE_SECONDARY: a private directory for the
                                      secondary's own info logs (required in that mode) */
    size_t write_buffer_bytes;     /* RocksDB memtable size per column family (default 64 MiB) */
    bool verify_tail_on_open;      /* check the last event's own hash on open (default true) */
    bool allow_damaged;            /* EVLOG_MODE_READ_ONLY only: open even when the recorded
                                      head does not match the log (for forensic tools such as
                                      verify, which then report the damage); default false */
    size_t pipeline_bytes;         /* writer: bytes of submitted batches that may be in flight
                                      before evlog_submit waits (default and 0:
                                      EVLOG_PIPELINE_BYTES; a single batch always goes when
                                      none is in flight) */
} evlog_options_t;

/* One event to append. The log assigns seq and the hashes. Strings are NUL-terminated,
 * at most OMS_LIMIT_ID_LEN bytes; NULL means empty. The body is a serialized oms.v1.Event.
 * Nothing is retained after evlog_append returns. */
typedef struct {
    int64_t ts_ns;          /* sequencer timestamp, UTC ns */
    const char *principal;  /* who issued the causing command */
    const char *command_id; /* causation */
    const char *order_id;   /* correlation; NULL or "" when none */
    const uint8_t *body;    /* serialized oms.v1.Event */
    size_t body_len;        /* its length */
} evlog_event_t;

/* One extra row written in the same batch. value == NULL deletes the key. Keys in
 * EVLOG_CF_EVENTS, and keys in EVLOG_CF_META starting with "evlog.", are refused. */
typedef struct {
    evlog_cf_t cf;        /* which column family */
    const uint8_t *key;   /* 1..OMS_LIMIT_ROW_KEY_BYTES bytes */
    size_t key_len;       /* its length */
    const uint8_t *value; /* 0..OMS_LIMIT_ROW_VALUE_BYTES bytes, or NULL to delete */
    size_t value_len;     /* its length */
} evlog_row_t;

/* A decoded view of a stored envelope. Every pointer points into the value it was parsed from
 * (no copies); strings are NOT NUL-terminated: use the lengths. */
typedef struct {
    uint64_t seq;             /* field 1 */
    int64_t ts_ns;            /* field 2 */
    const char *principal;    /* field 3 */
    size_t principal_len;     /* its length */
    const char *command_id;   /* field 4 */
    size_t command_id_len;    /* its length */
    const char *order_id;     /* field 5 */
    size_t order_id_len;      /* its length */
    const uint8_t *prev_hash; /* field 14, OMS_HASH_LEN bytes */
    const uint8_t *body;      /* field 7: serialized oms.v1.Event */
    size_t body_len;          /* its length */
    const uint8_t *hash;      /* field 15, OMS_HASH_LEN bytes */
    size_t hashed_len;        /* bytes covered by the hash: value length - 34 */
} evlog_record_t;

typedef struct evlog_t evlog_t;
typedef struct evlog_iter_t evlog_iter_t;

/* Fills *o with the defaults documented in evlog_options_t. */
void evlog_options_default(evlog_options_t *o);

/* Opens the store in directory `path`.
 *  - A directory without a store is created (EVLOG_MODE_WRITE with create_if_missing) with all
 *    column families and the schema version; anything else fails with OMS_ERR_NOT_FOUND.
 *  - An existing store must have exactly this layout's column families and schema version
 *    (else OMS_ERR_SCHEMA), and its recorded head must be the last event's seq and hash (else
 *    OMS_ERR_HEAD_MISMATCH, unless allow_damaged). A refused store is closed untouched:
 *    nothing is written.
 *  - A store held by another writer fails with OMS_ERR_BUSY.
 * On success *out owns the handle (free with evlog_destroy). On failure *out is NULL and, if
 * err is not NULL, a human-readable reason is written to err (cap bytes, NUL-terminated). */
int evlog_open(const char *path, const evlog_options_t *opts, evlog_t **out, char *err, size_t cap);

/* Closes the store and sets *self_p to NULL; NULL or *self_p == NULL is a no-op. Every
 * acknowledged append is already durable at its durability; a writer whose appends never failed
 * also flushes its memtables first, so that the next open has no WAL to replay (a clean stop
 * makes the next start fast). A flush that fails is ignored: the WAL still holds everything. */
void evlog_destroy(evlog_t **self_p);

/* Detail of this handle's last failure ("" if none). Valid until the next call on the handle. */
const char *evlog_errmsg(const evlog_t *self);

/* Batches that may be staged or being written at once (evlog_submit blocks beyond it). 16,
 * not fewer: with 4 the submitter filled the ring in about 1.5 ms of the committer's work,
 * less than one scheduler time slice of the memtable flush thread it shares a core with on a
 * 2-core machine, and the committer then sat in the run queue or idle; 16 and 32 gave about
 * +3.5% async append at batch 512 over 4, 64 and 128 no more (docs/PERFORMANCE.md). */
#define EVLOG_PIPELINE_DEPTH 16

/* The default of evlog_options_t.pipeline_bytes: bytes (events' envelopes and rows, as the
 * batch limits count them) that may be in flight at once. evlog_submit also waits while a
 * batch would take the pipeline over it, unless the pipeline is empty (a batch within
 * OMS_LIMIT_BATCH_BYTES always goes). With 16 slots and batches of up to 64 MiB, the depth
 * alone would let a writer hold 1 GiB of WriteBatches. */
#define EVLOG_PIPELINE_BYTES (128u << 20)

/* A slot whose WriteBatch grew beyond this for a big batch gives the memory back once the
 * batch is written (a fresh WriteBatch), so 16 slots do not each keep their largest batch's
 * buffer for the life of the handle. */
#define EVLOG_SLOT_KEEP_BYTES (4u << 20)

/* Appends n_events events (seqs head+1 .. head+n_events, chained) and n_rows extra rows in one
 * atomic WriteBatch with the handle's durability, and advances the head. Returns 0 once the
 * batch is in the log at that durability, and stores the first assigned seq in *first_seq (if
 * not NULL). Fails, changing nothing, with OMS_ERR_INVALID (empty batch, bad row target),
 * OMS_ERR_LIMIT (counts, sizes or string lengths over the limits in oms_core.h),
 * OMS_ERR_READ_ONLY (not a writer), or OMS_ERR_IO (RocksDB refused or failed the write: full
 * disk, I/O error; the handle then refuses all further appends, see the file comment).
 * The hot path does not allocate once the internal buffers have grown to the batch size. */
int evlog_append(evlog_t *self, const evlog_event_t *events, size_t n_events,
                 const evlog_row_t *rows, size_t n_rows, uint64_t *first_seq);

/* The pipelined form of evlog_append, for a sequencer that prepares its next batch while the
 * previous one is being written and synced (group commit without an idle CPU).
 *
 * evlog_submit validates the batch exactly as evlog_append does (same errors, nothing changed
 * on failure), assigns its seqs, encodes and chains its envelopes, and queues it for the log's
 * committer thread, which writes queued batches in submission order, each as its own atomic
 * write, and everything queued when it looks as one group with a single WAL sync (a batch
 * submitted during a sync waits for that sync and one more, never for one per batch ahead of
 * it). It returns
 * at once with the batch's ticket (0, 1, 2, ... since open) unless EVLOG_PIPELINE_DEPTH
 * batches are already in flight, then it waits for one to finish. Seqs and hashes continue
 * from the previous submitted batch, durable or not.
 *
 * A batch is in the log at the handle's durability once evlog_wait(ticket) returns 0, or once
 * evlog_poll reports a durable-ticket count above its ticket. If a write fails, that batch and
 * every later submitted batch are not written (the store stays a prefix of what was submitted),
 * evlog_wait returns OMS_ERR_IO for each of them, and the handle refuses further submits.
 * Only one thread may submit. */
int evlog_submit(evlog_t *self, const evlog_event_t *events, size_t n_events,
                 const evlog_row_t *rows, size_t n_rows, uint64_t *ticket, uint64_t *first_seq);

/* Counts of a writer's committer since open: batches it wrote and the groups they were
 * written in (with sync durability, one WAL sync per group). Either pointer may be NULL; both
 * 0 for a handle that is not a writer. For tests and diagnostics. */
void evlog_commit_counts(evlog_t *self, uint64_t *batches, uint64_t *groups);

/* What a writer has in flight now: batches submitted and not yet finished, and their bytes as
 * the limits count them (at most EVLOG_PIPELINE_DEPTH and, but for a single batch,
 * EVLOG_PIPELINE_BYTES). Either pointer may be NULL; both 0 for a handle that is not a
 * writer. For tests and diagnostics. */
void evlog_inflight(evlog_t *self, uint64_t *batches, size_t *bytes);

/* Blocks until the batch with this ticket is written: 0, or OMS_ERR_IO if it failed. */
int evlog_wait(evlog_t *self, uint64_t ticket);

/* Non-blocking: stores in *durable_tickets how many batches (by ticket, from 0) are durable.
 * Returns 0, or OMS_ERR_IO once any write has failed. */
int evlog_poll(evlog_t *self, uint64_t *durable_tickets);

/* A file descriptor (eventfd) that becomes readable each time the committer finishes a batch,
 * for zmq_poll/poll loops; read 8 bytes to reset it, then call evlog_poll. -1 if not a writer.
 * Owned by the handle. */
int evlog_notify_fd(const evlog_t *self);

/* The head: seq of the last event (0 for an empty log) and its hash (zeros when empty). For a
 * writer this is the durable head (submitted batches not yet written are not counted); for a
 * secondary the head as of the last evlog_refresh. Either pointer may be NULL. */
void evlog_head(const evlog_t *self, uint64_t *seq, oms_hash_t *hash);

/* Secondary: catch up with the writer and re-read the head. Read-only and writer handles: no-op.
 * 0, or OMS_ERR_IO. */
int evlog_refresh(evlog_t *self);

/* Reads the envelope with this seq. On success *value (owned by the caller; free with
 * evlog_free) holds *len bytes. OMS_ERR_NOT_FOUND if there is no such seq, OMS_ERR_IO. */
int evlog_get(evlog_t *self, uint64_t seq, uint8_t **value, size_t *len);

/* Reads an extra row. Like evlog_get; OMS_ERR_NOT_FOUND if absent. */
int evlog_row_get(evlog_t *self, evlog_cf_t cf, const uint8_t *key, size_t key_len, uint8_t **value,
                  size_t *len);

/* Frees a buffer returned by evlog_get or evlog_row_get. NULL is a no-op. */
void evlog_free(void *p);

/* Calls fn(ctx, key, key_len, value, value_len) for every row of cf whose key starts with
 * prefix (prefix_len 0: every row), in key order, from one consistent snapshot. Stops early and
 * returns fn's value when fn returns non-zero. 0, fn's non-zero value, or OMS_ERR_IO. */
int evlog_scan(evlog_t *self, evlog_cf_t cf, const uint8_t *prefix, size_t prefix_len,
               int (*fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len),
               void *ctx);

/* Like evlog_scan, over the keys k with lo <= k < hi in byte order (lo NULL: from the first key;
 * hi NULL: to the last), so that readers can split a family into ranges scanned in parallel.
 * Safe to call from several threads on one read-only or secondary handle (each call reads its
 * own snapshot; evlog_errmsg then tells one of the failures). */
int evlog_scan_range(evlog_t *self, evlog_cf_t cf, const uint8_t *lo, size_t lo_len,
                     const uint8_t *hi, size_t hi_len,
                     int (*fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                               size_t value_len),
                     void *ctx);

/* An iterator over events from from_seq upward, over one consistent snapshot taken now (later
 * appends are not seen). Memory is bounded whatever the log's length. 0 or OMS_ERR_IO/NOMEM. */
int evlog_iter_new(evlog_t *self, uint64_t from_seq, evlog_iter_t **out);

/* Next event: returns 1 and sets *seq (the key's seq), *value and *len (valid until the next
 * call or destroy; not owned by the caller), or 0 at the end, or OMS_ERR_IO, or OMS_ERR_CORRUPT
 * for a key that is not 8 bytes. The values are not verified: use evlog_record_check. */
int evlog_iter_next(evlog_iter_t *it, uint64_t *seq, const uint8_t **value, size_t *len);

/* Frees the iterator and sets *it_p to NULL. */
void evlog_iter_destroy(evlog_iter_t **it_p);

/* Parses a stored envelope without copying or allocating. Unknown fields (a newer writer's)
 * are skipped. OMS_ERR_CORRUPT if the bytes are not a well-formed envelope whose last field is
 * the 32-byte hash, or prev_hash is not 32 bytes. */
int evlog_record_parse(const uint8_t *value, size_t len, evlog_record_t *rec);

/* Checks one stored envelope: it parses, its seq is expect_seq, its prev_hash equals prev (or
 * zeros when prev is NULL), and its hash is BLAKE2b-256 of its hashed bytes. On success stores
 * the hash in *hash_out (if not NULL). OMS_ERR_CORRUPT with the reason in why (cap bytes) if
 * why is not NULL. */
int evlog_record_check(const uint8_t *value, size_t len, uint64_t expect_seq,
                       const oms_hash_t *prev, oms_hash_t *hash_out, char *why, size_t cap);

/* evlog_record_check that also stores the parsed envelope in *rec on success (if not NULL), so a
 * reader that checks an envelope and then uses it (the replay tool) parses it once. Same
 * failures; *rec is unspecified on failure. */
int evlog_record_check_parse(const uint8_t *value, size_t len, uint64_t expect_seq,
                             const oms_hash_t *prev, oms_hash_t *hash_out, evlog_record_t *rec,
                             char *why, size_t cap);

/* Result of evlog_verify. */
typedef struct {
    bool ok;                /* true when every check passed */
    uint64_t events;        /* events checked and found good */
    uint64_t first_bad_seq; /* when !ok: the first seq that is missing, out of place or altered */
    uint64_t head_seq;      /* the recorded head seq */
    oms_hash_t head_hash;   /* the recorded head hash */
    char reason[256];       /* when !ok: what was wrong */
} evlog_verify_t;

/* Walks the whole log from seq 1 over one snapshot: contiguity, every envelope's seq, prev hash
 * and hash, and that the last event is the recorded head. Memory is bounded. progress (may be
 * NULL) is called every 2^20 events with the events checked so far. Returns 0 when the walk
 * completed (then rep->ok says whether the log is intact), or OMS_ERR_IO if it could not read. */
int evlog_verify(evlog_t *self, evlog_verify_t *rep, void (*progress)(void *ctx, uint64_t done),
                 void *ctx);

/* Creates a consistent RocksDB checkpoint of the whole store (every column family) in dir,
 * which must not exist yet. The copy opens like any store. 0, OMS_ERR_EXISTS, OMS_ERR_IO. */
int evlog_checkpoint(evlog_t *self, const char *dir);

#endif /* OMS_EVENTLOG_H */
