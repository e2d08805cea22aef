use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tiedoksi::config::Config;
use tiedoksi::dates::{legal_dates, ServiceChannel};
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
    /// Deemed receipt and appeal deadline of a notice, as JSON (for support staff).
    LegalDates {
        /// The day the notice was sent, YYYY-MM-DD.
        #[arg(long)]
        sent: String,
        #[arg(long, value_enum)]
        channel: ChannelArg,
        /// Length of the appeal period in days (30 for oikaisuvaatimus and appeals, 14 for a
        /// municipal oikaisuvaatimus).
        #[arg(long, default_value_t = 30)]
        appeal_days: i64,
        /// Verifiable service: the day of acknowledgement or of the Posti receipt, YYYY-MM-DD.
        #[arg(long)]
        acknowledged: Option<String>,
    },
    /// Re-seal every sealed value under the current data key (TIEDOKSI_DATA_KEY), opening
    /// those sealed under an earlier one (TIEDOKSI_DATA_KEY_PREVIOUS). Runs in batches and
    /// can be stopped and started again; the application may keep running meanwhile.
    RotateDataKey {
        /// Values re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Organisations hosted here (the first-start demo is one).
    Organisations {
        #[command(subcommand)]
        command: OrganisationCommand,
    },
    /// Users of an organisation (an admin for a new one); prints a one-time link to set the
    /// password.
    Users {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Keys of case-management systems for the integration API (`/api/v1`).
    #[command(name = "api-keys")]
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// The SMTP bridge's sender domains, relay networks and mail settings.
    Smtp {
        /// The organisation's id or name; may be left out when there is only one.
        #[arg(long, global = true)]
        organisation: Option<String>,
        #[command(subcommand)]
        command: SmtpCommand,
    },
    /// Reads and renders PDFs in a child process under memory and time limits (internal).
    #[command(name = "pdf-worker", hide = true)]
    PdfWorker,
}

#[derive(Subcommand)]
enum OrganisationCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        business_id: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Makes a key and prints it once.
    Create {
        /// Business ID, id or name of the organisation.
        #[arg(long)]
        organisation: String,
        /// What the key is for (the case system's name); shown in lists and the audit log.
        #[arg(long)]
        name: String,
        /// The Suomi.fi service id its notices go through (one of the organisation's);
        /// unset: the organisation's default.
        #[arg(long)]
        service: Option<String>,
    },
    /// The organisation's keys (never the keys themselves).
    List {
        #[arg(long)]
        organisation: String,
    },
    /// Stops a key working at once.
    Revoke {
        #[arg(long)]
        organisation: String,
        /// The key's id (from `list`).
        id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    Create {
        /// Business ID, id or name of the organisation.
        #[arg(long)]
        organisation: String,
        #[arg(long)]
        email: String,
        /// admin, caseworker or auditor.
        #[arg(long)]
        role: String,
        /// Shown in the UI; the e-mail address if left out.
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Subcommand)]
enum SmtpCommand {
    /// Domains whose addresses may send (From, Reply-To and the envelope sender).
    Senders {
        #[command(subcommand)]
        action: ListAction,
    },
    /// Client addresses or networks (CIDR) allowed to hand over the organisation's mail.
    Relays {
        #[command(subcommand)]
        action: ListAction,
    },
    /// Names and secrets for SMTP AUTH, for clients not on a relay network.
    Credentials {
        #[command(subcommand)]
        action: ListAction,
    },
    /// What a mail's notice gets unless its X-Tiedoksi-* headers say otherwise.
    Settings {
        /// decision, summons, completion_request, inspection_report, notification, …
        #[arg(long)]
        notice_type: Option<String>,
        #[arg(long)]
        verifiable: Option<bool>,
        /// Mail becomes a draft a caseworker finishes (e.g. adds an address for paper).
        #[arg(long)]
        draft_mode: Option<bool>,
        /// fi, sv or en.
        #[arg(long)]
        language: Option<String>,
        /// Mail the sender when a notice is sent, read, its receipt confirmed.
        #[arg(long)]
        acknowledgements: Option<bool>,
        /// Forward citizens' replies to this address (in a sender domain); "" stops it.
        #[arg(long)]
        replies_to: Option<String>,
    },
}

#[derive(Subcommand)]
enum ListAction {
    Add { value: String },
    Remove { value: String },
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChannelArg {
    Electronic,
    Paper,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        // Before any runtime or thread exists: the worker lives under a small memory limit.
        Command::PdfWorker => return tiedoksi::pdf_worker::serve_stdio(),
        Command::LegalDates {
            sent,
            channel,
            appeal_days,
            acknowledged,
        } => print_legal_dates(&sent, channel, appeal_days, acknowledged.as_deref()),
        Command::Serve => runtime().and_then(|runtime| runtime.block_on(serve())),
        Command::RotateDataKey { batch } => {
            runtime().and_then(|runtime| runtime.block_on(rotate_data_key(batch)))
        }
        Command::Smtp {
            organisation,
            command,
        } => runtime().and_then(|runtime| runtime.block_on(smtp(organisation, command))),
        Command::Organisations { command } => {
            runtime().and_then(|runtime| runtime.block_on(organisations(command)))
        }
        Command::Users { command } => {
            runtime().and_then(|runtime| runtime.block_on(users(command)))
        }
        Command::ApiKeys { command } => {
            runtime().and_then(|runtime| runtime.block_on(api_keys(command)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // One line, whatever RUST_BACKTRACE says: this is for people, not for debugging.
        Err(error) => {
            eprintln!("tiedoksi: {error:#}");
            ExitCode::FAILURE
        }
    }
}

// At least four workers whatever the core count: Leptos 0.8's server rendering can stall a
// resource on a runtime with a single worker (leptos-rs/leptos#4647), and a one-CPU container
// would otherwise get exactly one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?)
}

async fn rotate_data_key(batch: i64) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    tiedoksi::telemetry::init(config.json_logs);
    let report = tiedoksi::rotation::rotate(&config, batch).await?;
    println!(
        "re-sealed {} deliveries, {} drafts, {} replies, {} mails and {} Suomi.fi services under key {} ({} deliveries were already under it), and {} rows of batches waiting to be sent",
        report.resealed,
        report.drafts_resealed,
        report.replies_resealed,
        report.mails_resealed,
        report.services_resealed,
        report.key_id,
        report.already_current,
        report.batch_rows_resealed
    );
    Ok(())
}

async fn organisations(command: OrganisationCommand) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let store = tiedoksi::store::connect(&config.database_url).await?;
    let OrganisationCommand::Create { name, business_id } = command;
    let report = tiedoksi::admin::operator::create_organisation(&store, &name, &business_id).await;
    store.close().await;
    println!("{}", report?);
    Ok(())
}

async fn api_keys(command: ApiKeyCommand) -> anyhow::Result<()> {
    use tiedoksi::admin::operator;
    use tiedoksi::api::keys;
    const OPERATOR: &str = "operator: command line";
    let config = Config::from_env()?;
    let store = tiedoksi::store::connect(&config.database_url).await?;
    let report = async {
        match command {
            ApiKeyCommand::Create {
                organisation,
                name,
                service,
            } => {
                let organisation = operator::find_organisation(&store, &organisation).await?;
                let service = match service {
                    Some(wanted) => Some(
                        store
                            .services(organisation.id)
                            .await?
                            .into_iter()
                            .find(|s| s.service_id == wanted)
                            .ok_or_else(|| {
                                anyhow::anyhow!(
                                    "{} has no Suomi.fi service {wanted:?}",
                                    organisation.name
                                )
                            })?
                            .id,
                    ),
                    None => None,
                };
                let made =
                    keys::create_key_for_service(&store, organisation.id, &name, service, OPERATOR)
                        .await?;
                anyhow::Ok(format!(
                    "created API key {:?} ({}) for {}. The key, shown only now:\n  {}",
                    made.row.name, made.row.id, organisation.name, made.secret
                ))
            }
            ApiKeyCommand::List { organisation } => {
                let organisation = operator::find_organisation(&store, &organisation).await?;
                let lines: Vec<String> = store
                    .api_keys(organisation.id)
                    .await?
                    .into_iter()
                    .map(|key| {
                        format!(
                            "{}  {}…  {}  made {}{}",
                            key.id,
                            key.prefix,
                            key.name,
                            key.created_at.to_rfc3339(),
                            match (key.revoked_at, key.last_used_at) {
                                (Some(at), _) => format!(", revoked {}", at.to_rfc3339()),
                                (None, Some(at)) => format!(", last used {}", at.to_rfc3339()),
                                (None, None) => ", never used".to_string(),
                            }
                        )
                    })
                    .collect();
                Ok(if lines.is_empty() {
                    format!("{} has no API keys", organisation.name)
                } else {
                    lines.join("\n")
                })
            }
            ApiKeyCommand::Revoke { organisation, id } => {
                let organisation = operator::find_organisation(&store, &organisation).await?;
                if keys::revoke_key(&store, organisation.id, id, OPERATOR).await? {
                    Ok(format!("revoked API key {id}: it works no more"))
                } else {
                    anyhow::bail!("{} has no live API key {id}", organisation.name)
                }
            }
        }
    }
    .await;
    store.close().await;
    println!("{}", report?);
    Ok(())
}

async fn users(command: UserCommand) -> anyhow::Result<()> {
    use tiedoksi::admin::operator;
    let config = Config::from_env()?;
    let store = tiedoksi::store::connect(&config.database_url).await?;
    let UserCommand::Create {
        organisation,
        email,
        role,
        name,
    } = command;
    let role = app::auth::Role::parse(role.trim())
        .ok_or_else(|| anyhow::anyhow!("the role must be admin, caseworker or auditor"))?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.addr));
    let report = async {
        let organisation = operator::find_organisation(&store, &organisation).await?;
        operator::create_user(&store, &organisation, &email, &name, role, &base_url).await
    }
    .await;
    store.close().await;
    println!("{}", report?);
    Ok(())
}

