"""The engine: libbigmultipipe's pipeline, driven from Python.

This module is the only place where the Python package touches the C
library (through the cffi extension ``bigmultipipe._bmp_cffi``, built by
``_build_engine.py`` at install time).  The pure-Python layer (core.py)
builds the per-item function from the user's ``BigMultiPipe`` and hands
it here.  doc/python-engine.md says why it is done this way.

Interface
=========

run(in_names, item_fn, *, num_processes=None, mem_budget=None,
    process_size=None, size_estimate=None, timeout=None, retries=0,
    journal=None, resume=False, force_resume=False, progress=False,
    executor='process', shard=None, pipeline_id=None, kw=None)
    -> list of pout entries, one per item of ``in_names``, in input order.

Items
    ``in_names`` is a sequence of items.  An item is a file name (str,
    bytes or os.PathLike) or a *group*: a list or tuple of items (the C
    library's group items, which may nest).  The library only sees the
    names (for the journal's digest, resume and the pout); ``item_fn``
    gets the very object found in ``in_names`` (inherited through the
    fork, not re-made from JSON), so a group reaches it as the list given.

item_fn(in_name) -> (outname, meta)
    Runs in a forked worker process (executor='process', the default) or
    in the caller (executor='serial').  ``outname`` is the file written
    (str, bytes, os.PathLike) or None for "nothing written"; ``meta`` is
    a dict (None counts as {}).  The worker's Python state is a fork of
    the caller's at the time the worker started, so closures, arrays,
    calibration frames and any other Python object reach it as they are:
    nothing but names and meta goes through JSON.  Workers are reused for
    many items: a change that item_fn makes to a global or to an object
    it closes over is seen by later items of the same worker only (core.py
    copies mutable keywords per item).
    Any exception (BaseException, SystemExit included) fails that item
    only: status "failed", error = the Python traceback text.  A worker
    that dies (segfault, os._exit, SIGKILL, the OOM killer) costs its
    item only: status "crashed".  An item running past ``timeout``
    seconds has its worker killed: status "timed_out".

Meta conversion (in the worker, after item_fn returns)
    - keys must be str; another key type fails the item;
    - dict -> object, list/tuple -> array, str, int, float, bool, None;
    - numpy scalars (np.generic) -> .item(); plain numpy arrays
      (type np.ndarray exactly) -> .tolist(); numpy array subclasses
      (astropy Quantity, masked arrays, ...) fail the item, since their
      conversion would drop the unit or the mask silently: store
      ``q.value`` and ``str(q.unit)`` instead;
    - NaN, +inf and -inf (Python or numpy floats, also inside arrays) are
      stored as JSON null: the pout stays standard JSON that every tool
      reads; the value comes back as None;
    - anything else (sets, bytes, objects, datetimes ...) fails the item
      with "meta['key']...: value of type T cannot be stored as JSON".
    A failed conversion fails its item, never the run.

Output
    Python's sys.stdout and sys.stderr are flushed before the run, before
    every fork (by the fork hooks, holding the GIL) and after every item
    in the worker, so nothing printed is lost (workers end with _exit) or
    printed twice (a buffer copied by the fork).  Each worker starts with
    sys.stdout and sys.stderr of its own (new objects on descriptors 1 and
    2, set as the caller's; logging's stream handlers follow), so that a
    thread of the caller printing at the moment of the fork cannot leave
    the worker's stream locked.  A worker's new streams are
    line-buffered: each line is one write, so lines printed by workers at
    once never interleave within a line.  A stream object of the
    program's own (another class, as pytest's capture) is left as it is,
    with its own buffering.

Returned entries (doc/pout-format.md)
    {'in_name': the item as given in in_names,
     'outname': str (os.fsdecode of the bytes) or None,
     'meta': dict,
     'status': 'ok' | 'no_output' | 'failed' | 'crashed' | 'timed_out'
               | 'not_run',
     'error': str or None,
     'stats': {'attempts', 'wall_s', 'cpu_s', 'peak_rss', 'start_rss',
               'estimate', 'over_estimate', 'start', 'worker', 'budget'}}
    start is when the item's last attempt started (seconds since the
    epoch, None unknown), worker the pool's slot that ran it (None
    unknown), budget that pool's memory budget in bytes (None: none).
    status is 'ok' when outname is set, 'no_output' when item_fn returned
    None as outname.

Keywords (doc/keywords.md names the library's keywords)
    num_processes   int or float as the library's num_processes (None: the
                    physical cores; a float below 1 is a share of them; a
                    float >= 1 is floored)
    mem_budget      bytes all workers together may use (library keyword
                    mem_available); None: 0.8 x the memory available
    process_size    bytes one item needs (every item's estimate)
    size_estimate   callable(in_name) -> bytes or None, called in the
                    caller once per item before the run; an exception fails
                    that item without running it
    timeout         seconds per item (None or 0: no limit)
    retries         re-runs of a failed, crashed or timed-out item
    journal, resume, force_resume, pipeline_id, shard ("I/N")
                    as the library's keywords (doc/safety.md)
    progress        False; True: a progress line on stderr (when it is a
                    terminal); or a callable
                    called in the caller with a dict (total, done, failed,
                    running, workers, elapsed_s, mem_in_use, mem_budget)
    executor        'process' (default) or 'serial' (in the caller, for
                    debugging: no isolation, no timeout)
    kw              a dict of further library keywords (JSON values), e.g.
                    {'worker_max_items': 100, 'order': 'largest_first'};
                    the explicit keywords above win

Errors
    A wrong keyword or a run the library refuses (bad journal, no memory
    for one worker ...) raises EngineError (a RuntimeError subclass, with
    .code, the library's negative code, and .pout None); TypeError or
    ValueError for arguments of the wrong Python type or value.
    Ctrl-C (SIGINT) during the run: the library stops the run, the
    running workers are killed and KeyboardInterrupt is raised with the
    attribute .pout, the partial pout (items not finished are 'not_run').
    With a journal, the same call with resume=True finishes the run.
    SIGTERM, SIGHUP, SIGQUIT stop the run the same way, then are raised
    again in the caller (its own handling: by default the process ends);
    should that return, EngineError with .pout.  A journal write failing
    mid-run raises EngineError with .pout set likewise.
    When no worker process can be started at all (process or descriptor
    limits), run() returns the pout with every item not finished 'failed'
    and the reason in its error, as for any other item failure.
    A size_estimate that raises fails that item: 'failed', error
    "size_estimate failed: " and the traceback.

Other functions
    num_can_process(num_items, num_processes=None, mem_available=None,
                    mem_frac=None, process_size=None, error_if_zero=True)
        -> int, the library's worker count (bmp_num_can_process); raises
        EngineError (e.g. no worker fits and error_if_zero).
    physical_cores() -> int;  mem_available() -> int bytes.
    library_version() -> str, the C library's version.
"""

