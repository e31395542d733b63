/*
 * array_convert.c -- a whole array to another dtype (NumPy's astype).
 *
 * Every element goes through one of four wide forms, a chunk at a time:
 * int64 (signed integers), uint64 (unsigned integers and bool), double
 * (floating point) or a pair of doubles (complex).  Each of them holds
 * every value of its source types exactly, so each conversion rounds at
 * most once, in the store to the target type, and the range checks are
 * written once per target instead of once per pair of dtypes (196).  A
 * chunk of 512 elements stays in the first-level cache, so the two
 * passes cost little more than one; both are plain loops the compiler
 * vectorizes.  A source in the other byte order is swapped into a small
 * buffer first, so the array itself is never written.
 */
#include "array_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 512

typedef enum wide_kind { WIDE_I64, WIDE_U64, WIDE_F64, WIDE_C128 } wide_kind;

typedef struct wide_chunk {
    wide_kind kind;
    union {
        int64_t i[CHUNK];
        uint64_t u[CHUNK];
        double f[CHUNK];
        double c[2 * CHUNK]; /* re, im, re, im, ... */
    } v;
    /* A source chunk in the other byte order, swapped; aligned for every
     * element type, as the array's own data are. */
    double swapped[2 * CHUNK];
} wide_chunk;

static int is_complex(bmp_dtype d)
{
    return d == BMP_DTYPE_COMPLEX64 || d == BMP_DTYPE_COMPLEX128;
}

/* Reverses the bytes of each `part`-byte group of `bytes` bytes at `p`. */
static void swap_bytes(unsigned char *p, size_t bytes, size_t part)
{
    for (size_t off = 0; off < bytes; off += part)
        for (size_t k = 0; k < part / 2; k++) {
            unsigned char t = p[off + k];
            p[off + k] = p[off + part - 1 - k];
            p[off + part - 1 - k] = t;
        }
}

#define LOAD(type, field, expr)        \
    do {                               \
        const type *x = src;           \
        for (size_t k = 0; k < n; k++) \
            w->v.field[k] = expr;      \
    } while (0)

/* Elements [start, start + n) of `a` into `w`; n <= CHUNK. */
static void load_chunk(const bmp_array *a, size_t start, size_t n,
                       wide_chunk *w)
{
    const void *src = (const unsigned char *)a->data + start * a->itemsize;
    if (!bmp__array_is_native(a)) {
        memcpy(w->swapped, src, n * a->itemsize);
        swap_bytes((unsigned char *)w->swapped, n * a->itemsize,
                   is_complex(a->dtype) ? a->itemsize / 2 : a->itemsize);
        src = w->swapped;
    }
    switch (a->dtype) {
    case BMP_DTYPE_BOOL:
        w->kind = WIDE_U64;
        LOAD(uint8_t, u, x[k] != 0);
        break;
    case BMP_DTYPE_INT8:
        w->kind = WIDE_I64;
        LOAD(int8_t, i, x[k]);
        break;
    case BMP_DTYPE_INT16:
        w->kind = WIDE_I64;
        LOAD(int16_t, i, x[k]);
        break;
    case BMP_DTYPE_INT32:
        w->kind = WIDE_I64;
        LOAD(int32_t, i, x[k]);
        break;
    case BMP_DTYPE_INT64:
        w->kind = WIDE_I64;
        LOAD(int64_t, i, x[k]);
        break;
    case BMP_DTYPE_UINT8:
        w->kind = WIDE_U64;
        LOAD(uint8_t, u, x[k]);
        break;
    case BMP_DTYPE_UINT16:
        w->kind = WIDE_U64;
        LOAD(uint16_t, u, x[k]);
        break;
    case BMP_DTYPE_UINT32:
        w->kind = WIDE_U64;
        LOAD(uint32_t, u, x[k]);
        break;
    case BMP_DTYPE_UINT64:
        w->kind = WIDE_U64;
        LOAD(uint64_t, u, x[k]);
        break;
    case BMP_DTYPE_FLOAT16:
        w->kind = WIDE_F64;
        LOAD(uint16_t, f, bmp__half_to_double(x[k]));
        break;
    case BMP_DTYPE_FLOAT32:
        w->kind = WIDE_F64;
        LOAD(float, f, x[k]);
        break;
    case BMP_DTYPE_FLOAT64:
        w->kind = WIDE_F64;
        LOAD(double, f, x[k]);
        break;
    case BMP_DTYPE_COMPLEX64:
        w->kind = WIDE_C128;
        n *= 2;
        LOAD(float, c, x[k]);
        break;
    case BMP_DTYPE_COMPLEX128:
        w->kind = WIDE_C128;
        n *= 2;
        LOAD(double, c, x[k]);
        break;
    }
}
#undef LOAD

