"""PSI with 10 reference-quantile bins, 1M vs 1M, in plain numpy (the formula the
crate's reference vectors use)."""
import numpy as np

from _common import pair, timed

a, b = pair()


def psi(ref, cur, bins=10, eps=1e-4):
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    rc = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    r = np.where(rc == 0, eps, rc / len(ref))
    c = np.where(cc == 0, eps, cc / len(cur))
    return np.sum((c - r) * np.log(c / r))


timed("psi numpy 1M vs 1M (10 quantile bins)", lambda: psi(a, b), repeat=7)
