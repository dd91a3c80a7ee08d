from __future__ import annotations

import hashlib
import operator
import pickle
from pathlib import Path

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from charter.artifacts import (
    DEFAULT_TRUSTED_TYPES,
    load_model,
    model_fingerprint,
    save_model,
)
from charter.errors import (
    ArtifactIntegrityError,
    CharterError,
    ModelLoadError,
    UntrustedArtifactError,
)


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 300
    x = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt": rng.normal(10, 3, n),
            "region": pd.Categorical(rng.choice(["north", "south", "east"], n)),
        }
    )
    y = ((x["income"] - 3 * x["debt"] + rng.normal(0, 5, n)) > 20).astype(int).to_numpy()
    return x, y


def test_lightgbm_round_trips_through_skops_with_default_trust(tmp_path: Path, frame) -> None:
    x, y = frame
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0).fit(x, y)
    path = save_model(model, tmp_path / "model.skops")
    # LightGBM's types are not trusted by skops itself; Charter's allow-list covers them.
    assert set(sio.get_untrusted_types(file=path)) <= DEFAULT_TRUSTED_TYPES
    assert "lightgbm.basic.Booster" in sio.get_untrusted_types(file=path)
    loaded = load_model(path)
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), rtol=0, atol=0)


def test_lightgbm_regressor_round_trips(tmp_path: Path, frame) -> None:
    x, y = frame
    model = lgb.LGBMRegressor(n_estimators=10, verbose=-1).fit(x[["income", "debt"]], y * 1.5)
    loaded = load_model(save_model(model, tmp_path / "reg.skops"))
    np.testing.assert_array_equal(
        loaded.predict(x[["income", "debt"]]), model.predict(x[["income", "debt"]])
    )


def test_sklearn_pipeline_round_trips(tmp_path: Path, frame) -> None:
    x, y = frame
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["income", "debt"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
        ]
    )
    for final in (LogisticRegression(), HistGradientBoostingClassifier(max_iter=15)):
        pipe = make_pipeline(prep, final).fit(x, y)
        loaded = load_model(save_model(pipe, tmp_path / f"{type(final).__name__}.skops"))
        np.testing.assert_array_equal(loaded.predict_proba(x), pipe.predict_proba(x))


def test_random_forest_round_trips(tmp_path: Path, frame) -> None:
    x, y = frame
    rf = RandomForestClassifier(n_estimators=5, random_state=0).fit(x[["income", "debt"]], y)
    loaded = load_model(save_model(rf, tmp_path / "rf.skops"))
    np.testing.assert_array_equal(
        loaded.predict_proba(x[["income", "debt"]]), rf.predict_proba(x[["income", "debt"]])
    )


def test_skops_type_outside_the_allow_list_is_refused_and_named(tmp_path: Path) -> None:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    model = make_pipeline(FunctionTransformer(func=operator.neg), LogisticRegression()).fit(x, y)
    path = save_model(model, tmp_path / "neg.skops")
    with pytest.raises(UntrustedArtifactError) as info:
        load_model(path)
    assert "_operator.neg" in info.value.message
    assert "--trust-type _operator.neg" in (info.value.hint or "")
    loaded = load_model(path, trusted_types=[*DEFAULT_TRUSTED_TYPES, "_operator.neg"])
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_explicit_trusted_types_replace_the_allow_list(tmp_path: Path, frame) -> None:
    x, y = frame
    model = lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(x[["income"]], y)
    path = save_model(model, tmp_path / "m.skops")
    with pytest.raises(UntrustedArtifactError, match=r"lightgbm\.basic\.Booster"):
        load_model(path, trusted_types=[])


def test_corrupt_skops_file_raises_model_load_error_with_hint(tmp_path: Path, frame) -> None:
    x, y = frame
    good = save_model(LogisticRegression().fit(x[["income"]], y), tmp_path / "good.skops")
    truncated = tmp_path / "truncated.skops"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.skops"
    garbage.write_bytes(b"not a zip file at all")
    for path in (truncated, garbage):
        with pytest.raises(ModelLoadError) as info:
            load_model(path)
        assert not isinstance(info.value, UntrustedArtifactError)
        assert str(path) in info.value.message
        assert "save the model again" in (info.value.hint or "")


class _Marker:
    """Unpickling this writes a file: proof that pickle code ran."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path(self.target).write_text, ("pwned",))


def test_untrusted_pickle_is_not_opened(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(UntrustedArtifactError) as info:
        load_model(path)
    assert "--trust-pickle" in (info.value.hint or "")
    assert not marker.exists()


def test_pickle_with_matching_sha256_loads_and_mismatch_is_refused(tmp_path: Path, frame) -> None:
    x, y = frame
    model = LogisticRegression().fit(x[["income", "debt"]], y)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = load_model(path, sha256=digest.upper())
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    with pytest.raises(ArtifactIntegrityError):
        load_model(path, sha256="0" * 64)
    with pytest.raises(ModelLoadError, match="not a sha256"):
        load_model(path, sha256="abc")


def test_trust_pickle_loads_without_hash(tmp_path: Path, frame) -> None:
    x, y = frame
    model = LogisticRegression().fit(x[["income"]], y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    np.testing.assert_array_equal(load_model(path, trust_pickle=True).coef_, model.coef_)


def test_corrupt_pickle_with_trust_raises_model_load_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pkl"
    path.write_bytes(b"\x80\x05garbage")
    with pytest.raises(ModelLoadError) as info:
        load_model(path, trust_pickle=True)
    assert "truncated" in (info.value.hint or "")


def test_missing_unknown_and_non_model_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "nope.skops")
    odd = tmp_path / "model.onnx"
    odd.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="unknown model format"):
        load_model(odd)
    not_model = tmp_path / "params.skops"
    sio.dump({"alpha": 1.0}, not_model)
    with pytest.raises(ModelLoadError, match="not a model"):
        load_model(not_model)


def test_save_model_only_writes_skops(tmp_path: Path) -> None:
    with pytest.raises(CharterError, match="skops"):
        save_model(LogisticRegression(), tmp_path / "model.pkl")


def test_fingerprint_of_file_is_its_sha256_and_in_memory_is_stable(tmp_path: Path, frame) -> None:
    x, y = frame
    model = LogisticRegression().fit(x[["income"]], y)
    path = save_model(model, tmp_path / "m.skops")
    fp = model_fingerprint(model, path)
    assert fp.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fp.format == "skops"
    a, b = model_fingerprint(model), model_fingerprint(model)
    assert a.sha256 == b.sha256 and a.format == "pickle-digest"
    other = LogisticRegression(C=0.01).fit(x[["income"]], y)
    assert model_fingerprint(other).sha256 != a.sha256
