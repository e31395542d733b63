/*
 * executor_serial.c -- runs every item in the calling process, one after
 * another.  For debugging (a debugger or sanitizer sees the steps run in
 * the caller), and the reference that the parallel executors must match.
 * A crash in a step takes the caller down: that is the point of the
 * process executor.
 */
#include "executor.h"
#include "interrupt.h"

#include <string.h>

static int serial_run(bmp__run *run, int workers, bmp_error *err)
{
    (void)workers;
    size_t failed = 0, ran = 0;
    for (size_t i = 0; i < run->count; i++) {
        if (run->skip && run->skip[i])
            continue;
        if (bmp__interrupted())
            return bmp_error_set(err, BMP_EINTERRUPTED, "schedule", NULL,
                                 "interrupted by SIG%s: %zu of %zu items "
                                 "finished",
                                 sigabbrev_np(bmp__interrupted()), i,
                                 run->count);
        bmp__run_item(run, i, &run->results[i], NULL, NULL);
        run->results[i].stats.worker = 0; /* the caller, the one worker */
        bmp__item_final(run, i);
        failed += bmp__status_is_failure(run->results[i].status);
        /* Items resumed from the journal count as done from the start
         * (the pipeline's first report says so): never backwards. */
        bmp__report_progress(run, run->resumed + ++ran, failed, 0, 0, -1);
    }
    return 0;
}

const bmp__executor bmp__executor_serial = {"serial", serial_run};
