#!/usr/bin/env bash
# No-std proof: build the firmware example as a static library for the host
# with no global allocator. The build fails if anything in smime-core's
# dependency graph uses `alloc`. Prints the archive size, the code and static
# memory (text/data/bss) reachable from the exported functions, and the stack
# each one uses; checks the encrypted and the signed output with OpenSSL.
#
# For a Cortex-M4F/M7 build, where the target is installed
# (`rustup target list --installed` shows thumbv7em-none-eabihf):
#   cargo build --release --locked --target thumbv7em-none-eabihf
#   arm-none-eabi-size -t target/thumbv7em-none-eabihf/release/libsmime_firmware_example.a
# and link the archive into the firmware image (the linker's --gc-sections
# keeps what smime_encrypt and smime_sign reach).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked 2>&1 | tail -n 3
lib=target/release/libsmime_firmware_example.a
ls -l "$lib"
# The C harness links the archive into an executable that calls the exported
# functions, with section garbage collection, so only reachable code counts.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/main.c" <<'C'
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int32_t smime_encrypt(const uint8_t*, size_t, const uint8_t*, size_t, uint8_t*, size_t,
                      int32_t (*)(uint8_t*, size_t));
int32_t smime_sign(const uint8_t*, size_t, uint8_t*, size_t);
#ifdef STUB /* baseline: the same harness without the library */
int32_t smime_encrypt(const uint8_t *c, size_t cl, const uint8_t *m, size_t ml, uint8_t *o, size_t n,
                      int32_t (*r)(uint8_t*, size_t)) { (void)c; (void)cl; (void)m; (void)ml; (void)o; (void)n; (void)r; return 1; }
int32_t smime_sign(const uint8_t *m, size_t ml, uint8_t *o, size_t n) { (void)m; (void)ml; (void)o; (void)n; return 1; }
#endif
static int32_t trng(uint8_t *b, size_t n) { for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 131 + 7); return 0; }

/* Stack high-water mark: each call runs on a thread whose stack is this
   buffer, painted with a pattern first; afterwards the bytes from the low end
   that still hold the pattern were never touched. An empty thread's use
   (glibc keeps the thread descriptor and TLS at the top of a caller-given
   stack) is measured the same way and subtracted. */
#define STACK_LEN (512 * 1024)
#define PAINT 0xA5
static uint8_t stack_mem[STACK_LEN] __attribute__((aligned(4096)));
static uint8_t out[4096];
struct job { int which; int32_t result; };
static void *run(void *p) {
  struct job *j = p;
  j->result = 0;
#ifndef NO_ENCRYPT /* the variants that leave one function out measure the other's code */
  if (j->which == 1) j->result = smime_encrypt(NULL, 0, NULL, 0, out, sizeof out, trng);
#endif
#ifndef NO_SIGN
  if (j->which == 2) j->result = smime_sign(NULL, 0, out, sizeof out);
#endif
  return NULL;
}
static size_t stack_used(struct job *j) {
  pthread_attr_t a;
  pthread_t t;
  memset(stack_mem, PAINT, sizeof stack_mem);
  if (pthread_attr_init(&a) || pthread_attr_setstack(&a, stack_mem, sizeof stack_mem) ||
      pthread_create(&t, &a, run, j) || pthread_join(t, NULL)) exit(3);
  size_t i = 0;
  while (i < sizeof stack_mem && stack_mem[i] == PAINT) i++;
  return sizeof stack_mem - i;
}
static int save(const char *path, int32_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(out, 1, (size_t)n, f) != (size_t)n) return 2;
  return fclose(f) ? 2 : 0;
}
int main(int argc, char **argv) {
  struct job idle = {0, 0}, enc = {1, 0}, sig = {2, 0};
  size_t base = stack_used(&idle);
  size_t e = stack_used(&enc);
  if (enc.result <= 0) { fprintf(stderr, "smime_encrypt failed: %d\n", (int)enc.result); return 1; }
  if (argc > 1 && save(argv[1], enc.result)) return 2;
  size_t s = stack_used(&sig);
  if (sig.result <= 0) { fprintf(stderr, "smime_sign failed: %d\n", (int)sig.result); return 1; }
  if (argc > 2 && save(argv[2], sig.result)) return 2;
  printf("stack high-water mark (painted %d KiB thread stack, minus %zu bytes of an empty thread):\n",
         STACK_LEN / 1024, base);
  printf("  smime_encrypt  %6zu bytes  (AES-256-CBC to RSA-2048, %d-byte EnvelopedData)\n", e - base, (int)enc.result);
  printf("  smime_sign     %6zu bytes  (ECDSA P-256, %d-byte SignedData)\n", s - base, (int)sig.result);
  return 0;
}
C
if command -v cc >/dev/null; then
  flags=(-Os -ffunction-sections -fdata-sections -pthread)
  cc "${flags[@]}" "$tmp/main.c" "$lib" -Wl,--gc-sections -o "$tmp/fw"
  cc "${flags[@]}" -DSTUB "$tmp/main.c" -Wl,--gc-sections -o "$tmp/stub"
  cc "${flags[@]}" -DNO_SIGN "$tmp/main.c" "$lib" -Wl,--gc-sections -o "$tmp/fw-encrypt"
  cc "${flags[@]}" -DNO_ENCRYPT "$tmp/main.c" "$lib" -Wl,--gc-sections -o "$tmp/fw-sign"
  "$tmp/fw" "$tmp/enc.der" "$tmp/sig.der"
  # Code (text: code and read-only data) and static memory (data, bss) of
  # the library: the harness with the library minus the harness with stubs.
  size "$tmp/fw" "$tmp/stub"
  read -r st sd sb _ < <(size "$tmp/stub" | tail -n 1)
  echo "library's share (host, x86-64; the harness with the library minus the harness with stubs):"
  for v in fw:"both functions" fw-encrypt:"smime_encrypt only" fw-sign:"smime_sign only"; do
    read -r ft fd fb _ < <(size "$tmp/${v%%:*}" | tail -n 1)
    printf '  %-20s text %7d  data %5d  bss %5d bytes\n' "${v#*:}" $((ft - st)) $((fd - sd)) $((fb - sb))
  done
  if command -v openssl >/dev/null; then
    # The message decrypts with OpenSSL and the test recipient's key.
    openssl cms -decrypt -binary -inform DER -in "$tmp/enc.der" -inkey recipient-key.pem -out "$tmp/plain"
    grep -q "Meter 4711" "$tmp/plain"
    echo "firmware example: output decrypts with openssl cms: $(cat "$tmp/plain")"
    # The signature verifies with OpenSSL, the built-in signer as trust anchor.
    openssl x509 -inform DER -in src/signer.der -out "$tmp/signer.pem"
    openssl cms -verify -binary -inform DER -in "$tmp/sig.der" -CAfile "$tmp/signer.pem" \
      -purpose any -out "$tmp/signed" 2>"$tmp/verify.log" || { cat "$tmp/verify.log"; exit 1; }
    grep -q "Meter 4711" "$tmp/signed"
    echo "firmware example: signature verifies with openssl cms -verify: $(cat "$tmp/signed")"
  fi
fi
