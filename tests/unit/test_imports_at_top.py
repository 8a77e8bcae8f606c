"""Imports live at the top of modules, so the import graph is visible from the source.

The exceptions are few and each has its reason: the CLI's dispatch is the one place that decides
what a command loads (the fast path through the tray must stay at the floor of any Python client:
tests/unit/test_fast_path.py, tests/benchmarks/bench_cli.py), the modules on that path keep their
failure-only imports, and a third-party package that only some runs need (keyring) is imported
in one place, when first used. In ``ui/`` that place is ``ui/deferred.py``;
below the user interfaces, the flow registry (``flows/__init__.py``) decides when a flow's code
loads. ``importlib.import_module`` and ``__import__`` inside a function count as late imports too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import trayauth

PACKAGE = Path(trayauth.__file__).parent
NOT_YET: tuple[str, ...] = ()  # every layer is held to it, the Qt layer included

ALLOWED = {
    "ui/deferred.py": "the tray's one place for late imports: Qt after the pre-flight checks, the "
    "broker, the dialogs and the HTTP stack on first use, the demo server",
    "cli/__init__.py": "the dispatch: the one place that decides what a command loads (the tray's "
    "fast path, the hand-off path, argparse and the commands, Qt only to start the tray)",
    "cli/fast.py": "token/header through the tray: the error and warning wording only on a refusal "
    "or a warning (the fast path's import set is pinned)",
    "cli/handoff.py": "exec/kube/git-credential before argparse: each loads only its own "
    "integration, the core only when no tray answers, the error wording only on a failure",
    "flows/__init__.py": "the flow registry: a flow's login, and its renewal and revocation, load "
    "when first called, so renewing a refresh token never loads a login's PyJWT and authlib",
    "client.py": "standard library only, on the fast path: platformdirs only without "
    "XDG_RUNTIME_DIR, hashlib only for the digest of a refused token",
    "domain/errors.py": "raised on the fast path: the step types (enum, dataclasses) only when a "
    "next step is asked for",
    "integrations/__init__.py": "the error classes only when an argument is bad (the exec and "
    "git-credential fast path loads none)",
    "integrations/exec.py": "subprocess only where exec cannot replace the process (not POSIX)",
    "integrations/source.py": "the hand-off path: the core (vault, httpx, asyncio) only when no tray "
    "answers, the error wording only on a refusal",
    "net/http.py": "httpx with the first request, the email package with the first dated "
    "Retry-After: the tray imports this module at start, and a tray whose tokens need no network "
    "yet does without them (what a tray imports stays resident all day)",
    "storage/keystore.py": "keyring only when the key is in the keyring (a key file needs none)",
}


def imports_in_functions(path: Path) -> list[str]:
    """Every import statement inside a function (nested ones once), as "line: statement"."""
    found: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and (isinstance(child, ast.Import | ast.ImportFrom) or _imports_by_name(child)):
                found.append(f"{child.lineno}: {ast.unparse(child)}")
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _imports_by_name(node: ast.AST) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def modules() -> list[str]:
    return [
        str(p.relative_to(PACKAGE))
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] not in NOT_YET
    ]


def test_imports_are_at_the_top_outside_a_short_allowlist() -> None:
    late = {m: hits for m in modules() if m not in ALLOWED and (hits := imports_in_functions(PACKAGE / m))}
    assert late == {}


def test_every_allowed_module_still_needs_it() -> None:
    """An entry whose module moved its imports up goes, so the list stays short and true."""
    assert [m for m in ALLOWED if not imports_in_functions(PACKAGE / m)] == []
    # 13 since the count sees imports by name: the flow registry had one all along, uncounted;
    # 12 once the locks stood on storage/flock.py (no late filelock, no late fcntl or msvcrt).
    assert len(ALLOWED) <= 12


def test_the_count_sees_nested_and_async_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "import os\n"
        "def f():\n    import json\n    def g():\n        from re import sub\n"
        "async def h():\n    import asyncio\n"
        "class C:\n    def m(self):\n        import sys\n"
        "def by_name():\n    return importlib.import_module('json'), __import__('os')\n"
    )
    assert imports_in_functions(sample) == [
        "3: import json",
        "5: from re import sub",
        "7: import asyncio",
        "10: import sys",
        "12: importlib.import_module('json')",
        "12: __import__('os')",
    ]
