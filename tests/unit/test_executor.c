/*
 * test_executor.c -- where items run: the process pool's isolation of
 * crashes, exits and time-outs, retries, worker replacement, descriptor
 * and process hygiene, and user executors (Python's pluggable PoolClass),
 * including one that runs items on threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "channel.h"
#include "sysinfo.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_ITEMS 8

#define BMP_HAS_SANITIZER (TU_UNDER_ASAN || TU_UNDER_TSAN)

typedef struct fixture {
    char *dir;
    json_t *names;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->names = tu_numbered_files(f->dir, "in_%d.dat", N_ITEMS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    json_decref(f->names);
    free(f);
    return 0;
}

static int value_of(void *data)
{
    bmp_buffer *b = data;
    char text[16] = {0};
    memcpy(text, b->bytes, b->size < 15 ? b->size : 15);
    return atoi(text);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* No child of this process is left, running or zombie. */
static void assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static bmp_pout *run(bmp_pipe *pipe, const json_t *names, json_t *kw)
{
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err) != 0)
        fail_msg("bmp_pipeline: %s", err.text);
    return pout;
}

/* ---- faults, each injected in items 2 and 5 --------------------------- */

static int is_victim(void *data)
{
    int v = value_of(data);
    return v == 2 || v == 5;
}

static int segfault_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)arg;
    if (is_victim(*data))
        raise(SIGSEGV);
    return BMP_CONTINUE;
}

static int abort_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)arg;
    if (is_victim(*data))
        abort();
    return BMP_CONTINUE;
}

static int exit_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)arg;
    if (is_victim(*data))
        _exit(7);
    return BMP_CONTINUE;
}

static int hang_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)arg;
    if (is_victim(*data))
        pause();
    return BMP_CONTINUE;
}

static int error_step(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    if (is_victim(*data))
        return bmp_item_fail(item, 0, "bad value %d", value_of(*data));
    return BMP_CONTINUE;
}

typedef struct fault {
    const char *name;
    bmp_step_fn fn;
    bmp_status status;
    const char *message;
} fault;

static const fault faults[] = {
    {"segfault", segfault_step, BMP_ITEM_CRASHED, "SIGSEGV"},
    {"abort", abort_step, BMP_ITEM_CRASHED, "SIGABRT"},
    {"exit", exit_step, BMP_ITEM_CRASHED, "exited with code 7"},
    {"hang", hang_step, BMP_ITEM_TIMED_OUT, "timed out after 0.5 s"},
    {"error", error_step, BMP_ITEM_FAILED, "bad value"},
};

static void executor_fault_matrix(void **state)
{
    fixture *f = *state;
    int fds_before = open_fds();
    for (size_t k = 0; k < sizeof faults / sizeof *faults; k++) {
        for (int workers = 1; workers <= 3; workers += 2) {
            bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
            bmp_pipe_add_pre(pipe, faults[k].fn, NULL, faults[k].name);
            json_t *kw = json_pack("{s:s, s:i, s:f, s:b}", "outdir", f->dir,
                                   "num_processes", workers, "timeout", 0.5,
                                   "overwrite", 1);
            bmp_pout *pout = run(pipe, f->names, kw);
            for (size_t i = 0; i < N_ITEMS; i++) {
                if (i == 2 || i == 5) {
                    assert_int_equal(bmp_pout_status(pout, i),
                                     faults[k].status);
                    assert_null(bmp_pout_outname(pout, i));
                    const char *msg = bmp_pout_error(pout, i);
                    assert_non_null(msg);
                    if (!strstr(msg, faults[k].message))
                        fail_msg("%s: \"%s\" lacks \"%s\"", faults[k].name,
                                 msg, faults[k].message);
                } else {
                    assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
                    char *text = tu_read_file(bmp_pout_outname(pout, i), NULL);
                    assert_non_null(text);
                    assert_int_equal(atoi(text), (int)i);
                    free(text);
                }
            }
            /* No partial output under a final name for a failed item. */
            char *never = tu_join(f->dir, "in_2_bmp.dat");
            assert_false(tu_exists(never));
            free(never);
            bmp_pout_free(pout);
            json_decref(kw);
            bmp_pipe_free(pipe);
            assert_no_children();
            assert_int_equal(open_fds(), fds_before);
        }
    }
}

/* ---- short items, queued several to a worker --------------------------- */

#define N_SHORT 300
#define SHORT_VICTIM 200

static int crash_short_victim(bmp_item *item, void **data, void *arg)
{
    (void)item;
    if (value_of(*data) != SHORT_VICTIM)
        return BMP_CONTINUE;
    if (strcmp(arg, "segfault") == 0)
        raise(SIGSEGV);
    pause(); /* "hang" */
    return BMP_CONTINUE;
}

/* How many items waited behind this one in its worker. */
static int record_ahead(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "ahead",
                          (long long)bmp__channel_tasks_ahead());
}

