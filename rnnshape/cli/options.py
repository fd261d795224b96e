"""The options of the kind commands (rnn, lstm, gru), declared once; compare and sweep parse with them too.

Typer parses types and choices only: every rule about values lives in rnnshape.model.rules.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from rnnshape.model.enums import Dtype, InitState, Nonlinearity

HELP_MODEL = "Model"
HELP_INPUT = "Input"
HELP_RUN = "Run"
HELP_OUTPUT = "Output"
DEVICES = ("auto", "cpu", "cuda", "cuda:0", "meta")


def kind_specific(takes_proj_size: bool, takes_nonlinearity: bool) -> dict:
    """--proj-size and --nonlinearity, shown in the help of the kinds that take them. The others still
    accept them (hidden), so that `rnnshape gru --proj-size 64` gets the rule's own error and hint."""
    return {
        "proj_size": Annotated[int, typer.Option("--proj-size", help="Project h to this width (P < H).",
                                                 hidden=not takes_proj_size, rich_help_panel=HELP_MODEL)],
        "nonlinearity": Annotated[Optional[Nonlinearity], typer.Option(
            "--nonlinearity", help="tanh or relu (default tanh).", hidden=not takes_nonlinearity,
            rich_help_panel=HELP_MODEL)],
    }

InputSize = Annotated[int, typer.Option("--input-size", "-i", help="H_in: features per time step.",
    rich_help_panel=HELP_MODEL)]
HiddenSize = Annotated[str, typer.Option("--hidden-size", "-H", metavar="<int[,int...]>",
    help="H. A list stacks modules (or cells with --cell): 30,20.", rich_help_panel=HELP_MODEL)]
Layers = Annotated[Optional[int], typer.Option("--layers", "--num-layers", "-l", help="num_layers (default 1).",
    rich_help_panel=HELP_MODEL)]
Bidirectional = Annotated[bool, typer.Option("--bidirectional", "-b", help="Two directions (D=2).",
    rich_help_panel=HELP_MODEL)]
NoBias = Annotated[bool, typer.Option("--no-bias", help="bias=False.", rich_help_panel=HELP_MODEL)]
BatchFirst = Annotated[bool, typer.Option("--batch-first", help="Input and output are (N, L, ·).",
    rich_help_panel=HELP_MODEL)]
Dropout = Annotated[float, typer.Option("--dropout", help="Between layers (train mode only).",
    rich_help_panel=HELP_MODEL)]
Cell = Annotated[bool, typer.Option("--cell", help="Use the Cell module, looped over the time steps.",
    rich_help_panel=HELP_MODEL)]
SeqLen = Annotated[Optional[int], typer.Option("--seq-len", "-L", help="L (default 10, or max(lengths)).",
    rich_help_panel=HELP_INPUT)]
Batch = Annotated[Optional[int], typer.Option("--batch", "-N", help="N (default 3, or the number of lengths).",
    rich_help_panel=HELP_INPUT)]
Unbatched = Annotated[bool, typer.Option("--unbatched", help="2-D input, no batch dimension.",
    rich_help_panel=HELP_INPUT)]
Lengths = Annotated[Optional[str], typer.Option("--lengths", metavar="<int,int...>",
    help="Variable lengths, run as a PackedSequence.", rich_help_panel=HELP_INPUT)]
InputShape = Annotated[Optional[str], typer.Option("--input-shape", metavar="<int,int[,int]>",
    help="The tensor you have: rnnshape says how torch reads it (which dim is time, which batch) "
         "and the fix when it does not fit. Sets --seq-len and --batch.",
    rich_help_panel=HELP_INPUT)]
InitStateChoice = Annotated[InitState, typer.Option("--init-state", help="Pass h_0/c_0 explicitly, or not.",
    rich_help_panel=HELP_INPUT)]
Device = Annotated[str, typer.Option("--device", metavar="<device>", autocompletion=lambda: list(DEVICES),
    help="auto, cpu, cuda, cuda:N or meta (runs torch without allocating memory).", rich_help_panel=HELP_RUN)]
