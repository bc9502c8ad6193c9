"""The package's layers: every import of a hotelvoice module points down, never up or sideways.

The order is the one ``docs/architecture.md`` describes. A module may import its own package and
any package in a lower layer; packages that share a layer are independent of each other. The
sans-IO cores additionally import nothing that does I/O, so they stay testable without sockets.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "hotelvoice"

# Bottom first. A name is a package under hotelvoice/ or a top-level module.
LAYERS: tuple[frozenset[str], ...] = (
    # helpers every layer may use, config included
    frozenset({"clock", "ids", "logsafe", "loopback"}),
    frozenset({"__init__", "config", "metrics"}),
    frozenset({"wire", "codec"}),
    frozenset({"telephony", "realtime", "speech"}),
    frozenset({"calls"}),
    frozenset({"properties"}),
    frozenset({"language"}),
    frozenset({"hotel"}),
    frozenset({"engine"}),
    frozenset({"softphone"}),
    frozenset({"web"}),
    frozenset({"__main__"}),
)
# Modules that must stay sans-IO: no sockets, threads, Trio, HTTP or databases.
SANS_IO = ("wire", "calls.machine", "calls.session", "calls.ledger", "calls.stats", "calls.ports")
IO_MODULES = frozenset(
    {"trio", "trio_websocket", "httpx", "socket", "sqlite3", "threading", "quart", "hypercorn"}
)


def _layer_of(name: str) -> int:
    for rank, members in enumerate(LAYERS):
        if name in members:
            return rank
    raise AssertionError(f"hotelvoice.{name} is in no layer: add it to LAYERS")


def _unit(path: Path) -> str:
    """The package (or top-level module) a file belongs to."""
    relative = path.relative_to(ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, wherever the import stands (functions included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            assert node.level == 0, f"{path}:{node.lineno}: use absolute imports"
            found.append((node.lineno, node.module))
            if node.module == "hotelvoice":  # from hotelvoice import calls: calls is the target
                found += [
                    (node.lineno, f"hotelvoice.{alias.name}")
                    for alias in node.names
                    if (ROOT / alias.name).is_dir() or (ROOT / f"{alias.name}.py").is_file()
                ]
    return found


MODULES = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _dotted(p))
def test_imports_point_down(path: Path) -> None:
    own = _unit(path)
    rank = _layer_of(own)
    wrong = []
    for line, module in _imports(path):
        parts = module.split(".")
        if parts[0] != "hotelvoice" or len(parts) == 1:
            continue
        target = parts[1]
        if target == own:
            continue
        target_rank = _layer_of(target)
        if target_rank >= rank:
            where = "the same layer" if target_rank == rank else "a higher layer"
            wrong.append(f"line {line}: {module} ({where})")
    assert not wrong, f"hotelvoice.{_dotted(path)} imports upwards: " + "; ".join(wrong)


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _dotted(p).startswith(SANS_IO)],
    ids=lambda p: _dotted(p),
)
def test_sans_io_cores_do_no_io(path: Path) -> None:
    io = [f"line {line}: {m}" for line, m in _imports(path) if m.split(".")[0] in IO_MODULES]
    assert not io, f"hotelvoice.{_dotted(path)} is sans-IO but imports " + "; ".join(io)


def test_every_package_is_placed() -> None:
    units = {_unit(p) for p in MODULES}
    placed = set().union(*LAYERS)
    assert units - placed == set(), "place these in LAYERS"
    assert placed - units == set(), "LAYERS names what no longer exists"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The check itself must be able to fail: an import from a higher layer is reported.
    module = tmp_path / "probe.py"
    module.write_text("from hotelvoice.web.app import create_app\nimport hotelvoice.hotel\n")
    found = [m for _, m in _imports(module)]
    assert found == ["hotelvoice.web.app", "hotelvoice.hotel"]
    assert _layer_of("web") > _layer_of("calls") > _layer_of("wire")
