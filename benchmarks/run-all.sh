#!/usr/bin/env bash
# Reproduces benchmarks/results/<machine>/: the saesharp bench reports (both shapes, with the per-part
# profile), the quick acceptance run, and the BenchmarkDotNet suite. Run from the repository root on an
# otherwise idle machine; each report records the load average around it.
set -euo pipefail
machine="${1:-$(hostname)}"
out="benchmarks/results/$machine"
mkdir -p "$out"
dotnet build src/SaeSharp.Cli -c Release
dotnet build benchmarks/SaeSharp.Benchmarks -c Release
cli="dotnet src/SaeSharp.Cli/bin/Release/net10.0/SaeSharp.Cli.dll"
{ lscpu; echo; free -g; echo; dotnet --version; } > "$out/machine.txt"
$cli bench --quick --json > "$out/bench-quick-768x16384x32.json"
$cli bench --json --profile > "$out/bench-768x16384x32.json"
$cli bench --json --profile --d 128 --m 1024 --k 16 > "$out/bench-128x1024x16.json"
dotnet benchmarks/SaeSharp.Benchmarks/bin/Release/net10.0/SaeSharp.Benchmarks.dll --filter '*' --exporters github --artifacts "$out/bdn"
