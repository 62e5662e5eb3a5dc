#!/usr/bin/env python3
"""Regenerates vectors.json: seeded data and the values the reference implementations
(scipy, numpy, scikit-learn, fairlearn) compute on it. The Rust tests read the JSON
only; Python is needed only to regenerate it:

    pip install numpy scipy scikit-learn fairlearn pandas
    python3 crates/alert-conditions/tests/reference/generate.py

Versions used for the committed file are recorded in its "versions" field.
"""
import json
import os

import fairlearn
import numpy as np
import scipy
import sklearn
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm

rng = np.random.default_rng(20261124)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")


def r6(x):
    """Rounded to 6 decimals: short JSON, and ties like real data has."""
    return np.round(np.asarray(x, dtype=float), 6)


def fl(x):
    return [float(v) for v in x]


# ---------------------------------------------------------------- KS two-sample
ks_cases = []


def ks_case(name, a, b):
    a, b = r6(a), r6(b)
    res = stats.ks_2samp(a, b)  # defaults: two-sided, method='auto'
    exact = max(len(a), len(b)) <= 10000
    ks_cases.append(
        dict(name=name, a=fl(a), b=fl(b), statistic=float(res.statistic),
             p_value=float(res.pvalue), method="exact" if exact else "asymptotic")
    )


ks_case("exact_equal_n_shift", rng.normal(0, 1, 30), rng.normal(0.8, 1, 30))
ks_case("exact_unequal", rng.normal(0, 1, 50), rng.normal(0.3, 1.2, 73))
ks_case("exact_outer_inside_800_1200", rng.normal(0, 1, 800), rng.normal(0.1, 1, 1200))
ks_case("exact_ties_integers", rng.integers(0, 10, 200).astype(float), rng.integers(0, 11, 300).astype(float))
ks_case("exact_equal_n_1000", rng.normal(0, 1, 1000), rng.normal(0.05, 1, 1000))
ks_case("exact_same_distribution", rng.exponential(1, 400), rng.exponential(1, 650))
ks_case("exact_tiny", [1.0, 2.0], [1.5, 2.5, 3.5])
ks_case("asymp_durbin", rng.normal(0, 1, 12000), rng.normal(0.01, 1, 15000))
ks_case("asymp_smirnov_tail", rng.normal(0, 1, 11000), rng.normal(0.06, 1, 20000))
ks_case("asymp_small_en_5", rng.normal(0, 1, 5), rng.normal(0, 1, 10050))
ks_case("asymp_small_en_30", rng.normal(0.4, 1, 30), rng.normal(0, 1, 10500))
ks_case("asymp_en_100", rng.normal(0.2, 1, 100), rng.normal(0, 1, 10001))
ks_case("asymp_far_apart", rng.normal(0, 1, 200), rng.normal(5, 1, 10001))

# The distribution of the one-sample statistic over all of scipy's algorithm branches.
kstwo = []
for n, x in [(1, 0.7), (3, 0.2), (3, 0.4), (10, 0.06), (10, 0.09), (10, 0.3), (10, 0.6), (10, 0.95),
             (40, 0.1), (40, 0.2), (40, 0.3), (100, 0.05), (100, 0.08), (140, 0.1), (140, 0.2),
             (141, 0.004), (141, 0.05), (141, 0.15), (500, 0.02), (500, 0.06), (500, 0.2),
             (2000, 0.01), (2000, 0.05), (6667, 0.008), (6667, 0.02), (10000, 0.012),
             (60000, 0.003), (100000, 0.002), (100001, 0.002), (250000, 0.0015), (500000, 0.001),
             (500000, 0.0025), (1000000, 0.0005), (5000000, 0.0004), (300, 0.002), (300, 0.9999)]:
    kstwo.append(dict(n=n, x=x, sf=float(stats.kstwo.sf(x, n))))

smirnov = []
for n, x in [(2, 0.3), (5, 0.3), (20, 0.1), (20, 0.5), (100, 0.15), (1000, 0.05), (1000, 0.3),
             (50000, 0.01), (500000, 0.003), (999999, 0.002), (2000000, 0.001)]:
    smirnov.append(dict(n=n, x=x, sf=float(scipy.special.smirnov(n, x))))

