"""``manage.py describe_client NAME --owner USER``: create a client and print its credentials."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from describe import services


class Command(BaseCommand):
    help = "Create a client of the description service; prints its token and signing secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="user name of the owner")
        parser.add_argument("--callback", default="", help="default callback URL")
        parser.add_argument("--allow-private", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        try:
            client, token = services.client_create(
                owner=owner,
                name=options["name"],
                callback_url=options["callback"],
                allow_private_urls=options["allow_private"],
            )
        except services.JobRequestError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"client: {client.name}\ntoken:  {token}\nsecret: {client.secret}")
