"""Lineage: where a model version came from.

* git — commit, branch, remote (credentials stripped) and whether the work tree was dirty;
* data — a fingerprint of each data file: sha256 of its bytes, rows, schema, and the md5 of
  its DVC ``.dvc`` file where the data is tracked by DVC;
* environment — Python, platform and the versions of the packages that shape results.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from charter.errors import DataError, NotFoundError
from charter.evidence import environment_snapshot, sha256_file

_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def _start_git(directory: Path, *args: str) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(
            ["git", "-C", str(directory), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:
        return None


def _finish_git(process: subprocess.Popen[str] | None) -> str | None:
    if process is None:
        return None
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return out if process.returncode == 0 else None


def start_git_info(directory: str | Path = ".") -> Callable[[], dict[str, Any] | None]:
    """Start reading :func:`git_info` of ``directory``; call what it returns to get the result.

    The two git processes (status, remote URLs) run while the caller does other work:
    registering a version waits for them only when it writes its lineage. Call the result on
    every path (it waits for the processes once and then returns the same answer).
    """
    folder = Path(directory)
    status_process = _start_git(folder, "status", "--porcelain=v2", "--branch")
    remotes_process = _start_git(folder, "config", "--get-regexp", r"^remote\..*\.url$")

    done: list[dict[str, Any] | None] = []

    def result() -> dict[str, Any] | None:
        if not done:  # the processes are waited for once, however often this is called
            status = _finish_git(status_process)
            remotes = _finish_git(remotes_process) or ""
            done.append(None if status is None else _parse_git(status, remotes))
        return done[0]

    return result


def git_info(directory: str | Path = ".") -> dict[str, Any] | None:
    """Commit, branch, remote and dirty flag of the git work tree holding ``directory``.

    Returns
    -------
    dict or None
        ``{"commit", "branch", "remote", "dirty"}``; ``None`` outside a git work tree.
    """
    return start_git_info(directory)()


def _parse_git(status: str, remotes: str) -> dict[str, Any]:
    commit = branch = upstream = None
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            branch = None if head == "(detached)" else head
        elif line.startswith("# branch.upstream "):
            upstream = line.split(" ", 2)[2]
        elif line and not line.startswith("#"):
            dirty = True
    remote_name = upstream.split("/", 1)[0] if upstream else "origin"
    urls = dict(line.split(" ", 1) for line in remotes.splitlines() if " " in line)
    remote = urls.get(f"remote.{remote_name}.url")
    return {
        "commit": commit,
        "branch": branch,
        "remote": _CREDENTIALS.sub("", remote.strip()) if remote else None,
        "dirty": dirty,
    }


def dvc_info(path: str | Path) -> dict[str, Any] | None:
    """The DVC record of ``path``: its own ``.dvc`` file, or that of a tracked parent folder."""
    source = Path(path).resolve()
    for candidate in (source, *source.parents):
        if not candidate.name:
            continue
        dvc_file = candidate.with_name(candidate.name + ".dvc")
        if not dvc_file.is_file():
            continue
        try:
            data = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return {"dvc_file": str(dvc_file), "md5": None, "error": "unreadable .dvc file"}
        outs = data.get("outs") or [{}]
        out = outs[0] if isinstance(outs, list) and outs else {}
        return {
            "dvc_file": str(dvc_file),
            "md5": out.get("md5"),
            "path": out.get("path"),
            "tracked": str(candidate),
        }
    return None


def data_fingerprint(path: str | Path, *, kind: str = "data") -> dict[str, Any]:
    """Content hash, rows, schema and DVC record of a data file (Parquet, CSV, Arrow, JSONL).

    Raises
    ------
    NotFoundError
        The file does not exist.
    DataError
        The file cannot be read as a table.
    """
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(f"no data file at {source}", hint="check the path of --train-data")
    rows, schema = _rows_and_schema(source)
    return {
        "kind": kind,
        "path": str(source),
        "sha256": sha256_file(source),
        "size_bytes": source.stat().st_size,
        "format": source.suffix.lstrip(".").lower() or None,
        "rows": rows,
        "schema": schema,
        "dvc": dvc_info(source),
    }


def _rows_and_schema(source: Path) -> tuple[int, dict[str, str]]:
    import polars as pl

    suffix = source.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.read_metadata(source)
            schema = pq.read_schema(source)
            return int(meta.num_rows), {f.name: str(f.type) for f in schema}
        if suffix in (".csv", ".tsv", ".txt"):
            lazy = pl.scan_csv(source, separator="\t" if suffix == ".tsv" else ",")
        elif suffix in (".arrow", ".feather", ".ipc"):
            lazy = pl.scan_ipc(source)
        elif suffix in (".jsonl", ".ndjson"):
            lazy = pl.scan_ndjson(source)
        else:
            raise DataError(
                f"cannot read {source}: unknown data format '{suffix or 'none'}'",
                hint="use Parquet, CSV, Arrow IPC or JSON lines",
            )
        schema = {name: str(dtype) for name, dtype in lazy.collect_schema().items()}
        rows = int(lazy.select(pl.len()).collect().item())
        return rows, schema
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"cannot read {source} as a table: {exc}",
            hint="check the file is a valid Parquet/CSV/Arrow/JSONL table",
        ) from exc


def environment() -> dict[str, Any]:
    """Python, platform and tracked package versions (same form as evidence bundles).

    Read once per process (package metadata is slow to parse and does not change under a
    running interpreter).
    """
    return copy.deepcopy(_environment())


@functools.cache
def _environment() -> dict[str, Any]:
    return environment_snapshot()


#: Training files up to this size are profiled in memory (fast); larger ones out of core.
IN_MEMORY_PROFILE_BYTES = 512 * 1024 * 1024

#: The model's outputs on training data with more rows are computed on a seeded sample of this
#: many rows (the profile's ``meta.model_outputs`` says so).
MODEL_OUTPUT_ROWS = 1_000_000

#: Names of the model-output columns when the policy does not set ``data.score`` /
#: ``data.prediction`` (monitoring reads them from the profile's ``meta``).
DEFAULT_SCORE_COLUMN = "score"
DEFAULT_PREDICTION_COLUMN = "prediction"


def reference_profile(
    path: str | Path,
    *,
    model: Any = None,
    policy: Any = None,
    max_model_rows: int = MODEL_OUTPUT_ROWS,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """The monitoring reference profile of a training data file, with the model's outputs.

    The data is profiled by the monitor's :func:`~charter.monitor.profile.build_profile` on the
    file read into memory with polars, or, above :data:`IN_MEMORY_PROFILE_BYTES`, out of core
    by :func:`~charter.monitor.profile.profile_file` (Parquet or CSV through DuckDB).

    With ``model`` (and its ``policy``), the model's outputs on the training rows are profiled
    too, so production prediction drift has a reference: the positive-class score (column
    ``data.score``, default ``score``) when the model has ``predict_proba``, and the
    prediction (``data.prediction``, default ``prediction``). They are computed the way the
    gate computes them (:class:`~charter.checks.context.CheckContext`: the model's features,
    one ``predict_proba`` pass), on every row, or on a seeded uniform sample of
    ``max_model_rows`` rows of larger data. ``meta["model_outputs"]`` of the profile records
    the columns, the rows used and whether they were sampled; an output whose name the
    training data already uses is not computed (the data's column is the reference) and is
    listed under ``skipped``.

    Parameters
    ----------
    path
        Training data: Parquet, CSV, Arrow IPC or JSON lines.
    model
        The fitted model, loaded safely by the caller (the registry loads it with the skops
        types it recorded).
    policy
        The version's :class:`~charter.policy.schema.Policy` (task, positive label, features,
        output column names); needed with ``model``.
    max_model_rows
        Most rows the model predicts on.
    seed
        Seed of the sample of rows.
    **options
        Passed to ``build_profile`` (``bins``, ``kinds``).

    Returns
    -------
    dict
        The profile's ``to_dict()``, which the monitor reads back with
        ``DataProfile.from_dict``.

    Raises
    ------
    DataError
        The file cannot be read, or the model cannot predict on it.
    """
    from charter.monitor.profile import build_profile, profile_file

    source = Path(path)
    table = None
    if source.stat().st_size > IN_MEMORY_PROFILE_BYTES:
        profile = profile_file(source, **options)
    else:
        table = _read_table(source)
        profile = build_profile(table, **options)
    if model is not None:
        if policy is None:
            raise ValueError("reference_profile needs the policy to compute model outputs")
        frame, meta = _model_outputs(source, table, model, policy, max_model_rows, seed)
        if frame.width:
            kinds = {k: v for k, v in (options.get("kinds") or {}).items() if k in frame.columns}
            outputs = build_profile(frame, **{**options, "kinds": kinds})
            profile = replace(
                profile,
                columns={**profile.columns, **outputs.columns},
                meta={**profile.meta, "model_outputs": meta},
            )
        else:
            profile = replace(profile, meta={**profile.meta, "model_outputs": meta})
    result: dict[str, Any] = profile.to_dict()
    return result


def _model_outputs(
    source: Path, table: Any, model: Any, policy: Any, max_rows: int, seed: int
) -> tuple[Any, dict[str, Any]]:
    """The model's score and prediction on (a seeded sample of) the training rows."""
    import narwhals as nw
    import numpy as np
    import polars as pl

    from charter.checks.context import CheckContext
    from charter.errors import CharterError

    if table is None:
        import pyarrow.dataset as ds

        dataset = ds.dataset(str(source), format=_arrow_format(source))
        rows = int(dataset.count_rows())
    else:
        rows = int(table.height)
    sampled = rows > max_rows
    take = (
        np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
        if sampled
        else None
    )
    if table is None:
        arrow = dataset.take(take) if take is not None else dataset.to_table()
        table_used = pl.from_arrow(arrow)
        assert isinstance(table_used, pl.DataFrame)
    else:
        table_used = table[take] if take is not None else table
    names = {
        "score": policy.data.score or DEFAULT_SCORE_COLUMN,
        "prediction": policy.data.prediction or DEFAULT_PREDICTION_COLUMN,
    }
    skipped = {
        role: f"the training data has a column '{name}'"
        for role, name in names.items()
        if name in table_used.columns
    }
    ctx = CheckContext(policy=policy, data=nw.from_native(table_used, eager_only=True), model=model)
    columns: dict[str, Any] = {}
    try:
        if "score" not in skipped:
            scores = ctx.scores()
            if scores is not None:
                columns[names["score"]] = scores
        if "prediction" not in skipped:
            columns[names["prediction"]] = np.asarray(ctx.raw_predictions())
    except CharterError as exc:
        raise DataError(
            f"cannot compute the model's outputs on the training data {source}: {exc.message}",
            hint="pass the data the model was trained on as --train-data (with the model's"
            " feature columns), or register without --train-data",
        ) from None
    meta: dict[str, Any] = {
        "score": names["score"] if names["score"] in columns else None,
        "prediction": names["prediction"] if names["prediction"] in columns else None,
        "rows": int(table_used.height),
        "training_rows": rows,
        "sampled": sampled,
        "seed": seed if sampled else None,
        "max_rows": max_rows,
    }
    if skipped:
        meta["skipped"] = skipped
    return pl.DataFrame(columns), meta


def _arrow_format(source: Path) -> Any:
    import pyarrow.csv as pa_csv
    import pyarrow.dataset as ds

    suffix = source.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        delimiter = "\t" if suffix == ".tsv" else ","
        return ds.CsvFileFormat(parse_options=pa_csv.ParseOptions(delimiter=delimiter))
    if suffix in (".arrow", ".feather", ".ipc"):
        return "ipc"
    if suffix in (".jsonl", ".ndjson"):
        return "json"
    return "parquet"


def _read_table(source: Path) -> Any:
    import polars as pl

    suffix = source.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(source)
        if suffix in (".arrow", ".feather", ".ipc"):
            return pl.read_ipc(source)
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(source)
        return pl.read_csv(
            source, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=10_000
        )
    except Exception as exc:
        raise DataError(
            f"cannot read {source} as a table: {exc}",
            hint="check the file is a valid Parquet/CSV/Arrow/JSONL table",
        ) from exc
