/*
 * command_step.c -- the per-item step of `bigmultipipe run`: a
 * bmp_ops.file_process that runs the user's command for one input.
 *
 * The command reads and writes its files itself, so the library's read,
 * process and write stages are replaced whole; what is left to this step
 * is the part the library cannot know: the output name ({out}, by the
 * library's rule), the command line, and turning what the command did
 * (exit code, standard output, standard error, BMP_META_FILE) into the
 * item's outname, meta and failure.
 */
#include "tool.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Text as a JSON string: invalid UTF-8 becomes U+FFFD, so that whatever
 * bytes a program prints, the meta stays valid JSON. */
static json_t *text_json(const char *s, size_t n)
{
    char *t = malloc(n * 3 + 1);
    if (!t)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len((const unsigned char *)s + i, n - i);
        if (len) {
            memcpy(t + k, s + i, len);
            k += len;
            i += len;
        } else {
            memcpy(t + k, "\xef\xbf\xbd", 3);
            k += 3;
            i++;
        }
    }
    json_t *j = json_stringn(t, k);
    free(t);
    return j;
}

/* Parses `s` as one JSON object (surrounding white space allowed). */
static json_t *json_object_text(const char *s, size_t n, json_error_t *jerr)
{
    json_t *v = json_loadb(s, n, 0, jerr);
    if (v && !json_is_object(v)) {
        json_decref(v);
        snprintf(jerr->text, sizeof jerr->text, "not a JSON object");
        return NULL;
    }
    return v;
}

/* The last non-empty line of the captured standard error, for the item's
 * error message: it usually says why. */
static void last_line(const capture *c, char *out, size_t size)
{
    out[0] = '\0';
    if (!c->buf)
        return;
    size_t end = c->len;
    while (end > 0 && strchr(" \t\r\n", c->buf[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && c->buf[start - 1] != '\n')
        start--;
    size_t n = end - start;
    if (n >= size)
        n = size - 1;
    memcpy(out, c->buf + start, n);
    out[n] = '\0';
}

/* The environment of the command: ours with BMP_META_FILE set. */
static char **command_env(const char *meta_file)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "BMP_META_FILE=", 14) != 0)
            env[k++] = environ[i];
    if (asprintf(&env[k], "BMP_META_FILE=%s", meta_file) < 0) {
        free(env);
        return NULL;
    }
    return env;
}

static void free_env(char **env)
{
    if (!env)
        return;
    size_t k = 0;
    while (env[k + 1])
        k++;
    free(env[k]); /* only the entry made here */
    free(env);
}

/* Reads BMP_META_FILE, bounded as standard output is: *text is NULL
 * when the file is absent or empty.  The program may have put anything
 * there, so only a regular file is read, never through a symbolic link,
 * and never one that would block.  @return 0, or -1 with the reason in
 * why. */
