/* snapshot.h - the `engram snapshot …` and `engram cleanup` commands: subject snapshots and
 * the cleanup of stale subjects straight on the database (spec/backup-snapshots.md §5.3,
 * §7), with the same service code and the same JSON as the admin endpoints. Not gated by
 * STATEWAVE_ENABLE_SNAPSHOTS. */
#ifndef ENGRAM_CLI_SNAPSHOT_H
#define ENGRAM_CLI_SNAPSHOT_H

extern const char cmd_snapshot_usage[];
extern const char cmd_cleanup_usage[];

/* `engram snapshot create|list|restore|bootstrap …`; argv[1] is "snapshot". Handles --help
 * itself. Returns the exit code: 0 done, 1 failed (message on stderr), 2 usage. */
int cmd_snapshot(int argc, char **argv);
/* `engram cleanup [--prefix P] [--max-age-hours H] [--tenant T] [--dry-run]`; argv[1] is
 * "cleanup". Prints the result JSON. Exit codes as cmd_snapshot. */
int cmd_cleanup(int argc, char **argv);

#endif