/* Items shorter than a round trip are queued in the workers; a crash or
 * a time-out still costs exactly its own item, and the items queued
 * behind it run once, uncharged, in a new worker. */
static void executor_queued_items_survive_faults(void **state)
{
    fixture *f = *state;
    char *dir = tu_join(f->dir, "short");
    assert_int_equal(mkdir(dir, 0777), 0);
    json_t *names = tu_numbered_files(dir, "s_%d.dat", N_SHORT);
    int fds_before = open_fds();
    const char *faults_here[] = {"segfault", "hang"};
    for (size_t k = 0; k < 2; k++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_pre(pipe, crash_short_victim, (void *)faults_here[k],
                         NULL);
        bmp_pipe_add_post(pipe, record_ahead, NULL, NULL);
        json_t *kw = json_pack("{s:s, s:i, s:f, s:b}", "outdir", dir,
                               "num_processes", 2, "timeout", 1.0, "overwrite",
                               1);
        bmp_pout *pout = run(pipe, names, kw);
        long long most_ahead = 0;
        for (size_t i = 0; i < N_SHORT; i++) {
            json_t *e = bmp_pout_entry_json(pout, i);
            long long attempts = bmp_kw_int(json_object_get(e, "stats"),
                                            "attempts", -1);
            json_decref(e);
            assert_int_equal(attempts, 1);
            if (i == SHORT_VICTIM) {
                assert_int_equal(bmp_pout_status(pout, i),
                                 k == 0 ? BMP_ITEM_CRASHED
                                        : BMP_ITEM_TIMED_OUT);
                assert_non_null(strstr(bmp_pout_error(pout, i),
                                       k == 0 ? "SIGSEGV" : "timed out"));
                continue;
            }
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
            long long ahead = bmp_kw_int(bmp_pout_meta(pout, i), "ahead", -1);
            assert_true(ahead >= 0);
            if (ahead > most_ahead)
                most_ahead = ahead;
            char *text = tu_read_file(bmp_pout_outname(pout, i), NULL);
            assert_int_equal(atoi(text), (int)i);
            free(text);
        }
        /* The queueing this test is about did happen. */
        assert_true(most_ahead >= 1);
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
        assert_no_children();
        assert_int_equal(open_fds(), fds_before);
    }
    json_decref(names);
    free(dir);
}

/* A crash kills the item, not the caller, even with one worker. */
static void executor_one_worker_still_isolated(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, segfault_step, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->dir, "num_processes", 1);
    bmp_pout *pout = run(pipe, f->names, kw);
    assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_CRASHED);
    assert_int_equal(bmp_pout_status(pout, 3), BMP_ITEM_OK);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
}

/* ---- retries ----------------------------------------------------------- */

/* Crashes on the first attempt at each victim; a marker file remembers
 * the attempt across worker processes. */
static int crash_once(bmp_item *item, void **data, void *arg)
{
    const char *dir = arg;
    if (!is_victim(*data))
        return BMP_CONTINUE;
    char marker[512];
    snprintf(marker, sizeof marker, "%s/tried_%zu", dir, bmp_item_index(item));
    if (access(marker, F_OK) != 0) {
        FILE *m = fopen(marker, "w");
        if (m)
            fclose(m);
        raise(SIGKILL);
    }
    return BMP_CONTINUE;
}

static void executor_retries_recover(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, crash_once, f->dir, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:i}", "outdir", f->dir,
                           "num_processes", 2, "retries", 1);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        json_t *e = bmp_pout_entry_json(pout, i);
        long long attempts = bmp_kw_int(json_object_get(e, "stats"),
                                        "attempts", -1);
        assert_int_equal(attempts, (i == 2 || i == 5) ? 2 : 1);
        json_decref(e);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
}

static void executor_retries_exhausted(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, error_step, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:i}", "outdir", f->dir,
                           "num_processes", 2, "retries", 2);
    bmp_pout *pout = run(pipe, f->names, kw);
    assert_int_equal(bmp_pout_status(pout, 5), BMP_ITEM_FAILED);
    json_t *e = bmp_pout_entry_json(pout, 5);
    assert_int_equal(bmp_kw_int(json_object_get(e, "stats"), "attempts", -1),
                     3);
    json_decref(e);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- worker replacement and measurements ------------------------------- */

static int record_pid(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "pid", getpid());
}

