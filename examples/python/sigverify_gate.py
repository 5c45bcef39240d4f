"""Gate a processor module on its cosign signature with ``sigverify check-module``.

A drop-in for a processor's ``subprocess.run(["cosign", "verify", ...])`` call
(Python standard library only, Python 3.8 or later)::

    from sigverify_gate import ModuleVerificationError, verify_module

    reference = verify_module(module_config, audit_log="/var/log/router/sigverify-audit.jsonl")
    subprocess.run(["docker", "run", "--rm", "--network", "none", reference], check=True)

``verify_module`` returns the digest-pinned reference (``repo@sha256:...``) of
the image sigverify verified: run that, never the tag, which may have moved
since. On any other outcome it raises :class:`ModuleVerificationError`, and the
module must not run. Its ``exit_status`` is sigverify's exit code:

* 1: not verified (no signature, none matching the policy, image not found):
  abort, and investigate (docs/signing.md, "Incident response");
* 2: configuration error (invalid module policy, unreadable key, bad flags):
  fix the module configuration;
* 3: could not decide (registry or trust root unavailable, audit trail not
  writable, sigverify not installed, timed out): do not run; may be retried.

Command line: ``python3 sigverify_gate.py module.json`` prints the pinned
reference and exits with sigverify's exit code.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import subprocess
import sys
from typing import Any, Mapping, Sequence, Union

__all__ = ["ModuleVerificationError", "verify_module", "NOT_VERIFIED", "CONFIGURATION_ERROR", "UNDECIDED"]

log = logging.getLogger("sigverify_gate")

#: sigverify exit codes (README, "Exit codes").
VERIFIED = 0
NOT_VERIFIED = 1
CONFIGURATION_ERROR = 2
UNDECIDED = 3

#: How long one ``check-module`` run may take, in seconds (registry retries included).
DEFAULT_TIMEOUT = 120.0

_PINNED = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_STDERR_LOGGED = 4000

Command = Union[str, Sequence[str]]


class ModuleVerificationError(Exception):
    """The module may not run.

    ``code``: sigverify's error code (``NO_SIGNATURES``, ``NO_MATCHING_SIGNATURE``,
    ``POLICY_INVALID``, ``REGISTRY_UNREACHABLE``, ...; ``USAGE`` for bad flags),
    or one of this module's own when sigverify gave no verdict, all exit 3:
    ``SIGVERIFY_NOT_FOUND``, ``SIGVERIFY_TIMEOUT``, ``SIGVERIFY_FAILED`` (not
    runnable, or a crash: no JSON verdict), ``SIGVERIFY_OUTPUT_INVALID`` (exit 0
    without a pinned reference).
    ``reason``: sigverify's message. ``exit_status``: 1, 2 or 3, as above.
    ``signatures``: per signature examined, ``(origin, outcome, reason code,
    reason message)``. ``stderr``: what sigverify wrote to stderr.
    """

    def __init__(
        self,
        code: str,
        reason: str,
        exit_status: int,
        *,
        module: str | None = None,
        signatures: Sequence[tuple[str, str, str, str]] = (),
        stderr: str = "",
    ) -> None:
        self.code = code
        self.reason = reason
        self.exit_status = exit_status
        self.module = module
        self.signatures = tuple(signatures)
        self.stderr = stderr
        super().__init__(f"module {module or '(unnamed)'} may not run: [{code}] {reason} (exit status {exit_status})")

    @property
    def retryable(self) -> bool:
        """True when no decision was reached (exit 3): the same call may succeed later."""
        return self.exit_status == UNDECIDED


def verify_module(
    module_config: Mapping[str, Any],
    *,
    sigverify: Command = "sigverify",
    audit_log: str | None = None,
    cache_dir: str | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    base_dir: str | None = None,
) -> str:
    """Verifies a module's image; returns the pinned reference to run, or raises ModuleVerificationError.

    ``module_config``: the module's configuration as the processor holds it
    (``docker_tag``, ``require_signature``, ``signature_...``, ``trust``, and
    the processor's own members, which sigverify ignores).
    ``sigverify``: the executable, or a command as a list
    (``["node", "/opt/sigverify/dist/cli/bin.js"]``); never run through a shell.
    ``audit_log`` / ``cache_dir``: sigverify's ``--audit-log`` / ``--cache-dir``.
    ``extra_args``: more ``check-module`` flags (``--cache-ttl``, ``--trusted-root``, ...).
    ``base_dir``: relative file paths in the configuration are taken from here
    (default: the working directory).
    """
    module = str(module_config.get("module_name") or module_config.get("docker_tag") or "(unnamed)")
    command = [sigverify] if isinstance(sigverify, str) else list(sigverify)
    if not command:
        raise ValueError("sigverify: empty command")
    # The policy goes to sigverify on stdin, never through a temporary file, with the
    # directory its relative paths start from named explicitly (never a temporary one).
    policy = json.dumps(dict(module_config)).encode("utf-8")
    argv = [*command, "check-module", "-", "--base-dir", os.path.abspath(base_dir or os.getcwd()), "--output", "json"]
    if audit_log is not None:
        argv += ["--audit-log", audit_log]
    if cache_dir is not None:
        argv += ["--cache-dir", cache_dir]
    argv += list(extra_args)
    log.debug("running %s", _quote(shlex.join(argv)))
    try:
        completed = subprocess.run(argv, input=policy, capture_output=True, timeout=timeout, check=False)
    except OSError as error:  # not installed, not executable
        code = "SIGVERIFY_NOT_FOUND" if isinstance(error, FileNotFoundError) else "SIGVERIFY_FAILED"
        raise _failed(module, code, f"cannot run {command[0]}: {error.strerror or error}", UNDECIDED) from error
    except subprocess.TimeoutExpired as error:
        raise _failed(module, "SIGVERIFY_TIMEOUT", f"sigverify check-module gave no answer within {timeout:g} s", UNDECIDED, _text(error.stderr)) from error
    run = subprocess.CompletedProcess(completed.args, completed.returncode, _text(completed.stdout), _text(completed.stderr))

    document = _json_object(run.stdout)
    if run.returncode == VERIFIED:
        reference = document.get("reference") if document is not None else None
        if not isinstance(reference, str) or _PINNED.match(reference) is None:
            # Fail closed: exit 0 without a pinned reference is no permission to run anything.
            raise _failed(module, "SIGVERIFY_OUTPUT_INVALID", "sigverify exited 0 without a pinned reference on stdout", UNDECIDED, run.stderr)
        for line in run.stderr.splitlines():
            if line.startswith("warning:"):  # e.g. an unusable cache directory: verified all the same
                log.warning("sigverify %s", _quote(line))
        _log_pass(module, reference, document or {})
        return reference

    error = document.get("error") if document is not None else None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and run.returncode in (NOT_VERIFIED, CONFIGURATION_ERROR, UNDECIDED):
        raise _failed(module, error["code"], str(error.get("message", "")), run.returncode, run.stderr, _signatures(document), verdict=True)
    # No JSON verdict: a usage error (bad flags, reported on stderr only), or a crash or signal,
    # which is no decision about the image (Node exits 1 on an uncaught exception).
    reason = _last_line(run.stderr) or f"sigverify exited with status {run.returncode}"
    if run.returncode == CONFIGURATION_ERROR:
        raise _failed(module, "USAGE", reason, CONFIGURATION_ERROR, run.stderr)
    raise _failed(module, "SIGVERIFY_FAILED", reason, UNDECIDED, run.stderr)


#: Characters a foreign string must not carry into a log line: C0 and C1 controls, DEL,
#: line and paragraph separators, bidi controls, zero-width characters, the BOM, and
#: unpaired surrogates (sigverify's own rule, src/text/quote.ts).
_UNSAFE = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_MAX_QUOTED = 400


def _quote(value: object) -> str:
    """A foreign string (from sigverify's output, hence from a registry or a bundle) made safe for one log line."""
    text = value if isinstance(value, str) else str(value)
    shown = text[:_MAX_QUOTED]
    escaped = _UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group(0)), shown)
    return escaped if len(text) <= _MAX_QUOTED else f"{escaped}... (+{len(text) - _MAX_QUOTED} chars)"


