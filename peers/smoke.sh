#!/usr/bin/env bash
# Smoke proof against the private Sigstore (peers/stack.sh): build tiny images, push
# them to olareg (referrers API) and docker-registry (tag fallback, and the two auth
# registries), sign them with the real cosign in each form, then verify each with
# `cosign verify` and with sigverify's CLI, and print both verdicts side by side.
#
#   peers/smoke.sh            start the stack, run, stop the stack (trap)
#   SMOKE_KEEP_STACK=1 ...    use an already-running stack and leave it running
#
# Needs: peers/build-tools.sh done; `npm ci && npm run build` in the repository.
# Exit status: 0 when cosign and sigverify agree on every case, 1 otherwise.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
STACK=$HERE/stack.sh

OWN_STACK=0
if [ "${SMOKE_KEEP_STACK:-0}" != 1 ]; then
  OWN_STACK=1
  trap '"$STACK" stop >/dev/null 2>&1 || true' EXIT
  "$STACK" start
fi
eval "$("$STACK" env)"
S=$SIGVERIFY_STACK_DIR
W=$S/smoke; rm -rf "$W"; mkdir -p "$W"
export TUF_ROOT=$S/tuf-cache          # keep cosign away from ~/.sigstore
export COSIGN_YES=true
C3=$STACK_COSIGN3 C2=$STACK_COSIGN2 CRANE=$STACK_CRANE
NODE=$REPO/node_modules/.bin/node; [ -x "$NODE" ] || NODE=node
SV=("$NODE" "$REPO/dist/cli/bin.js")
[ -f "$REPO/dist/cli/bin.js" ] || { echo "smoke: build sigverify first (npm ci && npm run build)" >&2; exit 2; }
TR=$STACK_TRUSTED_ROOT ID=$STACK_IDENTITY ISS=$STACK_OIDC_ISSUER

# A tiny single-layer image, distinct content per case.
mkimage() { # ref tag-content
  local d; d=$(mktemp -d "$W/img.XXXX")
  printf 'sigverify smoke %s\n' "$2" > "$d/hello.txt"
  tar -C "$d" --owner=0 --group=0 --mtime=@0 -cf "$d/layer.tar" hello.txt
  "$CRANE" append --oci-empty-base -f "$d/layer.tar" -t "$1" >/dev/null 2>>"$W/crane.log"
  echo "${1%:*}@$("$CRANE" digest "$1" 2>>"$W/crane.log")"
}

