/*
 * report_html.c -- the report page of a run (doc/report.md): a summary,
 * a timeline of the items on their workers, the memory of the running
 * items against the budget, estimates against what the items used, and
 * a table of the slowest items and every failure.  One HTML file with
 * its SVG, CSS and script inline, so it opens anywhere without a
 * network; every name and message in it is escaped, since an input's
 * name is whatever bytes the user's files have.
 *
 * The page's size is bounded by its pixels, not by the items: a bar
 * thinner than a pixel joins the other thin bars of its row and pixel
 * into one aggregate mark, and the memory curve has one point per
 * pixel column, so a run of 100,000 items draws as fast as one of 1,000.
 */
#include "report_html.h"

#include "atomic_file.h"
#include "units.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The drawing's geometry, in CSS pixels. */
#define PLOT_W 1000 /* the time axis of the timeline and memory plot */
#define LABEL_W 110 /* the row labels left of the timeline */
#define MEM_H 200   /* the memory plot's height */
#define SCATTER 300 /* the estimate plot's side */
#define SLOWEST 25  /* rows of slowest items in the table */
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)   /* a number's macro as a string literal */
#define NAMED 10           /* items named under each kind of wrong estimate */
#define MAX_FAILURES 20000 /* failure rows in the table; more are counted */
#define BUDGET_OFF_SCALE 4 /* a budget this many times the peak: off scale */

/* One item as the page sees it. */
typedef struct shown {
    size_t index;
    const json_t *name;
    const bmp__result *r;
    int row; /* timeline row, -1: not on the timeline */
} shown;

/* A timeline row: one worker slot of one rank. */
typedef struct row_key {
    int rank, worker;
} row_key;

typedef struct report {
    FILE *out;
    const bmp__report_source *src;
    shown *items; /* every item */
    size_t n;
    size_t *ran; /* indices into items of those with a start, by row and
                    start */
    size_t nran;
    row_key *rows;
    int nrows;
    double t0, t1;  /* first start, last end */
    int64_t budget; /* summed over ranks; -1 none */
    size_t by_status[BMP_ITEM_NOT_RUN + 1];
    size_t unfinished, retried;
} report;

/* ---- text ------------------------------------------------------------- */

/* Bytes as HTML text: valid UTF-8 as it is, the five special characters
 * as entities, control characters and bytes that are not UTF-8 as
 * visible \xNN, so that a name with a stray byte still reads as itself
 * and never breaks the page.  With `lines`, newlines and tabs stay what
 * they are: an error's text (a Python traceback) keeps its lines in a
 * pre-wrap cell; a name never does, a newline in it is a byte to see. */
static void put_text_as(FILE *out, const char *s, int lines)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            p++;
            continue;
        case '<':
            fputs("&lt;", out);
            p++;
            continue;
        case '>':
            fputs("&gt;", out);
            p++;
            continue;
        case '"':
            fputs("&quot;", out);
            p++;
            continue;
        case '\'':
            fputs("&#39;", out);
            p++;
            continue;
        case '\n':
        case '\t':
            if (!lines)
                break;
            fputc(*p++, out);
            continue;
        default: break;
        }
        size_t k = *p < 0x20 || *p == 0x7f ? 0 : bmp__utf8_len(p);
        if (k == 0) {
            fprintf(out, "\\x%02x", *p);
            p++;
            continue;
        }
        fwrite(p, 1, k, out);
        p += k;
    }
}

static void put_text(FILE *out, const char *s)
{
    put_text_as(out, s, 0);
}

/* An error's message, its lines kept. */
static void put_error_text(FILE *out, const char *s)
{
    put_text_as(out, s, 1);
}

/* An item's name: a file name, or a group as [a, b]. */
static void put_name(FILE *out, const json_t *name)
{
    if (json_is_string(name)) {
        put_text(out, json_string_value(name));
        return;
    }
    fputc('[', out);
    for (size_t i = 0; i < json_array_size(name); i++) {
        if (i)
            fputs(", ", out);
        put_name(out, json_array_get(name, i));
    }
    fputc(']', out);
}

static double mib(int64_t bytes)
{
    return (double)bytes / BMP__MIB_F;
}

/* "12.3 MiB", or "?" for an unknown size. */
static void put_mib(FILE *out, int64_t bytes)
{
    if (bytes < 0)
        fputs("?", out);
    else
        fprintf(out, "%.1f MiB", mib(bytes));
}

/* A moment as date and time in UTC, said so: a page is read on other
 * machines, in other time zones, than the run's; one beyond any
 * calendar (an end made of a huge run time) as its seconds. */
static void put_time_of_day(FILE *out, double epoch)
{
    struct tm tm;
    char text[40];
    time_t t = epoch > 0 && epoch < 1e11 ? (time_t)epoch : 0;
    if (t > 0 && gmtime_r(&t, &tm) &&
        strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm) > 0)
        fputs(text, out);
    else
        fprintf(out, "%.0f", epoch);
}

/* Where an item ran: "worker 3", "rank 2 worker 0", "?". */
static void put_where(FILE *out, const bmp__stats *s)
{
    if (s->rank >= 0) {
        fprintf(out, "rank %d ", s->rank);
        if (s->host) {
            fputc('(', out);
            put_text(out, s->host);
            fputs(") ", out);
        }
    }
    if (s->worker >= 0)
        fprintf(out, "worker %d", s->worker);
    else
        fputs("worker ?", out);
}

