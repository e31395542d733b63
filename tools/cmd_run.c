/*
 * cmd_run.c -- `bigmultipipe run`: a pipeline whose per-item step is an
 * existing program (command_step.c).  Everything else is the library's:
 * worker count, isolation, timeouts, retries, the journal, the pout.
 */
#include "tool.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef BMP_TOOL_MPI
#include <bigmultipipe/mpi.h>
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int usage(const char *msg)
{
    fprintf(stderr, "bigmultipipe run: %s\n(see bigmultipipe run --help)\n",
            msg);
    return EXIT_USAGE;
}

/* "sort -n -o {out} {in}", with " (--shell)" and " (--reject-code N)"
 * when given, as the keyword pipeline_id.  @return 0 or -1 (ENOMEM). */
static int set_pipeline_id(tool_args *a)
{
    char *id = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&id, &len);
    if (!f)
        return -1;
    for (int i = 0; i < a->ncommand; i++) {
        /* Quoted only where a shell would need it, for a readable
         * message when it changes. */
        const char *w = a->command[i];
        if (*w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                            "wxyz0123456789_./{}=:,+@%-") == strlen(w)) {
            fprintf(f, "%s%s", i ? " " : "", w);
            continue;
        }
        char *q = shell_quote(w);
        if (!q) {
            fclose(f);
            free(id);
            return -1;
        }
        fprintf(f, "%s%s", i ? " " : "", q);
        free(q);
    }
    if (a->shell)
        fputs(" (--shell)", f);
    if (a->reject_code > 0)
        fprintf(f, " (--reject-code %d)", a->reject_code);
    if (fclose(f) != 0) {
        free(id);
        return -1;
    }
    int rc = bmp_kw_set_str(a->kw, "pipeline_id", id);
    free(id);
    return rc < 0 ? -1 : 0;
}

/* ---- --executor mpi -------------------------------------------------- *
 * Every rank runs this same command line.  Rank 0 owns the run: it
 * sweeps old temporaries, writes the journal, the pout and the summary;
 * the other ranks run items and print nothing on standard output.  The
 * ranks agree before the run (a rank that refuses it stops them all)
 * and every rank exits with rank 0's status. */

/* Whether the run can start on every rank: the worst status of all (all
 * the same when nothing failed), EXIT_ALL_OK to go on. */
static int mpi_agree(const bmp_executor *ex, int status)
{
#ifdef BMP_TOOL_MPI
    if (ex) {
        int worst = status;
        if (MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
            return EXIT_SOME_FAILED;
        return worst;
    }
#endif
    (void)ex;
    return status;
}

/* After the ranks agreed, a rank that cannot go on would leave the
 * others waiting for it: it ends the job. */
static void mpi_give_up(const bmp_executor *ex, int status)
{
#ifdef BMP_TOOL_MPI
    if (ex)
        MPI_Abort(MPI_COMM_WORLD, status);
#endif
    (void)ex;
    (void)status;
}

static int cmd_run_body(tool_args *a, int rank, bmp_executor *ex);

int cmd_run(int argc, char **argv)
{
    tool_args a;
    char msg[1024];
    int status;
    if (tool_args_parse(argc, argv, CMD_RUN, &a, msg, sizeof msg) < 0) {
        usage(msg);
        tool_args_free(&a);
        return EXIT_USAGE;
    }
    if (!a.mpi || a.help) {
        status = cmd_run_body(&a, 0, NULL);
        tool_args_free(&a);
        return status;
    }
#ifndef BMP_TOOL_MPI
    usage("--executor mpi: this bigmultipipe was built without MPI");
    tool_args_free(&a);
    return EXIT_USAGE;
#else
    /* Standard input reaches rank 0 only: the names must be on the
     * command line or in files every rank can read. */
    int from_stdin = !a.inputs && a.nlists == 0;
    for (int i = 0; i < a.nlists; i++)
        from_stdin |= strcmp(a.lists[i], "-") == 0;
    if (from_stdin) {
        usage("--executor mpi: the inputs cannot come from standard "
              "input (only rank 0 could read it); give them after ::: or "
              "in an --input-list FILE");
        tool_args_free(&a);
        return EXIT_USAGE;
    }
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "bigmultipipe run: MPI_Init failed\n");
        tool_args_free(&a);
        return EXIT_SOME_FAILED;
    }
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    bmp_executor ex;
    bmp_error err = {0};
    if (bmp_mpi_executor(MPI_COMM_WORLD, &ex, &err) < 0) {
        fprintf(stderr, "bigmultipipe run: %s\n", err.text);
        MPI_Abort(MPI_COMM_WORLD, EXIT_SOME_FAILED);
    }
    /* The other ranks say nothing but their errors. */
    if (rank != 0)
        a.quiet = 1;
    status = cmd_run_body(&a, rank, &ex);
    /* mpirun reports the job's status from every rank: make it rank 0's. */
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    bmp_mpi_executor_release(&ex);
    MPI_Finalize();
    tool_args_free(&a);
    return status;
