/*
 * eventlog.c - the RocksDB event log: open/refuse, atomic batched append with the hash chain,
 * reads, iteration, verification and checkpoints. See eventlog.h for the layout and contracts.
 *
 * Load: evlog_append is the daemon's group commit, called once per drained batch of commands;
 * its cost per event is one envelope encode, one BLAKE2b and one WriteBatch put, with buffers
 * reused across calls. evlog_verify streams the whole log with bounded memory.
 */
#include "evlog_internal.h"

#include <assert.h>
#include <errno.h>
#include <rocksdb/c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_SCHEMA_KEY      "evlog.schema"
#define META_HEAD_KEY        "evlog.head"
#define META_RESERVED_PREFIX "evlog."
#define HEAD_VALUE_LEN       (8 + OMS_HASH_LEN)

static const char *const s_cf_names[EVLOG_CF_COUNT_] = {
    [EVLOG_CF_EVENTS] = "events",       [EVLOG_CF_ORDERS] = "orders",
    [EVLOG_CF_POSITIONS] = "positions", [EVLOG_CF_ALLOCATIONS] = "allocations",
    [EVLOG_CF_REFDATA] = "refdata",     [EVLOG_CF_IDEMPOTENCY] = "idempotency",
    [EVLOG_CF_META] = "meta",
};

/* One batch in the writer pipeline. */
typedef struct {
    rocksdb_writebatch_t *wb; /* the staged WriteBatch, reused */
    uint64_t first_seq;       /* its first event's seq */
    uint64_t last_seq;        /* its last event's seq (head after it) */
    oms_hash_t last_hash;     /* head hash after it */
    size_t bytes;             /* its size as the limits count it (for EVLOG_PIPELINE_BYTES) */
} evlog_slot_t;

/* One row's place in the write order of its batch (s_row_order): its family, its key's first
 * 8 bytes read big-endian (zero-padded), so that most comparisons need no memcmp, and its
 * index in the caller's array. */
typedef struct {
    uint64_t head;
    uint32_t cf;
    uint32_t idx;
} evlog_row_ord_t;

struct evlog_t {
    rocksdb_t *db;                                       /* the open database */
    rocksdb_options_t *opts;                             /* db and cf options */
    rocksdb_column_family_handle_t *cf[EVLOG_CF_COUNT_]; /* our families */
    rocksdb_column_family_handle_t *cf_default;          /* RocksDB's default family */
    rocksdb_writeoptions_t *wopts;                       /* sync or not */
    rocksdb_writeoptions_t *wopts_group;                 /* never sync: a group's first writes */
    bool sync;                                           /* durability is EVLOG_SYNC */
    rocksdb_readoptions_t *ropts;                        /* point reads */
    rocksdb_writebatch_t *wb;                            /* for the initial meta write */
    evlog_mode_t mode;                                   /* write, read-only, secondary */
    uint64_t head_seq;                                   /* readers: last event's seq */
    oms_hash_t head_hash;                                /* readers: last event's hash */

    /* Writer pipeline. The caller's thread stages batches (encode, hash, build a WriteBatch in
     * a free slot); the committer thread writes them in ticket order. Tickets count batches
     * from 0 since open. Guarded by mu unless noted. */
    evlog_slot_t slots[EVLOG_PIPELINE_DEPTH]; /* batches in flight */
    pthread_t committer;                      /* the committer thread */
    bool committer_started;                   /* whether it runs */
    pthread_mutex_t mu;                       /* guards what follows */
    pthread_cond_t cv_work;                   /* a batch was queued / stopping */
    pthread_cond_t cv_done;                   /* a batch finished */
    bool stopping;                            /* destroy asked the thread to end */
    uint64_t next_ticket;                     /* ticket of the next submit */
    uint64_t next_commit;                     /* ticket the committer does next */
    uint64_t durable_ticket;                  /* tickets < this are durable */
    size_t inflight_bytes;                    /* bytes of tickets [next_commit, next_ticket) */
    size_t pipeline_bytes;                    /* cap on inflight_bytes (options; set at open) */
    uint64_t groups_written;                  /* groups the committer wrote (one sync each) */
    uint64_t durable_seq;                     /* head seq that is durable */
    oms_hash_t durable_hash;                  /* head hash that is durable */
    bool commit_failed;                       /* a write failed: refuse more */
    char commit_errmsg[512];                  /* why */
    uint64_t staged_seq;                      /* caller thread only: staged head */
    oms_hash_t staged_hash;                   /* caller thread only */
    int notify_fd;                            /* eventfd bumped per batch done */
    uint8_t *scratch;                         /* envelope encode buffer */
    size_t scratch_cap;                       /* its capacity */
    evlog_row_ord_t *row_ord;                 /* caller thread only: row order, then as */
    size_t row_ord_cap;                       /* many for the sort's scratch; capacity */
    char errmsg[512];                         /* last failure's detail */
};

struct evlog_iter_t {
    rocksdb_iterator_t *it;       /* over the events family */
    rocksdb_readoptions_t *ropts; /* with the snapshot-less, no-fill-cache scan options */
    bool started;                 /* first next() does not advance */
};

const char *evlog_cf_name(evlog_cf_t cf)
{
    assert(cf >= 0 && cf < EVLOG_CF_COUNT_);
    return s_cf_names[cf];
}

static void s_seterr(evlog_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_seterr(evlog_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->errmsg, sizeof self->errmsg, fmt, ap);
    va_end(ap);
}

static void s_copyerr(char *err, size_t cap, const char *msg)
{
    if (err && cap)
        snprintf(err, cap, "%s", msg);
}

/* RocksDB counts every read step in a thread-local perf context (its default level,
 * kEnableCount), which nothing here reads: about 3% of a verify's instructions went to
 * __tls_get_addr for it. The level is per thread, so every entry point that reads sets it for
 * the calling thread (one thread-local store). */
static void s_no_perf_counts(void)
{
    rocksdb_set_perf_level(rocksdb_disable);
}

void evlog_options_default(evlog_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->mode = EVLOG_MODE_WRITE;
    o->durability = EVLOG_SYNC;
    o->create_if_missing = true;
    o->secondary_path = NULL;
    o->write_buffer_bytes = 64u << 20;
    o->verify_tail_on_open = true;
    o->pipeline_bytes = EVLOG_PIPELINE_BYTES;
}

static bool s_store_exists(const char *path)
{
    char buf[4096];
    struct stat st;
    if (snprintf(buf, sizeof buf, "%s/CURRENT", path) >= (int)sizeof buf)
        return false;
    return stat(buf, &st) == 0;
}

/* mkdir -p; 0 or -1 with errno. */
static int s_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* The events family's tables: 16 KiB blocks and no filter. The family is a dense sequence of
 * seqs, written once in key order and read by scans (replay, catch-up) and by the rare point
 * read of a seq that exists; a point read finds its one candidate file by the files' key
 * ranges, so a Bloom filter would only cost every memtable flush a hash and a bit set per
 * event. 16 KiB blocks (RocksDB's default is 4 KiB) cut the per-block work of a flush (LZ4
 * state, checksum, index entry). Together they took a memtable flush from about 0.50 to 0.36
 * µs of CPU per event (perf, oms-bench log async batch 512): on two cores the flush thread
 * competes with the sequencer and the committer. bench_log.c's raw baseline uses these
 * options too. */
#define EVENTS_BLOCK_BYTES (16u << 10)

static void s_set_events_table(rocksdb_options_t *opts)
{
    rocksdb_block_based_table_options_t *bbo = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(bbo, EVENTS_BLOCK_BYTES);
    rocksdb_options_set_block_based_table_factory(opts, bbo);
    rocksdb_block_based_options_destroy(bbo);
}

