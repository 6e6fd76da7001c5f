"""Speaker-disjoint train/dev/test folds of a data dir (stage 0).

Protocols:

- ``speaker`` (IEMOCAP, leave-one-speaker-out): one fold per speaker in Kaldi order
  (Ses01F, Ses01M, Ses02F, ...); test = that speaker, dev = the other speaker of the same
  session, train = every other speaker.
- ``session`` (leave-one-session-out): fold k tests both speakers of session k, develops on
  session k+1 (the last wraps to the first), trains on the rest.
- ``kfold`` (any corpus): speakers shuffled by a seed and cut into k test groups; dev is
  the next ``n_dev_speakers`` speakers after the test group in that order.
- ``official`` (a corpus with its own split, e.g. MSP-Podcast): one fold from ``utt2split``
  (Train → train, Development → dev, Test1 → test; other splits such as Test2 left out).

Folds on disk: ``<out>/<protocol>/fold<K>/{train,dev,test}/`` (K from 1), each a subset
of the source data dir, plus ``folds.tsv``; ``.folds.json`` (what they were made from) is
written first and ``.done`` last, so a complete set made from the same inputs is kept.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path

from trnet.data.datadir import DataDir, is_per_utt_table, kaldi_sorted
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.stage import Record, claim, clear_all, finish, lock

PROTOCOLS = ("speaker", "session", "kfold", "official")
OFFICIAL_ROLES = {
    "train": "train",
    "development": "dev",
    "dev": "dev",
    "test1": "test",
    "test": "test",
}
"""utt2split value (lower case) → role, for the ``official`` protocol."""
ROLES = ("train", "dev", "test")


@dataclass(frozen=True)
class Fold:
    """One fold: speakers and utterance ids (Kaldi order) of each role."""

    index: int
    train_spk: tuple[str, ...]
    dev_spk: tuple[str, ...]
    test_spk: tuple[str, ...]
    train: tuple[str, ...]
    dev: tuple[str, ...]
    test: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"fold{self.index}"

    def utts(self, role: str) -> tuple[str, ...]:
        return {"train": self.train, "dev": self.dev, "test": self.test}[role]


def make_fold(index: int, utt2spk: dict[str, str], test_spk: list[str], dev_spk: list[str]) -> Fold:
    """The fold with these test and dev speakers; every other speaker trains."""
    held = set(test_spk) | set(dev_spk)
    train_spk = [s for s in kaldi_sorted(set(utt2spk.values())) if s not in held]
    groups = {"train": set(train_spk), "dev": set(dev_spk), "test": set(test_spk)}
    utts = {
        role: tuple(u for u in kaldi_sorted(utt2spk) if utt2spk[u] in groups[role])
        for role in ROLES
    }
    for role in ROLES:
        if not utts[role]:
            raise TrnetError(
                f"fold{index}: empty {role} set (test {' '.join(test_spk) or '-'}, "
                f"dev {' '.join(dev_spk) or '-'}, {len(set(utt2spk.values()))} speakers in all)"
            )
    return Fold(
        index=index,
        train_spk=tuple(train_spk),
        dev_spk=tuple(kaldi_sorted(dev_spk)),
        test_spk=tuple(kaldi_sorted(test_spk)),
        **utts,
    )


def sessions_of(utt2spk: dict[str, str], utt2session: dict[str, str]) -> dict[str, list[str]]:
    """Session → its speakers (Kaldi order); each speaker must belong to one session."""
    spk2session: dict[str, str] = {}
    for utt, spk in utt2spk.items():
        if utt not in utt2session:
            raise TrnetError(f"utt2session: no session for utterance {utt}")
        session = spk2session.setdefault(spk, utt2session[utt])
        if session != utt2session[utt]:
            raise TrnetError(f"utt2session: speaker {spk} is in {session} and {utt2session[utt]}")
    sessions: dict[str, list[str]] = {}
    for spk in kaldi_sorted(spk2session):
        sessions.setdefault(spk2session[spk], []).append(spk)
    return {s: sessions[s] for s in kaldi_sorted(sessions)}


def speaker_folds(utt2spk: dict[str, str], utt2session: dict[str, str]) -> list[Fold]:
    """Leave-one-speaker-out: test one speaker, dev its session partner, train the rest."""
    sessions = sessions_of(utt2spk, utt2session)
    folds = []
    for session, speakers in sessions.items():
        if len(speakers) != 2:
            raise TrnetError(
                f"utt2session: session {session} has {len(speakers)} speaker(s) "
                f"({' '.join(speakers)}); the speaker protocol needs exactly 2 per session"
            )
        for spk in speakers:
            partner = [s for s in speakers if s != spk]
            folds.append(make_fold(len(folds) + 1, utt2spk, [spk], partner))
    return folds


def session_folds(utt2spk: dict[str, str], utt2session: dict[str, str]) -> list[Fold]:
    """Leave-one-session-out: test session k, dev session k+1 (wrapping), train the rest."""
    sessions = list(sessions_of(utt2spk, utt2session).values())
    return [
        make_fold(k + 1, utt2spk, sessions[k], sessions[(k + 1) % len(sessions)])
        for k in range(len(sessions))
    ]


def speaker_kfold(
    utt2spk: dict[str, str], k: int, seed: int, n_dev_speakers: int = 1
) -> list[Fold]:
    """k speaker-disjoint folds for any corpus, fixed by ``seed``.

    Speakers are shuffled once; fold i tests the i-th of k near-equal groups and develops
    on the ``n_dev_speakers`` speakers that follow that group (cyclically).
    """
    speakers = kaldi_sorted(set(utt2spk.values()))
    if k < 2:
        raise TrnetError(f"--k: needs at least 2 folds, got {k}")
    if n_dev_speakers < 1:
        raise TrnetError(f"--n-dev-speakers: needs at least 1, got {n_dev_speakers}")
    largest_test = -(-len(speakers) // k)  # ceil: the biggest test group
    if k > len(speakers) or largest_test + n_dev_speakers + 1 > len(speakers):
        raise TrnetError(
            f"utt2spk: {len(speakers)} speakers cannot make {k} folds with "
            f"{n_dev_speakers} dev speaker(s) and a train set"
        )
    random.Random(seed).shuffle(speakers)
    bounds = [round(i * len(speakers) / k) for i in range(k + 1)]
    folds = []
    for i in range(k):
        test = speakers[bounds[i] : bounds[i + 1]]
        rest = speakers[bounds[i + 1] :] + speakers[: bounds[i]]
        folds.append(make_fold(i + 1, utt2spk, test, rest[:n_dev_speakers]))
    return folds


def official_folds(utt2spk: dict[str, str], utt2split: dict[str, str]) -> list[Fold]:
    """The corpus's own split as one fold; speakers need not be disjoint across roles."""
    roles: dict[str, list[str]] = {role: [] for role in ROLES}
    for utt in kaldi_sorted(utt2spk):
        if utt not in utt2split:
            raise TrnetError(f"utt2split: no split for utterance {utt}")
        role = OFFICIAL_ROLES.get(utt2split[utt].lower())
        if role is not None:
            roles[role].append(utt)
    for role in ROLES:
        if not roles[role]:
            raise TrnetError(f"utt2split: no utterance for {role} ({', '.join(OFFICIAL_ROLES)})")
    spk = {role: tuple(kaldi_sorted({utt2spk[u] for u in roles[role]})) for role in ROLES}
    return [Fold(1, spk["train"], spk["dev"], spk["test"], *(tuple(roles[r]) for r in ROLES))]


