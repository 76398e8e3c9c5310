"""The three ULDM training stages, run by :mod:`hsi_studio.core.ml.training.engine`.

- ``rgb-pretrain``: the project's own small RGB latent diffusion model — first its AutoencoderKL (SpaAE) on
  photo crops (phase ``vae``), then its UNet on the frozen VAE's latents (phase ``unet``).
- ``stage1``: the SpeUAE on (cube, RGB) pairs: spectrum → u ∈ [−1, 1]³ → (y, u) → spectrum.
- ``stage2``: the ULDM — the RGB-pretrained UNet with ``conv_in`` widened for ``[z_t ‖ z_y]`` learns to
  denoise the SpaAE latents of the stage-1 codes ``u``, conditioned on the RGB latents ``z_y``.

A stage object answers: ``build(cfg)``, ``prepare_data(cfg, rank, world)``, ``batch(step, micro, device)``,
``loss(model, batch, step)``, ``phase(step)``, ``validate(model, device)``, ``export(model, dest, cfg, best)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hsi_studio.core.errors import InputError
from hsi_studio.core.ml.evaluation import mean_scores, spectral_scores
from hsi_studio.core.ml.training.config import STAGES, TrainConfig
from hsi_studio.core.storage.provenance import data_files, library_versions, model_input, portable_config


def default_config(name: str, *, tiny: bool = False) -> TrainConfig:
    """Settings that work out of the box on a 2-core CPU (tiny: a few seconds, for tests/smoke runs): the presets
    of :mod:`hsi_studio.core.ml.training.config`."""
    return TrainConfig.preset(name, tiny=tiny)


def make_stage(name: str, cfg: TrainConfig):
    cls = {"rgb-pretrain": RGBPretrainStage, "stage1": Stage1, "stage2": Stage2}.get(name)
    if cls is None:
        raise InputError(f"unknown training stage {name!r}; expected one of {', '.join(STAGES)}")
    return cls(cfg)


def _to_nchw(a: np.ndarray, device):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))).to(device)


def _record(cfg: TrainConfig, best, provenance: dict) -> dict:
    """What a bundle's ``training.json`` records: the settings (paths relative), the best validation, and the
    inputs' provenance."""
    return {"training": portable_config(cfg.to_dict()), "best": best, "provenance": provenance}


class _Stage:
    name = ""
    best_metric = "mrae"
    find_unused_parameters = False

    def __init__(self, cfg: TrainConfig):
        self.opts: dict[str, Any] = dict(cfg.stage)
        self.cfg = cfg
        self._provenance: dict | None = None

    def phase(self, step: int) -> str:
        return self.name

    def provenance(self) -> dict:
        """The inputs of this run (library versions, data files + sha256, input models' hashes, the scene
        generator's spectral libraries), computed once (after ``prepare_data``) and recorded in every checkpoint
        and bundle."""
        if self._provenance is None:
            self._provenance = {"libraries": library_versions(), **self._inputs()}
        return self._provenance

    def _inputs(self) -> dict:
        return {}

    def _spectral_inputs(self) -> dict:
        """Stages 1 and 2: the ``--data`` folder's cube files and the ``--val`` files (+ sha256), and the scene
        generator's libraries when scenes are generated."""
        from hsi_studio.core.ml.data import CubeFolder

        out: dict[str, Any] = {}
        if self.opts.get("data"):
            out["data"] = data_files(CubeFolder(self.opts["data"]).files)
        if self.opts.get("val"):
            out["val"] = data_files(self.opts["val"])
        source = getattr(self, "source", None)
        gen = getattr(source, "generator", None)
        if gen is not None:
            describe = getattr(gen, "provenance", None)
            out["scenes"] = {"generated_fraction": float(getattr(source, "generated_fraction", 0.0)),
                             **(describe() if callable(describe) else {})}
        return out


