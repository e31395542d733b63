/*
 * options.c -- every option of the command, once: name, argument, the
 * subcommands that take it, and its help text.  Parsing, --help and the
 * manual page (--man, stored as doc/bigmultipipe.1) are all made from the
 * tables below, so they cannot disagree.
 *
 * The options every bigmultipipe program shares (outdir, num_processes,
 * ...) belong to the library: their names and help come from
 * bmp_args_help() and their values are parsed by bmp_args_parse(), so a
 * new library option reaches the command without a change here.
 *
 * In long option names "-" and "_" are the same: the library's options
 * keep the Python package's spelling (--num_processes), the command's own
 * read as GNU tools' do (--input-list), and either spelling works.
 */
#include "tool.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
    O_LIB,
    O_JOBS,
    O_INPUT_LIST,
    O_NULL,
    O_SHELL,
    O_REJECT_CODE,
    O_OUTPUT,
    O_EXPAND,
    O_TIMEOUT,
    O_RETRIES,
    O_OVERWRITE,
    O_JOURNAL,
    O_RESUME,
    O_FORCE_RESUME,
    O_QUIET,
    O_SHARD,
    O_EXECUTOR,
    O_OUT_EXT,
    O_DRY_RUN,
    O_HALT,
    O_JOB_META,
    O_MAX_ARGS,
    O_SPREAD,
    O_ADAPTIVE,
    O_REPORT,
    O_HELP
};

typedef struct tool_option {
    enum opt_id id;
    const char *name;  /* long name without "--", or NULL */
    char short_name;   /* or 0 */
    const char *arg;   /* metavar; NULL for a flag */
    unsigned commands; /* CMD_ bits */
    const char *group;
    const char *help;
} tool_option;

#define RP (CMD_RUN | CMD_PLAN)

static const char G_INPUT[] = "Inputs";
static const char G_COMMAND[] = "The command";
static const char G_OUTPUT[] = "Output";
static const char G_SHARED[] =
    "Outputs and resources (the options of every bigmultipipe program)";
static const char G_RESOURCES[] = "More resources";
static const char G_RELIABILITY[] = "Reliability";
static const char G_CLUSTER[] = "On a cluster";
static const char G_GENERAL[] = "General";

static const tool_option tool_options[] = {
    {O_INPUT_LIST, "input-list", 'a', "FILE", RP, G_INPUT,
     "read input names from FILE, one a line (\"-\": standard input); "
     "may be repeated"},
    {O_NULL, "null", '0', NULL, RP, G_INPUT,
     "input names end with a NUL byte, not a newline (find -print0)"},
    {O_SHELL, "shell", 0, NULL, CMD_RUN, G_COMMAND,
     "run the command words as shell text with sh -c; placeholders become "
     "shell-quoted values"},
    {O_REJECT_CODE, "reject-code", 0, "N", CMD_RUN, G_COMMAND,
     "exit code (1-255) by which the command rejects an item: no output, "
     "meta {}"},
    {O_OUT_EXT, "out-ext", 0, "EXT", CMD_RUN, G_COMMAND,
     "the output name ends with EXT (\".gz\") instead of the input's "
     "extension: gzip -c {in} > {out} with --out-ext .gz writes "
     "NAME_bmp.gz for NAME.txt; {out}'s temporary ends with EXT too"},
    {O_DRY_RUN, "dry-run", 0, NULL, CMD_RUN, G_COMMAND,
     "print the command line of each item, one a line, words quoted as a "
     "shell would need them ({out} as its temporary's pattern, XXXXXX "
     "standing for the letters drawn when it runs), and run nothing"},
    {O_MAX_ARGS, "max-args", 'n', "N", CMD_RUN, G_COMMAND,
     "start the program once for up to N inputs (xargs -n N, GNU "
     "parallel's -X): each word that holds a per-input placeholder ({in}, "
     "{out}, {/}, {.} ...) is repeated once per input, in order; each "
     "input keeps its own {out} temporary and its own entry in the pout"},
    {O_SPREAD, NULL, 'X', NULL, CMD_RUN, G_COMMAND,
     "as -n N, with N chosen so that each job gets about four groups "
     "(GNU parallel's -X spreads the inputs over the jobs too)"},
    {O_JOB_META, "job-meta", 0, NULL, CMD_RUN, G_OUTPUT,
     "add GNU parallel's joblog to each item's meta, as \"job\": seq (the "
     "item's number, from 1), start (seconds since the epoch), runtime "
     "(seconds), exit (the exit code, or null) and signal (the name of the "
     "signal that killed the command, or null), cpu_s and peak_rss (the "
     "command's own CPU seconds and peak resident bytes); a rejected item "
     "keeps meta {}"},
    {O_OUTPUT, "output", 'o', "FILE", CMD_RUN | CMD_MERGE | CMD_REPORT,
     G_OUTPUT,
     "write the pout (JSON Lines) to FILE instead of standard output; for "
     "report, the page (default report.html)"},
    {O_REPORT, "report", 0, "FILE", CMD_RUN | CMD_DEMO, G_OUTPUT,
     "write the run's report page (HTML: timeline, memory, failures) to "
     "FILE, rewritten every few seconds during the run and at its end"},
    {O_JOBS, NULL, 'j', "N", RP | CMD_DEMO, G_SHARED,
     "the same as --num_processes N; also GNU parallel's P% (P percent of "
     "the physical cores), +N and -N (that many cores more or fewer), "
     "one worker at least"},
    {O_EXPAND, "process_expand_factor", 0, "F", RP, G_RESOURCES,
     "memory one item needs, as F times its input's size (when "
     "--process_size is not given)"},
    {O_ADAPTIVE, "adaptive", 0, NULL, RP, G_RESOURCES,
     "learn the memory an item needs from the items that finished (their "
     "peak resident memory, the command's own included), starting from "
     "--process_expand_factor or --process_size"},
    {O_TIMEOUT, "timeout", 0, "SECONDS", CMD_RUN, G_RELIABILITY,
     "kill an item's command after SECONDS; the item ends as timed_out"},
    {O_RETRIES, "retries", 0, "N", CMD_RUN, G_RELIABILITY,
     "run a failed, crashed or timed-out item up to N more times"},
    {O_HALT, "halt", 0, "WHEN", CMD_RUN, G_RELIABILITY,
     "stop the run early, as GNU parallel's --halt: never (the default); "
     "now,fail=N or soon,fail=N after N failed items; now,fail=P% or "
     "soon,fail=P% once P percent of the items have failed; "
     "now,success=N or soon,success=N after N succeeded (or P%); "
     "now,done=N or soon,done=N after N ended, failed or not (or P%); "
     "GNU parallel's older 0 (never), 1 (soon,fail=1), 2 (now,fail=1), "
     "-1 (soon,success=1), -2 (now,success=1), P% (soon,fail=P%). now ends "
     "the "
     "running items at once (they stay not_run), soon lets them finish; "
     "neither starts another. Exit status: 1 after a halt on failure, 0 "
     "after one on success, after one on done: 1 if an item failed"},
    {O_OVERWRITE, "overwrite", 0, NULL, CMD_RUN, G_RELIABILITY,
     "run items whose output already exists, replacing it"},
    {O_JOURNAL, "journal", 0, "FILE", CMD_RUN, G_RELIABILITY,
     "record each item in FILE as it finishes, so that an interrupted run "
     "can resume"},
    {O_RESUME, "resume", 0, NULL, CMD_RUN, G_RELIABILITY,
     "with --journal: take the results of items the journal holds instead "
     "of running them again; a journal of another run (other inputs, "
     "outdir, outname_append, outname or command) is refused"},
    {O_FORCE_RESUME, "force-resume", 0, NULL, CMD_RUN, G_RELIABILITY,
     "with --resume: take a journal of another run anyway, and make it "
     "this run's"},
    {O_SHARD, "shard", 0, "I/N", CMD_RUN, G_CLUSTER,
     "run only the items whose position p (from 0) has p % N == I, one "
     "task of a job array; the others stay not_run with the error \"item "
     "of shard K/N\", and bigmultipipe merge joins the shards' pouts. "
     "\"auto/N\": I is Slurm's SLURM_ARRAY_TASK_ID, so the job array's "
     "task ids are the shard numbers 0 to N-1 (sbatch --array=0-3 for "
     "auto/4; a lost task K is submitted again with --array=K)"},
    {O_EXECUTOR, "executor", 0, "NAME", CMD_RUN, G_CLUSTER,
     "where items run: process (default: worker processes on this "
     "machine), serial (one at a time, in this process) or mpi (across "
     "the ranks of an MPI job started with mpirun or srun: rank 0 writes "
     "the pout, the journal and the summary, the other ranks run the "
     "items; the inputs must come after ::: or from --input-list files, "
     "not from standard input; needs a command built with MPI)"},
    {O_QUIET, "quiet", 'q', NULL, CMD_RUN, G_GENERAL,
     "no progress line and no summary on standard error"},
    {O_HELP, "help", 'h', NULL, RP | CMD_DEMO | CMD_MERGE | CMD_REPORT,
     G_GENERAL, "print this help and exit"},
};

