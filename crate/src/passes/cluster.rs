//! Weight clustering, one-shot on the file: each weight tensor (or each of
//! its output channels) is replaced by at most k distinct values found by
//! 1-D k-means (sorted values and prefix sums, `kernels::kmeans`).
//! Options: centroid init (kmeans++ / linear / density / random),
//! sparsity preservation (zeros stay exactly zero, in a cluster of their
//! own not counted in k) and data-aware weighting of the k-means by each
//! weight's importance, the mean square of the input it multiplies
//! (diagonal of the layer input's second moment on calibration data).
//!
//! Layers: constant weights of CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV,
//! BATCH_MATMUL, and DEPTHWISE_CONV_2D when asked (TFMOT leaves it out:
//! accuracy loss). Float16 weights get float16 centroids; int8 weights are
//! clustered on their real values and stored back as codes of their own
//! scales (at most k codes per channel).

use crate::passes::quantize::weights::channel_layout;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels::kmeans::{entropy_refine, kmeans_pinned, kmeans_sorted, Init};
use crate::passes::prune::{collect_moments, densify_weights, find_targets, read_weights, write_weights, Moments, Target};
use crate::passes::quantize::glob;
use crate::passes::Context;
use crate::ir::Model;

/// Centroid initialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ClusterInit {
    /// k-means++ seeding (deterministic for a seed).
    #[default]
    #[serde(rename = "kmeans++")]
    KMeansPlusPlus,
    /// Evenly spaced between the minimum and maximum weight.
    #[serde(rename = "linear")]
    Linear,
    /// At quantiles of the weight distribution.
    #[serde(rename = "density")]
    Density,
    /// Uniformly random between the minimum and maximum (seeded).
    #[serde(rename = "random")]
    Random,
}

impl ClusterInit {
    fn kernel(self) -> Init {
        match self {
            ClusterInit::KMeansPlusPlus => Init::KMeansPlusPlus,
            ClusterInit::Linear => Init::Linear,
            ClusterInit::Density => Init::Density,
            ClusterInit::Random => Init::Random,
        }
    }
}

/// Clustering settings of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Number of clusters per tensor (or per channel), 2..=1024.
    #[serde(deserialize_with = "clusters_field")]
    pub clusters: usize,
    /// k clusters for each output channel instead of for the whole tensor.
    #[serde(default)]
    pub per_channel: bool,
    /// One codebook of k values per tensor, scaled per output channel by the
    /// channel's largest |w| (values are `scale[c] * code[j]`, with codes on
    /// the int8 grid and ±1 among them). Per-channel int8 quantization then
    /// stores at most k distinct int8 codes in the whole tensor, which
    /// compresses much better than k float values per tensor whose codes
    /// differ from channel to channel.
    #[serde(default)]
    pub scaled: bool,
    /// Entropy-constrained clustering: 0 (default) is plain k-means; above
    /// 0 each weight's cost is its squared error (relative to the k-means
    /// mean error) plus this many times the bits of its cluster's code
    /// (-log2 of the cluster's share), so clusters become fewer and more
    /// unequal: a smaller compressed file for a little more error (0.1-1).
    /// With preserveSparsity, weights may join the zero cluster.
    #[serde(default)]
    pub entropy_penalty: f64,
    /// `kmeans++` (default), `linear`, `density` or `random`.
    #[serde(default)]
    pub init: ClusterInit,
    /// Zeros (e.g. from pruning) stay exactly zero and are not counted in k.
    #[serde(default)]
    pub preserve_sparsity: bool,
    /// Weight the k-means by each weight's input mean square on the
    /// calibration data (needs calibration).
    #[serde(default)]
    pub data_aware: bool,
    /// Cluster DEPTHWISE_CONV_2D weights too.
    #[serde(default)]
    pub include_depthwise: bool,
    /// Layers left alone: op type names or globs on tensor names (as the
    /// quantization skip list).
    #[serde(default)]
    pub skip: Vec<String>,
    /// Per-layer cluster counts overriding `clusters`: glob on the weight's
    /// or the layer output's name -> k (0 leaves the layer alone).
    #[serde(default)]
    pub layers: BTreeMap<String, usize>,
    /// Seed of kmeans++ / random initialization.
    #[serde(default)]
    pub seed: u64,
    /// Most Lloyd iterations per k-means.
    #[serde(default = "default_iterations")]
    pub max_iterations: usize,
    /// dataAware: at most this many calibration samples are used.
    #[serde(default = "default_max_samples")]
    pub max_samples: usize,
}

