"""Byte sizes for people, in the model layer: the guard's refusal message needs one and must not import render.

>>> nbytes(332200)
'324.4 KiB'
"""

from __future__ import annotations


def nbytes(n: int) -> str:
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                       ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:,.1f} {unit}" if value < 1e6 else f"{value:.3g} {unit}"
    return f"{n} B"
