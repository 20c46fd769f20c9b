"""Harnesses that measure the assistant from outside: load on the real server, the handoff
queue and the search box, all driven by the one load generator in `bench.loadgen`.

Run from the repository root (`scripts/bench`, `scripts/bench-queue`, `scripts/bench-search`,
or `python -m bench.<module>`); reports go to `bench/reports/`. The runtime package never
imports this one.
"""

from pathlib import Path

#: Where the harnesses write their reports.
REPORTS = Path(__file__).resolve().parent / "reports"
