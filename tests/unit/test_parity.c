/*
 * test_parity.c -- the library against the Python package bigmultipipe
 * 0.2.0, point by point: where it matches, and where it differs on
 * purpose as doc/differences.md says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const executors[] = {"serial", "process"};

static bmp_pout *run_ok(bmp_pipe *pipe, const json_t *names, const json_t *kw,
                        const bmp_step *post)
{
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, names, kw, NULL, post, &pout, &err);
    if (rc != 0)
        fail_msg("bmp_pipeline: %s", err.text);
    assert_non_null(pout);
    assert_int_equal(bmp_pout_count(pout), json_array_size(names));
    return pout;
}

/* ---- an empty group is one item ---------------------------------------- */

static void parity_empty_group_is_one_item(void **state)
{
    (void)state;
    tu_items *t = tu_items_new(1);
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        json_t *names = json_pack("[[], O, [[]]]",
                                  json_array_get(t->names, 0));
        json_t *kw = json_pack("{s:s, s:s, s:b, s:b}", "outdir", t->out,
                               "executor", executors[e], "create_outdir", 1,
                               "overwrite", 1);
        bmp_pout *pout = run_ok(pipe, names, kw, NULL);
        /* A group without outname fails alone, as every group does. */
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, 0), "outname"));
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_OK);
        assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_FAILED);
        assert_true(
            json_equal(bmp_pout_in_name(pout, 0), json_array_get(names, 0)));
        bmp_pout_free(pout);
        /* With an outname it is written: nothing read, nothing written. */
        json_t *one = json_pack("[[]]");
        json_object_set_new(kw, "outname", json_string("empty.out"));
        pout = run_ok(pipe, one, kw, NULL);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
        size_t size = 1;
        char *bytes = tu_read_file(bmp_pout_outname(pout, 0), &size);
        assert_non_null(bytes);
        assert_int_equal(size, 0);
        free(bytes);
        bmp_pout_free(pout);
        /* Through a pout file and a journal, resumed: the empty group
         * stays itself. */
        char *saved = tu_join(t->dir, "pout.jsonl");
        char *journal = tu_join(t->dir, "journal.jsonl");
        json_object_set_new(kw, "write_pout", json_string(saved));
        json_object_set_new(kw, "journal", json_string(journal));
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline_cached(pipe, one, kw, NULL, NULL, &pout,
                                             &err),
                         0);
        bmp_pout_free(pout);
        assert_int_equal(bmp_pout_read(saved, &pout, &err), 0);
        assert_int_equal(bmp_pout_count(pout), 1);
        assert_true(
            json_equal(bmp_pout_in_name(pout, 0), json_array_get(one, 0)));
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
        bmp_pout_free(pout);
        json_object_del(kw, "write_pout");
        json_object_set_new(kw, "resume", json_true());
        pout = run_ok(pipe, one, kw, NULL);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
        bmp_pout_free(pout);
        json_object_del(kw, "resume");
        json_object_del(kw, "journal");
        unlink(journal);
        free(saved);
        free(journal);
        json_decref(one);
        json_decref(kw);
        json_decref(names);
        bmp_pipe_free(pipe);
    }
    tu_items_free(t);
}

/* ---- input names with no base name ------------------------------------ */

/* A reader that reads nothing, so that the item reaches its output name
 * whatever its input names. */
static int read_nothing(bmp_item *item, const char *name, void **data)
{
    (void)item;
    (void)name;
    *data = bmp_buffer_new(0);
    return *data ? 0 : -1;
}