#define N_TOOL_OPTIONS (sizeof tool_options / sizeof *tool_options)

/* The order in which groups are shown. */
static const char *const groups[] = {G_INPUT,   G_COMMAND,   G_OUTPUT,
                                     G_SHARED,  G_RESOURCES, G_RELIABILITY,
                                     G_CLUSTER, G_GENERAL};

/* ---- prose shared by --help and the manual page ----------------------- */

typedef struct pair {
    const char *term, *text;
} pair;

static const char *const synopsis[] = {
    "run [OPTIONS] -- COMMAND [ARGS...] [::: INPUTS...]",
    "plan [OPTIONS] [-- COMMAND...] [::: INPUTS...]",
    "demo [-j N] [--report FILE]",
    "merge [-o FILE] POUT...",
    "report [-o FILE] POUT_OR_JOURNAL",
    "--version | --help | --man",
};

static const char summary_text[] =
    "run a program over many files in parallel, within the machine's "
    "cores and memory";

static const char *const description[] = {
    "bigmultipipe runs an existing program once per input file, in "
    "parallel worker processes, as many as the machine's physical cores "
    "and memory allow. The program reads its input and writes its output "
    "itself; bigmultipipe gives it the names, keeps the metadata it "
    "prints and its standard error, and reports one result per input, "
    "in input order, as JSON Lines: the pout.",
    "The program runs without a shell unless --shell is given, so names "
    "with spaces, quotes or newlines reach it unchanged. Its standard "
    "input is /dev/null. It leads a process group of its own: when it "
    "exits, whatever it left running in that group is killed, and a "
    "kill 0 in it reaches that group only. It and its group are killed "
    "when its worker dies, for instance at a --timeout.",
    "The program writes {out} under a temporary name beside the output, "
    "which is renamed to the output name only when the item succeeds: a "
    "failed, rejected, killed or timed-out item leaves an earlier output "
    "as it was. The temporary exists, empty, when the program starts; a "
    "program that refuses to write over an existing file needs its own "
    "option for that (such as -f or -y).",
    "The first SIGINT (Ctrl-C) or SIGTERM stops a run: no new items "
    "start, running commands are ended, and the pout lists the items "
    "not finished as not_run; a second one ends bigmultipipe at once. "
    "With --journal, the same command line with --resume added finishes "
    "the run, also after a SIGKILL.",
};

static const pair commands[] = {
    {"run", "Runs COMMAND once per input. Inputs are the words after :::, the "
            "names in each --input-list file, or, when neither is given, the "
            "names on standard input, one a line. When no word of the command "
            "holds a placeholder, {in} is appended as its last argument."},
    {"plan",
     "Prints what a run with the same options and inputs would use (the "
     "physical cores, the memory available, the memory budget, the memory "
     "one item needs and the number of workers) and runs nothing. A "
     "command after -- is accepted and ignored, so that run can be "
     "replaced by plan in a command line."},
    {"demo", "Runs the example of the Python package's documentation: ten "
             "1000 x 2000 float64 .npy arrays through a pipeline of pre- and "
             "post-processing steps, in a temporary directory, and prints the "
             "listing that the Python package prints."},
    {"merge",
     "Joins the pouts of the shards of one run (run --shard I/N, one "
     "pout per shard, given in any order) into the pout the run would "
     "have made unsharded: for each item, the entry of the shard that "
     "finished it. The pouts must list the same items in the same order; "
     "an item finished by two of them must have the same result in both. "
     "Options may come anywhere among the pouts; after -- every argument "
     "is a pout. A summary of the merged pout goes to standard error "
     "(\"N items: X ok, Y no output, Z failed, W not run\"). Exit status "
     "0 when every item succeeded or was rejected, as for run; 1 when "
     "some failed or finished in no shard (their count is printed; they "
     "stay not_run), or a pout could not be read for want of memory or an "
     "input/output error; 2 on a usage error, a pout that is missing or "
     "not a pout, or pouts that are not shards of one run."},
    {"report",
     "Writes the report page of a run from its pout or its journal "
     "(run -o or --journal; a journal of a run going on shows the items "
     "finished so far): one HTML file that needs no network, with a "
     "summary, a timeline of the items on their workers, the memory of "
     "the running items against the budget, estimates against use, and "
     "the slowest items and every failure in a table that sorts by "
     "column. Exit status 0, or 2 when the file cannot be read or is not "
     "a pout, 1 when the page cannot be written."},
};

