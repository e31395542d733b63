/*
 * bigmultipipe.h -- parallel pipelines over large files.
 *
 * The library runs a user's read -> pre-process -> process -> post-process
 * -> write code over many input files, one item per worker process, and
 * returns one (outname, meta) pair per item in input order.  Only names
 * and small metadata travel between processes; the data begin and end on
 * disk.  Three streams:
 *
 *   data      read and written by the item's own worker (bmp_ops)
 *   control   keywords, a JSON object: construction < run < pre-process
 *   metadata  a JSON object per item, returned in the pout
 *
 * Conventions used by every function below
 * -----------------------------------------
 * Errors:     functions returning int give 0 (or a documented count) on
 *             success and a negative code on failure: -errno for system
 *             failures, BMP_E* (below) for the library's own.  Pass the
 *             code to bmp_strerror().  Functions that take a `bmp_error *`
 *             also fill it (when non-NULL) with the file and stage that
 *             failed; the first error written wins.
 * Ownership:  "new reference" -- the caller frees it; "borrowed" -- valid
 *             until the stated event, do not free; "steals" -- the call
 *             takes ownership even when it fails.  JSON values are jansson
 *             json_t and follow jansson's reference counting.
 * Threads:    a bmp_pipe may be used by one thread at a time.  Distinct
 *             pipes may run in distinct threads.  Functions marked
 *             "worker-safe" may be called from inside a step, that is in a
 *             worker process, including bmp_pipeline() itself (nested
 *             pipelines).  See doc/threads-and-fork.md.
 * Fork:       the process executor forks; steps run in children of the
 *             calling process.  The library installs no signal handler
 *             and touches no global state except during bmp_pipeline(),
 *             which reaps only the children it started.
 */
#ifndef BIGMULTIPIPE_H
#define BIGMULTIPIPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BMP_STATIC)
#define BMP_API
#elif defined(BMP_BUILDING_LIBRARY)
#define BMP_API __attribute__((visibility("default")))
#else
#define BMP_API
#endif

#if defined(__GNUC__)
#define BMP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define BMP_PRINTF(fmt, args)
#endif

/* ====================================================================== */
/*  Version                                                               */
/* ====================================================================== */

#define BMP_VERSION_MAJOR 0
#define BMP_VERSION_MINOR 1
#define BMP_VERSION_PATCH 0
#define BMP_VERSION_NUMBER \
    (BMP_VERSION_MAJOR * 10000 + BMP_VERSION_MINOR * 100 + BMP_VERSION_PATCH)

/*! bmp_version_number() : the BMP_VERSION_NUMBER the library was built as.
 *  Compare with the header's to detect a mismatched shared library. */
BMP_API unsigned bmp_version_number(void);
/*! bmp_version_string() : "MAJOR.MINOR.PATCH"; static storage. */
BMP_API const char *bmp_version_string(void);

/* ====================================================================== */
/*  Errors                                                                */
/* ====================================================================== */

/* The library's own codes.  Values are appended, never reused. */
#define BMP_ERROR_MAP(XX)                                                \
    XX(EINVAL, -30001, "invalid argument")                               \
    XX(EKWTYPE, -30002, "keyword has the wrong type")                    \
    XX(ENOMEM_BUDGET, -30003, "memory budget too small for one process") \
    XX(ENOOUTNAME, -30004, "no output name can be made for this item")   \
    XX(ESTEP, -30005, "a processing step failed")                        \
    XX(ECRASH, -30006, "worker process crashed")                         \
    XX(ETIMEOUT, -30007, "item timed out")                               \
    XX(EPROTO, -30008, "malformed message from a worker")                \
    XX(EFORMAT, -30009, "malformed file")                                \
    XX(EUNSUPPORTED, -30010, "unsupported feature of a file format")     \
    XX(EINTERRUPTED, -30011, "run interrupted")                          \
    XX(ENOITEMS, -30012, "no items to process")                          \
    XX(EPOUT, -30013, "malformed pout file")                             \
    XX(EFITS, -30014, "FITS library error")                              \
    XX(ENOWORKER, -30015, "no worker process could be started")

typedef enum bmp_errcode {
#define BMP__ERR_ENUM(name, value, text) BMP_##name = (value),
    BMP_ERROR_MAP(BMP__ERR_ENUM)
#undef BMP__ERR_ENUM
} bmp_errcode;

/*! bmp_strerror() : text for any code this library returns (its own or
 *  -errno).  Static storage, or thread-local storage for unknown codes;
 *  never NULL.  Thread-safe. */
BMP_API const char *bmp_strerror(int code);
/*! bmp_err_name() : "BMP_EINVAL", "ENOENT", ... ; "UNKNOWN" otherwise. */
BMP_API const char *bmp_err_name(int code);

/* Rich context for one failure, filled by the callee; the caller owns the
 * storage (usually on the stack).  Once `code` is non-zero, later errors
 * are not recorded: the first cause is the one reported. */
typedef struct bmp_error {
    int code;         /* 0 = no error yet */
    char stage[24];   /* "read", "pre_process", "write", "schedule", ... */
    char source[512]; /* the file concerned, or "" */
    char text[512];   /* human-readable message, in the one style of
                         every message of the library: a lowercase phrase
                         without a final period ("cannot open %s: %s") */
} bmp_error;

/*! bmp_error_set() : records an error in `err` (if non-NULL and empty) and
 *  returns `code`, so that `return bmp_error_set(err, ...)` reads well.
 *  `source` may be NULL.  Worker-safe. */
BMP_API int bmp_error_set(bmp_error *err, int code, const char *stage,
                          const char *source, const char *fmt, ...)
    BMP_PRINTF(5, 6);

/* ====================================================================== */
/*  Keywords: the control stream                                          */
/* ====================================================================== */
/*
 * Keywords are a JSON object.  A key absent or set to JSON null is "not
 * given", as Python's None.  The getters below return the value, or the
 * default when the key is not given or has an unusable type; the _get
 * forms tell the cases apart.  All are worker-safe.  During a run, each
 * call marks the key it reads as read (in the caller, and in the workers
 * forked by the library's executors), so that the run can name the
 * keywords nobody read (the unknown_keywords keyword, doc/keywords.md).
 */

/*! bmp_kw_get_real() : *out = number at `key` (integer or real).
 *  @return 1 if given, 0 if not given (*out untouched), BMP_EKWTYPE if
 *          present with another type. */
BMP_API int bmp_kw_get_real(const json_t *kw, const char *key, double *out);
/*! bmp_kw_get_int() : as bmp_kw_get_real(); a real must be integral. */
BMP_API int bmp_kw_get_int(const json_t *kw, const char *key, long long *out);
/*! bmp_kw_get_bool() : true/false; numbers count as their truth value. */
BMP_API int bmp_kw_get_bool(const json_t *kw, const char *key, int *out);
/*! bmp_kw_get_str() : *out borrowed from `kw`, valid while the key is
 *  unchanged. */
BMP_API int bmp_kw_get_str(const json_t *kw, const char *key,
                           const char **out);

BMP_API double bmp_kw_real(const json_t *kw, const char *key, double dflt);
BMP_API long long bmp_kw_int(const json_t *kw, const char *key,
                             long long dflt);
BMP_API int bmp_kw_bool(const json_t *kw, const char *key, int dflt);
/*! bmp_kw_str() : borrowed, as bmp_kw_get_str(); `dflt` when not given. */
BMP_API const char *bmp_kw_str(const json_t *kw, const char *key,
                               const char *dflt);
/*! bmp_kw_has() : 1 when `key` is given (present and not null). */
BMP_API int bmp_kw_has(const json_t *kw, const char *key);

/* Setters: 0, or -ENOMEM / BMP_EINVAL (kw not an object). */
BMP_API int bmp_kw_set_real(json_t *kw, const char *key, double value);
BMP_API int bmp_kw_set_int(json_t *kw, const char *key, long long value);
BMP_API int bmp_kw_set_bool(json_t *kw, const char *key, int value);
BMP_API int bmp_kw_set_str(json_t *kw, const char *key, const char *value);

/*! bmp_kw_merge() : a new object: `base` with every key of `over` set over
 *  it (over wins; a null in `over` sets null, i.e. "not given").  Either
 *  may be NULL.  @return new reference, NULL on allocation failure. */
BMP_API json_t *bmp_kw_merge(const json_t *base, const json_t *over);

/*! bmp_shard_parse() : reads the `shard` keyword's text "I/N" (decimal
 *  digits only, 0 <= I < N, N >= 1) into *index = I and *count = N
 *  (either may be NULL).  A run with that keyword runs the items whose
 *  position p in in_names has p % N == I (doc/scale-out.md).
 *  @return 0, or BMP_EINVAL for any other text (outputs untouched).
 *  Thread-safe. */
