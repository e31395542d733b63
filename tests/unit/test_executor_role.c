/*
 * test_executor_role.c -- the executor's role (bmp_executor.role): a
 * helper of a run owned by another process leaves the run's files to the
 * owner (its journal untouched even with journal and resume, no dead
 * temporary removed, no progress reported) and returns the items it ran,
 * the others not_run; version-1 executors are owners; a version this
 * library does not know is refused; an owner is called with no run when
 * a stored pout is taken; the keyword executor "mpi" runs a user's
 * executor and, without one, says how to set the MPI executor.
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
#include <sys/stat.h>

#define N_ITEMS 6

typedef tu_items fixture;

static int setup(void **state)
{
    *state = tu_items_new(N_ITEMS);
    return 0;
}

static int teardown(void **state)
{
    tu_items_free(*state);
    return 0;
}

/* Runs the even items only, as a rank given those. */
static int even_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)err;
    int *calls = arg;
    (*calls)++;
    for (size_t i = 0; i < bmp_run_count(run); i += 2)
        bmp_run_item(run, i);
    return 0;
}

static void on_progress(const bmp_progress *p, void *arg)
{
    (void)p;
    (*(int *)arg)++;
}

static void role_helper_leaves_the_owners_files(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    /* The owner's run: every item, journalled. */
    bmp_pipe *owner = bmp_pipe_new(NULL, NULL);
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                           "create_outdir", 1, "journal", journal);
    bmp_pout *first = NULL;
    assert_int_equal(bmp_pipeline(owner, f->names, kw, NULL, NULL, &first,
                                  NULL),
                     0);
    size_t before_size;
    char *before = tu_read_file(journal, &before_size);
    assert_non_null(before);
    struct stat st0;
    assert_int_equal(stat(journal, &st0), 0);
    /* A temporary beside an output, as a writer in another process of
     * the run would hold it (here: nobody does). */
    char *temp = tu_join(f->out, ".in_01_bmp.dat.bmp-Ab3xY9");
    tu_write_file(temp, "partial", 7);

    int calls = 0, reports = 0;
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = even_run,
                       .arg = &calls,
                       .role = BMP_EXECUTOR_HELPER};
    bmp_pipe *helper = bmp_pipe_new(NULL, NULL);
    assert_int_equal(bmp_pipe_set_executor(helper, &ex), 0);
    bmp_pipe_set_progress(helper, on_progress, &reports);
    json_object_set_new(kw, "resume", json_true());
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(helper, f->names, kw, NULL, NULL, &pout, &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    assert_int_equal(calls, 1);
    assert_int_equal(reports, 0);
    /* Nothing taken from the journal: the helper ran what it was given
     * and the others are not_run. */
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i % 2 ? BMP_ITEM_NOT_RUN : BMP_ITEM_OK);
    size_t after_size;
    char *after = tu_read_file(journal, &after_size);
    assert_int_equal(after_size, before_size);
    assert_memory_equal(after, before, before_size);
    struct stat st1;
    assert_int_equal(stat(journal, &st1), 0);
    assert_int_equal(st1.st_ino, st0.st_ino);
    assert_true(tu_exists(temp));

    /* The pout cache is the owner's too: a helper neither returns a
     * cached pout instead of taking part, nor writes its partial one. */
    char *cache = tu_join(f->dir, "cache.jsonl");
    char *fake = tu_join(f->dir, "fake.jsonl");
    assert_int_equal(bmp_pout_write(first, fake, NULL), 0);
    json_object_set_new(kw, "write_pout", json_string(cache));
    json_object_set_new(kw, "read_pout", json_string(fake));
    bmp_pout *cached = NULL;
    calls = 0;
    assert_int_equal(bmp_pipeline_cached(helper, f->names, kw, NULL, NULL,
                                         &cached, NULL),
                     0);
    assert_int_equal(calls, 1); /* ran: the cache was not taken */
    assert_false(tu_exists(cache));
    json_object_del(kw, "write_pout");
    json_object_del(kw, "read_pout");
    bmp_pout_free(cached);
    free(cache);
    free(fake);

    /* The same run as the owner: the temporary goes, progress is told,
     * and the journal gives every item. */
    ex.role = BMP_EXECUTOR_OWNER;
    assert_int_equal(bmp_pipe_set_executor(helper, &ex), 0);
    bmp_pout *owned = NULL;
    assert_int_equal(bmp_pipeline(helper, f->names, kw, NULL, NULL, &owned,
                                  NULL),
                     0);
    assert_false(tu_exists(temp));
    assert_true(reports > 0);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(owned, i), BMP_ITEM_OK);

    bmp_pout_free(owned);
    bmp_pout_free(pout);
    bmp_pout_free(first);
    free(before);
    free(after);
    free(temp);
    free(journal);
    json_decref(kw);
    bmp_pipe_free(helper);
    bmp_pipe_free(owner);
}

