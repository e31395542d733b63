/*
 * executor_process.c -- a pool of forked worker processes.
 *
 * Why processes: an item's memory is given back when its worker ends or
 * trims, and a crash (segfault, abort, exit, the OOM killer) costs that
 * item only: the caller sees the worker's socket close, reaps it, records
 * the signal or exit code in the item's entry and starts a new worker.
 * Workers are forked once and fed items (an index and a memory
 * estimate); they inherit the run (the items, the keywords, the steps)
 * from the fork, so only an index goes out and only a result comes back.
 *
 * The pool can be fed over time (pool.h): items added while others run,
 * the end of input said when it comes.  The executor's run() adds every
 * item at once, ends the input and drives the pool to the end, so there
 * is one path for both.
 *
 * Which item starts when is the scheduler's decision (scheduler.h): this
 * file measures (each running worker's resident memory, the memory the
 * system has left, how a worker died) and acts (starts, pauses, resumes,
 * kills).  Measurements are sampled every SAMPLE_S while items run, so an
 * idle run costs nothing and a busy one a few reads of /proc a second.
 *
 * The caller's loop is single-threaded around poll(): no signal handler,
 * no SIGCHLD, only waitpid() on the pids it started, so it composes with
 * a host program and with nested pipelines in workers.
 */
#include "executor.h"
#include "pool.h"

#include "channel.h"
#include "interrupt.h"
#include "meter.h"
#include "scheduler.h"
#include "sysinfo.h"
#include "worker_state.h"

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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Between two samples of /proc: short enough to see an item grow before
 * the next one starts beside it, long enough to cost nothing. */
#define SAMPLE_S 0.15

typedef struct worker {
    pid_t pid; /* 0: no process */
    int fd;    /* caller's end of the socket; -1: none */
    /* Items sent and not yet answered, oldest first: the first is
     * running, the others wait in the worker (pipelining, below). */
    size_t queue[BMP__TASKS_MAX];
    int qhead, qlen;
    bmp__task pending[BMP__TASKS_MAX]; /* queued, not yet sent */
    int npending;
    double started;     /* when the running item started (moved on
                           by pauses) */
    bmp__reader rd;     /* what the worker sent, not yet parsed */
    bmp__temp_log *log; /* the slot's temporary outputs, shared */
    char **temps;       /* and those sent on the socket */
    size_t ntemps;
    /* The slot's results, in memory shared with its workers; NULL: they
     * come on the socket. */
    bmp__result_ring *ring;
    /* Read from the ring when the worker was reaped: it had begun an
     * item, and which (began 0: none, or no ring to tell). */
    int began;
    uint64_t began_index;
    /* Memory of the running item, as the caller samples it. */
    int64_t estimate;      /* sent with the item; -1 none */
    int64_t base_rss;      /* the worker's resident bytes at the start */
    int64_t base_vm;       /* and its address space */
    int64_t rss;           /* last sample */
    int64_t max_growth;    /* most resident bytes above base seen */
    int64_t max_vm_growth; /* most address space above base seen */
    int64_t oom_at_start;  /* the kernel's OOM kill count at the start */
    int suspended;         /* stopped with SIGSTOP */
    double stopped_at;
    /* A slot whose process could not be started (spawn_failed). */
    int spawn_fails; /* failures in a row */
    double retry_at; /* no new attempt before then */
    int disabled;    /* given up on: the run goes on without it */
} worker;

typedef struct bmp__pool pool;
struct bmp__pool {
    bmp__run *run;
    worker *workers;
    int nworkers;
    double timeout;     /* seconds per item; 0: none */
    long retries;       /* extra attempts for a failed item */
    int max_items;      /* items per worker before it is replaced; 0: none */
    int enforce;        /* limit each item's address space to its estimate */
    bmp__sched sched;   /* the queue and the admission policy */
    size_t done;        /* final or resumed: for progress reports */
    size_t failed;      /* finished as failed, crashed or timed out */
    size_t reported;    /* `done` at the last progress report */
    size_t added;       /* items added (bmp__pool_add) */
    size_t final;       /* of those, final: out through the outlet */
    int ended;          /* no more items will come */
    int error;          /* a drive failed: the pool is over */
    int *attempts;      /* per item */
    int *served;        /* per worker slot: items run by its process */
    struct pollfd *fds; /* one per worker, and the interrupt's */
    int *slot;          /* fds[k] is workers[slot[k]] */
    int track;          /* measure each item's memory: it has a budget to
                           keep, or enforce */
    int64_t avail;      /* the system's available memory, last sample */
    int64_t mem_in_use; /* resident bytes of busy workers, last sample */
    int64_t oom_kills;  /* the kernel's OOM kill count, last sample */
    double last_sample;
    /* Pipelining: several items queued in each worker when items are
     * short, so that a worker never waits for the caller between two
     * items and the caller wakes up once for many results. */
    int pipelined;      /* allowed: no memory tracking or pausing */
    double item_s;      /* running mean of an item's wall time; 0: none yet */
    int spawn_error;    /* the last failure to start a worker, -errno */
    size_t unstartable; /* items failed for it (no_workers) */
    /* The pool's caller, told of each item once it is final. */
    bmp__pool_final_fn on_final;
    void *on_final_arg;
};

/* ---- the worker side -------------------------------------------------- */

/* The enforce keyword: the item's address space may grow by its estimate
 * (plus slack for the allocator's own headers and mappings) and no more,
 * so that an item above its estimate fails its allocation (-ENOMEM)
 * instead of pushing the machine into the OOM killer.  The soft limit is
 * restored after the item; the hard limit is never touched.
 * @return 1 when a limit was set (*saved holds the old one). */
static int limit_memory(int64_t start_vm, int64_t estimate,
                        struct rlimit *saved)
{
    if (start_vm < 0 || estimate < 0 || getrlimit(RLIMIT_AS, saved) != 0)
        return 0;
    double want = (double)start_vm + (double)estimate + (double)estimate / 16 +
                  16 * BMP__MIB_F;
    if (want >= (double)RLIM_INFINITY / 2)
        return 0;
    rlim_t limit = (rlim_t)want;
    if (saved->rlim_max != RLIM_INFINITY && limit > saved->rlim_max)
        limit = saved->rlim_max;
    if (saved->rlim_cur != RLIM_INFINITY && saved->rlim_cur <= limit)
        return 0; /* a tighter limit is already in place */
    struct rlimit now = {limit, saved->rlim_max};
    return setrlimit(RLIMIT_AS, &now) == 0;
}

