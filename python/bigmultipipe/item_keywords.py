"""The keywords one item starts from.

0.2.0 handed every item the same keyword objects (within a pool task, or
all items with one process), so a step that changed a list, a dict or an
array keyword in place changed it for the items after it.  Here each item
gets its own deep copy of the control stream's values, with one
exception: large NumPy arrays.

A calibration frame of 100 MB copied for every item would cost more than
many items' own work and double the memory of every worker.  So the
large arrays (and every array that is already read-only), wherever they
sit in a keyword value -- a dict, a list, an astropy ``CCDData``'s
attributes -- are found once per run, shared by every item, and made
read-only while an item runs: a step that changes one in place fails its
item with NumPy's "assignment destination is read-only" instead of
silently changing the data of the items after it.  A step that needs a
changed array makes its own (``a = a - bias``, ``a.copy()``).

In a worker the flag is set on the worker's copy of the array (the fork
gave it one); in the serial executor it is set on the caller's array
and put back after each item.
"""

import copy
import sys
import types

#: Arrays of at least this many bytes are shared, read-only, not copied.
SHARE_BYTES = 1 << 20

# Values that need neither a copy nor a look inside.
_ATOMIC = (type(None), str, bytes, int, float, complex, bool, range,
           types.FunctionType, types.BuiltinFunctionType, types.MethodType,
           types.ModuleType, type)

# The walk for large arrays stops after this many objects: a keyword
# holding a million small objects is copied, not searched.
_WALK_LIMIT = 20000


def _ndarray_type():
    np = sys.modules.get('numpy')
    return np.ndarray if np is not None else None


def find_shared_arrays(kwargs):
    """The arrays of ``kwargs`` that items share: each large or read-only
    ndarray found in dicts, lists, tuples, sets and objects' attributes.
    Returns a dict id -> array (kept alive by it)."""
    ndarray = _ndarray_type()
    found = {}
    if ndarray is None:
        return found
    seen = set()
    stack = list(kwargs.values())
    while stack and len(seen) < _WALK_LIMIT:
        obj = stack.pop()
        if isinstance(obj, _ATOMIC) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, ndarray):
            if obj.nbytes >= SHARE_BYTES or not obj.flags.writeable:
                found[id(obj)] = obj
            elif obj.dtype == object:
                stack.extend(obj.flat)
            continue
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:
            attrs = getattr(obj, '__dict__', None)
            if isinstance(attrs, dict):
                stack.extend(attrs.values())
    return found


def _flat(values):
    return all(type(x) in _FLAT for x in values)


_FLAT = {type(None), str, bytes, int, float, bool}


def _copy(v, shared):
    # A list or dict of plain values (the usual keyword) needs only a
    # shallow copy, a few times faster than deepcopy's walk.
    t = type(v)
    if t is list and _flat(v):
        return v[:]
    if t is dict and _flat(v.values()) and _flat(v.keys()):
        return v.copy()
    # The memo makes deepcopy take each shared array as it is.
    memo = dict(shared)
    try:
        return copy.deepcopy(v, memo)
    except Exception:
        # A lock, an open file, a generator: shared as it is.
        return v


class ItemKeywords:
    """Per-item keywords of one run: ``with ItemKeywords(...) as kw``
    gives a fresh copy, the shared arrays read-only until the end."""

    def __init__(self, kwargs, shared):
        self.kwargs = kwargs
        self.shared = shared
        self._unlocked = []

    def __enter__(self):
        for a in self.shared.values():
            if a.flags.writeable:
                a.flags.writeable = False
                self._unlocked.append(a)
        fresh = {}
        for k, v in self.kwargs.items():
            if isinstance(v, _ATOMIC):
                fresh[k] = v
                continue
            fresh[k] = _copy(v, self.shared)
        return fresh

    def __exit__(self, *exc):
        for a in self._unlocked:
            try:
                a.flags.writeable = True
            except ValueError:
                pass
        self._unlocked = []
        return False
