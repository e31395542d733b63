/*
 * journal.c -- see journal.h.
 *
 * The first line of a journal is its run record: what decides the run's
 * outputs (the inputs, as a count and a digest; outdir, outname_append,
 * outname; the caller's pipeline_id).  Resuming from a journal whose
 * record differs would take another run's results for this one's -- a
 * changed outdir once made every item "done" with its output in the old
 * place -- so it is refused, naming what changed, unless force_resume.
 */
#include "journal.h"

#include "atomic_file.h"
#include "pout_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the run record ---------------------------------------------------- */

#define RECORD_KEY "bmp_journal"
#define RECORD_VERSION 1

/* FNV-1a over the item tree: names as bytes, groups bracketed, so that
 * ["a", "b"] and ["ab"] differ. */
static uint64_t digest_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t digest_item(uint64_t h, const json_t *item)
{
    if (json_is_string(item)) {
        h = digest_bytes(h, "s", 1);
        return digest_bytes(h, json_string_value(item),
                            json_string_length(item) + 1);
    }
    h = digest_bytes(h, "[", 1);
    for (size_t i = 0; i < json_array_size(item); i++)
        h = digest_item(h, json_array_get(item, i));
    return digest_bytes(h, "]", 1);
}

/* The record's settings after the items, in the order they are written
 * and compared. */
static const char *const settings[] = {"outdir", "outname_append", "outname",
                                       "pipeline_id", "shard"};
#define N_SETTINGS (sizeof settings / sizeof *settings)

/* A string literal onto the text being built (pout_internal.h). */
#define TEXT(buf, len, cap, lit) \
    bmp__text_append(buf, len, cap, lit, sizeof lit - 1)

/* A keyword as a JSON value in the record: names keep their bytes. */
static int append_setting(char **buf, size_t *len, size_t *cap,
                          const char *key, const char *value)
{
    if (TEXT(buf, len, cap, ", \"") ||
        bmp__text_append(buf, len, cap, key, strlen(key)) ||
        TEXT(buf, len, cap, "\": "))
        return -ENOMEM;
    if (!value)
        return TEXT(buf, len, cap, "null");
    return bmp__json_name_append(buf, len, cap, value);
}

