/*
 * test_pipeline.c -- SPEC.md's rules for the pipeline, one case a rule:
 * the model, the control stream, the pre- and post-process lists,
 * data_process_meta_create, file_read/file_write defaults, groups,
 * multi_proc, pout order, and the same results from every executor.
 *
 * Inputs are small text files holding one number; the default operations
 * read them as bytes, so these cases do not depend on any file format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ITEMS 6

typedef struct fixture {
    char *dir;
    json_t *names; /* item_0.dat .. item_5.dat holding "0" .. "5" */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->names = tu_numbered_files(f->dir, "item_%d.dat", N_ITEMS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    json_decref(f->names);
    free(f);
    return 0;
}

/* The number a buffer holds. */
static int value_of(void *data)
{
    bmp_buffer *b = data;
    char text[32] = {0};
    memcpy(text, b->bytes, b->size < 31 ? b->size : 31);
    return atoi(text);
}

/* Replaces a buffer's contents with a number. */
static void set_value(bmp_item *item, void **data, int v)
{
    char text[32];
    snprintf(text, sizeof text, "%d", v);
    bmp_buffer *b = bmp_buffer_new(strlen(text));
    memcpy(b->bytes, text, strlen(text));
    bmp_item_data_free(item, *data);
    *data = b;
}

static json_t *kw_for(const fixture *f, const char *executor)
{
    /* overwrite: several cases run twice into the same directory. */
    return json_pack("{s:s, s:s, s:i, s:b}", "outdir", f->dir, "executor",
                     executor, "num_processes", 2, "overwrite", 1);
}

static bmp_pout *run_ok(bmp_pipe *pipe, const json_t *names, const json_t *kw,
                        const bmp_step *pre, const bmp_step *post)
{
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, names, kw, pre, post, &pout, &err);
    if (rc != 0)
        fail_msg("bmp_pipeline: %s", err.text);
    assert_non_null(pout);
    assert_int_equal(bmp_pout_count(pout), json_array_size(names));
    return pout;
}

static const char *const executors[] = {"serial", "process"};

/* ---- steps used below ------------------------------------------------- */

static int times_ten(bmp_item *item, void **data)
{
    set_value(item, data, value_of(*data) * 10);
    return BMP_CONTINUE;
}

static int record_value(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "value", value_of(*data));
}

static int reject_value(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    long long v;
    if (bmp_kw_get_int(bmp_item_kw(item), "reject_value", &v) == 1 &&
        value_of(*data) == v)
        return BMP_REJECT;
    return BMP_CONTINUE;
}

/* Appends the step's name (arg) to the item keyword "trace". */
static int trace(bmp_item *item, void **data, void *arg)
{
    (void)data;
    json_t *kw = bmp_item_kw(item);
    json_t *list = json_object_get(kw, "trace");
    if (!list) {
        list = json_array();
        json_object_set_new(kw, "trace", list);
    }
    json_array_append_new(list, json_string(arg));
    return BMP_CONTINUE;
}

static int trace_to_meta(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    json_t *list = json_object_get(bmp_item_kw(item), "trace");
    json_object_set(bmp_item_meta(item), "trace", list ? list : json_null());
    return BMP_CONTINUE;
}

/* ---- the model -------------------------------------------------------- */

/* pout: one (outname, meta) per item, in input order, whatever the order
 * of completion (early items sleep longest). */
static void slow_early(bmp_item *item)
{
    usleep((useconds_t)(N_ITEMS - bmp_item_index(item)) * 20000);
}

static int slow_then_record(bmp_item *item, void **data, void *arg)
{
    slow_early(item);
    return record_value(item, data, arg);
}

static void pipeline_pout_in_input_order(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.data_process = times_ten};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, slow_then_record, NULL, "record");
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->dir, "num_processes", 3);
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        assert_int_equal(json_integer_value(
                             json_object_get(bmp_pout_meta(pout, i), "value")),
                         (long long)i * 10);
        char expect[32];
        snprintf(expect, sizeof expect, "item_%zu_bmp.dat", i);
        char *path = tu_join(f->dir, expect);
        assert_string_equal(bmp_pout_outname(pout, i), path);
        /* The data began and ended on disk. */
        char *text = tu_read_file(path, NULL);
        assert_non_null(text);
        assert_int_equal(atoi(text), (int)i * 10);
        free(text);
        free(path);
        assert_true(json_equal((json_t *)bmp_pout_in_name(pout, i),
                               json_array_get(f->names, i)));
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- control stream --------------------------------------------------- */

/* Every operation sees the merged keywords; records what it saw. */
static void note_kw(bmp_item *item, const char *stage)
{
    json_t *seen = json_object_get(bmp_item_meta(item), "seen");
    if (!seen) {
        seen = json_object();
        json_object_set_new(bmp_item_meta(item), "seen", seen);
    }
    json_t *kw = bmp_item_kw(item);
    json_object_set_new(seen, stage,
                        json_pack("[I, I]", bmp_kw_int(kw, "a", -1),
                                  bmp_kw_int(kw, "b", -1)));
}

static int kw_read(bmp_item *item, const char *name, void **data)
{
    note_kw(item, "read");
    return bmp_default_file_read(item, name, data);
}
static int kw_process(bmp_item *item, void **data)
{
    (void)data;
    note_kw(item, "process");
    return BMP_CONTINUE;
}
static int kw_outname(bmp_item *item, char **outname)
{
    note_kw(item, "outname");
    return bmp_default_outname_create(item, outname);
}
static int kw_write(bmp_item *item, void *data, const char *out, char **w)
{
    note_kw(item, "write");
    return bmp_default_file_write(item, data, out, w);
}
static int kw_step(bmp_item *item, void **data, void *arg)
{
    (void)data;
    note_kw(item, arg);
    return BMP_CONTINUE;
}