/* The options of the row families (everything but events): the database options with a
 * whole-key Bloom filter in every SST and in the memtable, and blocks of block_bytes. The
 * daemon looks up an idempotency row for every command it receives, and almost every lookup is
 * for a key that is not there: without the memtable filter each such lookup walks the
 * memtable's skip list, a third of the sequencer's time under load (perf). The events family
 * does without (s_set_events_table): a memtable filter there cost every insert about 10% of
 * async append throughput. Owned by the caller.
 *
 * Block sizes: RocksDB's default 4 KiB for the families read by key (idempotency on every
 * command, positions, reference data); 16 KiB for the orders family (order and execution rows),
 * which is read mostly in bulk (verify's comparison, a restart's pass over the working orders)
 * and by key only for orders and executions no longer in memory, usually a Bloom-filter miss.
 * Per block RocksDB pays an index step, a checksum, a decompression call and a buffer: with 16
 * KiB verify's row comparison took 0.142 instead of 0.155 s on the 1M-event store (6 alternated
 * runs each; the whole verify 0.69 -> 0.67 s). Existing files keep their blocks until compacted
 * (the size is per file). */
#define ROWS_BLOCK_BYTES   (4u << 10)
#define ORDERS_BLOCK_BYTES (16u << 10)

/* Memtable inserts of the row families walk the skip list from its top for every key: the
 * keys (orders, executions, index rows, idempotency) arrive in no order, so RocksDB's cached
 * position of the last insert never brackets the next key. Under oms-bench e2e's closed loop
 * those walks were more than half of the committer thread's CPU, and the committer was the
 * bottleneck (perf, 2026-12-01). Two changes together shorten them: s_stage writes a batch's
 * rows sorted by (family, key), and this option keeps, per memtable and per first key byte,
 * the position of the last insert and lets RocksDB climb from it only as far as the next key
 * needs (O(log distance) instead of O(log n)). Closed loop +15% (46-56k -> 57-62k commands/s,
 * 5 alternated runs each); neither change alone moved it. Caution: RocksDB shares these hints
 * between a memtable and its range-deletion table (facebook/rocksdb#5118), so the row families
 * must never see a DeleteRange while the option is set; nothing here issues one. */
#define ROW_INSERT_HINT "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.1"

static rocksdb_options_t *s_row_options(rocksdb_options_t *opts, size_t block_bytes)
{
    rocksdb_options_t *r = rocksdb_options_create_copy(opts);
    rocksdb_block_based_table_options_t *bbo = rocksdb_block_based_options_create();
    /* The table options take ownership of the policy. */
    rocksdb_block_based_options_set_filter_policy(bbo, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_whole_key_filtering(bbo, 1);
    rocksdb_block_based_options_set_block_size(bbo, block_bytes);
    rocksdb_options_set_block_based_table_factory(r, bbo);
    rocksdb_block_based_options_destroy(bbo);
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(r, 0.02);
    rocksdb_options_set_memtable_whole_key_filtering(r, 1);
    /* Insert hints (see ROW_INSERT_HINT); an option the C API has no setter for. Should a
     * RocksDB build refuse it, the family works as before, only slower. */
    rocksdb_options_t *h = rocksdb_options_create();
    char *err = NULL;
    rocksdb_get_options_from_string(r, ROW_INSERT_HINT, h, &err);
    if (err == NULL) {
        rocksdb_options_destroy(r);
        return h;
    }
    rocksdb_free(err);
    rocksdb_options_destroy(h);
    return r;
}

static rocksdb_options_t *s_make_options(const evlog_options_t *o)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    rocksdb_options_increase_parallelism(opts, 2);
    rocksdb_options_set_write_buffer_size(opts, o->write_buffer_bytes);
    rocksdb_options_set_compression(opts, rocksdb_lz4_compression);
    /* Many small families share one WAL: bound it so a quiet family cannot pin old WAL files. */
    rocksdb_options_set_max_total_wal_size(opts, 256u << 20);
    rocksdb_options_set_keep_log_file_num(opts, 4);
    rocksdb_options_set_paranoid_checks(opts, 1);
    /* A torn last WAL record (crash mid-write) is dropped; anything earlier must be intact. */
    rocksdb_options_set_wal_recovery_mode(opts, 2 /* kPointInTimeRecovery */);
    s_set_events_table(opts);
    if (o->mode == EVLOG_MODE_SECONDARY)
        rocksdb_options_set_max_open_files(opts, -1);
    return opts;
}

/* Compares the store's column families with ours: 0, or OMS_ERR_SCHEMA with the reason. */
static int s_check_families(const char *path, rocksdb_options_t *opts, char *err, size_t cap)
{
    char *rerr = NULL;
    size_t n = 0;
    char **names = rocksdb_list_column_families(opts, path, &n, &rerr);
    if (rerr) {
        snprintf(err, cap, "cannot list column families of %s: %s", path, rerr);
        rocksdb_free(rerr);
        return OMS_ERR_IO;
    }
    bool have[EVLOG_CF_COUNT_] = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strcmp(names[i], "default") == 0)
            continue;
        int found = -1;
        for (int c = 0; c < EVLOG_CF_COUNT_; c++)
            if (strcmp(names[i], s_cf_names[c]) == 0)
                found = c;
        if (found < 0) {
            snprintf(err, cap, "store %s has column family '%s', unknown to schema version %u",
                     path, names[i], EVLOG_SCHEMA_VERSION);
            rc = OMS_ERR_SCHEMA;
        } else {
            have[found] = true;
        }
    }
    for (int c = 0; c < EVLOG_CF_COUNT_ && rc == 0; c++) {
        if (!have[c]) {
            snprintf(err, cap, "store %s lacks column family '%s' of schema version %u", path,
                     s_cf_names[c], EVLOG_SCHEMA_VERSION);
            rc = OMS_ERR_SCHEMA;
        }
    }
    rocksdb_list_column_families_destroy(names, n);
    return rc;
}

static int s_get_meta(evlog_t *self, const char *key, char **val, size_t *len)
{
    char *rerr = NULL;
    *val = rocksdb_get_cf(self->db, self->ropts, self->cf[EVLOG_CF_META], key, strlen(key), len,
                          &rerr);
    if (rerr) {
        s_seterr(self, "reading meta key %s: %s", key, rerr);
        rocksdb_free(rerr);
        return OMS_ERR_IO;
    }
    return *val ? 0 : OMS_ERR_NOT_FOUND;
}

