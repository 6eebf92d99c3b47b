"""HTTP load on loopback: gunicorn with 2 workers, DEBUG off, an agent's session, `ab` at a fixed concurrency.

    apt-get install apache2-utils   # ab
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/http_bench.py

Run against a database filled by `bench/generate.py` (it logs in as `agent-1-1`, password `bench`).
Starts gunicorn on 127.0.0.1 (`--port`), logs in through the desk's login form, then drives each URL for
`--seconds` with `ab -c --concurrency` (`--rounds` times, alternating, so drift in the machine's load
hits every URL alike) and prints a markdown table: requests per second and p95 milliseconds (medians
over the rounds) and the rate as a fraction of `/health/`'s (the issue's goal: the ticket list and the
desk queue at 30 % or more of it). Database connections persist across requests (`conn_max_age`, as a
production deployment runs them) unless `--no-persistent-connections`.
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


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
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
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a database filled by bench/generate.py.")
    if not shutil.which("ab"):
        sys.exit("Needs ab: apt-get install apache2-utils")
    base = f"http://127.0.0.1:{args.port}"
    gunicorn = [sys.executable, "-m", "gunicorn", "helpdesk.wsgi:application", "--workers", str(args.workers)]
    server = subprocess.Popen(
        [*gunicorn, "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"],
        cwd=ROOT,
        env=_server_env(args.port, args.persistent),
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(base, server)
        cookie = _login(base, args.username, args.password)
        results: dict[str, list[tuple[float, float, int, int]]] = {label: [] for label, _ in URLS}
        for _ in range(2):  # warm both workers (imports, templates, caches) before measuring
            for _, path in URLS:
                _ab(base + path, cookie, 0, args.concurrency)
        for round_ in range(args.rounds):
            for label, path in URLS:
                print(f"  round {round_ + 1}: {label} …", file=sys.stderr)
                results[label].append(_ab(base + path, cookie, args.seconds, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    connections = "persistent" if args.persistent else "per request"
    setup = f"gunicorn {args.workers} workers, ab -c {args.concurrency}, {args.rounds} x {args.seconds} s"
    print(f"\n{setup}, DB connections {connections}; {os.cpu_count()} cores (load average {load}), {when}\n")
    print("| URL | req/s | p95 ms | requests | non-2xx | x /health/ rate |")
    print("|---|---:|---:|---:|---:|---:|")
    health_rate = statistics.median(rate for rate, *_ in results[URLS[0][0]])
    for label, _ in URLS:
        rate = statistics.median(r[0] for r in results[label])
        p95 = statistics.median(r[1] for r in results[label])
        total, non_2xx = sum(r[2] for r in results[label]), sum(r[3] for r in results[label])
        print(f"| {label} | {rate:.1f} | {p95:.0f} | {total} | {non_2xx} | {rate / health_rate:.2f} |")


if __name__ == "__main__":
    main()
