//! The state of an emulated dbt Cloud account: projects, jobs, runs and the
//! artifacts each run saved.

use std::io::Write;
use std::sync::{Arc, OnceLock};

/// An artifact a run saved.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Path under `target/` (`manifest.json`).
    pub name: String,
    /// The step that wrote it; none for the last step (what the API serves
    /// without `step`).
    pub step: Option<u32>,
    /// The file (replaced through [`World::replace_artifact`], which also
    /// drops its gzipped form).
    body: Arc<Vec<u8>>,
    /// The file gzipped, made when first asked for.
    gzipped: OnceLock<Arc<Vec<u8>>>,
}

impl Artifact {
    /// An artifact of `step` (none: the last one).
    pub fn new(name: &str, step: Option<u32>, body: Vec<u8>) -> Self {
        Artifact { name: name.into(), step, body: Arc::new(body), gzipped: OnceLock::new() }
    }

    /// The file.
    pub fn body(&self) -> &Arc<Vec<u8>> {
        &self.body
    }

    /// The file gzipped (at the default level, as a web server would), made
    /// once and kept.
    pub fn gzipped(&self) -> Arc<Vec<u8>> {
        self.gzipped
            .get_or_init(|| {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                let done = encoder.write_all(&self.body).and_then(|()| encoder.finish());
                Arc::new(done.unwrap_or_default())
            })
            .clone()
    }
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project id.
    pub id: u64,
    /// The project's display name.
    pub name: String,
    /// Artifacts setting: docs job.
    pub docs_job_id: Option<u64>,
    /// Artifacts setting: freshness job.
    pub freshness_job_id: Option<u64>,
}

/// A job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job definition id.
    pub id: u64,
    /// The project it belongs to.
    pub project_id: u64,
    /// The environment it runs in.
    pub environment_id: u64,
    /// The job's display name.
    pub name: String,
    /// dbt commands.
    pub execute_steps: Vec<String>,
    /// Docs step appended.
    pub generate_docs: bool,
    /// Freshness step prepended.
    pub run_generate_sources: bool,
    /// `scheduled`, `ci`...
    pub job_type: String,
    /// The environment's deployment type (`production`, `staging`, none).
    pub deployment_type: Option<String>,
}

