/*
 * mixed_memory.c -- items of mixed sizes under a memory budget: the
 * memory-aware scheduler against fixed worker counts, on the same items
 * in the same run (doc/performance.md, "Mixed sizes under a memory
 * budget").
 *
 * Each item allocates and touches its size (8 MiB to 800 MiB by default,
 * spread evenly on a log scale, so over two orders of magnitude), then
 * computes for a time proportional to its size while it holds the
 * memory.  Every method gets the same budget (mem_available) and the
 * same number of jobs:
 *
 *   memory-aware, largest first   size_estimate gives each item's size
 *                                 (plus 1 MiB of overhead); order
 *                                 largest_first
 *   memory-aware, input order     the same in input order
 *   fixed count (SPEC.md)         process_size = the largest estimate:
 *                                 the count is floor(budget / largest)
 *   fixed count = cores           num_processes only, memory ignored (the
 *                                 Python package without process_size)
 *
 * A thread samples the resident memory of all workers (the children of
 * this process, found through /proc) every 10 ms.  The report gives each
 * method's makespan, its peak summed memory against the budget, and the
 * ratio of the makespan to the lower bound
 *     max(total work / jobs, memory-time area / budget)
 * where an item's work is its shortest measured time over all methods
 * (in the one-worker method it runs alone) and its area that time times
 * its size.
 *
 * usage: mixed_memory [--budget MIB] [--items N] [--min MIB] [--max MIB]
 *                     [--ms-per-mib MS] [--jobs N] [--reps N] [--seed S]
 *                     [--dir DIR] [--quick] [--timeline]
 * Prints a Markdown report on standard output, progress on standard error
 * (with --timeline, also each item's start, end and memory per run).
 */
#include "bench_util.h"

#include <bigmultipipe.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MiB ((int64_t)1 << 20)
/* What an item adds beyond its data: the step's stack, stdio and meta
 * buffers, allocator headers (measured: a few hundred KiB).  An estimate
 * covers it, as a user's would. */
#define OVERHEAD_MIB 1

/* ---- the work of one item --------------------------------------------- */

/* Iterations of spin() per millisecond, measured once in the caller
 * before any worker is forked, so that every worker inherits it. */
static double iters_per_ms;

/* CPU work that stays in registers, with a write to the item's memory
 * now and then, so that the memory is in use (and stays resident)
 * without the cores competing for memory bandwidth. */
static uint64_t spin(uint64_t n, unsigned char *mem, size_t bytes)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (mem && (i & 0xffff) == 0)
            mem[x % bytes] += 1;
    }
    return x;
}

static void calibrate(void)
{
    uint64_t n = 1 << 22;
    for (;;) {
        double t0 = bu_now();
        volatile uint64_t sink = spin(n, NULL, 0);
        (void)sink;
        double dt = bu_now() - t0;
        if (dt > 0.2) {
            iters_per_ms = (double)n / (dt * 1000);
            return;
        }
        n *= 2;
    }
}

/* An item is a file named "mNNN_SSSSS.dat": SSSSS MiB. */
static int item_mib(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    unsigned idx;
    int mib;
    return sscanf(base, "m%u_%d", &idx, &mib) == 2 ? mib : -1;
}

typedef struct settings {
    int budget_mib, items, min_mib, max_mib, jobs, reps;
    double ms_per_mib;
    unsigned seed;
    const char *dir;
    int timeline; /* print each item's times and memory per run */
} settings;

static int work(bmp_item *item, void **data, void *arg)
{
    (void)data;
    const settings *s = arg;
    int mib = item_mib(bmp_item_name(item));
    if (mib < 0)
        return bmp_item_fail(item, BMP_EINVAL, "bad item name");
    size_t bytes = (size_t)mib << 20;
    unsigned char *mem = malloc(bytes);
    if (!mem)
        return bmp_item_fail(item, -ENOMEM, "cannot allocate %d MiB", mib);
    for (size_t k = 0; k < bytes; k += 4096)
        mem[k] = (unsigned char)k;
    double touched = bu_now();
    uint64_t n = (uint64_t)(mib * s->ms_per_mib * iters_per_ms);
    uint64_t x = spin(n, mem, bytes);
    free(mem);
    json_t *meta = bmp_item_meta(item);
    bmp_kw_set_real(meta, "touched", touched);
    bmp_kw_set_real(meta, "end", bu_now());
    return bmp_kw_set_int(meta, "x", (long long)(x & 0xffff));
}

