"""SE training: on-the-fly pairs, loss decrease, resume, save/load (synthetic speech + noise)."""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
from se_toy import SR, TINY, make_condition, make_source, synth_speech

from trnet.errors import TrnetError
from trnet.se.config import resolve_config
from trnet.se.model import build_model, load_model, save_model
from trnet.se.train import se_loss, train_se


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("se_src")
    rng = np.random.default_rng(0)
    speech = [synth_speech(rng, 1.5) for _ in range(8)]
    noise = [
        (0.2 * np.cumsum(rng.standard_normal(SR)) / 50).astype(np.float32)
        if i % 2
        else (0.1 * rng.standard_normal(SR)).astype(np.float32)
        for i in range(6)
    ]
    return {
        "speech": make_source(root, "speech", speech),
        "noise": make_source(root, "noise", noise[:4]),
        "dev_noise": make_source(root, "dev_noise", noise[4:]),
    }


def run(sources: dict[str, Path], out: Path, conf: dict = TINY, **kw) -> Path:
    return train_se(
        resolve_config(conf),
        str(sources["speech"]),
        str(sources["noise"]),
        out,
        dev_noise=str(sources["dev_noise"]),
        progress=False,
        device="cpu",
        **kw,
    )


def read_log(out: Path) -> list[dict[str, float]]:
    rows = []
    for line in (out / "train.log").read_text().splitlines():
        if line.startswith("epoch "):
            parts = line.split()
            rows.append({k: float(v) for k, v in zip(parts[::2], parts[1::2], strict=True)})
    return rows


def test_training_lowers_the_loss_and_writes_outputs(sources, tmp_path):
    out = tmp_path / "se"
    best = run(sources, out)
    rows = read_log(out)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["dev_loss"] < rows[0]["dev_loss"]  # what best.pt is chosen on
    assert best == out / "best.pt" and best.is_file() and (out / ".done").is_file()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch1.pt", "epoch2.pt"]


