/*
 * test_paths.c -- a run never destroys its own data: no item's output
 * is another item's input (by name, through a symbolic link, through a
 * hard link, whatever overwrite says), the journal and write_pout are
 * never an input or an output, a journal belongs to one run, a full
 * disk under the journal is named as such, and the temporaries a killed
 * run left beside its outputs are removed by the next run when nobody
 * holds them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "atomic_file.h"
#include "bigmultipipe.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_ITEMS 6

typedef struct fixture {
    char *dir; /* inputs: in_00.dat ... */
    char *out; /* dir/out */
    json_t *names;
    bmp_pipe *pipe;
} fixture;

/* data_process: doubles the first byte's digit, so that an output
 * differs from its input. */
static int change(bmp_item *item, void **data)
{
    (void)item;
    bmp_buffer *b = *data;
    if (b->size > 0)
        b->bytes[0] = (char)('a' + (b->bytes[0] - '0'));
    return BMP_CONTINUE;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->out = tu_join(f->dir, "out");
    assert_int_equal(mkdir(f->out, 0777), 0);
    f->names = tu_numbered_files(f->dir, "in_%02d.dat", N_ITEMS);
    bmp_ops ops = {.data_process = change};
    f->pipe = bmp_pipe_new(&ops, NULL);
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
    bmp_pipe_free(f->pipe);
    free(f);
    return 0;
}

/* Every input still holds its index as text, as setup wrote it. */
static void assert_inputs_intact(const fixture *f)
{
    for (size_t i = 0; i < json_array_size(f->names); i++) {
        const char *name = json_string_value(json_array_get(f->names, i));
        size_t size;
        char *text = tu_read_file(name, &size);
        assert_non_null(text);
        char want[32];
        snprintf(want, sizeof want, "%zu", i);
        assert_string_equal(text, want);
        free(text);
    }
}

/* Runs the fixture's pipe; returns bmp_pipeline's code, err filled. */
static int run(fixture *f, const json_t *names, json_t *kw, bmp_error *err)
{
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(f->pipe, names ? names : f->names, kw, NULL, NULL,
                          &pout, err);
    bmp_pout_free(pout);
    return rc;
}

/* ---- outputs against inputs ------------------------------------------- */

/* Outputs written into the inputs' own folder with an empty append: item
 * i's output is its own input (it fails alone), and inputs named like
 * outputs of others are refused before anything runs. */
static void paths_output_is_another_items_input_by_name(void **state)
{
    fixture *f = *state;
    /* in_00.dat -> in_00_x.dat, which is also the second input. */
    char *a = tu_join(f->dir, "in_00.dat");
    char *b = tu_join(f->dir, "./in_00_x.dat"); /* another spelling */
    tu_write_file(b, "7", 1);
    json_t *names = json_pack("[s, s]", a, b);
    for (int overwrite = 0; overwrite <= 1; overwrite++) {
        json_t *kw = json_pack("{s:s, s:s, s:b}", "outdir", f->dir,
                               "outname_append", "_x", "overwrite", overwrite);
        bmp_error err = {0};
        assert_int_equal(run(f, names, kw, &err), BMP_EINVAL);
        assert_non_null(strstr(err.text, "item 0's output"));
        assert_non_null(strstr(err.text, "item 1's input"));
        json_decref(kw);
    }
    size_t size;
    char *text = tu_read_file(b, &size);
    assert_string_equal(text, "7"); /* untouched */
    free(text);
    free(a);
    free(b);
    json_decref(names);
}

/* The outdir is a symbolic link to the inputs' folder: item 0's output
 * linked/in_00_x.dat is the file dir/in_00_x.dat, item 1's input --
 * whether that input exists yet or not. */
