# Lay out ctk's folders as one package tree of symbolic links, for tools that cannot
# follow setuptools' package-dir mapping (mypy, import-linter's grimp).
#
# Usage (sourced): . tools/ctk-shadow.sh; ctk_shadow ROOT SHADOW
#   makes SHADOW/ctk -> ROOT/toolkit/*, SHADOW/ctk/kg -> ROOT/kg, ... (every folder of
#   [tool.setuptools] package-dir, and view/ once it exists).
ctk_shadow() {
  local root="$1" shadow="$2" entry sub
  mkdir -p "$shadow/ctk"
  for entry in "$root"/toolkit/*; do ln -s "$entry" "$shadow/ctk/$(basename "$entry")"; done
  for sub in kg plugins distill cli view; do
    if [ -d "$root/$sub" ]; then ln -s "$root/$sub" "$shadow/ctk/$sub"; fi
  done
}
