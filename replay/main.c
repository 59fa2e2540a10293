/*
 * main.c - `oms-replay`, the auditors' command-line tool over the replay library (replay.h):
 * parses the command line, opens the store read-only (or as a secondary), runs one command and
 * maps the outcome to the documented exit codes. Reads the store only; output on stdout,
 * progress and errors on stderr.
 */
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_STORE "./var/oms"
#define MAX_ARGS      256 /* command-line words considered */

static const char k_usage[] =
    "usage: oms-replay [--store DIR] [--secondary DIR] [--quiet] COMMAND [options] [DIR]\n"
    "\n"
    "The store is --store DIR or the last argument (default ./var/oms).\n"
    "Reads an OMS event store (a live data dir, a checkpoint copy or a backup) and never\n"
    "writes to it. The store is opened read-only (a frozen view as of the start); beside a\n"
    "long-running daemon prefer --secondary DIR (a private scratch directory). Every command\n"
    "stops at the head seq it saw when it started, so a writer appending meanwhile does not\n"
    "change the output.\n"
    "\n"
    "commands:\n"
    "  verify [--anchor SEQ:HASHHEX] [--no-rebuild] [--threads N] [--format text|json]\n"
    "      seq contiguity, the full hash chain, the recorded head, the anchor (a (seq, hash)\n"
    "      recorded earlier must still be in the log), and a from-scratch rebuild of every\n"
    "      projection compared row by row with the stored rows. Prints the head seq and head\n"
    "      hash: record \"SEQ:HASH\" externally as the next anchor. --threads: how many\n"
    "      threads (default one per CPU, at most 16; fewer leaves CPUs to a daemon beside it).\n"
    "  dump [--format json|csv|text] [--from-seq N] [--to-seq N] [--from-time T] [--to-time T]\n"
    "       [--order ID] [--account ID] [--instrument ID] [--principal ID] [--type NAME]...\n"
    "      events as JSON lines (default; decimals as exact strings), CSV or text. Filters\n"
    "      combine (AND); --type repeats (OR), by name (order_filled) or number.\n"
    "  order ID [--format text|json|csv]\n"
    "      the complete story of one order: every event naming it (requests, replace chain,\n"
    "      fills, busts, rejections, allocations) with who and when, then its stored rows.\n"
    "  state [--seq N | --time T] [--format text|json|csv] [--what orders,positions,allocations]\n"
    "      orders, positions and allocations as of a seq or a time (default: the head),\n"
    "      rebuilt from the log by the daemon's own projection code.\n"
    "  checkpoint DIR\n"
    "      a consistent copy of the whole store in DIR (must not exist), for archiving.\n"
    "\n"
    "Times are ISO-8601 UTC: 2026-11-21T13:50:53.123Z (a date alone means midnight).\n"
    "Progress goes to stderr about once a second on long runs (--quiet: none).\n"
    "\n"
    "exit codes:\n"
    "  0  ok (verify: the store is intact)\n"
    "  1  verification failed (the first bad seq is printed), or the order / seq / time asked\n"
    "     for is not in the log, or an event does not parse (run verify)\n"
    "  2  usage error\n"
    "  3  the store could not be opened or read, or output could not be written\n"
    "\n"
    "example:\n"
    "  oms-replay --store ./var/oms verify --anchor 1200:3f5e...c2\n"
    "  oms-replay --store ./var/oms dump --order O-17 --format text\n"
    "  oms-replay --store ./var/oms state --time 2026-11-21T16:00:00Z --what positions\n";

/* Prints the usage error (fmt takes arg as its one %s) and returns REPLAY_EXIT_USAGE. */
static int s_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "oms-replay: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\n(oms-replay --help for usage)\n");
    return REPLAY_EXIT_USAGE;
}

/* Decimal digits only, no overflow. 0 or -1. */
static int s_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || !*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

/* "json", "csv" or "text". 0 or -1. */
static int s_parse_fmt(const char *s, replay_fmt_t *f)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "json") == 0)
        *f = REPLAY_FMT_JSON;
    else if (strcmp(s, "csv") == 0)
        *f = REPLAY_FMT_CSV;
    else if (strcmp(s, "text") == 0)
        *f = REPLAY_FMT_TEXT;
    else
        return -1;
    return 0;
}

