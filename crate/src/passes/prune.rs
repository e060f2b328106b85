//! Pruning transforms (magnitude per layer or global, structured N:M, block,
//! data-aware OBS), one-shot on the file. Filled in by the pruning work.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ir::Model;
use crate::passes::Context;

/// Pruning settings of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PruneConfig {
    /// Target fraction of zeros (0..1).
    pub sparsity: f64,
}

/// Apply pruning to the model.
pub fn prune(_model: &mut Model, _cfg: &PruneConfig, _ctx: &mut Context) -> Result<()> {
    Err(Error::Unsupported("pruning is not implemented yet".into()))
}
