/*
 * test_shard.c -- the `shard` keyword and bmp_pout_merge(): shards of a
 * run, merged, give the pout and the outputs of the run unsharded, with
 * every executor; bad shard texts, a journal of another shard and pouts
 * that are not shards of one run are refused.
 *
 * The items are small text files holding their index; a pre-process step
 * rejects item 3, fails item 7 and puts the value in meta for the rest,
 * so that ok, no_output and failed entries all go through the merge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigmultipipe.h"
#include "testutil.h"

#define N_ITEMS 10

typedef struct fixture {
    char *dir;
    char *out;
    json_t *names;
    bmp_pipe *pipe;
} fixture;

static int classify(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    /* The file's bytes, not a C string: no terminator to rely on. */
    const bmp_buffer *b = *data;
    int v = 0;
    for (size_t i = 0; i < b->size && b->bytes[i] >= '0' && b->bytes[i] <= '9';
         i++)
        v = v * 10 + (b->bytes[i] - '0');
    /* Each run of an item appends its value to the file "runs_file"
     * names, one short line at a time (O_APPEND: whole lines). */
    const char *runs = bmp_kw_str(bmp_item_kw(item), "runs_file", NULL);
    if (runs) {
        FILE *fp = fopen(runs, "a");
        if (fp) {
            fprintf(fp, "%d\n", v);
            fclose(fp);
        }
    }
    if (v == 3)
        return BMP_REJECT;
    if (v == 7)
        return bmp_item_fail(item, 0, "seven is refused");
    json_object_set_new(bmp_item_meta(item), "value",
                        json_integer(
                            v + bmp_kw_int(bmp_item_kw(item), "bump", 0)));
    return BMP_CONTINUE;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->out = tu_join(f->dir, "out");
    f->names = tu_numbered_files(f->dir, "in%d.txt", N_ITEMS);
    f->pipe = bmp_pipe_new(NULL, NULL);
    assert_non_null(f->pipe);
    assert_int_equal(bmp_pipe_add_pre(f->pipe, classify, NULL, "classify"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bmp_pipe_free(f->pipe);
    json_decref(f->names);
    tu_rmtree(f->dir);
    free(f->out);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs the pipeline; `shard` NULL runs every item.  Asserts success. */
static bmp_pout *run(fixture *f, const char *executor, const char *shard,
                     int bump)
{
    json_t *kw = json_pack("{s:s, s:b, s:s, s:i, s:i}", "outdir", f->out,
                           "create_outdir", 1, "executor", executor,
                           "num_processes", 2, "bump", bump);
    if (shard)
        json_object_set_new(kw, "shard", json_string(shard));
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout, &err);
    if (rc != 0)
        print_error("pipeline: %s\n", err.text);
    assert_int_equal(rc, 0);
    assert_non_null(pout);
    json_decref(kw);
    return pout;
}

/* Entry i as JSON without its measurements, which differ between runs. */
static json_t *entry(const bmp_pout *pout, size_t i)
{
    json_t *e = bmp_pout_entry_json(pout, i);
    assert_non_null(e);
    json_object_del(e, "stats");
    return e;
}

/* The outputs' bytes, by item, as a JSON array (null: no output). */
static json_t *outputs(const bmp_pout *pout)
{
    json_t *a = json_array();
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        const char *o = bmp_pout_outname(pout, i);
        char *bytes = o ? tu_read_file(o, NULL) : NULL;
        json_array_append_new(a, bytes ? json_string(bytes) : json_null());
        free(bytes);
    }
    return a;
}

