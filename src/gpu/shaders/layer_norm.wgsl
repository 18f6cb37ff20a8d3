// LayerNorm over rows of d values: y = (x − mean) / sqrt(var + eps) · g + b. One invocation per row.
// Needs row_stats.wgsl.

struct Params {
    rows: u32,
    d: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if r >= p.rows {
        return;
    }
    let base = r * p.d;
    let stats = row_stats(base);
    for (var i = 0u; i < p.d; i++) {
        y[base + i] = (x[base + i] - stats.x) * stats.y * g[i] + b[i];
    }
}
