//! What each command does.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use model_sync_host::{CallError, ConnectionSettings, Event, Runtime, SandboxPolicy, Session, SessionOptions, api};
use serde_json::{Value, json};

use super::args::{Cli, Command, ConfigureArgs, Limits, SyncArgs, TOKEN_VAR};
use super::output;
use super::screen::{Screen, Verbosity};
use super::state::{StateDir, StoredSettings};

/// A command's failure: a kind and a one-line message.
pub struct Failure {
    /// `unauthorized`, `invalid-setting`...
    pub kind: String,
    /// What happened and what to fix.
    pub message: String,
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        let mut message = e.to_string();
        if matches!(e, CallError::ResponseLimit(_)) {
            message.push_str(" (--max-response-mb)");
        }
        if matches!(&e, CallError::Plugin(api::Error::Storage(m)) if m.contains("quota")) {
            message.push_str(" (`model-sync prune --keep N`, or --max-store-mb)");
        }
        Failure { kind: e.kind().to_string(), message }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure { kind: "host".into(), message: format!("{e:#}") }
    }
}

fn failure(kind: &str, message: impl Into<String>) -> Failure {
    Failure { kind: kind.into(), message: message.into() }
}

/// What a command prints: a JSON document and the same for people.
pub struct Outcome {
    /// For `--json`; none when the command already streamed it to stdout.
    pub json: Option<Value>,
    /// For people (without `--json`).
    pub text: String,
}

impl Outcome {
    fn new(json: Value, text: String) -> Self {
        Outcome { json: Some(json), text }
    }
}

/// Everything a command needs.
pub struct Context {
    state: StateDir,
    runtime: Runtime,
    limits: Limits,
    json: bool,
    screen: Arc<Screen>,
}

impl Context {
    /// Opens the state directory and loads the plugin.
    pub fn new(cli: &Cli) -> Result<Self, Failure> {
        let state = StateDir::open(cli.state_dir.as_deref())?;
        let wasm = match &cli.plugin {
            Some(path) => std::fs::read(path)
                .map_err(|e| failure("invalid-setting", format!("--plugin {}: {e}", path.display())))?,
            None => model_sync_host::bundled::PLUGIN_WASM
                .ok_or_else(|| failure("invalid-setting", "this build has no bundled plugin; give --plugin FILE.wasm"))?
                .to_vec(),
        };
        let cache = std::env::var_os("MODEL_SYNC_CACHE_DIR").map(std::path::PathBuf::from).unwrap_or(state.cache_dir());
        let runtime = Runtime::new(&wasm, Some(&cache))?;
        let verbosity = match (cli.quiet, cli.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        };
        let screen = Arc::new(Screen::new(verbosity, cli.json));
        Ok(Context { state, runtime, limits: cli.limits.clone(), json: cli.json, screen })
    }

    /// A session that may reach nothing: for commands that only read or
    /// prune the history.
    async fn offline_session(&self) -> Result<Session, Failure> {
        self.session(Network::None, None).await
    }

    /// A session that may reach the access URL (the default host when none).
    async fn online_session(&self, access_url: Option<&str>, token: &str) -> Result<Session, Failure> {
        self.session(Network::AccessUrl(access_url), Some(token)).await
    }

    async fn session(&self, network: Network<'_>, token: Option<&str>) -> Result<Session, Failure> {
        let screen = self.screen.clone();
        let events = Arc::new(move |event: Event| screen.event(event));
        let store = self.state.store()?;
        store.set_quota(self.limits.max_store_mb.saturating_mul(1 << 20))?;
        let store: Arc<dyn model_sync_host::KvStore> = Arc::new(store);
        let options = SessionOptions {
            policy: sandbox_policy(&self.limits, network),
            store,
            events,
            secrets: token.map(|t| vec![t.to_string()]).unwrap_or_default(),
        };
        Ok(self.runtime.instantiate(options).await?)
    }
}

