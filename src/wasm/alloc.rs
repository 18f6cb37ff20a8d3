//! The wasm module's allocator: the system one (dlmalloc), zeroing every block it frees.
//!
//! Linear memory is readable by any script of the page (`memory.buffer`), and wasm memory is
//! never returned: without this, the ids, embeddings and events that passed through a call
//! (conversion copies, results, the session `forget()` drops) stay in freed blocks until they are
//! reused. Zeroing on free costs a `memory.fill` per block (about 10 µs for the ~100 KiB a
//! 200-item rerank frees).

use std::alloc::{GlobalAlloc, Layout, System};

pub struct ZeroOnFree;

unsafe impl GlobalAlloc for ZeroOnFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        std::ptr::write_bytes(ptr, 0, layout.size());
        // The stores must not be elided as dead: the block is about to be freed.
        std::hint::black_box(ptr);
        System.dealloc(ptr, layout)
    }

    /// A new block, the bytes copied, the old block zeroed and freed (dlmalloc's in-place
    /// realloc would free or keep the old bytes without zeroing them).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new = System.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: ZeroOnFree = ZeroOnFree;
