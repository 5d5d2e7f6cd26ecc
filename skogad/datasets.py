"""A generated table to try skogad on: mixed column types, gaps, planted errors."""

import numpy as np
from sklearn.utils import check_random_state

from skogad._optional import require

__all__ = ["make_churn_table"]

REGIONS = np.array(["north", "south", "east", "west"])
PLANS = np.array(["basic", "plus", "premium"])


def make_churn_table(n_samples=1500, *, noise=0.08, missing=0.05, random_state=None):
    """A customer-churn table with planted label errors, as a DataFrame.

    Numeric and categorical columns, missing values, an identifier column and
    a yes/no target; a known fraction of the targets is flipped, and the
    ``planted_error`` column says which. Use it to try ``skogad clean`` or
    `skogad.GradientOutlierDetector.report` on data shaped like a real table.

    Parameters
    ----------
    n_samples : int, default=1500
        Number of rows.
    noise : float, default=0.08
        Fraction of rows whose ``churned`` label is flipped, in [0, 0.5).
    missing : float, default=0.05
        Fraction of missing values in ``income``, ``region`` and
        ``monthly_spend``, in [0, 0.5).
    random_state : int, RandomState instance or None, default=None
        Seeds the table.

    Returns
    -------
    table : pandas.DataFrame of shape (n_samples, 10)
        Columns ``customer_id`` (an identifier: carries no information),
        ``age``, ``income``, ``region``, ``plan``, ``tenure_months``,
        ``support_calls``, ``monthly_spend``, ``churned`` (the target, "yes" or
        "no") and ``planted_error`` (True where ``churned`` was flipped; not a
        feature).

    Examples
    --------
    >>> from skogad.datasets import make_churn_table
    >>> table = make_churn_table(1000, noise=0.1, random_state=0)
    >>> table.shape, int(table["planted_error"].sum())
    ((1000, 10), 100)
    """
    pd = require("pandas", "make_churn_table")
    if not 0 <= noise < 0.5:
        raise ValueError(f"noise must be in [0, 0.5), got {noise}.")
    if not 0 <= missing < 0.5:
        raise ValueError(f"missing must be in [0, 0.5), got {missing}.")
    rng = check_random_state(random_state)
    n = int(n_samples)
    age = rng.randint(18, 80, n)
    income = np.round(rng.lognormal(10.5, 0.4, n), -2)
    region = REGIONS[rng.randint(0, len(REGIONS), n)]
    plan = PLANS[rng.choice(len(PLANS), n, p=[0.5, 0.3, 0.2])]
    tenure = rng.randint(1, 72, n)
    calls = rng.poisson(2.0, n)
    spend = np.round(
        20 + 15 * (plan == "plus") + 40 * (plan == "premium") + rng.gamma(2.0, 8.0, n),
        2,
    )

    def z(v):
        return (v - v.mean()) / v.std()

    logit = (
        1.4 * z(calls)
        - 1.6 * z(tenure)
        + 0.8 * z(spend)
        - 0.5 * z(np.log(income))
        + 0.9 * (region == "south")
        - 0.7 * (plan == "premium")
        - 0.6
    )
    churned = rng.rand(n) < 1 / (1 + np.exp(-4 * logit))
    planted = np.zeros(n, dtype=bool)
    planted[rng.choice(n, round(noise * n), replace=False)] = True
    churned ^= planted

    table = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(1, n + 1)],
            "age": age,
            "income": income,
            "region": region.astype(object),
            "plan": plan,
            "tenure_months": tenure,
            "support_calls": calls,
            "monthly_spend": spend,
            "churned": np.where(churned, "yes", "no"),
            "planted_error": planted,
        }
    )
    for column in ("income", "region", "monthly_spend"):
        gaps = rng.rand(n) < missing
        table[column] = table[column].where(~gaps)
    return table