static const pair placeholders[] = {
    {"{in}", "the input name, as given"},
    {"{out}",
     "where the command writes its output: a temporary .NAME.bmp-XXXXXX.EXT "
     "beside the output name NAME (outdir, then the input's stem, "
     "outname_append and extension, or --out-ext: d/a.tar.gz gives "
     "./a.tar_bmp.gz), renamed to NAME when the item succeeds"},
    {"{outdir}", "the value of --outdir (default .)"},
    {"{stem}", "the input's base name without its extension"},
    {"{ext}", "the input's extension with its dot, or nothing"},
    {"{}", "the input name, as {in} (GNU parallel's)"},
    {"{/}", "the input's base name"},
    {"{//}", "the input's directory (. when it has none)"},
    {"{.}", "the input name without its extension"},
    {"{/.}", "the input's base name without its extension"},
    {"{#}", "the item's number, from 1, in input order"},
    {"{%}",
     "the job slot: the number of the worker that runs the item, from 1 "
     "to the number of workers"},
};

static const char placeholders_note[] =
    "A name in braces made of letters, digits and _ . / # % = - (not "
    "after a $) that is none of these is a usage error, never passed on "
    "as it is; other text in braces, such as the awk program '{ print $1 "
    "}' (with a space), ${HOME} or {a,b}, is left as it is. The extension "
    "is the last dot-suffix of the base name; a hidden name (.profile) "
    "has none. A relative name, base name or directory that starts with "
    "- is given as ./-NAME, so that no program takes it for an option. A "
    "command without {out} has no output: no temporary is made, and an "
    "existing file of the output name does not matter. Inputs that are "
    "FIFOs, sockets or devices fail without running the command; "
    "directories are given to it.";

static const char *const metadata_text[] = {
    "A JSON object that the command prints on standard output becomes "
    "the item's meta. The command may instead, or also, write one to the "
    "file named by the environment variable BMP_META_FILE, which is set "
    "for each item; its keys win over those printed. Standard output "
    "that is not a JSON object, white space and NUL bytes included, is "
    "kept in meta under \"stdout\" (its first 64 KiB; "
    "\"stdout_truncated\" then counts the bytes left out), and standard "
    "error under \"stderr\" (its last 64 KiB; \"stderr_truncated\"). "
    "BMP_META_FILE, when not empty or white space, must be a regular file "
    "of at most 4 MiB holding a JSON object and no NUL byte, or the item "
    "fails.",
    "Exit code 0: the item succeeded; when the command wrote something "
    "at {out} (a file that is not empty), it is renamed to the output "
    "name, which becomes the item's outname; else outname is null and "
    "an older file of that name is left as it was. Without --overwrite "
    "the rename never replaces a file, even one that appeared while the "
    "command ran. The --reject-code: the item is "
    "rejected, with outname null and meta {}. Any other code, or death by "
    "a signal: the item fails, its error says \"command exited with code "
    "N\" or \"command killed by signal SIGNAME\" and the last line of "
    "standard error. What a rejected or failed command wrote at {out} is "
    "removed.",
};

static const char *const output_text[] = {
    "The pout has one JSON object per input, one a line, in input order, "
    "with in_name, outname (null when none), meta, status (ok, no_output, "
    "failed, crashed, timed_out or not_run), error (null or a message) "
    "and stats (wall_s, cpu_s, peak_rss, attempts). cpu_s and peak_rss "
    "include the command's own (its CPU time, and its peak resident memory "
    "added to its worker's), which is also what the scheduler learns from. "
    "Names that are not UTF-8 are written as Python's surrogateescape "
    "writes them.",
    "A summary goes to standard error: \"N items: X ok, Y no output, Z "
    "failed in T s\" (with \", W not run\" after an interruption; with "
    "--shard, \"N items of shard I/N (M in all): ...\", counting the "
    "shard's items only). When "
    "standard error is a terminal, a progress line "
    "above it shows the items done, failed, the rate, the time left, the "
    "workers and the memory in use against the budget. Nothing else is "
    "written to standard error unless something goes wrong.",
};

static const pair exit_statuses[] = {
    {"0", "every item succeeded or was rejected (with --shard: every item "
          "of the shard), or a --halt on success stopped the run; also an "
          "empty list of inputs (nothing to run)"},
    {"1", "some items failed or were not run, or the run could not be made "
          "(with --shard, other shards' items do not count); also after a "
          "--halt on failure (GNU parallel exits with the failing job's "
          "code instead, which 2 would confuse with a usage error)"},
    {"2", "usage error: unknown option, bad value, no command, no inputs, "
          "or a run that would write over its own inputs or files"},
};

static const pair environment[] = {
    {"BMP_META_FILE",
     "set for each run of the command: a file in which it may write its "
     "item's meta as a JSON object"},
    {"TMPDIR",
     "where a run keeps its folder (bmp-run-XXXXXX: the metadata files, "
     "and the claims that name each item's temporary), locked while the "
     "run lives; a run removes the folders of runs that were killed, with "
     "the temporaries they name"},
};

static const pair examples[] = {
    {"bigmultipipe run --outdir sorted --create_outdir -- sort -o {out} "
     "{in} ::: *.txt",
     "Sorts each text file into sorted/NAME_bmp.txt."},
    {"find logs -name '*.log' -print0 | bigmultipipe run -0 --shell -- "
     "'grep -c ERROR {in}; true'",
     "Counts the errors of each log; the counts land in meta as \"stdout\"."},
    {"bigmultipipe run -j 4 --process_size 2G --timeout 600 --retries 1 "
     "-o pout.jsonl -- convert {in} -resize 50% {out} ::: *.png",
     "Halves images with at most 4 workers, each given 2 GiB."},
    {"bigmultipipe run --out-ext .gz --shell -- 'gzip -c {in} > {out}' "
     "::: *.txt",
     "Compresses each text file to NAME_bmp.gz."},
    {"bigmultipipe run --dry-run -- convert {} {/.}.png ::: *.jpg",
     "Prints the command line of each item and runs nothing."},
    {"bigmultipipe plan --process_expand_factor 3 ::: *.fits",
     "Shows how many workers a run would get if each item needs three "
     "times its file's size."},
};

/* ---- the library's options, from bmp_args_help() ---------------------- */

typedef struct lib_option {
    char name[64];
    char arg[32]; /* "" for a flag */
    char help[256];
} lib_option;

static lib_option lib_options[32];
static size_t n_lib_options;