static int size_from_name(const json_t *in_name, const json_t *kw,
                          int64_t *bytes, void *user)
{
    (void)kw;
    (void)user;
    int mib = json_is_string(in_name) ? item_mib(json_string_value(in_name))
                                      : -1;
    if (mib < 0)
        return BMP_EINVAL;
    *bytes = (int64_t)(mib + OVERHEAD_MIB) * MiB;
    return 0;
}

/* ---- the sampler ------------------------------------------------------ */

typedef struct sampler {
    pthread_t thread;
    atomic_int stop;
    int64_t baseline;   /* resident bytes of an idle worker */
    int64_t peak;       /* most resident bytes of all workers at once */
    int64_t peak_items; /* most of that above the workers' baselines */
    double over_s;      /* seconds the items held more than the budget */
    int64_t budget;
    long samples;
} sampler;

/* Resident bytes of all children of `self`; *count of them. */
static int64_t children_rss(pid_t self, long page, int *count)
{
    *count = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *close = strrchr(buf, ')');
        char state;
        long ppid;
        if (!close || sscanf(close + 1, " %c %ld", &state, &ppid) != 2 ||
            ppid != self)
            continue;
        snprintf(path, sizeof path, "/proc/%s/statm", e->d_name);
        f = fopen(path, "re");
        long long size, rss;
        if (f && fscanf(f, "%lld %lld", &size, &rss) == 2) {
            sum += (int64_t)rss * page;
            ++*count;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return sum;
}

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    pid_t self = getpid();
    long page = sysconf(_SC_PAGESIZE);
    double last = bu_now();
    while (!atomic_load(&s->stop)) {
        int n;
        int64_t sum = children_rss(self, page, &n);
        int64_t items = sum - n * s->baseline;
        double now = bu_now();
        if (sum > s->peak)
            s->peak = sum;
        if (items > s->peak_items)
            s->peak_items = items;
        if (items > s->budget)
            s->over_s += now - last;
        last = now;
        s->samples++;
        usleep(10000);
    }
    return NULL;
}

/* Busy and total CPU time of the machine, in clock ticks. */
static void cpu_ticks(double *busy, double *total)
{
    unsigned long long v[10] = {0};
    FILE *f = fopen("/proc/stat", "re");
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                     &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
        *busy = *total = 0;
    } else {
        *total = 0;
        for (int i = 0; i < 8; i++)
            *total += (double)v[i];
        *busy = *total - (double)v[3] - (double)v[4];
    }
    if (f)
        fclose(f);
}

/* The machine is shared: wait (up to `patience` seconds) for a second in
 * which other programs use under 10% of the CPUs, so that a method is
 * not timed while something else runs.  @return the share they used. */
static double wait_quiet(double patience)
{
    double start = bu_now(), share = 1;
    long hz = sysconf(_SC_CLK_TCK);
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    while (bu_now() - start < patience) {
        double b0, t0, b1, t1;
        cpu_ticks(&b0, &t0);
        sleep(1);
        cpu_ticks(&b1, &t1);
        share = (b1 - b0) / ((double)hz * ncpu);
        if (share < 0.10)
            return share;
    }
    fprintf(stderr,
            "  (the machine stayed busy: %.0f%% of its CPUs used "
            "by others)\n",
            100 * share);
    return share;
}

/* ---- the methods -------------------------------------------------------- */

enum { M_LARGEST, M_INPUT, M_SPEC, M_CORES, N_METHODS };

