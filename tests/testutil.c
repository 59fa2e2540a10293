/*
 * testutil.c - scratch directories, raw RocksDB edits and a seeded PRNG for the tests.
 */
#include "testutil.h"

#include <assert.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char s_dirs[8][512];

const char *tu_mkdtemp(int slot, const char *tag)
{
    assert(slot >= 0 && slot < 8);
    const char *base = getenv("TMPDIR");
    if (base == NULL || !*base)
        base = "/tmp";
    snprintf(s_dirs[slot], sizeof s_dirs[slot], "%s/oms-%s-XXXXXX", base, tag);
    if (mkdtemp(s_dirs[slot]) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return s_dirs[slot];
}

static int s_run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int tu_rmrf(const char *path)
{
    if (path == NULL || strlen(path) < 6 || strstr(path, "oms-") == NULL)
        return -1; /* only ever our own scratch directories */
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    return s_run(argv);
}

int tu_copy_dir(const char *src, const char *dst)
{
    char *argv[] = {"cp", "-a", (char *)src, (char *)dst, NULL};
    return s_run(argv);
}

typedef struct {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t **h;
    char **names;
    size_t n;
} raw_t;

static int s_raw_open(raw_t *r, const char *path)
{
    memset(r, 0, sizeof *r);
    char *err = NULL;
    r->opts = rocksdb_options_create();
    r->names = rocksdb_list_column_families(r->opts, path, &r->n, &err);
    if (err) {
        fprintf(stderr, "raw list: %s\n", err);
        free(err);
        rocksdb_options_destroy(r->opts);
        return -1;
    }
    const rocksdb_options_t **cfo = calloc(r->n, sizeof *cfo);
    r->h = calloc(r->n, sizeof *r->h);
    for (size_t i = 0; i < r->n; i++)
        cfo[i] = r->opts;
    r->db = rocksdb_open_column_families(r->opts, path, (int)r->n, (const char *const *)r->names,
                                         cfo, r->h, &err);
    free(cfo);
    if (err) {
        fprintf(stderr, "raw open: %s\n", err);
        free(err);
        return -1;
    }
    return 0;
}

static rocksdb_column_family_handle_t *s_raw_cf(raw_t *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->h[i];
    return NULL;
}

static void s_raw_close(raw_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->h[i])
            rocksdb_column_family_handle_destroy(r->h[i]);
    if (r->db)
        rocksdb_close(r->db);
    free(r->h);
    rocksdb_list_column_families_destroy(r->names, r->n);
    rocksdb_options_destroy(r->opts);
}

int tu_raw_put(const char *path, const char *cf_name, const void *key, size_t klen, const void *val,
               size_t vlen)
{
    raw_t r;
    if (s_raw_open(&r, path) != 0)
        return -1;
    rocksdb_column_family_handle_t *cf = s_raw_cf(&r, cf_name);
    char *err = NULL;
    if (cf) {
        rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
        rocksdb_put_cf(r.db, w, cf, key, klen, val, vlen, &err);
        rocksdb_writeoptions_destroy(w);
    }
    s_raw_close(&r);
    if (err)
        free(err);
    return cf && !err ? 0 : -1;
}

int tu_raw_delete(const char *path, const char *cf_name, const void *key, size_t klen)
{
    raw_t r;
    if (s_raw_open(&r, path) != 0)
        return -1;
    rocksdb_column_family_handle_t *cf = s_raw_cf(&r, cf_name);
    char *err = NULL;
    if (cf) {
        rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
        rocksdb_delete_cf(r.db, w, cf, key, klen, &err);
        rocksdb_writeoptions_destroy(w);
    }
    s_raw_close(&r);
    if (err)
        free(err);
    return cf && !err ? 0 : -1;
}

void *tu_raw_get(const char *path, const char *cf_name, const void *key, size_t klen, size_t *vlen)
{
    raw_t r;
    if (s_raw_open(&r, path) != 0)
        return NULL;
    rocksdb_column_family_handle_t *cf = s_raw_cf(&r, cf_name);
    char *err = NULL, *v = NULL;
    if (cf) {
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        v = rocksdb_get_cf(r.db, ro, cf, key, klen, vlen, &err);
        rocksdb_readoptions_destroy(ro);
    }
    s_raw_close(&r);
    if (err) {
        free(err);
        free(v);
        return NULL;
    }
    return v;
}

int tu_raw_add_cf(const char *path, const char *cf_name)
{
    raw_t r;
    if (s_raw_open(&r, path) != 0)
        return -1;
    char *err = NULL;
    rocksdb_column_family_handle_t *h = rocksdb_create_column_family(r.db, r.opts, cf_name, &err);
    if (h)
        rocksdb_column_family_handle_destroy(h);
    s_raw_close(&r);
    if (err) {
        free(err);
        return -1;
    }
    return 0;
}

uint64_t tu_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
