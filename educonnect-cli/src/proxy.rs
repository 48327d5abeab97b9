//! `educonnect proxy --config FILE [--check]`: the authentication proxy of
//! `educonnect-proxy`, until SIGTERM or Ctrl-C.

use educonnect_proxy::{ProxyConfig, Started, shutdown_signal};

use crate::cli::ProxyArgs;
use crate::failure::Failure;
use crate::output;

/// Checks the file; without `--check`, serves until interrupted.
pub(crate) fn run(args: &ProxyArgs) -> Result<(), Failure> {
    let config = ProxyConfig::from_file(&args.config).map_err(Failure::usage)?;
    if args.check {
        return output::line(&format!(
            "{}: ok: listen {}, upstream {}, {} rules",
            config.file.display(),
            config.listen,
            config.upstream,
            config.rules.len()
        ));
    }
    // Logs on standard error (`RUST_LOG`, default info): ids and reasons,
    // never a name, a birth date or a token.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format_args!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let started = Started::new(&config)
            .await
            .map_err(|e| Failure::usage(format_args!("{}: cannot start: {e}", config.file.display())))?;
        let addr = started
            .local_addr()
            .map_err(|e| Failure::usage(format_args!("cannot read the listening address: {e}")))?;
        tracing::info!(%addr, upstream = %config.upstream, public_url = %started.public_url, "proxy listening");
        output::line(&format!("listening on http://{addr}, public URL {}", started.public_url))?;
        started
            .serve(shutdown_signal())
            .await
            .map_err(|e| Failure::usage(format_args!("proxy: {e}")))
    })
}
