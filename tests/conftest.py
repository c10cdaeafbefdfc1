import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # golden_runs helpers

# The tests marked xdist_group("timing") run in one pytest-xdist worker, one after another (the
# README's test line passes --dist loadgroup): those that time a --timeout never share the two
# cores with those that start worker processes (their own pools, ours, or a Dask cluster).
