/*
 * run_paths.c -- see run_paths.h.
 *
 * Every path the run reads or writes gets a name key: its directory's
 * device and inode and its base name (the spelled path, "./" and doubled
 * slashes taken out, when even the directory is missing).  A file that
 * exists also gets an inode key, its own device and inode, which hard
 * and symbolic links share.  Keys are sorted, and equal neighbours of
 * different roles are the conflicts.  Sorting keeps the check at n log n
 * for a million items; the stat() calls are the real cost: one per
 * directory (consecutive names in one directory share it), one per file
 * written, and one per input only when a file to be written already
 * exists (a resumed run, overwrite) -- a fresh run's outputs do not
 * exist, so no input can be one of them but by name.
 */
#include "run_paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { ROLE_INPUT, ROLE_OUTPUT, ROLE_OWN } role;

typedef struct path_key {
    dev_t dev;
    ino_t ino;
    char *base; /* NULL: an inode key; else a name key */
    role role;
    size_t item;      /* item index, or the own file's index */
    const char *path; /* as given; borrowed */
} path_key;

typedef struct key_list {
    path_key *keys;
    size_t count, cap;
    /* The last directory looked up, and what it was. */
    char *dir;
    int dir_found;
    struct stat dir_st;
} key_list;

/* What the output directories hold (scan_outputs). */
typedef struct out_scan {
    unsigned char *exists; /* per output: its name is in the listing */
    char **dead;           /* temporaries of the outputs found there */
    size_t ndead;
    /* Items whose temporaries are not this run's to judge (another
     * shard's, maybe being written on another machine); may be NULL. */
    const unsigned char *others;
} out_scan;

/* "./a//b/./c" -> "a/b/c": two spellings of one name compare equal. */
static void normalize(char *path)
{
    char *out = path;
    for (const char *in = path; *in;) {
        if (in[0] == '.' && in[1] == '/' && (in == path || in[-1] == '/')) {
            in += 2;
            continue;
        }
        if (in[0] == '/' && out > path && out[-1] == '/') {
            in++;
            continue;
        }
        *out++ = *in++;
    }
    *out = '\0';
}

/* The directory part of `path` (the current directory for none) looked
 * up, reusing the last lookup when the directory is spelled the same:
 * most names of a run share one or a few. */
static int lookup_dir(key_list *l, const char *path, size_t dirlen)
{
    if (l->dir && strlen(l->dir) == dirlen &&
        memcmp(l->dir, path, dirlen) == 0)
        return 0;
    char *dir = strndup(path, dirlen);
    if (!dir)
        return -ENOMEM;
    free(l->dir);
    l->dir = dir;
    l->dir_found = stat(dirlen ? dir : ".", &l->dir_st) == 0;
    return 0;
}

static path_key *new_key(key_list *l, const char *path, role r, size_t item)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        path_key *k = realloc(l->keys, cap * sizeof *k);
        if (!k)
            return NULL;
        l->keys = k;
        l->cap = cap;
    }
    path_key *k = &l->keys[l->count];
    *k = (path_key){.role = r, .item = item, .path = path};
    return k;
}

/* The name key of `path`: its directory's device and inode and its base
 * name, which one stat() per directory gives.  Two names with equal
 * name keys are one path, whether the file exists or not (a symbolic
 * link to the directory included); a directory that does not exist
 * leaves the spelled path, normalized. */
static int add_name_key(key_list *l, const char *path, role r, size_t item)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    if (slash && dirlen == 0)
        dirlen = 1; /* "/name": the root directory */
    int rc = lookup_dir(l, path, dirlen);
    if (rc < 0)
        return rc;
    path_key *k = new_key(l, path, r, item);
    if (!k)
        return -ENOMEM;
    int has_base = slash ? slash[1] != '\0' : 1;
    if (l->dir_found && has_base) {
        k->dev = l->dir_st.st_dev;
        k->ino = l->dir_st.st_ino;
        k->base = strdup(slash ? slash + 1 : path);
    } else {
        k->base = strdup(path);
        if (k->base)
            normalize(k->base);
    }
    if (!k->base)
        return -ENOMEM;
    l->count++;
    return 0;
}