/// The sandbox of a command: with [`Network::None`] the plugin may reach
/// nothing (reading the history needs no network); otherwise only the
/// configured access URL (or the default host).
fn sandbox_policy(limits: &Limits, network: Network<'_>) -> SandboxPolicy {
    let policy = SandboxPolicy {
        max_memory_bytes: limits.memory_mb << 20,
        call_timeout: Duration::from_secs(limits.call_timeout),
        connect_timeout: Duration::from_secs(limits.connect_timeout),
        first_byte_timeout: Duration::from_secs(limits.first_byte_timeout),
        between_bytes_timeout: Duration::from_secs(limits.between_bytes_timeout),
        max_response_bytes: limits.max_response_mb << 20,
        ..SandboxPolicy::default()
    };
    let Network::AccessUrl(access_url) = network else {
        return policy;
    };
    let url = access_url.unwrap_or(model_sync_plugin::settings::DEFAULT_HOST);
    // A URL the plugin would refuse allows nothing; the plugin then says what is wrong with it.
    policy.clone().allowing_access_url(url).unwrap_or(policy)
}

/// What a command's plugin instance may reach.
#[derive(Clone, Copy)]
enum Network<'a> {
    /// Nothing.
    None,
    /// The access URL given (the default host when none).
    AccessUrl(Option<&'a str>),
}

fn token_from_env() -> Result<String, Failure> {
    match std::env::var(TOKEN_VAR) {
        Ok(t) if !t.is_empty() => Ok(t),
        _ => Err(failure(
            "invalid-setting",
            format!("api-token: set {TOKEN_VAR} to a dbt Cloud service token (Account settings > Service tokens)"),
        )),
    }
}

/// Parses an id given on the command line or in the environment.
fn parse_id(field: &str, value: &Option<String>) -> Result<Option<u64>, Failure> {
    let Some(v) = value else { return Ok(None) };
    match v.trim().parse::<u64>() {
        Ok(0) => Err(failure("invalid-setting", format!("{field}: ids start at 1; 0 is not an id"))),
        Ok(id) => Ok(Some(id)),
        Err(_) => Err(failure(
            "invalid-setting",
            format!(
                "{field}: `{}` is not an id; dbt Cloud ids are positive whole numbers",
                v.chars().take(40).collect::<String>()
            ),
        )),
    }
}

fn merged(stored: Option<StoredSettings>, args: &ConfigureArgs) -> Result<StoredSettings, Failure> {
    let stored = stored.unwrap_or_default();
    let url_given = args.url.is_some() || args.host.is_some();
    // A pasted URL carries its own ids; stored ids must not contradict it.
    let keep = |id: Option<u64>| if url_given { None } else { id };
    Ok(StoredSettings {
        access_url: args.url.clone().or(args.host.clone()).or(stored.access_url),
        account_id: parse_id("account-id", &args.account_id)?.or(keep(stored.account_id)),
        project_id: parse_id("project-id", &args.project_id)?.or(keep(stored.project_id)),
        docs_job_id: parse_id("docs-job-id", &args.docs_job_id)?.or(stored.docs_job_id),
        freshness_job_id: parse_id("freshness-job-id", &args.freshness_job_id)?.or(stored.freshness_job_id),
    })
}

fn api_settings(s: &StoredSettings, token: String) -> ConnectionSettings {
    ConnectionSettings {
        api_token: token.into(),
        access_url: s.access_url.clone(),
        account_id: s.account_id,
        project_id: s.project_id,
        docs_job_id: s.docs_job_id,
        freshness_job_id: s.freshness_job_id,
    }
}

/// Runs a command.
pub async fn run(cli: &Cli) -> Result<Outcome, Failure> {
    if let Command::Completions { shell } = cli.command {
        // Needs no state directory: printed straight to stdout.
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "model-sync", &mut std::io::stdout());
        return Ok(Outcome { json: None, text: String::new() });
    }
    if matches!(cli.command, Command::Demo) && cli.state_dir.is_none() {
        // The demo must not mix its syncs into the user's real history.
        let dir = std::env::temp_dir().join(format!("model-sync-demo-{}", std::process::id()));
        let cli = Cli { state_dir: Some(dir), ..cli.clone() };
        return demo(&Context::new(&cli)?).await;
    }
    let ctx = Context::new(cli)?;
    let outcome = dispatch(&ctx, cli).await;
    ctx.screen.finish();
    outcome
}

