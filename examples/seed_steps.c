/*
 * seed_steps.c -- the seed's DemoMultiPipe2: the pipeline assembled from
 * pre- and post-process steps at construction, controlled by keywords at
 * construction and at run time.  Only data_process (x10) is an operation.
 *
 * boost_later shows how a pre-process step adds a keyword for the rest of
 * its item (need_to_boost_by); median and average show two ways for a
 * post-process step to fill the metadata.
 */
#include "seed_common.h"

/* Pre-process: reject the data whose first value is reject_value. */
static int reject(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    double reject_value;
    if (bmp_kw_get_real(bmp_item_kw(item), "reject_value", &reject_value) != 1)
        return BMP_CONTINUE;
    return seed_first(*data) == reject_value ? BMP_REJECT : BMP_CONTINUE;
}

/* Pre-process: flag the data to boost later by setting a keyword. */
static int boost_later(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    json_t *kw = bmp_item_kw(item);
    double boost_target, boost_amount;
    if (bmp_kw_get_real(kw, "boost_target", &boost_target) != 1 ||
        bmp_kw_get_real(kw, "boost_amount", &boost_amount) != 1)
        return BMP_CONTINUE;
    if (seed_first(*data) == boost_target)
        return bmp_kw_set_real(kw, "need_to_boost_by", boost_amount);
    return BMP_CONTINUE;
}

/* Post-process: interprets the keyword set by boost_later. */
static int later_booster(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    double by;
    if (bmp_kw_get_real(bmp_item_kw(item), "need_to_boost_by", &by) == 1)
        seed_scale_add(*data, 1, by);
    return BMP_CONTINUE;
}

/* Post-process: metadata straight into the item's meta. */
static int median(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    return bmp_kw_set_real(bmp_item_meta(item), "median", seed_median(*data));
}

/* Post-process: local metadata merged into the item's meta. */
static int average(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    json_t *local_meta = json_pack("{s:f}", "average", seed_average(*data));
    int rc = json_object_update(bmp_item_meta(item), local_meta);
    json_decref(local_meta);
    return rc == 0 ? BMP_CONTINUE : BMP_ESTEP;
}

static int data_process(bmp_item *item, void **data)
{
    (void)item;
    seed_scale_add(*data, 10, 0);
    return BMP_CONTINUE;
}

int main(void)
{
    const bmp_ops ops = {
        .version = BMP_OPS_VERSION,
        .file_read = bmp_npy_file_read,
        .file_write = bmp_npy_file_write,
        .data_process = data_process,
    };
    bmp_pipe *dmp = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_pre(dmp, reject, NULL, "reject");
    bmp_pipe_add_pre(dmp, boost_later, NULL, "boost_later");
    bmp_pipe_add_post(dmp, later_booster, NULL, "later_booster");
    bmp_pipe_add_post(dmp, median, NULL, "median");
    bmp_pipe_add_post(dmp, average, NULL, "average");
    return seed_run(dmp);
}
