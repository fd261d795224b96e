"""`rnnshape why MESSAGE`: torch's recurrent error messages decoded without the model (issue 23).

Pure Python on the message's text: which tensor, which dimension, the rule, the likely cause, the fix and the
`rnnshape` command that prints the right shapes. It speaks trace's language (rnnshape.model.trace's
explanations: "h_0 is (1, 3, 20), torch expects (2, 3, 20): dimension 0 is ...") but knows only what the
message says: where one number stands for two settings (2 = num_layers × directions) it says so rather than
guess. The patterns are torch 2.13's messages (/work/shared/reference, §5); tests/test_why.py raises each in
torch over generated configurations and holds the explanation to the dimension torch complained of.

>>> w = decode("RuntimeError: Expected hidden[0] size (2, 3, 20), got [1, 3, 20]")
>>> print(w.message)
h_0 is (1, 3, 20), torch expects (2, 3, 20): dimension 0 is num_layers × directions = 2 (got 1)
>>> w.command
'rnnshape lstm --hidden-size 20 --layers 2 --batch 3 --dry-run'
>>> decode("CUDA out of memory") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.model.kinds import KINDS

STATE_RULE = ("states are (D·num_layers, N, H_out) for batched input and (D·num_layers, H_out) unbatched, "
              "never batch-first; c is hidden_size wide, h is proj_size wide when there is a projection")
CELL_RULE = "a cell's states are (N, H) for input (N, H_in), and (H,) for one unbatched sample (H_in,)"


@dataclass(frozen=True)
class Why:
    """One decoded message. ``dimension`` is the index torch complained of (None when the rank, dtype or
    device is wrong); ``command`` prints the right shapes without torch (None when no shape is at stake)."""

    said: str  # torch's line, as given
    topic: str  # hidden size, input size, batch, rank, packed sequence, dtype, device, cell vs layer
    tensor: str  # input, h_0, c_0, hx, lengths, ...
    message: str  # what is wrong, in trace's words
    rule: str
    cause: str
    fix: str
    dimension: int | None = None  # -1: the last, as torch says it (input.size(-1))
    dimension_name: str | None = None  # num_layers × directions, N, H_out, hidden_size, input_size, L
    command: str | None = None
    also: str | None = None  # the other configuration the message allows (2 layers, or 1 bidirectional)


def decode(text: str) -> Why | None:
    """The explanation of the last line of ``text`` that holds a known message (a pasted traceback works);
    None when no line does."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        said = re.sub(r"^(?:\w+\.)*(?:\w*Error|Exception)\s*:\s*", "", line)
        for pattern, handler in _RULES:
            m = pattern.search(said)
            if m:
                return handler(m, line)
    return None


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"-?\d+", text))


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _kind_cmd(kind: str, **flags) -> str:
    parts = [f"rnnshape {kind}"]
    for flag, value in flags.items():
        if value is None or value is False:
            continue
        parts.append(f"--{flag.replace('_', '-')}" + ("" if value is True else f" {value}"))
    return " ".join(parts + ["--dry-run"])


# --- layer modules: h_0 / c_0 ------------------------------------------------------------------------------

