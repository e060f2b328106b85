//! Field descriptions of every TFLite builtin options table, so that options
//! are read into named attributes and written back without generated code.
//! The tables themselves live in `options_defs.rs` (transcribed from the
//! published schema: field ids, types and defaults are facts of the format).

/// How a field is stored in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    /// string (offset to a string)
    Str,
    /// [ubyte] / [byte]
    VecU8,
    /// [bool]
    VecBool,
    /// [int]
    VecI32,
    /// [long]
    VecI64,
    /// [float]
    VecF32,
    /// [uint] (enum vectors)
    VecU32,
}

/// One field of an options table. `id` is the flatbuffer field id (its
/// declaration position, counting deprecated fields and two ids per union).
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub id: u16,
    pub kind: FieldKind,
    /// Default of a scalar field (as f64; bools 0/1). Ignored for vectors/strings.
    pub default: f64,
}

/// One member of the `BuiltinOptions` (or `BuiltinOptions2`) union.
#[derive(Debug, Clone, Copy)]
pub struct OptionsDef {
    /// Union type value (1-based; 0 is NONE).
    pub union_type: u8,
    pub name: &'static str,
    pub fields: &'static [FieldDef],
}

pub use super::options_defs::{BUILTIN_OPTIONS, BUILTIN_OPTIONS_2};

/// The options table definition for a union type in the first union.
pub fn builtin_options(union_type: u8) -> Option<&'static OptionsDef> {
    BUILTIN_OPTIONS.iter().find(|d| d.union_type == union_type)
}

/// The options table definition for a union type in the second union.
pub fn builtin_options_2(union_type: u8) -> Option<&'static OptionsDef> {
    BUILTIN_OPTIONS_2.iter().find(|d| d.union_type == union_type)
}

/// Look up a table by name in either union; returns (union index 1 or 2, def).
pub fn options_by_name(name: &str) -> Option<(u8, &'static OptionsDef)> {
    BUILTIN_OPTIONS
        .iter()
        .find(|d| d.name == name)
        .map(|d| (1, d))
        .or_else(|| BUILTIN_OPTIONS_2.iter().find(|d| d.name == name).map(|d| (2, d)))
}
