"""SE models: shapes, STFT-path invertibility, short inputs, configs, external checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trnet.errors import TrnetError
from trnet.models.se_cmgan import CMGANGenerator
from trnet.models.stft import CompressedSTFT, SpectralEnhancer
from trnet.se.config import load_config, resolve_config
from trnet.se.model import build_model

TINY_CMGAN = {
    "model": "cmgan",
    "model_conf": {"channels": 8, "n_blocks": 1, "heads": 2, "dense_depth": 2, "ff_mult": 2},
}


class Identity(torch.nn.Module):
    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return spec


def snr_db(ref: torch.Tensor, est: torch.Tensor) -> float:
    return float(10 * torch.log10(ref.pow(2).sum() / (ref - est).pow(2).sum()))


@pytest.mark.parametrize("conf", [{"model": "crn"}, TINY_CMGAN])
def test_both_models_keep_the_shape(conf):
    model = build_model(conf).eval()
    spec = torch.randn(2, 2, 17, 201)
    with torch.no_grad():
        assert model.net(spec).shape == spec.shape
        assert model(torch.randn(2, 3000), torch.tensor([3000, 2000])).shape == (2, 3000)


def test_identity_mask_reconstructs_the_input():
    torch.manual_seed(0)
    wave = 0.1 * torch.randn(2, 16000)
    out = SpectralEnhancer(Identity())(wave)
    assert out.shape == wave.shape
    assert snr_db(wave, out) > 40


def test_compression_is_undone_exactly():
    stft = CompressedSTFT()
    wave = torch.randn(1, 4000)
    spec = stft(wave)
    assert spec.shape == (1, 2, 4000 // 100 + 1, 201)
    assert snr_db(wave, stft.inverse(spec, 4000)) > 40


@pytest.mark.parametrize("length", [1, 150, 399])
def test_an_utterance_shorter_than_one_frame(length):
    wave = 0.1 * torch.randn(1, length)
    out = SpectralEnhancer(Identity())(wave)
    assert out.shape == (1, length)
    assert torch.isfinite(out).all()
    with torch.no_grad():
        assert build_model({"model": "crn"})(wave).shape == (1, length)


def test_output_is_scaled_back_to_the_input_level():
    torch.manual_seed(0)
    wave = 1e-3 * torch.randn(1, 8000)
    out = SpectralEnhancer(Identity())(wave)
    assert torch.allclose(out.pow(2).mean(), wave.pow(2).mean(), rtol=1e-3)


def test_padding_in_a_batch_does_not_change_an_utterance():
    torch.manual_seed(0)
    model = build_model({"model": "crn"}).eval()
    wave = 0.1 * torch.randn(1, 6000)
    batch = torch.nn.functional.pad(wave, (0, 2000))
    with torch.no_grad():
        alone = model(wave)
        padded = model(batch, torch.tensor([6000]))
    # all of it, up to the last sample: the frames next to the padding are where it acts
    assert torch.allclose(alone[0], padded[0, :6000], atol=1e-6)
    assert torch.all(padded[0, 6000:] == 0)


def test_unknown_keys_are_rejected_with_the_allowed_ones():
    with pytest.raises(TrnetError, match="allowed: .*hidden"):
        resolve_config({"model": "crn", "model_conf": {"hiden": 3}})
    with pytest.raises(TrnetError, match="allowed: .*model_conf"):
        resolve_config({"model": "crn", "optim": {}})
    with pytest.raises(TrnetError, match="crn, cmgan"):
        resolve_config({"model": "unet"})


def test_wrong_types_are_rejected_by_the_strict_validator(tmp_path):
    """The SE config goes through the SER config's validator: a quoted number is not a number."""
    path = tmp_path / "se.yaml"
    path.write_text('model: crn\ntrain:\n  epochs: "8"\n')
    with pytest.raises(TrnetError, match=r"se.yaml: train.epochs: expected int, got '8'$"):
        load_config(path)
    with pytest.raises(TrnetError, match=r"model_conf.channels\[1\]: expected int, got 'x'"):
        resolve_config({"model": "crn", "model_conf": {"channels": [4, "x"]}})
    with pytest.raises(TrnetError, match="loss.mag: expected float, got True"):
        resolve_config({"loss": {"mag": True}})
    conf = resolve_config({"train": {"lr": "1e-3", "segment_s": 2}})
    assert conf.train is not None and conf.train.lr == 1e-3 and conf.train.segment_s == 2.0


def test_recipe_configs_resolve():
    recipe = Path(__file__).resolve().parents[1] / "egs" / "iemocap" / "conf"
    for path in (recipe / "se.yaml", recipe / "slim" / "se.yaml"):
        conf = load_config(path)
        assert conf.model in ("crn", "cmgan") and not conf.pretrained


def test_init_checkpoint_loads_external_generator_weights(tmp_path):
    torch.manual_seed(0)
    source = CMGANGenerator(**TINY_CMGAN["model_conf"])
    path = tmp_path / "tscnet.pt"
    torch.save(source.state_dict(), path)
    model = build_model({**TINY_CMGAN, "init_checkpoint": str(path)})
    for key, value in source.state_dict().items():
        assert torch.equal(model.net.state_dict()[key], value)


def test_wrong_architecture_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "crn_weights.pt"
    torch.save(build_model({"model": "crn"}).net.state_dict(), path)
    with pytest.raises(TrnetError, match=r"crn_weights\.pt.*does not match.*missing"):
        build_model({**TINY_CMGAN, "init_checkpoint": str(path)})


def test_missing_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "absent.pt"
    with pytest.raises(TrnetError, match=r"absent\.pt: checkpoint not found"):
        build_model({**TINY_CMGAN, "init_checkpoint": str(path)})
