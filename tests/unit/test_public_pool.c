/*
 * test_public_pool.c -- the public pool (bmp_pool_*): an executor of the
 * user's that learns its items in two batches feeds them to a pool,
 * drives it to the end, hears of every item once, and makes the same
 * pout as the process executor; and the pool refuses what it must (an
 * item out of range, twice, already finished, after the end of input).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ITEMS 10

typedef tu_items fixture;

static int setup(void **state)
{
    *state = tu_items_new(N_ITEMS);
    return 0;
}

static int teardown(void **state)
{
    tu_items_free(*state);
    return 0;
}

/* ---- an executor that feeds a public pool ------------------------------ */

typedef struct feeder {
    int reported[N_ITEMS]; /* on_final calls per item */
    int final_status_ok;   /* each item's result was final when told */
    int refusals;          /* refusals as documented */
    size_t running_seen;   /* bmp_pool_running() after the first batch */
    const bmp_run *run;
} feeder;

static void on_final(size_t index, void *arg)
{
    feeder *fd = arg;
    if (index < N_ITEMS)
        fd->reported[index]++;
    if (!bmp_run_item_done(fd->run, index))
        fd->final_status_ok = 0;
}

static int feed_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    feeder *fd = arg;
    fd->run = run;
    size_t n = bmp_run_count(run);
    /* Item 0 finishes here, before the pool: the pool must not take it. */
    bmp_run_item(run, 0);
    bmp_pool *pool = NULL;
    int rc = bmp_pool_new(run, workers, on_final, fd, &pool, err);
    if (rc < 0)
        return rc;
    fd->refusals += bmp_pool_add(pool, 0) == -EALREADY;
    /* The first batch, then one drive while it runs. */
    for (size_t i = 1; i < n / 2; i++)
        if (bmp_pool_add(pool, i) != 0)
            fd->refusals = -100;
    fd->running_seen = bmp_pool_running(pool);
    fd->refusals += bmp_pool_add(pool, 1) == -EALREADY;
    fd->refusals += bmp_pool_add(pool, n) == BMP_EINVAL;
    rc = bmp_pool_drive(pool, 0, err);
    if (rc < 0)
        goto out;
    /* The second batch, and the end of input. */
    for (size_t i = n / 2; i < n; i++)
        if (bmp_pool_add(pool, i) != 0)
            fd->refusals = -100;
    bmp_pool_end_input(pool);
    fd->refusals += bmp_pool_add(pool, n - 1) == BMP_EINVAL;
    while ((rc = bmp_pool_drive(pool, -1, err)) == 0)
        ;
    if (rc == BMP_POOL_DONE) {
        fd->refusals += bmp_pool_running(pool) == 0;
        rc = 0;
    }
out:
    bmp_pool_free(pool);
    return rc;
}

static void public_pool_makes_the_process_executors_pout(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = tu_times_ten_pipe();
    json_t *kw = json_pack("{s:s, s:b, s:s, s:i}", "outdir", f->out,
                           "create_outdir", 1, "executor", "process",
                           "num_processes", 3);
    bmp_pout *reference = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &reference,
                                  NULL),
                     0);
    json_object_set_new(kw, "overwrite", json_true());

    feeder fd = {.final_status_ok = 1};
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = feed_run,
                       .arg = &fd};
    bmp_pipe *fed = tu_times_ten_pipe();
    assert_int_equal(bmp_pipe_set_executor(fed, &ex), 0);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(fed, f->names, kw, NULL, NULL, &pout, &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    /* Added, twice, out of range, after the end, none left running. */
    assert_int_equal(fd.refusals, 5);
    assert_int_equal(fd.running_seen, N_ITEMS / 2 - 1);
    assert_true(fd.final_status_ok);
    /* Item 0 ran outside the pool; every other item was told once. */
    assert_int_equal(fd.reported[0], 0);
    for (size_t i = 1; i < N_ITEMS; i++)
        assert_int_equal(fd.reported[i], 1);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, i), "value", -1),
                         (long long)i * 10);
    }
    char *a = tu_entries_text(reference), *b = tu_entries_text(pout);
    assert_string_equal(a, b);
    free(a);
    free(b);
    bmp_pout_free(pout);
    bmp_pout_free(reference);
    json_decref(kw);
    bmp_pipe_free(fed);
    bmp_pipe_free(pipe);
}

/* The functions take NULL where the header says so, and refuse a pool
 * without a run. */
static void public_pool_null_arguments(void **state)
{
    (void)state;
    bmp_pool_free(NULL);
    bmp_pool_end_input(NULL);
    assert_int_equal(bmp_pool_running(NULL), 0);
    assert_int_equal(bmp_pool_add(NULL, 0), BMP_EINVAL);
    bmp_error err = {0};
    assert_int_equal(bmp_pool_drive(NULL, 0, &err), BMP_EINVAL);
    bmp_pool *pool = (bmp_pool *)&err;
    assert_int_equal(bmp_pool_new(NULL, 1, NULL, NULL, &pool, &err),
                     BMP_EINVAL);
    assert_null(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            public_pool_makes_the_process_executors_pout, setup, teardown),
        cmocka_unit_test(public_pool_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
