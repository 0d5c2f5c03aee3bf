#!/usr/bin/env bash
# Sign-in benchmark (not a test): one release server on loopback, wrk against it, all figures
# from the same run so the ratios compare like with like.
#   - the bare axum route (bench/baseline: one GET route answering {"status":"ok"}, mimalloc,
#     no middleware) as the floor every pfn route is also given as a ratio to
#   - GET /healthz (unauthenticated JSON) as pfn's own baseline
#   - GET /api/v1/auth/me with a session cookie, as a ratio to the baseline
#   - GET /api/v1/whoami with an API key (Bearer), as a ratio to the baseline; the same with a
#     key limited to addresses and to one account, and (a synchronous database count by
#     design) with a key that has a quota
#   - POST /api/v1/auth/login: latency alone (1 connection) and throughput under load
#     (4 connections), against the argon2id ceiling (cores / one hash, measured here too), and
#     against the ceiling with every core hashing at once
# Only 2xx responses count. Knobs: BENCH_SECONDS (default 10, split over BENCH_ROUNDS rounds,
# default 3), BENCH_CONNECTIONS (default 50), BENCH_LOGIN=0 (skip the sign-in figures: only the
# request-path ratios), BENCH_PFN=path (measure that pfn binary, e.g. a build kept aside, instead
# of the one built here). Key rate limits stay on (set very high), so the limiter's cost is
# measured too.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_cargo
ensure_wrk

secs="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-50}"
port="${BENCH_PORT:-18181}"
base="http://127.0.0.1:$port"
build_release --bin pfn --example hash_time -p pfn-baseline --bin pfn-baseline
bin="${BENCH_PFN:-$(target_dir)/release/pfn}"
bare_bin="$(target_dir)/release/pfn-baseline"
hash_bin="$(target_dir)/release/examples/hash_time"
login="${BENCH_LOGIN:-1}"
hash_ms=1 hash_all_ms=1
if [ "$login" != 0 ]; then
  hash_ms=$("$hash_bin")
  # The same, with one hash_time per core at once (as under a sign-in flood: the hashes share
  # caches and memory bandwidth); the slowest median counts.
  hash_all_ms=$(for _ in $(seq 1 "$(nproc)"); do "$hash_bin" & done | sort -n | tail -n1)
fi

dir=$(mktemp -d)
PFN_DATA_DIR="$dir" PFN_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
  PFN_LOGIN_RATE_PER_IP_PER_MIN=0 PFN_LOGIN_RATE_PER_ACCOUNT_PER_MIN=0 PFN_SIGNUP_RATE_PER_IP_PER_HOUR=0 \
  PFN_KEY_RATE_LIMIT_PER_MIN=1000000000 PFN_KEY_RATE_BURST=1000000000 \
  "$bin" serve >"$dir/server.log" 2>&1 &
server=$!
bare_port="${BENCH_BARE_PORT:-18182}"
bare="http://127.0.0.1:$bare_port"
"$bare_bin" "127.0.0.1:$bare_port" >"$dir/bare.log" 2>&1 &
bare_server=$!
trap 'kill $server $bare_server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
for _ in $(seq 1 50); do curl -fs "$bare/healthz" >/dev/null && break; sleep 0.1; done

export BENCH_EMAIL="bench@example.com" BENCH_PASSWORD="sunrise-meridian-2026"
curl -sS --fail-with-body -X POST "$base/api/v1/auth/signup" -H 'content-type: application/json' \
  -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench\"}" >/dev/null \
  || die "signup failed"
