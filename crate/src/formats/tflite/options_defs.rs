//! Field tables of every member of the TFLite `BuiltinOptions` and
//! `BuiltinOptions2` unions, transcribed by hand from the published schema
//! (`tensorflow/compiler/mlir/lite/schema/schema.fbs`).
//!
//! Conventions (see `options_schema.rs`):
//! - `union_type` is the member's 1-based position in its union (0 is NONE).
//! - Field ids follow declaration order from 0; deprecated fields are left
//!   out of the lists but still consume their id.
//! - Enums are stored as their underlying integer type (`Padding`,
//!   `ActivationFunctionType`, `TensorType`, ... are `byte` -> `I8`).
//! - Defaults are the schema defaults as `f64` (enum defaults are numeric,
//!   bools 0/1); anything without an explicit default is 0.
//!
//! `precision_config` of StablehloConvolutionOptions / StablehloDotGeneralOptions
//! is a vector of a `uint` enum: kind `VecU32`.

use super::options_schema::{FieldDef, FieldKind::*, OptionsDef};

/// One field: `f!(name, id, kind)` (default 0) or `f!(name, id, kind, default)`.
macro_rules! f {
    ($name:literal, $id:literal, $kind:ident) => {
        FieldDef { name: $name, id: $id, kind: $kind, default: 0.0 }
    };
    ($name:literal, $id:literal, $kind:ident, $default:expr) => {
        FieldDef { name: $name, id: $id, kind: $kind, default: $default }
    };
}

/// One union member: `t!(union_type, "Name", [fields...])`.
macro_rules! t {
    ($ut:literal, $name:literal, [$($field:expr),* $(,)?]) => {
        OptionsDef { union_type: $ut, name: $name, fields: &[$($field),*] }
    };
    ($ut:literal, $name:literal) => {
        OptionsDef { union_type: $ut, name: $name, fields: &[] }
    };
}