static void merge_equals_single(fixture *f, const char *executor)
{
    bmp_pout *single = run(f, executor, NULL, 0);
    json_t *want_out = outputs(single);
    /* The shards write the same outputs afresh. */
    tu_rmtree(f->out);

    bmp_pout *shards[3];
    for (int k = 0; k < 3; k++) {
        char text[8];
        snprintf(text, sizeof text, "%d/3", k);
        shards[k] = run(f, executor, text, 0);
        assert_int_equal(bmp_pout_count(shards[k]), N_ITEMS);
        /* A shard's own items only ran; the others say whose they are. */
        for (size_t i = 0; i < N_ITEMS; i++) {
            if (i % 3 == (size_t)k) {
                assert_int_not_equal(bmp_pout_status(shards[k], i),
                                     BMP_ITEM_NOT_RUN);
                continue;
            }
            char why[32];
            snprintf(why, sizeof why, "item of shard %zu/3", i % 3);
            assert_int_equal(bmp_pout_status(shards[k], i), BMP_ITEM_NOT_RUN);
            assert_string_equal(bmp_pout_error(shards[k], i), why);
        }
    }
    /* In any order. */
    const bmp_pout *order[3] = {shards[2], shards[0], shards[1]};
    bmp_pout *merged = NULL;
    size_t missing = 99;
    bmp_error err = {0};
    assert_int_equal(bmp_pout_merge(order, 3, &merged, &missing, &err), 0);
    assert_int_equal(missing, 0);
    assert_int_equal(bmp_pout_count(merged), N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++) {
        json_t *a = entry(single, i), *b = entry(merged, i);
        if (!json_equal(a, b)) {
            char *ta = json_dumps(a, 0), *tb = json_dumps(b, 0);
            print_error("entry %zu: %s != %s\n", i, ta, tb);
            free(ta);
            free(tb);
        }
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
    }
    assert_int_equal(bmp_pout_status(merged, 3), BMP_ITEM_NO_OUTPUT);
    assert_int_equal(bmp_pout_status(merged, 7), BMP_ITEM_FAILED);
    json_t *got_out = outputs(merged);
    assert_true(json_equal(want_out, got_out));
    json_decref(got_out);
    json_decref(want_out);
    bmp_pout_free(merged);
    for (int k = 0; k < 3; k++)
        bmp_pout_free(shards[k]);
    bmp_pout_free(single);
}

static void shard_merge_equals_single_process(void **state)
{
    merge_equals_single(*state, "process");
}

static void shard_merge_equals_single_serial(void **state)
{
    merge_equals_single(*state, "serial");
}

static void shard_parse_texts(void **state)
{
    (void)state;
    size_t i = 99, n = 99;
    assert_int_equal(bmp_shard_parse("0/1", &i, &n), 0);
    assert_int_equal(i, 0);
    assert_int_equal(n, 1);
    assert_int_equal(bmp_shard_parse("12/13", &i, &n), 0);
    assert_int_equal(i, 12);
    assert_int_equal(n, 13);
    static const char *const bad[] = {
        "",
        "1/1",
        "2/2",
        "-1/2",
        "0/0",
        "a/2",
        "0/2x",
        " 0/2",
        "0/",
        "/2",
        "0/2/3",
        "+0/2",
        "0/ 2",
        "0",
        "1:2",
        "0x0/2",
        "99999999999999999999999/2",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        i = n = 77;
        if (bmp_shard_parse(bad[k], &i, &n) != BMP_EINVAL)
            print_error("accepted \"%s\"\n", bad[k]);
        assert_int_equal(bmp_shard_parse(bad[k], &i, &n), BMP_EINVAL);
        assert_int_equal(i, 77);
        assert_int_equal(n, 77);
    }
    assert_int_equal(bmp_shard_parse(NULL, &i, &n), BMP_EINVAL);
}

/* A bad shard is refused before anything runs: no output, no outdir. */
static void shard_bad_keyword_refused(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {"3/3", "1/0", "one/two", "0/2 "};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                               "create_outdir", 1, "shard", bad[k]);
        bmp_pout *pout = (bmp_pout *)1;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                      &err),
                         BMP_EINVAL);
        assert_null(pout);
        assert_non_null(strstr(err.text, "shard"));
        assert_non_null(strstr(err.text, bad[k]));
        assert_false(tu_exists(f->out));
        json_decref(kw);
    }
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->out, "shard", 1);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     BMP_EKWTYPE);
    assert_null(pout);
    json_decref(kw);
}

static void progress_seen(const bmp_progress *p, void *arg)
{
    bmp_progress *last = arg;
    /* Never another shard's item in the counts. */
    assert_true(p->done <= p->total);
    *last = *p;
}

/* The caller hears of the shard's items only: 4 of 10 for shard 0/3. */
static void shard_progress_counts_own_items(void **state)
{
    fixture *f = *state;
    bmp_progress last = {0};
    assert_int_equal(bmp_pipe_set_progress(f->pipe, progress_seen, &last), 0);
    bmp_pout *pout = run(f, "process", "0/3", 0);
    assert_int_equal(last.total, 4);
    assert_int_equal(last.done, 4);
    bmp_pipe_set_progress(f->pipe, NULL, NULL);
    bmp_pout_free(pout);
}

