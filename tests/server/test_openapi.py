"""The committed OpenAPI document is the one the code describes, and it is complete."""

import difflib
from pathlib import Path

from charter.server import openapi

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_openapi_json_matches_the_code() -> None:
    wanted = openapi.text()
    current = COMMITTED.read_text(encoding="utf-8") if COMMITTED.is_file() else ""
    if current != wanted:
        diff = "".join(
            list(
                difflib.unified_diff(
                    current.splitlines(True), wanted.splitlines(True), "committed", "code", n=1
                )
            )[:40]
        )
        raise AssertionError(
            f"docs/openapi.json differs from the code; regenerate it with "
            f"`{openapi.REGENERATE}`\n{diff}"
        )


def test_the_document_is_typed_and_secured() -> None:
    document = openapi.document()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("security") == [{"bearer": []}], where
            assert operation["summary"] and operation["description"], where
            ok = [code for code in operation["responses"] if code.startswith("2")]
            assert ok, where
            assert "401" in operation["responses"], where
            problem = operation["responses"]["401"]["content"]
            assert "application/problem+json" in problem, where
            body = operation["responses"][ok[0]].get("content", {})
            if method != "delete" and ok[0] != "204" and "application/json" in body:
                assert body["application/json"]["schema"], where


def test_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    assert openapi.main(["--check", str(stale)]) == 1
    assert openapi.main([str(stale)]) == 0
    assert openapi.main(["--check", str(stale)]) == 0
