"""The ``hsi-studio`` command line: one entry point; the GUI when run with no subcommand.

Subcommands live in :mod:`hsi_studio.commands` modules, each exposing ``register(subparsers)``. Heavy imports
(numpy readers, torch, Qt) happen inside handlers, so ``hsi-studio --help`` answers at once.
Exit codes: 0 success, 2 bad input (one line on stderr saying what was wrong and what was expected),
1 internal error, 130 cancelled / interrupted.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hsi_studio import __version__
from hsi_studio.commands import analyze, data, models, reconstruct, relight, train
from hsi_studio.core.errors import one_line
from hsi_studio.services import settings

# Our own subcommand modules, in help order (a fixed list: nothing read from disk picks code to import).
COMMAND_MODULES = (data, relight, reconstruct, models, train, analyze)

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hsi-studio",
        description="HSI Studio: reconstruct, explore and relight hyperspectral cubes. "
        "Run without a subcommand to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"hsi-studio {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation end to end (offscreen: open the window, reconstruct and "
                             "relight the bundled sample with the default model); exit 0 when all checks pass")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _run_gui(argv: Sequence[str]) -> int:
    from hsi_studio.gui.app import main as gui_main

    return int(gui_main(list(argv)) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:
        from hsi_studio.selftest import run

        return run(argv[1:])
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices) if parser._subparsers else set()
    if not argv or argv[0].startswith("-psn_") or (argv[0] not in commands and Path(argv[0]).exists()):
        return _run_gui(argv)  # no subcommand: the desktop app, opening any files given
    args = parser.parse_args(argv)
    from hsi_studio.commands import common

    common.CURRENT_ARGV[:] = [os.fsdecode(a) for a in argv]
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_OK
    return run_handler(args)


def _printable_streams() -> None:
    """Never fail on printing: a non-UTF-8 file name (valid on Linux) prints with replacement characters."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError, OSError):
            pass


def _one_line_warnings(command: str) -> None:
    """Warnings (alpha dropped, stale temporaries removed …) as one line each on stderr."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # warnings' signature
        try:
            print(f"hsi-studio {command}: warning: {one_line(message, None)}", file=file or sys.stderr)
        except (OSError, ValueError):
            pass

    warnings.showwarning = show


def _sigterm_as_interrupt() -> None:
    """SIGTERM ends a command the way Ctrl-C does (temporaries removed, exit 130), unless the command installs
    its own handler (train checkpoints first; reconstruct finishes or drops the current input's outputs)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum, frame):  # signal handler signature
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def hangup(signum, frame):
        """SIGHUP (a closed terminal) does what SIGTERM does at that moment: a command's own handler (train
        checkpoints first) or the interrupt — never a silent death that leaves temporaries behind."""
        term = signal.getsignal(signal.SIGTERM)
        if callable(term) and term is not hangup:
            return term(signum, frame)
        raise KeyboardInterrupt("SIGHUP")

    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, interrupt)
        if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGHUP, hangup)
    except (ValueError, OSError, AttributeError):
        pass


SEED_LIMIT = 2**63  # torch, numpy and Python all take a seed below this


def _check_common_args(args: argparse.Namespace) -> None:
    """Arguments many commands share, checked before any work: a --seed every random generator accepts."""
    from hsi_studio.core.errors import InputError

    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed < SEED_LIMIT:
        raise InputError(f"--seed {seed}; expected a whole number from 0 to 2^63 − 1")


def _lock_training_output(args: argparse.Namespace):
    """``train … --out``: one run per output folder (a second one exits 2 naming the first one's process)."""
    from contextlib import nullcontext

    out = getattr(args, "out", None)
    if args.command != "train" or not out or settings.world_size() > 1:
        return nullcontext()  # under accelerate launch every rank writes its share: no lock
    from hsi_studio.commands.common import command_line
    from hsi_studio.services.outputs import output_lock

    return output_lock(out, command_line())


# OSErrors that mean "this location cannot be written / read": bad input, not an internal error.
_ENV_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                         errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ENOENT, errno.ELOOP})


def run_handler(args: argparse.Namespace) -> int:
    from hsi_studio.core.errors import InputError
    from hsi_studio.core.jobs import Cancelled

    _printable_streams()
    _one_line_warnings(args.command)
    _sigterm_as_interrupt()
    try:
        _check_common_args(args)
        with _lock_training_output(args):
            return int(args.func(args) or 0)
    except InputError as exc:
        _say(f"hsi-studio {args.command}: error: {one_line(exc, None)}")
        return EXIT_BAD_INPUT
    except (Cancelled, KeyboardInterrupt) as exc:
        why = f" by {exc}" if str(exc).startswith("SIG") else ""
        _say(f"hsi-studio {args.command}: cancelled{why}")
        return EXIT_CANCELLED
    except BrokenPipeError:
        return EXIT_OK
    except MemoryError:
        hint = "a smaller input or --tile" if args.command == "reconstruct" else "a smaller input or batch"
        _say(f"hsi-studio {args.command}: error: out of memory; try {hint}")
        return EXIT_ERROR
    except Exception as exc:  # last-resort handler of the CLI
        if isinstance(exc, OSError) and exc.errno in _ENV_ERRNOS:
            where = f": {exc.filename}" if exc.filename else ""
            _say(f"hsi-studio {args.command}: error: {os.strerror(exc.errno)}{where}; expected a readable input "
                 "and a writable output location with free space")
            return EXIT_BAD_INPUT
        if settings.debug():
            raise
        _say(f"hsi-studio {args.command}: internal error: {exc.__class__.__name__}: {one_line(exc, None)} "
             "(set HSI_STUDIO_DEBUG=1 for a traceback)")
        return EXIT_ERROR


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
