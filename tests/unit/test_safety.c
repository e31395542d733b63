/*
 * test_safety.c -- a bad file costs one result, never the run or the
 * data: atomic outputs and their temporaries, overwrite refusal, outputs
 * that would replace inputs, file-size limits and a full disk, odd file
 * names, the journal and resume, interrupts, and a run killed with
 * SIGKILL at random moments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "atomic_file.h"
#include "bigmultipipe.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_ITEMS 24

typedef struct fixture {
    char *dir; /* inputs */
    char *out; /* outputs */
    json_t *names;
    int pad; /* outputs padded to this many bytes (run_in_child) */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->out = tu_join(f->dir, "out");
    mkdir(f->out, 0777);
    f->names = tu_numbered_files(f->dir, "in_%02d.dat", N_ITEMS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->out);
    json_decref(f->names);
    free(f);
    return 0;
}

static int value_of(void *data)
{
    bmp_buffer *b = data;
    char text[16] = {0};
    memcpy(text, b->bytes, b->size < 15 ? b->size : 15);
    return atoi(text);
}

/* data_process: the output holds the value times ten, padded to `pad`
 * bytes (keyword) so outputs can be made large. */
static int times_ten(bmp_item *item, void **data)
{
    int v = value_of(*data) * 10;
    long long pad = bmp_kw_int(bmp_item_kw(item), "pad", 0);
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", v);
    size_t size = (size_t)n > (size_t)pad ? (size_t)n : (size_t)pad;
    bmp_buffer *b = bmp_buffer_new(size);
    memset(b->bytes, ' ', size);
    memcpy(b->bytes, text, (size_t)n);
    bmp_item_data_free(item, *data);
    *data = b;
    return BMP_CONTINUE;
}

static int sleepy(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    long long ms = bmp_kw_int(bmp_item_kw(item), "sleep_ms", 0);
    if (ms > 0)
        usleep((useconds_t)ms * 1000);
    return BMP_CONTINUE;
}

static int record_value(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "v", value_of(*data));
}

static bmp_pipe *make_pipe(void)
{
    bmp_ops ops = {.data_process = times_ten};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_pre(pipe, sleepy, NULL, "sleepy");
    bmp_pipe_add_post(pipe, record_value, NULL, "record");
    return pipe;
}

/* Files in dir whose names mark them as temporaries of atomic writes. */
static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] == '.' && strstr(e->d_name, ".bmp-") != NULL;
    closedir(d);
    return n;
}

/* Every file under a final output name is complete and correct. */
static int check_outputs(const fixture *f)
{
    int found = 0;
    for (int i = 0; i < N_ITEMS; i++) {
        char name[32];
        snprintf(name, sizeof name, "in_%02d_bmp.dat", i);
        char *path = tu_join(f->out, name);
        size_t size;
        char *text = tu_read_file(path, &size);
        if (text) {
            char expect[16];
            size_t n = (size_t)snprintf(expect, sizeof expect, "%d\n", i * 10);
            /* The value, then spaces up to the padding: all of it. */
            size_t want = n > (size_t)f->pad ? n : (size_t)f->pad;
            int ok = size == want && memcmp(text, expect, n) == 0;
            for (size_t k = n; ok && k < size; k++)
                ok = text[k] == ' ';
            if (!ok)
                fail_msg("%s holds %zu bytes starting \"%.16s\", not \"%s\" "
                         "in %zu bytes",
                         path, size, text, expect, want);
            found++;
        }
        free(text);
        free(path);
    }
    return found;
}

/* Everything but the measurements, for comparing pouts of two runs. */
static char *pout_text(const bmp_pout *pout)
{
    json_t *all = json_array();
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        json_t *e = bmp_pout_entry_json(pout, i);
        json_object_del(e, "stats");
        json_array_append_new(all, e);
    }
    char *text = json_dumps(all, JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

/* Waits for every child and grandchild (this process is a subreaper). */
static void reap_all(void)
{
    for (int tries = 0; tries < 500; tries++) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0 && errno == ECHILD)
            return;
        if (pid == 0)
            usleep(10000);
    }
    fail_msg("processes were left running");
}