/* A double as IEEE half precision, rounded to nearest, ties to even;
 * beyond the largest half (65504) by half a step or more: infinity. */
static uint16_t double_to_half(double v)
{
    uint16_t sign = signbit(v) ? 0x8000 : 0;
    double a = fabs(v);
    if (isnan(v))
        return sign | 0x7e00;
    if (a >= 65520.0)
        return sign | 0x7c00;
    if (a < 0x1p-14) /* subnormal: a whole number of 2^-24 */
        return sign | (uint16_t)nearbyint(a * 0x1p24);
    int e;
    double f = frexp(a, &e); /* a = f * 2^e, f in [0.5, 1) */
    int exponent = e - 1 + 15;
    double mantissa = nearbyint((2 * f - 1) * 1024);
    if (mantissa == 1024) {
        mantissa = 0;
        exponent++;
    }
    if (exponent >= 31)
        return sign | 0x7c00;
    return sign | (uint16_t)(exponent << 10) | (uint16_t)mantissa;
}

/* Range checks, as functions so that the compiler does not warn about
 * comparisons that are always true for some of the types. */
static int i64_in(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

static int u64_in(uint64_t v, uint64_t hi)
{
    return v <= hi;
}

/* trunc(v) in [lo, hi_excl); false for NaN. */
static int f64_in(double v, double lo, double hi_excl)
{
    double t = trunc(v);
    return t >= lo && t < hi_excl;
}

/* Stores `w` (n elements) as `type` at `dst`.  On a value the type cannot
 * hold, returns its index (< n); n when all fit. */
#define STORE_INT(type, lo, hi, hi_excl)                                     \
    do {                                                                     \
        type *d = dst;                                                       \
        switch (w->kind) {                                                   \
        case WIDE_I64:                                                       \
            for (size_t k = 0; k < n; k++) {                                 \
                if (!i64_in(w->v.i[k], (lo),                                 \
                            (int64_t)((hi) > INT64_MAX ? INT64_MAX : (hi)))) \
                    return k;                                                \
                d[k] = (type)w->v.i[k];                                      \
            }                                                                \
            return n;                                                        \
        case WIDE_U64:                                                       \
            for (size_t k = 0; k < n; k++) {                                 \
                if (!u64_in(w->v.u[k], (hi)))                                \
                    return k;                                                \
                d[k] = (type)w->v.u[k];                                      \
            }                                                                \
            return n;                                                        \
        case WIDE_F64:                                                       \
            for (size_t k = 0; k < n; k++) {                                 \
                if (!f64_in(w->v.f[k], (double)(lo), (hi_excl)))             \
                    return k;                                                \
                d[k] = (type)w->v.f[k];                                      \
            }                                                                \
            return n;                                                        \
        case WIDE_C128:                                                      \
            for (size_t k = 0; k < n; k++) {                                 \
                if (w->v.c[2 * k + 1] != 0 ||                                \
                    !f64_in(w->v.c[2 * k], (double)(lo), (hi_excl)))         \
                    return k;                                                \
                d[k] = (type)w->v.c[2 * k];                                  \
            }                                                                \
            return n;                                                        \
        }                                                                    \
        return n;                                                            \
    } while (0)

/* To a real floating type through `conv` (a cast, or double_to_half). */
#define STORE_REAL(type, conv)               \
    do {                                     \
        type *d = dst;                       \
        switch (w->kind) {                   \
        case WIDE_I64:                       \
            for (size_t k = 0; k < n; k++)   \
                d[k] = conv(w->v.i[k]);      \
            return n;                        \
        case WIDE_U64:                       \
            for (size_t k = 0; k < n; k++)   \
                d[k] = conv(w->v.u[k]);      \
            return n;                        \
        case WIDE_F64:                       \
            for (size_t k = 0; k < n; k++)   \
                d[k] = conv(w->v.f[k]);      \
            return n;                        \
        case WIDE_C128:                      \
            for (size_t k = 0; k < n; k++) { \
                if (w->v.c[2 * k + 1] != 0)  \
                    return k;                \
                d[k] = conv(w->v.c[2 * k]);  \
            }                                \
            return n;                        \
        }                                    \
        return n;                            \
    } while (0)

/* To a complex type: real values get an imaginary part of 0. */
#define STORE_COMPLEX(part)                                               \
    do {                                                                  \
        part *d = dst;                                                    \
        for (size_t k = 0; k < n; k++) {                                  \
            switch (w->kind) {                                            \
            case WIDE_I64: d[2 * k] = (part)w->v.i[k]; break;             \
            case WIDE_U64: d[2 * k] = (part)w->v.u[k]; break;             \
            case WIDE_F64: d[2 * k] = (part)w->v.f[k]; break;             \
            case WIDE_C128: d[2 * k] = (part)w->v.c[2 * k]; break;        \
            }                                                             \
            d[2 * k + 1] = w->kind == WIDE_C128 ? (part)w->v.c[2 * k + 1] \
                                                : 0;                      \
        }                                                                 \
        return n;                                                         \
    } while (0)

#define AS_FLOAT(x) ((float)(x))
#define AS_DOUBLE(x) ((double)(x))
#define AS_HALF(x) double_to_half((double)(x))

static size_t store_chunk(const wide_chunk *w, size_t n, bmp_dtype to,
                          void *dst)
{
    switch (to) {
    case BMP_DTYPE_BOOL: {
        uint8_t *d = dst;
        for (size_t k = 0; k < n; k++)
            switch (w->kind) {
            case WIDE_I64: d[k] = w->v.i[k] != 0; break;
            case WIDE_U64: d[k] = w->v.u[k] != 0; break;
            case WIDE_F64: d[k] = w->v.f[k] != 0; break;
            case WIDE_C128:
                d[k] = w->v.c[2 * k] != 0 || w->v.c[2 * k + 1] != 0;
                break;
            }
        return n;
    }
    case BMP_DTYPE_INT8: STORE_INT(int8_t, INT8_MIN, INT8_MAX, 0x1p7);
    case BMP_DTYPE_INT16: STORE_INT(int16_t, INT16_MIN, INT16_MAX, 0x1p15);
    case BMP_DTYPE_INT32: STORE_INT(int32_t, INT32_MIN, INT32_MAX, 0x1p31);
    case BMP_DTYPE_INT64: STORE_INT(int64_t, INT64_MIN, INT64_MAX, 0x1p63);
    case BMP_DTYPE_UINT8: STORE_INT(uint8_t, 0, UINT8_MAX, 0x1p8);
    case BMP_DTYPE_UINT16: STORE_INT(uint16_t, 0, UINT16_MAX, 0x1p16);
    case BMP_DTYPE_UINT32: STORE_INT(uint32_t, 0, UINT32_MAX, 0x1p32);
    case BMP_DTYPE_UINT64: STORE_INT(uint64_t, 0, UINT64_MAX, 0x1p64);
    case BMP_DTYPE_FLOAT16: STORE_REAL(uint16_t, AS_HALF);
    case BMP_DTYPE_FLOAT32: STORE_REAL(float, AS_FLOAT);
    case BMP_DTYPE_FLOAT64: STORE_REAL(double, AS_DOUBLE);
    case BMP_DTYPE_COMPLEX64: STORE_COMPLEX(float);
    case BMP_DTYPE_COMPLEX128: STORE_COMPLEX(double);
    }
    return n;
}

/* Says why element `index` (k of chunk `w`) cannot become `to`. */
static int refuse(const bmp_array *a, bmp_dtype to, const wide_chunk *w,
                  size_t k, size_t index, bmp_error *err)
{
    char value[96];
    const char *why = "is out of its range";
    switch (w->kind) {
    case WIDE_I64: snprintf(value, sizeof value, "%" PRId64, w->v.i[k]); break;
    case WIDE_U64: snprintf(value, sizeof value, "%" PRIu64, w->v.u[k]); break;
    case WIDE_F64:
        snprintf(value, sizeof value, "%.17g", w->v.f[k]);
        if (!isfinite(w->v.f[k]))
            why = "has no integer value";
        break;
    case WIDE_C128:
        snprintf(value, sizeof value, "%.17g%+.17gj", w->v.c[2 * k],
                 w->v.c[2 * k + 1]);
        if (w->v.c[2 * k + 1] != 0)
            why = "would lose its imaginary part";
        else if (!isfinite(w->v.c[2 * k]))
            why = "has no integer value";
        break;
    }
    return bmp_error_set(err, BMP_EINVAL, "convert", NULL,
                         "cannot convert %s to %s: element %zu (%s) %s",
                         bmp_dtype_name(a->dtype), bmp_dtype_name(to), index,
                         value, why);
}

/* The common cases in one pass, without the wide form: a native array of
 * a plain C number type to float32 or float64 (which every value fits),
 * or to its own dtype.  @return 1 when done. */
#define DIRECT(type, code)                             \
    case code: {                                       \
        const type *x = a->data;                       \
        if (b->dtype == BMP_DTYPE_FLOAT32)             \
            for (size_t i = 0; i < a->count; i++)      \
                ((float *)b->data)[i] = (float)x[i];   \
        else                                           \
            for (size_t i = 0; i < a->count; i++)      \
                ((double *)b->data)[i] = (double)x[i]; \
        return 1;                                      \
    }

static int convert_direct(const bmp_array *a, bmp_array *b)
{
    if (!bmp__array_is_native(a))
        return 0;
    if (a->dtype == b->dtype) {
        memcpy(b->data, a->data, a->nbytes);
        return 1;
    }
    if (b->dtype != BMP_DTYPE_FLOAT32 && b->dtype != BMP_DTYPE_FLOAT64)
        return 0;
    switch (a->dtype) {
        DIRECT(int8_t, BMP_DTYPE_INT8)
        DIRECT(int16_t, BMP_DTYPE_INT16)
        DIRECT(int32_t, BMP_DTYPE_INT32)
        DIRECT(int64_t, BMP_DTYPE_INT64)
        DIRECT(uint8_t, BMP_DTYPE_UINT8)
        DIRECT(uint16_t, BMP_DTYPE_UINT16)
        DIRECT(uint32_t, BMP_DTYPE_UINT32)
        DIRECT(uint64_t, BMP_DTYPE_UINT64)
        DIRECT(float, BMP_DTYPE_FLOAT32)
        DIRECT(double, BMP_DTYPE_FLOAT64)
    default: return 0;
    }
}
#undef DIRECT

int bmp_array_convert(const bmp_array *a, bmp_dtype to, bmp_array **out,
                      bmp_error *err)
{
    if (!a || !out)
        return bmp_error_set(err, BMP_EINVAL, "convert", NULL,
                             "cannot convert: %s is NULL",
                             a ? "the output pointer" : "the array");
    if (!bmp_dtype_size(to) || !bmp_dtype_size(a->dtype))
        return bmp_error_set(err, BMP_EUNSUPPORTED, "convert", NULL,
                             "cannot convert dtype %d to dtype %d: unknown "
                             "dtype",
                             (int)a->dtype, (int)to);
    if (!bmp__array_check(a))
        return bmp_error_set(err, BMP_EINVAL, "convert", NULL,
                             "cannot convert the %s array: its itemsize, "
                             "count, nbytes, data and byteorder disagree",
                             bmp_dtype_name(a->dtype));
    /* Every element is written below: no need to zero the memory first. */
    bmp_array *b = bmp__array_new_uninit(to, a->ndim, a->shape);
    if (!b)
        return bmp_error_set(err, -ENOMEM, "convert", NULL,
                             "cannot convert %s to %s: out of memory for "
                             "%zu elements",
                             bmp_dtype_name(a->dtype), bmp_dtype_name(to),
                             a->count);
    b->fortran_order = a->fortran_order;
    if (convert_direct(a, b)) {
        *out = b;
        return 0;
    }
    wide_chunk *w = malloc(sizeof *w);
    if (!w) {
        bmp_array_free(b);
        return bmp_error_set(err, -ENOMEM, "convert", NULL,
                             "cannot convert: out of memory");
    }
    for (size_t start = 0; start < a->count; start += CHUNK) {
        size_t n = a->count - start < CHUNK ? a->count - start : CHUNK;
        load_chunk(a, start, n, w);
        size_t k = store_chunk(w, n, to,
                               (unsigned char *)b->data + start * b->itemsize);
        if (k < n) {
            int rc = refuse(a, to, w, k, start + k, err);
            free(w);
            bmp_array_free(b);
            return rc;
        }
    }
    free(w);
    *out = b;
    return 0;
}
