/*
 * omsctl.h - omsctl's internal interface, shared by apps/omsctl*.c and nothing else: the parsed
 * command line, the exit codes, and the parts that live in their own files (printing of
 * replies, rows and events; loading reference data from JSON).
 *
 *   omsctl.c        flags, the subcommand table, building commands and queries, tail
 *   omsctl_print.c  human tables and JSON lines for replies, query rows and events
 *   omsctl_load.c   `omsctl load FILE.json` (libjansson)
 */
#ifndef OMSCTL_H
#define OMSCTL_H

#include "bus.h"
#include "codec.h"
#include "oms_model.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes (omsctl --help lists them). */
enum {
    CTL_EXIT_OK = 0,       /* accepted, duplicate of an accepted command, query answered */
    CTL_EXIT_REJECTED = 1, /* a rule refused the command (or the query found nothing) */
    CTL_EXIT_USAGE = 2,    /* bad flags or values, unreadable input file */
    CTL_EXIT_DAEMON = 3,   /* daemon unreachable, ERROR reply, or a reply that does not decode */
};

enum {
    CTL_VALUES_MAX = 64, /* --flag value pairs on one command line */
};

/* One --flag value (value "" for a boolean flag). */
typedef struct {
    const char *name;  /* without the dashes */
    const char *value; /* the argument, or "" */
} ctl_value_t;

/* The parsed command line and the client. */
typedef struct {
    char cmd_ep[BUS_ENDPOINT_CAP];    /* omsd command endpoint */
    char pub_ep[BUS_ENDPOINT_CAP];    /* omsd event PUB */
    char query_ep[BUS_ENDPOINT_CAP];  /* omsd catch-up/query endpoint */
    const char *principal;            /* --principal, NULL = the command's default */
    const char *command_id;           /* --command-id, NULL = random */
    int timeout_ms;                   /* per attempt */
    int retries;                      /* Lazy Pirate retries */
    bool json;                        /* JSON lines instead of tables */
    ctl_value_t vals[CTL_VALUES_MAX]; /* the subcommand's flags */
    int n_vals;                       /* how many */
    bus_client_t *client;             /* created on first use */
} ctl_t;

/* The value of --name (the last one given), or NULL when absent. */
const char *ctl_get(const ctl_t *c, const char *name);

/* Connects the client (once). 0 or CTL_EXIT_DAEMON (message printed). */
int ctl_client(ctl_t *c);

/* Submits *cmd (principal and command id filled from the flags when empty) and prints the
 * reply. Returns the exit code for it: 0 ACCEPTED or DUPLICATE of an accepted command, 1
 * REJECTED (or DUPLICATE of a rejected one), 3 ERROR / unreachable. `what` (may be NULL) names
 * the command in the output (e.g. "instrument GOOG" when loading a file). */
int ctl_submit(ctl_t *c, oms_cmd_t *cmd, const char *default_principal, const char *what);

/* ---- omsctl_print.c ------------------------------------------------------------------------ */

/* Prints a reply: one human line, or the CommandReply as one JSON object. */
void ctl_print_reply(const ctl_t *c, const oms_reply_t *r, const char *what);

/* Prints the rows of a list reply (orders, executions, positions, allocations, reference
 * data) as a table, or each row as one JSON object. Returns 0, or CTL_EXIT_DAEMON when a row
 * does not decode (message printed). `header` prints the table's header line. */
int ctl_print_rows(const ctl_t *c, const codec_slice_t *items, uint32_t n, bool header);

/* Prints one order in detail (vertical), or as JSON. 0 or CTL_EXIT_DAEMON. */
int ctl_print_order(const ctl_t *c, const codec_slice_t *row);

/* Prints the daemon's statistics. */
void ctl_print_stats(const ctl_t *c, const codec_stats_t *s);

/* Prints one event envelope as one line (seq, time, topic, principal, command id, what), or as
 * JSON. 0 or CTL_EXIT_DAEMON when it does not decode. */
int ctl_print_event(const ctl_t *c, const uint8_t *env, size_t len);

/* Frees the printer's buffers (at exit). */
void ctl_print_fini(void);

/* Formats a decimal into buf (OMS_DEC_STR_MAX); "-" for an absent optional. */
const char *ctl_dec(oms_dec_t v, char *buf);
const char *ctl_opt(oms_opt_dec_t v, char *buf);

/* Writes s as a JSON string literal (with quotes) to f. */
void ctl_json_str(FILE *f, const char *s);

/* ---- omsctl_load.c ------------------------------------------------------------------------- */

/* `omsctl load FILE`: submits the file's reference data in dependency order. Returns the worst
 * exit code of its commands, or CTL_EXIT_USAGE for a file that does not read or parse. */
int ctl_load(ctl_t *c, const char *path);

#endif /* OMSCTL_H */
