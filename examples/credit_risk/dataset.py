"""A deterministic synthetic credit data set with a known bias against one group.

Applicants have an income, a debt-to-income ratio, years of credit history, late payments,
years in employment, a loan amount and a region; ``sex`` and ``age`` are recorded for fairness
analysis only. The label ``repaid`` (1: the loan was repaid, the favourable outcome) follows a
logistic model of the financial features, plus two planted biases against women (``sex="F"``):

* **historical label bias**: a share of women who repaid were recorded as defaults
  (``label_bias``), as when past decisions, not outcomes, were used as labels;
* **proxies**: women work part-time more often and their incomes are drawn lower
  (``income_gap``), so a model that never sees ``sex`` still learns the bias through them.

The same seed always gives the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = [
    "income",
    "debt_to_income",
    "credit_history_years",
    "late_payments",
    "employment_years",
    "loan_amount",
    "part_time",
    "region",
]
SENSITIVE = ["sex", "age_band"]
TARGET = "repaid"


def make_credit_data(
    n: int = 20_000, *, seed: int = 7, label_bias: float = 0.3, income_gap: float = 0.0
) -> pd.DataFrame:
    """Generate ``n`` applicants.

    Parameters
    ----------
    n
        Rows.
    seed
        Seed of the generator; the same seed gives the same data.
    label_bias
        Share of women who repaid but are recorded as defaults.
    income_gap
        Relative income gap planted between women and men.
    """
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.48, 0.52])
    age = rng.integers(19, 75, n)
    age_band = np.select([age < 25, age < 40, age < 60], ["18-24", "25-39", "40-59"], "60+")
    female = sex == "F"
    part_time = rng.random(n) < np.where(female, 0.55, 0.05)
    income = rng.lognormal(np.log(42_000), 0.45, n) * np.where(female, 1 - income_gap, 1.0)
    income = income * np.where(part_time, 0.6, 1.0)
    debt_to_income = np.clip(rng.beta(2.2, 6.0, n), 0.0, 0.95)
    credit_history_years = np.clip(age - 18 - rng.gamma(2.0, 2.5, n), 0, None).round(1)
    late_payments = rng.poisson(np.clip(1.6 - 0.03 * credit_history_years, 0.2, None))
    employment_years = np.clip(rng.gamma(2.5, 3.0, n), 0, age - 18).round(1)
    loan_amount = (rng.lognormal(np.log(9_000), 0.6, n)).round(-2)
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.3, 0.25, 0.25, 0.2])

    logit = (
        0.6
        + 1.6 * (np.log(income) - np.log(42_000))
        - 4.0 * (debt_to_income - 0.27)
        + 0.05 * (credit_history_years - 15)
        - 0.45 * (late_payments - 1)
        + 0.06 * (employment_years - 7)
        - 0.35 * (np.log(loan_amount) - np.log(9_000))
        + np.where(region == "south", -0.15, 0.0)
    )
    repaid = rng.random(n) < 1 / (1 + np.exp(-logit))
    recorded_default = female & repaid & (rng.random(n) < label_bias)
    repaid = repaid & ~recorded_default

    return pd.DataFrame(
        {
            "applicant_id": np.arange(1, n + 1),
            "income": income.round(0),
            "debt_to_income": debt_to_income.round(3),
            "credit_history_years": credit_history_years,
            "late_payments": late_payments,
            "employment_years": employment_years,
            "loan_amount": loan_amount,
            "part_time": part_time.astype(np.int64),
            "region": pd.Categorical(region),
            "sex": sex,
            "age_band": age_band,
            TARGET: repaid.astype(np.int64),
        }
    )
