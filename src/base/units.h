/*
 * units.h -- the mebibyte, in one place, so that the figures the
 * scheduler reckons with and the ones the messages print agree.
 */
#ifndef BMP_UNITS_H
#define BMP_UNITS_H

#include <stdint.h>

/* For byte counts: sums and limits stay exact in integers.  Spelled as
 * sched/scheduler.h spelled it before, so that both may be seen at once. */
#define BMP__MIB ((int64_t)1 << 20)
/* For printing: x / BMP__MIB_F is a fraction even when x is an integer. */
#define BMP__MIB_F 1048576.0

#endif
