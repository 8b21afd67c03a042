/* The command-line program: one file per command, all on the public API (include/photoseek.h). */
#ifndef PSK_CLI_H
#define PSK_CLI_H

#include "photoseek.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes: 0 success, 1 some inputs failed (the rest were processed), 2 bad usage, 3 a fatal error (a model or
 * the library cannot be loaded, a model mismatch), 130 interrupted. */
enum { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_FATAL = 3, EXIT_INTERRUPTED = 130 };

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
int cmd_faces(int argc, char **argv);
/* photoseek model fetch faces [--dir DIR] [--from FILE.tgz] (faces_cmd.c); argv[0] is "faces". */
int cmd_fetch_faces(int argc, char **argv);
int cmd_duplicates(int argc, char **argv);
int cmd_ocr(int argc, char **argv);
int cmd_places(int argc, char **argv);
int cmd_people(int argc, char **argv);
int cmd_places_fetch(int argc, char **argv); /* model fetch places */
/* The places data: $PHOTOSEEK_PLACES, else the models folder's places/. */
void cli_places_dir(char *buf, size_t cap);
/* Opens the places data for index and search; when it is missing or broken, says once on stderr that places are
 * left out (and why) and returns NULL. */
psk_places *cli_places_open(const char *why);

/* Prints "photoseek: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says in one line that an option's value is bad and what it takes: "photoseek: index: --jobs takes a number
 * from 1 to 256 (see 'photoseek index --help')". Returns EXIT_USAGE. */
int cli_bad_value(const char *cmd, const char *option, const char *takes);
/* Reads a whole decimal number from lo to hi (no trailing characters); false for NULL or anything else. */
bool cli_int(const char *v, long lo, long hi, int *out);
/* In a command's option loop: remembers the option whose value is bad and what it takes, and jumps to the
 * command's usage label, which then prints that one line (cli_bad_value) instead of the whole usage. The command
 * declares `const char *bad_opt = NULL, *bad_takes = NULL;`. */
#define CLI_BAD(opt, takes)                                                                                            \
    do {                                                                                                               \
        bad_opt = (opt);                                                                                               \
        bad_takes = (takes);                                                                                           \
        goto usage;                                                                                                    \
    } while (0)
/* In an option loop: a filter option (--year, --month, --day, --from, --to, --type, --camera, --folder, also as
 * --name=value) at argv[*i] sets f (advancing *i past its value). Returns 0 when argv[*i] is none, 1 when it was
 * taken, EXIT_USAGE after printing why its value is bad. */
int cli_filter_opt(const char *cmd, int argc, char **argv, int *i, psk_filter *f);
/* Writes s as a JSON string literal to f. */
void cli_json_string(FILE *f, const char *s);
/* Default model folders: $PHOTOSEEK_MODELS or $XDG_DATA_HOME/photoseek/models or ~/.local/share/photoseek/models. */
void cli_models_dir(char *buf, size_t cap);
/* Fills in the default library file and image model folder where the user gave none (the buffers hold them). */
void cli_default_paths(const char **db, char *db_buf, size_t db_cap, const char **image_model, char *model_buf,
                       size_t model_cap);

/* A library keeps the one image model it was indexed with (library_model.c). For a command that adds photos
 * (cmd names it in messages): without --image-model (given false) *image_model becomes the library's recorded
 * model folder (in buf); another model, or another --precision when *precision_set, is refused (EXIT_USAGE), since
 * its vectors could not be compared with the library's; a recorded or given folder that is not there is
 * EXIT_FATAL, said on stderr. On EXIT_OK for a library with vectors, *fp32 and *precision_set say its precision. */
int cli_library_model(const char *cmd, psk_library *lib, const char *db, bool given, const char **image_model,
                      char *buf, size_t cap, bool *precision_set, bool *fp32);
/* A library file that does not exist yet and no image model folder: says so (before the file would be made, so
 * that nothing is left that later commands would take for an empty library) and returns true. */
bool cli_new_library_without_model(const char *cmd, const char *db, const char *image_model);

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. A missing value is a usage error. */
/* Ctrl-C (and SIGTERM when asked) sets the returned flag, which long work polls to stop after what is in flight;
 * a second one exits at once with 130 (committed work is safe). */
volatile int *cli_catch_interrupts(bool sigterm_too);
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
