//! `bourse`: the scholarship example (actix-web). With no settings it
//! starts the offline sandbox in the process and loads the demo directory.

use std::sync::Arc;

use educonnect_examples::bourse::{self, Requests};
use educonnect_examples::settings::{Settings, Setup};

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    educonnect_examples::init_logs();
    educonnect_examples::exit_code("bourse", run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env(8081)?.act_for_policy(bourse::ACT_FOR_POLICY);
    let setup = Setup::new(settings).await?;
    if let Some(sandbox) = &setup.sandbox {
        println!(
            "Bac à sable FranceConnect / ÉduConnect : {}",
            sandbox.base_url()
        );
    }
    println!("Bourse de collège : {}/", setup.public_url);
    let listener = setup.listener.into_std()?;
    let server = bourse::server(
        listener,
        setup.gateway,
        setup.directory,
        Arc::new(Requests::default()),
    )?;
    server.await?;
    Ok(())
}
