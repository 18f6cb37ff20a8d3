//! Truncated SVD of a sparse matrix by randomized subspace iteration (Halko, Martinsson & Tropp,
//! "Finding structure with randomness", SIAM Review 2011, algorithms 4.4 and 5.1), and the
//! learned item embeddings built with it (SVD of the positive-PMI co-occurrence matrix, as in
//! Levy & Goldberg 2014).
//!
//! The steps, all in f64 and in a fixed order (the same input and seed give bit-identical
//! output):
//!
//! 1. `l = min(rank + OVERSAMPLE, rows, cols)`; Ω (cols × l) has standard normal entries drawn
//!    row by row from [`Rng::new`]`(seed)`.
//! 2. Q = orth(M Ω); then `power_iters` times: Q' = orth(Mᵀ Q), Q = orth(M Q'). `orth` is
//!    Gram-Schmidt with re-orthogonalization: block classical Gram-Schmidt, twice, between
//!    panels of 16 columns, modified Gram-Schmidt, twice, inside a panel (BCGS2, Barlow &
//!    Smoktunowicz 2013); a column left with less than 1e-12 of its norm after both passes is
//!    dependent on the previous ones and becomes zero.
//! 3. W = Mᵀ Q (cols × l), so B = Qᵀ M = Wᵀ; the Gram matrix B Bᵀ = Wᵀ W (l × l) is
//!    diagonalized by cyclic Jacobi rotations: B Bᵀ = Ũ Λ Ũᵀ, σ = √λ, U = Q Ũ.
//! 4. The `rank` largest singular values are kept, in decreasing order (ties: the lower index of
//!    the Jacobi output first), and each column of U is given the sign that makes its largest
//!    entry (in absolute value; the first one on ties) positive.
//!
//! Squaring B costs relative accuracy only for singular values far below the largest
//! (σᵢ's error is about ε·σ₁²/σᵢ), which does not matter here.

use crate::rng::Rng;

/// Extra columns of the random test matrix beyond the rank asked for.
pub const OVERSAMPLE: usize = 16;
/// Power (subspace) iterations of [`truncated_svd`].
pub const POWER_ITERS: usize = 3;

/// A sparse matrix in compressed rows (CSR): row `i` holds `cols[offsets[i]..offsets[i + 1]]`
/// (increasing) with values `vals[..]` at the same positions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRows {
    /// Rows of the matrix.
    pub n_rows: usize,
    /// Columns of the matrix; every entry of `cols` is below it.
    pub n_cols: usize,
    /// `n_rows + 1` increasing offsets into `cols` and `vals`, from 0 to `nnz`.
    pub offsets: Vec<usize>,
    /// Column index of each stored entry, increasing within a row.
    pub cols: Vec<u32>,
    /// Value of each stored entry.
    pub vals: Vec<f64>,
}

impl SparseRows {
    /// The non-zero entries of a dense row-major `n_rows × n_cols` matrix.
    pub fn from_dense(n_rows: usize, n_cols: usize, dense: &[f64]) -> Self {
        assert_eq!(dense.len(), n_rows * n_cols, "dense matrix size");
        let mut m = SparseRows { n_rows, n_cols, offsets: vec![0], ..Default::default() };
        for row in dense.chunks_exact(n_cols.max(1)).take(n_rows) {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    m.cols.push(j as u32);
                    m.vals.push(v);
                }
            }
            m.offsets.push(m.cols.len());
        }
        m.offsets.resize(n_rows + 1, m.cols.len());
        m
    }

    /// Row `i`: its column indices and values.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }

    /// Number of stored (non-zero) entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// M · X, X row-major `n_cols × l`; the result is row-major `n_rows × l`.
    fn mul_dense(&self, x: &[f64], l: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.n_rows * l];
        for (i, o) in out.chunks_exact_mut(l).enumerate() {
            let (cols, vals) = self.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let xr = &x[j as usize * l..(j as usize + 1) * l];
                o.iter_mut().zip(xr).for_each(|(o, x)| *o += v * x);
            }
        }
        out
    }

    /// Mᵀ · Y, Y row-major `n_rows × l`; the result is row-major `n_cols × l`.
    fn tmul_dense(&self, y: &[f64], l: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.n_cols * l];
        for (i, yr) in y.chunks_exact(l).enumerate().take(self.n_rows) {
            let (cols, vals) = self.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let o = &mut out[j as usize * l..(j as usize + 1) * l];
                o.iter_mut().zip(yr).for_each(|(o, y)| *o += v * y);
            }
        }
        out
    }
}