declare -a ROWS=()
AGREE=0 DISAGREE=0
verdict() { if [ "$1" = 0 ]; then echo PASS; else echo FAIL; fi; }
# compare NAME EXPECT COSIGN_CMD... -- SIGVERIFY_ARGS...
compare() {
  local name=$1 expect=$2; shift 2
  local c=() s=() seen=0 a
  for a in "$@"; do
    if [ "$seen" = 0 ] && [ "$a" = -- ]; then seen=1; continue; fi
    if [ $seen = 0 ]; then c+=("$a"); else s+=("$a"); fi
  done
  local rc1=0 rc2=0 f=$W/${name//\//_}
  "${c[@]}" >"$f.cosign.out" 2>&1 || rc1=$?
  "${SV[@]}" "${s[@]}" >"$f.sigverify.out" 2>&1 || rc2=$?
  local v1 v2; v1=$(verdict $rc1); v2=$(verdict $rc2)
  local mark=agree
  if [ "$v1" != "$v2" ]; then mark=DISAGREE; DISAGREE=$((DISAGREE + 1)); else AGREE=$((AGREE + 1)); fi
  [ "$v1" = "$expect" ] || mark="$mark (cosign not $expect)"
  ROWS+=("$(printf '%-34s cosign=%-4s sigverify=%-4s expected=%-4s %s' "$name" "$v1" "$v2" "$expect" "$mark")")
  if [ "$v1" != "$v2" ] || [ "$v1" != "$expect" ]; then
    {
      echo "---- $name: cosign exit $rc1"; echo "\$ ${c[*]}"; tail -n 15 "$f.cosign.out"
      echo "---- $name: sigverify exit $rc2"; echo "\$ sigverify ${s[*]}"; tail -n 15 "$f.sigverify.out"
    } >> "$W/disagreements.txt"
  fi
}
step() { echo "smoke: $*" >&2; }
must() { local n=$1; shift; "$@" >"$W/$n.log" 2>&1 || { echo "smoke: FAILED to $n (exit $?):" >&2; tail -n 20 "$W/$n.log" >&2; return 1; }; }

signing_failed() { ROWS+=("$(printf '%-34s signing failed (see %s)' "$1" "$W/sign-$1.log")"); }

KEYLESS=(--trusted-root "$TR" --certificate-identity "$ID" --certificate-oidc-issuer "$ISS")
WRONG=(--trusted-root "$TR" --certificate-identity "someone-else@sigverify.test" --certificate-oidc-issuer "$ISS")

# A cosign v3 keyless image signature: an image under TAG in REGISTRY, signed with
# SIGNING_CONFIG, then the verdicts for its signer and (unless the 4th argument is
# "no") for another identity.
v3_keyless() { # tag registry signing-config [negative]
  local tag=$1 reg=$2 sc=$3 negative=${4:-yes} img
  step "$tag"
  img=$(mkimage "$reg/smoke/app:$tag" "$tag")
  if must "sign-$tag" "$C3" sign --identity-token "$("$STACK" token)" --signing-config "$sc" --trusted-root "$TR" "$img"; then
    compare "$tag" PASS "$C3" verify "${KEYLESS[@]}" "$img" -- verify "$img" "${KEYLESS[@]}"
    [ "$negative" = no ] || compare "$tag/wrong-identity" FAIL "$C3" verify "${WRONG[@]}" "$img" -- verify "$img" "${WRONG[@]}"
  else signing_failed "$tag"; fi
}
T0=$(date +%s)

# 1. cosign v3 keyless, Rekor v1, referrers (olareg) and tag fallback (docker-registry)
v3_keyless v3-rekor1-olareg "$STACK_REG_OLAREG" "$STACK_SIGNING_CONFIG_REKOR1"
v3_keyless v3-rekor1-docker "$STACK_REG_PLAIN" "$STACK_SIGNING_CONFIG_REKOR1"

# 2. cosign v3 keyless, Rekor v2 + TSA (olareg)
v3_keyless v3-rekor2-tsa "$STACK_REG_OLAREG" "$STACK_SIGNING_CONFIG_REKOR2"

# 2b. cosign v3 keyless, Rekor v1 + TSA timestamp (olareg)
v3_keyless v3-rekor1-tsa "$STACK_REG_OLAREG" "$STACK_SIGNING_CONFIG_REKOR1_TSA" no

# 2c. cosign v3 attestation (custom predicate), Rekor v1 and Rekor v2 + TSA (olareg)
echo '{"builder":"sigverify-smoke"}' > "$W/predicate.json"
for v in rekor1 rekor2; do
  tag=v3-attest-$v; step "$tag"
  sc=STACK_SIGNING_CONFIG_${v^^}
  img=$(mkimage "$STACK_REG_OLAREG/smoke/app:$tag" "$tag")
  if must "sign-$tag" "$C3" attest --identity-token "$("$STACK" token)" --signing-config "${!sc}" \
        --trusted-root "$TR" --type custom --predicate "$W/predicate.json" "$img"; then
    compare "$tag" PASS "$C3" verify-attestation --type custom "${KEYLESS[@]}" "$img" \
      -- verify-attestation "$img" --type custom "${KEYLESS[@]}"
    compare "$tag/wrong-identity" FAIL "$C3" verify-attestation --type custom "${WRONG[@]}" "$img" \
      -- verify-attestation "$img" --type custom "${WRONG[@]}"
  else signing_failed "$tag"; fi
done

# 3. cosign v2 keyless, legacy .sig tag (docker-registry), Rekor v1
tag=v2-legacy-sig; step "$tag"
img=$(mkimage "$STACK_REG_PLAIN/smoke/app:$tag" "$tag")
if must "sign-$tag" "$C2" sign --identity-token "$("$STACK" token)" --fulcio-url "$STACK_FULCIO_URL" \
      --rekor-url "$STACK_REKOR1_URL" --trusted-root "$TR" "$img"; then
  compare "$tag" PASS "$C3" verify "${KEYLESS[@]}" "$img" -- verify "$img" "${KEYLESS[@]}"
  compare "$tag/cosign2-verify" PASS "$C2" verify "${KEYLESS[@]}" "$img" -- verify "$img" "${KEYLESS[@]}"
  compare "$tag/wrong-identity" FAIL "$C3" verify "${WRONG[@]}" "$img" -- verify "$img" "${WRONG[@]}"
else signing_failed "$tag"; fi

# 4. key-based (cosign v3, ECDSA P-256 key pair from cosign), Rekor v1 (olareg)
tag=v3-key; step "$tag"
( cd "$W" && COSIGN_PASSWORD= "$C3" generate-key-pair >/dev/null 2>&1 )
img=$(mkimage "$STACK_REG_OLAREG/smoke/app:$tag" "$tag")
if COSIGN_PASSWORD= must "sign-$tag" "$C3" sign --key "$W/cosign.key" --signing-config "$STACK_SIGNING_CONFIG_REKOR1" \
      --trusted-root "$TR" "$img"; then
  compare "$tag" PASS "$C3" verify --trusted-root "$TR" --key "$W/cosign.pub" "$img" \
    -- verify "$img" --trusted-root "$TR" --key "$W/cosign.pub"
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -out "$W/other.pub" 2>/dev/null
  compare "$tag/wrong-key" FAIL "$C3" verify --trusted-root "$TR" --key "$W/other.pub" "$img" \
    -- verify "$img" --trusted-root "$TR" --key "$W/other.pub"
else signing_failed "$tag"; fi

# 5. registries with authentication: htpasswd basic and bearer tokens (docker config.json,
#    then the credential-helper variant for sigverify)
for reg in "$STACK_REG_BASIC" "$STACK_REG_TOKEN"; do
  tag=v3-auth-$( [ "$reg" = "$STACK_REG_BASIC" ] && echo basic || echo token); step "$tag"
  img=$(DOCKER_CONFIG=$STACK_DOCKER_CONFIG mkimage "$reg/$STACK_REG_USER/app:$tag" "$tag")
  if DOCKER_CONFIG=$STACK_DOCKER_CONFIG must "sign-$tag" "$C3" sign --identity-token "$("$STACK" token)" \
        --signing-config "$STACK_SIGNING_CONFIG_REKOR1" --trusted-root "$TR" "$img"; then
    DOCKER_CONFIG=$STACK_DOCKER_CONFIG compare "$tag" PASS "$C3" verify "${KEYLESS[@]}" "$img" -- verify "$img" "${KEYLESS[@]}"
    PATH=$STACK_HELPER_PATH:$PATH DOCKER_CONFIG=$STACK_DOCKER_CONFIG_HELPER \
      compare "$tag/cred-helper" PASS "$C3" verify "${KEYLESS[@]}" "$img" -- verify "$img" "${KEYLESS[@]}"
    DOCKER_CONFIG=$W/no-creds compare "$tag/no-credentials" FAIL "$C3" verify "${KEYLESS[@]}" "$img" -- verify "$img" "${KEYLESS[@]}"
  else signing_failed "$tag"; fi
done

# 6. blobs: the same bundle through every peer verifier (cosign verify-blob,
#    sigstore-go-verification, sigstore-python, sigverify verify-bundle)
multi() { # name expect bundle identity trust-config
  local name=$1 expect=$2 b=$3 id=$4 tc=$5 f=$W/${1//\//_} out="" v all="" rc
  local -a tools=(cosign sigstore-go sigstore-python sigverify)
  local -a cmds
  for t in "${tools[@]}"; do
    case $t in
      cosign) cmds=("$C3" verify-blob --trusted-root "$TR" --certificate-identity "$id" --certificate-oidc-issuer "$ISS" --bundle "$b" "$W/blob.txt") ;;
      sigstore-go) cmds=("$STACK_SGO_VERIFY" -trustedrootJSONpath "$TR" -expectedIssuer "$ISS" -expectedSAN "$id" -artifact "$W/blob.txt" "$b") ;;
      sigstore-python) cmds=("$STACK_SIGSTORE_PY" --trust-config "$tc" verify identity --offline --bundle "$b" --cert-identity "$id" --cert-oidc-issuer "$ISS" "$W/blob.txt") ;;
      sigverify) cmds=("${SV[@]}" verify-bundle --bundle "$b" --trusted-root "$TR" --certificate-identity "$id" --certificate-oidc-issuer "$ISS" "$W/blob.txt") ;;
    esac
    rc=0; "${cmds[@]}" >"$f.$t.out" 2>&1 || rc=$?
    v=$(verdict $rc); out="$out $t=$v"; all="$all $v"
    [ "$v" = "$expect" ] || { echo "---- $name: $t exit $rc"; echo "\$ ${cmds[*]}"; tail -n 15 "$f.$t.out"; } >> "$W/disagreements.txt"
  done
  local mark=agree
  if [ "$(printf '%s\n' $all | sort -u | wc -l)" != 1 ]; then mark=DISAGREE; DISAGREE=$((DISAGREE + 1)); else AGREE=$((AGREE + 1)); fi
  ROWS+=("$(printf '%-34s%s expected=%s %s' "$name" "$out" "$expect" "$mark")")
}
echo "sigverify smoke blob" > "$W/blob.txt"
for v in rekor1 rekor2; do
  tag=blob-$v; step "$tag"
  sc=STACK_SIGNING_CONFIG_${v^^}; tc=STACK_TRUST_CONFIG_${v^^}
  if must "sign-$tag" "$C3" sign-blob --identity-token "$("$STACK" token)" --signing-config "${!sc}" \
        --trusted-root "$TR" --bundle "$W/$tag.sigstore.json" "$W/blob.txt"; then
    multi "$tag" PASS "$W/$tag.sigstore.json" "$ID" "${!tc}"
    multi "$tag/wrong-identity" FAIL "$W/$tag.sigstore.json" "someone-else@sigverify.test" "${!tc}"
  else signing_failed "$tag"; fi
