/*
 * cmd_demo.c -- `bigmultipipe demo`: the Python package's documented
 * example, run by the library: ten 1000 x 2000 float64 .npy arrays,
 * array i filled with i; pre-process steps reject the array of 2 and mark
 * the array of 3 for a boost; data_process multiplies by 10; post-process
 * steps add the boost (5) and put the median and the average in meta.
 * Prints the listing the Python package prints.
 */
#include "tool.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILES 10
#define ROWS 1000
#define COLS 2000

static double *values(void *data)
{
    return ((bmp_array *)data)->data;
}

static size_t count_of(void *data)
{
    return ((bmp_array *)data)->count;
}

/* Pre-process: reject the array whose first value is reject_value. */
static int reject(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    double v;
    if (bmp_kw_get_real(bmp_item_kw(item), "reject_value", &v) == 1 &&
        values(*data)[0] == v)
        return BMP_REJECT;
    return BMP_CONTINUE;
}

/* Pre-process: a keyword for the rest of this item says "boost later". */
static int boost_later(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    json_t *kw = bmp_item_kw(item);
    double target, amount;
    if (bmp_kw_get_real(kw, "boost_target", &target) == 1 &&
        bmp_kw_get_real(kw, "boost_amount", &amount) == 1 &&
        values(*data)[0] == target)
        return bmp_kw_set_real(kw, "need_to_boost_by", amount);
    return BMP_CONTINUE;
}

static int times_ten(bmp_item *item, void **data)
{
    (void)item;
    double *d = values(*data);
    for (size_t i = 0; i < count_of(*data); i++)
        d[i] *= 10;
    return BMP_CONTINUE;
}

