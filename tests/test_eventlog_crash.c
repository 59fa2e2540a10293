/*
 * test_eventlog_crash.c - proves that with `sync` durability an acknowledged append survives a
 * SIGKILL at any moment, and that a crash never leaves a partial batch.
 *
 * Over at least 20 cycles a child process opens the store and appends batches of 1..64 events,
 * each batch with one extra row recording (first seq, count); after each append returns it
 * reports the new head through a pipe. The parent kills it with SIGKILL at a random moment,
 * reopens the store and proves: every acknowledged seq is present; the log is a gap-free prefix
 * that verifies (contiguity, every hash, head); and the batch rows partition 1..head exactly
 * (so no batch was half-written). The seed is printed; OMS_TEST_SEED replays one run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eventlog.h"
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CYCLES    32
#define MAX_BATCH 64

/* The child: append forever (bounded by a deadline), reporting each acknowledged head. */
static void s_child(const char *dir, int fd, uint64_t seed)
{
    evlog_t *log = NULL;
    char err[512];
    if (evlog_open(dir, NULL, &log, err, sizeof err) != 0) {
        fprintf(stderr, "child open: %s\n", err);
        _exit(2);
    }
    static uint8_t body[256];
    static evlog_event_t evs[MAX_BATCH];
    int64_t deadline = oms_clock_mono_ns() + 10LL * 1000000000LL; /* never runs away */
    while (oms_clock_mono_ns() < deadline) {
        size_t n = 1 + tu_rand(&seed) % MAX_BATCH;
        uint64_t head;
        evlog_head(log, &head, NULL);
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < 200; k++)
                body[k] = (uint8_t)(head + i + k);
            evs[i] = (evlog_event_t){.ts_ns = oms_clock_now_ns(),
                                     .principal = "crash",
                                     .command_id = "cmd",
                                     .order_id = "o",
                                     .body = body,
                                     .body_len = 200};
        }
        uint8_t key[8], val[8];
        oms_put_be64(key, head + 1);
        oms_put_be64(val, n);
        evlog_row_t row = {EVLOG_CF_IDEMPOTENCY, key, 8, val, 8};
        if (evlog_append(log, evs, n, &row, 1, NULL) != 0)
            _exit(3);
        evlog_head(log, &head, NULL);
        if (write(fd, &head, sizeof head) != sizeof head)
            _exit(4);
    }
    _exit(0);
}

typedef struct {
    uint64_t next; /* the seq the next batch row must start at */
    int bad;       /* set when the rows do not partition the log */
} part_t;

static int s_check_row(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    part_t *p = ctx;
    if (kl != 8 || vl != 8 || oms_get_be64(k) != p->next) {
        p->bad = 1;
        return 1;
    }
    p->next += oms_get_be64(v);
    return 0;
}

static void test_eventlog_crash_sigkill_keeps_acked_prefix(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    const char *env = getenv("OMS_TEST_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    printf("test_eventlog_crash: seed %llu (OMS_TEST_SEED=%llu replays)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    uint64_t rs = seed;

    const char *dir = tu_mkdtemp(0, "evlog-crash");
    evlog_t *log = NULL;
    assert_int_equal(evlog_open(dir, NULL, &log, NULL, 0), 0);
    evlog_destroy(&log);

    uint64_t max_acked = 0, total_kills_mid_stream = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        uint64_t child_seed = tu_rand(&rs);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            s_child(dir, fds[1], child_seed);
        }
        close(fds[1]);
        /* Kill at a random moment: sometimes during open, mostly mid-stream. */
        useconds_t delay = (useconds_t)(tu_rand(&rs) % 400000);
        usleep(delay);
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
        uint64_t h, acked = 0;
        while (read(fds[0], &h, sizeof h) == sizeof h)
            acked = h;
        close(fds[0]);
        if (acked > max_acked) {
            max_acked = acked;
            total_kills_mid_stream++;
        }

        char err[512];
        int rc = evlog_open(dir, NULL, &log, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "cycle %d: reopen failed: %s\n", cycle, err);
        assert_int_equal(rc, 0);
        uint64_t head;
        evlog_head(log, &head, NULL);
        if (head < max_acked)
            fprintf(stderr, "cycle %d: head %llu < acknowledged %llu\n", cycle,
                    (unsigned long long)head, (unsigned long long)max_acked);
        assert_true(head >= max_acked);
        evlog_verify_t rep;
        assert_int_equal(evlog_verify(log, &rep, NULL, NULL), 0);
        if (!rep.ok)
            fprintf(stderr, "cycle %d: verify: %s\n", cycle, rep.reason);
        assert_true(rep.ok);
        assert_int_equal(rep.events, head);
        part_t p = {1, 0};
        assert_int_equal(evlog_scan(log, EVLOG_CF_IDEMPOTENCY, NULL, 0, s_check_row, &p), 0);
        assert_false(p.bad);
        assert_int_equal(p.next, head + 1);
        max_acked = head; /* what survived is now the floor for the next cycle */
        evlog_destroy(&log);
    }
    printf("test_eventlog_crash: %d cycles, %llu events survived, %llu kills after acks\n", CYCLES,
           (unsigned long long)max_acked, (unsigned long long)total_kills_mid_stream);
    assert_true(total_kills_mid_stream >= CYCLES / 2);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eventlog_crash_sigkill_keeps_acked_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