import json
import math
import numbers
import os
import signal
import sys
import traceback

try:
    from ._bmp_cffi import ffi, lib
except ImportError as _e:  # not built: core.py's tests may stand in
    _IMPORT_ERROR = _e
    ffi = lib = None
else:
    _IMPORT_ERROR = None

try:
    import numpy as _np
except ImportError:  # meta conversion then knows no numpy types
    _np = None


class EngineError(RuntimeError):
    """The library refused or could not finish a run.

    ``code`` is the library's negative error code, ``pout`` the partial
    pout when the run had started (else None)."""

    def __init__(self, message, code=0, pout=None):
        super().__init__(message)
        self.code = code
        self.pout = pout


class MetaError(ValueError):
    """A meta value that cannot be stored as JSON (fails its item)."""


# ---- meta to JSON ----------------------------------------------------------

_INT64 = (-(1 << 63), (1 << 63) - 1)


def _where(path):
    return 'meta' + ''.join('[%r]' % p for p in path)


def _to_json(value, path):
    """value as plain JSON types, or MetaError naming where it failed."""
    t = type(value)
    if t is str:
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            raise MetaError(
                '%s: a string that is not valid Unicode (a file name with '
                'bytes that are not UTF-8? store os.fsencode(name).hex() or '
                'a repaired name)' % _where(path)) from None
        return value
    if t is bool or value is None:
        return value
    if t is int:
        if not _INT64[0] <= value <= _INT64[1]:
            raise MetaError('%s: the integer %d is outside the 64-bit range '
                            'JSON readers keep exactly' % (_where(path), value))
        return value
    if t is float:
        return value if math.isfinite(value) else None
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise MetaError('%s: key %r is a %s, not a str' % (
                    _where(path), k, type(k).__name__))
            out[k] = _to_json(v, path + (k,))
        return out
    if t is list or t is tuple:
        return [_to_json(v, path + (i,)) for i, v in enumerate(value)]
    if _np is not None:
        if isinstance(value, _np.generic):
            if isinstance(value, (_np.datetime64, _np.timedelta64, _np.void,
                                  _np.bytes_, _np.complexfloating)):
                raise MetaError('%s: value of type numpy.%s cannot be stored '
                                'as JSON' % (_where(path), t.__name__))
            return _to_json(value.item(), path)
        if t is _np.ndarray:
            if value.dtype.kind not in 'biuf':
                raise MetaError('%s: a numpy array of dtype %s cannot be '
                                'stored as JSON (numbers and booleans only)'
                                % (_where(path), value.dtype))
            return _to_json(value.tolist(), path)
        if isinstance(value, _np.ndarray):
            raise MetaError(
                '%s: a %s.%s (a numpy array subclass) would lose its unit or '
                'mask as JSON: store plain values (e.g. q.value and '
                'str(q.unit))' % (_where(path), t.__module__, t.__name__))
    # Subclasses of the plain types (OrderedDict, an IntEnum, a str
    # subclass, a namedtuple): as their plain type.
    if isinstance(value, dict):
        return _to_json(dict(value), path)
    if isinstance(value, (list, tuple)):
        return _to_json(list(value), path)
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return _to_json(base(value), path)
    raise MetaError('%s: value of type %s.%s cannot be stored as JSON' % (
        _where(path), t.__module__, t.__qualname__))