/* --what orders,positions,allocations -> bits; 0 on a bad word. */
static unsigned s_parse_what(const char *s)
{
    unsigned bits = 0;
    char buf[128];
    if (s == NULL || strlen(s) >= sizeof buf)
        return 0;
    strcpy(buf, s);
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (strcmp(w, "orders") == 0)
            bits |= REPLAY_STATE_ORDERS;
        else if (strcmp(w, "positions") == 0)
            bits |= REPLAY_STATE_POSITIONS;
        else if (strcmp(w, "allocations") == 0)
            bits |= REPLAY_STATE_ALLOCATIONS;
        else if (strcmp(w, "all") == 0)
            bits |= REPLAY_STATE_ALL;
        else
            return 0;
    }
    return bits;
}

/* Maps a library error to an exit code, with a message. */
static int s_fail(const char *what, int rc, evlog_t *log)
{
    const char *detail = log ? evlog_errmsg(log) : "";
    fprintf(stderr, "oms-replay: %s: %s%s%s\n", what, oms_strerror(rc), detail[0] ? ": " : "",
            detail);
    if (rc == OMS_ERR_NOT_FOUND || rc == OMS_ERR_CORRUPT || rc == OMS_ERR_STATE)
        return REPLAY_EXIT_FAILED;
    if (rc == OMS_ERR_INVALID || rc == OMS_ERR_PARSE)
        return REPLAY_EXIT_USAGE;
    return REPLAY_EXIT_STORE;
}

/* The failure kind as printed. Static strings. */
static const char *s_bad_name(replay_bad_t b)
{
    switch (b) {
    case REPLAY_BAD_CHAIN:
        return "chain";
    case REPLAY_BAD_HEAD:
        return "head";
    case REPLAY_BAD_EVENT:
        return "event";
    case REPLAY_BAD_ANCHOR:
        return "anchor";
    case REPLAY_BAD_PROJECTION:
        return "projection";
    default:
        return "none";
    }
}

