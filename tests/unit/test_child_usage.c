/*
 * test_child_usage.c -- a step that runs a program: the program's CPU
 * time and peak memory are the item's (bmp_item_add_child_usage), in the
 * process executor's stats and in what the scheduler learns; and the
 * worker's children are seen while they run (bmp__children_rss).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "meter.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)
/* What the child touches: far above a worker's own few MiB. */
#define CHILD_BYTES (96 * MIB)

/* A child that touches CHILD_BYTES and spins a little, waited for with
 * wait4; its figures are reported when the pipe's user pointer says so. */
static int run_child(bmp_item *item, char **outname)
{
    const int *report = bmp_item_user(item);
    *outname = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        volatile char *p = malloc(CHILD_BYTES);
        if (!p)
            _exit(1);
        for (size_t i = 0; i < CHILD_BYTES; i += 4096)
            p[i] = 1;
        /* Some CPU time of its own, kept by the exit status's use. */
        volatile double x = 0;
        for (long i = 0; i < 20000000; i++)
            x += (double)i;
        _exit(x > 0 ? 0 : 2);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return bmp_item_fail(item, BMP_ESTEP, "the child failed");
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    json_object_set_new(bmp_item_meta(item), "child_cpu", json_real(cpu));
    if (*report)
        return bmp_item_add_child_usage(item, cpu,
                                        (int64_t)ru.ru_maxrss * 1024);
    return 0;
}

static bmp_pout *run_pipe(int report, const json_t *kw_extra)
{
    const bmp_ops ops = {.version = BMP_OPS_VERSION,
                         .file_process = run_child};
    bmp_pipe *pipe = bmp_pipe_new(&ops, &report);
    assert_non_null(pipe);
    /* Two small inputs: their size is what estimates start from. */
    char *dir = tu_mkdtemp();
    char *one = tu_join(dir, "one"), *two = tu_join(dir, "two");
    tu_write_file(one, "1234", 4);
    tu_write_file(two, "5678", 4);
    json_t *names = json_pack("[ss]", one, two);
    free(one);
    free(two);
    json_t *kw = json_pack("{sisb}", "num_processes", 1, "handle_signals", 0);
    if (kw_extra)
        json_object_update(kw, (json_t *)kw_extra);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err),
                     0);
    json_decref(names);
    json_decref(kw);
    bmp_pipe_free(pipe);
    tu_rmtree(dir);
    free(dir);
    return pout;
}

static void test_reported_child_counts(void **state)
{
    (void)state;
    bmp_pout *pout = run_pipe(1, NULL);
    for (size_t i = 0; i < 2; i++) {
        bmp_item_stats s = {.version = 1};
        assert_int_equal(bmp_pout_stats(pout, i, &s), 0);
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
        /* The child's pages are the item's peak and growth. */
        assert_true(s.peak_rss >= CHILD_BYTES);
        assert_true(s.peak_rss - s.start_rss >= CHILD_BYTES);
        /* Its CPU time is in the item's. */
        double child_cpu = json_real_value(
            json_object_get(bmp_pout_meta(pout, i), "child_cpu"));
        assert_true(child_cpu > 0);
        assert_true(s.cpu_s >= child_cpu);
    }
    bmp_pout_free(pout);
}

static void test_unreported_child_is_unseen(void **state)
{
    (void)state;
    /* Without the call the worker measures itself only: the reason for
     * the call. */
    bmp_pout *pout = run_pipe(0, NULL);
    bmp_item_stats s = {.version = 1};
    assert_int_equal(bmp_pout_stats(pout, 0, &s), 0);
    assert_true(s.peak_rss >= 0);
    assert_true(s.peak_rss - s.start_rss < CHILD_BYTES);
    bmp_pout_free(pout);
}

static void test_adaptive_learns_from_child(void **state)
{
    (void)state;
    /* An estimate of 1 x the input's 4 bytes, then what the first
     * item's child needed. */
    json_t *kw = json_pack("{sbsf}", "adaptive", 1, "process_expand_factor",
                           1.0);
    bmp_pout *pout = run_pipe(1, kw);
    json_decref(kw);
    bmp_item_stats first = {.version = 1}, second = {.version = 1};
    assert_int_equal(bmp_pout_stats(pout, 0, &first), 0);
    assert_int_equal(bmp_pout_stats(pout, 1, &second), 0);
    assert_true(first.over_estimate);
    assert_true(second.estimate >= CHILD_BYTES);
    bmp_pout_free(pout);
}

static void test_bad_calls(void **state)
{
    (void)state;
    assert_int_equal(bmp_item_add_child_usage(NULL, 1.0, 1), BMP_EINVAL);
}

static void test_children_rss(void **state)
{
    (void)state;
    assert_int_equal(bmp__children_rss(getpid()), 0);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        volatile char *p = malloc(CHILD_BYTES);
        for (size_t i = 0; p && i < CHILD_BYTES; i += 4096)
            p[i] = 1;
        char c = 1;
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    int64_t rss = bmp__children_rss(getpid());
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(rss >= CHILD_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reported_child_counts),
        cmocka_unit_test(test_unreported_child_is_unseen),
        cmocka_unit_test(test_adaptive_learns_from_child),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_children_rss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
