"""What one estate sets about renovations (R-9, R-10): the working and moving hours
shown to the owner and checked at the gate, and the published fee scale the cashier
charges. Defaults here; an estate overrides them in the estates TOML::

    [estates."阳光花园".renovation]
    work_hours = ["08:00-12:00", "14:00-18:00"]
    moving_hours = ["08:00-20:00"]
    deposit = "3000"                 # yuan, as written on the published scale
    management_fee_per_m2 = "5"      # or management_fee_fixed = "500" (then no area needed)
    debris_removal = "300"
    pass_fee = "10"                  # per worker pass
    service_phone = "021-5555 0000"  # printed on the works permit (R-11)
    id_retention_days = 30           # workers' IDs deleted this long after the refund
    approval_waits_for_filings = false  # R-6: the heads approve before the receipts (default)

    [estates."阳光花园".renovation.fire_office]   # R-6's guides; also structural_office, gas_office
    name = "区消防救援支队"
    phone = "021-5555 0119"
    address = "…路 1 号"

Money is configured in yuan (a whole number or two decimals) and kept in integer fen.
Pure: no database, no clock.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Hours as people write them: ``08:00-12:00``.
Window = tuple[time, time]


def parse_window(text: str) -> Window:
    """``"08:00-12:00"`` → (08:00, 12:00); ValueError when it is not a forward window."""
    try:
        start, end = (time.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError:
        raise ValueError(f"hours {text!r}: write them as 08:00-12:00") from None
    if end <= start:
        raise ValueError(f"hours {text!r}: the end must come after the start")
    return start, end


def fen(value: object) -> int:
    """A yuan amount (``2000``, ``"2000"``, ``"12.50"``) in integer fen; ValueError when it
    is negative or has more than two decimals."""
    if isinstance(value, bool):
        raise ValueError('a yuan amount, e.g. 2000 or "12.50"')
    try:
        amount = Decimal(str(value).strip()) * 100
    except InvalidOperation:
        raise ValueError(f'{value!r} is not a yuan amount, e.g. 2000 or "12.50"') from None
    if amount < 0 or amount != amount.to_integral_value():
        raise ValueError(f"{value!r}: a yuan amount of at most two decimals, not negative")
    return int(amount)


def yuan(amount_fen: int) -> str:
    """Fen as yuan for people: ``¥2,000.00``."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(amount_fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


class FilingOffice(BaseModel):
    """R-6: where owners file a change with the authorities (fire protection, structure,
    gas): the office's name, phone and address as the estate writes them (empty: the guide
    says to ask customer service)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    phone: str = ""
    address: str = ""


class RenovationSettings(BaseModel):
    """An estate's renovation settings; every default marked (default) in the manual's
    sense: the seed names the items (装修押金、管理服务费、清运费、出入证) but not amounts.

    * ``work_hours``: when works (and workers at the gate) are allowed, local time; the
      midday break keeps the neighbours' rest (default 08:00–12:00, 14:00–18:00).
    * ``moving_hours``: when materials and debris may be carried through (default
      08:00–20:00).
    * fees in fen: ``deposit`` (default ¥2,000), the management fee per m² of the unit's
      area (default ¥5) or, when ``management_fee_fixed`` is set, that fixed amount;
      ``debris_removal`` (default ¥300); ``pass_fee`` per worker pass (default ¥10).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    work_hours: tuple[Window, ...] = ((time(8), time(12)), (time(14), time(18)))
    moving_hours: tuple[Window, ...] = ((time(8), time(20)),)
    deposit: int = 200_000
    management_fee_per_m2: int = 500
    management_fee_fixed: int | None = None
    debris_removal: int = 30_000
    pass_fee: int = 1_000
    #: R-11: the company's service phone printed on the works permit for emergencies
    #: (empty: the permit says to call the customer service centre).
    service_phone: str = ""
    #: Issue 11, item 7: the days the workers' ID numbers and photos are kept after the
    #: deposit is refunded; then they are deleted (default 30).
    id_retention_days: int = Field(default=30, ge=0, le=3650)
    #: R-6: the authorities' offices for the filings of fire protection, structural and gas
    #: changes (the guides the owner gets), and whether the heads' approval waits for the
    #: authority's receipt of each (default: it does not; the renovation records the filing).
    fire_office: FilingOffice = FilingOffice()
    structural_office: FilingOffice = FilingOffice()
    gas_office: FilingOffice = FilingOffice()
    approval_waits_for_filings: bool = False

    @field_validator("work_hours", "moving_hours", mode="before")
    @classmethod
    def _windows(cls, value: object) -> object:
        """Accept ``["08:00-12:00", …]`` as written in the TOML; at least one window."""
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            if not value:
                raise ValueError('give at least one window, e.g. ["08:00-18:00"]')
            return tuple(parse_window(v) for v in value)
        return value

    @field_validator(
        "deposit",
        "management_fee_per_m2",
        "management_fee_fixed",
        "debris_removal",
        "pass_fee",
        mode="before",
    )
    @classmethod
    def _money(cls, value: object) -> object:
        """A yuan string (``"12.50"``) → fen; an int is fen already (code constructs the
        model in fen; the TOML's numbers are yuan and go through :meth:`from_config`)."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        return fen(value)

    @classmethod
    def from_config(cls, table: dict[str, object]) -> RenovationSettings:
        """The TOML table: its money in yuan (numbers included) → fen."""
        money = {"deposit", "management_fee_per_m2", "management_fee_fixed", "debris_removal",
                 "pass_fee"}  # fmt: skip
        return cls.model_validate(
            {k: fen(v) if k in money and v is not None else v for k, v in table.items()}
        )

    def office(self, filing: str) -> FilingOffice:
        """R-6: the office of a filing (``fire``, ``structural``, ``gas``)."""
        found = getattr(self, f"{filing}_office", None)
        return found if isinstance(found, FilingOffice) else FilingOffice()

    def in_hours(self, moment: time, *, moving: bool = False) -> bool:
        """Whether a local time is inside the works (or moving) hours."""
        windows = self.moving_hours if moving else self.work_hours
        return any(start <= moment < end for start, end in windows)


def hours_text(windows: tuple[Window, ...], separator: str = ", ") -> str:
    """Windows as shown: ``08:00–12:00, 14:00–18:00``."""
    return separator.join(f"{s:%H:%M}–{e:%H:%M}" for s, e in windows)
