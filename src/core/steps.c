/*
 * steps.c -- running the pre- and post-process lists, and the library's
 * ready-made steps (no_outfile, multi_proc).
 *
 * Python's steps signal through overloaded return values (None, a dict
 * with bmp_data/bmp_kwargs).  Here a step returns a verdict and works on
 * the data by reference; keywords are changed directly on the item.
 */
#include "run.h"

#include "meta_internal.h"
#include "objects_internal.h"

static const char *step_label(const bmp_step *s)
{
    return s->name ? s->name : "(unnamed)";
}

/* Gives a step's error a message when the step did not say why. */
static int step_failed(bmp_item *item, const char *list, const bmp_step *s,
                       int rc)
{
    return bmp_item_fail(item, rc, "%s step %s failed: %s", list,
                         step_label(s), bmp_strerror(rc));
}

int bmp_default_pre_process(bmp_item *item, void **data)
{
    const bmp__step_list *list = &item->run->pre;
    for (size_t i = 0; i < list->count; i++) {
        const bmp_step *s = &list->steps[i];
        int rc = s->fn(item, data, s->arg);
        if (rc < 0)
            return step_failed(item, "pre-process", s, rc);
        if (rc == BMP_REJECT || rc == BMP_STOP || !*data)
            return BMP_REJECT;
    }
    return BMP_CONTINUE;
}

int bmp_default_post_process(bmp_item *item, void **data)
{
    const bmp__step_list *list = &item->run->post;
    int verdict = BMP_CONTINUE;
    for (size_t i = 0; i < list->count; i++) {
        const bmp_step *s = &list->steps[i];
        int rc = s->fn(item, data, s->arg);
        if (rc < 0) {
            verdict = step_failed(item, "post-process", s, rc);
            break;
        }
        if (rc == BMP_REJECT || rc == BMP_STOP || !*data) {
            verdict = BMP_STOP;
            break;
        }
    }
    /* Cleanup also after a stop or an error: the large intermediate
     * values must never travel back to the caller. */
    if (!bmp_kw_bool(bmp__item_kw_view(item), "no_bmp_cleanup", 0))
        bmp__meta_apply_cleanup(item->meta);
    return verdict;
}

int bmp_no_outfile(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)data;
    (void)arg;
    return BMP_STOP;
}

/* Data of a group item are the bmp_list made by the group read, nested as
 * the item's names are; following the names' shape (rather than guessing
 * from the data) keeps user data types opaque to the library. */
static int multi_apply(bmp_item *item, const json_t *shape, void **data,
                       const bmp_step *inner)
{
    /* A step may have replaced the group's list with other data: then
     * the step applies to that data as a whole. */
    if (!json_is_array(shape) || !bmp__is_list(*data))
        return inner->fn(item, data, inner->arg);
    bmp_list *list = *data;
    if (list->count != json_array_size(shape))
        return bmp_item_fail(item, BMP_EINVAL,
                             "bmp_multi_proc: group data have %zu elements "
                             "for %zu names",
                             list->count, json_array_size(shape));
    for (size_t i = 0; i < list->count; i++) {
        if (!list->elements[i])
            continue;
        int rc = multi_apply(item, json_array_get(shape, i),
                             &list->elements[i], inner);
        if (rc < 0)
            return rc;
    }
    return BMP_CONTINUE;
}

int bmp_multi_proc(bmp_item *item, void **data, void *arg)
{
    const bmp_step *inner = arg;
    if (!inner || !inner->fn)
        return bmp_item_fail(item, BMP_EINVAL,
                             "bmp_multi_proc needs a bmp_step as argument");
    if (!*data)
        return BMP_CONTINUE;
    return multi_apply(item, item->in_name, data, inner);
}
