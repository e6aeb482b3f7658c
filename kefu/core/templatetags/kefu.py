from __future__ import annotations

from typing import Any

from django import forms, template
from django.core.paginator import Paginator
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from kefu.core.masking import masked
from kefu.core.phones import format_phone, normalize_phone

register = template.Library()


@register.simple_tag(takes_context=True)
def query_replace(context: dict[str, Any], **kwargs: Any) -> str:
    """The current query string with some parameters replaced (pagination, sorting)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def page_window(paginator: Paginator, current: int) -> list[int | None]:
    """Page numbers around the current one; None where the range is elided (…)."""
    return [
        number if isinstance(number, int) else None
        for number in paginator.get_elided_page_range(current, on_each_side=2, on_ends=1)
    ]


@register.filter
def add_class(field: forms.BoundField, css: str) -> Any:
    widget = field.field.widget
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        css = css.replace("form-control", "form-select")
    if field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.filter
def is_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.filter
def field_col(field: forms.BoundField) -> str:
    """Grid width: a form may name widths in COLUMNS; text areas take a full row."""
    custom = getattr(field.form, "COLUMNS", {}).get(field.name)
    return custom or ("col-12" if isinstance(field.field.widget, forms.Textarea) else "col-md-4")


@register.filter
def inline_validation_url(field: forms.BoundField) -> str:
    """Forms list the fields checked as the user leaves them (INLINE_VALIDATE) and where to post."""
    if field.name in getattr(field.form, "INLINE_VALIDATE", ()):
        return str(getattr(field.form, "validate_url", ""))
    return ""


@register.simple_tag(takes_context=True)
def phone(context: dict[str, Any], value: str | None) -> str:
    """A phone number for display: formatted for those who may see it, else masked as 138****5678."""
    normalized = normalize_phone(value)
    if context.get("can_view_sensitive"):
        return format_phone(normalized) or (value or "")
    return masked(normalized or value, "phone", reveal=False)


@register.simple_tag(takes_context=True)
def id_number(context: dict[str, Any], value: str | None) -> str:
    return masked(value, "id_number", reveal=bool(context.get("can_view_sensitive")))


@register.filter
def tier_badge(tier: str) -> str:
    if not tier:
        return mark_safe('<span class="text-muted">—</span>')
    return format_html('<span class="badge tier-badge tier-{}">{}</span>', tier, tier)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if mapping else None
