/*
 * file_kind.h -- what a name is, for readers that take only regular
 * files.
 *
 * Why: open() of a FIFO blocks until a writer comes (for ever, in a batch
 * run).  A reader opens with O_NONBLOCK, which returns at once for a
 * FIFO, and refuses whatever fstat() says is not a regular file.  No
 * stat() before the open: it would cost a path lookup per input, a
 * measurable part of a tiny file's item.  The price is that a device
 * named as an input is opened (without blocking, and never as a
 * controlling terminal) before it is refused.
 */
#ifndef BMP_FILE_KIND_H
#define BMP_FILE_KIND_H

#include <sys/types.h>

/* "a FIFO", "a socket", "a character device", "a block device", "a
 * directory", "not a regular file" for a mode that is not a regular
 * file's; NULL for a regular file.  Static storage. */
const char *bmp__file_kind(mode_t mode);

/* Opens `path` read-only (O_CLOEXEC, O_NONBLOCK: no effect on a regular
 * file's reads) if it is a regular file, without blocking.
 * @return the descriptor, with *size its size; -errno when open() or
 * fstat() fails; BMP_EUNSUPPORTED (-EISDIR for a directory) when it is
 * not a regular file, with *kind set to what it is (bmp__file_kind). */
int bmp__open_regular(const char *path, const char **kind, off_t *size);

#endif
