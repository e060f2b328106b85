//! The wasm boundary: one handle class and a few functions. No logic here;
//! errors become JS `Error`s with a stable `code` property.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::engine::{Data, Engine, Value};
use crate::error::Error;
use crate::ir::Model;

fn js_err(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("ModelpressError");
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsValue> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    v.serialize(&ser).map_err(|e| js_err(Error::InvalidArgument(e.to_string())))
}

/// A loaded model.
#[wasm_bindgen]
pub struct WasmModel {
    model: Model,
    bytes: Vec<u8>,
    engine: Option<Engine>,
    fast: bool,
}

#[wasm_bindgen]
impl WasmModel {
    /// Parse model bytes (the caller's copy is not modified: the binding
    /// copies them into wasm memory once, and that copy is the one kept).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>) -> Result<WasmModel, JsValue> {
        let model = crate::load(&bytes).map_err(js_err)?;
        Ok(WasmModel { model, bytes, engine: None, fast: false })
    }

    /// Everything `inspect` shows, as a plain object.
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&crate::inspect::summarize(&self.model, &self.bytes))
    }

    /// The model written back with no change.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsValue> {
        crate::save(&self.model).map_err(js_err)
    }

    /// Apply a recipe (JSON string) and return the new model's bytes.
    pub fn optimize(&self, recipe_json: &str) -> Result<Vec<u8>, JsValue> {
        let recipe = crate::passes::Recipe::from_json(recipe_json).map_err(js_err)?;
        crate::api::optimize_to_bytes(&self.model, &recipe, &mut crate::passes::Context::none()).map_err(js_err)
    }

    /// Apply a recipe with calibration samples (array of input sets, each an
    /// array of `{data, shape}`) and an optional `progress(phase, fraction)`
    /// callback. Returns `{bytes: Uint8Array, report: object}`.
    #[wasm_bindgen(js_name = optimizeWithReport)]
    pub fn optimize_with_report(
        &self,
        recipe_json: &str,
        calibration: Option<Array>,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsValue> {
        let recipe = crate::passes::Recipe::from_json(recipe_json).map_err(js_err)?;
        let mut samples = Vec::new();
        if let Some(cal) = calibration {
            for (s, set) in cal.iter().enumerate() {
                let set = Array::from(&set);
                let mut vals = Vec::new();
                for (i, item) in set.iter().enumerate() {
                    vals.push(js_to_value(&item).map_err(|m| {
                        js_err(Error::BadInput(format!("calibration sample {s} input {i}: {m}")))
                    })?);
                }
                samples.push(vals);
            }
        }
        let mut cb = |phase: &str, f: f32| {
            if let Some(p) = &progress {
                let _ = p.call2(&JsValue::NULL, &phase.into(), &JsValue::from(f as f64));
            }
        };
        let mut ctx = crate::passes::Context::new(samples, &mut cb);
        let (bytes, report) =
            crate::api::optimize_with_report(&self.model, &self.bytes, &recipe, &mut ctx).map_err(js_err)?;
        let obj = Object::new();
        let _ = Reflect::set(&obj, &"bytes".into(), &js_sys::Uint8Array::from(bytes.as_slice()));
        let _ = Reflect::set(&obj, &"report".into(), &to_js(&report)?);
        Ok(obj.into())
    }

    /// Integer requantization of later runs: "exact" (default; TFLite's
    /// reference arithmetic, bit-exact with LiteRT's reference kernels) or
    /// "fast" (single precision as XNNPACK, LiteRT's default CPU path, does;
    /// may differ by one step). Returns the number of nodes the mode
    /// applies to (0 until the first run has planned the model).
    #[wasm_bindgen(js_name = setRequantization)]
    pub fn set_requantization(&mut self, mode: &str) -> Result<u32, JsValue> {
        self.fast = match mode {
            "exact" => false,
            "fast" => true,
            m => return Err(js_err(Error::InvalidArgument(format!("requantization must be \"exact\" or \"fast\", got {m:?}")))),
        };
        Ok(self.engine.as_mut().map_or(0, |e| e.set_fast_requant(self.fast)) as u32)
    }

    fn engine(&mut self) -> Result<&mut Engine, JsValue> {
        if self.engine.is_none() {
            let mut e = Engine::new(&self.model).map_err(js_err)?;
            e.set_fast_requant(self.fast);
            self.engine = Some(e);
        }
        Ok(self.engine.as_mut().expect("engine was just created"))
    }

    /// Run subgraph 0. `inputs`: array of `{data: TypedArray, shape: number[]}`.
    /// A leading batch larger than the model's batch of 1 runs once per item.
    /// Returns `[{name, dtype, shape, data}]`.
    pub fn run(&mut self, inputs: Array) -> Result<Array, JsValue> {
        let engine = self.engine()?;
        let mut vals = Vec::new();
        for (i, item) in inputs.iter().enumerate() {
            vals.push(js_to_value(&item).map_err(|m| js_err(Error::BadInput(format!("input {i}: {m}"))))?);
        }
        let infos = engine.outputs();
        let outs = engine.run_batched(vals).map_err(js_err)?;
        let arr = Array::new();
        for (o, info) in outs.into_iter().zip(infos) {
            let obj = Object::new();
            let _ = Reflect::set(&obj, &"name".into(), &info.name.into());
            let _ = Reflect::set(&obj, &"dtype".into(), &o.dtype().name().into());
            let shape: Array = o.shape.iter().map(|&d| JsValue::from(d as f64)).collect();
            let _ = Reflect::set(&obj, &"shape".into(), &shape);
            let _ = Reflect::set(&obj, &"data".into(), &data_to_js(&o.data));
            arr.push(&obj);
        }
        Ok(arr)
    }

    /// Run `runs` times (after one untimed run) timing every node; returns
    /// `[{node, op, output, shape, ms}]` in execution order, `ms` the mean.
    pub fn profile(&mut self, inputs: Array, runs: u32) -> Result<JsValue, JsValue> {
        let engine = self.engine()?;
        let mut vals = Vec::new();
        for (i, item) in inputs.iter().enumerate() {
            vals.push(js_to_value(&item).map_err(|m| js_err(Error::BadInput(format!("input {i}: {m}"))))?);
        }
        engine.run(vals.clone()).map_err(js_err)?;
        engine.start_profile();
        for _ in 0..runs.max(1) {
            if let Err(e) = engine.run(vals.clone()) {
                engine.take_profile();
                return Err(js_err(e));
            }
        }
        to_js(&engine.take_profile())
    }

    /// Bytes the loaded engine holds: `{constants, prepared, peakActivations}`
    /// (constant tensors kept for running, kernel-ready state such as packed
    /// weights, and the high-water mark of activation storage so far), or
    /// null before the first run.
    #[wasm_bindgen(js_name = memoryInfo)]
    pub fn memory_info(&self) -> Result<JsValue, JsValue> {
        match &self.engine {
            None => Ok(JsValue::NULL),
            Some(e) => to_js(&e.memory()),
        }
    }

    /// Input descriptions `[{name, shape, dtype}]` (-1 for dynamic dims).
    #[wasm_bindgen(js_name = inputInfo)]
    pub fn input_info(&self) -> Result<JsValue, JsValue> {
        let sg = &self.model.subgraphs[0];
        let v: Vec<serde_json::Value> = sg
            .inputs
            .iter()
            .map(|&t| {
                let t = &sg.tensors[t];
                let shape = t.shape_signature.clone().filter(|s| s.len() == t.shape.len()).unwrap_or(t.shape.clone());
                serde_json::json!({"name": t.name, "shape": shape, "dtype": t.dtype.name()})
            })
            .collect();
        to_js(&v)
    }
}

