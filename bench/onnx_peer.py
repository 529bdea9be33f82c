"""onnx_peer.py: the onnxruntime peer models of the bench, written without torch.

    onnx_peer.py peer  --model DIR --adapter DIR --name NAME --out DIR
    onnx_peer.py bert-base --tokenizer DIR --model-out DIR --adapter-out DIR

`peer` writes, from a BERT model directory (config.json + model.safetensors, as the Hugging Face
files or `./build.sh model` leave them) and a bottleneck (seq_bn) adapter with its classification
head (AdapterHub's files: adapter_config.json, head_config.json and pytorch_adapter.bin /
pytorch_model_head.bin or adapter.safetensors / model_head.safetensors):

    NAME.onnx        base + adapter + head: input_ids, attention_mask, token_type_ids (int64,
                     [batch, sequence]) → logits [batch, labels]
    NAME.q8.onnx     the same, dynamically quantized by onnxruntime.quantization.quantize_dynamic
                     (QInt8 weights, per tensor: what Transformers.js ships as model_quantized.onnx)
    NAME.base.onnx, NAME.base.q8.onnx
                     the base model alone → embeddings [batch, hidden] (mean over the attention
                     mask of the last hidden state), for the bench's accuracy columns

The graph is the one transformers' eager BertModel + adapters' Adapter (methods/modeling.py)
compute, in the operator pattern torch.onnx.export (opset 17) writes for it: MatMul + Add per
linear with the weight transposed, LayerNormalization, the erf GELU as Div/Erf/Add/Mul/Mul, the
attention mask as (1 - mask) · float32 min, scores divided by √head_size, so that onnxruntime's
graph optimizer fuses it as it fuses the torch export (tools/reference/minilm_onnx.py, which
needs the torch reference environment). The bottleneck adapter follows adapters' Adapter.
pre_forward/forward/post_forward (and adapters/bottleneck.go) for the configurations the demo
adapters use: original_ln_before/after, residual_before_ln, no ln_before/after, no gating.

`bert-base` writes random weights of bert-base-uncased's exact shape (12 layers, 768 hidden, 12
heads, 3072 intermediate, the 30522-word vocabulary of the MiniLM tokenizer, which is
bert-base-uncased's), a seq_bn adapter (reduction factor 16) and a 2-label head of its shape, as
safetensors: a stand-in for the Hub's `pf` adapters' base, which no hub here can serve. Seeded,
so every run writes the same bytes.
"""

import argparse
import io
import json
import os
import pickle
import shutil
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file, save_file

OPSET = 17


# ---- weights -----------------------------------------------------------------------------------


class _TorchUnpickler(pickle.Unpickler):
    """Reads a torch.save zip (a state dict of tensors) into numpy arrays without torch: the
    pickle names torch._utils._rebuild_tensor_v2 and storages by persistent id; this maps them
    to numpy views of the zip's data/N members (little-endian, as torch writes them)."""

    DTYPES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32, "BFloat16Storage": None}

    def __init__(self, f, zf, prefix):
        super().__init__(f)
        self.zf, self.prefix = zf, prefix

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in self.DTYPES:
            if self.DTYPES[name] is None:
                raise ValueError(f"unsupported tensor type {name}")
            return self.DTYPES[name]
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a state dict")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind}")
        raw = self.zf.read(f"{self.prefix}data/{key}")
        return np.frombuffer(raw, dtype=dtype, count=numel)


def _rebuild_tensor(storage, offset, size, stride, *_):
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)).copy()


def load_torch(path):
    with zipfile.ZipFile(path) as zf:
        pkl = next(n for n in zf.namelist() if n.endswith("data.pkl"))
        prefix = pkl[: -len("data.pkl")]
        return dict(_TorchUnpickler(io.BytesIO(zf.read(pkl)), zf, prefix).load())


def load_weights(dir_, safe, pt):
    if os.path.exists(os.path.join(dir_, safe)):
        return load_file(os.path.join(dir_, safe))
    return load_torch(os.path.join(dir_, pt))


