use clap::{Parser, Subcommand};
use tiedoksi::config::Config;
use tiedoksi::startup::Application;

#[derive(Parser)]
#[command(
    name = "tiedoksi",
    about = "Official notices through Suomi.fi Messages",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web application (the default).
    Serve,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    tiedoksi::telemetry::init(config.json_logs);
    let application = Application::build(config).await?;
    let url = format!("http://{}", application.address());
    if let Some(first) = application.first_start() {
        print_first_start(&url, &first.email, first.generated_password.as_deref());
    }
    tracing::info!(%url, "Tiedoksi is listening");
    println!("Tiedoksi is running at {url}/ (Ctrl+C stops it)");
    application.run_until(shutdown_signal()).await
}

fn print_first_start(url: &str, email: &str, generated_password: Option<&str>) {
    println!();
    println!("  First start: created the organisation and its first administrator.");
    println!("  Sign in at {url}/login");
    println!("    e-mail:   {email}");
    match generated_password {
        Some(password) => {
            println!("    password: {password}");
            println!(
                "  The password is shown only this once. Set TIEDOKSI_ADMIN_PASSWORD to choose it."
            );
        }
        None => println!("    password: the value of TIEDOKSI_ADMIN_PASSWORD"),
    }
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
