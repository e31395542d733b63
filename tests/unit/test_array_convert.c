/*
 * test_array_convert.c -- bmp_array_convert (NumPy's astype): every dtype
 * pair in both byte orders, NumPy's own results on values chosen to round
 * (written by NumPy, compared byte for byte), the values refused and
 * their messages, empty and scalar arrays, bad arguments; bmp_array_free
 * and the typed data accessors.
 */
#include "bigmultipipe.h"

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define NATIVE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')
#define OTHER (NATIVE == '<' ? '>' : '<')

static const bmp_dtype all_dtypes[] = {
    BMP_DTYPE_BOOL,      BMP_DTYPE_INT8,       BMP_DTYPE_INT16,
    BMP_DTYPE_INT32,     BMP_DTYPE_INT64,      BMP_DTYPE_UINT8,
    BMP_DTYPE_UINT16,    BMP_DTYPE_UINT32,     BMP_DTYPE_UINT64,
    BMP_DTYPE_FLOAT16,   BMP_DTYPE_FLOAT32,    BMP_DTYPE_FLOAT64,
    BMP_DTYPE_COMPLEX64, BMP_DTYPE_COMPLEX128,
};
#define N_DTYPES (sizeof all_dtypes / sizeof all_dtypes[0])

static int is_complex(bmp_dtype d)
{
    return d == BMP_DTYPE_COMPLEX64 || d == BMP_DTYPE_COMPLEX128;
}

/* Reverses each element's bytes (each half's, for complex) and flips the
 * array's byte order: the same values, stored the other way round. */
static void flip_order(bmp_array *a)
{
    if (a->itemsize == 1)
        return;
    size_t part = is_complex(a->dtype) ? a->itemsize / 2 : a->itemsize;
    unsigned char *p = a->data;
    for (size_t off = 0; off < a->nbytes; off += part)
        for (size_t k = 0; k < part / 2; k++) {
            unsigned char t = p[off + k];
            p[off + k] = p[off + part - 1 - k];
            p[off + part - 1 - k] = t;
        }
    a->byteorder = a->byteorder == '<' ? '>' : '<';
}

/* Small whole numbers every dtype holds exactly, and their float16 bits
 * (IEEE 754 binary16: 1.0 is 0x3c00; 100 = 1.5625 * 2^6; 127 =
 * 1.984375 * 2^6). */
static const double small[] = {0, 1, 2, 100, 127};
static const uint16_t small_half[] = {0x0000, 0x3c00, 0x4000, 0x5640, 0x57f0};
#define N_SMALL 5

/* An array of dtype d holding small[] (0 and 1 alternating for bool), in
 * byte order `order`. */
static bmp_array *small_array(bmp_dtype d, char order)
{
    size_t shape[1] = {N_SMALL};
    bmp_array *a = bmp_array_new(d, 1, shape);
    assert_non_null(a);
    for (size_t i = 0; i < N_SMALL; i++) {
        if (d == BMP_DTYPE_FLOAT16)
            memcpy((uint16_t *)a->data + i, &small_half[i], 2);
        else
            bmp_array_set_double(a, i, d == BMP_DTYPE_BOOL ? i % 2 : small[i]);
    }
    if (order != NATIVE)
        flip_order(a);
    return a;
}

/* Every dtype to every dtype, from either byte order: the values arrive,
 * the result is native with the source's shape and order, the source is
 * unchanged. */
