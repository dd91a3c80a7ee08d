"""The monitoring settings of a policy, with command-line overrides applied."""

from __future__ import annotations

from dataclasses import dataclass

from charter.checks.monitoring.state import DriftSettings
from charter.errors import DataError
from charter.monitor.rules import model_output_columns, prediction_drift_column, window_rules
from charter.monitor.summary import LabelSpec
from charter.monitor.windows import Window
from charter.policy.schema import Policy, Task
from charter.stats.profile import DataProfile


@dataclass(frozen=True, kw_only=True)
class MonitorSettings(DriftSettings):
    """The monitoring settings of a policy, with command-line overrides applied.

    The drift settings (:class:`~charter.checks.monitoring.state.DriftSettings`, which the
    monitoring checks read), plus how the log is cut and read.
    """

    window: Window
    timestamp: str
    columns: list[str] | None
    kinds: dict[str, str]
    min_window_rows: int
    labels: LabelSpec
    #: The model's output columns (prediction and score): never counted in the drift share.
    output_columns: tuple[str, ...] = ()

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        window: str | None = None,
        timestamp: str | None = None,
        reference: DataProfile | None = None,
    ) -> MonitorSettings:
        """Read the settings from the policy; ``window``/``timestamp`` override it.

        The model's output columns are the policy's ``data.prediction`` and ``data.score``,
        else those the registry profiled the model's outputs into (``reference.meta``).
        """
        mon, data = policy.monitoring, policy.data
        prediction, score = model_output_columns(policy, reference)
        ts = timestamp or mon.timestamp_column or data.timestamp_column
        if not ts:
            raise DataError(
                "no timestamp column is known for the inference log",
                hint="pass --timestamp COLUMN or set monitoring.timestamp_column in the policy",
            )
        sensitive = list(dict.fromkeys(policy.sensitive_features))
        for _, rule in window_rules(policy):
            extra = rule.params.get("sensitive")
            if isinstance(extra, list):
                sensitive += [s for s in extra if s not in sensitive]
        labels = LabelSpec(
            target=data.target,
            prediction=prediction,
            score=score,
            sensitive=tuple(sensitive),
            regression=policy.model.task is Task.REGRESSION,
            pos_label=data.positive_label,
            threshold=policy.performance.threshold,
        )
        return cls(
            window=Window.parse(window or mon.window),
            timestamp=ts,
            columns=mon.columns,
            method=None if mon.drift_method == "auto" else mon.drift_method,
            threshold=mon.drift_threshold,
            per_column={k: (v.method, v.threshold) for k, v in mon.per_column.items()},
            kinds={k: v.kind for k, v in mon.per_column.items() if v.kind},
            drift_share=mon.drift_share,
            embeddings=dict(mon.embeddings),
            min_window_rows=mon.min_window_rows,
            prediction_column=prediction_drift_column(policy, reference, columns=mon.columns),
            labels=labels,
            output_columns=tuple(c for c in (prediction, score) if c),
        )
