"""The serving routes: formats, MLflow compatibility, 422s, roles, the stop button, lookup."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from api_support import Client, running
from serving_support import Served, inputs_of, records, tabular
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.errors import PermissionDeniedError
from charter.registry import serving as registry_serving


@pytest.fixture
def numeric(served: Served) -> tuple[Served, pd.DataFrame, lgb.LGBMClassifier]:
    train = tabular(seed=1, categorical=False)
    model = lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(
        train[inputs_of(train)], train["label"]
    )
    served.publish(model, train)
    return served, train, model


@pytest.fixture
def api(numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], tmp_path: Path) -> Client:
    with running(numeric[0], tmp_path / "home") as client:
        yield client


def _log(client: Client) -> pd.DataFrame:
    client.serving.log.flush()
    files = sorted(client.log.glob("scorer/*/*/*.parquet"))
    return ds.dataset([str(f) for f in files], format="parquet").to_table().to_pandas()


def test_predict_answers_with_the_version_scores_and_explanations_that_add_up(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    served, train, model = numeric
    rows = train.head(5)
    body = api.post(
        "/api/v1/models/scorer/predict", "ivy", json={"dataframe_records": records(rows)}
    ).json()
    version = served.registry.get_version("scorer", "production", actor=served["otto"])
    assert body["model"] == {"name": "scorer", "version": 1, "sha256": version.artifact_sha256}
    features = rows[inputs_of(train)]
    assert body["predictions"] == model.predict(features).tolist()
    np.testing.assert_allclose(body["scores"], model.predict_proba(features)[:, 1], atol=1e-12)
    raw = model.predict(features, raw_score=True)
    for explanation, expected in zip(body["explanations"], raw, strict=True):
        assert explanation["output_space"] == "log_odds"
        assert set(explanation["contributions"]) == set(inputs_of(train))
        total = sum(explanation["contributions"].values()) + explanation["base_value"]
        assert abs(total - expected) < 1e-6
    top = api.post(
        "/api/v1/models/scorer/predict?top=2&explain=true",
        "ivy",
        json={"dataframe_records": records(rows)},
    ).json()
    assert all(len(e["contributions"]) == 2 for e in top["explanations"])
    bare = api.post(
        "/api/v1/models/scorer/predict?explain=false",
        "ivy",
        json={"dataframe_records": records(rows)},
    ).json()
    assert "explanations" not in bare and bare["predictions"] == body["predictions"]


def _mlflow_predictions(
    model: object, payload: dict, tmp_path: Path, example: pd.DataFrame
) -> list:
    """What MLflow's own scoring server code answers for ``payload`` (in process)."""
    import mlflow.lightgbm
    import mlflow.pyfunc
    from mlflow.models import infer_signature
    from mlflow.pyfunc import scoring_server

    where = tmp_path / "mlflow-model"
    if not where.exists():
        signature = infer_signature(example, model.predict(example))  # type: ignore[attr-defined]
        mlflow.lightgbm.save_model(model, str(where), signature=signature)
    pyfunc = mlflow.pyfunc.load_model(str(where))
    answer = scoring_server.invocations(json.dumps(payload), "application/json", pyfunc, None)
    assert answer.status == 200, answer.response
    return json.loads(answer.response)["predictions"]


def test_mlflow_payloads_give_the_predictions_mlflow_gives(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client, tmp_path: Path
) -> None:
    _, train, model = numeric
    features = train[inputs_of(train)].iloc[10:16]
    payloads = {
        "dataframe_split": {"dataframe_split": features.to_dict(orient="split")},
        "dataframe_records": {"dataframe_records": features.to_dict(orient="records")},
        "instances": {"instances": features.to_dict(orient="records")},
        "inputs": {"inputs": {c: features[c].tolist() for c in features.columns}},
    }
    payloads["dataframe_split"]["dataframe_split"].pop("index")
    for name, payload in payloads.items():
        expected = _mlflow_predictions(model, payload, tmp_path, features)
        got = api.post("/invocations?model=scorer", "ivy", json=payload)
        assert got.status_code == 200, (name, got.text)
        assert got.json() == {"predictions": expected}, name
        ours = api.post("/api/v1/models/scorer/predict", "ivy", json=payload).json()
        assert ours["predictions"] == expected, name