def make_folds(
    data: DataDir, protocol: str, k: int = 5, seed: int = 0, n_dev_speakers: int = 1
) -> list[Fold]:
    """The folds of ``protocol`` for a loaded data dir."""
    if protocol == "speaker":
        return speaker_folds(data["utt2spk"], data["utt2session"])
    if protocol == "session":
        return session_folds(data["utt2spk"], data["utt2session"])
    if protocol == "kfold":
        return speaker_kfold(data["utt2spk"], k, seed, n_dev_speakers)
    if protocol == "official":
        return official_folds(data["utt2spk"], data["utt2split"])
    raise TrnetError(f"--protocol: unknown {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


FOLDS_RECORD = Record(file=".folds.json", indent=2, newline=True)
"""Folds sign ``<protocol>/.folds.json`` when they start; ``.done`` is written last."""


def write_folds(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    protocol: str,
    k: int = 5,
    seed: int = 0,
    n_dev_speakers: int = 1,
    overwrite: bool = False,
) -> tuple[list[Fold], bool]:
    """Write ``out_dir/<protocol>/fold<K>/{train,dev,test}/``; ``(folds, was_up_to_date)``."""
    data_dir, dest = Path(data_dir), Path(out_dir) / protocol
    data = DataDir.load(data_dir)
    try:
        folds = make_folds(data, protocol, k, seed, n_dev_speakers)
    except TrnetError as err:
        raise TrnetError(f"{data_dir}: {err}") from None
    params = {"k": k, "seed": seed, "n_dev_speakers": n_dev_speakers} if protocol == "kfold" else {}
    signature = {
        "data_dir": os.path.abspath(data_dir),
        "protocol": protocol,
        "tables_sha256": _tables_digest(data_dir),
        **params,
    }
    with lock(dest):
        if claim(dest, signature, overwrite, FOLDS_RECORD, clear_all):
            return folds, True
        _write(data, folds, dest)
        finish(dest, signature, FOLDS_RECORD)
    return folds, False


def _write(data: DataDir, folds: list[Fold], dest: Path) -> None:
    for fold in folds:
        for role in ROLES:
            target = dest / fold.name / role
            data.subset(fold.utts(role)).write(target)
            data.copy_carried_files(target)
    with atomic_write(dest / "folds.tsv") as f:
        f.write("fold\ttest_spk\tdev_spk\tn_train\tn_dev\tn_test\n")
        for fold in folds:
            f.write(
                f"{fold.name}\t{','.join(fold.test_spk)}\t{','.join(fold.dev_spk)}\t"
                f"{len(fold.train)}\t{len(fold.dev)}\t{len(fold.test)}\n"
            )


def _tables_digest(data_dir: Path) -> str:
    """Hash of the tables a fold copies, so folds follow a re-prepared data dir."""
    digest = hashlib.sha256()
    for path in sorted(data_dir.iterdir()):
        if path.is_file() and (is_per_utt_table(path.name) or path.name == "corpus.json"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
