//! Writes `BENCHMARKS.md` from criterion's estimates (the median of each
//! function) and the machine description gathered by `scripts/bench-jose`.
//!
//! `jose-bench-report --criterion DIR --meta FILE --since UNIX_SECONDS
//! --analysis FILE --out FILE`: estimates older than `--since` are treated as
//! missing, so that a figure from an earlier run never passes for a new one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ALGS: [&str; 4] = ["ES256", "RS256", "EdDSA", "HS256"];

/// (function, what it is) in table order.
const VERIFIERS: [(&str, &str); 10] = [
    (
        "aws_lc_rs_parsed",
        "aws-lc-rs, key parsed once (`ParsedPublicKey`)",
    ),
    (
        "aws_lc_rs_bare",
        "aws-lc-rs bare check (key as bytes) — **floor**",
    ),
    ("ring_bare", "ring bare check (key as bytes)"),
    (
        "educonnect_aws_lc_rs",
        "**educonnect** `Validation::verify`, aws-lc-rs provider",
    ),
    (
        "educonnect_aws_lc_rs_header_read",
        "**educonnect**, aws-lc-rs, header read in full (the key set keeps others)",
    ),
    (
        "educonnect_ring",
        "**educonnect** `Validation::verify`, ring provider",
    ),
    (
        "educonnect_ring_header_read",
        "**educonnect**, ring, header read in full (the key set keeps others)",
    ),
    (
        "jsonwebtoken_aws_lc_rs",
        "jsonwebtoken 11, aws-lc-rs backend",
    ),
    (
        "jsonwebtoken_rust_crypto",
        "jsonwebtoken 11, RustCrypto backend",
    ),
    ("openidconnect", "openidconnect 4 `CoreIdTokenVerifier`"),
];

struct Args {
    criterion: PathBuf,
    meta: PathBuf,
    since: SystemTime,
    analysis: Option<PathBuf>,
    out: PathBuf,
}

fn args() -> Args {
    let mut criterion = None;
    let mut meta = None;
    let mut since = UNIX_EPOCH;
    let mut analysis = None;
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--criterion" => criterion = Some(PathBuf::from(value)),
            "--meta" => meta = Some(PathBuf::from(value)),
            "--since" => {
                since = UNIX_EPOCH + Duration::from_secs(value.parse().expect("--since seconds"))
            }
            "--analysis" => analysis = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            other => panic!("unknown argument {other}"),
        }
    }
    Args {
        criterion: criterion.expect("--criterion DIR"),
        meta: meta.expect("--meta FILE"),
        since,
        analysis,
        out: out.expect("--out FILE"),
    }
}

/// Medians in nanoseconds, read lazily from criterion's directory.
struct Figures {
    dir: PathBuf,
    since: SystemTime,
}

impl Figures {
    /// The median of `group/function`, if measured since the start of the run.
    fn get(&self, group: &str, function: &str) -> Option<f64> {
        let candidates = [
            self.dir.join(group).join(function),
            // `c.bench_function("a/b")`: one group named `a/b`, stored as `a_b`.
            self.dir.join(format!("{group}_{function}")),
        ];
        candidates
            .iter()
            .find_map(|d| read_median(&d.join("new/estimates.json"), self.since))
    }
}

fn read_median(path: &Path, since: SystemTime) -> Option<f64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "–".to_owned(),
    }
}

/// Reads `key<TAB>value` lines; `load` lines keep their order.
struct Meta {
    fields: BTreeMap<String, String>,
    loads: Vec<(String, String, String)>,
}

fn meta(path: &Path) -> Meta {
    let text = std::fs::read_to_string(path).expect("meta file");
    let mut fields = BTreeMap::new();
    let mut loads = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            ["load", run, before, after] => {
                loads.push(((*run).to_owned(), (*before).to_owned(), (*after).to_owned()))
            }
            [key, value] => {
                fields.insert((*key).to_owned(), (*value).to_owned());
            }
            _ => {}
        }
    }
    Meta { fields, loads }
}

