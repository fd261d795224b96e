"""Shared Hypothesis strategies: valid configurations of every shape rnnshape supports."""

from __future__ import annotations

from hypothesis import strategies as st

from rnnshape.model.spec import make_spec

small = st.integers(1, 12)


@st.composite
def spec_kwargs(draw, max_layers: int = 3, max_len: int = 5) -> dict:
    """Keyword arguments for make_spec covering kinds, cells, stacks, proj, bias, directions, layouts."""
    kind = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    cell = draw(st.booleans())
    stack = draw(st.booleans())
    kw: dict = {"input_size": draw(small)}
    if stack:
        kw["hidden_size"] = draw(st.lists(st.integers(2, 12), min_size=2, max_size=3))
    else:
        kw["hidden_size"] = draw(st.integers(2, 12))
        kw["num_layers"] = draw(st.integers(1, max_layers))
    if kind == "rnn":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    if not cell:
        kw["bidirectional"] = draw(st.booleans())
        if kind == "lstm" and draw(st.booleans()):
            smallest = min(kw["hidden_size"]) if stack else kw["hidden_size"]
            kw["proj_size"] = draw(st.integers(1, smallest - 1))
    kw["bias"] = draw(st.booleans())
    kw["batch_first"] = draw(st.booleans())
    layout = draw(st.sampled_from(["batched", "unbatched", "packed"] if not cell else ["batched", "unbatched"]))
    seq_len = draw(st.integers(1, max_len))
    kw["seq_len"] = seq_len
    if layout == "unbatched":
        kw["unbatched"] = True
    elif layout == "packed":
        kw["lengths"] = draw(st.lists(st.integers(1, seq_len), min_size=1, max_size=4))
    else:
        kw["batch"] = draw(st.integers(1, 4))
    kw["init_state"] = draw(st.sampled_from(["none", "zeros", "random"]))
    kw["dtype"] = draw(st.sampled_from(["float32", "float32", "float64", "bfloat16", "float16"]))
    return {"kind": kind, "cell": cell, **kw}


def specs(**kw):
    return spec_kwargs(**kw).map(lambda d: make_spec(d.pop("kind"), **d))
