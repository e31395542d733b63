/*
 * test_mpi.c -- the MPI executor against the serial executor, run under
 * `mpirun -np N` (CTest: mpi_ranks_1 to mpi_ranks_4).
 *
 *   test_mpi SCRATCH_DIR
 *
 * Rank 0 makes 12 small inputs and one that crashes its worker in
 * SCRATCH_DIR, and runs the 12 under the serial executor alone.  Then
 * every rank runs all 13 with the MPI executor and a journal: rank 0's
 * pout must equal the serial one (order, status, output name, meta,
 * outputs byte for byte) and the crashing item alone is crashed; with
 * more than one rank, every item ran on exactly one helper.  A second
 * run with resume on every rank must give the same pout and run none of
 * the items that succeeded.  With 3 ranks or more, a third run of the 12
 * good items in which every item that reaches rank 2 crashes its worker
 * there (the others sleep 0.1 s on the other helpers, so that rank 2
 * gets work under dynamic pull, which pins no item to a rank): the
 * items rank 2 ran are crashed, naming rank 2, at least one, and every
 * other item is as in the serial run.  Exit 0 when all holds on every
 * rank.
 */
#define _GNU_SOURCE
#include <bigmultipipe.h>
#include <bigmultipipe/mpi.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NGOOD 12
#define CRASH_AT 5 /* position of the crashing item in the MPI runs */

static int failures;
static int rank;
static int crash_on_rank2; /* the third run: rank 2's items crash */

#define CHECK(cond, ...)                                                \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", rank, \
                    __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, __VA_ARGS__);                               \
            fputc('\n', stderr);                                        \
            failures++;                                                 \
        }                                                               \
    } while (0)

static char scratch[4096];

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", scratch, name);
}

/* Sums the bytes into meta, turns them around, and notes in ran.log that
 * the item ran (one O_APPEND write per item, from any process).  The
 * item named crash.dat kills its worker first. */
