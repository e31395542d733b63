/*
 * seed_subclass.c -- the seed's DemoMultiPipe1: all the code in the
 * operations table.  file_read and file_write are the library's .npy
 * operations; data_process_meta_create is replaced whole, because it both
 * processes the data and creates the metadata.
 *
 * Keywords: boost_target at construction, reject_value and boost_amount
 * at run time; every step sees them merged.
 */
#include "seed_common.h"

#include <stdio.h>
#include <stdlib.h>

static int data_process_meta_create(bmp_item *item, void **data)
{
    bmp_array *a = *data;
    json_t *kw = bmp_item_kw(item);
    double reject_value, boost_target, boost_amount = 0;

    /* Pre-processing steps */
    if (bmp_kw_get_real(kw, "reject_value", &reject_value) == 1 &&
        seed_first(a) == reject_value) {
        /* No data: nothing is written; empty meta: pruned later. */
        bmp_item_data_free(item, a);
        *data = NULL;
        return BMP_STOP;
    }
    int flag_to_boost_later =
        bmp_kw_get_real(kw, "boost_target", &boost_target) == 1 &&
        seed_first(a) == boost_target;
    bmp_kw_get_real(kw, "boost_amount", &boost_amount);

    /* Processing step */
    seed_scale_add(a, 10, 0);

    /* Post-processing steps */
    if (flag_to_boost_later)
        seed_scale_add(a, 1, boost_amount);
    json_t *meta = bmp_item_meta(item);
    bmp_kw_set_real(meta, "median", seed_median(a));
    bmp_kw_set_real(meta, "average", seed_average(a));
    return BMP_CONTINUE;
}

int main(void)
{
    json_t *in_names;
    char *dir = seed_make_inputs(&in_names);

    const bmp_ops ops = {
        .version = BMP_OPS_VERSION,
        .file_read = bmp_npy_file_read,
        .file_write = bmp_npy_file_write,
        .data_process_meta_create = data_process_meta_create,
    };
    bmp_pipe *dmp = bmp_pipe_new(&ops, NULL);
    json_t *construction = json_pack("{s:i, s:s}", "boost_target", 3,
                                     "outdir", dir);
    bmp_pipe_kw_update(dmp, construction);
    json_t *run = json_pack("{s:i, s:i}", "reject_value", 2,
                            "boost_amount", 5);

    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(dmp, in_names, run, NULL, NULL, &pout, &err) < 0) {
        fprintf(stderr, "pipeline failed: %s\n", err.text);
        return 1;
    }
    /* Prune outname None (with empty meta) and the matching in_names. */
    bmp_pout *pruned;
    json_t *pruned_names;
    bmp_prune_pout(pout, in_names, &pruned, &pruned_names);
    seed_print_pout(pruned);

    int failures = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        if (bmp_pout_error(pout, i)) {
            fprintf(stderr, "item %zu: %s\n", i, bmp_pout_error(pout, i));
            failures++;
        }
    }
    bmp_pout_free(pruned);
    json_decref(pruned_names);
    bmp_pout_free(pout);
    json_decref(run);
    json_decref(construction);
    bmp_pipe_free(dmp);
    seed_remove_dir(dir);
    free(dir);
    json_decref(in_names);
    return failures ? 1 : 0;
}
