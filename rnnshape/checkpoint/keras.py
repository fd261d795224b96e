"""Keras recurrent layers (LSTM, GRU, SimpleRNN, their CuDNN variants, Bidirectional) as torch modules.

Read with h5py (``pip install 'rnnshape[keras]'``); TensorFlow and Keras are never imported. Three layouts:

- ``.keras`` (Keras 3): a zip of ``config.json`` and ``model.weights.h5``, whose groups are
  ``layers/<lstm|gru_1|bidirectional...>/cell/vars/{0,1,2}`` (kernel, recurrent_kernel, bias; a
  Bidirectional has ``forward_layer``/``backward_layer``), each layer's ``vars`` naming the layer;
- ``.weights.h5`` (Keras 3 ``save_weights``): the same groups, with no configuration;
- ``.h5`` (Keras 2, and Keras 3's legacy ``save``): ``model_weights/<layer>`` groups listing their
  ``weight_names`` (``lstm/lstm_cell/kernel:0``), the configuration as JSON in the ``model_config`` attribute;
  Keras 2's ``save_weights`` writes the same groups at the top level, without a configuration.

Each layer is one torch module of one layer (``batch_first=True``: Keras is batch-major), its tensors named
as torch's: ``kernel`` (in, G·H) is ``weight_ih`` transposed, ``recurrent_kernel`` (H, G·H) ``weight_hh``
transposed; Keras keeps one bias where torch keeps two (it becomes ``bias_ih``, with ``bias_hh`` zeros),
except the GRU with ``reset_after=True`` and the CuDNN layers, whose input and recurrent biases are torch's
two. Keras's LSTM gates are i, f, c, o (torch's order); its GRU's are z, r, h, where torch has r, z, n.
What torch's modules compute otherwise (``hard_sigmoid``, other activations, ``reset_after=False``) is said
per layer: such weights load, but the module computes another function.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

from rnnshape.checkpoint.entries import Checkpoint, Entry, SourceModule
from rnnshape.errors import EnvironmentUnfit, UsageError

# Keras class -> (torch kind, Keras's row blocks in its order); torch's order is the kind table's.
_CLASSES = {"LSTM": "lstm", "CuDNNLSTM": "lstm", "GRU": "gru", "CuDNNGRU": "gru", "SimpleRNN": "rnn"}
_KERAS_GATES = {"lstm": "ifco", "gru": "zrh", "rnn": "h"}
TORCH_FROM_KERAS = {"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "rnn": (0,)}  # torch block k = Keras block [k]
_TORCH_CLASS = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
_PARTS = ("kernel", "recurrent_kernel", "bias")


@dataclass(frozen=True)
class KerasLayer:
    """One recurrent Keras layer: where its weights are in the HDF5 file and what its configuration says."""

    prefix: str  # the layer's name (nested models: outer.inner), the torch prefix of its tensors
    class_name: str  # LSTM, GRU, SimpleRNN, CuDNNLSTM, CuDNNGRU (a Bidirectional's wrapped layer)
    kind: str  # lstm, gru, rnn
    directions: tuple[dict, ...]  # per direction: {"kernel": h5 path, "recurrent_kernel": ..., "bias": ...}
    shapes: tuple[dict, ...]  # the same keys: dataset shapes
    config: dict  # the (wrapped) layer's config; {} when the file holds none
    wrapper: dict | None  # a Bidirectional's own config, else None

    @property
    def hidden(self) -> int:
        return self.shapes[0]["recurrent_kernel"][0]

    @property
    def input_size(self) -> int:
        return self.shapes[0]["kernel"][0]

    @property
    def blocks(self) -> int:
        return len(_KERAS_GATES[self.kind])

    @property
    def two_biases(self) -> bool:
        """GRU reset_after=True ((2, 3H)) and the CuDNN layers ((2·G·H,)) keep torch's two bias vectors."""
        bias = self.shapes[0].get("bias")
        return bias is not None and (len(bias) == 2 or bias[0] == 2 * self.blocks * self.hidden)