static int process(bmp_item *item, void **data)
{
    const char *name = bmp_item_name(item);
    if (crash_on_rank2 && rank == 2)
        raise(SIGSEGV);
    if (crash_on_rank2)
        usleep(100000);
    if (name && strstr(name, "crash.dat")) {
        raise(SIGSEGV);
        return BMP_STOP;
    }
    bmp_buffer *b = *data;
    long long sum = 0;
    for (size_t i = 0; i < b->size; i++) {
        sum += b->bytes[i];
        b->bytes[i] = (unsigned char)(b->bytes[i] ^ 0x5a);
    }
    json_t *meta = bmp_item_meta(item);
    json_object_set_new(meta, "sum", json_integer(sum));
    json_object_set_new(meta, "size", json_integer((json_int_t)b->size));
    char log[4200];
    path_of(log, sizeof log, "ran.log");
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return bmp_item_fail(item, -errno, "cannot open %s", log);
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", name ? name : "?");
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    return w == n ? BMP_CONTINUE : bmp_item_fail(item, -EIO, "short write");
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void make_inputs(void)
{
    nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    char dir[4200];
    path_of(dir, sizeof dir, "in");
    if (bmp_mkdir_parents(dir) < 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    for (int i = 0; i <= NGOOD; i++) {
        char name[4300];
        if (i == NGOOD)
            path_of(name, sizeof name, "in/crash.dat");
        else
            snprintf(name, sizeof name, "%s/in/f%02d.dat", scratch, i);
        FILE *f = fopen(name, "wb");
        if (!f) {
            fprintf(stderr, "cannot create %s\n", name);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        for (int j = 0; j < 100 + 37 * i; j++)
            fputc((i * 31 + j * 7) & 0xff, f);
        fclose(f);
    }
}

/* The inputs: the good ones in order, with crash.dat at CRASH_AT when
 * `with_crash`. */
static json_t *names(int with_crash)
{
    json_t *a = json_array();
    for (int i = 0; i < NGOOD; i++) {
        char name[4300];
        if (with_crash && i == CRASH_AT) {
            path_of(name, sizeof name, "in/crash.dat");
            json_array_append_new(a, json_string(name));
        }
        snprintf(name, sizeof name, "%s/in/f%02d.dat", scratch, i);
        json_array_append_new(a, json_string(name));
    }
    return a;
}

static json_t *run_kw(const char *outdir, int journal, int resume)
{
    char dir[4200], jpath[4200];
    path_of(dir, sizeof dir, outdir);
    path_of(jpath, sizeof jpath, "journal.jsonl");
    json_t *kw = json_pack("{s:s, s:b, s:i}", "outdir", dir, "create_outdir",
                           1, "num_processes", 2);
    if (journal)
        json_object_set_new(kw, "journal", json_string(jpath));
    if (resume)
        json_object_set_new(kw, "resume", json_true());
    return kw;
}

static int file_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            same = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static const char *base(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}

static size_t lines_of(const char *name)
{
    char path[4200];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* Rank 0's MPI pout against the serial one. */
static void compare(const bmp_pout *serial, const bmp_pout *mpi)
{
    CHECK(bmp_pout_count(serial) == NGOOD, "serial count %zu",
          bmp_pout_count(serial));
    CHECK(bmp_pout_count(mpi) == NGOOD + 1, "mpi count %zu",
          bmp_pout_count(mpi));
    if (bmp_pout_count(serial) != NGOOD || bmp_pout_count(mpi) != NGOOD + 1)
        return;
    for (size_t i = 0, s = 0; i < NGOOD + 1; i++) {
        if (i == CRASH_AT) {
            CHECK(bmp_pout_status(mpi, i) == BMP_ITEM_CRASHED,
                  "item %zu is %s, not crashed", i,
                  bmp_status_name(bmp_pout_status(mpi, i)));
            CHECK(bmp_pout_outname(mpi, i) == NULL, "crashed item output");
            continue;
        }
        CHECK(json_equal(bmp_pout_in_name(serial, s),
                         bmp_pout_in_name(mpi, i)),
              "item %zu in another order", i);
        CHECK(bmp_pout_status(mpi, i) == bmp_pout_status(serial, s) &&
                  bmp_pout_status(mpi, i) == BMP_ITEM_OK,
              "item %zu is %s, serially %s (%s)", i,
              bmp_status_name(bmp_pout_status(mpi, i)),
              bmp_status_name(bmp_pout_status(serial, s)),
              bmp_pout_error(mpi, i) ? bmp_pout_error(mpi, i) : "");
        const char *a = bmp_pout_outname(serial, s);
        const char *b = bmp_pout_outname(mpi, i);
        CHECK(a && b && strcmp(base(a), base(b)) == 0 && strstr(b, "out_mpi"),
              "item %zu written as %s, serially %s", i, b ? b : "none",
              a ? a : "none");
        CHECK(json_equal(bmp_pout_meta(serial, s), bmp_pout_meta(mpi, i)),
              "item %zu meta differs", i);
        CHECK(a && b && file_equal(a, b), "outputs %s and %s differ",
              a ? a : "none", b ? b : "none");
        s++;
    }
}

/* Two MPI pouts of the same run are the same (the first run and its
 * resumption). */
static void same_pout(const bmp_pout *x, const bmp_pout *y)
{
    CHECK(bmp_pout_count(x) == bmp_pout_count(y), "counts differ");
    for (size_t i = 0; i < bmp_pout_count(x) && i < bmp_pout_count(y); i++) {
        const char *a = bmp_pout_outname(x, i), *b = bmp_pout_outname(y, i);
        CHECK(bmp_pout_status(x, i) == bmp_pout_status(y, i),
              "item %zu: %s then %s", i,
              bmp_status_name(bmp_pout_status(x, i)),
              bmp_status_name(bmp_pout_status(y, i)));
        CHECK((!a && !b) || (a && b && strcmp(a, b) == 0),
              "item %zu: outname %s then %s", i, a ? a : "none",
              b ? b : "none");
        CHECK(json_equal(bmp_pout_meta(x, i), bmp_pout_meta(y, i)),
              "item %zu: meta differs", i);
        CHECK(json_equal(bmp_pout_in_name(x, i), bmp_pout_in_name(y, i)),
              "item %zu: in_name differs", i);
    }
}

/* Items this rank's pout has finished. */
static long ran_here(const bmp_pout *pout)
{
    long n = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++)
        n += bmp_pout_status(pout, i) != BMP_ITEM_NOT_RUN;
    return n;
}

/* Where each finished entry ran: with helpers, a helper rank (1 to
 * size - 1) and a host name in its stats; with one rank, neither. */
static void origins(const bmp_pout *pout, int size, const char *what)
{
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        if (bmp_pout_status(pout, i) == BMP_ITEM_NOT_RUN)
            continue;
        bmp_item_stats st = {.version = 2, .rank = -7, .host = "unset"};
        CHECK(bmp_pout_stats(pout, i, &st) == 0, "%s: stats of %zu", what, i);
        if (size > 1)
            CHECK(st.rank >= 1 && st.rank < size && st.host && st.host[0],
                  "%s: entry %zu ran on rank %d, host %s", what, i, st.rank,
                  st.host ? st.host : "(none)");
        else
            CHECK(st.rank == -1 && !st.host,
                  "%s: entry %zu of a one-rank run names rank %d", what, i,
                  st.rank);
    }
}

/* Whether the file `name` in the scratch directory holds `text`. */
static int file_has(const char *name, const char *text)
{
    char path[4200];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[65536];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static bmp_pout *run_mpi(bmp_pipe *pipe, json_t *in, json_t *kw)
{
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, in, kw, NULL, NULL, &pout, &err);
    if (rc != 0 || !pout) {
        /* The other ranks would wait for this one: end the job. */
        fprintf(stderr, "rank %d: bmp_pipeline: %s (%s)\n", rank,
                bmp_strerror(rc), err.text);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    return pout;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 2) {
        fprintf(stderr, "usage: test_mpi SCRATCH_DIR\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    snprintf(scratch, sizeof scratch, "%s", argv[1]);
    bmp_ops ops = {.version = BMP_OPS_VERSION, .data_process = process};

    bmp_pout *serial = NULL;
    if (rank == 0) {
        make_inputs();
        bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
        json_t *in = names(0), *kw = run_kw("out_serial", 0, 0);
        json_object_set_new(kw, "executor", json_string("serial"));
        bmp_error err = {0};
        int rc = bmp_pipeline(pipe, in, kw, NULL, NULL, &serial, &err);
        CHECK(rc == 0 && serial, "serial run: %s", err.text);
        json_decref(kw);
        json_decref(in);
        bmp_pipe_free(pipe);
        CHECK(lines_of("ran.log") == NGOOD, "serial ran %zu items",
              lines_of("ran.log"));
    }
    MPI_Barrier(MPI_COMM_WORLD);

    bmp_executor ex;
    bmp_error err = {0};
    int rc = bmp_mpi_executor(MPI_COMM_WORLD, &ex, &err);
    if (rc != 0) {
        fprintf(stderr, "rank %d: bmp_mpi_executor: %s\n", rank, err.text);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    CHECK(bmp_mpi_rank(&ex) == rank, "executor rank %d", bmp_mpi_rank(&ex));
    CHECK(ex.role == (rank == 0 ? BMP_EXECUTOR_OWNER : BMP_EXECUTOR_HELPER),
          "role %d", (int)ex.role);
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    CHECK(bmp_pipe_set_executor(pipe, &ex) == 0, "set executor");
    json_t *in = names(1);

    /* The whole run on every rank. */
    json_t *kw = run_kw("out_mpi", 1, 0);
    bmp_pout *first = run_mpi(pipe, in, kw);
    json_decref(kw);
    long mine = rank == 0 && size > 1 ? 0 : ran_here(first), all = 0;
    if (rank == 0 && size > 1)
        CHECK(ran_here(first) == NGOOD + 1, "rank 0 has %ld items",
              ran_here(first));
    /* Rank 0's account of the run: every item handed out and back; a
     * message for each result, and from each helper at least a request
     * and its done. */
    bmp_mpi_stats st = {.version = BMP_MPI_STATS_VERSION + 1};
    CHECK(bmp_mpi_owner_stats(&ex, &st) == BMP_EINVAL, "an unknown version");
    st.version = BMP_MPI_STATS_VERSION;
    CHECK(bmp_mpi_owner_stats(&ex, &st) == 0, "owner stats");
    if (rank == 0 && size > 1)
        CHECK(st.items_given == NGOOD + 1 && st.results == NGOOD + 1 &&
                  st.messages >= st.results + 2 * (size_t)(size - 1) &&
                  st.cpu_s >= 0 && st.wait_cpu_s >= 0 && st.wall_s > 0,
              "stats: %zu given, %zu back, %zu messages, %g s, %g cpu, "
              "%g waiting",
              st.items_given, st.results, st.messages, st.wall_s, st.cpu_s,
              st.wait_cpu_s);
    else
        CHECK(st.items_given == 0 && st.results == 0 && st.messages == 0,
              "stats on rank %d of %d: %zu given", rank, size, st.items_given);
    MPI_Reduce(&mine, &all, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        CHECK(all == NGOOD + 1, "the ranks ran %ld items in all", all);
        compare(serial, first);
        CHECK(lines_of("ran.log") == 2 * NGOOD, "%zu items ran in all",
              lines_of("ran.log"));
        /* Rank and host in the stats: in the pout, in its file and read
         * back from it; a one-rank pout writes neither key. */
        origins(serial, 1, "serial");
        origins(first, size, "mpi");
        char path[4200];
        path_of(path, sizeof path, "pout_mpi.jsonl");
        bmp_pout *back = NULL;
        CHECK(bmp_pout_write(first, path, &err) == 0, "write: %s", err.text);
        CHECK(bmp_pout_read(path, &back, &err) == 0 && back, "read: %s",
              err.text);
        if (back)
            origins(back, size, "read back");
        bmp_pout_free(back);
        CHECK(file_has("pout_mpi.jsonl", "\"host\":") == (size > 1),
              "the pout file %s a host", size > 1 ? "lacks" : "has");
        CHECK(file_has("pout_mpi.jsonl", "\"rank\":") == (size > 1),
              "the pout file %s a rank", size > 1 ? "lacks" : "has");
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Resumed: only the crashed item runs again, and crashes again. */
    kw = run_kw("out_mpi", 1, 1);
    bmp_pout *again = run_mpi(pipe, in, kw);
    json_decref(kw);
    mine = rank == 0 && size > 1 ? 0 : ran_here(again);
    MPI_Reduce(&mine, &all, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        if (size > 1)
            CHECK(all == 1, "the helpers ran %ld items on resume", all);
        same_pout(first, again);
        compare(serial, again);
        /* The journal kept where the resumed items ran. */
        origins(again, size, "resumed");
        CHECK(lines_of("ran.log") == 2 * NGOOD,
              "%zu items ran in all after resume", lines_of("ran.log"));
    }
    if (size >= 3) {
        /* A crash on rank 2 specifically costs its items only. */
        crash_on_rank2 = 1;
        json_t *good = names(0);
        kw = run_kw("out_rank2", 0, 0);
        bmp_pout *r2 = run_mpi(pipe, good, kw);
        json_decref(kw);
        json_decref(good);
        crash_on_rank2 = 0;
        size_t crashed = 0;
        for (size_t i = 0; rank == 0 && i < bmp_pout_count(r2); i++) {
            bmp_item_stats st = {.version = 2, .rank = -7};
            CHECK(bmp_pout_stats(r2, i, &st) == 0, "rank 2 run: stats %zu", i);
            if (st.rank == 2) {
                crashed++;
                CHECK(bmp_pout_status(r2, i) == BMP_ITEM_CRASHED,
                      "item %zu ran on rank 2 and is %s", i,
                      bmp_status_name(bmp_pout_status(r2, i)));
            } else {
                CHECK(bmp_pout_status(r2, i) == BMP_ITEM_OK &&
                          json_equal(bmp_pout_meta(r2, i),
                                     bmp_pout_meta(serial, i)),
                      "item %zu ran on rank %d and is %s", i, st.rank,
                      bmp_status_name(bmp_pout_status(r2, i)));
            }
        }
        if (rank == 0) {
            CHECK(crashed >= 1, "rank 2 ran no item");
            printf("%zu of %d items ran on rank 2 and crashed there\n",
                   crashed, NGOOD);
        }
        bmp_pout_free(r2);
    }
    bmp_pout_free(again);
    bmp_pout_free(first);
    bmp_pout_free(serial);
    json_decref(in);
    bmp_pipe_free(pipe);
    bmp_mpi_executor_release(&ex);

    int any = 0;
    MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0 && !any)
        nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rank == 0)
        printf("%d ranks: %s\n", size,
               any ? "FAILED"
                   : "pout as serial, "
                     "crash isolated, "
                     "resume ran nothing");
    MPI_Finalize();
    return any ? 1 : 0;
}