static void pipeline_every_step_sees_merged_keywords(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.file_read = kw_read,
                   .data_process = kw_process,
                   .outname_create = kw_outname,
                   .file_write = kw_write};
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
        json_t *construction = json_pack("{s:i, s:i}", "a", 1, "b", 2);
        bmp_pipe_kw_update(pipe, construction);
        bmp_pipe_add_pre(pipe, kw_step, "pre", NULL);
        bmp_pipe_add_post(pipe, kw_step, "post", NULL);
        json_t *kw = kw_for(f, executors[e]);
        json_object_set_new(kw, "b", json_integer(20)); /* the run wins */
        bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
        json_t *expect =
            json_pack("{s:[i,i], s:[i,i], s:[i,i], s:[i,i], s:[i,i], s:[i,i]}",
                      "read", 1, 20, "pre", 1, 20, "process", 1, 20, "post", 1,
                      20, "outname", 1, 20, "write", 1, 20);
        for (size_t i = 0; i < N_ITEMS; i++)
            assert_true(
                json_equal(json_object_get(bmp_pout_meta(pout, i), "seen"),
                           expect));
        /* The pipe's construction keywords are not changed by the run. */
        assert_int_equal(bmp_kw_int(bmp_pipe_kw(pipe), "b", 0), 2);
        json_decref(expect);
        json_decref(kw);
        json_decref(construction);
        bmp_pout_free(pout);
        bmp_pipe_free(pipe);
    }
}

/* A keyword set by a pre-process step holds for the rest of that item
 * only, in every executor (the serial one runs all items in one process,
 * where a leak would show). */
static int set_flag_on_item_two(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    if (value_of(*data) == 2)
        return bmp_kw_set_str(bmp_item_kw(item), "flag", "set");
    return BMP_CONTINUE;
}

static int flag_to_meta(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_str(bmp_item_meta(item), "flag",
                          bmp_kw_str(bmp_item_kw(item), "flag", "unset"));
}

static void pipeline_pre_keywords_stay_in_their_item(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_pre(pipe, set_flag_on_item_two, NULL, "flag");
        bmp_pipe_add_post(pipe, flag_to_meta, NULL, "meta");
        json_t *kw = kw_for(f, executors[e]);
        json_object_set_new(kw, "num_processes", json_integer(1));
        bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
        for (size_t i = 0; i < N_ITEMS; i++)
            assert_string_equal(bmp_kw_str(bmp_pout_meta(pout, i), "flag",
                                           "?"),
                                i == 2 ? "set" : "unset");
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
}

/* The library's own stages read the item's keywords without copying
 * them; once a step has changed them, they read the step's values, for
 * that item only. */
static int append_on_item_two(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    if (value_of(*data) == 2)
        return bmp_kw_set_str(bmp_item_kw(item), "outname_append", "_two");
    return BMP_CONTINUE;
}

static void pipeline_pre_keywords_reach_library_stages(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_pre(pipe, append_on_item_two, NULL, "append");
        json_t *kw = kw_for(f, executors[e]);
        bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
        for (size_t i = 0; i < N_ITEMS; i++) {
            char name[32];
            snprintf(name, sizeof name, "item_%zu%s.dat", i,
                     i == 2 ? "_two" : "_bmp");
            char *expect = tu_join(f->dir, name);
            assert_string_equal(bmp_pout_outname(pout, i), expect);
            assert_true(tu_exists(expect));
            free(expect);
        }
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
}

/* A pre-process step may override a run keyword for its item. */
static int override_b(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_int(bmp_item_kw(item), "b", 99);
}

static void pipeline_pre_step_overrides_keyword(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, override_b, NULL, NULL);
    bmp_pipe_add_post(pipe, kw_step, "post", NULL);
    json_t *kw = kw_for(f, "process");
    json_object_set_new(kw, "b", json_integer(20));
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    json_t *seen = json_object_get(bmp_pout_meta(pout, 0), "seen");
    assert_int_equal(json_integer_value(
                         json_array_get(json_object_get(seen, "post"), 1)),
                     99);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* Settings follow the keyword rule: construction, overridden per run. */
static void pipeline_settings_overridable_per_run(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *construction = json_pack("{s:s, s:s}", "outname_append", "_c",
                                     "outdir", "/nonexistent-dir");
    bmp_pipe_kw_update(pipe, construction);
    json_t *kw = json_pack("{s:s, s:s}", "outname_append", "_r", "outdir",
                           f->dir);
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    char *expect = tu_join(f->dir, "item_0_r.dat");
    assert_string_equal(bmp_pout_outname(pout, 0), expect);
    free(expect);
    bmp_pout_free(pout);
    /* Without run keywords the construction settings apply. */
    json_t *only_outdir = json_pack("{s:s}", "outdir", f->dir);
    pout = run_ok(pipe, f->names, only_outdir, NULL, NULL);
    expect = tu_join(f->dir, "item_0_c.dat");
    assert_string_equal(bmp_pout_outname(pout, 0), expect);
    free(expect);
    bmp_pout_free(pout);
    json_decref(only_outdir);
    json_decref(kw);
    json_decref(construction);
    bmp_pipe_free(pipe);
}

/* The run's lists come after the construction lists. */
static void pipeline_run_lists_appended(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, trace, "pre_c1", NULL);
    bmp_pipe_add_pre(pipe, trace, "pre_c2", NULL);
    bmp_pipe_add_post(pipe, trace, "post_c", NULL);
    const bmp_step pre[] = {{trace, "pre_r", "pre_r"}, {NULL, NULL, NULL}};
    const bmp_step post[] = {{trace, "post_r", NULL},
                             {trace_to_meta, NULL, NULL},
                             {NULL, NULL, NULL}};
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, pre, post);
    json_t *expect = json_pack("[s,s,s,s,s]", "pre_c1", "pre_c2", "pre_r",
                               "post_c", "post_r");
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_true(
            json_equal(json_object_get(bmp_pout_meta(pout, i), "trace"),
                       expect));
    json_decref(expect);
    bmp_pout_free(pout);
    /* The run's steps do not stay in the pipe. */
    const bmp_step only_meta[] = {{trace_to_meta, NULL, NULL},
                                  {NULL, NULL, NULL}};
    pout = run_ok(pipe, f->names, kw, NULL, only_meta);
    expect = json_pack("[s,s,s]", "pre_c1", "pre_c2", "post_c");
    assert_true(
        json_equal(json_object_get(bmp_pout_meta(pout, 0), "trace"), expect));
    json_decref(expect);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- pre-process list ------------------------------------------------- */

