"""What staff and residents see of a case: its card, its keyboards, its clocks and timeline.

A card is a function of the record and a locale; a keyboard also of the moment (a button
only while the step is possible). Button data follow ``"<procedure>:<action>:<id>[:<value>]"``:
``rq`` for a request's (and any case's) first-responder and department steps, ``cp`` for a
complaint's, ``cb`` for the callback's. Buttons already sitting in chats under the earlier
prefixes (``cs``, ``dp``, ``cx``, ``op``) are read by :func:`modern_data`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import has, t, t_raw
from handlers import limits
from handlers.common import button, keyboard
from procedures.callbacks import satisfied
from procedures.cases import (
    CATEGORIES,
    INVALID_REASONS,
    OPEN_STATUSES,
    Case,
    Kind,
    Severity,
    Status,
)
from procedures.complaints import ORDER as SEVERITY_ORDER
from procedures.complaints import opinion_version
from procedures.deadlines import EstateRules
from procedures.phone import mask_phone
from procedures.rule_ids import RuleId
from storage.audit import ERASED
from storage.deadlines import Deadline
from storage.identity import Person

# --- cards -------------------------------------------------------------------------------------


def card(
    locale: str,
    case: Case,
    resident: Person | None = None,
    *,
    assignee: str | None = None,
    promised: str | None = None,
    photos: int = 0,
    severity: bool = False,
) -> str:
    """The summary card of a case; for staff also the resident's name and masked phone,
    who took it, the time promised (estate time) and how many photos it has. A complaint's
    classification (C-4) is shown only when ``severity`` says so (:func:`staff_card`): it is
    the company's own assessment, never told to the complainant ("轻微" or "无效" read as
    being dismissed)."""
    lines = [
        t(locale, "case.card_title", kind=t(locale, f"kind.{case.kind}"), number=case.number),
        t(locale, "case.card_category", category=t(locale, f"category.{case.category}"))
        if case.category in CATEGORIES
        else "",
        t(locale, "case.card_status", status=t(locale, f"status.{case.status}")),
        t(locale, "case.card_unit", unit=case.unit_label) if case.unit_label else "",
        t(locale, "case.card_renovation", number=case.renovation) if case.renovation else "",
    ]
    if case.department:
        department = t(locale, f"department.{case.department}")
        lines.append(t(locale, "case.card_department", department=department))
    if assignee:
        lines.append(t(locale, "case.card_assignee", name=assignee))
    if promised:  # C-1: a complaint's is its next reply time; Q-4: a request's, its handling
        key = "case.card_next_reply" if case.kind == Kind.COMPLAINT else "case.card_promised"
        lines.append(t(locale, key, when=promised))
    if case.urgent:
        lines.append(t(locale, "case.card_urgent"))
    if severity and case.severity:
        lines.append(
            t(locale, "case.card_severity", severity=t(locale, f"severity.{case.severity}"))
        )
    if resident is not None:
        phone = mask_phone(resident.phone) if resident.phone else "—"
        lines.append(t(locale, "case.card_resident", name=resident.name, phone=phone))
    elif case.caller_name or case.caller_phone:  # V-4: recorded by staff from a call/visit
        phone = mask_phone(case.caller_phone) if case.caller_phone else "—"
        key = f"case.card_caller_{'visit' if case.channel == 'visit' else 'phone'}"
        lines.append(t(locale, key, name=case.caller_name or "—", phone=phone))
    lines.append(t(locale, "case.card_description", description=case.description))
    if photos:
        lines.append(t(locale, "case.card_photos", count=photos))
    return "\n".join(line for line in lines if line)


def staff_card(
    locale: str,
    case: Case,
    resident: Person | None = None,
    *,
    assignee: str | None = None,
    promised: str | None = None,
    photos: int = 0,
    head: str | None = None,
) -> str:
    """The card staff see: :func:`card`, the resident's rating once given (B-3,
    :func:`rating_line`), the department's head named responsible (C-11:
    warned of its clocks; any member may act) and, once written, the handling opinion,
    the customer-centre supervisor's instructions to the department (C-11)."""
    text = card(
        locale, case, resident, assignee=assignee, promised=promised, photos=photos, severity=True
    )
    rating = rating_line(locale, case)
    if rating:
        text += "\n" + rating
    if head:
        text += "\n" + t(locale, "review.card_head", name=head)
    if case.opinion:
        text += "\n" + t(locale, "review.card_opinion", opinion=case.opinion)
    if case.answer:  # C-12: what the owner was told will be done, and by when
        text += "\n" + t(locale, "complaint.card_answer", answer=case.answer)
    return text


