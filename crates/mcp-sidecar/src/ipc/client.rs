//! The single IPC connection: one reader task, one writer task, and any number of
//! concurrent requests matched to their responses by id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::framing::{self, FrameError, LineReader};
use super::protocol::{self, method, Incoming, RpcError};

/// Longest wait for our last words (an error reply) to reach the host before closing.
const FAREWELL_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IpcError {
    #[error("the host answered with error {}: {}", .0.code, .0.message)]
    Rpc(RpcError),
    #[error("the IPC connection is closed")]
    Closed,
}

/// Something the host asked of us, or the end of the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum HostEvent {
    /// `lifecycle.shutdown`: answer `id`, then exit 0.
    Shutdown {
        id: Value,
    },
    /// `tools.changed`: re-run `tool.list`.
    ToolsChanged,
    /// `resources.changed`: MCP `notifications/resources/list_changed` to every session.
    ResourcesChanged,
    /// `resource.updated`: MCP `notifications/resources/updated` to its subscribers.
    ResourceUpdated(String),
    /// `prompts.changed`: MCP `notifications/prompts/list_changed` to every session.
    PromptsChanged,
    Closed(CloseReason),
}

/// What the host sent about one `tool.call` in flight (its `call` id).
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// `call.log` params.
    Log(Value),
    /// `call.progress` params.
    Progress(Value),
    /// `sampling.create` / `elicitation.create`: answer `id` with `respond` or `respond_error`.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    #[error("the host closed the connection")]
    Eof,
    #[error("{0}")]
    Io(String),
    #[error("the host sent a line over the {0}-byte limit")]
    TooLong(usize),
    #[error("the host sent a line that is not JSON: {0}")]
    Parse(String),
    #[error("writing to the host failed: {0}")]
    WriteFailed(String),
}

type Pending = HashMap<u64, oneshot::Sender<Result<Value, RpcError>>>;
type Calls = HashMap<u64, mpsc::UnboundedSender<CallEvent>>;

struct Outgoing {
    line: Vec<u8>,
    written: Option<oneshot::Sender<()>>,
}

struct Shared {
    next_id: AtomicU64,
    // `None` once the connection is gone, so late requests fail instead of waiting forever.
    pending: Mutex<Option<Pending>>,
    out: mpsc::UnboundedSender<Outgoing>,
    events: mpsc::UnboundedSender<HostEvent>,
    next_call: AtomicU64,
    calls: Mutex<Calls>,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Option<Pending>> {
        // A panic elsewhere cannot leave the map half-updated, so poisoning is ignored.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, message: &Value) -> Option<oneshot::Receiver<()>> {
        let (written, done) = oneshot::channel();
        let line = framing::encode(message);
        self.out
            .send(Outgoing {
                line,
                written: Some(written),
            })
            .ok()
            .map(|()| done)
    }

    /// Fails every waiting request and reports the end, exactly once.
    fn close(&self, reason: CloseReason) {
        let was_open = self.pending().take().is_some();
        if was_open {
            tracing::debug!(%reason, "IPC connection closed");
            let _ = self.events.send(HostEvent::Closed(reason));
        }
    }
}

/// A cheap, cloneable handle on the connection.
#[derive(Clone)]
pub struct IpcClient {
    shared: Arc<Shared>,
}

/// Removes a request from the pending map if its caller gives up (timeout, cancel).
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(pending) = self.shared.pending().as_mut() {
            pending.remove(&self.id);
        }
    }
}

impl IpcClient {
    /// Starts the reader and writer tasks; host events arrive on the returned channel.
    pub fn spawn<R, W>(reader: R, writer: W) -> (IpcClient, mpsc::UnboundedReceiver<HostEvent>)
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            next_id: AtomicU64::new(0),
            pending: Mutex::new(Some(HashMap::new())),
            out: out_tx,
            events: event_tx,
            next_call: AtomicU64::new(1),
            calls: Mutex::new(HashMap::new()),
        });
        tokio::spawn(write_loop(writer, out_rx, shared.clone()));
        tokio::spawn(read_loop(LineReader::new(reader), shared.clone()));
        (IpcClient { shared }, event_rx)
    }

    /// Sends a request and waits for its response; cancel-safe.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, IpcError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match self.shared.pending().as_mut() {
            Some(pending) => pending.insert(id, tx),
            None => return Err(IpcError::Closed),
        };
        let _guard = PendingGuard {
            shared: &self.shared,
            id,
        };
        if self
            .shared
            .send(&protocol::request(id, method, params))
            .is_none()
        {
            return Err(IpcError::Closed);
        }
        match rx.await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(error)) => Err(IpcError::Rpc(error)),
            Err(_) => Err(IpcError::Closed),
        }
    }

    /// Sends a notification; resolves once it is written and flushed.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), IpcError> {
        let done = self
            .shared
            .send(&protocol::notification(method, params))
            .ok_or(IpcError::Closed)?;
        done.await.map_err(|_| IpcError::Closed)
    }

    /// A new call id whose `call.*` messages arrive on the handle until it is dropped.
    pub fn open_call(&self) -> CallHandle {
        let id = self.shared.next_call.fetch_add(1, Ordering::Relaxed);
        let (tx, events) = mpsc::unbounded_channel();
        self.shared.calls().insert(id, tx);
        CallHandle {
            id,
            events,
            shared: self.shared.clone(),
        }
    }

    /// Answers a host request with an error; resolves once it is written and flushed.
    pub async fn respond_error(&self, id: Value, error: &RpcError) -> Result<(), IpcError> {
        let done = self
            .shared
            .send(&protocol::error_response(id, error))
            .ok_or(IpcError::Closed)?;
        done.await.map_err(|_| IpcError::Closed)
    }

    /// Answers a host request; resolves once it is written and flushed.
    pub async fn respond(&self, id: Value, result: Value) -> Result<(), IpcError> {
        let done = self
            .shared
            .send(&protocol::response(id, result))
            .ok_or(IpcError::Closed)?;
        done.await.map_err(|_| IpcError::Closed)
    }
}

