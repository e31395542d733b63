/*
 * worker_state.c -- see worker_state.h.
 */
#include "worker_state.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Item time between two comparisons of every signal's disposition: the
 * comparison (15 to 35 us here) stays near 1.5 to 3.5% of it. */
#define FULL_CHECK_S 0.001

/* Compared after every item, because a change to them breaks a later
 * item or the library's own guarantees at once:
 * - a handler that returns from a fault (SIGSEGV, SIGBUS, SIGFPE,
 *   SIGILL) re-runs the faulting instruction, so a later item's crash
 *   would become an endless loop;
 * - SIGTERM ignored or caught would make the worker deaf to the
 *   SIGTERM that must end it (doc/safety.md);
 * - SIGCHLD ignored makes the kernel reap a later item's children, and
 *   its waitpid() fail with ECHILD.
 * Each comparison costs about 0.5 us here; the other signals wait for
 * the comparison of all, after each millisecond of item time. */
static const int every_item[] = {SIGSEGV, SIGBUS,  SIGFPE,
                                 SIGILL,  SIGTERM, SIGCHLD};

void bmp__worker_state_save(bmp__worker_state *s)
{
    memset(s, 0, sizeof *s);
    s->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    s->umask = umask(0);
    umask(s->umask);
    sigprocmask(SIG_SETMASK, NULL, &s->mask);
    for (int sig = 1; sig < NSIG; sig++)
        s->known[sig] = sigaction(sig, NULL, &s->act[sig]) == 0;
}

/* Compared by what the kernel keeps: the handler, the flags that change
 * behaviour, and the kernel's part of the mask (the rest of a sigset_t
 * is room that nobody fills). */
static int same_action(const struct sigaction *a, const struct sigaction *b)
{
    const int flags = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK |
                      SA_RESTART | SA_NODEFER | SA_RESETHAND;
    if (a->sa_handler != b->sa_handler ||
        (a->sa_flags & flags) != (b->sa_flags & flags))
        return 0;
    /* Signals 1 to NSIG - 1 are the first bits of a glibc sigset_t. */
    return memcmp(&a->sa_mask, &b->sa_mask, (NSIG - 1 + 7) / 8) == 0;
}

/* Sets sig's disposition back when it differs from the saved one. */
static int restore_signal(const bmp__worker_state *s, int sig)
{
    struct sigaction now;
    memset(&now, 0, sizeof now);
    if (!s->known[sig] || sigaction(sig, NULL, &now) != 0 ||
        same_action(&now, &s->act[sig]))
        return 0;
    return sigaction(sig, &s->act[sig], NULL) == 0;
}

int bmp__worker_state_restore(bmp__worker_state *s, double item_s)
{
    int restored = 0;
    /* Unconditionally: setting costs what reading would. */
    if (s->cwd_fd >= 0)
        fchdir(s->cwd_fd);
    restored += umask(s->umask) != s->umask;
    sigprocmask(SIG_SETMASK, &s->mask, NULL);
    for (size_t i = 0; i < sizeof every_item / sizeof *every_item; i++)
        restored += restore_signal(s, every_item[i]);
    s->since_full += item_s > 0 ? item_s : 0;
    if (s->since_full >= FULL_CHECK_S) {
        s->since_full = 0;
        for (int sig = 1; sig < NSIG; sig++)
            restored += restore_signal(s, sig);
    }
    return restored;
}
