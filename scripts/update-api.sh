#!/usr/bin/env bash
# Regenerates the public-API snapshots (tests/SaeSharp.Api.Tests/api/<Assembly>.txt) from the current
# build of every shipped library, then shows what changed. Review the diff and commit it with the API change.
set -euo pipefail
cd "$(dirname "$0")/.."
SAESHARP_UPDATE_API=1 dotnet test tests/SaeSharp.Api.Tests -c Release -m:1 -nologo -v q
git --no-pager diff --stat -- tests/SaeSharp.Api.Tests/api
