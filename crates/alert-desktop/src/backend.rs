//! The platform backend, picked at compile time.
//!
//! | target | backend |
//! |---|---|
//! | `all(unix, not(target_os = "macos"))` (Linux, the BSDs) | [`crate::xdg`]: freedesktop D-Bus through notify-rust + zbus |
//! | `target_os = "macos"`, `target_os = "windows"` | `crate::native`: notify-rust's native backends |
//! | anything else | `crate::native`: sends nothing; `new` fails unless `fallback = "console"` |

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub(crate) use crate::native::{Backend, default_opener};
#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) use crate::xdg::{Backend, default_opener};

/// Whether this platform has desktop notifications at all.
pub(crate) const SUPPORTED: bool = cfg!(any(unix, windows));
