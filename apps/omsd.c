/*
 * omsd.c - `omsd`, the OMS daemon: wires the event log, the engine and the three ZeroMQ
 * endpoints of docs/PROTOCOL.md together, and nothing else does.
 *
 *   start-up   settings (omsd_config.c) -> the store, opened as its single writer (a second
 *              daemon on the same store stops here with "in use by another writer") -> the
 *              engine, loaded from the stored projection rows and checked against the log's
 *              head -> the command ROUTER and the event PUB -> the query thread with its own
 *              secondary handle on the store -> the demo data (--demo-data)
 *   running    the sequencer loop on this thread (omsd_seq.c) and the query thread
 *              (omsd_query.c)
 *   stop       SIGTERM / SIGINT set a flag; the sequencer finishes the batch in hand (append,
 *              reply, publish, commit) and returns; the query thread is joined; sockets are
 *              closed (replies already sent are flushed for up to OMSD_LINGER_MS); the store is
 *              closed; exit 0. A storage failure stops the daemon the same way with exit 1.
 *
 * The secondary handle keeps its own RocksDB info logs in <data-dir>/.secondary-<pid>, removed
 * at exit (and, for daemons that died, at the next start).
 */
#include "omsd.h"

#include "codec.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

enum {
    MKDIR_DEPTH = 64, /* path components created for --data-dir */
    STALE_SCAN = 4096, /* directory entries looked at for stale secondary directories */
};

