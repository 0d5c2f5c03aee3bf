"""Shared pieces of the Python benchmarks (standard library only): start release pfn servers,
make a verified account, sign in, create keys, time requests on a kept-alive connection, and
run wrk. Not a test helper: benchmarks measure, they do not assert behaviour."""
import glob
import math
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

EMAIL = "bench@example.com"
PASSWORD = "sunrise-meridian-2026"

# Settings for a server under load: sign-in and sign-up limits off, so every request reaches
# its handler; the key limit stays on, set very high, so its cost (and its headers) is measured.
UNLIMITED = dict(
    PFN_LOGIN_RATE_PER_IP_PER_MIN="0",
    PFN_LOGIN_RATE_PER_ACCOUNT_PER_MIN="0",
    PFN_SIGNUP_RATE_PER_IP_PER_HOUR="0",
    PFN_KEY_RATE_LIMIT_PER_MIN="1000000000",
    PFN_KEY_RATE_BURST="1000000000",
)


# The rows of bench/scale.py and bench/sqlite_floor.py: three accounts, booked at random over
# the last three years (a back-fill) or the last 30 days, 12 categories of uneven frequency
# (one rare: about 1 in 2,000), 40 merchants, a tenth of them money in.
DAY = 86_400
SPAN = 3 * 365 * DAY
CATEGORIES = ["groceries", "dining", "transport", "rent", "utilities", "shopping", "health",
              "travel", "entertainment", "education", "gifts", "legal"]
WEIGHTS = [30, 20, 12, 2, 6, 12, 4, 3, 6, 2, 2.9, 0.1]
MERCHANTS = [f"Merchant {i:02d}" for i in range(40)]


class Rows:
    """Numbered rows, the same sequence for the same seed: `next(recent)` gives
    (number, amount in thousandths, booked at, category, merchant)."""

    def __init__(self, now, seed=26):
        self.now = now
        self.count = 0
        self.rng = random.Random(seed)

    def next(self, recent=False):
        i = self.count
        self.count += 1
        minor = self.rng.randint(100, 90_000)
        if self.rng.random() >= 0.1:
            minor = -minor
        at = self.now - self.rng.randrange(30 * DAY if recent else SPAN)
        return i, minor, at, self.rng.choices(CATEGORIES, WEIGHTS)[0], self.rng.choice(MERCHANTS)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(proc, base, path, seconds, what):
    """Waits until `GET path` answers 200; stops the script if `proc` exits or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited at start")
        try:
            if Client(base).request("GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not become ready")


def terminate(proc, seconds=10):
    """Stops a server gracefully (SIGTERM), or kills it after `seconds`."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()


