//! Fuzzes the OSV record reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = liveops_wire::osv::parse_record(data);
});
