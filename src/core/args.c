/*
 * args.c -- the command-line options every bigmultipipe program shares
 * (Python's BMPArgparseMixin), mapped onto keywords.  One table holds each
 * option's name, kind and help text, so parsing, --help and the man page
 * cannot disagree.
 */
#include "bigmultipipe.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OPT_STRING, OPT_SIZE, OPT_NUMBER, OPT_FLAG } opt_kind;

static const struct option_spec {
    const char *name;
    opt_kind kind;
    const char *help;
} options[] = {
    {"outdir", OPT_STRING,
     "DIR       directory to which files are written (default .)"},
    {"create_outdir", OPT_FLAG,
     "          create outdir and its parents (--no-create_outdir: do not; "
     "default)"},
    {"read_pout", OPT_STRING,
     "FILE   return the pout stored in FILE instead of running, if readable"},
    {"write_pout", OPT_STRING, "FILE  store the pout in FILE (JSON Lines)"},
    {"outname_append", OPT_STRING,
     "TEXT  put before the extension of output names (default _bmp)"},
    {"num_processes", OPT_NUMBER,
     "N  worker processes; 0 = all physical cores, below 1 = a fraction of "
     "them"},
    {"mem_available", OPT_SIZE,
     "SIZE  memory for all workers (512M, 2G); default: mem_frac of what is "
     "available"},
    {"mem_frac", OPT_NUMBER,
     "F       fraction of the available memory to use (default 0.8)"},
    {"process_size", OPT_SIZE, "SIZE   memory one item needs (512M, 2G)"},
};

#define N_OPTIONS (sizeof options / sizeof *options)

int bmp_parse_size(const char *text, int64_t *bytes)
{
    if (!text || !*text)
        return BMP_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !(v >= 0) || isinf(v))
        return BMP_EINVAL;
    double scale = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        scale = 1024.0;
        end++;
        break;
    case 'M':
        scale = 1024.0 * 1024;
        end++;
        break;
    case 'G':
        scale = 1024.0 * 1024 * 1024;
        end++;
        break;
    case 'T':
        scale = 1024.0 * 1024 * 1024 * 1024;
        end++;
        break;
    default: break;
    }
    if (scale > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return BMP_EINVAL;
    double b = floor(v * scale);
    if (b >= 9.2e18)
        return BMP_EINVAL;
    *bytes = (int64_t)b;
    return 0;
}

static int set_option(const struct option_spec *o, const char *value,
                      json_t *kw, bmp_error *err)
{
    switch (o->kind) {
    case OPT_STRING: return bmp_kw_set_str(kw, o->name, value);
    case OPT_SIZE: {
        int64_t bytes;
        if (bmp_parse_size(value, &bytes) < 0)
            return bmp_error_set(err, BMP_EINVAL, "arguments", NULL,
                                 "--%s: \"%s\" is not a size (try 512M or "
                                 "2G)",
                                 o->name, value);
        return bmp_kw_set_int(kw, o->name, bytes);
    }
    case OPT_NUMBER: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return bmp_error_set(err, BMP_EINVAL, "arguments", NULL,
                                 "--%s: \"%s\" is not a number", o->name,
                                 value);
        if (v == floor(v) && fabs(v) < 1e15)
            return bmp_kw_set_int(kw, o->name, (long long)v);
        return bmp_kw_set_real(kw, o->name, v);
    }
    case OPT_FLAG: break;
    }
    return BMP_EINVAL;
}

/* Whether `name` (len bytes) spells option k, or its "no-" form when
 * `neg`: whole (exact) or its start. */
static int spells(const char *name, size_t len, size_t k, int neg, int exact)
{
    size_t plen = neg ? 3 : 0;
    size_t full = plen + strlen(options[k].name);
    if (exact ? len != full : len > full)
        return 0;
    if (neg && strncmp(name, "no-", len < 3 ? len : 3) != 0)
        return 0;
    return len <= plen ||
           strncmp(name + plen, options[k].name, len - plen) == 0;
}

/* The option spelled by `name` (len bytes, up to any '='), with its
 * negation: an exact spelling, else the one option (or "no-" form of a
 * flag) that it is the start of, as argparse accepts "--outd" for
 * "--outdir".  @return the option; NULL when none matches (the program's
 * own) or, with *ambiguous set, when several do. */
