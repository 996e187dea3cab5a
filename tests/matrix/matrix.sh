#!/usr/bin/env bash
# `just test-matrix [MAJORS]`: the PostgreSQL tests on every major our users run, one after the
# other. For each major (default "12 13 14 15 16 17 18") the server build is fetched when missing
# (fetch-postgres.sh) and the test binaries below run with PG_BIN_DIR pointing at it. A test
# binary starts one server and uses it as the source and as the warehouse, so a major's run
# covers both roles. The output of each major goes to .local/pg-matrix/logs/<major>.log; a summary
# per major (version, passed or failed, time) ends the run, which fails when any major failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
majors="${1:-12 13 14 15 16 17 18}"
logs="$root/.local/pg-matrix/logs"
mkdir -p "$logs"
cd "$root"

# tap-postgres as the source: discovery, type families, FULL_TABLE, INCREMENTAL, LOG_BASED,
# whole pipelines. target-postgres as the warehouse: load, de-nesting, schema evolution,
# ownership and permissions, errors, partial records, both COPY formats.
tests=(
    tap_postgres_discovery tap_postgres_types tap_postgres_sync full_table_versions
    log_based_postgres pipeline_types log_based
    target_load target_denest target_schema target_errors target_partial_records target_copy_format
)
# pipeline_types and log_based also hold MariaDB cases, whose names say `mysql`: they are skipped.

# The server under test is PG_BIN_DIR's; an existing server named by TEST_PG_URL would hide it.
unset TEST_PG_URL

test_args=()
for name in "${tests[@]}"; do test_args+=(--test "$name"); done
echo "test-matrix: building the tests"
cargo test -p tests "${test_args[@]}" --no-run 2>&1 | tail -1

run_major() {
    PG_BIN_DIR="$1" cargo test -p tests --no-fail-fast "${test_args[@]}" -- --skip mysql
}

summary=()
failed=0
total_start=$SECONDS
for major in $majors; do
    start=$SECONDS
    if ! bin="$("$root/tests/matrix/fetch-postgres.sh" "$major")"; then
        summary+=("$(printf '%-6s %-29s %-7s' "$major" "(no server build)" "FAILED")")
        failed=1
        continue
    fi
    version="$("$bin/postgres" --version | awk '{print $NF}')"
    build="$(cat "$bin/../VERSION" 2>/dev/null || echo "?")"
    echo "test-matrix: PostgreSQL $version ($build), log in $logs/$major.log"
    if run_major "$bin" > "$logs/$major.log" 2>&1; then
        result=passed
    else
        result=FAILED
        failed=1
        grep -E '^test .* FAILED$|^---- |panicked at' "$logs/$major.log" | head -20 || true
    fi
    count() { grep -Eo "[0-9]+ $1;" "$logs/$major.log" | awk '{n += $1} END {print n + 0}'; }
    summary+=("$(printf '%-6s %-10s %-18s %-7s %6s %6s %6ss' "$major" "$version" "$build" "$result" \
        "$(count passed)" "$(count failed)" $((SECONDS - start)))")
done

echo
echo "test-matrix summary (source and warehouse on the same server):"
printf '%-6s %-10s %-18s %-7s %6s %6s %7s\n' major version build result passed failed time
printf '%s\n' "${summary[@]}"
echo "total: $((SECONDS - total_start))s"
exit "$failed"
