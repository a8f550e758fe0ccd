"""The program's process as an inline SVG, drawn on the server from the definition, current state marked.

The console has no front-end build and the office machines no internet, so the diagram
cannot be Mermaid rendered by a script from a CDN. It is drawn here instead, from the same
definition the engine runs, so it cannot drift from the code:

* states stand in one column in the definition's order (the initial state first);
* an event from one state to the next is a short arrow straight down, labelled;
* any other event is routed orthogonally along a vertical lane: to the right when it moves
  forward (down), to the left when it goes back (up). An event with several sources (e.g.
  "不予资助" from six states) shares one lane, so the picture stays a bus, not a tangle;
* the current state is filled, outlined thickly, prefixed with "▶" and suffixed "（当前）",
  carries ``aria-current="step"``, and the events leaving it are drawn in the accent colour.

The SVG is ``role="img"`` with a title and a description that names the current state and
where it can go; the page also lists the states (with ``aria-current``) and the transitions
as text, and keeps the Mermaid source for anyone who wants to paste it elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

from workflow.definition import Event, ProcessDefinition, State

NODE_W = 260
NODE_H = 30
ROW_GAP = 26
PITCH = NODE_H + ROW_GAP
TOP = 34
LANE_FIRST = 16
LANE_GAP = 16
MARGIN = 14
FONT = 13
SMALL = 11
INK, MUTED, LINE, HOT, WARN = "#1f2329", "#646a73", "#8f959e", "#1456f0", "#b71c1c"


@dataclass
class _Group:
    """One event's arrows into one target: drawn as a straight arrow or along one lane."""

    event: Event
    target: int
    sources: list[int]
    side: str = "straight"  # straight | right | left
    lane: int = 0
    hot: bool = False

    @property
    def span(self) -> tuple[int, int]:
        rows = [*self.sources, self.target]
        return min(rows), max(rows)


@dataclass
class _Lanes:
    taken: list[list[tuple[int, int]]] = field(default_factory=list)

    def place(self, span: tuple[int, int]) -> int:
        """The innermost lane whose rows are free over ``span`` (touching counts as overlap)."""
        for number, spans in enumerate(self.taken):
            if all(span[1] < top or bottom < span[0] for top, bottom in spans):
                spans.append(span)
                return number
        self.taken.append([span])
        return len(self.taken) - 1


@dataclass(frozen=True, slots=True)
class _Geometry:
    """Where rows and lanes are: the node column starts at ``x0``."""

    x0: float

    @property
    def cx(self) -> float:
        return self.x0 + NODE_W / 2

    @staticmethod
    def top(i: int) -> float:
        return TOP + i * PITCH

    def mid(self, i: int) -> float:
        return self.top(i) + NODE_H / 2

    def lane_x(self, g: _Group) -> float:
        if g.side == "right":
            return self.x0 + NODE_W + LANE_FIRST + g.lane * LANE_GAP
        return self.x0 - LANE_FIRST - g.lane * LANE_GAP


def _order(definition: ProcessDefinition) -> list[str]:
    keys = [s.key for s in definition.states]
    return [definition.initial, *[k for k in keys if k != definition.initial]]


def _groups(definition: ProcessDefinition, row: dict[str, int], current: str) -> list[_Group]:
    groups, straight_used = [], set()
    for event in definition.events:
        sources = sorted(row[s] for s in event.sources if s in row)
        if not sources or event.target not in row:
            continue
        group = _Group(event, row[event.target], sources, hot=current in event.sources)
        pair = (sources[0], group.target)
        if len(sources) == 1 and group.target == sources[0] + 1 and pair not in straight_used:
            straight_used.add(pair)
        else:
            group.side = "left" if all(s > group.target for s in sources) else "right"
        groups.append(group)
    for side in ("right", "left"):
        lanes = _Lanes()
        for group in sorted((g for g in groups if g.side == side), key=lambda g: (g.span[1] - g.span[0], g.span)):
            group.lane = lanes.place(group.span)
    return groups