static int count_post(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_bool(bmp_item_meta(item), "post_ran", 1);
}

static void pipeline_reject_gives_none_and_empty_meta(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_pre(pipe, reject_value, NULL, "reject");
        bmp_pipe_add_post(pipe, count_post, NULL, NULL);
        json_t *kw = kw_for(f, executors[e]);
        json_object_set_new(kw, "reject_value", json_integer(3));
        bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
        assert_int_equal(bmp_pout_status(pout, 3), BMP_ITEM_NO_OUTPUT);
        assert_null(bmp_pout_outname(pout, 3));
        assert_int_equal(json_object_size(bmp_pout_meta(pout, 3)), 0);
        assert_null(bmp_pout_error(pout, 3));
        char *never = tu_join(f->dir, "item_3_bmp.dat");
        assert_false(tu_exists(never));
        free(never);
        assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_OK);
        assert_true(bmp_kw_bool(bmp_pout_meta(pout, 2), "post_ran", 0));
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
}

/* A pre step that records meta and then rejects: meta is still {}. */
static int meta_then_reject(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    bmp_kw_set_int(bmp_item_meta(item), "junk", 1);
    return BMP_REJECT;
}

static void pipeline_reject_discards_meta(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, meta_then_reject, NULL, NULL);
    json_t *kw = kw_for(f, "serial");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(json_object_size(bmp_pout_meta(pout, 0)), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* A pre step that stores NULL data is Python's "return None". */
static int drop_data(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    bmp_item_data_free(item, *data);
    *data = NULL;
    return BMP_CONTINUE;
}

/* file_read giving no data ends the item as a rejection. */
static int read_nothing_for_odd(bmp_item *item, const char *name, void **data)
{
    int rc = bmp_default_file_read(item, name, data);
    if (rc == 0 && value_of(*data) % 2) {
        bmp_item_data_free(item, *data);
        *data = NULL;
    }
    return rc;
}

static void pipeline_no_data_ends_item(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.file_read = read_nothing_for_odd};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, count_post, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i),
                         i % 2 ? BMP_ITEM_NO_OUTPUT : BMP_ITEM_OK);
        assert_int_equal(json_object_size(bmp_pout_meta(pout, i)),
                         i % 2 ? 0 : 1);
    }
    bmp_pout_free(pout);
    const bmp_step pre[] = {{drop_data, NULL, NULL}, {NULL, NULL, NULL}};
    bmp_pipe *plain = bmp_pipe_new(NULL, NULL);
    pout = run_ok(plain, f->names, kw, pre, NULL);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
    bmp_pout_free(pout);
    bmp_pipe_free(plain);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* Steps run in order; one may replace the data and add keywords that
 * later steps see. */
static int add_hundred(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    set_value(item, data, value_of(*data) + 100);
    return bmp_kw_set_int(bmp_item_kw(item), "seen_by_next", value_of(*data));
}

static int double_it(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    long long seen = bmp_kw_int(bmp_item_kw(item), "seen_by_next", -1);
    assert_int_equal(seen, value_of(*data));
    set_value(item, data, value_of(*data) * 2);
    return BMP_CONTINUE;
}

static void pipeline_pre_steps_in_order_replace_data(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_pre(pipe, add_hundred, NULL, NULL);
    bmp_pipe_add_pre(pipe, double_it, NULL, NULL);
    bmp_pipe_add_post(pipe, record_value, NULL, NULL);
    json_t *kw = kw_for(f, "serial");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, i), "value", -1),
                         ((long long)i + 100) * 2);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- data_process_meta_create ----------------------------------------- */

static int process_none(bmp_item *item, void **data)
{
    bmp_kw_set_int(bmp_item_meta(item), "before", 1);
    bmp_item_data_free(item, *data);
    *data = NULL;
    return BMP_CONTINUE;
}