# ---------------------------------------------------------------- Wasserstein
wasserstein = []
for name, u, v in [
    ("normal_shift", rng.normal(0, 1, 500), rng.normal(0.5, 1.5, 700)),
    ("ties", rng.integers(0, 5, 300).astype(float), rng.integers(1, 6, 200).astype(float)),
    ("single_vs_many", [3.0], rng.uniform(0, 10, 100)),
    ("lognormal", rng.lognormal(0, 1, 3000), rng.lognormal(0.1, 1, 2500)),
]:
    u, v = r6(u), r6(v)
    d = stats.wasserstein_distance(u, v)
    wasserstein.append(dict(name=name, u=fl(u), v=fl(v), distance=float(d),
                            normed=float(d / max(float(np.std(u)), 0.001))))


# ---------------------------------------------------------------- PSI / JS on quantile bins
def psi_np(ref, cur, bins, eps=1e-4):
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    edges = np.unique(np.quantile(ref, qs))
    rc = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    r = np.where(rc == 0, eps, rc / len(ref))
    c = np.where(cc == 0, eps, cc / len(cur))
    return float(np.sum((c - r) * np.log(c / r))), edges, rc, cc


binned = []
for name, ref, cur, bins in [
    ("normal_shift_10", rng.normal(0, 1, 5000), rng.normal(0.3, 1.1, 4000), 10),
    ("no_shift_10", rng.normal(0, 1, 3000), rng.normal(0, 1, 3000), 10),
    ("outside_range_5", rng.uniform(0, 1, 1000), rng.uniform(0.5, 2, 800), 5),
    ("discrete_dup_edges_10", rng.poisson(1.0, 2000).astype(float), rng.poisson(1.6, 1500).astype(float), 10),
    ("empty_current_bins_20", rng.normal(0, 1, 2000), rng.normal(3, 0.2, 500), 20),
]:
    ref, cur = r6(ref), r6(cur)
    value, edges, rc, cc = psi_np(ref, cur, bins)
    binned.append(dict(name=name, reference=fl(ref), current=fl(cur), bins=bins, edges=fl(edges),
                       reference_counts=[int(x) for x in rc], current_counts=[int(x) for x in cc],
                       psi=value, js=float(jensenshannon(rc, cc))))

# ---------------------------------------------------------------- categorical
categorical = []
cats = ["a", "b", "c", "d", "e"]
for name, ref_p, cur_p, n_ref, n_cur, cur_extra in [
    ("five_shifted", [.3, .25, .2, .15, .1], [.2, .25, .2, .2, .15], 800, 600, None),
    ("two_categories", [.6, .4, 0, 0, 0], [.5, .5, 0, 0, 0], 400, 300, None),
    ("no_shift", [.2, .2, .2, .2, .2], [.2, .2, .2, .2, .2], 1000, 1000, None),
    ("new_category", [.4, .3, .3, 0, 0], [.4, .35, .25, 0, 0], 500, 400, ("z", 30)),
]:
    ref = rng.choice(cats, size=n_ref, p=ref_p)
    cur = rng.choice(cats, size=n_cur, p=cur_p)
    rc = {k: int(v) for k, v in zip(*np.unique(ref, return_counts=True))}
    cc = {k: int(v) for k, v in zip(*np.unique(cur, return_counts=True))}
    if cur_extra:
        cc[cur_extra[0]] = cur_extra[1]
    keys = sorted(set(rc) | set(cc))
    rv = np.array([rc.get(k, 0) for k in keys])
    cv = np.array([cc.get(k, 0) for k in keys])
    table = np.array([rv, cv])
    case = dict(name=name, reference=rc, current=cc)
    s, p, dof, _ = stats.chi2_contingency(table, correction=False)
    case["homogeneity"] = dict(statistic=float(s), p_value=float(p), dof=int(dof))
    s, p, dof, _ = stats.chi2_contingency(table, correction=True)
    case["homogeneity_yates"] = dict(statistic=float(s), p_value=float(p), dof=int(dof))
    if not cur_extra:
        ref_keys = sorted(rc)
        f_exp = np.array([rc[k] for k in ref_keys]) / sum(rc.values()) * sum(cc.values())
        f_obs = np.array([cc.get(k, 0) for k in ref_keys])
        s, p = stats.chisquare(f_obs, f_exp)
        case["goodness_of_fit"] = dict(statistic=float(s), p_value=float(p), dof=len(ref_keys) - 1)
    r = np.where(rv == 0, 1e-4, rv / rv.sum())
    c = np.where(cv == 0, 1e-4, cv / cv.sum())
    case["psi"] = float(np.sum((c - r) * np.log(c / r)))
    case["js"] = float(jensenshannon(rv, cv))
    categorical.append(case)

