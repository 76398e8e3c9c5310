"""The training engine: exact resume (2 + resume + 2 steps == 4 steps), pickle-free checkpoints, cancel,
JSON-able logs. Uses a tiny regression stage
(``ToyStage``, tests/factories.py) so it tests the engine alone."""

import json

import numpy as np
import pytest
import torch
from factories import ToyStage as _Toy

from hsi_studio.core.errors import FileFormatError, InputError, UnsafeFileError
from hsi_studio.core.jobs import Cancelled, CancelToken
from hsi_studio.core.ml.training.checkpoint import load_checkpoint, save_checkpoint
from hsi_studio.core.ml.training.engine import TrainConfig, latest_checkpoint, run_training, weights_digest
from hsi_studio.core.storage.manifest import verify_manifest


def ToyStage():  # reads as the class it builds
    """Fit y = x W with dropout (so the torch RNG matters) on data that is a pure function of the step."""
    return _Toy(dropout=0.2, scored=True)


def cfg(**kw):
    base = dict(steps=4, batch_size=4, lr=1e-2, warmup_steps=1, val_every=2, ckpt_every=2, keep_last=2,
                device="cpu", grad_accum=2, ema_decay=0.9)
    base.update(kw)
    return TrainConfig.from_dict(base)


def test_two_plus_resume_plus_two_equals_four(tmp_path):
    full = run_training(ToyStage(), cfg(), tmp_path / "full")
    token = CancelToken()
    logs = []

    def log(rec):
        logs.append(rec)
        if rec.get("event") == "step" and rec["step"] == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run_training(ToyStage(), cfg(), tmp_path / "split", cancel=token, log=log)
    ck = latest_checkpoint(tmp_path / "split")
    assert ck is not None and ck.name == "step-00000002"
    resumed = run_training(ToyStage(), cfg(), tmp_path / "split", resume=True)
    assert resumed.step == 4
    assert resumed.weights_sha256 == full.weights_sha256
    a = load_checkpoint(latest_checkpoint(tmp_path / "full"))
    b = load_checkpoint(latest_checkpoint(tmp_path / "split"))
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k])
    for x, y in zip(a["ema"]["shadow_params"], b["ema"]["shadow_params"], strict=True):
        assert torch.equal(x, y)
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    json.dumps(logs)  # every log record is JSON-able
    assert logs[0]["event"] == "start" and logs[0]["steps"] == 4 and logs[0]["step"] == 0
    first_step = next(r for r in logs if r["event"] == "step")
    assert {"step", "loss", "lr", "val", "eta_s", "phase"} <= set(first_step)


def test_refuses_to_clobber_and_resume_without_checkpoint(tmp_path):
    run_training(ToyStage(), cfg(steps=2), tmp_path / "a")
    with pytest.raises(InputError, match="already holds checkpoints"):
        run_training(ToyStage(), cfg(steps=2), tmp_path / "a")
    with pytest.raises(InputError, match="no checkpoint"):
        run_training(ToyStage(), cfg(steps=2), tmp_path / "b", resume=True)


def test_checkpoint_is_pickle_free_and_verified(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "n": 3, "t": (1, 2.5), 7: {"x": np.ones(2)}}
    path = save_checkpoint(tmp_path / "ck", state)
    back = load_checkpoint(path)
    assert back["n"] == 3 and back["t"] == (1, 2.5) and torch.equal(back["w"], state["w"])
    assert np.array_equal(back[7]["x"], np.ones(2))
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "state.json", "tensors.safetensors"]
    raw = bytearray((path / "tensors.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (path / "tensors.safetensors").write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="sha256"):
        load_checkpoint(path)
    (path / "optimizer.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(UnsafeFileError, match="pickle"):
        verify_manifest(path)


def test_bad_config_is_reported(tmp_path):
    with pytest.raises(InputError, match="unknown training setting"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(InputError, match="positive integer"):
        TrainConfig.from_dict({"steps": 0})
    p = tmp_path / "c.json"
    p.write_text("[1, 2]")
    with pytest.raises(InputError, match="JSON object"):
        TrainConfig.from_json(p)
    assert weights_digest(torch.nn.Linear(2, 2)) != weights_digest(torch.nn.Linear(2, 2))