static void parity_empty_basename_fails_the_item(void **state)
{
    (void)state;
    tu_items *t = tu_items_new(1);
    char *sub = tu_join(t->dir, "sub/");
    json_t *names = json_pack("[s, O]", sub, json_array_get(t->names, 0));
    for (size_t e = 0; e < 2; e++) {
        /* The default reader refuses a directory. */
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        json_t *kw = json_pack("{s:s, s:s, s:b, s:b}", "outdir", t->out,
                               "executor", executors[e], "create_outdir", 1,
                               "overwrite", 1);
        assert_int_equal(tu_system("mkdir -p '%s'", sub), 0);
        bmp_pout *pout = run_ok(pipe, names, kw, NULL);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_OK);
        bmp_pout_free(pout);
        bmp_pipe_free(pipe);
        /* A reader that takes it: no output name is made up for it (the
         * Python package writes OUTDIR/_bmp); the message says why. */
        bmp_ops ops = {.file_read = read_nothing};
        pipe = bmp_pipe_new(&ops, NULL);
        pout = run_ok(pipe, names, kw, NULL);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, 0), "base name"));
        assert_non_null(strstr(bmp_pout_error(pout, 0), "outname"));
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_OK);
        char *bmp = tu_join(t->out, "_bmp");
        assert_false(tu_exists(bmp));
        free(bmp);
        bmp_pout_free(pout);
        bmp_pipe_free(pipe);
        json_decref(kw);
    }
    json_decref(names);
    free(sub);
    tu_items_free(t);
}

/* ---- outname without outdir ------------------------------------------- */

static void parity_outname_without_outdir_is_relative_to_cwd(void **state)
{
    (void)state;
    tu_items *t = tu_items_new(1);
    char *here = getcwd(NULL, 0);
    assert_non_null(here);
    assert_int_equal(chdir(t->dir), 0);
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        json_t *kw = json_pack("{s:s, s:s, s:b}", "outname", "named.out",
                               "executor", executors[e], "overwrite", 1);
        bmp_pout *pout = run_ok(pipe, t->names, kw, NULL);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
        /* Used as given, as Python's outname_creator does: not joined to
         * any directory, so relative to the current directory. */
        assert_string_equal(bmp_pout_outname(pout, 0), "named.out");
        char *made = tu_join(t->dir, "named.out");
        assert_true(tu_exists(made));
        free(made);
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    assert_int_equal(chdir(here), 0);
    free(here);
    tu_items_free(t);
}

/* ---- wrong-typed writing keywords ------------------------------------- */

static int overwrite_no(bmp_item *item, void **data, void *arg)
{
    (void)data;
    return bmp_kw_set_str(bmp_item_kw(item), "overwrite", arg);
}

static int meta_create_yes(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_str(bmp_item_meta(item), "create_outdir", "yes");
}

static int meta_outname_number(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "outname", 7);
}

static void parity_wrong_typed_writing_keywords(void **state)
{
    (void)state;
    tu_items *t = tu_items_new(2);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    /* In the run's keywords: the run is refused before anything runs,
     * naming the keyword (Python would take "yes" -- and "no" -- as
     * true). */
    json_t *kw = json_pack("{s:s, s:s}", "outdir", t->out, "create_outdir",
                           "yes");
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, t->names, kw, NULL, NULL, &pout, &err),
                     BMP_EKWTYPE);
    assert_null(pout);
    assert_non_null(strstr(err.text, "create_outdir"));
    assert_false(tu_exists(t->out));
    /* A number counts as its truth value, as in Python. */
    json_object_set_new(kw, "create_outdir", json_real(1.0));
    pout = run_ok(pipe, t->names, kw, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    bmp_pout_free(pout);
    for (size_t e = 0; e < 2; e++) {
        /* Set by a pre-process step: that item fails, its existing output
         * untouched ("overwrite": "no" never replaces it). */
        json_object_set_new(kw, "executor", json_string(executors[e]));
        bmp_pipe *pre = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_pre(pre, overwrite_no, "no", "overwrite_no");
        char *out0 = tu_join(t->out, "in_00_bmp.dat");
        tu_write_file(out0, "keep", 4);
        pout = run_ok(pre, t->names, kw, NULL);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, 0), "overwrite"));
        size_t size = 0;
        char *kept = tu_read_file(out0, &size);
        assert_int_equal(size, 4);
        assert_memory_equal(kept, "keep", 4);
        free(kept);
        free(out0);
        bmp_pout_free(pout);
        bmp_pipe_free(pre);
        /* Set in meta by a post-process step: the same. */
        const bmp_step post[] = {{meta_create_yes, NULL, "create"},
                                 {NULL, NULL, NULL}};
        pout = run_ok(pipe, t->names, kw, post);
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_FAILED);
        assert_non_null(
            strstr(bmp_pout_error(pout, 1), "meta key create_outdir"));
        bmp_pout_free(pout);
        const bmp_step name_post[] = {{meta_outname_number, NULL, "name"},
                                      {NULL, NULL, NULL}};
        pout = run_ok(pipe, t->names, kw, name_post);
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, 1), "meta key outname"));
        bmp_pout_free(pout);
    }
    json_decref(kw);
    bmp_pipe_free(pipe);
    tu_items_free(t);
}

