"""Evidently DataDriftPreset over 100k rows x 20 columns (15 numerical, 5
categorical), reference and current of 100k rows each. Needs evidently (which
needs pandas < 3: use a virtual environment, see docs/bench/alert-conditions.md)."""
import numpy as np
import pandas as pd
from evidently import Dataset, DataDefinition, Report
from evidently.presets import DataDriftPreset

from _common import COLS, NUM_COLS, ROWS, timed


def frame(seed, shift):
    rng = np.random.default_rng(seed)
    d = {f"num{i}": rng.normal(shift * (i % 3 == 0), 1.0, ROWS) for i in range(NUM_COLS)}
    for i in range(COLS - NUM_COLS):
        d[f"cat{i}"] = rng.choice(np.array(["a", "b", "c", "d", "e"]), size=ROWS)
    return pd.DataFrame(d)


ref, cur = frame(1, 0.0), frame(2, 0.2)
definition = DataDefinition(numerical_columns=[f"num{i}" for i in range(NUM_COLS)],
                            categorical_columns=[f"cat{i}" for i in range(COLS - NUM_COLS)])
ref_ds = Dataset.from_pandas(ref, data_definition=definition)
cur_ds = Dataset.from_pandas(cur, data_definition=definition)


def run():
    Report([DataDriftPreset()]).run(current_data=cur_ds, reference_data=ref_ds)


timed("evidently DataDriftPreset 100k x 20", run, repeat=3)