static void executor_worker_max_items(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, record_pid, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:i}", "outdir", f->dir,
                           "num_processes", 1, "worker_max_items", 2);
    bmp_pout *pout = run(pipe, f->names, kw);
    /* One worker at a time, replaced every two items: 4 distinct pids,
     * none of them the caller's. */
    long long pids[N_ITEMS];
    for (size_t i = 0; i < N_ITEMS; i++) {
        pids[i] = bmp_kw_int(bmp_pout_meta(pout, i), "pid", -1);
        assert_true(pids[i] > 0);
        assert_true(pids[i] != getpid());
    }
    for (size_t i = 0; i < N_ITEMS; i += 2) {
        assert_int_equal(pids[i], pids[i + 1]);
        if (i + 2 < N_ITEMS)
            assert_true(pids[i] != pids[i + 2]);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* Allocates `mib` MiB, touches every page and frees them: a peak of that
 * size.  @return 0, or -1 when the allocation fails. */
static int touch_mib(size_t mib)
{
    size_t bytes = mib << 20;
    /* volatile: an optimiser may otherwise drop the whole allocation. */
    volatile char *block = malloc(bytes);
    if (!block)
        return -1;
    for (size_t k = 0; k < bytes; k += 4096)
        block[k] = 1;
    free((void *)block);
    return 0;
}

static int touch_memory(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    size_t bytes = (size_t)(value_of(*data) % 2 ? 8 : 128) << 20;
    /* volatile: an optimiser may otherwise drop the whole allocation. */
    volatile char *block = malloc(bytes);
    if (!block)
        return BMP_ESTEP;
    for (size_t k = 0; k < bytes; k += 4096)
        block[k] = 1;
    long sum = 0;
    for (size_t k = 0; k < bytes; k += 4096)
        sum += block[k];
    free((void *)block);
    return bmp_kw_set_int(bmp_item_meta(item), "pages", sum);
}

static void executor_measures_peak_memory(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, touch_memory, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->dir, "num_processes", 1);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++) {
        json_t *e = bmp_pout_entry_json(pout, i);
        long long peak = bmp_kw_int(json_object_get(e, "stats"), "peak_rss",
                                    -1);
        long long touched = (i % 2 ? 8LL : 128LL) << 20;
        /* At least what the item touched; and, being reset per item, not
         * the peak of the large item before it.  The sanitizers keep
         * freed memory in quarantine or shadow it, so only the lower
         * bound holds there. */
        assert_true(peak >= touched);
#if !BMP_HAS_SANITIZER
        assert_true(peak < touched + (48LL << 20));
#endif
        json_decref(e);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* Without a budget, a worker keeps the peak's mark between items that do
 * not raise it (meter.h): an item that does, long after the last reset,
 * still reports its own peak, and the items after it theirs. */
static int touch_on_item_100(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    if (bmp_item_index(item) == 100 && touch_mib(96) < 0)
        return BMP_ESTEP;
    return BMP_CONTINUE;
}

static void executor_peak_when_the_mark_is_kept(void **state)
{
    fixture *f = *state;
    char *dir = tu_join(f->dir, "kept");
    assert_int_equal(mkdir(dir, 0777), 0);
    const int n = 140;
    json_t *names = tu_numbered_files(dir, "k_%d.dat", n);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, touch_on_item_100, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i}", "outdir", dir, "num_processes", 1);
    bmp_pout *pout = run(pipe, names, kw);
    for (int i = 0; i < n; i++) {
        bmp_item_stats s = {.version = BMP_ITEM_STATS_VERSION};
        assert_int_equal(bmp_pout_stats(pout, (size_t)i, &s), 0);
        /* Start and peak come from the same counter: never inverted. */
        if (!(s.start_rss > 0 && s.peak_rss >= s.start_rss))
            fail_msg("item %d: start %lld, peak %lld", i,
                     (long long)s.start_rss, (long long)s.peak_rss);
        if (i == 100) {
            assert_true(s.peak_rss - s.start_rss > (int64_t)90 << 20);
        } else if (s.peak_rss - s.start_rss > (int64_t)16 << 20) {
            fail_msg("item %d: peak %lld above a start of %lld", i,
                     (long long)s.peak_rss, (long long)s.start_rss);
        }
#if !BMP_HAS_SANITIZER
        /* The large item's memory is given back or reused: the items
         * after it are not charged with its peak. */
        if (i > 100)
            assert_true(s.peak_rss < (int64_t)64 << 20);
#endif
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(names);
    free(dir);
}

/* Output written by a step in a worker is neither lost nor repeated. */
static int print_step(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    (void)item;
    printf("item-output %d\n", value_of(*data));
    return BMP_CONTINUE;
}

/* A thread that touches much memory and ends may leave its peak in the
 * process's getrusage() (kernels differ), where the per-item reset does
 * not clear it: the items after it must still report their own, small,
 * peaks. */
static void *touch_64_mib(void *arg)
{
    (void)arg;
    touch_mib(64);
    return NULL;
}

static int big_thread_in_item_0(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    if (bmp_item_index(item) == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, touch_64_mib, NULL) != 0 ||
            pthread_join(t, NULL) != 0)
            return bmp_item_fail(item, 0, "no thread");
    }
    return BMP_CONTINUE;
}

