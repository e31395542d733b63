/*
 * process.c -- the default per-item step, Python's file_process:
 * read -> pre-process -> data_process_meta_create -> outname -> write.
 *
 * Each stage is called through the pipe's operations table, so that an
 * override of any one of them changes just that stage.
 */
#include "pipe_internal.h"

#include <stdlib.h>

int bmp_default_data_process(bmp_item *item, void **data)
{
    (void)item;
    (void)data;
    return BMP_CONTINUE;
}

int bmp_default_data_process_meta_create(bmp_item *item, void **data)
{
    const bmp_ops *ops = &item->run->pipe->ops;
    int rc = ops->data_process(item, data);
    if (rc < 0)
        return rc;
    if (rc == BMP_REJECT || rc == BMP_STOP || !*data) {
        /* Python: no data from data_process -> (None, {}). */
        json_object_clear(item->meta);
        return BMP_STOP;
    }
    return ops->post_process(item, data);
}

/* Replaces the meta with an empty object: a rejected item returns {}. */
static void reset_meta(bmp_item *item)
{
    json_object_clear(item->meta);
}

int bmp_default_file_process(bmp_item *item, char **outname)
{
    const bmp_ops *ops = &item->run->pipe->ops;
    *outname = NULL;
    void *data = NULL;
    int rc = bmp__read_member(item, item->in_name, &data);
    if (rc < 0 || !data) {
        reset_meta(item);
        return rc < 0 ? rc : 0;
    }

    rc = ops->pre_process(item, &data);
    if (rc < 0 || rc == BMP_REJECT || rc == BMP_STOP || !data) {
        bmp_item_data_free(item, data);
        reset_meta(item);
        return rc < 0 ? rc : 0;
    }

    rc = ops->data_process_meta_create(item, &data);
    if (rc < 0 || rc == BMP_REJECT || rc == BMP_STOP || !data) {
        /* Nothing is written, but the meta gathered so far is kept. */
        bmp_item_data_free(item, data);
        return rc < 0 ? rc : 0;
    }

    char *proposed = NULL;
    rc = ops->outname_create(item, &proposed);
    if (rc < 0) {
        bmp_item_data_free(item, data);
        return rc;
    }
    char *written = NULL;
    rc = ops->file_write(item, data, proposed, &written);
    bmp_item_data_free(item, data);
    if (rc < 0) {
        free(proposed);
        free(written);
        return rc;
    }
    if (written) {
        free(proposed);
        *outname = written;
    } else {
        *outname = proposed;
    }
    return 0;
}
