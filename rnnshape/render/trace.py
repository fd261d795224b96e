"""The views of a trace: per recurrent module, the call as torch saw it, then the kind command's tables.

Reads only the frozen Trace / TraceEntry values (rnnshape.model.trace).
"""

from __future__ import annotations

from rnnshape import __version__
from rnnshape.model.report import Report
from rnnshape.model.trace import Seen, Trace, TraceEntry
from rnnshape.render import fmt
from rnnshape.render.jsonout import SCHEMA_VERSION
from rnnshape.render.words import AtWidth
from rnnshape.views.code import constructor


def _tensor(s: Seen) -> dict:
    return {"name": s.name, "shape": list(s.shape), "dims": list(s.dims), "packed": s.packed,
            "batch_sizes": None if s.batch_sizes is None else list(s.batch_sizes), "dtype": s.dtype}


def entry_dict(e: TraceEntry) -> dict:
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
        "pitfalls": [{"code": p.code, "message": p.message, "fix": p.fix} for p in e.pitfalls],
        "mismatch": e.mismatch,
    }


def trace_dict(t: Trace) -> dict:
    err = t.error
    return {
        "schema_version": SCHEMA_VERSION,
        "rnnshape_version": __version__,
        "torch_version": t.torch_version,
        "target": t.target,
        "forwards": t.forwards,
        "training": t.training,
        "calls": [entry_dict(e) for e in t.calls],
        "error": None if err is None else {"message": err.message, "hint": err.hint, "path": err.path,
                                           "exception": err.exception, "location": err.location},
        "warnings": list(t.warnings),
    }


def _title(e: TraceEntry) -> str:
    times = f"{e.count} call" + ("s" if e.count != 1 else "")
    if e.forwards > 1:
        times += f" in {e.forwards} forwards"
    return f"{e.path or '(the model)'} · {e.cls} · {times}"


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


def entry_view(e: TraceEntry, torch_version: str | None = None):
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    from rnnshape.render.tables import render

    parts = [Rule(_title(e), align="left")]
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
    for e in t.calls:
        parts += [entry_view(e, t.torch_version), Text()]
    if t.calls:
        parts.append(summary(t))
    elif t.error is None or t.error.path is None:  # a failing recurrent call is said on stderr
        parts.append(Text("no recurrent module was called", style="yellow"))
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
