/*
 * test_args.c -- the command-line conventions of SPEC.md (Python's
 * argparse mixin) and size parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"

#include <string.h>

static void args_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t bytes;
    } ok[] = {{"4096", 4096},     {"64k", 65536},      {"512M", 512LL << 20},
              {"2G", 2LL << 30},  {"1.5G", 3LL << 29}, {"2GiB", 2LL << 30},
              {"3MB", 3LL << 20}, {"1T", 1LL << 40},   {"0", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t b = -1;
        assert_int_equal(bmp_parse_size(ok[i].text, &b), 0);
        assert_int_equal(b, ok[i].bytes);
    }
    const char *bad[] = {"",    "G",   "-1G",          "12X", "1GG",
                         "nan", "inf", "99999999999T", "1 G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t b = 0;
        assert_int_equal(bmp_parse_size(bad[i], &b), BMP_EINVAL);
    }
    assert_int_equal(bmp_parse_size(NULL, NULL), BMP_EINVAL);
}

static void args_all_options(void **state)
{
    (void)state;
    char *argv[] = {"prog",
                    "--outdir",
                    "out",
                    "--create_outdir",
                    "--read_pout=r.jsonl",
                    "--write_pout",
                    "w.jsonl",
                    "mine",
                    "--outname_append",
                    "_x",
                    "--num_processes",
                    "0.5",
                    "--mem_available",
                    "2G",
                    "--mem_frac=0.5",
                    "--process_size",
                    "512M",
                    "--own-flag",
                    NULL};
    int argc = 18;
    json_t *kw = json_object();
    bmp_error err = {0};
    assert_int_equal(bmp_args_parse(&argc, argv, kw, &err), 0);
    assert_string_equal(bmp_kw_str(kw, "outdir", ""), "out");
    assert_true(bmp_kw_bool(kw, "create_outdir", 0));
    assert_string_equal(bmp_kw_str(kw, "read_pout", ""), "r.jsonl");
    assert_string_equal(bmp_kw_str(kw, "write_pout", ""), "w.jsonl");
    assert_string_equal(bmp_kw_str(kw, "outname_append", ""), "_x");
    assert_true(bmp_kw_real(kw, "num_processes", 0) == 0.5);
    assert_int_equal(bmp_kw_int(kw, "mem_available", 0), 2LL << 30);
    assert_true(bmp_kw_real(kw, "mem_frac", 0) == 0.5);
    assert_int_equal(bmp_kw_int(kw, "process_size", 0), 512LL << 20);
    /* The program's own arguments remain, in order. */
    assert_int_equal(argc, 3);
    assert_string_equal(argv[0], "prog");
    assert_string_equal(argv[1], "mine");
    assert_string_equal(argv[2], "--own-flag");
    assert_null(argv[3]);
    json_decref(kw);
}

static void args_defaults_and_negation(void **state)
{
    (void)state;
    char *argv[] = {"prog", "--no-create_outdir", NULL};
    int argc = 2;
    json_t *kw = json_pack("{s:b, s:s}", "create_outdir", 1, "outname_append",
                           "_keep");
    assert_int_equal(bmp_args_parse(&argc, argv, kw, NULL), 0);
    assert_false(bmp_kw_bool(kw, "create_outdir", 1));
    /* Defaults are the library's: options not given stay unset, so run
     * keywords parsed from argv do not override construction keywords. */
    assert_false(bmp_kw_has(kw, "outdir"));
    assert_false(bmp_kw_has(kw, "mem_frac"));
    assert_false(bmp_kw_has(kw, "num_processes"));
    assert_string_equal(bmp_kw_str(kw, "outname_append", ""), "_keep");
    assert_int_equal(argc, 1);
    json_decref(kw);
}

static void args_double_dash_ends_options(void **state)
{
    (void)state;
    char *argv[] = {"prog", "--outdir", "o", "--", "--outdir", "x", NULL};
    int argc = 6;
    json_t *kw = json_object();
    assert_int_equal(bmp_args_parse(&argc, argv, kw, NULL), 0);
    assert_string_equal(bmp_kw_str(kw, "outdir", ""), "o");
    assert_int_equal(argc, 4);
    assert_string_equal(argv[1], "--");
    assert_string_equal(argv[2], "--outdir");
    json_decref(kw);
}

