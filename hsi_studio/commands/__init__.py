"""``hsi-studio`` subcommands. Each module exposes ``register(subparsers)``; handlers return exit codes and
raise :class:`hsi_studio.core.errors.InputError` for bad input. Keep module-level imports light."""
