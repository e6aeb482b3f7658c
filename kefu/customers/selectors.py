"""Reads of the customer archive, always starting from `visible_to(user)`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Substr
from django.db.models.lookups import Exact, Lookup
from django.utils import timezone

from kefu.core.phones import normalize_phone, phone_digits
from kefu.core.pinyin import is_pinyin_query
from kefu.core.scoping import Scope, scope_of
from kefu.customers.models import (
    BorrowRequest,
    BorrowState,
    ChurnPolicy,
    Contact,
    Customer,
    CustomerDocument,
    CustomerNameGram,
    CustomerPhone,
    Lifecycle,
    Tier,
)

ARCHIVE_NUMBER = re.compile(r"^KH\d{3,}$", re.IGNORECASE)
PHONE_LIKE = re.compile(r"^[\d\s\-+()]{4,}$")

# Empty dates and scales are placed explicitly: SQLite and PostgreSQL put NULLs at opposite ends.
# Never contacted / never traded counts as "longest ago"; an unknown scale comes after every known one.
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": ("-id",),
    "oldest": ("id",),
    "name": ("name_pinyin", "id"),
    "-name": ("-name_pinyin", "-id"),
    "tier": ("tier", "-id"),
    "archive_number": ("archive_number",),
    "last_contact": (F("last_contact_at").asc(nulls_first=True), "id"),
    "-last_contact": (F("last_contact_at").desc(nulls_last=True), "-id"),
    "last_trade": (F("last_trade_at").asc(nulls_first=True), "id"),
    "-last_trade": (F("last_trade_at").desc(nulls_last=True), "-id"),
    "tons": (F("annual_tons").desc(nulls_last=True), "-id"),
}


class _AnyOfArray(Lookup):
    """`lhs = ANY(ARRAY(subquery))`: PostgreSQL takes the subquery's ids as one array, and with it
    walks the primary key in list order, probing each id, until the page is full."""

    lookup_name = "any_of_array"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = compiler.compile(self.rhs)  # "(SELECT ...)"
        return f"{lhs_sql} = ANY(ARRAY{rhs_sql})", [*lhs_params, *rhs_params]


def _pk_among(ids: QuerySet[Any]) -> Q:
    """The customer's id is one of the subquery's.

    On PostgreSQL as `id = ANY(ARRAY(…))`, not `id IN (…)`: for `IN` it estimates the search's
    name check from its statistics alone, guesses that a few of the candidates match when nearly
    all do (化工有: 3,654 candidates, all matching, estimated 33), and then checks and sorts every
    candidate for a page of 20 (50-100 ms; 0.4-0.8 s before `_name_contains`). Given an array it
    walks the primary key in list order through the array's ids and stops with the page: 3 ms.
    SQLite already reads an `IN` list in order.
    """
    if connection.vendor == "postgresql":
        return Q(_AnyOfArray(F("pk"), ids))
    return Q(pk__in=ids)


def _prefix_range(column: str, prefix: str) -> Q:
    """`column` starts with `prefix`, written as a range so a plain B-tree index serves it on both databases."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{column}__gte": prefix, f"{column}__lt": upper})


def _starts_unindexed(column: str, prefix: str) -> Q:
    """`column` starts with `prefix`, as an expression no index can serve: for a condition that
    most rows of a list page meet, walking the list in order beats collecting every match."""
    return Q(Exact(Substr(column, 1, len(prefix)), Value(prefix)))