#endif
}

static int cmd_run_body(tool_args *a_, int rank, bmp_executor *ex)
{
    tool_args a = *a_;
    char msg[1024];
    json_t *names = NULL, *own_names = NULL;
    int status = EXIT_USAGE;
    int owner = rank == 0, agreed = 0;
    if (a.help) {
        tool_print_help(stdout, CMD_RUN);
        status = EXIT_ALL_OK;
        goto out;
    }
    if (a.ncommand == 0) {
        usage("no command: give it after --, as in "
              "bigmultipipe run -- gzip -k {in} ::: *.txt");
        goto out;
    }
    if (inputs_collect(&a, &names, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    size_t count = json_array_size(names);
    if (count == 0) {
        usage("no inputs: the input list is empty");
        goto out;
    }
    /* Nothing of the run may destroy its own data: an output that is
     * another item's input (by any name or link), or the journal, a pout
     * file or the --output file that is an input, an output or each
     * other.  Refused before anything is opened for writing. */
    bmp_error err = {0};
    const bmp_own_file own[] = {{"pout (--output)", a.output}};
    if (bmp_check_paths(names, a.kw,
                        placeholder_used(a.command, a.ncommand, "{out}")
                            ? BMP_CHECK_OUTPUTS
                            : 0,
                        own, 1, &err) < 0) {
        if (err.code == BMP_EINVAL) {
            usage(err.text);
        } else {
            fprintf(stderr, "bigmultipipe run: %s\n", err.text);
            status = EXIT_SOME_FAILED;
        }
        goto out;
    }
    /* The journal records what this run is, so that --resume with
     * another command is refused: the command's words, quoted, and what
     * changes how its outcome is read. */
    if (set_pipeline_id(&a) < 0) {
        fprintf(stderr, "bigmultipipe run: out of memory\n");
        status = EXIT_SOME_FAILED;
        goto out;
    }
    /* Check the resource options now, so that a bad value is a usage
     * error, before anything runs; a budget too small for one item is a
     * run that cannot be made. */
    size_t shard_items = count; /* the items this run may run: its shard's */
    if (a.shard_count)
        shard_items = count / a.shard_count +
                      (a.shard_index < count % a.shard_count);
    if (bmp_num_can_process(shard_items, a.kw, &err) < 0) {
        if (err.code != BMP_ENOMEM_BUDGET)
            usage(err.text);
        else
            fprintf(stderr, "bigmultipipe run: %s\n", err.text);
        status = err.code != BMP_ENOMEM_BUDGET ? EXIT_USAGE : EXIT_SOME_FAILED;
        goto out;
    }

    status = EXIT_SOME_FAILED;
    int uses_out = placeholder_used(a.command, a.ncommand, "{out}");
    /* The temporaries swept are this shard's items' only: another
     * shard's may be written at this moment on another machine. */
    own_names = json_incref(names);
    if (a.shard_count) {
        json_decref(own_names);
        own_names = json_array();
        for (size_t i = a.shard_index; own_names && i < count;
             i += a.shard_count)
            if (json_array_append(own_names, json_array_get(names, i)) < 0) {
                json_decref(own_names);
                own_names = NULL;
            }
        if (!own_names) {
            fprintf(stderr, "bigmultipipe run: out of memory\n");
            goto out;
        }
    }
    /* What runs killed before this one left: their folders in TMPDIR,
     * with the temporaries their claims name, and any temporary beside
     * this run's outputs that no live process holds. */
    if (owner) {
        run_dirs_sweep();
        if (uses_out)
            temp_out_sweep(own_names, a.kw);
    }
    /* Under MPI, every rank got this far, or none runs anything. */
    agreed = 1;
    status = mpi_agree(ex, EXIT_ALL_OK);
    if (status != EXIT_ALL_OK)
        goto out;
    status = EXIT_SOME_FAILED;
    char *meta_dir = NULL;
    int lock_fd = -1;
    int mrc = run_dir_make(&meta_dir, &lock_fd);
    if (mrc < 0) {
        fprintf(stderr,
                "bigmultipipe run: cannot make a temporary "
                "directory: %s\n",
                strerror(-mrc));
        mpi_give_up(ex, status);
        goto out;
    }
    struct stat run_st = {0};
    fstat(lock_fd, &run_st);
    struct sigaction old;
    sigaction(SIGINT, NULL, &old);
    command_spec spec = {
        .words = a.command,
        .nwords = a.ncommand,
        .shell = a.shell,
        .reject_code = a.reject_code,
        .meta_dir = meta_dir,
        .restore_sigint = old.sa_handler != SIG_IGN,
        .uses_out = uses_out,
        .run_lock_fd = lock_fd,
        .caller = getpid(),
        .run_dev = run_st.st_dev,
        .run_ino = run_st.st_ino,
    };
    const bmp_ops ops = {.version = BMP_OPS_VERSION,
                         .file_process = command_file_process};
    bmp_pipe *pipe = bmp_pipe_new(&ops, &spec);
    if (!pipe) {
        fprintf(stderr, "bigmultipipe run: out of memory\n");
        mpi_give_up(ex, status);
        run_dir_remove(meta_dir);
        close(lock_fd);
        free(meta_dir);
        goto out;
    }
    if (ex && bmp_pipe_set_executor(pipe, ex) < 0) {
        fprintf(stderr, "bigmultipipe run: the MPI executor was refused\n");
        mpi_give_up(ex, status);
    }
    progress_state progress = {.out = stderr};
    if (!a.quiet && isatty(STDERR_FILENO))
        bmp_pipe_set_progress(pipe, progress_update, &progress);

    double t0 = now_s();
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline_cached(pipe, names, a.kw, NULL, NULL, &pout, &err);
    double elapsed = now_s() - t0;
    progress_finish(&progress);
    /* Every worker is gone: what their claims name is garbage, and so
     * is any temporary left beside the outputs by a worker killed late
     * in a run before this one. */
    run_dir_remove(meta_dir);
    close(lock_fd);
    free(meta_dir);
    if (uses_out && owner)
        temp_out_sweep(own_names, a.kw);
    bmp_pipe_free(pipe);
    if (rc < 0 && !pout) {
        /* Refused before anything ran (a journal of another run, say):
         * the command line is what to change. */
        if (err.code == BMP_EINVAL)
            status = EXIT_USAGE;
        fprintf(stderr, "bigmultipipe run: %s\n", err.text);
        mpi_give_up(ex, status);
        goto out;
    }
    if (!owner) {
        /* A helper's pout holds its own items only: rank 0 writes the
         * run's. */
        bmp_pout_free(pout);
        status = rc < 0 ? EXIT_SOME_FAILED : EXIT_ALL_OK;
        goto out;
    }
    /* Interrupted (SIGINT, SIGTERM) or a journal that could not be
     * written: the pout is still whole, with the items not run marked. */
    int stopped = rc < 0;
    if (stopped)
        fprintf(stderr, "bigmultipipe run: %s%s\n",
                rc == BMP_EINTERRUPTED && !(ex && err.text[0]) ? "interrupted"
                                                               : err.text,
                bmp_kw_has(a.kw, "journal")
                    ? "; run again with --resume to finish"
                    : "");

    rc = a.output ? bmp_pout_write(pout, a.output, &err)
                  : bmp_pout_write_fp(pout, stdout, &err);
    if (rc < 0)
        fprintf(stderr, "bigmultipipe run: %s\n", err.text);
    /* With --shard, the other shards' items are in the pout (not_run,
     * to keep it whole) but not this run's to count: neither in the
     * summary nor in the exit status. */
    size_t ok = 0, none = 0, failed = 0, not_run = 0, n = 0;
    size_t total = bmp_pout_count(pout);
    for (size_t i = 0; i < total; i++) {
        if (a.shard_count && i % a.shard_count != a.shard_index)
            continue;
        n++;
        bmp_status s = bmp_pout_status(pout, i);
        ok += s == BMP_ITEM_OK;
        none += s == BMP_ITEM_NO_OUTPUT;
        not_run += s == BMP_ITEM_NOT_RUN;
    }
    failed = n - ok - none - not_run;
    bmp_pout_free(pout);
    if (!a.quiet) {
        char extra[64] = "";
        if (not_run)
            snprintf(extra, sizeof extra, ", %zu not run", not_run);
        char shard[96] = "";
        if (a.shard_count)
            snprintf(shard, sizeof shard, " of shard %zu/%zu (%zu in all)",
                     a.shard_index, a.shard_count, total);
        fprintf(stderr,
                "%zu item%s%s: %zu ok, %zu no output, %zu failed%s in "
                "%.1f s\n",
                n, n == 1 ? "" : "s", shard, ok, none, failed, extra, elapsed);
    }
    status = failed || not_run || rc < 0 || stopped ? EXIT_SOME_FAILED
                                                    : EXIT_ALL_OK;
#ifdef BMP_TOOL_MPI
    /* A rank lost to the heartbeat can meet no one: the pout is written,
     * the job ends here. */
    if (ex && bmp_mpi_ranks_lost(ex)) {
        fflush(stdout);
        mpi_give_up(ex, status);
    }
#endif
out:
    json_decref(own_names);
    json_decref(names);
    return ex && !agreed ? mpi_agree(ex, status) : status;
}