def test_open_inference_protocol_tensors_by_column_and_as_one_matrix(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    _, train, model = numeric
    features = train[inputs_of(train)].iloc[:4]
    by_column = {
        "inputs": [
            {"name": c, "shape": [4], "datatype": "FP64", "data": features[c].tolist()}
            for c in features.columns
        ]
    }
    matrix = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [4, features.shape[1]],
                "datatype": "FP64",
                "data": features.to_numpy().tolist(),
            }
        ]
    }
    for payload in (by_column, matrix):
        body = api.post("/api/v1/models/scorer/predict", "ivy", json=payload).json()
        assert body["predictions"] == model.predict(features).tolist()


def test_input_problems_are_422_naming_field_and_row_and_are_logged(
    served: Served, tmp_path: Path
) -> None:
    train = tabular(seed=2)
    names = inputs_of(train)
    lgbm = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(train[names], train["label"])
    served.publish(lgbm, train)
    pre = ColumnTransformer(
        [("num", StandardScaler(), names[:-1]), ("cat", OneHotEncoder(), ["region"])]
    )
    strict = Pipeline([("pre", pre), ("model", LogisticRegression())])
    served.publish(strict.fit(train[names], train["label"]), train, name="strict")
    good = records(train[names].head(3))
    cases = [
        ("scorer", [good[0], {k: v for k, v in good[1].items() if k != "f2"}], "f2", 1),
        ("scorer", [good[0], good[1], {**good[2], "f4": "high"}], "f4", 2),
        ("scorer", [{**good[0], "region": "atlantis"}], "region", 0),
        ("strict", [good[0], {**good[1], "f0": None}], "f0", 1),
        ("strict", [{**good[0], "region": "atlantis"}], "region", 0),
    ]
    with running(served, tmp_path / "home") as api:
        for model, rows, field, row in cases:
            answer = api.post(
                f"/api/v1/models/{model}/predict", "ivy", json={"dataframe_records": rows}
            )
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            problem = answer.json()
            assert problem["field"] == field and problem["row"] == row, problem
            assert field in problem["detail"]
        # LightGBM takes a missing value; a one-hot encoder ignoring unknowns takes a new region
        ok = api.post(
            "/api/v1/models/scorer/predict",
            "ivy",
            json={"dataframe_records": [{**good[0], "f0": None}]},
        )
        assert ok.status_code == 200
        api.serving.log.flush()
        assert api.serving.log.stats.rejected == len(cases)
        rejected = ds.dataset(str(api.log / "_rejected"), format="parquet").to_table().to_pylist()
        assert sorted((r["model"], r["field"], r["row"]) for r in rejected) == sorted(
            (m, f, r) for m, _, f, r in cases
        )