/* The run's record as one line, with its newline; malloc'd or NULL. */
static char *record_line(const bmp__run *run)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < run->count; i++)
        h = digest_item(h, json_array_get(run->items, i));
    char head[128];
    snprintf(head, sizeof head,
             "{\"" RECORD_KEY "\": %d, \"items\": %zu, \"items_digest\": "
             "\"%016" PRIx64 "\"",
             RECORD_VERSION, run->count, h);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    /* The settings as they take effect (bmp_outname_create): an unset
     * or empty outdir is the current directory, an unset append "_bmp",
     * an empty outname none; so that spelling a default out is not
     * "another run". */
    char shard[64] = "";
    if (run->shard_count)
        snprintf(shard, sizeof shard, "%zu/%zu", run->shard_index,
                 run->shard_count);
    const char *outdir = bmp_kw_str(run->kw, "outdir", NULL);
    const char *outname = bmp_kw_str(run->kw, "outname", NULL);
    const char *const values[] = {
        outdir && *outdir ? outdir : ".",
        bmp_kw_str(run->kw, "outname_append", "_bmp"),
        outname && *outname ? outname : NULL,
        bmp_kw_str(run->kw, "pipeline_id", NULL),
        shard[0] ? shard : NULL,
    };
    _Static_assert(sizeof values / sizeof *values == N_SETTINGS,
                   "one value for each setting of the record");
    int rc = bmp__text_append(&buf, &len, &cap, head, strlen(head));
    for (size_t i = 0; rc == 0 && i < N_SETTINGS; i++)
        rc = append_setting(&buf, &len, &cap, settings[i], values[i]);
    if (rc == 0)
        rc = TEXT(&buf, &len, &cap, "}\n");
    if (rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* What differs between the journal's record and this run's, as words for
 * the message ("outdir was \"a\", now \"b\"").  @return 0 the same, 1
 * different (why filled), or -ENOMEM. */
static int compare_records(const char *theirs, const char *ours, char *why,
                           size_t size)
{
    json_t *a = json_loads(theirs, 0, NULL), *b = json_loads(ours, 0, NULL);
    int rc = 0;
    why[0] = '\0';
    if (!b) {
        rc = -ENOMEM;
        goto out;
    }
    if (!json_is_object(a) ||
        json_integer_value(json_object_get(a, RECORD_KEY)) != RECORD_VERSION) {
        snprintf(why, size, "its run record is not one this version reads");
        rc = 1;
        goto out;
    }
    size_t at = 0;
    json_int_t na = json_integer_value(json_object_get(a, "items"));
    json_int_t nb = json_integer_value(json_object_get(b, "items"));
    if (na != nb || !json_equal(json_object_get(a, "items_digest"),
                                json_object_get(b, "items_digest"))) {
        at += (size_t)snprintf(why + at, size - at,
                               "the inputs differ (%" JSON_INTEGER_FORMAT
                               " items then, %" JSON_INTEGER_FORMAT " now)",
                               na, nb);
        rc = 1;
    }
    /* A journal without "shard" (an unsharded run, or one written
     * before shards existed) reads as unset, as the other keys do. */
    for (size_t i = 0; i < N_SETTINGS && at < size; i++) {
        json_t *x = json_object_get(a, settings[i]),
               *y = json_object_get(b, settings[i]);
        if (x && json_is_null(x))
            x = NULL; /* unset */
        if (y && json_is_null(y))
            y = NULL;
        if (x == y || (x && y && json_equal(x, y)))
            continue;
        char *tx = x ? json_dumps(x, JSON_ENCODE_ANY) : NULL;
        char *ty = y ? json_dumps(y, JSON_ENCODE_ANY) : NULL;
        at += (size_t)snprintf(why + at, size - at, "%s%s was %s, now %s",
                               rc ? "; " : "", settings[i], tx ? tx : "unset",
                               ty ? ty : "unset");
        free(tx);
        free(ty);
        rc = 1;
    }
out:
    json_decref(a);
    json_decref(b);
    return rc;
}

/* ---- loading ----------------------------------------------------------- */

/* Takes the journal's finished items that still hold: same item at the
 * same index, finished ok or with no output, output file still there.
 * Later lines win, so a retried item's last state counts.  The first
 * line must be this run's record, or force_resume set.
 * @return 1 when the journal must be rewritten for this run (forced),
 * 0, or a negative error (err filled). */
static int load(bmp__run *run, const char *path, const char *record,
                bmp_error *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0; /* nothing to resume: a fresh run */
        int rc = -errno;
        return bmp_error_set(err, rc, "resume", path,
                             "cannot read journal %s: %s", path,
                             bmp_strerror(rc));
    }
    int force = bmp_kw_bool(run->kw, "force_resume", 0);
    int rewrite = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n <= 0 || line[n - 1] != '\n') {
        /* Empty, or killed while its record was written: nothing was
         * recorded after it. */
        free(line);
        fclose(f);
        return 0;
    }
    char why[1024];
    int differs;
    if (strncmp(line, "{\"" RECORD_KEY "\"", sizeof RECORD_KEY + 1) != 0) {
        snprintf(why, sizeof why,
                 "it has no run record (written by an older version, or not "
                 "a journal)");
        differs = 1;
        rewind(f); /* its first line may be an entry */
    } else {
        differs = compare_records(line, record, why, sizeof why);
    }
    int rc = 0;
    if (differs < 0) {
        rc = bmp_error_set(err, -ENOMEM, "resume", path, "out of memory");
    } else if (differs && !force) {
        rc = bmp_error_set(err, BMP_EINVAL, "resume", path,
                           "journal %s belongs to another run: %s; name "
                           "another journal, or set force_resume "
                           "(--force-resume) to take its finished items "
                           "anyway",
                           path, why);
    }
    rewrite = differs > 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        unsigned long index;
        /* Another shard's item (a journal taken with force_resume)
         * is not this run's to report finished. */
        if (sscanf(line, "{\"index\": %lu,", &index) != 1 ||
            index >= run->count || !bmp__run_in_shard(run, index))
            continue;
        bmp__pout_entry e;
        const char *parse_why;
        if (bmp__pout_entry_parse(line, &e, &parse_why) != 0) {
            /* A partial last line from a killed run, or garbage. */
            json_decref(e.in_name);
            bmp__result_clear(&e.r);
            continue;
        }
        int usable = json_equal(e.in_name,
                                json_array_get(run->items, index)) &&
                     (e.r.status == BMP_ITEM_OK ||
                      e.r.status == BMP_ITEM_NO_OUTPUT) &&
                     (!e.r.outname || access(e.r.outname, F_OK) == 0);
        json_decref(e.in_name);
        if (!usable) {
            bmp__result_clear(&e.r);
            continue;
        }
        bmp__result_clear(&run->results[index]);
        run->results[index] = e.r;
        run->skip[index] = 1;
    }
    free(line);
    fclose(f);
    return rc < 0 ? rc : rewrite;
}

