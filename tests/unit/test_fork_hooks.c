/*
 * test_fork_hooks.c -- bmp_set_fork_hooks(): the process executor calls
 * `before` then `after_parent` in the caller and `after_child` in each
 * worker, around every fork of a worker, with the installed context; a
 * `before` that refuses cancels the fork (no after hook), the pool tries
 * again, and a refusal that lasts fails the items with the hook's reason;
 * the serial executor forks nothing and calls nothing; a `before` without
 * its after hooks is refused and leaves the installation as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ITEMS 5

/* What the hooks saw, one letter each: B before, P after_parent, C
 * after_child.  A worker inherits the caller's log as it was at the fork
 * and appends its own letter: a worker's log ends "BC". */
typedef struct hook_log {
    char events[256];
    size_t count;
    int refusals; /* `before` refuses this many times, then accepts */
    int refusal_code;
    pid_t caller;
} hook_log;

static void log_event(hook_log *log, char c)
{
    if (log->count + 1 < sizeof log->events)
        log->events[log->count++] = c;
    log->events[log->count] = '\0';
}

static int hook_before(void *ctx)
{
    hook_log *log = ctx;
    assert_int_equal(getpid(), log->caller);
    if (log->refusals > 0) {
        log->refusals--;
        log_event(log, 'R');
        return log->refusal_code;
    }
    log_event(log, 'B');
    return 0;
}

static void hook_after_parent(void *ctx)
{
    hook_log *log = ctx;
    assert_int_equal(getpid(), log->caller);
    log_event(log, 'P');
}

static void hook_after_child(void *ctx)
{
    hook_log *log = ctx;
    /* Not in the caller: this copy of the log is the worker's. */
    if (getpid() != log->caller)
        log_event(log, 'C');
}

/* A post-process step: the worker's log as the meta key "hooks". */
static int record_hooks(bmp_item *item, void **data, void *arg)
{
    (void)data;
    hook_log *log = arg;
    json_object_set_new(bmp_item_meta(item), "hooks",
                        json_string(log->events));
    return BMP_CONTINUE;
}

typedef struct fixture {
    tu_items *items;
    hook_log log;
    bmp_pipe *pipe;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->items = tu_items_new(N_ITEMS);
    f->log.caller = getpid();
    f->pipe = tu_times_ten_pipe();
    assert_int_equal(bmp_pipe_add_post(f->pipe, record_hooks, &f->log,
                                       "hooks"),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    assert_int_equal(bmp_set_fork_hooks(NULL, NULL, NULL, NULL), 0);
    bmp_pipe_free(f->pipe);
    tu_items_free(f->items);
    free(f);
    return 0;
}

static int run(fixture *f, const char *executor, int workers, bmp_pout **pout)
{
    json_t *kw = json_pack("{s:s, s:b, s:i, s:s}", "outdir", f->items->out,
                           "create_outdir", 1, "num_processes", workers,
                           "executor", executor);
    bmp_error err = {0};
    int rc = bmp_pipeline(f->pipe, f->items->names, kw, NULL, NULL, pout,
                          &err);
    json_decref(kw);
    return rc;
}

static void install(fixture *f)
{
    assert_int_equal(bmp_set_fork_hooks(hook_before, hook_after_parent,
                                        hook_after_child, &f->log),
                     0);
}

/* The caller's log is pairs "BP", one per worker started; each worker's
 * log is the caller's up to its fork, then its own "C". */
static void hooks_around_every_fork(void **state)
{
    fixture *f = *state;
    install(f);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "process", 2, &pout), 0);
    assert_int_equal(bmp_pout_count(pout), N_ITEMS);

    size_t forks = f->log.count / 2;
    assert_true(forks >= 1 && forks <= 2);
    assert_int_equal(f->log.count, 2 * forks);
    for (size_t i = 0; i < forks; i++) {
        assert_int_equal(f->log.events[2 * i], 'B');
        assert_int_equal(f->log.events[2 * i + 1], 'P');
    }
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        const char *seen = json_string_value(
            json_object_get(bmp_pout_meta(pout, i), "hooks"));
        assert_non_null(seen);
        size_t n = strlen(seen);
        assert_true(n >= 2 && n % 2 == 0);
        assert_string_equal(seen + n - 2, "BC");
        /* What came before is the caller's log at that time. */
        assert_memory_equal(seen, f->log.events, n - 2);
    }
    bmp_pout_free(pout);
}

