#!/usr/bin/env bash
# One sharded full-table run, as an orchestrator would schedule it, on this machine: N shard
# pipes at once (`tap --shard K/N --shard-version V | target-postgres`), each with its own state
# file, then, once every shard succeeded, the activation step (`tap --activate | target-postgres`).
#
#   run.sh N TAP TAP_CONFIG TARGET_CONFIG OUT_DIR [VERSION]
#
# TAP is the tap program's path. The plan (`tap --plan N`) is made once, into OUT_DIR/plan.json
# unless it is there already (a rerun keeps it), and every shard reads its bounds from it
# (`--shard-plan`). States land in OUT_DIR/shard-K.state.json, logs beside them.
# Prints one line per shard (rows, seconds) and the activation; exits non-zero when a shard failed
# (rerun it alone with its state file, then activate).
set -euo pipefail

[ "$#" -ge 5 ] || { echo "usage: run.sh N TAP TAP_CONFIG TARGET_CONFIG OUT_DIR [VERSION]" >&2; exit 2; }
count="$1" tap="$2" tap_config="$3" target_config="$4" out="$5"
[[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: N must be a positive number" >&2; exit 2; }
target="$(dirname "$tap")/target-postgres"
# The run's version: its start in milliseconds, unless the caller gives one.
version="${6:-$(date +%s%3N)}"
mkdir -p "$out"
export LC_NUMERIC=C

plan="$out/plan.json"
if [ ! -s "$plan" ]; then
    "$tap" --config "$tap_config" --plan "$count" 2>"$out/plan.log" >"$plan.tmp"
    mv "$plan.tmp" "$plan"
fi

started=$EPOCHREALTIME
pids=()
for ((k = 0; k < count; k++)); do
    state="$out/shard-$k.state.json"
    state_args=()
    [ -s "$state" ] && state_args=(--state "$state")
    (
        shard_started=$EPOCHREALTIME
        "$tap" --config "$tap_config" --shard "$k/$count" --shard-version "$version" --shard-plan "$plan" \
            "${state_args[@]}" \
            2>"$out/shard-$k.tap.log" \
            | "$target" --config "$target_config" 2>"$out/shard-$k.target.log" >"$out/shard-$k.out"
        codes=("${PIPESTATUS[@]}")
        # The last state the target printed is the shard's state for a rerun.
        last="$(tail -n 1 "$out/shard-$k.out")"
        [[ "$last" == "{"* ]] && printf '%s\n' "$last" >"$state"
        [ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] || exit 1
        rows="$(grep 'stream synced' "$out/shard-$k.tap.log" | grep -o 'rows=[0-9]*' | tail -n 1 | cut -d= -f2 || true)"
        printf "  shard %s/%s  %10s rows %8.2f s\n" "$k" "$count" "${rows:-?}" \
            "$(awk -v a="$shard_started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
    ) &
    pids+=($!)
done
failed=()
for ((k = 0; k < count; k++)); do
    wait "${pids[$k]}" || failed+=("$k")
done
if [ "${#failed[@]}" -gt 0 ]; then
    for k in "${failed[@]}"; do
        echo "run.sh: shard $k/$count failed (logs: $out/shard-$k.*.log); rerun it alone, then activate" >&2
        tail -n 5 "$out/shard-$k.tap.log" "$out/shard-$k.target.log" >&2
    done
    exit 1
fi

activation_started=$EPOCHREALTIME
"$tap" --config "$tap_config" --activate --shard-version "$version" 2>"$out/activate.tap.log" \
    | "$target" --config "$target_config" 2>"$out/activate.target.log" >"$out/activate.out"
printf "  activation    version %s %8.2f s\n" "$version" \
    "$(awk -v a="$activation_started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
printf "  all           %d shards %8.2f s\n" "$count" \
    "$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