class _SpectralDataMixin:
    """Shared by stage 1 and stage 2: real cubes (+ generated scenes) → training pairs and a validation set."""

    def _load_sources(self, cfg: TrainConfig, rank: int, response) -> None:
        from hsi_studio.core.ml.data import CubeFolder, TrainingSource, split_validation, validation_pairs
        from hsi_studio.core.ml.data.scenes import SceneGenerator

        opts = self.opts
        val_files = {Path(v).resolve() for v in opts.get("val") or ()}
        cubes = []
        if opts.get("data"):  # validation files inside the data folder are never trained on
            train_files = [f for f in CubeFolder(opts["data"]).files if f.resolve() not in val_files]
            cubes = CubeFolder.load(train_files).cubes
            if not cubes:
                raise InputError(f"{opts['data']} holds no readable cubes besides the validation files; expected "
                                 "HSI cubes (any supported format)")
        if opts.get("val"):
            val = CubeFolder.load(list(opts["val"])).cubes
            if not val:
                raise InputError("none of the --val files could be read; expected HSI cubes (any supported format)")
        else:
            cubes, val = split_validation(cubes, float(opts.get("val_fraction", 0.2)))
        frac = float(opts.get("generated", 0.5)) if cubes else 1.0
        lighting = str(opts.get("lighting", "varied"))
        photos = None
        if opts.get("photos") and frac > 0:  # real photos for the generated scenes' layout (default: skimage's)
            from hsi_studio.core.ml.data.scenes import folder_photos

            photos = folder_photos(opts["photos"])[0]
        gen = SceneGenerator.default(seed=cfg.seed, lighting=lighting, photos=photos) if frac > 0 else None
        if not val:  # no real validation cube: fixed generated scenes
            gen = gen or SceneGenerator.default(seed=cfg.seed, lighting=lighting)
            val = [gen.generate(10_000_000 + i, 64) for i in range(2)]
        self.source = TrainingSource(cubes, gen, frac, response, seed=cfg.seed, sim=dict(opts.get("sim", {})))
        self.val = validation_pairs(val, response, crop=int(opts.get("val_crop", 128)),
                                    light=self.source.sim["light"])
        self.rank = rank


# ---------------------------------------------------------------------------------------------------------
class Stage1(_SpectralDataMixin, _Stage):
    name = "stage1"

    def build(self, cfg: TrainConfig):
        from hsi_studio.core.ml.models import SpeUAE
        from hsi_studio.core.spectral.responses import camera_response

        self.response = camera_response(self.opts.get("response") or "cie1964-srgb")
        return SpeUAE.from_response(self.response, hidden=int(self.opts["hidden"]),
                                    layers=int(self.opts["layers"]), spatial=bool(self.opts.get("spatial", True)),
                                    code_pool=int(self.opts.get("code_pool", 0) or 0),
                                    prior_weight=float(self.opts.get("prior_weight", 0.0) or 0.0))

    def prepare_data(self, cfg: TrainConfig, rank: int, world: int) -> None:
        self._load_sources(cfg, rank, self.response)

    def batch(self, step: int, micro: int, device):
        b = self.source.batch(step, self.cfg.batch_size, self.cfg.crop, micro=micro, rank=self.rank)
        return _to_nchw(b["cube"], device), _to_nchw(b["rgb"], device)

    def loss(self, model, batch, step):
        from hsi_studio.core.ml.training import losses

        x, y = batch
        loss, _ = losses.speuae_loss(model, x, y)
        return loss

    def validate(self, model, device, step: int) -> dict[str, float]:
        rows = []
        for pair in self.val:
            x, y = _to_nchw(pair["cube"][None], device), _to_nchw(pair["rgb"][None], device)
            xh, _ = model(x, y)
            rows.append(spectral_scores(xh[0].permute(1, 2, 0).cpu().numpy(), pair["cube"]))
        return mean_scores(rows)

    def _inputs(self) -> dict:
        return self._spectral_inputs()

    def export(self, model, dest: Path, cfg: TrainConfig, best) -> None:
        from hsi_studio.core.ml.models.bundle import save_speuae

        save_speuae(model, dest, extra=_record(cfg, best, self.provenance()))