/* A forced resume makes the journal this run's: its record, then the
 * entries taken from the old one, written beside it and renamed over it,
 * so that a kill leaves the old journal or the new one, whole. */
static int rewrite_journal(bmp__run *run, const char *path, const char *record,
                           bmp_error *err)
{
    bmp__atomic_file f;
    int rc = bmp__atomic_open(&f, path);
    if (rc == 0)
        rc = bmp__atomic_write(&f, record, strlen(record));
    for (size_t i = 0; rc == 0 && i < run->count; i++) {
        if (!run->skip[i] || !bmp__run_in_shard(run, i))
            continue; /* not finished, or another shard's */
        char *line = bmp__entry_line(json_array_get(run->items, i),
                                     &run->results[i], (long)i);
        if (!line) {
            rc = -ENOMEM;
            break;
        }
        size_t n = strlen(line);
        line[n] = '\n'; /* the terminator becomes the newline */
        rc = bmp__atomic_write(&f, line, n + 1);
        free(line);
    }
    if (rc == 0)
        rc = bmp__atomic_commit(&f, 0);
    else
        bmp__atomic_abort(&f);
    if (rc < 0)
        return bmp_error_set(err, rc, "journal", path,
                             "cannot rewrite journal %s for this run: %s",
                             path, bmp_strerror(rc));
    return 0;
}

/* Writes all of `bytes` at the journal's end.  On failure the part
 * written is cut off again, so that the next line does not glue onto
 * it.  @return 0 or -errno (-ENOSPC on a full disk). */
static int append_all(int fd, const char *bytes, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, bytes + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* A short write is retried to learn why (ENOSPC, EFBIG,
             * EDQUOT); a write of 0 bytes says nothing, so EIO. */
            int rc = w < 0 ? -errno : -EIO;
            if (done > 0) {
                off_t end = lseek(fd, 0, SEEK_END);
                if (end >= (off_t)done && ftruncate(fd, end - (off_t)done)) {
                }
            }
            return rc;
        }
        done += (size_t)w;
    }
    return 0;
}

/* A run that is not resumed starts its journal afresh, truncating the
 * file: refused when the file holds something that is not a journal (a
 * mistyped name must not empty a user's file).  @return 0, or BMP_EINVAL
 * / -errno with err filled. */
static int check_replaceable(const char *path, bmp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return 0; /* absent, or open() below says why */
    char head[sizeof "{\"" RECORD_KEY "\""];
    ssize_t n = read(fd, head, sizeof head - 1);
    struct stat st;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!regular || n <= 0)
        return 0; /* a device's contents are not the journal's to judge */
    head[n] = '\0';
    if (strcmp(head, "{\"" RECORD_KEY "\"") == 0)
        return 0;
    return bmp_error_set(err, BMP_EINVAL, "journal", path,
                         "%s exists and is not a journal (its first line is "
                         "not a run record); a new run would empty it: name "
                         "another file, or remove it first",
                         path);
}