/* The figures of an item, for a bar's tooltip. */
static void put_item_title(FILE *out, const shown *it)
{
    const bmp__stats *s = &it->r->stats;
    fputs("<title>", out);
    put_name(out, it->name);
    fprintf(out, "\n%s, %.3f s, ", bmp_status_name(it->r->status), s->wall_s);
    put_where(out, s);
    fputs("\npeak ", out);
    put_mib(out, s->peak_rss);
    fputs(", estimate ", out);
    put_mib(out, s->estimate);
    fprintf(out, ", attempts %d", s->attempts);
    if (it->r->error) {
        fputc('\n', out);
        put_error_text(out, it->r->error);
    }
    fputs("</title>", out);
}

/* ---- gathering -------------------------------------------------------- */

/* When an item ended; a negative run time (a file edited by hand) is
 * none. */
static double end_of(const bmp__stats *s)
{
    return s->start + (s->wall_s > 0 ? s->wall_s : 0);
}

static int is_final(const bmp__report_source *src, size_t i)
{
    return !src->final || __atomic_load_n(&src->final[i], __ATOMIC_ACQUIRE);
}

static int by_row_then_start(const void *a, const void *b, void *arg)
{
    const shown *items = arg;
    const shown *x = &items[*(const size_t *)a],
                *y = &items[*(const size_t *)b];
    const bmp__stats *s = &x->r->stats, *t = &y->r->stats;
    if (s->rank != t->rank)
        return s->rank < t->rank ? -1 : 1;
    if (s->worker != t->worker)
        return s->worker < t->worker ? -1 : 1;
    if (s->start != t->start)
        return s->start < t->start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int64_t sum_saturated(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The largest budget each rank's items carry, summed over the ranks:
 * under MPI each rank's pool has its own. */
static int64_t run_budget(const report *rp)
{
    int64_t total = -1, rank_max = -1;
    int rank = -2;
    for (size_t k = 0; k < rp->nran; k++) {
        const bmp__stats *s = &rp->items[rp->ran[k]].r->stats;
        if (s->rank != rank) {
            if (rank_max >= 0)
                total = sum_saturated(total < 0 ? 0 : total, rank_max);
            rank = s->rank;
            rank_max = -1;
        }
        if (s->budget > rank_max)
            rank_max = s->budget;
    }
    if (rank_max >= 0)
        total = sum_saturated(total < 0 ? 0 : total, rank_max);
    return total;
}

static int gather(report *rp)
{
    const bmp__report_source *src = rp->src;
    rp->n = src->count;
    rp->items = calloc(rp->n ? rp->n : 1, sizeof *rp->items);
    rp->ran = calloc(rp->n ? rp->n : 1, sizeof *rp->ran);
    if (!rp->items || !rp->ran)
        return -ENOMEM;
    rp->t0 = INFINITY;
    rp->t1 = -INFINITY;
    for (size_t i = 0; i < rp->n; i++) {
        shown *it = &rp->items[i];
        it->index = i;
        it->row = -1;
        if (src->entries) {
            it->name = src->entries[i].in_name;
            it->r = &src->entries[i].r;
        } else {
            it->name = json_array_get(src->items, i);
            it->r = &src->results[i];
        }
        if (!is_final(src, i)) {
            rp->unfinished++;
            it->r = NULL;
            continue;
        }
        const bmp__stats *s = &it->r->stats;
        rp->by_status[it->r->status]++;
        rp->retried += s->attempts > 1;
        if (s->start > 0 && it->r->status != BMP_ITEM_NOT_RUN) {
            rp->ran[rp->nran++] = i;
            double end = end_of(s);
            if (s->start < rp->t0)
                rp->t0 = s->start;
            if (end > rp->t1)
                rp->t1 = end;
        }
    }
    qsort_r(rp->ran, rp->nran, sizeof *rp->ran, by_row_then_start, rp->items);
    rp->rows = calloc(rp->nran ? rp->nran : 1, sizeof *rp->rows);
    if (!rp->rows)
        return -ENOMEM;
    for (size_t k = 0; k < rp->nran; k++) {
        const bmp__stats *s = &rp->items[rp->ran[k]].r->stats;
        if (rp->nrows == 0 || rp->rows[rp->nrows - 1].rank != s->rank ||
            rp->rows[rp->nrows - 1].worker != s->worker)
            rp->rows[rp->nrows++] = (row_key){s->rank, s->worker};
        rp->items[rp->ran[k]].row = rp->nrows - 1;
    }
    rp->budget = run_budget(rp);
    if (rp->nran == 0)
        rp->t0 = rp->t1 = 0;
    return 0;
}

/* ---- the page's parts ------------------------------------------------- */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;"
    "border-bottom:1px solid #ddd;vertical-align:top}"
    "th{background:#f3f3f3;cursor:pointer;user-select:none}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".err{white-space:pre-wrap;max-width:40em;overflow-wrap:anywhere}"
    "td.where{white-space:nowrap}"
    ".stopped{background:#ffebee;border:1px solid #e53935;padding:.5em}"
    "svg{display:block;background:#fcfcfc;border:1px solid #ddd}"
    "svg text{font:11px sans-serif;fill:#444}"
    ".s-ok{fill:#43a047;background:#43a047}"
    ".s-no_output{fill:#9e9e9e;background:#9e9e9e}"
    ".s-failed{fill:#e53935;background:#e53935}"
    ".s-crashed{fill:#8e24aa;background:#8e24aa}"
    ".s-timed_out{fill:#fb8c00;background:#fb8c00}"
    ".retried{stroke:#000;stroke-width:.6}"
    ".agg{fill:#1e88e5;background:#1e88e5}.tick{stroke:#e4e4e4}"
    ".legend span{display:inline-block;width:10px;height:10px;"
    "margin:0 4px 0 12px}"
    "#budget-line{stroke:#d32f2f;stroke-width:1.5;stroke-dasharray:6 3}"
    ".mem{fill:#90caf9;stroke:#1e88e5}.diag{stroke:#999}"
    ".dot{fill:#1e88e5}.dot.over{fill:#e53935}.dot.under{fill:#fb8c00}"
    ".note{color:#666}";

static void put_head(report *rp)
{
    FILE *out = rp->out;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\">",
          out);
    if (rp->src->live)
        fputs("<meta http-equiv=\"refresh\" content=\"5\">", out);
    fputs("<title>bigmultipipe report", out);
    if (rp->src->title) {
        fputs(": ", out);
        put_text(out, rp->src->title);
    }
    fprintf(out, "</title><style>%s</style></head>\n<body>\n", style);
    fputs("<h1>bigmultipipe report", out);
    if (rp->src->title) {
        fputs(": ", out);
        put_text(out, rp->src->title);
    }
    fputs("</h1>\n", out);
    if (rp->src->live) {
        fputs("<p class=\"note\">The run is going on; this page is "
              "rewritten every few seconds and reloads itself. Written ",
              out);
        put_time_of_day(out, bmp__epoch_now());
        fputs(".</p>\n", out);
    }
    if (rp->src->stopped) {
        fputs("<p id=\"run-stopped\" class=\"stopped\">The run stopped "
              "with an error before it ended; the page shows the items "
              "that finished. Why: <span class=\"err\">",
              out);
        put_error_text(out, rp->src->stopped);
        fputs("</span></p>\n", out);
    }
}

static void put_summary(report *rp)
{
    FILE *out = rp->out;
    double span = rp->t1 - rp->t0;
    int ranks = 0, last_rank = -2;
    for (int k = 0; k < rp->nrows; k++) {
        ranks += rp->rows[k].rank != last_rank && rp->rows[k].rank >= 0;
        last_rank = rp->rows[k].rank;
    }
    fputs("<section id=\"summary\"><h2>Summary</h2><table>", out);
    fprintf(out,
            "<tr><th>items</th><td class=\"n\" id=\"items-total\">%zu"
            "</td></tr>",
            rp->n);
    for (int st = BMP_ITEM_OK; st <= BMP_ITEM_NOT_RUN; st++)
        if (rp->by_status[st])
            fprintf(out,
                    "<tr><th>%s</th><td class=\"n\" id=\"count-%s\">%zu"
                    "</td></tr>",
                    bmp_status_name((bmp_status)st),
                    bmp_status_name((bmp_status)st), rp->by_status[st]);
    if (rp->unfinished)
        fprintf(out,
                "<tr><th>not finished yet</th><td class=\"n\">%zu</td></tr>",
                rp->unfinished);
    if (rp->retried)
        fprintf(out,
                "<tr><th>started more than once</th><td class=\"n\">%zu"
                "</td></tr>",
                rp->retried);
    fprintf(out,
            "<tr><th>on the timeline</th><td class=\"n\" id=\"items-ran\">"
            "%zu</td></tr>",
            rp->nran);
    if (rp->nran) {
        fputs("<tr><th>from</th><td>", out);
        put_time_of_day(out, rp->t0);
        fputs("</td></tr><tr><th>to</th><td>", out);
        put_time_of_day(out, rp->t1);
        fprintf(out,
                "</td></tr><tr><th>wall time</th><td class=\"n\">%.3f s"
                "</td></tr>",
                span);
        if (span > 0)
            fprintf(out,
                    "<tr><th>items per second</th><td class=\"n\">%.2f"
                    "</td></tr>",
                    (double)rp->nran / span);
    }
    if (ranks)
        fprintf(out, "<tr><th>ranks</th><td class=\"n\">%d</td></tr>", ranks);
    fprintf(out, "<tr><th>workers</th><td class=\"n\">%d</td></tr>",
            rp->nrows);
    fputs("<tr><th>memory budget</th><td class=\"n\">", out);
    if (rp->budget >= 0)
        put_mib(out, rp->budget);
    else
        fputs("none", out);
    fputs("</td></tr></table></section>\n", out);
}

/* x of a time on the time axis, in pixels from the plot's left. */
static double time_x(const report *rp, double t)
{
    double span = rp->t1 - rp->t0;
    return span > 0 ? (t - rp->t0) / span * PLOT_W : 0;
}

/* Ticks of the time axis between its two ends: grid lines from `top`
 * to `bottom` at a round step (1, 2 or 5 times a power of ten seconds)
 * that gives five to ten of them, each with its seconds under it. */
static void put_time_ticks(report *rp, double top, double bottom)
{
    double span = rp->t1 - rp->t0;
    if (!(span > 0) || !isfinite(span))
        return;
    double step = pow(10, floor(log10(span / 5)));
    if (span / step > 20)
        step *= 5;
    else if (span / step > 10)
        step *= 2;
    /* Short of the end, whose own label says the span. */
    for (int k = 1; k <= 10 && k * step < span * 0.93; k++) {
        double x = LABEL_W + k * step / span * PLOT_W;
        fprintf(rp->out,
                "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" "
                "x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"middle\">%g s</text>",
                x, top, x, bottom, x, bottom + 12, k * step);
    }
}

/* Draws the thin bars [from, to) of ran[] (one row, one pixel column)
 * as one mark: a bar when alone, else an aggregate that says how many. */
static void put_thin(report *rp, size_t from, size_t to, int x, double y,
                     double h)
{
    FILE *out = rp->out;
    if (to - from == 1) {
        const shown *it = &rp->items[rp->ran[from]];
        fprintf(out,
                "<rect class=\"bar s-%s%s\" data-i=\"%zu\" x=\"%d\" "
                "y=\"%.1f\" width=\"1\" height=\"%.1f\">",
                bmp_status_name(it->r->status),
                it->r->stats.attempts > 1 ? " retried" : "", it->index,
                LABEL_W + x, y, h);
        put_item_title(out, it);
        fputs("</rect>", out);
        return;
    }
    size_t bad = 0;
    double end = 0;
    for (size_t k = from; k < to; k++) {
        const bmp__result *r = rp->items[rp->ran[k]].r;
        bad += bmp__status_is_failure(r->status);
        double e = end_of(&r->stats);
        if (e > end)
            end = e;
    }
    int w = (int)ceil(time_x(rp, end)) - x;
    /* Shaded from blue to red by the fraction that failed, one failure
     * among hundreds a tint (at least a fifth of the way, to be seen),
     * not an alarm; the tooltip gives the counts. */
    double f = (double)bad / (double)(to - from);
    if (bad && f < 0.2)
        f = 0.2;
    fprintf(out,
            "<rect class=\"agg%s\" data-n=\"%zu\" data-failed=\"%zu\" "
            "x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"",
            bad ? " bad" : "", to - from, bad, LABEL_W + x, y, w < 1 ? 1 : w,
            h);
    if (bad)
        fprintf(out, " style=\"fill:rgb(%d,%d,%d)\"",
                (int)lround(30 + f * (229 - 30)),
                (int)lround(136 + f * (57 - 136)),
                (int)lround(229 + f * (53 - 229)));
    fprintf(out, "><title>%zu items, %zu failed (%.0f %%)</title></rect>",
            to - from, bad, 100.0 * (double)bad / (double)(to - from));
}

static void put_timeline(report *rp)
{
    FILE *out = rp->out;
    double row_h = rp->nrows <= 40 ? 16 : rp->nrows <= 200 ? 6 : 3;
    double bar_h = row_h > 4 ? row_h - 3 : row_h - 1;
    int height = (int)ceil(row_h * rp->nrows) + 24;
    fputs("<section><h2>Timeline</h2>", out);
    if (!rp->nran) {
        fputs("<p class=\"note\">No item has a start time (a pout written "
              "before they were recorded, or nothing ran).</p>",
              out);
    }
    fprintf(out,
            "<svg id=\"timeline\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\">",
            LABEL_W + PLOT_W + 10, height, LABEL_W + PLOT_W + 10, height);
    fprintf(out,
            "<clipPath id=\"labels\"><rect x=\"0\" y=\"0\" width=\"%d\" "
            "height=\"%d\"/></clipPath>",
            LABEL_W - 4, height);
    put_time_ticks(rp, 0, row_h * rp->nrows + 2);
    size_t k = 0;
    for (int row = 0; row < rp->nrows; row++) {
        double y = row * row_h;
        fprintf(out, "<g class=\"row\">");
        if (row_h >= 10) {
            /* The host goes to the tooltip; a label still too long is
             * cut at the bars, never drawn over them. */
            const bmp__stats *s = &rp->items[rp->ran[k]].r->stats;
            fprintf(out,
                    "<text x=\"4\" y=\"%.1f\" clip-path=\"url(#labels)\">"
                    "<title>",
                    y + row_h - 4);
            put_where(out, s);
            fputs("</title>", out);
            if (s->rank >= 0)
                fprintf(out, "rank %d ", s->rank);
            if (s->worker >= 0)
                fprintf(out, "worker %d", s->worker);
            else
                fputs("worker ?", out);
            fputs("</text>", out);
        }
        while (k < rp->nran && rp->items[rp->ran[k]].row == row) {
            const shown *it = &rp->items[rp->ran[k]];
            const bmp__stats *s = &it->r->stats;
            double x0 = time_x(rp, s->start);
            double x1 = time_x(rp, end_of(s));
            if (x1 - x0 >= 1) {
                fprintf(out,
                        "<rect class=\"bar s-%s%s\" data-i=\"%zu\" "
                        "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        "height=\"%.1f\">",
                        bmp_status_name(it->r->status),
                        s->attempts > 1 ? " retried" : "", it->index,
                        LABEL_W + x0, y + 1, x1 - x0, bar_h);
                put_item_title(out, it);
                fputs("</rect>", out);
                k++;
                continue;
            }
            /* Thin: it and the thin bars after it in the same pixel. */
            int col = (int)floor(x0);
            size_t end = k + 1;
            while (end < rp->nran && rp->items[rp->ran[end]].row == row) {
                const bmp__stats *t = &rp->items[rp->ran[end]].r->stats;
                double a = time_x(rp, t->start);
                if ((int)floor(a) != col || time_x(rp, end_of(t)) - a >= 1)
                    break;
                end++;
            }
            put_thin(rp, k, end, col, y + 1, bar_h);
            k = end;
        }
        fputs("</g>", out);
    }
    double axis_y = row_h * rp->nrows + 14;
    fprintf(out,
            "<text x=\"%d\" y=\"%.1f\">0 s</text>"
            "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f s</text>",
            LABEL_W, axis_y, LABEL_W + PLOT_W, axis_y, rp->t1 - rp->t0);
    fputs("</svg><p class=\"legend\">", out);
    for (int st = BMP_ITEM_OK; st < BMP_ITEM_NOT_RUN; st++)
        fprintf(out, "<span class=\"s-%s\"></span>%s",
                bmp_status_name((bmp_status)st),
                bmp_status_name((bmp_status)st));
    fputs("<span class=\"agg\"></span>many short items in one pixel "
          "(redder as more of them failed); a black outline: started more "
          "than once "
          "(the bar is the last attempt)</p></section>\n",
          out);
}

typedef struct mem_event {
    double t;
    double delta; /* bytes: sums of hostile figures must not overflow */
} mem_event;

static int by_time(const void *a, const void *b)
{
    const mem_event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    /* An end before a start at the same time: no false peak. */
    return (x->delta > y->delta) - (x->delta < y->delta);
}

static int put_memory(report *rp)
{
    FILE *out = rp->out;
    mem_event *ev = malloc((2 * rp->nran + 1) * sizeof *ev);
    double *col = malloc(PLOT_W * sizeof *col);
    if (!ev || !col) {
        free(ev);
        free(col);
        return -ENOMEM;
    }
    size_t n = 0;
    for (size_t k = 0; k < rp->nran; k++) {
        const bmp__stats *s = &rp->items[rp->ran[k]].r->stats;
        if (s->peak_rss < 0)
            continue;
        ev[n++] = (mem_event){s->start, (double)s->peak_rss};
        ev[n++] = (mem_event){end_of(s), -(double)s->peak_rss};
    }
    qsort(ev, n, sizeof *ev, by_time);
    /* The highest sum in each pixel column. */
    double level = 0, top = 0;
    size_t e = 0;
    for (int c = 0; c < PLOT_W; c++) {
        col[c] = level;
        while (e < n && (c == PLOT_W - 1 || time_x(rp, ev[e].t) < c + 1)) {
            level += ev[e++].delta;
            if (level > col[c])
                col[c] = level;
        }
        if (col[c] > top)
            top = col[c];
    }
    /* A budget far above the curve (the machine's memory, items of a
     * few MiB) would squash the curve flat at the bottom: the axis then
     * fits the curve, and the budget is a marker at the top edge that
     * says it is off the scale. */
    int off_scale = rp->budget >= 0 && top > 0 &&
                    (double)rp->budget > BUDGET_OFF_SCALE * top;
    double scale = off_scale                  ? top * 1.1
                   : top > (double)rp->budget ? top
                                              : (double)rp->budget;
    if (scale <= 0)
        scale = 1;
    double h = MEM_H;
    fputs("<section><h2>Memory</h2><p class=\"note\">The measured peaks of "
          "the items running at each moment, summed (each worker's peak "
          "during its item, so a worker's own memory counts too), against "
          "the run's memory budget.</p>",
          out);
    if (n) {
        /* A double: sums of hostile figures pass any integer. */
        fprintf(out, "<p id=\"memory-peak\">peak %.1f MiB", top / BMP__MIB_F);
        if (rp->budget > 0) {
            fprintf(out, " = %.1f %% of the budget of ",
                    100.0 * top / (double)rp->budget);
            put_mib(out, rp->budget);
        }
        if (off_scale)
            fputs(" (the budget is far above: the plot's scale fits the "
                  "curve, the budget is marked off the scale at its top)",
                  out);
        fputs("</p>", out);
    }
    fprintf(out,
            "<svg id=\"memory\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
            "%d\">",
            LABEL_W + PLOT_W + 10, MEM_H + 24, LABEL_W + PLOT_W + 10,
            MEM_H + 24);
    put_time_ticks(rp, 0, h);
    if (n) {
        fprintf(out, "<path class=\"mem\" d=\"M%d %.1f", LABEL_W, h);
        for (int c = 0; c < PLOT_W; c++) {
            double y = h - col[c] / scale * (h - 10);
            fprintf(out, "L%d %.1fL%d %.1f", LABEL_W + c, y, LABEL_W + c + 1,
                    y);
        }
        fprintf(out, "L%d %.1fZ\"><title>peak of the running items: ",
                LABEL_W + PLOT_W, h);
        fprintf(out, "%.1f MiB</title></path>", top / BMP__MIB_F);
    }
    fprintf(out, "<text x=\"4\" y=\"14\">%.0f MiB</text>", scale / BMP__MIB_F);
    fprintf(out, "<text x=\"4\" y=\"%.1f\">0</text>", h);
    if (rp->budget >= 0) {
        /* Off the scale: at the top edge, with an arrow up. */
        double y = off_scale ? 2 : h - (double)rp->budget / scale * (h - 10);
        fprintf(out,
                "<line id=\"budget-line\" data-scale=\"%s\" x1=\"%d\" "
                "y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"><title>memory budget ",
                off_scale ? "off" : "in", LABEL_W, y, LABEL_W + PLOT_W, y);
        put_mib(out, rp->budget);
        fprintf(out,
                "</title></line><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%sbudget ",
                LABEL_W + PLOT_W, off_scale ? 14 : y - 3,
                off_scale ? "\xe2\x86\x91 " : "");
        put_mib(out, rp->budget);
        if (off_scale)
            fputs(", off the scale", out);
        fputs("</text>", out);
    }
    fprintf(out,
            "<text x=\"%d\" y=\"%d\">0 s</text><text x=\"%d\" y=\"%d\" "
            "text-anchor=\"end\">%.2f s</text></svg>",
            LABEL_W, MEM_H + 16, LABEL_W + PLOT_W, MEM_H + 16,
            rp->t1 - rp->t0);
    if (rp->budget < 0)
        fputs("<p class=\"note\">The run had no memory budget (give "
              "process_size or process_expand_factor for one).</p>",
              out);
    fputs("</section>\n", out);
    free(ev);
    free(col);
    return 0;
}

/* What an item added to its worker, -1 unknown. */
static int64_t growth_of(const bmp__stats *s)
{
    return s->peak_rss >= 0 && s->start_rss >= 0 ? s->peak_rss - s->start_rss
                                                 : -1;
}

/* An estimate far above the use: more than twice it, past the slack. */
static int too_high(const bmp__stats *s)
{
    int64_t g = growth_of(s);
    return s->estimate >= 0 && g >= 0 &&
           (double)s->estimate > 2.0 * (double)g + 4.0 * BMP__MIB_F;
}

/* Names the worst NAMED items of one kind, the largest `key` first. */
static void put_named(report *rp, int over, size_t count)
{
    FILE *out = rp->out;
    if (count == 0) {
        fputs("<p>none</p>", out);
        return;
    }
    size_t *worst = calloc(NAMED, sizeof *worst);
    double *keys = calloc(NAMED, sizeof *keys);
    size_t nw = 0;
    for (size_t i = 0; worst && keys && i < rp->n; i++) {
        const shown *it = &rp->items[i];
        if (!it->r)
            continue;
        const bmp__stats *s = &it->r->stats;
        if (over ? !s->over_estimate : !too_high(s))
            continue;
        double key = fabs((double)(growth_of(s) - s->estimate));
        size_t at = nw < NAMED ? nw++ : NAMED;
        if (at == NAMED && key <= keys[NAMED - 1])
            continue;
        if (at == NAMED)
            at = NAMED - 1;
        while (at > 0 && keys[at - 1] < key) {
            keys[at] = keys[at - 1];
            worst[at] = worst[at - 1];
            at--;
        }
        keys[at] = key;
        worst[at] = i;
    }
    fprintf(out, "<p>%zu items; the worst:</p><ul class=\"%s\">", count,
            over ? "over" : "under");
    for (size_t k = 0; k < nw; k++) {
        const bmp__stats *s = &rp->items[worst[k]].r->stats;
        fputs("<li>", out);
        put_name(out, rp->items[worst[k]].name);
        fputs(": used ", out);
        put_mib(out, growth_of(s));
        fputs(", estimated ", out);
        put_mib(out, s->estimate);
        fputs("</li>", out);
    }
    fputs("</ul>", out);
    free(worst);
    free(keys);
}

/* The stats of item i when it has both a memory estimate and a measured
 * growth (in *growth), the two axes of the estimates plot; NULL when it
 * has no place there. */
static const bmp__stats *estimate_point(const report *rp, size_t i,
                                        int64_t *growth)
{
    if (!rp->items[i].r)
        return NULL;
    const bmp__stats *s = &rp->items[i].r->stats;
    *growth = growth_of(s);
    return s->estimate < 0 || *growth < 0 ? NULL : s;
}

static void put_estimates(report *rp)
{
    FILE *out = rp->out;
    int64_t top = 1;
    size_t over = 0, under = 0, plotted = 0;
    for (size_t i = 0; i < rp->n; i++) {
        int64_t g = 0;
        const bmp__stats *s = estimate_point(rp, i, &g);
        if (!s)
            continue;
        plotted++;
        over += s->over_estimate != 0;
        under += too_high(s);
        if (s->estimate > top)
            top = s->estimate;
        if (g > top)
            top = g;
    }
    fputs("<section><h2>Estimates</h2>", out);
    if (!plotted) {
        fputs("<p class=\"note\">No item has both a memory estimate and "
              "a measured peak (the run had no budget, or did not "
              "measure).</p></section>\n",
              out);
        return;
    }
    fputs("<p class=\"note\">Each item's memory estimate against what it "
          "added to its worker (its peak less the worker's memory at its "
          "start). Above the diagonal: it used more than estimated. Tune "
          "process_size, process_expand_factor or a size_estimate from "
          "here.</p>",
          out);
    int side = SCATTER;
    fprintf(out,
            "<svg id=\"estimate-plot\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\"><line class=\"diag\" x1=\"40\" "
            "y1=\"%d\" x2=\"%d\" y2=\"10\"/>",
            side + 50, side + 40, side + 50, side + 40, side + 10, side + 40);
    /* One dot per pixel and kind: the plot stays small at any size. */
    unsigned char *seen = calloc((size_t)(side + 1) * (side + 1), 1);
    for (size_t i = 0; seen && i < rp->n; i++) {
        int64_t g = 0;
        const bmp__stats *s = estimate_point(rp, i, &g);
        if (!s)
            continue;
        int x = (int)((double)s->estimate / (double)top * side);
        int y = (int)((double)g / (double)top * side);
        int kind = s->over_estimate ? 2 : too_high(s) ? 4 : 1;
        unsigned char *cell = &seen[(size_t)y * (side + 1) + (size_t)x];
        if (*cell & kind)
            continue;
        *cell |= (unsigned char)kind;
        fprintf(out,
                "<circle class=\"dot%s\" cx=\"%d\" cy=\"%d\" r=\"2.5\">"
                "<title>",
                kind == 2   ? " over"
                : kind == 4 ? " under"
                            : "",
                40 + x, side + 10 - y);
        put_name(out, rp->items[i].name);
        fputs(": estimated ", out);
        put_mib(out, s->estimate);
        fputs(", used ", out);
        put_mib(out, g);
        fputs("</title></circle>", out);
    }
    free(seen);
    fprintf(out,
            "<text x=\"40\" y=\"%d\">estimate (0 to %.0f MiB)</text>"
            "<text x=\"4\" y=\"10\">used</text></svg>",
            side + 30, mib(top));
    fputs("<h3>Used more than estimated (estimate too low)</h3>", out);
    put_named(rp, 1, over);
    fputs("<h3>Used less than half the estimate (estimate too high, "
          "workers left idle)</h3>",
          out);
    put_named(rp, 0, under);
    fputs("</section>\n", out);
}

static int by_wall_desc(const void *a, const void *b, void *arg)
{
    const shown *items = arg;
    double x = items[*(const size_t *)a].r->stats.wall_s;
    double y = items[*(const size_t *)b].r->stats.wall_s;
    if (x != y)
        return (x < y) - (x > y);
    return (*(const size_t *)a > *(const size_t *)b) -
           (*(const size_t *)a < *(const size_t *)b);
}

static void put_row(report *rp, const shown *it, const char *kind)
{
    FILE *out = rp->out;
    const bmp__stats *s = &it->r->stats;
    fprintf(out, "<tr><td class=\"n\">%zu</td><td>%s</td><td>", it->index,
            kind);
    put_name(out, it->name);
    fprintf(out,
            "</td><td>%s</td><td class=\"n\">%.3f</td><td class=\"n\" "
            "data-v=\"%lld\">",
            bmp_status_name(it->r->status), s->wall_s, (long long)s->peak_rss);
    if (s->peak_rss >= 0)
        fprintf(out, "%.1f", mib(s->peak_rss));
    fprintf(out, "</td><td class=\"n\" data-v=\"%lld\">",
            (long long)s->estimate);
    if (s->estimate >= 0)
        fprintf(out, "%.1f", mib(s->estimate));
    fprintf(out, "</td><td class=\"n\">%d</td><td class=\"where\">",
            s->attempts);
    put_where(out, s);
    fputs("</td><td class=\"err\">", out);
    if (it->r->error)
        put_error_text(out, it->r->error);
    fputs("</td></tr>\n", out);
}

/* The table's rows: the SLOWEST slowest items that did not fail, from
 * every finished item with a run time (a pout written before starts
 * were recorded has no timeline but its items have run times), and
 * every failure (up to MAX_FAILURES), all sorted by run time, the
 * longest first. */
static int put_table(report *rp)
{
    FILE *out = rp->out;
    size_t *order = malloc((rp->n ? rp->n : 1) * sizeof *order);
    if (!order)
        return -ENOMEM;
    size_t slow = 0, failures = 0;
    for (size_t i = 0; i < rp->n; i++) {
        const bmp__result *r = rp->items[i].r;
        if (r && r->status != BMP_ITEM_NOT_RUN &&
            !bmp__status_is_failure(r->status) && r->stats.wall_s > 0)
            order[slow++] = i;
    }
    qsort_r(order, slow, sizeof *order, by_wall_desc, rp->items);
    if (slow > SLOWEST)
        slow = SLOWEST;
    size_t listed = slow;
    for (size_t i = 0; i < rp->n; i++) {
        const bmp__result *r = rp->items[i].r;
        if (r && bmp__status_is_failure(r->status) &&
            ++failures <= MAX_FAILURES)
            order[listed++] = i;
    }
    qsort_r(order, listed, sizeof *order, by_wall_desc, rp->items);
    fputs(
        "<section><h2>Slowest items and failures</h2><p class=\"note\">"
        "The slowest items that did not fail (" TEXT(
            SLOWEST) " at most) "
                     "and every failure, the longest first. Click a column's "
                     "heading "
                     "to sort by it.</p>"
                     "<table id=\"item-table\" class=\"sortable\"><thead><tr>"
                     "<th data-num>#</th><th>why listed</th><th>item</th>"
                     "<th>status</th><th data-num>wall s</th><th "
                     "data-num>peak MiB</th>"
                     "<th data-num>estimate MiB</th><th data-num>attempts</th>"
                     "<th>where</th><th>error</th></tr></thead><tbody>\n",
        out);
    for (size_t k = 0; k < listed; k++) {
        const shown *it = &rp->items[order[k]];
        put_row(rp, it,
                bmp__status_is_failure(it->r->status) ? "failure" : "slow");
    }
    fputs("</tbody></table>", out);
    if (failures > MAX_FAILURES)
        fprintf(out,
                "<p class=\"note\">%zu more failures are not listed; the "
                "pout has them all.</p>",
                failures - MAX_FAILURES);
    fputs("</section>\n", out);
    free(order);
    return 0;
}

/* The script: sorting by column, and a check of the page for tests and
 * for anyone curious: how many bars and aggregated items the timeline
 * holds, whether the budget line is there, and any script error, as
 * attributes of #report-check. */
static const char script[] =
    "<div id=\"report-check\" hidden></div>\n<script>\n"
    "(function(){\n"
    "var chk=document.getElementById('report-check');\n"
    "window.onerror=function(m){chk.setAttribute('data-error',String(m));};\n"
    "try{\n"
    "document.querySelectorAll('table.sortable').forEach(function(t){\n"
    " t.querySelectorAll('th').forEach(function(th,col){\n"
    "  th.addEventListener('click',function(){\n"
    "   var num=th.hasAttribute('data-num'),up=th.dataset.dir!=='up';\n"
    "   th.dataset.dir=up?'up':'down';\n"
    "   var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "   var key=function(r){var c=r.cells[col],v=c.getAttribute('data-v');"
    "return num?parseFloat(v!==null?v:c.textContent)||0:c.textContent;};\n"
    "   rows.sort(function(a,b){var x=key(a),y=key(b);"
    "return (x<y?-1:x>y?1:0)*(up?1:-1);});\n"
    "   rows.forEach(function(r){body.appendChild(r);});\n"
    "  });\n"
    " });\n"
    "});\n"
    "var agg=0;document.querySelectorAll('#timeline rect.agg')"
    ".forEach(function(r){agg+=Number(r.getAttribute('data-n'));});\n"
    "chk.setAttribute('data-bars',"
    "document.querySelectorAll('#timeline rect.bar').length);\n"
    "chk.setAttribute('data-aggregated',agg);\n"
    "var bl=document.getElementById('budget-line');\n"
    "chk.setAttribute('data-budget-line',bl?'1':'0');\n"
    "if(bl)chk.setAttribute('data-budget-scale',bl.getAttribute("
    "'data-scale'));\n"
    "chk.setAttribute('data-ok','1');\n"
    "}catch(e){chk.setAttribute('data-error',String(e));}\n"
    "})();\n</script>\n";

int bmp__report_html_fp(FILE *out, const bmp__report_source *src)
{
    report rp = {.out = out, .src = src, .budget = -1};
    int rc = gather(&rp);
    if (rc == 0) {
        put_head(&rp);
        put_summary(&rp);
        put_timeline(&rp);
        rc = put_memory(&rp);
    }
    if (rc == 0) {
        put_estimates(&rp);
        rc = put_table(&rp);
    }
    if (rc == 0) {
        fputs(script, out);
        fputs("</body></html>\n", out);
    }
    free(rp.items);
    free(rp.ran);
    free(rp.rows);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = -(errno ? errno : EIO);
    return rc;
}

int bmp__report_html_write(const char *path, const bmp__report_source *src,
                           bmp_error *err)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem)
        return bmp_error_set(err, -ENOMEM, "report", path, "out of memory");
    int rc = bmp__report_html_fp(mem, src);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc < 0) {
        free(text);
        return bmp_error_set(err, rc, "report", path,
                             "cannot make the report page: %s",
                             bmp_strerror(rc));
    }
    bmp__atomic_file f;
    rc = bmp__atomic_open(&f, path);
    if (rc == 0) {
        rc = bmp__atomic_write(&f, text, size);
        if (rc == 0)
            rc = bmp__atomic_commit(&f, 0);
        else
            bmp__atomic_abort(&f);
    }
    free(text);
    if (rc < 0)
        return bmp_error_set(err, rc, "report", path,
                             "cannot write the report page %s: %s", path,
                             bmp_strerror(rc));
    return 0;
}

int bmp_pout_report_html(const bmp_pout *pout, const char *path,
                         const char *title, bmp_error *err)
{
    if (!pout || !path)
        return bmp_error_set(err, BMP_EINVAL, "report", NULL,
                             "bmp_pout_report_html needs a pout and a path");
    bmp__report_source src = {.count = pout->count,
                              .entries = pout->entries,
                              .title = title};
    return bmp__report_html_write(path, &src, err);
}
