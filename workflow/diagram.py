"""Mermaid diagrams drawn by ``transitions`` from the same definition the engine runs.

The picture cannot drift from the code: it is generated from the definition's states and
events by transitions' own diagram support (``graph_engine="mermaid"``), with zh-CN
labels; the current state of a case can be highlighted.
"""

from __future__ import annotations

from typing import Any

from transitions import State
from transitions.extensions import GraphMachine

from workflow.definition import ProcessDefinition


class _LabelledState(State):
    """A transitions State that carries the zh-CN label the diagram shows."""

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label = label


class _LabelledGraphMachine(GraphMachine):
    state_cls = _LabelledState


class _Token:
    def __init__(self, state: str) -> None:
        self.state = state


def mermaid(definition: ProcessDefinition, *, current: str | None = None) -> str:
    """The definition as a Mermaid ``stateDiagram-v2``; ``current`` is styled as active."""
    machine = _LabelledGraphMachine(
        model=None,
        states=[{"name": s.key, "label": f"{s.label}<br/>{s.key}"} for s in definition.states],
        transitions=[{"trigger": e.name, "source": list(e.sources), "dest": e.target} for e in definition.events],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        show_state_attributes=False,
        title=definition.title,
    )
    token = _Token(current or definition.initial)
    machine.add_model(token)
    graph = machine.model_graphs[id(token)]
    graph.reset_styling()
    if current is not None:
        graph.set_node_style(current, "active")
    # transitions writes "Class"; Mermaid's keyword is lower-case "class".
    drawn: Any = graph.get_graph()  # a DigraphMock with .source for the mermaid engine
    source: str = drawn.source.replace("  Class ", "  class ")
    finals = [f"  {s.key} --> [*]" for s in definition.states if s.final]
    return source.rstrip("\n") + "\n" + "\n".join(finals) + "\n"
