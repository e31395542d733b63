/*
 * test_result_ring.c -- results through the ring a worker shares with
 * its caller (result_ring.h, channel.h): frames larger than the ring
 * arrive whole and in order, and a worker that dies at any point of
 * publishing a result costs no item and runs none twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "bigmultipipe.h"
#include "channel.h"
#include "result_ring.h"
#include "testutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the ring on its own ----------------------------------------------- */

#define FRAMES 400
#define BIG_META (600 * 1024) /* over twice the ring */

/* The meta of frame i: large for every 50th, so that it goes in pieces
 * while the reader is slow. */
static char *meta_of(int i)
{
    size_t n = i % 50 == 7 ? BIG_META : (size_t)(i % 13) * 40;
    char *m = malloc(n + 32);
    assert_non_null(m);
    int k = sprintf(m, "{\"i\":%d,\"p\":\"", i);
    memset(m + k, 'a' + i % 26, n);
    strcpy(m + k + n, "\"}");
    return m;
}

/* A worker child sends FRAMES results through the ring while the parent
 * reads them only when woken, sleeping now and then so that the ring
 * fills: every frame arrives, whole and in order, then the end. */
static void ring_frames_arrive_whole_and_in_order(void **state)
{
    (void)state;
    bmp__result_ring *ring = bmp__result_ring_new();
    assert_non_null(ring);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        bmp__channel_set_worker(sv[1], NULL, ring);
        for (int i = 0; i < FRAMES; i++) {
            bmp__result r = {0};
            char *meta = meta_of(i);
            r.meta = json_loads(meta, 0, NULL);
            free(meta);
            r.status = BMP_ITEM_OK;
            r.outname = strdup("out.dat");
            if (!r.meta || bmp__channel_send_result(sv[1], &r) != 0)
                _exit(1);
            bmp__result_clear(&r);
        }
        /* Nothing waits for tasks here, so nothing rings but a full ring;
         * the last results are read once the socket ends. */
        _exit(0);
    }
    close(sv[1]);
    bmp__reader rd = {0};
    int got = 0, ended = 0;
    while (!ended) {
        struct pollfd p = {.fd = sv[0], .events = POLLIN};
        assert_true(poll(&p, 1, 10000) == 1);
        if (got % 3 == 0)
            usleep(2000); /* a slow caller: the ring fills */
        int rc = bmp__reader_fill_ring(&rd, sv[0], ring);
        assert_true(rc == 1 || rc == 0 || rc == -EAGAIN);
        ended = rc == 0;
        bmp__result r = {0};
        char *temp = NULL;
        int k;
        while ((k = bmp__reader_next(&rd, &r, &temp)) == 1) {
            char *want = meta_of(got);
            assert_non_null(r.meta_text);
            assert_string_equal(r.meta_text, want);
            free(want);
            got++;
        }
        assert_int_equal(k, -EAGAIN);
        bmp__result_clear(&r);
    }
    assert_int_equal(got, FRAMES);
    assert_int_equal(rd.end - rd.start, 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    bmp__reader_free(&rd);
    close(sv[0]);
    bmp__result_ring_free(ring);
}

/* Counts in the shared page that no worker keeping the protocol could
 * publish: the reader refuses them as a protocol error and copies
 * nothing (under AddressSanitizer a copy from beyond the ring would be
 * caught), whatever the shared copy of its read position says. */
static void impossible_counts_are_a_protocol_error(void **state)
{
    (void)state;
    bmp__result_ring *ring = bmp__result_ring_new();
    assert_non_null(ring);
    const int64_t skews[] = {(int64_t)4 << 20, (256 * 1024) + 1, -1,
                             INT64_MIN};
    for (size_t i = 0; i < sizeof skews / sizeof *skews; i++) {
        bmp__result_ring_reset(ring);
        bmp__reader rd = {0};
        bmp__result_ring_skew_written(ring, skews[i]);
        assert_int_equal(bmp__reader_ring_ready(&rd, ring), 1);
        assert_int_equal(bmp__reader_take_ring(&rd, ring), BMP_EPROTO);
        assert_int_equal(rd.end, 0);
        size_t n = 1;
        uint64_t taken = 0;
        char dst[16];
        assert_int_equal(bmp__result_ring_take(ring, &taken, dst, sizeof dst,
                                               &n),
                         -EPROTO);
        assert_int_equal(n, 0);
        assert_int_equal(taken, 0);
        bmp__reader_free(&rd);
    }
    /* The whole ring at once is possible (a worker that filled it). */
    bmp__result_ring_reset(ring);
    bmp__reader rd = {0};
    bmp__result_ring_skew_written(ring, 256 * 1024);
    assert_int_equal(bmp__reader_take_ring(&rd, ring), 1);
    assert_int_equal(rd.end, 256 * 1024);
    assert_int_equal(rd.ring_taken, 256 * 1024);
    /* Behind what this reader took, though the shared copy agrees. */
    bmp__result_ring_skew_written(ring, -1);
    assert_int_equal(bmp__reader_take_ring(&rd, ring), BMP_EPROTO);
    assert_int_equal(rd.end, 256 * 1024);
    bmp__reader_free(&rd);
    bmp__result_ring_free(ring);
}