BMP_API int bmp_shard_parse(const char *text, size_t *index, size_t *count);

/* ====================================================================== */
/*  Items and data                                                        */
/* ====================================================================== */
/*
 * An item of in_names is a JSON string (one file) or a JSON array of items
 * (a group, processed as one unit by one worker; groups nest).
 *
 * Data are `void *` owned by the pipeline while an item runs, freed with
 * bmp_ops.data_free.  The library's own data types below start with a
 * bmp_object header, so the default data_free frees any of them.
 */

typedef struct bmp_object {
    void (*destroy)(void *self); /* frees the whole object */
} bmp_object;

/* A file's bytes (default file_read / file_write). */
typedef struct bmp_buffer {
    bmp_object obj;
    size_t size;
    unsigned char *bytes;
} bmp_buffer;

/* The data of a group: one element per member, in order.  Elements are
 * freed with the pipe's data_free when the list is destroyed. */
typedef struct bmp_list {
    bmp_object obj;
    size_t count;
    void **elements;
    void (*element_free)(void *element, void *user);
    void *user;
} bmp_list;

/*! bmp_buffer_new() : a buffer of `size` zeroed bytes.
 *  @return new object (free with bmp_object_free), NULL on ENOMEM. */
BMP_API bmp_buffer *bmp_buffer_new(size_t size);
/*! bmp_list_new() : a list of `count` NULL elements; `element_free(e,
 *  user)` frees each non-NULL element on destruction (NULL: not freed). */
BMP_API bmp_list *
bmp_list_new(size_t count, void (*element_free)(void *, void *), void *user);
/*! bmp_object_free() : calls the object's destroy; NULL is a no-op.
 *  `user` is ignored; the signature fits bmp_ops.data_free. */
BMP_API void bmp_object_free(void *object, void *user);

/*! bmp_names_new() : a JSON array of `n` file-name strings, each item one
 *  file.  Names need not be UTF-8; bytes are kept exactly.
 *  @return new reference, NULL on ENOMEM. */
BMP_API json_t *bmp_names_new(size_t n, const char *const names[]);

/* ====================================================================== */
/*  The per-item context                                                  */
/* ====================================================================== */

typedef struct bmp_pipe bmp_pipe;
typedef struct bmp_item bmp_item;

/*! bmp_item_in_name() : the item, a JSON string or (group) array.
 *  Borrowed: valid during the item's run. */
BMP_API const json_t *bmp_item_in_name(const bmp_item *item);
/*! bmp_item_name() : the file name of a single-file item; NULL for a
 *  group.  Borrowed, as above. */
BMP_API const char *bmp_item_name(const bmp_item *item);
/*! bmp_item_index() : the item's position in in_names. */
BMP_API size_t bmp_item_index(const bmp_item *item);
/*! bmp_item_kw() : this item's keywords (construction < run < what the
 *  pre-process steps set).  Borrowed; steps may change it, and changes
 *  hold for the rest of this item only.  The item's own copy is made at
 *  the first call (items whose steps never ask cost no copy); threads of
 *  one item may call it at once and get the same object.  NULL only when
 *  memory for the copy runs out, and then the item fails with -ENOMEM
 *  whatever its steps return. */
BMP_API json_t *bmp_item_kw(bmp_item *item);
/*! bmp_item_meta() : this item's metadata object, returned in the pout.
 *  Borrowed; steps may change it. */
BMP_API json_t *bmp_item_meta(bmp_item *item);
/*! bmp_item_user() : the `user` pointer given to bmp_pipe_new(). */
BMP_API void *bmp_item_user(const bmp_item *item);
/*! bmp_item_pipe() : the pipe running this item.  Borrowed. */
BMP_API bmp_pipe *bmp_item_pipe(const bmp_item *item);
/*! bmp_item_data_free() : frees `data` with the pipe's data_free; for a
 *  step that replaces its data. */
BMP_API void bmp_item_data_free(bmp_item *item, void *data);
/*! bmp_item_fail() : records why this item failed (first message wins)
 *  and returns `code` (BMP_ESTEP when 0 or positive), so a step can end
 *  with `return bmp_item_fail(item, 0, "bad header in %s", name);`. */
BMP_API int bmp_item_fail(bmp_item *item, int code, const char *fmt, ...)
    BMP_PRINTF(3, 4);

/*! bmp_item_track_group() : the process group `pgid` belongs to this item:
 *  should the item's worker die before the item ends (a crash, a
 *  time-out, an interrupt, a kill from outside), the caller kills that
 *  group too (SIGKILL to -pgid), so that nothing the item started
 *  outlives it.  For a step that starts processes in a group of their own
 *  (setpgid(0, 0) in the child, and setpgid(pid, pid) in the step, which
 *  closes the race), e.g. to run a program that may signal its own group
 *  (`kill 0`) without hitting the worker.  Processes a step starts
 *  without a group of their own are in the worker's group, which the
 *  caller kills whenever its worker ends, without this call.
 *
 *  The group is recorded in a page the worker shares with its caller,
 *  forgotten when the item ends (whether or not it was untracked), and
 *  read by the caller only after the worker is dead.  Call
 *  bmp_item_untrack_group() once the group is gone, and before the last
 *  process of the group is reaped (e.g. after waitid(..., WNOWAIT), or
 *  after killing the group): once it is reaped the system may give the
 *  same number to a new group, and a worker that died between the reap
 *  and the untrack would have its caller kill that stranger.  That window
 *  is the remaining risk; the caller kills a dead worker's groups at once
 *  after its death is seen, to keep it short.
 *
 *  Thread-safe within a worker (the threads of one item may track and
 *  untrack at once).  Outside a worker (the serial executor, a user
 *  executor, no pipeline at all) it records nothing and returns 0: there
 *  is no caller to do the killing.
 *  @return 0; BMP_EINVAL (no item, pgid <= 1); -ENOSPC when the shared
 *          page is full (an item that tracks thousands of groups at once:
 *          the group is not tracked). */
BMP_API int bmp_item_track_group(bmp_item *item, pid_t pgid);
/*! bmp_item_untrack_group() : the group `pgid`, tracked before, is gone
 *  (or no longer the item's): it is not killed should the worker die.
 *  Untracking a group never tracked does nothing.  Thread-safe within a
 *  worker, as above. */
BMP_API void bmp_item_untrack_group(bmp_item *item, pid_t pgid);
/*! bmp_item_add_child_usage() : a process the step started and waited
 *  for used `cpu_s` seconds of CPU (user + system) and at most `peak_rss`
 *  resident bytes (-1 unknown): what wait4() gives, ru_maxrss times 1024.
 *  The worker's own measurement (getrusage of itself) leaves such a
 *  process out, so without this call a step that runs a 100 MiB program
 *  shows the worker's few MiB.  The CPU time is added to the item's
 *  cpu_s; the largest peak of the item's processes is added to its
 *  peak_rss in the process executor (the process held that memory beside
 *  the worker's), so estimates, `adaptive` and memory retries see it.
 *  Processes are taken to run one after another; a step that runs
 *  several at once reports their sum.  Call it from the item's own
 *  step (not thread-safe within an item).
 *  @return 0; BMP_EINVAL (no item, a negative or NaN cpu_s). */
BMP_API int bmp_item_add_child_usage(bmp_item *item, double cpu_s,
                                     int64_t peak_rss);

/* ====================================================================== */
/*  Steps: pre- and post-process lists                                    */
/* ====================================================================== */
/*
 * A step gets the item's data by reference.  It may change them in place
 * or replace them: then it frees the old data (bmp_item_data_free) and
 * stores the new in *data.  Storing NULL is Python's "return None".
 *
 * Return:
 *   BMP_CONTINUE   go on with *data (NULL data: as BMP_STOP)
 *   BMP_REJECT     pre-process: the item ends as (none, {}); post-process:
 *                  as BMP_STOP
 *   BMP_STOP       post-process: stop the list, write nothing, keep meta;
 *                  pre-process: as BMP_REJECT
 *   negative       an error: the item fails with that code (and the
 *                  message given to bmp_item_fail(), if any)
 * The library frees whatever data remain after the item ends.
 * A pre-process step adds or overrides keywords with the bmp_kw_set_*
 * functions on bmp_item_kw(item).
 */
enum { BMP_CONTINUE = 0, BMP_REJECT = 1, BMP_STOP = 2 };

typedef int (*bmp_step_fn)(bmp_item *item, void **data, void *arg);

/* One step of a list: fn with its own argument.  Arrays of steps passed
 * to bmp_pipeline() end with an entry whose fn is NULL. */
typedef struct bmp_step {
    bmp_step_fn fn;
    void *arg;
    const char *name; /* for messages; may be NULL */
} bmp_step;

