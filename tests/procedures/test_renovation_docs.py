"""R-2, R-3's conditional documents as pure decisions: an agent's power of attorney and
commercial or key premises' design qualification join an application's list only when it
needs them; the list decides "complete"; button data's old indices stay the same."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from procedures.deadlines import load_estate
from procedures.decisions import Department, Resident, Text
from procedures.renovation import (
    ALL_DOCS,
    CONDITIONAL,
    REQUIRED,
    Doc,
    DocState,
    Document,
    Form,
    Move,
    Refusal,
    Renovation,
    Status,
    checked,
    conditional_toggled,
    design_required,
    doc_at,
    doc_index,
    file_added,
    is_complete,
    missing,
    progress,
    required_of,
    submitted,
)

RULES = load_estate("")
NOW = datetime(2026, 11, 27, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
FORM = Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000",
            ("walls",))  # fmt: skip


def docs(state: DocState, **extra: DocState) -> dict[Doc, Document]:
    """The eight every application needs in ``state``, plus the conditional ones named."""
    found = {d: Document(d, state, 1 if state != DocState.MISSING else 0) for d in REQUIRED}
    for name, st in extra.items():
        found[Doc(name)] = Document(Doc(name), st, 0 if st == DocState.MISSING else 1)
    return found


def ren(status: Status, documents: dict[Doc, Document]) -> Renovation:
    return Renovation(7, "ZX-20261127-0001", 1, 3, "1栋 101", 42, status, FORM, documents)


def test_r3_old_button_indices_are_unchanged_and_the_eight_stay_required() -> None:
    """Buttons already sent carry an index into the eight: they still name the same
    documents; the conditional two come after them."""
    assert [d.value for d in REQUIRED] == [
        "plan", "ceiling", "pipes_power", "low_voltage", "sections", "head_id", "licence",
        "qualification",
    ]  # fmt: skip
    assert ALL_DOCS[:8] == REQUIRED
    assert all(doc_index(d) == i for i, d in enumerate(REQUIRED))
    assert ALL_DOCS[8:] == CONDITIONAL == (Doc.POWER_OF_ATTORNEY, Doc.DESIGN_QUALIFICATION)
    assert doc_at(8) == Doc.POWER_OF_ATTORNEY and doc_at(9) == Doc.DESIGN_QUALIFICATION
    assert doc_at(10) is None and doc_at(-1) is None and doc_at(None) is None
    assert required_of(docs(DocState.VALID)) == REQUIRED  # no extras: the eight


def test_r2_an_application_with_the_power_of_attorney_is_not_complete_until_it_is_valid() -> None:
    """R-2: an agent's power of attorney joins the list: the other eight valid is not
    enough; sent and unchecked is not enough; checked valid, it is complete."""
    base = docs(DocState.VALID)
    assert is_complete(base) and progress(base) == (8, 8)
    with_poa = docs(DocState.VALID, power_of_attorney=DocState.MISSING)
    assert required_of(with_poa) == (*REQUIRED, Doc.POWER_OF_ATTORNEY)
    assert not is_complete(with_poa)
    assert missing(with_poa) == [Doc.POWER_OF_ATTORNEY]
    assert progress(with_poa) == (8, 9)
    pending = docs(DocState.VALID, power_of_attorney=DocState.PENDING)
    assert not is_complete(pending) and missing(pending) == []
    assert is_complete(docs(DocState.VALID, power_of_attorney=DocState.VALID))
    both = docs(DocState.VALID, power_of_attorney=DocState.VALID,
                design_qualification=DocState.INVALID)  # fmt: skip
    assert not is_complete(both) and progress(both) == (9, 10)


def test_r2_the_last_valid_check_of_the_power_of_attorney_completes_the_application() -> None:
    """R-2, R-3 → R-4: the eight valid, the power of attorney pending: its valid check
    completes the application (R-4's clock starts)."""
    app = ren(Status.SUBMITTED, docs(DocState.VALID, power_of_attorney=DocState.PENDING))
    decision = checked(app, Doc.POWER_OF_ATTORNEY, True, None, RULES, NOW)
    assert decision.move == Move.COMPLETE and decision.start
    without = ren(Status.SUBMITTED, docs(DocState.VALID, power_of_attorney=DocState.PENDING))
    bad = checked(without, Doc.POWER_OF_ATTORNEY, False, "expired", RULES, NOW)
    assert bad.move is None
    [owner] = bad.tell
    assert owner.buttons == "ren_fix" and owner.button_arg == 8  # its index in ALL_DOCS


def test_r2_r3_the_owner_adds_a_conditional_document_and_takes_it_off_while_unsent() -> None:
    """R-2, R-3: in the draft, a tap adds the document (a draft with it cannot be
    submitted without its file); a second tap takes it off while nothing was sent; once a
    file came, it stays; only the owner, only in the draft, only the two conditional."""
    draft = ren(Status.DRAFT, docs(DocState.PENDING))
    added = conditional_toggled(draft, Doc.POWER_OF_ATTORNEY, by_owner=True)
    assert added.needs == {Doc.POWER_OF_ATTORNEY: True}
    assert added.event == "renovation.document_needed" and added.move is None
    with_poa = ren(Status.DRAFT, docs(DocState.PENDING, power_of_attorney=DocState.MISSING))
    with pytest.raises(Refusal, match="documents_missing"):
        submitted(with_poa)
    removed = conditional_toggled(with_poa, Doc.POWER_OF_ATTORNEY, by_owner=True)
    assert removed.needs == {Doc.POWER_OF_ATTORNEY: False}
    sent = ren(Status.DRAFT, docs(DocState.PENDING, power_of_attorney=DocState.PENDING))
    with pytest.raises(Refusal, match="doc_sent_already"):
        conditional_toggled(sent, Doc.POWER_OF_ATTORNEY, by_owner=True)
    assert submitted(sent).move == Move.SUBMIT
    with pytest.raises(Refusal, match="not_owner"):
        conditional_toggled(draft, Doc.DESIGN_QUALIFICATION, by_owner=False)
    with pytest.raises(Refusal, match="doc_not_needed"):
        conditional_toggled(draft, Doc.PLAN, by_owner=True)
    with pytest.raises(Refusal, match="not_editable"):
        conditional_toggled(
            ren(Status.SUBMITTED, docs(DocState.PENDING)), Doc.DESIGN_QUALIFICATION, True
        )
    with pytest.raises(Refusal, match="doc_not_needed"):  # a file for a document not listed
        file_added(draft, Doc.DESIGN_QUALIFICATION, by_owner=True)


def test_r3_customer_service_requires_the_design_qualification_and_the_owner_is_told() -> None:
    """R-3: commercial or key premises: customer service adds the design qualification to
    a submitted application; the owner is told with the upload button; its first file
    tells customer service; it is not complete until that document is valid."""
    app = ren(Status.SUBMITTED, docs(DocState.VALID))
    decision = design_required(app)
    assert decision.needs == {Doc.DESIGN_QUALIFICATION: True}
    assert decision.expect_status == Status.SUBMITTED
    [owner] = decision.tell
    assert isinstance(owner.to, Resident) and owner.key == "renovation.doc_needed_owner"
    assert owner.buttons == "ren_fix" and owner.button_arg == doc_index(Doc.DESIGN_QUALIFICATION)
    assert owner.params["doc"] == Text("renovation.doc.design_qualification")
    needed = ren(Status.SUBMITTED, docs(DocState.VALID, design_qualification=DocState.MISSING))
    with pytest.raises(Refusal, match="doc_needed_already"):
        design_required(needed)
    with pytest.raises(Refusal, match="not_checkable"):
        design_required(ren(Status.DRAFT, docs(DocState.PENDING)))
    assert not is_complete(needed.documents)
    sent = file_added(needed, Doc.DESIGN_QUALIFICATION, by_owner=True)
    assert sent.documents == {Doc.DESIGN_QUALIFICATION: (DocState.PENDING, None)}
    [staff] = sent.tell
    assert staff.to == Department("customer_service") and staff.buttons == "ren_review"
    assert staff.key == "renovation.doc_added_staff"