/* Reads the last event's key and value (or none) from the events family. */
static int s_read_tail(evlog_t *self, uint64_t *seq, char **value, size_t *len)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(self->db, self->ropts, self->cf[EVLOG_CF_EVENTS]);
    rocksdb_iter_seek_to_last(it);
    int rc = 0;
    *seq = 0;
    *value = NULL;
    *len = 0;
    if (rocksdb_iter_valid(it)) {
        size_t kl = 0, vl = 0;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (kl != 8) {
            s_seterr(self, "events family holds a key of %zu bytes (want 8)", kl);
            rc = OMS_ERR_CORRUPT;
        } else {
            *seq = oms_get_be64((const uint8_t *)k);
            *value = malloc(vl ? vl : 1);
            if (*value == NULL) {
                rc = OMS_ERR_NOMEM;
            } else {
                memcpy(*value, v, vl);
                *len = vl;
            }
        }
    } else {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) {
            s_seterr(self, "reading the log's tail: %s", rerr);
            rocksdb_free(rerr);
            rc = OMS_ERR_IO;
        }
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* Loads schema version and head, and checks them against the log's last event. */
static int s_load_head(evlog_t *self, bool verify_tail)
{
    char *val = NULL;
    size_t len = 0;
    int rc = s_get_meta(self, META_SCHEMA_KEY, &val, &len);
    if (rc == OMS_ERR_NOT_FOUND) {
        s_seterr(self, "store has no schema version: not an OMS event log");
        return OMS_ERR_SCHEMA;
    }
    if (rc)
        return rc;
    uint32_t ver = 0;
    if (len == 4)
        ver = (uint32_t)oms_get_be64((const uint8_t[8]){
            0, 0, 0, 0, (uint8_t)val[0], (uint8_t)val[1], (uint8_t)val[2], (uint8_t)val[3]});
    rocksdb_free(val);
    if (len != 4 || ver != EVLOG_SCHEMA_VERSION) {
        s_seterr(self, "store schema version is %u, this build reads version %u",
                 len == 4 ? ver : 0, EVLOG_SCHEMA_VERSION);
        return OMS_ERR_SCHEMA;
    }

    rc = s_get_meta(self, META_HEAD_KEY, &val, &len);
    if (rc == OMS_ERR_NOT_FOUND) {
        s_seterr(self, "store has no recorded head");
        return OMS_ERR_HEAD_MISMATCH;
    }
    if (rc)
        return rc;
    if (len != HEAD_VALUE_LEN) {
        rocksdb_free(val);
        s_seterr(self, "store's recorded head is %zu bytes (want %d)", len, HEAD_VALUE_LEN);
        return OMS_ERR_HEAD_MISMATCH;
    }
    uint64_t head_seq = oms_get_be64((const uint8_t *)val);
    oms_hash_t head_hash;
    memcpy(head_hash.bytes, val + 8, OMS_HASH_LEN);
    rocksdb_free(val);

    uint64_t tail_seq;
    char *tail;
    size_t tail_len;
    rc = s_read_tail(self, &tail_seq, &tail, &tail_len);
    if (rc)
        return rc;
    if (tail_seq != head_seq) {
        free(tail);
        s_seterr(self, "recorded head is seq %llu but the log's last event is seq %llu",
                 (unsigned long long)head_seq, (unsigned long long)tail_seq);
        return OMS_ERR_HEAD_MISMATCH;
    }
    if (tail_seq > 0) {
        evlog_record_t rec;
        bool ok = evlog_record_parse((uint8_t *)tail, tail_len, &rec) == 0 && rec.seq == tail_seq &&
                  memcmp(rec.hash, head_hash.bytes, OMS_HASH_LEN) == 0;
        if (ok && verify_tail) {
            oms_hash_t h;
            oms_hash(tail, rec.hashed_len, &h);
            ok = oms_hash_equal(&h, &head_hash);
        }
        free(tail);
        if (!ok) {
            s_seterr(self, "the log's last event (seq %llu) does not match the recorded head hash",
                     (unsigned long long)tail_seq);
            return OMS_ERR_HEAD_MISMATCH;
        }
    } else {
        static const oms_hash_t zero;
        if (!oms_hash_equal(&head_hash, &zero)) {
            s_seterr(self, "empty log with a non-zero recorded head hash");
            return OMS_ERR_HEAD_MISMATCH;
        }
    }
    self->head_seq = head_seq;
    self->head_hash = head_hash;
    return 0;
}

static int s_write_initial_meta(evlog_t *self)
{
    uint8_t ver[4] = {0, 0, 0, EVLOG_SCHEMA_VERSION};
    uint8_t head[HEAD_VALUE_LEN] = {0};
    rocksdb_writebatch_clear(self->wb);
    rocksdb_writebatch_put_cf(self->wb, self->cf[EVLOG_CF_META], META_SCHEMA_KEY,
                              strlen(META_SCHEMA_KEY), (const char *)ver, sizeof ver);
    rocksdb_writebatch_put_cf(self->wb, self->cf[EVLOG_CF_META], META_HEAD_KEY,
                              strlen(META_HEAD_KEY), (const char *)head, sizeof head);
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(w, 1);
    char *rerr = NULL;
    rocksdb_write(self->db, w, self->wb, &rerr);
    rocksdb_writeoptions_destroy(w);
    rocksdb_writebatch_clear(self->wb);
    if (rerr) {
        s_seterr(self, "writing the new store's schema: %s", rerr);
        rocksdb_free(rerr);
        return OMS_ERR_IO;
    }
    return 0;
}

/* Opens the RocksDB database with all families in the requested mode. */
static int s_open_db(evlog_t *self, const char *path, const evlog_options_t *o, bool create)
{
    const char *names[EVLOG_CF_COUNT_ + 1];
    const rocksdb_options_t *cfo[EVLOG_CF_COUNT_ + 1];
    rocksdb_column_family_handle_t *handles[EVLOG_CF_COUNT_ + 1] = {0};
    char *rerr = NULL;
    if (create) {
        rocksdb_options_set_create_if_missing(self->opts, 1);
        rocksdb_options_set_create_missing_column_families(self->opts, 1);
    }
    rocksdb_options_t *rows = s_row_options(self->opts, ROWS_BLOCK_BYTES);
    rocksdb_options_t *orders = s_row_options(self->opts, ORDERS_BLOCK_BYTES);
    names[0] = "default";
    cfo[0] = self->opts;
    for (int c = 0; c < EVLOG_CF_COUNT_; c++) {
        names[c + 1] = s_cf_names[c];
        cfo[c + 1] = c == EVLOG_CF_EVENTS ? self->opts : c == EVLOG_CF_ORDERS ? orders : rows;
    }
    switch (o->mode) {
    case EVLOG_MODE_WRITE:
        self->db = rocksdb_open_column_families(self->opts, path, EVLOG_CF_COUNT_ + 1, names, cfo,
                                                handles, &rerr);
        break;
    case EVLOG_MODE_READ_ONLY:
        self->db = rocksdb_open_for_read_only_column_families(self->opts, path, EVLOG_CF_COUNT_ + 1,
                                                              names, cfo, handles, 0, &rerr);
        break;
    case EVLOG_MODE_SECONDARY:
        self->db = rocksdb_open_as_secondary_column_families(
            self->opts, path, o->secondary_path, EVLOG_CF_COUNT_ + 1, names, cfo, handles, &rerr);
        break;
    }
    rocksdb_options_destroy(rows); /* the families keep their own copies */
    rocksdb_options_destroy(orders);
    if (rerr) {
        int rc = (strstr(rerr, "lock") || strstr(rerr, "LOCK")) ? OMS_ERR_BUSY : OMS_ERR_IO;
        if (rc == OMS_ERR_BUSY)
            s_seterr(self, "store %s is in use by another writer (%s)", path, rerr);
        else
            s_seterr(self, "cannot open store %s: %s", path, rerr);
        rocksdb_free(rerr);
        self->db = NULL;
        return rc;
    }
    self->cf_default = handles[0];
    for (int c = 0; c < EVLOG_CF_COUNT_; c++)
        self->cf[c] = handles[c + 1];
    return 0;
}

static void s_close_db(evlog_t *self)
{
    if (self->db == NULL)
        return;
    for (int c = 0; c < EVLOG_CF_COUNT_; c++)
        if (self->cf[c])
            rocksdb_column_family_handle_destroy(self->cf[c]);
    if (self->cf_default)
        rocksdb_column_family_handle_destroy(self->cf_default);
    memset(self->cf, 0, sizeof self->cf);
    self->cf_default = NULL;
    rocksdb_close(self->db);
    self->db = NULL;
}

static void *s_committer(void *arg);

/* Writer mode: the slots, the eventfd and the committer thread. 0 or OMS_ERR_NOMEM/IO. */
static int s_start_pipeline(evlog_t *self)
{
    self->staged_seq = self->durable_seq = self->head_seq;
    self->staged_hash = self->durable_hash = self->head_hash;
    for (int i = 0; i < EVLOG_PIPELINE_DEPTH; i++)
        self->slots[i].wb = rocksdb_writebatch_create();
    self->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->notify_fd < 0) {
        s_seterr(self, "eventfd: %s", strerror(errno));
        return OMS_ERR_IO;
    }
    if (pthread_create(&self->committer, NULL, s_committer, self) != 0) {
        s_seterr(self, "cannot start the committer thread");
        return OMS_ERR_NOMEM;
    }
    self->committer_started = true;
    return 0;
}