/*! bmp_no_outfile() : a post-process step that stops the list, so the
 *  item returns metadata only.  Put it last. */
BMP_API int bmp_no_outfile(bmp_item *item, void **data, void *arg);

/*! bmp_multi_proc() : lifts a per-element step to group data.  Use as a
 *  step with `arg` pointing to the bmp_step to apply (it must outlive the
 *  run).  On a bmp_list it applies that step to every element, recursing
 *  into nested lists; on other data it applies it directly.  An element
 *  that becomes NULL stays NULL; any negative return ends with it. */
BMP_API int bmp_multi_proc(bmp_item *item, void **data, void *arg);

/* ====================================================================== */
/*  Metadata helpers                                                      */
/* ====================================================================== */

/*! bmp_cleanup() : marks `keys` (NULL-terminated) of `meta` for removal
 *  after the post-process list, so post steps can share large values that
 *  never reach the caller.  The registry is meta["bmp_cleanup_list"], also
 *  removed then (unless the keyword no_bmp_cleanup is true).
 *  @return 0, -ENOMEM, BMP_EINVAL.  Worker-safe. */
BMP_API int bmp_cleanup(json_t *meta, const char *const keys[]);
/*! bmp_multi_logging() : appends the formatted message to the list
 *  meta[level], creating it.  @return 0, -ENOMEM, BMP_EINVAL. */
BMP_API int bmp_multi_logging(json_t *meta, const char *level, const char *fmt,
                              ...) BMP_PRINTF(3, 4);

/* ====================================================================== */
/*  Operations: the "subclass"                                            */
/* ====================================================================== */
/*
 * A table of operations.  Every entry left NULL takes the library's
 * default, as a Python subclass inherits; the defaults are exported as
 * bmp_default_* so an override can call "super".  All return 0 or a
 * negative error unless stated otherwise.
 */
typedef struct bmp_ops {
    /* Set to BMP_OPS_VERSION; 0 is read as the current version.  Lets the
     * table grow without breaking programs built against an older one. */
    unsigned version;

    /* Reads one file into *data.  NULL *data: the item ends as (none, {}).
     * The default reads the file's bytes into a bmp_buffer; for a group,
     * the library calls file_read once per member into a bmp_list. */
    int (*file_read)(bmp_item *item, const char *in_name, void **data);

    /* Runs the pre-process list.  Return as a step. */
    int (*pre_process)(bmp_item *item, void **data);

    /* The primary processing step.  Default: no change. */
    int (*data_process)(bmp_item *item, void **data);

    /* Processing plus metadata.  Default: data_process, then (data not
     * NULL) post_process.  An override fills bmp_item_meta(item); NULL
     * *data afterwards means nothing is written but meta is kept. */
    int (*data_process_meta_create)(bmp_item *item, void **data);

    /* Runs the post-process list.  Return as a step. */
    int (*post_process)(bmp_item *item, void **data);

    /* Proposes the output name: *outname = malloc'd string.  Default:
     * SPEC.md's rules (see bmp_outname_create). */
    int (*outname_create)(bmp_item *item, char **outname);

    /* Writes `data` to `outname` (or another name: then *written =
     * malloc'd name actually written; leaving it NULL means `outname`).
     * Default: creates the directory when create_outdir, writes a
     * bmp_buffer's bytes, or a bmp_list's elements one after another. */
    int (*file_write)(bmp_item *item, void *data, const char *outname,
                      char **written);

    /* Frees data made by file_read or a step.  Default: bmp_object_free. */
    void (*data_free)(void *data, void *user);

    /* The whole per-item step, for programs that read and write files
     * themselves: fills *outname (malloc'd, or NULL for none) and meta.
     * Default: read -> pre -> process_meta -> outname -> write. */
    int (*file_process)(bmp_item *item, char **outname);

    /* The memory one item will add to its worker, in bytes, for the
     * memory-aware scheduler (doc/scheduler.md).  Called in the calling
     * process, once per item, before any worker starts; `in_name` (the
     * item: a name or a group) and `kw` (the run's keywords) are
     * borrowed for the call, `user` is the pipe's user pointer.  Set
     * *bytes (it starts at -1) and return 0; leaving -1 means "unknown":
     * the item then gets process_expand_factor x its input bytes, or no
     * estimate.  A negative return fails the item (status failed) without
     * running it.  Not called when the keyword process_size is given,
     * which wins.  Default (NULL): no estimate of the program's own. */
    int (*size_estimate)(const json_t *in_name, const json_t *kw,
                         int64_t *bytes, void *user);
} bmp_ops;

#define BMP_OPS_VERSION 1u

BMP_API int bmp_default_file_read(bmp_item *item, const char *in_name,
                                  void **data);
BMP_API int bmp_default_pre_process(bmp_item *item, void **data);
BMP_API int bmp_default_data_process(bmp_item *item, void **data);
BMP_API int bmp_default_data_process_meta_create(bmp_item *item, void **data);
BMP_API int bmp_default_post_process(bmp_item *item, void **data);
BMP_API int bmp_default_outname_create(bmp_item *item, char **outname);
BMP_API int bmp_default_file_write(bmp_item *item, void *data,
                                   const char *outname, char **written);
BMP_API int bmp_default_file_process(bmp_item *item, char **outname);

/*! bmp_outname_create() : SPEC.md's output-name rule, as a pure function.
 *  `in_name` is a file name, or NULL for a group; `kw` and `meta` give
 *  outdir, outname_append and outname (meta wins when non-empty).
 *  @return 0 with *outname malloc'd; BMP_ENOOUTNAME for a group without
 *  outname; -ENOMEM.  Worker-safe. */
BMP_API int bmp_outname_create(const char *in_name, const json_t *kw,
                               const json_t *meta, char **outname);

/*! bmp_mkdir_parents() : creates `dir` and its parents (mode 0777 &
 *  ~umask); an existing directory is success.  @return 0 or -errno. */
BMP_API int bmp_mkdir_parents(const char *dir);
/*! bmp_mkdir_parents_of() : creates the directory holding the file `path`
 *  and its parents, as bmp_mkdir_parents(); nothing for a name without a
 *  directory part.  @return 0, -errno, -ENOMEM.  Worker-safe. */
BMP_API int bmp_mkdir_parents_of(const char *path);

/*! A file a run writes besides its outputs (a journal, a pout file),
 *  named in messages by `what` ("journal", "pout file"). */
typedef struct bmp_own_file {
    const char *what;
    const char *path; /* NULL or "": none */
} bmp_own_file;

/* bmp_check_paths() flag: the run's outputs follow bmp_outname_create()
 * with its keywords, so they are known before it runs. */
#define BMP_CHECK_OUTPUTS 1u

/*! bmp_check_paths() : refuses, before anything is opened for writing, a
 *  run that would destroy its own data:
 *  - with BMP_CHECK_OUTPUTS: two items that would write one output, and
 *    an item whose output is another item's input, whatever `overwrite`
 *    says (an output that is the item's own input is left to that item,
 *    which fails alone);
 *  - a file of the run's own -- the `journal`, `write_pout` and `report`
 *    keywords of `kw`, and the `nown` entries of `own` -- that is an
 *    input, an output, or another of the run's own files.
 *  Paths are compared as the files they name: device and inode where the
 *  file exists, else its directory's device and inode and its base name,
 *  so "a", "./a", a symbolic link (to the file or to its directory) and
 *  a hard link are all the same file.  Costs one listing of each output
 *  directory, a stat() per directory and per file to be written that
 *  exists, and a stat() per input only when one of those exists.  Names
 *  that differ only in case are different files here, also on a file
 *  system that ignores case.  bmp_pipeline() makes these checks itself
 *  (the outputs' when the default naming and file_process are in use,
 *  check_outnames is not false and no_outfile does not stop every item
 *  before it writes; two items with one output only when no step can
 *  rename them, else during the run: doc/safety.md); a program that
 *  writes outputs its own way (a command per file) calls it with what
 *  it knows.
 *  @return 0; BMP_EINVAL with `err` naming both items (or the file and
 *          the item); -ENOMEM.  Thread-safe; reads `in_names` and `kw`. */
BMP_API int bmp_check_paths(const json_t *in_names, const json_t *kw,
                            unsigned flags, const bmp_own_file *own,
                            size_t nown, bmp_error *err);

