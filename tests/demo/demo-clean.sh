#!/usr/bin/env bash
# `just demo-clean`: stops the demo's servers and removes .local/demo.
set -euo pipefail
# shellcheck source=tests/servers.sh
source "$(dirname "$0")/../servers.sh"
demo="$root/.local/demo"
servers="$demo"
stop_servers
rm -rf "$demo"
echo "demo removed"