def meta_json(meta):
    """The text of meta as one JSON object, following the module's meta
    policy; MetaError when a value cannot be stored."""
    if meta is None:
        return '{}'
    if not isinstance(meta, dict):
        raise MetaError('meta must be a dict, not %s' % type(meta).__name__)
    if not meta:
        return '{}'
    # The common meta, a flat dict of plain values that need no change,
    # is encoded as it is: the walk below makes a copy.
    for k, v in meta.items():
        t = type(v)
        if type(k) is not str:
            break
        if t is float:
            if v - v != 0.0:  # NaN or an infinity
                break
        elif t is int:
            if not _INT64[0] <= v <= _INT64[1]:
                break
        elif t is str:
            if not v.isascii():  # may hold a lone surrogate: the walk checks
                break
        elif t is not bool and v is not None:
            break
    else:
        return _ENCODER.encode(meta)
    return _ENCODER.encode(_to_json(meta, ()))


# Made once: json.dumps() with arguments other than the defaults builds an
# encoder per call, which costs more than the rest of an item's overhead.
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False,
                            separators=(',', ':'))


# ---- the run ---------------------------------------------------------------

def _flush_std():
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:  # a closed or broken stream is not the item's
            pass


def _utf8(text):
    try:
        return text.encode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'backslashreplace')