/// The `rank` leading left singular vectors (row-major `n_rows × rank`) and singular values
/// (decreasing) of `m`, with [`OVERSAMPLE`] and [`POWER_ITERS`]. When `rank` exceeds
/// `min(n_rows, n_cols)` the extra columns and values are zero; columns beyond the matrix's
/// numerical rank have singular value ~0 and may be zero vectors.
pub fn truncated_svd(m: &SparseRows, rank: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    truncated_svd_with(m, rank, POWER_ITERS, seed)
}

/// [`truncated_svd`] with `power_iters` subspace iterations.
pub fn truncated_svd_with(m: &SparseRows, rank: usize, power_iters: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let (rows, cols) = (m.n_rows, m.n_cols);
    let l = (rank + OVERSAMPLE).min(rows).min(cols);
    let mut u = vec![0.0; rows * rank];
    let mut s = vec![0.0; rank];
    if l == 0 || rank == 0 {
        return (u, s);
    }
    let mut rng = Rng::new(seed);
    let omega: Vec<f64> = (0..cols * l).map(|_| rng.normal()).collect();
    let mut q = orthonormalize(m.mul_dense(&omega, l), rows, l);
    for _ in 0..power_iters {
        let z = orthonormalize(m.tmul_dense(&q, l), cols, l);
        q = orthonormalize(m.mul_dense(&z, l), rows, l);
    }
    // B Bᵀ = Wᵀ W with W = Mᵀ Q.
    let w = m.tmul_dense(&q, l);
    let mut gram = vec![0.0; l * l];
    for wr in w.chunks_exact(l) {
        for (a, &wa) in wr.iter().enumerate() {
            gram[a * l..(a + 1) * l].iter_mut().zip(wr).for_each(|(g, &wb)| *g += wa * wb);
        }
    }
    let (lambda, vecs) = jacobi_eigen(gram, l);
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &b| lambda[b].total_cmp(&lambda[a]).then(a.cmp(&b)));
    let kept = rank.min(l);
    // Ũ's kept columns, row-major l × kept, in decreasing order of λ.
    let mut sel = vec![0.0; l * kept];
    for (c, &e) in order.iter().take(kept).enumerate() {
        s[c] = lambda[e].max(0.0).sqrt();
        for k in 0..l {
            sel[k * kept + c] = vecs[k * l + e];
        }
    }
    // U = Q Ũ, row by row.
    for (ur, qr) in u.chunks_exact_mut(rank).zip(q.chunks_exact(l)) {
        let ur = &mut ur[..kept];
        for (sr, &x) in sel.chunks_exact(kept).zip(qr) {
            ur.iter_mut().zip(sr).for_each(|(u, &s)| *u += x * s);
        }
    }
    // Signs: each column's largest entry (the first on ties) positive.
    for c in 0..kept {
        let mut big = 0.0f64;
        for ur in u.chunks_exact(rank) {
            if ur[c].abs() > big.abs() {
                big = ur[c];
            }
        }
        if big < 0.0 {
            u.chunks_exact_mut(rank).for_each(|ur| ur[c] = -ur[c]);
        }
    }
    (u, s)
}

/// Columns per panel of [`orthonormalize`].
const PANEL: usize = 16;

