/*
 * test_fits_hdus.c -- FITS files as astronomers' tools write them: the
 * commentary and blank cards a header keeps (empty ones, at the end, with
 * checksums), files of several image HDUs (CCDData's data, MASK and
 * UNCERT) read back by index and by name (PRIMARY, "SCI, 2"), and
 * tile-compressed output (BMP_FITS_COMPRESS).
 */
#include "bigmultipipe.h"

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 2-d array of `dtype` holding (i * step) mod 100 + offset, so that
 * every dtype holds it. */
static bmp_array *ramp(bmp_dtype dtype, size_t rows, size_t cols, double step,
                       double offset)
{
    const size_t shape[2] = {rows, cols};
    bmp_array *a = bmp_array_new(dtype, 2, shape);
    assert_non_null(a);
    for (size_t i = 0; i < a->count; i++)
        bmp_array_set_double(a, i, fmod((double)i * step, 100.0) + offset);
    return a;
}

static void assert_equal_arrays(const bmp_array *a, const bmp_array *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_memory_equal(a->data, b->data, a->nbytes);
}

static json_t *card(const char *key, const char *value)
{
    return json_pack("{s:s,s:s,s:s}", "key", key, "value", value, "comment",
                     "");
}

/* The commentary and blank cards of a header, as "KEY:text" joined by
 * '|', skipping the structural cards cfitsio writes. */
static char *commentary(const json_t *cards)
{
    char *s = calloc(1, 4096);
    assert_non_null(s);
    size_t i;
    json_t *c;
    json_array_foreach(cards, i, c)
    {
        const char *key = json_string_value(json_object_get(c, "key"));
        if (strcmp(key, "COMMENT") && strcmp(key, "HISTORY") && key[0])
            continue;
        const char *v = json_string_value(json_object_get(c, "value"));
        size_t len = strlen(s);
        snprintf(s + len, 4096 - len, "%s%s:%s", len ? "|" : "", key, v);
    }
    return s;
}

/* ---------------------------------------------------------------------- */
/*  Commentary and blank cards                                            */
/* ---------------------------------------------------------------------- */

/* COMMENT and HISTORY cards, empty ones included, and blank cards, also
 * those that end the header, are written in order and read back; the
 * same with checksums, which must stay valid. */
static void hdus_commentary_cards_kept(void **state)
{
    json_t *cards = json_array();
    json_array_append_new(cards, card("COMMENT", "first"));
    json_array_append_new(cards, card("HISTORY", ""));
    json_array_append_new(cards, card("", ""));
    json_array_append_new(cards, card("COMMENT", ""));
    json_array_append_new(cards, card("", "  indented text"));
    json_array_append_new(cards, card("OBJECT", "M31"));
    json_array_append_new(cards, card("HISTORY", "last"));
    json_array_append_new(cards, card("", ""));
    json_array_append_new(cards, card("", ""));
    json_array_append_new(cards, card("", ""));
    const char *want = "COMMENT:first|HISTORY:|:|COMMENT:|:  indented "
                       "text|HISTORY:last|:|:|:";
    bmp_array *a = ramp(BMP_DTYPE_INT16, 2, 3, 1, 0);
    for (unsigned flags = 0; flags <= BMP_FITS_CHECKSUM;
         flags += BMP_FITS_CHECKSUM) {
        char *path = tu_join(*state, flags ? "sum.fits" : "plain.fits");
        bmp_error err = {0};
        assert_int_equal(bmp_fits_write(path, a, cards, flags, &err), 0);
        bmp_array *b = tu_fits_read_ok(path, NULL);
        char *got = commentary(b->header);
        assert_string_equal(got, want);
        free(got);
        /* Nothing invented: cfitsio's COMMENT cards about the FITS paper
         * are not there. */
        for (size_t i = 0; i < json_array_size(b->header); i++) {
            const char *v = json_string_value(
                json_object_get(json_array_get(b->header, i), "value"));
            assert_true(!v || !strstr(v, "Flexible Image"));
        }
        if (flags) { /* cfitsio's own check of the moved END card */
            fitsfile *f;
            int st = 0, hdu_ok = 0, data_ok = 0;
            assert_int_equal(fits_open_diskfile(&f, path, READONLY, &st), 0);
            fits_verify_chksum(f, &data_ok, &hdu_ok, &st);
            fits_close_file(f, &st);
            assert_int_equal(st, 0);
            assert_int_equal(hdu_ok, 1);
            assert_int_equal(data_ok, 1);
        }
        /* Read and written again: the same cards, no more. */
        char *again = tu_join(*state, "again.fits");
        assert_int_equal(bmp_fits_write(again, b, NULL, 0, &err), 0);
        bmp_array *c = tu_fits_read_ok(again, NULL);
        got = commentary(c->header);
        assert_string_equal(got, want);
        free(got);
        bmp_object_free(b, NULL);
        bmp_object_free(c, NULL);
        free(again);
        free(path);
    }
    bmp_object_free(a, NULL);
    json_decref(cards);
}

