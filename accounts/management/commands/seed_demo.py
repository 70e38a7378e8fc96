from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, logins
from chemmall.app_modules import app_modules


class Command(BaseCommand):
    help = "Load the demo data of every app (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true",
                            help="Do not print the demo logins.")

    def handle(self, *args, quiet_logins=False, **options):
        # Each app may have a demo.py with seed(); run them bottom-up in INSTALLED_APPS order.
        for config, module in app_modules("demo"):
            with transaction.atomic():
                module.seed(stdout=self.stdout)
            self.stdout.write(f"demo data: {config.label} ok")
        if not quiet_logins:
            self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
            for role, email in logins():
                self.stdout.write(f"  {role:<34} {email}")
