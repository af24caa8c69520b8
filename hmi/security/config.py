"""The `[security]` table of a project file: password policy, lockout, idle lock, signatures.

Only this one field is added to `ProjectModel` (`security`); tag-level keys (`write_role`,
`signature`) live on the tag. Defaults follow the issue: 12-character minimum, no composition
rules (NIST SP 800-63B), 5 failures in 15 minutes lock for 15 minutes, doubling on repeat.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SignatureRule = bool | Literal["double"]
# actions a command signs when `[security.signatures]` lists them (hmi.commands, the CLI)
SIGNABLE_ACTIONS = ("write", "ack", "shelve", "unshelve", "reset", "comment", "oos",
                    "in_service", "context", "users")
# roles without a command yet: a signature asked for them would be accepted and never asked
# for, so the loader refuses them rather than let a project promise what the station won't do
NO_COMMAND_YET = ("project", "alarm_settings")


class SecuritySettings(BaseModel):
    """`[security]`. Times in minutes as written in the file."""

    model_config = ConfigDict(extra="forbid")

    min_password_length: int = Field(12, ge=8, le=128)
    lockout_attempts: int = Field(5, ge=1, le=100)  # failures within lockout_window_min ...
    lockout_window_min: float = Field(15.0, gt=0)
    lockout_min: float = Field(15.0, gt=0)  # ... lock the name this long, doubling on repeat
    lockout_max_min: float = Field(24 * 60.0, gt=0)  # the doubling stops here
    idle_lock_min: float = Field(10.0, ge=0)  # 0: no idle lock
    # Argon2id cost (OWASP 2023 minimum m=19 MiB, t=2, p=1); raising it rehashes on next login
    argon2_memory_kib: int = Field(19456, ge=19456, le=4 * 1024 * 1024)
    argon2_time_cost: int = Field(2, ge=2, le=20)
    argon2_parallelism: int = Field(1, ge=1, le=16)
    # the CLI may act for `--user NAME` without a password when run by the OS account that owns
    # the data directory (that account can change every file there anyway); false: always ask
    cli_trust_os_account: bool = True
    # actions that need an electronic signature: { oos = "double", shelve = true }
    signatures: dict[str, SignatureRule] = Field(default_factory=dict)

    @field_validator("signatures")
    @classmethod
    def _known_actions(cls, value: dict[str, SignatureRule]) -> dict[str, SignatureRule]:
        waiting = sorted(a for a in value if a in NO_COMMAND_YET)
        if waiting:
            raise ValueError(f"{', '.join(waiting)}: no command uses it yet, so a signature "
                             f"cannot be asked for it (remove it; signable actions: "
                             f"{', '.join(SIGNABLE_ACTIONS)})")
        unknown = sorted(set(value) - set(SIGNABLE_ACTIONS))
        if unknown:
            raise ValueError(f"unknown action(s) {', '.join(unknown)} "
                             f"(actions: {', '.join(SIGNABLE_ACTIONS)})")
        return value

    @model_validator(mode="after")
    def _lockout_bounds(self) -> SecuritySettings:
        if self.lockout_max_min < self.lockout_min:
            raise ValueError(f"lockout_max_min ({self.lockout_max_min}) is below lockout_min "
                             f"({self.lockout_min})")
        return self
