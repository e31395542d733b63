/*
 * pool_public.c -- the process executor's pool (pool.h) as the public
 * bmp_pool_* functions, for executors that learn their items while the
 * run goes on (doc/executors.md, "A pool fed over time").  Each function
 * is the internal one with the public spellings: no estimate of the
 * caller's own (the run's rule applies), the done code, the count of
 * items not yet final.
 */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>

struct bmp_pool {
    bmp__pool *pool;
    bmp__run *run;
};

int bmp_pool_new(bmp_run *run, int workers, bmp_pool_final_fn fn, void *arg,
                 bmp_pool **pool, bmp_error *err)
{
    if (pool)
        *pool = NULL;
    if (!run || !pool)
        return bmp_error_set(err, BMP_EINVAL, "schedule", NULL,
                             "bmp_pool_new needs a run and a place for the "
                             "pool");
    bmp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return bmp_error_set(err, -ENOMEM, "schedule", NULL, "out of memory");
    p->run = run;
    int rc = bmp__pool_new(run, workers, 0, fn, arg, &p->pool, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *pool = p;
    return 0;
}

int bmp_pool_add(bmp_pool *pool, size_t index)
{
    if (!pool)
        return BMP_EINVAL;
    bmp__pool_state st;
    bmp__pool_get_state(pool->pool, &st);
    /* An item finished outside the pool (bmp_run_item, a result set) is
     * as final as one the pool ran: it does not run again. */
    if (index < pool->run->count && !st.input_ended &&
        bmp_run_item_done(pool->run, index))
        return -EALREADY;
    return bmp__pool_add(pool->pool, index, -1);
}

void bmp_pool_end_input(bmp_pool *pool)
{
    if (pool)
        bmp__pool_end_input(pool->pool);
}

int bmp_pool_drive(bmp_pool *pool, double wait_s, bmp_error *err)
{
    if (!pool)
        return bmp_error_set(err, BMP_EINVAL, "schedule", NULL,
                             "bmp_pool_drive needs a pool");
    int rc = bmp__pool_drive(pool->pool, wait_s, err);
    return rc == BMP__POOL_DONE ? BMP_POOL_DONE : rc;
}

size_t bmp_pool_running(const bmp_pool *pool)
{
    if (!pool)
        return 0;
    bmp__pool_state st;
    bmp__pool_get_state(pool->pool, &st);
    return st.added - st.finished;
}

void bmp_pool_free(bmp_pool *pool)
{
    if (!pool)
        return;
    bmp__pool_free(pool->pool);
    free(pool);
}
