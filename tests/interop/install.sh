#!/usr/bin/env bash
# Installs the Python Singer tools that the interoperability tests (tests/tests/interop.rs) run:
# Meltano, singer-io tap-mysql, MeltanoLabs tap-postgres and singer-io target-jsonl.
#
# One virtualenv per tool, because their pins conflict (singer-python 5.8 vs 5.9, jsonschema 2.6 vs
# 4, SQLAlchemy versions): tests/interop/requirements-NAME.txt goes into .local/python/NAME/
# (git-ignored), or into $INTEROP_PYTHON_DIR/NAME/ when that is set.
#
# Idempotent: a venv whose requirements file and Python are those of its last successful install
# is left alone. `--force` reinstalls every venv. PYTHON picks the interpreter (default python3;
# the pins are made for CPython 3.11). When `python3 -m venv` cannot work (Debian without
# python3-venv), the Debian packages are installed with apt-get, as root or through sudo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="${INTEROP_PYTHON_DIR:-$root/.local/python}"
python="${PYTHON:-python3}"
force=false
case "${1:-}" in
    --force) force=true ;;
    "") ;;
    *)
        echo "usage: $0 [--force]" >&2
        exit 2
        ;;
esac

say() { echo "interop-deps: $*"; }

apt_install() {
    if ! command -v apt-get >/dev/null; then
        say "$python cannot create virtualenvs, and apt-get is not available here:" >&2
        say "install Python 3.11 with its venv module (and pip), or set PYTHON to one that has them" >&2
        exit 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            say "installing $* needs root (or sudo)" >&2
            exit 1
        fi
        sudo="sudo"
    fi
    say "installing Debian packages: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

# The interpreter, and venv with ensurepip (which Debian moves out into python3-venv).
if ! command -v "$python" >/dev/null; then
    apt_install python3 python3-venv
fi
has_venv() { "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; }
if ! has_venv; then
    # python3-venv goes with Debian's default python3; pythonX.Y-venv with any other Debian python.
    apt_install python3-venv
    if ! has_venv; then
        apt_install "python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
    fi
    if ! has_venv; then
        say "$python still has no venv/ensurepip module: set PYTHON to a Python 3.11 that has" >&2
        exit 1
    fi
fi
python_id="$("$python" -c 'import sys; print(sys.version.replace("\n", " "))')"
case "$python_id" in
    3.11.*) ;;
    *) say "warning: the pins are made for CPython 3.11; $python is $python_id" >&2 ;;
esac

mkdir -p "$dest"
shopt -s nullglob
requirements=("$here"/requirements-*.txt)
if [ "${#requirements[@]}" -eq 0 ]; then
    say "no requirements-*.txt in $here" >&2
    exit 1
fi

# The hash that says a venv is up to date: its requirements, the interpreter, this script's layout.
stamp_of() {
    { cat "$1"; echo "python: $python_id"; echo "layout: 1"; } | sha256sum | cut -d' ' -f1
}

pending=()
for file in "${requirements[@]}"; do
    name="$(basename "$file" .txt)"
    name="${name#requirements-}"
    venv="$dest/$name"
    stamp="$(stamp_of "$file")"
    if ! $force && [ -f "$venv/.requirements.sha256" ] \
        && [ "$(cat "$venv/.requirements.sha256")" = "$stamp" ] \
        && "$venv/bin/python" -c 'pass' >/dev/null 2>&1; then
        say "$name: up to date"
        continue
    fi
    pending+=("$file")
done

install_one() {
    local file="$1" name venv stamp
    name="$(basename "$file" .txt)"
    name="${name#requirements-}"
    venv="$dest/$name"
    stamp="$(stamp_of "$file")"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --requirement "$file"
    # Kept beside the stamp: the tests compare it with the file to spot an outdated venv.
    cp "$file" "$venv/installed-requirements.txt"
    echo "$stamp" >"$venv/.requirements.sha256"
}

if [ "${#pending[@]}" -gt 0 ]; then
    logs="$(mktemp -d)"
    trap 'rm -rf "$logs"' EXIT
    started=$SECONDS
    pids=()
    for file in "${pending[@]}"; do
        name="$(basename "$file" .txt)"
        name="${name#requirements-}"
        say "$name: installing $(grep -c '==' "$file") pinned packages into $dest/$name"
        install_one "$file" >"$logs/$name.log" 2>&1 &
        pids+=($!)
    done
    failed=0
    for i in "${!pending[@]}"; do
        name="$(basename "${pending[$i]}" .txt)"
        name="${name#requirements-}"
        if wait "${pids[$i]}"; then
            say "$name: installed"
        else
            failed=1
            say "$name: install failed:" >&2
            sed 's/^/    /' "$logs/$name.log" >&2
        fi
    done
    [ "$failed" -eq 0 ] || exit 1
    say "installed in $((SECONDS - started)) s"
fi

say "Python tools (for tests/tests/interop.rs):"
for program in meltano/bin/meltano tap-mysql/bin/tap-mysql \
    meltanolabs-tap-postgres/bin/tap-postgres target-jsonl/bin/target-jsonl; do
    if [ -x "$dest/$program" ]; then
        echo "    $dest/$program"
    else
        say "missing $dest/$program" >&2
        exit 1
    fi
done