def rating_line(locale: str, case: Case) -> str:
    """B-3, as staff read it on the case's cards: the stars the resident (or the assistant who
    phoned them) gave and whether that is satisfied, or that the resident said it was not
    solved (a callback recorded without a score); empty until a callback is recorded."""
    if case.satisfaction is not None:
        verdict = "rating.satisfied" if satisfied(case.satisfaction) else "rating.unsatisfied"
        stars = "⭐" * case.satisfaction
        return t(locale, "rating.card_line", stars=stars, verdict=t(locale, verdict))
    if case.called_back_at is not None:
        return t(locale, "rating.card_unsolved")
    return ""


def review_card(
    locale: str,
    case: Case,
    resident: Person | None = None,
    *,
    assignee: str | None = None,
    promised: str | None = None,
    photos: int = 0,
    head: str | None = None,
) -> str:
    """The staff card with what the review reads (C-11, C-13): the department's feedback and
    the draft reply, when there are."""
    text = staff_card(
        locale, case, resident, assignee=assignee, promised=promised, photos=photos, head=head
    )
    if case.feedback:
        text += "\n" + t(locale, "review.card_feedback", feedback=case.feedback)
    if case.reply_draft:
        text += "\n" + t(locale, "review.card_draft", draft=case.reply_draft)
    if case.approved_by is not None and case.status == Status.REVIEW:
        text += "\n" + t(locale, "review.card_approved")
    return text


# --- keyboards ---------------------------------------------------------------------------------


def first_responder_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """Q-1, C-9: resolve / refer / escalate (unless urgent already; and link, C-5), while
    the case is new; and while it is open, the time promised to the resident (C-1: a
    complaint's next reply; Q-4: a request's), which the first responder follows."""
    promise = [button(t(locale, promise_label(case)), f"rq:fwhen:{case.id}")]
    answer = answer_row(locale, case)
    if case.status in (Status.REFERRED, Status.IN_PROGRESS):
        return keyboard([*answer, promise])
    if case.status != Status.NEW:
        return keyboard(answer) if answer else None
    rows = [
        [
            button(t(locale, "case.btn_resolve"), f"rq:resolve:{case.id}"),
            button(t(locale, "case.btn_refer"), f"rq:refer:{case.id}"),
        ],
    ]
    if not case.urgent:
        rows.append([button(t(locale, "case.btn_escalate"), f"rq:escalate:{case.id}")])
    if case.kind == Kind.COMPLAINT:  # C-5: complaints about one event are counted together
        rows.append([button(t(locale, "event_link.btn_link"), f"cp:link:{case.id}")])
    rows += answer
    rows.append(promise)
    return keyboard(rows)


def answer_row(locale: str, case: Case) -> list[list[Any]]:
    """C-12: a major complaint's clear answer, from the case card, until it is given."""
    if (
        case.kind == Kind.COMPLAINT
        and case.severity == Severity.MAJOR
        and case.answered_at is None
        and case.status in OPEN_STATUSES
    ):
        return [[button(t(locale, "complaint.btn_clear_answer"), f"cp:ans:{case.id}")]]
    return []


def promise_label(case: Case) -> str:
    """The promise button's text: a complaint's next reply time (C-1), a request's time to
    be handled by (Q-4)."""
    return "progress.btn_next_reply" if case.kind == Kind.COMPLAINT else "progress.btn_promise"


def department_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """Take (when referred) or done (when in progress), promise a time (Q-4, C-1), and
    answer the owner from one's private chat (:func:`reply_link_row`)."""
    promise = [button(t(locale, promise_label(case)), f"rq:when:{case.id}")]
    if case.status == Status.REFERRED:
        step = button(t(locale, "case.btn_take"), f"rq:take:{case.id}")
    elif case.status == Status.IN_PROGRESS:
        step = button(t(locale, "case.btn_done"), f"rq:done:{case.id}")
    else:
        return None
    return keyboard([[step], promise, *reply_link_row(locale, case)])


# --- the deep link that answers the owner from the private chat ---------------------------------

