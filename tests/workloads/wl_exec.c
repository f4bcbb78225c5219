/* wl_exec.c - runs a command with every descriptor above stderr closed, so that programs
 * started by the test drivers carry only what they open themselves (a harness's stray pipes
 * would otherwise make them unmovable). Usage: wl_exec CMD [ARGS...] */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wl_exec CMD [ARGS...]\n");
		return 2;
	}
	if (syscall(SYS_close_range, 3, ~0u, 0) < 0) {
		perror("close_range");
		return 127;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
