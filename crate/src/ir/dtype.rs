//! Element types.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    I32,
    U8,
    I64,
    String,
    Bool,
    I16,
    Complex64,
    I8,
    F64,
    Complex128,
    U64,
    Resource,
    Variant,
    U32,
    U16,
    I4,
    BF16,
}

impl DType {
    /// Bytes per element (0 for variable-size or opaque types; I4 packs two per byte
    /// and reports 1 here, use [`DType::storage_bytes`] for sizes).
    pub fn size(self) -> usize {
        use DType::*;
        match self {
            F32 | I32 | U32 => 4,
            F16 | I16 | U16 | BF16 => 2,
            U8 | I8 | Bool | I4 => 1,
            I64 | U64 | F64 | Complex64 => 8,
            Complex128 => 16,
            String | Resource | Variant => 0,
        }
    }
    /// Bytes needed to store `n` elements densely.
    pub fn storage_bytes(self, n: usize) -> usize {
        match self {
            DType::I4 => n.div_ceil(2),
            d => d.size() * n,
        }
    }
    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            F32 => "float32",
            F16 => "float16",
            I32 => "int32",
            U8 => "uint8",
            I64 => "int64",
            String => "string",
            Bool => "bool",
            I16 => "int16",
            Complex64 => "complex64",
            I8 => "int8",
            F64 => "float64",
            Complex128 => "complex128",
            U64 => "uint64",
            Resource => "resource",
            Variant => "variant",
            U32 => "uint32",
            U16 => "uint16",
            I4 => "int4",
            BF16 => "bfloat16",
        }
    }
    /// TFLite `TensorType` code.
    pub fn tflite_code(self) -> i8 {
        use DType::*;
        match self {
            F32 => 0,
            F16 => 1,
            I32 => 2,
            U8 => 3,
            I64 => 4,
            String => 5,
            Bool => 6,
            I16 => 7,
            Complex64 => 8,
            I8 => 9,
            F64 => 10,
            Complex128 => 11,
            U64 => 12,
            Resource => 13,
            Variant => 14,
            U32 => 15,
            U16 => 16,
            I4 => 17,
            BF16 => 18,
        }
    }
    pub fn from_tflite_code(c: i8) -> Option<DType> {
        use DType::*;
        Some(match c {
            0 => F32,
            1 => F16,
            2 => I32,
            3 => U8,
            4 => I64,
            5 => String,
            6 => Bool,
            7 => I16,
            8 => Complex64,
            9 => I8,
            10 => F64,
            11 => Complex128,
            12 => U64,
            13 => Resource,
            14 => Variant,
            15 => U32,
            16 => U16,
            17 => I4,
            18 => BF16,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