/* ====================================================================== */
/*  The pipe                                                              */
/* ====================================================================== */
/*
 * Keywords the library itself reads (all optional; construction < run):
 *   num_processes   number      0/unset: physical cores; 0<x<1: fraction
 *   mem_available   bytes       memory for all workers
 *   mem_frac        0..1        share of available memory (default 0.8)
 *   process_size    bytes       memory one item needs
 *   process_expand_factor  number  an item needs this x its input bytes
 *   error_if_zero   bool        fail when no worker fits (default true);
 *                               per item: one above the budget fails
 *                               (true) or runs alone (false)
 *   order           string      "input" (default) or "largest_first"
 *   adaptive        bool        learn the expand factor from finished items
 *   enforce         bool        limit each item's address space to its
 *                               estimate (setrlimit RLIMIT_AS)
 *   mem_low         bytes       start nothing while the system has less
 *                               available (default 5% of memory, <= 256 MiB)
 *   suspend         bool        below mem_low, pause (SIGSTOP) the youngest
 *                               running item until memory comes back
 *   outdir          string      default "." (the current directory)
 *   create_outdir   bool        create outdir and parents when writing
 *   outname_append  string      default "_bmp"
 *   outname         string      output name (joined to outdir)
 *   no_bmp_cleanup  bool        keep bmp_cleanup keys (debugging)
 *   executor        string      "process" (default) or "serial": run items
 *                               in the calling process, for debugging
 *   read_pout / write_pout      string, see bmp_pipeline_cached()
 *   overwrite       bool        replace existing outputs (default false:
 *                               the item fails, the file is untouched)
 *   fsync           bool        fsync outputs and journal lines
 *   timeout         seconds     per item; the worker is killed past it
 *   retries         count       re-run failed, crashed, timed-out items
 *   worker_max_items count      replace a worker after that many items
 *   journal         string      append each finished item (JSON Lines)
 *   report          string      the run's report page (HTML), rewritten
 *                               every few seconds and at the end
 *                               (doc/report.md)
 *   resume          bool        skip items the journal has as finished
 *                               with their output present; implies
 *                               overwrite unless overwrite is given
 *   handle_signals  bool        SIGINT/SIGTERM stop the run (default true)
 *   check_outnames  bool        refuse two items with one output name
 *                               before anything runs (default true)
 *   shard           string      "I/N": run only the items whose index
 *                               i has i % N == I; the others stay not_run
 *                               (bmp_pout_merge() joins the shards)
 * doc/keywords.md lists them all, with the format modules' keywords.
 */

/*! bmp_pipe_new() : a pipe with the given operations (copied; NULL: all
 *  defaults) and user pointer (borrowed: must outlive the pipe; reaches
 *  every step through bmp_item_user()).
 *  @return new pipe (free with bmp_pipe_free), NULL on ENOMEM or on an
 *          ops table of a newer version than this library. */
BMP_API bmp_pipe *bmp_pipe_new(const bmp_ops *ops, void *user);
/*! bmp_pipe_free() : frees the pipe; NULL is a no-op. */
BMP_API void bmp_pipe_free(bmp_pipe *pipe);

/*! bmp_pipe_kw_update() : merges `kw` (a JSON object, borrowed) over the
 *  pipe's construction keywords.  @return 0, BMP_EINVAL, -ENOMEM. */
BMP_API int bmp_pipe_kw_update(bmp_pipe *pipe, const json_t *kw);
/*! bmp_pipe_kw() : the construction keywords.  Borrowed: valid until the
 *  pipe is freed; may be changed in place. */
BMP_API json_t *bmp_pipe_kw(bmp_pipe *pipe);

/*! bmp_pipe_add_pre() / bmp_pipe_add_post() : append a step to the
 *  construction pre-/post-process list.  `arg` is borrowed.  `name`, if
 *  not NULL, is copied.  @return 0, BMP_EINVAL, -ENOMEM. */
BMP_API int bmp_pipe_add_pre(bmp_pipe *pipe, bmp_step_fn fn, void *arg,
                             const char *name);
BMP_API int bmp_pipe_add_post(bmp_pipe *pipe, bmp_step_fn fn, void *arg,
                              const char *name);

/* ====================================================================== */
/*  Running                                                               */
/* ====================================================================== */

typedef struct bmp_pout bmp_pout;

/*! bmp_pipeline() : runs the pipe over `in_names` (a JSON array of items,
 *  borrowed) with run keywords `kw` (borrowed; may be NULL) merged over
 *  the construction keywords, and the run's extra steps `pre` and `post`
 *  (arrays ending with fn == NULL, may be NULL) appended after the
 *  construction lists.
 *
 *  A failure of one item (unreadable file, failed step, crash of its
 *  worker, time-out) is recorded in that item's pout entry and does not
 *  stop the others.  The call itself fails only on misuse (bad keywords,
 *  two items with one output name, ...) or when no item can run.
 *
 *  With the `shard` keyword "I/N" only the items at positions p with
 *  p % N == I run; the pout still has an entry for every item, the other
 *  shards' BMP_ITEM_NOT_RUN with the error "item of shard K/N" (see
 *  bmp_pout_merge()).
 *
 *  While it runs (and handle_signals is true, outside a worker), the
 *  first SIGINT or SIGTERM stops the run: no new items, running workers
 *  ended and their temporary files removed, the journal kept; a second
 *  signal ends the process at once.  Previous handlers are restored.
 *
 *  A worker that cannot be started (fork() or socketpair() failing for
 *  the process or descriptor limits, or memory) is tried again, backing
 *  off from 10 ms, while the other workers go on; a slot that still
 *  cannot start is left empty and the run goes on with fewer workers.
 *  When none at all can run, every item not finished fails with "cannot
 *  start a worker process: <reason>".
 *
 *  At the end of the run, a keyword of the run that neither the
 *  library nor a step read through the bmp_kw_* getters is named on
 *  stderr, once, with the nearest known keyword (unknown_keywords
 *  "warn", the default), or is the run's error ("error"), or is not
 *  checked ("ignore"); doc/keywords.md says what counts as read.
 *
 *  @return 0 with *pout a new pout (free with bmp_pout_free);
 *          BMP_EINTERRUPTED, or a failed journal write (-errno), or
 *          BMP_EINVAL for keywords nobody read (unknown_keywords
 *          "error"), with *pout still set: the items not finished are
 *          BMP_ITEM_NOT_RUN; a failed write of the `report` page at the
 *          end (-errno), with *pout complete;
 *          BMP_ENOWORKER (no worker process could be started) with *pout
 *          still set: the items not finished are BMP_ITEM_FAILED with
 *          the reason;
 *          any other negative error with *pout NULL and `err` filled.
 *  Worker-safe: a step may run a nested pipeline. */
BMP_API int bmp_pipeline(bmp_pipe *pipe, const json_t *in_names,
                         const json_t *kw, const bmp_step *pre,
                         const bmp_step *post, bmp_pout **pout,
                         bmp_error *err);

/*! bmp_pipeline_cached() : Python's cached_pout.  With the keyword
 *  read_pout naming a readable pout file, returns its contents without
 *  running.  Otherwise runs bmp_pipeline() and, with write_pout set,
 *  stores the pout there (creating its directory when create_outdir).
 *  A pout file that cannot be read is not an error: the run happens. */
BMP_API int bmp_pipeline_cached(bmp_pipe *pipe, const json_t *in_names,
                                const json_t *kw, const bmp_step *pre,
                                const bmp_step *post, bmp_pout **pout,
                                bmp_error *err);

/* ====================================================================== */
/*  Fork hooks                                                            */
/* ====================================================================== */
/*
 * For a program whose runtime keeps state that fork() alone does not make
 * safe in the child -- an interpreter's lock and threads (Python's GIL:
 * PyOS_BeforeFork / PyOS_AfterFork_Child / _Parent, as os.fork() does),
 * a lock of its own.  The process executor calls the hooks around every
 * fork of a worker process, in the thread that forks (the one that called
 * bmp_pipeline(), or a worker starting a nested pipeline's workers):
 *
 *   before(ctx)        in the caller, before the fork; 0 to go on.  A
 *                      non-zero return cancels this fork (after_parent is
 *                      then not called, so `before` undoes its own work):
 *                      the worker counts as not started (-errno: that
 *                      errno, other values: ECANCELED) and the pool tries
 *                      again as after a failed fork() (see bmp_pipeline());
 *   after_parent(ctx)  in the caller, after the fork, also when the fork
 *                      or the worker's socket pair failed;
 *   after_child(ctx)   in the new worker, first thing after the fork,
 *                      before any step runs.
 *
 * Each fork calls the hooks of one installation, taken when it starts.
 * They are called without any of the library's locks held, so they may
 * wait for a lock that another thread holds while it starts a pipeline.
 * They are not called around forks that steps make themselves, nor by
 * the serial executor, nor by the bigmultipipe command's program runs.
 */
typedef int (*bmp_fork_before_fn)(void *ctx);
typedef void (*bmp_fork_after_fn)(void *ctx);