/* ---- a worker killed at every point of publishing ---------------------- */

#define N_ITEMS 40

typedef struct fixture {
    char *dir;  /* inputs */
    char *runs; /* one line per item begun: its index */
    json_t *names;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->names = tu_numbered_files(f->dir, "in_%d.dat", N_ITEMS);
    f->runs = tu_join(f->dir, "runs.txt");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->runs);
    json_decref(f->names);
    free(f);
    return 0;
}

/* A meta larger than the ring: its frame goes in pieces. */
#define FILLING_META (300 * 1024)

/* Appends the item's number to the runs file: how often each item was
 * begun, whatever became of its worker.  Every fourth item, and the
 * last, gets a meta larger than the ring, so that the ring fills and
 * the victims' frames (items 0, N_ITEMS / 2, N_ITEMS - 1) go in
 * pieces. */
static int note_run(bmp_item *item, void **data, void *arg)
{
    const bmp_buffer *b = *data;
    char line[32];
    int n = snprintf(line, sizeof line, "%.*s\n",
                     (int)(b->size < 16 ? b->size : 16), (char *)b->bytes);
    int i = atoi(line);
    if (i % 4 == 0 || i == N_ITEMS - 1) {
        char *pad = malloc(FILLING_META + 1);
        if (!pad)
            return -ENOMEM;
        memset(pad, 'a' + i % 26, FILLING_META);
        pad[FILLING_META] = '\0';
        int rc = json_object_set_new(bmp_item_meta(item), "pad",
                                     json_string(pad));
        free(pad);
        if (rc != 0)
            return -ENOMEM;
    }
    int fd = open(arg, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        return -EIO;
    close(fd);
    return BMP_CONTINUE;
}

/* Files in dir whose name is not a final output, an input or the runs
 * file: temporaries left behind. */
static int stray_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
            strcmp(s, "runs.txt") == 0 || strncmp(s, "in_", 3) == 0 ||
            strncmp(s, "out_", 4) == 0)
            continue;
        n++;
    }
    closedir(d);
    return n;
}

static void kill_at_every_step(fixture *f, size_t victim)
{
    char *out = tu_join(f->dir, "out");
    for (int step = 0; step < BMP__DIE_STEPS; step++) {
        tu_rmtree(out);
        assert_int_equal(mkdir(out, 0777), 0);
        unlink(f->runs);
        bmp_pipe *pipe = tu_times_ten_pipe();
        bmp_pipe_add_pre(pipe, note_run, f->runs, "note_run");
        json_t *kw = json_pack("{s:s, s:i, s:s}", "outdir", out,
                               "num_processes", 2, "outname_append", "");
        assert_non_null(kw);
        bmp__channel_die_at(victim, step);
        bmp_pout *pout = NULL;
        bmp_error err = {0};
        int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err);
        bmp__channel_die_at(UINT64_MAX, -1);
        assert_int_equal(rc, 0);
        /* How often each item was begun. */
        int runs[N_ITEMS] = {0};
        size_t size;
        char *text = tu_read_file(f->runs, &size);
        assert_non_null(text);
        for (char *line = strtok(text, "\n"); line;
             line = strtok(NULL, "\n")) {
            int i = atoi(line);
            assert_true(i >= 0 && i < N_ITEMS);
            runs[i]++;
        }
        free(text);
        assert_int_equal(bmp_pout_count(pout), N_ITEMS);
        int crashed = 0;
        for (size_t i = 0; i < N_ITEMS; i++) {
            bmp_status s = bmp_pout_status(pout, i);
            /* Never twice. */
            assert_true(runs[i] <= 1);
            if (i == victim) {
                /* Published before its death: done; else its death. */
                if (step >= BMP__DIE_PUBLISHED) {
                    assert_int_equal(s, BMP_ITEM_OK);
                } else {
                    assert_int_equal(s, BMP_ITEM_CRASHED);
                    assert_non_null(
                        strstr(bmp_pout_error(pout, i), "exited with code"));
                }
            }
            if (s == BMP_ITEM_OK) {
                assert_int_equal(runs[i], 1);
                char *o = tu_read_file(bmp_pout_outname(pout, i), NULL);
                assert_non_null(o);
                assert_int_equal(atoi(o), 10 * (int)i);
                free(o);
                if (i % 4 == 0 || i == N_ITEMS - 1) {
                    /* Its frame, in pieces, arrived whole. */
                    json_t *pad = json_object_get(bmp_pout_meta(pout, i),
                                                  "pad");
                    assert_int_equal(json_string_length(pad), FILLING_META);
                    assert_int_equal(json_string_value(pad)[FILLING_META - 1],
                                     'a' + (int)i % 26);
                }
            } else {
                /* Only the death's item: one its worker began. */
                assert_int_equal(s, BMP_ITEM_CRASHED);
                assert_int_equal(runs[i], 1);
                crashed++;
            }
        }
        /* A death after the victim's result is published comes between
         * items: the item queued behind it was never begun and runs on
         * another worker, so every item ends well, once. */
        if (step >= BMP__DIE_PUBLISHED) {
            assert_int_equal(crashed, 0);
            for (size_t i = 0; i < N_ITEMS; i++)
                assert_int_equal(runs[i], 1);
        } else {
            assert_int_equal(crashed, 1);
        }
        assert_int_equal(stray_files(out), 0);
        bmp_pout_free(pout);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    tu_rmtree(out);
    free(out);
}

