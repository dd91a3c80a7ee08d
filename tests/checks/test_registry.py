"""The check registry: built-in checks, third-party checks through the entry point group."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from charter.checks import available_checks, get_check
from charter.errors import CheckError


def test_unknown_check_suggests_the_closest_id() -> None:
    with pytest.raises(CheckError, match="did you mean 'null_fraction'"):
        get_check("null_fractoin")


def test_builtin_checks_are_registered_with_their_section() -> None:
    checks = available_checks()
    assert checks["required_columns"].section == "data"
    assert checks["min_rows"].metric == "rows"


def test_a_plugin_check_registers_through_the_entry_point_group(tmp_path: Path) -> None:
    # A real installed-distribution layout: a module plus a .dist-info with entry_points.txt.
    (tmp_path / "acme_checks.py").write_text(
        textwrap.dedent(
            """
            from charter.checks import check, NoParams

            @check("acme_always_fails", section="data", description="fails on purpose")
            def acme_always_fails(ctx, rule, params: NoParams):
                return ctx.finding(rule, passed=False, message="acme says no")
            """
        )
    )
    dist = tmp_path / "acme_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[charter.checks]\nacme = acme_checks\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "model: {name: m}\ndata:\n  rules:\n    - {id: acme, check: acme_always_fails}\n"
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import pandas as pd
        from charter.checks import CheckContext, get_check
        from charter.policy import load_policy
        policy = load_policy({str(policy)!r})
        rule = policy.rule("acme")
        spec = get_check(rule.check, section="data")
        frame = __import__("narwhals").from_native(pd.DataFrame({{"a": [1]}}))
        ctx = CheckContext(policy=policy, data=frame)
        finding = spec.func(ctx, rule, spec.parse_params(rule.params))
        print(finding.verdict.value, finding.message, finding.section)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "fail acme says no data"
