/*
 * test_array_stats.c -- bmp_array_stats: values known exactly (small sets,
 * and a large common offset that ruins a one-pass sum of squares), NaNs
 * left out, medians of odd and even counts checked against a sort on
 * orders that defeat naive selection, every real dtype in both byte
 * orders, empty and all-NaN arrays, infinities and huge values, NumPy's
 * nan* functions on random data, and bad arguments.
 */
#include "bigmultipipe.h"

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NATIVE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')
#define OTHER (NATIVE == '<' ? '>' : '<')

static bmp_array *f64_array(const double *v, size_t n)
{
    size_t shape[1] = {n};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT64, 1, shape);
    assert_non_null(a);
    if (n)
        memcpy(a->data, v, n * sizeof *v);
    return a;
}

static bmp_stats stats_of(const bmp_array *a, int ddof)
{
    bmp_stats s;
    bmp_error err = {0};
    if (bmp_array_stats(a, ddof, &s, &err) != 0)
        fail_msg("%s", err.text);
    return s;
}

/* |got - want| within `rel` of |want| (exact when rel is 0). */
static void assert_close(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("%s: %.17g, expected %.17g", what, got, want);
}

static void stats_small_exact(void **state)
{
    (void)state;
    const double v[] = {4, 1, 3, 2};
    bmp_array *a = f64_array(v, 4);
    bmp_stats s = stats_of(a, 0);
    assert_int_equal(s.count, 4);
    assert_int_equal(s.nan_count, 0);
    assert_true(s.mean == 2.5);
    assert_true(s.median == 2.5);
    assert_true(s.min == 1 && s.max == 4);
    assert_close(s.std, sqrt(1.25), 1e-15, "std, ddof 0");
    s = stats_of(a, 1);
    assert_close(s.std, sqrt(5.0 / 3), 1e-15, "std, ddof 1");
    /* The caller's array is not reordered by the selection. */
    assert_memory_equal(a->data, v, sizeof v);
    bmp_array_free(a);

    const double odd[] = {7, -1, 5};
    a = f64_array(odd, 3);
    s = stats_of(a, 0);
    assert_true(s.median == 5);
    assert_close(s.mean, 11.0 / 3, 1e-15, "mean");
    bmp_array_free(a);

    const double one[] = {42};
    a = f64_array(one, 1);
    s = stats_of(a, 0);
    assert_true(s.mean == 42 && s.median == 42 && s.std == 0);
    assert_true(s.min == 42 && s.max == 42);
    s = stats_of(a, 1); /* no degree of freedom left */
    assert_true(isnan(s.std));
    assert_true(s.mean == 42);
    bmp_array_free(a);
}

/* x = offset + k for k = -500 .. 500: the mean is the offset and the
 * variance sum(k^2) / 1001 = 500 * 501 / 3 = 83500, exactly.  With the
 * offset at 1e12, x^2 is about 1e24, whose rounding (about 1e8) a
 * one-pass sum of squares would leave in a variance of 83500. */
static void stats_large_offset(void **state)
{
    (void)state;
    const double offsets[] = {0, 1e6, 1e9, 1e12};
    for (size_t o = 0; o < 4; o++) {
        double *v = malloc(1001 * sizeof *v);
        for (int k = -500; k <= 500; k++) /* shuffled: 389 is prime to 1001 */
            v[(size_t)((k + 500) * 389 % 1001)] = offsets[o] + k;
        bmp_array *a = f64_array(v, 1001);
        bmp_stats s = stats_of(a, 0);
        assert_true(s.mean == offsets[o]);
        assert_true(s.median == offsets[o]);
        assert_true(s.min == offsets[o] - 500 && s.max == offsets[o] + 500);
        assert_close(s.std, sqrt(83500.0), 1e-12, "std at an offset");
        bmp_array_free(a);

        /* The same in float32, where the offset must stay below 2^24 for
         * the values to be exact. */
        if (offsets[o] < 1e7) {
            size_t shape[1] = {1001};
            bmp_array *f = bmp_array_new(BMP_DTYPE_FLOAT32, 1, shape);
            for (size_t i = 0; i < 1001; i++)
                bmp_array_f32(f)[i] = (float)v[i];
            s = stats_of(f, 0);
            assert_true(s.mean == offsets[o]);
            assert_close(s.std, sqrt(83500.0), 1e-12, "float32 std");
            bmp_array_free(f);
        }
        free(v);
    }
}

