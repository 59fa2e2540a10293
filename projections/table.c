/*
 * table.c - chunked record tables with a string-key hash index, the batch journal, and the
 * state's lookups. Records never move (chunks are allocated once and kept), so pointers handed
 * to handlers stay valid; the index is open addressing with linear probing, rebuilt at twice
 * the size when it passes 50% load, and shrunk by backward-shift deletion when a rolled-back
 * batch removes the records it created.
 *
 * Load: every handler lookup and every projection update goes through tbl_find, so it hashes
 * eight bytes at a time (oms_hash64) and keeps 32 bits of the hash next to the record number
 * in one slot array: a probe touches one cache line and compares keys only on a hash match.
 */
#include "proj_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The hash bits the index keeps: the high half of oms_hash64. */
static uint32_t s_hash(const char *k, size_t n)
{
    return (uint32_t)(oms_hash64(k, n) >> 32);
}

/* The index slot of record idx whose key hashes to h (never 0). */
static uint64_t s_slot(uint32_t h, uint32_t idx)
{
    return (uint64_t)h << 32 | (uint64_t)(idx + 1);
}

int tbl_init(tbl_t *t, size_t rec_size, uint32_t max, size_t key_cap, size_t key_inl)
{
    assert(key_cap > 0 && key_cap <= TBL_KEY_CAP);
    assert(key_inl > 2 * sizeof(uint64_t) + sizeof(uint32_t) && key_inl <= key_cap);
    memset(t, 0, sizeof *t);
    t->rec_size = rec_size;
    t->key_cap = key_cap;
    t->key_inl = key_inl;
    t->max = max;
    t->n_slots = 64;
    t->slots = calloc(t->n_slots, sizeof *t->slots);
    return t->slots ? 0 : OMS_ERR_NOMEM;
}

