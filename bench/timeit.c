/*
 * timeit.c -- runs a command and records what it cost, the same way for
 * every method compared (a library program, xargs, GNU parallel, the
 * bigmultipipe command).
 *
 *   timeit [--quiet SECONDS] RESULT_FILE COMMAND [ARGS...]
 *
 * Appends one line to RESULT_FILE:
 *   wall_s=W cpu_s=C user_s=U sys_s=S others=O waited_s=Q status=X
 * wall_s is the elapsed time from fork to exit; cpu_s the user + system
 * time of the command and of every process below it that was waited for
 * (getrusage RUSAGE_CHILDREN: xargs, parallel and the library all wait
 * for what they start).  others is the share of the machine's CPUs that
 * other programs used meanwhile (from /proc/stat, less the command's own
 * time): on a shared machine, a run with a large share was slowed by
 * them.  With --quiet, the command starts only after a quarter second in
 * which other programs used under 10% of the CPUs, or after SECONDS;
 * waited_s says how long that took.
 * Exits with the command's status.
 */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Busy CPU seconds of the whole machine since boot (/proc/stat); -1 when
 * it cannot be read. */
static double machine_busy_s(void)
{
    unsigned long long v[8];
    FILE *f = fopen("/proc/stat", "re");
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    if (n != 8)
        return -1;
    /* All but idle and iowait, in clock ticks. */
    double busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    return busy / (double)sysconf(_SC_CLK_TCK);
}

static double wait_quiet(double patience, int ncpu)
{
    double start = bu_now();
    while (bu_now() - start < patience) {
        double b0 = machine_busy_s();
        usleep(250000);
        double b1 = machine_busy_s();
        if (b0 < 0 || b1 < 0 || (b1 - b0) / (0.25 * ncpu) < 0.10)
            break;
    }
    return bu_now() - start;
}

static double tv(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
    double patience = 0;
    if (argc > 2 && strcmp(argv[1], "--quiet") == 0) {
        patience = (double)bu_parse_count(argv[2], "--quiet");
        argc -= 2;
        argv += 2;
    }
    if (argc < 3)
        bu_die(
            "usage: timeit [--quiet SECONDS] RESULT_FILE COMMAND [ARGS...]");
    FILE *out = fopen(argv[1], "ae");
    if (!out)
        bu_die("cannot open %s: %s", argv[1], strerror(errno));
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    double waited = patience > 0 ? wait_quiet(patience, ncpu) : 0;
    fflush(NULL);
    double busy0 = machine_busy_s();
    double t0 = bu_now();
    pid_t pid = fork();
    if (pid < 0)
        bu_die("fork failed: %s", strerror(errno));
    if (pid == 0) {
        fclose(out);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "timeit: cannot run %s: %s\n", argv[2],
                strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    double wall = bu_now() - t0;
    double busy1 = machine_busy_s();
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
    double others = 0;
    if (busy0 >= 0 && busy1 >= 0 && wall > 0)
        others = (busy1 - busy0 - cpu) / (wall * ncpu);
    if (others < 0) /* clock ticks are coarser than rusage */
        others = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : 128 + WTERMSIG(status);
    fprintf(out,
            "wall_s=%.6f cpu_s=%.6f user_s=%.6f sys_s=%.6f others=%.3f "
            "waited_s=%.2f status=%d\n",
            wall, cpu, tv(ru.ru_utime), tv(ru.ru_stime), others, waited, code);
    if (fclose(out) != 0)
        bu_die("cannot write %s", argv[1]);
    return code;
}
