/*
 * clock.c - wall and monotonic clocks in int64 nanoseconds, and ISO-8601 UTC text for them.
 *
 * Formatting and parsing are pure: they use Howard Hinnant's days-from-civil / civil-from-days
 * algorithms (proleptic Gregorian calendar) instead of gmtime/timegm/mktime, so they depend on
 * no locale, no TZ variable and no libc tables, and are thread-safe.
 *
 * Range: every int64 nanosecond value is supported, negative (pre-1970) ones included, i.e.
 * 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z. format never fails for a
 * valid buffer, and parse(format(t)) == t for every t. Leap seconds are not represented (POSIX
 * time): a seconds field of 60 is rejected.
 */
#include "oms_core.h"

#include <assert.h>
#include <stdlib.h>
#include <time.h>

__extension__ typedef __int128 i128;

#define NS_PER_SEC  1000000000LL
#define SEC_PER_DAY 86400LL
/* Shortest buffer oms_clock_format_iso accepts, as the header promises (30 chars + NUL fit). */
#define ISO_CAP_MIN 32

/* ---------------------------------------------------------------------------------------- */
/* Clocks                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        abort(); /* only with an invalid clock id or a broken kernel: a platform error */
    return (int64_t)ts.tv_sec * NS_PER_SEC + (int64_t)ts.tv_nsec;
}

/* CLOCK_REALTIME in ns; aborts if the kernel refuses (never on Linux). Valid until 2262. */
int64_t oms_clock_now_ns(void)
{
    return read_clock(CLOCK_REALTIME);
}

/* CLOCK_MONOTONIC in ns; aborts if the kernel refuses (never on Linux). */
int64_t oms_clock_mono_ns(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

/* ---------------------------------------------------------------------------------------- */
/* Calendar                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ---------------------------------------------------------------------------------------- */
/* Format                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Writes `width` decimal digits of v (0 <= v < 10^width) at p. */
static char *put_digits(char *p, int64_t v, int width)
{
    for (int k = width - 1; k >= 0; k--) {
        p[k] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Always "YYYY-MM-DDTHH:MM:SS.fffffffffZ" (30 chars, 9 fractional digits). Every int64 is
 * accepted, negative ones as dates before 1970 (years 1677..2262, always 4 digits). Fails only
 * with OMS_ERR_INVALID for a NULL buf or cap < 32 (buf[0] set to NUL when cap > 0). */
int oms_clock_format_iso(int64_t ts_ns, char *buf, size_t cap)
{
    if (buf == NULL)
        return OMS_ERR_INVALID;
    if (cap < ISO_CAP_MIN) {
        if (cap > 0)
            buf[0] = '\0';
        return OMS_ERR_INVALID;
    }

    /* Floor division without ever forming secs * 10^9, which overflows near INT64_MIN. */
    int64_t secs = ts_ns / NS_PER_SEC;
    int64_t nanos = ts_ns % NS_PER_SEC;
    if (nanos < 0) {
        nanos += NS_PER_SEC;
        secs -= 1;
    }
    int64_t days = secs / SEC_PER_DAY;
    int64_t sod = secs % SEC_PER_DAY;
    if (sod < 0) {
        sod += SEC_PER_DAY;
        days -= 1;
    }

    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);

    char *p = buf;
    p = put_digits(p, year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    *p++ = '.';
    p = put_digits(p, nanos, 9);
    *p++ = 'Z';
    *p = '\0';
    return (int)(p - buf);
}

/* ---------------------------------------------------------------------------------------- */
/* Parse                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* Reads exactly n digits at *p into *v; false if any is not a digit (a NUL included). */
static bool get_digits(const char **p, int n, int *v)
{
    int acc = 0;
    for (int k = 0; k < n; k++) {
        char c = (*p)[k];
        if (c < '0' || c > '9')
            return false;
        acc = acc * 10 + (c - '0');
    }
    *p += n;
    *v = acc;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Accepts exactly:
 *   YYYY-MM-DD                               midnight UTC
 *   YYYY-MM-DD(T| )HH:MM:SS[.f{1,9}][Z]
 * with a 4-digit year 0000..9999, month 01..12, day valid for the month (leap years by the
 * Gregorian rule), hour 00..23, minute 00..59, second 00..59 (no leap second 60). 'T' and 'Z'
 * are upper case only; no offsets (+01:00), no surrounding spaces, nothing after the 'Z'.
 * A NULL s, malformed text, and a well-formed time outside the int64 ns range (before
 * 1677-09-21T00:12:43.145224192Z or after 2262-04-11T23:47:16.854775807Z) all give
 * OMS_ERR_PARSE, the header's only error; *out_ns is untouched on failure. A NULL out_ns is a
 * programmer error (assert). */
int oms_clock_parse_iso(const char *s, int64_t *out_ns)
{
    assert(out_ns != NULL);
    if (s == NULL)
        return OMS_ERR_PARSE;

    const char *p = s;
    int year, month, day, hour = 0, minute = 0, second = 0;
    int64_t nanos = 0;

    if (!get_digits(&p, 4, &year) || !expect(&p, '-') || !get_digits(&p, 2, &month) ||
        !expect(&p, '-') || !get_digits(&p, 2, &day))
        return OMS_ERR_PARSE;

    if (*p != '\0') {
        if (*p != 'T' && *p != ' ')
            return OMS_ERR_PARSE;
        p++;
        if (!get_digits(&p, 2, &hour) || !expect(&p, ':') || !get_digits(&p, 2, &minute) ||
            !expect(&p, ':') || !get_digits(&p, 2, &second))
            return OMS_ERR_PARSE;
        if (*p == '.') {
            p++;
            int nd = 0;
            while (*p >= '0' && *p <= '9') {
                if (nd == 9)
                    return OMS_ERR_PARSE; /* more than 9 fractional digits */
                nanos = nanos * 10 + (*p - '0');
                nd++;
                p++;
            }
            if (nd == 0)
                return OMS_ERR_PARSE;
            for (; nd < 9; nd++)
                nanos *= 10;
        }
        if (*p == 'Z')
            p++;
        if (*p != '\0')
            return OMS_ERR_PARSE;
    }

    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 59)
        return OMS_ERR_PARSE;

    /* |days| < 2^22 for years 0..9999, so secs fits easily; the ns total is formed in 128 bits
     * and range-checked (secs * 10^9 alone can leave int64 near INT64_MIN). */
    int64_t days = days_from_civil(year, month, day);
    int64_t secs = days * SEC_PER_DAY + hour * 3600 + minute * 60 + second;
    i128 total = (i128)secs * NS_PER_SEC + nanos;
    if (total < INT64_MIN || total > INT64_MAX)
        return OMS_ERR_PARSE;
    *out_ns = (int64_t)total;
    return 0;
}
