/* photoseek: semantic search over your photos. Dispatches to one file per command. */
#include "cli.h"

#include <string.h>

static const char *usage =
    "usage: photoseek <command> [options]\n"
    "\n"
    "Commands:\n"
    "  index      index the photos under folders into the library\n"
    "  search     find photos by a description (any language), with date, camera, folder and type filters\n"
    "  similar    find photos that look like an image file\n"
    "  duplicates groups of copies, edits and bursts of one photo, with the one to keep\n"
    "  people     the people in the photos (faces grouped at indexing): list, name, merge, split\n"
    "  status     what the library holds; --errors lists the files that could not be indexed\n"
    "  migrate    copy a library into PostgreSQL + pgvector or Pinecone (then use --store URL)\n"
    "  serve      a local search page and JSON API\n"
    "  import     bring in a Google Photos library (takeout archives, or picked with google-photos)\n"
    "  embed      print embeddings of images, texts, pixel tensors or token ids (JSON lines)\n"
    "  tokenize   print the token ids of texts (JSON lines)\n"
    "  faces      print the faces of images: boxes, landmarks, descriptors (JSON lines)\n"
    "  ocr        print the text read in images (JSON lines)\n"
    "  model      synth | fetch: make a synthetic model folder, download a real one (CLIP, mclip, faces, places)\n"
    "  places     lookup | find: the place of a GPS position, the places a name may mean (checks)\n"
    "  version    print the version\n"
    "\n"
    "Run 'photoseek <command> --help' for a command's options.\n"
    "Exit codes: 0 success, 1 some inputs failed (or no result), 2 bad usage, 3 fatal error (a model or the\n"
    "library cannot be loaded, a model mismatch), 130 interrupted (Ctrl-C; what was committed is kept).\n";

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("photoseek %s (kernels: %s)\n", PSK_VERSION, psk_kernel_level());
        return EXIT_OK;
    }
    if (strcmp(cmd, "index") == 0) return cmd_index(argc - 1, argv + 1);
    if (strcmp(cmd, "search") == 0) return cmd_search(argc - 1, argv + 1);
    if (strcmp(cmd, "similar") == 0) return cmd_similar(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0) return cmd_status(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0) return cmd_migrate(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0) return cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "embed") == 0) return cmd_embed(argc - 1, argv + 1);
    if (strcmp(cmd, "tokenize") == 0) return cmd_tokenize(argc - 1, argv + 1);
    if (strcmp(cmd, "ocr") == 0) return cmd_ocr(argc - 1, argv + 1);
    if (strcmp(cmd, "model") == 0) return cmd_model(argc - 1, argv + 1);
    if (strcmp(cmd, "faces") == 0) return cmd_faces(argc - 1, argv + 1);
    if (strcmp(cmd, "duplicates") == 0) return cmd_duplicates(argc - 1, argv + 1);
    if (strcmp(cmd, "places") == 0) return cmd_places(argc - 1, argv + 1);
    if (strcmp(cmd, "people") == 0) return cmd_people(argc - 1, argv + 1);
    cli_error("unknown command '%s' (see 'photoseek --help')", cmd);
    return EXIT_USAGE;
}