/* The name key, and, with `by_inode`, the inode key of the file when it
 * exists: hard links and symbolic links to the file share it.
 * @return 1 when the file exists (as far as was looked), 0, -ENOMEM. */
static int add_path(key_list *l, const char *path, role r, size_t item,
                    int by_inode)
{
    if (!path || !*path)
        return 0;
    int rc = add_name_key(l, path, r, item);
    if (rc < 0 || !by_inode)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    path_key *k = new_key(l, path, r, item);
    if (!k)
        return -ENOMEM;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    l->count++;
    return 1;
}

/* Every file name of an item (a group's names, nested). */
static int add_inputs(key_list *l, const json_t *item, size_t index,
                      int by_inode)
{
    if (json_is_string(item)) {
        int rc = add_path(l, json_string_value(item), ROLE_INPUT, index,
                          by_inode);
        return rc < 0 ? rc : 0;
    }
    for (size_t i = 0; i < json_array_size(item); i++) {
        int rc = add_inputs(l, json_array_get(item, i), index, by_inode);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    const path_key *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    if (!x->base || !y->base) {
        if (x->base != y->base)
            return x->base ? 1 : -1;
    } else {
        int c = strcmp(x->base, y->base);
        if (c)
            return c;
    }
    /* Outputs first within one file, then own files, then inputs, each
     * in item order: the messages then name the lowest items. */
    static const int rank[] = {
        [ROLE_OUTPUT] = 0, [ROLE_OWN] = 1, [ROLE_INPUT] = 2};
    if (x->role != y->role)
        return rank[x->role] - rank[y->role];
    return (x->item > y->item) - (x->item < y->item);
}

static int same_file(const path_key *a, const path_key *b)
{
    if (a->dev != b->dev || a->ino != b->ino)
        return 0;
    if (!a->base || !b->base)
        return a->base == b->base;
    return strcmp(a->base, b->base) == 0;
}

/* The refusal for two keys of one file, or 0 when they may share it. */
static int conflict(const path_key *a, const path_key *b,
                    const bmp_own_file *own, bmp_error *err)
{
    if (a->role == ROLE_INPUT && b->role == ROLE_INPUT)
        return 0; /* a file read twice hurts nothing */
    if (a->role == ROLE_OUTPUT && b->role == ROLE_OUTPUT)
        return bmp_error_set(err, BMP_EINVAL, "outname", b->path,
                             "items %zu and %zu would both write %s; give "
                             "them distinct output names (outdir, "
                             "outname_append, outname)",
                             a->item, b->item, b->path);
    if (a->role == ROLE_OUTPUT && b->role == ROLE_INPUT) {
        if (a->item == b->item)
            return 0; /* the item fails alone ("its own input") */
        return bmp_error_set(err, BMP_EINVAL, "outname", a->path,
                             "item %zu's output %s is item %zu's input %s: "
                             "no item may write another's input, whatever "
                             "overwrite says; choose another outdir or "
                             "outname_append",
                             a->item, a->path, b->item, b->path);
    }
    /* One of them is a file of the run's own. */
    const path_key *mine = a->role == ROLE_OWN ? a : b;
    const path_key *other = mine == a ? b : a;
    const char *what = own[mine->item].what;
    if (other->role == ROLE_OWN)
        return bmp_error_set(err, BMP_EINVAL, "paths", mine->path,
                             "the %s %s and the %s %s are the same file", what,
                             mine->path, own[other->item].what, other->path);
    return bmp_error_set(err, BMP_EINVAL, "paths", mine->path,
                         "the %s %s is item %zu's %s %s; it would be "
                         "overwritten: name another file",
                         what, mine->path, other->item,
                         other->role == ROLE_INPUT ? "input" : "output",
                         other->path);
}

/* ---- what the output directories hold -------------------------------- */

/* One directory's outputs: their base names (with the item index) and
 * their temporaries' prefixes ".BASE.bmp-" (BASE cut as atomic_file.c
 * cuts it), each sorted for bsearch. */
typedef struct named {
    const char *name;
    size_t index;
    char *owned; /* the prefix's storage, or NULL */
} named;

typedef struct dir_outputs {
    char *dir; /* with its trailing '/', "" for the current directory */
    named *bases, *prefixes;
    size_t count, cap;
} dir_outputs;

static int compare_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* The six characters a temporary's name ends with. */
static int random_tail(const char *s)
{
    for (int i = 0; i < 6; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return 0;
    }
    return s[6] == '\0';
}

static int add_dead(out_scan *s, const char *dir, const char *name)
{
    char **d = realloc(s->dead, (s->ndead + 1) * sizeof *d);
    if (!d)
        return -ENOMEM;
    s->dead = d;
    size_t dl = strlen(dir), nl = strlen(name);
    char *path = malloc(dl + nl + 1);
    if (!path)
        return -ENOMEM;
    memcpy(path, dir, dl);
    memcpy(path + dl, name, nl + 1);
    s->dead[s->ndead++] = path;
    return 0;
}

/* Reads one directory: which outputs exist, and which temporaries of
 * theirs lie there.  A missing directory holds nothing. */
/* The entries of the sorted `a` named `name`: [*lo, *hi), empty when
 * there are none. */
static void equal_range(const named *a, size_t n, const char *name, size_t *lo,
                        size_t *hi)
{
    named key = {.name = name};
    const named *hit = bsearch(&key, a, n, sizeof *a, compare_named);
    if (!hit) {
        *lo = *hi = 0;
        return;
    }
    *lo = (size_t)(hit - a);
    *hi = *lo + 1;
    while (*lo > 0 && !strcmp(a[*lo - 1].name, name))
        (*lo)--;
    while (*hi < n && !strcmp(a[*hi].name, name))
        (*hi)++;
}

static int scan_dir(dir_outputs *d, out_scan *s)
{
    qsort(d->bases, d->count, sizeof *d->bases, compare_named);
    qsort(d->prefixes, d->count, sizeof *d->prefixes, compare_named);
    DIR *dir = opendir(*d->dir ? d->dir : ".");
    if (!dir)
        return 0;
    static const char tag[] = ".bmp-";
    const size_t taglen = sizeof tag - 1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        const char *name = e->d_name;
        /* Names are unique within a directory, but two items may name one
         * output: every item of that name sees it. */
        size_t lo, hi;
        equal_range(d->bases, d->count, name, &lo, &hi);
        for (size_t k = lo; k < hi; k++)
            s->exists[d->bases[k].index] = 1;
        size_t len = strlen(name);
        if (name[0] != '.' || len < 1 + taglen + 6 + 1 ||
            !random_tail(name + len - 6) ||
            memcmp(name + len - 6 - taglen, tag, taglen))
            continue;
        char *prefix = strndup(name, len - 6);
        if (!prefix) {
            rc = -ENOMEM;
            break;
        }
        /* Prefixes keep 200 bytes of the name: items whose names share
         * them share a prefix, and the temporary may be any of theirs.
         * A shard removes it only when all of them are its own. */
        equal_range(d->prefixes, d->count, prefix, &lo, &hi);
        int own = lo < hi;
        for (size_t k = lo; k < hi && own && s->others; k++)
            own = !s->others[d->prefixes[k].index];
        if (own)
            rc = add_dead(s, d->dir, name);
        free(prefix);
    }
    closedir(dir);
    return rc;
}

