/*
 * proj_internal.h - the projections' own machinery (not part of the interface): chunked tables
 * of fixed-size records with a hash index on a string key, and the batch journal.
 */
#ifndef OMS_PROJ_INTERNAL_H
#define OMS_PROJ_INTERNAL_H

#include "projections.h"

#include <string.h>

#define TBL_CHUNK_SHIFT 12
#define TBL_CHUNK       (1u << TBL_CHUNK_SHIFT) /* records per chunk */
#define TBL_KEY_CAP     (3 * OMS_ID_CAP + 4)    /* composite keys: up to three ids and separators */

/* An append-only store of byte strings in blocks that never move (pointers into it stay valid):
 * the state's text store (blocks of TEXT_BLOCK) and each table's overflow keys (TBL_OVF_BLOCK).
 * `used` is block * block size + offset; a rollback sets it back (the blocks are kept for
 * reuse). */
#define TEXT_BLOCK (256u * 1024u)
typedef struct {
    char **blocks;     /* the blocks */
    uint32_t n_blocks; /* allocated */
    uint32_t cap;      /* capacity of blocks */
    uint64_t used;     /* position of the next string */
} text_store_t;

/* Key storage: every record has a key slot of key_inl bytes in its chunk's key array. A key
 * shorter than the slot is kept in it, NUL-terminated, and the slot's last byte is 0; a longer
 * one goes to the table's overflow store (blocks of TBL_OVF_BLOCK bytes that never move), and
 * the slot holds its address, store position (8 bytes each) and length (4), with the last byte
 * 1. Ids are usually far shorter than their limit (OMS_LIMIT_ID_LEN), so slots sized for the
 * limit were most of the key memory: 130 bytes for an execution's key of about 15. */
#define TBL_OVF_BLOCK (64u * 1024u)

/* One table. Records live in chunks that never move; the index is found by linear probing on
 * the key's hash (see slots). */
typedef struct {
    size_t rec_size;     /* bytes of one record */
    size_t key_cap;      /* longest key + NUL the table takes, at most TBL_KEY_CAP */
    size_t key_inl;      /* bytes of one key slot (see "Key storage"), at most key_cap */
    uint32_t max;        /* capacity limit */
    uint32_t n;          /* records in use */
    uint8_t **chunks;    /* chunk pointers */
    uint32_t n_chunks;   /* allocated chunks */
    uint32_t chunks_cap; /* capacity of the chunks array */
    char **keys;         /* per chunk: key_inl bytes of key slot per record */
    text_store_t ovf;    /* the keys too long for a slot (blocks of TBL_OVF_BLOCK) */
    uint32_t *epoch;     /* per record: the batch epoch that last journaled it (grown with n) */
    uint32_t epoch_cap;  /* capacity of epoch */
    uint64_t *slots;     /* the index: (high 32 bits of the key's hash) << 32 | (record + 1);
                            0 = empty. The home slot is those hash bits & (n_slots - 1), so a
                            probe reads one array and compares keys only on a hash match */
    uint32_t n_slots;    /* power of two, at most 2^32 */
    uint32_t n_at_begin; /* records before the batch's first insert (proj_note_insert)... */
    uint32_t begin_epoch; /* ...valid when this is the batch's epoch_at_begin (0: never) */
    uint32_t prefault;   /* tbl_reserve's hint: chunks holding records below it are faulted in
                            whole when allocated (0 = none: the daemon's tables) */
} tbl_t;

/* key_inl: the key slot's size (more than 20 bytes, at most key_cap). */
int tbl_init(tbl_t *t, size_t rec_size, uint32_t max, size_t key_cap, size_t key_inl);
void tbl_free(tbl_t *t);
void *tbl_rec(const tbl_t *t, uint32_t idx);
const char *tbl_key(const tbl_t *t, uint32_t idx);
/* Index of the record with this key, or PROJ_NIL. */
uint32_t tbl_find(const tbl_t *t, const char *key, size_t klen);
/* Appends a zeroed record with this key (which must be absent). PROJ_NIL when full / no memory. */
uint32_t tbl_add(tbl_t *t, const char *key, size_t klen);
/* Removes records idx >= n (newest first) from the index and the table. */
void tbl_truncate(tbl_t *t, uint32_t n);
/* Capacity hint: sizes the index, the chunk list and the per-record array for n records (at
 * most max) at once, and has the chunks that will hold them faulted in whole when allocated.
 * Changes no lookup's result. 0, or OMS_ERR_NOMEM with the table as it was (still valid). */
int tbl_reserve(tbl_t *t, uint32_t n);

/* Journal entry: a record's bytes before the batch first touched it. */
typedef struct {
    uint8_t table;       /* proj_table_t */
    uint32_t idx;        /* record index */
    uint32_t prev_epoch; /* the record's epoch before this entry (restored by a rollback to a
                            savepoint; below epoch_at_begin = the batch's first touch) */
    size_t off;          /* offset of the saved bytes in the journal buffer; SIZE_MAX if created */
} jrnl_entry_t;