void tbl_free(tbl_t *t)
{
    for (uint32_t c = 0; c < t->n_chunks; c++) {
        free(t->chunks[c]);
        free(t->keys[c]);
    }
    free(t->chunks);
    free(t->keys);
    for (uint32_t b = 0; b < t->ovf.n_blocks; b++)
        free(t->ovf.blocks[b]);
    free(t->ovf.blocks);
    free(t->epoch);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

void *tbl_rec(const tbl_t *t, uint32_t idx)
{
    assert(idx < t->n);
    return t->chunks[idx >> TBL_CHUNK_SHIFT] + (size_t)(idx & (TBL_CHUNK - 1)) * t->rec_size;
}

/* Record idx's key slot (see "Key storage" in proj_internal.h). */
static inline const char *s_kslot(const tbl_t *t, uint32_t idx)
{
    return t->keys[idx >> TBL_CHUNK_SHIFT] + (size_t)(idx & (TBL_CHUNK - 1)) * t->key_inl;
}

/* True when slot s holds an overflow key's address instead of the key. */
static inline bool s_is_ovf(const tbl_t *t, const char *s)
{
    return s[t->key_inl - 1] != 0;
}

/* The overflow key a slot points to. */
static inline const char *s_ovf_key(const char *s)
{
    const char *p;
    memcpy(&p, s, sizeof p);
    return p;
}

const char *tbl_key(const tbl_t *t, uint32_t idx)
{
    assert(idx < t->n);
    const char *s = s_kslot(t, idx);
    return s_is_ovf(t, s) ? s_ovf_key(s) : s;
}

/* True when the stored key k (NUL-terminated in its slot) is key[klen]. Inline, eight bytes at
 * a time: keys are short (ids of about ten bytes, two joined), and every lookup ends in one
 * such comparison, where a libc call costs more than the bytes. Reads only key[0, klen) and
 * k[0, klen]. */
static inline bool s_key_eq(const char *k, const char *key, size_t klen)
{
    size_t i = 0;
    for (; i + 8 <= klen; i += 8) {
        uint64_t a, b;
        memcpy(&a, k + i, 8);
        memcpy(&b, key + i, 8);
        if (a != b)
            return false;
    }
    for (; i < klen; i++)
        if (k[i] != key[i])
            return false;
    return k[klen] == '\0';
}

/* True when record idx's key is key[klen]. A key that fits a slot is only ever kept in one,
 * and a longer one only in the overflow store, so the length decides which to read. */
static inline bool s_rec_key_eq(const tbl_t *t, uint32_t idx, const char *key, size_t klen)
{
    const char *s = s_kslot(t, idx);
    if (klen < t->key_inl)
        return !s_is_ovf(t, s) && s_key_eq(s, key, klen);
    if (!s_is_ovf(t, s))
        return false;
    uint32_t len; /* an overflow key's length: its bytes end there */
    memcpy(&len, s + 2 * sizeof(uint64_t), sizeof len);
    return len == klen && memcmp(s_ovf_key(s), key, klen) == 0;
}

uint32_t tbl_find(const tbl_t *t, const char *key, size_t klen)
{
    if (klen >= t->key_cap)
        return PROJ_NIL;
    uint32_t h = s_hash(key, klen);
    uint32_t mask = t->n_slots - 1;
    for (uint32_t i = h & mask, probes = 0; probes < t->n_slots; i = (i + 1) & mask, probes++) {
        uint64_t s = t->slots[i];
        if (s == 0)
            return PROJ_NIL;
        if ((uint32_t)(s >> 32) == h) {
            uint32_t idx = (uint32_t)s - 1;
            if (s_rec_key_eq(t, idx, key, klen))
                return idx;
        }
    }
    return PROJ_NIL;
}

/* The two stages of proj_prefetch_* for a key that hashes to h: a hint only, cannot fail,
 * changes nothing. Always inline: GCC (12) finds a function of loads and prefetches that
 * returns nothing pure, and drops every call to it, hints included. */
static inline __attribute__((always_inline)) void s_prefetch_h(const tbl_t *tb, uint32_t h,
                                                               int stage)
{
    uint32_t i = h & (tb->n_slots - 1);
    if (stage == 1) {
        __builtin_prefetch(&tb->slots[i]);
        return;
    }
    uint64_t s = tb->slots[i];
    if (s == 0 || (uint32_t)(s >> 32) != h)
        return; /* absent (or further along the cluster: not worth chasing) */
    uint32_t idx = (uint32_t)s - 1;
    if (idx >= tb->n)
        return;
    __builtin_prefetch(s_kslot(tb, idx)); /* (an overflow key is not chased) */
    const char *rec = tbl_rec(tb, idx);
    for (size_t off = 0; off < tb->rec_size; off += 64)
        __builtin_prefetch(rec + off);
}

static inline __attribute__((always_inline)) void s_prefetch(const tbl_t *tb, const char *key,
                                                             size_t klen, int stage)
{
    if (klen < tb->key_cap)
        s_prefetch_h(tb, s_hash(key, klen), stage);
}

void proj_prefetch_order(const proj_state_t *st, const char *order_id, int stage)
{
    s_prefetch(&st->t[PROJ_T_ORDER], order_id, strnlen(order_id, OMS_ID_CAP), stage);
}

void proj_prefetch_exec(const proj_state_t *st, const char *venue, const char *exec_id)
{
    char key[TBL_KEY_CAP];
    s_prefetch(&st->t[PROJ_T_EXEC], key, proj_key2(key, venue, exec_id), 1);
}

void proj_prefetch_clordid(const proj_state_t *st, const char *order_id, const char *cl_ord_id)
{
    char key[TBL_KEY_CAP];
    s_prefetch(&st->t[PROJ_T_CLORDID], key, proj_key2(key, order_id, cl_ord_id), 1);
}

/* The length of the id in the OMS_ID_CAP-byte array s (at most OMS_LIMIT_ID_LEN: byte 64 is
 * the NUL of a longest id), reading whole words of the array instead of calling strnlen: the
 * replay's processing threads hash one or two keys per event, and the strnlen calls were 2% of
 * a verify's CPU samples. */
static inline size_t s_id_len(const char *s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    _Static_assert(OMS_ID_CAP == 65, "s_id_len reads the 64 bytes before the last");
    for (size_t i = 0; i < OMS_ID_CAP - 1; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t z = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
        if (z) /* the lowest flagged byte is the first NUL (later flags may be false) */
            return i + (size_t)__builtin_ctzll(z) / 8;
    }
    return OMS_ID_CAP - 1;
#else
    return strnlen(s, OMS_ID_CAP - 1);
#endif
}

uint32_t proj_key_hash(proj_table_t t, const char *a, const char *b)
{
    (void)t; /* every table hashes its key the same way; t names which key is meant */
    size_t la = s_id_len(a);
    if (b == NULL)
        return s_hash(a, la);
    /* proj_key2's key, joined with fixed-size copies of the arrays (the bytes past each id's
     * NUL are overwritten or lie past the key's end) */
    char key[TBL_KEY_CAP];
    _Static_assert(TBL_KEY_CAP >= 2 * (OMS_ID_CAP - 1) + 1, "both copies fit");
    size_t lb = s_id_len(b);
    memcpy(key, a, OMS_ID_CAP - 1);
    key[la] = 0x1f;
    memcpy(key + la + 1, b, OMS_ID_CAP - 1);
    return s_hash(key, la + 1 + lb);
}

void proj_prefetch_h(const proj_state_t *st, proj_table_t t, uint32_t h, int stage)
{
    s_prefetch_h(&st->t[t], h, stage);
}

static void s_place(tbl_t *t, uint64_t slot)
{
    uint32_t mask = t->n_slots - 1;
    uint32_t i = (uint32_t)(slot >> 32) & mask;
    while (t->slots[i] != 0)
        i = (i + 1) & mask;
    t->slots[i] = slot;
}

/* Rebuilds the index with n_slots slots (a power of two, larger than now). 0 or
 * OMS_ERR_NOMEM (the index is as it was). */
static int s_resize_index(tbl_t *t, uint32_t n_slots)
{
    uint64_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return OMS_ERR_NOMEM;
    uint64_t *old_slots = t->slots;
    uint32_t old_n = t->n_slots;
    t->slots = slots;
    t->n_slots = n_slots;
    for (uint32_t i = 0; i < old_n; i++)
        if (old_slots[i])
            s_place(t, old_slots[i]);
    free(old_slots);
    return 0;
}

static int s_grow_index(tbl_t *t)
{
    if (t->n_slots > UINT32_MAX / 2)
        return OMS_ERR_LIMIT;
    return s_resize_index(t, t->n_slots * 2);
}

/* Makes room for cap chunk pointers (never shrinks). 0 or OMS_ERR_NOMEM (nothing lost: the
 * arrays that did grow keep their content). */
static int s_chunk_list(tbl_t *t, uint32_t cap)
{
    if (cap <= t->chunks_cap)
        return 0;
    uint8_t **ch = realloc(t->chunks, cap * sizeof *ch);
    if (!ch)
        return OMS_ERR_NOMEM;
    t->chunks = ch;
    char **ks = realloc(t->keys, cap * sizeof *ks);
    if (!ks)
        return OMS_ERR_NOMEM;
    t->keys = ks;
    t->chunks_cap = cap;
    return 0;
}

/* Makes room for cap entries of the per-record epoch array (never shrinks). Entries past n are
 * never read (tbl_add sets a record's entry), so the new part is left as it comes. 0 or
 * OMS_ERR_NOMEM (the array is as it was). */
static int s_epoch_cap(tbl_t *t, uint32_t cap)
{
    if (cap <= t->epoch_cap)
        return 0;
    uint32_t *e = realloc(t->epoch, cap * sizeof *e);
    if (!e)
        return OMS_ERR_NOMEM;
    t->epoch = e;
    t->epoch_cap = cap;
    return 0;
}

/* Faults in the whole pages of p[len] in one system call (a hint: failure, e.g. a kernel
 * without MADV_POPULATE_WRITE, leaves them to be faulted one by one as they are written). */
static void s_populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + len) & ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)len;
#endif
}

