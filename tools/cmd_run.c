/*
 * cmd_run.c -- `bigmultipipe run`: a pipeline whose per-item step is an
 * existing program (command_step.c).  Everything else is the library's:
 * worker count, isolation, timeouts, retries, the journal, the pout.
 */
#include "tool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* `w` as a shell word, quoted only where a shell would need it, after a
 * space when `space`.  `braces`: braces and commas need no quotes (for
 * the pipeline_id, whose text must not change between versions: a
 * journal compares it); else they are quoted, as bash would expand
 * {a,b}.  @return 0, or -1 on ENOMEM. */
static int print_word(FILE *f, const char *w, int space, int braces)
{
    const char *safe = braces
                           ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                             "wxyz0123456789_./{}=:,+@%-"
                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                             "wxyz0123456789_./=:+@%-";
    if (*w && strspn(w, safe) == strlen(w)) {
        fprintf(f, "%s%s", space ? " " : "", w);
        return 0;
    }
    char *q = shell_quote(w);
    if (!q)
        return -1;
    fprintf(f, "%s%s", space ? " " : "", q);
    free(q);
    return 0;
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
        if (print_word(f, a->command[i], i > 0, 1) < 0) {
            fclose(f);
            free(id);
            return -1;
        }
    }
    if (a->shell)
        fputs(" (--shell)", f);
    if (a->out_ext)
        fprintf(f, " (--out-ext %s)", a->out_ext);
    if (a->reject_code > 0)
        fprintf(f, " (--reject-code %d)", a->reject_code);
    /* The groups are the journal's items: another N is another run. */
    if (a->max_args > 1)
        fprintf(f, " (-n %zu)", a->max_args);
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

#ifdef BMP_TOOL_MPI
/* Rank 0's status, on every rank.  The others sleep between polls while
 * rank 0 writes the pout and the summary: MPI_Bcast would spin in Open
 * MPI and take CPU from the ranks still working elsewhere. */