struct proj_state {
    uint32_t n_limits[4];                   /* limits records per oms_limit_scope_t (a new
                                               order's checks skip scopes that have none) */
    text_store_t text;                      /* order texts (see projections.h), blocks of
                                               TEXT_BLOCK */
    uint64_t text_at_begin;                 /* text.used at proj_begin */
    tbl_t t[PROJ_T_COUNT_];                 /* the tables */
    bool in_batch;                          /* between begin and commit/rollback */
    uint32_t epoch;                         /* current epoch (starts at 1; a new one per
                                               batch and per savepoint) */
    uint32_t epoch_at_begin;                /* epoch at proj_begin: records whose epoch is at
                                               least this were touched in the batch */
    jrnl_entry_t *jrnl;                     /* journal entries */
    uint32_t n_jrnl, jrnl_cap;              /* count and capacity */
    uint8_t *jbuf;                          /* saved record bytes */
    size_t jbuf_used, jbuf_cap;             /* used and capacity */
    char trade_date[OMS_DATE_CAP];          /* last EndOfDay processed ("" before the first) */
    char trade_date_at_begin[OMS_DATE_CAP]; /* as at proj_begin, saved for rollback by the
                                               batch's first change (valid while dirty) */
    uint64_t trade_date_seq;                /* seq of the EndOfDayProcessed that set it */
    uint64_t trade_date_seq_at_begin;       /* saved with trade_date_at_begin */
    bool trade_date_dirty;                  /* changed in this batch */
};

/* Marks a record as changed in this batch: journals its old bytes on first touch. Returns the
 * record for writing, or NULL when the journal cannot grow (OMS_ERR_NOMEM). */
void *proj_touch(proj_state_t *st, proj_table_t t, uint32_t idx);
/* A copy of s (at most OMS_LIMIT_TEXT_LEN bytes kept; NULL = "") in the state's text store, or
 * a static "" for "" (nothing stored). Sets *rc to OMS_ERR_NOMEM and returns "" when the store
 * cannot grow; *rc is left alone otherwise. The copy lives until a rollback past this point or
 * the state's end. */
const char *proj_text_dup(proj_state_t *st, const char *s, int *rc);
/* Sets a string field of a record being written (journaled) to s: nothing when it already
 * holds s, else a copy in the text store. 0 or OMS_ERR_NOMEM (field unchanged). */
int proj_set_str(proj_state_t *st, const char **field, const char *s);
/* Counts limits record idx (just added: +1; about to be removed: -1) in st->n_limits, by the
 * scope its key starts with. */
void proj_count_limits(proj_state_t *st, uint32_t idx, int delta);
/* Notes, before a record is inserted into table t, where the table ended at proj_begin (the
 * rollback truncates it there): kept on the batch's first insert, so that proj_begin has
 * nothing to do per table. Every tbl_add in a batch (proj_create, the loaders) comes after it. */
static inline void proj_note_insert(proj_state_t *st, proj_table_t t)
{
    tbl_t *tb = &st->t[t];
    if (st->in_batch && tb->begin_epoch != st->epoch_at_begin) {
        tb->n_at_begin = tb->n;
        tb->begin_epoch = st->epoch_at_begin;
    }
}
/* Creates a record (journaled as created). PROJ_NIL when the table is full. */
uint32_t proj_create(proj_state_t *st, proj_table_t t, const char *key, size_t klen);

/* Composite keys: joins parts with 0x1f (unit separator, never in an id) into out (at least
 * TBL_KEY_CAP bytes); parts longer than OMS_LIMIT_ID_LEN are cut. Returns the length. Inline:
 * a command builds a dozen of them. */
static inline size_t proj_key2(char *out, const char *a, const char *b)
{
    size_t la = strnlen(a, OMS_ID_CAP - 1), lb = strnlen(b, OMS_ID_CAP - 1);
    memcpy(out, a, la);
    out[la] = 0x1f;
    memcpy(out + la + 1, b, lb);
    out[la + 1 + lb] = '\0';
    return la + 1 + lb;
}

/* An execution's exec id without a copy: the tail of its table key (venue 0x1f exec id), which
 * never moves. xi is the execution, klen its key's length, exec_id the id it was keyed by. */
static inline const char *proj_exec_id_in_key(const proj_state_t *st, uint32_t xi, size_t klen,
                                              const char *exec_id)
{
    return tbl_key(&st->t[PROJ_T_EXEC], xi) + (klen - strnlen(exec_id, OMS_ID_CAP - 1));
}

static inline size_t proj_key3(char *out, const char *a, const char *b, const char *c)
{
    size_t n = proj_key2(out, a, b);
    size_t lc = strnlen(c, OMS_ID_CAP - 1);
    out[n] = 0x1f;
    memcpy(out + n + 1, c, lc);
    out[n + 1 + lc] = '\0';
    return n + 1 + lc;
}

#endif
