/*
 * array.c -- n-dimensional arrays shared by the .npy and FITS formats.
 */
#include "array_internal.h"
#include "objects_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NATIVE_IS_LITTLE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [BMP_DTYPE_BOOL] = {"bool", 1},
    [BMP_DTYPE_INT8] = {"int8", 1},
    [BMP_DTYPE_INT16] = {"int16", 2},
    [BMP_DTYPE_INT32] = {"int32", 4},
    [BMP_DTYPE_INT64] = {"int64", 8},
    [BMP_DTYPE_UINT8] = {"uint8", 1},
    [BMP_DTYPE_UINT16] = {"uint16", 2},
    [BMP_DTYPE_UINT32] = {"uint32", 4},
    [BMP_DTYPE_UINT64] = {"uint64", 8},
    [BMP_DTYPE_FLOAT16] = {"float16", 2},
    [BMP_DTYPE_FLOAT32] = {"float32", 4},
    [BMP_DTYPE_FLOAT64] = {"float64", 8},
    [BMP_DTYPE_COMPLEX64] = {"complex64", 8},
    [BMP_DTYPE_COMPLEX128] = {"complex128", 16},
};

static int dtype_known(bmp_dtype d)
{
    return d >= BMP_DTYPE_BOOL && d <= BMP_DTYPE_COMPLEX128;
}

size_t bmp_dtype_size(bmp_dtype dtype)
{
    return dtype_known(dtype) ? dtype_table[dtype].size : 0;
}

const char *bmp_dtype_name(bmp_dtype dtype)
{
    return dtype_known(dtype) ? dtype_table[dtype].name : "unknown";
}

static void array_destroy(void *self)
{
    bmp_array *a = self;
    bmp__array_storage *st = a->bmp__private;
    if (st && st->map_base)
        munmap(st->map_base, st->map_len);
    else
        free(a->data);
    free(st);
    json_decref(a->header);
    free(a);
}

bmp_array *bmp__array_alloc_header(bmp_dtype dtype, int ndim,
                                   const size_t *shape)
{
    if (!dtype_known(dtype) || ndim < 0 || ndim > BMP_MAX_DIMS ||
        (ndim > 0 && !shape))
        return NULL;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && count > SIZE_MAX / shape[i])
            return NULL;
        count *= shape[i];
    }
    size_t itemsize = bmp_dtype_size(dtype);
    if (count > SIZE_MAX / itemsize)
        return NULL;
    bmp_array *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->obj.destroy = array_destroy;
    a->dtype = dtype;
    a->byteorder = itemsize == 1 ? '|' : (NATIVE_IS_LITTLE ? '<' : '>');
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        a->shape[i] = shape[i];
    a->itemsize = itemsize;
    a->count = count;
    a->nbytes = count * itemsize;
    return a;
}

void *bmp__array_malloc(size_t nbytes)
{
    void *p = malloc(nbytes ? nbytes : 1);
#ifdef MADV_HUGEPAGE
    /* As NumPy does for its arrays: where the system gives huge pages
     * only on request, a 16 MiB image takes 8 page faults instead of
     * 4096, which otherwise cost more than converting it.  Advice only:
     * its failure changes nothing. */
    if (p && nbytes >= ((size_t)4 << 20)) {
        uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t end = ((uintptr_t)p + nbytes) & ~(uintptr_t)4095;
        if (end > start)
            madvise((void *)start, end - start, MADV_HUGEPAGE);
    }
#endif
    return p;
}

bmp_array *bmp__array_new_uninit(bmp_dtype dtype, int ndim,
                                 const size_t *shape)
{
    bmp_array *a = bmp__array_alloc_header(dtype, ndim, shape);
    if (!a)
        return NULL;
    a->data = bmp__array_malloc(a->nbytes);
    if (!a->data) {
        free(a);
        return NULL;
    }
    return a;
}

