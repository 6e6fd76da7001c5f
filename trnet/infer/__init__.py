"""Using a trained system on any audio: model packages (``trnet export``), windowed
inference over files of any rate, channel count and length (``trnet infer``), the Python
API :class:`trnet.infer.recognizer.EmotionRecognizer` and an onnxruntime backend.

Layout, lowest first: :mod:`.package_format` is the package's layout, manifest and version
and reads a package back (verified); :mod:`.card` makes the model card (card.json,
card.md); :mod:`.package_writer` writes a package's files; :mod:`.package_export` finds
what a trained fold's package needs in the recipe's folders and asks the fold's system kind
for the rest (its export hook, ``trnet export``).
:mod:`.source` turns files, arrays and ``trnet infer``'s inputs into 16 kHz windows read in
blocks, :mod:`.recognizer` runs the SE once per block of windows and the package's model on
batches of windows,
:mod:`.package_models` runs each model type as ``trnet decode`` does (SER members on
fbank, a hybrid's functionals, ensembles averaged; the eGeMAPS SVM),
:mod:`.results` writes ``trnet infer --output``, :mod:`.timeline` its ``--plot`` PNGs,
:mod:`.onnx_backend` exports and runs the networks with onnxruntime. ``trnet serve``
(:mod:`trnet.serve`) runs a package behind a local HTTP service.
"""
