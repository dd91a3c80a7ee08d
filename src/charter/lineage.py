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
from pathlib import Path
from typing import Any

import yaml

from charter.errors import DataError, NotFoundError
from charter.evidence import environment_snapshot, sha256_file

_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_info(directory: str | Path = ".") -> dict[str, Any] | None:
    """Commit, branch, remote and dirty flag of the git work tree holding ``directory``.

    Returns
    -------
    dict or None
        ``{"commit", "branch", "remote", "dirty"}``; ``None`` outside a git work tree.
    """
    folder = Path(directory)
    status = _git(folder, "status", "--porcelain=v2", "--branch")
    if status is None:
        return None
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
    remote = _git(folder, "config", "--get", f"remote.{remote_name}.url")
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


def reference_profile(path: str | Path, **options: Any) -> dict[str, Any]:
    """The monitoring reference profile of a training data file.

    Built by the monitor's :func:`~charter.monitor.profile.build_profile` on the file read into
    memory with polars, or, above :data:`IN_MEMORY_PROFILE_BYTES`, out of core by
    :func:`~charter.monitor.profile.profile_file` (Parquet or CSV through DuckDB). Returns its
    ``to_dict()``, which the monitor reads back with ``DataProfile.from_dict``.
    """
    from charter.monitor.profile import build_profile, profile_file

    source = Path(path)
    if source.stat().st_size > IN_MEMORY_PROFILE_BYTES:
        profile = profile_file(source, **options)
    else:
        profile = build_profile(_read_table(source), **options)
    result: dict[str, Any] = profile.to_dict()
    return result


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
        return pl.read_csv(source, separator="\t" if suffix == ".tsv" else ",")
    except Exception as exc:
        raise DataError(
            f"cannot read {source} as a table: {exc}",
            hint="check the file is a valid Parquet/CSV/Arrow/JSONL table",
        ) from exc
