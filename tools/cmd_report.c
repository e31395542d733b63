/*
 * cmd_report.c -- `bigmultipipe report`: the report page of a run from
 * its pout or its journal, drawn by the library's bmp_report_html_file(),
 * the same page as run --report.
 */
#include "tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *msg)
{
    fprintf(stderr,
            "bigmultipipe report: %s\n(see bigmultipipe report --help)\n",
            msg);
    return EXIT_USAGE;
}

/* The options first, then "--" and the files, so that -o may come after
 * the file (report pout.jsonl -o page.html); after "--" every argument
 * is a file.  `out` has room for argc + 1 pointers and a NULL.  Returns
 * the count in `out`, -1 out of memory, -2 for -o without its FILE. */
static int report_args_order(int argc, char **argv, char **out)
{
    int n = 0, nfiles = 0;
    char **files = malloc((size_t)(argc + 1) * sizeof *files);
    if (!files)
        return -1;
    out[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            while (++i < argc)
                files[nfiles++] = argv[i];
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            files[nfiles++] = argv[i];
            continue;
        }
        out[n++] = argv[i];
        if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            if (i + 1 >= argc) {
                free(files);
                return -2;
            }
            out[n++] = argv[++i];
        }
    }
    out[n++] = "--";
    for (int k = 0; k < nfiles; k++)
        out[n++] = files[k];
    out[n] = NULL;
    free(files);
    return n;
}

int cmd_report(int argc, char **argv)
{
    tool_args a;
    char msg[1024];
    int status = EXIT_USAGE;
    char **ordered = calloc((size_t)argc + 3, sizeof *ordered);
    if (!ordered) {
        fprintf(stderr, "bigmultipipe report: out of memory\n");
        return EXIT_SOME_FAILED;
    }
    int nargs = report_args_order(argc, argv, ordered);
    if (nargs < 0) {
        free(ordered);
        if (nargs == -2)
            return usage("-o needs a value (FILE)");
        fprintf(stderr, "bigmultipipe report: out of memory\n");
        return EXIT_SOME_FAILED;
    }
    if (tool_args_parse(nargs, ordered, CMD_REPORT, &a, msg, sizeof msg) < 0) {
        usage(msg);
        goto out;
    }
    if (a.help) {
        tool_print_help(stdout, CMD_REPORT);
        status = EXIT_ALL_OK;
        goto out;
    }
    if (a.ncommand != 1) {
        usage(a.ncommand ? "one pout or journal at a time"
                         : "no file: give a pout or a journal, as in "
                           "bigmultipipe report -o report.html "
                           "pout.jsonl");
        goto out;
    }
    const char *in = a.command[0];
    const char *page = a.output ? a.output : "report.html";
    bmp_error err = {0};
    int rc = bmp_report_html_file(in, page, &err);
    if (rc < 0) {
        fprintf(stderr, "bigmultipipe report: %s\n", err.text);
        /* A file that cannot be read or is no pout is the command line's
         * fault; memory, a read error or the page's write are not. */
        int input = strcmp(err.source, in) == 0;
        status = input && rc != -ENOMEM && rc != -EIO ? EXIT_USAGE
                                                      : EXIT_SOME_FAILED;
        goto out;
    }
    status = EXIT_ALL_OK;
out:
    tool_args_free(&a);
    free(ordered);
    return status;
}
