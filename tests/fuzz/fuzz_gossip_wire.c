/* fuzz_gossip_wire.c - libFuzzer target for the gossip wire decoder and the live core.
 *
 * Each input goes to gossip_wire_decode() and then to gossip_handle() of a core that accepts
 * every signature and every transport identity (so decoded records, accusations, pings and
 * push/pulls reach the protocol logic, not just the signature check), followed by a tick. The
 * core persists across inputs (a fuzzer process is this harness's only user; the one static
 * below is the harness state, not library state). Seeds: tests/fuzz/corpus/fuzz_gossip_wire/,
 * written by bench/gossip_corpus from real traffic of a small in-memory cluster.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

static void f_send(void *ctx, const char *addr, const uint8_t *to_key, const uint8_t *data,
		   size_t len)
{
}

static void f_sign(void *ctx, const uint8_t *data, size_t len, uint8_t sig[GOSSIP_SIG_LEN])
{
	memset(sig, 0x5a, GOSSIP_SIG_LEN);
}

static int f_verify(void *ctx, const uint8_t pk[GOSSIP_KEY_LEN], const uint8_t *data, size_t len,
		    const uint8_t sig[GOSSIP_SIG_LEN])
{
	return 0;
}

static struct {
	struct gossip *g;
	uint64_t now;
	unsigned inputs;
} fz;

static struct gossip *core(void)
{
	if (fz.g && fz.inputs % 5000 == 0)
		gossip_free(&fz.g); /* bound the member table the fuzzer grows */
	if (!fz.g) {
		struct gossip_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		memset(cfg.self_key, 0x42, GOSSIP_KEY_LEN);
		gossip_timing_lan(&cfg.timing);
		cfg.seed = 7;
		cfg.ops = (struct gossip_ops){ .send = f_send, .sign = f_sign, .verify = f_verify };
		struct gossip_info info;
		memset(&info, 0, sizeof(info));
		strcpy(info.name, "fuzz");
		strcpy(info.addr, "tcp://127.0.0.1:4660");
		fz.now = 1000;
		fz.g = gossip_new(&cfg, &info, fz.now);
		if (!fz.g)
			abort();
	}
	return fz.g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_msg m;
	if (gossip_wire_decode(data, size, &m) == 0) {
		/* whatever decodes must re-encode */
		uint8_t *buf = malloc(GOSSIP_MSG_MAX * 2);
		if (!buf)
			abort();
		m.out_recs = NULL;
		struct gossip_rec **tmp = NULL;
		if (m.n_recs) {
			tmp = calloc(m.n_recs, sizeof(*tmp));
			if (!tmp)
				abort();
			for (size_t i = 0; i < m.n_recs; i++)
				tmp[i] = &m.recs[i];
			m.out_recs = (const struct gossip_rec **)tmp;
		}
		if (gossip_wire_encode(&m, buf, GOSSIP_MSG_MAX * 2) < 0 && size <= GOSSIP_MSG_MAX)
			abort();
		free(tmp);
		free(buf);
		gossip_wire_msg_release(&m);
	}
	struct gossip *g = core();
	fz.inputs++;
	fz.now += 37;
	(void)gossip_handle(g, fz.now, data, size, NULL, 0);
	gossip_tick(g, fz.now);
	return 0;
}