def _json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _signatures(document: dict | None) -> list[tuple[str, str, str, str]]:
    result = document.get("result") if document is not None else None
    signatures = result.get("signatures") if isinstance(result, dict) else None
    rows = []
    for s in signatures if isinstance(signatures, list) else []:
        if isinstance(s, dict):
            reason = s.get("reason") if isinstance(s.get("reason"), dict) else {}
            rows.append((str(s.get("origin", "")), str(s.get("outcome", "")), str(reason.get("code", "")), str(reason.get("message", ""))))
    return rows


def _failed(
    module: str,
    code: str,
    reason: str,
    exit_status: int,
    stderr: str = "",
    signatures: Sequence[tuple[str, str, str, str]] = (),
    *,
    verdict: bool = False,
) -> ModuleVerificationError:
    """The error to raise, logged. ``verdict``: sigverify gave a JSON verdict, so its stderr only repeats it."""
    error = ModuleVerificationError(code, reason, exit_status, module=module, signatures=signatures, stderr=stderr)
    what = {NOT_VERIFIED: "NOT VERIFIED", CONFIGURATION_ERROR: "configuration error", UNDECIDED: "could not decide"}[exit_status]
    log.error("module %s may NOT run (%s): [%s] %s", _quote(module), what, _quote(code), _quote(reason))
    for origin, outcome, reason_code, message in error.signatures:
        log.error("  signature %s: %s %s %s", _quote(origin), _quote(outcome), _quote(reason_code), _quote(message))
    if stderr.strip():
        # One log record per stderr line, each quoted: no line of this log starts with text the gate did not write.
        for line in stderr.strip()[-_STDERR_LOGGED:].splitlines():
            log.log(logging.DEBUG if verdict else logging.ERROR, "sigverify stderr: %s", _quote(line))
    return error


