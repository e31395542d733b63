/*
 * test_channel.c -- the bytes between the caller and a worker: tasks sent
 * several at once and read ahead, result frames parsed from whatever
 * pieces the stream delivers them in, refusal of malformed frames, the
 * end of a worker seen as end of file or reset, and the shared log of
 * temporary outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "channel.h"
#include "temp_log.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
}

/* ---- tasks ------------------------------------------------------------- */

static void channel_tasks_in_batches_and_pieces(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    bmp__channel_set_worker(sv[1], NULL,
                            NULL); /* also empties the read-ahead */
    bmp__task batch[3] = {{7, -1}, {8, 1 << 20}, {9, 0}};
    assert_int_equal(bmp__channel_send_tasks(sv[0], batch, 3), 0);
    /* A fourth task split by the stream between two writes. */
    bmp__task split = {10, 42};
    assert_int_equal(bmp__write_all(sv[0], &split, 5), 0);

    uint64_t index;
    int64_t estimate;
    assert_int_equal(bmp__channel_recv_task(sv[1], &index, &estimate), 1);
    assert_int_equal(index, 7);
    assert_int_equal(estimate, -1);
    /* One read took the whole batch: two wait behind the first. */
    assert_int_equal(bmp__channel_tasks_ahead(), 2);
    assert_int_equal(bmp__channel_recv_task(sv[1], &index, &estimate), 1);
    assert_int_equal(index, 8);
    assert_int_equal(estimate, 1 << 20);
    assert_int_equal(bmp__channel_recv_task(sv[1], &index, &estimate), 1);
    assert_int_equal(index, 9);
    assert_int_equal(bmp__write_all(sv[0], (char *)&split + 5,
                                    sizeof split - 5),
                     0);
    assert_int_equal(bmp__channel_recv_task(sv[1], &index, &estimate), 1);
    assert_int_equal(index, 10);
    assert_int_equal(estimate, 42);
    assert_int_equal(bmp__channel_tasks_ahead(), 0);

    /* End of file between tasks is the normal end; inside one, an error. */
    assert_int_equal(bmp__write_all(sv[0], &split, 3), 0);
    close(sv[0]);
    assert_int_equal(bmp__channel_recv_task(sv[1], &index, &estimate), -EPIPE);
    bmp__channel_set_worker(-1, NULL, NULL);
    close(sv[1]);

    pair(sv);
    bmp__channel_set_worker(sv[1], NULL, NULL);
    close(sv[0]);
    assert_int_equal(bmp__channel_recv_task(sv[1], &index, &estimate), 0);
    bmp__channel_set_worker(-1, NULL, NULL);
    close(sv[1]);
}

/* ---- result frames ----------------------------------------------------- */

/* The bytes of one result frame (and a temporary-file notice before it),
 * as a worker sends them. */