async fn dispatch(ctx: &Context, cli: &Cli) -> Result<Outcome, Failure> {
    match &cli.command {
        Command::Configure(args) => configure(ctx, args).await,
        Command::Syncs { limit } => syncs(ctx, *limit).await,
        Command::Sync(args) => sync(ctx, args).await,
        Command::Show { sync_id, logs } => show(ctx, *sync_id, *logs).await,
        Command::Diff { ids } => diff(ctx, ids).await,
        Command::Prune { keep } => prune(ctx, *keep).await,
        Command::Doctor => doctor(ctx).await,
        Command::Demo => demo(ctx).await,
        Command::Completions { .. } => Ok(Outcome { json: None, text: String::new() }),
    }
}

async fn configure(ctx: &Context, args: &ConfigureArgs) -> Result<Outcome, Failure> {
    let _lock = ctx.state.lock()?;
    let settings = merged(ctx.state.settings()?, args)?;
    let token = token_from_env()?;
    let mut session = ctx.online_session(settings.access_url.as_deref(), &token).await?;
    let connection = session.configure(&api_settings(&settings, token)).await?;
    let stored =
        StoredSettings { account_id: Some(connection.account_id), project_id: Some(connection.project_id), ..settings };
    ctx.state.save_settings(&stored)?;
    Ok(Outcome::new(
        output::connection_json(&connection),
        format!("{}settings saved in {}\n", output::connection_text(&connection), ctx.state.root().display()),
    ))
}

async fn syncs(ctx: &Context, limit: Option<u32>) -> Result<Outcome, Failure> {
    let mut session = ctx.offline_session().await?;
    let records = session.list_syncs(limit).await?;
    let busy = ctx.state.sync_in_progress();
    let rows: Vec<(api::SyncRecord, bool)> = records
        .into_iter()
        .map(|r| {
            let interrupted = output::interrupted(&r, busy);
            (r, interrupted)
        })
        .collect();
    let text = output::syncs_table(&rows);
    let json = rows.iter().map(|(r, interrupted)| output::record_json(r, *interrupted)).collect();
    Ok(Outcome::new(Value::Array(json), text))
}

async fn sync(ctx: &Context, args: &SyncArgs) -> Result<Outcome, Failure> {
    let token = token_from_env()?;
    let settings = ctx
        .state
        .settings()?
        .ok_or_else(|| failure("not-configured", "no connection settings yet; run `model-sync configure` first"))?;
    let _lock = ctx.state.lock()?;
    let mut session = ctx.online_session(settings.access_url.as_deref(), &token).await?;
    session.configure(&api_settings(&settings, token)).await?;
    let options = api::SyncOptions {
        run_id: args.run_id,
        git_branch: args.branch.clone(),
        pull_request: args.pr,
        git_sha: args.sha.clone(),
        run_job: args.run_job,
        wait_timeout_secs: args.timeout,
        cancel_on_timeout: args.cancel_on_timeout,
        force: args.force,
        exclude_code: args.no_code,
        keep_catalogs: Some(model_sync_host::DEFAULT_KEEP_CATALOGS),
        triggered_by: "cli".into(),
    };
    let record = session.trigger_sync(&options).await?;
    Ok(Outcome::new(output::record_json(&record, false), output::record_text(&record, false)))
}