int tbl_reserve(tbl_t *t, uint32_t n)
{
    if (n > t->max)
        n = t->max;
    uint32_t n_slots = t->n_slots;
    while ((uint64_t)n * 2 > n_slots && n_slots <= UINT32_MAX / 2)
        n_slots *= 2;
    int rc = 0;
    if (n_slots > t->n_slots)
        rc = s_resize_index(t, n_slots);
    if (rc == 0)
        rc = s_chunk_list(t, (uint32_t)(((uint64_t)n + TBL_CHUNK - 1) >> TBL_CHUNK_SHIFT));
    if (rc == 0)
        rc = s_epoch_cap(t, n);
    if (rc == 0 && n > t->prefault)
        t->prefault = n;
    return rc;
}

/* Room for len bytes (at most block) in store ts of blocks of `block` bytes; *pos gets where
 * they start (a rollback or truncation sets ts->used back to it). NULL when a block cannot be
 * allocated (nothing changed). */
static char *s_store_alloc(text_store_t *ts, size_t block, size_t len, uint64_t *pos)
{
    assert(len <= block);
    uint64_t b = ts->used / block, off = ts->used % block;
    if (off + len > block) { /* the rest of this block stays unused */
        b++;
        off = 0;
    }
    if (b >= ts->n_blocks) {
        if (ts->n_blocks == ts->cap) {
            uint32_t cap = ts->cap ? ts->cap * 2 : 16;
            char **bl = realloc(ts->blocks, cap * sizeof *bl);
            if (bl == NULL)
                return NULL;
            ts->blocks = bl;
            ts->cap = cap;
        }
        if ((ts->blocks[ts->n_blocks] = malloc(block)) == NULL)
            return NULL;
        ts->n_blocks++;
    }
    *pos = b * block + off;
    ts->used = *pos + len;
    return ts->blocks[b] + off;
}