int bmp__journal_open(bmp__run *run, bmp_error *err)
{
    run->journal_fd = -1;
    const char *path = bmp_kw_str(run->kw, "journal", NULL);
    if (!path || !*path) {
        if (bmp_kw_bool(run->kw, "resume", 0))
            return bmp_error_set(err, BMP_EINVAL, "resume", NULL,
                                 "resume needs the journal keyword: the "
                                 "file that records finished items");
        return 0;
    }
    char *record = record_line(run);
    if (!record)
        return bmp_error_set(err, -ENOMEM, "journal", path, "out of memory");
    int resume = bmp_kw_bool(run->kw, "resume", 0);
    int rc = 0;
    if (resume) {
        /* A sharded run has marked the other shards' items already. */
        if (!run->skip)
            run->skip = calloc(run->count ? run->count : 1, 1);
        if (!run->skip) {
            rc = bmp_error_set(err, -ENOMEM, "resume", path, "out of memory");
            goto out;
        }
        rc = load(run, path, record, err);
        if (rc == 1)
            rc = rewrite_journal(run, path, record, err);
        if (rc < 0)
            goto out;
    }
    int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
    if (!resume) {
        rc = check_replaceable(path, err);
        if (rc < 0)
            goto out;
        flags |= O_TRUNC;
    }
    run->journal_fd = open(path, flags, 0666);
    if (run->journal_fd < 0) {
        rc = -errno;
        bmp_error_set(err, rc, "journal", path, "cannot open journal %s: %s",
                      path, bmp_strerror(rc));
        goto out;
    }
    /* A killed run may have left a partial last line: cut it, or the
     * next record would be glued to it and lost too.  A journal cut
     * inside its run record is empty for this purpose. */
    off_t end = lseek(run->journal_fd, 0, SEEK_END);
    char last;
    if (end > 0 && pread(run->journal_fd, &last, 1, end - 1) == 1 &&
        last != '\n') {
        off_t keep = end;
        char c;
        while (keep > 0 && pread(run->journal_fd, &c, 1, keep - 1) == 1 &&
               c != '\n')
            keep--;
        if (ftruncate(run->journal_fd, keep) != 0) {
            rc = -errno;
            bmp_error_set(err, rc, "journal", path,
                          "cannot repair journal %s: %s", path,
                          bmp_strerror(rc));
            goto out;
        }
        end = keep;
    }
    if (end == 0) {
        rc = append_all(run->journal_fd, record, strlen(record));
        if (rc < 0) {
            bmp_error_set(err, rc, "journal", path,
                          "cannot write journal %s: %s", path,
                          bmp_strerror(rc));
            goto out;
        }
    }
out:
    free(record);
    if (rc < 0 && run->journal_fd >= 0) {
        close(run->journal_fd);
        run->journal_fd = -1;
    }
    return rc < 0 ? rc : 0;
}

void bmp__journal_record(bmp__run *run, size_t index)
{
    if (run->journal_fd < 0)
        return;
    char *line = bmp__entry_line(json_array_get(run->items, index),
                                 &run->results[index], (long)index);
    if (!line) {
        if (!run->journal_error)
            run->journal_error = -ENOMEM;
        return;
    }
    size_t n = strlen(line);
    line[n] = '\n'; /* the terminator becomes the newline */
    /* One write with O_APPEND: lines from a killed run are whole or
     * last-and-partial, never interleaved. */
    int rc = append_all(run->journal_fd, line, n + 1);
    if (rc < 0 && !run->journal_error)
        run->journal_error = rc;
    if (bmp_kw_bool(run->kw, "fsync", 0))
        fdatasync(run->journal_fd);
    free(line);
}

void bmp__journal_close(bmp__run *run)
{
    if (run->journal_fd >= 0)
        close(run->journal_fd);
    run->journal_fd = -1;
}
