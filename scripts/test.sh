#!/usr/bin/env bash
# The project's test command (README): fetches test fixtures that are not committed, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Fixture setup steps that need the network (npm) live in tests/fixtures/*/fetch.sh; each is idempotent.
for fetch in tests/fixtures/*/fetch.sh; do
  [ -f "$fetch" ] || continue
  bash "$fetch"
done

# The file-based samples are not in the solution; building them keeps them compiling against the library.
for sample in samples/*.cs; do
  [ -f "$sample" ] || continue
  dotnet build "$sample" -c Release -v quiet -nologo
done

# The packages as a consumer gets them: pack, then a new project outside the repository restores, builds and runs
# them (scripts/consumer-test.sh). SAESHARP_SKIP_CONSUMER_TEST=1 leaves it out of a quick local run.
if [ "${SAESHARP_SKIP_CONSUMER_TEST:-}" != "1" ]; then
  OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" bash scripts/consumer-test.sh
fi

# The sample notebooks, run headless with dotnet-repl against the packed packages (scripts/notebooks-test.sh); they
# pack first when the consumer test did not. SAESHARP_SKIP_NOTEBOOKS=1 leaves them out of a quick local run.
if [ "${SAESHARP_SKIP_NOTEBOOKS:-}" != "1" ]; then
  pack=()
  [ "${SAESHARP_SKIP_CONSUMER_TEST:-}" != "1" ] || pack=(--pack)
  OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" bash scripts/notebooks-test.sh "${pack[@]}"
fi

# Test processes run side by side on few cores: one libtorch thread each avoids OpenMP spin contention.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
dotnet test SaeSharp.sln -c Release "$@"
