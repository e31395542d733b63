/*
 * file_kind.c -- see file_kind.h.
 */
#include "file_kind.h"

#include "bigmultipipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *bmp__file_kind(mode_t mode)
{
    if (S_ISREG(mode))
        return NULL;
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISDIR(mode))
        return "a directory";
    return "not a regular file";
}

int bmp__open_regular(const char *path, const char **kind, off_t *size)
{
    *kind = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int rc = -errno;
        /* A socket cannot be opened (ENXIO): say what it is. */
        if (rc == -ENXIO && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            *kind = bmp__file_kind(st.st_mode);
            return BMP_EUNSUPPORTED;
        }
        return rc;
    }
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        *kind = bmp__file_kind(st.st_mode);
        return S_ISDIR(st.st_mode) ? -EISDIR : BMP_EUNSUPPORTED;
    }
    if (size)
        *size = st.st_size;
    return fd;
}
