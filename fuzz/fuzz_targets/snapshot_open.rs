//! Any bytes as a directory snapshot file (`educonnect directory compile`'s
//! output, which a gateway maps at start): opening never panics, as the
//! bytes are and with their checksum recomputed (so that mutations reach
//! the section and record checks); a snapshot that opens is read whole
//! (every record decoded and looked up again, every link followed, rebuilt
//! through a builder, written back and opened again) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = educonnect_core::internal::snapshot_open(data);
});
