"""What the admin chooses for a support package: collectors, journal window, obfuscation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from diagnostics.collect import collectors as catalogue
from diagnostics.collect.collectors import Collector

MAX_SINCE_HOURS = 24 * 366


@dataclass(frozen=True)
class PackageOptions:
    """What the admin chose. ``collectors=None`` means :data:`DEFAULT`, in catalogue order.

    ``since_hours`` is the journal window; ``lift_caps`` removes the per-item size caps (for
    support engineers who need whole logs, and for the benchmark). Invalid values raise
    ``ValueError`` naming the field.
    """

    collectors: Sequence[str] | None = None
    since_hours: float = 24
    obfuscate: bool = False
    lift_caps: bool = False

    def __post_init__(self) -> None:
        if self.collectors is not None:
            unknown = [c for c in self.collectors if c not in catalogue.COLLECTOR_IDS]
            if unknown:
                raise ValueError(f"collectors: unknown collector {unknown[0]!r} (known: "
                                 f"{', '.join(catalogue.COLLECTOR_IDS)})")
            if not self.collectors:
                raise ValueError("collectors: choose at least one collector")
        if isinstance(self.since_hours, bool) or not isinstance(self.since_hours, int | float) \
                or not 0 < self.since_hours <= MAX_SINCE_HOURS:
            raise ValueError(f"since_hours: must be a number of hours above 0 and at most "
                             f"{MAX_SINCE_HOURS}")

    @property
    def chosen(self) -> list[Collector]:
        """The collectors to run, in catalogue order."""
        wanted = catalogue.DEFAULT if self.collectors is None else set(self.collectors)
        return [c for c in catalogue.COLLECTORS if c.id in wanted]

    def as_dict(self) -> dict:
        """The options as the manifest records them, with the collectors actually run."""
        return {**asdict(self), "collectors": [c.id for c in self.chosen]}