static void pipeline_data_process_none_gives_empty_meta(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.data_process = process_none};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, count_post, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_NO_OUTPUT);
    assert_int_equal(json_object_size(bmp_pout_meta(pout, 0)), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* A replaced data_process_meta_create: no data -> (none, meta). */
static int meta_create_none_for_even(bmp_item *item, void **data)
{
    int v = value_of(*data);
    bmp_kw_set_int(bmp_item_meta(item), "v", v);
    if (v % 2 == 0) {
        bmp_item_data_free(item, *data);
        *data = NULL;
    }
    return BMP_CONTINUE;
}

static void pipeline_meta_create_override_keeps_meta(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.data_process_meta_create = meta_create_none_for_even};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, count_post, NULL, NULL); /* bypassed */
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    for (size_t i = 0; i < N_ITEMS; i++) {
        json_t *meta = bmp_pout_meta(pout, i);
        assert_int_equal(bmp_kw_int(meta, "v", -1), (long long)i);
        assert_false(bmp_kw_has(meta, "post_ran"));
        assert_int_equal(bmp_pout_status(pout, i),
                         i % 2 ? BMP_ITEM_OK : BMP_ITEM_NO_OUTPUT);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- post-process list ------------------------------------------------ */

static int stop_on_odd(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    bmp_kw_set_int(bmp_item_meta(item), "gathered", 1);
    return value_of(*data) % 2 ? BMP_STOP : BMP_CONTINUE;
}

static void pipeline_post_stop_keeps_meta_writes_nothing(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_post(pipe, stop_on_odd, NULL, NULL);
        bmp_pipe_add_post(pipe, count_post, NULL, NULL);
        json_t *kw = kw_for(f, executors[e]);
        json_object_set_new(kw, "outname_append", json_string("_stop"));
        bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
        for (size_t i = 0; i < N_ITEMS; i++) {
            json_t *meta = bmp_pout_meta(pout, i);
            assert_true(bmp_kw_has(meta, "gathered"));
            assert_int_equal(bmp_kw_has(meta, "post_ran"), i % 2 == 0);
            assert_int_equal(bmp_pout_outname(pout, i) == NULL, i % 2 == 1);
            char name[32];
            snprintf(name, sizeof name, "item_%zu_stop.dat", i);
            char *path = tu_join(f->dir, name);
            assert_int_equal(tu_exists(path), i % 2 == 0);
            free(path);
        }
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
}

static void pipeline_no_outfile_gives_metadata_only(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, record_value, NULL, NULL);
    const bmp_step post[] = {{bmp_no_outfile, NULL, "no_outfile"},
                             {NULL, NULL, NULL}};
    json_t *kw = kw_for(f, "process");
    json_object_set_new(kw, "outname_append", json_string("_none"));
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, post);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_null(bmp_pout_outname(pout, i));
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, i), "value", -1),
                         (long long)i);
    }
    char *never = tu_join(f->dir, "item_0_none.dat");
    assert_false(tu_exists(never));
    free(never);
    /* prune keeps metadata-only entries */
    bmp_pout *pruned;
    assert_int_equal(bmp_prune_pout(pout, f->names, &pruned, NULL), 0);
    assert_int_equal(bmp_pout_count(pruned), N_ITEMS);
    bmp_pout_free(pruned);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* bmp_cleanup: large intermediate values shared by post steps never go
 * back; removed after the list, also after a stop. */
static int stash_big(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    json_t *meta = bmp_item_meta(item);
    bmp_kw_set_str(meta, "big", "a large intermediate result");
    const char *keys[] = {"big", NULL};
    return bmp_cleanup(meta, keys);
}

static int use_big(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    json_t *meta = bmp_item_meta(item);
    return bmp_kw_set_bool(meta, "big_seen", bmp_kw_has(meta, "big"));
}

static void pipeline_cleanup_after_post(void **state)
{
    fixture *f = *state;
    for (int stop = 0; stop < 2; stop++) {
        for (int keep = 0; keep < 2; keep++) {
            bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
            bmp_pipe_add_post(pipe, stash_big, NULL, NULL);
            bmp_pipe_add_post(pipe, use_big, NULL, NULL);
            if (stop)
                bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
            json_t *kw = kw_for(f, "process");
            json_object_set_new(kw, "no_bmp_cleanup", json_boolean(keep));
            bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
            json_t *meta = bmp_pout_meta(pout, 0);
            assert_true(bmp_kw_bool(meta, "big_seen", 0));
            assert_int_equal(bmp_kw_has(meta, "big"), keep);
            assert_int_equal(bmp_kw_has(meta, "bmp_cleanup_list"), keep);
            bmp_pout_free(pout);
            json_decref(kw);
            bmp_pipe_free(pipe);
        }
    }
}

static int log_twice(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    bmp_multi_logging(bmp_item_meta(item), "warning", "value %d",
                      value_of(*data));
    bmp_multi_logging(bmp_item_meta(item), "warning", "again");
    return BMP_CONTINUE;
}

static void pipeline_multi_logging_reaches_caller(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, log_twice, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    json_t *expect = json_pack("[s,s]", "value 4", "again");
    assert_true(json_equal(json_object_get(bmp_pout_meta(pout, 4), "warning"),
                           expect));
    json_decref(expect);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- output names and writing ----------------------------------------- */

static void pipeline_create_outdir(void **state)
{
    fixture *f = *state;
    char *deep = tu_join(f->dir, "a/b/c");
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    /* Without create_outdir: each item fails, with the reason. */
    json_t *kw = json_pack("{s:s}", "outdir", deep);
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
    assert_non_null(strstr(bmp_pout_error(pout, 0), "does not exist"));
    assert_non_null(strstr(bmp_pout_error(pout, 0), "create_outdir"));
    assert_non_null(strstr(bmp_pout_error(pout, 0), "a/b/c"));
    bmp_pout_free(pout);
    /* With it: created, parents included. */
    json_object_set_new(kw, "create_outdir", json_true());
    pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    char *out = tu_join(deep, "item_0_bmp.dat");
    assert_true(tu_exists(out));
    free(out);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(deep);
}

/* meta key create_outdir overrides the keyword. */
static int meta_create_outdir(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_bool(bmp_item_meta(item), "create_outdir", 1);
}

static void pipeline_meta_overrides_create_outdir(void **state)
{
    fixture *f = *state;
    char *deep = tu_join(f->dir, "m/n");
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, meta_create_outdir, NULL, NULL);
    json_t *kw = json_pack("{s:s, s:b}", "outdir", deep, "create_outdir", 0);
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(deep);
}

/* file_write may write under another name: pout has the one written. */
static int write_elsewhere(bmp_item *item, void *data, const char *outname,
                           char **written)
{
    char *other = NULL;
    assert_true(asprintf(&other, "%s.alt", outname) > 0);
    int rc = bmp_default_file_write(item, data, other, written);
    *written = other;
    return rc;
}

static void pipeline_outname_is_name_written(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.file_write = write_elsewhere};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    char *expect = tu_join(f->dir, "item_1_bmp.dat.alt");
    assert_string_equal(bmp_pout_outname(pout, 1), expect);
    assert_true(tu_exists(expect));
    free(expect);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* meta outname overrides the keyword (and gives group items a name). */
static int name_from_meta(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    char name[64];
    snprintf(name, sizeof name, "from_meta_%zu.out", bmp_item_index(item));
    return bmp_kw_set_str(bmp_item_meta(item), "outname", name);
}

