/*
 * result.h -- the record of one item's outcome: status, output name,
 * meta, error and what was measured.  It is all that crosses from a
 * worker (or any other place an item ran) back to the run, so it sits at
 * the bottom: the channel encodes it, the pout and the journal store it,
 * the executors fill it.
 */
#ifndef BMP_RESULT_H
#define BMP_RESULT_H

#include "bigmultipipe.h"

#include <stdint.h>
#include <time.h>

/* What one item's run measured, apart from the user's meta. */
typedef struct bmp__stats {
    double wall_s;     /* elapsed time of the item in its worker */
    double cpu_s;      /* user + system CPU time of the item */
    int64_t peak_rss;  /* peak resident bytes of the worker during the
                          item; -1 when unknown */
    int64_t start_rss; /* resident bytes of the worker when the item
                          started; -1 when unknown */
    int64_t estimate;  /* the scheduler's memory estimate for the item
                          (what it adds to its worker); -1 none */
    /* For the report page (doc/report.md): when the item's last attempt
     * started, in seconds since the Unix epoch (0: unknown); that pool's
     * memory budget in bytes (-1: none or unknown); the worker slot of
     * the pool that ran it, from 0 (-1: unknown; below). */
    double start;
    int64_t budget;
    /* Where the item ran, when not in this machine's run: the rank of an
     * MPI job that ran it and its host (malloc'd, owned with the
     * result).  host NULL: here, and rank is then -1; a pout line has
     * both keys or neither. */
    char *host;
    int rank;
    int worker;
    int over_estimate; /* 1: peak - start_rss passed the estimate */
    int attempts;      /* times the item was started */
    /* The fields are in this order so that none is padded: a run holds
     * one of these per item (a million items, 80 MB). */
} bmp__stats;

/* Every figure unknown. */
static inline void bmp__stats_init(bmp__stats *s)
{
    *s = (bmp__stats){.peak_rss = -1,
                      .start_rss = -1,
                      .estimate = -1,
                      .rank = -1,
                      .worker = -1,
                      .budget = -1};
}

typedef struct bmp__result {
    bmp_status status;
    int code;      /* 0, or the negative error of a failure */
    char *outname; /* malloc'd, or NULL */
    /* The meta: an object (owned), or, as a worker sent it, its compact
     * JSON text (malloc'd), parsed only when someone asks for the object
     * (bmp__result_meta): the caller then neither parses nor prints it
     * again for the pout, and holds the text's bytes instead of jansson's
     * objects.  Both NULL: not filled yet.  Once filled, the object is
     * installed atomically, so that readers of a pout in several threads
     * may ask at once; the text stays until the result is cleared. */
    json_t *meta;
    char *meta_text;
    char *error; /* malloc'd message, or NULL */
    bmp__stats stats;
} bmp__result;

void bmp__result_clear(bmp__result *r);
/* The meta object of `r`, parsed from its text at the first call; a text
 * that is not a JSON object (a worker's memory gone wrong) gives
 * {"bmp_error": ...}.  Borrowed, until `r` is cleared; NULL only when
 * memory runs out, or when `r` has no meta at all. */
json_t *bmp__result_meta(bmp__result *r);
/* The meta object when it has been made, else NULL (the text may hold
 * it): for readers that can use either form. */
static inline json_t *bmp__result_meta_made(const bmp__result *r)
{
    return __atomic_load_n(&r->meta, __ATOMIC_ACQUIRE);
}
/* Sets a failed result with a formatted message. */
void bmp__result_fail(bmp__result *r, bmp_status status, int code,
                      const char *fmt, ...) BMP_PRINTF(4, 5);

/* The outcomes that count as an item's failure: it ran and went wrong.
 * No output and not run are not failures. */
static inline int bmp__status_is_failure(bmp_status s)
{
    return s == BMP_ITEM_FAILED || s == BMP_ITEM_CRASHED ||
           s == BMP_ITEM_TIMED_OUT;
}

/* Whether `r`, arrived from somewhere else (a worker's frame, a result
 * set through bmp_run_set_result), can be a finished item's result: a
 * finished status, an output name exactly when ok, and meta that is
 * either an object or the text of one JSON object on one line (the
 * pout and the journal hold the text as it is).  @return NULL when it
 * can, else why not (static text). */
const char *bmp__result_check(const bmp__result *r);

/* Installs `made` in *slot unless another thread got there first, and
 * returns the object that is there: an object made lazily is then the
 * same for every thread that asks (the loser's copy is dropped). */
json_t *bmp__install_once(json_t **slot, json_t *made);

/* Seconds since the Unix epoch, for times read by people and by other
 * machines (the start of an item, in the pout). */
static inline double bmp__epoch_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds of a monotonic clock. */
static inline double bmp__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
