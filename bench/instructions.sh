#!/usr/bin/env bash
# Instructions per request for the bare axum route (bench/baseline) and pfn's bare, key and
# session routes, counted by callgrind (bench/instructions.py). With BENCH_LAYERS=1, then
# per layer of the request path (bench/layers.py, about 15 minutes more).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
ensure_wrk
command -v valgrind >/dev/null || { log "installing valgrind"; apt-get install -y -qq valgrind >/dev/null; }
layers="${BENCH_LAYERS:-0}"
if [ "$layers" != 0 ]; then
  build_release --bin pfn --example layer_stack -p pfn-baseline --bin pfn-baseline
else
  build_release --bin pfn -p pfn-baseline --bin pfn-baseline
fi
release="$(target_dir)/release"
python3 bench/instructions.py "$release/pfn" "$release/pfn-baseline"
if [ "$layers" != 0 ]; then
  python3 bench/layers.py "$release/examples/layer_stack" "$release/pfn"
fi
