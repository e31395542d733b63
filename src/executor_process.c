/*
 * executor_process.c -- a pool of forked worker processes.
 *
 * Why processes: an item's memory is given back when its worker ends or
 * trims, and a crash (segfault, abort, exit, the OOM killer) costs that
 * item only: the caller sees the worker's socket close, reaps it, records
 * the signal or exit code in the item's entry and starts a new worker.
 * Workers are forked once and fed item indices; they inherit the run (the
 * items, the keywords, the steps) from the fork, so only an index goes
 * out and only a result comes back.
 *
 * The caller's loop is single-threaded around poll(): no signal handler,
 * no SIGCHLD, only waitpid() on the pids it started, so it composes with
 * a host program and with nested pipelines in workers.
 */
#include "executor.h"

#include "channel.h"
#include "interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct worker {
    pid_t pid;      /* 0: no process */
    int fd;         /* caller's end of the socket; -1: none */
    long item;      /* index being run, -1: idle */
    double started; /* when the item was sent */
    char **temps;   /* temporary outputs the current item opened */
    size_t ntemps;
} worker;

typedef struct pool {
    bmp__run *run;
    worker *workers;
    int nworkers;
    double timeout;   /* seconds per item; 0: none */
    long retries;     /* extra attempts for a failed item */
    int max_items;    /* items per worker before it is replaced; 0: none */
    size_t *queue;    /* items still to start, FIFO */
    size_t queue_head, queue_tail, queue_cap;
    size_t done;
    size_t failed;    /* finished as failed, crashed or timed out */
    size_t reported;  /* `done` at the last progress report */
    int *attempts;    /* per item */
    int *served;      /* per worker slot: items run by its process */
} pool;

/* ---- the worker side -------------------------------------------------- */

/* Peak resident memory of this process since the last reset, in bytes;
 * -1 when /proc does not tell.  Resetting (clear_refs "5") makes the peak
 * per item although the worker lives on. */
static int64_t read_peak_rss(int status_fd)
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

static void reset_peak_rss(int clear_fd)
{
    if (clear_fd >= 0 && pwrite(clear_fd, "5", 1, 0) < 0) {
        /* Older kernels refuse "5"; the peak is then since the start. */
    }
}

static void worker_main(bmp__run *run, int fd, pid_t parent)
{
    /* If the caller dies (even by SIGKILL), its workers go too, rather
     * than finishing items nobody will collect. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    bmp__channel_set_worker_fd(fd);
    /* Past a file-size limit, write() then fails with EFBIG and the item
     * fails cleanly, instead of the worker dying of SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    /* The caller coordinates interruption; a terminal's Ctrl-C must not
     * kill the workers behind its back. */
    signal(SIGINT, SIG_IGN);
    /* A crash handler inherited from the host (a test framework's, a
     * language runtime's) could swallow a crash and run the host's code
     * in this copy of it; a crash must end the worker so that the caller
     * can report it. */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
        signal(fatal[i], SIG_DFL);
    int clear_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    for (;;) {
        uint64_t index;
        int rc = bmp__channel_recv_index(fd, &index);
        if (rc <= 0 || index >= run->count)
            break;
        reset_peak_rss(clear_fd);
        bmp__result r;
        bmp__run_item(run, (size_t)index, &r);
        r.stats.peak_rss = read_peak_rss(status_fd);
        /* Steps may print; _exit() below would drop buffered output. */
        fflush(NULL);
        rc = bmp__channel_send_result(fd, &r);
        bmp__result_clear(&r);
        if (rc < 0)
            break;
        /* Give the item's memory back to the system before the next. */
        malloc_trim(0);
    }
    /* _exit: the caller's atexit handlers and stdio buffers belong to the
     * caller, not to this copy of it. */
    _exit(0);
}

/* ---- the caller side -------------------------------------------------- */

