/*
 * test_fits_tiled.c -- tile-compressed FITS images: the image header a
 * compressed HDU shows (astropy's layout, the primary-image form, the
 * default EXTNAME), images of every BITPIX and BZERO compressed as fpack
 * does (cfitsio's own compression), and the cards of such files.
 */
#include "bigmultipipe.h"

#include "fits_internal.h"
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

/* Cards as 80-column text, as a header is stored. */
static char *header_text(const char *const *lines, size_t n)
{
    char *text = malloc(n * 80 + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        snprintf(text + i * 80, 81, "%-80s", lines[i]);
    return text;
}

/* "KEY" or "KEY=value" (integers and strings) for each card, joined by
 * blanks, to compare a whole header at once. */
static char *summary(const json_t *cards)
{
    size_t cap = 4096, len = 0;
    char *s = calloc(1, cap);
    assert_non_null(s);
    size_t i;
    json_t *c;
    json_array_foreach(cards, i, c)
    {
        const char *key = json_string_value(json_object_get(c, "key"));
        json_t *v = json_object_get(c, "value");
        char item[200];
        if (json_is_integer(v))
            snprintf(item, sizeof item, "%s=%lld", key,
                     (long long)json_integer_value(v));
        else if (json_is_string(v))
            snprintf(item, sizeof item, "%s=%s", key, json_string_value(v));
        else if (json_is_boolean(v))
            snprintf(item, sizeof item, "%s=%s", key,
                     json_is_true(v) ? "T" : "F");
        else
            snprintf(item, sizeof item, "%s", key);
        assert_true(len + strlen(item) + 2 < cap);
        len += (size_t)snprintf(s + len, cap - len, "%s%s", len ? " " : "",
                                item);
    }
    return s;
}

static void assert_header(const char *const *lines, size_t n, int compressed,
                          const char *want)
{
    char *text = header_text(lines, n);
    json_t *cards = NULL;
    c_numeric loc = {0};
    if (c_numeric_enter(&loc) != 0)
        fail_msg("no C locale");
    int rc = bmp__fits_cards_parse(text, n, compressed, &cards);
    c_numeric_leave(&loc);
    assert_int_equal(rc, 0);
    char *got = summary(cards);
    assert_string_equal(got, want);
    free(got);
    json_decref(cards);
    free(text);
}

/* ---------------------------------------------------------------------- */
/*  The image header of a compressed HDU                                  */
/* ---------------------------------------------------------------------- */

/* The header astropy writes for a compressed uint16 frame: BSCALE and
 * BZERO come before ZTENSION, which made cfitsio's conversion fail with
 * "1st key not SIMPLE or XTENSION". */
static void tiled_header_astropy_uint16(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "XTENSION= 'BINTABLE'           / binary table extension",
        "BITPIX  =                    8 / array data type",
        "NAXIS   =                    2 / number of array dimensions",
        "NAXIS1  =                    8 / width of table in bytes",
        "NAXIS2  =                   10 / number of rows in table",
        "PCOUNT  =                  300 / number of group parameters",
        "GCOUNT  =                    1 / number of groups",
        "TFIELDS =                    1 / number of fields in each row",
        "BSCALE  =                    1",
        "BZERO   =                32768",
        "TTYPE1  = 'COMPRESSED_DATA'    / label for field 1",
        "TFORM1  = '1PB(30) '           / data format of field",
        "ZIMAGE  =                    T / extension contains compressed image",
        "ZTENSION= 'IMAGE   '           / Image extension",
        "ZBITPIX =                   16 / data type of original image",
        "ZNAXIS  =                    2 / dimension of original image",
        "ZNAXIS1 =                   20 / length of original image axis",
        "ZNAXIS2 =                   10 / length of original image axis",
        "ZPCOUNT =                    0 / number of parameters",
        "ZGCOUNT =                    1 / number of groups",
        "ZTILE1  =                   20 / size of tiles to be compressed",
        "ZTILE2  =                    1 / size of tiles to be compressed",
        "ZCMPTYPE= 'RICE_1  '           / compression algorithm",
        "ZNAME1  = 'BLOCKSIZE'          / compression block size",
        "ZVAL1   =                   32 / pixels per block",
        "ZNAME2  = 'BYTEPIX '           / bytes per pixel (1, 2, 4, or 8)",
        "ZVAL2   =                    2 / bytes per pixel (1, 2, 4, or 8)",
        "EXTNAME = 'SCI     '           / extension name",
        "EXPTIME =                 30.0",
        "COMMENT first",
        "HISTORY",
        "",
        "COMMENT",
        "END",
    };
    assert_header(lines, sizeof lines / sizeof *lines, 1,
                  "XTENSION=IMAGE BITPIX=16 NAXIS=2 NAXIS1=20 NAXIS2=10 "
                  "PCOUNT=0 GCOUNT=1 BSCALE=1 BZERO=32768 EXTNAME=SCI "
                  "EXPTIME COMMENT=first HISTORY= = COMMENT=");
    /* The same text as a plain table is left as it is. */
    assert_header(lines, 4, 0, "XTENSION=BINTABLE BITPIX=8 NAXIS=2 NAXIS1=8");
}

