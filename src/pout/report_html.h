/*
 * report_html.h -- the report page of a run (doc/report.md): one
 * self-contained HTML file, drawn from a pout, a journal read as a pout,
 * or a run still going on.
 */
#ifndef BMP_REPORT_HTML_H
#define BMP_REPORT_HTML_H

#include "pout_internal.h"
#include "run.h"

#include <stdio.h>

/* What the page is drawn from: the entries of a pout, or the items and
 * results of a run (then `final`, when not NULL, says which results are
 * final; the others are counted as not finished yet). */
typedef struct bmp__report_source {
    size_t count;
    const bmp__pout_entry *entries; /* a pout's, or NULL */
    const json_t *items;            /* else a run's items and results */
    const bmp__result *results;
    const unsigned char *final; /* read atomically; NULL: all final */
    const char *title;          /* shown in the heading; may be NULL */
    int live;                   /* the run goes on: the page reloads */
    const char *stopped;        /* the run stopped with this error, or NULL */
} bmp__report_source;

/* Writes the page to `out`.  @return 0, -ENOMEM, or -errno of a failed
 * write. */
int bmp__report_html_fp(FILE *out, const bmp__report_source *src);

/* Writes the page to `path` through a temporary name in the same folder,
 * renamed over it, so a browser never reads half a page.  @return 0 or
 * a negative error with `err` filled. */
int bmp__report_html_write(const char *path, const bmp__report_source *src,
                           bmp_error *err);

#endif