/// Members of `union BuiltinOptions`, in union order.
pub static BUILTIN_OPTIONS: &[OptionsDef] = &[
    t!(1, "Conv2DOptions", [
        f!("padding", 0, I8),
        f!("stride_w", 1, I32),
        f!("stride_h", 2, I32),
        f!("fused_activation_function", 3, I8),
        f!("dilation_w_factor", 4, I32, 1.0),
        f!("dilation_h_factor", 5, I32, 1.0),
        f!("quantized_bias_type", 6, I8),
    ]),
    t!(2, "DepthwiseConv2DOptions", [
        f!("padding", 0, I8),
        f!("stride_w", 1, I32),
        f!("stride_h", 2, I32),
        f!("depth_multiplier", 3, I32),
        f!("fused_activation_function", 4, I8),
        f!("dilation_w_factor", 5, I32, 1.0),
        f!("dilation_h_factor", 6, I32, 1.0),
    ]),
    t!(3, "ConcatEmbeddingsOptions", [
        f!("num_channels", 0, I32),
        f!("num_columns_per_channel", 1, VecI32),
        f!("embedding_dim_per_channel", 2, VecI32),
    ]),
    t!(4, "LSHProjectionOptions", [
        f!("type", 0, I8),
    ]),
    t!(5, "Pool2DOptions", [
        f!("padding", 0, I8),
        f!("stride_w", 1, I32),
        f!("stride_h", 2, I32),
        f!("filter_width", 3, I32),
        f!("filter_height", 4, I32),
        f!("fused_activation_function", 5, I8),
    ]),
    t!(6, "SVDFOptions", [
        f!("rank", 0, I32),
        f!("fused_activation_function", 1, I8),
        f!("asymmetric_quantize_inputs", 2, Bool),
    ]),
    t!(7, "RNNOptions", [
        f!("fused_activation_function", 0, I8),
        f!("asymmetric_quantize_inputs", 1, Bool),
    ]),
    t!(8, "FullyConnectedOptions", [
        f!("fused_activation_function", 0, I8),
        f!("weights_format", 1, I8),
        f!("keep_num_dims", 2, Bool),
        f!("asymmetric_quantize_inputs", 3, Bool),
        f!("quantized_bias_type", 4, I8),
    ]),
    t!(9, "SoftmaxOptions", [
        f!("beta", 0, F32),
    ]),
    t!(10, "ConcatenationOptions", [
        f!("axis", 0, I32),
        f!("fused_activation_function", 1, I8),
    ]),
    t!(11, "AddOptions", [
        f!("fused_activation_function", 0, I8),
        f!("pot_scale_int16", 1, Bool, 1.0),
    ]),
    t!(12, "L2NormOptions", [
        f!("fused_activation_function", 0, I8),
    ]),
    t!(13, "LocalResponseNormalizationOptions", [
        f!("radius", 0, I32),
        f!("bias", 1, F32),
        f!("alpha", 2, F32),
        f!("beta", 3, F32),
    ]),
    t!(14, "LSTMOptions", [
        f!("fused_activation_function", 0, I8),
        f!("cell_clip", 1, F32),
        f!("proj_clip", 2, F32),
        f!("kernel_type", 3, I8),
        f!("asymmetric_quantize_inputs", 4, Bool),
    ]),
    // new_height (id 0) and new_width (id 1) are deprecated.
    t!(15, "ResizeBilinearOptions", [
        f!("align_corners", 2, Bool),
        f!("half_pixel_centers", 3, Bool),
    ]),
    t!(16, "CallOptions", [
        f!("subgraph", 0, U32),
    ]),
    t!(17, "ReshapeOptions", [
        f!("new_shape", 0, VecI32),
    ]),
    t!(18, "SkipGramOptions", [
        f!("ngram_size", 0, I32),
        f!("max_skip_size", 1, I32),
        f!("include_all_ngrams", 2, Bool),
    ]),
    t!(19, "SpaceToDepthOptions", [
        f!("block_size", 0, I32),
    ]),
    t!(20, "EmbeddingLookupSparseOptions", [
        f!("combiner", 0, I8),
    ]),
    t!(21, "MulOptions", [
        f!("fused_activation_function", 0, I8),
    ]),
    t!(22, "PadOptions"),
    t!(23, "GatherOptions", [
        f!("axis", 0, I32),
        f!("batch_dims", 1, I32),
    ]),
    t!(24, "BatchToSpaceNDOptions"),
    t!(25, "SpaceToBatchNDOptions"),
    t!(26, "TransposeOptions"),
    t!(27, "ReducerOptions", [
        f!("keep_dims", 0, Bool),
    ]),
    t!(28, "SubOptions", [
        f!("fused_activation_function", 0, I8),
        f!("pot_scale_int16", 1, Bool, 1.0),
    ]),
    t!(29, "DivOptions", [
        f!("fused_activation_function", 0, I8),
    ]),
    t!(30, "SqueezeOptions", [
        f!("squeeze_dims", 0, VecI32),
    ]),
    t!(31, "SequenceRNNOptions", [
        f!("time_major", 0, Bool),
        f!("fused_activation_function", 1, I8),
        f!("asymmetric_quantize_inputs", 2, Bool),
    ]),
    t!(32, "StridedSliceOptions", [
        f!("begin_mask", 0, I32),
        f!("end_mask", 1, I32),
        f!("ellipsis_mask", 2, I32),
        f!("new_axis_mask", 3, I32),
        f!("shrink_axis_mask", 4, I32),
        f!("offset", 5, Bool),
    ]),
    t!(33, "ExpOptions"),
    t!(34, "TopKV2Options"),
    t!(35, "SplitOptions", [
        f!("num_splits", 0, I32),
    ]),
    t!(36, "LogSoftmaxOptions"),
    t!(37, "CastOptions", [
        f!("in_data_type", 0, I8),
        f!("out_data_type", 1, I8),
    ]),
    t!(38, "DequantizeOptions"),
    t!(39, "MaximumMinimumOptions"),
    t!(40, "ArgMaxOptions", [
        f!("output_type", 0, I8),
    ]),
    t!(41, "LessOptions"),
    t!(42, "NegOptions"),
    t!(43, "PadV2Options"),
    t!(44, "GreaterOptions"),
    t!(45, "GreaterEqualOptions"),
    t!(46, "LessEqualOptions"),
    t!(47, "SelectOptions"),
    t!(48, "SliceOptions"),
    t!(49, "TransposeConvOptions", [
        f!("padding", 0, I8),
        f!("stride_w", 1, I32),
        f!("stride_h", 2, I32),
        f!("fused_activation_function", 3, I8),
        f!("quantized_bias_type", 4, I8),
    ]),
    t!(50, "SparseToDenseOptions", [
        f!("validate_indices", 0, Bool),
    ]),
    t!(51, "TileOptions"),
    t!(52, "ExpandDimsOptions"),
    t!(53, "EqualOptions"),
    t!(54, "NotEqualOptions"),
    t!(55, "ShapeOptions", [
        f!("out_type", 0, I8),
    ]),
    t!(56, "PowOptions"),
    t!(57, "ArgMinOptions", [
        f!("output_type", 0, I8),
    ]),
    t!(58, "FakeQuantOptions", [
        f!("min", 0, F32),
        f!("max", 1, F32),
        f!("num_bits", 2, I32),
        f!("narrow_range", 3, Bool),
    ]),
    t!(59, "PackOptions", [
        f!("values_count", 0, I32),
        f!("axis", 1, I32),
    ]),
    t!(60, "LogicalOrOptions"),
    t!(61, "OneHotOptions", [
        f!("axis", 0, I32),
    ]),
    t!(62, "LogicalAndOptions"),
    t!(63, "LogicalNotOptions"),
    t!(64, "UnpackOptions", [
        f!("num", 0, I32),
        f!("axis", 1, I32),
    ]),
    t!(65, "FloorDivOptions"),
    t!(66, "SquareOptions"),
    t!(67, "ZerosLikeOptions"),
    t!(68, "FillOptions"),
    t!(69, "BidirectionalSequenceLSTMOptions", [
        f!("fused_activation_function", 0, I8),
        f!("cell_clip", 1, F32),
        f!("proj_clip", 2, F32),
        f!("merge_outputs", 3, Bool),
        f!("time_major", 4, Bool, 1.0),
        f!("asymmetric_quantize_inputs", 5, Bool),
    ]),
    t!(70, "BidirectionalSequenceRNNOptions", [
        f!("time_major", 0, Bool),
        f!("fused_activation_function", 1, I8),
        f!("merge_outputs", 2, Bool),
        f!("asymmetric_quantize_inputs", 3, Bool),
    ]),
    t!(71, "UnidirectionalSequenceLSTMOptions", [
        f!("fused_activation_function", 0, I8),
        f!("cell_clip", 1, F32),
        f!("proj_clip", 2, F32),
        f!("time_major", 3, Bool),
        f!("asymmetric_quantize_inputs", 4, Bool),
        f!("diagonal_recurrent_tensors", 5, Bool),
    ]),
    t!(72, "FloorModOptions"),
    t!(73, "RangeOptions"),
    t!(74, "ResizeNearestNeighborOptions", [
        f!("align_corners", 0, Bool),
        f!("half_pixel_centers", 1, Bool),
    ]),
    t!(75, "LeakyReluOptions", [
        f!("alpha", 0, F32),
    ]),
    t!(76, "SquaredDifferenceOptions"),
    t!(77, "MirrorPadOptions", [
        f!("mode", 0, I8),
    ]),
    t!(78, "AbsOptions"),
    t!(79, "SplitVOptions", [
        f!("num_splits", 0, I32),
    ]),
    // idx_out_type defaults to TensorType.INT32 (= 2).
    t!(80, "UniqueOptions", [
        f!("idx_out_type", 0, I8, 2.0),
    ]),
    t!(81, "ReverseV2Options"),
    t!(82, "AddNOptions"),
    t!(83, "GatherNdOptions"),
    t!(84, "CosOptions"),
    t!(85, "WhereOptions"),
    t!(86, "RankOptions"),
    t!(87, "ReverseSequenceOptions", [
        f!("seq_dim", 0, I32),
        f!("batch_dim", 1, I32),
    ]),
    t!(88, "MatrixDiagOptions"),
    t!(89, "QuantizeOptions"),
    t!(90, "MatrixSetDiagOptions"),
    t!(91, "HardSwishOptions"),
    t!(92, "IfOptions", [
        f!("then_subgraph_index", 0, I32),
        f!("else_subgraph_index", 1, I32),
    ]),
    t!(93, "WhileOptions", [
        f!("cond_subgraph_index", 0, I32),
        f!("body_subgraph_index", 1, I32),
    ]),
    t!(94, "DepthToSpaceOptions", [
        f!("block_size", 0, I32),
    ]),
    t!(95, "NonMaxSuppressionV4Options"),
    t!(96, "NonMaxSuppressionV5Options"),
    t!(97, "ScatterNdOptions"),
    t!(98, "SelectV2Options"),
    t!(99, "DensifyOptions"),
    t!(100, "SegmentSumOptions"),
    t!(101, "BatchMatMulOptions", [
        f!("adj_x", 0, Bool),
        f!("adj_y", 1, Bool),
        f!("asymmetric_quantize_inputs", 2, Bool),
    ]),
    t!(102, "CumsumOptions", [
        f!("exclusive", 0, Bool),
        f!("reverse", 1, Bool),
    ]),
    t!(103, "CallOnceOptions", [
        f!("init_subgraph_index", 0, I32),
    ]),
    t!(104, "BroadcastToOptions"),
    t!(105, "Rfft2dOptions"),
    t!(106, "Conv3DOptions", [
        f!("padding", 0, I8),
        f!("stride_d", 1, I32),
        f!("stride_w", 2, I32),
        f!("stride_h", 3, I32),
        f!("fused_activation_function", 4, I8),
        f!("dilation_d_factor", 5, I32, 1.0),
        f!("dilation_w_factor", 6, I32, 1.0),
        f!("dilation_h_factor", 7, I32, 1.0),
    ]),
    t!(107, "HashtableOptions", [
        f!("table_id", 0, I32),
        f!("key_dtype", 1, I8),
        f!("value_dtype", 2, I8),
    ]),
    t!(108, "HashtableFindOptions"),
    t!(109, "HashtableImportOptions"),
    t!(110, "HashtableSizeOptions"),
    t!(111, "VarHandleOptions", [
        f!("container", 0, Str),
        f!("shared_name", 1, Str),
    ]),
    t!(112, "ReadVariableOptions"),
    t!(113, "AssignVariableOptions"),
    t!(114, "RandomOptions", [
        f!("seed", 0, I64),
        f!("seed2", 1, I64),
    ]),
    t!(115, "BucketizeOptions", [
        f!("boundaries", 0, VecF32),
    ]),
    t!(116, "GeluOptions", [
        f!("approximate", 0, Bool),
    ]),
    t!(117, "DynamicUpdateSliceOptions"),
    t!(118, "UnsortedSegmentProdOptions"),
    t!(119, "UnsortedSegmentMaxOptions"),
    t!(120, "UnsortedSegmentMinOptions"),
    t!(121, "UnsortedSegmentSumOptions"),
    t!(122, "ATan2Options"),
    t!(123, "SignOptions"),
    t!(124, "BitcastOptions"),
    t!(125, "BitwiseXorOptions"),
    t!(126, "RightShiftOptions"),
];

