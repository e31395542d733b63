/*
 * test_scheduler.c -- memory-aware scheduling.
 *
 * Two kinds of cases:
 *  - the policy (scheduler.h) as pure functions: made-up estimates,
 *    budgets and queues, and the decision each gives;
 *  - real runs whose items allocate and touch the memory they announce
 *    (tens to hundreds of MiB).  A sampler thread reads the resident
 *    memory of every child of this process from /proc while the run
 *    goes, and every such case checks that the workers together never
 *    held more than the budget plus MARGIN: the workers' own baseline
 *    (code and libraries of a forked copy of this program) and the
 *    allocator's slack, which no estimate covers.
 *
 * No timing figure is asserted: ordering and overlap are read from
 * timestamps the items record, never from how long a run took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "scheduler.h"
#include "testutil.h"

#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* AddressSanitizer's shadow memory and quarantine make resident memory
 * say nothing about the items, and its reserved address space defeats
 * RLIMIT_AS: those assertions are skipped. */
#define UNDER_ASAN TU_UNDER_ASAN

#define MiB ((int64_t)1 << 20)
/* What the workers may hold above the budget: per worker a few MiB of
 * program and libraries, plus allocator slack. */
#define MARGIN (64 * MiB)

/* ====================================================================== */
/*  The policy, as pure functions                                         */
/* ====================================================================== */

static bmp__sched_config config(int64_t budget, int max_running)
{
    return (bmp__sched_config){.budget = budget,
                               .max_running = max_running,
                               .error_if_zero = 1,
                               .margin = BMP__ADAPTIVE_MARGIN};
}

/* A table of `n` items with fixed estimates (-1: none). */
static void make(bmp__sched *s, const bmp__sched_config *c, size_t n,
                 const int64_t *estimates, const int64_t *inputs)
{
    assert_int_equal(bmp__sched_init(s, c, n), 0);
    for (size_t i = 0; i < n; i++)
        bmp__sched_set_item(s, i, estimates ? estimates[i] : -1,
                            inputs ? inputs[i] : -1);
    bmp__sched_build(s, NULL);
}

/* Asks for the next item and, when one may start, starts it. */
static bmp__sched_verdict next_start(bmp__sched *s, int64_t avail,
                                     size_t *item)
{
    size_t i = SIZE_MAX;
    bmp__sched_verdict v = bmp__sched_next(s, avail, &i);
    if (v == BMP__SCHED_START)
        bmp__sched_start(s, i);
    if (item)
        *item = i;
    return v;
}

static void expect_start(bmp__sched *s, size_t want)
{
    size_t got;
    assert_int_equal(next_start(s, -1, &got), BMP__SCHED_START);
    assert_int_equal(got, want);
}

static void scheduler_policy_fits_budget(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000, 4);
    int64_t est[] = {400, 400, 300, 100, 250};
    make(&s, &c, 5, est, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    /* 300 does not fit beside 800; the smaller 100 passes it. */
    expect_start(&s, 3);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    assert_int_equal(s.charged, 900);
    assert_int_equal(bmp__sched_finish(&s, 0, 400, 0), BMP__SCHED_FINAL);
    /* 500 free: the waiting 300; then 250 would make 1050: wait. */
    expect_start(&s, 2);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    bmp__sched_finish(&s, 3, 100, 0);
    expect_start(&s, 4);
    assert_int_equal(s.charged, 950);
    bmp__sched_finish(&s, 1, 0, 0);
    bmp__sched_finish(&s, 2, 0, 0);
    bmp__sched_finish(&s, 4, 0, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_EMPTY);
    assert_int_equal(s.charged, 0);
    bmp__sched_free(&s);
}

static void scheduler_policy_max_running(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 2);
    make(&s, &c, 4, NULL, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    bmp__sched_finish(&s, 1, -1, 0);
    expect_start(&s, 2);
    bmp__sched_free(&s);
}

/* Without any estimate memory sets no limit, even with a budget: the
 * Python package's behaviour. */
static void scheduler_policy_no_estimate_no_limit(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(10, 3);
    make(&s, &c, 3, NULL, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    expect_start(&s, 2);
    assert_int_equal(bmp__sched_estimate(&s, 0), -1);
    bmp__sched_free(&s);
}

static void scheduler_policy_largest_first(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 1);
    c.order = BMP__ORDER_LARGEST_FIRST;
    int64_t est[] = {10, 500, 50, 300, 50};
    make(&s, &c, 5, est, NULL);
    size_t want[] = {1, 3, 2, 4, 0}; /* ties keep input order */
    for (size_t k = 0; k < 5; k++) {
        expect_start(&s, want[k]);
        bmp__sched_finish(&s, want[k], -1, 0);
    }
    bmp__sched_free(&s);

    /* No estimates: the input sizes order the queue. */
    int64_t in[] = {5, -1, 70, 20};
    make(&s, &c, 4, NULL, in);
    size_t want2[] = {2, 3, 0, 1};
    for (size_t k = 0; k < 4; k++) {
        expect_start(&s, want2[k]);
        bmp__sched_finish(&s, want2[k], -1, 0);
    }
    bmp__sched_free(&s);
}

static void scheduler_policy_too_large_fails(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000, 2);
    int64_t est[] = {200, 1500, 300};
    make(&s, &c, 3, est, NULL);
    expect_start(&s, 0);
    size_t i;
    assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_TOO_LARGE);
    assert_int_equal(i, 1);
    bmp__sched_drop(&s, 1);
    expect_start(&s, 2);
    assert_int_equal(s.queued, 0);
    bmp__sched_free(&s);
}

