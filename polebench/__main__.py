"""``polebench <command> ...`` and ``python -m polebench <command> ...``: ``train``, ``enjoy``, ``benchmark``
or ``export``, each exactly the parser and behaviour of the script of the same name."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# Each command: its module (a parser and a ``main``) and what it does.
COMMANDS = {
    "train": ("polebench.commands.train", "train, tune (--optimize) or resume (-i) an agent"),
    "enjoy": ("polebench.commands.enjoy", "replay a trained agent or an exported policy"),
    # Above the single-run commands: a grid runs train's command for each job.
    "benchmark": ("polebench.bench.cli", "compare agents head to head over seeds"),
    "export": ("polebench.commands.export", "export a trained policy as ONNX or TorchScript"),
}


def main(argv: Sequence[str] | None = None) -> int:
    from polebench.errors import run_cli

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        listing = "\n".join(f"  {name:<10} {what}" for name, (_, what) in COMMANDS.items())
        print(f"usage: polebench COMMAND [options]   (polebench COMMAND --help for its options)\n\n{listing}")
        known = not args or args[0] in ("-h", "--help")
        if not known:
            print(
                f"polebench: error: unknown command {args[0]!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr
            )
        return 0 if known else 2
    sys.argv = [f"polebench {args[0]}", *args[1:]]  # the parser's usage line and one-line errors name the command

    def command(argv: Sequence[str] | None) -> int:  # imported inside run_cli, so a Ctrl-C then is one line too
        return int(importlib.import_module(COMMANDS[args[0]][0]).main(argv))

    return run_cli(command, args[1:])


if __name__ == "__main__":
    sys.exit(main())
