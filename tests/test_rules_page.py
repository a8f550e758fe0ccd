"""docs/rules.md is the project's own statement of its rules, and this test keeps it true.

It fails when a rule ID the code uses (``states/``, ``workflow/``) has no section on the page
or is named by no test, when a function the page says enforces a rule does not exist, or when
a test file the page lists does not name the rule. The page is the authority for readers; this
test is the authority for the page.
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rules.md"
CODE = ("states", "workflow")
RULE_ID = re.compile(r"\b[A-Z]{2,}-[A-Z]+-\d+\b")  # LG-WIN-1, SZ-AMT-2: any program's prefix
SECTION = re.compile(r"^### ([A-Z][A-Z0-9-]*):", re.MULTILINE)
BACKTICKED = re.compile(r"`([^`]+)`")
RULE_POSITION = {"Refusal": 0, "Guard": 0, "MaterialItem": 1, "DeadlineRule": 1, "NoticeRule": 2}
"""Where a rule ID sits among the positional arguments of the definitions that carry one."""


def _named(rule: str, text: str) -> bool:
    return re.search(rf"(?<![A-Z0-9-]){re.escape(rule)}(?![0-9])", text) is not None


def _rule_arguments(tree: ast.AST) -> set[str]:
    """IDs given as rules without a program prefix (``Refusal("ROLE", ...)``, ``rule="..."``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        values = [kw.value for kw in node.keywords if kw.arg and (kw.arg == "rule" or kw.arg.endswith("_rule"))]
        position = RULE_POSITION.get(name)
        if position is not None and len(node.args) > position:
            values.append(node.args[position])
        for value in values:
            if (
                isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and re.fullmatch(r"[A-Z][A-Z0-9-]*", value.value)
            ):
                found.add(value.value)
    return found


@cache
def code_rule_ids() -> frozenset[str]:
    """Every rule ID the code names: in its text (docstrings, comments, strings) or as a rule argument."""
    found: set[str] = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            found.update(RULE_ID.findall(source))
            found.update(_rule_arguments(ast.parse(source)))
    return frozenset(found)


@cache
def _sources() -> dict[str, str]:
    """Every test module and test table, by path relative to the project."""
    texts = {}
    for path in sorted((ROOT / "tests").rglob("*")):
        if path.suffix in (".py", ".md") and path.name != Path(__file__).name:
            texts[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return texts


@cache
def sections() -> dict[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    heads = list(SECTION.finditer(text))
    return {
        m.group(1): text[m.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        for i, m in enumerate(heads)
    }


def _field(body: str, label: str) -> str:
    match = re.search(rf"^- \*\*{label}:\*\*(.*?)(?=^- \*\*|\Z)", body, re.MULTILINE | re.DOTALL)
    assert match, f"no '{label}' line"
    return " ".join(match.group(1).split())


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return callable(target)
    return False


def test_the_code_names_rules_at_all() -> None:
    ids = code_rule_ids()
    assert {"LG-WIN-1", "SZ-WIN-1", "SZ-AMT-1", "ROLE"} <= ids
    assert not {"SHA-256", "UTF-8"} & ids, "only rule-shaped IDs count"


@pytest.mark.parametrize("rule", sorted(code_rule_ids()))
def test_every_rule_the_code_uses_is_on_the_page_and_tested(rule: str) -> None:
    assert rule in sections(), (
        f"{rule} is used in states/ or workflow/ but has no '### {rule}:' section in docs/rules.md"
    )
    naming = [path for path, text in _sources().items() if _named(rule, text)]
    assert naming, f"{rule} is used in the code but no test names it"
    assert "`" in _field(sections()[rule], "Enforced in"), f"{rule} is used in the code: say where it is enforced"


@pytest.mark.parametrize("rule", sorted(sections()))
def test_every_section_says_what_where_and_which_tests(rule: str) -> None:
    body = sections()[rule]
    assert len(_field(body, "Decides")) > 20, f"{rule}: say what the rule decides"
    where = BACKTICKED.findall(_field(body, "Enforced in"))
    for dotted in where:
        assert _resolves(dotted), f"{rule}: {dotted} is not a function or class of the project"
    tests = BACKTICKED.findall(_field(body, "Tested by"))
    if where:
        assert tests, f"{rule} is enforced: list the tests that check it"
    for path in tests:
        assert path in _sources(), f"{rule}: {path} does not exist"
        assert _named(rule, _sources()[path]), f"{rule}: {path} does not name {rule}"


def test_the_page_has_each_rule_once() -> None:
    heads = SECTION.findall(PAGE.read_text(encoding="utf-8"))
    assert len(heads) == len(set(heads))
