"""The ColorChecker is a test, never training data: no chart spectrum in any training source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hsi_studio.core.ml.data.scenes import (
    COLORCHECKER_FILES,
    ReflectanceLibrary,
    colorchecker_mask,
    colorchecker_references,
)

ROOT = Path(__file__).resolve().parents[4]
SHARED = ROOT.parent / "shared" / "data"


def _far_from_charts(spectra: np.ndarray, refs: np.ndarray, rms: float = 0.015) -> bool:
    d = np.sqrt(((spectra[:, None, :] - refs[None]) ** 2).mean(-1))
    return bool(d.min() >= rms)


def test_builtin_library_has_no_chart_spectrum():
    lib = ReflectanceLibrary.builtin()
    refs = colorchecker_references(shared="/nonexistent")
    assert len(lib) > 100
    assert _far_from_charts(lib.spectra, refs)
    assert not any("ColourChecker" in s["name"] for s in lib.sources)


def test_mask_finds_a_chart_hidden_in_a_library():
    refs = colorchecker_references(shared="/nonexistent")
    chart = refs[24:48]  # BabelColor Average, X-Rite order
    rng = np.random.default_rng(0)
    others = rng.uniform(0.05, 0.9, (200, 1)) * (1 + 0.3 * np.sin(np.linspace(0, rng.uniform(1, 6), 31)))[None]
    # a measured chart a little off the reference (ageing, another instrument): found as a run of 24
    measured = np.clip(chart * rng.uniform(0.93, 1.07, (24, 1)) + rng.normal(0, 0.01, chart.shape), 0, 1)
    lib = np.concatenate([others[:80], measured, others[80:]])
    mask = colorchecker_mask(lib, refs)
    assert mask[80:104].all()
    # one near-duplicate patch on its own is found too; unrelated spectra are kept
    single = np.concatenate([others, chart[5:6] + 0.003])
    m2 = colorchecker_mask(single, refs)
    near = np.sqrt(((others[:, None, :] - refs[None]) ** 2).mean(-1)).min(1) < 0.015
    assert m2[-1] and (m2[:-1] == near).all() and (~near).sum() > 150


@pytest.mark.skipif(not (SHARED / "reflectances").is_dir(), reason="../shared/data absent")
def test_shared_library_drops_the_chart_files_and_the_chart_inside_simon_fraser():
    lib = ReflectanceLibrary.load(SHARED)
    names = [s["name"] for s in lib.sources]
    assert not any(f in n for n in names for f in COLORCHECKER_FILES)
    sfu = next(s for s in lib.sources if "SimonFraser" in s["name"])
    assert sfu["colorchecker_excluded"] >= 24
    assert _far_from_charts(lib.spectra, colorchecker_references(SHARED))


def test_recipe_training_set_leaves_out_the_chart_scene():
    split = json.loads((ROOT / "recipes" / "default" / "split.json").read_text())["sets"]
    files = [e["file"] for e in split["cave_train_nochart"]]
    assert files and not any("chart" in f for f in files)
    val = {e["file"] for e in split["cave_val"]}
    assert not val & set(files)
