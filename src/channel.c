/*
 * channel.c -- see channel.h.
 */
#include "channel.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define RESULT_MAGIC 0x424d5052u /* "BMPR" */
#define TEMP_MAGIC 0x424d5054u   /* "BMPT": a temporary file notice */
#define NO_STRING UINT64_MAX
/* A meta bigger than this is a bug in the user's code or a hostile
 * worker; refusing it keeps a bad length from becoming a huge malloc. */
#define MAX_FIELD ((uint64_t)1 << 32)

typedef struct frame_header {
    uint32_t magic;
    uint32_t status;
    int32_t code;
    int32_t attempts;
    double wall_s;
    double cpu_s;
    int64_t peak_rss;
    int64_t start_rss;
    uint64_t outname_len;
    uint64_t meta_len;
    uint64_t error_len;
} frame_header;

int bmp__write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        /* send() with MSG_NOSIGNAL: a dead peer must give EPIPE, not kill
         * the caller with SIGPIPE. */
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends the buffers as one message: one system call and one wake-up of
 * the reader for a whole frame, instead of one per field.  Goes on after
 * a partial send. */
static int send_all_iov(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

int bmp__read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EPIPE;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

typedef struct task_frame {
    uint64_t index;
    int64_t estimate;
} task_frame;

int bmp__channel_send_task(int fd, uint64_t index, int64_t estimate)
{
    task_frame t = {index, estimate};
    return bmp__write_all(fd, &t, sizeof t);
}

int bmp__channel_recv_task(int fd, uint64_t *index, int64_t *estimate)
{
    task_frame t;
    char *p = (char *)&t;
    size_t got = 0;
    while (got < sizeof t) {
        ssize_t k = read(fd, p + got, sizeof t - got);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return got == 0 ? 0 : -EPIPE;
        got += (size_t)k;
    }
    *index = t.index;
    *estimate = t.estimate;
    return 1;
}

int bmp__channel_send_result(int fd, const bmp__result *r)
{
    char *meta = r->meta ? json_dumps(r->meta, JSON_COMPACT) : NULL;
    if (r->meta && !meta) {
        /* Not serialisable (e.g. a string that is not UTF-8): report it
         * rather than lose the item silently. */
        meta = strdup("{\"bmp_error\": \"meta could not be encoded as JSON\"}");
        if (!meta)
            return -ENOMEM;
    }
    frame_header h = {
        .magic = RESULT_MAGIC,
        .status = (uint32_t)r->status,
        .code = r->code,
        .attempts = r->stats.attempts,
        .wall_s = r->stats.wall_s,
        .cpu_s = r->stats.cpu_s,
        .peak_rss = r->stats.peak_rss,
        .start_rss = r->stats.start_rss,
        .outname_len = r->outname ? strlen(r->outname) : NO_STRING,
        .meta_len = meta ? strlen(meta) : NO_STRING,
        .error_len = r->error ? strlen(r->error) : NO_STRING,
    };
    struct iovec iov[4] = {{&h, sizeof h}};
    int n = 1;
    if (r->outname)
        iov[n++] = (struct iovec){r->outname, (size_t)h.outname_len};
    if (meta)
        iov[n++] = (struct iovec){meta, (size_t)h.meta_len};
    if (r->error)
        iov[n++] = (struct iovec){r->error, (size_t)h.error_len};
    int rc = send_all_iov(fd, iov, n);
    free(meta);
    return rc;
}

/* Reads a string field of `len` bytes; NO_STRING gives NULL. */
static int recv_string(int fd, uint64_t len, char **out)
{
    *out = NULL;
    if (len == NO_STRING)
        return 0;
    if (len >= MAX_FIELD)
        return BMP_EPROTO;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return -ENOMEM;
    int rc = bmp__read_all(fd, s, (size_t)len);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s[len] = '\0';
    *out = s;
    return 0;
}

static int worker_fd = -1;

void bmp__channel_set_worker_fd(int fd)
{
    worker_fd = fd;
}

int bmp__in_worker(void)
{
    return worker_fd >= 0;
}

/* The running item's estimate: what a nested pipeline may use. */
static int64_t worker_share = -1;

void bmp__channel_set_share(int64_t bytes)
{
    worker_share = bytes;
}

int64_t bmp__worker_mem_share(void)
{
    return worker_fd >= 0 ? worker_share : -1;
}

void bmp__channel_notify_temp(const char *path)
{
    if (worker_fd < 0 || !path)
        return;
    frame_header h = {.magic = TEMP_MAGIC, .outname_len = strlen(path),
                      .meta_len = NO_STRING, .error_len = NO_STRING};
    /* Best effort: if the caller is gone, nobody is left to clean up. */
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)path, (size_t)h.outname_len}};
    send_all_iov(worker_fd, iov, 2);
}