static void scheduler_policy_too_large_runs_alone(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000, 2);
    c.error_if_zero = 0;
    int64_t est[] = {200, 1500, 300, 100};
    make(&s, &c, 4, est, NULL);
    expect_start(&s, 0);
    /* 1500 waits for the machine to empty; the others pass it. */
    assert_int_equal(bmp__sched_needs_alone(&s, 1), 1);
    expect_start(&s, 2);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT); /* cap 2 */
    bmp__sched_finish(&s, 0, -1, 0);
    expect_start(&s, 3);
    bmp__sched_finish(&s, 2, -1, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    bmp__sched_finish(&s, 3, -1, 0);
    expect_start(&s, 1);
    assert_int_equal(s.alone_running, 1);
    bmp__sched_finish(&s, 1, -1, 0);
    assert_int_equal(s.alone_running, 0);
    bmp__sched_free(&s);

    /* While an item runs alone, nothing starts beside it. */
    int64_t est2[] = {1500, 10};
    make(&s, &c, 2, est2, NULL);
    expect_start(&s, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    bmp__sched_free(&s);
}

static void scheduler_policy_expand_factor(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000, 4);
    c.expand_factor = 3;
    int64_t fixed[] = {-1, 50, -1};
    int64_t in[] = {100, 100, -1};
    make(&s, &c, 3, fixed, in);
    assert_int_equal(bmp__sched_estimate(&s, 0), 300);
    assert_int_equal(bmp__sched_estimate(&s, 1), 50); /* its own figure */
    assert_int_equal(bmp__sched_estimate(&s, 2), -1); /* size unknown */
    bmp__sched_free(&s);
}

static void scheduler_policy_adaptive(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000 * MiB, 4);
    c.adaptive = 1;
    int64_t in[] = {10 * MiB, 20 * MiB, 40 * MiB, 4 * MiB};
    make(&s, &c, 4, NULL, in);
    /* Nothing known: the first item probes, alone. */
    assert_int_equal(bmp__sched_estimate(&s, 0), -1);
    expect_start(&s, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    /* It grew by 10 bytes per byte, plus a fixed MiB. */
    bmp__sched_finish(&s, 0, 101 * MiB, 0);
    double f = bmp__sched_factor(&s);
    assert_true(f > 12.49 && f < 12.51); /* 10 x the margin 1.25 */
    assert_int_equal(bmp__sched_estimate(&s, 1), 250 * MiB);
    expect_start(&s, 1);
    expect_start(&s, 2); /* 500 MiB: 750 in all */
    expect_start(&s, 3); /* 50 MiB */
    /* A larger ratio raises the factor for items not yet started; a
     * smaller one never lowers it. */
    bmp__sched_finish(&s, 3, 1 * MiB + 80 * MiB, 0); /* 20 per byte */
    assert_true(bmp__sched_factor(&s) > 24.9);
    bmp__sched_finish(&s, 1, 1 * MiB + 20 * MiB, 0); /* 1 per byte */
    assert_true(bmp__sched_factor(&s) > 24.9);
    bmp__sched_free(&s);

    /* With a starting factor there is no probe; learning replaces it. */
    c.expand_factor = 2;
    make(&s, &c, 4, NULL, in);
    assert_int_equal(bmp__sched_estimate(&s, 0), 20 * MiB);
    expect_start(&s, 0);
    expect_start(&s, 1);
    bmp__sched_finish(&s, 0, 1 * MiB + 30 * MiB, 0); /* 3 per byte */
    assert_int_equal(bmp__sched_estimate(&s, 2),
                     (int64_t)(3 * 1.25 * 40 * MiB));
    bmp__sched_free(&s);
}

static void scheduler_policy_memory_retry(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000, 2);
    int64_t est[] = {100, 100, 300};
    make(&s, &c, 3, est, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    /* Item 0 fails for memory having reached 120: again, alone, with
     * twice its estimate (more than its peak). */
    assert_int_equal(bmp__sched_finish(&s, 0, 120, 1),
                     BMP__SCHED_RETRY_MEMORY);
    assert_int_equal(bmp__sched_estimate(&s, 0), 200);
    assert_int_equal(bmp__sched_needs_alone(&s, 0), 1);
    /* Item 1 still runs: the retry waits, item 2 passes it. */
    expect_start(&s, 2);
    bmp__sched_finish(&s, 1, 100, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    bmp__sched_finish(&s, 2, 300, 0);
    expect_start(&s, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_EMPTY);
    /* A second memory failure is final. */
    assert_int_equal(bmp__sched_finish(&s, 0, 210, 1),
                     BMP__SCHED_FINAL_MEMORY);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_EMPTY);
    bmp__sched_free(&s);

    /* A measured peak above twice the estimate is the new estimate. */
    make(&s, &c, 3, est, NULL);
    expect_start(&s, 0);
    bmp__sched_finish(&s, 0, 350, 1);
    assert_int_equal(bmp__sched_estimate(&s, 0), 350);
    bmp__sched_free(&s);

    /* No estimate: twice the peak; nothing known at all: alone only. */
    make(&s, &c, 2, NULL, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    bmp__sched_finish(&s, 0, 40, 1);
    bmp__sched_finish(&s, 1, -1, 1);
    assert_int_equal(bmp__sched_estimate(&s, 0), 80);
    assert_int_equal(bmp__sched_estimate(&s, 1), -1);
    assert_int_equal(bmp__sched_needs_alone(&s, 1), 1);
    bmp__sched_free(&s);

    /* A retry above the budget is too large, as any item. */
    int64_t big[] = {700};
    make(&s, &c, 1, big, NULL);
    expect_start(&s, 0);
    bmp__sched_finish(&s, 0, 650, 1);
    size_t i;
    assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_TOO_LARGE);
    bmp__sched_free(&s);
}

static void scheduler_policy_measured_charge(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(1000, 4);
    int64_t est[] = {100, 650};
    make(&s, &c, 2, est, NULL);
    expect_start(&s, 0);
    /* Item 0 holds more than it said: the budget is charged what it
     * holds, and 650 no longer fits. */
    bmp__sched_observe(&s, 0, 400);
    assert_int_equal(s.charged, 400);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_WAIT);
    /* Less than its estimate: still charged the estimate. */
    bmp__sched_observe(&s, 0, 20);
    assert_int_equal(s.charged, 100);
    expect_start(&s, 1);
    bmp__sched_free(&s);
}

static void scheduler_policy_mem_low_stops(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 4);
    c.mem_low = 100;
    make(&s, &c, 4, NULL, NULL);
    /* Low memory, nothing running: one item may start, or the run
     * would wait for other programs forever. */
    size_t i;
    assert_int_equal(next_start(&s, 50, &i), BMP__SCHED_START);
    assert_int_equal(next_start(&s, 50, NULL), BMP__SCHED_WAIT);
    assert_int_equal(next_start(&s, 99, NULL), BMP__SCHED_WAIT);
    assert_int_equal(next_start(&s, 100, NULL), BMP__SCHED_START);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_START); /* unknown */
    bmp__sched_free(&s);
}

