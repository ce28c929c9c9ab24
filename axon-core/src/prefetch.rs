//! A hint to the CPU to start loading a cache line the code will read soon, so that the load
//! overlaps with other work (a system call, say) instead of stalling the read that needs it.
//!
//! # Soundness
//! A prefetch is only a hint. It never faults, whatever the address (null, dangling or unmapped
//! included), and it changes no memory the program can observe; so [`prefetch`] takes any raw
//! pointer and is safe to call. Under Miri, and on targets other than x86_64, it does nothing.
#![allow(unsafe_code)]

/// Asks the CPU to bring the cache line holding `p` into its caches.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: see the module docs: a prefetch reads nothing the program sees and cannot fault;
    // `sse`, the feature it needs, is in every x86_64 target's baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::prefetch;

    /// Any address is fine: live, dangling, null (also under Miri, where it is a no-op).
    #[test]
    fn prefetching_any_address_does_nothing_observable() {
        let v = vec![7u8; 256];
        prefetch(v.as_ptr());
        prefetch(v.as_ptr().wrapping_add(200));
        let dangling = {
            let b = Box::new(1u64);
            &*b as *const u64
        };
        prefetch(dangling);
        prefetch(std::ptr::null::<u8>());
        assert!(v.iter().all(|&b| b == 7));
    }
}