done

# 7. the TUF repository: cosign initialize from the stack's mirror, then sign with the
#    signing config and trusted root it serves (no --signing-config / --trusted-root)
tag=tuf; step "$tag"
img=$(mkimage "$STACK_REG_OLAREG/smoke/app:$tag" "$tag")
if TUF_ROOT=$W/tuf-client must tuf-initialize "$C3" initialize --mirror "$STACK_TUF_URL" --root "$STACK_TUF_ROOT" &&
   TUF_ROOT=$W/tuf-client must "sign-$tag" "$C3" sign --identity-token "$("$STACK" token)" "$img"; then
  TUF_ROOT=$W/tuf-client compare "$tag" PASS "$C3" verify --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" "$img" \
    -- verify "$img" "${KEYLESS[@]}"
else ROWS+=("$(printf '%-34s TUF initialize or signing failed (see %s)' "$tag" "$W")"); fi

echo
echo "smoke results ($(( $(date +%s) - T0 )) s; outputs in $W):"
printf '  %s\n' "${ROWS[@]}"
echo "smoke: ${AGREE} agree, ${DISAGREE} disagree"
[ -f "$W/disagreements.txt" ] && { echo; echo "details:"; cat "$W/disagreements.txt"; }
[ "$DISAGREE" = 0 ]
