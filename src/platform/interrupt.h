/*
 * interrupt.h -- SIGINT, SIGTERM, SIGHUP and SIGQUIT during a run.  While
 * a pipeline runs in the calling process (not in a worker), the first of
 * them asks the run to stop: no new items start, running workers are ended,
 * the journal keeps what finished, and bmp_pipeline() returns the partial
 * pout with BMP_EINTERRUPTED.  A second signal ends the process at once.
 * The previous handlers are restored when the run ends.
 */
#ifndef BMP_INTERRUPT_H
#define BMP_INTERRUPT_H

#include <signal.h>

typedef struct bmp__interrupt_guard {
    int installed;
} bmp__interrupt_guard;

/* Installs the handlers; runs in several threads share one installation.
 * @return 0 or -errno. */
int bmp__interrupt_install(bmp__interrupt_guard *g);
/* Restores the handlers the guard replaced. */
void bmp__interrupt_restore(bmp__interrupt_guard *g);
/* The signal that asked to stop, or 0. */
int bmp__interrupted(void);
/* A descriptor that becomes readable when a signal arrives, for poll();
 * -1 when no handler is installed. */
int bmp__interrupt_fd(void);
/* Empties that descriptor, for a caller woken by it with no stop asked
 * (a byte written by a handler running in a child before it reset them):
 * else every poll() would return at once. */
void bmp__interrupt_drain(void);
/* In a new worker process, before anything else: the signals handled
 * here get their default action back (a worker must die of SIGTERM, not
 * swallow it in a copy of the caller's handler), the copy of the
 * self-pipe is closed (a handler must not wake the caller), and the
 * worker's state says no run is interrupted.  SIGINT is left to the
 * worker to ignore.  Takes no lock: another thread of the caller may
 * have held it at the fork. */
void bmp__interrupt_worker_reset(void);

#endif