async fn smtp(organisation: Option<String>, command: SmtpCommand) -> anyhow::Result<()> {
    use tiedoksi::smtp::admin;
    let config = Config::from_env()?;
    let store = tiedoksi::store::connect(&config.database_url).await?;
    let org = admin::organisation(&store, organisation.as_deref()).await?;
    let report = match command {
        SmtpCommand::Senders { action } => match action {
            ListAction::Add { value } => admin::add_sender(&store, &org, &value).await?,
            ListAction::Remove { value } => admin::remove_sender(&store, &org, &value).await?,
            ListAction::List => admin::list(&store, &org).await?,
        },
        SmtpCommand::Relays { action } => match action {
            ListAction::Add { value } => admin::add_relay(&store, &org, &value).await?,
            ListAction::Remove { value } => admin::remove_relay(&store, &org, &value).await?,
            ListAction::List => admin::list(&store, &org).await?,
        },
        SmtpCommand::Credentials { action } => match action {
            ListAction::Add { value } => admin::create_credential(&store, &org, &value).await?,
            ListAction::Remove { value } => admin::revoke_credential(&store, &org, &value).await?,
            ListAction::List => admin::list_credentials(&store, &org).await?,
        },
        SmtpCommand::Settings {
            notice_type,
            verifiable,
            draft_mode,
            language,
            acknowledgements,
            replies_to,
        } => {
            let change = admin::SettingsChange {
                notice_type: notice_type.as_deref(),
                verifiable,
                draft_mode,
                language: language.as_deref(),
                acknowledgements,
                replies_to: replies_to.as_deref(),
            };
            admin::configure(&store, &org, change).await?
        }
    };
    println!("{report}");
    store.close().await;
    Ok(())
}

