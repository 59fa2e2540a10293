/*
 * testutil.h - helpers shared by the test executables: scratch directories, a raw RocksDB door
 * for editing a store behind the event log's back (to fake corruption), and event builders.
 */
#ifndef OMS_TESTUTIL_H
#define OMS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) named after tag; returns a static path
 * buffer owned by the caller until the next call with the same slot (0..7). Aborts on failure. */
const char *tu_mkdtemp(int slot, const char *tag);

/* rm -rf path (bounded depth). Returns 0 or -1. */
int tu_rmrf(const char *path);

/* cp -a src dst (dst must not exist). Returns 0 or -1. */
int tu_copy_dir(const char *src, const char *dst);

/* Raw RocksDB edits of a closed store: put/delete/get key in column family cf_name. Each call
 * opens and closes the database with all of its families. put/delete return 0 or -1; get
 * returns a malloc'd copy (free()) or NULL. */
int tu_raw_put(const char *path, const char *cf_name, const void *key, size_t klen, const void *val,
               size_t vlen);
int tu_raw_delete(const char *path, const char *cf_name, const void *key, size_t klen);
void *tu_raw_get(const char *path, const char *cf_name, const void *key, size_t klen, size_t *vlen);
/* Adds a column family named cf_name to the store. 0 or -1. */
int tu_raw_add_cf(const char *path, const char *cf_name);

/* A deterministic pseudo-random generator (splitmix64) for seeded tests. */
uint64_t tu_rand(uint64_t *state);

#endif