/// An orthonormal basis of the columns of `y` (row-major `n × l`), same shape: block classical
/// Gram-Schmidt with re-orthogonalization (BCGS2) over panels of [`PANEL`] columns, modified
/// Gram-Schmidt with a second pass inside each panel; a column keeping less than 1e-12 of its
/// norm is dependent on the previous ones and becomes zero.
fn orthonormalize(mut y: Vec<f64>, n: usize, l: usize) -> Vec<f64> {
    let mut panel = Vec::new();
    let mut k0 = 0;
    while k0 < l {
        let k1 = (k0 + PANEL).min(l);
        let b = k1 - k0;
        let mut norm0 = vec![0.0; b];
        for row in y.chunks_exact(l) {
            norm0.iter_mut().zip(&row[k0..k1]).for_each(|(s, &v)| *s += v * v);
        }
        // Twice: P -= Q (Qᵀ P), Q the finished columns 0..k0, P the panel.
        for _pass in 0..if k0 > 0 { 2 } else { 0 } {
            let mut c = vec![0.0; k0 * b];
            for row in y.chunks_exact(l) {
                let (q, p) = (&row[..k0], &row[k0..k1]);
                for (cr, &qa) in c.chunks_exact_mut(b).zip(q) {
                    cr.iter_mut().zip(p).for_each(|(c, &p)| *c += qa * p);
                }
            }
            for row in y.chunks_exact_mut(l) {
                let (q, p) = row.split_at_mut(k0);
                let p = &mut p[..b];
                for (cr, &qa) in c.chunks_exact(b).zip(q.iter()) {
                    p.iter_mut().zip(cr).for_each(|(p, &c)| *p -= qa * c);
                }
            }
        }
        // The panel column-major, each column contiguous, for MGS2.
        panel.clear();
        panel.resize(n * b, 0.0);
        for (i, row) in y.chunks_exact(l).enumerate() {
            for (k, &v) in row[k0..k1].iter().enumerate() {
                panel[k * n + i] = v;
            }
        }
        for k in 0..b {
            let (done, rest) = panel.split_at_mut(k * n);
            let v = &mut rest[..n];
            for _pass in 0..2 {
                for qj in done.chunks_exact(n) {
                    let d = dot(qj, v);
                    v.iter_mut().zip(qj).for_each(|(v, &q)| *v -= d * q);
                }
            }
            let norm = dot(v, v).sqrt();
            let norm0 = norm0[k].sqrt();
            if norm0 == 0.0 || norm <= 1e-12 * norm0 {
                v.iter_mut().for_each(|x| *x = 0.0);
            } else {
                v.iter_mut().for_each(|x| *x /= norm);
            }
        }
        for (i, row) in y.chunks_exact_mut(l).enumerate() {
            for (k, v) in row[k0..k1].iter_mut().enumerate() {
                *v = panel[k * n + i];
            }
        }
        k0 = k1;
    }
    y
}

/// Dot product with four interleaved partial sums (a fixed order, so deterministic).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Eigenvalues and eigenvectors (columns of the row-major `n × n` result) of a symmetric matrix
/// by cyclic Jacobi rotations.
pub(crate) fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                // The smaller root of t² + 2θt − 1 = 0 (|t| ≤ 1; t = 1 for θ = 0).
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let cs = 1.0 / (t * t + 1.0).sqrt();
                let sn = t * cs;
                // A ← Jᵀ A J on rows/columns p and q.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = cs * akp - sn * akq;
                    a[k * n + q] = sn * akp + cs * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = cs * apk - sn * aqk;
                    a[q * n + k] = sn * apk + cs * aqk;
                }
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = cs * vkp - sn * vkq;
                    v[k * n + q] = sn * vkp + cs * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Learned item embeddings: the rows of U·√S of the truncated SVD (rank `dim`, [`truncated_svd`]
/// with `seed`) of the positive-PMI co-occurrence matrix ([`CoOccurrence::ppmi`]), each scaled
/// to unit L2 norm (rows that are zero stay zero); f32, row-major `n_items × dim`.
///
/// [`CoOccurrence::ppmi`]: super::cooccur::CoOccurrence::ppmi
pub fn ppmi_embeddings(co: &super::cooccur::CoOccurrence, dim: usize, seed: u64) -> Vec<f32> {
    if dim == 0 {
        return Vec::new();
    }
    let (u, s) = truncated_svd(&co.ppmi(), dim, seed);
    let scale: Vec<f64> = s.iter().map(|v| v.sqrt()).collect();
    let mut out = Vec::with_capacity(co.n_items() * dim);
    for row in u.chunks_exact(dim) {
        let e: Vec<f64> = row.iter().zip(&scale).map(|(u, s)| u * s).collect();
        let norm = e.iter().map(|x| x * x).sum::<f64>().sqrt();
        out.extend(e.iter().map(|&x| if norm > 0.0 { (x / norm) as f32 } else { 0.0 }));
    }
    out
}
