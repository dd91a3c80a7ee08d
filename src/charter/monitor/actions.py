"""What a monitoring run does with its verdict.

* **registry**: the evidence is recorded against the model version (an audit entry in the same
  transaction) so the dashboard shows it; on a violation the version can be flagged
  ``needs-review`` (``monitoring.mark_needs_review``);
* **webhook**: a Slack-compatible JSON message (``text`` plus ``blocks``) is POSTed to
  ``monitoring.webhook`` on a violation (or after every run with ``webhook_on: always``);
* **Prometheus**: gauges per model version (drift share, per-column drift scores and verdicts,
  per-rule values and verdicts, rows, last run time), written to a textfile for the node
  exporter's textfile collector and/or served on ``/metrics``;
* **command**: ``monitoring.command`` runs on a violation (a retraining job), with the run's
  facts in its environment: ``CHARTER_MODEL``, ``CHARTER_VERSION``, ``CHARTER_STATUS``,
  ``CHARTER_EVIDENCE`` (path of the evidence JSON) and ``CHARTER_VIOLATIONS`` (rule ids).

``${NAME}`` references in ``monitoring.webhook`` and ``monitoring.command`` are kept as written
when the policy is loaded (the registry and evidence hold the reference, never the secret) and
expanded from the environment here, when the action runs. An unset variable fails that action
with a message naming the variable and the key (:func:`unset_variables` lets a caller warn
before the run).

An action that fails (an unreachable webhook, an unset variable, a command exiting non-zero) is
reported in its :class:`ActionOutcome`; it never hides the verdict.
"""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from charter.errors import PolicyError
from charter.evidence import Verdict
from charter.monitor.allowlist import ActionAllowList, scrubbed_environment, secret_references
from charter.policy.loader import environment_references, expand_environment
from charter.policy.schema import NEEDS_REVIEW

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from charter.monitor.run import MonitorResult

WEBHOOK_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class ActionOutcome:
    """What one action did.

    Attributes
    ----------
    action
        ``registry``, ``flag``, ``webhook``, ``prometheus``, ``command``.
    ok
        Whether it succeeded.
    detail
        What happened, for the log.
    """

    action: str
    ok: bool
    detail: str


def take_actions(
    result: MonitorResult,
    *,
    registry: Any = None,
    actor: Any = None,
    evidence_path: str | Path | None = None,
    webhook: str | None = None,
    webhook_on: str | None = None,
    command: str | None = None,
    mark_needs_review: bool | None = None,
    prometheus_textfile: str | Path | None = None,
    prometheus_registry: CollectorRegistry | None = None,
    report_url: str | None = None,
    allow: ActionAllowList | None = None,
) -> list[ActionOutcome]:
    """Take the actions of the policy's ``monitoring`` section (arguments override it).

    Parameters
    ----------
    result
        The monitoring run.
    registry, actor
        A :class:`charter.registry.Registry` and the acting user; without them nothing is
        recorded or flagged.
    evidence_path
        Where the evidence JSON was written (passed to the command).
    webhook, webhook_on, command, mark_needs_review, prometheus_textfile
        Override the policy's settings.
    prometheus_registry
        Also update gauges in this registry (e.g. the one served on ``/metrics``).
    report_url
        Link put in the webhook message.
    allow
        What the policy's own webhook, textfile and command may do (arguments given here are
        the caller's and always allowed). Default: the registry's allow-list when a registry
        is given (:meth:`~charter.registry.Registry.monitoring_allowlist`), else everything.
    """
    mon = result.run.policy.monitoring
    if allow is None:
        allow = (
            registry.monitoring_allowlist(actor=actor)
            if registry is not None
            else ActionAllowList.everything()
        )
    webhook_on = webhook_on or mon.webhook_on
    flag = mark_needs_review if mark_needs_review is not None else mon.mark_needs_review
    violated = not result.passed
    outcomes: list[ActionOutcome] = []
    if registry is not None and actor is not None and result.run.model_version is not None:
        outcomes.append(_record(registry, actor, result))
        if violated and flag:
            outcomes.append(_flag(registry, actor, result))
    refused: list[ActionOutcome] = []
    webhook = _permitted(webhook, mon.webhook, allow.webhook_allowed, "webhook", allow, refused)
    textfile = _permitted(
        str(prometheus_textfile) if prometheus_textfile is not None else None,
        mon.prometheus_textfile,
        allow.textfile_allowed,
        "prometheus",
        allow,
        refused,
    )
    command = _permitted(command, mon.command, allow.command_allowed, "command", allow, refused)
    outcomes.extend(refused)
    if webhook and (violated or webhook_on == "always"):
        outcomes.append(post_webhook(webhook, slack_message(result, report_url=report_url)))
    if textfile or prometheus_registry is not None:
        outcomes.append(update_prometheus(result, textfile=textfile, registry=prometheus_registry))
    if command and violated:
        outcomes.append(run_command(command, result, evidence_path=evidence_path))
    return outcomes


