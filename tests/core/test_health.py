from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_liveness_answers_without_sign_in_or_database(django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
