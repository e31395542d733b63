/*
 * keywords_internal.h -- the conversions behind the keyword getters, for
 * other JSON values read the same way (FITS header cards).
 */
#ifndef BMP_KEYWORDS_INTERNAL_H
#define BMP_KEYWORDS_INTERNAL_H

#include "bigmultipipe.h"

#include <stddef.h>

/* *out = v as a number / an integer (an integral real counts).
 * @return 1, 0 when v is NULL (not given), BMP_EKWTYPE otherwise. */
int bmp__value_real(const json_t *v, double *out);
int bmp__value_int(const json_t *v, long long *out);

/* Every keyword the library itself reads (doc/keywords.md lists them),
 * NULL-terminated: never "unknown", whoever reads them. */
extern const char *const bmp__library_keywords[];
/* 1 when `key` is one of them. */
int bmp__is_library_keyword(const char *key);

/* Which of a run's keywords are read while it runs.  Every keyword
 * getter (bmp_kw_get_*, the short forms, bmp_kw_has) called by a thread
 * that has a tracker marks the key it reads, whatever object it reads
 * it from.  The marks live in a shared anonymous mapping made before
 * the workers are forked, and the tracker is thread-local, inherited by
 * a child forked from the tracking thread: so reads in the run's worker
 * processes reach the caller.  Reads by threads a step starts itself are
 * not seen. */
typedef struct bmp__kw_tracker {
    char **keys; /* the run's top-level keys, sorted */
    size_t count;
    unsigned char *read; /* count bytes, shared; 1: read */
    size_t map_size;
    struct bmp__kw_tracker *outer; /* the tracker this one hides */
} bmp__kw_tracker;

/* Starts tracking the top-level keys of `kw` in this thread (the
 * previous tracker, a nested run's caller's, comes back at the end).
 * @return 0 or -ENOMEM (nothing tracked, nothing to end). */
int bmp__kw_track_begin(bmp__kw_tracker *t, const json_t *kw);
/* Stops tracking and frees the tracker. */
void bmp__kw_track_end(bmp__kw_tracker *t);
/* Appends to `out` (size bytes, NUL-terminated, cut when full) the keys
 * that are neither the library's nor read, each with the nearest known
 * keyword: "num_proceses (did you mean num_processes?)", separated by
 * ", ".  @return how many there were. */
size_t bmp__kw_unread(const bmp__kw_tracker *t, char *out, size_t size);

#endif
