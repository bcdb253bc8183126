#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/seeds/<target>/ (small:
# valid messages from OpenSSL and gpgsm made with the test keys in
# fuzz/keys, a few interop samples, and hand-made inputs for the card
# targets). Generated corpora of long runs stay in fuzz/corpus (ignored).
#   bash fuzz/gen-seeds.sh [INTEROP_DIR]   (default ../shared/interop)
set -euo pipefail
cd "$(dirname "$0")"
interop=${1:-../../shared/interop}
K=keys
S=seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$S"
for t in ber_tokenizer enveloped_decoder signature signed_decoder crl_path mime_message \
         apdu_response t1_block cert_view roundtrip_enveloped roundtrip_auth_enveloped \
         roundtrip_signed roundtrip_mime differential_openssl pkcs11_uri; do
  mkdir -p "$S/$t"
done
printf 'Content-Type: text/plain\r\n\r\nHello from the fuzz seeds.\r\nSecond line.\r\n' > "$tmp/msg.txt"
printf 'x' > "$tmp/one.txt"

# --- SignedData from OpenSSL (DER), with the RSA, P-256 and Ed25519 keys.
n=0
for k in rsa p256 ed25519; do
  for extra in "" "-stream" "-nosmimecap" "-noattr" "-md sha384"; do
    [ "$k" = ed25519 ] && [ "$extra" = "-noattr" ] && continue
    n=$((n + 1))
    # shellcheck disable=SC2086
    openssl cms -sign -binary -nodetach -outform DER -in "$tmp/msg.txt" \
      -signer "$K/$k.crt.pem" -inkey "$K/$k.key.pem" $extra -out "$tmp/s$n.der" 2>/dev/null || continue
    cp "$tmp/s$n.der" "$S/signed_decoder/openssl-$k-$n.der"
    { printf '\x00'; cat "$tmp/s$n.der"; } > "$S/differential_openssl/signed-$k-$n"
  done
done
openssl cms -sign -binary -outform DER -in "$tmp/msg.txt" -signer "$K/rsa.crt.pem" \
  -inkey "$K/rsa.key.pem" -out "$S/signed_decoder/openssl-rsa-detached.der"
openssl cms -sign -binary -nodetach -outform DER -in "$tmp/msg.txt" -signer "$K/rsa.crt.pem" \
  -inkey "$K/rsa.key.pem" -keyopt rsa_padding_mode:pss -out "$tmp/pss.der"
cp "$tmp/pss.der" "$S/signed_decoder/openssl-rsa-pss.der"
{ printf '\x00'; cat "$tmp/pss.der"; } > "$S/differential_openssl/signed-rsa-pss"
# Two signers.
openssl cms -sign -binary -nodetach -outform DER -in "$tmp/msg.txt" -signer "$K/rsa.crt.pem" \
  -inkey "$K/rsa.key.pem" -signer "$K/p256.crt.pem" -inkey "$K/p256.key.pem" -out "$tmp/two.der"
cp "$tmp/two.der" "$S/signed_decoder/openssl-two-signers.der"
{ printf '\x00'; cat "$tmp/two.der"; } > "$S/differential_openssl/signed-two"

# --- EnvelopedData / AuthEnvelopedData from OpenSSL to the RSA test cert.
for c in aes-128-cbc aes-256-cbc des-ede3-cbc aes-128-gcm aes-256-gcm; do
  for extra in "" "-stream" "-keyid" "-keyopt rsa_padding_mode:oaep"; do
    f="$tmp/e-$c-${extra//[^a-z]/}.der"
    # shellcheck disable=SC2086
    openssl cms -encrypt -binary -outform DER -in "$tmp/msg.txt" -"$c" \
      -recip "$K/rsa.crt.pem" $extra -out "$f" 2>/dev/null || continue
    cp "$f" "$S/enveloped_decoder/openssl-$(basename "$f")"
    { printf '\x01'; cat "$f"; } > "$S/differential_openssl/enveloped-$(basename "$f" .der)"
  done
done
# To the P-256 cert (ECDH), for the decoder seeds only.
openssl cms -encrypt -binary -outform DER -in "$tmp/msg.txt" -aes-128-cbc \
  -recip "$K/p256.crt.pem" -out "$S/enveloped_decoder/openssl-ecdh-p256.der"