#: What ``/start`` carries when a card's reply link opens the private chat: ``r<case id>``
#: (Telegram's start parameter: letters, digits, ``_`` and ``-``, 64 at most).
REPLY_LINK_PREFIX = "r"

#: The bot's @username, which a ``t.me`` link names. Set once at start-up (``bot.app``:
#: ``WUYE_BOT_USERNAME``, else what getMe said): cards are drawn inside storage's
#: transactions, far from any Telegram context. Empty until then: cards carry no link.
_bot_username = ""


def use_bot_username(username: str) -> None:
    """Remember the bot's @username for the cards' links (empty: no links)."""
    global _bot_username
    _bot_username = username.lstrip("@")


def reply_link(case: Case) -> str | None:
    """The ``t.me`` deep link that opens the bot's private chat with ``/start r<case id>``
    (None while the bot's username is unknown)."""
    if not _bot_username:
        return None
    return f"https://t.me/{_bot_username}?start={REPLY_LINK_PREFIX}{case.id}"


def reply_link_row(locale: str, case: Case) -> list[list[InlineKeyboardButton]]:
    """The department card's "✍️ reply to owner" URL button: Telegram opens the staff
    member's private chat with the bot, where a plain message or a photo is the answer
    (handlers.requests.ask_progress); none while the link cannot be made. A URL button has
    no callback data: who may answer is checked when the chat opens, and again at the
    answer."""
    link = reply_link(case)
    if link is None:
        return []
    return [[InlineKeyboardButton(t(locale, "reply_link.btn"), url=link)]]


def promise_keyboard(
    locale: str, case: Case, codes: Sequence[str], *, first_responder: bool = False
) -> InlineKeyboardMarkup:
    """Q-4, C-1: the promise times still ahead (estate time), and back (to the department's
    card, or to the first responder's)."""
    choose, back = ("fpr", "menu") if first_responder else ("pr", "dmenu")
    buttons = [button(t(locale, f"progress.when_{c}"), f"rq:{choose}:{case.id}:{c}") for c in codes]
    buttons.append(button(t(locale, "common.back"), f"rq:{back}:{case.id}"))
    return keyboard([[b] for b in buttons])


def classification_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """C-4: invalid, or valid and minor / important / major; once classified, while the
    complaint is open: raise it, or lower it (with a written reason)."""
    if case.severity is None:
        return keyboard(
            [
                [
                    button(t(locale, "severity.minor"), f"cp:sev:{case.id}:minor"),
                    button(t(locale, "severity.important"), f"cp:sev:{case.id}:important"),
                    button(t(locale, "severity.major"), f"cp:sev:{case.id}:major"),
                ],
                [
                    button(t(locale, f"complaint.invalid.{r}"), f"cp:inv:{case.id}:{r}")
                    for r in INVALID_REASONS
                ],
            ]
        )
    if case.severity not in SEVERITY_ORDER or case.status not in OPEN_STATUSES:
        return None
    at = SEVERITY_ORDER.index(case.severity)
    up = [
        button(
            t(locale, "complaint.btn_raise", severity=t(locale, f"severity.{s}")),
            f"cp:up:{case.id}:{s}",
        )
        for s in SEVERITY_ORDER[at + 1 :]
    ]
    down = [
        button(
            t(locale, "complaint.btn_lower", severity=t(locale, f"severity.{s}")),
            f"cp:down:{case.id}:{s}",
        )
        for s in SEVERITY_ORDER[:at]
    ]
    rows = [row for row in (up, down) if row]
    return keyboard(rows) if rows else None


def extension_keyboard(locale: str, case: Case, timer_id: int | None) -> InlineKeyboardMarkup:
    """C-12: the role the rule names may let it run over; the button names the clock."""
    data = f"cp:ext:{case.id}:{timer_id}"
    return keyboard([[button(t(locale, "complaint.btn_extend"), data)]])


def opinion_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """C-11: the button that asks the supervisor for the handling opinion, until it is
    written (and while the department has not fed back)."""
    if case.opinion or case.status not in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS):
        return None
    return keyboard([[button(t(locale, "review.btn_write"), f"cp:op:{case.id}")]])


def draft_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """C-11: the button that asks the assistant for the reply's draft, while none waits."""
    if case.status != Status.REVIEW or case.reply_draft:
        return None
    return keyboard([[button(t(locale, "review.btn_draft"), f"cp:dr:{case.id}")]])