for _ in $(seq 1 50); do ls "$dir"/outbox/*.eml >/dev/null 2>&1 && break; sleep 0.1; done
token=$(grep -ho 'verify-email?token=[A-Za-z0-9_-]*' "$dir"/outbox/*.eml | head -n1 | cut -d= -f2)
curl -fs -X POST "$base/api/v1/auth/verify-email" -H 'content-type: application/json' -d "{\"token\":\"$token\"}" >/dev/null
cookie=$(curl -fs -D - -o /dev/null -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" | grep -io 'pfn_session=[^;]*' | head -n1)
[ -n "$cookie" ] || die "could not sign the benchmark user in"
apikey=$(curl -sS --fail-with-body -X POST "$base/api/v1/keys" -H 'content-type: application/json' -H "Cookie: $cookie" \
  -H "Origin: $base" -d '{"name":"bench","scopes":["read:accounts"]}' | grep -Eo '"secret":"pfn_(live|test)_[0-9A-Za-z]*"' | cut -d'"' -f4) \
  || die "could not create the benchmark key"
account=$(curl -sS --fail-with-body -X POST "$base/api/v1/accounts" -H 'content-type: application/json' -H "Cookie: $cookie" \
  -H "Origin: $base" -d '{"name":"Cash","currency":"BHD"}' | grep -Eo '"id":"[^"]*"' | head -n1 | cut -d'"' -f4) \
  || die "could not create the benchmark account"
# make_key BODY-FIELDS: a read:accounts key with these extra fields; prints its secret
make_key() {
  curl -sS --fail-with-body -X POST "$base/api/v1/keys" -H 'content-type: application/json' -H "Cookie: $cookie" \
    -H "Origin: $base" -d "{\"name\":\"bench\",\"scopes\":[\"read:accounts\"]$1}" \
    | grep -Eo '"secret":"pfn_(live|test)_[0-9A-Za-z]*"' | cut -d'"' -f4
}
limited=$(make_key ",\"allowedIps\":[\"10.0.0.0/8\",\"2001:db8::/32\",\"127.0.0.0/8\"],\"accountIds\":[\"$account\"]") \
  || die "could not create the limited key"
metered=$(make_key ",\"quota\":{\"limit\":1000000000,\"refill\":\"monthly\"}") \
  || die "could not create the metered key"

# run NAME wrk-args… : prints "NAME ok_per_sec p50 p99" from wrk's report
run() {
  local name=$1; shift
  local out; out=$(wrk --latency "$@")
  echo "$out" >"$dir/$name.txt"
  local total non2xx p50 p99 dur
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  dur=$(echo "$out" | awk '/requests in/ {gsub("s,","",$4); print $4}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}'); non2xx=${non2xx:-0}
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "$name $(awk -v t="$total" -v n="$non2xx" -v d="$dur" 'BEGIN {printf "%.0f", (t-n)/d}') $p50 $p99"
}

log "measuring for ${secs}s each"
# The bare route and the authenticated ones alternate in rounds, so a VM's minute-to-minute
# speed changes hit both sides of each ratio alike; each figure is the mean over the rounds.
rounds="${BENCH_ROUNDS:-3}"
round_secs=$(( (secs + rounds - 1) / rounds ))
: >"$dir/rounds"
for r in $(seq 1 "$rounds"); do
  run bare -t2 -c"$conns" -d"${round_secs}s" "$bare/healthz" >>"$dir/rounds"
  run healthz -t2 -c"$conns" -d"${round_secs}s" "$base/healthz" >>"$dir/rounds"
  run me -t2 -c"$conns" -d"${round_secs}s" -H "Cookie: $cookie" "$base/api/v1/auth/me" >>"$dir/rounds"
  run whoami_key -t2 -c"$conns" -d"${round_secs}s" -H "Authorization: Bearer $apikey" "$base/api/v1/whoami" >>"$dir/rounds"
  run whoami_limited -t2 -c"$conns" -d"${round_secs}s" -H "Authorization: Bearer $limited" "$base/api/v1/whoami" >>"$dir/rounds"
  run whoami_quota -t2 -c"$conns" -d"${round_secs}s" -H "Authorization: Bearer $metered" "$base/api/v1/whoami" >>"$dir/rounds"
done
# mean req/s over the rounds; latencies of the last round
summary() { awk -v n="$1" '$1==n {s+=$2; c++; p50=$3; p99=$4} END {printf "%s %.0f %s %s", n, s/c, p50, p99}' "$dir/rounds"; }
bare_line=$(summary bare)
base_line=$(summary healthz)
me_line=$(summary me)
key_line=$(summary whoami_key)
limited_line=$(summary whoami_limited)
quota_line=$(summary whoami_quota)
single_line="login_single 0 - -" flood_line="login_flood 0 - -"
if [ "$login" != 0 ]; then
  single_line=$(run login_single -t1 -c1 -d"${secs}s" -s bench/login.lua "$base/api/v1/auth/login")
  flood_line=$(run login_flood -t2 -c4 -d"${secs}s" -s bench/login.lua "$base/api/v1/auth/login")
fi

read -r _ bare_rps bare_p50 bare_p99 <<<"$bare_line"
read -r _ base_rps base_p50 base_p99 <<<"$base_line"
read -r _ me_rps me_p50 me_p99 <<<"$me_line"
read -r _ key_rps key_p50 key_p99 <<<"$key_line"
read -r _ limited_rps limited_p50 limited_p99 <<<"$limited_line"
read -r _ quota_rps quota_p50 quota_p99 <<<"$quota_line"
read -r _ single_rps single_p50 single_p99 <<<"$single_line"
read -r _ flood_rps flood_p50 flood_p99 <<<"$flood_line"
cores=$(nproc)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
login_rows="" login_text=""
if [ "$login" != 0 ]; then
  login_rows="| POST /api/v1/auth/login, 1 connection | $single_rps | $single_p50 | $single_p99 | — | — |
| POST /api/v1/auth/login, 4 connections | $flood_rps | $flood_p50 | $flood_p99 | — | — |"
  login_text="
one argon2id hash (median of 21, release) = ${hash_ms} ms; ceiling = cores / hash time = $(awk -v c="$cores" -v h="$hash_ms" 'BEGIN {printf "%.0f", c*1000/h}') logins/s
login throughput with 4 connections = $flood_rps/s = $(awk -v a="$flood_rps" -v c="$cores" -v h="$hash_ms" 'BEGIN {printf "%.2f", a/(c*1000/h)}') of the ceiling
with every core hashing at once one hash takes ${hash_all_ms} ms: a ceiling of $(awk -v c="$cores" -v h="$hash_all_ms" 'BEGIN {printf "%.0f", c*1000/h}') logins/s, of which 4 connections reach $(awk -v a="$flood_rps" -v c="$cores" -v h="$hash_all_ms" 'BEGIN {printf "%.2f", a/(c*1000/h)}')"
fi
cat <<REPORT

pfn sign-in benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
wrk -t2 -c$conns, $rounds alternating rounds of ${round_secs}s per route (login: -c1 and -c4, ${secs}s), loopback, release build, SQLite, 2xx only

| route | req/s | p50 | p99 | ratio to /healthz | ratio to the bare axum route |
|---|---|---|---|---|---|
| GET /healthz, bare axum (bench/baseline) | $bare_rps | $bare_p50 | $bare_p99 | — | 1.00 |
| GET /healthz (unauthenticated) | $base_rps | $base_p50 | $base_p99 | 1.00 | $(ratio "$base_rps" "$bare_rps") |
| GET /api/v1/auth/me (session) | $me_rps | $me_p50 | $me_p99 | $(ratio "$me_rps" "$base_rps") | $(ratio "$me_rps" "$bare_rps") |
| GET /api/v1/whoami (API key) | $key_rps | $key_p50 | $key_p99 | $(ratio "$key_rps" "$base_rps") | $(ratio "$key_rps" "$bare_rps") |
| GET /api/v1/whoami (key with an address allowlist and one account) | $limited_rps | $limited_p50 | $limited_p99 | $(ratio "$limited_rps" "$base_rps") | $(ratio "$limited_rps" "$bare_rps") |
| GET /api/v1/whoami (key with a quota: one database update each) | $quota_rps | $quota_p50 | $quota_p99 | $(ratio "$quota_rps" "$base_rps") | $(ratio "$quota_rps" "$bare_rps") |
$login_rows
$login_text
REPORT