async fn show(ctx: &Context, id: u64, logs: bool) -> Result<Outcome, Failure> {
    let mut session = ctx.offline_session().await?;
    let detail = session.get_sync(id).await?;
    let interrupted = output::interrupted(&detail.sync, ctx.state.sync_in_progress());
    if ctx.json {
        // The record and log first, then the catalog page by page as it is read.
        let mut head = output::record_json(&detail.sync, interrupted);
        head["log"] = json!(detail.log);
        let head = output::json_text(&head, true);
        let mut out = std::io::stdout().lock();
        let write = |out: &mut std::io::StdoutLock, s: &str| out.write_all(s.as_bytes());
        let io = |e: std::io::Error| failure("host", format!("writing to stdout: {e}"));
        write(&mut out, head.trim_end_matches(['}', '\n']).trim_end()).map_err(io)?;
        if detail.sync.has_catalog {
            write(&mut out, ",\n  \"catalog\": {\"nodes\": [").map_err(io)?;
            let mut first = true;
            let mut failed = None;
            session
                .each_catalog_page(id, None, |nodes| {
                    for n in &nodes {
                        let sep = if std::mem::take(&mut first) { "\n" } else { ",\n" };
                        let written = write(&mut out, sep)
                            .and_then(|()| write(&mut out, &output::json_text(&output::node_json(n), false)));
                        if let Err(e) = written {
                            failed = Some(e);
                            return false;
                        }
                    }
                    true
                })
                .await?;
            if let Some(e) = failed {
                return Err(io(e));
            }
            write(&mut out, "\n  ]}\n}\n").map_err(io)?;
        } else {
            write(&mut out, ",\n  \"catalog\": null\n}\n").map_err(io)?;
        }
        return Ok(Outcome { json: None, text: String::new() });
    }
    let mut text = output::record_text(&detail.sync, interrupted);
    if detail.sync.has_catalog {
        text.push_str(&output::catalog_header());
        session
            .each_catalog_page(id, None, |nodes| {
                text.push_str(&output::catalog_text(&nodes));
                true
            })
            .await?;
    } else if detail.sync.status != api::SyncStatus::Failed {
        text.push_str("  (catalog pruned; the record and log are kept)\n");
    }
    if logs {
        text.push_str("log:\n");
        for line in &detail.log {
            text.push_str(&format!("  {line}\n"));
        }
    }
    Ok(Outcome::new(Value::Null, text))
}

async fn diff(ctx: &Context, ids: &[u64]) -> Result<Outcome, Failure> {
    let (from, to) = match ids {
        [to] => (None, *to),
        [from, to] => (Some(*from), *to),
        _ => return Err(failure("invalid-setting", "diff takes TO_ID or FROM_ID TO_ID")),
    };
    let mut session = ctx.offline_session().await?;
    let (from_id, changes) = session.read_changes(from, to).await?;
    let columns = super::columns::read(&mut session, from_id, to, &changes).await?;
    Ok(Outcome::new(
        output::changes_json(from_id, to, &changes, &columns),
        output::changes_text(from_id, to, &changes, &columns),
    ))
}

async fn prune(ctx: &Context, keep: u32) -> Result<Outcome, Failure> {
    let _lock = ctx.state.lock()?;
    let mut session = ctx.offline_session().await?;
    let report = session.prune(keep).await?;
    Ok(Outcome::new(
        json!({"pruned": report.pruned, "entries_deleted": report.entries_deleted, "bytes_freed": report.bytes_freed}),
        format!(
            "dropped the catalogs of {} syncs and {} stored entries no kept catalog uses: {:.1} MB freed\n",
            report.pruned,
            report.entries_deleted,
            report.bytes_freed as f64 / 1e6
        ),
    ))
}

async fn doctor(ctx: &Context) -> Result<Outcome, Failure> {
    let mut steps = Vec::new();
    let mut text = String::new();
    let mut step = |name: &str, ok: bool, detail: String| {
        text.push_str(&format!("  [{}] {name}: {detail}\n", if ok { "ok" } else { "!!" }));
        steps.push(json!({"step": name, "ok": ok, "detail": detail}));
    };
    let token = std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty());
    step(
        "token",
        token.is_some(),
        if token.is_some() { format!("{TOKEN_VAR} is set") } else { format!("set {TOKEN_VAR}") },
    );
    let settings = ctx.state.settings()?;
    step(
        "settings",
        settings.is_some(),
        match &settings {
            Some(s) => format!(
                "{}, account {}, project {}",
                s.access_url.as_deref().unwrap_or("(default host)"),
                s.account_id.map_or("(from the URL)".to_string(), |a| a.to_string()),
                s.project_id.map_or("(from the URL)".to_string(), |p| p.to_string())
            ),
            None => "run `model-sync configure`".into(),
        },
    );
    let mut ok = false;
    if let (Some(token), Some(settings)) = (token, settings) {
        let mut session = ctx.online_session(settings.access_url.as_deref(), &token).await?;
        match session.configure(&api_settings(&settings, token)).await {
            Ok(c) => {
                ok = true;
                step(
                    "connection",
                    true,
                    format!("account {} project {} on {}", c.account_id, c.project_id, c.api_base_url),
                );
                step(
                    "docs job",
                    c.docs_job.as_ref().is_some_and(|j| j.latest_run_id.is_some()),
                    match &c.docs_job {
                        Some(j) => format!(
                            "{} ({}), latest usable run {}",
                            j.id,
                            j.name,
                            j.latest_run_id.map_or("none".to_string(), |r| r.to_string())
                        ),
                        None => "none: set one in dbt Cloud or `configure --docs-job-id`".into(),
                    },
                );
                step(
                    "freshness job",
                    c.freshness_job.is_some(),
                    match &c.freshness_job {
                        Some(j) => format!("{} ({})", j.id, j.name),
                        None => "none (optional)".into(),
                    },
                );
                for w in &c.warnings {
                    step("warning", true, w.clone());
                }
            }
            Err(e) => step("connection", false, format!("{}: {e}", e.kind())),
        }
    }
    if !ok {
        return Err(failure("doctor", format!("the connection is not usable:\n{text}")));
    }
    Ok(Outcome::new(json!({"ok": ok, "steps": steps}), text))
}

