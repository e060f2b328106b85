// Type declarations of the `modelpress` package (hand-written; the same API in
// browsers, Web Workers, bundlers and Node). Recipe fields are camelCase,
// report fields camelCase, summary fields snake_case (as the core emits them).

// ------------------------------------------------------------------ errors

/** Stable error codes (`error.code`). */
export type ErrorCodeName =
  // from the wasm core
  | 'INVALID_MODEL'
  | 'UNSUPPORTED_FORMAT'
  | 'UNSUPPORTED_OPS'
  | 'BAD_INPUT'
  | 'EXEC_ERROR'
  | 'UNSUPPORTED'
  | 'INVALID_ARGUMENT'
  // from the JS layer
  | 'INVALID_RECIPE'
  | 'ABORTED'
  | 'UNSUPPORTED_RUNTIME'
  | 'WORKER_ERROR'
  | 'NOT_READY'
  | 'BAD_NPY'
  | 'NOT_BUILT'
  | 'DISPOSED'
  | 'INTERNAL';

export declare const ErrorCode: { readonly [K in ErrorCodeName]: K };

/** Every error the package throws or rejects with. */
export declare class ModelpressError extends Error {
  constructor(code: ErrorCodeName, message: string, options?: { cause?: unknown });
  readonly code: ErrorCodeName;
  toJSON(): { name: string; code: ErrorCodeName; message: string };
}

/** A recipe with a bad field. `field` is a dotted path ("quantize.mode"; "" for the recipe itself). */
export declare class RecipeError extends ModelpressError {
  constructor(message: string, options?: { field?: string; allowed?: readonly unknown[]; cause?: unknown });
  readonly code: 'INVALID_RECIPE';
  readonly field: string;
  /** The allowed values, when the field is an enum (or the known fields, for an unknown one). */
  readonly allowed: unknown[] | undefined;
}

/** A call cancelled through its AbortSignal. `name` is "AbortError", as fetch's. */
export declare class AbortError extends ModelpressError {
  constructor(message?: string, options?: { cause?: unknown });
  readonly name: 'AbortError';
  readonly code: 'ABORTED';
}

/** No wasm build of the package can run here (e.g. no WebAssembly SIMD and no scalar build). */
export declare class UnsupportedRuntimeError extends ModelpressError {
  readonly code: 'UNSUPPORTED_RUNTIME';
  /** Missing features: "wasm", "simd", "relaxedSimd", or a build name that was asked for. */
  readonly missing: string[];
}

/** The worker of a WorkerModel crashed or could not start. */
export declare class WorkerError extends ModelpressError {
  readonly code: 'WORKER_ERROR';
}

/** Rebuild an error (with its subclass) from its toJSON() form, e.g. after postMessage. */
export declare function reviveError(obj: { code?: string; message?: string; [k: string]: unknown } | Error): ModelpressError | Error;

// ------------------------------------------------------------------ recipe

export type QuantMode = 'dynamic' | 'float16' | 'int8' | 'int16x8';
export type IoType = 'float' | 'int8' | 'uint8';
export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';

export interface QuantizeConfig {
  /** dynamic (int8 weights, float activations) | float16 | int8 (full integer) | int16x8 */
  mode: QuantMode;
  /** Input/output type of integer models (default "float": QUANTIZE/DEQUANTIZE at the edges). */
  io?: IoType;
  /** Fail, listing them, instead of leaving ops without an integer kernel float. */
  int8Only?: boolean;
  /** Layers kept float: op type names ("FULLY_CONNECTED") or globs (`*`, `?`) on output/weight tensor names. */
  skip?: string[];
  /** dynamic: weight tensors with fewer elements stay float (default 1024). */
  minElements?: number;
  /** Per-channel weight scales where the op allows it (default true). */
  perChannel?: boolean;
  /** How activation ranges are chosen from the calibration samples. */
  calibration?: { method?: CalibrationMethod; /** percentile method, default 99.99 */ percentile?: number };
}

/** "unstructured", "N:M" (e.g. "2:4") or "block:RxC" (e.g. "block:1x4"). */
export type PrunePattern = 'unstructured' | `${number}:${number}` | `block:${number}x${number}`;

