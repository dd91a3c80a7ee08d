"""Prometheus metrics of the serving side, one collector registry per application.

* ``charter_predict_requests_total{model,version,outcome}`` — ``ok``, ``rejected`` (422);
* ``charter_predict_rows_total{model,version}``;
* ``charter_predict_latency_seconds{model}`` and ``charter_explain_latency_seconds{model}`` —
  histograms of the whole request (parse, validate, predict, explain, log) and of the model
  call with its explanation;
* ``charter_inference_log_records_written_total``, ``..._dropped_total`` (must stay 0),
  ``..._buffered`` and ``..._rejected_total``;
* ``charter_monitoring_verdict{model,version}`` (1 passed, 0 failed) and
  ``charter_monitoring_last_run_timestamp_seconds`` — the last monitoring run of the server.

With several workers each has its own counters (scrape each, or use prometheus-client's
multiprocess mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0)


class ServingMetrics:
    """The counters and histograms of one serving application."""

    def __init__(self, serving: Any) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.serving = serving
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "charter_predict_requests",
            "Predict requests by model, version and outcome.",
            ["model", "version", "outcome"],
            registry=self.registry,
        )
        self.rows = Counter(
            "charter_predict_rows",
            "Rows predicted by model and version.",
            ["model", "version"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "charter_predict_latency_seconds",
            "Server-side time of a predict request.",
            ["model"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.explain = Histogram(
            "charter_explain_latency_seconds",
            "Time of the model call with its explanation.",
            ["model"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.verdict = Gauge(
            "charter_monitoring_verdict",
            "Last monitoring verdict of a served version (1 passed, 0 failed).",
            ["model", "version"],
            registry=self.registry,
        )
        self.last_run = Gauge(
            "charter_monitoring_last_run_timestamp_seconds",
            "When the server last ran monitoring.",
            ["model"],
            registry=self.registry,
        )
        self.registry.register(_LogCollector(serving))

    def outcome(self, loaded: Any, outcome: str) -> None:
        """Count a request by its outcome."""
        self.requests.labels(loaded.name, str(loaded.number), outcome).inc()

    def served(self, loaded: Any, prediction: Any, seconds: float, explained: bool) -> None:
        """Count a served request and its rows, and time it."""
        version = str(loaded.number)
        self.requests.labels(loaded.name, version, "ok").inc()
        self.rows.labels(loaded.name, version).inc(len(prediction.outputs.raw))
        self.latency.labels(loaded.name).observe(seconds)
        if explained:
            self.explain.labels(loaded.name).observe(prediction.explain_ms / 1000.0)

    def monitored(self, model: str, version: int, passed: bool, at: float) -> None:
        """Record the verdict of a monitoring run."""
        self.verdict.labels(model, str(version)).set(1.0 if passed else 0.0)
        self.last_run.labels(model).set(at)

    def render(self) -> bytes:
        """The text exposition format."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


class _LogCollector:
    """Reads the log writer's counters at scrape time."""

    def __init__(self, serving: Any) -> None:
        self.serving = serving

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self.serving.log.stats
        yield CounterMetricFamily(
            "charter_inference_log_records_written",
            "Inference log records written.",
            value=stats.written,
        )
        yield CounterMetricFamily(
            "charter_inference_log_records_dropped",
            "Inference log records dropped (must stay 0).",
            value=stats.dropped,
        )
        yield CounterMetricFamily(
            "charter_inference_log_rejected_requests",
            "Requests refused for their input (422), logged as such.",
            value=stats.rejected,
        )
        yield GaugeMetricFamily(
            "charter_inference_log_records_buffered",
            "Records waiting to be written.",
            value=stats.buffered,
        )