/* Reads lines "  --name ARG   help" (ARG absent for a flag). */
static void load_lib_options(void)
{
    if (n_lib_options)
        return;
    const char *p = bmp_args_help();
    while (*p && n_lib_options < sizeof lib_options / sizeof *lib_options) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p += len + (end != NULL);
        char *s = line + strspn(line, " ");
        if (strncmp(s, "--", 2) != 0)
            continue;
        s += 2;
        lib_option *o = &lib_options[n_lib_options];
        size_t n = strcspn(s, " ");
        snprintf(o->name, sizeof o->name, "%.*s", (int)n, s);
        s += n;
        if (*s == ' ')
            s++;
        o->arg[0] = '\0';
        if (*s && *s != ' ') {
            n = strcspn(s, " ");
            snprintf(o->arg, sizeof o->arg, "%.*s", (int)n, s);
            s += n;
        }
        s += strspn(s, " ");
        snprintf(o->help, sizeof o->help, "%s", s);
        n_lib_options++;
    }
}

/* ---- parsing ------------------------------------------------------------ */

/* Names equal with "-" and "_" the same; `len` bytes of `given`. */
static int name_eq(const char *given, size_t len, const char *name)
{
    if (strlen(name) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char a = given[i] == '-' ? '_' : given[i];
        char b = name[i] == '-' ? '_' : name[i];
        if (a != b)
            return 0;
    }
    return 1;
}

static int fail(char *msg, size_t size, const char *fmt, ...) BMP_PRINTF(3, 4);

static int fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return -1;
}

