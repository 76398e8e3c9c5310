"""Packaging glue that ``pyproject.toml`` cannot say: the checkout's top-level ``models/`` (the shipped model
bundles, one copy in the repository) travels in the wheel as the package data folder ``hsi_studio/_models``,
through setuptools' documented ``package_dir`` mapping, so an installed HSI Studio finds its models
(:func:`hsi_studio.core.ml.reconstruct.models_dir`). Data-only folders (resources, each bundle's parts) are listed as
namespace packages too, so setuptools packs them without warning that they look like packages it was not told
about. Everything else is in ``pyproject.toml``."""

from setuptools import find_namespace_packages, setup

MODEL_PARTS = [f"hsi_studio._models.{p}" for p in find_namespace_packages(where="models")]

setup(
    packages=[*find_namespace_packages(include=["hsi_studio", "hsi_studio.*"], exclude=["*.__pycache__"]),
              "hsi_studio._models", *MODEL_PARTS],
    package_dir={"hsi_studio._models": "models"},
)