static void executor_peak_after_thread_exit(void **state)
{
    fixture *f = *state;
    char *dir = tu_join(f->dir, "threads");
    assert_int_equal(mkdir(dir, 0777), 0);
    const int n = 70;
    json_t *names = tu_numbered_files(dir, "t_%d.dat", n);
    for (int budgeted = 0; budgeted <= 1; budgeted++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_pre(pipe, big_thread_in_item_0, NULL, NULL);
        json_t *kw = json_pack("{s:s, s:i, s:b}", "outdir", dir,
                               "num_processes", 1, "overwrite", 1);
        if (budgeted)
            json_object_set_new(kw, "process_size",
                                json_integer((json_int_t)1 << 20));
        bmp_pout *pout = run(pipe, names, kw);
        bmp_item_stats s = {.version = BMP_ITEM_STATS_VERSION};
        assert_int_equal(bmp_pout_stats(pout, 0, &s), 0);
        assert_true(s.peak_rss - s.start_rss > (int64_t)48 << 20);
        /* With a budget every item is checked; without, one in 64, so
         * the items from 64 on are right. */
        for (int i = budgeted ? 1 : 64; i < n; i++) {
            assert_int_equal(bmp_pout_stats(pout, (size_t)i, &s), 0);
            if (s.peak_rss - s.start_rss > (int64_t)16 << 20)
                fail_msg("item %d (budget %d): peak %lld above a start of "
                         "%lld",
                         i, budgeted, (long long)s.peak_rss,
                         (long long)s.start_rss);
        }
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    json_decref(names);
    free(dir);
}

static void executor_worker_stdout_flushed_once(void **state)
{
    fixture *f = *state;
    char *log = tu_join(f->dir, "stdout.txt");
    fflush(stdout);
    int saved = dup(1);
    FILE *out = fopen(log, "w");
    dup2(fileno(out), 1);
    printf("before the run\n"); /* buffered: must not be printed twice */
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, print_step, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->dir, "num_processes", 2);
    bmp_pout *pout = run(pipe, f->names, kw);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(out);
    char *text = tu_read_file(log, NULL);
    int lines = 0, befores = 0;
    for (char *p = text; (p = strstr(p, "item-output ")); p++)
        lines++;
    for (char *p = text; (p = strstr(p, "before the run")); p++)
        befores++;
    assert_int_equal(lines, N_ITEMS);
    assert_int_equal(befores, 1);
    free(text);
    free(log);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

static void executor_bad_settings(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    const char *keys[] = {"timeout", "retries", "worker_max_items"};
    for (size_t k = 0; k < 3; k++) {
        json_t *kw = json_pack("{s:s, s:i}", "outdir", f->dir, keys[k], -1);
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout,
                                      &err),
                         BMP_EINVAL);
        assert_non_null(strstr(err.text, "negative"));
        assert_null(pout);
        json_decref(kw);
    }
    bmp_pipe_free(pipe);
}

/* ---- an item's processes live and die with it -------------------------- */

#define VICTIM 3

/* Waits until killed. */
static void linger(void)
{
    for (;;)
        pause();
}

/* A program that does nothing until it is killed, as a step would start
 * one (exec closes the worker's socket; a plain fork would hold it, and
 * the caller would not see the worker's death until the child's).  It
 * holds the write end of the test's pipe, so the test sees it gone when
 * the pipe's read end reaches end of file. */
static void linger_program(void)
{
    execlp("sleep", "sleep", "1000", (char *)NULL);
    _exit(127);
}

/* Writes "pid\n" to `path` in one write(): a reader that sees the
 * newline has the whole number. */
static void write_pid(const char *path, pid_t pid)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) {
        ssize_t k = write(fd, text, (size_t)n);
        (void)k;
        close(fd);
    }
}

/* The pid in `path`, once written whole; 0 otherwise. */
static pid_t read_pid(const char *path)
{
    char text[32] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    return n > 0 && text[n - 1] == '\n' ? (pid_t)atol(text) : 0;
}

typedef struct family {
    const char *pidfile; /* where the victim's extra process writes its pid */
    int own_group;       /* the extra process gets a group of its own */
    int track;           /* 1 track it, 2 track and untrack it */
    int then;            /* 0 return, 1 hang, 2 crash */
} family;

/* The victim item starts a process that lingers, then returns, hangs or
 * crashes as `then` says. */
static int start_family(bmp_item *item, void **data, void *arg)
{
    (void)data;
    const family *fam = arg;
    if (bmp_item_index(item) != VICTIM)
        return BMP_CONTINUE;
    pid_t c = fork();
    if (c < 0)
        return bmp_item_fail(item, 0, "fork failed");
    if (c == 0) {
        if (fam->own_group)
            setpgid(0, 0);
        linger_program();
    }
    if (fam->own_group)
        setpgid(c, c);
    write_pid(fam->pidfile, c);
    if (fam->track && bmp_item_track_group(item, c) != 0)
        return bmp_item_fail(item, 0, "cannot track the group");
    if (fam->track == 2)
        bmp_item_untrack_group(item, c);
    if (fam->then == 1)
        linger();
    if (fam->then == 2)
        raise(SIGSEGV);
    return BMP_CONTINUE;
}

/* 1 when every holder of the pipe's write end is gone (end of file on
 * the read end) within 20 s. */
