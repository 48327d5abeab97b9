//! Import throughput.
#![allow(missing_docs)]
fn main() {}
