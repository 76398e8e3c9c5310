"""The frozen bundle (PyInstaller): build it when it is missing, then run its ``--self-test`` with no Python
environment, no network and no display. Slow (minutes): marked ``packaging``, not in the default run —

    pytest -m packaging            # or: bash packaging/build.sh
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def bundle() -> Path:
    dist = Path(os.environ.get("DIST", ROOT / "dist"))
    exe = dist / "hsi-studio" / ("hsi-studio.exe" if sys.platform == "win32" else "hsi-studio")
    if not exe.is_file():
        env = {**os.environ, "SKIP_SELF_TEST": "1", "DIST": str(dist),
               "HSI_VENV": os.environ.get("HSI_VENV", str(Path(sys.prefix)))}
        subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], cwd=ROOT, env=env, check=True,
                       timeout=3600)
    assert exe.is_file()
    return exe.parent


def test_frozen_self_test_passes(bundle):
    out = subprocess.run(["bash", str(ROOT / "packaging" / "self_test.sh"), str(bundle)], capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    summary = json.loads(next(line for line in out.stdout.splitlines() if line.startswith('{"self_test"')))
    assert summary["self_test"] == "passed" and summary["frozen"] is True
    names = {c["check"] for c in summary["checks"]}
    assert {"reconstruction finished", "cube reproduces the photo", "relit under CIE A"} <= names


def test_frozen_cli_reports_bad_input_and_exits_2(bundle, tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    out = subprocess.run([str(bundle / "hsi-studio"), "info", str(bad)], capture_output=True, text=True,
                         timeout=300, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2 and "broken.h5" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_frozen_training_subprocess_runs(bundle, tmp_path):
    """The wizard starts ``<bundle>/hsi-studio train …``: the frozen executable must train too."""
    out = subprocess.run([str(bundle / "hsi-studio"), "train", "stage1", "--tiny", "--device", "cpu", "--jsonl",
                          "--out", str(tmp_path / "s1")], capture_output=True, text=True, timeout=600,
                         env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1])["event"] == "done"
