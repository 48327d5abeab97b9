//! `jsonwebtoken` 11 on its RustCrypto backend (`rsa`, `p256`,
//! `ed25519-dalek`, `hmac`), installed as the process's `CryptoProvider`.

fn main() {
    jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
        .install_default()
        .expect("first provider of the process");
    let mut c = educonnect_jose_bench::criterion();
    educonnect_jose_bench::jsonwebtoken_peer::bench(&mut c, "jsonwebtoken_rust_crypto");
    c.final_summary();
}