# ---- graph -------------------------------------------------------------------------------------


class Graph:
    """A list of nodes and initializers with generated names, f32 throughout."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], {}, 0

    def const(self, name, arr):
        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(np.array(arr, order="C"), name)  # (ascontiguousarray makes 0-d 1-d)
        return name

    def op(self, kind, inputs, **attrs):
        self.n += 1
        out = f"{kind.lower()}_{self.n}"
        self.nodes.append(helper.make_node(kind, inputs, [out], name=f"{kind}_{self.n}", **attrs))
        return out

    def linear(self, x, w, b, name):
        # torch.onnx.export writes nn.Linear as MatMul with the transposed weight, then Add
        return self.op("Add", [self.op("MatMul", [x, self.const(name + ".weight_t", w.T.astype(np.float32))]), self.const(name + ".bias", b.astype(np.float32))])

    def layernorm(self, x, w, b, name, eps):
        return self.op("LayerNormalization", [x, self.const(name + ".weight", w), self.const(name + ".bias", b)], axis=-1, epsilon=eps)


def strip(sd, prefixes=("bert.", "model.")):
    out = {}
    for k, v in sd.items():
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p) :]
        out[k] = v.astype(np.float32) if v.dtype != np.float32 else v
    return out


def encoder(g, cfg, w, adapter, ad_w, name):
    """Embeddings and the encoder layers; returns (last hidden state [B,T,H], mask [B,T] f32)."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd, eps = H // nh, float(cfg.get("layer_norm_eps", 1e-12))
    # embeddings: word + token type, + position (the position_ids buffer sliced to T)
    shape = g.op("Shape", ["input_ids"])
    T = g.op("Unsqueeze", [g.op("Gather", [shape, g.const("one_i64", np.array(1, np.int64))], axis=0), g.const("axes0", np.array([0], np.int64))])
    pos_ids = g.op("Slice", [g.const("position_ids", np.arange(cfg["max_position_embeddings"], dtype=np.int64)[None]), g.const("zero1", np.array([0], np.int64)), T, g.const("axes1", np.array([1], np.int64))])
    e = g.op("Add", [g.op("Gather", [g.const("embeddings.word_embeddings.weight", w["embeddings.word_embeddings.weight"]), "input_ids"]), g.op("Gather", [g.const("embeddings.token_type_embeddings.weight", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"])])
    e = g.op("Add", [e, g.op("Gather", [g.const("embeddings.position_embeddings.weight", w["embeddings.position_embeddings.weight"]), pos_ids])])
    x = g.layernorm(e, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], "embeddings.LayerNorm", eps)
    # extended attention mask: (1 - mask[:, None, None, :]) * float32 min
    maskf = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    ext = g.op("Unsqueeze", [g.op("Unsqueeze", ["attention_mask", g.const("axes1", np.array([1], np.int64))]), g.const("axes2", np.array([2], np.int64))])
    ext = g.op("Mul", [g.op("Sub", [g.const("one_f32", np.array(1.0, np.float32)), g.op("Cast", [ext], to=TensorProto.FLOAT)]), g.const("f32_min", np.array(np.finfo(np.float32).min, np.float32))])
    heads4 = g.const("shape_heads", np.array([0, 0, nh, hd], np.int64))
    hidden3 = g.const("shape_hidden", np.array([0, 0, H], np.int64))
    sqrt_hd = g.const("sqrt_head_size", np.array(np.sqrt(hd), np.float32))
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        L = lambda n: (w[p + n + ".weight"], w[p + n + ".bias"], p + n)  # noqa: E731
        q = g.op("Transpose", [g.op("Reshape", [g.linear(x, *L("attention.self.query")), heads4])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [g.linear(x, *L("attention.self.key")), heads4])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [g.linear(x, *L("attention.self.value")), heads4])], perm=[0, 2, 1, 3])
        s = g.op("Add", [g.op("Div", [g.op("MatMul", [q, k]), sqrt_hd]), ext])
        ctx = g.op("MatMul", [g.op("Softmax", [s], axis=-1), v])
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), hidden3])
        a = g.layernorm(g.op("Add", [g.linear(ctx, *L("attention.output.dense")), x]), *L("attention.output.LayerNorm")[:2], p + "attention.output.LayerNorm", eps)
        it = g.linear(a, *L("intermediate.dense"))
        it = g.op("Mul", [g.op("Mul", [it, g.op("Add", [g.op("Erf", [g.op("Div", [it, g.const("sqrt2", np.array(np.sqrt(2.0), np.float32))])]), g.const("one_f32", np.array(1.0, np.float32))])]), g.const("half", np.array(0.5, np.float32))])
        h = g.linear(it, *L("output.dense"))
        lnw, lnb = w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
        if adapter is None:
            x = g.layernorm(g.op("Add", [h, a]), lnw, lnb, p + "output.LayerNorm", eps)
            continue
        # adapters' Adapter at the layer output: residual = h (residual_before_ln), the adapter
        # reads LN(h + a), adds its residual, and the sublayer's LayerNorm runs again on out + a.
        ap = f"{p}output.adapters.{name}."
        r = h
        s_in = g.layernorm(g.op("Add", [h, a]), lnw, lnb, p + "output.LayerNorm", eps)
        down = g.op(adapter["act"], [g.linear(s_in, ad_w[ap + "adapter_down.0.weight"], ad_w[ap + "adapter_down.0.bias"], ap + "adapter_down.0")])
        up = g.linear(down, ad_w[ap + "adapter_up.weight"], ad_w[ap + "adapter_up.bias"], ap + "adapter_up")
        if adapter["scaling"] != 1.0:
            up = g.op("Mul", [up, g.const(ap + "scaling", np.array(adapter["scaling"], np.float32))])
        x = g.layernorm(g.op("Add", [g.op("Add", [up, r]), a]), lnw, lnb, p + "output.LayerNorm", eps)
    return x, maskf