int bmp__channel_recv(int fd, bmp__result *r, char **temp_path)
{
    *temp_path = NULL;
    frame_header h;
    int rc = bmp__read_all(fd, &h, sizeof h);
    if (rc < 0)
        return rc;
    if (h.magic == TEMP_MAGIC) {
        rc = recv_string(fd, h.outname_len, temp_path);
        return rc < 0 ? rc : (*temp_path ? 0 : BMP_EPROTO);
    }
    bmp__result_clear(r);
    if (h.magic != RESULT_MAGIC || h.status > BMP_ITEM_NOT_RUN)
        return BMP_EPROTO;
    char *meta = NULL;
    rc = recv_string(fd, h.outname_len, &r->outname);
    if (rc == 0)
        rc = recv_string(fd, h.meta_len, &meta);
    if (rc == 0)
        rc = recv_string(fd, h.error_len, &r->error);
    if (rc < 0) {
        free(meta);
        bmp__result_clear(r);
        return rc;
    }
    r->status = (bmp_status)h.status;
    r->code = h.code;
    r->stats.attempts = h.attempts;
    r->stats.wall_s = h.wall_s;
    r->stats.cpu_s = h.cpu_s;
    r->stats.peak_rss = h.peak_rss;
    r->stats.start_rss = h.start_rss;
    /* JSON_ALLOW_NUL: jansson writes strings holding NUL ("\u0000") and
     * must read them back, or such an item would look like a crash. */
    r->meta = meta ? json_loadb(meta, (size_t)h.meta_len, JSON_ALLOW_NUL, NULL)
                   : json_object();
    free(meta);
    if (!json_is_object(r->meta)) {
        bmp__result_clear(r);
        return BMP_EPROTO;
    }
    return 1;
}

/* ---- fork registry ---------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static int *registry;
static size_t registry_count, registry_cap;

/* Appends to the registry; the caller holds the lock. */
static void registry_add_locked(int fd)
{
    if (registry_count == registry_cap) {
        size_t cap = registry_cap ? registry_cap * 2 : 16;
        int *r = realloc(registry, cap * sizeof *r);
        if (!r)
            return; /* see bmp__fd_register */
        registry = r;
        registry_cap = cap;
    }
    registry[registry_count++] = fd;
}

void bmp__fd_register(int fd)
{
    /* On ENOMEM the fd goes unregistered: a child may then hold it, which
     * only delays crash detection of that worker until the child exits. */
    pthread_mutex_lock(&registry_lock);
    registry_add_locked(fd);
    pthread_mutex_unlock(&registry_lock);
}

void bmp__fd_unregister(int fd)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_count; i++) {
        if (registry[i] == fd) {
            registry[i] = registry[--registry_count];
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

pid_t bmp__fork_worker(int *caller_fd, int *worker_fd_out)
{
    /* The socket pair is made, the fork done and the caller's end
     * registered all under the lock: a fork in another thread then never
     * sees an unregistered socket of this worker, which it would keep
     * open and so hide this worker's death from its caller. */
    pthread_mutex_lock(&registry_lock);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        pthread_mutex_unlock(&registry_lock);
        errno = e;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        pthread_mutex_unlock(&registry_lock);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        for (size_t i = 0; i < registry_count; i++)
            close(registry[i]);
        close(sv[0]);
        registry_count = 0;
        /* A nested pipeline's workers must not hold this worker's end. */
        registry_add_locked(sv[1]);
        *worker_fd_out = sv[1];
    } else {
        close(sv[1]);
        registry_add_locked(sv[0]);
        *caller_fd = sv[0];
    }
    pthread_mutex_unlock(&registry_lock);
    return pid;
}
