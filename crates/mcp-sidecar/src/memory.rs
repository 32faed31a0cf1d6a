//! Keeping the heap near its live size when thousands of sessions come and go.

/// Called once at start. glibc gives each thread that allocates concurrently its own arena
/// and freed chunks stay in the arena that made them, so session churn across the runtime's
/// threads fragments the heap; two arenas suffice for two worker threads. An explicit
/// `GLIBC_TUNABLES` in the environment wins.
pub fn configure_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        // SAFETY: mallopt only sets an allocator tunable; called before the runtime's threads.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Hands freed heap back to the OS after sessions closed. glibc keeps freed memory in its
/// arenas, so RSS would stay at its peak; `malloc_trim` returns the free pages. Elsewhere a
/// no-op: musl, macOS and Windows allocators release large free regions themselves.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointers are passed.
    unsafe {
        libc::malloc_trim(0);
    }
}
