/*
 * Dropbear SSH
 * 
 * Copyright (c) 2002,2003 Matt Johnston
 * Copyright (c) 2020 by Vladislav Grishenko
 * All rights reserved.
 * 
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 * 
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 * 
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 * SOFTWARE. */

/* dipus: this file replaces dropbear 2025.89's src/chachapoly.c in the embedded client
 * (mk/deps.mk copies it over, with dropbear_chachapoly.h as src/chachapoly.h): the same
 * chacha20-poly1305@openssh.com construction, computed by core/ssh-chachapoly.c
 * (vectorised ChaCha20, 64-bit-limb Poly1305) instead of libtomcrypt's one-block-at-a-
 * time C, which held bulk transfers to about half of OpenSSH's rate. The state is the
 * two keys only. */

#include "includes.h"
#include "algo.h"
#include "dbutil.h"
#include "chachapoly.h"
#include "ssh-chachapoly.h"

#if DROPBEAR_CHACHA20POLY1305

#define CHACHA20_KEY_LEN 32
#define CHACHA20_BLOCKSIZE 8
#define POLY1305_KEY_LEN 32
#define POLY1305_TAG_LEN 16

static const struct ltc_cipher_descriptor dummy = {.name = NULL};

static const struct dropbear_hash dropbear_chachapoly_mac =
	{NULL, POLY1305_KEY_LEN, POLY1305_TAG_LEN};

const struct dropbear_cipher dropbear_chachapoly =
	{&dummy, CHACHA20_KEY_LEN*2, CHACHA20_BLOCKSIZE};

/* key: K_2 (payload, Poly1305 key) then K_1 (packet length), as OpenSSH's
 * PROTOCOL.chacha20poly1305 and dropbear's original have it */
static int dropbear_chachapoly_start(int UNUSED(cipher), const unsigned char* UNUSED(IV),
			const unsigned char *key, int keylen,
			int UNUSED(num_rounds), dropbear_chachapoly_state *state) {
	if (keylen != CHACHA20_KEY_LEN*2) {
		return CRYPT_ERROR;
	}
	memcpy(state->key, key, CHACHA20_KEY_LEN);
	memcpy(state->header, key + CHACHA20_KEY_LEN, CHACHA20_KEY_LEN);
	return CRYPT_OK;
}

static int dropbear_chachapoly_crypt(unsigned int seq,
			const unsigned char *in, unsigned char *out,
			unsigned long len, unsigned long taglen,
			dropbear_chachapoly_state *state, int direction) {
	static const unsigned char zero[POLY1305_KEY_LEN];
	unsigned char seqbuf[8], key[POLY1305_KEY_LEN], tag[POLY1305_TAG_LEN];
	int ret = CRYPT_OK;

	if (len < 4 || taglen != POLY1305_TAG_LEN) {
		return CRYPT_ERROR;
	}

	STORE64H((uint64_t)seq, seqbuf);
	/* the Poly1305 key is K_2's keystream block 0; the payload starts at block 1 */
	ssh_chacha20_xor(key, zero, sizeof(key), state->key, 0, seqbuf);
	if (direction == LTC_DECRYPT) {
		ssh_poly1305(tag, in, len, key);
		if (constant_time_memcmp(in + len, tag, taglen) != 0) {
			ret = CRYPT_ERROR;
			goto out;
		}
	}
	ssh_chacha20_xor(out, in, 4, state->header, 0, seqbuf);
	ssh_chacha20_xor(out + 4, in + 4, len - 4, state->key, 1, seqbuf);
	if (direction == LTC_ENCRYPT) {
		ssh_poly1305(out + len, out, len, key);
	}
out:
	m_burn(key, sizeof(key));
	return ret;
}

static int dropbear_chachapoly_getlength(unsigned int seq,
			const unsigned char *in, unsigned int *outlen,
			unsigned long len, dropbear_chachapoly_state *state) {
	unsigned char seqbuf[8], buf[4];

	if (len < sizeof(buf)) {
		return CRYPT_ERROR;
	}
	STORE64H((uint64_t)seq, seqbuf);
	ssh_chacha20_xor(buf, in, sizeof(buf), state->header, 0, seqbuf);
	LOAD32H(*outlen, buf);
	return CRYPT_OK;
}

const struct dropbear_cipher_mode dropbear_mode_chachapoly =
	{(void *)dropbear_chachapoly_start, NULL, NULL,
	 (void *)dropbear_chachapoly_crypt,
	 (void *)dropbear_chachapoly_getlength, &dropbear_chachapoly_mac};

#endif /* DROPBEAR_CHACHA20POLY1305 */
