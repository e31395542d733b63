/*
 * interrupt.c -- see interrupt.h.
 *
 * The handler only sets a flag and writes a byte to a pipe (the
 * self-pipe trick): poll() in the process executor watches the pipe, so a
 * signal that arrives just before poll() is not lost until the next item
 * finishes.
 */
#include "interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;
static int wake_pipe[2] = {-1, -1};
static int guards; /* installs in effect, so nested runs do not stack */

static void on_signal(int sig)
{
    int saved = errno;
    if (stop_signal) {
        /* The second interrupt: the user wants out now. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_signal = sig;
    if (wake_pipe[1] >= 0) {
        ssize_t n = write(wake_pipe[1], "!", 1);
        (void)n; /* a full pipe already wakes poll() */
    }
    errno = saved;
}

int bmp__interrupt_install(bmp__interrupt_guard *g)
{
    memset(g, 0, sizeof *g);
    if (guards > 0)
        return 0;
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -errno;
    stop_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking call returns EINTR and the loop looks. */
    sigaction(SIGINT, &sa, &g->old_int);
    sigaction(SIGTERM, &sa, &g->old_term);
    g->installed = 1;
    guards++;
    return 0;
}

void bmp__interrupt_restore(bmp__interrupt_guard *g)
{
    if (!g->installed)
        return;
    sigaction(SIGINT, &g->old_int, NULL);
    sigaction(SIGTERM, &g->old_term, NULL);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    wake_pipe[0] = wake_pipe[1] = -1;
    stop_signal = 0;
    g->installed = 0;
    guards--;
}

int bmp__interrupted(void)
{
    return stop_signal;
}

int bmp__interrupt_fd(void)
{
    return wake_pipe[0];
}