/* A header of many blank cards at its end, over more than one 2880-byte
 * block, keeps them all. */
static void hdus_many_end_blanks(void **state)
{
    json_t *cards = json_array();
    json_array_append_new(cards, card("OBJECT", "M31"));
    for (int i = 0; i < 80; i++)
        json_array_append_new(cards, card("", ""));
    bmp_array *a = ramp(BMP_DTYPE_FLOAT32, 2, 2, 0.5, 0);
    char *path = tu_join(*state, "blanks.fits");
    bmp_error err = {0};
    if (bmp_fits_write(path, a, cards, 0, &err) != 0)
        fail_msg("%s", err.text);
    bmp_array *b = tu_fits_read_ok(path, NULL);
    size_t blanks = 0;
    for (size_t i = 0; i < json_array_size(b->header); i++) {
        const char *k = json_string_value(
            json_object_get(json_array_get(b->header, i), "key"));
        blanks += k[0] == '\0';
    }
    assert_int_equal(blanks, 80);
    float *v = b->data;
    assert_true(v[3] == 1.5f);
    bmp_object_free(a, NULL);
    bmp_object_free(b, NULL);
    json_decref(cards);
    free(path);
}

/* What the fuzzer found in the cards' writer and reader: strings of many
 * quotes (cfitsio's own splitting never returned), strings ending in
 * '&', a HIERARCH string too long for its card (refused, not cut), and a
 * real beyond double (kept as its text). */
static void hdus_card_edge_cases(void **state)
{
    char quotes[200];
    memset(quotes, '\'', 150);
    strcpy(quotes + 150, "x&");
    json_t *cards = json_array();
    json_array_append_new(cards, card("QUOTES", quotes));
    json_array_append_new(cards, card("AMP", "ends in &"));
    json_array_append_new(cards, card("AMP2", "&&&"));
    bmp_array *a = ramp(BMP_DTYPE_UINT8, 1, 2, 1, 0);
    char *path = tu_join(*state, "edge.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write(path, a, cards, 0, &err), 0);
    bmp_array *b = tu_fits_read_ok(path, NULL);
    const char *s;
    assert_int_equal(bmp_fits_card_get_str(b->header, "QUOTES", &s), 1);
    assert_string_equal(s, quotes);
    assert_int_equal(bmp_fits_card_get_str(b->header, "AMP", &s), 1);
    assert_string_equal(s, "ends in &");
    assert_int_equal(bmp_fits_card_get_str(b->header, "AMP2", &s), 1);
    assert_string_equal(s, "&&&");
    bmp_object_free(b, NULL);

    json_t *hier = json_array();
    char longval[80];
    memset(longval, 'v', 60);
    longval[60] = '\0';
    json_array_append_new(hier, card("ESO INS FILTER NAME", longval));
    char *bad = tu_join(*state, "hier.fits");
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_write(bad, a, hier, 0, &e2), BMP_EINVAL);
    tu_assert_contains(e2.text, "ESO INS FILTER NAME");
    assert_false(tu_exists(bad));

    /* A real card beyond double, written by hand. */
    char text[2880 * 2];
    memset(text, ' ', sizeof text);
    const char *lines[] = {"SIMPLE  =                    T",
                           "BITPIX  =                    8",
                           "NAXIS   =                    1",
                           "NAXIS1  =                    2",
                           "BIGR    =                1E999",
                           "END"};
    for (size_t i = 0; i < 6; i++)
        memcpy(text + i * 80, lines[i], strlen(lines[i]));
    memset(text + 2880, 0, 2880);
    char *raw = tu_join(*state, "big.fits");
    tu_write_file(raw, text, sizeof text);
    b = tu_fits_read_ok(raw, NULL);
    assert_int_equal(bmp_fits_card_get_str(b->header, "BIGR", &s), 1);
    assert_string_equal(s, "1E999");
    bmp_object_free(b, NULL);
    bmp_object_free(a, NULL);
    json_decref(cards);
    json_decref(hier);
    free(path);
    free(bad);
    free(raw);
}

