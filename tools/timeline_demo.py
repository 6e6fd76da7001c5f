#!/usr/bin/env python3
"""The README's timeline picture: ``trnet infer --plot`` on a long noisy file.

    python tools/timeline_demo.py docs/timeline_demo.png                  # the toy package
    python tools/timeline_demo.py docs/timeline_demo.png --package exp/x/package
    python tools/timeline_demo.py out.png --package exp/x/package --speech a.wav b.wav ...

The audio is ``tests/package_toy.py``'s ``long_speech``: the corpus generator's voice
speaking ang, hap, neu, sad for 5 s each, a second of silence between them, under pink
noise whose SNR falls from 20 to 0 dB. Without ``--package`` it runs the toy package of
``tests/package_toy.py`` (TRNet behind the pretrained NSNet2 SE: its SNR estimate and the
speech activity are real; the SER network is untrained, so its emotions mean nothing).
With ``--speech`` the speech is those recordings instead (read at 16 kHz, in the order
given, half a second of silence between them) under the same noise (the README's picture:
EmoDB test-speaker clips through a package trained on the other speakers). Same inputs,
same PNG bytes.
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
    parser.add_argument("--speech", type=Path, nargs="+", help="recordings to use as the speech")
    parser.add_argument("--name", default="long_speech", help="the file name in the title")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import numpy as np
    import soundfile as sf
    from package_toy import long_speech, toy_package, under_rising_noise

    from trnet.audio import read_audio

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        package = args.package or toy_package(work / "toy", se="nsnet2")
        wav = work / f"{args.name}.wav"
        if args.speech:
            gap = np.zeros(8000, dtype=np.float32)
            parts = [p for f in args.speech for p in (read_audio(str(f)), gap)]
            audio = under_rising_noise(np.concatenate(parts[:-1]).astype(np.float32))
        else:
            audio = long_speech()
        sf.write(wav, audio, 16000, subtype="PCM_16")
        done = subprocess.run(
            [sys.executable, "-m", "trnet", "infer", str(package), wav.name, "--plot", "."],
            cwd=work,  # the title shows the name as given
        )
        if done.returncode != 0:
            return done.returncode
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / f"{args.name}.png", args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
