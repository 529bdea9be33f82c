"""Write the weight-file fixtures for runtime/weights into testdata/weights/.

Run with the pinned reference venv (tools/reference/requirements.txt):

    tools/reference/.venv/bin/python tools/reference/make_weights.py

Every file is written by the real libraries (torch.save, safetensors.torch); expected.json
records, for each tensor, what runtime/weights must read back: dtype, shape, the row-major
little-endian bytes (hex) and, for float dtypes, torch's .float() of them (float32 bytes, hex).
Never edit the outputs by hand; rerun this script.

Files:
  state_dict.bin          torch.save of a real nn.Module state_dict (OrderedDict with _metadata)
                          plus f16/bf16/f64/i64/i32/i16/i8/u8/bool tensors, a Parameter, a scalar,
                          an empty tensor, a slice sharing its storage with another entry and a
                          transposed (non-contiguous) view; default pickle protocol 2.
  state_dict_p4.bin       the same state dict saved with pickle_protocol=4 (SHORT_BINUNICODE,
                          STACK_GLOBAL, MEMOIZE, FRAME).
  plain_dict.bin          a plain dict of two tensors (how some adapters save).
  state_dict.safetensors  safetensors.torch.save_file of the same tensors (contiguous copies),
                          with __metadata__ {"format": "pt"}.
  legacy.bin              torch.save(_use_new_zipfile_serialization=False): must be refused.
  evil_os_system.bin      torch.save of an object whose __reduce__ is os.system: must be refused
                          without running anything.
  evil_eval_p4.bin        the same idea with builtins.eval under pickle protocol 4 (STACK_GLOBAL).
"""

import collections
import json
import os
import sys

import safetensors
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata", "weights")

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


class Evil:
    """Pickles as a call of fn(arg); loading it with torch.load(weights_only=False) would run it."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def build_state_dict():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    sd = model.state_dict()  # OrderedDict with _metadata
    assert hasattr(sd, "_metadata")
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5
    sd["extra.f32_base"] = base
    sd["extra.f32_row_view"] = base[1]  # shares base's storage, storage_offset 4
    sd["extra.f32_transposed"] = base.t()  # non-contiguous view of the same storage
    sd["extra.f32_strided"] = base[:, ::2]  # non-contiguous, step 2
    sd["extra.f16"] = torch.tensor([[1.0, -2.5, 65504.0], [6.1e-5, 5.96e-8, 0.1]], dtype=torch.float16)
    sd["extra.bf16"] = torch.tensor([1.0, -3.140625, 1e30, 1e-30], dtype=torch.bfloat16)
    sd["extra.f64"] = torch.tensor([0.1, -1e300, 3.0], dtype=torch.float64)
    sd["extra.i64"] = torch.tensor([0, -1, 2**40, -(2**62)], dtype=torch.int64)
    sd["extra.i32"] = torch.tensor([7, -7], dtype=torch.int32)
    sd["extra.i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["extra.i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["extra.u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["extra.bool"] = torch.tensor([True, False, True])
    sd["extra.scalar"] = torch.tensor(2.5)
    sd["extra.empty"] = torch.zeros(0, 3)
    sd["extra.param"] = torch.nn.Parameter(torch.tensor([0.25, 0.5]))
    return sd


def expected(sd):
    out = collections.OrderedDict()
    for k, t in sd.items():
        t = t.detach().contiguous()
        e = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
             "hex": t.view(torch.uint8).numpy().tobytes().hex() if t.dim() else t.reshape(1).view(torch.uint8).numpy().tobytes().hex()}
        if t.is_floating_point():
            # float32 values as little-endian bytes: exact, and JSON has no inf/NaN.
            e["f32_hex"] = t.float().reshape(-1).numpy().tobytes().hex()
        out[k] = e
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = build_state_dict()
    # Check the views really are views, so the fixture tests what it claims to.
    assert sd["extra.f32_row_view"].untyped_storage().data_ptr() == sd["extra.f32_base"].untyped_storage().data_ptr()
    assert sd["extra.f32_row_view"].storage_offset() == 4
    assert not sd["extra.f32_transposed"].is_contiguous()
    assert not sd["extra.f32_strided"].is_contiguous()

    torch.save(sd, os.path.join(OUT, "state_dict.bin"))
    torch.save(sd, os.path.join(OUT, "state_dict_p4.bin"), pickle_protocol=4)
    torch.save({"adapter.weight": torch.ones(2, 2), "adapter.bias": torch.zeros(2)}, os.path.join(OUT, "plain_dict.bin"))
    contiguous = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    safetensors.torch.save_file(contiguous, os.path.join(OUT, "state_dict.safetensors"), metadata={"format": "pt"})
    torch.save({"w": torch.ones(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save(Evil(os.system, "echo pwned > /tmp/adapterwasm-pwned"), os.path.join(OUT, "evil_os_system.bin"))
    torch.save(Evil(eval, "print('pwned')"), os.path.join(OUT, "evil_eval_p4.bin"), pickle_protocol=4)

    # The reference reads back what we claim.
    loaded = torch.load(os.path.join(OUT, "state_dict.bin"), weights_only=True)
    for k in sd:
        assert torch.equal(loaded[k], sd[k].detach()), k
    st = safetensors.torch.load_file(os.path.join(OUT, "state_dict.safetensors"))
    for k in sd:
        assert torch.equal(st[k], sd[k].detach()), k

    exp = {
        "generator": {"torch": torch.__version__, "safetensors": safetensors.__version__,
                      "python": sys.version.split()[0]},
        "order": list(sd.keys()),
        "tensors": expected(sd),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