def _name_bytes(name):
    if not isinstance(name, (str, bytes, os.PathLike)):
        raise TypeError('an item of in_names is a file name (str, bytes, '
                        'os.PathLike) or a list of items, not %s'
                        % type(name).__name__)
    b = os.fsencode(name)
    if not b or b'\0' in b:
        raise ValueError('file name %r is empty or holds a NUL byte' % (name,))
    return b


class _Run:
    """What the callbacks of one run need: reached through the pipe's user
    pointer, so runs in several threads or nested in a worker each find
    their own."""

    def __init__(self, items, item_fn, size_estimate, progress):
        self.items = items
        self.item_fn = item_fn
        self.size_estimate = size_estimate
        self.progress = progress
        self.index_of = {}
        self.size_errors = {}
        self.progress_error = None


def _item_json(item, depth=0):
    if isinstance(item, (list, tuple)):
        if not item:
            raise ValueError('a group item is an empty list')
        if depth > 64:
            raise ValueError('group items nest more than 64 deep')
        arr = lib.json_array()
        if arr == ffi.NULL:
            raise MemoryError()
        for member in item:
            try:
                j = _item_json(member, depth + 1)
            except BaseException:
                lib.bmp_py_decref(arr)
                raise
            if lib.json_array_append_new(arr, j) != 0:
                lib.bmp_py_decref(arr)
                raise MemoryError()
        return arr
    b = _name_bytes(item)
    j = lib.json_stringn_nocheck(b, len(b))
    if j == ffi.NULL:
        raise MemoryError()
    return j


def _kw_json(settings, path_keys):
    text = json.dumps(settings, allow_nan=False).encode()
    why = ffi.new('char[200]')
    kw = lib.bmp_py_json_parse(text, len(text), why, 200)
    if kw == ffi.NULL:
        raise ValueError('keywords cannot be passed as JSON: %s'
                         % ffi.string(why).decode())
    for key, value in path_keys.items():
        b = _name_bytes(value)
        if lib.bmp_py_kw_set_bytes(kw, key.encode(), b, len(b)) != 0:
            lib.bmp_py_decref(kw)
            raise MemoryError()
    return kw


def _entries(pout, ctx):
    entries = []
    stats = ffi.new('bmp_item_stats *')
    for i in range(lib.bmp_pout_count(pout)):
        outname = lib.bmp_pout_outname(pout, i)
        error = lib.bmp_pout_error(pout, i)
        text = lib.bmp_py_meta_text(pout, i)
        if text == ffi.NULL:
            meta = {}
        else:
            meta = json.loads(ffi.string(text))
            lib.bmp_py_free(text)
        stats.version = lib.BMP_ITEM_STATS_VERSION
        lib.bmp_pout_stats(pout, i, stats)
        entry = {
            'in_name': ctx.items[i],
            'outname': None if outname == ffi.NULL
            else os.fsdecode(ffi.string(outname)),
            'meta': meta,
            'status': ffi.string(lib.bmp_status_name(
                lib.bmp_pout_status(pout, i))).decode(),
            'error': None if error == ffi.NULL
            else ffi.string(error).decode('utf-8', 'surrogateescape'),
            'stats': {'attempts': stats.attempts, 'wall_s': stats.wall_s,
                      'cpu_s': stats.cpu_s, 'peak_rss': stats.peak_rss,
                      'start_rss': stats.start_rss,
                      'estimate': stats.estimate,
                      'over_estimate': bool(stats.over_estimate),
                      'start': stats.start if stats.start > 0 else None,
                      'worker': stats.worker if stats.worker >= 0 else None,
                      'budget': stats.budget if stats.budget >= 0
                      else None},
        }
        if i in ctx.size_errors and entry['status'] == 'failed':
            entry['error'] = 'size_estimate failed: ' + ctx.size_errors[i]
        entries.append(entry)
    return entries