def _log_pass(module: str, reference: str, document: dict) -> None:
    if document.get("decision") == "signature-not-required":
        log.warning("module %s: require_signature is false: running %s WITHOUT signature verification", _quote(module), _quote(reference))
        return
    result = document.get("result") if isinstance(document.get("result"), dict) else {}
    signers = [
        "the configured public key" if s.get("publicKey") else f"{_quote(s.get('identity'))} (issuer {_quote(s.get('issuer'))})"
        for s in result.get("signatures", [])
        if isinstance(s, dict) and s.get("outcome") == "verified" and "duplicateOf" not in s
    ]
    log.info("module %s verified%s: run %s; signed by %s", _quote(module), " (cached)" if document.get("cached") else "", _quote(reference), ", ".join(signers) or "?")


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("Run \"sigverify")]
    return lines[-1].strip() if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a module's image with sigverify check-module; print the pinned reference to run.")
    parser.add_argument("module", help="module configuration (JSON); relative paths in it are relative to its directory")
    parser.add_argument("--sigverify", default=os.environ.get("SIGVERIFY", "sigverify"), help="sigverify command, split like a shell would (default $SIGVERIFY, else sigverify)")
    parser.add_argument("--audit-log", help="append the decision to this audit trail (JSON Lines)")
    parser.add_argument("--cache-dir", help="reuse decisions cached in this directory")
    parser.add_argument("--cache-ttl", help="cache entries live this many seconds (with --cache-dir)")
    parser.add_argument("--trusted-root", help="pinned trusted_root.json for every module (overrides the module's trust)")
    parser.add_argument("--allow-http-registry", action="store_true", help="permit plain HTTP to non-loopback registries")
    parser.add_argument("--allow-test-trust-root-unsafe", action="store_true", help="accept sigverify's own test trust root (fixtures only: its private keys are published)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds (default %(default)g)")
    args = parser.parse_args(argv)
    extra = [*(["--cache-ttl", args.cache_ttl] if args.cache_ttl is not None else []),
             *(["--trusted-root", args.trusted_root] if args.trusted_root is not None else []),
             *(["--allow-http-registry"] if args.allow_http_registry else []),
             *(["--allow-test-trust-root-unsafe"] if args.allow_test_trust_root_unsafe else [])]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        with open(args.module, encoding="utf-8") as file:
            config = json.load(file)
    except (OSError, ValueError) as error:
        log.error("cannot read module configuration %s: %s", _quote(args.module), _quote(error))
        return CONFIGURATION_ERROR
    if not isinstance(config, dict):
        log.error("module configuration %s is not a JSON object", _quote(args.module))
        return CONFIGURATION_ERROR
    try:
        reference = verify_module(
            config,
            sigverify=shlex.split(args.sigverify),
            audit_log=args.audit_log,
            cache_dir=args.cache_dir,
            extra_args=extra,
            timeout=args.timeout,
            base_dir=os.path.dirname(os.path.abspath(args.module)),
        )
    except ModuleVerificationError as error:
        return error.exit_status
    print(reference)
    return VERIFIED


if __name__ == "__main__":
    sys.exit(main())