static int push_lib(char ***v, int *n, const char *arg)
{
    char **nv = realloc(*v, (size_t)(*n + 2) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    nv[*n] = strdup(arg);
    if (!nv[*n])
        return -1;
    nv[++*n] = NULL;
    return 0;
}

static int parse_long_int(const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_positive(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* A subcommand's place in synopsis[] and commands[]. */
static size_t command_index(unsigned command)
{
    return command == CMD_RUN     ? 0
           : command == CMD_PLAN  ? 1
           : command == CMD_DEMO  ? 2
           : command == CMD_MERGE ? 3
                                  : 4;
}

/* A whole number from the environment variable `name`: 1, 0 when it is
 * unset or empty, -1 when it holds something else. */
static int env_count(const char *name, long *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    return parse_long_int(v, 0, 1000000000L, out) == 0 ? 1 : -1;
}

/* --shard auto/N: shard I of N, I being this task's SLURM_ARRAY_TASK_ID.
 * The user gives N, not the array: a task submitted again alone
 * (sbatch --array=K, whose array is that one task) is still shard K/N,
 * and an array of some of the shards (--array=3,7) runs those shards.
 * The array's task ids are the shard numbers, so neither its bounds nor
 * its step (SLURM_ARRAY_TASK_MIN, _MAX, _COUNT, _STEP) are read. */
static int shard_auto(const char *count_text, char *text, size_t textsize,
                      char *msg, size_t size)
{
    long id, count;
    if (parse_long_int(count_text, 1, 1000000000L, &count))
        return fail(msg, size,
                    "--shard: \"auto/%s\" needs a shard count N >= 1 (as "
                    "auto/4)",
                    count_text);
    int has_id = env_count("SLURM_ARRAY_TASK_ID", &id);
    if (has_id < 0)
        return fail(msg, size,
                    "--shard auto/%ld: SLURM_ARRAY_TASK_ID is not a whole "
                    "number",
                    count);
    if (!has_id)
        return fail(msg, size,
                    "--shard auto/%ld needs SLURM_ARRAY_TASK_ID, as Slurm "
                    "sets it in a job array (sbatch --array=0-%ld); outside "
                    "one, give --shard I/N",
                    count, count - 1);
    if (id >= count)
        return fail(msg, size,
                    "--shard auto/%ld: SLURM_ARRAY_TASK_ID %ld is not a shard "
                    "number from 0 to %ld (submit the array with "
                    "--array=0-%ld)",
                    count, id, count - 1, count - 1);
    snprintf(text, textsize, "%ld/%ld", id, count);
    return 0;
}

/* --halt WHEN, as GNU parallel's: never, or now|soon , fail|success|done
 * = N or P%; and its older spellings: 0 (never), 1 (soon,fail=1), 2
 * (now,fail=1), -1 (soon,success=1), -2 (now,success=1), P% (soon,fail=P%).
 * @return 0, or -1 with msg. */
static int halt_parse(const char *text, halt_rule *h, char *msg, size_t size)
{
    static const struct {
        const char *old, *now;
    } older[] = {{"0", "never"},
                 {"1", "soon,fail=1"},
                 {"2", "now,fail=1"},
                 {"-1", "soon,success=1"},
                 {"-2", "now,success=1"}};
    memset(h, 0, sizeof *h);
    for (size_t k = 0; k < sizeof older / sizeof *older; k++)
        if (strcmp(text, older[k].old) == 0)
            text = older[k].now;
    if (strcmp(text, "never") == 0)
        return 0;
    const char *p = text;
    if (strncmp(text, "now,", 4) == 0)
        h->when = HALT_NOW, p = text + 4;
    else if (strncmp(text, "soon,", 5) == 0)
        h->when = HALT_SOON, p = text + 5;
    else if (text[0] >= '0' && text[0] <= '9' && text[strlen(text) - 1] == '%')
        h->when = HALT_SOON; /* P%: soon,fail=P% */
    else if (strncmp(text, "fail=", 5) == 0 ||
             strncmp(text, "success=", 8) == 0 ||
             strncmp(text, "done=", 5) == 0)
        /* GNU parallel refuses it too: which of now and soon is meant
         * changes what happens to the running items. */
        return fail(msg, size,
                    "--halt: \"%s\" says why but not when: give now,%s "
                    "(end the running items) or soon,%s (let them finish)",
                    text, text, text);
    if (!h->when)
        return -1;
    if (p == text)
        ; /* P%, counted as failures */
    else if (strncmp(p, "fail=", 5) == 0)
        p += 5;
    else if (strncmp(p, "success=", 8) == 0)
        h->on_success = 1, p += 8;
    else if (strncmp(p, "done=", 5) == 0)
        h->on_done = 1, p += 5;
    else
        return -1;
    size_t n = strlen(p);
    if (n > 1 && p[n - 1] == '%') {
        char num[32];
        char *end;
        if (n > sizeof num)
            return -1;
        memcpy(num, p, n - 1);
        num[n - 1] = '\0';
        errno = 0;
        double v = strtod(num, &end);
        if (end == num || *end || errno || !(v > 0 && v <= 100))
            return -1;
        h->percent = v;
        return 0;
    }
    long v;
    if (parse_long_int(p, 1, 1000000000L, &v))
        return -1;
    h->count = (size_t)v;
    return 0;
}

/* -j as GNU parallel spells it beyond a number: P% of the cores, +N or
 * -N cores more or fewer (at least 1).  The cores are the library's
 * count, bmp_physical_cores(), as the default worker count is.  Any
 * other value goes to the library's --num_processes as it is.
 * @return 0 with out the worker count as text, 1 when not such a form,
 * -1 when such a form is malformed. */
static int jobs_relative(const char *value, char *out, size_t size)
{
    size_t n = strlen(value);
    int percent = n > 1 && value[n - 1] == '%';
    int sign = value[0] == '+' ? 1 : value[0] == '-' ? -1 : 0;
    if (!percent && !sign)
        return 1;
    char num[32];
    if (n >= sizeof num)
        return -1;
    memcpy(num, value + (sign != 0), n - (sign != 0) - percent);
    num[n - (sign != 0) - percent] = '\0';
    char *end;
    errno = 0;
    double v = strtod(num, &end);
    if (end == num || *end || errno || !isfinite(v) || v < 0 ||
        (percent && (sign || v <= 0)) || v > 1e6 ||
        (!percent && v != floor(v)))
        return -1;
    int cores = bmp_physical_cores();
    if (cores < 1)
        cores = 1;
    double workers = percent ? floor(cores * v / 100.0) : cores + sign * v;
    snprintf(out, size, "%.0f", workers < 1 ? 1 : workers);
    return 0;
}

/* Applies one of the command's own options. */
static int apply(const tool_option *o, const char *value, tool_args *a,
                 char ***lib, int *nlib, char *msg, size_t size)
{
    long n;
    double x;
    int rc = 0;
    switch (o->id) {
    case O_JOBS: {
        char count[32];
        rc = jobs_relative(value, count, sizeof count);
        if (rc < 0)
            return fail(msg, size,
                        "-j: \"%s\" is not a worker count: N, P%% (of the "
                        "cores, 0 < P), +N or -N (cores more or fewer)",
                        value);
        if (push_lib(lib, nlib, "--num_processes") ||
            push_lib(lib, nlib, rc == 0 ? count : value))
            return fail(msg, size, "out of memory");
        return 0;
    }
    case O_INPUT_LIST: {
        const char **l = realloc(a->lists,
                                 (size_t)(a->nlists + 1) * sizeof *l);
        if (!l)
            return fail(msg, size, "out of memory");
        a->lists = l;
        l[a->nlists++] = value;
        return 0;
    }
    case O_NULL: a->null_sep = 1; return 0;
    case O_SHELL: a->shell = 1; return 0;
    case O_QUIET: a->quiet = 1; return 0;
    case O_HELP: a->help = 1; return 0;
    case O_OUTPUT: a->output = value; return 0;
    case O_DRY_RUN: a->dry_run = 1; return 0;
    case O_JOB_META: a->job_meta = 1; return 0;
    case O_SPREAD: a->max_args = MAX_ARGS_SPREAD; return 0;
    case O_MAX_ARGS:
        if (parse_long_int(value, 1, 1000000, &n))
            return fail(msg, size,
                        "--max-args: \"%s\" is not a count from 1 to "
                        "1000000",
                        value);
        a->max_args = (size_t)n;
        return 0;
    case O_OUT_EXT:
        /* One extension, with its dot: a slash would move the output to
         * another directory, where no check of the run looks. */
        if (value[0] != '.' || !value[1] || strchr(value, '/') ||
            strlen(value) > 40)
            return fail(msg, size,
                        "--out-ext: \"%s\" is not an extension such as .gz "
                        "(a dot, then up to 39 bytes without a slash)",
                        value);
        a->out_ext = value;
        return 0;
    case O_HALT:
        a->halt_text = value;
        msg[0] = '\0';
        if (halt_parse(value, &a->halt, msg, size) < 0)
            return msg[0] ? -1
                          : fail(msg, size,
                                 "--halt: \"%s\" is not never, now,fail=N, "
                                 "soon,fail=N, now|soon,fail=P%%, "
                                 "now|soon,success=N or P%%, now|soon,done=N "
                                 "or P%%, "
                                 "or GNU parallel's 0, 1, 2, -1, -2, P%% "
                                 "(N >= 1, 0 < P <= 100)",
                                 value);
        return 0;
    case O_REJECT_CODE:
        if (parse_long_int(value, 1, 255, &n))
            return fail(msg, size,
                        "--reject-code: \"%s\" is not an exit code from 1 "
                        "to 255",
                        value);
        a->reject_code = (int)n;
        return 0;
    case O_RETRIES:
        if (parse_long_int(value, 0, 1000000, &n))
            return fail(msg, size,
                        "--retries: \"%s\" is not a count (0 or more)", value);
        rc = bmp_kw_set_int(a->kw, "retries", n);
        break;
    case O_TIMEOUT:
    case O_EXPAND:
        if (parse_positive(value, &x))
            return fail(msg, size, "--%s: \"%s\" is not a positive number",
                        o->name, value);
        rc = bmp_kw_set_real(a->kw, o->name, x);
        break;
    case O_OVERWRITE: rc = bmp_kw_set_bool(a->kw, "overwrite", 1); break;
    case O_ADAPTIVE: rc = bmp_kw_set_bool(a->kw, "adaptive", 1); break;
    case O_RESUME: rc = bmp_kw_set_bool(a->kw, "resume", 1); break;
    case O_FORCE_RESUME: rc = bmp_kw_set_bool(a->kw, "force_resume", 1); break;
    case O_JOURNAL: rc = bmp_kw_set_str(a->kw, "journal", value); break;
    case O_REPORT: rc = bmp_kw_set_str(a->kw, "report", value); break;
    case O_EXECUTOR:
        if (strcmp(value, "mpi") == 0) {
            a->mpi = 1;
            return 0;
        }
        if (strcmp(value, "process") != 0 && strcmp(value, "serial") != 0)
            return fail(msg, size,
                        "--executor: \"%s\" is not process, serial or mpi",
                        value);
        a->mpi = 0;
        rc = bmp_kw_set_str(a->kw, "executor", value);
        break;
    case O_SHARD: {
        char text[64];
        if (strncmp(value, "auto/", 5) == 0) {
            if (shard_auto(value + 5, text, sizeof text, msg, size) < 0)
                return -1;
        } else {
            snprintf(text, sizeof text, "%s", value);
        }
        if (bmp_shard_parse(text, &a->shard_index, &a->shard_count) < 0)
            return fail(msg, size,
                        "--shard: \"%s\" is not I/N with whole numbers 0 <= "
                        "I < N (as 0/4), nor auto/N",
                        value);
        rc = bmp_kw_set_str(a->kw, "shard", text);
        break;
    }
    case O_LIB: break;
    }
    if (rc < 0)
        return fail(msg, size, "out of memory");
    return 0;
}

/* `len` bytes of `given` start the longer `name` ("-" and "_" the
 * same). */
static int name_starts(const char *given, size_t len, const char *name)
{
    if (len == 0 || strlen(name) <= len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((given[i] == '-' ? '_' : given[i]) !=
            (name[i] == '-' ? '_' : name[i]))
            return 0;
    return 1;
}

/* Appends " --PREFIXNAME" to the list in buf, as far as it fits. */
static void list_add(char *buf, size_t size, const char *prefix,
                     const char *name)
{
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, " --%s%s", prefix, name);
}

/* An unambiguous abbreviation of a long option of `command` (--outd for
 * --outdir), as GNU getopt_long and Python's argparse take them: sets
 * *o (the command's own) or *l (the library's; *negated for --no-X).
 * @return 0 (nothing set when nothing matches), or -1 with msg naming
 * the candidates when several match. */
static int abbreviation(const char *name, size_t len, unsigned command,
                        const tool_option **o, const lib_option **l,
                        int *negated, const char *arg, char *msg,
                        size_t msgsize)
{
    char found[512] = "";
    size_t n = 0;
    int neg = strncmp(name, "no-", 3) == 0 || strncmp(name, "no_", 3) == 0;
    for (size_t k = 0; k < N_TOOL_OPTIONS; k++) {
        const tool_option *t = &tool_options[k];
        if (!t->name || !(t->commands & command) ||
            !name_starts(name, len, t->name))
            continue;
        *o = t;
        n++;
        list_add(found, sizeof found, "", t->name);
    }
    for (size_t k = 0; (command & RP) && k < n_lib_options; k++) {
        const lib_option *c = &lib_options[k];
        int as_no = neg && !c->arg[0] &&
                    name_starts(name + 3, len - 3, c->name);
        if (!as_no && !name_starts(name, len, c->name))
            continue;
        int dup = 0; /* the command's option of the same name is the one */
        for (size_t j = 0; j < N_TOOL_OPTIONS && !dup; j++)
            dup = tool_options[j].name &&
                  (tool_options[j].commands & command) &&
                  name_eq(c->name, strlen(c->name), tool_options[j].name);
        if (dup)
            continue;
        *l = c;
        *negated = as_no;
        n++;
        list_add(found, sizeof found, as_no ? "no-" : "", c->name);
    }
    if (n <= 1)
        return 0;
    *o = NULL;
    *l = NULL;
    return fail(msg, msgsize, "%s is ambiguous: it could be%s", arg, found);
}

/* "--" and ":::" end the options: never an option's value (plan
 * --read_pout ::: a b would take ::: for the file). */
static int separator(const char *arg)
{
    return strcmp(arg, "--") == 0 || strcmp(arg, ":::") == 0;
}

static const char *command_name(unsigned command)
{
    static const char *const names[] = {"run", "plan", "demo", "merge",
                                        "report"};
    return names[command_index(command)];
}

int tool_args_parse(int argc, char **argv, unsigned command, tool_args *a,
                    char *msg, size_t msgsize)
{
    memset(a, 0, sizeof *a);
    a->reject_code = -1;
    a->kw = json_object();
    char **lib = NULL;
    int nlib = 0, rc = -1;
    if (!a->kw || push_lib(&lib, &nlib, "bigmultipipe")) {
        fail(msg, msgsize, "out of memory");
        goto out;
    }
    load_lib_options();

    int i = 1;
    for (; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--") == 0 || strcmp(arg, ":::") == 0 ||
            arg[0] != '-' || arg[1] == '\0')
            break;
        const tool_option *o = NULL;
        const char *value = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            size_t len = strcspn(name, "=");
            if (name[len] == '=')
                value = name + len + 1;
            for (size_t k = 0; k < N_TOOL_OPTIONS && !o; k++)
                if (tool_options[k].name &&
                    name_eq(name, len, tool_options[k].name))
                    o = &tool_options[k];
            const lib_option *l = NULL;
            int negated = 0;
            if (!o) {
                negated = strncmp(name, "no-", 3) == 0 ||
                          strncmp(name, "no_", 3) == 0;
                const char *base = negated ? name + 3 : name;
                size_t blen = negated ? len - 3 : len;
                for (size_t k = 0; k < n_lib_options && !l; k++)
                    if (name_eq(base, blen, lib_options[k].name))
                        l = &lib_options[k];
                if (!l && abbreviation(name, len, command, &o, &l, &negated,
                                       arg, msg, msgsize) < 0)
                    goto out;
            }
            if (!o) {
                /* One of the library's options. */
                if (!l || !(command & RP) || (negated && l->arg[0])) {
                    fail(msg, msgsize, "%s: unknown option for %s", arg,
                         command_name(command));
                    goto out;
                }
                char canon[80];
                snprintf(canon, sizeof canon, "--%s%s", negated ? "no-" : "",
                         l->name);
                if (push_lib(&lib, &nlib, canon))
                    goto oom;
                if (l->arg[0]) {
                    if (!value) {
                        if (i + 1 >= argc || separator(argv[i + 1])) {
                            fail(msg, msgsize, "%s needs a value (%s)%s%s",
                                 arg, l->arg, i + 1 < argc ? " before " : "",
                                 i + 1 < argc ? argv[i + 1] : "");
                            goto out;
                        }
                        value = argv[++i];
                    }
                    /* An empty name would be read as "none" by some
                     * and as the current directory by others. */
                    if (!*value && strcmp(l->arg, "FILE") == 0) {
                        fail(msg, msgsize,
                             "%s needs a file name, not an "
                             "empty string",
                             canon);
                        goto out;
                    }
                    if (push_lib(&lib, &nlib, value))
                        goto oom;
                } else if (value) {
                    fail(msg, msgsize, "%s takes no value", canon);
                    goto out;
                }
                continue;
            }
        } else {
            for (size_t k = 0; k < N_TOOL_OPTIONS && !o; k++)
                if (tool_options[k].short_name == arg[1])
                    o = &tool_options[k];
            if (o && arg[2]) {
                if (!o->arg) {
                    fail(msg, msgsize,
                         "%s: unknown option (give short "
                         "options one at a time)",
                         arg);
                    goto out;
                }
                value = arg + 2; /* -j4 */
            }
        }
        if (!o || !(o->commands & command)) {
            fail(msg, msgsize, "%s: unknown option for %s", arg,
                 command_name(command));
            goto out;
        }
        if (o->arg && !value) {
            if (i + 1 >= argc || separator(argv[i + 1])) {
                fail(msg, msgsize, "%s needs a value (%s)%s%s", arg, o->arg,
                     i + 1 < argc ? " before " : "",
                     i + 1 < argc ? argv[i + 1] : "");
                goto out;
            }
            value = argv[++i];
        } else if (!o->arg && value) {
            fail(msg, msgsize, "%s takes no value", arg);
            goto out;
        }
        if (o->arg && !*value && strcmp(o->arg, "FILE") == 0) {
            if (o->name)
                fail(msg, msgsize,
                     "--%s needs a file name, not an empty "
                     "string",
                     o->name);
            else
                fail(msg, msgsize,
                     "-%c needs a file name, not an empty "
                     "string",
                     o->short_name);
            goto out;
        }
        if (apply(o, value, a, &lib, &nlib, msg, msgsize))
            goto out;
    }

    /* The command, up to ":::", then the inputs. */
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    int start = i;
    while (i < argc && strcmp(argv[i], ":::") != 0)
        i++;
    a->command = argv + start;
    a->ncommand = i - start;
    if (i < argc) {
        a->inputs = argv + i + 1;
        a->ninputs = argc - i - 1;
    }
    /* One ":::" only: a second one is a mistake (a pasted line, a
     * habit from GNU parallel, where it starts another input source),
     * never an input of that name. */
    for (int k = 0; k < a->ninputs; k++) {
        if (strcmp(a->inputs[k], ":::") == 0) {
            fail(msg, msgsize,
                 "a second ::: among the inputs; give every "
                 "input after one :::");
            goto out;
        }
    }
    if ((command == CMD_MERGE || command == CMD_REPORT) && a->inputs) {
        fail(msg, msgsize,
             "%s takes pout files, not :::", command_name(command));
        goto out;
    }
    if (command == CMD_DEMO && (a->ncommand || a->inputs)) {
        fail(msg, msgsize, "demo takes no command and no inputs (%s)",
             a->ncommand ? a->command[0] : ":::");
        goto out;
    }

    /* bmp_args_parse() compacts the array it is given: give it a copy,
     * so that `lib` still holds every string to free. */
    char **pass = malloc((size_t)(nlib + 1) * sizeof *pass);
    if (!pass)
        goto oom;
    memcpy(pass, lib, (size_t)(nlib + 1) * sizeof *pass);
    int npass = nlib;
    bmp_error err = {0};
    int prc = bmp_args_parse(&npass, pass, a->kw, &err);
    free(pass);
    if (prc < 0) {
        fail(msg, msgsize, "%s", err.text);
        goto out;
    }
    /* The command line's outdir defaults to ".", as the argparse mixin's
     * does, so output names read "./name" like Python's. */
    if (!bmp_kw_has(a->kw, "outdir") &&
        bmp_kw_set_str(a->kw, "outdir", ".") < 0)
        goto oom;
    if (bmp_kw_bool(a->kw, "resume", 0) && !bmp_kw_has(a->kw, "journal")) {
        fail(msg, msgsize, "--resume needs --journal FILE");
        goto out;
    }
    if (bmp_kw_bool(a->kw, "force_resume", 0) &&
        !bmp_kw_bool(a->kw, "resume", 0)) {
        fail(msg, msgsize, "--force-resume needs --resume");
        goto out;
    }
    rc = 0;
    goto out;
oom:
    fail(msg, msgsize, "out of memory");
out:
    for (int k = 0; lib && k < nlib; k++)
        free(lib[k]);
    free(lib);
    return rc;
}

void tool_args_free(tool_args *a)
{
    json_decref(a->kw);
    free(a->lists);
    memset(a, 0, sizeof *a);
}

/* ---- --help ------------------------------------------------------------- */

#define WIDTH 79

/* Prints `text` from column `col` (the cursor is there), wrapped at WIDTH
 * with later lines indented by `indent`. */
static void wrap(FILE *out, const char *text, int col, int indent)
{
    const char *p = text;
    int first = 1;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (!first && col + 1 + (int)n > WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
            first = 1;
        }
        if (!first) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)n, p);
        col += (int)n;
        first = 0;
        p += n;
        p += strspn(p, " ");
    }
    fputc('\n', out);
}

