/*
 * fits_tool.c -- the library's FITS reader and writer on the command line,
 * for test_fits_interop.py to compare against astropy.
 *
 *   fits_tool dump FILE [HDU]
 *       prints {"dtype", "shape", "header", "data"} as JSON (data flat, in
 *       C order; non-finite floats as NaN / Infinity, which Python's json
 *       reads); on failure {"error", "code", "stage", "source", "message"}
 *       and exit status 2
 *   fits_tool header FILE [HDU]
 *       prints {"header"} from bmp_fits_read_header(), or the error
 *   fits_tool write DTYPE OUT [--fortran] [--swapped] [--checksum]
 *                             [--scaled BITPIX BSCALE BZERO] [--compress]
 *       writes the known image below with the known cards
 *   fits_tool section FILE HDU DTYPE [START:STOP ...]
 *       as dump, from bmp_fits_read_section(); HDU "-" for the default
 *       choice, DTYPE "auto" for the default dtype, no ranges for the
 *       whole image
 *   fits_tool copy OUT [--compress] [--checksum] IN:HDU[=EXTNAME] ...
 *       reads each HDU (HDU "-": the default choice, "none": an HDU
 *       without data and with no cards) and writes them all to OUT with
 *       bmp_fits_write_hdus, each with its own cards, in order
 *
 * The known image has shape (2, 3, 4); element i (C order) is:
 *   bool      i % 3 == 0
 *   integers  lo + ((hi - lo) / 23) * i, and hi for i = 23 (exact integer
 *             arithmetic; lo, hi the type's limits)
 *   floats    (i - 11.5) * 1250 / 7 computed in double, then converted;
 *             except i = 1 NaN, 2 +inf, 3 -0.0, 4 the smallest subnormal,
 *             5 the largest finite value
 *   --scaled  float64 values bzero + bscale * (s + 0.25), s being
 *             i * 10 for BITPIX 8 and i * 100 - 1150 otherwise, so that
 *             the stored integers are exactly s
 */
#include "bigmultipipe.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NATIVE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')
#define OTHER (NATIVE == '<' ? '>' : '<')

static int print_error(const bmp_error *err, int rc)
{
    json_t *j = json_pack("{s:s,s:i,s:s,s:s,s:s}", "error", bmp_err_name(rc),
                          "code", rc, "stage", err->stage, "source",
                          err->source, "message", err->text);
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s ? s : "{\"error\":\"?\"}");
    free(s);
    json_decref(j);
    return 2;
}

static void print_float(double v, int digits)
{
    if (isnan(v)) {
        fputs("NaN", stdout);
    } else if (isinf(v)) {
        fputs(v > 0 ? "Infinity" : "-Infinity", stdout);
    } else {
        char buf[40];
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        /* "-0" would read back as the integer 0, losing the sign. */
        if (!strpbrk(buf, ".e"))
            strcat(buf, ".0");
        fputs(buf, stdout);
    }
}

static void print_element(const bmp_array *a, size_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
    switch (a->dtype) {
#define INT(type, fmt, cast)     \
    {                            \
        type v;                  \
        memcpy(&v, p, sizeof v); \
        printf(fmt, (cast)v);    \
        break;                   \
    }
    case BMP_DTYPE_BOOL: fputs(p[0] ? "true" : "false", stdout); break;
    case BMP_DTYPE_INT8: INT(int8_t, "%lld", long long)
    case BMP_DTYPE_INT16: INT(int16_t, "%lld", long long)
    case BMP_DTYPE_INT32: INT(int32_t, "%lld", long long)
    case BMP_DTYPE_INT64: INT(int64_t, "%lld", long long)
    case BMP_DTYPE_UINT8: INT(uint8_t, "%llu", unsigned long long)
    case BMP_DTYPE_UINT16: INT(uint16_t, "%llu", unsigned long long)
    case BMP_DTYPE_UINT32: INT(uint32_t, "%llu", unsigned long long)
    case BMP_DTYPE_UINT64: INT(uint64_t, "%llu", unsigned long long)
#undef INT
    case BMP_DTYPE_FLOAT32: {
        float v;
        memcpy(&v, p, 4);
        print_float(v, 9);
        break;
    }
    case BMP_DTYPE_FLOAT64: {
        double v;
        memcpy(&v, p, 8);
        print_float(v, 17);
        break;
    }
    default: print_float(bmp_array_get_double(a, i), 17); break;
    }
}

