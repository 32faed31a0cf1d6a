//! A bounded MCP session store: rmcp's [`LocalSessionManager`] behind a cap on live sessions,
//! an idle timeout, and least-recently-used eviction of idle sessions when the cap is reached.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};

/// How many sessions may live at once, and how long one may sit unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub max_sessions: usize,
    pub idle_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionLimitError {
    #[error("all {0} MCP sessions are busy; retry later or close one (HTTP DELETE)")]
    AllBusy(usize),
    #[error(transparent)]
    Session(#[from] LocalSessionManagerError),
}

#[derive(Debug)]
struct Usage {
    last_used: Instant,
    /// Open request streams (POSTs whose answer has not been fully sent).
    busy: usize,
}

#[derive(Debug, Default)]
struct Table {
    sessions: HashMap<SessionId, Usage>,
    /// Sessions being created right now: counted against the cap before they have an id.
    reserved: usize,
}

type SharedTable = Arc<Mutex<Table>>;

/// During a flood, every this many evictions the freed heap goes back to the OS.
const TRIM_EVERY_EVICTIONS: usize = 32;

fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    // Every update is a single map operation, so a poisoned lock holds consistent data.
    table.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct BoundedSessionManager {
    inner: LocalSessionManager,
    limits: SessionLimits,
    table: SharedTable,
    /// Sessions closed since the sweeper last handed memory back.
    closed: AtomicUsize,
}

impl BoundedSessionManager {
    pub fn new(mut inner: LocalSessionManager, limits: SessionLimits) -> Arc<Self> {
        // Our sweeper expires sessions; rmcp's own timer would also end busy ones.
        inner.session_config.keep_alive = None;
        let manager = Arc::new(Self {
            inner,
            limits,
            table: SharedTable::default(),
            closed: AtomicUsize::new(0),
        });
        tokio::spawn(sweep_forever(Arc::downgrade(&manager)));
        manager
    }

    /// Live sessions (including ones being created).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let table = lock(&self.table);
        table.sessions.len() + table.reserved
    }

    /// Makes sure one more session fits, evicting the least recently used idle one if needed.
    /// The caller creating the session must call [`Self::unreserve`] or insert it.
    async fn reserve(&self) -> Result<(), SessionLimitError> {
        let victim = {
            let mut table = lock(&self.table);
            let victim = if table.sessions.len() + table.reserved < self.limits.max_sessions {
                None
            } else {
                let id = table
                    .sessions
                    .iter()
                    .filter(|(_, usage)| usage.busy == 0)
                    .min_by_key(|(_, usage)| usage.last_used)
                    .map(|(id, _)| id.clone())
                    .ok_or(SessionLimitError::AllBusy(self.limits.max_sessions))?;
                table.sessions.remove(&id);
                Some(id)
            };
            table.reserved += 1;
            victim
        };
        if let Some(id) = victim {
            tracing::info!(session = %id, "session cap reached: evicting the least recently used idle session");
            if let Err(error) = self.inner.close_session(&id).await {
                tracing::debug!(%error, "closing an evicted session failed");
            }
            // Under a flood of new sessions, hand memory back as we go, not only per sweep.
            let closed = self.closed.fetch_add(1, Ordering::Relaxed) + 1;
            if closed.is_multiple_of(TRIM_EVERY_EVICTIONS) {
                crate::memory::release_free_memory();
            }
        }
        Ok(())
    }

    /// Whether an `initialize` would find room now (for a clean 503 before rmcp sees it).
    pub async fn make_room(&self) -> Result<(), SessionLimitError> {
        self.reserve().await?;
        lock(&self.table).reserved -= 1;
        Ok(())
    }

    fn touch(&self, id: &SessionId) {
        if let Some(usage) = lock(&self.table).sessions.get_mut(id) {
            usage.last_used = Instant::now();
        }
    }

    fn busy_guard(&self, id: &SessionId) -> BusyGuard {
        if let Some(usage) = lock(&self.table).sessions.get_mut(id) {
            usage.busy += 1;
            usage.last_used = Instant::now();
        }
        BusyGuard {
            table: Arc::downgrade(&self.table),
            id: id.clone(),
        }
    }

    /// Closes every session idle for longer than the timeout.
    async fn sweep(&self) {
        let expired: Vec<SessionId> = {
            let mut table = lock(&self.table);
            let timeout = self.limits.idle_timeout;
            let expired: Vec<SessionId> = table
                .sessions
                .iter()
                .filter(|(_, usage)| usage.busy == 0 && usage.last_used.elapsed() >= timeout)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &expired {
                table.sessions.remove(id);
            }
            expired
        };
        self.closed.fetch_add(expired.len(), Ordering::Relaxed);
        for id in &expired {
            if let Err(error) = self.inner.close_session(id).await {
                tracing::debug!(%error, "closing an expired session failed");
            }
        }
    }
}

/// How often the sweeper looks: a quarter of the timeout, within 50 ms..10 s.
fn sweep_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(10))
}

