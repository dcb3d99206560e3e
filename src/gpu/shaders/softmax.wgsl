// ---------------------------------------------------------------------------------------------
// In-place softmax over each row of `cols` values. One workgroup of 256 threads per row.
// ---------------------------------------------------------------------------------------------

struct RowParams {
    rows: u32, cols: u32, eps: f32, _pad: u32,
};

@group(0) @binding(0) var<uniform> sp: RowParams;
@group(0) @binding(1) var<storage, read_write> sm_x: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn softmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let row = wg.x + wg.y * 65535u;
    let lid = lid3.x;
    let valid = row < sp.rows;
    let base = row * sp.cols;
    var m = -3.4e38;
    if (valid) {
        for (var i = lid; i < sp.cols; i = i + 256u) {
            m = max(m, sm_x[base + i]);
        }
    }
    let row_max = reduce_max(lid, m);
    var s = 0.0;
    if (valid) {
        for (var i = lid; i < sp.cols; i = i + 256u) {
            let e = exp(sm_x[base + i] - row_max);
            sm_x[base + i] = e;
            s = s + e;
        }
    }
    let total = reduce_sum(lid, s);
    if (valid) {
        for (var i = lid; i < sp.cols; i = i + 256u) {
            sm_x[base + i] = sm_x[base + i] / total;
        }
    }
}