def _hidden(m: re.Match, line: str) -> Why:
    index = m.group("index")
    want, got = _shape(m.group("want")), _shape(m.group("got"))
    lstm = index is not None
    tensor = "c_0" if index == "1" else "h_0"
    kind = "lstm" if lstm else "gru"
    rule = STATE_RULE if lstm else STATE_RULE + "; nn.RNN's and nn.GRU's states have the same shapes"
    head = f"{tensor} is {_fmt(got)}, torch expects {_fmt(want)}"
    fix = f"give {tensor} the shape {_fmt(want)}, e.g. torch.zeros{_fmt(want)}"
    cmd = _kind_cmd(kind, hidden_size=want[-1], layers=want[0] if want[0] > 1 else None,
                    batch=want[1] if len(want) == 3 else None)
    if len(got) != len(want):
        return Why(line, "rank", tensor, f"{head}: {len(want)}-D (got {len(got)}-D)", rule,
                   "the state has the wrong number of dimensions; with a PackedSequence input torch checks the "
                   "batched shape (D·num_layers, N, H_out)", fix, None, None, cmd)
    dims = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    if len(got) == 3 and got[:2] == (want[1], want[0]) and want[0] != want[1]:
        return Why(line, "batch", tensor, f"{head}: dimensions 0 and 1 are swapped: states are never batch-first, "
                   "whatever batch_first says", rule,
                   f"{tensor} was built batch-first, (N, D·num_layers, H_out)",
                   f"pass {tensor}.transpose(0, 1).contiguous(), or build it as (D·num_layers, N, H_out)",
                   0, "num_layers × directions", cmd)
    dim = dims[0] if dims else len(want) - 1
    value = got[dim]
    unbatched = len(want) == 3 and want[1] == 1 == got[1]
    also = None
    if dim == 0:
        name = "num_layers × directions"
        why = f"dimension 0 is {name} = {want[0]} (got {value})"
        rows = f"{value} row" + ("s" if value != 1 else "")
        if want[0] == 2 * value:
            cause = (f"{tensor} has {rows}, the module wants one per layer and direction: {want[0]} layers, or "
                     f"{value} bidirectional layer{'s' if value != 1 else ''} (the message cannot tell which)")
        elif value == 2 * want[0]:
            cause = (f"{tensor} has {rows}, as for a bidirectional module or {value} layers; the module has "
                     f"{want[0]} (num_layers × directions)")
        else:
            cause = f"{tensor} was built for {rows} (layers × directions); the module has {want[0]}"
        if want[0] % 2 == 0:
            bidir = _kind_cmd(kind, hidden_size=want[-1], layers=want[0] // 2 if want[0] > 2 else None,
                              bidirectional=True, batch=want[1] if len(want) == 3 else None)
            also = bidir
    elif dim == len(want) - 1:
        name = "hidden_size" if tensor == "c_0" else "H_out"
        width = "hidden_size" if tensor == "c_0" else ("H_out (proj_size if the LSTM projects, else hidden_size)"
                                                      if lstm else "hidden_size")
        why = f"dimension {dim} is {width} = {want[dim]} (got {value})"
        if tensor == "c_0":
            cause = (f"c_0 was built {value} wide; it is hidden_size = {want[dim]} wide even when the LSTM projects "
                     f"h to proj_size (c is never projected)" if value < want[dim]
                     else f"c_0 was built for a hidden_size of {value}")
        elif lstm and value > want[dim]:
            cause = (f"with proj_size={want[dim]}, h_0 is proj_size wide, not hidden_size: {value} looks like "
                     f"the hidden_size")
        else:
            cause = f"the state was built for a hidden size of {value}, the module's is {want[dim]}"
        if unbatched:
            cause += "; for unbatched input torch reports the shape with a batch dimension 1 it added itself"
    else:
        name = "N"
        why = f"dimension 1 is the batch N = {want[1]}, the input's batch dimension (got {value})"
        cause = ("the state was made for another batch size than the input's: a last, smaller batch "
                 "(drop_last=False), a state kept from the previous batch, or an input read with the wrong "
                 "batch_first (a batch_first=False module reads the input's dimension 1 as the batch)")
        fix = (f"build {tensor} from the input's batch size: torch.zeros({want[0]}, x.size(0 if batch_first "
               f"else 1), {want[2]})")
    extra = f" (dimensions {', '.join(map(str, dims))} differ)" if len(dims) > 1 else ""
    return Why(line, "batch" if name == "N" else "hidden size", tensor, f"{head}: {why}{extra}", rule,
               cause, fix, dim, name, cmd, also)


