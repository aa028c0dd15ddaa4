//! Generates the Kotlin, Swift and Python bindings from the built library
//! (`--library target/debug/libreach.so`). It lives in the workspace so the
//! generator always matches the uniffi version the library was built with.
fn main() {
    uniffi::uniffi_bindgen_main()
}
