#!/usr/bin/env bash
# `just sync TAP TAP_CONFIG CATALOG TARGET_CONFIG STATE_FILE`: one run of `TAP | target-postgres`,
# resuming from STATE_FILE and saving the target's last STATE back into it atomically (write,
# fsync, rename), also after a failed run: every STATE the target printed is committed.
# CATALOG may be `-` to select streams with the tap config's `select` patterns instead.
# Programs come from SINGER_BIN_DIR, else target/release, else target/debug, else the PATH (TAP may
# also be a path).
#
# Relative paths are the caller's: they are resolved against the working directory (`just sync`
# runs this from the directory `just` was called in), and the programs are given absolute paths,
# so that every error names the file it means. The state file's temporary files are written beside
# it, so that the rename that saves it is atomic.
set -uo pipefail

if [ "$#" -ne 5 ]; then
    echo "usage: sync.sh TAP TAP_CONFIG CATALOG TARGET_CONFIG STATE_FILE" >&2
    exit 2
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"

# $1 as an absolute path: relative to the working directory.
absolute() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "${PWD%/}" "${1#./}" ;;
    esac
}
tap="$1" catalog="$3"
tap_config="$(absolute "$2")" target_config="$(absolute "$4")" state="$(absolute "$5")"
[ "$catalog" != "-" ] && catalog="$(absolute "$catalog")"

# $2 must be a readable file; $1 says what it is for.
readable() {
    if [ ! -f "$2" ] || [ ! -r "$2" ]; then
        echo "sync: cannot read the $1 $2" >&2
        exit 2
    fi
}
readable "tap config" "$tap_config"
[ "$catalog" != "-" ] && readable catalog "$catalog"
readable "target config" "$target_config"
if [ ! -d "$(dirname "$state")" ]; then
    echo "sync: the state file's directory $(dirname "$state") does not exist" >&2
    exit 2
fi

program() {
    case "$1" in
        */*)
            local path
            path="$(absolute "$1")"
            [ -f "$path" ] && [ -x "$path" ] && { echo "$path"; return; }
            echo "sync: the tap $path is not an executable file" >&2
            exit 2
            ;;
    esac
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
