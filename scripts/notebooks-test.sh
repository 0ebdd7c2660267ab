#!/usr/bin/env bash
# Runs every sample notebook (samples/notebooks/*.ipynb) headless with dotnet-repl (pinned in .config/dotnet-tools.json)
# against the packages in artifacts/packages/, and fails when any cell fails (dotnet repl exits non-zero then).
# dotnet-interactive takes only an absolute path after `#i "nuget: ..."`, so each notebook runs from a copy whose
# `../../artifacts/packages` is this clone's absolute path; the executed notebook, outputs included, is written back
# over the source with the relative path restored (commit it when the outputs should change).
# Usage: bash scripts/notebooks-test.sh [--pack] [notebook ...]   (--pack packs first; scripts/test.sh packs through
# scripts/consumer-test.sh before calling this)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
packages="$repo/artifacts/packages"
started=$SECONDS

if [ "${1:-}" = "--pack" ]; then
  shift
  echo "== notebooks: pack"
  rm -rf "$packages"
  dotnet pack SaeSharp.sln -c Release -m:1 -v quiet -nologo
fi
version="$(ls "$packages" 2>/dev/null | sed -n 's/^SaeSharp\.\(0.*\)\.nupkg$/\1/p' | head -n 1)"
[ -n "$version" ] || { echo "error: no SaeSharp package in $packages (run with --pack)" >&2; exit 1; }

# Every commit packs the same prerelease version until a tag moves it: drop ours of that version from the global
# package cache so the notebooks restore the packages just packed (as scripts/consumer-test.sh does).
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
for id in saesharp saesharp.harvest saesharp.crosscoders saesharp.testbeds; do
  rm -rf "${cache:?}/$id/$version"
done

dotnet tool restore >/dev/null
work="$(mktemp -d /tmp/saesharp-notebooks.XXXXXX)"
trap 'rm -rf "$work"' EXIT

notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(samples/notebooks/*.ipynb)
for notebook in "${notebooks[@]}"; do
  name="$(basename "$notebook")"
  echo "== notebooks: $name (packages $version, $((SECONDS - started)) s)"
  sed "s|\.\./\.\./artifacts/packages|$packages|g" "$notebook" > "$work/$name"
  grep -q "$packages" "$work/$name" || { echo "error: $notebook has no #i \"nuget: ../../artifacts/packages\" line" >&2; exit 1; }
  notebook_started=$SECONDS
  (cd "$(dirname "$notebook")" && dotnet repl --run "$work/$name" --exit-after-run \
    --output-format ipynb --output-path "$work/out-$name") || {
    echo "error: a cell of $notebook failed; the executed notebook is in $work/out-$name" >&2
    trap - EXIT
    exit 1
  }
  sed "s|$packages|../../artifacts/packages|g" "$work/out-$name" > "$notebook"
  echo "== notebooks: $name passed in $((SECONDS - notebook_started)) s"
done
echo "== notebooks: passed ($((SECONDS - started)) s)"