def approval_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """C-13: approve the reply, or send the draft back (for exactly the draft shown)."""
    if case.status != Status.REVIEW or not case.reply_draft or case.approved_by is not None:
        return None
    version = opinion_version(case.reply_draft)
    return keyboard(
        [
            [
                button(t(locale, "review.btn_approve"), f"cp:ok:{case.id}:{version}"),
                button(t(locale, "review.btn_reject"), f"cp:no:{case.id}:{version}"),
            ]
        ]
    )


def deliver_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """V-5, C-13: the assistant records that they phoned the approved reply."""
    if case.status != Status.REVIEW or case.approved_by is None:
        return None
    return keyboard([[button(t(locale, "review.btn_delivered"), f"cp:dv:{case.id}")]])


def reply_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup:
    """C-13, C-2: the resident confirms the reply or disputes it (the callback, C-14)."""
    return keyboard(
        [
            [
                button(t(locale, "review.btn_confirm"), f"cb:ok:{case.id}"),
                button(t(locale, "review.btn_dispute"), f"cb:no:{case.id}"),
            ]
        ]
    )


def callback_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup:
    """B-3: solved or not."""
    return keyboard(
        [
            [
                button(t(locale, "callback.btn_solved"), f"cb:ok:{case.id}"),
                button(t(locale, "callback.btn_unsolved"), f"cb:no:{case.id}"),
            ]
        ]
    )


def score_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup:
    """B-3: how satisfied, 1–5."""
    return keyboard(
        [
            [button("⭐" * n, f"cb:s:{case.id}:{n}") for n in (1, 2, 3)],
            [button("⭐" * n, f"cb:s:{case.id}:{n}") for n in (4, 5)],
        ]
    )


def phone_callback_keyboard(locale: str, case: Case) -> InlineKeyboardMarkup | None:
    """B-2, B-4: the assistant records the phone callback's outcome."""
    if case.status != Status.DONE:
        return None
    return keyboard(
        [
            [
                button(t(locale, "callback.btn_phone_ok"), f"cb:call:{case.id}:ok"),
                button(t(locale, "callback.btn_phone_bad"), f"cb:call:{case.id}:bad"),
            ],
            [button(t(locale, "callback.btn_phone_none"), f"cb:call:{case.id}:none")],
        ]
    )


#: A decision's keyboards by name (``Tell.buttons``): (locale, case, argument) → markup.
KEYBOARDS: dict[str, Callable[[str, Case, int | None], InlineKeyboardMarkup | None]] = {
    "first_responder": lambda locale, case, _: first_responder_keyboard(locale, case),
    "department": lambda locale, case, _: department_keyboard(locale, case),
    "classification": lambda locale, case, _: classification_keyboard(locale, case),
    "extension": extension_keyboard,
    # a customer-service card of an earlier version asked for the opinion after the
    # department's feedback: in review it offers the draft, as the feedback card does now
    "opinion": lambda locale, case, _: (
        draft_keyboard(locale, case)
        if case.status == Status.REVIEW
        else opinion_keyboard(locale, case)
    ),
    "draft": lambda locale, case, _: draft_keyboard(locale, case),
    "approval": lambda locale, case, _: approval_keyboard(locale, case),
    "deliver": lambda locale, case, _: deliver_keyboard(locale, case),
    "reply_confirm": lambda locale, case, _: reply_keyboard(locale, case),
    "callback_question": lambda locale, case, _: callback_keyboard(locale, case),
    "phone_callback": lambda locale, case, _: phone_callback_keyboard(locale, case),
}

#: Button data of earlier versions, still sitting in chats: (prefix, action) → the same
#: button today. ``cs`` was the first responder's, ``dp`` the department's, ``cx`` and
#: ``op`` a complaint's classification, extension and review.
LEGACY: dict[tuple[str, str], tuple[str, str]] = {
    ("cs", "resolve"): ("rq", "resolve"),
    ("cs", "refer"): ("rq", "refer"),
    ("cs", "escalate"): ("rq", "escalate"),
    ("cs", "to"): ("rq", "to"),
    ("cs", "back"): ("rq", "menu"),
    ("cs", "link"): ("cp", "link"),
    ("cs", "lk"): ("cp", "lk"),
    ("dp", "take"): ("rq", "take"),
    ("dp", "done"): ("rq", "done"),
    ("dp", "when"): ("rq", "when"),
    ("dp", "pr"): ("rq", "pr"),
    ("dp", "back"): ("rq", "dmenu"),
    ("cx", "sev"): ("cp", "sev"),
    ("cx", "inv"): ("cp", "inv"),
    ("cx", "ext"): ("cp", "ext"),
    ("op", "w"): ("cp", "op"),
    ("op", "ok"): ("cp", "ok"),
    ("op", "no"): ("cp", "no"),
}


