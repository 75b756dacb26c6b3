"""The house rules: one package per concern, no import cycles, no upward arrows, a documented public API."""

import ast
import importlib
import inspect
import itertools
import pkgutil
from pathlib import Path

import crnn

PACKAGE_DIR = Path(crnn.__file__).parent

# Each top-level package or module of crnn, by layer: a module may import only from lower layers
# (or from its own package). A new package gets a rank here, and with it a place in the house.
LAYERS = {
    "version": 0, "config": 0, "charset": 0, "document": 0, "threads": 0,
    "io": 1,
    "imaging": 2,
    "data": 3, "formats": 3,
    "layout": 4, "recognize": 4, "synth": 4,
    "evaluation": 5, "export": 5,
    "pipeline": 6, "training": 6,
    "web": 7, "batch": 7,
    "cli": 8,
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """The crnn modules a file imports anywhere (functions included), except for type checkers only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_checking = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
                     and isinstance(stmt.test, ast.Name) and stmt.test.id == "TYPE_CHECKING"
                     for node in ast.walk(stmt)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    modules = _modules()
    return {name for name in names if name in modules and name.startswith("crnn.")}


def _top(name: str) -> str:
    return name.split(".")[1]


def test_every_part_of_crnn_has_a_layer():
    assert {_top(name) for name in _modules() if name != "crnn"} == set(LAYERS)


def test_no_upward_or_sideways_imports_between_packages():
    wrong = []
    for name, path in _modules().items():
        if name == "crnn":
            continue
        for imported in _imports(path):
            source, target = _top(name), _top(imported)
            if source != target and LAYERS[target] >= LAYERS[source]:
                wrong.append(f"{name} -> {imported}")
    assert wrong == []


def test_the_module_import_graph_has_no_cycles():
    graph = {name: {i for i in _imports(path) if not i.endswith("__init__")} for name, path in _modules().items()
             if name != "crnn"}
    # a package's __init__ re-exports its modules; cycles through it are the package's own business
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    edges = {name: targets - packages for name, targets in graph.items() if name not in packages}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, "import cycle: " + " -> ".join([*trail, node])
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            visit(target, [*trail, node])
        state[node] = 2

    for node in sorted(edges):
        visit(node, [])


def test_importing_crnn_loads_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, crnn; "
            "print(sorted(m for m in sys.modules if m.startswith(('crnn', 'cv2', 'keras', 'tensorflow'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert ast.literal_eval(out) == ["crnn", "crnn.version"]


def test_the_public_api_is_complete_and_documented():
    assert crnn.__all__[0] == "__version__" and crnn.__version__
    for name in crnn.__all__[1:]:
        value = getattr(crnn, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"crnn.{name} has no docstring"
        if inspect.isfunction(value):
            hints = inspect.get_annotations(value)
            assert "return" in hints, f"crnn.{name} has no return type"


def test_public_functions_and_classes_have_docstrings():
    missing = []
    for info in pkgutil.walk_packages(crnn.__path__, "crnn."):
        module = importlib.import_module(info.name)
        if not inspect.getdoc(module):
            missing.append(info.name)
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != info.name:
                continue
            if (inspect.isclass(value) or inspect.isfunction(value)) and not inspect.getdoc(value):
                missing.append(f"{info.name}.{name}")
    assert missing == []


def test_the_version_is_written_once():
    written = [path for path in itertools.chain(PACKAGE_DIR.rglob("*.py"), [PACKAGE_DIR.parent / "pyproject.toml"])
               if crnn.__version__ in path.read_text(encoding="utf-8")]
    assert written == [PACKAGE_DIR / "version.py"]
