/*
 * fileio.c -- the default file_read and file_write: a file's bytes in, a
 * buffer's bytes out; groups read member by member.  Outputs are written
 * atomically (atomic_file.h) so a failed or killed item never leaves a
 * partial file under its final name.
 */
#include "run.h"

#include "atomic_file.h"
#include "file_kind.h"
#include "objects_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bmp_default_file_read(bmp_item *item, const char *in_name, void **data)
{
    *data = NULL;
    /* Only a regular file, and never a blocking open (a FIFO). */
    const char *kind;
    off_t size = 0;
    int fd = bmp__open_regular(in_name, &kind, &size);
    if (fd < 0 && kind)
        return bmp_item_fail(item, fd, "%s is %s, not a regular file", in_name,
                             kind);
    if (fd < 0)
        return bmp_item_fail(item, fd, "cannot open %s: %s", in_name,
                             bmp_strerror(fd));
    bmp_buffer *buf = bmp_buffer_new((size_t)size);
    if (!buf) {
        close(fd);
        return bmp_item_fail(item, -ENOMEM, "out of memory reading %s",
                             in_name);
    }
    size_t got = 0;
    while (got < buf->size) {
        ssize_t n = read(fd, buf->bytes + got, buf->size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int rc = n < 0 ? -errno : -EIO;
            close(fd);
            bmp_object_free(buf, NULL);
            return bmp_item_fail(item, rc, "cannot read %s: %s", in_name,
                                 n < 0 ? bmp_strerror(rc)
                                       : "file shrank while reading");
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    return 0;
}

/* Reads one member of an item: a name through the pipe's file_read, a
 * group into a bmp_list, recursively. */
int bmp__read_member(bmp_item *item, const json_t *member, void **data)
{
    *data = NULL;
    bmp_pipe *pipe = item->run->pipe;
    if (json_is_string(member))
        return pipe->ops.file_read(item, json_string_value(member), data);
    if (!json_is_array(member))
        return bmp_item_fail(item, BMP_EINVAL,
                             "an item must be a file name or a group of "
                             "items");
    bmp_list *list = bmp_list_new(json_array_size(member), pipe->ops.data_free,
                                  pipe->user);
    if (!list)
        return bmp_item_fail(item, -ENOMEM, "out of memory reading a group");
    for (size_t i = 0; i < list->count; i++) {
        int rc = bmp__read_member(item, json_array_get(member, i),
                                  &list->elements[i]);
        if (rc < 0) {
            bmp_object_free(list, NULL);
            return rc;
        }
    }
    *data = list;
    return 0;
}

static int write_data(bmp_item *item, bmp__atomic_file *f, void *data)
{
    if (bmp__is_buffer(data)) {
        bmp_buffer *b = data;
        return bmp__atomic_write(f, b->bytes, b->size);
    }
    if (bmp__is_array(data)) {
        bmp_array *a = data;
        return bmp__atomic_write(f, a->data, a->nbytes);
    }
    if (bmp__is_list(data)) {
        bmp_list *l = data;
        for (size_t i = 0; i < l->count; i++) {
            if (!l->elements[i])
                continue;
            int rc = write_data(item, f, l->elements[i]);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    return bmp_item_fail(item, BMP_EINVAL,
                         "the default file_write writes bmp_buffer, "
                         "bmp_array and bmp_list data; set file_write for "
                         "other data");
}

/* The writing keywords as the item has them (meta winning), checked:
 * the run's own were checked before the run, but a pre-process step or
 * meta may set "yes" or "no", which Python's truthiness would both take
 * as true -- "overwrite": "no" would replace the file.  A value of
 * another type fails the item before anything is written. */
static int check_writing_keywords(bmp_item *item)
{
    static const char *const keys[] = {"create_outdir", "overwrite", "fsync"};
    const json_t *where[] = {item->meta, bmp__item_kw_view(item)};
    for (size_t w = 0; w < 2; w++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            int v;
            if (bmp_kw_get_bool(where[w], keys[k], &v) == BMP_EKWTYPE)
                return bmp_item_fail(item, BMP_EKWTYPE,
                                     "%s %s must be true or false (or a "
                                     "number), not %s",
                                     w ? "keyword" : "meta key", keys[k],
                                     json_is_string(
                                         json_object_get(where[w], keys[k]))
                                         ? "a string"
                                         : "an array or object");
        }
    return 0;
}

int bmp__prepare_outdir(bmp_item *item, const char *outname)
{
    int rc = check_writing_keywords(item);
    if (rc < 0)
        return rc;
    int create = bmp_kw_bool(bmp__item_kw_view(item), "create_outdir", 0);
    create = bmp_kw_bool(item->meta, "create_outdir", create);
    rc = create ? bmp_mkdir_parents_of(outname) : 0;
    if (rc < 0)
        bmp_item_fail(item, rc, "cannot create the directory of %s: %s",
                      outname, bmp_strerror(rc));
    return rc;
}

int bmp__write_failed(bmp_item *item, const char *outname, int rc)
{
    if (rc == -EEXIST)
        return bmp_item_fail(item, rc,
                             "output %s exists; set overwrite to replace it",
                             outname);
    if (rc == -ENOENT) {
        const char *slash = strrchr(outname, '/');
        return bmp_item_fail(item, rc,
                             "cannot write %s: directory %.*s does not exist "
                             "(set create_outdir to create it)",
                             outname, slash ? (int)(slash - outname) : 1,
                             slash ? outname : ".");
    }
    return bmp_item_fail(item, rc, "cannot write %s: %s", outname,
                         bmp_strerror(rc));
}

int bmp_default_file_write(bmp_item *item, void *data, const char *outname,
                           char **written)
{
    *written = NULL;
    int rc = bmp__prepare_outdir(item, outname);
    if (rc < 0)
        return rc;
    bmp__atomic_file f;
    rc = bmp__atomic_open(&f, outname);
    if (rc < 0)
        return bmp__write_failed(item, outname, rc);
    rc = write_data(item, &f, data);
    if (rc < 0) {
        bmp__atomic_abort(&f);
        return bmp__write_failed(item, outname, rc);
    }
    rc = bmp__atomic_commit(&f, bmp__atomic_flags_for(item));
    if (rc < 0)
        return bmp__write_failed(item, outname, rc);
    return 0;
}

unsigned bmp__atomic_flags_for(bmp_item *item)
{
    const json_t *kw = bmp__item_kw_view(item);
    const json_t *meta = bmp_item_meta(item);
    unsigned flags = 0;
    if (bmp_kw_bool(meta, "fsync", bmp_kw_bool(kw, "fsync", 0)))
        flags |= BMP__ATOMIC_FSYNC;
    if (!bmp_kw_bool(meta, "overwrite", bmp_kw_bool(kw, "overwrite", 0)))
        flags |= BMP__ATOMIC_NOREPLACE;
    return flags;
}
