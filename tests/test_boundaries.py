"""Domain boundaries hold: a package talks to another only through its public names (its
``__init__`` or modules such as ``services``), never its ``models`` module or ``_private`` names,
and the domain packages import each other without a cycle; each package's ``__init__`` lists
its public names in ``__all__``, and a package imports from another's ``__init__`` only those
names or its modules. Read from the source with ``ast``
(nothing is imported), imports inside functions included: moving an import into a function
hides a cycle from Python, not from this test."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import regional_loket

ROOT = Path(regional_loket.__file__).parent
# The development tools (embedded servers, mail sink, mailbox) are no domain: production never
# runs them, and they may reach into whatever they show.
NOT_DOMAINS = {"dev"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing package
    where: str  # file:line
    target: str  # the imported package
    module: tuple[str, ...]  # the path inside the target package (() for the package itself)
    names: tuple[str, ...]

    def __str__(self):
        inside = ".".join(self.module)
        return f"{self.where} imports {self.target}{'.' + inside if inside else ''}: {', '.join(self.names)}"


def domains() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir()
                  if (p / "__init__.py").is_file() and p.name not in NOT_DOMAINS and not p.name.startswith("_"))


def _imports_of(path: Path):
    """(target package, module path inside it, names, line) for each import of the app's code."""
    parts = path.relative_to(ROOT).parts
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                module = [*parts[:-1]][: max(len(parts) - node.level, 0)] + (node.module.split(".") if node.module else [])
            elif (node.module or "").split(".")[0] == ROOT.name:
                module = node.module.split(".")[1:]
            else:
                continue
            names = tuple(alias.name for alias in node.names)
            if module:
                yield module[0], tuple(module[1:]), names, node.lineno
            else:  # ``from .. import accounts``: each name may be a package
                for name in names:
                    yield name, (), (name,), node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module = alias.name.split(".")
                if module[0] == ROOT.name and len(module) > 1:
                    yield module[1], tuple(module[2:]), (alias.name,), node.lineno


def cross_package_imports() -> list[Import]:
    packages = set(domains())
    found = []
    for package in sorted(packages):
        for path in sorted((ROOT / package).rglob("*.py")):
            for target, module, names, line in _imports_of(path):
                if target in packages and target != package:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    found.append(Import(package, where, target, module, names))
    return found


def boundary_violations(imports: list[Import]) -> list[str]:
    return [
        str(i) for i in imports
        if "models" in i.module[:1] or any(part.startswith("_") for part in i.module)
        or any(name.startswith("_") for name in i.names)
    ]


def cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    edges = {package: set() for package in domains()}
    for i in imports:
        edges[i.source].add(i.target)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for package in sorted(edges):
        if package not in index:
            visit(package)
    return found


def test_the_reader_sees_every_kind_of_import():
    """The rules are only as good as the import reader: check it on the forms the code uses."""
    assert {"accounts", "tenancy", "web", "catalog"} <= set(domains()) and "dev" not in domains()
    imports = cross_package_imports()
    assert any(i.target == "tenancy" and i.module == () for i in imports)  # from ..tenancy import Tenant
    assert any(i.target == "web" and i.module == ("urls",) for i in imports)  # from ..web.urls import …
    assert any(i.target == "jobs" and i.source == "accounts" for i in imports)  # from .. import jobs
    assert boundary_violations([Import("a", "a/x.py:1", "b", ("models",), ("Thing",))])
    assert boundary_violations([Import("a", "a/x.py:1", "b", (), ("_hidden",))])
    assert boundary_violations([Import("a", "a/x.py:1", "b", ("_internal",), ("thing",))])
    assert not boundary_violations([Import("a", "a/x.py:1", "b", ("services",), ("thing",))])
    assert cycles([Import("accounts", "", "web", (), ()), Import("web", "", "accounts", (), ())]) == [
        ["accounts", "web"]]


def test_no_package_imports_another_packages_models_or_private_names():
    violations = boundary_violations(cross_package_imports())
    assert violations == [], "import the owning package's public names instead:\n" + "\n".join(violations)


def test_no_import_cycle_among_domain_packages():
    imports = cross_package_imports()
    found = cycles(imports)
    detail = [str(i) for i in imports if any(i.source in c and i.target in c for c in found)]
    assert found == [], f"import cycle among {found}:\n" + "\n".join(detail)


def public_names(package: str) -> list[str] | None:
    """The literal ``__all__`` of a package's ``__init__``, or None when it has none."""
    for node in ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def _bound_names(package: str) -> set[str]:
    """The names an ``__init__`` binds at module level (definitions, assignments, imports)."""
    bound = set()
    for node in ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return bound


def _is_module(package: str, name: str) -> bool:
    return (ROOT / package / f"{name}.py").is_file() or (ROOT / package / name / "__init__.py").is_file()


def test_every_domain_package_documents_its_public_names():
    """``__all__`` is the package's front door: what another package may import from it."""
    missing = [p for p in domains() if public_names(p) is None]
    assert missing == [], f"no __all__ in the __init__ of {missing}"
    unbound = [f"{p}: {name}" for p in domains() for name in public_names(p) if name not in _bound_names(p)]
    assert unbound == [], "__all__ names what the __init__ does not define:\n" + "\n".join(unbound)


def test_packages_import_from_another_only_its_public_names_or_modules():
    outside = [
        f"{i} ({name} is not in {i.target}.__all__)" for i in cross_package_imports() if i.module == ()
        for name in i.names
        if name != i.target and name not in public_names(i.target) and not _is_module(i.target, name)
    ]
    assert outside == [], "\n".join(outside)