/// `clusters` is checked when the recipe is read, not only when applied.
fn clusters_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    let k = usize::deserialize(d)?;
    if !(2..=MAX_CLUSTERS).contains(&k) {
        return Err(serde::de::Error::custom(format!("cluster.clusters must be in 2..={MAX_CLUSTERS}, got {k}")));
    }
    Ok(k)
}

fn default_iterations() -> usize {
    100
}
fn default_max_samples() -> usize {
    512
}

const MAX_CLUSTERS: usize = 1024;

impl ClusterConfig {
    pub fn new(clusters: usize) -> ClusterConfig {
        ClusterConfig {
            clusters,
            per_channel: false,
            scaled: false,
            entropy_penalty: 0.0,
            init: ClusterInit::default(),
            preserve_sparsity: false,
            data_aware: false,
            include_depthwise: false,
            skip: Vec::new(),
            layers: BTreeMap::new(),
            seed: 0,
            max_iterations: default_iterations(),
            max_samples: default_max_samples(),
        }
    }

    /// Check the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(format!("cluster: {m}")));
        if !(2..=MAX_CLUSTERS).contains(&self.clusters) {
            return bad(format!("clusters must be in 2..={MAX_CLUSTERS}, got {}", self.clusters));
        }
        for (k, &v) in &self.layers {
            if v == 1 || v > MAX_CLUSTERS {
                return bad(format!("layers[\"{k}\"] must be 0 (leave alone) or in 2..={MAX_CLUSTERS}, got {v}"));
            }
        }
        if self.per_channel && self.scaled {
            return bad("perChannel and scaled exclude each other (scaled shares one codebook across channels)".into());
        }
        if self.scaled && self.clusters < 3 {
            return bad("scaled needs at least 3 clusters (the codebook holds -1 and +1)".into());
        }
        if !(self.entropy_penalty.is_finite() && (0.0..=100.0).contains(&self.entropy_penalty)) {
            return bad(format!("entropyPenalty must be in [0, 100], got {}", self.entropy_penalty));
        }
        if self.max_iterations == 0 {
            return bad("maxIterations must be at least 1".into());
        }
        if self.max_samples == 0 {
            return bad("maxSamples must be at least 1".into());
        }
        Ok(())
    }
}

/// Apply clustering to the model.
pub fn cluster(model: &mut Model, cfg: &ClusterConfig, ctx: &mut Context) -> Result<()> {
    cfg.validate()?;
    if cfg.data_aware && ctx.calibration.is_empty() {
        return Err(Error::InvalidArgument(
            "cluster: dataAware needs calibration data: give representative inputs (e.g. `--calib samples.npy`)".into(),
        ));
    }
    (ctx.progress)("cluster", 0.0);
    densify_weights(model, &mut ctx.warnings)?;
    let mut notes = Vec::new();
    let targets = find_targets(model, cfg.include_depthwise, &cfg.skip, &mut notes);
    ctx.warnings.extend(notes.into_iter().map(|n| format!("cluster: {n}")));
    let sg = &model.subgraphs[0];
    let mut matched = vec![false; cfg.layers.len()];
    let mut plans: Vec<(Target, usize)> = Vec::new();
    for t in targets {
        let names: Vec<&str> = std::iter::once(t.name.as_str())
            .chain(t.ops.iter().flat_map(|&o| sg.ops[o].outputs.iter().map(|&x| sg.tensors[x].name.as_str())))
            .collect();
        let over = cfg.layers.iter().enumerate().find(|(_, (p, _))| names.iter().any(|n| glob(p, n)));
        let k = match over {
            Some((i, (_, &k))) => {
                matched[i] = true;
                k
            }
            None => cfg.clusters,
        };
        if k > 0 {
            plans.push((t, k));
        }
    }
    for (i, (p, _)) in cfg.layers.iter().enumerate() {
        if !matched[i] {
            ctx.warnings.push(format!("cluster: layers pattern \"{p}\" matched no layer"));
        }
    }
    if plans.is_empty() {
        ctx.warnings.push("cluster: no weights to cluster".into());
        return Ok(());
    }

    // Importance weights from calibration data.
    let mut moments: Vec<Option<Moments>> = vec![None; plans.len()];
    if cfg.data_aware {
        match crate::engine::Engine::new(model) {
            Err(e) => ctx.warnings.push(format!("cluster: data-aware weighting unavailable ({e}); plain k-means used")),
            Ok(_) => {
                let samples = &ctx.calibration[..ctx.calibration.len().min(cfg.max_samples)];
                let ts: Vec<Target> = plans.iter().map(|p| p.0.clone()).collect();
                let got = collect_moments(model, &ts, samples, true, ctx.progress, "cluster: statistics")?;
                for (i, g) in got.into_iter().enumerate() {
                    match g {
                        Ok(m) => moments[i] = Some(m),
                        Err(e) => ctx.warnings.push(format!("cluster: {}: no data-aware weights ({e}); plain k-means", ts[i].label())),
                    }
                }
            }
        }
    }

    let mut total = 0usize;
    let n_plans = plans.len();
    for (i, (t, k)) in plans.iter().enumerate() {
        let Some(mut w) = read_weights(model, t.tensor) else { continue };
        let importance = moments[i].as_ref().map(|m| importance(m, w.len()));
        cluster_tensor(&mut w, &t.shape, t.out_axis, *k, cfg, importance.as_deref());
        write_weights(model, t.tensor, &w)?;
        total += w.len();
        (ctx.progress)("cluster", (i + 1) as f32 / n_plans as f32);
    }
    model.compact_buffers();
    ctx.warnings.push(format!(
        "cluster: {} tensors ({total} weights) to at most {} values{}{}{}",
        plans.len(),
        cfg.clusters,
        if cfg.per_channel { " per channel" } else { " per tensor" },
        if cfg.preserve_sparsity { ", zeros preserved" } else { "" },
        if moments.iter().any(|m| m.is_some()) { ", data-aware" } else { "" }
    ));
    Ok(())
}