static char *frame_bytes(const bmp__result *r, const char *temp, size_t *size)
{
    int sv[2];
    pair(sv);
    /* A child sends, as a worker would: a large frame does not fit in the
     * socket's buffer, so someone must read while it is written. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        if (temp) {
            bmp__channel_set_worker(sv[1], NULL,
                                    NULL); /* no log: the socket */
            bmp__channel_notify_temp(temp);
        }
        _exit(bmp__channel_send_result(sv[1], r) == 0 ? 0 : 1);
    }
    close(sv[1]);
    char *bytes = NULL;
    size_t n = 0;
    for (;;) {
        bytes = realloc(bytes, n + 65536);
        ssize_t k = read(sv[0], bytes + n, 65536);
        assert_true(k >= 0);
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(sv[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    *size = n;
    return bytes;
}

/* The bytes of one frame through a socket into a reader: what
 * bmp__reader_next() makes of them, with the result in *got (cleared by
 * the caller). */
static int read_one(const char *bytes, size_t size, bmp__result *got)
{
    int sv[2];
    pair(sv);
    assert_int_equal(bmp__write_all(sv[1], bytes, size), 0);
    bmp__reader rd = {0};
    char *temp = NULL;
    assert_int_equal(bmp__reader_fill(&rd, sv[0]), 1);
    int k = bmp__reader_next(&rd, got, &temp);
    free(temp);
    close(sv[0]);
    close(sv[1]);
    bmp__reader_free(&rd);
    return k;
}

static bmp__result sample_result(void)
{
    bmp__result r = {0};
    bmp__stats_init(&r.stats);
    r.status = BMP_ITEM_OK;
    r.outname = strdup("out/\xff\xfe not utf-8.npy");
    r.meta = json_pack("{s:i, s:s}", "median", 30, "note", "ok");
    r.stats.wall_s = 0.25;
    r.stats.start = 1764878101.5;
    r.stats.peak_rss = 1 << 24;
    return r;
}

/* Every split of the stream gives the same frames: fed one byte at a
 * time, the reader answers -EAGAIN until a frame is whole. */
static void channel_frames_parsed_from_any_pieces(void **state)
{
    (void)state;
    bmp__result sent = sample_result();
    size_t size;
    char *bytes = frame_bytes(&sent, "out/.tmp-1", &size);

    int sv[2];
    pair(sv);
    bmp__reader rd = {0};
    bmp__result got = {0};
    bmp__stats_init(&got.stats);
    int temps = 0, results = 0;
    for (size_t i = 0; i < size; i++) {
        assert_int_equal(bmp__write_all(sv[1], bytes + i, 1), 0);
        assert_int_equal(bmp__reader_fill(&rd, sv[0]), 1);
        char *temp = NULL;
        int k;
        while ((k = bmp__reader_next(&rd, &got, &temp)) != -EAGAIN) {
            if (k == 0) {
                assert_string_equal(temp, "out/.tmp-1");
                free(temp);
                temps++;
            } else {
                assert_int_equal(k, 1);
                assert_int_equal(i, size - 1); /* only once whole */
                results++;
            }
        }
    }
    assert_int_equal(temps, 1);
    assert_int_equal(results, 1);
    assert_int_equal(got.status, BMP_ITEM_OK);
    assert_string_equal(got.outname, sent.outname);
    assert_true(json_equal(bmp__result_meta(&got), sent.meta));
    assert_null(got.error);
    assert_true(got.stats.wall_s == 0.25);
    assert_true(got.stats.start == 1764878101.5);
    assert_int_equal(got.stats.peak_rss, 1 << 24);

    /* Nothing more buffered; the closed socket reads as the end. */
    assert_int_equal(bmp__reader_fill(&rd, sv[0]), -EAGAIN);
    close(sv[1]);
    assert_int_equal(bmp__reader_fill(&rd, sv[0]), 0);
    close(sv[0]);
    bmp__reader_free(&rd);
    bmp__result_clear(&got);
    bmp__result_clear(&sent);
    free(bytes);
}

/* Many frames in one read are all handed out. */
static void channel_many_frames_one_read(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    for (int i = 0; i < 100; i++) {
        bmp__result r = sample_result();
        json_object_set_new(r.meta, "i", json_integer(i));
        assert_int_equal(bmp__channel_send_result(sv[1], &r), 0);
        bmp__result_clear(&r);
    }
    bmp__reader rd = {0};
    bmp__result got = {0};
    int seen = 0;
    while (seen < 100) {
        int f = bmp__reader_fill(&rd, sv[0]);
        assert_true(f == 1 || f == -EAGAIN);
        char *temp;
        while (bmp__reader_next(&rd, &got, &temp) == 1) {
            assert_int_equal(bmp_kw_int(bmp__result_meta(&got), "i", -1),
                             seen);
            seen++;
        }
    }
    close(sv[1]);
    assert_int_equal(bmp__reader_fill(&rd, sv[0]), 0);
    close(sv[0]);
    bmp__reader_free(&rd);
    bmp__result_clear(&got);
}

/* A frame larger than one read's room still arrives whole. */
static void channel_large_meta(void **state)
{
    (void)state;
    bmp__result r = sample_result();
    size_t big = 300 * 1024;
    char *text = malloc(big + 1);
    memset(text, 'x', big);
    text[big] = '\0';
    json_object_set_new(r.meta, "big", json_string(text));
    size_t size;
    char *bytes = frame_bytes(&r, NULL, &size);
    int sv[2];
    pair(sv);
    bmp__reader rd = {0};
    bmp__result got = {0};
    size_t at = 0;
    int k = -EAGAIN;
    while (k == -EAGAIN) {
        size_t chunk = size - at < 100000 ? size - at : 100000;
        if (chunk)
            assert_int_equal(bmp__write_all(sv[1], bytes + at, chunk), 0);
        at += chunk;
        while (bmp__reader_fill(&rd, sv[0]) == 1)
            ;
        char *temp;
        k = bmp__reader_next(&rd, &got, &temp);
    }
    assert_int_equal(k, 1);
    assert_string_equal(json_string_value(
                            json_object_get(bmp__result_meta(&got), "big")),
                        text);
    close(sv[0]);
    close(sv[1]);
    bmp__reader_free(&rd);
    bmp__result_clear(&got);
    bmp__result_clear(&r);
    free(text);
    free(bytes);
}

/* Bad magic, an absurd length, a status out of range, meta that is not a
 * JSON object: refused, never a crash or a huge allocation. */
static void channel_malformed_frames_refused(void **state)
{
    (void)state;
    bmp__result r = sample_result();
    size_t size;
    char *good = frame_bytes(&r, NULL, &size);
    /* Header layout: magic u32, status u32, ..., then the three lengths
     * as the last 24 bytes of the 80-byte header. */
    const size_t header = 80, outname_len_at = header - 24;
    struct {
        size_t at;
        unsigned char byte;
    } cases[] = {
        {0, 'Z'},                   /* magic */
        {4, 200},                   /* status */
        {outname_len_at + 4, 0x7f}, /* outname length ~ 2^39 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char *bad = malloc(size);
        memcpy(bad, good, size);
        bad[cases[c].at] = (char)cases[c].byte;
        bmp__result got = {0};
        assert_int_equal(read_one(bad, size, &got), BMP_EPROTO);
        bmp__result_clear(&got);
        free(bad);
    }
    /* Meta that is JSON but not an object. */
    json_decref(r.meta);
    r.meta = json_array();
    free(good);
    good = frame_bytes(&r, NULL, &size);
    bmp__result got = {0};
    assert_int_equal(read_one(good, size, &got), BMP_EPROTO);
    bmp__result_clear(&got);
    bmp__result_clear(&r);
    free(good);
}

/* A worker that dies with tasks unread resets the connection: the
 * results it sent are read first, then the end. */
static void channel_reset_reads_as_end(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    bmp__task t = {1, -1};
    assert_int_equal(bmp__channel_send_tasks(sv[0], &t, 1), 0); /* unread */
    bmp__result r = sample_result();
    assert_int_equal(bmp__channel_send_result(sv[1], &r), 0);
    close(sv[1]);
    bmp__reader rd = {0};
    bmp__result got = {0};
    char *temp;
    assert_int_equal(bmp__reader_fill(&rd, sv[0]), 1);
    assert_int_equal(bmp__reader_next(&rd, &got, &temp), 1);
    assert_int_equal(bmp__reader_fill(&rd, sv[0]), 0);
    close(sv[0]);
    bmp__reader_free(&rd);
    bmp__result_clear(&got);
    bmp__result_clear(&r);
}

/* ---- the temporary-file log -------------------------------------------- */

static void channel_temp_log(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    bmp__temp_log *log = bmp__temp_log_new();
    assert_non_null(log);
    char *a = tu_join(dir, "a.tmp"), *b = tu_join(dir, "b.tmp");
    tu_write_file(a, "1", 1);
    tu_write_file(b, "2", 1);

    /* A worker (a child process) logs them; the caller removes them. */
    pid_t pid = fork();
    if (pid == 0) {
        int ok = bmp__temp_log_add(log, a) == 0 &&
                 bmp__temp_log_add(log, b) == 0 &&
                 bmp__temp_log_add(log, "/nonexistent/already-renamed") == 0;
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(bmp__temp_log_remove_all(log), 2);
    assert_false(tu_exists(a));
    assert_false(tu_exists(b));
    assert_int_equal(bmp__temp_log_remove_all(log), 0); /* emptied */

    /* Full: the worker is told, and sends the name on its socket. */
    char name[4000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    int added = 0;
    while (bmp__temp_log_add(log, name) == 0)
        added++;
    assert_true(added >= 16);
    assert_int_equal(bmp__temp_log_add(log, name), -ENOSPC);
    bmp__temp_log_clear(log);
    assert_int_equal(bmp__temp_log_add(log, "x"), 0);
    bmp__temp_log_clear(log);

    bmp__temp_log_free(log);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}

/* An output name goes with status ok, and only with it: a frame that
 * says otherwise is refused, as bmp_run_set_result() refuses it. */
static void channel_outname_goes_with_status(void **state)
{
    (void)state;
    const struct {
        bmp_status status;
        const char *outname;
        int want;
    } cases[] = {
        {BMP_ITEM_OK, "out.dat", 1},
        {BMP_ITEM_OK, NULL, BMP_EPROTO},
        {BMP_ITEM_NO_OUTPUT, NULL, 1},
        {BMP_ITEM_NO_OUTPUT, "out.dat", BMP_EPROTO},
        {BMP_ITEM_FAILED, "out.dat", BMP_EPROTO},
        {BMP_ITEM_NOT_RUN, NULL, BMP_EPROTO},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        bmp__result r = {0};
        bmp__stats_init(&r.stats);
        r.status = cases[c].status;
        r.outname = cases[c].outname ? strdup(cases[c].outname) : NULL;
        r.meta = json_object();
        size_t size;
        char *bytes = frame_bytes(&r, NULL, &size);
        bmp__result got = {0};
        assert_int_equal(read_one(bytes, size, &got), cases[c].want);
        bmp__result_clear(&got);
        bmp__result_clear(&r);
        free(bytes);
    }
}

/* The caller keeps the meta as the worker's text until it is asked for:
 * then parsed once, the same object every time.  A text that is not one
 * JSON object, in a frame that is otherwise whole, is refused on
 * arrival: it would go into the pout file as it is. */
static void channel_meta_kept_as_text(void **state)
{
    (void)state;
    bmp__result r = {0};
    bmp__stats_init(&r.stats);
    r.status = BMP_ITEM_NO_OUTPUT; /* meta only: no output name */
    r.meta = json_pack("{s:i}", "a", 1);
    size_t size;
    char *bytes = frame_bytes(&r, NULL, &size);
    for (int broken = 0; broken <= 1; broken++) {
        if (broken) {
            char *at = memmem(bytes, size, "{\"a\":1}", 7);
            assert_non_null(at);
            memcpy(at, "{xxxxx}", 7);
        }
        bmp__result got = {0};
        if (broken) {
            assert_int_equal(read_one(bytes, size, &got), BMP_EPROTO);
        } else {
            assert_int_equal(read_one(bytes, size, &got), 1);
            assert_null(bmp__result_meta_made(&got));
            assert_string_equal(got.meta_text, "{\"a\":1}");
            json_t *meta = bmp__result_meta(&got);
            assert_true(json_equal(meta, r.meta));
            assert_ptr_equal(bmp__result_meta(&got), meta);
        }
        bmp__result_clear(&got);
    }
    free(bytes);
    bmp__result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(channel_tasks_in_batches_and_pieces),
        cmocka_unit_test(channel_frames_parsed_from_any_pieces),
        cmocka_unit_test(channel_many_frames_one_read),
        cmocka_unit_test(channel_large_meta),
        cmocka_unit_test(channel_meta_kept_as_text),
        cmocka_unit_test(channel_outname_goes_with_status),
        cmocka_unit_test(channel_malformed_frames_refused),
        cmocka_unit_test(channel_reset_reads_as_end),
        cmocka_unit_test(channel_temp_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
