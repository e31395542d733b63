/*
 * workload.c -- see workload.h.
 */
#include "workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void wl_scale_add(double *d, size_t n, double mul, double add)
{
    for (size_t i = 0; i < n; i++)
        d[i] = d[i] * mul + add;
}

double wl_average(const double *d, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d[i];
    return n ? sum / (double)n : NAN;
}

/* Rearranges v[0..n) so that v[k] holds the value it would hold sorted,
 * nothing after it is smaller and nothing before it larger (Hoare's
 * selection, median-of-three pivot).  Equal values stop both scans, so
 * an array of one value splits in halves, not in one and the rest. */
static double select_kth(double *v, long n, long k)
{
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a))
                             : (a < c ? a : (b < c ? c : b));
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        /* v[lo..j] <= pivot <= v[i..hi], and v(j..i) == pivot */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

double wl_median(const double *d, size_t n)
{
    if (n == 0)
        return NAN;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return NAN;
    memcpy(v, d, n * sizeof *v);
    long k = (long)(n / 2);
    double m = select_kth(v, (long)n, k);
    if (n % 2 == 0) {
        /* The lower middle value is the largest of those before v[k]. */
        double lower = v[0];
        for (long i = 1; i < k; i++)
            if (v[i] > lower)
                lower = v[i];
        m = (m + lower) / 2;
    }
    free(v);
    return m;
}

uint64_t wl_byte_sum(const unsigned char *b, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += b[i];
    return sum;
}

size_t wl_npy_f8_header(const unsigned char *buf, size_t len, size_t *count)
{
    if (len < 12 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return 0;
    size_t dict_at, dict_len;
    if (buf[6] == 1) {
        dict_at = 10;
        dict_len = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else if (buf[6] == 2 || buf[6] == 3) {
        dict_at = 12;
        dict_len = (size_t)buf[8] | (size_t)buf[9] << 8 |
                   (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    } else {
        return 0;
    }
    if (dict_len > len - dict_at)
        return 0;
    /* The dict as text, to search in. */
    char *dict = malloc(dict_len + 1);
    if (!dict)
        return 0;
    memcpy(dict, buf + dict_at, dict_len);
    dict[dict_len] = '\0';
    size_t n = 0;
    const char *shape = strstr(dict, "'shape': (");
    if (strstr(dict, "'descr': '<f8'") &&
        strstr(dict, "'fortran_order': False") && shape) {
        n = 1;
        const char *p = shape + 10;
        while (*p && *p != ')') {
            char *end;
            unsigned long long dim = strtoull(p, &end, 10);
            if (end == p) {
                n = 0;
                break;
            }
            n *= (size_t)dim;
            p = end;
            while (*p == ',' || *p == ' ')
                p++;
        }
        if (*p != ')')
            n = 0;
    }
    free(dict);
    if (!n)
        return 0;
    *count = n;
    return dict_at + dict_len;
}
