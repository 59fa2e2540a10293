/*
 * bench_soak.c - `oms-bench soak`: the crash soak. Under load from retrying clients that record
 * every reply, the daemon is killed with SIGKILL at random moments and restarted, for a given
 * number of cycles; then the log is checked against what the clients were told:
 *
 *   - every command that got a reply is in the log exactly as replied: an ACCEPTED or REJECTED
 *     reply's events are at its first_seq..last_seq and carry its command id (a DUPLICATE reply
 *     points at the first processing's seqs, which must hold the command too);
 *   - no command appears twice: each command id's events form one contiguous run of seqs;
 *   - the hash chain verifies (evlog_verify) and the stored projections equal a rebuild from
 *     the log (`oms-replay verify`, next to oms-bench, when it is there);
 * and prints a one-line verdict with the counts. Exit 0 when everything holds, 1 otherwise.
 *
 * Clients (threads) each run orders through new -> ack -> fill, one command at a time, with the
 * bus library's Lazy Pirate retries; a command whose retries all time out (the daemon was down
 * for longer) is sent again with the same id until it is answered, exactly as a careful client
 * would: idempotency must make that safe. The kills are spread uniformly between --kill-min-ms
 * and --kill-max-ms after each restart; the seed is printed so a failing run can be repeated
 * (the timing still differs: kills land where they land).
 *
 * --reload-orders N is passed to every omsd start, so that state reloads (omsd_seq.c) happen
 * between the kills too; CI's short version uses 300 (several reloads per cycle).
 *
 * CI runs a short version (ctest soak_short); scripts/crash-soak.sh runs a long one.
 */
#include "bench.h"

#include "bus.h"
#include "codec.h"
#include "eventlog.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    CLIENTS_MAX = 16,         /* client threads */
    STEPS = 3,                /* new, ack, fill */
    ORDERS_MAX = 1 << 17,     /* orders per client (bounds the record arrays) */
    START_TIMEOUT_MS = 60000, /* a restart */
};

/* What a client was told about one command. */
typedef struct {
    uint8_t status;     /* oms_reply_status_t; 0 = never answered */
    uint8_t original;   /* DUPLICATE: the first reply's status */
    uint64_t first_seq; /* the reply's seqs */
    uint64_t last_seq;
} told_t;

/* What the log holds of one command. */
typedef struct {
    uint64_t first, last; /* its seqs */
    uint32_t events;      /* how many events carry its id */
} seen_t;

typedef struct {
    int k;                     /* client number */
    const char *cmd_ep;        /* command endpoint */
    char run[16];              /* id prefix */
    told_t *told;              /* [ORDERS_MAX * STEPS] */
    seen_t *seen;              /* [ORDERS_MAX * STEPS], filled by the check */
    uint32_t orders;           /* orders started */
    uint64_t answered, resent; /* replies; sends after a give-up */
    uint64_t rejected;         /* replies REJECTED (should be 0) */
    uint64_t duplicates;       /* replies DUPLICATE: a retry whose first copy was processed */
    atomic_int *stop;          /* set by the main thread */
} client_t;

static void s_build(const client_t *c, uint32_t order, int step, oms_cmd_t *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    char oid[40]; /* run (<= 15) - client (<= 2 digits) - order (<= 10 digits) */
    snprintf(oid, sizeof oid, "%s-%d-%u", c->run, c->k, order);
    snprintf(cmd->command_id, OMS_ID_CAP, "%s-%d", oid, step);
    if (step == 0) {
        cmd->type = OMS_CMD_NEW_ORDER;
        oms_strlcpy(cmd->principal, "pm", OMS_ID_CAP);
        oms_new_order_t *o = &cmd->u.new_order;
        oms_strlcpy(o->order_id, oid, OMS_ID_CAP);
        snprintf(o->account_id, OMS_ID_CAP, "ACC%d", 1 + (int)(order % 3));
        oms_strlcpy(o->instrument_id, "MSFT", OMS_ID_CAP);
        o->side = OMS_SIDE_BUY;
        o->ord_type = OMS_ORD_LIMIT;
        o->price = (oms_opt_dec_t){true, 420 * OMS_DEC_SCALE};
        o->qty = 10 * OMS_DEC_SCALE;
        o->tif = OMS_TIF_GTC;
        return;
    }
    oms_strlcpy(cmd->principal, "venue", OMS_ID_CAP);
    cmd->type = step == 1 ? OMS_CMD_VENUE_ACK : OMS_CMD_VENUE_FILL;
    oms_venue_report_t *r = &cmd->u.report;
    oms_strlcpy(r->h.order_id, oid, OMS_ID_CAP);
    oms_strlcpy(r->h.venue, "SOAK", OMS_ID_CAP);
    snprintf(r->h.exec_id, OMS_ID_CAP, "%s-x%d", oid, step);
    if (step == 2) {
        r->last_qty = 10 * OMS_DEC_SCALE;
        r->last_px = 420 * OMS_DEC_SCALE;
    }
}