static void paths_output_is_an_input_through_a_symlinked_folder(void **state)
{
    fixture *f = *state;
    char *link = tu_join(f->dir, "linked");
    assert_int_equal(symlink(f->dir, link), 0);
    char *a = tu_join(f->dir, "in_00.dat");
    char *b = tu_join(f->dir, "in_00_x.dat");
    json_t *names = json_pack("[s, s]", a, b);
    json_t *kw = json_pack("{s:s, s:s, s:b}", "outdir", link, "outname_append",
                           "_x", "overwrite", 1);
    for (int exists = 1; exists >= 0; exists--) {
        if (exists)
            tu_write_file(b, "7", 1);
        else
            unlink(b);
        bmp_error err = {0};
        assert_int_equal(run(f, names, kw, &err), BMP_EINVAL);
        assert_non_null(strstr(err.text, "item 0's output"));
        assert_non_null(strstr(err.text, "item 1's input"));
        assert_int_equal(tu_exists(b), exists);
    }
    json_decref(kw);
    json_decref(names);
    free(link);
    free(a);
    free(b);
}

/* An existing output that is a hard link to another item's input, and
 * one that is a symbolic link to it: both are that input. */
static void paths_output_is_an_input_through_links(void **state)
{
    fixture *f = *state;
    for (int kind = 0; kind < 2; kind++) {
        char *out0 = tu_join(f->out, "in_00_bmp.dat");
        const char *in3 = json_string_value(json_array_get(f->names, 3));
        unlink(out0);
        assert_int_equal(kind ? symlink(in3, out0) : link(in3, out0), 0);
        json_t *kw = json_pack("{s:s, s:b}", "outdir", f->out, "overwrite", 1);
        bmp_error err = {0};
        assert_int_equal(run(f, NULL, kw, &err), BMP_EINVAL);
        assert_non_null(strstr(err.text, "item 0's output"));
        assert_non_null(strstr(err.text, "item 3's input"));
        assert_inputs_intact(f);
        json_decref(kw);
        unlink(out0);
        free(out0);
    }
}

/* Two items, one output, spelled differently: with nothing that could
 * rename them (no steps, the default stages), refused before the run.
 * With a data_process of the program's, which may set meta outname, the
 * run goes on and each item that keeps the shared name fails. */
static void paths_two_items_one_output(void **state)
{
    fixture *f = *state;
    char *a = tu_join(f->dir, "in_00.dat");
    char *b = tu_join(f->dir, ".//in_00.dat");
    json_t *names = json_pack("[s, s]", a, b);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    bmp_error err = {0};
    bmp_pipe *plain = bmp_pipe_new(NULL, NULL);
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(plain, names, kw, NULL, NULL, &pout, &err),
                     BMP_EINVAL);
    assert_null(pout);
    assert_non_null(strstr(err.text, "items 0 and 1 would both write"));
    bmp_pipe_free(plain);
    assert_int_equal(bmp_pipeline(f->pipe, names, kw, NULL, NULL, &pout, &err),
                     0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_FAILED);
        assert_non_null(
            strstr(bmp_pout_error(pout, i), "items 0 and 1 would both write"));
    }
    bmp_pout_free(pout);
    char *out = tu_join(f->out, "in_00_bmp.dat");
    assert_false(tu_exists(out));
    free(out);
    json_decref(kw);
    json_decref(names);
    free(a);
    free(b);
}

/* The run's own files: a journal or write_pout that is an input (by
 * name or hard link) or an output, or both the same file. */
static void paths_own_files_are_never_inputs_or_outputs(void **state)
{
    fixture *f = *state;
    const char *in2 = json_string_value(json_array_get(f->names, 2));
    char *hard = tu_join(f->dir, "hard");
    assert_int_equal(link(in2, hard), 0);
    char *out4 = tu_join(f->out, "in_04_bmp.dat");
    char *same = tu_join(f->dir, "both.jsonl");
    struct {
        const char *key, *path, *key2, *path2, *says;
    } cases[] = {
        {"journal", in2, NULL, NULL, "journal"},
        {"journal", hard, NULL, NULL, "item 2's input"},
        {"write_pout", in2, NULL, NULL, "write_pout"},
        {"journal", out4, NULL, NULL, "item 4's output"},
        {"journal", same, "write_pout", same, "the same file"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        json_t *kw = json_pack("{s:s, s:s}", "outdir", f->out, cases[c].key,
                               cases[c].path);
        if (cases[c].key2)
            json_object_set_new(kw, cases[c].key2,
                                json_string(cases[c].path2));
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline_cached(f->pipe, f->names, kw, NULL, NULL,
                                             &pout, &err),
                         BMP_EINVAL);
        assert_null(pout);
        assert_non_null(strstr(err.text, cases[c].says));
        assert_inputs_intact(f);
        assert_false(tu_exists(out4)); /* nothing ran */
        json_decref(kw);
    }
    free(hard);
    free(out4);
    free(same);
}

