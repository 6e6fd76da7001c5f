"""A toy ONNX speech-enhancement model for the pretrained front-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def half_gain_onnx(path: Path) -> Path:
    """Write a user's waveform-in/out ONNX model, a gain of one half, to ``path``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["audio", "half"], ["enhanced"])],
        "half",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info("enhanced", TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path