static void worker_main(bmp__run *run, int fd, bmp__temp_log *log,
                        bmp__result_ring *ring, pid_t parent)
{
    /* A group of its own (the caller does the same, whichever runs
     * first): the caller ends the worker with everything its items
     * started that did not leave the group, and a step's `kill 0` hits
     * this worker's group, not the caller's. */
    setpgid(0, 0);
    /* The caller's SIGTERM, SIGHUP and SIGQUIT handlers and its
     * self-pipe are the caller's: a copy of them here would swallow a
     * SIGTERM meant to end this worker and wake the caller for nothing. */
    bmp__interrupt_worker_reset();
    /* If the caller dies (even by SIGKILL), its workers go too, rather
     * than finishing items nobody will collect. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    bmp__channel_set_worker(fd, log, ring);
    /* Past a file-size limit, write() then fails with EFBIG and the item
     * fails cleanly, instead of the worker dying of SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    /* The caller coordinates interruption; a terminal's Ctrl-C must not
     * kill the workers behind its back. */
    signal(SIGINT, SIG_IGN);
    /* Out of the terminal's foreground group now: a step that reads the
     * terminal gets EIO instead of stopping the worker for ever, and one
     * that writes to it is not stopped under `stty tostop`. */
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    /* A crash handler inherited from the host (a test framework's, a
     * language runtime's) could swallow a crash and run the host's code
     * in this copy of it; a crash must end the worker so that the caller
     * can report it. */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
        signal(fatal[i], SIG_DFL);
    int enforce = bmp_kw_bool(run->kw, "enforce", 0);
    /* Without a memory budget nobody counts what a worker holds between
     * items, so it keeps up to 128 MiB of freed heap for the next item:
     * trimming after each item made every large item fault its pages in
     * anew (a third of the seed workload's CPU time).  With a budget the
     * worker gives everything back, so that the next start is safe. */
    int budgeted = enforce || bmp_kw_has(run->kw, "process_size") ||
                   bmp_kw_has(run->kw, "process_expand_factor") ||
                   bmp_kw_bool(run->kw, "adaptive", 0) ||
                   run->pipe->ops.size_estimate != NULL;
    if (!budgeted) {
        mallopt(M_MMAP_THRESHOLD, (int)(64 * BMP__MIB));
        mallopt(M_TRIM_THRESHOLD, (int)(128 * BMP__MIB));
    }
    bmp__meter meter;
    bmp__meter_open(&meter, budgeted);
    /* Every item starts from the state the worker has now. */
    static bmp__worker_state clean;
    bmp__worker_state_save(&clean);
    for (;;) {
        uint64_t index;
        int64_t estimate;
        int rc = bmp__channel_recv_task(fd, &index, &estimate);
        if (rc <= 0 || index >= run->count)
            break;
        /* A nested pipeline in this item gets the item's share; the
         * temporary-file log starts empty. */
        bmp__channel_item_starts(index, estimate);
        struct rusage usage[2];
        bmp__meter_start(&meter, enforce, &usage[0]);
        struct rlimit saved;
        int limited = enforce &&
                      limit_memory(meter.start_vm, estimate, &saved);
        bmp__result r;
        int64_t child_peak = 0;
        bmp__run_item(run, (size_t)index, &r, usage, &child_peak);
        /* Its groups are the item's only while it runs. */
        bmp__channel_item_ends();
        bmp__worker_state_restore(&clean, r.stats.wall_s);
        if (limited)
            setrlimit(RLIMIT_AS, &saved);
        bmp__meter_finish(&meter, usage, &r.stats.peak_rss,
                          &r.stats.start_rss);
        /* A program the item ran (and waited for) held its memory beside
         * the worker's: the item's peak is the sum, so that estimates,
         * adaptive and retries see what the item really needed. */
        if (r.stats.peak_rss >= 0 && child_peak > 0)
            r.stats.peak_rss += child_peak;
        /* Give the item's memory back to the system before reporting: the
         * caller may start another item on the strength of this one's
         * end. */
        if (budgeted)
            malloc_trim(0);
        /* Steps may print; _exit() below would drop buffered output. */
        fflush(NULL);
        rc = bmp__channel_send_result(fd, &r);
        bmp__result_clear(&r);
        if (rc < 0)
            break;
    }
    /* _exit: the caller's atexit handlers and stdio buffers belong to the
     * caller, not to this copy of it. */
    _exit(0);
}

/* ---- the caller side -------------------------------------------------- */

static int spawn(pool *p, worker *w)
{
    fflush(NULL); /* else the child would flush our buffers again */
    pid_t parent = getpid();
    int caller_fd = -1, worker_fd = -1;
    bmp__result_ring_reset(w->ring); /* nothing writes it now */
    w->rd.ring_taken = 0;
    pid_t pid = bmp__fork_worker(&caller_fd, &worker_fd);
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* The other slots' shared pages are not this worker's: unmapped,
         * a wild write in it cannot reach another worker's results or
         * temporary-file log. */
        for (int i = 0; i < p->nworkers; i++) {
            worker *o = &p->workers[i];
            if (o == w)
                continue;
            bmp__result_ring_free(o->ring);
            bmp__temp_log_free(o->log);
            o->ring = NULL;
            o->log = NULL;
        }
        worker_main(p->run, worker_fd, w->log, w->ring, parent);
    }
    /* As the worker does: whichever of the two runs first, the worker
     * is in its own group before the caller could signal the group. */
    setpgid(pid, pid);
    w->pid = pid;
    w->fd = caller_fd;
    w->qhead = w->qlen = 0;
    w->suspended = 0;
    w->spawn_fails = 0;
    p->served[w - p->workers] = 0;
    return 0;
}

/* fork() or socketpair() failed (the process or descriptor limits, or
 * memory): such failures pass as other processes end, so the slot tries
 * again after 10 ms, 20, 40 ... while the other workers go on; after
 * SPAWN_TRIES failures in a row (about 2.5 s) it is given up and the run
 * goes on with fewer workers.  Items are never charged for it. */
#define SPAWN_TRIES 8
static void spawn_failed(pool *p, worker *w, int rc)
{
    p->spawn_error = rc;
    if (++w->spawn_fails >= SPAWN_TRIES) {
        w->disabled = 1;
        return;
    }
    w->retry_at = bmp__now() + 0.01 * (double)(1 << (w->spawn_fails - 1));
}