def _state_rank(m: re.Match, line: str) -> Why:
    batched = m.group("batched") == "batched 3-D"
    want = 3 if batched else 2
    lstm = m.group("cx") is not None
    tensor = "hx" if not lstm else "(h_0, c_0)"
    got = m.group("got")
    cause = ("the state's rank does not match the input's: batched input (L, N, H_in) takes 3-D states, "
             "unbatched (L, H_in) 2-D ones")
    if lstm and batched and all(g == 2 for g in _shape(m.group("got"))):
        cause += "; an LSTM given one tensor instead of the tuple (h_0, c_0) also says this (it indexes the tensor)"
    shape = "(D·num_layers, N, H_out)" if batched else "(D·num_layers, H_out)"
    return Why(line, "rank", tensor, f"{tensor} must be {want}-D for {m.group('batched')} input, {shape} "
               f"(got {got})", STATE_RULE, cause,
               f"give the state(s) the shape {shape}" + (", as a tuple (h_0, c_0)" if lstm else ""),
               None, None, _kind_cmd("lstm" if lstm else "gru", unbatched=not batched))


# --- the input -------------------------------------------------------------------------------------------------

def _input_size(m: re.Match, line: str) -> Why:
    want, got = int(m.group("want")), int(m.group("got"))
    cell = "inconsistent" in m.group(0)
    return Why(line, "input size", "input", f"input's last dimension is input_size = {want} (got {got})",
               "the input's last dimension is H_in = input_size, for layer modules and cells alike; layers after "
               "the first take D·H_out, which torch sizes itself",
               "the layer before produces another number of features (an embedding size, a concatenation, a "
               "bidirectional encoder's 2·H)",
               f"make the layer before it produce {want} features, or build the module with input_size={got}",
               -1, "input_size", _kind_cmd("lstm", input_size=want, cell=cell))


def _input_rank(m: re.Match, line: str) -> Why:
    cls, rank = m.group("cls"), int(m.group("rank"))
    cell = cls.endswith("Cell")
    kind = cls.removesuffix("Cell").lower()
    if cell:
        rule = "a cell takes one time step: (N, H_in) or one sample (H_in,)"
        cause = ("a whole sequence given to a cell" if rank == 3 else f"a {rank}-D tensor given to a cell")
        fix = ("loop over the time steps: for x_t in x: h = cell(x_t, h); or use the layer module "
               f"nn.{cls.removesuffix('Cell')} for the whole sequence") if rank == 3 else "reshape it to (N, H_in)"
        what = "(N, H_in) or (H_in,)"
    else:
        rule = "a layer module takes a sequence: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in)"
        cause = ("one time step given to a layer module (or a flattened batch)" if rank == 1
                 else f"a {rank}-D tensor: an extra dimension (images, channels) left in" if rank > 3
                 else "a scalar")
        fix = ("for one step use x.view(1, 1, -1), or nn.{0}Cell".format(cls) if rank == 1
               else "reshape it to (L, N, H_in) or (N, L, H_in)")
        what = "2-D or 3-D"
    return Why(line, "cell vs layer" if rank in (1, 3) else "rank", "input",
               f"input is {rank}-D, nn.{cls} expects {what}", rule, cause, fix, None, None,
               _kind_cmd(kind if kind in KINDS else "lstm", cell=cell))


def _seq_len(m: re.Match, line: str) -> Why:
    return Why(line, "input size", "input", "input has sequence length L = 0: torch needs at least one time step",
               "L ≥ 1 (a batch of 0 sequences is fine, a sequence of 0 steps is not)",
               "an empty sequence: a filter or a split left no time steps, or the input is batch-first and the "
               "module is not", "skip empty sequences, or check batch_first", 0, "L", None)


# --- cells ------------------------------------------------------------------------------------------------------

def _cell_hidden(m: re.Match, line: str) -> Why:
    idx, got, want = m.group("idx"), int(m.group("got")), int(m.group("want"))
    tensor = "c_0" if idx == "1" else "h_0"
    return Why(line, "hidden size", tensor, f"{tensor}'s last dimension is hidden_size = {want} (got {got})",
               CELL_RULE, f"the state was built for a hidden size of {got}; a 1-D input with a 2-D state gives this "
               "message too (torch reads the state's batch as its width)",
               f"give {tensor} the shape (N, {want})", -1, "hidden_size",
               _kind_cmd("lstm", hidden_size=want, cell=True))


