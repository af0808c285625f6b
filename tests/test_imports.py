"""The import graph: each stage imports only the stages below it, and no module imports in a circle.

Every module's imports are read with ``ast`` (lazy imports inside functions included: a
lazy import is still a dependency, it only runs later). An import of a package's
submodule (``from nanomlip.sampling import prototypes``) counts as an import of that
submodule. The implicit import of parent packages (``nanomlip.sampling`` runs
``nanomlip/sampling/__init__.py`` first) is not counted: package ``__init__`` files are
modules of their own here, with their own imports.

The stage order follows the data flow (DESIGN.md): a stage may import from its own stage
and from stages of lower rank, never from a higher one. To add a stage (a new folder or
top-level module), give it a rank in :data:`STAGE_RANKS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nanomlip

PACKAGE = "nanomlip"
SOURCE = Path(nanomlip.__file__).parent

#: Stage -> rank, lowest first. A stage is a top-level module or subpackage of nanomlip.
STAGE_RANKS: dict[str, int] = {
    # contracts and helpers that every stage may use
    "_keys": 0,
    "_defaults": 0,
    "_version": 0,
    "_optional": 0,
    "_files": 0,
    "_progress": 0,
    "_units": 0,
    "units": 0,
    "schema": 0,  # the JSON report contracts (TypedDicts): no imports from the package
    "nn": 10,
    "models": 20,
    "data": 30,
    # The student as an ASE calculator (see MODULE_RANKS) sits here, at 35.
    "teachers": 40,
    "sampling": 50,
    "labeling": 60,
    "distill": 70,
    "training": 70,
    "md": 80,
    "integrations": 90,
    "testing": 95,
    "bench": 100,
    "reports": 110,
    "cli": 120,
    "__init__": 130,  # the front door: it may import anything, nothing may import it
}

#: Modules ranked apart from their folder, each with its reason.
MODULE_RANKS: dict[str, int] = {
    # The student as an ASE calculator is the interchange point of every stage that runs a
    # model on Atoms: a student teaching a smaller one (teachers.student), the MD drivers
    # of labelling, md, bench and the other integrations. It needs only models and data,
    # so it sits just above them and below teachers.
    "nanomlip.integrations.ase_calculator": 35,
    "nanomlip.integrations.allocator": 35,  # the calculator's buffer allocator
    # D3 dispersion is a term of the calculator's energy (NanoCalculator(dispersion="d3")),
    # not an MD driver; it lives in md/ beside its MD users and imports no other stage.
    "nanomlip.md.dispersion": 35,
    # Active learning runs MD with the student, labels what it finds and fine-tunes: a
    # workflow that uses md, above it.
    "nanomlip.distill.specialize": 85,
}


#: Private names still imported across modules: (importer, module, name). Empty it, don't grow it.
PRIVATE_IMPORTS_LEFT: set[tuple[str, str, str]] = set()


def module_name(path: Path) -> str:
    """Dotted name of a source file, ``nanomlip.sampling`` for a package ``__init__``."""
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def imported_modules(name: str, modules: dict[str, Path]) -> set[str]:
    """The package modules that module ``name`` imports (any depth, lazy ones included)."""
    tree = ast.parse(modules[name].read_text(), filename=str(modules[name]))
    package = name if is_package(name, modules) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imported_modules(name, modules) for name in modules}


def rank(module: str) -> int:
    """The rank of a module: its own entry in MODULE_RANKS, else its stage's."""
    if module in MODULE_RANKS:
        return MODULE_RANKS[module]
    parts = module.split(".")
    stage = parts[1] if len(parts) > 1 else "__init__"
    if stage not in STAGE_RANKS:
        raise AssertionError(f"module {module} belongs to stage {stage!r}, which has no rank")
    return STAGE_RANKS[stage]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} (rank {rank(source)}) imports {target} (rank {rank(target)})"
        for source, targets in graph.items()
        for target in targets
        if rank(target) > rank(source)
    )


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or ``None`` (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in sorted(graph):
        if root in state:
            continue
        path = [root]
        stack = [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            target = next(stack[-1], None)
            if target is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(target) == 1:
                return [*path[path.index(target) :], target]
            elif target not in state:
                state[target] = 1
                path.append(target)
                stack.append(iter(sorted(graph[target])))
    return None


def test_every_stage_has_a_rank():
    for module in all_modules():
        rank(module)


def test_no_import_runs_upward():
    broken = upward_imports(import_graph())
    assert not broken, "imports against the stage order:\n" + "\n".join(broken)


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_nothing_imports_the_front_door():
    importers = sorted(name for name, targets in import_graph().items() if PACKAGE in targets)
    assert not importers, f"modules importing the package's own __init__: {importers}"


def private_imports() -> set[tuple[str, str, str]]:
    """``(importer, module, name)`` for every private name imported from another module."""
    modules = all_modules()
    found = set()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and f"{node.module}.{alias.name}" not in modules:
                        found.add((name, str(node.module), alias.name))
    return found


def test_no_module_imports_private_names_of_another():
    new = sorted(private_imports() - PRIVATE_IMPORTS_LEFT)
    assert not new, f"private names imported across modules (make them public): {new}"


def test_the_checker_sees_upward_edges_and_cycles():
    graph = {"nanomlip.nn.a": {"nanomlip.cli.b"}, "nanomlip.cli.b": {"nanomlip.nn.a"}}
    assert upward_imports(graph) == ["nanomlip.nn.a (rank 10) imports nanomlip.cli.b (rank 120)"]
    assert find_cycle(graph) == ["nanomlip.cli.b", "nanomlip.nn.a", "nanomlip.cli.b"]
    assert find_cycle({"nanomlip.nn.a": set()}) is None


def test_the_version_has_one_source():
    from nanomlip._version import __version__

    pyproject = (SOURCE.parents[1] / "pyproject.toml").read_text()
    assert "nanomlip._version.__version__" in pyproject
    assert nanomlip.__version__ == __version__