static int holders_gone(int rfd)
{
    for (int tries = 0; tries < 200; tries++) {
        struct pollfd p = {.fd = rfd, .events = POLLIN};
        if (poll(&p, 1, 100) == 1) {
            char c;
            return read(rfd, &c, 1) == 0;
        }
    }
    return 0;
}

/* Runs the family test: the extra process must be gone after the run
 * (expect_gone) or still there. */
static void family_case(const fixture *f, family fam, bmp_status expect,
                        int expect_gone)
{
    char *pidfile = tu_join(f->dir, "family.pid");
    unlink(pidfile);
    fam.pidfile = pidfile;
    int p[2];
    assert_int_equal(pipe(p), 0);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, start_family, &fam, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:f, s:b}", "outdir", f->dir,
                           "num_processes", 2, "timeout", 1.0, "overwrite", 1);
    bmp_pout *pout = run(pipe, f->names, kw);
    close(p[1]);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i == VICTIM ? expect : BMP_ITEM_OK);
    pid_t extra = read_pid(pidfile);
    assert_true(extra > 0);
    if (expect_gone) {
        int gone = holders_gone(p[0]);
        if (!gone)
            kill(extra, SIGKILL); /* leave nothing behind, then fail */
        assert_true(gone);
    } else {
        /* Still there: untracked and in a group of its own. */
        assert_int_equal(kill(extra, 0), 0);
        kill(extra, SIGKILL);
        assert_true(holders_gone(p[0]));
    }
    close(p[0]);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
    free(pidfile);
}

/* A process in a group of its own, tracked, dies with its item's
 * time-out. */
static void executor_tracked_group_dies_with_timeout(void **state)
{
    family fam = {.own_group = 1, .track = 1, .then = 1};
    family_case(*state, fam, BMP_ITEM_TIMED_OUT, 1);
}

/* And with its worker's crash. */
static void executor_tracked_group_dies_with_crash(void **state)
{
    family fam = {.own_group = 1, .track = 1, .then = 2};
    family_case(*state, fam, BMP_ITEM_CRASHED, 1);
}

/* A group untracked is left alone. */
static void executor_untracked_group_left_alone(void **state)
{
    family fam = {.own_group = 1, .track = 2, .then = 2};
    family_case(*state, fam, BMP_ITEM_CRASHED, 0);
}

/* A child in the worker's own group dies when the worker crashes ... */
static void executor_child_dies_with_crashed_worker(void **state)
{
    family fam = {.then = 2};
    family_case(*state, fam, BMP_ITEM_CRASHED, 1);
}

/* ... and at the end of the run, when an item left it behind. */
static void executor_child_dies_at_end_of_run(void **state)
{
    family fam = {.then = 0};
    family_case(*state, fam, BMP_ITEM_OK, 1);
}

/* ---- signals from outside ---------------------------------------------- */

/* The victim item writes its worker's pid and waits to be killed. */
static int wait_for_signal(bmp_item *item, void **data, void *arg)
{
    (void)data;
    if (bmp_item_index(item) == VICTIM) {
        write_pid(arg, getpid());
        linger();
    }
    return BMP_CONTINUE;
}

/* A process that sends `sig` to the pid written to `pidfile`, `delay_ms`
 * after it appears.  Forked, not a thread: it allocates nothing in this
 * process while the run forks its workers. */
static pid_t signal_when_written(const char *pidfile, int sig, int delay_ms)
{
    fflush(NULL);
    pid_t h = fork();
    assert_true(h >= 0);
    if (h > 0)
        return h;
    for (int t = 0; t < 3000; t++) {
        pid_t pid = read_pid(pidfile);
        if (pid > 0) {
            usleep((useconds_t)delay_ms * 1000);
            _exit(kill(pid, sig) == 0 ? 0 : 2);
        }
        usleep(10000);
    }
    _exit(1);
}

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs the items with the victim waiting for `sig` from outside; returns
 * the pout and the caller's CPU time over the run's wall time. */
static bmp_pout *run_with_signal(const fixture *f, int sig, double *ratio)
{
    char *pidfile = tu_join(f->dir, "worker.pid");
    unlink(pidfile);
    pid_t helper = signal_when_written(pidfile, sig, 700);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, wait_for_signal, pidfile, NULL);
    /* The time-out only ends a run whose signal was swallowed. */
    json_t *kw = json_pack("{s:s, s:i, s:f, s:b}", "outdir", f->dir,
                           "num_processes", 2, "timeout", 10.0, "overwrite",
                           1);
    double cpu0 = cpu_self(), wall0 = wall_now();
    bmp_pout *pout = run(pipe, f->names, kw);
    *ratio = (cpu_self() - cpu0) / (wall_now() - wall0);
    int status;
    assert_int_equal(waitpid(helper, &status, 0), helper);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (size_t i = 0; i < N_ITEMS; i++)
        if (i != VICTIM)
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
    free(pidfile);
    return pout;
}

/* SIGTERM to one worker ends that worker: its item is crashed, the
 * others run, and the caller waits for it without spinning. */
