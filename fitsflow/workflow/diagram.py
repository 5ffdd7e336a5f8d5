"""Render a workflow as a Mermaid state diagram, phases as composite states."""

from __future__ import annotations

from .definition import WorkflowDefinition


def mermaid(definition: WorkflowDefinition, current: str | None = None) -> str:
    """A ``stateDiagram-v2`` text; ``current`` is highlighted when given."""
    lines = ["stateDiagram-v2", f"    %% {definition.title}"]
    phases: dict[str, list[str]] = {}
    for state in definition.states.values():
        phases.setdefault(state.phase, []).append(state.name)
    for phase, names in phases.items():
        lines.append(f"    state {phase} {{")
        for name in names:
            lines.append(f'        {name} : {definition.states[name].title}')
        lines.append("    }")
    lines.append(f"    [*] --> {definition.initial}")
    gate_states = {g.state for g in definition.gates.values()}
    for t in definition.transitions:
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest} : {t.trigger}")
    for state in definition.states.values():
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    if gate_states:
        lines.append("    classDef gate stroke-width:3px")
        lines.append(f"    class {','.join(sorted(gate_states))} gate")
    if current is not None and current in definition.states:
        lines.append("    classDef current fill:#ffd54f,stroke:#333,stroke-width:3px")
        lines.append(f"    class {current} current")
    return "\n".join(lines) + "\n"