static int print_array(bmp_array *a);

static int cmd_dump(const char *path, const char *hdu)
{
    bmp_error err = {0};
    bmp_array *a = NULL;
    int rc = bmp_fits_read(path, hdu, &a, &err);
    if (rc < 0)
        return print_error(&err, rc);
    return print_array(a);
}

static int dtype_from_name(const char *name, bmp_dtype *out);

static int cmd_section(int argc, char **argv)
{
    const char *path = argv[2];
    const char *hdu = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
    bmp_dtype dtype = (bmp_dtype)0;
    if (strcmp(argv[4], "auto") != 0 && dtype_from_name(argv[4], &dtype) < 0)
        dtype = (bmp_dtype)99; /* the library must refuse it */
    size_t start[BMP_MAX_DIMS], stop[BMP_MAX_DIMS];
    int ndim = 0;
    for (int i = 5; i < argc && ndim < BMP_MAX_DIMS; i++, ndim++)
        if (sscanf(argv[i], "%zu:%zu", &start[ndim], &stop[ndim]) != 2) {
            fprintf(stderr, "fits_tool section: bad range %s\n", argv[i]);
            return 64;
        }
    bmp_error err = {0};
    bmp_array *a = NULL;
    int rc = bmp_fits_read_section(path, hdu, dtype, ndim, ndim ? start : NULL,
                                   ndim ? stop : NULL, &a, &err);
    if (rc < 0)
        return print_error(&err, rc);
    return print_array(a);
}

static int cmd_copy(int argc, char **argv)
{
    const char *out = argv[2];
    unsigned flags = 0;
    bmp_fits_hdu hdus[16];
    bmp_array *arrays[16] = {0};
    char *names[16] = {0};
    int n = 0, rc = 0;
    bmp_error err = {0};
    for (int i = 3; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--compress") == 0) {
            flags |= BMP_FITS_COMPRESS;
            continue;
        }
        if (strcmp(argv[i], "--checksum") == 0) {
            flags |= BMP_FITS_CHECKSUM;
            continue;
        }
        if (n == 16)
            return 64;
        char *spec = strdup(argv[i]);
        names[n] = spec;
        char *colon = strrchr(spec, ':'), *eq = NULL;
        if (!colon)
            return 64;
        *colon = '\0';
        char *hdu = colon + 1;
        if ((eq = strchr(hdu, '=')))
            *eq = '\0';
        hdus[n] = (bmp_fits_hdu){NULL, NULL, eq ? eq + 1 : NULL};
        if (strcmp(hdu, "none") != 0) {
            rc = bmp_fits_read(spec, strcmp(hdu, "-") ? hdu : NULL, &arrays[n],
                               &err);
            hdus[n].array = arrays[n];
        }
        n++;
    }
    if (rc == 0)
        rc = bmp_fits_write_hdus(out, hdus, (size_t)n, flags, &err);
    for (int i = 0; i < n; i++) {
        bmp_object_free(arrays[i], NULL);
        free(names[i]);
    }
    if (rc < 0)
        return print_error(&err, rc);
    printf("{\"written\":\"%s\"}\n", out);
    return 0;
}

static int print_array(bmp_array *a)
{
    char *header = json_dumps(a->header, JSON_COMPACT);
    printf("{\"dtype\":\"%s\",\"byteorder\":\"%c\",\"shape\":[",
           bmp_dtype_name(a->dtype), a->byteorder);
    for (int i = 0; i < a->ndim; i++)
        printf("%s%zu", i ? "," : "", a->shape[i]);
    printf("],\"header\":%s,\"data\":[", header ? header : "null");
    for (size_t i = 0; i < a->count; i++) {
        if (i)
            putchar(',');
        print_element(a, i);
    }
    printf("]}\n");
    free(header);
    bmp_object_free(a, NULL);
    return 0;
}

