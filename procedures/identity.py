"""Roles, departments and the rules of who may do what (PROCEDURES.md, Roles).

Nothing here touches Telegram or SQL: handlers ask these functions, storage records the
answers.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    """The roles of the manual; one person may hold several, per estate."""

    OWNER = "owner"  # 業主
    TENANT = "tenant"  # 租戶
    CUSTOMER_ASSISTANT = "customer_assistant"  # 客戶助理 / 前台接待, the first responder
    CC_SUPERVISOR = "cc_supervisor"  # 客戶中心主管 (經理)
    PROJECT_SUPERVISOR = "project_supervisor"  # 項目主管
    PROJECT_MANAGER = "project_manager"  # 項目經理
    MGMT_MANAGER = "mgmt_manager"  # 管理部經理
    CUSTOMER_HEAD = "customer_head"  # 客戶部負責人
    ENGINEERING_HEAD = "engineering_head"  # 工程部負責人
    ENGINEERING = "engineering"  # 工程部
    SECURITY = "security"  # 保安部
    CASHIER = "cashier"  # 收銀員
    ARCHIVIST = "archivist"  # 檔案員
    LEADERSHIP = "leadership"  # 公司領導
    # confirms a deposit refund; while nobody holds it, the project manager does.
    PROJECT_CENTRE_HEAD = "project_centre_head"  # 項目中心負責人
    ADMIN = "admin"  # runs the bot for an estate: invites, roster, department groups


class Department(StrEnum):
    """The departments an estate has; each may be bound to one group chat."""

    CUSTOMER_SERVICE = "customer_service"  # 客服中心
    ENGINEERING = "engineering"  # 工程部
    SECURITY = "security"  # 保安部
    FINANCE = "finance"  # 財務 (cashiers)
    MANAGEMENT = "management"  # 管理部
    LEADERSHIP = "leadership"  # 公司領導


#: Roles residents hold; they come from the roster or an owner's approval, never an invite.
RESIDENT_ROLES = frozenset({Role.OWNER, Role.TENANT})

#: Staff roles an invite may grant.
STAFF_ROLES = tuple(r for r in Role if r not in RESIDENT_ROLES)

#: The department a staff role belongs to by default (an invite may name another).
ROLE_DEPARTMENT: dict[Role, Department] = {
    Role.CUSTOMER_ASSISTANT: Department.CUSTOMER_SERVICE,
    Role.CC_SUPERVISOR: Department.CUSTOMER_SERVICE,
    Role.CUSTOMER_HEAD: Department.CUSTOMER_SERVICE,
    Role.ARCHIVIST: Department.CUSTOMER_SERVICE,
    Role.ENGINEERING: Department.ENGINEERING,
    Role.ENGINEERING_HEAD: Department.ENGINEERING,
    Role.SECURITY: Department.SECURITY,
    Role.CASHIER: Department.FINANCE,
    Role.PROJECT_SUPERVISOR: Department.MANAGEMENT,
    Role.PROJECT_MANAGER: Department.MANAGEMENT,
    Role.MGMT_MANAGER: Department.MANAGEMENT,
    Role.PROJECT_CENTRE_HEAD: Department.MANAGEMENT,
    Role.LEADERSHIP: Department.LEADERSHIP,
}

#: Who may approve or reject an owner's verification request (customer service, H-1).
VERIFIERS = frozenset({Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD, Role.ADMIN})

#: Reasons staff can give when rejecting a verification (each has a text in templates).
REJECT_REASONS = ("not_owner", "unit_mismatch", "visit_office")

#: Names people type for a department in ``/bind``; matched after :func:`fold`.
DEPARTMENT_ALIASES: dict[Department, tuple[str, ...]] = {
    Department.CUSTOMER_SERVICE: (
        "customer_service", "customer-service", "cs", "service", "customer",
        "客服", "客服中心", "客户服务中心", "客戶服務中心",
        "客户部", "客戶部", "客户中心", "客戶中心",
    ),
    Department.ENGINEERING: ("engineering", "eng", "工程", "工程部"),
    Department.SECURITY: ("security", "sec", "保安", "保安部", "安保", "安保部"),
    Department.FINANCE: ("finance", "cashier", "财务", "財務", "财务部", "財務部", "收银", "收銀"),
    Department.MANAGEMENT: ("management", "mgmt", "管理部", "管理处", "管理處", "管理"),
    Department.LEADERSHIP: ("leadership", "leaders", "公司领导", "公司領導", "领导", "領導"),
}  # fmt: skip


def fold(text: str) -> str:
    """Text folded for matching names: NFKC, lower case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def parse_department(text: str) -> Department | None:
    """The department a person meant by ``text`` (a code or a name in any locale)."""
    wanted = fold(text)
    for department, aliases in DEPARTMENT_ALIASES.items():
        if wanted in {fold(a) for a in aliases}:
            return department
    return None


def parse_role(text: str) -> Role | None:
    """A role from its code (``customer_assistant``) or with dashes."""
    wanted = fold(text).replace("-", "_")
    for role in Role:
        if role.value == wanted:
            return role
    return None


def can_verify_owners(roles: Iterable[str], *, is_global_admin: bool) -> bool:
    """May this person decide an owner's verification request in the estate? (H-1)"""
    return is_global_admin or any(r in VERIFIERS for r in roles)


def is_estate_admin(roles: Iterable[str], *, is_global_admin: bool) -> bool:
    """Admins of the deployment (``WUYE_ADMINS``) or holders of the admin role."""
    return is_global_admin or Role.ADMIN in set(roles)


# --- invites -----------------------------------------------------------------------------

INVITE_PREFIX = "inv_"


def new_invite_code() -> str:
    """A fresh one-time invite code: 128 random bits, URL-safe (fits a deep link)."""
    return secrets.token_urlsafe(16)


def invite_hash(code: str) -> str:
    """What the database keeps of a code: its SHA-256."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def invite_expiry(now: datetime, ttl_hours: int) -> datetime:
    """When an invite made ``now`` stops working."""
    return now + timedelta(hours=ttl_hours)


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot with ``/start inv_<code>``."""
    return f"https://t.me/{bot_username}?start={INVITE_PREFIX}{code}"


def looks_like_invite_code(text: str) -> bool:
    """Cheap shape check before any database look-up (forged codes are still looked up)."""
    return 10 <= len(text) <= 60 and all(c.isalnum() or c in "-_" for c in text)


# --- locale ------------------------------------------------------------------------------


def locale_for(language_code: str | None, default: str) -> str:
    """The locale for a Telegram ``language_code`` (``zh-hans``, ``zh-tw``, ``en-us``…)."""
    if not language_code:
        return default
    code = language_code.lower().replace("_", "-")
    if code.startswith("zh"):
        if any(tag in code for tag in ("hant", "-tw", "-hk", "-mo")):
            return "zh-Hant"
        return "zh-Hans"
    if code.startswith("en"):
        return "en"
    return default
