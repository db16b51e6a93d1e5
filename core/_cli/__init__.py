"""What the ``ember`` commands share: one-line usage errors and device-argument checks.

A bad argument (unknown device, a backend that is not available, an unwritable folder, a
missing optional dependency) ends the command with ONE line on stderr and exit status 2,
never a traceback. Imported only by ``ember.__main__`` and the command modules.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["UsageError", "Parser", "check_device", "check_out_dir"]


class UsageError(Exception):
    """A bad command-line argument; ``ember.__main__`` prints it as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse's default prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def check_device(spec: str):
    """The canonical device ``spec`` names (its backend attached as ``._be``), placed once so
    that an unknown type, a bad index or an unavailable backend is reported now, in the
    registry's words."""
    import ember
    try:
        return ember.empty(0, device=ember.device(spec)).device
    except (RuntimeError, ValueError, TypeError) as e:
        raise UsageError(f"--device {spec}: {e}") from None


def check_out_dir(path: str) -> str:
    """Create ``path`` if needed and prove a file can be written there."""
    import os
    import tempfile
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise UsageError(f"--out {path}: cannot write there ({e.strerror or e})") from None
    return path


def report(prog: str, err: UsageError) -> int:
    print(f"{prog}: error: {err}", file=sys.stderr)
    return 2
