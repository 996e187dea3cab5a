#!/usr/bin/env bash
# `just demo`: throwaway MariaDB and PostgreSQL servers under .local/demo, a small shop in both,
# both taps piped into target-postgres, then an incremental second run after some changes.
# Servers are reused when already running; `just demo-clean` stops and removes everything.
set -euo pipefail
# shellcheck source=tests/servers.sh
source "$(dirname "$0")/../servers.sh"

demo="$root/.local/demo"
bin="$root/target/release"
pg_port="${DEMO_PG_PORT:-54329}"
my_port="${DEMO_MYSQL_PORT:-33069}"
mkdir -p "$demo/runs"

my_user=demo
servers="$demo"

load_sources() {
    mariadb_at -e 'drop database if exists shop; create database shop'
    mariadb_at shop < "$root/tests/demo/shop_mysql.sql"
    psql_at -d postgres -c 'drop database if exists shop with (force)' -c 'create database shop'
    psql_at -d shop -f "$root/tests/demo/shop_postgres.sql" >/dev/null
    psql_at -d postgres -c 'drop database if exists warehouse with (force)' -c 'create database warehouse'
    rm -f "$demo"/runs/*
    echo "sources: shop loaded into MariaDB and PostgreSQL; empty warehouse database created"
}

# Config and catalog of one tap; `attributes` gets its structure declared so it is de-nested.
prepare() {
    local tap="$1" namespace="$2" port="$3" user="$4" password="$5" schema="$6"
    cat > "$demo/runs/$tap.json" <<JSON
{"host": "127.0.0.1", "port": $port, "user": "$user", "password": "$password", "dbname": "shop",
 "select": [
   {"table": "$namespace.customers", "replication_method": "INCREMENTAL", "replication_key": "updated_at"},
   {"table": "$namespace.orders", "replication_method": "INCREMENTAL", "replication_key": "updated_at"},
   {"table": "$namespace.products", "replication_method": "FULL_TABLE"},
   {"table": "$namespace.page_views", "replication_method": "FULL_TABLE"},
   {"table": "$namespace.paid_orders", "replication_method": "FULL_TABLE"}]}
JSON
    cat > "$demo/runs/target-$tap.json" <<JSON
{"host": "127.0.0.1", "port": $pg_port, "user": "postgres", "dbname": "warehouse",
 "default_target_schema": "$schema"}
JSON
    local structure='"attributes": {"type": ["null", "object"], "properties": {"channel": {"type": ["null", "string"]}, "shipping": {"type": ["null", "object"], "properties": {"carrier": {"type": ["null", "string"]}, "express": {"type": ["null", "boolean"]}}}, "items": {"type": ["null", "array"], "items": {"type": "object", "properties": {"sku": {"type": ["null", "string"]}, "qty": {"type": ["null", "integer"]}}}}}},'
    "$bin/$tap" --config "$demo/runs/$tap.json" --discover 2>/dev/null \
        | sed "/\"attributes\": {/,/}/c\\            $structure" > "$demo/runs/$tap.catalog.json"
}

# tap | target, state in and out; prints the tap's per-stream lines for the summary.
run_pipeline() {
    local tap="$1" label="$2"
    local state="$demo/runs/$tap.state.json"
    local state_args=()
    [ -s "$state" ] && state_args=(--state "$state")
    local started ended
    started=$(date +%s.%N)
    "$bin/$tap" --config "$demo/runs/$tap.json" --catalog "$demo/runs/$tap.catalog.json" "${state_args[@]}" \
        2> "$demo/runs/$tap.$label.tap.log" \
        | "$bin/target-postgres" --config "$demo/runs/target-$tap.json" \
        2> "$demo/runs/$tap.$label.target.log" > "$demo/runs/$tap.$label.states"
    ended=$(date +%s.%N)
    tail -n 1 "$demo/runs/$tap.$label.states" > "$state.tmp" && mv "$state.tmp" "$state"
    grep -h 'stream synced' "$demo/runs/$tap.$label.tap.log" | sed -E 's/\x1b\[[0-9;]*m//g' \
        | sed -E 's/.*stream=([^ ]+) method=([^ ]+) rows=([0-9]+) seconds=([^ ]+) rows_per_second=([0-9]+).*/\1 \2 \3 \4 \5/' \
        | while read -r stream method rows seconds rate; do
            printf "  %-13s %-12s %-12s %6s rows %6.2f s %8s rows/s\n" "$tap" "$stream" "$method" "$rows" "$seconds" "$rate"
        done
    awk -v tap="$tap" -v s="$started" -v e="$ended" 'BEGIN { printf "  %-13s tap | target-postgres: %.2f s in all\n", tap, e - s }'
}

tables_of() {
    psql_at -d warehouse -At -F ' ' -c "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = '$1' and c.relkind = 'r' order by 1" | while read -r table; do
        printf "    %-40s %s\n" "$1.$table" "$(psql_at -d warehouse -At -c "select count(*) || ' rows, ' || count(_sdc_deleted_at) || ' marked deleted' from \"$1\".\"$table\"")"
    done
}

start_postgres
start_mariadb
load_sources
prepare tap-mysql shop "$my_port" demo demo shop_mysql
prepare tap-postgres public "$pg_port" postgres "" shop_postgres

echo
echo "== first run: full load =="
run_pipeline tap-mysql first
run_pipeline tap-postgres first

{ echo "set sql_mode = 'ANSI_QUOTES';"; cat "$root/tests/demo/changes.sql"; } | mariadb_at shop
psql_at -d shop -f "$root/tests/demo/changes.sql" >/dev/null
echo
echo "== second run: incremental from the saved state, after 1 insert and 26 updates per source =="
run_pipeline tap-mysql second
run_pipeline tap-postgres second

echo
echo "== warehouse tables (child tables from de-nesting included) =="
tables_of shop_mysql
tables_of shop_postgres
echo
echo "state files: $demo/runs/tap-mysql.state.json, $demo/runs/tap-postgres.state.json"
echo "logs:        $demo/runs/*.log"
echo "look around: psql -h 127.0.0.1 -p $pg_port -U postgres warehouse"
echo "             e.g. select * from shop_mysql.orders__attributes__items limit 5;"
echo "clean up:    just demo-clean"
