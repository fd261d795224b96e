"""Where a line may break (rnnshape.render.words): between words, never inside a value, a shape, an
expression or a flag and its value (issue 16). Table-driven, no torch."""

from __future__ import annotations

import pytest
from golden_util import render_text
from rich.text import Text

from rnnshape.render.screen import plain, trim
from rnnshape.render.words import Verbatim, Words, pieces


@pytest.mark.parametrize("text, expected", [
    ("estimate 1.6 MiB for", ["estimate", "1.6 MiB", "for"]),
    ("730 µs ± 22.5 (IQR)", ["730 µs ± 22.5", "(IQR)"]),
    ("710 … 880 µs", ["710 … 880 µs"]),
    ("add --batch-first", ["add", "--batch-first"]),
    ("use --layers 2 (got 1)", ["use", "--layers 2", "(got 1)"]),
    ("is output[0, ..., H_out:] now", ["is", "output[0, ..., H_out:]", "now"]),
    ("shape (2048, 256) here", ["shape", "(2048, 256)", "here"]),
    ("dims (D·num_layers, N, H_out)", ["dims", "(D·num_layers, N, H_out)"]),
    ("(the parts + 25 % slack)", ["(the", "parts", "+", "25 %", "slack)"]),
    ("cat(h_t →, h_t ←) on", ["cat(h_t →, h_t ←)", "on"]),
    ("L × N = 10 × 3 pairs", ["L × N = 10 × 3", "pairs"]),
])
def test_pieces(text, expected):
    assert [p.plain for p in pieces(Text(text))] == expected


@pytest.mark.parametrize("width", range(8, 60, 3))
def test_words_lay_out_every_piece_whole_and_in_order(width):
    text = "hint: reverse final state is output[0, ..., H_out:] · 1.6 MiB · use --layers 2 (got 1) at (3, 512)"
    items = text.split(" · ")
    out = render_text(Words(items, sep=" · ", indent=2), width)
    assert out.replace("·", " ").split() == text.replace("·", " ").split()  # every word, in order
    for whole in ("output[0, ..., H_out:]", "1.6 MiB", "--layers 2", "(3, 512)"):
        assert whole in out
    for line in out.splitlines():
        assert len(line) <= width or len(pieces(Text(line.strip()))) == 1


def test_verbatim_runs_past_the_edge_whole():
    line = "fix: rnnshape lstm --input-size 256 --hidden-size 512 --layers 2 --bidirectional --proj-size 128"
    assert plain(Verbatim(line), width=40) == line + "\n"


def test_trim_keeps_colour_codes():
    assert trim("\x1b[1mh_n\x1b[0m   \x1b[0m  ") == "\x1b[1mh_n\x1b[0m\x1b[0m"