/* A compressed primary image (ZSIMPLE, as fpack writes it) shows SIMPLE
 * and EXTEND, no PCOUNT/GCOUNT; the default EXTNAME is dropped; the
 * image's checksums come back from ZHECKSUM and ZDATASUM; a header
 * without ZTENSION or ZSIMPLE still shows an image extension. */
static void tiled_header_primary_and_defaults(void **state)
{
    (void)state;
    static const char *const prim[] = {
        "XTENSION= 'BINTABLE'",
        "BITPIX  =                    8",
        "NAXIS   =                    2",
        "NAXIS1  =                    8",
        "NAXIS2  =                    4",
        "PCOUNT  =                  100",
        "GCOUNT  =                    1",
        "TFIELDS =                    1",
        "TTYPE1  = 'COMPRESSED_DATA'",
        "TFORM1  = '1PB(30) '",
        "ZIMAGE  =                    T",
        "ZSIMPLE =                    T / file does conform to FITS standard",
        "ZBITPIX =                   32",
        "ZNAXIS  =                    1",
        "ZNAXIS1 =                   40",
        "ZEXTEND =                    T",
        "ZTILE1  =                   40",
        "ZCMPTYPE= 'RICE_1  '",
        "ZQUANTIZ= 'NO_DITHER'",
        "ZDITHER0=                    1",
        "ZBLANK  =                 -999",
        "THEAP   =                   32",
        "EXTNAME = 'COMPRESSED_IMAGE'",
        "OBSERVER= 'Hubble  '",
        "CHECKSUM= 'table sum'",
        "DATASUM = '1'",
        "ZHECKSUM= 'image sum'",
        "ZDATASUM= '2'",
        "END",
    };
    assert_header(prim, sizeof prim / sizeof *prim, 1,
                  "SIMPLE=T BITPIX=32 NAXIS=1 NAXIS1=40 EXTEND=T "
                  "OBSERVER=Hubble CHECKSUM=image sum DATASUM=2");

    static const char *const bare[] = {
        "XTENSION= 'BINTABLE'",           "BITPIX  =                    8",
        "NAXIS   =                    2", "ZIMAGE  =                    T",
        "ZBITPIX =                  -32", "ZNAXIS  =                    2",
        "ZNAXIS1 =                    4", "ZNAXIS2 =                    3",
        "OBJECT  = 'x       '",
    };
    assert_header(bare, sizeof bare / sizeof *bare, 1,
                  "XTENSION=IMAGE BITPIX=-32 NAXIS=2 NAXIS1=4 NAXIS2=3 "
                  "PCOUNT=0 GCOUNT=1 OBJECT=x");
}

/* Damaged compression cards do not crash or invent axes: a ZNAXIS that
 * is not a count names no NAXISn. */
static void tiled_header_damaged(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "ZIMAGE  =                    T",
        "ZNAXIS  = 'two'",
        "ZNAXIS1 =                    4",
        "ZBITPIX =                 1e99",
    };
    assert_header(lines, 4, 1,
                  "XTENSION=IMAGE BITPIX NAXIS=two PCOUNT=0 GCOUNT=1");
    static const char *const huge[] = {"ZNAXIS  =           9999999999"};
    assert_header(huge, 1, 1,
                  "XTENSION=IMAGE NAXIS=9999999999 PCOUNT=0 "
                  "GCOUNT=1");
}

