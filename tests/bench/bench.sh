#!/usr/bin/env bash
# `just bench [ROWS]`: our pipelines against the physical limit, a `psql COPY | psql COPY` (or
# `mariadb --batch | psql COPY`) of the same table in the same batch, on throwaway servers under
# .local/bench. Every case runs BENCH_RUNS times, round-robin, and every run is checked against
# its source (row count and a checksum of the values). Results: .local/bench/results/.
#
# BENCH_SETUP=production (the default) runs as users do: a source PostgreSQL and a separate
# warehouse PostgreSQL, both with fsync and synchronous_commit on. BENCH_SETUP=single loads into
# the source server itself, fsync off (cheaper, and the figures of earlier releases).
set -euo pipefail
# shellcheck source=tests/servers.sh
source "$(dirname "$0")/../servers.sh"

bench="$root/.local/bench"
runs="$bench/runs"
# SINGER_BIN_DIR benches other builds of the programs (another commit's, say).
bin="${SINGER_BIN_DIR:-$root/target/release}"
rows="${1:-1000000}"
runs_per_case="${BENCH_RUNS:-3}"
pg_port="${BENCH_PG_PORT:-54339}"
my_port="${BENCH_MYSQL_PORT:-33079}"
setup="${BENCH_SETUP:-production}"
case "$setup" in
production) wh_port="${BENCH_WAREHOUSE_PORT:-54340}" durable=on ;;
single) wh_port="$pg_port" durable=off ;;
*) echo "bench: BENCH_SETUP is production or single" >&2; exit 2 ;;
esac
# Round-robin order; each pipeline follows its baseline so both see the same server state.
all_cases="copy-pg copy-pg-binary tap-postgres tls tunnel resync resync-10 upsert-psql resync-all copy-mariadb tap-mysql copy-pg-nested nested cdc-postgres cdc-postgres-100 cdc-mysql cdc-mysql-100 shards-1 shards-2 shards-4"
read -r -a cases <<<"${BENCH_CASES:-$all_cases}"
# tls and tunnel: the tap-postgres pipeline over TLS (sslmode require, both sides) and through an
# SSH tunnel (both sides, one local sshd), against the plaintext pipeline of the same batch.
# resync, resync-10, resync-all: every row again (INCREMENTAL from no state) into a table that
# holds them all, where none, a tenth or every row differs from the source (the warehouse's rows
# changed before each run, untimed); upsert-psql: psql doing what resync-all does (a staging
# COPY, then `insert … on conflict do update`) into a table where every row differs.
# cdc-*: every row of a table already in the warehouse (loaded by a LOG_BASED snapshot before the
# batch) updated at the source, in one transaction (or 100 for -100), then replicated LOG_BASED
# from the state of the case's previous run; against resync-all, the same changes upserted.
# shards-N: orders in N `tap-postgres --shard K/N | target-postgres` pipes at once, then the
# activation step (tests/shards/run.sh), against the single tap-postgres pipeline.
declare -A baseline=([copy-pg-binary]=copy-pg [tap-postgres]=copy-pg [tls]=tap-postgres [tunnel]=tap-postgres
                     [resync]=copy-pg [resync-10]=copy-pg [resync-all]=upsert-psql [upsert-psql]=copy-pg
                     [tap-mysql]=copy-mariadb [nested]=copy-pg-nested
                     [cdc-postgres]=resync-all [cdc-postgres-100]=resync-all [cdc-mysql]=resync-all [cdc-mysql-100]=resync-all
                     [shards-1]=tap-postgres [shards-2]=tap-postgres [shards-4]=tap-postgres)

