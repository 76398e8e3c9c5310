"""Shared fixtures."""

import pytest


@pytest.fixture(autouse=True)
def isolated_settings_file(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's settings file (hsi_studio.core.settings): each test gets an empty
    configuration folder (subprocesses inherit it)."""
    monkeypatch.setenv("HSI_STUDIO_CONFIG", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread; two threads crawl when another process holds a core."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_uldm():
    """A tiny random ULDM (tests/factories.py: ``tiny_uldm()``), built once per test module."""
    from factories import tiny_uldm

    return tiny_uldm()
