#!/usr/bin/env bash
# Export benchmark: peak server memory while `GET /api/v1/export` streams a workspace of 20,000
# and of 200,000 transactions, on SQLite (default) or PostgreSQL (PFN_DATABASE_URL=postgres://…,
# an empty database). See bench/export.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
build_release --bin pfn
exec python3 bench/export.py "$(target_dir)/release/pfn"