/* The public check, as a program that writes its outputs itself uses
 * it: its own pout file, and outputs only when asked. */
static void paths_public_check(void **state)
{
    fixture *f = *state;
    const char *in1 = json_string_value(json_array_get(f->names, 1));
    json_t *kw = json_pack("{s:s, s:s}", "outdir", f->dir, "outname_append",
                           "");
    bmp_own_file own = {"pout file", in1};
    bmp_error err = {0};
    assert_int_equal(bmp_check_paths(f->names, kw, 0, &own, 1, &err),
                     BMP_EINVAL);
    assert_non_null(strstr(err.text, "the pout file"));
    own.path = NULL;
    /* Each output is the item's own input: left to the items. */
    assert_int_equal(bmp_check_paths(f->names, kw, BMP_CHECK_OUTPUTS, &own, 1,
                                     &err),
                     0);
    assert_int_equal(bmp_check_paths(f->names, NULL, 0, NULL, 0, &err), 0);
    /* No items: nothing to compare, whatever is written. */
    json_t *none = json_array();
    own.path = "pout.jsonl";
    assert_int_equal(bmp_check_paths(none, kw, BMP_CHECK_OUTPUTS, &own, 1,
                                     &err),
                     0);
    assert_int_equal(bmp_check_paths(none, kw, BMP_CHECK_OUTPUTS, NULL, 0,
                                     &err),
                     0);
    json_decref(none);
    assert_int_equal(bmp_check_paths(NULL, kw, 0, NULL, 0, &err), BMP_EINVAL);
    json_decref(kw);
}

/* ---- the journal belongs to one run ------------------------------------ */

static void paths_journal_of_another_run_is_refused(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    char *other = tu_join(f->dir, "other");
    json_t *kw = json_pack("{s:s, s:s}", "outdir", f->out, "journal", journal);
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    size_t size;
    char *before = tu_read_file(journal, &size);
    assert_true(strncmp(before, "{\"bmp_journal\": 1,", 18) == 0);

    /* Another outdir: refused, saying so; the journal is untouched. */
    json_object_set_new(kw, "resume", json_true());
    json_object_set_new(kw, "outdir", json_string(other));
    json_object_set_new(kw, "create_outdir", json_true());
    bmp_error err = {0};
    assert_int_equal(run(f, NULL, kw, &err), BMP_EINVAL);
    assert_non_null(strstr(err.text, "belongs to another run"));
    assert_non_null(strstr(err.text, "outdir was"));
    assert_non_null(strstr(err.text, "force_resume"));
    assert_false(tu_exists(other));
    char *after = tu_read_file(journal, &size);
    assert_string_equal(before, after);
    free(after);

    /* Other inputs, another pipeline_id: each named. */
    json_object_set_new(kw, "outdir", json_string(f->out));
    json_t *fewer = json_array();
    json_array_append(fewer, json_array_get(f->names, 0));
    err = (bmp_error){0};
    assert_int_equal(run(f, fewer, kw, &err), BMP_EINVAL);
    assert_non_null(
        strstr(err.text, "the inputs differ (6 items then, 1 now)"));
    json_object_set_new(kw, "pipeline_id", json_string("v2"));
    err = (bmp_error){0};
    assert_int_equal(run(f, NULL, kw, &err), BMP_EINVAL);
    assert_non_null(strstr(err.text, "pipeline_id was unset, now \"v2\""));
    json_object_del(kw, "pipeline_id");

    /* The same run resumes, and runs nothing. */
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    bmp_pout_free(pout);

    /* force_resume takes the other run's journal and makes it this
     * run's: a later plain resume is then accepted. */
    json_object_set_new(kw, "pipeline_id", json_string("v2"));
    json_object_set_new(kw, "force_resume", json_true());
    assert_int_equal(run(f, NULL, kw, &err), 0);
    json_object_del(kw, "force_resume");
    assert_int_equal(run(f, NULL, kw, &err), 0);
    char *text = tu_read_file(journal, &size);
    assert_non_null(strstr(text, "\"pipeline_id\": \"v2\""));
    free(text);

    /* The journal read as a pout: its entries, without the record. */
    assert_int_equal(bmp_pout_read(journal, &pout, &err), 0);
    assert_int_equal(bmp_pout_count(pout), N_ITEMS);
    bmp_pout_free(pout);

    json_decref(fewer);
    json_decref(kw);
    free(before);
    free(journal);
    free(other);
}

