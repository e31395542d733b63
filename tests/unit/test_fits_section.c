/*
 * test_fits_section.c -- reading into a chosen dtype (bmp_fits_read_as)
 * and reading a cutout (bmp_fits_read_section): converted values, values
 * that do not fit, blank pixels, the section's header (NAXISn, CRPIXn),
 * compressed images, and the arguments refused.
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

enum { ROWS = 6, COLS = 8 };

/* value(r, c) of the test image: distinct, some beyond int16. */
static double value(size_t r, size_t c)
{
    return (double)(r * COLS + c) * 1000.0 - 5000.0;
}

/* An int32 image of ROWS x COLS with WCS reference pixels. */
static char *make_image(const char *dir, unsigned flags)
{
    const size_t shape[2] = {ROWS, COLS};
    bmp_array *a = bmp_array_new(BMP_DTYPE_INT32, 2, shape);
    assert_non_null(a);
    for (size_t r = 0; r < ROWS; r++)
        for (size_t c = 0; c < COLS; c++)
            bmp_array_set_double(a, r * COLS + c, value(r, c));
    a->header = json_array();
    bmp_fits_card_set_real(a->header, "CRPIX1", 4.5, NULL);
    bmp_fits_card_set_real(a->header, "CRPIX2", 3.0, NULL);
    bmp_fits_card_set_real(a->header, "CRPIX1A", 2.0, NULL);
    bmp_fits_card_set_real(a->header, "CRPIX1XY", 7.0, NULL); /* not WCS */
    bmp_fits_card_set_real(a->header, "CRVAL1", 10.0, NULL);
    char *path = tu_join(dir, flags ? "z.fits" : "img.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write(path, a, NULL, flags, &err), 0);
    bmp_object_free(a, NULL);
    return path;
}

static double card_real(const json_t *cards, const char *key)
{
    double v = NAN;
    assert_int_equal(bmp_fits_card_get_real(cards, key, &v), 1);
    return v;
}

/* ---------------------------------------------------------------------- */

static void read_as_converts(void **state)
{
    char *path = make_image(*state, 0);
    bmp_error err = {0};
    bmp_array *a = NULL;
    assert_int_equal(bmp_fits_read_as(path, NULL, BMP_DTYPE_FLOAT64, &a, &err),
                     0);
    assert_int_equal(a->dtype, BMP_DTYPE_FLOAT64);
    for (size_t i = 0; i < a->count; i++)
        assert_true(((double *)a->data)[i] == value(i / COLS, i % COLS));
    bmp_object_free(a, NULL);

    assert_int_equal(bmp_fits_read_as(path, "0", BMP_DTYPE_INT64, &a, &err),
                     0);
    assert_int_equal(a->dtype, BMP_DTYPE_INT64);
    assert_true(((int64_t *)a->data)[ROWS * COLS - 1] ==
                (int64_t)value(ROWS - 1, COLS - 1));
    bmp_object_free(a, NULL);

    /* 0 is the default choice. */
    assert_int_equal(bmp_fits_read_as(path, NULL, (bmp_dtype)0, &a, &err), 0);
    assert_int_equal(a->dtype, BMP_DTYPE_INT32);
    bmp_object_free(a, NULL);
    free(path);
}

/* Values beyond the dtype are an error, not clipped; so are dtypes FITS
 * cannot convert to, and unknown ones. */
static void read_as_refuses(void **state)
{
    char *path = make_image(*state, 0);
    bmp_array *a = (bmp_array *)path;
    bmp_error err = {0};
    assert_int_equal(bmp_fits_read_as(path, NULL, BMP_DTYPE_INT16, &a, &err),
                     BMP_EINVAL);
    assert_null(a);
    tu_assert_contains(err.text, "do not fit int16");
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_read_as(path, NULL, BMP_DTYPE_UINT32, &a, &e2),
                     BMP_EINVAL); /* the negative values */
    bmp_error e3 = {0};
    assert_int_equal(bmp_fits_read_as(path, NULL, BMP_DTYPE_BOOL, &a, &e3),
                     BMP_EUNSUPPORTED);
    tu_assert_contains(e3.text, "as bool");
    bmp_error e4 = {0};
    assert_int_equal(bmp_fits_read_as(path, NULL, (bmp_dtype)99, &a, &e4),
                     BMP_EINVAL);
    /* A section of the values that fit int16 reads. */
    const size_t start[2] = {0, 0}, stop[2] = {1, COLS};
    assert_int_equal(bmp_fits_read_section(path, NULL, BMP_DTYPE_INT16, 2,
                                           start, stop, &a, &err),
                     0);
    assert_int_equal(((int16_t *)a->data)[0], -5000);
    bmp_object_free(a, NULL);
    free(path);
}

/* Blank pixels: NaN in a real dtype, an error in an integer one; scaled
 * reals to integers truncate toward zero. */