static void free_dirs(dir_outputs *dirs, size_t ndirs)
{
    for (size_t k = 0; k < ndirs; k++) {
        for (size_t i = 0; i < dirs[k].count; i++)
            free(dirs[k].prefixes[i].owned);
        free(dirs[k].bases);
        free(dirs[k].prefixes);
        free(dirs[k].dir);
    }
    free(dirs);
}

/* Groups the outputs by directory (most runs write one or a few) and
 * reads each directory once: a failed stat() per output that does not
 * exist cost more than the whole listing. */
static int scan_outputs(char *const *outs, size_t count, out_scan *s)
{
    dir_outputs *dirs = NULL;
    size_t ndirs = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const char *out = outs[i];
        if (!out)
            continue;
        const char *slash = strrchr(out, '/');
        size_t dirlen = slash ? (size_t)(slash - out) + 1 : 0;
        const char *base = out + dirlen;
        if (!*base)
            continue;
        dir_outputs *d = NULL;
        for (size_t k = ndirs; k-- > 0;) {
            if (strlen(dirs[k].dir) == dirlen &&
                memcmp(dirs[k].dir, out, dirlen) == 0) {
                d = &dirs[k];
                break;
            }
        }
        if (!d) {
            dir_outputs *more = realloc(dirs, (ndirs + 1) * sizeof *more);
            if (!more) {
                rc = -ENOMEM;
                break;
            }
            dirs = more;
            d = &dirs[ndirs];
            *d = (dir_outputs){.dir = strndup(out, dirlen)};
            if (!d->dir) {
                rc = -ENOMEM;
                break;
            }
            ndirs++;
        }
        if (d->count == d->cap) {
            size_t cap = d->cap ? d->cap * 2 : 16;
            named *b = realloc(d->bases, cap * sizeof *b);
            if (b)
                d->bases = b;
            named *p = b ? realloc(d->prefixes, cap * sizeof *p) : NULL;
            if (p)
                d->prefixes = p;
            if (!b || !p) {
                rc = -ENOMEM;
                break;
            }
            d->cap = cap;
        }
        /* As bmp__atomic_temp_pattern() makes them, without the XXXXXX. */
        size_t baselen = strlen(base);
        if (baselen > 200)
            baselen = 200;
        char *prefix = malloc(1 + baselen + sizeof ".bmp-");
        if (!prefix) {
            rc = -ENOMEM;
            break;
        }
        prefix[0] = '.';
        memcpy(prefix + 1, base, baselen);
        memcpy(prefix + 1 + baselen, ".bmp-", sizeof ".bmp-");
        d->bases[d->count] = (named){base, i, NULL};
        d->prefixes[d->count] = (named){prefix, i, prefix};
        d->count++;
    }
    for (size_t k = 0; rc == 0 && k < ndirs; k++)
        rc = scan_dir(&dirs[k], s);
    free_dirs(dirs, ndirs);
    return rc;
}

