// Multi-head scaled dot-product attention: out[i, h] = softmax_j(q[i, h] · k[j, h] · scale) v[j, h].
// One invocation per (query, head), one pass over the keys with a running max (online softmax),
// so no score matrix is stored. Head width at most MAX_HEAD_DIM.

const MAX_HEAD_DIM: u32 = 64u;

struct Params {
    queries: u32,
    keys: u32,
    d: u32,
    heads: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if idx >= p.queries * p.heads {
        return;
    }
    let i = idx / p.heads;
    let h = idx % p.heads;
    let hd = p.d / p.heads;
    let qb = i * p.d + h * hd;
    var qh: array<f32, MAX_HEAD_DIM>;
    var acc: array<f32, MAX_HEAD_DIM>;
    for (var c = 0u; c < hd; c++) {
        qh[c] = q[qb + c] * p.scale;
        acc[c] = 0.0;
    }
    var m = -3.0e38;
    var total = 0.0;
    for (var j = 0u; j < p.keys; j++) {
        let kb = j * p.d + h * hd;
        var s = 0.0;
        for (var c = 0u; c < hd; c++) {
            s += qh[c] * k[kb + c];
        }
        if s > m {
            let shrink = exp(m - s);
            total *= shrink;
            for (var c = 0u; c < hd; c++) {
                acc[c] *= shrink;
            }
            m = s;
        }
        let e = exp(s - m);
        total += e;
        for (var c = 0u; c < hd; c++) {
            acc[c] += e * v[kb + c];
        }
    }
    let inv = 1.0 / total;
    for (var c = 0u; c < hd; c++) {
        out[qb + c] = acc[c] * inv;
    }
}