static void print_term(FILE *out, const char *term, const char *text,
                       int indent)
{
    int col = fprintf(out, "  %s", term);
    if (col + 2 > indent) {
        fprintf(out, "\n%*s", indent, "");
        col = indent;
    } else {
        fprintf(out, "%*s", indent - col, "");
        col = indent;
    }
    wrap(out, text, col, indent);
}

/* The -j alias shown with --num_processes. */
static const tool_option *short_alias(const char *lib_name)
{
    if (strcmp(lib_name, "num_processes") != 0)
        return NULL;
    for (size_t k = 0; k < N_TOOL_OPTIONS; k++)
        if (tool_options[k].id == O_JOBS)
            return &tool_options[k];
    return NULL;
}

static void print_options(FILE *out, unsigned command)
{
    load_lib_options();
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        int header = 0;
        char left[128];
        if (groups[g] == G_SHARED && (command & RP)) {
            fprintf(out, "\n%s:\n", G_SHARED);
            header = 1;
            for (size_t k = 0; k < n_lib_options; k++) {
                const lib_option *l = &lib_options[k];
                const tool_option *s = short_alias(l->name);
                char shorts[8] = "";
                if (s)
                    snprintf(shorts, sizeof shorts, "-%c, ", s->short_name);
                snprintf(left, sizeof left, "%s--%s%s%s", shorts, l->name,
                         l->arg[0] ? " " : "", l->arg);
                print_term(out, left, l->help, 31);
            }
        }
        for (size_t k = 0; k < N_TOOL_OPTIONS; k++) {
            const tool_option *o = &tool_options[k];
            if (o->group != groups[g] || !(o->commands & command))
                continue;
            if (o->id == O_JOBS && (command & RP))
                continue; /* shown with --num_processes */
            if (!header) {
                fprintf(out, "\n%s:\n",
                        o->id == O_JOBS ? "Options" : groups[g]);
                header = 1;
            }
            int n = 0;
            if (o->short_name)
                n += snprintf(left + n, sizeof left - (size_t)n, "-%c%s",
                              o->short_name, o->name ? ", " : "");
            if (o->name)
                n += snprintf(left + n, sizeof left - (size_t)n, "--%s",
                              o->name);
            if (o->arg)
                snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
            print_term(out, left, o->help, 31);
        }
    }
}

