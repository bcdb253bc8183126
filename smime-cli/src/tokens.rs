//! `smime tokens`: what a PKCS#11 module shows (slots, tokens, keys,
//! certificates), each object with the `pkcs11:` URI that names it, like
//! `p11tool --list-all`.

use std::fmt::Write as _;
use std::io::Write as _;

use zeroize::Zeroizing;

use crate::cli::TokensArgs;
use crate::describe::colon_hex;
use crate::error::{Context, Error, Result};

/// Runs `smime tokens`.
pub fn run(args: &TokensArgs) -> Result<()> {
    let pin: Option<Zeroizing<String>> = match (&args.pin, &args.pin_source) {
        (Some(p), _) => Some(Zeroizing::new(p.clone())),
        (None, Some(f)) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read PIN file '{}'", f.display()))?,
            );
            Some(Zeroizing::new(
                text.lines().next().unwrap_or_default().to_owned(),
            ))
        }
        (None, None) => None,
    };
    let tokens = smime_pkcs11::list(args.module.as_deref(), pin.as_deref().map(String::as_str))
        .map_err(|e| Error::msg(format_args!("PKCS#11: {e}")))?;
    let mut s = String::new();
    if tokens.is_empty() {
        s.push_str("no token present\n");
    }
    for t in &tokens {
        let _ = writeln!(s, "Slot {}: {}", t.slot_id, t.slot_description.trim());
        let _ = writeln!(s, "  Token:        {}", t.label.trim());
        let _ = writeln!(s, "  Manufacturer: {}", t.manufacturer.trim());
        let _ = writeln!(s, "  Model:        {}", t.model.trim());
        let _ = writeln!(s, "  Serial:       {}", t.serial.trim());
        if !t.flags.is_empty() {
            let _ = writeln!(s, "  Flags:        {}", t.flags.join(", "));
        }
        for o in &t.objects {
            let _ = writeln!(s, "  Object: {} '{}'", o.class, o.label);
            if !o.id.is_empty() {
                let _ = writeln!(s, "    ID:       {}", colon_hex(&o.id));
            }
            if let Some(k) = &o.key_type {
                let _ = writeln!(s, "    Type:     {k}");
            }
            if let Some(subject) = &o.subject {
                let _ = writeln!(s, "    Subject:  {subject}");
            }
            let _ = writeln!(s, "    URI:      {}", o.uri);
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .context("writing standard output")
}
