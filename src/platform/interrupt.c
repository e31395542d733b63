/*
 * interrupt.c -- see interrupt.h.
 *
 * The handler only sets a flag and writes a byte to a pipe (the
 * self-pipe trick): poll() in the process executor watches the pipe, so a
 * signal that arrives just before poll() is not lost until the next item
 * finishes.
 *
 * Runs in several threads share one installation, counted under a lock:
 * the first run installs, the last one restores.  A signal the host
 * ignores (SIG_IGN: a background job's SIGINT, say) stays ignored.
 */
#include "interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static atomic_int stop_signal;
static atomic_int wake_read = -1, wake_write = -1;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int users;
/* What a terminal, a logout or a service manager sends to end a
 * program: each stops the run cleanly. */
static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_HANDLED (sizeof handled / sizeof *handled)
static struct sigaction saved[N_HANDLED];
static int installed_here[N_HANDLED];

static void on_signal(int sig)
{
    int saved_errno = errno;
    if (atomic_exchange(&stop_signal, sig) != 0) {
        /* The second interrupt: the user wants out now. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    int fd = atomic_load(&wake_write);
    if (fd >= 0) {
        ssize_t n = write(fd, "!", 1);
        (void)n; /* a full pipe already wakes poll() */
    }
    errno = saved_errno;
}

int bmp__interrupt_install(bmp__interrupt_guard *g)
{
    memset(g, 0, sizeof *g);
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (users == 0) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            rc = -errno;
            goto out;
        }
        atomic_store(&wake_read, fds[0]);
        atomic_store(&wake_write, fds[1]);
        atomic_store(&stop_signal, 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: a blocking call returns EINTR and the loop
         * looks at the flag. */
        for (size_t i = 0; i < N_HANDLED; i++) {
            installed_here[i] = 0;
            if (sigaction(handled[i], NULL, &saved[i]) != 0 ||
                saved[i].sa_handler == SIG_IGN)
                continue;
            if (sigaction(handled[i], &sa, NULL) == 0)
                installed_here[i] = 1;
        }
    }
    users++;
    g->installed = 1;
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

void bmp__interrupt_restore(bmp__interrupt_guard *g)
{
    if (!g->installed)
        return;
    pthread_mutex_lock(&lock);
    if (--users == 0) {
        for (size_t i = 0; i < N_HANDLED; i++)
            if (installed_here[i])
                sigaction(handled[i], &saved[i], NULL);
        close(atomic_exchange(&wake_read, -1));
        close(atomic_exchange(&wake_write, -1));
        atomic_store(&stop_signal, 0);
    }
    g->installed = 0;
    pthread_mutex_unlock(&lock);
}

int bmp__interrupted(void)
{
    return atomic_load(&stop_signal);
}

int bmp__interrupt_fd(void)
{
    return atomic_load(&wake_read);
}

void bmp__interrupt_drain(void)
{
    int fd = atomic_load(&wake_read);
    char buf[64];
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
        ;
}

void bmp__interrupt_worker_reset(void)
{
    for (size_t i = 0; i < N_HANDLED; i++) {
        struct sigaction now;
        /* Any handler, the library's or the host's: a copy of the host's
         * handler in a worker would swallow the signal that must end the
         * worker (a flag set that nobody reads).  SIG_IGN stays: the
         * host asked to be immune (nohup), and so are its workers. */
        if (sigaction(handled[i], NULL, &now) == 0 &&
            now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN)
            signal(handled[i], SIG_DFL);
    }
    int r = atomic_exchange(&wake_read, -1);
    int w = atomic_exchange(&wake_write, -1);
    if (r >= 0)
        close(r);
    if (w >= 0)
        close(w);
    atomic_store(&stop_signal, 0);
    users = 0;
}