static int fail_step(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_item_fail(item, 0, "this item must not run");
}

/* A new run empties its journal: never a file that is not a journal. */
static void paths_journal_never_truncates_other_files(void **state)
{
    fixture *f = *state;
    char *notes = tu_join(f->dir, "notes.txt");
    tu_write_file(notes, "my notes\n", 9);
    json_t *kw = json_pack("{s:s, s:s}", "outdir", f->out, "journal", notes);
    bmp_error err = {0};
    assert_int_equal(run(f, NULL, kw, &err), BMP_EINVAL);
    assert_non_null(strstr(err.text, "is not a journal"));
    size_t size;
    char *text = tu_read_file(notes, &size);
    assert_string_equal(text, "my notes\n");
    free(text);
    /* An empty file, and a journal of an earlier run, are replaced. */
    tu_write_file(notes, "", 0);
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    json_object_set_new(kw, "overwrite", json_true());
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    json_decref(kw);
    free(notes);
}

/* Defaults spelled out are the same run as defaults left unset. */
static void paths_journal_compares_settings_as_they_act(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    char *here = getcwd(NULL, 0);
    assert_int_equal(chdir(f->out), 0);
    json_t *kw = json_pack("{s:s}", "journal", journal);
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    json_t *spelled = json_pack("{s:s, s:s, s:s, s:s, s:b}", "journal",
                                journal, "outdir", ".", "outname_append",
                                "_bmp", "outname", "", "resume", 1);
    bmp_error err = {0};
    assert_int_equal(run(f, NULL, spelled, &err), 0);
    assert_int_equal(chdir(here), 0);
    free(here);
    json_decref(spelled);
    json_decref(kw);
    free(journal);
}

/* A journal of an older version (no run record) is refused unless
 * forced; a forced resume keeps its finished items. */
static void paths_journal_without_record(void **state)
{
    fixture *f = *state;
    char *journal = tu_join(f->dir, "journal.jsonl");
    json_t *kw = json_pack("{s:s, s:s}", "outdir", f->out, "journal", journal);
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    /* Drop the record line, as an older version wrote it. */
    size_t size;
    char *text = tu_read_file(journal, &size);
    char *rest = strchr(text, '\n') + 1;
    tu_write_file(journal, rest, strlen(rest));
    free(text);
    json_object_set_new(kw, "resume", json_true());
    bmp_error err = {0};
    assert_int_equal(run(f, NULL, kw, &err), BMP_EINVAL);
    assert_non_null(strstr(err.text, "no run record"));
    json_object_set_new(kw, "force_resume", json_true());
    /* Forced, items come from the journal: a pre-process step that
     * fails every item proves that none ran. */
    const bmp_step fail_all[] = {{fail_step, NULL, "fail"}, {0}};
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, fail_all, NULL, &pout,
                                  &err),
                     0);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    bmp_pout_free(pout);
    text = tu_read_file(journal, &size);
    assert_true(strncmp(text, "{\"bmp_journal\": 1,", 18) == 0);
    free(text);
    json_decref(kw);
    free(journal);
}

/* A journal on a full file system: the run says "No space left", keeps
 * the items' results, and leaves whole lines only. */