/// One `tool.call` in flight: its id and the host's messages about it.
pub struct CallHandle {
    pub id: u64,
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    shared: Arc<Shared>,
}

impl Drop for CallHandle {
    fn drop(&mut self) {
        self.shared.calls().remove(&self.id);
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
) {
    while let Some(Outgoing { line, written }) = queue.recv().await {
        let result = async {
            writer.write_all(&line).await?;
            writer.flush().await
        }
        .await;
        if let Err(error) = result {
            shared.close(CloseReason::WriteFailed(error.to_string()));
            return;
        }
        if let Some(written) = written {
            let _ = written.send(());
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut reader: LineReader<R>, shared: Arc<Shared>) {
    let reason = loop {
        let line = match reader.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break CloseReason::Eof,
            Err(FrameError::TooLong { limit }) => {
                let error = RpcError::new(
                    protocol::INVALID_REQUEST,
                    format!("message exceeds the {limit}-byte line limit"),
                );
                farewell(&shared, &error).await;
                break CloseReason::TooLong(limit);
            }
            Err(FrameError::Io(error)) => break CloseReason::Io(error.to_string()),
        };
        // Blank lines carry no message; skipping them matches the Python reader.
        if line.trim_ascii().is_empty() {
            continue;
        }
        let message = match framing::decode(&line) {
            Ok(message) => message,
            Err(error) => {
                let reply = RpcError::new(protocol::PARSE_ERROR, format!("parse error: {error}"));
                farewell(&shared, &reply).await;
                break CloseReason::Parse(error.to_string());
            }
        };
        dispatch(&shared, Incoming::classify(message));
    };
    shared.close(reason);
}

/// Sends a connection-ending error (id null) and waits briefly for it to be flushed.
async fn farewell(shared: &Shared, error: &RpcError) {
    if let Some(done) = shared.send(&protocol::error_response(Value::Null, error)) {
        let _ = tokio::time::timeout(FAREWELL_TIMEOUT, done).await;
    }
}

fn dispatch(shared: &Shared, incoming: Incoming) {
    match incoming {
        Incoming::Response { id, outcome } => {
            let waiter = shared.pending().as_mut().and_then(|p| p.remove(&id));
            match waiter {
                Some(waiter) => {
                    let _ = waiter.send(outcome);
                }
                // Normal after a sidecar-side timeout: the caller already gave up.
                None => tracing::debug!(id, "dropping response to an abandoned request"),
            }
        }
        Incoming::Request { id, method, .. } if method == method::LIFECYCLE_SHUTDOWN => {
            let _ = shared.events.send(HostEvent::Shutdown { id });
        }
        Incoming::Request { id, method, params }
            if method == method::SAMPLING_CREATE || method == method::ELICITATION_CREATE =>
        {
            let call = params.get("call").and_then(Value::as_u64);
            let id = match route_call(shared, call, CallEvent::Request { id, method, params }) {
                Ok(()) => return,
                Err(CallEvent::Request { id, .. }) => id,
                Err(_) => return,
            };
            let error = RpcError::new(
                protocol::INVALID_PARAMS,
                format!(
                    "no tool call {} is in flight",
                    call.map_or(-1, |c| c as i64)
                ),
            );
            shared.send(&protocol::error_response(id, &error));
        }
        Incoming::Request { id, method, .. } => {
            tracing::warn!(%method, "host called an unknown method");
            let error = RpcError::new(
                protocol::METHOD_NOT_FOUND,
                format!("method not found: {method}"),
            );
            shared.send(&protocol::error_response(id, &error));
        }
        Incoming::Notification { method, .. } if method == method::TOOLS_CHANGED => {
            let _ = shared.events.send(HostEvent::ToolsChanged);
        }
        Incoming::Notification { method, params }
            if method == method::CALL_LOG || method == method::CALL_PROGRESS =>
        {
            let call = params.get("call").and_then(Value::as_u64);
            let event = if method == method::CALL_LOG {
                CallEvent::Log(params)
            } else {
                CallEvent::Progress(params)
            };
            if route_call(shared, call, event).is_err() {
                tracing::debug!(%method, ?call, "dropping a message for a call no longer in flight");
            }
        }
        Incoming::Notification { method, params } if method == method::RESOURCE_UPDATED => {
            match params.get("uri").and_then(Value::as_str) {
                Some(uri) => {
                    let _ = shared
                        .events
                        .send(HostEvent::ResourceUpdated(uri.to_owned()));
                }
                None => tracing::warn!("resource.updated without a string uri"),
            }
        }
        Incoming::Notification { method, .. } if method == method::RESOURCES_CHANGED => {
            let _ = shared.events.send(HostEvent::ResourcesChanged);
        }
        Incoming::Notification { method, .. } if method == method::PROMPTS_CHANGED => {
            let _ = shared.events.send(HostEvent::PromptsChanged);
        }
        Incoming::Notification { method, .. } => {
            tracing::debug!(%method, "ignoring unknown notification");
        }
        Incoming::Invalid { id, reason } => {
            tracing::warn!(%reason, "invalid message from host");
            let error = RpcError::new(
                protocol::INVALID_REQUEST,
                format!("invalid request: {reason}"),
            );
            shared.send(&protocol::error_response(id, &error));
        }
    }
}

/// Hands `event` to the call it names; gives it back when no such call is in flight.
fn route_call(shared: &Shared, call: Option<u64>, event: CallEvent) -> Result<(), CallEvent> {
    let sender = call.and_then(|call| shared.calls().get(&call).cloned());
    match sender {
        Some(sender) => sender.send(event).map_err(|e| e.0),
        None => Err(event),
    }
}

/// `auth.hello` parameters (the token is never logged).
pub fn hello_params(token: &str) -> Value {
    json!({
        "token": token,
        "pid": std::process::id(),
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": protocol::PROTOCOL_VERSION,
    })
}

#[cfg(test)]
mod tests {
    use tokio::io::{duplex, AsyncBufReadExt, BufReader, DuplexStream};

    use super::*;

    /// A client wired to an in-memory host; returns the host's halves.
    fn pair() -> (
        IpcClient,
        mpsc::UnboundedReceiver<HostEvent>,
        BufReader<tokio::io::ReadHalf<DuplexStream>>,
        tokio::io::WriteHalf<DuplexStream>,
    ) {
        let (sidecar, host) = duplex(1 << 16);
        let (sr, sw) = tokio::io::split(sidecar);
        let (hr, hw) = tokio::io::split(host);
        let (client, events) = IpcClient::spawn(sr, sw);
        (client, events, BufReader::new(hr), hw)
    }

    async fn read_json(reader: &mut BufReader<tokio::io::ReadHalf<DuplexStream>>) -> Value {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        serde_json::from_str(&line).unwrap()
    }

    async fn write_json(writer: &mut tokio::io::WriteHalf<DuplexStream>, value: Value) {
        writer.write_all(&framing::encode(&value)).await.unwrap();
    }

    #[tokio::test]
    async fn responses_are_routed_by_id_out_of_order() {
        let (client, _events, mut host_r, mut host_w) = pair();
        let a = tokio::spawn({
            let c = client.clone();
            async move { c.request("tool.call", json!({"name":"a"})).await }
        });
        let first = read_json(&mut host_r).await;
        let b = tokio::spawn({
            let c = client.clone();
            async move { c.request("tool.call", json!({"name":"b"})).await }
        });
        let second = read_json(&mut host_r).await;
        assert_ne!(first["id"], second["id"]);
        // Answer the second request first.
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":second["id"],"result":"for-b"}),
        )
        .await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":first["id"],"error":{"code":-32005,"message":"E: a"}}),
        )
        .await;
        assert_eq!(b.await.unwrap(), Ok(json!("for-b")));
        assert_eq!(
            a.await.unwrap(),
            Err(IpcError::Rpc(RpcError::new(-32005, "E: a")))
        );
    }

