// The scoring head: score[i] = LN(x[i]) · w + b + w_server · server[i]. One invocation per
// candidate. Needs row_stats.wgsl.

struct Params {
    rows: u32,
    d: u32,
    eps: f32,
    out_bias: f32,
    w_server: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> server: array<f32>;
@group(0) @binding(6) var<storage, read_write> score: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if r >= p.rows {
        return;
    }
    let base = r * p.d;
    let stats = row_stats(base);
    var s = 0.0;
    for (var i = 0u; i < p.d; i++) {
        s += ((x[base + i] - stats.x) * stats.y * g[i] + b[i]) * w[i];
    }
    score[r] = s + p.out_bias + p.w_server * server[r];
}