/* ---- atomic outputs ----------------------------------------------------- */

/* A writer that dies halfway through its output. */
static int die_while_writing(bmp_item *item, void *data, const char *outname,
                             char **written)
{
    (void)written;
    bmp_buffer *b = data;
    if (value_of(data) / 10 % 3 == 0)
        return bmp_default_file_write(item, data, outname, written);
    bmp__atomic_file af;
    if (bmp__atomic_open(&af, outname) < 0)
        return BMP_ESTEP;
    bmp__atomic_write(&af, b->bytes, 1);
    raise(SIGKILL);
    return 0;
}

static void safety_killed_writer_leaves_nothing(void **state)
{
    fixture *f = *state;
    bmp_ops ops = {.data_process = times_ten, .file_write = die_while_writing};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->out, "num_processes", 2);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i),
                         i % 3 == 0 ? BMP_ITEM_OK : BMP_ITEM_CRASHED);
    /* Only complete outputs under final names; no temporary behind. */
    assert_int_equal(check_outputs(f), N_ITEMS / 3);
    assert_int_equal(count_temporaries(f->out), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

static void safety_existing_output_needs_overwrite(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = make_pipe();
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    bmp_pout_free(pout);
    /* A stale output stands in for an earlier result. */
    char *stale = tu_join(f->out, "in_03_bmp.dat");
    tu_write_file(stale, "precious", 8);
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, i), "set overwrite"));
    }
    char *text = tu_read_file(stale, NULL);
    assert_string_equal(text, "precious"); /* untouched */
    free(text);
    bmp_pout_free(pout);
    json_object_set_new(kw, "overwrite", json_true());
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL),
                     0);
    assert_int_equal(check_outputs(f), N_ITEMS);
    bmp_pout_free(pout);
    free(stale);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

static void safety_output_equal_to_input_refused(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = make_pipe();
    /* outname_append "" and outdir = the inputs' directory: every output
     * name is its input's name.  With overwrite the check comes before
     * writing; without it, when the rename refuses the existing name. */
    for (int overwrite = 1; overwrite >= 0; overwrite--) {
        json_t *kw = json_pack("{s:s, s:s, s:b}", "outdir", f->dir,
                               "outname_append", "", "overwrite", overwrite);
        bmp_pout *pout = NULL;
        assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout,
                                      NULL),
                         0);
        for (size_t i = 0; i < N_ITEMS; i++) {
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
            assert_non_null(strstr(bmp_pout_error(pout, i), "own input"));
            char *text = tu_read_file(json_string_value(
                                          json_array_get(f->names, i)),
                                      NULL);
            assert_int_equal(atoi(text), (int)i); /* the input is intact */
            free(text);
        }
        bmp_pout_free(pout);
        json_decref(kw);
    }
    bmp_pipe_free(pipe);
}

/* ---- resource limits while writing ------------------------------------ */

