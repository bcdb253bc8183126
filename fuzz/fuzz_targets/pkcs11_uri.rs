//! smime-pkcs11's RFC 7512 URI parser on arbitrary text (what a user types
//! after `--key`, or a configuration file holds): no panic, and for every
//! URI it accepts, the canonical form (`Display`) parses back to the same
//! URI without its PIN, is a fixed point, and neither it nor `Debug` depends
//! on the PIN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime_pkcs11::{Pkcs11Uri, is_pkcs11_uri};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else { return };
    let parsed = Pkcs11Uri::parse(s);
    if !is_pkcs11_uri(s) {
        assert!(parsed.is_err(), "accepted without the scheme: {s:?}");
        return;
    }
    let Ok(uri) = parsed else { return };
    let shown = uri.to_string();
    assert!(is_pkcs11_uri(&shown));
    let back = Pkcs11Uri::parse(&shown)
        .unwrap_or_else(|e| panic!("{s:?} shown as {shown:?}, which does not parse: {e}"));
    let mut expect = uri.clone();
    expect.pin_value = None;
    assert_eq!(back, expect, "{s:?} shown as {shown:?}");
    assert_eq!(back.to_string(), shown, "not a fixed point");
    // The PIN leaves no trace: the same text with any other PIN or none.
    assert_eq!(expect.to_string(), shown);
    if uri.pin_value.is_some() {
        let mut other = uri.clone();
        other.pin_value = Some(String::from("other PIN").into());
        assert_eq!(format!("{other:?}"), format!("{uri:?}"), "PIN in Debug");
    }
});
