"""The processor gate: ``sigverify check-module FILE --output json``, as a function.

The module's policy is the file the processor keeps it in, passed by its path:
sigverify resolves relative paths in it (``signature_public_key_file``,
``trust.path``, ...) against that file's directory, so the policy is never
copied anywhere else, least of all to a temporary directory, where those paths
would resolve against whatever an attacker put beside the copy.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from typing import Any, Mapping, Sequence, Union

from ._executable import find_executable

log = logging.getLogger("sigverify")

#: sigverify's exit codes (README, "Exit codes").
VERIFIED = 0
NOT_VERIFIED = 1
CONFIGURATION_ERROR = 2
UNDECIDED = 3

#: How long one ``check-module`` run may take, in seconds (registry retries included).
DEFAULT_TIMEOUT = 120.0

_PINNED = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_STDERR_LOGGED = 4000

#: Characters a foreign string (from a registry, a bundle, a certificate, via
#: sigverify's output) must not carry into a log line: C0 and C1 controls, DEL,
#: line and paragraph separators, bidi controls, zero-width characters, the BOM
#: and unpaired surrogates; sigverify's own rule (src/text/quote.ts).
_UNSAFE = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_MAX_QUOTED = 400


def _quote(value: object) -> str:
    """A foreign string made safe for one log line: it can neither start a line of its own nor drive a terminal."""
    text = value if isinstance(value, str) else str(value)
    shown = _UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group(0)), text[:_MAX_QUOTED])
    return shown if len(text) <= _MAX_QUOTED else f"{shown}... (+{len(text) - _MAX_QUOTED} chars)"

PathLike = Union[str, "os.PathLike[str]"]
#: The executable, or a command as a list (``["node", "/opt/sigverify/dist/cli/bin.js"]``).
Command = Union[PathLike, Sequence[str]]


class GateError(Exception):
    """The module may not run.

    ``code``: sigverify's error code (``NO_SIGNATURES``, ``NO_MATCHING_SIGNATURE``,
    ``POLICY_INVALID``, ``REGISTRY_UNREACHABLE``, ...; ``USAGE`` for bad flags),
    or one of this package's own when sigverify gave no verdict, all
    :class:`Undecided`: ``SIGVERIFY_NOT_FOUND``, ``SIGVERIFY_TIMEOUT``,
    ``SIGVERIFY_FAILED`` (not runnable, or a crash: no JSON verdict),
    ``SIGVERIFY_OUTPUT_INVALID`` (exit 0 without a pinned reference).
    ``reason``: sigverify's message. ``exit_status``: 1, 2 or 3.
    ``retryable``: whether the same call may succeed later (exit 3 only).
    ``audit_log``: the audit trail the decision was recorded in, if one was given.
    ``signatures``: per signature examined, ``(origin, outcome, reason code, message)``.
    ``stderr``: what sigverify wrote to stderr.
    """

    exit_status = UNDECIDED

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        module: str | None = None,
        audit_log: str | None = None,
        signatures: Sequence[tuple[str, str, str, str]] = (),
        stderr: str = "",
    ) -> None:
        self.code = code
        self.reason = reason
        self.module = module
        self.audit_log = audit_log
        self.signatures = tuple(signatures)
        self.stderr = stderr
        super().__init__(f"module {_quote(module or '(unnamed)')} may not run: [{_quote(code)}] {_quote(reason)} (exit status {self.exit_status})")

    @property
    def retryable(self) -> bool:
        """True when no decision was reached (exit 3): the same call may succeed later."""
        return self.exit_status == UNDECIDED


class NotVerified(GateError):
    """Exit 1: no signature, none matching the policy, image not found. Never retry; investigate."""

    exit_status = NOT_VERIFIED


class ConfigurationError(GateError):
    """Exit 2: invalid module policy, unreadable key, bad flags. Fix the configuration."""

    exit_status = CONFIGURATION_ERROR


class Undecided(GateError):
    """Exit 3: registry or trust root unavailable, audit trail not writable, sigverify missing or timed out."""

    exit_status = UNDECIDED


_BY_STATUS = {NOT_VERIFIED: NotVerified, CONFIGURATION_ERROR: ConfigurationError, UNDECIDED: Undecided}


def verify_module(
    config: Union[PathLike, Mapping[str, Any]],
    *,
    base_dir: PathLike | None = None,
    audit_log: PathLike | None = None,
    cache_dir: PathLike | None = None,
    cache_ttl: float | None = None,
    trusted_root: PathLike | None = None,
    allow_http_registry: bool = False,
    allow_test_trust_root_unsafe: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    executable: Command | None = None,
) -> str:
    """Verifies a module's image; returns the digest-pinned reference to run, or raises :class:`GateError`.

    ``config``: the path of the module's policy file (JSON: ``docker_tag``,
    ``require_signature``, ``signature_...``, ``trust``, and the processor's own
    members, which sigverify ignores), whose relative paths are taken from its
    directory; or the policy itself, as the processor holds it (a mapping), with
    ``base_dir``, the directory its relative paths start from. A mapping goes to
    sigverify on stdin, never through a temporary file; sigverify refuses a
    ``base_dir`` anyone may write.
    ``audit_log`` / ``cache_dir`` / ``cache_ttl`` / ``trusted_root`` /
    ``allow_http_registry`` / ``allow_test_trust_root_unsafe``: the
    ``check-module`` flags of the same names (the last accepts sigverify's own
    test Sigstore, whose private keys are public: for the fixtures only).
    ``executable``: default, the executable installed with this package
    (:func:`sigverify.find_executable`); never run through a shell.
    """
    stdin: bytes | None = None
    if isinstance(config, Mapping):
        if base_dir is None:
            raise TypeError("a policy given as a mapping needs base_dir, the directory its relative paths start from")
        stdin = json.dumps(dict(config)).encode("utf-8")
        policy = "-"
        module = str(config.get("module_name") or config.get("docker_tag") or "(unnamed)")
    else:
        policy = os.path.abspath(os.fspath(config))  # absolute: never taken for a flag, whatever its name
        module = os.path.basename(policy)
    audit = None if audit_log is None else os.fspath(audit_log)

    def failed(status: int, code: str, reason: str, stderr: str = "", signatures: Sequence[tuple[str, str, str, str]] = (), *, verdict: bool = False) -> GateError:
        error = _BY_STATUS[status](code, reason, module=module, audit_log=audit, signatures=signatures, stderr=stderr)
        _log_refusal(error, verdict=verdict)
        return error

    try:
        command = _command(executable)
    except FileNotFoundError as error:
        raise failed(UNDECIDED, "SIGVERIFY_NOT_FOUND", str(error)) from error
    argv = [*command, "check-module", policy, "--output=json"]
    if stdin is not None:
        argv.append(f"--base-dir={os.path.abspath(os.fspath(base_dir))}")
    if audit is not None:
        argv.append(f"--audit-log={audit}")
    if cache_dir is not None:
        argv.append(f"--result-cache={os.fspath(cache_dir)}")
    if cache_ttl is not None:
        argv.append(f"--result-cache-ttl={cache_ttl:g}")
    if trusted_root is not None:
        argv.append(f"--trusted-root={os.fspath(trusted_root)}")
    if allow_http_registry:
        argv.append("--allow-http-registry")
    if allow_test_trust_root_unsafe:
        argv.append("--allow-test-trust-root-unsafe")
    log.debug("running %s", argv)
    try:
        completed = subprocess.run(argv, input=stdin if stdin is not None else b"", capture_output=True, timeout=timeout, check=False)
    except OSError as error:  # not installed, not executable
        code = "SIGVERIFY_NOT_FOUND" if isinstance(error, FileNotFoundError) else "SIGVERIFY_FAILED"
        raise failed(UNDECIDED, code, f"cannot run {command[0]}: {error.strerror or error}") from error
    except subprocess.TimeoutExpired as error:
        raise failed(UNDECIDED, "SIGVERIFY_TIMEOUT", f"sigverify check-module gave no answer within {timeout:g} s", _text(error.stderr)) from error

    run = subprocess.CompletedProcess(completed.args, completed.returncode, _text(completed.stdout), _text(completed.stderr))
    document = _json_object(run.stdout)
    if document is not None and isinstance(document.get("module"), str):
        module = document["module"]  # the policy's module_name, as the audit trail records it
    if run.returncode == VERIFIED:
        reference = document.get("reference") if document is not None else None
        if not isinstance(reference, str) or _PINNED.match(reference) is None:
            # Fail closed: exit 0 without a pinned reference is no permission to run anything.
            raise failed(UNDECIDED, "SIGVERIFY_OUTPUT_INVALID", "sigverify exited 0 without a pinned reference on stdout", run.stderr)
        for line in run.stderr.splitlines():
            if line.startswith("warning:"):  # e.g. an unusable cache directory: verified all the same
                log.warning("sigverify %s", _quote(line))
        _log_pass(module, reference, document or {})
        return reference

    error = document.get("error") if document is not None else None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and run.returncode in _BY_STATUS:
        raise failed(run.returncode, error["code"], str(error.get("message", "")), run.stderr, _signatures(document), verdict=True)
    # No JSON verdict: a usage error (bad flags, reported on stderr only), or a crash or signal,
    # which is no decision about the image.
    reason = _last_line(run.stderr) or f"sigverify exited with status {run.returncode}"
    if run.returncode == CONFIGURATION_ERROR:
        raise failed(CONFIGURATION_ERROR, "USAGE", reason, run.stderr)
    raise failed(UNDECIDED, "SIGVERIFY_FAILED", reason, run.stderr)


def _command(executable: Command | None) -> list[str]:
    if executable is None:
        return [find_executable()]
    if isinstance(executable, (str, os.PathLike)):
        return [os.fspath(executable)]
    command = [os.fspath(part) for part in executable]
    if not command:
        raise ValueError("executable: empty command")
    return command


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _signatures(document: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    result = document.get("result") if document is not None else None
    signatures = result.get("signatures") if isinstance(result, dict) else None
    rows = []
    for s in signatures if isinstance(signatures, list) else []:
        if isinstance(s, dict):
            reason = s.get("reason") if isinstance(s.get("reason"), dict) else {}
            rows.append((str(s.get("origin", "")), str(s.get("outcome", "")), str(reason.get("code", "")), str(reason.get("message", ""))))
    return rows


def _log_refusal(error: GateError, *, verdict: bool) -> None:
    """``verdict``: sigverify gave a JSON verdict, so its stderr only repeats it."""
    what = {NOT_VERIFIED: "NOT VERIFIED", CONFIGURATION_ERROR: "configuration error", UNDECIDED: "could not decide"}[error.exit_status]
    log.error("module %s may NOT run (%s): [%s] %s", _quote(error.module), what, _quote(error.code), _quote(error.reason))
    for origin, outcome, reason_code, message in error.signatures:
        log.error("  signature %s: %s %s %s", _quote(origin), _quote(outcome), _quote(reason_code), _quote(message))
    if error.stderr.strip():
        for line in error.stderr.strip()[-_STDERR_LOGGED:].splitlines():
            log.log(logging.DEBUG if verdict else logging.ERROR, "sigverify stderr: %s", _quote(line))


def _log_pass(module: str, reference: str, document: dict[str, Any]) -> None:
    if document.get("decision") == "signature-not-required":
        log.warning("module %s: require_signature is false: running %s WITHOUT signature verification", _quote(module), reference)
        return
    result = document.get("result") if isinstance(document.get("result"), dict) else {}
    signers = [
        "the configured public key" if s.get("publicKey") else f"{_quote(s.get('identity'))} (issuer {_quote(s.get('issuer'))})"
        for s in result.get("signatures", [])
        if isinstance(s, dict) and s.get("outcome") == "verified" and "duplicateOf" not in s
    ]
    log.info("module %s verified%s: run %s; signed by %s", _quote(module), " (cached)" if document.get("cached") else "", reference, ", ".join(signers) or "?")


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith('Run "sigverify')]
    return lines[-1].strip() if lines else ""
