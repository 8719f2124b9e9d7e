//! The emulator as a process of its own (as the Node.js tests start it): it
//! says where it listens, serves what it is told to on standard input, and
//! answers every command line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    ready: serde_json::Value,
}

impl Process {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dbt-cloud-emulator"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the emulator starts");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let ready = serde_json::from_str(&line(&mut stdout)).expect("a JSON line first");
        Process { child, stdin, stdout, ready }
    }

    /// Sends one command and returns its answer.
    fn say(&mut self, command: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("write a command");
        line(&mut self.stdout)
    }

    /// The body of a GET of `path` with the emulator's token.
    fn get(&self, path: &str) -> String {
        let authority = self.ready["url"].as_str().expect("url").trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&authority).expect("connects");
        let token = self.ready["token"].as_str().expect("token");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Token {token}\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
    }
}

fn line(out: &mut impl BufRead) -> String {
    let mut line = String::new();
    out.read_line(&mut line).expect("a line");
    line.trim_end().to_string()
}

#[test]
fn a_new_artifact_is_served_and_every_command_is_answered() {
    let mut emulator = Process::start();
    let account = emulator.ready["account_id"].as_u64().expect("account id");
    let path =
        format!("/api/v2/accounts/{account}/runs/{}/artifacts/manifest.json", dbt_cloud_emulator::world::ids::DOCS_RUN);
    assert!(emulator.get(&path).contains("\"nodes\""), "the bundled manifest at first");

    let file = std::env::temp_dir().join(format!("emulator-process-{}.json", std::process::id()));
    std::fs::write(&file, br#"{"edited": true}"#).expect("write");
    assert_eq!(emulator.say(&format!("artifact manifest.json {}", file.display())), "ok");
    assert_eq!(emulator.get(&path), r#"{"edited": true}"#);
    std::fs::remove_file(&file).ok();

    assert!(emulator.say("artifact nothing.json /nonexistent").starts_with("error: reading /nonexistent"));
    assert_eq!(emulator.say("slow manifest.json 0.5"), "ok");
    assert!(emulator.say("slow manifest.json soon").starts_with("error:"));
    assert_eq!(emulator.say("polls 3"), "ok");
    assert!(emulator.say("polls -1").starts_with("error:"));
    assert!(emulator.say("shutdown").starts_with("error: unknown command"));

    drop(emulator.stdin.take());
    let status = emulator.child.wait().expect("exits");
    assert!(status.success(), "closing stdin stops it: {status}");
}