static void convert_every_pair(void **state)
{
    (void)state;
    for (int o = 0; o < 2; o++) {
        char order = o ? OTHER : NATIVE;
        for (size_t s = 0; s < N_DTYPES; s++) {
            bmp_dtype from = all_dtypes[s];
            for (size_t t = 0; t < N_DTYPES; t++) {
                bmp_dtype to = all_dtypes[t];
                bmp_array *a = small_array(from, order);
                a->fortran_order = 1;
                void *before = malloc(a->nbytes);
                memcpy(before, a->data, a->nbytes);
                bmp_array *b = NULL;
                bmp_error err = {0};
                int rc = bmp_array_convert(a, to, &b, &err);
                if (rc != 0)
                    fail_msg("%s -> %s: %s", bmp_dtype_name(from),
                             bmp_dtype_name(to), err.text);
                assert_int_equal(b->dtype, to);
                assert_int_equal(b->ndim, 1);
                assert_int_equal(b->shape[0], N_SMALL);
                assert_int_equal(b->fortran_order, 1);
                assert_null(b->header);
                assert_int_equal(b->byteorder,
                                 b->itemsize == 1 ? '|' : NATIVE);
                for (size_t i = 0; i < N_SMALL; i++) {
                    double want = from == BMP_DTYPE_BOOL ? (double)(i % 2)
                                                         : small[i];
                    if (to == BMP_DTYPE_BOOL)
                        want = want != 0;
                    double got = bmp_array_get_double(b, i);
                    if (got != want)
                        fail_msg("%s -> %s (%c): element %zu is %g, not %g",
                                 bmp_dtype_name(from), bmp_dtype_name(to),
                                 order, i, got, want);
                    if (is_complex(to)) {
                        if (to == BMP_DTYPE_COMPLEX64)
                            assert_true(((float *)b->data)[2 * i + 1] == 0);
                        else
                            assert_true(((double *)b->data)[2 * i + 1] == 0);
                    }
                }
                assert_memory_equal(before, a->data, a->nbytes);
                free(before);
                bmp_array_free(b);
                bmp_array_free(a);
            }
        }
    }
}

/* ---- NumPy as the reference ------------------------------------------- */

static int numpy_available(void)
{
    return BMP_PYTHON[0] && access(BMP_PYTHON, X_OK) == 0 &&
           tu_system("'%s' -c 'import numpy' 2>/dev/null", BMP_PYTHON) == 0;
}

/* NumPy makes sources of six dtypes with values that round, overflow or
 * sit on the edges of the integer ranges, and for each target dtype
 * saves the values the target can hold (src) and their astype (out). */
static const char numpy_script[] =
    "import math, sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "rng = np.random.default_rng(15)\n"
    "f = np.concatenate([rng.standard_normal(3000) *\n"
    "                    10.0 ** rng.integers(-12, 25, 3000),\n"
    "  [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.9999, -0.9999, 65504.0,\n"
    "   65519.99, 65520.0, 1e-8, 6e-8, 2.0**-24, 2.0**-25, 3 * 2.0**-26,\n"
    "   2.0**-14, 2.0**-14 - 2.0**-25, 127.9, -128.9, 255.99, 2.0**31,\n"
    "   -2.0**31 - 0.5, 2.0**63, 2.0**64 - 2048, -2.0**63, 16777217.0,\n"
    "   3.4e38, 3.5e38, 1e-46, np.inf, -np.inf, np.nan]])\n"
    "i8 = np.concatenate([rng.integers(-2**63, 2**63 - 1, 1000,\n"
    "   dtype=np.int64), np.array([2**53 + 1, 2**24 + 1, -2**63,\n"
    "   2**63 - 1, 0, -1, 65519, 65520, 127, -128, 255], dtype=np.int64)])\n"
    "u8 = np.concatenate([rng.integers(0, 2**64 - 1, 1000, dtype=np.uint64,\n"
    "   endpoint=True), np.array([2**64 - 1, 2**53 + 1, 2**63, 0],\n"
    "   dtype=np.uint64)])\n"
    "with np.errstate(all='ignore'):\n"
    "    sources = {'float64': f, 'float32': f.astype(np.float32),\n"
    "               'float16': f.astype(np.float16), 'int64': i8,\n"
    "               'uint64': u8, 'int16': np.concatenate([rng.integers(\n"
    "               -2**15, 2**15, 500, dtype=np.int16), np.array([0, 1, -1,\n"
    "               127, -128, 255, 32767, -32768], dtype=np.int16)])}\n"
    "targets = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8',\n"
    "           'uint16', 'uint32', 'uint64', 'float16', 'float32',\n"
    "           'float64', 'complex64', 'complex128']\n"
    "for sn, s in sources.items():\n"
    "    for t in targets:\n"
    "        dt = np.dtype(t)\n"
    "        if dt.kind in 'iu':\n"
    "            lo, hi = np.iinfo(dt).min, np.iinfo(dt).max\n"
    "            keep = [not (isinstance(v, float) and not math.isfinite(v))\n"
    "                    and lo <= math.trunc(v) <= hi for v in s.tolist()]\n"
    "            s2 = s[np.array(keep, dtype=bool)]\n"
    "        else:\n"
    "            s2 = s\n"
    "        with np.errstate(all='ignore'):\n"
    "            out = s2.astype(dt)\n"
    "        np.save(f'{d}/{sn}_{t}_src.npy', s2)\n"
    "        np.save(f'{d}/{sn}_{t}_out.npy', out)\n";