static volatile sig_atomic_t s_stop = 0;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* mkdir -p path (at most MKDIR_DEPTH components). 0 or -1 with errno. */
static int s_mkdirs(const char *path)
{
    char buf[OMSD_PATH_CAP];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    int depth = 0;
    for (char *p = buf + 1; *p && depth < MKDIR_DEPTH; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
        depth++;
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int s_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf of one of our secondary directories (refuses any other path). */
static void s_rm_secondary(const char *path)
{
    if (!strstr(path, "/.secondary-"))
        return;
    if (nftw(path, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        OMSD_WARN("cannot remove %s: %s", path, strerror(errno));
}

/* Removes the secondary directories of daemons that are no longer running (we hold the
 * store's writer lock, so no other daemon of this store is). */
static void s_rm_stale_secondaries(const char *data_dir)
{
    DIR *d = opendir(data_dir);
    if (!d)
        return;
    struct dirent *e;
    char path[OMSD_PATH_CAP + 64];
    for (int i = 0; i < STALE_SCAN && (e = readdir(d)) != NULL; i++) {
        if (strncmp(e->d_name, ".secondary-", 11) != 0)
            continue;
        long pid = strtol(e->d_name + 11, NULL, 10);
        if (pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
            continue; /* that process lives (perhaps not a daemon): leave it */
        snprintf(path, sizeof path, "%s/%s", data_dir, e->d_name);
        s_rm_secondary(path);
    }
    closedir(d);
}

/* Creates and binds a socket; NULL with the reason logged. */
static void *s_socket(void *ctx, int type, const char *endpoint, int hwm)
{
    void *s = zmq_socket(ctx, type);
    int64_t maxmsg = OMSD_MAXMSG_BYTES;
    int linger = OMSD_LINGER_MS, zero = 0;
    bool ok = s != NULL && zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) == 0 &&
              zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) == 0;
    if (ok && type == ZMQ_ROUTER)
        ok = zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) == 0 &&
             zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) == 0 &&
             zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &zero, sizeof zero) == 0;
    if (ok)
        ok = zmq_bind(s, endpoint) == 0;
    if (!ok) {
        OMSD_ERROR("cannot bind %s: %s", endpoint, zmq_strerror(errno));
        if (s)
            zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: zmq_poll returns EINTR at once */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Everything the daemon holds, released in reverse order by s_shutdown. */
typedef struct {
    omsd_config_t cfg;                        /* settings */
    evlog_t *log;                             /* the writer handle */
    oms_engine_t *eng;                        /* the engine */
    omsd_stats_t stats;                       /* shared counters */
    bool stats_ok;                            /* stats initialised */
    void *ctx;                                /* ZeroMQ context */
    void *cmd;                                /* command ROUTER */
    void *pub;                                /* event PUB */
    omsd_query_t *query;                      /* the query thread */
    omsd_seq_t *seq;                          /* the sequencer */
    char secondary[OMSD_PATH_CAP + 64];       /* the secondary handle's directory, "" if none */
} daemon_t;

static void s_shutdown(daemon_t *d)
{
    omsd_query_stop(&d->query);
    omsd_seq_destroy(&d->seq);
    if (d->cmd)
        zmq_close(d->cmd);
    if (d->pub)
        zmq_close(d->pub);
    if (d->ctx)
        zmq_ctx_term(d->ctx); /* flushes what was sent, up to the linger */
    oms_engine_destroy(&d->eng);
    evlog_destroy(&d->log);
    if (d->secondary[0])
        s_rm_secondary(d->secondary);
    if (d->stats_ok)
        omsd_stats_fini(&d->stats);
}

/* Opens the store and loads the engine. 0 or -1 (logged). */
static int s_open_store(daemon_t *d)
{
    if (s_mkdirs(d->cfg.data_dir) != 0) {
        OMSD_ERROR("cannot create the data directory %s: %s", d->cfg.data_dir, strerror(errno));
        return -1;
    }
    evlog_options_t o;
    evlog_options_default(&o);
    o.durability = d->cfg.durability;
    char err[1024];
    int rc = evlog_open(d->cfg.data_dir, &o, &d->log, err, sizeof err);
    if (rc != 0) {
        OMSD_ERROR("cannot open the store %s: %s (%s)", d->cfg.data_dir, err, oms_errname(rc));
        return -1;
    }
    uint64_t head = 0;
    oms_hash_t hash;
    evlog_head(d->log, &head, &hash);
    int64_t t0 = oms_clock_mono_ns();
    rc = omsd_engine_open(d->log, &d->eng, err, sizeof err);
    if (rc != 0) {
        OMSD_ERROR("cannot load the state from %s: %s; refusing to start", d->cfg.data_dir, err);
        return -1;
    }
    char hex[2 * OMS_HASH_LEN + 1];
    oms_hash_hex(&hash, hex, sizeof hex);
    const proj_state_t *st = oms_engine_state(d->eng);
    OMSD_INFO("store %s open (%s): head seq %llu hash %.16s..., %u orders in memory, "
              "%u instruments, %u accounts loaded in %lld ms",
              d->cfg.data_dir, d->cfg.durability == EVLOG_SYNC ? "sync" : "async",
              (unsigned long long)head, hex, proj_count(st, PROJ_T_ORDER),
              proj_count(st, PROJ_T_INSTRUMENT), proj_count(st, PROJ_T_ACCOUNT),
              (long long)((oms_clock_mono_ns() - t0) / 1000000));
    if (omsd_stats_init(&d->stats, head, &hash) != 0) {
        OMSD_ERROR("cannot initialise the counters");
        return -1;
    }
    d->stats_ok = true;
    return 0;
}

/* Binds the endpoints and starts the query thread. 0 or -1 (logged). */
static int s_open_endpoints(daemon_t *d)
{
    d->ctx = zmq_ctx_new();
    if (!d->ctx) {
        OMSD_ERROR("cannot create the ZeroMQ context: %s", zmq_strerror(errno));
        return -1;
    }
    d->cmd = s_socket(d->ctx, ZMQ_ROUTER, d->cfg.cmd_endpoint, OMSD_CMD_HWM);
    if (!d->cmd)
        return -1;
    d->pub = s_socket(d->ctx, ZMQ_PUB, d->cfg.pub_endpoint, (int)d->cfg.pub_hwm);
    if (!d->pub)
        return -1;

    s_rm_stale_secondaries(d->cfg.data_dir);
    snprintf(d->secondary, sizeof d->secondary, "%s/.secondary-%ld", d->cfg.data_dir,
             (long)getpid());
    if (mkdir(d->secondary, 0755) != 0 && errno != EEXIST) {
        OMSD_ERROR("cannot create %s: %s", d->secondary, strerror(errno));
        d->secondary[0] = '\0';
        return -1;
    }
    evlog_options_t o;
    evlog_options_default(&o);
    o.mode = EVLOG_MODE_SECONDARY;
    o.secondary_path = d->secondary;
    o.create_if_missing = false;
    /* The secondary replays the writer's WAL into memtables of its own: keep them small. */
    o.write_buffer_bytes = 4u << 20;
    evlog_t *rlog = NULL;
    char err[1024];
    int rc = evlog_open(d->cfg.data_dir, &o, &rlog, err, sizeof err);
    if (rc != 0) {
        OMSD_ERROR("cannot open the store %s for queries: %s", d->cfg.data_dir, err);
        return -1;
    }
    rc = omsd_query_start(d->ctx, d->cfg.query_endpoint, rlog, &d->stats, &d->query, err,
                          sizeof err);
    if (rc != 0) {
        OMSD_ERROR("%s", err);
        return -1;
    }
    OMSD_INFO("commands on %s, events on %s, queries on %s, batches of up to %u commands",
              d->cfg.cmd_endpoint, d->cfg.pub_endpoint, d->cfg.query_endpoint,
              d->cfg.batch_max);
    return 0;
}

int main(int argc, char **argv)
{
    static daemon_t d; /* large (counters); static so that it is not on the stack */
    omsd_config_default(&d.cfg);
    char err[1024];
    int rc = omsd_config_parse(argc, argv, &d.cfg, err, sizeof err);
    if (rc == 1) {
        omsd_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "omsd: %s\n\n", err);
        omsd_usage(stderr);
        return 2;
    }
    omsd_log_set_level(d.cfg.log_level);
    if (s_install_signals() != 0 || oms_hash_init() != 0) {
        OMSD_ERROR("cannot initialise the process (signals, libsodium)");
        return 1;
    }
    OMSD_INFO("starting (pid %ld)", (long)getpid());
    int status = 1;
    if (s_open_store(&d) != 0 || s_open_endpoints(&d) != 0)
        goto out;
    d.seq = omsd_seq_new(&d.cfg, d.log, &d.eng, d.cmd, d.pub, &d.stats);
    if (!d.seq) {
        OMSD_ERROR("out of memory creating the sequencer");
        goto out;
    }
    if (d.cfg.demo_data && (rc = omsd_demo_load(d.seq, d.cfg.batch_max)) != 0) {
        if (rc != OMS_ERR_STATE)
            goto out; /* the store failed: logged */
        OMSD_WARN("demo data incomplete; serving anyway");
    }
    OMSD_INFO("ready");
    rc = omsd_seq_run(d.seq, &s_stop);
    if (rc == 0) {
        uint64_t head = 0;
        evlog_head(d.log, &head, NULL);
        OMSD_INFO("stopping on request: head seq %llu", (unsigned long long)head);
        status = 0;
    } else {
        OMSD_ERROR("stopping after a failure: %s", oms_strerror(rc));
    }
out:
    s_shutdown(&d);
    if (status == 0)
        OMSD_INFO("stopped");
    return status;
}
