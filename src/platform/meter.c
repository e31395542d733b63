/*
 * meter.c -- see meter.h.
 */
#include "meter.h"

#include "units.h"

#include "sysinfo.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often a run without a memory budget checks getrusage's peak
 * against statm: a thread that ends during an item is seen at most this
 * many items later. */
#define CHECK_EVERY 64

/* getrusage's peak may exceed statm's resident memory by this much just
 * after a reset and still be the item's own: the kernel counts resident
 * pages per CPU and sums them lazily, so two readings of the same moment
 * differ by up to a batch of pages per CPU (a few hundred KiB seen on
 * 2 CPUs).  An ended thread's peak that matters is far larger. */
#define RESET_SLACK (2 * BMP__MIB)

/* An item whose peak stays within this of its start leaves the mark
 * where it was (meter.h): the next one need not reset it. */
#define MOVE_SLACK (256 * 1024)

void bmp__usage_now(struct rusage *ru)
{
    if (getrusage(RUSAGE_SELF, ru) != 0) {
        memset(ru, 0, sizeof *ru);
        ru->ru_maxrss = -1;
    }
}

void bmp__meter_open(bmp__meter *m, int every_item)
{
    memset(m, 0, sizeof *m);
    m->clear_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    m->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    m->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    m->every_item = every_item;
}

void bmp__meter_close(bmp__meter *m)
{
    int *fds[] = {&m->clear_fd, &m->status_fd, &m->statm_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

/* VmHWM from /proc/self/status, in bytes; -1 when it does not tell. */
static int64_t status_peak(int status_fd)
{
    char buf[4096];
    if (status_fd < 0)
        return -1;
    ssize_t n = pread(status_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strstr(buf, "VmHWM:");
    return p ? (int64_t)strtoll(p + 6, NULL, 10) * 1024 : -1;
}

void bmp__meter_start(bmp__meter *m, int need_vm, struct rusage *start)
{
    int full = m->every_item || need_vm || m->use_status ||
               m->items % CHECK_EVERY == 0;
    m->items++;
    m->checked = 0;
    m->start_rss = m->start_vm = -1;
    if (m->carry && !full) {
        *start = m->last_end;
        return;
    }
    /* Older kernels refuse "5": the peak is then the worker's since it
     * started, which is still an upper bound. */
    if (m->clear_fd >= 0 && pwrite(m->clear_fd, "5", 1, 0) < 0) {
    }
    if (m->statm_fd >= 0 && full)
        m->checked = bmp__statm_read(m->statm_fd, &m->start_rss,
                                     &m->start_vm) == 0;
    bmp__usage_now(start);
}

void bmp__meter_finish(bmp__meter *m, const struct rusage usage[2],
                       int64_t *peak_rss, int64_t *start_rss)
{
    int64_t at_start = usage[0].ru_maxrss >= 0
                           ? (int64_t)usage[0].ru_maxrss * 1024
                           : -1;
    if (m->checked && !m->use_status && at_start > m->start_rss + RESET_SLACK)
        m->use_status = 1; /* an ended thread's peak is in the way */
    /* The start is the peak just after the reset (the resident memory of
     * that moment), read from the same counter as the item's peak: statm
     * sums the kernel's per-CPU counts at another moment and may say a
     * few pages more than the peak that follows.  statm's figure only
     * when getrusage's holds an ended thread's peak. */
    if (at_start < 0 || (m->use_status && m->checked))
        *start_rss = m->checked ? m->start_rss : -1;
    else
        *start_rss = at_start;
    if (m->use_status)
        *peak_rss = status_peak(m->status_fd);
    else
        *peak_rss = usage[1].ru_maxrss >= 0
                        ? (int64_t)usage[1].ru_maxrss * 1024
                        : -1;
    /* The next item may keep the mark when this one did not raise it. */
    m->last_end = usage[1];
    m->carry = !m->every_item && !m->use_status && at_start >= 0 &&
               *peak_rss >= 0 && *peak_rss <= at_start + MOVE_SLACK;
}

int64_t bmp__children_rss(pid_t pid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid,
             (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    int64_t sum = 0;
    char *p = buf, *end;
    for (;;) {
        long child = strtol(p, &end, 10);
        if (end == p)
            break;
        p = end;
        int64_t rss, vm;
        if (child > 0 && bmp__proc_mem("", (pid_t)child, &rss, &vm) == 0)
            sum += rss;
    }
    return sum;
}