/* More shards than items: a shard with nothing to do runs nothing. */
static int forks;
static void count_fork(void)
{
    forks++;
}

static int count_calls(bmp_run *r, int workers, void *arg, bmp_error *err)
{
    (void)r;
    (void)workers;
    (void)err;
    (*(int *)arg)++;
    return 0;
}

/* A shard with no items (12/13 of 10) starts no worker: no fork, and no
 * call of a user executor; its pout is still whole, every item another
 * shard's. */
static void shard_empty_runs_nothing(void **state)
{
    fixture *f = *state;
    static int registered;
    if (!registered++)
        assert_int_equal(pthread_atfork(count_fork, NULL, NULL), 0);
    /* The count sees the workers of a shard with items. */
    forks = 0;
    bmp_pout *pout = run(f, "process", "0/2", 0);
    assert_true(forks > 0);
    bmp_pout_free(pout);
    tu_rmtree(f->out);
    forks = 0;
    pout = run(f, "process", "12/13", 0);
    assert_int_equal(forks, 0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NOT_RUN);
        char why[32];
        snprintf(why, sizeof why, "item of shard %zu/13", i % 13);
        assert_string_equal(bmp_pout_error(pout, i), why);
    }
    assert_false(tu_exists(f->out));
    bmp_pout_free(pout);

    int calls = 0;
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = count_calls,
                       .arg = &calls};
    assert_int_equal(bmp_pipe_set_executor(f->pipe, &ex), 0);
    pout = run(f, "process", "12/13", 0);
    assert_int_equal(bmp_pipe_set_executor(f->pipe, NULL), 0);
    assert_int_equal(calls, 0);
    assert_int_equal(bmp_pout_count(pout), N_ITEMS);
    bmp_pout_free(pout);
}

/* How many times each item ran, from the runs file (0 when none). */
static void count_runs(const char *path, int counts[N_ITEMS])
{
    memset(counts, 0, N_ITEMS * sizeof *counts);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    int v;
    while (fscanf(fp, "%d", &v) == 1)
        if (v >= 0 && v < N_ITEMS)
            counts[v]++;
    fclose(fp);
}

static void shard_journal_of_another_shard_refused(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    char *runs = tu_join(f->dir, "runs.txt");
    json_t *kw = json_pack("{s:s, s:b, s:s, s:s, s:s}", "outdir", f->out,
                           "create_outdir", 1, "journal", journal, "shard",
                           "0/2", "runs_file", runs);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     0);
    bmp_pout_free(pout);
    char *text = tu_read_file(journal, NULL);
    assert_non_null(strstr(text, "\"shard\": \"0/2\""));
    free(text);

    /* Resumed as shard 1/2, or unsharded: another run. */
    json_object_set_new(kw, "resume", json_true());
    json_object_set_new(kw, "shard", json_string("1/2"));
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     BMP_EINVAL);
    assert_null(pout);
    assert_non_null(strstr(err.text, "shard was \"0/2\", now \"1/2\""));
    json_object_del(kw, "shard");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "shard was \"0/2\", now unset"));

    /* The same shard resumes, taking every finished item of its own
     * (the failed one, 7's shard is 1/2, is not among them). */
    json_object_set_new(kw, "shard", json_string("0/2"));
    bmp_progress last = {0};
    assert_int_equal(bmp_pipe_set_progress(f->pipe, progress_seen, &last), 0);
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     0);
    bmp_pipe_set_progress(f->pipe, NULL, NULL);
    assert_int_equal(last.total, 5);
    assert_int_equal(last.done, 5);
    for (size_t i = 0; i < N_ITEMS; i += 2) {
        bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION};
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        assert_int_equal(bmp_pout_stats(pout, i, &st), 0);
        assert_int_equal(st.attempts, 1);
    }
    for (size_t i = 1; i < N_ITEMS; i += 2)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NOT_RUN);
    bmp_pout_free(pout);
    /* Taken from the journal: each of the shard's items ran once, in the
     * first run, and the other shard's never. */
    int counts[N_ITEMS];
    count_runs(runs, counts);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(counts[i], i % 2 == 0 ? 1 : 0);

    /* Shard 0/2's journal taken as shard 1/2 with force_resume: none of
     * 0/2's items is taken, nor kept in the journal, which is now 1/2's;
     * 1/2's items all run. */
    json_object_set_new(kw, "shard", json_string("1/2"));
    json_object_set_new(kw, "force_resume", json_true());
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     0);
    for (size_t i = 0; i < N_ITEMS; i += 2) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NOT_RUN);
        assert_string_equal(bmp_pout_error(pout, i), "item of shard 0/2");
    }
    for (size_t i = 1; i < N_ITEMS; i += 2)
        assert_int_not_equal(bmp_pout_status(pout, i), BMP_ITEM_NOT_RUN);
    bmp_pout_free(pout);
    count_runs(runs, counts);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(counts[i], 1);
    text = tu_read_file(journal, NULL);
    assert_non_null(strstr(text, "\"shard\": \"1/2\""));
    size_t lines = 0;
    for (const char *at = strstr(text, "{\"index\": "); at;
         at = strstr(at + 1, "{\"index\": ")) {
        assert_int_equal(atoi(at + 10) % 2, 1);
        lines++;
    }
    /* Items 1, 5, 9 ok and 3 no output are journaled; 7 failed, which
     * the journal may or may not hold, but never an even one. */
    assert_true(lines >= 4);
    free(text);
    json_decref(kw);
    free(runs);
    free(journal);
}