def search_q(query: str, scope: Scope | None = None) -> Q:
    """One search box for the agent on the phone: phone, archive number, pinyin, name fragment.

    Every branch is served by an index (phone table, archive number, pinyin prefix ranges, name
    bigrams), so the search stays fast on a million customers on SQLite and PostgreSQL alike.
    `scope`, when given, only narrows the index reads to the rows the user may see; the caller
    still applies `visible_to`, which alone decides what is shown.
    """
    text = (query or "").strip()
    if not text:
        return Q()
    if ARCHIVE_NUMBER.match(text):
        return Q(archive_number=text.upper())
    if PHONE_LIKE.match(text) and sum(ch.isdigit() for ch in text) >= 4:
        normalized = normalize_phone(text)
        if normalized:
            ids = CustomerPhone.objects.filter(number=normalized).values("customer_id")
        else:
            # A fragment: most agents type the start of a number; the whole number never reaches here.
            ids = CustomerPhone.objects.filter(_prefix_range("number", phone_digits(text))).values(
                "customer_id"
            )
        return Q(pk__in=ids)
    # Each text branch is one `id IN (a UNION b UNION c)` of index range scans. Written as an OR of
    # conditions instead, PostgreSQL scans the whole customer table (a hashed subplan per row) and
    # SQLite fetches every matching row before sorting: 0.3-0.8 s at a million customers.
    if is_pinyin_query(text):
        return _pinyin_q(text.replace(" ", "").lower(), scope)
    contact_ids = _ids(Contact.objects.filter(_prefix_range("name", text)), "customer_id")
    contains = _name_contains(text)
    found = _name_fragment_candidates(text, scope)
    if found is None:
        # One character, or pieces the user sees so often that the scan in list order fills the
        # page and the capped count early.
        return contains | Q(pk__in=contact_ids)
    candidates, exact = found
    if exact:
        return _pk_among(candidates[0].union(*candidates[1:], contact_ids, all=True))
    if Contact.objects.filter(_prefix_range("name", text)).exists():
        checked = Customer.objects.filter(pk__in=_union(candidates)).filter(contains)
        return _pk_among(_ids(checked).union(contact_ids, all=True))
    # The usual case, no contact by that name: the name check is made on the rows the list reads
    # anyway, in list order, so a page or a capped count checks about as many names as it shows.
    # Checked inside the id subquery, every candidate was read first: 10,590 rows for 石家庄
    # (0.2-0.3 s on SQLite). (With the contacts' ids OR-ed into this check, PostgreSQL took half
    # the table to match and walked it in list order: seconds for a rare fragment.)
    return _pk_among(_union(candidates)) & contains


def _name_contains(text: str) -> Q:
    """Name or short name contains `text`, ignoring case.

    Chinese text has no case: then the plain `LIKE` gives the same rows as the case-insensitive
    one, and PostgreSQL can estimate it from the name's statistics. For `UPPER(name) LIKE` it has
    none and guesses one row, so for a dense fragment (属制品: 23,000 names) it read and sorted
    every match instead of walking the list to the first page (0.4-0.8 s).
    """
    if text == text.upper() == text.lower():
        return Q(name__contains=text) | Q(short_name__contains=text)
    return Q(name__icontains=text) | Q(short_name__icontains=text)


def _at_least(queryset: QuerySet[Any], count: int) -> bool:
    """Whether the queryset has `count` rows, counting no further (an index range scan)."""
    return queryset.order_by()[:count].count() >= count


# Past this many names starting with the letters, a manager's search walks the list in order.
BROAD_PINYIN = 5_000


def _pinyin_q(letters: str, scope: Scope | None) -> Q:
    initials = _prefix_range("name_initials", letters)
    spelled = _prefix_range("name_pinyin", letters)
    # The spelled-out pinyin counts too: `ch` starts 1,700 names' initials but 59,000 names'
    # pinyin (陈, 成, 常…).
    broad = _at_least(Customer.objects.filter(initials), BROAD_PINYIN) or _at_least(
        Customer.objects.filter(spelled), BROAD_PINYIN
    )
    if scope is not None and not scope.everything:
        # A user who sees some departments: read their share of the matches straight from the
        # indexes. Walking the list (or every match) and dropping the rows of other departments
        # read five times too many rows: 0.1-0.4 s for a thousand matches of `ch` on PostgreSQL,
        # 0.1-1.1 s for `bt` on SQLite (10,753 names: the place name 包头).
        scoped = [Q(owner_id=scope.user_id)]
        if scope.department_ids:
            scoped.append(Q(department_id__in=sorted(scope.department_ids)))
        if connection.vendor == "sqlite":
            # SQLite: one pass over the letters' range of the (initials | pinyin, department,
            # owner) indexes (customers/0008), the user's rows kept from the index entries.
            scoped = [reduce(or_, scoped)]
        # PostgreSQL: each half of the scope from its (department | owner, initials | pinyin, id)
        # index (customers/0006).
        parts = [
            _ids(Customer.objects.filter(part, where)) for part in scoped for where in (initials, spelled)
        ]
        if not broad:
            parts.append(_ids(Contact.objects.filter(_prefix_range("name_initials", letters)), "customer_id"))
        return _pk_among(parts[0].union(*parts[1:], all=True))
    if broad:
        # Broad initials such as `zh` match a customer in every few: walking the list in order
        # fills a page at once, while building and sorting the full set of matching ids costs
        # 0.1-0.3 s. Contacts are left out here; their initials only add noise to so broad a
        # search. Written so that no index serves it: given the two ranges, SQLite fetched and
        # sorted every match (0.5-4 s for `ch`) instead of walking the list to the first page.
        return _starts_unindexed("name_initials", letters) | _starts_unindexed("name_pinyin", letters)
    ids = _ids(Customer.objects.filter(initials)).union(
        _ids(Customer.objects.filter(spelled)),
        _ids(Contact.objects.filter(_prefix_range("name_initials", letters)), "customer_id"),
        all=True,
    )
    return _pk_among(ids)


