//! All the pointer plumbing of the C ABI, in one place: reading arguments,
//! writing outputs, making and freeing handles. Each `unsafe fn` states what
//! its caller (an exported function, relaying its own C caller's promises)
//! must guarantee.

use std::ffi::c_char;

use crate::error::educonnect_result;

/// Text handed out by a handle: the bytes and a terminating NUL, so that C
/// callers may use it as a C string; its length excludes the NUL.
#[derive(Debug)]
pub(crate) struct CText(Box<[u8]>);

impl CText {
    /// `text` with a NUL appended.
    pub(crate) fn new(text: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text);
        bytes.push(0);
        Self(bytes.into_boxed_slice())
    }

    /// The bytes without the NUL.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    /// Writes the pointer and length to the outputs. Text holding a NUL
    /// byte is refused when `c_string` (it would read as a shorter
    /// string in C: a subject `"a\0b"` must never compare equal to `"a"`).
    pub(crate) fn hand_out(
        &self,
        c_string: bool,
        out: &mut *const c_char,
        out_len: &mut usize,
    ) -> Result<(), educonnect_result> {
        if c_string && self.bytes().contains(&0) {
            return Err(educonnect_result::EDUCONNECT_INTERIOR_NUL);
        }
        *out = self.0.as_ptr().cast();
        *out_len = self.0.len() - 1;
        Ok(())
    }
}

/// Reads a byte argument.
///
/// # Safety
///
/// `ptr` is NULL, or points to `len` initialized bytes that are not
/// written to for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const c_char,
    len: usize,
) -> Result<&'a [u8], educonnect_result> {
    if ptr.is_null() {
        return Err(educonnect_result::EDUCONNECT_NULL_ARGUMENT);
    }
    if len > isize::MAX as usize {
        return Err(educonnect_result::EDUCONNECT_ARGUMENT_TOO_LARGE);
    }
    // SAFETY: not NULL, `len` readable bytes not written to during `'a`
    // (the caller's promise), and `len` fits an object's size.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// Reads a UTF-8 text argument (not NUL-terminated: its length is given).
///
/// # Safety
///
/// As [`bytes_arg`].
pub(crate) unsafe fn str_arg<'a>(
    ptr: *const c_char,
    len: usize,
) -> Result<&'a str, educonnect_result> {
    // SAFETY: the caller's promise, relayed.
    let bytes = unsafe { bytes_arg(ptr, len) }?;
    std::str::from_utf8(bytes).map_err(|_| educonnect_result::EDUCONNECT_INVALID_UTF8)
}

/// Borrows a handle.
///
/// # Safety
///
/// `ptr` is NULL, or a live handle of type `T` made by this library, not
/// freed during `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T) -> Result<&'a T, educonnect_result> {
    // SAFETY: NULL, or a valid `T` for `'a` (the caller's promise).
    unsafe { ptr.as_ref() }.ok_or(educonnect_result::EDUCONNECT_NULL_ARGUMENT)
}

/// Borrows an output parameter.
///
/// # Safety
///
/// `ptr` is NULL, or points to writable memory for a `T` (it may hold
/// anything: it is only written), not accessed otherwise during `'a`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T) -> Result<&'a mut T, educonnect_result> {
    // SAFETY: NULL, or valid for writes and exclusively ours for `'a`
    // (the caller's promise). Every `T` used here (pointers, integers) is
    // valid for any bit pattern, so holding a reference to it is sound.
    unsafe { ptr.as_mut() }.ok_or(educonnect_result::EDUCONNECT_NULL_ARGUMENT)
}

/// Moves `value` to the heap, for C to hold.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is ignored.
///
/// # Safety
///
/// `ptr` is NULL, or a handle of type `T` made by [`into_handle`] and not
/// freed yet, which no other thread is using.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: made by `Box::into_raw` for a `T`, freed once (the
        // caller's promise).
        drop(unsafe { Box::from_raw(ptr) });
    }
}
