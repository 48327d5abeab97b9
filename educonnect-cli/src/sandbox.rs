//! `educonnect sandbox`: the sandbox provider, standalone, until Ctrl-C.
//! Prints where it is, the demo client's credentials (public demo values)
//! and the demo identities; never a code or a token.

use educonnect_sandbox::demo::{self, DemoProvider};
use educonnect_sandbox::{Sandbox, SandboxConfig};

use crate::cli::SandboxArgs;
use crate::failure::Failure;
use crate::output;

/// The gateway the default redirect URIs are for.
const DEFAULT_GATEWAY: &str = "http://localhost:3000";

/// Starts the sandbox, prints its settings, serves until interrupted.
pub(crate) fn run(args: SandboxArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format_args!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: SandboxArgs) -> Result<(), Failure> {
    let mut config = SandboxConfig::new()
        .listen(args.listen)
        .signing_algorithm(args.alg.algorithm());
    let redirect_uris = if args.redirect_uri.is_empty() {
        vec![format!("{DEFAULT_GATEWAY}/auth/callback")]
    } else {
        args.redirect_uri
    };
    let logout_uris = if args.post_logout_redirect_uri.is_empty() {
        vec![format!("{DEFAULT_GATEWAY}/auth/logout/callback")]
    } else {
        args.post_logout_redirect_uri
    };
    for uri in &redirect_uris {
        config = config.redirect_uri(uri.clone());
    }
    if let Some(jwks_uri) = &args.franceconnect_plus {
        config = config.franceconnect_plus(jwks_uri.clone());
    }
    for uri in &logout_uris {
        config = config.post_logout_redirect_uri(uri.clone());
    }
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| Failure::usage(format_args!("cannot start the sandbox: {e}")))?;

    output::line("EduConnect-rs sandbox: development and tests only, its keys are public.")?;
    output::line(&format!("base URL:              {}", sandbox.base_url()))?;
    output::line(&format!(
        "FranceConnect issuer:  {}",
        sandbox.franceconnect_issuer()
    ))?;
    output::line(&format!(
        "EduConnect base:       {}",
        sandbox.educonnect_base()
    ))?;
    output::line(&format!(
        "EduConnect JWKS:       {}/profile/oidc/jwks",
        sandbox.educonnect_base()
    ))?;
    if let Some(jwks_uri) = &args.franceconnect_plus {
        output::line(&format!(
            "FranceConnect+ mode:   client keys read at {jwks_uri}"
        ))?;
    }
    output::line(&format!("client id:             {}", sandbox.client_id()))?;
    output::line(&format!(
        "client secret:         {} (demo)",
        sandbox.client_secret()
    ))?;
    for uri in &redirect_uris {
        output::line(&format!("redirect URI:          {uri}"))?;
    }
    for uri in &logout_uris {
        output::line(&format!("post-logout URI:       {uri}"))?;
    }
    output::line("demo identities (fictitious):")?;
    for identity in demo::IDENTITIES {
        let provider = match identity.provider() {
            DemoProvider::FranceConnect => "FranceConnect",
            DemoProvider::EduConnect => "EduConnect",
        };
        output::line(&format!(
            "  {:<24} {:<13} {}",
            identity.id, provider, identity.label
        ))?;
        output::line(&format!("      exercises: {}", identity.exercises))?;
        for answer in identity.challenge {
            let what = if answer.mine {
                format!("{:02}/{:02}/{}", answer.day, answer.month, answer.year)
            } else {
                "not mine (a homonym's child)".to_owned()
            };
            output::line(&format!(
                "      challenge: « {} » at {}: {what}",
                answer.initial, answer.school
            ))?;
        }
    }
    output::line("Ctrl-C to stop.")?;

    let interrupted = tokio::signal::ctrl_c().await;
    sandbox
        .shutdown()
        .await
        .map_err(|e| Failure::usage(format_args!("sandbox stopped with an error: {e}")))?;
    interrupted.map_err(|e| Failure::usage(format_args!("cannot wait for Ctrl-C: {e}")))
}
