"""The lifecycle as inline SVG, drawn here (no JS library): states in columns by distance from the start."""

from __future__ import annotations

from collections import deque

from markupsafe import Markup, escape

from workflow.machine import CompiledWorkflow

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 150, 40, 46, 16, 10


def layout(compiled: CompiledWorkflow) -> dict[str, tuple[int, int]]:
    """state -> (column, row): column = shortest number of transitions from the initial state."""
    depth = {compiled.initial: 0}
    queue = deque([compiled.initial])
    while queue:
        state = queue.popleft()
        for rule in compiled.rules:
            if state in rule.sources and rule.dest not in depth:
                depth[rule.dest] = depth[state] + 1
                queue.append(rule.dest)
    for state in compiled.states:  # unreachable states (verify forbids them) still get drawn
        depth.setdefault(state, max(depth.values()) + 1)
    rows: dict[int, int] = {}
    out = {}
    for state in compiled.states:  # definition order inside a column
        column = depth[state]
        out[state] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return out


def render(compiled: CompiledWorkflow, current: str, lang: str = "vi") -> Markup:
    cells = layout(compiled)
    columns = max(c for c, _ in cells.values()) + 1
    rows = max(r for _, r in cells.values()) + 1
    width = PAD * 2 + columns * BOX_W + (columns - 1) * GAP_X
    height = PAD * 2 + rows * BOX_H + (rows - 1) * GAP_Y

    def box(state: str) -> tuple[int, int]:
        column, row = cells[state]
        return PAD + column * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y)

    name, where = (("Sơ đồ quy trình", "Trạng thái hiện tại") if lang == "vi"
                   else ("Lifecycle diagram", "Current state"))
    # width 100 % of the card with the viewBox keeping the proportions: the whole diagram always fits
    parts = [
        f'<svg class="lifecycle" id="lifecycle" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="lifecycle-title lifecycle-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="lifecycle-title">{escape(name)}</title>',
        f'<desc id="lifecycle-desc">{escape(where)}: {escape(compiled.title_of(current, lang))}</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    drawn = set()
    for rule in compiled.rules:
        for source in rule.sources:
            if (source, rule.dest) in drawn:
                continue
            drawn.add((source, rule.dest))
            (sx, sy), (dx, dy) = box(source), box(rule.dest)
            x1, y1 = float(sx + BOX_W), sy + BOX_H / 2
            x2, y2 = float(dx), dy + BOX_H / 2
            if dx <= sx:  # a step back: curve above the boxes
                x1, x2 = sx + BOX_W / 2, dx + BOX_W / 2
                y1, y2 = sy, dy
                mid = min(sy, dy) - GAP_Y
                path = f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"
            else:
                cx = (x1 + x2) / 2
                path = f"M{x1},{y1} C{cx},{y1} {cx},{y2} {x2},{y2}"
            parts.append(f'<path class="edge" d="{path}" marker-end="url(#arrow)"><title>'
                         f'{escape(rule.title.get(lang, rule.trigger))}</title></path>')
    for state, spec in compiled.states.items():
        x, y = box(state)
        classes = ["state"]
        if state == current:
            classes.append("current")
        if spec.final:
            classes.append("final")
        title = escape(compiled.title_of(state, lang))
        parts.append(
            f'<g class="{" ".join(classes)}" data-state="{escape(state)}"'
            + f'><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}" text-anchor="middle">{title}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def transitions_text(compiled: CompiledWorkflow, current: str, lang: str = "vi") -> list[dict[str, object]]:
    """The diagram as text (its alternative for screen readers and small screens): each state with where its
    transitions lead."""
    out: list[dict[str, object]] = []
    for state in compiled.states:
        moves = [(rule.title.get(lang, rule.trigger), compiled.title_of(rule.dest, lang))
                 for rule in compiled.rules if state in rule.sources]
        out.append({"state": state, "title": compiled.title_of(state, lang), "current": state == current,
                    "moves": moves})
    return out