/* ---- keywords nobody reads --------------------------------------------- */

/* Runs with standard error in a file; returns bmp_pipeline's code, and
 * what was written there (malloc'd) in *text. */
static int run_capturing(bmp_pipe *pipe, const json_t *names, const json_t *kw,
                         const bmp_step *pre, char **text, bmp_pout **pout,
                         bmp_error *err)
{
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "stderr");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    int rc = bmp_pipeline(pipe, names, kw, pre, NULL, pout, err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t size;
    *text = tu_read_file(path, &size);
    assert_non_null(*text);
    tu_rmtree(dir);
    free(path);
    free(dir);
    return rc;
}

static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *at = text; (at = strstr(at, needle)) != NULL; at++)
        n++;
    return n;
}

/* A pre-process step that reads "reject_value", as the seed's does: in
 * the worker process with the process executor. */
static int read_reject_value(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    double v;
    bmp_kw_get_real(bmp_item_kw(item), "reject_value", &v);
    return BMP_CONTINUE;
}

static void parity_unread_keyword_is_warned_once(void **state)
{
    (void)state;
    tu_items *t = tu_items_new(3);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    const bmp_step pre[] = {{read_reject_value, NULL, "reject"},
                            {NULL, NULL, NULL}};
    for (size_t e = 0; e < 2; e++) {
        json_t *kw = json_pack("{s:s, s:s, s:b, s:b, s:i, s:i, s:i}", "outdir",
                               t->out, "executor", executors[e],
                               "create_outdir", 1, "overwrite", 1,
                               "num_proceses", 2, "reject_value", 7,
                               "zzzz_mine", 1);
        char *text;
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(run_capturing(pipe, t->names, kw, pre, &text, &pout,
                                       &err),
                         0);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
        /* Once per run, naming the keyword and the nearest known one;
         * the keyword a step read in a worker is not named. */
        assert_int_equal(occurrences(text, "warning"), 1);
        assert_non_null(
            strstr(text, "num_proceses (did you mean num_processes?)"));
        assert_non_null(strstr(text, "zzzz_mine"));
        assert_null(strstr(text, "reject_value"));
        free(text);
        bmp_pout_free(pout);
        /* "ignore": nothing said. */
        json_object_set_new(kw, "unknown_keywords", json_string("ignore"));
        assert_int_equal(run_capturing(pipe, t->names, kw, pre, &text, &pout,
                                       &err),
                         0);
        assert_null(strstr(text, "num_proceses"));
        free(text);
        bmp_pout_free(pout);
        /* "error": the run's error, with the pout of the items that ran. */
        json_object_set_new(kw, "unknown_keywords", json_string("error"));
        assert_int_equal(run_capturing(pipe, t->names, kw, pre, &text, &pout,
                                       &err),
                         BMP_EINVAL);
        assert_non_null(strstr(err.text, "num_proceses"));
        assert_non_null(strstr(err.text, "num_processes"));
        assert_null(strstr(err.text, "reject_value"));
        assert_non_null(pout);
        assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_OK);
        free(text);
        bmp_pout_free(pout);
        /* Another mode is refused before anything runs. */
        json_object_set_new(kw, "unknown_keywords", json_string("loud"));
        pout = NULL;
        assert_int_equal(bmp_pipeline(pipe, t->names, kw, NULL, NULL, &pout,
                                      &err),
                         BMP_EINVAL);
        assert_null(pout);
        assert_non_null(strstr(err.text, "unknown_keywords"));
        json_decref(kw);
    }
    bmp_pipe_free(pipe);
    tu_items_free(t);
}

