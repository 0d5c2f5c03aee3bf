#!/usr/bin/env bash
# Other routes' latency during a sign-in flood, and the flood's rate against the argon2id
# ceiling. See bench/flood.py for the knobs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
ensure_wrk
build_release --bin pfn --example hash_time
exec python3 bench/flood.py "$(target_dir)/release/pfn" "$(target_dir)/release/examples/hash_time"