/*! bmp_set_fork_hooks() : installs the hooks for the whole process,
 *  replacing any installed before; any of them may be NULL, but a
 *  `before` needs both after hooks.  All NULL: no hooks.  `ctx` is
 *  borrowed: it must stay valid while any pipeline started with these
 *  hooks may still fork.  Thread-safe; a fork already under way keeps
 *  the hooks it started with.  Workers inherit the installation (a
 *  nested pipeline forks with the same hooks).
 *  @return 0, or BMP_EINVAL (a `before` without both after hooks; the
 *          installed hooks are then left as they were). */
BMP_API int bmp_set_fork_hooks(bmp_fork_before_fn before,
                               bmp_fork_after_fn after_parent,
                               bmp_fork_after_fn after_child, void *ctx);

/* ====================================================================== */
/*  Executors: pluggable pools                                            */
/* ====================================================================== */
/*
 * Python's PoolClass.  The library's executors are "process" (default: a
 * pool of worker processes, crash-isolated) and "serial" (in the caller).
 * A user executor decides where and in what order items run.  For every
 * index that bmp_run_item_done() does not report finished (a resumed run
 * has items the journal holds), it either calls bmp_run_item(), which
 * runs the item here, or computes the item somewhere else (another
 * process, another machine, another language) and hands its outcome to
 * bmp_run_set_result().  Either way the result leaves through the run's
 * own outlet: the journal line and the progress report happen there, and
 * the pout is built from it, exactly as for the library's executors.
 * Results are stored per index, so distinct indices may be finished
 * concurrently from threads of this process.
 */
typedef struct bmp_run bmp_run;

/* What the calling process is to the run (bmp_executor.role). */
typedef enum bmp_executor_role {
    /* It owns the run: it checks the paths, removes dead temporaries,
     * opens the journal, takes resumed items from it, reports progress
     * and returns the whole pout.  Every version-1 executor is this. */
    BMP_EXECUTOR_OWNER = 0,
    /* It helps a run owned by another process (rank 0 of an MPI job): it
     * computes the items it is given and sends their results away
     * (bmp_run_result_json).  bmp_pipeline() then checks the run's paths
     * without changing anything, removes no temporary, never opens,
     * creates or reads the journal (journal and resume are the owner's),
     * and reports no progress; it still handles SIGINT and SIGTERM.  Its
     * pout holds the items it ran, the others not_run. */
    BMP_EXECUTOR_HELPER = 1
} bmp_executor_role;

typedef struct bmp_executor {
    unsigned version; /* BMP_EXECUTOR_VERSION; 0 is read as 1 (the
                         structure ends at `arg`): set 2 to give a role */
    /* Runs every item; `workers` is the count bmp_num_can_process()
     * allows.  @return 0, or a negative error that ends the run.
     * Version 2 with role BMP_EXECUTOR_OWNER: also called with run NULL
     * (and workers 0) when bmp_pipeline_cached() took a stored pout and
     * runs nothing, so that an executor whose helpers wait in their own
     * call (MPI) lets them go; any other executor returns 0. */
    int (*run)(bmp_run *run, int workers, void *arg, bmp_error *err);
    void *arg; /* borrowed; passed to run */
    /* Version 2: the calling process's role in the run.  Not read from
     * a version-1 structure, which ends before it: such executors are
     * owners.  A role other than these two is refused. */
    bmp_executor_role role;
} bmp_executor;

#define BMP_EXECUTOR_VERSION 2u

/*! bmp_run_count() : number of items in the run. */
BMP_API size_t bmp_run_count(const bmp_run *run);
/*! bmp_run_in_name() : item `index` as given in in_names (a JSON string,
 *  or an array for a group).  Borrowed, for the run's life; NULL when
 *  `index` is out of range. */
BMP_API const json_t *bmp_run_in_name(const bmp_run *run, size_t index);
/*! bmp_run_kw() : the run's keywords (construction merged with the
 *  run's), to send wherever items are computed.  Borrowed, read-only. */
BMP_API const json_t *bmp_run_kw(const bmp_run *run);
/*! bmp_run_item_done() : 1 when item `index` has its final result (taken
 *  from the journal by a resumed run, or already run or set) or belongs
 *  to another shard (the `shard` keyword: it stays not_run), else 0. */
BMP_API int bmp_run_item_done(const bmp_run *run, size_t index);
/* ---- A pool of worker processes fed over time ------------------------
 * The process executor's pool, for executors that learn their items
 * while the run goes on (a rank of an MPI job asks for work as its
 * workers free up).  Items are indices of the run; each runs in a worker
 * process with the process executor's isolation, memory scheduling,
 * time-outs and retries, and its result goes out through the run's
 * outlet like any other.  Not thread-safe: one thread drives a pool. */
typedef struct bmp_pool bmp_pool;

/* Called in the driving thread once per added item, when its result is
 * final and stored in the run (bmp_run_result_json reads it).  It must
 * not add to, drive, end or free the pool. */
typedef void (*bmp_pool_final_fn)(size_t index, void *arg);

/*! bmp_pool_new() : a pool of at most `workers` processes for `run`,
 *  from inside an executor's run function.  `fn` may be NULL.
 *  @return 0 with *pool set (free with bmp_pool_free), or a negative
 *  error with `err` filled. */
BMP_API int bmp_pool_new(bmp_run *run, int workers, bmp_pool_final_fn fn,
                         void *arg, bmp_pool **pool, bmp_error *err);
/*! bmp_pool_add() : queues item `index`.  @return 0; 1 when the item
 *  failed at once (its size estimate failed; `fn` has been called);
 *  BMP_EINVAL (out of range, after bmp_pool_end_input); -EALREADY (added
 *  before, or finished already). */
BMP_API int bmp_pool_add(bmp_pool *pool, size_t index);
/*! bmp_pool_end_input() : no more items will be added. */
BMP_API void bmp_pool_end_input(bmp_pool *pool);
/*! bmp_pool_drive() : runs the pool for up to `wait_s` seconds (negative:
 *  until something happens), returning early when an item became final.
 *  @return BMP_POOL_DONE once input has ended and every added item is
 *  final; 0 otherwise; a negative error (err filled) when the pool cannot
 *  go on (interrupted: BMP_EINTERRUPTED). */
BMP_API int bmp_pool_drive(bmp_pool *pool, double wait_s, bmp_error *err);
#define BMP_POOL_DONE 1
/*! bmp_pool_running() : items added and not yet final. */
BMP_API size_t bmp_pool_running(const bmp_pool *pool);
/*! bmp_pool_free() : ends the workers (items not final stay not_run) and
 *  frees the pool.  NULL is fine. */
BMP_API void bmp_pool_free(bmp_pool *pool);

/* ---- Results as text, to move between processes ---------------------- */

/*! bmp_run_result_json() : item `index`'s result as its pout line (the
 *  JSON Lines format of doc/pout-format.md, without the newline), to send
 *  to the process that owns the run.  malloc'd; NULL when out of memory,
 *  `index` out of range, or the item not finished. */
BMP_API char *bmp_run_result_json(const bmp_run *run, size_t index);
/*! bmp_run_set_result_json() : puts a result read by
 *  bmp_run_result_json() in another process into this run, as
 *  bmp_run_set_result() does: the line must be one pout entry of this
 *  item (same in_name), and passes the same checks.
 *  @return 0; BMP_EINVAL (not a pout line, another item, a check failed,
 *  already finished); -ENOMEM. */
BMP_API int bmp_run_set_result_json(bmp_run *run, size_t index,
                                    const char *line, bmp_error *err);

/*! bmp_run_item() : runs item `index` in the calling thread and stores
 *  its result (replacing any earlier one, which the journal then records
 *  again but progress counts once); nothing for an item the journal
 *  holds.  Thread-safe for distinct indices.  A crash in a step ends
 *  the calling process: that is why the default executor uses worker
 *  processes. */
BMP_API void bmp_run_item(bmp_run *run, size_t index);

/*! bmp_pipe_set_executor() : makes `executor` (copied; its `arg` is
 *  borrowed and must outlive the pipe's runs) the pipe's executor,
 *  overriding the executor keyword.  NULL restores the keyword's choice.
 *  Versions 1 and 2 (0: the current one) are taken.
 *  @return 0, BMP_EINVAL (newer version, no run function, unknown
 *  role). */
BMP_API int bmp_pipe_set_executor(bmp_pipe *pipe,
                                  const bmp_executor *executor);

/* ====================================================================== */
/*  Progress                                                              */
/* ====================================================================== */

