# Shared by scripts/run, scripts/test and .ci/run: install what is missing, loudly.
# shellcheck shell=bash

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_cargo() {
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
  ensure_openssl_dev
}

# webauthn-rs (passkeys) links OpenSSL: its headers and pkg-config must be there to build.
ensure_openssl_dev() {
  if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl 2>/dev/null; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "OpenSSL's development files and pkg-config are needed to build pfn (Debian: libssl-dev pkg-config)"
  log "installing libssl-dev and pkg-config"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null
}

# The frontend must build for the browser.
ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "installing the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
}

# PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth), for the PostgreSQL half of the tests.
# Starts an installed cluster if it is down; installs PostgreSQL with apt if it is missing.
ensure_postgres() {
  local url="${PFN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  pg_up() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; }
  if pg_up; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not running at 127.0.0.1:5432 and apt-get is unavailable to install it"
    log "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    local hba; hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
    # Local test server: trust connections from this machine only.
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
  fi
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  die "PostgreSQL is not reachable at $url: the PostgreSQL half of the test suite cannot run"
}

# Redis for the multi-replica tests (shared rate limits, key invalidation fan-out).
ensure_redis() {
  redis_up() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
  if redis_up; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "Redis is not running at 127.0.0.1:6379 and apt-get is unavailable to install it"
    log "installing Redis"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
  for _ in $(seq 1 30); do redis_up && return 0; sleep 0.5; done
  die "Redis is not reachable at 127.0.0.1:6379: the multi-replica tests cannot run"
}

# The SPA toolchain: Trunk, the wasm-bindgen CLI that matches Cargo.lock, wasm-split-cli (which
# cuts the .wasm into chunks, scripts/split-spa), wasm-opt 132 from npm
# (Debian's binaryen 108 produces a wasm that fails at start-up) and Node to run it.
# Installs what is missing; about 18 minutes once per machine, then nothing.
TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
WASM_SPLIT_VERSION=0.2.4
spa_tools_dir() { echo "${PFN_TOOLS_DIR:-$HOME/.cache/pfn-tools}"; }

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_spa_tools() {
  ensure_wasm_target
  has_trunk() { trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; }
  if ! has_trunk; then
    try_binstall trunk "$TRUNK_VERSION" && has_trunk || {
      log "installing trunk $TRUNK_VERSION (about 12 minutes, once)"
      cargo install --locked "trunk@$TRUNK_VERSION"
    }
    has_trunk || die "trunk $TRUNK_VERSION is not on PATH after installing it"
  fi
  local wbg; wbg=$(wasm_bindgen_version)
  [ -n "$wbg" ] || die "Cargo.lock names no wasm-bindgen version"
  has_wasm_bindgen() { wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; }
  if ! has_wasm_bindgen; then
    try_binstall wasm-bindgen-cli "$wbg" && has_wasm_bindgen || {
      # Not --locked: its lock file pins a webpki-roots release this registry does not have.
      log "installing wasm-bindgen-cli $wbg (about 6 minutes, once)"
      cargo install wasm-bindgen-cli --version "$wbg" --force
    }
    has_wasm_bindgen || die "wasm-bindgen $wbg is not on PATH after installing it"
  fi
  has_wasm_split() { cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; }
  if ! has_wasm_split; then
    try_binstall wasm_split_cli_support "$WASM_SPLIT_VERSION" && has_wasm_split && command -v wasm-split-cli >/dev/null || {
      log "installing wasm-split-cli $WASM_SPLIT_VERSION (about 2 minutes, once)"
      cargo install --locked "wasm_split_cli_support@$WASM_SPLIT_VERSION" --features build-binary --force
    }
  fi
  ensure_npm_tool wasm-opt "version_$BINARYEN_VERSION" "binaryen@$BINARYEN_VERSION"
  export PATH="$(spa_tools_dir)/node_modules/.bin:$PATH"
}

# try_binstall CRATE VERSION: a prebuilt CRATE@VERSION through cargo-binstall, when the user has
# it (we never install it): it downloads release binaries, which is minutes faster than
# compiling. False when binstall is missing or cannot download (where downloads are blocked it
# fails within the timeout); the caller then compiles, and checks the version either way.
try_binstall() {
  cargo binstall -V >/dev/null 2>&1 || return 1
  log "trying a prebuilt $1 $2 with cargo-binstall"
  if timeout 180 cargo binstall --no-confirm --force --disable-strategies compile "$1@$2" >&2; then
    return 0
  fi
  log "cargo-binstall could not fetch $1 $2: compiling it instead"
  return 1
}

# ensure_npm_tool BIN VERSION_TEXT PACKAGE@VERSION: installs the npm package into the tools
# directory unless `BIN --version` there already prints VERSION_TEXT.
ensure_npm_tool() {
  local bin=$1 want=$2 package=$3 tools; tools=$(spa_tools_dir)
  command -v npm >/dev/null 2>&1 || die "npm is needed for $bin (npm $package)"
  if ! "$tools/node_modules/.bin/$bin" --version 2>/dev/null | grep -qF "$want"; then
    log "installing $bin (npm $package)"
    mkdir -p "$tools"
    (cd "$tools" && npm install --no-audit --no-fund --silent "$package" >/dev/null)
  fi
}

