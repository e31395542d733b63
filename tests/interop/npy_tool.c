/*
 * npy_tool.c -- a small command over the .npy API, driven by
 * test_npy_interop.py so that NumPy can check what this library reads and
 * writes.
 *
 *   npy_tool dump [--mmap] [--keep-order] FILE
 *       prints {"dtype", "byteorder", "fortran_order", "shape", "values"}
 *       as one JSON object; values in storage order, as strings so that
 *       64-bit integers, NaN and infinities survive exactly; a complex
 *       value is a [real, imag] pair.  --keep-order reads without
 *       converting to native order (byteorder then tells the file's).
 *   npy_tool write DTYPE ORDER BYTEORDER OUT [DIM...]
 *       writes an array of NumPy dtype name DTYPE, ORDER C or F,
 *       BYTEORDER < or >, filled with the pattern the script computes.
 *   npy_tool copy [--mmap] IN OUT
 *       reads IN keeping its byte order and writes it to OUT.
 *
 * Exit status 0 on success; 1 with a message on standard error otherwise.
 */
#include "bigmultipipe.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what, const bmp_error *err)
{
    fprintf(stderr, "npy_tool: %s: %s (%s)\n", what, err->text,
            bmp_err_name(err->code));
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: npy_tool dump [--mmap] [--keep-order] FILE\n"
                    "       npy_tool write DTYPE C|F '<'|'>' OUT [DIM...]\n"
                    "       npy_tool copy [--mmap] IN OUT\n");
    return 2;
}

static void print_real(double v)
{
    printf("\"%.17g\"", v);
}

static void print_value(const bmp_array *a, size_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
    switch (a->dtype) {
#define INT(type, fmt)             \
    {                              \
        type v;                    \
        memcpy(&v, p, sizeof v);   \
        printf("\"%" fmt "\"", v); \
        return;                    \
    }
    case BMP_DTYPE_BOOL: printf("\"%d\"", p[0] != 0); return;
    case BMP_DTYPE_INT8: INT(int8_t, PRId8)
    case BMP_DTYPE_INT16: INT(int16_t, PRId16)
    case BMP_DTYPE_INT32: INT(int32_t, PRId32)
    case BMP_DTYPE_INT64: INT(int64_t, PRId64)
    case BMP_DTYPE_UINT8: INT(uint8_t, PRIu8)
    case BMP_DTYPE_UINT16: INT(uint16_t, PRIu16)
    case BMP_DTYPE_UINT32: INT(uint32_t, PRIu32)
    case BMP_DTYPE_UINT64: INT(uint64_t, PRIu64)
#undef INT
    case BMP_DTYPE_FLOAT16: print_real(bmp_array_get_double(a, i)); return;
    case BMP_DTYPE_FLOAT32: {
        float v;
        memcpy(&v, p, 4);
        print_real(v);
        return;
    }
    case BMP_DTYPE_FLOAT64: {
        double v;
        memcpy(&v, p, 8);
        print_real(v);
        return;
    }
    case BMP_DTYPE_COMPLEX64: {
        float v[2];
        memcpy(v, p, 8);
        printf("[");
        print_real(v[0]);
        printf(", ");
        print_real(v[1]);
        printf("]");
        return;
    }
    case BMP_DTYPE_COMPLEX128: {
        double v[2];
        memcpy(v, p, 16);
        printf("[");
        print_real(v[0]);
        printf(", ");
        print_real(v[1]);
        printf("]");
        return;
    }
    }
}

static int dump(int argc, char **argv)
{
    unsigned flags = BMP_NPY_NATIVE;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--mmap"))
            flags |= BMP_NPY_MMAP;
        else if (!strcmp(argv[i], "--keep-order"))
            flags &= ~BMP_NPY_NATIVE;
        else
            return usage();
    }
    if (argc - i != 1)
        return usage();
    bmp_array *a = NULL;
    bmp_error err = {0};
    if (bmp_npy_read(argv[i], flags, &a, &err) < 0)
        return die(argv[i], &err);
    printf("{\"dtype\": \"%s\", \"byteorder\": \"%c\", "
           "\"fortran_order\": %s, \"shape\": [",
           bmp_dtype_name(a->dtype), a->byteorder,
           a->fortran_order ? "true" : "false");
    for (int d = 0; d < a->ndim; d++)
        printf(d ? ", %zu" : "%zu", a->shape[d]);
    printf("], \"values\": [");
    /* Values are printed natively; the order kept above is reported. */
    if (bmp_array_to_native(a) != 0) {
        fprintf(stderr, "npy_tool: bmp_array_to_native failed\n");
        bmp_object_free(a, NULL);
        return 1;
    }
    for (size_t k = 0; k < a->count; k++) {
        if (k)
            printf(", ");
        print_value(a, k);
    }
    printf("]}\n");
    bmp_object_free(a, NULL);
    return 0;
}

