/*
 * seed_workload.c -- workload 1 through the library: the seed's pipeline
 * (examples/seed_steps.c) over the .npy files of a list.
 *
 *   seed_workload --outdir DIR --list FILE [-j N] [--pout FILE]
 *
 * Steps as in the seed: pre-process reject (reject_value 2) and
 * boost_later (boost_target 3); data_process x10; post-process
 * later_booster (boost_amount 5), median, average.  The arithmetic is
 * workload.c's, which the hand-written loop (perfile.c) runs too; the
 * .npy reader and writer are the library's.  The pout is written to FILE
 * (default DIR/pout.jsonl), as a user keeps it.  Exits 1 if any item
 * failed.
 */
#include "bench_util.h"
#include "workload.h"

#include <bigmultipipe.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's npy_file_read gives native-order arrays; these steps
 * are for float64 ones. */
static double *values(void *data)
{
    return ((bmp_array *)data)->data;
}

static size_t count(void *data)
{
    return ((bmp_array *)data)->count;
}

static double first(void *data)
{
    return count(data) ? values(data)[0] : NAN;
}

static int check_dtype(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    if (((bmp_array *)*data)->dtype != BMP_DTYPE_FLOAT64)
        return bmp_item_fail(item, BMP_EINVAL, "%s: not float64",
                             bmp_item_name(item));
    return BMP_CONTINUE;
}

static int reject(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    double reject_value;
    if (bmp_kw_get_real(bmp_item_kw(item), "reject_value", &reject_value) != 1)
        return BMP_CONTINUE;
    return first(*data) == reject_value ? BMP_REJECT : BMP_CONTINUE;
}

static int boost_later(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    json_t *kw = bmp_item_kw(item);
    double target, amount;
    if (bmp_kw_get_real(kw, "boost_target", &target) != 1 ||
        bmp_kw_get_real(kw, "boost_amount", &amount) != 1)
        return BMP_CONTINUE;
    if (first(*data) == target)
        return bmp_kw_set_real(kw, "need_to_boost_by", amount);
    return BMP_CONTINUE;
}

static int later_booster(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    double by;
    if (bmp_kw_get_real(bmp_item_kw(item), "need_to_boost_by", &by) == 1)
        wl_scale_add(values(*data), count(*data), 1, by);
    return BMP_CONTINUE;
}

static int median(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_real(bmp_item_meta(item), "median",
                           wl_median(values(*data), count(*data)));
}

static int average(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_real(bmp_item_meta(item), "average",
                           wl_average(values(*data), count(*data)));
}

static int times_ten(bmp_item *item, void **data)
{
    (void)item;
    wl_scale_add(values(*data), count(*data), WL_MULTIPLY, 0);
    return BMP_CONTINUE;
}

int main(int argc, char **argv)
{
    const char *outdir = NULL, *list = NULL, *pout_path = NULL;
    long long jobs = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--outdir") == 0)
            outdir = argv[i + 1];
        else if (strcmp(argv[i], "--list") == 0)
            list = argv[i + 1];
        else if (strcmp(argv[i], "-j") == 0)
            jobs = bu_parse_count(argv[i + 1], "-j");
        else if (strcmp(argv[i], "--pout") == 0)
            pout_path = argv[i + 1];
        else
            bu_die("unknown option %s", argv[i]);
    }
    if (!outdir || !list || argc % 2 == 0)
        bu_die("usage: seed_workload --outdir DIR --list FILE [-j N] "
               "[--pout FILE]");

    size_t nnames;
    char **names = bu_names_read(list, &nnames);
    json_t *in_names = bu_names_json(names, nnames);
    bu_names_free(names, nnames);

    const bmp_ops ops = {
        .version = BMP_OPS_VERSION,
        .file_read = bmp_npy_file_read,
        .file_write = bmp_npy_file_write,
        .data_process = times_ten,
    };
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    if (!pipe ||
        bmp_pipe_add_pre(pipe, check_dtype, NULL, "check_dtype") < 0 ||
        bmp_pipe_add_pre(pipe, reject, NULL, "reject") < 0 ||
        bmp_pipe_add_pre(pipe, boost_later, NULL, "boost_later") < 0 ||
        bmp_pipe_add_post(pipe, later_booster, NULL, "later_booster") < 0 ||
        bmp_pipe_add_post(pipe, median, NULL, "median") < 0 ||
        bmp_pipe_add_post(pipe, average, NULL, "average") < 0)
        bu_die("out of memory");
    json_t *kw = json_pack("{s:f, s:f, s:f, s:s, s:I}", "reject_value",
                           WL_REJECT_VALUE, "boost_target", WL_BOOST_TARGET,
                           "boost_amount", WL_BOOST_AMOUNT, "outdir", outdir,
                           "num_processes", (json_int_t)jobs);
    if (!kw)
        bu_die("out of memory");

    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(pipe, in_names, kw, NULL, NULL, &pout, &err) < 0)
        bu_die("pipeline failed: %s", err.text);
    char *default_pout = NULL;
    if (!pout_path) {
        if (asprintf(&default_pout, "%s/pout.jsonl", outdir) < 0)
            bu_die("out of memory");
        pout_path = default_pout;
    }
    if (bmp_pout_write(pout, pout_path, &err) < 0)
        bu_die("cannot write the pout: %s", err.text);

    int failed = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        if (bmp_pout_error(pout, i)) {
            fprintf(stderr, "item %zu: %s\n", i, bmp_pout_error(pout, i));
            failed = 1;
        }
    }
    free(default_pout);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(in_names);
    return failed;
}
