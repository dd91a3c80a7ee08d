"""The gate: run a policy's rules over data and a model, and return Evidence.

:func:`check` is the whole ``charter check`` as a function: it loads what it is given by path
(policy, data, model, baseline), runs every rule that gates the stage, fingerprints the inputs,
and returns an :class:`~charter.evidence.Evidence` bundle — writing ``evidence.json``,
``report.html`` and ``summary.md`` when ``out`` is given. :func:`run_gate` is the core for
callers that already hold a :class:`~charter.checks.CheckContext`.

Two kinds of problems are told apart:

* **input problems that make the whole gate meaningless** — a missing data file, a missing
  target, sensitive or feature column, NaN or non-binary labels, predictions of the wrong length,
  a sensitive column with a single group, a corrupt or untrusted model — raise a
  :class:`~charter.errors.CharterError` (the CLI exits 2). They are found before any rule runs,
  and any :class:`~charter.errors.DataError` a check raises is treated the same way.
* **a problem specific to one rule** — a check that cannot run on this context (no baseline, no
  scores), SHAP failing on this model — becomes an ``error`` finding for that rule, which blocks
  like a failure, and the gate goes on with the other rules.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from charter.artifacts import DEFAULT_TRUSTED_TYPES, load_model, model_fingerprint, model_type
from charter.checks.context import CheckContext
from charter.checks.mitigation import mitigation_record
from charter.checks.registry import CheckSpec
from charter.checks.runner import prepare_rule, run_prepared
from charter.errors import CharterError, DataError
from charter.evidence import (
    Evidence,
    Finding,
    Fingerprint,
    canonical_json,
    fingerprint_file,
    sha256_bytes,
)
from charter.policy import Policy, load_policy
from charter.policy.schema import STAGES
from charter.stats.frames import (
    AnyFrame,
    fingerprint_frame,
    is_lazy,
    num_rows,
    read_data_file,
    require_columns,
    schema_of,
    to_frame,
)

#: Name of the column added to the data when predictions or scores are passed as arrays.
PREDICTION_COLUMN = "__charter_prediction__"
SCORE_COLUMN = "__charter_score__"


def check(
    policy: str | Path | Policy,
    data: Any,
    *,
    model: Any | None = None,
    target: str | None = None,
    baseline: Any | None = None,
    predictions: str | Sequence[Any] | np.ndarray | None = None,
    scores: str | Sequence[Any] | np.ndarray | None = None,
    stage: str | None = None,
    out: str | Path | None = None,
    trust_pickle: bool = False,
    sha256: str | None = None,
    trusted_types: Sequence[str] | None = None,
    progress: bool | None = None,
) -> Evidence:
    """Run the gate: evaluate a policy against data and a model, return the evidence.

    Parameters
    ----------
    policy
        Path of a ``policy.yaml``, or a loaded :class:`~charter.policy.Policy`.
    data
        Evaluation data: a Parquet/CSV/Arrow file path, or a pandas/polars/pyarrow/DuckDB frame.
    model
        Path of a model artifact (``.skops``; pickle/joblib with ``sha256`` or
        ``trust_pickle``) or a fitted estimator. ``None`` to check predictions from a column.
    target
        Column of true labels; default ``data.target`` of the policy.
    baseline
        The model in production (path or estimator), for ``max_drop`` performance rules.
    predictions, scores
        Column names of predictions / positive-class scores in ``data`` (to check without a
        model), or arrays with one value per row.
    stage
        Only rules that gate this stage (``staging`` or ``production``); default: every rule.
    out
        Folder to write ``evidence.json``, ``report.html`` and ``summary.md`` into.
    trust_pickle
        Allow loading pickle/joblib model files without a hash.
    sha256
        Expected sha256 of the model file; a pickle/joblib file that matches is trusted.
    trusted_types
        Extra types to trust in ``.skops`` files, beyond
        :data:`charter.artifacts.DEFAULT_TRUSTED_TYPES`.
    progress
        Show a progress bar on stderr; default: when stderr is a terminal.

    Returns
    -------
    Evidence
        ``evidence.passed`` tells whether every blocking rule passed;
        ``evidence.raise_for_failure()`` raises :class:`~charter.errors.GateFailedError` if not.

    Raises
    ------
    CharterError
        When the inputs make the gate meaningless (see the module docstring).

    Examples
    --------
    >>> evidence = charter.check("policy.yaml", "holdout.parquet", model="model.skops",
    ...                          target="default", out="charter-out")  # doctest: +SKIP
    >>> evidence.raise_for_failure()  # doctest: +SKIP
    """
    started = time.perf_counter()
    loaded_policy = policy if isinstance(policy, Policy) else load_policy(policy)
    if stage is not None and stage not in STAGES:
        raise CharterError(
            f"unknown stage '{stage}'", hint=f"use one of {', '.join(STAGES)} or leave it out"
        )

    frame, data_path = _load_data(data)
    trust = [*DEFAULT_TRUSTED_TYPES, *(trusted_types or ())]
    inputs: dict[str, Fingerprint] = {}
    models: dict[str, dict[str, Any]] = {}
    loaded_model = baseline_model = None
    if model is not None:
        loaded_model, inputs["model"], models["model"] = _load_model(
            model, "model", trust, sha256=sha256, trust_pickle=trust_pickle
        )
    if baseline is not None:
        baseline_model, inputs["baseline"], models["baseline"] = _load_model(
            baseline, "baseline", trust, sha256=None, trust_pickle=trust_pickle
        )

    data_fingerprint = _fingerprint_data(frame, data_path)
    prediction_column = _attach_input(frame, predictions, PREDICTION_COLUMN, "predictions", inputs)
    if not isinstance(prediction_column, str):
        frame, prediction_column = prediction_column
    score_column = _attach_input(frame, scores, SCORE_COLUMN, "scores", inputs)
    if not isinstance(score_column, str):
        frame, score_column = score_column
    inputs["data"] = data_fingerprint

    ctx = CheckContext(
        policy=loaded_policy,
        data=frame,
        stage=stage,
        model=loaded_model,
        baseline=baseline_model,
        target=target,
        prediction_column=prediction_column or None,
        score_column=score_column or None,
    )
    extras: dict[str, Any] = {"models": models}
    mitigation = mitigation_record(loaded_model)
    if mitigation is not None:
        extras["mitigation"] = mitigation
    evidence = run_gate(ctx, inputs=inputs, progress=progress, extras=extras, started=started)
    if out is not None:
        from charter.report import write_outputs

        write_outputs(evidence, out)
    return evidence


def run_gate(
    ctx: CheckContext,
    *,
    inputs: Mapping[str, Fingerprint] | None = None,
    progress: bool | None = None,
    extras: Mapping[str, Any] | None = None,
    started: float | None = None,
) -> Evidence:
    """Run every rule of ``ctx.policy`` that gates ``ctx.stage`` and return the evidence.

    Parameters
    ----------
    ctx
        The context (policy, data, model, stage).
    inputs
        Fingerprints of the inputs (data, model, baseline); the data's is computed when absent.
    progress
        Show a rich progress bar on stderr; default: when stderr is a terminal.
    extras
        More JSON-able facts to record in ``evidence.extras``.
    started
        ``time.perf_counter()`` at the start of the run, when loading happened before.

    Raises
    ------
    CharterError
        When the inputs make the whole gate meaningless.
    """
    started = time.perf_counter() if started is None else started
    policy = ctx.policy
    rules = [prepare_rule(section, rule) for section, rule in policy.gate_rules(ctx.stage)]
    preflight(ctx, [(r.spec, r.params) for r in rules])

    fingerprints = dict(inputs or {})
    if "data" not in fingerprints:
        fingerprints["data"] = _fingerprint_data(ctx.data, None)

    findings: list[Finding] = []
    timings: dict[str, float] = {}
    console = Console(stderr=True)
    show = console.is_terminal if progress is None else progress
    with Progress(
        TextColumn("[bold]charter check[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show,
    ) as bar:
        task = bar.add_task("", total=len(rules))
        for prepared in rules:
            bar.update(task, description=f"{prepared.section} · {prepared.rule.id}")
            t0 = time.perf_counter()
            findings.extend(run_prepared(ctx, prepared, reraise=(DataError,)))
            timings[prepared.rule.id] = round(time.perf_counter() - t0, 6)
            bar.advance(task)

    run = {
        "duration_seconds": round(time.perf_counter() - started, 6),
        "rule_seconds": timings,
        "target": ctx.target,
        "prediction_column": ctx.prediction_column,
        "score_column": ctx.score_column,
        "features": list(ctx.features or []),
        "sensitive": policy.sensitive_features,
        "protected": list(
            dict.fromkeys([*policy.data.sensitive, *policy.privacy.protected_attributes])
        ),
        "id_column": policy.data.id_column,
        "rules": len(rules),
    }
    return Evidence(
        model_name=policy.model.name,
        stage=ctx.stage,
        policy=Fingerprint(kind="policy", sha256=_policy_digest(policy), path=policy.source),
        inputs=fingerprints,
        findings=tuple(findings),
        extras={
            "model_card": {
                "owner": policy.model.owner,
                "risk_tier": policy.model.risk_tier.value,
                "task": policy.model.task.value,
                "intended_use": policy.model.intended_use,
            },
            "data_summary": data_summary(ctx.data),
            "run": run,
            **dict(extras or {}),
        },
    )


def preflight(ctx: CheckContext, rules: Sequence[tuple[CheckSpec, BaseModel]]) -> None:
    """Validate the inputs every rule relies on, before any rule runs.

    Raises :class:`~charter.errors.DataError` for: empty data; a target column that is missing
    or holds NaN / non-binary labels; a model that cannot predict on the data or predictions
    that are not binary; a missing sensitive column, or one with fewer than two groups; a
    privileged value absent from the data.
    """
    needs: set[str] = set()
    for spec, _ in rules:
        needs |= spec.needs
    if num_rows(ctx.data) == 0:
        raise DataError("the data has no rows", hint="check the file or the filter that made it")
    if not ctx.target and "y_true" in needs:
        labelled = sorted({spec.id for spec, _ in rules if "y_true" in spec.needs})
        raise DataError(
            f"{', '.join(labelled)} need{'s' if len(labelled) == 1 else ''} true labels but no"
            " target column was given",
            hint="pass --target COLUMN or set data.target in the policy; without labels, data,"
            " privacy and selection-rate fairness rules (demographic parity, disparate impact,"
            " four-fifths) can run",
        )
    if ctx.target or "y_true" in needs:
        ctx.y_true()
    if needs & {"y_pred", "model"} and (ctx.model is not None or ctx.prediction_column):
        ctx.y_pred()
    if "scores" in needs and ctx.score_column and ctx.model is None:
        ctx.scores()
    if ctx.policy.data.weight:
        require_columns(ctx.data, [ctx.policy.data.weight], role="weight")
    for columns in _sensitive_sets(ctx, rules):
        _require_groups(ctx, columns)


def _sensitive_sets(
    ctx: CheckContext, rules: Sequence[tuple[CheckSpec, BaseModel]]
) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    defaults = tuple(ctx.policy.sensitive_features)
    for spec, params in rules:
        if "sensitive" not in spec.needs and spec.section != "fairness":
            continue
        named = getattr(params, "sensitive", None)
        if isinstance(named, str):
            named = [named]
        columns = tuple(named) if named else defaults
        if not columns:
            raise DataError(
                f"the {spec.id} check needs sensitive columns but none are named",
                hint="set fairness.sensitive (or data.sensitive) in the policy,"
                " or params.sensitive on the rule",
            )
        for column in columns:
            if (column,) not in sets:
                sets.append((column,))
    return sets


def _require_groups(ctx: CheckContext, columns: tuple[str, ...]) -> None:
    require_columns(ctx.data, list(columns), role="sensitive column")
    index = ctx.group_index(columns)
    name = columns[0]
    if index.size < 2:
        only = index.keys[0][0] if index.keys else None
        raise DataError(
            f"sensitive column '{name}' has a single group ({name}={only}) in the data, so no"
            " group can be compared with another",
            hint="evaluate on data that holds every group, or drop the column from"
            " fairness.sensitive",
        )
    privileged = ctx.policy.fairness.privileged
    if name in privileged:
        present = [key[0] for key in index.keys]
        wanted = privileged[name]
        if wanted not in present and str(wanted) not in [str(p) for p in present]:
            raise DataError(
                f"the privileged group {name}={wanted!r} has no rows in the data",
                hint=f"fix fairness.privileged.{name}; the data has "
                + ", ".join(repr(p) for p in present[:10]),
            )


def data_summary(frame: AnyFrame) -> dict[str, Any]:
    """Rows, and per column its dtype and share of missing values (one aggregation)."""
    schema = schema_of(frame)
    rows = num_rows(frame)
    columns = list(schema)
    nulls: tuple[Any, ...] = ()
    if columns and rows:
        result: Any = frame.select(*[nw.col(c).null_count().alias(c) for c in columns])
        if isinstance(result, nw.LazyFrame):
            result = result.collect()
        nulls = result.row(0)
    return {
        "rows": rows,
        "columns": [
            {
                "name": name,
                "dtype": schema[name],
                "null_fraction": (float(nulls[i]) / rows) if nulls else 0.0,
            }
            for i, name in enumerate(columns)
        ],
    }


def _fingerprint_data(frame: AnyFrame, path: Path | None) -> Fingerprint:
    """The data file's bytes; for an in-memory frame its Arrow IPC bytes (a lazy one collected)."""
    if path is None and isinstance(frame, nw.LazyFrame):
        return fingerprint_frame(frame.collect(), kind="data")
    return fingerprint_frame(frame, kind="data", path=path)