uint32_t tbl_add(tbl_t *t, const char *key, size_t klen)
{
    if (t->n >= t->max || klen >= t->key_cap)
        return PROJ_NIL;
    if ((uint64_t)(t->n + 1) * 2 > t->n_slots && s_grow_index(t) != 0)
        return PROJ_NIL;
    uint32_t idx = t->n;
    uint32_t c = idx >> TBL_CHUNK_SHIFT;
    if (c >= t->n_chunks) {
        if (c >= t->chunks_cap && s_chunk_list(t, t->chunks_cap ? t->chunks_cap * 2 : 16) != 0)
            return PROJ_NIL;
        /* Not calloc: a record is cleared when it is added (while its lines are being brought
         * into the cache anyway) and a key slot is read only up to its NUL, so zeroing a whole
         * chunk up front would touch every byte twice. */
        t->chunks[c] = malloc((size_t)TBL_CHUNK * t->rec_size);
        t->keys[c] = malloc((size_t)TBL_CHUNK * t->key_inl);
        if (!t->chunks[c] || !t->keys[c]) {
            free(t->chunks[c]);
            free(t->keys[c]);
            return PROJ_NIL;
        }
        if (idx < t->prefault) { /* a rebuild's hint: these records are coming */
            s_populate(t->chunks[c], (size_t)TBL_CHUNK * t->rec_size);
            s_populate(t->keys[c], (size_t)TBL_CHUNK * t->key_inl);
        }
        t->n_chunks = c + 1;
    }
    if (idx >= t->epoch_cap && s_epoch_cap(t, t->epoch_cap ? t->epoch_cap * 2 : 1024) != 0)
        return PROJ_NIL;
    char *slot = (char *)s_kslot(t, idx);
    if (klen < t->key_inl) {
        memcpy(slot, key, klen);
        slot[klen] = '\0';
        slot[t->key_inl - 1] = 0;
    } else {
        uint64_t pos;
        char *k = s_store_alloc(&t->ovf, TBL_OVF_BLOCK, klen + 1, &pos);
        if (k == NULL)
            return PROJ_NIL;
        memcpy(k, key, klen);
        k[klen] = '\0';
        uint32_t len = (uint32_t)klen;
        memcpy(slot, &k, sizeof k);
        memcpy(slot + sizeof(uint64_t), &pos, sizeof pos);
        memcpy(slot + 2 * sizeof(uint64_t), &len, sizeof len);
        slot[t->key_inl - 1] = 1;
    }
    t->n = idx + 1;
    memset(tbl_rec(t, idx), 0, t->rec_size);
    t->epoch[idx] = 0;
    s_place(t, s_slot(s_hash(key, klen), idx));
    return idx;
}

/* Removes the index slot holding idx, shifting later members of its cluster back. */
static void s_unindex(tbl_t *t, uint32_t idx)
{
    const char *k = tbl_key(t, idx);
    uint64_t want = s_slot(s_hash(k, strlen(k)), idx);
    uint32_t mask = t->n_slots - 1;
    uint32_t i = (uint32_t)(want >> 32) & mask;
    while (t->slots[i] != want) {
        assert(t->slots[i] != 0);
        i = (i + 1) & mask;
    }
    t->slots[i] = 0;
    for (uint32_t j = (i + 1) & mask; t->slots[j] != 0; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)(t->slots[j] >> 32) & mask;
        /* Move j back to i if its home is not in (i, j] (cyclically). */
        bool stays = (i < j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            t->slots[j] = 0;
            i = j;
        }
    }
}

void tbl_truncate(tbl_t *t, uint32_t n)
{
    while (t->n > n) {
        uint32_t idx = t->n - 1;
        s_unindex(t, idx);
        const char *s = s_kslot(t, idx);
        if (s_is_ovf(t, s)) { /* overflow keys were stored in record order: cut back to it */
            uint64_t pos;
            memcpy(&pos, s + sizeof(uint64_t), sizeof pos);
            t->ovf.used = pos;
        }
        t->n = idx;
    }
}

/* ---- state ------------------------------------------------------------------------------ */

