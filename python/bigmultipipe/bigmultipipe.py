"""0.2.0's module path: ``from bigmultipipe.bigmultipipe import ...``
keeps working.  Everything lives in :mod:`bigmultipipe.core`."""

from .core import *  # noqa: F401,F403
from .core import __all__  # noqa: F401