static const char *numpy_sources[] = {"float64", "float32", "float16",
                                      "int64",   "uint64",  "int16"};

/* Compares b with NumPy's `want`, byte for byte: NumPy and this library
 * must round every value the same way. */
static void assert_same_as_numpy(const bmp_array *b, const bmp_array *want,
                                 const char *what)
{
    assert_int_equal(b->dtype, want->dtype);
    assert_int_equal(b->count, want->count);
    if (memcmp(b->data, want->data, b->nbytes) == 0)
        return;
    for (size_t i = 0; i < b->count; i++)
        if (memcmp((unsigned char *)b->data + i * b->itemsize,
                   (unsigned char *)want->data + i * want->itemsize,
                   b->itemsize) != 0)
            fail_msg("%s: element %zu is %.17g, NumPy says %.17g", what, i,
                     bmp_array_get_double(b, i),
                     bmp_array_get_double(want, i));
}

static void convert_matches_numpy(void **state)
{
    (void)state;
    if (!numpy_available())
        skip();
    char *dir = tu_mkdtemp();
    char *script = tu_join(dir, "make.py");
    tu_write_file(script, numpy_script, strlen(numpy_script));
    assert_int_equal(tu_system("'%s' '%s' '%s'", BMP_PYTHON, script, dir), 0);
    size_t compared = 0;
    for (size_t s = 0; s < sizeof numpy_sources / sizeof *numpy_sources; s++)
        for (size_t t = 0; t < N_DTYPES; t++) {
            const char *tn = bmp_dtype_name(all_dtypes[t]);
            char name[128], what[128];
            snprintf(name, sizeof name, "%s_%s_src.npy", numpy_sources[s], tn);
            char *src_path = tu_join(dir, name);
            snprintf(name, sizeof name, "%s_%s_out.npy", numpy_sources[s], tn);
            char *out_path = tu_join(dir, name);
            bmp_array *src = NULL, *want = NULL, *b = NULL;
            bmp_error err = {0};
            assert_int_equal(bmp_npy_read(src_path, 0, &src, &err), 0);
            assert_int_equal(bmp_npy_read(out_path, 0, &want, &err), 0);
            if (src->count == 0)
                fail_msg("NumPy made no values for %s", name);
            for (int o = 0; o < 2; o++) {
                snprintf(what, sizeof what, "%s -> %s (%s)", numpy_sources[s],
                         tn, o ? "swapped" : "native");
                if (o)
                    flip_order(src);
                int rc = bmp_array_convert(src, all_dtypes[t], &b, &err);
                if (rc != 0)
                    fail_msg("%s: %s", what, err.text);
                assert_same_as_numpy(b, want, what);
                compared += b->count;
                bmp_array_free(b);
            }
            bmp_array_free(src);
            bmp_array_free(want);
            free(src_path);
            free(out_path);
        }
    assert_true(compared > 100000);
    tu_rmtree(dir);
    free(script);
    free(dir);
}

/* ---- values refused, and values at the edges ------------------------- */

static bmp_array *f64_array(const double *v, size_t n)
{
    size_t shape[1] = {n};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT64, 1, shape);
    assert_non_null(a);
    memcpy(a->data, v, n * sizeof *v);
    return a;
}

/* Converting `v` (one float64) to `to` fails, with a message holding
 * each of the `needles`. */
static void assert_refused(bmp_array *a, bmp_dtype to, const char *needle1,
                           const char *needle2)
{
    bmp_array *b = (bmp_array *)(uintptr_t)1; /* must stay untouched */
    bmp_error err = {0};
    int rc = bmp_array_convert(a, to, &b, &err);
    if (rc != BMP_EINVAL)
        fail_msg("%s -> %s: got %d, not BMP_EINVAL", bmp_dtype_name(a->dtype),
                 bmp_dtype_name(to), rc);
    assert_int_equal(err.code, BMP_EINVAL);
    assert_true(b == (bmp_array *)(uintptr_t)1);
    if (!strstr(err.text, needle1) || (needle2 && !strstr(err.text, needle2)))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err.text, needle1,
                 needle2 ? needle2 : "");
}

