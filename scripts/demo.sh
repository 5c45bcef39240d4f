#!/bin/sh
# The main job on the committed fixtures, fully offline: verify a signed image
# (passes, exit 0), then an unsigned one and a wrong identity (fail, exit 1).
# Run through `npm run demo`, which builds first and puts Node 24 on PATH.
set -u
cd "$(dirname "$0")/.."
SIGVERIFY="node dist/cli/bin.js"
IDENTITY='https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0'
ISSUER='https://token.actions.githubusercontent.com'
ROOT=fixtures/trust/trusted_root.json

run() {
  expected=$1; shift
  echo "\$ sigverify $*"
  $SIGVERIFY "$@"
  code=$?
  echo "exit $code (expected $expected)"
  echo
  [ "$code" -eq "$expected" ] || { echo "demo: unexpected exit code" >&2; exit 1; }
}

run 0 verify oci:fixtures/layout:signed --certificate-identity "$IDENTITY" --certificate-oidc-issuer "$ISSUER" --trusted-root "$ROOT"
run 1 verify oci:fixtures/layout:unsigned --certificate-identity "$IDENTITY" --certificate-oidc-issuer "$ISSUER" --trusted-root "$ROOT"
run 1 verify oci:fixtures/layout:signed --certificate-identity 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/heads/main' --certificate-oidc-issuer "$ISSUER" --trusted-root "$ROOT"
echo "demo: all outcomes as expected"