static void safety_file_size_limit_fails_item(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = make_pipe();
    /* Outputs of 64 KiB; the limit is 16 KiB: every write fails. */
    json_t *kw = json_pack("{s:s, s:i, s:i}", "outdir", f->out, "pad", 65536,
                           "num_processes", 2);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit small = {16384, old.rlim_max};
    signal(SIGXFSZ, SIG_IGN); /* this process writes nothing that large */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, i), "File too large"));
    }
    assert_int_equal(check_outputs(f), 0);
    assert_int_equal(count_temporaries(f->out), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

static void safety_disk_full_fails_item(void **state)
{
    fixture *f = *state;
    char *small = tu_join(f->dir, "small");
    mkdir(small, 0777);
    if (mount("tmpfs", small, "tmpfs", 0, "size=64k") != 0) {
        free(small);
        skip(); /* needs the right to mount a tmpfs */
    }
    bmp_pipe *pipe = make_pipe();
    /* 24 outputs of 16 KiB in 64 KiB: the first few fit, the rest fail. */
    json_t *kw = json_pack("{s:s, s:i, s:i}", "outdir", small, "pad", 16384,
                           "num_processes", 1);
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL);
    assert_int_equal(rc, 0);
    size_t ok = 0, full = 0;
    for (size_t i = 0; i < N_ITEMS; i++) {
        if (bmp_pout_status(pout, i) == BMP_ITEM_OK) {
            ok++;
            continue;
        }
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
        assert_non_null(strstr(bmp_pout_error(pout, i), "No space left"));
        full++;
    }
    assert_true(ok > 0 && full > 0);
    assert_int_equal(count_temporaries(small), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    umount(small);
    free(small);
}

/* ---- names -------------------------------------------------------------- */

static void safety_odd_names_kept_exactly(void **state)
{
    fixture *f = *state;
    const char *odd[] = {"with space.dat", "quote'\"s.dat", "new\nline.dat",
                         "caf\xe9.dat",    "\xff\xfe.dat",  "tab\there.dat"};
    size_t n = sizeof odd / sizeof *odd;
    json_t *names = json_array();
    for (size_t i = 0; i < n; i++) {
        char *path = tu_join(f->dir, odd[i]);
        tu_write_file(path, "7", 1);
        json_array_append_new(names, json_string_nocheck(path));
        free(path);
    }
    bmp_pipe *pipe = make_pipe();
    json_t *kw = json_pack("{s:s, s:i}", "outdir", f->out, "num_processes", 2);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, NULL),
                     0);
    char *pout_path = tu_join(f->dir, "pout.jsonl");
    assert_int_equal(bmp_pout_write(pout, pout_path, NULL), 0);
    bmp_pout *back = NULL;
    assert_int_equal(bmp_pout_read(pout_path, &back, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        /* The output exists under the exact bytes of its name... */
        const char *out = bmp_pout_outname(pout, i);
        assert_true(tu_exists(out));
        const char *dot = strrchr(odd[i], '.');
        char expect[64];
        snprintf(expect, sizeof expect, "%.*s_bmp.dat", (int)(dot - odd[i]),
                 odd[i]);
        assert_string_equal(strrchr(out, '/') + 1, expect);
        /* ...and the pout file gives the same bytes back. */
        assert_string_equal(bmp_pout_outname(back, i), out);
        assert_string_equal(json_string_value(bmp_pout_in_name(back, i)),
                            json_string_value(json_array_get(names, i)));
    }
    /* Non-UTF-8 bytes are "\udcXX" escapes in the file. */
    char *text = tu_read_file(pout_path, NULL);
    assert_non_null(strstr(text, "\\udcff\\udcfe"));
    assert_non_null(strstr(text, "caf\\udce9"));
    assert_non_null(strstr(text, "new\\nline"));
    free(text);
    free(pout_path);
    bmp_pout_free(back);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
}

/* ---- journal and resume ------------------------------------------------- */

static int fail_on_odd_first_time(bmp_item *item, void **data, void *arg)
{
    (void)item;
    const char *marker = arg;
    if (value_of(*data) % 2 && access(marker, F_OK) != 0)
        return bmp_item_fail(item, 0, "not yet");
    return BMP_CONTINUE;
}

