"""Sub-commands of the gridctl CLI: each module has add_arguments(parser) and run(args)."""
