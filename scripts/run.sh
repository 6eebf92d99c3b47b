#!/usr/bin/env bash
# `make run`: web server, Celery worker and Celery beat with demo data, on SQLite and the
# filesystem broker unless DATABASE_URL / REDIS_URL say otherwise. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# Exported: the worker builds links in emails from it (HELPDESK_PUBLIC_BASE_URL's default).
export PORT="${PORT:-8000}"
VAR_DIR="${HELPDESK_VAR_DIR:-$PWD/var}"
mkdir -p "$VAR_DIR/broker/queue" "$VAR_DIR/broker/control" "$VAR_DIR/broker/processed" "$VAR_DIR/media" "$VAR_DIR/logs"

echo "==> Applying database migrations"
$PY manage.py migrate --noinput
echo "==> Seeding demo data (skipped when present)"
$PY manage.py seed_demo
$PY manage.py ensure_admin
if [[ "$($PY manage.py shell -c 'from django.conf import settings; print(settings.DEBUG)' 2>/dev/null)" == "False" ]]; then
    # Production mode: runserver serves no static files; WhiteNoise serves the collected ones.
    echo "==> DEBUG is false: collecting static files for WhiteNoise"
    $PY manage.py collectstatic --noinput >/dev/null
fi

# One function per child; a child that dies (crash, OOM kill, kill -9) is logged and started again, so a
# dead worker never takes the web server and beat down with it.
run_worker() { exec $PY -m celery -A helpdesk worker --loglevel INFO --pool threads --concurrency 4 --hostname "worker@%h"; }
run_beat() { exec $PY -m celery -A helpdesk beat --loglevel INFO --schedule "$VAR_DIR/celerybeat-schedule"; }
run_web() { exec $PY manage.py runserver "127.0.0.1:$PORT" --noreload; }

declare -A pids=()
start() { "run_$1" & pids[$1]=$!; }

stop() {
    trap - INT TERM EXIT
    echo
    echo "==> Stopping web, worker and beat"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    echo "==> Stopped"
    exit 0
}
trap stop INT TERM EXIT

for name in worker beat web; do start "$name"; done
echo "==> Helpdesk running: agent workspace http://127.0.0.1:$PORT/desk/, admin http://127.0.0.1:$PORT/admin/  (Ctrl-C stops web, worker and beat)"
echo "    Demo logins: agent 'agent' and team lead 'lead' (password 'demo-agent-pass'); admin 'admin' (password in $VAR_DIR/admin-password.txt)"
while true; do
    status=0
    wait -n -p exited "${pids[@]}" || status=$?
    for name in "${!pids[@]}"; do
        if [[ "${pids[$name]}" == "${exited:-}" ]]; then
            echo "==> $(date -u +%FT%TZ) $name (pid $exited) exited with status $status; restarting it in 2 s" >&2
            sleep 2
            start "$name"
        fi
    done
done