/* A snapshot of a run, given to the progress callback. */
typedef struct bmp_progress {
    size_t total;       /* items in the run */
    size_t done;        /* items finished, whatever their status */
    size_t failed;      /* of those: failed, crashed or timed out */
    size_t running;     /* items running now */
    int workers;        /* worker processes alive */
    double elapsed_s;   /* since the run started */
    int64_t mem_in_use; /* resident bytes of running workers; -1 unknown */
    int64_t mem_budget; /* bytes the run may use; -1 when unlimited */
} bmp_progress;

typedef void (*bmp_progress_fn)(const bmp_progress *progress, void *arg);

/*! bmp_pipe_set_progress() : calls `fn(progress, arg)` in the calling
 *  process when the run starts, after each item finishes, and at the end
 *  (then done == total, running == 0).  With the process executor,
 *  mem_in_use is the summed resident memory of the busy workers as last
 *  sampled (every ~150 ms while items run) and mem_budget the scheduler's
 *  budget when items have memory estimates.  A resumed run starts with
 *  the items the journal holds counted as done; `done` never goes back.
 *  With a user executor, the call after an item comes from the thread
 *  that finished it (bmp_run_item, bmp_run_set_result), one call at a
 *  time, `done` one more each time.  `arg` is borrowed.  NULL fn: no
 *  calls.  @return 0, BMP_EINVAL (no pipe). */
BMP_API int bmp_pipe_set_progress(bmp_pipe *pipe, bmp_progress_fn fn,
                                  void *arg);

/* ====================================================================== */
/*  pout: the results                                                     */
/* ====================================================================== */

typedef enum bmp_status {
    BMP_ITEM_OK = 0,        /* written: outname set */
    BMP_ITEM_NO_OUTPUT = 1, /* rejected or metadata only: outname NULL */
    BMP_ITEM_FAILED = 2,    /* an operation returned an error */
    BMP_ITEM_CRASHED = 3,   /* its worker died (signal or exit) */
    BMP_ITEM_TIMED_OUT = 4, /* ran past the timeout keyword */
    BMP_ITEM_NOT_RUN = 5    /* the run was interrupted before it */
} bmp_status;

/*! bmp_status_name() : "ok", "no_output", "failed", "crashed",
 *  "timed_out", "not_run"; static storage. */
BMP_API const char *bmp_status_name(bmp_status status);

/*! bmp_pout_count() : number of entries (= items). */
BMP_API size_t bmp_pout_count(const bmp_pout *pout);
/*! Accessors for entry `i` (< count).  Strings and JSON are borrowed:
 *  valid until the pout is freed.  outname and error may be NULL.  A
 *  worker's meta is held as its JSON text and parsed at the first
 *  bmp_pout_meta() of the entry (threads may ask at once and get the same
 *  object); what the caller changes in that object is what the pout file
 *  says.  bmp_pout_meta() gives NULL only when memory for the object
 *  runs out. */
BMP_API const char *bmp_pout_outname(const bmp_pout *pout, size_t i);
BMP_API json_t *bmp_pout_meta(const bmp_pout *pout, size_t i);
BMP_API const json_t *bmp_pout_in_name(const bmp_pout *pout, size_t i);
BMP_API bmp_status bmp_pout_status(const bmp_pout *pout, size_t i);
BMP_API const char *bmp_pout_error(const bmp_pout *pout, size_t i);

/* What the run measured for one item.  Set `version` before the call;
 * the library fills the fields of that version (0 is read as 1) and
 * leaves the rest alone, so the struct can grow. */
typedef struct bmp_item_stats {
    unsigned version;  /* BMP_ITEM_STATS_VERSION */
    int attempts;      /* times the item was started (0: never) */
    double wall_s;     /* elapsed seconds of its last attempt */
    double cpu_s;      /* user + system CPU seconds of its last attempt */
    int64_t peak_rss;  /* peak resident bytes of its worker; -1 unknown */
    int64_t start_rss; /* resident bytes of the worker when it started;
                          -1 unknown */
    int64_t estimate;  /* the scheduler's estimate of what the item adds
                          to its worker; -1 none */
    int over_estimate; /* 1: peak_rss - start_rss passed the estimate
                          (by more than 4 MiB + 1/64 of it, allocator
                          slack) */
    /* Version 2: where the item ran, when another process of a job ran
     * it for this run (the MPI executor's helper ranks; pout keys
     * "rank" and "host" of "stats").  rank -1 and host NULL: it ran
     * here (every item of a one-machine run).  host is borrowed from the
     * pout (bmp_pout_stats) or copied (bmp_run_set_result). */
    int rank;
    const char *host;
    /* Version 3: what the report page draws (pout keys "start", "worker"
     * and "budget" of "stats"; doc/report.md).  start: when the item's
     * last attempt started, in seconds since the Unix epoch, 0 unknown;
     * worker: the slot of the pool that ran it, -1 unknown; budget: that
     * pool's memory budget in bytes, -1 none.  bmp_run_set_result()
     * reads worker and budget only with a start (> 0), so that a
     * structure zeroed but for its version gives none of the three. */
    double start;
    int worker;
    int64_t budget;
} bmp_item_stats;

#define BMP_ITEM_STATS_VERSION 3u

/* ====================================================================== */
/*  Results computed elsewhere                                            */
/* ====================================================================== */

/* The outcome of one item computed outside the library's executors (see
 * "Executors" above).  Set `version` to BMP_ITEM_RESULT_VERSION. */
typedef struct bmp_item_result {
    unsigned version;      /* BMP_ITEM_RESULT_VERSION; 0 is read as 1 */
    bmp_status status;     /* ok, no_output, failed, crashed, timed_out */
    const char *outname;   /* the file written: needed for ok, none
                              otherwise (NULL) */
    const char *meta_json; /* the item's meta as the text of one JSON
                              object (json_dumps with JSON_COMPACT gives
                              it); NULL: {} */
    const char *error;     /* why it failed; NULL for ok and no_output */
    int code;              /* a failure's negative code; 0 gives
                              BMP_ESTEP for a failure */
    const bmp_item_stats *stats; /* what was measured; NULL: unknown,
                                    one attempt */
} bmp_item_result;

#define BMP_ITEM_RESULT_VERSION 1u

/*! bmp_run_set_result() : puts the outcome of item `index`, computed
 *  elsewhere, into the run, with the checks the process executor applies
 *  to a worker's result: a status of a finished item (not not_run), an
 *  output name for ok and none for other statuses, meta that is one JSON
 *  object on one line (the pout and the journal hold it as it is), an
 *  item of the run's shard (the `shard` keyword) not finished already.
 *  Then, as for every executor, the journal records the item and the
 *  progress callback hears of it.  Without a start in `stats` (version
 *  3), the item's start (pout stats key `start`, for the report page)
 *  is taken as now less its wall_s.  Strings are copied.  Thread-safe
 *  for distinct indices (the progress callback may then be called from
 *  those threads).
 *  @return 0; BMP_EINVAL with `err` saying which check failed (the item is
 *          left as it was); -ENOMEM. */
BMP_API int bmp_run_set_result(bmp_run *run, size_t index,
                               const bmp_item_result *result, bmp_error *err);

/*! bmp_pout_stats() : fills `*out` with the measurements of entry `i`.
 *  Entries read from a file written before estimates existed have
 *  estimate -1 and over_estimate 0.
 *  @return 0, or BMP_EINVAL (NULL pointer, i out of range, or a version
 *          newer than this library). */
BMP_API int bmp_pout_stats(const bmp_pout *pout, size_t i,
                           bmp_item_stats *out);

/* A whole run at a glance: counts, memory, and a warning to show the
 * user when estimates were too low.  `version` as bmp_item_stats. */
typedef struct bmp_run_summary {
    unsigned version;      /* BMP_RUN_SUMMARY_VERSION */
    size_t count;          /* entries */
    size_t by_status[8];   /* entries per bmp_status, by its value */
    size_t failures;       /* failed + crashed + timed_out */
    size_t retried;        /* entries started more than once */
    size_t estimated;      /* entries with a memory estimate */
    size_t over_estimate;  /* entries whose peak passed their estimate */
    int64_t peak_rss_max;  /* the largest peak of one item; -1 unknown */
    size_t peak_rss_index; /* its entry */
    double wall_s;         /* sums over the entries */
    double cpu_s;
    char warning[256]; /* "" or a sentence naming the worst item
                          over its estimate and what to change */
} bmp_run_summary;

#define BMP_RUN_SUMMARY_VERSION 1u

/*! bmp_pout_summary() : fills `*out` for the whole pout.
 *  @return 0, or BMP_EINVAL (NULL pointer, or a newer version). */
BMP_API int bmp_pout_summary(const bmp_pout *pout, bmp_run_summary *out);

/*! bmp_pout_free() : NULL is a no-op. */
BMP_API void bmp_pout_free(bmp_pout *pout);