static const char *const method_names[N_METHODS] = {
    "memory-aware, largest first",
    "memory-aware, input order",
    "fixed count (SPEC.md: process_size = largest)",
    "fixed count = cores, memory ignored",
};

typedef struct result {
    double makespan;    /* median over repetitions */
    int64_t peak;       /* largest over repetitions */
    int64_t peak_items; /* largest over repetitions */
    double over_s;      /* largest over repetitions */
    double others;      /* largest share of the CPUs other programs used
                           while the method ran */
    int discarded;      /* runs done again because others took the CPUs */
    int workers;        /* the count the method starts */
    int ok;             /* every item succeeded in every repetition */
} result;

static json_t *method_kw(int m, const settings *s)
{
    json_t *kw = json_pack("{s:I, s:i}", "mem_available",
                           (json_int_t)s->budget_mib * MiB, "num_processes",
                           s->jobs);
    if (m == M_LARGEST)
        bmp_kw_set_str(kw, "order", "largest_first");
    if (m == M_SPEC)
        bmp_kw_set_int(kw, "process_size",
                       (long long)(s->max_mib + OVERHEAD_MIB) * MiB);
    return kw;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run of method m; fills item times (shortest so far) and returns
 * the makespan. */
static double run_method(int m, const settings *s, const json_t *names,
                         double *item_time, sampler *smp, int *ok,
                         double *others)
{
    bmp_ops ops = {.version = BMP_OPS_VERSION};
    if (m == M_LARGEST || m == M_INPUT)
        ops.size_estimate = size_from_name;
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    if (!pipe)
        bu_die("out of memory");
    bmp_pipe_add_pre(pipe, work, (void *)s, "work");
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, "no_outfile");
    json_t *kw = method_kw(m, s);
    int64_t baseline = smp->baseline;
    memset(smp, 0, sizeof *smp);
    smp->baseline = baseline;
    smp->budget = (int64_t)s->budget_mib * MiB;
    if (pthread_create(&smp->thread, NULL, sampler_main, smp) != 0)
        bu_die("cannot start the sampler");
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    double busy0, total0, busy1, total1;
    double mine0 = bu_cpu_self() + bu_cpu_children();
    cpu_ticks(&busy0, &total0);
    double t0 = bu_now();
    int rc = bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err);
    double makespan = bu_now() - t0;
    cpu_ticks(&busy1, &total1);
    /* What the machine did beyond this process and its workers. */
    double hz = (double)sysconf(_SC_CLK_TCK);
    double mine = bu_cpu_self() + bu_cpu_children() - mine0;
    *others = ((busy1 - busy0) / hz - mine) /
              (makespan * (double)sysconf(_SC_NPROCESSORS_ONLN));
    if (*others < 0)
        *others = 0;
    atomic_store(&smp->stop, 1);
    pthread_join(smp->thread, NULL);
    if (rc != 0)
        bu_die("%s: %s", method_names[m], err.text);
    if (s->timeline) {
        for (size_t i = 0; i < bmp_pout_count(pout); i++) {
            json_t *meta = bmp_pout_meta(pout, i);
            bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION};
            bmp_pout_stats(pout, i, &st);
            double end = bmp_kw_real(meta, "end", 0) - t0;
            int mib = item_mib(json_string_value(bmp_pout_in_name(pout, i)));
            fprintf(stderr,
                    "    item %2zu %4d MiB  start %6.2f  touched "
                    "%6.2f  end %6.2f  wall %5.2f cpu %5.2f  "
                    "worker at start %.2f MiB, added beyond its "
                    "data %.2f MiB\n",
                    i, mib, end - st.wall_s,
                    bmp_kw_real(meta, "touched", 0) - t0, end, st.wall_s,
                    st.cpu_s, (double)st.start_rss / MiB,
                    (double)(st.peak_rss - st.start_rss) / MiB - mib);
        }
    }
    bmp_run_summary sum = {.version = BMP_RUN_SUMMARY_VERSION};
    bmp_pout_summary(pout, &sum);
    *ok = sum.by_status[BMP_ITEM_NO_OUTPUT] == sum.count;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION};
        bmp_pout_stats(pout, i, &st);
        if (bmp_pout_status(pout, i) == BMP_ITEM_NO_OUTPUT &&
            (item_time[i] <= 0 || st.wall_s < item_time[i]))
            item_time[i] = st.wall_s;
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    return makespan;
}

