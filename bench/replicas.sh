#!/usr/bin/env bash
# Key revocation propagation across replicas on PostgreSQL + Redis (127.0.0.1:5432 and :6379,
# or BENCH_PG / BENCH_REDIS). See bench/replicas.py for the knobs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
build_release --bin pfn
exec python3 bench/replicas.py "$(target_dir)/release/pfn"
