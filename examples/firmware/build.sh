#!/usr/bin/env bash
# No-std proof: build the firmware example as a static library for the host
# with no global allocator. The build fails if anything in smime-core's
# dependency graph uses `alloc`. Prints the archive size and the size of the
# code actually reachable from the exported function.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked 2>&1 | tail -n 3
lib=target/release/libsmime_firmware_example.a
ls -l "$lib"
# Reachable code: link the archive into an executable that only calls the
# exported symbol, with section garbage collection.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/main.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <string.h>
int32_t smime_encrypt(const uint8_t*, size_t, const uint8_t*, size_t, uint8_t*, size_t,
                      int32_t (*)(uint8_t*, size_t));
static int32_t trng(uint8_t *b, size_t n) { for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 131 + 7); return 0; }
#include <stdio.h>
int main(int argc, char **argv) {
  static uint8_t out[4096];
  int32_t n = smime_encrypt(NULL, 0, NULL, 0, out, sizeof out, trng);
  if (n <= 0) return 1;
  if (argc > 1) { FILE *f = fopen(argv[1], "wb"); if (!f || fwrite(out, 1, (size_t)n, f) != (size_t)n) return 2; fclose(f); }
  return 0;
}
C
if command -v cc >/dev/null; then
  cc -Os -ffunction-sections -fdata-sections "$tmp/main.c" "$lib" -Wl,--gc-sections -o "$tmp/fw"
  "$tmp/fw" "$tmp/out.der"
  size "$tmp/fw"
  # The message decrypts with OpenSSL and the test recipient's key.
  if command -v openssl >/dev/null; then
    openssl cms -decrypt -binary -inform DER -in "$tmp/out.der" -inkey recipient-key.pem -out "$tmp/plain"
    grep -q "Meter 4711" "$tmp/plain"
    echo "firmware example: output decrypts with openssl cms: $(cat "$tmp/plain")"
  fi
fi