static const size_t s_rec_sizes[PROJ_T_COUNT_] = {
    [PROJ_T_INSTRUMENT] = sizeof(proj_instrument_t),
    [PROJ_T_ACCOUNT] = sizeof(proj_account_t),
    [PROJ_T_PRINCIPAL] = sizeof(proj_principal_t),
    [PROJ_T_LIMITS] = sizeof(proj_limits_t),
    [PROJ_T_RESTRICTION] = sizeof(proj_restriction_t),
    [PROJ_T_ORDER] = sizeof(proj_order_t),
    [PROJ_T_CLORDID] = sizeof(proj_clordid_t),
    [PROJ_T_INSTR] = sizeof(proj_instr_t),
    [PROJ_T_EXEC] = sizeof(proj_exec_t),
    [PROJ_T_POSITION] = sizeof(proj_position_t),
    [PROJ_T_ALLOC] = sizeof(proj_alloc_t),
    [PROJ_T_PART] = sizeof(proj_part_t),
};

static const uint32_t s_rec_max[PROJ_T_COUNT_] = {
    [PROJ_T_INSTRUMENT] = PROJ_MAX_INSTRUMENTS,
    [PROJ_T_ACCOUNT] = PROJ_MAX_ACCOUNTS,
    [PROJ_T_PRINCIPAL] = PROJ_MAX_PRINCIPALS,
    [PROJ_T_LIMITS] = PROJ_MAX_LIMITS,
    [PROJ_T_RESTRICTION] = PROJ_MAX_RESTRICTIONS,
    [PROJ_T_ORDER] = PROJ_MAX_ORDERS,
    [PROJ_T_CLORDID] = PROJ_MAX_CLORDIDS,
    [PROJ_T_INSTR] = PROJ_MAX_INSTRS,
    [PROJ_T_EXEC] = PROJ_MAX_EXECS,
    [PROJ_T_POSITION] = PROJ_MAX_POSITIONS,
    [PROJ_T_ALLOC] = PROJ_MAX_ALLOCS,
    [PROJ_T_PART] = PROJ_MAX_PARTS,
};

/* Longest keys: one id, two ids joined (proj_key2), or up to three (limits, parts). Every key
 * a table is given fits (ids are at most OMS_LIMIT_ID_LEN). */
static const size_t s_key_caps[PROJ_T_COUNT_] = {
    [PROJ_T_INSTRUMENT] = OMS_ID_CAP,      [PROJ_T_ACCOUNT] = OMS_ID_CAP,
    [PROJ_T_PRINCIPAL] = OMS_ID_CAP,       [PROJ_T_LIMITS] = TBL_KEY_CAP,
    [PROJ_T_RESTRICTION] = 2 * OMS_ID_CAP, [PROJ_T_ORDER] = OMS_ID_CAP,
    [PROJ_T_CLORDID] = 2 * OMS_ID_CAP,     [PROJ_T_INSTR] = 2 * OMS_ID_CAP,
    [PROJ_T_EXEC] = 2 * OMS_ID_CAP,        [PROJ_T_POSITION] = 2 * OMS_ID_CAP,
    [PROJ_T_ALLOC] = 2 * OMS_ID_CAP,       [PROJ_T_PART] = TBL_KEY_CAP,
};

/* Key slot sizes (see "Key storage" in proj_internal.h): 32 bytes for one id (ids of up to 31
 * bytes in place), 48 for two joined (an execution's venue and exec id), 64 for three. A key
 * that does not fit costs its length + 1 in the overflow store beside the slot. */
static size_t s_key_slot(size_t key_cap)
{
    return key_cap <= OMS_ID_CAP ? 32 : key_cap <= 2 * OMS_ID_CAP ? 48 : 64;
}

proj_state_t *proj_new(void)
{
    proj_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->epoch = 1;
    for (int i = 0; i < PROJ_T_COUNT_; i++) {
        if (tbl_init(&st->t[i], s_rec_sizes[i], s_rec_max[i], s_key_caps[i],
                     s_key_slot(s_key_caps[i])) != 0) {
            proj_destroy(&st);
            return NULL;
        }
    }
    return st;
}

void proj_destroy(proj_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proj_state_t *st = *self_p;
    for (int i = 0; i < PROJ_T_COUNT_; i++)
        tbl_free(&st->t[i]);
    for (uint32_t b = 0; b < st->text.n_blocks; b++)
        free(st->text.blocks[b]);
    free(st->text.blocks);
    free(st->jrnl);
    free(st->jbuf);
    free(st);
    *self_p = NULL;
}

int proj_reserve(proj_state_t *st, proj_table_t t, uint32_t n)
{
    if (!st || (unsigned)t >= PROJ_T_COUNT_)
        return OMS_ERR_INVALID;
    return tbl_reserve(&st->t[t], n);
}