    #[tokio::test]
    async fn unknown_method_gets_32601_and_connection_stays_open() {
        let (client, _events, mut host_r, mut host_w) = pair();
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":7,"method":"bogus"}),
        )
        .await;
        let reply = read_json(&mut host_r).await;
        assert_eq!(reply["id"], 7);
        assert_eq!(reply["error"]["code"], -32601);
        let call = tokio::spawn(async move { client.request("tool.list", json!({})).await });
        let request = read_json(&mut host_r).await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":request["id"],"result":{"tools":[]}}),
        )
        .await;
        assert_eq!(call.await.unwrap(), Ok(json!({"tools":[]})));
    }

    #[tokio::test]
    async fn blank_lines_are_skipped() {
        let (client, _events, mut host_r, mut host_w) = pair();
        host_w.write_all(b"\n  \r\n").await.unwrap();
        let call = tokio::spawn(async move { client.request("tool.list", json!({})).await });
        let request = read_json(&mut host_r).await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":request["id"],"result":[]}),
        )
        .await;
        assert_eq!(call.await.unwrap(), Ok(json!([])));
    }

    #[tokio::test]
    async fn invalid_json_gets_parse_error_and_closes() {
        let (client, mut events, mut host_r, mut host_w) = pair();
        host_w.write_all(b"{not json\n").await.unwrap();
        let reply = read_json(&mut host_r).await;
        assert_eq!(reply["id"], Value::Null);
        assert_eq!(reply["error"]["code"], -32700);
        assert!(matches!(
            events.recv().await,
            Some(HostEvent::Closed(CloseReason::Parse(_)))
        ));
        assert_eq!(
            client.request("tool.list", json!({})).await,
            Err(IpcError::Closed)
        );
    }

    #[tokio::test]
    async fn eof_fails_pending_requests_and_reports_closed() {
        let (client, mut events, mut host_r, host_w) = pair();
        let call = tokio::spawn({
            let c = client.clone();
            async move { c.request("tool.call", json!({})).await }
        });
        read_json(&mut host_r).await;
        drop(host_w);
        drop(host_r);
        assert_eq!(call.await.unwrap(), Err(IpcError::Closed));
        assert_eq!(
            events.recv().await,
            Some(HostEvent::Closed(CloseReason::Eof))
        );
    }

    #[tokio::test]
    async fn shutdown_and_tools_changed_become_events() {
        let (client, mut events, mut host_r, mut host_w) = pair();
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","method":"tools.changed"}),
        )
        .await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":"bye","method":"lifecycle.shutdown","params":{}}),
        )
        .await;
        assert_eq!(events.recv().await, Some(HostEvent::ToolsChanged));
        let Some(HostEvent::Shutdown { id }) = events.recv().await else {
            panic!("expected shutdown");
        };
        client.respond(id, json!({})).await.unwrap();
        assert_eq!(
            read_json(&mut host_r).await,
            json!({"jsonrpc":"2.0","id":"bye","result":{}})
        );
    }

    #[tokio::test]
    async fn call_messages_reach_their_call_only() {
        let (client, mut events, mut host_r, mut host_w) = pair();
        let mut call = client.open_call();
        let other = client.open_call();
        assert_ne!(call.id, other.id);
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","method":"call.log","params":{"call":call.id,"level":"info","data":"a"}}),
        )
        .await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":5,"method":"sampling.create","params":{"call":call.id,"params":{}}}),
        )
        .await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":6,"method":"elicitation.create","params":{"call":999,"params":{}}}),
        )
        .await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","method":"resource.updated","params":{"uri":"test://x"}}),
        )
        .await;
        assert!(matches!(call.events.recv().await, Some(CallEvent::Log(p)) if p["data"] == "a"));
        assert!(matches!(
            call.events.recv().await,
            Some(CallEvent::Request { id, method, .. }) if id == 5 && method == "sampling.create"
        ));
        let refused = read_json(&mut host_r).await;
        assert_eq!(refused["id"], 6);
        assert_eq!(refused["error"]["code"], -32602);
        assert_eq!(
            events.recv().await,
            Some(HostEvent::ResourceUpdated("test://x".into()))
        );
        let id = call.id;
        drop(call);
        assert!(!client.shared.calls().contains_key(&id));
        assert!(client.shared.calls().contains_key(&other.id));
    }

    #[tokio::test]
    async fn abandoned_request_is_forgotten() {
        let (client, _events, mut host_r, mut host_w) = pair();
        let slow = tokio::time::timeout(
            Duration::from_millis(50),
            client.request("tool.call", json!({})),
        )
        .await;
        assert!(slow.is_err());
        assert!(client.shared.pending().as_ref().unwrap().is_empty());
        let late = read_json(&mut host_r).await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":late["id"],"result":1}),
        )
        .await;
        // The late answer is dropped and the connection keeps working.
        let next = tokio::spawn(async move { client.request("tool.list", json!({})).await });
        let request = read_json(&mut host_r).await;
        write_json(
            &mut host_w,
            json!({"jsonrpc":"2.0","id":request["id"],"result":2}),
        )
        .await;
        assert_eq!(next.await.unwrap(), Ok(json!(2)));
    }
}
