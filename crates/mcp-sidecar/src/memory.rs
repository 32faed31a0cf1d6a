//! Handing freed heap back to the OS after a burst of sessions ends.

/// glibc keeps freed memory in its arenas (one per worker thread), so RSS would stay at its
/// peak after thousands of sessions close; `malloc_trim` returns the free pages. Elsewhere a
/// no-op: musl, macOS and Windows allocators release large free regions themselves.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointers are passed.
    unsafe {
        libc::malloc_trim(0);
    }
}
