/*
 * array_stats.c -- mean, standard deviation, minimum, maximum and median
 * of an array in one call (bmp_array_stats).
 *
 * One pass copies the values that are not NaN into a scratch buffer; the
 * sums, the extremes and the selection of the median then work on that
 * buffer without a test per element.  The copy is needed anyway: the
 * selection reorders what it works on, and the caller's array must not
 * change.  The buffer is float for the types float holds exactly (up to
 * 16-bit integers and float32), so the usual CCD image costs 4 bytes an
 * element and the selection moves half the memory; double otherwise.
 * Sums are always taken in double.
 *
 * Rejected: sorting for the median (O(n log n); qsort's indirect compare
 * made it the slowest part of a CCD reduction); a histogram for integer
 * images (fast, but only for them, and the values are rarely integers
 * once a bias is subtracted); Welford's one-pass update (a division per
 * element, and no more accurate than two passes over data in memory).
 */
#include "array_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define KERNEL_T float
#define KERNEL(name) name##_f32
#include "array_stats_kernels.h"
#undef KERNEL_T
#undef KERNEL

#define KERNEL_T double
#define KERNEL(name) name##_f64
#include "array_stats_kernels.h"
#undef KERNEL_T
#undef KERNEL

/* Copies the elements of `x` (n of `type`) that are not NaN to `out` (of
 * `work` type); their number into `kept`. */
#define GATHER(type, work)                   \
    do {                                     \
        const type *x = src;                 \
        work *o = out;                       \
        size_t m = 0;                        \
        for (size_t i = 0; i < n; i++) {     \
            o[m] = (work)x[i];               \
            m += x[i] == x[i]; /* not NaN */ \
        }                                    \
        *kept = m;                           \
    } while (0)

/* 1 when the values of dtype d are exact in a float. */
static int float_holds(bmp_dtype d)
{
    return d == BMP_DTYPE_INT8 || d == BMP_DTYPE_UINT8 ||
           d == BMP_DTYPE_INT16 || d == BMP_DTYPE_UINT16 ||
           d == BMP_DTYPE_FLOAT32;
}

/* The values of a native array of a real dtype other than bool and
 * float16, NaNs left out. */
static void gather(bmp_dtype d, const void *src, size_t n, void *out,
                   size_t *kept)
{
    if (float_holds(d)) {
        switch (d) {
        case BMP_DTYPE_INT8: GATHER(int8_t, float); return;
        case BMP_DTYPE_UINT8: GATHER(uint8_t, float); return;
        case BMP_DTYPE_INT16: GATHER(int16_t, float); return;
        case BMP_DTYPE_UINT16: GATHER(uint16_t, float); return;
        default: GATHER(float, float); return;
        }
    }
    switch (d) {
    case BMP_DTYPE_INT32: GATHER(int32_t, double); return;
    case BMP_DTYPE_UINT32: GATHER(uint32_t, double); return;
    case BMP_DTYPE_INT64: GATHER(int64_t, double); return;
    case BMP_DTYPE_UINT64: GATHER(uint64_t, double); return;
    default: GATHER(double, double); return;
    }
}

int bmp_array_stats(const bmp_array *a, int ddof, bmp_stats *st,
                    bmp_error *err)
{
    if (!a || !st)
        return bmp_error_set(err, BMP_EINVAL, "stats", NULL,
                             "no statistics: %s is NULL",
                             a ? "the result pointer" : "the array");
    if (!bmp_dtype_size(a->dtype))
        return bmp_error_set(err, BMP_EUNSUPPORTED, "stats", NULL,
                             "no statistics of dtype %d: unknown dtype",
                             (int)a->dtype);
    if (a->dtype == BMP_DTYPE_COMPLEX64 || a->dtype == BMP_DTYPE_COMPLEX128)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "stats", NULL,
                             "no statistics of a %s array: complex values "
                             "have no order (take the real part or the "
                             "modulus first)",
                             bmp_dtype_name(a->dtype));
    if (!bmp__array_check(a))
        return bmp_error_set(err, BMP_EINVAL, "stats", NULL,
                             "no statistics of the %s array: its itemsize, "
                             "count, nbytes, data and byteorder disagree",
                             bmp_dtype_name(a->dtype));
    if (ddof < 0)
        return bmp_error_set(err, BMP_EINVAL, "stats", NULL,
                             "no statistics with ddof %d: it must be 0 or "
                             "more",
                             ddof);

    /* Byte-swapped, bool and float16 arrays are rare: a native copy of
     * them lets the loops below read plain C types. */
    bmp_array *copy = NULL;
    if (!bmp__array_is_native(a) || a->dtype == BMP_DTYPE_BOOL ||
        a->dtype == BMP_DTYPE_FLOAT16) {
        bmp_dtype to = a->dtype == BMP_DTYPE_BOOL      ? BMP_DTYPE_UINT8
                       : a->dtype == BMP_DTYPE_FLOAT16 ? BMP_DTYPE_FLOAT32
                                                       : a->dtype;
        int rc = bmp_array_convert(a, to, &copy, err);
        if (rc < 0)
            return rc;
        a = copy;
    }

    int narrow = float_holds(a->dtype);
    size_t size = narrow ? sizeof(float) : sizeof(double);
    void *values = bmp__array_malloc(a->count * size);
    if (!values) {
        bmp_array_free(copy);
        return bmp_error_set(err, -ENOMEM, "stats", NULL,
                             "no statistics: out of memory for a copy of "
                             "%zu values",
                             a->count);
    }
    size_t n;
    gather(a->dtype, a->data, a->count, values, &n);

    bmp_stats s = {.count = n, .nan_count = a->count - n};
    s.mean = s.std = s.min = s.max = s.median = NAN;
    if (n > 0) {
        double d1, d2;
        if (narrow) {
            s.mean = sum_f32(values, n) / (double)n;
            deviations_f32(values, n, s.mean, &d1, &d2);
            min_max_f32(values, n, &s.min, &s.max);
            s.median = median_f32(values, n);
        } else {
            s.mean = sum_f64(values, n) / (double)n;
            deviations_f64(values, n, s.mean, &d1, &d2);
            min_max_f64(values, n, &s.min, &s.max);
            s.median = median_f64(values, n);
        }
        if (n > (size_t)ddof) {
            /* Rounding can leave a variance of identical values a hair
             * below 0; a square root of that would be NaN. */
            double var = (d2 - d1 * d1 / (double)n) / (double)(n - ddof);
            s.std = sqrt(var > 0 ? var : 0);
        }
    }
    free(values);
    bmp_array_free(copy);
    *st = s;
    return 0;
}