/// A run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The run id.
    pub id: u64,
    /// The job definition it ran.
    pub job_id: u64,
    /// The project it belongs to.
    pub project_id: u64,
    /// 1, 2, 3, 10, 20, 30.
    pub status: i64,
    /// Why it ended so.
    pub status_message: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00:00`.
    pub created_at: String,
    /// Same format; none until finished.
    pub finished_at: Option<String>,
    /// The git branch it built.
    pub git_branch: String,
    /// The git commit it built.
    pub git_sha: String,
    /// Whether docs were generated.
    pub has_docs_generated: bool,
    /// Whether sources.json was generated.
    pub has_sources_generated: bool,
    /// Step names, in order (index = position + 1).
    pub steps: Vec<String>,
    /// Saved artifacts.
    pub artifacts: Vec<Artifact>,
    /// The trigger's cause.
    pub cause: String,
    /// The GitHub pull request that triggered it (CI runs).
    pub pull_request: Option<u64>,
    /// For triggered runs: polls of the run before it finishes.
    pub polls_left: u32,
    /// For triggered runs: the status it ends with.
    pub ends_with: i64,
}

/// Everything the emulator knows.
#[derive(Debug, Clone)]
pub struct World {
    /// The one valid API token.
    pub token: String,
    /// The account.
    pub account_id: u64,
    /// Its name.
    pub account_name: String,
    /// Its plan.
    pub plan: String,
    /// The account's projects.
    pub projects: Vec<Project>,
    /// Every job of every project.
    pub jobs: Vec<Job>,
    /// Every run, finished or not, with its artifacts.
    pub runs: Vec<Run>,
    /// How many polls a triggered run takes to finish.
    pub polls_until_done: u32,
    /// Status a triggered run ends with.
    pub triggered_status: i64,
    /// Text a hostile server adds to what it says about failed runs (their
    /// status message and the failing step's log), such as the token it was sent.
    pub echo: Option<String>,
}

/// The bundled jaffle-shop artifacts, from a real dbt 1.11 run.
pub mod jaffle {
    /// manifest.json (v12).
    pub const MANIFEST: &[u8] = include_bytes!("../../fixtures/jaffle-shop/manifest.json");
    /// run_results.json of `dbt build` (v6).
    pub const RUN_RESULTS: &[u8] = include_bytes!("../../fixtures/jaffle-shop/run_results.json");
    /// catalog.json (v1).
    pub const CATALOG: &[u8] = include_bytes!("../../fixtures/jaffle-shop/catalog.json");
    /// sources.json (v3).
    pub const SOURCES: &[u8] = include_bytes!("../../fixtures/jaffle-shop/sources.json");
}

/// run_results.json as a trailing `dbt docs generate` step writes it: no test outcomes.
pub fn docs_generate_run_results() -> Vec<u8> {
    serde_json::json!({
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json", "dbt_version": "1.11.16"},
        "results": [],
        "elapsed_time": 1.2,
        "args": {"which": "generate"}
    })
    .to_string()
    .into_bytes()
}

impl Run {
    /// A finished run.
    pub fn finished(id: u64, job: &Job, status: i64, day: u32) -> Self {
        Run {
            id,
            job_id: job.id,
            project_id: job.project_id,
            status,
            status_message: (status == 20).then(|| "Database Error in model orders".to_string()),
            created_at: format!("2026-11-{day:02} 06:00:00.000000+00:00"),
            finished_at: Some(format!("2026-11-{day:02} 06:{:02}:00.000000+00:00", 10 + id % 40)),
            git_branch: "main".into(),
            git_sha: format!("{:040x}", id),
            has_docs_generated: false,
            has_sources_generated: false,
            steps: vec!["Clone git repository".into(), "Create profile from connection".into()],
            artifacts: Vec::new(),
            cause: "Scheduled".into(),
            pull_request: None,
            polls_left: 0,
            ends_with: 10,
        }
    }

    /// Adds a step running a dbt command; returns its index.
    pub fn step(&mut self, command: &str) -> u32 {
        self.steps.push(format!("Invoke dbt with `dbt {command}`"));
        self.steps.len() as u32
    }

    /// Saves an artifact.
    pub fn save(&mut self, name: &str, step: Option<u32>, body: Vec<u8>) {
        self.artifacts.push(Artifact::new(name, step, body));
    }

    /// The artifacts of a docs job run: `dbt build`, then `dbt docs generate`.
    pub fn with_docs(mut self, manifest: &[u8], run_results: &[u8], catalog: Option<&[u8]>) -> Self {
        self.step("deps");
        let build = self.step("build");
        self.step("docs generate");
        self.save("manifest.json", Some(build), manifest.to_vec());
        self.save("run_results.json", Some(build), run_results.to_vec());
        self.save("manifest.json", None, manifest.to_vec());
        self.save("run_results.json", None, docs_generate_run_results());
        if let Some(c) = catalog {
            self.save("catalog.json", None, c.to_vec());
            self.has_docs_generated = true;
        }
        self
    }

    /// The artifacts of a freshness run.
    pub fn with_sources(mut self, sources: &[u8]) -> Self {
        self.step("source freshness");
        self.save("sources.json", None, sources.to_vec());
        self.has_sources_generated = true;
        self
    }
}

/// Ids of the demo world (14-digit, like cell-based accounts).
pub mod ids {
    /// The demo account id.
    pub const ACCOUNT: u64 = 70403103922125;
    /// The demo project id.
    pub const PROJECT: u64 = 70403103922201;
    /// Docs job.
    pub const DOCS_JOB: u64 = 70403103922301;
    /// Freshness job.
    pub const FRESHNESS_JOB: u64 = 70403103922302;
    /// CI job.
    pub const CI_JOB: u64 = 70403103922303;
    /// The docs job's latest successful run.
    pub const DOCS_RUN: u64 = 70403117937023;
    /// The freshness job's latest successful run.
    pub const FRESHNESS_RUN: u64 = 70403117937040;
}

impl World {
    /// Replaces the file `name` of run `run_id` (each step's copy) with
    /// `body`; false when the run has no such file.
    pub fn replace_artifact(&mut self, run_id: u64, name: &str, body: Vec<u8>) -> bool {
        let mut found = false;
        for run in self.runs.iter_mut().filter(|r| r.id == run_id) {
            for artifact in run.artifacts.iter_mut().filter(|a| a.name == name) {
                *artifact = Artifact::new(name, artifact.step, body.clone());
                found = true;
            }
        }
        found
    }

    /// Gzips every artifact now (each is gzipped once, when first asked for
    /// so), so that a benchmark's first download measures the transfer.
    pub fn gzip_artifacts(&self) {
        for artifact in self.runs.iter().flat_map(|r| &r.artifacts) {
            artifact.gzipped();
        }
    }
}

impl World {
    /// The demo: jaffle-shop in a project whose docs job last succeeded two
    /// runs ago (its newest run failed, another is running), a freshness job,
    /// and a CI job with a pull-request run.
    pub fn jaffle_shop() -> Self {
        let docs = Job {
            id: ids::DOCS_JOB,
            project_id: ids::PROJECT,
            environment_id: 70403103922401,
            name: "Nightly build".into(),
            execute_steps: vec!["dbt build".into()],
            generate_docs: true,
            run_generate_sources: false,
            job_type: "scheduled".into(),
            deployment_type: Some("production".into()),
        };
        let freshness = Job {
            id: ids::FRESHNESS_JOB,
            name: "Source freshness".into(),
            execute_steps: vec!["dbt source freshness".into()],
            generate_docs: false,
            run_generate_sources: false,
            ..docs.clone()
        };
        let ci = Job {
            id: ids::CI_JOB,
            name: "CI".into(),
            environment_id: 70403103922402,
            job_type: "ci".into(),
            deployment_type: None,
            ..docs.clone()
        };
        let m = jaffle::MANIFEST;
        let mut runs = vec![
            Run::finished(ids::DOCS_RUN - 10, &docs, 10, 20).with_docs(m, jaffle::RUN_RESULTS, Some(jaffle::CATALOG)),
            Run::finished(ids::DOCS_RUN, &docs, 10, 21).with_docs(m, jaffle::RUN_RESULTS, Some(jaffle::CATALOG)),
            Run::finished(ids::DOCS_RUN + 10, &docs, 20, 22).with_docs(m, jaffle::RUN_RESULTS, None),
            Run::finished(ids::FRESHNESS_RUN, &freshness, 10, 22).with_sources(jaffle::SOURCES),
        ];
        let mut pr = Run::finished(ids::DOCS_RUN + 30, &ci, 10, 22).with_docs(m, jaffle::RUN_RESULTS, None);
        pr.git_branch = "feature/orders".into();
        pr.cause = "Triggered via GitHub pull request #42".into();
        pr.pull_request = Some(42);
        runs.push(pr);
        let mut running = Run::finished(ids::DOCS_RUN + 20, &docs, 3, 23);
        running.finished_at = None;
        runs.push(running);
        World {
            token: "dbtc_demo_service_token".into(),
            account_id: ids::ACCOUNT,
            account_name: "Jaffle Shop Inc.".into(),
            plan: "enterprise".into(),
            projects: vec![Project {
                id: ids::PROJECT,
                name: "jaffle_shop".into(),
                docs_job_id: Some(ids::DOCS_JOB),
                freshness_job_id: Some(ids::FRESHNESS_JOB),
            }],
            jobs: vec![docs, freshness, ci],
            runs,
            polls_until_done: 2,
            triggered_status: 10,
            echo: None,
        }
    }
}
