#!/usr/bin/env bash
# MCP benchmark: tools/call whoami and list_transactions through /mcp against their REST routes,
# in one run (see bench/mcp.py). SQLite by default; PFN_DATABASE_URL=postgres://… for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
ensure_wrk
build_release --bin pfn
exec python3 bench/mcp.py "$(target_dir)/release/pfn"
