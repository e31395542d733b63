/*
 * test_report.c -- the report page (doc/report.md) from the library's
 * side: the `report` keyword on a real run with a crash and a failure,
 * the figures the pout carries for it (start, worker, budget, also for
 * an item whose worker died), a page of a run going on (only final
 * items drawn), names that are groups and not UTF-8, aggregation of
 * thin bars with every item counted, and a journal that is not one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigmultipipe.h"
#include "report_html.h"
#include "testutil.h"

/* How many times `needle` occurs in `text`. */
static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The sum of the data-n="N" of the page's aggregate marks. */
static size_t aggregated(const char *page)
{
    size_t n = 0;
    for (const char *p = page; (p = strstr(p, "data-n=\"")); p += 8)
        n += strtoul(p + 8, NULL, 10);
    return n;
}

/* The page bmp_report_html_file() draws from the pout or journal at
 * `path` into `page_path`, which must succeed; malloc'd. */
static char *page_from_file(const char *path, const char *page_path)
{
    bmp_error err = {0};
    int rc = bmp_report_html_file(path, page_path, &err);
    if (rc != 0)
        fail_msg("bmp_report_html_file(%s): %s", path, err.text);
    char *page = tu_read_file(page_path, NULL);
    assert_non_null(page);
    return page;
}

/* `text` written as dir/name.jsonl, whose path is returned, with the
 * name of its page, dir/name.html, in *page_path; both malloc'd. */
static char *pout_file(const char *dir, const char *name, const char *text,
                       char **page_path)
{
    char *file = NULL;
    assert_true(asprintf(&file, "%s.jsonl", name) > 0);
    char *path = tu_join(dir, file);
    free(file);
    assert_true(asprintf(&file, "%s.html", name) > 0);
    *page_path = tu_join(dir, file);
    free(file);
    tu_write_file(path, text, strlen(text));
    return path;
}

static int value_of(void *data)
{
    bmp_buffer *b = data;
    char text[16] = {0};
    memcpy(text, b->bytes, b->size < 15 ? b->size : 15);
    return atoi(text);
}

/* Item 2's worker dies; item 3 fails.  Each item first sleeps, so that
 * every bar is wider than a pixel of the run's span and none joins an
 * aggregate, however loaded the machine. */
static int fault_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)arg;
    struct timespec ts = {0, 40 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int v = value_of(*data);
    if (v == 2)
        raise(SIGKILL);
    return v == 3 ? BMP_EINVAL : BMP_CONTINUE;
}

static void report_keyword_on_a_real_run(void **state)
{
    const char *dir = *state;
    json_t *names = tu_numbered_files(dir, "in_%d.dat", 6);
    char *out = tu_join(dir, "out");
    char *page_path = tu_join(dir, "page.html");
    bmp_pipe *pipe = tu_times_ten_pipe();
    assert_int_equal(bmp_pipe_add_pre(pipe, fault_step, NULL, "faults"), 0);
    json_t *kw = json_pack("{s:s, s:b, s:i, s:i, s:s}", "outdir", out,
                           "create_outdir", 1, "num_processes", 2,
                           "process_size", 8 << 20, "report", page_path);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err),
                     0);
    assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_CRASHED);
    assert_int_equal(bmp_pout_status(pout, 3), BMP_ITEM_FAILED);
    /* Every item carries what the page draws, the dead worker's too. */
    const bmp__pout_entry *e = pout->entries;
    for (size_t i = 0; i < 6; i++) {
        assert_true(e[i].r.stats.start > 1e9);
        assert_true(e[i].r.stats.worker >= 0 && e[i].r.stats.worker < 2);
        assert_true(e[i].r.stats.budget > 0);
    }
    assert_true(e[2].r.stats.wall_s >= 0);

    char *page = tu_read_file(page_path, NULL);
    assert_non_null(page);
    assert_int_equal(count_of(page, "<rect class=\"bar "), 6);
    assert_int_equal(aggregated(page), 0);
    assert_non_null(
        strstr(page, "<rect class=\"bar s-crashed\" data-i=\"2\""));
    assert_non_null(strstr(page, "<rect class=\"bar s-failed\" data-i=\"3\""));
    assert_non_null(strstr(page, "id=\"budget-line\""));
    /* The last page is not a live one. */
    assert_null(strstr(page, "http-equiv=\"refresh\""));
    free(page);

    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
    free(out);
    free(page_path);
}

