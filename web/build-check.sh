#!/usr/bin/env bash
# Rebuilds web/dist/ and fails if it differs from what is committed.
# dist/ is checked in so the Rust server needs no npm step at run time; this keeps it honest.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/esbuild ] || [ ! -d node_modules/maplibre-gl ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
changes=$(git status --porcelain --untracked-files=all -- dist)
if [ -n "$changes" ]; then
  echo "web/dist/ differs from the committed build. Run 'npm run build' in web/ and commit dist/:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- dist >&2 || true
  exit 1
fi
echo "web/dist/ matches a fresh build"
