/*
 * test_fits.c -- FITS images through cfitsio: round trips of every BITPIX
 * and of scaled data, header cards of every type, HDU selection, axis
 * order, and the errors for tables, missing HDUs, truncated and non-FITS
 * files; the ops' keywords.  Files the library cannot write (several HDUs,
 * tables, BLANK, tile compression) are made with cfitsio directly.
 */
#include "bigmultipipe.h"

#include "pout_internal.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fitsio.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NATIVE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')
#define OTHER (NATIVE == '<' ? '>' : '<')

/* ---------------------------------------------------------------------- */
/*  Helpers                                                               */
/* ---------------------------------------------------------------------- */

/* Values that exercise each type: its extremes at both ends, a varied
 * byte pattern between, and for floats the special values. */
static bmp_array *make_values(bmp_dtype dtype, int ndim, const size_t *shape)
{
    bmp_array *a = bmp_array_new(dtype, ndim, shape);
    assert_non_null(a);
    unsigned char *p = a->data;
    for (size_t i = 0; i < a->nbytes; i++)
        p[i] = (unsigned char)(i * 131 + 7);
    size_t n = a->count;
    switch (dtype) {
    case BMP_DTYPE_BOOL:
        for (size_t i = 0; i < n; i++)
            p[i] = i % 3 == 0;
        break;
#define EXTREMES(type, lo, hi) \
    {                          \
        type *v = a->data;     \
        v[0] = lo;             \
        v[n - 1] = hi;         \
        break;                 \
    }
    case BMP_DTYPE_INT8: EXTREMES(int8_t, INT8_MIN, INT8_MAX)
    case BMP_DTYPE_UINT8: EXTREMES(uint8_t, 0, UINT8_MAX)
    case BMP_DTYPE_INT16: EXTREMES(int16_t, INT16_MIN, INT16_MAX)
    case BMP_DTYPE_UINT16: EXTREMES(uint16_t, 0, UINT16_MAX)
    case BMP_DTYPE_INT32: EXTREMES(int32_t, INT32_MIN, INT32_MAX)
    case BMP_DTYPE_UINT32: EXTREMES(uint32_t, 0, UINT32_MAX)
    case BMP_DTYPE_INT64: EXTREMES(int64_t, INT64_MIN, INT64_MAX)
    case BMP_DTYPE_UINT64: EXTREMES(uint64_t, 0, UINT64_MAX)
#undef EXTREMES
    case BMP_DTYPE_FLOAT32: {
        float *v = a->data;
        const float special[] = {NAN,    INFINITY,      -INFINITY, -0.0f,
                                 1e-45f, 3.4028235e38f, -1.5f,     0.1f};
        for (size_t i = 0; i < n; i++)
            v[i] = i < 8 ? special[i] : (float)i * 0.37f - 11.0f;
        break;
    }
    case BMP_DTYPE_FLOAT64: {
        double *v = a->data;
        const double special[] = {NAN,  INFINITY, -INFINITY,
                                  -0.0, 5e-324,   1.7976931348623157e308,
                                  -1.5, 0.1};
        for (size_t i = 0; i < n; i++)
            v[i] = i < 8 ? special[i] : (double)i * 0.37 - 11.0;
        break;
    }
    default: break;
    }
    return a;
}