/* ---------------------------------------------------------------------- */
/*  Files compressed as fpack does                                        */
/* ---------------------------------------------------------------------- */

/* An image of `imgtype` (cfitsio's BYTE_IMG ... DOUBLE_IMG, SBYTE_IMG,
 * USHORT_IMG, ULONG_IMG) compressed by cfitsio with `ctype` into HDU 1,
 * after an empty primary HDU, with user cards; values written from
 * `vals` as doubles. */
static char *make_compressed(const char *dir, const char *name, int imgtype,
                             int ctype, const double *vals, long n)
{
    char *path = tu_join(dir, name);
    fitsfile *f;
    int st = 0;
    long naxes[2] = {n / 4, 4};
    tu_fits_check(fits_create_diskfile(&f, path, &st));
    tu_fits_check(fits_set_compression_type(f, ctype, &st));
    if (imgtype == FLOAT_IMG || imgtype == DOUBLE_IMG)
        tu_fits_check(fits_set_quantize_level(f, 0.0f, &st)); /* lossless */
    if (ctype == HCOMPRESS_1) /* whole 2-d tiles of 4 rows or more */
        tu_fits_check(fits_set_tile_dim(f, 2, naxes, &st));
    tu_fits_check(fits_create_img(f, imgtype, 2, naxes, &st));
    tu_fits_check(fits_write_key_str(f, "EXTNAME", "SCI", "science", &st));
    tu_fits_check(fits_write_key_dbl(f, "GAIN", 1.25, -15, "e/ADU", &st));
    tu_fits_check(fits_write_comment(f, "a comment", &st));
    tu_fits_check(fits_write_history(f, "a history", &st));
    /* cfitsio compresses integer images from values of their own type
     * only. */
    union {
        unsigned char u8[64];
        signed char i8[64];
        short i16[64];
        unsigned short u16[64];
        int i32[64];
        unsigned u32[64];
        long long i64[64];
        float f32[64];
        double f64[64];
    } buf;
    assert_true(n <= 64);
    int dtype = 0;
    for (long i = 0; i < n; i++) {
        double v = vals[i];
        switch (imgtype) {
        case BYTE_IMG: buf.u8[i] = (unsigned char)v, dtype = TBYTE; break;
        case SBYTE_IMG: buf.i8[i] = (signed char)v, dtype = TSBYTE; break;
        case SHORT_IMG: buf.i16[i] = (short)v, dtype = TSHORT; break;
        case USHORT_IMG:
            buf.u16[i] = (unsigned short)v, dtype = TUSHORT;
            break;
        case LONG_IMG: buf.i32[i] = (int)v, dtype = TINT; break;
        case ULONG_IMG: buf.u32[i] = (unsigned)v, dtype = TUINT; break;
        case LONGLONG_IMG: buf.i64[i] = (long long)v, dtype = TLONGLONG; break;
        case FLOAT_IMG: buf.f32[i] = (float)v, dtype = TFLOAT; break;
        default: buf.f64[i] = v, dtype = TDOUBLE; break;
        }
    }
    tu_fits_check(fits_write_img(f, dtype, 1, n, &buf, &st));
    tu_fits_check(fits_close_file(f, &st));
    return path;
}

/* Every BITPIX cfitsio (and so fpack) can compress: 64-bit integer
 * images it cannot ("writing TLONGLONG to compressed image is not
 * supported"), nor can astropy. */
