/*
 * tool.h -- the parts of the bigmultipipe command, one file each.  The
 * command is an ordinary user of the library: it includes the public
 * header only.
 */
#ifndef BMP_TOOL_H
#define BMP_TOOL_H

#include <bigmultipipe.h>

#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Exit statuses (see exit_statuses[] in options.c for their help text). */
enum { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2 };

/* ---- options.c: the option table, parsing, --help and --man ---------- */

/* Subcommands, as bits of tool_option.commands. */
enum {
    CMD_RUN = 1u,
    CMD_PLAN = 2u,
    CMD_DEMO = 4u,
    CMD_MERGE = 8u,
    CMD_REPORT = 16u
};

/* --halt: when a run stops early (GNU parallel's meanings). */
enum { HALT_NEVER = 0, HALT_NOW, HALT_SOON };
typedef struct halt_rule {
    int when;       /* HALT_ */
    int on_success; /* count successes, not failures */
    int on_done;    /* count items done, failed or not (done=) */
    size_t count;   /* after this many; 0 when percent is given */
    double percent; /* or once this share of all the items, in % */
} halt_rule;

/* What the options of one command line say. */
typedef struct tool_args {
    json_t *kw;     /* the run keywords; owned */
    char **command; /* words after "--" up to ":::"; borrowed argv */
    int ncommand;
    char **inputs; /* words after ":::"; borrowed argv */
    int ninputs;
    const char **lists; /* --input-list files, in order; owned array */
    int nlists;
    int null_sep;       /* -0: names end with NUL, not newline */
    int shell;          /* --shell */
    int quiet;          /* -q */
    int help;           /* -h */
    int reject_code;    /* --reject-code, or -1 */
    const char *output; /* --output, or NULL for standard output */
    size_t shard_index; /* --shard I/N; shard_count 0: no shard */
    size_t shard_count;
    int mpi;               /* --executor mpi */
    const char *out_ext;   /* --out-ext, or NULL */
    int dry_run;           /* --dry-run */
    int job_meta;          /* --job-meta */
    size_t max_args;       /* -n: inputs per program start; 0 or 1: one;
                              MAX_ARGS_SPREAD: -X, chosen by the run */
    halt_rule halt;        /* --halt */
    const char *halt_text; /* --halt as given */
} tool_args;

/* -X: the run chooses N from the inputs and the workers. */
#define MAX_ARGS_SPREAD ((size_t)-1)

/*! tool_args_parse() : parses argv[1..argc) (argv[0] is the subcommand)
 *  for `command` (one CMD_ bit); for merge, the words after the options
 *  (the pout files) are left in `command`.  @return 0, or -1 with a one-line
 *  message in msg; call tool_args_free() in both cases. */
int tool_args_parse(int argc, char **argv, unsigned command, tool_args *a,
                    char *msg, size_t msgsize);
void tool_args_free(tool_args *a);

/*! tool_print_help() : usage and options of `command` (0: the overview). */
void tool_print_help(FILE *out, unsigned command);
/*! tool_print_man() : the manual page, as troff, from the same table. */
void tool_print_man(FILE *out);

/* ---- inputs.c: the names to process ---------------------------------- */

/*! inputs_collect() : the items of a run as a JSON array of names: the
 *  words after ":::", then each --input-list file, and, when neither was
 *  given, standard input.  Names end at a newline or, with -0, at a NUL;
 *  empty names are skipped.  @return 0, or -1 with msg filled. */
int inputs_collect(const tool_args *a, json_t **names, char *msg,
                   size_t msgsize);

/*! inputs_stored_pout() : --read_pout: a stored pout answers for the same
 *  inputs in the same order only; a pout of other inputs would be taken
 *  for this run's results (run and plan refuse it).  Only the inputs are
 *  compared, not the command.  A file that cannot be read is no cache
 *  (the run happens), as bmp_pipeline_cached() says.  @return 0 with
 *  *stored the pout (the caller frees it), or NULL to run; -1 with msg
 *  when it is another run's. */
int inputs_stored_pout(const tool_args *a, const json_t *names,
                       bmp_pout **stored, char *msg, size_t msgsize);

/* ---- placeholders.c: ours and GNU parallel's ------------------------ */

typedef struct placeholder_values {
    const char *in, *out, *outdir, *stem, *ext;
    /* GNU parallel's: {/} {//} {.} {/.} {#} {%} ({} is {in}) */
    const char *base, *dir, *noext, *base_noext, *seq, *slot;
} placeholder_values;

/*! placeholder_check() : -1 with msg filled when a word holds placeholder
 *  syntax ({name}) that is no placeholder; 0 otherwise. */
int placeholder_check(char *const words[], int n, char *msg, size_t msgsize);
/*! placeholders_used() : 1 when any word holds a placeholder. */
int placeholders_used(char *const words[], int n);
/*! placeholder_used() : 1 when any word holds `name` ("{out}"). */
int placeholder_used(char *const words[], int n, const char *name);
/*! placeholders_argv() : the words with placeholders replaced, and {in}
 *  appended when no word holds one; NULL-terminated, malloc'd (free
 *  with placeholders_argv_free).  NULL on ENOMEM. */
