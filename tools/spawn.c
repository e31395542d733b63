/*
 * spawn.c -- runs one program and captures its standard output and error.
 *
 * fork + execvp rather than posix_spawn, for two things posix_spawn cannot
 * do: the child asks to be killed when its parent dies (PR_SET_PDEATHSIG),
 * so that a worker killed at a timeout takes its program with it, and an
 * exec failure comes back through a close-on-exec pipe as an errno, as in
 * libuv, so "command not found" is told apart from a program that exits
 * with 127.
 *
 * Both output pipes are read in one poll() loop: reading one to its end
 * first would deadlock with a program that fills the other pipe.
 */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void capture_add(capture *c, const char *bytes, size_t n)
{
    c->total += n;
    if (c->max == 0)
        return;
    if (!c->buf) {
        c->buf = malloc(c->max + 1);
        if (!c->buf)
            return; /* the text is lost, not the item */
    }
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

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child(const spawn_options *o, pid_t parent, int out_fd,
                  int err_fd, int report_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl */
        _exit(127);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
        dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
        goto failed;
    if (null_fd > STDERR_FILENO)
        close(null_fd);
    /* The library's workers ignore SIGINT so that the tool decides what a
     * Ctrl-C does; an ignored signal stays ignored across exec, and the
     * program must see Ctrl-C as it would without us. */
    if (o->restore_sigint)
        signal(SIGINT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    environ = (char **)o->envp;
    execvp(o->argv[0], o->argv);
failed:;
    int e = errno;
    /* Nothing to do if the parent is gone: the exit code then says it. */
    if (write(report_fd, &e, sizeof e) < 0) {
    }
    _exit(127);
}

int spawn_run(const spawn_options *o, spawn_result *r)
{
    r->exec_errno = 0;
    r->status = 0;
    int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
    int rc = 0;
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
        pipe2(report, O_CLOEXEC)) {
        rc = -errno;
        goto out;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto out;
    }
    if (pid == 0)
        child(o, parent, out[1], err[1], report[1]);
    close(out[1]);
    close(err[1]);
    close(report[1]);
    out[1] = err[1] = report[1] = -1;

    /* The report pipe closes at exec: 0 bytes mean the program runs. */
    int e = 0;
    ssize_t n;
    while ((n = read(report[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    if (n == (ssize_t)sizeof e)
        r->exec_errno = e ? e : ENOEXEC;

    struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN},
                            {.fd = err[0], .events = POLLIN}};
    capture *caps[2] = {&r->out, &r->err};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
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
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            if (rc == 0)
                rc = -errno;
            break;
        }
    }
    r->status = status;
out:
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
