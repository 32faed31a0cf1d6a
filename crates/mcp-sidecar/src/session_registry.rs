//! Connected MCP sessions: each one's resource subscriptions and log level, and the pushes
//! (list_changed, resources/updated) that go to all of them or to the subscribers only.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rmcp::{Peer, RoleServer};

/// Longest we wait for one MCP client to accept a notification; others never wait for it.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(2);

/// The MCP log levels, least severe first (RFC 5424 order, as the spec lists them).
pub const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

pub fn level_rank(level: &str) -> Option<usize> {
    LOG_LEVELS.iter().position(|known| *known == level)
}

/// What one session asked for: the URIs it subscribed to and its `logging/setLevel`.
#[derive(Debug, Default)]
pub struct SessionState {
    subscriptions: Mutex<HashSet<String>>,
    // `None`: no setLevel yet, so every message goes out.
    min_level: Mutex<Option<usize>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl SessionState {
    pub fn subscribe(&self, uri: &str) {
        lock(&self.subscriptions).insert(uri.to_owned());
    }

    pub fn unsubscribe(&self, uri: &str) {
        lock(&self.subscriptions).remove(uri);
    }

    pub fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.subscriptions).contains(uri)
    }

    pub fn set_min_level(&self, rank: usize) {
        *lock(&self.min_level) = Some(rank);
    }

    /// Whether a message at `level` passes this session's `logging/setLevel`.
    pub fn wants_level(&self, level: &str) -> bool {
        match (*lock(&self.min_level), level_rank(level)) {
            (Some(min), Some(rank)) => rank >= min,
            _ => true,
        }
    }
}

/// A push to every session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChanged {
    Tools,
    Resources,
    Prompts,
}

type Entry = (Peer<RoleServer>, Arc<SessionState>);

/// Every initialized session; closed ones are dropped at each push and registration.
#[derive(Default)]
pub struct SessionRegistry {
    sessions: Mutex<Vec<Entry>>,
}

impl SessionRegistry {
    pub fn register(&self, peer: Peer<RoleServer>, state: Arc<SessionState>) {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|(peer, _)| !peer.is_transport_closed());
        sessions.push((peer, state));
    }

    /// The live sessions now (closed ones leave the registry here).
    fn live(&self) -> Vec<Entry> {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|(peer, _)| !peer.is_transport_closed());
        sessions.clone()
    }

    /// `notifications/{tools,resources,prompts}/list_changed` to every live session.
    pub fn notify_list_changed(&self, what: ListChanged) {
        let peers = self.live();
        tracing::info!(sessions = peers.len(), ?what, "sending list_changed");
        for (peer, _) in peers {
            spawn_push(async move {
                match what {
                    ListChanged::Tools => peer.notify_tool_list_changed().await,
                    ListChanged::Resources => peer.notify_resource_list_changed().await,
                    ListChanged::Prompts => peer.notify_prompt_list_changed().await,
                }
            });
        }
    }

    /// `notifications/resources/updated` to the sessions subscribed to `uri`; returns how many.
    pub fn notify_resource_updated(&self, uri: &str) -> usize {
        let subscribers: Vec<_> = self
            .live()
            .into_iter()
            .filter(|(_, state)| state.is_subscribed(uri))
            .collect();
        tracing::debug!(
            uri,
            sessions = subscribers.len(),
            "sending resources/updated"
        );
        let count = subscribers.len();
        for (peer, _) in subscribers {
            let uri = uri.to_owned();
            spawn_push(async move {
                let params = rmcp::model::ResourceUpdatedNotificationParam::new(uri);
                peer.notify_resource_updated(params).await
            });
        }
        count
    }
}

/// One delivery on its own task, bounded in time: a slow client delays nobody else.
fn spawn_push<F, E>(push: F)
where
    F: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::spawn(async move {
        match tokio::time::timeout(NOTIFY_TIMEOUT, push).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "notification not delivered"),
            Err(_) => tracing::debug!("notification delivery timed out"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_filter_by_rank() {
        let state = SessionState::default();
        assert!(state.wants_level("debug"));
        state.set_min_level(level_rank("warning").unwrap());
        assert!(!state.wants_level("info"));
        assert!(state.wants_level("warning"));
        assert!(state.wants_level("emergency"));
    }

    #[test]
    fn subscriptions_are_per_uri() {
        let state = SessionState::default();
        state.subscribe("test://a");
        assert!(state.is_subscribed("test://a"));
        assert!(!state.is_subscribed("test://b"));
        state.unsubscribe("test://a");
        assert!(!state.is_subscribed("test://a"));
    }
}
