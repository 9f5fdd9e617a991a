"""CIFAR's restricted unpickler: ``read_array_pickle(path)`` builds numpy arrays and builtin values only.

The CIFAR files are pickles; a pickle can name any callable, which ``pickle.load`` would run.
This reader allows numpy's array reconstruction, ``dtype``, builtin containers, strings, bytes and
numbers, and refuses every other global before it is looked up.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ban.datasets.registry import DatasetError


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of ``bytes`` call it (latin-1 only)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin-1")


def _pickle_globals() -> dict[tuple[str, str], object]:
    """The only callables and classes an array pickle may name: numpy's ndarray reconstruction
    (``numpy.core`` in numpy 1 and Python 2 pickles, ``numpy._core`` in numpy 2), ``dtype``, the
    builtin containers that older protocols build by a call, and latin-1 ``_codecs.encode``."""
    try:
        import numpy._core as core  # numpy 2
    except ImportError:  # numpy 1
        import numpy.core as core
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = core.multiarray._reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = core.numeric._frombuffer
    for module in ("builtins", "__builtin__"):
        for kind in (set, frozenset, bytes, bytearray, complex):
            allowed[(module, kind.__name__)] = kind
    return allowed


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dtypes, containers, strings, bytes and numbers only:
    any other global a pickle names (``os.system`` in a ``__reduce__``) raises before it is looked up."""

    allowed = _pickle_globals()

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused: it calls {module}.{name}, which would run code") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused: it refers to a persistent object, which would run code")


def read_array_pickle(path: Path) -> object:
    """The object in the pickle file ``path`` (Python 2 strings decoded as latin-1, as torchvision
    reads CIFAR), built from numpy arrays, dtypes, builtin containers, strings, bytes and numbers
    only: a pickle that names any other callable is never run, and raises a one-line
    ``DatasetError`` ``<path>: refused: it calls <module>.<name>, which would run code (...)``;
    an unreadable one ``<path>: unreadable pickle (...)``."""
    try:
        with open(path, "rb") as handle:
            return _ArrayUnpickler(handle, encoding="latin1").load()
    except pickle.UnpicklingError as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if reason.startswith("refused:"):
            raise DatasetError(f"{path}: {reason} (CIFAR files hold only arrays, lists, strings and numbers)") from None
        raise DatasetError(f"{path}: unreadable pickle ({reason})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise DatasetError(f"{path}: unreadable pickle ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
