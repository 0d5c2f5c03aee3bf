#!/usr/bin/env bash
# Instructions per request for the bare, key and session routes, counted by callgrind.
# See bench/instructions.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
ensure_wrk
command -v valgrind >/dev/null || { log "installing valgrind"; apt-get install -y -qq valgrind >/dev/null; }
build_release --bin pfn
exec python3 bench/instructions.py "$(target_dir)/release/pfn"
