#!/usr/bin/env python3
"""The README's timeline picture: ``trnet infer --plot`` on 23 s of generated speech.

    python tools/timeline_demo.py docs/timeline_demo.png                  # the toy package
    python tools/timeline_demo.py docs/timeline_demo.png --package exp/x/package

The audio is ``tests/package_toy.py``'s ``long_speech``: the corpus generator's voice
speaking ang, hap, neu, sad for 5 s each, a second of silence between them, under pink
noise whose SNR falls from 20 to 0 dB. Without ``--package`` it runs the toy package of
``tests/package_toy.py`` (TRNet behind the pretrained NSNet2 SE: its SNR estimate and the
speech activity are real; the SER network is untrained, so its emotions mean nothing).
Same inputs, same PNG bytes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--package", type=Path, help="a package (default: the toy one)")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import soundfile as sf
    from package_toy import long_speech, toy_package

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        package = args.package or toy_package(work / "toy", se="nsnet2")
        wav = work / "long_speech.wav"
        sf.write(wav, long_speech(), 16000, subtype="PCM_16")
        done = subprocess.run(
            [sys.executable, "-m", "trnet", "infer", str(package), wav.name, "--plot", "."],
            cwd=work,  # the title shows the name as given
        )
        if done.returncode != 0:
            return done.returncode
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "long_speech.png", args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
