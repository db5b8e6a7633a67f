"""Fault injection: what a simulated device does wrong, set from config or at run time."""

from __future__ import annotations

from dataclasses import dataclass, fields

from adapters.errors import DataError

EXCEPTION_CODES = {1, 2, 3, 4, 5, 6, 10, 11}


@dataclass
class Faults:
    """Active faults of one device; the default is a healthy device."""

    offline: bool = False  # no answer at all (the client times out)
    delay_s: float = 0.0  # every answer comes this late
    exception_code: int | None = None  # every request is answered with this Modbus exception
    stuck: bool = False  # telemetry registers frozen at the values last served (physics go on)
    sf_offset: int = 0  # scale factors are served this many decades off
    alarm: bool = False  # a latched alarm trips a battery or PV inverter until reset (802 AlmRst)

    def update(self, **changes: object) -> None:
        """Set faults by name; unknown names or bad values raise DataError naming them."""
        updated = Faults.from_dict({**self.__dict__, **changes}, "faults")
        self.__dict__.update(updated.__dict__)

    @classmethod
    def from_dict(cls, values: dict, where: str = "faults") -> Faults:
        """Faults from plain data (a config table); every problem is named in a DataError."""
        known = {f.name for f in fields(cls)}
        problems = [f"{where}.{k}: unknown fault; use one of {sorted(known)}" for k in values if k not in known]
        faults = cls(**{k: v for k, v in values.items() if k in known})
        problems += [f"{where}.{k}: {getattr(faults, k)!r} is not true or false"
                     for k in ("offline", "stuck", "alarm") if not isinstance(getattr(faults, k), bool)]
        if not isinstance(faults.delay_s, int | float) or faults.delay_s < 0:
            problems.append(f"{where}.delay_s: {faults.delay_s!r} is not a delay; use seconds >= 0")
        if faults.exception_code is not None and faults.exception_code not in EXCEPTION_CODES:
            problems.append(f"{where}.exception_code: {faults.exception_code!r} is not a Modbus exception "
                            f"code; use one of {sorted(EXCEPTION_CODES)}")
        if not isinstance(faults.sf_offset, int) or abs(faults.sf_offset) > 5:
            problems.append(f"{where}.sf_offset: {faults.sf_offset!r}; use an integer from -5 to 5")
        if problems:
            raise DataError(problems)
        return faults
