/*
 * test_remote_executor.c -- a third-party executor that computes every
 * item in a process of its own (as an MPI rank or a Python interpreter
 * would) and puts the outcomes into the run with bmp_run_set_result():
 * the pout, the journal, progress and resume behave exactly as with the
 * library's own executors; and the checks a worker's result gets apply
 * to such an outcome too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_ITEMS 8

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

/* ---- the computation, the same in both places --------------------------- */

/* The library's way is tu_times_ten_pipe() (testutil.h): data_process
 * multiplies the number by ten, a post step puts it in meta, the default
 * writer writes the bytes. */

/* The other process's way: the same file, computed by hand.  Items named
 * in `fail_odd` (odd indices) fail the first time, as a remote node
 * that lost them would report. */
static void compute(const char *in, const char *out, size_t index,
                    int fail_odd, char *line, size_t size)
{
    if (fail_odd && index % 2 == 1) {
        snprintf(line, size, "%zu failed node lost", index);
        return;
    }
    /* Plain stdio: this runs in the helper process, not under cmocka. */
    char text[32] = {0};
    FILE *f = fopen(in, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    int v = atoi(text) * 10;
    FILE *o = bmp_mkdir_parents_of(out) == 0 ? fopen(out, "w") : NULL;
    if (!o || n == 0 || fprintf(o, "%d\n", v) < 0 || fclose(o) != 0) {
        snprintf(line, size, "%zu failed cannot write %s", index, out);
        return;
    }
    snprintf(line, size, "%zu ok %s {\"value\":%d}", index, out, v);
}

/* ---- the executor ------------------------------------------------------- */

typedef struct remote {
    int fail_odd; /* the helper fails odd items */
    int sent;     /* items sent to the helper */
} remote;

/* Forks one helper process; sends it "index in out" lines; reads back one
 * line per item and sets the result. */
static int remote_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    remote *rm = arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return bmp_error_set(err, -errno, "remote", NULL, "socketpair");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        FILE *in = fdopen(sv[1], "r+");
        char buf[4096];
        while (fgets(buf, sizeof buf, in)) {
            size_t index;
            char name[1024], out[1024];
            if (sscanf(buf, "%zu %1023s %1023s", &index, name, out) != 3)
                break;
            char line[2048];
            compute(name, out, index, rm->fail_odd, line, sizeof line);
            fprintf(in, "%s\n", line);
            fflush(in);
        }
        _exit(0);
    }
    close(sv[1]);
    FILE *io = fdopen(sv[0], "r+");
    int rc = 0;
    for (size_t i = 0; i < bmp_run_count(run) && rc == 0; i++) {
        if (bmp_run_item_done(run, i))
            continue; /* resumed from the journal */
        const char *in = json_string_value(bmp_run_in_name(run, i));
        char *out = NULL;
        rc = bmp_outname_create(in, bmp_run_kw(run), NULL, &out);
        if (rc < 0)
            break;
        fprintf(io, "%zu %s %s\n", i, in, out);
        fflush(io);
        rm->sent++;
        free(out);
        char line[4096];
        if (!fgets(line, sizeof line, io)) {
            rc = bmp_error_set(err, BMP_ECRASH, "remote", NULL,
                               "the helper went away");
            break;
        }
        line[strcspn(line, "\n")] = '\0';
        size_t index;
        char status[16], rest[2048] = "";
        if (sscanf(line, "%zu %15s %2047[^\n]", &index, status, rest) < 2) {
            rc = bmp_error_set(err, BMP_EPROTO, "remote", NULL, "bad line");
            break;
        }
        bmp_item_result r = {.version = BMP_ITEM_RESULT_VERSION};
        if (strcmp(status, "ok") == 0) {
            char *space = strchr(rest, ' ');
            *space = '\0';
            r.status = BMP_ITEM_OK;
            r.outname = rest;
            r.meta_json = space + 1;
        } else {
            r.status = BMP_ITEM_FAILED;
            r.error = rest;
        }
        rc = bmp_run_set_result(run, index, &r, err);
    }
    fclose(io);
    waitpid(pid, NULL, 0);
    return rc;
}

