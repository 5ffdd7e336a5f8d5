"""The services package loads its names on first use; each must be the function or module it
names whatever was loaded before it (a submodule sharing a function's name once shadowed it)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

import fitsflow.services as services

NAMES = sorted(services._LAZY)


@pytest.mark.parametrize("name", NAMES)
def test_each_name_is_what_it_names_after_every_module_is_loaded(name: str) -> None:
    module, attribute = services._LAZY[name]
    for other in {m for m, _ in services._LAZY.values()}:
        importlib.import_module(f"fitsflow.services.{other}")
    value = getattr(services, name)
    if attribute is None:
        assert isinstance(value, types.ModuleType)
    else:
        assert not isinstance(value, types.ModuleType), f"services.{name} is a module"
        assert value is getattr(importlib.import_module(f"fitsflow.services.{module}"), attribute)


SCRIPT = """
import importlib, sys, types
names = sorted(importlib.import_module("fitsflow.services")._LAZY)
for first in names:
    for loaded in [m for m in sys.modules if m.startswith("fitsflow.services")]:
        del sys.modules[loaded]
    s = importlib.import_module("fitsflow.services")
    getattr(s, first)
    for n, (m, a) in s._LAZY.items():
        if (a is None) != isinstance(getattr(s, n), types.ModuleType):
            print(f"after services.{first}: services.{n}")
"""


def test_names_resolve_whatever_is_asked_first() -> None:
    # the shadowing depends on load order, which this process cannot reset: a new one starts
    # the package afresh before each first name
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_lazy_name_is_exported() -> None:
    assert sorted(services.__all__) == NAMES