static int parse_dtype(const char *name, bmp_dtype *out)
{
    for (int d = BMP_DTYPE_BOOL; d <= BMP_DTYPE_COMPLEX128; d++) {
        if (!strcmp(name, bmp_dtype_name((bmp_dtype)d))) {
            *out = (bmp_dtype)d;
            return 0;
        }
    }
    return -1;
}

/* Element i of the pattern test_npy_interop.py expects, in native order. */
static void pattern(const bmp_array *a, size_t i, unsigned char *out)
{
    uint64_t bits = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15) + 12345u;
    double x = (double)i * 0.25 - 7.5;
    if (i % 2 == 1)
        x *= 1e10;
    switch (a->dtype) {
    case BMP_DTYPE_BOOL: out[0] = i % 3 == 0; return;
    case BMP_DTYPE_INT8:
    case BMP_DTYPE_UINT8: {
        uint8_t v = (uint8_t)bits;
        memcpy(out, &v, 1);
        return;
    }
    case BMP_DTYPE_INT16:
    case BMP_DTYPE_UINT16: {
        uint16_t v = (uint16_t)bits;
        memcpy(out, &v, 2);
        return;
    }
    case BMP_DTYPE_INT32:
    case BMP_DTYPE_UINT32: {
        uint32_t v = (uint32_t)bits;
        memcpy(out, &v, 4);
        return;
    }
    case BMP_DTYPE_INT64:
    case BMP_DTYPE_UINT64: memcpy(out, &bits, 8); return;
    case BMP_DTYPE_FLOAT16: return;
    case BMP_DTYPE_FLOAT32: {
        float v = (float)x;
        memcpy(out, &v, 4);
        return;
    }
    case BMP_DTYPE_FLOAT64: memcpy(out, &x, 8); return;
    case BMP_DTYPE_COMPLEX64: {
        float v[2] = {(float)((double)i * 0.5),
                      (float)(-((double)i * 0.25) - 1)};
        memcpy(out, v, 8);
        return;
    }
    case BMP_DTYPE_COMPLEX128: {
        double v[2] = {(double)i * 0.5, -((double)i * 0.25) - 1};
        memcpy(out, v, 16);
        return;
    }
    }
}

static void reverse(unsigned char *p, size_t n)
{
    for (size_t k = 0; k < n / 2; k++) {
        unsigned char t = p[k];
        p[k] = p[n - 1 - k];
        p[n - 1 - k] = t;
    }
}

static int write_cmd(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    bmp_dtype dtype;
    if (parse_dtype(argv[0], &dtype) < 0) {
        fprintf(stderr, "npy_tool: unknown dtype %s\n", argv[0]);
        return 2;
    }
    int fortran = !strcmp(argv[1], "F");
    char order = argv[2][0];
    if ((!fortran && strcmp(argv[1], "C")) || (order != '<' && order != '>'))
        return usage();
    const char *out = argv[3];
    int ndim = argc - 4;
    size_t shape[BMP_MAX_DIMS];
    if (ndim > BMP_MAX_DIMS)
        return usage();
    for (int d = 0; d < ndim; d++)
        shape[d] = strtoull(argv[4 + d], NULL, 10);
    bmp_array *a = bmp_array_new(dtype, ndim, shape);
    if (!a) {
        fprintf(stderr, "npy_tool: cannot make the array\n");
        return 1;
    }
    a->fortran_order = fortran;
    int native_little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
    int swap = a->itemsize > 1 && (order == '<') != native_little;
    if (a->itemsize > 1)
        a->byteorder = order;
    size_t part = (dtype == BMP_DTYPE_COMPLEX64 ||
                   dtype == BMP_DTYPE_COMPLEX128)
                      ? a->itemsize / 2
                      : a->itemsize;
    for (size_t i = 0; i < a->count; i++) {
        unsigned char *p = (unsigned char *)a->data + i * a->itemsize;
        pattern(a, i, p);
        if (swap)
            for (size_t off = 0; off < a->itemsize; off += part)
                reverse(p + off, part);
    }
    bmp_error err = {0};
    int rc = bmp_npy_write(out, a, 0, &err);
    bmp_object_free(a, NULL);
    return rc < 0 ? die(out, &err) : 0;
}

static int copy(int argc, char **argv)
{
    unsigned flags = 0;
    int i = 0;
    if (i < argc && !strcmp(argv[i], "--mmap")) {
        flags |= BMP_NPY_MMAP;
        i++;
    }
    if (argc - i != 2)
        return usage();
    bmp_array *a = NULL;
    bmp_error err = {0};
    if (bmp_npy_read(argv[i], flags, &a, &err) < 0)
        return die(argv[i], &err);
    int rc = bmp_npy_write(argv[i + 1], a, 0, &err);
    bmp_object_free(a, NULL);
    return rc < 0 ? die(argv[i + 1], &err) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "dump"))
        return dump(argc - 2, argv + 2);
    if (!strcmp(argv[1], "write"))
        return write_cmd(argc - 2, argv + 2);
    if (!strcmp(argv[1], "copy"))
        return copy(argc - 2, argv + 2);
    return usage();
}
