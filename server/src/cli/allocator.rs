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

/// How much of the heap's start goes on transparent huge pages: a `check` of a hundred
/// files touches about 4 MiB of heap.
const HUGE_HEAP_START: usize = 8 << 20;

const HUGE_PAGE: usize = 2 << 20;

/// The system's transparent huge page mode (`/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thp {
    Always,
    Madvise,
    Never,
}

fn thp_mode(setting: &str) -> Thp {
    match setting.split('[').nth(1).and_then(|s| s.split(']').next()) {
        Some("always") => Thp::Always,
        Some("madvise") => Thp::Madvise,
        _ => Thp::Never,
    }
}

/// Put the start of the heap on transparent huge pages for a `check`, which touches its
/// first megabytes anyway: one 2 MiB fault costs far less than 512 small ones (~1.4 µs
/// each on a VM), −0.8 ms of CPU on the 124 real files. Only where pages are huge on
/// request (`madvise` mode): under `always` every mapping would be (thread stacks, the
/// whole arena; each first touch zeroes 2 MiB, ~15 % of a one-file check), so there THP
/// is turned off for the process instead. The language server keeps the system's choice.
pub fn huge_pages_for_heap_start() {
    let setting =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    match thp_mode(&setting) {
        // SAFETY: prctl with integer arguments; failure leaves the system's setting.
        Thp::Always => unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        },
        Thp::Madvise => {
            // mimalloc hands out its arena from the start; an allocation made now is there.
            let probe = Box::new(0u8);
            let start = (&*probe as *const u8 as usize) & !(HUGE_PAGE - 1);
            // SAFETY: advice only; on addresses that are not mapped it fails and changes
            // nothing, and no memory's contents change.
            unsafe {
                libc::madvise(
                    start as *mut libc::c_void,
                    HUGE_HEAP_START,
                    libc::MADV_HUGEPAGE,
                )
            };
        }
        Thp::Never => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thp_mode_is_the_bracketed_word() {
        assert_eq!(thp_mode("always [madvise] never\n"), Thp::Madvise);
        assert_eq!(thp_mode("[always] madvise never\n"), Thp::Always);
        assert_eq!(thp_mode("always madvise [never]\n"), Thp::Never);
        assert_eq!(thp_mode(""), Thp::Never);
    }

    #[test]
    fn the_heap_start_is_advised_for_huge_pages_where_that_is_the_mode() {
        let setting = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if thp_mode(&setting) != Thp::Madvise {
            return;
        }
        let probe = Box::new(0u8);
        let at = &*probe as *const u8 as usize;
        huge_pages_for_heap_start();
        // The mapping holding the heap now carries the `hg` (huge pages advised) flag.
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        let mut flags = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = a <= at && at < b;
                        continue;
                    }
                }
            }
            if inside && line.starts_with("VmFlags:") {
                flags = Some(line.to_string());
            }
        }
        let flags = flags.expect("the heap's mapping is in smaps");
        assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
    }

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
