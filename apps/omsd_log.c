/*
 * omsd_log.c - the daemon's log lines: stderr, one line per call, UTC timestamp, pid, level.
 * Each line is formatted into a stack buffer and written with one write(2), so the sequencer's
 * and the query thread's lines never interleave; nothing allocates.
 */
#include "omsd.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

enum { LOG_LINE_CAP = 2048 }; /* bytes of one line; longer messages are cut */

static _Atomic int s_level = OMSD_LOG_INFO;

static const char *const s_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void omsd_log_set_level(omsd_level_t level)
{
    atomic_store(&s_level, (int)level);
}

bool omsd_log_on(omsd_level_t level)
{
    return (int)level <= atomic_load(&s_level);
}

void omsd_log(omsd_level_t level, const char *fmt, ...)
{
    if (!omsd_log_on(level))
        return;
    char line[LOG_LINE_CAP];
    char ts[40];
    if (oms_clock_format_iso(oms_clock_now_ns(), ts, sizeof ts) < 0)
        strcpy(ts, "?");
    int n = snprintf(line, sizeof line, "%s omsd[%ld] %-5s ", ts, (long)getpid(),
                     s_names[(unsigned)level < 4 ? (unsigned)level : 3]);
    if (n < 0)
        return;
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (m > 0)
        used += (size_t)m < sizeof line - used ? (size_t)m : sizeof line - used - 1;
    if (used >= sizeof line - 1)
        used = sizeof line - 2;
    line[used++] = '\n';
    /* One write; a short write or EINTR loses the rest of a log line, never anything else. */
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}