static void scheduler_policy_suspend_resume(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 4);
    c.mem_low = 100;
    c.suspend = 1;
    make(&s, &c, 4, NULL, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    expect_start(&s, 2);
    size_t i;
    assert_int_equal(bmp__sched_pressure(&s, 500, &i), BMP__SCHED_NONE);
    /* Low: the youngest running item pauses, one per call, and the
     * oldest always keeps running. */
    assert_int_equal(bmp__sched_pressure(&s, 50, &i), BMP__SCHED_SUSPEND);
    assert_int_equal(i, 2);
    bmp__sched_suspended(&s, 2);
    assert_int_equal(bmp__sched_pressure(&s, 50, &i), BMP__SCHED_SUSPEND);
    assert_int_equal(i, 1);
    bmp__sched_suspended(&s, 1);
    assert_int_equal(bmp__sched_pressure(&s, 50, &i), BMP__SCHED_NONE);
    /* Nothing new starts while an item is paused, whatever the memory. */
    assert_int_equal(next_start(&s, 10000, NULL), BMP__SCHED_WAIT);
    /* Above the threshold but within its quarter: still paused. */
    assert_int_equal(bmp__sched_pressure(&s, 110, &i), BMP__SCHED_NONE);
    /* Memory back: the oldest paused item first. */
    assert_int_equal(bmp__sched_pressure(&s, 130, &i), BMP__SCHED_RESUME);
    assert_int_equal(i, 1);
    bmp__sched_resumed(&s, 1);
    /* Still low, but nothing else runs: resume rather than stall. */
    bmp__sched_finish(&s, 0, -1, 0);
    bmp__sched_finish(&s, 1, -1, 0);
    assert_int_equal(bmp__sched_pressure(&s, 10, &i), BMP__SCHED_RESUME);
    assert_int_equal(i, 2);
    bmp__sched_resumed(&s, 2);
    /* A paused item that ends is simply done. */
    bmp__sched_suspended(&s, 2);
    bmp__sched_finish(&s, 2, -1, 0);
    assert_int_equal(s.running, 0);
    assert_int_equal(s.active, 0);
    bmp__sched_free(&s);

    /* Without suspend, pressure never pauses. */
    c.suspend = 0;
    make(&s, &c, 2, NULL, NULL);
    expect_start(&s, 0);
    expect_start(&s, 1);
    assert_int_equal(bmp__sched_pressure(&s, 1, &i), BMP__SCHED_NONE);
    bmp__sched_free(&s);
}

static void scheduler_policy_requeue_and_skip(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 1);
    assert_int_equal(bmp__sched_init(&s, &c, 3), 0);
    unsigned char skip[] = {1, 0, 0};
    bmp__sched_build(&s, skip);
    assert_int_equal(s.queued, 2);
    expect_start(&s, 1);
    bmp__sched_finish(&s, 1, -1, 0);
    bmp__sched_requeue(&s, 1); /* the retries keyword */
    expect_start(&s, 1);
    bmp__sched_finish(&s, 1, -1, 0);
    expect_start(&s, 2);
    bmp__sched_finish(&s, 2, -1, 0);
    assert_int_equal(next_start(&s, -1, NULL), BMP__SCHED_EMPTY);
    bmp__sched_free(&s);
}

/* Random tables: the run always ends, the budget always holds but for an
 * item running alone, and with nothing running something may start. */
static void scheduler_policy_random_runs_end(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % 40);
        bmp__sched_config c = config(1000, 1 + rand_r(&seed) % 5);
        c.order = rand_r(&seed) % 2 ? BMP__ORDER_LARGEST_FIRST
                                    : BMP__ORDER_INPUT;
        c.error_if_zero = rand_r(&seed) % 2;
        c.adaptive = rand_r(&seed) % 3 == 0;
        c.mem_low = rand_r(&seed) % 2 ? 100 : 0;
        c.suspend = rand_r(&seed) % 2;
        int64_t est[40], in[40];
        for (size_t i = 0; i < n; i++) {
            int r = rand_r(&seed) % 10;
            est[i] = r == 0   ? -1
                     : r == 1 ? 1200 + rand_r(&seed) % 500
                              : rand_r(&seed) % 900;
            in[i] = rand_r(&seed) % 50;
        }
        bmp__sched s;
        make(&s, &c, n, c.adaptive ? NULL : est, in);
        size_t running[40], nrun = 0, finished = 0, steps = 0;
        while (finished < n) {
            assert_true(++steps < 10000);
            int64_t avail = rand_r(&seed) % 4 == 0 ? 50 : 5000;
            size_t i;
            bmp__sched_verdict v = bmp__sched_next(&s, avail, &i);
            if (nrun == 0 && s.queued > 0)
                assert_true(v == BMP__SCHED_START ||
                            v == BMP__SCHED_TOO_LARGE);
            if (v == BMP__SCHED_START) {
                bmp__sched_start(&s, i);
                running[nrun++] = i;
                assert_true(s.charged <= c.budget || s.alone_running);
                continue;
            }
            if (v == BMP__SCHED_TOO_LARGE) {
                bmp__sched_drop(&s, i);
                finished++;
                continue;
            }
            size_t a;
            bmp__sched_action act = bmp__sched_pressure(&s, avail, &a);
            if (act == BMP__SCHED_SUSPEND)
                bmp__sched_suspended(&s, a);
            else if (act == BMP__SCHED_RESUME)
                bmp__sched_resumed(&s, a);
            if (nrun == 0)
                continue;
            size_t k = (size_t)rand_r(&seed) % nrun;
            size_t done = running[k];
            running[k] = running[--nrun];
            int memfail = rand_r(&seed) % 8 == 0;
            bmp__sched_outcome o = bmp__sched_finish(&s, done,
                                                     rand_r(&seed) % 700,
                                                     memfail);
            if (o != BMP__SCHED_RETRY_MEMORY)
                finished++;
        }
        assert_int_equal(s.running, 0);
        assert_int_equal(s.charged, 0);
        bmp__sched_free(&s);
    }
}

/* ====================================================================== */
/*  Real runs                                                             */
/* ====================================================================== */

/* ---- the sampler: children of this process, from /proc ---------------- */

typedef struct sampler {
    pthread_t thread;
    atomic_int stop;
    int64_t max_sum; /* most resident bytes of all children at once */
    int saw_stopped; /* a child in state T */
    long samples;
} sampler;

