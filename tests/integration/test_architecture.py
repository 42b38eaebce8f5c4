"""docs/architecture.md is checked against the code, not drawn once and left: its layer line is the import
contract that lint-imports enforces, its table allows every import the packages really make, and every path it
names exists."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "architecture.md"
TOP_LEVEL = ("bench", "isru", "flight", "ground", "sim_hw", "link", "hal", "base")


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def _doc_layers() -> list[str]:
    match = re.search(r"<!-- layers -->\s*```\s*\n(.+?)\n```", _doc())
    assert match, "docs/architecture.md has no layer line after <!-- layers -->"
    return [layer.strip() for layer in match.group(1).split("→")]


def _doc_table() -> dict[str, set[str]]:
    """Package → the packages its table row says it may import."""
    allowed: dict[str, set[str]] = {}
    for line in _doc().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            continue
        name = re.fullmatch(r"`(\w+)/`", cells[0])
        if name:
            allowed[name.group(1)] = set(re.findall(r"`(\w+)`", cells[2]))
    return allowed


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*TOP_LEVEL)


def test_the_layer_line_is_the_import_contract() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")
    assert _doc_layers() == layers["layers"]
    assert set(" | ".join(layers["layers"]).replace("|", " ").split()) == set(TOP_LEVEL)


def test_the_table_names_every_package_once() -> None:
    assert sorted(_doc_table()) == sorted(TOP_LEVEL)


def test_every_real_import_between_packages_is_allowed_by_the_table(graph: grimp.ImportGraph) -> None:
    allowed = _doc_table()
    found = {
        (importer, imported)
        for importer in TOP_LEVEL
        for imported in TOP_LEVEL
        if importer != imported and graph.direct_import_exists(importer=importer, imported=imported, as_packages=True)
    }
    unexpected = sorted(f"{a} → {b}" for a, b in found if b not in allowed[a])
    assert not unexpected, f"imports the architecture does not allow: {unexpected}"


def test_the_table_agrees_with_the_layers() -> None:
    """A package may import only packages of lower layers (the table cannot promise what the contract forbids)."""
    layers = [[name.strip() for name in layer.split("|")] for layer in _doc_layers()]
    rank = {name: index for index, layer in enumerate(layers) for name in layer}
    for package, imports in _doc_table().items():
        wrong = sorted(name for name in imports if rank[name] <= rank[package])
        assert not wrong, f"{package} may not import {wrong}: same or higher layer"


def test_the_forbidden_contracts_hold_in_the_table() -> None:
    allowed = _doc_table()
    for contract in (c for c in _contracts() if c["type"] == "forbidden"):
        for source in contract["source_modules"]:
            top = {module.split(".")[0] for module in contract["forbidden_modules"] if "." not in module}
            assert not allowed[source] & top, f"{contract['name']}: the table lets {source} import {top}"


def test_every_path_it_names_exists() -> None:
    paths = set(re.findall(r"`((?:[\w.-]+/)+[\w.-]*)`", _doc()))
    assert paths, "the page names no paths"
    missing = sorted(path for path in paths if not (REPO / path).exists())
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_the_emulators_are_kept_from_every_hal_module_but_the_protocol() -> None:
    """sim_hw's forbidden contract names every hal module except the protocol's own, so a new driver-side
    module cannot slip through."""
    contract = next(c for c in _contracts() if c["type"] == "forbidden" and c["source_modules"] == ["sim_hw"])
    protocol = {"hal.protocol", "hal.cobs_codec", "hal.icd", "hal.icd_model", "hal.icd_load", "hal.errors"}
    modules = {f"hal.{path.stem}" for path in (REPO / "hal").glob("*.py") if path.stem != "__init__"}
    modules |= {f"hal.{path.name}" for path in (REPO / "hal").iterdir() if (path / "__init__.py").exists()}
    assert set(contract["forbidden_modules"]) - {"link"} == modules - protocol


#: Product files that are tables (data, not logic) and may be longer than the file limit.
TABLE_FILES: frozenset[str] = frozenset()
MAX_CLASS_LINES = 400
MAX_FILE_LINES = 650


def test_no_class_or_file_is_too_big_to_hold_in_ones_head() -> None:
    too_big = []
    for package in TOP_LEVEL:
        for path in sorted((REPO / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            name = str(path.relative_to(REPO))
            if source.count("\n") > MAX_FILE_LINES and name not in TABLE_FILES:
                too_big.append(f"{name}: {source.count(chr(10))} lines")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_CLASS_LINES:
                        too_big.append(f"{name}: class {node.name} {lines} lines")
    assert not too_big, f"over {MAX_CLASS_LINES} lines a class or {MAX_FILE_LINES} a file: {too_big}"