/* A user executor of four threads, each running every fourth item with
 * bmp_run_item(): the page is rewritten from their progress reports
 * while other threads finish items, and ends with one bar per item. */
typedef struct thread_job {
    bmp_run *run;
    size_t first;
} thread_job;

static void *run_every_fourth(void *arg)
{
    thread_job *job = arg;
    for (size_t i = job->first; i < bmp_run_count(job->run); i += 4)
        bmp_run_item(job->run, i);
    return NULL;
}

static int threads_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)arg;
    (void)err;
    pthread_t t[4];
    thread_job jobs[4];
    for (size_t k = 0; k < 4; k++) {
        jobs[k] = (thread_job){run, k};
        assert_int_equal(pthread_create(&t[k], NULL, run_every_fourth,
                                        &jobs[k]),
                         0);
    }
    for (size_t k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    return 0;
}

/* Items long enough for the run to pass the page's two-second
 * rewrite interval, so that a rewrite meets threads finishing items. */
static int nap_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)data;
    (void)arg;
    struct timespec ts = {0, 60 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return BMP_CONTINUE;
}

static void report_keyword_with_threads(void **state)
{
    const char *dir = *state;
    enum { N = 160 };
    json_t *names = tu_numbered_files(dir, "t_%d.dat", N);
    char *out = tu_join(dir, "tout");
    char *page_path = tu_join(dir, "threads.html");
    bmp_pipe *pipe = tu_times_ten_pipe();
    assert_int_equal(bmp_pipe_add_pre(pipe, nap_step, NULL, "nap"), 0);
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION, .run = threads_run};
    assert_int_equal(bmp_pipe_set_executor(pipe, &ex), 0);
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", out, "create_outdir",
                           1, "report", page_path);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err),
                     0);
    char *page = tu_read_file(page_path, NULL);
    assert_non_null(page);
    assert_int_equal(count_of(page, "<rect class=\"bar ") + aggregated(page),
                     N);
    free(page);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
    free(out);
    free(page_path);
}

/* A user executor that computes nothing and sets each item's result
 * with bmp_run_set_result(): with a start (stats version 3) the item is
 * drawn where and when it says; without one, as ending when it was
 * set. */
static int set_results_run(bmp_run *run, int workers, void *arg,
                           bmp_error *err)
{
    (void)workers;
    (void)arg;
    for (size_t i = 0; i < bmp_run_count(run); i++) {
        bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION,
                             .attempts = 1,
                             .wall_s = 2.0,
                             .peak_rss = -1,
                             .start_rss = -1,
                             .estimate = -1,
                             .rank = -1};
        if (i == 0) {
            st.start = 1764878100.0;
            st.worker = 5;
            st.budget = 1 << 30;
        }
        bmp_item_result r = {.version = BMP_ITEM_RESULT_VERSION,
                             .status = BMP_ITEM_NO_OUTPUT,
                             .stats = &st};
        int rc = bmp_run_set_result(run, i, &r, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void report_results_set_from_elsewhere(void **state)
{
    const char *dir = *state;
    json_t *names = json_pack("[s,s]", "x/a", "x/b");
    char *page_path = tu_join(dir, "set.html");
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = set_results_run};
    assert_int_equal(bmp_pipe_set_executor(pipe, &ex), 0);
    json_t *kw = json_pack("{s:s}", "report", page_path);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err),
                     0);
    bmp_item_stats st = {.version = 3};
    assert_int_equal(bmp_pout_stats(pout, 0, &st), 0);
    assert_true(st.start == 1764878100.0);
    assert_int_equal(st.worker, 5);
    assert_int_equal(st.budget, 1 << 30);
    st = (bmp_item_stats){.version = 3};
    assert_int_equal(bmp_pout_stats(pout, 1, &st), 0);
    assert_true(st.start > 1764878100.0);
    assert_int_equal(st.worker, -1);
    assert_int_equal(st.budget, -1);
    char *page = tu_read_file(page_path, NULL);
    assert_int_equal(count_of(page, "<rect class=\"bar ") + aggregated(page),
                     2);
    assert_non_null(strstr(page, ">worker 5</text>"));
    assert_non_null(strstr(page, "id=\"budget-line\""));
    free(page);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
    free(page_path);
}