# Large statistics, tiny p-values: the chi-square tail.
chi2_sf = [dict(x=x, dof=d, sf=float(stats.chi2.sf(x, d)))
           for x, d in [(0.5, 1), (3.84, 1), (10, 3), (50, 4), (200, 10), (700, 30), (1e-3, 2), (30, 29)]]

# ---------------------------------------------------------------- performance metrics
classification = []
for name, n, noise in [("balanced", 400, 1.0), ("imbalanced", 600, 0.6), ("ties_and_extremes", 300, 0.0)]:
    y = (rng.uniform(size=n) < (0.5 if name == "balanced" else 0.15)).astype(int)
    if name == "ties_and_extremes":
        score = np.round(rng.uniform(size=n), 1)  # heavy ties
        score[:5] = 0.0
        score[5:10] = 1.0
    else:
        score = 1 / (1 + np.exp(-(2 * y - 1) * 1.2 - rng.normal(0, noise, n)))
        score = r6(score)
    pred = (score >= 0.5).astype(int)
    classification.append(dict(
        name=name, y_true=[int(v) for v in y], y_score=fl(score), threshold=0.5,
        accuracy=float(skm.accuracy_score(y, pred)),
        precision=float(skm.precision_score(y, pred, zero_division=0)),
        recall=float(skm.recall_score(y, pred, zero_division=0)),
        f1=float(skm.f1_score(y, pred, zero_division=0)),
        roc_auc=float(skm.roc_auc_score(y, score)),
        log_loss=float(skm.log_loss(y, score)),
    ))

regression = []
for name, n in [("linear", 500), ("with_zero_targets", 200)]:
    y = r6(rng.normal(10, 3, n))
    if name == "with_zero_targets":
        y[:7] = 0.0
    yhat = r6(y + rng.normal(0, 1.5, n))
    regression.append(dict(
        name=name, y_true=fl(y), y_pred=fl(yhat),
        mae=float(skm.mean_absolute_error(y, yhat)),
        rmse=float(skm.root_mean_squared_error(y, yhat)),
        mape=float(skm.mean_absolute_percentage_error(y, yhat)),
        r2=float(skm.r2_score(y, yhat)),
    ))

# ---------------------------------------------------------------- fairness
fairness = []
for name, n, groups, bias in [("two_groups", 1000, ["female", "male"], [0.0, 0.15]),
                               ("four_groups", 3000, ["a", "b", "c", "d"], [0.0, 0.05, -0.1, 0.2])]:
    g = rng.choice(groups, size=n)
    gi = np.array([groups.index(v) for v in g])
    y = (rng.uniform(size=n) < 0.4).astype(int)
    p_pos = 0.25 + 0.5 * y + np.array(bias)[gi]
    yp = (rng.uniform(size=n) < p_pos).astype(int)
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate,
                              "fpr": false_positive_rate},
                     y_true=y, y_pred=yp, sensitive_features=g)
    by = mf.by_group
    fairness.append(dict(
        name=name, y_true=[int(v) for v in y], y_pred=[int(v) for v in yp], groups=[str(v) for v in g],
        demographic_parity_difference=float(demographic_parity_difference(y, yp, sensitive_features=g)),
        demographic_parity_ratio=float(demographic_parity_ratio(y, yp, sensitive_features=g)),
        equalized_odds_difference=float(equalized_odds_difference(y, yp, sensitive_features=g)),
        equal_opportunity_difference=float(equal_opportunity_difference(y, yp, sensitive_features=g)),
        by_group={str(k): dict(selection_rate=float(by.loc[k, "selection_rate"]),
                               tpr=float(by.loc[k, "tpr"]), fpr=float(by.loc[k, "fpr"]))
                  for k in by.index},
    ))

# ---------------------------------------------------------------- quantiles, learned bands
sample = r6(rng.gamma(2.0, 3.0, 777))
qs = [0.0, 0.01, 0.05, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]
quantiles = dict(x=fl(sample), q=qs, values=[float(np.quantile(sample, q)) for q in qs],
                 mean=float(np.mean(sample)), std_ddof1=float(np.std(sample, ddof=1)))

out = dict(
    versions=dict(numpy=np.__version__, scipy=scipy.__version__, sklearn=sklearn.__version__,
                  fairlearn=fairlearn.__version__),
    ks=ks_cases, kstwo=kstwo, smirnov=smirnov, wasserstein=wasserstein, binned=binned,
    categorical=categorical, chi2_sf=chi2_sf, classification=classification, regression=regression,
    fairness=fairness, quantiles=quantiles,
)
with open(OUT, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
