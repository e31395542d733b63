/*
 * spawn.c -- runs one program and captures its standard output and error.
 *
 * The child is started with clone(CLONE_VM | CLONE_VFORK), as glibc's
 * posix_spawn does, rather than fork(): it shares the worker's memory
 * until it calls exec, so no page tables are copied and no copy-on-write
 * faults follow in the worker -- a fork of a worker cost a few hundred
 * microseconds per item.  posix_spawn itself cannot do two things this
 * needs: the child asks to be killed when its parent dies
 * (PR_SET_PDEATHSIG), so that a worker killed at a timeout takes its
 * program with it, and an exec failure comes back through a close-on-exec
 * pipe as an errno, as in libuv, so "command not found" is told apart
 * from a program that exits with 127.
 *
 * The child runs on a stack of its own and touches nothing of the
 * parent's but what the parent prepared for it: the program's path is
 * looked up in PATH beforehand, and all signals stay blocked until the
 * child has reset every handler to its default, so that no handler of
 * the worker ever runs in the child.
 *
 * Both output pipes are read in one poll() loop: reading one to its end
 * first would deadlock with a program that fills the other pipe.
 *
 * The program leads a process group of its own, so that whatever it
 * starts can be ended with it, and so that a `kill 0` in it reaches its
 * own group, not the run.  The item ends when the program ends: a
 * background child that still holds the output pipes is killed with the
 * group, rather than waited for.  The program's exit is seen through a
 * pidfd in the same poll() set, without reaping it, so that its group ID
 * cannot be reused before the group is killed.
 */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds the pipes are read after the program has exited and its group
 * has been killed: EOF comes at once unless a process that left the group
 * holds them. */
#define DRAIN_S 1.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Capture buffers start this small and double up to their maximum: most
 * programs print little, and a buffer of the maximum per item would cost
 * a mapping and its page faults every time. */
#define CAPTURE_START 4096

/* Room for `want` bytes (at most c->max) plus a terminator. */
static int capture_reserve(capture *c, size_t want)
{
    if (want > c->max)
        want = c->max;
    if (c->buf && want <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : CAPTURE_START;
    while (cap < want)
        cap = cap > c->max / 2 ? c->max : cap * 2;
    if (cap > c->max)
        cap = c->max;
    char *b = realloc(c->buf, cap + 1);
    if (!b)
        return -1;
    c->buf = b;
    c->cap = cap;
    return 0;
}

static void capture_add(capture *c, const char *bytes, size_t n)
{
    c->total += n;
    if (c->max == 0)
        return;
    if (capture_reserve(c, c->len + n) < 0)
        return; /* the text is lost, not the item */
    if (!c->keep_tail) {
        size_t room = c->max - c->len;
        if (n > room)
            n = room;
        memcpy(c->buf + c->len, bytes, n);
        c->len += n;
    } else if (n >= c->max) {
        memcpy(c->buf, bytes + (n - c->max), c->max);
        c->len = c->max;
    } else {
        if (c->len + n > c->max) {
            size_t drop = c->len + n - c->max;
            memmove(c->buf, c->buf + drop, c->len - drop);
            c->len -= drop;
        }
        memcpy(c->buf + c->len, bytes, n);
        c->len += n;
    }
    c->buf[c->len] = '\0';
}

/* ---- finding the program ------------------------------------------- */

/* execvp's search, done in the parent: the child must not allocate.
 * @return a malloc'd path, or NULL with errno (ENOENT, EACCES, ENOMEM). */
static char *find_program(const char *name)
{
    if (!*name) {
        errno = ENOENT;
        return NULL;
    }
    if (strchr(name, '/'))
        return strdup(name);
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    int denied = 0;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *full = NULL;
        /* An empty entry is the current directory, as for execvp. */
        if (asprintf(&full, "%.*s%s%s", (int)len, p, len ? "/" : "", name) < 0)
            return NULL;
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(full, X_OK) == 0)
                return full;
            denied = 1;
        }
        free(full);
        if (!end)
            break;
        p = end;
    }
    errno = denied ? EACCES : ENOENT;
    return NULL;
}

/* The last lookup, per process: a worker runs the same program for every
 * item.  PATH does not change during a run. */
static char *cached_name, *cached_path;
static pid_t cached_pid;

static const char *program_path(const char *name)
{
    pid_t me = getpid();
    if (cached_pid == me && cached_name && strcmp(cached_name, name) == 0)
        return cached_path;
    char *path = find_program(name);
    if (!path)
        return NULL;
    char *copy = strdup(name);
    if (!copy) {
        free(path);
        errno = ENOMEM;
        return NULL;
    }
    if (cached_pid == me) { /* else they belong to the parent's copy */
        free(cached_name);
        free(cached_path);
    }
    cached_name = copy;
    cached_path = path;
    cached_pid = me;
    return path;
}

/* ---- the child ------------------------------------------------------- */

