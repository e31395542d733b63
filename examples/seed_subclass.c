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
    int flag_to_boost_later = bmp_kw_get_real(kw, "boost_target",
                                              &boost_target) == 1 &&
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
    const bmp_ops ops = {
        .version = BMP_OPS_VERSION,
        .file_read = bmp_npy_file_read,
        .file_write = bmp_npy_file_write,
        .data_process_meta_create = data_process_meta_create,
    };
    bmp_pipe *dmp = bmp_pipe_new(&ops, NULL);
    return seed_run(dmp);
}
