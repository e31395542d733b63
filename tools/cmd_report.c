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

int cmd_report(int argc, char **argv)
{
    tool_args a;
    char msg[1024];
    int status = EXIT_USAGE;
    char **ordered = NULL;
    int nargs = file_args_order(argc, argv, &ordered);
    if (nargs < 0) {
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