def _check_settings(num_processes, mem_budget, process_size, timeout,
                    retries, executor, progress, size_estimate):
    def number(name, v, kinds=(numbers.Real,)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, kinds)):
            raise TypeError('%s must be a number, not %s'
                            % (name, type(v).__name__))
    number('num_processes', num_processes)
    number('mem_budget', mem_budget)
    number('process_size', process_size)
    number('timeout', timeout)
    number('retries', retries, (numbers.Integral,))
    if executor not in ('process', 'serial'):
        raise ValueError("executor must be 'process' or 'serial', not %r"
                         % (executor,))
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError('progress must be a bool or a callable')
    if size_estimate is not None and not callable(size_estimate):
        raise TypeError('size_estimate must be a callable')


def _plain(v):
    """A number as JSON takes it (numpy scalars included)."""
    return v.item() if hasattr(v, 'item') else v


def _c_step(in_name):
    """Stands for the C step of the benchmark (bench/python_overhead.py):
    given as item_fn, the items run `(None, {'median': i, 'average': i})`
    in C, i being the item's index."""
    raise AssertionError('the C step runs in C')


_C_STEP = _c_step


def run(in_names, item_fn, *, num_processes=None, mem_budget=None,
        process_size=None, size_estimate=None, timeout=None, retries=0,
        journal=None, resume=False, force_resume=False, progress=False,
        executor='process', shard=None, pipeline_id=None, kw=None):
    """Runs item_fn over in_names in the library's workers; see the
    module's documentation."""
    if lib is None:
        raise ImportError('bigmultipipe engine not built: %s' % _IMPORT_ERROR)
    if not callable(item_fn):
        raise TypeError('item_fn must be callable')
    items = list(in_names)
    _check_settings(num_processes, mem_budget, process_size, timeout,
                    retries, executor, progress, size_estimate)
    settings = dict(kw or {})
    for key, value in (('num_processes', num_processes),
                       ('mem_available', mem_budget),
                       ('process_size', process_size),
                       ('timeout', timeout), ('shard', shard),
                       ('pipeline_id', pipeline_id)):
        if value is not None:
            settings[key] = _plain(value)
    settings['retries'] = int(retries)
    settings['executor'] = executor
    if resume:
        settings['resume'] = True
    if force_resume:
        settings['force_resume'] = True
    path_keys = {}
    if journal is not None:
        path_keys['journal'] = journal
        settings.pop('journal', None)

    ctx = _Run(items, item_fn, size_estimate, progress)
    handle = ffi.new_handle(ctx)
    names = lib.json_array()
    kwj = pipe = ffi.NULL
    pout_p = ffi.new('bmp_pout **')
    err = ffi.new('bmp_error *')
    try:
        for i, item in enumerate(items):
            j = _item_json(item)
            ctx.index_of[int(ffi.cast('uintptr_t', j))] = i
            if lib.json_array_append_new(names, j) != 0:
                raise MemoryError()
        kwj = _kw_json(settings, path_keys)
        if item_fn is _C_STEP:
            pipe = lib.bmp_py_c_step_pipe_new()
        else:
            pipe = lib.bmp_py_pipe_new(size_estimate is not None, handle)
        if pipe == ffi.NULL:
            raise MemoryError()
        # Flushed now, so that no worker holds a copy of the buffers.
        _flush_std()
        rc = lib.bmp_py_run(pipe, names, kwj, handle if progress else ffi.NULL,
                            pout_p, err)
        pout = pout_p[0]
        entries = _entries(pout, ctx) if pout != ffi.NULL else None
    finally:
        if pout_p[0] != ffi.NULL:
            lib.bmp_pout_free(pout_p[0])
        if pipe != ffi.NULL:
            lib.bmp_pipe_free(pipe)
        if kwj != ffi.NULL:
            lib.bmp_py_decref(kwj)
        lib.bmp_py_decref(names)
        if progress is True:
            _progress_end()
    if ctx.progress_error is not None:
        raise ctx.progress_error
    message = ffi.string(err.text).decode('utf-8', 'replace') or \
        ffi.string(lib.bmp_strerror(rc)).decode()
    if rc == 0 or rc == lib.BMP_ENOWORKER:
        return entries
    if rc == lib.BMP_EINTERRUPTED:
        _interrupted(message, entries)
    raise EngineError(message, rc, entries)


