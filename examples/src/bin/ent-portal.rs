//! `ent-portal`: the ENT example. With no settings it starts the offline
//! sandbox in the process and loads the demo directory.

use educonnect_examples::portal;
use educonnect_examples::settings::{Settings, Setup};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    educonnect_examples::init_logs();
    educonnect_examples::exit_code("ent-portal", run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env(8080)?.act_for_policy(portal::ACT_FOR_POLICY);
    let setup = Setup::new(settings).await?;
    if let Some(sandbox) = &setup.sandbox {
        println!(
            "Bac à sable FranceConnect / ÉduConnect : {}",
            sandbox.base_url()
        );
    }
    println!("ENT démo : {}/", setup.public_url);
    let app = portal::app(setup.gateway, setup.directory);
    axum::serve(setup.listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