/* Same logical values: equal, or both NaN. */
static void assert_same_values(const bmp_array *a, const bmp_array *b)
{
    assert_int_equal(a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_int_equal(a->count, b->count);
    int is_float = a->dtype == BMP_DTYPE_FLOAT32 ||
                   a->dtype == BMP_DTYPE_FLOAT64;
    if (!is_float && a->byteorder == b->byteorder && !a->fortran_order &&
        !b->fortran_order && a->itemsize == b->itemsize) {
        assert_memory_equal(a->data, b->data, a->nbytes);
        return;
    }
    for (size_t i = 0; i < a->count; i++) {
        double x = bmp_array_get_double(a, i), y = bmp_array_get_double(b, i);
        if (isnan(x)) {
            assert_true(isnan(y));
        } else {
            assert_true(x == y);
            assert_int_equal(signbit(x), signbit(y));
        }
    }
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* A file with an empty primary HDU, a binary table "TAB", two "SCI"
 * images (EXTVER 1 and 2, int16 2x3 holding v*10+i) and a float32 "ERR".
 * HDUs: 0 primary, 1 TAB, 2 SCI/1, 3 SCI/2, 4 ERR. */
static char *make_mef(const char *dir)
{
    char *path = tu_join(dir, "mef.fits");
    fitsfile *f;
    int st = 0;
    long naxes[2] = {3, 2};
    tu_fits_check(fits_create_diskfile(&f, path, &st));
    tu_fits_check(fits_create_img(f, SHORT_IMG, 0, NULL, &st));
    char *ttype[] = {"X"}, *tform[] = {"E"}, *tunit[] = {""};
    tu_fits_check(
        fits_create_tbl(f, BINARY_TBL, 3, 1, ttype, tform, tunit, "TAB", &st));
    float x[3] = {1, 2, 3};
    tu_fits_check(fits_write_col(f, TFLOAT, 1, 1, 1, 3, x, &st));
    for (int v = 1; v <= 2; v++) {
        short d[6];
        for (int i = 0; i < 6; i++)
            d[i] = (short)(v * 10 + i);
        tu_fits_check(fits_create_img(f, SHORT_IMG, 2, naxes, &st));
        tu_fits_check(fits_write_key_str(f, "EXTNAME", "SCI", NULL, &st));
        tu_fits_check(fits_write_key_lng(f, "EXTVER", v, NULL, &st));
        tu_fits_check(fits_write_img(f, TSHORT, 1, 6, d, &st));
    }
    float e[6] = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};
    tu_fits_check(fits_create_img(f, FLOAT_IMG, 2, naxes, &st));
    tu_fits_check(fits_write_key_str(f, "EXTNAME", "ERR", NULL, &st));
    tu_fits_check(fits_write_img(f, TFLOAT, 1, 6, e, &st));
    tu_fits_check(fits_close_file(f, &st));
    return path;
}

static void write_ok(const char *path, const bmp_array *a, const json_t *cards,
                     unsigned flags)
{
    bmp_error err = {0};
    int rc = bmp_fits_write(path, a, cards, flags, &err);
    if (rc != 0)
        fail_msg("bmp_fits_write(%s): %s", path, err.text);
}

/* Reads `path` expecting failure `code`; returns the error. */
static bmp_error read_fails(const char *path, const char *hdu, int code)
{
    bmp_error err = {0};
    bmp_array *a = (bmp_array *)&err; /* must be reset to NULL */
    int rc = bmp_fits_read(path, hdu, &a, &err);
    if (rc != code)
        fail_msg("expected %s, got %s: %s", bmp_err_name(code),
                 bmp_err_name(rc), err.text);
    assert_null(a);
    assert_int_equal(err.code, code);
    assert_string_equal(err.source, path);
    assert_string_equal(err.stage, "read");
    return err;
}

/* ---------------------------------------------------------------------- */
/*  Round trips                                                           */
/* ---------------------------------------------------------------------- */

static void roundtrip(const char *dir, bmp_dtype dtype, int bitpix,
                      double bzero, bmp_dtype read_as)
{
    static const size_t shape[3] = {3, 4, 5};
    char name[64];
    snprintf(name, sizeof name, "rt_%s.fits", bmp_dtype_name(dtype));
    char *path = tu_join(dir, name);
    bmp_array *a = make_values(dtype, 3, shape);
    write_ok(path, a, NULL, 0);
    bmp_array *b = tu_fits_read_ok(path, NULL);
    assert_int_equal(b->dtype, read_as);
    assert_int_equal(b->byteorder, b->itemsize == 1 ? '|' : NATIVE);
    assert_int_equal(b->fortran_order, 0);
    assert_same_values(a, b);

    long long v;
    assert_int_equal(bmp_fits_card_get_int(b->header, "BITPIX", &v), 1);
    assert_int_equal(v, bitpix);
    assert_int_equal(bmp_fits_card_get_int(b->header, "NAXIS1", &v), 1);
    assert_int_equal(v, 5);
    assert_int_equal(bmp_fits_card_get_int(b->header, "NAXIS3", &v), 1);
    assert_int_equal(v, 3);
    double z = 0;
    if (bzero != 0) {
        assert_int_equal(bmp_fits_card_get_real(b->header, "BZERO", &z), 1);
        assert_true(z == bzero);
    } else {
        assert_null(bmp_fits_card_find(b->header, "BZERO"));
    }
    /* No cfitsio boilerplate COMMENT cards. */
    assert_null(bmp_fits_card_find(b->header, "COMMENT"));
    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    free(path);
}

#define ROUNDTRIP(name, dtype, bitpix, bzero, read_as)    \
    static void fits_roundtrip_##name(void **state)       \
    {                                                     \
        roundtrip(*state, dtype, bitpix, bzero, read_as); \
    }
ROUNDTRIP(uint8, BMP_DTYPE_UINT8, 8, 0, BMP_DTYPE_UINT8)
ROUNDTRIP(int8, BMP_DTYPE_INT8, 8, -128, BMP_DTYPE_INT8)
ROUNDTRIP(int16, BMP_DTYPE_INT16, 16, 0, BMP_DTYPE_INT16)
ROUNDTRIP(uint16, BMP_DTYPE_UINT16, 16, 32768, BMP_DTYPE_UINT16)
ROUNDTRIP(int32, BMP_DTYPE_INT32, 32, 0, BMP_DTYPE_INT32)
ROUNDTRIP(uint32, BMP_DTYPE_UINT32, 32, 2147483648.0, BMP_DTYPE_UINT32)
ROUNDTRIP(int64, BMP_DTYPE_INT64, 64, 0, BMP_DTYPE_INT64)
ROUNDTRIP(uint64, BMP_DTYPE_UINT64, 64, 9223372036854775808.0,
          BMP_DTYPE_UINT64)
ROUNDTRIP(float32, BMP_DTYPE_FLOAT32, -32, 0, BMP_DTYPE_FLOAT32)
ROUNDTRIP(float64, BMP_DTYPE_FLOAT64, -64, 0, BMP_DTYPE_FLOAT64)
ROUNDTRIP(bool_as_uint8, BMP_DTYPE_BOOL, 8, 0, BMP_DTYPE_UINT8)

/* NAXIS1 is the fastest axis: a file made by cfitsio with NAXIS1=4,
 * NAXIS2=3, NAXIS3=2 reads as shape (2, 3, 4) in storage order, and the
 * library's 3-d output has the same NAXISn. */
static void fits_axis_order_3d(void **state)
{
    char *path = tu_join(*state, "cube.fits");
    fitsfile *f;
    int st = 0;
    long naxes[3] = {4, 3, 2};
    int d[24];
    for (int i = 0; i < 24; i++)
        d[i] = i * 7 - 50;
    tu_fits_check(fits_create_diskfile(&f, path, &st));
    tu_fits_check(fits_create_img(f, LONG_IMG, 3, naxes, &st));
    tu_fits_check(fits_write_img(f, TINT, 1, 24, d, &st));
    tu_fits_check(fits_close_file(f, &st));

    bmp_array *a = tu_fits_read_ok(path, NULL);
    assert_int_equal(a->dtype, BMP_DTYPE_INT32);
    assert_int_equal(a->ndim, 3);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(a->shape[2], 4);
    assert_memory_equal(a->data, d, sizeof d);

    char *out = tu_join(*state, "cube2.fits");
    write_ok(out, a, NULL, 0);
    tu_fits_check(fits_open_diskfile(&f, out, READONLY, &st));
    int naxis = 0;
    long got[3] = {0};
    tu_fits_check(fits_get_img_param(f, 3, &naxis, &naxis, got, &st));
    assert_int_equal(naxis, 3);
    assert_int_equal(got[0], 4);
    assert_int_equal(got[1], 3);
    assert_int_equal(got[2], 2);
    int back[24];
    tu_fits_check(fits_read_img(f, TINT, 1, 24, NULL, back, NULL, &st));
    assert_memory_equal(back, d, sizeof d);
    tu_fits_check(fits_close_file(f, &st));
    bmp_object_free(a, NULL);
    free(path);
    free(out);
}

/* Fortran-ordered and byte-swapped arrays are written as the logical
 * arrays they hold. */
static void fits_fortran_and_swapped_input(void **state)
{
    static const size_t shape[3] = {2, 3, 4};
    const bmp_dtype types[] = {BMP_DTYPE_INT16, BMP_DTYPE_FLOAT64,
                               BMP_DTYPE_UINT32};
    for (size_t t = 0; t < 3; t++) {
        for (int variant = 0; variant < 3; variant++) {
            bmp_array *c = make_values(types[t], 3, shape);
            bmp_array *x = bmp_array_new(types[t], 3, shape);
            assert_non_null(x);
            /* variant 0: swapped C order; 1: native Fortran; 2: both. */
            x->fortran_order = variant >= 1;
            x->byteorder = variant != 1 ? OTHER : NATIVE;
            for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < 3; j++)
                    for (size_t k = 0; k < 4; k++) {
                        size_t ci = (i * 3 + j) * 4 + k;
                        size_t xi = x->fortran_order ? i + 2 * (j + 3 * k)
                                                     : ci;
                        bmp_array_set_double(x, xi,
                                             bmp_array_get_double(c, ci));
                    }
            char *path = tu_join(*state, "order.fits");
            write_ok(path, x, NULL, 0);
            bmp_array *b = tu_fits_read_ok(path, NULL);
            assert_int_equal(b->dtype, types[t]);
            assert_same_values(c, b);
            bmp_object_free(b, NULL);
            bmp_object_free(c, NULL);
            bmp_object_free(x, NULL);
            free(path);
        }
    }
}

static void fits_zero_length_axis(void **state)
{
    size_t shape[2] = {0, 5};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT32, 2, shape);
    char *path = tu_join(*state, "empty_axis.fits");
    write_ok(path, a, NULL, 0);
    /* An empty array of the same shape comes back. */
    bmp_array *b = tu_fits_read_ok(path, NULL);
    assert_int_equal(b->dtype, BMP_DTYPE_FLOAT32);
    assert_int_equal(b->ndim, 2);
    assert_int_equal(b->shape[0], 0);
    assert_int_equal(b->shape[1], 5);
    assert_int_equal(b->count, 0);
    bmp_object_free(b, NULL);
    bmp_error err = {0};
    json_t *cards = NULL;
    assert_int_equal(bmp_fits_read_header(path, "0", &cards, &err), 0);
    long long v;
    assert_int_equal(bmp_fits_card_get_int(cards, "NAXIS2", &v), 1);
    assert_int_equal(v, 0);
    json_decref(cards);
    bmp_object_free(a, NULL);
    free(path);
}

/* ---------------------------------------------------------------------- */
/*  Scaled data                                                           */
/* ---------------------------------------------------------------------- */

