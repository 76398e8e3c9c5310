"""The three training stages end to end through the CLI with tiny models: rgb-pretrain → stage1 → stage2 →
reconstruct; JSON lines; SIGTERM saves a checkpoint and exits 130; resume; DDP on two CPU processes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hsi_studio.cli import main
from hsi_studio.core.cube import RGBImage
from hsi_studio.core.ml import reconstruct as pipeline
from hsi_studio.core.ml.models import load_bundle
from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline
from hsi_studio.core.spectral.recovery import linear_srgb
from hsi_studio.core.storage.provenance import file_sha256 as sha256

ROOT = Path(__file__).resolve().parents[4]


def _jsonl(out: str) -> list[dict]:
    """JSON records in order; tolerant of two processes' lines landing on one line (DDP under a launcher)."""
    decoder, records = json.JSONDecoder(), []
    for line in out.splitlines():
        pos = line.find("{")
        while pos != -1:
            try:
                rec, end = decoder.raw_decode(line, pos)
            except ValueError:
                pos = line.find("{", pos + 1)
                continue
            records.append(rec)
            pos = line.find("{", end)
    return records


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """rgb-pretrain, stage 1 and stage 2 with tiny configs (a few steps each)."""
    tmp = tmp_path_factory.mktemp("stages")
    base = ["--tiny", "--device", "cpu", "--jsonl", "--threads", "1"]
    assert main(["train", "rgb-pretrain", "--builtin", "--out", str(tmp / "rgb"), *base]) == 0
    assert main(["train", "stage1", "--out", str(tmp / "s1"), "--steps", "6", *base]) == 0
    assert main(["train", "stage2", "--stage1", str(tmp / "s1" / "model"), "--base", str(tmp / "rgb" / "model"),
                 "--out", str(tmp / "s2"), *base]) == 0
    return tmp


def test_stage_outputs_and_reconstruction(trained, capsys):
    s1 = load_bundle(trained / "s1" / "model")
    assert type(s1).__name__ == "SpeUAE"
    uldm = load_bundle(trained / "s2" / "model")
    assert type(uldm).__name__ == "ULDM" and uldm.unet.config.in_channels == 8
    rgb = RGBImage(np.random.default_rng(0).uniform(0, 1, (20, 24, 3)).astype(np.float32))
    res = pipeline.reconstruct(rgb, trained / "s2" / "model", steps=2, samples=2)
    assert res.cube.shape == (20, 24, 31) and res.std is not None and res.device == "cpu"
    lin, _ = linear_srgb(rgb)
    assert np.abs(res.cube.data @ uldm.speuae.S.numpy() - lin).max() / lin.max() <= 1e-4
    training = json.loads((trained / "s2" / "model" / "training.json").read_text())
    assert training["training"]["steps"] == 4


def test_stage2_bundles_and_checkpoints_record_their_input_models(trained):
    from hsi_studio.core.ml.training.checkpoint import load_checkpoint
    from hsi_studio.core.ml.training.engine import latest_checkpoint

    prov = json.loads((trained / "s2" / "model" / "training.json").read_text())["provenance"]
    for key, folder in (("base", trained / "rgb" / "model"), ("stage1", trained / "s1" / "model")):
        assert prov[key] == {"path": str(folder), "sha256": sha256(folder / "manifest.json")}  # outside: as given
    assert {"torch", "diffusers", "numpy", "hsi_studio"} <= set(prov["libraries"])
    assert "init" not in prov and "data" not in prov and prov["scenes"]["generated_fraction"] == 1.0
    assert load_checkpoint(latest_checkpoint(trained / "s2"))["provenance"] == prov
    rgb = json.loads((trained / "rgb" / "model" / "training.json").read_text())["provenance"]
    assert "builtin" in rgb["images"]


def test_stage2_init_fine_tunes_an_existing_uldm(trained, capsys):
    """``--init`` continues from a finished ULDM bundle (e.g. models/default) instead of stage1 + base."""
    src = trained / "s2" / "model"
    out = trained / "s2-init"
    assert main(["train", "stage2", "--init", str(src), "--out", str(out), "--tiny", "--device", "cpu",
                 "--threads", "1", "--steps", "5", "--lighting", "flat"]) == 0  # SpaAE 2, ULDM 2, refiner 1
    stage = json.loads((out / "model" / "training.json").read_text())["training"]["stage"]
    assert stage["lighting"] == "flat" and stage["init"] == str(src)
    prov = json.loads((out / "model" / "training.json").read_text())["provenance"]
    assert prov["init"]["sha256"] == sha256(src / "manifest.json") and "base" not in prov
    before, after = load_bundle(src), load_bundle(out / "model")
    assert after.unet.config.in_channels == 8
    w0, w1 = before.unet.conv_in.weight, after.unet.conv_in.weight
    assert w0.shape == w1.shape and not np.allclose(w0.detach().numpy(), w1.detach().numpy())
    capsys.readouterr()
    code = main(["train", "stage2", "--init", str(trained / "s1" / "model"), "--out", str(trained / "bad"),
                 "--tiny"])
    assert code == 2 and "expected a ULDM bundle" in capsys.readouterr().err


def test_jsonl_records(trained):
    cfg = json.loads((trained / "s1" / "config.json").read_text())
    assert cfg["stage_name"] == "stage1" and cfg["steps"] == 6 and cfg["stage"]["tiny"] is True


def _train_cmd(out, *extra):
    return [sys.executable, "-m", "hsi_studio", "train", "stage1", "--tiny", "--device", "cpu", "--jsonl",
            "--threads", "1", "--out", str(out), *extra]


