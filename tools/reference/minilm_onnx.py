"""The ONNX peer for benchmarks: MiniLM + the sentiment seq_bn adapter + head, f32 and int8.

Exported with the TorchScript exporter (torch.onnx.export, dynamo=False, opset 17), inputs
input_ids / attention_mask / token_type_ids (int64, [batch, sequence]), output logits
([batch, 2]); then dynamically quantized with onnxruntime.quantization.quantize_dynamic
(QInt8 weights, per-tensor, as Transformers.js' q8 files are). Written to .cache/onnx/, never
committed: it is ~90 MB (f32) / ~23 MB (int8) and is rebuilt from the committed adapter.
"""

import json
import os

import numpy as np
import torch


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits


def export(mdir, tok, model, root, sentences, max_length):
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = os.path.join(root, ".cache", "onnx")
    os.makedirs(out, exist_ok=True)
    f32_path = os.path.join(out, "minilm-sentiment.onnx")
    q8_path = os.path.join(out, "minilm-sentiment.q8.onnx")
    model.eval()
    wrapped = _Logits(model).eval()
    sample = tok(sentences[:2], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    dyn = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    dyn["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            args,
            f32_path,
            dynamo=False,
            opset_version=17,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes=dyn,
            do_constant_folding=True,
        )
    quantize_dynamic(f32_path, q8_path, weight_type=QuantType.QInt8, per_channel=False, reduce_range=False)

    enc = tok(sentences, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        ref = wrapped(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).numpy()
    feeds = {k: enc[k].numpy().astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    result = {"opset": 17, "files": {}}
    for tag, path in (("f32", f32_path), ("int8", q8_path)):
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = sess.run(["logits"], feeds)[0]
        diff = float(np.abs(got - ref).max())
        agree = float((got.argmax(-1) == ref.argmax(-1)).mean())
        # a different batch shape too, to prove the axes are dynamic
        one = {k: v[:1, : int(feeds["attention_mask"][0].sum())] for k, v in feeds.items()}
        d1 = float(np.abs(sess.run(["logits"], one)[0] - ref[:1]).max())
        # the held-out sentiment set (written earlier in the same run): does the label survive?
        held_agree = None
        hp = os.path.join(root, "testdata", "minilm", "heldout", "sentiment.jsonl")
        if os.path.exists(hp):
            with open(hp, encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh]
            labels = ["negative", "positive"]
            same = 0
            for s in range(0, len(rows), 32):
                part = rows[s : s + 32]
                e = tok([r["text"] for r in part], padding=True, truncation=True, max_length=max_length, return_tensors="np")
                lg = sess.run(["logits"], {k: e[k].astype(np.int64) for k in feeds})[0]
                same += sum(labels[int(i)] == r["ref_label"] for i, r in zip(lg.argmax(-1), part))
            held_agree = {"n": len(rows), "same_label_as_torch": same}
        result["files"][tag] = {
            "path": os.path.relpath(path, root),
            "bytes": os.path.getsize(path),
            "max_abs_diff_vs_torch": diff,
            "max_abs_diff_batch1_unpadded": d1,
            "argmax_agreement": agree,
            "max_abs_torch_logit": float(np.abs(ref).max()),
            "heldout_sentiment": held_agree,
        }
        print(f"onnx {tag}: {os.path.getsize(path) / 1e6:.1f} MB, max|logits - torch| = {diff:.3g} (batch 1: {d1:.3g}), argmax agreement {agree:.2f}, held-out {held_agree}")
    return result
