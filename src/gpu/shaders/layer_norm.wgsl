// ---------------------------------------------------------------------------------------------
// Row-wise LayerNorm: y = (x − mean) / sqrt(var + eps) · gamma + beta over `cols` values.
// One workgroup of 256 threads per row.
// ---------------------------------------------------------------------------------------------

struct RowParams {
    rows: u32, cols: u32, eps: f32, _pad: u32,
};

@group(0) @binding(0) var<uniform> rp: RowParams;
@group(0) @binding(1) var<storage, read> ln_x: array<f32>;
@group(0) @binding(2) var<storage, read> ln_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> ln_beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> ln_y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn layer_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let row = wg.x + wg.y * 65535u;
    let lid = lid3.x;
    // The whole workgroup takes the same path: `row` is uniform, and the barriers stay uniform.
    let valid = row < rp.rows;
    let base = row * rp.cols;
    var s = 0.0;
    if (valid) {
        for (var i = lid; i < rp.cols; i = i + 256u) {
            s = s + ln_x[base + i];
        }
    }
    let mean = reduce_sum(lid, s) / f32(rp.cols);
    var v = 0.0;
    if (valid) {
        for (var i = lid; i < rp.cols; i = i + 256u) {
            let d = ln_x[base + i] - mean;
            v = v + d * d;
        }
    }
    let variance = reduce_sum(lid, v) / f32(rp.cols);
    let inv = 1.0 / sqrt(variance + rp.eps);
    if (valid) {
        for (var i = lid; i < rp.cols; i = i + 256u) {
            ln_y[base + i] = (ln_x[base + i] - mean) * inv * ln_gamma[i] + ln_beta[i];
        }
    }
}

