/* bootstrap.h - `engram snapshot bootstrap FILE`: snapshots built from a file of personas. */
#ifndef ENGRAM_CLI_BOOTSTRAP_H
#define ENGRAM_CLI_BOOTSTRAP_H

/* `engram snapshot bootstrap FILE`; argv[1] is "snapshot", argv[2] "bootstrap". FILE is a
 * JSON array of personas ({name, version?, metadata?, episodes: [...]}, at most 16 MiB); each
 * one whose (name, version) has no snapshot yet is ingested into a scratch subject, compiled
 * and snapshotted, and the scratch subject is deleted. Prints one line per persona. Returns
 * the exit code: 0 done, 1 a persona or the file failed (message on stderr), 2 usage. */
int cmd_snapshot_bootstrap(int argc, char **argv);

#endif
