/*
 * bench.h - shared pieces of oms-bench: argument parsing, scratch directories, and the entry
 * point of each subcommand. Benchmarks print figures and ratios; they never pass or fail.
 */
#ifndef OMS_BENCH_H
#define OMS_BENCH_H

#include "oms_core.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool json;       /* --json: one JSON object instead of the table */
    double seconds;  /* --seconds: length of one measured round (default 1.0) */
    int rounds;      /* --rounds: rounds per configuration, best kept (default 3) */
    const char *dir; /* --dir: where scratch stores go (default $TMPDIR or /tmp) */
} bench_args_t;

/* Parses the common flags; 0, or -1 on an unknown flag or bad value. */
int bench_parse_args(int argc, char **argv, bench_args_t *a);

/* Creates a fresh scratch directory under parent (NULL: $TMPDIR or /tmp) into out. 0 or -1. */
int bench_make_dir(const char *parent, char *out, size_t cap);

/* rm -rf of a scratch path created by bench_make_dir (refuses anything else). */
void bench_rmrf(const char *path);

int bench_log_main(int argc, char **argv);
int bench_engine_main(int argc, char **argv);
int bench_replay_main(int argc, char **argv);

#endif