/* The whole of a small /proc file into buf (NUL-terminated); 0 or -1. */
static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* The sampler runs beside bmp_pipeline(), which forks its workers from
 * the test's main thread: it allocates nothing (no opendir, no stdio),
 * because a fork while this thread held an allocator's lock would leave
 * the worker blocked on it for ever -- AddressSanitizer's allocator, unlike
 * glibc's, does not take its locks around fork(). */
static void *sampler_main(void *arg)
{
    sampler *s = arg;
    pid_t self = getpid();
    long page = sysconf(_SC_PAGESIZE);
    while (!atomic_load(&s->stop)) {
        int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            break;
        int64_t sum = 0;
        char entries[16384];
        long got;
        while ((got = syscall(SYS_getdents64, dir, entries, sizeof entries)) >
               0) {
            for (long at = 0; at < got;) {
                struct linux_dirent64 {
                    uint64_t ino;
                    int64_t off;
                    unsigned short reclen;
                    unsigned char type;
                    char name[];
                } *e = (struct linux_dirent64 *)(entries + at);
                at += e->reclen;
                if (e->name[0] < '0' || e->name[0] > '9')
                    continue;
                char path[300], buf[1024];
                snprintf(path, sizeof path, "/proc/%s/stat", e->name);
                if (read_small(path, buf, sizeof buf) != 0)
                    continue;
                /* "pid (comm) S ppid ...": comm may hold anything, so
                 * parse after its last parenthesis. */
                char *close_paren = strrchr(buf, ')');
                char st;
                long ppid;
                if (!close_paren ||
                    sscanf(close_paren + 1, " %c %ld", &st, &ppid) != 2 ||
                    ppid != self)
                    continue;
                snprintf(path, sizeof path, "/proc/%s/statm", e->name);
                long long size = 0, rss = 0;
                if (read_small(path, buf, sizeof buf) != 0 ||
                    sscanf(buf, "%lld %lld", &size, &rss) != 2)
                    rss = 0;
                sum += (int64_t)rss * page;
                if (st == 'T')
                    s->saw_stopped = 1;
            }
        }
        close(dir);
        if (sum > s->max_sum)
            s->max_sum = sum;
        s->samples++;
        usleep(10000);
    }
    return NULL;
}

static void sampler_start(sampler *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(pthread_create(&s->thread, NULL, sampler_main, s), 0);
}

static void sampler_stop(sampler *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
}

/* The check every real run makes. */
static void assert_within_budget(const sampler *s, int64_t budget)
{
    assert_true(s->samples > 0);
    if (UNDER_ASAN)
        return;
    print_message("workers at most %.1f MiB at once (%ld samples); budget "
                  "%.1f MiB\n",
                  (double)s->max_sum / MiB, s->samples, (double)budget / MiB);
    if (s->max_sum > budget + MARGIN)
        fail_msg("workers held %.1f MiB at once; budget %.1f MiB + margin "
                 "%.1f MiB",
                 (double)s->max_sum / MiB, (double)budget / MiB,
                 (double)MARGIN / MiB);
}

/* ---- items that allocate what their name says ------------------------- */

/* An item file is named  i<NN>_m<MiB>_e<MiB>_h<ms>.dat : it allocates
 * and touches m MiB for h ms; the program's size_estimate says e MiB
 * (e = 0: unknown).  Its bytes on disk are chosen by the test. */
typedef struct spec {
    int mib, est, hold_ms;
    int64_t file_bytes;
} spec;

typedef struct fixture {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static json_t *make_items(const fixture *f, const spec *specs, size_t n)
{
    json_t *names = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "i%02zu_m%04d_e%04d_h%04d.dat", i,
                 specs[i].mib, specs[i].est, specs[i].hold_ms);
        char *path = tu_join(f->dir, name);
        size_t bytes = (size_t)(specs[i].file_bytes > 0 ? specs[i].file_bytes
                                                        : 1);
        char *fill = calloc(bytes, 1);
        assert_non_null(fill);
        tu_write_file(path, fill, bytes);
        free(fill);
        json_array_append_new(names, json_string(path));
        free(path);
    }
    return names;
}

static int parse_name(const char *path, int *mib, int *est, int *hold)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    unsigned idx;
    return sscanf(base, "i%u_m%d_e%d_h%d", &idx, mib, est, hold) == 4 ? 0 : -1;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The pre-process step: allocate, touch every page, hold, free. */
static int hog(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    int mib, est, hold;
    if (parse_name(bmp_item_name(item), &mib, &est, &hold) != 0)
        return bmp_item_fail(item, BMP_EINVAL, "bad item name");
    json_t *meta = bmp_item_meta(item);
    bmp_kw_set_real(meta, "t0", mono_now());
    size_t bytes = (size_t)mib << 20;
    char *p = bytes ? malloc(bytes) : NULL;
    if (bytes && !p)
        return bmp_item_fail(item, -ENOMEM, "cannot allocate %d MiB", mib);
    for (size_t k = 0; k < bytes; k += 4096)
        p[k] = (char)k;
    /* Hold in slices of sleep, not by the clock, so that a pause
     * (SIGSTOP) makes the item last longer. */
    for (int k = 0; k < hold / 5; k++)
        usleep(5000);
    free(p);
    bmp_kw_set_real(meta, "t1", mono_now());
    return BMP_CONTINUE;
}

static int estimate_from_name(const json_t *in_name, const json_t *kw,
                              int64_t *bytes, void *user)
{
    (void)kw;
    (void)user;
    int mib, est, hold;
    if (!json_is_string(in_name) ||
        parse_name(json_string_value(in_name), &mib, &est, &hold) != 0)
        return BMP_EINVAL;
    if (est < 0)
        return -EIO; /* a program's estimate that fails */
    if (est > 0)
        *bytes = (int64_t)est * MiB;
    return 0;
}

typedef struct progress_seen {
    int64_t budget;
    int64_t max_in_use;
    int calls;
} progress_seen;

static void on_progress(const bmp_progress *p, void *arg)
{
    progress_seen *s = arg;
    s->calls++;
    if (p->mem_budget >= 0)
        s->budget = p->mem_budget;
    if (p->mem_in_use > s->max_in_use)
        s->max_in_use = p->mem_in_use;
}

