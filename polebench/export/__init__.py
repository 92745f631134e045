"""Exporting a trained policy as one ONNX or TorchScript file, checked against the model before it is kept."""
