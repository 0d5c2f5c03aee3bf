#!/usr/bin/env bash
# Bank-sync benchmark: ~50,000 sandbox transactions into SQLite (default) or PostgreSQL
# (PFN_DATABASE_URL=postgres://…), then a re-sync that must add 0 rows. See bench/sync.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
build_release --bin pfn
exec python3 bench/sync.py "$(target_dir)/release/pfn"