/* A result of one attempt, started `start` seconds after 2025-12-04
 * 19:55:00 UTC (the time the pages show), that ran `wall_s` seconds in
 * worker `worker`; every other figure unknown. */
static bmp__result result_of(bmp_status status, double start, double wall_s,
                             int worker)
{
    bmp__result r = {.status = status};
    bmp__stats_init(&r.stats);
    r.stats.start = 1764878100.0 + start;
    r.stats.wall_s = wall_s;
    r.stats.worker = worker;
    r.stats.attempts = 1;
    return r;
}

/* A page of a run going on draws the final items only and counts the
 * others as not finished. */
static void report_live_page_draws_final_items(void **state)
{
    (void)state;
    enum { N = 4 };
    json_t *items = json_pack("[s,s,s,s]", "a", "b", "c", "d");
    bmp__result results[N];
    unsigned char final[N] = {1, 0, 1, 0};
    for (int i = 0; i < N; i++) {
        results[i] = result_of(BMP_ITEM_OK, i, 0.5, i % 2);
    }
    bmp__report_source src = {.count = N,
                              .items = items,
                              .results = results,
                              .final = final,
                              .live = 1};
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    assert_int_equal(bmp__report_html_fp(mem, &src), 0);
    fclose(mem);
    assert_int_equal(count_of(text, "<rect class=\"bar "), 2);
    assert_non_null(strstr(text, "data-i=\"0\""));
    assert_non_null(strstr(text, "data-i=\"2\""));
    assert_null(strstr(text, "data-i=\"1\""));
    assert_non_null(
        strstr(text, "not finished yet</th><td class=\"n\">2</td>"));
    assert_non_null(strstr(text, "http-equiv=\"refresh\""));
    /* Times say their zone. */
    assert_non_null(strstr(text, "2025-12-04 19:55:00 UTC"));
    free(text);
    json_decref(items);
}

/* Names from the pout: a group, a byte that is not UTF-8, markup; an
 * error with markup.  All escaped; the page valid UTF-8. */
static void report_escapes_names_and_errors(void **state)
{
    const char *dir = *state;
    static const char text[] =
        "{\"in_name\": [\"g/<b>1\", \"caf\\udce9\"], \"outname\": null, "
        "\"meta\": {}, \"status\": \"failed\", \"error\": \"bad </td> "
        "'x' & \\\"y\\\"\", \"stats\": {\"wall_s\":0.5,\"start\":1764878100.5,"
        "\"worker\":0,\"attempts\":2}}\n";
    char *page_path = NULL;
    char *pout_path = pout_file(dir, "hard", text, &page_path);
    char *page = page_from_file(pout_path, page_path);
    assert_non_null(strstr(page, "[g/&lt;b&gt;1, caf\\xe9]"));
    assert_non_null(strstr(page, "bad &lt;/td&gt; &#39;x&#39; &amp; "
                                 "&quot;y&quot;"));
    assert_null(strstr(page, "<b>"));
    assert_null(strstr(page, "</td> '"));
    assert_non_null(strstr(page, "s-failed retried"));
    for (const char *p = page; *p; p++)
        assert_true((unsigned char)*p != 0xe9);
    free(page);
    free(pout_path);
    free(page_path);
}

/* Thin bars join into marks that count them: every item is counted,
 * and the page has far fewer marks than items. */