def _ids(queryset: QuerySet[Any], column: str = "pk") -> QuerySet[Any]:
    """Only the ids, unordered: what a UNION of subqueries takes. (The unions are UNION ALL: an id
    list with repeats means the same to `IN` and `= ANY`, and PostgreSQL hashed 77,616 ids to
    remove repeats nobody needs: 30-50 ms.)"""
    return queryset.order_by().values_list(column, flat=True)


def _union(parts: list[QuerySet[Any]]) -> QuerySet[Any]:
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def _gram_ids(gram: str, scope: Scope | None, *, also: str | None = None) -> list[QuerySet[Any]]:
    """Ids of the customers whose name holds `gram`, straight from the index; for a user who sees
    some departments only theirs and the user's own, from the (gram, department | owner) indexes.
    Several id lists (to be united): a UNION of index ranges, never an OR the planners would scan.
    With `also`, only those whose name holds that piece too (from the (gram, customer) index)."""
    rows = CustomerNameGram.objects.filter(gram=gram)
    if also is not None:
        rows = rows.filter(customer_id__in=CustomerNameGram.objects.filter(gram=also).values("customer_id"))
    if scope is None or scope.everything:
        return [_ids(rows, "customer_id")]
    if scope.user_id is None:
        return [_ids(rows.none(), "customer_id")]
    parts = [_ids(rows.filter(owner_id=scope.user_id), "customer_id")]
    if scope.department_ids:
        parts.insert(0, _ids(rows.filter(department_id__in=sorted(scope.department_ids)), "customer_id"))
    return parts


def _gram_count(gram: str, scope: Scope | None, limit: int) -> int:
    """How many of the user's customers hold `gram`, counting at most `limit` index entries per
    range (an own customer of an own department counts twice: this is for choosing a plan)."""
    return sum(part[:limit].count() for part in _gram_ids(gram, scope))


# Pieces found in most company names select nothing; the fragment's other pieces are used instead.
COMMON_GRAMS = frozenset(
    {"有限", "限公", "公司", "责任", "任公", "股份", "份有", "集团", "科技", "技有", "贸易", "易有"}
)


# Past this many names (that the user may see) holding a fragment's rarest piece, reading their
# ids and checking them costs more than scanning the list in order until the page and the capped
# count are full. (At 5,000 a manager's 子有限, 18,000 names, scanned 55,000 rows for the count.)
FREQUENT_GRAM = 25_000
# Under this many names, a piece is rare enough to take without counting the others further.
RARE_GRAM = 2_000
# Past this many names holding the rarest piece, only those holding the next rarest piece too are
# candidates. Every candidate is a customer row read for the name check, and a capped count reads
# them all: 3,306 rows for 柳州润 (州润), of which 203 match — 0.26 s when they are not in memory
# (after a restart, or with a database larger than the cache). Both pieces' index entries lie
# together in the (gram, customer) index: 柳州 ∩ 州润 leaves ~200 rows to read.
NARROW_FROM = 300
# A narrowing piece's index entries are all read: past this many, not worth it. An industry word
# such as 电器 is in 23,000 names of a million, 集团 in 78,000, 公司 in nearly all. PostgreSQL
# merges the two index ranges (23,000 entries: ~100 index pages, 1-2 ms); SQLite builds a
# temporary index of them first, which for an agent's 化工有 cost more than it saved (p99 45 → 84
# ms with nothing in memory), so it narrows only with a rarer piece.
NARROW_WITH_AT_MOST = {"postgresql": 50_000}
NARROW_WITH_AT_MOST_ELSEWHERE = 20_000


