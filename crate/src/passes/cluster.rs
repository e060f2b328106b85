//! Weight clustering (k-means per tensor or per channel), one-shot on the
//! file. Filled in by the clustering work.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ir::Model;
use crate::passes::Context;

/// Clustering settings of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Number of clusters per tensor (or per channel).
    pub clusters: usize,
}

/// Apply clustering to the model.
pub fn cluster(_model: &mut Model, _cfg: &ClusterConfig, _ctx: &mut Context) -> Result<()> {
    Err(Error::Unsupported("clustering is not implemented yet".into()))
}
