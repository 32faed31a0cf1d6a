//! Test harness: a mock host speaking docs/ipc-protocol.md, the real sidecar binary,
//! and a tiny HTTP/1.1 + SSE client. Standard library only.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TOKEN: &str = "test-token-5f1e0c";
pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-sidecar");

/// How the mock host answers one `tool.call`.
pub enum Reply {
    Result(Value),
    Error(i64, String),
    After(Duration, Box<Reply>),
    Never,
}

pub fn text_result(text: &str) -> Reply {
    Reply::Result(json!({"content": [{"type": "text", "text": text}], "isError": false}))
}

type Handler = dyn Fn(&str, &Value) -> Reply + Send + Sync;

/// Everything the host received, in order, with a condvar to wait on.
#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Value>>,
    changed: Condvar,
}

/// The host's end of the IPC connection, TCP or Unix.
pub trait Conn: Write + Send {
    fn close(&self);
}

impl Conn for TcpStream {
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

#[cfg(unix)]
impl Conn for std::os::unix::net::UnixStream {
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

/// A second handle on the same stream, for the writer side.
pub trait TryCloneConn: Sized {
    fn try_clone_conn(&self) -> Self;
}

impl TryCloneConn for TcpStream {
    fn try_clone_conn(&self) -> Self {
        self.try_clone().unwrap()
    }
}

#[cfg(unix)]
impl TryCloneConn for std::os::unix::net::UnixStream {
    fn try_clone_conn(&self) -> Self {
        self.try_clone().unwrap()
    }
}

type Writer = Arc<Mutex<Option<Box<dyn Conn>>>>;

/// A host that listens on loopback TCP (or a Unix socket) and serves one sidecar.
pub struct MockHost {
    pub endpoint: String,
    inbox: Arc<Inbox>,
    writer: Writer,
    tools: Arc<Mutex<Value>>,
    _dir: Option<TempDir>,
}

pub struct HostOptions {
    pub token: String,
    pub tools: Value,
    pub handler: Arc<Handler>,
    /// The `capabilities` of the auth.hello answer (none: a tools-only host).
    pub capabilities: Option<Value>,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            token: TOKEN.into(),
            tools: default_tools(),
            handler: Arc::new(default_handler),
            capabilities: None,
        }
    }
}

pub fn default_tools() -> Value {
    json!([
        {"name": "echo", "description": "Echo the arguments back",
         "inputSchema": {"type": "object"}},
        {"name": "add", "description": "Add a and b",
         "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                         "required": ["a", "b"]}},
        {"name": "slow", "description": "Never answers", "inputSchema": {"type": "object"}},
        {"name": "boom", "description": "Raises", "inputSchema": {"type": "object"}},
    ])
}

pub fn default_handler(name: &str, args: &Value) -> Reply {
    match name {
        "echo" => {
            let delay = args.get("delay_ms").and_then(Value::as_u64).unwrap_or(0);
            Reply::After(
                Duration::from_millis(delay),
                Box::new(Reply::Result(json!({
                    "content": [{"type": "text", "text": args.to_string()}],
                    "isError": false,
                    "structuredContent": args,
                }))),
            )
        }
        "add" => match (
            args.get("a").and_then(Value::as_f64),
            args.get("b").and_then(Value::as_f64),
        ) {
            (Some(a), Some(b)) => text_result(&format!("{}", a + b)),
            _ => Reply::Error(-32002, "missing required argument: b".into()),
        },
        "slow" => Reply::Never,
        "boom" => Reply::Error(-32005, "ValueError: boom".into()),
        _ => Reply::Error(-32001, format!("no tool {name}")),
    }
}

fn write_line(writer: &Writer, message: &Value) {
    let mut line = message.to_string().into_bytes();
    line.push(b'\n');
    if let Some(stream) = writer.lock().unwrap().as_mut() {
        let _ = stream.write_all(&line);
    }
}

fn reply_to(writer: &Writer, id: Value, reply: Reply) {
    match reply {
        Reply::Result(result) => write_line(
            writer,
            &json!({"jsonrpc": "2.0", "id": id, "result": result}),
        ),
        Reply::Error(code, message) => write_line(
            writer,
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        ),
        Reply::After(delay, reply) => {
            thread::sleep(delay);
            reply_to(writer, id, *reply);
        }
        Reply::Never => {}
    }
}

fn serve_connection<R: Read>(
    reader: R,
    writer: Writer,
    inbox: Arc<Inbox>,
    tools: Arc<Mutex<Value>>,
    options: HostOptions,
) {
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        {
            let mut messages = inbox.messages.lock().unwrap();
            messages.push(message.clone());
            inbox.changed.notify_all();
        }
        let id = message.get("id").cloned();
        match (message.get("method").and_then(Value::as_str), id) {
            (Some("auth.hello"), Some(id)) => {
                if message["params"]["token"] == options.token.as_str() {
                    let mut welcome = json!({"protocol": 1, "host": "mock/0"});
                    if let Some(capabilities) = &options.capabilities {
                        welcome["capabilities"] = capabilities.clone();
                    }
                    reply_to(&writer, id, Reply::Result(welcome));
                } else {
                    write_line(
                        &writer,
                        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32004,
                                "message": "unauthorized", "data": {"kind": "unauthorized"}}}),
                    );
                    if let Some(stream) = writer.lock().unwrap().take() {
                        stream.close();
                    }
                    return;
                }
            }
            (Some("tool.list"), Some(id)) => {
                let tools = tools.lock().unwrap().clone();
                reply_to(&writer, id, Reply::Result(json!({"tools": tools})));
            }
            (Some("tool.call"), Some(id)) => {
                let name = message["params"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let args = message["params"]["arguments"].clone();
                let reply = (options.handler)(&name, &args);
                let writer = writer.clone();
                thread::spawn(move || reply_to(&writer, id, reply));
            }
            // Resources and prompts go to the handler too, under their IPC method name.
            (Some(method), Some(id)) if method != "lifecycle.shutdown" => {
                let reply = (options.handler)(method, &message["params"]);
                reply_to(&writer, id, reply);
            }
            _ => {}
        }
    }
}