static void safety_resume_runs_only_the_rest(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    char *marker = tu_join(f->dir, "now_ok");
    bmp_pipe *pipe = make_pipe();
    bmp_pipe_add_pre(pipe, fail_on_odd_first_time, marker, NULL);
    json_t *kw = json_pack("{s:s, s:s, s:i}", "outdir", f->out, "journal",
                           journal, "num_processes", 2);
    bmp_pout *first = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &first,
                                  NULL),
                     0);
    /* Every item is in the journal, one line each, after the run's
     * record. */
    size_t size;
    char *text = tu_read_file(journal, &size);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + N_ITEMS);
    free(text);

    /* Remove one finished output: resume must redo that item too. */
    char *gone = tu_join(f->out, "in_04_bmp.dat");
    unlink(gone);
    tu_write_file(marker, "", 0);
    json_object_set_new(kw, "resume", json_true());
    bmp_pout *second = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &second,
                                  NULL),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(second, i), BMP_ITEM_OK);
        assert_int_equal(bmp_kw_int(bmp_pout_meta(second, i), "v", -1),
                         (long long)i * 10);
    }
    assert_true(tu_exists(gone));
    assert_int_equal(check_outputs(f), N_ITEMS);

    /* Resuming a complete run runs nothing and gives the same pout. */
    unlink(marker); /* odd items would fail if they ran again */
    bmp_pout *third = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &third,
                                  NULL),
                     0);
    char *a = pout_text(second), *b = pout_text(third);
    assert_string_equal(a, b);
    free(a);
    free(b);

    bmp_pout_free(first);
    bmp_pout_free(second);
    bmp_pout_free(third);
    free(gone);
    free(marker);
    free(journal);
    json_decref(kw);
    bmp_pipe_free(pipe);
}

static void safety_resume_needs_journal(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = make_pipe();
    json_t *kw = json_pack("{s:s, s:b}", "outdir", f->out, "resume", 1);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "journal"));
    json_decref(kw);
    bmp_pipe_free(pipe);
}

/* ---- interrupts --------------------------------------------------------- */

/* Items in the journal: its lines after the run record. */
static int journal_lines(const char *journal)
{
    char *text = tu_read_file(journal, NULL);
    int lines = text && *text ? -1 : 0;
    for (char *p = text; p && *p; p++)
        lines += *p == '\n';
    free(text);
    return lines;
}

/* A progress callback that keeps the caller busy for half a second, so
 * that signals arrive while the caller is not waiting in poll(). */
static void busy_progress(const bmp_progress *p, void *arg)
{
    (void)p;
    (void)arg;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 +
               (now.tv_nsec - start.tv_nsec) / 1000000 <
           500);
}

/* Runs the pipeline in a child; returns its pid.  expect_interrupt: 0 a
 * complete run, 1 an interrupted one with some items done, 2 the caller
 * kept busy by its progress callback. */
static pid_t run_in_child(const fixture *f, const char *journal, int sleep_ms,
                          int expect_interrupt)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    bmp_pipe *pipe = make_pipe();
    if (expect_interrupt == 2)
        bmp_pipe_set_progress(pipe, busy_progress, NULL);
    json_t *kw = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i}", "outdir", f->out,
                           "journal", journal, "resume", 1, "num_processes", 2,
                           "sleep_ms", sleep_ms, "pad", f->pad);
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL);
    int ok = 1;
    if (expect_interrupt) {
        /* The partial pout: finished items ok, the rest not run. */
        ok = rc == BMP_EINTERRUPTED && pout != NULL;
        size_t done = 0, not_run = 0;
        for (size_t i = 0; ok && i < N_ITEMS; i++) {
            done += bmp_pout_status(pout, i) == BMP_ITEM_OK;
            not_run += bmp_pout_status(pout, i) == BMP_ITEM_NOT_RUN;
        }
        ok = ok && done > 0 && not_run > 0 && done + not_run == N_ITEMS;
    } else {
        ok = rc == 0;
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    _exit(ok ? 0 : 3);
}

/* The first `sig` to the caller stops the run cleanly: the partial pout
 * (checked in the child), no process or temporary left behind, and
 * resume finishes the rest. */