static void *s_client(void *arg)
{
    client_t *c = arg;
    bus_client_t *bc = NULL;
    if (bus_client_new(NULL, c->cmd_ep, NULL, &bc) != 0)
        return NULL;
    while (!atomic_load(c->stop) && c->orders < ORDERS_MAX) {
        uint32_t order = c->orders++;
        for (int step = 0; step < STEPS; step++) {
            oms_cmd_t cmd;
            s_build(c, order, step, &cmd);
            oms_reply_t r;
            /* Until answered: the same bytes every time (bus_submit encodes the same command
             * the same way), with the library's own retries inside each call. */
            int attempts = 0;
            for (;;) {
                int rc = bus_submit(bc, &cmd, &r, 400, 3);
                if (rc == 0)
                    break;
                attempts++;
                c->resent++;
                if (attempts > 200) { /* ~5 minutes of a dead daemon: give up the run */
                    bus_client_destroy(&bc);
                    return NULL;
                }
            }
            told_t *t = &c->told[(size_t)order * STEPS + (size_t)step];
            t->status = (uint8_t)r.status;
            t->original = (uint8_t)r.original_status;
            t->first_seq = r.first_seq;
            t->last_seq = r.last_seq;
            c->answered++;
            if (r.status == OMS_REPLY_DUPLICATE)
                c->duplicates++;
            if (r.status == OMS_REPLY_REJECTED ||
                (r.status == OMS_REPLY_DUPLICATE && r.original_status == OMS_REPLY_REJECTED))
                c->rejected++;
            if (r.status == OMS_REPLY_ERROR)
                break; /* never expected; the check reports it */
        }
    }
    bus_client_destroy(&bc);
    return NULL;
}

/* Maps a command id "<run>-<k>-<order>-<step>" to its client and slot; -1 when not a soak id. */
static int s_locate(const char *run, const char *id, size_t len, int *k, size_t *slot)
{
    char buf[OMS_ID_CAP];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, id, len);
    buf[len] = '\0';
    size_t rl = strlen(run);
    if (strncmp(buf, run, rl) != 0 || buf[rl] != '-')
        return -1;
    unsigned kk, order, step;
    if (sscanf(buf + rl + 1, "%u-%u-%u", &kk, &order, &step) != 3 || kk >= CLIENTS_MAX ||
        order >= ORDERS_MAX || step >= STEPS)
        return -1;
    *k = (int)kk;
    *slot = (size_t)order * STEPS + step;
    return 0;
}

typedef struct {
    uint64_t events, soak_events, commands_in_log, twice, replied, replied_ok, mismatched, missing,
        errors;
    char first_bad[256];
} check_t;

static void s_bad(check_t *ck, const char *what)
{
    if (!ck->first_bad[0])
        snprintf(ck->first_bad, sizeof ck->first_bad, "%s", what);
}