/* The slot may try to start a process now. */
static int may_spawn(const worker *w, double now)
{
    return !w->disabled && now >= w->retry_at;
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

/* The temporary-file notices a dead worker left in its ring (the log
 * was full) are acted on like those read before: the outputs of its
 * unfinished item are removed with the others.  Results are of no use
 * any more, but one ends its item's notices, as answered() does; a ring
 * or a frame gone wrong ends the reading, as it ended the worker. */
static void take_last_notices(worker *w)
{
    if (!w->ring)
        return;
    bmp__reader_take_ring(&w->rd, w->ring);
    for (;;) {
        bmp__result r = {0};
        char *temp = NULL;
        int k = bmp__reader_next(&w->rd, &r, &temp);
        bmp__result_clear(&r);
        if (k == 0)
            remember_temp(w, temp);
        else if (k == 1)
            forget_temps(w, 0); /* as answered(): that item ended well */
        else
            break;
    }
}

/* SIGKILL to the worker and everything in its group. */
static void end_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL); /* in case it never got a group of its own */
}

/* Closes the socket and waits for the process; *status as waitpid's,
 * *graced 1 when the library killed it after its socket closed (either
 * may be NULL).  Whatever its items left in its group, and the groups
 * its running item tracked, are killed once it is dead and before it is
 * reaped: until then no new group can take its number.  Temporary
 * outputs of an unfinished item are removed.  The queue is emptied: the
 * caller takes what it needs from it first. */
static void reap(worker *w, int kill_first, int *status, int *graced)
{
    if (w->fd >= 0) {
        bmp__fd_unregister(w->fd);
        close(w->fd);
        w->fd = -1;
    }
    if (w->pid > 0) {
        if (kill_first)
            end_group(w->pid);
        else if (w->suspended)
            kill(w->pid, SIGCONT); /* a stopped worker would never see EOF */
        /* A worker whose socket closed normally exits at once; one that
         * closed it and went on running (a step's doing) gets 2 s, then
         * SIGKILL, so the run never hangs on it.  WNOWAIT: seen dead,
         * not reaped yet. */
        int grace = 0, seen = 0;
        for (int waited_ms = 0;; waited_ms++) {
            siginfo_t info;
            memset(&info, 0, sizeof info);
            int r = waitid(P_PID, (id_t)w->pid, &info,
                           WEXITED | WNOWAIT | (kill_first ? 0 : WNOHANG));
            seen = r == 0 && info.si_pid == w->pid;
            if (seen || (r < 0 && errno != EINTR))
                break;
            if (r == 0) {
                if (waited_ms == 2000) {
                    end_group(w->pid);
                    grace = 1;
                }
                usleep(1000);
            }
        }
        /* Its zombie still holds the number of its group: the group's
         * other members (a step's children left behind) are the
         * worker's own, never a stranger's.  Not seen (a host that
         * ignores SIGCHLD has its children reaped by the kernel): the
         * number may be another's by now, so its group is left alone. */
        if (seen)
            kill(-w->pid, SIGKILL);
        bmp__temp_log_kill_groups(w->log);
        int st = 0;
        while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (status)
            *status = st;
        if (graced)
            *graced = grace;
        /* Nothing writes the log any more. */
        bmp__temp_log_remove_all(w->log);
        /* Dead and reaped: its last store to the ring is seen. */
        take_last_notices(w);
        w->began = w->ring &&
                   bmp__result_ring_last_start(w->ring, &w->began_index);
        bmp__result_ring_reset(w->ring);
    }
    forget_temps(w, 1);
    w->rd.start = w->rd.end = w->rd.need = 0;
    w->rd.ring_taken = 0;
    w->pid = 0;
    w->qhead = w->qlen = 0;
    w->suspended = 0;
}

/* Did the kernel's OOM killer end the worker?  Its SIGKILL shows as a
 * rise of the kernel's OOM kill count during the item (another process's
 * OOM kill at the same moment would be taken for it: then the item is
 * only retried once more, alone).  Any other SIGKILL (the library's own,
 * a user's `kill -9`) is not blamed on it. */
static int oom_killed(const worker *w, int status)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL ||
        w->oom_at_start < 0)
        return 0;
    int64_t now = bmp__oom_kills("");
    return now > w->oom_at_start;
}

/* `graced`: the library killed it, 2 s after its socket closed;
 * `oom`: the OOM killer did (oom_killed). */
static void describe_death(bmp__result *r, int status, int graced, int oom)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        if (sig == SIGKILL && graced)
            bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                             "worker killed by the library after its "
                             "socket closed and 2 s passed (signal "
                             "SIGKILL)");
        else if (sig == SIGKILL && oom)
            bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                             "worker killed by the out-of-memory killer "
                             "(signal SIGKILL)");
        else
            bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                             "worker killed by signal SIG%s (%s)",
                             abbrev ? abbrev : "?", strsignal(sig));
    } else if (WIFEXITED(status)) {
        bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                         "worker exited with code %d during the item",
                         WEXITSTATUS(status));
    } else {
        bmp__result_fail(r, BMP_ITEM_CRASHED, BMP_ECRASH,
                         "worker ended during the item");
    }
}

/* Did the worker die for memory?  The OOM killer's (oom_killed), or,
 * under enforce, a crash once the item had nearly used up its
 * address-space allowance: the allocation that failed, in code that did
 * not check for it. */
static int died_for_memory(const pool *p, const worker *w, int status, int oom)
{
    if (!WIFSIGNALED(status))
        return 0;
    return oom || (p->enforce && w->estimate > 0 &&
                   w->max_vm_growth >= w->estimate / 10 * 9);
}

/* Every final result passes here, whatever ended the item: the run's
 * outlet first (the journal line, as in any executor), then the pool's
 * own caller, which the outlet does not know. */
static void item_done(pool *p, size_t item, int failed)
{
    p->failed += failed != 0;
    p->done++;
    p->final++;
    bmp__item_final(p->run, item);
    if (p->on_final)
        p->on_final(item, p->on_final_arg);
}

/* The worker slot that ran the item, for the report page. */
static void note_slot(pool *p, const worker *w, bmp__result *r)
{
    r->stats.worker = (int)(w - p->workers);
}

/* An item whose worker died or was killed sent no figures: its start,
 * run time and memory as the caller saw them (the pout's stats). */
static void note_caller_view(pool *p, const worker *w, bmp__result *r)
{
    double ran = bmp__now() - w->started;
    note_slot(p, w, r);
    r->stats.start = bmp__epoch_now() - ran;
    r->stats.wall_s = ran;
    r->stats.start_rss = w->base_rss;
    r->stats.peak_rss = w->base_rss >= 0 ? w->base_rss + w->max_growth : -1;
}

