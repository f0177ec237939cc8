"""Every public name (each subpackage's ``__all__``) has an entry in the API reference (docs/api/).

Read statically, with ``ast``: nothing of plait is imported, so torch and the optional extras are
never loaded. A name counts as documented when a ``::: identifier`` entry of a page under
``docs/api/`` resolves to the same definition, following ``from X import name`` re-exports and the
lazy export tables (``{"Name": "module.path"}``) of ``plait.distributed`` and ``plait.utils``;
an entry for a module also covers the names listed under its ``members:`` option. Where a lazy
``__getattr__`` hides the defining module, an entry under the subpackage ending in the name counts
(``plait.evaluation.evaluators.ColBERTTripletEvaluator`` for ``plait.evaluation``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api"
ENTRY = re.compile(r"^:::\s*([\w.]+)[ \t]*$", re.M)


def module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@cache
def parsed(module: str) -> ast.Module | None:
    path = module_file(module)
    return ast.parse(path.read_text(encoding="utf-8")) if path else None


def public_packages() -> list[str]:
    """Every plait package whose ``__init__.py`` sets ``__all__`` (private folders excluded)."""
    found = []
    for init in sorted((ROOT / "plait").rglob("__init__.py")):
        parts = init.parent.relative_to(ROOT).parts
        if any(p.startswith("_") for p in parts):
            continue
        module = ".".join(parts)
        if dunder_all(module) is not None:
            found.append(module)
    return found


def _literal_strings(node: ast.AST, tree: ast.Module) -> list[str] | None:
    """Strings of a list/tuple literal (with ``*NAME`` of a module-level literal), or ``sorted(DICT)``."""
    if isinstance(node, (ast.List, ast.Tuple)):
        out: list[str] = []
        for item in node.elts:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                out.append(item.value)
            elif isinstance(item, ast.Starred) and isinstance(item.value, ast.Name):
                out += _literal_strings(_assigned(tree, item.value.id), tree) or []
            else:
                return None
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        inner = node.args[0]
        if isinstance(inner, ast.Name):
            value = _assigned(tree, inner.id)
            if isinstance(value, ast.Dict):
                return [k.value for k in value.keys if isinstance(k, ast.Constant)]
            return _literal_strings(value, tree)
    return None


def _assigned(tree: ast.Module, name: str) -> ast.AST:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.value  # type: ignore[union-attr, return-value]
    return ast.Constant(None)


def dunder_all(module: str) -> list[str] | None:
    tree = parsed(module)
    if tree is None:
        return None
    value = _assigned(tree, "__all__")
    if isinstance(value, ast.Constant) and value.value is None:
        return None
    names = _literal_strings(value, tree)
    assert names is not None, f"{module}.__all__ is not a literal this test can read"
    return names


def resolve(module: str, name: str, depth: int = 0) -> str:
    """Where ``module.name`` is defined, following re-exports and lazy export tables."""
    tree = parsed(module)
    if tree is None or depth > 10:
        return f"{module}.{name}"
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name == name:
                return f"{module}.{name}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return resolve(node.module, alias.name, depth + 1)
    for node in tree.body:  # lazy tables: {"Name": "plait.module"}
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Dict):
            for key, target in zip(value.keys, value.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == name
                    and isinstance(target, ast.Constant)
                    and isinstance(target.value, str)
                ):
                    return resolve(target.value, name, depth + 1)
    return f"{module}.{name}"


def entries() -> dict[str, list[str]]:
    """Each ``:::`` identifier of docs/api/*.md with the names of its ``members:`` option."""
    found: dict[str, list[str]] = {}
    for page in sorted(API.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in ENTRY.finditer(text):
            options = text[match.end() :].split("\n\n", 1)[0]
            members = re.search(r"members:\s*\[([^\]]*)\]", options)
            names = [m.strip().strip("'\"") for m in members.group(1).split(",")] if members else []
            found[match.group(1)] = [n for n in names if n]
    return found


def documented() -> set[str]:
    """Definitions the reference renders (resolved), plus the raw identifiers."""
    out = set()
    for identifier, members in entries().items():
        out.add(identifier)
        module, _, name = identifier.rpartition(".")
        out.add(resolve(module, name))
        out |= {resolve(identifier, member) for member in members}
    return out


def test_the_public_packages_are_the_expected_ones() -> None:
    packages = public_packages()
    for expected in (
        "plait.models",
        "plait.indexes",
        "plait.retrieve",
        "plait.rank",
        "plait.scores",
        "plait.losses",
        "plait.evaluation",
        "plait.training",
        "plait.utils",
        "plait.baselines",
    ):
        assert expected in packages, f"{expected} has no readable __all__"


def test_resolution_follows_re_exports_and_lazy_tables() -> None:
    assert resolve("plait.indexes", "PLAID") == "plait.indexes.plaid.index.PLAID"
    assert resolve("plait.utils", "ColBERTCollator") == "plait.training.collator.ColBERTCollator"
    assert resolve("plait.distributed", "ShardedPLAID") == "plait.distributed.sharded.ShardedPLAID"
    assert "ColBERTTripletEvaluator" in (dunder_all("plait.evaluation") or [])  # *_EVALUATORS
    assert "ShardedPLAID" in (dunder_all("plait.distributed") or [])  # sorted(_EXPORTS)
    assert "plait.indexes.plaid.index.PLAID" in documented()
    assert "plait.kernels.maxsim.no_such_function" not in documented()


def test_every_public_name_is_in_the_api_reference() -> None:
    rendered = documented()
    identifiers = list(entries())
    missing = []
    for package in public_packages():
        for name in dunder_all(package) or []:
            target = resolve(package, name)
            if target in rendered or f"{package}.{name}" in rendered:
                continue
            if target == f"{package}.{name}" and any(  # hidden behind a lazy __getattr__
                i.startswith(f"{package}.") and i.endswith(f".{name}") for i in identifiers
            ):
                continue
            missing.append(f"{package}.{name}")
    assert not missing, f"not in docs/api/*.md (add a '::: name' entry): {missing}"


def test_every_api_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in API.glob("*.md"):
        assert f"api/{page.name}" in nav, f"docs/api/{page.name} is not in mkdocs.yml's nav"