def test_sigterm_saves_a_checkpoint_and_resume_completes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_train_cmd(tmp_path / "run", "--steps", "400"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    seen = []
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        seen.append(line)
        if '"event": "step"' in line and json.loads(line)["step"] >= 3:
            proc.send_signal(signal.SIGTERM)
            break
        assert time.monotonic() < deadline
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    records = _jsonl("".join(seen) + out)
    assert any(r["event"] == "cancelled" for r in records)
    ckpts = sorted((tmp_path / "run" / "checkpoints").glob("step-*"))
    assert ckpts, "no checkpoint saved on SIGTERM"
    stopped = int(ckpts[-1].name.split("-")[1])
    done = subprocess.run(_train_cmd(tmp_path / "run", "--steps", str(stopped + 2), "--resume"),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    recs = _jsonl(done.stdout)
    assert recs[0]["event"] == "resumed" and recs[0]["step"] == stopped
    assert recs[-1]["event"] == "done" and recs[-1]["step"] == stopped + 2


def test_bad_training_input_exits_2(tmp_path, capsys):
    code = main(["train", "stage1", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--tiny"])
    _, err = capsys.readouterr()
    assert code == 2 and "missing" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "cfg.json"
    bad.write_text('{"steps": -1}')
    code = main(["train", "stage1", "--config", str(bad), "--out", str(tmp_path / "o2"), "--tiny"])
    assert code == 2
    code = main(["train", "stage2", "--stage1", str(tmp_path), "--base", str(tmp_path), "--out",
                 str(tmp_path / "o3"), "--tiny"])
    assert code == 2
    capsys.readouterr()
    code = main(["train", "stage2", "--init", str(ROOT / "models" / "default"), "--crop", "40", "--out",
                 str(tmp_path / "o4"), "--tiny"])
    assert code == 2 and "multiples of 32" in capsys.readouterr().err


def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path):
    """``accelerate launch`` with 2 processes on the CPU (gloo). In accelerate 1.x ``--cpu`` alone starts a
    single process, so the multi-process launcher is selected with ``--multi_gpu``, which uses gloo on CPU."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "hsi_studio",
           "train", "stage1", "--tiny", "--device", "cpu", "--jsonl", "--threads", "1", "--steps", "3",
           "--out", str(tmp_path / "ddp")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    done = [r for r in _jsonl(out.stdout) if r["event"] == "done"]
    assert sorted(r["rank"] for r in done) == [0, 1]
    assert done[0]["weights_sha256"] == done[1]["weights_sha256"]


def test_stop_file_checkpoints_and_exits_130(tmp_path):
    """``--stop-file``: the portable stop used by the training wizard (no signals on Windows)."""
    stop = tmp_path / "STOP"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_train_cmd(tmp_path / "run", "--steps", "400", "--stop-file", str(stop)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        rec = json.loads(line)
        if rec["event"] == "start":
            assert rec["steps"] == 400 and rec["step"] == 0
        if rec["event"] == "step" and rec["step"] >= 2:
            stop.touch()
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert any(r["event"] == "cancelled" for r in _jsonl("".join(seen) + out))
    assert sorted((tmp_path / "run" / "checkpoints").glob("step-*"))


def test_validation_files_inside_the_data_folder_are_not_trained_on(tmp_path):
    from hsi_studio.core.cube import HSCube
    from hsi_studio.core.io.api import write_cube
    from hsi_studio.core.ml.training.stages import default_config, make_stage
    from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS, camera_response

    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        write_cube(HSCube(rng.uniform(0, 1, (16, 16, 31)).astype(np.float32), STANDARD_WAVELENGTHS.copy()),
                   tmp_path / f"{name}.npy")
    cfg = default_config("stage1", tiny=True)
    cfg.stage.update(data=str(tmp_path), val=[str(tmp_path / "c.npy")], generated=0.0)
    stage = make_stage("stage1", cfg)
    stage._load_sources(cfg, 0, camera_response("cie1964-srgb"))
    assert len(stage.source.names) == 2 and len(stage.val) == 1


def test_stage2_refine_phase_adds_a_trained_refiner(trained, capsys):
    """``refine_steps``: the last steps train the RGB-guided CodeRefiner; the bundle carries it and a
    reconstruction through it still reproduces the input RGB exactly."""
    cfg = trained / "refine.json"
    cfg.write_text(json.dumps({"steps": 3, "batch_size": 2, "crop": 16, "val_every": 3, "ckpt_every": 3,
                               "warmup_steps": 1, "stage": {"spaae_steps": 0, "refine_steps": 2, "val_crop": 16,
                                                            "val_steps": 2, "spaae_crop": 16}}))
    out = trained / "s2-refine"
    assert main(["train", "stage2", "--init", str(trained / "s2" / "model"), "--config", str(cfg), "--out",
                 str(out), "--tiny", "--device", "cpu", "--threads", "1", "--jsonl"]) == 0
    phases = [json.loads(line).get("phase") for line in capsys.readouterr().out.splitlines()
              if '"event": "step"' in line]
    assert phases == ["uldm", "refine", "refine"]
    model = load_bundle(out / "model")
    assert type(model.refiner).__name__ == "CodeRefiner"
    assert json.loads((out / "model" / "model_index.json").read_text())["refiner"] == ["hsi_studio", "CodeRefiner"]
    last = model.refiner.net[-1].weight.detach().numpy()
    assert np.abs(last).max() > 0  # trained away from its zero (identity) start
    rgb = np.random.default_rng(0).uniform(0.05, 1, (16, 24, 3)).astype(np.float32)
    mean, _ = ULDMPipeline(model)(rgb, steps=2, samples=1)
    assert np.abs(mean @ model.speuae.S.numpy() - rgb).max() / rgb.max() <= 1e-4