static int read_meta_file(const char *path, char **text, size_t *len,
                          char *why, size_t whysize)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whysize, "cannot open it: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whysize, "it is not a regular file");
        close(fd);
        return -1;
    }
    /* One byte more than the limit tells a file at the limit from a
     * longer one, whatever its size said when it was looked at. */
    size_t cap = (size_t)st.st_size < STDOUT_READ ? (size_t)st.st_size + 1
                                                  : STDOUT_READ + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        snprintf(why, whysize, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > STDOUT_READ)
                break;
            size_t more = cap * 2 > STDOUT_READ + 1 ? STDOUT_READ + 1
                                                    : cap * 2;
            char *b = realloc(buf, more + 1);
            if (!b)
                break;
            buf = b;
            cap = more;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > STDOUT_READ) {
        free(buf);
        snprintf(why, whysize, "it holds more than %d MiB, the limit",
                 STDOUT_READ >> 20);
        return -1;
    }
    const char *nul = memchr(buf, '\0', n);
    if (nul) {
        snprintf(why, whysize, "it holds a NUL byte (at byte %zu)",
                 (size_t)(nul - buf));
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* What the command printed and wrote, into the item's meta.  Standard
 * output is a JSON object to merge, or else text to keep, whatever it
 * holds (white space and NUL bytes included): only a program that
 * printed nothing adds nothing.  A meta file that is not a JSON object
 * fails the item: that channel is explicit, so garbage in it is a bug to
 * show, not text to keep.  An empty one (or only white space) says
 * nothing. */
static int gather_meta(bmp_item *item, const spawn_result *r,
                       const char *meta_file)
{
    json_t *meta = bmp_item_meta(item);
    const capture *out = &r->out;
    if (out->total > 0) {
        json_error_t jerr;
        json_t *obj = out->total == out->len && out->buf
                          ? json_object_text(out->buf, out->len, &jerr)
                          : NULL;
        if (obj) {
            json_object_update(meta, obj);
            json_decref(obj);
        } else {
            size_t n = out->len < STDOUT_KEEP ? out->len : STDOUT_KEEP;
            json_object_set_new(meta, "stdout",
                                text_json(out->buf ? out->buf : "", n));
            if (out->total > n)
                json_object_set_new(meta, "stdout_truncated",
                                    json_integer(
                                        (json_int_t)(out->total - n)));
        }
    }
    const capture *err = &r->err;
    if (err->total > 0) {
        json_object_set_new(meta, "stderr", text_json(err->buf, err->len));
        if (err->total > err->len)
            json_object_set_new(meta, "stderr_truncated",
                                json_integer(
                                    (json_int_t)(err->total - err->len)));
    }
    size_t len;
    char *text = NULL;
    char why[128];
    if (read_meta_file(meta_file, &text, &len, why, sizeof why) < 0)
        return bmp_item_fail(item, BMP_ESTEP, "BMP_META_FILE: %s", why);
    if (text && !only_space(text, len)) {
        json_error_t jerr;
        json_t *obj = json_object_text(text, len, &jerr);
        free(text);
        if (!obj)
            return bmp_item_fail(item, BMP_ESTEP,
                                 "BMP_META_FILE does not hold a JSON "
                                 "object: %s",
                                 jerr.text);
        json_object_update(meta, obj);
        json_decref(obj);
        return 0;
    }
    free(text);
    return 0;
}

/* Builds the program's argv for this item (sh -c with --shell). */
static char **command_argv(const command_spec *spec,
                           const placeholder_values *v)
{
    if (!spec->shell)
        return placeholders_argv(spec->words, spec->nwords, v);
    char **argv = calloc(4, sizeof *argv);
    if (!argv)
        return NULL;
    argv[0] = strdup("/bin/sh");
    argv[1] = strdup("-c");
    argv[2] = placeholders_shell(spec->words, spec->nwords, v);
    if (!argv[0] || !argv[1] || !argv[2]) {
        placeholders_argv_free(argv);
        return NULL;
    }
    return argv;
}

/* A relative name that starts with '-' reaches the program as a file,
 * never as an option: "./-name".  malloc'd. */
static char *as_file_arg(const char *name)
{
    char *s = NULL;
    if (name[0] == '-') {
        if (asprintf(&s, "./%s", name) < 0)
            return NULL;
        return s;
    }
    return strdup(name);
}

/* The values of every placeholder for one item, malloc'd. */
typedef struct item_values {
    char *in, *out, *outdir, *stem, *ext, *base, *dir, *noext, *base_noext;
    char seq[24], slot[24];
} item_values;

static void item_values_free(item_values *w)
{
    char **all[] = {&w->in,   &w->out, &w->outdir, &w->stem,      &w->ext,
                    &w->base, &w->dir, &w->noext,  &w->base_noext};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

/* GNU parallel's meanings: {/} the base name, {//} the directory ("."
 * for a name without one, as dirname(1)), {.} the name without its
 * extension, {/.} the base name without it; the extension is the one
 * {ext} names (the last dot-suffix; none for a hidden name). */
static int item_values_make(item_values *w, const char *in, const char *out,
                            const char *outdir, size_t index, unsigned slot)
{
    memset(w, 0, sizeof *w);
    const char *slash = strrchr(in, '/');
    const char *base = slash ? slash + 1 : in;
    char *dir = NULL;
    if (!slash)
        dir = strdup(".");
    else if (slash == in)
        dir = strdup("/");
    else
        dir = strndup(in, (size_t)(slash - in));
    if (!dir || name_stem_ext(in, &w->stem, &w->ext) < 0) {
        free(dir);
        return -ENOMEM;
    }
    char *noext = strndup(in, strlen(in) - strlen(w->ext));
    w->in = as_file_arg(in);
    w->out = out ? as_file_arg(out) : strdup("");
    w->outdir = as_file_arg(outdir);
    w->base = as_file_arg(base);
    w->dir = as_file_arg(dir);
    w->noext = noext ? as_file_arg(noext) : NULL;
    w->base_noext = as_file_arg(w->stem);
    free(dir);
    free(noext);
    snprintf(w->seq, sizeof w->seq, "%zu", index + 1);
    snprintf(w->slot, sizeof w->slot, "%u", slot);
    if (!w->in || !w->out || !w->outdir || !w->base || !w->dir || !w->noext ||
        !w->base_noext) {
        item_values_free(w);
        return -ENOMEM;
    }
    return 0;
}

static placeholder_values values_of(const item_values *w)
{
    return (placeholder_values){w->in,         w->out,  w->outdir, w->stem,
                                w->ext,        w->base, w->dir,    w->noext,
                                w->base_noext, w->seq,  w->slot};
}

char **command_line(const command_spec *spec, const char *in, const char *out,
                    size_t index, unsigned slot)
{
    item_values w;
    if (item_values_make(&w, in, out, bmp_kw_str(spec->kw, "outdir", "."),
                         index, slot) < 0)
        return NULL;
    placeholder_values v = values_of(&w);
    char **argv = command_argv(spec, &v);
    item_values_free(&w);
    return argv;
}

/* This worker's job slot ({%}), from 1: the first free entry of the
 * table the caller shares with every worker, taken once per worker
 * process (compare and swap, so two new workers never take one).  An
 * entry is free when its process is gone; one whose worker died and is
 * not yet reaped still counts as taken, so its replacement may take the
 * next number for a while. */
static unsigned job_slot(const command_spec *spec)
{
    static pid_t slot_owner;
    static unsigned slot;
    pid_t me = getpid();
    if (slot_owner == me)
        return slot;
    if (!spec->slots || spec->nslots == 0)
        return 1;
    for (size_t i = 0; i < spec->nslots; i++) {
        pid_t cur = __atomic_load_n(&spec->slots[i], __ATOMIC_ACQUIRE);
        if (cur == me || ((cur == 0 || (kill(cur, 0) < 0 && errno == ESRCH)) &&
                          __atomic_compare_exchange_n(&spec->slots[i], &cur,
                                                      me, 0, __ATOMIC_ACQ_REL,
                                                      __ATOMIC_ACQUIRE))) {
            slot_owner = me;
            slot = (unsigned)i + 1;
            return slot;
        }
    }
    return (unsigned)spec->nslots + 1;
}

/* The kernel's count of OOM kills (oom_kill in /proc/vmstat, cgroup
 * OOM kills included), or -1 when it does not say. */
static long long oom_kills(void)
{
    FILE *f = fopen("/proc/vmstat", "re");
    if (!f)
        return -1;
    char line[128];
    long long n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "oom_kill ", 9) == 0) {
            n = strtoll(line + 9, NULL, 10);
            break;
        }
    fclose(f);
    return n;
}