def _permitted(
    given: str | None,
    from_policy: str | None,
    allowed: Any,
    action: str,
    allow: ActionAllowList,
    refused: list[ActionOutcome],
) -> str | None:
    """The caller's value as given, or the policy's when the allow-list admits it."""
    if given is not None:
        return given
    if not from_policy:
        return None
    if allowed(from_policy):
        return from_policy
    shown = _redact(from_policy) if action == "webhook" else from_policy
    refused.append(ActionOutcome(action, False, f"{shown}: {allow.refusal(action, from_policy)}"))
    return None


def _record(registry: Any, actor: Any, result: MonitorResult) -> ActionOutcome:
    run = result.run
    try:
        record_id = registry.record_monitoring(
            run.model_name, run.model_version, result.evidence, actor=actor
        )
    except Exception as exc:
        return ActionOutcome("registry", False, f"could not record the evidence: {exc}")
    return ActionOutcome(
        "registry", True, f"evidence {record_id} recorded for {run.model_name}:{run.model_version}"
    )


def _flag(registry: Any, actor: Any, result: MonitorResult) -> ActionOutcome:
    """Flag the version ``needs-review`` unless that flag is already open on it.

    Each run's evidence is still recorded; a schedule does not pile up flags. Once someone
    resolved the flag, the next violation raises a new one.
    """
    run = result.run
    reason = "; ".join(f"{f.rule_id}: {f.message}" for f in result.evidence.blocking_findings)
    try:
        version = registry.get_version(run.model_name, run.model_version, actor=actor)
        if any(f.flag == NEEDS_REVIEW for f in version.open_flags):
            return ActionOutcome(
                "flag", True, f"{run.model_name}:{run.model_version} is already {NEEDS_REVIEW}"
            )
        registry.flag_version(
            run.model_name, run.model_version, NEEDS_REVIEW, reason[:1000], actor=actor
        )
    except Exception as exc:
        return ActionOutcome("flag", False, f"could not flag the version: {exc}")
    return ActionOutcome(
        "flag", True, f"{run.model_name}:{run.model_version} marked {NEEDS_REVIEW}"
    )


# -- webhook ------------------------------------------------------------------------------------


def slack_message(result: MonitorResult, *, report_url: str | None = None) -> dict[str, Any]:
    """The Slack-compatible message of a run (``text`` for any webhook, ``blocks`` for Slack)."""
    run = result.run
    version = f":{run.model_version}" if run.model_version else ""
    status = result.evidence.status
    icon = {"failed": ":red_circle:", "passed_with_warnings": ":warning:"}.get(
        status, ":large_green_circle:"
    )
    problems = [f for f in result.findings if f.verdict in (Verdict.FAIL, Verdict.ERROR)]
    head = f"{icon} Charter monitoring: {run.model_name}{version} {status.replace('_', ' ')}"
    lines = [f"• *{f.rule_id}* ({f.severity.value}): {f.message}" for f in problems[:10]]
    if len(problems) > 10:
        lines.append(f"• … and {len(problems) - 10} more")
    summary = run.summary
    period = (
        f"{summary.first:%Y-%m-%d %H:%M} → {summary.last:%Y-%m-%d %H:%M} UTC"
        if summary.first and summary.last
        else "no rows"
    )
    context = (
        f"{summary.rows:,} rows, {len(run.windows)} windows of {run.settings.window}, {period}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head.split(" ", 1)[1][:150]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "\n".join(lines) or "all rules pass"},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    if report_url:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<{report_url}|Open the report>"},
            }
        )
    return {"text": head + ("\n" + "\n".join(lines) if lines else ""), "blocks": blocks}