/* ---- groups ----------------------------------------------------------- */

static json_t *groups_of(const fixture *f)
{
    /* [[0, 1], [2, [3, 4]], 5] */
    json_t *n = f->names;
    return json_pack("[[O,O], [O,[O,O]], O]", json_array_get(n, 0),
                     json_array_get(n, 1), json_array_get(n, 2),
                     json_array_get(n, 3), json_array_get(n, 4),
                     json_array_get(n, 5));
}

/* Sums a group's values, recursively, following the names' shape. */
static int sum_group(const json_t *shape, void *data)
{
    if (json_is_string(shape))
        return value_of(data);
    bmp_list *l = data;
    int sum = 0;
    for (size_t i = 0; i < l->count; i++)
        sum += sum_group(json_array_get(shape, i), l->elements[i]);
    return sum;
}

static int record_group_sum(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "sum",
                          sum_group(bmp_item_in_name(item), *data));
}

static void pipeline_group_items(void **state)
{
    fixture *f = *state;
    json_t *groups = groups_of(f);
    for (size_t e = 0; e < 2; e++) {
        bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
        bmp_pipe_add_post(pipe, record_group_sum, NULL, NULL);
        bmp_pipe_add_post(pipe, name_from_meta, NULL, NULL);
        json_t *kw = kw_for(f, executors[e]);
        bmp_pout *pout = run_ok(pipe, groups, kw, NULL, NULL);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 0), "sum", -1), 1);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 1), "sum", -1), 9);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 2), "sum", -1), 5);
        /* The default write concatenates the members, in order. */
        char *out = tu_join(f->dir, "from_meta_1.out");
        assert_string_equal(bmp_pout_outname(pout, 1), out);
        char *text = tu_read_file(out, NULL);
        assert_string_equal(text, "234");
        free(text);
        free(out);
        assert_true(json_equal((json_t *)bmp_pout_in_name(pout, 1),
                               json_array_get(groups, 1)));
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    json_decref(groups);
}

static void pipeline_group_without_outname_fails_clearly(void **state)
{
    fixture *f = *state;
    json_t *groups = groups_of(f);
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, groups, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
    assert_non_null(strstr(bmp_pout_error(pout, 0), "group"));
    assert_non_null(strstr(bmp_pout_error(pout, 0), "outname"));
    /* A single-file item in the same run is unaffected. */
    assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_OK);
    bmp_pout_free(pout);
    /* One outname keyword for three items: found before anything runs. */
    json_object_set_new(kw, "outname", json_string("all.out"));
    bmp_error err = {0};
    pout = (bmp_pout *)1;
    assert_int_equal(bmp_pipeline(pipe, groups, kw, NULL, NULL, &pout, &err),
                     BMP_EINVAL);
    assert_null(pout);
    assert_non_null(strstr(err.text, "items 0 and 1 would both write"));
    char *all = tu_join(f->dir, "all.out");
    assert_false(tu_exists(all));
    /* A single group item may use it. */
    json_t *one = json_pack("[O]", json_array_get(groups, 0));
    pout = run_ok(pipe, one, kw, NULL, NULL);
    assert_string_equal(bmp_pout_outname(pout, 0), all);
    free(all);
    json_decref(one);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(groups);
}

/* multi_proc lifts a per-element step to groups, nested included. */
static int plus_one(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    set_value(item, data, value_of(*data) + 1);
    return BMP_CONTINUE;
}

static void pipeline_multi_proc(void **state)
{
    fixture *f = *state;
    json_t *groups = groups_of(f);
    static const bmp_step inner = {plus_one, NULL, "plus_one"};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_multi_proc, (void *)&inner, "multi_proc");
    bmp_pipe_add_post(pipe, record_group_sum, NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, groups, kw, NULL, NULL);
    assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 0), "sum", -1), 1 + 2);
    assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 1), "sum", -1), 9 + 3);
    assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 2), "sum", -1), 6);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(groups);
}

/* ---- executors agree --------------------------------------------------- */

static int fail_on_four(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    if (value_of(*data) == 4)
        return bmp_item_fail(item, 0, "four is not allowed");
    return BMP_CONTINUE;
}

static void pipeline_parallel_equals_serial(void **state)
{
    fixture *f = *state;
    char *lines[3] = {NULL, NULL, NULL};
    const char *setups[3][2] = {{"serial", NULL},
                                {"process", "1"},
                                {"process", "3"}};
    for (int s = 0; s < 3; s++) {
        bmp_ops ops = {.data_process = times_ten};
        bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
        bmp_pipe_add_pre(pipe, reject_value, NULL, NULL);
        bmp_pipe_add_pre(pipe, fail_on_four, NULL, NULL);
        bmp_pipe_add_post(pipe, record_value, NULL, NULL);
        json_t *kw = json_pack("{s:s, s:s, s:i, s:b}", "outdir", f->dir,
                               "executor", setups[s][0], "reject_value", 1,
                               "overwrite", 1);
        if (setups[s][1])
            json_object_set_new(kw, "num_processes",
                                json_integer(atoi(setups[s][1])));
        bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
        /* Compare everything but the measurements. */
        json_t *all = json_array();
        for (size_t i = 0; i < N_ITEMS; i++) {
            json_t *e = bmp_pout_entry_json(pout, i);
            json_object_del(e, "stats");
            json_array_append_new(all, e);
        }
        lines[s] = json_dumps(all, JSON_SORT_KEYS);
        json_decref(all);
        assert_int_equal(bmp_pout_status(pout, 4), BMP_ITEM_FAILED);
        assert_string_equal(bmp_pout_error(pout, 4), "four is not allowed");
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_NO_OUTPUT);
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    assert_string_equal(lines[0], lines[1]);
    assert_string_equal(lines[0], lines[2]);
    for (int s = 0; s < 3; s++)
        free(lines[s]);
}

/* ---- nested pipeline inside a worker ----------------------------------- */