static void args_errors_name_the_option(void **state)
{
    (void)state;
    const struct {
        char *args[4];
        int argc;
        const char *needle;
    } cases[] = {
        {{"prog", "--mem_available", "lots", NULL}, 3, "--mem_available"},
        {{"prog", "--num_processes", "two", NULL}, 3, "--num_processes"},
        {{"prog", "--outdir", NULL, NULL}, 2, "needs a value"},
        {{"prog", "--create_outdir=yes", NULL, NULL}, 2, "takes no value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[4];
        memcpy(argv, cases[i].args, sizeof argv);
        int argc = cases[i].argc;
        json_t *kw = json_object();
        bmp_error err = {0};
        assert_int_equal(bmp_args_parse(&argc, argv, kw, &err), BMP_EINVAL);
        if (!strstr(err.text, cases[i].needle))
            fail_msg("\"%s\" lacks \"%s\"", err.text, cases[i].needle);
        json_decref(kw);
    }
    /* --no- only applies to flags: left to the program. */
    char *argv[] = {"prog", "--no-outdir", NULL};
    int argc = 2;
    json_t *kw = json_object();
    assert_int_equal(bmp_args_parse(&argc, argv, kw, NULL), 0);
    assert_int_equal(argc, 2);
    json_decref(kw);
}

/* As argparse: the start of one option's name is that option. */
static void args_unambiguous_abbreviations(void **state)
{
    (void)state;
    char *argv[] = {"prog",      "--outd",     "o",    "--create",
                    "--num=0.5", "--mem_f",    "0.25", "--w",
                    "w.jsonl",   "--process",  "1G",   "--outname_a=_y",
                    "--no-cr",   "--own-flag", NULL};
    int argc = 14;
    json_t *kw = json_object();
    bmp_error err = {0};
    assert_int_equal(bmp_args_parse(&argc, argv, kw, &err), 0);
    assert_string_equal(bmp_kw_str(kw, "outdir", ""), "o");
    /* --create, then --no-cr: the last one wins. */
    assert_true(bmp_kw_has(kw, "create_outdir"));
    assert_false(bmp_kw_bool(kw, "create_outdir", 1));
    assert_true(bmp_kw_real(kw, "num_processes", 0) == 0.5);
    assert_true(bmp_kw_real(kw, "mem_frac", 0) == 0.25);
    assert_string_equal(bmp_kw_str(kw, "write_pout", ""), "w.jsonl");
    assert_int_equal(bmp_kw_int(kw, "process_size", 0), 1LL << 30);
    assert_string_equal(bmp_kw_str(kw, "outname_append", ""), "_y");
    /* Not the start of any option of ours: the program's. */
    assert_int_equal(argc, 2);
    assert_string_equal(argv[1], "--own-flag");
    json_decref(kw);
}

static void args_ambiguous_abbreviation_is_an_error(void **state)
{
    (void)state;
    const struct {
        const char *arg, *first, *second;
    } cases[] = {{"--out", "--outdir", "--outname_append"},
                 {"--mem=1", "--mem_available", "--mem_frac"},
                 {"--n", "--no-create_outdir", "--num_processes"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[] = {"prog", (char *)cases[i].arg, "x", NULL};
        int argc = 3;
        json_t *kw = json_object();
        bmp_error err = {0};
        assert_int_equal(bmp_args_parse(&argc, argv, kw, &err), BMP_EINVAL);
        assert_non_null(strstr(err.text, "ambiguous"));
        assert_non_null(strstr(err.text, cases[i].first));
        assert_non_null(strstr(err.text, cases[i].second));
        /* Nothing is taken from a refused command line. */
        assert_int_equal(json_object_size(kw), 0);
        json_decref(kw);
    }
}

/* The mixin's defaults are not stored (the library's own apply to unset
 * keys), num_processes included: a value set before the call stays when
 * no option names it, so a program can choose the mixin's 0.8. */
static void args_num_processes_default_is_the_programs(void **state)
{
    (void)state;
    char *argv[] = {"prog", NULL};
    int argc = 1;
    json_t *kw = json_object();
    assert_int_equal(bmp_args_parse(&argc, argv, kw, NULL), 0);
    assert_false(bmp_kw_has(kw, "num_processes"));
    json_decref(kw);
    kw = json_pack("{s:f}", "num_processes", 0.8);
    assert_int_equal(bmp_args_parse(&argc, argv, kw, NULL), 0);
    assert_true(bmp_kw_real(kw, "num_processes", 0) == 0.8);
    char *given[] = {"prog", "--num_processes", "3", NULL};
    argc = 3;
    assert_int_equal(bmp_args_parse(&argc, given, kw, NULL), 0);
    assert_int_equal(bmp_kw_int(kw, "num_processes", 0), 3);
    json_decref(kw);
}

static void args_help_lists_every_option(void **state)
{
    (void)state;
    const char *help = bmp_args_help();
    const char *names[] = {"--outdir",         "--create_outdir",
                           "--read_pout",      "--write_pout",
                           "--outname_append", "--num_processes",
                           "--mem_available",  "--mem_frac",
                           "--process_size"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_non_null(strstr(help, names[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(args_sizes),
        cmocka_unit_test(args_all_options),
        cmocka_unit_test(args_defaults_and_negation),
        cmocka_unit_test(args_double_dash_ends_options),
        cmocka_unit_test(args_errors_name_the_option),
        cmocka_unit_test(args_help_lists_every_option),
        cmocka_unit_test(args_unambiguous_abbreviations),
        cmocka_unit_test(args_ambiguous_abbreviation_is_an_error),
        cmocka_unit_test(args_num_processes_default_is_the_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