/* A refused fork calls no after hook; the pool tries again and the run
 * ends as if nothing had happened. */
static void refused_fork_is_tried_again(void **state)
{
    fixture *f = *state;
    f->log.refusals = 2;
    f->log.refusal_code = -EAGAIN;
    install(f);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "process", 1, &pout), 0);
    assert_string_equal(f->log.events, "RRBP");
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    bmp_pout_free(pout);
}

/* A refusal that lasts fails every item with the hook's reason. */
static void lasting_refusal_fails_the_items(void **state)
{
    fixture *f = *state;
    f->log.refusals = 1000;
    f->log.refusal_code = -EMFILE;
    install(f);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "process", 1, &pout), BMP_ENOWORKER);
    assert_non_null(pout);
    assert_null(strchr(f->log.events, 'P'));
    assert_null(strchr(f->log.events, 'B'));
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, i), strerror(EMFILE)));
    }
    bmp_pout_free(pout);
}

/* A positive refusal is no errno: the reason is "canceled". */
static void positive_refusal_reads_as_canceled(void **state)
{
    fixture *f = *state;
    f->log.refusals = 1000;
    f->log.refusal_code = 1;
    install(f);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "process", 1, &pout), BMP_ENOWORKER);
    assert_non_null(strstr(bmp_pout_error(pout, 0), strerror(ECANCELED)));
    bmp_pout_free(pout);
}

static void serial_executor_calls_nothing(void **state)
{
    fixture *f = *state;
    install(f);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "serial", 1, &pout), 0);
    assert_int_equal(f->log.count, 0);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    bmp_pout_free(pout);
}

/* A `before` without its after hooks is refused and the hooks installed
 * stay; removing them stops the calls. */
static void incomplete_hooks_refused(void **state)
{
    fixture *f = *state;
    install(f);
    assert_int_equal(bmp_set_fork_hooks(hook_before, NULL, hook_after_child,
                                        &f->log),
                     BMP_EINVAL);
    assert_int_equal(bmp_set_fork_hooks(hook_before, hook_after_parent, NULL,
                                        &f->log),
                     BMP_EINVAL);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "process", 1, &pout), 0);
    assert_string_equal(f->log.events, "BP");
    bmp_pout_free(pout);

    assert_int_equal(bmp_set_fork_hooks(NULL, NULL, NULL, NULL), 0);
    f->log.count = 0;
    f->log.events[0] = '\0';
    assert_int_equal(run(f, "process", 1, &pout), 0);
    assert_int_equal(f->log.count, 0);
    bmp_pout_free(pout);
}

/* After hooks alone are allowed: a child that only resets something. */
static void child_hook_alone(void **state)
{
    fixture *f = *state;
    assert_int_equal(bmp_set_fork_hooks(NULL, NULL, hook_after_child, &f->log),
                     0);
    bmp_pout *pout = NULL;
    assert_int_equal(run(f, "process", 1, &pout), 0);
    assert_int_equal(f->log.count, 0);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_string_equal(json_string_value(
                                json_object_get(bmp_pout_meta(pout, i),
                                                "hooks")),
                            "C");
    bmp_pout_free(pout);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hooks_around_every_fork, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_fork_is_tried_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lasting_refusal_fails_the_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(positive_refusal_reads_as_canceled,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(serial_executor_calls_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(incomplete_hooks_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(child_hook_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