static void stats_nan_left_out(void **state)
{
    (void)state;
    const double v[] = {NAN, 1, NAN, 3, -NAN};
    bmp_array *a = f64_array(v, 5);
    bmp_stats s = stats_of(a, 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.nan_count, 3);
    assert_true(s.mean == 2 && s.median == 2 && s.std == 1);
    assert_true(s.min == 1 && s.max == 3);
    bmp_array_free(a);

    /* All NaN, and empty: nothing to describe, and no error. */
    a = f64_array(v, 1);
    s = stats_of(a, 0);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.nan_count, 1);
    assert_true(isnan(s.mean) && isnan(s.std) && isnan(s.median));
    assert_true(isnan(s.min) && isnan(s.max));
    bmp_array_free(a);
    size_t shape[2] = {3, 0};
    a = bmp_array_new(BMP_DTYPE_UINT16, 2, shape);
    s = stats_of(a, 0);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.nan_count, 0);
    assert_true(isnan(s.mean) && isnan(s.median));
    bmp_array_free(a);
}

static void stats_infinities_and_huge_values(void **state)
{
    (void)state;
    const double inf[] = {INFINITY, 1, -INFINITY};
    bmp_array *a = f64_array(inf, 3);
    bmp_stats s = stats_of(a, 0);
    assert_int_equal(s.count, 3);
    assert_true(s.median == 1);
    assert_true(s.min == -INFINITY && s.max == INFINITY);
    assert_true(isnan(s.mean)); /* inf - inf, as NumPy */
    bmp_array_free(a);

    /* The two middle values' sum overflows; their mean does not. */
    const double huge[] = {1.5e308, 1e308, -1e308, 1.7e308};
    a = f64_array(huge, 4);
    s = stats_of(a, 0);
    assert_close(s.median, 1.25e308, 1e-15, "median of huge values");
    assert_true(s.max == 1.7e308);
    bmp_array_free(a);

    /* int64 and uint64 at their ends. */
    size_t shape[1] = {3};
    bmp_array *i = bmp_array_new(BMP_DTYPE_INT64, 1, shape);
    ((int64_t *)i->data)[0] = INT64_MIN;
    ((int64_t *)i->data)[1] = INT64_MAX;
    ((int64_t *)i->data)[2] = 0;
    s = stats_of(i, 0);
    assert_true(s.min == -0x1p63 && s.max == 0x1p63 && s.median == 0);
    bmp_array_free(i);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median by a sort, the independent way. */
static double sorted_median(const double *v, size_t n)
{
    double *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

/* Orders that make simple quickselects quadratic or wrong: sorted,
 * reversed, all equal, few distinct values, organ pipe, a sawtooth, and
 * pseudo-random; every count from 1 to 70, and a few large ones. */
static void stats_median_by_selection(void **state)
{
    (void)state;
    /* Above 262144 values the median is found through a sample. */
    const size_t big[] = {1000, 4097, 100000, 300000, 300001};
    uint64_t seed = 15;
    for (size_t round = 0; round < 70 + 5; round++) {
        size_t n = round < 70 ? round + 1 : big[round - 70];
        double *v = malloc(n * sizeof *v);
        for (int pattern = 0; pattern < 7; pattern++) {
            for (size_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                switch (pattern) {
                case 0: v[i] = (double)i; break;
                case 1: v[i] = (double)(n - i); break;
                case 2: v[i] = 7; break;
                case 3: v[i] = (double)(seed >> 62); break;
                case 4: v[i] = (double)(i < n / 2 ? i : n - i); break;
                case 5: v[i] = (double)(i % 17); break;
                default: v[i] = (double)(seed >> 11) * 0x1p-53 - 0.5; break;
                }
            }
            double want = sorted_median(v, n);
            bmp_array *a = f64_array(v, n);
            bmp_stats s = stats_of(a, 0);
            if (s.median != want)
                fail_msg("n %zu, pattern %d: median %.17g, sorted %.17g", n,
                         pattern, s.median, want);
            /* The float path (float32 scratch) too. */
            bmp_array *f = NULL;
            assert_int_equal(bmp_array_convert(a, BMP_DTYPE_FLOAT32, &f, NULL),
                             0);
            for (size_t i = 0; i < n; i++)
                v[i] = bmp_array_f32(f)[i];
            want = sorted_median(v, n);
            s = stats_of(f, 0);
            if (s.median != want)
                fail_msg("float32, n %zu, pattern %d: median %.17g, not %.17g",
                         n, pattern, s.median, want);
            bmp_array_free(f);
            bmp_array_free(a);
        }
        free(v);
    }
}

/* The sample of a large array misleads when every value it reads is the
 * smallest: this builds such an array, replaying the sampler's sequence
 * (array_stats_kernels.h: SAMPLE 16384 draws of a 64-bit LCG from a fixed
 * seed), and checks that the median is still right. */
static void stats_median_misleading_sample(void **state)
{
    (void)state;
    const size_t counts[] = {300000, 300001};
    for (size_t c = 0; c < 2; c++) {
        size_t n = counts[c];
        double *v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = 1000.0 + (double)((i * 7919) % n);
        uint64_t seed = 0x9e3779b97f4a7c15u;
        for (size_t i = 0; i < 16384; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            v[(seed >> 11) % n] = -1;
        }
        double want = sorted_median(v, n);
        bmp_array *a = f64_array(v, n);
        bmp_stats s = stats_of(a, 0);
        if (s.median != want)
            fail_msg("n %zu: median %.17g, sorted %.17g", n, s.median, want);
        bmp_array_free(a);
        free(v);
    }
}

/* Flips each element's bytes and the array's byte order. */
static void flip_order(bmp_array *a)
{
    unsigned char *p = a->data;
    for (size_t off = 0; off < a->nbytes; off += a->itemsize)
        for (size_t k = 0; k < a->itemsize / 2; k++) {
            unsigned char t = p[off + k];
            p[off + k] = p[off + a->itemsize - 1 - k];
            p[off + a->itemsize - 1 - k] = t;
        }
    a->byteorder = a->byteorder == '<' ? '>' : '<';
}

static void stats_every_real_dtype(void **state)
{
    (void)state;
    const bmp_dtype real[] = {
        BMP_DTYPE_INT8,    BMP_DTYPE_INT16,   BMP_DTYPE_INT32,
        BMP_DTYPE_INT64,   BMP_DTYPE_UINT8,   BMP_DTYPE_UINT16,
        BMP_DTYPE_UINT32,  BMP_DTYPE_UINT64,  BMP_DTYPE_FLOAT16,
        BMP_DTYPE_FLOAT32, BMP_DTYPE_FLOAT64,
    };
    const double v[] = {5, 1, 4, 2, 3, 100};
    for (size_t d = 0; d < sizeof real / sizeof *real; d++)
        for (int o = 0; o < 2; o++) {
            bmp_array *a64 = f64_array(v, 6), *a = NULL;
            assert_int_equal(bmp_array_convert(a64, real[d], &a, NULL), 0);
            if (o && a->itemsize > 1)
                flip_order(a);
            bmp_stats s = stats_of(a, 0);
            assert_int_equal(s.count, 6);
            assert_true(s.mean == 115.0 / 6 ||
                        fabs(s.mean - 115.0 / 6) < 1e-14);
            assert_true(s.median == 3.5);
            assert_true(s.min == 1 && s.max == 100);
            bmp_array_free(a);
            bmp_array_free(a64);
        }
    /* bool: true is 1. */
    size_t shape[1] = {3};
    bmp_array *b = bmp_array_new(BMP_DTYPE_BOOL, 1, shape);
    memcpy(b->data, "\1\0\1", 3);
    bmp_stats s = stats_of(b, 0);
    assert_true(s.median == 1 && s.min == 0 && s.max == 1);
    assert_close(s.mean, 2.0 / 3, 1e-15, "mean of bools");
    bmp_array_free(b);
}

/* ---- NumPy as the reference ------------------------------------------- */

static int numpy_available(void)
{
    return BMP_PYTHON[0] && access(BMP_PYTHON, X_OK) == 0 &&
           tu_system("'%s' -c 'import numpy' 2>/dev/null", BMP_PYTHON) == 0;
}

/* NumPy's nan* functions, in float64, on the file given; one line of
 * numbers out. */
static const char numpy_script[] =
    "import sys, numpy as np\n"
    "a = np.load(sys.argv[1]).astype(np.float64)\n"
    "r = [np.nanmean(a), np.nanstd(a), np.nanstd(a, ddof=1), np.nanmin(a),\n"
    "     np.nanmax(a), np.nanmedian(a), np.count_nonzero(np.isnan(a))]\n"
    "print(' '.join(repr(float(x)) for x in r))\n";

static void stats_match_numpy(void **state)
{
    (void)state;
    if (!numpy_available())
        skip();
    char *dir = tu_mkdtemp();
    char *script = tu_join(dir, "stats.py");
    char *data = tu_join(dir, "data.npy");
    char *result = tu_join(dir, "result.txt");
    tu_write_file(script, numpy_script, strlen(numpy_script));
    /* A CCD-like frame: a level of 1e4 (and of 1e9, for float64) with
     * noise, a few cosmic rays, and NaNs; odd and even counts. */
    const bmp_dtype dtypes[] = {BMP_DTYPE_FLOAT32, BMP_DTYPE_FLOAT64,
                                BMP_DTYPE_UINT16, BMP_DTYPE_INT32};
    const size_t counts[] = {100001, 65536};
    uint64_t seed = 1;
    for (size_t d = 0; d < 4; d++)
        for (size_t c = 0; c < 2; c++) {
            size_t shape[2] = {counts[c] / 16, 16};
            if (counts[c] % 16)
                shape[0] = counts[c], shape[1] = 1;
            bmp_array *a = bmp_array_new(dtypes[d], 2, shape);
            double level = dtypes[d] == BMP_DTYPE_FLOAT64 ? 1e9 : 1e4;
            for (size_t i = 0; i < a->count; i++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                double u = (double)(seed >> 11) * 0x1p-53;
                double x = level + 30 * (u - 0.5);
                if (i % 997 == 0)
                    x += 20000; /* a cosmic ray */
                if (i % 1009 == 5 && dtypes[d] != BMP_DTYPE_UINT16 &&
                    dtypes[d] != BMP_DTYPE_INT32)
                    x = NAN;
                bmp_array_set_double(a, i, x);
            }
            bmp_error err = {0};
            assert_int_equal(bmp_npy_write(data, a, 0, &err), 0);
            assert_int_equal(tu_system("'%s' '%s' '%s' > '%s'", BMP_PYTHON,
                                       script, data, result),
                             0);
            char *text = tu_read_file(result, NULL);
            double want[7];
            assert_int_equal(sscanf(text, "%lf %lf %lf %lf %lf %lf %lf",
                                    &want[0], &want[1], &want[2], &want[3],
                                    &want[4], &want[5], &want[6]),
                             7);
            free(text);
            bmp_stats s0 = stats_of(a, 0), s1 = stats_of(a, 1);
            assert_close(s0.mean, want[0], 1e-14, "mean");
            assert_close(s0.std, want[1], 1e-9, "std");
            assert_close(s1.std, want[2], 1e-9, "std, ddof 1");
            assert_true(s0.min == want[3] && s0.max == want[4]);
            assert_true(s0.median == want[5]);
            assert_int_equal(s0.nan_count, (size_t)want[6]);
            assert_int_equal(s0.count + s0.nan_count, a->count);
            bmp_array_free(a);
        }
    tu_rmtree(dir);
    free(script);
    free(data);
    free(result);
    free(dir);
}

static void stats_bad_arguments(void **state)
{
    (void)state;
    size_t shape[1] = {2};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT32, 1, shape);
    bmp_stats s = {.count = 99};
    bmp_error err = {0};
    assert_int_equal(bmp_array_stats(NULL, 0, &s, &err), BMP_EINVAL);
    assert_non_null(strstr(err.text, "the array is NULL"));
    assert_string_equal(err.stage, "stats");
    assert_int_equal(bmp_array_stats(a, 0, NULL, NULL), BMP_EINVAL);
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_array_stats(a, -1, &s, &err), BMP_EINVAL);
    assert_non_null(strstr(err.text, "ddof -1"));
    a->dtype = (bmp_dtype)77;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_array_stats(a, 0, &s, &err), BMP_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "unknown dtype"));
    a->dtype = BMP_DTYPE_FLOAT32;
    a->count = 5; /* disagrees with nbytes */
    assert_int_equal(bmp_array_stats(a, 0, &s, NULL), BMP_EINVAL);
    a->count = 2;
    assert_int_equal(s.count, 99); /* untouched by every failure */
    bmp_array_free(a);

    bmp_array *c = bmp_array_new(BMP_DTYPE_COMPLEX128, 1, shape);
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_array_stats(c, 0, &s, &err), BMP_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "complex128"));
    bmp_array_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stats_small_exact),
        cmocka_unit_test(stats_large_offset),
        cmocka_unit_test(stats_nan_left_out),
        cmocka_unit_test(stats_infinities_and_huge_values),
        cmocka_unit_test(stats_median_by_selection),
        cmocka_unit_test(stats_median_misleading_sample),
        cmocka_unit_test(stats_every_real_dtype),
        cmocka_unit_test(stats_match_numpy),
        cmocka_unit_test(stats_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