static void stops_cleanly(const fixture *f, int sig)
{
    char *journal = tu_join(f->dir, "journal.jsonl");
    pid_t pid = run_in_child(f, journal, 60, 1);
    /* Wait for a few items to finish, then interrupt. */
    for (int t = 0; t < 500 && journal_lines(journal) < 3; t++)
        usleep(10000);
    kill(pid, sig);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    reap_all();
    /* A clean shutdown: no temporaries, only complete outputs. */
    assert_int_equal(count_temporaries(f->out), 0);
    int before = check_outputs(f);
    assert_true(before >= 3 && before < N_ITEMS);
    /* Journalled items have their outputs; an item whose output was in
     * place but whose result had not reached the caller is not journalled
     * and is redone on resume. */
    assert_true(journal_lines(journal) <= before);
    assert_true(journal_lines(journal) >= 3);
    /* Resume finishes the rest. */
    pid = run_in_child(f, journal, 0, 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(check_outputs(f), N_ITEMS);
    free(journal);
}

static void safety_sigint_stops_cleanly(void **state)
{
    stops_cleanly(*state, SIGINT);
}

/* A closed terminal (SIGHUP) and SIGQUIT stop a run as SIGTERM does. */
static void safety_sighup_stops_cleanly(void **state)
{
    stops_cleanly(*state, SIGHUP);
}

static void safety_sigquit_stops_cleanly(void **state)
{
    stops_cleanly(*state, SIGQUIT);
}

static void safety_second_sigint_ends_at_once(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    pid_t pid = run_in_child(f, journal, 2000, 2);
    /* Both signals arrive while the caller is busy in its first progress
     * report: the first asks to stop, the second ends the process. */
    usleep(100000);
    kill(pid, SIGINT);
    usleep(100000);
    kill(pid, SIGINT);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGINT);
    reap_all();
    free(journal);
}

/* ---- special files as inputs -------------------------------------------- */

/* A FIFO, a socket and a device among the inputs: each fails its item at
 * once, saying what it is, and the run ends. */
static void safety_special_files_refused(void **state)
{
    fixture *f = *state;
    char *fifo = tu_join(f->dir, "pipe.fifo");
    assert_int_equal(mkfifo(fifo, 0666), 0);
    char *sock_path = tu_join(f->dir, "sock");
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path);
    assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof addr), 0);
    json_t *names = json_pack("[s, s, s, s, s]",
                              json_string_value(json_array_get(f->names, 0)),
                              fifo, sock_path, "/dev/null",
                              json_string_value(json_array_get(f->names, 1)));
    bmp_pipe *pipe = make_pipe();
    /* The time-out only ends a run whose reader blocked. */
    json_t *kw = json_pack("{s:s, s:i, s:f}", "outdir", f->out,
                           "num_processes", 2, "timeout", 20.0);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, NULL),
                     0);
    const char *kinds[] = {NULL, "a FIFO", "a socket", "a character device",
                           NULL};
    for (size_t i = 0; i < 5; i++) {
        if (!kinds[i]) {
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
            continue;
        }
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
        char expect[600];
        snprintf(expect, sizeof expect, "%s is %s, not a regular file",
                 json_string_value(json_array_get(names, i)), kinds[i]);
        assert_string_equal(bmp_pout_error(pout, i), expect);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(names);
    close(sock);
    free(sock_path);
    free(fifo);
}

/* The .npy and FITS readers refuse a FIFO too, without blocking (in a
 * child with an alarm, so a reader that blocks fails the test instead of
 * hanging it). */