static void executor_sigterm_to_a_worker(void **state)
{
    double ratio;
    bmp_pout *pout = run_with_signal(*state, SIGTERM, &ratio);
    assert_int_equal(bmp_pout_status(pout, VICTIM), BMP_ITEM_CRASHED);
    assert_string_equal(bmp_pout_error(pout, VICTIM),
                        "worker killed by signal SIGTERM (Terminated)");
    /* The caller slept in poll() most of the run (a spinning caller
     * comes near 1). */
    if (ratio > 0.5)
        fail_msg("the caller used %.0f%% of a CPU", ratio * 100);
    bmp_pout_free(pout);
}

/* A SIGKILL from outside is not blamed on the out-of-memory killer. */
static void executor_outside_sigkill_not_oom(void **state)
{
    int64_t oom_before = bmp__oom_kills("");
    double ratio;
    bmp_pout *pout = run_with_signal(*state, SIGKILL, &ratio);
    assert_int_equal(bmp_pout_status(pout, VICTIM), BMP_ITEM_CRASHED);
    /* Unless the kernel really did kill something for memory meanwhile. */
    if (bmp__oom_kills("") == oom_before)
        assert_string_equal(bmp_pout_error(pout, VICTIM),
                            "worker killed by signal SIGKILL (Killed)");
    bmp_pout_free(pout);
}

/* A worker that closes its socket and goes on is killed 2 s later, and
 * the message says the library did it. */
static int close_socket_and_wait(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    if (bmp_item_index(item) == VICTIM) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        linger();
    }
    return BMP_CONTINUE;
}

static void executor_grace_kill_named(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, close_socket_and_wait, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:b}", "outdir", f->dir,
                           "num_processes", 2, "overwrite", 1);
    bmp_pout *pout = run(pipe, f->names, kw);
    assert_int_equal(bmp_pout_status(pout, VICTIM), BMP_ITEM_CRASHED);
    assert_string_equal(bmp_pout_error(pout, VICTIM),
                        "worker killed by the library after its socket "
                        "closed and 2 s passed (signal SIGKILL)");
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
}

/* ---- every item starts clean -------------------------------------------- */

/* Item 0 changes the worker's directory, umask, signal mask and two
 * dispositions (and runs long enough for every disposition to be checked
 * after it); every item records what it found. */
static int leave_a_mess(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    json_t *meta = bmp_item_meta(item);
    mode_t m = umask(022);
    umask(m);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    struct sigaction term, chld;
    sigaction(SIGTERM, NULL, &term);
    sigaction(SIGCHLD, NULL, &chld);
    json_object_set_new(meta, "umask", json_integer(m));
    json_object_set_new(meta, "term_blocked",
                        json_boolean(sigismember(&now, SIGTERM)));
    json_object_set_new(meta, "term_default",
                        json_boolean(term.sa_handler == SIG_DFL));
    json_object_set_new(meta, "chld_default",
                        json_boolean(chld.sa_handler == SIG_DFL));
    if (bmp_item_index(item) == 0) {
        if (chdir("/") != 0)
            return bmp_item_fail(item, 0, "chdir failed");
        umask(0777);
        sigset_t term_only;
        sigemptyset(&term_only);
        sigaddset(&term_only, SIGTERM);
        sigprocmask(SIG_BLOCK, &term_only, NULL);
        signal(SIGTERM, SIG_IGN);
        signal(SIGCHLD, SIG_IGN);
        /* No pause: these are put back after every item, however short
         * (the others after each millisecond of item time). */
    }
    return BMP_CONTINUE;
}

static void executor_items_start_clean(void **state)
{
    fixture *f = *state;
    /* Relative names: they must still name the files after item 0's
     * chdir. */
    char *here = getcwd(NULL, 0);
    assert_int_equal(chdir(f->dir), 0);
    json_t *names = json_array();
    for (int i = 0; i < N_ITEMS; i++)
        json_array_append_new(names, json_sprintf("in_%d.dat", i));
    mode_t mask = umask(022);
    umask(mask);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, leave_a_mess, NULL, NULL);
    /* One worker: every item runs after item 0, in its process. */
    /* Outputs by absolute name: item 0 writes its own after its chdir. */
    json_t *kw = json_pack("{s:s, s:i, s:b}", "outdir", f->dir,
                           "num_processes", 1, "overwrite", 1);
    bmp_pout *pout = run(pipe, names, kw);
    for (size_t i = 0; i < N_ITEMS; i++) {
        if (bmp_pout_status(pout, i) != BMP_ITEM_OK)
            fail_msg("item %zu: %s", i, bmp_pout_error(pout, i));
        json_t *meta = bmp_pout_meta(pout, i);
        assert_int_equal(bmp_kw_int(meta, "umask", -1), mask);
        assert_false(bmp_kw_bool(meta, "term_blocked", 1));
        assert_true(bmp_kw_bool(meta, "term_default", 0));
        assert_true(bmp_kw_bool(meta, "chld_default", 0));
        struct stat st;
        assert_int_equal(stat(bmp_pout_outname(pout, i), &st), 0);
        if (i > 0)
            assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(names);
    assert_int_equal(chdir(here), 0);
    free(here);
}

