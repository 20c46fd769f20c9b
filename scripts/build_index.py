#!/usr/bin/env python3
"""Validate the knowledge base and build the search index (the editors' script).

    python scripts/build_index.py [--kb kb/] [--out index/] [--if-stale] [--check [--force]]

Exit status 0 when a new index was published (or it was up to date), 1 when `--check` refused
it (the linter found errors, or it answers the eval sets worse than the published index; the
table and the changed queries are printed), 2 when the KB has errors (each printed with file
and field). In both refusals the previous index keeps serving.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["build-index", *sys.argv[1:]]))
