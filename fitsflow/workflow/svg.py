"""Draw a workflow as an SVG picture on the server (no script, no outside service): the
phases as columns, each state a box in its column, gates with a double border, the current
state filled, the states a change has passed through shaded, and an arrow for every
transition. It scales to the width it is given, so it stays readable on a phone."""

from __future__ import annotations

from collections.abc import Collection
from html import escape

from ..domain.vocabulary import PHASES
from .definition import WorkflowDefinition

BOX_W, BOX_H, COL_GAP, ROW_GAP, TOP, PAD = 190, 46, 80, 26, 40, 40
LINE = 22  # characters a box's title wraps at


def _wrap(text: str) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > LINE:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], (" ".join(lines[1:]))[: LINE - 1] + "…"]
    return lines


def render(definition: WorkflowDefinition, current: str | None = None,
           visited: Collection[str] = ()) -> str:
    """The picture as an ``<svg>`` element; ``current`` and ``visited`` are state names."""
    columns = [p for p in PHASES if any(s.phase == p for s in definition.states.values())]
    place: dict[str, tuple[int, int]] = {}
    rows = 0
    for col, phase in enumerate(columns):
        names = [s.name for s in definition.states.values() if s.phase == phase]
        for row, name in enumerate(names):
            place[name] = (PAD + col * (BOX_W + COL_GAP), TOP + row * (BOX_H + ROW_GAP))
        rows = max(rows, len(names))
    width = PAD * 2 + len(columns) * BOX_W + (len(columns) - 1) * COL_GAP
    height = TOP + rows * (BOX_H + ROW_GAP) + PAD
    gates = {g.state for g in definition.gates.values()}
    now = definition.states[current].title if current in definition.states else ""
    label = f"Workflow {definition.title}" + (f": the change is {now.lower()}" if now else "")
    parts = [f'<svg class="workflow-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="wf-title-{definition.name} wf-desc-{definition.name}">',
             f'<title id="wf-title-{definition.name}">{escape(label)}</title>',
             f'<desc id="wf-desc-{definition.name}">'
             f'{escape(_description(definition, gates, current, visited))}</desc>',
             '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
             'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#3d4650"/></marker></defs>']
    for col, phase in enumerate(columns):
        x = PAD + col * (BOX_W + COL_GAP)
        parts.append(f'<text x="{x + BOX_W / 2}" y="{TOP - 16}" text-anchor="middle" class="wf-phase">'
                     f'{escape(phase.capitalize())}</text>')
    for t in definition.transitions:
        for source in t.sources:
            parts.append(_arrow(place[source], place[t.dest], source in visited and t.dest in visited))
    for name, (x, y) in place.items():
        state = definition.states[name]
        classes = ["wf-state"]
        if name in visited:
            classes.append("visited")
        if name == current:
            classes.append("current")
        if state.final:
            classes.append("final")
        parts.append(f'<g class="{" ".join(classes)}">')
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>')
        if name in gates:
            parts.append(f'<rect class="gate" x="{x + 3}" y="{y + 3}" width="{BOX_W - 6}" '
                         f'height="{BOX_H - 6}" rx="4"/>')
        lines = _wrap(state.title + (" (gate)" if name in gates else ""))
        first = y + BOX_H / 2 - (len(lines) - 1) * 8 + 5
        for i, line in enumerate(lines):
            parts.append(f'<text x="{x + BOX_W / 2}" y="{first + i * 16}" text-anchor="middle">'
                         f'{escape(line)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _arrow(start: tuple[int, int], end: tuple[int, int], taken: bool) -> str:
    (x1, y1), (x2, y2) = start, end
    if x1 == x2:  # same column: forward moves go down the right of the boxes, back moves up the left
        if y2 > y1:
            path = f"M{x1 + BOX_W - 24},{y1 + BOX_H} C{x1 + BOX_W + 30},{(y1 + y2) / 2} " \
                   f"{x1 + BOX_W + 30},{(y1 + y2) / 2} {x1 + BOX_W - 24},{y2}"
        else:
            mid = (y1 + y2) / 2
            path = f"M{x1 + 24},{y1} C{x1 - 30},{mid} {x1 - 30},{mid} {x1 + 24},{y2 + BOX_H}"
    else:
        forward = x2 > x1
        ax, bx = (x1 + BOX_W, x2) if forward else (x1, x2 + BOX_W)
        ay, by = y1 + BOX_H / 2, y2 + BOX_H / 2
        mid = (ax + bx) / 2
        path = f"M{ax},{ay} C{mid},{ay} {mid},{by} {bx},{by}"
    return f'<path class="wf-move{" taken" if taken else ""}" d="{path}" marker-end="url(#wf-arrow)"/>'


def _description(definition: WorkflowDefinition, gates: Collection[str], current: str | None,
                 visited: Collection[str]) -> str:
    """The picture in words, for screen readers."""
    out = []
    for phase in PHASES:
        states = [s for s in definition.states.values() if s.phase == phase]
        if states:
            names = "; ".join(s.title + (" (a gate)" if s.name in gates else "")
                              + (" (now)" if s.name == current else "")
                              + (" (passed through)" if s.name in visited and s.name != current else "")
                              for s in states)
            out.append(f"{phase.capitalize()}: {names}.")
    return " ".join(out)