static bmp_pipe *hog_pipe(int with_estimate, progress_seen *seen)
{
    bmp_ops ops = {.version = BMP_OPS_VERSION};
    if (with_estimate)
        ops.size_estimate = estimate_from_name;
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    assert_non_null(pipe);
    bmp_pipe_add_pre(pipe, hog, NULL, "hog");
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, "no_outfile");
    if (seen) {
        memset(seen, 0, sizeof *seen);
        seen->budget = -1;
        bmp_pipe_set_progress(pipe, on_progress, seen);
    }
    return pipe;
}

/* Runs with the sampler going; fails the test on a run error. */
static bmp_pout *sampled_run(bmp_pipe *pipe, json_t *names, json_t *kw,
                             sampler *smp)
{
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    sampler_start(smp);
    int rc = bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err);
    sampler_stop(smp);
    if (rc != 0)
        fail_msg("bmp_pipeline: %s", err.text);
    return pout;
}

static double meta_time(const bmp_pout *pout, size_t i, const char *key)
{
    return bmp_kw_real(bmp_pout_meta(pout, i), key, -1);
}

static int overlap(const bmp_pout *pout, size_t a, size_t b)
{
    return meta_time(pout, a, "t0") < meta_time(pout, b, "t1") &&
           meta_time(pout, b, "t0") < meta_time(pout, a, "t1");
}

static bmp_item_stats stats_of(const bmp_pout *pout, size_t i)
{
    bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION};
    assert_int_equal(bmp_pout_stats(pout, i, &st), 0);
    return st;
}

static void assert_all_ok(const bmp_pout *pout)
{
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        if (bmp_pout_status(pout, i) != BMP_ITEM_NO_OUTPUT)
            fail_msg("item %zu: %s: %s", i,
                     bmp_status_name(bmp_pout_status(pout, i)),
                     bmp_pout_error(pout, i) ? bmp_pout_error(pout, i) : "");
    }
}

/* Mixed sizes, 30 to 400 MiB, four worker slots for two cores: memory,
 * not the cap, is what limits. */
static const spec mixed[] = {
    {300, 300, 250, 0}, {50, 50, 150, 0},   {200, 200, 250, 0},
    {120, 120, 200, 0}, {400, 400, 250, 0}, {80, 80, 150, 0},
    {250, 250, 250, 0}, {30, 30, 100, 0},   {150, 150, 200, 0},
};
#define N_MIXED (sizeof mixed / sizeof *mixed)