def test_a_few_steps_lower_the_loss_on_a_fixed_batch(sources):
    from trnet.se.pairs import ClipPool, PairMaker

    maker = PairMaker(ClipPool(sources["speech"]), ClipPool(sources["noise"]), 8000, (0.0, 5.0))
    noisy, clean = (torch.from_numpy(a) for a in maker.batch(0, 0, 0, 4))
    conf = resolve_config(TINY)
    torch.manual_seed(0)
    model = build_model(conf)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = se_loss(model, noisy, clean, conf.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1 * abs(losses[0])


def test_pairs_are_reproducible_and_at_the_drawn_snr(sources):
    from trnet.se.pairs import ClipPool, PairMaker

    maker = PairMaker(ClipPool(sources["speech"]), ClipPool(sources["noise"]), 8000, (5.0, 5.0))
    a, b = maker.batch(3, 1, 2, 3), maker.batch(3, 1, 2, 3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    noisy, clean = a
    snr = 10 * np.log10(np.mean(clean**2, 1) / np.mean((noisy - clean) ** 2, 1))
    assert np.allclose(snr, 5.0, atol=0.01)
    assert not np.array_equal(maker.batch(3, 1, 3, 3)[0], noisy)


def test_resume_continues_to_the_same_result(sources, tmp_path, monkeypatch):
    import trnet.se.train as se_train

    full = tmp_path / "full"
    run(sources, full)
    part = tmp_path / "part"
    append_log = se_train._append_log

    def killed_after_epoch_1(path: Path, row: dict) -> None:  # Ctrl-C once epoch 1 is saved
        append_log(path, row)
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(se_train, "_append_log", killed_after_epoch_1)
        with pytest.raises(KeyboardInterrupt):
            run(sources, part)
    assert not (part / ".done").exists() and (part / "checkpoints" / "epoch1.pt").is_file()
    with pytest.raises(TrnetError, match="--resume"):
        run(sources, part)
    run(sources, part, resume=True)
    assert read_log(part)[-1]["dev_loss"] == pytest.approx(read_log(full)[-1]["dev_loss"], rel=1e-4)
    for name in ("best.pt", "checkpoints/epoch2.pt"):  # the weights, not only a loss
        got, want = (torch.load(d / name, weights_only=False)["model"] for d in (part, full))
        assert got.keys() == want.keys()
        for key, tensor in want.items():
            torch.testing.assert_close(got[key], tensor, rtol=1e-5, atol=1e-6, msg=f"{name} {key}")


def test_save_then_load_gives_identical_output(tmp_path):
    conf = resolve_config(TINY)
    torch.manual_seed(1)
    model = build_model(conf).eval()
    save_model(tmp_path / "m.pt", model, conf)
    loaded, loaded_conf = load_model(tmp_path / "m.pt")
    wave = torch.randn(2, 4000)
    with torch.no_grad():
        assert torch.equal(model(wave), loaded(wave))
    assert loaded_conf == conf


def test_enhance_and_score_a_condition(sources, tmp_path):
    from trnet.audio import read_audio
    from trnet.io import read_kv
    from trnet.se.enhance import enhance_condition, find_conditions
    from trnet.se.score import score_conditions, write_scores

    dump = make_condition(tmp_path / "dump")
    model = build_model(resolve_config(TINY)).eval()
    assert find_conditions(dump, None) == ["clean", "noise_0"]
    settings = {"model": "tiny"}
    for cond in ("clean", "noise_0"):
        status = enhance_condition(model, settings, dump / cond, dump / f"{cond}_enh", batch_size=2)
        assert status == "written"
    enh = dump / "noise_0_enh"
    assert enhance_condition(model, settings, dump / "noise_0", enh) == "skipped"
    with pytest.raises(
        TrnetError, match="noise_0_enh: exists with other settings; use --overwrite"
    ):
        enhance_condition(model, {"model": "other"}, dump / "noise_0", enh)
    wav = read_kv(enh / "wav.scp")
    assert sorted(wav) == sorted(read_kv(dump / "noise_0" / "wav.scp"))
    for utt, spec in wav.items():
        assert len(read_audio(spec)) == len(read_audio(read_kv(dump / "noise_0" / "wav.scp")[utt]))
    for table in ("utt2emo", "utt2gain", "utt2clean", "feats.scp", "utt2num_frames", "cmvn.ark"):
        assert (enh / table).is_file()
    assert read_kv(enh / "utt2emo") == read_kv(dump / "noise_0" / "utt2emo")

    # nj 2 (worker processes) writes the same bytes; the features are make_feats' on the audio
    other = tmp_path / "nj2" / "noise_0_enh"
    assert enhance_condition(model, settings, dump / "noise_0", other, 2, nj=2) == "written"
    for name in ("wav.ark", "feats.ark", "cmvn.ark"):
        assert (other / name).read_bytes() == (enh / name).read_bytes(), name
    from trnet.feats.extract import make_feats

    (other / ".feats.done").unlink()
    make_feats(other, nj=1)
    enh_feats = dict(kaldiio.load_scp_sequential(str(enh / "feats.scp")))
    for utt, feats in kaldiio.load_scp_sequential(str(other / "feats.scp")):
        np.testing.assert_array_equal(feats, enh_feats[utt])

    rows = score_conditions(dump, ["clean", "noise_0"], max_utts=2)
    assert [r["n_utts"] for r in rows] == [2, 2]
    assert rows[0]["sisdr_in"] > 80  # clean input is its own reference (gain 1)
    assert abs(rows[1]["sisdr_in"]) < 1.5  # 0 dB mixture, reference = gain × clean
    assert [(r["pesq_excluded"], r["stoi_excluded"]) for r in rows] == [(0, 0), (0, 0)]
    write_scores(rows, tmp_path / "scores", {})
    assert (tmp_path / "scores.tsv").read_text().count("\n") == 3
