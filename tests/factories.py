"""The tests' shared factories: small cubes, cube folders, photos, scenes, a ColorChecker photo, tiny models and
a toy training stage. Every test imports them from here (``from factories import …``: pyproject puts ``tests/``
on the path, for test modules and the subprocesses they start alike); no test imports another test module.

Each factory is deterministic (fixed seeds) and makes exactly what the tests that used to carry their own copy
made, so the tests' expected numbers are unchanged. torch is imported inside the model factories only, so that
a torch-free test importing this module stays torch-free.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hsi_studio.core.cube import HSCube

WL31 = np.arange(400.0, 701.0, 10.0)  # the standard 31-band grid (the same values as STANDARD_WAVELENGTHS)
RESPONSE = "cie1964-srgb"  # the camera response of every tiny model


# ---------------------------------------------------------------------------------------------------------
# Cubes and cube folders
# ---------------------------------------------------------------------------------------------------------
def random_cube(shape=(6, 5, 31), *, seed: int = 0, low: float = 0.1, high: float = 0.9, wl=None,
                kind: str | None = None) -> HSCube:
    """A cube of uniform random values on ``wl`` (default: 400–700 nm in 10 nm steps)."""
    data = np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)
    wl = WL31.copy() if wl is None else wl
    return HSCube(data, wl) if kind is None else HSCube(data, wl, kind=kind)


def write_cube_folder(root: Path, n: int = 2, size: int | tuple[int, int] = 16, *, seed: int = 0,
                      low: float = 0.1, high: float = 0.9, names=None, suffix: str = ".h5",
                      kind: str | None = "reflectance") -> Path:
    """``root`` with ``n`` random cubes (``scene0.h5`` … or ``names``), drawn one after another from one
    generator seeded with ``seed``. Returns ``root``."""
    from hsi_studio.core.io.api import write_cube

    root.mkdir(parents=True, exist_ok=True)
    h, w = (size, size) if isinstance(size, int) else size
    names = [f"scene{i}" for i in range(n)] if names is None else list(names)
    rng = np.random.default_rng(seed)
    for name in names:
        data = rng.uniform(low, high, (h, w, WL31.size)).astype(np.float32)
        cube = HSCube(data, WL31.copy()) if kind is None else HSCube(data, WL31.copy(), kind=kind)
        write_cube(cube, root / f"{name}{suffix}")
    return root


def smooth_cubes(n: int = 3, size: int = 24, seed: int = 0, block: int = 6) -> list[HSCube]:
    """Reflectance-like cubes: four smooth spectra (sums of Gaussians) painted in ``block``-pixel squares."""
    rng = np.random.default_rng(seed)
    basis = np.stack([np.exp(-0.5 * ((WL31 - c) / 40.0) ** 2) for c in (430, 480, 530, 580, 630, 680)])
    cubes = []
    for _ in range(n):
        spectra = np.clip(0.05 + rng.random((4, 6)) @ basis / 3, 0, 1)
        labels = rng.integers(0, 4, (size // block, size // block)).repeat(block, 0).repeat(block, 1)
        cubes.append(HSCube(spectra[labels].astype(np.float32), WL31.copy(), kind="reflectance"))
    return cubes


def planted_scene(seed: int = 0, size: int = 48):
    """(cube, paint spectrum, truth mask): a background of two materials with noise and shading, and a third
    material planted in three blobs (the truth an analysis should find)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, WL31.size)
    grass = 0.1 + 0.5 / (1 + np.exp(-(WL31 - 560) / 15)) * np.exp(-((WL31 - 560) / 80) ** 2) + 0.05 * x
    soil = 0.15 + 0.3 * x
    paint = 0.2 + 0.6 * np.exp(-((WL31 - 470) / 25) ** 2)
    truth = np.zeros((size, size), bool)
    yy, xx = np.mgrid[:size, :size]
    for cy, cx, r in ((10, 12, 4), (30, 35, 6), (40, 8, 3)):
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    base = np.where((xx < size // 2)[..., None], grass, soil)
    data = np.where(truth[..., None], paint, base)
    brightness = rng.uniform(0.5, 1.5, (size, size, 1))  # SAM is scale invariant: shading must not matter
    data = data * brightness * (1 + 0.02 * rng.standard_normal(data.shape))
    return HSCube(np.asarray(data, np.float32), WL31), paint, truth


# ---------------------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------------------
def blocky_photo(h: int, w: int, seed: int, *, block: int, scale: float, offset: float = 0.05) -> np.ndarray:
    """A linear-RGB photo of flat random ``block``-pixel squares, values in [offset, offset + scale)."""
    rng = np.random.default_rng(seed)
    img = rng.random((h // block + 1, w // block + 1, 3)).repeat(block, 0).repeat(block, 1)[:h, :w]
    return (img * scale + offset).astype(np.float32)


def astronaut_crop() -> np.ndarray:
    """A real photo: scikit-image's astronaut, her face and the background (256×256 sRGB, float32 in [0, 1])."""
    import skimage.data

    return skimage.data.astronaut()[64:320, 128:384].astype(np.float32) / 255


def upscaled_photo(size: int) -> np.ndarray:
    """:func:`astronaut_crop` upscaled bicubically to ``size``: smooth at the pixel scale, as a phone photo viewed
    at 100 % is."""
    from skimage.transform import resize

    return resize(astronaut_crop(), (size, size), order=3, anti_aliasing=False).clip(0, 1).astype(np.float32)


def blotchiness(band: np.ndarray) -> float:
    """Energy between 2 and 16 px (a difference of Gaussians), relative to the band's mean level: the fake
    texture a model can add to the bands a camera barely sees."""
    from scipy.ndimage import gaussian_filter

    d = gaussian_filter(band, 2) - gaussian_filter(band, 16)
    return float(np.abs(d).mean() / max(float(band.mean()), 1e-6))


CHART_GAP = 0.25  # chart_from_corners' gap between patches, as a fraction of a patch


def chart_photo(transform=np.eye(3), *, patch=24, margin=30, background=0.18, exposure=0.8):
    """(linear H×W×3 photo, 4 outer corners): the 24 patches' reference linear sRGB × exposure, seen through
    ``transform`` (row vectors: photo = ref @ transform), on a grey background."""
    from hsi_studio.core.photo import correction as pc

    ref = pc.reference_linear() * exposure
    step = patch * (1 + CHART_GAP)
    w, h = int(round(6 * patch + 5 * CHART_GAP * patch)), int(round(4 * patch + 3 * CHART_GAP * patch))
    img = np.full((h + 2 * margin, w + 2 * margin, 3), background, np.float64)
    for i in range(24):
        r, c = divmod(i, 6)
        y0, x0 = margin + int(round(r * step)), margin + int(round(c * step))
        img[y0:y0 + patch, x0:x0 + patch] = ref[i]
    img = img @ transform
    corners = np.array([[margin, margin], [margin + w, margin], [margin + w, margin + h], [margin, margin + h]],
                       float)
    return img, corners


def write_chart_png(path: Path, transform=np.eye(3)):
    """:func:`chart_photo` saved as an 8-bit sRGB PNG at ``path``; returns (path, corners)."""
    from PIL import Image

    from hsi_studio.core.spectral.responses import srgb_encode

    img, corners = chart_photo(transform)
    Image.fromarray(np.round(srgb_encode(np.clip(img, 0, 1).astype(np.float32)) * 255).astype(np.uint8)).save(path)
    return path, corners


# ---------------------------------------------------------------------------------------------------------
# Command line and model folders
# ---------------------------------------------------------------------------------------------------------
def run_cli(args, capsys):
    """``hsi-studio ARGS`` in this process: (exit code, stdout, stderr)."""
    from hsi_studio.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def fake_bundle(folder: Path, cls: str | None = "ULDM") -> Path:
    """A folder that looks like a bundle of class ``cls`` to the model list (only ``model_index.json``; ``None``:
    an unreadable one)."""
    import json

    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": cls}) if cls else "{not json")
    return folder


# ---------------------------------------------------------------------------------------------------------
# Tiny models (random weights, fixed seeds, CPU)
# ---------------------------------------------------------------------------------------------------------
def tiny_speuae(seed: int = 0, hidden: int = 8, layers: int = 2, **kw):
    """A small SpeUAE for the standard camera, in eval mode."""
    import torch

    from hsi_studio.core.ml.models import SpeUAE
    from hsi_studio.core.spectral.responses import camera_response

    torch.manual_seed(seed)
    return SpeUAE.from_response(camera_response(RESPONSE), hidden=hidden, layers=layers, **kw).eval()


def tiny_uldm(seed: int = 0, speuae=None):
    """A tiny ULDM: :func:`tiny_speuae` (``seed``) over the tiny RGB latent-diffusion base (``seed + 1``)."""
    import torch

    from hsi_studio.core.ml.models import RGBLDM, ULDM

    speuae = tiny_speuae(seed) if speuae is None else speuae
    torch.manual_seed(seed + 1)
    return ULDM.from_base(RGBLDM.create(tiny=True), speuae).eval()


def tiny_fast(seed: int = 0, width: int = 8, *, weight_std: float | None = None, bias_std: float | None = None):
    """A tiny fast model (spatial U-Net over a 16-unit MLP prior), in eval mode. ``weight_std`` / ``bias_std``
    draw the output layer from a normal law: a trained-looking, non-zero residual (else the residual is zero)."""
    import torch

    from hsi_studio.core.ml.models.regression import PixelRegression
    from hsi_studio.core.ml.models.spatial import FastModel
    from hsi_studio.core.spectral.responses import camera_response

    torch.manual_seed(seed)
    prior = PixelRegression.from_response(camera_response(RESPONSE), kind="mlp", hidden=16)
    model = FastModel.from_prior(prior, width=width)
    if weight_std is not None:
        torch.nn.init.normal_(model.spatial.out.weight, std=weight_std)
    if bias_std is not None:
        torch.nn.init.normal_(model.spatial.out.bias, std=bias_std)
    return model.eval()


# ---------------------------------------------------------------------------------------------------------
# A toy training stage: the training engine tested alone (also run by killed subprocesses)
# ---------------------------------------------------------------------------------------------------------
class ToyStage:
    """Fit y = x W: data a pure function of the step, so runs are reproducible. ``dropout`` > 0 makes the torch
    RNG matter (exact resume must restore it); ``scored`` validates on a fixed set instead of returning 0."""

    name = "toy"
    best_metric = "mse"

    def __init__(self, hidden: int = 16, dropout: float = 0.0, scored: bool = False):
        self.hidden, self.dropout, self.scored = hidden, dropout, scored

    def build(self, cfg):
        import torch

        torch.manual_seed(cfg.seed)
        drop = [torch.nn.Dropout(self.dropout)] if self.dropout else []
        return torch.nn.Sequential(torch.nn.Linear(8, self.hidden), *drop, torch.nn.Linear(self.hidden, 4))

    def prepare_data(self, cfg, rank, world):
        self.cfg, self.rank = cfg, rank
        self.w = np.random.default_rng(123).normal(size=(8, 4)).astype(np.float32)

    def batch(self, step, micro, device):
        import torch

        rng = np.random.default_rng([self.cfg.seed, step, micro, self.rank])
        x = rng.normal(size=(self.cfg.batch_size, 8)).astype(np.float32)
        return torch.from_numpy(x).to(device), torch.from_numpy(x @ self.w).to(device)

    def loss(self, model, batch, step):
        import torch

        x, y = batch
        return torch.nn.functional.mse_loss(model(x), y)

    def phase(self, step):
        return "fit"

    def validate(self, model, device, step):
        import torch

        if not self.scored:
            return {"mse": 0.0}
        x = torch.from_numpy(np.random.default_rng(7).normal(size=(64, 8)).astype(np.float32))
        return {"mse": float(torch.nn.functional.mse_loss(model(x), x @ torch.from_numpy(self.w)))}

    def export(self, model, dest, cfg, best):
        from hsi_studio.core.ml.training.checkpoint import save_checkpoint

        save_checkpoint(dest, {"model": model.state_dict()})


def toy_config(**kw):
    """A 4-step CPU TrainConfig for :class:`ToyStage`; keywords override."""
    from hsi_studio.core.ml.training.engine import TrainConfig

    base = dict(steps=4, batch_size=4, lr=1e-2, warmup_steps=1, val_every=2, ckpt_every=2, keep_last=2,
                device="cpu", ema_decay=0.9, threads=1)
    base.update(kw)
    return TrainConfig.from_dict(base)


# -- real cameras (the camspec database's layout) ------------------------------------------------------------
def camspec_text(cams: dict[str, np.ndarray]) -> str:
    """The database's layout: a header, then per camera a name line and R, G, B lines of 33 values."""
    out = ["http://example.invalid/camspec", "400nm-720nm, step 10nm", "---------", ""]
    for name, s in cams.items():
        out.append(name)
        for ch in range(3):
            vals = np.concatenate([s[:, ch], [0.001, 0.0005]])  # 720 nm ends the database's rows
            out.append("\t".join(f"{v:.7g}" for v in vals))
    return "\n".join(out) + "\n"


def smooth_camera(seed: int) -> np.ndarray:
    """Three smooth, overlapping, non-negative bumps: a plausible camera that is not the CIE observer."""
    rng = np.random.default_rng(seed)
    wl = WL31
    centres = np.array([600.0, 535.0, 460.0]) + rng.uniform(-15, 15, 3)
    return np.exp(-0.5 * ((wl[:, None] - centres) / rng.uniform(25, 45, 3)) ** 2)
