//! Fuzzes the lockfile readers: the first byte picks the format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liveops_wire::lockfile::{Format, parse};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(pick) % Format::ALL.len()];
    let _ = parse(format, &String::from_utf8_lossy(rest));
});
