"""The services are imported as modules (there is no facade of names to keep in step with
them: one once shipped a 500 when a module shadowed a function). Each module imports on
its own, in a fresh interpreter, whatever is loaded first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parent.parent / "fitsflow" / "services"
MODULES = sorted(p.stem for p in FOLDER.glob("*.py") if p.stem != "__init__")


def test_the_package_names_nothing_but_its_modules() -> None:
    import fitsflow.services as package

    public = {n for n in vars(package) if not n.startswith("_")}
    assert public <= set(MODULES), public - set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_service_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import fitsflow.services.{module}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
