"""Every third-party module the code imports comes from a distribution that pyproject.toml declares.

A package that only arrives as some other package's dependency can vanish when that package changes (as
zstandard did when mitmproxy moved to backports.zstd), so each import must be declared where it is used:
the runtime packages in ``dependencies`` (``train`` for training only), tests and benchmarks in ``test``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGES = ("classifier", "proxy_addon", "alert_store", "parent_ui", "notalone")
DEV_DIRS = ("tests", "bench", "scripts")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_normalise(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0]) for req in requirements}


def _local_modules() -> set[str]:
    names = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    for folder in DEV_DIRS:
        names |= {p.stem for p in (ROOT / folder).rglob("*.py")}
    return names


def _third_party_imports(folders: tuple[str, ...]) -> dict[str, Path]:
    local = _local_modules()
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in local:
                        found.setdefault(top, path)
    return found


def _distributions_of(module: str) -> set[str]:
    return {_normalise(d) for d in importlib.metadata.packages_distributions().get(module, [])}


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _undeclared(imports: dict[str, Path], declared: set[str]) -> list[str]:
    missing = []
    for module, path in sorted(imports.items()):
        distributions = _distributions_of(module)
        if not distributions:
            missing.append(f"{module} (imported in {path.relative_to(ROOT)}) is not installed at all")
        elif not distributions & declared:
            missing.append(
                f"{module} (imported in {path.relative_to(ROOT)}) comes from {sorted(distributions)}"
            )
    return missing


def test_runtime_imports_are_declared_as_dependencies(project: dict) -> None:
    # `notalone train` may also use the `train` extra (training data that a running box never needs).
    declared = _declared(project["dependencies"]) | _declared(project["optional-dependencies"]["train"])
    assert _undeclared(_third_party_imports(RUNTIME_PACKAGES), declared) == []


def test_test_and_bench_imports_are_declared(project: dict) -> None:
    declared = _declared(project["dependencies"]) | _declared(project["optional-dependencies"]["test"])
    assert _undeclared(_third_party_imports(DEV_DIRS), declared) == []


def test_the_lock_pins_every_declared_package_with_hashes(project: dict) -> None:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {_normalise(m) for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock, flags=re.M)}
    declared = _declared(project["dependencies"]) | _declared(project["optional-dependencies"]["test"])
    assert declared - pinned == set()
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2]):
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]
