/* SHA-256 (FIPS 180-4), for cache keys where NSS is not initialised:
 * the translator's runtime-object cache (translator/kbuild.c). */
#ifndef STAPCS_SHA256_H
#define STAPCS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;          /* message length so far */
	unsigned char block[64];
	size_t fill;             /* bytes waiting in block */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[32]);
/* out: 64 lower-case hex digits and a NUL */
void sha256_hex(struct sha256 *c, char out[65]);

#endif
