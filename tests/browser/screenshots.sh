#!/bin/sh
# Regenerates docs/screenshots/{index,article,event}.png (1280x900) from the
# example dossier, through the same headless-Chromium suite that `cargo test
# --test browser` runs. Needs node, npm and Chromium (/usr/bin/chromium, or
# set CHROMIUM). Usage, from anywhere:  sh tests/browser/screenshots.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)
fi

cargo build --release
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
./target/release/dossier build --output "$site" --base-url https://example.github.io/dossier-demo/
node "$here/run.mjs" "$site" --screenshots "$repo/docs/screenshots"