static void report_aggregates_thin_bars(void **state)
{
    const char *dir = *state;
    enum { N = 20000 };
    bmp_pout *pout = NULL;
    char *path = tu_join(dir, "many.jsonl");
    char *page_path = tu_join(dir, "many.html");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < N; i++)
        fprintf(f,
                "{\"in_name\": \"%d\", \"outname\": null, \"meta\": {}, "
                "\"status\": \"%s\", \"error\": %s, \"stats\": "
                "{\"wall_s\":0.001,\"start\":%.6f,\"worker\":%d,"
                "\"attempts\":1,\"peak_rss\":1000000}}\n",
                i, i == 777 ? "failed" : "no_output",
                i == 777 ? "\"no\"" : "null", 1764878100.0 + i * 0.0005,
                i % 4);
    fclose(f);
    bmp_error err = {0};
    assert_int_equal(bmp_pout_read(path, &pout, &err), 0);
    assert_int_equal(bmp_pout_report_html(pout, page_path, "many", &err), 0);
    char *page = tu_read_file(page_path, NULL);
    size_t bars = count_of(page, "<rect class=\"bar ");
    assert_int_equal(bars + aggregated(page), N);
    assert_true(bars + count_of(page, "<rect class=\"agg") < N / 4);
    /* The failure's mark says so, by its count, and is shaded by the
     * fraction that failed: one among many is a tint, not red. */
    const char *bad = strstr(page, "<rect class=\"agg bad\"");
    assert_non_null(bad);
    assert_non_null(strstr(page, "data-failed=\"1\""));
    assert_null(strstr(page, "fill:rgb(229,57,53)"));
    assert_int_equal(count_of(page, "class=\"agg bad\""), 1);
    free(page);
    bmp_pout_free(pout);
    free(path);
    free(page_path);
}

/* Figures at the ends of their types (a pout edited by hand, or
 * garbage): the page is still drawn, every item counted, and nothing
 * overflows (the sanitizer builds run this). */
static void report_survives_extreme_figures(void **state)
{
    const char *dir = *state;
    char *path = tu_join(dir, "extreme.jsonl");
    char *page_path = tu_join(dir, "extreme.html");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 6; i++)
        fprintf(f,
                "{\"in_name\": \"%d\", \"outname\": null, \"meta\": {}, "
                "\"status\": \"no_output\", \"error\": null, \"stats\": "
                "{\"wall_s\":%s,\"start\":%s,\"worker\":%d,"
                "\"attempts\":2147483647,\"peak_rss\":9223372036854775807,"
                "\"start_rss\":0,\"estimate\":9223372036854775807,"
                "\"budget\":9223372036854775807,\"rank\":%d,"
                "\"host\":\"h\"}}\n",
                i,
                i == 0   ? "-5"
                : i == 1 ? "1e300"
                         : "0.5",
                i == 2 ? "1e12" : "1764878100.5", i, i % 3);
    fclose(f);
    char *page = page_from_file(path, page_path);
    /* Item 2's start is out of range: unknown, so off the timeline. */
    assert_int_equal(count_of(page, "<rect class=\"bar ") + aggregated(page),
                     5);
    free(page);
    free(path);
    free(page_path);
}

/* A journal's broken line is named, and no page is written. */
static void report_refuses_a_broken_journal(void **state)
{
    const char *dir = *state;
    static const char text[] =
        "{\"bmp_journal\": 1, \"items\": 2}\n"
        "{\"index\": 0, \"in_name\": \"a\", \"outname\": null, \"meta\": {}, "
        "\"status\": \"no_output\", \"error\": null}\n"
        "{\"index\": 5, \"in_name\": \"b\"}\n";
    char *page_path = NULL;
    char *path = pout_file(dir, "j", text, &page_path);
    bmp_error err = {0};
    assert_int_equal(bmp_report_html_file(path, page_path, &err), BMP_EPOUT);
    assert_string_equal(err.source, path);
    assert_non_null(strstr(err.text, "line 3"));
    assert_false(tu_exists(page_path));
    /* Without the bad line: one item drawn, one not finished. */
    tu_write_file(path, text, strlen(text) - strlen(strrchr(text, '{')));
    char *page = page_from_file(path, page_path);
    assert_non_null(
        strstr(page, "not finished yet</th><td class=\"n\">1</td>"));
    free(page);
    free(path);
    free(page_path);
}

/* A user executor that runs the first item, then fails the run; with a
 * folder for `arg`, it removes it (the page's), so that the last page
 * cannot be written either, and fails with a code only, leaving `err`
 * empty, as an executor may. */
static int first_then_fail(bmp_run *run, int workers, void *arg,
                           bmp_error *err)
{
    (void)workers;
    bmp_run_item(run, 0);
    if (arg) {
        tu_rmtree(arg);
        return BMP_EINVAL;
    }
    return bmp_error_set(err, BMP_EINVAL, "executor", NULL,
                         "the cluster went away");
}