/*! bmp_prune_pout() : Python's prune_pout.  A new pout without the
 *  entries whose outname is NULL and whose meta is empty, and, when
 *  in_names is given, *pruned_names: the same positions of in_names.
 *  @return 0, -ENOMEM, BMP_EINVAL (in_names of another length). */
BMP_API int bmp_prune_pout(const bmp_pout *pout, const json_t *in_names,
                           bmp_pout **pruned, json_t **pruned_names);

/*! bmp_pout_merge() : one pout from the pouts of the shards of one run
 *  (the `shard` keyword; doc/scale-out.md), equal to the pout of the run
 *  unsharded.  `pouts` holds `n` >= 1 pouts (borrowed; in any order, the
 *  same pout may appear twice), which must have the same items in the
 *  same order.  For each item the merge takes the entry that finished
 *  there (any status but not_run).  An item finished in two pouts is
 *  taken when both say the same (status, outname, error and meta; the
 *  stats, which differ between two runs of an item, are not compared)
 *  and refused otherwise.  An item finished in none (its shard is
 *  missing, or was interrupted) stays not_run and is counted in
 *  *missing; its error is "item of shard K/N", naming the shard to run,
 *  when a pout of another shard is among `pouts` (a shard's pout says so
 *  of every item of the other shards), and NULL otherwise (only its own
 *  shard's pouts, cut short, which do not know K/N of their own items).
 *  Ownership: *out is a new pout (bmp_pout_free); the inputs are not
 *  changed, except that their meta objects may be parsed from text, as
 *  bmp_pout_meta() does.
 *  Threads: the inputs may be read by other threads meanwhile; none may
 *  be freed or have its meta changed during the call.
 *  @return 0 with *out set and *missing (may be NULL) the count of items
 *          finished nowhere (0: the merge is complete); BMP_EINVAL with
 *          *out NULL and `err` naming the first difference (pouts of
 *          other lengths, another item at an index, an item finished
 *          twice with different results) or a NULL argument; -ENOMEM. */
BMP_API int bmp_pout_merge(const bmp_pout *const *pouts, size_t n,
                           bmp_pout **out, size_t *missing, bmp_error *err);

/*! bmp_pout_write() : stores the pout as JSON Lines (doc/pout-format.md):
 *  one object per entry, in order, with in_name, outname, meta, status
 *  and error.  Written to a temporary name and renamed.
 *  @return 0 or a negative error (err filled). */
BMP_API int bmp_pout_write(const bmp_pout *pout, const char *path,
                           bmp_error *err);
/*! bmp_pout_write_fp() : writes the same JSON Lines as bmp_pout_write()
 *  to the open stream `fp` (borrowed; left open), at its current
 *  position, and flushes it.  Not atomic: for standard output or a pipe,
 *  where a temporary name cannot be renamed into place.  Lines are
 *  written whole, one fwrite() each.
 *  @return 0, or a negative error (-errno of the failed write or flush,
 *          -ENOMEM, BMP_EINVAL for a NULL argument) with `err` filled;
 *          the stream may then hold some of the lines. */
BMP_API int bmp_pout_write_fp(const bmp_pout *pout, FILE *fp, bmp_error *err);
/*! bmp_pout_read() : reads a file written by bmp_pout_write().
 *  @return 0 with *pout new, or a negative error (err filled). */
BMP_API int bmp_pout_read(const char *path, bmp_pout **pout, bmp_error *err);
/*! bmp_pout_report_html() : writes the report page of the pout to `path`
 *  (doc/report.md): one self-contained HTML file (SVG, CSS and a little
 *  script inline, nothing fetched) with a summary, a timeline of the
 *  items on their workers, the memory of the running items against the
 *  budget, estimates against use, and a table of the slowest items and
 *  every failure.  `title` (may be NULL) heads the page.  Names and
 *  messages are escaped; bytes that are not UTF-8 show as \xNN.
 *  Written to a temporary name beside `path` and renamed over it.  The
 *  pout is only read; threads as bmp_pout_write().
 *  @return 0, or a negative error with `err` filled (BMP_EINVAL for a
 *  NULL argument, -errno of the write, -ENOMEM). */
BMP_API int bmp_pout_report_html(const bmp_pout *pout, const char *path,
                                 const char *title, bmp_error *err);
/*! bmp_report_html_file() : the report page of a pout file or a journal
 *  (the `journal` keyword's file, told by its run record) to `page_path`,
 *  as bmp_pout_report_html() draws it, headed by `in_path`.  From a
 *  journal each item's last line counts (a resumed run appends a new
 *  line for an item that failed before), and the items it has no line of
 *  (a run going on, or cut short) count as not finished.
 *  @return 0, or a negative error with `err` filled and `err->source`
 *  naming the file at fault: `in_path` when it cannot be read or is
 *  neither a pout nor a journal (-errno, BMP_EPOUT with the line), else
 *  `page_path` (-errno of the write; BMP_EINVAL when it is `in_path`'s
 *  file, which is left as it was); -ENOMEM; BMP_EINVAL for NULL. */
BMP_API int bmp_report_html_file(const char *in_path, const char *page_path,
                                 bmp_error *err);
/*! bmp_pout_entry_json() : entry `i` as the JSON object of the file
 *  format.  @return new reference, NULL on ENOMEM. */
BMP_API json_t *bmp_pout_entry_json(const bmp_pout *pout, size_t i);

/* ====================================================================== */
/*  Resources                                                             */
/* ====================================================================== */

/*! bmp_physical_cores() : physical cores this process may run on: hwloc's
 *  cores with a CPU in the affinity mask, capped by the cgroup CPU quota
 *  rounded up (ceil(quota / period)); at least 1.  Falls back to the
 *  logical CPUs of the mask when hwloc has no topology.  See
 *  doc/resources.md. */
BMP_API int bmp_physical_cores(void);
/*! bmp_mem_available() : bytes of memory available now: the lesser of the
 *  system's MemAvailable and, at each level of the process's cgroup (v1
 *  or v2), the limit less the usage (inactive file cache, which the
 *  kernel reclaims, not counted as usage).
 *  @return bytes, or -errno when neither can be read. */
BMP_API int64_t bmp_mem_available(void);

/*! bmp_num_can_process() : SPEC.md's worker count for `num_items` items
 *  with the keywords num_processes, mem_available, mem_frac,
 *  process_size, error_if_zero from `kw` (borrowed, may be NULL):
 *  min(num_items, CPU workers, memory workers), where
 *    CPU workers     num_processes 0 or not given: bmp_physical_cores();
 *                    below 1: that share of it, rounded half to even as
 *                    Python's round(), at least 1; else floored
 *    memory workers  floor(memory / process_size), memory being
 *                    mem_available or mem_frac x bmp_mem_available();
 *                    no limit without process_size.  Inside a worker
 *                    (a nested pipeline), memory without mem_available
 *                    is the running item's estimate, its share of the
 *                    parent's budget, when it has one
 *  Per-item estimates that vary (size_estimate, process_expand_factor)
 *  do not enter this count: the process executor admits each item
 *  against the budget as it starts (doc/scheduler.md).
 *  @return the count (>= 0; 0 only for no items, or when error_if_zero
 *          is false and no worker fits), or a negative error with `err`
 *          filled (stage "schedule"): BMP_EKWTYPE for a keyword of the
 *          wrong type, BMP_EINVAL for num_processes < 0, mem_frac outside
 *          (0, 1], mem_available < 0 or process_size <= 0,
 *          BMP_ENOMEM_BUDGET when no worker fits and error_if_zero (the
 *          message gives both figures in MiB). */
BMP_API int bmp_num_can_process(size_t num_items, const json_t *kw,
                                bmp_error *err);

/* ====================================================================== */
/*  Command-line options (Python's argparse mixin)                        */
/* ====================================================================== */

/*! bmp_parse_size() : "512M", "2G", "1.5G", "4096", "64k" -> bytes.
 *  Suffixes K, M, G, T (either case, optional trailing "iB" or "B") are
 *  powers of 1024.  @return 0, or BMP_EINVAL for text that is not a
 *  non-negative size (or overflows int64).  Thread-safe. */
BMP_API int bmp_parse_size(const char *text, int64_t *bytes);