void bmp__dead_temps_free(bmp__dead_temps *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->paths[i]);
    free(t->paths);
    t->paths = NULL;
    t->count = 0;
}

/* Removes `path` when it is a regular file that nobody holds locked: its
 * writer is dead.  The lock is taken before the unlink, so a writer
 * cannot take it in between. */
static int remove_if_dead(const char *path)
{
    int fd = open(path,
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    struct stat st;
    int removed = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        flock(fd, LOCK_EX | LOCK_NB) == 0)
        removed = unlink(path) == 0;
    close(fd);
    return removed;
}

size_t bmp__remove_dead_temps(bmp__dead_temps *t)
{
    size_t removed = 0;
    for (size_t i = 0; i < t->count; i++)
        removed += remove_if_dead(t->paths[i]);
    bmp__dead_temps_free(t);
    return removed;
}

int bmp__check_run_paths(const json_t *items, char *const *outs,
                         const json_t *kw, const bmp_own_file *extra,
                         size_t nextra, const unsigned char *others,
                         size_t *contested, bmp__dead_temps *dead,
                         bmp_error *err)
{
    size_t count = json_array_size(items);
    /* The run's own files: its keywords' first, then the caller's. */
    bmp_own_file *own = calloc(nextra + 3, sizeof *own);
    if (!own)
        return bmp_error_set(err, -ENOMEM, "paths", NULL, "out of memory");
    size_t nown = 0;
    own[nown++] = (bmp_own_file){"journal", bmp_kw_str(kw, "journal", NULL)};
    own[nown++] = (bmp_own_file){"write_pout",
                                 bmp_kw_str(kw, "write_pout", NULL)};
    own[nown++] = (bmp_own_file){"report", bmp_kw_str(kw, "report", NULL)};
    for (size_t i = 0; i < nextra; i++)
        own[nown++] = extra[i];
    int any_own = 0;
    for (size_t i = 0; i < nown; i++)
        any_own |= own[i].path && *own[i].path;
    int rc = 0;
    key_list l = {0};
    out_scan scan = {.others = others};
    if (!outs && !any_own)
        goto out; /* nothing is written that the run knows of */
    if (outs) {
        scan.exists = calloc(count ? count : 1, 1);
        rc = scan.exists ? scan_outputs(outs, count, &scan) : -ENOMEM;
    }
    /* The files written first.  When none of them exists yet (a fresh
     * run), no input can be one of them through a link, and the inputs
     * need no stat() of their own: their names are compared. */
    int any_exists = 0;
    for (size_t i = 0; rc >= 0 && outs && i < count; i++) {
        rc = add_path(&l, outs[i], ROLE_OUTPUT, i, scan.exists[i]);
        any_exists |= rc > 0;
    }
    for (size_t i = 0; rc >= 0 && i < nown; i++) {
        rc = add_path(&l, own[i].path, ROLE_OWN, i, 1);
        any_exists |= rc > 0;
    }
    for (size_t i = 0; rc >= 0 && i < count; i++)
        rc = add_inputs(&l, json_array_get(items, i), i, any_exists);
    if (rc < 0) {
        bmp_error_set(err, rc, "paths", NULL, "out of memory");
        goto out;
    }
    rc = 0;
    if (l.count > 1) /* no keys: no array, and qsort wants one */
        qsort(l.keys, l.count, sizeof *l.keys, compare_keys);
    /* Within a run of keys of one file, the first of each role against
     * every later key is enough: roles are sorted outputs, own, inputs. */
    for (size_t k = 0; rc == 0 && k < l.count;) {
        size_t end = k + 1;
        while (end < l.count && same_file(&l.keys[k], &l.keys[end]))
            end++;
        /* Several outputs of one file: refused, or, when the names may
         * still change during the run, each item marked with another of
         * them (one key per item and file: name and inode keys differ). */
        size_t outputs_end = k;
        while (outputs_end < end && l.keys[outputs_end].role == ROLE_OUTPUT)
            outputs_end++;
        if (outputs_end - k > 1 && !contested)
            rc = conflict(&l.keys[k], &l.keys[k + 1], own, err);
        for (size_t a = k; outputs_end - k > 1 && contested && a < outputs_end;
             a++)
            contested[l.keys[a].item] = l.keys[a == k ? k + 1 : k].item + 1;
        for (size_t a = k; rc == 0 && a < end; a++)
            for (size_t b = a < outputs_end ? outputs_end : a + 1;
                 rc == 0 && b < end; b++) {
                rc = conflict(&l.keys[a], &l.keys[b], own, err);
                /* Many readers of one file: one pass over them is
                 * enough once an input is reached. */
                if (l.keys[a].role == ROLE_INPUT)
                    break;
            }
        k = end;
    }
    /* The run's own files are written by rename too (a pout file, a
     * journal made this run's): their dead temporaries go as well. */
    if (rc == 0 && dead && any_own) {
        char **paths = calloc(nown, sizeof *paths);
        size_t n = 0;
        for (size_t i = 0; paths && i < nown; i++)
            if (own[i].path && *own[i].path)
                paths[n++] = (char *)own[i].path;
        out_scan mine = {.exists = calloc(n ? n : 1, 1)};
        rc = paths && mine.exists ? scan_outputs(paths, n, &mine) : -ENOMEM;
        for (size_t i = 0; rc == 0 && i < mine.ndead; i++) {
            char **more = realloc(scan.dead, (scan.ndead + 1) * sizeof *more);
            if (!more) {
                rc = -ENOMEM;
                break;
            }
            scan.dead = more;
            scan.dead[scan.ndead++] = mine.dead[i];
            mine.dead[i] = NULL;
        }
        for (size_t i = 0; i < mine.ndead; i++)
            free(mine.dead[i]);
        free(mine.dead);
        free(mine.exists);
        free(paths);
        if (rc < 0)
            bmp_error_set(err, rc, "paths", NULL, "out of memory");
    }
    if (rc == 0 && dead) {
        dead->paths = scan.dead;
        dead->count = scan.ndead;
        scan.dead = NULL;
        scan.ndead = 0;
    }
out:
    for (size_t i = 0; i < scan.ndead; i++)
        free(scan.dead[i]);
    free(scan.dead);
    free(scan.exists);
    for (size_t k = 0; k < l.count; k++)
        free(l.keys[k].base);
    free(l.keys);
    free(l.dir);
    free(own);
    return rc;
}