static void shard_merge_refusals(void **state)
{
    fixture *f = *state;
    bmp_pout *all = run(f, "serial", "0/1", 0);
    tu_rmtree(f->out);
    bmp_pout *s0 = run(f, "serial", "0/2", 1);
    tu_rmtree(f->out);
    bmp_pout *s1 = run(f, "serial", "1/2", 0);
    bmp_pout *merged = (bmp_pout *)1;
    bmp_error err = {0};

    /* Item 0 finished in both, with other meta ("bump"). */
    const bmp_pout *twice[] = {all, s0};
    assert_int_equal(bmp_pout_merge(twice, 2, &merged, NULL, &err),
                     BMP_EINVAL);
    assert_null(merged);
    assert_non_null(strstr(err.text, "item 0"));
    assert_non_null(strstr(err.text, "in0.txt"));
    assert_non_null(strstr(err.text, "different results"));

    /* Finished twice the same way: taken. */
    const bmp_pout *same[] = {s1, s1, all};
    size_t missing = 99;
    assert_int_equal(bmp_pout_merge(same, 3, &merged, &missing, NULL), 0);
    assert_int_equal(missing, 0);
    bmp_pout_free(merged);

    /* A missing shard: its items stay not_run, counted, named. */
    const bmp_pout *half[] = {s1};
    assert_int_equal(bmp_pout_merge(half, 1, &merged, &missing, NULL), 0);
    assert_int_equal(missing, 5);
    for (size_t i = 0; i < N_ITEMS; i += 2) {
        assert_int_equal(bmp_pout_status(merged, i), BMP_ITEM_NOT_RUN);
        assert_string_equal(bmp_pout_error(merged, i), "item of shard 0/2");
    }
    assert_int_equal(bmp_pout_status(merged, 7), BMP_ITEM_FAILED);
    bmp_pout_free(merged);

    /* Other items: another list, or the same list in another order. */
    json_t *fewer = json_array();
    for (size_t i = 0; i + 1 < N_ITEMS; i++)
        json_array_append(fewer, json_array_get(f->names, i));
    json_t *kw = json_pack("{s:s, s:s, s:b}", "outdir", f->out, "shard", "0/2",
                           "overwrite", 1);
    bmp_pout *other = NULL;
    assert_int_equal(bmp_pipeline(f->pipe, fewer, kw, NULL, NULL, &other,
                                  NULL),
                     0);
    const bmp_pout *lengths[] = {s1, other};
    memset(&err, 0, sizeof err);
    merged = (bmp_pout *)1;
    assert_int_equal(bmp_pout_merge(lengths, 2, &merged, &missing, &err),
                     BMP_EINVAL);
    assert_null(merged);
    assert_non_null(strstr(err.text, "9 items"));
    bmp_pout_free(other);
    json_t *swapped = json_deep_copy(f->names);
    json_array_set(swapped, 4, json_array_get(f->names, 5));
    json_array_set(swapped, 5, json_array_get(f->names, 4));
    assert_int_equal(bmp_pipeline(f->pipe, swapped, kw, NULL, NULL, &other,
                                  NULL),
                     0);
    const bmp_pout *order[] = {s1, other};
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pout_merge(order, 2, &merged, &missing, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "item 4"));
    assert_non_null(strstr(err.text, "in4.txt"));
    bmp_pout_free(other);

    assert_int_equal(bmp_pout_merge(NULL, 1, &merged, NULL, NULL), BMP_EINVAL);
    assert_int_equal(bmp_pout_merge(order, 0, &merged, NULL, NULL),
                     BMP_EINVAL);
    json_decref(swapped);
    json_decref(fewer);
    json_decref(kw);
    bmp_pout_free(s1);
    bmp_pout_free(s0);
    bmp_pout_free(all);
}

