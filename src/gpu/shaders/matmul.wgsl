// ---------------------------------------------------------------------------------------------
// Batched matrix product:  C[z, m, n] = alpha * sum_k A[z, m, k] * B[z, n, k]  (+ epilogue)
// with z split into (z1, z2) = (z / z2_count, z % z2_count), each with its own strides, so one
// kernel serves linear layers (z = 1), Q·Kᵀ and P·V per (batch, head).
// Epilogue flags: 1 = add bias[n], 2 = exact GELU, 4 = add residual R[z, m, n] (C's layout).
// ---------------------------------------------------------------------------------------------

struct MatmulParams {
    m: u32, n: u32, k: u32, z2_count: u32,
    a_off: u32, a_z1: u32, a_z2: u32, a_m: u32, a_k: u32,
    b_off: u32, b_z1: u32, b_z2: u32, b_n: u32, b_k: u32,
    c_z1: u32, c_z2: u32, c_m: u32, c_n: u32,
    flags: u32, alpha: f32, _pad0: u32, _pad1: u32,
};

@group(0) @binding(0) var<uniform> mp: MatmulParams;
@group(0) @binding(1) var<storage, read> mm_a: array<f32>;
@group(0) @binding(2) var<storage, read> mm_b: array<f32>;
@group(0) @binding(3) var<storage, read> mm_bias: array<f32>;
@group(0) @binding(4) var<storage, read> mm_res: array<f32>;
@group(0) @binding(5) var<storage, read_write> mm_c: array<f32>;

const TILE: u32 = 16u;
const WORK: u32 = 4u; // outputs per thread along n: a 16 × 64 output tile per workgroup

var<workgroup> tile_a: array<array<f32, 16>, 16>;
var<workgroup> tile_b: array<array<f32, 16>, 64>;

// erf with max abs error ~1e-7 (rational approximation on [-4, 4]).
fn erf_approx(x_in: f32) -> f32 {
    let x = clamp(x_in, -4.0, 4.0);
    let x2 = x * x;
    var p = x2 * -2.7261423e-10 + 2.7706814e-8;
    p = p * x2 - 2.101024e-6;
    p = p * x2 - 5.6925064e-5;
    p = p * x2 - 7.349906e-4;
    p = p * x2 - 2.9546001e-3;
    p = p * x2 - 1.6096033e-2;
    p = p * x;
    var q = x2 * -1.4566072e-5 - 2.1337406e-4;
    q = q * x2 - 1.682827e-3;
    q = q * x2 - 7.373329e-3;
    q = q * x2 - 1.426474e-2;
    return p / q;
}

fn gelu(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752));
}

@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z = wg.z;
    let z1 = z / mp.z2_count;
    let z2 = z % mp.z2_count;
    let row = wg.y * TILE + lid.y;
    let col0 = wg.x * TILE * WORK;
    let a_base = mp.a_off + z1 * mp.a_z1 + z2 * mp.a_z2;
    let b_base = mp.b_off + z1 * mp.b_z1 + z2 * mp.b_z2;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    let k_tiles = (mp.k + TILE - 1u) / TILE;
    for (var t = 0u; t < k_tiles; t = t + 1u) {
        // A tile: 16 rows × 16 k values; thread (x, y) loads A[row, t*16 + x].
        let ka = t * TILE + lid.x;
        var va = 0.0;
        if (row < mp.m && ka < mp.k) {
            va = mm_a[a_base + row * mp.a_m + ka * mp.a_k];
        }
        tile_a[lid.y][lid.x] = va;
        // B tile: 64 n values × 16 k values; thread (x, y) loads 4 of them.
        for (var w = 0u; w < WORK; w = w + 1u) {
            let nn = w * TILE + lid.y;
            let col = col0 + nn;
            var vb = 0.0;
            if (col < mp.n && ka < mp.k) {
                vb = mm_b[b_base + col * mp.b_n + ka * mp.b_k];
            }
            tile_b[nn][lid.x] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE; kk = kk + 1u) {
            let av = tile_a[lid.y][kk];
            for (var w = 0u; w < WORK; w = w + 1u) {
                acc[w] = acc[w] + av * tile_b[w * TILE + lid.x][kk];
            }
        }
        workgroupBarrier();
    }
    if (row >= mp.m) {
        return;
    }
    for (var w = 0u; w < WORK; w = w + 1u) {
        let col = col0 + w * TILE + lid.x;
        if (col < mp.n) {
            var v = acc[w] * mp.alpha;
            if ((mp.flags & 1u) != 0u) {
                v = v + mm_bias[col];
            }
            if ((mp.flags & 2u) != 0u) {
                v = gelu(v);
            }
            let c_idx = z1 * mp.c_z1 + z2 * mp.c_z2 + row * mp.c_m + col * mp.c_n;
            if ((mp.flags & 4u) != 0u) {
                v = v + mm_res[c_idx];
            }
            mm_c[c_idx] = v;
        }
    }
}