/// Importance of each weight (by tensor position): the mean square of the
/// input it multiplies, plus a little of the mean so no weight is ignored.
fn importance(m: &Moments, n: usize) -> Vec<f64> {
    let v = &m.view;
    let mut out = vec![0f64; n];
    let diags: Vec<Vec<f64>> = (0..v.groups).map(|g| m.diag(g)).collect();
    let mean = diags.iter().flatten().sum::<f64>() / diags.iter().map(|d| d.len()).sum::<usize>().max(1) as f64;
    let floor = 1e-3 * mean.max(f64::MIN_POSITIVE);
    for r in 0..v.rows {
        for (c, &dc) in diags[v.group(r)].iter().enumerate().take(v.cols) {
            let i = v.flat(r, c);
            if i < n {
                out[i] = dc + floor;
            }
        }
    }
    out
}

/// Cluster `w` (tensor of `shape`) in place: per tensor, or per slice along
/// `out_axis` when `cfg.per_channel`.
pub(crate) fn cluster_tensor(w: &mut [f32], shape: &[usize], out_axis: usize, k: usize, cfg: &ClusterConfig, importance: Option<&[f64]>) {
    if cfg.scaled {
        return cluster_scaled(w, shape, out_axis, k, cfg, importance);
    }
    let n = w.len();
    let (channels, inner) = if cfg.per_channel {
        channel_layout(shape, out_axis)
    } else {
        (1, n.max(1))
    };
    // Element indices of each channel (and its preserved zeros).
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); channels];
    let mut zeros = vec![0usize; channels];
    for i in 0..n {
        let v = w[i];
        if cfg.preserve_sparsity && v == 0.0 {
            zeros[if channels > 1 { (i / inner) % channels } else { 0 }] += 1;
            continue;
        }
        if !v.is_finite() {
            continue;
        }
        let c = if channels > 1 { (i / inner) % channels } else { 0 };
        members[c].push(i as u32);
    }
    for (c, idx) in members.iter_mut().enumerate() {
        if idx.is_empty() {
            continue;
        }
        idx.sort_unstable_by(|&a, &b| w[a as usize].partial_cmp(&w[b as usize]).unwrap_or(std::cmp::Ordering::Equal));
        let values: Vec<f64> = idx.iter().map(|&i| w[i as usize] as f64).collect();
        let weights: Option<Vec<f64>> = importance.map(|imp| idx.iter().map(|&i| imp[i as usize]).collect());
        let seed = cfg.seed.wrapping_add(c as u64);
        let cl = kmeans_sorted(&values, weights.as_deref(), k, cfg.init.kernel(), seed, cfg.max_iterations);
        if cl.centroids.is_empty() {
            continue;
        }
        if cfg.entropy_penalty > 0.0 {
            let fixed: Vec<(f64, usize)> = if cfg.preserve_sparsity { vec![(0.0, zeros[c])] } else { Vec::new() };
            let (cents, assign) = entropy_refine(&values, weights.as_deref(), &cl.centroids, &[], &fixed, cfg.entropy_penalty, ENTROPY_ITERATIONS);
            for (pos, &i) in idx.iter().enumerate() {
                w[i as usize] = cents[assign[pos]] as f32;
            }
            continue;
        }
        let cents: Vec<f32> = cl.centroids.iter().map(|&x| x as f32).collect();
        // Values are sorted: walk them with the cluster boundaries.
        let mut j = 0;
        for (pos, &i) in idx.iter().enumerate() {
            let v = values[pos];
            while j + 1 < cents.len() && v > 0.5 * (cl.centroids[j] + cl.centroids[j + 1]) {
                j += 1;
            }
            w[i as usize] = cents[j];
        }
    }
}