bmp_array *bmp_array_new(bmp_dtype dtype, int ndim, const size_t *shape)
{
    bmp_array *a = bmp__array_alloc_header(dtype, ndim, shape);
    if (!a)
        return NULL;
    /* calloc, not malloc and memset: a large block comes zeroed from the
     * system, and pages never written are never committed. */
    a->data = calloc(a->nbytes ? a->nbytes : 1, 1);
    if (!a->data) {
        free(a);
        return NULL;
    }
    return a;
}

int bmp__array_adopt_map(bmp_array *a, void *map_base, size_t map_len,
                         void *data)
{
    bmp__array_storage *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->map_base = map_base;
    st->map_len = map_len;
    a->bmp__private = st;
    a->data = data;
    return 0;
}

/* Copies element i into `out` in native byte order. */
static void load_native(const bmp_array *a, size_t i, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)a->data + i * a->itemsize;
    char native = NATIVE_IS_LITTLE ? '<' : '>';
    if (a->byteorder == '|' || a->byteorder == native) {
        memcpy(out, p, a->itemsize);
        return;
    }
    /* Complex numbers swap each half on its own. */
    size_t part = (a->dtype == BMP_DTYPE_COMPLEX64 ||
                   a->dtype == BMP_DTYPE_COMPLEX128)
                      ? a->itemsize / 2
                      : a->itemsize;
    for (size_t off = 0; off < a->itemsize; off += part)
        for (size_t k = 0; k < part; k++)
            out[off + k] = p[off + part - 1 - k];
}

static void store_native(bmp_array *a, size_t i, const unsigned char *in)
{
    unsigned char *p = (unsigned char *)a->data + i * a->itemsize;
    char native = NATIVE_IS_LITTLE ? '<' : '>';
    if (a->byteorder == '|' || a->byteorder == native) {
        memcpy(p, in, a->itemsize);
        return;
    }
    size_t part = (a->dtype == BMP_DTYPE_COMPLEX64 ||
                   a->dtype == BMP_DTYPE_COMPLEX128)
                      ? a->itemsize / 2
                      : a->itemsize;
    for (size_t off = 0; off < a->itemsize; off += part)
        for (size_t k = 0; k < part; k++)
            p[off + k] = in[off + part - 1 - k];
}

double bmp__half_to_double(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp(frac, -24);
    else if (exp == 31)
        v = frac ? NAN : INFINITY;
    else
        v = ldexp(frac + 1024, exp - 25);
    return sign ? -v : v;
}

double bmp_array_get_double(const bmp_array *a, size_t i)
{
    unsigned char buf[16];
    load_native(a, i, buf);
    switch (a->dtype) {
#define AS(type)                   \
    {                              \
        type v;                    \
        memcpy(&v, buf, sizeof v); \
        return (double)v;          \
    }
    case BMP_DTYPE_BOOL: return buf[0] != 0;
    case BMP_DTYPE_INT8: AS(int8_t)
    case BMP_DTYPE_INT16: AS(int16_t)
    case BMP_DTYPE_INT32: AS(int32_t)
    case BMP_DTYPE_INT64: AS(int64_t)
    case BMP_DTYPE_UINT8: AS(uint8_t)
    case BMP_DTYPE_UINT16: AS(uint16_t)
    case BMP_DTYPE_UINT32: AS(uint32_t)
    case BMP_DTYPE_UINT64: AS(uint64_t)
    case BMP_DTYPE_FLOAT16: {
        uint16_t h;
        memcpy(&h, buf, 2);
        return bmp__half_to_double(h);
    }
    case BMP_DTYPE_FLOAT32: AS(float)
    case BMP_DTYPE_FLOAT64: AS(double)
    case BMP_DTYPE_COMPLEX64: AS(float)
    case BMP_DTYPE_COMPLEX128: AS(double)
#undef AS
    }
    return NAN;
}