int evlog_open(const char *path, const evlog_options_t *opts, evlog_t **out, char *err, size_t cap)
{
    assert(path != NULL && out != NULL);
    *out = NULL;
    evlog_options_t o;
    if (opts)
        o = *opts;
    else
        evlog_options_default(&o);
    if (o.mode == EVLOG_MODE_SECONDARY && (o.secondary_path == NULL || !*o.secondary_path)) {
        s_copyerr(err, cap, "secondary mode needs a secondary_path");
        return OMS_ERR_INVALID;
    }
    if (oms_hash_init() != 0) {
        s_copyerr(err, cap, "libsodium failed to initialise");
        return OMS_ERR_INVALID;
    }

    evlog_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        s_copyerr(err, cap, "out of memory");
        return OMS_ERR_NOMEM;
    }
    self->notify_fd = -1;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv_work, NULL);
    pthread_cond_init(&self->cv_done, NULL);
    self->mode = o.mode;
    self->opts = s_make_options(&o);
    self->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(self->wopts, o.durability == EVLOG_SYNC);
    self->wopts_group = rocksdb_writeoptions_create();
    self->sync = o.durability == EVLOG_SYNC;
    self->pipeline_bytes = o.pipeline_bytes ? o.pipeline_bytes : EVLOG_PIPELINE_BYTES;
    self->ropts = rocksdb_readoptions_create();
    self->wb = rocksdb_writebatch_create();

    int rc = 0;
    bool exists = s_store_exists(path);
    if (!exists) {
        if (o.mode != EVLOG_MODE_WRITE || !o.create_if_missing) {
            s_seterr(self, "no store at %s", path);
            rc = OMS_ERR_NOT_FOUND;
        } else if (s_mkdirs(path) != 0) {
            s_seterr(self, "cannot create %s: %s", path, strerror(errno));
            rc = OMS_ERR_IO;
        } else if ((rc = s_open_db(self, path, &o, true)) == 0) {
            rc = s_write_initial_meta(self);
            if (rc == 0)
                rc = s_load_head(self, true);
        }
    } else {
        rc = s_check_families(path, self->opts, self->errmsg, sizeof self->errmsg);
        if (rc == 0 && o.mode == EVLOG_MODE_WRITE) {
            /* Check schema and head through a read-only open first, so that a store we refuse
             * is never opened for writing (no WAL recovery, flush or manifest change). */
            evlog_options_t ro = o;
            ro.mode = EVLOG_MODE_READ_ONLY;
            rc = s_open_db(self, path, &ro, false);
            if (rc == 0)
                rc = s_load_head(self, o.verify_tail_on_open);
            s_close_db(self);
        }
        if (rc == 0)
            rc = s_open_db(self, path, &o, false);
        if (rc == 0)
            rc = s_load_head(self, o.verify_tail_on_open);
        if (rc == OMS_ERR_HEAD_MISMATCH && o.allow_damaged && o.mode == EVLOG_MODE_READ_ONLY)
            rc = 0; /* head stays as recorded or zero; evlog_verify reports the damage */
    }
    if (rc == 0 && o.mode == EVLOG_MODE_WRITE)
        rc = s_start_pipeline(self);
    if (rc != 0) {
        s_copyerr(err, cap, self->errmsg);
        evlog_destroy(&self);
        return rc;
    }
    self->errmsg[0] = '\0';
    *out = self;
    return 0;
}

void evlog_destroy(evlog_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    evlog_t *self = *self_p;
    if (self->committer_started) {
        /* The committer finishes every queued batch before it stops. */
        pthread_mutex_lock(&self->mu);
        self->stopping = true;
        pthread_cond_signal(&self->cv_work);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->committer, NULL);
    }
    if (self->mode == EVLOG_MODE_WRITE && self->db && !self->commit_failed) {
        /* A clean close leaves nothing in the WAL, so the next open (the daemon's restart,
         * every reader's open) does not replay up to max_total_wal_size of it. Best effort: a
         * flush that fails loses nothing, the WAL still holds every batch. */
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        rocksdb_flushoptions_set_wait(fo, 1);
        for (int i = 0; i < EVLOG_CF_COUNT_; i++) {
            char *ferr = NULL;
            if (self->cf[i])
                rocksdb_flush_cf(self->db, fo, self->cf[i], &ferr);
            rocksdb_free(ferr);
        }
        rocksdb_flushoptions_destroy(fo);
    }
    for (int i = 0; i < EVLOG_PIPELINE_DEPTH; i++)
        if (self->slots[i].wb)
            rocksdb_writebatch_destroy(self->slots[i].wb);
    if (self->notify_fd >= 0)
        close(self->notify_fd);
    pthread_cond_destroy(&self->cv_done);
    pthread_cond_destroy(&self->cv_work);
    pthread_mutex_destroy(&self->mu);
    s_close_db(self);
    if (self->wb)
        rocksdb_writebatch_destroy(self->wb);
    if (self->ropts)
        rocksdb_readoptions_destroy(self->ropts);
    if (self->wopts)
        rocksdb_writeoptions_destroy(self->wopts);
    if (self->wopts_group)
        rocksdb_writeoptions_destroy(self->wopts_group);
    if (self->opts)
        rocksdb_options_destroy(self->opts);
    free(self->scratch);
    free(self->row_ord);
    free(self);
    *self_p = NULL;
}

const char *evlog_errmsg(const evlog_t *self)
{
    return self ? self->errmsg : "";
}

void evlog_head(const evlog_t *self, uint64_t *seq, oms_hash_t *hash)
{
    assert(self != NULL);
    if (self->mode == EVLOG_MODE_WRITE) {
        evlog_t *mut = (evlog_t *)self; /* the mutex only; the value is not changed */
        pthread_mutex_lock(&mut->mu);
        if (seq)
            *seq = self->durable_seq;
        if (hash)
            *hash = self->durable_hash;
        pthread_mutex_unlock(&mut->mu);
        return;
    }
    if (seq)
        *seq = self->head_seq;
    if (hash)
        *hash = self->head_hash;
}

int evlog_refresh(evlog_t *self)
{
    assert(self != NULL);
    if (self->mode != EVLOG_MODE_SECONDARY)
        return 0;
    char *rerr = NULL;
    rocksdb_try_catch_up_with_primary(self->db, &rerr);
    if (rerr) {
        s_seterr(self, "catching up with the writer: %s", rerr);
        rocksdb_free(rerr);
        return OMS_ERR_IO;
    }
    return s_load_head(self, false);
}

static size_t s_strlen_bounded(const char *s, size_t max)
{
    return s ? strnlen(s, max + 1) : 0;
}

/* Validates a batch against the limits before anything is written; 0 or an error. */
static int s_check_batch(evlog_t *self, const evlog_event_t *events, size_t n_events,
                         const evlog_row_t *rows, size_t n_rows, size_t *max_env, size_t *bytes)
{
    if (n_events == 0 && n_rows == 0) {
        s_seterr(self, "empty batch");
        return OMS_ERR_INVALID;
    }
    if ((n_events && events == NULL) || (n_rows && rows == NULL)) {
        s_seterr(self, "NULL events or rows with a non-zero count");
        return OMS_ERR_INVALID;
    }
    if (n_events > OMS_LIMIT_BATCH_EVENTS || n_rows > OMS_LIMIT_BATCH_ROWS) {
        s_seterr(self, "batch of %zu events and %zu rows is over the limits (%d, %d)", n_events,
                 n_rows, OMS_LIMIT_BATCH_EVENTS, OMS_LIMIT_BATCH_ROWS);
        return OMS_ERR_LIMIT;
    }
    size_t total = 0;
    *max_env = 0;
    for (size_t i = 0; i < n_events; i++) {
        const evlog_event_t *e = &events[i];
        size_t pl = s_strlen_bounded(e->principal, OMS_LIMIT_ID_LEN);
        size_t cl = s_strlen_bounded(e->command_id, OMS_LIMIT_ID_LEN);
        size_t ol = s_strlen_bounded(e->order_id, OMS_LIMIT_ID_LEN);
        if (pl > OMS_LIMIT_ID_LEN || cl > OMS_LIMIT_ID_LEN || ol > OMS_LIMIT_ID_LEN) {
            s_seterr(self, "event %zu: an id is longer than %d bytes", i, OMS_LIMIT_ID_LEN);
            return OMS_ERR_LIMIT;
        }
        if (e->body_len && e->body == NULL) {
            s_seterr(self, "event %zu: NULL body with length %zu", i, e->body_len);
            return OMS_ERR_INVALID;
        }
        size_t env = evlog_envelope_max_len(pl, cl, ol, e->body_len);
        if (e->body_len > OMS_LIMIT_EVENT_BYTES || env > OMS_LIMIT_EVENT_BYTES + 256) {
            s_seterr(self, "event %zu: body of %zu bytes is over the limit of %d", i, e->body_len,
                     OMS_LIMIT_EVENT_BYTES);
            return OMS_ERR_LIMIT;
        }
        if (env > *max_env)
            *max_env = env;
        total += env;
    }
    for (size_t i = 0; i < n_rows; i++) {
        const evlog_row_t *r = &rows[i];
        if (r->cf <= EVLOG_CF_EVENTS || r->cf >= EVLOG_CF_COUNT_) {
            s_seterr(self, "row %zu: column family %d is not writable by callers", i, (int)r->cf);
            return OMS_ERR_INVALID;
        }
        if (r->key == NULL || r->key_len == 0 || r->key_len > OMS_LIMIT_ROW_KEY_BYTES) {
            s_seterr(self, "row %zu: key length %zu outside 1..%d", i, r->key_len,
                     OMS_LIMIT_ROW_KEY_BYTES);
            return r->key_len > OMS_LIMIT_ROW_KEY_BYTES ? OMS_ERR_LIMIT : OMS_ERR_INVALID;
        }
        if (r->value_len > OMS_LIMIT_ROW_VALUE_BYTES || (r->value == NULL && r->value_len)) {
            s_seterr(self, "row %zu: value length %zu over %d or NULL", i, r->value_len,
                     OMS_LIMIT_ROW_VALUE_BYTES);
            return r->value_len > OMS_LIMIT_ROW_VALUE_BYTES ? OMS_ERR_LIMIT : OMS_ERR_INVALID;
        }
        if (r->cf == EVLOG_CF_META && r->key_len >= strlen(META_RESERVED_PREFIX) &&
            memcmp(r->key, META_RESERVED_PREFIX, strlen(META_RESERVED_PREFIX)) == 0) {
            s_seterr(self, "row %zu: meta keys starting with '%s' belong to the log", i,
                     META_RESERVED_PREFIX);
            return OMS_ERR_INVALID;
        }
        total += r->key_len + r->value_len;
    }
    if (total > (size_t)OMS_LIMIT_BATCH_BYTES) {
        s_seterr(self, "batch of %zu bytes is over the limit of %d", total, OMS_LIMIT_BATCH_BYTES);
        return OMS_ERR_LIMIT;
    }
    *bytes = total;
    return 0;
}