def _cell_batch(m: re.Match, line: str) -> Why:
    n, idx, got = int(m.group("n")), m.group("idx"), int(m.group("got"))
    tensor = "c_0" if idx == "1" else "h_0"
    return Why(line, "batch", tensor, f"{tensor}'s dimension 0 is the batch N = {n}, the input's (got {got})",
               CELL_RULE, "the state was made for another batch size (a last, smaller batch; a state kept from the "
               "previous batch), or a 2-D input met an unbatched (H,) state",
               "make the state torch.zeros(x.size(0), H)", 0, "N", _kind_cmd("lstm", batch=n, cell=True))


def _cell_state_rank(m: re.Match, line: str) -> Why:
    cls, rank = m.group("cls"), int(m.group("rank"))
    if cls == "LSTMCell" and rank == 0:  # hx[0] of one (H,) tensor is a scalar: a tensor given for (h, c)
        return _lstm_cell_tuple(m, line)
    tensor = "c_0" if m.group("idx") == "1" else "h_0"
    return Why(line, "rank", tensor, f"{tensor} is {rank}-D, nn.{cls} expects (N, H) or (H,)", CELL_RULE,
               "a layer module's state (D·num_layers, N, H) given to a cell", "pass h[0] (or h.squeeze(0)) to the "
               "cell, or use the layer module", None, None, _kind_cmd(cls.removesuffix("Cell").lower(), cell=True))


def _lstm_cell_tuple(m: re.Match, line: str) -> Why:
    return Why(line, "cell vs layer", "hx", "nn.LSTMCell takes its state as the tuple (h, c), each (N, H)",
               CELL_RULE, "one tensor, or a 1-tuple, given where LSTMCell wants (h, c)",
               "pass (h, c): h, c = cell(x_t, (h, c))", None, None, _kind_cmd("lstm", cell=True, init_state="zeros"))


def _lstm_one_tensor(m: re.Match, line: str) -> Why:
    return Why(line, "cell vs layer", "hx", "if an nn.LSTM raised this: its state was one tensor, not the tuple "
               "(h_0, c_0); torch took hx[1] of a 1-row tensor", STATE_RULE, "h_0 alone given to an LSTM (a model "
               "switched from GRU to LSTM still passes h)", "pass both states: lstm(x, (h_0, c_0))", None, None,
               _kind_cmd("lstm", init_state="zeros"))


def _tuple_state(m: re.Match, line: str) -> Why:
    return Why(line, "cell vs layer", "hx", "a tuple was given as the state of a module that takes one tensor",
               "only an LSTM (or LSTMCell) has a cell state and takes (h_0, c_0); RNN and GRU take h_0 alone",
               "a model switched from LSTM to GRU/RNN still passes (h, c)", "pass h_0 alone: out, h_n = gru(x, h_0)",
               None, None, _kind_cmd("gru", init_state="zeros"))


# --- packed sequences -------------------------------------------------------------------------------------------

def _packed_into_cell(m: re.Match, line: str) -> Why:
    return Why(line, "packed sequence", "input", "a PackedSequence was given to a cell (or to code that calls "
               ".dim())", "only the layer modules nn.RNN/LSTM/GRU take a PackedSequence; a cell takes one step",
               "pack_padded_sequence's result passed to nn.*Cell", "use nn.LSTM (or GRU, RNN) for packed input, or "
               "loop the cell over the padded tensor", None, None, _kind_cmd("lstm", lengths="5,3,2"))


def _packed_overrun(m: re.Match, line: str) -> Why:
    return Why(line, "packed sequence", "lengths", f"a length exceeds the padded tensor's L: the packed data has "
               f"{m.group('size')} rows, the lengths ask for more", "every length ≤ L, the padded tensor's time "
               "dimension; pack_padded_sequence does not check it", "lengths counted with padding or special "
               "tokens, or lengths of another batch", "clip or recompute the lengths: max(lengths) ≤ x.size(0) "
               "(x.size(1) with batch_first=True)", None, None, _kind_cmd("lstm", lengths="5,3,2", seq_len=5))