char **placeholders_argv(char *const words[], int n,
                         const placeholder_values *v);
void placeholders_argv_free(char **argv);
/*! placeholders_shell() : the words joined by spaces as shell text, with
 *  placeholders replaced by shell-quoted values ({in} appended, quoted,
 *  when none is used).  malloc'd; NULL on ENOMEM. */
char *placeholders_shell(char *const words[], int n,
                         const placeholder_values *v);
/*! shell_quote() : `s` as one shell word in single quotes; malloc'd. */
char *shell_quote(const char *s);
/*! name_stem_ext() : the basename of `path` split at its extension, as
 *  SPEC.md's output names split it: "d/a.tar.gz" -> "a.tar", ".gz";
 *  ".hidden" -> ".hidden", "".  Both malloc'd.  @return 0, or -1 when
 *  out of memory. */
int name_stem_ext(const char *path, char **stem, char **ext);
/*! outname_for() : the output name of input `in`: bmp_outname_create()'s,
 *  with its extension (the last dot-suffix of its base name) replaced by
 *  `out_ext` when that is not NULL (--out-ext).  @return 0 with *out
 *  malloc'd, or the library's negative error. */
int outname_for(const char *in, const json_t *kw, const json_t *meta,
                const char *out_ext, char **out);

/* ---- spawn.c: run a program, capture its output ----------------------- */

/* Bytes of a stream kept in memory: the first `max` (head) or the last
 * `max` (tail); `total` counts all that arrived. */
typedef struct capture {
    char *buf;
    size_t len, cap, max, total; /* cap: the buffer's room, grown as needed */
    int keep_tail;
} capture;

typedef struct spawn_result {
    int exec_errno; /* non-zero: the program could not be started */
    int status;     /* as waitpid() gives it */
    capture out, err;
    double start_epoch;  /* when it started, in seconds since the epoch */
    double runtime_s;    /* from its start to its exit */
    int waited;          /* usage holds the program's figures */
    struct rusage usage; /* from wait4(): the program and what it waited
                            for */
} spawn_result;

typedef struct spawn_options {
    char *const *argv;  /* argv[0] is looked up in PATH, as execvp */
    char *const *envp;  /* the environment for the program */
    int restore_sigint; /* reset SIGINT to its default action */
    bmp_item *item;     /* the item whose worker runs it, or NULL */
} spawn_options;

/*! spawn_run() : runs the program with standard input from /dev/null and
 *  standard output and error captured into r->out and r->err (whose max
 *  and keep_tail the caller sets), and waits for it.  The program leads
 *  a process group of its own, killed when the program ends; the program
 *  is killed when the calling process dies, and with `item` the library
 *  kills its group should the item's worker die.  @return 0 (see r->exec_errno
 *  and r->status), or -errno when the caller could not make the pipes
 *  or fork. */
int spawn_run(const spawn_options *o, spawn_result *r);
void spawn_result_free(spawn_result *r);

/* ---- command_step.c: the per-item step -------------------------------- */

/* What every item runs; shared by the caller and, through the fork, the
 * workers. */
typedef struct command_spec {
    char **words; /* the command with placeholders */
    int nwords;
    int shell;            /* run through sh -c */
    int reject_code;      /* exit code meaning "reject", or -1 */
    const char *meta_dir; /* where each item's BMP_META_FILE lives */
    int restore_sigint;   /* the tool started with SIGINT not ignored */
    int uses_out;         /* some word holds {out}: the item has an output */
    int run_lock_fd;      /* the caller's lock on meta_dir, or -1 */
    pid_t caller;         /* the process that holds it */
    dev_t run_dev;        /* meta_dir's identity, to know the descriptor */
    ino_t run_ino;
    const char *out_ext; /* --out-ext: the output's extension, or NULL */
    int job_meta;        /* --job-meta: the job record in meta */
    size_t max_args;     /* -n: items are groups of up to this many inputs */
    const json_t *kw;    /* the run's keywords (for --dry-run) */
    pid_t *slots;        /* job slots ({%}): the worker holding each, in
                            memory shared with the workers; may be NULL */
    size_t nslots;
} command_spec;

/* Bytes of an item's standard error kept in its meta (the last ones). */
#define STDERR_KEEP (64 * 1024)
/* Bytes of standard output read to find a JSON object; text that is not
 * one is kept in meta up to STDOUT_KEEP bytes. */
#define STDOUT_READ (4 * 1024 * 1024)
#define STDOUT_KEEP (64 * 1024)

/* ---- temp_out.c: temporaries for {out}, claims, the run's folder ---- */

/*! temp_out_template() : the temporary for the final output `final`,
 *  ".<basename>.bmp-XXXXXX<ext>" in the same directory, with the offset
 *  of the six X in *xoff; malloc'd, NULL with errno on failure. */
