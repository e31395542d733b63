/*
 * progress.c -- the progress line on a terminal:
 *
 *   [37/120] 2 failed  4.1 items/s  ETA 20 s  4 workers  mem 1.2 GiB / 9.8 GiB
 *
 * Redrawn in place with a carriage return and "erase to end of line", so
 * a shorter line leaves nothing behind.  The library calls the callback
 * in the caller when an item finishes; the final state stays on the
 * screen and progress_finish() ends the line.
 */
#include "tool.h"

#include <inttypes.h>
#include <math.h>

const char *format_bytes(int64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B",   "KiB", "MiB",
                                        "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRId64 " B", bytes);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

static void format_duration(double s, char *buf, size_t size)
{
    if (s < 10)
        snprintf(buf, size, "%.1f s", s);
    else if (s < 60)
        snprintf(buf, size, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600),
                 (int)fmod(s / 60, 60));
}

void progress_update(const bmp_progress *p, void *arg)
{
    progress_state *s = arg;
    char line[256], eta[32], a[32], b[32];
    int n = snprintf(line, sizeof line, "[%zu/%zu] %zu failed", p->done,
                     p->total, p->failed);
    double rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
    if (p->done > 0 && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "  %.1f items/s",
                      rate);
    if (n < (int)sizeof line) {
        if (p->done == p->total) {
            format_duration(p->elapsed_s, eta, sizeof eta);
            n += snprintf(line + n, sizeof line - (size_t)n, "  done in %s",
                          eta);
        } else if (p->done > 0 && rate > 0) {
            format_duration((double)(p->total - p->done) / rate, eta,
                            sizeof eta);
            n += snprintf(line + n, sizeof line - (size_t)n, "  ETA %s", eta);
        } else {
            n += snprintf(line + n, sizeof line - (size_t)n, "  ETA ?");
        }
    }
    if (n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "  %d worker%s",
                      p->workers, p->workers == 1 ? "" : "s");
    if (n < (int)sizeof line && (p->mem_in_use >= 0 || p->mem_budget >= 0))
        snprintf(line + n, sizeof line - (size_t)n, "  mem %s / %s",
                 p->mem_in_use >= 0 ? format_bytes(p->mem_in_use, a, sizeof a)
                                    : "?",
                 p->mem_budget >= 0 ? format_bytes(p->mem_budget, b, sizeof b)
                                    : "no limit");
    fprintf(s->out, "\r%s\033[K", line);
    fflush(s->out);
    s->drawn = 1;
}

void progress_finish(progress_state *s)
{
    if (s->drawn) {
        fputc('\n', s->out);
        fflush(s->out);
    }
    s->drawn = 0;
}