def _policy_digest(policy: Policy) -> str:
    """The loader's hash, or the hash of the canonical dump of a policy built in code."""
    if policy.sha256:
        return policy.sha256
    dumped = policy.model_dump(mode="json", exclude={"source", "sha256"})
    return sha256_bytes(canonical_json(dumped))


def _load_data(data: Any) -> tuple[AnyFrame, Path | None]:
    if isinstance(data, str | Path):
        return read_data_file(data), Path(data)
    return to_frame(data), None


def _load_model(
    model: Any,
    role: str,
    trusted: Sequence[str],
    *,
    sha256: str | None,
    trust_pickle: bool,
) -> tuple[Any, Fingerprint, dict[str, Any]]:
    if isinstance(model, str | Path):
        loaded = load_model(model, trusted_types=trusted, sha256=sha256, trust_pickle=trust_pickle)
        fingerprint = model_fingerprint(loaded, model, kind=role)
        return loaded, fingerprint, {"type": model_type(loaded), "path": str(model)}
    if not callable(getattr(model, "predict", None)):
        raise CharterError(
            f"the {role} is a {type(model).__name__}, which has no predict method",
            hint="pass a fitted estimator or the path of a .skops file",
        )
    return model, model_fingerprint(model, kind=role), {"type": model_type(model)}