static double converted(bmp_array *a, bmp_dtype to, size_t i)
{
    bmp_array *b = NULL;
    bmp_error err = {0};
    if (bmp_array_convert(a, to, &b, &err) != 0)
        fail_msg("%s", err.text);
    double v = bmp_array_get_double(b, i);
    bmp_array_free(b);
    return v;
}

static void convert_refuses_what_does_not_fit(void **state)
{
    (void)state;
    /* A float to an integer: truncated toward zero while it fits. */
    const double fits[] = {127.9, -128.9, -0.9, 2.5};
    bmp_array *a = f64_array(fits, 4);
    assert_true(converted(a, BMP_DTYPE_INT8, 0) == 127);
    assert_true(converted(a, BMP_DTYPE_INT8, 1) == -128);
    assert_true(converted(a, BMP_DTYPE_INT16, 3) == 2);
    /* -128.9 has no uint8; the message names the element and value. */
    assert_refused(a, BMP_DTYPE_UINT8, "element 1 (-128.9",
                   "out of its range");
    bmp_array_free(a);
    a = f64_array(fits + 2, 2);
    assert_true(converted(a, BMP_DTYPE_UINT8, 0) == 0); /* -0.9 */
    assert_true(converted(a, BMP_DTYPE_UINT8, 1) == 2);
    bmp_array_free(a);

    const double edge[] = {128.0, NAN, INFINITY, -INFINITY, 0x1p63, 0x1p64};
    for (size_t i = 0; i < 6; i++) {
        a = f64_array(edge + i, 1);
        const char *why = isfinite(edge[i]) ? "out of its range"
                                            : "has no integer value";
        assert_refused(a, BMP_DTYPE_INT8, "element 0", why);
        if (!isfinite(edge[i]))
            assert_refused(a, BMP_DTYPE_INT64, "float64 to int64", why);
        bmp_array_free(a);
    }
    /* The top of uint64 and the bottom of int64 fit exactly. */
    const double top[] = {0x1p64 - 0x1p11, -0x1p63};
    a = f64_array(top, 1);
    assert_true(converted(a, BMP_DTYPE_UINT64, 0) == 0x1p64 - 0x1p11);
    bmp_array_free(a);
    a = f64_array(top, 2);
    assert_true(converted(a, BMP_DTYPE_FLOAT32, 1) == -0x1p63);
    assert_refused(a, BMP_DTYPE_INT64, "element 0", "1.844674407370955e+19");
    assert_refused(a, BMP_DTYPE_UINT64, "element 1", "-9.22");
    bmp_array_free(a);
    a = f64_array(top + 1, 1);
    assert_true(converted(a, BMP_DTYPE_INT64, 0) == -0x1p63);
    bmp_array_free(a);

    /* Between integers: NumPy would wrap int32 -1 to 65535. */
    size_t shape[1] = {3};
    bmp_array *ints = bmp_array_new(BMP_DTYPE_INT32, 1, shape);
    ((int32_t *)ints->data)[0] = 65535;
    ((int32_t *)ints->data)[1] = 0;
    ((int32_t *)ints->data)[2] = -1;
    assert_refused(ints, BMP_DTYPE_UINT16, "int32 to uint16: element 2 (-1)",
                   "out of its range");
    assert_refused(ints, BMP_DTYPE_INT16, "element 0 (65535)", NULL);
    bmp_array_free(ints);
    bmp_array *u = bmp_array_new(BMP_DTYPE_UINT64, 1, shape);
    ((uint64_t *)u->data)[1] = UINT64_MAX;
    assert_refused(u, BMP_DTYPE_INT64, "element 1 (18446744073709551615)",
                   NULL);
    assert_true(converted(u, BMP_DTYPE_FLOAT64, 1) == 0x1p64);
    bmp_array_free(u);

    /* Complex: the imaginary part is never dropped silently. */
    bmp_array *c = bmp_array_new(BMP_DTYPE_COMPLEX128, 1, shape);
    double *z = c->data;
    z[0] = 3, z[1] = 0;  /* 3+0j */
    z[2] = 0, z[3] = 1;  /* 1j */
    z[4] = -2, z[5] = 0; /* -2+0j */
    bmp_array *flags = NULL;
    assert_int_equal(bmp_array_convert(c, BMP_DTYPE_BOOL, &flags, NULL), 0);
    assert_memory_equal(flags->data, "\1\1\1", 3);
    bmp_array_free(flags);
    assert_refused(c, BMP_DTYPE_FLOAT64, "element 1 (0+1j)",
                   "would lose its imaginary part");
    assert_refused(c, BMP_DTYPE_INT16, "element 1", "imaginary");
    z[3] = 0;
    assert_true(converted(c, BMP_DTYPE_INT16, 2) == -2);
    assert_refused(c, BMP_DTYPE_UINT8, "element 2 (-2+0j)",
                   "out of its range");
    bmp_array_free(c);
}

