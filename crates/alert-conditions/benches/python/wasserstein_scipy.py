"""scipy.stats.wasserstein_distance, 1M vs 1M float64."""
from scipy import stats

from _common import pair, timed

a, b = pair()
timed("wasserstein_distance scipy 1M vs 1M", lambda: stats.wasserstein_distance(a, b), repeat=5)
