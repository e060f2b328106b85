//! Builtin operator identities. Numbering follows TFLite's `BuiltinOperator`
//! so codes pass through the TFLite edge unchanged; names come from
//! `op_names.rs`.

#[path = "op_names.rs"]
mod op_names;

/// A builtin operator code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuiltinOp(pub i32);

/// Name of a builtin code, `BUILTIN_<n>` when the code is newer than our table.
pub fn op_name(code: i32) -> String {
    usize::try_from(code)
        .ok()
        .and_then(|c| op_names::BUILTIN_NAMES.get(c))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("BUILTIN_{code}"))
}

impl BuiltinOp {
    pub fn name(self) -> String {
        op_name(self.0)
    }
    /// Look up a builtin code by its name (e.g. `CONV_2D`).
    pub fn from_name(name: &str) -> Option<BuiltinOp> {
        op_names::BUILTIN_NAMES.iter().position(|n| *n == name).map(|i| BuiltinOp(i as i32))
    }
}

macro_rules! builtin_consts {
    ($($name:ident = $code:expr),* $(,)?) => {
        impl BuiltinOp { $(pub const $name: BuiltinOp = BuiltinOp($code);)* }
    };
}

builtin_consts! {
    ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4,
    DEPTH_TO_SPACE = 5, DEQUANTIZE = 6, EMBEDDING_LOOKUP = 7, FLOOR = 8, FULLY_CONNECTED = 9,
    L2_NORMALIZATION = 11, L2_POOL_2D = 12, LOGISTIC = 14, MAX_POOL_2D = 17, MUL = 18, RELU = 19,
    RELU_N1_TO_1 = 20, RELU6 = 21, RESHAPE = 22, RESIZE_BILINEAR = 23, SOFTMAX = 25,
    SPACE_TO_DEPTH = 26, TANH = 28, CALL = 31, CUSTOM = 32, PAD = 34, GATHER = 36,
    BATCH_TO_SPACE_ND = 37, SPACE_TO_BATCH_ND = 38, TRANSPOSE = 39, MEAN = 40, SUB = 41, DIV = 42,
    SQUEEZE = 43, STRIDED_SLICE = 45, EXP = 47, SPLIT = 49, LOG_SOFTMAX = 50, CAST = 53, PRELU = 54,
    MAXIMUM = 55, ARG_MAX = 56, MINIMUM = 57, NEG = 59, PADV2 = 60, SLICE = 65, TRANSPOSE_CONV = 67,
    TILE = 69, EXPAND_DIMS = 70, LOG = 73, SUM = 74, SQRT = 75, RSQRT = 76, SHAPE = 77, POW = 78,
    REDUCE_PROD = 81, REDUCE_MAX = 82, PACK = 83, UNPACK = 88, REDUCE_MIN = 89, SQUARE = 92,
    RESIZE_NEAREST_NEIGHBOR = 97, LEAKY_RELU = 98, SQUARED_DIFFERENCE = 99, MIRROR_PAD = 100,
    ABS = 101, SPLIT_V = 102, GATHER_ND = 107, QUANTIZE = 114, HARD_SWISH = 117, IF = 118,
    WHILE = 119, SELECT_V2 = 123, DENSIFY = 124, BATCH_MATMUL = 126,
    PLACEHOLDER_FOR_GREATER_OP_CODES = 127, BROADCAST_TO = 130, GELU = 150,
}
