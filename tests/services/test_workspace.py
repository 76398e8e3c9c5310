"""The GUI's document without Qt (services.workspace): what each change does to the state, which events it
emits and in which order, the shown quantity and its views; and that it loads no Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.core.spectral.responses import STANDARD_WAVELENGTHS
from hsi_studio.services.workspace import EVENTS, Event, Workspace

WL = STANDARD_WAVELENGTHS


def _cube(h=6, w=8, kind="radiance", value=0.5, **metadata) -> HSCube:
    return HSCube(np.full((h, w, WL.size), value, np.float32), WL.copy(), kind=kind, metadata=metadata)


def _photo(h=6, w=8) -> RGBImage:
    return RGBImage(np.full((h, w, 3), 0.5, np.float32))


def _recorder(ws: Workspace) -> list[str]:
    seen: list[str] = []
    for name in EVENTS:
        ws.subscribe(name, lambda name=name: seen.append(name))
    return seen


def test_event_calls_its_callbacks_in_order_once_each_and_can_be_disconnected():
    event, calls = Event("cube"), []
    first = event.connect(lambda: calls.append(1))
    event.connect(lambda: calls.append(2))
    event.connect(first)  # connected once
    event.emit()
    assert calls == [1, 2] and len(event) == 2
    event.disconnect(first)
    event.emit()
    assert calls == [1, 2, 2]
    with pytest.raises(KeyError, match="expected one of photo, cube, ground_truth, quantity"):
        Workspace().subscribe("cubes", print)


def test_photo_then_cubes_previous_and_names():
    ws = Workspace()
    seen = _recorder(ws)
    photo = _photo()
    ws.set_photo(photo, Path("dir/photo.png"))
    assert (ws.photo, ws.cube, ws.source, ws.cube_name, seen) == (photo, None, Path("dir/photo.png"), "", ["photo"])

    first, second, std = _cube(), _cube(value=0.25), _cube(value=0.01)
    ws.set_cube(first, name="Mallett 2019 of photo.png", keep_photo=True)
    assert ws.photo is photo and ws.cube is first and ws.previous is None and seen[-1] == "cube"
    ws.set_cube(second, std)
    assert ws.photo is None and ws.cube is second and ws.std is std  # a cube without its photo
    assert ws.previous == (first, "Mallett 2019 of photo.png") and ws.comparable_previous() == "Mallett 2019 of photo.png"
    assert ws.cube_name == "cube"
    ws.set_cube(second, source=Path("x/opened.h5"))  # the same cube again: the previous one stays
    assert ws.previous[0] is first and ws.cube_name == "opened.h5" and ws.source == Path("x/opened.h5")
    ws.set_cube(_cube(4, 4))
    assert ws.previous[0] is second and ws.comparable_previous() is None  # another image size
    ws.set_photo(_photo())  # another photo: earlier cubes are of another scene
    assert ws.cube is ws.std is ws.previous is None and ws.cube_name == ""
    assert seen == ["photo", "cube", "cube", "cube", "cube", "photo"]


def test_ground_truth_is_checked_and_dropped_with_a_cube_of_another_size():
    ws = Workspace()
    seen = _recorder(ws)
    ws.set_cube(_cube())
    gt = _cube(value=0.4)
    ws.set_ground_truth(gt, "gt.h5")
    assert (ws.ground_truth, ws.gt_name, ws.gt_is_truth, ws.reference_label()) == (gt, "gt.h5", True, "ground truth")
    with pytest.raises(InputError, match=r"the cube to compare with is 3×3 but the cube is 6×8; expected the same "
                                         r"image size"):
        ws.set_ground_truth(_cube(3, 3), "other", truth=False)
    assert ws.ground_truth is gt  # nothing changed
    ws.set_ground_truth(_cube(value=0.3), "other.h5", truth=False)
    assert ws.reference_label() == "other.h5" and not ws.gt_is_truth
    ws.set_cube(_cube(value=0.2))  # same size: kept
    assert ws.ground_truth is not None
    seen.clear()
    ws.set_cube(_cube(4, 4))  # another size: dropped, announced before the cube
    assert ws.ground_truth is None and ws.gt_is_truth and ws.gt_name == "" and seen == ["ground_truth", "cube"]
    ws.set_ground_truth(None)
    assert seen[-1] == "ground_truth"


def test_plotted_reference_needs_the_same_wavelengths():
    ws = Workspace()
    ws.set_cube(_cube())
    gt = _cube()
    ws.set_ground_truth(gt)
    assert ws.plotted_reference() is gt
    other_grid = HSCube(np.zeros((6, 8, 3), np.float32), np.array([450.0, 550.0, 650.0]), kind="reflectance")
    ws.set_ground_truth(other_grid)
    assert ws.plotted_reference() is None


def test_quantity_and_views():
    ws = Workspace()
    seen = _recorder(ws)
    assert ws.quantity() == "radiance" and ws.view_cubes() == (None, None) and not ws.can_show_reflectance()
    ws.set_reflectance(True)
    assert seen == ["quantity"] and ws.quantity() == "radiance"  # no cube: nothing to divide
    measured = _cube(kind="reflectance")
    ws.set_cube(measured)
    assert ws.quantity() == "radiance" and ws.view_cubes() == (measured, None)  # already a reflectance

    # a reconstruction that records the light it was taken under has a reflectance estimate
    recon = _cube(response="cie1964-srgb")  # a reconstruction of an sRGB photo: its white is D65
    ws.set_cube(recon, _cube(value=0.01, response="cie1964-srgb"))
    assert ws.can_show_reflectance() and ws.quantity() == "reflectance"
    cube, std = ws.view_cubes()
    assert cube is not recon and cube.kind == "reflectance" and std is not None
    assert ws.view_cubes()[0] is cube  # computed once per cube
    assert ws.view_reference(None) is None
    ws.set_reflectance(False)
    assert ws.quantity() == "radiance" and ws.view_cubes()[0] is recon and ws.view_reference(recon) is recon


def test_workspace_loads_no_qt():
    code = ("import sys, json; import hsi_studio.services.workspace; "
            "print(json.dumps(sorted({k.split('.')[0] for k in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & {"PySide6", "pyqtgraph", "shiboken6", "torch"}
