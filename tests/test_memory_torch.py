"""The memory estimate and the measured peak, held to an independent measurement over generated configurations.

The test builds its own torch modules and inputs (not rnnshape's), runs the forward (or a training step) once
under torch.profiler.profile(profile_memory=True), and takes the peak of the running sum of the CPU
allocation events on top of the parameters and inputs. rnnshape's measured peak must be within 15 % of it and
its torch-free estimate between 1.0x and 1.5x of it.
"""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from rnnshape.model.memory import estimate  # noqa: E402
from rnnshape.model.predict import predict  # noqa: E402
from rnnshape.model.spec import make_spec  # noqa: E402

VARIANTS = ("layer", "cell", "proj", "packed", "bidirectional stack", "list stack", "float64", "half")


FAST = ("layer", "packed", "bidirectional stack")  # a handful in the fast loop; every variant in the slow one


def generate(rng: random.Random, variant: str, small: bool = False) -> tuple[str, dict]:
    """A configuration of realistic size: tensors of hundreds of KiB at least, so alignment does not dominate
    (``small``: the lower end of that, for the fast loop)."""
    kind = "lstm" if variant == "proj" else rng.choice(["rnn", "lstm", "gru"])
    top, steps, rows = (193, 41, 17) if small else (385, 121, 33)
    kw: dict = {"input_size": rng.randrange(64, top, 32), "hidden_size": rng.randrange(64, top, 32),
                "seq_len": rng.randrange(20, steps, 10), "batch": rng.randrange(4, rows, 4),
                "batch_first": rng.random() < 0.5}
    if variant == "cell":
        kw.update(cell=True, batch_first=False)
        if rng.random() < 0.5:
            kw.update(hidden_size=(kw["hidden_size"], rng.randrange(64, 257, 32)))
    elif variant == "proj":
        kw.update(proj_size=rng.randrange(16, kw["hidden_size"], 16), num_layers=rng.choice([1, 2]))
    elif variant == "packed":
        n = kw.pop("batch")
        lengths = [rng.randint(1, kw["seq_len"]) for _ in range(n - 1)] + [kw["seq_len"]]
        kw.update(lengths=tuple(lengths), bidirectional=rng.random() < 0.5, num_layers=rng.choice([1, 2]))
    elif variant == "bidirectional stack":
        kw.update(bidirectional=True, num_layers=rng.choice([2, 3]))
    elif variant == "list stack":
        kw.update(hidden_size=(kw["hidden_size"], rng.randrange(64, 257, 32)), bidirectional=rng.random() < 0.5)
    elif variant == "float64":
        kw.update(dtype="float64", num_layers=rng.choice([1, 2]))
    elif variant == "half":  # bfloat16 runs oneDNN's LSTM where the CPU supports it; float16 runs aten
        kw.update(dtype=rng.choice(["bfloat16", "float16"]), num_layers=rng.choice([1, 2]),
                  bidirectional=rng.random() < 0.5)
    return kind, kw


def independent(kind: str, kw: dict, *, backward: bool) -> int:
    """The peak bytes of one forward (or training step) of modules the test builds itself."""
    mods, forward, resident = setup(kind, kw)

    def step():
        forward().sum().backward()

    for m in mods:
        m.train(backward)
    fn = step if backward else forward
    if backward:
        step()  # the first call of a process allocates once-only buffers
        for m in mods:
            m.zero_grad(set_to_none=True)
    else:
        with torch.no_grad():
            fn()
    grad = torch.enable_grad() if backward else torch.no_grad()
    with grad, torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as p:
        fn()
    running = peak = 0
    events = [e for e in p.profiler.kineto_results.events() if e.name() == "[memory]"]
    for e in sorted(events, key=lambda e: e.start_ns()):
        running += e.nbytes()
        peak = max(peak, running)
    return peak + _storage_bytes(resident)


def _storage_bytes(tensors) -> int:
    return sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}.values())