static void fits_scaled_roundtrip(void **state)
{
    const struct {
        int bitpix;
        double bscale, bzero;
        bmp_dtype read_as;
    } cases[] = {
        {8, 0.5, -10.0, BMP_DTYPE_FLOAT32},
        {16, 0.01, 100.0, BMP_DTYPE_FLOAT32},
        {32, 1e-6, -3.0, BMP_DTYPE_FLOAT64},
        {64, 2.0, 1e6, BMP_DTYPE_FLOAT64},
        {16, 3.0, 0.0, BMP_DTYPE_FLOAT32}, /* BZERO 0 still scaled */
    };
    size_t shape[2] = {4, 6};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT64, 2, shape);
        double span = cases[c].bitpix == 8 ? 250 : 30000;
        for (size_t i = 0; i < a->count; i++)
            ((double *)a->data)[i] = cases[c].bzero +
                                     cases[c].bscale *
                                         (span * (double)i / (double)a->count -
                                          (cases[c].bitpix == 8 ? 0
                                                                : span / 2)) +
                                     cases[c].bscale * 0.3;
        char *path = tu_join(*state, "scaled.fits");
        bmp_error err = {0};
        int rc = bmp_fits_write_scaled(path, a, NULL, cases[c].bitpix,
                                       cases[c].bscale, cases[c].bzero, 0,
                                       &err);
        if (rc)
            fail_msg("case %zu: %s", c, err.text);
        bmp_array *b = tu_fits_read_ok(path, NULL);
        assert_int_equal(b->dtype, cases[c].read_as);
        long long bp;
        double bs, bz;
        assert_int_equal(bmp_fits_card_get_int(b->header, "BITPIX", &bp), 1);
        assert_int_equal(bp, cases[c].bitpix);
        assert_int_equal(bmp_fits_card_get_real(b->header, "BSCALE", &bs), 1);
        assert_int_equal(bmp_fits_card_get_real(b->header, "BZERO", &bz), 1);
        assert_true(bs == cases[c].bscale);
        assert_true(bz == cases[c].bzero);
        for (size_t i = 0; i < a->count; i++) {
            double x = bmp_array_get_double(a, i),
                   y = bmp_array_get_double(b, i);
            double tol = cases[c].bscale * 0.5 + fabs(x) * 1e-6;
            if (fabs(x - y) > tol)
                fail_msg("case %zu element %zu: %.17g vs %.17g", c, i, x, y);
        }
        bmp_object_free(a, NULL);
        bmp_object_free(b, NULL);
        free(path);
    }
}

/* BSCALE 1 with BZERO 2^15 is the unsigned convention: a uint16 array. */
static void fits_scaled_unsigned_convention(void **state)
{
    size_t shape[1] = {5};
    bmp_array *a = bmp_array_new(BMP_DTYPE_UINT16, 1, shape);
    uint16_t v[5] = {0, 1, 32767, 32768, 65535};
    memcpy(a->data, v, sizeof v);
    char *path = tu_join(*state, "u16.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write_scaled(path, a, NULL, 16, 1.0, 32768.0, 0,
                                           &err),
                     0);
    bmp_array *b = tu_fits_read_ok(path, NULL);
    assert_int_equal(b->dtype, BMP_DTYPE_UINT16);
    assert_memory_equal(b->data, v, sizeof v);
    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    free(path);
}

static void fits_scaled_errors(void **state)
{
    size_t shape[1] = {3};
    bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT32, 1, shape);
    float v[3] = {1, NAN, 2};
    memcpy(a->data, v, sizeof v);
    char *path = tu_join(*state, "bad.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write_scaled(path, a, NULL, 16, 1, 0, 0, &err),
                     BMP_EINVAL);
    tu_assert_contains(err.text, "element 1");
    tu_assert_contains(err.text, "BITPIX 16");
    assert_string_equal(err.stage, "write");

    ((float *)a->data)[1] = 40000.0f;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write_scaled(path, a, NULL, 16, 1, 0, 0, &err),
                     BMP_EINVAL);
    tu_assert_contains(err.text, "40000");
    /* In range once scaled. */
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write_scaled(path, a, NULL, 16, 2, 0, 0, &err),
                     0);
    assert_int_equal(unlink(path), 0);

    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write_scaled(path, a, NULL, -32, 1, 0, 0, &err),
                     BMP_EINVAL);
    tu_assert_contains(err.text, "BITPIX -32");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write_scaled(path, a, NULL, 16, 0, 0, 0, &err),
                     BMP_EINVAL);
    tu_assert_contains(err.text, "BSCALE");
    /* Nothing was left behind by the failures. */
    assert_int_equal(count_entries(*state), 0);
    bmp_object_free(a, NULL);
    free(path);
}

/* BLANK in an integer image: astropy's float with NaN for blank pixels;
 * with the unsigned convention BLANK is ignored, as astropy does. */
static void fits_blank_becomes_nan(void **state)
{
    char *path = tu_join(*state, "blank.fits");
    fitsfile *f;
    int st = 0;
    long n[1] = {4};
    short d[4] = {-32768, 5, 7, -32768};
    tu_fits_check(fits_create_diskfile(&f, path, &st));
    tu_fits_check(fits_create_img(f, SHORT_IMG, 1, n, &st));
    tu_fits_check(fits_write_key_lng(f, "BLANK", -32768, "null value", &st));
    tu_fits_check(fits_write_img(f, TSHORT, 1, 4, d, &st));
    tu_fits_check(fits_close_file(f, &st));
    bmp_array *a = tu_fits_read_ok(path, NULL);
    assert_int_equal(a->dtype, BMP_DTYPE_FLOAT32);
    float *v = a->data;
    assert_true(isnan(v[0]) && isnan(v[3]));
    assert_true(v[1] == 5.0f && v[2] == 7.0f);
    /* Written back as float, BLANK is dropped: it is for integers only. */
    char *out = tu_join(*state, "blank2.fits");
    write_ok(out, a, NULL, 0);
    bmp_array *b = tu_fits_read_ok(out, NULL);
    assert_null(bmp_fits_card_find(b->header, "BLANK"));
    assert_same_values(a, b);
    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    free(path);
    free(out);
}

/* ---------------------------------------------------------------------- */
/*  Header cards                                                          */
/* ---------------------------------------------------------------------- */

static void assert_card(const json_t *card, const char *key,
                        const char *value_json, const char *comment)
{
    const char *k = json_string_value(json_object_get(card, "key"));
    if (!k || strcmp(k, key) != 0)
        fail_msg("card key %s, expected %s", k ? k : "(none)", key);
    json_t *expected = json_loads(value_json, JSON_DECODE_ANY, NULL);
    assert_non_null(expected);
    json_t *got = json_object_get(card, "value");
    if (!json_equal(expected, got)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY);
        fail_msg("card %s: value %s, expected %s", key, g, value_json);
    }
    json_decref(expected);
    if (comment)
        assert_string_equal(json_string_value(
                                json_object_get(card, "comment")),
                            comment);
}

