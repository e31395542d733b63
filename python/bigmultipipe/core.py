"""The BigMultiPipe class and the module's functions, as in bigmultipipe 0.2.0.

The public API is that of the Python package bigmultipipe 0.2.0; the
items run on libbigmultipipe (through ``_engine``) instead of
``multiprocessing.Pool``.  Each item runs in a forked worker process, so
one item that raises, crashes or hangs costs that item only; the caller
gets names and JSON metadata back, never the data.

Where 0.2.0 misbehaves this module does the sane thing; every deliberate
difference is listed in doc/python.md ("Differences from 0.2.0").
"""

import multiprocessing
import multiprocessing.pool
import os
import pickle
import warnings

from . import pout_file
from .item_keywords import ItemKeywords, find_shared_arrays

OUTNAME_APPEND = '_bmp'

__all__ = ['OUTNAME_APPEND', 'BigMultiPipe', 'NestablePool',
           'NoDaemonContext', 'NoDaemonPool', 'NoDaemonPool37',
           'NoDaemonProcess', 'NoDaemonProcess37', 'PipelineWarning',
           'WorkerWithKwargs', 'assure_list', 'bmp_cleanup', 'cached_pout',
           'multi_logging', 'multi_proc', 'no_outfile', 'num_can_process',
           'outname_creator', 'pairs_from_pout', 'prune_pout']

# The settings of a run that are not keywords of the control stream: they
# steer the engine.  Each is set at construction and may be overridden by
# the keyword of the same name given to pipeline().
ENGINE_SETTINGS = ('num_processes', 'mem_available', 'mem_frac',
                   'process_size', 'PoolClass', 'timeout', 'retries',
                   'journal', 'resume', 'force_resume', 'pipeline_id',
                   'progress', 'executor', 'size_estimate', 'engine_kw')

# The output settings: stored on the object like the engine's, but they
# also travel in the control stream, as in 0.2.0, so that
# outname_create() and file_write() see them.
OUTPUT_SETTINGS = ('outdir', 'create_outdir', 'outname_append', 'outname',
                   'overwrite')


def _engine():
    # Imported when a run starts, so that the pure-Python functions work
    # (and their errors read well) even where the extension is not built.
    from . import _engine as engine
    return engine


#########
# Pools #
#########
# Kept so that code importing them keeps working.  The engine runs the
# items, so BigMultiPipe never uses a pool (its PoolClass keyword is
# accepted and ignored); they remain usable as plain pools.

class NoDaemonProcess(multiprocessing.Process):
    """A process whose ``daemon`` flag stays False, so that it may start
    processes of its own (used by :class:`NestablePool`)."""

    @property
    def daemon(self):
        return False

    @daemon.setter
    def daemon(self, value):
        pass


class NoDaemonContext(type(multiprocessing.get_context())):
    """The multiprocessing context of :class:`NestablePool`."""
    Process = NoDaemonProcess


class NestablePool(multiprocessing.pool.Pool):
    """A :class:`multiprocessing.pool.Pool` whose workers may have
    children.  Not needed by BigMultiPipe: nested pipelines work with its
    engine."""

    def __init__(self, *args, **kwargs):
        kwargs['context'] = NoDaemonContext()
        super().__init__(*args, **kwargs)


NoDaemonPool = NestablePool
NoDaemonProcess37 = NoDaemonProcess
NoDaemonPool37 = NestablePool


class WorkerWithKwargs():
    """Holds keywords for a function, e.g. for ``Pool.map()``.

    ``WorkerWithKwargs(f, a=1).worker(x)`` is ``f(x, a=1)``.
    """

    def __init__(self, function, **kwargs):
        self.function = function
        self.kwargs = kwargs

    def worker(self, *args):
        """Call the function with ``args`` and the stored keywords."""
        return self.function(*args, **self.kwargs)


#############
# Utilities #
#############

def assure_list(x):
    """``x`` as a list: None gives ``[]``, a non-list ``[x]``."""
    if x is None:
        x = []
    if not isinstance(x, list):
        x = [x]
    return x


def _physical_cores():
    try:
        return _engine().physical_cores()
    except (ImportError, AttributeError):  # the extension is not built
        return len(os.sched_getaffinity(0))


