/* wl_seccomp.c - a process under argv[2] seccomp filters of its own (allow-all): omx refuses
 * to checkpoint it (its filters would be lost) and leaves it running. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "wl.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 1;
	for (int i = 0; i < atoi(argv[2]); i++)
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			return 1;
	wl_ready(argc, argv);
	for (;;)
		pause();
}