fn parse_date(name: &str, value: &str) -> anyhow::Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value.trim(), &format).map_err(|_| {
        anyhow::anyhow!("--{name} must be a real date as YYYY-MM-DD, got {value:?}")
    })?;
    // Notices are served in this era: the dates that follow must exist too.
    if !(1900..=2200).contains(&date.year()) {
        anyhow::bail!("--{name} must be between 1900 and 2200, got {value:?}");
    }
    Ok(date)
}

fn print_legal_dates(
    sent: &str,
    channel: ChannelArg,
    appeal_days: i64,
    acknowledged: Option<&str>,
) -> anyhow::Result<()> {
    let sent = parse_date("sent", sent)?;
    let acknowledged = acknowledged
        .map(|value| parse_date("acknowledged", value))
        .transpose()?;
    if !(1..=3650).contains(&appeal_days) {
        anyhow::bail!("--appeal-days must be between 1 and 3650, got {appeal_days}");
    }
    if acknowledged.is_some_and(|date| date < sent) {
        anyhow::bail!("--acknowledged cannot be before --sent");
    }
    let channel = match channel {
        ChannelArg::Electronic => ServiceChannel::Electronic,
        ChannelArg::Paper => ServiceChannel::Paper,
    };
    let dates = legal_dates(
        sent,
        channel,
        acknowledged,
        appeal_days,
        tiedoksi::config::Config::from_env()?.receipt,
    );
    let output = serde_json::json!({
        "deemed_receipt": dates.deemed_receipt.to_string(),
        "appeal_deadline": dates.appeal_deadline.to_string(),
        "rule": dates.rule,
        "moved_from": dates.moved_from.map(|date| date.to_string()),
    });
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    config.check_safety()?;
    tiedoksi::telemetry::init(config.json_logs);
    let application = Application::build(config).await?;
    let url = format!("http://{}", application.address());
    if let Some(first) = application.first_start() {
        print_first_start(&url, &first.email, first.generated_password.as_deref());
    }
    tracing::info!(%url, "Tiedoksi is listening");
    println!("Tiedoksi is running at {url}/ (Ctrl+C stops it)");
    if let Some(smtp) = application.smtp_address() {
        println!(
            "The SMTP bridge listens at {smtp}: mail to <identity code>@asiointitili.fi from a \
             registered sender domain becomes a notice (`tiedoksi smtp senders list`)."
        );
    }
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
