/*
 * inputs.c -- the names a run processes: the words after ":::", the
 * --input-list files, or standard input.  Names are bytes: a name may
 * hold spaces, quotes and, with -0, newlines; nothing is trimmed but the
 * separator itself.  And whether a stored pout (--read_pout) answers for
 * these names.
 */
#include "tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends each name of the stream to `names`.  @return 0, -errno, or
 * -EILSEQ for a NUL byte in a name read by lines (*where: its line). */
static int read_names(FILE *f, int sep, json_t *names, size_t *where)
{
    size_t lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    errno = 0;
    while ((n = getdelim(&line, &cap, sep, f)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == sep)
            line[--n] = '\0';
        /* A NUL in a name read by lines is never part of a file name:
         * names separated by NUL bytes (find -print0) read as one line
         * would be cut at the first.  Refused, as xargs warns. */
        if (sep != '\0' && memchr(line, '\0', (size_t)n)) {
            *where = lineno;
            rc = -EILSEQ;
            break;
        }
        if (n == 0)
            continue;
        /* Names are bytes; jansson's checks would refuse non-UTF-8. */
        if (json_array_append_new(names,
                                  json_stringn_nocheck(line, (size_t)n))) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = errno ? -errno : -EIO;
    free(line);
    return rc;
}

static void nul_hint(char *msg, size_t msgsize, const char *from, size_t line)
{
    snprintf(msg, msgsize,
             "%s holds a NUL byte (line %zu): names separated by NUL bytes "
             "need -0 (find ... -print0 | bigmultipipe run -0 ...)",
             from, line);
}

int inputs_collect(const tool_args *a, json_t **names, char *msg,
                   size_t msgsize)
{
    *names = json_array();
    if (!*names) {
        snprintf(msg, msgsize, "out of memory");
        return -1;
    }
    int sep = a->null_sep ? '\0' : '\n';
    for (int i = 0; i < a->ninputs; i++) {
        if (!a->inputs[i][0])
            continue;
        if (json_array_append_new(*names, json_string_nocheck(a->inputs[i]))) {
            snprintf(msg, msgsize, "out of memory");
            return -1;
        }
    }
    for (int i = 0; i < a->nlists; i++) {
        const char *path = a->lists[i];
        int is_stdin = strcmp(path, "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(path, "re");
        if (!f) {
            snprintf(msg, msgsize, "cannot open the input list %s: %s", path,
                     strerror(errno));
            return -1;
        }
        size_t where = 0;
        int rc = read_names(f, sep, *names, &where);
        if (!is_stdin)
            fclose(f);
        if (rc == -EILSEQ) {
            nul_hint(msg, msgsize, is_stdin ? "standard input" : path, where);
            return -1;
        }
        if (rc < 0) {
            snprintf(msg, msgsize, "cannot read the input list %s: %s", path,
                     strerror(-rc));
            return -1;
        }
    }
    if (!a->inputs && a->nlists == 0) {
        if (isatty(STDIN_FILENO)) {
            snprintf(msg, msgsize,
                     "no inputs: give them after :::, with --input-list "
                     "FILE, or on standard input");
            return -1;
        }
        size_t where = 0;
        int rc = read_names(stdin, sep, *names, &where);
        if (rc == -EILSEQ) {
            nul_hint(msg, msgsize, "standard input", where);
            return -1;
        }
        if (rc < 0) {
            snprintf(msg, msgsize, "cannot read standard input: %s",
                     strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* Only the inputs are compared: a pout stored by another command on the
 * same inputs is taken, as the Python package's cached_pout does. */
int inputs_stored_pout(const tool_args *a, const json_t *names,
                       bmp_pout **stored, char *msg, size_t msgsize)
{
    *stored = NULL;
    const char *path = bmp_kw_str(a->kw, "read_pout", NULL);
    if (!path || !*path || bmp_pout_read(path, stored, NULL) < 0)
        return 0;
    size_t have = bmp_pout_count(*stored), want = json_array_size(names);
    const char *why = NULL;
    size_t at = 0;
    if (have != want) {
        snprintf(msg, msgsize,
                 "--read_pout %s holds %zu item%s, this run has %zu: it is "
                 "the pout of other inputs (remove it, or give another "
                 "file, to run them)",
                 path, have, have == 1 ? "" : "s", want);
        why = msg;
    }
    for (at = 0; !why && at < want; at++)
        if (!json_equal((json_t *)bmp_pout_in_name(*stored, at),
                        json_array_get(names, at)))
            why = "differs";
    if (why && why != msg) {
        at--;
        const json_t *was = bmp_pout_in_name(*stored, at);
        snprintf(msg, msgsize,
                 "--read_pout %s is the pout of other inputs: its item %zu "
                 "is \"%s\", this run's is \"%s\" (remove it, or give "
                 "another file, to run them)",
                 path, at + 1,
                 json_is_string(was) ? json_string_value(was) : "(a group)",
                 json_string_value(json_array_get(names, at)));
    }
    if (why) {
        bmp_pout_free(*stored);
        *stored = NULL;
        return -1;
    }
    return 0;
}
