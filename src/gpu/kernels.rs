//! Compiled compute pipelines and their uniform parameter blocks.

use super::context::GpuContext;

/// Parameters of the batched matrix product (`shaders/matmul.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub z2_count: u32,
    pub a_off: u32,
    pub a_z1: u32,
    pub a_z2: u32,
    pub a_m: u32,
    pub a_k: u32,
    pub b_off: u32,
    pub b_z1: u32,
    pub b_z2: u32,
    pub b_n: u32,
    pub b_k: u32,
    pub c_z1: u32,
    pub c_z2: u32,
    pub c_m: u32,
    pub c_n: u32,
    pub flags: u32,
    pub alpha: f32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// Parameters of the row kernels (LayerNorm, softmax).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RowParams {
    rows: u32,
    cols: u32,
    eps: f32,
    _pad: u32,
}

impl RowParams {
    /// `rows` rows of `cols` values; `eps` for LayerNorm.
    pub fn new(rows: usize, cols: usize, eps: f32) -> Self {
        RowParams {
            rows: rows as u32,
            cols: cols as u32,
            eps,
            _pad: 0,
        }
    }
}

/// Parameters of the token assembly kernel.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AssembleParams {
    batch: u32,
    t: u32,
    grid_t: u32,
    dim: u32,
    freq: u32,
    _pad: [u32; 3],
}

impl AssembleParams {
    /// `batch` chunks of `t` columns (position grid `grid_t` wide), `dim` features, `freq` rows.
    pub fn new(batch: usize, t: usize, grid_t: usize, dim: usize, freq: usize) -> Self {
        AssembleParams {
            batch: batch as u32,
            t: t as u32,
            grid_t: grid_t as u32,
            dim: dim as u32,
            freq: freq as u32,
            _pad: [0; 3],
        }
    }
}

/// The four pipelines of the encoder.
pub struct Kernels {
    matmul: wgpu::ComputePipeline,
    layer_norm: wgpu::ComputePipeline,
    softmax: wgpu::ComputePipeline,
    assemble: wgpu::ComputePipeline,
}

const REDUCE: &str = include_str!("shaders/reduce.wgsl");

fn pipeline(device: &wgpu::Device, name: &str, source: &str) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: None,
        module: &module,
        entry_point: Some(name),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Splits a workgroup count over x and y (each at most 65,535).
fn split_groups(count: u32) -> (u32, u32) {
    if count <= 65_535 {
        (count.max(1), 1)
    } else {
        (65_535, count.div_ceil(65_535))
    }
}

impl Kernels {
    /// Compiles the shaders.
    pub fn new(device: &wgpu::Device) -> Self {
        Kernels {
            matmul: pipeline(device, "matmul", include_str!("shaders/matmul.wgsl")),
            layer_norm: pipeline(
                device,
                "layer_norm",
                &format!("{REDUCE}\n{}", include_str!("shaders/layer_norm.wgsl")),
            ),
            softmax: pipeline(
                device,
                "softmax",
                &format!("{REDUCE}\n{}", include_str!("shaders/softmax.wgsl")),
            ),
            assemble: pipeline(device, "assemble", include_str!("shaders/assemble.wgsl")),
        }
    }

    fn dispatch<T: bytemuck::Pod>(
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        params: &T,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
    ) {
        let uniform = ctx.uniform(params);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }

    /// Records a batched product over `batches` (z) of `[a, b, bias, residual, c]`.
    pub fn matmul(
        &self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        p: &MatmulParams,
        buffers: [&wgpu::Buffer; 5],
        batches: u32,
    ) {
        let groups = (
            p.n.div_ceil(64).max(1),
            p.m.div_ceil(16).max(1),
            batches.max(1),
        );
        Self::dispatch(ctx, enc, &self.matmul, p, &buffers, groups);
    }

    /// Records a LayerNorm of `[x, gamma, beta, y]`.
    pub fn layer_norm(
        &self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        p: &RowParams,
        buffers: [&wgpu::Buffer; 4],
    ) {
        let (x, y) = split_groups(p.rows);
        Self::dispatch(ctx, enc, &self.layer_norm, p, &buffers, (x, y, 1));
    }

    /// Records an in-place row softmax.
    pub fn softmax(
        &self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        p: &RowParams,
        x: &wgpu::Buffer,
    ) {
        let (gx, gy) = split_groups(p.rows);
        Self::dispatch(ctx, enc, &self.softmax, p, &[x], (gx, gy, 1));
    }

    /// Records the CLS/position assembly of `[patch tokens, pos, cls, x]`.
    pub fn assemble(
        &self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        p: &AssembleParams,
        buffers: [&wgpu::Buffer; 4],
    ) {
        let total = p.batch * (1 + p.freq * p.t) * p.dim;
        let (x, y) = split_groups(total.div_ceil(256));
        Self::dispatch(ctx, enc, &self.assemble, p, &buffers, (x, y, 1));
    }
}
