"""The platform wheel: its contents, and a fresh virtual environment with nothing but it installed."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import stat
import subprocess
import venv
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from conftest import EXECUTABLE, REPO_ROOT

VERSION = next(line.split('"')[1] for line in (REPO_ROOT / "python" / "pyproject.toml").read_text().splitlines() if line.startswith("version = "))
DIST_INFO = f"sigverify-{VERSION}.dist-info"
SCRIPT = f"sigverify-{VERSION}.data/scripts/sigverify"


def test_wheel_is_tagged_for_glibc_2_28_x86_64(wheel: Path) -> None:
    assert wheel.name == f"sigverify-{VERSION}-py3-none-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel) as archive:
        tags = [line for line in archive.read(f"{DIST_INFO}/WHEEL").decode().splitlines() if line.startswith(("Tag:", "Root-Is-Purelib:"))]
    assert tags == ["Root-Is-Purelib: false", "Tag: py3-none-manylinux_2_28_x86_64"]


def test_record_lists_every_file_with_its_hash(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        rows = list(csv.reader(io.StringIO(archive.read(f"{DIST_INFO}/RECORD").decode())))
        assert sorted(row[0] for row in rows) == sorted(archive.namelist())
        for name, digest, size in rows:
            if name == f"{DIST_INFO}/RECORD":
                assert (digest, size) == ("", "")
                continue
            data = archive.read(name)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), name
            assert int(size) == len(data)


def test_wheel_carries_the_executable_license_and_changelog(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        script = archive.getinfo(SCRIPT)
        assert stat.S_IMODE(script.external_attr >> 16) == 0o755
        assert archive.read(SCRIPT) == EXECUTABLE.read_bytes()
        assert archive.read(f"{DIST_INFO}/licenses/LICENSE") == (REPO_ROOT / "LICENSE").read_bytes()
        assert archive.read(f"{DIST_INFO}/CHANGELOG.md") == (REPO_ROOT / "CHANGELOG.md").read_bytes()
        assert "License-File: LICENSE" in archive.read(f"{DIST_INFO}/METADATA").decode().splitlines()


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new virtual environment holding only the wheel (pip --no-index: nothing from the network)."""
    environment = tmp_path_factory.mktemp("venv")
    venv.create(environment, with_pip=True, clear=True)
    subprocess.run([environment / "bin" / "python", "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", wheel], check=True)
    yield environment


def _run(command: list[object], **kwargs: object) -> subprocess.CompletedProcess[str]:
    # No node anywhere: the environment's bin/ and nothing else on PATH.
    env = {"PATH": str(Path(str(command[0])).parent), "HOME": "/nonexistent", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env, check=False, **kwargs)  # type: ignore[call-overload]


def test_pip_install_puts_sigverify_in_the_environment(installed: Path) -> None:
    assert _run([installed / "bin" / "sigverify", "--version"]).stdout == f"sigverify {VERSION}\n"
    assert _run([installed / "bin" / "python", "-m", "sigverify", "--version"]).stdout == f"sigverify {VERSION}\n"


def test_the_installed_gate_verifies_the_fixture(installed: Path) -> None:
    code = "import sigverify; print(sigverify.find_executable()); print(sigverify.verify_module('examples/python/fixture-module.json', allow_test_trust_root_unsafe=True))"
    run = _run([installed / "bin" / "python", "-c", code], cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr
    found, reference = run.stdout.splitlines()
    assert os.path.samefile(found, installed / "bin" / "sigverify")
    assert reference.startswith("oci:fixtures/layout@sha256:")


def test_the_copy_paste_example_runs_offline(installed: Path) -> None:
    run = _run([installed / "bin" / "python", REPO_ROOT / "examples" / "python" / "gate.py"], cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("oci:fixtures/layout@sha256:")
    assert "verified" in run.stderr

