/* backup_cmd.h - the `engram export` and `engram import` commands: subject export documents
 * written to and read from files with the same code as GET /admin/export and POST
 * /admin/import (service/backup.h), straight on the database, without a server. */
#ifndef ENGRAM_CLI_BACKUP_CMD_H
#define ENGRAM_CLI_BACKUP_CMD_H

extern const char cmd_export_usage[];
extern const char cmd_import_usage[];

/* `engram export SUBJECT [--tenant T] [-o FILE]`; argv[1] is "export". Returns the exit
 * code: 0 done, 1 failed (message on stderr), 2 usage. */
int cmd_export(int argc, char **argv);
/* `engram import FILE [--target-subject S] [--target-tenant T] [--new-ids]`; argv[1] is
 * "import". Prints the result JSON on stdout. Exit codes as cmd_export. */
int cmd_import(int argc, char **argv);

#endif