export interface PruneConfig {
  /** Target fraction of zeros in [0, 1); implied by an N:M pattern. */
  sparsity?: number | null;
  pattern?: PrunePattern;
  /** layer (each tensor gets the target, default) | global (one threshold over all prunable tensors). */
  scope?: 'layer' | 'global';
  /** magnitude (default) | obs (data-aware Optimal Brain Surgeon; needs calibration). */
  method?: 'magnitude' | 'obs';
  /** Per-layer targets: glob on the weight's or the layer output's name -> sparsity (0 keeps it dense). */
  layers?: Record<string, number>;
  /** Prune DEPTHWISE_CONV_2D weights too. */
  includeDepthwise?: boolean;
  /** Layers left alone: op type names or globs on tensor names. */
  skip?: string[];
  /** obs: damping added to H, as a fraction of its mean diagonal (default 0.01). */
  damping?: number;
  /** obs: at most this many calibration samples (default 512). */
  maxSamples?: number;
  /** obs: prune layer by layer on the already-pruned model (slower, often more accurate). */
  sequential?: boolean;
}

export interface ClusterConfig {
  /** Clusters per tensor (or per channel), 2..=1024. */
  clusters: number;
  /** k clusters for each output channel instead of per tensor. */
  perChannel?: boolean;
  /** One codebook per tensor scaled per output channel (excludes perChannel; needs >= 3 clusters). */
  scaled?: boolean;
  /** Entropy-constrained clustering strength, 0 (plain k-means, default) to 100. */
  entropyPenalty?: number;
  init?: 'kmeans++' | 'linear' | 'density' | 'random';
  /** Zeros stay exactly zero and are not counted in k. */
  preserveSparsity?: boolean;
  /** Weight the k-means by each weight's input mean square on the calibration data (needs calibration). */
  dataAware?: boolean;
  includeDepthwise?: boolean;
  skip?: string[];
  /** Per-layer cluster counts: glob -> k (0 leaves the layer alone). */
  layers?: Record<string, number>;
  seed?: number;
  maxIterations?: number;
  maxSamples?: number;
}

/**
 * What to do to a model; `{}` is the identity. Applied in order: prune, cluster, quantize,
 * then the sparse format. See the README sections "Recipes" and "Report".
 */
export interface Recipe {
  /** Free-form name (used in output file names). */
  name?: string | null;
  prune?: PruneConfig | null;
  cluster?: ClusterConfig | null;
  quantize?: QuantizeConfig | null;
  /** Store sparse weights in TFLite's sparse tensor format behind DENSIFY ops. */
  sparseFormat?: boolean;
  /** Store constant data after the flatbuffer (the > 2 GB layout). */
  externalBuffers?: boolean;
}

/**
 * Check a recipe (object or JSON text) without a model: types, enum values and
 * required fields. Fields this version does not know are left to the core.
 * @throws RecipeError
 */
export declare function validateRecipe(recipe: Recipe | string): Recipe;

// ------------------------------------------------------------------ summary (snake_case)

export type DType = 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string' | (string & {});

export interface QuantSummary {
  scale: number[];
  zero_point: number[];
  quantized_dimension: number;
}

export interface TensorSummary {
  index: number;
  name: string;
  shape: number[];
  shape_signature: number[] | null;
  dtype: DType;
  quantization: QuantSummary | null;
}

export interface WeightSummary {
  name: string;
  shape: number[];
  dtype: DType;
  sparse: boolean;
  per_channel: boolean;
}

export interface LayerSummary {
  index: number;
  op: string;
  version: number;
  /** Tensor indices (-1: an omitted optional input). */
  inputs: number[];
  outputs: number[];
  /** Largest constant input (the weights), if any. */
  weight: WeightSummary | null;
  /** Elements in all constant inputs. */
  params: number;
}

export interface SubgraphSummary {
  index: number;
  name: string | null;
  tensors: number;
  ops: number;
  inputs: number[];
  outputs: number[];
}

export interface SignatureSummary {
  key: string;
  subgraph: number;
  inputs: string[];
  outputs: string[];
}

/** What `modelpress inspect` shows. */
export interface Summary {
  format: 'tflite' | (string & {});
  schema_version: number;
  description: string | null;
  bytes: number;
  /** gzip -9 size. */
  gzip_bytes: number;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** Op name -> count over all subgraphs. */
  op_histogram: Record<string, number>;
  parameters: number;
  /** Dtype -> number of constant elements. */
  weight_dtypes: Record<string, number>;
  /** Dtype -> bytes of constant data. */
  weight_bytes: Record<string, number>;
  subgraphs: SubgraphSummary[];
  signatures: SignatureSummary[];
  metadata: string[];
  layers: LayerSummary[];
  /** Whether the engine can run subgraph 0. */
  runnable: boolean;
  /** What it cannot run: "node N: OP (reason)". */
  unsupported: string[];
}

