//! Fuzzes the PostHog and Segment payload readers, and the key skim that
//! runs before them: the first byte picks the endpoint and the compression
//! hint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liveops_wire::analytics::{Compression, Context, body_key, posthog, segment, unpack};

const SEGMENT: [&str; 7] = ["track", "identify", "page", "screen", "group", "alias", "batch"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut n = 0u64;
    let mut new_id = || {
        n += 1;
        format!("id-{n}")
    };
    let mut ctx = Context {
        now_ms: 1_795_000_000_000,
        new_id: &mut new_id,
    };
    if pick & 0x80 != 0 {
        let hint = match pick & 3 {
            0 => Compression::Gzip,
            1 => Compression::Base64,
            _ => Compression::None,
        };
        if let Ok(body) = unpack(rest, hint, 1 << 20) {
            let _ = body_key(&body);
            let _ = posthog(&body, &mut ctx);
        }
    } else if pick & 0x40 != 0 {
        let _ = body_key(rest);
        let _ = posthog(rest, &mut ctx);
    } else {
        let _ = segment(rest, SEGMENT[usize::from(pick) % SEGMENT.len()], &mut ctx);
    }
});