const char *proj_text_dup(proj_state_t *st, const char *s, int *rc)
{
    if (!s || !s[0])
        return ""; /* (most optional texts) without a strnlen call */
    size_t n = strnlen(s, OMS_LIMIT_TEXT_LEN);
    uint64_t pos;
    char *p = s_store_alloc(&st->text, TEXT_BLOCK, n + 1, &pos);
    if (p == NULL) {
        *rc = OMS_ERR_NOMEM;
        return "";
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int proj_set_str(proj_state_t *st, const char **field, const char *s)
{
    if (!s)
        s = "";
    /* Equal? The first bytes decide most cases without a strcmp call: a field still "" being
     * set, or an empty value. */
    const char *f = *field;
    if (f && f[0] == s[0] && (s[0] == '\0' || strcmp(f + 1, s + 1) == 0))
        return 0;
    int rc = 0;
    const char *p = proj_text_dup(st, s, &rc);
    if (rc == 0)
        *field = p;
    return rc;
}

static const void *s_find(const proj_state_t *st, proj_table_t t, const char *key, size_t klen)
{
    if (st->t[t].n == 0)
        return NULL;
    uint32_t idx = tbl_find(&st->t[t], key, klen);
    return idx == PROJ_NIL ? NULL : tbl_rec(&st->t[t], idx);
}

const proj_instrument_t *proj_instrument(const proj_state_t *st, const char *id)
{
    return s_find(st, PROJ_T_INSTRUMENT, id, strlen(id));
}

const proj_account_t *proj_account(const proj_state_t *st, const char *id)
{
    return s_find(st, PROJ_T_ACCOUNT, id, strlen(id));
}

const proj_principal_t *proj_principal(const proj_state_t *st, const char *id)
{
    return s_find(st, PROJ_T_PRINCIPAL, id, strlen(id));
}

void proj_count_limits(proj_state_t *st, uint32_t idx, int delta)
{
    unsigned scope = (unsigned)(tbl_key(&st->t[PROJ_T_LIMITS], idx)[0] - '0');
    assert(scope < 4);
    assert(delta > 0 || st->n_limits[scope] > 0);
    st->n_limits[scope] += (uint32_t)delta;
}

/* Truncates table t to n records, keeping the limits counts right. */
static void s_truncate(proj_state_t *st, proj_table_t t, uint32_t n)
{
    if (t == PROJ_T_LIMITS)
        for (uint32_t i = n; i < st->t[t].n; i++)
            proj_count_limits(st, i, -1);
    tbl_truncate(&st->t[t], n);
}

const proj_limits_t *proj_limits(const proj_state_t *st, oms_limit_scope_t scope,
                                 const char *account_id, const char *instrument_id)
{
    if ((unsigned)scope >= 4 || st->n_limits[scope] == 0)
        return NULL; /* no limits of that scope at all: skip building the key */
    char key[TBL_KEY_CAP];
    char sc[2] = {(char)('0' + scope), '\0'};
    size_t n = proj_key3(key, sc, account_id, instrument_id);
    return s_find(st, PROJ_T_LIMITS, key, n);
}

const proj_restriction_t *proj_restriction(const proj_state_t *st, const char *instrument_id,
                                           const char *account_id)
{
    if (st->t[PROJ_T_RESTRICTION].n == 0)
        return NULL; /* the usual case: skip building the key */
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, instrument_id, account_id);
    return s_find(st, PROJ_T_RESTRICTION, key, n);
}

const proj_order_t *proj_order(const proj_state_t *st, const char *order_id)
{
    return s_find(st, PROJ_T_ORDER, order_id, strlen(order_id));
}

const proj_exec_t *proj_exec(const proj_state_t *st, const char *venue, const char *exec_id)
{
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, venue, exec_id);
    return s_find(st, PROJ_T_EXEC, key, n);
}

const proj_position_t *proj_position(const proj_state_t *st, const char *account_id,
                                     const char *instrument_id)
{
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, account_id, instrument_id);
    return s_find(st, PROJ_T_POSITION, key, n);
}

const proj_alloc_t *proj_alloc(const proj_state_t *st, const char *order_id, const char *alloc_id)
{
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, order_id, alloc_id);
    return s_find(st, PROJ_T_ALLOC, key, n);
}

bool proj_order_has_clordid(const proj_state_t *st, const proj_order_t *o, const char *cl_ord_id)
{
    if (!cl_ord_id[0])
        return false;
    if (strcmp(o->pending_cl_ord_id, cl_ord_id) == 0 || strcmp(o->order_id, cl_ord_id) == 0)
        return true; /* a pending request's, or the implicit first ClOrdID */
    if (o->first_clordid == PROJ_NIL)
        return false;
    char key[TBL_KEY_CAP];
    size_t n = proj_key2(key, o->order_id, cl_ord_id);
    return tbl_find(&st->t[PROJ_T_CLORDID], key, n) != PROJ_NIL;
}