def setup(kind: str, kw: dict):
    """The test's own modules, a forward returning the loss's tensor, and the tensors resident before it."""
    torch.manual_seed(0)
    dtype = getattr(torch, kw.get("dtype", "float32"))
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    sizes = kw["hidden_size"] if isinstance(kw["hidden_size"], tuple) else (kw["hidden_size"],)
    cell = kw.get("cell", False)
    L = kw["seq_len"]
    N = len(kw["lengths"]) if "lengths" in kw else kw["batch"]
    bf = kw.get("batch_first", False) and not cell
    mods, width = [], kw["input_size"]
    for h in sizes:
        if cell:
            mods.append(getattr(nn, cls.__name__ + "Cell")(width, h, dtype=dtype))
            width = h
        else:
            extra = {"proj_size": kw["proj_size"]} if kw.get("proj_size") else {}
            layers = 1 if len(sizes) > 1 else kw.get("num_layers", 1)
            mods.append(cls(width, h, num_layers=layers, bidirectional=kw.get("bidirectional", False),
                            batch_first=bf, dtype=dtype, **extra))
            width = (2 if kw.get("bidirectional") else 1) * (kw.get("proj_size") or h)
    x = torch.randn((N, L, kw["input_size"]) if bf else (L, N, kw["input_size"]), dtype=dtype)
    resident = [*(p for m in mods for p in m.parameters()), x]
    packed = None
    if "lengths" in kw:
        packed = pack_padded_sequence(x, list(kw["lengths"]), batch_first=bf, enforce_sorted=False)
        resident.append(packed.data)

    def forward():
        if cell:
            states = [None] * len(mods)
            for xt in x.unbind(0):
                inp = xt
                for i, m in enumerate(mods):
                    states[i] = m(inp, states[i])
                    inp = states[i][0] if kind == "lstm" else states[i]
            return inp
        out = packed if packed is not None else x
        for m in mods:
            out, _ = m(out)
        if packed is not None:
            out, _ = pad_packed_sequence(out, batch_first=bf, total_length=L)
        return out

    return mods, forward, resident


def rnnshape_memory(kind: str, kw: dict, *, backward: bool):
    from rnnshape.run.build import build
    from rnnshape.run.measure import _memory

    spec = make_spec(kind, **kw)
    return _memory(spec, predict(spec), build(spec), backward=backward)


def check(kind: str, kw: dict) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for backward in (False, True):
            measured = independent(kind, kw, backward=backward)
            memory = rnnshape_memory(kind, kw, backward=backward)
            what = f"{kind} {kw} {'forward+backward' if backward else 'forward'}"
            assert memory.peak_bytes == pytest.approx(measured, rel=0.15), what
            assert measured <= memory.estimate_bytes <= 1.5 * measured, (what, memory.estimate_bytes / measured)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("variant", FAST)
def test_estimate_and_peak_against_an_independent_measurement(variant):
    check(*generate(random.Random(f"fast {variant}"), variant, small=True))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("variant", VARIANTS)
def test_estimate_and_peak_over_generated_configurations(variant, seed):
    check(*generate(random.Random(f"{variant} {seed}"), variant))


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "kw"), [
    ("lstm", {"input_size": 512, "hidden_size": 512, "seq_len": 200, "batch": 32}),  # the table
    ("gru", {"input_size": 256, "hidden_size": 512, "seq_len": 200, "batch": 32}),
    ("lstm", {"cell": True, "input_size": 128, "hidden_size": 256, "seq_len": 100, "batch": 32}),
    # the README's example (its default sizes spelled out): small, so the margin's fixed bytes count
    ("lstm", {"input_size": 100, "hidden_size": 20, "num_layers": 4, "bidirectional": True, "seq_len": 10,
              "batch": 3}),
])
def test_the_audited_configurations(kind, kw):
    check(kind, kw)


@pytest.mark.parametrize("variant", VARIANTS)
def test_kept_for_backward_against_saved_tensors_hooks(variant):
    """The estimate's "kept for backward" part is what autograd saves: the distinct storages that
    saved_tensors_hooks see during a training forward, less the parameters and inputs (within 10 %)."""
    kind, kw = generate(random.Random(f"fast {variant}"), variant, small=True)
    mods, forward, resident = setup(kind, kw)
    saved: dict[int, int] = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    ours = {t.untyped_storage().data_ptr() for t in resident}
    kept = sum(n for ptr, n in saved.items() if ptr not in ours)
    spec = make_spec(kind, **kw)
    shown = dict(estimate(predict(spec), backward=True)[0])["kept for backward"]
    assert shown == pytest.approx(kept, rel=0.10), (kind, kw)


def test_the_profiler_peak_sees_what_autograd_keeps():
    """A second witness for the CPU method: saved_tensors_hooks count the bytes autograd keeps, and the
    profiler's running sum after the forward (before the backward) holds at least those bytes."""
    from rnnshape.run.memory import resident_bytes

    torch.set_num_threads(1)
    m = nn.GRU(128, 256)
    x = torch.randn(50, 16, 128)
    saved: dict[int, int] = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out, _ = m(x)
    kept = sum(saved.values()) - resident_bytes([*m.parameters(), x])
    del out
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as p:
        out, h = m(x)
    live = sum(e.nbytes() for e in p.profiler.kineto_results.events() if e.name() == "[memory]")
    # live also holds the stacked output, and per-step tensors the hooks see as views of others
    assert kept <= live <= kept + 2 * out.numel() * 4 + h.numel() * 4 + 64 * 1024
