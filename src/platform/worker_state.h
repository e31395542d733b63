/*
 * worker_state.h -- the process state a worker gives every item: the one
 * it had when it started.
 *
 * Why: a worker runs many items, and a step that changes the working
 * directory, the umask, the signal mask or a signal's disposition would
 * otherwise change every later item in the same worker.  A handler left
 * by one step that returns from SIGSEGV turns a later item's segfault
 * into an endless loop; umask(0777) gives every later output mode 0000;
 * a blocked or ignored SIGTERM keeps the worker from ending.  Restoring
 * costs a few system calls an item; replacing the worker would cost a
 * fork.
 *
 * What is restored, and when:
 *   after every item   the working directory (fchdir to a descriptor
 *                      opened at the start), the umask, the signal mask
 *                      (three system calls, about 1.5 us on a virtual
 *                      machine), and the dispositions of SIGSEGV and
 *                      SIGBUS, whose handler, if it returns, turns a
 *                      later fault into an endless loop (compared with
 *                      the saved table, set back when they differ; about
 *                      0.5 us each)
 *   every other signal's disposition (SIGTERM, SIGCHLD, SIGPIPE, SIGFPE,
 *                      ...): compared with the saved table once the
 *                      items since the last comparison have run for
 *                      FULL_CHECK_S together, so after every item that
 *                      long and at least once every millisecond of short
 *                      items.  Reading all 64 costs 15 to 35 us, several
 *                      times a short item's whole overhead; this bounds
 *                      it to a few percent of the items' time.  A handler
 *                      a short item leaves for, say, SIGTERM or SIGUSR1
 *                      can therefore reach the items that run within the
 *                      next millisecond.
 */
#ifndef BMP_WORKER_STATE_H
#define BMP_WORKER_STATE_H

#include <signal.h>
#include <sys/types.h>

typedef struct bmp__worker_state {
    int cwd_fd; /* -1: the directory could not be opened */
    mode_t umask;
    sigset_t mask;
    struct sigaction act[NSIG]; /* by signal number */
    unsigned char known[NSIG];  /* act[sig] was read */
    double since_full;          /* item seconds since every signal was
                                   compared */
} bmp__worker_state;

/* Records the state a new worker has set up, before its first item. */
void bmp__worker_state_save(bmp__worker_state *s);
/* After an item that ran `item_s` seconds: puts back what the item
 * changed (above).  @return how many things were restored, for tests. */
int bmp__worker_state_restore(bmp__worker_state *s, double item_s);

#endif