/* What NumPy does without complaint, done the same way: NaN is true,
 * floats overflow to infinity. */
static void convert_float_edges(void **state)
{
    (void)state;
    const double v[] = {NAN, 1e39, -1e39, 65519.0, 65520.0, -0.0, 0x1p-25};
    bmp_array *a = f64_array(v, 7);
    bmp_array *b = NULL;
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_BOOL, &b, NULL), 0);
    assert_memory_equal(b->data, "\1\1\1\1\1\0\1", 7);
    bmp_array_free(b);
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_FLOAT32, &b, NULL), 0);
    float *f = bmp_array_f32(b);
    assert_non_null(f);
    assert_true(isnan(f[0]) && isinf(f[1]) && f[1] > 0 && f[2] < 0);
    bmp_array_free(b);
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_FLOAT16, &b, NULL), 0);
    const uint16_t *h = b->data;
    assert_int_equal(h[0] & 0x7c00, 0x7c00); /* NaN: all exponent bits */
    assert_true(h[0] & 0x3ff);
    assert_int_equal(h[1], 0x7c00);
    assert_int_equal(h[2], 0xfc00);
    assert_int_equal(h[3], 0x7bff); /* 65504, the largest half */
    assert_int_equal(h[4], 0x7c00); /* half way to the next: to even, inf */
    assert_int_equal(h[5], 0x8000);
    assert_int_equal(h[6], 0x0000); /* half the smallest: to even, 0 */
    bmp_array_free(b);
    bmp_array_free(a);
}

/* Empty arrays and scalars keep their shape. */
static void convert_empty_and_scalar(void **state)
{
    (void)state;
    size_t shape[2] = {0, 3};
    bmp_array *e = bmp_array_new(BMP_DTYPE_UINT16, 2, shape);
    bmp_array *b = NULL;
    assert_int_equal(bmp_array_convert(e, BMP_DTYPE_FLOAT64, &b, NULL), 0);
    assert_int_equal(b->count, 0);
    assert_int_equal(b->nbytes, 0);
    assert_int_equal(b->ndim, 2);
    assert_int_equal(b->shape[0], 0);
    assert_int_equal(b->shape[1], 3);
    bmp_array_free(b);
    bmp_array_free(e);

    bmp_array *s = bmp_array_new(BMP_DTYPE_INT64, 0, NULL);
    ((int64_t *)s->data)[0] = -5;
    assert_int_equal(bmp_array_convert(s, BMP_DTYPE_FLOAT32, &b, NULL), 0);
    assert_int_equal(b->ndim, 0);
    assert_int_equal(b->count, 1);
    assert_true(bmp_array_f32(b)[0] == -5.0f);
    bmp_array_free(b);
    bmp_array_free(s);
}

