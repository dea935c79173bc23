"""Error types the CLI turns into one clear line and an exit code (never a traceback)."""

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1  # verification mismatch, reject threshold exceeded, unbalanced reconciliation
EXIT_USAGE = 2  # usage, configuration, connection or source-schema error


class MigrationError(Exception):
    """An expected failure with a message meant for the operator."""

    exit_code = EXIT_USAGE


class ConfigError(MigrationError):
    """Missing or contradictory configuration."""


class SourceError(MigrationError):
    """The v1 source cannot be reached or does not match the reference schema."""


class VerificationFailed(MigrationError):
    """The result does not match what was exported, or a threshold was exceeded."""

    exit_code = EXIT_VERIFY_FAILED
