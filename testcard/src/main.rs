//! Plugs an emulated card into vpcd until interrupted, for trying the tools
//! by hand:
//!
//! ```sh
//! scripts/pcscd-vpcd
//! cargo run -p smime-testcard -- openpgp KEY.der CERT.der [PIN]
//! ```
//!
//! KEY.der is a PKCS#8 key (RSA, P-256 or P-384), CERT.der its
//! certificate; the PIN defaults to 123456.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use smime_testcard::{CardConfig, KeySlot, Plugged, Profile, VPCD_PORT, VirtualCard};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [profile, key, cert, rest @ ..] = args.as_slice() else {
        eprintln!("usage: smime-testcard openpgp|iso7816 KEY.der CERT.der [PIN]");
        std::process::exit(2);
    };
    let profile = match profile.as_str() {
        "openpgp" => Profile::OpenPgp,
        "iso7816" => Profile::Iso7816,
        other => panic!("unknown profile {other}"),
    };
    let slot = KeySlot { pkcs8: std::fs::read(key).unwrap(), cert: std::fs::read(cert).unwrap() };
    let mut cfg = CardConfig::new(profile, slot);
    if let Some(pin) = rest.first() {
        cfg.pin = pin.as_bytes().to_vec();
    }
    let plugged = Plugged::plug(VirtualCard::new(cfg), VPCD_PORT).expect("connect to vpcd");
    eprintln!("card plugged into vpcd (port {VPCD_PORT}); Ctrl-C to pull it out");
    while plugged.is_plugged() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