def _packed_misc(m: re.Match, line: str) -> Why:
    text = m.group(0)
    if "sorted" in text:
        msg, fix = "lengths must be sorted longest first with enforce_sorted=True", \
            "pass enforce_sorted=False (torch sorts and unsorts for you), or sort the batch"
    elif "greater than 0" in text:
        msg, fix = "a length is 0: every sequence needs at least one step", "drop empty sequences before packing"
    elif "len(lengths)" in text:
        msg = "there is not one length per sequence of the batch"
        fix = "pass one length per sequence: len(lengths) == N"
    else:
        msg, fix = "lengths must be a 1-D int64 tensor on the CPU, whatever device the data is on", \
            "pass lengths.cpu() (or a Python list)"
    return Why(line, "packed sequence", "lengths", msg, "pack_padded_sequence(x, lengths): one length per sequence, "
               "each 1 ≤ length ≤ L, a CPU int64 tensor or a list", "how the lengths were built", fix, None, None,
               _kind_cmd("lstm", lengths="5,3,2"))


def _packed_lstm_state(m: re.Match, line: str) -> Why:
    text = m.group(0)
    if "more hidden states" in text:
        msg = "h_0/c_0 have more layer rows than the LSTM has: dimension 0 is num_layers × directions"
        dim, name = 0, "num_layers × directions"
    elif "number of RNN parameters" in text:
        msg = "h_0 or c_0 has the wrong width: dimension 2 is H_out (h_0) or hidden_size (c_0)"
        dim, name = 2, "H_out"
    elif "non-singleton dimension" in text or "INDICES" in text:
        msg = "h_0/c_0 have another batch size than the PackedSequence: dimension 1 is N, batch_sizes[0]"
        dim, name = 1, "N"
    else:
        msg, dim, name = "h_0/c_0 are 2-D: with a PackedSequence they are (D·num_layers, N, H_out)", None, None
    return Why(line, "packed sequence", "h_0", msg + " (LSTM with packed input: torch checks nothing in Python "
               "and fails deep in C++ with this message)", STATE_RULE, "a state built for another configuration or "
               "batch", "build (h_0, c_0) as (D·num_layers, N, H_out) and (D·num_layers, N, hidden_size), N the "
               "number of sequences in original order", dim, name,
               _kind_cmd("lstm", lengths="5,3,2", init_state="zeros"))


def _matmul_shapes(m: re.Match, line: str) -> Why:
    rows, feats, k, gh = (int(m.group(i)) for i in (1, 2, 3, 4))
    return Why(line, "input size", "input", f"the input has {feats} features, the weights take input_size = {k} "
               f"(if this came from a recurrent module: {rows} rows of packed data or time steps × {feats} "
               f"features against W_ih^T ({k} × {gh}))", "the input's last dimension is H_in = input_size",
               "the layer before produces another number of features (an nn.LSTM with packed input reports its "
               "input size only this way)", f"make the input {k} features wide, or build the module with "
               f"input_size={feats}", -1, "input_size", _kind_cmd("lstm", input_size=k))


# --- dtype, device, nonlinearity ---------------------------------------------------------------------------------

def _dtype(m: re.Match, line: str) -> Why:
    gd = m.groupdict()
    if gd.get("inp"):
        got, want = gd["inp"], gd["w"]
        return Why(line, "dtype", "input", f"input is {got}, the weights are {want}",
                   "input, states and weights share one dtype", "a float64 NumPy array converted with "
                   "torch.from_numpy, or token ids (int64) not embedded", f"convert the input: x.to(torch.{want}), "
                   f"or the model: model.to(torch.{got}); token ids need an nn.Embedding first", None, None,
                   _kind_cmd("lstm", dtype=want if want in ("float32", "float64", "float16", "bfloat16") else None))
    if gd.get("a"):
        what = f"{gd['a']} and {gd['b']}"
    else:
        what = "a state and the weights"
    return Why(line, "dtype", "h_0", f"two operands of the recurrent matmul differ in dtype ({what}): the initial "
               "state (or a cell's input) is not the weights' dtype", "input, states and weights share one dtype; "
               "torch's friendly check covers only a layer module's input",
               "h_0/c_0 made with torch.zeros(..., dtype=torch.float64), or a NumPy state",
               "make the states like the input: torch.zeros(..., dtype=x.dtype, device=x.device)",
               None, None, _kind_cmd("lstm", init_state="zeros"))


