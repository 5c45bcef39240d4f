"""``python -m sigverify ARGS``: runs the executable this package installed, with ARGS."""

import os
import sys

from ._executable import find_executable


def main() -> None:
    executable = find_executable()
    os.execv(executable, [executable, *sys.argv[1:]])


if __name__ == "__main__":
    main()
