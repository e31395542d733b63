"""bigmultipipe: parallel pipelines over many large files, on libbigmultipipe.

The public API of the Python package bigmultipipe 0.2.0, whose items run
in the worker processes of the C library: one item that raises, crashes
or hangs costs that item only.  See doc/python.md.
"""

from .core import (OUTNAME_APPEND, BigMultiPipe, NestablePool,
                   NoDaemonContext, NoDaemonPool, NoDaemonPool37,
                   NoDaemonProcess, NoDaemonProcess37, PipelineWarning,
                   WorkerWithKwargs, assure_list, bmp_cleanup, cached_pout,
                   multi_logging, multi_proc, no_outfile, num_can_process,
                   outname_creator, pairs_from_pout, prune_pout)
from .pout_file import read_pout, write_pout
from . import item_keywords
from .argparse_handler import ArgparseHandler, BMPArgparseMixin

__version__ = '0.2.0+bmp'

__all__ = ['OUTNAME_APPEND', 'BigMultiPipe', 'NestablePool',
           'NoDaemonContext', 'NoDaemonPool', 'NoDaemonPool37',
           'NoDaemonProcess', 'NoDaemonProcess37', 'PipelineWarning',
           'WorkerWithKwargs', 'assure_list', 'bmp_cleanup', 'cached_pout',
           'multi_logging', 'multi_proc', 'no_outfile', 'num_can_process',
           'outname_creator', 'pairs_from_pout', 'prune_pout', 'read_pout',
           'write_pout', 'ArgparseHandler', 'BMPArgparseMixin']
