from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...clients import ensure_callback_secret, register_client
from ...enums import ApiScope
from ...identifiers import is_identifier
from ...models import MIN_CLIENT_SECRET_LENGTH, ApiClient

NAME_MAX_LENGTH = ApiClient._meta.get_field("name").max_length


class Command(BaseCommand):
    help = (
        "Create or update an API client and grant it scopes in departments (created as needed). "
        "Without --password a secret is generated for a new client and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--department", action="append", required=True, help="Department UUID; repeatable.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ApiScope.values,
            help="Scope to grant; repeatable. Default: message.create and message.read.",
        )
        parser.add_argument("--password", help=f"The client's secret (at least {MIN_CLIENT_SECRET_LENGTH} characters).")
        parser.add_argument(
            "--callback-base-url", help="Base URL that callBackPathUrl paths are resolved against (http or https)."
        )
        parser.add_argument(
            "--callback-origin",
            action="append",
            help="Origin (scheme://host[:port]) an absolute callBackPathUrl may use; repeatable.",
        )
        parser.add_argument(
            "--rotate-callback-secret", action="store_true", help="Generate a new callback signing secret."
        )

    def handle(self, *args, **options) -> None:
        name, password = options["name"], options["password"]
        if not 0 < len(name) <= NAME_MAX_LENGTH or ":" in name or not is_identifier(name):
            raise CommandError(f"The name must be 1-{NAME_MAX_LENGTH} printable characters, without whitespace or ':'.")
        bad = [d for d in options["department"] if not is_identifier(d)]
        if bad:
            raise CommandError(f"Not a valid department UUID: {bad[0]!r}")
        if password is not None and len(password) < MIN_CLIENT_SECRET_LENGTH:
            raise CommandError(f"The password needs at least {MIN_CLIENT_SECRET_LENGTH} characters.")
        try:
            client, secret = register_client(
                name,
                options["department"],
                options["scope"] or ApiScope.values,
                secret=password,
                callback_base_url=options["callback_base_url"],
                callback_origins=options["callback_origin"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        callback_secret = ensure_callback_secret(client, rotate=options["rotate_callback_secret"])
        grants = ", ".join(str(g) for g in client.grants.select_related("department").order_by("department__uuid"))
        self.stdout.write(self.style.SUCCESS(f"Client {client.name}: {grants}"))
        if secret is not None and password is None:
            self.stdout.write(f"Secret (shown once): {secret}")
        if callback_secret is not None:
            self.stdout.write(f"Callback signing secret (shown once): {callback_secret}")
