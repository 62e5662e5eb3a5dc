"""scipy.stats.ks_2samp, 1M vs 1M float64 (method='auto' -> asymptotic)."""
from scipy import stats

from _common import pair, timed

a, b = pair()
timed("ks_2samp scipy 1M vs 1M", lambda: stats.ks_2samp(a, b), repeat=5)
