#!/usr/bin/env bash
# System packages the tests need beyond the .NET SDK (idempotent; installs only what is missing).
set -euo pipefail
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# The report test renders the demo's HTML in headless Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The ELF patch test reads LibTorchSharp with binutils' readelf.
command -v readelf >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq "${need[@]}"
  fi
fi