typedef struct progress_log {
    size_t calls;
    size_t last_done;
    int never_backwards;
} progress_log;

static void on_progress(const bmp_progress *p, void *arg)
{
    progress_log *log = arg;
    if (log->calls && p->done < log->last_done)
        log->never_backwards = 0;
    log->last_done = p->done;
    log->calls++;
}

static int journal_entries(const char *path)
{
    size_t size;
    char *text = tu_read_file(path, &size);
    int lines = 0;
    for (size_t i = 0; text && i < size; i++)
        lines += text[i] == '\n';
    free(text);
    return lines - 1; /* the run record */
}

/* ---- tests -------------------------------------------------------------- */

static void remote_results_make_the_same_run(void **state)
{
    fixture *f = *state;
    /* The reference: the serial executor, computing in the caller. */
    bmp_pipe *pipe = tu_times_ten_pipe();
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                           "create_outdir", 1, "executor", "serial");
    bmp_pout *reference = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &reference,
                                  NULL),
                     0);
    /* Its outputs moved aside: the remote run writes the same names. */
    char *ref_moved = tu_join(f->dir, "ref_outputs");
    assert_int_equal(rename(f->out, ref_moved), 0);

    remote rm = {0};
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = remote_run,
                       .arg = &rm};
    bmp_pipe *remote_pipe = bmp_pipe_new(NULL, NULL);
    assert_int_equal(bmp_pipe_set_executor(remote_pipe, &ex), 0);
    progress_log log = {.never_backwards = 1};
    bmp_pipe_set_progress(remote_pipe, on_progress, &log);
    char *journal = tu_join(f->dir, "journal.jsonl");
    json_t *rkw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                            "create_outdir", 1, "journal", journal);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(remote_pipe, f->names, rkw, NULL, NULL,
                                  &pout, NULL),
                     0);
    assert_int_equal(rm.sent, N_ITEMS);

    char *a = tu_entries_text(reference), *b = tu_entries_text(pout);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(tu_system("diff -r '%s' '%s'", ref_moved, f->out), 0);
    /* The journal holds every item, as for a built-in executor. */
    assert_int_equal(journal_entries(journal), N_ITEMS);
    /* Progress: the start, each item, the end; never backwards. */
    assert_int_equal(log.calls, N_ITEMS + 2);
    assert_int_equal(log.last_done, N_ITEMS);
    assert_true(log.never_backwards);

    bmp_pout_free(pout);
    bmp_pout_free(reference);
    json_decref(rkw);
    json_decref(kw);
    bmp_pipe_free(remote_pipe);
    bmp_pipe_free(pipe);
    free(journal);
    free(ref_moved);
}

/* The helper loses the odd items; the run records them failed; a
 * resumed run sends only those again and ends equal to a clean run. */
static void remote_resume_sends_only_what_is_left(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    remote rm = {.fail_odd = 1};
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = remote_run,
                       .arg = &rm};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_set_executor(pipe, &ex);
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                           "create_outdir", 1, "journal", journal);
    bmp_pout *first = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &first,
                                  NULL),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(first, i),
                         i % 2 ? BMP_ITEM_FAILED : BMP_ITEM_OK);
        if (i % 2)
            assert_string_equal(bmp_pout_error(first, i), "node lost");
    }
    assert_int_equal(journal_entries(journal), N_ITEMS);

    rm = (remote){0};
    json_object_set_new(kw, "resume", json_true());
    progress_log log = {.never_backwards = 1};
    bmp_pipe_set_progress(pipe, on_progress, &log);
    bmp_pout *second = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &second,
                                  NULL),
                     0);
    assert_int_equal(rm.sent, N_ITEMS / 2);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(second, i), BMP_ITEM_OK);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(second, i), "value", -1),
                         (long long)i * 10);
    }
    assert_int_equal(log.last_done, N_ITEMS);
    assert_true(log.never_backwards);
    bmp_pout_free(first);
    bmp_pout_free(second);
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(journal);
}

