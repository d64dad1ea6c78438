"""Renovation (P2): the authorities' filings (R-6) as code. Pure: no database, no Telegram,
no clock.

The application's scope ticks for fire protection, structural change and gas change
(:data:`procedures.renovation.FILING_SCOPES`) each need a filing with the authorities. When
the owner submits the application, they get each filing's guide: the steps, the forms and
documents, and the office's name, phone and address (the estate's settings,
``RenovationSettings.<filing>_office``; without them the guide says to ask customer
service). The owner attaches the authority's receipt (a photo, kept as evidence) per
filing; until then the filing is *open*: it shows on the renovation's card, the works permit
and the patrol card. Whether the heads' approval waits for every receipt is the estate's
``approval_waits_for_filings`` (default: it does not; :func:`procedures.renovation.signed`).
"""

from __future__ import annotations

from procedures.decisions import Department, Style, Tell, Text
from procedures.renovation import (
    CUSTOMER_SERVICE,
    FILING_SCOPES,
    Refusal,
    Renovation,
    RenovationDecision,
    is_open,
)

#: The filings in the order guides and cards show them.
FILINGS: tuple[str, ...] = tuple(f for f in ("fire", "structural", "gas") if f in FILING_SCOPES)


def receipt_added(ren: Renovation, filing: str, by_owner: bool, photo: str) -> RenovationDecision:
    """R-6: the owner attaches the authority's receipt for one of the application's
    filings (the photo's SHA-256 in the audit event); customer service is told. Refused
    for anyone but the owner (or the delegated contractor's head), a filing the form does
    not need, or a renovation that has ended."""
    if not by_owner:
        raise Refusal("not_owner")
    if filing not in ren.form.filings:
        raise Refusal("filing_not_needed")
    if not is_open(ren.status):
        raise Refusal("not_editable")
    return RenovationDecision(
        event="renovation.filing_receipt",
        data={"filing": filing, "photo": photo},
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_filing.receipt_staff",
                {"filing": Text(f"renovation.scope.{filing}")},
                style=Style.WITH_CARD,
            )
        ],
    )
