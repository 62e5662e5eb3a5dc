#!/usr/bin/env bash
# Runs the Python side and the Rust side of every comparison back to back, so the
# ratios come from one session on one machine. From the workspace root:
#   bash crates/alert-conditions/benches/python/run_all.sh
# PYTHON (default python3) needs numpy, scipy, fairlearn; PYTHON_EVIDENTLY (default
# $PYTHON) needs evidently (pandas < 3). Set SKIP_EVIDENTLY=1 to leave it out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3}"
PYTHON_EVIDENTLY="${PYTHON_EVIDENTLY:-$PYTHON}"
cd "$here"
echo "== python side ($(date -u +%FT%TZ))"
"$PYTHON" ks_scipy.py
"$PYTHON" wasserstein_scipy.py
"$PYTHON" psi_numpy.py
"$PYTHON" fairness_numpy.py
if [ "${SKIP_EVIDENTLY:-0}" != 1 ]; then "$PYTHON_EVIDENTLY" dataset_drift_evidently.py; fi
echo "== rust side ($(date -u +%FT%TZ))"
cd "$here/../.."
cargo bench -p alert-conditions --bench drift -- --noplot 2>&1 | grep -E "^[A-Za-z0-9_]+/|time:"