# Builds the release SPA into dist/ and prints the sizes of its .wasm files (raw and gzip).
build_spa() {
  ensure_spa_tools
  log "building the SPA (release)"
  cargo fetch -q
  # A build stopped half-way (Ctrl-C during scripts/run) leaves Trunk's staging directory in
  # dist/, which the next build would not remove and `embed-spa` would compile in.
  rm -rf dist/.stage
  trunk build --release --offline --skip-version-check >/dev/null || die "the SPA build failed"
  log "SPA .wasm sizes (docs/benchmarks.md, \"The web app's size\")"
  python3 scripts/spa-sizes.py dist >&2
}

# Headless Chromium and its WebDriver for the browser tests.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "chromium and chromedriver are needed for the browser tests"
  log "installing chromium and chromium-driver"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}

# Python tools in a venv of their own, pinned by a requirements file; sets PY_TOOLS to its bin
# directory. Default: scripts/requirements-tools.txt (OpenAPI validator, jsonschema,
# openapi-python-client) in ~/.cache/pfn-tools/venv.
ensure_py_tools() {
  local requirements=${1:-scripts/requirements-tools.txt} name=${2:-venv}
  command -v python3 >/dev/null 2>&1 || die "python3 is needed for $requirements"
  local venv; venv="$(spa_tools_dir)/$name"
  local want; want=$(sha256sum "$requirements" | cut -c1-16)
  if [ "$(cat "$venv/.pfn-requirements" 2>/dev/null)" != "$want" ]; then
    log "installing the Python tools of $requirements"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" \
      || die "pip could not install $requirements"
    echo "$want" >"$venv/.pfn-requirements"
  fi
  PY_TOOLS="$venv/bin"
}

# Spectral, the OpenAPI linter, from npm into the tools directory.
SPECTRAL_VERSION=6.16.3
ensure_spectral() {
  ensure_npm_tool spectral "$SPECTRAL_VERSION" "@stoplight/spectral-cli@$SPECTRAL_VERSION"
  SPECTRAL="$(spa_tools_dir)/node_modules/.bin/spectral"
}

# The directory cargo builds into (CARGO_TARGET_DIR or the workspace's target/).
target_dir() {
  cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# Static release builds (scripts/release): Rust's musl target and musl-gcc for the C parts
# (SQLite, mimalloc, ring, OpenSSL built from source).
ensure_musl() {
  if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    log "installing the x86_64-unknown-linux-musl Rust target"
    rustup target add x86_64-unknown-linux-musl
  fi
  if ! command -v musl-gcc >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "musl-gcc is needed for a static build (Debian: musl-tools)"
    log "installing musl-tools"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
  fi
}

# The release's SBOM (scripts/release): cargo-cyclonedx, once per machine.
CYCLONEDX_VERSION=0.5.9
ensure_cyclonedx() {
  if ! cargo cyclonedx --version 2>/dev/null | grep -q " $CYCLONEDX_VERSION\$"; then
    log "installing cargo-cyclonedx $CYCLONEDX_VERSION (a few minutes, once)"
    cargo install --locked "cargo-cyclonedx@$CYCLONEDX_VERSION"
  fi
}

# The supply-chain checks of .ci/run (deny.toml): cargo-deny, once per machine (~2.5 minutes).
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  if ! cargo deny --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION\$"; then
    log "installing cargo-deny $CARGO_DENY_VERSION (about 3 minutes, once)"
    cargo install --locked "cargo-deny@$CARGO_DENY_VERSION"
  fi
}

# Benchmarks (bench/): wrk from Debian's packages, when missing.
ensure_wrk() {
  command -v wrk >/dev/null || { log "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
}

# build_release ARGS...: the release backend the benchmarks measure (--bin pfn, --example …).
build_release() {
  log "building the release binary"
  cargo build -q --release -p backend "$@"
}

# start_pfn DATA_DIR [NAME=VALUE ...]: builds and starts a fresh pfn (debug build) on a free
# loopback port with its data in DATA_DIR and the given settings; waits until /readyz answers.
# Sets PFN_URL and PFN_PID; the caller stops it (kill "$PFN_PID").
start_pfn() {
  local data=$1; shift
  cargo build -q -p backend --bin pfn
  local port; port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PFN_URL="http://127.0.0.1:$port"
  env PFN_LISTEN="127.0.0.1:$port" PFN_PUBLIC_URL="$PFN_URL" PFN_DATA_DIR="$data" "$@" \
    "$(target_dir)/debug/pfn" serve >"$data/pfn.log" 2>&1 &
  PFN_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "$PFN_URL/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$PFN_PID" 2>/dev/null || { cat "$data/pfn.log"; die "pfn did not start"; }
    sleep 0.1
  done
  die "pfn did not become ready at $PFN_URL"
}

# cargo-fuzz (libFuzzer) for fuzz/.
CARGO_FUZZ_VERSION=0.13.2
ensure_cargo_fuzz() {
  if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once)"
    cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"
  fi
}
