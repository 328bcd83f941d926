"""``generate_demo_data --messages N``: a large, realistic data set, fast (see ``transfer.demo_data``)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import ngettext

from ...transfer.demo_data import generate


class Command(BaseCommand):
    help = "Generate N messages (with customers, conversations and some parts) quickly, for demos and load checks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, required=True, help="How many messages to generate.")
        parser.add_argument("--department", default="generated-department", help="Department UUID (or prefix).")
        parser.add_argument("--departments", type=int, default=1, help="Spread customers over this many.")
        parser.add_argument("--per-customer", type=int, default=20, help="Messages per ordinary customer.")
        parser.add_argument("--big-conversation", type=int, default=20_000, help="Messages of the first customer.")
        parser.add_argument("--chunk", type=int, default=100_000, help="Messages written per statement.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = generate(
                messages=options["messages"],
                department=options["department"],
                departments=options["departments"],
                per_customer=options["per_customer"],
                big_conversation=options["big_conversation"],
                chunk=options["chunk"],
                progress=self.stdout.write,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {run.messages:,} {ngettext('message', 'messages', run.messages)} for "
                f"{run.customers:,} {ngettext('customer', 'customers', run.customers)} in {run.departments} "
                f"{ngettext('department', 'departments', run.departments)} in {run.seconds:.1f} s (run tag {run.tag})."
            )
        )
