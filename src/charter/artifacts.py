"""Safe loading and saving of model artifacts.

Charter loads models the safe way by default:

* ``.skops`` files go through :mod:`skops.io`, which rebuilds objects from a schema instead of
  executing pickle bytecode. skops trusts plain scikit-learn estimators and numpy arrays by
  itself; any other type it finds is *untrusted* until someone vouches for it. Charter vouches
  only for the types in :data:`DEFAULT_TRUSTED_TYPES` — a short, reviewed allow-list of
  well-known scikit-learn, LightGBM, numpy and scipy internals and Charter's own mitigation
  wrappers — or for the explicit list the caller passes as ``trusted_types``.
* pickle and joblib files can run arbitrary code when loaded. Charter opens them only when the
  file's sha256 matches the one the caller gives (e.g. the hash the registry recorded when the
  model was produced) or when the caller says ``trust_pickle=True``.

A file that is not what it claims to be raises :class:`~charter.errors.ModelLoadError`; an
untrusted one raises :class:`~charter.errors.UntrustedArtifactError` naming the types and how
to trust them.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from charter.errors import (
    ArtifactIntegrityError,
    CharterError,
    ModelLoadError,
    UntrustedArtifactError,
)
from charter.evidence import Fingerprint, sha256_bytes, sha256_file

SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".jbl")

#: Types Charter trusts in a ``.skops`` file without being told, beyond what skops trusts itself.
#: Each is a fully qualified name as :func:`skops.io.get_untrusted_types` reports it. The list
#: holds the internals of well-known estimators — scikit-learn's trees, neighbours indexes,
#: calibrators, Gaussian-process kernels, optimisers and losses; LightGBM's scikit-learn
#: estimators and their Booster; numpy dtypes and a few reductions used as parameters; scipy's
#: B-splines — and Charter's own mitigated-model wrappers. Anything else must be named
#: explicitly (``trusted_types=`` or ``charter check --trust-type``).
DEFAULT_TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # Python containers used by LightGBM's estimators
        "collections.OrderedDict",
        "collections.defaultdict",
        # LightGBM
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "lightgbm.sklearn.LGBMRanker",
        # scikit-learn internals that skops does not trust by itself
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.loss.HalfPoissonLoss",
        "sklearn._loss.loss.HalfGammaLoss",
        "sklearn._loss.loss.HalfTweedieLoss",
        "sklearn._loss.loss.HalfTweedieLossIdentity",
        "sklearn._loss.loss.AbsoluteError",
        "sklearn._loss.loss.PinballLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn.gaussian_process.kernels.ConstantKernel",
        "sklearn.gaussian_process.kernels.Product",
        "sklearn.gaussian_process.kernels.Sum",
        "sklearn.gaussian_process.kernels.RBF",
        "sklearn.gaussian_process.kernels.WhiteKernel",
        "sklearn.gaussian_process.kernels.Matern",
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn.feature_selection._mutual_info.mutual_info_classif",
        "sklearn.feature_selection._mutual_info.mutual_info_regression",
        # numpy and scipy
        "numpy.dtype",
        "numpy.mean",
        "numpy.median",
        "scipy.interpolate._bsplines.BSpline",
        # Charter's mitigated models (charter.mitigate)
        "charter.mitigate.GroupThresholdClassifier",
        "charter.mitigate.RandomizedEnsembleClassifier",
    }
)


def load_model(
    path: str | Path,
    *,
    trusted_types: Iterable[str] | None = None,
    sha256: str | None = None,
    trust_pickle: bool = False,
) -> Any:
    """Load a model artifact safely.

    Parameters
    ----------
    path
        A ``.skops`` file, or a pickle/joblib file (``.pkl``, ``.pickle``, ``.joblib``).
    trusted_types
        For ``.skops``: the types to trust beyond skops' own defaults, replacing
        :data:`DEFAULT_TRUSTED_TYPES`. Pass ``[*DEFAULT_TRUSTED_TYPES, "pkg.Type"]`` to add one.
    sha256
        Expected hex sha256 of the file. When given, a file whose bytes differ raises
        :class:`~charter.errors.ArtifactIntegrityError`; a matching pickle/joblib file is
        trusted.
    trust_pickle
        Load a pickle/joblib file without a hash. Only for files from a source you trust:
        unpickling runs code the file's author chose.

    Returns
    -------
    object
        The estimator.

    Raises
    ------
    ModelLoadError
        The file is missing, corrupt, of an unknown format, or not a model.
    UntrustedArtifactError
        The file holds types nobody vouched for, or is a pickle without hash or trust.
    ArtifactIntegrityError
        ``sha256`` was given and does not match the file.
    """
    source = Path(path)
    if not source.is_file():
        raise ModelLoadError(
            f"model file {source} does not exist",
            hint="check the path given to --model/--baseline",
        )
    if sha256 is not None:
        verify_sha256(source, sha256)
    suffix = source.suffix.lower()
    if suffix in SKOPS_SUFFIXES:
        model = _load_skops(source, trusted_types)
    elif suffix in PICKLE_SUFFIXES:
        if sha256 is None and not trust_pickle:
            raise UntrustedArtifactError(
                f"{source} is a {suffix.lstrip('.')} file, and loading one runs code chosen by"
                " whoever wrote it; Charter will not open it without proof you trust it",
                hint="re-save the model with charter.save_model(model, 'model.skops'), or pass"
                " --sha256 HEX (the hash recorded when the model was produced) or"
                " --trust-pickle if it comes from a source you trust",
            )
        model = _load_pickle(source)
    else:
        raise ModelLoadError(
            f"{source} has an unknown model format '{suffix or '(no suffix)'}'",
            hint="save models with charter.save_model(model, 'model.skops'); pickle/joblib files"
            f" must end in one of {', '.join(PICKLE_SUFFIXES)}",
        )
    _require_estimator(model, source)
    return model


def save_model(model: Any, path: str | Path) -> Path:
    """Save ``model`` as a ``.skops`` file and return its path.

    Parameters
    ----------
    model
        A fitted estimator (scikit-learn, LightGBM, a pipeline, a Charter mitigated model).
    path
        Target file; must end in ``.skops``. Parent folders are created.

    Raises
    ------
    CharterError
        When the path does not end in ``.skops`` or skops cannot serialise the model.
    """
    import skops.io as sio

    target = Path(path)
    if target.suffix.lower() not in SKOPS_SUFFIXES:
        raise CharterError(
            f"cannot save a model to {target}: Charter writes models only in the skops format",
            hint="use a path ending in .skops",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = sio.dumps(model)
    except Exception as exc:
        raise CharterError(
            f"skops cannot serialise a {type(model).__name__}: {exc}",
            hint="keep fitted state in numpy arrays and plain Python values, or save the"
            " model with its own format and load it with --trust-pickle",
        ) from exc
    from charter.files import write_atomic

    return write_atomic(target, bytes(data))  # a failure never leaves half a model behind


def untrusted_types(path: str | Path) -> list[str]:
    """Types in a ``.skops`` file that skops does not trust by itself."""
    import skops.io as sio

    try:
        return list(sio.get_untrusted_types(file=Path(path)))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _corrupt(Path(path), exc) from exc


def verify_sha256(path: str | Path, expected: str) -> str:
    """Check the file's sha256 against ``expected`` and return it.

    Raises
    ------
    ArtifactIntegrityError
        When they differ.
    """
    wanted = expected.strip().lower()
    if len(wanted) != 64 or any(c not in "0123456789abcdef" for c in wanted):
        raise ModelLoadError(
            f"'{expected}' is not a sha256 (64 hexadecimal digits)",
            hint="pass the full hex digest, e.g. the output of `sha256sum model.pkl`",
        )
    actual = sha256_file(path)
    if actual != wanted:
        raise ArtifactIntegrityError(
            f"{path} does not match the expected sha256: expected {wanted[:16]}…,"
            f" found {actual[:16]}…",
            hint="the file changed since its hash was recorded; get the artifact from its"
            " source again, or check that --sha256 is the hash of this file",
        )
    return actual


def model_fingerprint(
    model: Any, path: str | Path | None = None, *, kind: str = "model"
) -> Fingerprint:
    """Fingerprint a model: its file's bytes, or a digest of the in-memory object.

    An in-memory estimator is fingerprinted by the sha256 of its pickle serialisation
    (``format="pickle-digest"``): stable for the same fitted state in the same environment.
    """
    if path is not None:
        source = Path(path)
        return Fingerprint(
            kind=kind,
            sha256=sha256_file(source),
            path=str(source),
            size_bytes=source.stat().st_size,
            format=source.suffix.lstrip(".").lower() or None,
        )
    try:
        payload = pickle.dumps(model, protocol=5)
    except Exception:  # an object pickle cannot serialise still gets an identity
        payload = repr(model).encode()
    return Fingerprint(
        kind=kind,
        sha256=sha256_bytes(payload),
        size_bytes=len(payload),
        format="pickle-digest",
    )


def _load_skops(source: Path, trusted_types: Iterable[str] | None) -> Any:
    import skops.io as sio

    found = untrusted_types(source)
    allowed = DEFAULT_TRUSTED_TYPES if trusted_types is None else frozenset(trusted_types)
    refused = sorted(t for t in found if t not in allowed)
    if refused:
        flags = " ".join(f"--trust-type {t}" for t in refused)
        raise UntrustedArtifactError(
            f"{source} contains types Charter does not trust by default: {', '.join(refused)}",
            hint=f"if you trust the file's source, pass {flags} (CLI) or"
            " trusted_types=[*charter.artifacts.DEFAULT_TRUSTED_TYPES, ...] (Python)",
        )
    try:
        return sio.load(source, trusted=[t for t in found if t in allowed])
    except UntrustedArtifactError:
        raise
    except Exception as exc:
        raise _corrupt(source, exc) from exc


def model_type(model: Any) -> str:
    """Fully qualified type name of a model, e.g. ``lightgbm.sklearn.LGBMClassifier``."""
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _load_pickle(source: Path) -> Any:
    import joblib

    try:
        return joblib.load(source)
    except Exception as exc:
        raise _corrupt(source, exc) from exc


def _corrupt(source: Path, exc: BaseException) -> ModelLoadError:
    detail = str(exc).strip() or type(exc).__name__
    if source.suffix.lower() in SKOPS_SUFFIXES:
        hint = (
            "the file is not a valid skops archive (truncated download? a pickle renamed to"
            " .skops?); save the model again with charter.save_model(model, path)"
        )
    else:
        hint = (
            "the file is truncated or not a pickle/joblib file; produce it again, or check that"
            " the library versions match the ones it was saved with"
        )
    return ModelLoadError(f"cannot load the model from {source}: {detail}", hint=hint)


def _require_estimator(model: Any, source: Path) -> None:
    if not callable(getattr(model, "predict", None)):
        raise ModelLoadError(
            f"{source} holds a {type(model).__name__}, not a model (it has no predict method)",
            hint="pass the fitted estimator or pipeline, not its parameters or its data",
        )