static const struct option_spec *lookup(const char *name, size_t len,
                                        int *negated, int *ambiguous)
{
    const struct option_spec *found = NULL;
    int matches = 0;
    for (int exact = 1; exact >= 0 && !matches; exact--)
        for (size_t k = 0; k < N_OPTIONS; k++)
            for (int neg = 0; neg <= (options[k].kind == OPT_FLAG); neg++)
                if (spells(name, len, k, neg, exact)) {
                    found = &options[k];
                    *negated = neg;
                    matches++;
                }
    *ambiguous = matches > 1;
    return matches == 1 ? found : NULL;
}

/* Matches argv[i] against the table.  *value points into the argument
 * for "--opt=value".  @return the option, or NULL: not ours, or, with
 * BMP_EINVAL in *rc and err filled, the start of several options. */
static const struct option_spec *match(const char *arg, int *negated,
                                       const char **value, int *rc,
                                       bmp_error *err)
{
    *negated = 0;
    *value = NULL;
    *rc = 0;
    /* "--" alone ends the options; "--=x" names nothing. */
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || arg[2] == '=')
        return NULL;
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    int ambiguous;
    const struct option_spec *o = lookup(name, len, negated, &ambiguous);
    if (ambiguous) {
        char list[512] = "";
        size_t at = 0;
        for (size_t k = 0; k < N_OPTIONS; k++)
            for (int neg = 0; neg <= (options[k].kind == OPT_FLAG); neg++)
                if (at < sizeof list && spells(name, len, k, neg, 0))
                    at += (size_t)snprintf(list + at, sizeof list - at,
                                           "%s--%s%s", at ? ", " : "",
                                           neg ? "no-" : "", options[k].name);
        *rc = bmp_error_set(err, BMP_EINVAL, "arguments", NULL,
                            "--%.*s is ambiguous: it could be %s", (int)len,
                            name, list);
        return NULL;
    }
    if (o && name[len] == '=')
        *value = name + len + 1;
    return o;
}

int bmp_args_parse(int *argc, char **argv, json_t *kw, bmp_error *err)
{
    if (!argc || !argv || !json_is_object(kw))
        return bmp_error_set(err, BMP_EINVAL, "arguments", NULL,
                             "bmp_args_parse needs argc, argv and a keyword "
                             "object");
    int out = 1, rc = 0;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        int negated;
        const char *value;
        const struct option_spec *o = match(argv[i], &negated, &value, &rc,
                                            err);
        if (rc < 0)
            return rc;
        if (!o) {
            argv[out++] = argv[i];
            continue;
        }
        if (o->kind == OPT_FLAG) {
            if (value)
                return bmp_error_set(err, BMP_EINVAL, "arguments", NULL,
                                     "--%s takes no value", o->name);
            rc = bmp_kw_set_bool(kw, o->name, !negated);
        } else {
            if (!value) {
                if (i + 1 >= *argc)
                    return bmp_error_set(err, BMP_EINVAL, "arguments", NULL,
                                         "--%s needs a value", o->name);
                value = argv[++i];
            }
            rc = set_option(o, value, kw, err);
        }
        if (rc < 0)
            return rc;
    }
    argv[out] = NULL;
    *argc = out;
    /* The mixin's defaults (outdir ".", no create_outdir, "_bmp", mem_frac
     * 0.8) are the library's own: leaving unset keys unset lets them
     * apply without overriding the pipe's construction keywords when
     * `kw` becomes run keywords.  Its num_processes 0.8 is not copied
     * either: every program gets the library's all cores, and one that
     * wants 0.8 sets it before the call (doc/differences.md). */
    return rc;
}

static char help_text[2048];

static void build_help(void)
{
    size_t len = 0;
    for (size_t k = 0; k < N_OPTIONS && len < sizeof help_text; k++)
        len += (size_t)snprintf(help_text + len, sizeof help_text - len,
                                "  --%s %s\n", options[k].name,
                                options[k].help);
}

const char *bmp_args_help(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_help);
    return help_text;
}