static int mpi_share_status(int rank, int status)
{
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0) {
        for (int r = 1; r < size; r++)
            MPI_Send(&status, 1, MPI_INT, r, 7001, MPI_COMM_WORLD);
        return status;
    }
    int got = status;
    MPI_Request req;
    if (MPI_Irecv(&got, 1, MPI_INT, 0, 7001, MPI_COMM_WORLD, &req) !=
        MPI_SUCCESS)
        return EXIT_SOME_FAILED;
    long ns = 20000;
    for (;;) {
        int flag = 0;
        if (MPI_Test(&req, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return EXIT_SOME_FAILED;
        if (flag)
            return got;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        ns = ns * 2 > 20000000L ? 20000000L : ns * 2;
    }
}
#endif

static int cmd_run_body(tool_args *a, int rank, bmp_executor *ex);

/* The run's own data, checked before anything is written: with --out-ext
 * the library cannot know the outputs' names (its rule keeps the input's
 * extension), so they are given as files the run writes, which may be
 * neither an input nor each other.  @return 0 or the error of
 * bmp_check_paths(). */
static int check_paths(const tool_args *a, const json_t *names, int uses_out,
                       bmp_error *err)
{
    size_t count = json_array_size(names);
    size_t nown = 1 + (uses_out && a->out_ext ? count : 0);
    bmp_own_file *own = calloc(nown, sizeof *own);
    char **outs = calloc(count ? count : 1, sizeof *outs);
    int rc = own && outs ? 0 : -ENOMEM;
    if (own)
        own[0] = (bmp_own_file){"pout (--output)", a->output};
    for (size_t i = 0; rc == 0 && nown > 1 && i < count; i++) {
        const char *in = json_string_value(json_array_get(names, i));
        if (outname_for(in, a->kw, NULL, a->out_ext, &outs[i]) == -ENOMEM)
            rc = -ENOMEM;
        own[1 + i] = (bmp_own_file){"output (--out-ext)", outs[i]};
    }
    if (rc == 0)
        rc = bmp_check_paths(names, a->kw,
                             uses_out && !a->out_ext ? BMP_CHECK_OUTPUTS : 0,
                             own, nown, err);
    else
        bmp_error_set(err, rc, "paths", NULL, "out of memory");
    for (size_t i = 0; outs && i < count; i++)
        free(outs[i]);
    free(outs);
    free(own);
    return rc;
}

/* --dry-run: each item's command line as it would run, one a line, and
 * nothing run: {out} is its temporary's pattern (the six X stand for
 * the letters drawn then), {%} the slot the item would have if items
 * started in turn.  @return the exit status. */
static int dry_run(const tool_args *a, const json_t *names, int uses_out,
                   int workers)
{
    command_spec spec = {.words = a->command,
                         .nwords = a->ncommand,
                         .shell = a->shell,
                         .kw = a->kw};
    size_t count = json_array_size(names);
    int status = EXIT_ALL_OK;
    size_t per = a->max_args > 1 ? a->max_args : 0;
    for (size_t i = 0; per && i < count; i += per) {
        /* -n: one line per program start. */
        size_t n = count - i < per ? count - i : per;
        const char **ins = calloc(n, sizeof *ins);
        char **outs = calloc(n, sizeof *outs);
        char **argv = NULL;
        int rc = ins && outs ? 0 : -ENOMEM;
        for (size_t k = 0; rc == 0 && k < n; k++) {
            ins[k] = json_string_value(json_array_get(names, i + k));
            char *out = NULL;
            size_t xoff;
            rc = outname_for(ins[k], a->kw, NULL, a->out_ext, &out);
            if (rc == 0 && uses_out) {
                outs[k] = temp_out_template(out, &xoff);
                free(out);
                rc = outs[k] ? 0 : -ENOMEM;
            } else {
                outs[k] = out;
                rc = rc < 0 && !uses_out ? 0 : rc;
            }
            if (rc < 0 && rc != -ENOMEM) {
                fprintf(stderr,
                        "bigmultipipe run: %s: %s: the group would fail\n",
                        ins[k], bmp_strerror(rc));
                status = EXIT_SOME_FAILED;
            }
        }
        unsigned slot = (unsigned)((i / per) %
                                   (size_t)(workers > 0 ? workers : 1)) +
                        1;
        if (rc == 0)
            argv = command_chunk_line(&spec, ins, outs, n, i / per, slot);
        for (size_t k = 0; outs && k < n; k++)
            free(outs[k]);
        free(outs);
        free(ins);
        if (rc == -ENOMEM || (rc == 0 && !argv)) {
            fprintf(stderr, "bigmultipipe run: out of memory\n");
            return EXIT_SOME_FAILED;
        }
        if (!argv)
            continue;
        if (a->shell)
            fputs(argv[2], stdout);
        else
            for (size_t k = 0; argv[k]; k++)
                if (print_word(stdout, argv[k], k > 0, 0) < 0)
                    break;
        putchar('\n');
        placeholders_argv_free(argv);
    }
    for (size_t i = 0; !per && i < count; i++) {
        if (a->shard_count && i % a->shard_count != a->shard_index)
            continue;
        const char *in = json_string_value(json_array_get(names, i));
        char *out = NULL, *temp = NULL;
        size_t xoff;
        int rc = outname_for(in, a->kw, NULL, a->out_ext, &out);
        if (rc == 0 && uses_out && !(temp = temp_out_template(out, &xoff)))
            rc = -ENOMEM;
        unsigned slot = (unsigned)(i % (size_t)(workers > 0 ? workers : 1)) +
                        1;
        char **argv = rc == 0 || !uses_out
                          ? command_line(&spec, in, temp ? temp : out, i, slot)
                          : NULL;
        free(out);
        free(temp);
        if (!argv && (rc == 0 || rc == -ENOMEM)) {
            fprintf(stderr, "bigmultipipe run: out of memory\n");
            return EXIT_SOME_FAILED;
        }
        if (!argv) {
            /* That item alone would fail: said, and the others shown. */
            fprintf(stderr, "bigmultipipe run: %s: %s: the item would fail\n",
                    in, bmp_strerror(rc));
            status = EXIT_SOME_FAILED;
            continue;
        }
        if (a->shell) {
            /* The shell text is what runs (sh -c TEXT): printed as is,
             * as GNU parallel prints its commands. */
            fputs(argv[2], stdout);
        } else {
            for (size_t k = 0; argv[k]; k++)
                if (print_word(stdout, argv[k], k > 0, 0) < 0)
                    break;
        }
        putchar('\n');
        placeholders_argv_free(argv);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? status : EXIT_SOME_FAILED;
}

/* ---- --halt ------------------------------------------------------------ *
 * The library runs every item it is given, so a run that may halt is fed
 * through a pool of its own (bmp_pool_*, the process executor's pool):
 * never more items in it than workers, and none added once the rule is
 * met.  "now" then ends the pool (its running items stay not_run);
 * "soon" lets them finish.  The counts come from the progress reports,
 * which the library makes in this process as each item ends. */

typedef struct halt_state {
    halt_rule rule;
    const char *text;  /* as given */
    size_t done_start; /* items done before the run (a resumed journal) */
    size_t failed_start;
    int started;
    size_t failed, succeeded;
    int halted;
    progress_state *draw; /* the progress line, or NULL */
} halt_state;

static void halt_progress(const bmp_progress *p, void *arg)
{
    halt_state *h = arg;
    if (!h->started) {
        h->started = 1;
        h->done_start = p->done;
        h->failed_start = p->failed;
    }
    if (h->halted) { /* the counts that halted it stay */
        if (h->draw)
            progress_update(p, h->draw);
        return;
    }
    size_t done = p->done - h->done_start;
    h->failed = p->failed - h->failed_start;
    h->succeeded = done > h->failed ? done - h->failed : 0;
    const halt_rule *r = &h->rule;
    size_t n = r->on_done ? done : r->on_success ? h->succeeded : h->failed;
    if (r->when != HALT_NEVER) {
        if (r->count)
            h->halted = n >= r->count;
        else /* GNU parallel's rule: a share of the jobs done, 3 at least */
            h->halted = done >= 3 &&
                        (double)n * 100.0 >= r->percent * (double)done;
    }
    if (h->draw)
        progress_update(p, h->draw);
}

static int halt_executor_run(bmp_run *run, int workers, void *arg,
                             bmp_error *err)
{
    halt_state *h = arg;
    bmp_pool *pool = NULL;
    int rc = bmp_pool_new(run, workers, NULL, NULL, &pool, err);
    if (rc < 0)
        return rc;
    size_t count = bmp_run_count(run), next = 0;
    size_t room = workers > 0 ? (size_t)workers : 1;
    int ended = 0;
    for (;;) {
        while (!h->halted && next < count && bmp_pool_running(pool) < room) {
            size_t i = next++;
            if (bmp_run_item_done(run, i))
                continue;
            rc = bmp_pool_add(pool, i);
            if (rc < 0 && rc != -EALREADY) {
                bmp_pool_free(pool);
                return bmp_error_set(err, rc, "halt", NULL,
                                     "cannot queue item %zu: %s", i,
                                     bmp_strerror(rc));
            }
        }
        if (h->halted && h->rule.when == HALT_NOW)
            break;
        if (!ended && (h->halted || next >= count)) {
            bmp_pool_end_input(pool);
            ended = 1;
        }
        rc = bmp_pool_drive(pool, -1, err);
        if (rc < 0) {
            bmp_pool_free(pool);
            return rc;
        }
        if (rc == BMP_POOL_DONE)
            break;
    }
    bmp_pool_free(pool);
    return 0;
}

/* Writes the pout, prints the summary and gives the exit status.
 * executor_says_why: the run's executor (MPI) may explain an
 * interruption (a rank lost) in err's text, printed instead of
 * "interrupted". */
static int finish_run(const tool_args *a, bmp_pout *pout, int rc,
                      const bmp_error *err, double elapsed,
                      const halt_state *h, int executor_says_why)
{
    /* Interrupted (SIGINT, SIGTERM) or a journal that could not be
     * written: the pout is still whole, with the items not run marked. */
    int stopped = rc < 0;
    if (h->halted)
        fprintf(stderr,
                "bigmultipipe run: halted (--halt %s) after %zu %s%s\n",
                h->text,
                h->rule.on_done      ? h->succeeded + h->failed
                : h->rule.on_success ? h->succeeded
                                     : h->failed,
                h->rule.on_done      ? "done"
                : h->rule.on_success ? "succeeded"
                                     : "failed",
                h->rule.when == HALT_NOW ? "; running items were ended" : "");
    else if (stopped)
        fprintf(stderr, "bigmultipipe run: %s%s\n",
                rc == BMP_EINTERRUPTED && !(executor_says_why && err->text[0])
                    ? "interrupted"
                    : err->text,
                bmp_kw_has(a->kw, "journal")
                    ? "; run again with --resume to finish"
                    : "");

    bmp_error werr = {0};
    rc = a->output ? bmp_pout_write(pout, a->output, &werr)
                   : bmp_pout_write_fp(pout, stdout, &werr);
    if (rc < 0)
        fprintf(stderr, "bigmultipipe run: %s\n", werr.text);
    /* With --shard, the other shards' items are in the pout (not_run,
     * to keep it whole) but not this run's to count: neither in the
     * summary nor in the exit status. */
    size_t ok = 0, none = 0, failed = 0, not_run = 0, n = 0;
    size_t total = bmp_pout_count(pout);
    for (size_t i = 0; i < total; i++) {
        if (a->shard_count && i % a->shard_count != a->shard_index)
            continue;
        n++;
        bmp_status s = bmp_pout_status(pout, i);
        ok += s == BMP_ITEM_OK;
        none += s == BMP_ITEM_NO_OUTPUT;
        not_run += s == BMP_ITEM_NOT_RUN;
    }
    failed = n - ok - none - not_run;
    bmp_pout_free(pout);
    if (!a->quiet) {
        char extra[64] = "";
        if (not_run)
            snprintf(extra, sizeof extra, ", %zu not run", not_run);
        char shard[96] = "";
        if (a->shard_count)
            snprintf(shard, sizeof shard, " of shard %zu/%zu (%zu in all)",
                     a->shard_index, a->shard_count, total);
        fprintf(stderr,
                "%zu item%s%s: %zu ok, %zu no output, %zu failed%s in "
                "%.1f s\n",
                n, n == 1 ? "" : "s", shard, ok, none, failed, extra, elapsed);
    }
    /* A halt on success is the run's aim reached (GNU parallel exits 0
     * then): the items it left not run do not count.  So is a halt on
     * done with nothing failed (GNU parallel exits with the number
     * failed). */
    if (h->halted && rc == 0 && !stopped &&
        (h->rule.on_success || (h->rule.on_done && failed == 0)))
        return EXIT_ALL_OK;
    return failed || not_run || rc < 0 || stopped ? EXIT_SOME_FAILED
                                                  : EXIT_ALL_OK;
}

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
    status = mpi_share_status(rank, status);
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
    if (a.halt.when != HALT_NEVER &&
        (ex || strcmp(bmp_kw_str(a.kw, "executor", "process"), "process"))) {
        usage("--halt needs the process executor (the default)");
        goto out;
    }
    if (a.max_args > 1 &&
        (a.halt.when != HALT_NEVER || a.shard_count || ex ||
         bmp_kw_has(a.kw, "read_pout") || bmp_kw_has(a.kw, "write_pout"))) {
        usage("-n (--max-args) runs groups of inputs; it cannot be "
              "combined with --halt, --shard, --executor mpi, --read_pout "
              "or --write_pout");
        goto out;
    }
    if (a.out_ext && !placeholder_used(a.command, a.ncommand, "{out}")) {
        usage("--out-ext names the output of {out}, which the command does "
              "not hold");
        goto out;
    }
    if (a.ncommand == 0) {
        usage("no command: give it after --, as in "
              "bigmultipipe run -- gzip -k {in} ::: *.txt");
        goto out;
    }
    if (placeholder_check(a.command, a.ncommand, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    if (inputs_collect(&a, &names, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    size_t count = json_array_size(names);
    /* Nothing of the run may destroy its own data: an output that is
     * another item's input (by any name or link), or the journal, a pout
     * file or the --output file that is an input, an output or each
     * other.  Refused before anything is opened for writing. */
    bmp_error err = {0};
    int uses_out = placeholder_used(a.command, a.ncommand, "{out}");
    if (check_paths(&a, names, uses_out, &err) < 0) {
        if (err.code == BMP_EINVAL) {
            usage(err.text);
        } else {
            fprintf(stderr, "bigmultipipe run: %s\n", err.text);
            status = EXIT_SOME_FAILED;
        }
        goto out;
    }
    /* A stored pout answers for these inputs only. */
    bmp_pout *stored = NULL;
    if (owner && inputs_stored_pout(&a, names, &stored, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    if (ex) {
        /* Under MPI the ranks take the cache together, as before: the
         * library's bmp_pipeline_cached() decides on rank 0. */
        bmp_pout_free(stored);
        stored = NULL;
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
    int workers = count == 0 && !stored
                      ? 1
                      : bmp_num_can_process(shard_items ? shard_items : 1,
                                            a.kw, &err);
    if (workers < 0) {
        if (err.code != BMP_ENOMEM_BUDGET)
            usage(err.text);
        else
            fprintf(stderr, "bigmultipipe run: %s\n", err.text);
        status = err.code != BMP_ENOMEM_BUDGET ? EXIT_USAGE : EXIT_SOME_FAILED;
        bmp_pout_free(stored);
        goto out;
    }
    if (a.max_args == MAX_ARGS_SPREAD) {
        /* -X: about four groups per worker, as the floor's batches, so
         * that the workers stay busy to the end; N is then in the
         * pipeline_id as if given. */
        size_t groups = (size_t)(workers > 0 ? workers : 1) * 4;
        a.max_args = (count + groups - 1) / groups;
        if (a.max_args < 1)
            a.max_args = 1;
        if (set_pipeline_id(&a) < 0) {
            fprintf(stderr, "bigmultipipe run: out of memory\n");
            status = EXIT_SOME_FAILED;
            bmp_pout_free(stored);
            goto out;
        }
    }
    if (a.dry_run) {
        bmp_pout_free(stored);
        status = dry_run(&a, names, uses_out, workers);
        goto out;
    }

    status = EXIT_SOME_FAILED;
    halt_state halt = {.rule = a.halt, .text = a.halt_text};
    bmp_pout *pout = NULL;
    double elapsed = 0;
    int rc = 0;
    if (stored) {
        /* The stored results of these very inputs: nothing runs. */
        pout = stored;
        status = finish_run(&a, pout, 0, &err, elapsed, &halt, 0);
        goto out;
    }
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
            temp_out_sweep(own_names, a.kw, a.out_ext);
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
        .out_ext = a.out_ext,
        .job_meta = a.job_meta,
        .max_args = a.max_args > 1 ? a.max_args : 0,
        .kw = a.kw,
    };
    /* The job slots ({%}): one entry per worker, shared with them. */
    size_t nslots = (size_t)workers + 8;
    pid_t *slots = mmap(NULL, nslots * sizeof *slots, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots != MAP_FAILED) {
        spec.slots = slots;
        spec.nslots = nslots;
    }
    const bmp_ops ops = {.version = BMP_OPS_VERSION,
                         .file_process = spec.max_args ? command_chunk_process
                                                       : command_file_process};
    /* -n: the library's items are the groups. */
    json_t *items = spec.max_args ? chunks_make(names, spec.max_args)
                                  : json_incref(names);
    bmp_pipe *pipe = bmp_pipe_new(&ops, &spec);
    if (!pipe) {
        fprintf(stderr, "bigmultipipe run: out of memory\n");
        json_decref(items);
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
    int draw = !a.quiet && isatty(STDERR_FILENO);
    bmp_executor halt_ex = {.version = BMP_EXECUTOR_VERSION,
                            .run = halt_executor_run,
                            .arg = &halt,
                            .role = BMP_EXECUTOR_OWNER};
    if (a.halt.when != HALT_NEVER && !ex) {
        /* The halt counts come from the progress reports. */
        halt.draw = draw ? &progress : NULL;
        bmp_pipe_set_progress(pipe, halt_progress, &halt);
        bmp_pipe_set_executor(pipe, &halt_ex);
    } else if (draw) {
        bmp_pipe_set_progress(pipe, progress_update, &progress);
    }

    double t0 = now_s();
    rc = items
             ? bmp_pipeline_cached(pipe, items, a.kw, NULL, NULL, &pout, &err)
             : bmp_error_set(&err, -ENOMEM, "-n", NULL, "out of memory");
    json_decref(items);
    if (pout && spec.max_args) {
        bmp_error xerr = {0};
        if (chunks_expand(&pout, &xerr) < 0) {
            fprintf(stderr, "bigmultipipe run: %s\n", xerr.text);
            if (rc == 0) {
                rc = xerr.code;
                err = xerr;
            }
        }
    }
    elapsed = now_s() - t0;
    progress_finish(&progress);
    if (spec.slots)
        munmap(spec.slots, nslots * sizeof *slots);
    /* Every worker is gone: what their claims name is garbage, and so
     * is any temporary left beside the outputs by a worker killed late
     * in a run before this one. */
    run_dir_remove(meta_dir);
    close(lock_fd);
    free(meta_dir);
    if (uses_out && owner)
        temp_out_sweep(own_names, a.kw, a.out_ext);
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
    status = finish_run(&a, pout, rc, &err, elapsed, &halt, ex != NULL);
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