/* The page of a run that stops with an error after its first live page:
 * an unknown executor, or no worker fitting the budget.  The page is not
 * left saying the run goes on: it is a last one, without the refresh,
 * saying the run stopped and why; the run's error is the caller's, not
 * overwritten by the page's writing. */
static void report_of_a_run_that_stopped(void **state)
{
    const char *dir = *state;
    json_t *names = tu_numbered_files(dir, "in_%d.dat", 3);
    char *page_path = tu_join(dir, "stopped.html");
    bmp_pipe *pipe = tu_times_ten_pipe();
    json_t *kws[2] = {json_pack("{s:s, s:s}", "executor", "bogus", "report",
                                page_path),
                      json_pack("{s:f, s:s}", "process_size", 1e18, "report",
                                page_path)};
    const char *why[2] = {"unknown executor", NULL};
    json_t *plain = json_pack("{s:s, s:s}", "outdir", dir, "report",
                              page_path);
    bmp_pipe *failing = tu_times_ten_pipe();
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = first_then_fail};
    assert_int_equal(bmp_pipe_set_executor(failing, &ex), 0);
    for (int k = 0; k < 3; k++) {
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        unlink(page_path);
        int rc = k < 2 ? bmp_pipeline(pipe, names, kws[k], NULL, NULL, &pout,
                                      &err)
                       : bmp_pipeline(failing, names, plain, NULL, NULL, &pout,
                                      &err);
        assert_true(rc < 0);
        assert_int_equal(err.code, rc);
        if (k < 2 && why[k])
            assert_non_null(strstr(err.text, why[k]));
        if (k == 2)
            assert_string_equal(err.text, "the cluster went away");
        char *page = tu_read_file(page_path, NULL);
        assert_non_null(page);
        assert_null(strstr(page, "http-equiv=\"refresh\""));
        assert_null(strstr(page, "The run is going on"));
        const char *said = strstr(page, "id=\"run-stopped\"");
        assert_non_null(said);
        /* The page says the run's own error (up to its first character
         * that the page escapes). */
        char first[64] = {0};
        size_t len = strcspn(err.text, "\"&<>'");
        memcpy(first, err.text, len < 40 ? len : 40);
        assert_true(strlen(first) > 10);
        assert_non_null(strstr(said, first));
        /* The executor's item that finished is drawn. */
        if (k == 2)
            assert_int_equal(count_of(page, "<rect class=\"bar "), 1);
        free(page);
        bmp_pout_free(pout);
        if (k < 2)
            json_decref(kws[k]);
    }
    json_decref(plain);
    bmp_pipe_free(failing);
    json_decref(names);
    bmp_pipe_free(pipe);
    free(page_path);
}

/* The run's error stays the caller's when the last page, written after
 * it, fails too: the page's failure is not put in its place, even when
 * the executor failed with a code and no message. */
static void report_failure_keeps_the_runs_error(void **state)
{
    const char *dir = *state;
    json_t *names = tu_numbered_files(dir, "in_%d.dat", 2);
    char *pages = tu_join(dir, "pages");
    char *page_path = tu_join(pages, "p.html");
    assert_int_equal(mkdir(pages, 0755), 0);
    json_t *kw = json_pack("{s:s, s:s}", "outdir", dir, "report", page_path);
    bmp_pipe *pipe = tu_times_ten_pipe();
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = first_then_fail,
                       .arg = pages};
    assert_int_equal(bmp_pipe_set_executor(pipe, &ex), 0);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err),
                     BMP_EINVAL);
    assert_true(err.code == 0 || err.code == BMP_EINVAL);
    assert_null(strstr(err.text, "report"));
    assert_false(tu_exists(page_path));
    bmp_pout_free(pout);
    bmp_pipe_free(pipe);
    json_decref(kw);
    json_decref(names);
    free(page_path);
    free(pages);
}

/* Draws a run's results to a string (the caller frees it). */
static char *page_of(json_t *items, const bmp__result *results, size_t n)
{
    bmp__report_source src = {.count = n, .items = items, .results = results};
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    assert_non_null(mem);
    assert_int_equal(bmp__report_html_fp(mem, &src), 0);
    fclose(mem);
    return text;
}

