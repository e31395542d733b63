/*
 * scale_items.c -- workload 3: how the framework's own cost grows with
 * the number of items, when the items do no I/O at all.
 *
 *   scale_items N [-j WORKERS] [--executor process|serial]
 *
 * Each of the N items is a name that is never opened: a file_process
 * override puts {"n": index} into the item's meta and writes nothing.
 * Prints one line of key=value pairs:
 *   items, workers, executor
 *   wall_s, cpu_s        the bmp_pipeline() call: elapsed, and CPU of
 *                        the caller and its (reaped) workers
 *   rss_before_kib       the caller's resident memory just before the
 *                        call, the names already built
 *   peak_kib             the caller's peak resident memory from then
 *                        until after the call, the pout still held
 *   meta_kib             what N such metas cost on their own, measured
 *                        in a child process that builds them as the
 *                        caller holds them: the workers' JSON text (the
 *                        process executor; parsed only when asked for),
 *                        or jansson objects (the serial executor)
 * so that (peak - rss_before - meta) / N is the framework's memory per
 * item.
 */
#include "bench_util.h"

#include <bigmultipipe.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fill_meta(bmp_item *item, char **outname)
{
    *outname = NULL;
    return bmp_kw_set_int(bmp_item_meta(item), "n",
                          (long long)bmp_item_index(item));
}

/* Resets VmHWM to the current resident size (Linux 4.0 and later), so
 * that the peak read later is the peak of what follows. */
static void reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "5", 1) != 1)
        bu_die("cannot reset the peak memory through /proc/self/clear_refs");
    close(fd);
}

/* KiB that `count` metas cost, built in a child as the caller holds
 * them: as text (a worker's message) or as objects. */
static long meta_cost_kib(size_t count, int as_text)
{
    int p[2];
    if (pipe(p) != 0)
        bu_die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        bu_die("fork failed");
    if (pid == 0) {
        close(p[0]);
        void **metas = malloc(count * sizeof *metas);
        long before = bu_status_kib("VmRSS");
        for (size_t i = 0; i < count; i++) {
            char text[64];
            snprintf(text, sizeof text, "{\"n\":%zu}", i);
            metas[i] = as_text ? (void *)strdup(text)
                               : (void *)json_loads(text, 0, NULL);
            if (!metas[i])
                _exit(1);
        }
        /* The pointer array is the pout's, not the metas': leave it out. */
        long kib = bu_status_kib("VmRSS") - before -
                   (long)(count * sizeof *metas / 1024);
        if (write(p[1], &kib, sizeof kib) != sizeof kib)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    long kib = -1;
    if (read(p[0], &kib, sizeof kib) != sizeof kib)
        kib = -1;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    if (kib < 0)
        bu_die("cannot measure the metadata's memory");
    return kib;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bu_die(
            "usage: scale_items N [-j WORKERS] [--executor process|serial]");
    size_t count = (size_t)bu_parse_count(argv[1], "N");
    long long jobs = 0;
    const char *executor = "process";
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-j") == 0)
            jobs = bu_parse_count(argv[i + 1], "-j");
        else if (strcmp(argv[i], "--executor") == 0)
            executor = argv[i + 1];
        else
            bu_die("unknown option %s", argv[i]);
    }

    json_t *in_names = json_array();
    for (size_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "item_%07zu", i);
        if (!in_names || json_array_append_new(in_names, json_string(name)))
            bu_die("out of memory");
    }
    const bmp_ops ops = {.version = BMP_OPS_VERSION,
                         .file_process = fill_meta};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    json_t *kw = json_pack("{s:I, s:s}", "num_processes", (json_int_t)jobs,
                           "executor", executor);
    if (!pipe || !kw)
        bu_die("out of memory");
    int workers = bmp_num_can_process(count, kw, NULL);

    long meta_kib = meta_cost_kib(count, strcmp(executor, "serial") != 0);
    long rss_before = bu_status_kib("VmRSS");
    reset_peak();
    double cpu0 = bu_cpu_self() + bu_cpu_children(), t0 = bu_now();
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(pipe, in_names, kw, NULL, NULL, &pout, &err) < 0)
        bu_die("pipeline failed: %s", err.text);
    double wall = bu_now() - t0;
    double cpu = bu_cpu_self() + bu_cpu_children() - cpu0;
    long peak = bu_status_kib("VmHWM");

    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *n = json_object_get(bmp_pout_meta(pout, i), "n");
        bad += bmp_pout_status(pout, i) != BMP_ITEM_NO_OUTPUT ||
               json_integer_value(n) != (json_int_t)i;
    }
    if (bad)
        bu_die("%zu of %zu items have a wrong result", bad, count);
    printf("items=%zu workers=%d executor=%s wall_s=%.6f cpu_s=%.6f "
           "rss_before_kib=%ld peak_kib=%ld meta_kib=%ld\n",
           count, workers, executor, wall, cpu, rss_before, peak, meta_kib);
    bmp_pout_free(pout);
    bmp_pipe_free(pipe);
    json_decref(kw);
    json_decref(in_names);
    return 0;
}
