//! The Suomi.fi Messages simulator on its own: `suomifi-sim --port 0` prints the port it took.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use tiedoksi::suomifi::sim::{self, SimConfig};

#[derive(Parser)]
#[command(
    name = "suomifi-sim",
    about = "A strict simulator of the Suomi.fi Messages REST API"
)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one and prints it.
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    #[arg(long, default_value = "sim-user")]
    username: String,
    #[arg(long, default_value = "sim-password")]
    password: String,
    #[arg(long, default_value = "sim-service")]
    service_id: String,
    /// Require exactly this Posti username in paper mail (any valid one otherwise).
    #[arg(long)]
    posti_username: Option<String>,
    /// Require exactly this Posti password in paper mail (any valid one otherwise).
    #[arg(long)]
    posti_password: Option<String>,
    /// Simulated seconds until an electronic message is read.
    #[arg(long, default_value_t = 3600)]
    read_delay_seconds: u64,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime_seconds: u64,
    /// Seed of the fault-injection dice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tiedoksi::telemetry::init(false);
    let args = Args::parse();
    let config = SimConfig {
        username: args.username,
        password: args.password,
        service_id: args.service_id,
        posti_username: args.posti_username,
        posti_password: args.posti_password,
        read_delay: Duration::from_secs(args.read_delay_seconds),
        token_lifetime: Duration::from_secs(args.token_lifetime_seconds),
        seed: args.seed,
        ..SimConfig::default()
    };
    let running = sim::spawn(config, SocketAddr::new(args.host, args.port)).await?;
    println!("suomifi-sim listening on {}", running.base_url());
    println!("port {}", running.address.port());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