def check_adapter(cfg):
    c = cfg["config"]
    want = {"mh_adapter": False, "output_adapter": True, "original_ln_before": True, "original_ln_after": True, "residual_before_ln": True, "ln_before": False, "ln_after": False, "use_gating": False, "is_parallel": False}
    bad = {k: c.get(k) for k, v in want.items() if c.get(k, v) != v}
    if c.get("adapter_residual_before_ln"):
        bad["adapter_residual_before_ln"] = True
    if bad:
        sys.exit(f"onnx_peer: adapter configuration not supported here: {bad}")
    act = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}.get(c["non_linearity"].lower())
    if act is None:
        sys.exit(f"onnx_peer: adapter non_linearity {c['non_linearity']!r} not supported here")
    if not isinstance(c.get("scaling", 1.0), (int, float)):
        sys.exit(f"onnx_peer: adapter scaling {c.get('scaling')!r} not supported here")
    return {"act": act, "scaling": float(c.get("scaling", 1.0))}


def head_graph(g, x, head_cfg, hw, name):
    hc = head_cfg["config"]
    if hc["head_type"] != "classification" or hc.get("use_pooler") or hc.get("activation_function") != "tanh":
        sys.exit(f"onnx_peer: head {hc} not supported here")
    cls = g.op("Gather", [x, g.const("zero_i64", np.array(0, np.int64))], axis=1)  # [B, H]
    idx, cur = 0, cls
    for layer in range(hc["layers"]):
        idx += 1  # dropout
        p = f"heads.{name}.{idx}"
        cur = g.linear(cur, hw[p + ".weight"], hw[p + ".bias"], p)
        if layer < hc["layers"] - 1:
            cur = g.op("Tanh", [cur])
            idx += 2  # linear, activation
    return cur


