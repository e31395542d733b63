/*
 * cmd_plan.c -- `bigmultipipe plan`: what a run with these options and
 * inputs would use, found with the same public functions the run uses
 * (bmp_physical_cores, bmp_mem_available, bmp_num_can_process), and
 * nothing run.
 */
#include "tool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LABEL "%-20s"

static int usage(const char *msg)
{
    fprintf(stderr, "bigmultipipe plan: %s\n(see bigmultipipe plan --help)\n",
            msg);
    return EXIT_USAGE;
}

int cmd_plan(int argc, char **argv)
{
    tool_args a;
    char msg[1024], b1[32], b2[32], b3[32];
    json_t *names = NULL, *kw = NULL;
    int status = EXIT_USAGE;
    if (tool_args_parse(argc, argv, CMD_PLAN, &a, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    if (a.help) {
        tool_print_help(stdout, CMD_PLAN);
        status = EXIT_ALL_OK;
        goto out;
    }
    /* A keyword of the wrong type or range is a usage error; a budget
     * too small for one item is the plan's answer, below. */
    bmp_error err = {0};
    if (bmp_num_can_process(1, a.kw, &err) < 0 &&
        err.code != BMP_ENOMEM_BUDGET) {
        usage(err.text);
        goto out;
    }
    /* Inputs as for run, but none at all is fine: the plan then shows
     * what the machine offers. */
    if (!a.inputs && a.nlists == 0 && isatty(STDIN_FILENO))
        names = json_array();
    else if (inputs_collect(&a, &names, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    /* A stored pout of other inputs is refused, as run refuses it (with
     * no inputs at all there is nothing to compare). */
    bmp_pout *stored = NULL;
    if (json_array_size(names) &&
        inputs_stored_pout(&a, names, &stored, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    bmp_pout_free(stored);
    size_t count = json_array_size(names);
    int64_t total = 0, largest = -1;
    size_t missing = 0, largest_at = 0;
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (stat(json_string_value(json_array_get(names, i)), &st) != 0) {
            missing++;
            continue;
        }
        total += st.st_size;
        if (st.st_size > largest) {
            largest = st.st_size;
            largest_at = i;
        }
    }

    status = EXIT_ALL_OK;
    if (count == 0)
        printf(LABEL "none given\n", "inputs:");
    else {
        printf(LABEL "%zu (%s in all", "inputs:", count,
               format_bytes(total, b1, sizeof b1));
        if (largest >= 0)
            printf(", largest %s", format_bytes(largest, b2, sizeof b2));
        if (missing)
            printf("; %zu not found", missing);
        printf(")\n");
    }
    int cores = bmp_physical_cores();
    printf(LABEL "%d\n", "physical cores:", cores);
    int64_t avail = bmp_mem_available();
    if (avail >= 0)
        printf(LABEL "%s\n",
               "memory available:", format_bytes(avail, b1, sizeof b1));
    else
        printf(LABEL "unknown (%s)\n",
               "memory available:", bmp_strerror((int)avail));

    int64_t budget = -1;
    long long given;
    double frac = bmp_kw_real(a.kw, "mem_frac", 0.8);
    if (bmp_kw_get_int(a.kw, "mem_available", &given) == 1) {
        budget = given;
        printf(LABEL "%s (--mem_available)\n",
               "memory budget:", format_bytes(budget, b1, sizeof b1));
    } else if (avail >= 0) {
        budget = (int64_t)(frac * (double)avail);
        printf(LABEL "%s (mem_frac %g of the memory available)\n",
               "memory budget:", format_bytes(budget, b1, sizeof b1), frac);
    } else {
        printf(LABEL "unknown\n", "memory budget:");
    }

    /* The memory one item needs: process_size, else the expand factor
     * times the largest input, which is the item that limits the count. */
    kw = json_deep_copy(a.kw);
    long long size = 0;
    double factor = 0;
    if (bmp_kw_get_int(kw, "process_size", &size) == 1) {
        printf(LABEL "%s (--process_size)\n",
               "per-item estimate:", format_bytes(size, b1, sizeof b1));
    } else if (bmp_kw_get_real(kw, "process_expand_factor", &factor) == 1 &&
               largest >= 0) {
        size = (long long)(factor * (double)largest);
        if (size < 1)
            size = 1;
        bmp_kw_set_int(kw, "process_size", size);
        printf(LABEL "%s (process_expand_factor %g x the largest input, "
                     "%s: %s)\n",
               "per-item estimate:", format_bytes(size, b1, sizeof b1), factor,
               json_string_value(json_array_get(names, largest_at)),
               format_bytes(largest, b2, sizeof b2));
    } else {
        printf(LABEL "none: memory does not limit the workers "
                     "(give --process_size or --process_expand_factor)\n",
               "per-item estimate:");
    }

    /* The count, and what limits it. */
    memset(&err, 0, sizeof err);
    json_t *cpu_kw = json_deep_copy(a.kw);
    json_object_del(cpu_kw, "process_size");
    int cpu = bmp_num_can_process((size_t)1 << 30, cpu_kw, NULL);
    json_decref(cpu_kw);
    int n = bmp_num_can_process(count ? count : (size_t)1 << 30, kw, &err);
    if (n < 0) {
        printf(LABEL "none: %s\n", "workers:", err.text);
        status = EXIT_SOME_FAILED;
        goto out;
    }
    /* Which of the three limits gave the count. */
    long long mem_limit = size > 0 && budget >= 0 ? budget / size : -1;
    if (mem_limit >= 0 && mem_limit <= cpu &&
        (count == 0 || (size_t)mem_limit <= count))
        printf(LABEL "%d (limited by memory: %s / %s)\n", "workers:", n,
               format_bytes(budget, b1, sizeof b1),
               format_bytes(size, b3, sizeof b3));
    else if (count && count < (size_t)cpu)
        printf(LABEL "%d (one per input)\n", "workers:", n);
    else
        printf(LABEL "%d (%s%s)\n", "workers:", n,
               bmp_kw_has(a.kw, "num_processes") ? "as --num_processes says"
                                                 : "one per physical core",
               count ? "" : "; no inputs given");
out:
    json_decref(kw);
    json_decref(names);
    tool_args_free(&a);
    return status;
}
