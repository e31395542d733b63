/*
 * main.c -- the bigmultipipe command: picks the subcommand.  Each
 * subcommand lives in its own file (cmd_run.c, cmd_plan.c, cmd_demo.c,
 * cmd_merge.c, cmd_report.c);
 * options and help text in options.c.
 */
#include "tool.h"

#include <string.h>

int main(int argc, char **argv)
{
    if (bmp_version_number() != BMP_VERSION_NUMBER) {
        fprintf(stderr,
                "bigmultipipe: built for library %d but running "
                "with %s\n",
                BMP_VERSION_NUMBER, bmp_version_string());
        return 1;
    }
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub) {
        tool_print_help(stderr, 0);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(sub, "plan") == 0)
        return cmd_plan(argc - 1, argv + 1);
    if (strcmp(sub, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(sub, "merge") == 0)
        return cmd_merge(argc - 1, argv + 1);
    if (strcmp(sub, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0) {
        printf("bigmultipipe %s\n", bmp_version_string());
        return 0;
    }
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
        strcmp(sub, "help") == 0) {
        tool_print_help(stdout, 0);
        return 0;
    }
    if (strcmp(sub, "--man") == 0) {
        tool_print_man(stdout);
        return 0;
    }
    fprintf(stderr,
            "bigmultipipe: unknown command \"%s\" (run, plan, demo, merge, "
            "report; "
            "see bigmultipipe --help)\n",
            sub);
    return EXIT_USAGE;
}