# --- MIME: multipart/signed and opaque (pkcs7-mime) mails.
printf 'From: fuzz@example.org\r\nTo: b@example.org\r\nSubject: seed\r\n' > "$tmp/hdr"
openssl cms -sign -in "$tmp/msg.txt" -signer "$K/p256.crt.pem" -inkey "$K/p256.key.pem" \
  > "$tmp/ms.eml"
cat "$tmp/hdr" "$tmp/ms.eml" > "$S/mime_message/openssl-multipart-signed.eml"
openssl cms -sign -nodetach -in "$tmp/msg.txt" -signer "$K/rsa.crt.pem" -inkey "$K/rsa.key.pem" \
  > "$tmp/op.eml"
cat "$tmp/hdr" "$tmp/op.eml" > "$S/mime_message/openssl-opaque-signed.eml"
cp "$tmp/msg.txt" "$S/mime_message/plain.eml"

# gpgsm: messages made by gpgsm come from GnuPG's own test suite (below);
# importing OpenSSL 3 PKCS#12 keys into a throw-away gpgsm home in batch
# mode did not work here (PBES2 refused, then no loopback pinentry).

# --- Interop samples (small ones).
if [ -d "$interop" ]; then
  L="$interop/libksba/tests/samples"
  for f in rsa-sample1.p7s ecdsa-sample1.p7s detached-sig.cms; do
    [ -f "$L/$f" ] && cp "$L/$f" "$S/signed_decoder/ksba-$f"
  done
  for f in rsa-sample1.p7m ecdh-sample1.p7m; do
    [ -f "$L/$f" ] && cp "$L/$f" "$S/enveloped_decoder/ksba-$f"
  done
  G="$interop/gnupg/tests/cms"
  for f in text-1.osig.pem text-2.osig.pem text-1.dsig.pem text-1.osig-bad.pem; do
    [ -f "$G/$f" ] || continue
    openssl base64 -d -in <(grep -v '^-----' "$G/$f") -out "$S/signed_decoder/gpgsm-${f%.pem}.der"
    { printf '\x00'; cat "$S/signed_decoder/gpgsm-${f%.pem}.der"; } \
      > "$S/differential_openssl/signed-gpgsm-${f%.pem}"
  done
  for f in "$G"/samplemsgs/pwri-sample.cbc.p7m "$G"/samplemsgs/pwri-sample.gcm.p7m; do
    [ -f "$f" ] && cp "$f" "$S/enveloped_decoder/gpgsm-$(basename "$f")"
  done
  for f in ed25519-rfc8410.crt secp384r1-sha512_cert.crt ov-user.crt ov-root-ca-cert.crt \
           cert_dfn_pca15.der bull.crt; do
    [ -f "$L/$f" ] && cp "$L/$f" "$S/cert_view/ksba-$f"
  done
  # crl_path: [len16 CRL][len16 leaf][len16 anchor]
  if [ -f "$L/ov-test-crl.crl" ] && [ -f "$L/ov-user.crt" ]; then
    python3 - "$L/ov-test-crl.crl" "$L/ov-user.crt" "$L/ov-root-ca-cert.crt" \
      "$S/crl_path/ksba-ov-chain" <<'PY'
import sys, struct
out = b""
for p in sys.argv[1:-1]:
    d = open(p, "rb").read()
    if d.startswith(b"-----"):
        import base64
        d = base64.b64decode(b"".join(l for l in d.splitlines() if not l.startswith(b"-----")))
    out += struct.pack(">H", len(d)) + d
open(sys.argv[-1], "wb").write(out)
PY
  fi
fi
for k in rsa p256 ed25519; do cp "$K/$k.crt.der" "$S/cert_view/$k.crt.der"; done

# --- The tokenizer: a few of everything.
cp "$S/signed_decoder/openssl-rsa-1.der" "$S/enveloped_decoder/openssl-e-aes-128-gcm-.der" \
   "$S/cert_view/p256.crt.der" "$S/ber_tokenizer/" 2>/dev/null || true