/* An item has a final or retryable result in run->results[item].
 * `growth`: its peak above its worker's start, -1 unknown. */
static void finish(pool *p, size_t item, int memory_failure, int64_t growth)
{
    bmp__result *r = &p->run->results[item];
    r->stats.attempts = p->attempts[item];
    int64_t est = p->sched.items[item].estimate;
    r->stats.estimate = est;
    r->stats.over_estimate = est >= 0 && growth >= 0 &&
                             growth > est + BMP__OVER_SLACK(est);
    r->stats.budget = p->sched.cfg.budget;
    bmp__sched_outcome o = bmp__sched_finish(&p->sched, item, growth,
                                             memory_failure);
    if (o == BMP__SCHED_RETRY_MEMORY)
        return; /* queued again, to run alone with more */
    if (o == BMP__SCHED_FINAL_MEMORY) {
        char *was = r->error;
        r->error = NULL;
        if (asprintf(&r->error,
                     "failed twice for memory: %s (the second time alone, "
                     "with an estimate of %.1f MiB)",
                     was ? was : bmp_strerror(r->code),
                     (double)est / BMP__MIB_F) < 0)
            r->error = NULL;
        free(was);
        item_done(p, item, 1);
        return;
    }
    /* The memory retry is not one of the retries the keyword grants. */
    int failed = bmp__status_is_failure(r->status);
    int general = p->attempts[item] - (p->sched.items[item].mem_failures > 0);
    if (failed && general <= p->retries) {
        bmp__sched_requeue(&p->sched, item);
        return;
    }
    item_done(p, item, failed);
}

/* An item sent to a worker that never began it (the worker died or the
 * run stopped first) goes back to the queue, with no attempt counted. */
static void give_back(pool *p, size_t item)
{
    p->attempts[item]--;
    bmp__sched_finish(&p->sched, item, -1, 0);
    bmp__sched_requeue(&p->sched, item);
}

/* An item the budget cannot hold (error_if_zero): it fails, alone. */
static void too_large(pool *p, size_t item)
{
    bmp__result *r = &p->run->results[item];
    int64_t e = bmp__sched_estimate(&p->sched, item);
    double budget = (double)p->sched.cfg.budget / BMP__MIB_F;
    int after_failure = p->sched.items[item].mem_failures > 0;
    bmp__sched_drop(&p->sched, item);
    if (after_failure) {
        char *was = r->error ? strdup(r->error) : NULL;
        bmp__result_fail(r, r->status, BMP_ENOMEM_BUDGET,
                         "failed for memory (%s), and a retry with %.1f "
                         "MiB exceeds the memory budget, %.1f MiB",
                         was ? was : "out of memory", (double)e / BMP__MIB_F,
                         budget);
        free(was);
    } else {
        bmp__result_fail(r, BMP_ITEM_FAILED, BMP_ENOMEM_BUDGET,
                         "estimated memory %.1f MiB exceeds the memory "
                         "budget, %.1f MiB; with error_if_zero false it "
                         "would run alone",
                         (double)e / BMP__MIB_F, budget);
    }
    r->stats.estimate = e;
    r->stats.attempts = p->attempts[item];
    item_done(p, item, 1);
}

static int busy(const worker *w)
{
    return w->pid > 0 && w->qlen > 0;
}

/* The item a worker is running: the oldest it was sent. */
static size_t running_item(const worker *w)
{
    return w->queue[w->qhead];
}

/* The k-th item of a worker's queue, 0 the running one. */
static size_t queued_item(const worker *w, int k)
{
    return w->queue[(w->qhead + k) % BMP__TASKS_MAX];
}

static worker *worker_of(pool *p, size_t item)
{
    for (int i = 0; i < p->nworkers; i++)
        if (busy(&p->workers[i]) && running_item(&p->workers[i]) == item)
            return &p->workers[i];
    return NULL;
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
        running += busy(&p->workers[i]);
    }
    bmp__report_progress(p->run, p->done, p->failed, running, alive,
                         p->mem_in_use);
}

/* Reads the available memory and every busy worker's resident memory;
 * charges the scheduler with what items really hold; pauses or resumes
 * one item when memory runs short or comes back. */
static void sample(pool *p, double now)
{
    p->last_sample = now;
    p->avail = bmp__sched_sample_avail();
    p->oom_kills = bmp__oom_kills("");
    int64_t sum = 0;
    for (int i = 0; i < p->nworkers; i++) {
        worker *w = &p->workers[i];
        int64_t rss, vm;
        if (!busy(w) || bmp__proc_mem("", w->pid, &rss, &vm) != 0)
            continue;
        /* A program the item runs holds its memory beside the worker's:
         * the item's growth is both, so that pressure and estimates see
         * commands too. */
        rss += bmp__children_rss(w->pid);
        w->rss = rss;
        sum += rss;
        if (w->base_rss >= 0) {
            int64_t g = rss - w->base_rss;
            if (g > w->max_growth)
                w->max_growth = g;
            bmp__sched_observe(&p->sched, running_item(w), g);
        }
        if (w->base_vm >= 0 && vm - w->base_vm > w->max_vm_growth)
            w->max_vm_growth = vm - w->base_vm;
    }
    p->mem_in_use = sum;
    size_t item;
    bmp__sched_action a = bmp__sched_pressure(&p->sched, p->avail, &item);
    worker *w = a != BMP__SCHED_NONE ? worker_of(p, item) : NULL;
    if (!w)
        return;
    if (a == BMP__SCHED_SUSPEND && kill(w->pid, SIGSTOP) == 0) {
        w->suspended = 1;
        w->stopped_at = now;
        bmp__sched_suspended(&p->sched, item);
    } else if (a == BMP__SCHED_RESUME && kill(w->pid, SIGCONT) == 0) {
        w->suspended = 0;
        w->started += now - w->stopped_at; /* a pause is not run time */
        bmp__sched_resumed(&p->sched, item);
    }
}

/* The item at the front of w's queue starts running now (as far as the
 * caller can tell: when it was sent to an idle worker, or when the
 * worker answered the one before). */
