"""The file formats ``export.py`` writes and ``enjoy.py --policy`` reads, by name, with their suffixes
(light: the command line lists them without importing PyTorch)."""

from __future__ import annotations

FORMATS: dict[str, tuple[str, ...]] = {
    "onnx": (".onnx",),  # run by onnxruntime
    "torch": (".pt2",),  # a torch.export program
    "torchscript": (".pt", ".pth", ".torchscript"),  # torch.jit.trace, deprecated upstream
}
TORCHSCRIPT_DEPRECATED = (
    "note: TorchScript (torch.jit.trace) is deprecated in PyTorch; --format torch writes its successor, a "
    "torch.export program (.pt2)"
)
