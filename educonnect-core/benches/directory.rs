//! Directory lookups at 10 thousand, 1 million and 10 million guardians.
#![allow(missing_docs)]
fn main() {}