/* Empties a written slot's WriteBatch for reuse, or replaces it with a fresh one when a big
 * batch grew it beyond EVLOG_SLOT_KEEP_BYTES (clearing keeps the capacity). Called by whoever
 * owns the slot at that moment (the committer, or evlog_append's inline write). */
static void s_recycle_wb(evlog_slot_t *slot)
{
    size_t len = 0;
    (void)rocksdb_writebatch_data(slot->wb, &len);
    if (len > EVLOG_SLOT_KEEP_BYTES) {
        rocksdb_writebatch_destroy(slot->wb);
        slot->wb = rocksdb_writebatch_create();
    } else {
        rocksdb_writebatch_clear(slot->wb);
    }
}

/* Writes the queued batches with tickets [t0, t1) in ticket order, each as one RocksDB write
 * (so each stays atomic), paying the durability once for the group: with sync durability
 * every write but the last skips the sync, and the last one syncs the WAL, which makes the
 * whole group durable (fdatasync covers everything written to the file before it, and RocksDB
 * syncs every WAL file not yet synced, should the group span a WAL switch). Stops at the first
 * failure. Returns how many of the group are durable (all or, after a failure, none with sync
 * durability; with async durability those written before the failure) and leaves the first
 * failure's message in *rerr (RocksDB's, owned by the caller). Runs without the mutex: the
 * slots [t0, t1) belong to the committer until next_commit passes them. */
static uint64_t s_write_group(evlog_t *self, uint64_t t0, uint64_t t1, char **rerr)
{
    uint64_t t = t0;
    for (; t < t1 && *rerr == NULL; t++) {
        evlog_slot_t *slot = &self->slots[t % EVLOG_PIPELINE_DEPTH];
        rocksdb_write(self->db, t + 1 == t1 ? self->wopts : self->wopts_group, slot->wb, rerr);
    }
    if (*rerr == NULL)
        return t1 - t0;
    return self->sync ? 0 : t - 1 - t0; /* t - 1 is the write that failed */
}

/* The committer thread: writes queued batches in ticket order; with sync durability all
 * those queued when it looks as one group with one sync (group commit across the pipeline: a
 * batch submitted while a sync is under way waits for that sync and then for one more, never
 * for one sync per batch queued ahead of it), with async durability one batch at a time.
 * After a failure it fails every later batch without writing it, so the store stays a prefix
 * of what was submitted. Owns nothing; the slots it writes belong to it until next_commit
 * passes them. */
