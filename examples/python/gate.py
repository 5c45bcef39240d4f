"""Gate a module on its signature with the sigverify package, offline, on the committed fixtures.

    pip install dist-py/sigverify-*.whl      # or: pip install sigverify-<version>-...whl
    python3 examples/python/gate.py          # from the repository root

prints the digest-pinned reference to run on stdout (exit 0), or the reason it
may not run (exit 1, 2 or 3, as sigverify's). A processor does the same with
its own module policy file and runs ``docker run ... <reference>``.
"""

import logging
import sys

from sigverify import GateError, verify_module

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

# The policy file itself, never a copy: its relative paths (here the trusted
# root) are taken from its own directory. The image, oci:fixtures/layout, is
# taken from the working directory: run this from the repository root.
POLICY = "examples/python/fixture-module.json"

try:
    # The fixtures are signed by sigverify's own test Sigstore, whose private keys are
    # published: a real processor never passes allow_test_trust_root_unsafe.
    reference = verify_module(POLICY, audit_log=sys.argv[1] if len(sys.argv) > 1 else None, allow_test_trust_root_unsafe=True)
except GateError as error:
    print(f"may not run: [{error.code}] {error.reason} (retry can help: {error.retryable})", file=sys.stderr)
    sys.exit(error.exit_status)
print(reference)
