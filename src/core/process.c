/*
 * process.c -- the default per-item step, Python's file_process:
 * read -> pre-process -> data_process_meta_create -> outname -> write.
 *
 * Each stage is called through the pipe's operations table, so that an
 * override of any one of them changes just that stage.
 */
#include "atomic_file.h"
#include "run.h"
#include "run_paths.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 1 when `outname` is one of the item's input files (same device and
 * inode, so "./a" and "a" and hard links all count). */
static int names_an_input(const json_t *member, const struct stat *out)
{
    if (json_is_array(member)) {
        for (size_t i = 0; i < json_array_size(member); i++)
            if (names_an_input(json_array_get(member, i), out))
                return 1;
        return 0;
    }
    struct stat in;
    return json_is_string(member) &&
           stat(json_string_value(member), &in) == 0 &&
           in.st_dev == out->st_dev && in.st_ino == out->st_ino;
}

/* 1 when the file `proposed` exists and is one of the item's inputs. */
static int output_is_input(const bmp_item *item, const char *proposed)
{
    struct stat out;
    return stat(proposed, &out) == 0 && names_an_input(item->in_name, &out);
}

static int own_input_error(bmp_item *item, const char *proposed)
{
    return bmp_item_fail(item, BMP_EINVAL,
                         "output name %s is the item's own input; "
                         "choose another outdir or outname_append",
                         proposed);
}

/* The checks of the run's paths that waited for the name the item
 * really has (run.h, names_deferred).  Under the name the default rule
 * gave it, which was checked against every input before the run, it
 * fails only when another item was given that name too: either may
 * still write it.  Under another name (set by a step or meta), the
 * output, when it exists, must not be another item's input, whatever
 * overwrite says. */
static int check_deferred_name(bmp_item *item, const char *proposed)
{
    bmp__run *run = item->run;
    char *predicted = NULL;
    int rc = bmp_outname_create(bmp_item_name(item), run->kw, NULL,
                                &predicted);
    if (rc == -ENOMEM)
        return bmp_item_fail(item, rc, "out of memory");
    int same = predicted && strcmp(predicted, proposed) == 0;
    free(predicted);
    size_t other;
    if (same) {
        if (!run->contested[item->index])
            return 0;
        other = run->contested[item->index] - 1;
        return bmp_item_fail(item, BMP_EINVAL,
                             "items %zu and %zu would both write %s; give "
                             "them distinct output names (outdir, "
                             "outname_append, outname)",
                             item->index < other ? item->index : other,
                             item->index < other ? other : item->index,
                             proposed);
    }
    struct stat st;
    if (stat(proposed, &st) != 0)
        return 0; /* nothing there: no input can be lost */
    const bmp__inodes *inputs = bmp__run_input_inodes(run);
    if (!inputs)
        return bmp_item_fail(item, -ENOMEM, "out of memory");
    if (bmp__inodes_other_item(inputs, st.st_dev, st.st_ino, item->index,
                               &other))
        return bmp_item_fail(item, BMP_EINVAL,
                             "item %zu's output %s is item %zu's input: no "
                             "item may write another's input, whatever "
                             "overwrite says; choose another outdir or "
                             "outname",
                             item->index, proposed, other);
    return 0;
}

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
    if (item->run->names_deferred) {
        rc = check_deferred_name(item, proposed);
        if (rc < 0) {
            bmp_item_data_free(item, data);
            free(proposed);
            return rc;
        }
    }
    /* Never write over the item's own input.  The default writer without
     * overwrite refuses every existing output when it renames
     * (RENAME_NOREPLACE), the input among them, so the check, a path
     * lookup that contends with the other workers' creates in the same
     * directory, is made only when that refusal happens.  Any other
     * writer, or overwrite, is checked before it writes. */
    int refused_at_rename = ops->file_write == bmp_default_file_write &&
                            (bmp__atomic_flags_for(item) &
                             BMP__ATOMIC_NOREPLACE);
    if (!refused_at_rename && output_is_input(item, proposed)) {
        bmp_item_data_free(item, data);
        rc = own_input_error(item, proposed);
        free(proposed);
        return rc;
    }
    char *written = NULL;
    rc = ops->file_write(item, data, proposed, &written);
    bmp_item_data_free(item, data);
    if (rc == -EEXIST && refused_at_rename &&
        output_is_input(item, proposed)) {
        free(item->error); /* "exists" is true, but this says more */
        item->error = NULL;
        rc = own_input_error(item, proposed);
    }
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