static const pair *command_text(unsigned command)
{
    return &commands[command_index(command)];
}

void tool_print_help(FILE *out, unsigned command)
{
    if (command == 0) {
        for (size_t k = 0; k < sizeof synopsis / sizeof *synopsis; k++)
            fprintf(out, "%s bigmultipipe %s\n",
                    k ? "      " : "Usage:", synopsis[k]);
        fputc('\n', out);
        wrap(out, description[0], 0, 0);
        fprintf(out, "\nCommands:\n");
        for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
            print_term(out, commands[k].term, commands[k].text, 8);
        fputc('\n', out);
        wrap(out,
             "Run \"bigmultipipe COMMAND --help\" for the options of "
             "each command, and \"man bigmultipipe\" for the whole "
             "manual.",
             0, 0);
        return;
    }
    const pair *c = command_text(command);
    size_t k = command_index(command);
    fprintf(out, "Usage: bigmultipipe %s\n\n", synopsis[k]);
    wrap(out, c->text, 0, 0);
    print_options(out, command);
    if (command == CMD_RUN) {
        fprintf(out, "\nPlaceholders in COMMAND and ARGS:\n");
        for (size_t p = 0; p < sizeof placeholders / sizeof *placeholders; p++)
            print_term(out, placeholders[p].term, placeholders[p].text, 12);
        wrap(out, placeholders_note, 0, 0);
        fprintf(out, "\nMetadata and exit codes of the command:\n");
        for (size_t p = 0; p < sizeof metadata_text / sizeof *metadata_text;
             p++) {
            fputs(p ? "\n" : "", out);
            wrap(out, metadata_text[p], 0, 0);
        }
        fprintf(out, "\nThe pout:\n");
        wrap(out, output_text[0], 0, 0);
        fprintf(out, "\nExit status:\n");
        for (size_t p = 0; p < sizeof exit_statuses / sizeof *exit_statuses;
             p++)
            print_term(out, exit_statuses[p].term, exit_statuses[p].text, 5);
    }
}