/* The first item to run in any worker publishes an impossible count
 * (arg: the skew), once in the whole run. */
typedef struct skew {
    const char *flag; /* made by the one that skews */
    int64_t delta;
} skew;

static int skew_once(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)data;
    const skew *k = arg;
    int fd = open(k->flag, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd >= 0) {
        close(fd);
        bmp__channel_skew_ring(k->delta);
    }
    return BMP_CONTINUE;
}

/* A worker that publishes an impossible count (ahead of the caller by
 * more than the ring holds, or behind it) ends as a protocol error: one
 * item fails with it, the worker is replaced and the run's other items
 * finish. */
static void skewed_count_ends_the_worker(fixture *f, int64_t delta)
{
    char *out = tu_join(f->dir, "out");
    char *flag = tu_join(f->dir, "skewed");
    tu_rmtree(out);
    unlink(flag);
    assert_int_equal(mkdir(out, 0777), 0);
    bmp_pipe *pipe = tu_times_ten_pipe();
    skew k = {flag, delta};
    bmp_pipe_add_pre(pipe, skew_once, &k, "skew_once");
    json_t *kw = json_pack("{s:s, s:i, s:s}", "outdir", out, "num_processes",
                           2, "outname_append", "");
    assert_non_null(kw);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(access(flag, F_OK), 0);
    assert_int_equal(bmp_pout_count(pout), N_ITEMS);
    int crashed = 0;
    for (size_t i = 0; i < N_ITEMS; i++) {
        bmp_status s = bmp_pout_status(pout, i);
        if (s == BMP_ITEM_OK) {
            char *o = tu_read_file(bmp_pout_outname(pout, i), NULL);
            assert_non_null(o);
            assert_int_equal(atoi(o), 10 * (int)i);
            free(o);
            continue;
        }
        assert_int_equal(s, BMP_ITEM_CRASHED);
        assert_non_null(strstr(bmp_pout_error(pout, i), "bad message"));
        crashed++;
    }
    assert_int_equal(crashed, 1);
    assert_int_equal(stray_files(out), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    tu_rmtree(out);
    unlink(flag);
    free(flag);
    free(out);
}

static void count_ahead_of_the_ring_ends_the_worker(void **state)
{
    skewed_count_ends_the_worker(*state, (int64_t)4 << 20);
}

static void count_behind_the_caller_ends_the_worker(void **state)
{
    skewed_count_ends_the_worker(*state, -1);
}

/* The first item to run fills its worker's temporary-file log with
 * names of files that do not exist, so that the notice of the file it
 * then creates goes into the ring, and waits for its time-out (arg: the
 * output directory).  Once in the whole run. */
static int fill_log_and_hang(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)data;
    const char *out = arg;
    char flag[4096];
    snprintf(flag, sizeof flag, "%s/../hung", out);
    int fd = open(flag, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0)
        return BMP_CONTINUE;
    close(fd);
    char name[4096];
    /* Names of one length, and the real one longer: when no more of
     * them fit in the log, neither does it. */
    for (int i = 0; i < 400; i++) {
        snprintf(name, sizeof name, "%s/never_%03d_%0200d", out, i, 0);
        bmp__channel_notify_temp(name);
    }
    snprintf(name, sizeof name, "%s/partial_%0200d.tmp", out, 0);
    bmp__channel_notify_temp(name);
    fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0)
        return -errno;
    close(fd);
    for (;;)
        pause();
}