def read(path: str):
    """The Checkpoint of a Keras file: every recurrent layer's tensors under torch's names and shapes."""
    with _opened(path) as (h5, config, version, fmt):
        layers = _layers(h5, config)
        entries, attributes, sources = [], [], []
        for layer in layers:
            dtype = str(h5[layer.directions[0]["kernel"]].dtype)
            for name, shape in _torch_shapes(layer).items():
                entries.append(Entry(name, shape, dtype))
            attributes.append((layer.prefix, _attributes(layer)))
            sources.append(_source(layer, config is not None, version, SourceModule))
    if not layers:
        raise UsageError(f"{path} is a Keras file with no recurrent layer weights rnnshape knows (LSTM, GRU, "
                         f"SimpleRNN, their CuDNN variants, Bidirectional)",
                         hint="inspect lists recurrent modules only; this file holds other layers")
    notes = (f"a Keras{' ' + version if version else ''} file, read with h5py: each recurrent layer is shown as "
             f"the torch module its weights load into, names and shapes in torch's layout (kernels transposed, "
             f"GRU gates z, r, h reordered to r, z, n)",)
    return Checkpoint(path, f"keras {fmt}", (), tuple(entries), reader="h5py", attributes=tuple(attributes),
                      notes=notes, sources=tuple(sources))


def tensors(path: str) -> dict:
    """name -> CPU tensor for every recurrent layer: converted to torch's layout and gate order."""
    import numpy as np
    import torch

    out = {}
    with _opened(path) as (h5, config, _, _fmt):
        for layer in _layers(h5, config):
            for d, where in enumerate(layer.directions):
                arrays = {part: np.asarray(h5[where[part]]) for part in _PARTS if part in where}
                for name, value in _convert(layer, arrays).items():
                    out[f"{layer.prefix}.{name}_l0{'_reverse' if d else ''}"] = torch.from_numpy(
                        np.ascontiguousarray(value))
    return out


def evaluate(path: str, prefix: str, x):
    """The Keras layer ``prefix`` of ``path`` run on ``x`` (N, L, in), by Keras's own equations in NumPy.

    An independent witness for a conversion: it reads the Keras arrays as stored (kernel, recurrent_kernel,
    bias, Keras's gate order) and applies the layer's configuration, hard_sigmoid, reset_after=False,
    go_backwards, return_sequences and a Bidirectional merge_mode included. A file with no configuration
    records no activations: a UsageError.
    """
    import numpy as np

    with _opened(path) as (h5, config, version, _fmt):
        layer = next((la for la in _layers(h5, config) if la.prefix == prefix), None)
        if layer is None or config is None:
            raise UsageError(f"{path}: no Keras layer {prefix!r} with a configuration to evaluate"
                             if layer is None else f"{path} holds no model configuration: Keras's activations "
                             f"are not recorded, so its layers cannot be evaluated")
        weights = [{part: np.asarray(h5[where[part]], np.float64) for part in where} for where in layer.directions]
    keras2 = bool(version) and version.split(".")[0] == "2"
    x = np.asarray(x, np.float64)
    cfg, forward = layer.config, _run(layer, weights[0], x, layer.config.get("go_backwards", False), keras2)
    if layer.wrapper is None:
        return forward if cfg.get("return_sequences") else forward[:, -1]
    backward = _run(layer, weights[1], x, not cfg.get("go_backwards", False), keras2)
    if cfg.get("return_sequences"):
        backward = backward[:, ::-1]  # Bidirectional gives the backward outputs in input order
    else:
        forward, backward = forward[:, -1], backward[:, -1]
    mode = layer.wrapper.get("merge_mode", "concat")
    merged = {"concat": lambda a, b: np.concatenate([a, b], -1), "sum": np.add, "mul": np.multiply,
              "ave": lambda a, b: (a + b) / 2}.get(mode)
    if merged is None:
        raise UsageError(f"{path}: Bidirectional {prefix!r} has merge_mode={mode}, which gives two outputs")
    return merged(forward, backward)


def _activation(name: str, keras2: bool):
    import numpy as np

    table = {"tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0),
             "linear": lambda v: v,
             # Keras 2: 0.2·x + 0.5 clipped; Keras 3: relu6(x + 3) / 6
             "hard_sigmoid": (lambda v: np.clip(0.2 * v + 0.5, 0, 1)) if keras2 else (
                 lambda v: np.clip(v + 3, 0, 6) / 6)}
    if name not in table:
        raise UsageError(f"the Keras activation {name!r} has no NumPy equation in rnnshape")
    return table[name]


