#!/usr/bin/env bash
# Webhook benchmark: pushes with webhooks off and on (3 loopback endpoints), deliveries per
# second and the delay from event to arrival, on SQLite (default) or PostgreSQL
# (PFN_DATABASE_URL=postgres://…, an empty database). See bench/webhooks.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
build_release --bin pfn
exec python3 bench/webhooks.py "$(target_dir)/release/pfn"