def _attach_input(
    frame: AnyFrame, values: Any, name: str, role: str, inputs: dict[str, Fingerprint]
) -> str | tuple[AnyFrame, str]:
    """:func:`_attach`, reading a one-column file first (fingerprinted as ``inputs[role]``).

    A file's values join the data under the file's own column name (unless the data already
    has that column), so evidence names what the user wrote, not an internal column.
    """
    source = values_file(values, role)
    if source is None:
        return _attach(frame, values, name, role)
    array, column, path = source
    if column not in schema_of(frame):
        name = column
    inputs[role] = fingerprint_file(path, kind=role, rows=int(array.shape[0]))
    return _attach(frame, array, name, role)


def values_file(value: Any, role: str) -> tuple[np.ndarray, str, Path] | None:
    """The values, column name and path of a one-column data file, or ``None`` for a column.

    ``value`` names a file when it is a path with a data file's suffix (Parquet, CSV, Arrow).

    Raises
    ------
    DataError
        The file does not exist or has more than one column.
    """
    from charter.stats.frames import SUPPORTED_DATA_FILES

    if not isinstance(value, str | Path):
        return None
    path = Path(value)
    if path.suffix.lower() not in SUPPORTED_DATA_FILES:
        return None
    if not path.exists():
        raise DataError(f"{role} file {path} does not exist", hint="check the path")
    loaded = read_data_file(path)
    columns = list(schema_of(loaded))
    if len(columns) != 1:
        raise DataError(
            f"{role} file {path} has {len(columns)} columns; it must have exactly one",
            hint=f"write only the {role} to the file, or add them to the data and pass the"
            " column name",
        )
    if isinstance(loaded, nw.LazyFrame):
        loaded = loaded.collect()
    return np.asarray(loaded.get_column(columns[0]).to_numpy()), columns[0], path


def _attach(frame: AnyFrame, values: Any, name: str, role: str) -> str | tuple[AnyFrame, str]:
    """A column name as given, or array values added to the frame under ``name``."""
    if values is None:
        return ""
    if isinstance(values, str):
        require_columns(frame, [values], role=role.rstrip("s"))
        return values
    if is_lazy(frame):
        raise DataError(
            f"{role} given as values cannot be joined to a lazy frame",
            hint=f"add the {role} as a column of the data and pass its name",
        )
    array = np.asarray(values).ravel()
    rows = num_rows(frame)
    if array.shape[0] != rows:
        raise DataError(
            f"{role} have {array.shape[0]} values but the data has {rows} rows",
            hint=f"pass one {role.rstrip('s')} per row of the data, in the same order",
        )
    assert isinstance(frame, nw.DataFrame)
    series = nw.new_series(name, array, backend=nw.get_native_namespace(frame))
    return frame.with_columns(series), name