def _run(layer: KerasLayer, w: dict, x, backwards: bool, keras2: bool):
    """One direction over time: every step's output, in the order the layer produced them."""
    import numpy as np

    cfg, h_size, kind = layer.config, layer.hidden, layer.kind
    act = _activation(_name(cfg.get("activation", "tanh")), keras2)
    rec = _activation(_name(cfg.get("recurrent_activation", "sigmoid")), keras2)
    kernel, recurrent = w["kernel"], w["recurrent_kernel"]
    bias = w.get("bias")
    if bias is None:
        b_in, b_rec = np.zeros(kernel.shape[1]), np.zeros(kernel.shape[1])
    elif bias.ndim == 2:
        b_in, b_rec = bias[0], bias[1]
    elif layer.two_biases:
        b_in, b_rec = bias[:kernel.shape[1]], bias[kernel.shape[1]:]
    else:
        b_in, b_rec = bias, np.zeros_like(bias)
    h = np.zeros((x.shape[0], h_size))
    c = np.zeros_like(h)
    out = []
    for t in (range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])):
        xt = x[:, t] @ kernel + b_in
        if kind == "rnn":
            h = act(xt + h @ recurrent + b_rec)
        elif kind == "lstm":
            i, f, g, o = np.split(xt + h @ recurrent + b_rec, 4, axis=-1)
            c = rec(f) * c + rec(i) * act(g)
            h = rec(o) * act(c)
        elif layer.two_biases or (bias is None and cfg.get("reset_after", True)):  # GRU reset_after=True
            x_z, x_r, x_h = np.split(xt, 3, axis=-1)
            h_z, h_r, h_h = np.split(h @ recurrent + b_rec, 3, axis=-1)
            z, r = rec(x_z + h_z), rec(x_r + h_r)
            h = z * h + (1 - z) * act(x_h + r * h_h)
        else:  # GRU reset_after=False: the reset gate scales h before the recurrent matmul
            x_z, x_r, x_h = np.split(xt, 3, axis=-1)
            z = rec(x_z + h @ recurrent[:, :h_size])
            r = rec(x_r + h @ recurrent[:, h_size:2 * h_size])
            h = z * h + (1 - z) * act(x_h + (r * h) @ recurrent[:, 2 * h_size:])
        out.append(h)
    return np.stack(out, 1)


