#!/usr/bin/env bash
# Reproduces benchmarks/results/<machine>/ as markdown only: machine.md (lscpu, memory, SDK), bench.md (the
# saesharp bench reports, both shapes with the per-part profile, and the quick acceptance run, each JSON
# quoted under its command) and bdn/*-report-github.md (the BenchmarkDotNet suite, GitHub-markdown
# exporter; its html/csv/log artifacts stay in a temporary folder). Run from the repository root on an
# otherwise idle machine; each report records the load average around it.
set -euo pipefail
machine="${1:-$(hostname)}"
out="benchmarks/results/$machine"
mkdir -p "$out/bdn"
dotnet build src/SaeSharp.Cli -c Release
dotnet build benchmarks/SaeSharp.Benchmarks -c Release
cli="dotnet src/SaeSharp.Cli/bin/Release/net10.0/SaeSharp.Cli.dll"

fence='```'
{ echo "# Machine: $machine"; echo; echo "Recorded by \`benchmarks/run-all.sh\` on $(date -u +%F)."; echo
  echo "$fence"; lscpu; echo; free -g; echo; dotnet --version; echo "$fence"; } > "$out/machine.md"

{ echo "# saesharp bench reports: $machine"; echo; echo "Run by \`benchmarks/run-all.sh\` on $(date -u '+%F %H:%M') UTC."; } > "$out/bench.md"
report() {  # report <title> <bench arguments...>: runs one bench and quotes its JSON under the command
  local title="$1"; shift
  local json; json="$($cli bench "$@")"
  { echo; echo "## $title"; echo; echo "\`saesharp bench $*\`"; echo; echo "${fence}json"; echo "$json"; echo "$fence"; } >> "$out/bench.md"
}
report "768 × 16384, k 32: quick acceptance run" --quick --json
report "768 × 16384, k 32, per-part profile" --json --profile
report "128 × 1024, k 16, per-part profile" --json --profile --d 128 --m 1024 --k 16

artifacts="$(mktemp -d)"
trap 'rm -rf "$artifacts"' EXIT
dotnet benchmarks/SaeSharp.Benchmarks/bin/Release/net10.0/SaeSharp.Benchmarks.dll --filter '*' --exporters github --artifacts "$artifacts"
cp "$artifacts"/results/*-report-github.md "$out/bdn/"
