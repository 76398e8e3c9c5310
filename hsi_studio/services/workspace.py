"""The document the desktop app shows, without Qt: the photo, the cube, its σ, the cube it is compared with
(a ground truth or another reconstruction), their names, and whether the views read the reflectance estimate.

There is one :class:`Workspace` per window (napari's ``ViewerModel`` is the model). The window changes it; the
views (the spectrum plot, the Relight and Analyse panels) observe it and read what they show from it. Each
event is a plain list of callbacks, called in the order they were connected, with no arguments::

    workspace.events.cube.connect(fn)      # or workspace.subscribe("cube", fn)

Events: ``photo`` (a new photo; no cube), ``cube`` (a new cube and σ), ``ground_truth`` (the compared cube:
set, or dropped because a new cube has another size; emitted before ``cube``) and ``quantity`` (radiance or
reflectance). A handler reads the state from the workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hsi_studio.core.cube import HSCube, RGBImage
from hsi_studio.core.errors import InputError
from hsi_studio.services.files import has_reflectance
from hsi_studio.services.reflectance_view import reflectance_view

EVENTS = ("photo", "cube", "ground_truth", "quantity")


class Event:
    """A list of callbacks: :meth:`connect`, :meth:`disconnect`, :meth:`emit` (each called with no arguments)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[[], object]] = []

    def connect(self, callback: Callable[[], object]) -> Callable[[], object]:
        """Call ``callback`` on each :meth:`emit` (once, however often it is connected); returns it."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[], object]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self) -> None:
        for callback in list(self._callbacks):  # a callback may disconnect itself
            callback()

    def __len__(self) -> int:
        return len(self._callbacks)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self)} callbacks)"


class WorkspaceEvents:
    """``photo``, ``cube``, ``ground_truth`` and ``quantity``: one :class:`Event` each."""

    def __init__(self) -> None:
        for name in EVENTS:
            setattr(self, name, Event(name))

    def __getitem__(self, name: str) -> Event:
        if name not in EVENTS:
            raise KeyError(f"unknown workspace event {name!r}; expected one of {', '.join(EVENTS)}")
        return getattr(self, name)


class Workspace:
    """The photo, the cube and σ, the compared cube, their names and the shown quantity; views observe it."""

    def __init__(self) -> None:
        self.events = WorkspaceEvents()
        self.photo: RGBImage | None = None
        self.source: Path | None = None  # the file the photo or the cube came from
        self.cube: HSCube | None = None
        self.std: HSCube | None = None
        self.cube_name = ""  # what the shown cube is ("Mallett 2019 of photo.png", a file name)
        self.previous: tuple[HSCube, str] | None = None  # the cube shown before, for comparing two
        self.ground_truth: HSCube | None = None  # the compared cube: a ground truth, or another reconstruction
        self.gt_is_truth = True
        self.gt_name = ""
        self.as_reflectance = False  # the user's choice (View ▸ Show as reflectance); see quantity()
        self._views: tuple | None = None  # (cube, std, reflectance cube, its std): computed once per cube

    def subscribe(self, event: str, callback: Callable[[], object]) -> Callable[[], object]:
        """``events.<event>.connect(callback)``."""
        return self.events[event].connect(callback)

    # -- changes ------------------------------------------------------------------------------------------
    def set_photo(self, photo: RGBImage, source: Path | None = None) -> None:
        """A new photo: the cube, σ and the earlier cubes go (they are of another scene); emits ``photo``."""
        self.photo, self.cube, self.std, self.source = photo, None, None, source
        self.previous, self.cube_name = None, ""
        self.events.photo.emit()

    def set_cube(self, cube: HSCube, std: HSCube | None = None, *, name: str = "", source: Path | None = None,
                 keep_photo: bool = False) -> None:
        """Show ``cube`` (and its σ). The cube shown before becomes :attr:`previous`; the photo stays only with
        ``keep_photo`` (a reconstruction of it); a compared cube of another image size is dropped (emits
        ``ground_truth`` first). Emits ``cube``."""
        if not keep_photo:
            self.photo = None
        if self.cube is not None and self.cube is not cube:
            self.previous = (self.cube, self.cube_name or "the previous cube")
        self.cube, self.std = cube, std
        if source is not None:
            self.source = source
        self.cube_name = name or (Path(source).name if source is not None else "cube")
        if self.ground_truth is not None and self.ground_truth.shape[:2] != cube.shape[:2]:
            self.ground_truth, self.gt_is_truth, self.gt_name = None, True, ""
            self.events.ground_truth.emit()
        self.events.cube.emit()

    def set_ground_truth(self, gt: HSCube | None, name: str = "", *, truth: bool = True) -> None:
        """Compare the cube with ``gt``: a ground truth, or (``truth=False``) another reconstruction / cube.
        A cube of another image size is refused (:class:`InputError`, nothing changes). Emits ``ground_truth``."""
        what = "ground truth" if truth else "cube to compare with"
        cube = self.cube
        if gt is not None and cube is not None and gt.shape[:2] != cube.shape[:2]:
            raise InputError(f"the {what} is {gt.height}×{gt.width} but the cube is {cube.height}×{cube.width}; "
                             "expected the same image size")
        self.ground_truth, self.gt_is_truth, self.gt_name = gt, truth, name
        self.events.ground_truth.emit()

    def set_reflectance(self, on: bool) -> None:
        """Show the reflectance estimate (when the cube has one) or the cube as is; emits ``quantity``."""
        self.as_reflectance = bool(on)
        self.events.quantity.emit()

    # -- what the views read ------------------------------------------------------------------------------
    def can_show_reflectance(self) -> bool:
        """The cube is a radiance with a reflectance estimate (a reconstruction that records its light)."""
        return self.cube is not None and self.cube.kind != "reflectance" and has_reflectance(self.cube)

    def quantity(self) -> str:
        """``reflectance`` when the views show the reflectance estimate, else ``radiance`` (the cube as is)."""
        return "reflectance" if self.as_reflectance and self.can_show_reflectance() else "radiance"

    def view_cubes(self) -> tuple[HSCube | None, HSCube | None]:
        """(cube, σ) as the Explore plot and the Analyse tab show them, in :meth:`quantity`."""
        if self.quantity() != "reflectance":
            return self.cube, self.std
        if self._views is None or self._views[0] is not self.cube or self._views[1] is not self.std:
            # views, not copies: each value is divided by the light when it is read (no second cube in memory)
            self._views = (self.cube, self.std, *reflectance_view(self.cube, self.std))
        return self._views[2], self._views[3]

    def view_reference(self, gt: HSCube | None) -> HSCube | None:
        """``gt`` in the shown quantity (as is when it has no reflectance estimate)."""
        if gt is None or self.quantity() != "reflectance" or not has_reflectance(gt):
            return gt
        return reflectance_view(gt)[0]

    def plotted_reference(self) -> HSCube | None:
        """The compared cube when it can be drawn over the cube's spectra (the same wavelengths), else None."""
        gt = self.ground_truth
        return gt if gt is None or self.cube is None or gt.same_grid(self.cube) else None

    def reference_label(self) -> str:
        """What the compared cube is called in the plot's legend."""
        return "ground truth" if self.gt_is_truth else (self.gt_name or "other cube")

    def comparable_previous(self) -> str | None:
        """The name of the cube shown before when it has the cube's image size (it can be compared), else None."""
        prev, cube = self.previous, self.cube
        return prev[1] if prev is not None and cube is not None and prev[0].shape[:2] == cube.shape[:2] else None


__all__ = ["EVENTS", "Event", "Workspace", "WorkspaceEvents"]
