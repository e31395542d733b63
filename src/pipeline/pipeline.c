/*
 * pipeline.c -- bmp_pipeline(): checks the call, layers the control
 * stream (construction < run keywords, construction + run step lists),
 * picks the worker count and the executor, and gathers the results into
 * a pout in input order.  Also Python's cached_pout.
 */
#include "channel.h"
#include "executor.h"
#include "interrupt.h"
#include "journal.h"
#include "keywords_internal.h"
#include "report_html.h"
#include "pout_internal.h"
#include "run_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An item is a name or a group of items.  An empty group is one item
 * too, as in the Python package: it reads as an empty list, and without
 * an outname it fails alone, as every group does (doc/differences.md). */
static int valid_item(const json_t *item, int depth)
{
    if (json_is_string(item))
        return 1;
    if (!json_is_array(item) || depth > 64)
        return 0;
    for (size_t i = 0; i < json_array_size(item); i++)
        if (!valid_item(json_array_get(item, i), depth + 1))
            return 0;
    return 1;
}

static int append_steps(bmp__step_list *dst, const bmp__step_list *first,
                        const bmp_step *extra)
{
    for (size_t i = 0; i < first->count; i++) {
        const bmp_step *s = &first->steps[i];
        if (bmp__step_list_append(dst, s->fn, s->arg, s->name))
            return -ENOMEM;
    }
    for (size_t i = 0; extra && extra[i].fn; i++) {
        if (bmp__step_list_append(dst, extra[i].fn, extra[i].arg,
                                  extra[i].name))
            return -ENOMEM;
    }
    return 0;
}

static void run_clear(bmp__run *run)
{
    bmp__journal_close(run);
    free(run->skip);
    free(run->contested);
    bmp__inodes_free(&run->inputs);
    pthread_mutex_destroy(&run->inputs_lock);
    json_decref(run->kw);
    bmp__step_list_clear(&run->pre);
    bmp__step_list_clear(&run->post);
    if (run->results) {
        for (size_t i = 0; i < run->count; i++)
            bmp__result_clear(&run->results[i]);
        free(run->results);
    }
}

/* The executors the `executor` keyword names: the registry lives here,
 * with the run that uses it, not in a backend. */