def _interrupted(message, entries):
    """The run was stopped by a signal: SIGINT as KeyboardInterrupt, the
    others given to the process again (their previous handling), then
    as EngineError; both with the partial pout."""
    sig = None
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        if 'by %s' % s.name in message:  # "interrupted by SIGTERM: ..."
            sig = s
    if sig is None:
        e = KeyboardInterrupt()
        e.pout = entries
        raise e
    signal.raise_signal(sig)
    raise EngineError(message, lib.BMP_EINTERRUPTED, entries)


# ---- callbacks from the library --------------------------------------------

if lib is not None:
    @ffi.def_extern(error=lib.BMP_ESTEP)
    def bmp_py_item_cb(item, outname_out):
        ctx = ffi.from_handle(lib.bmp_item_user(item))
        try:
            result = ctx.item_fn(ctx.items[lib.bmp_item_index(item)])
            try:
                outname, meta = result
            except (TypeError, ValueError):
                raise TypeError('the item function returned %s, not a pair '
                                '(outname, meta)' % type(result).__name__) \
                    from None
            name = None if outname is None else _name_bytes(outname)
        except BaseException:
            message = traceback.format_exc()
            _flush_std()
            return lib.bmp_py_fail(item, _utf8(message.rstrip('\n')))
        try:
            text = meta_json(meta).encode()
        except MetaError as e:
            _flush_std()
            return lib.bmp_py_fail(item, _utf8(str(e)))
        _flush_std()
        if text != b'{}':
            rc = lib.bmp_py_set_meta(item, text, len(text))
            if rc != 0:
                return rc
        if name is not None:
            outname_out[0] = lib.bmp_py_strndup(name, len(name))
            if outname_out[0] == ffi.NULL:
                return -12  # -ENOMEM
        return 0

    @ffi.def_extern(error=lib.BMP_ESTEP)
    def bmp_py_size_estimate_cb(in_name, kw, bytes_out, user):
        ctx = ffi.from_handle(user)
        index = ctx.index_of.get(int(ffi.cast('uintptr_t', in_name)))
        if index is None:  # not one of ours: no figure
            return 0
        try:
            size = ctx.size_estimate(ctx.items[index])
            if size is not None:
                size = int(size)
                if size < 0:
                    raise ValueError('size_estimate returned %d' % size)
                bytes_out[0] = size
        except BaseException:
            ctx.size_errors[index] = traceback.format_exc().rstrip('\n')
            return lib.BMP_ESTEP
        return 0

    @ffi.def_extern()
    def bmp_py_progress_cb(p, arg):
        ctx = ffi.from_handle(arg)
        report = {'total': p.total, 'done': p.done, 'failed': p.failed,
                  'running': p.running, 'workers': p.workers,
                  'elapsed_s': p.elapsed_s, 'mem_in_use': p.mem_in_use,
                  'mem_budget': p.mem_budget}
        if ctx.progress is True:
            _progress_line(report)
        elif ctx.progress_error is None:
            try:
                ctx.progress(report)
            except Exception as e:  # raised after the run, which goes on
                ctx.progress_error = e

    @ffi.def_extern()
    def bmp_py_after_fork_cb():
        try:
            _fresh_std_streams()
        except Exception:  # the inherited streams stay, as after os.fork()
            pass

    if lib.bmp_py_install_fork_hooks() != 0:
        raise ImportError('bigmultipipe: cannot install the fork hooks')


