//! Integer (int8 / int16x8 / hybrid) op family: filled in by the int8
//! engine work.

use super::OpImpl;
use crate::ir::BuiltinOp;

pub fn register(_op: BuiltinOp) -> Option<OpImpl> {
    None
}
