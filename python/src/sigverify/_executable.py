"""Where the sigverify executable of this installation is."""

from __future__ import annotations

import os
import sysconfig

_NAME = "sigverify" + (sysconfig.get_config_var("EXE") or "")


def find_executable() -> str:
    """The sigverify executable installed with this package.

    The wheel carries it as a script (``sigverify-<version>.data/scripts/``), so
    pip puts it in the scripts directory of the environment it installs into:
    the virtual environment's or the system's ``bin/``, the user's
    (``pip install --user``), or ``<target>/bin`` (``pip install --target``).
    These are searched in that order, as ruff's ``find_ruff_bin`` does. PATH is
    not searched: the gate runs the verifier that came with it, not whatever
    ``sigverify`` is found first.

    Raises FileNotFoundError when there is none (a source install carries no
    executable: pass ``executable=`` to :func:`sigverify.verify_module`).
    """
    candidates = [os.path.join(sysconfig.get_path("scripts"), _NAME)]
    user_scheme = _user_scheme()
    if user_scheme is not None:
        candidates.append(os.path.join(sysconfig.get_path("scripts", scheme=user_scheme), _NAME))
    candidates.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", _NAME))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"no sigverify executable in {', '.join(candidates)}: install the platform wheel, or pass executable=")


def _user_scheme() -> str | None:
    if hasattr(sysconfig, "get_preferred_scheme"):  # Python 3.10+
        return sysconfig.get_preferred_scheme("user")
    return "posix_user" if os.name == "posix" else None
