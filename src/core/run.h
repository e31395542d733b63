/*
 * run.h -- the structures behind the opaque handles, shared by the pipe,
 * the per-item runner, the executors, the journal and the pipeline.
 *
 * A bmp_pipe holds what was given at construction.  Each bmp_pipeline()
 * call makes a bmp__run: the merged keywords and the concatenated step
 * lists, fixed for the whole run.  Each item gets a bmp_item that reads
 * the run's keywords until a step asks for them, and then its own copy
 * (pre-process steps may change them for that item only), and its own
 * meta object.  The item's outcome is a bmp__result,
 * the only thing that crosses from a worker back to the caller.
 */
#ifndef BMP_RUN_H
#define BMP_RUN_H

#include "bigmultipipe.h"
#include "result.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct bmp__step_list {
    bmp_step *steps;
    size_t count;
    size_t cap;
    int owns_names; /* construction lists own their name copies */
} bmp__step_list;

struct bmp_pipe {
    bmp_ops ops; /* every entry filled: NULLs replaced by the defaults */
    void *user;
    json_t *kw;
    bmp__step_list pre;
    bmp__step_list post;
    bmp_executor executor; /* user executor; run == NULL: by keyword */
    bmp_progress_fn progress;
    void *progress_arg;
};

/* An input file by device and inode, and the item that reads it. */
typedef struct bmp__inode {
    dev_t dev;
    ino_t ino;
    size_t item;
} bmp__inode;

/* The run's input files, sorted by (dev, ino) (run_paths.h). */
typedef struct bmp__inodes {
    bmp__inode *all;
    size_t count, cap;
} bmp__inodes;

typedef struct bmp_run bmp__run;

struct bmp_run {
    bmp_pipe *pipe;
    const json_t *items; /* borrowed array */
    size_t count;
    json_t *kw;         /* merged construction < run; owned */
    bmp__step_list pre; /* construction then run steps; names borrowed */
    bmp__step_list post;
    bmp__result *results; /* count entries, filled by the executor */
    double started;       /* bmp__now() at the start */
    unsigned char *skip;  /* items resumed from the journal, and items of
                             other shards; may be NULL */
    /* The `shard` keyword "I/N": this run's items are those whose index
     * i has i % shard_count == shard_index.  shard_count 0: no shard.
     * `outside` counts the others, which are in `skip` as well, so that
     * every executor leaves them alone without knowing of shards. */
    size_t shard_index, shard_count, outside;
    int journal_fd;     /* -1: no journal */
    int journal_error;  /* first failed journal write, or 0 */
    int64_t mem_budget; /* bytes for all workers; -1 when unlimited */
    /* Output names checked during the run (names_deferred): the names
     * the default rule gives were checked before it against every input,
     * but pre-process steps or meta may still change them.  `contested`
     * (NULL: none): per item, 1 + another item given the same default
     * name; an item that writes under it fails.  `inputs`: every input
     * by inode, against which an output named otherwise is checked;
     * gathered in each process on first need (a stat() per input, only
     * when such an output exists), under inputs_lock. */
    int names_deferred;
    size_t *contested;
    bmp__inodes inputs;
    int inputs_state; /* 0 not gathered, 1 gathered, -ENOMEM */
    pthread_mutex_t inputs_lock;
    /* Items finished through the public functions (bmp_run_item,
     * bmp_run_set_result), counted atomically for their progress
     * reports; `resumed` items count as finished from the start. */
    size_t user_done, user_failed, resumed;
    /* Where results leave the executor, set by the pipeline that owns
     * the run: the journal, the progress callback.  An executor calls
     * them through bmp__item_final() and bmp__report_progress() and so
     * never names the layer above it. */
    /* The `report` keyword's page, rewritten as the run goes
     * (pipeline.c), or NULL. */
    struct bmp__live_report *report;
    struct {
        void (*item_done)(bmp__run *run, size_t index);
        void (*progress)(bmp__run *run, size_t done, size_t failed,
                         size_t running, int workers, int64_t mem_in_use);
    } outlet;
};