static int later_booster(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    double by;
    if (bmp_kw_get_real(bmp_item_kw(item), "need_to_boost_by", &by) == 1) {
        double *d = values(*data);
        for (size_t i = 0; i < count_of(*data); i++)
            d[i] += by;
    }
    return BMP_CONTINUE;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* NumPy's median: the middle value, or the mean of the two middle ones. */
static int median(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    size_t n = count_of(*data);
    double *v = malloc(n * sizeof *v);
    if (!v)
        return -ENOMEM;
    memcpy(v, values(*data), n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return bmp_kw_set_real(bmp_item_meta(item), "median", m);
}

static int average(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    const double *d = values(*data);
    double sum = 0;
    for (size_t i = 0; i < count_of(*data); i++)
        sum += d[i];
    return bmp_kw_set_real(bmp_item_meta(item), "average",
                           sum / (double)count_of(*data));
}

/* Python's repr of a float: the fewest significant digits that read back
 * the same, in positional notation for exponents from -4 to 15 (with
 * ".0" on integral values), else as 1.5e+16. */
static void print_float(double x)
{
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
    int exp = atoi(strchr(buf, 'e') + 1);
    if (!isfinite(x) || exp < -4 || exp >= 16) {
        fputs(buf, stdout); /* nan, inf or exponent form: C's matches */
        return;
    }
    int decimals = prec - 1 - exp;
    snprintf(buf, sizeof buf, "%.*f", decimals > 0 ? decimals : 0, x);
    if (!strchr(buf, '.'))
        strcat(buf, ".0");
    fputs(buf, stdout);
}

static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Python's print(list(zip(in_names, outnames, metas))) of a pruned pout. */
static void print_listing(const bmp_pout *pout)
{
    putchar('[');
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        const char *out = bmp_pout_outname(pout, i);
        printf("%s('%s', ", i ? ", " : "",
               base(json_string_value(bmp_pout_in_name(pout, i))));
        if (out)
            printf("'%s', {", base(out));
        else
            fputs("None, {", stdout);
        const char *key;
        json_t *value;
        int first = 1;
        json_object_foreach(bmp_pout_meta(pout, i), key, value)
        {
            printf("%s'%s': ", first ? "" : ", ", key);
            print_float(json_number_value(value));
            first = 0;
        }
        fputs("})", stdout);
    }
    puts("]");
}

static int make_inputs(const char *dir, json_t *names)
{
    size_t shape[2] = {ROWS, COLS};
    for (int i = 0; i < FILES; i++) {
        bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT64, 2, shape);
        char *name = NULL;
        bmp_error err = {0};
        int rc = a && asprintf(&name, "%s/big_array_%d.npy", dir, i) >= 0
                     ? 0
                     : -ENOMEM;
        for (size_t k = 0; rc == 0 && k < a->count; k++)
            ((double *)a->data)[k] = i;
        if (rc == 0)
            rc = bmp_npy_write(name, a, 0, &err);
        if (rc == 0)
            rc = json_array_append_new(names, json_string(name)) ? -ENOMEM : 0;
        if (rc < 0)
            fprintf(stderr, "bigmultipipe demo: cannot write %s: %s\n",
                    name ? name : "an input",
                    err.code ? err.text : bmp_strerror(rc));
        free(name);
        bmp_object_free(a, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void remove_dir(const char *dir, const json_t *names,
                       const bmp_pout *pout)
{
    for (size_t i = 0; i < json_array_size(names); i++)
        unlink(json_string_value(json_array_get(names, i)));
    for (size_t i = 0; pout && i < bmp_pout_count(pout); i++)
        if (bmp_pout_outname(pout, i))
            unlink(bmp_pout_outname(pout, i));
    rmdir(dir);
}

int cmd_demo(int argc, char **argv)
{
    tool_args a;
    char msg[1024];
    if (tool_args_parse(argc, argv, CMD_DEMO, &a, msg, sizeof msg) < 0) {
        fprintf(stderr,
                "bigmultipipe demo: %s\n(see bigmultipipe demo "
                "--help)\n",
                msg);
        tool_args_free(&a);
        return EXIT_USAGE;
    }
    if (a.help) {
        tool_print_help(stdout, CMD_DEMO);
        tool_args_free(&a);
        return EXIT_ALL_OK;
    }
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;
    json_t *names = json_array();
    bmp_pout *pout = NULL, *pruned = NULL;
    bmp_pipe *pipe = NULL;
    int status = EXIT_SOME_FAILED;
    if (asprintf(&dir, "%s/bmp-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
        !mkdtemp(dir)) {
        perror("bigmultipipe demo: cannot make a temporary directory");
        free(dir);
        dir = NULL;
        goto out;
    }
    if (make_inputs(dir, names) < 0)
        goto out;

    const bmp_ops ops = {.version = BMP_OPS_VERSION,
                         .file_read = bmp_npy_file_read,
                         .file_write = bmp_npy_file_write,
                         .data_process = times_ten};
    pipe = bmp_pipe_new(&ops, NULL);
    json_t *construction = json_pack("{s:i, s:s}", "boost_target", 3, "outdir",
                                     dir);
    if (!pipe || !construction || bmp_pipe_kw_update(pipe, construction) ||
        bmp_pipe_add_pre(pipe, reject, NULL, "reject") ||
        bmp_pipe_add_pre(pipe, boost_later, NULL, "boost_later") ||
        bmp_pipe_add_post(pipe, later_booster, NULL, "later_booster") ||
        bmp_pipe_add_post(pipe, median, NULL, "median") ||
        bmp_pipe_add_post(pipe, average, NULL, "average")) {
        json_decref(construction);
        fprintf(stderr, "bigmultipipe demo: out of memory\n");
        goto out;
    }
    json_decref(construction);
    /* The run's keywords: the example's, and -j when given.  The
     * defaults of the shared options (outdir ".") must not override the
     * construction's outdir. */
    json_object_del(a.kw, "outdir");
    bmp_kw_set_int(a.kw, "reject_value", 2);
    bmp_kw_set_int(a.kw, "boost_amount", 5);
    bmp_error err = {0};
    if (bmp_pipeline(pipe, names, a.kw, NULL, NULL, &pout, &err) < 0) {
        fprintf(stderr, "bigmultipipe demo: %s\n", err.text);
        goto out;
    }
    status = EXIT_ALL_OK;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        if (bmp_pout_error(pout, i)) {
            fprintf(stderr, "bigmultipipe demo: item %zu: %s\n", i,
                    bmp_pout_error(pout, i));
            status = EXIT_SOME_FAILED;
        }
    }
    if (bmp_prune_pout(pout, NULL, &pruned, NULL) == 0)
        print_listing(pruned);
out:
    if (dir)
        remove_dir(dir, names, pout);
    free(dir);
    bmp_pout_free(pruned);
    bmp_pout_free(pout);
    bmp_pipe_free(pipe);
    json_decref(names);
    tool_args_free(&a);
    return status;
}
