"""Arbitrary bytes in any file the toolkit reads: a one-line TrnetError or a skipped row.

Property-based (hypothesis): every parser of an input file gets random bytes, random text
and damaged copies of a valid file. Allowed outcomes: it returns (bad rows reported as
skipped), or it raises :class:`TrnetError` with a one-line message. Anything else (a
traceback of another type, a multi-line message) fails; a parser that does not return
within :data:`HANG_S` seconds fails as hung. Examples per parser are bounded
(:data:`EXAMPLES`) so the file runs in seconds.
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trnet.contract import CorpusInfo, is_generated
from trnet.data.datadir import DataDir, read_entries
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.noise.index import index_esc50, index_musan
from trnet.prep import cremad, iemocap, msppodcast
from trnet.se.config import load_config as load_se_config
from trnet.train.config import load_config as load_train_config

EXAMPLES = 60
HANG_S = 60  # far above any parse of these small files, even on a loaded machine

EMO_EVAL = (
    "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
    "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
    "C-E2:\tNeutral;\t()\nA-E3:\tval 3; act 2; dom  2;\t()\n\n"
)
KALDI = "utt1 /a/b.wav\nutt2 /a/c.wav\n"
ESC50 = "filename,fold,target,category,esc10,src_file,take\n" + "".join(
    f"{k}-100032-A-0.wav,{k},0,dog,True,100032,A\n" for k in range(1, 6)
)
ANNOTATIONS = "noise-free-sound-0000 Noise,Wind\nnoise-free-sound-0001 rain\n"
MSP = (
    "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"
    "MSP-PODCAST_0001_0008.wav,N,4.2,4.0,4.4,127,Female,Train\n"
)
CREMAD = "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
CONF = Path(__file__).resolve().parents[1] / "egs" / "iemocap" / "conf"
TRAIN_BASE = (CONF / "slim" / "_base.yaml").read_text()  # a defaults file: every key spelled out
TRAIN_YAML = TRAIN_BASE + "system: baseline_noisy\n"
TRAIN_SYSTEM = (CONF / "slim" / "baseline_clean.yaml").read_text()  # defaults: _base.yaml + keys
SE_YAML = (CONF / "se.yaml").read_text()
CORPUS_JSON = '{"corpus": "emodb", "root": "/x", "generated": false}\n'


def contents(valid: str) -> st.SearchStrategy[bytes]:
    """Random bytes, random text, and ``valid`` with a random span replaced."""
    seed = valid.encode()

    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        start = draw(st.integers(0, len(seed)))
        end = draw(st.integers(start, len(seed)))
        return seed[:start] + draw(st.binary(max_size=40)) + seed[end:]

    return st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        damaged(),
    )


def _alarm(signum, frame):  # noqa: ANN001 (signal handler)
    raise TimeoutError(f"parser still running after {HANG_S} s: hung")


def check(parse: Callable[[Path], object], place: Callable[[Path, bytes], None], data: bytes):
    """Write ``data`` with ``place`` into a fresh folder and run ``parse`` on that folder."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        place(root, data)
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(HANG_S)
        try:
            parse(root)
        except TrnetError as err:
            message = str(err)
            assert message and "\n" not in message, f"not one line: {message!r}"
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)


def at(rel: str) -> Callable[[Path, bytes], None]:
    def place(root: Path, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return place


def _iemocap(root: Path) -> None:
    iemocap.parse_label_file(root / "Ses01F_impro01.txt", "Ses01")


def _datadir(root: Path) -> None:
    (root / "utt2spk").write_text("utt1 s1\nutt2 s1\n")
    DataDir.load(root)


def _esc50(root: Path) -> None:
    (root / "audio").mkdir()
    index_esc50(root)


def _musan(root: Path) -> None:
    index_musan(root)


def _train_yaml(root: Path) -> None:
    load_train_config(root / "c.yaml")


def beside(rel: str, other: str, text: str) -> Callable[[Path, bytes], None]:
    """Place the data at ``rel`` and the valid ``text`` at ``other`` (a config and its
    defaults file: one of them damaged)."""

    def place(root: Path, data: bytes) -> None:
        at(rel)(root, data)
        (root / other).write_text(text)

    return place


def _se_yaml(root: Path) -> None:
    load_se_config(root / "se.yaml")


def _msp(root: Path) -> None:
    (root / "Audios").mkdir()
    msppodcast.list_items(root)


def _corpus_json(root: Path) -> None:
    is_generated(root)
    CorpusInfo.read_dict(root)


PARSERS = {
    "EmoEvaluation": (_iemocap, at("Ses01F_impro01.txt"), EMO_EVAL),
    "kaldi read_kv": (lambda r: read_kv(r / "wav.scp"), at("wav.scp"), KALDI),
    "kaldi read_entries": (lambda r: read_entries(r / "wav.scp"), at("wav.scp"), KALDI),
    "kaldi data dir": (_datadir, at("wav.scp"), KALDI),
    "esc50.csv": (_esc50, at("meta/esc50.csv"), ESC50),
    "MUSAN ANNOTATIONS": (_musan, at("noise/free-sound/ANNOTATIONS"), ANNOTATIONS),
    "MSP-Podcast labels csv": (_msp, at("Labels/labels_consensus.csv"), MSP),
    "CREMA-D demographics csv": (
        lambda r: cremad.read_genders(r),
        at("VideoDemographics.csv"),
        CREMAD,
    ),
    "train config yaml": (_train_yaml, at("c.yaml"), TRAIN_YAML),
    "train config yaml over its defaults": (
        _train_yaml,
        beside("c.yaml", "_base.yaml", TRAIN_BASE),
        TRAIN_SYSTEM,
    ),
    "train config defaults yaml": (
        _train_yaml,
        beside("_base.yaml", "c.yaml", TRAIN_SYSTEM),
        TRAIN_BASE,
    ),
    "SE config yaml": (_se_yaml, at("se.yaml"), SE_YAML),
    "corpus.json": (_corpus_json, at("corpus.json"), CORPUS_JSON),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_arbitrary_bytes_give_one_line_errors_or_skipped_rows(name: str) -> None:
    parse, place, valid = PARSERS[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=contents(valid))
    def run(data: bytes) -> None:
        check(parse, place, data)

    run()


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_the_valid_sample_parses(name: str) -> None:
    """The seeds are real files of each format (so damaged copies reach deep code)."""
    parse, place, valid = PARSERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        place(Path(tmp), valid.encode())
        parse(Path(tmp))
