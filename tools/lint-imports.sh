#!/usr/bin/env bash
# Check the layer and no-cycle contracts of [tool.importlinter] in pyproject.toml.
#
# ctk's folders map into one import name through setuptools' package-dir, which grimp
# cannot follow; this lays out a tree of links (tools/ctk-shadow.sh) and runs
# lint-imports over it. Usage: bash tools/lint-imports.sh [ROOT]  (ROOT: a source tree,
# default this one; tests/core/test_layers.py points it at a copy with a planted import).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "${1:-$here/..}" && pwd)"
# shellcheck source=tools/ctk-shadow.sh
. "$here/ctk-shadow.sh"
shadow="$(mktemp -d)"
trap 'rm -rf "$shadow"' EXIT
ctk_shadow "$root" "$shadow"
cd "$shadow"
PYTHONPATH="$shadow" lint-imports --no-cache "$root/pyproject.toml"