/* Counts its calls, and those with no run (a stored pout taken). */
typedef struct owner_calls {
    int calls, unrun;
} owner_calls;

static int counting_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)err;
    owner_calls *c = arg;
    c->calls++;
    if (!run) {
        c->unrun++;
        return 0;
    }
    for (size_t i = 0; i < bmp_run_count(run); i++)
        bmp_run_item(run, i);
    return 0;
}

static void role_owner_told_of_a_stored_pout(void **state)
{
    fixture *f = *state;
    owner_calls c = {0};
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = counting_run,
                       .arg = &c,
                       .role = BMP_EXECUTOR_OWNER};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    assert_int_equal(bmp_pipe_set_executor(pipe, &ex), 0);
    /* executor "mpi" with a user's executor set: the keyword says what
     * runs, and it runs. */
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                           "create_outdir", 1, "executor", "mpi");
    bmp_pout *first = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &first, &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.unrun, 0);
    /* A stored pout taken on the owner: its executor is called with no
     * run, so that helpers waiting elsewhere can be let go. */
    char *stored = tu_join(f->dir, "stored.jsonl");
    assert_int_equal(bmp_pout_write(first, stored, NULL), 0);
    json_object_set_new(kw, "read_pout", json_string(stored));
    bmp_pout *cached = NULL;
    assert_int_equal(bmp_pipeline_cached(pipe, f->names, kw, NULL, NULL,
                                         &cached, NULL),
                     0);
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.unrun, 1);
    assert_int_equal(bmp_pout_count(cached), N_ITEMS);
    bmp_pout_free(cached);
    /* executor "mpi" without the MPI executor set: refused, saying how
     * to set it. */
    bmp_pipe *plain = bmp_pipe_new(NULL, NULL);
    json_object_del(kw, "read_pout");
    bmp_pout *none = NULL;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_pipeline(plain, f->names, kw, NULL, NULL, &none,
                                  &err),
                     BMP_EINVAL);
    assert_null(none);
    assert_non_null(strstr(err.text, "bmp_mpi_executor()"));
    assert_non_null(strstr(err.text, "bmp_pipe_set_executor()"));
    bmp_pipe_free(plain);
    bmp_pout_free(first);
    free(stored);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* The first three members of version 1, the structure's size then. */
typedef struct executor_v1 {
    unsigned version;
    int (*run)(bmp_run *run, int workers, void *arg, bmp_error *err);
    void *arg;
} executor_v1;

static void role_versions(void **state)
{
    fixture *f = *state;
    int calls = 0, reports = 0;
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_set_progress(pipe, on_progress, &reports);
    /* Version 1, and version 0 as the version-1 header allowed: the
     * structure has no role (read past its end, AddressSanitizer would
     * say so); an owner. */
    for (unsigned v = 0; v <= 1; v++) {
        executor_v1 *v1 = malloc(sizeof *v1);
        *v1 = (executor_v1){.version = v, .run = even_run, .arg = &calls};
        assert_int_equal(bmp_pipe_set_executor(pipe, (const bmp_executor *)v1),
                         0);
        free(v1);
    }
    char *temp = tu_join(f->out, ".in_02_bmp.dat.bmp-Cc3Cc3");
    assert_int_equal(bmp_mkdir_parents_of(temp), 0);
    tu_write_file(temp, "partial", 7);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    assert_int_equal(calls, 1);
    assert_true(reports > 0);
    assert_false(tu_exists(temp));
    bmp_pout_free(pout);
    /* Version 3, and a role that is neither: refused. */
    bmp_executor v3 = {.version = 3, .run = even_run, .arg = &calls};
    assert_int_equal(bmp_pipe_set_executor(pipe, &v3), BMP_EINVAL);
    bmp_executor odd_role = {.version = BMP_EXECUTOR_VERSION,
                             .run = even_run,
                             .role = (bmp_executor_role)7};
    assert_int_equal(bmp_pipe_set_executor(pipe, &odd_role), BMP_EINVAL);
    free(temp);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(role_helper_leaves_the_owners_files,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(role_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(role_owner_told_of_a_stored_pout,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