char *temp_out_template(const char *final, size_t *xoff);
/*! temp_out_create() : fills the X of `temp`, claims it in `claim` (with
 *  `final`), creates it (O_EXCL, 0666 & ~umask) and locks it (flock).
 *  @return the locked descriptor (close-on-exec), or -errno. */
int temp_out_create(char *temp, size_t xoff, const char *claim,
                    const char *final);
/*! temp_out_matches() : 1 when `temp` is exactly a temporary name of
 *  `final` (same directory, the pattern above). */
int temp_out_matches(const char *final, const char *temp);
/*! temp_out_remove_if_dead() : removes the regular file `path` when its
 *  lock can be taken (its creator is gone).  @return 1 when removed. */
int temp_out_remove_if_dead(const char *path);
/*! temp_out_sweep() : removes the unheld temporaries beside the final
 *  outputs of `names` (one directory read per output directory), named
 *  as outname_for() names them.
 *  @return how many were removed. */
size_t temp_out_sweep(const json_t *names, const json_t *kw,
                      const char *out_ext);

/*! claim_path() : where item `index` claims its temporary; malloc'd,
 *  NULL on ENOMEM. */
char *claim_path(const char *dir, size_t index);
/*! claim_release() : removes the temporary a whole claim names when no
 *  one holds it, then the claim; nothing when there is no claim. */
void claim_release(const char *claim);

/*! run_dir_make() : the run's private folder, TMPDIR/bmp-run-XXXXXX,
 *  locked through *lock_fd (close-on-exec) for the life of the run.
 *  @return 0 or -errno. */
int run_dir_make(char **dir, int *lock_fd);
/*! run_dir_remove() : releases the folder's claims, then removes it. */
void run_dir_remove(const char *dir);
/*! run_dirs_sweep() : removes the folders in TMPDIR of runs that are
 *  gone (their lock can be taken), with the temporaries their claims
 *  name.  @return how many folders were removed. */
size_t run_dirs_sweep(void);

/*! command_line() : the program's argv for input `in` (item `index`,
 *  job slot `slot`), with `out` as {out}; what command_file_process runs
 *  (for --dry-run).  NULL on ENOMEM; free with placeholders_argv_free. */
char **command_line(const command_spec *spec, const char *in, const char *out,
                    size_t index, unsigned slot);
/*! command_file_process() : a bmp_ops.file_process that runs the
 *  command of the pipe's user pointer (a command_spec) for one item. */
int command_file_process(bmp_item *item, char **outname);
/*! command_chunk_process() : the same for -n: the item is a group of
 *  input names, run by one program start; the per-input results go in
 *  the group's meta under CHUNK_RESULTS, and the group fails when one of
 *  its inputs does. */
int command_chunk_process(bmp_item *item, char **outname);
/*! command_chunk_line() : the argv of one program start for the inputs
 *  ins[0..n) with outs[i] as their {out} (for --dry-run); NULL on ENOMEM;
 *  free with placeholders_argv_free. */
char **command_chunk_line(const command_spec *spec, const char *const *ins,
                          char *const *outs, size_t n, size_t index,
                          unsigned slot);
#define CHUNK_RESULTS "bmp_inputs"

/* ---- chunks.c: -n N, the inputs in groups ----------------------------- */

/*! chunks_make() : the names in groups of up to max_args, in order; a new
 *  reference, NULL on ENOMEM. */
json_t *chunks_make(const json_t *names, size_t max_args);
/*! chunks_expand() : replaces *pout, one entry per group, by the pout of
 *  one entry per input (the group's stats shared).  @return 0 or a
 *  negative code with err set; *pout is unchanged then. */
int chunks_expand(bmp_pout **pout, bmp_error *err);

/* ---- progress.c: the progress line ------------------------------------ */

typedef struct progress_state {
    FILE *out;
    int drawn; /* a line is on the screen */
} progress_state;

/*! progress_update() : a bmp_progress_fn that redraws the line. */
void progress_update(const bmp_progress *p, void *arg);
/*! progress_finish() : leaves the final line and ends it with a newline. */
void progress_finish(progress_state *s);
/*! format_bytes() : "1.5 GiB"; returns buf. */
const char *format_bytes(int64_t bytes, char *buf, size_t size);

/* ---- file_args.c: the command line of merge and report --------------- */

/*! file_args_order() : argv with the options first, then "--" and the
 *  files, so that options may come anywhere among the files; after "--"
 *  every argument is a file.  An argument starting with '-' stays an
 *  option, for the parser to refuse if it is none.  On success *ordered
 *  is a malloc'd NULL-terminated array of argv's strings (free the array
 *  only) and the count is returned; -1 out of memory, -2 for -o or
 *  --output without its FILE (*ordered untouched). */
int file_args_order(int argc, char **argv, char ***ordered);

/* ---- the subcommands --------------------------------------------------- */

int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