static void head_starts(pool *p, worker *w, double now)
{
    size_t item = running_item(w);
    w->started = now;
    w->estimate = p->sched.items[item].estimate;
    /* Two reads of /proc per item are the whole cost of tracking;
     * a run without estimates (a million tiny items) skips it.  Tracking
     * runs one item per worker, so the item was just sent. */
    w->base_rss = w->base_vm = -1;
    if (p->track)
        bmp__proc_mem("", w->pid, &w->base_rss, &w->base_vm);
    w->rss = w->base_rss;
    w->max_growth = w->max_vm_growth = p->track ? 0 : -1;
    /* The count as last sampled: an OOM kill elsewhere in the last
     * 150 ms could be taken for this item's, costing one retry, where a
     * read per item would cost every item. */
    w->oom_at_start = p->oom_kills;
}

/* How many items each worker should hold.  One while anything needs the
 * caller's per-item view (memory tracking, pauses) or before an item's
 * length is known; else enough for about QUEUE_S of work, so that the
 * worker goes on while the caller sleeps, and no more than a fair share
 * of what is left, so that workers end together. */
#define QUEUE_S 0.002
static int queue_depth(const pool *p)
{
    if (!p->pipelined || p->item_s <= 0)
        return 1;
    double d = ceil(QUEUE_S / p->item_s);
    int depth = d >= BMP__TASKS_MAX ? BMP__TASKS_MAX : d < 1 ? 1 : (int)d;
    size_t left = p->sched.queued + (size_t)p->sched.running;
    size_t fair = (left + (size_t)p->nworkers - 1) / (size_t)p->nworkers;
    if (fair < (size_t)depth)
        depth = fair > 0 ? (int)fair : 1;
    return depth;
}

/* Queues one more item in w, starting its process first when needed; the
 * task waits in w->pending for flush().
 * @return the scheduler's verdict: START when an item was queued or may
 *         be, EMPTY or WAIT when nothing more may start now. */
static bmp__sched_verdict take_one(pool *p, worker *w)
{
    int slot = (int)(w - p->workers);
    /* A worker that has served its worker_max_items is replaced once its
     * queue is empty; until then it gets no more. */
    if (w->pid > 0 && p->max_items > 0 &&
        p->served[slot] + w->npending >= p->max_items) {
        if (w->qlen > 0)
            return BMP__SCHED_START;
        reap(w, 0, NULL, NULL);
    }
    /* A slot waiting to try again, or given up: the others go on. */
    if (w->pid == 0 && !may_spawn(w, bmp__now()))
        return BMP__SCHED_START;
    for (;;) {
        size_t item;
        bmp__sched_verdict v = bmp__sched_next(&p->sched, p->avail, &item);
        if (v == BMP__SCHED_EMPTY || v == BMP__SCHED_WAIT)
            return v;
        if (v == BMP__SCHED_TOO_LARGE) {
            too_large(p, item);
            continue;
        }
        if (w->pid == 0) {
            int rc = spawn(p, w);
            if (rc < 0) {
                /* The item stays queued (bmp__sched_next() commits
                 * nothing) for this slot's next try or another worker. */
                spawn_failed(p, w, rc);
                return BMP__SCHED_START;
            }
        }
        int64_t estimate = bmp__sched_start(&p->sched, item);
        p->attempts[item]++;
        w->pending[w->npending++] = (bmp__task){item, estimate};
        w->queue[(w->qhead + w->qlen) % BMP__TASKS_MAX] = item;
        if (w->qlen++ == 0)
            head_starts(p, w, bmp__now());
        return BMP__SCHED_START;
    }
}

/* Sends w's pending tasks in one write. */
static void flush(pool *p, worker *w)
{
    int n = w->npending;
    if (n == 0)
        return;
    w->npending = 0;
    int slot = (int)(w - p->workers);
    int had = w->qlen - n; /* items sent before */
    for (int tries = 0;; tries++) {
        if (bmp__channel_send_tasks(w->fd, w->pending, (size_t)n) == 0) {
            p->served[slot] += n;
            return;
        }
        if (had > 0)
            return; /* it died with items in hand: on_readable sees it */
        /* The idle worker died (a step's stray thread, say): the items
         * are not charged; a new worker gets them, once. */
        reap(w, 1, NULL, NULL);
        int rc = tries == 0 ? spawn(p, w) : -ECHILD;
        if (rc == 0) {
            for (int k = 0; k < n; k++)
                w->queue[k] = (size_t)w->pending[k].index;
            w->qlen = n;
            head_starts(p, w, bmp__now());
            continue;
        }
        if (rc != -ECHILD) {
            /* No process for them now: they wait, uncharged. */
            for (int k = 0; k < n; k++)
                give_back(p, (size_t)w->pending[k].index);
            spawn_failed(p, w, rc);
            return;
        }
        size_t first = (size_t)w->pending[0].index;
        for (int k = 1; k < n; k++)
            give_back(p, (size_t)w->pending[k].index);
        bmp__sched_finish(&p->sched, first, -1, 0);
        bmp__result_fail(&p->run->results[first], BMP_ITEM_FAILED, BMP_ECRASH,
                         "workers die before taking an item");
        p->run->results[first].stats.attempts = p->attempts[first];
        item_done(p, first, 1);
        return;
    }
}

/* Starts every item the scheduler allows now: idle workers first, one
 * item each, then deeper queues, so that the first items of a run spread
 * over every worker; then one write per worker. */
static void fill(pool *p)
{
    int depth = queue_depth(p);
    bmp__sched_verdict v = BMP__SCHED_START;
    for (int level = 1; level <= depth && v == BMP__SCHED_START; level++) {
        for (int i = 0; i < p->nworkers && v == BMP__SCHED_START; i++) {
            if (p->workers[i].qlen < level)
                v = take_one(p, &p->workers[i]);
        }
    }
    for (int i = 0; i < p->nworkers; i++)
        flush(p, &p->workers[i]);
    if (v == BMP__SCHED_EMPTY && p->ended) {
        /* Nothing left to start, and nothing more will come: let idle
         * workers go.  While input is open they wait for the next
         * items, which would otherwise pay for a fork each. */
        for (int i = 0; i < p->nworkers; i++)
            if (p->workers[i].pid > 0 && p->workers[i].qlen == 0)
                reap(&p->workers[i], 0, NULL, NULL);
    }
}

/* Ends w's process (killed first when `kill_first`; *status and *graced
 * as reap() gives them) and sorts out its queue: the items waiting
 * behind the running one were never begun and go back to the scheduler
 * uncharged.  With `only_begun`, so does the running one when the
 * worker, which had run items before, says in its ring that it never
 * began it (it died between items).  @return the running item, whose
 * outcome the caller records, or NO_ITEM when the worker held none or
 * it was given back. */