cp "$S/signed_decoder/openssl-rsa-2.der" "$S/ber_tokenizer/indefinite.der" 2>/dev/null || true

# --- signature: [len alg][len spki][len sig][msg] from a real P-256 signature.
python3 - "$K/p256.crt.der" "$S/signature/p256-sha256" <<'PY'
import sys, subprocess, tempfile, os
cert = open(sys.argv[1], "rb").read()
# The certificate's own signature over its TBS, with the issuer's (its own) SPKI.
def tlv(b, i):
    l = b[i+1]; h = 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i+2:i+2+n], "big"); h = 2 + n
    return i, h, l
_, h, l = tlv(cert, 0)
i = h
ti, th, tl = tlv(cert, i); tbs = cert[ti:ti+th+tl]; i = ti + th + tl
ai, ah, al = tlv(cert, i); alg = cert[ai:ai+ah+al]; i = ai + ah + al
si, sh, sl = tlv(cert, i); sig = cert[si+sh+1:si+sh+sl]
# SPKI: 7th element of TBS (version, serial, sigalg, issuer, validity, subject, spki)
j = th
for _ in range(6):
    ei, eh, el = tlv(tbs, j); j = ei + eh + el
ei, eh, el = tlv(tbs, j); spki = tbs[ei:ei+eh+el]
out = bytes([len(alg)]) + alg + bytes([len(spki)]) + spki + bytes([len(sig)]) + sig + tbs
open(sys.argv[2], "wb").write(out)
PY

# --- Card targets: hand-made sessions.
# apdu_response: channel ops over short APDUs with 61xx / 6Cxx answers.
printf '\x00\x04\x01\x01\x10\x00\x00\x61\x04\xe0\x02\xAA\xBB\x61\x02\xe0\x02\xCC\xDD\x90\x00' \
  > "$S/apdu_response/get-response"
# OpenPGP card key from a known certificate, then a signature (smart answers).
printf '\x40\x62\x01\x09\x49\x60\x60\x60\x60\x60\x60\x60\x60' > "$S/apdu_response/openpgp-sign"
printf '\xa0\x00\x03\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60\x60' \
  > "$S/apdu_response/iso7816-open"
# t1_block: SE05x, one transmit answered 9000 (well-formed block).
printf '\x00\x00\x01\x00\x04\x00\x02\x04\x90\x00' > "$S/t1_block/se05x-9000"
printf '\x02\x00\x01\x00\x04\x00\x02\x04\x90\x00' > "$S/t1_block/iso-9000"
printf '\x01\x00\x02\x00\x03\x04\xc3\x00\x04\x00\x04\x00\x02\x04\x90\x00' > "$S/t1_block/gp-wtx"

# --- pkcs11_uri: RFC 7512's examples and the forms the CLI and SoftHSM use.
n=0
for u in \
  'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;object=my%20key;type=private' \
  'pkcs11:id=%01%02?pin-value=1234&module-path=/usr/lib/x.so' \
  'pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-source=file:/etc/token' \
  'pkcs11:slot-id=3;serial=DECC0401648;x-vendor=1?foo=bar' \
  'pkcs11:object=a%3bb;id=A' \
  'pkcs11:model=SoftHSM%20v2;library-manufacturer=SoftHSM;library-version=2.6;slot-description=x;slot-manufacturer=y;type=cert' \
  'pkcs11:token=smime;object=sign;type=private?pin-value=123456&module-name=softhsm2&module-path=%2Fusr%2Flib%2Fsofthsm%2Flibsofthsm2.so' \
  'PKCS11:type=secret-key;type=data' \
  'pkcs11:token=%C3%BC%E2%82%AC?pin-source=env:PIN&pin-value='; do
  n=$((n + 1))
  printf '%s' "$u" > "$S/pkcs11_uri/uri-$n"
done

# --- Round trips: small control headers and contents.
for t in roundtrip_enveloped roundtrip_auth_enveloped roundtrip_signed roundtrip_mime; do
  for i in 0 1 2 3 4 5 6 7; do
    printf "\\x0$i\\x0$i\\x0$i\\x07\\x00\\x05\\x0d\\x00Hello, world.\\nLine two.\\n" > "$S/$t/seed-$i"
  done
done

du -sh "$S"
