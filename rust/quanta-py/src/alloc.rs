//! The extension's heap: the system allocator, with large blocks advised to use transparent
//! huge pages, as numpy does for its own arrays of 4 MiB or more.
//!
//! A run's output buffers (equity and cash, a slot per row) are written once, front to back.
//! Fresh memory faults in one 4 KiB page at a time, and on a virtual machine a fault costs
//! microseconds: 10 million rows of equity and cash are 40,000 faults, more time than the
//! loop that fills them. A block advised `MADV_HUGEPAGE` faults in 2 MiB at a time where the
//! kernel allows it (`/sys/kernel/mm/transparent_hugepage/enabled` set to `madvise` or
//! `always`); elsewhere the advice does nothing. Nothing else changes: the memory, its
//! contents and its release are the system allocator's.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes are advised (numpy's threshold).
const ADVISED: usize = 4 << 20;
/// The size of a transparent huge page on x86-64 and aarch64 Linux.
const HUGE_PAGE: usize = 2 << 20;

/// [`System`], advising huge pages for large blocks.
pub struct HugePages;

impl HugePages {
    /// Advise the whole huge pages inside `[start, start + size)`.
    #[cfg(target_os = "linux")]
    fn advise(start: *mut u8, size: usize) {
        if start.is_null() || size < ADVISED {
            return;
        }
        let first = (start as usize).next_multiple_of(HUGE_PAGE);
        let end = (start as usize + size) / HUGE_PAGE * HUGE_PAGE;
        if end > first {
            #[allow(unsafe_code)]
            // SAFETY: [first, end) lies inside the block just allocated, which this process
            // owns; MADV_HUGEPAGE is advice about how to back it, it changes no byte of it, and
            // its failure (an old kernel) is harmless, so the result is ignored.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn advise(_start: *mut u8, _size: usize) {}
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded to `System` with the caller's arguments, so `HugePages`
// keeps `System`'s contract; `advise` only gives advice about memory `System` returned.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (the caller upholds `GlobalAlloc::alloc`'s contract).
        let block = unsafe { System.alloc(layout) };
        Self::advise(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`. (Advised after the zeroing, which may have faulted the pages in
        // already: calloc's large blocks are fresh mappings, zero without being written.)
        let block = unsafe { System.alloc_zeroed(layout) };
        Self::advise(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        Self::advise(moved, new_size);
        moved
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn large_blocks_keep_their_contents_through_growth() {
        let mut values: Vec<f64> = Vec::with_capacity(1 << 20); // 8 MiB: advised
        values.extend((0..1 << 20).map(|k| k as f64));
        values.reserve(3 << 20); // realloc to 32 MiB
        values.extend((0..3 << 20).map(|k| -(k as f64)));
        assert_eq!(values[12_345], 12_345.0);
        assert_eq!(values[(1 << 20) + 7], -7.0);
        assert_eq!(values.len(), 4 << 20);
    }
}
