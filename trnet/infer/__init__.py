"""Using a trained system on any audio: model packages (``trnet export``), windowed
inference over files of any rate, channel count and length (``trnet infer``), the Python
API :class:`trnet.infer.recognizer.EmotionRecognizer` and an onnxruntime backend.

Layout: :mod:`.package` writes and verifies packages (manifest, card), :mod:`.source`
turns files and arrays into 16 kHz windows read in blocks, :mod:`.recognizer` runs SE,
fbank and the SER model on batches of windows, :mod:`.onnx_backend` exports and runs the
networks with onnxruntime.
"""
