#!/usr/bin/env bash
# Build the real Sigstore toolchain (and the registries and helpers around it) from
# the Go module proxy, one tools module per tool (peers/tools/<name>/go.mod + go.sum),
# into a cache outside the repository:
#
#   ${SIGVERIFY_TOOLS_CACHE:-$HOME/.cache/sigverify-tools}/<name>-<version>/bin/...
#
# A tool is rebuilt only when its directory lacks a stamp matching the tool's
# version, the SHA-256 of its go.sum and the Go version. Also creates the Python
# venv ($CACHE/venv) with sigstore-python from peers/requirements.txt.
#
# Usage: peers/build-tools.sh [--force] [name ...]     (no names = every tool)
#   SIGVERIFY_BUILD_P   go build -p (default 2)
#   SIGVERIFY_NO_VENV=1 skip the Python venv
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SIGVERIFY_TOOLS_CACHE:-$HOME/.cache/sigverify-tools}
P=${SIGVERIFY_BUILD_P:-2}
FORCE=0
if [ "${1:-}" = --force ]; then FORCE=1; shift; fi

# Pinned toolchain, no workspace, no inherited -mod=..., static binaries (see the
# Go documentation of GOTOOLCHAIN, GOWORK and GOFLAGS).
export GOTOOLCHAIN=local GOFLAGS= GOWORK=off CGO_ENABLED=0
# Keep the compile cache beside the binaries, outside the repository, unless the
# caller chose one.
export GOCACHE=${GOCACHE:-$CACHE/go-build}
# go.sum is committed: builds never consult the checksum database.
mkdir -p "$CACHE"

GOV=$(go env GOVERSION)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

# tools.list: name module version package...
declare -a NAMES=()
declare -A MOD VER PKGS
while read -r name mod ver pkgs; do
  case "$name" in ''|'#'*) continue ;; esac
  NAMES+=("$name"); MOD[$name]=$mod; VER[$name]=$ver; PKGS[$name]=$pkgs
done < "$HERE/tools.list"

want=("$@")
[ ${#want[@]} -eq 0 ] && want=("${NAMES[@]}")

T0=$(now)
summary=()
for name in "${want[@]}"; do
  [ -n "${MOD[$name]:-}" ] || { echo "unknown tool: $name" >&2; exit 2; }
  dir=$HERE/tools/$name
  mod=${MOD[$name]} ver=${VER[$name]}
  # The tools module must require exactly the pinned version.
  if ! grep -qE "^[[:space:]]*(require[[:space:]]+)?${mod//./\\.} ${ver//+/\\+}( |$)" "$dir/go.mod"; then
    echo "$name: $dir/go.mod does not require $mod $ver" >&2; exit 1
  fi
  sum=$(sha256sum "$dir/go.sum" | cut -c1-16)
  out=$CACHE/$name-$ver
  stamp="$name $mod $ver gosum=$sum $GOV"
  if [ $FORCE = 0 ] && [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ]; then
    summary+=("$(printf '%-12s %-9s cached' "$name" "$ver")")
    continue
  fi
  pkgs=()
  for p in ${PKGS[$name]}; do
    if [ "$p" = . ]; then pkgs+=("$mod"); else pkgs+=("$mod/$p"); fi
  done
  t=$(now)
  echo "== building $name $ver: ${pkgs[*]}"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp/bin"
  ( cd "$dir" && go build -mod=readonly -p "$P" -trimpath -ldflags='-s -w' -o "$out.tmp/bin/" "${pkgs[@]}" )
  echo "$stamp" > "$out.tmp/stamp"
  rm -rf "$out"; mv "$out.tmp" "$out"
  summary+=("$(printf '%-12s %-9s built in %ss' "$name" "$ver" "$(secs "$t" "$(now)")")")
  echo "   $name done in $(secs "$t" "$(now)")s"
done

# sigstore-python, pinned with hashes in requirements.txt.
if [ "${SIGVERIFY_NO_VENV:-0}" != 1 ] && [ $# -eq 0 ]; then
  t=$(now)
  rq=$(sha256sum "$HERE/requirements.txt" | cut -c1-16)
  if [ $FORCE = 0 ] && [ -f "$CACHE/venv/stamp" ] && [ "$(cat "$CACHE/venv/stamp")" = "$rq" ]; then
    summary+=("$(printf '%-12s %-9s cached' venv sigstore)")
  else
    rm -rf "$CACHE/venv"
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
      -r "$HERE/requirements.txt"
    echo "$rq" > "$CACHE/venv/stamp"
    summary+=("$(printf '%-12s %-9s built in %ss' venv sigstore "$(secs "$t" "$(now)")")")
  fi
fi

echo "== summary (cache $CACHE, $GOV)"
printf '%s\n' "${summary[@]}"
echo "total $(secs "$T0" "$(now)")s"