static void tiled_every_bitpix(void **state)
{
    static const struct {
        int imgtype, ctype;
        bmp_dtype dtype;
        double lo, hi;
    } cases[] = {
        {BYTE_IMG, RICE_1, BMP_DTYPE_UINT8, 0, 255},
        {SBYTE_IMG, RICE_1, BMP_DTYPE_INT8, -128, 127},
        {SHORT_IMG, RICE_1, BMP_DTYPE_INT16, -32768, 32767},
        {USHORT_IMG, RICE_1, BMP_DTYPE_UINT16, 0, 65535},
        {LONG_IMG, RICE_1, BMP_DTYPE_INT32, -2147483648.0, 2147483647.0},
        {ULONG_IMG, RICE_1, BMP_DTYPE_UINT32, 0, 4294967295.0},
        {USHORT_IMG, GZIP_2, BMP_DTYPE_UINT16, 0, 65535},
        {SHORT_IMG, HCOMPRESS_1, BMP_DTYPE_INT16, -1000, 1000},
        {FLOAT_IMG, GZIP_2, BMP_DTYPE_FLOAT32, -1.5e30, 2.5e-30},
        {DOUBLE_IMG, GZIP_1, BMP_DTYPE_FLOAT64, -1e300, 1e-300},
    };
    enum { N = 64 };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        double vals[N];
        for (int i = 0; i < N; i++) /* both ends and a ramp between */
            vals[i] = i == 0       ? cases[k].lo
                      : i == N - 1 ? cases[k].hi
                                   : cases[k].lo / 2 + (double)i * 3;
        if (cases[k].lo == 0 && cases[k].dtype != BMP_DTYPE_FLOAT32)
            for (int i = 1; i < N - 1; i++)
                vals[i] = (double)i * 3;
        char name[32];
        snprintf(name, sizeof name, "c%zu.fits", k);
        char *path = make_compressed(*state, name, cases[k].imgtype,
                                     cases[k].ctype, vals, N);
        bmp_error err = {0};
        bmp_array *a = NULL;
        int rc = bmp_fits_read(path, NULL, &a, &err);
        if (rc != 0)
            fail_msg("case %zu: %s", k, err.text);
        assert_int_equal(a->dtype, cases[k].dtype);
        assert_int_equal(a->ndim, 2);
        assert_int_equal(a->shape[0], 4);
        assert_int_equal(a->shape[1], N / 4);
        for (int i = 0; i < N; i++) {
            double want = vals[i];
            if (a->dtype == BMP_DTYPE_FLOAT32)
                want = (float)want;
            if (bmp_array_get_double(a, (size_t)i) != want)
                fail_msg("case %zu element %d: %.17g != %.17g", k, i,
                         bmp_array_get_double(a, (size_t)i), want);
        }
        /* The image header: the user's cards, nothing of the table,
         * nothing invented.  cfitsio, compressing the first image of a
         * file, marks it a primary image (ZSIMPLE, no ZEXTEND): SIMPLE
         * comes back, but no EXTEND. */
        char *got = summary(a->header);
        const json_t *first = json_array_get(a->header, 0);
        assert_string_equal(json_string_value(json_object_get(first, "key")),
                            "SIMPLE");
        assert_null(bmp_fits_card_find(a->header, "XTENSION"));
        assert_null(bmp_fits_card_find(a->header, "EXTEND"));
        assert_null(bmp_fits_card_find(a->header, "ZIMAGE"));
        assert_null(bmp_fits_card_find(a->header, "TFIELDS"));
        assert_null(strstr(got, "FITS (Flexible"));
        assert_non_null(strstr(got, "EXTNAME=SCI GAIN COMMENT=a comment "
                                    "HISTORY=a history"));
        free(got);
        bmp_object_free(a, NULL);
        free(path);
    }
}

/* The header alone, by name, of a compressed HDU is the image's. */
static void tiled_read_header_by_name(void **state)
{
    double vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char *path = make_compressed(*state, "h.fits", USHORT_IMG, RICE_1, vals,
                                 8);
    json_t *cards = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_fits_read_header(path, "sci", &cards, &err), 0);
    long long v = 0;
    assert_int_equal(bmp_fits_card_get_int(cards, "BITPIX", &v), 1);
    assert_int_equal(v, 16);
    double z = 0;
    assert_int_equal(bmp_fits_card_get_real(cards, "BZERO", &z), 1);
    assert_true(z == 32768.0);
    assert_null(bmp_fits_card_find(cards, "TTYPE1"));
    json_decref(cards);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_DIR_TEST(tiled_header_astropy_uint16),
        TU_DIR_TEST(tiled_header_primary_and_defaults),
        TU_DIR_TEST(tiled_header_damaged),
        TU_DIR_TEST(tiled_every_bitpix),
        TU_DIR_TEST(tiled_read_header_by_name),
    };
    return cmocka_run_group_tests_name("fits_tiled", tests, NULL, NULL);
}
