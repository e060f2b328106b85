//! Milliseconds for phase timings, natively and in wasm (no `Instant` there):
//! `performance.now()` where the JS host has it (browsers, workers, Node),
//! else `Date.now()`.

#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = performance, js_name = now)]
        pub fn performance_now() -> Result<f64, JsValue>;
    }
}

#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    js::performance_now().unwrap_or_else(|_| js_sys::Date::now())
}
