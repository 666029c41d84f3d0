"""Errors raised on bad input: they say what is wrong, where, and what was expected."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input data or configuration.

    The message names the file, the galaxy (row or id) and the field where known, and
    what was expected, e.g.::

        stamps.npy: galaxy row 17 (id 1017), field 'images': 3 NaN/inf pixels; expected finite values
    """

    def __init__(self, what: str, *, file=None, row=None, gal_id=None, field=None, expected=None):
        parts = []
        if file is not None:
            parts.append(f"{file}:")
        where = []
        if row is not None:
            where.append(f"galaxy row {row}" + (f" (id {gal_id})" if gal_id is not None else ""))
        elif gal_id is not None:
            where.append(f"galaxy id {gal_id}")
        if field is not None:
            where.append(f"field {field!r}")
        if where:
            parts.append(", ".join(where) + ":")
        parts.append(what)
        msg = " ".join(parts)
        if expected is not None:
            msg += f"; expected {expected}"
        super().__init__(msg)
        self.file, self.row, self.gal_id, self.field = file, row, gal_id, field
        self.what, self.expected = what, expected


def require_columns(df, columns, what: str) -> None:
    """Raise :class:`InputError` naming the first missing column of the DataFrame ``df``."""
    import pandas as pd  # here: the Snakefile imports this module and needs no pandas

    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {missing}",
            field=missing[0],
            expected=f"columns {list(columns)}",
        )
