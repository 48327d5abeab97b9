//! `educonnect`: generate signing keys, sign, verify and inspect tokens
//! (compact JWS) with the EduConnect-rs core.

fn main() {}