static void *no_malloc(size_t size)
{
    (void)size;
    return NULL;
}

/* Out of memory while reading an entry's meta is out of memory, not two
 * results that differ: -ENOMEM, and no pout. */
static void shard_merge_out_of_memory(void **state)
{
    fixture *f = *state;
    /* The process executor keeps a worker's meta as text until it is
     * read, so the merge has to parse it. */
    bmp_pout *a = run(f, "process", "0/2", 0);
    tu_rmtree(f->out);
    bmp_pout *b = run(f, "process", "0/2", 0);
    const bmp_pout *both[] = {a, b};
    bmp_pout *merged = (bmp_pout *)1;
    bmp_error err = {0};
    json_set_alloc_funcs(no_malloc, free);
    int rc = bmp_pout_merge(both, 2, &merged, NULL, &err);
    json_set_alloc_funcs(malloc, free);
    assert_int_equal(rc, -ENOMEM);
    assert_null(merged);
    /* With memory, the same pouts merge. */
    assert_int_equal(bmp_pout_merge(both, 2, &merged, NULL, NULL), 0);
    bmp_pout_free(merged);
    bmp_pout_free(b);
    bmp_pout_free(a);
}

/* A merged pout survives its file: written and read back, it is the
 * same, and a shard's pout file reads back with its not_run entries. */
static void shard_merge_through_files(void **state)
{
    fixture *f = *state;
    bmp_pout *s[2] = {run(f, "process", "0/2", 0),
                      run(f, "process", "1/2", 0)};
    bmp_pout *read[2];
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "shard%d.jsonl", k);
        char *path = tu_join(f->dir, name);
        assert_int_equal(bmp_pout_write(s[k], path, NULL), 0);
        assert_int_equal(bmp_pout_read(path, &read[k], NULL), 0);
        free(path);
    }
    bmp_pout *a = NULL, *b = NULL;
    size_t missing = 99;
    assert_int_equal(bmp_pout_merge((const bmp_pout *const *)s, 2, &a,
                                    &missing, NULL),
                     0);
    assert_int_equal(missing, 0);
    assert_int_equal(bmp_pout_merge((const bmp_pout *const *)read, 2, &b,
                                    &missing, NULL),
                     0);
    assert_int_equal(missing, 0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        json_t *x = entry(a, i), *y = entry(b, i);
        assert_true(json_equal(x, y));
        json_decref(x);
        json_decref(y);
    }
    bmp_pout_free(a);
    bmp_pout_free(b);
    for (int k = 0; k < 2; k++) {
        bmp_pout_free(read[k]);
        bmp_pout_free(s[k]);
    }
}

/* A run removes the temporaries that dead writers left beside its
 * outputs, but a shard only its own items': another shard's may be
 * written this moment on another machine, whose lock this one may not
 * see. */
static void shard_removes_own_temporaries_only(void **state)
{
    fixture *f = *state;
    assert_int_equal(bmp_mkdir_parents(f->out), 0);
    char *mine = tu_join(f->out, ".in0_bmp.txt.bmp-Ab12Cd");
    char *theirs = tu_join(f->out, ".in1_bmp.txt.bmp-Ef34Gh");
    tu_write_file(mine, "part", 4);
    tu_write_file(theirs, "part", 4);
    bmp_pout *pout = run(f, "serial", "0/2", 0);
    assert_false(tu_exists(mine));
    assert_true(tu_exists(theirs));
    bmp_pout_free(pout);
    /* Unsharded, every item is the run's own. */
    json_t *kw = json_pack("{s:s, s:b}", "outdir", f->out, "overwrite", 1);
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  NULL),
                     0);
    assert_false(tu_exists(theirs));
    bmp_pout_free(pout);
    json_decref(kw);
    free(theirs);
    free(mine);
}

