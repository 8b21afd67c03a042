/* photoseek model synth|fetch */
#include "cli.h"

#include <string.h>

int cmd_model(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("model: not built yet");
    return EXIT_USAGE;
}
