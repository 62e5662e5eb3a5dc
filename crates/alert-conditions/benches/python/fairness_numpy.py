"""Fairness metrics (selection rate, TPR, FPR per group; demographic parity,
equalized odds, equal opportunity) over 100k rows and 4 groups: plain numpy,
and fairlearn for reference."""
import numpy as np
from fairlearn.metrics import (demographic_parity_difference, demographic_parity_ratio,
                               equal_opportunity_difference, equalized_odds_difference)

from _common import ROWS, timed

rng = np.random.default_rng(11)
groups = rng.choice(np.array(["a", "b", "c", "d"]), size=ROWS)
y = rng.uniform(size=ROWS) < 0.4
p = rng.uniform(size=ROWS) < 0.35 + 0.3 * y


def plain_numpy():
    sel, tpr, fpr = [], [], []
    for g in np.unique(groups):
        m = groups == g
        yt, yp = y[m], p[m]
        sel.append(yp.mean())
        tpr.append((yt & yp).sum() / yt.sum())
        fpr.append((~yt & yp).sum() / (~yt).sum())
    sel, tpr, fpr = map(np.array, (sel, tpr, fpr))
    return (sel.max() - sel.min(), sel.min() / sel.max(),
            max(tpr.max() - tpr.min(), fpr.max() - fpr.min()), tpr.max() - tpr.min())


def with_fairlearn():
    return (demographic_parity_difference(y, p, sensitive_features=groups),
            demographic_parity_ratio(y, p, sensitive_features=groups),
            equalized_odds_difference(y, p, sensitive_features=groups),
            equal_opportunity_difference(y, p, sensitive_features=groups))


timed("fairness plain numpy 100k rows", plain_numpy, repeat=9)
timed("fairness fairlearn 100k rows", with_fairlearn, repeat=3)