#define NO_ITEM SIZE_MAX
static size_t end_worker(pool *p, worker *w, int kill_first, int only_begun,
                         int *status, int *graced)
{
    int queued = w->qlen;
    size_t items[BMP__TASKS_MAX];
    for (int k = 0; k < queued; k++)
        items[k] = queued_item(w, k);
    w->began = 0;
    reap(w, kill_first, status, graced);
    for (int k = 1; k < queued; k++)
        give_back(p, items[k]);
    if (queued == 0)
        return NO_ITEM;
    /* A worker that began no item at all is blamed: one that always
     * dies before its first item would otherwise be replaced for ever. */
    if (only_begun && w->began && w->began_index != (uint64_t)items[0]) {
        give_back(p, items[0]);
        return NO_ITEM;
    }
    return items[0];
}

/* The worker ended (`why`: -EPIPE its socket closed; else a bad message
 * or a read error, and it is killed): the running item gets the death,
 * the items waiting behind it go back to the queue -- and so does the
 * running one when the worker closed its socket between items, never
 * having begun it (end_worker). */
static void worker_lost(pool *p, worker *w, int why)
{
    int status = 0, graced = 0;
    size_t item = end_worker(p, w, why != -EPIPE, why == -EPIPE, &status,
                             &graced);
    if (item == NO_ITEM)
        return; /* it ended between items: nobody's loss */
    bmp__result *r = &p->run->results[item];
    int memory = 0;
    if (why == -EPIPE) {
        int oom = !graced && oom_killed(w, status);
        describe_death(r, status, graced, oom);
        memory = died_for_memory(p, w, status, oom);
    } else {
        bmp__result_fail(r, BMP_ITEM_CRASHED, why,
                         "bad message from the worker: %s", bmp_strerror(why));
    }
    note_caller_view(p, w, r);
    finish(p, item, memory, w->max_growth);
}

/* The running item of w was answered (its result is in run->results). */
static void answered(pool *p, worker *w)
{
    size_t item = running_item(w);
    bmp__result *r = &p->run->results[item];
    w->qhead = (w->qhead + 1) % BMP__TASKS_MAX;
    w->qlen--;
    forget_temps(w, 0);
    if (w->suspended) {
        /* Paused just after it answered: it must take the next. */
        kill(w->pid, SIGCONT);
        w->suspended = 0;
    }
    int64_t growth = r->stats.peak_rss >= 0 && r->stats.start_rss >= 0
                         ? r->stats.peak_rss - r->stats.start_rss
                         : w->max_growth;
    if (r->stats.wall_s >= 0)
        p->item_s = p->item_s > 0
                        ? p->item_s + (r->stats.wall_s - p->item_s) / 8
                        : r->stats.wall_s + 1e-6;
    note_slot(p, w, r);
    if (w->qlen > 0)
        head_starts(p, w, bmp__now());
    finish(p, item, r->status == BMP_ITEM_FAILED && r->code == -ENOMEM,
           growth);
}

/* Handles every whole frame w sent that is buffered; `rc` is what
 * filling the buffer gave (0: the worker's end closed). */
static void handle_frames(pool *p, worker *w, int rc)
{
    for (;;) {
        if (w->qlen == 0) {
            if (w->rd.end > w->rd.start)
                rc = BMP_EPROTO; /* an answer to nothing */
            break;
        }
        char *temp = NULL;
        int k = bmp__reader_next(&w->rd, &p->run->results[running_item(w)],
                                 &temp);
        if (k == -EAGAIN)
            break;
        if (k == 0)
            remember_temp(w, temp);
        else if (k == 1)
            answered(p, w);
        else {
            rc = k;
            break;
        }
    }
    if (rc == 0)
        worker_lost(p, w, -EPIPE);
    else if (rc < 0 && rc != -EAGAIN)
        worker_lost(p, w, rc);
}

/* Reads what w sent and handles every whole frame in it. */
static void on_readable(pool *p, worker *w)
{
    int rc = w->ring ? bmp__reader_fill_ring(&w->rd, w->fd, w->ring)
                     : bmp__reader_fill(&w->rd, w->fd);
    handle_frames(p, w, rc);
}

/* Results a worker published in its ring without waking the caller (it
 * had more tasks queued): taken whenever the caller looks, so that its
 * queue is topped up before it runs dry.  One load per worker when there
 * is nothing. */
static void collect(pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        worker *w = &p->workers[i];
        if (busy(w) && w->ring && bmp__reader_ring_ready(&w->rd, w->ring))
            handle_frames(p, w, bmp__reader_take_ring(&w->rd, w->ring));
    }
}

static void on_timeout(pool *p, worker *w)
{
    int64_t growth = w->max_growth;
    size_t item = end_worker(p, w, 1, 0, NULL, NULL);
    bmp__result_fail(&p->run->results[item], BMP_ITEM_TIMED_OUT, BMP_ETIMEOUT,
                     "timed out after %g s", p->timeout);
    note_caller_view(p, w, &p->run->results[item]);
    finish(p, item, 0, growth);
}

/* Interrupted: end every worker; their items were not run to the end,
 * and those queued behind them not at all. */
static void stop_all(pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        size_t item = end_worker(p, &p->workers[i], 1, 0, NULL, NULL);
        if (item == NO_ITEM)
            continue;
        bmp__result_fail(&p->run->results[item], BMP_ITEM_NOT_RUN,
                         BMP_EINTERRUPTED, "interrupted by SIG%s",
                         sigabbrev_np(bmp__interrupted()));
    }
}

/* With items queued in every busy worker, the caller may sleep before it
 * reads their results: the workers go on, and one wake-up then collects
 * many answers instead of one each.  The nap is half the work the
 * shortest queue holds behind its running item, so no worker runs dry;
 * 0 when a worker has nothing queued. */
#define NAP_MAX_S 0.002
#define NAP_MIN_S 0.0001
static double nap_s(const pool *p)
{
    if (!p->pipelined || p->item_s <= 0)
        return 0;
    double least = -1;
    for (int i = 0; i < p->nworkers; i++) {
        const worker *w = &p->workers[i];
        if (!busy(w))
            continue;
        double ahead = (w->qlen - 1) * p->item_s;
        if (least < 0 || ahead < least)
            least = ahead;
    }
    double nap = least / 2;
    if (nap < NAP_MIN_S)
        return 0;
    return nap > NAP_MAX_S ? NAP_MAX_S : nap;
}

/* Some worker has published results the caller has not taken. */
static int rings_ready(const pool *p)
{
    for (int i = 0; i < p->nworkers; i++) {
        const worker *w = &p->workers[i];
        if (busy(w) && w->ring && bmp__reader_ring_ready(&w->rd, w->ring))
            return 1;
    }
    return 0;
}

