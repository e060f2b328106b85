//! Named operator attributes: plain values, no format types.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Bools(Vec<bool>),
}

impl AttrValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(v) => Some(*v),
            AttrValue::Bool(b) => Some(*b as i64),
            AttrValue::Float(f) => Some(*f as i64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Float(f) => Some(*f),
            AttrValue::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            AttrValue::Int(v) => Some(*v != 0),
            _ => None,
        }
    }
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        match self {
            AttrValue::Ints(v) => Some(v.clone()),
            AttrValue::Bytes(v) => Some(v.iter().map(|&x| x as i64).collect()),
            _ => None,
        }
    }
}

pub type Attrs = BTreeMap<String, AttrValue>;

/// One options table of an operator: its table name (e.g. `Conv2DOptions`)
/// and its fields by name.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsTable {
    pub table: String,
    pub attrs: Attrs,
}

impl OptionsTable {
    pub fn new(table: impl Into<String>) -> Self {
        OptionsTable { table: table.into(), attrs: Attrs::new() }
    }
    pub fn with(mut self, name: &str, v: AttrValue) -> Self {
        self.attrs.insert(name.to_string(), v);
        self
    }
}
