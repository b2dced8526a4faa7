//! Settings of the allocator (mimalloc, the binary's global allocator) for short runs.

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3 alike); its Rust
/// bindings do not name it. A test pins it by its default (`options.c`: 1000 ms in v3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed memory for reuse instead of handing it back to the system: a `check` lives
/// for milliseconds, and each purge is an `madvise` plus a TLB flush on every core (~2 %
/// of a `check` of a hundred files). The language server keeps the default.
pub fn keep_freed_memory() {
    // SAFETY: sets one integer option; mimalloc reads options at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_is_the_purge_delay() {
        // SAFETY: reads and sets one integer option.
        unsafe {
            // options.c: `{ 1000, ..., MI_OPTION_LEGACY(purge_delay, reset_delay) }`; no
            // neighbouring option defaults to 1000.
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 1000);
            }
            keep_freed_memory();
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), -1);
        }
    }
}