static void fits_cards_every_type(void **state)
{
    char longstr[200];
    for (int i = 0; i < 150; i++)
        longstr[i] = (char)('a' + i % 26);
    memcpy(longstr + 140, "it's done", 10); /* a quote across the join */

    json_t *cards = json_array();
    assert_int_equal(bmp_fits_card_set_str(cards, "OBJECT", "M31", "target"),
                     0);
    assert_int_equal(bmp_fits_card_set_real(cards, "EXPTIME", 30.0, "seconds"),
                     0);
    assert_int_equal(bmp_fits_card_set_real(cards, "TENTH", 0.1, NULL), 0);
    assert_int_equal(bmp_fits_card_set_real(cards, "THIRD", 1.0 / 3.0, NULL),
                     0);
    assert_int_equal(bmp_fits_card_set_real(cards, "HUGE", 1e300, NULL), 0);
    assert_int_equal(bmp_fits_card_set_real(cards, "TINY", -2.5e-310, NULL),
                     0);
    assert_int_equal(bmp_fits_card_set_int(cards, "NCOMBINE", 7, "frames"), 0);
    assert_int_equal(bmp_fits_card_set_int(cards, "BIGINT", 9007199254740993LL,
                                           NULL),
                     0);
    assert_int_equal(bmp_fits_card_set_int(cards, "NEGINT", -42, NULL), 0);
    assert_int_equal(bmp_fits_card_set_bool(cards, "FLAG", 1, "on"), 0);
    assert_int_equal(bmp_fits_card_set_bool(cards, "OFF", 0, NULL), 0);
    assert_int_equal(bmp_fits_card_set_str(cards, "LONGSTR", longstr, "long"),
                     0);
    assert_int_equal(bmp_fits_card_set_str(cards, "QUOTE", "O'Brien", NULL),
                     0);
    assert_int_equal(bmp_fits_card_set_str(cards, "EMPTY", "", NULL), 0);
    assert_int_equal(bmp_fits_card_append(cards, "UNDEF", NULL, "unknown"), 0);
    json_t *cx = json_pack("[ff]", 1.5, -2.0);
    assert_int_equal(bmp_fits_card_append(cards, "CPLX", cx, NULL), 0);
    json_decref(cx);
    assert_int_equal(bmp_fits_card_set_int(cards, "ESO DET CHIP NO", 3,
                                           "hier"),
                     0);
    assert_int_equal(bmp_fits_card_set_int(cards, "lower", 1, NULL), 0);
    json_t *t = json_string("first comment");
    assert_int_equal(bmp_fits_card_append(cards, "COMMENT", t, NULL), 0);
    json_decref(t);
    t = json_string("processed by a test");
    assert_int_equal(bmp_fits_card_append(cards, "HISTORY", t, NULL), 0);
    json_decref(t);
    t = json_string("   indented comment");
    assert_int_equal(bmp_fits_card_append(cards, "COMMENT", t, NULL), 0);
    json_decref(t);
    t = json_string("blank keyword text");
    assert_int_equal(bmp_fits_card_append(cards, "", t, NULL), 0);
    json_decref(t);

    size_t shape[2] = {2, 2};
    bmp_array *a = make_values(BMP_DTYPE_INT16, 2, shape);
    char *path = tu_join(*state, "cards.fits");
    write_ok(path, a, cards, 0);
    bmp_array *b = tu_fits_read_ok(path, NULL);

    /* After SIMPLE, BITPIX, NAXIS, NAXIS1, NAXIS2, EXTEND: ours, in order. */
    const json_t *h = b->header;
    assert_card(json_array_get(h, 0), "SIMPLE", "true", NULL);
    assert_card(json_array_get(h, 1), "BITPIX", "16", NULL);
    assert_card(json_array_get(h, 3), "NAXIS1", "2", NULL);
    assert_card(json_array_get(h, 5), "EXTEND", "true", NULL);
    size_t i = 6;
    assert_card(json_array_get(h, i++), "OBJECT", "\"M31\"", "target");
    assert_card(json_array_get(h, i++), "EXPTIME", "30.0", "seconds");
    assert_card(json_array_get(h, i++), "TENTH", "0.1", "");
    assert_card(json_array_get(h, i++), "THIRD", "0.33333333333333331", "");
    assert_card(json_array_get(h, i++), "HUGE", "1e300", "");
    assert_card(json_array_get(h, i++), "TINY", "-2.5e-310", "");
    assert_card(json_array_get(h, i++), "NCOMBINE", "7", "frames");
    assert_card(json_array_get(h, i++), "BIGINT", "9007199254740993", "");
    assert_card(json_array_get(h, i++), "NEGINT", "-42", "");
    assert_card(json_array_get(h, i++), "FLAG", "true", "on");
    assert_card(json_array_get(h, i++), "OFF", "false", "");
    json_t *ls = json_string(longstr);
    char *lsj = json_dumps(ls, JSON_ENCODE_ANY);
    assert_card(json_array_get(h, i++), "LONGSTR", lsj, "long");
    free(lsj);
    json_decref(ls);
    assert_card(json_array_get(h, i++), "QUOTE", "\"O'Brien\"", "");
    assert_card(json_array_get(h, i++), "EMPTY", "\"\"", "");
    assert_card(json_array_get(h, i++), "UNDEF", "null", "unknown");
    assert_card(json_array_get(h, i++), "CPLX", "[1.5, -2.0]", "");
    assert_card(json_array_get(h, i++), "ESO DET CHIP NO", "3", "hier");
    assert_card(json_array_get(h, i++), "LOWER", "1", "");
    assert_card(json_array_get(h, i++), "COMMENT", "\"first comment\"", "");
    assert_card(json_array_get(h, i++), "HISTORY", "\"processed by a test\"",
                "");
    assert_card(json_array_get(h, i++), "COMMENT", "\"   indented comment\"",
                "");
    assert_card(json_array_get(h, i++), "", "\"blank keyword text\"", "");
    assert_int_equal(json_array_size(h), i);

    /* Read, written again with its own header, read: the same cards. */
    char *again = tu_join(*state, "cards2.fits");
    write_ok(again, b, NULL, 0);
    bmp_array *c = tu_fits_read_ok(again, NULL);
    assert_true(json_equal(b->header, c->header));
    assert_same_values(a, c);

    json_decref(cards);
    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    bmp_object_free(c, NULL);
    free(path);
    free(again);
}

/* Structural cards in the list are ignored: the array decides them. */
static void fits_cards_structural_skipped(void **state)
{
    json_t *cards = json_loads(
        "[{\"key\":\"SIMPLE\",\"value\":false,\"comment\":\"\"},"
        " {\"key\":\"BITPIX\",\"value\":99,\"comment\":\"\"},"
        " {\"key\":\"NAXIS\",\"value\":7,\"comment\":\"\"},"
        " {\"key\":\"NAXIS1\",\"value\":70,\"comment\":\"\"},"
        " {\"key\":\"BZERO\",\"value\":5.0,\"comment\":\"\"},"
        " {\"key\":\"BSCALE\",\"value\":2.0,\"comment\":\"\"},"
        " {\"key\":\"EXTEND\",\"value\":false,\"comment\":\"\"},"
        " {\"key\":\"CHECKSUM\",\"value\":\"stale\",\"comment\":\"\"},"
        " {\"key\":\"BLANK\",\"value\":-1,\"comment\":\"\"},"
        " {\"key\":\"KEPT\",\"value\":1,\"comment\":\"\"},"
        " {\"key\":\"END\",\"value\":null,\"comment\":\"\"}]",
        0, NULL);
    assert_non_null(cards);
    size_t shape[1] = {3};
    for (int as_float = 0; as_float < 2; as_float++) {
        bmp_array *a = make_values(as_float ? BMP_DTYPE_FLOAT32
                                            : BMP_DTYPE_INT32,
                                   1, shape);
        char *path = tu_join(*state, "struct.fits");
        write_ok(path, a, cards, 0);
        bmp_array *b = tu_fits_read_ok(path, NULL);
        long long v;
        assert_int_equal(bmp_fits_card_get_int(b->header, "BITPIX", &v), 1);
        assert_int_equal(v, as_float ? -32 : 32);
        assert_int_equal(bmp_fits_card_get_int(b->header, "NAXIS1", &v), 1);
        assert_int_equal(v, 3);
        assert_null(bmp_fits_card_find(b->header, "BZERO"));
        assert_null(bmp_fits_card_find(b->header, "CHECKSUM"));
        assert_non_null(bmp_fits_card_find(b->header, "KEPT"));
        /* BLANK is kept for integers (so astropy's rule makes the int32
         * image a float64 array), dropped for floats. */
        if (as_float) {
            assert_null(bmp_fits_card_find(b->header, "BLANK"));
            assert_int_equal(b->dtype, BMP_DTYPE_FLOAT32);
        } else {
            assert_non_null(bmp_fits_card_find(b->header, "BLANK"));
            assert_int_equal(b->dtype, BMP_DTYPE_FLOAT64);
        }
        bmp_object_free(a, NULL);
        bmp_object_free(b, NULL);
        free(path);
    }
    json_decref(cards);
}

