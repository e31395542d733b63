"""The pout on disk: the library's JSON Lines pout format, and 0.2.0's
pickles for :func:`~bigmultipipe.cached_pout`.

A full pout (a list of entry dicts, as ``BigMultiPipe.pout`` holds) is
written in the format of doc/pout-format.md: one JSON object per line,
line *i* for item *i*, written to a temporary name and renamed, so that
the ``bigmultipipe`` command, ``jq`` or any JSON reader can read it and
the final name never holds a partial file.  A journal reads as the pout
of the items it holds (its run record is skipped).
"""

import json
import os
import pickle
import tempfile

ENTRY_KEYS = ('in_name', 'outname', 'meta', 'status', 'error', 'stats')
STATUSES = ('ok', 'no_output', 'failed', 'crashed', 'timed_out', 'not_run')


def _name(x):
    if isinstance(x, (list, tuple)):
        return [_name(y) for y in x]
    if x is None:
        return None
    x = os.fspath(x)
    return os.fsdecode(x) if isinstance(x, bytes) else x


def is_full_pout(pout):
    """True when ``pout`` is a list of entry dicts (not 0.2.0 pairs)."""
    return isinstance(pout, list) and all(
        isinstance(e, dict) and 'in_name' in e and 'status' in e
        for e in pout)


def _entry_line(entry):
    status = entry.get('status')
    if status not in STATUSES:
        raise ValueError(f'pout entry status {status!r} is not one of '
                         f'{", ".join(STATUSES)}')
    line = {'in_name': _name(entry['in_name']),
            'outname': _name(entry.get('outname')),
            'meta': entry.get('meta') or {},
            'status': status,
            'error': entry.get('error'),
            'stats': entry.get('stats') or {}}
    # Lone surrogates (undecodable bytes of a name) stay as \udcXX
    # escapes: ensure_ascii keeps the file valid UTF-8 (doc/pout-format.md).
    return json.dumps(line, allow_nan=False)


def _atomic_write(path, data, mode):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) +
                               '.bmp-', dir=d)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_pout(pout, path):
    """Write a full pout (list of entry dicts) to ``path`` as JSON Lines.

    Raises ValueError for an entry that JSON cannot hold (e.g. a NaN
    that did not come from a run); nothing is written then.
    """
    text = ''.join(_entry_line(e) + '\n' for e in pout)
    _atomic_write(path, text.encode('utf-8', 'surrogateescape'), 'wb')


def read_pout(path):
    """Read a pout (or a journal) written by :func:`write_pout`, a run of
    the ``bigmultipipe`` command or the C library.

    Returns a list of entry dicts; missing keys take their defaults.
    Raises ValueError, naming the line, for a line that is not an entry.
    """
    pout = []
    with open(path, 'rb') as f:
        for lineno, raw in enumerate(f, 1):
            text = raw.decode('utf-8', 'surrogateescape').strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except ValueError as e:
                raise ValueError(f'{path}:{lineno}: not JSON: {e}') from None
            if not isinstance(obj, dict):
                raise ValueError(f'{path}:{lineno}: not a pout entry')
            if 'bmp_journal' in obj:
                continue
            if 'in_name' not in obj or obj.get('status') not in STATUSES:
                raise ValueError(f'{path}:{lineno}: not a pout entry '
                                 '(in_name and status needed)')
            pout.append({'in_name': obj['in_name'],
                         'outname': obj.get('outname'),
                         'meta': obj.get('meta') or {},
                         'status': obj['status'],
                         'error': obj.get('error'),
                         'stats': obj.get('stats') or {}})
    return pout


def load_cached(path):
    """What :func:`store_cached` wrote: a full pout from JSON Lines, or
    any pickled object (0.2.0's cached_pout files)."""
    with open(path, 'rb') as f:
        head = f.read(1)
    if head == b'\x80':
        with open(path, 'rb') as f:
            return pickle.load(f)
    return read_pout(path)


def store_cached(pout, path):
    """A full pout as JSON Lines; anything else (0.2.0's list of
    ``(outname, meta)`` pairs, a pruned pout, any object) pickled, as
    0.2.0 does."""
    if is_full_pout(pout) and pout:
        write_pout(pout, path)
    else:
        _atomic_write(path, pickle.dumps(pout), 'wb')