/* A worker killed at its time-out with a temporary-file notice still
 * unread in its ring: the file is removed all the same. */
static void notice_in_ring_of_timed_out_worker_is_acted_on(void **state)
{
    fixture *f = *state;
    char *out = tu_join(f->dir, "out");
    char *flag = tu_join(f->dir, "hung");
    tu_rmtree(out);
    unlink(flag);
    assert_int_equal(mkdir(out, 0777), 0);
    bmp_pipe *pipe = tu_times_ten_pipe();
    bmp_pipe_add_pre(pipe, fill_log_and_hang, out, "fill_log_and_hang");
    /* The caller reads a ring only when woken: the notices, which wake
     * nobody, are still there when the time-out ends the worker. */
    json_t *kw = json_pack("{s:s, s:i, s:s, s:f}", "outdir", out,
                           "num_processes", 2, "outname_append", "", "timeout",
                           2.0);
    assert_non_null(kw);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    bmp__channel_lazy_rings(1);
    int rc = bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err);
    bmp__channel_lazy_rings(0);
    assert_int_equal(rc, 0);
    assert_int_equal(access(flag, F_OK), 0);
    int timed_out = 0;
    for (size_t i = 0; i < N_ITEMS; i++) {
        bmp_status s = bmp_pout_status(pout, i);
        if (s == BMP_ITEM_TIMED_OUT)
            timed_out++;
        else
            assert_int_equal(s, BMP_ITEM_OK);
    }
    assert_int_equal(timed_out, 1);
    assert_int_equal(stray_files(out), 0);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    tu_rmtree(out);
    unlink(flag);
    free(flag);
    free(out);
}

/* Records in the item's meta how many shared anonymous mappings its
 * worker holds. */
static int count_shared_maps(bmp_item *item, void **data, void *arg)
{
    (void)data;
    (void)arg;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return -errno;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, maps)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's' &&
            strstr(line, "/dev/zero"))
            n++;
    }
    fclose(maps);
    json_object_set_new(bmp_item_meta(item), "shared_maps", json_integer(n));
    return BMP_CONTINUE;
}

/* The shared mappings of a worker, with `workers` slots. */
static int worker_shared_maps(fixture *f, int workers)
{
    bmp_pipe *pipe = tu_times_ten_pipe();
    bmp_pipe_add_pre(pipe, count_shared_maps, NULL, "count_shared_maps");
    char *out = tu_join(f->dir, "out");
    tu_rmtree(out);
    assert_int_equal(mkdir(out, 0777), 0);
    json_t *kw = json_pack("{s:s, s:i, s:s}", "outdir", out, "num_processes",
                           workers, "outname_append", "");
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &pout, &err),
                     0);
    int n = -1;
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(bmp_pout_status(pout, i), BMP_ITEM_OK);
        int k = (int)json_integer_value(
            json_object_get(bmp_pout_meta(pout, i), "shared_maps"));
        if (n < 0)
            n = k;
        assert_int_equal(k, n);
    }
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    tu_rmtree(out);
    free(out);
    return n;
}

/* A worker holds its own slot's ring and log, not the other slots': a
 * wild write in it cannot reach their results. */
static void worker_maps_only_its_own_slot(void **state)
{
    int alone = worker_shared_maps(*state, 1);
    assert_true(alone >= 2); /* its ring and its log at least */
    assert_int_equal(worker_shared_maps(*state, 4), alone);
}

static void first_item_killed_while_publishing(void **state)
{
    kill_at_every_step(*state, 0);
}

static void middle_item_killed_while_publishing(void **state)
{
    kill_at_every_step(*state, N_ITEMS / 2);
}

static void last_item_killed_while_publishing(void **state)
{
    kill_at_every_step(*state, N_ITEMS - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_frames_arrive_whole_and_in_order),
        cmocka_unit_test(impossible_counts_are_a_protocol_error),
        cmocka_unit_test_setup_teardown(
            count_ahead_of_the_ring_ends_the_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(
            count_behind_the_caller_ends_the_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(
            notice_in_ring_of_timed_out_worker_is_acted_on, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_maps_only_its_own_slot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(first_item_killed_while_publishing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(middle_item_killed_while_publishing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(last_item_killed_while_publishing,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