/// Members of `union BuiltinOptions2`, in union order.
pub static BUILTIN_OPTIONS_2: &[OptionsDef] = &[
    t!(1, "StablehloConcatenateOptions", [
        f!("dimension", 0, I64),
    ]),
    t!(2, "StablehloBroadcastInDimOptions", [
        f!("broadcast_dimensions", 0, VecI64),
    ]),
    t!(3, "StablehloSliceOptions", [
        f!("start_indices", 0, VecI64),
        f!("limit_indices", 1, VecI64),
        f!("strides", 2, VecI64),
    ]),
    t!(4, "StablehloConvolutionOptions", [
        f!("window_strides", 0, VecI64),
        f!("padding", 1, VecI64),
        f!("lhs_dilation", 2, VecI64),
        f!("rhs_dilation", 3, VecI64),
        f!("window_reversal", 4, VecBool),
        f!("input_batch_dimension", 5, I64),
        f!("input_feature_dimension", 6, I64),
        f!("input_spatial_dimensions", 7, VecI64),
        f!("kernel_input_feature_dimension", 8, I64),
        f!("kernel_output_feature_dimension", 9, I64),
        f!("kernel_spatial_dimensions", 10, VecI64),
        f!("output_batch_dimension", 11, I64),
        f!("output_feature_dimension", 12, I64),
        f!("output_spatial_dimensions", 13, VecI64),
        f!("feature_group_count", 14, I64),
        f!("batch_group_count", 15, I64),
        f!("precision_config", 16, VecU32),
    ]),
    t!(5, "StablehloCustomCallOptions", [
        f!("call_target_name", 0, Str),
        f!("has_side_effect", 1, Bool),
        f!("backend_config", 2, Str),
        f!("api_version", 3, I32),
        f!("called_computations", 4, VecI32),
        f!("custom_attributes", 5, VecU8),
    ]),
    t!(6, "StablehloReduceOptions", [
        f!("dimensions", 0, VecI64),
        f!("body_subgraph_index", 1, I32),
    ]),
    t!(7, "StablehloScatterOptions", [
        f!("indices_are_sorted", 0, Bool),
        f!("update_window_dims", 1, VecI64),
        f!("inserted_window_dims", 2, VecI64),
        f!("scatter_dims_to_operand_dims", 3, VecI64),
        f!("index_vector_dim", 4, I64),
        f!("unique_indices", 5, Bool),
        f!("update_computation_subgraph_index", 6, I32),
    ]),
    // Both enums are `: uint`.
    t!(8, "StablehloCompareOptions", [
        f!("comparison_direction", 0, U32),
        f!("compare_type", 1, U32),
    ]),
    t!(9, "StablehloDynamicSliceOptions", [
        f!("slice_sizes", 0, VecI64),
    ]),
    t!(10, "StablehloPadOptions", [
        f!("edge_padding_low", 0, VecI64),
        f!("edge_padding_high", 1, VecI64),
        f!("interior_padding", 2, VecI64),
    ]),
    t!(11, "StablehloIotaOptions", [
        f!("iota_dimension", 0, I64),
    ]),
    t!(12, "StablehloDotGeneralOptions", [
        f!("lhs_batching_dimensions", 0, VecI64),
        f!("rhs_batching_dimensions", 1, VecI64),
        f!("lhs_contracting_dimensions", 2, VecI64),
        f!("rhs_contracting_dimensions", 3, VecI64),
        f!("precision_config", 4, VecU32),
    ]),
    t!(13, "StablehloReduceWindowOptions", [
        f!("window_dimensions", 0, VecI64),
        f!("window_strides", 1, VecI64),
        f!("base_dilations", 2, VecI64),
        f!("window_dilations", 3, VecI64),
        f!("padding", 4, VecI64),
        f!("body_subgraph_index", 5, I32),
    ]),
    t!(14, "StablehloSortOptions", [
        f!("dimension", 0, I64),
        f!("is_stable", 1, Bool),
        f!("comparator_subgraph_index", 2, I32),
    ]),
    t!(15, "StablehloWhileOptions", [
        f!("cond_subgraph_index", 0, I32),
        f!("body_subgraph_index", 1, I32),
    ]),
    t!(16, "StablehloGatherOptions", [
        f!("offset_dims", 0, VecI64),
        f!("collapsed_slice_dims", 1, VecI64),
        f!("start_index_map", 2, VecI64),
        f!("index_vector_dim", 3, I64),
        f!("slice_sizes", 4, VecI64),
        f!("indices_are_sorted", 5, Bool),
    ]),
    t!(17, "StablehloTransposeOptions", [
        f!("permutation", 0, VecI64),
    ]),
    t!(18, "DilateOptions"),
    // `RngAlgorithm : byte`.
    t!(19, "StablehloRngBitGeneratorOptions", [
        f!("algorithm", 0, I8),
    ]),
    // Marked deprecated in the union (and the table), but it keeps its slot.
    // `ReduceWindowFunction : int`.
    t!(20, "ReduceWindowOptions", [
        f!("reduce_function", 0, I32),
    ]),
    t!(21, "StableHLOCompositeOptions", [
        f!("name", 0, Str),
        f!("decomposition_subgraph_index", 1, I32),
        f!("composite_attributes", 2, VecU8),
        f!("composite_attributes_format", 3, I8),
        f!("version", 4, I32),
    ]),
];