/* The resident memory of a worker of its own when an item starts (its
 * program, libraries and the library's state): a warm-up run of one
 * empty item, whose start_rss the library measures.  It is no item's
 * memory, so the budget check leaves it out. */
static int64_t worker_baseline(const settings *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/m999_00000.dat", s->dir);
    FILE *f = fopen(path, "we");
    if (!f || fputc('x', f) == EOF || fclose(f) != 0)
        bu_die("cannot write %s", path);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, work, (void *)s, "work");
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, "no_outfile");
    json_t *names = json_pack("[s]", path);
    json_t *kw = json_pack("{s:i}", "num_processes", 1);
    bmp_pout *pout = NULL;
    if (!pipe || !names || !kw ||
        bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, NULL) != 0)
        bu_die("the warm-up run failed");
    bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION};
    bmp_pout_stats(pout, 0, &st);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
    unlink(path);
    return st.start_rss > 0 ? st.start_rss : 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: mixed_memory [--budget MIB] [--items N] [--min MIB] "
            "[--max MIB]\n"
            "                    [--ms-per-mib MS] [--jobs N] [--reps N] "
            "[--seed S]\n"
            "                    [--dir DIR] [--quick] [--timeline]\n");
    exit(2);
}

static void describe_machine(const settings *s)
{
    struct utsname u;
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    printf("Machine: %d physical cores, %.1f GiB of memory, Linux %s; load "
           "average %.2f at the start.  Items compute %.1f ms per MiB; "
           "%d jobs; %d repetition%s (median makespan, largest peak).\n\n",
           bmp_physical_cores(), (double)pages * page / (1 << 30), u.release,
           load[0], s->ms_per_mib, s->jobs, s->reps, s->reps == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
    settings s = {.budget_mib = 1024,
                  .items = 40,
                  .min_mib = 8,
                  .max_mib = 800,
                  .ms_per_mib = 5,
                  .jobs = 0,
                  .reps = 1,
                  .seed = 7,
                  .dir = NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            s.items = 12, s.max_mib = 400, s.budget_mib = 512;
            s.ms_per_mib = 2;
            continue;
        }
        if (strcmp(a, "--timeline") == 0) {
            s.timeline = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--budget") == 0)
            s.budget_mib = (int)bu_parse_count(v, a);
        else if (strcmp(a, "--items") == 0)
            s.items = (int)bu_parse_count(v, a);
        else if (strcmp(a, "--min") == 0)
            s.min_mib = (int)bu_parse_count(v, a);
        else if (strcmp(a, "--max") == 0)
            s.max_mib = (int)bu_parse_count(v, a);
        else if (strcmp(a, "--ms-per-mib") == 0)
            s.ms_per_mib = atof(v);
        else if (strcmp(a, "--jobs") == 0)
            s.jobs = (int)bu_parse_count(v, a);
        else if (strcmp(a, "--reps") == 0)
            s.reps = (int)bu_parse_count(v, a);
        else if (strcmp(a, "--seed") == 0)
            s.seed = (unsigned)bu_parse_count(v, a);
        else if (strcmp(a, "--dir") == 0)
            s.dir = v;
        else
            usage();
    }
    if (s.items < 2 || s.min_mib < 1 || s.max_mib <= s.min_mib ||
        s.max_mib > s.budget_mib || s.reps < 1 || !(s.ms_per_mib > 0))
        bu_die("need --items >= 2, 1 <= --min < --max <= --budget, --reps "
               ">= 1 and --ms-per-mib > 0");
    if (s.jobs <= 0)
        s.jobs = bmp_physical_cores();

    /* Sizes evenly spread on a log scale from min to max, in a shuffled
     * order, so that input order is neither best nor worst. */
    int *mib = calloc((size_t)s.items, sizeof *mib);
    if (!mib)
        bu_die("out of memory");
    for (int i = 0; i < s.items; i++)
        mib[i] = (int)lround(s.min_mib * pow((double)s.max_mib / s.min_mib,
                                             (double)i / (s.items - 1)));
    unsigned r = s.seed;
    for (int i = s.items - 1; i > 0; i--) {
        int j = (int)(rand_r(&r) % (unsigned)(i + 1));
        int t = mib[i];
        mib[i] = mib[j];
        mib[j] = t;
    }
    char *tmp = NULL;
    if (!s.dir) {
        const char *base = getenv("TMPDIR");
        if (asprintf(&tmp, "%s/bmp-mixed-XXXXXX", base ? base : "/tmp") < 0 ||
            !mkdtemp(tmp))
            bu_die("cannot make a scratch directory");
        s.dir = tmp;
    }
    json_t *names = json_array();
    int64_t total = 0;
    for (int i = 0; i < s.items; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/m%03d_%05d.dat", s.dir, i, mib[i]);
        FILE *f = fopen(path, "we");
        if (!f || fputc('x', f) == EOF || fclose(f) != 0)
            bu_die("cannot write %s", path);
        json_array_append_new(names, json_string(path));
        total += mib[i];
    }
    fprintf(stderr,
            "mixed_memory: %d items, %d to %d MiB, %lld MiB in all "
            "(%.1f x the %d MiB budget)\n",
            s.items, s.min_mib, s.max_mib, (long long)total,
            (double)total / s.budget_mib, s.budget_mib);
    calibrate();
    int64_t baseline = worker_baseline(&s);
    describe_machine(&s);

    double *item_time = calloc((size_t)s.items, sizeof *item_time);
    double *spans = calloc((size_t)(s.reps * N_METHODS), sizeof *spans);
    if (!item_time || !spans)
        bu_die("out of memory");
    result res[N_METHODS] = {{0}};
    for (int m = 0; m < N_METHODS; m++) {
        json_t *kw = method_kw(m, &s);
        res[m].workers = bmp_num_can_process((size_t)s.items, kw, NULL);
        json_decref(kw);
        res[m].ok = 1;
    }
    /* Each repetition runs every method once, in turn, so that a slow
     * moment of the machine touches all of them. */
    for (int rep = 0; rep < s.reps; rep++) {
        for (int m = 0; m < N_METHODS; m++) {
            /* A run during which other programs took more than 10% of
             * the CPUs measures them, not the method: it is done again
             * (three tries; the least disturbed one counts). */
            double others = 1, t = 0;
            for (int attempt = 0; attempt < 3 && others > 0.10; attempt++) {
                sampler try_smp = {.baseline = baseline};
                int try_ok = 0;
                double try_others = 0;
                wait_quiet(300);
                double try_t = run_method(m, &s, names, item_time, &try_smp,
                                          &try_ok, &try_others);
                fprintf(stderr,
                        "  %-46s %7.2f s, peak %6.0f MiB (items "
                        "%6.0f MiB), others used %2.0f%% of the "
                        "CPUs%s\n",
                        method_names[m], try_t, (double)try_smp.peak / MiB,
                        (double)try_smp.peak_items / MiB, 100 * try_others,
                        try_others > 0.10 ? ": done again" : "");
                res[m].discarded += try_others > 0.10;
                /* Memory counts from every run, the discarded ones too. */
                res[m].ok &= try_ok;
                if (try_smp.peak_items > res[m].peak_items)
                    res[m].peak_items = try_smp.peak_items;
                if (try_smp.peak > res[m].peak)
                    res[m].peak = try_smp.peak;
                if (try_smp.over_s > res[m].over_s)
                    res[m].over_s = try_smp.over_s;
                if (try_others < others) {
                    others = try_others;
                    t = try_t;
                }
            }
            spans[m * s.reps + rep] = t;
            if (others > res[m].others)
                res[m].others = others;
        }
    }
    for (int m = 0; m < N_METHODS; m++) {
        double *v = spans + m * s.reps;
        qsort(v, (size_t)s.reps, sizeof *v, compare_double);
        res[m].makespan = s.reps % 2 ? v[s.reps / 2]
                                     : (v[s.reps / 2 - 1] + v[s.reps / 2]) / 2;
    }

    /* The lower bound, from each item's shortest measured time. */
    double work = 0, area = 0;
    for (int i = 0; i < s.items; i++) {
        work += item_time[i];
        area += item_time[i] * mib[i];
    }
    double cpu_bound = work / s.jobs, mem_bound = area / s.budget_mib;
    double bound = cpu_bound > mem_bound ? cpu_bound : mem_bound;

    int64_t budget = (int64_t)s.budget_mib * MiB;
    printf("%d items of %d to %d MiB (%lld MiB in all, %.1f x the budget); "
           "budget %d MiB.  Lower bound %.2f s = max(work %.2f s / %d jobs "
           "= %.2f s, memory-time area %.0f MiB s / %d MiB = %.2f s).  A "
           "worker holds %.1f MiB of its own when an item starts (program, "
           "libraries, the library's state), which is no item's memory: "
           "*items* is the workers' resident memory less that, per "
           "worker.\n\n",
           s.items, s.min_mib, s.max_mib, (long long)total,
           (double)total / s.budget_mib, s.budget_mib, bound, work, s.jobs,
           cpu_bound, area, s.budget_mib, mem_bound, (double)baseline / MiB);
    int discarded = 0;
    printf("| method | workers | makespan | / bound | vs largest first | "
           "peak memory (items) | over budget | others' CPU |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < N_METHODS; m++) {
        const result *x = &res[m];
        char over[96];
        if (x->peak_items > budget)
            snprintf(over, sizeof over, "**+%.0f MiB (+%.0f%%) for %.1f s**",
                     (double)(x->peak_items - budget) / MiB,
                     100.0 * ((double)x->peak_items / (double)budget - 1),
                     x->over_s);
        else
            snprintf(over, sizeof over, "no");
        char workers[32];
        if (m == M_LARGEST || m == M_INPUT)
            snprintf(workers, sizeof workers, "up to %d", x->workers);
        else
            snprintf(workers, sizeof workers, "%d", x->workers);
        printf("| %s%s | %s | %.2f s | %.2f | %+.0f%% | %.0f MiB (%.0f MiB) "
               "| %s | %.0f%%%s |\n",
               method_names[m], x->ok ? "" : " (items failed)", workers,
               x->makespan, x->makespan / bound,
               100.0 * (x->makespan / res[M_LARGEST].makespan - 1),
               (double)x->peak / MiB, (double)x->peak_items / MiB, over,
               100 * x->others, x->others > 0.10 ? " (disturbed)" : "");
        discarded += x->discarded;
    }
    printf("\n*others' CPU*: the largest share of the CPUs that other "
           "programs used during a counted run.  %d run%s disturbed by "
           "them (over 10%%) %s done again.\n",
           discarded, discarded == 1 ? "" : "s",
           discarded == 1 ? "was" : "were");
    double ratio = res[M_LARGEST].makespan / bound;
    int within = res[M_LARGEST].peak_items <= budget;
    printf("\nTarget for the memory-aware scheduler (largest first): within "
           "1.15 of the bound and never over the budget.  Measured: %.2f of "
           "the bound, items at most %.0f of %d MiB: %s.\n",
           ratio, (double)res[M_LARGEST].peak_items / MiB, s.budget_mib,
           ratio <= 1.15 && within ? "met" : "NOT met");

    for (int i = 0; i < s.items; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/m%03d_%05d.dat", s.dir, i, mib[i]);
        unlink(path);
    }
    if (tmp)
        rmdir(tmp);
    free(tmp);
    free(mib);
    free(item_time);
    free(spans);
    json_decref(names);
    return 0;
}
