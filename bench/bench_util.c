/*
 * bench_util.c -- see bench_util.h.
 */
#include "bench_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double rusage_cpu(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double bu_cpu_self(void)
{
    return rusage_cpu(RUSAGE_SELF);
}

double bu_cpu_children(void)
{
    return rusage_cpu(RUSAGE_CHILDREN);
}

long bu_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    size_t n = strlen(field);
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kib = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

void bu_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

char **bu_names_read(const char *path, size_t *count)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    if (!f)
        bu_die("cannot open %s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                bu_die("out of memory reading %s", path);
        }
        if (!(names[n++] = strdup(line)))
            bu_die("out of memory reading %s", path);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    *count = n;
    return names;
}

void bu_names_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

char *bu_outname(const char *outdir, const char *in)
{
    const char *slash = strrchr(in, '/');
    const char *base = slash ? slash + 1 : in;
    /* The extension is the last dot-suffix; a leading dot starts none. */
    const char *dot = strrchr(base, '.');
    if (dot == base)
        dot = NULL;
    int stem_len = dot ? (int)(dot - base) : (int)strlen(base);
    char *out = NULL;
    if (asprintf(&out, "%s/%.*s_bmp%s", outdir, stem_len, base,
                 dot ? dot : "") < 0)
        bu_die("out of memory");
    return out;
}

long long bu_parse_count(const char *text, const char *what)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0)
        bu_die("%s: not a count: %s", what, text);
    return v;
}