static int nested_run(bmp_item *item, void **data, void *arg)
{
    (void)data;
    const json_t *names = arg;
    bmp_pipe *inner = bmp_pipe_new(NULL, NULL);
    const bmp_step post[] = {{record_value, NULL, NULL},
                             {bmp_no_outfile, NULL, NULL},
                             {NULL, NULL, NULL}};
    json_t *kw = json_pack("{s:i}", "num_processes", 2);
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(inner, names, kw, NULL, post, &pout, NULL);
    if (rc == 0) {
        long long sum = 0;
        for (size_t i = 0; i < bmp_pout_count(pout); i++)
            sum += bmp_kw_int(bmp_pout_meta(pout, i), "value", 0);
        bmp_kw_set_int(bmp_item_meta(item), "inner_sum", sum);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(inner);
    return rc < 0 ? rc : BMP_CONTINUE;
}

static void pipeline_nested_in_worker(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, nested_run, f->names, "nested");
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    json_t *two = json_pack("[O,O]", json_array_get(f->names, 0),
                            json_array_get(f->names, 1));
    bmp_pout *pout = run_ok(pipe, two, kw, NULL, NULL);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, i), "inner_sum", -1),
                         0 + 1 + 2 + 3 + 4 + 5);
    }
    bmp_pout_free(pout);
    json_decref(two);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- misuse and failures ---------------------------------------------- */

static void pipeline_misuse_is_reported(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pout *pout = (bmp_pout *)1;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(NULL, f->names, NULL, NULL, NULL, &pout,
                                  &err),
                     BMP_EINVAL);
    assert_null(pout);
    assert_non_null(strstr(err.text, "pipe"));

    json_t *not_array = json_string("x");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(pipe, not_array, NULL, NULL, NULL, &pout,
                                  &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "array"));

    json_t *bad_item = json_pack("[s, i]", "a", 3);
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(pipe, bad_item, NULL, NULL, NULL, &pout,
                                  &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "in_names[1]"));

    /* An empty group is an item (test_parity.c); a group nested deeper
     * than 64 is not. */
    json_t *empty_group = json_array();
    json_t *inner = empty_group;
    for (int depth = 0; depth < 70; depth++) {
        json_t *deeper = json_array();
        json_array_append_new(inner, deeper);
        inner = deeper;
    }
    memset(&err, 0, sizeof err);
    json_t *deep_item = json_pack("[O]", empty_group);
    assert_int_equal(bmp_pipeline(pipe, deep_item, NULL, NULL, NULL, &pout,
                                  &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "64"));
    json_decref(deep_item);

    json_t *kw = json_pack("{s:s}", "executor", "quantum");
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "quantum"));

    json_t *neg = json_pack("{s:i}", "num_processes", -1);
    memset(&err, 0, sizeof err);
    assert_true(bmp_pipeline(pipe, f->names, neg, NULL, NULL, &pout, &err) <
                0);
    assert_null(pout);

    json_decref(neg);
    json_decref(kw);
    json_decref(empty_group);
    json_decref(bad_item);
    json_decref(not_array);
    bmp_pipe_free(pipe);
}

static void pipeline_empty_input_gives_empty_pout(void **state)
{
    (void)state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *none = json_array();
    bmp_pout *pout = run_ok(pipe, none, NULL, NULL, NULL);
    assert_int_equal(bmp_pout_count(pout), 0);
    bmp_pout_free(pout);
    json_decref(none);
    bmp_pipe_free(pipe);
}

static void pipeline_missing_input_fails_that_item(void **state)
{
    fixture *f = *state;
    json_t *names = json_deep_copy(f->names);
    char *missing = tu_join(f->dir, "missing.dat");
    json_array_set_new(names, 2, json_string(missing));
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, names, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 2), BMP_ITEM_FAILED);
    assert_non_null(strstr(bmp_pout_error(pout, 2), missing));
    assert_non_null(strstr(bmp_pout_error(pout, 2), "No such file"));
    for (size_t i = 0; i < N_ITEMS; i++)
        if (i != 2)
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(missing);
    json_decref(names);
}

/* ops tables of a newer version than the library are refused. */
static void pipeline_ops_version_checked(void **state)
{
    (void)state;
    bmp_ops ops = {.version = BMP_OPS_VERSION + 1};
    assert_null(bmp_pipe_new(&ops, NULL));
    ops.version = 0;
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    assert_non_null(pipe);
    bmp_pipe_free(pipe);
    bmp_pipe_free(NULL);
    assert_int_equal(bmp_pipe_add_pre(NULL, trace, NULL, NULL), BMP_EINVAL);
}

/* ---- cached pout ------------------------------------------------------ */

static void pipeline_cached_pout(void **state)
{
    fixture *f = *state;
    char *pout_path = tu_join(f->dir, "cache/deeper/pout.jsonl");
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, record_value, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    json_object_set_new(kw, "write_pout", json_string(pout_path));
    json_object_set_new(kw, "create_outdir", json_true());
    bmp_pout *first = NULL;
    assert_int_equal(bmp_pipeline_cached(pipe, f->names, kw, NULL, NULL,
                                         &first, NULL),
                     0);
    assert_true(tu_exists(pout_path));

    /* Reading the cache does not run: the inputs are gone, yet the pout
     * is the stored one. */
    for (size_t i = 0; i < N_ITEMS; i++)
        unlink(json_string_value(json_array_get(f->names, i)));
    json_t *read_kw = json_pack("{s:s}", "read_pout", pout_path);
    bmp_pout *second = NULL;
    assert_int_equal(bmp_pipeline_cached(pipe, f->names, read_kw, NULL, NULL,
                                         &second, NULL),
                     0);
    assert_int_equal(bmp_pout_count(second), N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_string_equal(bmp_pout_outname(first, i),
                            bmp_pout_outname(second, i));
        assert_true(
            json_equal(bmp_pout_meta(first, i), bmp_pout_meta(second, i)));
        assert_int_equal(bmp_pout_status(second, i), BMP_ITEM_OK);
    }
    /* An unreadable cache is not an error: the pipeline runs (and now
     * fails item by item, the inputs being gone). */
    json_t *bad_kw = json_pack("{s:s}", "read_pout", "/nonexistent/pout");
    bmp_pout *third = NULL;
    assert_int_equal(bmp_pipeline_cached(pipe, f->names, bad_kw, NULL, NULL,
                                         &third, NULL),
                     0);
    assert_int_equal(bmp_pout_status(third, 0), BMP_ITEM_FAILED);
    bmp_pout_free(first);
    bmp_pout_free(second);
    bmp_pout_free(third);
    json_decref(bad_kw);
    json_decref(read_kw);
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(pout_path);
}