def _name_fragment_candidates(text: str, scope: Scope | None) -> tuple[list[QuerySet[Any]], bool] | None:
    """Ids of customers whose name may contain `text`, through the bigram index (as id lists to
    unite, see `_gram_ids`), and whether they all do; None when the fragment's pieces are so
    frequent that scanning the list in order finds its matches sooner."""
    compact = "".join(text.split()).lower()
    grams = list(dict.fromkeys(compact[i : i + 2] for i in range(len(compact) - 1)))
    useful = [gram for gram in grams if gram not in COMMON_GRAMS][:4]
    if len(compact) == 2 and useful:
        # The fragment is one piece: the index alone answers, no customer row is read. (It also
        # finds 恒 丰 for 恒丰: the pieces are taken with spaces removed.)
        return _gram_ids(compact, scope), True
    # A fragment of common pieces only (股份有, 责任公) is still worth reading from the index for a
    # user who sees one department: a fifth of 股份's 77,900 names, where scanning the list for a
    # thousand matches the user may see passes 65,000 rows.
    pieces = useful or grams[:4]
    if not pieces:
        return None
    # First a cheap count of each piece: when one is rare (州益 of 苏州益), it is the one to use,
    # and the frequent ones (苏州, 15,000 names) need not be counted further — counting them to
    # FREQUENT_GRAM was most of such a search's time on SQLite (up to 80 ms).
    counts = {gram: _gram_count(gram, scope, RARE_GRAM) for gram in pieces}
    if min(counts.values()) < RARE_GRAM:
        return _rarest_gram_ids(pieces, counts, scope), False
    # Counting at most FREQUENT_GRAM index entries per piece costs a millisecond or two.
    counts = {gram: _gram_count(gram, scope, FREQUENT_GRAM) for gram in pieces}
    if all(count >= FREQUENT_GRAM for count in counts.values()):
        if not useful or len(pieces) == 1:
            return None
        # Tied at the limit: count further to tell the rarest (胶集 5,100 names, 橡胶 23,000).
        counts = {gram: _gram_count(gram, scope, FREQUENT_GRAM * 10) for gram in pieces}
    # Even when every piece is frequent (饲料 23,000 names, 料集 5,200) the rarest piece's names are
    # candidates enough: the check runs in list order and stops with the page. Scanning the whole
    # list in order instead had to pass most of the table to count a thousand matches an agent
    # may see (0.3-0.8 s). Intersecting two pieces' names made PostgreSQL guess a hundred
    # candidates where there were ten thousand, and check and sort them all. (The next rarest
    # piece now narrows the candidates inside the id array, see NARROW_FROM: the outer plan walks
    # the list in order through the array whatever its size.)
    return _rarest_gram_ids(pieces, counts, scope), False


def _rarest_gram_ids(pieces: list[str], counts: dict[str, int], scope: Scope | None) -> list[QuerySet[Any]]:
    """The candidates of the rarest piece; when they are many, only those holding the next rarest
    piece too (NARROW_FROM), unless that piece is in so many names that reading its index entries
    costs more than it saves (NARROW_WITH_AT_MOST; the common pieces never narrow)."""
    rarest, *others = sorted(pieces, key=counts.__getitem__)
    if counts[rarest] < NARROW_FROM or not others or others[0] in COMMON_GRAMS:
        return _gram_ids(rarest, scope)
    also = others[0]
    limit = NARROW_WITH_AT_MOST.get(connection.vendor, NARROW_WITH_AT_MOST_ELSEWHERE)
    if _gram_count(also, None, limit) >= limit:
        return _gram_ids(rarest, scope)
    return _gram_ids(rarest, scope, also=also)


@dataclass
class CustomerFilters:
    q: str = ""
    kind: str = ""
    tier: str = ""
    lifecycle: str = ""
    department: int | None = None
    owner: int | None = None
    is_vip: bool | None = None
    province: str = ""
    sort: str = "newest"
    extra: dict[str, Any] = field(default_factory=dict)