struct bmp_item {
    bmp__run *run;
    size_t index;
    const json_t *in_name;
    /* The item's own copy of run->kw, made when a step first asks for it
     * (bmp_item_kw), installed atomically: two threads of one item may
     * ask at once.  NULL until then. */
    json_t *kw;
    int kw_failed; /* the copy could not be made: the item fails */
    json_t *meta;
    int code;
    char *error;
    /* What the processes the item waited for used (bmp_item_add_child_usage):
     * CPU seconds summed, the largest peak resident memory. */
    double child_cpu_s;
    int64_t child_peak_rss;
};

/* The item's keywords, to read: its own copy when a step made one, else
 * the run's (item.c).  Reading them must not make the copy: most items
 * never change their keywords, and copying them for each item was a
 * measurable part of a short item's cost. */
const json_t *bmp__item_kw_view(const bmp_item *item);

/* 1 when item `index` belongs to the run's shard (every item without
 * one). */
static inline int bmp__run_in_shard(const bmp__run *run, size_t index)
{
    return run->shard_count == 0 ||
           index % run->shard_count == run->shard_index;
}

/* step lists (pipe.c) */
int bmp__step_list_append(bmp__step_list *list, bmp_step_fn fn, void *arg,
                          const char *name);
void bmp__step_list_clear(bmp__step_list *list);

/* Runs item `index` of `run` in this process and fills `out` (item.c).
 * Never fails: every failure is described in `out`.  The item's CPU time
 * is measured from this process's getrusage() at its start and its end.
 * `usage`, when not NULL, brings the start in usage[0] (a worker's meter
 * takes it, or reuses the last item's end) and receives the end in
 * usage[1], which the meter reuses for the memory peak instead of asking
 * the kernel again; with NULL both are taken here.  `child_peak`, when
 * not NULL, receives the largest peak resident memory of the processes
 * the item waited for (bmp_item_add_child_usage), 0 when none: the
 * executor that measures the worker's peak adds it to peak_rss, since
 * those processes held their memory beside the worker's. */
void bmp__run_item(bmp__run *run, size_t index, bmp__result *out,
                   struct rusage *usage, int64_t *child_peak);

/* Reads an item or a member of a group: a name through file_read, a
 * group into a bmp_list of its members (fileio.c). */
int bmp__read_member(bmp_item *item, const json_t *member, void **data);
/* Checks the item's writing keywords (create_outdir, overwrite, fsync;
 * meta overriding the keywords: a value that is neither a bool nor a
 * number fails the item with BMP_EKWTYPE), then creates the directory of
 * `outname` when create_outdir is true; records the failure on the item
 * (fileio.c).  Every library writer calls it before writing. */
int bmp__prepare_outdir(bmp_item *item, const char *outname);

/* An item has its final result: out through the run's outlet (the
 * pipeline journals it).  Every executor calls this once per item it
 * ran. */
static inline void bmp__item_final(bmp__run *run, size_t index)
{
    if (run->outlet.item_done)
        run->outlet.item_done(run, index);
}

/* Reports progress through the run's outlet (the pipe's callback). */
static inline void bmp__report_progress(bmp__run *run, size_t done,
                                        size_t failed, size_t running,
                                        int workers, int64_t mem_in_use)
{
    if (run->outlet.progress)
        run->outlet.progress(run, done, failed, running, workers, mem_in_use);
}

/* Puts `r`, a whole result made elsewhere (a pout line read back), in
 * as item `index`'s, with the checks and the outlet of
 * bmp_run_set_result() (item.c): in range, this shard's, not finished,
 * a result a worker could send.  A failure without a code gets
 * BMP_ESTEP.  @return 0 with `r` taken (emptied), or a negative error
 * with `err` filled and `r` left to the caller. */
int bmp__run_set_final(bmp__run *run, size_t index, bmp__result *r,
                       bmp_error *err);

/* The item's commit flags for atomic_file.h (fsync, and no replace
 * unless overwrite), from its keywords with meta winning (fileio.c). */
unsigned bmp__atomic_flags_for(bmp_item *item);

/* Records a failed write on the item with a message that says what to
 * do: -EEXIST (overwrite), -ENOENT (create_outdir).  Returns rc. */
int bmp__write_failed(bmp_item *item, const char *outname, int rc);

#endif
