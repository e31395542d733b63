/*
 * test_mpi_fault.c -- a rank lost in the middle of an MPI run, through
 * the library; driven by fault.sh (CTest mpi_fault_kill, mpi_fault_hang).
 *
 *   test_mpi_fault kill|hang|refuse|resume SCRATCH_DIR
 *
 * 13 items; the one named bad.dat, run by a helper rank's worker while
 * SCRATCH_DIR/hit does not exist, creates it and then
 *   kill   SIGKILLs its rank: MPI ends the job (fault.sh checks that
 *          mpirun fails and that rank 0's journal kept its lines);
 *   hang   SIGSTOPs its rank: rank 0, with a heartbeat of 2 s set by
 *          bmp_mpi_executor_set_heartbeat(), must return
 *          BMP_EINTERRUPTED with a pout of every item, bad.dat failed
 *          with an error naming the rank and the heartbeat, every item
 *          ok or lost with that rank, and bmp_mpi_ranks_lost() 1; it
 *          writes "ok" or what failed to SCRATCH_DIR/verdict, then ends
 *          the job with MPI_Abort (fault.sh checks both).
 * Before either, rank 0 runs the items with the serial executor and
 * writes that pout to SCRATCH_DIR/serial.jsonl.
 *   refuse rank 2 is given a list of one input, so it cannot take the
 *          items rank 0 hands it (helper items sleep 0.2 s, so that rank
 *          1 cannot take them all first) and stops with BMP_EPROTO:
 *          rank 0 must return BMP_EINTERRUPTED with a pout of every
 *          item, those rank 2 held failed with an error naming rank 2
 *          and the code, the others equal to the serial run's, and the
 *          job ends normally; exit 0 when all holds.
 *   resume runs again with the journal and resume: rank 0's pout must
 *          equal the serial one (order, status, meta, outputs byte for
 *          byte); exit 0 when it does.
 *   late   heartbeat 1 s, and rank 2 reaches bmp_pipeline() 3 s after
 *          the others (as when its path checks are slow): its heartbeat
 *          counts from its first message, so the run ends normally with
 *          the serial run's pout; exit 0 when it does.
 *   cached every rank calls bmp_pipeline_cached() with read_pout naming
 *          the serial run's pout: rank 0 returns it and its helpers are
 *          let go (return 0, every item not_run); then a run through
 *          bmp_pipeline() with the same executor gives the serial run's
 *          pout (the ranks still agree); exit 0 when all holds.
 *   hang0  heartbeat 2 s; the worker that runs bad.dat on a helper
 *          SIGSTOPs rank 0 (its pid in SCRATCH_DIR/rank0.pid): the
 *          helpers find rank 0 silent past the heartbeat and end the job
 *          with MPI_Abort (fault.sh checks a non-zero end and the
 *          message, and SIGKILLs the stopped rank 0).
 */
#define _GNU_SOURCE
#include <bigmultipipe.h>
#include <bigmultipipe/mpi.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NITEMS 13
#define BAD_AT 7

static int rank, size;
static char scratch[4096];
static int stop_signal = SIGKILL;
static int slow; /* refuse: helpers' items sleep */
static FILE *verdict;
static int failures;

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(verdict ? verdict : stderr, "%s:%d: %s: ", __FILE__, \
                    __LINE__, #cond);                                    \
            fprintf(verdict ? verdict : stderr, __VA_ARGS__);            \
            fputc('\n', verdict ? verdict : stderr);                     \
            failures++;                                                  \
        }                                                                \
    } while (0)

static void path_of(char *out, size_t size_, const char *name)
{
    snprintf(out, size_, "%s/%s", scratch, name);
}

/* Turns the bytes around and sums them into meta; bad.dat on a helper
 * rank, the first time, stops or kills that rank (its worker's
 * parent). */
static int hang0; /* bad.dat stops rank 0 */

