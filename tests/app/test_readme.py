"""The README shows what the code does: its diagrams are the ones generated from the definitions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from states.registry import default_catalog
from workflow.diagram import mermaid

README = Path(__file__).resolve().parents[2] / "README.md"


def _diagrams() -> dict[str, str]:
    blocks = re.findall(r"```mermaid\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {block.splitlines()[1]: block for block in blocks}  # keyed by the title line after "---"


@pytest.mark.parametrize("process", default_catalog().latest(), ids=lambda p: p.key)
def test_the_readme_embeds_the_generated_diagram(process) -> None:  # type: ignore[no-untyped-def]
    generated = mermaid(process.definition)
    title = generated.splitlines()[1]
    assert _diagrams().get(title) == generated, f"regenerate with: filingflow programs diagram {process.key}"
