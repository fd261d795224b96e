"""Every option of every command, declared once as data: the one table the rest is generated from.

A row says what an option is called (``name``: the Spec field, make_spec's and analyze's keyword, the Typer
parameter), its type and default, its flags, help, help panel and metavar, which kinds take it and which
commands show it, and whether it is part of the configuration (``role="spec"``: a Spec field, a JSON key,
a word of the spec's command line), of how the run is done (``"run"``: analyze's keywords) or of what is
printed (``"output"``). From it come the kind, compare and sweep commands' parameters (rnnshape.cli.kind),
the Spec's fields, make_spec's keywords and its simple value rules (rnnshape.model.spec), the spec's JSON
(:func:`spec_json`), the command line that rebuilds a spec (:func:`command_line`) and how an error names
an option on the command line (:func:`cli_name`). Pure: no typer, rich or torch.

>>> OPTIONS["num_layers"].flag, cli_name("bias", "False"), cli_name("proj_size", "0")
('--layers', '--no-bias', '--proj-size 0')
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from enum import Enum

from rnnshape.model.enums import Dtype, InitState, Nonlinearity
from rnnshape.model.kinds import KINDS

MODEL, INPUT, MODE, RUN, OUTPUT = "Model", "Input", "Mode", "Run", "Output"
DEFAULT_MIN_TIME = 0.05  # seconds per statement; with MIN_ROUNDS runs at least (rnnshape.run.rounds)
DEVICES = ("auto", "cpu", "cuda", "cuda:0", "meta")
KIND, COMPARE, SWEEP = "kind", "compare", "sweep"
EVERY = frozenset({KIND, COMPARE, SWEEP})


class Ints:
    """A comma-separated list of integers on the command line ("30,20"); a list or an int in Python."""


@dataclass(frozen=True)
class Option:
    name: str  # the Spec field / Python keyword / Typer parameter: "num_layers"
    flags: tuple[str, ...]  # the first is the one errors and the command line use: "--layers"
    type: object  # int, float, bool, str, Ints, or a str-valued Enum
    default: object  # what "not given" is to make_spec / analyze (None: resolved from the others)
    help: str
    panel: str
    role: str = "spec"  # "spec" | "run" | "output"
    metavar: str | None = None
    shown_default: str | None = None  # the help's [default: ...] where ``default`` does not say it
    kinds: tuple[str, ...] | None = None  # the kinds that take it (None: every kind)
    commands: frozenset[str] = frozenset({KIND})  # where it shows: kind (rnn/lstm/gru), compare, sweep
    spec_default: object = None  # the Spec field's default, where make_spec resolves ``None`` to one
    annotation: str = ""  # the Spec field's type, as written
    minimum: int | float | None = None  # the value rule Typer cannot state ("must be >= 1")
    negate: bool = False  # the flag turns the keyword off: --no-bias is bias=False
    always: bool = False  # the command line states it even at its default (--input-size, --seq-len)
    completions: tuple[str, ...] = ()
    optional: bool = False  # the CLI parameter may be None (not given)

    @property
    def flag(self) -> str:
        return next(f for f in self.flags if f.startswith("--"))

    @property
    def field_default(self):
        return self.default if self.spec_default is None else self.spec_default

    def takes(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


def _kinds(attr: str) -> tuple[str, ...]:
    return tuple(k for k, info in KINDS.items() if getattr(info, attr))


def gate_names(kind: str) -> tuple[str, ...]:
    """What --gate takes for this kind: its gates, then its states (lstm: i f g o c h)."""
    info = KINDS[kind]
    return info.gates + tuple(reversed(info.states))


_TABLE = (
    # The configuration, in the order of the Spec's fields and of the JSON's "spec" object.
    Option("cell", ("--cell",), bool, False, "Use the Cell module, looped over the time steps.", MODEL,
           annotation="bool", commands=EVERY),
    Option("input_size", ("--input-size", "-i"), int, 100, "H_in: features per time step.", MODEL,
           annotation="int", minimum=1, always=True, commands=EVERY),
    Option("hidden_size", ("--hidden-size", "-H"), Ints, 20, "H. A list stacks modules (or cells with --cell): "
           "30,20.", MODEL, metavar="<int[,int...]>", annotation="int | tuple[int, ...]", minimum=1, always=True,
           commands=EVERY),
    Option("num_layers", ("--layers", "--num-layers", "-l"), int, None, "num_layers.", MODEL, spec_default=1,
           shown_default="1", annotation="int", minimum=1, optional=True, commands=EVERY),
    Option("bidirectional", ("--bidirectional", "-b"), bool, False, "Two directions (D=2).", MODEL,
           annotation="bool", commands=EVERY),
    Option("proj_size", ("--proj-size",), int, 0, "Project h to this width (P < H).", MODEL,
           kinds=_kinds("takes_proj_size"), annotation="int", minimum=0, commands=EVERY),
    Option("bias", ("--no-bias",), bool, True, "bias=False.", MODEL, negate=True, annotation="bool",
           commands=EVERY),
    Option("batch_first", ("--batch-first",), bool, False, "Input and output are (N, L, ·).", MODEL,
           annotation="bool", commands=EVERY),
    Option("dropout", ("--dropout",), float, 0.0, "Between layers (train mode only).", MODEL, annotation="float",
           commands=EVERY),
    Option("nonlinearity", ("--nonlinearity",), Nonlinearity, None, "tanh or relu.", MODEL,
           kinds=_kinds("takes_nonlinearity"), shown_default="tanh", annotation="str | None", optional=True,
           commands=EVERY),
    Option("seq_len", ("--seq-len", "-L"), int, None, "L.", INPUT, spec_default=10,
           shown_default="10, or max(lengths)", annotation="int", minimum=1, always=True, optional=True,
           commands=EVERY),
    Option("batch", ("--batch", "-N"), int, None, "N.", INPUT, spec_default=3,
           shown_default="3, or the number of lengths", annotation="int | None", minimum=1, always=True,
           optional=True, commands=EVERY),
    Option("unbatched", ("--unbatched",), bool, False, "2-D input, no batch dimension.", INPUT, annotation="bool",
           commands=EVERY),
    Option("lengths", ("--lengths",), Ints, None, "Variable lengths, run as a PackedSequence.", INPUT,
           metavar="<int,int...>", annotation="tuple[int, ...] | None", minimum=1, optional=True, commands=EVERY),
    Option("init_state", ("--init-state",), InitState, InitState.NONE, "Pass h_0/c_0 explicitly, or not.", INPUT,
           annotation="InitState", commands=EVERY),
    Option("dtype", ("--dtype",), Dtype, Dtype.FLOAT32, "float32, float64, float16 or bfloat16.", RUN,
           metavar="<dtype>", annotation="Dtype", commands=EVERY),
    Option("device", ("--device",), str, "cpu", "auto, cpu, cuda, cuda:N or meta (runs torch without allocating "
           "memory).", RUN, metavar="<device>", annotation="str", completions=DEVICES, commands=EVERY),
    Option("input_shape", ("--input-shape",), Ints, None, "The tensor you have: rnnshape says how torch reads it "
           "(which dim is time, which batch) and the fix when it does not fit. Sets --seq-len and --batch.",
           INPUT, metavar="<int,int[,int]>", annotation="tuple[int, ...] | None", minimum=1, optional=True,
           commands=EVERY),
    # What to do instead of (or besides) the tables; --dry-run first.
    Option("dry_run", ("--dry-run",), bool, False, "Answer at once from the predictor, without torch: no times.",
           MODE, role="run", commands=EVERY),
    Option("check", ("--check",), str, None, "Compare with the recurrent module in this checkpoint and say why it "
           "would not load (exit 1 if it would not, 0 if it would).", MODE, role="output", metavar="<file>",
           optional=True),
    Option("code", ("--code",), bool, False, "Print the PyTorch code for this configuration.", MODE, role="output"),
    Option("explain", ("--explain",), bool, False, "The equations, with every term's shape and rows.", MODE,
           role="output"),
    Option("layer", ("--layer",), int, None, "With --explain: only this layer (counting from 0; a module or cell "
           "of a --hidden-size list).", MODE, role="output", metavar="<int>", optional=True),
    Option("reverse", ("--reverse",), bool, False, "With --explain: only the reverse direction (*_reverse "
           "weights).", MODE, role="output"),
    Option("gate", ("--gate",), str, None, "With --explain: only this gate's equation and rows ({gates}).", MODE,
           role="output", metavar="<gate>", optional=True),
    Option("diagram", ("--diagram",), bool, False, "Draw the network unrolled over time.", MODE, role="output"),
    Option("onnx", ("--onnx",), bool, False, "The ONNX nodes torch.onnx writes for it: W, R, B shapes and the gate "
           "rows (ONNX LSTM i, o, f, c; GRU z, r, h), predicted without torch or onnx.", MODE, role="output"),
    # How the run is done: analyze()'s keywords.
    Option("time", ("--no-time",), bool, True, "Build and run, but do not time.", RUN, role="run", negate=True),
    Option("min_time", ("--min-time",), float, DEFAULT_MIN_TIME, "Measure each statement at least this long "
           "(more is more precise).", RUN, role="run", metavar="<seconds>", commands=EVERY),
    Option("threads", ("--threads",), int, None, "torch threads.", RUN, role="run", optional=True,
           shown_default="the fastest in a probe", commands=EVERY),
    Option("backward", ("--backward",), bool, False, "Also time forward+backward (a training step); with "
           "--dry-run or --no-time, predict its memory.", RUN, role="run", commands=EVERY),
    Option("vs_loop", ("--vs-loop",), bool, False, "Also time the same weights as a per-step cell loop.", RUN,
           role="run"),
    Option("check_flops", ("--check-flops",), bool, False, "Cross-check the analytic FLOPs with torch's "
           "FlopCounterMode on a meta copy. rnnshape counts analytically because dispatch-based counters read 0 "
           "for CPU LSTMs, whose fused oneDNN kernel hides the matmuls.", RUN, role="run"),
    Option("deploy", ("--deploy",), bool, False, "Also run it deployed: bfloat16, float16, int8 (quantize_dynamic), "
           "torch.compile, ONNX Runtime; each against eager float32: difference, weight bytes, forward time.", RUN,
           role="run", commands=frozenset({KIND, COMPARE})),
    # What is printed, and where.
    Option("json", ("--json", "-j"), bool, False, "One JSON document on stdout (times in seconds).", OUTPUT,
           role="output", commands=EVERY),
    Option("csv", ("--csv",), bool, False, "CSV on stdout, one row each, raw numbers.", OUTPUT, role="output",
           commands=frozenset({COMPARE, SWEEP})),
    Option("markdown", ("--markdown",), bool, False, "A Markdown table on stdout.", OUTPUT, role="output",
           commands=frozenset({COMPARE, SWEEP})),
    Option("svg", ("--svg",), str, None, "Also save the output as SVG.", OUTPUT, role="output", metavar="<file>",
           optional=True, commands=EVERY),
    Option("html", ("--html",), str, None, "Also save the output as HTML.", OUTPUT, role="output", metavar="<file>",
           optional=True, commands=EVERY),
    Option("live", ("--no-live",), bool, True, "Wait for torch, then print once (on a terminal the predicted "
           "tables otherwise show at once).", OUTPUT, role="output", negate=True),
    # Every command takes it; the CLI's edge adds it to each (rnnshape.cli.edge.Group), so it is no parameter.
    Option("quiet", ("--quiet", "-q"), bool, False, "Keep stderr to errors: no warnings or notes (warnings stay "
           "in the JSON).", OUTPUT, role="output", commands=frozenset()),
)

OPTIONS: dict[str, Option] = {o.name: o for o in _TABLE}
SPEC: tuple[Option, ...] = tuple(o for o in _TABLE if o.role == "spec")
SPEC_NAMES = frozenset(o.name for o in SPEC)
KIND_ONLY: dict[str, tuple[str, ...]] = {o.name: o.kinds for o in _TABLE if o.kinds is not None}


def for_command(command: str) -> tuple[Option, ...]:
    """The options a command shows, in the table's order."""
    return tuple(o for o in _TABLE if command in o.commands)