async fn demo(ctx: &Context) -> Result<Outcome, Failure> {
    // With --state-dir the demo writes into a history others may use too.
    let _lock = ctx.state.lock()?;
    use dbt_cloud_emulator::{Emulator, World};
    let world = World::jaffle_shop();
    let token = world.token.clone();
    let emulator = Emulator::start(world).map_err(|e| failure("host", format!("starting the emulator: {e}")))?;
    let url = format!(
        "{}/deploy/{}/projects/{}/jobs",
        emulator.url(),
        dbt_cloud_emulator::world::ids::ACCOUNT,
        dbt_cloud_emulator::world::ids::PROJECT
    );
    // Each step is printed as it happens, between the log lines on stderr.
    let say = |text: &str| {
        if !ctx.json {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(output::styled(text).as_bytes()).and_then(|()| out.flush());
        }
    };
    say(&format!("dbt Cloud emulator with the jaffle-shop project at {}\n\n", emulator.url()));
    say(&format!("$ model-sync configure --url {url}\n"));
    let settings = StoredSettings { access_url: Some(url), ..Default::default() };
    let mut session = ctx.online_session(settings.access_url.as_deref(), &token).await?;
    let connection = session.configure(&api_settings(&settings, token.clone())).await?;
    say(&output::connection_text(&connection));
    say("\n$ model-sync sync\n");
    let options = model_sync_host::sync_options("demo");
    let record = session.trigger_sync(&options).await?;
    say(&output::record_text(&record, false));
    say(&output::catalog_header());
    session
        .each_catalog_page(record.id, None, |nodes| {
            say(&output::catalog_text(&nodes));
            true
        })
        .await?;
    say("\n$ model-sync syncs\n");
    let records = session.list_syncs(Some(5)).await?;
    let rows: Vec<(api::SyncRecord, bool)> = records.iter().map(|r| (r.clone(), false)).collect();
    say(&output::syncs_table(&rows));
    say(&format!("\nhistory kept in {}\n", ctx.state.root().display()));
    Ok(Outcome::new(
        json!({
            "connection": output::connection_json(&connection),
            "sync": output::record_json(&record, false),
            "syncs": records.iter().map(|r| output::record_json(r, false)).collect::<Vec<_>>(),
        }),
        String::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn commands_that_only_read_the_history_may_reach_nothing() {
        let limits = Cli::parse_from(["model-sync", "syncs"]).limits;
        assert!(sandbox_policy(&limits, Network::None).allowed.is_empty());
        let online = sandbox_policy(&limits, Network::AccessUrl(Some("https://ab1.us1.dbt.com/deploy/1")));
        assert_eq!(online.allowed.iter().map(|o| o.to_string()).collect::<Vec<_>>(), ["https://ab1.us1.dbt.com:443"]);
        let default = sandbox_policy(&limits, Network::AccessUrl(None));
        assert_eq!(default.allowed.len(), 1, "the default host only");
    }
}
