"""Golden tests of the rendered tables, from hand-built Reports (no torch, no wall clock)."""

from __future__ import annotations

import pytest
from golden_util import assert_golden, render_text

from rnnshape.model.predict import predict
from rnnshape.model.report import Report, Timing
from rnnshape.model.spec import make_spec
from rnnshape.model.stats import Stats
from rnnshape.render.tables import render

TIMING = Timing(forward=Stats(samples=(7.1e-4, 7.2e-4, 7.3e-4, 7.3e-4, 7.5e-4, 8.8e-4), calls_per_run=10, threads=2))

CASES = {
    "lstm_4_bidir": dict(kind="lstm", num_layers=4, bidirectional=True),
    "rnn_cell_stack": dict(kind="rnn", cell=True, hidden_size=[30, 20], init_state="zeros"),
    "lstm_proj_packed_bf": dict(kind="lstm", num_layers=2, proj_size=5, batch_first=True, lengths=[7, 3, 5],
                                init_state="random"),
    "gru_stack_unbatched": dict(kind="gru", hidden_size=[400, 1150, 400], unbatched=True, dtype="bfloat16"),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("verified", [True, False])
def test_tables_golden(name, verified):
    kw = dict(CASES[name])
    spec = make_spec(kw.pop("kind"), **kw)
    report = Report(predict(spec), verified=verified, torch_version="2.13.0+cpu" if verified else None,
                    timing=TIMING if verified else None, warnings=())
    text = render_text(render(report), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_golden(f"tables_{name}_{'run' if verified else 'dry'}.txt", text)


def _everything() -> Report:
    """Every key a report document has: all four statements, the kernel, memory, threads, a FLOP count."""
    from rnnshape.model.report import Kernel, Memory
    from rnnshape.model.stats import Probe, ThreadChoice

    def stats(*samples, **kw):
        return Stats(samples, calls_per_run=10, threads=2, **kw)

    timing = Timing(forward=stats(1e-3, 1.1e-3, 1.2e-3, floor_s=1e-4, interleaved=True),
                    backward=stats(3e-3, 3.1e-3, 3.3e-3), loop=stats(5e-3, 6e-3, 7e-3), padded=stats(2e-3, 2e-3),
                    kernel=Kernel("onednn", (("aten.mkldnn_rnn_layer", 2), ("aten.cat", 1)), 0),
                    memory=Memory((("parameters", 10), ("inputs", 20)), 100, 50, "forward+backward"),
                    threads=ThreadChoice(1, 2, 4, (Probe(1, (1e-3, 2e-3)), Probe(4, ())), fallback=True,
                                         skipped=((2, 1.5),)))
    spec = make_spec("lstm", lengths=[5, 3, 2], bidirectional=True, proj_size=4, input_shape=[10, 3, 100])
    return Report(predict(spec), verified=True, torch_version="2.13.0+cpu", timing=timing, warnings=("w",),
                  flops_counted=7)


def test_report_json_golden():
    """The document of a report with every key, byte for byte (written by the hand-made JSON views this
    serializer replaced, so schema 1 is unchanged)."""
    from rnnshape.render.jsonout import dumps, report_dict

    assert_golden("report_everything.json", dumps(report_dict(_everything())) + "\n")


def test_one_class_per_result_and_it_shows_itself():
    """No showing subclass: the API's Report is the model's, and a hand-built one renders, reprs and
    serializes exactly as the CLI does (through the functions rnnshape.api.results registers)."""
    from dataclasses import replace

    from rnnshape.api import results
    from rnnshape.model.report import Report as ModelReport
    from rnnshape.render.jsonout import dumps, report_dict
    from rnnshape.render.screen import plain

    assert results.Report is ModelReport
    report = _everything()
    report = replace(report, timing=replace(report.timing, threads=None))
    assert plain(report, 80) == render_text(render(report), 80)
    assert report.to_json() == dumps(report_dict(report)) and report.to_dict() == report_dict(report)
    assert repr(report).endswith("h_n (2, 3, 4), c_n (2, 3, 20) · verified by torch 2.13.0+cpu · forward 1.10 ms>")
    assert "<pre" in report._repr_html_()
