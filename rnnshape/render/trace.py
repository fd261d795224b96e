"""The views of a trace: per recurrent module, the call as torch saw it, then the kind command's tables.

Reads only the frozen Trace / TraceEntry values (rnnshape.model.trace).
"""

from __future__ import annotations

from rnnshape.model.report import Report, document_header
from rnnshape.model.trace import Seen, Trace, TraceEntry, macs
from rnnshape.render import fmt
from rnnshape.render.words import AtWidth
from rnnshape.views.code import constructor


def _tensor(s: Seen) -> dict:
    return {"name": s.name, "shape": list(s.shape), "dims": list(s.dims), "packed": s.packed,
            "batch_sizes": None if s.batch_sizes is None else list(s.batch_sizes), "dtype": s.dtype}


def entry_dict(e: TraceEntry) -> dict:
    cost = macs(e)
    return {
        "path": e.path,
        "class": e.cls,
        "kind": e.module.kind.value,
        "cell": e.module.cell,
        "count": e.count,
        "forwards": e.forwards,
        "command": e.command,
        "constructor": constructor(e.module),
        "inputs": [_tensor(s) for s in e.inputs],
        "outputs": [_tensor(s) for s in e.outputs],
        "pitfalls": [{"code": p.code, "message": p.message, "fix": p.fix, "evidence": p.evidence,
                      "confidence": p.confidence} for p in e.pitfalls],
        "mismatch": e.mismatch,
        "calls_per_forward": e.per_forward,
        "macs_per_call": None if cost is None else cost[0],
        "macs_per_forward": None if cost is None else cost[1],
    }


def trace_dict(t: Trace) -> dict:
    err = t.error
    return {
        **document_header(),
        "torch_version": t.torch_version,
        "target": t.target,
        "forwards": t.forwards,
        "training": t.training,
        "calls": [entry_dict(e) for e in t.calls],
        "error": None if err is None else {"message": err.message, "hint": err.hint, "path": err.path,
                                           "exception": err.exception, "location": err.location},
        "warnings": list(t.warnings),
        "unseen": list(t.unseen),
    }


def _title(entries: list[TraceEntry]) -> str:
    """One header per module, whatever the number of call signatures it was called with."""
    e = entries[0]
    count = sum(x.count for x in entries)
    forwards = max(x.forwards for x in entries)
    times = f"{count} call" + ("s" if count != 1 else "")
    if forwards > 1:
        times += f" in {forwards} forwards"
    if len(entries) > 1:
        times += f" with {len(entries)} input shapes"
    return f"{e.path or '(the model)'} · {e.cls} · {times}"


def _cost(e: TraceEntry) -> str | None:
    cost = macs(e)
    if cost is None:
        return None
    per_call, per_forward = cost
    if e.per_forward <= 1:
        return f"MACs: {fmt.count(per_call)} per call"
    return (f"called {e.per_forward} times per forward: MACs {fmt.count(per_call)} per call, "
            f"{fmt.count(per_forward)} per forward")


def command_lines(command: str, width: int) -> list[str]:
    """The command broken the way a shell reads it (`` \\`` at each line end), an option and its value kept
    together, so a narrow terminal still shows something to copy and paste."""
    words = command.split()
    groups: list[str] = []
    for w in words:
        if groups and not w.startswith("-") and groups[-1].startswith("-") and " " not in groups[-1]:
            groups[-1] += " " + w
        else:
            groups.append(w)
    lines = ["$"]
    for g in groups:
        if len(lines[-1]) + 1 + len(g) + 2 > width and lines[-1].strip() not in ("$", ""):
            lines[-1] += " \\"
            lines.append("   ")
        lines[-1] += " " + g
    return lines


def command_text(command: str, width: int):
    from rich.text import Text

    text = Text()
    for i, line in enumerate(command_lines(command, width)):
        text.append(("\n" if i else "") + line, style="bold")
    text.no_wrap = True
    return text


