//! Fuzzes the OTLP/HTTP decoders: the first byte picks traces or metrics,
//! protobuf or JSON, and whether the body is gzip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liveops_wire::otlp::{Encoding, decode_metrics, decode_traces, unpack};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let encoding = if pick & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let body = if pick & 4 != 0 {
        match unpack(rest, true, 1 << 20) {
            Ok(b) => b,
            Err(_) => return,
        }
    } else {
        rest.to_vec()
    };
    if pick & 2 == 0 {
        let _ = decode_traces(&body, encoding);
    } else {
        let _ = decode_metrics(&body, encoding);
    }
});
