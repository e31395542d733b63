/*
 * meter.h -- a worker's measurement of each item's memory: the resident
 * memory at the item's start and the item's own peak.
 *
 * The peak is the kernel's high-water mark of resident memory, reset
 * before each item through /proc/self/clear_refs, so that it is the
 * item's and not the worker's since it started.  It is read from the
 * getrusage() that measures the item's CPU time anyway -- reading VmHWM
 * from /proc/self/status costs the kernel formatting the whole file,
 * several microseconds per item.  Some kernels keep the peak of a thread
 * that has ended apart, where the reset does not reach it, and
 * getrusage() mixes it in; the meter checks for that against statm (every item
 * in a run with a memory budget, every 64th otherwise) and from then on reads
 * VmHWM.
 *
 * In a run without a memory budget the meter also keeps the worker's
 * measurements between items: when an item left the peak where it found
 * it, the next one starts from the same mark without a reset, and its
 * start (CPU time, resident memory) is the last item's end.  That saves
 * two system calls of three per short item.  Its start is then the mark
 * (the highest resident memory since the last reset) and its peak the
 * larger of the mark and its own: both overstate the item's by what the
 * items since the reset gave back, and its growth (peak - start) is the
 * part of it above the mark.  The mark is reset after an item that raised
 * it by more than MOVE_SLACK, and every CHECK_EVERY items.  An item's CPU
 * time then includes the worker's few microseconds between items.
 */
#ifndef BMP_METER_H
#define BMP_METER_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct bmp__meter {
    int clear_fd, status_fd, statm_fd; /* -1: not available */
    int every_item;                    /* read statm before every item */
    int use_status; /* an ended thread's peak is in getrusage's */
    unsigned long items;
    int64_t start_rss, start_vm; /* of the current item; -1 unknown */
    int checked;                 /* statm was read for the current item */
    int carry;                   /* the next item may start from last_end */
    struct rusage last_end;      /* getrusage() at the last item's end */
} bmp__meter;

/* getrusage(RUSAGE_SELF) into *ru; on failure zero CPU time and a peak
 * of -1 (unknown).  The one measurement of an item's CPU time, in every
 * executor. */
void bmp__usage_now(struct rusage *ru);

/* Opens the files (a worker keeps them until it exits); `every_item` for
 * runs whose memory is budgeted. */
void bmp__meter_open(bmp__meter *m, int every_item);

/* Closes the files (a worker never needs to: they close as it exits). */
void bmp__meter_close(bmp__meter *m);

/* Before an item: resets the peak and fills *start with getrusage(), or
 * gives the last item's end when the mark may be kept (above); the item
 * must be measured from *start.  m->start_vm is known (not -1) when statm
 * was read, which `need_vm` forces (the enforce keyword). */
void bmp__meter_start(bmp__meter *m, int need_vm, struct rusage *start);

/* After the item, with the getrusage() of its start (from
 * bmp__meter_start) and of its end: its peak and its start, in bytes (-1
 * unknown). */
void bmp__meter_finish(bmp__meter *m, const struct rusage usage[2],
                       int64_t *peak_rss, int64_t *start_rss);

/* The resident bytes of the direct children of the process `pid` (a
 * program a step runs and waits for), from /proc/PID/task/PID/children:
 * a worker's own resident memory leaves them out.  Children of other
 * threads of `pid`, and grandchildren, are not counted; 0 when there are
 * none or the kernel does not list them. */
int64_t bmp__children_rss(pid_t pid);

#endif