/* An error of many lines (a Python traceback) keeps its lines and tabs
 * in the page, for the cell's pre-wrap; a name's newline stays a visible
 * \x0a, and other control bytes in an error too. */
static void report_keeps_the_lines_of_errors(void **state)
{
    (void)state;
    json_t *items = json_pack("[s]", "two\nlines.fits");
    bmp__result r = result_of(BMP_ITEM_FAILED, 0, 0.5, 0);
    r.error = "Traceback (most recent call last):\n\tFile \"x.py\"\n"
              "ValueError: bad\x01";
    char *page = page_of(items, &r, 1);
    assert_non_null(strstr(page, "Traceback (most recent call last):\n"
                                 "\tFile &quot;x.py&quot;\nValueError: "
                                 "bad\\x01</td>"));
    assert_null(strstr(page, "last):\\x0a"));
    assert_non_null(strstr(page, "two\\x0alines.fits"));
    assert_null(strstr(page, "two\nlines"));
    free(page);
    json_decref(items);
}

/* Memory against a budget far above it (the machine's memory, items of
 * a few MiB): the peak and its share of the budget are written out, the
 * plot's scale fits the curve and the budget is marked off the scale;
 * a budget near the peak is a line at its height. */
static void report_scales_memory_to_the_curve(void **state)
{
    (void)state;
    enum { N = 8 };
    json_t *items = json_array();
    bmp__result rs[N];
    for (int k = 0; k < 2; k++) {
        int64_t budget = k == 0 ? (int64_t)17 << 30 : (int64_t)300 << 20;
        json_array_clear(items);
        for (int i = 0; i < N; i++) {
            json_array_append_new(items, json_sprintf("i%d", i));
            rs[i] = result_of(BMP_ITEM_OK, i, 1, 0);
            rs[i].stats.peak_rss = (int64_t)(4 + i * 13) << 20;
            rs[i].stats.budget = budget;
        }
        char *page = page_of(items, rs, N);
        /* One item runs at a time: the peak is the largest item's. */
        char want[128];
        snprintf(want, sizeof want,
                 "<p id=\"memory-peak\">peak %.1f MiB = %.1f %% of the "
                 "budget of %.1f MiB",
                 4.0 + (N - 1) * 13,
                 100.0 * (4 + (N - 1) * 13) / (budget >> 20),
                 (double)(budget >> 20));
        assert_non_null(strstr(page, want));
        assert_non_null(strstr(page, "id=\"budget-line\""));
        assert_non_null(
            strstr(page, k == 0 ? "data-scale=\"off\"" : "data-scale=\"in\""));
        assert_true((strstr(page, "off the scale") != NULL) == (k == 0));
        free(page);
    }
    json_decref(items);
}

/* The estimates plot draws an item only when it has both an estimate
 * and a measured growth (peak less start): one dot each, marked over
 * when it used more than estimated and under when the estimate was more
 * than twice its use; the scale runs to the largest of either axis.
 * Without any such item, a note says why there is no plot. */