[[ "$rows" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench.sh [ROWS] (a positive number; default 1000000)" >&2; exit 2; }
[[ "$runs_per_case" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive number" >&2; exit 2; }
for c in "${cases[@]}"; do
    [[ " $all_cases " == *" $c "* ]] || { echo "bench: unknown case $c in BENCH_CASES (cases: $all_cases)" >&2; exit 2; }
done

my_user=bench
servers="$bench"

# Timings read from EPOCHREALTIME need a dot; timestamps are compared in UTC; text is UTF-8.
export LC_NUMERIC=C PGTZ=UTC PGCLIENTENCODING=UTF8
psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres)
wh_cmd=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$wh_port" -U postgres)
# psql on the warehouse server (the source server itself under BENCH_SETUP=single).
wh_at() { pg_port="$wh_port" psql_at "$@"; }
mariadb_cmd=(mariadb --protocol=tcp -h 127.0.0.1 -P "$my_port" -u "$my_user" -p"$my_user"
             --default-character-set=utf8mb4 bench)

fail() { echo "bench: $*" >&2; exit 1; }

# GNU time reports each process's peak RSS (from wait4) at no measurable cost.
time_bin=/usr/bin/time
ensure_gnu_time() {
    "$time_bin" -f %M -o /dev/null true 2>/dev/null && return
    if command -v apt-get >/dev/null; then
        local sudo=""
        $as_root || sudo="sudo"
        echo "bench: installing GNU time (package time) to measure peak memory"
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends time
    fi
    "$time_bin" -f %M -o /dev/null true 2>/dev/null || fail "GNU time is needed at $time_bin (Debian package time)"
}

# Fresh servers every time (a killed earlier bench may have left some running); stopped at exit.
start_servers() {
    stop_servers >/dev/null 2>&1
    rm -rf "$bench"/pg* "$bench/mariadb" "$runs"
    mkdir -p "$runs" "$bench/results"
    trap 'stop_servers >/dev/null 2>&1; rm -rf "$bench"/pg* "$bench/mariadb"' EXIT
    trap 'exit 130' INT TERM
    start_postgres pg "$pg_port" "$durable"
    [ "$setup" = single ] || start_postgres pg-warehouse "$wh_port" "$durable"
    wants_mariadb && start_mariadb
    wants tls && enable_tls
    wants tunnel && start_sshd
    # One checkpoint per run, before it, rather than one in the middle of some runs.
    local at
    for at in psql_at wh_at; do
        $at -d postgres -c "alter system set max_wal_size = '8GB'" -c "select pg_reload_conf()" >/dev/null
    done
}

wants_mariadb() { [[ " ${cases[*]} " == *" copy-mariadb "* || " ${cases[*]} " == *"mysql"* ]]; }
wants_nested() { [[ " ${cases[*]} " == *"nested"* ]]; }

wants() { [[ " ${cases[*]} " == *" $1 "* ]]; }

# TLS on the bench's PostgreSQL servers: a self-signed certificate, `ssl = on` by reload.
enable_tls() {
    local dir="$bench/pg/tls" at
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1 || fail "openssl could not make a certificate"
    chmod 600 "$dir/server.key"
    $as_root && chown -R postgres "$dir"
    for at in psql_at wh_at; do
        $at -d postgres -c "alter system set ssl_cert_file = '$dir/server.crt'" \
            -c "alter system set ssl_key_file = '$dir/server.key'" -c "alter system set ssl = on" \
            -c "select pg_reload_conf()" >/dev/null
    done
    sleep 1
    for at in psql_at wh_at; do
        [ "$($at -d postgres -At -c 'show ssl')" = on ] || fail "PostgreSQL did not turn TLS on: see $bench/pg*/server.log"
    done
}

# A local sshd (Debian's openssh-server) on a loopback port, logging in the current user by key.
ssh_port="${BENCH_SSH_PORT:-22339}"
start_sshd() {
    local dir="$bench/sshd" sshd=/usr/sbin/sshd
    [ -x "$sshd" ] || fail "the tunnel case needs sshd (Debian package openssh-server; just deps installs it)"
    rm -rf "$dir" && mkdir -p "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    $as_root && mkdir -p /run/sshd
    cat > "$dir/sshd_config" <<CONF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
PermitRootLogin prohibit-password
CONF
    "$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log"
    for _ in $(seq 50); do [ -s "$dir/sshd.pid" ] && break; sleep 0.1; done
    [ -s "$dir/sshd.pid" ] || fail "sshd did not start: see $dir/sshd.log"
    trap 'stop_servers >/dev/null 2>&1; kill "$(cat "$bench/sshd/sshd.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$bench"/pg* "$bench/mariadb"' EXIT
}

# The canonical text of a row, written alike by both databases whatever the column types (a
# target's timestamp or timestamptz, boolean or tinyint), so sources and destinations compare.
ts_pg="'YYYY-MM-DD HH24:MI:SS.US'"
pg_scalars="id, customer_id, status, amount, quantity, to_char(created_at, $ts_pg), to_char(updated_at, $ts_pg), coalesce(note, '<null>'), paid::int"
pg_orders_row="concat_ws('|', $pg_scalars, attributes->>'channel', attributes->>'gift', attributes#>>'{address,city}', attributes#>>'{address,zip}')"
ts_my="'%Y-%m-%d %H:%i:%s.%f'"
my_orders_row="concat_ws('|', id, customer_id, status, amount, quantity, date_format(created_at, $ts_my), date_format(updated_at, $ts_my), coalesce(note, '<null>'), paid, json_value(attributes, '\$.channel'), json_extract(attributes, '\$.gift'), json_value(attributes, '\$.address.city'), json_value(attributes, '\$.address.zip'))"
# orders_nested: the root row, and one row per line item; `json` where attributes is still the
# source's jsonb (source, COPY), `flat` where the target de-nested it.
nested_root_json="concat_ws('|', $pg_scalars, attributes->>'channel')"
nested_root_flat="concat_ws('|', $pg_scalars, attributes__channel)"
items_json="concat_ws('|', id, n - 1, item->>'sku', item->>'qty', item->>'price')"
items_flat="concat_ws('|', _sdc_source_key_id, _sdc_level_0_id, sku, qty, price)"

# "COUNT SUM": the row count and the sum of a 60-bit hash of each row's text (order-free).
pg_digest() {  # DB FROM ROW-EXPRESSION (dst: the warehouse's)
    local at=psql_at
    [ "$1" = dst ] && at=wh_at
    $at -d "$1" -At -c "select count(*) || ' ' || coalesce(sum(('x' || left(md5($3), 15))::bit(60)::bigint), 0) from $2"
}
my_digest() {  # ROW-EXPRESSION [TABLE] (of bench; orders when not given)
    "${mariadb_cmd[@]}" -N -e "select concat(count(*), ' ', coalesce(sum(cast(conv(left(md5($1), 15), 16, 10) as unsigned)), 0)) from ${2:-orders}"
}

load_sources() {
    psql_at -d postgres -c 'create database src'
    wh_at -d postgres -c 'create database dst'
    local nested=false
    wants_nested && nested=true
    psql_at -d src -v rows="$rows" -v nested="$nested" -f "$root/tests/bench/data_postgres.sql" >/dev/null
    src_orders="$(pg_digest src orders "$pg_orders_row")"
    echo "sources: $rows orders in PostgreSQL (src)"
    if wants_mariadb; then
        mariadb_at -e 'create database bench'
        { echo "set @rows = $rows;"; cat "$root/tests/bench/data_mariadb.sql"; } | "${mariadb_cmd[@]}" >/dev/null
        my_orders="$(my_digest "$my_orders_row")"
        [ "$src_orders" = "$my_orders" ] || fail "the sources differ (count, checksum): PostgreSQL $src_orders, MariaDB $my_orders; tests/bench/data_*.sql must make the same values"
        echo "         the same $rows orders in MariaDB (bench)"
    fi
    items=0
    if $nested; then
        src_nested_root="$(pg_digest src orders_nested "$nested_root_json")"
        src_nested_items="$(pg_digest src "orders_nested, jsonb_array_elements(attributes->'items') with ordinality e(item, n)" "$items_json")"
        items="${src_nested_items%% *}"
        echo "         $rows orders_nested with $items line items in PostgreSQL (src)"
    fi
    # The cdc cases' own copies of orders: their updates must not change what the others read.
    local c
    for c in cdc-postgres cdc-postgres-100; do
        wants "$c" || continue
        psql_at -d src -c "create table $(cdc_table "$c") (like orders including all)" \
            -c "insert into $(cdc_table "$c") select * from orders" -c "analyze $(cdc_table "$c")"
    done
    for c in cdc-mysql cdc-mysql-100; do
        wants "$c" || continue
        "${mariadb_cmd[@]}" -e "create table $(cdc_table "$c") like orders;
            insert into $(cdc_table "$c") select * from orders; analyze table $(cdc_table "$c")" >/dev/null
    done
}

# A cdc case's source table (in src or bench) and warehouse table (in the case's schema).
cdc_table() { case "$1" in *-100) echo orders_cdc100 ;; *) echo orders_cdc1 ;; esac; }

# Configs of the taps and targets; the nested case's catalog declares the structure of
# `attributes` (an object with an `items` array of objects) so the target de-nests it.
tap_config() {  # NAME PORT USER DB FILTER SELECT-ENTRY (password: the user name; PostgreSQL trusts all)
    printf '{"host": "127.0.0.1", "port": %s, "user": "%s", "password": "%s", "dbname": "%s", %s,\n "select": [%s]}\n' \
        "$2" "$3" "$3" "$4" "$5" "$6" > "$runs/$1.json"
}
write_configs() {
    local tap pg=("$pg_port" postgres src '"filter_schemas": "public"')
    tap_config tap-postgres "${pg[@]}" '{"table": "public.orders", "replication_method": "FULL_TABLE"}'
    tap_config resync "${pg[@]}" '{"table": "public.orders", "replication_method": "INCREMENTAL", "replication_key": "updated_at"}'
    tap_config nested "${pg[@]}" '{"table": "public.orders_nested", "replication_method": "FULL_TABLE"}'
    tap_config tap-mysql "$my_port" "$my_user" bench '"filter_dbs": "bench"' '{"table": "bench.orders", "replication_method": "FULL_TABLE"}'
    # Each cdc-postgres case has its own replication slot and publication: a slot follows one state.
    local c slot
    for c in cdc-postgres cdc-postgres-100; do
        slot="bench_$(cdc_table "$c")"
        tap_config "$c" "${pg[@]:0:3}" "\"filter_schemas\": \"public\", \"replication_slot\": \"$slot\", \"publication\": \"$slot\"" \
            "{\"table\": \"public.$(cdc_table "$c")\", \"replication_method\": \"LOG_BASED\"}"
    done
    for c in cdc-mysql cdc-mysql-100; do
        tap_config "$c" "$my_port" "$my_user" bench '"filter_dbs": "bench"' "{\"table\": \"bench.$(cdc_table "$c")\", \"replication_method\": \"LOG_BASED\"}"
    done
    for c in resync-10 resync-all; do cp "$runs/resync.json" "$runs/$c.json"; done
    for tap in tap-postgres resync resync-10 resync-all nested tap-mysql cdc-postgres cdc-postgres-100 cdc-mysql cdc-mysql-100 shards-1 shards-2 shards-4; do
        printf '{"host": "127.0.0.1", "port": %s, "user": "postgres", "dbname": "dst", "default_target_schema": "%s"}\n' \
            "$wh_port" "${tap//-/_}" > "$runs/target-$tap.json"
    done
    # The tls and tunnel cases: the tap-postgres configs with the transport keys added.
    local tls='"sslmode": "require"'
    local tunnel="\"ssh_tunnel\": {\"host\": \"127.0.0.1\", \"port\": $ssh_port, \"username\": \"$(id -un)\", \"private_key\": \"$bench/sshd/client_key\", \"host_key_fingerprint\": \"$(ssh-keygen -lf "$bench/sshd/host_key.pub" 2>/dev/null | cut -d' ' -f2)\"}"
    local extra
    for c in tls tunnel; do
        wants "$c" || continue
        extra="$tls"; [ "$c" = tunnel ] && extra="$tunnel"
        sed "s|^{|{$extra, |" "$runs/tap-postgres.json" > "$runs/$c.json"
        printf '{%s, "host": "127.0.0.1", "port": %s, "user": "postgres", "dbname": "dst", "default_target_schema": "%s"}\n' \
            "$extra" "$wh_port" "$c" > "$runs/target-$c.json"
    done
    wants_nested || return 0
    local structure='"type": ["null", "object"], "properties": {"channel": {"type": ["null", "string"]}, "items": {"type": ["null", "array"], "items": {"type": "object", "properties": {"sku": {"type": ["null", "string"]}, "qty": {"type": ["null", "integer"]}, "price": {"type": ["null", "number"]}}}}}'
    "$bin/tap-postgres" --config "$runs/nested.json" --discover 2>"$runs/nested.discover.log" \
        | sed "/\"tap_stream_id\": \"public-orders_nested\"/,\$ { /\"attributes\": {/,/}/ s/\"x-sql-datatype\": \"jsonb\"/$structure/ }" \
        > "$runs/nested.catalog.json"
    grep -q '"items": {"type": \["null", "array"\]' "$runs/nested.catalog.json" \
        || fail "could not declare the structure of orders_nested.attributes in $runs/nested.catalog.json"
}

drop_schema() { wh_at -d dst -c "drop schema if exists $1 cascade"; }
# An empty COPY destination: the source's tables, same column types and keys, no data.
copy_schema() {
    drop_schema "$1"
    { echo "create schema $1; set search_path = $1;"; cat "$root/tests/bench/tables_postgres.sql"; } | wh_at -d dst
}

# Sets up a case's destination (untimed) and names its pipe (`reader`, `writer`), how to check
# what it loaded, and the `schema` to drop afterwards.
setup_case() {
    local c="$1"
    local tap_args=(--config "$runs/$c.json") target=("$bin/target-postgres" --config "$runs/target-$c.json")
    schema="${c//-/_}"
    case "$c" in
    copy-pg)
        copy_schema "$schema"
        reader=("${psql_cmd[@]}" -d src -c 'copy orders to stdout')
        writer=("${wh_cmd[@]}" -d dst -c "copy $schema.orders from stdin")
        check=(check_orders "$schema.orders" "$src_orders") ;;
    copy-pg-binary)
        copy_schema "$schema"
        reader=("${psql_cmd[@]}" -d src -c 'copy orders to stdout (format binary)')
        writer=("${wh_cmd[@]}" -d dst -c "copy $schema.orders from stdin (format binary)")
        check=(check_orders "$schema.orders" "$src_orders") ;;
    upsert-psql)
        # What the target does in resync-all, by hand: a staging COPY, then one upsert.
        change_warehouse_rows "$schema.orders" all
        reader=("${psql_cmd[@]}" -d src -c 'copy orders to stdout')
        writer=("${wh_cmd[@]}" -d dst -1 -c "create unlogged table $schema.staging (like $schema.orders)"
                -c "copy $schema.staging from stdin"
                -c "insert into $schema.orders select * from $schema.staging on conflict (id) do update set
                    customer_id = excluded.customer_id, status = excluded.status, amount = excluded.amount,
                    quantity = excluded.quantity, created_at = excluded.created_at, updated_at = excluded.updated_at,
                    note = excluded.note, paid = excluded.paid, attributes = excluded.attributes"
                -c "drop table $schema.staging")
        check=(check_orders "$schema.orders" "$src_orders")
        schema="" ;;
    copy-mariadb)
        # --batch escapes tab, newline and backslash as COPY's text format does, and prints NULL.
        copy_schema "$schema"
        reader=("${mariadb_cmd[@]}" --batch --quick --skip-column-names -e "set time_zone = '+00:00';
            select id, customer_id, status, amount, quantity, created_at, updated_at, note, paid, attributes from orders")
        writer=("${wh_cmd[@]}" -d dst -c "copy $schema.orders from stdin (null 'NULL')")
        check=(check_orders "$schema.orders" "$my_orders") ;;
    copy-pg-nested)
        copy_schema "$schema"
        reader=("${psql_cmd[@]}" -d src -c 'copy orders_nested to stdout')
        writer=("${wh_cmd[@]}" -d dst -c "copy $schema.orders_nested from stdin")
        check=(check_nested "$schema.orders_nested" json) ;;
    tap-postgres|tls|tunnel)
        drop_schema "$schema"
        reader=("$bin/tap-postgres" "${tap_args[@]}") writer=("${target[@]}")
        check=(check_orders "$schema.orders" "$src_orders") ;;
    shards-*)
        # The reader runs every shard pipe and the activation; the writer only collects its lines.
        drop_schema "$schema"
        rm -rf "$runs/$c.shards"
        reader=(bash "$root/tests/shards/run.sh" "${c#shards-}" "$bin/tap-postgres" "$runs/tap-postgres.json"
                "$runs/target-$c.json" "$runs/$c.shards") writer=(cat)
        check=(check_orders "$schema.orders" "$src_orders") ;;
    tap-mysql)
        drop_schema "$schema"
        reader=("$bin/tap-mysql" "${tap_args[@]}") writer=("${target[@]}")
        check=(check_orders "$schema.orders" "$my_orders") ;;
    resync|resync-10|resync-all)
        # Every row again into a table that holds them all: the staging + merge path. The
        # warehouse's rows changed first (none, a tenth, all), so the load changes them back;
        # vacuumed so earlier runs' dead rows do not weigh on this one; kept for the next run.
        change_warehouse_rows "$schema.orders" "${c#resync}"
        reader=("$bin/tap-postgres" "${tap_args[@]}") writer=("${target[@]}")
        check=(check_orders "$schema.orders" "$src_orders")
        schema="" ;;
    nested)
        drop_schema "$schema"
        reader=("$bin/tap-postgres" "${tap_args[@]}" --catalog "$runs/nested.catalog.json") writer=("${target[@]}")
        check=(check_nested "$schema.orders_nested" flat) ;;
    cdc-*)
        # Untimed: every row updated at the source; the warehouse table vacuumed, as resync's.
        update_cdc_source "$c"
        wh_at -d dst -c "vacuum $schema.$(cdc_table "$c")"
        local tap=tap-mysql
        [[ "$c" == cdc-postgres* ]] && tap=tap-postgres
        reader=("$bin/$tap" "${tap_args[@]}" --state "$runs/$c.state.json")
        writer=("${target[@]}")
        check=(check_cdc "$c" "$schema.$(cdc_table "$c")")
        schema="" ;;
    esac
}