/* Runs `names` as shard `shard` (NULL: unsharded) over what is in the
 * output directory. */
static void run_names(fixture *f, json_t *names, const char *shard)
{
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out, "overwrite", 1,
                           "executor", "serial");
    if (shard)
        json_object_set_new(kw, "shard", json_string(shard));
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(f->pipe, names, kw, NULL, NULL, &pout, NULL),
                     0);
    bmp_pout_free(pout);
    json_decref(kw);
}

/* Temporaries' prefixes keep the first 200 bytes of the output's name:
 * two items whose names share those bytes share a prefix, so a dead
 * temporary of that prefix may be either's, and a shard that owns one
 * of them only leaves it alone. */
static void shard_temporaries_of_a_shared_prefix(void **state)
{
    fixture *f = *state;
    assert_int_equal(bmp_mkdir_parents(f->out), 0);
    char longname[300], temp[300];
    memset(longname, 'a', 210);
    json_t *names = json_array();
    for (int i = 0; i < 2; i++) {
        snprintf(longname + 210, sizeof longname - 210, "%d.txt", i);
        char *path = tu_join(f->dir, longname);
        char value[2] = {(char)('0' + i), '\n'};
        tu_write_file(path, value, sizeof value);
        json_array_append_new(names, json_string(path));
        free(path);
    }
    temp[0] = '.';
    memset(temp + 1, 'a', 200);
    snprintf(temp + 201, sizeof temp - 201, ".bmp-Ab12Cd");
    char *dead = tu_join(f->out, temp);
    tu_write_file(dead, "part", 4);
    run_names(f, names, "0/2");
    assert_true(tu_exists(dead));
    run_names(f, names, "1/2");
    assert_true(tu_exists(dead));
    /* Unsharded, both items are the run's own. */
    run_names(f, names, NULL);
    assert_false(tu_exists(dead));
    free(dead);
    json_decref(names);
}

/* A user executor: items not done run here, and the other shards'
 * are done from the start, so it never runs them; one it tries to set
 * anyway is refused, naming the shard. */
static int user_run(bmp_run *r, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)err;
    size_t *ran = arg;
    for (size_t i = 0; i < bmp_run_count(r); i++) {
        if (bmp_run_item_done(r, i))
            continue;
        bmp_run_item(r, i);
        (*ran)++;
    }
    bmp_item_result res = {.version = BMP_ITEM_RESULT_VERSION,
                           .status = BMP_ITEM_NO_OUTPUT};
    bmp_error e = {0};
    assert_int_equal(bmp_run_set_result(r, 1, &res, &e), BMP_EINVAL);
    assert_non_null(strstr(e.text, "shard 1/2"));
    return 0;
}

static void shard_user_executor(void **state)
{
    fixture *f = *state;
    bmp_pout *single = run(f, "serial", NULL, 0);
    tu_rmtree(f->out);
    size_t ran = 0;
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = user_run,
                       .arg = &ran};
    assert_int_equal(bmp_pipe_set_executor(f->pipe, &ex), 0);
    bmp_pout *s0 = run(f, "process", "0/2", 0);
    assert_int_equal(ran, 5);
    assert_int_equal(bmp_pipe_set_executor(f->pipe, NULL), 0);
    bmp_pout *s1 = run(f, "process", "1/2", 0);
    const bmp_pout *both[] = {s0, s1};
    bmp_pout *merged = NULL;
    size_t missing = 99;
    assert_int_equal(bmp_pout_merge(both, 2, &merged, &missing, NULL), 0);
    assert_int_equal(missing, 0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        json_t *a = entry(single, i), *b = entry(merged, i);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
    }
    bmp_pout_free(merged);
    bmp_pout_free(s1);
    bmp_pout_free(s0);
    bmp_pout_free(single);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(shard_merge_equals_single_process,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(shard_merge_equals_single_serial,
                                        setup, teardown),
        cmocka_unit_test(shard_parse_texts),
        cmocka_unit_test_setup_teardown(shard_bad_keyword_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shard_progress_counts_own_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shard_empty_runs_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shard_journal_of_another_shard_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(shard_merge_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(shard_merge_out_of_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shard_merge_through_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shard_removes_own_temporaries_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(shard_temporaries_of_a_shared_prefix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(shard_user_executor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
