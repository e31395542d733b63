/*
 * bench_util.h -- what the benchmark programs share: clocks, CPU time and
 * memory of the calling process, lists of names, output names, and dying
 * with a message.  No library calls: perfile.c links this file and must
 * stay a plain C program.  See doc/performance.md for what is measured
 * and how.
 */
#ifndef BMP_BENCH_UTIL_H
#define BMP_BENCH_UTIL_H

#include <jansson.h>

#include <stddef.h>
#include <stdlib.h>

/* Seconds of a monotonic clock. */
double bu_now(void);

/* CPU seconds (user + system) of this process, and of its children that
 * have been waited for (which include their own waited-for children). */
double bu_cpu_self(void);
double bu_cpu_children(void);

/* A field of /proc/self/status in KiB ("VmHWM", "VmRSS"); -1 if absent. */
long bu_status_kib(const char *field);

/* Prints "bench: message" on standard error and exits with status 1. */
void bu_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a list of names, one a line (empty lines skipped), from `path`
 * ("-": standard input).  Returns a malloc'd array of malloc'd names
 * (free with bu_names_free) and its length in *count; dies on error. */
char **bu_names_read(const char *path, size_t *count);
void bu_names_free(char **names, size_t count);

/* The same list as a JSON array of strings (new reference); dies on
 * ENOMEM.  Inline, so that a program that does not use it (perfile) does
 * not depend on jansson. */
static inline json_t *bu_names_json(char *const *names, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < count; i++) {
        if (json_array_append_new(a, json_string(names[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (!a)
        bu_die("out of memory");
    return a;
}

/* The output name the library gives `in` by default with the keyword
 * outdir set to `outdir`: outdir/stem_bmp.ext (SPEC.md's rule).  malloc'd;
 * dies on ENOMEM. */
char *bu_outname(const char *outdir, const char *in);

/* A whole number from text, or die naming `what`. */
long long bu_parse_count(const char *text, const char *what);

#endif
