"""The course cart, kept in Django's cache (Redis in production) per user.

Stored value: ``{course_id: {"option": option_id, "selected": bool}}``. Prices are never stored:
they are read from the database whenever the cart is shown or checked out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from .models import Course, ValidityOption

CART_TIMEOUT = 60 * 60 * 24 * 30  # a month


@dataclass
class CartLine:
    course: Course
    option: ValidityOption
    selected: bool


class Cart:
    def __init__(self, user: Any) -> None:
        self.user_id = user.pk
        self.key = f"cart:{self.user_id}"

    def _load(self) -> dict[str, dict[str, Any]]:
        data = cache.get(self.key)
        return dict(data) if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        cache.set(self.key, data, CART_TIMEOUT)

    def count(self) -> int:
        return len(self._load())

    def add(self, option: ValidityOption) -> None:
        data = self._load()
        data[str(option.course_id)] = {"option": option.pk, "selected": True}
        self._save(data)

    def remove(self, course_id: int) -> None:
        data = self._load()
        data.pop(str(course_id), None)
        self._save(data)

    def remove_many(self, course_ids: list[int]) -> None:
        data = self._load()
        for course_id in course_ids:
            data.pop(str(course_id), None)
        self._save(data)

    def set_option(self, course_id: int, option_id: int) -> bool:
        data = self._load()
        entry = data.get(str(course_id))
        valid = ValidityOption.objects.filter(pk=option_id, course_id=course_id).exists()
        if entry is None or not valid:
            return False
        entry["option"] = option_id
        self._save(data)
        return True

    def set_selected(self, course_ids: set[int]) -> None:
        data = self._load()
        for key, entry in data.items():
            entry["selected"] = int(key) in course_ids
        self._save(data)

    def lines(self) -> list[CartLine]:
        """The cart's lines with current prices; items no longer on sale are dropped."""
        data = self._load()
        if not data:
            return []
        options = {
            o.pk: o
            for o in ValidityOption.objects.select_related("course").filter(
                pk__in=[e["option"] for e in data.values()], course__is_active=True
            )
        }
        lines = []
        for key, entry in data.items():
            option = options.get(entry["option"])
            if option is None or option.course_id != int(key):
                continue
            lines.append(CartLine(course=option.course, option=option, selected=entry["selected"]))
        lines.sort(key=lambda line: line.course.pk)
        return lines

    def selected_lines(self) -> list[CartLine]:
        return [line for line in self.lines() if line.selected]
