"""docs/architecture.md and its figure match the code (both are written by docs/architecture.py)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("architecture", ROOT / "docs" / "architecture.py")
architecture = importlib.util.module_from_spec(spec)
sys.modules["architecture"] = architecture  # its dataclass looks its module up
spec.loader.exec_module(architecture)

AGAIN = "run `.venv/bin/python docs/architecture.py` and commit what it writes"


def test_the_document_s_tables_are_the_code_s():
    text = architecture.DOC.read_text(encoding="utf-8")
    block = re.search(re.escape(architecture.BEGIN) + ".*?" + re.escape(architecture.END), text, re.S)
    assert block, "docs/architecture.md lost its generated section"
    assert block.group(0) == architecture.markdown(architecture.read_house()), AGAIN


def test_the_figure_was_drawn_from_the_code_as_it_is():
    drawn = Image.open(architecture.FIGURE).info.get("Description", "")
    assert drawn == f"negsim architecture {architecture.read_house().digest()}", AGAIN


def test_every_module_of_sim_belongs_to_one_wing():
    house = architecture.read_house()
    listed = [m for mods in house.modules.values() for m, _ in mods]
    assert len(listed) == len(set(listed))
    on_disk = {p.relative_to(ROOT / "sim").as_posix() for p in (ROOT / "sim").rglob("*.py")
               if p.name != "__init__.py" or len(p.read_text().splitlines()) > 5}
    assert set(listed) == on_disk


def test_a_wing_s_import_of_a_wing_above_it_is_reported():
    house = architecture.House(["a", "b"], {"a": [], "b": []}, {("b", "a"): 1}, [])
    assert "Imports that run up the layers: b -> a." in architecture.markdown(house)


def test_the_kernel_s_step_calls_its_phases_in_the_order_drawn():
    import ast
    import inspect

    from sim.engine import kernel

    step = ast.parse(inspect.getsource(kernel.Kernel.step).strip())
    calls = [n for n in ast.walk(step) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    called = [n.func.id for n in sorted(calls, key=lambda n: (n.lineno, n.col_offset))]  # in source order
    order = [function for _name, function, _text in kernel.PHASES]
    positions = [called.index(f) for f in order]  # each phase is called (ValueError otherwise) ...
    assert positions == sorted(positions), f"Kernel.step calls {called}, PHASES says {order}"  # ... in order