static void *s_committer(void *arg)
{
    evlog_t *self = arg;
    pthread_mutex_lock(&self->mu);
    for (;;) {
        while (!self->stopping && self->next_commit == self->next_ticket)
            pthread_cond_wait(&self->cv_work, &self->mu);
        if (self->next_commit == self->next_ticket && self->stopping)
            break;
        /* With sync durability every batch queued now shares one WAL sync. With async there
         * is no sync to share, so a batch is finished (its slot freed, its waiters woken) as
         * soon as it is written: held to the end of a group (2.3 batches on average in
         * oms-bench log async batch 512), the submitter would wait for the whole group before
         * staging the next batch and the committer would then sit idle until that batch was
         * staged, and a batch's waiters would wait for the batches queued behind it. */
        uint64_t t0 = self->next_commit, t1 = self->sync ? self->next_ticket : t0 + 1;
        bool skip = self->commit_failed;
        pthread_mutex_unlock(&self->mu);

        char *rerr = NULL;
        uint64_t ok = skip ? 0 : s_write_group(self, t0, t1, &rerr);
        size_t done_bytes = 0;
        for (uint64_t t = t0; t < t1; t++) {
            evlog_slot_t *slot = &self->slots[t % EVLOG_PIPELINE_DEPTH];
            s_recycle_wb(slot);
            done_bytes += slot->bytes;
        }

        pthread_mutex_lock(&self->mu);
        assert(self->inflight_bytes >= done_bytes);
        self->inflight_bytes -= done_bytes;
        if (!skip)
            self->groups_written++;
        if (ok) {
            const evlog_slot_t *last = &self->slots[(t0 + ok - 1) % EVLOG_PIPELINE_DEPTH];
            self->durable_seq = last->last_seq;
            self->durable_hash = last->last_hash;
            self->durable_ticket = t0 + ok;
        }
        if (skip || rerr) {
            self->commit_failed = true;
            const evlog_slot_t *bad = &self->slots[(t0 + ok) % EVLOG_PIPELINE_DEPTH];
            if (rerr && !self->commit_errmsg[0])
                snprintf(self->commit_errmsg, sizeof self->commit_errmsg,
                         "append of batches %llu..%llu (seqs %llu..) failed: %s",
                         (unsigned long long)(t0 + ok), (unsigned long long)(t1 - 1),
                         (unsigned long long)bad->first_seq, rerr);
        }
        rocksdb_free(rerr);
        self->next_commit = t1;
        pthread_cond_broadcast(&self->cv_done);
        pthread_mutex_unlock(&self->mu);
        /* Outside the mutex: the sequencer wakes on this and takes the mutex at once
         * (evlog_poll, evlog_head); waking it while we still hold the mutex would make it
         * sleep again on the lock. The counter keeps any number of signals. */
        if (self->notify_fd >= 0) {
            uint64_t one = 1;
            ssize_t w = write(self->notify_fd, &one, sizeof one);
            (void)w; /* an eventfd counter cannot fill up in practice; readers poll state */
        }
        pthread_mutex_lock(&self->mu);
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

static int s_grow_scratch(evlog_t *self, size_t need)
{
    if (need <= self->scratch_cap)
        return 0;
    size_t cap = self->scratch_cap ? self->scratch_cap : 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(self->scratch, cap);
    if (p == NULL) {
        s_seterr(self, "out of memory for a %zu-byte envelope", need);
        return OMS_ERR_NOMEM;
    }
    self->scratch = p;
    self->scratch_cap = cap;
    return 0;
}

static void s_stage(evlog_t *self, evlog_slot_t *slot, const evlog_event_t *events, size_t n_events,
                    const evlog_row_t *rows, size_t n_rows, uint64_t *first_seq);

/* Validates a batch and waits for a free slot; 0, or the error evlog_submit documents. */
static int s_admit(evlog_t *self, const evlog_event_t *events, size_t n_events,
                   const evlog_row_t *rows, size_t n_rows, bool *idle, size_t *bytes)
{
    assert(self != NULL);
    if (self->mode != EVLOG_MODE_WRITE) {
        s_seterr(self, "store is open read-only");
        return OMS_ERR_READ_ONLY;
    }
    size_t max_env = 0;
    int rc = s_check_batch(self, events, n_events, rows, n_rows, &max_env, bytes);
    if (rc)
        return rc;
    if ((rc = s_grow_scratch(self, EVLOG_HASH_CHUNK * max_env)) != 0)
        return rc;
    if (n_rows > self->row_ord_cap) { /* at most OMS_LIMIT_BATCH_ROWS (s_check_batch) */
        evlog_row_ord_t *o = realloc(self->row_ord, 2 * n_rows * sizeof *o);
        if (o == NULL) {
            s_seterr(self, "out of memory for the order of %zu rows", n_rows);
            return OMS_ERR_NOMEM;
        }
        self->row_ord = o;
        self->row_ord_cap = n_rows;
    }

    /* Wait for a free slot: at most EVLOG_PIPELINE_DEPTH batches and, unless the pipeline is
     * empty, EVLOG_PIPELINE_BYTES bytes are in flight. */
    pthread_mutex_lock(&self->mu);
    while (!self->commit_failed &&
           (self->next_ticket - self->next_commit >= EVLOG_PIPELINE_DEPTH ||
            (self->next_ticket != self->next_commit &&
             self->inflight_bytes + *bytes > self->pipeline_bytes)))
        pthread_cond_wait(&self->cv_done, &self->mu);
    bool failed = self->commit_failed;
    *idle = self->next_ticket == self->next_commit;
    pthread_mutex_unlock(&self->mu);
    if (failed) {
        pthread_mutex_lock(&self->mu);
        s_seterr(self, "%s; the handle refuses appends until the store is reopened",
                 self->commit_errmsg[0] ? self->commit_errmsg : "an earlier append failed");
        pthread_mutex_unlock(&self->mu);
        return OMS_ERR_IO;
    }
    return 0;
}

int evlog_submit(evlog_t *self, const evlog_event_t *events, size_t n_events,
                 const evlog_row_t *rows, size_t n_rows, uint64_t *ticket, uint64_t *first_seq)
{
    bool idle;
    size_t bytes;
    int rc = s_admit(self, events, n_events, rows, n_rows, &idle, &bytes);
    if (rc)
        return rc;
    uint64_t t = self->next_ticket;
    evlog_slot_t *slot = &self->slots[t % EVLOG_PIPELINE_DEPTH];
    s_stage(self, slot, events, n_events, rows, n_rows, first_seq);
    slot->bytes = bytes;
    pthread_mutex_lock(&self->mu);
    self->inflight_bytes += bytes;
    self->next_ticket = t + 1;
    pthread_cond_signal(&self->cv_work);
    pthread_mutex_unlock(&self->mu);
    if (ticket)
        *ticket = t;
    return 0;
}

/* Whether row a goes before row b: by family, then key (bytewise, RocksDB's order; a prefix
 * first), then the caller's order, which keeps two writes of one key in the order given. */
static bool s_row_before(const evlog_row_ord_t *a, const evlog_row_ord_t *b,
                         const evlog_row_t *rows)
{
    if (a->cf != b->cf)
        return a->cf < b->cf;
    if (a->head != b->head)
        return a->head < b->head;
    const evlog_row_t *ra = &rows[a->idx], *rb = &rows[b->idx];
    size_t n = ra->key_len < rb->key_len ? ra->key_len : rb->key_len;
    int c = memcmp(ra->key, rb->key, n);
    if (c != 0)
        return c < 0;
    if (ra->key_len != rb->key_len)
        return ra->key_len < rb->key_len;
    return a->idx < b->idx;
}

/* Fills ord[0, n) with the order in which s_stage puts the rows into the WriteBatch: sorted
 * by s_row_before (see ROW_INSERT_HINT for why). Writes of different keys commute and writes
 * of one key keep the caller's order, so the batch means the same. A bottom-up merge sort
 * (n log n comparisons at worst, no allocation): ord has room for 2n entries, the second half
 * is scratch. */
static void s_row_order(evlog_row_ord_t *ord, const evlog_row_t *rows, size_t n)
{
    if (n == 0)
        return; /* ord may be NULL: no row has needed it yet */
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8] = {0};
        memcpy(b, rows[i].key, rows[i].key_len < 8 ? rows[i].key_len : 8);
        ord[i] = (evlog_row_ord_t){oms_get_be64(b), (uint32_t)rows[i].cf, (uint32_t)i};
    }
    evlog_row_ord_t *src = ord, *dst = ord + n;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                dst[k++] = s_row_before(&src[b], &src[a], rows) ? src[b++] : src[a++];
            while (a < mid)
                dst[k++] = src[a++];
            while (b < hi)
                dst[k++] = src[b++];
        }
        evlog_row_ord_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != ord)
        memcpy(ord, src, n * sizeof *ord);
}

/* Encodes, chains and puts a validated batch into slot's WriteBatch and advances the staged
 * head. Only the submitting thread touches a free slot, the staged head and the scratch (room
 * for EVLOG_HASH_CHUNK envelopes of the batch's largest size, see s_admit) and row_ord.
 *
 * EVLOG_HASH_CHUNK events at a time: their heads (everything before prev_hash) are encoded side
 * by side and their whole blocks hashed at once (oms_hash_absorb_many, SIMD lanes), then each
 * is closed in seq order with the previous envelope's hash, which only the last block or two
 * of each envelope need. The rows follow in s_row_order's order. */
static void s_stage(evlog_t *self, evlog_slot_t *slot, const evlog_event_t *events, size_t n_events,
                    const evlog_row_t *rows, size_t n_rows, uint64_t *first_seq)
{
    rocksdb_writebatch_t *wb = slot->wb;
    uint64_t seq = self->staged_seq;
    oms_hash_t hash = self->staged_hash;
    size_t stride = self->scratch_cap / EVLOG_HASH_CHUNK;
    for (size_t c = 0; c < n_events; c += EVLOG_HASH_CHUNK) {
        size_t k = n_events - c < EVLOG_HASH_CHUNK ? n_events - c : EVLOG_HASH_CHUNK;
        const uint8_t *msg[EVLOG_HASH_CHUNK];
        uint32_t nblk[EVLOG_HASH_CHUNK];
        size_t head[EVLOG_HASH_CHUNK];
        oms_hash_mid_t mid[EVLOG_HASH_CHUNK];
        for (size_t j = 0; j < k; j++) {
            const evlog_event_t *e = &events[c + j];
            uint8_t *out = self->scratch + j * stride;
            head[j] = evlog_envelope_encode_head(
                out, seq + 1 + j, e, s_strlen_bounded(e->principal, OMS_LIMIT_ID_LEN),
                s_strlen_bounded(e->command_id, OMS_LIMIT_ID_LEN),
                s_strlen_bounded(e->order_id, OMS_LIMIT_ID_LEN));
            msg[j] = out;
            nblk[j] = (uint32_t)(head[j] / 128); /* the blocks before prev_hash's first byte */
        }
        oms_hash_absorb_many(msg, nblk, k, mid);
        for (size_t j = 0; j < k; j++) {
            seq++;
            oms_hash_t prev = hash;
            uint8_t *out = self->scratch + j * stride;
            size_t n = evlog_envelope_close(out, head[j], &mid[j], &prev, &hash);
            assert(n <= stride);
            uint8_t key[8];
            oms_put_be64(key, seq);
            rocksdb_writebatch_put_cf(wb, self->cf[EVLOG_CF_EVENTS], (const char *)key, 8,
                                      (const char *)out, n);
        }
    }
    s_row_order(self->row_ord, rows, n_rows);
    for (size_t i = 0; i < n_rows; i++) {
        const evlog_row_t *r = &rows[self->row_ord[i].idx];
        if (r->value)
            rocksdb_writebatch_put_cf(wb, self->cf[r->cf], (const char *)r->key, r->key_len,
                                      (const char *)r->value, r->value_len);
        else
            rocksdb_writebatch_delete_cf(wb, self->cf[r->cf], (const char *)r->key, r->key_len);
    }
    if (n_events) {
        uint8_t head[HEAD_VALUE_LEN];
        oms_put_be64(head, seq);
        memcpy(head + 8, hash.bytes, OMS_HASH_LEN);
        rocksdb_writebatch_put_cf(wb, self->cf[EVLOG_CF_META], META_HEAD_KEY, strlen(META_HEAD_KEY),
                                  (const char *)head, sizeof head);
    }
    slot->first_seq = self->staged_seq + 1;
    slot->last_seq = seq;
    slot->last_hash = hash;
    if (first_seq)
        *first_seq = self->staged_seq + 1;
    self->staged_seq = seq;
    self->staged_hash = hash;
}

