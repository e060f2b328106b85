//! Named transforms of a model (quantize now; prune and cluster next), and
//! the recipe that chains them.

pub mod calibrate;
pub mod cluster;
pub mod fold;
pub mod prune;
pub mod quantize;
pub mod report;
pub mod sparse;

use serde::{Deserialize, Serialize};

use crate::engine::Value;
use crate::error::{Error, Result};
use crate::ir::Model;

use quantize::{QuantMode, QuantizeConfig};

/// What transforms may use besides the model: calibration samples and a
/// progress callback.
pub struct Context<'a> {
    /// Calibration samples: each is one set of model inputs.
    pub calibration: Vec<Vec<Value>>,
    /// Called with (phase, fraction done).
    pub progress: &'a mut dyn FnMut(&str, f32),
    /// Filled by transforms: ops left float, with the reason.
    pub float_ops: Vec<String>,
    /// Filled by transforms: notes for the report.
    pub warnings: Vec<String>,
}

fn no_progress(_: &str, _: f32) {}

impl<'a> Context<'a> {
    pub fn new(calibration: Vec<Vec<Value>>, progress: &'a mut dyn FnMut(&str, f32)) -> Self {
        Context { calibration, progress, float_ops: Vec::new(), warnings: Vec::new() }
    }
    pub fn none() -> Context<'static> {
        Context::new(Vec::new(), Box::leak(Box::new(no_progress)))
    }
}

/// A transform of the model.
pub trait Transform {
    fn name(&self) -> &'static str;
    fn apply(&self, model: &mut Model, ctx: &mut Context) -> Result<()>;
}

/// What to do to a model. An empty recipe is the identity transform.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Recipe {
    /// Free-form name of the recipe (used in output file names).
    #[serde(default)]
    pub name: Option<String>,
    /// Store constant data after the flatbuffer, referenced by offset/size
    /// (the schema-3c layout the converter uses for models over 2 GB; it is
    /// chosen automatically for very large models).
    #[serde(default)]
    pub external_buffers: bool,
    /// Pruning (applied first).
    #[serde(default)]
    pub prune: Option<prune::PruneConfig>,
    /// Weight clustering (applied after pruning).
    #[serde(default)]
    pub cluster: Option<cluster::ClusterConfig>,
    /// Post-training quantization (applied last).
    #[serde(default)]
    pub quantize: Option<QuantizeConfig>,
    /// Store sparse weights in TFLite's sparse tensor format behind DENSIFY
    /// ops (after every other transform).
    #[serde(default)]
    pub sparse_format: bool,
}

impl Recipe {
    /// Parse a recipe from JSON, naming the bad field on error.
    pub fn from_json(s: &str) -> Result<Recipe> {
        let r: Recipe = serde_json::from_str(s).map_err(|e| Error::InvalidArgument(format!("recipe: {e}")))?;
        if let Some(p) = &r.prune {
            p.validate()?;
        }
        if let Some(c) = &r.cluster {
            c.validate()?;
        }
        Ok(r)
    }
    pub fn transforms(&self) -> Vec<Box<dyn Transform>> {
        let mut v: Vec<Box<dyn Transform>> = Vec::new();
        if let Some(p) = &self.prune {
            v.push(Box::new(Prune(p.clone())));
        }
        if let Some(c) = &self.cluster {
            v.push(Box::new(Cluster(c.clone())));
        }
        if let Some(q) = &self.quantize {
            v.push(Box::new(Quantize(q.clone())));
        }
        if self.sparse_format {
            v.push(Box::new(sparse::SparseEncode::for_recipe(self)));
        }
        v
    }
}

/// The pruning transform.
pub struct Prune(pub prune::PruneConfig);

impl Transform for Prune {
    fn name(&self) -> &'static str {
        "prune"
    }
    fn apply(&self, model: &mut Model, ctx: &mut Context) -> Result<()> {
        prune::prune(model, &self.0, ctx)
    }
}

/// The clustering transform.
pub struct Cluster(pub cluster::ClusterConfig);

impl Transform for Cluster {
    fn name(&self) -> &'static str {
        "cluster"
    }
    fn apply(&self, model: &mut Model, ctx: &mut Context) -> Result<()> {
        cluster::cluster(model, &self.0, ctx)
    }
}

/// The quantization transform.
pub struct Quantize(pub QuantizeConfig);

impl Transform for Quantize {
    fn name(&self) -> &'static str {
        "quantize"
    }
    fn apply(&self, model: &mut Model, ctx: &mut Context) -> Result<()> {
        quantize::check_not_quantized(model, self.0.mode)?;
        (ctx.progress)("quantize", 0.0);
        if self.0.mode != QuantMode::Float16 {
            let n = fold::fold_weight_decoders(model)?;
            if n > 0 {
                ctx.warnings.push(format!("{n} constant DEQUANTIZE/DENSIFY ops folded into float32 weights before quantizing"));
            }
        }
        match self.0.mode {
            QuantMode::Float16 => {
                quantize::quantize_float16(model, &self.0)?;
            }
            QuantMode::Dynamic => {
                quantize::quantize_dynamic(model, &self.0)?;
            }
            QuantMode::Int8 | QuantMode::Int16x8 => {
                let cal = &self.0.calibration;
                let stats = calibrate::calibrate(model, &ctx.calibration, cal, ctx.progress)?;
                let act = if self.0.mode == QuantMode::Int8 {
                    quantize::integer::Act::Int8
                } else {
                    quantize::integer::Act::Int16
                };
                let summary = quantize::integer::quantize_integer(model, &self.0, &stats, cal, act)?;
                ctx.float_ops.extend(summary.float_ops);
            }
        }
        (ctx.progress)("quantize", 1.0);
        Ok(())
    }
}

/// Apply a recipe to a copy of the model; the input is never changed.
pub fn optimize(model: &Model, recipe: &Recipe, ctx: &mut Context) -> Result<Model> {
    let mut out = model.clone();
    for t in recipe.transforms() {
        t.apply(&mut out, ctx)?;
    }
    Ok(out)
}
