//! Runtime dispatch to AVX2 builds of the hot loops, written once.
//!
//! Each hot loop is written once, portably, in an `#[inline(always)]` function
//! whose loops vectorize. [`avx2_dispatch!`] defines the function that callers use:
//! it runs an AVX2 build of that code where the CPU has AVX2 (checked at each
//! call; `is_x86_feature_detected!` reads a cached flag) and the portable build
//! elsewhere. Both builds perform the same IEEE operations in the same order:
//! Rust never contracts a multiply and an add into an FMA and never reassociates
//! on its own, and AVX2 without the `fma` feature has no FMA instruction to
//! contract into. So the builds give the same bits, which the tests of each
//! dispatched loop check.

/// Defines a function that runs `$portable` compiled for AVX2 where the CPU has
/// it, and `$portable` as built elsewhere; also defines the AVX2 build, `$avx2`
/// (private, for tests that compare the builds).
///
/// Three forms: a free function (generics in square brackets), a method on
/// `&self`, and an associated function of `Self`:
///
/// ```text
/// avx2_dispatch! {
///     /// Docs of the dispatching function.
///     #[inline]
///     pub fn name[T: Copy](a: &[T], b: &mut [f64]) -> bool = name_portable, avx2 name_avx2;
/// }
/// avx2_dispatch! {
///     fn apply(&self, x: &[f64]) = self.apply_portable, avx2 self.apply_avx2;
/// }
/// avx2_dispatch! {
///     fn of(codes: &[u16]) -> Option<Span> = Self::of_portable, avx2 Self::of_avx2;
/// }
/// ```
macro_rules! avx2_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)?
        = self.$portable:ident, avx2 self.$avx2:ident;
    ) => {
        $(#[$meta])*
        $vis fn $name(&self, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.$avx2($($arg),*) };
            }
            self.$portable($($arg),*)
        }

        #[doc = concat!("[`Self::", stringify!($portable), "`] compiled for AVX2.")]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2(&self, $($arg: $ty),*) $(-> $ret)? {
            self.$portable($($arg),*)
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        = Self::$portable:ident, avx2 Self::$avx2:ident;
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { Self::$avx2($($arg),*) };
            }
            Self::$portable($($arg),*)
        }

        #[doc = concat!("[`Self::", stringify!($portable), "`] compiled for AVX2.")]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) $(-> $ret)? {
            Self::$portable($($arg),*)
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $([$($generics:tt)*])? ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        = $portable:ident, avx2 $avx2:ident;
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$($generics)*>)? ($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { $avx2($($arg),*) };
            }
            $portable($($arg),*)
        }

        #[doc = concat!("[`", stringify!($portable), "`] compiled for AVX2.")]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2 $(<$($generics)*>)? ($($arg: $ty),*) $(-> $ret)? {
            $portable($($arg),*)
        }
    };
}

pub(crate) use avx2_dispatch;
