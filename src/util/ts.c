/* ts.c - clock reads and timestamp formatting/parsing without gmtime/timegm. */
#include "util/ts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ts_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int64_t ts_monotonic(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

enum ts_form { FORM_Z, FORM_OFFSET, FORM_FIXED };

/* Write v as exactly n decimal digits (v < 10^n). */
static char *put_digits(char *p, unsigned v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Every timestamp of every row and response passes through here (a restore shifts four per
 * memory, an export renders several per row), so the common case, years 0000-9999, is
 * written digit by digit; snprintf keeps the rest. */
static size_t format(int64_t us, char *out, size_t size, enum ts_form form)
{
    int64_t secs = us / 1000000, frac = us % 1000000, days, y;
    unsigned mo, d, sod;
    char buf[40], fr[16] = "", *p = buf;
    const char *zone = form == FORM_OFFSET ? "+00:00" : "Z";
    size_t len;
    int n;

    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    days = secs / 86400;
    if (secs % 86400 < 0)
        days -= 1;
    sod = (unsigned)(secs - days * 86400);
    civil_from_days(days, &y, &mo, &d);
    if (y < 0 || y > 9999) {
        if (frac || form == FORM_FIXED)
            snprintf(fr, sizeof(fr), ".%06d", (int)frac);
        n = snprintf(out, size, "%04lld-%02u-%02uT%02u:%02u:%02u%s%s", (long long)y, mo, d,
                     sod / 3600, sod / 60 % 60, sod % 60, fr, zone);
        return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
    }
    p = put_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, mo, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    if (frac || form == FORM_FIXED) {
        *p++ = '.';
        p = put_digits(p, (unsigned)frac, 6);
    }
    len = strlen(zone);
    memcpy(p, zone, len + 1);
    len += (size_t)(p - buf);
    if (size == 0)
        return 0;
    if (len >= size)
        len = size - 1;
    memcpy(out, buf, len);
    out[len] = '\0';
    return len;
}

size_t ts_format_z(int64_t us, char *out, size_t size)
{
    return format(us, out, size, FORM_Z);
}

size_t ts_format_offset(int64_t us, char *out, size_t size)
{
    return format(us, out, size, FORM_OFFSET);
}

size_t ts_format_fixed(int64_t us, char *out, size_t size)
{
    return format(us, out, size, FORM_FIXED);
}

static int digits(const char **s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        char c = (*s)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int parse_offset(const char *p, int *off_min)
{
    int sign, hh, mm = 0;

    if (*p == 'Z' || *p == 'z') {
        *off_min = 0;
        return p[1] ? -1 : 0;
    }
    if (*p == '\0') {
        *off_min = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if (digits(&p, 2, &hh) < 0)
        return -1;
    if (*p == ':') {           /* "+05:" is invalid: a colon needs minutes */
        p++;
        if (digits(&p, 2, &mm) < 0)
            return -1;
    } else if (*p && digits(&p, 2, &mm) < 0) {
        return -1;
    }
    if (*p || hh > 23 || mm > 59)
        return -1;
    *off_min = sign * (hh * 60 + mm);
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

/* The part after the date: separator, HH:MM[:SS[.f...]] and the offset. */
static int parse_time(const char *p, int *h, int *mi, int *se, int *frac, int *off)
{
    int nfrac = 0;

    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, h) < 0 || *p++ != ':' || digits(&p, 2, mi) < 0)
        return -1;
    if (*p != ':')             /* seconds are optional; a fraction needs them */
        return parse_offset(p, off);
    p++;
    if (digits(&p, 2, se) < 0)
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            if (nfrac < 6) {
                *frac = *frac * 10 + (*p - '0');
                nfrac++;
            }
            p++;
        }
        while (nfrac < 6) {
            *frac *= 10;
            nfrac++;
        }
    }
    return parse_offset(p, off);
}

int ts_parse(const char *s, int64_t *us)
{
    int y, mo, d, h = 0, mi = 0, se = 0, off = 0, frac = 0;
    const char *p = s;
    int64_t t;

    if (!s || digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return -1;
    /* A date alone is midnight UTC. */
    if (*p && parse_time(p, &h, &mi, &se, &frac, &off) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return -1;
    t = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se) -
         (int64_t)off * 60) * 1000000 + frac;
    /* An offset can carry a time past either end of years 0000-9999, which the writers (and
     * the stored fixed form) cannot express: "0000-01-01T00:02+10" is in year -1. */
    if (t < days_from_civil(0, 1, 1) * 86400 * 1000000 ||
        t >= days_from_civil(10000, 1, 1) * 86400 * 1000000)
        return -1;
    *us = t;
    return 0;
}
