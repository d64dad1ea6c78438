"""Rule ids as values: the numbered rules of PROCEDURES.md (``RuleId.C12``) and the clocks
some of them run (``RuleId.C12_IMPORTANT``). The rules table, decisions, permission checks,
``docs/rules.md`` and test names use these, never a string typed twice.

A ``RuleId`` is a ``StrEnum``: ``RuleId.Q1 == "Q-1"``, so a value read back from the
database (a deadline's ``rule`` column) compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class RuleId(StrEnum):
    """Every rule of the manual, and each clock a rule runs under its own id."""

    # the manual's rules, as numbered in PROCEDURES.md
    H1 = "H-1"
    H2 = "H-2"
    H3 = "H-3"
    H4 = "H-4"
    H5 = "H-5"
    H6 = "H-6"
    H7 = "H-7"
    H8 = "H-8"
    H9 = "H-9"
    H10 = "H-10"
    R1 = "R-1"
    R2 = "R-2"
    R3 = "R-3"
    R4 = "R-4"
    R5 = "R-5"
    R6 = "R-6"
    R7 = "R-7"
    R8 = "R-8"
    R9 = "R-9"
    R10 = "R-10"
    R11 = "R-11"
    R12 = "R-12"
    R13 = "R-13"
    R14 = "R-14"
    R15 = "R-15"
    R16 = "R-16"
    R17 = "R-17"
    R18 = "R-18"
    R19 = "R-19"
    R20 = "R-20"
    R21 = "R-21"
    M1 = "M-1"
    M2 = "M-2"
    M3 = "M-3"
    M4 = "M-4"
    M5 = "M-5"
    M6 = "M-6"
    M7 = "M-7"
    G1 = "G-1"
    G2 = "G-2"
    G3 = "G-3"
    G4 = "G-4"
    G5 = "G-5"
    V1 = "V-1"
    V2 = "V-2"
    V3 = "V-3"
    V4 = "V-4"
    V5 = "V-5"
    Q1 = "Q-1"
    Q2 = "Q-2"
    Q3 = "Q-3"
    Q4 = "Q-4"
    Q5 = "Q-5"
    C1 = "C-1"
    C2 = "C-2"
    C3 = "C-3"
    C4 = "C-4"
    C5 = "C-5"
    C6 = "C-6"
    C7 = "C-7"
    C8 = "C-8"
    C9 = "C-9"
    C10 = "C-10"
    C11 = "C-11"
    C12 = "C-12"
    C13 = "C-13"
    C14 = "C-14"
    C15 = "C-15"
    B1 = "B-1"
    B2 = "B-2"
    B3 = "B-3"
    B4 = "B-4"
    B5 = "B-5"
    A1 = "A-1"
    S1 = "S-1"
    S2 = "S-2"
    # clocks: one rule may run several (C-12: important, a major one's answer and resolution)
    V1_FIRST_RESPONSE = "V-1-first-response"
    C1_NEXT_REPLY = "C-1-next-reply"
    C11_OPINION = "C-11-opinion"
    C11_SAME_DAY = "C-11-same-day"
    C13_SAME_DAY = "C-13-same-day"
    C12_IMPORTANT = "C-12-important"
    C12_MAJOR_ANSWER = "C-12-major-answer"
    C12_MAJOR_RESOLVE = "C-12-major-resolve"
    C5_WEEK = "C-5-week"

    @property
    def manual_rule(self) -> RuleId:
        """The manual's rule a clock belongs to (``C12_IMPORTANT`` → ``C12``); itself for a
        rule."""
        family, number = self.value.split("-")[:2]
        return RuleId(f"{family}-{number}")


#: The clocks the deadline table runs, each under its own id.
CLOCKS = frozenset(r for r in RuleId if r.value.count("-") > 1) | {
    RuleId.Q1,
    RuleId.Q4,
    RuleId.C4,
    RuleId.C14,
    RuleId.B1,
    RuleId.R4,
    RuleId.R14,
}