# Untimed: none (""), a tenth (-10) or every row (all, -all) of a loaded warehouse table made to
# differ from the source, then the table vacuumed.
change_warehouse_rows() {  # TABLE ""|-10|-all|all
    local where=""
    case "$2" in
    "") ;;
    -10) where="where id % 10 = 0" ;;
    *) where="where true" ;;
    esac
    [ -z "$where" ] || wh_at -d dst -c "update $1 set quantity = quantity + 1 $where" >/dev/null
    wh_at -d dst -c "vacuum $1"
}

# Every row of a cdc case's source table changed: one statement (one transaction), or 100, each
# a range of ids in its own transaction; then the source's digest, for the check.
update_cdc_source() {  # CASE
    local c="$1" table step k statements=""
    table="$(cdc_table "$c")"
    cdc_runs[$c]=$(( ${cdc_runs[$c]:-0} + 1 ))
    local set="set quantity = quantity + 1, note = concat_ws(' ', note, 'run ${cdc_runs[$c]}')"
    if [[ "$c" == *-100 ]]; then
        step=$(( (rows + 99) / 100 ))
        for k in $(seq 0 99); do
            statements+="update $table $set where id > $((k * step)) and id <= $(((k + 1) * step));"$'\n'
        done
    else
        statements="update $table $set;"
    fi
    if [[ "$c" == cdc-postgres* ]]; then
        psql_at -d src <<<"$statements"
        cdc_source="$(pg_digest src "$table" "$pg_orders_row")"
    else
        "${mariadb_cmd[@]}" <<<"$statements"
        cdc_source="$(my_digest "$my_orders_row" "$table")"
    fi
}
declare -A cdc_runs=()

