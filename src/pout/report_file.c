/*
 * report_file.c -- bmp_report_html_file(): the report page of a pout
 * file or of a journal.  A pout is read as bmp_pout_read() reads it.  A
 * journal is read by its items' positions: its lines are in completion
 * order, and a resumed run appends an item's new line after the old one
 * (a failure, then the success of the run that resumed it), so the
 * page takes each item's last line; the items it holds no line of (a
 * run still going, or cut short) are counted as not finished.
 */
#include "report_html.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The journal's entries by index, into `entries` (count from its run
 * record), `final` marking those it holds.  @return 0, or a negative
 * error with `err` filled. */
static int read_journal(FILE *f, const char *path, bmp__pout_entry **entries,
                        unsigned char **final, size_t *count, bmp_error *err)
{
    char *line = NULL;
    size_t cap = 0, lineno = 1;
    ssize_t n = getline(&line, &cap, f);
    json_t *record = n > 0 ? json_loads(line, 0, NULL) : NULL;
    json_t *items = json_object_get(record, "items");
    int rc = 0;
    if (!json_is_integer(items) || json_integer_value(items) < 0 ||
        json_integer_value(items) >
            (json_int_t)(SIZE_MAX / 2 / sizeof **entries)) {
        rc = bmp_error_set(err, BMP_EPOUT, "report", path,
                           "%s line 1: a journal's run record without its "
                           "count of items",
                           path);
        goto out;
    }
    *count = (size_t)json_integer_value(items);
    *entries = calloc(*count ? *count : 1, sizeof **entries);
    *final = calloc(*count ? *count : 1, 1);
    if (!*entries || !*final) {
        rc = bmp_error_set(err, -ENOMEM, "report", path, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < *count; i++)
        bmp__stats_init(&(*entries)[i].r.stats);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        unsigned long index;
        /* A line cut by a kill (no newline) is not a result. */
        if (n == 0 || line[n - 1] != '\n')
            continue;
        if (sscanf(line, "{\"index\": %lu,", &index) != 1 || index >= *count) {
            rc = bmp_error_set(err, BMP_EPOUT, "report", path,
                               "%s line %zu: not a journal line of an item "
                               "of this run",
                               path, lineno);
            goto out;
        }
        bmp__pout_entry e;
        const char *why;
        if (bmp__pout_entry_parse(line, &e, &why) != 0) {
            json_decref(e.in_name);
            bmp__result_clear(&e.r);
            rc = bmp_error_set(err, BMP_EPOUT, "report", path,
                               "%s line %zu: %s", path, lineno, why);
            goto out;
        }
        json_decref((*entries)[index].in_name);
        bmp__result_clear(&(*entries)[index].r);
        (*entries)[index] = e;
        (*final)[index] = 1;
    }
    if (ferror(f)) {
        rc = -(errno ? errno : EIO);
        bmp_error_set(err, rc, "report", path, "cannot read %s: %s", path,
                      bmp_strerror(rc));
    }
out:
    free(line);
    json_decref(record);
    return rc;
}

int bmp_report_html_file(const char *in_path, const char *page_path,
                         bmp_error *err)
{
    if (!in_path || !page_path)
        return bmp_error_set(err, BMP_EINVAL, "report", NULL,
                             "bmp_report_html_file needs two paths");
    FILE *f = fopen(in_path, "re");
    if (!f) {
        int rc = -errno;
        return bmp_error_set(err, rc, "report", in_path, "cannot open %s: %s",
                             in_path, bmp_strerror(rc));
    }
    /* The page over its own pout would lose the pout. */
    struct stat in, page;
    if (fstat(fileno(f), &in) == 0 && stat(page_path, &page) == 0 &&
        in.st_dev == page.st_dev && in.st_ino == page.st_ino) {
        fclose(f);
        return bmp_error_set(err, BMP_EINVAL, "report", page_path,
                             "the page %s is the file it is drawn from",
                             page_path);
    }
    char head[16] = "";
    size_t got = fread(head, 1, sizeof head - 1, f);
    head[got] = '\0';
    rewind(f);
    int rc;
    if (strncmp(head, "{\"bmp_journal\":", 15) != 0) {
        fclose(f);
        bmp_pout *pout = NULL;
        rc = bmp_pout_read(in_path, &pout, err);
        if (rc == 0)
            rc = bmp_pout_report_html(pout, page_path, in_path, err);
        bmp_pout_free(pout);
        return rc;
    }
    bmp__pout_entry *entries = NULL;
    unsigned char *final = NULL;
    size_t count = 0;
    rc = read_journal(f, in_path, &entries, &final, &count, err);
    fclose(f);
    if (rc == 0) {
        bmp__report_source src = {.count = count,
                                  .entries = entries,
                                  .final = final,
                                  .title = in_path};
        rc = bmp__report_html_write(page_path, &src, err);
    }
    for (size_t i = 0; entries && i < count; i++) {
        json_decref(entries[i].in_name);
        bmp__result_clear(&entries[i].r);
    }
    free(entries);
    free(final);
    return rc;
}