static void fits_cards_invalid(void **state)
{
    size_t shape[1] = {2};
    bmp_array *a = make_values(BMP_DTYPE_UINT8, 1, shape);
    char *path = tu_join(*state, "invalid.fits");
    const struct {
        const char *cards, *message;
    } cases[] = {
        {"[{\"key\":\"OBJ\",\"value\":{\"a\":1}}]", "(OBJ)"},
        {"[{\"key\":\"ARR\",\"value\":[1,2,3]}]", "(ARR)"},
        {"[{\"value\":1}]", "string \"key\""},
        {"[5]", "card 0"},
        {"[{\"key\":\"HISTORY\",\"value\":5}]", "string value"},
        {"[{\"key\":\"C\",\"value\":1,\"comment\":3}]", "comment"},
        {"{\"key\":\"X\"}", "not a JSON array"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        json_t *cards = json_loads(cases[c].cards, 0, NULL);
        assert_non_null(cards);
        bmp_error err = {0};
        assert_int_equal(bmp_fits_write(path, a, cards, 0, &err), BMP_EINVAL);
        tu_assert_contains(err.text, cases[c].message);
        assert_string_equal(err.source, path);
        json_decref(cards);
    }
    /* A non-finite real cannot even be set: FITS has no NaN in cards. */
    json_t *cards = json_array();
    assert_int_equal(bmp_fits_card_set_real(cards, "BAD", NAN, NULL),
                     BMP_EINVAL);
    assert_int_equal(bmp_fits_card_set_real(cards, "BAD", INFINITY, NULL),
                     BMP_EINVAL);
    assert_int_equal(json_array_size(cards), 0);
    json_decref(cards);
    /* Characters FITS cannot hold are refused, not blanked. */
    const char *const bad_text[][2] = {{"UTF", "caf\xc3\xa9"},
                                       {"TAB", "a\tb"},
                                       {"COMMENT", "\x01"}};
    for (size_t c = 0; c < 3; c++) {
        bmp_error err = {0};
        cards = json_array();
        json_t *v = json_string(bad_text[c][1]);
        bmp_fits_card_append(cards, bad_text[c][0], v, NULL);
        json_decref(v);
        assert_int_equal(bmp_fits_write(path, a, cards, 0, &err), BMP_EINVAL);
        tu_assert_contains(err.text, bad_text[c][0]);
        tu_assert_contains(err.text, "printable ASCII");
        json_decref(cards);
    }
    /* No partial file and no temporary remain. */
    assert_int_equal(count_entries(*state), 0);
    bmp_object_free(a, NULL);
    free(path);
}

static void fits_card_helpers(void **state)
{
    (void)state;
    json_t *h = json_array();
    double d;
    long long i;
    int b;
    const char *s;
    assert_int_equal(bmp_fits_card_get_real(h, "X", &d), 0);
    assert_int_equal(bmp_fits_card_set_real(h, "GAIN", 1.5, "e/ADU"), 0);
    assert_int_equal(bmp_fits_card_set_int(h, "NX", 10, NULL), 0);
    assert_int_equal(bmp_fits_card_set_bool(h, "OK", 1, NULL), 0);
    assert_int_equal(bmp_fits_card_set_str(h, "NAME", "x", NULL), 0);
    assert_int_equal(bmp_fits_card_append(h, "UNDEF", NULL, NULL), 0);
    assert_int_equal(json_array_size(h), 5);

    assert_int_equal(bmp_fits_card_get_real(h, "gain", &d), 1);
    assert_true(d == 1.5);
    assert_int_equal(bmp_fits_card_get_real(h, "NX", &d), 1);
    assert_true(d == 10.0);
    assert_int_equal(bmp_fits_card_get_int(h, "NX", &i), 1);
    assert_int_equal(i, 10);
    assert_int_equal(bmp_fits_card_get_int(h, "GAIN", &i), BMP_EKWTYPE);
    assert_int_equal(bmp_fits_card_get_bool(h, "OK", &b), 1);
    assert_int_equal(b, 1);
    assert_int_equal(bmp_fits_card_get_bool(h, "NX", &b), BMP_EKWTYPE);
    assert_int_equal(bmp_fits_card_get_str(h, "NAME", &s), 1);
    assert_string_equal(s, "x");
    assert_int_equal(bmp_fits_card_get_str(h, "NX", &s), BMP_EKWTYPE);
    assert_int_equal(bmp_fits_card_get_real(h, "UNDEF", &d), 0);

    /* Setting replaces the value in place and keeps the comment. */
    assert_int_equal(bmp_fits_card_set_real(h, "GAIN", 2.0, NULL), 0);
    assert_int_equal(json_array_size(h), 5);
    json_t *c = bmp_fits_card_find(h, "GAIN");
    assert_ptr_equal(c, json_array_get(h, 0));
    assert_string_equal(json_string_value(json_object_get(c, "comment")),
                        "e/ADU");
    assert_int_equal(bmp_fits_card_set_int(h, "GAIN", 3, "new"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "comment")),
                        "new");

    json_t *t = json_string("one");
    assert_int_equal(bmp_fits_card_append(h, "HISTORY", t, NULL), 0);
    assert_int_equal(bmp_fits_card_append(h, "HISTORY", t, NULL), 0);
    json_decref(t);
    assert_int_equal(bmp_fits_card_remove(h, "history"), 2);
    assert_int_equal(bmp_fits_card_remove(h, "HISTORY"), 0);
    assert_int_equal(json_array_size(h), 5);

    assert_int_equal(bmp_fits_card_set_int(NULL, "X", 1, NULL), BMP_EINVAL);
    assert_int_equal(bmp_fits_card_set_int(h, "", 1, NULL), BMP_EINVAL);
    assert_int_equal(bmp_fits_card_set_str(h, "X", NULL, NULL), BMP_EINVAL);
    assert_int_equal(bmp_fits_card_remove(NULL, "X"), BMP_EINVAL);
    assert_null(bmp_fits_card_find(NULL, "X"));
    json_decref(h);
}

/* ---------------------------------------------------------------------- */
/*  HDU selection                                                         */
/* ---------------------------------------------------------------------- */

static void assert_sci(const bmp_array *a, int ver)
{
    assert_int_equal(a->dtype, BMP_DTYPE_INT16);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(((int16_t *)a->data)[i], ver * 10 + i);
    long long v;
    assert_int_equal(bmp_fits_card_get_int(a->header, "EXTVER", &v), 1);
    assert_int_equal(v, ver);
}