const void *proj_at(const proj_state_t *st, proj_table_t t, uint32_t idx)
{
    assert(t < PROJ_T_COUNT_);
    return idx < st->t[t].n ? tbl_rec(&st->t[t], idx) : NULL;
}

uint32_t proj_count(const proj_state_t *st, proj_table_t t)
{
    assert(t < PROJ_T_COUNT_);
    return st->t[t].n;
}

uint32_t proj_index_of(const proj_state_t *st, proj_table_t t, const void *rec)
{
    const tbl_t *tb = &st->t[t];
    const uint8_t *p = rec;
    for (uint32_t c = 0; c < tb->n_chunks; c++) {
        const uint8_t *base = tb->chunks[c];
        if (p >= base && p < base + (size_t)TBL_CHUNK * tb->rec_size)
            return c * TBL_CHUNK + (uint32_t)((size_t)(p - base) / tb->rec_size);
    }
    return PROJ_NIL;
}

/* ---- batch journal ----------------------------------------------------------------------- */

/* proj_begin restarts the epochs past this (a batch takes at most a few thousand). */
#define S_EPOCH_RESTART (UINT32_MAX - (1u << 24))

void proj_begin(proj_state_t *st)
{
    assert(!st->in_batch);
    st->in_batch = true;
    st->n_jrnl = 0;
    st->jbuf_used = 0;
    if (st->epoch > S_EPOCH_RESTART) {
        /* Epochs are compared by order (proj_dirty_at, proj_touched_in_batch): start them
         * again long before they wrap. Once in about four billion commands, O(records). */
        for (int i = 0; i < PROJ_T_COUNT_; i++) {
            if (st->t[i].epoch)
                memset(st->t[i].epoch, 0, st->t[i].epoch_cap * sizeof *st->t[i].epoch);
            st->t[i].begin_epoch = 0;
        }
        st->epoch = 1;
    }
    st->epoch_at_begin = st->epoch;
    /* Nothing per table: where each table ends is kept by the batch's first insert into it
     * (proj_note_insert), the trade date by its first change. A rebuild opens one batch per
     * event. */
    st->text_at_begin = st->text.used;
    st->trade_date_dirty = false;
}

static int s_jrnl_push(proj_state_t *st, proj_table_t t, uint32_t idx, bool created)
{
    if (st->n_jrnl == st->jrnl_cap) {
        uint32_t cap = st->jrnl_cap ? st->jrnl_cap * 2 : 256;
        jrnl_entry_t *j = realloc(st->jrnl, cap * sizeof *j);
        if (!j)
            return OMS_ERR_NOMEM;
        st->jrnl = j;
        st->jrnl_cap = cap;
    }
    size_t off = SIZE_MAX;
    if (!created) {
        size_t sz = st->t[t].rec_size;
        if (st->jbuf_used + sz > st->jbuf_cap) {
            size_t cap = st->jbuf_cap ? st->jbuf_cap * 2 : 65536;
            while (cap < st->jbuf_used + sz)
                cap *= 2;
            uint8_t *b = realloc(st->jbuf, cap);
            if (!b)
                return OMS_ERR_NOMEM;
            st->jbuf = b;
            st->jbuf_cap = cap;
        }
        off = st->jbuf_used;
        memcpy(st->jbuf + off, tbl_rec(&st->t[t], idx), sz);
        st->jbuf_used += sz;
    }
    st->jrnl[st->n_jrnl++] = (jrnl_entry_t){(uint8_t)t, idx, st->t[t].epoch[idx], off};
    st->t[t].epoch[idx] = st->epoch;
    return 0;
}

void *proj_touch(proj_state_t *st, proj_table_t t, uint32_t idx)
{
    tbl_t *tb = &st->t[t];
    assert(idx < tb->n);
    if (st->in_batch && tb->epoch[idx] != st->epoch && s_jrnl_push(st, t, idx, false) != 0)
        return NULL;
    return tbl_rec(tb, idx);
}

uint32_t proj_create(proj_state_t *st, proj_table_t t, const char *key, size_t klen)
{
    proj_note_insert(st, t);
    uint32_t idx = tbl_add(&st->t[t], key, klen);
    if (idx == PROJ_NIL)
        return PROJ_NIL;
    if (t == PROJ_T_LIMITS)
        proj_count_limits(st, idx, +1);
    if (st->in_batch && s_jrnl_push(st, t, idx, true) != 0) {
        s_truncate(st, t, idx);
        return PROJ_NIL;
    }
    return idx;
}