/* ---- user pointer ------------------------------------------------------ */

static int use_user(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    /* No cmocka assert here: this runs in a worker process. */
    const char *greeting = bmp_item_user(item);
    if (!bmp_item_pipe(item))
        return BMP_EINVAL;
    return bmp_kw_set_str(bmp_item_meta(item), "user", greeting);
}

/* The user pointer reaches every step (the seed's "object passed via the
 * control stream"), also in a worker process. */
static void pipeline_user_pointer_reaches_steps(void **state)
{
    fixture *f = *state;
    static char greeting[] = "hello from the caller";
    bmp_pipe *pipe = bmp_pipe_new(NULL, greeting);
    bmp_pipe_add_post(pipe, use_user, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_string_equal(bmp_kw_str(bmp_pout_meta(pout, 3), "user", ""),
                        greeting);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- gaps between rules ------------------------------------------------ */

/* A post step that returns no data (Python's None) stops the list. */
static int none_on_even(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    bmp_kw_set_int(bmp_item_meta(item), "before", 1);
    if (value_of(*data) % 2 == 0) {
        bmp_item_data_free(item, *data);
        *data = NULL;
    }
    return BMP_CONTINUE;
}

static void pipeline_post_none_stops_list(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, none_on_even, NULL, NULL);
    bmp_pipe_add_post(pipe, count_post, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    json_object_set_new(kw, "outname_append", json_string("_none"));
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    for (size_t i = 0; i < N_ITEMS; i++) {
        json_t *meta = bmp_pout_meta(pout, i);
        assert_true(bmp_kw_has(meta, "before")); /* meta so far kept */
        assert_int_equal(bmp_kw_has(meta, "post_ran"), i % 2 == 1);
        assert_int_equal(bmp_pout_outname(pout, i) != NULL, i % 2 == 1);
    }
    char *never = tu_join(f->dir, "item_0_none.dat");
    assert_false(tu_exists(never));
    free(never);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* A rejected item ends at once: later pre steps and processing never
 * run (they would leave a trace in a marker file, as meta is reset). */
static int mark_ran(bmp_item *item, void **data, void *arg)
{
    (void)data;
    char path[512];
    snprintf(path, sizeof path, "%s/ran_%zu", (const char *)arg,
             bmp_item_index(item));
    FILE *m = fopen(path, "w");
    if (m)
        fclose(m);
    return BMP_CONTINUE;
}

static int process_marks(bmp_item *item, void **data)
{
    return mark_ran(item, data,
                    (void *)bmp_kw_str(bmp_item_kw(item), "marker_dir", "."));
}

static void pipeline_reject_ends_at_once(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.data_process = process_marks};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_pre(pipe, reject_value, NULL, NULL);
    bmp_pipe_add_pre(pipe, mark_ran, f->dir, NULL);
    json_t *kw = kw_for(f, "process");
    json_object_set_new(kw, "reject_value", json_integer(2));
    json_object_set_new(kw, "marker_dir", json_string(f->dir));
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    for (size_t i = 0; i < N_ITEMS; i++) {
        char name[32];
        snprintf(name, sizeof name, "ran_%zu", i);
        char *path = tu_join(f->dir, name);
        assert_int_equal(tu_exists(path), i != 2);
        free(path);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* cached pout: without create_outdir a missing directory is not made;
 * the run's error says where it could not write. */
static void pipeline_cached_pout_needs_create_outdir(void **state)
{
    fixture *f = *state;
    char *missing = tu_join(f->dir, "no/such");
    char *pout_path = tu_join(missing, "pout.jsonl");
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *kw = kw_for(f, "process");
    json_object_set_new(kw, "write_pout", json_string(pout_path));
    bmp_pout *pout = (bmp_pout *)1;
    bmp_error err = {0};
    assert_true(
        bmp_pipeline_cached(pipe, f->names, kw, NULL, NULL, &pout, &err) < 0);
    assert_null(pout);
    assert_non_null(strstr(err.source, "pout.jsonl"));
    assert_false(tu_exists(missing));
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(pout_path);
    free(missing);
}

/* Resource settings given at construction are overridden per run. */
static int record_pid(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    usleep(100000); /* long enough for every worker to take an item */
    return bmp_kw_set_int(bmp_item_meta(item), "pid", getpid());
}

static size_t distinct_pids(const bmp_pout *pout)
{
    long long seen[N_ITEMS];
    size_t n = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        long long pid = bmp_kw_int(bmp_pout_meta(pout, i), "pid", -1);
        size_t k = 0;
        while (k < n && seen[k] != pid)
            k++;
        if (k == n)
            seen[n++] = pid;
    }
    return n;
}

static void pipeline_resource_settings_overridable(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, record_pid, NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
    /* Construction: one worker, and a process size no machine has. */
    json_t *construction = json_pack("{s:i, s:I}", "num_processes", 1,
                                     "process_size", (json_int_t)1 << 60);
    bmp_pipe_kw_update(pipe, construction);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, f->names, NULL, NULL, NULL, &pout,
                                  &err),
                     BMP_ENOMEM_BUDGET);
    assert_null(pout);
    json_t *kw = json_pack("{s:i, s:I}", "num_processes", 3, "process_size",
                           (json_int_t)1 << 20);
    pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(distinct_pids(pout), 3);
    bmp_pout_free(pout);
    /* And the construction count holds when the run does not set it. */
    json_object_del(kw, "num_processes");
    pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(distinct_pids(pout), 1);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(construction);
    bmp_pipe_free(pipe);
}

/* A step may replace group data with other data; multi_proc then applies
 * its step to that data as a whole. */
static int flatten_group(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    set_value(item, data, 40);
    return BMP_CONTINUE;
}

static void pipeline_multi_proc_on_replaced_data(void **state)
{
    fixture *f = *state;
    json_t *groups = groups_of(f);
    static const bmp_step inner = {plus_one, NULL, "plus_one"};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, flatten_group, NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_multi_proc, (void *)&inner, NULL);
    bmp_pipe_add_post(pipe, record_value, NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
    json_t *kw = kw_for(f, "serial");
    bmp_pout *pout = run_ok(pipe, groups, kw, NULL, NULL);
    assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, 1), "value", -1), 41);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(groups);
}

