/*
 * seed_common.c -- see seed_common.h.
 */
#include "seed_common.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const bmp_error *err)
{
    fprintf(stderr, "%s: %s\n", what, err && err->code ? err->text : "failed");
    exit(1);
}

char *seed_make_inputs(json_t **in_names)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;
    if (asprintf(&dir, "%s/bmp-seed-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
        !mkdtemp(dir))
        die("cannot make a temporary directory", NULL);
    *in_names = json_array();
    size_t shape[2] = {SEED_ROWS, SEED_COLS};
    for (int i = 0; i < SEED_FILES; i++) {
        bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT64, 2, shape);
        if (!a)
            die("out of memory", NULL);
        seed_scale_add(a, 0, i); /* i + np.zeros((1000, 2000)) */
        char *name = NULL;
        if (asprintf(&name, "%s/big_array_%d.npy", dir, i) < 0)
            die("out of memory", NULL);
        bmp_error err = {0};
        if (bmp_npy_write(name, a, 0, &err) < 0)
            die("cannot write an input", &err);
        json_array_append_new(*in_names, json_string(name));
        free(name);
        bmp_object_free(a, NULL);
    }
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void seed_remove_dir(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void seed_scale_add(bmp_array *a, double mul, double add)
{
    double *d = a->data;
    for (size_t i = 0; i < a->count; i++)
        d[i] = d[i] * mul + add;
}

double seed_first(const bmp_array *a)
{
    return a->count ? bmp_array_get_double(a, 0) : NAN;
}

double seed_average(const bmp_array *a)
{
    const double *d = a->data;
    double sum = 0;
    for (size_t i = 0; i < a->count; i++)
        sum += d[i];
    return a->count ? sum / (double)a->count : NAN;
}

/* k-th smallest of v[0..n) (Wirth's selection); reorders v. */
static double select_kth(double *v, long n, long k)
{
    long l = 0, m = n - 1;
    while (l < m) {
        double x = v[k];
        long i = l, j = m;
        do {
            while (v[i] < x)
                i++;
            while (x < v[j])
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < k)
            l = i;
        if (k < i)
            m = j;
    }
    return v[k];
}

double seed_median(const bmp_array *a)
{
    if (a->count == 0)
        return NAN;
    double *v = malloc(a->count * sizeof *v);
    if (!v)
        return NAN;
    memcpy(v, a->data, a->count * sizeof *v);
    long n = (long)a->count;
    double m = select_kth(v, n, n / 2);
    if (n % 2 == 0) {
        /* the lower middle is the largest of the lower half */
        double lower = v[0];
        for (long i = 1; i < n / 2; i++)
            if (v[i] > lower)
                lower = v[i];
        m = (m + lower) / 2;
    }
    free(v);
    return m;
}

/* Python's repr of a float: the shortest digits that read back the same,
 * in positional notation for exponents -4 to 15, with ".0" on integral
 * values. */
static void print_float(double x)
{
    char buf[64];
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(buf, sizeof buf, "%.*e", digits - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    int exponent = atoi(strchr(buf, 'e') + 1);
    if (isfinite(x) && exponent >= -4 && exponent < 16) {
        int decimals = digits - 1 - exponent;
        snprintf(buf, sizeof buf, "%.*f", decimals > 0 ? decimals : 0, x);
        if (!strchr(buf, '.'))
            strcat(buf, ".0");
    }
    fputs(buf, stdout);
}

static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void print_meta(json_t *meta)
{
    const char *key;
    json_t *value;
    int first = 1;
    putchar('{');
    json_object_foreach(meta, key, value)
    {
        printf("%s'%s': ", first ? "" : ", ", key);
        if (json_is_number(value))
            print_float(json_number_value(value));
        else if (json_is_string(value))
            printf("'%s'", json_string_value(value));
        else
            fputs("...", stdout);
        first = 0;
    }
    putchar('}');
}

void seed_print_listing(size_t n, const char *const in_names[],
                        const char *const outnames[], json_t *const metas[])
{
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        printf("%s('%s', ", i ? ", " : "", base(in_names[i]));
        if (outnames[i])
            printf("'%s', ", base(outnames[i]));
        else
            fputs("None, ", stdout);
        print_meta(metas[i]);
        putchar(')');
    }
    puts("]");
}

void seed_print_pout(const bmp_pout *pout)
{
    size_t n = bmp_pout_count(pout);
    const char **ins = calloc(n + 1, sizeof *ins);
    const char **outs = calloc(n + 1, sizeof *outs);
    json_t **metas = calloc(n + 1, sizeof *metas);
    for (size_t i = 0; i < n; i++) {
        ins[i] = json_string_value(bmp_pout_in_name(pout, i));
        outs[i] = bmp_pout_outname(pout, i);
        metas[i] = bmp_pout_meta(pout, i);
    }
    seed_print_listing(n, ins, outs, metas);
    free(ins);
    free(outs);
    free(metas);
}

int seed_run(bmp_pipe *dmp)
{
    json_t *in_names;
    char *dir = seed_make_inputs(&in_names);
    /* boost_target at construction, the rest at run time: every step sees
     * them merged. */
    json_t *construction = json_pack("{s:i, s:s}", "boost_target", 3, "outdir",
                                     dir);
    bmp_pipe_kw_update(dmp, construction);
    json_t *run = json_pack("{s:i, s:i}", "reject_value", 2, "boost_amount",
                            5);

    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int failures = 0;
    if (bmp_pipeline(dmp, in_names, run, NULL, NULL, &pout, &err) < 0) {
        fprintf(stderr, "pipeline failed: %s\n", err.text);
        failures = 1;
    } else {
        /* Prune outname None (with empty meta) and the same in_names. */
        bmp_pout *pruned;
        json_t *pruned_names;
        bmp_prune_pout(pout, in_names, &pruned, &pruned_names);
        seed_print_pout(pruned);
        for (size_t i = 0; i < bmp_pout_count(pout); i++) {
            if (bmp_pout_error(pout, i)) {
                fprintf(stderr, "item %zu: %s\n", i, bmp_pout_error(pout, i));
                failures++;
            }
        }
        bmp_pout_free(pruned);
        json_decref(pruned_names);
    }
    bmp_pout_free(pout);
    json_decref(run);
    json_decref(construction);
    bmp_pipe_free(dmp);
    seed_remove_dir(dir);
    free(dir);
    json_decref(in_names);
    return failures ? 1 : 0;
}
