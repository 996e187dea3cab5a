# shellcheck shell=bash disable=SC2154
# Throwaway PostgreSQL and MariaDB servers in one folder, shared by `just demo`, `just demo-clean`
# and `just bench` (sourced, not run). It sets `root`, the repository; the sourcing script sets,
# before it calls a function of this file:
#   servers   the folder that holds the servers (pg/ and mariadb/ inside it)
#   pg_port   PostgreSQL's loopback port
#   my_port   MariaDB's loopback port
#   my_user   the MariaDB account created for the programs (its password is the same word)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root=false
[ "$(id -u)" -eq 0 ] && as_root=true
# PostgreSQL refuses to run as root: as root, its commands run as the `postgres` system user.
pg_run() { if $as_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin="$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")"
mariadbd="$(command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd)"
install_db="$(command -v mariadb-install-db 2>/dev/null || echo /usr/bin/mariadb-install-db)"
psql_at() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
mariadb_at() { mariadb --protocol=tcp -h 127.0.0.1 -P "$my_port" -u "$my_user" -p"$my_user" "$@"; }

# Starts PostgreSQL (wal_level=logical) in $servers/NAME on PORT, or reuses it when it already runs
# (defaults: pg, $pg_port). DURABLE `on` keeps fsync and synchronous_commit on, as production
# servers run; otherwise both are off.
start_postgres() {  # [NAME PORT DURABLE]
    local dir="$servers/${1:-pg}" port="${2:-$pg_port}" durable="${3:-off}"
    if [ -f "$dir/data/postmaster.pid" ] && pg_run "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        echo "postgres: reusing the server on port $port"; return
    fi
    if [ ! -d "$dir/data" ]; then
        mkdir -p "$dir"
        $as_root && chown postgres "$dir" && chmod o+x "$(dirname "$servers")" "$servers"
        pg_run "$pg_bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
        printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nwal_level = logical\n" \
            "$port" "$dir" | pg_run tee -a "$dir/data/postgresql.auto.conf" >/dev/null
        [ "$durable" = on ] || printf "fsync = off\nsynchronous_commit = off\n" \
            | pg_run tee -a "$dir/data/postgresql.auto.conf" >/dev/null
    fi
    pg_run "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
    echo "postgres: started on port $port (fsync $durable)"
}

# Starts MariaDB (row binlog) with the account $my_user, or reuses it when it already runs.
start_mariadb() {
    if [ -f "$servers/mariadb/mysqld.pid" ] && kill -0 "$(cat "$servers/mariadb/mysqld.pid")" 2>/dev/null; then
        echo "mariadb: reusing the server on port $my_port"; return
    fi
    local dir="$servers/mariadb" user=()
    $as_root && user=(--user=root)
    if [ ! -d "$dir/data" ]; then
        mkdir -p "$dir/binlog"
        "$install_db" --no-defaults --datadir="$dir/data" \
            --auth-root-authentication-method=normal --skip-test-db "${user[@]}" >/dev/null
        printf "create user if not exists '%s'@'%%' identified by '%s';\ngrant all privileges on *.* to '%s'@'%%';\n" \
            "$my_user" "$my_user" "$my_user" > "$dir/init.sql"
    fi
    "$mariadbd" --no-defaults --init-file="$dir/init.sql" --datadir="$dir/data" --socket="$dir/mysqld.sock" \
        --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" --port="$my_port" \
        --bind-address=127.0.0.1 --skip-name-resolve --log-bin="$dir/binlog/mysql-bin" \
        --binlog-format=ROW --server-id=1 --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_unicode_ci "${user[@]}" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 120); do mariadb_at -e 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
    mariadb_at -e 'select 1' >/dev/null || { echo "mariadb did not start: see $dir/error.log" >&2; exit 1; }
    echo "mariadb: started on port $my_port"
}

# Stops the servers that run; their folders stay.
stop_servers() {
    local data
    for data in "$servers"/pg*/data; do
        [ -f "$data/postmaster.pid" ] && { pg_run "$pg_bin/pg_ctl" -D "$data" -m fast stop || true; }
    done
    if [ -f "$servers/mariadb/mysqld.pid" ]; then
        local pid
        pid="$(cat "$servers/mariadb/mysqld.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
}
