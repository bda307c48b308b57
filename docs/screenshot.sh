#!/usr/bin/env bash
# Build the site and take screenshots of the index and of one API reference page with
# headless Chromium (Debian's `chromium` package: apt-get install -y chromium).
#
#   docs/screenshot.sh [OUTPUT_DIR]     (default: build/screenshots)
#
# Runs from a fresh clone: the site is built by `nox -s docs` (the same strict build CI
# runs, in its own venv with the `docs` extra), and nox is installed first if
# `python3 -m nox` is missing, as the README's test command does. Writes index.png and
# reference-api.png; the screenshots send nothing over the network.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/screenshots}"
site="build/site"  # where `nox -s docs` builds it
if ! command -v chromium >/dev/null; then
    echo "docs/screenshot.sh needs Chromium on PATH: sudo apt-get install chromium" >&2
    exit 1
fi
if ! python3 -m nox --version >/dev/null 2>&1; then
    python3 -m pip install nox
fi
python3 -m nox -s docs
mkdir -p "$out"
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
