/*
 * temp_out.c -- the temporaries under which programs write {out}, the
 * claims that name them, and the run's private folder.
 *
 * A program writes {out} under a temporary name beside the final one,
 * ".<final basename>.bmp-XXXXXX<ext>", which still ends with the final
 * name's extension because programs choose a format by it.  The worker
 * creates the file (O_EXCL, so the name is reserved), locks it with
 * flock(), and renames it over the final name only when the item
 * succeeds.  A temporary that can be locked is therefore proven dead:
 * its worker is gone, since a lock lives as long as the descriptor.
 * That proof, and nothing weaker, is what lets a later run remove one.
 *
 * A claim, one per item in the run's folder, names the final output and
 * the temporary before the temporary exists, so that the end of the run
 * and the item's next attempt find what a killed worker left.  The run's
 * folder is locked by the run for its whole life, so that a later run
 * can tell a dead run's folder from a live one's.
 */
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A base name near NAME_MAX is shortened in the temporary only, as the
 * library shortens its own; an extension longer than any real format's is
 * left out of it.  Both rules depend on the final name alone, so a
 * temporary can be recognised from the final name. */
#define TEMP_BASE_MAX 200
#define TEMP_EXT_MAX 40
#define TEMP_MARK ".bmp-"
#define TEMP_RANDOM 6

static const char temp_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* The pieces of a final name's temporary: the directory part (with its
 * slash, possibly empty), the base name as used, and the extension as
 * used.  Pointers into `final`. */
typedef struct temp_parts {
    size_t dirlen;
    const char *base;
    size_t baselen;
    const char *ext;
    size_t extlen;
} temp_parts;

static int temp_split(const char *final, temp_parts *p)
{
    const char *slash = strrchr(final, '/');
    p->dirlen = slash ? (size_t)(slash - final) + 1 : 0;
    p->base = final + p->dirlen;
    size_t len = strlen(p->base);
    if (len == 0)
        return -EISDIR;
    /* The extension as name_stem_ext() splits it: the last dot-suffix,
     * where the leading dots of a hidden file's name do not start one. */
    const char *first = p->base + strspn(p->base, ".");
    const char *dot = strrchr(p->base, '.');
    if (dot && dot < first)
        dot = NULL;
    p->ext = dot ? dot : p->base + len;
    p->extlen = strlen(p->ext);
    if (p->extlen > TEMP_EXT_MAX)
        p->extlen = 0;
    p->baselen = len > TEMP_BASE_MAX ? TEMP_BASE_MAX : len;
    return 0;
}

char *temp_out_template(const char *final, size_t *xoff)
{
    temp_parts p;
    if (temp_split(final, &p) < 0) {
        errno = EISDIR;
        return NULL;
    }
    size_t mark = sizeof TEMP_MARK - 1;
    size_t n = p.dirlen + 1 + p.baselen + mark + TEMP_RANDOM + p.extlen;
    char *t = malloc(n + 1);
    if (!t)
        return NULL;
    char *w = t;
    memcpy(w, final, p.dirlen), w += p.dirlen;
    *w++ = '.';
    memcpy(w, p.base, p.baselen), w += p.baselen;
    memcpy(w, TEMP_MARK, mark), w += mark;
    *xoff = (size_t)(w - t);
    memset(w, 'X', TEMP_RANDOM), w += TEMP_RANDOM;
    memcpy(w, p.ext, p.extlen), w += p.extlen;
    *w = '\0';
    return t;
}

/* 1 when `name` (a base name, `len` bytes) is the temporary of the final
 * base name `p` describes. */
