"""The architecture as a test: imports run one way, down the layers, and no modules import each other in a circle.

shells (app.py, the __main__ modules) → rag → vectorstore, ingest → dossier_core
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dossier_core", "ingest", "vectorstore", "rag")
# What each layer may import from the project (besides itself).
ALLOWED = {
    "dossier_core": set(),
    "ingest": {"dossier_core"},
    "vectorstore": {"dossier_core"},
    "rag": {"dossier_core", "ingest", "vectorstore"},
    "shell": {"rag"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    files = [ROOT / "app.py"] + [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    return {module_name(p): p for p in files}


def imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules a file imports, anywhere in it (a lazy import is an arrow too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path.name}: relative import; import by the full module name")
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from rag import prompt` imports the module rag.prompt; `from rag import Assistant` the package.
            found |= {
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names
            }
    return {m for m in found if m in modules}


def layer(module: str) -> str:
    return "shell" if module == "app" or module.endswith(".__main__") else module.split(".")[0]


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imported(p, modules) - {m} for m, p in modules.items()}


def test_imports_run_down_the_layers():
    wrong = sorted(
        f"{m} imports {target}"
        for m, targets in graph().items()
        for target in targets
        if layer(target) != layer(m) and layer(target) not in ALLOWED[layer(m)]
    )
    assert not wrong, "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_in_a_circle():
    assert cycles(graph()) == []


def test_the_checks_catch_what_they_look_for():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("ingest.__main__") == "shell" and layer("vectorstore.store") == "vectorstore"
    assert "ingest" not in ALLOWED["vectorstore"] and "rag" not in ALLOWED["ingest"]


def test_modules_and_classes_stay_small():
    """No module over 400 lines and no class over 15 methods: past that, a concern wants its own home."""
    big = []
    for module, path in project_modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400:
            big.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
                if len(methods) > 15:
                    big.append(f"{module}.{node.name}: {len(methods)} methods")
    assert not big, "\n".join(big)
