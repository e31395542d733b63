"""Builds ``bigmultipipe._bmp_cffi``: the C library and its Python glue.

cffi in API mode (``ffibuilder.set_source``): the glue is C compiled
against the library's public header, so a change of a struct or a
signature is a compile error, not a crash.  The library's own sources
(``src/<layer>/*.c`` of the repository this package sits in) are compiled
into the same extension: the package needs no installed libbigmultipipe,
no CMake at install time, no run-time search path, and always runs the
library of its own checkout.  doc/python-engine.md says why.

The repository's root is found from this file (``python/bigmultipipe/``
is two levels below it), or given by the environment variable
``BMP_SOURCE_DIR``; pip builds a local directory in place, so the path
holds when installing with ``pip install ./python``.
"""
import os
import shlex
import subprocess
import sys

from cffi import FFI

# The layers, bottom up (src/CMakeLists.txt); the MPI executor is a
# library apart and not part of the engine.
LAYERS = ("base", "platform", "formats", "core", "pout", "sched", "exec",
          "pipeline")
PKG_CONFIG_PACKAGES = ("jansson", "cfitsio", "hwloc")


def source_root():
    """The repository root holding include/ and src/, or SystemExit."""
    given = os.environ.get("BMP_SOURCE_DIR")
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = given or os.path.dirname(os.path.dirname(here))
    marker = os.path.join(candidate, "include", "bigmultipipe.h")
    if not os.path.isfile(marker) or not os.path.isdir(
            os.path.join(candidate, "src", "pipeline")):
        where = ("BMP_SOURCE_DIR=%s" % given) if given else candidate
        raise SystemExit(
            "bigmultipipe: the C library's sources are not at %s (no "
            "include/bigmultipipe.h and src/). Install from a clone of the "
            "repository with `pip install --no-build-isolation ./python`, "
            "or set BMP_SOURCE_DIR to the repository's root." % where)
    return os.path.abspath(candidate)


