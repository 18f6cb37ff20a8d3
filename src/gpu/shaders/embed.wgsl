// Adds lookup-table rows to tokens: y[row, c] += Σ_t tables[base_t + ids[row, t] · d + c].
// All tables live in one buffer; `base` gives each id column's table offset. One invocation per
// value.

struct Params {
    rows: u32,
    d: u32,
    columns: u32,
    y_offset: u32,
    base: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> tables: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if idx >= p.rows * p.d {
        return;
    }
    let row = idx / p.d;
    let c = idx % p.d;
    var s = 0.0;
    for (var t = 0u; t < p.columns; t++) {
        s += tables[p.base[t] + ids[row * p.columns + t] * p.d + c];
    }
    y[p.y_offset + idx] += s;
}