int bmp__run_outputs(const json_t *items, const json_t *kw, char ***outs)
{
    size_t count = json_array_size(items);
    char **o = calloc(count ? count : 1, sizeof *o);
    *outs = o;
    if (!o)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        const json_t *item = json_array_get(items, i);
        int rc = bmp_outname_create(json_is_string(item)
                                        ? json_string_value(item)
                                        : NULL,
                                    kw, NULL, &o[i]);
        if (rc == -ENOMEM) {
            bmp__run_outputs_free(o, i);
            *outs = NULL;
            return rc;
        }
        if (rc != 0)
            o[i] = NULL; /* that item fails on its own */
    }
    return 0;
}

void bmp__run_outputs_free(char **outs, size_t count)
{
    if (!outs)
        return;
    for (size_t i = 0; i < count; i++)
        free(outs[i]);
    free(outs);
}

int bmp_check_paths(const json_t *in_names, const json_t *kw, unsigned flags,
                    const bmp_own_file *own, size_t nown, bmp_error *err)
{
    if (!json_is_array(in_names) || (kw && !json_is_object(kw)) ||
        (nown && !own))
        return bmp_error_set(err, BMP_EINVAL, "paths", NULL,
                             "bmp_check_paths needs an array of items, "
                             "keywords as an object or NULL, and own files "
                             "when nown is not 0");
    char **outs = NULL;
    size_t count = json_array_size(in_names);
    if ((flags & BMP_CHECK_OUTPUTS) &&
        bmp__run_outputs(in_names, kw, &outs) < 0)
        return bmp_error_set(err, -ENOMEM, "paths", NULL, "out of memory");
    int rc = bmp__check_run_paths(in_names, outs, kw, own, nown, NULL, NULL,
                                  NULL, err);
    bmp__run_outputs_free(outs, count);
    return rc;
}