# The warehouse equals the source, and the state the target printed last is the next run's.
check_cdc() {  # CASE TABLE
    check_orders "$2" "$cdc_source"
    save_cdc_state "$1" "$out.out"
}
save_cdc_state() {  # CASE TARGET-OUTPUT
    local state
    state="$(tail -n 1 "$2")"
    [[ "$state" == "{"* ]] || fail "$1: the target printed no state"
    printf '%s\n' "$state" > "$runs/$1.state.json"
}

# Untimed, before the batch: each cdc case's table loaded into the warehouse by a LOG_BASED
# snapshot (its first run), and the state to follow the log from.
preload_cdc() {
    local c table
    for c in cdc-postgres cdc-postgres-100 cdc-mysql cdc-mysql-100; do
        wants "$c" || continue
        label="$c preload"
        table="$(cdc_table "$c")"
        drop_schema "${c//-/_}"
        if [[ "$c" == cdc-postgres* ]]; then
            reader=("$bin/tap-postgres" --config "$runs/$c.json")
            cdc_source="$(pg_digest src "$table" "$pg_orders_row")"
        else
            reader=("$bin/tap-mysql" --config "$runs/$c.json")
            cdc_source="$(my_digest "$my_orders_row" "$table")"
        fi
        writer=("$bin/target-postgres" --config "$runs/target-$c.json")
        run_pipe "$runs/$c.preload"
        check_orders "${c//-/_}.$table" "$cdc_source"
        save_cdc_state "$c" "$runs/$c.preload.out"
        printf "  %-25s %8.2f s   checked\n" "$c snapshot (untimed)" "$elapsed"
    done
}

