/*
 * atomic_file.h -- writing a file so that its final name only ever holds
 * complete contents: write to a temporary name in the same directory,
 * optionally fsync, then rename.  A crash leaves at most a temporary file
 * named ".<name>.bmp-XXXXXX", never a half-written final file.
 */
#ifndef BMP_ATOMIC_FILE_H
#define BMP_ATOMIC_FILE_H

#include <stddef.h>

typedef struct bmp__atomic_file {
    int fd;
    char *final_path;
    char *temp_path;
} bmp__atomic_file;

/* Opens a temporary file beside `path`.  @return 0 or -errno. */
int bmp__atomic_open(bmp__atomic_file *f, const char *path);
/* Writes all bytes, retrying short writes.  @return 0 or -errno. */
int bmp__atomic_write(bmp__atomic_file *f, const void *bytes, size_t size);
/* fsyncs when asked, closes and renames over the final name; on any
 * failure the temporary is removed.  @return 0 or -errno. */
int bmp__atomic_commit(bmp__atomic_file *f, int do_fsync);
/* Closes and removes the temporary.  Safe after a failed commit. */
void bmp__atomic_abort(bmp__atomic_file *f);

#endif
