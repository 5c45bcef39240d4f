"""Gate container images on their Sigstore/cosign signatures with sigverify.

::

    from sigverify import GateError, verify_module

    reference = verify_module("/etc/router/modules/brain-seg.json", audit_log="/var/log/router/sigverify-audit.jsonl")
    subprocess.run(["docker", "run", "--rm", "--network", "none", reference], check=True)

``verify_module`` returns the digest-pinned reference (``repo@sha256:...``) of
the image sigverify verified: run that, never the tag. Otherwise it raises
:class:`NotVerified` (exit 1), :class:`ConfigurationError` (exit 2) or
:class:`Undecided` (exit 3, ``retryable``), all :class:`GateError`.
"""

from ._executable import find_executable
from ._gate import (
    CONFIGURATION_ERROR,
    DEFAULT_TIMEOUT,
    NOT_VERIFIED,
    UNDECIDED,
    VERIFIED,
    ConfigurationError,
    GateError,
    NotVerified,
    Undecided,
    verify_module,
)

__all__ = [
    "CONFIGURATION_ERROR",
    "DEFAULT_TIMEOUT",
    "NOT_VERIFIED",
    "UNDECIDED",
    "VERIFIED",
    "ConfigurationError",
    "GateError",
    "NotVerified",
    "Undecided",
    "find_executable",
    "verify_module",
]