# ---- the worker's standard streams -----------------------------------------
#
# A buffered stream's lock is an OS lock that a thread takes without the
# GIL.  The fork hooks flush sys.stdout and sys.stderr holding the GIL,
# but the flush itself lets the GIL go during its write, and another
# thread of the caller that prints may then take the stream's lock and
# hold it, waiting for the GIL, at the moment of the fork: the worker
# would be born with that lock held by a thread it does not have, and
# block for ever at its first print.  So each worker starts with new
# stream objects on the same descriptors, with the same settings and an
# empty buffer (what the caller's buffers held is the caller's to
# write).  The inherited objects are kept, never used nor freed: freeing
# them would flush them.  Logging's stream handlers that wrote to them
# are pointed at the new ones.

_inherited_streams = []


def _fresh_stream(old, fd):
    """A new text stream on `fd` set as `old`, or None when `old` is not
    a plain text stream on that descriptor (a program's own object is
    left alone)."""
    import io
    try:
        if type(old) is not io.TextIOWrapper or old.fileno() != fd:
            return None
        # Buffered and line by line, whatever the caller's stream does:
        # each line leaves in one write(), so workers printing at once
        # never cut into each other's lines (up to the buffer's 8 KiB),
        # and nothing waits longer than its line.
        raw = io.FileIO(fd, 'w', closefd=False)
        return io.TextIOWrapper(io.BufferedWriter(raw),
                                encoding=old.encoding, errors=old.errors,
                                line_buffering=True, write_through=False)
    except Exception:  # a closed or odd stream: leave it
        return None


def _fresh_std_streams():
    replaced = {}
    for name, fd in (('stdout', 1), ('stderr', 2)):
        for attr in (name, '__%s__' % name):
            old = getattr(sys, attr, None)
            if old is None:
                continue
            new = replaced.get(id(old)) or _fresh_stream(old, fd)
            if new is not None:
                replaced[id(old)] = new
                _inherited_streams.append(old)
                setattr(sys, attr, new)
    logging = sys.modules.get('logging')
    if replaced and logging is not None:
        for ref in list(getattr(logging, '_handlerList', ())):
            h = ref()
            stream = getattr(h, 'stream', None)
            if isinstance(h, logging.StreamHandler) and \
                    id(stream) in replaced:
                h.stream = replaced[id(stream)]


_progress_drawn = [False]


def _progress_line(r):
    err = sys.stderr
    if err is None or not err.isatty():
        return
    line = '%d/%d done, %d failed, %d running, %d workers, %.1f s' % (
        r['done'], r['total'], r['failed'], r['running'], r['workers'],
        r['elapsed_s'])
    if r['mem_in_use'] >= 0:
        line += ', %.0f MiB' % (r['mem_in_use'] / 1048576)
    err.write('\r\033[K' + line)
    err.flush()
    _progress_drawn[0] = True


def _progress_end():
    if _progress_drawn[0]:
        _progress_drawn[0] = False
        sys.stderr.write('\n')
        sys.stderr.flush()


# ---- resources -------------------------------------------------------------

def num_can_process(num_items, num_processes=None, mem_available=None,
                    mem_frac=None, process_size=None, error_if_zero=True):
    """The library's worker count (SPEC.md); EngineError when no worker
    fits in memory and error_if_zero."""
    settings = {'error_if_zero': bool(error_if_zero)}
    for key, value in (('num_processes', num_processes),
                       ('mem_available', mem_available),
                       ('mem_frac', mem_frac),
                       ('process_size', process_size)):
        if value is not None:
            settings[key] = _plain(value)
    kwj = _kw_json(settings, {})
    err = ffi.new('bmp_error *')
    try:
        n = lib.bmp_py_num_can_process(int(num_items), kwj, err)
    finally:
        lib.bmp_py_decref(kwj)
    if n < 0:
        raise EngineError(ffi.string(err.text).decode('utf-8', 'replace'), n)
    return n


def physical_cores():
    return lib.bmp_physical_cores()


def mem_available():
    n = lib.bmp_mem_available()
    if n < 0:
        raise OSError(-n, os.strerror(-n))
    return n


def library_version():
    return ffi.string(lib.bmp_version_string()).decode()
