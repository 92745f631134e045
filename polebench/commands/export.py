"""Export a trained policy as one file: ``python export.py --algo ppo --env CartPole-v1 --format onnx -o policy.onnx``.

The file maps a batch of raw observations to deterministic actions, with whatever the run needs folded
in (normalisation statistics, the discretizer and Q-table, the LQR gain; a recurrent policy's state as
explicit inputs and outputs). It is checked against the model on 10,000 observations from evaluation
episodes before it is kept; ``enjoy.py --policy FILE --env ENV`` replays it without Stable-Baselines3.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from polebench.agents.registry import ALGOS
from polebench.commands import flags as cli
from polebench.errors import ConfigError
from polebench.export.formats import DEFAULT_FORMAT, FORMATS, help_text
from polebench.imports import optional


def build_parser() -> argparse.ArgumentParser:
    p = cli.Parser(description=__doc__)
    p.add_argument("--algo", required=True, metavar="ALGO", help=f"one of: {', '.join(ALGOS)}")
    p.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default: %(default)s)")
    p.add_argument("-f", "--log-folder", default="logs", help="where the runs are (default: %(default)s)")
    cli.add_run_choice_flags(p)
    p.add_argument("--format", choices=FORMATS, default=DEFAULT_FORMAT, help=help_text())
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write, its suffix the format's")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from polebench import interrupts

    # SIGTERM, like Ctrl-C, unwinds: a file being written (through a temporary beside it) is removed.
    interrupts.install()
    args = build_parser().parse_args(argv)
    from polebench.run import folder as runs

    fmt = FORMATS[args.format]
    for module in fmt.modules:
        optional(module, "export", f"--format {fmt.name}")
    output = Path(args.output)
    runs.check_output_file(output, "-o/--output", fmt.suffixes)
    if fmt.note:
        print(fmt.note)
    from polebench.agents.registry import get_algo
    from polebench.envs.factory import check_env_id
    from polebench.export.exporting import export, load_source
    from polebench.replay.play import model_file

    spec = get_algo(args.algo)
    if spec.plugin:
        raise ConfigError(
            f"cannot export {spec.name}: it keeps its own file format (an agent of the plugin kind, not an SB3 "
            f"model); export takes {', '.join(name for name, other in ALGOS.items() if not other.plugin)}"
        )
    env_id = check_env_id(args.env)
    run_dir = runs.find_run(Path(args.log_folder), spec.name, env_id, args.exp_id or None)
    path = model_file(run_dir, env_id, args.load_best, args.load_checkpoint)
    agreement = export(load_source(run_dir, spec.name, env_id, path), args.format, output)
    print(
        f"exported {path} to {output} ({args.format}); agreement with model.predict: "
        f"{agreement.fraction:.2%} of {agreement.observations:,} observations from evaluation episodes; "
        f"{agreement.exported_us:.0f} us per observation exported, {agreement.predict_us:.0f} us with model.predict"
    )
    return 0
