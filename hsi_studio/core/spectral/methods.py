"""The reconstruction methods, registered once each: what ``reconstruct --model`` takes by name, what the model
list (``hsi-studio models``, the Reconstruct dock) calls it, its kind, and where its code lives.

A :class:`Method` is registered with :func:`register`, once:

- the **training-free** methods by their own modules in :mod:`hsi_studio.core.spectral.recovery`
  (``physics:mallett2019``, ``physics:otsu2018``, ``physics:minnorm``);
- the **shipped learned** models by :mod:`hsi_studio.core.ml.reconstruct` (``default``, ``rootpoly``, ``mlp``,
  ``fast``: bundles in the models folder, whose ``model_index.json`` ``_class_name`` gives their kind through
  :data:`BUNDLE_KINDS`; a registered learned model is installed when its bundle is there with that class).

Everything that lists methods derives from here: the model list (:mod:`hsi_studio.services.models`), the
evaluation baselines (:func:`hsi_studio.core.ml.evaluation.baselines`), ``reconstruct --model``'s help and the
"expected …" errors for an unknown method. The full list is :func:`hsi_studio.core.ml.reconstruct.methods`
(importing that module registers both halves).

A loader is a ``"module:function"`` string, imported only when :meth:`Method.load` is called: this module imports
nothing, so the torch-free viewing path stays torch-free (learned loaders live in :mod:`hsi_studio.core.ml`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

TRAINING_FREE = "training-free"
PER_PIXEL = "learned per-pixel"
FAST = "fast"
ULDM = "ULDM"
KINDS = (TRAINING_FREE, PER_PIXEL, FAST, ULDM)
#: the kind of a learned method, from its bundle's ``model_index.json`` ``_class_name`` (the bundle classes that
#: reconstruct a cube from a photo; a SpeUAE or an RGB LDM is a training part)
BUNDLE_KINDS = {"ULDM": ULDM, "PixelRegression": PER_PIXEL, "SpatialResidual": FAST}
#: the prefix of a training-free method's name (what ``--model`` takes: ``physics:<key>``)
PHYSICS = "physics:"


@dataclass(frozen=True)
class Method:
    """One reconstruction method.

    ``name``: what ``reconstruct --model`` takes (``physics:otsu2018``, ``rootpoly``); ``label``: what the model
    list and the reports call it; ``kind``: one of :data:`KINDS`; ``loader``: ``"module:function"``, the code
    that runs it (a training-free method's ``spectra(rgb, split)``, a learned model's ``load_model(path)``);
    ``baseline``: scored beside every model by :mod:`hsi_studio.core.ml.evaluation`; ``quantity``: what it
    returns, ``radiance`` or ``reflectance`` (under D65: the methods whose RGB → spectrum assumes a D65 white);
    ``colour_name``: the method's name in colour-science (``colour.XYZ_to_sd(..., method=...)``), if it has one;
    ``takes_response``: it works for any camera response (``reconstruct --response``; a learned model uses the
    response it was trained for)."""

    name: str
    label: str
    kind: str
    loader: str
    baseline: bool = False
    quantity: str = "radiance"
    colour_name: str | None = None
    takes_response: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"method {self.name!r} has kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if (self.kind == TRAINING_FREE) != self.name.startswith(PHYSICS):
            raise ValueError(f"method {self.name!r}: training-free methods, and only they, are named {PHYSICS}…")
        if ":" not in self.loader:
            raise ValueError(f"method {self.name!r} has loader {self.loader!r}; expected 'module:function'")

    @property
    def key(self) -> str:
        """The name without ``physics:`` (``otsu2018``; a learned model's name as it is)."""
        return self.name.removeprefix(PHYSICS)

    @property
    def learned(self) -> bool:
        return self.kind != TRAINING_FREE

    def module(self):
        """The loader's module (imported now, not when the method is registered)."""
        return importlib.import_module(self.loader.partition(":")[0])

    def load(self):
        """The loader's function."""
        return getattr(self.module(), self.loader.partition(":")[2])


_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` (once: the same name registered again with different facts is a ``ValueError``)."""
    known = _REGISTRY.get(method.name)
    if known is not None and known != method:
        raise ValueError(f"method {method.name!r} is already registered as {known}")
    _REGISTRY[method.name] = method
    return method


def registered(kind: str | None = None) -> tuple[Method, ...]:
    """The registered methods (of ``kind``), in the order they were registered."""
    return tuple(m for m in _REGISTRY.values() if kind is None or m.kind == kind)


def get(name: str) -> Method | None:
    return _REGISTRY.get(str(name))


def names(kind: str | None = None) -> tuple[str, ...]:
    return tuple(m.name for m in registered(kind))


def training_free_keys() -> tuple[str, ...]:
    """``("mallett2019", "otsu2018", "minnorm")``: the training-free methods' keys, in registration order."""
    return tuple(m.key for m in registered(TRAINING_FREE))


__all__ = ["BUNDLE_KINDS", "FAST", "KINDS", "PER_PIXEL", "PHYSICS", "TRAINING_FREE", "ULDM", "Method", "get", "names",
           "register", "registered", "training_free_keys"]