static const bmp__executor *executor_find(const char *name)
{
    static const bmp__executor *const all[] = {&bmp__executor_process,
                                               &bmp__executor_serial};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

/* The `report` keyword: the run's page (doc/report.md), drawn from the
 * items finished so far, rewritten from the progress outlet at most
 * every REPORT_EVERY_S seconds, and at least ten times as long as the
 * last drawing took, so that a run of many short items spends at most a
 * tenth of the caller's time on it while its workers go on with their
 * queues. */
#define REPORT_EVERY_S 2.0

struct bmp__live_report {
    const char *path;
    unsigned char *final; /* item i has its final result */
    double next;          /* bmp__now() of the next rewrite */
};

static int report_write(bmp__run *run, int live, const char *stopped,
                        bmp_error *err)
{
    struct bmp__live_report *lr = run->report;
    bmp__report_source src = {.count = run->count,
                              .items = run->items,
                              .results = run->results,
                              .final = live ? lr->final : NULL,
                              .title = bmp_kw_str(run->kw, "pipeline_id",
                                                  lr->path),
                              .live = live,
                              .stopped = stopped};
    double t = bmp__now();
    int rc = bmp__report_html_write(lr->path, &src, err);
    double took = bmp__now() - t;
    lr->next = bmp__now() +
               (10 * took > REPORT_EVERY_S ? 10 * took : REPORT_EVERY_S);
    return rc;
}

/* Sets up the page and writes it once before anything runs, so that a
 * page that cannot be written stops the run before it starts. */
static int report_open(bmp__run *run, struct bmp__live_report *lr,
                       bmp_error *err)
{
    const char *path = bmp_kw_str(run->kw, "report", NULL);
    if (!path)
        return 0;
    if (!*path)
        return bmp_error_set(err, BMP_EINVAL, "keywords", NULL,
                             "keyword report must name a file, not be "
                             "empty");
    lr->path = path;
    lr->final = calloc(run->count ? run->count : 1, 1);
    if (!lr->final)
        return bmp_error_set(err, -ENOMEM, "pipeline", NULL, "out of memory");
    /* Items resumed from the journal, and other shards', are final. */
    for (size_t i = 0; run->skip && i < run->count; i++)
        lr->final[i] = run->skip[i];
    run->report = lr;
    return report_write(run, 1, NULL, err);
}

/* The last page, not a live one: from every result, and when the run
 * stopped with an error (rc < 0), saying so and why, so that no page is
 * left saying the run goes on.  The run's error in `err` is kept: the
 * page's own failure goes to a scratch error, and becomes the run's
 * only when the run had none. */
static int report_finish(bmp__run *run, int rc, bmp_error *err)
{
    if (!run->report)
        return rc;
    char why[sizeof err->text + 64];
    if (rc < 0)
        snprintf(why, sizeof why, "%s",
                 err && err->code ? err->text : bmp_strerror(rc));
    bmp_error scratch = {0};
    int prc = report_write(run, 0, rc < 0 ? why : NULL,
                           rc < 0 ? &scratch : err);
    run->report = NULL;
    return rc < 0 ? rc : prc;
}

/* The run's outlet (run.h): progress to the pipe's callback, and the
 * report page when it is due. */
static void report_progress(bmp__run *run, size_t done, size_t failed,
                            size_t running, int workers, int64_t mem_in_use)
{
    /* A failed rewrite is not the run's failure: the next may work, and
     * the last one, at the end, says. */
    if (run->report && bmp__now() >= run->report->next)
        report_write(run, 1, NULL, NULL);
    if (!run->pipe->progress)
        return;
    /* Other shards' items are in every executor's count of done items
     * (they are skipped as resumed ones are); the caller hears of this
     * shard's items only. */
    done = done > run->outside ? done - run->outside : 0;
    bmp_progress p = {
        .total = run->count - run->outside,
        .done = done,
        .failed = failed,
        .running = running,
        .workers = workers,
        .elapsed_s = bmp__now() - run->started,
        .mem_in_use = mem_in_use,
        .mem_budget = run->mem_budget,
    };
    run->pipe->progress(&p, run->pipe->progress_arg);
}

/* The run's outlet: a finished item goes to the journal. */
static void item_done(bmp__run *run, size_t index)
{
    if (run->report)
        __atomic_store_n(&run->report->final[index], 1, __ATOMIC_RELEASE);
    bmp__journal_record(run, index);
}

/* The library's own keywords and their types: checked before anything
 * runs, so a mistyped setting ("timeout": "0.2") is an error rather than
 * silently ignored. */
typedef enum { KW_NUMBER, KW_BOOL, KW_STRING } kw_type;
static const struct {
    const char *key;
    kw_type type;
} library_keywords[] = {
    {"num_processes", KW_NUMBER},
    {"mem_available", KW_NUMBER},
    {"mem_frac", KW_NUMBER},
    {"process_size", KW_NUMBER},
    {"process_expand_factor", KW_NUMBER},
    {"timeout", KW_NUMBER},
    {"retries", KW_NUMBER},
    {"worker_max_items", KW_NUMBER},
    {"mem_low", KW_NUMBER},
    {"error_if_zero", KW_BOOL},
    {"create_outdir", KW_BOOL},
    {"no_bmp_cleanup", KW_BOOL},
    {"overwrite", KW_BOOL},
    {"fsync", KW_BOOL},
    {"resume", KW_BOOL},
    {"handle_signals", KW_BOOL},
    {"check_outnames", KW_BOOL},
    {"adaptive", KW_BOOL},
    {"enforce", KW_BOOL},
    {"suspend", KW_BOOL},
    {"force_resume", KW_BOOL},
    {"pipeline_id", KW_STRING},
    {"outdir", KW_STRING},
    {"outname_append", KW_STRING},
    {"outname", KW_STRING},
    {"executor", KW_STRING},
    {"journal", KW_STRING},
    {"report", KW_STRING},
    {"read_pout", KW_STRING},
    {"write_pout", KW_STRING},
    {"order", KW_STRING},
    {"shard", KW_STRING},
    {"unknown_keywords", KW_STRING},
};

static int check_keyword_types(const json_t *kw, bmp_error *err)
{
    static const char *const names[] = {"a number", "true or false",
                                        "a string"};
    for (size_t i = 0; i < sizeof library_keywords / sizeof *library_keywords;
         i++) {
        json_t *v = json_object_get(kw, library_keywords[i].key);
        if (!v || json_is_null(v))
            continue;
        int ok = library_keywords[i].type == KW_NUMBER ? json_is_number(v)
                 : library_keywords[i].type == KW_BOOL
                     ? json_is_boolean(v) || json_is_number(v)
                     : json_is_string(v);
        if (!ok)
            return bmp_error_set(err, BMP_EKWTYPE, "keywords", NULL,
                                 "keyword %s must be %s",
                                 library_keywords[i].key,
                                 names[library_keywords[i].type]);
    }
    return 0;
}

/* The `shard` keyword: the other shards' items are marked to be skipped
 * by every executor and left not_run, with an error that names the shard
 * that runs them, so that the pout keeps one entry per item in input
 * order and a merge can tell "another shard's" from "interrupted". */
static int apply_shard(bmp__run *run, bmp_error *err)
{
    const char *text = bmp_kw_str(run->kw, "shard", NULL);
    if (!text)
        return 0;
    if (bmp_shard_parse(text, &run->shard_index, &run->shard_count) < 0)
        return bmp_error_set(err, BMP_EINVAL, "keywords", NULL,
                             "keyword shard must be \"I/N\" with whole "
                             "numbers 0 <= I < N (as \"0/4\"), not \"%s\"",
                             text);
    run->skip = calloc(run->count ? run->count : 1, 1);
    if (!run->skip)
        return bmp_error_set(err, -ENOMEM, "pipeline", NULL, "out of memory");
    for (size_t i = 0; i < run->count; i++) {
        if (bmp__run_in_shard(run, i))
            continue;
        bmp__result *r = &run->results[i];
        char why[64];
        snprintf(why, sizeof why, "item of shard %zu/%zu",
                 i % run->shard_count, run->shard_count);
        if (!(r->error = strdup(why)))
            return bmp_error_set(err, -ENOMEM, "pipeline", NULL,
                                 "out of memory");
        run->skip[i] = 1;
        run->outside++;
    }
    return 0;
}

/* Whether the run can write nothing by the default stages: no_outfile
 * in the post-process list stops it before any write (Python's way to
 * return metadata only), so items with no output cannot collide. */
static int writes_nothing(const bmp__run *run)
{
    if (run->pipe->ops.data_process_meta_create !=
        bmp_default_data_process_meta_create)
        return 0;
    for (size_t i = 0; i < run->post.count; i++)
        if (run->post.steps[i].fn == bmp_no_outfile)
            return 1;
    return 0;
}

/* Whether the default rule's names are the names the items will write:
 * nothing runs between the keywords and the name that could set the
 * meta keys or item keywords outdir, outname_append or outname. */
static int names_settled(const bmp__run *run)
{
    const bmp_ops *ops = &run->pipe->ops;
    return run->pre.count == 0 && run->post.count == 0 &&
           ops->data_process == bmp_default_data_process &&
           ops->data_process_meta_create ==
               bmp_default_data_process_meta_create;
}

/* The run's paths, before anything is opened for writing: outputs
 * (known before the run with the default naming, unless check_outnames
 * is false) against each other and against every input, and the
 * journal and write_pout against all of them (run_paths.h).  When steps
 * may still rename the items (names not settled), two items given one
 * name by the rule are not refused: the item that writes under that name
 * fails during the run, and an output named otherwise is checked then
 * against every input (process.c).  Then the temporaries that killed
 * runs left beside these outputs are removed, by the run's owner only:
 * a helper's check reads and changes nothing, since another process of
 * the run may be writing those temporaries. */
static int check_paths(bmp__run *run, int helper, bmp_error *err)
{
    bmp_pipe *pipe = run->pipe;
    int known = pipe->ops.outname_create == bmp_default_outname_create &&
                pipe->ops.file_process == bmp_default_file_process &&
                bmp_kw_bool(run->kw, "check_outnames", 1) &&
                !writes_nothing(run);
    char **outs = NULL;
    if (known && bmp__run_outputs(run->items, run->kw, &outs) < 0)
        return bmp_error_set(err, -ENOMEM, "outname", NULL, "out of memory");
    if (known && !names_settled(run)) {
        run->names_deferred = 1;
        run->contested = calloc(run->count ? run->count : 1,
                                sizeof *run->contested);
        if (!run->contested) {
            bmp__run_outputs_free(outs, run->count);
            return bmp_error_set(err, -ENOMEM, "outname", NULL,
                                 "out of memory");
        }
    }
    bmp__dead_temps dead = {0};
    /* Every output is checked, the other shards' too (a collision
     * between shards is found before either runs); only this shard's
     * temporaries are removed.  run->skip holds the other shards' items
     * alone here: the journal is read later. */
    int rc = bmp__check_run_paths(run->items, outs, run->kw, NULL, 0,
                                  run->skip, run->contested,
                                  helper ? NULL : &dead, err);
    if (rc == 0)
        bmp__remove_dead_temps(&dead);
    bmp__dead_temps_free(&dead);
    bmp__run_outputs_free(outs, run->count);
    return rc;
}

/* What the `unknown_keywords` keyword asks for a keyword that neither
 * the library nor any step read during the run (doc/keywords.md). */
typedef enum { UNKNOWN_WARN, UNKNOWN_ERROR, UNKNOWN_IGNORE } unknown_mode;

static int unknown_keywords_mode(const json_t *kw, unknown_mode *mode,
                                 bmp_error *err)
{
    const char *v = bmp_kw_str(kw, "unknown_keywords", "warn");
    static const char *const names[] = {"warn", "error", "ignore"};
    for (int m = 0; m < 3; m++)
        if (strcmp(v, names[m]) == 0) {
            *mode = (unknown_mode)m;
            return 0;
        }
    return bmp_error_set(err, BMP_EINVAL, "keywords", NULL,
                         "keyword unknown_keywords must be \"warn\", "
                         "\"error\" or \"ignore\", not \"%s\"",
                         v);
}

/* After the run: the keywords nobody read, warned about once or made the
 * run's error.  Only when an item of this run went through every stage
 * (ok or no_output): the steps that read the program's keywords may
 * not have run at all otherwise (every item failed to read, or was
 * resumed). */
static int report_unread(const bmp__run *run, const bmp__kw_tracker *t,
                         unknown_mode mode, bmp_error *err)
{
    int any_whole = 0;
    for (size_t i = 0; i < run->count && !any_whole; i++)
        any_whole = !(run->skip && run->skip[i]) &&
                    (run->results[i].status == BMP_ITEM_OK ||
                     run->results[i].status == BMP_ITEM_NO_OUTPUT);
    if (!any_whole)
        return 0;
    char list[1024];
    size_t n = bmp__kw_unread(t, list, sizeof list);
    if (n == 0)
        return 0;
    if (mode == UNKNOWN_ERROR)
        return bmp_error_set(err, BMP_EINVAL, "keywords", NULL,
                             "keyword%s read by neither the library nor a "
                             "step of this run: %s (unknown_keywords is "
                             "\"error\")",
                             n > 1 ? "s" : "", list);
    fprintf(stderr,
            "bigmultipipe: warning: keyword%s read by neither the library "
            "nor a step of this run: %s (unknown_keywords \"ignore\" "
            "silences this)\n",
            n > 1 ? "s" : "", list);
    return 0;
}

/* The results array is allocated with room for as many pout entries
 * (RESULT_ROOM), so that collect() can turn it into the pout's entries in
 * place: a run of a million items then never holds both arrays at once
 * (96 bytes an item at the peak). */
#define RESULT_ROOM sizeof(bmp__pout_entry)
_Static_assert(sizeof(bmp__pout_entry) >= sizeof(bmp__result),
               "entries must be at least as large as results");

/* Moves the results into a new pout, which takes over their array.
 * NULL on ENOMEM, with the results untouched. */
static bmp_pout *collect(bmp__run *run)
{
    /* Everything that can fail comes first. */
    for (size_t i = 0; i < run->count; i++) {
        bmp__result *r = &run->results[i];
        if (!r->meta && !r->meta_text && !(r->meta = json_object()))
            return NULL;
    }
    bmp__pout_entry *entries = (bmp__pout_entry *)(void *)run->results;
    bmp_pout *pout = bmp__pout_adopt(entries, run->count);
    if (!pout)
        return NULL;
    /* Entry i starts at or after result i (entries are at least as
     * large) and so after every result before it: from the last item
     * down, each entry overwrites only its own result (copied out first)
     * and results already moved. */
    for (size_t i = run->count; i-- > 0;) {
        bmp__result r = run->results[i];
        entries[i].in_name = json_incref(json_array_get(run->items, i));
        entries[i].r = r;
    }
    run->results = NULL; /* the pout's now */
    return pout;
}

int bmp_pipeline(bmp_pipe *pipe, const json_t *in_names, const json_t *kw,
                 const bmp_step *pre, const bmp_step *post, bmp_pout **pout,
                 bmp_error *err)
{
    if (pout)
        *pout = NULL;
    if (!pipe || !pout)
        return bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                             "bmp_pipeline needs a pipe and a place for the "
                             "pout");
    if (!json_is_array(in_names))
        return bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                             "in_names must be a JSON array of items");
    if (kw && !json_is_object(kw))
        return bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                             "run keywords must be a JSON object");
    for (size_t i = 0; i < json_array_size(in_names); i++) {
        if (!valid_item(json_array_get(in_names, i), 0))
            return bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                                 "in_names[%zu] is neither a file name nor a "
                                 "group of items (nested at most 64 deep)",
                                 i);
    }

    bmp__run run = {.pipe = pipe,
                    .items = in_names,
                    .count = json_array_size(in_names),
                    .started = bmp__now(),
                    .mem_budget = -1,
                    .journal_fd = -1,
                    .outlet = {item_done, report_progress},
                    .inputs_lock = PTHREAD_MUTEX_INITIALIZER};
    /* A helper of a run owned by another process (bmp_executor.role):
     * the owner journals, resumes, cleans up and reports progress. */
    int helper = pipe->executor.run &&
                 pipe->executor.role == BMP_EXECUTOR_HELPER;
    if (helper)
        run.outlet.progress = NULL;
    bmp__interrupt_guard guard = {0};
    bmp__kw_tracker tracker;
    unknown_mode unknown = UNKNOWN_WARN;
    int tracking = 0;
    struct bmp__live_report live_report = {0};
    int rc = 0;
    run.kw = bmp_kw_merge(pipe->kw, kw);
    if (!run.kw || append_steps(&run.pre, &pipe->pre, pre) ||
        append_steps(&run.post, &pipe->post, post)) {
        rc = bmp_error_set(err, -ENOMEM, "pipeline", NULL, "out of memory");
        goto out;
    }
    run.results = calloc(run.count ? run.count : 1, RESULT_ROOM);
    if (!run.results) {
        rc = bmp_error_set(err, -ENOMEM, "pipeline", NULL,
                           "out of memory for %zu results", run.count);
        goto out;
    }
    for (size_t i = 0; i < run.count; i++) {
        run.results[i].status = BMP_ITEM_NOT_RUN;
        bmp__stats_init(&run.results[i].stats);
    }
    /* A resumed run re-runs items whose outputs may exist from the run
     * that was cut short: those are its own, complete (written
     * atomically), and safe to replace. */
    if (bmp_kw_bool(run.kw, "resume", 0) && !bmp_kw_has(run.kw, "overwrite") &&
        bmp_kw_set_bool(run.kw, "overwrite", 1) < 0) {
        rc = bmp_error_set(err, -ENOMEM, "pipeline", NULL, "out of memory");
        goto out;
    }
    rc = check_keyword_types(run.kw, err);
    if (rc < 0)
        goto out;
    rc = unknown_keywords_mode(run.kw, &unknown, err);
    if (rc < 0)
        goto out;
    rc = apply_shard(&run, err);
    if (rc < 0)
        goto out;
    rc = check_paths(&run, helper, err);
    if (rc < 0)
        goto out;
    rc = helper ? 0 : bmp__journal_open(&run, err);
    if (rc < 0)
        goto out;
    rc = helper ? 0 : report_open(&run, &live_report, err);
    if (rc < 0)
        goto out;

    const char *name = bmp_kw_str(run.kw, "executor", "process");
    const bmp__executor *executor = executor_find(name);
    /* "mpi" names the executor of libbigmultipipe-mpi, which only the
     * setter can give (the core does not link MPI): with a user's
     * executor set, the keyword says what runs; without, how to set it. */
    if (!executor && strcmp(name, "mpi") == 0 && !pipe->executor.run) {
        rc = bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                           "executor \"mpi\" is set with bmp_mpi_executor() "
                           "and bmp_pipe_set_executor() "
                           "(<bigmultipipe/mpi.h>, libbigmultipipe-mpi)");
        goto out;
    }
    if (!executor && !(strcmp(name, "mpi") == 0 && pipe->executor.run)) {
        rc = bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                           "unknown executor \"%s\" (process or serial)",
                           name);
        goto out;
    }
    /* A shard with no items (12/13 of 10 items): nothing to run, no
     * worker to start; the pout is still whole, every item another
     * shard's. */
    int empty_shard = run.shard_count && run.outside == run.count;
    int workers = 1;
    if (run.count > 0 && !empty_shard) {
        /* The shard's items only: the others never run here. */
        workers = bmp_num_can_process(run.count - run.outside, run.kw, err);
        if (workers < 0) {
            rc = workers;
            goto out;
        }
        /* error_if_zero false and no worker fits: run one at a time
         * rather than not at all. */
        if (workers == 0)
            workers = 1;
    }
    /* Only the caller handles interrupts: workers ignore SIGINT, and a
     * nested pipeline's caller is a worker. */
    if (bmp_kw_bool(run.kw, "handle_signals", 1) && !bmp__in_worker()) {
        rc = bmp__interrupt_install(&guard);
        if (rc < 0) {
            bmp_error_set(err, rc, "pipeline", NULL,
                          "cannot install signal handlers: %s",
                          bmp_strerror(rc));
            goto out;
        }
    }
    for (size_t i = 0; run.skip && i < run.count; i++)
        run.resumed += run.skip[i];
    bmp__report_progress(&run, run.resumed, 0, 0, 0, -1);
    /* Reads are seen in this process and the workers it forks; a user's
     * executor may run items anywhere, and a helper's run is its
     * owner's to judge. */
    if (unknown != UNKNOWN_IGNORE && !pipe->executor.run) {
        rc = bmp__kw_track_begin(&tracker, run.kw);
        if (rc < 0) {
            bmp_error_set(err, rc, "pipeline", NULL, "out of memory");
            goto out;
        }
        tracking = 1;
    }
    if (empty_shard)
        rc = 0;
    else if (pipe->executor.run)
        rc = pipe->executor.run(&run, workers, pipe->executor.arg, err);
    else
        rc = executor->run(&run, workers, err);
    if (rc == 0 && bmp__interrupted())
        rc = bmp_error_set(err, BMP_EINTERRUPTED, "schedule", NULL,
                           "interrupted by SIG%s",
                           sigabbrev_np(bmp__interrupted()));
    if (rc == 0 && run.journal_error)
        rc = bmp_error_set(err, run.journal_error, "journal",
                           bmp_kw_str(run.kw, "journal", NULL),
                           "cannot append to the journal: %s",
                           bmp_strerror(run.journal_error));
    int unread_error = 0;
    if (rc == 0 && tracking) {
        rc = report_unread(&run, &tracker, unknown, err);
        unread_error = rc < 0;
    }
    /* Interrupted, no worker could be started, the journal failed, or
     * keywords nobody read with unknown_keywords "error": the items that
     * finished are still the caller's, so the pout is returned with the
     * error. */
    int partial = rc == BMP_EINTERRUPTED || rc == BMP_ENOWORKER ||
                  (rc < 0 && rc == run.journal_error) || unread_error;
    if (rc < 0 && !partial)
        goto out;
    size_t failed = 0;
    for (size_t i = 0; i < run.count; i++)
        failed += bmp__status_is_failure(run.results[i].status);
    /* The last page, from every result, before the pout takes them. */
    rc = report_finish(&run, rc, err);
    bmp__report_progress(&run, run.count, failed, 0, 0, -1);
    *pout = collect(&run);
    if (!*pout)
        rc = bmp_error_set(err, -ENOMEM, "pipeline", NULL, "out of memory");