/* ---------------------------------------------------------------------- */
/*  Several HDUs                                                          */
/* ---------------------------------------------------------------------- */

/* A CCDData file: data in the primary HDU, MASK and UNCERT extensions;
 * read back by index, by name in any case, and by PRIMARY. */
static void hdus_ccddata_layout(void **state)
{
    bmp_array *data = ramp(BMP_DTYPE_FLOAT64, 3, 4, 1.5, -2);
    bmp_array *mask = ramp(BMP_DTYPE_UINT8, 3, 4, 0, 0);
    ((unsigned char *)mask->data)[5] = 1;
    bmp_array *unc = ramp(BMP_DTYPE_FLOAT32, 3, 4, 0.25, 1);
    data->header = json_array();
    bmp_fits_card_set_str(data->header, "BUNIT", "adu", "unit");
    bmp_fits_card_set_real(data->header, "EXPTIME", 30, NULL);
    json_t *ucards = json_array();
    bmp_fits_card_set_str(ucards, "UTYPE", "StdDevUncertainty", NULL);
    bmp_fits_card_set_str(ucards, "EXTNAME", "IGNORED", NULL);
    bmp_fits_hdu h[3] = {{data, NULL, NULL},
                         {mask, NULL, "MASK"},
                         {unc, ucards, "UNCERT"}};
    char *path = tu_join(*state, "ccd.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write_hdus(path, h, 3, BMP_FITS_CHECKSUM, &err),
                     0);

    const char *data_names[] = {NULL, "0", "PRIMARY", "primary", "PRIMARY,1"};
    for (size_t i = 0; i < sizeof data_names / sizeof *data_names; i++) {
        bmp_array *b = tu_fits_read_ok(path, data_names[i]);
        assert_equal_arrays(b, data);
        const char *s;
        assert_int_equal(bmp_fits_card_get_str(b->header, "BUNIT", &s), 1);
        assert_string_equal(s, "adu");
        assert_null(bmp_fits_card_find(b->header, "EXTNAME"));
        assert_non_null(bmp_fits_card_find(b->header, "CHECKSUM"));
        bmp_object_free(b, NULL);
    }
    const char *mask_names[] = {"1", "MASK", "mask", " Mask , 1 "};
    for (size_t i = 0; i < sizeof mask_names / sizeof *mask_names; i++) {
        bmp_array *b = tu_fits_read_ok(path, mask_names[i]);
        assert_equal_arrays(b, mask);
        bmp_object_free(b, NULL);
    }
    bmp_array *b = tu_fits_read_ok(path, "UNCERT");
    assert_equal_arrays(b, unc);
    const char *s;
    assert_int_equal(bmp_fits_card_get_str(b->header, "UTYPE", &s), 1);
    assert_string_equal(s, "StdDevUncertainty");
    assert_int_equal(bmp_fits_card_get_str(b->header, "EXTNAME", &s), 1);
    assert_string_equal(s, "UNCERT"); /* the extname given wins */
    assert_int_equal(bmp_fits_card_remove(b->header, "EXTNAME"), 1);
    assert_int_equal(bmp_fits_card_remove(b->header, "EXTNAME"), 0);
    bmp_object_free(b, NULL);

    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_read(path, "MASK,2", &b, &e2), BMP_EFITS);
    tu_assert_contains(e2.text, "no HDU named 'MASK,2'");
    bmp_object_free(data, NULL);
    bmp_object_free(mask, NULL);
    bmp_object_free(unc, NULL);
    json_decref(ucards);
    free(path);
}

/* An empty primary HDU, then SCI extensions told apart by EXTVER: "SCI, 2"
 * with a blank is EXTVER 2, as astropy's hdul["SCI", 2]. */
