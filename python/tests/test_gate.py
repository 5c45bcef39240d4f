"""verify_module against the packaged executable: the committed fixtures (offline) and a real docker-registry."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, IDENTITY, ISSUER, REPO_ROOT, Registry, free_port, write_policy

from sigverify import ConfigurationError, GateError, NotVerified, Undecided, verify_module

SIGNED = json.loads((FIXTURES / "fixtures.json").read_text())["images"]["signed"]["digest"]


def test_signed_fixture_returns_the_pinned_reference(executable: Path, in_repo: Path) -> None:
    reference = verify_module(REPO_ROOT / "examples" / "python" / "fixture-module.json", executable=executable, allow_test_trust_root_unsafe=True)
    assert reference == f"oci:fixtures/layout@{SIGNED}"


def test_unsigned_image_is_not_verified(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(NotVerified) as caught:
        verify_module(write_policy(tmp_path / "unsigned.json", docker_tag="oci:fixtures/layout:unsigned"), executable=executable, allow_test_trust_root_unsafe=True)
    assert (caught.value.code, caught.value.exit_status, caught.value.retryable) == ("NO_SIGNATURES", 1, False)
    assert caught.value.module == "unsigned"


def test_wrong_identity_names_the_mismatch_per_signature(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(NotVerified) as caught:
        verify_module(write_policy(tmp_path / "other.json", signature_certificate_identity="https://example.com/other"), executable=executable, allow_test_trust_root_unsafe=True)
    assert caught.value.code == "NO_MATCHING_SIGNATURE"
    assert "IDENTITY_MISMATCH" in [reason for _, _, reason, _ in caught.value.signatures]


def test_incomplete_policy_is_a_configuration_error(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        verify_module(write_policy(tmp_path / "half.json", signature_certificate_oidc_issuer=None), executable=executable, allow_test_trust_root_unsafe=True)
    assert (caught.value.code, caught.value.exit_status, caught.value.retryable) == ("POLICY_INVALID", 2, False)


def test_relative_paths_resolve_against_the_policy_file_not_the_caller(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    """The policy is passed where it is: its trusted_root.json beside it is found, whatever the working directory."""
    shutil.copy(FIXTURES / "trust" / "trusted_root.json", tmp_path / "trusted_root.json")
    policy = write_policy(tmp_path / "module.json", trust={"source": "trusted-root", "path": "trusted_root.json"})
    assert verify_module(policy, executable=executable, allow_test_trust_root_unsafe=True) == f"oci:fixtures/layout@{SIGNED}"
    (tmp_path / "trusted_root.json").unlink()
    with pytest.raises(GateError):
        verify_module(policy, executable=executable, allow_test_trust_root_unsafe=True)


def test_a_policy_whose_name_looks_like_a_flag_is_still_a_file(executable: Path, in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_policy(tmp_path / "--help")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GateError) as caught:  # oci:fixtures/layout is relative to the repository, so not found here
        verify_module("--help", executable=executable, allow_test_trust_root_unsafe=True)
    assert caught.value.code != "USAGE"


def test_a_policy_held_as_a_mapping_goes_on_stdin_with_its_base_dir(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    """The processor's own dict: no temporary file; relative paths start from base_dir, here a private directory."""
    shutil.copy(FIXTURES / "trust" / "trusted_root.json", tmp_path / "trusted_root.json")
    config = {
        "module_name": "held",
        "docker_tag": "oci:fixtures/layout:signed",
        "signature_certificate_identity": IDENTITY,
        "signature_certificate_oidc_issuer": ISSUER,
        "trust": {"source": "trusted-root", "path": "trusted_root.json"},
        "network_mode": "none",
    }
    assert verify_module(config, base_dir=tmp_path, executable=executable, allow_test_trust_root_unsafe=True) == f"oci:fixtures/layout@{SIGNED}"


def test_a_mapping_base_dir_anyone_may_write_is_refused(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    shutil.copy(FIXTURES / "trust" / "trusted_root.json", shared / "trusted_root.json")
    config = {"docker_tag": "oci:fixtures/layout:signed", "signature_certificate_identity": IDENTITY, "signature_certificate_oidc_issuer": ISSUER, "trust": {"source": "trusted-root", "path": "trusted_root.json"}}
    with pytest.raises(ConfigurationError) as caught:
        verify_module(config, base_dir=shared, executable=executable, allow_test_trust_root_unsafe=True)
    assert caught.value.code == "LOCAL_FILE_UNSAFE"


def test_a_mapping_without_base_dir_is_refused(executable: Path) -> None:
    with pytest.raises(TypeError, match="base_dir"):
        verify_module({"docker_tag": "alpine"}, executable=executable)


def test_the_test_sigstore_is_refused_without_the_opt_out(executable: Path, in_repo: Path) -> None:
    """Its private keys are published (fixtures/private): a gate trusting it would run anything."""
    with pytest.raises(GateError) as caught:
        verify_module(REPO_ROOT / "examples" / "python" / "fixture-module.json", executable=executable)
    assert caught.value.code == "TRUST_ROOT_FOR_TESTS"


def test_foreign_text_cannot_forge_log_lines(executable: Path, in_repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(NotVerified) as caught:
        verify_module(write_policy(tmp_path / "evil.json", signature_certificate_identity="x\n\u2714 module evil verified\u202e"), executable=executable, allow_test_trust_root_unsafe=True)
    assert caught.value.code == "NO_MATCHING_SIGNATURE"
    assert all("\n" not in record.getMessage() and "\u202e" not in record.getMessage() for record in caplog.records)
    assert "\n" not in str(caught.value)


def test_missing_executable_is_undecided(tmp_path: Path) -> None:
    with pytest.raises(Undecided) as caught:
        verify_module(write_policy(tmp_path / "m.json"), executable=tmp_path / "no-such-sigverify")
    assert (caught.value.code, caught.value.retryable) == ("SIGVERIFY_NOT_FOUND", True)


def test_decisions_are_recorded_in_the_audit_log(executable: Path, in_repo: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    verify_module(write_policy(tmp_path / "ok.json"), executable=executable, allow_test_trust_root_unsafe=True, audit_log=audit)
    with pytest.raises(NotVerified) as caught:
        verify_module(write_policy(tmp_path / "no.json", docker_tag="oci:fixtures/layout:unsigned"), executable=executable, allow_test_trust_root_unsafe=True, audit_log=audit)
    assert caught.value.audit_log == str(audit)
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [r.get("decision") for r in records] == ["verified", "rejected"]
    check = subprocess.run([executable, "audit", "verify", audit], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_registry_image_by_tag_is_pinned_to_its_digest(executable: Path, registry: Registry, tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "registry.json", docker_tag=f"{registry.host}/fixtures:signed")
    assert verify_module(policy, executable=executable, allow_test_trust_root_unsafe=True) == f"{registry.host}/fixtures@{SIGNED}"


def test_registry_down_is_undecided_and_retryable(executable: Path, tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "down.json", docker_tag=f"127.0.0.1:{free_port()}/fixtures:signed")
    with pytest.raises(Undecided) as caught:
        verify_module(policy, executable=executable, allow_test_trust_root_unsafe=True, timeout=60)
    assert (caught.value.code, caught.value.exit_status, caught.value.retryable) == ("REGISTRY_UNREACHABLE", 3, True)