static int cmd_header(const char *path, const char *hdu)
{
    bmp_error err = {0};
    json_t *cards = NULL;
    int rc = bmp_fits_read_header(path, hdu, &cards, &err);
    if (rc < 0)
        return print_error(&err, rc);
    json_t *j = json_pack("{s:o}", "header", cards);
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(j);
    return 0;
}

static int dtype_from_name(const char *name, bmp_dtype *out)
{
    for (int d = BMP_DTYPE_BOOL; d <= BMP_DTYPE_COMPLEX128; d++)
        if (strcmp(bmp_dtype_name((bmp_dtype)d), name) == 0) {
            *out = (bmp_dtype)d;
            return 0;
        }
    return -1;
}

/* Element i of the known image, as its bytes in native order. */
static void known_value(bmp_dtype d, size_t i, unsigned char *out)
{
    const size_t last = 23;
    switch (d) {
    case BMP_DTYPE_BOOL: out[0] = i % 3 == 0; return;
#define SPREAD(type, lo, hi)                                                \
    {                                                                       \
        __int128 step = ((__int128)(hi) - (__int128)(lo)) / (__int128)last; \
        type v = i == last ? (type)(hi)                                     \
                           : (type)((__int128)(lo) + step * (__int128)i);   \
        memcpy(out, &v, sizeof v);                                          \
        return;                                                             \
    }
    case BMP_DTYPE_INT8: SPREAD(int8_t, INT8_MIN, INT8_MAX)
    case BMP_DTYPE_INT16: SPREAD(int16_t, INT16_MIN, INT16_MAX)
    case BMP_DTYPE_INT32: SPREAD(int32_t, INT32_MIN, INT32_MAX)
    case BMP_DTYPE_INT64: SPREAD(int64_t, INT64_MIN, INT64_MAX)
    case BMP_DTYPE_UINT8: SPREAD(uint8_t, 0, UINT8_MAX)
    case BMP_DTYPE_UINT16: SPREAD(uint16_t, 0, UINT16_MAX)
    case BMP_DTYPE_UINT32: SPREAD(uint32_t, 0, UINT32_MAX)
    case BMP_DTYPE_UINT64: SPREAD(uint64_t, 0, UINT64_MAX)
#undef SPREAD
    case BMP_DTYPE_FLOAT32: {
        const float special[] = {0,     NAN,          INFINITY,
                                 -0.0f, FLT_TRUE_MIN, FLT_MAX};
        float v = i >= 1 && i <= 5 ? special[i]
                                   : (float)(((double)i - 11.5) * 1250 / 7);
        memcpy(out, &v, 4);
        return;
    }
    case BMP_DTYPE_FLOAT64: {
        const double special[] = {0,    NAN,          INFINITY,
                                  -0.0, DBL_TRUE_MIN, DBL_MAX};
        double v = i >= 1 && i <= 5 ? special[i]
                                    : ((double)i - 11.5) * 1250 / 7;
        memcpy(out, &v, 8);
        return;
    }
    default: memset(out, 0, bmp_dtype_size(d));
    }
}

static json_t *known_cards(void)
{
    char longstr[121];
    for (int i = 0; i < 120; i++)
        longstr[i] = (char)('A' + i % 26);
    memcpy(longstr + 100, "it's the end here..", 20);
    longstr[120] = '\0';
    json_t *h = json_array();
    bmp_fits_card_set_str(h, "OBJECT", "M31", "target");
    bmp_fits_card_set_real(h, "EXPTIME", 30.5, "seconds");
    bmp_fits_card_set_real(h, "TENTH", 0.1, NULL);
    bmp_fits_card_set_real(h, "HUGE", 1e300, NULL);
    bmp_fits_card_set_int(h, "NCOMBINE", 7, "frames");
    bmp_fits_card_set_int(h, "BIGINT", 9007199254740993LL, NULL);
    bmp_fits_card_set_bool(h, "FLAG", 1, "on");
    bmp_fits_card_set_bool(h, "OFFVAL", 0, NULL);
    bmp_fits_card_set_str(h, "LONGSTR", longstr, "long");
    bmp_fits_card_append(h, "UNDEF", NULL, "unknown");
    json_t *v = json_pack("[ff]", 1.5, -2.0);
    bmp_fits_card_append(h, "CPLX", v, NULL);
    json_decref(v);
    bmp_fits_card_set_int(h, "ESO DET CHIP NO", 3, "hierarch");
    v = json_string("first comment");
    bmp_fits_card_append(h, "COMMENT", v, NULL);
    json_decref(v);
    v = json_string("processed");
    bmp_fits_card_append(h, "HISTORY", v, NULL);
    json_decref(v);
    v = json_string("blank text");
    bmp_fits_card_append(h, "", v, NULL);
    json_decref(v);
    return h;
}

