"""Request bodies of the scoring formats Charter accepts, read into one :class:`Batch`.

* MLflow's scoring server formats (``mlflow models serve``): ``dataframe_split``
  (``{"columns": [...], "data": [[...], ...]}``), ``dataframe_records`` (a list of
  ``{column: value}``), ``instances`` (a list of records, or of rows in the model's column
  order) and ``inputs`` (a ``{column: [values]}`` mapping, or a list like ``instances``).
* The Open Inference Protocol v2 (KServe, Triton, Seldon): ``{"inputs": [{"name", "shape",
  "datatype", "data"}, ...]}`` with either one 1-D tensor per column, named for it, or one 2-D
  tensor of shape ``[rows, columns]`` in the model's column order.

Anything else is a :class:`~charter.errors.DataError` saying which formats are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charter.errors import DataError

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_HINT = (
    'send {"dataframe_split": {"columns": [...], "data": [[...]]}}, {"dataframe_records":'
    ' [{...}]}, {"instances": [...]} or Open Inference Protocol v2 {"inputs": [{"name",'
    ' "shape", "datatype", "data"}]}'
)


@dataclass(frozen=True)
class Batch:
    """Rows to score, column by column, and the format they came in.

    Attributes
    ----------
    columns
        Column name to its values, one per row (as decoded from JSON).
    rows
        Number of rows.
    format
        Which request format it was (``dataframe_split``, ..., ``oip_v2``).
    """

    columns: dict[str, list[Any]]
    rows: int
    format: str


def read_payload(body: Any, model_columns: Sequence[str]) -> Batch:
    """The :class:`Batch` a scoring request body holds.

    Parameters
    ----------
    body
        The decoded JSON body.
    model_columns
        The model's input columns in order: names of the values of a row given as a list.

    Raises
    ------
    DataError
        An unknown format, ragged rows, or rows that are neither records nor lists.
    """
    if not isinstance(body, Mapping):
        raise DataError("the request body is not a JSON object", hint=_HINT)
    keys = [k for k in FORMATS if k in body]
    if len(keys) != 1:
        found = ", ".join(sorted(str(k) for k in body)) or "nothing"
        raise DataError(
            f"the request body must hold exactly one of {', '.join(FORMATS)}; found {found}",
            hint=_HINT,
        )
    key = keys[0]
    value = body[key]
    if key == "dataframe_split":
        return _split(value)
    if key == "dataframe_records":
        return _records(value, key, model_columns)
    if key == "instances":
        return _records(value, key, model_columns)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and "name" in v and "data" in v for v in value)
    ):
        return _oip(value, model_columns)
    if isinstance(value, Mapping):
        return _columnar(value, key)
    return _records(value, key, model_columns)


def _split(value: Any) -> Batch:
    if not isinstance(value, Mapping) or "data" not in value:
        raise DataError(
            'dataframe_split needs {"columns": [...], "data": [[...], ...]}', hint=_HINT
        )
    columns = [str(c) for c in value.get("columns") or []]
    data = value["data"]
    if not isinstance(data, list):
        raise DataError("dataframe_split.data must be a list of rows", hint=_HINT)
    return _from_rows(data, columns, "dataframe_split")


def _from_rows(data: list[Any], columns: Sequence[str], fmt: str) -> Batch:
    width = len(columns)
    out: dict[str, list[Any]] = {c: [] for c in columns}
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise DataError(
                f"{fmt}: row {i} has {got} values, expected {width} (one per column:"
                f" {', '.join(columns[:8])}{'…' if width > 8 else ''})",
                hint="send one value per column in every row",
            )
        for name, v in zip(columns, row, strict=True):
            out[name].append(v)
    return Batch(out, len(data), fmt)


def _records(value: Any, fmt: str, model_columns: Sequence[str]) -> Batch:
    if not isinstance(value, list):
        raise DataError(f"{fmt} must be a list of rows", hint=_HINT)
    if not value:
        return Batch({c: [] for c in model_columns}, 0, fmt)
    if all(isinstance(r, list) for r in value):
        return _from_rows(value, list(model_columns), fmt)
    if not all(isinstance(r, Mapping) for r in value):
        raise DataError(f"{fmt}: every row must be an object {{column: value}}", hint=_HINT)
    names: dict[str, None] = {}
    for record in value:
        for name in record:
            names.setdefault(str(name), None)
    out = {name: [record.get(name, _MISSING) for record in value] for name in names}
    return Batch(out, len(value), fmt)


def _columnar(value: Mapping[str, Any], fmt: str) -> Batch:
    lengths = set()
    out: dict[str, list[Any]] = {}
    for name, values in value.items():
        column = values if isinstance(values, list) else [values]
        out[str(name)] = column
        lengths.add(len(column))
    if len(lengths) > 1:
        raise DataError(f"{fmt}: the columns have different lengths {sorted(lengths)}", hint=_HINT)
    return Batch(out, lengths.pop() if lengths else 0, fmt)


def _oip(tensors: Sequence[Mapping[str, Any]], model_columns: Sequence[str]) -> Batch:
    if len(tensors) == 1:
        shape = list(tensors[0].get("shape") or [])
        if len(shape) == 2:
            data = _flat(tensors[0]["data"])
            rows, width = int(shape[0]), int(shape[1])
            if rows * width != len(data) or width != len(model_columns):
                raise DataError(
                    f"OIP tensor '{tensors[0]['name']}' has shape {shape} and {len(data)}"
                    f" values; the model takes {len(model_columns)} columns",
                    hint="send a [rows, columns] tensor in the model's column order, or one"
                    " 1-D tensor per column named for it",
                )
            return _from_rows(
                [data[r * width : (r + 1) * width] for r in range(rows)],
                list(model_columns),
                "oip_v2",
            )
    out: dict[str, list[Any]] = {}
    for tensor in tensors:
        out[str(tensor["name"])] = _flat(tensor["data"])
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise DataError(
            f"the OIP input tensors have different lengths {sorted(lengths)}",
            hint="send one 1-D tensor per column, all of the same length",
        )
    return Batch(out, lengths.pop() if lengths else 0, "oip_v2")


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if data and isinstance(data[0], list):
        return [v for part in data for v in _flat(part)]
    return data


class _Missing:
    """A value absent from a record (not the same as JSON null)."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
MISSING: Any = _MISSING
