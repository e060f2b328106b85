//! Fuzz the reader: any bytes must give a clean `Err` or a model that
//! writes back to bytes that read again identically; planning must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = modelpress::load(data) {
        let _ = modelpress::inspect::summarize(&model, data);
        let out = modelpress::save(&model).expect("a model we read must write");
        let again = modelpress::formats::tflite::read(&out).expect("a model we wrote must read");
        assert!(modelpress::save(&again).expect("rewrite") == out);
        let _ = modelpress::engine::Engine::new(&model);
    }
});