def customer_list(*, user: Any, filters: CustomerFilters | None = None) -> QuerySet[Customer]:
    filters = filters or CustomerFilters()
    qs = Customer.objects.visible_to(user)
    if filters.q:
        qs = qs.filter(search_q(filters.q, scope_of(user)))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.tier:
        qs = qs.filter(tier="" if filters.tier == "none" else filters.tier)
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.is_vip is not None:
        qs = qs.filter(is_vip=filters.is_vip)
    if filters.province:
        qs = qs.filter(province=filters.province)
    order = SORTS.get(filters.sort, SORTS["newest"])
    if filters.q and connection.vendor == "postgresql":
        # The owners and departments of the page in two small queries, not joined: PostgreSQL
        # cannot tell how many rows a search's id array holds (it assumes ten), so it hash-joined
        # every match to them before sorting instead of walking the ids in list order to the
        # 20th (`限责`: 77,616 rows joined, 0.6-0.9 s; see `_pk_among`).
        return qs.prefetch_related("owner", "department").order_by(*order)
    return qs.select_related("owner", "department").order_by(*order)


def customer_lookup_by_phone(*, user: Any, phone: str) -> QuerySet[Customer]:
    """Exact phone lookup for an incoming call; empty when the number is not valid."""
    normalized = normalize_phone(phone)
    if not normalized:
        return Customer.objects.none()
    ids = CustomerPhone.objects.filter(number=normalized).values("customer_id")
    return (
        Customer.objects.visible_to(user)
        .filter(pk__in=ids)
        .select_related("owner", "department")
        .order_by("-id")
    )


def customer_get(*, user: Any, pk: int) -> Customer | None:
    return (
        Customer.objects.visible_to(user)
        .select_related("owner", "department", "tier_policy", "created_by")
        .filter(pk=pk)
        .first()
    )


def customer_file(*, user: Any, customer: Customer) -> dict[str, Any]:
    """Everything the customer file page shows beside the archive fields."""
    return {
        "contacts": list(customer.contacts.all()),
        "documents": list(customer.documents.select_related("uploaded_by").all()[:200]),
        "trades": list(customer.trades.select_related("recorded_by").all()[:100]),
        "contact_records": list(
            customer.contact_records.select_related("recorded_by", "contact").all()[:100]
        ),
        "tier_changes": list(customer.tier_changes.select_related("actor", "policy").all()[:50]),
        "borrowings": list(
            BorrowRequest.objects.visible_to(user)
            .filter(customer=customer)
            .select_related("document", "requester")[:50]
        ),
    }


def big_customers(*, user: Any, tier: str = "") -> QuerySet[Customer]:
    """The VIP list (大客户名单) the archive specialist hands to the big-customer specialist."""
    qs = Customer.objects.visible_to(user).exclude(tier=Tier.NONE)
    if tier in (Tier.A, Tier.B, Tier.C):
        qs = qs.filter(tier=tier)
    return qs.select_related("owner", "department").order_by("tier", "-annual_tons", "id")


def at_risk_customers(
    *, user: Any, policy: ChurnPolicy | None = None, now: dt.datetime | None = None
) -> QuerySet[Customer]:
    """Customers about to be lost (即将流失): no trade and no contact within the policy's windows."""
    policy = policy or ChurnPolicy.in_force()
    now = now or timezone.now()
    trade_cut = now - dt.timedelta(days=policy.days_without_trade)
    contact_cut = now - dt.timedelta(days=policy.days_without_contact)
    quiet_trade = Q(last_trade_at__lt=trade_cut) | Q(last_trade_at__isnull=True, created_at__lt=trade_cut)
    quiet_contact = Q(last_contact_at__lt=contact_cut) | Q(
        last_contact_at__isnull=True, created_at__lt=contact_cut
    )
    return (
        Customer.objects.visible_to(user)
        .filter(lifecycle__in=[Lifecycle.OPENED, Lifecycle.PURCHASING])
        .filter(quiet_trade & quiet_contact)
        .select_related("owner", "department")
        .order_by("last_trade_at", "id")
    )


@dataclass(frozen=True)
class BirthdayRow:
    customer: Customer
    contact: Contact | None
    name: str
    birthday: dt.date
    next_birthday: dt.date

    @property
    def days_until(self) -> int:
        return (self.next_birthday - timezone.localdate()).days

    @property
    def turning(self) -> int:
        return self.next_birthday.year - self.birthday.year