static int temp_name_matches(const temp_parts *p, const char *name, size_t len)
{
    size_t mark = sizeof TEMP_MARK - 1;
    if (len != 1 + p->baselen + mark + TEMP_RANDOM + p->extlen ||
        name[0] != '.' || memcmp(name + 1, p->base, p->baselen) != 0)
        return 0;
    const char *r = name + 1 + p->baselen;
    if (memcmp(r, TEMP_MARK, mark) != 0)
        return 0;
    r += mark;
    for (int i = 0; i < TEMP_RANDOM; i++)
        if (!r[i] || !strchr(temp_chars, r[i]))
            return 0;
    return memcmp(r + TEMP_RANDOM, p->ext, p->extlen) == 0;
}

int temp_out_matches(const char *final, const char *temp)
{
    temp_parts p;
    if (temp_split(final, &p) < 0 || strncmp(temp, final, p.dirlen) != 0)
        return 0;
    const char *name = temp + p.dirlen;
    if (strchr(name, '/'))
        return 0;
    return temp_name_matches(&p, name, strlen(name));
}

int temp_out_remove_if_dead(const char *path)
{
    /* O_NONBLOCK: a FIFO put there must not block the open; only a
     * regular file is ever one of ours. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st, now;
    int removed = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        flock(fd, LOCK_EX | LOCK_NB) == 0 && lstat(path, &now) == 0 &&
        now.st_ino == st.st_ino && now.st_dev == st.st_dev)
        removed = unlink(path) == 0;
    close(fd); /* releases the lock */
    return removed;
}

/* ---- claims ------------------------------------------------------------ */

char *claim_path(const char *dir, size_t index)
{
    char *path = NULL;
    if (asprintf(&path, "%s/claim-%zu", dir, index) < 0)
        return NULL;
    return path;
}

/* The working directory, looked up once per process: workers start
 * every item in the directory they started in (the library restores
 * it), and the command does not move. */
static const char *working_dir(void)
{
    static char *cwd;
    static pid_t cwd_pid;
    if (!cwd || cwd_pid != getpid()) {
        char *now = getcwd(NULL, 0);
        if (!now)
            return NULL;
        if (cwd_pid == getpid())
            free(cwd);
        cwd = now;
        cwd_pid = getpid();
    }
    return cwd;
}

/* "FINAL\0TEMP\0" in one write(): a worker killed inside it leaves a
 * claim without its last NUL, which is ignored.  Relative names are
 * written from the working directory, so that a run started elsewhere,
 * sweeping the claims of a dead run, finds the same files. */
static int claim_write(const char *claim, const char *final, const char *temp)
{
    const char *dir = "";
    if (final[0] != '/' && !(dir = working_dir()))
        return -errno;
    size_t d = *dir ? strlen(dir) + 1 : 0;
    size_t a = strlen(final) + 1, b = strlen(temp) + 1;
    char *buf = malloc(d + a + d + b);
    if (!buf)
        return -ENOMEM;
    char *at = buf;
    for (int k = 0; k < 2; k++) {
        if (d) {
            memcpy(at, dir, d - 1);
            at[d - 1] = '/';
            at += d;
        }
        memcpy(at, k ? temp : final, k ? b : a);
        at += k ? b : a;
    }
    a += d;
    b += d;
    int fd = open(claim, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
    } else {
        ssize_t n = write(fd, buf, a + b);
        if (n != (ssize_t)(a + b))
            rc = n < 0 ? -errno : -EIO;
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
    }
    free(buf);
    return rc;
}

void claim_release(const char *claim)
{
    int fd = open(claim, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[2 * 4096 + 2];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) > 0)
        len += (size_t)n;
    close(fd);
    /* Only a whole claim ("FINAL\0TEMP\0"), and only a name that is
     * exactly the final name's temporary: a claim is never a licence to
     * remove anything else, least of all a final output. */
    if (len > 0 && len < sizeof buf && buf[len - 1] == '\0') {
        const char *temp = (const char *)memchr(buf, '\0', len) + 1;
        const char *end = buf + len - 1;
        if (temp < end && strlen(temp) == (size_t)(end - temp) &&
            temp_out_matches(buf, temp))
            temp_out_remove_if_dead(temp);
    }
    unlink(claim);
}

