/*
 * npy_internal.h -- the .npy header codec shared by the reader, the
 * writer, the tests and the fuzzer.  Parsing and formatting are pure
 * functions over byte buffers (npy_header.c); file access is in npy.c.
 */
#ifndef BMP_NPY_INTERNAL_H
#define BMP_NPY_INTERNAL_H

#include "bigmultipipe.h"

/* Bytes before the dict: magic (6), version (2), length (2 or 4). */
#define BMP__NPY_PREFIX_MAX 12
/* The longest header bmp__npy_format_header() can produce: the dict with
 * BMP_MAX_DIMS twenty-digit dimensions, padding and alignment fit well
 * within it. */
#define BMP__NPY_HEADER_MAX 2048

/* Reads the magic string, version and header length from the first `len`
 * bytes of a file.  Sets out->major, out->minor and out->data_offset (the
 * size of the whole header); other fields are untouched.  Errors name
 * `source` (may be NULL).
 * @return 0, BMP_EFORMAT (bad magic, truncated), BMP_EUNSUPPORTED
 *         (unknown version). */
int bmp__npy_parse_prefix(const void *buf, size_t len, bmp_npy_header *out,
                          bmp_error *err, const char *source);

/* bmp_npy_parse_header() with the file's name for error records. */
int bmp__npy_parse(const void *buf, size_t len, bmp_npy_header *out,
                   bmp_error *err, const char *source);

/* Writes the whole header (magic to the final newline) that np.save()
 * would write for an array of h->dtype, h->byteorder, h->fortran_order,
 * h->ndim and h->shape; other fields are ignored.  '|' on a multi-byte
 * dtype means native, as in bmp_array.
 * @return the header's length in bytes (a multiple of 64), BMP_EINVAL
 *         (unknown dtype, rank out of range, byteorder not '<', '>' or
 *         '|'), BMP_EUNSUPPORTED (float16), or -ENOSPC when `cap` is too
 *         small. */
long bmp__npy_format_header(const bmp_npy_header *h, char *buf, size_t cap);

#endif
