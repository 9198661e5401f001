"""Mermaid ``stateDiagram-v2`` text for a definition, with the roles on each edge."""

from __future__ import annotations

from workflow.definitions import Definition


def mermaid(d: Definition, highlight: str | None = None, lang: str = "en") -> str:
    lines = ["stateDiagram-v2"]
    for name, s in d.states.items():
        label = (s.title.get(lang) if s.title else name).replace('"', "#quot;")  # Mermaid's escape
        lines.append(f'    state "{label}" as {name}')
    for name, s in d.states.items():
        if s.initial:
            lines.append(f"    [*] --> {name}")
    for t in d.transitions:
        roles = ", ".join(t.roles)
        for source in t.source:
            lines.append(f"    {source} --> {t.dest}: {t.trigger} ({roles})")
    for name, s in d.states.items():
        if s.final:
            lines.append(f"    {name} --> [*]")
    if highlight and highlight in d.states:
        lines.append("    classDef current fill:#ffe08a,stroke:#b7791f,stroke-width:3px")
        lines.append(f"    class {highlight} current")
    return "\n".join(lines) + "\n"
