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

/* Makes the array's storage a memory map; destruction will munmap it. */
int bmp__array_adopt_map(bmp_array *a, void *map_base, size_t map_len,
                         void *data);

#endif
