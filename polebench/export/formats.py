"""The file formats ``export.py`` writes and ``enjoy.py --policy`` reads: one row each, for the command
line's choices and help, the output file's suffix, the optional modules, and which reader opens a file
(light: the command line lists them without importing PyTorch; the writer and reader functions of each
are :data:`polebench.export.exporting.CODECS`, keyed by the same names)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    """One export format.

    :param suffixes: the file names it takes (the first is the one to suggest)
    :param runtime: what replays it, for the help
    :param modules: the optional modules it needs, all of the ``export`` extra
    :param note: a line printed when it is written
    """

    name: str
    suffixes: tuple[str, ...]
    runtime: str
    modules: tuple[str, ...] = ()
    note: str | None = None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("onnx", (".onnx",), "replayed with onnxruntime", ("onnx", "onnxruntime", "onnxscript")),
        Format("torch", (".pt2",), "a torch.export program"),
        Format(
            "torchscript",
            (".pt", ".pth", ".torchscript"),
            "torch.jit.trace, deprecated",
            note="note: TorchScript (torch.jit.trace) is deprecated in PyTorch; --format torch writes its "
            "successor, a torch.export program (.pt2)",
        ),
    )
}
DEFAULT_FORMAT = "onnx"


def format_of_file(path: Path) -> Format:
    """The format of an exported file, by its suffix (anything else is tried as TorchScript, whose files
    PyTorch itself names freely).

    Example:
        >>> format_of_file(Path("policy.pt2")).name, format_of_file(Path("policy.bin")).name
        ('torch', 'torchscript')
    """
    for fmt in FORMATS.values():
        if path.suffix in fmt.suffixes:
            return fmt
    return FORMATS["torchscript"]


def help_text() -> str:
    """``--format``'s help: every format and what replays it."""
    return "; ".join(
        f"{f.name}{' (default)' if f.name == DEFAULT_FORMAT else ''}: {f.suffixes[0]}, {f.runtime}"
        for f in FORMATS.values()
    )