void bmp_array_set_double(bmp_array *a, size_t i, double v)
{
    unsigned char buf[16] = {0};
    switch (a->dtype) {
#define TO(type)                   \
    {                              \
        type t = (type)v;          \
        memcpy(buf, &t, sizeof t); \
        break;                     \
    }
    case BMP_DTYPE_BOOL: buf[0] = v != 0; break;
    case BMP_DTYPE_INT8: TO(int8_t)
    case BMP_DTYPE_INT16: TO(int16_t)
    case BMP_DTYPE_INT32: TO(int32_t)
    case BMP_DTYPE_INT64: TO(int64_t)
    case BMP_DTYPE_UINT8: TO(uint8_t)
    case BMP_DTYPE_UINT16: TO(uint16_t)
    case BMP_DTYPE_UINT32: TO(uint32_t)
    case BMP_DTYPE_UINT64: TO(uint64_t)
    case BMP_DTYPE_FLOAT16:
        return; /* read-only dtype, as the format spec says */
    case BMP_DTYPE_FLOAT32: TO(float)
    case BMP_DTYPE_FLOAT64: TO(double)
    case BMP_DTYPE_COMPLEX64: TO(float)
    case BMP_DTYPE_COMPLEX128: TO(double)
#undef TO
    }
    store_native(a, i, buf);
}

void bmp_array_free(bmp_array *a)
{
    if (a)
        a->obj.destroy(a);
}

int bmp__array_is_native(const bmp_array *a)
{
    char native = NATIVE_IS_LITTLE ? '<' : '>';
    /* '|' on a multi-byte type reads as native, as NumPy reads it. */
    return a->itemsize == 1 || a->byteorder == native || a->byteorder == '|';
}

int bmp__array_check(const bmp_array *a)
{
    if (!a || !bmp_dtype_size(a->dtype) ||
        a->itemsize != bmp_dtype_size(a->dtype) || (a->nbytes && !a->data) ||
        a->nbytes != a->count * a->itemsize)
        return 0;
    return bmp__array_is_native(a) || a->byteorder == '<' ||
           a->byteorder == '>';
}

float *bmp_array_f32(bmp_array *a)
{
    return a && a->dtype == BMP_DTYPE_FLOAT32 && bmp__array_check(a) &&
                   bmp__array_is_native(a)
               ? a->data
               : NULL;
}

double *bmp_array_f64(bmp_array *a)
{
    return a && a->dtype == BMP_DTYPE_FLOAT64 && bmp__array_check(a) &&
                   bmp__array_is_native(a)
               ? a->data
               : NULL;
}

int bmp__is_array(const void *data)
{
    return data && ((const bmp_object *)data)->destroy == array_destroy;
}

/* Reverses each `part`-byte group of `n` groups at `p`. */
static void swap_groups(unsigned char *p, size_t n, size_t part)
{
    switch (part) {
#define SWAP(type, fn)                                  \
    for (size_t i = 0; i < n; i++, p += sizeof(type)) { \
        type v;                                         \
        memcpy(&v, p, sizeof v);                        \
        v = fn(v);                                      \
        memcpy(p, &v, sizeof v);                        \
    }                                                   \
    break;
    case 2: SWAP(uint16_t, __builtin_bswap16)
    case 4: SWAP(uint32_t, __builtin_bswap32)
    case 8: SWAP(uint64_t, __builtin_bswap64)
#undef SWAP
    default: break;
    }
}

int bmp_array_to_native(bmp_array *a)
{
    if (!a || !bmp_dtype_size(a->dtype) ||
        a->itemsize != bmp_dtype_size(a->dtype) || (a->nbytes && !a->data))
        return BMP_EINVAL;
    char native = NATIVE_IS_LITTLE ? '<' : '>';
    /* '|' on a multi-byte type reads as native everywhere else here. */
    if (a->itemsize == 1 || a->byteorder == native || a->byteorder == '|')
        return 0;
    if (a->byteorder != '<' && a->byteorder != '>')
        return BMP_EINVAL;
    /* Complex numbers swap each half on its own, as in load_native(). */
    size_t part = (a->dtype == BMP_DTYPE_COMPLEX64 ||
                   a->dtype == BMP_DTYPE_COMPLEX128)
                      ? a->itemsize / 2
                      : a->itemsize;
    swap_groups(a->data, a->count * (a->itemsize / part), part);
    a->byteorder = native;
    return 0;
}
