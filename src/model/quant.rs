//! Q8_0, the quantized format of matmul weights: blocks of 32 values stored as an f16 scale `d`
//! and 32 int8 `q`, value = `d · q`, `d = max|x| / 127` (the GGML definition, so files agree with
//! llama.cpp and candle bit for bit).

use half::f16;

/// Values per block.
pub const BLOCK: usize = 32;
/// Bytes per block: the f16 scale and 32 int8.
pub const BLOCK_BYTES: usize = 34;

/// Quantizes `values` (a multiple of 32 long) to Q8_0 bytes.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    assert!(values.len() % BLOCK == 0, "Q8_0 needs a multiple of 32 values");
    let mut out = Vec::with_capacity(values.len() / BLOCK * BLOCK_BYTES);
    for block in values.chunks_exact(BLOCK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|&x| (x * id).round() as i8 as u8));
    }
    out
}

/// The values of Q8_0 bytes.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / BLOCK_BYTES * BLOCK);
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|&q| q as i8 as f32 * d));
    }
    out
}

/// Splits Q8_0 bytes into per-block f32 scales and the int8 values (the layout the CPU kernels
/// read).
pub fn split_q8_0(bytes: &[u8]) -> (Vec<f32>, Vec<i8>) {
    let n = bytes.len() / BLOCK_BYTES;
    let mut scales = Vec::with_capacity(n);
    let mut qs = Vec::with_capacity(n * BLOCK);
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        scales.push(f16::from_le_bytes([block[0], block[1]]).to_f32());
        qs.extend(block[2..].iter().map(|&q| q as i8));
    }
    (scales, qs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let v: Vec<f32> = (0..64).map(|i| ((i * 37 % 64) as f32 - 31.5) / 7.0).collect();
        let back = dequantize_q8_0(&quantize_q8_0(&v));
        for (block, out) in v.chunks(32).zip(back.chunks(32)) {
            let step = block.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
            for (a, b) in block.iter().zip(out) {
                assert!((a - b).abs() <= step * 0.5 + 1e-3 * step, "{a} vs {b}");
            }
        }
        assert_eq!(dequantize_q8_0(&quantize_q8_0(&[0.0; 32])), vec![0.0; 32]);
        let (scales, qs) = split_q8_0(&quantize_q8_0(&v));
        assert_eq!((scales.len(), qs.len()), (2, 64));
    }
}