def model_proto(g, out, out_name, dims):
    g.nodes.append(helper.make_node("Identity", [out], [out_name], name="output"))
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
    outs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, dims)]
    graph = helper.make_graph(g.nodes, "adapterwasm_bench_peer", ins, outs, list(g.inits.values()))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="adapterwasm bench/onnx_peer.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def cmd_peer(a):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cfg = json.load(open(os.path.join(a.model, "config.json")))
    w = strip(load_file(os.path.join(a.model, "model.safetensors")))
    acfg = json.load(open(os.path.join(a.adapter, "adapter_config.json")))
    hcfg = json.load(open(os.path.join(a.adapter, "head_config.json")))
    aname = acfg["name"]
    ad_w = load_weights(a.adapter, "adapter.safetensors", "pytorch_adapter.bin")
    ad_w = {k[len("bert.") :] if k.startswith("bert.") else k: v.astype(np.float32) for k, v in ad_w.items()}
    hw = {k: v.astype(np.float32) for k, v in load_weights(a.adapter, "model_head.safetensors", "pytorch_model_head.bin").items()}
    os.makedirs(a.out, exist_ok=True)

    g = Graph()
    x, _ = encoder(g, cfg, w, check_adapter(acfg), ad_w, aname)
    peer = model_proto(g, head_graph(g, x, hcfg, hw, aname), "logits", ["batch", hcfg["config"]["num_labels"]])

    g = Graph()
    x, maskf = encoder(g, cfg, w, None, None, None)
    m3 = g.op("Unsqueeze", [maskf, g.const("axes2", np.array([2], np.int64))])
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3]), g.const("axes1", np.array([1], np.int64))], keepdims=0)
    count = g.op("Clip", [g.op("ReduceSum", [maskf, g.const("axes1", np.array([1], np.int64))], keepdims=1), g.const("tiny", np.array(1e-9, np.float32))])
    base = model_proto(g, g.op("Div", [summed, count]), "embeddings", ["batch", cfg["hidden_size"]])

    for stem, m in ((a.name, peer), (a.name + ".base", base)):
        f32 = os.path.join(a.out, stem + ".onnx")
        tmp = f32 + ".tmp"
        onnx.save(m, tmp)
        os.replace(tmp, f32)
        q8 = os.path.join(a.out, stem + ".q8.onnx")
        quantize_dynamic(f32, q8 + ".tmp", weight_type=QuantType.QInt8, per_channel=False, reduce_range=False)
        os.replace(q8 + ".tmp", q8)
        print(f"onnx_peer: {f32} {os.path.getsize(f32) / 1e6:.1f} MB, {q8} {os.path.getsize(q8) / 1e6:.1f} MB", file=sys.stderr)