def _system_mem_available():
    try:
        return _engine().mem_available()
    except (ImportError, AttributeError):  # the extension is not built
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
        raise OSError('cannot read the memory available')


def num_can_process(num_to_process=None,
                    num_processes=None,
                    mem_available=None,
                    mem_frac=0.8,
                    process_size=None,
                    error_if_zero=True):
    """How many processes can run at once.

    Parameters
    ----------
    num_to_process : int or None
        Number of items; the result is never more.  None: not a limit.
    num_processes : number or None
        None or 0: the physical cores.  Below 1: that fraction of the
        physical cores, rounded, at least 1.  Otherwise that many
        (a float is floored).  Negative: :class:`ValueError`.
    mem_available : number or None
        Bytes all processes together may use.  None: ``mem_frac`` times
        the memory the system reports available now.
    mem_frac : float
        See ``mem_available``.  Default 0.8.
    process_size : number or None
        Bytes one process needs.  None: memory does not limit.
    error_if_zero : bool
        When not even one process fits, raise :class:`EnvironmentError`
        (the message gives both figures in MiB); else return 0.

    Returns
    -------
    int
    """
    if num_processes is None or num_processes == 0:
        num_processes = _physical_cores()
    if num_processes < 0:
        raise ValueError(f'Illegal value of num_processes {num_processes}')
    if num_processes < 1:
        num_processes = max(1, round(num_processes * _physical_cores()))
    # 0.2.0 passed a float (its own argparse mixin gives one) on to
    # Pool(processes=...), which refuses it.
    num_processes = int(num_processes)
    if num_to_process is None:
        num_to_process = num_processes
    if mem_available is not None:
        max_mem = mem_available
    else:
        if mem_frac is None:
            mem_frac = 0.8
        max_mem = _system_mem_available() * mem_frac
    if process_size is None:
        max_n = num_processes
    else:
        if process_size <= 0:
            raise ValueError(f'Illegal value of process_size {process_size}')
        max_n = int(max_mem / process_size)
    if error_if_zero and max_n == 0:
        raise EnvironmentError(f'Current memory {max_mem/2**20} MiB '
                               f'insufficient for process size '
                               f'{process_size/2**20} MiB.  Set '
                               'error_if_zero to False if subprocess '
                               'can handle subdividing task.')
    return int(min(num_to_process, num_processes, max_n))


def multi_logging(level, meta, message):
    """Append ``message`` to the list ``meta[level]``, creating it.

    Per-item logging for post-processing steps: the messages come back
    to the caller in the item's meta.
    """
    if level in meta:
        meta[level].append(message)
    else:
        meta[level] = [message]


def bmp_cleanup(data, bmp_meta=None, add=None):
    """Mark meta keys for deletion once post-processing has finished.

    With ``add`` (a key or a list of keys), register them in
    ``bmp_meta['bmp_cleanup_list']``.  Without it (as post_process()
    calls it), delete the registered keys and the registry itself.
    Returns ``data`` unchanged, so it can be a post-process step.
    """
    cleanup_list = assure_list(bmp_meta.get('bmp_cleanup_list'))
    if add is None:
        for c in cleanup_list:
            # A later step may have removed it already.
            bmp_meta.pop(c, None)
        bmp_meta.pop('bmp_cleanup_list', None)
    else:
        cleanup_list = cleanup_list + assure_list(add)
        bmp_meta['bmp_cleanup_list'] = cleanup_list
    return data


def multi_proc(func, element_type=None, **kwargs):
    """A function that applies ``func`` to each element of a list.

    With ``element_type``, nested lists are walked: ``func`` is applied
    to each element of that type, and any other element is taken as a
    list to walk.  Keywords given to the returned function reach
    ``func``.
    """
    if element_type is None:
        def ret_func(data_list, **kwargs):
            return [func(data, **kwargs) for data in data_list]
        return ret_func

    def ret_func(data_list, **kwargs):
        ret_list = []
        for data in data_list:
            if isinstance(data, element_type):
                ret_list.append(func(data, **kwargs))
            else:
                ret_list.append(ret_func(data, **kwargs))
        return ret_list
    return ret_func


