/*
 * test_mpi_parts.c -- parts of the MPI library that need no MPI run:
 * the rank and host added to a helper's pout line (origin.c) and the
 * reading of a cgroup's CPU list and the binding verdict (binding.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bigmultipipe.h>
#include <jansson.h>

#include <errno.h>
#include <stdlib.h>

#include "binding.h"
#include "origin.h"

/* The line with its origin, parsed; the test fails when there is none. */
static json_t *origin_of(const char *line, int rank, const char *host)
{
    int why = 0;
    char *out = bmp__mpi_with_origin(line, rank, host, &why);
    assert_non_null(out);
    json_t *entry = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_is_object(entry));
    return entry;
}

static void origin_in_stats_wherever_they_are(void **state)
{
    (void)state;
    /* stats last, stats first, stats empty, no stats at all: each gets
     * rank and host, and the rest of the entry is kept as it was. */
    const char *lines[] = {
        "{\"in_name\":\"a\",\"status\":\"ok\",\"stats\":{\"worker\":3}}",
        "{\"stats\":{\"worker\":3},\"in_name\":\"a\",\"status\":\"ok\"}",
        "{\"in_name\":\"a\",\"status\":\"ok\",\"stats\":{}}",
        "{\"in_name\":\"a\",\"status\":\"ok\"}",
        "{\"in_name\":\"a}}\",\"status\":\"ok\",\"meta\":{\"x\":{\"y\":1}}}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        json_t *entry = origin_of(lines[i], 2, "node \"7\"");
        json_t *stats = json_object_get(entry, "stats");
        assert_int_equal(json_integer_value(json_object_get(stats, "rank")),
                         2);
        assert_string_equal(json_string_value(json_object_get(stats, "host")),
                            "node \"7\"");
        json_t *before = json_loads(lines[i], 0, NULL);
        json_object_del(entry, "stats");
        json_object_del(before, "stats");
        assert_true(json_equal(entry, before));
        json_decref(before);
        json_decref(entry);
    }
}

static void origin_keeps_the_worker_stats(void **state)
{
    (void)state;
    json_t *entry = origin_of(
        "{\"in_name\":\"a\",\"stats\":{\"worker\":3,\"rank\":9}}", 1, "h");
    json_t *stats = json_object_get(entry, "stats");
    assert_int_equal(json_integer_value(json_object_get(stats, "worker")), 3);
    assert_int_equal(json_integer_value(json_object_get(stats, "rank")), 1);
    json_decref(entry);
}

static void origin_refuses_what_is_no_entry(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "[1,2]", "{\"stats\":5}", "{\"in_name\":", "}}", "{\"stats\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int why = 0;
        assert_null(bmp__mpi_with_origin(bad[i], 1, "h", &why));
        assert_int_equal(why, BMP_EPROTO);
    }
    int why = 0;
    assert_null(bmp__mpi_with_origin(NULL, 1, "h", &why));
    assert_int_equal(why, BMP_EPROTO);
}

static void cpu_lists(void **state)
{
    (void)state;
    assert_int_equal(bmp__mpi_cpulist_count("0-3,8,10-11\n"), 7);
    assert_int_equal(bmp__mpi_cpulist_count("5"), 1);
    assert_int_equal(bmp__mpi_cpulist_count("0-63"), 64);
    assert_int_equal(bmp__mpi_cpulist_count("0-31,64-95\n"), 64);
    assert_int_equal(bmp__mpi_cpulist_count(" 2-3 \n"), 2);
    const char *bad[] = {"",    "\n",   "a",  "3-",   "-3",
                         "3-1", "1,,2", "1,", "0-3x", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(bmp__mpi_cpulist_count(bad[i]), -1);
    assert_int_equal(bmp__mpi_cpulist_count(NULL), -1);
}

static void binding_verdicts(void **state)
{
    (void)state;
    /* srun -c 32 on a node of 64: the cgroup's set, all of it. */
    assert_int_equal(bmp__mpi_binding_limit(32, 64, 32), 0);
    /* bound to one CPU of the cgroup's 32: said, against the cgroup */
    assert_int_equal(bmp__mpi_binding_limit(1, 64, 32), 32);
    /* no cgroup set to read: against the node */
    assert_int_equal(bmp__mpi_binding_limit(1, 64, -1), 64);
    /* the cgroup is the whole node */
    assert_int_equal(bmp__mpi_binding_limit(8, 64, 64), 64);
    /* the whole node */
    assert_int_equal(bmp__mpi_binding_limit(64, 64, -1), 0);
    assert_int_equal(bmp__mpi_binding_limit(0, 64, -1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origin_in_stats_wherever_they_are),
        cmocka_unit_test(origin_keeps_the_worker_stats),
        cmocka_unit_test(origin_refuses_what_is_no_entry),
        cmocka_unit_test(cpu_lists),
        cmocka_unit_test(binding_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
