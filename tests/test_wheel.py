"""The package as users get it: a wheel, installed into a fresh virtual environment, runs the demo."""
import pathlib
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from protloc.prediction import presets

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_the_demo_runs_from_a_wheel_installed_in_a_fresh_venv(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(tmp_path / "dist")], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("protloc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {str(path.relative_to(REPO)) for name in presets.names() for path in (REPO / "protloc" / "prediction" / "presets" / name)
               .iterdir()}  # every file of every shipped preset: card, network, reference, fusion, thresholds
    assert {"protloc/prediction/presets/examples.fasta", *shipped} <= set(names)
    assert not any(name.startswith(("tests/", "benchmarks/", "examples/")) for name in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = pathlib.Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       capture_output=True, text=True, check=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    # The dependencies come from this environment, listed after the fresh one's own packages; .pth files there
    # (this checkout's editable install among them) are not run, so the wheel's protloc is the one imported.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = subprocess.run([str(python), "-c", "import protloc, sys; print(protloc.__file__); "
                             "from protloc.apps import demo; sys.exit(demo.main())"],
                            cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                                              "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(site / "protloc"))
    assert lines[1].split()[:4] == ["protein", "length", "known", "predicted"]
    assert any(" of 11 right" in line for line in lines[-4:]) and result.stderr == ""