static void paths_journal_on_a_full_disk(void **state)
{
    fixture *f = *state;
    char *mnt = tu_join(f->dir, "small");
    assert_int_equal(mkdir(mnt, 0777), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=12k") != 0) {
        free(mnt);
        skip(); /* needs the right to mount */
    }
    /* Two of the three pages taken: the journal gets one, 4096 bytes,
     * enough for its record and a few of the long lines below. */
    char *filler = tu_join(mnt, "filler");
    char *block = calloc(1, 8192);
    tu_write_file(filler, block, 8192);
    free(block);
    char long_name[200];
    memset(long_name, 'n', sizeof long_name);
    long_name[sizeof long_name - 1] = '\0';
    json_t *names = json_array();
    for (int i = 0; i < 20; i++) {
        char base[256];
        snprintf(base, sizeof base, "%.150s_%02d.dat", long_name, i);
        char *path = tu_join(f->dir, base);
        tu_write_file(path, "1", 1);
        json_array_append_new(names, json_string(path));
        free(path);
    }
    char *journal = tu_join(mnt, "journal.jsonl");
    json_t *kw = json_pack("{s:s, s:s, s:i}", "outdir", f->out, "journal",
                           journal, "num_processes", 1);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(f->pipe, names, kw, NULL, NULL, &pout, &err);
    assert_int_equal(rc, -ENOSPC);
    assert_non_null(strstr(err.text, "No space left on device"));
    assert_non_null(pout); /* the items are the caller's still */
    for (size_t i = 0; i < bmp_pout_count(pout); i++)
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
    size_t size;
    char *text = tu_read_file(journal, &size);
    assert_true(size > 0 && text[size - 1] == '\n');
    free(text);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    umount(mnt);
    free(journal);
    free(filler);
    free(mnt);
}

/* The same message where nothing may be mounted: a journal on a device
 * that is always full. */
static void paths_journal_on_dev_full(void **state)
{
    fixture *f = *state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    json_t *kw = json_pack("{s:s, s:s}", "outdir", f->out, "journal",
                           "/dev/full");
    bmp_error err = {0};
    bmp_pout *pout = NULL;
    assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, NULL, &pout,
                                  &err),
                     -ENOSPC);
    assert_non_null(strstr(err.text, "No space left on device"));
    bmp_pout_free(pout);
    json_decref(kw);
}

/* ---- temporaries of killed runs ---------------------------------------- */

/* Leftovers as a killed writer leaves them, one held by a live writer,
 * and names that only look alike: the next run removes exactly the
 * dead writers' temporaries of its own outputs. */