def pkg_config(*args):
    try:
        out = subprocess.run(("pkg-config",) + args + PKG_CONFIG_PACKAGES,
                             check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(
            "bigmultipipe: pkg-config cannot find %s (%s); run "
            "`bash scripts/setup.sh` first" % (", ".join(PKG_CONFIG_PACKAGES),
                                                e))
    return shlex.split(out.stdout)


CDEF = r"""
typedef struct json_t json_t;
typedef long long json_int_t;
json_t *json_array(void);
int json_array_append_new(json_t *array, json_t *value);
json_t *json_stringn_nocheck(const char *value, size_t len);
size_t json_array_size(const json_t *array);
json_t *json_array_get(const json_t *array, size_t index);

typedef struct bmp_error {
    int code;
    char stage[24];
    char source[512];
    char text[512];
} bmp_error;
const char *bmp_strerror(int code);
const char *bmp_version_string(void);

typedef struct bmp_item bmp_item;
typedef struct bmp_pipe bmp_pipe;
typedef struct bmp_pout bmp_pout;
size_t bmp_item_index(const bmp_item *item);
void *bmp_item_user(const bmp_item *item);

typedef struct bmp_progress {
    size_t total;
    size_t done;
    size_t failed;
    size_t running;
    int workers;
    double elapsed_s;
    int64_t mem_in_use;
    int64_t mem_budget;
} bmp_progress;

typedef struct bmp_item_stats {
    unsigned version;
    int attempts;
    double wall_s;
    double cpu_s;
    int64_t peak_rss;
    int64_t start_rss;
    int64_t estimate;
    int over_estimate;
    int rank;
    const char *host;
    double start;
    int worker;
    int64_t budget;
    ...;
} bmp_item_stats;
#define BMP_ITEM_STATS_VERSION ...

void bmp_pipe_free(bmp_pipe *pipe);
void bmp_pout_free(bmp_pout *pout);
size_t bmp_pout_count(const bmp_pout *pout);
const char *bmp_pout_outname(const bmp_pout *pout, size_t i);
const char *bmp_pout_error(const bmp_pout *pout, size_t i);
int bmp_pout_status(const bmp_pout *pout, size_t i);
const char *bmp_status_name(int status);
int bmp_pout_stats(const bmp_pout *pout, size_t i, bmp_item_stats *out);
int bmp_physical_cores(void);
int64_t bmp_mem_available(void);

#define BMP_EINVAL ...
#define BMP_ESTEP ...
#define BMP_EINTERRUPTED ...
#define BMP_ENOWORKER ...

/* The glue (set_source below). */
bmp_pipe *bmp_py_pipe_new(int with_size_estimate, void *user);
bmp_pipe *bmp_py_c_step_pipe_new(void);
json_t *bmp_py_json_parse(const char *text, size_t len, char *why,
                          size_t why_size);
int bmp_py_kw_set_bytes(json_t *kw, const char *key, const char *value,
                        size_t len);
void bmp_py_decref(json_t *json);
int bmp_py_set_meta(bmp_item *item, const char *text, size_t len);
int bmp_py_fail(bmp_item *item, const char *message);
char *bmp_py_strndup(const char *text, size_t len);
char *bmp_py_meta_text(const bmp_pout *pout, size_t i);
void bmp_py_free(void *p);
int bmp_py_run(bmp_pipe *pipe, const json_t *in_names, const json_t *kw,
               void *progress_arg, bmp_pout **pout, bmp_error *err);
int bmp_py_num_can_process(size_t num_items, const json_t *kw,
                           bmp_error *err);
int bmp_py_install_fork_hooks(void);

extern "Python" int bmp_py_item_cb(bmp_item *item, char **outname);
extern "Python" int bmp_py_size_estimate_cb(const json_t *in_name,
                                            const json_t *kw,
                                            int64_t *bytes, void *user);
extern "Python" void bmp_py_progress_cb(const bmp_progress *progress,
                                        void *arg);
extern "Python" void bmp_py_after_fork_cb(void);
"""

GLUE = r"""
#include "bigmultipipe.h"
#include <stdlib.h>
#include <string.h>

static int bmp_py_item_cb(bmp_item *item, char **outname);
static int bmp_py_size_estimate_cb(const json_t *in_name, const json_t *kw,
                                   int64_t *bytes, void *user);
static void bmp_py_progress_cb(const bmp_progress *progress, void *arg);
static void bmp_py_after_fork_cb(void);

/* Every item runs the Python callback as its whole per-item step
 * (Python's file_process): reading and writing are the Python code's. */
static bmp_pipe *bmp_py_pipe_new(int with_size_estimate, void *user)
{
    bmp_ops ops = {.version = BMP_OPS_VERSION,
                   .file_process = bmp_py_item_cb};
    if (with_size_estimate)
        ops.size_estimate = bmp_py_size_estimate_cb;
    return bmp_pipe_new(&ops, user);
}

/* The benchmark's reference (bench/python_overhead.py): the same per-item
 * work as a Python step that returns (None, {"median": i, "average": i}),
 * done in C, so that the difference is the cost of calling Python. */
static int bmp_py_c_step(bmp_item *item, char **outname)
{
    double i = (double)bmp_item_index(item);
    json_t *meta = bmp_item_meta(item);
    *outname = NULL;
    if (json_object_set_new(meta, "median", json_real(i)) ||
        json_object_set_new(meta, "average", json_real(i)))
        return -ENOMEM;
    return 0;
}

static bmp_pipe *bmp_py_c_step_pipe_new(void)
{
    bmp_ops ops = {.version = BMP_OPS_VERSION, .file_process = bmp_py_c_step};
    return bmp_pipe_new(&ops, NULL);
}

static json_t *bmp_py_json_parse(const char *text, size_t len, char *why,
                                 size_t why_size)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &e);
    if (!j && why_size)
        snprintf(why, why_size, "%s", e.text);
    return j;
}

static int bmp_py_kw_set_bytes(json_t *kw, const char *key, const char *value,
                               size_t len)
{
    /* nocheck: a path is bytes, not necessarily UTF-8. */
    json_t *s = json_stringn_nocheck(value, len);
    return s ? json_object_set_new(kw, key, s) : -1;
}

static void bmp_py_decref(json_t *json)
{
    json_decref(json);
}

static int bmp_py_set_meta(bmp_item *item, const char *text, size_t len)
{
    json_error_t e;
    json_t *m = json_loadb(text, len, 0, &e);
    if (!m)
        return bmp_item_fail(item, BMP_ESTEP,
                             "meta cannot be stored as JSON: %s", e.text);
    int rc = json_object_update(bmp_item_meta(item), m);
    json_decref(m);
    return rc ? bmp_item_fail(item, -ENOMEM, "out of memory for the meta")
              : 0;
}

static int bmp_py_fail(bmp_item *item, const char *message)
{
    return bmp_item_fail(item, BMP_ESTEP, "%s", message);
}

static char *bmp_py_strndup(const char *text, size_t len)
{
    return strndup(text, len);
}

static char *bmp_py_meta_text(const bmp_pout *pout, size_t i)
{
    json_t *meta = bmp_pout_meta(pout, i);
    if (!meta || json_object_size(meta) == 0)
        return NULL;
    return json_dumps(meta, JSON_COMPACT | JSON_ENSURE_ASCII);
}

static void bmp_py_free(void *p)
{
    free(p);
}

static int bmp_py_run(bmp_pipe *pipe, const json_t *in_names, const json_t *kw,
                      void *progress_arg, bmp_pout **pout, bmp_error *err)
{
    if (progress_arg)
        bmp_pipe_set_progress(pipe, bmp_py_progress_cb, progress_arg);
    return bmp_pipeline(pipe, in_names, kw, NULL, NULL, pout, err);
}

static int bmp_py_num_can_process(size_t num_items, const json_t *kw,
                                  bmp_error *err)
{
    return bmp_num_can_process(num_items, kw, err);
}

/* ---- forking as os.fork() does --------------------------------------
 * The library forks its workers with the GIL released (cffi releases it
 * around every call).  Another Python thread may then hold the GIL or
 * the import lock, or be in the middle of an allocation under them: the
 * worker would inherit them held and wait for ever.  The hooks take the
 * GIL and the interpreter's locks first (PyOS_BeforeFork), and reset
 * them in the worker (PyOS_AfterFork_Child, which also runs the
 * os.register_at_fork handlers) as os.fork() does.  Only the thread that
 * holds the GIL touches bmp_py_fork_gil. */
static PyGILState_STATE bmp_py_fork_gil;

/* Python's buffered stdout and stderr, flushed before the fork: else the
 * worker's copy of the buffer would be printed a second time. */
static void bmp_py_flush_std(void)
{
    static const char *const names[] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(names[i]); /* borrowed */
        if (f && f != Py_None) {
            PyObject *r = PyObject_CallMethod(f, "flush", NULL);
            if (r)
                Py_DECREF(r);
            else
                PyErr_Clear();
        }
    }
}

static int bmp_py_before_fork(void *ctx)
{
    (void)ctx;
    bmp_py_fork_gil = PyGILState_Ensure();
    bmp_py_flush_std();
    PyOS_BeforeFork();
    return 0;
}

static void bmp_py_after_fork_parent(void *ctx)
{
    (void)ctx;
    PyOS_AfterFork_Parent();
    PyGILState_Release(bmp_py_fork_gil);
}

static void bmp_py_after_fork_child(void *ctx)
{
    (void)ctx;
    PyOS_AfterFork_Child();
    /* The worker's own sys.stdout and sys.stderr (_engine.py says why). */
    bmp_py_after_fork_cb();
    PyGILState_Release(bmp_py_fork_gil);
}

static int bmp_py_install_fork_hooks(void)
{
    return bmp_set_fork_hooks(bmp_py_before_fork, bmp_py_after_fork_parent,
                              bmp_py_after_fork_child, NULL);
}
"""


def make_builder():
    root = source_root()
    sources = []
    for layer in LAYERS:
        folder = os.path.join(root, "src", layer)
        sources += sorted(os.path.join(folder, f) for f in os.listdir(folder)
                          if f.endswith(".c"))
    include_dirs = [os.path.join(root, "include")] + [
        os.path.join(root, "src", layer) for layer in LAYERS]
    # Every header the sources include: a changed header (a struct that
    # grew) rebuilds the extension, where setuptools would otherwise
    # compare the extension with the .c files only.
    headers = []
    for folder in include_dirs:
        for base, _, files in os.walk(folder):
            headers += sorted(os.path.join(base, f) for f in files
                              if f.endswith(".h"))
    cflags = [f for f in pkg_config("--cflags") if not f.startswith("-I")]
    include_dirs += [f[2:] for f in pkg_config("--cflags")
                     if f.startswith("-I")]
    libs = pkg_config("--libs")
    ffibuilder = FFI()
    ffibuilder.cdef(CDEF)
    ffibuilder.set_source(
        "bigmultipipe._bmp_cffi", GLUE,
        sources=sources,
        depends=headers,
        include_dirs=include_dirs,
        # The stable ABI of Python 3.7, the first with PyOS_BeforeFork and
        # its pair (cffi would otherwise ask for the oldest, without them).
        define_macros=[("_GNU_SOURCE", None), ("BMP_BUILDING_LIBRARY", None),
                       ("Py_LIMITED_API", "0x03070000")],
        # The library's symbols stay inside the extension: another copy of
        # libbigmultipipe in the process is not disturbed.
        extra_compile_args=["-std=c11", "-fvisibility=hidden", "-O2",
                            "-Werror=implicit-function-declaration"] + cflags,
        libraries=[f[2:] for f in libs if f.startswith("-l")] + ["m"],
        library_dirs=[f[2:] for f in libs if f.startswith("-L")],
    )
    return ffibuilder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
    sys.exit(0)
