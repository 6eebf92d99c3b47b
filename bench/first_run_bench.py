"""Time a fresh clone's first `make run`, from the command to the first page served.

    python bench/first_run_bench.py [--repo .] [--port 8765] [--venv .venv]

Clones `--repo` (its committed HEAD) into a temporary directory, links the virtualenv given by `--venv`
(so dependencies count as installed, as the target "under 90 s after the install" says) and runs
`make install` untimed. Then it starts `make run` on the embedded defaults (SQLite, filesystem broker:
DATABASE_URL, REDIS_URL and CELERY_BROKER_URL are removed from the environment), stamps each line the
command prints, and polls http://127.0.0.1:PORT/desk/login/ until it answers 200. It stops the processes
it started and prints the phases and a JSON summary. Results are recorded in docs/demo.md.
"""

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

PHASES = ("==> Applying database migrations", "==> Seeding demo data", "Demo ready", "==> Helpdesk running")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=".", help="repository to clone (default: this one)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--venv", default=".venv", help="an installed virtualenv to link into the clone")
    parser.add_argument("--timeout", type=int, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    venv = Path(args.venv).resolve()
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        clone = Path(tmp) / "helpdesk"
        subprocess.run(["git", "clone", "--quiet", str(Path(args.repo).resolve()), str(clone)], check=True)
        (clone / ".venv").symlink_to(venv)
        started = time.monotonic()
        subprocess.run(["make", "install"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        install_seconds = time.monotonic() - started
        load_before = os.getloadavg()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "HELPDESK_VAR_DIR")
        }
        env["PORT"] = str(args.port)
        result = _time_first_page(clone, env, args.port, args.timeout)
    result.update(
        install_seconds=round(install_seconds, 1),
        machine=f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        load_average_before=[round(x, 2) for x in load_before],
        python=platform.python_version(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    print(json.dumps(result))
    return 0 if result.get("first_page_seconds") is not None else 1


def _cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_first_page(clone: Path, env: dict, port: int, timeout: int) -> dict:
    cpu_before = _cpu_seconds_of_children()
    started = time.monotonic()
    stamps: dict[str, float] = {}
    process = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so the stop below reaches only what it started
    )

    def read() -> None:
        for line in process.stdout:
            elapsed = time.monotonic() - started
            print(f"[{elapsed:6.1f}s] {line}", end="", file=sys.stderr)
            for phase in PHASES:
                if phase in line and phase not in stamps:
                    stamps[phase] = round(elapsed, 1)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first_page = None
    try:
        while time.monotonic() - started < timeout and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/desk/login/", timeout=5) as response:
                    if response.status == 200:
                        first_page = round(time.monotonic() - started, 1)
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # CPU time of everything `make run` started (including the shutdown): on a busy shared machine the
    # wall-clock time mostly measures the other users, this what the first run itself costs.
    return {
        "first_page_seconds": first_page,
        "phases": stamps,
        "cpu_seconds": round(_cpu_seconds_of_children() - cpu_before, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