static void paths_dead_temporaries_removed(void **state)
{
    fixture *f = *state;
    char *dead = tu_join(f->out, ".in_01_bmp.dat.bmp-Ab3xY9");
    char *held = tu_join(f->out, ".in_02_bmp.dat.bmp-Q1w2E3");
    char *foreign = tu_join(f->out, ".other_bmp.dat.bmp-Zz9Zz9");
    char *almost = tu_join(f->out, ".in_03_bmp.dat.bmp-short");
    char *dir_like = tu_join(f->out, ".in_04_bmp.dat.bmp-Dd4Dd4");
    tu_write_file(dead, "partial", 7);
    tu_write_file(held, "partial", 7);
    tu_write_file(foreign, "x", 1);
    tu_write_file(almost, "x", 1);
    assert_int_equal(mkdir(dir_like, 0777), 0);
    /* A live writer in another process holds `held`. */
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t holder = fork();
    if (holder == 0) {
        int fd = open(held, O_RDWR);
        flock(fd, LOCK_EX);
        if (write(ready[1], "!", 1)) {
        }
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    /* The run's own files are written by rename too: a killed run's
     * temporaries of its journal and pout file go as well. */
    char *journal = tu_join(f->dir, "journal.jsonl");
    char *pout_file = tu_join(f->dir, "pout.jsonl");
    char *dead_journal = tu_join(f->dir, ".journal.jsonl.bmp-Jj1Jj1");
    char *dead_pout = tu_join(f->dir, ".pout.jsonl.bmp-Pp2Pp2");
    tu_write_file(dead_journal, "{", 1);
    tu_write_file(dead_pout, "{", 1);
    json_t *kw = json_pack("{s:s, s:s, s:s}", "outdir", f->out, "journal",
                           journal, "write_pout", pout_file);
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    assert_false(tu_exists(dead_journal));
    assert_false(tu_exists(dead_pout));
    free(journal);
    free(pout_file);
    free(dead_journal);
    free(dead_pout);
    assert_false(tu_exists(dead));
    assert_true(tu_exists(held));
    assert_true(tu_exists(foreign));
    assert_true(tu_exists(almost));
    assert_true(tu_exists(dir_like));
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    /* Its writer gone, the next run over the same outputs removes it. */
    json_object_set_new(kw, "overwrite", json_true());
    assert_int_equal(run(f, NULL, kw, NULL), 0);
    assert_false(tu_exists(held));
    close(ready[0]);
    close(ready[1]);
    json_decref(kw);
    free(dead);
    free(held);
    free(foreign);
    free(almost);
    free(dir_like);
}

/* The library's writers hold their temporaries locked while they write:
 * one made by bmp__atomic_open cannot be locked by another process. */
static void paths_writers_lock_their_temporaries(void **state)
{
    fixture *f = *state;
    char *target = tu_join(f->out, "locked.dat");
    bmp__atomic_file a;
    assert_int_equal(bmp__atomic_open(&a, target), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(a.temp_path, O_RDONLY);
        _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(bmp__atomic_write(&a, "x", 1), 0);
    assert_int_equal(bmp__atomic_commit(&a, 0), 0);
    assert_true(tu_exists(target));
    free(target);
}

/* A run killed with SIGKILL while its items write large outputs leaves
 * temporaries; the next run, not resumed, removes them all.  Each kill
 * waits until a temporary exists, so that most kills land mid-write. */
static int slow_big(bmp_item *item, void **data)
{
    (void)item;
    bmp_buffer *b = bmp_buffer_new(32 << 20);
    memset(b->bytes, 'x', b->size);
    bmp_object_free(*data, NULL);
    *data = b;
    return BMP_CONTINUE;
}

static int count_temporaries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] == '.' && strstr(e->d_name, ".bmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Waits for every child: the killed caller, and its workers, which this
 * process adopts (it is a subreaper) when their caller dies. */
static void reap_all(void)
{
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
}

static void paths_temporaries_after_sigkill(void **state)
{
    fixture *f = *state;
    int left_after_kill = 0;
    for (int round = 0; round < 6; round++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            bmp_ops ops = {.data_process = slow_big};
            bmp_pipe *p = bmp_pipe_new(&ops, NULL);
            json_t *kw = json_pack("{s:s, s:b, s:i}", "outdir", f->out,
                                   "overwrite", 1, "num_processes", 2);
            for (;;) {
                bmp_pout *pout = NULL;
                bmp_pipeline(p, f->names, kw, NULL, NULL, &pout, NULL);
                bmp_pout_free(pout);
            }
        }
        for (int t = 0; t < 5000 && count_temporaries(f->out) == 0; t++)
            usleep(1000);
        kill(pid, SIGKILL);
        reap_all();
        left_after_kill += count_temporaries(f->out) > 0;
        json_t *kw = json_pack("{s:s, s:b}", "outdir", f->out, "overwrite", 1);
        assert_int_equal(run(f, NULL, kw, NULL), 0);
        json_decref(kw);
        assert_int_equal(count_temporaries(f->out), 0);
    }
    /* Killed the moment a temporary appeared, 32 MiB from done: a round
     * where the write still ended first is possible, all six are not. */
    assert_true(left_after_kill > 0);
}

/* ---- names that take effect during the run ---------------------------- */

/* Two inputs of one base name in two folders: one default output name. */
static json_t *same_base_names(const fixture *f)
{
    char *d1 = tu_join(f->dir, "d1"), *d2 = tu_join(f->dir, "d2");
    assert_int_equal(mkdir(d1, 0777), 0);
    assert_int_equal(mkdir(d2, 0777), 0);
    char *a = tu_join(d1, "same.dat"), *b = tu_join(d2, "same.dat");
    tu_write_file(a, "1", 1);
    tu_write_file(b, "2", 1);
    json_t *names = json_pack("[s, s]", a, b);
    free(a);
    free(b);
    free(d1);
    free(d2);
    return names;
}

/* Items that write nothing (no_outfile last, Python's metadata-only
 * pipeline) share no output: not refused. */
static void paths_no_outfile_items_do_not_collide(void **state)
{
    fixture *f = *state;
    json_t *names = same_base_names(f);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    const bmp_step post[] = {{bmp_no_outfile, NULL, "no_outfile"},
                             {NULL, NULL, NULL}};
    bmp_pipe *pipes[] = {bmp_pipe_new(NULL, NULL), f->pipe};
    for (size_t p = 0; p < 2; p++) {
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(pipes[p], names, kw, NULL, post, &pout,
                                      &err),
                         0);
        for (size_t i = 0; i < 2; i++)
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_NO_OUTPUT);
        bmp_pout_free(pout);
    }
    bmp_pipe_free(pipes[0]);
    json_decref(kw);
    json_decref(names);
}