/* Outcomes that a worker's frame could not carry are refused, and leave
 * the item as it was. */
static int bad_results_run(bmp_run *run, int workers, void *arg,
                           bmp_error *err)
{
    (void)workers;
    (void)err;
    int *refused = arg;
    const bmp_item_result bad[] = {
        {.status = BMP_ITEM_OK},                        /* no outname */
        {.status = BMP_ITEM_NO_OUTPUT, .outname = "x"}, /* outname */
        {.status = BMP_ITEM_NOT_RUN},                   /* not finished */
        {.status = (bmp_status)42},                     /* no status */
        {.status = BMP_ITEM_NO_OUTPUT, .meta_json = "[1]"},
        {.status = BMP_ITEM_NO_OUTPUT,
         .meta_json = "{\"a\":1}, \"outname\":2"},
        {.status = BMP_ITEM_NO_OUTPUT, .meta_json = "{\"a\":\n1}"},
        {.version = 99, .status = BMP_ITEM_NO_OUTPUT},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        bmp_error e = {0};
        int ok = bmp_run_set_result(run, 0, &bad[k], &e) == BMP_EINVAL &&
                 e.text[0] != '\0';
        if (!ok)
            fprintf(stderr, "bad outcome %zu accepted\n", k);
        *refused += ok;
    }
    bmp_error e = {0};
    const bmp_item_result good = {.status = BMP_ITEM_NO_OUTPUT,
                                  .meta_json = "{\"n\": 1}"};
    *refused += bmp_run_set_result(run, bmp_run_count(run), &good, &e) ==
                BMP_EINVAL;
    *refused += bmp_run_set_result(NULL, 0, &good, &e) == BMP_EINVAL;
    for (size_t i = 0; i < bmp_run_count(run); i++)
        if (bmp_run_set_result(run, i, &good, &e) != 0)
            return -1;
    /* A second outcome for an item is refused. */
    bmp_error again = {0};
    *refused += bmp_run_set_result(run, 0, &good, &again) == BMP_EINVAL &&
                strstr(again.text, "already") != NULL;
    return 0;
}

static void remote_bad_outcomes_refused(void **state)
{
    fixture *f = *state;
    int refused = 0;
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = bad_results_run,
                       .arg = &refused};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_set_executor(pipe, &ex);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    assert_int_equal(refused, 11);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(pout, i), "n", -1), 1);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* A resumed run through the library's own executors: progress starts
 * at the items the journal holds and never goes back. */
static void builtin_resume_progress_never_backwards(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    const char *executors[] = {"serial", "process"};
    for (int e = 0; e < 2; e++) {
        bmp_pipe *pipe = tu_times_ten_pipe();
        json_t *kw = json_pack("{s:s, s:b, s:s, s:s, s:b}", "outdir", f->out,
                               "create_outdir", 1, "journal", journal,
                               "executor", executors[e], "overwrite", 1);
        bmp_pout *pout = NULL;
        assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout,
                                      NULL),
                         0);
        bmp_pout_free(pout);
        /* Forget the last three items: the resumed run redoes them. */
        size_t size;
        char *text = tu_read_file(journal, &size);
        char *cut = text + size;
        for (int k = 0; k < 4; k++) {
            cut--;
            while (cut > text && cut[-1] != '\n')
                cut--;
        }
        tu_write_file(journal, text, (size_t)(cut - text));
        free(text);
        json_object_set_new(kw, "resume", json_true());
        progress_log log = {.never_backwards = 1};
        bmp_pipe_set_progress(pipe, on_progress, &log);
        assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout,
                                      NULL),
                         0);
        assert_true(log.never_backwards);
        assert_int_equal(log.last_done, N_ITEMS);
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    free(journal);
}