static void hdus_extver_with_space(void **state)
{
    bmp_array *s1 = ramp(BMP_DTYPE_INT32, 2, 2, 1, 10);
    bmp_array *s2 = ramp(BMP_DTYPE_INT32, 2, 2, 1, 20);
    json_t *prim = json_array();
    bmp_fits_card_set_str(prim, "TELESCOP", "INT", NULL);
    json_t *v1 = json_array(), *v2 = json_array();
    bmp_fits_card_set_int(v1, "EXTVER", 1, NULL);
    bmp_fits_card_set_int(v2, "EXTVER", 2, NULL);
    bmp_fits_hdu h[3] = {{NULL, prim, NULL}, {s1, v1, "SCI"}, {s2, v2, "SCI"}};
    char *path = tu_join(*state, "mef.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write_hdus(path, h, 3, 0, &err), 0);

    bmp_array *b = tu_fits_read_ok(path, NULL); /* the first image with data */
    assert_equal_arrays(b, s1);
    bmp_object_free(b, NULL);
    const char *two[] = {"SCI, 2", "SCI,2", "sci ,2", "2"};
    for (size_t i = 0; i < sizeof two / sizeof *two; i++) {
        b = tu_fits_read_ok(path, two[i]);
        assert_equal_arrays(b, s2);
        bmp_object_free(b, NULL);
    }
    json_t *cards = NULL;
    assert_int_equal(bmp_fits_read_header(path, "PRIMARY", &cards, &err), 0);
    const char *s;
    assert_int_equal(bmp_fits_card_get_str(cards, "TELESCOP", &s), 1);
    json_decref(cards);
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_read(path, "PRIMARY", &b, &e2),
                     BMP_EUNSUPPORTED);
    tu_assert_contains(e2.text, "no data");
    bmp_object_free(s1, NULL);
    bmp_object_free(s2, NULL);
    json_decref(prim);
    json_decref(v1);
    json_decref(v2);
    free(path);
}

/* Bad input is refused before the file is begun: nothing is written. */
static void hdus_errors_write_nothing(void **state)
{
    char *path = tu_join(*state, "bad.fits");
    bmp_array *ok = ramp(BMP_DTYPE_INT16, 2, 2, 1, 0);
    const size_t shape[1] = {2};
    bmp_array *half = bmp_array_new(BMP_DTYPE_FLOAT16, 1, shape);
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write_hdus(path, NULL, 0, 0, &err), BMP_EINVAL);
    bmp_fits_hdu h[2] = {{ok, NULL, NULL}, {half, NULL, "X"}};
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_write_hdus(path, h, 2, 0, &e2),
                     BMP_EUNSUPPORTED);
    tu_assert_contains(e2.text, "of HDU 1");
    json_t *notlist = json_object();
    bmp_fits_hdu h2[2] = {{ok, NULL, NULL}, {ok, notlist, NULL}};
    bmp_error e3 = {0};
    assert_int_equal(bmp_fits_write_hdus(path, h2, 2, 0, &e3), BMP_EINVAL);
    bmp_fits_hdu h3[1] = {{ok, NULL, "caf\xc3\xa9"}};
    bmp_error e4 = {0};
    assert_int_equal(bmp_fits_write_hdus(path, h3, 1, 0, &e4), BMP_EINVAL);
    tu_assert_contains(e4.text, "EXTNAME");
    assert_false(tu_exists(path));
    bmp_object_free(ok, NULL);
    bmp_object_free(half, NULL);
    json_decref(notlist);
    free(path);
}

/* ---------------------------------------------------------------------- */
/*  Tile-compressed output                                                */
/* ---------------------------------------------------------------------- */

static int hdu_is_compressed(const char *path, int hdu)
{
    fitsfile *f;
    int st = 0;
    assert_int_equal(fits_open_diskfile(&f, path, READONLY, &st), 0);
    fits_movabs_hdu(f, hdu + 1, NULL, &st);
    int yes = fits_is_compressed_image(f, &st);
    fits_close_file(f, &st);
    assert_int_equal(st, 0);
    return yes;
}

/* Every compressible dtype comes back unchanged, floats bit for bit
 * (NaN, infinities, -0 and subnormals too: no quantization), with the
 * user's cards; the file is smaller than the plain one for a smooth
 * image. */