def test_invoker_may_predict_and_nothing_else(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    served, train, _ = numeric
    payload = {"dataframe_records": records(train.head(1))}
    assert api.post("/api/v1/models/scorer/predict", "ivy", json=payload).status_code == 200
    refused = [
        api.post("/api/v1/models/scorer/predict?version=1", "ivy", json=payload),
        api.post("/api/v1/models/scorer/labels", "ivy", json=[]),
        api.post("/api/v1/models/scorer/suspend", "ivy", json={"reason": "x"}),
        api.get("/api/v1/models/scorer/serving", "ivy"),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert "invoker" in refused[0].json()["detail"]
    with pytest.raises(PermissionDeniedError):
        served.registry.get_version("scorer", 1, actor=served["ivy"])
    # the labeler posts labels, and may not predict
    assert api.post("/api/v1/models/scorer/predict", "lars", json=payload).status_code == 403
    assert (
        api.post("/api/v1/models/scorer/predict?version=1", "eli", json=payload).status_code == 200
    )
    assert api.get("/api/v1/models/scorer/predict").status_code == 405
    assert api.post("/api/v1/models/scorer/predict", "ivy", json=payload).status_code == 200
    denials = served.registry.audit_log(actor=served["otto"], action="access.denied")
    assert {(e.actor, e.details["attempted"]) for e in denials} >= {
        ("ivy", "model.predict_version"),
        ("ivy", "labels.write"),
        ("ivy", "serving.suspend"),
        ("lars", "model.predict"),
    }


def test_stop_button_suspends_with_a_reason_audited_without_changing_stages(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    served, train, _ = numeric
    payload = {"dataframe_records": records(train.head(1))}
    assert api.post("/api/v1/models/scorer/suspend", "ann", json={"reason": ""}).status_code == 400
    stop = api.post("/api/v1/models/scorer/suspend", "ann", json={"reason": "biased outcomes"})
    assert stop.status_code == 200 and stop.json()["reason"] == "biased outcomes"
    answer = api.post("/api/v1/models/scorer/predict", "ivy", json=payload)
    assert answer.status_code == 503
    assert "biased outcomes" in answer.json()["detail"] and "ann" in answer.json()["detail"]
    assert api.post("/invocations?model=scorer", "ivy", json=payload).status_code == 503
    again = api.post("/api/v1/models/scorer/suspend", "ada", json={"reason": "twice"})
    assert again.status_code == 409
    status = api.get("/api/v1/models/scorer/serving", "otto").json()
    assert status["suspended"] and status["suspension"]["suspended_by"] == "ann"
    assert served.registry.get_version("scorer", 1, actor=served["otto"]).stage == "production"
    assert (
        api.post("/api/v1/models/scorer/resume", "ada", json={"reason": "fixed"}).status_code == 200
    )
    assert api.post("/api/v1/models/scorer/predict", "ivy", json=payload).status_code == 200
    assert registry_serving.suspension(served.registry, "scorer") is None
    trail = [
        (e.action, e.actor)
        for e in served.registry.audit_log(actor=served["otto"], model="scorer")
        if e.action.startswith("serving.")
    ]
    assert sorted(trail) == [("serving.resume", "ada"), ("serving.suspend", "ann")]
    assert served.registry.verify_audit(actor=served["otto"]).ok


def test_labels_and_request_lookup_show_what_was_served(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    _, train, _ = numeric
    rows = train[[*inputs_of(train), "sex"]].head(3)
    answer = api.post(
        "/api/v1/models/scorer/predict",
        "ivy",
        json={"dataframe_records": records(rows)},
        headers={"X-Request-Id": "loan-42"},
    )
    assert answer.json()["request_id"] == "loan-42" == answer.headers["x-request-id"]
    stored = api.post(
        "/api/v1/models/scorer/labels",
        "lars",
        json=[{"request_id": "loan-42", "row": 1, "label": 1}],
    )
    assert stored.status_code == 201 and stored.json()["stored"] == 1
    bad = api.post("/api/v1/models/scorer/labels", "lars", json=[{"row": 1, "label": 1}])
    assert bad.status_code == 400
    found = api.get("/api/v1/inferences/loan-42", "otto").json()["rows"]
    assert [r["row"] for r in found] == [0, 1, 2]
    assert found[1]["label"] == 1 and "label" not in found[0]
    assert found[2]["sex"] == rows["sex"].iloc[2]
    assert found[0]["explanation"]["method"] == "lightgbm.pred_contrib"
    assert found[0]["version"] == 1 and found[0]["caller"] == "ivy"
    assert api.get("/api/v1/inferences/nope", "otto").status_code == 404
    log = _log(api)
    assert len(log) == 3 and log["ts"].dt.tz is not None


def test_metrics_count_requests_rows_and_log_records(
    numeric: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    _, train, _ = numeric
    api.post(
        "/api/v1/models/scorer/predict", "ivy", json={"dataframe_records": records(train.head(4))}
    )
    api.post("/api/v1/models/scorer/predict", "ivy", json={"dataframe_records": [{"f0": 1}]})
    api.serving.log.flush()
    text = api.get("/metrics").text
    assert 'charter_predict_requests_total{model="scorer",outcome="ok",version="1"} 1.0' in text
    assert (
        'charter_predict_requests_total{model="scorer",outcome="rejected",version="1"} 1.0' in text
    )
    assert 'charter_predict_rows_total{model="scorer",version="1"} 4.0' in text
    assert "charter_inference_log_records_written_total 4.0" in text
    assert "charter_inference_log_records_dropped_total 0.0" in text
    assert "charter_explain_latency_seconds_count" in text