static int spawn(pool *p, worker *w)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -errno;
    fflush(NULL); /* else the child would flush our buffers again */
    pid_t parent = getpid();
    pid_t pid = bmp__fork_worker(sv[1]);
    if (pid < 0) {
        int rc = -errno;
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    if (pid == 0) {
        close(sv[0]);
        worker_main(p->run, sv[1], parent);
    }
    close(sv[1]);
    bmp__fd_register(sv[0]);
    w->pid = pid;
    w->fd = sv[0];
    w->item = -1;
    p->served[w - p->workers] = 0;
    return 0;
}

static void forget_temps(worker *w, int remove_them)
{
    for (size_t i = 0; i < w->ntemps; i++) {
        /* A temporary already renamed to its final name is gone: unlink
         * fails harmlessly.  One still there is a partial output. */
        if (remove_them)
            unlink(w->temps[i]);
        free(w->temps[i]);
    }
    free(w->temps);
    w->temps = NULL;
    w->ntemps = 0;
}

static void remember_temp(worker *w, char *path)
{
    char **t = realloc(w->temps, (w->ntemps + 1) * sizeof *t);
    if (!t) {
        free(path);
        return;
    }
    w->temps = t;
    w->temps[w->ntemps++] = path;
}

/* Closes the socket and waits for the process; *status as waitpid's.
 * Temporary outputs of an unfinished item are removed. */
static void reap(worker *w, int kill_first, int *status)
{
    if (w->fd >= 0) {
        bmp__fd_unregister(w->fd);
        close(w->fd);
        w->fd = -1;
    }
    if (w->pid > 0) {
        if (kill_first)
            kill(w->pid, SIGKILL);
        int st = 0;
        while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
        }
        if (status)
            *status = st;
    }
    forget_temps(w, 1);
    w->pid = 0;
    w->item = -1;
}

static void describe_death(bmp__result *r, int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                         "worker killed by signal SIG%s (%s)%s",
                         abbrev ? abbrev : "?", strsignal(sig),
                         sig == SIGKILL ? "; the out-of-memory killer "
                                          "sends this signal"
                                        : "");
    } else if (WIFEXITED(status)) {
        bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                         "worker exited with code %d during the item",
                         WEXITSTATUS(status));
    } else {
        bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                         "worker ended during the item");
    }
}

static void queue_push(pool *p, size_t item)
{
    /* Capacity is count + retries room; see pool_init. */
    p->queue[p->queue_tail++ % p->queue_cap] = item;
}

static int queue_pop(pool *p, size_t *item)
{
    if (p->queue_head == p->queue_tail)
        return 0;
    *item = p->queue[p->queue_head++ % p->queue_cap];
    return 1;
}

/* An item has a final or retryable result in run->results[item]. */
static void finish(pool *p, size_t item)
{
    bmp__result *r = &p->run->results[item];
    r->stats.attempts = p->attempts[item];
    int failed = r->status == BMP_ITEM_FAILED ||
                 r->status == BMP_ITEM_CRASHED ||
                 r->status == BMP_ITEM_TIMED_OUT;
    if (failed && p->attempts[item] <= p->retries) {
        queue_push(p, item);
        return;
    }
    p->failed += failed;
    p->done++;
    bmp__item_final(p->run, item);
}

static void report(pool *p)
{
    if (p->done == p->reported)
        return;
    p->reported = p->done;
    size_t running = 0;
    int alive = 0;
    for (int i = 0; i < p->nworkers; i++) {
        alive += p->workers[i].pid > 0;
        running += p->workers[i].pid > 0 && p->workers[i].item >= 0;
    }
    bmp__report_progress(p->run, p->done, p->failed, running, alive, -1);
}