static int process(bmp_item *item, void **data)
{
    const char *name = bmp_item_name(item);
    if (hang0 && rank > 0 && name && strstr(name, "bad.dat")) {
        char path[4200];
        path_of(path, sizeof path, "rank0.pid");
        FILE *f = fopen(path, "r");
        long pid = 0;
        if (f && fscanf(f, "%ld", &pid) == 1 && pid > 1)
            kill((pid_t)pid, SIGSTOP);
        if (f)
            fclose(f);
    }
    if (stop_signal && rank > 0 && name && strstr(name, "bad.dat")) {
        char hit[4200];
        path_of(hit, sizeof hit, "hit");
        int fd = open(hit, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            kill(getppid(), stop_signal);
            sleep(60); /* until the job ends */
        }
    }
    if (slow && rank > 0)
        usleep(200000);
    bmp_buffer *b = *data;
    long long sum = 0;
    for (size_t i = 0; i < b->size; i++) {
        sum += b->bytes[i];
        b->bytes[i] = (unsigned char)(b->bytes[i] ^ 0x5a);
    }
    json_object_set_new(bmp_item_meta(item), "sum", json_integer(sum));
    return BMP_CONTINUE;
}

static json_t *make_names(int create)
{
    json_t *a = json_array();
    char dir[4200];
    path_of(dir, sizeof dir, "in");
    if (create && bmp_mkdir_parents(dir) < 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    for (int i = 0; i < NITEMS; i++) {
        char name[4300];
        if (i == BAD_AT)
            snprintf(name, sizeof name, "%s/in/bad.dat", scratch);
        else
            snprintf(name, sizeof name, "%s/in/f%02d.dat", scratch, i);
        if (create) {
            FILE *f = fopen(name, "wb");
            if (!f) {
                fprintf(stderr, "cannot create %s\n", name);
                MPI_Abort(MPI_COMM_WORLD, 2);
            }
            for (int j = 0; j < 50 + 29 * i; j++)
                fputc((i * 13 + j * 5) & 0xff, f);
            fclose(f);
        }
        json_array_append_new(a, json_string(name));
    }
    return a;
}

static json_t *kw_for(const char *outdir, int resume)
{
    char dir[4200], journal[4200];
    path_of(dir, sizeof dir, outdir);
    path_of(journal, sizeof journal, "journal.jsonl");
    return json_pack("{s:s, s:b, s:i, s:s, s:b}", "outdir", dir,
                     "create_outdir", 1, "num_processes", 2, "journal",
                     journal, "resume", resume);
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Entry i of the MPI run against the serial run's. */
static void check_entry(const bmp_pout *serial, const bmp_pout *mpi, size_t i)
{
    CHECK(json_equal(bmp_pout_in_name(serial, i), bmp_pout_in_name(mpi, i)),
          "item %zu in another place", i);
    CHECK(bmp_pout_status(mpi, i) == bmp_pout_status(serial, i),
          "item %zu is %s, serially %s (%s)", i,
          bmp_status_name(bmp_pout_status(mpi, i)),
          bmp_status_name(bmp_pout_status(serial, i)),
          bmp_pout_error(mpi, i) ? bmp_pout_error(mpi, i) : "");
    CHECK(json_equal(bmp_pout_meta(serial, i), bmp_pout_meta(mpi, i)),
          "item %zu: meta differs", i);
    const char *a = bmp_pout_outname(serial, i), *b = bmp_pout_outname(mpi, i);
    const char *ba = a ? strrchr(a, '/') : NULL,
               *bb = b ? strrchr(b, '/') : NULL;
    CHECK(ba && bb && strcmp(ba, bb) == 0 && same_bytes(a, b),
          "item %zu: outputs %s and %s differ", i, a ? a : "none",
          b ? b : "none");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3 || size < 2) {
        fprintf(stderr, "usage: mpirun -n N>1 test_mpi_fault "
                        "kill|hang|refuse|resume SCRATCH_DIR\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *mode = argv[1];
    int resume = strcmp(mode, "resume") == 0;
    int hang = strcmp(mode, "hang") == 0;
    int refuse = strcmp(mode, "refuse") == 0;
    int late = strcmp(mode, "late") == 0;
    int cached = strcmp(mode, "cached") == 0;
    hang0 = strcmp(mode, "hang0") == 0;
    slow = refuse || hang0;
    if (refuse || resume || late || cached || hang0)
        stop_signal = 0; /* bad.dat is an item like the others */
    if (hang)
        stop_signal = SIGSTOP;
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    bmp_ops ops = {.version = BMP_OPS_VERSION, .data_process = process};
    bmp_error err = {0};
    char serial_path[4200];
    path_of(serial_path, sizeof serial_path, "serial.jsonl");

    json_t *names = NULL;
    if (rank == 0 && !resume) {
        names = make_names(1);
        bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
        json_t *kw = json_pack("{s:s, s:s, s:b}", "executor", "serial",
                               "outdir", "", "create_outdir", 1);
        char dir[4200];
        path_of(dir, sizeof dir, "out_serial");
        json_object_set_new(kw, "outdir", json_string(dir));
        bmp_pout *serial = NULL;
        if (bmp_pipeline(pipe, names, kw, NULL, NULL, &serial, &err) != 0 ||
            bmp_pout_write(serial, serial_path, &err) != 0) {
            fprintf(stderr, "serial run: %s\n", err.text);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        bmp_pout_free(serial);
        json_decref(kw);
        bmp_pipe_free(pipe);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (!names)
        names = make_names(0);
    /* Rank 2 is not given the same run: it can take item 0 only. */
    while (refuse && rank == 2 && json_array_size(names) > 1)
        json_array_remove(names, 1);

    bmp_executor ex;
    if (bmp_mpi_executor(MPI_COMM_WORLD, &ex, &err) != 0) {
        fprintf(stderr, "rank %d: %s\n", rank, err.text);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if ((late || hang0) && rank == 0)
        CHECK(bmp_mpi_executor_set_heartbeat(&ex, late ? 1.0 : 2.0) == 0,
              "heartbeat");
    if (hang0 && rank == 0) {
        char path[4200];
        path_of(path, sizeof path, "rank0.pid");
        FILE *f = fopen(path, "w");
        if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
            MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (late && rank == 2)
        sleep(3); /* three heartbeats: a slow start, not a lost rank */
    if (cached) {
        /* The stored pout answers on rank 0; the helpers must be let go
         * and take part in the next run. */
        bmp_pipe *cpipe = bmp_pipe_new(&ops, NULL);
        bmp_pipe_set_executor(cpipe, &ex);
        json_t *ckw = kw_for("out_cached", 0);
        json_object_del(ckw, "journal");
        json_object_set_new(ckw, "read_pout", json_string(serial_path));
        bmp_pout *stored = NULL;
        int crc = bmp_pipeline_cached(cpipe, names, ckw, NULL, NULL, &stored,
                                      &err);
        CHECK(crc == 0, "rank %d: cached run: %s (%s)", rank,
              bmp_strerror(crc), err.text);
        CHECK(stored && bmp_pout_count(stored) == NITEMS, "a pout of %zu",
              stored ? bmp_pout_count(stored) : 0);
        for (size_t i = 0; rank > 0 && stored && i < NITEMS; i++)
            CHECK(bmp_pout_status(stored, i) == BMP_ITEM_NOT_RUN,
                  "rank %d ran item %zu of a stored pout", rank, i);
        bmp_pout_free(stored);
        json_decref(ckw);
        bmp_pipe_free(cpipe);
    }
    if (hang && rank == 0) {
        CHECK(bmp_mpi_executor_set_heartbeat(&ex, -1) == BMP_EINVAL,
              "a negative heartbeat taken");
        CHECK(bmp_mpi_executor_set_heartbeat(&ex, 2.0) == 0, "heartbeat 2");
    }
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_set_executor(pipe, &ex);
    json_t *kw = kw_for("out_mpi", resume);
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err);
    if (refuse && rank == 2) {
        CHECK(rc == BMP_EPROTO, "rank 2's run: %s (%s)", bmp_strerror(rc),
              err.text);
        rc = 0;
    }
    if (hang && rank != 0 && rc == BMP_EINTERRUPTED) {
        /* Rank 0 lost a rank: it ends the job once it has checked its
         * pout; aborting here would cut it short. */
        if (!strstr(err.text, "lost a rank"))
            fprintf(stderr, "rank %d: %s\n", rank, err.text);
        for (;;)
            pause();
    }
    if (rank != 0 && rc != 0) {
        fprintf(stderr, "rank %d: %s\n", rank, err.text);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    if (rank == 0) {
        bmp_pout *serial = NULL;
        if (bmp_pout_read(serial_path, &serial, &err) != 0) {
            fprintf(stderr, "%s\n", err.text);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        if (hang) {
            char vpath[4200];
            path_of(vpath, sizeof vpath, "verdict");
            verdict = fopen(vpath, "w");
            CHECK(rc == BMP_EINTERRUPTED, "run: %s (%s)", bmp_strerror(rc),
                  err.text);
            CHECK(strstr(err.text, "heartbeat"), "error: %s", err.text);
            CHECK(bmp_mpi_ranks_lost(&ex) == 1, "%d ranks lost",
                  bmp_mpi_ranks_lost(&ex));
            CHECK(pout && bmp_pout_count(pout) == NITEMS, "a pout of %zu",
                  pout ? bmp_pout_count(pout) : 0);
            for (size_t i = 0; pout && i < bmp_pout_count(pout); i++) {
                const char *e = bmp_pout_error(pout, i);
                if (bmp_pout_status(pout, i) == BMP_ITEM_OK)
                    check_entry(serial, pout, i);
                else
                    CHECK(bmp_pout_status(pout, i) == BMP_ITEM_FAILED && e &&
                              strstr(e, "heartbeat time-out") &&
                              strstr(e, "rank "),
                          "item %zu is %s: %s", i,
                          bmp_status_name(bmp_pout_status(pout, i)),
                          e ? e : "");
            }
            CHECK(pout && bmp_pout_status(pout, BAD_AT) == BMP_ITEM_FAILED,
                  "the item that stopped its rank is not failed");
            fputs(failures ? "FAILED\n" : "ok\n", verdict);
            fclose(verdict);
            /* The lost rank cannot meet the others: end the job. */
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
        if (refuse) {
            CHECK(rc == BMP_EINTERRUPTED && strstr(err.text, "rank 2"),
                  "run: %s (%s)", bmp_strerror(rc), err.text);
            CHECK(bmp_mpi_ranks_lost(&ex) == 0, "a rank lost");
            CHECK(pout && bmp_pout_count(pout) == NITEMS, "a pout of %zu",
                  pout ? bmp_pout_count(pout) : 0);
            size_t held = 0;
            for (size_t i = 0; pout && i < bmp_pout_count(pout); i++) {
                const char *e = bmp_pout_error(pout, i);
                char code[64];
                snprintf(code, sizeof code, "(code %d)", BMP_EPROTO);
                if (bmp_pout_status(pout, i) == BMP_ITEM_OK) {
                    check_entry(serial, pout, i);
                    continue;
                }
                held++;
                CHECK(bmp_pout_status(pout, i) == BMP_ITEM_FAILED && e &&
                          strstr(e, "rank 2 (host ") && strstr(e, code),
                      "item %zu is %s: %s", i,
                      bmp_status_name(bmp_pout_status(pout, i)), e ? e : "");
            }
            CHECK(held >= 1, "no item failed with rank 2");
            printf("refuse: %zu item(s) failed with rank 2\n", held);
            rc = 0;
            bmp_pout_free(pout);
            pout = NULL;
        }
        CHECK(rc == 0, "run: %s (%s)", bmp_strerror(rc), err.text);
        CHECK(refuse || (pout && bmp_pout_count(pout) == NITEMS),
              "a pout of %zu", pout ? bmp_pout_count(pout) : 0);
        for (size_t i = 0; pout && i < bmp_pout_count(pout); i++)
            check_entry(serial, pout, i);
        bmp_pout_free(serial);
        printf("%s: %s\n", mode, failures ? "FAILED" : "as expected");
    }
    bmp_pout_free(pout);
    json_decref(kw);
    json_decref(names);
    bmp_pipe_free(pipe);
    bmp_mpi_executor_release(&ex);
    int any = 0;
    MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
