//! Fuzzes the OpenAPI reader (JSON and YAML, refs resolved).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = liveops_wire::openapi::parse(data);
});
