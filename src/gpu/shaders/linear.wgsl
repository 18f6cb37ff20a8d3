// y[r, o] = act(Σ_k x[r, k] · w[o, k] + b[o]), optionally added to what y holds (a residual).
// Weights are Q8_0 (int8 packed four to a word, one scale per block of 32 along k) or f32 bits,
// chosen by the QUANTIZED override. One invocation per output element.

override QUANTIZED: bool = true;

struct Params {
    rows: u32,
    k: u32,
    n: u32,
    // 1: GELU on the result; 2: accumulate into y.
    flags: u32,
    x_offset: u32,
    y_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// Same constants as the CPU engine (Abramowitz & Stegun 7.1.26), so GELU agrees to rounding.
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.2548296 + t * (-0.28449674 + t * (1.4214137 + t * (-1.4531521 + t * 1.0614054))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

fn dot_q8(xr: u32, o: u32) -> f32 {
    let blocks = p.k / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        let wb = (o * p.k + b * 32u) / 4u;
        let xb = xr + b * 32u;
        var s = 0.0;
        for (var j = 0u; j < 8u; j++) {
            let word = bitcast<i32>(w[wb + j]);
            let xi = xb + j * 4u;
            s += x[xi] * f32(extractBits(word, 0u, 8u))
                + x[xi + 1u] * f32(extractBits(word, 8u, 8u))
                + x[xi + 2u] * f32(extractBits(word, 16u, 8u))
                + x[xi + 3u] * f32(extractBits(word, 24u, 8u));
        }
        acc += s * scales[o * blocks + b];
    }
    return acc;
}

fn dot_f32(xr: u32, o: u32) -> f32 {
    var acc = 0.0;
    for (var i = 0u; i < p.k; i++) {
        acc += x[xr + i] * bitcast<f32>(w[o * p.k + i]);
    }
    return acc;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if idx >= p.rows * p.n {
        return;
    }
    let r = idx / p.n;
    let o = idx % p.n;
    let xr = p.x_offset + r * p.k;
    var v = bias[o];
    if QUANTIZED {
        v += dot_q8(xr, o);
    } else {
        v += dot_f32(xr, o);
    }
    if (p.flags & 1u) != 0u {
        v = 0.5 * v * (1.0 + erf(v * 0.70710678));
    }
    let yi = p.y_offset + idx;
    if (p.flags & 2u) != 0u {
        v += y[yi];
    }
    y[yi] = v;
}
