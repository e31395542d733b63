/*
 * channel.c -- see channel.h.
 */
#include "channel.h"

#include "fork_hooks.h"
#include "json_dump.h"
#include "json_syntax.h"
#include "result_ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define RESULT_MAGIC 0x424d5052u /* "BMPR" */
#define TEMP_MAGIC 0x424d5054u   /* "BMPT": a temporary file notice */
#define NO_STRING UINT64_MAX
/* The largest string field a frame may carry. */
#define MAX_FIELD ((uint64_t)1 << 32)

typedef struct frame_header {
    uint32_t magic;
    uint32_t status;
    int32_t code;
    int32_t attempts;
    double wall_s;
    double cpu_s;
    double start;
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

/* The worker's end of the socket and its slot's shared pages (none in
 * the caller). */
static int worker_fd = -1;
static bmp__temp_log *worker_temps;
static bmp__result_ring *worker_ring;
/* Results published in the ring since the caller was last woken. */
static int unwoken;

/* The test hook (channel.h): the item and step at which to die. */
static uint64_t die_item = UINT64_MAX;
static int die_step = -1;
static uint64_t running_index = UINT64_MAX;

void bmp__channel_die_at(uint64_t item, int step)
{
    die_item = item;
    die_step = step;
}

static void maybe_die(int step)
{
    if (running_index == die_item && step == die_step)
        _exit(BMP__DIE_EXIT);
}

/* One byte on the socket: the caller, asleep in poll(), wakes and reads
 * the ring.  A full socket buffer means wake-ups are already waiting. */
static int wake_caller(void *unused)
{
    (void)unused;
    for (;;) {
        ssize_t k = send(worker_fd, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k == 1 || (k < 0 && errno == EAGAIN))
            return 0;
        if (k < 0 && errno != EINTR)
            return -errno;
    }
}

void bmp__channel_skew_ring(int64_t delta)
{
    if (!worker_ring)
        return;
    bmp__result_ring_skew_written(worker_ring, delta);
    wake_caller(NULL);
    for (;;)
        pause();
}

int bmp__channel_send_tasks(int fd, const bmp__task *tasks, size_t n)
{
    return bmp__write_all(fd, tasks, n * sizeof *tasks);
}

/* Worker side: tasks read ahead of use.  The caller sends several at once
 * when items are short; one read takes all that have arrived. */
static struct {
    unsigned char bytes[BMP__TASKS_MAX * sizeof(bmp__task)];
    size_t start, end; /* unread bytes */
} inbox;

size_t bmp__channel_tasks_ahead(void)
{
    return (inbox.end - inbox.start) / sizeof(bmp__task);
}

int bmp__channel_recv_task(int fd, uint64_t *index, int64_t *estimate)
{
    while (inbox.end - inbox.start < sizeof(bmp__task)) {
        /* About to wait for tasks: the caller must see the results
         * published since it last looked, or it would wait too.  While
         * tasks are queued here the worker goes on without waking it;
         * the caller looks at the ring when it wakes for other reasons
         * (channel.h). */
        if (unwoken && fd == worker_fd) {
            unwoken = 0;
            if (wake_caller(NULL) < 0)
                return -EPIPE;
            maybe_die(BMP__DIE_WOKEN);
        }
        /* A frame split by the stream: keep its first bytes. */
        memmove(inbox.bytes, inbox.bytes + inbox.start,
                inbox.end - inbox.start);
        inbox.end -= inbox.start;
        inbox.start = 0;
        ssize_t k = read(fd, inbox.bytes + inbox.end,
                         sizeof inbox.bytes - inbox.end);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return inbox.end == 0 ? 0 : -EPIPE;
        inbox.end += (size_t)k;
    }
    bmp__task t;
    memcpy(&t, inbox.bytes + inbox.start, sizeof t);
    inbox.start += sizeof t;
    *index = t.index;
    *estimate = t.estimate;
    /* Low water: one task or none left behind this one.  Woken now, the
     * caller reads the results and tops the queue up while this item
     * runs, instead of after the worker has run dry. */
    if (unwoken && fd == worker_fd &&
        inbox.end - inbox.start <= sizeof(bmp__task)) {
        unwoken = 0;
        if (wake_caller(NULL) < 0)
            return -EPIPE;
        maybe_die(BMP__DIE_WOKEN);
    }
    return 1;
}

/* Notices on the socket or in the ring come from any thread of the item,
 * results from the worker's main thread: one at a time, so that two
 * frames never interleave.  A child forked while another thread held the
 * lock gets it unlocked. */
static pthread_mutex_t notice_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t notice_once = PTHREAD_ONCE_INIT;

static void notice_lock_reset(void)
{
    pthread_mutex_init(&notice_lock, NULL);
}

static void notice_lock_setup(void)
{
    pthread_atfork(NULL, NULL, notice_lock_reset);
}

/* The ring is full and what it holds of a result's frame is published:
 * a death now leaves the frame cut short. */
static int wake_for_room(void *arg)
{
    maybe_die(BMP__DIE_PART_PUBLISHED);
    return wake_caller(arg);
}

/* A frame into the worker's ring, published at once (the caller holds
 * notice_lock).  The test hook's steps are the points between the
 * copies and the store that publishes them. */
static int ring_frame(const struct iovec *iov, int n, int is_result)
{
    if (is_result)
        maybe_die(BMP__DIE_BEFORE_COPY);
    for (int i = 0; i < n; i++) {
        int rc = bmp__result_ring_put(worker_ring, iov[i].iov_base,
                                      iov[i].iov_len,
                                      is_result ? wake_for_room : wake_caller,
                                      NULL);
        if (rc < 0)
            return rc;
        if (is_result && i == 0)
            maybe_die(BMP__DIE_HEADER_COPIED);
    }
    if (is_result)
        maybe_die(BMP__DIE_COPIED);
    bmp__result_ring_publish(worker_ring);
    if (is_result) {
        unwoken = 1;
        maybe_die(BMP__DIE_PUBLISHED);
    }
    return 0;
}

int bmp__channel_send_result(int fd, const bmp__result *r)
{
    char *meta = r->meta ? bmp__json_dumps_short(r->meta) : NULL;
    if (r->meta && !meta) {
        /* Not serialisable (e.g. a string that is not UTF-8): report it
         * rather than lose the item silently. */
        meta = strdup(
            "{\"bmp_error\": \"meta could not be encoded as JSON\"}");
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
        .start = r->stats.start,
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
    int rc;
    if (worker_ring && fd == worker_fd) {
        pthread_once(&notice_once, notice_lock_setup);
        pthread_mutex_lock(&notice_lock);
        rc = ring_frame(iov, n, 1);
        pthread_mutex_unlock(&notice_lock);
    } else {
        rc = send_all_iov(fd, iov, n);
    }
    free(meta);
    return rc;
}

/* The running item's estimate: what a nested pipeline may use. */
static int64_t worker_share = -1;

void bmp__channel_set_worker(int fd, bmp__temp_log *temps,
                             bmp__result_ring *ring)
{
    worker_fd = fd;
    worker_temps = temps;
    worker_ring = ring;
    unwoken = 0;
    /* A nested pipeline's worker is forked in the middle of an item: the
     * tasks its parent had read ahead are not its own. */
    inbox.start = inbox.end = 0;
}

int bmp__in_worker(void)
{
    return worker_fd >= 0;
}

void bmp__channel_item_starts(uint64_t index, int64_t share)
{
    running_index = index;
    worker_share = share;
    /* For the caller, should this worker die: an item it never began is
     * not its loss (executor_process.c). */
    if (worker_ring)
        bmp__result_ring_note_start(worker_ring, index);
    bmp__temp_log_clear(worker_temps);
}

int64_t bmp__worker_mem_share(void)
{
    return worker_fd >= 0 ? worker_share : -1;
}

void bmp__channel_notify_temp(const char *path)
{
    if (worker_fd < 0 || !path)
        return;
    if (worker_temps && bmp__temp_log_add(worker_temps, path) == 0)
        return;
    /* The shared log is full: tell the caller in the ring, or on the
     * socket without one.  (Such a
     * name is not forgotten when its creation fails: the caller's unlink
     * then finds nothing, but for a name another process took at the
     * same moment, which random names make all but impossible.) */
    frame_header h = {.magic = TEMP_MAGIC,
                      .outname_len = strlen(path),
                      .meta_len = NO_STRING,
                      .error_len = NO_STRING};
    struct iovec iov[2] = {{&h, sizeof h},
                           {(void *)path, (size_t)h.outname_len}};
    pthread_once(&notice_once, notice_lock_setup);
    pthread_mutex_lock(&notice_lock);
    /* Best effort: if the caller is gone, nobody is left to clean up. */
    if (worker_ring)
        ring_frame(iov, 2, 0);
    else
        send_all_iov(worker_fd, iov, 2);
    pthread_mutex_unlock(&notice_lock);
}

void bmp__channel_forget_temp(const char *path)
{
    if (worker_fd >= 0 && path)
        bmp__temp_log_forget(worker_temps, path);
}

int bmp__channel_track_group(pid_t pgid)
{
    /* No caller to do the killing: nothing to record. */
    if (worker_fd < 0 || !worker_temps)
        return 0;
    return bmp__temp_log_add_group(worker_temps, pgid);
}

void bmp__channel_untrack_group(pid_t pgid)
{
    if (worker_fd >= 0 && worker_temps)
        bmp__temp_log_forget_group(worker_temps, pgid);
}

void bmp__channel_item_ends(void)
{
    bmp__temp_log_forget_groups(worker_temps);
}

/* ---- the caller's reader ---------------------------------------------- */

/* Room asked of each read: many result frames of short items at once. */
#define READ_CHUNK (64 * 1024)

void bmp__reader_free(bmp__reader *rd)
{
    free(rd->buf);
    memset(rd, 0, sizeof *rd);
}

int bmp__reader_fill(bmp__reader *rd, int fd)
{
    if (rd->start == rd->end)
        rd->start = rd->end = 0;
    if (rd->cap - rd->end < READ_CHUNK && rd->start > 0) {
        memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
        rd->end -= rd->start;
        rd->start = 0;
    }
    /* Room for the frame being read, if it is larger than a chunk. */
    size_t want = rd->start + (rd->need > READ_CHUNK ? rd->need : READ_CHUNK);
    if (want < rd->end + READ_CHUNK / 4)
        want = rd->end + READ_CHUNK / 4;
    if (rd->cap < want) {
        char *b = realloc(rd->buf, want);
        if (!b)
            return -ENOMEM;
        rd->buf = b;
        rd->cap = want;
    }
    for (;;) {
        ssize_t k = recv(fd, rd->buf + rd->end, rd->cap - rd->end,
                         MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        /* A worker that dies with tasks it never read resets the
         * connection instead of closing it: for the caller, both are its
         * end, once the bytes it did send have been read. */
        if (k < 0 && errno == ECONNRESET)
            return 0;
        if (k < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        rd->end += (size_t)k;
        return k > 0 ? 1 : 0;
    }
}

/* Room for `want` more bytes at rd->end. */
static int reader_room(bmp__reader *rd, size_t want)
{
    if (rd->start == rd->end)
        rd->start = rd->end = 0;
    if (rd->cap - rd->end >= want)
        return 0;
    if (rd->start > 0) {
        memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
        rd->end -= rd->start;
        rd->start = 0;
    }
    if (rd->cap - rd->end >= want)
        return 0;
    if (want > SIZE_MAX - rd->end)
        return -ENOMEM;
    char *b = realloc(rd->buf, rd->end + want);
    if (!b)
        return -ENOMEM;
    rd->buf = b;
    rd->cap = rd->end + want;
    return 0;
}

static int lazy_rings;

void bmp__channel_lazy_rings(int lazy)
{
    lazy_rings = lazy;
}

int bmp__reader_ring_ready(const bmp__reader *rd, const bmp__result_ring *ring)
{
    size_t n;
    if (bmp__result_ring_ready(ring, rd->ring_taken, &n) < 0)
        return 1;
    return n > 0 && !lazy_rings;
}

int bmp__reader_take_ring(bmp__reader *rd, bmp__result_ring *ring)
{
    int came = 0;
    for (;;) {
        size_t ready, got;
        if (bmp__result_ring_ready(ring, rd->ring_taken, &ready) < 0)
            return BMP_EPROTO;
        if (ready == 0)
            break;
        if (reader_room(rd, ready) < 0)
            return -ENOMEM;
        if (bmp__result_ring_take(ring, &rd->ring_taken, rd->buf + rd->end,
                                  rd->cap - rd->end, &got) < 0)
            return BMP_EPROTO;
        rd->end += got;
        came = 1;
    }
    return came ? 1 : -EAGAIN;
}

int bmp__reader_fill_ring(bmp__reader *rd, int fd, bmp__result_ring *ring)
{
    /* The socket first: bytes published before the worker died are all
     * in the ring once its end of the socket is seen closed. */
    int rc = -EAGAIN;
    for (;;) {
        char wakes[256];
        ssize_t k = recv(fd, wakes, sizeof wakes, MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0 || (k < 0 && errno == ECONNRESET)) {
            rc = 0;
            break;
        }
        if (k < 0) {
            if (errno != EWOULDBLOCK)
                rc = -errno;
            break;
        }
    }
    int took = bmp__reader_take_ring(rd, ring);
    if (took == -ENOMEM || took == BMP_EPROTO)
        return took;
    return rc == -EAGAIN && took == 1 ? 1 : rc;
}

/* A string field of `len` bytes at *at; NO_STRING gives NULL. */
static int take_string(const char **at, uint64_t len, char **out)
{
    *out = NULL;
    if (len == NO_STRING)
        return 0;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, *at, (size_t)len);
    s[len] = '\0';
    *at += len;
    *out = s;
    return 0;
}

static uint64_t field_bytes(uint64_t len)
{
    return len == NO_STRING ? 0 : len;
}

int bmp__reader_next(bmp__reader *rd, bmp__result *r, char **temp_path)
{
    *temp_path = NULL;
    frame_header h;
    size_t have = rd->end - rd->start;
    rd->need = sizeof h;
    if (have < sizeof h)
        return -EAGAIN;
    memcpy(&h, rd->buf + rd->start, sizeof h);
    /* A length this large is a bug in the user's code or a hostile
     * worker; refusing it keeps it from becoming a huge allocation. */
    if ((h.magic != RESULT_MAGIC && h.magic != TEMP_MAGIC) ||
        (h.outname_len != NO_STRING && h.outname_len >= MAX_FIELD) ||
        (h.meta_len != NO_STRING && h.meta_len >= MAX_FIELD) ||
        (h.error_len != NO_STRING && h.error_len >= MAX_FIELD))
        return BMP_EPROTO;
    uint64_t total = sizeof h + field_bytes(h.outname_len) +
                     field_bytes(h.meta_len) + field_bytes(h.error_len);
    if (total > SIZE_MAX / 2)
        return BMP_EPROTO;
    rd->need = (size_t)total;
    if (have < total)
        return -EAGAIN;
    const char *at = rd->buf + rd->start + sizeof h;
    rd->start += (size_t)total;
    rd->need = 0;
    if (h.magic == TEMP_MAGIC) {
        if (h.outname_len == NO_STRING)
            return BMP_EPROTO;
        int rc = take_string(&at, h.outname_len, temp_path);
        return rc < 0 ? rc : 0;
    }
    bmp__result_clear(r);
    if (h.status > BMP_ITEM_NOT_RUN)
        return BMP_EPROTO;
    int rc = take_string(&at, h.outname_len, &r->outname);
    if (rc == 0)
        rc = take_string(&at, h.meta_len, &r->meta_text);
    if (rc == 0)
        rc = take_string(&at, h.error_len, &r->error);
    if (rc < 0) {
        bmp__result_clear(r);
        return rc;
    }
    r->status = (bmp_status)h.status;
    r->code = h.code;
    r->stats.attempts = h.attempts;
    r->stats.wall_s = h.wall_s;
    r->stats.cpu_s = h.cpu_s;
    r->stats.start = h.start;
    r->stats.peak_rss = h.peak_rss;
    r->stats.start_rss = h.start_rss;
    /* The meta stays the worker's text until someone asks for it
     * (bmp__result_meta), and goes into the pout file as it is: a text
     * that is not one JSON object (a NUL in it, a cut, bytes after the
     * object) is refused here, as a frame from a worker gone wrong; so
     * is a status that no finished item has, or an output name that does
     * not go with its status -- the checks every result from elsewhere
     * gets (bmp__result_check). */
    if ((r->meta_text && strlen(r->meta_text) != (size_t)h.meta_len) ||
        bmp__result_check(r)) {
        bmp__result_clear(r);
        return BMP_EPROTO;
    }
    if (!r->meta_text && !(r->meta = json_object())) {
        bmp__result_clear(r);
        return -ENOMEM;
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
    /* The hooks run outside the registry lock: a before hook may wait
     * for a lock of its own (an interpreter's) whose holder may be about
     * to start a pipeline, and so to take the registry lock. */
    bmp__fork_hooks hooks;
    bmp__fork_hooks_get(&hooks);
    if (hooks.before) {
        int rc = hooks.before(hooks.ctx);
        if (rc != 0) {
            errno = rc < 0 && rc > -4096 ? -rc : ECANCELED;
            return -1;
        }
    }
    pthread_mutex_lock(&registry_lock);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        pthread_mutex_unlock(&registry_lock);
        if (hooks.after_parent)
            hooks.after_parent(hooks.ctx);
        errno = e;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        pthread_mutex_unlock(&registry_lock);
        if (hooks.after_parent)
            hooks.after_parent(hooks.ctx);
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
    bmp_fork_after_fn after = pid == 0 ? hooks.after_child
                                       : hooks.after_parent;
    if (after) {
        int e = errno;
        after(hooks.ctx);
        errno = e;
    }
    return pid;
}
