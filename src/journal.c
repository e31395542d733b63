/*
 * journal.c -- see journal.h.
 */
#include "journal.h"

#include "pout_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Takes the journal's finished items that still hold: same item at the
 * same index, finished ok or with no output, output file still there.
 * Later lines win, so a retried item's last state counts. */
static int load(bmp__run *run, const char *path, bmp_error *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0; /* nothing to resume: a fresh run */
        int rc = -errno;
        return bmp_error_set(err, rc, "resume", path,
                             "cannot read journal %s: %s", path,
                             bmp_strerror(rc));
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        unsigned long index;
        if (sscanf(line, "{\"index\": %lu,", &index) != 1 ||
            index >= run->count)
            continue;
        bmp__pout_entry e;
        const char *why;
        if (bmp__pout_entry_parse(line, &e, &why) != 0) {
            /* A partial last line from a killed run, or garbage. */
            json_decref(e.in_name);
            bmp__result_clear(&e.r);
            continue;
        }
        int usable =
            json_equal(e.in_name, json_array_get(run->items, index)) &&
            (e.r.status == BMP_ITEM_OK || e.r.status == BMP_ITEM_NO_OUTPUT) &&
            (!e.r.outname || access(e.r.outname, F_OK) == 0);
        json_decref(e.in_name);
        if (!usable) {
            bmp__result_clear(&e.r);
            continue;
        }
        bmp__result_clear(&run->results[index]);
        run->results[index] = e.r;
        run->skip[index] = 1;
    }
    free(line);
    fclose(f);
    return 0;
}

int bmp__journal_open(bmp__run *run, bmp_error *err)
{
    run->journal_fd = -1;
    const char *path = bmp_kw_str(run->kw, "journal", NULL);
    if (!path || !*path) {
        if (bmp_kw_bool(run->kw, "resume", 0))
            return bmp_error_set(err, BMP_EINVAL, "resume", NULL,
                                 "resume needs the journal keyword: the "
                                 "file that records finished items");
        return 0;
    }
    int resume = bmp_kw_bool(run->kw, "resume", 0);
    if (resume) {
        run->skip = calloc(run->count ? run->count : 1, 1);
        if (!run->skip)
            return bmp_error_set(err, -ENOMEM, "resume", path,
                                 "out of memory");
        int rc = load(run, path, err);
        if (rc < 0)
            return rc;
    }
    int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
    if (!resume)
        flags |= O_TRUNC;
    run->journal_fd = open(path, flags, 0666);
    if (run->journal_fd < 0) {
        int rc = -errno;
        return bmp_error_set(err, rc, "journal", path,
                             "cannot open journal %s: %s", path,
                             bmp_strerror(rc));
    }
    /* A killed run may have left a partial last line: cut it, or the
     * next record would be glued to it and lost too. */
    off_t end = lseek(run->journal_fd, 0, SEEK_END);
    char last;
    if (end > 0 && pread(run->journal_fd, &last, 1, end - 1) == 1 &&
        last != '\n') {
        off_t keep = end;
        char c;
        while (keep > 0 && pread(run->journal_fd, &c, 1, keep - 1) == 1 &&
               c != '\n')
            keep--;
        if (ftruncate(run->journal_fd, keep) != 0) {
            int rc = -errno;
            return bmp_error_set(err, rc, "journal", path,
                                 "cannot repair journal %s: %s", path,
                                 bmp_strerror(rc));
        }
    }
    return 0;
}

void bmp__journal_record(bmp__run *run, size_t index)
{
    if (run->journal_fd < 0)
        return;
    char *line = bmp__entry_line(json_array_get(run->items, index),
                                 &run->results[index], (long)index);
    if (!line) {
        if (!run->journal_error)
            run->journal_error = -ENOMEM;
        return;
    }
    size_t n = strlen(line);
    line[n] = '\n'; /* the terminator becomes the newline */
    /* One write with O_APPEND: lines from a killed run are whole or
     * last-and-partial, never interleaved. */
    ssize_t w = write(run->journal_fd, line, n + 1);
    if (w != (ssize_t)(n + 1) && !run->journal_error)
        run->journal_error = w < 0 ? -errno : -EIO;
    if (bmp_kw_bool(run->kw, "fsync", 0))
        fdatasync(run->journal_fd);
    free(line);
}

void bmp__journal_close(bmp__run *run)
{
    if (run->journal_fd >= 0)
        close(run->journal_fd);
    run->journal_fd = -1;
}