/*! bmp_args_parse() : reads the standard options of the Python package's
 *  argparse mixin from argv[1..*argc-1] into the keyword object `kw`, and
 *  removes them from argv (compacting it and updating *argc), so that the
 *  program parses its own options from what is left:
 *    --outdir DIR           (default ".")
 *    --create_outdir / --no-create_outdir   (default: no)
 *    --read_pout FILE       --write_pout FILE
 *    --outname_append TEXT  (default "_bmp")
 *    --num_processes N      0 = all cores, below 1 = a fraction of them
 *                           (default: all physical cores; the Python
 *                           mixin's is 0.8, doc/differences.md)
 *    --mem_available SIZE   --mem_frac F (default 0.8)
 *    --process_size SIZE
 *  Both "--opt VALUE" and "--opt=VALUE" are accepted, and, as argparse
 *  does, the start of one option's name ("--outd", "--no-create"); a
 *  start shared by several ("--out", "--mem") is BMP_EINVAL, naming them.
 *  "--" ends option parsing and is kept.  Options not given leave their
 *  keys unset -- the defaults above are the library's own, applied to
 *  unset keys -- so an unset key does not override a construction
 *  keyword, and a value set in `kw` before the call stays unless an
 *  option gives another.  @return 0, or BMP_EINVAL (err names the
 *  option); on an error `kw` may hold the options before the bad one.
 *  Not thread-safe with respect to `kw` and argv (the caller's). */
BMP_API int bmp_args_parse(int *argc, char **argv, json_t *kw, bmp_error *err);
/*! bmp_args_help() : the help text for the options above, one per line;
 *  static storage. */
BMP_API const char *bmp_args_help(void);

/* ====================================================================== */
/*  N-dimensional arrays (.npy and FITS data)                             */
/* ====================================================================== */

/* Element types.  Values are appended, never reused. */
typedef enum bmp_dtype {
    BMP_DTYPE_BOOL = 1,
    BMP_DTYPE_INT8,
    BMP_DTYPE_INT16,
    BMP_DTYPE_INT32,
    BMP_DTYPE_INT64,
    BMP_DTYPE_UINT8,
    BMP_DTYPE_UINT16,
    BMP_DTYPE_UINT32,
    BMP_DTYPE_UINT64,
    BMP_DTYPE_FLOAT16,
    BMP_DTYPE_FLOAT32,
    BMP_DTYPE_FLOAT64,
    BMP_DTYPE_COMPLEX64,
    BMP_DTYPE_COMPLEX128
} bmp_dtype;

#define BMP_MAX_DIMS 32

/* An n-dimensional array; a library data object (bmp_array_free, or
 * bmp_object_free, frees it, its header and the memory map when `data`
 * is mapped).
 *
 * `header` belongs to the array: freeing the array json_decref's it.  To
 * move the header of `in` to a new array `out` (the usual step: read,
 * convert, free the input, write the result with the input's cards):
 *     out->header = in->header;   in->header = NULL;
 * before `in` is freed.  To share it, json_incref(in->header) instead of
 * the NULL (both arrays then hold the same cards: a card added through
 * one shows in the other); for cards of its own, json_deep_copy().  New
 * arrays (bmp_array_new, bmp_array_convert) start with no header. */
typedef struct bmp_array {
    bmp_object obj;
    bmp_dtype dtype;
    char byteorder;    /* '<' little, '>' big, '|' not applicable */
    int fortran_order; /* 1: first index varies fastest */
    int ndim;          /* 0 for a scalar */
    size_t shape[BMP_MAX_DIMS];
    size_t itemsize;    /* bytes per element */
    size_t count;       /* elements: product of shape (1 when ndim is 0) */
    size_t nbytes;      /* count * itemsize */
    void *data;         /* nbytes bytes; borrowed from the object */
    json_t *header;     /* FITS header cards, or NULL; owned */
    void *bmp__private; /* the library's bookkeeping; do not touch */
} bmp_array;

/*! bmp_dtype_size() : bytes per element; 0 for an unknown dtype. */
BMP_API size_t bmp_dtype_size(bmp_dtype dtype);
/*! bmp_dtype_name() : NumPy's name ("float64", ...); "unknown". */
BMP_API const char *bmp_dtype_name(bmp_dtype dtype);

/*! bmp_array_new() : a zeroed, native-endian, C-order array.  `shape` has
 *  `ndim` entries (may be NULL when ndim is 0).
 *  @return new object (bmp_object_free), NULL on ENOMEM, overflow of the
 *  size, or invalid arguments. */
BMP_API bmp_array *bmp_array_new(bmp_dtype dtype, int ndim,
                                 const size_t *shape);
/*! bmp_array_get_double() / bmp_array_set_double() : element `i` in
 *  storage order, converted to or from double (real part for complex),
 *  honouring `byteorder`.  i must be < count. */
BMP_API double bmp_array_get_double(const bmp_array *a, size_t i);
BMP_API void bmp_array_set_double(bmp_array *a, size_t i, double v);
/*! bmp_array_free() : frees the array, its data (or map) and its header;
 *  the same as bmp_object_free(a, NULL).  NULL is a no-op. */
BMP_API void bmp_array_free(bmp_array *a);

/*! bmp_array_f32() / bmp_array_f64() : the data as a `float *` or
 *  `double *` for a loop over the elements (storage order), when the
 *  array is float32 (float64) in native byte order; NULL otherwise, or
 *  for NULL.  Borrowed: valid while the array lives.  After
 *  bmp_array_convert(a, BMP_DTYPE_FLOAT32, ...) the result always
 *  qualifies. */
BMP_API float *bmp_array_f32(bmp_array *a);
BMP_API double *bmp_array_f64(bmp_array *a);

/*! bmp_array_convert() :
 *  A new array of dtype `to` with the shape, memory order and values of
 *  `a`: NumPy's a.astype(to), for every dtype above and either byte order
 *  of `a`.  The result is native-endian and has no header (see bmp_array
 *  for moving one); `a` is left as it is.  Converting to a's own dtype
 *  makes a native-endian copy.  Values (doc/arrays.md has the table):
 *    to a float      rounded to nearest (ties to even), as NumPy; too
 *                    large for float16/float32 becomes +-inf, as NumPy
 *    float to int    truncated toward zero, as NumPy does in range
 *    to bool         nonzero (NaN included) is true, as NumPy
 *    to complex      imaginary part 0
 *  Refused, where NumPy gives an undefined or wrapped value or drops the
 *  imaginary part: NaN or +-inf to an integer; a value outside the
 *  integer dtype's range (after truncation), whether from a float or from
 *  another integer (NumPy wraps int32 -1 to uint16 65535); a complex value
 *  with a nonzero imaginary part to a real dtype.  The error names the
 *  first such element, and nothing is made.
 *  @return 0 with *out a new array (bmp_array_free); BMP_EINVAL (NULL
 *          argument, an array whose fields disagree, a value the dtype
 *          cannot hold), BMP_EUNSUPPORTED (unknown dtype), -ENOMEM; `err`
 *          (may be NULL) says which.  Worker-safe; thread-safe for
 *          distinct `out`s. */
BMP_API int bmp_array_convert(const bmp_array *a, bmp_dtype to,
                              bmp_array **out, bmp_error *err);

/* Statistics of an array's values, NaNs left out (bmp_array_stats). */
typedef struct bmp_stats {
    size_t count;     /* values used: elements that are not NaN */
    size_t nan_count; /* NaN elements, left out of everything below */
    double mean;      /* NaN when count is 0, as below */
    double std;       /* sqrt(sum((x - mean)^2) / (count - ddof)); NaN
                         when count <= ddof */
    double min, max;  /* infinities count as values */
    double median;    /* middle value; the mean of the two middle values
                         when count is even */
} bmp_stats;

/*! bmp_array_stats() :
 *  Mean, standard deviation, minimum, maximum and median of the values
 *  of `a` (any real dtype, either byte order, any shape: all elements)
 *  in one call.  NaNs are left out and counted, as NumPy's nanmean,
 *  nanstd, nanmin, nanmax and nanmedian do (np.median would return NaN
 *  for them all); an empty or all-NaN array gives count 0 and NaN
 *  results, with 0 returned.  `ddof` as NumPy's (0: the population
 *  standard deviation, NumPy's default; 1: the sample one).  Sums are
 *  pairwise in double precision, the deviations taken from the mean
 *  (two passes), so a large common offset costs no precision.  The
 *  median is found by selection in O(n), on a copy: `a` is not changed.
 *  Uses count * 4 (float32 and narrower) or count * 8 bytes of scratch.
 *  int64 and uint64 values above 2^53 are rounded to double.
 *  @return 0; BMP_EINVAL (NULL argument, an array whose fields disagree,
 *          ddof < 0), BMP_EUNSUPPORTED (complex or unknown dtype),
 *          -ENOMEM; `err` (may be NULL) says which, and *st is then
 *          untouched.  Worker-safe; thread-safe. */
BMP_API int bmp_array_stats(const bmp_array *a, int ddof, bmp_stats *st,
                            bmp_error *err);

#include "bigmultipipe/npy.h"
#include "bigmultipipe/fits.h"

#ifdef __cplusplus
}
#endif

#endif /* BIGMULTIPIPE_H */