/* No item went through its steps (every input missing): whether a step
 * reads a keyword is not known, so nothing is said. */
static void parity_unread_keyword_needs_an_item_that_ran(void **state)
{
    (void)state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *names = json_pack("[s, s]", "/nonexistent/a", "/nonexistent/b");
    json_t *kw = json_pack("{s:i, s:s}", "reject_value", 2, "unknown_keywords",
                           "error");
    char *text;
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(run_capturing(pipe, names, kw, NULL, &text, &pout, &err),
                     0);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
    assert_null(strstr(text, "reject_value"));
    free(text);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* A keyword read only by a step of a nested pipeline, which the outer
 * step hands the outer item's keywords: read for both runs. */
static int read_inner_setting(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    long long v;
    return bmp_kw_get_int(bmp_item_kw(item), "inner_setting", &v) == 1
               ? BMP_CONTINUE
               : bmp_item_fail(item, BMP_EINVAL, "inner_setting not given");
}

static int run_nested(bmp_item *item, void **data, void *arg)
{
    (void)data;
    bmp_pipe *inner = bmp_pipe_new(NULL, NULL);
    const bmp_step pre[] = {{read_inner_setting, NULL, "inner"},
                            {NULL, NULL, NULL}};
    const bmp_step post[] = {{bmp_no_outfile, NULL, "no_outfile"},
                             {NULL, NULL, NULL}};
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(inner, arg, bmp_item_kw(item), pre, post, &pout,
                          &err);
    if (rc == 0 && bmp_pout_status(pout, 0) != BMP_ITEM_NO_OUTPUT)
        rc = bmp_item_fail(item, BMP_EINVAL, "inner item: %s",
                           bmp_pout_error(pout, 0));
    else if (rc < 0)
        bmp_item_fail(item, rc, "inner run: %s", err.text);
    bmp_pout_free(pout);
    bmp_pipe_free(inner);
    return rc < 0 ? rc : BMP_CONTINUE;
}

static void parity_keyword_read_by_a_nested_run_counts(void **state)
{
    (void)state;
    tu_items *t = tu_items_new(2);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    const bmp_step post[] = {{run_nested, t->names, "nested"},
                             {bmp_no_outfile, NULL, "no_outfile"},
                             {NULL, NULL, NULL}};
    for (size_t e = 0; e < 2; e++) {
        json_t *kw = json_pack("{s:s, s:s, s:i}", "executor", executors[e],
                               "unknown_keywords", "error", "inner_setting",
                               5);
        bmp_pout *pout = run_ok(pipe, t->names, kw, post);
        for (size_t i = 0; i < 2; i++)
            if (bmp_pout_status(pout, i) != BMP_ITEM_NO_OUTPUT)
                fail_msg("item %zu: %s", i, bmp_pout_error(pout, i));
        bmp_pout_free(pout);
        json_decref(kw);
    }
    bmp_pipe_free(pipe);
    tu_items_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parity_empty_group_is_one_item),
        cmocka_unit_test(parity_empty_basename_fails_the_item),
        cmocka_unit_test(parity_outname_without_outdir_is_relative_to_cwd),
        cmocka_unit_test(parity_wrong_typed_writing_keywords),
        cmocka_unit_test(parity_unread_keyword_is_warned_once),
        cmocka_unit_test(parity_unread_keyword_needs_an_item_that_ran),
        cmocka_unit_test(parity_keyword_read_by_a_nested_run_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
