"""Help ▸ Documentation and Help ▸ Model card: where the user guide and a model's card are (offline; Qt-free)."""

from __future__ import annotations

from pathlib import Path

#: the repository's (or source distribution's) docs folder: hsi_studio/../docs
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"


def documentation_path() -> Path | None:
    """The desktop app's guide (``docs/gui.md``), None when this installation has no docs folder."""
    path = DOCS_DIR / "gui.md"
    return path if path.is_file() else None


def model_card_path(spec: str | None) -> Path | None:
    """The ``MODEL_CARD.md`` of a model spec as the Reconstruct dock lists it (``default``, a bundle folder);
    None for a training-free baseline (``physics:…``) or a bundle that has none."""
    spec = str(spec or "")
    if not spec or spec.startswith("physics:"):
        return None
    if spec == "default":
        from hsi_studio.core.ml.reconstruct import default_model_path

        folder = default_model_path()
    else:
        folder = Path(spec)
    path = folder / "MODEL_CARD.md"
    return path if path.is_file() else None


def read_text(path: Path) -> str:
    """A Markdown file's text; the images it links are resolved by the viewer against its folder."""
    return Path(path).read_text(encoding="utf-8", errors="replace")


__all__ = ["DOCS_DIR", "documentation_path", "model_card_path", "read_text"]
