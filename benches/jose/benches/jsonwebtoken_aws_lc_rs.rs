//! `jsonwebtoken` 11 on its aws-lc-rs backend, installed as the process's
//! `CryptoProvider` (the crate is built with both backends).

fn main() {
    jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
        .install_default()
        .expect("first provider of the process");
    let mut c = educonnect_jose_bench::criterion();
    educonnect_jose_bench::jsonwebtoken_peer::bench(&mut c, "jsonwebtoken_aws_lc_rs");
    c.final_summary();
}
