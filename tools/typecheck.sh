#!/usr/bin/env bash
# mypy --strict over the whole `ctk` namespace.
#
# The design card's folders (toolkit/ kg/ plugins/ distill/ cli/) map into one import
# name through setuptools' package-dir, which mypy cannot follow; this script lays out
# a shadow tree of symlinks (ctk -> toolkit/*, ctk/kg -> kg, ...) and checks `-p ctk`.
# Usage: bash tools/typecheck.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
shadow="$(mktemp -d)"
trap 'rm -rf "$shadow"' EXIT
mkdir -p "$shadow/ctk"
for entry in toolkit/*; do ln -s "$root/$entry" "$shadow/ctk/$(basename "$entry")"; done
for sub in kg plugins distill view cli; do ln -s "$root/$sub" "$shadow/ctk/$sub"; done
cd "$shadow"
MYPYPATH="$shadow" mypy --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p ctk