/* Sleeps `s` seconds, or less when the run is interrupted. */
static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    int wake = bmp__interrupt_fd();
    struct pollfd fd = {.fd = wake, .events = POLLIN};
    ppoll(&fd, wake >= 0, &ts, NULL);
}

/* No worker can be started for the items left: each fails with the
 * reason, uncharged.  @return BMP_ENOWORKER. */
static int no_workers(pool *p)
{
    for (;;) {
        size_t item;
        bmp__sched_verdict v = bmp__sched_next(&p->sched, p->avail, &item);
        if (v == BMP__SCHED_EMPTY || v == BMP__SCHED_WAIT)
            break;
        if (v == BMP__SCHED_TOO_LARGE) {
            too_large(p, item);
            continue;
        }
        bmp__sched_drop(&p->sched, item);
        bmp__result *r = &p->run->results[item];
        bmp__result_fail(r, BMP_ITEM_FAILED, p->spawn_error,
                         "cannot start a worker process: %s",
                         bmp_strerror(p->spawn_error));
        r->stats.attempts = p->attempts[item];
        item_done(p, item, 1);
        p->unstartable++;
    }
    return BMP_ENOWORKER;
}

/* When the first slot waiting to try again may try; -1 when none
 * waits. */
static double next_spawn_at(const pool *p)
{
    double at = -1;
    for (int i = 0; i < p->nworkers; i++) {
        const worker *w = &p->workers[i];
        if (w->pid == 0 && !w->disabled && w->spawn_fails > 0 &&
            (at < 0 || w->retry_at < at))
            at = w->retry_at;
    }
    return at;
}

static int all_disabled(const pool *p)
{
    for (int i = 0; i < p->nworkers; i++)
        if (!p->workers[i].disabled)
            return 0;
    return 1;
}

/* Rounds of the pool until input has ended and every item added is
 * final (BMP__POOL_DONE), an error, `deadline` (bmp__now(); < 0: none),
 * or, while input is open, an item becoming final or nothing left to
 * wait for (0). */
