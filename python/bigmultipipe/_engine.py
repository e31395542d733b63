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
    printed twice (a buffer copied by the fork).

Returned entries (doc/pout-format.md)
    {'in_name': the item as given in in_names,
     'outname': str (os.fsdecode of the bytes) or None,
     'meta': dict,
     'status': 'ok' | 'no_output' | 'failed' | 'crashed' | 'timed_out'
               | 'not_run',
     'error': str or None,
     'stats': {'attempts', 'wall_s', 'cpu_s', 'peak_rss', 'start_rss',
               'estimate', 'over_estimate'}}
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
    progress        False; True: a progress line on stderr; or a callable
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
    Ctrl-C (SIGINT) or SIGTERM during the run: the library stops the
    run, the running workers are killed and KeyboardInterrupt is raised
    with the attribute .pout, the partial pout (items not finished are
    'not_run').  With a journal, the same call with resume=True finishes
    the run.  A journal write failing mid-run raises EngineError with
    .pout set likewise.

Other functions
    num_can_process(num_items, num_processes=None, mem_available=None,
                    mem_frac=None, process_size=None, error_if_zero=True)
        -> int, the library's worker count (bmp_num_can_process); raises
        EngineError (e.g. no worker fits and error_if_zero).
    physical_cores() -> int;  mem_available() -> int bytes.
    library_version() -> str, the C library's version.
"""