/* Bad arguments: a clear error, nothing made, nothing freed. */
static void convert_bad_arguments(void **state)
{
    (void)state;
    size_t shape[1] = {4};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT32, 1, shape);
    bmp_array *b = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_array_convert(NULL, BMP_DTYPE_INT8, &b, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "the array is NULL"));
    assert_string_equal(err.stage, "convert");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_INT8, NULL, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "the output pointer is NULL"));
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_array_convert(a, (bmp_dtype)99, &b, &err),
                     BMP_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "unknown dtype"));
    assert_non_null(strstr(err.text, "99"));
    assert_int_equal(bmp_array_convert(a, (bmp_dtype)0, &b, NULL),
                     BMP_EUNSUPPORTED);
    assert_null(b);

    /* Fields that disagree: the array is not read. */
    memset(&err, 0, sizeof err);
    a->itemsize = 8;
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_INT8, &b, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "disagree"));
    a->itemsize = 4;
    a->byteorder = '!';
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_INT8, &b, NULL),
                     BMP_EINVAL);
    a->byteorder = NATIVE;
    void *data = a->data;
    a->data = NULL;
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_INT8, &b, NULL),
                     BMP_EINVAL);
    a->data = data;
    a->nbytes = 3;
    assert_int_equal(bmp_array_convert(a, BMP_DTYPE_INT8, &b, NULL),
                     BMP_EINVAL);
    a->nbytes = 16;
    assert_null(b);
    bmp_array_free(a);
}

/* bmp_array_free frees the header too (the sanitizer build sees a leak
 * otherwise); the header moves to a new array as the header file says. */
static void array_free_and_header_move(void **state)
{
    (void)state;
    bmp_array_free(NULL);
    size_t shape[2] = {2, 2};
    bmp_array *in = bmp_array_new(BMP_DTYPE_UINT16, 2, shape);
    in->header = json_array();
    json_array_append_new(in->header,
                          json_pack("{s:s, s:i, s:s}", "key", "EXPTIME",
                                    "value", 30, "comment", "seconds"));
    bmp_array *out = NULL;
    assert_int_equal(bmp_array_convert(in, BMP_DTYPE_FLOAT32, &out, NULL), 0);
    assert_null(out->header);
    json_t *cards = in->header;
    out->header = in->header;
    in->header = NULL;
    bmp_array_free(in);
    assert_true(out->header == cards);
    assert_int_equal(json_array_size(out->header), 1);
    bmp_array_free(out);
}

static void array_typed_access(void **state)
{
    (void)state;
    size_t shape[1] = {3};
    bmp_array *f = bmp_array_new(BMP_DTYPE_FLOAT32, 1, shape);
    bmp_array *d = bmp_array_new(BMP_DTYPE_FLOAT64, 1, shape);
    assert_true(bmp_array_f32(f) == f->data);
    assert_null(bmp_array_f64(f));
    assert_true(bmp_array_f64(d) == d->data);
    assert_null(bmp_array_f32(d));
    assert_null(bmp_array_f32(NULL));
    assert_null(bmp_array_f64(NULL));
    f->byteorder = OTHER; /* swapped data are no floats to C */
    assert_null(bmp_array_f32(f));
    bmp_array_free(f);
    bmp_array_free(d);
}

/* Out of memory: a clear -ENOMEM from both calls, in a child whose
 * address space has room for little more than it holds. */
static void convert_and_stats_out_of_memory(void **state)
{
    (void)state;
    if (TU_UNDER_ASAN || TU_UNDER_TSAN)
        skip(); /* the sanitizers reserve terabytes of address space */
    size_t shape[1] = {4u << 20};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT32, 1, shape);
    assert_non_null(a);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1)
            _exit(10);
        fclose(f);
        /* 8 MiB more than now: less than the 32 MiB of a float64 copy
         * and the 16 MiB of the statistics' scratch copy. */
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)pages *
                                        (rlim_t)sysconf(_SC_PAGESIZE) +
                                    (8u << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(11);
        bmp_array *b = NULL;
        bmp_error err = {0};
        if (bmp_array_convert(a, BMP_DTYPE_FLOAT64, &b, &err) != -ENOMEM ||
            b || !strstr(err.text, "out of memory for 4194304 elements"))
            _exit(12);
        bmp_stats st = {.count = 7};
        memset(&err, 0, sizeof err);
        if (bmp_array_stats(a, 0, &st, &err) != -ENOMEM || st.count != 7 ||
            !strstr(err.text, "out of memory"))
            _exit(13);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    bmp_array_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(convert_every_pair),
        cmocka_unit_test(convert_matches_numpy),
        cmocka_unit_test(convert_refuses_what_does_not_fit),
        cmocka_unit_test(convert_float_edges),
        cmocka_unit_test(convert_empty_and_scalar),
        cmocka_unit_test(convert_bad_arguments),
        cmocka_unit_test(array_free_and_header_move),
        cmocka_unit_test(array_typed_access),
        cmocka_unit_test(convert_and_stats_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
