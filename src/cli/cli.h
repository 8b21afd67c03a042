/* The command-line program: one file per command, all on the public API (include/photoseek.h). */
#ifndef PSK_CLI_H
#define PSK_CLI_H

#include "photoseek.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes: 0 success, 1 some inputs failed (the rest were processed), 2 bad usage, 3 a fatal error. */
enum { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_FATAL = 3 };

int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

/* Prints "photoseek: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes s as a JSON string literal to f. */
void cli_json_string(FILE *f, const char *s);
/* Default model folders: $PHOTOSEEK_MODELS or $XDG_DATA_HOME/photoseek/models or ~/.local/share/photoseek/models. */
void cli_models_dir(char *buf, size_t cap);
/* Fills in the default library file and image model folder where the user gave none (the buffers hold them). */
void cli_default_paths(const char **db, char *db_buf, size_t db_cap, const char **image_model, char *model_buf,
                       size_t model_cap);

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. A missing value is a usage error. */
/* Ctrl-C (and SIGTERM when asked) sets the returned flag, which long work polls to stop after what is in flight;
 * a second one exits at once with 130 (committed work is safe). */
volatile int *cli_catch_interrupts(bool sigterm_too);
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