def _device(m: re.Match, line: str) -> Why:
    what, a, b = m.group("what"), m.group("a"), m.group("b")
    tensor = "h_0" if what == "hidden" else "input"
    if what == "hidden":
        cause = (f"h_0 (or c_0) made on {b} while the input is on {a}: torch.zeros(...) without device= makes it "
                 "on the CPU")
    else:
        cause = f"the model is on {b} and the input on {a}: one of model.to(...) and x.to(...) was missed"
    return Why(line, "device", tensor, f"the input is on {a}, the {what} tensor on {b}",
               "input, states and weights on one device", cause,
               f"move it: {tensor}.to({(b if what == 'parameter' else a)!r}), or build states with device=x.device",
               None, None, None)


def _nonlinearity(m: re.Match, line: str) -> Why:
    return Why(line, "nonlinearity", "nonlinearity", f"nonlinearity must be 'tanh' or 'relu' (got {m.group('nl')!r})",
               "nn.RNN and nn.RNNCell take nonlinearity='tanh' (default) or 'relu', lower case",
               "another activation name, or a positional argument landing on nonlinearity (nn.RNN's 4th)",
               "pass nonlinearity='tanh' or 'relu' as a keyword", None, None, _kind_cmd("rnn", nonlinearity="relu"))


# --- construction: torch's value checks (RNNBase.__init__), worded as rnnshape's rules -----------------------------

_BUILD = {
    "proj_size has to be smaller than hidden_size": (
        "proj_size", "proj_size < hidden_size: the projection narrows h", "proj_size set to the hidden size (or "
        "above), e.g. from a config that meant the output size", "use a smaller proj_size, or proj_size=0 (none)",
        dict(hidden_size=20, proj_size=5)),
    "proj_size should be a positive integer or zero": (
        "proj_size", "proj_size ≥ 0; 0 means no projection", "a negative proj_size", "pass proj_size=0 or a "
        "positive size below hidden_size", dict(hidden_size=20, proj_size=5)),
    "proj_size argument is only supported for LSTM": (
        "proj_size", "only nn.LSTM takes proj_size (even proj_size=0 is refused by RNN and GRU)",
        "proj_size passed to nn.RNN or nn.GRU", "drop proj_size, or use nn.LSTM", dict(hidden_size=20, proj_size=5)),
    "input_size must be greater than zero": (
        "input_size", "input_size ≥ 1: the features per time step", "a size computed as 0 (an empty vocabulary "
        "embedding, a wrong config key)", "pass the input's last dimension, x.size(-1)", dict(input_size=100)),
    "hidden_size must be greater than zero": (
        "hidden_size", "hidden_size ≥ 1", "a size computed as 0", "pass a positive hidden_size",
        dict(hidden_size=20)),
    "num_layers must be greater than zero": (
        "num_layers", "num_layers ≥ 1", "num_layers=0", "pass num_layers=1 or more", dict(layers=1)),
    "dropout should be a number in range [0, 1]": (
        "dropout", "0 ≤ dropout ≤ 1: the probability of zeroing an activation between layers", "a percentage "
        "(50) or a keep probability passed as dropout", "pass a probability, e.g. dropout=0.5",
        dict(layers=2, dropout=0.5)),
}


def _build(m: re.Match, line: str) -> Why:
    arg, rule, cause, fix, example = _BUILD[m.group(0)]
    return Why(line, "construction", arg, f"{arg} is out of range for the module's constructor", rule, cause, fix,
               None, None, _kind_cmd("lstm", **example))


