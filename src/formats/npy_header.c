/*
 * npy_header.c -- the .npy header: magic string, version, length field
 * and the Python dict literal that describes the array.
 *
 * NumPy reads the dict with ast.literal_eval, so in principle any Python
 * literal syntax is valid.  This parser takes the part of that syntax
 * that writers produce or that a person could plausibly type: keys in any
 * order, single or double quotes, any whitespace, '#' comments, trailing
 * commas, True/False, integer tuples with '+', '_' separators and (in
 * versions 1.0 and 2.0, as NumPy allows for files from Python 2) an 'L'
 * suffix.  Anything else is rejected with a message that quotes what was
 * found, rather than guessed at: a reader that accepts what NumPy would
 * not invites files that only this library can read.
 *
 * The parser is a cursor over a bounded buffer that never moves past its
 * end, without recursion or allocation, so hostile input can only
 * produce an error (fuzz/fuzz_npy_header.c checks this).
 *
 * Formatting reproduces np.save() byte for byte, including the spare
 * spaces NumPy leaves for growing the first (or, in Fortran order, last)
 * axis in place, so files written here are indistinguishable from NumPy's.
 */
#include "npy_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NATIVE_ORDER (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* NumPy's alignment of the data offset, and the digits it reserves for
 * the growth axis (GROWTH_AXIS_MAX_DIGITS in numpy/lib/format.py). */
enum { NPY_ALIGN = 64, NPY_GROWTH_DIGITS = 21 };

/* ---------------------------------------------------------------------- */
/* Error records                                                           */
/* ---------------------------------------------------------------------- */

static int vfail(bmp_error *err, const char *source, int code, const char *fmt,
                 va_list ap)
{
    char text[sizeof err->text];
    vsnprintf(text, sizeof text, fmt, ap);
    return bmp_error_set(err, code, "read", source, "%s", text);
}

static int fail_at(bmp_error *err, const char *source, int code,
                   const char *fmt, ...) BMP_PRINTF(4, 5);
static int fail_at(bmp_error *err, const char *source, int code,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(err, source, code, fmt, ap);
    va_end(ap);
    return rc;
}

/* Quotes up to 40 bytes of untrusted text for a message: printable ASCII
 * as is, other bytes as \xHH, so that a message never carries control
 * characters or broken UTF-8 out of a hostile file. */