/// One goal: its statement and whether the numbers meet it.
struct Goal {
    what: String,
    verdict: Option<bool>,
    detail: String,
}

fn at_most(what: String, value: Option<f64>, base: Option<f64>, limit: f64) -> Goal {
    let (verdict, detail) = match (value, base) {
        (Some(v), Some(b)) => (Some(v <= b * limit), format!("{:.2}×", v / b)),
        _ => (None, "no figure".to_owned()),
    };
    Goal {
        what,
        verdict,
        detail,
    }
}

fn faster(what: String, ours: Option<f64>, peer: Option<f64>) -> Goal {
    let (verdict, detail) = match (ours, peer) {
        (Some(o), Some(p)) => (
            Some(o < p),
            format!("{} vs {} ({:.2}×)", time(o), time(p), o / p),
        ),
        _ => (None, "no figure".to_owned()),
    };
    Goal {
        what,
        verdict,
        detail,
    }
}

fn main() {
    let args = args();
    let meta = meta(&args.meta);
    let f = Figures {
        dir: args.criterion.clone(),
        since: args.since,
    };
    let field = |k: &str| meta.fields.get(k).map_or("?", String::as_str).to_owned();
    let mut md = String::new();

    let _ = writeln!(md, "# Benchmarks: ID token verification\n");
    let _ = writeln!(
        md,
        "Generated by `{}` (do not edit: run it again). Medians of criterion \
         runs; ratios are to the bare aws-lc-rs check of the same algorithm over \
         the same signing input and signature, and to jsonwebtoken on aws-lc-rs. \
         The code is `benches/jose` (verifiers and fixtures) and \
         `educonnect-core/benches/flow.rs` (session check).\n",
        field("command")
    );

    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n| --- | --- |");
    let _ = writeln!(md, "| CPU | {} |", field("cpu"));
    let _ = writeln!(md, "| cores | {} |", field("cores"));
    let _ = writeln!(md, "| kernel | {} |", field("kernel"));
    let _ = writeln!(md, "| rustc | {} |", field("rustc"));
    let _ = writeln!(md, "| date | {} |", field("date"));
    for (run, before, after) in &meta.loads {
        let _ = writeln!(
            md,
            "| load average (1, 5, 15 min), {run} | {before} before, {after} after |"
        );
    }
    let _ = writeln!(md);

    let _ = writeln!(md, "## ID token verification\n");
    let _ = writeln!(
        md,
        "The same FranceConnect-like ID token for every verifier (header \
         `alg`/`kid`/`typ`, eight claims, ~540 bytes); each verifier checks the \
         signature with the key of the header's `kid` among the JWKS's four keys \
         (the client secret for HS256), `iss`, `aud`, `exp`, `nonce` and `acr`. \
         The floors check the signature alone.\n"
    );
    for alg in ALGS {
        let floor = f.get(alg, "aws_lc_rs_bare");
        let jwt = f.get(alg, "jsonwebtoken_aws_lc_rs");
        let _ = writeln!(md, "### {alg}\n");
        let _ = writeln!(
            md,
            "| verifier | median / verification | × aws-lc-rs bare | × jsonwebtoken (aws-lc-rs) |"
        );
        let _ = writeln!(md, "| --- | ---: | ---: | ---: |");
        for (function, label) in VERIFIERS {
            let Some(v) = f.get(alg, function) else {
                continue;
            };
            let _ = writeln!(
                md,
                "| {label} | {} | {} | {} |",
                time(v),
                ratio(Some(v), floor),
                ratio(Some(v), jwt)
            );
        }
        let _ = writeln!(md);
    }

    let _ = writeln!(md, "## JWKS\n");
    let _ = writeln!(
        md,
        "`KeySet::from_jwks_json` on sets of P-256, Ed25519 and RSA-2048 keys in \
         turn; then ES256 verification with the token's key last among 50 \
         (selection walks every key to refuse an ambiguous `kid`), next to the \
         same verification among the four keys of the table above.\n"
    );
    let _ = writeln!(md, "| what | median | per key |\n| --- | ---: | ---: |");
    for n in [2u32, 10, 50] {
        if let Some(v) = f.get("jwks", &format!("parse_{n}")) {
            let _ = writeln!(
                md,
                "| read a JWKS of {n} keys | {} | {} |",
                time(v),
                time(v / f64::from(n))
            );
        }
    }
    let among4 = f.get("ES256", "educonnect_aws_lc_rs");
    if let Some(v) = f.get("jwks", "verify_es256_among_50") {
        let _ = writeln!(md, "| ES256 verification, key last of 50 | {} | |", time(v));
        if let Some(four) = among4 {
            let _ = writeln!(
                md,
                "| ES256 verification, among 4 (above) | {} | |\n| difference (46 more keys) | {} | {} |",
                time(four),
                time(v - four),
                time((v - four) / 46.0)
            );
        }
    }
    let _ = writeln!(md);

    let _ = writeln!(md, "## Session check\n");
    let _ = writeln!(
        md,
        "`Gateway::session` on a valid cookie (`educonnect-core/benches/flow.rs`, \
         `flow/session_valid_cookie`; core with its default features).\n"
    );
    match f.get("flow", "session_valid_cookie") {
        Some(v) => {
            let _ = writeln!(
                md,
                "| what | median |\n| --- | ---: |\n| session check, valid cookie | {} |\n",
                time(v)
            );
        }
        None => {
            let _ = writeln!(md, "No figure (the flow bench did not run).\n");
        }
    }

    let _ = writeln!(md, "## JWE decryption\n");
    let _ = writeln!(
        md,
        "An RS256 ID token encrypted to the RSA-2048 test key with RSA-OAEP-256 \
         and A256GCM (`cty` `JWT`, ~1.2 KB compact). The primitives: the \
         RSA-OAEP-256 unwrapping of the content key with aws-lc-rs, then \
         AES-256-GCM opening with the protected header as AAD (ring has no RSA \
         decryption: no ring floor).\n"
    );
    let prim = f.get("JWE", "aws_lc_rs_primitives");
    let _ = writeln!(
        md,
        "| what | median | × primitives |\n| --- | ---: | ---: |"
    );
    for (function, label) in [
        (
            "aws_lc_rs_primitives",
            "aws-lc-rs RSA-OAEP-256 + AES-256-GCM — **floor**",
        ),
        ("aws_lc_rs_rsa_oaep_only", "of which RSA-OAEP-256 alone"),
        (
            "educonnect_aws_lc_rs",
            "**educonnect** `DecryptionKeys::decrypt`, aws-lc-rs provider",
        ),
    ] {
        if let Some(v) = f.get("JWE", function) {
            let _ = writeln!(md, "| {label} | {} | {} |", time(v), ratio(Some(v), prim));
        }
    }
    let nested_floor = match (prim, f.get("RS256", "aws_lc_rs_bare")) {
        (Some(p), Some(r)) => Some(p + r),
        _ => None,
    };
    if let Some(v) = f.get("JWE", "educonnect_aws_lc_rs_verify_encrypted") {
        let _ = writeln!(
            md,
            "| **educonnect** `Validation::verify_encrypted` (decryption, then the RS256 ID token's verification) | {} | {} ({} against primitives + bare RS256 check, {}) |",
            time(v),
            ratio(Some(v), prim),
            ratio(Some(v), nested_floor),
            nested_floor.map_or_else(|| "–".to_owned(), time)
        );
    }
    let ours_jwe = f.get("JWE", "educonnect_aws_lc_rs");
    if ours_jwe.is_none() {
        let _ = writeln!(
            md,
            "| **educonnect** decryption | pending: `jose` has no JWE decryption API yet | |"
        );
    }
    let _ = writeln!(md);

    let mut goals = Vec::new();
    for alg in ["ES256", "RS256", "EdDSA"] {
        goals.push(at_most(
            format!("{alg}: educonnect (aws-lc-rs) ≤ 1.05× bare aws-lc-rs"),
            f.get(alg, "educonnect_aws_lc_rs"),
            f.get(alg, "aws_lc_rs_bare"),
            1.05,
        ));
        goals.push(at_most(
            format!("{alg}: educonnect (ring) ≤ 1.05× bare ring"),
            f.get(alg, "educonnect_ring"),
            f.get(alg, "ring_bare"),
            1.05,
        ));
    }
    for alg in ["ES256", "RS256", "EdDSA"] {
        goals.push(at_most(
            format!(
                "{alg} (for information, stricter): educonnect (aws-lc-rs) ≤ 1.05× aws-lc-rs with the key parsed once"
            ),
            f.get(alg, "educonnect_aws_lc_rs"),
            f.get(alg, "aws_lc_rs_parsed"),
            1.05,
        ));
    }
    goals.push(at_most(
        "HS256: educonnect (aws-lc-rs) ≤ 2× bare aws-lc-rs HMAC".to_owned(),
        f.get("HS256", "educonnect_aws_lc_rs"),
        f.get("HS256", "aws_lc_rs_bare"),
        2.0,
    ));
    goals.push(at_most(
        "HS256 (for information, stricter): educonnect (aws-lc-rs), header read in full, ≤ 2× bare aws-lc-rs HMAC".to_owned(),
        f.get("HS256", "educonnect_aws_lc_rs_header_read"),
        f.get("HS256", "aws_lc_rs_bare"),
        2.0,
    ));
    goals.push(at_most(
        "HS256: educonnect (ring) ≤ 2× bare ring HMAC".to_owned(),
        f.get("HS256", "educonnect_ring"),
        f.get("HS256", "ring_bare"),
        2.0,
    ));
    for alg in ALGS {
        goals.push(faster(
            format!("{alg}: educonnect (aws-lc-rs) faster than jsonwebtoken (aws-lc-rs)"),
            f.get(alg, "educonnect_aws_lc_rs"),
            f.get(alg, "jsonwebtoken_aws_lc_rs"),
        ));
    }
    for alg in ALGS {
        goals.push(faster(
            format!("{alg}: educonnect (aws-lc-rs) faster than openidconnect"),
            f.get(alg, "educonnect_aws_lc_rs"),
            f.get(alg, "openidconnect"),
        ));
    }
    goals.push(at_most(
        "JWE: educonnect decryption (aws-lc-rs) ≤ 1.1× its primitives".to_owned(),
        ours_jwe,
        prim,
        1.1,
    ));

    let _ = writeln!(md, "## Goals\n");
    let _ = writeln!(
        md,
        "Computed from the figures above (`DESIGN.md`, \"Performance targets\", and issue 14).\n"
    );
    let _ = writeln!(md, "| goal | figure | met |\n| --- | --- | --- |");
    for g in &goals {
        let verdict = match g.verdict {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "pending",
        };
        let _ = writeln!(md, "| {} | {} | {verdict} |", g.what, g.detail);
    }
    let _ = writeln!(md);

    let mut wins = Vec::new();
    for alg in ALGS {
        let Some(ours) = f.get(alg, "educonnect_aws_lc_rs") else {
            continue;
        };
        for peer in [
            "jsonwebtoken_aws_lc_rs",
            "jsonwebtoken_rust_crypto",
            "openidconnect",
        ] {
            if let Some(p) = f.get(alg, peer)
                && p < ours
            {
                wins.push(format!(
                    "- {alg}: `{peer}` {} against educonnect's {} ({:.2}×)",
                    time(p),
                    time(ours),
                    ours / p
                ));
            }
        }
    }
    let _ = writeln!(md, "## Where a peer wins\n");
    if wins.is_empty() {
        let _ = writeln!(md, "Nowhere in this run.\n");
    } else {
        let _ = writeln!(md, "{}\n", wins.join("\n"));
        let _ = writeln!(md, "Why: see the analysis below.\n");
    }

    if let Some(path) = &args.analysis {
        let text = std::fs::read_to_string(path).expect("analysis file");
        let _ = writeln!(md, "{}", text.trim_end());
    }

    std::fs::write(&args.out, md).expect("write the report");
    eprintln!("wrote {}", args.out.display());
}
