//! Command-line arguments (the contract in DESIGN.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The environment variable that holds the API token (never a flag: it
/// would land in shell history).
pub const TOKEN_VAR: &str = "DBT_CLOUD_API_TOKEN";

/// Sync a dbt Cloud project's models into a catalog, through a sandboxed
/// WebAssembly plugin. The API token comes from DBT_CLOUD_API_TOKEN.

#[derive(Debug, Clone, Parser)]
#[command(
    name = "model-sync",
    version,
    about = "Sync a dbt Cloud project's models, sources, tests and lineage into a history of syncs \
             you can list, show and diff, through a sandboxed WebAssembly plugin.",
    after_help = "Examples:\n  \
                  model-sync demo\n  \
                  DBT_CLOUD_API_TOKEN=dbtc_... model-sync configure --url https://ab123.us1.dbt.com/deploy/1/projects/2/jobs\n  \
                  model-sync sync && model-sync diff 2"
)]
pub struct Cli {
    /// Where settings, the sync history and the compiled plugin are kept.
    #[arg(long, global = true, env = "MODEL_SYNC_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Run this component instead of the bundled dbt Cloud plugin.
    #[arg(long, global = true)]
    pub plugin: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also show debug lines (each request, each artifact).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Show nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Sandbox limits.
    #[command(flatten)]
    pub limits: Limits,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Sandbox limits settable from the command line.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Linear memory cap of the plugin, MiB.
    #[arg(long, global = true, default_value_t = 1024)]
    pub memory_mb: usize,
    /// Wall-clock deadline of one plugin call, seconds.
    #[arg(long, global = true, default_value_t = 7200)]
    pub call_timeout: u64,
    /// HTTP connect timeout, seconds.
    #[arg(long, global = true, default_value_t = 15)]
    pub connect_timeout: u64,
    /// HTTP timeout until the response head, seconds.
    #[arg(long, global = true, default_value_t = 120)]
    pub first_byte_timeout: u64,
    /// HTTP timeout between two pieces of a response body, seconds.
    #[arg(long, global = true, default_value_t = 60)]
    pub between_bytes_timeout: u64,
    /// Total response bytes one plugin call may receive, MiB.
    #[arg(long, global = true, default_value_t = 4096)]
    pub max_response_mb: u64,
    /// The most the sync history database may grow to, MiB.
    #[arg(long, global = true, default_value_t = model_sync_host::sqlite::DEFAULT_MAX_BYTES >> 20)]
    pub max_store_mb: u64,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Start the built-in dbt Cloud emulator with a bundled real dbt project and
    /// run configure, sync and syncs against it.
    Demo,
    /// Check and store the connection settings.
    Configure(ConfigureArgs),
    /// List past syncs, newest first.
    Syncs {
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Run a sync.
    Sync(SyncArgs),
    /// Show one sync: its summary, catalog and log.
    Show {
        /// The sync's id.
        sync_id: u64,
        /// Print the log.
        #[arg(long)]
        logs: bool,
    },
    /// What changed between two syncs, entity by entity: `diff [FROM_ID] TO_ID`
    /// (FROM defaults to the newest sync with a catalog before TO).
    Diff {
        /// `TO_ID`, or `FROM_ID TO_ID`.
        #[arg(num_args = 1..=2, required = true, value_name = "SYNC_ID")]
        ids: Vec<u64>,
    },
    /// Drop the catalogs of all but the newest N syncs (records and logs stay).
    Prune {
        /// How many of the newest catalogs to keep.
        #[arg(long)]
        keep: u32,
    },
    /// Check the connection step by step and say what to fix.
    Doctor,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), for
    /// example `model-sync completions bash > ~/.local/share/bash-completion/completions/model-sync`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `configure` arguments.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigureArgs {
    /// A dbt Cloud URL copied from the browser (gives host, account and project).
    #[arg(long)]
    pub url: Option<String>,
    /// The access URL, e.g. https://ab123.us1.dbt.com.
    #[arg(long, env = "DBT_CLOUD_HOST")]
    pub host: Option<String>,
    /// The account id.
    #[arg(long, env = "DBT_CLOUD_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// The project id.
    #[arg(long, env = "DBT_CLOUD_PROJECT_ID")]
    pub project_id: Option<String>,
    /// The job whose runs produce manifest.json and run_results.json.
    #[arg(long)]
    pub docs_job_id: Option<String>,
    /// The job whose runs produce sources.json.
    #[arg(long)]
    pub freshness_job_id: Option<String>,
}

/// `sync` arguments.
#[derive(Debug, Clone, Args, Default)]
pub struct SyncArgs {
    /// Use this run of the docs job (for example a pull-request CI run).
    #[arg(long, conflicts_with_all = ["branch", "run_job", "pr", "sha"])]
    pub run_id: Option<u64>,
    /// Use the latest successful run on this git branch.
    #[arg(long, conflicts_with_all = ["run_job", "pr", "sha"])]
    pub branch: Option<String>,
    /// Use the latest successful CI run of pull request N (compared with the
    /// latest sync that is not of a pull request; `diff` then lists what it changes).
    #[arg(long, value_name = "N", conflicts_with_all = ["run_job", "sha"])]
    pub pr: Option<u64>,
    /// Use the latest successful run of the project that built this commit.
    #[arg(long, conflicts_with = "run_job")]
    pub sha: Option<String>,
    /// Start the docs job in dbt Cloud and wait for it.
    #[arg(long)]
    pub run_job: bool,
    /// With --run-job: how long to wait, seconds.
    #[arg(long, requires = "run_job")]
    pub timeout: Option<u32>,
    /// With --run-job: cancel the run when the wait times out.
    #[arg(long, requires = "run_job")]
    pub cancel_on_timeout: bool,
    /// Download again even if the runs are those the previous sync used.
    #[arg(long)]
    pub force: bool,
    /// Leave raw and compiled SQL out of the catalog (kept by default).
    #[arg(long)]
    pub no_code: bool,
}