static const char *quote_bytes(char *out, size_t cap, const unsigned char *s,
                               size_t n)
{
    size_t o = 0;
    size_t shown = n > 40 ? 40 : n;
    for (size_t i = 0; i < shown && o + 5 < cap; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
            out[o++] = (char)s[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
    }
    if (shown < n && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

/* ---------------------------------------------------------------------- */
/* Prefix: magic, version, length                                          */
/* ---------------------------------------------------------------------- */

int bmp__npy_parse_prefix(const void *buf, size_t len, bmp_npy_header *out,
                          bmp_error *err, const char *source)
{
    const unsigned char *b = buf;
    size_t m = len < sizeof npy_magic ? len : sizeof npy_magic;
    if (memcmp(b, npy_magic, m) != 0)
        return fail_at(err, source, BMP_EFORMAT,
                       "the file is not a .npy file: it does not begin "
                       "with the magic string \\x93NUMPY");
    if (len < 8)
        return fail_at(err, source, BMP_EFORMAT,
                       "the header is truncated: the file has only %zu "
                       "bytes",
                       len);
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail_at(err, source, BMP_EUNSUPPORTED,
                       "the file has format version %d.%d; versions 1.0, "
                       "2.0 and 3.0 are supported",
                       major, minor);
    size_t field = major == 1 ? 2 : 4;
    if (len < 8 + field)
        return fail_at(err, source, BMP_EFORMAT,
                       "the header is truncated: the file ends inside the "
                       "header length field");
    uint64_t hlen = (uint64_t)b[8] | (uint64_t)b[9] << 8;
    if (field == 4)
        hlen |= (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
    if (hlen > SIZE_MAX - 8 - field)
        return fail_at(err, source, BMP_EFORMAT,
                       "the header length %llu is too large for this "
                       "machine",
                       (unsigned long long)hlen);
    out->major = major;
    out->minor = minor;
    out->data_offset = 8 + field + (size_t)hlen;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The dict                                                                */
/* ---------------------------------------------------------------------- */

typedef struct cursor {
    const unsigned char *base; /* start of the file, for byte offsets */
    const unsigned char *p;
    const unsigned char *end; /* end of the header */
    bmp_error *err;
    const char *source;
    int python2_longs; /* accept 3L */
} cursor;

static int peek(const cursor *c)
{
    return c->p < c->end ? *c->p : -1;
}

static int fail(cursor *c, int code, const char *fmt, ...) BMP_PRINTF(3, 4);
static int fail(cursor *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(c->err, c->source, code, fmt, ap);
    va_end(ap);
    return rc;
}

/* What the cursor looks at, for "expected X, found Y" messages. */
static const char *found(const cursor *c, char *out, size_t cap)
{
    if (c->p >= c->end)
        return "the end of the header";
    char q[200];
    size_t n = (size_t)(c->end - c->p);
    snprintf(out, cap, "'%s'",
             quote_bytes(q, sizeof q, c->p, n > 12 ? 12 : n));
    return out;
}

static size_t offset(const cursor *c)
{
    return (size_t)(c->p - c->base);
}

/* Python's whitespace between tokens, '#' comments to the end of the
 * line, and backslash line continuations. */
static void skip_space(cursor *c)
{
    while (c->p < c->end) {
        unsigned char ch = *c->p;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
            ch == '\f') {
            c->p++;
        } else if (ch == '#') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
        } else if (ch == '\\' && c->end - c->p >= 2 && c->p[1] == '\n') {
            c->p += 2;
        } else {
            break;
        }
    }
}

static int is_ident(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

/* A single-line string in ' or ".  Escapes are refused rather than
 * decoded: no valid key or dtype needs one. */
static int parse_string(cursor *c, const unsigned char **s, size_t *n)
{
    size_t at = offset(c);
    unsigned char quote = *c->p++;
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\')
            return fail(c, BMP_EFORMAT,
                        "bad header dict at byte %zu: escape sequences in "
                        "strings are not supported",
                        offset(c));
        if (*c->p == '\n' || *c->p == '\r')
            break;
        c->p++;
    }
    if (c->p >= c->end || *c->p != quote)
        return fail(c, BMP_EFORMAT,
                    "bad header dict at byte %zu: unterminated string", at);
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return 0;
}

static int parse_bool(cursor *c, int *out)
{
    const unsigned char *start = c->p;
    while (c->p < c->end && is_ident(*c->p))
        c->p++;
    size_t n = (size_t)(c->p - start);
    if (n == 4 && memcmp(start, "True", 4) == 0) {
        *out = 1;
        return 0;
    }
    if (n == 5 && memcmp(start, "False", 5) == 0) {
        *out = 0;
        return 0;
    }
    char q[200];
    c->p = start;
    return fail(c, BMP_EFORMAT,
                "bad header dict at byte %zu: 'fortran_order' must be True "
                "or False, not %s",
                offset(c), found(c, q, sizeof q));
}

/* A non-negative integer that fits in size_t. */
static int parse_dim(cursor *c, size_t *out)
{
    const unsigned char *start = c->p;
    char q[200];
    int negative = 0;
    if (peek(c) == '+' || peek(c) == '-') {
        negative = *c->p == '-';
        c->p++;
        skip_space(c);
    }
    if (!is_digit(peek(c))) {
        c->p = start;
        return fail(c, BMP_EFORMAT,
                    "bad header dict at byte %zu: a shape entry must be an "
                    "integer, not %s",
                    offset(c), found(c, q, sizeof q));
    }
    size_t value = 0;
    int overflow = 0;
    while (c->p < c->end) {
        if (is_digit(*c->p)) {
            unsigned d = (unsigned)(*c->p - '0');
            if (value > (SIZE_MAX - d) / 10)
                overflow = 1;
            else
                value = value * 10 + d;
            c->p++;
        } else if (*c->p == '_' && c->end - c->p >= 2 && is_digit(c->p[1]) &&
                   is_digit(c->p[-1])) {
            c->p++;
        } else {
            break;
        }
    }
    if (c->python2_longs && peek(c) == 'L')
        c->p++;
    if (is_ident(peek(c)) || peek(c) == '.') {
        size_t n = (size_t)(c->end - start);
        c->p = start;
        return fail(c, BMP_EFORMAT,
                    "bad header dict at byte %zu: a shape entry must be an "
                    "integer, not '%s'",
                    offset(c),
                    quote_bytes(q, sizeof q, start, n > 12 ? 12 : n));
    }
    size_t n = (size_t)(c->p - start);
    if (negative && (value != 0 || overflow)) {
        c->p = start;
        return fail(c, BMP_EFORMAT, "the shape has a negative entry, %s",
                    quote_bytes(q, sizeof q, start, n));
    }
    if (overflow) {
        c->p = start;
        return fail(c, BMP_EFORMAT,
                    "the shape entry %s overflows the size of memory",
                    quote_bytes(q, sizeof q, start, n));
    }
    *out = value;
    return 0;
}

static int parse_shape(cursor *c, bmp_npy_header *h)
{
    char q[200];
    if (peek(c) != '(')
        return fail(c, BMP_EFORMAT,
                    "bad header dict at byte %zu: 'shape' must be a tuple of "
                    "integers, not %s",
                    offset(c), found(c, q, sizeof q));
    c->p++;
    int ndim = 0, trailing_comma = 0;
    for (;;) {
        skip_space(c);
        if (peek(c) == ')') {
            c->p++;
            break;
        }
        if (ndim == BMP_MAX_DIMS)
            return fail(c, BMP_EUNSUPPORTED,
                        "the array has more than %d dimensions, the most "
                        "this library supports",
                        BMP_MAX_DIMS);
        int rc = parse_dim(c, &h->shape[ndim]);
        if (rc < 0)
            return rc;
        ndim++;
        skip_space(c);
        if (peek(c) == ',') {
            c->p++;
            trailing_comma = 1;
        } else if (peek(c) == ')') {
            c->p++;
            trailing_comma = 0;
            break;
        } else {
            return fail(c, BMP_EFORMAT,
                        "bad header dict at byte %zu: expected ',' or ')' "
                        "in 'shape', found %s",
                        offset(c), found(c, q, sizeof q));
        }
    }
    /* "(3)" is Python's integer 3, not a tuple; NumPy refuses it. */
    if (ndim == 1 && !trailing_comma)
        return fail(c, BMP_EFORMAT,
                    "'shape' must be a tuple: (%zu) is an integer in "
                    "parentheses; a one-dimensional shape is written (%zu,)",
                    h->shape[0], h->shape[0]);
    h->ndim = ndim;
    return 0;
}

static int parse_descr(cursor *c, const unsigned char **s, size_t *n)
{
    char q[200];
    int ch = peek(c);
    if (ch == '[' || ch == '{')
        return fail(c, BMP_EUNSUPPORTED,
                    "structured dtypes (a %s as 'descr') are not supported",
                    ch == '[' ? "list" : "dict");
    if (ch != '\'' && ch != '"')
        return fail(c, BMP_EFORMAT,
                    "bad header dict at byte %zu: 'descr' must be a string, "
                    "not %s",
                    offset(c), found(c, q, sizeof q));
    return parse_string(c, s, n);
}

/* The dtype of a NumPy type string such as '<f8', as np.save writes them
 * (dtype.str); also '?' for bool. */
static int interpret_descr(cursor *c, const unsigned char *s, size_t n,
                           bmp_npy_header *h)
{
    char q[200];
    quote_bytes(q, sizeof q, s, n);
    const unsigned char *t = s;
    size_t tn = n;
    char order = 0;
    if (tn > 0 && (t[0] == '<' || t[0] == '>' || t[0] == '|' || t[0] == '=')) {
        order = (char)t[0];
        t++;
        tn--;
    }
    bmp_dtype dtype = 0;
    unsigned size = 0;
    int digits_ok = tn >= 2 && tn <= 3;
    for (size_t i = 1; i < tn && digits_ok; i++)
        digits_ok = is_digit(t[i]);
    if (digits_ok) {
        for (size_t i = 1; i < tn; i++)
            size = size * 10 + (unsigned)(t[i] - '0');
        switch (t[0]) {
        case 'b': dtype = size == 1 ? BMP_DTYPE_BOOL : 0; break;
        case 'i':
            dtype = size == 1   ? BMP_DTYPE_INT8
                    : size == 2 ? BMP_DTYPE_INT16
                    : size == 4 ? BMP_DTYPE_INT32
                    : size == 8 ? BMP_DTYPE_INT64
                                : 0;
            break;
        case 'u':
            dtype = size == 1   ? BMP_DTYPE_UINT8
                    : size == 2 ? BMP_DTYPE_UINT16
                    : size == 4 ? BMP_DTYPE_UINT32
                    : size == 8 ? BMP_DTYPE_UINT64
                                : 0;
            break;
        case 'f':
            dtype = size == 2   ? BMP_DTYPE_FLOAT16
                    : size == 4 ? BMP_DTYPE_FLOAT32
                    : size == 8 ? BMP_DTYPE_FLOAT64
                                : 0;
            break;
        case 'c':
            dtype = size == 8    ? BMP_DTYPE_COMPLEX64
                    : size == 16 ? BMP_DTYPE_COMPLEX128
                                 : 0;
            break;
        default: break;
        }
    } else if (tn == 1 && t[0] == '?') {
        dtype = BMP_DTYPE_BOOL;
    }
    if (!dtype) {
        int kind = tn > 0 ? t[0] : 0;
        if (kind == 'O')
            return fail(c, BMP_EUNSUPPORTED,
                        "object arrays ('%s') are not supported: their data "
                        "are pickled Python objects",
                        q);
        if (kind == 'U' || kind == 'S' || kind == 'a')
            return fail(c, BMP_EUNSUPPORTED,
                        "string arrays ('%s') are not supported", q);
        if (kind == 'V')
            return fail(c, BMP_EUNSUPPORTED,
                        "void (raw record) arrays ('%s') are not supported",
                        q);
        if (kind == 'M' || kind == 'm')
            return fail(c, BMP_EUNSUPPORTED,
                        "datetime and timedelta arrays ('%s') are not "
                        "supported",
                        q);
        return fail(c, BMP_EUNSUPPORTED,
                    "the dtype '%s' is not supported; supported are bool, "
                    "int8-64, uint8-64, float16-64 and complex64-128",
                    q);
    }
    h->dtype = dtype;
    if (bmp_dtype_size(dtype) == 1)
        h->byteorder = '|';
    else if (order == '<' || order == '>')
        h->byteorder = order;
    else /* '=', '|' and no prefix all mean native to NumPy */
        h->byteorder = NATIVE_ORDER;
    return 0;
}

static int key_is(const unsigned char *s, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(s, name, n) == 0;
}

static int parse_dict(cursor *c, bmp_npy_header *h)
{
    char q[200];
    const unsigned char *descr = NULL;
    size_t descr_len = 0;
    int have_descr = 0, have_order = 0, have_shape = 0;

    skip_space(c);
    if (peek(c) != '{')
        return fail(c, BMP_EFORMAT,
                    "the header is not a dict: expected '{' at byte %zu, "
                    "found %s",
                    offset(c), found(c, q, sizeof q));
    c->p++;
    for (;;) {
        skip_space(c);
        if (peek(c) == '}') {
            c->p++;
            break;
        }
        if (peek(c) != '\'' && peek(c) != '"')
            return fail(c, BMP_EFORMAT,
                        "bad header dict at byte %zu: expected a quoted key "
                        "or '}', found %s",
                        offset(c), found(c, q, sizeof q));
        const unsigned char *key;
        size_t key_len;
        int rc = parse_string(c, &key, &key_len);
        if (rc < 0)
            return rc;
        skip_space(c);
        if (peek(c) != ':')
            return fail(c, BMP_EFORMAT,
                        "bad header dict at byte %zu: expected ':' after a "
                        "key, found %s",
                        offset(c), found(c, q, sizeof q));
        c->p++;
        skip_space(c);
        /* A repeated key is allowed: the last one wins, as in Python. */
        if (key_is(key, key_len, "descr")) {
            rc = parse_descr(c, &descr, &descr_len);
            have_descr = 1;
        } else if (key_is(key, key_len, "fortran_order")) {
            rc = parse_bool(c, &h->fortran_order);
            have_order = 1;
        } else if (key_is(key, key_len, "shape")) {
            rc = parse_shape(c, h);
            have_shape = 1;
        } else {
            return fail(c, BMP_EFORMAT,
                        "the header has an unexpected key '%s'; NumPy allows "
                        "only 'descr', 'fortran_order' and 'shape'",
                        quote_bytes(q, sizeof q, key, key_len));
        }
        if (rc < 0)
            return rc;
        skip_space(c);
        if (peek(c) == ',') {
            c->p++;
        } else if (peek(c) == '}') {
            c->p++;
            break;
        } else {
            return fail(c, BMP_EFORMAT,
                        "bad header dict at byte %zu: expected ',' or '}', "
                        "found %s",
                        offset(c), found(c, q, sizeof q));
        }
    }
    skip_space(c);
    if (c->p != c->end)
        return fail(c, BMP_EFORMAT,
                    "bad header at byte %zu: unexpected %s after the dict",
                    offset(c), found(c, q, sizeof q));
    const char *missing = !have_descr   ? "descr"
                          : !have_order ? "fortran_order"
                          : !have_shape ? "shape"
                                        : NULL;
    if (missing)
        return fail(c, BMP_EFORMAT, "the header lacks the key '%s'", missing);
    return interpret_descr(c, descr, descr_len, h);
}

/* count and nbytes.  As NumPy, a shape is refused when its non-zero
 * dimensions times the element size exceed the largest signed size, even
 * if another dimension is zero: such a file is not one NumPy wrote. */
static int compute_size(cursor *c, bmp_npy_header *h)
{
    size_t itemsize = bmp_dtype_size(h->dtype);
    size_t bytes = itemsize, count = 1;
    int zero = 0;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0) {
            zero = 1;
            continue;
        }
        if (bytes > (size_t)PTRDIFF_MAX / h->shape[i])
            return fail(c, BMP_EFORMAT,
                        "the shape's size overflows: %d dimensions of "
                        "%zu-byte elements exceed the address space",
                        h->ndim, itemsize);
        bytes *= h->shape[i];
        count *= h->shape[i];
    }
    h->count = zero ? 0 : count;
    h->nbytes = h->count * itemsize;
    return 0;
}

int bmp__npy_parse(const void *buf, size_t len, bmp_npy_header *out,
                   bmp_error *err, const char *source)
{
    if (!buf || !out)
        return bmp_error_set(err, BMP_EINVAL, "read", source,
                             "no buffer or no header to fill");
    memset(out, 0, sizeof *out);
    int rc = bmp__npy_parse_prefix(buf, len, out, err, source);
    if (rc < 0)
        return rc;
    if (out->data_offset > len)
        return fail_at(err, source, BMP_EFORMAT,
                       "the header is truncated: it declares %zu bytes, "
                       "only %zu are present",
                       out->data_offset, len);
    /* Version 3.0 is UTF-8 and the others Latin-1; bytes beyond ASCII can
     * only occur inside strings, where they already make an unknown key or
     * dtype, so the bytes are parsed alike for all versions. */
    cursor c = {
        .base = buf,
        .p = (const unsigned char *)buf + (out->major == 1 ? 10 : 12),
        .end = (const unsigned char *)buf + out->data_offset,
        .err = err,
        .source = source,
        .python2_longs = out->major <= 2,
    };
    rc = parse_dict(&c, out);
    if (rc < 0)
        return rc;
    return compute_size(&c, out);
}

int bmp_npy_parse_header(const void *buf, size_t len, bmp_npy_header *out,
                         bmp_error *err)
{
    return bmp__npy_parse(buf, len, out, err, NULL);
}

/* ---------------------------------------------------------------------- */
/* Formatting                                                              */
/* ---------------------------------------------------------------------- */

typedef struct appender {
    char *p;
    size_t len, cap;
    int full;
} appender;

static void append(appender *a, const char *fmt, ...) BMP_PRINTF(2, 3);
static void append(appender *a, const char *fmt, ...)
{
    if (a->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->p + a->len, a->cap - a->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= a->cap - a->len)
        a->full = 1;
    else
        a->len += (size_t)n;
}

static const char *descr_code(bmp_dtype dtype)
{
    switch (dtype) {
    case BMP_DTYPE_BOOL: return "b1";
    case BMP_DTYPE_INT8: return "i1";
    case BMP_DTYPE_INT16: return "i2";
    case BMP_DTYPE_INT32: return "i4";
    case BMP_DTYPE_INT64: return "i8";
    case BMP_DTYPE_UINT8: return "u1";
    case BMP_DTYPE_UINT16: return "u2";
    case BMP_DTYPE_UINT32: return "u4";
    case BMP_DTYPE_UINT64: return "u8";
    case BMP_DTYPE_FLOAT16: return "f2";
    case BMP_DTYPE_FLOAT32: return "f4";
    case BMP_DTYPE_FLOAT64: return "f8";
    case BMP_DTYPE_COMPLEX64: return "c8";
    case BMP_DTYPE_COMPLEX128: return "c16";
    }
    return NULL;
}

long bmp__npy_format_header(const bmp_npy_header *h, char *buf, size_t cap)
{
    const char *code = descr_code(h->dtype);
    if (!code || h->ndim < 0 || h->ndim > BMP_MAX_DIMS)
        return BMP_EINVAL;
    /* float16 stays read-only: without a conversion in bmp_array_set_double
     * there is no way to make such data, so writing them is refused. */
    if (h->dtype == BMP_DTYPE_FLOAT16)
        return BMP_EUNSUPPORTED;
    char order;
    if (bmp_dtype_size(h->dtype) == 1)
        order = '|';
    else if (h->byteorder == '<' || h->byteorder == '>')
        order = h->byteorder;
    else if (h->byteorder == '|')
        order = NATIVE_ORDER;
    else
        return BMP_EINVAL;

    char dict[BMP__NPY_HEADER_MAX];
    appender a = {dict, 0, sizeof dict, 0};
    append(&a, "{'descr': '%c%s', 'fortran_order': %s, 'shape': (", order,
           code, h->fortran_order ? "True" : "False");
    for (int i = 0; i < h->ndim; i++)
        append(&a, i ? ", %zu" : "%zu", h->shape[i]);
    append(&a, "%s), }", h->ndim == 1 ? "," : "");
    if (h->ndim > 0) {
        char digits[32];
        int n = snprintf(digits, sizeof digits, "%zu",
                         h->shape[h->fortran_order ? h->ndim - 1 : 0]);
        append(&a, "%*s", NPY_GROWTH_DIGITS - n, "");
    }
    if (a.full)
        return -ENOSPC;

    /* Version 1.0 unless the length does not fit its 16-bit field. */
    size_t body = a.len + 1; /* the final newline */
    size_t prefix = 10;
    size_t pad = NPY_ALIGN - (prefix + body) % NPY_ALIGN;
    if (body + pad > 65535) {
        prefix = 12;
        pad = NPY_ALIGN - (prefix + body) % NPY_ALIGN;
    }
    size_t total = prefix + body + pad;
    if (total > cap)
        return -ENOSPC;
    size_t hlen = body + pad;
    unsigned char *out = (unsigned char *)buf;
    memcpy(out, npy_magic, sizeof npy_magic);
    out[6] = prefix == 10 ? 1 : 2;
    out[7] = 0;
    out[8] = (unsigned char)(hlen & 0xff);
    out[9] = (unsigned char)(hlen >> 8 & 0xff);
    if (prefix == 12) {
        out[10] = (unsigned char)(hlen >> 16 & 0xff);
        out[11] = (unsigned char)(hlen >> 24 & 0xff);
    }
    memcpy(out + prefix, dict, a.len);
    memset(out + prefix + a.len, ' ', pad);
    out[total - 1] = '\n';
    return (long)total;
}
