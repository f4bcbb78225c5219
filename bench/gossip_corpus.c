/* gossip_corpus.c - writes the seed corpus of fuzz_gossip_wire from real traffic.
 *
 * Usage: gossip_corpus DIR. Runs a 5-node in-memory cluster (tests/unit/test_gossip_net.h:
 * join, a load change, a leave, a crash) and saves the first few packets of each kind (ping,
 * ack, ping-req, nack, push/pull request/response/records, gossip) as DIR/<kind>-<n>.bin. */
#include <errno.h>
#include <stdio.h>

#include "gossip/gossip_int.h"
#include "tests/unit/test_gossip_net.h"

static const char *dir;
static int saved[8][8];

static void tap(struct tn *t, const uint8_t *data, size_t len)
{
	static const char *names[] = { "none", "ping", "ack", "pingreq", "nack", "pushpull",
				       "gossip" };
	struct gw_msg m;
	if (gossip_wire_decode(data, len, &m) < 0)
		return;
	int kind = (int)m.body;
	int sub = kind == GW_PUSHPULL ? (int)(m.pp_flags & 7) : (m.n_upd ? 1 : 0);
	gossip_wire_msg_release(&m);
	if (saved[kind][sub] >= 2)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s-%d-%d.bin", dir, names[kind], sub, saved[kind][sub]);
	FILE *f = fopen(path, "wbe");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return;
	}
	saved[kind][sub]++;
}

int main(int argc, char **argv)
{
	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: gossip_corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	static struct tn t;
	tn_init(&t, 5, false);
	t.tap = tap;
	tn_join_all(&t, 0);
	tn_run(&t, 3000);
	struct gossip_info info;
	tn_info(&info, 2);
	info.load_milli = 3000;
	gossip_set_info(t.node[2].g, t.now, &info);
	tn_run(&t, 8000);
	gossip_leave(t.node[4].g, t.now);
	tn_run(&t, 2000);
	t.node[3].down = true;
	tn_run(&t, 40000);
	tn_free(&t);
	int n = 0;
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 8; j++)
			n += saved[i][j];
	printf("%d seeds written to %s\n", n, dir);
	return n > 0 ? 0 : 1;
}