/* Item 1 signals its own process group, as `kill 0` in a script does. */
static int kill_own_group(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    if (bmp_item_index(item) == 1)
        kill(0, SIGTERM);
    return BMP_CONTINUE;
}

/* The worker's group is its own: the signal ends that worker's item, not
 * the caller (the test itself) or the other workers' items. */
static void executor_kill_own_group_costs_one_item(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, kill_own_group, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:b}", "outdir", f->dir,
                           "num_processes", 2, "overwrite", 1);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i == 1 ? BMP_ITEM_CRASHED : BMP_ITEM_OK);
    assert_non_null(strstr(bmp_pout_error(pout, 1), "SIGTERM"));
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
}

static volatile sig_atomic_t host_saw_term;

static void host_term_handler(int sig)
{
    (void)sig;
    host_saw_term = 1;
}

/* A host's own SIGTERM handler (a language runtime's, a service's) must
 * not be copied into the workers: there it would swallow the SIGTERM
 * that must end a worker.  With handle_signals false the library leaves
 * the caller's handler as it is, and the workers still start default. */
static void executor_host_handler_not_inherited(void **state)
{
    fixture *f = *state;
    struct sigaction host = {.sa_handler = host_term_handler}, saved;
    sigemptyset(&host.sa_mask);
    sigaction(SIGTERM, &host, &saved);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, leave_a_mess, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:b, s:b}", "outdir", f->dir,
                           "num_processes", 1, "overwrite", 1,
                           "handle_signals", 0);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_true(bmp_kw_bool(bmp_pout_meta(pout, i), "term_default", 0));
    struct sigaction now;
    sigaction(SIGTERM, NULL, &now);
    assert_true(now.sa_handler == host_term_handler); /* the caller's own */
    assert_false(host_saw_term);
    sigaction(SIGTERM, &saved, NULL);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

static void return_from_segv(int sig)
{
    (void)sig;
}

/* Item 0 leaves a SIGSEGV handler that returns; item 2 faults.  With the
 * handler left in place the fault would repeat for ever (until the
 * time-out); restored, the worker dies and item 2 is reported crashed. */
static int segv_handler_then_fault(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    if (bmp_item_index(item) == 0)
        signal(SIGSEGV, return_from_segv);
    if (bmp_item_index(item) == 2) {
        volatile char *page = mmap(NULL, 4096, PROT_READ,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED)
            return bmp_item_fail(item, 0, "no page");
        page[0] = 1;
    }
    return BMP_CONTINUE;
}

static void executor_crash_handler_not_inherited(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, segv_handler_then_fault, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i, s:f, s:b}", "outdir", f->dir,
                           "num_processes", 1, "timeout", 10.0, "overwrite",
                           1);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i == 2 ? BMP_ITEM_CRASHED : BMP_ITEM_OK);
    assert_non_null(strstr(bmp_pout_error(pout, 2), "SIGSEGV"));
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    assert_no_children();
}

/* ---- user executors ---------------------------------------------------- */

static int reverse_run(bmp_run *r, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)err;
    int *calls = arg;
    for (size_t i = bmp_run_count(r); i-- > 0;) {
        bmp_run_item(r, i);
        (*calls)++;
    }
    return 0;
}

static int order_step(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    static int counter;
    return bmp_kw_set_int(bmp_item_meta(item), "order", counter++);
}

static void executor_user_executor_order(void **state)
{
    fixture *f = *state;
    int calls = 0;
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = reverse_run,
                       .arg = &calls};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    assert_int_equal(bmp_pipe_set_executor(pipe, &ex), 0);
    bmp_pipe_add_post(pipe, order_step, NULL, NULL);
    json_t *kw = json_pack("{s:s}", "outdir", f->dir);
    bmp_pout *pout = run(pipe, f->names, kw);
    assert_int_equal(calls, N_ITEMS);
    /* Ran last-first, yet the pout is in input order. */
    long long first = bmp_kw_int(bmp_pout_meta(pout, 0), "order", -1);
    long long last = bmp_kw_int(bmp_pout_meta(pout, N_ITEMS - 1), "order", -1);
    assert_int_equal(first - last, N_ITEMS - 1);
    assert_string_equal(json_string_value(bmp_pout_in_name(pout, 0)),
                        json_string_value(json_array_get(f->names, 0)));
    bmp_pout_free(pout);
    assert_int_equal(bmp_pipe_set_executor(pipe, NULL), 0);
    bmp_executor bad = {.version = BMP_EXECUTOR_VERSION + 1,
                        .run = reverse_run};
    assert_int_equal(bmp_pipe_set_executor(pipe, &bad), BMP_EINVAL);
    bmp_executor none = {.version = 0};
    assert_int_equal(bmp_pipe_set_executor(pipe, &none), BMP_EINVAL);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* A thread pool executor: items of one run on several threads at once. */
