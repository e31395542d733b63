/*
 * test_meter.c -- a worker's per-item measurements (src/meter.c): when the
 * peak's mark is kept from one item to the next, when it is reset, and
 * what start and peak each item then reports.  The end-of-item
 * getrusage() is made up here, so that each decision is checked exactly;
 * the executor tests check the same against real memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meter.h"

#include <string.h>

#define KIB 1024

/* A marker no real getrusage() gives this test: the start of an item
 * that carries it came from the last item's end, not from the kernel. */
#define MARK_SECONDS 1000000

/* Runs one item through the meter; its end reports a peak `grown_kib`
 * above its start (UNKNOWN: no peak).  *carried tells whether its start
 * was the last item's end; *start_rss and *peak_rss what it reports. */
#define UNKNOWN (-1000000)
static void one_item(bmp__meter *m, long grown_kib, int *carried,
                     int64_t *start_rss, int64_t *peak_rss)
{
    struct rusage usage[2];
    bmp__meter_start(m, 0, &usage[0]);
    *carried = usage[0].ru_utime.tv_sec == MARK_SECONDS;
    usage[1] = usage[0];
    usage[1].ru_utime.tv_sec = MARK_SECONDS;
    usage[1].ru_maxrss =
        grown_kib == UNKNOWN ? -1 : usage[0].ru_maxrss + grown_kib;
    bmp__meter_finish(m, usage, peak_rss, start_rss);
}

/* A fresh item (the first, or after a reset) that stays at its start:
 * @return that start, in KiB. */
static long fresh_start_kib(bmp__meter *m)
{
    int carried;
    int64_t start, peak;
    one_item(m, 0, &carried, &start, &peak);
    assert_false(carried);
    assert_int_equal(peak, start);
    return (long)(start / KIB);
}

static void meter_keeps_the_mark_after_a_quiet_item(void **state)
{
    (void)state;
    bmp__meter m;
    bmp__meter_open(&m, 0);
    long base = fresh_start_kib(&m);
    int carried;
    int64_t start, peak;
    /* The last item stayed at its start: the next starts from its end,
     * and its start is the mark. */
    one_item(&m, 100, &carried, &start, &peak);
    assert_true(carried);
    assert_int_equal(start, (int64_t)base * KIB);
    assert_int_equal(peak, (int64_t)(base + 100) * KIB);
    /* Within the slack (256 KiB) the mark is kept again. */
    one_item(&m, 100, &carried, &start, &peak);
    assert_true(carried);
    assert_int_equal(start, (int64_t)(base + 100) * KIB);
    bmp__meter_close(&m);
}

static void meter_resets_after_an_item_that_raised_the_peak(void **state)
{
    (void)state;
    bmp__meter m;
    bmp__meter_open(&m, 0);
    fresh_start_kib(&m);
    int carried;
    int64_t start, peak;
    one_item(&m, 4096, &carried, &start, &peak); /* +4 MiB */
    assert_true(carried);
    assert_int_equal(peak - start, (int64_t)4096 * KIB);
    /* The next item starts from a reset: its own start, not the mark. */
    one_item(&m, 0, &carried, &start, &peak);
    assert_false(carried);
    bmp__meter_close(&m);
}

static void meter_resets_every_64_items(void **state)
{
    (void)state;
    bmp__meter m;
    bmp__meter_open(&m, 0);
    fresh_start_kib(&m); /* item 0 */
    int carried;
    int64_t start, peak;
    for (int i = 1; i < 64; i++) {
        one_item(&m, 0, &carried, &start, &peak);
        assert_true(carried);
    }
    one_item(&m, 0, &carried, &start, &peak); /* item 64 */
    assert_false(carried);
    bmp__meter_close(&m);
}

static void meter_with_a_budget_resets_every_item(void **state)
{
    (void)state;
    bmp__meter m;
    bmp__meter_open(&m, 1);
    fresh_start_kib(&m);
    int carried;
    int64_t start, peak;
    for (int i = 0; i < 3; i++) {
        one_item(&m, 0, &carried, &start, &peak);
        assert_false(carried);
    }
    bmp__meter_close(&m);
}

static void meter_unknown_peak_is_never_kept(void **state)
{
    (void)state;
    bmp__meter m;
    bmp__meter_open(&m, 0);
    fresh_start_kib(&m);
    int carried;
    int64_t start, peak;
    one_item(&m, UNKNOWN, &carried, &start, &peak);
    assert_int_equal(peak, -1);
    one_item(&m, 0, &carried, &start, &peak);
    assert_false(carried);
    bmp__meter_close(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meter_keeps_the_mark_after_a_quiet_item),
        cmocka_unit_test(meter_resets_after_an_item_that_raised_the_peak),
        cmocka_unit_test(meter_resets_every_64_items),
        cmocka_unit_test(meter_with_a_budget_resets_every_item),
        cmocka_unit_test(meter_unknown_peak_is_never_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
