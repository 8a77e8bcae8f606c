"""Mutation testing of the modules that hold trayauth's protective rules.

For each module: copy the tree to a scratch folder, point mutmut at that one module and the fast
tests that exercise it, run it, and print killed / survived / score. A survivor whose only change
is the text of a message (a string literal with a space in it) is listed apart and counted as
killed: no user relies on the exact words. Module-level constants (margins, caps, flags) are not
mutated by mutmut 3, so a table of hand mutations changes each one and checks the tests notice.

Usage: scripts/mutation.sh [MODULE ...]   (MODULE as in TARGETS, e.g. net/http; default: all)
Prints figures; exits 1 when a module scores under --min (default 85) or a hand mutation survives.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module (under trayauth/) -> the fast, in-process tests that exercise it. Subprocess tests are
# left out on purpose: a child process imports the unmutated tree, so it could kill nothing.
TARGETS: dict[str, list[str]] = {
    "domain/tokens": ["tests/unit/test_tokens.py", "tests/unit/test_token_rules.py"],
    "net/http": ["tests/unit/test_http_policy.py", "tests/unit/test_http_rules.py"],
    "storage/vault": ["tests/unit/test_store_vault.py", "tests/unit/test_vault_rules.py"],
    "storage/atomic": ["tests/unit/test_store_atomic.py", "tests/unit/test_atomic_rules.py"],
    "services/renewal": ["tests/integration/test_broker.py", "tests/unit/test_renewal_rules.py"],
    "services/agent": ["tests/unit/test_agent.py"],
    "net/loopback": ["tests/unit/test_loopback.py"],
}


@dataclass(frozen=True)
class HandMutation:
    """One constant changed by hand: ``old`` must appear exactly once in ``module``."""

    module: str
    old: str
    new: str
    why: str


HAND: list[HandMutation] = [
    HandMutation("net/http", "MAX_BODY = 1_048_576", "MAX_BODY = 2_097_152", "body cap doubled"),
    HandMutation(
        "net/http",
        "RETRY_STATUSES = frozenset({429, 503})",
        "RETRY_STATUSES = frozenset({429})",
        "503 no longer waited for",
    ),
    HandMutation("net/http", "BACKOFF_BASE = 1.0", "BACKOFF_BASE = 2.0", "backoff base doubled"),
    HandMutation("domain/tokens", "MAX_MARGIN = 60.0", "MAX_MARGIN = 120.0", "renewal margin cap"),
    HandMutation("domain/tokens", "MARGIN_FRACTION = 0.10", "MARGIN_FRACTION = 0.20", "margin fraction"),
    HandMutation(
        "domain/tokens", "ASSUMED_LIFETIME = 3600.0", "ASSUMED_LIFETIME = 1800.0", "assumed lifetime"
    ),
    HandMutation("domain/tokens", "EXPIRING_WINDOW = 300.0", "EXPIRING_WINDOW = 600.0", "expiring window"),
    HandMutation("storage/vault", "FORMAT = 1", "FORMAT = 2", "vault format marker"),
]


@dataclass
class Score:
    module: str
    total: int = 0
    killed: int = 0
    timeout: int = 0
    survived: list[str] = field(default_factory=list)
    text_only: list[str] = field(default_factory=list)
    no_tests: int = 0
    seconds: float = 0.0

    @property
    def score(self) -> float:
        counted = self.total - self.no_tests if self.total else 0
        good = self.killed + self.timeout + len(self.text_only)
        return 100.0 * good / counted if counted else 0.0


def copy_tree(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, listed):
        src = ROOT / name
        if not src.is_file() or name.startswith(("tests/packaging/", "mutants/")):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def configure(dest: Path, module: str, tests: list[str]) -> None:
    block = (
        "\n[tool.mutmut]\n"
        'source_paths = ["trayauth"]\n'
        f'only_mutate = ["trayauth/{module}.py"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
    )
    with (dest / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(block)


def _tokens(line: str) -> list[tuple[int, str]]:
    try:
        return [
            (t.type, t.string)
            for t in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER)
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def is_text_only(diff: str) -> bool:
    """True when the mutant changes nothing but the words of a message (a string with a space)."""
    old = [line[1:] for line in diff.splitlines() if line.startswith("- ") or line.startswith("-\t")]
    new = [line[1:] for line in diff.splitlines() if line.startswith("+ ") or line.startswith("+\t")]
    if not old or len(old) != len(new):
        return False
    for before, after in zip(old, new, strict=True):
        a, b = _tokens(before), _tokens(after)
        if not a or len(a) != len(b):
            return False
        for (ta, sa), (tb, sb) in zip(a, b, strict=True):
            if (ta, sa) == (tb, sb):
                continue
            if ta != tokenize.STRING or tb != tokenize.STRING or " " not in sa:
                return False
    return True


def run_module(module: str, tests: list[str], mutmut: str, children: int) -> Score:
    score = Score(module)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="trayauth-mutation-") as scratch:
        dest = Path(scratch)
        copy_tree(dest)
        configure(dest, module, [t for t in tests if (ROOT / t).exists()])
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run(
            [mutmut, "run", "--max-children", str(children)],
            cwd=dest,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        subprocess.run([mutmut, "export-cicd-stats"], cwd=dest, env=env, capture_output=True, check=False)
        stats_file = dest / "mutants" / "mutmut-cicd-stats.json"
        if not stats_file.exists():
            print(f"{module}: mutmut produced no results (see 'mutmut run' in a copy of the tree)")
            return score
        stats = json.loads(stats_file.read_text())
        score.total, score.killed = stats["total"], stats["killed"]
        score.timeout, score.no_tests = stats["timeout"], stats["no_tests"]
        listing = subprocess.run(
            [mutmut, "results"], cwd=dest, env=env, capture_output=True, text=True, check=False
        ).stdout
        for line in listing.splitlines():
            name, _, status = line.strip().rpartition(": ")
            if status != "survived":
                continue
            diff = subprocess.run(
                [mutmut, "show", name], cwd=dest, env=env, capture_output=True, text=True, check=False
            ).stdout
            changed = "\n".join(x for x in diff.splitlines() if x[:2] in ("- ", "+ ", "-\t", "+\t"))
            (score.text_only if is_text_only(diff) else score.survived).append(f"{name}\n{changed}")
    score.seconds = time.monotonic() - started
    return score


def run_hand(mutation: HandMutation, python: str) -> bool:
    """True when the module's tests fail with the constant changed (the mutation is caught)."""
    with tempfile.TemporaryDirectory(prefix="trayauth-hand-") as scratch:
        dest = Path(scratch)
        copy_tree(dest)
        source = dest / "trayauth" / f"{mutation.module}.py"
        text = source.read_text(encoding="utf-8")
        if text.count(mutation.old) != 1:
            print(f"  hand mutation {mutation.old!r} not found once in {mutation.module}: table is stale")
            return False
        source.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
        tests = [t for t in TARGETS[mutation.module] if (ROOT / t).exists()]
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(dest)}
        done = subprocess.run(
            [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=dest,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return done.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("modules", nargs="*", help=f"any of: {', '.join(TARGETS)}")
    parser.add_argument("--min", type=float, default=85.0, help="the score each module must reach")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-hand", action="store_true", help="skip the hand mutations of constants")
    parser.add_argument("--show", action="store_true", help="print every survivor's diff")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}; pick from {', '.join(TARGETS)}")
    modules = args.modules or [m for m in TARGETS if (ROOT / "trayauth" / f"{m}.py").exists()]
    bindir = Path(sys.executable).parent
    mutmut = str(bindir / "mutmut")
    if not Path(mutmut).exists():
        print("mutmut is not installed in this environment: pip install -e '.[test]'", file=sys.stderr)
        return 2
    failed = False
    scores = []
    for module in modules:
        score = run_module(module, TARGETS[module], mutmut, args.children)
        scores.append(score)
        print(
            f"{module}: {score.total} mutants, {score.killed} killed, {score.timeout} timed out, "
            f"{len(score.text_only)} message-text only, {len(score.survived)} survived, "
            f"{score.no_tests} without tests: {score.score:.1f} % ({score.seconds:.0f} s)",
            flush=True,
        )
        for entry in score.survived if args.show else []:
            print("  survived: " + entry.replace("\n", "\n    "))
        for entry in score.text_only if args.show else []:
            print("  text only: " + entry.replace("\n", "\n    "))
        failed |= score.score < args.min
    print()
    print(f"{'module':<20} {'mutants':>8} {'killed':>7} {'text':>5} {'survived':>9} {'score':>7}")
    for s in scores:
        print(
            f"{s.module:<20} {s.total:>8} {s.killed + s.timeout:>7} {len(s.text_only):>5} "
            f"{len(s.survived):>9} {s.score:>6.1f}%"
        )
    if not args.no_hand:
        print("\nhand mutations of constants (mutmut 3 does not mutate module-level values):")
        for mutation in HAND:
            if mutation.module not in modules:
                continue
            caught = run_hand(mutation, sys.executable)
            failed |= not caught
            print(
                f"  {'caught ' if caught else 'MISSED '} {mutation.module}: {mutation.old} -> {mutation.new}"
                f" ({mutation.why})",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
