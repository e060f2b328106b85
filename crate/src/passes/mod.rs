//! Named transforms of a model (quantize, prune, cluster come here), and
//! the recipe that chains them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ir::Model;

/// A transform of the model.
pub trait Transform {
    fn name(&self) -> &'static str;
    fn apply(&self, model: &mut Model) -> Result<()>;
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
}

impl Recipe {
    /// Parse a recipe from JSON, naming the bad field on error.
    pub fn from_json(s: &str) -> Result<Recipe> {
        serde_json::from_str(s).map_err(|e| Error::InvalidArgument(format!("recipe: {e}")))
    }
    pub fn transforms(&self) -> Vec<Box<dyn Transform>> {
        Vec::new()
    }
}

/// Apply a recipe to a copy of the model; the input is never changed.
pub fn optimize(model: &Model, recipe: &Recipe) -> Result<Model> {
    let mut out = model.clone();
    for t in recipe.transforms() {
        t.apply(&mut out)?;
    }
    Ok(out)
}