/* Gives `w` its next item, replacing its process when needed. */
static int dispatch(pool *p, worker *w)
{
    size_t item;
    if (!queue_pop(p, &item)) {
        reap(w, 0, NULL); /* nothing left: let it go */
        return 0;
    }
    for (int tries = 0; tries < 2; tries++) {
        int slot = (int)(w - p->workers);
        if (w->pid > 0 && p->max_items > 0 && p->served[slot] >= p->max_items)
            reap(w, 0, NULL);
        if (w->pid == 0) {
            int rc = spawn(p, w);
            if (rc < 0) {
                bmp__result_fail(&p->run->results[item], BMP_ITEM_FAILED, rc,
                                 "cannot start a worker process: %s",
                                 bmp_strerror(rc));
                p->attempts[item]++;
                p->done++;
                return rc;
            }
        }
        if (bmp__channel_send_index(w->fd, item) == 0) {
            w->item = (long)item;
            w->started = bmp__now();
            p->attempts[item]++;
            p->served[slot]++;
            return 0;
        }
        /* The idle worker died (a step's stray thread, say): replace it
         * without charging the item. */
        reap(w, 1, NULL);
    }
    bmp__result_fail(&p->run->results[item], BMP_ITEM_FAILED, BMP_ECRASH,
                     "workers die before taking an item");
    p->done++;
    return BMP_ECRASH;
}

static void on_readable(pool *p, worker *w)
{
    size_t item = (size_t)w->item;
    bmp__result *r = &p->run->results[item];
    char *temp = NULL;
    int rc = bmp__channel_recv(w->fd, r, &temp);
    if (rc == 0) {
        remember_temp(w, temp);
        return;
    }
    if (rc == 1) {
        forget_temps(w, 0);
        w->item = -1;
        finish(p, item);
        dispatch(p, w);
        return;
    }
    int status = 0;
    reap(w, rc != -EPIPE, &status);
    if (rc == -EPIPE)
        describe_death(r, status);
    else
        bmp__result_fail(r, BMP_ITEM_CRASHED, rc,
                         "bad message from the worker: %s", bmp_strerror(rc));
    finish(p, item);
    dispatch(p, w);
}

static void on_timeout(pool *p, worker *w)
{
    size_t item = (size_t)w->item;
    reap(w, 1, NULL);
    bmp__result_fail(&p->run->results[item], BMP_ITEM_TIMED_OUT,
                     BMP_ETIMEOUT, "timed out after %g s", p->timeout);
    finish(p, item);
    dispatch(p, w);
}

static int busy(const worker *w)
{
    return w->pid > 0 && w->item >= 0;
}

/* Interrupted: end every worker; their items were not run to the end. */
static void stop_all(pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        worker *w = &p->workers[i];
        if (!busy(w)) {
            reap(w, 1, NULL);
            continue;
        }
        size_t item = (size_t)w->item;
        reap(w, 1, NULL);
        bmp__result_fail(&p->run->results[item], BMP_ITEM_NOT_RUN,
                         BMP_EINTERRUPTED, "interrupted by SIG%s",
                         sigabbrev_np(bmp__interrupted()));
    }
}