# ---------------------------------------------------------------------------------------------------------
class RGBPretrainStage(_Stage):
    name = "rgb-pretrain"
    best_metric = "loss"
    find_unused_parameters = True

    def build(self, cfg: TrainConfig):
        from hsi_studio.core.ml.models import RGBLDM

        return RGBLDM.create(tiny=bool(self.opts.get("tiny")))

    def phase(self, step: int) -> str:
        return "vae" if step < int(self.opts["vae_steps"]) else "unet"

    def prepare_data(self, cfg: TrainConfig, rank: int, world: int) -> None:
        from hsi_studio.core.ml.data import PhotoSource
        from hsi_studio.core.ml.data.scenes import builtin_photos, folder_photos

        if self.opts.get("images"):
            photos, _ = folder_photos(self.opts["images"])
        else:
            photos = builtin_photos()
        if len(photos) > 1:
            self.val_photos, photos = photos[-1:], photos[:-1]
        else:
            self.val_photos = photos
        self.source, self.rank = PhotoSource(photos, seed=cfg.seed), rank
        self.val = PhotoSource(self.val_photos, seed=12345).batch(0, 4, self.cfg.crop)

    def batch(self, step: int, micro: int, device):
        crop = int(self.opts.get("vae_crop", self.cfg.crop)) if self.phase(step) == "vae" else self.cfg.crop
        return _to_nchw(self.source.batch(step, self.cfg.batch_size, crop, micro=micro, rank=self.rank), device)

    def loss(self, model, batch, step):
        from hsi_studio.core.ml.training import losses

        images = batch * 2 - 1
        if self.phase(step) == "vae":
            return losses.vae_loss(model, images)
        return losses.denoise_loss(model, model.encode_latents(images))

    def validate(self, model, device, step: int) -> dict[str, float]:
        import torch

        from hsi_studio.core.ml.training import losses

        images = _to_nchw(self.val, device) * 2 - 1
        recon = model.vae.decode(model.encode_latents(images) / model.vae.config.scaling_factor).sample
        mse = float(torch.mean((recon.clamp(-1, 1) - images) ** 2) / 4)
        gen = torch.Generator(device="cpu").manual_seed(0)
        dn = float(losses.denoise_loss(model, model.encode_latents(images), generator=gen))
        return {"loss": dn if self.phase(step - 1) == "unet" else mse,
                "vae_psnr": float(10 * np.log10(1 / max(mse, 1e-12))), "denoise_mse": dn}

    def _inputs(self) -> dict:
        if self.opts.get("images"):
            from hsi_studio.core.io.api import RGB_EXTENSIONS

            files = sorted(p for p in Path(self.opts["images"]).iterdir() if p.suffix.lower() in RGB_EXTENSIONS)
            return {"images": data_files(files)}
        from importlib import metadata

        return {"images": {"builtin": "scikit-image's photos (skimage.data)",
                           "scikit-image": metadata.version("scikit-image")}}

    def export(self, model, dest: Path, cfg: TrainConfig, best) -> None:
        from hsi_studio.core.ml.models.bundle import save_rgbldm

        save_rgbldm(model, dest, extra=_record(cfg, best, self.provenance()))