fn js_to_value(item: &JsValue) -> Result<Value, String> {
    let data = Reflect::get(item, &"data".into()).map_err(|_| "missing data".to_string())?;
    let shape = Reflect::get(item, &"shape".into()).map_err(|_| "missing shape".to_string())?;
    let shape: Vec<usize> = Array::from(&shape)
        .iter()
        .map(|d| d.as_f64().filter(|x| *x >= 0.0 && x.fract() == 0.0).map(|x| x as usize))
        .collect::<Option<_>>()
        .ok_or("shape must be an array of non-negative integers")?;
    let d = if let Some(a) = data.dyn_ref::<js_sys::Float32Array>() {
        Data::F32(a.to_vec())
    } else if let Some(a) = data.dyn_ref::<js_sys::Int32Array>() {
        Data::I32(a.to_vec())
    } else if let Some(a) = data.dyn_ref::<js_sys::Int8Array>() {
        Data::I8(a.to_vec())
    } else if let Some(a) = data.dyn_ref::<js_sys::Uint8Array>() {
        let dtype = Reflect::get(item, &"dtype".into()).ok().and_then(|d| d.as_string());
        if dtype.as_deref() == Some("bool") {
            Data::Bool(a.to_vec().into_iter().map(|b| b != 0).collect())
        } else {
            Data::U8(a.to_vec())
        }
    } else if let Some(a) = data.dyn_ref::<js_sys::Int16Array>() {
        Data::I16(a.to_vec())
    } else if let Some(a) = data.dyn_ref::<js_sys::BigInt64Array>() {
        Data::I64(a.to_vec())
    } else if let Some(a) = data.dyn_ref::<js_sys::Uint16Array>() {
        Data::F16(a.to_vec())
    } else {
        return Err("data must be a Float32Array, Int32Array, Int8Array, Uint8Array, Int16Array or BigInt64Array".into());
    };
    Value::new(shape, d).map_err(|e| e.to_string())
}

