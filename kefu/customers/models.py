"""The customer archive (客户档案): SPEC §2 and the VIP tiers of §3."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.models import EffectiveDatedPolicy, TimeStampedModel
from kefu.core.scoping import Scope, ScopedQuerySet, department_or_owner_covers, department_or_owner_q


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("Company")
    PERSON = "person", _("Person / member")


class Lifecycle(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    OPENED = "opened", _("Account opened")
    PURCHASING = "purchasing", _("Purchasing")
    CLOSED = "closed", _("Account closed")
    LOST = "lost", _("Lost")


class Tier(models.TextChoices):
    A = "A", _("Tier A")
    B = "B", _("Tier B")
    C = "C", _("Tier C")
    NONE = "", _("Not a VIP")


class TierSource(models.TextChoices):
    POLICY = "policy", _("By the tier policy")
    MANUAL = "manual", _("Set by hand")


class CreditRating(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    UNRATED = "", _("Not rated")


class Gender(models.TextChoices):
    MALE = "m", _("Male")
    FEMALE = "f", _("Female")
    UNKNOWN = "", _("Unknown")


class TierPolicy(EffectiveDatedPolicy):
    """SPEC §3: A ≥ 20,000 t/year or brand-promotion value; B 10,000–20,000 t; C the rest of the VIP list."""

    a_min_tons = models.DecimalField(
        _("tier A from (tons/year)"), max_digits=12, decimal_places=2, default=Decimal("20000")
    )
    b_min_tons = models.DecimalField(
        _("tier B from (tons/year)"), max_digits=12, decimal_places=2, default=Decimal("10000")
    )
    brand_value_makes_a = models.BooleanField(_("brand-promotion value makes tier A"), default=True)
    scale_makes_vip = models.BooleanField(
        _("reaching tier B scale puts a customer on the VIP list"), default=True
    )

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")

    def __str__(self) -> str:
        return f"A≥{self.a_min_tons} B≥{self.b_min_tons} ({self.effective_from})"

    def tier_for(self, *, annual_tons: Decimal | None, brand_value: bool, is_vip: bool) -> str:
        tons = annual_tons or Decimal("0")
        if (brand_value and self.brand_value_makes_a) or (
            tons >= self.a_min_tons and (is_vip or self.scale_makes_vip)
        ):
            return Tier.A
        if tons >= self.b_min_tons and (is_vip or self.scale_makes_vip):
            return Tier.B
        return Tier.C if is_vip else Tier.NONE


class ChurnPolicy(EffectiveDatedPolicy):
    """When a customer counts as about to be lost (即将流失), and the birthday list's look-ahead."""

    days_without_trade = models.PositiveIntegerField(_("days without a trade"), default=180)
    days_without_contact = models.PositiveIntegerField(_("days without contact"), default=90)
    birthday_days_ahead = models.PositiveIntegerField(_("birthday list: days ahead"), default=7)

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("churn policy")
        verbose_name_plural = _("churn policies")

    def __str__(self) -> str:
        return f"{self.days_without_trade}/{self.days_without_contact} ({self.effective_from})"


class CustomerQuerySet(ScopedQuerySet):
    pass