/* A pre-process step: the item's outdir is OUT/<index>. */
static int outdir_per_item(bmp_item *item, void **data, void *arg)
{
    (void)data;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%zu", (const char *)arg,
             bmp_item_index(item));
    return bmp_kw_set_str(bmp_item_kw(item), "outdir", dir);
}

/* A post-process step: meta outname "<index>.out". */
static int outname_per_item(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    char name[64];
    snprintf(name, sizeof name, "%zu.out", bmp_item_index(item));
    return bmp_kw_set_str(bmp_item_meta(item), "outname", name);
}

static void paths_names_set_by_steps_are_not_refused(void **state)
{
    fixture *f = *state;
    json_t *names = same_base_names(f);
    json_t *kw = json_pack("{s:s, s:b}", "outdir", f->out, "create_outdir", 1);
    const bmp_step pre[] = {{outdir_per_item, f->out, "outdir"},
                            {NULL, NULL, NULL}};
    const bmp_step post[] = {{outname_per_item, NULL, "outname"},
                             {NULL, NULL, NULL}};
    for (int by_meta = 0; by_meta < 2; by_meta++) {
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(f->pipe, names, kw, by_meta ? NULL : pre,
                                      by_meta ? post : NULL, &pout, &err),
                         0);
        for (size_t i = 0; i < 2; i++) {
            assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
            char want[4200];
            snprintf(want, sizeof want,
                     by_meta ? "%s/%zu.out" : "%s/%zu/same_bmp.dat", f->out,
                     i);
            assert_string_equal(bmp_pout_outname(pout, i), want);
            assert_true(tu_exists(want));
        }
        bmp_pout_free(pout);
    }
    json_decref(kw);
    json_decref(names);
}

/* A step renames item 1 only: item 0 keeps the name the rule gave both,
 * and fails, since item 1 might have kept it too; item 1 is written. */
static int rename_item_one(bmp_item *item, void **data, void *arg)
{
    return bmp_item_index(item) == 1 ? outname_per_item(item, data, arg)
                                     : BMP_CONTINUE;
}

static void
paths_shared_default_name_fails_the_item_that_keeps_it(void **state)
{
    fixture *f = *state;
    json_t *names = same_base_names(f);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    const bmp_step post[] = {{rename_item_one, NULL, "rename"},
                             {NULL, NULL, NULL}};
    for (size_t e = 0; e < 2; e++) {
        json_object_set_new(kw, "executor",
                            json_string(e ? "process" : "serial"));
        json_object_set_new(kw, "overwrite", json_true());
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        assert_int_equal(bmp_pipeline(f->pipe, names, kw, NULL, post, &pout,
                                      &err),
                         0);
        assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
        assert_non_null(
            strstr(bmp_pout_error(pout, 0), "items 0 and 1 would both write"));
        assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_OK);
        char *shared = tu_join(f->out, "same_bmp.dat");
        assert_false(tu_exists(shared));
        free(shared);
        bmp_pout_free(pout);
    }
    json_decref(kw);
    json_decref(names);
}