/* ---- --man -------------------------------------------------------------- */

/* Writes text for troff: backslashes escaped, and every dash of a word
 * that starts with one (an option: --input-list) written as a minus, so
 * that the option can be copied from the rendered page. */
static void troff(FILE *out, const char *text)
{
    int option = 0;
    for (const char *p = text; *p; p++) {
        int word_start = p == text || strchr(" (\"|/", p[-1]);
        if (*p == '-' && word_start)
            option = 1;
        else if (strchr(" )\"", *p))
            option = 0;
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-' && option)
            fputs("\\-", out);
        else
            fputc(*p, out);
    }
}

/* An option's name: every dash a minus. */
static void troff_name(FILE *out, const char *name)
{
    for (const char *p = name; *p; p++) {
        if (*p == '-')
            fputs("\\-", out);
        else
            fputc(*p, out);
    }
}

static void troff_line(FILE *out, const char *text)
{
    if (text[0] == '.' || text[0] == '\'')
        fputs("\\&", out);
    troff(out, text);
    fputc('\n', out);
}

static void man_pairs(FILE *out, const pair *pairs, size_t n, int bold)
{
    for (size_t k = 0; k < n; k++) {
        fputs(".TP\n", out);
        fputs(bold ? "\\fB" : "", out);
        troff(out, pairs[k].term);
        fputs(bold ? "\\fR\n" : "\n", out);
        troff_line(out, pairs[k].text);
    }
}

static void man_option(FILE *out, char short_name, const char *name,
                       const char *arg, const char *help)
{
    fputs(".TP\n", out);
    if (short_name)
        fprintf(out, "\\fB\\-%c\\fR%s", short_name, name ? ", " : "");
    if (name) {
        fputs("\\fB\\-\\-", out);
        troff_name(out, name);
        fputs("\\fR", out);
    }
    if (arg) {
        fputs(" \\fI", out);
        troff(out, arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    troff_line(out, help);
}

void tool_print_man(FILE *out)
{
    load_lib_options();
    fprintf(out, ".\\\" The manual of the bigmultipipe command.  Made by "
                 "\"bigmultipipe --man\"\n.\\\" from the option table of "
                 "tools/options.c: edit that, not this file.\n");
    fprintf(out,
            ".TH BIGMULTIPIPE 1 \"\" \"bigmultipipe %s\" "
            "\"User Commands\"\n",
            bmp_version_string());
    fputs(".SH NAME\nbigmultipipe \\- ", out);
    troff_line(out, summary_text);
    fputs(".SH SYNOPSIS\n", out);
    for (size_t k = 0; k < sizeof synopsis / sizeof *synopsis; k++) {
        fputs(k ? ".br\n" : "", out);
        fputs("\\fBbigmultipipe\\fR ", out);
        troff_line(out, synopsis[k]);
    }
    fputs(".SH DESCRIPTION\n", out);
    for (size_t k = 0; k < sizeof description / sizeof *description; k++) {
        fputs(k ? ".PP\n" : "", out);
        troff_line(out, description[k]);
    }
    fputs(".SH COMMANDS\n", out);
    man_pairs(out, commands, sizeof commands / sizeof *commands, 1);
    fputs(".SH OPTIONS\n", out);
    troff_line(out, "In long option names, - and _ are the same. Options "
                    "take their value as --name VALUE or --name=VALUE. "
                    "Sizes are bytes, or a number with K, M, G or T "
                    "(powers of 1024): 512M, 1.5G.");
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        fputs(".SS ", out);
        troff_line(out, groups[g]);
        if (groups[g] == G_SHARED) {
            for (size_t k = 0; k < n_lib_options; k++) {
                const lib_option *l = &lib_options[k];
                const tool_option *s = short_alias(l->name);
                man_option(out, s ? s->short_name : 0, l->name,
                           l->arg[0] ? l->arg : NULL, l->help);
            }
        }
        for (size_t k = 0; k < N_TOOL_OPTIONS; k++) {
            const tool_option *o = &tool_options[k];
            if (o->group != groups[g] || o->id == O_JOBS)
                continue;
            char help[512];
            unsigned c = o->commands;
            snprintf(help, sizeof help, "%s%s", o->help,
                     c == CMD_RUN ? " (run)" : "");
            man_option(out, o->short_name, o->name, o->arg, help);
        }
    }
    fputs(".SH PLACEHOLDERS\n", out);
    man_pairs(out, placeholders, sizeof placeholders / sizeof *placeholders,
              1);
    fputs(".PP\n", out);
    troff_line(out, placeholders_note);
    fputs(".SH METADATA\n", out);
    for (size_t k = 0; k < sizeof metadata_text / sizeof *metadata_text; k++) {
        fputs(k ? ".PP\n" : "", out);
        troff_line(out, metadata_text[k]);
    }
    fputs(".SH OUTPUT\n", out);
    for (size_t k = 0; k < sizeof output_text / sizeof *output_text; k++) {
        fputs(k ? ".PP\n" : "", out);
        troff_line(out, output_text[k]);
    }
    fputs(".SH EXIT STATUS\n", out);
    man_pairs(out, exit_statuses, sizeof exit_statuses / sizeof *exit_statuses,
              1);
    fputs(".SH ENVIRONMENT\n", out);
    man_pairs(out, environment, sizeof environment / sizeof *environment, 1);
    fputs(".SH EXAMPLES\n", out);
    for (size_t k = 0; k < sizeof examples / sizeof *examples; k++) {
        fputs(k ? ".PP\n" : "", out);
        fputs(".nf\n", out);
        troff_line(out, examples[k].term);
        fputs(".fi\n", out);
        troff_line(out, examples[k].text);
    }
    fputs(".SH SEE ALSO\n", out);
    troff_line(out, "parallel(1), xargs(1); doc/cli.md and "
                    "doc/architecture.md of the bigmultipipe sources.");
}