out:
    /* Every error after the first live page: the page says the run
     * stopped, not that it goes on. */
    if (run.report)
        rc = report_finish(&run, rc, err);
    if (tracking)
        bmp__kw_track_end(&tracker);
    bmp__interrupt_restore(&guard);
    free(live_report.final);
    run_clear(&run);
    return rc;
}

int bmp_pipeline_cached(bmp_pipe *pipe, const json_t *in_names,
                        const json_t *kw, const bmp_step *pre,
                        const bmp_step *post, bmp_pout **pout, bmp_error *err)
{
    if (pout)
        *pout = NULL;
    if (!pipe || !pout)
        return bmp_error_set(err, BMP_EINVAL, "pipeline", NULL,
                             "bmp_pipeline_cached needs a pipe and a place "
                             "for the pout");
    json_t *merged = bmp_kw_merge(pipe->kw, kw);
    if (!merged)
        return bmp_error_set(err, -ENOMEM, "pipeline", NULL, "out of memory");
    /* The cache is the owner's: a helper (a rank of an MPI job) neither
     * returns it instead of running -- the owner decides that, and its
     * helpers must take part -- nor writes its partial pout over it. */
    int helper = pipe->executor.run && pipe->executor.version >= 2 &&
                 pipe->executor.role == BMP_EXECUTOR_HELPER;
    const char *read_path = helper ? NULL
                                   : bmp_kw_str(merged, "read_pout", NULL);
    if (read_path && *read_path && bmp_pout_read(read_path, pout, NULL) == 0) {
        json_decref(merged);
        /* An owner whose executor has helpers lets them go: they are
         * waiting in their own call for a run that will not come. */
        int owner = pipe->executor.run && pipe->executor.version >= 2 &&
                    pipe->executor.role == BMP_EXECUTOR_OWNER;
        if (owner) {
            int rc = pipe->executor.run(NULL, 0, pipe->executor.arg, err);
            if (rc < 0) {
                bmp_pout_free(*pout);
                *pout = NULL;
                return rc;
            }
        }
        return 0;
    }
    int rc = bmp_pipeline(pipe, in_names, kw, pre, post, pout, err);
    const char *write_path = helper ? NULL
                                    : bmp_kw_str(merged, "write_pout", NULL);
    if (rc == 0 && write_path && *write_path) {
        if (bmp_kw_bool(merged, "create_outdir", 0)) {
            rc = bmp_mkdir_parents_of(write_path);
            if (rc < 0)
                bmp_error_set(err, rc, "write_pout", write_path,
                              "cannot create the directory of %s: %s",
                              write_path, bmp_strerror(rc));
        }
        if (rc == 0)
            rc = bmp_pout_write(*pout, write_path, err);
        if (rc < 0) {
            bmp_pout_free(*pout);
            *pout = NULL;
        }
    }
    json_decref(merged);
    return rc;
}
