"""HTTP load on loopback: gunicorn with 2 workers, DEBUG off, an agent's session, `ab` at a fixed concurrency.

    apt-get install apache2-utils   # ab
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/http_bench.py

Run against a database filled by `bench/generate.py` (it logs in as `agent-1-1`, password `bench`).
Starts gunicorn on 127.0.0.1 (`--port`), logs in through the desk's login form, then drives each URL for
`--seconds` with `ab -c --concurrency` (`--rounds` times, alternating, so drift in the machine's load
hits every URL alike) and prints a markdown table: requests per second and p95 milliseconds (medians
over the rounds) and the rate as a fraction of `/health/`'s (the issue's goal: the ticket list and the
desk queue at 30 % or more of it). Database connections persist across requests (`conn_max_age`, as a
production deployment runs them) unless `--no-persistent-connections`. With REDIS_URL set, sessions are
read through Redis, as in production. `--baseline DIR` serves a second checkout (say, main) beside this
one and drives each URL on both in turn, so a before/after comparison sees the same machine load.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
URLS = (
    ("/health/", "/health/"),
    ("API `?status=open`", "/api/v1/tickets/?status=open"),
    ("desk queue (mine)", "/desk/?view=mine"),
)


def _server_env(port: int, persistent: bool) -> dict[str, str]:
    env = dict(os.environ, DEBUG="false", SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1")
    env["HELPDESK_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    if persistent:
        url = env["DATABASE_URL"]
        env["DATABASE_URL"] = url + ("&" if "?" in url else "?") + "conn_max_age=600"
    return env


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/health/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit("gunicorn did not answer /health/ in time")


def _login(base: str, username: str, password: str) -> str:
    """The session cookie of a real login through the desk's form (CSRF token and all)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/desk/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    login = urllib.request.Request(base + "/desk/login/", data=form.encode(), headers={"Referer": base + "/"})
    opener.open(login).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        sys.exit(f"login as {username} failed (no session cookie)")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _ab(url: str, cookie: str, seconds: int, concurrency: int) -> tuple[float, float, int, int]:
    """(requests per second, p95 ms, completed, non-2xx) from one `ab` run of `seconds` (0: warm-up)."""
    limit = ["-n", str(4 * concurrency)] if seconds == 0 else ["-t", str(seconds), "-n", "10000000"]
    command = ["ab", "-q", *limit, "-c", str(concurrency), "-C", cookie]
    done = subprocess.run([*command, url], capture_output=True, text=True)
    output = done.stdout
    if done.returncode or "Requests per second" not in output:
        sys.exit(f"ab failed on {url}:\n{output}\n{done.stderr}")
    rate = float(re.search(r"Requests per second:\s+([\d.]+)", output).group(1))
    p95 = float(re.search(r"^\s*95%\s+(\d+)", output, re.MULTILINE).group(1))
    completed = int(re.search(r"Complete requests:\s+(\d+)", output).group(1))
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", output)
    return rate, p95, completed, int(non_2xx.group(1)) if non_2xx else 0


def _start(root: Path, port: int, args: argparse.Namespace) -> subprocess.Popen:
    gunicorn = [sys.executable, "-m", "gunicorn", "helpdesk.wsgi:application", "--workers", str(args.workers)]
    return subprocess.Popen(
        [*gunicorn, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=root,
        env=_server_env(port, args.persistent),
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20, help="per URL and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--username", default="agent-1-1")
    parser.add_argument("--password", default="bench")
    parser.add_argument("--no-persistent-connections", dest="persistent", action="store_false")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of the project (e.g. `git worktree add /tmp/base main`), served on --port + 1 "
        "and driven URL by URL right after this one, so both see the same load",
    )
    parser.add_argument("--without-desk", action="store_true", help="leave out the desk queue (slow)")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a database filled by bench/generate.py.")
    if not shutil.which("ab"):
        sys.exit("Needs ab: apt-get install apache2-utils")
    urls = URLS[:2] if args.without_desk else URLS
    codes = [("this", ROOT, args.port)]
    if args.baseline:
        codes.append(("baseline", args.baseline.resolve(), args.port + 1))
    servers = [_start(root, port, args) for _, root, port in codes]
    results: dict[tuple[str, str], list[tuple[float, float, int, int]]] = {}
    try:
        cookies = {}
        for (code, _, port), server in zip(codes, servers, strict=True):
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base, server)
            cookies[code] = _login(base, args.username, args.password)
            for _ in range(2):  # warm both workers (imports, templates, caches) before measuring
                for _, path in urls:
                    _ab(base + path, cookies[code], 0, args.concurrency)
        for round_ in range(args.rounds):
            for label, path in urls:
                for code, _, port in codes:
                    print(f"  round {round_ + 1}: {label} ({code}) …", file=sys.stderr)
                    run = _ab(f"http://127.0.0.1:{port}{path}", cookies[code], args.seconds, args.concurrency)
                    results.setdefault((code, label), []).append(run)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:  # workers still busy with a request ab gave up on
                server.kill()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    connections = "persistent" if args.persistent else "per request"
    sessions = "read through Redis (REDIS_URL)" if os.environ.get("REDIS_URL") else "in the database"
    setup = f"gunicorn {args.workers} workers, ab -c {args.concurrency}, {args.rounds} x {args.seconds} s"
    print(f"\n{setup}, DB connections {connections}, sessions {sessions}; {os.cpu_count()} cores")
    print(f"(load average {load}), {when}\n")
    print("| code | URL | req/s | p95 ms | requests | non-2xx | x /health/ rate |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for code, _, _ in codes:
        health_rate = statistics.median(rate for rate, *_ in results[(code, urls[0][0])])
        for label, _ in urls:
            runs = results[(code, label)]
            rate = statistics.median(r[0] for r in runs)
            p95 = statistics.median(r[1] for r in runs)
            total, non_2xx = sum(r[2] for r in runs), sum(r[3] for r in runs)
            share = rate / health_rate
            print(f"| {code} | {label} | {rate:.1f} | {p95:.0f} | {total} | {non_2xx} | {share:.2f} |")


if __name__ == "__main__":
    main()