typedef struct child_args {
    const spawn_options *o;
    const char *path; /* the program */
    char **sh_argv;   /* "sh", path, argv[1..]: for a script without
                         "#!", as execvp runs it */
    pid_t parent;
    int out_fd, err_fd;
    int parent_fds[2]; /* the parent's ends of the pipes: closed in
                          the child first, so that its own opens fit
                          under a tight descriptor limit */
    /* How an exec failure comes back: with CLONE_VM the child writes the
     * errno into the parent's memory, which the parent reads once the
     * child has exec'd or exited (CLONE_VFORK); a fork()ed child has no
     * shared memory and writes it to a close-on-exec pipe instead.
     * Without the pipe a spawn needs two descriptors fewer. */
    volatile int *exec_errno; /* shared memory, or NULL */
    int report_fd;            /* the pipe's write end, or -1 */
} child_args;

/* Runs in the child on its own stack, sharing the parent's memory until
 * exec: only system calls, no allocation, no writes but to its stack
 * and, on an exec failure, to the errno slot the parent gave it. */
static int child_main(void *arg)
{
    const child_args *a = arg;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != a->parent) /* the parent died before prctl */
        _exit(127);
    /* Its own group; the parent sets it too, for the fork() build, in
     * which the parent may run first. */
    setpgid(0, 0);
    close(a->parent_fds[0]);
    close(a->parent_fds[1]);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
        dup2(a->out_fd, STDOUT_FILENO) < 0 ||
        dup2(a->err_fd, STDERR_FILENO) < 0)
        goto failed;
    /* A handler of the worker's means nothing in the program: default,
     * asked of the kernel here, so that a handler set at any time is
     * seen.  The library's workers ignore SIGINT so that the tool decides
     * what a Ctrl-C does; an ignored signal stays ignored across exec, and
     * a SIGINT sent to the program must act as it would without us. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction now;
        if (sigaction(sig, NULL, &now) != 0)
            continue;
        if ((now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN) ||
            (sig == SIGINT && a->o->restore_sigint))
            sigaction(sig, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(a->path, a->o->argv, a->o->envp);
    if (errno == ENOEXEC)
        execve("/bin/sh", a->sh_argv, a->o->envp);
failed:;
    int e = errno;
    if (a->exec_errno)
        *a->exec_errno = e ? e : ENOEXEC;
    /* Nothing to do if the parent is gone: the exit code then says it. */
    else if (write(a->report_fd, &e, sizeof e) < 0) {
    }
    _exit(127);
}

/* The child's stack, one per thread (kept for the thread's next spawn):
 * CLONE_VFORK returns only once the child has called exec or exited, so
 * one thread's spawns never share it. */
#define CHILD_STACK (256 * 1024)
static _Thread_local void *stack_base;
static _Thread_local pid_t stack_pid;

static void *child_stack_top(void)
{
    pid_t me = getpid();
    if (!stack_base || stack_pid != me) {
        void *m = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        stack_base = m;
        stack_pid = me;
    }
    return (char *)stack_base + CHILD_STACK;
}

/* Under ThreadSanitizer the child is a fork(): its interceptor of
 * clone() runs its own bookkeeping in the child, which with CLONE_VM is
 * the parent's memory, and aborts.  The child's code is the same. */
#if defined(__SANITIZE_THREAD__)
#define SPAWN_WITH_FORK 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPAWN_WITH_FORK 1
#endif
#endif
#ifndef SPAWN_WITH_FORK
#define SPAWN_WITH_FORK 0
#endif

