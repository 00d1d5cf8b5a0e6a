"""``manage.py bootstrap``: the first account comes from ADMIN_USERNAME/ADMIN_PASSWORD."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_first_account_is_named_by_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("ADMIN_USERNAME", "chief")
    monkeypatch.setenv("ADMIN_PASSWORD", "chief-password")
    out = StringIO()
    call_command("bootstrap", stdout=out)
    chief = get_user_model().objects.get()
    assert chief.username == "chief" and chief.is_superuser
    assert chief.check_password("chief-password") and "'chief'" in out.getvalue()
    call_command("bootstrap", stdout=StringIO())  # a second run changes nothing
    assert get_user_model().objects.count() == 1


def test_without_a_password_an_external_database_gets_no_account(monkeypatch: Any) -> None:
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    err = StringIO()
    call_command("bootstrap", stdout=StringIO(), stderr=err)  # the tests use DATABASE_URL
    assert not get_user_model().objects.exists()
    assert "ADMIN_PASSWORD" in err.getvalue()
