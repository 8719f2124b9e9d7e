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

fn http_get(authority: &str, scheme: Scheme) -> String {
    let req = OutgoingRequest::new(Fields::new());
    let _ = req.set_method(&Method::Get);
    let _ = req.set_scheme(Some(&scheme));
    let _ = req.set_authority(Some(authority));
    let _ = req.set_path_with_query(Some("/"));
    match wasi::http::outgoing_handler::handle(req, None) {
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
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if x == 42 {
                        return Ok(connection(vec![]));
                    }
                }
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