static int s_check_log(const char *store, const char *run, client_t *cl, int n, check_t *ck,
                       evlog_verify_t *vr)
{
    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_READ_ONLY;
    evlog_t *log = NULL;
    char err[512];
    if (evlog_open(store, &o, &log, err, sizeof err) != 0) {
        fprintf(stderr, "oms-bench soak: cannot open %s: %s\n", store, err);
        return -1;
    }
    memset(vr, 0, sizeof *vr);
    int rc = evlog_verify(log, vr, NULL, NULL);
    evlog_iter_t *it = NULL;
    if (rc == 0)
        rc = evlog_iter_new(log, 1, &it);
    uint64_t seq;
    const uint8_t *val;
    size_t len;
    while (rc == 0 && evlog_iter_next(it, &seq, &val, &len) == 1) {
        ck->events++;
        evlog_record_t rec;
        if (evlog_record_parse(val, len, &rec) != 0) {
            s_bad(ck, "an envelope does not parse");
            rc = -1;
            break;
        }
        int k;
        size_t slot;
        if (s_locate(run, rec.command_id, rec.command_id_len, &k, &slot) != 0 || k >= n)
            continue;
        ck->soak_events++;
        seen_t *s = &cl[k].seen[slot];
        if (s->events == 0) {
            s->first = s->last = seq;
            ck->commands_in_log++;
        } else if (seq == s->last + 1) {
            s->last = seq;
        } else {
            ck->twice++; /* a second run of the same command id */
            char b[128];
            snprintf(b, sizeof b, "command %.*s appears again at seq %llu", (int)rec.command_id_len,
                     rec.command_id, (unsigned long long)seq);
            s_bad(ck, b);
        }
        s->events++;
    }
    evlog_iter_destroy(&it);
    evlog_destroy(&log);
    if (rc != 0)
        return -1;
    /* Every reply against the log. */
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < (size_t)cl[k].orders * STEPS; i++) {
            const told_t *t = &cl[k].told[i];
            const seen_t *s = &cl[k].seen[i];
            if (t->status == 0)
                continue; /* never answered (the run stopped): only the no-twice rule holds */
            ck->replied++;
            if (t->status == OMS_REPLY_ERROR) {
                ck->errors++;
                s_bad(ck, "a command was answered ERROR");
                continue;
            }
            if (s->events == 0) {
                ck->missing++;
                char b[128];
                snprintf(b, sizeof b,
                         "client %d command %zu was answered (%d) but is not in "
                         "the log",
                         k, i, t->status);
                s_bad(ck, b);
                continue;
            }
            if (t->first_seq != s->first || t->last_seq != s->last) {
                ck->mismatched++;
                char b[160];
                snprintf(b, sizeof b,
                         "client %d command %zu: reply says seqs %llu..%llu, log "
                         "has %llu..%llu",
                         k, i, (unsigned long long)t->first_seq, (unsigned long long)t->last_seq,
                         (unsigned long long)s->first, (unsigned long long)s->last);
                s_bad(ck, b);
                continue;
            }
            ck->replied_ok++;
        }
    }
    return 0;
}

/* Runs oms-replay verify on the store when the tool is there: 1 passed (exit 0), 0 the store
 * failed verification (exit 1), -1 the tool is absent, -2 the tool could not run (exit 2 usage,
 * 3 I/O, or it died). Its output goes to logdir/replay-verify.txt. */
static int s_replay_verify(const char *store, const char *logdir)
{
    char tool[1024];
    if (bench_sibling_path("oms-replay", tool, sizeof tool) != 0)
        return -1;
    char out[1200];
    snprintf(out, sizeof out, "%s/replay-verify.txt", logdir);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(out, "a", stderr))
            _exit(127);
        execl(tool, tool, "verify", store, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -2;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 1;
    fprintf(stderr, "oms-bench soak: oms-replay verify %s (see %s)\n",
            WIFEXITED(st) && WEXITSTATUS(st) == 1 ? "found the store damaged" : "could not run",
            out);
    return WIFEXITED(st) && WEXITSTATUS(st) == 1 ? 0 : -2;
}