def cli_name(name: str, value: str | None = None) -> str:
    """The command line's words for an option (an error's ``{name}`` / ``{name=value}``): its flag, with the
    value where one is given; a switch given as its own value (``{bias=False}``) is just its flag."""
    opt = OPTIONS.get(name)
    if opt is None:
        words = {"kind": "the command", "inputs": "--input"}.get(name, "--" + name.replace("_", "-"))
        return words + ("" if value is None else f" {value}")
    if opt.type is bool and value is not None:
        on = value not in ("False", "false", "0")
        if on != opt.negate:
            return opt.flag
        return "no " + opt.flag  # the switch left off
    return opt.flag if value is None else f"{opt.flag} {value}"


def _json(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def spec_json(spec) -> dict:
    """The JSON object of a Spec (the report's ``"spec"``): its kind, then every field the table declares."""
    return {"kind": spec.kind.value, **{o.name: _json(getattr(spec, o.name)) for o in SPEC}}


def _implied(spec) -> dict[str, object]:
    """What make_spec derives from the other options, so the command line can leave it out."""
    kind = spec.kind.value
    implied: dict[str, object] = {"nonlinearity": "tanh" if KINDS[kind].takes_nonlinearity else None}
    if isinstance(spec.hidden_size, tuple):
        implied["num_layers"] = len(spec.hidden_size)
    if spec.lengths is not None:
        implied.update(batch=len(spec.lengths), seq_len=max(max(spec.lengths), 1))
    if spec.unbatched:
        implied["batch"] = None
    if spec.input_shape is not None:
        implied.update(seq_len=spec.seq_len, batch=spec.batch, unbatched=spec.unbatched)
    return implied


def _word(opt: Option, value) -> list[str]:
    if opt.type is bool:
        return [opt.flag] if value != opt.negate else []
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, tuple):
        value = ",".join(str(v) for v in value)
    return [opt.flag, shlex.quote(str(value))]


def command_line(spec, *, input: bool = True) -> str:
    """The rnnshape command that rebuilds ``spec``: its kind, then every option that differs from what the
    command would choose by itself. ``input=False`` gives the module's options only (what to run instead of a
    checkpoint's configuration).

    >>> from rnnshape.model.spec import make_spec
    >>> command_line(make_spec("gru", input_size=8, hidden_size=16, seq_len=7))
    'rnnshape gru --input-size 8 --hidden-size 16 --seq-len 7 --batch 3'
    >>> command_line(make_spec("lstm", hidden_size=[30, 20], lengths=[4, 2], dtype="float64"))
    'rnnshape lstm --input-size 100 --hidden-size 30,20 --lengths 4,2 --dtype float64'
    """
    implied = _implied(spec)
    words = ["rnnshape", spec.kind.value]
    for opt in SPEC:
        if not input and opt.panel != MODEL:
            continue
        value = getattr(spec, opt.name)
        default = implied.get(opt.name, opt.field_default)
        if opt.name in implied and value == default:
            continue
        if value != default or (opt.always and value is not None):
            words += _word(opt, value)
    return " ".join(words)