/// The IPC transports a mock host can listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipc {
    Tcp,
    #[cfg(unix)]
    Unix,
    #[cfg(windows)]
    Pipe,
}

/// Every transport this OS offers: the default first, then TCP.
pub fn transports() -> Vec<Ipc> {
    vec![
        #[cfg(unix)]
        Ipc::Unix,
        #[cfg(windows)]
        Ipc::Pipe,
        Ipc::Tcp,
    ]
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

impl MockHost {
    pub fn start() -> MockHost {
        Self::start_with(HostOptions::default())
    }

    pub fn start_with(options: HostOptions) -> MockHost {
        Self::start_on(Ipc::Tcp, options)
    }

    #[cfg(unix)]
    pub fn start_unix() -> MockHost {
        Self::start_on(Ipc::Unix, HostOptions::default())
    }

    /// Listens on `ipc` and serves the first peer that connects.
    pub fn start_on(ipc: Ipc, options: HostOptions) -> MockHost {
        match ipc {
            Ipc::Tcp => {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let endpoint = format!("tcp:{}", listener.local_addr().unwrap());
                let host = MockHost::new(endpoint, options.tools.clone(), None);
                host.serve_first(move || listener.accept().ok().map(|(s, _)| s), options);
                host
            }
            #[cfg(unix)]
            Ipc::Unix => {
                use std::os::unix::net::UnixListener;
                let dir = TempDir::new();
                let path = dir.0.join("ipc.sock");
                let listener = UnixListener::bind(&path).unwrap();
                let endpoint = format!("unix:{}", path.display());
                let host = MockHost::new(endpoint, options.tools.clone(), Some(dir));
                host.serve_first(move || listener.accept().ok().map(|(s, _)| s), options);
                host
            }
            #[cfg(windows)]
            Ipc::Pipe => pipe::start(options),
        }
    }

    fn serve_first<S, A>(&self, accept: A, options: HostOptions)
    where
        S: Conn + Read + TryCloneConn + 'static,
        A: FnOnce() -> Option<S> + Send + 'static,
    {
        let (inbox, writer, tools) = (self.inbox.clone(), self.writer.clone(), self.tools.clone());
        thread::spawn(move || {
            let Some(stream) = accept() else {
                return;
            };
            *writer.lock().unwrap() = Some(Box::new(stream.try_clone_conn()));
            serve_connection(stream, writer, inbox, tools, options);
        });
    }

    fn new(endpoint: String, tools: Value, dir: Option<TempDir>) -> MockHost {
        MockHost {
            endpoint,
            inbox: Arc::default(),
            writer: Arc::default(),
            tools: Arc::new(Mutex::new(tools)),
            _dir: dir,
        }
    }

    /// Waits until some received message satisfies `pred`, and returns it.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut messages = self.inbox.messages.lock().unwrap();
        loop {
            if let Some(found) = messages.iter().find(|m| pred(m)) {
                return Some(found.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            messages = self.inbox.changed.wait_timeout(messages, left).unwrap().0;
        }
    }

    pub fn wait_for_method(&self, method: &str) -> Value {
        self.wait_for(Duration::from_secs(10), |m| m["method"] == method)
            .unwrap_or_else(|| panic!("host never received {method}"))
    }

    pub fn received(&self) -> Vec<Value> {
        self.inbox.messages.lock().unwrap().clone()
    }

    pub fn send(&self, message: &Value) {
        write_line(&self.writer, message);
    }

    pub fn send_raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self.writer.lock().unwrap().as_mut() {
            Some(stream) => stream.write_all(bytes),
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    pub fn set_tools(&self, tools: Value) {
        *self.tools.lock().unwrap() = tools;
    }

    /// Closes the IPC connection from the host side.
    pub fn close(&self) {
        if let Some(stream) = self.writer.lock().unwrap().take() {
            stream.close();
        }
    }
}

/// A private temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "mcp-sidecar-test-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The sidecar under test; killed on drop so a failing test leaves no process behind.
pub struct Sidecar {
    pub child: Child,
    stdout_lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<thread::JoinHandle<()>>,
}

pub fn command(endpoint: &str, args: &[&str], token: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--ipc").arg(endpoint).args(args);
    cmd.env_remove("MCP_SIDECAR_TOKEN");
    if let Some(token) = token {
        cmd.env("MCP_SIDECAR_TOKEN", token);
    }
    cmd
}

/// Under wine, CreateProcess now and then fails with ERROR_INTERNAL_ERROR (1359) while the
/// wineserver is busy (seen once in 20 start/stop cycles); Windows itself does not. That one error
/// is retried a few times, aloud; any other fails the test.
pub fn spawn(cmd: &mut Command) -> Child {
    const WINE_INTERNAL_ERROR: i32 = 1359;
    for retry in 1..=3 {
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(WINE_INTERNAL_ERROR) => {
                eprintln!("spawn {:?}: {e}; retry {retry} of 3", cmd.get_program());
                thread::sleep(Duration::from_millis(250));
            }
            Err(e) => panic!("spawn {:?}: {e}", cmd.get_program()),
        }
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()))
}

impl Sidecar {
    pub fn spawn(endpoint: &str, args: &[&str]) -> Sidecar {
        Self::spawn_cmd(command(endpoint, args, Some(TOKEN)))
    }

    pub fn spawn_cmd(mut cmd: Command) -> Sidecar {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut cmd);
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match stdout.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let collected = Arc::new(Mutex::new(String::new()));
        let sink = collected.clone();
        let stderr_reader = thread::spawn(move || {
            let mut stderr = BufReader::new(stderr);
            let mut line = String::new();
            while matches!(stderr.read_line(&mut line), Ok(n) if n > 0) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Sidecar {
            child,
            stdout_lines: rx,
            stderr: collected,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Reads the READY line (exact format `READY <port>\n`) and returns the port.
    pub fn ready_port(&self) -> u16 {
        let line = self
            .stdout_lines
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("no READY line; stderr:\n{}", self.stderr()));
        let port = line
            .strip_prefix("READY ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("bad READY line {line:?}"));
        assert_ne!(port, 0);
        port
    }

    /// Every further stdout line until the process closes stdout.
    pub fn remaining_stdout(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout_lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        lines
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit; once exited, all of stderr has been collected.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = wait_exit(&mut self.child, timeout)?;
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        Some(status)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON payloads of an SSE body (`data:` lines), or the body itself if it is JSON.
    pub fn messages(&self) -> Vec<Value> {
        let text = self.text();
        if self
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            return vec![serde_json::from_str(&text).unwrap()];
        }
        sse_messages(&text)
    }
}

pub fn sse_messages(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let data = data.join("\n");
        if !data.trim().is_empty() {
            out.push(
                serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("bad SSE data {data:?}: {e}")),
            );
        }
    }
    out
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub fn http(port: u16, method: &str, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!(
        "{method} /mcp HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

pub const ACCEPT: (&str, &str) = ("Accept", "application/json, text/event-stream");
pub const JSON: (&str, &str) = ("Content-Type", "application/json");
pub const PROTOCOL: &str = "2025-06-18";

/// An MCP client session over the hand-rolled HTTP client.
pub struct McpSession {
    pub port: u16,
    pub session_id: String,
    extra: Vec<(String, String)>,
}

impl McpSession {
    pub fn open(port: u16) -> McpSession {
        Self::open_with(port, &[])
    }

    pub fn open_with(port: u16, extra: &[(&str, &str)]) -> McpSession {
        let extra: Vec<(String, String)> = extra
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "sidecar-tests", "version": "0"}}});
        let mut headers = vec![ACCEPT, JSON];
        headers.extend(extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let response = http(port, "POST", &headers, &init.to_string());
        assert_eq!(
            response.status,
            200,
            "initialize failed: {}",
            response.text()
        );
        let session_id = response
            .header("mcp-session-id")
            .expect("Mcp-Session-Id")
            .to_owned();
        let result = &response.messages()[0]["result"];
        assert_eq!(result["protocolVersion"], PROTOCOL);
        assert_eq!(result["capabilities"]["tools"]["listChanged"], true);
        assert_eq!(result["serverInfo"]["name"], "mcp-sidecar");
        let session = McpSession {
            port,
            session_id,
            extra,
        };
        let initialized =
            session.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(initialized.status, 202);
        session
    }

    pub fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![
            ACCEPT,
            JSON,
            ("Mcp-Session-Id", self.session_id.as_str()),
            ("MCP-Protocol-Version", PROTOCOL),
        ];
        headers.extend(self.extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        headers
    }

    pub fn post(&self, message: &Value) -> HttpResponse {
        http(self.port, "POST", &self.headers(), &message.to_string())
    }

    /// Sends a request and returns the JSON-RPC response with the same id.
    pub fn request(&self, id: u64, method: &str, params: Value) -> Value {
        let response =
            self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        assert_eq!(response.status, 200, "{method}: {}", response.text());
        response
            .messages()
            .into_iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("no response with id {id}: {}", response.text()))
    }

    /// The session's standalone GET stream (where server pushes arrive), past its head.
    pub fn open_stream(&self) -> TcpStream {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\n\
             Mcp-Session-Id: {}\r\nMCP-Protocol-Version: {PROTOCOL}\r\n\r\n",
            self.port, self.session_id
        )
        .unwrap();
        let head = read_until(&mut stream, "\r\n\r\n", Duration::from_secs(5));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        stream
    }

    pub fn call_tool(&self, id: u64, name: &str, arguments: Value) -> Value {
        self.request(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )
    }
}