static void fits_hdu_selection(void **state)
{
    char *path = make_mef(*state);
    bmp_array *a;

    a = tu_fits_read_ok(path,
                        NULL); /* empty primary: the first image with data */
    assert_sci(a, 1);
    bmp_object_free(a, NULL);
    a = tu_fits_read_ok(path, "");
    assert_sci(a, 1);
    bmp_object_free(a, NULL);
    a = tu_fits_read_ok(path, "2");
    assert_sci(a, 1);
    bmp_object_free(a, NULL);
    a = tu_fits_read_ok(path, "3");
    assert_sci(a, 2);
    bmp_object_free(a, NULL);
    a = tu_fits_read_ok(path, "SCI");
    assert_sci(a, 1);
    bmp_object_free(a, NULL);
    a = tu_fits_read_ok(path, "sci,2");
    assert_sci(a, 2);
    bmp_object_free(a, NULL);

    a = tu_fits_read_ok(path, "ERR");
    assert_int_equal(a->dtype, BMP_DTYPE_FLOAT32);
    assert_true(((float *)a->data)[5] == 5.5f);
    const char *name;
    assert_int_equal(bmp_fits_card_get_str(a->header, "XTENSION", &name), 1);
    assert_string_equal(name, "IMAGE");
    bmp_object_free(a, NULL);
    a = tu_fits_read_ok(path, "4");
    assert_int_equal(a->dtype, BMP_DTYPE_FLOAT32);
    bmp_object_free(a, NULL);

    /* Headers of any HDU, tables included. */
    json_t *cards = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_fits_read_header(path, "1", &cards, &err), 0);
    assert_int_equal(bmp_fits_card_get_str(cards, "TTYPE1", &name), 1);
    assert_string_equal(name, "X");
    json_decref(cards);
    assert_int_equal(bmp_fits_read_header(path, "0", &cards, &err), 0);
    long long n;
    assert_int_equal(bmp_fits_card_get_int(cards, "NAXIS", &n), 1);
    assert_int_equal(n, 0);
    json_decref(cards);
    assert_int_equal(bmp_fits_read_header(path, NULL, &cards, &err), 0);
    assert_int_equal(bmp_fits_card_get_int(cards, "EXTVER", &n), 1);
    json_decref(cards);
    free(path);
}

static void fits_error_table_hdu(void **state)
{
    char *path = make_mef(*state);
    bmp_error err = read_fails(path, "1", BMP_EUNSUPPORTED);
    tu_assert_contains(err.text, "HDU 1 ('TAB')");
    tu_assert_contains(err.text, "binary table, not an image");
    err = read_fails(path, "tab", BMP_EUNSUPPORTED);
    tu_assert_contains(err.text, "binary table");
    err = read_fails(path, "0", BMP_EUNSUPPORTED);
    tu_assert_contains(err.text, "HDU 0");
    tu_assert_contains(err.text, "no data");
    free(path);

    /* Only a table: nothing to read by default. */
    path = tu_join(*state, "table_only.fits");
    fitsfile *f;
    int st = 0;
    char *ttype[] = {"X"}, *tform[] = {"I8"};
    tu_fits_check(fits_create_diskfile(&f, path, &st));
    tu_fits_check(fits_create_img(f, BYTE_IMG, 0, NULL, &st));
    tu_fits_check(
        fits_create_tbl(f, ASCII_TBL, 0, 1, ttype, tform, NULL, "ATAB", &st));
    tu_fits_check(fits_close_file(f, &st));
    err = read_fails(path, NULL, BMP_EUNSUPPORTED);
    tu_assert_contains(err.text, "no image HDU with data");
    err = read_fails(path, "ATAB", BMP_EUNSUPPORTED);
    tu_assert_contains(err.text, "an ASCII table");
    free(path);
}

static void fits_error_missing_hdu(void **state)
{
    char *path = make_mef(*state);
    bmp_error err = read_fails(path, "9", BMP_EFITS);
    tu_assert_contains(err.text, "has no HDU 9");
    tu_assert_contains(err.text, "cfitsio:");
    err = read_fails(path, "99999999999999999999", BMP_EFITS);
    tu_assert_contains(err.text, "has no HDU");
    err = read_fails(path, "NOPE", BMP_EFITS);
    tu_assert_contains(err.text, "no HDU named 'NOPE'");
    tu_assert_contains(err.text, "cfitsio:");
    err = read_fails(path, "SCI,3", BMP_EFITS);
    tu_assert_contains(err.text, "'SCI,3'");
    json_t *cards = (json_t *)path;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_read_header(path, "5", &cards, &err), BMP_EFITS);
    assert_null(cards);
    free(path);
}

/* ---------------------------------------------------------------------- */
/*  Damaged and foreign files                                             */
/* ---------------------------------------------------------------------- */

static void fits_error_truncated(void **state)
{
    size_t shape[2] = {100, 100};
    bmp_array *a = make_values(BMP_DTYPE_FLOAT64, 2, shape);
    char *path = tu_join(*state, "trunc.fits");
    write_ok(path, a, NULL, 0);
    /* Data cut short: the header reads, the data do not. */
    assert_int_equal(truncate(path, 2880 + 5000), 0);
    bmp_error err = read_fails(path, NULL, BMP_EFORMAT);
    tu_assert_contains(err.text, "truncated");
    tu_assert_contains(err.text, "cfitsio:");
    /* The header alone is still readable. */
    json_t *cards = NULL;
    assert_int_equal(bmp_fits_read_header(path, NULL, &cards, &err), 0);
    json_decref(cards);
    /* Header cut short. */
    assert_int_equal(truncate(path, 1000), 0);
    err = read_fails(path, NULL, BMP_EFORMAT);
    tu_assert_contains(err.text, "not a FITS file, or its primary header is "
                                 "damaged or truncated");
    tu_assert_contains(err.text, "cfitsio:");
    /* Empty file. */
    assert_int_equal(truncate(path, 0), 0);
    err = read_fails(path, NULL, BMP_EFORMAT);
    tu_assert_contains(err.text, "not a FITS file");
    bmp_object_free(a, NULL);
    free(path);
}

static void fits_error_not_fits(void **state)
{
    char *path = tu_join(*state, "notes.txt");
    char text[8192];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = i % 40 == 39 ? '\n' : 'x';
    tu_write_file(path, text, sizeof text);
    bmp_error err = read_fails(path, NULL, BMP_EFORMAT);
    tu_assert_contains(err.text, "is not a FITS file");
    tu_assert_contains(err.text, "cfitsio:");
    tu_assert_contains(err.text, "status 252");
    free(path);

    path = tu_join(*state, "missing.fits");
    err = read_fails(path, NULL, -ENOENT);
    tu_assert_contains(err.text, "No such file");
    free(path);

    err = read_fails(*state, NULL, -EISDIR);
    tu_assert_contains(err.text, "directory");

    bmp_array *a = NULL;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_read(NULL, NULL, &a, &err), BMP_EINVAL);
}

/* ---------------------------------------------------------------------- */
/*  Writing                                                               */
/* ---------------------------------------------------------------------- */