/* The other item rejected by a step: the worker of item 0 cannot know
 * it, and the answer does not depend on which finished first, so item 0
 * still fails (doc/differences.md). */
static int reject_item_one(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    return bmp_item_index(item) == 1 ? BMP_REJECT : BMP_CONTINUE;
}

static void
paths_shared_default_name_fails_even_if_the_other_rejects(void **state)
{
    fixture *f = *state;
    json_t *names = same_base_names(f);
    json_t *kw = json_pack("{s:s}", "outdir", f->out);
    const bmp_step pre[] = {{reject_item_one, NULL, "reject"},
                            {NULL, NULL, NULL}};
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(f->pipe, names, kw, pre, NULL, &pout, &err),
                     0);
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
    assert_non_null(
        strstr(bmp_pout_error(pout, 0), "items 0 and 1 would both write"));
    assert_int_equal(bmp_pout_status(pout, 1), BMP_ITEM_NO_OUTPUT);
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
}

/* A step names another item's input as the output -- by its name, a
 * symbolic link or a hard link -- with overwrite: that item fails during
 * the run, and the input is intact. */
static int outname_from_arg(bmp_item *item, void **data, void *arg)
{
    (void)data;
    return bmp_item_index(item) == 0
               ? bmp_kw_set_str(bmp_item_meta(item), "outname", arg)
               : BMP_CONTINUE;
}

static void paths_output_named_during_the_run_is_never_an_input(void **state)
{
    fixture *f = *state;
    const char *in3 = json_string_value(json_array_get(f->names, 3));
    char *sym = tu_join(f->out, "sym"), *hard = tu_join(f->out, "hard");
    assert_int_equal(symlink(in3, sym), 0);
    assert_int_equal(link(in3, hard), 0);
    const char *targets[] = {in3, sym, hard};
    json_t *kw = json_pack("{s:s, s:b}", "outdir", f->out, "overwrite", 1);
    for (size_t t = 0; t < 3; t++) {
        for (size_t e = 0; e < 2; e++) {
            json_object_set_new(kw, "executor",
                                json_string(e ? "process" : "serial"));
            const bmp_step post[] = {{outname_from_arg, (void *)targets[t],
                                      "name"},
                                     {NULL, NULL, NULL}};
            bmp_pout *pout = NULL;
            bmp_error err = {0};
            assert_int_equal(bmp_pipeline(f->pipe, f->names, kw, NULL, post,
                                          &pout, &err),
                             0);
            assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
            assert_non_null(strstr(bmp_pout_error(pout, 0), "item 3's input"));
            for (size_t i = 1; i < N_ITEMS; i++)
                assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
            bmp_pout_free(pout);
            assert_inputs_intact(f);
        }
    }
    json_decref(kw);
    free(sym);
    free(hard);
}

int main(void)
{
    /* The killed callers' workers become this process's children, so
     * that the tests can wait for them to be gone. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(paths_output_is_another_items_input_by_name),
        T(paths_output_is_an_input_through_a_symlinked_folder),
        T(paths_output_is_an_input_through_links),
        T(paths_two_items_one_output),
        T(paths_own_files_are_never_inputs_or_outputs),
        T(paths_public_check),
        T(paths_journal_of_another_run_is_refused),
        T(paths_journal_without_record),
        T(paths_journal_never_truncates_other_files),
        T(paths_journal_compares_settings_as_they_act),
        T(paths_journal_on_dev_full),
        T(paths_journal_on_a_full_disk),
        T(paths_dead_temporaries_removed),
        T(paths_writers_lock_their_temporaries),
        T(paths_temporaries_after_sigkill),
        T(paths_no_outfile_items_do_not_collide),
        T(paths_names_set_by_steps_are_not_refused),
        T(paths_shared_default_name_fails_the_item_that_keeps_it),
        T(paths_output_named_during_the_run_is_never_an_input),
        T(paths_shared_default_name_fails_even_if_the_other_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
