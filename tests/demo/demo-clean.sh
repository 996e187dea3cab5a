#!/usr/bin/env bash
# `just demo-clean`: stops the demo's servers and removes .local/demo.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
demo="$root/.local/demo"
if [ -f "$demo/pg/data/postmaster.pid" ]; then
    pg_ctl="$(command -v pg_ctl 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)"
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$pg_ctl" -D "$demo/pg/data" -m fast stop || true
    else "$pg_ctl" -D "$demo/pg/data" -m fast stop || true; fi
fi
if [ -f "$demo/mariadb/mysqld.pid" ]; then
    pid="$(cat "$demo/mariadb/mysqld.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
fi
rm -rf "$demo"
echo "demo removed"