static pid_t start_child(child_args *a, void *stack)
{
    if (SPAWN_WITH_FORK) {
        pid_t pid = fork();
        if (pid == 0)
            child_main(a);
        return pid;
    }
    return clone(child_main, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
}

int spawn_run(const spawn_options *o, spawn_result *r)
{
    r->exec_errno = 0;
    r->status = 0;
    r->waited = 0;
    r->runtime_s = 0;
    /* Set again just before the start; here for a program that cannot
     * be found, whose job record still says when it was tried. */
    struct timespec tried;
    clock_gettime(CLOCK_REALTIME, &tried);
    r->start_epoch = (double)tried.tv_sec + tried.tv_nsec * 1e-9;
    int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
    int rc = 0;
    char **sh_argv = NULL;
    const char *path = program_path(o->argv[0]);
    if (!path) {
        /* As the child's exec would have reported it. */
        if (errno == ENOMEM)
            return -ENOMEM;
        r->exec_errno = errno;
        return 0;
    }
    size_t argc = 0;
    while (o->argv[argc])
        argc++;
    sh_argv = malloc((argc + 2) * sizeof *sh_argv);
    if (!sh_argv)
        return -ENOMEM;
    sh_argv[0] = "sh";
    sh_argv[1] = (char *)path;
    for (size_t i = 1; i <= argc; i++)
        sh_argv[i + 1] = o->argv[i];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
        (SPAWN_WITH_FORK && pipe2(report, O_CLOEXEC))) {
        rc = -errno;
        goto out;
    }
    void *stack = child_stack_top();
    if (!stack) {
        rc = -ENOMEM;
        goto out;
    }
    volatile int child_errno = 0;
    child_args a = {.o = o,
                    .path = path,
                    .sh_argv = sh_argv,
                    .parent = getpid(),
                    .out_fd = out[1],
                    .err_fd = err[1],
                    .parent_fds = {out[0], err[0]},
                    .exec_errno = SPAWN_WITH_FORK ? NULL : &child_errno,
                    .report_fd = report[1]};
    /* Blocked until the child has reset the handlers: a signal in
     * between must not run a worker's handler on the child's stack. */
    sigset_t all, old;
    sigfillset(&all);
    struct timespec wall0;
    clock_gettime(CLOCK_REALTIME, &wall0);
    r->start_epoch = (double)wall0.tv_sec + wall0.tv_nsec * 1e-9;
    double t0 = now_s();
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = start_child(&a, stack);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        rc = -clone_errno;
        goto out;
    }
    setpgid(pid, pid); /* EACCES once it has called exec: already done */
    /* Should the worker die (a timeout, a crash, an interrupt), the
     * program dies with it (PR_SET_PDEATHSIG), but what it started would
     * not: the library kills the tracked group then. */
    int tracked = o->item && bmp_item_track_group(o->item, pid) == 0;
    close(out[1]);
    close(err[1]);
    out[1] = err[1] = -1;
    ssize_t n;
    if (SPAWN_WITH_FORK) {
        /* The report pipe closes at exec: 0 bytes mean the program runs. */
        close(report[1]);
        report[1] = -1;
        int e = 0;
        while ((n = read(report[0], &e, sizeof e)) < 0 && errno == EINTR) {
        }
        if (n == (ssize_t)sizeof e)
            r->exec_errno = e ? e : ENOEXEC;
    } else {
        r->exec_errno = child_errno; /* the child has exec'd or exited */
    }

    /* Where pidfd_open() is missing (before Linux 5.3), the exit is
     * looked for between polls of a few milliseconds. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd fds[3] = {{.fd = out[0], .events = POLLIN},
                            {.fd = err[0], .events = POLLIN},
                            {.fd = pidfd, .events = POLLIN}};
    capture *caps[2] = {&r->out, &r->err};
    int open_fds = 2, exited = 0;
    double drain_until = 0;
    char buf[65536];
    while (open_fds > 0 || !exited) {
        int timeout = -1;
        if (exited) {
            /* Killed members close the pipes at once; a process that left
             * the group (setsid) may hold them for ever: what it writes
             * after this much is not waited for. */
            double left = drain_until - now_s();
            if (left <= 0)
                break;
            timeout = (int)(left * 1000) + 1;
        } else if (pidfd < 0) {
            timeout = 10;
        }
        int ready = poll(fds, 3, timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (!exited && (fds[2].revents || pidfd < 0)) {
            siginfo_t si;
            si.si_pid = 0;
            if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
                    0 &&
                si.si_pid == pid) {
                /* The leader is gone but not reaped: its group ID is
                 * still its own, so this reaches only what it left. */
                kill(-pid, SIGKILL);
                exited = 1;
                r->runtime_s = now_s() - t0;
                fds[2].fd = -1;
                drain_until = now_s() + DRAIN_S;
            } else if (pidfd >= 0 && fds[2].revents & (POLLERR | POLLNVAL)) {
                fds[2].fd = -1;
                exited = 1; /* cannot watch it: wait for it below */
                drain_until = now_s() + 1e9;
            }
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !fds[k].revents)
                continue;
            n = read(fds[k].fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                close(fds[k].fd);
                if (k == 0)
                    out[0] = -1;
                else
                    err[0] = -1;
                fds[k].fd = -1;
                open_fds--;
                continue;
            }
            capture_add(caps[k], buf, (size_t)n);
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    if (!exited) /* poll() failed: nothing of the program outlives it */
        kill(-pid, SIGKILL);
    /* Before the reap, while the group's number is still the leader's:
     * once reaped, it may be given to a stranger's group. */
    if (tracked)
        bmp_item_untrack_group(o->item, pid);
    int status = 0;
    /* wait4: the program's own CPU time and peak resident memory (with
     * those of the children it waited for), which the worker's
     * measurement of itself does not include. */
    while (wait4(pid, &status, 0, &r->usage) < 0) {
        if (errno != EINTR) {
            if (rc == 0)
                rc = -errno;
            break;
        }
    }
    r->status = status;
    if (r->runtime_s <= 0)
        r->runtime_s = now_s() - t0;
    r->waited = rc == 0;
out:
    free(sh_argv);
    for (int k = 0; k < 2; k++) {
        if (out[k] >= 0)
            close(out[k]);
        if (err[k] >= 0)
            close(err[k]);
        if (report[k] >= 0)
            close(report[k]);
    }
    return rc;
}

void spawn_result_free(spawn_result *r)
{
    free(r->out.buf);
    free(r->err.buf);
    r->out.buf = r->err.buf = NULL;
}
