/*
 * cmd_merge.c -- `bigmultipipe merge`: the pouts of a run's shards (run
 * --shard I/N) joined into the pout of the whole run, by
 * bmp_pout_merge().  The files are read whole: a pout is one line per
 * item, small beside the items' data.
 */
#include "tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *msg)
{
    fprintf(stderr,
            "bigmultipipe merge: %s\n(see bigmultipipe merge --help)\n", msg);
    return EXIT_USAGE;
}

/* A pout that cannot be read for its name (missing, a directory, no
 * permission) or because it is not a pout is a wrong argument; memory
 * or a read error is not. */
static int read_is_usage(int rc)
{
    return rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES || rc == -EISDIR ||
           rc == -ENAMETOOLONG || rc == -ELOOP || rc == BMP_EPOUT ||
           rc == BMP_EINVAL;
}

int cmd_merge(int argc, char **argv)
{
    tool_args a;
    char msg[1024];
    int status = EXIT_USAGE;
    bmp_pout **pouts = NULL;
    int nread = 0;
    char **ordered = NULL;
    int nargs = file_args_order(argc, argv, &ordered);
    if (nargs < 0) {
        if (nargs == -2)
            return usage("-o needs a value (FILE)");
        fprintf(stderr, "bigmultipipe merge: out of memory\n");
        return EXIT_SOME_FAILED;
    }
    if (tool_args_parse(nargs, ordered, CMD_MERGE, &a, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    if (a.help) {
        tool_print_help(stdout, CMD_MERGE);
        status = EXIT_ALL_OK;
        goto out;
    }
    if (a.ncommand == 0) {
        usage("no pout files: give the shards' pouts, as in bigmultipipe "
              "merge -o pout.jsonl shard-*.jsonl");
        goto out;
    }
    pouts = calloc((size_t)a.ncommand, sizeof *pouts);
    if (!pouts) {
        fprintf(stderr, "bigmultipipe merge: out of memory\n");
        status = EXIT_SOME_FAILED;
        goto out;
    }
    bmp_error err = {0};
    for (; nread < a.ncommand; nread++) {
        int rc = bmp_pout_read(a.command[nread], &pouts[nread], &err);
        if (rc < 0) {
            if (read_is_usage(rc)) {
                usage(err.text);
            } else {
                fprintf(stderr, "bigmultipipe merge: %s: %s\n", err.text,
                        bmp_strerror(rc));
                status = EXIT_SOME_FAILED;
            }
            goto out;
        }
    }
    bmp_pout *merged = NULL;
    size_t missing = 0;
    int rc = bmp_pout_merge((const bmp_pout *const *)pouts, (size_t)nread,
                            &merged, &missing, &err);
    if (rc < 0) {
        /* Pouts of different runs are what the command line got wrong;
         * memory is not. */
        fprintf(stderr, "bigmultipipe merge: %s\n", err.text);
        status = rc == BMP_EINVAL ? EXIT_USAGE : EXIT_SOME_FAILED;
        goto out;
    }
    rc = a.output ? bmp_pout_write(merged, a.output, &err)
                  : bmp_pout_write_fp(merged, stdout, &err);
    size_t count = bmp_pout_count(merged), ok = 0, none = 0, not_run = 0;
    for (size_t i = 0; i < count; i++) {
        bmp_status s = bmp_pout_status(merged, i);
        ok += s == BMP_ITEM_OK;
        none += s == BMP_ITEM_NO_OUTPUT;
        not_run += s == BMP_ITEM_NOT_RUN;
    }
    size_t failed = count - ok - none - not_run;
    bmp_pout_free(merged);
    if (rc < 0) {
        fprintf(stderr, "bigmultipipe merge: %s\n", err.text);
        status = EXIT_SOME_FAILED;
        goto out;
    }
    if (missing)
        fprintf(stderr,
                "bigmultipipe merge: %zu of %zu item%s finished in no shard "
                "(a shard missing or cut short); they stay not_run, with the "
                "error \"item of shard K/N\" when a pout of another shard "
                "names K/N\n",
                missing, count, count == 1 ? "" : "s");
    /* The rule of run: 0 when every item succeeded or was rejected. */
    fprintf(stderr,
            "%zu item%s: %zu ok, %zu no output, %zu failed, %zu not run\n",
            count, count == 1 ? "" : "s", ok, none, failed, not_run);
    status = failed || not_run ? EXIT_SOME_FAILED : EXIT_ALL_OK;
out:
    for (int k = 0; k < nread; k++)
        bmp_pout_free(pouts[k]);
    free(pouts);
    tool_args_free(&a);
    free(ordered);
    return status;
}