_MODULES = "|".join(info.torch_name for info in KINDS.values())  # RNN|LSTM|GRU, as torch's messages name them

_RULES: list[tuple[re.Pattern, Callable[[re.Match, str], Why]]] = [
    (re.compile(r"Expected hidden(?:\[(?P<index>[01])\])? size \((?P<want>[\d, ]+)\), got \[(?P<got>[\d, ]+)\]"),
     _hidden),
    (re.compile(r"For (?P<batched>batched 3-D|unbatched 2-D) input, hx(?P<cx> and cx)? should also be \d-D but got "
                r"(?P<got>\(?[\d\-D, ]+\)?) tensors?"), _state_rank),
    (re.compile(r"input\.size\(-1\) must be equal to input_size\. Expected (?P<want>\d+), got (?P<got>\d+)"),
     _input_size),
    (re.compile(r"input has inconsistent input_size: got (?P<got>\d+) expected (?P<want>\d+)"),
     _input_size),
    (re.compile(rf"(?P<cls>(?:{_MODULES})(?:Cell)?): Expected input to be (?:2D or 3D|1D or 2D), got (?P<rank>\d)D"),
     _input_rank),
    (re.compile(r"Expected sequence length to be larger than 0 in RNN"), _seq_len),
    (re.compile(r"hidden(?P<idx>[01]) has inconsistent hidden_size: got (?P<got>\d+), expected (?P<want>\d+)"),
     _cell_hidden),
    (re.compile(r"Input batch size (?P<n>\d+) doesn't match hidden(?P<idx>[01]) batch size (?P<got>\d+)"),
     _cell_batch),
    (re.compile(rf"(?P<cls>(?:{_MODULES})Cell): Expected (?:hidden|hx\[(?P<idx>[01])\]) to be 1D or 2D, "
                r"got (?P<rank>\d)D"), _cell_state_rank),
    (re.compile(r"lstm_cell\(\): argument 'hx' .* must be tuple of Tensors|lstm_cell expects two hidden states"),
     _lstm_cell_tuple),
    (re.compile(r"'tuple' object has no attribute '(?:dim|size)'"), _tuple_state),
    (re.compile(r"index 1 is out of bounds for dimension 0 with size 1"), _lstm_one_tensor),
    (re.compile(r"'PackedSequence' object has no attribute"), _packed_into_cell),
    (re.compile(r"start \(\d+\) \+ length \(\d+\) exceeds dimension size \((?P<size>\d+)\)"), _packed_overrun),
    (re.compile(r"`?lengths`? array must be sorted in decreasing order|Length of all samples has to be greater than 0"
                r"|Expected `len\(lengths\)` to be equal to batch_size|'lengths' argument should be a 1D CPU int64"),
     _packed_misc),
    (re.compile(r"Expected more hidden states in stacked_rnn|got an incorrect number of RNN parameters"
                r"|The size of tensor a \(\d+\) must match the size of tensor b \(\d+\) at non-singleton dimension 0"
                r"|INDICES element is out of DATA bounds|Dimension out of range \(expected to be in range of "
                r"\[-2, 1\], but got 2\)"), _packed_lstm_state),
    (re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)"), _matmul_shapes),
    (re.compile(r"RNN input dtype \(torch\.(?P<inp>\w+)\) does not match weight dtype \(torch\.(?P<w>\w+)\)"), _dtype),
    (re.compile(r"mat1 and mat2 must have the same dtype, but got (?P<a>\w+) and (?P<b>\w+)"
                r"|get_mkldnn_dtype: unsupported data type"), _dtype),
    (re.compile(r"Input and (?P<what>parameter|hidden) tensors are not at the same device, found input tensor at "
                r"(?P<a>[\w:]+) and (?:parameter|hidden) tensor at (?P<b>[\w:]+)"), _device),
    (re.compile(r"Unknown nonlinearity:? '?(?P<nl>[^'.\s]+)'?"), _nonlinearity),
    (re.compile("|".join(re.escape(k) for k in _BUILD)), _build),
]
