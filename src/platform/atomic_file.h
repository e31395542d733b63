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
#define BMP__ATOMIC_FSYNC 1u     /* fsync the file and its directory */
#define BMP__ATOMIC_NOREPLACE 2u /* fail with -EEXIST if the name exists */

/* Closes and renames to the final name (atomically refusing to replace an
 * existing file with BMP__ATOMIC_NOREPLACE); on any failure the temporary
 * is removed.  @return 0 or -errno. */
int bmp__atomic_commit(bmp__atomic_file *f, unsigned flags);

/* The temporary's name for `path`: ".BASE.bmp-XXXXXX" in the same
 * directory (BASE cut to 200 bytes), malloc'd into *pattern for
 * bmp__atomic_create_unique().  @return 0, -EISDIR for a name ending in
 * "/", or -ENOMEM. */
int bmp__atomic_temp_pattern(const char *path, char **pattern);

/* Replaces the last six characters of `path` (XXXXXX) with random ones
 * and creates the file, exclusively, mode 0666 & ~umask, announced to
 * the caller's executor as a temporary before it exists (see channel.h),
 * and locked (flock, exclusive) for as long as the descriptor is open:
 * a later run removes only the temporaries nobody holds locked
 * (run_paths.h).  @return the descriptor (close-on-exec), or -errno. */
int bmp__atomic_create_unique(char *path);

/* For writers whose library creates the file by name (cfitsio): a name
 * from bmp__atomic_create_unique() whose file could not be made after
 * all is taken back from the caller's list; the finished file is renamed
 * to `to` with the commit flags.  @return 0 or -errno. */
void bmp__atomic_forget_temp(const char *temp_path);
int bmp__atomic_rename(const char *from, const char *to, unsigned flags);

/* fsync of a file by name, and of the directory holding `path` (to make
 * a rename durable).  @return 0 or -errno. */
int bmp__fsync_path(const char *path);
int bmp__fsync_parent(const char *path);

/* Closes and removes the temporary.  Safe after a failed commit. */
void bmp__atomic_abort(bmp__atomic_file *f);

#endif