def _fit(text: str, width: float, font: int) -> str:
    """``text`` cut (with an ellipsis) to about ``width`` pixels of CJK-width glyphs."""
    room = max(int(width // font), 2)
    return text if len(text) <= room else text[: room - 1] + "…"


def flowchart(definition: ProcessDefinition, *, current: str) -> Markup:
    """The process of ``definition`` as an accessible inline ``<svg>``, ``current`` marked."""
    order = _order(definition)
    row = {key: i for i, key in enumerate(order)}
    states = {s.key: s for s in definition.states}
    groups = _groups(definition, row, current)
    lefts = 1 + max((g.lane for g in groups if g.side == "left"), default=-1)
    rights = 1 + max((g.lane for g in groups if g.side == "right"), default=-1)
    x0 = MARGIN + lefts * LANE_GAP + (LANE_FIRST if lefts else 0)
    width = x0 + NODE_W + LANE_FIRST + rights * LANE_GAP + MARGIN
    height = TOP + len(order) * PITCH - ROW_GAP + MARGIN
    at = _Geometry(x0)

    cur = states.get(current)
    leaving = [g for g in groups if g.hot]
    desc = f"当前状态：{cur.label if cur else current}（{current}）。" + (
        "可由此进行：" + "；".join(f"{g.event.label} → {states[order[g.target]].label}" for g in leaving) + "。"
        if leaving
        else "此状态为终态。"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" role="img" viewBox="0 0 {width:.0f} {height:.0f}"'
        f' width="{width:.0f}" height="{height:.0f}" aria-labelledby="flow-title flow-desc"'
        f' font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">',
        f'<title id="flow-title">{escape(definition.title)} 流程图</title>',
        f'<desc id="flow-desc">{escape(desc)}</desc>',
        "<defs>",
        *(
            f'<marker id="flow-arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8"'
            f' markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in (("plain", LINE), ("hot", HOT))
        ),
        "</defs>",
    ]
    cx = at.cx
    out.append(f'<circle cx="{cx}" cy="{TOP - 22}" r="5" fill="{INK}"><title>开始</title></circle>')
    out.append(_line(cx, TOP - 17, cx, TOP, hot=False))
    for g in groups:
        out.append(_edge(g, [states[k] for k in order], at))
    for i, key in enumerate(order):
        out.append(_node(states[key], x=x0, y=at.top(i), current=key == current))
    out.append("</svg>")
    return Markup("\n".join(out))


def _line(x1: float, y1: float, x2: float, y2: float, *, hot: bool, arrow: bool = True) -> str:
    colour, weight = (HOT, 2.2) if hot else (LINE, 1.2)
    end = f' marker-end="url(#flow-arrow-{"hot" if hot else "plain"})"' if arrow else ""
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="{weight}"{end}/>'


def _edge(g: _Group, rows: list[State], at: _Geometry) -> str:
    target = rows[g.target]
    sources = "、".join(rows[s].label for s in g.sources)
    title = (
        f"<title>{escape(g.event.label)}（{escape(g.event.name)}）：{escape(sources)} → {escape(target.label)}</title>"
    )
    colour = HOT if g.hot else MUTED
    halo = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"'
    parts = [f'<g class="edge{" hot" if g.hot else ""}" data-event="{escape(g.event.name)}">', title]
    if g.side == "straight":
        cx, y1, y2 = at.cx, at.top(g.sources[0]) + NODE_H, at.top(g.target)
        parts.append(_line(cx, y1, cx, y2, hot=g.hot))
        text = _fit(g.event.label, NODE_W / 2 + LANE_FIRST - 8, SMALL)
        parts.append(
            f'<text x="{cx + 6}" y="{(y1 + y2) / 2 + 4}" font-size="{SMALL}" fill="{colour}" {halo}>'
            f"{escape(text)}</text>"
        )
    else:
        x = at.lane_x(g)
        edge = at.x0 + NODE_W if g.side == "right" else at.x0
        outs = [at.mid(s) - 5 for s in g.sources]
        into = at.mid(g.target) + 5
        ys = [*outs, into]
        parts.append(_line(x, min(ys), x, max(ys), hot=g.hot, arrow=False))
        for y in outs:
            parts.append(_line(edge, y, x, y, hot=g.hot, arrow=False))
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.2" fill="{HOT if g.hot else LINE}"/>')
        parts.append(_line(x, into, edge, into, hot=g.hot))
        span = max(ys) - min(ys)
        if span > 3 * SMALL:
            text = _fit(g.event.label, span - 8, SMALL)
            tx = x + SMALL / 2 + 2 if g.side == "right" else x - SMALL / 2 - 2
            first = (min(ys) + max(ys)) / 2 - (len(text) - 1) * SMALL / 2 + SMALL / 3
            glyphs = "".join(
                f'<tspan x="{tx}" y="{first + i * SMALL:.1f}">{escape(char)}</tspan>' for i, char in enumerate(text)
            )  # one glyph a line: vertical CJK that does not depend on SVG writing-mode support
            parts.append(f'<text font-size="{SMALL}" fill="{colour}" text-anchor="middle" {halo}>{glyphs}</text>')
    parts.append("</g>")
    return "".join(parts)


def _node(state: State, *, x: float, y: float, current: bool) -> str:
    fill, stroke, weight = ("#fde7e9", WARN, 3) if current else ("#fff", LINE, 1.2)
    marker = ' aria-current="step"' if current else ""
    label = f"▶ {state.label}（当前）" if current else state.label
    kind = "终态" if state.final else "状态"
    parts = [
        f'<g class="node{" current" if current else ""}{" final" if state.final else ""}"'
        f' data-state="{escape(state.key)}"{marker}>',
        f"<title>{escape(kind)}：{escape(state.label)}（{escape(state.key)}）{'，当前状态' if current else ''}</title>",
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}"'
        f' stroke-width="{weight}"/>',
    ]
    if state.final:
        parts.append(
            f'<rect x="{x + 3}" y="{y + 3}" width="{NODE_W - 6}" height="{NODE_H - 6}" rx="4" fill="none"'
            f' stroke="{stroke}" stroke-width="1"/>'
        )
    bold = ' font-weight="bold"' if current else ""
    parts.append(
        f'<text x="{x + NODE_W / 2}" y="{y + NODE_H / 2 + FONT / 2 - 1}" font-size="{FONT}" text-anchor="middle"'
        f' fill="{WARN if current else INK}"{bold}>'
        f"{escape(_fit(label, NODE_W - 12, FONT))}</text>"
    )
    parts.append("</g>")
    return "".join(parts)
