#!/usr/bin/env bash
# Throughput vs concurrency, with a plot: docs/bench/throughput-vs-concurrency.{svg,csv} unless
# BENCH_OUT names another path (without extension). See bench/concurrency.py for the knobs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
ensure_wrk
build_release --bin pfn
out="${BENCH_OUT:-docs/bench/throughput-vs-concurrency}"
mkdir -p "$(dirname "$out")"
exec python3 bench/concurrency.py "$(target_dir)/release/pfn" "$out"