/* ---- the inputs by inode, for checks during the run ------------------- */

static int compare_inodes(const void *a, const void *b)
{
    const bmp__inode *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

static int add_inodes(bmp__inodes *set, const json_t *member, size_t item)
{
    if (json_is_array(member)) {
        for (size_t i = 0; i < json_array_size(member); i++) {
            int rc = add_inodes(set, json_array_get(member, i), item);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    struct stat st;
    if (!json_is_string(member) || stat(json_string_value(member), &st) != 0)
        return 0; /* a missing input fails its own item, and holds nothing */
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        bmp__inode *more = realloc(set->all, cap * sizeof *more);
        if (!more)
            return -ENOMEM;
        set->all = more;
        set->cap = cap;
    }
    set->all[set->count++] = (bmp__inode){st.st_dev, st.st_ino, item};
    return 0;
}

int bmp__inodes_of_inputs(const json_t *items, bmp__inodes *set)
{
    *set = (bmp__inodes){0};
    for (size_t i = 0; i < json_array_size(items); i++) {
        int rc = add_inodes(set, json_array_get(items, i), i);
        if (rc < 0) {
            bmp__inodes_free(set);
            return rc;
        }
    }
    if (set->count > 1)
        qsort(set->all, set->count, sizeof *set->all, compare_inodes);
    return 0;
}

int bmp__inodes_other_item(const bmp__inodes *set, dev_t dev, ino_t ino,
                           size_t item, size_t *other)
{
    /* The first entry of (dev, ino): entries of one file are in item
     * order, and any of them but `item` will do. */
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bmp__inode *m = &set->all[mid];
        if (m->dev < dev || (m->dev == dev && m->ino < ino))
            lo = mid + 1;
        else
            hi = mid;
    }
    for (;
         lo < set->count && set->all[lo].dev == dev && set->all[lo].ino == ino;
         lo++)
        if (set->all[lo].item != item) {
            *other = set->all[lo].item;
            return 1;
        }
    return 0;
}

void bmp__inodes_free(bmp__inodes *set)
{
    free(set->all);
    *set = (bmp__inodes){0};
}

const bmp__inodes *bmp__run_input_inodes(bmp__run *run)
{
    pthread_mutex_lock(&run->inputs_lock);
    if (run->inputs_state == 0)
        run->inputs_state = bmp__inodes_of_inputs(run->items, &run->inputs) ==
                                    0
                                ? 1
                                : -ENOMEM;
    int state = run->inputs_state;
    pthread_mutex_unlock(&run->inputs_lock);
    return state == 1 ? &run->inputs : NULL;
}