def no_outfile(data, **kwargs):
    """Post-process step that stops the item and writes nothing: put it
    last in the post-process list and the pipeline returns metadata
    only."""
    return None


def _nonempty(x):
    return x is not None and x != ''


def outname_creator(in_name,
                    meta=None,
                    outdir=None,
                    outname_append=OUTNAME_APPEND,
                    outname=None,
                    **kwargs):
    """The output file name of an item.

    Parameters
    ----------
    in_name : str or os.PathLike, or a list (a group item)
    meta : dict or None
        Its keys ``outdir``, ``outname_append`` and ``outname``, when
        present and not empty, override the keywords of the same names.
    outdir : str or None
        Directory of the output; None or ``''``: the current directory.
    outname_append : str
        Put before the extension of the input's base name:
        ``d/test.dat`` gives ``test_bmp.dat``, ``a.tar.gz``
        ``a.tar_bmp.gz``, ``.hidden`` ``.hidden_bmp``.  None: ``_bmp``.
    outname : str or None
        The output name, joined to ``outdir`` when that is set (an
        absolute name stands as it is).  A group item needs it (or the
        meta key): it has no single base name.

    Returns
    -------
    str
    """
    if meta is not None:
        if _nonempty(meta.get('outdir')):
            outdir = meta['outdir']
        if _nonempty(meta.get('outname_append')):
            outname_append = meta['outname_append']
        if _nonempty(meta.get('outname')):
            outname = meta['outname']
    if outname_append is None:
        outname_append = OUTNAME_APPEND
    if _nonempty(outname):
        if _nonempty(outdir):
            return os.path.join(outdir, outname)
        return os.fspath(outname)
    if not isinstance(in_name, (str, bytes, os.PathLike)):
        raise ValueError('a group item has no single file name to derive '
                         'its output name from: set outname (a keyword, '
                         'or meta["outname"] from a step)')
    in_name = os.fspath(in_name)
    if isinstance(in_name, bytes):
        in_name = os.fsdecode(in_name)
    if not _nonempty(outdir):
        outdir = os.getcwd()
    prepend, ext = os.path.splitext(os.path.basename(in_name))
    return os.path.join(outdir, prepend + outname_append + ext)


def prune_pout(pout, in_names):
    """Drop the entries ``(None, {})`` of a pout, and the same positions
    of ``in_names``.

    Returns ``(pruned_pout, pruned_in_names)``.  Entries with meta, and
    failed items (whose meta holds an ``error`` list), are kept.
    """
    if len(pout) != len(in_names):
        raise ValueError(f'pout has {len(pout)} entries but in_names has '
                         f'{len(in_names)}')
    pruned_pout = []
    pruned_in_names = []
    for entry, in_name in zip(pout, in_names):
        if entry[0] is None and entry[1] == {}:
            continue
        pruned_pout.append(entry)
        pruned_in_names.append(in_name)
    return (pruned_pout, pruned_in_names)


def cached_pout(pipe_code,
                poutname=None,
                read_pout=False,
                write_pout=False,
                create_outdir=False,
                **kwargs):
    """Run ``pipe_code`` or read its stored output instead.

    With ``read_pout`` and a readable ``poutname``, return what it holds
    without running.  Otherwise return ``pipe_code(create_outdir=...,
    **kwargs)``, and with ``write_pout`` store it in ``poutname``
    (creating its directory when ``create_outdir``).

    The file is the library's JSON Lines pout (doc/pout-format.md) when
    the result is a 0.2.0-style list of ``(outname, meta)`` pairs whose
    meta JSON can hold; anything else is pickled, as 0.2.0 does.
    Either kind is read back, and so are 0.2.0's pickles.  A file that
    cannot be read means "run", as in 0.2.0.
    """
    if read_pout and poutname is not None:
        try:
            return pout_file.load_cached(poutname)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            pass
    pout = pipe_code(create_outdir=create_outdir, **kwargs)
    if write_pout:
        if poutname is None:
            raise ValueError('write_pout needs poutname')
        if create_outdir:
            d = os.path.dirname(poutname)
            if d:
                os.makedirs(d, exist_ok=True)
        pout_file.store_cached(pout, poutname)
    return pout


