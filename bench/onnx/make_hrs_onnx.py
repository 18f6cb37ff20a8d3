"""The HR-S core as an ONNX graph, for comparing homerank with onnxruntime-web (`npm run bench`).

Builds the HR-S core (docs/ARCHITECTURE.md, "The model") (session tokens [L, 64], candidate tokens [N, 64], server scores
[N] -> scores [N]; N and L dynamic) with the weights of the independent golden fixture
(`../shared/fixtures/hr-s-core`), checks it against that fixture's expected scores under
onnxruntime, then writes an fp32 graph and a dynamically quantized int8 one (MatMulInteger, the
usual way to run a small transformer int8 in onnxruntime-web).

    pip install onnx onnxruntime numpy
    python3 bench/onnx/make_hrs_onnx.py [--fixture ../shared/fixtures/hr-s-core] [--out bench/onnx]
"""

import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

D, HEADS, HEAD_DIM = 64, 4, 16


class Graph:
    def __init__(self, weights):
        self.weights = weights
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, stem, value):
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind, inputs, **attrs):
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def weight(self, name):
        if name not in [i.name for i in self.inits]:
            self.inits.append(numpy_helper.from_array(self.weights[name], name))
        return name

    def linear(self, x, prefix):
        return self.op("Add", [self.op("MatMul", [x, self.weight(prefix + ".w")]), self.weight(prefix + ".b")])

    def layer_norm(self, x, prefix, eps):
        return self.op("LayerNormalization", [x, self.weight(prefix + ".g"), self.weight(prefix + ".b")], axis=-1, epsilon=eps)

    def gelu(self, x):
        # Exact erf GELU, written out so any opset-17 runtime has it.
        scaled = self.op("Mul", [x, self.const("inv_sqrt2", np.float32(1 / np.sqrt(2)))])
        one_plus = self.op("Add", [self.op("Erf", [scaled]), self.const("one", np.float32(1))])
        return self.op("Mul", [self.op("Mul", [x, one_plus]), self.const("half", np.float32(0.5))])

    def heads(self, x):
        shaped = self.op("Reshape", [x, self.const("heads_shape", np.array([-1, HEADS, HEAD_DIM], np.int64))])
        return self.op("Transpose", [shaped], perm=[1, 0, 2])  # [H, T, 16]

    def attention(self, q_in, kv_in, prefix, scale):
        q = self.heads(self.linear(q_in, prefix + ".q"))
        k = self.heads(self.linear(kv_in, prefix + ".k"))
        v = self.heads(self.linear(kv_in, prefix + ".v"))
        kt = self.op("Transpose", [k], perm=[0, 2, 1])
        logits = self.op("Mul", [self.op("MatMul", [q, kt]), self.const("scale", np.float32(scale))])
        mixed = self.op("MatMul", [self.op("Softmax", [logits], axis=-1), v])  # [H, Tq, 16]
        joined = self.op("Transpose", [mixed], perm=[1, 0, 2])
        flat = self.op("Reshape", [joined, self.const("flat_shape", np.array([-1, D], np.int64))])
        return self.linear(flat, prefix + ".o")

    def ffn(self, x, prefix):
        return self.linear(self.gelu(self.linear(x, prefix + ".fc1")), prefix + ".fc2")


def build(weights, meta):
    g = Graph(weights)
    eps, scale = float(meta["ln_eps"]), float(meta["attn_scale"])
    s, c = "session", "cands"
    for l in range(2):
        p = f"sess{l}"
        h = g.layer_norm(s, p + ".ln_attn", eps)
        s = g.op("Add", [s, g.attention(h, h, p + ".attn", scale)])
        s = g.op("Add", [s, g.ffn(g.layer_norm(s, p + ".ln_ffn", eps), p + ".ffn")])
    for l in range(2):
        p = f"cand{l}"
        h = g.layer_norm(c, p + ".ln_self", eps)
        c = g.op("Add", [c, g.attention(h, h, p + ".self", scale)])
        c = g.op("Add", [c, g.attention(g.layer_norm(c, p + ".ln_cross", eps), s, p + ".cross", scale)])
        c = g.op("Add", [c, g.ffn(g.layer_norm(c, p + ".ln_ffn", eps), p + ".ffn")])
    head = g.linear(g.layer_norm(c, "head.ln", eps), "head.out")  # [N, 1]
    head = g.op("Reshape", [head, g.const("n_shape", np.array([-1], np.int64))])
    server = g.op("Mul", ["server_score", g.weight("head.w_server")])
    g.nodes.append(helper.make_node("Add", [head, server], ["scores"]))
    graph = helper.make_graph(
        g.nodes,
        "hr_s_core",
        [
            helper.make_tensor_value_info("session", TensorProto.FLOAT, ["L", D]),
            helper.make_tensor_value_info("cands", TensorProto.FLOAT, ["N", D]),
            helper.make_tensor_value_info("server_score", TensorProto.FLOAT, ["N"]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N"])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="homerank")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def load_weights(fixture):
    meta = json.load(open(os.path.join(fixture, "hr_s_weights.json")))
    raw = open(os.path.join(fixture, "hr_s_weights.bin"), "rb").read()
    weights = {}
    for t in meta["tensors"]:
        values = np.frombuffer(raw, np.float32, t["len"], t["offset_bytes"])
        weights[t["name"]] = values.reshape(t["shape"]).copy()
    weights["head.w_server"] = weights["head.w_server"].reshape([1])
    return weights, meta


def check(path, fixture, key, tolerance):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for case in json.load(open(os.path.join(fixture, "fixture.json")))["cases"]:
        n, l = case["N"], case["L"]
        feeds = {
            "session": np.array(case["session"], np.float32).reshape(l, D),
            "cands": np.array(case["cands"], np.float32).reshape(n, D),
            "server_score": np.array(case["server_score"], np.float32),
        }
        got = session.run(["scores"], feeds)[0]
        worst = max(worst, float(np.abs(got - np.array(case[key])).max()))
    print(f"{os.path.basename(path)}: max |Δ| vs fixture {key} = {worst:.2e}")
    assert worst < tolerance, f"{path} does not reproduce the fixture ({worst} >= {tolerance})"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixture", default=os.path.join(here, "../../../shared/fixtures/hr-s-core"))
    parser.add_argument("--out", default=here)
    args = parser.parse_args()

    weights, meta = load_weights(args.fixture)
    fp32 = os.path.join(args.out, "hr-s-core-fp32.onnx")
    onnx.save(build(weights, meta), fp32)
    check(fp32, args.fixture, "scores_numpy_f64", 1e-4)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = os.path.join(args.out, "hr-s-core-int8.onnx")
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    check(int8, args.fixture, "scores_ort_int8", 0.1)
    for path in (fp32, int8):
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
