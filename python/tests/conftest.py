"""Shared fixtures: the packaged executable and wheel, and Debian's docker-registry with the fixture images.

The packages are what ``npm run package`` writes (dist-bin/, dist-py/); without
them the tests are skipped with the reason shown (``-ra``), except in CI
(CI=true), where ``.ci/run`` packages first and a missing package is an error.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "fixtures"
EXECUTABLE = REPO_ROOT / "dist-bin" / "sigverify-linux-x64"
IDENTITY = "https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0"
ISSUER = "https://token.actions.githubusercontent.com"
REGISTRY_BIN = os.environ.get("DOCKER_REGISTRY_BIN") or "/usr/bin/docker-registry"


def _need(path: Path | None, what: str) -> Path:
    if path is not None and path.exists():
        return path
    message = f"{what} is not built: run npm run package"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (.ci/run packages before it tests)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def executable() -> Path:
    return _need(EXECUTABLE, "dist-bin/sigverify-linux-x64")


@pytest.fixture(scope="session")
def wheel() -> Path:
    wheels = sorted(glob.glob(str(REPO_ROOT / "dist-py" / "sigverify-*.whl")))
    return _need(Path(wheels[-1]) if wheels else None, "dist-py/sigverify-*.whl")


@pytest.fixture()
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory for policies that name ``oci:fixtures/layout`` (sigverify takes oci: paths from it)."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


def write_policy(path: Path, **members: object) -> Path:
    """A module policy for the fixture images, keyless against the test Sigstore, with ``members`` replacing its defaults."""
    policy = {
        "module_name": path.stem,
        "docker_tag": "oci:fixtures/layout:signed",
        "require_signature": True,
        "signature_certificate_identity": IDENTITY,
        "signature_certificate_oidc_issuer": ISSUER,
        "trust": {"source": "trusted-root", "path": str(FIXTURES / "trust" / "trusted_root.json")},
    }
    policy.update(members)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in policy.items() if v is not None}), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """Debian's docker-registry on a random loopback port, storage in a fresh directory (as test/helpers/registry does)."""

    def __init__(self) -> None:
        if not os.access(REGISTRY_BIN, os.X_OK):
            pytest.skip(f"{REGISTRY_BIN} not found: apt-get install docker-registry")
        self._dir = tempfile.TemporaryDirectory(prefix="sigverify-registry-")
        self.host = f"127.0.0.1:{free_port()}"
        instance = secrets.token_hex(16)
        config = Path(self._dir.name) / "config.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(Path(self._dir.name) / "storage")}},
            "http": {"addr": self.host, "secret": secrets.token_hex(16), "headers": {"X-Sigverify-Test-Registry": [instance]}},
            "health": {"storagedriver": {"enabled": False}},
        }))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self._process = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1) as response:
                    if response.headers.get("X-Sigverify-Test-Registry") == instance:
                        return
            except OSError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"docker-registry did not start on {self.host}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
        self._dir.cleanup()

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> urllib.request.addinfourl:
        url = path if path.startswith("http") else f"http://{self.host}{path}"
        request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type} if content_type else {})
        return urllib.request.urlopen(request, timeout=10)

    def push_blob(self, repository: str, data: bytes) -> None:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._request("POST", f"/v2/{repository}/blobs/uploads/") as started:
            location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        self._request("PUT", f"{location}{separator}digest={digest}", data, "application/octet-stream").close()

    def push_layout(self, repository: str, layout: Path) -> None:
        """Every tagged manifest of an OCI image layout, with what it references (distribution-spec, "Push")."""

        def blob(digest: str) -> bytes:
            return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

        def push_manifest(descriptor: dict, reference: str) -> None:
            data = blob(descriptor["digest"])
            manifest = json.loads(data)
            for child in manifest.get("manifests", []):
                push_manifest(child, child["digest"])
            for referenced in [manifest.get("config"), *manifest.get("layers", [])]:
                if referenced is not None:
                    self.push_blob(repository, blob(referenced["digest"]))
            self._request("PUT", f"/v2/{repository}/manifests/{reference}", data, descriptor["mediaType"]).close()

        index = json.loads((layout / "index.json").read_text())
        for descriptor in index["manifests"]:
            tag = descriptor.get("annotations", {}).get("org.opencontainers.image.ref.name")
            if tag is not None:
                push_manifest(descriptor, tag)


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    running = Registry()
    try:
        running.push_layout("fixtures", FIXTURES / "layout")
        yield running
    finally:
        running.stop()