/// Reads an open SSE stream until `needle` shows up or the deadline passes.
pub fn read_until(stream: &mut TcpStream, needle: &str, timeout: Duration) -> String {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains(needle) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A running sidecar in HTTP mode with its mock host, past the READY line.
pub fn start_http(args: &[&str]) -> (MockHost, Sidecar, u16) {
    start_http_with(HostOptions::default(), args)
}

pub fn start_http_with(options: HostOptions, args: &[&str]) -> (MockHost, Sidecar, u16) {
    let host = MockHost::start_with(options);
    let sidecar = Sidecar::spawn(&host.endpoint, args);
    let port = sidecar.ready_port();
    (host, sidecar, port)
}

/// A named-pipe host like the Python one: the first instance created before the sidecar
/// starts. tokio drives the pipe (overlapped I/O, so reads never block writes); the std-based
/// host logic above talks to it through two channels.
#[cfg(windows)]
mod pipe {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::windows::named_pipe::ServerOptions;

    struct PipeConn(tokio::sync::mpsc::UnboundedSender<Option<Vec<u8>>>);

    impl Write for PipeConn {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .send(Some(buf.to_vec()))
                .map_err(|_| std::io::ErrorKind::BrokenPipe)?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Conn for PipeConn {
        fn close(&self) {
            let _ = self.0.send(None);
        }
    }

    /// The bytes the pipe delivered, as a blocking reader; EOF when the pipe closes.
    struct ChannelReader {
        chunks: mpsc::Receiver<Vec<u8>>,
        current: std::io::Cursor<Vec<u8>>,
    }

    impl Read for ChannelReader {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            loop {
                let n = Read::read(&mut self.current, buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                match self.chunks.recv() {
                    Ok(chunk) => self.current = std::io::Cursor::new(chunk),
                    Err(_) => return Ok(0),
                }
            }
        }
    }

    pub fn start(options: HostOptions) -> MockHost {
        let name = format!(
            r"\\.\pipe\mcp-sidecar-test-{}-{}",
            std::process::id(),
            unique()
        );
        let host = MockHost::new(format!("pipe:{name}"), options.tools.clone(), None);
        let (inbox, writer, tools) = (host.inbox.clone(), host.writer.clone(), host.tools.clone());
        let (created_tx, created_rx) = mpsc::channel();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = ServerOptions::new()
                    .first_pipe_instance(true)
                    .reject_remote_clients(true)
                    .create(&name)
                    .expect("create the pipe");
                created_tx.send(()).unwrap();
                if server.connect().await.is_err() {
                    return;
                }
                let (mut read, mut write) = tokio::io::split(server);
                let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel();
                *writer.lock().unwrap() = Some(Box::new(PipeConn(out_tx)));
                let (in_tx, in_rx) = mpsc::channel();
                let reader = ChannelReader {
                    chunks: in_rx,
                    current: std::io::Cursor::new(Vec::new()),
                };
                thread::spawn(move || serve_connection(reader, writer, inbox, tools, options));
                let reading = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match read.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if in_tx.send(buf[..n].to_vec()).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                };
                let writing = async move {
                    while let Some(Some(bytes)) = out_rx.recv().await {
                        if write.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                };
                // Either side ending closes the pipe (dropping both halves).
                tokio::select! {
                    () = reading => {}
                    () = writing => {}
                }
            });
        });
        created_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("pipe created");
        host
    }
}