// ------------------------------------------------------------------ report (camelCase)

export interface Sizes {
  bytes: number;
  /** gzip -9 size. */
  gzipBytes: number;
}

export interface LayerReport {
  index: number;
  op: string;
  output: string;
  weight: string | null;
  weightShape: number[];
  weightDtypeBefore: string | null;
  weightDtype: string | null;
  elements: number;
  scaleMin: number | null;
  scaleMax: number | null;
  perChannel: boolean;
  /** Fraction of weight values that are exactly zero. */
  sparsity: number;
  /** Distinct stored weight values. */
  uniqueValues: number;
  /** Output activation dtype in the optimized model. */
  activationDtype: string | null;
  /** Fidelity of this layer's output against the float model. */
  sqnrDb: number | null;
  cosine: number | null;
}

export interface Fidelity {
  /** How fidelity was measured (e.g. simulated with fake-quant in the float engine). */
  method: string;
  samples: number;
  outputSqnrDb: number;
  outputCosine: number;
  /** Fraction of samples whose argmax of output 0 agrees (classifiers). */
  top1Agreement: number | null;
}

/** The optimization report (README "Report"). */
export interface Report {
  input: Sizes;
  output: Sizes;
  layers: LayerReport[];
  fidelity: Fidelity | null;
  /** Ops left float, with the reason. */
  floatOps: string[];
  /** Milliseconds per phase: optimize, write, report. */
  phasesMs: Record<string, number>;
  warnings: string[];
}

// ------------------------------------------------------------------ tensors

/** What outputs hold (Uint16Array: float16 bits). */
export type TensorData = Float32Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | BigInt64Array;

/** Any typed array; inputs are checked against the model at run time (Float64Array is converted for float32 inputs). */
export type TypedArray = TensorData | Float64Array | Uint8ClampedArray | Uint32Array | BigUint64Array;

/** One model input: data in C order, its shape, and optionally its dtype ("bool" for a Uint8Array of 0/1). */
export interface Tensor {
  data: TypedArray;
  shape: number[];
  dtype?: DType;
}

export interface InputInfo {
  name: string;
  /** -1 marks a dynamic dimension. */
  shape: number[];
  dtype: DType;
}

