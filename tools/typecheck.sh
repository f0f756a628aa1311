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
# shellcheck source=tools/ctk-shadow.sh
. tools/ctk-shadow.sh
shadow="$(mktemp -d)"
trap 'rm -rf "$shadow"' EXIT
ctk_shadow "$root" "$shadow"
cd "$shadow"
MYPYPATH="$shadow" mypy --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p ctk
