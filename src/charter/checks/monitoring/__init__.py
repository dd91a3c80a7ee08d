"""The checks of the policy's ``monitoring`` section, and the state they read.

=====================  ===================  ==================================================
check                  metric               fails when
=====================  ===================  ==================================================
``dataset_drift``      ``drift_share``      share of drifted columns ``>=`` ``max`` (default
                                            ``monitoring.drift_share``) in a window
``column_drift``       ``drifted_columns``  a listed column (default: any) drifts in a window
``prediction_drift``   ``drift_score``      the prediction (or score) column drifts
``embedding_drift``    ``drift_score``      an embedding column drifts
``new_categories``     ``new_categories``   a categorical column shows a value the reference
                                            never had
``window_fairness``    the named metric     the metric leaves ``[min, max]`` in a window
``window_performance`` the named metric     the metric leaves ``[min, max]`` in a window
=====================  ===================  ==================================================

Each takes a :class:`~charter.checks.monitoring.state.MonitorState`, built by
:func:`charter.monitor.run.monitor` from the windows of an inference log.
"""

from charter.checks.monitoring.drift import (
    MONITORING_CONTROLS,
    ColumnDriftParams,
    DatasetDriftParams,
    EmbeddingDriftParams,
    NewCategoriesParams,
    PredictionDriftParams,
)
from charter.checks.monitoring.metrics import WindowFairnessParams, WindowPerformanceParams
from charter.checks.monitoring.state import DriftSettings, MonitorState, WindowResult, WindowValue

__all__ = [
    "MONITORING_CONTROLS",
    "ColumnDriftParams",
    "DatasetDriftParams",
    "DriftSettings",
    "EmbeddingDriftParams",
    "MonitorState",
    "NewCategoriesParams",
    "PredictionDriftParams",
    "WindowFairnessParams",
    "WindowPerformanceParams",
    "WindowResult",
    "WindowValue",
]
