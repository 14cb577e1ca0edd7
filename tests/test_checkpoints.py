"""Self-describing checkpoints: round trips, and clear errors for missing or damaged ones."""

from __future__ import annotations

import json

import pytest
import torch

from advdl import checkpoints
from advdl.checkpoints import CheckpointCorruptError, CheckpointMismatchError, CheckpointMissingError, load_model, save
from advdl.models import MODELS, build


def _outputs(name, model, x):
    with torch.no_grad():
        if name == "dcgan":
            z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
            return torch.cat([model.generate(z).flatten(), model.realness(x).flatten()])
        if name == "capsnet":
            out = model(x)
            return torch.cat([out.capsules.flatten(), out.reconstruction.flatten()])
        return model(x).flatten()


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_reproduces_outputs(tmp_path, name):
    torch.manual_seed(1)
    model = build(name).eval()
    x = torch.rand(4, 1, 28, 28)
    folder = save(model, name, tmp_path, card={"epochs": 3, "seed": 7, "metrics": {"m": 1.0}})
    assert (folder / "model.safetensors").exists() and (folder / "card.json").exists()
    loaded = load_model(name, tmp_path)
    assert not loaded.training
    assert torch.equal(_outputs(name, model, x), _outputs(name, loaded, x))
    card = json.loads((folder / "card.json").read_text())
    assert card["config"] and card["epochs"] == 3 and card["seed"] == 7 and card["metrics"] == {"m": 1.0}
    assert card["parameters"] == sum(p.numel() for p in model.parameters())


def test_float16_storage_loads_as_float32(tmp_path):
    torch.manual_seed(0)
    model = build("capsnet").eval()
    save(model, "capsnet", tmp_path, dtype=torch.float16)
    loaded = load_model("capsnet", tmp_path)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(_outputs("capsnet", loaded, x), _outputs("capsnet", model, x), atol=2e-3, rtol=1e-2)


def test_missing_checkpoint_names_the_command(tmp_path):
    with pytest.raises(CheckpointMissingError) as err:
        load_model("capsnet", tmp_path)
    assert "scripts/train.py --model capsnet" in str(err.value)


def test_truncated_weights(tmp_path):
    folder = save(build("ae_plain"), "ae_plain", tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointCorruptError):
        load_model("ae_plain", tmp_path)


def test_garbage_weights_and_card(tmp_path):
    folder = save(build("ae_plain"), "ae_plain", tmp_path)
    (folder / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointCorruptError):
        load_model("ae_plain", tmp_path)
    (folder / "card.json").write_text("{not json")
    with pytest.raises(CheckpointCorruptError):
        load_model("ae_plain", tmp_path)


def test_wrong_shape_is_a_mismatch(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = save(build("ae_plain"), "ae_plain", tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["encoder.1.weight"] = torch.zeros(16, 784)
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointMismatchError) as err:
        load_model("ae_plain", tmp_path)
    assert "encoder.1.weight" in str(err.value)


def test_config_that_disagrees_with_weights(tmp_path):
    folder = save(build("ae_plain"), "ae_plain", tmp_path)
    card = json.loads((folder / "card.json").read_text())
    card["config"]["code_dim"] = 8
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointMismatchError):
        load_model("ae_plain", tmp_path)
    card["config"] = {"bogus": 1}
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointMismatchError):
        load_model("ae_plain", tmp_path)


def test_nothing_is_unpickled():
    import inspect

    src = inspect.getsource(checkpoints)
    assert "torch.load" not in src and "pickle" not in src.replace("unpickled", "")


def test_update_metrics_merges(tmp_path):
    save(build("cnn"), "cnn", tmp_path, card={"metrics": {"a": 1}})
    card = checkpoints.update_metrics("cnn", {"b": 2}, tmp_path)
    assert card["metrics"] == {"a": 1, "b": 2}
    assert checkpoints.available(tmp_path) == ["cnn"]


def test_read_history_parses_numbers_and_is_empty_without_a_file(tmp_path):
    from advdl.checkpoints import HISTORY, read_history

    assert read_history("dcgan", tmp_path) == []
    (tmp_path / "dcgan").mkdir()
    (tmp_path / "dcgan" / HISTORY).write_text("epoch,loss_d,note\n1,1.25,warm\n2,0.5,\n")
    assert read_history("dcgan", tmp_path) == [{"epoch": 1, "loss_d": 1.25, "note": "warm"}, {"epoch": 2, "loss_d": 0.5}]


def test_a_cards_device_splits_into_chip_and_cores():
    from advdl.cards import split_device
    from advdl.training import device_name

    assert split_device("AMD EPYC, 2 cores") == ("AMD EPYC", 2)
    assert split_device("x86_64 CPU, 1 core") == ("x86_64 CPU", 1)
    assert split_device("NVIDIA H200") == ("NVIDIA H200", None)
    assert split_device(device_name(torch.device("cpu")))[1] is not None  # what training writes, it can read