static int pool_loop(pool *p)
{
    /* One slot per worker, plus the interrupt descriptor. */
    struct pollfd *fds = calloc((size_t)p->nworkers + 1, sizeof *fds);
    int *slot = calloc((size_t)p->nworkers, sizeof *slot);
    if (!fds || !slot) {
        free(fds);
        free(slot);
        return -ENOMEM;
    }
    while (p->done < p->run->count) {
        if (bmp__interrupted()) {
            stop_all(p);
            free(fds);
            free(slot);
            return BMP_EINTERRUPTED;
        }
        int n = 0;
        double now = bmp__now(), wait_s = -1;
        for (int i = 0; i < p->nworkers; i++) {
            worker *w = &p->workers[i];
            if (!busy(w)) {
                /* A retry may have been queued after this slot went idle. */
                if (w->pid == 0 && p->queue_head != p->queue_tail)
                    dispatch(p, w);
                if (!busy(w))
                    continue;
            }
            if (p->timeout > 0) {
                double left = w->started + p->timeout - now;
                if (left <= 0) {
                    on_timeout(p, w);
                    continue;
                }
                if (wait_s < 0 || left < wait_s)
                    wait_s = left;
            }
            fds[n] = (struct pollfd){.fd = w->fd, .events = POLLIN};
            slot[n++] = i;
        }
        if (n == 0) {
            if (p->done < p->run->count && p->queue_head == p->queue_tail)
                break; /* nothing running, nothing queued: cannot progress */
            continue;
        }
        int wake = bmp__interrupt_fd();
        if (wake >= 0)
            fds[n] = (struct pollfd){.fd = wake, .events = POLLIN};
        int ms = wait_s < 0 ? -1 : (int)ceil(wait_s * 1000);
        int ready = poll(fds, (nfds_t)(n + (wake >= 0)), ms);
        if (ready < 0 && errno != EINTR) {
            int rc = -errno;
            free(fds);
            free(slot);
            return rc;
        }
        for (int k = 0; ready > 0 && k < n; k++) {
            if (fds[k].revents)
                on_readable(p, &p->workers[slot[k]]);
        }
        report(p);
    }
    free(fds);
    free(slot);
    return 0;
}

static int process_run(bmp__run *run, int workers, bmp_error *err)
{
    if (run->count == 0)
        return 0;
    pool p = {.run = run};
    p.nworkers = workers < 1 ? 1 : workers;
    if ((size_t)p.nworkers > run->count)
        p.nworkers = (int)run->count;
    p.timeout = bmp_kw_real(run->kw, "timeout", 0);
    p.retries = bmp_kw_int(run->kw, "retries", 0);
    p.max_items = (int)bmp_kw_int(run->kw, "worker_max_items", 0);
    if (p.timeout < 0 || p.retries < 0 || p.max_items < 0)
        return bmp_error_set(err, BMP_EINVAL, "schedule", NULL,
                             "timeout, retries and worker_max_items must not "
                             "be negative");
    /* Each item is queued once, plus once per retry at most, but never
     * more than count items wait at a time. */
    p.queue_cap = run->count + 1;
    p.queue = calloc(p.queue_cap, sizeof *p.queue);
    p.attempts = calloc(run->count, sizeof *p.attempts);
    p.workers = calloc((size_t)p.nworkers, sizeof *p.workers);
    p.served = calloc((size_t)p.nworkers, sizeof *p.served);
    int rc = 0;
    if (!p.queue || !p.attempts || !p.workers || !p.served) {
        rc = bmp_error_set(err, -ENOMEM, "schedule", NULL,
                           "out of memory for %zu items", run->count);
        goto out;
    }
    for (size_t i = 0; i < run->count; i++) {
        if (run->skip && run->skip[i])
            p.done++; /* resumed from the journal */
        else
            queue_push(&p, i);
    }
    p.reported = p.done;
    for (int i = 0; i < p.nworkers; i++) {
        p.workers[i].fd = -1;
        p.workers[i].item = -1;
    }
    for (int i = 0; i < p.nworkers; i++)
        dispatch(&p, &p.workers[i]);
    rc = pool_loop(&p);
    if (rc == BMP_EINTERRUPTED)
        bmp_error_set(err, rc, "schedule", NULL,
                      "interrupted by SIG%s: %zu of %zu items finished",
                      sigabbrev_np(bmp__interrupted()), p.done, run->count);
    else if (rc < 0)
        bmp_error_set(err, rc, "schedule", NULL, "worker pool failed: %s",
                      bmp_strerror(rc));
out:
    if (p.workers) {
        for (int i = 0; i < p.nworkers; i++)
            reap(&p.workers[i], rc < 0, NULL);
    }
    free(p.queue);
    free(p.attempts);
    free(p.workers);
    free(p.served);
    return rc;
}

const bmp__executor bmp__executor_process = {"process", process_run};