def _convert(layer: KerasLayer, arrays: dict) -> dict:
    """One direction's Keras arrays as torch's weight_ih, weight_hh, bias_ih, bias_hh (numpy)."""
    import numpy as np

    h = layer.hidden
    order = TORCH_FROM_KERAS[layer.kind]  # torch block j = Keras block order[j]

    def rows(matrix):  # (G·H, ...) in Keras's block order -> torch's
        return np.concatenate([matrix[k * h:(k + 1) * h] for k in order], axis=0)

    out = {"weight_ih": rows(arrays["kernel"].T), "weight_hh": rows(arrays["recurrent_kernel"].T)}
    bias = arrays.get("bias")
    if bias is not None:
        if bias.ndim == 2:  # GRU reset_after=True: (2, 3H) = [input bias; recurrent bias]
            b_ih, b_hh = bias[0], bias[1]
        elif layer.two_biases:  # CuDNN layers: input biases, then recurrent ones
            b_ih, b_hh = bias[:bias.shape[0] // 2], bias[bias.shape[0] // 2:]
        else:  # one bias vector: all of it in bias_ih, torch's second vector zero
            b_ih, b_hh = bias, np.zeros_like(bias)
        out["bias_ih"], out["bias_hh"] = rows(b_ih), rows(b_hh)
    return out


def _torch_shapes(layer: KerasLayer) -> dict[str, tuple[int, ...]]:
    out = {}
    g_h = layer.blocks * layer.hidden
    for d, shapes in enumerate(layer.shapes):
        sfx = "_l0" + ("_reverse" if d else "")
        out[f"{layer.prefix}.weight_ih{sfx}"] = (g_h, shapes["kernel"][0])
        out[f"{layer.prefix}.weight_hh{sfx}"] = (g_h, shapes["recurrent_kernel"][0])
        if "bias" in shapes:
            out[f"{layer.prefix}.bias_ih{sfx}"] = (g_h,)
            out[f"{layer.prefix}.bias_hh{sfx}"] = (g_h,)
    return out


def _attributes(layer: KerasLayer) -> tuple:
    """What the Keras layer fixes that a state_dict does not: batch-major input, a SimpleRNN's activation."""
    tm = layer.config.get("time_major")  # None (weights-only, Keras 3): batch-major is Keras's rule, unrecorded
    kept = [("batch_first", not tm)] + [("convention", ("batch_first", "Keras layers are batch-major"))] * (tm is None)
    activation = _name(layer.config.get("activation"))
    if layer.kind == "rnn" and activation in ("tanh", "relu"):
        kept.append(("nonlinearity", activation))
    return tuple(kept)


def _source(layer: KerasLayer, has_config: bool, version: str | None, source_module):
    cfg = layer.config
    kind = layer.kind
    wrapped = f"Bidirectional({layer.class_name})" if layer.wrapper is not None else layer.class_name
    settings = [("units", layer.hidden), ("input size", layer.input_size)]
    notes, differs = [], []
    if has_config:
        for key in ("activation", "recurrent_activation", "reset_after", "return_sequences", "go_backwards",
                    "use_bias", "time_major"):
            if key in cfg and (key != "recurrent_activation" or kind != "rnn") and (key != "reset_after" or
                                                                                    kind == "gru"):
                settings.append((key, _name(cfg[key]) if "activation" in key else cfg[key]))
        if layer.wrapper is not None:
            settings.append(("merge_mode", layer.wrapper.get("merge_mode", "concat")))
        activation = _name(cfg.get("activation", "tanh"))
        if kind == "rnn" and activation not in ("tanh", "relu"):
            differs.append(f"activation={activation}: torch's nn.RNN has only tanh and relu")
        if kind != "rnn" and activation != "tanh":
            differs.append(f"activation={activation}: torch's {_TORCH_CLASS[kind]} uses tanh")
        recurrent = _name(cfg.get("recurrent_activation", "sigmoid"))
        if kind != "rnn" and recurrent != "sigmoid" and "CuDNN" not in layer.class_name:
            differs.append(f"recurrent_activation={recurrent}: torch's gates use the logistic sigmoid")
        if cfg.get("go_backwards"):
            notes.append("go_backwards=True: torch has no backwards-only module; give it the input reversed in "
                         "time (x.flip(1)), and Keras's outputs come in that reversed order too")
        if cfg.get("return_sequences") is False:
            notes.append("return_sequences=False: Keras returns the last step only, torch's output[:, -1]")
        if (cfg.get("dropout") or 0) > 0 or (cfg.get("recurrent_dropout") or 0) > 0:
            notes.append("dropout/recurrent_dropout act in training only (no effect on loaded weights)")
        if layer.wrapper is not None and layer.wrapper.get("merge_mode", "concat") != "concat":
            notes.append(f"merge_mode={layer.wrapper.get('merge_mode')}: torch concatenates the two "
                         f"directions; combine output[..., :H] and output[..., H:] yourself")
    else:
        notes.append("the file holds no model configuration: the kind comes from the weights' shapes"
                     + (" and names" if "CuDNN" in layer.class_name else "")
                     + "; activations and return_sequences are not recorded")
        if version and _older_than_2_3(version) and kind != "rnn" and "CuDNN" not in layer.class_name:
            notes.append(f"written by Keras {version}: before 2.3 Keras's default recurrent_activation was "
                         f"hard_sigmoid, which torch does not compute; the file does not say which was used")
    if kind == "gru" and not layer.two_biases and layer.shapes[0].get("bias") is not None:
        differs.append("reset_after=False: Keras applies the reset gate before the recurrent matmul; torch's "
                       "nn.GRU computes r ⊙ (W_hn·h + b_hn) (Keras's reset_after=True)")
    elif kind == "gru" and layer.shapes[0].get("bias") is None and cfg.get("reset_after") is False:
        differs.append("reset_after=False: Keras applies the reset gate before the recurrent matmul; torch's "
                       "nn.GRU computes r ⊙ (W_hn·h + b_hn) (Keras's reset_after=True)")
    if layer.shapes[0].get("bias") is not None and not layer.two_biases:
        notes.append("Keras keeps one bias vector: it is bias_ih here, and bias_hh is zeros")
    said = ", ".join(f"{k}={v}" for k, v in settings)
    notes.insert(0, f"Keras {wrapped} {layer.prefix!r}: {said}")
    return source_module(layer.prefix, f"Keras {wrapped} {layer.prefix!r}", tuple(settings), tuple(notes),
                         tuple(differs), guessed=not has_config)


def _name(value) -> str:
    """An activation as Keras serialises it: a string, or {"class_name"/"config": {"name"}} for objects."""
    if isinstance(value, dict):
        inner = value.get("config")
        return str(inner.get("name") if isinstance(inner, dict) and "name" in inner else value.get("class_name"))
    return str(value)


def _older_than_2_3(version: str) -> bool:
    parts = re.findall(r"\d+", version)[:2]
    return len(parts) == 2 and (int(parts[0]), int(parts[1])) < (2, 3)


# --- opening the file ---------------------------------------------------------------------------------------

class _opened:
    """``with _opened(path) as (h5 root, config or None, keras version or None, format name):``"""

    def __init__(self, path: str):
        self.path = path
        self.file = None

    def __enter__(self):
        h5py = _h5py()
        path = self.path
        config = None
        try:
            if path.lower().endswith(".keras") or _is_zip(path):
                import zipfile

                with zipfile.ZipFile(path) as z:
                    names = z.namelist()
                    if "model.weights.h5" not in names:
                        raise UsageError(f"{path} is a .keras archive without model.weights.h5 (it holds "
                                         f"{', '.join(names[:4])}): no weights to read",
                                         hint="save the model again with model.save('model.keras')")
                    config = _json(z.read("config.json"), path) if "config.json" in names else None
                    meta = _json(z.read("metadata.json"), path) if "metadata.json" in names else {}
                    weights = z.read("model.weights.h5")
                self.file = h5py.File(io.BytesIO(weights), "r")
                return self.file, config, str(meta.get("keras_version") or "") or None, ".keras (model and weights)"
            self.file = h5py.File(path, "r")
        except UsageError:
            raise
        except Exception as err:  # h5py's OSError for a damaged file, zipfile's BadZipFile
            raise UsageError(f"{path} is not a readable Keras/HDF5 file ({type(err).__name__}: {err})",
                             hint="check that the file was completely written and copied") from None
        try:
            return self._kind(self.file, config)
        except Exception:
            self.file.close()  # __exit__ is not called when __enter__ raises
            raise

    def _kind(self, root, config):
        path = self.path
        raw = root.attrs.get("model_config")
        if raw is not None:
            config = _json(raw, path)
        version = _text(root.attrs.get("keras_version")) or None
        if "model_weights" in root:
            fmt = ".h5 (model and weights)" if config else ".h5 (weights)"
            return root["model_weights"], config, version or _text(root["model_weights"].attrs.get(
                "keras_version")) or None, fmt
        if "layer_names" in root.attrs:
            return root, config, version, ".h5 (weights only)"
        if "layers" in root:
            return root, config, version, ".weights.h5 (weights only)"
        raise UsageError(f"{path} is an HDF5 file but not a Keras model or weights file (no model_weights, "
                         f"layer_names or layers)", hint="rnnshape reads HDF5 files written by Keras only")

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()


def _h5py():
    try:
        import h5py
    except ImportError:
        raise EnvironmentUnfit("reading Keras .keras/.h5 files needs the h5py package, which is not installed",
                               hint="pip install 'rnnshape[keras]' (or pip install h5py)") from None
    return h5py


def _is_zip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _json(raw, path: str):
    try:
        return json.loads(_text(raw))
    except (ValueError, UnicodeDecodeError) as err:
        raise UsageError(f"{path} has a Keras configuration that is not valid JSON: {err}") from None


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


# --- finding the layers ---------------------------------------------------------------------------------------

def _configs(config) -> dict[str, tuple[str, dict, dict | None]]:
    """name -> (class name, config, Bidirectional config or None) for every layer, nested models included."""
    out: dict[str, tuple[str, dict, dict | None]] = {}

    def visit(layer):
        if not isinstance(layer, dict):
            return
        cls, cfg = layer.get("class_name"), layer.get("config")
        inner = cfg.get("layers") if isinstance(cfg, dict) else cfg if isinstance(cfg, list) else None
        if isinstance(inner, list):  # Sequential / Functional / Model (Keras 2.0's Sequential: a bare list)
            for child in inner:
                visit(child)
            return
        if not isinstance(cfg, dict) or not isinstance(cfg.get("name"), str):
            return
        if cls == "Bidirectional" and isinstance(cfg.get("layer"), dict):
            wrapped = cfg["layer"]
            out[cfg["name"]] = (str(wrapped.get("class_name")), wrapped.get("config") or {}, cfg)
        else:
            out[cfg["name"]] = (str(cls), cfg, None)

    visit(config)
    return out


def _layers(root, config) -> list[KerasLayer]:
    configs = _configs(config) if config else {}
    found = []
    if "layer_names" in root.attrs:  # legacy HDF5: one group per layer, weight_names listing its datasets
        for group_name in (_text(n) for n in root.attrs["layer_names"]):
            group = root[group_name]
            cells: dict[str, dict[int, dict]] = {}  # a nested model's group holds several layers' weights
            for w in (_text(w) for w in group.attrs.get("weight_names", [])):
                parts = w.split("/")
                part = parts[-1].split(":")[0]
                if part not in _PARTS:
                    continue
                # scope/layer[/forward_x|backward_x][/lstm_cell_N]/kernel: the layer path, without cell and direction
                path = [p for p in parts[:-1] if not re.match(r"(forward|backward)_|\w*_cell(_\d+)?$", p)]
                path = path[path.index(group_name):] if group_name in path else [group_name] + path[-1:]
                d = 1 if any(p.startswith("backward_") for p in parts[:-1]) else 0
                cells.setdefault(".".join(dict.fromkeys(path)), {}).setdefault(d, {})[part] = f"{group.name}/{w}"
            for name, directions in cells.items():
                found.append((name, [directions[d] for d in sorted(directions)]))
    else:  # Keras 3: layers/<auto name>/[forward_layer|backward_layer]/cell/vars/<i>
        _native(root, "", found)
    if configs:  # the model's own order (HDF5 groups iterate alphabetically)
        order = {n: i for i, n in enumerate(configs)}
        found.sort(key=lambda f: order.get(f[0].rsplit(".", 1)[-1], len(order)))
    layers = []
    for name, directions in found:
        layer = _layer(root, name, directions, configs)
        if layer is not None:
            layers.append(layer)
    return layers


def _native(group, prefix: str, found: list, depth: int = 0) -> None:
    if "layers" not in group or depth > 8:
        return
    for key in group["layers"]:
        sub = group["layers"][key]
        name = _text(sub["vars"].attrs.get("name")) if "vars" in sub else ""
        name = f"{prefix}{name or key}"
        cells = [sub[side] for side in ("forward_layer", "backward_layer") if side in sub] or [sub]
        directions = []
        for cell in cells:
            if "cell" in cell and "vars" in cell["cell"] and len(cell["cell"]["vars"]) >= 2:
                held = cell["cell"]["vars"]
                directions.append({part: held[str(i)].name for i, part in enumerate(_PARTS) if str(i) in held})
        if directions and all("kernel" in d and "recurrent_kernel" in d for d in directions):
            found.append((name, directions))
        else:
            _native(sub, f"{name}.", found, depth + 1)


def _layer(root, name: str, directions: list, configs) -> KerasLayer | None:
    if not directions or not all("kernel" in d and "recurrent_kernel" in d for d in directions):
        return None
    shapes = tuple({part: tuple(int(x) for x in root[where].shape) for part, where in d.items()} for d in directions)
    kernel, recurrent = shapes[0]["kernel"], shapes[0]["recurrent_kernel"]
    if len(kernel) != 2 or len(recurrent) != 2 or recurrent[0] < 1 or recurrent[1] % recurrent[0]:
        return None
    cls, cfg, wrapper = configs.get(name.rsplit(".", 1)[-1], ("", {}, None))
    if cls not in _CLASSES:  # no configuration (or a custom class): the shapes say the kind
        blocks = recurrent[1] // recurrent[0]
        kind = {1: "rnn", 3: "gru", 4: "lstm"}.get(blocks)
        if kind is None:
            return None
        bias = shapes[0].get("bias")
        cudnn = kind != "rnn" and bias is not None and len(bias) == 1 and bias[0] == 2 * recurrent[1]
        cls = ("CuDNN" if cudnn else "") + _TORCH_CLASS[kind]
        cfg = {}
        wrapper = {"merge_mode": "concat"} if len(directions) == 2 else None
    kind = _CLASSES[cls]
    if recurrent[1] != len(_KERAS_GATES[kind]) * recurrent[0]:
        return None
    return KerasLayer(name, cls, kind, tuple(directions), shapes, cfg, wrapper)

