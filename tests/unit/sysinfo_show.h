/*
 * sysinfo_show.h -- bmp__sysinfo shown as JSON and as text, for the
 * tests (sysinfo_show.c says why they are not in the library).
 */
#ifndef BMP_SYSINFO_SHOW_H
#define BMP_SYSINFO_SHOW_H

#include "sysinfo.h"

#include <stddef.h>

/*! bmp__sysinfo_read() : init, then both readers.
 *  @return 0, or the negative error of the memory reader (the CPU part
 *          is filled in any case). */
int bmp__sysinfo_read(const char *root, const char *topology,
                      const char *affinity, bmp__sysinfo *si);

/*! bmp__cpu_source_name() / bmp__mem_source_name() : "cores",
 *  "affinity", "online", "quota", "none" / "meminfo", "cgroup", "none". */
const char *bmp__cpu_source_name(bmp__cpu_source source);
const char *bmp__mem_source_name(bmp__mem_source source);

/*! bmp__sysinfo_json() : the figures as a JSON object (unknown figures as
 *  null), for a command that shows the plan of a run.
 *  @return new reference, NULL on ENOMEM. */
json_t *bmp__sysinfo_json(const bmp__sysinfo *si);

/*! bmp__sysinfo_summary() : the same in two lines of text, e.g.
 *    cores: 2 (quota): 4 physical of 4, 8 logical CPUs allowed; ...
 *  @return as snprintf: the length the full text needs. */
int bmp__sysinfo_summary(const bmp__sysinfo *si, char *buf, size_t size);

#endif
