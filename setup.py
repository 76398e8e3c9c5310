"""Packaging glue that ``pyproject.toml`` cannot say: the checkout's top-level ``models/`` (the shipped model
bundles, one copy in the repository) travels in the wheel as the package data folder ``hsi_studio/_models``,
through setuptools' documented ``package_dir`` mapping, so an installed HSI Studio finds its models
(:func:`hsi_studio.core.pipeline.models_dir`). Everything else is in ``pyproject.toml``."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["hsi_studio", "hsi_studio.*"]), "hsi_studio._models"],
    package_dir={"hsi_studio._models": "models"},
)