#[cfg(test)]
mod tests {
    use super::super::options_schema::{FieldDef, FieldKind, OptionsDef};
    use super::{BUILTIN_OPTIONS, BUILTIN_OPTIONS_2};
    use std::collections::HashSet;

    fn check_union(defs: &[OptionsDef]) {
        let mut names = HashSet::new();
        for (i, d) in defs.iter().enumerate() {
            assert_eq!(d.union_type as usize, i + 1, "{} has union_type {}", d.name, d.union_type);
            assert!(names.insert(d.name), "duplicate table {}", d.name);
            let mut field_names = HashSet::new();
            let mut last_id: Option<u16> = None;
            for fd in d.fields {
                assert!(field_names.insert(fd.name), "{}: duplicate field {}", d.name, fd.name);
                if let Some(prev) = last_id {
                    assert!(fd.id > prev, "{}: id of {} not increasing", d.name, fd.name);
                }
                last_id = Some(fd.id);
            }
        }
    }

    fn field(table: &OptionsDef, name: &str) -> FieldDef {
        *table
            .fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{} has no field {}", table.name, name))
    }

    fn table<'a>(defs: &'a [OptionsDef], name: &str) -> &'a OptionsDef {
        defs.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no table {name}"))
    }

    #[test]
    fn union_types_consecutive_ids_increasing_names_unique() {
        check_union(BUILTIN_OPTIONS);
        check_union(BUILTIN_OPTIONS_2);
        assert_eq!(BUILTIN_OPTIONS.len(), 126);
        assert_eq!(BUILTIN_OPTIONS_2.len(), 21);
        assert_eq!(BUILTIN_OPTIONS.last().unwrap().name, "RightShiftOptions");
        assert_eq!(BUILTIN_OPTIONS_2.last().unwrap().name, "StableHLOCompositeOptions");
    }

    #[test]
    fn conv2d_options() {
        let t = table(BUILTIN_OPTIONS, "Conv2DOptions");
        assert_eq!(t.union_type, 1);
        let expect: &[(&str, u16, FieldKind, f64)] = &[
            ("padding", 0, FieldKind::I8, 0.0),
            ("stride_w", 1, FieldKind::I32, 0.0),
            ("stride_h", 2, FieldKind::I32, 0.0),
            ("fused_activation_function", 3, FieldKind::I8, 0.0),
            ("dilation_w_factor", 4, FieldKind::I32, 1.0),
            ("dilation_h_factor", 5, FieldKind::I32, 1.0),
            ("quantized_bias_type", 6, FieldKind::I8, 0.0),
        ];
        assert_eq!(t.fields.len(), expect.len());
        for &(name, id, kind, default) in expect {
            let f = field(t, name);
            assert_eq!(f.id, id, "{name}");
            assert_eq!(f.kind, kind, "{name}");
            assert_eq!(f.default, default, "{name}");
        }
    }

    #[test]
    fn resize_bilinear_skips_deprecated_ids() {
        let t = table(BUILTIN_OPTIONS, "ResizeBilinearOptions");
        assert_eq!(field(t, "align_corners").id, 2);
        assert_eq!(field(t, "half_pixel_centers").id, 3);
        assert_eq!(field(t, "align_corners").kind, FieldKind::Bool);
    }

    #[test]
    fn other_spot_checks() {
        assert_eq!(table(BUILTIN_OPTIONS, "FullyConnectedOptions").union_type, 8);
        assert_eq!(table(BUILTIN_OPTIONS, "ResizeBilinearOptions").union_type, 15);
        assert_eq!(table(BUILTIN_OPTIONS, "BatchMatMulOptions").union_type, 101);
        assert_eq!(table(BUILTIN_OPTIONS, "Conv3DOptions").union_type, 106);
        assert_eq!(table(BUILTIN_OPTIONS_2, "StablehloGatherOptions").union_type, 16);
        assert_eq!(table(BUILTIN_OPTIONS_2, "ReduceWindowOptions").union_type, 20);
        let add = table(BUILTIN_OPTIONS, "AddOptions");
        assert_eq!(field(add, "pot_scale_int16").default, 1.0);
        let uniq = table(BUILTIN_OPTIONS, "UniqueOptions");
        assert_eq!(field(uniq, "idx_out_type").default, 2.0);
        let bilstm = table(BUILTIN_OPTIONS, "BidirectionalSequenceLSTMOptions");
        assert_eq!(field(bilstm, "time_major").default, 1.0);
        assert_eq!(field(bilstm, "time_major").id, 4);
        let conv = table(BUILTIN_OPTIONS_2, "StablehloConvolutionOptions");
        assert_eq!(field(conv, "batch_group_count").id, 15);
        assert_eq!(field(conv, "window_reversal").kind, FieldKind::VecBool);
    }
}