fn data_to_js(d: &Data) -> JsValue {
    match d {
        Data::F32(v) => js_sys::Float32Array::from(v.as_slice()).into(),
        Data::I32(v) => js_sys::Int32Array::from(v.as_slice()).into(),
        Data::I64(v) => js_sys::BigInt64Array::from(v.as_slice()).into(),
        Data::I16(v) => js_sys::Int16Array::from(v.as_slice()).into(),
        Data::I8(v) => js_sys::Int8Array::from(v.as_slice()).into(),
        Data::U8(v) => js_sys::Uint8Array::from(v.as_slice()).into(),
        Data::Bool(v) => {
            let b: Vec<u8> = v.iter().map(|&x| x as u8).collect();
            js_sys::Uint8Array::from(b.as_slice()).into()
        }
        Data::F16(v) => js_sys::Uint16Array::from(v.as_slice()).into(),
    }
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Keep the message of a Rust panic (a wasm trap reaches JS as
/// "unreachable" with no text) so the caller can report it.
#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        LAST_PANIC.with(|p| *p.borrow_mut() = msg);
    }));
}

/// The message of the last panic ("" if none). A panic is a bug: please
/// report it with this message.
#[wasm_bindgen(js_name = lastPanicMessage)]
pub fn last_panic_message() -> String {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// Library version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// GEMM micro-benchmark: `iters` int8 GEMMs `[m × k] · [k × n]` (weights
/// packed before timing), requantized exactly or, with `fast`, in fp32.
/// Returns `{ms, macs, kernel, checksum}`.
#[wasm_bindgen(js_name = benchGemmI8)]
pub fn bench_gemm_i8(m: u32, k: u32, n: u32, iters: u32, fast: Option<bool>) -> Result<JsValue, JsValue> {
    let r = crate::kernels::int8::bench_gemm(m as usize, k as usize, n as usize, iters as usize, fast.unwrap_or(false))
        .map_err(|m| js_err(Error::InvalidArgument(m)))?;
    to_js(&r)
}

/// Depthwise micro-benchmark: `iters` int8 3×3 depthwise convolutions of
/// an `h × w × c` image with `stride` (1 or 2), as [`bench_gemm_i8`].
#[wasm_bindgen(js_name = benchDwI8)]
pub fn bench_dw_i8(h: u32, w: u32, c: u32, stride: u32, iters: u32, fast: Option<bool>) -> Result<JsValue, JsValue> {
    let r = crate::kernels::int8::bench_dw(h as usize, w as usize, c as usize, stride as usize, iters as usize, fast.unwrap_or(false))
        .map_err(|m| js_err(Error::InvalidArgument(m)))?;
    to_js(&r)
}

/// Which instruction set this wasm build was compiled for.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> JsValue {
    let build = if cfg!(target_feature = "atomics") {
        "relaxed-simd-threads"
    } else if cfg!(target_feature = "relaxed-simd") {
        "relaxed-simd"
    } else if cfg!(target_feature = "simd128") {
        "simd128"
    } else {
        "scalar"
    };
    let obj = Object::new();
    let _ = Reflect::set(&obj, &"build".into(), &build.into());
    let _ = Reflect::set(&obj, &"version".into(), &version().into());
    let _ = Reflect::set(&obj, &"gemm".into(), &crate::kernels::int8::gemm_kernel().into());
    let _ = Reflect::set(&obj, &"threads".into(), &(crate::par::threads() as u32).into());
    obj.into()
}

/// Threaded build: whether this build has worker threads at all.
#[wasm_bindgen(js_name = threadsSupported)]
pub fn threads_supported() -> bool {
    cfg!(target_feature = "atomics")
}

/// Threaded build: the body of a worker thread (a Web Worker that
/// instantiated this module on the shared memory, see `js/threads.mjs`).
/// Takes part in the kernels' parallel work and never returns, except when
/// the worker set was already fixed. Other builds: an error.
#[wasm_bindgen(js_name = threadWorkerLoop)]
pub fn thread_worker_loop() -> Result<(), JsValue> {
    #[cfg(target_feature = "atomics")]
    {
        crate::par::worker_loop();
        Ok(())
    }
    #[cfg(not(target_feature = "atomics"))]
    Err(js_err(Error::InvalidArgument("this wasm build has no threads (use the relaxed-simd-threads build)".into())))
}

/// Threaded build: workers that have entered their loop so far.
#[wasm_bindgen(js_name = threadsStarted)]
pub fn threads_started() -> u32 {
    #[cfg(target_feature = "atomics")]
    return crate::par::started() as u32;
    #[cfg(not(target_feature = "atomics"))]
    0
}

/// Threaded build: fix the worker set to the started workers and use them;
/// returns the threads kernels now spread over (workers + caller).
#[wasm_bindgen(js_name = threadsEnable)]
pub fn threads_enable() -> u32 {
    #[cfg(target_feature = "atomics")]
    crate::par::enable();
    crate::par::threads() as u32
}