/* GNU parallel's joblog as the item's meta key "job" (--job-meta): when
 * the program started and how long it ran, how it ended, and what it
 * used.  The program's keys come first: the record wins, as "stderr"
 * does. */
static void add_job_record(bmp_item *item, const spawn_result *r)
{
    json_t *job = json_object();
    if (!job)
        return;
    double cpu = (double)(r->usage.ru_utime.tv_sec +
                          r->usage.ru_stime.tv_sec) +
                 (r->usage.ru_utime.tv_usec + r->usage.ru_stime.tv_usec) *
                     1e-6;
    json_object_set_new(job, "seq",
                        json_integer((json_int_t)bmp_item_index(item) + 1));
    /* To what the clocks give, as the stats are: the start to the
     * microsecond (the nanoseconds of a double that large are noise),
     * the run time to the nanosecond, the CPU time to the microsecond. */
    json_object_set_new(job, "start",
                        json_real(round(r->start_epoch * 1e6) / 1e6));
    json_object_set_new(job, "runtime",
                        json_real(round(r->runtime_s * 1e9) / 1e9));
    /* A program that could not start has no exit status: exit and signal
     * are null, and why it did not start is said instead. */
    int ran = !r->exec_errno;
    json_object_set_new(job, "exit",
                        ran && WIFEXITED(r->status)
                            ? json_integer(WEXITSTATUS(r->status))
                            : json_null());
    if (!ran) {
        const char *name = strerrorname_np(r->exec_errno);
        json_object_set_new(job, "errno", json_string(name ? name : "?"));
        json_object_set_new(job, "reason",
                            json_string(strerror(r->exec_errno)));
    }
    const char *abbrev = ran && WIFSIGNALED(r->status)
                             ? sigabbrev_np(WTERMSIG(r->status))
                             : NULL;
    char sig[32];
    if (ran && WIFSIGNALED(r->status))
        snprintf(sig, sizeof sig, "SIG%s", abbrev ? abbrev : "?");
    json_object_set_new(job, "signal",
                        ran && WIFSIGNALED(r->status) ? json_string(sig)
                                                      : json_null());
    json_object_set_new(job, "cpu_s",
                        json_real(r->waited ? round(cpu * 1e6) / 1e6 : 0));
    json_object_set_new(
        job, "peak_rss",
        json_integer(r->waited ? (json_int_t)r->usage.ru_maxrss * 1024 : -1));
    json_object_set_new(bmp_item_meta(item), "job", job);
}

/* What a special file is, for the message that refuses it. */
static const char *special_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return NULL;
}

/* Puts the temporary in place of the final output: without overwrite,
 * never over a file that appeared meanwhile (renameat2's NOREPLACE, or
 * link + unlink where the file system lacks it, as the library does).
 * @return 0 or -errno (-EEXIST: the final name exists). */