/// Iterations of the entropy-constrained refinement.
const ENTROPY_ITERATIONS: usize = 30;

/// The int8 grid of scaled codebooks: codes are multiples of 1/127.
const GRID: f64 = 127.0;

/// Scaled-codebook clustering: u = w / max|w of its channel| in [-1, 1],
/// one k-means over all u of the tensor with -1 and +1 pinned (every
/// channel's largest weight keeps its exact value, so the per-channel int8
/// scale is the channel's own and the codes are the same everywhere),
/// codes snapped to the int8 grid, w' = max|w| · code.
fn cluster_scaled(w: &mut [f32], shape: &[usize], out_axis: usize, k: usize, cfg: &ClusterConfig, importance: Option<&[f64]>) {
    let n = w.len();
    let (channels, inner) = channel_layout(shape, out_axis);
    let ch = |i: usize| (i / inner) % channels;
    let mut scale = vec![0f64; channels];
    for (i, &v) in w.iter().enumerate() {
        if v.is_finite() {
            scale[ch(i)] = scale[ch(i)].max(v.abs() as f64);
        }
    }
    let mut idx: Vec<u32> = (0..n as u32)
        .filter(|&i| {
            let v = w[i as usize];
            v.is_finite() && scale[ch(i as usize)] > 0.0 && !(cfg.preserve_sparsity && v == 0.0)
        })
        .collect();
    if idx.is_empty() {
        return;
    }
    let u = |i: u32| w[i as usize] as f64 / scale[ch(i as usize)];
    idx.sort_unstable_by(|&a, &b| u(a).partial_cmp(&u(b)).unwrap_or(std::cmp::Ordering::Equal));
    let values: Vec<f64> = idx.iter().map(|&i| u(i)).collect();
    // The error in w is scale · (error in u).
    let weights: Vec<f64> = idx
        .iter()
        .map(|&i| {
            let s = scale[ch(i as usize)];
            importance.map(|imp| imp[i as usize]).unwrap_or(1.0) * s * s
        })
        .collect();
    let cl = kmeans_pinned(&values, Some(&weights), k, cfg.init.kernel(), cfg.seed, cfg.max_iterations, &[-1.0, 1.0]);
    let (cents, assign): (Vec<f64>, Vec<usize>) = if cfg.entropy_penalty > 0.0 {
        let zeros = if cfg.preserve_sparsity { w.iter().filter(|&&v| v == 0.0).count() } else { 0 };
        let fixed: Vec<(f64, usize)> = if zeros > 0 { vec![(0.0, zeros)] } else { Vec::new() };
        entropy_refine(&values, Some(&weights), &cl.centroids, &[-1.0, 1.0], &fixed, cfg.entropy_penalty, ENTROPY_ITERATIONS)
    } else {
        let assign = values.iter().map(|&v| cl.nearest(v)).collect();
        (cl.centroids.clone(), assign)
    };
    // Codes on the int8 grid.
    let codes: Vec<f64> = cents.iter().map(|&c| (c * GRID).round().clamp(-GRID, GRID)).collect();
    for (pos, &i) in idx.iter().enumerate() {
        let s = scale[ch(i as usize)];
        w[i as usize] = (s * codes[assign[pos]] / GRID) as f32;
    }
}