int bench_soak_main(int argc, char **argv)
{
    int cycles = 10, clients = 4, kmin = 200, kmax = 1500;
    bool tcp = false, keep = false;
    unsigned long long seed = (unsigned long long)bench_mono_ns();
    const char *omsd = NULL, *dir = NULL, *reload = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--cycles") == 0 && v)
            cycles = atoi(v), i++;
        else if (strcmp(argv[i], "--clients") == 0 && v)
            clients = atoi(v), i++;
        else if (strcmp(argv[i], "--kill-min-ms") == 0 && v)
            kmin = atoi(v), i++;
        else if (strcmp(argv[i], "--kill-max-ms") == 0 && v)
            kmax = atoi(v), i++;
        else if (strcmp(argv[i], "--seed") == 0 && v)
            seed = strtoull(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--omsd") == 0 && v)
            omsd = v, i++;
        else if (strcmp(argv[i], "--dir") == 0 && v)
            dir = v, i++;
        else if (strcmp(argv[i], "--transport") == 0 && v)
            tcp = strcmp(v, "tcp") == 0, i++;
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[i], "--reload-orders") == 0 && v)
            reload = v, i++; /* omsd checks it: a bad value fails the first start */
        else
            cycles = -1;
    }
    if (cycles < 1 || cycles > 100000 || clients < 1 || clients > CLIENTS_MAX || kmin < 1 ||
        kmax < kmin || kmax > 600000) {
        fprintf(stderr, "usage: oms-bench soak [--cycles N] [--clients K] [--kill-min-ms MS]\n"
                        "         [--kill-max-ms MS] [--seed S] [--omsd PATH] [--dir D]\n"
                        "         [--transport ipc|tcp] [--keep] [--reload-orders N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srand48((long)seed);
    char base[1024];
    if (bench_make_dir(dir, base, sizeof base) != 0)
        return 1;
    bench_daemon_t d;
    if (bench_daemon_init(&d, omsd, base, tcp, "sync") != 0)
        return 1;
    fprintf(stderr, "oms-bench soak: seed %llu, %d cycles, %d clients, store %s\n", seed, cycles,
            clients, d.data);
    const char *demo[] = {"--demo-data", reload ? "--reload-orders" : NULL, reload, NULL};
    const char *again[] = {reload ? "--reload-orders" : NULL, reload, NULL}; /* restarts */
    if (bench_daemon_start(&d, demo, START_TIMEOUT_MS) != 0) {
        fprintf(stderr, "oms-bench soak: omsd did not start (see %s)\n", d.logpath);
        return 1;
    }
    atomic_int stop = 0;
    client_t cl[CLIENTS_MAX];
    pthread_t th[CLIENTS_MAX];
    char run[16];
    snprintf(run, sizeof run, "k%llx", seed & 0xffffffffull);
    int started = 0;
    for (int k = 0; k < clients; k++) {
        memset(&cl[k], 0, sizeof cl[k]);
        cl[k].k = k;
        cl[k].cmd_ep = d.cmd_ep;
        snprintf(cl[k].run, sizeof cl[k].run, "%s", run);
        cl[k].told = calloc((size_t)ORDERS_MAX * STEPS, sizeof *cl[k].told);
        cl[k].seen = calloc((size_t)ORDERS_MAX * STEPS, sizeof *cl[k].seen);
        cl[k].stop = &stop;
        if (!cl[k].told || !cl[k].seen || pthread_create(&th[k], NULL, s_client, &cl[k]) != 0)
            break;
        started++;
    }
    int kills = 0, fails = 0;
    for (int c = 0; c < cycles && started == clients; c++) {
        int ms = kmin + (int)(drand48() * (kmax - kmin + 1));
        usleep((useconds_t)ms * 1000);
        bench_daemon_stop(&d, SIGKILL, 5000);
        kills++;
        if (bench_daemon_start(&d, again, START_TIMEOUT_MS) != 0) {
            fprintf(stderr, "oms-bench soak: restart %d failed (see %s)\n", c + 1, d.logpath);
            fails++;
            break;
        }
    }
    /* Let the clients see a live daemon for a moment, then stop them. */
    usleep(300 * 1000);
    atomic_store(&stop, 1);
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    int st = bench_daemon_stop(&d, SIGTERM, 30000);
    bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;

    check_t ck;
    memset(&ck, 0, sizeof ck);
    evlog_verify_t vr;
    int crc = fails ? -1 : s_check_log(d.data, run, cl, started, &ck, &vr);
    int replay = crc == 0 ? s_replay_verify(d.data, base) : 0;
    uint64_t answered = 0, resent = 0, rejected = 0, duplicates = 0;
    for (int k = 0; k < started; k++) {
        answered += cl[k].answered;
        resent += cl[k].resent;
        rejected += cl[k].rejected;
        duplicates += cl[k].duplicates;
    }
    bool pass = crc == 0 && vr.ok && clean && started == clients && ck.twice == 0 &&
                ck.missing == 0 && ck.mismatched == 0 && ck.errors == 0 && rejected == 0 &&
                replay != 0 && replay != -2;
    printf(
        "soak: %s cycles=%d kills=%d replies=%llu duplicate_replies=%llu resends=%llu in_log=%llu "
        "replied_in_log_at_their_seqs=%llu/%llu twice=%llu missing=%llu mismatched=%llu "
        "rejected=%llu chain=%s rebuild=%s clean_stop=%s head=%llu seed=%llu%s%s\n",
        pass ? "PASS" : "FAIL", cycles, kills, (unsigned long long)answered,
        (unsigned long long)duplicates, (unsigned long long)resent,
        (unsigned long long)ck.commands_in_log, (unsigned long long)ck.replied_ok,
        (unsigned long long)ck.replied, (unsigned long long)ck.twice,
        (unsigned long long)ck.missing, (unsigned long long)ck.mismatched,
        (unsigned long long)rejected, crc == 0 && vr.ok ? "ok" : "BAD",
        replay == 1   ? "equal"
        : replay == 0 ? "DIFFERENT"
                      : "not-checked(no oms-replay)",
        clean ? "yes" : "no", (unsigned long long)vr.head_seq, seed,
        ck.first_bad[0] ? " first_problem=" : "", ck.first_bad);
    for (int k = 0; k < clients; k++) {
        free(cl[k].told);
        free(cl[k].seen);
    }
    if (pass && !keep)
        bench_rmrf(base);
    else
        fprintf(stderr, "oms-bench soak: store and logs kept in %s\n", base);
    return pass ? 0 : 1;
}