expect() {  # WHAT GOT WANTED
    [ "$2" = "$3" ] || fail "$label: $1 holds (rows, checksum) $2, the source $3"
}
check_orders() {  # TABLE SOURCE-DIGEST; a target's rows marked deleted do not count
    local live="$1"
    [[ "$1" == copy_* || "$1" == upsert_psql.* ]] || live="$1 where _sdc_deleted_at is null"
    expect "$1" "$(pg_digest dst "$live" "$pg_orders_row")" "$2"
}
check_nested() {  # ROOT-TABLE json|flat
    if [ "$2" = json ]; then
        expect "$1" "$(pg_digest dst "$1" "$nested_root_json")" "$src_nested_root"
        expect "$1 (items)" "$(pg_digest dst "$1, jsonb_array_elements(attributes->'items') with ordinality e(item, n)" "$items_json")" "$src_nested_items"
    else
        expect "$1" "$(pg_digest dst "$1 where _sdc_deleted_at is null" "$nested_root_flat")" "$src_nested_root"
        expect "${1}__attributes__items" "$(pg_digest dst "${1}__attributes__items where _sdc_deleted_at is null" "$items_flat")" "$src_nested_items"
    fi
}

# Runs `reader | writer` once, each under GNU time (peak RSS KiB and user + system CPU seconds
# in OUT.reader.time / .writer.time), stderr to OUT.*.log; sets `elapsed` (seconds). A failing
# side stops the bench with both logs.
run_pipe() {  # OUT
    local out="$1" started codes side
    set +e
    started=$EPOCHREALTIME
    "$time_bin" -f '%M %U %S' -o "$out.reader.time" "${reader[@]}" 2>"$out.reader.log" \
        | "$time_bin" -f '%M %U %S' -o "$out.writer.time" "${writer[@]}" >"$out.out" 2>"$out.writer.log"
    codes=("${PIPESTATUS[@]}")
    elapsed="$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
    set -e
    [ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] && return
    echo "bench: $label failed: ${reader[0]##*/} exited ${codes[0]}, ${writer[0]##*/} exited ${codes[1]}" >&2
    for side in reader writer; do
        echo "--- last lines of $out.$side.log" >&2
        tail -n 15 "$out.$side.log" >&2
    done
    exit 1
}