def unset_variables(
    policy: Any, *, webhook: str | None = None, command: str | None = None
) -> list[str]:
    """Warnings for ``${NAME}`` references of the webhook and command that are unset now.

    ``webhook`` and ``command`` override the policy's ``monitoring`` settings, as in
    :func:`take_actions`. Each warning names the key and the variable, never a value.
    """
    mon = policy.monitoring
    out = []
    for key, value in (
        ("monitoring.webhook", webhook if webhook is not None else mon.webhook),
        ("monitoring.command", command if command is not None else mon.command),
    ):
        for name in environment_references(value or ""):
            if name not in os.environ:
                out.append(f"{key} refers to ${{{name}}}, which is not set in this environment")
    return out


def _failed_expansion(action: str, exc: PolicyError) -> ActionOutcome:
    return ActionOutcome(action, False, f"{exc.message} ({exc.hint})" if exc.hint else exc.message)


def post_webhook(url: str, message: dict[str, Any]) -> ActionOutcome:
    """POST ``message`` as JSON to ``url`` (10 s timeout).

    ``${NAME}`` references in ``url`` are expanded from the environment first; the URL's path
    (a secret for Slack) is never put in the outcome.
    """
    import httpx

    try:
        _refuse_secrets(url, "monitoring.webhook")
        url = expand_environment(url, key_path="monitoring.webhook", environ=scrubbed_environment())
    except PolicyError as exc:
        return _failed_expansion("webhook", exc)
    try:
        response = httpx.post(url, json=message, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return ActionOutcome("webhook", False, f"POST {_redact(url)} failed: {exc}")
    if response.status_code >= 300:
        return ActionOutcome(
            "webhook", False, f"POST {_redact(url)} answered {response.status_code}"
        )
    return ActionOutcome("webhook", True, f"posted to {_redact(url)}")


def _redact(url: str) -> str:
    """Scheme, host and port of the URL: no credentials, path or query (secrets for Slack)."""
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the webhook URL"
    return f"{parts.scheme}://{host}{port}/…"


# -- Prometheus ---------------------------------------------------------------------------------


def prometheus_gauges(result: MonitorResult, registry: CollectorRegistry) -> None:
    """Set the gauges of a run in ``registry`` (created on first use)."""
    from prometheus_client import Gauge

    def gauge(name: str, doc: str, labels: tuple[str, ...]) -> Gauge:
        existing = getattr(registry, "_names_to_collectors", {}).get(name)
        if existing is not None:
            return existing
        return Gauge(name, doc, labels, registry=registry)

    run = result.run
    base = {"model": run.model_name, "version": str(run.model_version or "")}
    keys = ("model", "version")
    gauge("charter_monitor_passed", "1 when no blocking monitoring rule failed", keys).labels(
        **base
    ).set(1.0 if result.passed else 0.0)
    gauge("charter_monitor_rows", "Rows in the last monitoring run", keys).labels(**base).set(
        run.summary.rows
    )
    gauge("charter_monitor_last_run_timestamp_seconds", "Unix time of the last run", keys).labels(
        **base
    ).set(time.time())
    latest = next((w for w in reversed(run.windows) if w.drift is not None), None)
    if latest is not None and latest.drift is not None:
        share = latest.drift.share
        gauge(
            "charter_monitor_drift_share", "Share of drifted columns in the latest window", keys
        ).labels(**base).set(share if not math.isnan(share) else float("nan"))
        score = gauge(
            "charter_monitor_drift_score",
            "Drift score of a column in the latest window",
            (*keys, "column", "method"),
        )
        drifted = gauge(
            "charter_monitor_column_drifted",
            "1 when the column drifted in the latest window",
            (*keys, "column"),
        )
        for c in latest.drift.columns:
            if c.computed and c.method is not None:
                score.labels(**base, column=c.column, method=c.method.value).set(c.score)
                drifted.labels(**base, column=c.column).set(1.0 if c.drifted else 0.0)
    rule_passed = gauge(
        "charter_monitor_rule_passed", "1 when the rule passed in every window", (*keys, "rule")
    )
    rule_value = gauge(
        "charter_monitor_rule_value", "The rule's metric (worst window)", (*keys, "rule", "metric")
    )
    for f in result.findings:
        if f.verdict is Verdict.SKIPPED:
            continue
        rule_passed.labels(**base, rule=f.rule_id).set(1.0 if f.verdict is Verdict.PASS else 0.0)
        if f.value is not None and f.metric:
            rule_value.labels(**base, rule=f.rule_id, metric=f.metric).set(f.value)


def update_prometheus(
    result: MonitorResult,
    *,
    textfile: str | Path | None = None,
    registry: CollectorRegistry | None = None,
) -> ActionOutcome:
    """Update the gauges in ``registry`` and/or write them to ``textfile`` (atomically)."""
    from prometheus_client import CollectorRegistry, write_to_textfile

    target = registry if registry is not None else CollectorRegistry()
    try:
        prometheus_gauges(result, target)
        if textfile:
            path = Path(textfile)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_to_textfile(str(path), target)
    except (OSError, ValueError) as exc:
        return ActionOutcome("prometheus", False, f"could not update the gauges: {exc}")
    where = f"written to {textfile}" if textfile else "updated"
    return ActionOutcome("prometheus", True, f"gauges {where}")


def serve_prometheus(port: int, registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Serve ``registry`` (default: a new one) on ``http://0.0.0.0:port/metrics``.

    The server runs in a daemon thread; the registry served is returned, for
    :func:`update_prometheus` to set the gauges in.
    """
    from prometheus_client import CollectorRegistry, start_http_server

    served = registry if registry is not None else CollectorRegistry()
    start_http_server(port, registry=served)
    return served


# -- command ------------------------------------------------------------------------------------


def run_command(
    command: str, result: MonitorResult, *, evidence_path: str | Path | None = None
) -> ActionOutcome:
    """Run ``command`` (split like a shell would, not through a shell) with the run's facts.

    ``${NAME}`` references are expanded from the environment in each argument after the
    command is split, so a value (a token with spaces or quotes) stays one argument; outcomes
    show the command as written (references, not their values).
    """
    run = result.run
    env = scrubbed_environment()
    try:
        _refuse_secrets(command, "monitoring.command")
        argv = [
            expand_environment(arg, key_path="monitoring.command", environ=env)
            for arg in shlex.split(command)
        ]
    except PolicyError as exc:
        return _failed_expansion("command", exc)
    except ValueError as exc:
        return ActionOutcome("command", False, f"`{command}` could not be split: {exc}")
    path = evidence_path
    if path is None:
        with tempfile.NamedTemporaryFile(
            "w", suffix=".json", prefix="charter-monitoring-", delete=False
        ) as handle:
            handle.write(result.evidence.to_json())
            path = handle.name
    env.update(
        CHARTER_MODEL=run.model_name,
        CHARTER_VERSION=str(run.model_version or ""),
        CHARTER_STATUS=result.evidence.status,
        CHARTER_EVIDENCE=str(path),
        CHARTER_VIOLATIONS=",".join(f.rule_id for f in result.violations),
    )
    try:
        completed = subprocess.run(  # the command comes from the policy
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return ActionOutcome("command", False, f"`{command}` could not run: {exc}")
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or [""]
    if completed.returncode != 0:
        return ActionOutcome(
            "command", False, f"`{command}` exited {completed.returncode}: {tail[0][:200]}"
        )
    return ActionOutcome("command", True, f"`{command}` ran (exit 0)")


def _refuse_secrets(value: str, key_path: str) -> None:
    secrets = secret_references(environment_references(value))
    if secrets:
        raise PolicyError(
            f"{key_path} refers to ${{{secrets[0]}}}, one of Charter's own credentials",
            hint="the monitor's credentials are never handed to a policy's actions",
        )


def outcomes_to_dict(outcomes: list[ActionOutcome]) -> list[dict[str, Any]]:
    """JSON-able list."""
    return [{"action": o.action, "ok": o.ok, "detail": o.detail} for o in outcomes]