def cmd_check(a):
    """Compares the f32 peers with the torch reference outputs of testdata/minilm/golden (the
    adapters library's logits, sentence-transformers' embeddings): they are the same model, so
    they agree to float32 rounding; exits non-zero past --tol."""
    import onnxruntime as ort

    worst = 0.0
    for stem, golden, out in ((a.name, "sentiment.json", "logits"), (a.name + ".base", "base.json", "embeddings")):
        d = json.load(open(os.path.join(a.golden, golden)))
        ids, mask = np.array(d["input_ids"], np.int64), np.array(d["attention_mask"], np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        sess = ort.InferenceSession(os.path.join(a.out, stem + ".onnx"), providers=["CPUExecutionProvider"])
        got = sess.run([out], feeds)[0]
        if out == "embeddings":  # sentence-transformers normalizes after the mean
            got = got / np.linalg.norm(got, axis=1, keepdims=True)
        ref = np.array(d[out], np.float32)
        diff = float(np.abs(got - ref).max())
        worst = max(worst, diff)
        print(f"onnx_peer: {stem}.onnx vs torch ({golden}, {len(ids)} sentences): max |Δ{out}| {diff:.2g}", file=sys.stderr)
    if worst > a.tol:
        sys.exit(f"onnx_peer: the torch-free peer differs from the torch reference by {worst:.3g} > {a.tol}")


# ---- a random base of bert-base-uncased's shape ----------------------------------------------------


def cmd_bert_base(a):
    rng = np.random.default_rng(20260)
    H, L, I, V, P = 768, 12, 3072, 30522, 512
    cfg = {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I, "layer_norm_eps": 1e-12, "max_position_embeddings": P, "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": L, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": V}

    def n(*shape):  # BERT's init: normal(0, 0.02)
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    def ln(p, w):
        w[p + ".weight"] = (1 + n(H)).astype(np.float32)
        w[p + ".bias"] = n(H)

    w = {"embeddings.word_embeddings.weight": n(V, H), "embeddings.position_embeddings.weight": n(P, H), "embeddings.token_type_embeddings.weight": n(2, H)}
    ln("embeddings.LayerNorm", w)
    for i in range(L):
        p = f"encoder.layer.{i}."
        for name, o, k in (("attention.self.query", H, H), ("attention.self.key", H, H), ("attention.self.value", H, H), ("attention.output.dense", H, H), ("intermediate.dense", I, H), ("output.dense", H, I)):
            w[p + name + ".weight"], w[p + name + ".bias"] = n(o, k), n(o)
        ln(p + "attention.output.LayerNorm", w)
        ln(p + "output.LayerNorm", w)
    w["pooler.dense.weight"], w["pooler.dense.bias"] = n(H, H), n(H)
    os.makedirs(a.model_out, exist_ok=True)
    save_file(w, os.path.join(a.model_out, "model.safetensors.tmp"))
    os.replace(os.path.join(a.model_out, "model.safetensors.tmp"), os.path.join(a.model_out, "model.safetensors"))
    json.dump(cfg, open(os.path.join(a.model_out, "config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if os.path.exists(os.path.join(a.tokenizer, f)):
            shutil.copy(os.path.join(a.tokenizer, f), os.path.join(a.model_out, f))

    # a seq_bn adapter (Pfeiffer: output adapter, reduction 16, relu) and a 2-layer tanh head
    name, d = "sentiment", H // 16
    src = json.load(open(a.adapter_config))
    acfg = dict(src, hidden_size=H, model_name="bert-base-uncased", name=name)
    hcfg = json.load(open(a.head_config))
    hcfg = dict(hcfg, hidden_size=H, model_name="bert-base-uncased", name=name)
    aw = {}
    for i in range(L):
        p = f"bert.encoder.layer.{i}.output.adapters.{name}."
        aw[p + "adapter_down.0.weight"], aw[p + "adapter_down.0.bias"] = n(d, H), n(d)
        aw[p + "adapter_up.weight"], aw[p + "adapter_up.bias"] = n(H, d), n(H)
    hw = {f"heads.{name}.1.weight": n(H, H), f"heads.{name}.1.bias": n(H), f"heads.{name}.4.weight": (n(2, H) * 10).astype(np.float32), f"heads.{name}.4.bias": n(2)}
    os.makedirs(a.adapter_out, exist_ok=True)
    save_file(aw, os.path.join(a.adapter_out, "adapter.safetensors"))
    save_file(hw, os.path.join(a.adapter_out, "model_head.safetensors"))
    json.dump(acfg, open(os.path.join(a.adapter_out, "adapter_config.json"), "w"), indent=2)
    json.dump(hcfg, open(os.path.join(a.adapter_out, "head_config.json"), "w"), indent=2)
    print(f"onnx_peer: random bert-base-uncased shape in {a.model_out}, adapter + head in {a.adapter_out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("peer")
    p.add_argument("--model", required=True)
    p.add_argument("--adapter", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--golden", required=True, help="testdata/minilm/golden")
    c.add_argument("--name", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--tol", type=float, default=2e-5)
    b = sub.add_parser("bert-base")
    b.add_argument("--tokenizer", required=True, help="a BERT uncased model dir whose tokenizer files are copied")
    b.add_argument("--adapter-config", required=True, help="adapter_config.json of a seq_bn adapter to copy the configuration of")
    b.add_argument("--head-config", required=True)
    b.add_argument("--model-out", required=True)
    b.add_argument("--adapter-out", required=True)
    a = ap.parse_args()
    {"peer": cmd_peer, "check": cmd_check, "bert-base": cmd_bert_base}[a.cmd](a)


if __name__ == "__main__":
    main()