async fn sweep_forever(manager: Weak<BoundedSessionManager>) {
    let Some(interval) = manager
        .upgrade()
        .map(|m| sweep_interval(m.limits.idle_timeout))
    else {
        return;
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(manager) = manager.upgrade() else {
            return;
        };
        manager.sweep().await;
        // Expired, evicted or deleted since the last tick.
        let closed = manager.closed.swap(0, Ordering::Relaxed);
        if closed > 0 {
            tracing::debug!(closed, "MCP sessions closed; releasing free memory");
            // Let the session tasks drop their state before handing memory back.
            tokio::time::sleep(Duration::from_millis(20)).await;
            crate::memory::release_free_memory();
        }
    }
}

/// Marks a session busy while a request stream is open.
struct BusyGuard {
    table: Weak<Mutex<Table>>,
    id: SessionId,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Some(table) = self.table.upgrade() {
            if let Some(usage) = lock(&table).sessions.get_mut(&self.id) {
                usage.busy = usage.busy.saturating_sub(1);
                usage.last_used = Instant::now();
            }
        }
    }
}

/// A response stream that keeps its session busy until it is dropped.
struct Tracked {
    inner: Pin<Box<dyn Stream<Item = ServerSseMessage> + Send + Sync>>,
    _busy: BusyGuard,
}

impl Stream for Tracked {
    type Item = ServerSseMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl SessionManager for BoundedSessionManager {
    type Error = SessionLimitError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.reserve().await?;
        let created = self.inner.create_session().await;
        let mut table = lock(&self.table);
        table.reserved -= 1;
        let (id, transport) = created?;
        table.sessions.insert(
            id.clone(),
            Usage {
                last_used: Instant::now(),
                busy: 0,
            },
        );
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        let _busy = self.busy_guard(id);
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        // Our table is the truth: an evicted session is gone even if rmcp still winds it down.
        Ok(lock(&self.table).sessions.contains_key(id))
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        if lock(&self.table).sessions.remove(id).is_some() {
            self.closed.fetch_add(1, Ordering::Relaxed);
        }
        Ok(self.inner.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let busy = self.busy_guard(id);
        let stream = self.inner.create_stream(id, message).await?;
        Ok(Tracked {
            inner: Box::pin(stream),
            _busy: busy,
        })
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.touch(id);
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        // A listening GET stream does not make its session busy: it may still be evicted.
        self.touch(id);
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        Ok(self.inner.resume(id, last_event_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(max_sessions: usize, idle_timeout: Duration) -> Arc<BoundedSessionManager> {
        BoundedSessionManager::new(
            LocalSessionManager::default(),
            SessionLimits {
                max_sessions,
                idle_timeout,
            },
        )
    }

    #[tokio::test]
    async fn evicts_the_least_recently_used_idle_session_at_the_cap() {
        let sessions = manager(2, Duration::from_secs(600));
        let (a, _ta) = sessions.create_session().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (b, _tb) = sessions.create_session().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        sessions.touch(&a);
        let (c, _tc) = sessions.create_session().await.unwrap();
        assert!(sessions.has_session(&a).await.unwrap());
        assert!(!sessions.has_session(&b).await.unwrap(), "b was the LRU");
        assert!(sessions.has_session(&c).await.unwrap());
        assert_eq!(sessions.len(), 2);
    }

    #[tokio::test]
    async fn busy_sessions_are_never_evicted() {
        let sessions = manager(2, Duration::from_secs(600));
        let (a, _ta) = sessions.create_session().await.unwrap();
        let (b, _tb) = sessions.create_session().await.unwrap();
        let busy_a = sessions.busy_guard(&a);
        let busy_b = sessions.busy_guard(&b);
        assert!(matches!(
            sessions.create_session().await,
            Err(SessionLimitError::AllBusy(2))
        ));
        assert!(matches!(
            sessions.make_room().await,
            Err(SessionLimitError::AllBusy(2))
        ));
        drop(busy_b);
        let (c, _tc) = sessions.create_session().await.unwrap();
        assert!(sessions.has_session(&a).await.unwrap());
        assert!(!sessions.has_session(&b).await.unwrap());
        assert!(sessions.has_session(&c).await.unwrap());
        drop(busy_a);
    }

    #[tokio::test]
    async fn idle_sessions_expire_busy_ones_do_not() {
        let sessions = manager(10, Duration::from_millis(200));
        let (idle, _ti) = sessions.create_session().await.unwrap();
        let (working, _tw) = sessions.create_session().await.unwrap();
        let busy = sessions.busy_guard(&working);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!sessions.has_session(&idle).await.unwrap());
        assert!(sessions.has_session(&working).await.unwrap());
        drop(busy);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!sessions.has_session(&working).await.unwrap());
        assert_eq!(sessions.len(), 0);
    }

    #[test]
    fn sweep_interval_is_bounded() {
        assert_eq!(
            sweep_interval(Duration::from_secs(300)),
            Duration::from_secs(10)
        );
        assert_eq!(
            sweep_interval(Duration::from_millis(100)),
            Duration::from_millis(50)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(8)),
            Duration::from_secs(2)
        );
    }
}