class Server:
    """One `pfn serve` on a free loopback port with its own data directory (removed by `stop`
    unless BENCH_KEEP is set), or with `data_dir` (kept)."""

    def __init__(self, binary, env=None, name="pfn", startup_seconds=30, data_dir=None):
        self.own_dir = data_dir is None
        self.dir = data_dir or tempfile.mkdtemp(prefix=f"pfn-bench-{name}-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = dict(os.environ)
        full.update(
            PFN_DATA_DIR=self.dir,
            PFN_LISTEN=f"127.0.0.1:{self.port}",
            PFN_PUBLIC_URL=self.base,
            RUST_LOG=os.environ.get("RUST_LOG", "warn"),
        )
        full.update(env or {})
        self.log = open(os.path.join(self.dir, f"{name}.log" if data_dir else "server.log"), "w")
        self.proc = subprocess.Popen([binary, "serve"], env=full, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(self.proc, self.base, "/readyz", startup_seconds, f"{name} (see {self.dir}/server.log)")

    def stop(self):
        terminate(self.proc)
        self.log.close()
        if self.own_dir and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Bare:
    """The bare axum route (`bench/baseline`, binary `pfn-baseline`) on a free loopback port:
    the floor pfn's routes are given as ratios to. `binary` may be a wrapper (valgrind)."""

    def __init__(self, binary, startup_seconds=30):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([binary, f"127.0.0.1:{self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_ready(self.proc, self.base, "/healthz", startup_seconds, "the bare axum server")

    def stop(self):
        terminate(self.proc)


class Client:
    """A kept-alive HTTP/1.1 connection (what a real client, and wrk, uses)."""

    def __init__(self, base, headers=None):
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = dict(headers or {})
        self.origin = base

    def request(self, method, path, body=None, headers=None):
        h = dict(self.headers)
        h.update(headers or {})
        data = None
        if body is not None:
            # bytes: a body encoded beforehand, so that a timed request leaves the encoding out
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if method not in ("GET", "HEAD"):
            h.setdefault("Origin", self.origin)
        self.conn.request(method, path, body=data, headers=h)
        res = self.conn.getresponse()
        raw = res.read()
        return res.status, raw, res

    def json(self, method, path, body=None, expect=(200, 201, 202, 204)):
        status, raw, res = self.request(method, path, body)
        if status not in expect:
            raise SystemExit(f"{method} {path}: {status} {raw[:300]!r}")
        return (json.loads(raw) if raw else None), res


def outbox_token(dirs, kind, deadline_s=10):
    """The newest `kind` token (verify-email, reset-password) in any of the outboxes."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        for d in dirs:
            for path in sorted(glob.glob(os.path.join(d, "outbox", "*.eml")), key=os.path.getmtime, reverse=True):
                m = re.search(rf"{kind}\?token=([A-Za-z0-9_-]+)", open(path, encoding="utf-8", errors="replace").read())
                if m:
                    return m.group(1)
        time.sleep(0.05)
    raise SystemExit(f"no {kind} mail in {dirs}")


def account(servers):
    """Signs up and verifies the benchmark user on the first server; returns a session cookie
    header value signed in on that server (sessions live in the shared database)."""
    first = servers[0]
    c = Client(first.base)
    c.json("POST", "/api/v1/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Bench"})
    token = outbox_token([s.dir for s in servers], "verify-email")
    c.json("POST", "/api/v1/auth/verify-email", {"token": token})
    return login(first.base)


def login(base):
    c = Client(base)
    _, res = c.json("POST", "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD})
    cookie = re.search(r"((?:__Host-)?pfn_session=[^;]+)", res.getheader("Set-Cookie") or "")
    if not cookie:
        raise SystemExit("sign-in gave no session cookie")
    return cookie.group(1)


def create_key(base, cookie, name="bench", scopes=("read:accounts",), **limits):
    """Returns (key id, secret). `limits`: more fields of the request (`allowedIps=[…]`)."""
    c = Client(base, {"Cookie": cookie})
    body, _ = c.json("POST", "/api/v1/keys", {"name": name, "scopes": list(scopes), **limits})
    return body["key"]["id"], body["secret"]


class Route:
    """A route the benchmarks compare: `name` for tables, `label` for plots, `headers` as a dict."""

    def __init__(self, name, label, path, headers):
        self.name, self.label, self.path, self.headers = name, label, path, headers

    def wrk_args(self):
        return [a for k, v in self.headers.items() for a in ("-H", f"{k}: {v}")]


def compared_routes(server, limited=False):
    """Makes the benchmark user (signed in, with a key) on `server`; returns the unauthenticated
    route and the key- and session-authenticated routes every ratio compares; with `limited`,
    also a key limited to addresses and to one account."""
    cookie = account([server])
    _, secret = create_key(server.base, cookie)
    routes = [
        Route("GET /healthz (unauthenticated)", "/healthz", "/healthz", {}),
        Route("GET /api/v1/whoami (API key)", "/whoami (key)", "/api/v1/whoami", {"Authorization": f"Bearer {secret}"}),
        Route("GET /api/v1/auth/me (session)", "/auth/me (session)", "/api/v1/auth/me", {"Cookie": cookie}),
    ]
    if limited:
        account_id = Client(server.base, {"Cookie": cookie}).json(
            "POST", "/api/v1/accounts", {"name": "Cash", "currency": "BHD"})[0]["account"]["id"]
        _, secret = create_key(server.base, cookie, allowedIps=["10.0.0.0/8", "2001:db8::/32", "127.0.0.0/8"],
                               accountIds=[account_id])
        routes.append(Route("GET /api/v1/whoami (key limited to addresses and an account)", "/whoami (limited key)",
                            "/api/v1/whoami", {"Authorization": f"Bearer {secret}"}))
    return routes


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def probe(base, path, headers, seconds, interval):
    """Sequential GETs, one every `interval` seconds, for `seconds`: latencies in ms of the 2xx
    answers, and how many were not 2xx. Spaced requests measure latency without adding load."""
    c = Client(base, headers)
    c.request("GET", path)  # open the connection
    lat, bad = [], 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        status = c.request("GET", path)[0]
        dt = (time.perf_counter() - t0) * 1000
        if 200 <= status < 300:
            lat.append(dt)
        else:
            bad += 1
        time.sleep(max(0.0, interval - (time.perf_counter() - t0)))
    return lat, bad


def wrk(url, seconds, connections, threads=2, route=None, script=None, env=None):
    """Runs wrk (with `route`'s headers, if given); returns (2xx per second, p50 ms, p99 ms)."""
    cmd = ["wrk", "--latency", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s"]
    if route:
        cmd += route.wrk_args()
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    dur = float(re.search(r"requests in ([\d.]+)s", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ok = total - (int(non2xx.group(1)) if non2xx else 0)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return ok / dur, _ms(p50), _ms(p99)


def _ms(text):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * f
    return float(text)


def machine():
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {os.cpu_count()} cores, {cpu}"


def median(values):
    return statistics.median(values) if values else float("nan")


COLORS = ["#4c78a8", "#f58518", "#54a24b"]


def svg(title, subtitle, series, levels, ylabel="2xx requests / s", targets=(), fmt="{:,.0f}", first_color=0,
        xlabel="concurrent connections (wrk -c)", xfmt="{}"):
    """A line chart (standard library only): x = `levels` on a log scale, y = the series'
    values; `targets` are dashed horizontal lines (value, colour index, label)."""
    w, h, left, right, top, bottom = 760, 440, 80, 210, 60, 60
    pw, ph = w - left - right, h - top - bottom
    ymax = max([v for _, vals in series for v in vals] + [t for t, _, _ in targets])
    step = 10 ** math.floor(math.log10(ymax))
    for m in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10):
        if ymax / (step * m) <= 6:
            step *= m
            break
    ytop = math.ceil(ymax / step) * step
    lx0, lx1 = math.log2(levels[0]), math.log2(levels[-1])

    def x(c):
        return left + (math.log2(c) - lx0) / ((lx1 - lx0) or 1) * pw

    def y(v):
        return top + ph - v / ytop * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        f'<text x="{left}" y="24" font-size="16" font-weight="bold">{title}</text>',
        f'<text x="{left}" y="42" fill="#555">{subtitle}</text>',
    ]
    v = 0
    while v <= ytop:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{fmt.format(v)}</text>')
        v = round(v + step, 10)
    for c in levels:
        out.append(f'<line x1="{x(c):.1f}" x2="{x(c):.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x(c):.1f}" y="{top + ph + 18}" text-anchor="middle">{xfmt.format(c)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 14}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text transform="translate(18 {top + ph / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>')
    for value, ci, label in targets:
        color = COLORS[(ci + first_color) % len(COLORS)]
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{color}" '
                   'stroke-width="1.5" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + 6}" y="{y(value) - 5:.1f}" fill="{color}">{label}</text>')
    for i, (name, vals) in enumerate(series):
        color = COLORS[(i + first_color) % len(COLORS)]
        pts = " ".join(f"{x(c):.1f},{y(val):.1f}" for c, val in zip(levels, vals))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for c, val in zip(levels, vals):
            out.append(f'<circle cx="{x(c):.1f}" cy="{y(val):.1f}" r="3.5" fill="{color}"/>')
        ly = top + 10 + i * 22
        out.append(f'<line x1="{left + pw + 16}" x2="{left + pw + 40}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2.5"/>')
        out.append(f'<text x="{left + pw + 46}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