static void scheduler_run_mixed_within_budget(void **state)
{
    fixture *f = *state;
    json_t *names = make_items(f, mixed, N_MIXED);
    progress_seen seen;
    bmp_pipe *pipe = hog_pipe(1, &seen);
    int64_t budget = 600 * MiB;
    json_t *kw = json_pack("{s:I, s:i}", "mem_available", (json_int_t)budget,
                           "num_processes", 4);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_all_ok(pout);
    assert_within_budget(&smp, budget);
    for (size_t i = 0; i < N_MIXED; i++) {
        bmp_item_stats st = stats_of(pout, i);
        assert_true(st.estimate == mixed[i].est * MiB);
        assert_int_equal(st.over_estimate, UNDER_ASAN ? st.over_estimate : 0);
        assert_int_equal(st.attempts, 1);
        /* What it touched, less a little: a page or two of the start
         * may be given back to the file cache while it runs. */
        if (!UNDER_ASAN &&
            st.peak_rss - st.start_rss < (mixed[i].mib - 2) * MiB)
            fail_msg("item %zu: peak %lld - start %lld below %d MiB", i,
                     (long long)st.peak_rss, (long long)st.start_rss,
                     mixed[i].mib);
    }
    /* Memory did not forbid all parallelism: 300 and 50 fit together. */
    assert_true(overlap(pout, 0, 1));
    assert_true(seen.budget == budget);
    if (!UNDER_ASAN)
        assert_true(seen.max_in_use > 0 && seen.max_in_use <= budget + MARGIN);
    bmp_run_summary sum = {.version = BMP_RUN_SUMMARY_VERSION};
    assert_int_equal(bmp_pout_summary(pout, &sum), 0);
    assert_int_equal(sum.count, N_MIXED);
    assert_int_equal(sum.by_status[BMP_ITEM_NO_OUTPUT], N_MIXED);
    assert_int_equal(sum.estimated, N_MIXED);
    if (!UNDER_ASAN) {
        assert_int_equal(sum.over_estimate, 0);
        assert_string_equal(sum.warning, "");
    }
    if (!UNDER_ASAN)
        assert_int_equal(sum.peak_rss_index, 4); /* the 400 MiB item */
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

static void scheduler_run_largest_first(void **state)
{
    fixture *f = *state;
    json_t *names = make_items(f, mixed, N_MIXED);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    int64_t budget = 600 * MiB;
    json_t *kw = json_pack("{s:I, s:i, s:s}", "mem_available",
                           (json_int_t)budget, "num_processes", 4, "order",
                           "largest_first");
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_all_ok(pout);
    assert_within_budget(&smp, budget);
    /* The largest (item 4, 400 MiB) started in the first wave, with the
     * next that fits beside it (item 2, 200 MiB); every other item only
     * once one of those ended.  In input order item 4 would have waited
     * for items 0 and 1.  The pout is still in input order. */
    assert_true(overlap(pout, 4, 2));
    for (size_t i = 0; i < N_MIXED; i++) {
        if (i != 4 && i != 2)
            assert_true(meta_time(pout, 4, "t0") < meta_time(pout, i, "t0"));
        const char *name = json_string_value(bmp_pout_in_name(pout, i));
        assert_string_equal(name, json_string_value(json_array_get(names, i)));
    }
    /* The second largest (300) waited for room, not for its turn. */
    assert_true(!overlap(pout, 4, 0));
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* Estimates from the input's size on disk: expand factor 65 for items
 * whose files are 1/64 of what they allocate (the file's own buffer is
 * the 65th part). */
static void scheduler_run_expand_factor(void **state)
{
    fixture *f = *state;
    spec specs[N_MIXED];
    for (size_t i = 0; i < N_MIXED; i++) {
        specs[i] = mixed[i];
        specs[i].est = 0;
        specs[i].file_bytes = (int64_t)specs[i].mib * MiB / 64;
    }
    json_t *names = make_items(f, specs, N_MIXED);
    bmp_pipe *pipe = hog_pipe(0, NULL);
    int64_t budget = 600 * MiB;
    json_t *kw = json_pack("{s:I, s:i, s:f}", "mem_available",
                           (json_int_t)budget, "num_processes", 4,
                           "process_expand_factor", 65.0);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_all_ok(pout);
    assert_within_budget(&smp, budget);
    for (size_t i = 0; i < N_MIXED; i++) {
        bmp_item_stats st = stats_of(pout, i);
        assert_true(st.estimate == specs[i].file_bytes * 65);
        assert_int_equal(st.over_estimate, UNDER_ASAN ? st.over_estimate : 0);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* No estimate at all but adaptive: the first item runs alone and
 * measures; the others are admitted on what it used. */
static void scheduler_run_adaptive(void **state)
{
    fixture *f = *state;
    spec specs[N_MIXED];
    for (size_t i = 0; i < N_MIXED; i++) {
        specs[i] = mixed[i];
        specs[i].est = 0;
        specs[i].file_bytes = (int64_t)specs[i].mib * MiB / 64;
    }
    json_t *names = make_items(f, specs, N_MIXED);
    bmp_pipe *pipe = hog_pipe(0, NULL);
    int64_t budget = 600 * MiB;
    json_t *kw = json_pack("{s:I, s:i, s:b}", "mem_available",
                           (json_int_t)budget, "num_processes", 4, "adaptive",
                           1);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_all_ok(pout);
    assert_within_budget(&smp, budget);
    assert_int_equal(stats_of(pout, 0).estimate, -1); /* the probe */
    for (size_t i = 1; i < N_MIXED; i++) {
        assert_false(overlap(pout, 0, i));
        bmp_item_stats st = stats_of(pout, i);
        /* At least what it used: ~65 bytes per input byte. */
        if (!UNDER_ASAN) {
            assert_true(st.estimate >= specs[i].file_bytes * 64);
            assert_int_equal(st.over_estimate, 0);
        }
    }
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* SPEC.md's uniform process_size: a fixed count, and the run fails when
 * not one item fits. */
static void scheduler_run_uniform_process_size(void **state)
{
    fixture *f = *state;
    spec specs[6];
    for (size_t i = 0; i < 6; i++)
        specs[i] = (spec){150 + 10 * (int)i, 0, 150, 0};
    json_t *names = make_items(f, specs, 6);
    bmp_pipe *pipe = hog_pipe(1, NULL); /* process_size wins over it */
    int64_t budget = 500 * MiB;
    json_t *kw = json_pack("{s:I, s:I, s:i}", "mem_available",
                           (json_int_t)budget, "process_size",
                           (json_int_t)(200 * MiB), "num_processes", 4);
    assert_int_equal(bmp_num_can_process(6, kw, NULL), 2);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_all_ok(pout);
    assert_within_budget(&smp, budget);
    for (size_t i = 0; i < 6; i++)
        assert_true(stats_of(pout, i).estimate == 200 * MiB);
    bmp_pout_free(pout);

    bmp_kw_set_int(kw, "process_size", 700 * MiB);
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err),
                     BMP_ENOMEM_BUDGET);
    assert_non_null(strstr(err.text, "700.0 MiB"));
    assert_non_null(strstr(err.text, "500.0 MiB"));
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* One item's estimate above the whole budget: that item fails, the run
 * goes on; with error_if_zero false it runs alone. */
static void scheduler_run_too_large(void **state)
{
    fixture *f = *state;
    spec specs[] = {{100, 100, 200, 0},
                    {250, 900, 300, 0},
                    {120, 120, 200, 0},
                    {60, 60, 200, 0}};
    json_t *names = make_items(f, specs, 4);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    int64_t budget = 600 * MiB;
    json_t *kw = json_pack("{s:I, s:i}", "mem_available", (json_int_t)budget,
                           "num_processes", 4);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_within_budget(&smp, budget);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i == 1 ? BMP_ITEM_FAILED : BMP_ITEM_NO_OUTPUT);
    const char *msg = bmp_pout_error(pout, 1);
    assert_non_null(strstr(msg, "900.0 MiB"));
    assert_non_null(strstr(msg, "600.0 MiB"));
    assert_int_equal(stats_of(pout, 1).attempts, 0);
    assert_true(stats_of(pout, 1).estimate == 900 * MiB);
    bmp_pout_free(pout);

    bmp_kw_set_bool(kw, "error_if_zero", 0);
    pout = sampled_run(pipe, names, kw, &smp);
    assert_within_budget(&smp, budget);
    assert_all_ok(pout);
    for (size_t i = 0; i < 4; i++)
        if (i != 1)
            assert_false(overlap(pout, 1, i));
    assert_true(overlap(pout, 0, 2)); /* the others still share */
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* enforce: an item above its estimate fails its allocation, is retried
 * alone with twice the estimate, and fails for good the second time. */
static void scheduler_run_enforce_retry(void **state)
{
    fixture *f = *state;
    if (UNDER_ASAN)
        skip();
    spec specs[] = {{150, 100, 100, 0},
                    {500, 100, 100, 0},
                    {50, 100, 200, 0},
                    {80, 100, 200, 0}};
    json_t *names = make_items(f, specs, 4);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    int64_t budget = 1024 * MiB;
    json_t *kw = json_pack("{s:I, s:i, s:b}", "mem_available",
                           (json_int_t)budget, "num_processes", 2, "enforce",
                           1);
    struct rlimit before;
    getrlimit(RLIMIT_AS, &before);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_within_budget(&smp, budget);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_NO_OUTPUT);
    assert_int_equal(stats_of(pout, 0).attempts, 2);
    assert_true(stats_of(pout, 0).estimate == 200 * MiB);
    assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_FAILED);
    assert_int_equal(stats_of(pout, 1).attempts, 2);
    assert_non_null(strstr(bmp_pout_error(pout, 1),
                           "failed twice for memory: cannot allocate 500"));
    assert_non_null(strstr(bmp_pout_error(pout, 1), "200.0 MiB"));
    for (size_t i = 2; i < 4; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
        assert_int_equal(stats_of(pout, i).attempts, 1);
    }
    /* The retries ran alone. */
    for (size_t i = 1; i < 4; i++)
        assert_false(overlap(pout, 0, i));
    /* The caller's own limit is untouched. */
    struct rlimit after;
    getrlimit(RLIMIT_AS, &after);
    assert_true(after.rlim_cur == before.rlim_cur);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* ---- memory pressure from outside, simulated -------------------------- */

static _Atomic int64_t fake_avail;

static int64_t fake_avail_hook(void)
{
    return atomic_load(&fake_avail);
}

static void scheduler_run_mem_low_stops(void **state)
{
    fixture *f = *state;
    spec specs[4];
    for (size_t i = 0; i < 4; i++)
        specs[i] = (spec){40, 40, 200, 0};
    json_t *names = make_items(f, specs, 4);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    json_t *kw = json_pack("{s:I, s:i, s:I}", "mem_available",
                           (json_int_t)(1024 * MiB), "num_processes", 4,
                           "mem_low", (json_int_t)(256 * MiB));
    atomic_store(&fake_avail, 100 * MiB);
    bmp__sched_avail_hook = fake_avail_hook;
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    bmp__sched_avail_hook = NULL;
    assert_within_budget(&smp, 1024 * MiB);
    assert_all_ok(pout);
    /* Below mem_low, one item at a time. */
    for (size_t a = 0; a < 4; a++)
        for (size_t b = a + 1; b < 4; b++)
            assert_false(overlap(pout, a, b));
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

typedef struct pressure_script {
    pthread_t thread;
} pressure_script;

static void *pressure_main(void *arg)
{
    (void)arg;
    usleep(400000);
    atomic_store(&fake_avail, 50 * MiB); /* another program takes memory */
    usleep(700000);
    atomic_store(&fake_avail, 8192 * MiB); /* and gives it back */
    return NULL;
}

static void scheduler_run_suspend(void **state)
{
    fixture *f = *state;
    spec specs[3] = {{40, 40, 1200, 0}, {40, 40, 1200, 0}, {40, 40, 200, 0}};
    json_t *names = make_items(f, specs, 3);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    json_t *kw = json_pack("{s:I, s:i, s:I, s:b}", "mem_available",
                           (json_int_t)(1024 * MiB), "num_processes", 2,
                           "mem_low", (json_int_t)(256 * MiB), "suspend", 1);
    atomic_store(&fake_avail, 8192 * MiB);
    bmp__sched_avail_hook = fake_avail_hook;
    pressure_script ps;
    assert_int_equal(pthread_create(&ps.thread, NULL, pressure_main, NULL), 0);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    pthread_join(ps.thread, NULL);
    bmp__sched_avail_hook = NULL;
    assert_within_budget(&smp, 1024 * MiB);
    assert_all_ok(pout);
    /* The younger of the two (item 1) was paused (state T) from about
     * 0.4 s to 1.1 s: it lasted longer by that much, and nothing new
     * started while it was paused. */
    assert_int_equal(smp.saw_stopped, 1);
    assert_true(overlap(pout, 0, 1));
    double d0 = meta_time(pout, 0, "t1") - meta_time(pout, 0, "t0");
    double d1 = meta_time(pout, 1, "t1") - meta_time(pout, 1, "t0");
    assert_true(d1 > d0 + 0.4);
    assert_true(meta_time(pout, 2, "t0") > meta_time(pout, 0, "t0") + 1.0);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* ---- nested pipelines get the item's share ---------------------------- */

static void nested_progress(const bmp_progress *p, void *arg)
{
    int64_t *budget = arg;
    if (p->mem_budget >= 0)
        *budget = p->mem_budget;
}

static int nested_step(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    json_t *meta = bmp_item_meta(item);
    json_t *kw = json_pack("{s:I, s:i}", "process_size",
                           (json_int_t)(100 * MiB), "num_processes", 8);
    bmp_kw_set_int(meta, "count", bmp_num_can_process(10, kw, NULL));
    /* A nested run: its budget is the share, not the machine's memory. */
    int64_t budget = -1;
    bmp_pipe *inner = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(inner, bmp_no_outfile, NULL, NULL);
    bmp_pipe_set_progress(inner, nested_progress, &budget);
    json_t *names = json_pack("[s]", bmp_item_name(item));
    json_t *ikw = json_pack("{s:I, s:i}", "process_size",
                            (json_int_t)(100 * MiB), "num_processes", 2);
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(inner, names, ikw, NULL, NULL, &pout, NULL);
    bmp_kw_set_int(meta, "inner_rc", rc);
    bmp_kw_set_int(meta, "inner_budget", budget);
    bmp_pout_free(pout);
    bmp_pipe_free(inner);
    json_decref(names);
    json_decref(ikw);
    json_decref(kw);
    return BMP_CONTINUE;
}

static void scheduler_run_nested_share(void **state)
{
    fixture *f = *state;
    spec specs[] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    json_t *names = make_items(f, specs, 2);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, nested_step, NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
    json_t *kw = json_pack("{s:I, s:I, s:i}", "mem_available",
                           (json_int_t)(1024 * MiB), "process_size",
                           (json_int_t)(300 * MiB), "num_processes", 2);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, NULL),
                     0);
    for (size_t i = 0; i < 2; i++) {
        json_t *meta = bmp_pout_meta(pout, i);
        assert_int_equal(bmp_kw_int(meta, "count", -1), 3); /* 300 / 100 */
        assert_int_equal(bmp_kw_int(meta, "inner_rc", -1), 0);
        assert_true(bmp_kw_int(meta, "inner_budget", -1) == 300 * MiB);
    }
    bmp_pout_free(pout);
    /* Outside a worker the caller's machine counts, as before. */
    json_t *k2 = json_pack("{s:I, s:I, s:i}", "mem_available",
                           (json_int_t)(1024 * MiB), "process_size",
                           (json_int_t)(100 * MiB), "num_processes", 8);
    assert_int_equal(bmp_num_can_process(100, k2, NULL) > 3, 1);
    json_decref(k2);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* ---- measured, not guessed -------------------------------------------- */

static void scheduler_run_over_estimate(void **state)
{
    fixture *f = *state;
    spec specs[] = {{120, 20, 150, 0}, {30, 30, 150, 0}, {10, 0, 50, 0}};
    json_t *names = make_items(f, specs, 3);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    int64_t budget = 1024 * MiB;
    json_t *kw = json_pack("{s:I, s:i}", "mem_available", (json_int_t)budget,
                           "num_processes", 2);
    sampler smp;
    bmp_pout *pout = sampled_run(pipe, names, kw, &smp);
    assert_within_budget(&smp, budget);
    assert_all_ok(pout);
    bmp_item_stats st = stats_of(pout, 0);
    assert_true(st.estimate == 20 * MiB);
    if (!UNDER_ASAN) {
        assert_int_equal(st.over_estimate, 1);
        assert_int_equal(stats_of(pout, 1).over_estimate, 0);
    }
    assert_int_equal(stats_of(pout, 2).estimate, -1); /* unknown */
    bmp_run_summary sum = {0}; /* version 0 reads as 1 */
    assert_int_equal(bmp_pout_summary(pout, &sum), 0);
    assert_int_equal(sum.estimated, 2);
    if (!UNDER_ASAN) {
        assert_int_equal(sum.over_estimate, 1);
        assert_non_null(strstr(sum.warning, "1 of 3 items"));
        assert_non_null(strstr(sum.warning, "entry 0"));
    }
    /* The figures survive the file. */
    char *path = tu_join(f->dir, "pout.jsonl");
    assert_int_equal(bmp_pout_write(pout, path, NULL), 0);
    bmp_pout *back = NULL;
    assert_int_equal(bmp_pout_read(path, &back, NULL), 0);
    for (size_t i = 0; i < 3; i++) {
        bmp_item_stats a = stats_of(pout, i), b = stats_of(back, i);
        assert_true(a.estimate == b.estimate);
        assert_int_equal(a.over_estimate, b.over_estimate);
        assert_true(a.start_rss == b.start_rss);
    }
    bmp_pout_free(back);
    /* A file from before estimates: unknown, not over. */
    const char *old = "{\"in_name\": \"a\", \"outname\": null, \"meta\": {}, "
                      "\"status\": \"ok\", \"error\": null, \"stats\": "
                      "{\"wall_s\": 1.0, \"cpu_s\": 0.5, \"peak_rss\": "
                      "1000, \"attempts\": 1}}\n";
    tu_write_file(path, old, strlen(old));
    assert_int_equal(bmp_pout_read(path, &back, NULL), 0);
    bmp_item_stats b = stats_of(back, 0);
    assert_int_equal(b.estimate, -1);
    assert_int_equal(b.start_rss, -1);
    assert_int_equal(b.over_estimate, 0);
    assert_int_equal(b.peak_rss, 1000);
    bmp_item_stats bad = {.version = 99};
    assert_int_equal(bmp_pout_stats(back, 0, &bad), BMP_EINVAL);
    assert_int_equal(bmp_pout_stats(back, 1, &b), BMP_EINVAL);
    bmp_pout_free(back);
    free(path);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

static void scheduler_size_estimate_fails_item(void **state)
{
    fixture *f = *state;
    spec specs[] = {{10, 10, 0, 0}, {10, -1, 0, 0}, {10, 10, 0, 0}};
    json_t *names = make_items(f, specs, 3);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    json_t *kw = json_pack("{s:I}", "mem_available", (json_int_t)(512 * MiB));
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, NULL),
                     0);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_NO_OUTPUT);
    assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_FAILED);
    assert_non_null(strstr(bmp_pout_error(pout, 1), "size_estimate failed"));
    assert_int_equal(stats_of(pout, 1).attempts, 0);
    assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_NO_OUTPUT);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

static void scheduler_bad_keywords(void **state)
{
    fixture *f = *state;
    spec specs[] = {{1, 1, 0, 0}};
    json_t *names = make_items(f, specs, 1);
    bmp_pipe *pipe = hog_pipe(1, NULL);
    static const struct {
        const char *json;
        int code;
        const char *text;
    } cases[] = {
        {"{\"order\": \"biggest\"}", BMP_EINVAL, "unknown order"},
        {"{\"order\": 3}", BMP_EKWTYPE, "keyword order"},
        {"{\"adaptive\": \"yes\"}", BMP_EKWTYPE, "keyword adaptive"},
        {"{\"suspend\": []}", BMP_EKWTYPE, "keyword suspend"},
        {"{\"enforce\": \"no\"}", BMP_EKWTYPE, "keyword enforce"},
        {"{\"process_expand_factor\": -2}", BMP_EINVAL,
         "process_expand_factor must be positive"},
        {"{\"process_expand_factor\": \"x\"}", BMP_EKWTYPE,
         "keyword process_expand_factor"},
        {"{\"mem_low\": -5}", BMP_EINVAL, "mem_low must not be negative"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        json_t *kw = json_loads(cases[k].json, 0, NULL);
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout,
                                      &err),
                         cases[k].code);
        assert_null(pout);
        assert_non_null(strstr(err.text, cases[k].text));
        /* Types are checked with every library keyword, values by the
         * scheduler. */
        assert_string_equal(err.stage, cases[k].code == BMP_EKWTYPE
                                           ? "keywords"
                                           : "schedule");
        json_decref(kw);
    }
    json_decref(names);
    bmp_pipe_free(pipe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scheduler_policy_fits_budget),
        cmocka_unit_test(scheduler_policy_max_running),
        cmocka_unit_test(scheduler_policy_no_estimate_no_limit),
        cmocka_unit_test(scheduler_policy_largest_first),
        cmocka_unit_test(scheduler_policy_too_large_fails),
        cmocka_unit_test(scheduler_policy_too_large_runs_alone),
        cmocka_unit_test(scheduler_policy_expand_factor),
        cmocka_unit_test(scheduler_policy_adaptive),
        cmocka_unit_test(scheduler_policy_memory_retry),
        cmocka_unit_test(scheduler_policy_measured_charge),
        cmocka_unit_test(scheduler_policy_mem_low_stops),
        cmocka_unit_test(scheduler_policy_suspend_resume),
        cmocka_unit_test(scheduler_policy_requeue_and_skip),
        cmocka_unit_test(scheduler_policy_random_runs_end),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(scheduler_run_mixed_within_budget),
        T(scheduler_run_largest_first),
        T(scheduler_run_expand_factor),
        T(scheduler_run_adaptive),
        T(scheduler_run_uniform_process_size),
        T(scheduler_run_too_large),
        T(scheduler_run_enforce_retry),
        T(scheduler_run_mem_low_stops),
        T(scheduler_run_suspend),
        T(scheduler_run_nested_share),
        T(scheduler_run_over_estimate),
        T(scheduler_size_estimate_fails_item),
        T(scheduler_bad_keywords),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
