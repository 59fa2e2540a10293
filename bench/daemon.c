/*
 * daemon.c - the benchmarks' handle on a real omsd: starts the daemon binary (next to
 * oms-bench in build/bin, or --omsd PATH) as a child process on loopback tcp ports or ipc://
 * endpoints in a scratch directory, waits until it answers a stats query, stops it by pid with
 * a signal, and restarts it on the same store and endpoints. Used by `oms-bench e2e`,
 * `oms-bench restart` and `oms-bench soak`.
 *
 * Only 127.0.0.1 and ipc:// paths under the scratch directory are ever used. tcp ports are
 * chosen by binding port 0 on 127.0.0.1 and closing it (a small window in which another
 * program could take the port: acceptable for a benchmark, which then fails to start cleanly).
 */
#include "bench.h"

#include "bus.h"
#include "codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int bench_sibling_path(const char *name, char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if (snprintf(out, cap, "%s/%s", self, name) >= (int)cap)
        return -1;
    return access(out, X_OK) == 0 ? 0 : -1;
}

/* A free tcp port on 127.0.0.1 (bound and released), or -1. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int bench_daemon_init(bench_daemon_t *d, const char *omsd_path, const char *scratch, bool tcp,
                      const char *durability)
{
    memset(d, 0, sizeof *d);
    if (omsd_path) {
        if (snprintf(d->omsd, sizeof d->omsd, "%s", omsd_path) >= (int)sizeof d->omsd)
            return -1;
    } else if (bench_sibling_path("omsd", d->omsd, sizeof d->omsd) != 0) {
        fprintf(stderr, "oms-bench: cannot find omsd next to oms-bench (use --omsd PATH)\n");
        return -1;
    }
    snprintf(d->dir, sizeof d->dir, "%s", scratch);
    snprintf(d->data, sizeof d->data, "%s/store", scratch);
    snprintf(d->durability, sizeof d->durability, "%s", durability ? durability : "sync");
    if (tcp) {
        int p[3];
        for (int i = 0; i < 3; i++)
            if ((p[i] = s_free_port()) < 0)
                return -1;
        snprintf(d->cmd_ep, sizeof d->cmd_ep, "tcp://127.0.0.1:%d", p[0]);
        snprintf(d->pub_ep, sizeof d->pub_ep, "tcp://127.0.0.1:%d", p[1]);
        snprintf(d->query_ep, sizeof d->query_ep, "tcp://127.0.0.1:%d", p[2]);
    } else {
        snprintf(d->cmd_ep, sizeof d->cmd_ep, "ipc://%s/cmd.sock", scratch);
        snprintf(d->pub_ep, sizeof d->pub_ep, "ipc://%s/pub.sock", scratch);
        snprintf(d->query_ep, sizeof d->query_ep, "ipc://%s/query.sock", scratch);
    }
    return 0;
}

pid_t bench_daemon_spawn(bench_daemon_t *d, const char *const *extra)
{
    snprintf(d->logpath, sizeof d->logpath, "%s/omsd-%d.log", d->dir, ++d->starts);
    const char *argv[40];
    int n = 0;
    argv[n++] = d->omsd;
    argv[n++] = "--cmd-endpoint";
    argv[n++] = d->cmd_ep;
    argv[n++] = "--pub-endpoint";
    argv[n++] = d->pub_ep;
    argv[n++] = "--query-endpoint";
    argv[n++] = d->query_ep;
    argv[n++] = "--data-dir";
    argv[n++] = d->data;
    argv[n++] = "--durability";
    argv[n++] = d->durability;
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    for (int i = 0; extra && extra[i] && n < 39; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(d->logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        execv(d->omsd, (char *const *)argv);
        _exit(127);
    }
    d->pid = pid > 0 ? pid : 0;
    return pid;
}

int bench_daemon_wait_ready(bench_daemon_t *d, int timeout_ms, uint64_t *head)
{
    bus_client_t *c = NULL;
    if (bus_client_new(NULL, NULL, d->query_ep, &c) != 0)
        return -1;
    codec_qreply_t *qr = malloc(sizeof *qr);
    int rc = -1;
    int64_t end = bench_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (qr && bench_mono_ns() < end) {
        int st = 0;
        if (d->pid && waitpid(d->pid, &st, WNOHANG) == d->pid) {
            fprintf(stderr, "oms-bench: omsd exited during start-up (see %s)\n", d->logpath);
            d->pid = 0;
            break;
        }
        codec_query_t q;
        memset(&q, 0, sizeof q);
        q.kind = CODEC_Q_STATS;
        if (bus_query(c, &q, NULL, 0, qr, 200, 0) == 0 && qr->kind == CODEC_QR_STATS) {
            if (head)
                *head = qr->stats.head_seq;
            rc = 0;
            break;
        }
    }
    free(qr);
    bus_client_destroy(&c);
    return rc;
}

int bench_daemon_start(bench_daemon_t *d, const char *const *extra, int timeout_ms)
{
    if (bench_daemon_spawn(d, extra) <= 0)
        return -1;
    if (bench_daemon_wait_ready(d, timeout_ms, NULL) != 0) {
        bench_daemon_stop(d, SIGKILL, 5000);
        return -1;
    }
    return 0;
}

int bench_daemon_stop(bench_daemon_t *d, int sig, int timeout_ms)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, sig);
    int64_t end = bench_mono_ns() + (int64_t)timeout_ms * 1000000;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid)
            break;
        if (bench_mono_ns() > end) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &st, 0);
            break;
        }
        usleep(2000);
    }
    d->pid = 0;
    return st;
}

/* The value in KiB of a "Key:" line of /proc/<pid>/status, or -1. */
static long s_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0) {
            kib = strtol(line + n, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

long bench_rss_kib(pid_t pid)
{
    return s_status_kib(pid, "VmRSS:");
}

long bench_hwm_kib(pid_t pid)
{
    return s_status_kib(pid, "VmHWM:");
}
