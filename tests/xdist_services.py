"""Give each pytest-xdist worker its own Redis database (loaded with `-p`, before Django's settings).

`make test` runs the suite on two processes. Each process already gets its own PostgreSQL test database
(pytest-django appends the worker id), but both would share the Redis of REDIS_URL: one worker's Celery
test worker could take the other's tasks, and cache-based rate limits would count both. Rewriting
REDIS_URL here, before the settings read it, keeps the two apart. Outside xdist nothing changes.
"""

import os
import re

# Redis databases 14 and 15 (of the default 16) for workers gw0 and gw1.
_FIRST_WORKER_DATABASE = 14

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_url = os.environ.get("REDIS_URL", "")
if _worker.startswith("gw") and _url:
    database = _FIRST_WORKER_DATABASE + int(_worker[2:])
    if database > 15:
        raise SystemExit("tests/xdist_services.py has Redis databases for two workers: use -n 2 at most")
    os.environ["REDIS_URL"] = re.sub(r"(/\d*)?$", f"/{database}", _url.split("?")[0], count=1)