/* s as a JSON string on stdout. */
static void s_json_text(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* Prints the verify result; 0, or OMS_ERR_IO when stdout cannot be written. */
static int s_verify_print(const replay_verify_result_t *r, replay_fmt_t fmt, bool rebuild)
{
    char hex[65];
    oms_hash_hex(&r->head_hash, hex, sizeof hex);
    if (fmt == REPLAY_FMT_JSON) {
        printf("{\"ok\":%s,\"events\":\"%" PRIu64 "\",\"rows\":\"%" PRIu64
               "\",\"head_seq\":\"%" PRIu64 "\",\"head_hash\":\"%s\",\"anchor\":\"%" PRIu64 ":%s\"",
               r->ok ? "true" : "false", r->events, r->rows, r->head_seq, hex, r->head_seq, hex);
        printf(",\"log_s\":%.3f,\"rows_s\":%.3f", (double)r->log_ns / 1e9,
               (double)r->rows_ns / 1e9);
        if (!r->ok) {
            printf(",\"failure\":\"%s\",\"first_bad_seq\":\"%" PRIu64 "\",\"reason\":",
                   s_bad_name(r->bad), r->first_bad_seq);
            s_json_text(r->reason);
            if (r->bad == REPLAY_BAD_PROJECTION) {
                printf(",\"row_cf\":");
                s_json_text(r->row_cf);
                printf(",\"row_key\":");
                s_json_text(r->row_key);
            }
        }
        printf("}\n");
    } else {
        if (r->ok)
            printf("verify: OK\n");
        else
            printf("verify: FAILED (%s) first bad seq %" PRIu64 "\nreason: %s\n",
                   s_bad_name(r->bad), r->first_bad_seq, r->reason);
        printf("events checked: %" PRIu64 "\n", r->events);
        if (rebuild)
            printf("projection rows compared with a rebuild: %" PRIu64 "\n", r->rows);
        printf("head seq:  %" PRIu64 "\nhead hash: %s\n", r->head_seq, hex);
        printf("time: log pass %.2f s, row comparison %.2f s\n", (double)r->log_ns / 1e9,
               (double)r->rows_ns / 1e9);
        if (r->ok)
            printf("anchor to record: %" PRIu64 ":%s\n", r->head_seq, hex);
    }
    return fflush(stdout) == 0 ? 0 : OMS_ERR_IO;
}

int main(int argc, char **argv)
{
    const char *store = NULL, *secondary = NULL, *cmd = NULL, *arg = NULL, *arg2 = NULL;
    bool quiet = false, rebuild = true, has_anchor = false, fmt_set = false;
    replay_fmt_t fmt = REPLAY_FMT_JSON;
    replay_filter_t f;
    replay_filter_default(&f);
    replay_verify_opts_t vo;
    replay_verify_opts_default(&vo);
    uint64_t state_seq = 0;
    int64_t state_ts = 0;
    unsigned what = REPLAY_STATE_ALL;
    const char *dump_opt = NULL, *state_opt = NULL, *verify_opt = NULL; /* one of each, seen */
    if (argc > MAX_ARGS)
        return s_usage_error("too many arguments", NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (v == NULL)                                                                             \
            return s_usage_error("%s needs a value", a);                                           \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(k_usage, stdout);
            return REPLAY_EXIT_OK;
        } else if (strcmp(a, "--store") == 0) {
            NEED_VALUE();
            store = v;
        } else if (strcmp(a, "--secondary") == 0) {
            NEED_VALUE();
            secondary = v;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--format") == 0) {
            NEED_VALUE();
            if (s_parse_fmt(v, &fmt) != 0)
                return s_usage_error("unknown format '%s' (json, csv, text)", v);
            fmt_set = true;
        } else if (strcmp(a, "--anchor") == 0) {
            verify_opt = a;
            NEED_VALUE();
            if (replay_parse_anchor(v, &vo.anchor_seq, &vo.anchor_hash) != 0)
                return s_usage_error("bad anchor '%s' (SEQ:64 hex digits)", v);
            has_anchor = true;
        } else if (strcmp(a, "--no-rebuild") == 0) {
            verify_opt = a;
            rebuild = false;
        } else if (strcmp(a, "--threads") == 0) {
            verify_opt = a;
            NEED_VALUE();
            uint64_t n;
            if (s_parse_u64(v, &n) != 0 || n == 0 || n > REPLAY_THREADS_MAX)
                return s_usage_error("bad --threads '%s' (1 to 16)", v);
            vo.threads = (unsigned)n;
        } else if (strcmp(a, "--from-seq") == 0 || strcmp(a, "--to-seq") == 0 ||
                   strcmp(a, "--seq") == 0) {
            NEED_VALUE();
            uint64_t n;
            if (s_parse_u64(v, &n) != 0 || n == 0)
                return s_usage_error("bad seq '%s'", v);
            if (strcmp(a, "--seq") == 0)
                state_opt = a;
            else
                dump_opt = a;
            if (strcmp(a, "--from-seq") == 0)
                f.from_seq = n;
            else if (strcmp(a, "--to-seq") == 0)
                f.to_seq = n;
            else
                state_seq = n;
        } else if (strcmp(a, "--from-time") == 0 || strcmp(a, "--to-time") == 0 ||
                   strcmp(a, "--time") == 0) {
            NEED_VALUE();
            int64_t t;
            if (oms_clock_parse_iso(v, &t) != 0 || t <= 0)
                return s_usage_error("bad time '%s' (ISO-8601 UTC)", v);
            if (strcmp(a, "--time") == 0)
                state_opt = a;
            else
                dump_opt = a;
            if (strcmp(a, "--from-time") == 0)
                f.from_ts_ns = t;
            else if (strcmp(a, "--to-time") == 0)
                f.to_ts_ns = t;
            else
                state_ts = t;
        } else if (strcmp(a, "--order") == 0) {
            dump_opt = a;
            NEED_VALUE();
            f.order_id = v;
        } else if (strcmp(a, "--account") == 0) {
            dump_opt = a;
            NEED_VALUE();
            f.account_id = v;
        } else if (strcmp(a, "--instrument") == 0) {
            dump_opt = a;
            NEED_VALUE();
            f.instrument_id = v;
        } else if (strcmp(a, "--principal") == 0) {
            dump_opt = a;
            NEED_VALUE();
            f.principal = v;
        } else if (strcmp(a, "--type") == 0) {
            dump_opt = a;
            NEED_VALUE();
            if (replay_filter_add_type(&f, v) != 0)
                return s_usage_error("unknown event type '%s' (or more than 32)", v);
        } else if (strcmp(a, "--what") == 0) {
            state_opt = a;
            NEED_VALUE();
            if ((what = s_parse_what(v)) == 0)
                return s_usage_error("bad --what '%s' (orders,positions,allocations)", v);
        } else if (a[0] == '-' && a[1] == '-') {
            return s_usage_error("unknown option %s", a);
        } else if (cmd == NULL) {
            cmd = a;
        } else if (arg == NULL) {
            arg = a;
        } else if (arg2 == NULL) {
            arg2 = a;
        } else {
            return s_usage_error("unexpected argument '%s'", a);
        }
#undef NEED_VALUE
    }
    if (cmd == NULL)
        return s_usage_error("no command (verify, dump, order, state, checkpoint)", NULL);
    bool is_verify = strcmp(cmd, "verify") == 0, is_dump = strcmp(cmd, "dump") == 0,
         is_order = strcmp(cmd, "order") == 0, is_state = strcmp(cmd, "state") == 0,
         is_cp = strcmp(cmd, "checkpoint") == 0;
    if (!is_verify && !is_dump && !is_order && !is_state && !is_cp)
        return s_usage_error("unknown command '%s'", cmd);
    if ((is_order || is_cp) && arg == NULL)
        return s_usage_error("%s needs an argument", cmd);
    /* The store may also come last, as a positional argument ("oms-replay verify DIR"). */
    const char *pos_store = is_order || is_cp ? arg2 : arg;
    if (!is_order && !is_cp && arg2 != NULL)
        return s_usage_error("unexpected argument '%s'", arg2);
    if (pos_store && store)
        return s_usage_error("the store is given twice (--store and '%s')", pos_store);
    if (pos_store)
        store = pos_store;
    if (store == NULL)
        store = DEFAULT_STORE;
    if (dump_opt && !is_dump)
        return s_usage_error("%s is an option of dump", dump_opt);
    if (state_opt && !is_state)
        return s_usage_error("%s is an option of state", state_opt);
    if (verify_opt && !is_verify)
        return s_usage_error("%s is an option of verify", verify_opt);
    if (is_state && state_seq && state_ts)
        return s_usage_error("give --seq or --time, not both", NULL);
    if (!fmt_set && (is_order || is_state || is_verify))
        fmt = REPLAY_FMT_TEXT;
    if (is_verify && fmt == REPLAY_FMT_CSV)
        return s_usage_error("verify prints text or json", NULL);

    evlog_t *log = NULL;
    char err[512];
    int rc = replay_open(store, secondary, &log, err, sizeof err);
    if (rc) {
        fprintf(stderr, "oms-replay: cannot open the store %s: %s\n", store, err);
        return REPLAY_EXIT_STORE;
    }
    replay_progress_t prog = {.out = quiet ? NULL : stderr};
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    int code = REPLAY_EXIT_OK;
    if (is_verify) {
        vo.rebuild = rebuild;
        vo.has_anchor = has_anchor;
        vo.progress = &prog;
        replay_verify_result_t res;
        rc = replay_verify(log, &vo, &res);
        if (rc)
            code = s_fail("verify could not complete", rc, log);
        else if (s_verify_print(&res, fmt, rebuild) != 0)
            code = REPLAY_EXIT_STORE;
        else
            code = res.ok ? REPLAY_EXIT_OK : REPLAY_EXIT_FAILED;
    } else if (is_dump) {
        rc = replay_dump(log, &f, fmt, stdout, &prog, NULL);
        if (rc)
            code = s_fail("dump", rc, log);
    } else if (is_order) {
        rc = replay_order(log, arg, fmt, stdout, &prog);
        if (rc == OMS_ERR_NOT_FOUND) {
            fprintf(stderr, "oms-replay: no event names order %s\n", arg);
            code = REPLAY_EXIT_FAILED;
        } else if (rc) {
            code = s_fail("order", rc, log);
        }
    } else if (is_state) {
        oms_engine_t *eng = NULL;
        uint64_t reached = 0;
        rc = replay_rebuild(log, state_seq, state_ts, &prog, &eng, &reached);
        if (rc == OMS_ERR_NOT_FOUND) {
            fprintf(stderr, "oms-replay: seq %" PRIu64 " is past the log's head\n", state_seq);
            code = REPLAY_EXIT_FAILED;
        } else if (rc) {
            code = s_fail("state", rc, log);
            if (reached || rc == OMS_ERR_STATE)
                fprintf(stderr, "oms-replay: the event at seq %" PRIu64 " could not be applied\n",
                        reached + 1);
        } else {
            rc = replay_state_write(eng, what, fmt, reached, stdout);
            if (rc)
                code = s_fail("state", rc, NULL);
        }
        oms_engine_destroy(&eng);
    } else {
        rc = replay_checkpoint(log, arg);
        if (rc == OMS_ERR_EXISTS) {
            fprintf(stderr, "oms-replay: %s already exists\n", arg);
            code = REPLAY_EXIT_USAGE;
        } else if (rc) {
            code = s_fail("checkpoint", rc, log);
        } else {
            uint64_t head;
            oms_hash_t h;
            char hex[65];
            evlog_head(log, &head, &h);
            oms_hash_hex(&h, hex, sizeof hex);
            printf("checkpoint of seq %" PRIu64 " (head hash %s) written to %s\n", head, hex, arg);
        }
    }
    if (fflush(stdout) != 0 && code == REPLAY_EXIT_OK) {
        fprintf(stderr, "oms-replay: cannot write the output\n");
        code = REPLAY_EXIT_STORE;
    }
    evlog_destroy(&log);
    return code;
}