static void hdus_compressed_write(void **state)
{
    static const bmp_dtype types[] = {BMP_DTYPE_UINT8,   BMP_DTYPE_INT8,
                                      BMP_DTYPE_INT16,   BMP_DTYPE_UINT16,
                                      BMP_DTYPE_INT32,   BMP_DTYPE_UINT32,
                                      BMP_DTYPE_FLOAT32, BMP_DTYPE_FLOAT64,
                                      BMP_DTYPE_BOOL};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        bmp_array *a = ramp(types[k], 64, 64, 1, 0);
        if (types[k] == BMP_DTYPE_UINT16) { /* the CCD frame: both ends */
            ((uint16_t *)a->data)[0] = 65535;
            ((uint16_t *)a->data)[1] = 0;
        }
        if (types[k] == BMP_DTYPE_FLOAT32) {
            float *v = a->data;
            v[0] = NAN, v[1] = INFINITY, v[2] = -0.0f, v[3] = 1e-45f;
        }
        a->header = json_array();
        bmp_fits_card_set_str(a->header, "OBJECT", "M51", NULL);
        json_array_append_new(a->header, card("HISTORY", ""));
        json_array_append_new(a->header, card("", ""));
        char name[32];
        snprintf(name, sizeof name, "z%zu.fits", k);
        char *path = tu_join(*state, name);
        bmp_error err = {0};
        if (bmp_fits_write(path, a, NULL, BMP_FITS_COMPRESS, &err) != 0)
            fail_msg("%s: %s", bmp_dtype_name(types[k]), err.text);
        assert_true(hdu_is_compressed(path, 1));
        bmp_array *b = tu_fits_read_ok(path, NULL);
        if (types[k] == BMP_DTYPE_BOOL)
            assert_int_equal(b->dtype, BMP_DTYPE_UINT8);
        else
            assert_int_equal(b->dtype, types[k]);
        assert_memory_equal(a->data, b->data, a->nbytes);
        const char *s;
        assert_int_equal(bmp_fits_card_get_str(b->header, "OBJECT", &s), 1);
        char *got = commentary(b->header);
        assert_string_equal(got, "HISTORY:|:");
        free(got);
        assert_null(bmp_fits_card_find(b->header, "ZIMAGE"));
        if (types[k] == BMP_DTYPE_INT32) {
            char *plain = tu_join(*state, "plain.fits");
            assert_int_equal(bmp_fits_write(plain, a, NULL, 0, &err), 0);
            size_t zsize = 0, psize = 0;
            free(tu_read_file(path, &zsize));
            free(tu_read_file(plain, &psize));
            assert_true(zsize < psize);
            free(plain);
        }
        bmp_object_free(a, NULL);
        bmp_object_free(b, NULL);
        free(path);
    }
}

/* Several HDUs compressed, with checksums; 64-bit integers are refused
 * before anything is written. */
static void hdus_compressed_several_and_refused(void **state)
{
    bmp_array *d = ramp(BMP_DTYPE_UINT16, 16, 16, 3, 100);
    bmp_array *m = ramp(BMP_DTYPE_UINT8, 16, 16, 0, 0);
    bmp_fits_hdu h[3] = {{NULL, NULL, NULL},
                         {d, NULL, "SCI"},
                         {m, NULL, "DQ"}};
    char *path = tu_join(*state, "zmef.fits");
    bmp_error err = {0};
    assert_int_equal(bmp_fits_write_hdus(path, h, 3,
                                         BMP_FITS_COMPRESS | BMP_FITS_CHECKSUM,
                                         &err),
                     0);
    assert_false(hdu_is_compressed(path, 0));
    assert_true(hdu_is_compressed(path, 1));
    assert_true(hdu_is_compressed(path, 2));
    bmp_array *b = tu_fits_read_ok(path, "SCI");
    assert_equal_arrays(b, d);
    bmp_object_free(b, NULL);
    b = tu_fits_read_ok(path, "DQ");
    assert_equal_arrays(b, m);
    bmp_object_free(b, NULL);

    bmp_array *big = ramp(BMP_DTYPE_INT64, 2, 2, 1, 0);
    char *bad = tu_join(*state, "z64.fits");
    bmp_error e2 = {0};
    assert_int_equal(bmp_fits_write(bad, big, NULL, BMP_FITS_COMPRESS, &e2),
                     BMP_EUNSUPPORTED);
    tu_assert_contains(e2.text, "int64");
    assert_false(tu_exists(bad));
    bmp_object_free(big, NULL);
    bmp_object_free(d, NULL);
    bmp_object_free(m, NULL);
    free(bad);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_DIR_TEST(hdus_commentary_cards_kept),
        TU_DIR_TEST(hdus_many_end_blanks),
        TU_DIR_TEST(hdus_card_edge_cases),
        TU_DIR_TEST(hdus_ccddata_layout),
        TU_DIR_TEST(hdus_extver_with_space),
        TU_DIR_TEST(hdus_errors_write_nothing),
        TU_DIR_TEST(hdus_compressed_write),
        TU_DIR_TEST(hdus_compressed_several_and_refused),
    };
    return cmocka_run_group_tests_name("fits_hdus", tests, NULL, NULL);
}