static void report_plots_estimates_of_measured_items(void **state)
{
    (void)state;
    enum { N = 5 };
    static const struct {
        int64_t estimate, start, peak;
        int over;
    } figures[N] = {
        {100, 10, 60, 0}, /* used half: neither mark */
        {20, 10, 90, 1},  /* over its estimate */
        {200, 10, 20, 0}, /* estimate far too high */
        {-1, 10, 50, 0},  /* no estimate: not drawn */
        {50, -1, 40, 0},  /* no start: no growth, not drawn */
    };
    json_t *items = json_array();
    bmp__result rs[N];
    for (int i = 0; i < N; i++) {
        json_array_append_new(items, json_sprintf("item%d", i));
        rs[i] = result_of(BMP_ITEM_OK, i, 1, 0);
        rs[i].stats.estimate = figures[i].estimate < 0
                                   ? -1
                                   : figures[i].estimate << 20;
        rs[i].stats.start_rss = figures[i].start < 0 ? -1
                                                     : figures[i].start << 20;
        rs[i].stats.peak_rss = figures[i].peak << 20;
        rs[i].stats.over_estimate = figures[i].over;
    }
    char *page = page_of(items, rs, N);
    const char *plot = strstr(page, "<svg id=\"estimate-plot\"");
    assert_non_null(plot);
    const char *end = strstr(plot, "</svg>");
    assert_non_null(end);
    char *svg = strndup(plot, (size_t)(end - plot));
    assert_non_null(svg);
    assert_int_equal(count_of(svg, "<circle class=\"dot"), 3);
    assert_int_equal(count_of(svg, "<circle class=\"dot over\""), 1);
    assert_int_equal(count_of(svg, "<circle class=\"dot under\""), 1);
    for (int i = 0; i < N; i++) {
        char title[32];
        snprintf(title, sizeof title, "item%d: estimated", i);
        assert_int_equal(strstr(svg, title) != NULL, i < 3);
    }
    assert_non_null(strstr(svg, "estimate (0 to 200 MiB)"));
    free(svg);
    free(page);
    /* No item measured both: no plot, a note. */
    for (int i = 0; i < N; i++)
        rs[i].stats.start_rss = -1;
    page = page_of(items, rs, N);
    assert_null(strstr(page, "estimate-plot"));
    assert_non_null(strstr(page, "No item has both a memory estimate"));
    free(page);
    json_decref(items);
}

/* A pout written before starts were recorded: no timeline, but the
 * table lists the slowest items from their run times: the 25 slowest
 * that did not fail, and every failure, the longest first. */
static void report_lists_the_slowest_without_starts(void **state)
{
    const char *dir = *state;
    enum { N = 40 };
    char *path = tu_join(dir, "old.jsonl");
    char *page_path = tu_join(dir, "old.html");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* Run times in a shuffled order; items 5 and 17 failed. */
    for (int i = 0; i < N; i++)
        fprintf(f,
                "{\"in_name\": \"%d\", \"outname\": null, \"meta\": {}, "
                "\"status\": \"%s\", \"error\": %s, \"stats\": "
                "{\"wall_s\":%d.5,\"attempts\":1}}\n",
                i, i == 5 || i == 17 ? "failed" : "no_output",
                i == 5 || i == 17 ? "\"no\"" : "null", (i * 7) % N);
    fclose(f);
    char *page = page_from_file(path, page_path);
    assert_int_equal(count_of(page, "<td>slow</td>"), 25);
    assert_int_equal(count_of(page, "<td>failure</td>"), 2);
    /* The rows' run times, in the page's order, never rise; the slow
     * ones are the largest of the items that did not fail. */
    const char *p = strstr(page, "<tbody>");
    double last = 1e9, slow_min = 1e9;
    size_t rows = 0;
    while ((p = strstr(p, "<tr><td class=\"n\">"))) {
        const char *kind = strstr(p, "</td><td>") + 9;
        int slow = strncmp(kind, "slow", 4) == 0;
        const char *w = strstr(kind, "<td class=\"n\">") + 14;
        double wall = strtod(w, NULL);
        assert_true(wall <= last);
        last = wall;
        if (slow && wall < slow_min)
            slow_min = wall;
        rows++;
        p = w;
    }
    assert_int_equal(rows, 27);
    /* 38 items did not fail, their times 0.5 .. 39.5 but two; the 25th
     * largest of them is above 13. */
    assert_true(slow_min > 13);
    free(page);
    free(path);
    free(page_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_DIR_TEST(report_keyword_on_a_real_run),
        TU_DIR_TEST(report_keyword_with_threads),
        TU_DIR_TEST(report_results_set_from_elsewhere),
        cmocka_unit_test(report_live_page_draws_final_items),
        TU_DIR_TEST(report_escapes_names_and_errors),
        TU_DIR_TEST(report_aggregates_thin_bars),
        TU_DIR_TEST(report_refuses_a_broken_journal),
        TU_DIR_TEST(report_survives_extreme_figures),
        TU_DIR_TEST(report_of_a_run_that_stopped),
        TU_DIR_TEST(report_failure_keeps_the_runs_error),
        cmocka_unit_test(report_keeps_the_lines_of_errors),
        cmocka_unit_test(report_scales_memory_to_the_curve),
        cmocka_unit_test(report_plots_estimates_of_measured_items),
        TU_DIR_TEST(report_lists_the_slowest_without_starts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
