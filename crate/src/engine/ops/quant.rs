//! (family stub: filled in by its owner)

use super::OpImpl;
use crate::ir::BuiltinOp;

pub fn register(_op: BuiltinOp) -> Option<OpImpl> {
    None
}
