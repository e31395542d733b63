/*
 * array_internal.h -- how a bmp_array owns its storage.
 *
 * An array's data are either malloc'd (map_base NULL) or part of a memory
 * map of a file (map_base, map_len given to munmap on destruction).
 */
#ifndef BMP_ARRAY_INTERNAL_H
#define BMP_ARRAY_INTERNAL_H

#include "bigmultipipe.h"

typedef struct bmp__array_storage {
    void *map_base; /* non-NULL: data lies inside this mapping */
    size_t map_len;
} bmp__array_storage;

/* A zeroed array header without storage, for readers that fill `data`
 * themselves.  Shape and dtype are checked for overflow; nbytes set.
 * @return the array, or NULL (bad arguments, overflow, ENOMEM). */
bmp_array *bmp__array_alloc_header(bmp_dtype dtype, int ndim,
                                   const size_t *shape);

/* malloc (one byte for 0), advising huge pages for large blocks; free()
 * frees it. */
void *bmp__array_malloc(size_t nbytes);

/* As bmp_array_new(), with the data not zeroed: for callers that write
 * every element. */
bmp_array *bmp__array_new_uninit(bmp_dtype dtype, int ndim,
                                 const size_t *shape);

/* Makes the array's storage a memory map; destruction will munmap it. */
int bmp__array_adopt_map(bmp_array *a, void *map_base, size_t map_len,
                         void *data);

/* 1 when the array's fields agree with each other (dtype known, sizes,
 * data present, a byte order of '<', '>' or '|'); 0 otherwise or NULL. */
int bmp__array_check(const bmp_array *a);

/* 1 when the elements are in native byte order (one-byte types always). */
int bmp__array_is_native(const bmp_array *a);

/* An IEEE half-precision value (its bits, native order) as a double. */
double bmp__half_to_double(uint16_t h);

#endif
