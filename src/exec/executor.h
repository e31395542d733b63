/*
 * executor.h -- how items get run.  The pipeline logic (item.c) knows
 * nothing of processes; an executor only decides where bmp__run_item()
 * is called and brings each bmp__result back.  The serial executor calls
 * it in the caller; the process executor in a pool of forked workers.  A
 * thread executor or an MPI executor fits in beside them as one more
 * table.
 */
#ifndef BMP_EXECUTOR_H
#define BMP_EXECUTOR_H

#include "run.h"

typedef struct bmp__executor {
    const char *name;
    /* Runs every item of `run`, filling run->results (all `count` of
     * them, whatever happens to single items) with at most `workers` at a
     * time.  @return 0, or a negative error (err filled) when the run as a
     * whole could not go on. */
    int (*run)(bmp__run *run, int workers, bmp_error *err);
} bmp__executor;

extern const bmp__executor bmp__executor_serial;
extern const bmp__executor bmp__executor_process;

#endif