class Customer(TimeStampedModel):
    archive_number = models.CharField(_("archive number"), max_length=20, unique=True, editable=False)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.COMPANY
    )
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False, db_index=True)
    name_initials = models.CharField(max_length=200, blank=True, editable=False, db_index=True)

    # Legal qualification (法人资质)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True, unique=True
    )
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    registered_capital = models.DecimalField(
        _("registered capital (10k yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    licence_valid_until = models.DateField(_("business licence valid until"), null=True, blank=True)
    tax_registration_number = models.CharField(_("tax registration number"), max_length=30, blank=True)

    # Person / member
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    birthday_mmdd = models.CharField(max_length=4, blank=True, editable=False, db_index=True)
    member_number = models.CharField(
        _("member card number"), max_length=30, null=True, blank=True, unique=True
    )
    member_since = models.DateField(_("member since"), null=True, blank=True)

    # Contact information of the customer itself
    phone = models.CharField(_("main phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    source = models.CharField(_("source"), max_length=50, blank=True)

    # Lifecycle (开户 → 购销 → 销户; potential / existing / lost)
    lifecycle = models.CharField(
        _("lifecycle"), max_length=12, choices=Lifecycle.choices, default=Lifecycle.POTENTIAL, db_index=True
    )
    lifecycle_changed_at = models.DateTimeField(_("lifecycle changed at"), null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True)

    # Scale and production (生产工艺、规模、原料、投资)
    is_vip = models.BooleanField(_("on the VIP list"), default=False)
    brand_value = models.BooleanField(_("brand-promotion value"), default=False)
    annual_tons = models.DecimalField(
        _("scale (tons/year)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    production_process = models.TextField(_("production process"), blank=True)
    raw_materials = models.TextField(_("raw materials"), blank=True)
    investment = models.DecimalField(
        _("production investment (10k yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    production_notes = models.TextField(_("production notes"), blank=True)

    # VIP tier (大客户等级)
    tier = models.CharField(
        _("tier"), max_length=1, choices=Tier.choices, blank=True, default="", db_index=True
    )
    tier_source = models.CharField(
        _("tier set"), max_length=10, choices=TierSource.choices, default=TierSource.POLICY
    )
    tier_reason = models.CharField(_("reason for the tier"), max_length=300, blank=True)
    tier_policy = models.ForeignKey(
        TierPolicy,
        verbose_name=_("tier policy version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    # Credit (信用调查 / 信用度评估)
    credit_status = models.TextField(_("credit status"), blank=True)
    credit_rating = models.CharField(
        _("credit rating"), max_length=3, choices=CreditRating.choices, blank=True, default=""
    )
    credit_limit = models.DecimalField(
        _("credit limit (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    credit_checked_on = models.DateField(_("credit checked on"), null=True, blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    sms_opt_out = models.BooleanField(_("no marketing messages"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    last_trade_at = models.DateTimeField(_("last trade"), null=True, blank=True, db_index=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("view_sensitive", _("Can see phone and ID numbers unmasked")),
            ("import_customer", _("Can import customers from Excel")),
            ("export_customer", _("Can export customers to Excel")),
            ("set_tier", _("Can set a customer's tier by hand")),
            ("assign_customer", _("Can change a customer's owner and department")),
        ]
        indexes = [
            models.Index(fields=["department", "-id"], name="customer_dept_id"),
            models.Index(fields=["owner", "-id"], name="customer_owner_id"),
            models.Index(fields=["tier", "-id"], name="customer_tier_id"),
            models.Index(fields=["lifecycle", "-id"], name="customer_lifecycle_id"),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope)

    @staticmethod
    def scope_covers(scope: Scope, customer: Customer) -> bool:
        return department_or_owner_covers(scope, customer)


class ContactQuerySet(ScopedQuerySet):
    pass


class Contact(TimeStampedModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=50, db_index=True)
    name_pinyin = models.CharField(max_length=200, blank=True, editable=False)
    name_initials = models.CharField(max_length=50, blank=True, editable=False, db_index=True)
    title = models.CharField(_("job title"), max_length=50, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True, default="")
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    telephone = models.CharField(_("telephone"), max_length=30, blank=True)
    qq = models.CharField(_("QQ"), max_length=20, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    birthday_mmdd = models.CharField(max_length=4, blank=True, editable=False, db_index=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name

    def get_additional_data(self) -> dict[str, int]:
        """Kept with each history entry, so the customer's history still shows it after deletion."""
        return {"customer_id": self.customer_id}

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner")


class CustomerPhone(models.Model):
    """Every phone of a customer and its contacts, normalized, for the agent's phone lookup."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phone_index")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20, db_index=True)

    class Meta:
        default_permissions = ()  # an index kept by the services; nobody edits it
        constraints = [
            models.UniqueConstraint(fields=["customer", "contact", "number"], name="customer_phone_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class CustomerNameGram(models.Model):
    """Two-character pieces of customer names: a portable index for name-fragment search.

    `LIKE '%三丰%'` scans every row on both databases; looking the fragment's first bigram up here
    and checking the few candidates keeps the search fast at a million customers.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    gram = models.CharField(max_length=2)
    # The customer's department and owner, copied here (and kept by the services that assign
    # customers) so that a search by someone who sees some departments reads only their share of
    # a piece's names: a fifth of them for an agent, instead of probing every name's customer row.
    department = models.ForeignKey(
        "accounts.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # served by the (gram, department, customer) index
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # served by the (gram, owner, customer) index
    )

    class Meta:
        default_permissions = ()  # an index kept by the services; nobody edits it
        indexes = [
            models.Index(fields=["gram", "customer"], name="customer_gram_lookup"),
            models.Index(fields=["gram", "department", "customer"], name="customer_gram_department"),
            models.Index(fields=["gram", "owner", "customer"], name="customer_gram_owner"),
        ]

    def __str__(self) -> str:
        return self.gram


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    TAX_REGISTRATION = "tax_registration", _("Tax registration")
    CONTRACT = "contract", _("Contract and its review")
    CORRESPONDENCE = "correspondence", _("Correspondence")
    PAYMENT_REQUEST = "payment_request", _("Payment request")
    SURVEY_FORM = "survey_form", _("Satisfaction survey form")
    COMPLAINT_FORM = "complaint_form", _("Complaint form")
    VISIT_FORM = "visit_form", _("Return-visit form")
    CREDIT_REPORT = "credit_report", _("Credit report")
    OTHER = "other", _("Other")


def document_upload_to(instance: CustomerDocument, filename: str) -> str:
    return f"customers/{instance.customer_id}/{instance.sha256[:2]}/{instance.sha256}{instance.extension}"


class CustomerDocumentQuerySet(ScopedQuerySet):
    pass


class CustomerDocument(TimeStampedModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(
        _("kind"), max_length=30, choices=DocumentKind.choices, default=DocumentKind.OTHER
    )
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    extension = models.CharField(max_length=10, editable=False)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(max_length=64, editable=False)
    important = models.BooleanField(_("important (borrowing needs approval)"), default=False)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = CustomerDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer document")
        verbose_name_plural = _("customer documents")

    def __str__(self) -> str:
        return self.title

    def get_additional_data(self) -> dict[str, int]:
        """Kept with each history entry, so the customer's history still shows it after deletion."""
        return {"customer_id": self.customer_id}

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner")


class TradeKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    CONTRACT = "contract", _("Contract signed")
    PAYMENT = "payment", _("Payment received")
    RETURN = "return", _("Return")
    OTHER = "other", _("Other")


class TradeRecordQuerySet(ScopedQuerySet):
    pass


class TradeRecord(TimeStampedModel):
    """Past transactions (以往交易记录)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="trades"
    )
    traded_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=TradeKind.choices, default=TradeKind.PURCHASE)
    product = models.CharField(_("product"), max_length=200, blank=True)
    quantity_tons = models.DecimalField(
        _("quantity (tons)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2, default=Decimal("0"))
    reference = models.CharField(_("reference number"), max_length=50, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = TradeRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-traded_on", "-id"]
        verbose_name = _("trade record")
        verbose_name_plural = _("trade records")

    def __str__(self) -> str:
        return f"{self.traded_on} {self.get_kind_display()} {self.amount}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Visit")
    WECHAT = "wechat", _("WeChat / QQ")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    OTHER = "other", _("Other")


class ContactRecordQuerySet(ScopedQuerySet):
    pass


class ContactRecord(TimeStampedModel):
    """A contact with the customer (联络记录): keeps the at-risk list honest."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contact_records"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    happened_at = models.DateTimeField(_("time"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=ContactChannel.choices, default=ContactChannel.PHONE
    )
    summary = models.CharField(_("summary"), max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ContactRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-happened_at", "-id"]
        verbose_name = _("contact record")
        verbose_name_plural = _("contact records")

    def __str__(self) -> str:
        return self.summary

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner")


class TierChange(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    at = models.DateTimeField(_("time"), db_index=True)
    from_tier = models.CharField(_("from"), max_length=1, choices=Tier.choices, blank=True)
    to_tier = models.CharField(_("to"), max_length=1, choices=Tier.choices, blank=True)
    source = models.CharField(_("how"), max_length=10, choices=TierSource.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    policy = models.ForeignKey(
        TierPolicy,
        verbose_name=_("policy version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier or '-'} → {self.to_tier or '-'}"


class BorrowState(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    APPROVED = "approved", _("Approved, on loan")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned, awaiting check")
    CHECKED = "checked", _("Returned and checked")
    CANCELLED = "cancelled", _("Cancelled")


class BorrowRequestQuerySet(ScopedQuerySet):
    pass


class BorrowRequest(TimeStampedModel):
    """Borrowing an important file (借阅): the manager approves, the archive specialist checks the return."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    document = models.ForeignKey(
        CustomerDocument, verbose_name=_("document"), on_delete=models.PROTECT, related_name="borrowings"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="borrowings"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="borrow_requests",
    )
    purpose = models.CharField(_("purpose"), max_length=300)
    due_back_on = models.DateField(_("to be returned by"))
    state = models.CharField(
        _("state"), max_length=10, choices=BorrowState.choices, default=BorrowState.REQUESTED, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_note = models.CharField(_("return note"), max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    check_passed = models.BooleanField(_("complete and undamaged"), null=True, blank=True)
    check_note = models.CharField(_("check note"), max_length=300, blank=True)

    objects = BorrowRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("borrowing request")
        verbose_name_plural = _("borrowing requests")
        permissions = [
            ("approve_borrowrequest", _("Can approve or reject borrowing requests")),
            ("check_borrowrequest", _("Can check returned files")),
        ]

    def __str__(self) -> str:
        return self.number

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner") | Q(
            requester_id=scope.user_id
        )


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")


class CustomerImport(TimeStampedModel):
    """One Excel import: a dry run first, then the real run, both reporting progress and row errors."""

    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    dry_run = models.BooleanField(_("dry run"), default=True)
    source = models.OneToOneField(
        "self",
        verbose_name=_("confirmed dry run"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="confirmed_by",
    )
    update_existing = models.BooleanField(_("update duplicates instead of skipping them"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (ImportStatus.DONE, ImportStatus.FAILED) else 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))
