"""The gate policy ``bench_check.py`` and ``bench_report.py`` both run.

It imports nothing of Charter, so ``bench_report.py --against SRC`` can run it on another
source tree.
"""

POLICY = """\
model: {name: credit-risk-bench, risk_tier: high}
data:
  target: repaid
  sensitive: [sex, age_band]
  rules:
    - {id: schema, check: required_columns, params: {columns: [income, debt_to_income, sex]}}
    - {id: rows, check: min_rows, min: 1000}
    - {id: nulls, check: null_fraction, max: 0.01}
    - id: ranges
      check: value_range
      params: {columns: {income: {min: 0}, debt_to_income: {min: 0, max: 1}}}
      max: 0
    - {id: ids, check: unique, params: {columns: [applicant_id]}, max: 0}
performance:
  rules:
    - {id: auc, check: roc_auc, min: 0.7}
    - {id: bacc, check: balanced_accuracy, min: 0.6}
    - {id: brier, check: brier, max: 0.25}
fairness:
  sensitive: [sex]
  privileged: {sex: M}
  bootstrap: 1000
  rules:
    - {id: dpd, check: demographic_parity_difference, max: 0.1}
    - {id: eod, check: equalized_odds_difference, max: 0.1}
    - {id: di, check: disparate_impact, min: 0.8}
    - {id: dpd-x, check: demographic_parity_difference, params: {sensitive: [sex, age_band]}}
explainability:
  sample_size: 1000
  rules:
    - {id: shap, check: shap_explanations}
"""