static void read_as_blank_and_scaled(void **state)
{
    const size_t shape[1] = {4};
    bmp_array *a = bmp_array_new(BMP_DTYPE_INT16, 1, shape);
    int16_t *v = a->data;
    v[0] = -32768, v[1] = 5, v[2] = -7, v[3] = 9;
    json_t *cards = json_array();
    bmp_fits_card_set_int(cards, "BLANK", -32768, NULL);
    char *path = tu_join(*state, "blank.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write(path, a, cards, 0, &err), 0);
    bmp_array *b = NULL;
    assert_int_equal(bmp_fits_read_as(path, NULL, BMP_DTYPE_FLOAT64, &b, &err),
                     0);
    assert_true(isnan(((double *)b->data)[0]));
    assert_true(((double *)b->data)[1] == 5.0);
    bmp_object_free(b, NULL);
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_read_as(path, NULL, BMP_DTYPE_INT32, &b, &e2),
                     BMP_EINVAL);
    tu_assert_contains(e2.text, "blank");
    const size_t start[1] = {1}, stop[1] = {4};
    assert_int_equal(bmp_fits_read_section(path, NULL, BMP_DTYPE_INT32, 1,
                                           start, stop, &b, &err),
                     0);
    assert_int_equal(((int32_t *)b->data)[1], -7);
    bmp_object_free(b, NULL);

    bmp_array *r = bmp_array_new(BMP_DTYPE_FLOAT64, 1, shape);
    double *d = r->data;
    d[0] = 1.5, d[1] = -1.5, d[2] = 2.5, d[3] = -0.5;
    char *scaled = tu_join(*state, "scaled.fits");
    assert_int_equal(bmp_fits_write_scaled(scaled, r, NULL, 16, 0.5, 0.0, 0,
                                           &err),
                     0);
    assert_int_equal(bmp_fits_read_as(scaled, NULL, BMP_DTYPE_INT8, &b, &err),
                     0);
    const int8_t want[4] = {1, -1, 2, 0};
    assert_memory_equal(b->data, want, 4);
    bmp_object_free(b, NULL);
    bmp_object_free(a, NULL);
    bmp_object_free(r, NULL);
    json_decref(cards);
    free(path);
    free(scaled);
}

/* A section is numpy's data[1:4, 2:7]; its header says so. */
static void section_values_and_header(void **state)
{
    for (unsigned flags = 0; flags <= BMP_FITS_COMPRESS;
         flags += BMP_FITS_COMPRESS) {
        char *path = make_image(*state, flags);
        const size_t start[2] = {1, 2}, stop[2] = {4, 7};
        bmp_error err = {0};
        bmp_array *a = NULL;
        if (bmp_fits_read_section(path, NULL, 0, 2, start, stop, &a, &err))
            fail_msg("%s", err.text);
        assert_int_equal(a->dtype, BMP_DTYPE_INT32);
        assert_int_equal(a->shape[0], 3);
        assert_int_equal(a->shape[1], 5);
        for (size_t r = 0; r < 3; r++)
            for (size_t c = 0; c < 5; c++)
                assert_true(bmp_array_get_double(a, r * 5 + c) ==
                            value(r + 1, c + 2));
        long long n = 0;
        assert_int_equal(bmp_fits_card_get_int(a->header, "NAXIS1", &n), 1);
        assert_int_equal(n, 5);
        assert_int_equal(bmp_fits_card_get_int(a->header, "NAXIS2", &n), 1);
        assert_int_equal(n, 3);
        assert_true(card_real(a->header, "CRPIX1") == 2.5);
        assert_true(card_real(a->header, "CRPIX2") == 2.0);
        assert_true(card_real(a->header, "CRPIX1A") == 0.0);
        assert_true(card_real(a->header, "CRPIX1XY") == 7.0);
        assert_true(card_real(a->header, "CRVAL1") == 10.0);
        bmp_object_free(a, NULL);

        /* The same in float32, and an empty section. */
        assert_int_equal(bmp_fits_read_section(path, NULL, BMP_DTYPE_FLOAT32,
                                               2, start, stop, &a, &err),
                         0);
        assert_true(((float *)a->data)[0] == (float)value(1, 2));
        bmp_object_free(a, NULL);
        const size_t e0[2] = {2, 3}, e1[2] = {2, 8};
        assert_int_equal(bmp_fits_read_section(path, NULL, 0, 2, e0, e1, &a,
                                               &err),
                         0);
        assert_int_equal(a->count, 0);
        assert_int_equal(a->shape[1], 5);
        bmp_object_free(a, NULL);
        free(path);
    }
}

static void section_refused(void **state)
{
    char *path = make_image(*state, 0);
    bmp_array *a = NULL;
    const size_t start[2] = {0, 0}, past[2] = {6, 9}, back[2] = {0, 0};
    const size_t s2[2] = {3, 1};
    bmp_error err = {0};
    assert_int_equal(bmp_fits_read_section(path, NULL, 0, 2, start, past, &a,
                                           &err),
                     BMP_EINVAL);
    tu_assert_contains(err.text, "axis 1");
    tu_assert_contains(err.text, "length there is 8");
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_read_section(path, NULL, 0, 2, s2, back, &a,
                                           &e2),
                     BMP_EINVAL);
    bmp_error e3 = {0};
    assert_int_equal(bmp_fits_read_section(path, NULL, 0, 1, start, past, &a,
                                           &e3),
                     BMP_EINVAL);
    tu_assert_contains(e3.text, "which has 2");
    bmp_error e4 = {0};
    assert_int_equal(bmp_fits_read_section(path, NULL, 0, 2, start, NULL, &a,
                                           &e4),
                     BMP_EINVAL);
    bmp_error e5 = {0};
    assert_int_equal(bmp_fits_read_section(path, NULL, 0, 0, NULL, NULL, &a,
                                           &e5),
                     0); /* the whole image */
    assert_int_equal(a->count, ROWS * COLS);
    bmp_object_free(a, NULL);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_DIR_TEST(read_as_converts),
        TU_DIR_TEST(read_as_refuses),
        TU_DIR_TEST(read_as_blank_and_scaled),
        TU_DIR_TEST(section_values_and_header),
        TU_DIR_TEST(section_refused),
    };
    return cmocka_run_group_tests_name("fits_section", tests, NULL, NULL);
}