def _mmdd_ranges(start: dt.date, days: int) -> list[tuple[str, str]]:
    end = start + dt.timedelta(days=days)
    if end.year == start.year:
        return [(start.strftime("%m%d"), end.strftime("%m%d"))]
    return [(start.strftime("%m%d"), "1231"), ("0101", end.strftime("%m%d"))]


def _next_occurrence(birthday: dt.date, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1):
        try:
            candidate = birthday.replace(year=year)
        except ValueError:  # 29 February in a common year is celebrated on 1 March
            candidate = dt.date(year, 3, 1)
        if candidate >= today:
            return candidate
    return dt.date(today.year + 1, birthday.month, min(birthday.day, 28))


def upcoming_birthdays(
    *, user: Any, days: int | None = None, today: dt.date | None = None
) -> list[BirthdayRow]:
    """Members and contacts whose birthday falls in the next `days` days, soonest first."""
    today = today or timezone.localdate()
    days = days if days is not None else ChurnPolicy.in_force().birthday_days_ahead
    ranges = _mmdd_ranges(today, days)
    mmdd = Q()
    for low, high in ranges:
        mmdd |= Q(birthday_mmdd__gte=low, birthday_mmdd__lte=high)
    if any(low <= "0301" and high >= "0228" for low, high in ranges):
        # A 29 February birthday is celebrated on 1 March in common years.
        mmdd |= Q(birthday_mmdd="0229")
    rows: list[BirthdayRow] = []
    customers = Customer.objects.visible_to(user).filter(mmdd).exclude(lifecycle=Lifecycle.LOST)
    for customer in customers.select_related("owner")[:2000]:
        if customer.birthday is None:
            continue
        rows.append(
            BirthdayRow(
                customer, None, customer.name, customer.birthday, _next_occurrence(customer.birthday, today)
            )
        )
    contacts = Contact.objects.visible_to(user).filter(mmdd).exclude(customer__lifecycle=Lifecycle.LOST)
    for contact in contacts.select_related("customer", "customer__owner")[:2000]:
        if contact.birthday is None:
            continue
        rows.append(
            BirthdayRow(
                contact.customer,
                contact,
                contact.name,
                contact.birthday,
                _next_occurrence(contact.birthday, today),
            )
        )
    limit = today + dt.timedelta(days=days)
    rows = [row for row in rows if row.next_birthday <= limit]
    rows.sort(key=lambda row: (row.next_birthday, row.name))
    return rows


def borrow_requests(*, user: Any, state: str = "", mine: bool = False) -> QuerySet[BorrowRequest]:
    qs = BorrowRequest.objects.visible_to(user).select_related(
        "document", "customer", "requester", "decided_by"
    )
    if state:
        qs = qs.filter(state=state)
    if mine:
        qs = qs.filter(requester=user)
    return qs.order_by("-created_at", "-id")


def customer_history(*, customer: Customer) -> list[LogEntry]:
    """Changes to the customer and to its contacts and documents (removed ones too), newest first."""
    types = ContentType.objects.get_for_models(Customer, Contact, CustomerDocument)
    contact_ids = list(customer.contacts.values_list("id", flat=True))
    doc_ids = list(customer.documents.values_list("id", flat=True))
    condition = Q(content_type=types[Customer], object_id=customer.pk)
    if contact_ids:
        condition |= Q(content_type=types[Contact], object_id__in=contact_ids)
    if doc_ids:
        condition |= Q(content_type=types[CustomerDocument], object_id__in=doc_ids)
    # Removed records are no longer in the tables; their deletion entries carry the customer id.
    condition |= Q(
        content_type__in=[types[Contact], types[CustomerDocument]],
        action=LogEntry.Action.DELETE,
        additional_data__customer_id=customer.pk,
    )
    return list(
        LogEntry.objects.filter(condition)
        .select_related("actor", "content_type")
        .order_by("-timestamp")[:200]
    )


def may_read_document(*, user: Any, document: CustomerDocument) -> bool:
    """An important file is read by the archive staff, or by someone with an approved loan of it."""
    if not document.important:
        return True
    if user.has_perm("customers.check_borrowrequest") or user.has_perm("customers.approve_borrowrequest"):
        return True
    return BorrowRequest.objects.filter(
        document=document, requester=user, state=BorrowState.APPROVED
    ).exists()
