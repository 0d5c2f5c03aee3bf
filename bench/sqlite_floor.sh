#!/usr/bin/env bash
# SQLite alone with pfn's transactions table and 1,000-row batches: the floor under
# bench/scale.sh's push rates. See bench/sqlite_floor.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
build_release --bin pfn
exec python3 bench/sqlite_floor.py "$(target_dir)/release/pfn"