typedef struct thread_pool {
    bmp_run *run;
    pthread_mutex_t lock;
    size_t next;
} thread_pool;

static void *thread_worker(void *arg)
{
    thread_pool *tp = arg;
    for (;;) {
        pthread_mutex_lock(&tp->lock);
        size_t i = tp->next++;
        pthread_mutex_unlock(&tp->lock);
        if (i >= bmp_run_count(tp->run))
            return NULL;
        bmp_run_item(tp->run, i);
    }
}

static int threads_run(bmp_run *r, int workers, void *arg, bmp_error *err)
{
    (void)arg;
    (void)err;
    thread_pool tp = {.run = r, .next = 0};
    pthread_mutex_init(&tp.lock, NULL);
    pthread_t threads[4];
    int n = workers < 2 ? 2 : (workers > 4 ? 4 : workers);
    for (int t = 0; t < n; t++)
        pthread_create(&threads[t], NULL, thread_worker, &tp);
    for (int t = 0; t < n; t++)
        pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&tp.lock);
    return 0;
}

static int value_to_meta(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "value", value_of(*data));
}

static void executor_thread_executor(void **state)
{
    fixture *f = *state;
    bmp_executor ex = {.run = threads_run};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_set_executor(pipe, &ex);
    bmp_pipe_add_post(pipe, value_to_meta, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->dir, "num_processes", 4);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, i), "value", -1),
                         (long long)i);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* An executor that skips items leaves them "not_run", never "ok". */
static int skip_odd_run(bmp_run *r, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)arg;
    (void)err;
    for (size_t i = 0; i < bmp_run_count(r); i += 2)
        bmp_run_item(r, i);
    return 0;
}

static void executor_unrun_items_marked(void **state)
{
    fixture *f = *state;
    bmp_executor ex = {.run = skip_odd_run};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_set_executor(pipe, &ex);
    json_t *kw = json_pack("{s:s}", "outdir", f->dir);
    bmp_pout *pout = run(pipe, f->names, kw);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i % 2 ? BMP_ITEM_NOT_RUN : BMP_ITEM_OK);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* Pipelines in several threads at once, each with its own worker pool:
 * no worker may hold another pool's socket (or its caller would wait for
 * it forever), and the interrupt handlers are shared safely. */
typedef struct thread_job {
    const fixture *f;
    int runs_ok;
} thread_job;

static void *pipeline_thread(void *arg)
{
    thread_job *job = arg;
    /* Its own JSON values: jansson's reference counts are not shared
     * safely between threads. */
    json_t *one = json_pack("[s]", json_string_value(
                                       json_array_get(job->f->names, 0)));
    for (int k = 0; k < 5; k++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_post(pipe, value_to_meta, NULL, NULL);
        bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
        json_t *kw = json_pack("{s:i}", "num_processes", 1);
        bmp_pout *pout = NULL;
        if (bmp_pipeline(pipe, one, kw, NULL, NULL, &pout, NULL) == 0 &&
            bmp_pout_status(pout, 0) == BMP_ITEM_NO_OUTPUT)
            job->runs_ok++;
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    json_decref(one);
    return NULL;
}

static void executor_pipelines_in_threads(void **state)
{
    /* AddressSanitizer's allocator (clang 14's) takes no locks around
     * fork(): a worker forked while another thread held one of them
     * blocks on it for ever.  glibc's allocator does; this test runs in
     * the plain build and under ThreadSanitizer. */
    if (TU_UNDER_ASAN)
        skip();
    fixture *f = *state;
    int fds_before = open_fds();
    thread_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (thread_job){f, 0};
        pthread_create(&threads[t], NULL, pipeline_thread, &jobs[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(jobs[t].runs_ok, 5);
    }
    assert_no_children();
    assert_int_equal(open_fds(), fds_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(executor_fault_matrix),
        T(executor_one_worker_still_isolated),
        T(executor_queued_items_survive_faults),
        T(executor_retries_recover),
        T(executor_retries_exhausted),
        T(executor_worker_max_items),
        T(executor_measures_peak_memory),
        T(executor_peak_when_the_mark_is_kept),
        T(executor_peak_after_thread_exit),
        T(executor_worker_stdout_flushed_once),
        T(executor_bad_settings),
        T(executor_tracked_group_dies_with_timeout),
        T(executor_tracked_group_dies_with_crash),
        T(executor_untracked_group_left_alone),
        T(executor_child_dies_with_crashed_worker),
        T(executor_child_dies_at_end_of_run),
        T(executor_sigterm_to_a_worker),
        T(executor_outside_sigkill_not_oom),
        T(executor_grace_kill_named),
        T(executor_items_start_clean),
        T(executor_host_handler_not_inherited),
        T(executor_kill_own_group_costs_one_item),
        T(executor_crash_handler_not_inherited),
        T(executor_user_executor_order),
        T(executor_thread_executor),
        T(executor_unrun_items_marked),
        T(executor_pipelines_in_threads),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
