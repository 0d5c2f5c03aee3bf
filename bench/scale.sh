#!/usr/bin/env bash
# Data at scale: one workspace grown 10k → 100k → 1M rows through the API, every insight,
# list and budget route timed at each size, then 1,000 workspaces of 1,000 rows.
# SQLite by default; BENCH_POSTGRES=1 for PostgreSQL. See bench/scale.py.
# Usage: bench/scale.sh [<out path without extension>]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
build_release --bin pfn
exec python3 bench/scale.py "$(target_dir)/release/pfn" "$@"
