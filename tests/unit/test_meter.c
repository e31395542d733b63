/*
 * test_meter.c -- a worker's per-item measurements (src/platform/meter.c):
 * when the peak's mark is kept from one item to the next, when it is reset,
 * and what start and peak each item then reports.  The end-of-item getrusage()
 * is made up here, so that each decision is checked exactly; the executor
 * tests check the same against real memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meter.h"

#include <stdlib.h>
#include <string.h>

#define KIB 1024

/* A marker no real getrusage() gives this test: the start of an item
 * that carries it came from the last item's end, not from the kernel. */
#define MARK_SECONDS 1000000

/* What one item reported. */
typedef struct reading {
    int carried; /* its start was the last item's end */
    int64_t start_rss, peak_rss;
} reading;

/* Runs one item through the meter; its end reports a peak `grown_kib`
 * above its start (UNKNOWN: no peak). */
#define UNKNOWN (-1000000)
static reading one_item(bmp__meter *m, long grown_kib)
{
    reading r;
    struct rusage usage[2];
    bmp__meter_start(m, 0, &usage[0]);
    r.carried = usage[0].ru_utime.tv_sec == MARK_SECONDS;
    usage[1] = usage[0];
    usage[1].ru_utime.tv_sec = MARK_SECONDS;
    usage[1].ru_maxrss = grown_kib == UNKNOWN ? -1
                                              : usage[0].ru_maxrss + grown_kib;
    bmp__meter_finish(m, usage, &r.peak_rss, &r.start_rss);
    return r;
}

/* Each test gets a meter that has run one fresh item (the first always
 * is) which stayed at its start. */
static int open_meter(void **state, int budgeted)
{
    bmp__meter *m = malloc(sizeof *m);
    if (!m)
        return -1;
    bmp__meter_open(m, budgeted);
    reading r = one_item(m, 0);
    if (r.carried || r.peak_rss != r.start_rss) {
        free(m);
        return -1;
    }
    *state = m;
    return 0;
}

static int unbudgeted(void **state)
{
    return open_meter(state, 0);
}

static int budgeted(void **state)
{
    return open_meter(state, 1);
}

static int close_meter(void **state)
{
    bmp__meter_close(*state);
    free(*state);
    return 0;
}

static void meter_keeps_the_mark_after_a_quiet_item(void **state)
{
    bmp__meter *m = *state;
    /* The last item stayed at its start: the next starts from its end,
     * and its start is the mark. */
    reading first = one_item(m, 100);
    assert_true(first.carried);
    assert_int_equal(first.peak_rss - first.start_rss, 100 * KIB);
    /* Within the slack (256 KiB) the mark is kept again: the start is the
     * last peak. */
    reading second = one_item(m, 100);
    assert_true(second.carried);
    assert_int_equal(second.start_rss, first.peak_rss);
}

static void meter_resets_after_an_item_that_raised_the_peak(void **state)
{
    bmp__meter *m = *state;
    reading raised = one_item(m, 4096); /* +4 MiB */
    assert_true(raised.carried);
    assert_int_equal(raised.peak_rss - raised.start_rss, 4096 * KIB);
    /* The next item starts from a reset: its own start, not the mark. */
    assert_false(one_item(m, 0).carried);
}

static void meter_resets_every_64_items(void **state)
{
    bmp__meter *m = *state; /* item 0 has run */
    for (int i = 1; i < 64; i++)
        assert_true(one_item(m, 0).carried);
    assert_false(one_item(m, 0).carried); /* item 64 */
}

static void meter_with_a_budget_resets_every_item(void **state)
{
    bmp__meter *m = *state;
    for (int i = 0; i < 3; i++)
        assert_false(one_item(m, 0).carried);
}

static void meter_unknown_peak_is_never_kept(void **state)
{
    bmp__meter *m = *state;
    assert_int_equal(one_item(m, UNKNOWN).peak_rss, -1);
    assert_false(one_item(m, 0).carried);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            meter_keeps_the_mark_after_a_quiet_item, unbudgeted, close_meter),
        cmocka_unit_test_setup_teardown(
            meter_resets_after_an_item_that_raised_the_peak, unbudgeted,
            close_meter),
        cmocka_unit_test_setup_teardown(meter_resets_every_64_items,
                                        unbudgeted, close_meter),
        cmocka_unit_test_setup_teardown(meter_with_a_budget_resets_every_item,
                                        budgeted, close_meter),
        cmocka_unit_test_setup_teardown(meter_unknown_peak_is_never_kept,
                                        unbudgeted, close_meter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