/* The library's keywords with the wrong type are refused before
 * anything runs, rather than silently ignored. */
static void pipeline_mistyped_keywords_refused(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    const char *cases[][2] = {
        {"{\"timeout\": \"0.2\"}", "keyword timeout must be a number"},
        {"{\"retries\": \"3\"}", "keyword retries must be a number"},
        {"{\"create_outdir\": \"true\"}",
         "keyword create_outdir must be true or false"},
        {"{\"outdir\": 7}", "keyword outdir must be a string"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        json_t *kw = json_loads(cases[k][0], 0, NULL);
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout,
                                      &err),
                         BMP_EKWTYPE);
        assert_null(pout);
        assert_string_equal(err.text, cases[k][1]);
        json_decref(kw);
    }
    bmp_pipe_free(pipe);
}

/* Meta strings holding NUL travel back from a worker like any other. */
static int nul_meta(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return json_object_set_new(bmp_item_meta(item), "bytes",
                               json_stringn("a\0b", 3)) == 0
               ? BMP_CONTINUE
               : BMP_ESTEP;
}

static void pipeline_meta_with_nul(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, nul_meta, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    json_t *v = json_object_get(bmp_pout_meta(pout, 0), "bytes");
    assert_int_equal(json_string_length(v), 3);
    char *path = tu_join(f->dir, "nul.jsonl");
    assert_int_equal(bmp_pout_write(pout, path, NULL), 0);
    bmp_pout *back = NULL;
    assert_int_equal(bmp_pout_read(path, &back, NULL), 0);
    assert_true(json_equal(bmp_pout_meta(back, 0), bmp_pout_meta(pout, 0)));
    bmp_pout_free(back);
    free(path);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* The caller holds a worker's meta as text until it is asked for; what a
 * program changes in the object it got is what the pout file says, and
 * entries never asked for are written as they came. */
static void pipeline_meta_changed_after_the_run_is_written(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_add_post(pipe, record_value, NULL, NULL);
    json_t *kw = kw_for(f, "process");
    bmp_pout *pout = run_ok(pipe, f->names, kw, NULL, NULL);
    assert_int_equal(bmp_kw_set_str(bmp_pout_meta(pout, 1), "note", "seen"),
                     0);
    char *path = tu_join(f->dir, "changed.jsonl");
    assert_int_equal(bmp_pout_write(pout, path, NULL), 0);
    bmp_pout *back = NULL;
    assert_int_equal(bmp_pout_read(path, &back, NULL), 0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        const json_t *meta = bmp_pout_meta(back, i);
        assert_int_equal(bmp_kw_int(meta, "value", -1),
                         bmp_kw_int(bmp_pout_meta(pout, i), "value", -2));
        assert_string_equal(bmp_kw_str(meta, "note", "none"),
                            i == 1 ? "seen" : "none");
    }
    bmp_pout_free(back);
    free(path);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(pipeline_pout_in_input_order),
        T(pipeline_meta_changed_after_the_run_is_written),
        T(pipeline_every_step_sees_merged_keywords),
        T(pipeline_pre_keywords_stay_in_their_item),
        T(pipeline_pre_keywords_reach_library_stages),
        T(pipeline_pre_step_overrides_keyword),
        T(pipeline_settings_overridable_per_run),
        T(pipeline_run_lists_appended),
        T(pipeline_reject_gives_none_and_empty_meta),
        T(pipeline_reject_discards_meta),
        T(pipeline_no_data_ends_item),
        T(pipeline_pre_steps_in_order_replace_data),
        T(pipeline_data_process_none_gives_empty_meta),
        T(pipeline_meta_create_override_keeps_meta),
        T(pipeline_post_stop_keeps_meta_writes_nothing),
        T(pipeline_no_outfile_gives_metadata_only),
        T(pipeline_cleanup_after_post),
        T(pipeline_multi_logging_reaches_caller),
        T(pipeline_create_outdir),
        T(pipeline_meta_overrides_create_outdir),
        T(pipeline_outname_is_name_written),
        T(pipeline_group_items),
        T(pipeline_group_without_outname_fails_clearly),
        T(pipeline_multi_proc),
        T(pipeline_parallel_equals_serial),
        T(pipeline_nested_in_worker),
        T(pipeline_misuse_is_reported),
        T(pipeline_empty_input_gives_empty_pout),
        T(pipeline_missing_input_fails_that_item),
        T(pipeline_ops_version_checked),
        T(pipeline_cached_pout),
        T(pipeline_user_pointer_reaches_steps),
        T(pipeline_post_none_stops_list),
        T(pipeline_reject_ends_at_once),
        T(pipeline_cached_pout_needs_create_outdir),
        T(pipeline_resource_settings_overridable),
        T(pipeline_multi_proc_on_replaced_data),
        T(pipeline_mistyped_keywords_refused),
        T(pipeline_meta_with_nul),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
