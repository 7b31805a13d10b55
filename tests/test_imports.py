"""The library's import graph: no cycle anywhere (a cycle works or fails by import order), and
nothing that the Snakefile imports at parse time pulls in torch (every run and dry run pays it)."""

import ast
import importlib.util
import re
import subprocess
import sys

from conftest import ROOT

PACKAGE = ROOT / "workflow" / "sincvae"


def module_name(path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports, at module level or inside functions (a lazy
    import still closes a cycle); imports for type checking alone are left out."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        typing_only = {id(node) for block in ast.walk(tree)
                       if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                       for node in ast.walk(block)}
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                targets |= {f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that returns to its start, or None."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_library_has_no_import_cycle():
    graph = import_graph()
    assert {"sincvae.plan.cost", "sincvae.plan.calibration", "sincvae.budget"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_a_cycle_is_found_where_there_is_one():
    """The check itself: budget and cost importing each other (one of them inside a function)."""
    assert find_cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_every_module_the_snakefile_imports_is_free_of_torch():
    text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])
    modules = set(re.findall(r"^\s*import (sincvae(?:\.\w+)*)", text, flags=re.M))
    for module, names in re.findall(r"^\s*from (sincvae(?:\.\w+)*) import \(?([\w,\s]+?)\)?$", text, flags=re.M):
        # `from sincvae.learn import registry` imports the module sincvae.learn.registry
        submodules = {f"{module}.{n.strip()}" for n in names.split(",")}
        modules |= {m for m in submodules if importlib.util.find_spec(module) and _is_module(m)} or {module}
    assert {"sincvae.plan.cost", "sincvae.plan.planning", "sincvae.learn.registry"} <= modules
    code = f"import sys, {', '.join(sorted(modules))}; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert "torch" not in loaded, sorted(modules)


def test_a_score_job_scores_without_loading_torch():
    """The score jobs (scripts/score.py) start without torch: the scored rows come from the solver's
    table, and POT, which computes the Wasserstein distance, is told to load no torch backend."""
    script = (ROOT / "workflow" / "scripts" / "score.py").read_text()
    imports = "\n".join(line for line in script.splitlines() if line.startswith(("import ", "from ")))
    code = f"""{imports}
import numpy as np
from sincvae.problem.exact import solve_split
from sincvae.problem.lines import sample_lines
fmap = ForwardMap.from_config({{"terms": [{{"fn": "sin", "a": 5, "b": 3}}, {{"fn": "cos", "a": 4, "b": 8}}]}})
x = sample_lines(3, np.random.default_rng(0))
y = fmap(x)
solutions = solve_split(fmap, y, 1e-4, known=x)
lines = {{("scoring", "raw"): np.repeat(x[:, None], 2, axis=1)}}
_, _, summaries = score_stored(fmap, lines, {{"scoring": (x, y)}}, {{"scoring": solutions}}, 0.02)
assert summaries["raw"]["scoring"]["coverage"] > 0
print("torch" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False"]