static void fits_write_atomic(void **state)
{
    const char *dir = *state;
    size_t shape[1] = {4};
    bmp_array *a = make_values(BMP_DTYPE_INT32, 1, shape);
    bmp_array *b = make_values(BMP_DTYPE_FLOAT32, 1, shape);
    char *path = tu_join(dir, "out.fits");

    write_ok(path, a, NULL, 0);
    assert_int_equal(count_entries(dir), 1);
    write_ok(path, b, NULL, 0); /* replaces */
    assert_int_equal(count_entries(dir), 1);
    bmp_array *c = tu_fits_read_ok(path, NULL);
    assert_int_equal(c->dtype, BMP_DTYPE_FLOAT32);
    bmp_object_free(c, NULL);

    bmp_error err = {0};
    assert_int_equal(bmp_fits_write(path, a, NULL, BMP_FITS_NO_CLOBBER, &err),
                     -EEXIST);
    tu_assert_contains(err.text, "exists");
    c = tu_fits_read_ok(path, NULL);
    assert_int_equal(c->dtype, BMP_DTYPE_FLOAT32);
    bmp_object_free(c, NULL);
    char *fresh = tu_join(dir, "fresh.fits");
    write_ok(fresh, a, NULL, BMP_FITS_NO_CLOBBER);
    assert_int_equal(count_entries(dir), 2);
    /* Every flag of the header is accepted, together. */
    write_ok(fresh, b, NULL, BMP_FITS_FSYNC | BMP_FITS_CHECKSUM);
    c = tu_fits_read_ok(fresh, NULL);
    assert_int_equal(c->dtype, BMP_DTYPE_FLOAT32);
    bmp_object_free(c, NULL);
    assert_int_equal(count_entries(dir), 2);

    /* A missing directory: the errno, and nothing created. */
    char *nodir = tu_join(dir, "no/such/dir/x.fits");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write(nodir, a, NULL, 0, &err), -ENOENT);
    assert_string_equal(err.source, nodir);
    assert_string_equal(err.stage, "write");
    assert_int_equal(count_entries(dir), 2);

    /* Names are literal: brackets are not cfitsio syntax here. */
    char *odd = tu_join(dir, "odd[1].fits");
    write_ok(odd, a, NULL, 0);
    c = tu_fits_read_ok(odd, NULL);
    assert_same_values(a, c);
    bmp_object_free(c, NULL);
    assert_true(tu_exists(odd));

    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    free(path);
    free(fresh);
    free(nodir);
    free(odd);
}

static void fits_write_unsupported(void **state)
{
    char *path = tu_join(*state, "unsup.fits");
    size_t shape[1] = {2};
    const bmp_dtype bad[] = {BMP_DTYPE_FLOAT16, BMP_DTYPE_COMPLEX64,
                             BMP_DTYPE_COMPLEX128};
    for (size_t i = 0; i < 3; i++) {
        bmp_array *a = bmp_array_new(bad[i], 1, shape);
        bmp_error err = {0};
        assert_int_equal(bmp_fits_write(path, a, NULL, 0, &err),
                         BMP_EUNSUPPORTED);
        tu_assert_contains(err.text, bmp_dtype_name(bad[i]));
        bmp_object_free(a, NULL);
    }
    bmp_array *s = bmp_array_new(BMP_DTYPE_INT16, 0, NULL);
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write(path, s, NULL, 0, &err), BMP_EUNSUPPORTED);
    tu_assert_contains(err.text, "0-dimensional");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write(path, s, NULL, 0x100, &err), BMP_EINVAL);
    s->count = 7; /* inconsistent */
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write(path, s, NULL, 0, &err), BMP_EINVAL);
    tu_assert_contains(err.text, "not a consistent bmp_array");
    s->count = 1;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_fits_write(NULL, s, NULL, 0, &err), BMP_EINVAL);
    assert_int_equal(count_entries(*state), 0);
    bmp_object_free(s, NULL);
    free(path);
}

/* The plain and the scaled write check their arguments alike: no
 * array, no name, unknown flags, an inconsistent array are refused with
 * the same error, and nothing is written. */
static void fits_write_checks_alike(void **state)
{
    char *path = tu_join(*state, "none.fits");
    size_t shape[1] = {3};
    bmp_array *good = bmp_array_new(BMP_DTYPE_INT16, 1, shape);
    bmp_array *bad = bmp_array_new(BMP_DTYPE_INT16, 1, shape);
    bad->count = 7; /* inconsistent */
    const struct {
        const char *path;
        const bmp_array *a;
        unsigned flags;
        const char *text;
    } cases[] = {
        {path, NULL, 0, "needs a file name and an array"},
        {NULL, good, 0, "needs a file name"},
        {"", good, 0, "needs a file name"},
        {path, good, 0x100, "unknown flags"},
        {path, bad, 0, "not a consistent bmp_array"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bmp_error plain = {0}, scaled = {0};
        assert_int_equal(bmp_fits_write(cases[c].path, cases[c].a, NULL,
                                        cases[c].flags, &plain),
                         BMP_EINVAL);
        assert_int_equal(bmp_fits_write_scaled(cases[c].path, cases[c].a, NULL,
                                               16, 1.0, 0.0, cases[c].flags,
                                               &scaled),
                         BMP_EINVAL);
        tu_assert_contains(plain.text, cases[c].text);
        assert_string_equal(plain.text, scaled.text);
    }
    assert_int_equal(count_entries(*state), 0);
    bmp_object_free(good, NULL);
    bad->count = 3;
    bmp_object_free(bad, NULL);
    free(path);
}

static void fits_checksum(void **state)
{
    size_t shape[2] = {8, 8};
    bmp_array *a = make_values(BMP_DTYPE_UINT16, 2, shape);
    char *path = tu_join(*state, "sum.fits");
    write_ok(path, a, NULL, BMP_FITS_CHECKSUM);
    fitsfile *f;
    int st = 0, data_ok = 0, hdu_ok = 0;
    tu_fits_check(fits_open_diskfile(&f, path, READONLY, &st));
    tu_fits_check(fits_verify_chksum(f, &data_ok, &hdu_ok, &st));
    assert_int_equal(data_ok, 1);
    assert_int_equal(hdu_ok, 1);
    tu_fits_check(fits_close_file(f, &st));
    bmp_object_free(a, NULL);
    free(path);
}

/* Tile-compressed images and gzip'd files read as plain ones. */
static void fits_compressed_inputs(void **state)
{
    char *path = tu_join(*state, "comp.fits");
    fitsfile *f;
    int st = 0;
    long naxes[2] = {16, 8};
    int d[128];
    for (int i = 0; i < 128; i++)
        d[i] = i * i - 300;
    tu_fits_check(fits_create_diskfile(&f, path, &st));
    tu_fits_check(fits_create_img(f, BYTE_IMG, 0, NULL, &st));
    tu_fits_check(fits_set_compression_type(f, RICE_1, &st));
    tu_fits_check(fits_create_img(f, LONG_IMG, 2, naxes, &st));
    tu_fits_check(fits_write_key_str(f, "EXTNAME", "COMP", NULL, &st));
    tu_fits_check(fits_write_key_dbl(f, "GAIN", 1.25, -15, "e/ADU", &st));
    tu_fits_check(fits_write_img(f, TINT, 1, 128, d, &st));
    tu_fits_check(fits_close_file(f, &st));

    bmp_array *a = tu_fits_read_ok(path, NULL);
    assert_int_equal(a->dtype, BMP_DTYPE_INT32);
    assert_int_equal(a->shape[0], 8);
    assert_int_equal(a->shape[1], 16);
    assert_memory_equal(a->data, d, sizeof d);
    double g;
    assert_int_equal(bmp_fits_card_get_real(a->header, "GAIN", &g), 1);
    assert_true(g == 1.25);
    assert_null(bmp_fits_card_find(a->header, "ZIMAGE")); /* image header */

    char *plain = tu_join(*state, "plain.fits");
    write_ok(plain, a, NULL, 0);
    assert_int_equal(tu_system("gzip -q '%s'", plain), 0);
    char *gz = tu_join(*state, "plain.fits.gz");
    bmp_array *b = tu_fits_read_ok(gz, NULL);
    assert_same_values(a, b);
    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    free(path);
    free(plain);
    free(gz);
}

/* ---------------------------------------------------------------------- */
/*  Threads                                                               */
/* ---------------------------------------------------------------------- */

typedef struct thread_job {
    const char *dir;
    int id;
    int failures;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    char name[64];
    snprintf(name, sizeof name, "%s/t%d.fits", job->dir, job->id);
    size_t shape[2] = {32, 32};
    for (int round = 0; round < 20; round++) {
        bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT32, 2, shape);
        for (size_t i = 0; i < a->count; i++)
            ((float *)a->data)[i] = (float)(job->id * 1000 + round) + (float)i;
        a->header = json_array();
        bmp_fits_card_set_int(a->header, "ROUND", round, NULL);
        bmp_error err = {0};
        bmp_array *b = NULL;
        long long r = -1;
        if (bmp_fits_write(name, a, NULL, 0, &err) != 0 ||
            bmp_fits_read(name, NULL, &b, &err) != 0 ||
            memcmp(a->data, b->data, a->nbytes) != 0 ||
            bmp_fits_card_get_int(b->header, "ROUND", &r) != 1 || r != round)
            job->failures++;
        bmp_object_free(a, NULL);
        bmp_object_free(b, NULL);
    }
    return NULL;
}