def calls_table(e: TraceEntry):
    from rich import box
    from rich.table import Table

    table = Table(title="As called", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for h in ("", "name", "shape", "dims"):
        table.add_column(h, no_wrap=True)
    for role, seen in (("in", e.inputs), ("out", e.outputs)):
        for i, s in enumerate(seen):
            name = s.name + (f"  batch_sizes {list(s.batch_sizes)}" if s.batch_sizes else "")
            table.add_row(role if i == 0 else "", name, fmt.shape(s.shape), fmt.dims(s.dims) if s.dims else "",
                          end_section=i == len(seen) - 1)
    if not any(s.name.startswith(("h_0", "c_0", "hx")) for s in e.inputs):
        table.caption = "no initial state passed: torch starts from zeros"
        table.caption_justify = "left"
    from rnnshape.render.fit import Fit

    return Fit(table, drop=("dims",))  # never cut (rnnshape.render.fit)


def entry_view(e: TraceEntry, torch_version: str | None = None, header: str | None = ""):
    """One entry: its header (``None``: under the module's header already, as one of several input shapes),
    the command, the call as torch saw it, the pitfalls, the kind command's tables."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    from rnnshape.render.tables import render

    if header is None:
        x = next((s for s in e.inputs if s.name.startswith("input")), None)
        parts = [Text(f"{e.count} call{'s' if e.count != 1 else ''} with {x.name if x else 'input'} "
                      f"{fmt.shape(x.shape) if x else '?'}", style="bold")]
    else:
        parts = [Rule(header or _title([e]), align="left")]
    if e.command:
        parts.append(AtWidth(lambda width: command_text(e.command, width)))
    predicted = {(t.name, t.shape) for t in e.prediction.inputs + e.prediction.outputs} if e.prediction else set()
    if all((s.name, s.shape) in predicted for s in e.inputs + e.outputs):
        state = any(s.name.startswith(("h_0", "c_0", "hx")) for s in e.inputs)
        parts.append(Text("called with exactly the tensors listed below" +
                          ("" if state else "; no initial state passed: torch starts from zeros"), style="dim"))
    else:
        parts.append(calls_table(e))
    from rnnshape.render.words import Verbatim, Words

    for p in e.pitfalls:
        parts.append(Words(Text.assemble((f"pitfall {p.code}: ", "bold yellow"), p.message), indent=2))
        parts.append(Verbatim(Text.assemble(("  fix: ", "yellow"), p.fix)))  # to copy whole
        if p.evidence:
            parts.append(Words(Text(f"evidence ({p.confidence} confidence): {p.evidence}", style="dim"), indent=2))
    cost = _cost(e)
    if cost and not e.mismatch:
        parts.append(Text(cost, style="dim"))
    if e.mismatch:
        parts.append(Text(e.mismatch, style="bold red"))
    elif e.prediction is not None:
        parts += [Text(), render(Report(e.prediction, verified=True, torch_version=torch_version, timing=None))]
    else:
        parts.append(Text("no rnnshape configuration describes this call", style="yellow"))
    return Group(*parts)


def render_trace(t: Trace):
    from rich.console import Group
    from rich.text import Text

    parts = []
    modules: dict[str, list[TraceEntry]] = {}
    for e in t.calls:
        modules.setdefault(e.path, []).append(e)
    for entries in modules.values():
        if len(entries) == 1:
            parts += [entry_view(entries[0], t.torch_version), Text()]
            continue
        from rich.rule import Rule

        parts.append(Rule(_title(entries), align="left"))
        for e in entries:
            parts += [entry_view(e, t.torch_version, header=None), Text()]
    for line in t.unseen:
        parts.append(Text(f"not seen: {line}", style="yellow"))
    if t.calls:
        parts.append(summary(t))
    elif (t.error is None or t.error.path is None) and not t.unseen:  # a failing recurrent call is said on stderr
        parts.append(Text("no recurrent call seen (why: on stderr)", style="yellow"))
    return Group(*parts)


def summary(t: Trace):
    """The last lines: what was called, and every pitfall again with where it is."""
    from rich.console import Group
    from rich.text import Text

    calls = sum(e.count for e in t.calls)
    modules = len({e.path for e in t.calls})
    forwards = f"{t.forwards} forward" + ("s" if t.forwards != 1 else "") + (" in train mode" if t.training else "")
    lines = [Text(f"{calls} recurrent call{'s' if calls != 1 else ''} in {modules} "
                  f"module{'s' if modules != 1 else ''}, {forwards}", style="bold")]
    found = [(e.path or "(the model)", p) for e in t.calls for p in e.pitfalls]
    for path, p in found:
        lines.append(Text.assemble((f"pitfall {p.code} ", "bold yellow"), f"in {path}: ", p.fix))
    if not found and t.error is None:
        lines.append(Text("no pitfalls found", style="green"))
    return Group(*lines)


def html(entries: tuple[TraceEntry, ...], torch_version: str | None = None) -> str:
    """A notebook's view of entries: the terminal's tables as HTML."""
    from rich.console import Group

    from rnnshape.render.screen import html as as_html

    return as_html(Group(*(entry_view(e, torch_version) for e in entries)))