static void safety_format_readers_refuse_fifo(void **state)
{
    fixture *f = *state;
    char *fifo = tu_join(f->dir, "pipe.fifo");
    assert_int_equal(mkfifo(fifo, 0666), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        bmp_array *a = NULL;
        bmp_error e1 = {0}, e2 = {0};
        int npy = bmp_npy_read(fifo, 0, &a, &e1);
        int fits = bmp_fits_read(fifo, NULL, &a, &e2);
        int ok = npy == BMP_EUNSUPPORTED && fits == BMP_EUNSUPPORTED &&
                 strstr(e1.text, "is a FIFO, not a regular file") &&
                 strstr(e2.text, "is a FIFO, not a regular file");
        if (!ok)
            fprintf(stderr, "npy %d \"%s\"; fits %d \"%s\"\n", npy, e1.text,
                    fits, e2.text);
        _exit(ok ? 0 : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(fifo);
}

/* ---- workers that cannot be started ------------------------------------- */

/* Reads nothing: the item's value is its index, so that a worker needs no
 * descriptor for its items. */
static int read_nothing(bmp_item *item, const char *in_name, void **data)
{
    (void)in_name;
    char text[16];
    int n = snprintf(text, sizeof text, "%zu", bmp_item_index(item));
    bmp_buffer *b = bmp_buffer_new((size_t)n);
    if (!b)
        return -ENOMEM;
    memcpy(b->bytes, text, (size_t)n);
    *data = b;
    return 0;
}

static int record_pid(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_kw_set_int(bmp_item_meta(item), "pid", getpid());
}

/* In a child: leaves exactly `free_fds` descriptors free under a limit
 * of 64, runs 3 workers over the items, and checks the outcome: with
 * `expect_workers` 0, every item failed for want of a worker and
 * BMP_ENOWORKER with the pout; else every item ok, in that many worker
 * processes at most.  Exits 0 when all holds. */
static void run_short_of_descriptors(const fixture *f, int free_fds,
                                     int expect_workers)
{
    struct rlimit rl = {64, 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        _exit(10);
    int fds[64], n = 0, fd;
    while (n < 64 && (fd = dup(0)) >= 0)
        fds[n++] = fd;
    for (int k = 0; k < free_fds && n > 0; k++)
        close(fds[--n]);
    bmp_ops ops = {.file_read = read_nothing};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, record_pid, NULL, NULL);
    bmp_pipe_add_post(pipe, bmp_no_outfile, NULL, NULL);
    /* No signal handlers: their self-pipe would take two descriptors. */
    json_t *kw = json_pack("{s:i, s:b}", "num_processes", 3, "handle_signals",
                           0);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err);
    int ok = pout != NULL;
    long long pids[N_ITEMS];
    int distinct = 0;
    for (size_t i = 0; ok && i < N_ITEMS; i++) {
        const char *why = bmp_pout_error(pout, i);
        if (expect_workers == 0) {
            ok = bmp_pout_status(pout, i) == BMP_ITEM_FAILED && why &&
                 strcmp(why, "cannot start a worker process: Too many open "
                             "files") == 0;
            continue;
        }
        ok = bmp_pout_status(pout, i) == BMP_ITEM_NO_OUTPUT;
        pids[i] = bmp_kw_int(bmp_pout_meta(pout, i), "pid", -1);
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= pids[k] == pids[i];
        distinct += !seen;
    }
    if (expect_workers == 0)
        ok = ok && rc == BMP_ENOWORKER && err.code == BMP_ENOWORKER;
    else
        ok = ok && rc == 0 && distinct >= 1 && distinct <= expect_workers;
    if (!ok)
        fprintf(stderr, "rc %d (%s), %d workers, first error: %s\n", rc,
                err.text, distinct,
                pout && bmp_pout_error(pout, 0) ? bmp_pout_error(pout, 0)
                                                : "none");
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    _exit(ok ? 0 : 3);
}

static void short_of_descriptors(const fixture *f, int free_fds,
                                 int expect_workers)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        run_short_of_descriptors(f, free_fds, expect_workers);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    reap_all();
}

/* Room for one worker's socket pair and no second: the run goes on with
 * one worker instead of failing items. */
static void safety_fewer_workers_when_descriptors_run_out(void **state)
{
    short_of_descriptors(*state, 2, 1);
}

/* Room for no worker at all: every item fails with the reason and the
 * run says so. */
static void safety_no_worker_fails_every_item(void **state)
{
    short_of_descriptors(*state, 1, 0);
}

/* Two workers run at `ulimit -n 16` with the library's own reader,
 * writer and signal handling. */
static void safety_two_workers_at_16_descriptors(void **state)
{
    fixture *f = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {16, 16};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(10);
        bmp_pipe *pipe = make_pipe();
        bmp_pipe_add_post(pipe, record_pid, NULL, NULL);
        json_t *kw = json_pack("{s:s, s:i}", "outdir", f->out, "num_processes",
                               2);
        bmp_pout *pout = NULL;
        int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, NULL);
        int ok = rc == 0;
        for (size_t i = 0; ok && i < N_ITEMS; i++)
            ok = bmp_pout_status(pout, i) == BMP_ITEM_OK;
        if (!ok)
            fprintf(stderr, "rc %d: %s\n", rc,
                    pout && bmp_pout_error(pout, 0) ? bmp_pout_error(pout, 0)
                                                    : "");
        _exit(ok ? 0 : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    reap_all();
    assert_int_equal(check_outputs(f), N_ITEMS);
}