static int commit_output(const char *temp, const char *final, int replace)
{
    if (replace)
        return rename(temp, final) == 0 ? 0 : -errno;
    if (renameat2(AT_FDCWD, temp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -errno;
    if (link(temp, final) != 0)
        return -errno;
    unlink(temp);
    return 0;
}

/* The worker holds a copy of the caller's lock on the run's folder from
 * the fork; only the caller's life should hold it.  Closed once per
 * worker (single files and groups alike), and only while the number
 * still names that folder. */
static void close_inherited_run_lock(const command_spec *spec)
{
    static pid_t lock_closed_in;
    struct stat lock_st;
    if (spec->run_lock_fd >= 0 && getpid() != spec->caller &&
        lock_closed_in != getpid()) {
        if (fstat(spec->run_lock_fd, &lock_st) == 0 &&
            lock_st.st_dev == spec->run_dev && lock_st.st_ino == spec->run_ino)
            close(spec->run_lock_fd);
        lock_closed_in = getpid();
    }
}

int command_file_process(bmp_item *item, char **outname)
{
    const command_spec *spec = bmp_item_user(item);
    json_t *kw = bmp_item_kw(item);
    const char *in = bmp_item_name(item);
    *outname = NULL;
    if (!in)
        return bmp_item_fail(item, BMP_EINVAL,
                             "the command runs on single files, not groups");
    close_inherited_run_lock(spec);

    char *out = NULL, *meta_file = NULL;
    char *claim_file = NULL, *temp = NULL;
    item_values values = {0};
    char **argv = NULL, **env = NULL;
    int temp_fd = -1;
    spawn_result r = {.out = {.max = STDOUT_READ},
                      .err = {.max = STDERR_KEEP, .keep_tail = 1}};
    int rc = outname_for(in, kw, bmp_item_meta(item), spec->out_ext, &out);
    if (rc < 0 && spec->uses_out) {
        rc = bmp_item_fail(item, rc, "no output name for %s: %s", in,
                           bmp_strerror(rc));
        goto done;
    }
    if (rc < 0)
        out = NULL;
    if (out && bmp_kw_bool(kw, "create_outdir", 0)) {
        rc = bmp_mkdir_parents_of(out);
        if (rc < 0) {
            bmp_item_fail(item, rc, "cannot create the directory of %s: %s",
                          out, bmp_strerror(rc));
            goto done;
        }
    }
    /* A special file would block the program or never end (a FIFO, a
     * device): refused before it starts, from stat() alone, which does
     * not open it.  A directory is allowed: some programs take one. */
    struct stat in_st;
    const char *kind = stat(in, &in_st) == 0 ? special_kind(in_st.st_mode)
                                             : NULL;
    if (kind) {
        rc = bmp_item_fail(item, BMP_EINVAL, "%s is %s, not a regular file",
                           in, kind);
        goto done;
    }
    if (asprintf(&meta_file, "%s/meta-%zu", spec->meta_dir,
                 bmp_item_index(item)) < 0 ||
        !(claim_file = claim_path(spec->meta_dir, bmp_item_index(item)))) {
        meta_file = NULL;
        rc = bmp_item_fail(item, -ENOMEM, "out of memory");
        goto done;
    }
    /* A retried item must not see its last attempt's meta, nor keep the
     * temporary that its last attempt, killed, left. */
    unlink(meta_file);
    claim_release(claim_file);

    if (spec->uses_out) {
        /* The library's rules for outputs: never the input itself, and
         * an existing file only with overwrite (the meta key wins).
         * Checked now to spare the run; the rename checks again. */
        struct stat out_st;
        int exists = stat(out, &out_st) == 0;
        if (exists && stat(in, &in_st) == 0 && out_st.st_dev == in_st.st_dev &&
            out_st.st_ino == in_st.st_ino) {
            rc = bmp_item_fail(item, BMP_EINVAL,
                               "output name %s is the item's own input; "
                               "choose another --outdir or "
                               "--outname_append",
                               out);
            goto done;
        }
        if (exists && !bmp_kw_bool(bmp_item_meta(item), "overwrite",
                                   bmp_kw_bool(kw, "overwrite", 0))) {
            rc = bmp_item_fail(item, -EEXIST,
                               "output %s exists; --overwrite replaces it",
                               out);
            goto done;
        }
        size_t xoff;
        temp = temp_out_template(out, &xoff);
        if (!temp) {
            rc = bmp_item_fail(item, -errno, "no temporary name for %s: %s",
                               out, strerror(errno));
            goto done;
        }
        temp_fd = temp_out_create(temp, xoff, claim_file, out);
        if (temp_fd < 0) {
            rc = bmp_item_fail(item, temp_fd,
                               "cannot create %s, the temporary for %s: %s",
                               temp, out, bmp_strerror(temp_fd));
            free(temp);
            temp = NULL; /* not ours: nothing to remove */
            goto done;
        }
        /* A modification time no program writes (one second after the
         * epoch): any write, or an open with O_TRUNC, sets it to now, so
         * that an empty file the command did write (an empty result) is
         * told apart from the untouched reservation, whatever the clock's
         * granularity. */
        const struct timespec untouched[2] = {{1, 0}, {1, 0}};
        futimens(temp_fd, untouched);
    }
    const char *outdir = bmp_kw_str(kw, "outdir", ".");
    if (item_values_make(&values, in, temp ? temp : out, outdir,
                         bmp_item_index(item), job_slot(spec)) < 0) {
        rc = bmp_item_fail(item, -ENOMEM, "out of memory");
        goto done;
    }
    placeholder_values v = values_of(&values);
    argv = command_argv(spec, &v);
    env = command_env(meta_file);
    if (!argv || !env) {
        rc = bmp_item_fail(item, -ENOMEM, "out of memory");
        goto done;
    }
    spawn_options so = {argv, env, spec->restore_sigint, item};
    /* The OOM count as this process last read it: at its first item, and
     * after each SIGKILL.  Read before every program it cost 50 us an
     * item; an OOM kill of another process since then, and a user's
     * SIGKILL of this one, would read as a memory failure: one retry
     * alone, with more memory. */
    static long long oom_seen = -2;
    static pid_t oom_reader;
    if (oom_reader != getpid()) {
        oom_reader = getpid();
        oom_seen = oom_kills();
    }
    long long oom_before = oom_seen;
    rc = spawn_run(&so, &r);
    if (rc < 0) {
        rc = bmp_item_fail(item, rc, "cannot start the command: %s",
                           bmp_strerror(rc));
        goto done;
    }
    if (r.exec_errno) {
        if (spec->job_meta)
            add_job_record(item, &r);
        rc = bmp_item_fail(item, -r.exec_errno, "cannot run %s: %s", argv[0],
                           strerror(r.exec_errno));
        goto done;
    }
    /* The program's own CPU time and memory are the item's: the worker's
     * measurement of itself leaves them out. */
    if (r.waited) {
        double cpu = (double)(r.usage.ru_utime.tv_sec +
                              r.usage.ru_stime.tv_sec) +
                     (r.usage.ru_utime.tv_usec + r.usage.ru_stime.tv_usec) *
                         1e-6;
        bmp_item_add_child_usage(item, cpu, (int64_t)r.usage.ru_maxrss * 1024);
    }
    if (WIFEXITED(r.status) && spec->reject_code > 0 &&
        WEXITSTATUS(r.status) == spec->reject_code) {
        /* Rejected: (none, {}), as a pre-process step's reject; what it
         * wrote goes with the temporary. */
        json_object_clear(bmp_item_meta(item));
        rc = 0;
        goto done;
    }
    int meta_rc = gather_meta(item, &r, meta_file);
    if (spec->job_meta)
        add_job_record(item, &r);
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        char why[256];
        last_line(&r.err, why, sizeof why);
        if (WIFSIGNALED(r.status)) {
            int sig = WTERMSIG(r.status);
            const char *abbrev = sigabbrev_np(sig);
            /* The kernel's OOM killer ended it: a memory failure, which
             * the scheduler retries alone with more memory, as it does
             * for a worker (doc/scheduler.md).  A SIGKILL alone may be a
             * user's; the count of OOM kills rising is the evidence. */
            long long oom_after = sig == SIGKILL ? oom_kills() : -1;
            if (oom_after >= 0)
                oom_seen = oom_after;
            if (oom_before >= 0 && oom_after > oom_before) {
                rc = bmp_item_fail(item, -ENOMEM,
                                   "command killed by the kernel's OOM "
                                   "killer (SIGKILL)%s%s",
                                   why[0] ? ": " : "", why);
                goto done;
            }
            rc = bmp_item_fail(item, BMP_ESTEP,
                               "command killed by signal SIG%s (%s)%s%s",
                               abbrev ? abbrev : "?", strsignal(sig),
                               why[0] ? ": " : "", why);
        } else {
            rc = bmp_item_fail(item, BMP_ESTEP,
                               "command exited with code %d%s%s",
                               WEXITSTATUS(r.status), why[0] ? ": " : "", why);
        }
        goto done;
    }
    if (meta_rc < 0) {
        rc = meta_rc;
        goto done;
    }
    /* The output is what the command wrote under the temporary name: a
     * regular file that is not the untouched reservation (the one made
     * here, written or truncated, or one the command put there by a
     * rename of its own), empty or not.  An untouched reservation means
     * nothing was written, and the earlier output, if any, stays. */
    struct stat st, reserved;
    if (temp && lstat(temp, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            rc = bmp_item_fail(item, BMP_ESTEP,
                               "the command left something other than a "
                               "regular file at {out} (%s)",
                               temp);
            if (S_ISDIR(st.st_mode))
                rmdir(temp);
            goto done;
        }
        int untouched_reservation = st.st_size == 0 &&
                                    fstat(temp_fd, &reserved) == 0 &&
                                    reserved.st_ino == st.st_ino &&
                                    reserved.st_dev == st.st_dev &&
                                    st.st_mtim.tv_sec == 1 &&
                                    st.st_mtim.tv_nsec == 0;
        if (!untouched_reservation) {
            int replace = bmp_kw_bool(bmp_item_meta(item), "overwrite",
                                      bmp_kw_bool(kw, "overwrite", 0));
            rc = commit_output(temp, out, replace);
            if (rc == -EEXIST) {
                rc = bmp_item_fail(item, rc,
                                   "output %s exists; --overwrite "
                                   "replaces it",
                                   out);
                goto done;
            }
            if (rc < 0) {
                rc = bmp_item_fail(item, rc, "cannot rename %s to %s: %s",
                                   temp, out, bmp_strerror(rc));
                goto done;
            }
            free(temp);
            temp = NULL;
            *outname = out;
            out = NULL;
        }
    }
    rc = 0;
done:
    /* The item ends here, whatever the outcome: a temporary not renamed
     * is not a result.  Removed while still locked, then let go. */
    if (temp)
        unlink(temp);
    if (temp_fd >= 0)
        close(temp_fd);
    if (claim_file)
        unlink(claim_file);
    free(claim_file);
    if (meta_file)
        unlink(meta_file);
    spawn_result_free(&r);
    placeholders_argv_free(argv);
    free_env(env);
    free(meta_file);
    free(temp);
    item_values_free(&values);
    free(out);
    return rc;
}

/* ---- -n N: one program start for a group of inputs ------------------- *
 * The item is a group of up to N input names (cmd_run.c makes them).  A
 * word that holds a placeholder whose value differs by input is repeated
 * once per input, in order (GNU parallel's -X); any other word stays
 * once, with the values of the group's first input ({#} is the group's
 * number).  Each input keeps what a run without -n gives it: its own
 * output name, its own temporary (reserved, locked, renamed only on
 * success), its own result.  The results go in the group's meta under
 * CHUNK_RESULTS; cmd_run.c turns the group's pout entry into one entry
 * per input. */

static int word_per_input(char *word)
{
    static const char *const per_input[] = {"{in}",  "{out}", "{stem}",
                                            "{ext}", "{/}",   "{//}",
                                            "{.}",   "{/.}",  "{}"};
    for (size_t i = 0; i < sizeof per_input / sizeof *per_input; i++)
        if (placeholder_used(&word, 1, per_input[i]))
            return 1;
    return 0;
}

/* One word with the values of `v`, as an argument or as shell text. */
static char *one_word(char *word, const placeholder_values *v, int shell)
{
    if (!placeholders_used(&word, 1))
        return strdup(word);
    if (shell)
        return placeholders_shell(&word, 1, v);
    char **a = placeholders_argv(&word, 1, v);
    if (!a)
        return NULL;
    char *w = a[0];
    a[0] = NULL;
    placeholders_argv_free(a);
    return w;
}

/* The argv of one program start for the inputs of v[0..n). */
static char **chunk_argv(const command_spec *spec, const placeholder_values *v,
                         size_t n)
{
    int append = !placeholders_used(spec->words, spec->nwords);
    size_t cap = n + 4;
    for (int i = 0; i < spec->nwords; i++)
        cap += word_per_input(spec->words[i]) ? n : 1;
    char **words = calloc(cap, sizeof *words);
    if (!words)
        return NULL;
    size_t k = 0;
    int failed = 0;
    for (int i = 0; i < spec->nwords && !failed; i++) {
        size_t times = word_per_input(spec->words[i]) ? n : 1;
        for (size_t j = 0; j < times && !failed; j++)
            failed = !(
                words[k++] = one_word(spec->words[i], &v[j], spec->shell));
    }
    /* Without any placeholder the names go last, as without -n. */
    for (size_t j = 0; append && j < n && !failed; j++)
        failed = !(words[k++] = spec->shell ? shell_quote(v[j].in)
                                            : strdup(v[j].in));
    if (failed || !spec->shell) {
        if (failed) {
            placeholders_argv_free(words);
            return NULL;
        }
        return words;
    }
    /* --shell: the words joined by spaces, as sh -c's text. */
    size_t len = 1;
    for (size_t j = 0; j < k; j++)
        len += strlen(words[j]) + 1;
    char *text = malloc(len);
    char **argv = calloc(4, sizeof *argv);
    if (text && argv) {
        text[0] = '\0';
        for (size_t j = 0; j < k; j++) {
            if (j)
                strcat(text, " ");
            strcat(text, words[j]);
        }
        argv[0] = strdup("/bin/sh");
        argv[1] = strdup("-c");
        argv[2] = text;
        text = NULL;
    }
    free(text);
    placeholders_argv_free(words);
    if (argv && (!argv[0] || !argv[1] || !argv[2])) {
        placeholders_argv_free(argv);
        argv = NULL;
    }
    return argv;
}

char **command_chunk_line(const command_spec *spec, const char *const *ins,
                          char *const *outs, size_t n, size_t index,
                          unsigned slot)
{
    item_values *w = calloc(n ? n : 1, sizeof *w);
    placeholder_values *v = calloc(n ? n : 1, sizeof *v);
    char **argv = NULL;
    size_t made = 0;
    if (!w || !v)
        goto done;
    const char *outdir = bmp_kw_str(spec->kw, "outdir", ".");
    for (; made < n; made++) {
        if (item_values_make(&w[made], ins[made], outs[made], outdir, index,
                             slot) < 0)
            goto done;
        v[made] = values_of(&w[made]);
    }
    argv = chunk_argv(spec, v, n);
done:
    for (size_t i = 0; i < made; i++)
        item_values_free(&w[i]);
    free(w);
    free(v);
    return argv;
}

/* Standard output as n lines of one JSON object each (a last newline
 * optional), or NULL: then it is the group's. */
static json_t *stdout_lines(const capture *out, size_t n)
{
    if (n < 2 || !out->buf || out->total != out->len)
        return NULL;
    json_t *lines = json_array();
    const char *p = out->buf, *end = out->buf + out->len;
    while (lines && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        json_error_t jerr;
        json_t *obj = json_object_text(p, (size_t)(stop - p), &jerr);
        if (!obj || json_array_append_new(lines, obj) < 0) {
            json_decref(lines);
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    if (lines && json_array_size(lines) != n) {
        json_decref(lines);
        return NULL;
    }
    return lines;
}

/* What one input of a group has and how it ended. */
typedef struct chunk_input {
    const char *in;
    char *out, *temp, *claim;
    int temp_fd;
    int runs;          /* passed to the program */
    size_t ran;        /* its place among the inputs passed */
    const char *state; /* "ok", "no_output", "failed", or NULL: not yet */
    char *error;
    item_values values;
} chunk_input;

static void input_fail(chunk_input *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void input_fail(chunk_input *c, const char *fmt, ...)
{
    if (c->state)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&c->error, fmt, ap) < 0)
        c->error = NULL;
    va_end(ap);
    c->state = "failed";
    c->runs = 0;
}

/* Everything before the program starts, for one input: as
 * command_file_process does for its single input. */
static void input_prepare(const command_spec *spec, bmp_item *item,
                          chunk_input *c, size_t input_index)
{
    json_t *kw = bmp_item_kw(item);
    c->temp_fd = -1;
    int rc = outname_for(c->in, kw, bmp_item_meta(item), spec->out_ext,
                         &c->out);
    if (rc < 0 && spec->uses_out)
        return input_fail(c, "no output name for %s: %s", c->in,
                          bmp_strerror(rc));
    if (rc < 0)
        c->out = NULL;
    if (c->out && bmp_kw_bool(kw, "create_outdir", 0)) {
        rc = bmp_mkdir_parents_of(c->out);
        if (rc < 0)
            return input_fail(c, "cannot create the directory of %s: %s",
                              c->out, bmp_strerror(rc));
    }
    struct stat in_st, out_st;
    const char *kind = stat(c->in, &in_st) == 0 ? special_kind(in_st.st_mode)
                                                : NULL;
    if (kind)
        return input_fail(c, "%s is %s, not a regular file", c->in, kind);
    if (!(c->claim = claim_path(spec->meta_dir, input_index)))
        return input_fail(c, "out of memory");
    claim_release(c->claim);
    if (spec->uses_out) {
        int exists = stat(c->out, &out_st) == 0;
        if (exists && stat(c->in, &in_st) == 0 &&
            out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino)
            return input_fail(c,
                              "output name %s is the item's own input; "
                              "choose another --outdir or "
                              "--outname_append",
                              c->out);
        if (exists && !bmp_kw_bool(kw, "overwrite", 0))
            return input_fail(c, "output %s exists; --overwrite replaces it",
                              c->out);
        size_t xoff;
        c->temp = temp_out_template(c->out, &xoff);
        if (!c->temp)
            return input_fail(c, "no temporary name for %s: %s", c->out,
                              strerror(errno));
        c->temp_fd = temp_out_create(c->temp, xoff, c->claim, c->out);
        if (c->temp_fd < 0) {
            input_fail(c, "cannot create %s, the temporary for %s: %s",
                       c->temp, c->out, bmp_strerror(c->temp_fd));
            free(c->temp);
            c->temp = NULL;
            return;
        }
        const struct timespec untouched[2] = {{1, 0}, {1, 0}};
        futimens(c->temp_fd, untouched);
    }
    c->runs = 1;
}

/* After the program exited 0: the input's output, as
 * command_file_process judges it. */
static void input_finish(chunk_input *c, int replace)
{
    struct stat st, reserved;
    if (!c->temp || lstat(c->temp, &st) != 0) {
        c->state = "no_output";
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            rmdir(c->temp);
        return input_fail(c,
                          "the command left something other than a "
                          "regular file at {out} (%s)",
                          c->temp);
    }
    if (st.st_size == 0 && fstat(c->temp_fd, &reserved) == 0 &&
        reserved.st_ino == st.st_ino && reserved.st_dev == st.st_dev &&
        st.st_mtim.tv_sec == 1 && st.st_mtim.tv_nsec == 0) {
        c->state = "no_output";
        return;
    }
    int rc = commit_output(c->temp, c->out, replace);
    if (rc == -EEXIST)
        return input_fail(c, "output %s exists; --overwrite replaces it",
                          c->out);
    if (rc < 0)
        return input_fail(c, "cannot rename %s to %s: %s", c->temp, c->out,
                          bmp_strerror(rc));
    free(c->temp);
    c->temp = NULL;
    c->state = "ok";
}

int command_chunk_process(bmp_item *item, char **outname)
{
    const command_spec *spec = bmp_item_user(item);
    const json_t *group = bmp_item_in_name(item);
    *outname = NULL;
    size_t n = json_array_size(group);
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(group, i)))
            return bmp_item_fail(item, BMP_EINVAL,
                                 "-n: a group of file names was expected");
    close_inherited_run_lock(spec);
    chunk_input *c = calloc(n ? n : 1, sizeof *c);
    placeholder_values *v = calloc(n ? n : 1, sizeof *v);
    char *meta_file = NULL;
    char **argv = NULL, **env = NULL;
    spawn_result r = {.out = {.max = STDOUT_READ},
                      .err = {.max = STDERR_KEEP, .keep_tail = 1}};
    int rc = 0;
    json_t *per_meta = NULL;
    if (!c || !v) {
        free(c);
        free(v);
        return bmp_item_fail(item, -ENOMEM, "out of memory");
    }
    size_t first = bmp_item_index(item) * spec->max_args, nrun = 0;
    const char *outdir = bmp_kw_str(bmp_item_kw(item), "outdir", ".");
    unsigned slot = job_slot(spec);
    for (size_t i = 0; i < n; i++) {
        c[i].in = json_string_value(json_array_get(group, i));
        c[i].temp_fd = -1;
        input_prepare(spec, item, &c[i], first + i);
        if (!c[i].runs)
            continue;
        if (item_values_make(&c[i].values, c[i].in,
                             c[i].temp ? c[i].temp : c[i].out, outdir,
                             bmp_item_index(item), slot) < 0) {
            input_fail(&c[i], "out of memory");
            continue;
        }
        c[i].ran = nrun;
        v[nrun++] = values_of(&c[i].values);
    }
    if (nrun == 0)
        goto results;
    if (asprintf(&meta_file, "%s/meta-chunk-%zu", spec->meta_dir,
                 bmp_item_index(item)) < 0) {
        meta_file = NULL;
        goto oom;
    }
    unlink(meta_file);
    argv = chunk_argv(spec, v, nrun);
    env = command_env(meta_file);
    if (!argv || !env)
        goto oom;
    spawn_options so = {argv, env, spec->restore_sigint, item};
    rc = spawn_run(&so, &r);
    char why[256] = "";
    if (rc < 0) {
        snprintf(why, sizeof why, "cannot start the command: %s",
                 bmp_strerror(rc));
    } else if (r.exec_errno) {
        if (spec->job_meta)
            add_job_record(item, &r);
        snprintf(why, sizeof why, "cannot run %s: %s", argv[0],
                 strerror(r.exec_errno));
    } else {
        if (r.waited) {
            double cpu =
                (double)(r.usage.ru_utime.tv_sec + r.usage.ru_stime.tv_sec) +
                (r.usage.ru_utime.tv_usec + r.usage.ru_stime.tv_usec) * 1e-6;
            bmp_item_add_child_usage(item, cpu,
                                     (int64_t)r.usage.ru_maxrss * 1024);
        }
        if (WIFEXITED(r.status) && spec->reject_code > 0 &&
            WEXITSTATUS(r.status) == spec->reject_code) {
            json_object_clear(bmp_item_meta(item));
            for (size_t i = 0; i < n; i++)
                if (c[i].runs)
                    c[i].state = "no_output";
            goto results;
        }
        /* One JSON object a line, one line per input: each input's own
         * meta.  Anything else is the group's, as without -n. */
        per_meta = stdout_lines(&r.out, nrun);
        spawn_result shared = r;
        if (per_meta)
            shared.out.total = 0;
        int meta_rc = gather_meta(item, &shared, meta_file);
        if (spec->job_meta)
            add_job_record(item, &r);
        char last[200];
        last_line(&r.err, last, sizeof last);
        if (WIFSIGNALED(r.status)) {
            const char *abbrev = sigabbrev_np(WTERMSIG(r.status));
            snprintf(why, sizeof why,
                     "command killed by signal SIG%s (%s)%s%s",
                     abbrev ? abbrev : "?", strsignal(WTERMSIG(r.status)),
                     last[0] ? ": " : "", last);
        } else if (WEXITSTATUS(r.status) != 0) {
            snprintf(why, sizeof why, "command exited with code %d%s%s",
                     WEXITSTATUS(r.status), last[0] ? ": " : "", last);
        } else if (meta_rc < 0) {
            /* gather_meta failed the group: its reason is every input's. */
            snprintf(why, sizeof why, "BMP_META_FILE is not usable");
        }
    }
    /* A program that failed fails every input it was given: what it
     * wrote before it failed is not trusted, and the temporaries go. */
    for (size_t i = 0; i < n; i++) {
        if (!c[i].runs)
            continue;
        if (why[0])
            input_fail(&c[i], "%s", why);
        else
            input_finish(&c[i], bmp_kw_bool(bmp_item_meta(item), "overwrite",
                                            bmp_kw_bool(bmp_item_kw(item),
                                                        "overwrite", 0)));
    }
    goto results;
oom:
    for (size_t i = 0; i < n; i++)
        input_fail(&c[i], "out of memory");
results:;
    json_t *results = json_array();
    size_t failed = 0;
    const char *first_error = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].state)
            input_fail(&c[i], "out of memory");
        if (!strcmp(c[i].state, "failed")) {
            failed++;
            if (!first_error)
                first_error = c[i].error ? c[i].error : "failed";
        }
        json_t *one = json_pack("{s:s?,s:s,s:s?}", "outname",
                                !strcmp(c[i].state, "ok") ? c[i].out : NULL,
                                "status", c[i].state, "error", c[i].error);
        if (one && per_meta && c[i].ran < json_array_size(per_meta))
            json_object_set(one, "meta", json_array_get(per_meta, c[i].ran));
        if (results && one)
            json_array_append_new(results, one);
    }
    if (results)
        json_object_set_new(bmp_item_meta(item), CHUNK_RESULTS, results);
    /* A group with a failed input fails, so that --resume runs it again. */
    rc = failed
             ? bmp_item_fail(item, BMP_ESTEP, "%zu of %zu inputs failed: %s",
                             failed, n, first_error)
             : 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].temp)
            unlink(c[i].temp);
        if (c[i].temp_fd >= 0)
            close(c[i].temp_fd);
        if (c[i].claim)
            unlink(c[i].claim);
        free(c[i].claim);
        free(c[i].temp);
        free(c[i].out);
        free(c[i].error);
        item_values_free(&c[i].values);
    }
    if (meta_file)
        unlink(meta_file);
    json_decref(per_meta);
    spawn_result_free(&r);
    placeholders_argv_free(argv);
    free_env(env);
    free(meta_file);
    free(c);
    free(v);
    return rc;
}
