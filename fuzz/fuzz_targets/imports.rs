//! Fuzzes the import readers: feedback CSV and JSON, SARIF, pentest CSV,
//! X.509 certificates and alert webhooks. The first byte picks the reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liveops_wire::{alerts, feedback, sarif, x509};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 7 {
        0 => drop(feedback::parse_csv(rest)),
        1 => drop(feedback::parse_json(rest)),
        2 => drop(sarif::parse_sarif(rest)),
        3 => drop(sarif::parse_pentest_csv(rest, "fuzz")),
        4 => drop(x509::parse(rest)),
        5 => drop(alerts::parse_alertmanager(rest)),
        _ => drop(alerts::parse_generic(rest)),
    }
});