static int cmd_write(int argc, char **argv)
{
    bmp_dtype dtype;
    if (argc < 4 || dtype_from_name(argv[2], &dtype) < 0) {
        fprintf(stderr, "fits_tool write: unknown dtype\n");
        return 64;
    }
    const char *out = argv[3];
    int fortran = 0, swapped = 0, scaled = 0, bitpix = 0;
    unsigned flags = 0;
    double bscale = 1, bzero = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--fortran") == 0) {
            fortran = 1;
        } else if (strcmp(argv[i], "--swapped") == 0) {
            swapped = 1;
        } else if (strcmp(argv[i], "--checksum") == 0) {
            flags |= BMP_FITS_CHECKSUM;
        } else if (strcmp(argv[i], "--compress") == 0) {
            flags |= BMP_FITS_COMPRESS;
        } else if (strcmp(argv[i], "--scaled") == 0 && i + 3 < argc) {
            scaled = 1;
            bitpix = atoi(argv[++i]);
            bscale = strtod(argv[++i], NULL);
            bzero = strtod(argv[++i], NULL);
        } else {
            fprintf(stderr, "fits_tool write: bad option %s\n", argv[i]);
            return 64;
        }
    }
    if (scaled)
        dtype = BMP_DTYPE_FLOAT64;
    const size_t shape[3] = {2, 3, 4};
    bmp_array *a = bmp_array_new(dtype, 3, shape);
    if (!a)
        return 70;
    a->fortran_order = fortran;
    if (swapped && a->itemsize > 1)
        a->byteorder = OTHER;
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++) {
                size_t ci = (i * 3 + j) * 4 + k;
                size_t si = fortran ? i + 2 * (j + 3 * k) : ci;
                unsigned char v[16];
                if (scaled) {
                    double s = bitpix == 8 ? (double)ci * 10
                                           : (double)ci * 100 - 1150;
                    double d = bzero + bscale * (s + 0.25);
                    memcpy(v, &d, 8);
                } else {
                    known_value(dtype, ci, v);
                }
                unsigned char *dst = (unsigned char *)a->data +
                                     si * a->itemsize;
                for (size_t b = 0; b < a->itemsize; b++)
                    dst[b] = a->byteorder == OTHER ? v[a->itemsize - 1 - b]
                                                   : v[b];
            }
    a->header = known_cards();
    bmp_error err = {0};
    int rc = scaled ? bmp_fits_write_scaled(out, a, NULL, bitpix, bscale,
                                            bzero, flags, &err)
                    : bmp_fits_write(out, a, NULL, flags, &err);
    bmp_object_free(a, NULL);
    if (rc < 0)
        return print_error(&err, rc);
    printf("{\"written\":\"%s\"}\n", out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "dump") == 0)
        return cmd_dump(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc >= 3 && strcmp(argv[1], "header") == 0)
        return cmd_header(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc >= 2 && strcmp(argv[1], "write") == 0)
        return cmd_write(argc, argv);
    if (argc >= 5 && strcmp(argv[1], "section") == 0)
        return cmd_section(argc, argv);
    if (argc >= 4 && strcmp(argv[1], "copy") == 0)
        return cmd_copy(argc, argv);
    fprintf(stderr,
            "usage: fits_tool dump FILE [HDU]\n"
            "       fits_tool header FILE [HDU]\n"
            "       fits_tool write DTYPE OUT [--fortran] [--swapped] "
            "[--checksum] [--scaled BITPIX BSCALE BZERO] "
            "[--compress]\n"
            "       fits_tool section FILE HDU DTYPE [START:STOP ...]\n"
            "       fits_tool copy OUT [--compress] [--checksum] "
            "IN:HDU[=EXTNAME] ...\n");
    return 64;
}