static void fits_threads(void **state)
{
    if (!bmp_fits_thread_safe()) {
        skip();
        return;
    }
    enum { N = 4 };
    pthread_t t[N];
    thread_job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (thread_job){*state, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &jobs[i]),
                         0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
    }
}

/* ---------------------------------------------------------------------- */
/*  The ops' keywords                                                     */
/* ---------------------------------------------------------------------- */

/* One run of the FITS ops over `in` with `kw` (taken), in the serial
 * executor. */
static bmp_pout *run_fits_ops(const char *in, json_t *kw)
{
    bmp_ops ops = {.version = BMP_OPS_VERSION,
                   .file_read = bmp_fits_file_read,
                   .file_write = bmp_fits_file_write};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    assert_non_null(pipe);
    json_t *names = json_pack("[s]", in);
    json_object_set_new(kw, "executor", json_string("serial"));
    json_object_set_new(kw, "overwrite", json_true());
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err) != 0)
        fail_msg("bmp_pipeline: %s", err.text);
    assert_int_equal(bmp_pout_count(pout), 1);
    json_decref(names);
    json_decref(kw);
    bmp_pipe_free(pipe);
    return pout;
}

static void assert_kw_type_failure(bmp_pout *pout, const char *message)
{
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
    assert_int_equal(pout->entries[0].r.code, BMP_EKWTYPE);
    assert_non_null(bmp_pout_error(pout, 0));
    tu_assert_contains(bmp_pout_error(pout, 0), message);
    assert_null(bmp_pout_outname(pout, 0));
    bmp_pout_free(pout);
}

/* A keyword of the wrong type fails the item with BMP_EKWTYPE, naming the
 * keyword and the type wanted, as in the .npy ops: fits_checksum was
 * once taken as false instead. */
static void fits_ops_keyword_types(void **state)
{
    const char *dir = *state;
    char *in = tu_join(dir, "in.fits");
    const size_t shape[2] = {3, 4};
    bmp_array *a = make_values(BMP_DTYPE_INT16, 2, shape);
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write(in, a, NULL, 0, &err), 0);
    bmp_object_free(a, NULL);

    assert_kw_type_failure(run_fits_ops(in,
                                        json_pack("{s:s, s:s}", "outdir", dir,
                                                  "fits_checksum", "yes")),
                           "keyword fits_checksum must be a boolean");
    assert_kw_type_failure(run_fits_ops(in,
                                        json_pack("{s:s, s:s}", "outdir", dir,
                                                  "fits_compress", "yes")),
                           "keyword fits_compress must be a boolean");
    assert_kw_type_failure(run_fits_ops(in, json_pack("{s:s, s:[i]}", "outdir",
                                                      dir, "fits_hdu", 0)),
                           "keyword fits_hdu must be an HDU index");
    assert_kw_type_failure(run_fits_ops(in, json_pack("{s:s, s:i}", "outdir",
                                                      dir, "fits_hdu", -1)),
                           "keyword fits_hdu must be an HDU index");

    /* The same keywords with their types: the checksum is written (and
     * fsync, which the ops turn into BMP_FITS_FSYNC, is accepted). */
    bmp_pout *pout = run_fits_ops(in, json_pack("{s:s, s:b, s:i, s:b}",
                                                "outdir", dir, "fits_checksum",
                                                1, "fits_hdu", 0, "fsync", 1));
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    const char *out = bmp_pout_outname(pout, 0);
    assert_non_null(out);
    json_t *cards = NULL;
    assert_int_equal(bmp_fits_read_header(out, NULL, &cards, &err), 0);
    const char *sum;
    assert_int_equal(bmp_fits_card_get_str(cards, "CHECKSUM", &sum), 1);
    json_decref(cards);
    bmp_pout_free(pout);

    /* fits_compress: the output is tile-compressed, in HDU 1. */
    pout = run_fits_ops(in, json_pack("{s:s, s:b}", "outdir", dir,
                                      "fits_compress", 1));
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    out = bmp_pout_outname(pout, 0);
    fitsfile *f;
    int st = 0;
    tu_fits_check(fits_open_diskfile(&f, out, READONLY, &st));
    tu_fits_check(fits_movabs_hdu(f, 2, NULL, &st));
    assert_true(fits_is_compressed_image(f, &st));
    tu_fits_check(fits_close_file(f, &st));
    bmp_array *back = tu_fits_read_ok(out, NULL);
    bmp_array *orig = tu_fits_read_ok(in, NULL);
    assert_same_values(orig, back);
    bmp_object_free(back, NULL);
    bmp_object_free(orig, NULL);
    bmp_pout_free(pout);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_DIR_TEST(fits_roundtrip_uint8),
        TU_DIR_TEST(fits_roundtrip_int8),
        TU_DIR_TEST(fits_roundtrip_int16),
        TU_DIR_TEST(fits_roundtrip_uint16),
        TU_DIR_TEST(fits_roundtrip_int32),
        TU_DIR_TEST(fits_roundtrip_uint32),
        TU_DIR_TEST(fits_roundtrip_int64),
        TU_DIR_TEST(fits_roundtrip_uint64),
        TU_DIR_TEST(fits_roundtrip_float32),
        TU_DIR_TEST(fits_roundtrip_float64),
        TU_DIR_TEST(fits_roundtrip_bool_as_uint8),
        TU_DIR_TEST(fits_axis_order_3d),
        TU_DIR_TEST(fits_fortran_and_swapped_input),
        TU_DIR_TEST(fits_zero_length_axis),
        TU_DIR_TEST(fits_scaled_roundtrip),
        TU_DIR_TEST(fits_scaled_unsigned_convention),
        TU_DIR_TEST(fits_scaled_errors),
        TU_DIR_TEST(fits_blank_becomes_nan),
        TU_DIR_TEST(fits_cards_every_type),
        TU_DIR_TEST(fits_cards_structural_skipped),
        TU_DIR_TEST(fits_cards_invalid),
        TU_DIR_TEST(fits_card_helpers),
        TU_DIR_TEST(fits_hdu_selection),
        TU_DIR_TEST(fits_error_table_hdu),
        TU_DIR_TEST(fits_error_missing_hdu),
        TU_DIR_TEST(fits_error_truncated),
        TU_DIR_TEST(fits_error_not_fits),
        TU_DIR_TEST(fits_write_atomic),
        TU_DIR_TEST(fits_write_unsupported),
        TU_DIR_TEST(fits_write_checks_alike),
        TU_DIR_TEST(fits_checksum),
        TU_DIR_TEST(fits_compressed_inputs),
        TU_DIR_TEST(fits_threads),
        TU_DIR_TEST(fits_ops_keyword_types),
    };
    return cmocka_run_group_tests_name("fits", tests, NULL, NULL);
}