def _short_error(entry):
    """One line saying why an item failed, for its 0.2.0-style meta."""
    status = entry['status']
    error = entry.get('error') or ''
    lines = [line for line in error.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ''
    # In a Python traceback the exception's own line comes after the
    # last frame; its message may go on over more lines (astropy's
    # tables of formats), so the last line is not always the one.
    frames = [i for i, line in enumerate(lines)
              if line.startswith('  File ')]
    if frames:
        for line in lines[frames[-1] + 1:]:
            if not line.startswith(' '):
                last = line.strip()
                break
    if status == 'failed':
        return last or 'failed'
    return f'{status}: {last}' if last else status


def pairs_from_pout(pout):
    """The 0.2.0-style list of ``(outname, meta)`` pairs of a full pout.

    An item that did not finish (failed, crashed, timed out, not run)
    gives ``(None, {'error': [reason]})``, as :func:`multi_logging`
    would put it, so that :func:`prune_pout` keeps it and the failure is
    never hidden.
    """
    pairs = []
    for entry in pout:
        if entry['status'] in ('ok', 'no_output'):
            pairs.append((entry['outname'], entry['meta']))
        else:
            meta = dict(entry.get('meta') or {})
            multi_logging('error', meta, _short_error(entry))
            pairs.append((None, meta))
    return pairs


def _first_shared_output(pout):
    """(i, j, name) for the first two items that wrote one file, or None.
    The steps choose the names (meta, keywords), so this is known only
    after the run."""
    first = {}
    for j, entry in enumerate(pout):
        if entry['status'] != 'ok' or entry['outname'] is None:
            continue
        key = os.path.realpath(entry['outname'])
        if key in first:
            return (first[key], j, entry['outname'])
        first[key] = j
    return None


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _members(in_name):
    if isinstance(in_name, (list, tuple)):
        for x in in_name:
            yield from _members(x)
    else:
        yield in_name


class PipelineWarning(UserWarning):
    """Some items of a pipeline run did not finish."""


class BigMultiPipe():
    """Base class for memory- and processing power-optimized pipelines.

    Subclass it and override :meth:`file_read`, :meth:`file_write` and
    :meth:`data_process` (or :meth:`data_process_meta_create`), then run
    :meth:`pipeline` over a list of input names.

    Parameters
    ----------
    num_processes, mem_available, mem_frac, process_size : optional
        Processors and memory: see :func:`num_can_process`.  ``mem_frac``
        defaults to 0.8.  ``process_size`` is also every item's memory
        estimate: an item starts only while the running items' estimates
        plus its own fit in the memory.
    outdir, create_outdir, outname_append, outname : optional
        Output names (see :func:`outname_creator`) and whether
        :meth:`file_write` creates the output's directory.
    overwrite : bool or None, optional
        False: an item whose output exists fails without writing.  None
        (default, as 0.2.0): :meth:`file_write` decides.  Travels in the
        control stream, so file_write may pass it to its writer.
    pre_process_list, post_process_list : list of functions, optional
        Steps before and after :meth:`data_process`; see
        :meth:`pre_process` and :meth:`post_process`.  Lists given to
        :meth:`pipeline` are appended to these.
    PoolClass : optional
        Accepted for 0.2.0 compatibility and ignored: the engine's
        worker processes run the items.
    timeout : float, optional
        Seconds an item may run; past it its worker is killed and the
        item is ``timed_out``.
    retries : int, optional
        How many more times a failed, crashed or timed-out item runs.
    journal : str, optional
        File recording each item as it finishes; with ``resume=True`` a
        later run takes the finished items from it and runs the rest.
    resume, force_resume, pipeline_id : optional
        See doc/python.md ("Journal and resume").
    progress : bool or callable, optional
        True: a progress line on standard error; a callable gets a dict.
    executor : 'process' or 'serial', optional
        'serial' runs every item in the calling process, one after
        another, for debugging (pdb, breakpoints): no isolation.
    size_estimate : callable, optional
        ``size_estimate(in_name)`` gives the bytes an item needs.
    engine_kw : dict, optional
        Further library keywords (doc/keywords.md), e.g.
        ``{'worker_max_items': 100}``.
    **kwargs : optional
        The control stream: every step sees these keywords, merged under
        the keywords given to :meth:`pipeline`.

    Attributes
    ----------
    pout : list of dict
        The full pout of the last run: one entry per item, in input
        order, with ``in_name``, ``outname``, ``meta``, ``status``
        (ok, no_output, failed, crashed, timed_out, not_run), ``error``
        (the Python traceback of a failed item) and ``stats``.  None
        before the first run.
    """

    def __init__(self,
                 num_processes=None,
                 mem_available=None,
                 mem_frac=0.8,
                 process_size=None,
                 outdir=None,
                 create_outdir=False,
                 outname_append=OUTNAME_APPEND,
                 pre_process_list=None,
                 post_process_list=None,
                 PoolClass=None,
                 *,
                 outname=None,
                 overwrite=None,
                 timeout=None,
                 retries=0,
                 journal=None,
                 resume=False,
                 force_resume=False,
                 pipeline_id=None,
                 progress=False,
                 executor='process',
                 size_estimate=None,
                 engine_kw=None,
                 **kwargs):
        self.num_processes = num_processes
        self.mem_available = mem_available
        self.mem_frac = mem_frac
        self.process_size = process_size
        self.pre_process_list = pre_process_list
        self.post_process_list = post_process_list
        self.PoolClass = PoolClass
        self.outdir = outdir
        self.create_outdir = create_outdir
        self.outname_append = outname_append
        self.outname = outname
        self.overwrite = overwrite
        self.timeout = timeout
        self.retries = retries
        self.journal = journal
        self.resume = resume
        self.force_resume = force_resume
        self.pipeline_id = pipeline_id
        self.progress = progress
        self.executor = executor
        self.size_estimate = size_estimate
        self.engine_kw = engine_kw
        self.kwargs = kwargs
        self.pout = None

    @property
    def pre_process_list(self):
        """list : the construction's pre-processing steps (see
        :meth:`pre_process`).  Set to None to empty it."""
        return self._pre_process_list

    @pre_process_list.setter
    def pre_process_list(self, value):
        self._pre_process_list = assure_list(value)

    @property
    def post_process_list(self):
        """list : the construction's post-processing steps (see
        :meth:`post_process`).  Set to None to empty it."""
        return self._post_process_list

    @post_process_list.setter
    def post_process_list(self, value):
        self._post_process_list = assure_list(value)

    def kwargs_merge(self, **kwargs):
        """A new dict: the construction's keywords, updated by ``kwargs``."""
        nkwargs = self.kwargs.copy()
        nkwargs.update(kwargs)
        return nkwargs

    def _setting(self, name, given):
        # None means "not given": the object's value holds.  False, ''
        # and 0 are values (0.2.0's `x or self.x` dropped them).
        return getattr(self, name) if given is None else given

    def pipeline(self, in_names,
                 num_processes=None,
                 mem_available=None,
                 mem_frac=None,
                 process_size=None,
                 PoolClass=None,
                 outdir=None,
                 create_outdir=None,
                 outname_append=None,
                 outname=None,
                 *,
                 overwrite=None,
                 timeout=None,
                 retries=None,
                 journal=None,
                 resume=None,
                 force_resume=None,
                 pipeline_id=None,
                 progress=None,
                 executor=None,
                 size_estimate=None,
                 engine_kw=None,
                 **kwargs):
        """Run the pipeline over ``in_names``.

        Parameters
        ----------
        in_names : list
            The items: file names, or groups (lists, possibly nested)
            that one worker processes as one unit.
        All other keywords
            A keyword given here wins over the object's setting of the
            same name for this run (None means "not given"); the others
            are merged over the construction's control stream.  A
            ``pre_process_list`` or ``post_process_list`` given here is
            appended to the object's.

        Returns
        -------
        list of ``(outname, meta)``
            One per item, in input order.  ``outname`` is the file
            written or None.  An item that did not finish gives
            ``(None, {'error': [reason]})``; the full pout, with status,
            traceback and measurements, is in :attr:`pout`.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C; the run stops, :attr:`pout` and the exception's
            ``pout`` hold the partial pout (unfinished items
            ``not_run``) and ``pairs`` its 0.2.0 form.  With a journal,
            the same call with ``resume=True`` finishes the run.
        """
        if isinstance(in_names, (str, bytes, os.PathLike)):
            # list() would make each character an item.
            raise TypeError('in_names must be a list of names, not one '
                            f'name: [{in_names!r}]')
        in_names = list(in_names)
        s = {name: self._setting(name, given) for name, given in (
            ('num_processes', num_processes),
            ('mem_available', mem_available),
            ('mem_frac', mem_frac),
            ('process_size', process_size),
            ('outdir', outdir),
            ('create_outdir', create_outdir),
            ('outname_append', outname_append),
            ('outname', outname),
            ('overwrite', overwrite),
            ('timeout', timeout),
            ('retries', retries),
            ('journal', journal),
            ('resume', resume),
            ('force_resume', force_resume),
            ('pipeline_id', pipeline_id),
            ('progress', progress),
            ('executor', executor),
            ('size_estimate', size_estimate),
            ('engine_kw', engine_kw))}
        kwargs = self.kwargs_merge(**kwargs)
        # The output settings travel in the control stream, as in 0.2.0;
        # outname and overwrite only when set, so that a step's own
        # signature with `outname`/`overwrite` defaults is not disturbed.
        control = dict(kwargs)
        control['outdir'] = s['outdir']
        control['create_outdir'] = s['create_outdir']
        control['outname_append'] = s['outname_append']
        if s['outname'] is not None:
            control['outname'] = s['outname']
        if s['overwrite'] is not None:
            control['overwrite'] = s['overwrite']

        ncp = num_can_process(len(in_names),
                              num_processes=s['num_processes'],
                              mem_available=s['mem_available'],
                              mem_frac=s['mem_frac'],
                              process_size=s['process_size'])
        # The budget the engine schedules items in: the figure
        # num_can_process() used, when items have estimates to hold
        # against it (process_size, size_estimate, the library's
        # expand factor).  Without estimates memory does not limit, as in
        # 0.2.0, and no budget lets short items queue in the workers.
        mem_budget = s['mem_available']
        ekw = s['engine_kw'] or {}
        if mem_budget is None and (
                s['process_size'] is not None
                or s['size_estimate'] is not None
                or ekw.get('process_expand_factor') is not None
                or ekw.get('adaptive')):
            frac = 0.8 if s['mem_frac'] is None else s['mem_frac']
            mem_budget = int(_system_mem_available() * frac)

        shared = find_shared_arrays(control)

        def item_fn(in_name):
            return self._run_item(in_name, control, shared)

        engine = _engine()
        try:
            pout = engine.run(
                in_names, item_fn,
                num_processes=max(ncp, 1),
                mem_budget=mem_budget,
                process_size=s['process_size'],
                size_estimate=s['size_estimate'],
                timeout=s['timeout'],
                retries=s['retries'] or 0,
                journal=s['journal'],
                resume=bool(s['resume']),
                force_resume=bool(s['force_resume']),
                pipeline_id=self._pipeline_id(s),
                progress=s['progress'] or False,
                executor=s['executor'] or 'process',
                kw=s['engine_kw'])
        except BaseException as e:
            # Ctrl-C (KeyboardInterrupt), or the engine's error for a run
            # stopped midway (a journal write failing, SIGTERM handled by
            # the caller): the partial pout rides on the exception.
            partial = getattr(e, 'pout', None)
            self.pout = partial
            if partial is not None:
                e.pairs = pairs_from_pout(partial)
            raise
        self.pout = pout
        bad = [e for e in pout if e['status'] not in ('ok', 'no_output')]
        if bad:
            first = bad[0]
            warnings.warn(f'{len(bad)} of {len(pout)} items did not finish '
                          f'(first: {first["in_name"]!r}, '
                          f'{_short_error(first)}); see the pout attribute',
                          PipelineWarning, stacklevel=2)
        clash = _first_shared_output(pout)
        if clash:
            warnings.warn(f'items {clash[0]} and {clash[1]} both wrote '
                          f'{clash[2]}: the later replaced the earlier; '
                          'give each item its own output name',
                          PipelineWarning, stacklevel=2)
        return pairs_from_pout(pout)

    def _pipeline_id(self, s):
        """What the run's steps are, for the journal: resuming a journal
        written by another pipeline class or other output settings is
        refused (unless force_resume)."""
        if s['pipeline_id'] is not None:
            return s['pipeline_id']
        if s['journal'] is None:
            return None
        cls = type(self)
        return (f'python:{cls.__module__}.{cls.__qualname__} '
                f'outdir={s["outdir"]!r} '
                f'outname_append={s["outname_append"]!r} '
                f'outname={s["outname"]!r}')

    def _run_item(self, in_name, control, shared):
        """One item, in its worker: file_process() with its own copy of
        the control stream (item_keywords.py)."""
        with ItemKeywords(control, shared) as kwargs:
            result = self.file_process(in_name, **kwargs)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError('file_process must return (outname, meta), '
                            f'not {result!r:.80}')
        outname, meta = result
        if meta is None:
            meta = {}
        return (outname, meta)

    def file_process(self, in_name, **kwargs):
        """Process one item: read, pre-process, process and create meta,
        name the output, write.

        Override it to drive code that reads and writes its own files.

        Returns
        -------
        (outname, meta) : tuple
            ``outname`` is the file written or None; ``meta`` a dict.
        """
        kwargs = self.kwargs_merge(**kwargs)
        data = self.file_read(in_name, **kwargs)
        if data is None:
            return (None, {})
        (data, add_kwargs) = self.pre_process(data, **kwargs)
        if data is None:
            return (None, {})
        kwargs.update(add_kwargs)
        # The names given explicitly below cannot also come through the
        # control stream (0.2.0 raised TypeError for an outname there).
        kwargs.pop('in_name', None)
        kwargs.pop('data', None)
        kwargs.pop('meta', None)
        data, meta = self.data_process_meta_create(data, in_name=in_name,
                                                   **kwargs)
        if data is None:
            return (None, meta)
        outname = self.outname_create(in_name, data=data, meta=meta,
                                      **kwargs)
        kwargs.pop('outname', None)
        self._prepare_output(in_name, outname, meta, kwargs)
        outname = self.file_write(data, outname, meta=meta,
                                  in_name=in_name, **kwargs)
        return (outname, meta)

    @staticmethod
    def _prepare_output(in_name, outname, meta, kwargs):
        # With create_outdir, the output's directory is made here, so that
        # a file_write that does not call this class's (the seed's do not)
        # honours it too.  An output over its own input would destroy the
        # data the item was made from; an existing output is kept when
        # overwrite is False.  Meta's keys win over the keywords.
        create_outdir = kwargs.get('create_outdir')
        if meta is not None and meta.get('create_outdir') is not None:
            create_outdir = meta['create_outdir']
        if create_outdir:
            d = os.path.dirname(os.fspath(outname))
            if d:
                os.makedirs(d, exist_ok=True)
        for member in _members(in_name):
            if _same_file(member, outname):
                raise FileExistsError(f'output {outname} is the item\'s '
                                      f'input {member}: set outdir, '
                                      'outname_append or outname')
        overwrite = kwargs.get('overwrite')
        if meta is not None and meta.get('overwrite') is not None:
            overwrite = meta['overwrite']
        if overwrite is False and os.path.lexists(outname):
            raise FileExistsError(f'output {outname} exists; set '
                                  'overwrite=True to replace it')

    def file_read(self, in_name, **kwargs):
        """Read an item's data.  Override it.

        By default: the file's bytes; for a group (a list), a list of
        its members' data, read recursively.
        """
        kwargs = self.kwargs_merge(**kwargs)
        if isinstance(in_name, (list, tuple)):
            return [self.file_read(name, **kwargs) for name in in_name]
        with open(in_name, 'rb') as f:
            return f.read()

    def file_write(self, data, outname, meta=None, create_outdir=False,
                   **kwargs):
        """Write an item's data to ``outname``.  Override it.

        By default: with ``create_outdir`` (meta's key of that name wins
        when given), create the output's directory and its parents; then
        write ``data`` when it is bytes (or a bytearray or memoryview),
        as the default :meth:`file_read` gives.  Other data are not
        written (0.2.0's default wrote nothing): a subclass writes them,
        and may call this method first for the directory.

        Returns
        -------
        str : the name written, which may differ from ``outname``.
        """
        kwargs = self.kwargs_merge(**kwargs)
        if meta is not None and meta.get('create_outdir') is not None:
            create_outdir = meta['create_outdir']
        if create_outdir:
            d = os.path.dirname(outname)
            if d:
                os.makedirs(d, exist_ok=True)
        if isinstance(data, (bytes, bytearray, memoryview)):
            with open(outname, 'wb') as f:
                f.write(data)
        return outname

    def data_process_meta_create(self, data, **kwargs):
        """Process the data and create the meta: :meth:`data_process`,
        then, unless it gave None, :meth:`post_process`.

        Override it to do both at once (the seed's first example).

        Returns
        -------
        (data, meta) : tuple
            data None: nothing is written, meta is kept.
        """
        kwargs = self.kwargs_merge(**kwargs)
        data = self.data_process(data, **kwargs)
        if data is None:
            return (None, {})
        data, meta = self.post_process(data, **kwargs)
        return (data, meta)

    def pre_process(self, data, pre_process_list=None, **kwargs):
        """Run the pre-processing steps, in order.

        The steps are the object's :attr:`pre_process_list` followed by
        the ``pre_process_list`` given to :meth:`pipeline`.  Each step is
        called ``step(data, **kwargs)`` and returns None (reject the
        item: it ends as ``(None, {})``), the data, or a dict
        ``{'bmp_data': data, 'bmp_kwargs': {...}}`` whose keywords are
        merged over the item's for the rest of the item (later steps,
        processing, naming, writing), never for other items.

        Returns
        -------
        (data, kwargs) : tuple
        """
        kwargs = self.kwargs_merge(**kwargs)
        steps = self.pre_process_list + assure_list(pre_process_list)
        for pp in steps:
            retval = pp(data, **kwargs)
            if retval is None:
                return (None, {})
            if isinstance(retval, dict) and 'bmp_data' in retval:
                data = retval['bmp_data']
                these_kwargs = retval.get('bmp_kwargs')
                if these_kwargs:
                    kwargs.update(these_kwargs)
                if data is None:
                    return (None, {})
            else:
                data = retval
        return (data, kwargs)

    def data_process(self, data, **kwargs):
        """Process the data.  Override it; by default the data pass
        unchanged.  None: the item ends as ``(None, {})``."""
        return data

    def post_process(self, data, post_process_list=None,
                     no_bmp_cleanup=False, **kwargs):
        """Run the post-processing steps, in order, building the meta.

        The steps are the object's :attr:`post_process_list` followed by
        the ``post_process_list`` given to :meth:`pipeline`.  Each is
        called ``step(data, bmp_meta=meta, **kwargs)``, may change
        ``meta`` in place, and returns the data or None; None stops the
        list (nothing is written, the meta so far is returned).  Then the
        keys registered with :func:`bmp_cleanup` are removed, unless
        ``no_bmp_cleanup``.

        Returns
        -------
        (data, meta) : tuple
        """
        kwargs = self.kwargs_merge(**kwargs)
        kwargs.pop('bmp_meta', None)
        steps = self.post_process_list + assure_list(post_process_list)
        meta = {}
        for pp in steps:
            data = pp(data, bmp_meta=meta, **kwargs)
            if data is None:
                break
        if not no_bmp_cleanup:
            data = bmp_cleanup(data, bmp_meta=meta)
        return (data, meta)

    def outname_create(self, *args, **kwargs):
        """The output name of an item: :func:`outname_creator` with the
        item's keywords.  Called as ``outname_create(in_name, data=data,
        meta=meta, **kwargs)``."""
        kwargs = self.kwargs_merge(**kwargs)
        return outname_creator(*args, **kwargs)