int temp_out_create(char *temp, size_t xoff, const char *claim,
                    const char *final)
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned char r[TEMP_RANDOM];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^
                         (uint64_t)tries;
            for (int i = 0; i < TEMP_RANDOM; i++, x >>= 8)
                r[i] = (unsigned char)x;
        }
        for (int i = 0; i < TEMP_RANDOM; i++)
            temp[xoff + (size_t)i] = temp_chars[r[i] % 62];
        /* Claimed before it exists: a worker killed inside open() leaves
         * no temporary that its claim does not name. */
        int rc = claim_write(claim, final, temp);
        if (rc < 0)
            return rc;
        /* 0666: the kernel applies the umask, as for any new file.  Not
         * inherited by the program (O_CLOEXEC): a background child of it
         * must not keep the lock after the worker is gone. */
        int fd = open(temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0666);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            return -errno;
        }
        /* Nobody else can hold a lock on a file made a moment ago, but a
         * sweep by a concurrent run over the same outputs could remove it
         * in between: then the name no longer leads to our file. */
        struct stat st, now;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
            close(fd); /* the sweep that holds it removes it */
            continue;
        }
        /* Any other failure is a file system without locks: the output
         * is made all the same, unlocked, and no later run can prove the
         * temporary dead, so none removes it. */
        if (fstat(fd, &st) != 0 || lstat(temp, &now) != 0 ||
            st.st_ino != now.st_ino || st.st_dev != now.st_dev) {
            close(fd);
            continue;
        }
        return fd;
    }
    return -EEXIST;
}

/* ---- leftovers beside the outputs ------------------------------------- */

typedef struct final_ref {
    char *dir; /* the directory part, "" for the current directory */
    const char *base;
    temp_parts parts;
    char *final;
} final_ref;

static int compare_ref(const void *a, const void *b)
{
    const final_ref *x = a, *y = b;
    int c = strcmp(x->dir, y->dir);
    if (c)
        return c;
    size_t n = x->parts.baselen < y->parts.baselen ? x->parts.baselen
                                                   : y->parts.baselen;
    c = memcmp(x->parts.base, y->parts.base, n);
    if (c)
        return c;
    return (x->parts.baselen > y->parts.baselen) -
           (x->parts.baselen < y->parts.baselen);
}

/* Removes, in one directory, the temporaries of the finals refs[0..n)
 * (sorted, all in that directory) that no live process holds. */
static size_t sweep_dir(const final_ref *refs, size_t n)
{
    const char *dirname = refs[0].dir[0] ? refs[0].dir : ".";
    DIR *d = opendir(dirname);
    if (!d)
        return 0;
    size_t removed = 0, mark = sizeof TEMP_MARK - 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] != '.' || !strstr(name, TEMP_MARK))
            continue;
        size_t len = strlen(name);
        /* Each ".bmp-" in the name may end the base name: find the final
         * whose (shortened) base name is what comes before it. */
        for (const char *m = strstr(name + 1, TEMP_MARK); m;
             m = strstr(m + 1, TEMP_MARK)) {
            final_ref key = {.dir = refs[0].dir};
            key.parts.base = name + 1;
            key.parts.baselen = (size_t)(m - name - 1);
            if (len < 1 + key.parts.baselen + mark + TEMP_RANDOM)
                break;
            const final_ref *hit = bsearch(&key, refs, n, sizeof *refs,
                                           compare_ref);
            if (!hit)
                continue;
            /* Shortened base names can be shared: try each neighbour. */
            while (hit > refs && compare_ref(hit - 1, &key) == 0)
                hit--;
            int done = 0;
            for (; hit < refs + n && compare_ref(hit, &key) == 0 && !done;
                 hit++) {
                if (!temp_name_matches(&hit->parts, name, len))
                    continue;
                char *path = NULL;
                if (asprintf(&path, "%s%s", hit->dir, name) >= 0 &&
                    temp_out_remove_if_dead(path))
                    removed++;
                free(path);
                done = 1;
            }
            if (done)
                break;
        }
    }
    closedir(d);
    return removed;
}

