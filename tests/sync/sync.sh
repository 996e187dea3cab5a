#!/usr/bin/env bash
# `just sync TAP TAP_CONFIG CATALOG TARGET_CONFIG STATE_FILE`: one run of `TAP | target-postgres`,
# resuming from STATE_FILE and saving the target's last STATE back into it atomically (write,
# fsync, rename), also after a failed run: every STATE the target printed is committed.
# CATALOG may be `-` to select streams with the tap config's `select` patterns instead.
# Programs come from SINGER_BIN_DIR, else target/release, else target/debug, else the PATH (TAP may
# also be a path).
set -uo pipefail

if [ "$#" -ne 5 ]; then
    echo "usage: sync.sh TAP TAP_CONFIG CATALOG TARGET_CONFIG STATE_FILE" >&2
    exit 2
fi
tap="$1" tap_config="$2" catalog="$3" target_config="$4" state="$5"
root="$(cd "$(dirname "$0")/../.." && pwd)"

program() {
    case "$1" in */*) echo "$1"; return ;; esac
    for dir in ${SINGER_BIN_DIR:+"$SINGER_BIN_DIR"} "$root/target/release" "$root/target/debug"; do
        [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
    done
    command -v "$1" || { echo "sync: program $1 not found (just release builds it)" >&2; exit 2; }
}
tap_bin="$(program "$tap")" || exit 2
target_bin="$(program target-postgres)" || exit 2

tap_args=(--config "$tap_config")
[ "$catalog" != "-" ] && tap_args+=(--catalog "$catalog")
[ -s "$state" ] && tap_args+=(--state "$state")

out="$(mktemp "${state}.out.XXXXXX")"
trap 'rm -f "$out" "$state.tmp"' EXIT
"$tap_bin" "${tap_args[@]}" | "$target_bin" --config "$target_config" > "$out"
statuses=("${PIPESTATUS[@]}")

# The target prints only state values, one per line, each after the data it covers is committed.
last="$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)"
if [ -n "$last" ]; then
    printf '%s\n' "$last" > "$state.tmp"
    sync "$state.tmp"
    mv -f "$state.tmp" "$state"
    sync "$(dirname "$state")" 2>/dev/null || true
    echo "sync: state saved to $state" >&2
fi

failed=0
if [ "${statuses[0]}" -ne 0 ]; then
    echo "sync: the tap ($tap) failed with exit code ${statuses[0]}" >&2
    failed=1
fi
if [ "${statuses[1]}" -ne 0 ]; then
    echo "sync: the target (target-postgres) failed with exit code ${statuses[1]}" >&2
    failed=1
fi
exit "$failed"
