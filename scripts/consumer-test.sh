#!/usr/bin/env bash
# The packages as a consumer gets them (issue 17). Packs every package into artifacts/packages/, then, in a new
# folder outside the repository, with a nuget.config naming that folder and the normal registry:
#   1. `dotnet new console` + `dotnet add package SaeSharp/.Harvest/.Crosscoders --prerelease`, the README's first
#      C# block as Program.cs unchanged, `dotnet run` twice (examples must run repeatedly);
#   2. scripts/consumer/Program.cs in the same project: trains a synthetic SAE, harvests the GPT-Neo fixture
#      through ONNX Runtime, trains and loads a crosscoder;
#   3. `dotnet new install` of the packed template package, `dotnet new saesharp-research`, `dotnet run`.
# Any failing step fails the script. Usage: bash scripts/consumer-test.sh [--no-pack]
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
packages="$repo/artifacts/packages"
started=$SECONDS
step() { echo "== consumer test: $* ($((SECONDS - started)) s)"; }

if [ "${1:-}" != "--no-pack" ]; then
  step "pack"
  rm -rf "$packages"
  dotnet pack SaeSharp.sln -c Release -m:1 -v quiet -nologo
fi
version="$(ls "$packages" | sed -n 's/^SaeSharp\.Templates\.\(.*\)\.nupkg$/\1/p')"
[ -n "$version" ] || { echo "error: no SaeSharp.Templates package in $packages" >&2; exit 1; }
for id in SaeSharp SaeSharp.Harvest SaeSharp.Crosscoders SaeSharp.Cli SaeSharp.Templates; do
  [ -f "$packages/$id.$version.nupkg" ] || { echo "error: $packages/$id.$version.nupkg was not packed" >&2; exit 1; }
done
step "packages $version"

work="$(mktemp -d /tmp/saesharp-consumer.XXXXXX)"
trap 'rm -rf "$work"' EXIT
case "$work" in "$repo"/*) echo "error: $work lies inside the repository" >&2; exit 1 ;; esac

# Every commit of the repository packs to the same prerelease version until a tag moves it: drop our packages
# of that version from the global package cache so the consumer restores the ones just packed, not stale ones.
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
for id in saesharp saesharp.harvest saesharp.crosscoders saesharp.testbeds saesharp.templates; do
  rm -rf "${cache:?}/$id/$version"
done

# The local folder for SaeSharp.*, the repository's registry for everything else (package source mapping, so a
# package of the same name elsewhere can never be picked).
registry="$(sed -n 's/.*<add key="[^"]*" value="\([^"]*\)".*/\1/p' "$repo/nuget.config" | head -n 1)"
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$packages" />
    <add key="registry" value="$registry" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="SaeSharp" /><package pattern="SaeSharp.*" /></packageSource>
    <packageSource key="registry"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML

cd "$work"
step "dotnet new console + dotnet add package"
dotnet new console -o app --framework net10.0 >/dev/null
cd app
for id in SaeSharp SaeSharp.Harvest SaeSharp.Crosscoders; do
  dotnet add package "$id" --prerelease >/dev/null
  grep -q "Include=\"$id\" Version=\"$version\"" app.csproj || { echo "error: $id $version not referenced" >&2; cat app.csproj >&2; exit 1; }
done

step "README quick start as Program.cs, first run"
awk '/^```csharp/{f=1; next} f && /^```/{exit} f' "$repo/README.md" > Program.cs
grep -q "SaeTrainer" Program.cs || { echo "error: README's first C# block not found" >&2; exit 1; }
dotnet run -c Release
step "README quick start, second run"
dotnet run -c Release --no-build

step "harvest + SAE + crosscoder program"
cp "$repo/scripts/consumer/Program.cs" Program.cs
mkdir -p model
cp "$repo/tests/fixtures/gptneo/gptneo-decomposed.onnx" model/model.onnx
cp "$repo/tests/fixtures/gptneo/tokenizer.json" "$repo/tests/fixtures/gptneo/corpus.txt" model/
dotnet run -c Release -- model

step "dotnet new saesharp-research from the packed template"
cd "$work"
hive="$work/template-hive" # a private template store: nothing is installed for the user
dotnet new install "$packages/SaeSharp.Templates.$version.nupkg" --debug:custom-hive "$hive" >/dev/null
# Few steps: this checks that the template builds and runs, not what it finds.
dotnet new saesharp-research -o Research --steps 100 --debug:custom-hive "$hive" >/dev/null
grep -q "Version=\"$version\"" Research/Research.csproj || { echo "error: template did not reference $version" >&2; cat Research/Research.csproj >&2; exit 1; }
cd Research
dotnet run -c Release

step "passed"
