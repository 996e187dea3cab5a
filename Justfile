# Every developer and user task. `just` alone lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Install the PostgreSQL, MariaDB and OpenSSH servers and openssl the tests use, when missing (apt-get; idempotent).
deps:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    if [ -z "${TEST_PG_URL:-}" ] && ! command -v initdb >/dev/null \
        && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        missing+=(postgresql)
    fi
    if [ -z "${TEST_MYSQL_URL:-}" ] && ! command -v mariadbd >/dev/null \
        && [ ! -x /usr/sbin/mariadbd ]; then
        missing+=(mariadb-server)
    fi
    # The TLS tests' certificates, and the sshd the SSH tunnel tests start (with ssh, ssh-keygen).
    if ! command -v openssl >/dev/null; then
        missing+=(openssl)
    fi
    if ! command -v sshd >/dev/null && [ ! -x /usr/sbin/sshd ]; then
        missing+=(openssh-server)
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "deps: servers and tools present"
        exit 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "deps: missing ${missing[*]}, and apt-get is not available here." >&2
        echo "      Install them with your package manager, or point the tests at running" >&2
        echo "      servers with TEST_PG_URL and TEST_MYSQL_URL (see README.md)." >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Install the Python Singer tools the interop tests run (Meltano, singer-io tap-mysql, MeltanoLabs tap-postgres, target-jsonl).
interop-deps:
    bash tests/interop/install.sh

# Build every program (debug).
build:
    cargo build --workspace --bins

# Build the programs for speed (target/release/).
release:
    cargo build --workspace --bins --release

# Install what is missing, then run every test in the workspace against real servers.
test: deps interop-deps build
    cargo test --workspace

# Random kill/resume campaign on throwaway servers: SIGKILL tap or target mid-sync, resume, check every row (SOAK_SEED replays).
soak trials="100": deps build
    SOAK_TRIALS={{trials}} cargo test -p tests --test soak -- --nocapture

# Throwaway MariaDB + PostgreSQL under .local/demo, a shop in both, both taps into the target, a summary.
demo: deps release
    bash tests/demo/demo.sh

# One `tap | target-postgres` run resuming from STATE_FILE, saving the new state atomically (README).
sync tap tap_config catalog target_config state_file:
    cd {{quote(invocation_directory())}} && bash {{quote(justfile_directory() + "/tests/sync/sync.sh")}} {{quote(tap)}} {{quote(tap_config)}} {{quote(catalog)}} {{quote(target_config)}} {{quote(state_file)}}

# One MariaDB table read by N shard processes at once (throwaway servers under .local/shards): the plan, the shards, the activation, a checked summary.
shards n="4" rows="200000": deps release
    bash tests/shards/shards.sh {{n}} {{rows}}

# Stop the demo's servers and remove .local/demo.
demo-clean:
    bash tests/demo/demo-clean.sh

# Our pipelines against a psql/mariadb COPY pipe on throwaway servers (.local/bench): rows/s, ratio, peak RSS; every run checked.
bench rows="1000000": deps release
    bash tests/bench/bench.sh {{rows}}

# Fuzz the target's input path for MINUTES (nightly + cargo-fuzz, installed when missing); crashes land in fuzz/artifacts: add them to fuzz/corpus/target_input, which `cargo test` replays.
fuzz minutes="30":
    #!/usr/bin/env bash
    set -euo pipefail
    rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
    cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz
    cd fuzz
    # detect_leaks=0: LeakSanitizer reports the thread-local destructors a worker thread registers
    # (__cxa_thread_atexit_impl) as leaks; memory is bounded by rss_limit_mb instead.
    # New inputs grow .local/fuzz/corpus; the committed seeds are read, never written.
    mkdir -p ../.local/fuzz/corpus
    cargo +nightly fuzz run target_input ../.local/fuzz/corpus corpus/target_input -- \
        -max_total_time=$(({{minutes}} * 60)) -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
        -detect_leaks=0

# Formatting and clippy, warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# The PostgreSQL tests (source and warehouse) on each major, default "12 13 14 15 16 17 18": server builds fetched into .local/pg-matrix (npm), a summary per major.
test-matrix majors="12 13 14 15 16 17 18": deps
    bash tests/matrix/matrix.sh {{quote(majors)}}