/* A user executor's threads finish items at once: each finish is one
 * progress report, `done` grows by one each time and never passes the
 * total, and an item run twice is counted once. */
typedef struct threads_arg {
    bmp_run *run;
    size_t next;
} threads_arg;

static void *thread_main(void *arg)
{
    threads_arg *t = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
        if (i >= bmp_run_count(t->run))
            return NULL;
        bmp_run_item(t->run, i);
    }
}

static int threads_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)arg;
    (void)err;
    threads_arg t = {run, 0};
    pthread_t th[3];
    for (int k = 0; k < 3; k++)
        pthread_create(&th[k], NULL, thread_main, &t);
    for (int k = 0; k < 3; k++)
        pthread_join(th[k], NULL);
    bmp_run_item(run, 0); /* again: replaced, journalled, counted once */
    return 0;
}

typedef struct strict_log {
    size_t calls, last_done, total;
    int steps_of_one;
} strict_log;

static void on_strict_progress(const bmp_progress *p, void *arg)
{
    strict_log *log = arg;
    if (log->calls > 1 && p->done != log->last_done + 1 &&
        !(p->done == p->total && log->last_done == p->total))
        log->steps_of_one = 0;
    if (p->done > p->total)
        log->steps_of_one = 0;
    log->last_done = p->done;
    log->total = p->total;
    log->calls++;
}

static void user_threads_progress_in_order(void **state)
{
    fixture *f = *state;
    if (TU_UNDER_ASAN)
        skip(); /* threads beside forks: see doc/threads-and-fork.md */
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION, .run = threads_run};
    bmp_pipe *pipe = tu_times_ten_pipe();
    bmp_pipe_set_executor(pipe, &ex);
    strict_log log = {.steps_of_one = 1};
    bmp_pipe_set_progress(pipe, on_strict_progress, &log);
    char *journal = tu_join(f->dir, "journal.jsonl");
    json_t *kw = json_pack("{s:s, s:b, s:b, s:s}", "outdir", f->out,
                           "create_outdir", 1, "overwrite", 1, "journal",
                           journal);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    assert_true(log.steps_of_one);
    assert_int_equal(log.last_done, N_ITEMS);
    assert_int_equal(journal_entries(journal), N_ITEMS + 1);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    free(journal);
}

/* What an outcome from elsewhere may leave out is filled as for an item
 * run here: a failure's words from its code, one attempt at least. */
static int sparse_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    (void)arg;
    bmp_item_stats newer = {.version = BMP_ITEM_STATS_VERSION + 1};
    bmp_item_result r = {.status = BMP_ITEM_FAILED, .stats = &newer};
    bmp_error e = {0};
    if (bmp_run_set_result(run, 0, &r, &e) != BMP_EINVAL)
        return -1;
    bmp_item_stats none = {.version = BMP_ITEM_STATS_VERSION};
    r.stats = &none;
    r.code = BMP_ETIMEOUT;
    for (size_t i = 0; i < bmp_run_count(run); i++)
        if (bmp_run_set_result(run, i, &r, err) != 0)
            return -1;
    return 0;
}

static void remote_sparse_outcomes_filled(void **state)
{
    fixture *f = *state;
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION, .run = sparse_run};
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    bmp_pipe_set_executor(pipe, &ex);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_string_equal(bmp_pout_error(pout, i),
                            bmp_strerror(BMP_ETIMEOUT));
        bmp_item_stats st = {.version = BMP_ITEM_STATS_VERSION};
        assert_int_equal(bmp_pout_stats(pout, i, &st), 0);
        assert_int_equal(st.attempts, 1);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(remote_results_make_the_same_run),
        T(remote_resume_sends_only_what_is_left),
        T(remote_bad_outcomes_refused),
        T(builtin_resume_progress_never_backwards),
        T(user_threads_progress_in_order),
        T(remote_sparse_outcomes_filled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