def modern_data(data: str) -> list[str]:
    """A button's data as parts in today's form (an earlier button's data translated)."""
    parts = data.split(":")
    if len(parts) >= 2 and (parts[0], parts[1]) in LEGACY:
        parts[0], parts[1] = LEGACY[(parts[0], parts[1])]
    return parts


# --- clocks and timeline -----------------------------------------------------------------------


def manual_rule(clock: str) -> str:
    """The manual's rule a clock belongs to, as staff know it (``C-12-important`` → C-12;
    the clock's own title says which of its clocks it is)."""
    try:
        return RuleId(clock).manual_rule.value
    except ValueError:
        return clock


def open_clocks(locale: str, rules: EstateRules, deadlines: Sequence[Deadline]) -> str | None:
    """The clocks still running (and those waiting for their event), soonest first, for
    staff reading ``/case``; None when none is open."""
    found = [d for d in deadlines if d.state in ("pending", "warned", "waiting")]
    if not found:
        return None
    lines = [t(locale, "clocks.title")]
    for deadline in sorted(found, key=lambda d: (d.state == "waiting", d.due_at)):
        title = limits.title(locale, rules, deadline.rule)
        named = manual_rule(deadline.rule)
        if deadline.state == "waiting":
            event = str(deadline.data.get("waiting_for", ""))
            key = f"clocks.event_{event}"
            shown = t(locale, key) if has(key) else event
            lines.append(t(locale, "clocks.waiting", rule=named, title=title, event=shown))
        else:
            due = rules.calendar.local(deadline.due_at).strftime("%m-%d %H:%M")
            key = "clocks.warned" if deadline.state == "warned" else "clocks.running"
            lines.append(t(locale, key, rule=named, title=title, due=due))
    return "\n".join(lines)


#: Events a complaint's timeline names in its own words (C-1: the time promised is the next
#: reply's, not a completion time).
COMPLAINT_EVENTS = {"case.promise": "event.case_promise_reply"}


def timeline(
    locale: str,
    rules: EstateRules,
    events: Sequence[dict[str, Any]],
    names: dict[int, str],
    kind: str | None = None,
) -> str:
    """The case's audit trail as lines: when, who, what (``names``: people by id), each
    in the reader's words: the bot's own steps as the system's, a photo as attached, a
    clock by its rule and title, an erased note as erased; a complaint's (``kind``) promise
    as its next reply time."""
    lines = [t(locale, "case.timeline_title")]
    for event in events:
        at = rules.calendar.local(datetime.fromisoformat(event["at"])).strftime("%m-%d %H:%M")
        key = "event." + event["event"].replace(".", "_")
        if kind == Kind.COMPLAINT:
            key = COMPLAINT_EVENTS.get(event["event"], key)
        what = t(locale, key) if has(key) else escape(event["event"])
        data = event["data"]
        note = data.get("note")
        shown = None
        if note == ERASED:
            shown = t(locale, "timeline.erased")
        elif note:
            shown = escape(str(note)[:200])
        elif isinstance(data.get("rule"), str):  # a clock missed, made major, extended
            shown = escape(clock_name(locale, rules, data["rule"]))
        if shown:
            what = t_raw(locale, "timeline.with_note", what=what, note=shown)
        lines.append(f"{at} · {escape(_actor(locale, event['actor'], names))} · {what}")
    return "\n".join(lines)


def _actor(locale: str, actor: str, names: dict[int, str]) -> str:
    """Who did it: a person by name, the bot itself as the system, the command line."""
    if actor.startswith("person:") and actor[7:].isdigit():
        return names.get(int(actor[7:]), actor)
    key = f"timeline.actor_{actor.replace('-', '_')}"
    return t(locale, key) if has(key) else actor


def clock_name(locale: str, rules: EstateRules, clock: str) -> str:
    """A clock as staff read it on /case: its manual's rule and its title (``Q-1 10 分钟内
    转交``)."""
    return f"{manual_rule(clock)} {limits.title(locale, rules, clock)}".strip()
