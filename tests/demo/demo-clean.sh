#!/usr/bin/env bash
# `just demo-clean`: stops the demo's servers and removes .local/demo.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
demo="$root/.local/demo"
servers="$demo"
# shellcheck source=tests/servers.sh
source "$root/tests/servers.sh"
stop_servers
rm -rf "$demo"
echo "demo removed"