export interface Output {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/**
 * Calibration samples:
 * - an array of input sets, each `[{data, shape}, ...]` in model input order (for a one-input
 *   model an item may also be one `{data, shape}` or a bare TypedArray);
 * - for a one-input model, one batch: a TypedArray of N samples back to back, or
 *   `{data, shape: [N, ...]}` (e.g. from readNpy).
 */
export type Calibration = Array<Tensor[] | Tensor | TypedArray> | TypedArray | Tensor;

export type Phase = 'prune' | 'cluster' | 'calibrate' | 'quantize' | 'sparse' | 'report' | (string & {});

export interface OptimizeOptions {
  calibration?: Calibration;
  /** Called during long work: phase name and fraction done in [0, 1]. */
  onProgress?: (phase: Phase, fraction: number) => void;
  /** Cancels: the promise rejects with AbortError. */
  signal?: AbortSignal;
}

export interface OptimizeResult {
  /** The optimized .tflite file. */
  bytes: Uint8Array;
  report: Report;
}

/**
 * Integer arithmetic of int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / ADD / SUB:
 * - "exact" (default): TFLite's reference fixed-point requantization, bit-exact with LiteRT's reference kernels;
 * - "fast": single-precision requantization, as XNNPACK (LiteRT's default CPU path) does; outputs may
 *   differ from "exact" by one quantization step.
 */
export type Requantization = 'exact' | 'fast';

export interface RunOptions {
  signal?: AbortSignal;
  /** This run's integer arithmetic (default: the model's, see setRequantization). */
  requantization?: Requantization;
}

export interface ProfileOptions {
  signal?: AbortSignal;
  /** The integer arithmetic of the profiled runs (default: the model's). */
  requantization?: Requantization;
}

/** Mean time of one node over the profiled runs. */
export interface NodeProfile {
  /** Operator index in subgraph 0. */
  node: number;
  op: string;
  /** Name of the node's first output tensor. */
  output: string;
  shape: number[];
  /** Mean milliseconds per run. */
  ms: number;
}

/** Bytes the engine holds for a model. */
export interface MemoryInfo {
  /** Constant tensors kept for running. */
  constants: number;
  /** Kernel-ready state built when the model is planned (packed weights, tables). */
  prepared: number;
  /** The high-water mark of activation storage in the runs so far (graph inputs and outputs included). */
  peakActivations: number;
}

export interface BenchmarkOptions {
  /** Timed runs (default 50). */
  runs?: number;
  /** Untimed runs first (default 5). */
  warmup?: number;
  /** Inputs (default: batch 1, float inputs pseudo-random in [-1, 1), others zero). */
  inputs?: Tensor[];
  /** The integer arithmetic of the timed runs (default: the model's). */
  requantization?: Requantization;
  signal?: AbortSignal;
}

/** Latencies of run() in milliseconds. */
export interface BenchmarkResult {
  median: number;
  p90: number;
  mean: number;
  min: number;
  max: number;
  runs: number;
  warmup: number;
  /** The wasm build that ran. */
  build: BuildName;
  /** The integer arithmetic of the timed runs. */
  requantization: Requantization;
  /** Every timed run, in order. */
  times: number[];
}

/** 'relaxed-simd-threads': relaxed SIMD + wasm threads (browsers, cross-origin isolated pages; see InitOptions.threads). */
export type BuildName = 'scalar' | 'simd128' | 'relaxed-simd' | 'relaxed-simd-threads';

export interface BuildInfo {
  build: BuildName;
  /** Version of the Rust core. */
  version: string;
  /** The int8 GEMM kernel of the build (newer builds). */
  gemm?: 'relaxed-dot' | 'simd128-dot16' | 'scalar' | (string & {});
  /** Threads the int8 conv / depthwise kernels spread large layers over (1 unless the threaded build runs). */
  threads?: number;
}

/** What both Model and WorkerModel offer. */
export interface ModelApi {
  /** The wasm build this model runs on. */
  readonly build: BuildInfo;
  readonly disposed: boolean;
  /** Inputs, outputs, ops, parameters, sizes, runnable. */
  summary(): Summary;
  inputInfo(): InputInfo[];
  toBytes(): Uint8Array | Promise<Uint8Array>;
  /** Apply a recipe; resolves to the new model's bytes and the report. */
  optimize(recipe?: Recipe | string, options?: OptimizeOptions): Promise<OptimizeResult>;
  /** Run subgraph 0 on one set of inputs (a leading batch N > 1 on a batch-1 model runs item by item). */
  run(inputs: Tensor[], options?: RunOptions): Promise<Output[]>;
  benchmark(options?: BenchmarkOptions): Promise<BenchmarkResult>;
  /** The integer arithmetic of runs without their own ('exact' until setRequantization). */
  readonly requantization: Requantization;
  /**
   * Set the integer arithmetic of later runs. Throws (rejects, for WorkerModel) with
   * INVALID_ARGUMENT for another value. Gives the number of nodes it applies to (0 before the first run).
   */
  setRequantization(mode: Requantization): number | Promise<number>;
  /** Time every node: one untimed run, then `runs` (default 10) timed ones; inputs default to benchmark()'s. Batch 1. */
  profile(inputs?: Tensor[] | null, runs?: number, options?: ProfileOptions): Promise<NodeProfile[]>;
  /** Bytes the engine holds for this model, or null before the first run. */
  memoryInfo(): MemoryInfo | null | Promise<MemoryInfo | null>;
  /** Free the model's memory. Safe to call twice; later calls throw DISPOSED. */
  dispose(): void;
}

/** A model in this thread's wasm instance. */
export declare class Model implements ModelApi {
  private constructor();
  readonly build: BuildInfo;
  readonly disposed: boolean;
  summary(): Summary;
  inputInfo(): InputInfo[];
  /** The model written back unchanged. */
  toBytes(): Uint8Array;
  /**
   * The signal is checked before and after the core's work, which is one synchronous call:
   * to cut a long optimization short, use createWorkerModel.
   */
  optimize(recipe?: Recipe | string, options?: OptimizeOptions): Promise<OptimizeResult>;
  /** optimize() without the promise (blocks; no signal). */
  optimizeSync(recipe?: Recipe | string, options?: Omit<OptimizeOptions, 'signal'>): OptimizeResult;
  run(inputs: Tensor[], options?: RunOptions): Promise<Output[]>;
  runSync(inputs: Tensor[], options?: Omit<RunOptions, 'signal'>): Output[];
  benchmark(options?: BenchmarkOptions): Promise<BenchmarkResult>;
  readonly requantization: Requantization;
  setRequantization(mode: Requantization): number;
  profile(inputs?: Tensor[] | null, runs?: number, options?: ProfileOptions): Promise<NodeProfile[]>;
  memoryInfo(): MemoryInfo | null;
  dispose(): void;
}

/** A model in a worker (Web Worker, or worker thread in Node). */
export declare class WorkerModel implements ModelApi {
  private constructor();
  readonly build: BuildInfo;
  readonly disposed: boolean;
  /** Read when the model was loaded: no round trip. */
  summary(): Summary;
  inputInfo(): InputInfo[];
  toBytes(): Promise<Uint8Array>;
  /** Aborting terminates the worker; the next call starts a new one. */
  optimize(recipe?: Recipe | string, options?: OptimizeOptions): Promise<OptimizeResult>;
  run(inputs: Tensor[], options?: RunOptions): Promise<Output[]>;
  benchmark(options?: BenchmarkOptions): Promise<BenchmarkResult>;
  readonly requantization: Requantization;
  /** Kept for the new worker started after an abort. */
  setRequantization(mode: Requantization): Promise<number>;
  profile(inputs?: Tensor[] | null, runs?: number, options?: ProfileOptions): Promise<NodeProfile[]>;
  memoryInfo(): Promise<MemoryInfo | null>;
  /** Terminates the worker; pending calls reject with DISPOSED. */
  dispose(): void;
}

// ------------------------------------------------------------------ loading

/** Model bytes: a .tflite file as bytes, a Blob / File, or a fetch Response. */
export type ModelSource = Uint8Array | ArrayBufferLike | ArrayBufferView | Blob | Response;

export interface InitOptions {
  /** Force a wasm build instead of feature detection. */
  build?: BuildName;
  /** Browser: where the build's .wasm comes from (default: next to its glue): a URL, a Response, its bytes or a WebAssembly.Module. */
  wasm?: string | URL | Response | ArrayBufferLike | ArrayBufferView | object;
  /**
   * Browser: threads for int8 inference (default 1). More than 1, or 'auto' (the device's cores, at
   * most 4), starts the 'relaxed-simd-threads' build with Web Workers on shared memory where the page
   * is cross-origin isolated (COOP same-origin + COEP require-corp) and has relaxed SIMD; elsewhere
   * the single-thread build runs (BuildInfo.threads says which). Results are identical either way.
   */
  threads?: number | 'auto';
}

/** Instantiate the wasm once (loadModel does it on first use). */
export declare function initModelpress(options?: InitOptions | string | URL | Response | ArrayBufferLike | ArrayBufferView): Promise<BuildInfo>;

/** Parse a model (.tflite). Rejects with ModelpressError (INVALID_MODEL, UNSUPPORTED_FORMAT, ...). */
export declare function loadModel(source: ModelSource): Promise<Model>;

/** loadModel for bytes without the promise; in browsers after `await initModelpress()` (else NOT_READY). */
export declare function loadModelSync(bytes: Uint8Array | ArrayBufferLike | ArrayBufferView): Model;

export interface WorkerOptions {
  /** Where the package's worker script (js/worker.mjs; Node: js/worker.node.mjs) is served, if not next to the entry. */
  workerUrl?: string | URL;
  build?: BuildName;
  /** Threads inside the worker, as InitOptions.threads. */
  threads?: number | 'auto';
  /** Cancels the load. */
  signal?: AbortSignal;
}

/** Load a model into a worker: the same API with every long call off this thread. */
export declare function createWorkerModel(source: ModelSource, options?: WorkerOptions): Promise<WorkerModel>;

export declare function coreVersion(): Promise<string>;
export declare function buildInfo(): Promise<BuildInfo>;

/** Size of this thread's wasm linear memory in bytes (grows, never shrinks; 0 before init). */
export declare function wasmMemoryBytes(): number;

/** What this JS engine's WebAssembly supports. */
export declare function detectFeatures(): { wasm: boolean; simd: boolean; relaxedSimd: boolean; threads: boolean };

/** Check run() inputs against input descriptions (throws BAD_INPUT naming the input). */
export declare function prepareInputs(infos: InputInfo[], inputs: Tensor[]): { data: TypedArray; shape: number[] }[];
