"""``ember.onnx.errors``: mirrors ``torch.onnx.errors``."""
from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op (named in the message) has no ONNX translation."""
