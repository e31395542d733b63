/* meta_internal.h -- metadata cleanup applied after the post-process list. */
#ifndef BMP_META_INTERNAL_H
#define BMP_META_INTERNAL_H

#include "bigmultipipe.h"

/* The key under which bmp_cleanup() registers keys for removal. */
#define BMP__CLEANUP_KEY "bmp_cleanup_list"

/* Removes every key registered with bmp_cleanup(), and the registry. */
void bmp__meta_apply_cleanup(json_t *meta);

#endif
