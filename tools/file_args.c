/*
 * file_args.c -- the command line of the subcommands that take files
 * (merge, report) put in the order the option parser reads: the options
 * first, then "--" and the files, so that an option may come after or
 * among the files (merge a.jsonl -o out.jsonl b.jsonl).
 */
#include "tool.h"

#include <stdlib.h>
#include <string.h>

int file_args_order(int argc, char **argv, char ***ordered)
{
    int n = 0, nfiles = 0;
    /* argv[0], every argument, "--" and the NULL. */
    char **out = malloc((size_t)(argc + 2) * sizeof *out);
    char **files = malloc((size_t)(argc + 1) * sizeof *files);
    if (!out || !files) {
        free(out);
        free(files);
        return -1;
    }
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
        /* The value of -o FILE and --output FILE goes with it. */
        if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            if (i + 1 >= argc) {
                free(files);
                free(out);
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
    *ordered = out;
    return n;
}