int evlog_wait(evlog_t *self, uint64_t ticket)
{
    assert(self != NULL);
    pthread_mutex_lock(&self->mu);
    assert(ticket < self->next_ticket);
    while (self->next_commit <= ticket)
        pthread_cond_wait(&self->cv_done, &self->mu);
    int rc = self->durable_ticket > ticket ? 0 : OMS_ERR_IO;
    if (rc)
        s_seterr(self, "%s", self->commit_errmsg[0] ? self->commit_errmsg : "append failed");
    pthread_mutex_unlock(&self->mu);
    return rc;
}

void evlog_commit_counts(evlog_t *self, uint64_t *batches, uint64_t *groups)
{
    assert(self != NULL);
    pthread_mutex_lock(&self->mu);
    if (batches)
        *batches = self->mode == EVLOG_MODE_WRITE ? self->next_commit : 0;
    if (groups)
        *groups = self->groups_written;
    pthread_mutex_unlock(&self->mu);
}

void evlog_inflight(evlog_t *self, uint64_t *batches, size_t *bytes)
{
    assert(self != NULL);
    pthread_mutex_lock(&self->mu);
    if (batches)
        *batches = self->next_ticket - self->next_commit;
    if (bytes)
        *bytes = self->inflight_bytes;
    pthread_mutex_unlock(&self->mu);
}

int evlog_poll(evlog_t *self, uint64_t *durable_tickets)
{
    assert(self != NULL);
    pthread_mutex_lock(&self->mu);
    if (durable_tickets)
        *durable_tickets = self->durable_ticket;
    int rc = self->commit_failed ? OMS_ERR_IO : 0;
    pthread_mutex_unlock(&self->mu);
    return rc;
}

int evlog_notify_fd(const evlog_t *self)
{
    return self->notify_fd;
}

int evlog_append(evlog_t *self, const evlog_event_t *events, size_t n_events,
                 const evlog_row_t *rows, size_t n_rows, uint64_t *first_seq)
{
    bool idle;
    size_t bytes;
    int rc = s_admit(self, events, n_events, rows, n_rows, &idle, &bytes);
    if (rc)
        return rc;
    if (!idle) {
        /* Batches are in flight: queue behind them to keep the order. */
        uint64_t ticket;
        rc = evlog_submit(self, events, n_events, rows, n_rows, &ticket, first_seq);
        return rc ? rc : evlog_wait(self, ticket);
    }
    /* The pipeline is empty, so the committer is idle: write on this thread and spare the
     * two thread hand-offs (they cost more than a small async write). The ticket is taken
     * and completed under the mutex so evlog_poll and later submits see the same sequence. */
    uint64_t t = self->next_ticket;
    evlog_slot_t *slot = &self->slots[t % EVLOG_PIPELINE_DEPTH];
    s_stage(self, slot, events, n_events, rows, n_rows, first_seq);
    char *rerr = NULL;
    rocksdb_write(self->db, self->wopts, slot->wb, &rerr);
    s_recycle_wb(slot);
    pthread_mutex_lock(&self->mu);
    self->next_ticket = t + 1;
    self->next_commit = t + 1;
    self->groups_written++;
    if (rerr) {
        self->commit_failed = true;
        snprintf(self->commit_errmsg, sizeof self->commit_errmsg,
                 "append of seqs %llu..%llu failed: %s", (unsigned long long)slot->first_seq,
                 (unsigned long long)slot->last_seq, rerr);
        s_seterr(self, "%s", self->commit_errmsg);
        rc = OMS_ERR_IO;
    } else {
        self->durable_seq = slot->last_seq;
        self->durable_hash = slot->last_hash;
        self->durable_ticket = t + 1;
    }
    pthread_cond_broadcast(&self->cv_done);
    pthread_mutex_unlock(&self->mu);
    rocksdb_free(rerr);
    return rc;
}

static int s_get(evlog_t *self, rocksdb_column_family_handle_t *cf, const char *key, size_t key_len,
                 uint8_t **value, size_t *len)
{
    s_no_perf_counts();
    char *rerr = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(self->db, self->ropts, cf, key, key_len, &vl, &rerr);
    if (rerr) {
        s_seterr(self, "read failed: %s", rerr);
        rocksdb_free(rerr);
        return OMS_ERR_IO;
    }
    if (v == NULL)
        return OMS_ERR_NOT_FOUND;
    *value = (uint8_t *)v;
    *len = vl;
    return 0;
}

int evlog_get(evlog_t *self, uint64_t seq, uint8_t **value, size_t *len)
{
    assert(self != NULL && value != NULL && len != NULL);
    uint8_t key[8];
    oms_put_be64(key, seq);
    return s_get(self, self->cf[EVLOG_CF_EVENTS], (const char *)key, 8, value, len);
}

int evlog_row_get(evlog_t *self, evlog_cf_t cf, const uint8_t *key, size_t key_len, uint8_t **value,
                  size_t *len)
{
    assert(self != NULL && value != NULL && len != NULL);
    if (cf < 0 || cf >= EVLOG_CF_COUNT_)
        return OMS_ERR_INVALID;
    return s_get(self, self->cf[cf], (const char *)key, key_len, value, len);
}

void evlog_free(void *p)
{
    if (p)
        rocksdb_free(p);
}

/* Readahead of the bulk scans. The events iterator (evlog_iter_*) reads one family in seq
 * order: 256 KiB to 2 MiB were the fastest, 0 (RocksDB's own) 20% slower. A whole-family scan
 * of rows merges several overlapping files, each with its own buffer, and the comparison of a
 * verify opens a scan per key range: 512 KiB took its row phase from 0.161 to 0.155 s on the
 * 1M-event store (the 2 MiB buffers were fresh memory, faulted in page by page). */
#define SCAN_READAHEAD_EVENTS (2u << 20)
#define SCAN_READAHEAD_ROWS   (512u << 10)

/* Read options of a bulk scan: no block cache fill, readahead bytes ahead. */
static rocksdb_readoptions_t *s_scan_ropts(size_t readahead)
{
    rocksdb_readoptions_t *r = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(r, 0);
    rocksdb_readoptions_set_readahead_size(r, readahead);
    return r;
}

/* The scans' one loop: from seek (or the first key), while the key has the prefix (if any) and
 * is below hi (if any). */