void proj_commit(proj_state_t *st)
{
    assert(st->in_batch);
    st->in_batch = false;
    st->epoch++;
    st->n_jrnl = 0;
    st->jbuf_used = 0;
}

void proj_rollback(proj_state_t *st)
{
    assert(st->in_batch);
    for (uint32_t i = st->n_jrnl; i-- > 0;) {
        const jrnl_entry_t *e = &st->jrnl[i];
        if (e->off != SIZE_MAX)
            memcpy(tbl_rec(&st->t[e->table], e->idx), st->jbuf + e->off, st->t[e->table].rec_size);
    }
    for (int t = 0; t < PROJ_T_COUNT_; t++) /* the tables the batch inserted into */
        if (st->t[t].begin_epoch == st->epoch_at_begin)
            s_truncate(st, (proj_table_t)t, st->t[t].n_at_begin);
    st->text.used = st->text_at_begin;
    if (st->trade_date_dirty) {
        memcpy(st->trade_date, st->trade_date_at_begin, OMS_DATE_CAP);
        st->trade_date_seq = st->trade_date_seq_at_begin;
    }
    st->trade_date_dirty = false;
    st->in_batch = false;
    st->epoch++;
    st->n_jrnl = 0;
    st->jbuf_used = 0;
}

uint32_t proj_dirty_count(const proj_state_t *st)
{
    return st->n_jrnl;
}

bool proj_dirty_at(const proj_state_t *st, uint32_t i, proj_table_t *t, uint32_t *idx)
{
    assert(i < st->n_jrnl);
    *t = (proj_table_t)st->jrnl[i].table;
    *idx = st->jrnl[i].idx;
    return st->jrnl[i].prev_epoch < st->epoch_at_begin;
}

void proj_mark(proj_state_t *st, proj_mark_t *m)
{
    assert(st->in_batch);
    m->n_jrnl = st->n_jrnl;
    for (int t = 0; t < PROJ_T_COUNT_; t++)
        m->n[t] = st->t[t].n;
    memcpy(m->trade_date, st->trade_date, OMS_DATE_CAP);
    m->trade_date_seq = st->trade_date_seq;
    m->trade_date_dirty = st->trade_date_dirty;
    m->text_used = st->text.used;
    /* A new epoch: records touched from here on are journaled again, so the entries after
     * the mark hold their bytes as of the mark. */
    st->epoch++;
}

void proj_rollback_to(proj_state_t *st, const proj_mark_t *m)
{
    assert(st->in_batch && m->n_jrnl <= st->n_jrnl);
    for (uint32_t i = st->n_jrnl; i-- > m->n_jrnl;) {
        const jrnl_entry_t *e = &st->jrnl[i];
        if (e->off != SIZE_MAX && e->idx < m->n[e->table])
            memcpy(tbl_rec(&st->t[e->table], e->idx), st->jbuf + e->off, st->t[e->table].rec_size);
        /* (in reverse, so the record ends with its epoch from before the mark: a record first
         * touched after the mark is again untouched in this batch) */
        st->t[e->table].epoch[e->idx] = e->prev_epoch;
    }
    for (int t = 0; t < PROJ_T_COUNT_; t++)
        s_truncate(st, (proj_table_t)t, m->n[t]);
    st->n_jrnl = m->n_jrnl;
    st->text.used = m->text_used;
    /* jbuf_used is left as is: the saved bytes after the mark are simply unused. */
    memcpy(st->trade_date, m->trade_date, OMS_DATE_CAP);
    st->trade_date_seq = m->trade_date_seq;
    st->trade_date_dirty = m->trade_date_dirty;
    st->epoch++;
}

const void *proj_dirty_before(const proj_state_t *st, uint32_t i)
{
    assert(i < st->n_jrnl);
    const jrnl_entry_t *j = &st->jrnl[i];
    return j->off == SIZE_MAX ? NULL : st->jbuf + j->off;
}

bool proj_status_working(oms_ord_status_t s)
{
    switch (s) {
    case OMS_ST_PENDING_RELEASE:
    case OMS_ST_PENDING_NEW:
    case OMS_ST_NEW:
    case OMS_ST_PARTIALLY_FILLED:
    case OMS_ST_PENDING_CANCEL:
    case OMS_ST_PENDING_REPLACE:
        return true;
    default:
        return false;
    }
}

bool proj_touched_in_batch(const proj_state_t *st, proj_table_t t, uint32_t idx)
{
    assert(t < PROJ_T_COUNT_ && idx < st->t[t].n);
    return st->in_batch && st->t[t].epoch[idx] >= st->epoch_at_begin;
}
