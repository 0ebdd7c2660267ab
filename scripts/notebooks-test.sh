#!/usr/bin/env bash
# Runs every sample notebook (samples/notebooks/*.ipynb) headless with dotnet-repl (pinned in .config/dotnet-tools.json)
# against the packages in artifacts/packages/, and fails when any cell fails (dotnet repl exits non-zero then).
# dotnet-interactive takes only an absolute path after `#i "nuget: ..."`, so each notebook runs from a copy whose
# `../../artifacts/packages` is this clone's absolute path and whose `#r "nuget: SaeSharp..., *-*"` names the version
# just packed (a floating version could pick a newer one from another source). The executed notebook, outputs included and the relative
# path restored, goes to artifacts/notebooks/; --update also writes it over the source (commit that when the outputs
# should change), so that a test run leaves the working tree as it was.
# Usage: bash scripts/notebooks-test.sh [--pack] [--update] [notebook ...]   (--pack packs first; scripts/test.sh
# packs through scripts/consumer-test.sh before calling this, or passes --pack when that was skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
packages="$repo/artifacts/packages"
started=$SECONDS

pack=false
update=false
while [ $# -gt 0 ]; do
  case "$1" in
    --pack) pack=true; shift ;;
    --update) update=true; shift ;;
    *) break ;;
  esac
done
if [ "$pack" = true ]; then
  echo "== notebooks: pack"
  rm -rf "$packages"
  dotnet pack SaeSharp.sln -c Release -m:1 -v quiet -nologo
fi
version="$(ls "$packages" 2>/dev/null | sed -n 's/^SaeSharp\.\([0-9][^/]*\)\.nupkg$/\1/p' | head -n 1)"
[ -n "$version" ] || { echo "error: no SaeSharp package in $packages (run with --pack)" >&2; exit 1; }

# Every commit packs the same prerelease version until a tag moves it: drop ours of that version from the global
# package cache so the notebooks restore the packages just packed (as scripts/consumer-test.sh does).
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
for id in saesharp saesharp.harvest saesharp.crosscoders saesharp.testbeds; do
  rm -rf "${cache:?}/$id/$version"
done

dotnet tool restore >/dev/null
executed="$repo/artifacts/notebooks"
mkdir -p "$executed"
work="$(mktemp -d /tmp/saesharp-notebooks.XXXXXX)"
trap 'rm -rf "$work"' EXIT

notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(samples/notebooks/*.ipynb)
for notebook in "${notebooks[@]}"; do
  name="$(basename "$notebook")"
  echo "== notebooks: $name (packages $version, $((SECONDS - started)) s)"
  sed -e "s|\.\./\.\./artifacts/packages|$packages|g" \
      -e "s|\(#r \\\\\"nuget: SaeSharp[A-Za-z.]*, \)\*-\*|\1$version|g" "$notebook" > "$work/$name"
  grep -q "$packages" "$work/$name" || { echo "error: $notebook has no #i \"nuget: ../../artifacts/packages\" line" >&2; exit 1; }
  grep -qF "SaeSharp, $version" "$work/$name" || { echo "error: $notebook has no #r \"nuget: SaeSharp, *-*\" line" >&2; exit 1; }
  notebook_started=$SECONDS
  # From the repository root, where the local tool manifest pins dotnet-repl.
  dotnet repl --run "$work/$name" --exit-after-run --output-format ipynb --output-path "$work/out-$name" || {
    echo "error: a cell of $notebook failed; the executed notebook is in $work/out-$name" >&2
    trap - EXIT
    exit 1
  }
  sed -e "s|$packages|../../artifacts/packages|g" \
      -e "s|\(#r \\\\\"nuget: SaeSharp[A-Za-z.]*, \)$version|\1*-*|g" "$work/out-$name" > "$executed/$name"
  [ "$update" = false ] || cp "$executed/$name" "$notebook"
  echo "== notebooks: $name passed in $((SECONDS - notebook_started)) s"
done
echo "== notebooks: passed ($((SECONDS - started)) s)"