static int s_scan(evlog_t *self, evlog_cf_t cf, const uint8_t *seek, size_t seek_len,
                  const uint8_t *prefix, size_t prefix_len, const uint8_t *hi, size_t hi_len,
                  int (*fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                            size_t value_len),
                  void *ctx)
{
    assert(self != NULL && fn != NULL);
    if (cf < 0 || cf >= EVLOG_CF_COUNT_)
        return OMS_ERR_INVALID;
    /* A scan of a whole family or key kind (prefix of at most one byte) reads ahead
     * (SCAN_READAHEAD_ROWS) and keeps its blocks out of the cache; a scan of one id's rows (an
     * order's executions or allocations) is a few rows: RocksDB's own readahead, which starts
     * small. With a 2 MiB readahead each such scan read 2 MiB from its SST file (11 s for
     * 10,000 orders loaded). */
    s_no_perf_counts();
    rocksdb_readoptions_t *r =
        prefix_len > 1 ? rocksdb_readoptions_create() : s_scan_ropts(SCAN_READAHEAD_ROWS);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(self->db, r, self->cf[cf]);
    if (seek_len)
        rocksdb_iter_seek(it, (const char *)seek, seek_len);
    else
        rocksdb_iter_seek_to_first(it);
    int rc = 0;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (prefix_len && (kl < prefix_len || memcmp(k, prefix, prefix_len) != 0))
            break;
        if (hi) {
            size_t n = kl < hi_len ? kl : hi_len;
            int c = memcmp(k, hi, n);
            if (c > 0 || (c == 0 && kl >= hi_len))
                break;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        rc = fn(ctx, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
        if (rc)
            break;
    }
    if (rc == 0) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) {
            /* Under the mutex: evlog_scan_range may run on several threads of one handle, and
             * two failing at once must not write errmsg together. */
            pthread_mutex_lock(&self->mu);
            s_seterr(self, "scan of %s failed: %s", s_cf_names[cf], rerr);
            pthread_mutex_unlock(&self->mu);
            rocksdb_free(rerr);
            rc = OMS_ERR_IO;
        }
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(r);
    return rc;
}

int evlog_scan(evlog_t *self, evlog_cf_t cf, const uint8_t *prefix, size_t prefix_len,
               int (*fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len),
               void *ctx)
{
    return s_scan(self, cf, prefix, prefix_len, prefix, prefix_len, NULL, 0, fn, ctx);
}

int evlog_scan_range(evlog_t *self, evlog_cf_t cf, const uint8_t *lo, size_t lo_len,
                     const uint8_t *hi, size_t hi_len,
                     int (*fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                               size_t value_len),
                     void *ctx)
{
    return s_scan(self, cf, lo, lo ? lo_len : 0, NULL, 0, hi, hi_len, fn, ctx);
}

int evlog_iter_new(evlog_t *self, uint64_t from_seq, evlog_iter_t **out)
{
    assert(self != NULL && out != NULL);
    evlog_iter_t *it = calloc(1, sizeof *it);
    if (it == NULL)
        return OMS_ERR_NOMEM;
    s_no_perf_counts();
    it->ropts = s_scan_ropts(SCAN_READAHEAD_EVENTS);
    it->it = rocksdb_create_iterator_cf(self->db, it->ropts, self->cf[EVLOG_CF_EVENTS]);
    uint8_t key[8];
    oms_put_be64(key, from_seq);
    rocksdb_iter_seek(it->it, (const char *)key, 8);
    *out = it;
    return 0;
}

int evlog_iter_next(evlog_iter_t *it, uint64_t *seq, const uint8_t **value, size_t *len)
{
    assert(it != NULL);
    if (it->started)
        rocksdb_iter_next(it->it);
    it->started = true;
    if (!rocksdb_iter_valid(it->it)) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it->it, &rerr);
        if (rerr) {
            rocksdb_free(rerr);
            return OMS_ERR_IO;
        }
        return 0;
    }
    size_t kl = 0, vl = 0;
    const char *k = rocksdb_iter_key(it->it, &kl);
    if (kl != 8)
        return OMS_ERR_CORRUPT;
    *seq = oms_get_be64((const uint8_t *)k);
    *value = (const uint8_t *)rocksdb_iter_value(it->it, &vl);
    *len = vl;
    return 1;
}

void evlog_iter_destroy(evlog_iter_t **it_p)
{
    if (it_p == NULL || *it_p == NULL)
        return;
    evlog_iter_t *it = *it_p;
    rocksdb_iter_destroy(it->it);
    rocksdb_readoptions_destroy(it->ropts);
    free(it);
    *it_p = NULL;
}

static void s_bad(evlog_verify_t *rep, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_bad(evlog_verify_t *rep, uint64_t seq, const char *fmt, ...)
{
    rep->ok = false;
    rep->first_bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof rep->reason, fmt, ap);
    va_end(ap);
}

int evlog_verify(evlog_t *self, evlog_verify_t *rep, void (*progress)(void *ctx, uint64_t done),
                 void *ctx)
{
    assert(self != NULL && rep != NULL);
    memset(rep, 0, sizeof *rep);
    if (self->mode == EVLOG_MODE_WRITE) {
        /* Let in-flight batches land so the head row and the events are read at one point. */
        pthread_mutex_lock(&self->mu);
        uint64_t last = self->next_ticket;
        pthread_mutex_unlock(&self->mu);
        if (last > 0)
            (void)evlog_wait(self, last - 1);
    }
    /* The recorded head as stored now (a secondary may have refreshed since). */
    char *hv = NULL;
    size_t hl = 0;
    int rc = s_get_meta(self, META_HEAD_KEY, &hv, &hl);
    if (rc == OMS_ERR_IO)
        return rc;
    if (rc == 0 && hl == HEAD_VALUE_LEN) {
        rep->head_seq = oms_get_be64((uint8_t *)hv);
        memcpy(rep->head_hash.bytes, hv + 8, OMS_HASH_LEN);
    }
    bool head_ok = rc == 0 && hl == HEAD_VALUE_LEN;
    evlog_free(hv);

    evlog_iter_t *it = NULL;
    rc = evlog_iter_new(self, 1, &it);
    if (rc)
        return rc;
    oms_hash_t prev = {{0}};
    uint64_t expect = 1;
    rep->ok = true;
    for (;;) {
        uint64_t seq;
        const uint8_t *v;
        size_t len;
        int r = evlog_iter_next(it, &seq, &v, &len);
        if (r == 0)
            break;
        if (r == OMS_ERR_IO) {
            evlog_iter_destroy(&it);
            s_seterr(self, "read error while verifying at seq %llu", (unsigned long long)expect);
            return OMS_ERR_IO;
        }
        if (r == OMS_ERR_CORRUPT) {
            s_bad(rep, expect, "seq %llu: the events family holds a malformed key",
                  (unsigned long long)expect);
            break;
        }
        if (seq != expect) {
            s_bad(rep, expect, "seq %llu is missing (next stored event is seq %llu)",
                  (unsigned long long)expect, (unsigned long long)seq);
            break;
        }
        if (evlog_record_check(v, len, expect, &prev, &prev, rep->reason, sizeof rep->reason) !=
            0) {
            rep->ok = false;
            rep->first_bad_seq = expect;
            break;
        }
        rep->events++;
        expect++;
        if (progress && (rep->events & ((1u << 20) - 1)) == 0)
            progress(ctx, rep->events);
    }
    evlog_iter_destroy(&it);
    if (!rep->ok)
        return 0;
    if (!head_ok) {
        s_bad(rep, expect, "the recorded head is missing or malformed");
    } else if (rep->head_seq != rep->events) {
        if (rep->head_seq > rep->events)
            s_bad(rep, expect, "log ends at seq %llu but the recorded head is seq %llu",
                  (unsigned long long)rep->events, (unsigned long long)rep->head_seq);
        else
            s_bad(rep, rep->head_seq + 1,
                  "log continues to seq %llu past the recorded head seq %llu",
                  (unsigned long long)rep->events, (unsigned long long)rep->head_seq);
    } else if (!oms_hash_equal(&prev, &rep->head_hash)) {
        s_bad(rep, rep->head_seq ? rep->head_seq : 1,
              "the recorded head hash differs from the last event's hash");
    }
    return 0;
}

int evlog_checkpoint(evlog_t *self, const char *dir)
{
    assert(self != NULL && dir != NULL);
    struct stat st;
    if (stat(dir, &st) == 0) {
        s_seterr(self, "checkpoint directory %s already exists", dir);
        return OMS_ERR_EXISTS;
    }
    char *rerr = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(self->db, &rerr);
    if (rerr == NULL)
        rocksdb_checkpoint_create(cp, dir, 0, &rerr);
    if (cp)
        rocksdb_checkpoint_object_destroy(cp);
    if (rerr) {
        s_seterr(self, "checkpoint into %s failed: %s", dir, rerr);
        rocksdb_free(rerr);
        return OMS_ERR_IO;
    }
    return 0;
}
