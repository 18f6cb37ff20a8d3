// Mean and 1 / sqrt(variance + eps) of the `p.d` values of `x` from `base`: the LayerNorm
// statistics, shared by layer_norm.wgsl and head.wgsl (prepended to each; both declare `x` and
// a `p` with `d` and `eps`).
fn row_stats(base: u32) -> vec2<f32> {
    var mean = 0.0;
    for (var i = 0u; i < p.d; i++) {
        mean += x[base + i];
    }
    mean /= f32(p.d);
    var var_ = 0.0;
    for (var i = 0u; i < p.d; i++) {
        let c = x[base + i] - mean;
        var_ += c * c;
    }
    return vec2<f32>(mean, 1.0 / sqrt(var_ / f32(p.d) + p.eps));
}