# Untimed, before the batch: the tables the resync cases (by a first run of their pipe) and
# upsert-psql (by COPY) load into again and again.
preload_resync() {
    local c
    for c in resync resync-10 resync-all; do
        wants "$c" || continue
        label="$c preload"
        drop_schema "${c//-/_}"
        reader=("$bin/tap-postgres" --config "$runs/$c.json")
        writer=("$bin/target-postgres" --config "$runs/target-$c.json")
        run_pipe "$runs/$c.preload"
        check_orders "${c//-/_}.orders" "$src_orders"
    done
    if wants upsert-psql; then
        copy_schema upsert_psql
        "${psql_cmd[@]}" -d src -c 'copy orders to stdout' | "${wh_cmd[@]}" -d dst -c 'copy upsert_psql.orders from stdin'
        check_orders upsert_psql.orders "$src_orders"
    fi
}

declare -A seconds=() rss_reader=() rss_writer=() reader_name=() writer_name=()
declare -A cpu_reader=() cpu_writer=() cpu_source=() cpu_warehouse=()

peak_mib() { awk 'END { printf "%.1f", $1 / 1024 }' "$1"; }  # GNU time's last line: KiB
cpu_of() { awk 'END { printf "%.2f", $2 + $3 }' "$1"; }
max_of() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }

# A server's CPU seconds so far: its processes', and those of the sessions that ended (a
# postmaster reaps its backends, so their time is in its cutime and cstime).
clock_ticks="$(getconf CLK_TCK)"
server_cpu() {  # PID
    # Processes come and go while this reads: a vanished one is not an error.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pid="$1" -v hz="$clock_ticks" '
        { own = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
          if (own == pid) t += f[12] + f[13] + f[14] + f[15]; else if (f[2] == pid) t += f[12] + f[13] }
        END { printf "%.2f", t / hz }'
}
source_pid() {  # CASE: the server the case reads
    case "$1" in
    copy-mariadb|tap-mysql|cdc-mysql*) cat "$bench/mariadb/mysqld.pid" ;;
    *) head -n 1 "$bench/pg/data/postmaster.pid" ;;
    esac
}
warehouse_pid() { head -n 1 "$bench/pg${warehouse_dir_suffix}/data/postmaster.pid"; }
warehouse_dir_suffix="-warehouse"
[ "$setup" = single ] && warehouse_dir_suffix=""

# One timed, checked run of a case; its destination is set up before and dropped after.
run_case() {  # CASE RUN
    local c="$1" n="$2" out="$runs/$1.$2"
    label="$c run $n"
    setup_case "$c"
    psql_at -d postgres -c checkpoint
    [ "$setup" = single ] || wh_at -d postgres -c checkpoint
    local src_pid wh_pid src_before wh_before
    src_pid="$(source_pid "$c")" wh_pid="$(warehouse_pid)"
    src_before="$(server_cpu "$src_pid")" wh_before="$(server_cpu "$wh_pid")"
    run_pipe "$out"
    local src_cpu wh_cpu
    src_cpu="$(awk -v a="$src_before" -v b="$(server_cpu "$src_pid")" 'BEGIN { printf "%.2f", b - a }')"
    wh_cpu="$(awk -v a="$wh_before" -v b="$(server_cpu "$wh_pid")" 'BEGIN { printf "%.2f", b - a }')"
    # One server for both under BENCH_SETUP=single: its CPU counts once, as the warehouse's.
    [ "$src_pid" = "$wh_pid" ] && src_cpu="-"
    cpu_source[$c]+="$src_cpu " cpu_warehouse[$c]+="$wh_cpu "
    cpu_reader[$c]+="$(cpu_of "$out.reader.time") " cpu_writer[$c]+="$(cpu_of "$out.writer.time") "
    "${check[@]}"
    [ -z "$schema" ] || drop_schema "$schema"
    seconds[$c]+="$elapsed "
    reader_name[$c]="${reader[0]##*/}" writer_name[$c]="${writer[0]##*/}"
    rss_reader[$c]="$(max_of "${rss_reader[$c]:-0}" "$(peak_mib "$out.reader.time")")"
    rss_writer[$c]="$(max_of "${rss_writer[$c]:-0}" "$(peak_mib "$out.writer.time")")"
    printf "  %-9s %-15s %8.2f s %10.0f rows/s   checked\n" "run $n/$runs_per_case" "$c" "$elapsed" \
        "$(awk -v s="$elapsed" -v r="$rows" 'BEGIN { print r / s }')"
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
median_or_dash() { if [[ "$1" == *-* ]]; then echo -; else printf "%.1f" "$(median "$1")"; fi; }

# The results as a markdown table, printed and saved under results/.
report() {
    local total="$1" stamp md commit
    stamp="$(date -u +%Y%m%d-%H%M%S)"
    md="$bench/results/bench-$stamp.md"
    commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] && commit+=" (with uncommitted changes)"
    {
        echo "# just bench: $rows rows, $runs_per_case runs per case, BENCH_SETUP=$setup"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); whole bench: $total s"
        echo "- commit: $commit; programs: $bin"
        echo "- CPUs: $(nproc) ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
        local servers_line="PostgreSQL $(psql_at -d postgres -At -c 'show server_version')"
        if [ "$setup" = single ]; then servers_line+=": source and warehouse in one server, fsync and synchronous_commit off"
        else servers_line+=": a source server and a separate warehouse server, fsync and synchronous_commit on"; fi
        wants_mariadb && servers_line+="; MariaDB $(mariadb_at -N -e 'select version()')"
        echo "- servers: $servers_line"
        wants_nested && echo "- orders_nested: $rows rows holding $items line items"
        echo
        echo "| case | median s | rows/s | vs baseline | runs s | reader: peak RSS MiB, CPU s | writer: peak RSS MiB, CPU s | source server CPU s | warehouse CPU s |"
        echo "|---|---:|---:|---|---|---|---|---:|---:|"
        local c m rate ratio b
        for c in "${cases[@]}"; do
            m="$(median "${seconds[$c]}")"
            rate="$(awk -v m="$m" -v r="$rows" 'BEGIN { printf "%.0f", r / m }')"
            b="${baseline[$c]:-}"
            if [ -z "$b" ]; then ratio="baseline"
            elif [ -n "${seconds[$b]:-}" ]; then
                ratio="$(awk -v m="$m" -v bm="$(median "${seconds[$b]}")" -v b="$b" 'BEGIN { printf "%.2fx %s", m / bm, b }')"
            else ratio="- ($b not run)"; fi
            printf "| %s | %.2f | %s | %s | %s | %s %s, %.1f | %s %s, %.1f | %s | %s |\n" "$c" "$m" "$rate" "$ratio" "${seconds[$c]% }" \
                "${reader_name[$c]}" "${rss_reader[$c]}" "$(median "${cpu_reader[$c]}")" \
                "${writer_name[$c]}" "${rss_writer[$c]}" "$(median "${cpu_writer[$c]}")" \
                "$(median_or_dash "${cpu_source[$c]}")" "$(median_or_dash "${cpu_warehouse[$c]}")"
        done
        echo
        echo "vs baseline: the case's median time over its baseline's in this batch (the COPY text pipe; for tls, tunnel and shards-N the plaintext tap-postgres pipeline; for resync-all the same staging + upsert done by psql; for cdc-* resync-all, the same changes upserted; 1.00x: as fast). shards-N's reader is tests/shards/run.sh: its peak RSS is the largest of its processes'."
        echo "CPU: medians of user + system seconds; a server's counts every process of it (sessions, background workers) during the run; - where the source is the warehouse server."
        echo "Each run was checked: the destination's row count and a checksum of every value equal the source's."
    } > "$md"
    cp "$md" "$bench/results/latest.md"
    echo
    cat "$md"
    echo
    echo "saved: $md (and results/latest.md); logs: $runs/"
}

bench_started=$EPOCHREALTIME
[ -x "$bin/target-postgres" ] || fail "no release build in $bin: run just release (just bench does)"
ensure_gnu_time
start_servers
load_sources
write_configs
preload_resync
preload_cdc
echo
echo "== $runs_per_case runs of each case, round-robin, $rows rows =="
for n in $(seq "$runs_per_case"); do
    for c in "${cases[@]}"; do run_case "$c" "$n"; done
done
report "$(awk -v a="$bench_started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
