//! Command-line grammar and dispatch.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use liveops_server::{Config, ConfigFlags};

use crate::{admin, client};

/// liveops: incidents, analytics, feedback, releases, performance, security
/// and reviews for a product that is live, in one self-hosted binary.
#[derive(Debug, Parser)]
#[command(
    name = "liveops",
    version,
    propagate_version = true,
    after_long_help = EXIT_STATUS
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The exit statuses, which scripts may rely on.
const EXIT_STATUS: &str = "Exit status:
  0  success, and also when the reader of the output goes away early
     (`liveops ... | head`)
  1  a verdict the output explains (vulnerable dependencies, breaking API
     changes, a failed check), or an operation that failed (`error: ...`)
  2  a usage error, or input that cannot be used (a file that does not
     parse, a bad value)";

#[derive(Debug, Args)]
pub struct Global {
    /// Config file to read (default: ./liveops.toml when it exists).
    #[arg(long, global = true, env = "LIVEOPS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory for state and telemetry [env: LIVEOPS_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep state in PostgreSQL at this url [env: LIVEOPS_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Keep product analytics in ClickHouse at this HTTP url
    /// [env: LIVEOPS_CLICKHOUSE_URL].
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub clickhouse_url: Option<String>,
    /// Output format for commands that print data.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The liveops server to talk to, for client commands.
    #[arg(long, global = true, env = "LIVEOPS_SERVER", value_name = "URL")]
    pub server: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// SARIF 2.1.0, for `audit deps`; other commands print a table.
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [env: LIVEOPS_LISTEN] [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Manage users (admin; works on the data directory or database directly).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Apply database migrations (admin).
    Migrate,
    /// Show configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent snapshot of state and telemetry to DEST, even while the server runs (admin).
    Backup {
        /// A directory that does not exist yet, or is empty.
        dest: PathBuf,
    },
    /// Restore a snapshot from SRC into the data directory or database; the server must be stopped (admin).
    Restore {
        /// A directory written by `liveops backup`.
        src: PathBuf,
    },
    /// Save a server address and API token for the client commands.
    Login {
        /// Read the token from standard input instead of LIVEOPS_TOKEN.
        #[arg(long)]
        token_stdin: bool,
    },
    /// Show who the API token belongs to (client).
    Whoami,
    /// A project now: open incidents and who is on call, active users,
    /// requests, SLO budgets, security findings past their SLA and the next
    /// release (client).
    Overview {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Make a project's configuration match a YAML file: schedules, tiers,
    /// policies, integrations, hooks, components, SLOs, alert rules,
    /// capacity, retention, key funnels, trains and credentials (client).
    Apply {
        /// The file, as `export-config` writes it ("-" reads standard input).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// The project, when the file does not name it.
        #[arg(long, value_name = "SLUG")]
        project: Option<String>,
        /// Print the plan (create, update or delete, per object) and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete what the file leaves out.
        #[arg(long)]
        prune: bool,
    },
    /// Write a project's configuration as YAML, in the form `apply` reads (client).
    ExportConfig {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// One setting of any kind by name: list, set from a file, delete (client).
    #[command(subcommand)]
    Settings(crate::configuration::SettingsCommand),
    /// Production support: incidents, on-call, tickets, maintenance windows (client).
    #[command(subcommand)]
    Support(SupportCommand),
    /// Error tracking: the Sentry DSN, issues grouped from stack traces,
    /// resolve, ignore, merge and unmerge (client).
    #[command(subcommand)]
    Errors(crate::errors::ErrorsCommand),
    /// Source maps for browser errors: upload a build's scripts and maps
    /// for a release, list and delete them (client).
    #[command(subcommand)]
    Sourcemaps(crate::sourcemaps::SourcemapsCommand),
    /// Usage analytics: trends, active users, funnels, retention, features, persons, export (client).
    #[command(subcommand)]
    Analytics(crate::analytics::AnalyticsCommand),
    /// Customer feedback: record, import, link to the backlog as votes; the
    /// backlog with its votes, RICE/ICE scores and merges (client).
    #[command(subcommand)]
    Feedback(FeedbackArea),
    /// Release planning: plan, schedule, freeze and ship releases, notes from
    /// Conventional Commits, release trains and deployments.
    #[command(subcommand, alias = "release")]
    Releases(ReleasesCommand),
    /// Performance: route latency and errors, query fingerprints, findings,
    /// traces, the tuning report, SLOs and their burn rates (client).
    #[command(subcommand, alias = "perf")]
    Performance(PerformanceCommand),
    /// Security audits: the audit log, certificates, TLS endpoints, secrets,
    /// dependencies, and the offline OSV database.
    #[command(subcommand)]
    Security(SecurityCommand),
    /// Scaling: capacity forecasts and the replicas they call for, and how
    /// long telemetry is kept (client).
    #[command(subcommand)]
    Scaling(ScalingCommand),
    /// How long a project keeps its events, spans and metrics (client; also
    /// `liveops scaling retention`).
    #[command(subcommand)]
    Retention(crate::retention::RetentionCommand),
    /// Documentation sync: OpenAPI change detection and stale pages
    /// (standalone), decision records (client).
    #[command(subcommand)]
    Docs(crate::docs::DocsCommand),
    /// Post-production reviews: postmortems drafted from incident data,
    /// their workflow and action items; post-launch reviews (client).
    #[command(subcommand, alias = "review")]
    Reviews(crate::reviews::ReviewCommand),
    /// Continuous improvement: the DORA four keys and the weekly report (client).
    #[command(subcommand)]
    Improvement(ImprovementCommand),
    /// Print a shell completion script, for example
    /// `liveops completions bash > /etc/bash_completion.d/liveops`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (section 1), one per command, into DIR, or
    /// print `liveops(1)` when no DIR is given.
    Man {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },

    // Today's names from before the commands followed the areas, kept.
    #[command(subcommand, hide = true)]
    Audit(crate::security::AuditCommand),
    #[command(subcommand, hide = true)]
    Osv(crate::security::OsvCommand),
    #[command(subcommand, hide = true)]
    Incident(crate::support::IncidentCommand),
    #[command(subcommand, hide = true)]
    Oncall(crate::support::OncallCommand),
    #[command(subcommand, hide = true)]
    Ticket(crate::support::TicketCommand),
    #[command(subcommand, hide = true)]
    Maintenance(crate::support::MaintenanceCommand),
    #[command(subcommand, hide = true)]
    Slo(crate::performance::SloCommand),
    #[command(subcommand, hide = true)]
    Backlog(crate::feedback::BacklogCommand),
    #[command(hide = true)]
    Dora(crate::improvement::DoraArgs),
    #[command(hide = true)]
    Capacity(crate::scaling::CapacityArgs),
    #[command(subcommand, hide = true)]
    Report(crate::improvement::ReportCommand),
    #[command(subcommand, hide = true)]
    Train(crate::releases::TrainCommand),
    #[command(subcommand, hide = true)]
    Deploy(crate::releases::DeployCommand),
}

/// `liveops support …`.
#[derive(Debug, Subcommand)]
pub enum SupportCommand {
    /// Incidents: list, show, open, ack, resolve, escalate, note, stats, fixed-by.
    #[command(subcommand)]
    Incident(crate::support::IncidentCommand),
    /// Who is on call.
    #[command(subcommand)]
    Oncall(crate::support::OncallCommand),
    /// Support tickets.
    #[command(subcommand)]
    Ticket(crate::support::TicketCommand),
    /// Status-page maintenance windows: list, schedule, move.
    #[command(subcommand)]
    Maintenance(crate::support::MaintenanceCommand),
}

/// `liveops feedback …`.
#[derive(Debug, Subcommand)]
pub enum FeedbackArea {
    #[command(flatten)]
    Feedback(crate::feedback::FeedbackCommand),
    /// The product backlog: items, votes, RICE/ICE scores, merges.
    #[command(subcommand)]
    Backlog(crate::feedback::BacklogCommand),
}

/// `liveops releases …`.
#[derive(Debug, Subcommand)]
pub enum ReleasesCommand {
    #[command(flatten)]
    Release(crate::releases::ReleaseCommand),
    /// Release trains: cadence, freeze days and calendar.
    #[command(subcommand)]
    Train(crate::releases::TrainCommand),
    /// Deployments: record what went live, with the commits it carried.
    #[command(subcommand)]
    Deploy(crate::releases::DeployCommand),
}

/// `liveops performance …`.
#[derive(Debug, Subcommand)]
pub enum PerformanceCommand {
    #[command(flatten)]
    Perf(crate::performance::PerfCommand),
    /// SLOs: availability and latency objectives, error budgets, burn rates.
    #[command(subcommand)]
    Slo(crate::performance::SloCommand),
}

/// `liveops security …`.
#[derive(Debug, Subcommand)]
pub enum SecurityCommand {
    /// Read a project's audit log (client); audit certificates, TLS
    /// endpoints, files for secrets and lockfiles for vulnerabilities (standalone).
    #[command(subcommand)]
    Audit(crate::security::AuditCommand),
    /// The offline OSV vulnerability database: import, status (standalone).
    #[command(subcommand)]
    Osv(crate::security::OsvCommand),
}

/// `liveops scaling …`.
#[derive(Debug, Subcommand)]
pub enum ScalingCommand {
    /// Capacity planning: request-rate, CPU and memory forecasts 30, 60 and
    /// 90 days ahead, when each reaches its capacity, and the replicas the
    /// HPA formula calls for; `capacity set` configures a capacity.
    Capacity(crate::scaling::CapacityArgs),
    /// How long the project keeps its events, spans and metrics.
    #[command(subcommand)]
    Retention(crate::retention::RetentionCommand),
}

/// `liveops improvement …`.
#[derive(Debug, Subcommand)]
pub enum ImprovementCommand {
    /// DORA four keys: deployment frequency, lead time, change failure rate,
    /// time to restore, with their levels.
    Dora(crate::improvement::DoraArgs),
    /// The weekly continuous-improvement report: on demand, kept and sent
    /// (--send), its history, and who receives it.
    #[command(subcommand)]
    Report(crate::improvement::ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and print a generated password (or read one from stdin).
    Add {
        email: String,
        /// Make the user an instance administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget a user's failed sign-ins, so they need not wait out the delay (admin).
    Unlock { email: String },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project and print its slug and ingest key (admin).
    Create {
        name: String,
        /// URL name; derived from NAME when left out.
        #[arg(long)]
        slug: Option<String>,
        /// Make this user the project's owner.
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
    },
    /// Add a user to a project, or change their role (admin).
    AddMember {
        #[arg(long)]
        project: String,
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// owner, admin, responder or viewer.
        #[arg(long)]
        role: String,
    },
    /// List the projects the API token can reach (client).
    List,
    /// Show the project's keys, or replace one and print it once (client).
    Keys {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Replace this key: browser (SDKs, public), server (OTLP) or mail (inbound e-mail).
        #[arg(long, value_name = "PURPOSE")]
        rotate: Option<String>,
    },
    /// Turn the public status page and changelog on or off (client).
    PublicPages {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// on or off.
        #[arg(long, value_name = "on|off")]
        status_page: Option<OnOff>,
        /// on or off.
        #[arg(long, value_name = "on|off")]
        changelog: Option<OnOff>,
    },
}

/// A switch on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user in a project (or, with --instance,
    /// one that acts as the user everywhere) and print it once (admin).
    Create {
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// The one project the token reaches.
        #[arg(
            long,
            value_name = "SLUG",
            required_unless_present = "instance",
            conflicts_with = "instance"
        )]
        project: Option<String>,
        /// An instance token: not bound to a project, needed for instance-wide
        /// work (users, new projects, notification rules).
        #[arg(long)]
        instance: bool,
        /// Comma-separated: read, write, admin.
        #[arg(long, default_value = "read")]
        scopes: String,
        /// Lifetime such as 30d, 12h or 2w.
        #[arg(long, default_value = "90d")]
        expires_in: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List your tokens in a project (client).
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Revoke a token (client).
    Revoke {
        #[arg(long, value_name = "SLUG")]
        project: String,
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, secrets redacted.
    Show,
}

impl Global {
    pub fn load_config(&self) -> anyhow::Result<Config> {
        self.load_config_with(None)
    }

    pub fn load_config_with(&self, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
        let flags = ConfigFlags {
            data_dir: self.data_dir.clone(),
            listen,
            database_url: self.database_url.clone(),
            clickhouse_url: self.clickhouse_url.clone(),
        };
        Ok(Config::load(self.config.as_deref(), &flags)?)
    }
}

pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Serve { listen } => admin::serve(g.load_config_with(listen)?).await,
        Command::User(UserCommand::Add {
            email,
            admin,
            password_stdin,
        }) => admin::user_add(g, &email, admin, password_stdin).await,
        Command::Project(ProjectCommand::Create { name, slug, owner }) => {
            admin::project_create(g, &name, slug.as_deref(), owner.as_deref()).await
        }
        Command::Project(ProjectCommand::AddMember {
            project,
            user,
            role,
        }) => admin::add_member(g, &project, &user, &role).await,
        Command::Project(ProjectCommand::List) => client::project_list(g).await,
        Command::Project(ProjectCommand::Keys { project, rotate }) => {
            client::project_keys(g, &project, rotate.as_deref()).await
        }
        Command::Project(ProjectCommand::PublicPages {
            project,
            status_page,
            changelog,
        }) => client::public_pages(g, &project, status_page, changelog).await,
        Command::User(UserCommand::Unlock { email }) => admin::user_unlock(g, &email).await,
        Command::Token(TokenCommand::Create {
            user,
            project,
            instance: _,
            scopes,
            expires_in,
            name,
        }) => admin::token_create(g, &user, project.as_deref(), &scopes, &expires_in, &name).await,
        Command::Token(TokenCommand::List { project }) => client::token_list(g, &project).await,
        Command::Token(TokenCommand::Revoke { project, id }) => {
            client::token_revoke(g, &project, &id).await
        }
        Command::Migrate => admin::migrate(g).await,
        Command::Completions { shell } => crate::manual::completions(shell),
        Command::Man { dir } => crate::manual::pages(dir.as_deref()),
        Command::Config(ConfigCommand::Show) => admin::config_show(g),
        Command::Backup { dest } => admin::backup(g, &dest).await,
        Command::Restore { src } => admin::restore(g, &src).await,
        Command::Login { token_stdin } => client::login(g, token_stdin).await,
        Command::Whoami => client::whoami(g).await,
        Command::Overview { project } => crate::improvement::overview(g, &project).await,
        Command::Apply {
            file,
            project,
            dry_run,
            prune,
        } => crate::configuration::apply(g, &file, project.as_deref(), dry_run, prune).await,
        Command::ExportConfig { project, output } => {
            crate::configuration::export(g, &project, output.as_deref()).await
        }
        Command::Settings(cmd) => crate::configuration::run(g, cmd).await,
        Command::Support(SupportCommand::Incident(cmd)) | Command::Incident(cmd) => {
            crate::support::incident(g, cmd).await
        }
        Command::Support(SupportCommand::Oncall(cmd)) | Command::Oncall(cmd) => {
            crate::support::oncall(g, cmd).await
        }
        Command::Support(SupportCommand::Ticket(cmd)) | Command::Ticket(cmd) => {
            crate::support::ticket(g, cmd).await
        }
        Command::Support(SupportCommand::Maintenance(cmd)) | Command::Maintenance(cmd) => {
            crate::support::maintenance(g, cmd).await
        }
        Command::Errors(cmd) => crate::errors::run(g, cmd).await,
        Command::Sourcemaps(cmd) => crate::sourcemaps::run(g, cmd).await,
        Command::Analytics(cmd) => crate::analytics::run(g, cmd).await,
        Command::Feedback(FeedbackArea::Feedback(cmd)) => {
            crate::feedback::run_feedback(g, cmd).await
        }
        Command::Feedback(FeedbackArea::Backlog(cmd)) | Command::Backlog(cmd) => {
            crate::feedback::run_backlog(g, cmd).await
        }
        Command::Releases(ReleasesCommand::Release(cmd)) => crate::releases::run(g, cmd).await,
        Command::Releases(ReleasesCommand::Train(cmd)) | Command::Train(cmd) => {
            crate::releases::run_train(g, cmd).await
        }
        Command::Releases(ReleasesCommand::Deploy(cmd)) | Command::Deploy(cmd) => {
            crate::releases::run_deploy(g, cmd).await
        }
        Command::Performance(PerformanceCommand::Perf(cmd)) => {
            crate::performance::run(g, cmd).await
        }
        Command::Performance(PerformanceCommand::Slo(cmd)) | Command::Slo(cmd) => {
            crate::performance::run_slo(g, cmd).await
        }
        Command::Security(SecurityCommand::Audit(cmd)) | Command::Audit(cmd) => {
            crate::security::run_audit(g, cmd).await
        }
        Command::Security(SecurityCommand::Osv(cmd)) | Command::Osv(cmd) => {
            crate::security::run_osv(g, cmd).await
        }
        Command::Scaling(ScalingCommand::Capacity(a)) | Command::Capacity(a) => {
            crate::scaling::run(g, a).await
        }
        Command::Scaling(ScalingCommand::Retention(cmd)) | Command::Retention(cmd) => {
            crate::retention::run(g, cmd).await
        }
        Command::Docs(cmd) => crate::docs::run(g, cmd).await,
        Command::Reviews(cmd) => crate::reviews::run(g, cmd).await,
        Command::Improvement(ImprovementCommand::Dora(a)) | Command::Dora(a) => {
            crate::improvement::run_dora(g, a).await
        }
        Command::Improvement(ImprovementCommand::Report(cmd)) | Command::Report(cmd) => {
            crate::improvement::run_report(g, cmd).await
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks a command's grammar only when that command runs; check
    /// every one here (duplicate flags, conflicting names).
    #[test]
    fn the_grammar_is_sound() {
        super::Cli::command().debug_assert();
    }
}
