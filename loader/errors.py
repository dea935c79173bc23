"""Error types the CLI turns into one clear line and an exit code (never a traceback)."""

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1  # verification mismatch, reject threshold exceeded, unbalanced reconciliation
EXIT_USAGE = 2  # usage, configuration, connection or source-schema error


class MigrationError(Exception):
    """An expected failure with a message meant for the operator.

    `advice` (set by whoever knows what the operator should do next, e.g. `run`) is printed after
    the message on the same line.
    """

    exit_code = EXIT_USAGE
    advice: str | None = None

    def operator_message(self) -> str:
        """The message, then the advice when there is one."""
        message = str(self)
        return f"{message.rstrip('.')}. {self.advice}" if self.advice else message


class ConfigError(MigrationError):
    """Missing or contradictory configuration."""


class SourceError(MigrationError):
    """The v1 source cannot be reached or does not match the reference schema."""


class VerificationFailed(MigrationError):
    """The result does not match what was exported, or a threshold was exceeded."""

    exit_code = EXIT_VERIFY_FAILED


class RejectLimitExceeded(VerificationFailed):
    """`--max-rejects` tripped: more rejected rows than the run allows (nothing written yet)."""

    def __init__(self, message: str, rejected: int):
        super().__init__(message)
        self.rejected = rejected