static int pool_loop(pool *p, double deadline)
{
    struct pollfd *fds = p->fds;
    int *slot = p->slot;
    size_t final_at_start = p->final;
    int idle_rounds = 0;
    for (int round = 0;; round++) {
        if (p->ended && p->final == p->added)
            return BMP__POOL_DONE;
        if (bmp__interrupted()) {
            stop_all(p);
            return BMP_EINTERRUPTED;
        }
        double now = bmp__now();
        /* Open input: the caller may have items for the room made. */
        if (!p->ended && p->final != final_at_start)
            return 0;
        if (deadline >= 0 && now >= deadline && round > 0)
            return 0; /* a wait of 0 still gets one round */
        if (p->sched.running > 0 && now - p->last_sample >= SAMPLE_S)
            sample(p, now);
        collect(p);
        fill(p);
        int n = 0;
        now = bmp__now();
        double wait_s = deadline < 0     ? -1
                        : deadline > now ? deadline - now
                                         : 0;
        for (int i = 0; i < p->nworkers; i++) {
            worker *w = &p->workers[i];
            if (!busy(w))
                continue;
            if (p->timeout > 0 && !w->suspended) {
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
            if (p->sched.queued > 0 && all_disabled(p))
                return no_workers(p);
            /* Items wait for a slot's next try to start a process. */
            double at = next_spawn_at(p);
            if (p->sched.queued > 0 && at >= 0) {
                if (deadline >= 0 && at > deadline)
                    at = deadline;
                if (at > now)
                    nap(at - now);
                continue;
            }
            if (p->sched.queued == 0 && !p->ended) {
                /* Nothing to wait for but the caller's next items. */
                if (deadline < 0)
                    return 0;
                if (deadline > now)
                    nap(deadline - now);
                continue;
            }
            /* A time-out above may have queued a retry: fill() again.
             * Nothing running twice in a row means nothing can start. */
            if (p->sched.queued == 0 || ++idle_rounds > 1)
                return p->ended ? BMP__POOL_DONE : 0;
            continue;
        }
        idle_rounds = 0;
        /* A slot waiting to try again wakes the loop when it may. */
        double at = next_spawn_at(p);
        if (at >= 0 && p->sched.queued > 0 &&
            (wait_s < 0 || at - now < wait_s))
            wait_s = at - now > 0.001 ? at - now : 0.001;
        /* Sample while items run: the poll wakes up for it. */
        double to_sample = p->last_sample + SAMPLE_S - now;
        if (to_sample < 0.001)
            to_sample = 0.001;
        if (wait_s < 0 || to_sample < wait_s)
            wait_s = to_sample;
        double rest = nap_s(p);
        if (rest > 0 && rest < wait_s) {
            nap(rest);
            /* What the workers published meanwhile, without waiting for
             * them to run dry: the next round tops their queues up. */
            if (rings_ready(p))
                continue;
            wait_s -= rest;
        }
        int wake = bmp__interrupt_fd();
        if (wake >= 0)
            fds[n] = (struct pollfd){.fd = wake, .events = POLLIN};
        int ms = (int)ceil(wait_s * 1000);
        int ready = poll(fds, (nfds_t)(n + (wake >= 0)), ms);
        if (ready < 0 && errno != EINTR)
            return -errno;
        for (int k = 0; ready > 0 && k < n; k++) {
            if (fds[k].revents)
                on_readable(p, &p->workers[slot[k]]);
        }
        /* Woken by the pipe with no stop asked (a byte from a child that
         * had not yet reset the handlers): left there, it would make
         * every poll() return at once. */
        if (ready > 0 && wake >= 0 && fds[n].revents && !bmp__interrupted())
            bmp__interrupt_drain();
        report(p);
    }
}

int bmp__pool_new(bmp__run *run, int workers, unsigned flags,
                  bmp__pool_final_fn on_final, void *arg, bmp__pool **out,
                  bmp_error *err)
{
    *out = NULL;
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return bmp_error_set(err, -ENOMEM, "schedule", NULL, "out of memory");
    p->run = run;
    p->on_final = on_final;
    p->on_final_arg = arg;
    p->mem_in_use = p->avail = -1;
    p->nworkers = workers < 1 ? 1 : workers;
    if ((size_t)p->nworkers > run->count)
        p->nworkers = run->count > 0 ? (int)run->count : 1;
    p->timeout = bmp_kw_real(run->kw, "timeout", 0);
    p->retries = bmp_kw_int(run->kw, "retries", 0);
    p->max_items = (int)bmp_kw_int(run->kw, "worker_max_items", 0);
    p->enforce = bmp_kw_bool(run->kw, "enforce", 0);
    if (p->timeout < 0 || p->retries < 0 || p->max_items < 0) {
        free(p);
        return bmp_error_set(err, BMP_EINVAL, "schedule", NULL,
                             "timeout, retries and worker_max_items must not "
                             "be negative");
    }
    int rc = bmp__sched_configure(&p->sched, run, p->nworkers,
                                  (flags & BMP__POOL_ESTIMATES) != 0, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    /* Until the caller says otherwise, more items may come. */
    bmp__sched_input_open(&p->sched, 1);
    p->attempts = calloc(run->count ? run->count : 1, sizeof *p->attempts);
    p->workers = calloc((size_t)p->nworkers, sizeof *p->workers);
    /* No process and no socket, before anything else can fail:
     * bmp__pool_free() reaps every slot, and calloc's fd 0 is the
     * caller's stdin, which it would close.  pid 0, an empty reader and
     * a NULL log are what a slot without a process has. */
    for (int i = 0; p->workers && i < p->nworkers; i++)
        p->workers[i].fd = -1;
    p->served = calloc((size_t)p->nworkers, sizeof *p->served);
    p->fds = calloc((size_t)p->nworkers + 1, sizeof *p->fds);
    p->slot = calloc((size_t)p->nworkers, sizeof *p->slot);
    if (!p->attempts || !p->workers || !p->served || !p->fds || !p->slot) {
        bmp__pool_free(p);
        return bmp_error_set(err, -ENOMEM, "schedule", NULL,
                             "out of memory for %zu items", run->count);
    }
    for (size_t i = 0; run->skip && i < run->count; i++)
        p->done += run->skip[i]; /* resumed from the journal */
    p->reported = p->done;
    p->track = p->sched.cfg.budget >= 0 || p->enforce;
    /* Pipelining needs nothing per item from the caller between items:
     * no memory to measure, no item to pause, no factor to learn. */
    p->pipelined = !p->track && !p->sched.cfg.suspend &&
                   !p->sched.cfg.adaptive;
    if (p->pipelined)
        p->sched.cfg.max_running = p->nworkers * BMP__TASKS_MAX;
    /* Without a shared log, temporaries are announced on the socket. */
    for (int i = 0; i < p->nworkers; i++) {
        p->workers[i].log = bmp__temp_log_new();
        /* Without a ring, results come on the socket. */
        p->workers[i].ring = bmp__result_ring_new();
    }
    sample(p, bmp__now());
    *out = p;
    return 0;
}

int bmp__pool_add(bmp__pool *p, size_t index, int64_t estimate)
{
    if (p->error)
        return p->error;
    bmp__run *run = p->run;
    if (p->ended || index >= run->count)
        return BMP_EINVAL;
    if (p->sched.items[index].added || (run->skip && run->skip[index]))
        return -EALREADY;
    p->added++;
    if (bmp__sched_setup_item(&p->sched, run, index, estimate) < 0) {
        /* Its failed result is in place: it is final without running.
         * Marked as added, so that it cannot come twice. */
        p->sched.items[index].added = 1;
        item_done(p, index, 1);
        return 1;
    }
    bmp__sched_add(&p->sched, index);
    return 0;
}

void bmp__pool_end_input(bmp__pool *p)
{
    p->ended = 1;
    /* A finite batch: first fit needs no hold against starvation. */
    bmp__sched_input_open(&p->sched, 0);
}

int bmp__pool_drive(bmp__pool *p, double wait_s, bmp_error *err)
{
    if (p->error)
        return bmp_error_set(err, p->error, "schedule", NULL,
                             "the worker pool stopped: %s",
                             bmp_strerror(p->error));
    int rc = pool_loop(p, wait_s >= 0 ? bmp__now() + wait_s : -1);
    if (rc >= 0)
        return rc;
    p->error = rc;
    bmp__run *run = p->run;
    if (rc == BMP_EINTERRUPTED)
        bmp_error_set(err, rc, "schedule", NULL,
                      "interrupted by SIG%s: %zu of %zu items finished",
                      sigabbrev_np(bmp__interrupted()), p->done, run->count);
    else if (rc == BMP_ENOWORKER)
        bmp_error_set(err, rc, "schedule", NULL,
                      "cannot start a worker process: %s; %zu of %zu items "
                      "failed for it",
                      bmp_strerror(p->spawn_error), p->unstartable,
                      run->count);
    else
        bmp_error_set(err, rc, "schedule", NULL, "worker pool failed: %s",
                      bmp_strerror(rc));
    return rc;
}

void bmp__pool_get_state(const bmp__pool *p, bmp__pool_state *st)
{
    int slots = 0;
    for (int i = 0; i < p->nworkers; i++)
        slots += !p->workers[i].disabled;
    *st = (bmp__pool_state){.added = p->added,
                            .queued = p->sched.queued,
                            .running = (size_t)p->sched.running,
                            .finished = p->final,
                            .workers = slots,
                            .input_ended = p->ended};
}

void bmp__pool_free(bmp__pool *p)
{
    if (!p)
        return;
    /* Items still in workers will not be collected: end them now rather
     * than wait for them. */
    int kill_first = p->error < 0 || p->final < p->added;
    if (p->workers) {
        for (int i = 0; i < p->nworkers; i++) {
            reap(&p->workers[i], kill_first, NULL, NULL);
            bmp__reader_free(&p->workers[i].rd);
            bmp__temp_log_free(p->workers[i].log);
            bmp__result_ring_free(p->workers[i].ring);
        }
    }
    bmp__sched_free(&p->sched);
    free(p->attempts);
    free(p->workers);
    free(p->served);
    free(p->fds);
    free(p->slot);
    free(p);
}

/* The executor: every item added, end of input, driven to the end. */
static int process_run(bmp__run *run, int workers, bmp_error *err)
{
    if (run->count == 0)
        return 0;
    bmp__pool *p;
    int rc = bmp__pool_new(run, workers, 0, NULL, NULL, &p, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < run->count; i++)
        if (!(run->skip && run->skip[i]))
            bmp__pool_add(p, i, -1);
    bmp__pool_end_input(p);
    rc = bmp__pool_drive(p, -1, err);
    bmp__pool_free(p);
    return rc < 0 ? rc : 0;
}

const bmp__executor bmp__executor_process = {"process", process_run};
