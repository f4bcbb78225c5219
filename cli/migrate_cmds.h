/* migrate_cmds.h - the single-node migration subcommands of `omx` (cli/checkpoint.c,
 * cli/restore.c, cli/cantmove.c). Same contract as subcommands.h: argv[0] is the subcommand
 * name, the return value is the exit code (omx restore: the restored process's). */
#pragma once

int checkpoint_main(int argc, char **argv);
int restore_main(int argc, char **argv);
int cantmove_main(int argc, char **argv);