# ---------------------------------------------------------------------------------------------------------
class Stage2(_SpectralDataMixin, _Stage):
    """Phase ``spaae`` (first ``spaae_steps``): fine-tune the SpaAE on code images so decoding u loses little
    spectral information; phase ``uldm``: train the UNet (SpaAE and SpeUAE frozen); phase ``refine`` (last
    ``refine_steps``): train the RGB-guided :class:`CodeRefiner` on SpaAE round trips (everything else frozen;
    added to the model when it has none); phase ``head`` (the last ``head_steps``, after any refine steps):
    distil the SpaAE decoder into a latent-resolution :class:`CodeHead` (added when the model has none)."""

    name = "stage2"
    find_unused_parameters = True

    def phase(self, step: int) -> str:
        if step < int(self.opts.get("spaae_steps", 0)):
            return "spaae"
        head = int(self.opts.get("head_steps", 0) or 0)
        if step >= int(self.cfg.steps) - head:
            return "head"
        if step >= int(self.cfg.steps) - head - int(self.opts.get("refine_steps", 0) or 0):
            return "refine"
        return "uldm"

    def build(self, cfg: TrainConfig):
        from hsi_studio.core.ml.models import ULDM
        from hsi_studio.core.ml.models.bundle import load_base, load_bundle
        from hsi_studio.core.ml.reconstruct import bundle_class

        if self.opts.get("init"):
            if self.opts.get("stage1") or self.opts.get("base"):
                raise InputError("stage2 takes either --init ULDM_BUNDLE or --stage1 with --base, not both")
            model = load_bundle(self.opts["init"])
            if not isinstance(model, ULDM):
                raise InputError(f"--init {self.opts['init']} is a {type(model).__name__} bundle; expected a ULDM "
                                 "bundle (a stage-2 model/ folder or models/default)")
            # its correction gain and σ scale were fitted for the weights it had: training changes them, so the
            # result starts uncalibrated (benchmarks/uncertainty.py --fit-gain --write calibrates it again)
            model.correction_gain, model.sigma_scale = 1.0, 1.0
        elif not self.opts.get("stage1") or not self.opts.get("base"):
            raise InputError("stage2 needs --stage1 BUNDLE (stage 1's model/) and --base (an RGB LDM or SD folder), "
                             "or --init ULDM_BUNDLE to fine-tune an existing model")
        else:
            speuae = load_bundle(self.opts["stage1"])
            if bundle_class(self.opts["base"]) == "ULDM":  # a trained ULDM (e.g. models/default) as the base:
                base = load_bundle(self.opts["base"])    # its SpaAE and adapted UNet (and, for a corrective
                model = ULDM(speuae, base.vae, base.unet, base.scheduler_config,  # ULDM, the spatial mean its
                             float(base.latent_scale), mean=base.mean)            # UNet is conditioned on)
            else:
                model = ULDM.from_parts(speuae, load_base(self.opts["base"]))
        if self.opts.get("mean"):  # corrective diffusion around a trained fast model (issue 21)
            from hsi_studio.core.ml.models.spatial import FastModel

            if model.mean is not None:
                raise InputError(f"--init {self.opts.get('init')} already has a spatial mean; expected --mean only "
                                 "when making a plain ULDM corrective")
            mean = load_bundle(self.opts["mean"])
            if not isinstance(mean, FastModel):
                raise InputError(f"--mean {self.opts['mean']} is a {type(mean).__name__} bundle; expected a fast "
                                 "model bundle (train fast's model/ or models/fast)")
            model.add_mean(mean)
        if int(self.opts.get("refine_steps", 0) or 0) > 0 and model.refiner is None:
            model.add_refiner()
        if int(self.opts.get("head_steps", 0) or 0) > 0 and model.code_head is None:
            model.add_code_head()
        m = int(model.pad_multiple)
        if int(cfg.crop) % m:
            raise InputError(f"crop {cfg.crop} px does not fit this base model: its UNet needs crops that are "
                             f"multiples of {m} px (e.g. {max(m, int(cfg.crop) // m * m)})")
        for p in model.speuae.parameters():
            p.requires_grad_(False)
        if not int(self.opts.get("spaae_steps", 0)):
            for p in model.vae.parameters():
                p.requires_grad_(False)
        self.response = model.response
        return model

    def prepare_data(self, cfg: TrainConfig, rank: int, world: int) -> None:
        self._load_sources(cfg, rank, self.response)

    def batch(self, step: int, micro: int, device):
        crop = (int(self.opts.get("spaae_crop", self.cfg.crop)) if self.phase(step) in ("spaae", "refine")
                else self.cfg.crop)
        b = self.source.batch(step, self.cfg.batch_size, crop, micro=micro, rank=self.rank)
        return _to_nchw(b["cube"], device), _to_nchw(b["rgb"], device)

    def loss(self, model, batch, step):
        from hsi_studio.core.ml.training import losses

        x, y = batch
        phase = self.phase(step)
        if phase == "spaae":
            return losses.spaae_loss(model, x, y)
        if phase == "head":
            return losses.code_head_loss(model, x, y, steps=int(self.opts.get("val_steps", 8)))
        if phase == "refine":
            return losses.refine_loss(model, x, y, source=str(self.opts.get("refine_source", "samples")),
                                      steps=int(self.opts.get("val_steps", 8)))
        return losses.uldm_loss(model, x, y)

    def validate(self, model, device, step: int) -> dict[str, float]:
        from hsi_studio.core.ml.pipelines.uldm_pipeline import ULDMPipeline

        pipe = ULDMPipeline(model)
        rows = []
        for pair in self.val:
            mean, _ = pipe(pair["rgb"], steps=int(self.opts.get("val_steps", 8)), samples=1, seed=0,
                           device=str(device))
            rows.append(spectral_scores(mean, pair["cube"]))
        return mean_scores(rows)

    def _inputs(self) -> dict:
        out = {key: model_input(self.opts[key]) for key in ("init", "stage1", "base", "mean") if self.opts.get(key)}
        return {**out, **self._spectral_inputs()}

    def export(self, model, dest: Path, cfg: TrainConfig, best) -> None:
        from hsi_studio.core.ml.models.bundle import save_uldm

        save_uldm(model, dest, extra=_record(cfg, best, self.provenance()))


__all__ = ["STAGES", "default_config", "make_stage", "Stage1", "Stage2", "RGBPretrainStage"]