size_t temp_out_sweep(const json_t *names, const json_t *kw,
                      const char *out_ext)
{
    size_t n = json_array_size(names), k = 0, removed = 0;
    final_ref *refs = calloc(n ? n : 1, sizeof *refs);
    if (!refs)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *in = json_string_value(json_array_get(names, i));
        char *final = NULL;
        if (!in || outname_for(in, kw, NULL, out_ext, &final) != 0)
            continue;
        final_ref *r = &refs[k];
        if (temp_split(final, &r->parts) < 0 ||
            !(r->dir = strndup(final, r->parts.dirlen))) {
            free(final);
            continue;
        }
        r->final = final;
        k++;
    }
    qsort(refs, k, sizeof *refs, compare_ref);
    for (size_t i = 0; i < k;) {
        size_t j = i + 1;
        while (j < k && strcmp(refs[j].dir, refs[i].dir) == 0)
            j++;
        removed += sweep_dir(refs + i, j - i);
        i = j;
    }
    for (size_t i = 0; i < k; i++) {
        free(refs[i].dir);
        free(refs[i].final);
    }
    free(refs);
    return removed;
}

/* ---- the run's folder --------------------------------------------------- */

static const char run_prefix[] = "bmp-run-";

int run_dir_make(char **dir, int *lock_fd)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    for (int tries = 0; tries < 10; tries++) {
        char *d = NULL;
        if (asprintf(&d, "%s/%sXXXXXX", tmp, run_prefix) < 0)
            return -ENOMEM;
        if (!mkdtemp(d)) {
            int e = errno;
            free(d);
            return -e;
        }
        int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == ENOENT) { /* a sweep by another run took it */
                free(d);
                continue;
            }
            rmdir(d);
            free(d);
            return -e;
        }
        /* Blocking: a sweep that locked the folder first, taking it for
         * a dead run's, removes it and lets go; the check below then
         * sees the folder is gone and a new one is made.  Without locks
         * (ENOLCK, ENOSYS) the run goes on unlocked: no later run can
         * prove its folder dead, so none removes it. */
        struct stat st, now;
        while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
        }
        if (fstat(fd, &st) != 0 || stat(d, &now) != 0 ||
            st.st_ino != now.st_ino || st.st_dev != now.st_dev ||
            st.st_nlink == 0) {
            close(fd);
            free(d);
            continue;
        }
        *dir = d;
        *lock_fd = fd;
        return 0;
    }
    return -EAGAIN;
}

void run_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (strncmp(e->d_name, "claim-", 6) == 0) {
                char *path = NULL;
                if (asprintf(&path, "%s/%s", dir, e->d_name) >= 0)
                    claim_release(path);
                free(path);
            }
            /* A program may have made its BMP_META_FILE a directory. */
            if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno == EISDIR)
                unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
        }
        closedir(d);
    }
    rmdir(dir);
}

size_t run_dirs_sweep(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    DIR *d = opendir(tmp);
    if (!d)
        return 0;
    size_t removed = 0;
    uid_t me = getuid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, run_prefix, sizeof run_prefix - 1) != 0 ||
            strlen(e->d_name) != sizeof run_prefix - 1 + 6)
            continue;
        int fd = openat(dirfd(d), e->d_name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        /* A folder whose lock can be taken belongs to a run that is
         * gone; the lock is kept while it is emptied, so that a run
         * starting with this very name waits and sees it removed. */
        if (fstat(fd, &st) == 0 && st.st_uid == me &&
            flock(fd, LOCK_EX | LOCK_NB) == 0) {
            char *path = NULL;
            if (asprintf(&path, "%s/%s", tmp, e->d_name) >= 0) {
                run_dir_remove(path);
                removed++;
            }
            free(path);
        }
        close(fd);
    }
    closedir(d);
    return removed;
}
