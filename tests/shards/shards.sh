#!/usr/bin/env bash
# `just shards [N] [ROWS]`: one table read in N shard processes at once, on throwaway servers
# under .local/shards: a MariaDB table with a composite, skewed key (most rows under one tenant),
# the plan printed, N `tap-mysql --shard K/N | target-postgres` pipes started together
# (tests/shards/run.sh), the activation step, and a summary checking the warehouse against the
# source (rows and a checksum of every value). The servers are stopped at the end.
set -euo pipefail
# shellcheck source=tests/servers.sh
source "$(dirname "$0")/../servers.sh"

count="${1:-4}"
rows="${2:-200000}"
[[ "$count" =~ ^[1-9][0-9]*$ && "$rows" =~ ^[1-9][0-9]*$ ]] || { echo "usage: shards.sh [N] [ROWS]" >&2; exit 2; }
work="$root/.local/shards"
bin="$root/target/release"
pg_port="${SHARDS_PG_PORT:-54349}"
my_port="${SHARDS_MYSQL_PORT:-33089}"
my_user=shards
servers="$work"
export LC_NUMERIC=C PGTZ=UTC

stop_servers >/dev/null 2>&1 || true
rm -rf "$work"
mkdir -p "$work/runs"
trap 'stop_servers >/dev/null 2>&1; rm -rf "$work/pg" "$work/mariadb"' EXIT
trap 'exit 130' INT TERM
start_postgres
start_mariadb

# Three quarters of the rows under tenant 1, the rest one tenant each.
dense=$((rows * 3 / 4))
mariadb_at -e "create database shop; use shop;
    create table events (tenant integer, id integer, kind varchar(20), amount decimal(12,2),
                         at datetime(6), primary key (tenant, id));
    insert into events select 1, seq, concat('kind ', seq % 7), seq % 100000 / 100,
        timestamp '2024-01-01 00:00:00' + interval seq second from seq_1_to_$dense;
    insert into events select seq, 1, 'single', seq % 1000, timestamp '2024-06-01 00:00:00' + interval seq minute
        from seq_2_to_$((rows - dense + 1));"
psql_at -d postgres -c 'create database warehouse'
cat > "$work/runs/tap.json" <<JSON
{"host": "127.0.0.1", "port": $my_port, "user": "$my_user", "password": "$my_user", "filter_dbs": "shop",
 "select": [{"table": "shop.events", "replication_method": "FULL_TABLE"}], "state_every_rows": 20000}
JSON
cat > "$work/runs/target.json" <<JSON
{"host": "127.0.0.1", "port": $pg_port, "user": "postgres", "dbname": "warehouse", "default_target_schema": "shop"}
JSON
echo "source: $rows rows in shop.events (MariaDB), $dense of them under tenant 1"
echo
echo "== the plan (tap-mysql --plan $count) =="
"$bin/tap-mysql" --config "$work/runs/tap.json" --plan "$count" 2>"$work/runs/plan.log" | tee "$work/runs/plan.json"
echo
echo "== $count shards at once, then the activation =="
bash "$root/tests/shards/run.sh" "$count" "$bin/tap-mysql" "$work/runs/tap.json" "$work/runs/target.json" "$work/runs"

digest_row="concat_ws('|', tenant, id, kind, amount)"
source_digest="$(mariadb_at -N shop -e "select concat(count(*), ' ', coalesce(sum(cast(conv(left(md5($digest_row), 15), 16, 10) as unsigned)), 0)) from events")"
warehouse_digest="$(psql_at -d warehouse -At -c "select count(*) || ' ' || coalesce(sum(('x' || left(md5(concat_ws('|', tenant, id, kind, amount)), 15))::bit(60)::bigint), 0) from shop.events where _sdc_deleted_at is null")"
echo
echo "== summary =="
echo "  source    (rows, checksum): $source_digest"
echo "  warehouse (rows, checksum): $warehouse_digest"
echo "  states:   $work/runs/shard-*.state.json; logs: $work/runs/"
[ "$source_digest" = "$warehouse_digest" ] || { echo "shards: the warehouse differs from the source" >&2; exit 1; }
echo "  the warehouse equals the source"