/* ---- the kill test ------------------------------------------------------ */

static void safety_random_sigkill_then_resume(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    /* The reference: an uninterrupted run elsewhere. */
    char *ref_out = tu_join(f->dir, "ref");
    mkdir(ref_out, 0777);
    bmp_pipe *pipe = make_pipe();
    json_t *ref_kw = json_pack("{s:s, s:i}", "outdir", ref_out,
                               "num_processes", 2);
    bmp_pout *reference = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, ref_kw, NULL, NULL,
                                  &reference, NULL),
                     0);

    /* Outputs of 4 MiB, so that kills land while outputs are written
     * and leave temporaries for the next run to find. */
    f->pad = 4 << 20;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int kills = 0, left_temporaries = 0;
    for (int round = 0; round < 20; round++) {
        pid_t pid = run_in_child(f, journal, 15, 0);
        usleep((useconds_t)(rand() % 120000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        reap_all(); /* its workers die with it */
        kills++;
        check_outputs(f); /* whatever is there is complete and correct */
        left_temporaries += count_temporaries(f->out) > 0;
    }
    assert_int_equal(kills, 20);
    /* How often a kill landed mid-write varies from run to run; that the
     * next run leaves none is checked below either way. */
    print_message("kills that left temporaries: %d of 20\n", left_temporaries);

    json_t *kw = json_pack("{s:s, s:s, s:b, s:i, s:i}", "outdir", f->out,
                           "journal", journal, "resume", 1, "num_processes", 2,
                           "pad", f->pad);
    bmp_pout *resumed = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &resumed,
                                  NULL),
                     0);
    assert_int_equal(check_outputs(f), N_ITEMS);
    /* The killed runs' temporaries are gone with the next run. */
    assert_int_equal(count_temporaries(f->out), 0);
    /* Equal to the uninterrupted pout, but for the output directory. */
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(resumed, i),
                         bmp_pout_status(reference, i));
        assert_true(json_equal(bmp_pout_meta(resumed, i),
                               bmp_pout_meta(reference, i)));
        assert_string_equal(strrchr(bmp_pout_outname(resumed, i), '/'),
                            strrchr(bmp_pout_outname(reference, i), '/'));
        assert_true(json_equal((json_t *)bmp_pout_in_name(resumed, i),
                               (json_t *)bmp_pout_in_name(reference, i)));
    }
    bmp_pout_free(resumed);
    bmp_pout_free(reference);
    json_decref(kw);
    json_decref(ref_kw);
    bmp_pipe_free(pipe);
    free(ref_out);
    free(journal);
}

int main(void)
{
    /* Orphaned workers of killed runs become our children, so the tests
     * can prove none is left running. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(safety_killed_writer_leaves_nothing),
        T(safety_existing_output_needs_overwrite),
        T(safety_output_equal_to_input_refused),
        T(safety_file_size_limit_fails_item),
        T(safety_disk_full_fails_item),
        T(safety_odd_names_kept_exactly),
        T(safety_resume_runs_only_the_rest),
        T(safety_resume_needs_journal),
        T(safety_sigint_stops_cleanly),
        T(safety_sighup_stops_cleanly),
        T(safety_sigquit_stops_cleanly),
        T(safety_second_sigint_ends_at_once),
        T(safety_special_files_refused),
        T(safety_format_readers_refuse_fifo),
        T(safety_fewer_workers_when_descriptors_run_out),
        T(safety_no_worker_fails_every_item),
        T(safety_two_workers_at_16_descriptors),
        T(safety_random_sigkill_then_resume),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
