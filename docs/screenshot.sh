#!/usr/bin/env bash
# Build the site and take screenshots of the index and of one API reference page with
# headless Chromium (Debian's `chromium` package: apt-get install -y chromium).
#
#   docs/screenshot.sh [OUTPUT_DIR]     (default: build/screenshots)
#
# Writes index.png and reference-api.png; nothing is sent over the network.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/screenshots}"
site="build/site"
mkdir -p "$out"
NO_MKDOCS_2_WARNING=1 python -m mkdocs build --strict --quiet --site-dir "$site"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
shoot() {  # shoot PAGE PNG
    chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" --window-size=1280,1600 \
        --screenshot="$out/$2" "file://$PWD/$site/$1" 2>/dev/null
    echo "$out/$2"
}
shoot index.html index.png
shoot reference/api/index.html reference-api.png
