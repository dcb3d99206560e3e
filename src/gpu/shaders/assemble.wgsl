// ---------------------------------------------------------------------------------------------
// Token assembly: x[b, 0] = cls + pos[0];  x[b, 1 + f·t + c] = patch[b, f·t + c] + pos[1 + f·G + c].
// ---------------------------------------------------------------------------------------------

struct AssembleParams {
    batch: u32, t: u32, grid_t: u32, dim: u32, freq: u32, _p0: u32, _p1: u32, _p2: u32,
};

@group(0) @binding(0) var<uniform> ap: AssembleParams;
@group(0) @binding(1) var<storage, read> as_patch: array<f32>;
@group(0) @binding(2) var<storage, read> as_pos: array<f32>;
@group(0) @binding(3) var<storage, read> as_cls: array<f32>;
@group(0) @binding(4) var<storage, read_write> as_x: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn assemble(@builtin(global_invocation_id) gid: vec3<u32>) {
    let seq = 1u + ap.freq * ap.t;
    let total = ap.batch * seq * ap.dim;
    let idx = gid.x + gid.y * 65535u * 256u;
    if (idx >= total) {
        return;
    }
    let d = idx % ap.dim;
    let s = (idx / ap.dim) % seq;
    let b = idx / (ap.dim * seq);
    if (s == 0u) {
        as_x[idx] = as_cls[d] + as_pos[d];
        return;
    }
    let p = s - 1u;
    let f = p / ap.t;
    let c = p % ap.t;
    let pos_row = 1u + f * ap.grid_t + c;
    as_x[idx] = as_patch[(b * ap.freq * ap.t + p) * ap.dim + d] + as_pos[pos_row * ap.dim + d];
}
