"""``python -m ember <command>`` (also the ``ember`` console script).

Commands are subparsers; each is a ``_cmd_<name>(args) -> int`` function registered in
:func:`_parser`, so a new command is one function and one ``add_parser`` call.

- ``info``: every backend (device types, version, available or why not), which backend
  serves each device type, and the Python / numpy versions.
- ``demo``: train and test a CNN on scikit-learn's digits (``ember._cli.demo``).
- ``run``: run an unmodified PyTorch script with ``torch`` mapped to ember (``ember._cli.run``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

__all__ = ["main"]


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    """Left-aligned plain-text columns (the reason column may be long; it goes last)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    widths.append(len(header[-1]))
    lines = []
    for r in [header, ["-" * w for w in widths], *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def _numpy_version() -> str:
    try:
        import numpy
    except ImportError:
        return "not installed"
    return numpy.__version__


def _cmd_info(args: argparse.Namespace) -> int:
    import platform
    import warnings

    import ember
    from ember.backends import registry

    # plugin warnings (a broken plugin is skipped) are part of the report, not noise
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = registry.info()
        served = registry.serving()

    out = [f"ember {ember.__version__}",
           f"Python {platform.python_version()} ({sys.executable})",
           f"numpy {_numpy_version()}",
           "",
           "Backends:",
           _table(["name", "device types", "version", "available", "reason"],
                  [[r["name"], ", ".join(r["device_types"]), r["version"],
                    "yes" if r["available"] else "no", r["reason"]] for r in rows]
                  or [["(none)", "", "", "", ""]]),
           "",
           "Device types:",
           _table(["device type", "served by", "note"],
                  [[t, name or "-", why] for t, (name, why) in served.items()])]
    skipped = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if skipped:
        out += ["", "Warnings:", *(f"  {m}" for m in skipped)]
    try:
        print("\n".join(out))
    except BrokenPipeError:  # `ember info | head`
        sys.stderr.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    from ._cli import demo as _demo, run as _run
    from ._cli import Parser
    p = Parser(prog="ember", description="ember: the PyTorch programming "
               "model over swappable array backends.")
    sub = p.add_subparsers(dest="command", metavar="command")
    info = sub.add_parser("info", help="list backends, device types and versions")
    info.set_defaults(func=_cmd_info)
    _demo.add_parser(sub)
    _run.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ember`` and the ``ember`` script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from ._cli import UsageError, report
    try:
        return args.func(args)
    except UsageError as e:  # a bad argument: one line, no traceback
        return report(f"ember {args.command}", e)


if __name__ == "__main__":
    sys.exit(main())
