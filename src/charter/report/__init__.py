"""Renderings of an Evidence bundle: a self-contained HTML report and Markdown.

:func:`write_outputs` writes the three files of a gate run into a folder: ``evidence.json``
(the record), ``report.html`` (for people: per-group plots, SHAP importances, data summary,
fingerprints) and ``summary.md`` (for CI job summaries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charter.errors import CharterError
from charter.evidence import Evidence
from charter.files import write_atomic
from charter.report.html import render_html
from charter.report.markdown import render_markdown

__all__ = ["GateOutputs", "render_html", "render_markdown", "write_outputs"]


@dataclass(frozen=True)
class GateOutputs:
    """Paths of the files a gate run wrote."""

    evidence: Path
    report: Path
    summary: Path


def write_outputs(evidence: Evidence, out: str | Path) -> GateOutputs:
    """Write ``evidence.json``, ``report.html`` and ``summary.md`` into the folder ``out``.

    Raises
    ------
    CharterError
        When the folder cannot be created or written.
    """
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        evidence_path = evidence.write(folder / "evidence.json")
        report_path = folder / "report.html"
        write_atomic(report_path, render_html(evidence).encode("utf-8"))
        summary_path = folder / "summary.md"
        markdown = render_markdown(evidence, report_path=str(report_path))
        write_atomic(summary_path, markdown.encode("utf-8"))
    except OSError as exc:
        raise CharterError(
            f"cannot write the gate's outputs to {folder}: {exc.strerror or exc}",
            hint="pass --out a folder you can write to",
        ) from exc
    return GateOutputs(evidence=evidence_path, report=report_path, summary=summary_path)