DtypeChoice = Annotated[Dtype, typer.Option("--dtype", metavar="<dtype>", help="float32, float64, float16 or bfloat16.",
    rich_help_panel=HELP_RUN)]
NoTime = Annotated[bool, typer.Option("--no-time", help="Build and run, but do not time.", rich_help_panel=HELP_RUN)]
MinTime = Annotated[float, typer.Option("--min-time", metavar="<seconds>",
    help="Measure at least this long (more is more precise).", rich_help_panel=HELP_RUN)]
Threads = Annotated[Optional[int], typer.Option("--threads", help="torch threads (default: fastest in a probe).",
    rich_help_panel=HELP_RUN)]
Backward = Annotated[bool, typer.Option("--backward", help="Also time forward+backward (a training step); with "
                                                            "--dry-run or --no-time, predict its memory.",
    rich_help_panel=HELP_RUN)]
VsLoop = Annotated[bool, typer.Option("--vs-loop", help="Also time the same weights as a per-step cell loop.",
    rich_help_panel=HELP_RUN)]
Deploy = Annotated[bool, typer.Option("--deploy",
    help="Also run it deployed: bfloat16, float16, int8 (quantize_dynamic), torch.compile, ONNX Runtime; each "
         "against eager float32: difference, weight bytes, forward time.", rich_help_panel=HELP_RUN)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Answer from the predictor, without torch.",
    rich_help_panel=HELP_RUN)]
CheckFlops = Annotated[bool, typer.Option("--check-flops",
    help="Cross-check the analytic FLOPs with torch's FlopCounterMode on a meta copy. rnnshape counts "
         "analytically because dispatch-based counters read 0 for CPU LSTMs, whose fused oneDNN "
         "kernel hides the matmuls.",
    rich_help_panel=HELP_RUN)]
JsonOut = Annotated[bool, typer.Option("--json", "-j", help="One JSON document on stdout.",
    rich_help_panel=HELP_OUTPUT)]
Code = Annotated[bool, typer.Option("--code", help="Print the PyTorch code for this configuration.",
    rich_help_panel=HELP_OUTPUT)]
Check = Annotated[Optional[str], typer.Option("--check", metavar="<file>",
    help="Compare with the recurrent module in this checkpoint and say why it would not load "
         "(exit 1 if it would not, 0 if it would).",
    rich_help_panel=HELP_OUTPUT)]
Explain = Annotated[bool, typer.Option("--explain", help="The equations, with every term's shape and rows.",
    rich_help_panel=HELP_OUTPUT)]
ExplainLayer = Annotated[Optional[int], typer.Option("--layer", metavar="<int>",
    help="With --explain: only this layer (counting from 0; a module or cell of a --hidden-size list).",
    rich_help_panel=HELP_OUTPUT)]
ExplainReverse = Annotated[bool, typer.Option("--reverse",
    help="With --explain: only the reverse direction (*_reverse weights).", rich_help_panel=HELP_OUTPUT)]
ExplainGate = Annotated[Optional[str], typer.Option("--gate", metavar="<gate>",
    help="With --explain: only this gate's equation and rows (lstm: i f g o c h; gru: r z n h; rnn: h).",
    rich_help_panel=HELP_OUTPUT)]
Diagram = Annotated[bool, typer.Option("--diagram", help="Draw the network unrolled over time.",
    rich_help_panel=HELP_OUTPUT)]
Svg = Annotated[Optional[str], typer.Option("--svg", metavar="<file>", help="Also save the output as SVG.",
    rich_help_panel=HELP_OUTPUT)]
Html = Annotated[Optional[str], typer.Option("--html", metavar="<file>", help="Also save the output as HTML.",
    rich_help_panel=HELP_OUTPUT)]
NoLive = Annotated[bool, typer.Option("--no-live",
    help="Wait for torch, then print once (on a terminal the predicted tables otherwise show at once).",
    rich_help_panel=HELP_OUTPUT)]
