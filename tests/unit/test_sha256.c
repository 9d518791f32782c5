/* common/sha256.c against FIPS 180-4's examples and a one-shot/incremental
 * comparison across every split of a message spanning block boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void digest(const void *data, size_t len, char out[65])
{
	struct sha256 c;
	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_hex(&c, out);
}

static void test_fips_examples(void **state)
{
	(void)state;
	char h[65];
	digest("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	digest(two_blocks, strlen(two_blocks), h);
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a(void **state)
{
	(void)state;
	static char chunk[1000];
	memset(chunk, 'a', sizeof chunk);
	struct sha256 c;
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, chunk, sizeof chunk);
	char h[65];
	sha256_hex(&c, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* 55, 56, 63, 64 and 65 bytes are the padding's edge cases */
static void test_splits(void **state)
{
	(void)state;
	unsigned char msg[200];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	static const size_t lens[] = { 55, 56, 63, 64, 65, 119, 120, 128, 200 };
	for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
		char whole[65];
		digest(msg, lens[l], whole);
		for (size_t cut = 0; cut <= lens[l]; cut++) {
			struct sha256 c;
			char h[65];
			sha256_init(&c);
			sha256_update(&c, msg, cut);
			sha256_update(&c, msg + cut, lens[l] - cut);
			sha256_hex(&c, h);
			assert_string_equal(h, whole);
		}
	}
	char h56[65];
	digest(msg, 56, h56);
	char h55[65];
	digest(msg, 55, h55);
	assert_string_not_equal(h55, h56);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_examples),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
